//! The checks behind the `entry` fuzz target (`fuzz/`), also replayed over the seed
//! corpus by the workspace's tests. Not part of the protocol's API.
//!
//! [`entry`] reads arbitrary bytes two ways:
//!
//! 1. as an **envelope** from the network or a file: anything that decodes must spell
//!    its parts again byte for byte (strict canonical encoding), and the single and batch
//!    signature paths must agree;
//! 2. as **entry bytes**, signed here when the entry names an author whose key this
//!    harness holds (the members and requesters of a small synthetic cooperative), so
//!    that mutated entries reach signature verification's accepting path, validation
//!    against that cooperative and the fold, which bytes with a random signature never do.
//!
//! Every check panics on a broken invariant: that is how the fuzzer reports it.

use crate::entry::{
    check_envelope, check_envelopes, signed_message, verify_batch, Checked, Until, Unverified,
    Verified,
};
use crate::fold::Coop;
use crate::synth::{self, Params};
use crate::validate::Context;
use crate::{Id, PublicKey, Timestamp};
use ed25519_dalek::{Signer, SigningKey};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The cooperative fuzzed entries are judged against.
#[derive(Debug)]
pub struct World {
    /// Its id.
    pub coop: Id,
    /// Its state after the synthetic entries.
    pub state: Coop,
    /// The clock after the last of them.
    pub now: Timestamp,
    /// The keys of its members and requesters.
    pub keys: BTreeMap<PublicKey, SigningKey>,
    /// Its founding members.
    pub members: Vec<PublicKey>,
    /// Its founding requesters.
    pub requesters: Vec<PublicKey>,
    /// Its entries, in a valid order.
    pub entries: Vec<Verified>,
}

/// Synthetic entries in the world: enough for offers in every state, few enough that
/// cloning the state per input stays cheap.
const WORLD_ENTRIES: usize = 80;

/// The cooperative the harness signs for, built once (deterministically).
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let s = synth::generate(&Params {
            seed: 7,
            members: 4,
            requesters: 2,
            entries: WORLD_ENTRIES,
            ..Params::default()
        });
        let mut state = Coop::new();
        for v in &s.entries {
            // The generator writes valid cooperatives; its own tests check that.
            let _ = state.ingest(v.clone(), None);
        }
        let public = |ks: &[SigningKey]| -> Vec<PublicKey> {
            ks.iter()
                .map(|k| PublicKey(k.verifying_key().to_bytes()))
                .collect()
        };
        let keys = s
            .members
            .iter()
            .chain(&s.requesters)
            .map(|k| (PublicKey(k.verifying_key().to_bytes()), k.clone()))
            .collect();
        World {
            coop: s.coop,
            state,
            now: s.end,
            keys,
            members: public(&s.members),
            requesters: public(&s.requesters),
            entries: s.entries,
        }
    })
}

/// The `entry` fuzz target: `data` as an envelope, then as entry bytes.
pub fn entry(data: &[u8]) {
    envelope(data);
    entry_bytes(data);
}

/// Single and batch verification give the same verdict ([`check_envelope`],
/// [`check_envelopes`], [`verify_batch`]); returns it.
fn verdict(u: &Unverified) -> Option<Verified> {
    let bytes = u.envelope();
    let single = check_envelope(&bytes);
    let batch = check_envelopes([bytes.as_slice()], Until::End).pop();
    let plain = verify_batch(vec![u.clone()]).pop();
    // Beside entries signed by the same keys as the harness signs with, so that the batch
    // equation itself (one term per key) decides, not the single path a batch of one
    // takes: the verdict on each is still its own.
    let w = world();
    let honest: Vec<Vec<u8>> = w.entries[..2].iter().map(Verified::envelope).collect();
    let mut among = check_envelopes(
        [honest[0].as_slice(), bytes.as_slice(), honest[1].as_slice()],
        Until::End,
    );
    assert_eq!(among.len(), 3, "a verdict per envelope");
    for (v, h) in [&among[0], &among[2]].into_iter().zip(&w.entries) {
        assert_eq!(
            v,
            &Checked::Verified(h.clone()),
            "an honest entry stays verified"
        );
    }
    let among = among.swap_remove(1);
    match (&single, &among) {
        (Checked::Verified(a), Checked::Verified(b)) => assert_eq!(a, b),
        (Checked::BadSignature(a), Checked::BadSignature(b)) => assert_eq!(a, b),
        (Checked::Undecodable(a), Checked::Undecodable(b)) => assert_eq!(a, b),
        (a, b) => panic!("single verdict {a:?} but {b:?} in a batch of three"),
    }
    match (single, batch, plain) {
        (Checked::Verified(a), Some(Checked::Verified(b)), Some(Ok(c))) => {
            assert_eq!(a, b, "both paths verify the same entry");
            assert_eq!(a, c, "both paths verify the same entry");
            Some(a)
        }
        (Checked::BadSignature(a), Some(Checked::BadSignature(b)), Some(Err(c))) => {
            assert_eq!(a, b, "both paths name the same entry");
            assert_eq!(a.bad_signature(), c, "both paths name the same entry");
            None
        }
        (a, b, c) => panic!("single verdict {a:?} but batch verdicts {b:?} and {c:?}"),
    }
}

