//! Bulk import of export files.
//!
//! Import and [`crate::verify()`] run the same two-stage pipeline on two threads: a worker
//! frames the stream, decodes envelopes and verifies their signatures by chunks with
//! ed25519 batch verification ([`taawun_core::entry::check_envelopes`]); the calling thread
//! judges each verified entry with [`taawun_core::check`] and stores it. Import stages
//! entries (entry *k* sees the entries before it through an in-memory overlay) and
//! commits them in sled batches of [`COMMIT_EVERY`] entries; [`crate::verify()`] folds
//! into an in-memory [`taawun_core::fold::Coop`] instead.
//!
//! A broken stream (not CBOR, truncated) stops with a [`crate::FormatError`]; entries
//! stored before the break stay stored, since each of them is valid on its own. Items
//! that are CBOR but not valid envelopes, bad signatures and rule breaks are counted and
//! reported with their position, and the import goes on.

use crate::coop::CoopLedger;
use crate::error::LedgerError;
use crate::export::{FormatError, Items};
use crate::outcome::{settle, Ingest, Judge};
use crate::Ledger;
use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;
use taawun_core::body::Body;
use taawun_core::entry::{
    check_envelope, check_envelopes, Checked, DecodeError, Until, MAX_ENVELOPE_BYTES,
};
use taawun_core::{Id, Invalid, PublicKey, Verified};

/// Envelopes whose signatures are verified in one batch: batch verification gains
/// little past a few hundred signatures, and a chunk stays around a megabyte.
pub const IMPORT_CHUNK: usize = 1024;

/// Entries per sled batch when importing (remote ingest groups by [`crate::GROUP_ENTRIES`]).
/// Fewer, larger batches amortise sled's fixed cost per batch (two log-buffer writes),
/// but sled holds a batch's pages until it is sealed: with 1024-entry batches an import
/// of 100,000 entries peaked at 206 MB, with 128 at 87 MB, at the same speed.
pub const COMMIT_EVERY: usize = 128;

/// Bytes of envelopes per chunk at most (8 MiB), in case a file holds large entries.
pub const IMPORT_CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// Chunks verified ahead of the one being stored: enough to keep both threads busy,
/// few enough to bound memory to a handful of chunks.
const PIPELINE_DEPTH: usize = 2;

/// Problems listed in detail per kind in a report; beyond, only counted, so a file of
/// garbage cannot make the report itself huge.
pub const REPORT_DETAILS: usize = 1000;

/// Where an item is in a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Item number: 0 is the header, 1 the first envelope.
    pub item: u64,
    /// Byte offset of its first byte.
    pub offset: u64,
}

/// A count, with the first [`REPORT_DETAILS`] cases in detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed<T> {
    /// How many.
    pub count: u64,
    /// The first of them.
    pub first: Vec<T>,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Self {
            count: 0,
            first: Vec::new(),
        }
    }
}

impl<T> Listed<T> {
    pub(crate) fn push(&mut self, t: T) {
        self.count += 1;
        if self.first.len() < REPORT_DETAILS {
            self.first.push(t);
        }
    }
}

/// An entry that broke a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Where it was.
    pub position: Position,
    /// Its id.
    pub id: Id,
    /// The rule broken.
    pub invalid: Invalid,
}

/// Two entries by one author at one seq.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fork {
    /// Where the second was.
    pub position: Position,
    /// The author, now frozen.
    pub author: PublicKey,
    /// The seq.
    pub seq: u64,
    /// The entry stored at that seq.
    pub existing: Id,
    /// The second entry (kept as evidence only).
    pub second: Id,
}

/// What an import (or a verification) did with each item of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Items read after the header.
    pub items: u64,
    /// Entries stored (including buffered entries they released, and those a fork's
    /// second entry released; the second entries themselves are counted in `forks`).
    pub stored: u64,
    /// Entries already stored.
    pub duplicates: u64,
    /// Entries of the file still waiting in the pending buffer at the end: something
    /// they need is neither stored nor in the file.
    pub pending: u64,
    /// Entries that break a rule.
    pub rejected: Listed<Rejection>,
    /// Equivocations found (the author is frozen).
    pub forks: Listed<Fork>,
    /// Envelopes whose signature does not verify: position and claimed id.
    pub bad_signatures: Listed<(Position, Id)>,
    /// Items that are not envelopes: position and why.
    pub undecodable: Listed<(Position, String)>,
}

impl ImportReport {
    /// Whether every item of the file was stored or already held.
    pub fn is_clean(&self) -> bool {
        self.pending == 0
            && self.rejected.count == 0
            && self.bad_signatures.count == 0
            && self.undecodable.count == 0
    }

