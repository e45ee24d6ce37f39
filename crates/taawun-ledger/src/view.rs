//! What validation reads: the committed tree plus an in-memory overlay of staged writes.
//!
//! Writes are first *staged*: put in a [`sled::Batch`] and mirrored in an [`Overlay`], so
//! that entries judged later in the same batch (a group of remote entries, a chunk of an
//! import, entries a new entry releases from the pending buffer) see them. The batch is
//! then applied to the tree at once. [`View`] implements [`Context`] over both, with the same semantics as the
//! in-memory [`taawun_core::fold::Coop`].
//!
//! `Context` answers with `Option`s and `bool`s, so a read that fails (I/O, a value that
//! does not decode) cannot be returned through it; the view records the first such fault
//! and the caller turns it into an error after [`taawun_core::check`] returns, so a
//! broken disk never becomes a verdict on an entry.

use crate::error::LedgerError;
use crate::layout::{self, k1, k2};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use taawun_core::rules::Enactment;
use taawun_core::validate::{Head, PathError};
use taawun_core::{Context, Id, PublicKey, Verified};

/// Governance paths cached: walking a path decodes two entries per enactment, and almost
/// every entry names one of a handful of recent governance ids. Paths never change once
/// complete (entries are immutable), so entries never go stale; 64 covers every branch a
/// cooperative realistically has alive at once.
pub const MAX_CACHED_PATHS: usize = 64;

/// Entries kept decoded after they are stored: 4096, about 5 MB. An entry's
/// dependencies are nearly always recent (an offer's claims, assignment and submissions
/// follow it within its claim and review windows), and a hit saves a sled read (a disk
/// read once the ledger outgrows sled's cache) and a decode.
pub const RECENT_ENTRIES: usize = 4096;

/// The most recently stored entries, decoded, first in first out.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    order: std::collections::VecDeque<Id>,
    entries: HashMap<Id, Verified>,
}

impl Recent {
    pub(crate) fn get(&self, id: &Id) -> Option<&Verified> {
        self.entries.get(id)
    }

    /// Keeps newly stored entries, forgetting the oldest beyond [`RECENT_ENTRIES`].
    pub(crate) fn extend(&mut self, stored: impl IntoIterator<Item = (Id, Verified)>) {
        for (id, v) in stored {
            if self.entries.insert(id, v).is_none() {
                self.order.push_back(id);
            }
            while self.order.len() > RECENT_ENTRIES {
                if let Some(old) = self.order.pop_front() {
                    self.entries.remove(&old);
                }
            }
        }
    }
}

/// Complete governance paths by the enactment id they end at, newest first.
#[derive(Debug, Default)]
pub(crate) struct PathCache {
    paths: HashMap<Id, Vec<Enactment>>,
}

impl PathCache {
    pub(crate) fn get(&self, gov: &Id) -> Option<&Vec<Enactment>> {
        self.paths.get(gov)
    }

    /// Caches a path; when full, starts over (cheaper than tracking recency, and a
    /// refill costs one walk per live governance id).
    pub(crate) fn insert(&mut self, gov: Id, path: Vec<Enactment>) {
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
    /// The batch that will commit them.
    pub(crate) batch: sled::Batch,
    /// Whether anything was put in the batch.
    pub(crate) dirty: bool,
    /// Entries staged (each took one log number).
    pub(crate) staged: u64,
    pub(crate) entries: HashMap<Id, Verified>,
    pub(crate) chains: HashMap<(PublicKey, u64), Id>,
    /// Blocks of the log and of the chains as staged (committed ids included).
    pub(crate) blocks: HashMap<Vec<u8>, Vec<u8>>,
    pub(crate) heads: HashMap<PublicKey, Head>,
    /// Authors frozen by staged writes, with the lowest seq of their fork.
    pub(crate) frozen: BTreeMap<PublicKey, u64>,
    pub(crate) claims: HashSet<(Id, PublicKey)>,
    pub(crate) submits: HashSet<(Id, PublicKey)>,
    pub(crate) assigns: HashSet<Id>,
    pub(crate) verdicts: HashSet<Id>,
    pub(crate) votes: HashSet<(Id, PublicKey)>,
    /// A new deepest enactment and its path length.
    pub(crate) tip: Option<(Id, u64)>,
}

/// The committed tree and the overlay, read together.
pub(crate) struct View<'a> {
    pub(crate) tree: &'a sled::Tree,
    /// The cooperative's charter, read on every check, so kept decoded.
    pub(crate) charter: Option<&'a Verified>,
    /// Committed frozen authors (kept in memory: few, and asked about on every check).
    pub(crate) frozen: &'a BTreeMap<PublicKey, u64>,
    pub(crate) overlay: &'a Overlay,
    pub(crate) paths: &'a PathCache,
    pub(crate) recent: Option<&'a Recent>,
    fault: RefCell<Option<LedgerError>>,
}

