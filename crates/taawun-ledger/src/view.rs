//! What validation reads: the committed tree plus an in-memory overlay of staged writes.
//!
//! Writes are first *staged*: put in a group of writes (one [`sled::Batch`] when applied)
//! and mirrored in an [`Overlay`], so
//! that entries judged later in the same batch (a group of remote entries, a chunk of an
//! import, entries a new entry releases from the pending buffer) see them. The batch is
//! then applied to the tree at once. [`View`] implements [`Context`] over both, with the
//! same semantics as the in-memory [`taawun_core::fold::Coop`].
//!
//! Most questions are answered from memory, since a sled read costs about a tenth of a
//! signature verification: the chain heads (one per author) are all kept, recent entries
//! are kept decoded, and "has this member claimed this offer?" and its siblings are
//! answered from the recent entries whenever the offer is among them (see [`Recent`]).
//!
//! `Context` answers with `Option`s and `bool`s, so a read that fails (I/O, a value that
//! does not decode) cannot be returned through it; the view records the first such fault
//! and the caller turns it into an error after [`taawun_core::check`] returns, so a
//! broken disk never becomes a verdict on an entry.

use crate::committer::{Group, Store};
use crate::error::LedgerError;
use crate::layout::{self, k1};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;
use taawun_core::entry::TrustedStore;
use taawun_core::index::IndexKey;
use taawun_core::rules::Path;
use taawun_core::validate::{Head, PathError};
use taawun_core::{Context, Id, PublicKey, Verified};

/// Governance paths cached: walking a path decodes two entries per enactment, and almost
/// every entry names one of a handful of recent governance ids. Paths never change once
/// complete (entries are immutable), so entries never go stale; 64 covers every branch a
/// cooperative realistically has alive at once.
pub const MAX_CACHED_PATHS: usize = 64;

/// Entries kept decoded after they are stored: 8192, about 10 MB. An entry's
/// dependencies are nearly always recent (an offer's claims, assignment and submissions
/// follow it within its claim and review windows), and a hit saves a sled read (a disk
/// read once the ledger outgrows sled's cache), a decode, and a wait for the committing
/// thread. With 4096, gossip ingest one entry at a time reached 0.74-0.78 of its bound at
/// 100,000 entries; with 8192, 0.80-0.82 (docs/performance.md).
pub const RECENT_ENTRIES: usize = 8192;

/// The index entry `v` adds, if any ([`IndexKey::of`]). Its named entry is always one of
/// `v`'s dependencies (the offer, submission, proposal or settlement it names).
fn index_key(v: &Verified) -> Option<IndexKey> {
    IndexKey::of(&v.entry().author, &v.entry().body)
}

/// The most recently stored entries, decoded, first in first out, with their own-chain
/// index entries.
///
/// Because an entry is stored only after everything it names, and the oldest entries
/// leave first, every stored entry that names an entry held here is held here too (or
/// is staged). So when the offer (submission, proposal) asked about is held here, the
/// index entries held here are the whole answer and the index in sled need not be read:
/// see [`View::indexed`]. This needs entries to be added in the order they were stored.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    order: std::collections::VecDeque<Id>,
    entries: HashMap<Id, Verified>,
    /// The first stored entry for each index key held here.
    indexed: HashMap<IndexKey, Id>,
}

impl Recent {
    pub(crate) fn get(&self, id: &Id) -> Option<&Verified> {
        self.entries.get(id)
    }

    fn contains(&self, id: &Id) -> bool {
        self.entries.contains_key(id)
    }

    /// Keeps newly stored entries, in the order they were stored, forgetting the oldest
    /// beyond [`RECENT_ENTRIES`]; returns those it forgot, for the caller to drop where it
    /// costs least.
    pub(crate) fn extend(&mut self, stored: impl IntoIterator<Item = Verified>) -> Vec<Verified> {
        let mut forgotten = Vec::new();
        for v in stored {
            let id = v.id();
            if let Some(ix) = index_key(&v) {
                self.indexed.entry(ix).or_insert(id);
            }
            if self.entries.insert(id, v).is_none() {
                self.order.push_back(id);
            }
            while self.order.len() > RECENT_ENTRIES {
                if let Some(old) = self.order.pop_front().and_then(|o| self.entries.remove(&o)) {
                    if let Some(ix) = index_key(&old) {
                        if self.indexed.get(&ix) == Some(&old.id()) {
                            self.indexed.remove(&ix);
                        }
                    }
                    forgotten.push(old);
                }
            }
        }
        forgotten
    }
}