    fn tally(&mut self, position: Position, v: (Id, PublicKey, u64), out: Ingest) {
        let (id, author, seq) = v;
        self.stored += out.stored_count() as u64;
        match out {
            Ingest::Stored { .. } => {}
            Ingest::Duplicate => self.duplicates += 1,
            Ingest::Pending(_) => {}
            Ingest::Rejected(invalid) => self.rejected.push(Rejection {
                position,
                id,
                invalid,
            }),
            Ingest::Equivocation { existing, .. } => {
                self.forks.push(Fork {
                    position,
                    author,
                    seq,
                    existing,
                    second: id,
                });
            }
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "item {} (byte {})", self.item, self.offset)
    }
}

impl<T> Listed<T> {
    /// Writes "label: count" then one line per listed case.
    fn lines(
        &self,
        f: &mut fmt::Formatter<'_>,
        label: &str,
        line: impl Fn(&T) -> String,
    ) -> fmt::Result {
        if self.count == 0 {
            return Ok(());
        }
        writeln!(f)?;
        write!(f, "{label}: {}", self.count)?;
        for t in &self.first {
            writeln!(f)?;
            write!(f, "  {}", line(t))?;
        }
        if self.count > self.first.len() as u64 {
            writeln!(f)?;
            write!(f, "  ... and {} more", self.count - self.first.len() as u64)?;
        }
        Ok(())
    }
}

/// A summary line, then one line per problem (several lines; no trailing newline).
impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} items: {} stored, {} already held, {} waiting for missing entries, {} rejected, {} equivocations, {} bad signatures, {} undecodable",
            self.items,
            self.stored,
            self.duplicates,
            self.pending,
            self.rejected.count,
            self.forks.count,
            self.bad_signatures.count,
            self.undecodable.count
        )?;
        self.rejected.lines(f, "rejected", |r| {
            format!("{}: entry {}: {}", r.position, r.id.short(), r.invalid)
        })?;
        self.forks.lines(f, "equivocations", |x| {
            format!(
                "{}: {} signed {} and {} at seq {} (frozen)",
                x.position,
                x.author.short(),
                x.existing.short(),
                x.second.short(),
                x.seq
            )
        })?;
        self.bad_signatures.lines(f, "bad signatures", |(p, id)| {
            format!("{p}: entry {}", id.short())
        })?;
        self.undecodable
            .lines(f, "undecodable", |(p, why)| format!("{p}: {why}"))
    }
}

/// One chunk out of the verification stage.
struct Chunk {
    verified: Vec<(Position, Verified)>,
    bad_signatures: Vec<(Position, Id)>,
    undecodable: Vec<(Position, String)>,
    items: u64,
}

/// Frames, decodes and batch-verifies the stream, chunk by chunk.
fn produce<R: BufRead>(
    items: &mut Items<R>,
    tx: mpsc::SyncSender<Chunk>,
) -> Result<(), FormatError> {
    let mut framed: Vec<(Position, Vec<u8>)> = Vec::with_capacity(IMPORT_CHUNK);
    let mut undecodable = Vec::new();
    let mut bytes = 0usize;
    let mut count = 0u64;
    loop {
        // A file cut short (a torn write, a partial copy) ends in an error: every whole
        // item before it is still judged and stored, and the error reported after.
        let (item, cut) = match items.next_item() {
            Ok(item) => (item, None),
            Err(e) => (None, Some(e)),
        };
        let done = item.is_none();
        if let Some(item) = item {
            count += 1;
            let pos = Position {
                item: item.index,
                offset: item.offset,
            };
            match item.raw {
                Ok(raw) => {
                    bytes += raw.len();
                    framed.push((pos, raw));
                }
                Err(size) => undecodable.push((
                    pos,
                    DecodeError::Oversize {
                        size: usize::try_from(size).unwrap_or(usize::MAX),
                        max: MAX_ENVELOPE_BYTES,
                    }
                    .to_string(),
                )),
            }
        }
        let full = framed.len() + undecodable.len() >= IMPORT_CHUNK || bytes >= IMPORT_CHUNK_BYTES;
        if (full || done) && count > 0 {
            let checked = check_envelopes(framed.iter().map(|(_, raw)| raw.as_slice()), Until::End);
            let mut chunk = Chunk {
                verified: Vec::with_capacity(checked.len()),
                bad_signatures: Vec::new(),
                undecodable: std::mem::take(&mut undecodable),
                items: count,
            };
            for ((pos, _), c) in framed.drain(..).zip(checked) {
                match c {
                    Checked::Verified(v) => chunk.verified.push((pos, v)),
                    Checked::BadSignature(u) => chunk.bad_signatures.push((pos, u.id())),
                    Checked::Undecodable(e) => chunk.undecodable.push((pos, e.to_string())),
                }
            }
            // In file order, oversize items among the others.
            chunk.undecodable.sort_by_key(|(pos, _)| *pos);
            if tx.send(chunk).is_err() {
                // The storing side stopped (and says why).
                return Ok(());
            }
            bytes = 0;
            count = 0;
        }
        if let Some(e) = cut {
            return Err(e);
        }
        if done {
            return Ok(());
        }
    }
}