impl<'a> View<'a> {
    pub(crate) fn new(
        tree: &'a sled::Tree,
        charter: Option<&'a Verified>,
        frozen: &'a BTreeMap<PublicKey, u64>,
        overlay: &'a Overlay,
        paths: &'a PathCache,
        recent: Option<&'a Recent>,
    ) -> Self {
        Self {
            tree,
            charter,
            frozen,
            overlay,
            paths,
            recent,
            fault: RefCell::new(None),
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
        match self.tree.get(key) {
            Ok(v) => v,
            Err(e) => {
                self.note(e.into());
                None
            }
        }
    }

    fn has(&self, key: &[u8]) -> bool {
        match self.tree.contains_key(key) {
            Ok(b) => b,
            Err(e) => {
                self.note(e.into());
                false
            }
        }
    }

    /// The governance path ending at `gov`, newest first: [`Context::path`]'s walk, cut
    /// short at the first cached path.
    pub(crate) fn walk(&self, gov: Option<Id>) -> Result<Vec<Enactment>, PathError> {
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
        Ok(out)
    }
}

/// Decodes an envelope this ledger stored.
pub(crate) fn trusted(bytes: &[u8]) -> Result<Verified, LedgerError> {
    Verified::from_trusted_store(bytes)
        .map_err(|e| LedgerError::Corrupt(format!("stored entry does not decode: {e}")))
}

impl Context for View<'_> {
    fn entry(&self, id: &Id) -> Option<Verified> {
        if let Some(c) = self.charter.filter(|c| c.id() == *id) {
            return Some(c.clone());
        }
        if let Some(v) = self.overlay.entries.get(id) {
            return Some(v.clone());
        }
        if let Some(v) = self.recent.and_then(|r| r.get(id)) {
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
        if let Some(h) = self.overlay.heads.get(author) {
            return Some(*h);
        }
        let bytes = self.get(&k1(layout::HEAD, author.as_bytes()))?;
        match layout::decode_head(&bytes) {
            Ok(h) => Some(h),
            Err(e) => {
                self.note(e);
                None
            }
        }
    }

    fn at(&self, author: &PublicKey, seq: u64) -> Option<Id> {
        if let Some(id) = self.overlay.chains.get(&(*author, seq)) {
            return Some(*id);
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

    fn frozen(&self, author: &PublicKey) -> bool {
        self.frozen.contains_key(author) || self.overlay.frozen.contains_key(author)
    }

    fn claimed(&self, offer: &Id, member: &PublicKey) -> bool {
        self.overlay.claims.contains(&(*offer, *member))
            || self.has(&k2(layout::CLAIM, offer.as_bytes(), member.as_bytes()))
    }

    fn submitted(&self, offer: &Id, member: &PublicKey) -> bool {
        self.overlay.submits.contains(&(*offer, *member))
            || self.has(&k2(layout::SUBMIT, offer.as_bytes(), member.as_bytes()))
    }

    fn assigned(&self, offer: &Id) -> bool {
        self.overlay.assigns.contains(offer) || self.has(&k1(layout::ASSIGN, offer.as_bytes()))
    }

    fn reviewed(&self, submission: &Id) -> bool {
        self.overlay.verdicts.contains(submission)
            || self.has(&k1(layout::VERDICT, submission.as_bytes()))
    }

    fn voted(&self, proposal: &Id, member: &PublicKey) -> bool {
        self.overlay.votes.contains(&(*proposal, *member))
            || self.has(&k2(layout::VOTE, proposal.as_bytes(), member.as_bytes()))
    }

    fn path(&self, gov: Option<Id>) -> Result<Vec<Enactment>, PathError> {
        self.walk(gov)
    }
}