/// `data` as an envelope.
fn envelope(data: &[u8]) {
    assert_eq!(
        Unverified::decode(data),
        Unverified::decode_reference(data),
        "the one-pass decoding and the reference agree on an envelope"
    );
    let u = match Unverified::decode(data) {
        Ok(u) => u,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(
        u.envelope(),
        data,
        "an envelope that decodes re-encodes to its bytes"
    );
    let bytes = u.entry().encode();
    assert_eq!(
        u.id(),
        Id::of(&bytes),
        "the id is blake3 of the entry bytes"
    );
    if let Some(v) = verdict(&u) {
        assert_eq!(v.envelope(), data);
        assert_eq!(v.bytes(), &bytes[..]);
        let again = Verified::from_trusted_store(data).expect("a verified envelope decodes");
        assert_eq!(again, v);
    }
}

/// `data` as entry bytes, signed by their author's key when the world holds it.
fn entry_bytes(data: &[u8]) {
    assert_eq!(
        Unverified::from_parts(data.to_vec(), [0; 64]),
        Unverified::from_parts_reference(data.to_vec(), [0; 64]),
        "the one-pass decoding and the reference agree on entry bytes"
    );
    let unsigned = match Unverified::from_parts(data.to_vec(), [0; 64]) {
        Ok(u) => u,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(
        unsigned.entry().encode(),
        data,
        "entry bytes that decode re-encode to themselves"
    );
    let w = world();
    let author = unsigned.entry().author;
    let Some(key) = w.keys.get(&author) else {
        // Nobody can sign for it here: a zero signature never verifies.
        assert!(verdict(&unsigned).is_none(), "a zero signature verified");
        return;
    };
    let sig = key.sign(&signed_message(data)).to_bytes();
    let u = Unverified::from_parts(data.to_vec(), sig).expect("the same bytes decode again");
    let envelope = u.envelope();
    assert_eq!(
        Unverified::decode(&envelope).as_ref(),
        Ok(&u),
        "an envelope of canonical entry bytes decodes"
    );
    let v = verdict(&u).expect("the author's own signature verifies");
    judge(w, v);
}

/// `body` written as the next entry of `author`'s chain in the world (its key is held
/// for every founding member and requester), timed at the world's clock.
pub fn write_as(author: &PublicKey, body: crate::Body) -> Option<Verified> {
    let w = world();
    let key = w.keys.get(author)?.clone();
    let head = w.state.heads().get(author).copied();
    let gov = head.and_then(|h| h.gov);
    Some(crate::writer::Writer::new(key, Some(w.coop), head).next(body, w.now, gov))
}

/// Validates and folds a verified entry into a copy of the world's state, then reads the
/// state back the ways the node and the audit do.
pub fn judge(w: &World, v: Verified) {
    let mut state = w.state.clone();
    let before = state.len();
    let at = v.entry().ts.max(w.now);
    match state.ingest(v.clone(), Some(w.now)) {
        Ok(crate::Outcome::Fresh) => assert_eq!(state.len(), before + 1),
        Ok(crate::Outcome::Duplicate) => assert_eq!(state.entry(&v.id()).as_ref(), Some(&v)),
        Ok(_) => assert_eq!(state.len(), before),
        Err(invalid) => {
            let _ = invalid.to_string();
            assert_eq!(state.len(), before);
        }
    }
    let _ = state.offers(at);
    let _ = state.submissions(at);
    for b in state.balances(at).values() {
        let _ = b.owed();
    }
    let _ = state.record(&v.entry().author, at);
    let _ = state.timeline();
}
