//! The sync protocol: compare chain heads, fetch what is missing.
//!
//! Pull only, over request-response with CBOR (`/taawun/sync/1`). On every new
//! connection, when a peer subscribes to a cooperative, when gossip brings an entry whose
//! predecessor or dependency is missing, and every [`crate::NetConfig::sync_interval`],
//! a node runs a *session* per (peer, cooperative):
//!
//! 1. [`Request::Heads`] with the [`digest`] of its heads. Equal digests: done (one
//!    round trip, 32 bytes). Otherwise the peer answers with its heads.
//! 2. [`plan`]: for each author whose remote head is ahead, fetch from the local head
//!    on with [`Request::Range`], [`SYNC_BATCH`] entries at a time, at most
//!    [`MAX_RANGES_IN_FLIGHT`] requests at once, following each chain until the peer says
//!    there is no more.
//! 3. Each batch is verified with `entry::verify_batch` and ingested in chain order;
//!    entries naming something not yet fetched wait in the ledger's pending buffer and
//!    are released when it arrives.
//!
//! A node far behind (more than [`CATCH_UP_THRESHOLD`] entries missing by the heads
//! comparison, see [`missing`]) fetches the peer's whole log instead, with
//! [`Request::Log`] from position 0: the peer's entries in its insertion order, which is
//! causal (each entry after its chain predecessor and everything it names), so nearly
//! every entry is stored on arrival instead of waiting in the pending buffer, whose bound
//! (4 096 entries) chain-by-chain fetching of entries depending across authors overflows.
//! One log request is in flight at a time; entries already held are duplicates, cheap to
//! skip.
//!
//! A session that stored anything starts another, so the two nodes end with equal digests
//! (both sides pull, so both end up with the union).

use libp2p::request_response::cbor;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use taawun_core::entry::{self, BadSignature, Checked, DecodeError, MAX_ENVELOPE_BYTES};
use taawun_core::validate::Head;
use taawun_core::{Hash, Id, PublicKey, Verified};

/// The protocol name.
pub const PROTOCOL: &str = "/taawun/sync/1";

/// Entries asked for per range request. Batch signature verification gains little past a
/// few hundred signatures, and 512 entries of a few hundred bytes is well under
/// [`MAX_RESPONSE_ENTRY_BYTES`]; below the ledger's `MAX_RANGE` (1024).
pub const SYNC_BATCH: u32 = 512;

/// Range requests in flight per session: enough to keep a link busy while the node
/// verifies, few enough that a peer with thousands of authors cannot make us queue
/// thousands of requests.
pub const MAX_RANGES_IN_FLIGHT: usize = 4;

/// Missing entries (summed over authors, from the heads comparison) above which a
/// session fetches the peer's log in order ([`Request::Log`]) instead of chain ranges.
/// Below it, ranges fit the ledger's pending buffer (4 096) with room to spare.
pub const CATCH_UP_THRESHOLD: u64 = 1024;

/// Log positions a log-order session asks for at most past the remote's heads total
/// (the sum of its heads' seqs, read at the session's start): room for entries the
/// responder stores meanwhile and for entries in its log that are not on a chain (fork
/// evidence). A log longer than that is fetched on by the next session.
pub const LOG_SLACK: u64 = 4096;

/// Sessions running at once (over all peers and cooperatives). Beyond it, new sessions
/// wait for the next tick: sync is repair, not the fast path.
pub const MAX_SESSIONS: usize = 64;

/// Sync streams open at once per connection, both directions together. A response holds
/// up to [`MAX_RESPONSE_ENTRY_BYTES`] until the peer reads it, so a peer that opens
/// streams and never reads them pins at most 32 × 4 MiB = 128 MiB per connection until
/// the request times out (request-response's default, 100, allowed 400 MiB). Our own
/// sessions use at most [`MAX_RANGES_IN_FLIGHT`] streams per cooperative shared with a
/// peer; a stream refused at the limit fails its session, which the next round retries.
pub const MAX_STREAMS: usize = 32;

/// Most heads in a [`Response::Heads`]: 8192 authors of about 80 bytes each, 640 KiB. A
/// cooperative with more authors syncs the first 8192 (by key) per round (a known limit).
pub const MAX_HEADS: usize = 8192;

