//! The sync protocol: compare chain heads, fetch what is missing.
//!
//! Pull only, over request-response with CBOR (`/taawun/sync/2`). On every new
//! connection, when a peer subscribes to a cooperative, when gossip brings an entry whose
//! predecessor or dependency is missing, and every [`crate::NetConfig::sync_interval`],
//! a node runs a *session* per (peer, cooperative):
//!
//! 1. [`Request::Heads`] with the [`digest`] of its [`Summary`]: its heads, and for each
//!    frozen author (one that forked) a [`WireBranches`] summary of the branches of its
//!    fork: its entries from the fork seq on, on its chain and beside it. Equal digests:
//!    done (one round trip, 32 bytes). Otherwise the peer answers with its summary.
//! 2. [`plan`]: for each author whose remote head is ahead, fetch from the local head
//!    on with [`Request::Range`], [`SYNC_BATCH`] entries at a time, at most
//!    [`MAX_RANGES_IN_FLIGHT`] requests at once, following each chain until the peer says
//!    there is no more. Then [`plan_branches`]: for each frozen author whose branches
//!    summary differs from ours, fetch the peer's branches with [`Request::Branches`]. A
//!    chain fetch by seq does not reach them: an entry beside a chain holds no slot, and
//!    the peer's chain may hold, at a seq where ours holds the other entry of the fork, an
//!    entry we lack.
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
use std::collections::{BTreeMap, BTreeSet};
use taawun_core::entry::{self, BadSignature, Checked, DecodeError, MAX_ENVELOPE_BYTES};
use taawun_core::validate::Head;
use taawun_core::{Hash, Id, PublicKey, Verified};

/// The protocol name. Version 2 added the summaries of forks' branches to the heads
/// answer and its digest, and [`Request::Branches`]; a version 1 peer refuses the stream
/// in protocol negotiation, as a node that does not speak sync at all.
pub const PROTOCOL: &str = "/taawun/sync/2";

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

/// Entries of a frozen author's branches (from its fork seq on, on its chain and beside
/// it) that a node summarises ([`WireBranches`]) and serves ([`Request::Branches`]): the
/// first 1024 in (seq, id) order. A stolen key can sign any number of entries: the bound
/// keeps a heads answer's work (at most this many index keys read per frozen author) and
/// a fetch (two requests of [`SYNC_BATCH`]) small whatever that author does, while an
/// honest network's forks (a second entry, a short second branch, the owner's entries
/// since) are far below it. Entries past it are not synced by summaries: chain entries
/// still come by [`Request::Range`], the rest by gossip or, for a node far behind, with
/// the whole log ([`Request::Log`]).
pub const MAX_BRANCH_ENTRIES: u32 = 1024;

/// Most frozen authors summarised in [`Summary::branches`]: as many as [`MAX_HEADS`].
/// About 80 bytes each: with the heads, a heads answer stays under 1.8 MiB.
pub const MAX_FORKED_AUTHORS: usize = MAX_HEADS;

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

/// What a node holds of a frozen author's branches (its entries from its fork seq on, on
/// its chain and beside it): the first [`MAX_BRANCH_ENTRIES`] in (seq, id) order, counted
/// and digested ([`branches_digest`]), and the last of all in that order. A summary with
/// fewer than [`MAX_BRANCH_ENTRIES`] entries is *complete*: it stands for every entry of
/// the branches, so two nodes with equal complete summaries hold the same branches, on
/// whichever chain each stored them ([`settled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireBranches {
    /// The author (frozen: it forked).
    pub author: PublicKey,
    /// Entries summarised (at most [`MAX_BRANCH_ENTRIES`]).
    pub count: u32,
    /// [`branches_digest`] of their (seq, id).
    pub digest: Hash,
    /// The seq of the last entry of the branches in (seq, id) order, past the bound too.
    pub last_seq: u64,
    /// Its id.
    pub last_id: Id,
}

impl WireBranches {
    /// Whether the summary stands for every entry of the branches (fewer than
    /// [`MAX_BRANCH_ENTRIES`]).
    pub fn complete(&self) -> bool {
        self.count < MAX_BRANCH_ENTRIES
    }
}

