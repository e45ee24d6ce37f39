//! Where a cooperative's staged groups are written to sled: on a thread of their own
//! ([`Store::threaded`]), so that the ledger's owner (a node's network task) goes on
//! judging and staging entries from memory while sled applies the last group on the other
//! core; or on the owner's thread ([`Store::inline`]), for a simulation of a thousand
//! ledgers in one process.
//!
//! The ledger keeps in memory what a write changes (heads, the log's length, recent
//! entries) as soon as a group is handed over, so judging reads no disk. A read of the
//! tree itself waits first for every group handed over ([`Store::tree`]): every read
//! sees every write before it, as when groups were applied in place.
//!
//! A group that fails to apply stops the thread from applying any later one (a later
//! group's blocks hold the failed group's ids) until the owner has taken the failure
//! ([`Store::take_failure`]) and reloaded from the tree what is really stored: what
//! survives is a prefix of what was staged, as after a crash, and sync fetches the rest.

use crate::error::LedgerError;
use crate::layout::{self, k1};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use taawun_core::Verified;

/// Groups handed to the thread and not yet applied, at most: the owner stages the next
/// while sled applies one; a disk slower than gossip makes the owner wait here rather
/// than hold an unbounded queue of groups in memory.
pub const QUEUED_GROUPS: usize = 2;

/// What the owner learns when a flush it handed over is done.
pub type Flushed = Box<dyn FnOnce(Result<(), LedgerError>) + Send>;

enum Job {
    Apply(Group),
    Flush(Flushed),
}

/// A group's writes as the owner stages them, made into one sled batch where the group is
/// applied: on the committing thread when there is one. sled's batch is an ordered map of
/// reference-counted buffers, and building it (an insertion and a copy per key) was a
/// quarter of what ingesting an entry cost the owner's thread, the one gossip waits on.
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// Keys and values in the order staged; a key written twice keeps its last value,
    /// as in a sled batch.
    writes: Vec<(Vec<u8>, Vec<u8>)>,
    /// Entries to store, each under its id: their envelopes are spelled here too.
    entries: Vec<Verified>,
    /// Entries the owner no longer holds (those leaving its window of recent entries),
    /// dropped with the group: freeing them is work the owner's thread need not do.
    spent: Vec<Verified>,
}

impl Group {
    /// Stages a write of `value` at `key`.
    pub(crate) fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.push((key.into(), value.into()));
    }

    /// Stages an entry, its envelope under its id.
    pub(crate) fn insert_entry(&mut self, v: Verified) {
        self.entries.push(v);
    }

    /// Entries to drop with the group.
    pub(crate) fn drop_with(&mut self, spent: Vec<Verified>) {
        self.spent = spent;
    }

    /// The one atomic sled batch of the writes.
    fn into_batch(self) -> sled::Batch {
        let mut b = sled::Batch::default();
        for (k, v) in self.writes {
            b.insert(k, v);
        }
        for v in self.entries {
            b.insert(&k1(layout::ENTRY, v.id().as_bytes())[..], v.envelope());
        }
        b
    }
}

#[derive(Default)]
struct Counts {
    /// Groups handed over, and applied (or dropped after a failure).
    sent: u64,
    done: u64,
    /// Why a group failed, until the owner takes it.
    failed: Option<String>,
    /// The next group fails (tests of what a failing disk does).
    fail_next: bool,
    /// The thread panics at the next group (tests of a bug in it).
    panic_next: bool,
}

#[derive(Default)]
struct Progress {
    counts: Mutex<Counts>,
    changed: Condvar,
}

impl Progress {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Thread {
    jobs: Option<SyncSender<Job>>,
    progress: Arc<Progress>,
    handle: Option<JoinHandle<()>>,
}

/// A cooperative's sled tree and where its groups are applied (see the module).
pub(crate) struct Store {
    tree: sled::Tree,
    thread: Option<Thread>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("threaded", &self.thread.is_some())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Groups applied on the caller's thread, when handed over.
    pub(crate) fn inline(tree: sled::Tree) -> Self {
        Self { tree, thread: None }
    }