/// What the first entry of each author's chain enrolled (the device authorisation an
/// `Enroll` names, or `None`), remembered once read: every check asks whether its author is a device
/// ([`Context::enrolled_with`]), and a chain's first entry never changes. Forgotten with
/// the staged group it may come from (see `State::discard`). One per author.
#[derive(Debug, Default)]
pub(crate) struct Firsts(RefCell<HashMap<PublicKey, Option<Id>>>);

impl Firsts {
    pub(crate) fn clear(&mut self) {
        self.0.get_mut().clear();
    }
}

/// Complete governance paths by the enactment id they end at, newest first.
#[derive(Debug, Default)]
pub(crate) struct PathCache {
    paths: HashMap<Id, Path>,
}

impl PathCache {
    pub(crate) fn get(&self, gov: &Id) -> Option<&Path> {
        self.paths.get(gov)
    }

    /// Caches a path; when full, starts over (cheaper than tracking recency, and a
    /// refill costs one walk per live governance id).
    pub(crate) fn insert(&mut self, gov: Id, path: Path) {
        if self.paths.len() >= MAX_CACHED_PATHS {
            self.paths.clear();
        }
        self.paths.insert(gov, path);
    }

    pub(crate) fn clear(&mut self) {
        self.paths.clear();
    }
}

/// Writes staged but not yet applied to the tree, and the index entries they add.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    /// The writes that will commit them as one batch (the blocks below are added when
    /// it is applied).
    pub(crate) batch: Group,
    /// Whether anything was put in the batch.
    pub(crate) dirty: bool,
    /// Entries staged (each took one log number).
    pub(crate) staged: u64,
    pub(crate) entries: HashMap<Id, Verified>,
    /// The staged entries' ids in the order staged (the order [`Recent`] needs).
    pub(crate) order: Vec<Id>,
    pub(crate) chains: HashMap<(PublicKey, u64), Id>,
    /// Blocks of the log and of the chains as staged (committed ids included); put in
    /// the batch when it is written, so once per group rather than once per entry.
    pub(crate) blocks: HashMap<Vec<u8>, Vec<u8>>,
    pub(crate) heads: HashMap<PublicKey, Head>,
    /// Authors frozen by staged writes, with the lowest seq of their fork.
    pub(crate) frozen: BTreeMap<PublicKey, u64>,
    /// Index entries first stored by staged writes (keys not held in the tree).
    pub(crate) indexed: HashMap<IndexKey, Id>,
    /// A new deepest enactment and its path length.
    pub(crate) tip: Option<(Id, u64)>,
}

/// The committed tree and the overlay, read together.
pub(crate) struct View<'a> {
    /// Read only when memory does not answer: a read waits for the groups handed over.
    pub(crate) store: &'a Store,
    /// The cooperative's charter, read on every check, so kept decoded.
    pub(crate) charter: &'a Verified,
    /// Committed frozen authors (kept in memory: few, and asked about on every check).
    pub(crate) frozen: &'a BTreeMap<PublicKey, u64>,
    /// Committed chain heads (kept in memory: one per author).
    pub(crate) heads: &'a BTreeMap<PublicKey, Head>,
    pub(crate) overlay: &'a Overlay,
    pub(crate) paths: &'a PathCache,
    pub(crate) recent: &'a Recent,
    pub(crate) firsts: &'a Firsts,
    fault: RefCell<Option<LedgerError>>,
}

