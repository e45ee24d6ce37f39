//! Errors of the store and of local writes. Verdicts on entries ([`taawun_core::Invalid`],
//! [`taawun_core::Missing`]) are not errors of the store: they are outcomes, see
//! [`crate::Ingest`].

use crate::export::FormatError;
use taawun_core::{Id, Invalid, Missing};

/// Something went wrong with the store itself (or with a file handed to it).
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// sled failed (I/O, or its own files are damaged).
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// Reading or writing a file or stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Data this ledger wrote itself does not read back (a damaged disk, or another
    /// program wrote into the tree).
    #[error("the stored data is corrupt: {0}")]
    Corrupt(String),
    /// The data directory was written by a different layout version.
    #[error("the data directory uses ledger format {found}; this build reads format {expected}")]
    UnsupportedFormat {
        /// The version found.
        found: u32,
        /// The version this build reads and writes.
        expected: u32,
    },
    /// No cooperative with this id is stored.
    #[error("no cooperative {0} in this ledger")]
    UnknownCoop(Id),
    /// The cooperative is already open through another handle: one owner writes a tree.
    #[error("cooperative {0} is already open in this process")]
    Busy(Id),
    /// The entry handed to [`crate::Ledger::found`] is not a charter.
    #[error("entry {0} is not a charter")]
    NotACharter(Id),
    /// The charter breaks a rule.
    #[error("the charter is invalid: {0}")]
    InvalidCharter(Invalid),
    /// An export file or stream is not readable as one.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A worker thread of the import pipeline panicked (a bug, never the input).
    #[error("the signature-verification thread failed")]
    Worker,
    /// A group of entries handed to the committing thread failed to be written, and the
    /// groups after it were not written either: the ledger forgot them (they are fetched
    /// again by sync) and goes on from what the store holds.
    #[error("writing a group of entries failed ({0}); the entries since the last group written are forgotten and will be fetched again")]
    Unwritten(String),
    /// The thread that writes a cooperative's groups is gone (a bug, never the input).
    #[error("the ledger's committing thread stopped")]
    Committer,
}

/// Why [`crate::CoopLedger::append`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The entry breaks a rule; nothing was stored.
    #[error("the entry is invalid: {0}")]
    Invalid(#[from] Invalid),
    /// The entry names something this ledger does not hold; nothing was stored.
    #[error("the entry depends on something not stored here: {0:?}")]
    Pending(Missing),
    /// The store failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}
