//! Sync on the task: rounds and sessions, serving requests, and handling heads, ranges,
//! logs and forks' branches from peers (ingesting their batches, counting their faults).

use super::Task;
use crate::config::SYNC_PEERS_PER_ROUND;
use crate::error::NetError;
use crate::exchange::{self, Answer, Reads};
#[cfg(doc)]
use crate::node::event::PeerSync;
use crate::node::event::{Event, Via};
use crate::session::{self, Ingested, Outgoing, Reply, Then};
use crate::sync::{self, Request, Response, Summary};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::PeerId;
use serde_bytes::ByteBuf;
use std::collections::{HashMap, VecDeque};
use taawun_core::{Id, PublicKey};
use tracing::{debug, info, warn};

/// Sync requests read on the blocking pool at once: a response is up to
/// [`sync::MAX_RESPONSE_ENTRY_BYTES`] of envelopes read from sled, and the machine has few
/// cores to share with gossip.
pub(super) const SERVE_JOBS: usize = 2;

/// Sync requests waiting for a reader; past this, a request is answered
/// [`Response::Unavailable`] and its peer asks again later.
pub(super) const SERVE_QUEUE: usize = 64;

/// Sync requests of one peer waiting or being read. A connection may carry
/// [`sync::MAX_STREAMS`] requests at once, so one peer could otherwise take the whole
/// queue and leave every other peer answered `Unavailable`; an honest peer has at most
/// [`sync::MAX_RANGES_IN_FLIGHT`] requests out per cooperative.
pub(super) const SERVE_PER_PEER: usize = 8;

/// The sync requests this node is answering from its store (see [`Task::serve`]): at
/// most [`SERVE_JOBS`] running, at most [`SERVE_QUEUE`] waiting and [`SERVE_PER_PEER`] of
/// one peer's, first come first served.
pub(super) struct Serving<P = PeerId, T = (Reads, ResponseChannel<Response>)> {
    running: usize,
    waiting: VecDeque<(P, T)>,
    /// Requests waiting or running, by peer (no entry at zero).
    per_peer: HashMap<P, usize>,
}

impl<P, T> Default for Serving<P, T> {
    fn default() -> Self {
        Self {
            running: 0,
            waiting: VecDeque::new(),
            per_peer: HashMap::new(),
        }
    }
}

impl<P: Copy + Eq + std::hash::Hash, T> Serving<P, T> {
    /// Queues `peer`'s request; gives it back when the queue or the peer's share is full.
    fn offer(&mut self, peer: P, t: T) -> Result<(), T> {
        let mine = self.per_peer.get(&peer).copied().unwrap_or(0);
        if self.waiting.len() >= SERVE_QUEUE || mine >= SERVE_PER_PEER {
            return Err(t);
        }
        self.per_peer.insert(peer, mine + 1);
        self.waiting.push_back((peer, t));
        Ok(())
    }

    /// The next request to read, if fewer than [`SERVE_JOBS`] run: it runs from now.
    fn start(&mut self) -> Option<(P, T)> {
        if self.running >= SERVE_JOBS {
            return None;
        }
        let next = self.waiting.pop_front()?;
        self.running += 1;
        Some(next)
    }

    /// `peer`'s request was read.
    fn done(&mut self, peer: P) {
        self.running = self.running.saturating_sub(1);
        if let Some(n) = self.per_peer.get_mut(&peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_peer.remove(&peer);
            }
        }
    }
}

/// A sync request read on the blocking pool, with the response to send.
pub(super) struct Served {
    peer: PeerId,
    channel: ResponseChannel<Response>,
    response: Response,
}

impl From<Served> for super::Done {
    fn from(s: Served) -> Self {
        super::Done::Served(s)
    }
}