/// What one invalid entry in a sync response costs its sender, in gossipsub's
/// application-specific score (weighted by gossipsub's default of 10): an entry that does
/// not decode, does not verify, or that gossip would reject (the same
/// [`crate::gossip::verdict`]). Honest peers serve only entries their ledger validated,
/// so this is either a hostile peer or a broken one. The count does not decay: 9 faults
/// (-90) take a peer with no other score under the graylist threshold (-80, which a score
/// must be *under*); it is then locked out like any graylisted peer
/// ([`crate::gossip::lockout`]), and comes back with its faults still counted, so each
/// further fault graylists it again.
pub const SYNC_FAULT_SCORE: f64 = 1.0;

/// Invalid sync entries after which a peer is blocked for the rest of the run (its
/// connections closed, new ones refused): about twice what graylists it.
pub const MAX_SYNC_FAULTS: u32 = 16;

/// Envelope bytes a range response carries at most, besides its first entry (which is
/// always sent, so a chain of large entries still advances): 4 MiB.
pub const MAX_RESPONSE_ENTRY_BYTES: usize = 4 * 1024 * 1024;

/// Largest request accepted: requests are a few ids and integers.
pub const MAX_REQUEST_BYTES: u64 = 4 * 1024;

/// Largest response accepted: a full range response plus one largest envelope, with
/// room for CBOR framing (a few bytes per entry).
pub const MAX_RESPONSE_BYTES: u64 =
    (MAX_RESPONSE_ENTRY_BYTES + MAX_ENVELOPE_BYTES + 64 * 1024) as u64;

/// The request-response codec of this protocol, with its size limits.
pub fn codec() -> cbor::codec::Codec<Request, Response> {
    cbor::codec::Codec::default()
        .set_request_size_maximum(MAX_REQUEST_BYTES)
        .set_response_size_maximum(MAX_RESPONSE_BYTES)
}

/// A chain head as sent over the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireHead {
    /// The author.
    pub author: PublicKey,
    /// The seq of its last entry.
    pub seq: u64,
    /// Its id.
    pub id: Id,
}

impl From<&(PublicKey, Head)> for WireHead {
    fn from((author, h): &(PublicKey, Head)) -> Self {
        Self {
            author: *author,
            seq: h.seq,
            id: h.id,
        }
    }
}

/// A sync request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// "Here is the digest of my heads of `coop`; send yours if they differ."
    Heads {
        /// The cooperative.
        coop: Id,
        /// [`digest`] of the requester's heads.
        digest: Hash,
    },
    /// "Send `author`'s entries of `coop` from `from` on, at most `limit`."
    Range {
        /// The cooperative.
        coop: Id,
        /// The author.
        author: PublicKey,
        /// First seq wanted.
        from: u64,
        /// Most entries wanted (the responder also caps at [`SYNC_BATCH`] and by bytes).
        limit: u32,
    },
    /// "Send the entries of `coop` in your log (insertion) order, from position `from`
    /// (0 is the first entry, the charter), at most `limit`."
    Log {
        /// The cooperative.
        coop: Id,
        /// First log position wanted (a position the responder returned as `next`, or 0).
        from: u64,
        /// Most entries wanted (the responder also caps at [`SYNC_BATCH`] and by bytes).
        limit: u32,
    },
}

/// A sync response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The responder's heads, or `None` when the digests are equal.
    Heads(Option<Vec<WireHead>>),
    /// Envelopes in chain order; `more`: the chain goes on past them.
    Range {
        /// The envelopes, as stored.
        entries: Vec<ByteBuf>,
        /// Whether there may be more after the last.
        more: bool,
    },
    /// Envelopes in the responder's log order, from the requested position on.
    Log {
        /// The envelopes, as stored.
        entries: Vec<ByteBuf>,
        /// The log position after the last envelope (`from` + the number of entries).
        next: u64,
        /// Whether the log goes on past them.
        more: bool,
    },
    /// The responder does not hold this cooperative.
    UnknownCoop,
    /// The responder's store failed.
    Unavailable,
}

/// Domain tag of the heads digest.
const DIGEST_DOMAIN: &[u8] = b"taawun/sync/heads/v1";

/// blake3 over the heads sorted by author: (author, seq big-endian, id) each.
pub fn digest<'a>(heads: impl IntoIterator<Item = &'a WireHead>) -> Hash {
    let mut sorted: Vec<&WireHead> = heads.into_iter().collect();
    sorted.sort_by_key(|h| h.author);
    let mut h = blake3::Hasher::new();
    h.update(DIGEST_DOMAIN);
    for w in sorted {
        h.update(w.author.as_bytes());
        h.update(&w.seq.to_be_bytes());
        h.update(w.id.as_bytes());
    }
    Hash(*h.finalize().as_bytes())
}

