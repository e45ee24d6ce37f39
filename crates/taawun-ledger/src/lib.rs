//! # taawun-ledger: verified entries on disk
//!
//! A thin I/O shell around the pure protocol of `taawun-core`. Every entry that reaches
//! the store has been verified ([`taawun_core::Verified`]) and judged by
//! [`taawun_core::check`], which reads the store through the [`taawun_core::Context`]
//! trait; this crate implements that trait over sled with exactly the semantics of the
//! in-memory reference, [`taawun_core::fold::Coop`].
//!
//! - [`Ledger`]: one sled database per data directory; lists, opens and founds
//!   cooperatives, imports export files;
//! - [`CoopLedger`]: one cooperative: [`CoopLedger::ingest`] (entries from anywhere),
//!   [`CoopLedger::append`] (local writes), sync reads (heads, ranges), the log, the state;
//! - `committer` (private): where a cooperative's groups are written to sled, on a
//!   thread of its own (inline for [`Ledger::open_unflushed`]);
//! - [`Reader`]: a cooperative's store fixed at one moment, read on any thread: what sync
//!   serves to peers, off the network's thread;
//! - [`pending`]: the bounded buffer of entries waiting for what they name;
//! - [`export`]: the export file format (a CBOR sequence) and its reader;
//! - [`disclose`]: the disclosures beside an export (`FILE.keys`): content keys of the
//!   sealed fields a node can open, and reading an export's sealed fields with them;
//! - [`import`]: bulk import with batch signature verification;
//! - [`reread`]: entries read back from a file of envelopes the reader verified (the
//!   audit's export file), without a second signature check. The ledger holds the
//!   process's [`taawun_core::entry::TrustedStore`], the one right to rebuild a
//!   `Verified` from stored bytes: nothing else in the workspace can, and this is the one
//!   door it opens;
//! - [`mod@verify`]: the offline check of an export file, in memory;
//! - [`verdict`]: the one verdict (clean, broken, empty) and exit code that `taawun ledger
//!   verify` and `taawun audit` both give, with the names of the breaks they report;
//! - `fuzzing` (hidden, feature `fuzzing`): the checks the `export` fuzz target in `fuzz/` runs, shared with
//!   the tests that replay its corpus;
//! - `layout` (private): the key layout of a cooperative's tree, summarised below.
//!
//! ## Storage layout
//!
//! One sled tree per cooperative, named `coop/<hex id>`, with one-byte key prefixes:
//! entries by id (the envelope bytes as received), chains ((author, block) -> the ids of
//! 32 consecutive seqs), heads, the indexes validation reads (claims, submissions,
//! assignments and withdrawals keyed by offer first, so they double as the index by
//! offer; verdicts; votes), frozen authors, evidence of equivocation (both envelopes) and
//! an insertion log (blocks of 32 ids; a causal order, used by export). The table is in
//! the `layout` module. Log and chains are packed in blocks because sled's memory grows
//! with the number of keys: about 1.7 keys per entry instead of 5.
//!
//! Every write is one [`sled::Batch`] on its tree, so an entry is stored whole, with its
//! indexes, or not at all. sled's fixed cost per batch is larger than a signature
//! verification, so entries are committed by groups: remote entries
//! ([`CoopLedger::ingest`]) are staged in memory and committed [`GROUP_ENTRIES`] per
//! batch, or sooner when the owner calls [`CoopLedger::commit`] (every
//! [`COMMIT_INTERVAL`]), appends, flushes, scans or drops the handle; bulk import commits
//! [`import::COMMIT_EVERY`] entries per batch. Reads see staged entries. A cooperative's
//! groups are applied by its committing thread, so the owner judges the next entries
//! from memory meanwhile; a read of the tree waits for the groups handed over.
//!
//! ## Crash safety
//!
//! - An entry is in the store whole or not at all: a group is one atomic sled batch.
//! - Local writes ([`CoopLedger::append`], [`Ledger::found`]) are committed and flushed
//!   before they return: durable once reported written. [`CoopLedger::append_then`]
//!   reports the flush later, and its caller publishes the entry only then.
//! - Remote entries staged but not yet committed are lost on a crash (so are committed
//!   groups sled had not yet written: it writes its log every 500 ms). What survives is a
//!   prefix of what was ingested, so chains and heads stay consistent; the lost entries
//!   come back by sync. The same holds when sled fails to write a group: the ledger
//!   reloads what the tree holds ([`LedgerError::Unwritten`]). An export's import is
//!   flushed when it ends.