/// What a node holds of a cooperative, as a heads answer carries it: its chain heads (in
/// author order, at most [`MAX_HEADS`]) and the branches of its frozen authors (in author
/// order, at most [`MAX_FORKED_AUTHORS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Chain heads.
    pub heads: Vec<WireHead>,
    /// Frozen authors' branches, by author.
    pub branches: Vec<WireBranches>,
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
    /// "Send the entries of `coop` you hold of `author`'s branches (from its fork seq on,
    /// on its chain and beside it), in (seq, id) order, from position `from` of that order
    /// (0 is the first), at most `limit`."
    Branches {
        /// The cooperative.
        coop: Id,
        /// The author.
        author: PublicKey,
        /// First position wanted (0, or a position the responder returned as `next`).
        from: u64,
        /// Most entries wanted (the responder also caps at [`SYNC_BATCH`], at
        /// [`MAX_BRANCH_ENTRIES`] positions and by bytes).
        limit: u32,
    },
}

impl Request {
    /// The cooperative the request is about.
    pub fn coop(&self) -> Id {
        match self {
            Request::Heads { coop, .. }
            | Request::Range { coop, .. }
            | Request::Log { coop, .. }
            | Request::Branches { coop, .. } => *coop,
        }
    }
}

/// A sync response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The responder's summary, or `None` when the digests are equal.
    Heads(Option<Summary>),
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
    /// Envelopes of an author's branches, in (seq, id) order, from the requested position
    /// on.
    Branches {
        /// The envelopes, as stored.
        entries: Vec<ByteBuf>,
        /// The position after the last envelope (`from` + the number of entries).
        next: u64,
        /// Whether there are more (within [`MAX_BRANCH_ENTRIES`]) past them.
        more: bool,
    },
    /// The responder does not hold this cooperative.
    UnknownCoop,
    /// The responder's store failed.
    Unavailable,
}

/// Domain tag of the summary digest.
const DIGEST_DOMAIN: &[u8] = b"taawun/sync/heads/v2";

/// Domain tag of [`branches_digest`].
const BRANCHES_DOMAIN: &[u8] = b"taawun/sync/branches/v1";

/// blake3 over the heads sorted by author, (author, seq big-endian, id) each, leaving out
/// the heads of authors with a complete branches summary ([`WireBranches::complete`]:
/// the summary stands for their chain from the fork on, whichever branch the chain
/// holds), then a separator byte 0xff and the branches summaries sorted by author,
/// (author, count big-endian u32, digest, last seq big-endian, last id) each.
pub fn digest(summary: &Summary) -> Hash {
    let complete: BTreeSet<PublicKey> = summary
        .branches
        .iter()
        .filter(|b| b.complete())
        .map(|b| b.author)
        .collect();
    let mut heads: Vec<&WireHead> = summary
        .heads
        .iter()
        .filter(|h| !complete.contains(&h.author))
        .collect();
    heads.sort_by_key(|h| h.author);
    let mut branches: Vec<&WireBranches> = summary.branches.iter().collect();
    branches.sort_by_key(|b| b.author);
    let mut h = blake3::Hasher::new();
    h.update(DIGEST_DOMAIN);
    for w in heads {
        h.update(w.author.as_bytes());
        h.update(&w.seq.to_be_bytes());
        h.update(w.id.as_bytes());
    }
    h.update(&[0xff]);
    for b in branches {
        h.update(b.author.as_bytes());
        h.update(&b.count.to_be_bytes());
        h.update(b.digest.as_bytes());
        h.update(&b.last_seq.to_be_bytes());
        h.update(b.last_id.as_bytes());
    }
    Hash(*h.finalize().as_bytes())
}

/// The remote heads a requester compares with its own ([`plan`], [`missing`]): all but
/// those of the authors whose branches the two summaries agree on ([`settled`]).
pub fn unsettled_heads(local: &Summary, remote: &Summary) -> Vec<WireHead> {
    let settled = settled(&local.branches, &remote.branches);
    remote
        .heads
        .iter()
        .filter(|h| !settled.contains(&h.author))
        .copied()
        .collect()
}