    /// Groups applied on a thread of their own, named after the cooperative.
    pub(crate) fn threaded(tree: sled::Tree, name: String) -> Result<Self, LedgerError> {
        let (tx, rx) = sync_channel::<Job>(QUEUED_GROUPS);
        let progress = Arc::new(Progress::default());
        let (p, t) = (progress.clone(), tree.clone());
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                for job in rx {
                    match job {
                        Job::Apply(group) => {
                            // After a failure, later groups are dropped: their blocks
                            // name the failed group's entries.
                            let (skip, fail, panic) = {
                                let mut c = p.lock();
                                let fail = std::mem::take(&mut c.fail_next);
                                (c.failed.is_some(), fail, std::mem::take(&mut c.panic_next))
                            };
                            assert!(!panic, "a panic made on purpose");
                            let out = match (skip, fail) {
                                (true, _) => Ok(()),
                                (false, true) => Err("a write failure made on purpose".into()),
                                (false, false) => {
                                    t.apply_batch(group.into_batch()).map_err(|e| e.to_string())
                                }
                            };
                            let mut c = p.lock();
                            if let Err(e) = out {
                                tracing::error!(error = %e, "writing a group of entries failed");
                                c.failed = Some(e);
                            }
                            c.done += 1;
                            p.changed.notify_all();
                        }
                        Job::Flush(then) => {
                            let failed = p.lock().failed.clone();
                            then(match failed {
                                Some(why) => Err(LedgerError::Unwritten(why)),
                                None => t.flush().map(drop).map_err(LedgerError::from),
                            });
                        }
                    }
                }
            })
            .map_err(LedgerError::Io)?;
        Ok(Self {
            tree,
            thread: Some(Thread {
                jobs: Some(tx),
                progress,
                handle: Some(handle),
            }),
        })
    }

    /// Hands a group over: applied now when inline (an error is the group's), else
    /// queued (an error comes later, from [`Store::tree`] or [`Store::take_failure`]).
    pub(crate) fn apply(&self, group: Group) -> Result<(), LedgerError> {
        let Some(th) = &self.thread else {
            return Ok(self.tree.apply_batch(group.into_batch())?);
        };
        th.progress.lock().sent += 1;
        let sent = th.jobs.as_ref().map(|j| j.send(Job::Apply(group)));
        if !matches!(sent, Some(Ok(()))) {
            th.progress.lock().sent -= 1;
            return Err(LedgerError::Committer);
        }
        Ok(())
    }

    /// Writes everything handed over to disk, then calls `then` with the outcome: at once
    /// when inline, else from the thread once the groups before it are applied and
    /// flushed (the caller goes on meanwhile).
    pub(crate) fn flush_then(&self, then: Flushed) {
        let Some(th) = &self.thread else {
            then(self.tree.flush().map(drop).map_err(LedgerError::from));
            return;
        };
        if let Some(jobs) = &th.jobs {
            // The thread is gone only after a panic; `then` goes back with the job.
            if let Err(std::sync::mpsc::SendError(Job::Flush(then))) = jobs.send(Job::Flush(then)) {
                then(Err(LedgerError::Committer));
            }
        }
    }

    /// Waits until every group handed over is applied (or dropped after a failure).
    fn settle(&self) -> Option<MutexGuard<'_, Counts>> {
        let th = self.thread.as_ref()?;
        let mut c = th.progress.lock();
        while c.done < c.sent {
            if th.handle.as_ref().is_none_or(|h| h.is_finished()) {
                // The thread died: nothing more will be applied.
                c.failed
                    .get_or_insert_with(|| "the committing thread stopped".into());
                break;
            }
            // A thread that panics notifies nobody: look again now and then.
            c = th
                .progress
                .changed
                .wait_timeout(c, std::time::Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Some(c)
    }

    /// The tree, once every group handed over is applied: what reads of the store go
    /// through. An error if one failed (the owner must [`Store::take_failure`]).
    pub(crate) fn tree(&self) -> Result<&sled::Tree, LedgerError> {
        match self.settle().and_then(|c| c.failed.clone()) {
            Some(why) => Err(LedgerError::Unwritten(why)),
            None => Ok(&self.tree),
        }
    }

    /// The tree without waiting, for a snapshot that reads what was applied up to a
    /// length the owner fixed after [`Store::tree`].
    pub(crate) fn tree_now(&self) -> &sled::Tree {
        &self.tree
    }

    /// Whether a group failed to apply and the owner has not taken the failure yet
    /// (without waiting: a cheap check before each write).
    pub(crate) fn failed(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|th| th.progress.lock().failed.is_some())
    }

    /// Once every group handed over is done, the failure of one, if any, taken: the
    /// thread applies groups again, and the owner reloads what the tree holds.
    pub(crate) fn take_failure(&self) -> Option<LedgerError> {
        self.settle()?.failed.take().map(LedgerError::Unwritten)
    }
}

