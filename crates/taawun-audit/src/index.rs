//! A compact [`Context`] over the entries judged so far, so the audit can run
//! [`taawun_core::check`] itself without holding the ledger in memory.
//!
//! Validation reads whole entries only for what an entry names (its offer, claims,
//! assignment, submission, settlement, proposal and votes) and for the governance path.
//! Governance entries are few and kept; recent entries are kept in a bounded window (a
//! claim names an offer of minutes ago); anything older is read again from the file at
//! the offset where it was verified. Everything else validation asks (heads, chains,
//! claims, submissions, assignments, verdicts, votes) is answered from small indexes of
//! positions: a few bytes per entry.

use crate::compact::Paged;
use crate::quick::QuickMap;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use taawun_core::body::Body;
use taawun_core::index::IndexKey;
use taawun_core::rules::Path;
use taawun_core::validate::{walk, Context, Head, PathError};
use taawun_core::{Id, PublicKey, Verified};
use taawun_ledger::Reread;

/// Recent entries kept whole: a claim or an assignment names an offer written minutes
/// earlier, so a window of this many entries answers nearly every read from memory
/// (about 6 MB) and older ones cost one read from the file.
pub const RECENT_ENTRIES: usize = 16_384;

/// Ids of the most recently stored entries kept by position (36 bytes each with the
/// queue's slack: under 1 MB).
pub const RECENT_IDS: usize = 16_384;

/// Position of a stored entry: its rank among the entries judged valid, in file order.
pub(crate) type Pos = u32;

/// Dense number of an author.
pub(crate) type Who = u32;

#[derive(Debug, Default)]
struct Author {
    head: Option<Head>,
    /// Positions by seq - 1.
    chain: Vec<Pos>,
    /// The lowest seq at which two entries are known.
    frozen: Option<u64>,
}

/// The audit's store of judged entries.
#[derive(Debug)]
pub(crate) struct Index {
    /// The file, read back at the places where entries verified (this index stores
    /// only those).
    file: Reread,
    /// Where each stored entry is in the file: (offset, length), by position.
    loc: Paged<(u64, u32)>,
    /// Every stored entry's id, to its position.
    pos: IdMap,
    keys: HashMap<PublicKey, Who>,
    /// The key last found in `keys`, and its number: judging an entry asks about its
    /// author a dozen times, each a SipHash of the key (numbers are never reassigned).
    last_key: Cell<Option<(PublicKey, Who)>>,
    authors: Vec<Author>,
    pinned: QuickMap<Id, Verified>,
    /// Author -> the `device` entry its seq-1 `enroll` names (every entry judged asks
    /// whom its author speaks for: this answers without reading the file).
    enrollments: QuickMap<Who, Id>,
    /// Recent stored entries by position from `recent_from`, of which the last
    /// [`RECENT_ENTRIES`] that other entries may name are kept whole (`None` for the
    /// rest, and for governance entries, which are pinned): found by the position of
    /// their id, not by a map of their own to fill and empty at every entry.
    recent: VecDeque<Option<Verified>>,
    recent_from: Pos,
    /// How many entries `recent` holds.
    recent_kept: usize,
    /// The ids of the last [`RECENT_IDS`] stored entries, by position from
    /// `recent_ids_from`: validation asks for the id at an author's previous seq, or of a
    /// claim, submission or assignment, mostly of entries stored moments earlier.
    recent_ids: VecDeque<Id>,
    recent_ids_from: Pos,
    /// [`RECENT_IDS`] (smaller in tests).
    recent_ids_max: usize,
    /// The first stored entry (its position) for each key: a forked author may hold one
    /// on each branch, and validation asks for the first.
    claims: QuickMap<(Pos, Who), Pos>,
    submits: QuickMap<(Pos, Who), Pos>,
    assigned: QuickMap<Pos, Pos>,
    reviewed: QuickMap<Pos, Pos>,
    votes: QuickMap<(Pos, Who), Pos>,
    answered: QuickMap<Pos, Pos>,
    /// The governance path last built, by the enactment it ends at: nearly every entry
    /// names the newest enactment, and a path built from stored entries never changes.
    last_path: RefCell<Option<(Id, Path)>>,
}

