//! The export file: a CBOR sequence (RFC 8742) of a header and envelopes.
//!
//! ```text
//! header    = {"format": "taawun-ledger", "version": 1, "coop": bstr .size 32}
//! envelope  = [entry: bstr, signature: bstr .size 64]    ; exactly as signed and stored
//! file      = header, envelope*
//! ```
//!
//! The envelopes are every stored entry in the ledger's insertion order, which is causal
//! (each entry after its chain predecessor and everything it names), so an importer never
//! has to buffer. After them come the second envelopes of every equivocation the node
//! saw (the first is in the log): an importer judges each as a fork and freezes its author
//! as the exporting node did. Items are concatenated with nothing between them; a reader
//! needs no length prefix because every CBOR item delimits itself.
//!
//! Reading ([`Items`]) frames one CBOR item at a time without decoding it, so each
//! envelope's bytes reach [`taawun_core::entry::Unverified::decode`] exactly as written.
//! An item that is well-formed CBOR but not an envelope is reported and skipped; bytes
//! that are not well-formed CBOR, or end in the middle of an item, break the stream and
//! stop the reading with a [`FormatError`].

use serde::Serialize;
use std::io::{self, BufRead, Read};
use taawun_core::entry::MAX_ENVELOPE_BYTES;
use taawun_core::Id;

/// The header's `format` value.
pub const MAGIC: &str = "taawun-ledger";

/// The export format version this code writes and reads.
pub const VERSION: u64 = 1;

/// Largest header read: it is three short fields; anything much bigger is not one.
const MAX_HEADER_BYTES: usize = 1024;

/// Bytes reserved for an item before it is read: most envelopes fit.
const ITEM_CAPACITY: usize = 512;

/// Deepest nesting of arrays, maps and tags framed. Envelopes nest one level; the bound
/// only stops a crafted stream from growing the framer's stack.
const MAX_DEPTH: usize = 64;

/// Why a stream is not a readable export.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Reading failed.
    #[error("read error: {0}")]
    Io(#[from] io::Error),
    /// The stream is empty.
    #[error("the file is empty")]
    Empty,
    /// The stream ends in the middle of an item.
    #[error("the file is truncated: it ends inside the item starting at byte {offset}")]
    Truncated {
        /// Byte offset of the incomplete item.
        offset: u64,
    },
    /// Bytes that are not well-formed CBOR: the items after them cannot be found.
    #[error("not well-formed CBOR at byte {offset}: {why}")]
    Malformed {
        /// Byte offset of the bad byte.
        offset: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// The first item is not a taawun ledger header.
    #[error("not a taawun ledger export: {0}")]
    NotAnExport(String),
    /// A header of a version this build does not read.
    #[error("export format version {found} is not supported (this build reads version {VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// The file is the export of another cooperative than the one importing it.
    #[error("the file holds cooperative {found}, not {expected}")]
    WrongCoop {
        /// The cooperative importing.
        expected: Id,
        /// The cooperative in the header.
        found: Id,
    },
    /// The first entry of a new cooperative's file is not its charter.
    #[error("the first entry of the file is not the charter of cooperative {0}")]
    NoCharter(Id),
}

/// The header item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The cooperative exported.
    pub coop: Id,
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    format: &'a str,
    version: u64,
    coop: Id,
}

/// Encodes the header item.
pub fn header_bytes(coop: &Id) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    let h = HeaderOut {
        format: MAGIC,
        version: VERSION,
        coop: *coop,
    };
    // Writing to a Vec cannot fail, and every field serialises.
    if ciborium::into_writer(&h, &mut out).is_err() {
        out.clear();
    }
    out
}

