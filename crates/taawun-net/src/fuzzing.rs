//! The checks behind the `sync` and `result` fuzz targets (`fuzz/`), also replayed over
//! the seed corpus by the workspace's tests. Not part of the network's API.
//!
//! Each target reads arbitrary bytes as a request and as a response of its protocol
//! through the codec the node runs ([`sync::codec`], [`result::codec`]: libp2p's CBOR
//! codec with our size limits), as a peer's stream would deliver them. Whatever decodes
//! must encode and decode back to the same value, and then goes through the pure
//! functions the node applies to it. Every check panics on a broken invariant: that is
//! how the fuzzer reports it.

use crate::{result, sync};
use futures::executor::block_on;
use futures::io::Cursor;
use libp2p::request_response::Codec;
use libp2p::StreamProtocol;
use std::fmt::Debug;
use taawun_core::body::{Body, Claim, Submit};
use taawun_core::writer::Writer;
use taawun_core::{Hash, Id, Verified};

/// `data` as a request and as a response of `protocol`, through `codec`; each that
/// decodes is checked to survive an encode-decode round trip.
fn read<C>(
    mut codec: C,
    protocol: &'static str,
    data: &[u8],
) -> (Option<C::Request>, Option<C::Response>)
where
    C: Codec<Protocol = StreamProtocol>,
    C::Request: Clone + PartialEq + Debug,
    C::Response: Clone + PartialEq + Debug,
{
    let p = StreamProtocol::new(protocol);
    let request = block_on(codec.read_request(&p, &mut Cursor::new(data))).ok();
    if let Some(r) = &request {
        let mut out = Vec::new();
        block_on(codec.write_request(&p, &mut out, r.clone())).expect("a request encodes");
        let back = block_on(codec.read_request(&p, &mut Cursor::new(&out)))
            .expect("an encoded request decodes");
        assert_eq!(&back, r, "a request survives a round trip");
    }
    let response = block_on(codec.read_response(&p, &mut Cursor::new(data))).ok();
    if let Some(r) = &response {
        let mut out = Vec::new();
        block_on(codec.write_response(&p, &mut out, r.clone())).expect("a response encodes");
        let back = block_on(codec.read_response(&p, &mut Cursor::new(&out)))
            .expect("an encoded response decodes");
        assert_eq!(&back, r, "a response survives a round trip");
    }
    (request, response)
}

/// The `sync` fuzz target.
pub fn sync(data: &[u8]) {
    let (_, response) = read(sync::codec(), sync::PROTOCOL, data);
    match response {
        Some(sync::Response::Heads(Some(remote))) => {
            heads(&remote.heads);
            branches(&remote.branches);
        }
        Some(
            sync::Response::Range { entries, .. }
            | sync::Response::Log { entries, .. }
            | sync::Response::Branches { entries, .. },
        ) => batch(&entries),
        _ => {}
    }
}

/// What a requester computes from a peer's heads, against local heads made of the first
/// half of them.
fn heads(remote: &[sync::WireHead]) {
    let local = &remote[..remote.len() / 2];
    let plan = sync::plan(local, remote);
    assert!(
        plan.windows(2).all(|w| w[0].0 < w[1].0),
        "one range per author, in author order"
    );
    for (author, from) in &plan {
        assert!(*from >= 1, "chains start at seq 1");
        assert!(
            remote.iter().any(|h| h.author == *author && h.seq >= *from),
            "a planned range is one the peer has"
        );
    }
    let _ = sync::missing(local, remote);
    assert_eq!(
        sync::missing(remote, remote),
        0,
        "nothing is missing from itself"
    );
    // A node's own heads name each author once; for such a list the digest ignores order.
    let mut unique = remote.to_vec();
    unique.sort_by_key(|h| h.author);
    unique.dedup_by_key(|h| h.author);
    let reversed: Vec<sync::WireHead> = unique.iter().rev().copied().collect();
    let summary = |heads| sync::Summary {
        heads,
        branches: Vec::new(),
    };
    assert_eq!(
        sync::digest(&summary(unique)),
        sync::digest(&summary(reversed))
    );
}