/// Ids to positions in 13 bytes a slot instead of 37: keyed by the first 9 bytes of the id
/// (ids are BLAKE3 hashes), in 256 maps by the first byte (so that none grows large: a
/// map that doubles holds its old table and its new one at once); ids sharing their
/// first 9 bytes with another stored entry's are kept in full apart. A lookup of a
/// stored id is exact; a lookup of an id not stored may give the position of another
/// entry with the same first 9 bytes, so every lookup of an id that may be absent reads
/// the entry back and compares ids ([`Context::entry`]); validation asks for everything
/// an entry names that way first.
#[derive(Debug)]
struct IdMap {
    short: Vec<QuickMap<[u32; 2], Pos>>,
    /// Ids whose first 9 bytes are those of another stored id.
    full: QuickMap<Id, Pos>,
}

impl Default for IdMap {
    fn default() -> Self {
        Self {
            short: (0..256).map(|_| QuickMap::default()).collect(),
            full: QuickMap::default(),
        }
    }
}

/// In `IdMap::short`: several stored ids begin with these 9 bytes; see `IdMap::full`.
const SHARED: Pos = Pos::MAX;

/// The key of an id: its byte 0 picks the map, bytes 1 to 8 are the key in it.
fn short(id: &Id) -> (usize, [u32; 2]) {
    let b = &id.0;
    let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (usize::from(b[0]), [word(1), word(5)])
}

impl IdMap {
    fn get(&self, id: &Id) -> Option<Pos> {
        let (m, k) = short(id);
        match self.short[m].get(&k).copied()? {
            SHARED => self.full.get(id).copied(),
            p => Some(p),
        }
    }

    /// Inserts an id not stored yet; if another stored id has the same first 9 bytes and
    /// is not yet kept in full, returns that entry's position: the caller reads its id and
    /// calls [`IdMap::collided`].
    fn insert(&mut self, id: Id, p: Pos) -> Option<Pos> {
        let (m, k) = short(&id);
        match self.short[m].insert(k, p) {
            None => None,
            Some(SHARED) => {
                self.short[m].insert(k, SHARED);
                self.full.insert(id, p);
                None
            }
            Some(other) => Some(other),
        }
    }

    /// Keeps two ids with the same first 9 bytes in full.
    fn collided(&mut self, id: Id, p: Pos, other_id: Id, other: Pos) {
        let (m, k) = short(&id);
        self.short[m].insert(k, SHARED);
        self.full.insert(id, p);
        self.full.insert(other_id, other);
    }
}

/// Whether other entries may name entries of this body as a dependency (see
/// `Body::dependencies`): those are kept decoded in memory.
fn nameable(b: &Body) -> bool {
    !matches!(
        b,
        Body::Accept(_) | Body::Reject(_) | Body::Receipt(_) | Body::Review(_) | Body::Withdraw(_)
    )
}

impl Index {
    /// An empty index reading old entries back from `file`.
    pub(crate) fn new(file: File) -> Self {
        Self {
            file: Reread::verified(file),
            loc: Paged::default(),
            pos: IdMap::default(),
            keys: HashMap::new(),
            last_key: Cell::new(None),
            authors: Vec::new(),
            pinned: QuickMap::default(),
            enrollments: QuickMap::default(),
            recent: VecDeque::new(),
            recent_from: 0,
            recent_kept: 0,
            recent_ids: VecDeque::new(),
            recent_ids_from: 0,
            recent_ids_max: RECENT_IDS,
            claims: QuickMap::default(),
            submits: QuickMap::default(),
            assigned: QuickMap::default(),
            reviewed: QuickMap::default(),
            votes: QuickMap::default(),
            answered: QuickMap::default(),
            last_path: RefCell::new(None),
        }
    }