/// The frozen authors whose branches two summaries agree on completely: equal complete
/// summaries ([`WireBranches::complete`]) on both sides. Their chains may end differently
/// (each node's chain keeps the entry of the fork it stored first), but each holds every
/// entry of the other's: their heads are no reason to fetch a range, nor to count entries
/// as missing ([`missing`]).
pub fn settled(local: &[WireBranches], remote: &[WireBranches]) -> BTreeSet<PublicKey> {
    let ours: BTreeMap<PublicKey, &WireBranches> = local.iter().map(|b| (b.author, b)).collect();
    remote
        .iter()
        .filter(|r| r.complete() && ours.get(&r.author) == Some(r))
        .map(|r| r.author)
        .collect()
}

/// blake3 over a frozen author's branches, in (seq, id) order: (seq big-endian, id)
/// each. A [`WireBranches`] is built by [`BranchSummer`].
pub fn branches_digest<'a>(entries: impl IntoIterator<Item = &'a (u64, Id)>) -> Hash {
    let mut s = BranchSummer::new();
    for (seq, id) in entries {
        s.add(*seq, id);
    }
    s.finish().1
}

/// Builds one author's [`WireBranches`] from its entries in (seq, id) order, at most
/// [`MAX_BRANCH_ENTRIES`] of them (the rest are ignored), without holding them.
#[derive(Debug, Clone)]
pub struct BranchSummer {
    hasher: blake3::Hasher,
    count: u32,
}

impl Default for BranchSummer {
    fn default() -> Self {
        Self::new()
    }
}

impl BranchSummer {
    /// Nothing summed.
    pub fn new() -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(BRANCHES_DOMAIN);
        Self { hasher, count: 0 }
    }

    /// Adds the next entry (in (seq, id) order); past [`MAX_BRANCH_ENTRIES`], nothing.
    pub fn add(&mut self, seq: u64, id: &Id) {
        if self.count >= MAX_BRANCH_ENTRIES {
            return;
        }
        self.hasher.update(&seq.to_be_bytes());
        self.hasher.update(id.as_bytes());
        self.count += 1;
    }

    /// The count and the digest.
    pub fn finish(&self) -> (u32, Hash) {
        (self.count, Hash(*self.hasher.finalize().as_bytes()))
    }
}