/// The ranges to fetch: for every author whose remote head is ahead of ours, (author,
/// first seq we lack). In author order.
pub fn plan(local: &[WireHead], remote: &[WireHead]) -> Vec<(PublicKey, u64)> {
    let ours: BTreeMap<PublicKey, u64> = local.iter().map(|h| (h.author, h.seq)).collect();
    let mut out: Vec<(PublicKey, u64)> = remote
        .iter()
        .filter_map(|r| {
            let have = ours.get(&r.author).copied().unwrap_or(0);
            (r.seq > have).then(|| (r.author, have.saturating_add(1)))
        })
        .collect();
    out.sort();
    out.dedup_by_key(|x| x.0);
    out
}

/// Entries the requester lacks by the heads comparison: for every author whose remote
/// head is ahead, the difference of seqs (saturating).
pub fn missing(local: &[WireHead], remote: &[WireHead]) -> u64 {
    let ours: BTreeMap<PublicKey, u64> = local.iter().map(|h| (h.author, h.seq)).collect();
    let theirs: BTreeMap<PublicKey, u64> = remote.iter().map(|h| (h.author, h.seq)).collect();
    theirs
        .iter()
        .map(|(a, seq)| seq.saturating_sub(ours.get(a).copied().unwrap_or(0)))
        .fold(0u64, u64::saturating_add)
}

/// The seq of `author`'s head in a heads answer: 0 when the answer holds no head of it
/// and is complete (fewer than [`MAX_HEADS`]); `None` when it may have been cut off before
/// `author`'s head, so it tells nothing about it.
pub fn head_seq(remote: &[WireHead], author: &PublicKey) -> Option<u64> {
    match remote.iter().find(|h| h.author == *author) {
        Some(h) => Some(h.seq),
        None => (remote.len() < MAX_HEADS).then_some(0),
    }
}

/// Why a range or log response was taken only in part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// An envelope does not decode.
    #[error("undecodable entry at index {index} of a sync response: {error}")]
    Decode {
        /// Its index in the response.
        index: usize,
        /// Why.
        error: DecodeError,
    },
    /// An entry's signature does not verify.
    #[error("bad signature at index {index} of a sync response: {error}")]
    Signature {
        /// Its index in the response.
        index: usize,
        /// Which entry.
        error: BadSignature,
    },
}

/// The envelopes of a range or log response, decoded and verified.
#[derive(Debug)]
pub struct Batch {
    /// The entries before the first that fails to decode or verify, in order.
    pub verified: Vec<Verified>,
    /// (author, seq + 1) of the last entry that decoded: where its chain goes on.
    pub next: Option<(PublicKey, u64)>,
    /// Why the batch stops short of the response's end, if it does.
    pub error: Option<BatchError>,
}