    /// The number of an author, numbering it if new.
    pub(crate) fn who(&mut self, k: &PublicKey) -> Who {
        if let Some(w) = self.known(k) {
            return w;
        }
        let w = Who::try_from(self.authors.len()).unwrap_or(Who::MAX);
        self.keys.insert(*k, w);
        self.authors.push(Author::default());
        w
    }

    /// The number of an author already known.
    pub(crate) fn known(&self, k: &PublicKey) -> Option<Who> {
        if let Some((last, w)) = self.last_key.get() {
            if last == *k {
                return Some(w);
            }
        }
        let w = self.keys.get(k).copied()?;
        self.last_key.set(Some((*k, w)));
        Some(w)
    }

    /// Every author's key by number.
    pub(crate) fn keys(&self) -> Vec<PublicKey> {
        let mut out = vec![PublicKey([0; 32]); self.keys.len()];
        for (k, w) in &self.keys {
            out[*w as usize] = *k;
        }
        out
    }

    /// The position of a stored entry that can be named.
    pub(crate) fn pos_of(&self, id: &Id) -> Option<Pos> {
        self.pos.get(id)
    }

    /// Stored entries.
    pub(crate) fn len(&self) -> usize {
        self.loc.len()
    }

    /// Marks `author` as having equivocated at `seq`.
    pub(crate) fn freeze(&mut self, author: &PublicKey, seq: u64) {
        let w = self.who(author);
        let a = &mut self.authors[w as usize];
        a.frozen = Some(a.frozen.map_or(seq, |s| s.min(seq)));
    }

    /// The seq from which an author is frozen, if it is.
    pub(crate) fn frozen_from(&self, w: Who) -> Option<u64> {
        self.authors.get(w as usize).and_then(|a| a.frozen)
    }

    /// Positions of an author's entries, by seq - 1.
    pub(crate) fn chain(&self, w: Who) -> &[Pos] {
        self.authors.get(w as usize).map_or(&[], |a| &a.chain)
    }

    /// Reads a stored entry by position from the file.
    pub(crate) fn load(&self, p: Pos) -> Option<Verified> {
        let (offset, len) = *self.loc.get(p as usize)?;
        self.file.load(offset, len)
    }

