//! What a cooperative's ledger makes of the protocol's messages, without a Swarm: judging
//! a gossip message, ingesting a sync batch, answering a sync request. Plain functions
//! over a [`CoopLedger`] (which does the disk work), no clock (the caller passes `now`)
//! and no network: the network task routes libp2p's messages through them, and the
//! simulator (`taawun-sim`) runs the same functions between simulated nodes.

use crate::gossip::{self, Judged, Verdict};
use crate::session::Ingested;
use crate::sync::{self, BatchError, Request, Response, WireHead};
use serde_bytes::ByteBuf;
use taawun_core::entry::{self, Checked};
use taawun_core::Timestamp;
use taawun_ledger::{CoopLedger, Ingest, LedgerError};

/// Judges one gossip message for `ledger`'s cooperative (`None`: a topic this node does
/// not hold): decode, verify, then the ledger's verdict (stored, pending, duplicate,
/// rejected...). The ledger stores what is valid and new; [`gossip::verdict`] maps the
/// result to what gossipsub is told.
pub fn judge(ledger: Option<&mut CoopLedger>, data: &[u8], now: Option<Timestamp>) -> Judged {
    judge_checked(ledger, entry::check_envelope(data), now)
}

/// [`judge`] of a message already decoded and verified: messages that arrived together
/// are checked as one batch ([`entry::check_envelopes`], a batch verification of their
/// signatures), then judged one by one in their order with this.
pub fn judge_checked(
    ledger: Option<&mut CoopLedger>,
    checked: Checked,
    now: Option<Timestamp>,
) -> Judged {
    let Some(ledger) = ledger else {
        return Judged::UnknownTopic;
    };
    match checked {
        Checked::Undecodable(e) => Judged::Malformed(e),
        Checked::BadSignature(u) => Judged::BadSignature(u.bad_signature()),
        Checked::Verified(v) => match ledger.ingest(v, now) {
            Ok(i) => Judged::Ingested(i),
            Err(e) => {
                tracing::warn!(error = %e, "ledger failed on a gossip message");
                Judged::StoreFailed
            }
        },
    }
}

/// Why a gossip message was not accepted, in words, for logs and events.
pub fn reason(judged: &Judged) -> String {
    match judged {
        Judged::UnknownTopic => "unknown topic".to_string(),
        Judged::Malformed(e) => e.to_string(),
        Judged::BadSignature(e) => e.to_string(),
        Judged::Ingested(Ingest::Rejected(e)) => e.to_string(),
        Judged::Ingested(i) => format!("{i:?}"),
        Judged::StoreFailed => "store failed".to_string(),
    }
}

/// What a sync batch (the envelopes of a range or log answer) did to the ledger.
#[derive(Debug)]
pub struct Batch {
    /// The ledger's outcome for each entry that decoded and verified, in order.
    pub outcomes: Vec<Ingest>,
    /// Invalid entries the sender is to blame for: one for an undecodable entry or a bad
    /// signature (which ends the batch), one per entry the ledger rejected.
    pub faults: u32,
    /// Why the batch was cut short, if it was.
    pub error: Option<BatchError>,
    /// What the sync session needs of it ([`Ingested::stored`] is left for the caller,
    /// which counts what it reports).
    pub ingested: Ingested,
}

/// Decodes, verifies and ingests a batch of envelopes (in order, stopping at the first
/// that does not decode or verify) into `ledger` (`None`: not held; nothing stored).
pub fn ingest_batch(
    ledger: Option<&mut CoopLedger>,
    entries: &[ByteBuf],
    now: Option<Timestamp>,
) -> Batch {
    let sync::Batch {
        verified,
        next,
        error,
    } = sync::check_batch(entries);
    let mut faults = u32::from(error.is_some());
    let outcomes = match ledger {
        Some(c) => match c.ingest_many(verified, now) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "ledger failed on a sync batch");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    for o in &outcomes {
        if gossip::ingest_verdict(o) == Verdict::Reject {
            faults = faults.saturating_add(1);
        }
    }
    Batch {
        outcomes,
        faults,
        ingested: Ingested {
            stored: 0,
            complete: error.is_none(),
            next,
        },
        error,
    }
}