impl Header {
    /// Parses a header item. Unknown extra keys are ignored (later versions may add some).
    pub fn parse(raw: &[u8]) -> Result<Self, FormatError> {
        use ciborium::Value;
        let not = |s: &str| FormatError::NotAnExport(s.to_owned());
        let v: Value = ciborium::from_reader(raw)
            .map_err(|e| FormatError::NotAnExport(format!("the header does not decode: {e}")))?;
        let Value::Map(fields) = v else {
            return Err(not("the first item is not a map"));
        };
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| matches!(k, Value::Text(t) if t == name))
                .map(|(_, v)| v)
        };
        match field("format") {
            Some(Value::Text(t)) if t == MAGIC => {}
            Some(Value::Text(t)) => {
                return Err(FormatError::NotAnExport(format!(
                    "format is {:?}, not {MAGIC:?}",
                    t.chars().take(40).collect::<String>()
                )))
            }
            _ => return Err(not("the header has no \"format\" text")),
        }
        let version = match field("version") {
            Some(Value::Integer(i)) => u64::try_from(*i).unwrap_or(u64::MAX),
            _ => return Err(not("the header has no \"version\" number")),
        };
        if version != VERSION {
            return Err(FormatError::UnsupportedVersion { found: version });
        }
        let coop = match field("coop") {
            Some(Value::Bytes(b)) => <[u8; 32]>::try_from(b.as_slice())
                .map(Id)
                .map_err(|_| not("\"coop\" is not 32 bytes"))?,
            _ => return Err(not("the header has no \"coop\" bytes")),
        };
        Ok(Header { coop })
    }
}

/// One framed item of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Position of the item: 0 is the header.
    pub index: u64,
    /// Byte offset of its first byte.
    pub offset: u64,
    /// Its bytes, or, when larger than [`MAX_ENVELOPE_BYTES`] (and so not an envelope),
    /// its size: it was skipped without being kept.
    pub raw: Result<Vec<u8>, u64>,
}

enum Frame {
    /// A definite-length container (or a tag): items still to read.
    Items(u64),
    /// An indefinite-length array or map, until a break.
    Until,
    /// An indefinite-length string of this major type: definite chunks until a break.
    Chunks(u8),
}

/// Frames the items of a CBOR sequence, one at a time.
#[derive(Debug)]
pub struct Items<R> {
    r: R,
    offset: u64,
    index: u64,
}