/// Runs the verification stage on a worker thread and `sink` on this one.
fn pipeline<R, F>(items: Items<R>, mut sink: F) -> Result<(), LedgerError>
where
    R: BufRead + Send,
    F: FnMut(Chunk) -> Result<(), LedgerError>,
{
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel(PIPELINE_DEPTH);
        let worker = s.spawn(move || {
            let mut items = items;
            produce(&mut items, tx)
        });
        let mut result = Ok(());
        for chunk in rx.iter() {
            if let Err(e) = sink(chunk) {
                result = Err(e);
                break;
            }
        }
        // Hanging up stops the worker at its next chunk.
        drop(rx);
        let produced = worker.join().map_err(|_| LedgerError::Worker)?;
        result?;
        produced?;
        Ok(())
    })
}

/// Judges the entries of a stream one chunk at a time, committing every
/// [`COMMIT_EVERY`] entries and at the end of each chunk. Returns the ids of the entries
/// that went to the pending buffer, with where each was in the stream.
pub(crate) fn run<J, R>(
    j: &mut J,
    items: Items<R>,
    report: &mut ImportReport,
) -> Result<HashMap<Id, Position>, LedgerError>
where
    J: Judge,
    R: BufRead + Send,
{
    let mut waiting = HashMap::new();
    let result = pipeline(items, |chunk| {
        report.items += chunk.items;
        for b in chunk.bad_signatures {
            report.bad_signatures.push(b);
        }
        for u in chunk.undecodable {
            report.undecodable.push(u);
        }
        for (n, (pos, v)) in chunk.verified.into_iter().enumerate() {
            if n > 0 && n % COMMIT_EVERY == 0 {
                j.commit()?;
            }
            let key = (v.id(), v.entry().author, v.entry().seq);
            let out = settle(j, v, None)?;
            if matches!(out, Ingest::Pending(_)) {
                waiting.insert(key.0, pos);
            }
            report.tally(pos, key, out);
        }
        j.commit()
    });
    if let Err(e) = result {
        j.discard();
        return Err(e);
    }
    Ok(waiting)
}

impl CoopLedger {
    /// Imports an export file of this cooperative (see [`crate::export`]): signatures
    /// verified by batches of [`IMPORT_CHUNK`], entries judged without the clock rule (an
    /// export holds old entries) and stored [`COMMIT_EVERY`] per sled batch, flushed at
    /// the end. Entries that need something not in the file wait in the pending buffer.
    pub fn import<R: Read + Send>(&mut self, r: R) -> Result<ImportReport, LedgerError> {
        let mut items = Items::new(BufReader::new(r));
        let header = items.header()?;
        if header.coop != self.id() {
            return Err(FormatError::WrongCoop {
                expected: self.id(),
                found: header.coop,
            }
            .into());
        }
        self.import_items(items, ImportReport::default())
    }

    fn import_items<R: BufRead + Send>(
        &mut self,
        items: Items<R>,
        mut report: ImportReport,
    ) -> Result<ImportReport, LedgerError> {
        let result = run(self, items, &mut report);
        self.flush()?;
        let waiting = result?;
        report.pending = waiting.keys().filter(|id| self.is_pending(id)).count() as u64;
        tracing::info!(
            coop = %self.id().short(),
            stored = report.stored,
            duplicates = report.duplicates,
            pending = report.pending,
            rejected = report.rejected.count,
            bad_signatures = report.bad_signatures.count,
            undecodable = report.undecodable.count,
            "import done"
        );
        Ok(report)
    }
}

impl Ledger {
    /// Imports an export file, founding its cooperative when it is not stored yet (then
    /// the file's first envelope must be the charter the header names). Returns the
    /// cooperative's id and the report.
    pub fn import<R: Read + Send>(&self, r: R) -> Result<(Id, ImportReport), LedgerError> {
        let mut items = Items::new(BufReader::new(r));
        let coop = items.header()?.coop;
        if self.coops()?.contains(&coop) {
            let mut c = self.coop(&coop)?;
            return c
                .import_items(items, ImportReport::default())
                .map(|r| (coop, r));
        }
        let no_charter = || LedgerError::Format(FormatError::NoCharter(coop));
        let item = items.next_item()?.ok_or_else(no_charter)?;
        let charter = item
            .raw
            .ok()
            .and_then(|raw| check_envelope(&raw).verified())
            .filter(|v| v.id() == coop && matches!(v.entry().body, Body::Charter(_)))
            .ok_or_else(no_charter)?;
        let mut c = self.found(charter)?;
        let report = ImportReport {
            items: 1,
            stored: 1,
            ..ImportReport::default()
        };
        c.import_items(items, report).map(|r| (coop, r))
    }
}