/// What a requester plans from a peer's summaries of forks' branches, against local ones
/// made of the first half of them.
fn branches(remote: &[sync::WireBranches]) {
    let local = &remote[..remote.len() / 2];
    let plan = sync::plan_branches(local, remote);
    assert!(
        plan.windows(2).all(|w| w[0] < w[1]),
        "one fetch per author, in author order"
    );
    for author in &plan {
        assert!(
            remote.iter().any(|b| b.author == *author && b.count > 0),
            "a planned fetch is of a list the peer has"
        );
    }
    // A node's own summary names each author once.
    let mut unique = remote.to_vec();
    unique.sort_by_key(|b| b.author);
    unique.dedup_by_key(|b| b.author);
    assert!(
        sync::plan_branches(&unique, &unique).is_empty(),
        "nothing differs from itself"
    );
}

/// What a requester does with a range or log response's envelopes before the ledger.
fn batch(entries: &[serde_bytes::ByteBuf]) {
    let b = sync::check_batch(entries);
    assert!(b.verified.len() <= entries.len());
    assert_eq!(
        b.error.is_none(),
        b.verified.len() == entries.len(),
        "a batch stops short exactly when it names why"
    );
    assert_eq!(
        b.next.is_some(),
        !entries.is_empty() && !matches!(b.error, Some(sync::BatchError::Decode { index: 0, .. }))
    );
    for (v, e) in b.verified.iter().zip(entries) {
        assert_eq!(&v.envelope(), &e[..], "entries are kept byte for byte");
    }
    if let Some(e) = &b.error {
        let _ = e.to_string();
    }
}

/// A `Submit` stating `size` and `result`, or a `Claim` when `submit` is false.
fn submission(submit: bool, size: u64, result: Hash) -> Verified {
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let body = if submit {
        Body::Submit(Submit {
            offer: Id([2; 32]),
            assign: Id([3; 32]),
            result,
            size,
            minutes: 5,
        })
    } else {
        Body::Claim(Claim { offer: Id([2; 32]) })
    };
    Writer::new(key, Some(Id([1; 32])), None).next(body, 1, None)
}

/// The `result` fuzz target.
pub fn result(data: &[u8]) {
    let (request, response) = read(result::codec(), result::PROTOCOL, data);
    if let Some(r) = request {
        let bytes = &r.bytes[..];
        let size = bytes.len() as u64;
        let hash = Hash::of(bytes);
        let large = size > result::MAX_RESULT_BYTES;
        let too_large = Err(result::Refusal::TooLarge {
            max: result::MAX_RESULT_BYTES,
        });
        let matching = result::check(&submission(true, size, hash), bytes);
        assert_eq!(matching, if large { too_large } else { Ok(()) });
        let longer = result::check(&submission(true, size + 1, hash), bytes);
        let wrong_size = Err(result::Refusal::WrongSize {
            expected: size + 1,
            got: size,
        });
        assert_eq!(longer, if large { too_large } else { wrong_size });
        let other = result::check(&submission(true, size, Hash::of(b"other")), bytes);
        if !large && hash != Hash::of(b"other") {
            assert_eq!(other, Err(result::Refusal::WrongHash));
        }
        assert_eq!(
            result::check(&submission(false, size, hash), bytes),
            Err(result::Refusal::NotASubmission)
        );
        // A reason's key is checked against a rejection: nothing else takes it.
        if let Some(d) = &r.reason {
            assert_eq!(
                result::check_reason(&submission(true, size, hash), &r.submission, &d.key),
                Err(result::Refusal::WrongKey)
            );
        }
    }
    if let Some(result::Response::Refused(r)) = response {
        let _ = (r.retry(), r.to_string());
    }
}