impl<'a> View<'a> {
    // One borrow per part of the ledger's state the view reads.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        store: &'a Store,
        charter: &'a Verified,
        frozen: &'a BTreeMap<PublicKey, u64>,
        heads: &'a BTreeMap<PublicKey, Head>,
        overlay: &'a Overlay,
        paths: &'a PathCache,
        recent: &'a Recent,
        firsts: &'a Firsts,
    ) -> Self {
        Self {
            store,
            charter,
            frozen,
            heads,
            overlay,
            paths,
            recent,
            firsts,
            fault: RefCell::new(None),
        }
    }

    /// The first stored entry the index holds for `ix`: staged, else answered in memory
    /// when the entry it names is in memory (see [`Recent`]), else read from sled at `key`.
    fn indexed(&self, ix: IndexKey) -> Option<Id> {
        if let Some(id) = self.overlay.indexed.get(&ix) {
            return Some(*id);
        }
        let named = ix.named();
        if self.overlay.entries.contains_key(&named) || self.recent.contains(&named) {
            return self.recent.indexed.get(&ix).copied();
        }
        let bytes = self.get(&layout::index(&ix))?;
        match layout::id(&bytes, "index value") {
            Ok(id) => Some(id),
            Err(e) => {
                self.note(e);
                None
            }
        }
    }

    /// The first read that failed, if any.
    pub(crate) fn into_fault(self) -> Option<LedgerError> {
        self.fault.into_inner()
    }

    fn note(&self, e: LedgerError) {
        let mut f = self.fault.borrow_mut();
        if f.is_none() {
            tracing::error!(error = %e, "ledger read failed during validation");
            *f = Some(e);
        }
    }

    fn get(&self, key: &[u8]) -> Option<sled::IVec> {
        match self.store.tree().and_then(|t| Ok(t.get(key)?)) {
            Ok(v) => v,
            Err(e) => {
                self.note(e);
                None
            }
        }
    }

    #[allow(dead_code)]
    fn has(&self, key: &[u8]) -> bool {
        match self.store.tree().and_then(|t| Ok(t.contains_key(key)?)) {
            Ok(b) => b,
            Err(e) => {
                self.note(e);
                false
            }
        }
    }

    /// The governance path ending at `gov`, newest first: [`Context::path`]'s walk, cut
    /// short at the first cached path.
    pub(crate) fn walk(&self, gov: Option<Id>) -> Result<Path, PathError> {
        if let Some(whole) = gov.and_then(|g| self.paths.get(&g)) {
            return Ok(whole.clone());
        }
        let mut out = Vec::new();
        let mut cur = gov;
        while let Some(id) = cur {
            if let Some(rest) = self.paths.get(&id) {
                out.extend(rest.iter().cloned());
                break;
            }
            let (step, parent) = taawun_core::validate::enactment(self, id)?;
            out.push(step);
            cur = parent;
        }
        Ok(out.into())
    }
}

/// This process's [`TrustedStore`], claimed by the ledger on its first read: entries are
/// verified before they are stored, so reading them back checks no signature again.
/// `None` if another crate claimed it first (then every read fails, loudly).
static TRUST: LazyLock<Option<TrustedStore>> = LazyLock::new(TrustedStore::claim);

/// Decodes an envelope verified before and kept by this ledger (its store), or by the
/// caller of [`crate::reread`].
pub(crate) fn trusted(bytes: &[u8]) -> Result<Verified, LedgerError> {
    let trust = TRUST.as_ref().ok_or_else(|| {
        LedgerError::Corrupt("the trusted-store token was claimed outside the ledger".into())
    })?;
    trust
        .decode(bytes)
        .map_err(|e| LedgerError::Corrupt(format!("stored entry does not decode: {e}")))
}

