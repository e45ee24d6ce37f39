//! The pending buffer: entries that arrived before something they need.
//!
//! An entry waits on exactly one thing, the first one [`taawun_core::check`] found missing:
//! its chain predecessor (for a gap) or an entry it names. When that thing is stored the
//! entry is judged again; it may then be stored, or wait on the next missing thing.
//! Waiting on the *immediate* predecessor (not the start of the gap) means each buffered
//! entry is re-judged once per gap closed, not once per entry of the gap.
//!
//! The buffer is bounded both in entries ([`MAX_PENDING`]) and in bytes
//! ([`MAX_PENDING_BYTES`]); when full, the oldest entry is dropped (sync fetches it again
//! when its gap is filled).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use taawun_core::{Id, Missing, PublicKey, Verified};

/// Most entries buffered. Sync fetches missing ranges in batches far smaller than this, so
/// an honest peer never fills it; a peer sending orphans can only push out older orphans.
pub const MAX_PENDING: usize = 4096;

/// Most bytes of entries buffered: 16 MiB. Entries are usually a few hundred bytes, so the
/// count bound bites first; this one stops 4096 entries of the largest size (about
/// 130 KiB each) from taking half a gigabyte.
pub const MAX_PENDING_BYTES: usize = 16 * 1024 * 1024;

/// What a buffered entry waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Wait {
    /// An entry with this id.
    Entry(Id),
    /// The author's entry at this seq (the waiting entry's predecessor).
    Seq(PublicKey, u64),
}

impl Wait {
    /// The key to wait on for `missing`. A gap `from..=to` ends just before the entry, so
    /// the entry waits for `to`, its predecessor. (For the odd gap below a head, a store
    /// that lost an entry, `to` is the entry's own seq: it then leaves only by eviction.)
    pub(crate) fn of(missing: &Missing) -> Self {
        match missing {
            Missing::Dependency(id) => Wait::Entry(*id),
            Missing::Gap { author, to, .. } => Wait::Seq(*author, *to),
        }
    }
}

#[derive(Debug)]
struct Slot {
    v: Verified,
    wait: Wait,
    size: usize,
}

/// Entries waiting for something, oldest first.
#[derive(Debug)]
pub(crate) struct Pending {
    /// By arrival number, for dropping the oldest.
    slots: BTreeMap<u64, Slot>,
    /// What each waits for.
    waits: BTreeSet<(Wait, u64)>,
    /// Arrival number by entry id, so one entry is buffered once.
    ids: HashMap<Id, u64>,
    next: u64,
    bytes: usize,
    max: usize,
    max_bytes: usize,
}

impl Default for Pending {
    fn default() -> Self {
        Self::with_bounds(MAX_PENDING, MAX_PENDING_BYTES)
    }
}

impl Pending {
    /// A buffer with the given bounds (tests use small ones).
    pub(crate) fn with_bounds(max: usize, max_bytes: usize) -> Self {
        Self {
            slots: BTreeMap::new(),
            waits: BTreeSet::new(),
            ids: HashMap::new(),
            next: 0,
            bytes: 0,
            max: max.max(1),
            max_bytes,
        }
    }

    /// Entries buffered.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether `id` is buffered.
    pub(crate) fn contains(&self, id: &Id) -> bool {
        self.ids.contains_key(id)
    }

    /// Buffers `v` until `missing` is stored. An entry already buffered is left where it
    /// is. Returns how many older entries were dropped to make room.
    pub(crate) fn insert(&mut self, v: Verified, missing: &Missing) -> usize {
        if self.ids.contains_key(&v.id()) {
            return 0;
        }
        let wait = Wait::of(missing);
        let size = v.bytes().len();
        let mut dropped = 0;
        while !self.slots.is_empty()
            && (self.slots.len() >= self.max || self.bytes + size > self.max_bytes)
        {
            if let Some((n, old)) = self.slots.pop_first() {
                self.forget(n, &old);
                dropped += 1;
                tracing::warn!(
                    entry = %old.v.id().short(),
                    author = %old.v.entry().author.short(),
                    seq = old.v.entry().seq,
                    "pending buffer full: dropped its oldest entry"
                );
            }
        }
        let n = self.next;
        self.next += 1;
        self.bytes += size;
        self.ids.insert(v.id(), n);
        self.waits.insert((wait, n));
        self.slots.insert(n, Slot { v, wait, size });
        dropped
    }