impl<R: BufRead> Items<R> {
    /// Reads items from `r` (buffered: each item is framed byte by byte).
    pub fn new(r: R) -> Self {
        Self {
            r,
            offset: 0,
            index: 0,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the header (the first item).
    pub fn header(&mut self) -> Result<Header, FormatError> {
        let item = match self.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => return Err(FormatError::Empty),
            Err(FormatError::Malformed { .. }) => {
                return Err(FormatError::NotAnExport(
                    "the file does not start with a CBOR item".into(),
                ))
            }
            Err(e) => return Err(e),
        };
        match item.raw {
            Ok(raw) if raw.len() <= MAX_HEADER_BYTES => Header::parse(&raw),
            _ => Err(FormatError::NotAnExport(
                "the first item is too large to be a header".into(),
            )),
        }
    }

    /// The next item, or `None` at the end of the stream.
    pub fn next_item(&mut self) -> Result<Option<Item>, FormatError> {
        if self.r.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let start = self.offset;
        // Room for a typical envelope (a few hundred bytes), so that reading one byte at
        // a time does not grow the buffer again and again.
        let mut out = Some(Vec::with_capacity(ITEM_CAPACITY));
        let mut size: u64 = 0;
        let mut stack = vec![Frame::Items(1)];
        while let Some(top) = stack.last_mut() {
            if let Frame::Items(0) = top {
                stack.pop();
                continue;
            }
            let b = self.byte(start, &mut out, &mut size)?;
            let (major, ai) = (b >> 5, b & 0x1f);
            match top {
                Frame::Chunks(m) => {
                    if b == 0xff {
                        stack.pop();
                        continue;
                    }
                    if major != *m || ai == 31 {
                        return Err(self.malformed("bad chunk in an indefinite-length string"));
                    }
                    let len = self.arg(ai, start, &mut out, &mut size)?;
                    self.content(len, start, &mut out, &mut size)?;
                    continue;
                }
                Frame::Until if b == 0xff => {
                    stack.pop();
                    continue;
                }
                Frame::Until => {}
                Frame::Items(n) => {
                    if b == 0xff {
                        return Err(self.malformed("break outside an indefinite-length item"));
                    }
                    *n -= 1;
                    // A finished container gives its place to its last child, so chains
                    // of single-element containers do not deepen the stack.
                    if *n == 0 {
                        stack.pop();
                    }
                }
            }
            match major {
                0 | 1 => {
                    self.arg(ai, start, &mut out, &mut size)?;
                }
                2 | 3 => {
                    if ai == 31 {
                        stack.push(Frame::Chunks(major));
                    } else {
                        let len = self.arg(ai, start, &mut out, &mut size)?;
                        self.content(len, start, &mut out, &mut size)?;
                    }
                }
                4 | 5 => {
                    if ai == 31 {
                        stack.push(Frame::Until);
                    } else {
                        let n = self.arg(ai, start, &mut out, &mut size)?;
                        let n = if major == 5 {
                            n.checked_mul(2)
                                .ok_or_else(|| self.malformed("map length overflows"))?
                        } else {
                            n
                        };
                        stack.push(Frame::Items(n));
                    }
                }
                6 => {
                    self.arg(ai, start, &mut out, &mut size)?;
                    stack.push(Frame::Items(1));
                }
                _ => match ai {
                    0..=27 => {
                        self.arg(ai, start, &mut out, &mut size)?;
                    }
                    _ => return Err(self.malformed("reserved or misplaced simple value")),
                },
            }
            if stack.len() > MAX_DEPTH {
                return Err(self.malformed("nested too deeply"));
            }
        }
        let index = self.index;
        self.index += 1;
        Ok(Some(Item {
            index,
            offset: start,
            raw: out.ok_or(size),
        }))
    }

    fn malformed(&self, why: &'static str) -> FormatError {
        FormatError::Malformed {
            offset: self.offset.saturating_sub(1),
            why,
        }
    }

    /// Counts `n` more bytes of the item; past the envelope bound, stops keeping them.
    fn grow(out: &mut Option<Vec<u8>>, size: &mut u64, n: u64) {
        *size = size.saturating_add(n);
        if *size > MAX_ENVELOPE_BYTES as u64 {
            *out = None;
        }
    }

    fn byte(
        &mut self,
        start: u64,
        out: &mut Option<Vec<u8>>,
        size: &mut u64,
    ) -> Result<u8, FormatError> {
        let buf = self.r.fill_buf()?;
        let Some(&b) = buf.first() else {
            return Err(FormatError::Truncated { offset: start });
        };
        self.r.consume(1);
        self.offset += 1;
        Self::grow(out, size, 1);
        if let Some(o) = out {
            o.push(b);
        }
        Ok(b)
    }

    /// Reads the argument of a head whose additional information is `ai`.
    fn arg(
        &mut self,
        ai: u8,
        start: u64,
        out: &mut Option<Vec<u8>>,
        size: &mut u64,
    ) -> Result<u64, FormatError> {
        let n = match ai {
            0..=23 => return Ok(u64::from(ai)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(self.malformed("reserved additional information")),
        };
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 8) | u64::from(self.byte(start, out, size)?);
        }
        Ok(v)
    }

