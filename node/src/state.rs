//! What the API and the web page share: the node's state as every handler sees it
//! ([`AppState`]), the limits both apply, and the live stream both serve. The API
//! ([`crate::api`]) and the page ([`crate::web`]) depend on this module; it depends on
//! neither.

use crate::service::Node;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use std::convert::Infallible;
use taawun_api::views::LiveEvent;
use tokio::sync::{broadcast, watch};

/// Events buffered for each live-stream reader before it starts missing some: a page
/// on a weak link reconnects and re-reads state, so a small buffer suffices.
pub(crate) const LIVE_CAPACITY: usize = 256;

/// Largest result file accepted by `submit` (the cooperative's own limit, checked by the
/// node, is usually lower: 16 MiB by default).
pub(crate) const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) node: Node,
    /// blake3 of the token: compared in constant time (blake3's `Hash` equality is).
    pub(crate) token: blake3::Hash,
    pub(crate) live: broadcast::Sender<LiveEvent>,
    /// Flips to `true` when the node stops, ending every live stream (graceful shutdown
    /// waits for open connections).
    pub(crate) stop: watch::Receiver<bool>,
}

/// The live stream of events as server-sent events, until the node stops: served by
/// the API (`/api/events`, with the bearer token) and the page (`/live`, with the
/// session cookie).
pub(crate) fn live_stream(st: AppState) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = st.live.subscribe();
    let stream = futures::stream::unfold((rx, st.stop), |(mut rx, mut stop)| async move {
        if *stop.borrow() {
            return None;
        }
        let got = tokio::select! {
            got = rx.recv() => got,
            _ = stop.changed() => return None,
        };
        let ev = match got {
            Ok(ev) => SseEvent::default()
                .event(match &ev {
                    LiveEvent::Entry { .. } => "entry",
                    LiveEvent::Result { .. } => "result",
                    LiveEvent::Peers { .. } => "peers",
                })
                .json_data(&ev)
                .unwrap_or_else(|_| SseEvent::default().comment("unencodable event")),
            // The reader fell behind: say so; the page re-reads state.
            Err(broadcast::error::RecvError::Lagged(n)) => {
                SseEvent::default().event("lagged").data(n.to_string())
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(ev), (rx, stop)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