impl Task {
    /// A sync round of the timer: [`SYNC_PEERS_PER_ROUND`] connected peers, in turn.
    pub(super) fn sync_round(&mut self) {
        let mut peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        if peers.is_empty() {
            return;
        }
        peers.sort();
        let start = self.sync_cursor % peers.len();
        self.sync_cursor = start + SYNC_PEERS_PER_ROUND;
        let coops: Vec<Id> = self.coops.keys().copied().collect();
        for p in peers
            .iter()
            .cycle()
            .skip(start)
            .take(SYNC_PEERS_PER_ROUND.min(peers.len()))
        {
            for c in &coops {
                self.start_sync(*p, *c);
            }
        }
    }

    pub(super) fn sync_all(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        let coops: Vec<Id> = self.coops.keys().copied().collect();
        for p in peers {
            for c in &coops {
                self.start_sync(p, *c);
            }
        }
    }

    fn local_summary(&self, coop: &Id) -> Result<Summary, NetError> {
        let c = self.coops.get(coop).ok_or(NetError::UnknownCoop(*coop))?;
        Ok(exchange::summary(c)?)
    }

    /// Whether `peer` refused the sync protocol on its current connections.
    fn lacks_sync(&self, peer: &PeerId) -> bool {
        self.peer_sync.get(peer).is_some_and(|s| s.unsupported)
    }

    /// Sends a sync request to `peer`, counting it (see [`PeerSync::requests`]).
    fn send_sync(&mut self, peer: PeerId, request: Request) -> OutboundRequestId {
        if let Some(s) = self.peer_sync.get_mut(&peer) {
            s.requests = s.requests.saturating_add(1);
        }
        self.swarm.behaviour_mut().sync.send_request(&peer, request)
    }

    /// Starts a sync session with `peer` for `coop` unless one runs, too many do, or the
    /// peer does not speak the sync protocol.
    pub(super) fn start_sync(&mut self, peer: PeerId, coop: Id) {
        if !self.sessions.can_start(peer, coop)
            || self.lacks_sync(&peer)
            || !self.names(&peer, &coop)
        {
            return;
        }
        let summary = match self.local_summary(&coop) {
            Ok(h) => h,
            Err(e) => {
                warn!(error = %e, "cannot read heads for sync");
                return;
            }
        };
        let out = self.sessions.start(peer, coop, &summary);
        self.carry_out(out);
    }

    /// Does what the sync sessions ask: send requests, report the sessions that ended.
    fn carry_out(&mut self, out: Vec<session::Output<PeerId>>) {
        for o in out {
            match o {
                session::Output::Send { peer, request, tag } => {
                    let id = self.send_sync(peer, request);
                    self.requests.insert(id, tag);
                }
                session::Output::Ended {
                    peer,
                    coop,
                    stored,
                    own_remote,
                } => self.session_ended(peer, coop, stored, own_remote),
            }
        }
    }