/// Decodes the envelopes in order up to the first that does not decode, verifies them
/// as one batch ([`entry::check_envelopes`]) and keeps those before the first bad one.
pub fn check_batch(entries: &[ByteBuf]) -> Batch {
    let checked = entry::check_envelopes(
        entries.iter().map(|e| e.as_slice()),
        entry::Until::FirstUndecodable,
    );
    // Only the last can be undecodable: every other one decoded.
    let next = checked
        .iter()
        .rev()
        .find_map(|c| match c {
            Checked::Verified(v) => Some(v.entry()),
            Checked::BadSignature(u) => Some(u.entry()),
            Checked::Undecodable(_) => None,
        })
        .map(|e| (e.author, e.seq.saturating_add(1)));
    let mut verified = Vec::with_capacity(checked.len());
    let mut error = None;
    for (index, c) in checked.into_iter().enumerate() {
        match c {
            Checked::Verified(v) => verified.push(v),
            Checked::Undecodable(e) => {
                error = Some(BatchError::Decode { index, error: e });
                break;
            }
            Checked::BadSignature(u) => {
                error = Some(BatchError::Signature {
                    index,
                    error: u.bad_signature(),
                });
                break;
            }
        }
    }
    Batch {
        verified,
        next,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_core::Unverified;

    /// A chain of claims by one key, as envelopes.
    fn chain(n: u64) -> Vec<ByteBuf> {
        let key = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let mut w = taawun_core::writer::Writer::new(key, Some(Id([1; 32])), None);
        (1..=n)
            .map(|i| {
                let body = taawun_core::Body::Claim(taawun_core::body::Claim {
                    offer: Id([i as u8; 32]),
                });
                ByteBuf::from(w.next(body, 1_000 + i, None).envelope())
            })
            .collect()
    }

    #[test]
    fn a_batch_stops_at_its_first_bad_signature_and_goes_on_from_the_last_decoded() {
        let mut entries = chain(3);
        let second = Unverified::decode(&entries[1])
            .expect("decodes")
            .verify()
            .expect("signed");
        let mut sig = *second.signature();
        sig[5] ^= 1;
        entries[1] = ByteBuf::from(entry::envelope(second.bytes(), &sig));
        entries.push(ByteBuf::from(vec![0xff, 0x00]));
        let b = check_batch(&entries);
        assert_eq!(b.verified.len(), 1);
        assert_eq!(b.verified[0].envelope(), entries[0].to_vec());
        assert!(matches!(
            b.error,
            Some(BatchError::Signature { index: 1, .. })
        ));
        // The third entry decoded (the garbage after it did not): its chain goes on at 4.
        assert_eq!(b.next, Some((second.entry().author, 4)));
    }

    fn h(a: u8, seq: u64) -> WireHead {
        WireHead {
            author: PublicKey([a; 32]),
            seq,
            id: Id::of(&[a, seq as u8]),
        }
    }

    #[test]
    fn digest_ignores_order_and_sees_changes() {
        let a = [h(1, 3), h(2, 5)];
        let b = [h(2, 5), h(1, 3)];
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&[h(1, 3), h(2, 6)]));
        assert_ne!(digest(&a), digest(&[h(1, 3)]));
    }

    #[test]
    fn plan_fetches_what_is_behind() {
        let local = [h(1, 3), h(2, 5)];
        let remote = [h(1, 3), h(2, 9), h(3, 1)];
        assert_eq!(
            plan(&local, &remote),
            vec![(PublicKey([2; 32]), 6), (PublicKey([3; 32]), 1)]
        );
        assert!(plan(&remote, &local).is_empty());
        assert_eq!(missing(&local, &remote), 4 + 1);
        assert_eq!(missing(&remote, &local), 0);
        assert_eq!(missing(&[], &[h(1, u64::MAX), h(2, 1)]), u64::MAX);
    }

    #[test]
    fn head_seq_reads_an_authors_head_or_says_it_is_unknown() {
        let remote = [h(1, 3), h(2, 5)];
        assert_eq!(head_seq(&remote, &PublicKey([2; 32])), Some(5));
        assert_eq!(head_seq(&remote, &PublicKey([9; 32])), Some(0));
        // A full answer may have been cut off before the author's head.
        let full: Vec<WireHead> = (0..MAX_HEADS)
            .map(|i| {
                let mut a = [0u8; 32];
                a[..8].copy_from_slice(&(i as u64).to_be_bytes());
                WireHead {
                    author: PublicKey(a),
                    seq: 1,
                    id: Id::of(&a),
                }
            })
            .collect();
        assert_eq!(head_seq(&full, &full[7].author), Some(1));
        assert_eq!(head_seq(&full, &PublicKey([0xee; 32])), None);
    }

    #[test]
    fn wire_round_trip_is_compact() {
        let r = Response::Range {
            entries: vec![ByteBuf::from(vec![7u8; 100])],
            more: true,
        };
        let mut buf = Vec::new();
        ciborium::into_writer(&r, &mut buf).expect("encodes");
        // Byte strings, not arrays of integers.
        assert!(buf.len() < 130, "{}", buf.len());
        let back: Response = ciborium::from_reader(&buf[..]).expect("decodes");
        assert_eq!(back, r);
        let q = Request::Heads {
            coop: Id([1; 32]),
            digest: digest(&[h(1, 1)]),
        };
        let mut buf = Vec::new();
        ciborium::into_writer(&q, &mut buf).expect("encodes");
        assert!((buf.len() as u64) < MAX_REQUEST_BYTES);
        let q = Request::Log {
            coop: Id([1; 32]),
            from: u64::MAX,
            limit: SYNC_BATCH,
        };
        let mut buf = Vec::new();
        ciborium::into_writer(&q, &mut buf).expect("encodes");
        assert!((buf.len() as u64) < MAX_REQUEST_BYTES);
        let back: Request = ciborium::from_reader(&buf[..]).expect("decodes");
        assert_eq!(back, q);
        let r = Response::Log {
            entries: vec![ByteBuf::from(vec![7u8; 100])],
            next: 513,
            more: false,
        };
        let mut buf = Vec::new();
        ciborium::into_writer(&r, &mut buf).expect("encodes");
        let back: Response = ciborium::from_reader(&buf[..]).expect("decodes");
        assert_eq!(back, r);
    }
}