    /// Stores an entry that [`taawun_core::check`] found valid; returns its position.
    /// `on_chain`: the next of its author's chain (fresh); else it is kept beside the
    /// chain (a fork's second entry, an entry of a branch), like `Coop::apply_beside`.
    pub(crate) fn apply(&mut self, v: &Verified, offset: u64, len: u32, on_chain: bool) -> Pos {
        let p = Pos::try_from(self.loc.len()).unwrap_or(Pos::MAX);
        self.loc.push((offset, len));
        self.recent_ids.push_back(v.id());
        if self.recent_ids.len() > self.recent_ids_max {
            self.recent_ids.pop_front();
            self.recent_ids_from += 1;
        }
        let e = v.entry();
        let w = self.who(&e.author);
        if on_chain {
            let a = &mut self.authors[w as usize];
            a.chain.push(p);
            a.head = Some(Head {
                seq: e.seq,
                id: v.id(),
                ts: e.ts,
                gov: e.gov,
            });
        }
        let id = v.id();
        if let (true, 1, Body::Enroll(x)) = (on_chain, e.seq, &e.body) {
            self.enrollments.insert(w, x.device);
        }
        // Filed by position: the entry named is stored (it is a dependency).
        if let Some(ix) = IndexKey::of(&e.author, &e.body) {
            if let Some(n) = self.pos_of(&ix.named()) {
                match ix {
                    IndexKey::Claim { .. } => {
                        self.claims.entry((n, w)).or_insert(p);
                    }
                    IndexKey::Submit { .. } => {
                        self.submits.entry((n, w)).or_insert(p);
                    }
                    IndexKey::Assign { .. } => {
                        self.assigned.entry(n).or_insert(p);
                    }
                    IndexKey::Verdict { .. } => {
                        self.reviewed.entry(n).or_insert(p);
                    }
                    IndexKey::Vote { .. } => {
                        self.votes.entry((n, w)).or_insert(p);
                    }
                    IndexKey::Receipt { .. } => {
                        self.answered.entry(n).or_insert(p);
                    }
                    // No rule asks about withdrawals.
                    IndexKey::Withdraw { .. } => {}
                }
            }
        }
        if let Body::Evidence(ev) = &e.body {
            if let Some(f) = ev.freezes() {
                self.freeze(&f.author, f.seq);
            }
        }
        // Every entry can be named: a fork's second entry, or an entry of a branch, names
        // as its `prev` an entry of any kind below the head.
        if let Some(other) = self.pos.insert(id, p) {
            // Another stored entry's id begins with the same 8 bytes: keep both by id.
            if let Some(o) = self.load(other) {
                self.pos.collided(id, p, o.id(), other);
            }
        }
        let mut keep = None;
        if nameable(&e.body) {
            match e.body {
                Body::Charter(_)
                | Body::Proposal(_)
                | Body::Vote(_)
                | Body::Enact(_)
                | Body::Device(_) => {
                    self.pinned.insert(id, v.clone());
                }
                _ => keep = Some(v.clone()),
            }
        }
        self.recent_kept += usize::from(keep.is_some());
        self.recent.push_back(keep);
        // The slots of entries not kept are bounded too, in a file of few nameable ones.
        while self.recent_kept > RECENT_ENTRIES || self.recent.len() > 4 * RECENT_ENTRIES {
            let Some(old) = self.recent.pop_front() else {
                break;
            };
            self.recent_kept -= usize::from(old.is_some());
            self.recent_from += 1;
        }
        p
    }

    fn author(&self, k: &PublicKey) -> Option<&Author> {
        self.known(k).map(|w| &self.authors[w as usize])
    }

    /// The id of the entry stored at a position, if any.
    fn id_at(&self, p: Option<&Pos>) -> Option<Id> {
        self.id_of(*p?)
    }

    /// The id of the entry stored at `p`: from the recent ids, else read back.
    pub(crate) fn id_of(&self, p: Pos) -> Option<Id> {
        if let Some(i) = p.checked_sub(self.recent_ids_from) {
            if let Some(id) = self.recent_ids.get(i as usize) {
                return Some(*id);
            }
        }
        self.load(p).map(|v| v.id())
    }

    fn pair(&self, id: &Id, k: &PublicKey) -> Option<(Pos, Who)> {
        Some((self.pos_of(id)?, self.known(k)?))
    }
}

