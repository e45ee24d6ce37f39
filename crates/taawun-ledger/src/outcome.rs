//! What became of an entry handed to the ledger, and the loop that releases buffered
//! entries once what they waited for is stored.
//!
//! The loop is shared by the sled ledger ([`crate::CoopLedger`]) and the in-memory
//! verification of export files ([`crate::verify`]): both implement [`Judge`].

use crate::error::LedgerError;
use crate::pending::Pending;
use std::collections::VecDeque;
use taawun_core::body::Evidence;
use taawun_core::{Id, Invalid, Missing, Timestamp, Verified};

/// What became of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingest {
    /// Valid and new: stored.
    Stored {
        /// Its id.
        id: Id,
        /// Entries of the pending buffer stored because this one filled what they
        /// waited for (directly or through each other), in the order stored.
        released: Vec<Id>,
    },
    /// Already stored.
    Duplicate,
    /// Cannot be judged yet: buffered until what is missing arrives (see
    /// [`crate::pending`]).
    Pending(Missing),
    /// Breaks a rule: not stored, not buffered, and not to be relayed.
    Rejected(Invalid),
    /// Its author already has a different entry at this seq. Both envelopes are kept as
    /// evidence and the author is frozen from this seq on (what that takes from it:
    /// `taawun_core::fold::Coop`). This entry is stored beside the chain, not as the
    /// head, and what waited for it in the pending buffer is judged again.
    Equivocation {
        /// The entry stored at that seq.
        existing: Id,
        /// The two envelopes: `a` the stored one, `b` this one.
        evidence: Evidence,
        /// Entries of the pending buffer stored because this one filled what they
        /// waited for (entries of its branch, or naming it; directly or through each
        /// other), in the order stored.
        released: Vec<Id>,
    },
}

impl Ingest {
    /// The entries this outcome reports as stored, in the order stored: the entry itself
    /// when it was stored (`Stored`), then the pending entries it released. A fork's
    /// second entry is stored too, but reported as the equivocation it is, not here.
    pub fn stored(&self) -> (Option<Id>, &[Id]) {
        match self {
            Ingest::Stored { id, released } => (Some(*id), released),
            Ingest::Equivocation { released, .. } => (None, released),
            Ingest::Duplicate | Ingest::Pending(_) | Ingest::Rejected(_) => (None, &[]),
        }
    }

    /// How many entries [`Ingest::stored`] names: what an import report and a sync
    /// session count as stored.
    pub fn stored_count(&self) -> usize {
        let (id, released) = self.stored();
        usize::from(id.is_some()) + released.len()
    }
}

/// One judgement, before the pending buffer is involved.
#[derive(Debug)]
pub(crate) enum Step {
    /// Staged for storing.
    Stored(Id),
    Duplicate,
    /// Not judged: the entry comes back to be buffered.
    Pending(Box<Verified>, Missing),
    Rejected(Id, Invalid),
    /// Evidence staged, author frozen, and the entry staged beside the chain.
    Fork {
        id: Id,
        existing: Id,
        evidence: Evidence,
    },
}

/// A store entries can be judged against and staged into.
pub(crate) trait Judge {
    /// Judges `v` and, when valid and new, stages it (a fork: stages the evidence).
    fn judge(&mut self, v: Verified, now: Option<Timestamp>) -> Result<Step, LedgerError>;
    /// The buffer of entries waiting for something.
    fn pending(&mut self) -> &mut Pending;
    /// Makes everything staged permanent, at once.
    fn commit(&mut self) -> Result<(), LedgerError>;
    /// Forgets everything staged since the last commit (after an error: a write may be
    /// half staged).
    fn discard(&mut self);
}

/// Judges `v`: stores it, buffers it, or refuses it; when stored, releases what waited for
/// it.
pub(crate) fn settle<J: Judge>(
    j: &mut J,
    v: Verified,
    now: Option<Timestamp>,
) -> Result<Ingest, LedgerError> {
    let (author, seq) = (v.entry().author, v.entry().seq);
    Ok(match j.judge(v, now)? {
        Step::Stored(id) => Ingest::Stored {
            id,
            released: release(j, id, author, seq, now)?,
        },
        Step::Duplicate => Ingest::Duplicate,
        Step::Pending(v, missing) => {
            j.pending().insert(*v, &missing);
            Ingest::Pending(missing)
        }
        Step::Rejected(_, invalid) => Ingest::Rejected(invalid),
        Step::Fork {
            id,
            existing,
            evidence,
        } => {
            // The second entry is stored: what waited for it (entries of its branch, or
            // naming it) is judged again.
            let released = release(j, id, author, seq, now)?;
            if !released.is_empty() {
                tracing::debug!(
                    n = released.len(),
                    "entries released by a fork's second entry"
                );
            }
            Ingest::Equivocation {
                existing,
                evidence,
                released,
            }
        }
    })
}

/// Judges again every buffered entry that waited for the entry `id` (by `author` at
/// `seq`), and those waiting for them in turn; returns the ids stored.
pub(crate) fn release<J: Judge>(
    j: &mut J,
    id: Id,
    author: taawun_core::PublicKey,
    seq: u64,
    now: Option<Timestamp>,
) -> Result<Vec<Id>, LedgerError> {
    let mut queue: VecDeque<Verified> = j.pending().wake(id, author, seq).into();
    let mut released = Vec::new();
    while let Some(w) = queue.pop_front() {
        let (author, seq) = (w.entry().author, w.entry().seq);
        match j.judge(w, now)? {
            Step::Stored(id) => {
                released.push(id);
                queue.extend(j.pending().wake(id, author, seq));
            }
            Step::Pending(w, missing) => {
                j.pending().insert(*w, &missing);
            }
            Step::Rejected(id, invalid) => {
                tracing::debug!(entry = %id.short(), %invalid, "buffered entry rejected");
            }
            Step::Fork { id, existing, .. } => {
                released.push(id);
                queue.extend(j.pending().wake(id, author, seq));
                tracing::warn!(
                    author = %author.short(),
                    seq,
                    existing = %existing.short(),
                    "buffered entry is an equivocation: author frozen"
                );
            }
            Step::Duplicate => {}
        }
    }
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_core::PublicKey;

    #[test]
    fn an_outcome_stores_the_entry_then_what_it_released_and_a_fork_only_what_it_released() {
        let (id, r1, r2) = (Id([1; 32]), Id([2; 32]), Id([3; 32]));
        let stored = Ingest::Stored {
            id,
            released: vec![r1, r2],
        };
        assert_eq!(stored.stored(), (Some(id), &[r1, r2][..]));
        assert_eq!(stored.stored_count(), 3);
        let fork = Ingest::Equivocation {
            existing: Id([4; 32]),
            evidence: Evidence {
                a: vec![1],
                b: vec![2],
            },
            released: vec![r1],
        };
        assert_eq!(fork.stored(), (None, &[r1][..]));
        assert_eq!(fork.stored_count(), 1);
        for nothing in [
            Ingest::Duplicate,
            Ingest::Pending(Missing::Gap {
                author: PublicKey([5; 32]),
                from: 1,
                to: 2,
            }),
            Ingest::Rejected(Invalid::SeqZero),
        ] {
            assert_eq!(nothing.stored(), (None, &[][..]));
            assert_eq!(nothing.stored_count(), 0);
        }
    }
}