/// The frozen authors whose branches to fetch: those the remote summary lists
/// with at least one entry and a count or digest unlike ours. In author order, once each.
/// The requester fetches that author's whole list (at most [`MAX_BRANCH_ENTRIES`]); the entries
/// it holds already are duplicates, cheap to skip.
pub fn plan_branches(local: &[WireBranches], remote: &[WireBranches]) -> Vec<PublicKey> {
    let ours: BTreeMap<PublicKey, (u32, Hash)> = local
        .iter()
        .map(|b| (b.author, (b.count, b.digest)))
        .collect();
    let mut out: Vec<PublicKey> = remote
        .iter()
        .filter(|r| r.count > 0 && ours.get(&r.author) != Some(&(r.count, r.digest)))
        .map(|r| r.author)
        .collect();
    out.sort();
    out.dedup();
    out
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

    /// A summary of these heads, with no fork.
    fn heads(h: &[WireHead]) -> Summary {
        Summary {
            heads: h.to_vec(),
            branches: Vec::new(),
        }
    }

    fn branches(a: u8, entries: &[(u64, Id)]) -> WireBranches {
        let mut s = BranchSummer::new();
        for (seq, id) in entries {
            s.add(*seq, id);
        }
        let (count, digest) = s.finish();
        let (last_seq, last_id) = entries.last().copied().unwrap_or((0, Id([0; 32])));
        WireBranches {
            author: PublicKey([a; 32]),
            count,
            digest,
            last_seq,
            last_id,
        }
    }

    #[test]
    fn digest_ignores_order_and_sees_changes() {
        let a = heads(&[h(1, 3), h(2, 5)]);
        let b = heads(&[h(2, 5), h(1, 3)]);
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&heads(&[h(1, 3), h(2, 6)])));
        assert_ne!(digest(&a), digest(&heads(&[h(1, 3)])));
    }

    /// The digests as docs/protocol.md 13.6 spells them out.
    #[test]
    fn digests_are_the_documented_ones() {
        let mut h = blake3::Hasher::new();
        h.update(b"taawun/sync/heads/v2");
        h.update(&[0xff]);
        assert_eq!(digest(&Summary::default()), Hash(*h.finalize().as_bytes()));
        let (a, id) = (PublicKey([1; 32]), Id([2; 32]));
        let mut b = blake3::Hasher::new();
        b.update(b"taawun/sync/branches/v1");
        b.update(&7u64.to_be_bytes());
        b.update(id.as_bytes());
        let bd = Hash(*b.finalize().as_bytes());
        assert_eq!(branches_digest(&[(7, id)]), bd);
        // Author 1 forked (its head is left out: its summary is complete); author 3 did
        // not.
        let other = WireHead {
            author: PublicKey([3; 32]),
            seq: 4,
            id: Id([4; 32]),
        };
        let mut h = blake3::Hasher::new();
        h.update(b"taawun/sync/heads/v2");
        h.update(other.author.as_bytes());
        h.update(&4u64.to_be_bytes());
        h.update(other.id.as_bytes());
        h.update(&[0xff]);
        h.update(a.as_bytes());
        h.update(&1u32.to_be_bytes());
        h.update(bd.as_bytes());
        h.update(&7u64.to_be_bytes());
        h.update(id.as_bytes());
        let summary = Summary {
            heads: vec![
                other,
                WireHead {
                    author: a,
                    seq: 7,
                    id,
                },
            ],
            branches: vec![WireBranches {
                author: a,
                count: 1,
                digest: bd,
                last_seq: 7,
                last_id: id,
            }],
        };
        assert_eq!(digest(&summary), Hash(*h.finalize().as_bytes()));
    }

    /// Two nodes that stored a fork's entries in opposite orders: different heads for
    /// the forked author, the same branches. Their digests are equal, and neither has a
    /// range of that author to fetch; a summary cut at the bound keeps the heads in.
    #[test]
    fn the_same_branches_on_other_chains_are_settled() {
        let fork = [(5, Id([1; 32])), (5, Id([2; 32])), (6, Id([3; 32]))];
        let a = Summary {
            heads: vec![h(1, 3), h(2, 5)],
            branches: vec![branches(2, &fork)],
        };
        let b = Summary {
            heads: vec![h(1, 3), h(2, 6)],
            branches: vec![branches(2, &fork)],
        };
        assert_eq!(digest(&a), digest(&b));
        assert_eq!(
            settled(&a.branches, &b.branches),
            BTreeSet::from([PublicKey([2; 32])])
        );
        // One more entry on one side: not settled, and the digests differ.
        let more = [
            (5, Id([1; 32])),
            (5, Id([2; 32])),
            (6, Id([3; 32])),
            (7, Id([4; 32])),
        ];
        let c = Summary {
            heads: vec![h(1, 3), h(2, 7)],
            branches: vec![branches(2, &more)],
        };
        assert_ne!(digest(&a), digest(&c));
        assert!(settled(&a.branches, &c.branches).is_empty());
        // At the bound the summary stands for part of the branches only.
        let full = |b: WireBranches| WireBranches {
            count: MAX_BRANCH_ENTRIES,
            ..b
        };
        let (fa, fb) = (
            Summary {
                branches: vec![full(a.branches[0])],
                ..a.clone()
            },
            Summary {
                branches: vec![full(b.branches[0])],
                ..b.clone()
            },
        );
        assert_ne!(digest(&fa), digest(&fb));
        assert!(settled(&fa.branches, &fb.branches).is_empty());
    }

    #[test]
    fn digest_sees_the_branches_of_forks() {
        let plain = heads(&[h(1, 3), h(2, 5)]);
        let one = Summary {
            branches: vec![branches(2, &[(5, Id([9; 32]))])],
            ..plain.clone()
        };
        let two = Summary {
            branches: vec![branches(2, &[(5, Id([9; 32])), (6, Id([8; 32]))])],
            ..plain.clone()
        };
        // The same heads: only the branches tell the nodes apart.
        assert_ne!(digest(&plain), digest(&one));
        assert_ne!(digest(&one), digest(&two));
        let other = Summary {
            branches: vec![branches(2, &[(5, Id([7; 32]))])],
            ..plain.clone()
        };
        assert_ne!(digest(&one), digest(&other));
        let both = Summary {
            branches: vec![
                branches(2, &[(5, Id([9; 32]))]),
                branches(1, &[(3, Id([1; 32]))]),
            ],
            ..plain.clone()
        };
        let reversed = Summary {
            branches: both.branches.iter().rev().copied().collect(),
            ..plain
        };
        assert_eq!(digest(&both), digest(&reversed));
    }

    #[test]
    fn branches_plan_fetches_the_authors_whose_lists_differ() {
        let x = branches(1, &[(3, Id([1; 32]))]);
        let y = branches(2, &[(5, Id([2; 32]))]);
        let y2 = branches(2, &[(5, Id([2; 32])), (5, Id([3; 32]))]);
        assert!(plan_branches(&[x, y], &[x, y]).is_empty());
        assert_eq!(plan_branches(&[], &[y, x]), vec![x.author, y.author]);
        assert_eq!(plan_branches(&[x, y], &[x, y2]), vec![y.author]);
        // A list we have and the peer lacks is the peer's to fetch.
        assert!(plan_branches(&[x, y2], &[x]).is_empty());
        let empty = WireBranches {
            count: 0,
            ..branches(3, &[])
        };
        assert!(plan_branches(&[], &[empty]).is_empty());
    }

    #[test]
    fn a_branches_summary_stops_at_its_bound() {
        let mut s = BranchSummer::new();
        let entries: Vec<(u64, Id)> = (0..MAX_BRANCH_ENTRIES as u64 + 10)
            .map(|i| (i + 1, Id::of(&i.to_be_bytes())))
            .collect();
        for (seq, id) in &entries {
            s.add(*seq, id);
        }
        let (count, d) = s.finish();
        assert_eq!(count, MAX_BRANCH_ENTRIES);
        assert_eq!(d, branches_digest(&entries[..MAX_BRANCH_ENTRIES as usize]));
        assert_ne!(
            d,
            branches_digest(&entries[..MAX_BRANCH_ENTRIES as usize - 1])
        );
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
            digest: digest(&heads(&[h(1, 1)])),
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
        let q = Request::Branches {
            coop: Id([1; 32]),
            author: PublicKey([2; 32]),
            from: u64::MAX,
            limit: SYNC_BATCH,
        };
        let mut buf = Vec::new();
        ciborium::into_writer(&q, &mut buf).expect("encodes");
        assert!((buf.len() as u64) < MAX_REQUEST_BYTES);
        let back: Request = ciborium::from_reader(&buf[..]).expect("decodes");
        assert_eq!(back, q);
        assert_eq!(back.coop(), Id([1; 32]));
        let r = Response::Heads(Some(Summary {
            heads: vec![h(1, 3)],
            branches: vec![branches(1, &[(3, Id([5; 32]))])],
        }));
        let mut buf = Vec::new();
        ciborium::into_writer(&r, &mut buf).expect("encodes");
        let back: Response = ciborium::from_reader(&buf[..]).expect("decodes");
        assert_eq!(back, r);
    }

    /// The largest heads answer fits a response.
    #[test]
    fn a_full_heads_answer_fits_a_response() {
        let full = Response::Heads(Some(Summary {
            heads: (0..MAX_HEADS).map(|_| h(0xee, u64::MAX)).collect(),
            branches: (0..MAX_FORKED_AUTHORS)
                .map(|_| WireBranches {
                    author: PublicKey([0xee; 32]),
                    count: MAX_BRANCH_ENTRIES,
                    digest: Hash([0xee; 32]),
                    last_seq: u64::MAX,
                    last_id: Id([0xee; 32]),
                })
                .collect(),
        }));
        let mut buf = Vec::new();
        ciborium::into_writer(&full, &mut buf).expect("encodes");
        assert!((buf.len() as u64) < MAX_RESPONSE_BYTES, "{}", buf.len());
    }
}
