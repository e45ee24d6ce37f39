//! The checks behind the `export` fuzz target (`fuzz/`), also replayed over the seed
//! corpus by the workspace's tests. Not part of the ledger's API.
//!
//! [`export`] reads arbitrary bytes as an export file twice: with the framer alone
//! ([`Items`]), whose items must be the file's bytes cut in order, and with
//! [`crate::verify()`], the offline audit, which runs the import's pipeline (framing,
//! decoding, batch verification, validation) into memory instead of sled. Either must
//! end in a typed error or a report, never a panic. Every check panics on a broken
//! invariant: that is how the fuzzer reports it.

use crate::export::Items;
use crate::verify;

/// The `export` fuzz target.
pub fn export(data: &[u8]) {
    let items = frame(data);
    match verify(data) {
        Ok(summary) => {
            let framed = items.expect("a file the audit reads whole frames whole");
            assert_eq!(
                summary.report.items + 1,
                framed,
                "every item after the header is counted"
            );
            let _ = (summary.to_string(), summary.to_json());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Frames `data` item by item, checking that the items are its bytes in order; returns
/// the number of items when the whole stream frames.
fn frame(data: &[u8]) -> Option<u64> {
    let mut items = Items::new(data);
    let mut at = 0usize;
    let mut n = 0u64;
    loop {
        match items.next_item() {
            Ok(Some(item)) => {
                assert_eq!(item.index, n, "items are numbered in order");
                assert_eq!(
                    item.offset, at as u64,
                    "an item starts where the last ended"
                );
                let len = match &item.raw {
                    Ok(raw) => {
                        assert_eq!(&data[at..at + raw.len()], &raw[..], "items are the bytes");
                        raw.len()
                    }
                    Err(size) => usize::try_from(*size).expect("no larger than the input"),
                };
                assert!(len > 0, "every item has a byte");
                at += len;
                assert_eq!(items.offset(), at as u64);
                n += 1;
            }
            Ok(None) => {
                assert_eq!(at, data.len(), "the stream ends after its last item");
                return Some(n);
            }
            Err(e) => {
                let _ = e.to_string();
                return None;
            }
        }
    }
}