impl Context for View<'_> {
    fn enrolled_with(&self, author: &PublicKey) -> Option<Id> {
        if let Some(known) = self.firsts.0.borrow().get(author) {
            return *known;
        }
        // A chain not started yet is asked about again later.
        let first = self.at(author, 1).and_then(|id| self.entry(&id))?;
        let device = match &first.entry().body {
            taawun_core::body::Body::Enroll(x) => Some(x.device),
            _ => None,
        };
        self.firsts.0.borrow_mut().insert(*author, device);
        device
    }

    fn entry(&self, id: &Id) -> Option<Verified> {
        if self.charter.id() == *id {
            return Some(self.charter.clone());
        }
        if let Some(v) = self.overlay.entries.get(id) {
            return Some(v.clone());
        }
        if let Some(v) = self.recent.get(id) {
            return Some(v.clone());
        }
        let bytes = self.get(&k1(layout::ENTRY, id.as_bytes()))?;
        match trusted(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                self.note(e);
                None
            }
        }
    }

    fn head(&self, author: &PublicKey) -> Option<Head> {
        self.overlay
            .heads
            .get(author)
            .or_else(|| self.heads.get(author))
            .copied()
    }

    fn at(&self, author: &PublicKey, seq: u64) -> Option<Id> {
        if let Some(id) = self.overlay.chains.get(&(*author, seq)) {
            return Some(*id);
        }
        // A chain ends at its head: the seqs a new entry asks about (its own, its
        // predecessor's) are answered from memory, without waiting for the committing
        // thread.
        let head = self
            .overlay
            .heads
            .get(author)
            .or_else(|| self.heads.get(author));
        match head {
            None => return None,
            Some(h) if seq > h.seq => return None,
            Some(h) if seq == h.seq => return Some(h.id),
            Some(_) => {}
        }
        let (key, slot) = layout::chain(author, seq);
        let block = self.get(&key)?;
        match layout::slot(&block, slot, "chain block") {
            Ok(id) => id,
            Err(e) => {
                self.note(e);
                None
            }
        }
    }

    fn frozen(&self, author: &PublicKey) -> Option<u64> {
        match (self.frozen.get(author), self.overlay.frozen.get(author)) {
            (Some(a), Some(b)) => Some(*a.min(b)),
            (a, b) => a.or(b).copied(),
        }
    }

    fn claimed(&self, offer: &Id, member: &PublicKey) -> Option<Id> {
        self.indexed(IndexKey::Claim {
            offer: *offer,
            member: *member,
        })
    }

    fn submitted(&self, offer: &Id, member: &PublicKey) -> Option<Id> {
        self.indexed(IndexKey::Submit {
            offer: *offer,
            member: *member,
        })
    }

    fn assigned(&self, offer: &Id) -> Option<Id> {
        self.indexed(IndexKey::Assign { offer: *offer })
    }

    fn reviewed(&self, submission: &Id) -> Option<Id> {
        self.indexed(IndexKey::Verdict {
            submission: *submission,
        })
    }

    fn voted(&self, proposal: &Id, member: &PublicKey) -> Option<Id> {
        self.indexed(IndexKey::Vote {
            proposal: *proposal,
            member: *member,
        })
    }

    fn answered(&self, settle: &Id) -> Option<Id> {
        self.indexed(IndexKey::Receipt { settle: *settle })
    }

    fn path(&self, gov: Option<Id>) -> Result<Path, PathError> {
        self.walk(gov)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_core::body::{Body, Claim};
    use taawun_core::writer::Writer;

    /// Claims on distinct offers, in chain order.
    fn claims(n: usize) -> Vec<Verified> {
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let mut w = Writer::new(key, Some(Id([1; 32])), None);
        (0..n)
            .map(|i| {
                let mut offer = [0u8; 32];
                offer[..8].copy_from_slice(&(i as u64).to_be_bytes());
                w.next(
                    Body::Claim(Claim { offer: Id(offer) }),
                    1_000 + i as u64,
                    None,
                )
            })
            .collect()
    }

    #[test]
    fn recent_keeps_the_index_of_what_it_holds_and_no_more() {
        let all = claims(RECENT_ENTRIES + 100);
        let mut r = Recent::default();
        // In groups, as commits add them.
        for group in all.chunks(128) {
            r.extend(group.iter().cloned());
        }
        assert_eq!(r.entries.len(), RECENT_ENTRIES);
        assert_eq!(r.indexed.len(), RECENT_ENTRIES);
        let (gone, kept) = all.split_at(100);
        for v in gone {
            assert!(!r.contains(&v.id()));
            assert!(index_key(v).is_some_and(|ix| !r.indexed.contains_key(&ix)));
        }
        for v in kept {
            assert!(r.contains(&v.id()));
            assert!(index_key(v).is_some_and(|ix| r.indexed.contains_key(&ix)));
        }
    }
}