/// This ledger's chain heads as the sync protocol carries them.
pub fn heads(c: &CoopLedger) -> Result<Vec<WireHead>, LedgerError> {
    Ok(c.heads()?.iter().map(WireHead::from).collect())
}

/// The answer to a sync request from a peer already admitted to the cooperative, read
/// from `ledger` (`None`: a cooperative this node does not hold).
pub fn answer(ledger: Option<&CoopLedger>, request: Request) -> Response {
    let Some(c) = ledger else {
        return Response::UnknownCoop;
    };
    let read = match request {
        Request::Heads { digest, .. } => heads(c).map(|mut heads| {
            if sync::digest(&heads) == digest {
                Response::Heads(None)
            } else {
                heads.truncate(sync::MAX_HEADS);
                Response::Heads(Some(heads))
            }
        }),
        Request::Range {
            author,
            from,
            limit,
            ..
        } => range_response(c, &author, from, limit),
        Request::Log { from, limit, .. } => log_response(c, from, limit),
    };
    read.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the ledger to answer a sync request");
        Response::Unavailable
    })
}

/// The answer to [`Request::Range`]: `author`'s envelopes from seq `from`, at most
/// `min(limit, SYNC_BATCH)` and [`sync::MAX_RESPONSE_ENTRY_BYTES`] besides the first.
fn range_response(
    c: &CoopLedger,
    author: &taawun_core::PublicKey,
    from: u64,
    limit: u32,
) -> Result<Response, LedgerError> {
    let limit = limit.min(sync::SYNC_BATCH) as usize;
    let found = c.range(author, from, limit)?;
    let fetched = found.len();
    let (entries, cut) = capped(found, usize::MAX, |v| Ok(v.envelope()))?;
    let more = cut || fetched == limit;
    Ok(Response::Range { entries, more })
}

/// The answer to [`Request::Log`]: `c`'s envelopes in log order from position `from`, at
/// most `min(limit, SYNC_BATCH)` (at least one) and [`sync::MAX_RESPONSE_ENTRY_BYTES`]
/// besides the first. The read is positioned ([`CoopLedger::log_ids_from`]): O(limit)
/// wherever `from` is.
fn log_response(c: &CoopLedger, from: u64, limit: u32) -> Result<Response, LedgerError> {
    let limit = limit.clamp(1, sync::SYNC_BATCH) as usize;
    let (entries, more) = capped(c.log_ids_from(from), limit, |id| {
        let id = id?;
        c.envelope(&id)?
            .map(|env| env.to_vec())
            .ok_or_else(|| LedgerError::Corrupt(format!("log names {id}, not stored")))
    })?;
    let next = from.saturating_add(entries.len() as u64);
    Ok(Response::Log {
        entries,
        next,
        more,
    })
}

/// The envelopes of `items` (each read by `load`) in order, at most `limit` of them and
/// [`sync::MAX_RESPONSE_ENTRY_BYTES`] besides the first; and whether some were left (by
/// either bound). An item past `limit` is seen but not read.
fn capped<T>(
    items: impl IntoIterator<Item = T>,
    limit: usize,
    mut load: impl FnMut(T) -> Result<Vec<u8>, LedgerError>,
) -> Result<(Vec<ByteBuf>, bool), LedgerError> {
    let mut entries: Vec<ByteBuf> = Vec::new();
    let mut bytes = 0usize;
    for item in items {
        if entries.len() >= limit {
            return Ok((entries, true));
        }
        let env = load(item)?;
        if !entries.is_empty() && bytes + env.len() > sync::MAX_RESPONSE_ENTRY_BYTES {
            return Ok((entries, true));
        }
        bytes += env.len();
        entries.push(ByteBuf::from(env));
    }
    Ok((entries, false))
}