    pub(super) fn on_sync(&mut self, ev: request_response::Event<Request, Response>) {
        use request_response::{Event as E, Message as M};
        match ev {
            E::Message {
                peer,
                message: M::Request {
                    request, channel, ..
                },
                ..
            } => self.serve(peer, request, channel),
            E::Message {
                peer,
                message:
                    M::Response {
                        request_id,
                        response,
                    },
                ..
            } => match self.requests.remove(&request_id) {
                Some(tag) => self.on_answer(peer, tag, response),
                None => debug!(%peer, "response to an unknown request"),
            },
            E::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(tag) = self.requests.remove(&request_id) {
                    let coop = tag.coop();
                    debug!(%peer, error = %error, "sync request failed");
                    if matches!(
                        error,
                        request_response::OutboundFailure::UnsupportedProtocols
                    ) {
                        self.sync_unsupported(peer);
                    }
                    let out = self.sessions.failed(peer, coop);
                    self.carry_out(out);
                }
            }
            E::InboundFailure { peer, error, .. } => {
                debug!(%peer, error = %error, "serving sync failed");
            }
            E::ResponseSent { .. } => {}
        }
    }

    /// `peer` does not speak the sync protocol: it is not asked again while connected.
    fn sync_unsupported(&mut self, peer: PeerId) {
        let Some(s) = self.peer_sync.get_mut(&peer) else {
            return;
        };
        if !s.unsupported {
            s.unsupported = true;
            info!(%peer, protocol = sync::PROTOCOL, "peer does not speak sync; not asking it again while connected");
            self.emit(Event::SyncUnsupported(peer));
        }
    }

    /// Answers a peer's sync request from the ledger; a peer not admitted to the
    /// cooperative hears `UnknownCoop`, as from a node without it. Heads are answered at
    /// once; entries are read from the store as it stands now on the blocking pool, at
    /// most [`SERVE_JOBS`] requests at a time, and the response goes out when read
    /// ([`Task::served`]).
    fn serve(&mut self, peer: PeerId, request: Request, channel: ResponseChannel<Response>) {
        let coop = request.coop();
        if !self.admitted(&peer, &coop) {
            debug!(%peer, coop = %coop.short(), "sync request from a peer not admitted");
            self.respond_sync(peer, channel, Response::UnknownCoop);
            return;
        }
        match exchange::prepare(self.coops.get(&coop), request) {
            Answer::Now(response) => self.respond_sync(peer, channel, response),
            Answer::Read(reads) => match self.serving.offer(peer, (reads, channel)) {
                Ok(()) => self.serve_next(),
                Err((_, channel)) => {
                    debug!(%peer, "too many sync requests waiting; answered unavailable");
                    self.respond_sync(peer, channel, Response::Unavailable);
                }
            },
        }
    }

    /// Starts reading the requests waiting, up to [`SERVE_JOBS`] at a time.
    fn serve_next(&mut self) {
        while let Some((peer, (reads, channel))) = self.serving.start() {
            self.jobs.spawn(move || Served {
                peer,
                channel,
                response: reads.read(),
            });
        }
    }

    /// A request read on the blocking pool: its response goes out, the next starts.
    pub(super) fn served(&mut self, s: Served) {
        self.serving.done(s.peer);
        self.respond_sync(s.peer, s.channel, s.response);
        self.serve_next();
    }

    fn respond_sync(
        &mut self,
        peer: PeerId,
        channel: ResponseChannel<Response>,
        response: Response,
    ) {
        if self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, response)
            .is_err()
        {
            debug!(%peer, "sync requester went away");
        }
    }

    /// A peer's answer to a session's request, read as the session needs it
    /// ([`Reply::of`], as the simulator reads it): heads compared, entries ingested, and
    /// the session told.
    fn on_answer(&mut self, peer: PeerId, tag: Outgoing, response: Response) {
        let coop = tag.coop();
        if matches!(response, Response::UnknownCoop) {
            self.prove_again(peer, coop);
        }
        let out = match Reply::of(tag, response) {
            Reply::Differ(remote) => match self.local_summary(&coop) {
                Ok(local) => {
                    let me = self.member_key();
                    let wanted = sync::unsettled_heads(&local, &remote);
                    let missing = sync::missing(&local.heads, &wanted);
                    if missing > sync::CATCH_UP_THRESHOLD {
                        debug!(%peer, coop = %coop.short(), missing, "catching up in log order");
                    }
                    self.sessions.heads_differ(peer, coop, &local, &remote, me)
                }
                Err(_) => self.sessions.answered(peer, coop),
            },
            Reply::Equal => self.sessions.heads_equal(peer, coop),
            Reply::Entries { entries, then } => {
                let batch = self.ingest_batch(peer, coop, &entries);
                match then {
                    Then::Log(a) if a.next != a.from.saturating_add(a.count as u64) => {
                        debug!(%peer, next = a.next, "log response with a wrong next position");
                    }
                    Then::Branches(author, _) => {
                        debug!(%peer, author = %author.short(), entries = entries.len(), stored = batch.stored, "branches of a fork");
                    }
                    _ => {}
                }
                self.sessions.ingested(peer, coop, then, batch)
            }
            Reply::Nothing => {
                debug!(%peer, "a sync request answered with nothing to use");
                self.sessions.answered(peer, coop)
            }
        };
        self.carry_out(out);
    }

    /// Decodes, verifies and ingests a batch of envelopes from `peer` (in order, stopping
    /// at the first that does not decode or verify), emitting the events. Returns what
    /// the sync session needs of it.
    fn ingest_batch(&mut self, peer: PeerId, coop: Id, entries: &[ByteBuf]) -> Ingested {
        let now = Some(self.now());
        let batch = exchange::ingest_batch(self.coops.get_mut(&coop), entries, now);
        if let Some(e) = &batch.error {
            warn!(%peer, error = %e, "sync response taken in part");
        }
        let mut stored = 0;
        for o in &batch.outcomes {
            stored += self.on_ingested(coop, o, Via::Sync, None);
        }
        if batch.faults > 0 {
            self.sync_fault(peer, batch.faults);
        }
        Ingested {
            stored,
            ..batch.ingested
        }
    }

    /// `peer` sent `faults` invalid entries in a sync response: lower its gossip score,
    /// block it past [`sync::MAX_SYNC_FAULTS`].
    fn sync_fault(&mut self, peer: PeerId, faults: u32) {
        let swarm = &self.swarm;
        let f = self
            .conduct
            .sync_fault(peer, faults, |p| swarm.is_connected(p));
        info!(%peer, faults = f.total, "invalid entries in sync responses");
        self.set_app_score_with(peer, f.total);
        if f.blocked {
            warn!(%peer, "blocking a peer that keeps sending invalid entries");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
        } else {
            self.drop_if_graylisted(peer);
        }
    }

    /// Fetches `author`'s chain from `from` on from `peer`: one range request, in the
    /// session with that peer (started for it if none runs).
    pub(super) fn fetch_range(&mut self, peer: PeerId, coop: Id, author: PublicKey, from: u64) {
        if self.lacks_sync(&peer) || !self.names(&peer, &coop) {
            return;
        }
        let out = self.sessions.fetch(peer, coop, author, from);
        self.carry_out(out);
    }

    fn session_ended(&mut self, peer: PeerId, coop: Id, stored: usize, own_remote: Option<u64>) {
        debug!(%peer, coop = %coop.short(), stored, "sync session done");
        if let Some(remote) = own_remote {
            self.confirm(peer, coop, remote);
        }
        self.emit(Event::Synced { peer, coop, stored });
        // Something new may have made more fetchable (released entries, new heads):
        // go round again until a session stores nothing.
        if stored > 0 && self.swarm.is_connected(&peer) {
            self.start_sync(peer, coop);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_in_order_a_few_at_a_time_and_refused_past_the_queue() {
        let mut s: Serving<usize, usize> = Serving::default();
        // Many peers, a request each: the queue's bound.
        for i in 0..SERVE_QUEUE {
            assert_eq!(s.offer(i, i), Ok(()));
        }
        assert_eq!(s.offer(SERVE_QUEUE, 0), Err(0), "the queue is full");
        let started: Vec<usize> = std::iter::from_fn(|| s.start()).map(|(_, t)| t).collect();
        assert_eq!(started, (0..SERVE_JOBS).collect::<Vec<_>>());
        assert_eq!(s.start(), None, "no more than SERVE_JOBS run");
        s.done(0);
        assert_eq!(
            s.start(),
            Some((SERVE_JOBS, SERVE_JOBS)),
            "the next in order starts"
        );
        assert_eq!(s.start(), None);
        assert_eq!(s.offer(0, 0), Ok(()), "room again once requests started");
    }

    #[test]
    fn one_peer_cannot_take_the_queue_from_the_others() {
        let mut s: Serving<char, usize> = Serving::default();
        let flood: Vec<Result<(), usize>> = (0..sync::MAX_STREAMS * 2)
            .map(|i| s.offer('h', i))
            .collect();
        assert_eq!(flood.iter().filter(|r| r.is_ok()).count(), SERVE_PER_PEER);
        assert_eq!(s.offer('a', 100), Ok(()), "an honest peer still gets in");
        // Its requests read, the hostile peer may ask again, not before.
        while let Some((p, _)) = s.start() {
            s.done(p);
        }
        assert_eq!(s.offer('h', 0), Ok(()));
    }
}