mod committer;
mod coop;
pub mod disclose;
mod error;
pub mod export;
#[doc(hidden)]
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod import;
mod layout;
mod migrate;
mod outcome;
pub mod pending;
mod reader;
pub mod reread;
pub mod verdict;
pub mod verify;
mod view;

pub use committer::{Flushed, QUEUED_GROUPS};
pub use coop::{CoopLedger, LogTail, Snapshot, COMMIT_INTERVAL, GROUP_ENTRIES, MAX_RANGE};
pub use error::{AppendError, LedgerError};
pub use export::FormatError;
pub use import::{Fork, ImportReport, Listed, Position, Rejection};
pub use outcome::Ingest;
pub use reader::Reader;
pub use reread::Reread;
pub use verdict::Verdict;
pub use verify::{verify, Summary};
pub use view::{MAX_CACHED_PATHS, RECENT_ENTRIES};

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use taawun_core::body::Body;
use taawun_core::{Id, Verified};

/// sled's page cache, in bytes: 32 MiB. sled's default is 1 GiB, far more than a node on
/// a cheap phone or VPS can spare; entries are read mostly near the chain heads, so a
/// small cache keeps a node with a million entries well under 200 MB.
pub const CACHE_CAPACITY: u64 = 32 * 1024 * 1024;

/// The ledger of a node: one sled database in its data directory, one tree per
/// cooperative. Cheap to clone (handles to the same database).
#[derive(Debug, Clone)]
pub struct Ledger {
    db: sled::Db,
    /// Whether cooperatives' groups are written on a thread of their own
    /// ([`crate::committer`]): yes, but for [`Ledger::open_unflushed`].
    threaded: bool,
    /// Cooperatives with a live [`CoopLedger`] handle.
    open: Arc<Mutex<BTreeSet<Id>>>,
}

/// Marks a cooperative open while its [`CoopLedger`] lives.
#[derive(Debug)]
pub(crate) struct Lease {
    open: Arc<Mutex<BTreeSet<Id>>>,
    id: Id,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl Ledger {
    /// Opens (creating it if needed) the ledger in `dir`, with a page cache of
    /// [`CACHE_CAPACITY`].
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        Self::open_with(dir, true)
    }

    /// [`Ledger::open`] without sled's background flusher (a thread per database that
    /// writes its log every 500 ms): only explicit flushes reach the disk (a local write,
    /// [`CoopLedger::flush`], [`Ledger::flush`]). For a simulation running a thousand
    /// ledgers in one process, where durability is what the simulation says it is.
    pub fn open_unflushed(dir: &Path) -> Result<Self, LedgerError> {
        Self::open_with(dir, false)
    }

    fn open_with(dir: &Path, background_flush: bool) -> Result<Self, LedgerError> {
        let db = open_sled(dir, background_flush)?;
        match db.get(layout::FORMAT_KEY)? {
            None => {
                db.insert(layout::FORMAT_KEY, &layout::FORMAT.to_be_bytes()[..])?;
            }
            Some(v) => {
                let found = <[u8; 4]>::try_from(&v[..])
                    .map(u32::from_be_bytes)
                    .map_err(|_| LedgerError::Corrupt("format marker".into()))?;
                if found == layout::FORMAT_WITHOUT_BESIDE {
                    migrate::index_beside(&db)?;
                } else if found != layout::FORMAT {
                    return Err(LedgerError::UnsupportedFormat {
                        found,
                        expected: layout::FORMAT,
                    });
                }
            }
        }
        Ok(Self {
            db,
            threaded: background_flush,
            open: Arc::default(),
        })
    }