    fn forget(&mut self, n: u64, slot: &Slot) {
        self.waits.remove(&(slot.wait, n));
        self.ids.remove(&slot.v.id());
        self.bytes -= slot.size;
    }

    /// Takes out every entry still buffered, oldest first.
    pub(crate) fn drain(&mut self) -> Vec<Verified> {
        self.waits.clear();
        self.ids.clear();
        self.bytes = 0;
        std::mem::take(&mut self.slots)
            .into_values()
            .map(|s| s.v)
            .collect()
    }

    /// Takes out every entry waiting for the entry `id` by `author` at `seq`, which was
    /// just stored, oldest first.
    pub(crate) fn wake(&mut self, id: Id, author: PublicKey, seq: u64) -> Vec<Verified> {
        let mut found: Vec<u64> = Vec::new();
        for key in [Wait::Entry(id), Wait::Seq(author, seq)] {
            found.extend(
                self.waits
                    .range((key, 0)..=(key, u64::MAX))
                    .map(|(_, n)| *n),
            );
        }
        found.sort_unstable();
        let mut out = Vec::with_capacity(found.len());
        for n in found {
            if let Some(slot) = self.slots.remove(&n) {
                self.forget(n, &slot);
                out.push(slot.v);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_core::body::{Body, Review};
    use taawun_core::writer::Writer;

    fn entries(n: usize) -> Vec<Verified> {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let mut w = Writer::new(key, Some(Id([1; 32])), None);
        (0..n)
            .map(|i| {
                w.next(
                    Body::Review(Review {
                        requester: PublicKey([2; 32]),
                        pay: 5,
                        fairness: 5,
                        promptness: 5,
                        communication: 5,
                        text: None,
                    }),
                    1_000 + i as u64,
                    None,
                )
            })
            .collect()
    }

    fn gap(v: &Verified) -> Missing {
        Missing::Gap {
            author: v.entry().author,
            from: 1,
            to: v.entry().seq - 1,
        }
    }

    #[test]
    fn waits_on_the_predecessor_and_wakes_in_order() {
        let es = entries(4);
        let mut p = Pending::default();
        for v in es[1..].iter().rev() {
            p.insert(v.clone(), &gap(v));
        }
        assert_eq!(p.len(), 3);
        // Inserting twice buffers once.
        p.insert(es[3].clone(), &gap(&es[3]));
        assert_eq!(p.len(), 3);
        let a = es[0].entry().author;
        let woken = p.wake(es[0].id(), a, 1);
        assert_eq!(woken, vec![es[1].clone()]);
        assert_eq!(p.wake(es[1].id(), a, 2), vec![es[2].clone()]);
        assert_eq!(p.len(), 1);
        assert!(p.contains(&es[3].id()));
    }

    #[test]
    fn drops_the_oldest_when_full() {
        let es = entries(5);
        let mut p = Pending::with_bounds(3, usize::MAX);
        let mut dropped = 0;
        for v in &es[1..] {
            dropped += p.insert(v.clone(), &gap(v));
        }
        assert_eq!(dropped, 1);
        assert_eq!(p.len(), 3);
        assert!(!p.contains(&es[1].id()));
        // The byte bound drops too.
        let mut p = Pending::with_bounds(100, es[1].bytes().len() * 2);
        for v in &es[1..] {
            p.insert(v.clone(), &gap(v));
        }
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn dependencies_wake_their_waiters() {
        let es = entries(2);
        let mut p = Pending::default();
        let dep = Id([5; 32]);
        p.insert(es[0].clone(), &Missing::Dependency(dep));
        assert!(p.wake(Id([6; 32]), PublicKey([0; 32]), 1).is_empty());
        assert_eq!(p.wake(dep, PublicKey([0; 32]), 1), vec![es[0].clone()]);
        assert_eq!(p.len(), 0);
    }
}