impl Context for Index {
    fn path(&self, gov: Option<Id>) -> Result<Path, PathError> {
        let Some(end) = gov else {
            return Ok(Path::from([]));
        };
        if let Some((id, path)) = &*self.last_path.borrow() {
            if *id == end {
                return Ok(path.clone());
            }
        }
        // Only a whole path is remembered.
        let out = walk(self, gov)?;
        *self.last_path.borrow_mut() = Some((end, out.clone()));
        Ok(out)
    }
    fn entry(&self, id: &Id) -> Option<Verified> {
        if let Some(v) = self.pinned.get(id) {
            return Some(v.clone());
        }
        let p = self.pos_of(id)?;
        if let Some(Some(v)) = p
            .checked_sub(self.recent_from)
            .and_then(|i| self.recent.get(i as usize))
        {
            // Another id may share the first bytes of `id` (see `IdMap`): compare.
            if v.id() == *id {
                return Some(v.clone());
            }
        }
        let (offset, len) = *self.loc.get(p as usize)?;
        // A failed read shows up as a missing dependency, reported with its id; the bytes
        // must still be that entry (the file could have changed on disk since).
        self.file.load_id(offset, len, id)
    }
    fn head(&self, author: &PublicKey) -> Option<Head> {
        self.author(author).and_then(|a| a.head)
    }
    fn at(&self, author: &PublicKey, seq: u64) -> Option<Id> {
        let a = self.author(author)?;
        let i = usize::try_from(seq.checked_sub(1)?).ok()?;
        self.id_of(*a.chain.get(i)?)
    }
    fn frozen(&self, author: &PublicKey) -> Option<u64> {
        self.author(author).and_then(|a| a.frozen)
    }
    fn enrolled_with(&self, author: &PublicKey) -> Option<Id> {
        self.enrollments.get(&self.known(author)?).copied()
    }
    fn claimed(&self, offer: &Id, member: &PublicKey) -> Option<Id> {
        let k = self.pair(offer, member)?;
        self.id_at(self.claims.get(&k))
    }
    fn submitted(&self, offer: &Id, member: &PublicKey) -> Option<Id> {
        let k = self.pair(offer, member)?;
        self.id_at(self.submits.get(&k))
    }
    fn assigned(&self, offer: &Id) -> Option<Id> {
        let p = self.pos_of(offer)?;
        self.id_at(self.assigned.get(&p))
    }
    fn reviewed(&self, submission: &Id) -> Option<Id> {
        let p = self.pos_of(submission)?;
        self.id_at(self.reviewed.get(&p))
    }
    fn voted(&self, proposal: &Id, member: &PublicKey) -> Option<Id> {
        let k = self.pair(proposal, member)?;
        self.id_at(self.votes.get(&k))
    }
    fn answered(&self, settle: &Id) -> Option<Id> {
        let p = self.pos_of(settle)?;
        self.id_at(self.answered.get(&p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_at_a_position_is_that_of_the_entry_stored_there_recent_or_not() {
        use std::io::Write;
        let s = taawun_core::synth::generate(&taawun_core::synth::Params {
            seed: 3,
            entries: 120,
            ..taawun_core::synth::Params::default()
        });
        let mut f = tempfile::tempfile().expect("temp file");
        let mut idx = Index::new(f.try_clone().expect("clone"));
        idx.recent_ids_max = 25;
        let mut offset = 0u64;
        for v in &s.entries {
            let env = v.envelope();
            f.write_all(&env).expect("write");
            idx.apply(v, offset, env.len() as u32, true);
            offset += env.len() as u64;
        }
        assert!(idx.recent_ids.len() == 25 && idx.recent_ids_from > 0);
        for (p, v) in s.entries.iter().enumerate() {
            let p = p as Pos;
            assert_eq!(idx.id_of(p), Some(v.id()), "{p}");
            assert_eq!(idx.load(p).map(|l| l.id()), Some(v.id()), "{p}");
        }
        assert_eq!(idx.id_of(s.entries.len() as Pos), None);
    }

    #[test]
    fn ids_sharing_their_first_bytes_are_kept_apart() {
        let mut m = IdMap::default();
        let id = |first: u8, last: u8| {
            let mut b = [first; 32];
            b[31] = last;
            Id(b)
        };
        // Same first byte, another key in its map.
        let mut b = [1u8; 32];
        b[8] = 9;
        assert_eq!(m.insert(Id(b), 9), None);
        assert_eq!(m.insert(id(1, 1), 0), None);
        assert_eq!(m.insert(id(2, 1), 1), None);
        // Same first 8 bytes as the first id: the caller is told which entry to read.
        assert_eq!(m.insert(id(1, 2), 2), Some(0));
        m.collided(id(1, 2), 2, id(1, 1), 0);
        assert_eq!(m.insert(id(1, 3), 3), None);
        for (i, p) in [(id(1, 1), 0), (id(2, 1), 1), (id(1, 2), 2), (id(1, 3), 3)] {
            assert_eq!(m.get(&i), Some(p));
        }
        assert_eq!(m.get(&Id(b)), Some(9));
        assert_eq!(m.get(&id(1, 4)), None);
        assert_eq!(m.get(&id(3, 1)), None);
    }
}