    /// The cooperatives stored, in id order.
    pub fn coops(&self) -> Result<Vec<Id>, LedgerError> {
        let mut out = Vec::new();
        for name in self.db.tree_names() {
            let Some(id) = layout::coop_of_tree(&name) else {
                continue;
            };
            // A tree without its charter is the trace of a founding that failed.
            if self
                .db
                .open_tree(&name)?
                .contains_key(layout::k1(layout::ENTRY, id.as_bytes()))?
            {
                out.push(id);
            }
        }
        out.sort();
        Ok(out)
    }

    fn exists(&self, coop: &Id) -> bool {
        let name = layout::tree_name(coop);
        self.db.tree_names().iter().any(|n| n == name.as_bytes())
    }

    fn lease(&self, coop: &Id) -> Result<Lease, LedgerError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if !open.insert(*coop) {
            return Err(LedgerError::Busy(*coop));
        }
        Ok(Lease {
            open: self.open.clone(),
            id: *coop,
        })
    }

    /// Opens a stored cooperative. One handle per cooperative at a time: a second call
    /// before the first handle is dropped fails with [`LedgerError::Busy`].
    pub fn coop(&self, coop: &Id) -> Result<CoopLedger, LedgerError> {
        if !self.exists(coop) {
            return Err(LedgerError::UnknownCoop(*coop));
        }
        let lease = self.lease(coop)?;
        let tree = self.db.open_tree(layout::tree_name(coop))?;
        let Some(bytes) = tree.get(layout::k1(layout::ENTRY, coop.as_bytes()))? else {
            return Err(LedgerError::UnknownCoop(*coop));
        };
        let charter = view::trusted(&bytes)?;
        if !matches!(charter.entry().body, Body::Charter(_)) || charter.id() != *coop {
            return Err(LedgerError::Corrupt(format!(
                "the entry stored as charter of {coop} is not it"
            )));
        }
        CoopLedger::load(self.store(tree, coop)?, charter, lease)
    }

    /// Where `coop`'s groups are written (see [`Ledger::threaded`]).
    fn store(&self, tree: sled::Tree, coop: &Id) -> Result<committer::Store, LedgerError> {
        if self.threaded {
            committer::Store::threaded(tree, format!("commit-{}", coop.short()))
        } else {
            Ok(committer::Store::inline(tree))
        }
    }

    /// Founds a cooperative from its charter (validated like any entry; the cooperative's
    /// id is the charter's id), stored and flushed. Founding one already stored opens it.
    pub fn found(&self, charter: Verified) -> Result<CoopLedger, LedgerError> {
        if !matches!(charter.entry().body, Body::Charter(_)) {
            return Err(LedgerError::NotACharter(charter.id()));
        }
        let id = charter.id();
        if self.coops()?.contains(&id) {
            return self.coop(&id);
        }
        let lease = self.lease(&id)?;
        let name = layout::tree_name(&id);
        let tree = self.db.open_tree(&name)?;
        let mut c = CoopLedger::load(self.store(tree, &id)?, charter.clone(), lease)?;
        match c.ingest(charter, None)? {
            Ingest::Stored { .. } => {
                c.flush()?;
                tracing::info!(coop = %id.short(), "cooperative founded");
                Ok(c)
            }
            Ingest::Rejected(invalid) => {
                drop(c);
                self.db.drop_tree(&name)?;
                Err(LedgerError::InvalidCharter(invalid))
            }
            other => Err(LedgerError::Corrupt(format!(
                "founding {id} in an empty tree gave {other:?}"
            ))),
        }
    }

    /// Writes everything to disk.
    pub fn flush(&self) -> Result<(), LedgerError> {
        self.db.flush()?;
        Ok(())
    }
}

/// How long [`Ledger::open`] waits for the directory's file lock when it is busy: sled's
/// flusher thread holds it for a moment after the last handle of a previous open is
/// dropped (a node restarting in the same process, tests). Another process holding it
/// longer is a real conflict and is reported.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn open_sled(dir: &Path, background_flush: bool) -> Result<sled::Db, LedgerError> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_CAPACITY)
            .flush_every_ms(background_flush.then_some(500))
            .open()
        {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}
