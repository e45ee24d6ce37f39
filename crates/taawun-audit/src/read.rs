//! Reading and verifying: the export file framed item by item, each job of
//! [`JOB_GROUPS`] groups of [`VERIFY_GROUP`] items decoded and signature-checked on the
//! rayon pool (one ed25519 batch per group), and handed in file order to the thread that
//! judges.
//!
//! Jobs flow one by one rather than in large batches with a join at the end of each:
//! a batch's last groups left one core idle while the other finished, and every batch
//! passed through one more thread. The verifiers always have the next job waiting while
//! at most [`IN_FLIGHT_JOBS`] are between framing and judging, so memory stays flat
//! whatever the size of the file.
//!
//! The judging thread frames too, topping the verifiers' queue up each time it takes a
//! job ([`Batches`]): framing costs little, and a thread of its own for it meant a
//! hand-over and a wake-up more per job, and each item's bytes allocated on one thread,
//! read on another and freed on a third.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::sync::mpsc::{sync_channel, Receiver};
use taawun_core::entry::MAX_ENVELOPE_BYTES;
use taawun_core::entry::{self, check_owned_envelopes, BadSignature, Until};
use taawun_core::{Unverified, Verified};
use taawun_ledger::export::{Header, Item, Items};
use taawun_ledger::FormatError;

/// Signatures verified together in one ed25519 batch. A batch of 256 cost 9 % less per
/// signature than one of 128 here (the multiscalar multiplication shares more work), and
/// with a cooperative's few authors it has a third fewer points again
/// (`taawun_core::sig::verify_batch` merges each key's terms); a million entries still
/// make some 4,000 batches to spread over the cores.
pub const VERIFY_GROUP: usize = 256;

/// Groups handed to a verifier at once, each still verified as a batch of its own: a job
/// of one group costs a wake-up of a verifier and of the judge, a channel and a hand-over
/// per group.
pub const JOB_GROUPS: usize = 2;

/// Jobs framed and not yet judged, at most (8,192 items: about 10 MB of envelopes and
/// entries, and some 60 ms of work for two cores): enough that the verifiers never wait
/// for a judge that is briefly busy or descheduled.
pub const IN_FLIGHT_JOBS: usize = 16;

/// Items in one job.
const JOB: usize = VERIFY_GROUP * JOB_GROUPS;

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

/// Frames the items of an export. An item that is an envelope as every writer spells it
/// (an array of two byte strings, the second of 64 bytes) and lies whole in the read
/// buffer is cut out of the buffer at once, into a vector of its exact size; anything
/// else, and an envelope that runs past the buffer, is framed by the ledger's [`Items`],
/// which decides, so the items and the errors (and their offsets) are those of [`Items`]
/// on every input (the tests below compare the two). [`Items`] reads byte by byte and
/// allocates a stack and a vector of a fixed size for each item: most of the time framing
/// took.
pub(crate) struct Framer<R> {
    r: R,
    /// Bytes consumed so far.
    offset: u64,
    /// Items framed so far.
    index: u64,
}