    /// Reads (or, past the bound, skips) `len` bytes of string content.
    fn content(
        &mut self,
        len: u64,
        start: u64,
        out: &mut Option<Vec<u8>>,
        size: &mut u64,
    ) -> Result<(), FormatError> {
        Self::grow(out, size, len);
        match out {
            Some(o) => {
                // Within the envelope bound, so `len` is small.
                let at = o.len();
                o.resize(at + len as usize, 0);
                self.r
                    .read_exact(&mut o[at..])
                    .map_err(|e| match e.kind() {
                        io::ErrorKind::UnexpectedEof => FormatError::Truncated { offset: start },
                        _ => FormatError::Io(e),
                    })?;
            }
            None => {
                let copied = io::copy(&mut Read::by_ref(&mut self.r).take(len), &mut io::sink())?;
                if copied < len {
                    return Err(FormatError::Truncated { offset: start });
                }
            }
        }
        self.offset += len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame_all(bytes: &[u8]) -> Result<Vec<Item>, FormatError> {
        let mut it = Items::new(bytes);
        let mut out = Vec::new();
        while let Some(i) = it.next_item()? {
            out.push(i);
        }
        Ok(out)
    }

    fn cbor<T: Serialize>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).expect("encodes");
        out
    }

    #[test]
    fn frames_items_of_every_shape() {
        let mut s = Vec::new();
        let parts: Vec<Vec<u8>> = vec![
            cbor(&1u64),
            cbor(&-70000i64),
            cbor(&"text"),
            cbor(&serde_bytes::Bytes::new(&[1, 2, 3])),
            cbor(&(
                serde_bytes::Bytes::new(&[7; 300]),
                serde_bytes::Bytes::new(&[9; 64]),
            )),
            cbor(&std::collections::BTreeMap::from([
                ("a", vec![1u8, 2]),
                ("b", vec![]),
            ])),
            cbor(&1.5f64),
            vec![0xc1, 0x1a, 0, 0, 0, 1],             // tag 1, uint
            vec![0x9f, 0x01, 0x82, 0x02, 0x03, 0xff], // [_ 1, [2, 3]]
            vec![0x5f, 0x41, 0xaa, 0x42, 0xbb, 0xcc, 0xff], // (_ h'aa', h'bbcc')
            vec![0xbf, 0x61, 0x61, 0x01, 0xff],       // {_ "a": 1}
            vec![0xf6],                               // null
            vec![0x80],                               // []
        ];
        for p in &parts {
            s.extend_from_slice(p);
        }
        let items = frame_all(&s).expect("frames");
        assert_eq!(items.len(), parts.len());
        let mut off = 0;
        for (i, (item, p)) in items.iter().zip(&parts).enumerate() {
            assert_eq!(item.index, i as u64);
            assert_eq!(item.offset, off);
            assert_eq!(item.raw.as_ref().ok(), Some(p));
            off += p.len() as u64;
        }
    }

    #[test]
    fn truncation_and_malformation_are_errors() {
        let env = cbor(&(
            serde_bytes::Bytes::new(&[7; 30]),
            serde_bytes::Bytes::new(&[9; 64]),
        ));
        for cut in 1..env.len() {
            let mut s = cbor(&1u8);
            s.extend_from_slice(&env[..cut]);
            assert!(
                matches!(frame_all(&s), Err(FormatError::Truncated { offset: 1 })),
                "cut at {cut}"
            );
        }
        assert!(matches!(
            frame_all(&[0x1c]),
            Err(FormatError::Malformed { .. })
        ));
        assert!(matches!(
            frame_all(&[0xff]),
            Err(FormatError::Malformed { .. })
        ));
        assert!(matches!(
            frame_all(&[0x5f, 0x01]),
            Err(FormatError::Malformed { .. })
        ));
        assert!(matches!(
            frame_all(&[0x81; 10]),
            Err(FormatError::Truncated { .. })
        ));
        assert!(matches!(
            frame_all(&[0x82; 100]),
            Err(FormatError::Malformed { .. })
        ));
    }

    #[test]
    fn oversize_items_are_skipped_and_the_stream_goes_on() {
        let big = cbor(&serde_bytes::Bytes::new(&vec![0u8; MAX_ENVELOPE_BYTES + 1]));
        let mut s = big.clone();
        s.extend_from_slice(&cbor(&5u8));
        let items = frame_all(&s).expect("frames");
        assert_eq!(items[0].raw, Err(big.len() as u64));
        assert_eq!(items[1].raw, Ok(vec![5]));
    }

    #[test]
    fn headers_parse_and_refuse() {
        let id = Id([4; 32]);
        assert_eq!(
            Header::parse(&header_bytes(&id)).ok(),
            Some(Header { coop: id })
        );
        let wrong = |format: &str, version: u64| {
            Header::parse(&cbor(&HeaderOut {
                format,
                version,
                coop: id,
            }))
        };
        assert!(matches!(
            wrong("other", 1),
            Err(FormatError::NotAnExport(_))
        ));
        assert!(matches!(
            wrong(MAGIC, 2),
            Err(FormatError::UnsupportedVersion { found: 2 })
        ));
        assert!(matches!(
            Header::parse(&cbor(&7u8)),
            Err(FormatError::NotAnExport(_))
        ));
        let mut it = Items::new(&[][..]);
        assert!(matches!(it.header(), Err(FormatError::Empty)));
        let mut it = Items::new(&b"\xffgarbage"[..]);
        assert!(matches!(it.header(), Err(FormatError::NotAnExport(_))));
    }

    proptest! {
        #[test]
        fn framing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = frame_all(&bytes);
            let _ = Items::new(&bytes[..]).header();
        }
    }
}
