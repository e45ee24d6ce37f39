//! Reading and verifying: the export file framed item by item on one thread, each batch
//! decoded and signature-checked in parallel (rayon, ed25519 batch verification), and
//! handed in file order to the thread that judges.
//!
//! Three stages joined by bounded channels, so reading, verifying and judging overlap and
//! memory holds at most a few batches whatever the size of the file.

use std::fs::File;
use std::io::BufReader;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread;
use taawun_core::entry::{self, check_envelopes, BadSignature, Until};
use taawun_core::{Unverified, Verified};
use taawun_ledger::export::{Header, Items};
use taawun_ledger::FormatError;

use rayon::prelude::*;

/// Items per batch handed between stages: large enough that the parallel verification of
/// a batch keeps both cores busy and amortises the hand-over, small enough (about 1.5 MB
/// of envelopes) that a few batches in flight keep memory flat.
pub const BATCH_ITEMS: usize = 4096;

/// Signatures verified together in one ed25519 batch: past about a hundred the saving of
/// batch verification per signature levels off, and smaller groups spread better over
/// the cores.
pub const VERIFY_GROUP: usize = 128;

/// Batches queued between two stages: two keep each stage busy while the next one works,
/// and bound memory to a handful of batches.
pub const QUEUED_BATCHES: usize = 2;

/// Read buffer of the framer.
const READ_BUFFER: usize = 1 << 20;

/// One item of the file after decoding and signature verification.
#[derive(Debug)]
pub(crate) enum Checked {
    /// A decoded entry with a valid signature.
    Entry(Verified),
    /// A decoded entry whose signature is wrong, and the entry itself when it has sealed
    /// fields (the readout of sealed fields counts every decodable entry).
    BadSignature(BadSignature, Option<Box<Unverified>>),
    /// An item that is not an envelope of a decodable entry.
    Undecodable(String),
}

/// A checked item with its place in the file.
#[derive(Debug)]
pub(crate) struct Placed {
    /// Item number (0 is the header, so entries start at 1).
    pub(crate) index: u64,
    /// Byte offset of the item.
    pub(crate) offset: u64,
    /// Its size in bytes.
    pub(crate) len: u32,
    /// What it is.
    pub(crate) item: Checked,
}

/// What the pipeline hands to the judge.
pub(crate) enum Batch {
    /// Items in file order.
    Items(Vec<Placed>),
    /// The stream broke here; nothing follows.
    Broken(FormatError),
}

struct Raw {
    index: u64,
    offset: u64,
    raw: Result<Vec<u8>, u64>,
}

/// Reads the header of `file`, then starts the reading and verifying threads. Returns
/// the header and the receiving end of the checked batches, in file order.
pub(crate) fn start(file: File) -> Result<(Header, Receiver<Batch>), FormatError> {
    let mut items = Items::new(BufReader::with_capacity(READ_BUFFER, file));
    let header = items.header()?;
    let (raw_tx, raw_rx) = sync_channel::<Result<Vec<Raw>, FormatError>>(QUEUED_BATCHES);
    let (out_tx, out_rx) = sync_channel::<Batch>(QUEUED_BATCHES);
    thread::spawn(move || {
        let mut batch = Vec::with_capacity(BATCH_ITEMS);
        loop {
            match items.next_item() {
                Ok(Some(it)) => {
                    batch.push(Raw {
                        index: it.index,
                        offset: it.offset,
                        raw: it.raw,
                    });
                    if batch.len() == BATCH_ITEMS {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ITEMS));
                        if raw_tx.send(Ok(full)).is_err() {
                            return;
                        }
                    }
                }
                Ok(None) => {
                    if !batch.is_empty() {
                        let _ = raw_tx.send(Ok(batch));
                    }
                    return;
                }
                Err(e) => {
                    if !batch.is_empty() && raw_tx.send(Ok(batch)).is_err() {
                        return;
                    }
                    let _ = raw_tx.send(Err(e));
                    return;
                }
            }
        }
    });
    thread::spawn(move || {
        for msg in raw_rx {
            let out = match msg {
                Ok(raws) => Batch::Items(check(raws)),
                Err(e) => Batch::Broken(e),
            };
            if out_tx.send(out).is_err() {
                return;
            }
        }
    });
    Ok((header, out_rx))
}

/// Decodes and verifies a batch in parallel, keeping file order.
fn check(raws: Vec<Raw>) -> Vec<Placed> {
    raws.par_chunks(VERIFY_GROUP)
        .flat_map_iter(|group| {
            let mut placed: Vec<Placed> = Vec::with_capacity(group.len());
            let mut framed: Vec<&[u8]> = Vec::with_capacity(group.len());
            let mut slots: Vec<usize> = Vec::with_capacity(group.len());
            for r in group {
                let (len, item) = match &r.raw {
                    Err(size) => (
                        u32::try_from(*size).unwrap_or(u32::MAX),
                        Checked::Undecodable(format!(
                            "an item of {size} bytes, larger than any envelope"
                        )),
                    ),
                    Ok(bytes) => {
                        slots.push(placed.len());
                        framed.push(bytes);
                        // Replaced below by the verdict on the envelope.
                        (
                            u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                            Checked::Undecodable(String::new()),
                        )
                    }
                };
                placed.push(Placed {
                    index: r.index,
                    offset: r.offset,
                    len,
                    item,
                });
            }
            for (slot, verdict) in slots.into_iter().zip(check_envelopes(framed, Until::End)) {
                placed[slot].item = match verdict {
                    entry::Checked::Verified(v) => Checked::Entry(v),
                    entry::Checked::BadSignature(u) => Checked::BadSignature(
                        u.bad_signature(),
                        (!u.entry().body.sealed_fields().is_empty()).then_some(u),
                    ),
                    entry::Checked::Undecodable(e) => Checked::Undecodable(e.to_string()),
                };
            }
            placed
        })
        .collect()
}