#[cfg(test)]
impl Store {
    /// Makes the next group handed to the thread fail.
    pub(crate) fn fail_next(&self) {
        if let Some(th) = &self.thread {
            th.progress.lock().fail_next = true;
        }
    }

    /// Makes the thread panic at the next group.
    fn panic_next(&self) {
        if let Some(th) = &self.thread {
            th.progress.lock().panic_next = true;
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(th) = &mut self.thread {
            th.jobs = None;
            if let Some(h) = th.handle.take() {
                if h.join().is_err() {
                    tracing::error!("the committing thread panicked");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, sled::Tree) {
        let dir = tempfile::tempdir().expect("works");
        let db = sled::Config::new().path(dir.path()).open().expect("works");
        let t = db.open_tree("t").expect("works");
        (dir, t)
    }

    fn batch(k: u8) -> Group {
        let mut b = Group::default();
        b.insert(&[k][..], &[k][..]);
        b
    }

    /// A head is staged again for each entry of its author in a group: the last one
    /// written is the one stored, as in the sled batch a group used to be.
    #[test]
    fn a_key_written_twice_in_a_group_keeps_its_last_value() {
        let (_d, t) = tree();
        let s = Store::threaded(t, "test".into()).expect("works");
        let mut g = Group::default();
        g.insert(&[1u8][..], &[1u8][..]);
        g.insert(&[2u8][..], &[2u8][..]);
        g.insert(&[1u8][..], &[3u8][..]);
        s.apply(g).expect("works");
        let t = s.tree().expect("works");
        assert_eq!(t.get([1u8]).expect("works").as_deref(), Some(&[3u8][..]));
        assert_eq!(t.get([2u8]).expect("works").as_deref(), Some(&[2u8][..]));
    }

    #[test]
    fn a_read_of_the_tree_sees_every_group_handed_over_before_it() {
        let (_d, t) = tree();
        let s = Store::threaded(t, "test".into()).expect("works");
        for k in 0..50u8 {
            s.apply(batch(k)).expect("works");
        }
        let t = s.tree().expect("works");
        assert_eq!(t.len(), 50);
    }

    #[test]
    fn a_flush_is_reported_after_the_groups_before_it() {
        let (_d, t) = tree();
        let s = Store::threaded(t.clone(), "test".into()).expect("works");
        s.apply(batch(1)).expect("works");
        let (tx, rx) = std::sync::mpsc::channel();
        s.flush_then(Box::new(move |r| {
            let _ = tx.send((r.is_ok(), t.contains_key([1u8]).expect("works")));
        }));
        assert_eq!(rx.recv().expect("works"), (true, true));
    }

    #[test]
    fn a_committing_thread_that_panics_is_an_error_not_a_wait_forever() {
        let (_d, t) = tree();
        let s = Store::threaded(t, "test".into()).expect("works");
        s.panic_next();
        s.apply(batch(1)).expect("handed over");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(matches!(s.tree(), Err(LedgerError::Unwritten(_))));
            drop(s);
        });
        let answered = rx.recv_timeout(std::time::Duration::from_secs(20));
        assert_eq!(answered, Ok(true));
    }

    #[test]
    fn inline_groups_are_applied_when_handed_over() {
        let (_d, t) = tree();
        let s = Store::inline(t.clone());
        s.apply(batch(7)).expect("works");
        assert!(t.contains_key([7u8]).expect("works"));
        assert!(s.take_failure().is_none());
        assert!(!s.failed());
    }
}