/// The size of the envelope at the start of `buf`, if it lies whole in `buf` and is no
/// larger than any envelope may be: `[0x82, byte string head, entry bytes, 0x58 0x40,
/// 64 bytes]`. The head of the entry bytes may be in any of its short forms: [`Items`]
/// frames them alike (whether they are canonical is decoding's question).
fn envelope_len(buf: &[u8]) -> Option<usize> {
    if *buf.first()? != 0x82 {
        return None;
    }
    let (len, at) = match *buf.get(1)? {
        b @ 0x40..=0x57 => (usize::from(b & 0x1f), 2),
        0x58 => (usize::from(*buf.get(2)?), 3),
        0x59 => (
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        _ => return None,
    };
    let sig = at + len;
    let end = sig + 2 + 64;
    (end <= MAX_ENVELOPE_BYTES && end <= buf.len() && buf[sig..sig + 2] == [0x58, 0x40])
        .then_some(end)
}

/// An error of an [`Items`] that started at `base`, told in offsets of the file.
fn shifted(e: FormatError, base: u64) -> FormatError {
    match e {
        FormatError::Truncated { offset } => FormatError::Truncated {
            offset: offset + base,
        },
        FormatError::Malformed { offset, why } => FormatError::Malformed {
            offset: offset + base,
            why,
        },
        other => other,
    }
}

impl<R: BufRead> Framer<R> {
    pub(crate) fn new(r: R) -> Self {
        Self {
            r,
            offset: 0,
            index: 0,
        }
    }

    /// Reads the header (the first item), as [`Items::header`].
    pub(crate) fn header(&mut self) -> Result<Header, FormatError> {
        let mut items = Items::new(&mut self.r);
        let header = items.header();
        self.offset = items.offset();
        self.index = 1;
        header
    }

    /// The next item, or `None` at the end, as [`Items::next_item`].
    pub(crate) fn next_item(&mut self) -> Result<Option<Item>, FormatError> {
        let buf = self.r.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let (index, offset) = (self.index, self.offset);
        if let Some(n) = envelope_len(buf) {
            let raw = buf[..n].to_vec();
            self.r.consume(n);
            self.index += 1;
            self.offset += n as u64;
            return Ok(Some(Item {
                index,
                offset,
                raw: Ok(raw),
            }));
        }
        let mut items = Items::new(&mut self.r);
        let out = items.next_item();
        self.offset += items.offset();
        match out {
            Ok(Some(it)) => {
                self.index += 1;
                Ok(Some(Item {
                    index,
                    offset,
                    raw: it.raw,
                }))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(shifted(e, offset)),
        }
    }
}

/// The checked jobs in file order (see [`start`]). Each call frames and queues jobs
/// until [`IN_FLIGHT_JOBS`] are on the verifiers, then waits for the oldest.
pub(crate) struct Batches {
    items: Framer<BufReader<File>>,
    /// The jobs on the verifiers, in file order: where each one's items will come.
    queue: VecDeque<Receiver<Vec<Placed>>>,
    /// Where the file broke, handed on after every job framed before it.
    broken: Option<FormatError>,
    /// Framing is over: the end of the file, or where it broke.
    framed: bool,
}

impl Batches {
    /// Frames jobs and queues them on the rayon pool until [`IN_FLIGHT_JOBS`] are queued
    /// or the file is framed to its end.
    fn top_up(&mut self) {
        while !self.framed && self.queue.len() < IN_FLIGHT_JOBS {
            let mut job = Vec::with_capacity(JOB);
            while job.len() < JOB {
                match self.items.next_item() {
                    Ok(Some(it)) => job.push(Raw {
                        index: it.index,
                        offset: it.offset,
                        raw: it.raw,
                    }),
                    Ok(None) => {
                        self.framed = true;
                        break;
                    }
                    Err(e) => {
                        self.broken = Some(e);
                        self.framed = true;
                        break;
                    }
                }
            }
            if !job.is_empty() {
                let (tx, rx) = sync_channel(1);
                rayon::spawn(move || {
                    let _ = tx.send(check(job));
                });
                self.queue.push_back(rx);
            }
        }
    }
}

impl Iterator for Batches {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        self.top_up();
        match self.queue.pop_front() {
            // Waits for this job's verifier; later jobs may be done already.
            Some(rx) => rx.recv().ok().map(Batch::Items),
            None => self.broken.take().map(Batch::Broken),
        }
    }
}

/// Reads the header of `file`; the checked jobs follow, in file order, as the caller
/// asks for them.
pub(crate) fn start(file: File) -> Result<(Header, Batches), FormatError> {
    let mut items = Framer::new(BufReader::with_capacity(READ_BUFFER, file));
    let header = items.header()?;
    Ok((
        header,
        Batches {
            items,
            queue: VecDeque::with_capacity(IN_FLIGHT_JOBS),
            broken: None,
            framed: false,
        },
    ))
}

/// Decodes and verifies one job, group by group, keeping file order. The framed
/// envelopes are handed over to decoding, which keeps each buffer as its entry's signed
/// message.
fn check(job: Vec<Raw>) -> Vec<Placed> {
    let mut placed: Vec<Placed> = Vec::with_capacity(job.len());
    let mut framed: Vec<Vec<u8>> = Vec::with_capacity(job.len());
    let mut slots: Vec<usize> = Vec::with_capacity(job.len());
    for r in job {
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
    // Each group of the job verified as one batch, as in the bound.
    let mut verdicts = Vec::with_capacity(framed.len());
    let mut framed = framed.into_iter();
    while framed.len() > 0 {
        verdicts.extend(check_owned_envelopes(
            framed.by_ref().take(VERIFY_GROUP),
            Until::End,
        ));
    }
    for (slot, verdict) in slots.into_iter().zip(verdicts) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use taawun_ledger::export::header_bytes;

    /// An export of a small synthetic cooperative.
    fn export() -> &'static [u8] {
        static FILE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        FILE.get_or_init(|| {
            let s = taawun_core::synth::generate(&taawun_core::synth::Params {
                seed: 11,
                entries: 60,
                ..taawun_core::synth::Params::default()
            });
            let mut out = header_bytes(&s.entries[0].id());
            for v in &s.entries {
                out.extend(v.envelope());
            }
            out
        })
    }

    /// Every item (or the error that ends them) as [`Items`] frames `bytes`, and as a
    /// [`Framer`] reading through a buffer of `cap` bytes frames them.
    fn both(bytes: &[u8], cap: usize) -> (Vec<String>, Vec<String>) {
        fn all(
            header: Result<Header, FormatError>,
            mut next: impl FnMut() -> Result<Option<Item>, FormatError>,
        ) -> Vec<String> {
            let mut out = vec![format!("{header:?}")];
            if header.is_err() {
                return out;
            }
            loop {
                match next() {
                    Ok(Some(it)) => out.push(format!("{it:?}")),
                    end => {
                        out.push(format!("{end:?}"));
                        return out;
                    }
                }
            }
        }
        let mut items = Items::new(bytes);
        let h = items.header();
        let want = all(h, || items.next_item());
        let mut framer = Framer::new(BufReader::with_capacity(cap, bytes));
        let h = framer.header();
        let got = all(h, || framer.next_item());
        (want, got)
    }

    #[test]
    fn an_export_is_framed_as_the_ledger_frames_it() {
        for cap in [1, 7, 100, 333, 4096, 1 << 20] {
            let (want, got) = both(export(), cap);
            assert!(want.len() > 60, "{}", want.len());
            assert_eq!(got, want, "buffer of {cap}");
        }
    }

    #[test]
    fn only_whole_envelopes_take_the_quick_way() {
        let e = &export()[header_bytes(&taawun_core::Id([0; 32])).len()..];
        let n = envelope_len(e).expect("an envelope");
        assert_eq!(
            Items::new(e)
                .next_item()
                .ok()
                .flatten()
                .and_then(|i| i.raw.ok())
                .map(|r| r.len()),
            Some(n)
        );
        assert_eq!(envelope_len(&e[..n - 1]), None);
        let mut other = e[..n].to_vec();
        other[n - 65] = 0x41;
        assert_eq!(envelope_len(&other), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn a_changed_export_is_framed_as_the_ledger_frames_it(
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
            cap in prop_oneof![Just(16usize), Just(500), Just(4096), 1usize..2000],
        ) {
            let mut bytes = export().to_vec();
            for (at, op, b) in edits {
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = b,
                    1 => bytes[i] ^= 1 << (b % 8),
                    2 => bytes.insert(i, b),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            if cut.index(8) == 0 {
                let keep = cut.index(bytes.len());
                bytes.truncate(keep);
            }
            let (want, got) = both(&bytes, cap);
            prop_assert_eq!(got, want);
        }

        #[test]
        fn arbitrary_bytes_after_a_header_are_framed_as_the_ledger_frames_them(
            tail in prop::collection::vec(prop_oneof![Just(0x82u8), Just(0x58), Just(0x59), Just(0x40), Just(0xff), Just(0x9f), any::<u8>()], 0..400),
            cap in 1usize..600,
        ) {
            let mut bytes = header_bytes(&taawun_core::Id([3; 32]));
            bytes.extend(tail);
            let (want, got) = both(&bytes, cap);
            prop_assert_eq!(got, want);
        }
    }
}
