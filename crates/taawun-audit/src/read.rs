//! Reading and verifying: the export file framed item by item on one thread, each group
//! of [`VERIFY_GROUP`] items decoded and signature-checked as a job of the rayon pool
//! (ed25519 batch verification), and handed in file order to the thread that judges.
//!
//! Groups flow one by one rather than in large batches with a join at the end of each:
//! a batch's last groups left one core idle while the other finished, and every batch
//! passed through one more thread. The verifiers now always have the next group waiting
//! while at most [`IN_FLIGHT_GROUPS`] are between the framer and the judge, so memory
//! stays flat whatever the size of the file.

use std::fs::File;
use std::io::BufReader;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;
use taawun_core::entry::{self, check_owned_envelopes, BadSignature, Until};
use taawun_core::{Unverified, Verified};
use taawun_ledger::export::{Header, Items};
use taawun_ledger::FormatError;

/// Signatures verified together in one ed25519 batch: past about a hundred the saving of
/// batch verification per signature levels off, and smaller groups spread better over
/// the cores.
pub const VERIFY_GROUP: usize = 128;

/// Groups framed and not yet judged, at most (8,192 items: about 10 MB of envelopes and
/// entries): enough that the verifiers never wait for the framer or for a judge that is
/// briefly descheduled.
pub const IN_FLIGHT_GROUPS: usize = 64;

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

/// A place in file order: the group that a verifier will send, or where the file broke.
enum Slot {
    Group(Receiver<Vec<Placed>>),
    Broken(FormatError),
}

/// The checked groups in file order (see [`start`]).
pub(crate) struct Batches(Receiver<Slot>);

impl Iterator for Batches {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        match self.0.recv().ok()? {
            // Waits for this group's verifier; later groups may be done already.
            Slot::Group(rx) => rx.recv().ok().map(Batch::Items),
            Slot::Broken(e) => Some(Batch::Broken(e)),
        }
    }
}

/// Queues `group` for verification on the rayon pool, its place kept in `slots`. False
/// when the judge has stopped listening.
fn dispatch(slots: &SyncSender<Slot>, group: Vec<Raw>) -> bool {
    let (tx, rx) = sync_channel(1);
    // The place first: it blocks while the judge is [`IN_FLIGHT_GROUPS`] behind, which
    // holds back the work too.
    if slots.send(Slot::Group(rx)).is_err() {
        return false;
    }
    rayon::spawn(move || {
        let _ = tx.send(check(group));
    });
    true
}

/// Reads the header of `file`, then starts the reading thread, which hands each group to
/// the verifiers. Returns the header and the checked groups, in file order.
pub(crate) fn start(file: File) -> Result<(Header, Batches), FormatError> {
    let mut items = Items::new(BufReader::with_capacity(READ_BUFFER, file));
    let header = items.header()?;
    let (slots, rx) = sync_channel::<Slot>(IN_FLIGHT_GROUPS);
    thread::spawn(move || {
        let mut group = Vec::with_capacity(VERIFY_GROUP);
        loop {
            match items.next_item() {
                Ok(Some(it)) => {
                    group.push(Raw {
                        index: it.index,
                        offset: it.offset,
                        raw: it.raw,
                    });
                    if group.len() == VERIFY_GROUP {
                        let full = std::mem::replace(&mut group, Vec::with_capacity(VERIFY_GROUP));
                        if !dispatch(&slots, full) {
                            return;
                        }
                    }
                }
                Ok(None) => {
                    if !group.is_empty() {
                        dispatch(&slots, group);
                    }
                    return;
                }
                Err(e) => {
                    if !group.is_empty() && !dispatch(&slots, group) {
                        return;
                    }
                    let _ = slots.send(Slot::Broken(e));
                    return;
                }
            }
        }
    });
    Ok((header, Batches(rx)))
}

/// Decodes and verifies one group, keeping file order. The framed envelopes are handed
/// over to decoding, which keeps each buffer as its entry's signed message.
fn check(group: Vec<Raw>) -> Vec<Placed> {
    let mut placed: Vec<Placed> = Vec::with_capacity(group.len());
    let mut framed: Vec<Vec<u8>> = Vec::with_capacity(group.len());
    let mut slots: Vec<usize> = Vec::with_capacity(group.len());
    for r in group {
        let (len, item) = match r.raw {
            Err(size) => (
                u32::try_from(size).unwrap_or(u32::MAX),
                Checked::Undecodable(format!("an item of {size} bytes, larger than any envelope")),
            ),
            Ok(bytes) => {
                slots.push(placed.len());
                let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                framed.push(bytes);
                // Replaced below by the verdict on the envelope.
                (len, Checked::Undecodable(String::new()))
            }
        };
        placed.push(Placed {
            index: r.index,
            offset: r.offset,
            len,
            item,
        });
    }
    for (slot, verdict) in slots
        .into_iter()
        .zip(check_owned_envelopes(framed, Until::End))
    {
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
}
