//! Entries and their signed envelopes.
//!
//! An [`Entry`] is encoded once, by its author, to CBOR; those bytes are signed and hashed
//! and from then on kept and relayed exactly as they are: nothing is re-encoded to verify.
//! Decoding yields an [`Unverified`] entry; only [`Unverified::verify`] (or
//! [`verify_batch`]) yields a [`Verified`] one, which is what the ledger accepts.
//!
//! Wire form of an envelope: a CBOR array of two byte strings, `[entry, signature]`.
//! The signature is ed25519 over [`DOMAIN`] followed by the entry bytes.

use crate::body::Body;
use crate::id::{Id, PublicKey};
use crate::sig;
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The protocol version this code writes and understands.
pub const VERSION: u8 = 2;

/// Domain-separation tag prefixed to the entry bytes before signing, so a taawun signature
/// can never be replayed as a signature over anything else.
pub const DOMAIN: &[u8] = b"taawun/entry/v2";

/// Hard bound on an envelope's size, whatever the charter says: nothing larger is even
/// decoded. Evidence carries two envelopes, so this is a little over twice the largest
/// `max_entry_bytes` a charter may set ([`MAX_CHARTER_ENTRY_BYTES`]).
pub const MAX_ENVELOPE_BYTES: usize = 2 * MAX_CHARTER_ENTRY_BYTES as usize + 1024;

/// The largest `max_entry_bytes` a charter may set: 64 KiB, so gossip messages stay small
/// enough for weak mobile links.
pub const MAX_CHARTER_ENTRY_BYTES: u64 = 64 * 1024;

/// Milliseconds since the Unix epoch (UTC).
pub type Timestamp = u64;

/// One signed statement by one author in one cooperative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Protocol version, [`VERSION`].
    pub v: u8,
    /// The cooperative (id of its charter); null for the charter itself.
    pub coop: Option<Id>,
    /// The author's public key.
    pub author: PublicKey,
    /// Position in the author's chain in this cooperative: 1, 2, 3...
    pub seq: u64,
    /// Id of the author's previous entry; null at seq 1.
    pub prev: Option<Id>,
    /// When the author wrote it, ms since the Unix epoch.
    pub ts: Timestamp,
    /// The governance the author wrote under: the id of the latest enactment it knew
    /// (null: the charter alone). See docs/protocol.md, "Governance".
    pub gov: Option<Id>,
    /// What it says.
    pub body: Body,
}

impl Entry {
    /// Encodes to CBOR (only authors do this, once, before signing).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        // Writing to a Vec cannot fail, and every field serialises.
        if ciborium::into_writer(self, &mut out).is_err() {
            out.clear();
        }
        out
    }

    /// Signs this entry with `key` (which must be the author's).
    pub fn sign(&self, key: &SigningKey) -> Verified {
        let bytes = self.encode();
        let sig = key.sign(&signed_message(&bytes)).to_bytes();
        Verified(Arc::new(Inner {
            id: Id::of(&bytes),
            entry: self.clone(),
            bytes,
            sig,
        }))
    }
}

/// The message an author signs: the domain tag, then the entry bytes.
pub fn signed_message(entry_bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + entry_bytes.len());
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(entry_bytes);
    m
}

/// Why bytes are not an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Larger than [`MAX_ENVELOPE_BYTES`]; not even parsed.
    #[error("envelope of {size} bytes is over the limit of {max} bytes")]
    Oversize {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not a CBOR array of two byte strings.
    #[error("not a taawun envelope (a CBOR array [entry bytes, signature]): {0}")]
    Envelope(String),
    /// The signature is not 64 bytes.
    #[error("signature is {0} bytes, not 64")]
    SignatureLength(usize),
    /// The entry names a version this node does not know.
    #[error("entry version {found} is not supported (this node speaks version {VERSION})")]
    UnknownVersion {
        /// The version found.
        found: u64,
    },
    /// The entry bytes are not valid CBOR of the entry schema.
    #[error("entry is not valid CBOR of the taawun schema: {0}")]
    Cbor(String),
    /// The entry is valid CBOR of the schema but not in its one canonical encoding.
    #[error("entry or envelope is not in canonical CBOR (fields in schema order, shortest integers, definite lengths, no tags)")]
    NonCanonical,
    /// Bytes follow the entry or envelope.
    #[error("{0} bytes of trailing data after the CBOR item")]
    Trailing(usize),
}

/// A signature that does not verify under the author's key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad signature on entry {id} by {author}")]
pub struct BadSignature {
    /// The entry's id.
    pub id: Id,
    /// Its claimed author.
    pub author: PublicKey,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Inner {
    id: Id,
    entry: Entry,
    bytes: Vec<u8>,
    sig: [u8; 64],
}

/// A decoded entry whose signature has not been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unverified(Inner);

/// An entry whose signature has been checked. Only [`Unverified::verify`],
/// [`verify_batch`] and [`Entry::sign`] make one. Cheap to clone (shared), since stores and
/// validation hand the same entry around.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified(Arc<Inner>);

#[derive(Deserialize)]
struct VersionOnly {
    v: u64,
}

/// Decodes exactly one CBOR item from `bytes`, refusing trailing data.
fn decode_exact<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut rest = bytes;
    let v: T = ciborium::from_reader(&mut rest).map_err(|e| DecodeError::Cbor(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::Trailing(rest.len()));
    }
    Ok(v)
}

impl Unverified {
    /// Decodes an envelope as received from the network or a file.
    pub fn decode(envelope: &[u8]) -> Result<Self, DecodeError> {
        if envelope.len() > MAX_ENVELOPE_BYTES {
            return Err(DecodeError::Oversize {
                size: envelope.len(),
                max: MAX_ENVELOPE_BYTES,
            });
        }
        let (bytes, sig): (serde_bytes::ByteBuf, serde_bytes::ByteBuf) = decode_exact(envelope)
            .map_err(|e| match e {
                DecodeError::Cbor(m) => DecodeError::Envelope(m),
                other => other,
            })?;
        let sig: [u8; 64] = sig
            .as_slice()
            .try_into()
            .map_err(|_| DecodeError::SignatureLength(sig.len()))?;
        // The envelope is not signed, but one spelling of it keeps relaying and storage
        // byte-exact and makes any changed byte detectable.
        if self::envelope(&bytes, &sig) != envelope {
            return Err(DecodeError::NonCanonical);
        }
        Self::from_parts(bytes.into_vec(), sig)
    }

    /// Decodes entry bytes and a signature given separately.
    pub fn from_parts(bytes: Vec<u8>, sig: [u8; 64]) -> Result<Self, DecodeError> {
        let entry: Entry = match decode_exact(&bytes) {
            Ok(e) => e,
            Err(err) => {
                // Name an unknown version rather than the schema mismatch it causes.
                if let Ok(VersionOnly { v }) = ciborium::from_reader::<VersionOnly, _>(&bytes[..]) {
                    if v != u64::from(VERSION) {
                        return Err(DecodeError::UnknownVersion { found: v });
                    }
                }
                return Err(err);
            }
        };
        if entry.v != VERSION {
            return Err(DecodeError::UnknownVersion {
                found: u64::from(entry.v),
            });
        }
        // One entry, one encoding: refusing every other spelling of the same value (key
        // order, long integers, indefinite lengths, tags, repeated map keys) means every
        // implementation agrees on what is valid without listing CBOR's quirks. The bytes
        // kept are still the bytes received; this only refuses.
        if entry.encode() != bytes {
            return Err(DecodeError::NonCanonical);
        }
        Ok(Self(Inner {
            id: Id::of(&bytes),
            entry,
            bytes,
            sig,
        }))
    }

    /// Checks the signature.
    pub fn verify(self) -> Result<Verified, BadSignature> {
        if self.signature_holds() {
            Ok(Verified(Arc::new(self.0)))
        } else {
            Err(self.bad_signature())
        }
    }

    /// Whether the signature verifies, alone.
    fn signature_holds(&self) -> bool {
        let msg = signed_message(&self.0.bytes);
        sig::verify(sig::Item {
            key: self.0.entry.author.as_bytes(),
            msg: &msg,
            sig: &self.0.sig,
        })
    }

    /// The decoded entry (not yet trustworthy).
    pub fn entry(&self) -> &Entry {
        &self.0.entry
    }

    /// The entry's id.
    pub fn id(&self) -> Id {
        self.0.id
    }

    /// The envelope, encoded again from the entry bytes and signature: since decoding
    /// refuses every other spelling, the same bytes [`Unverified::decode`] read.
    pub fn envelope(&self) -> Vec<u8> {
        envelope(&self.0.bytes, &self.0.sig)
    }

    /// The error saying this entry's signature does not verify.
    pub fn bad_signature(&self) -> BadSignature {
        BadSignature {
            id: self.0.id,
            author: self.0.entry.author,
        }
    }
}

/// Checks many signatures at once (ed25519 batch verification); the verdicts are the same
/// as verifying each alone.
pub fn verify_batch(items: Vec<Unverified>) -> Vec<Result<Verified, BadSignature>> {
    verify_keeping(items)
        .into_iter()
        .map(|r| r.map_err(|u| u.bad_signature()))
        .collect()
}

/// [`verify_batch`], handing back the entries whose signature fails.
fn verify_keeping(items: Vec<Unverified>) -> Vec<Result<Verified, Box<Unverified>>> {
    let msgs: Vec<Vec<u8>> = items.iter().map(|u| signed_message(&u.0.bytes)).collect();
    let checks: Vec<sig::Item<'_>> = items
        .iter()
        .zip(&msgs)
        .map(|(u, m)| sig::Item {
            key: u.0.entry.author.as_bytes(),
            msg: m,
            sig: &u.0.sig,
        })
        .collect();
    let verdicts = sig::verify_batch(&checks);
    items
        .into_iter()
        .zip(verdicts)
        .map(|(u, ok)| {
            if ok {
                Ok(Verified(Arc::new(u.0)))
            } else {
                Err(Box::new(u))
            }
        })
        .collect()
}

/// What became of one envelope read from a peer or a file ([`check_envelopes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// An entry signed by its author.
    Verified(Verified),
    /// Not an envelope of an entry.
    Undecodable(DecodeError),
    /// An entry whose signature does not verify under the key it names, as it claims to
    /// be (not to be trusted beyond naming it).
    BadSignature(Box<Unverified>),
}

impl Checked {
    /// The entry, if it verified.
    pub fn verified(self) -> Option<Verified> {
        match self {
            Checked::Verified(v) => Some(v),
            _ => None,
        }
    }

    /// As a result: the entry, or why it is refused.
    pub fn result(self) -> Result<Verified, Refused> {
        match self {
            Checked::Verified(v) => Ok(v),
            Checked::Undecodable(e) => Err(Refused::Undecodable(e)),
            Checked::BadSignature(u) => Err(Refused::BadSignature(u.bad_signature())),
        }
    }
}

/// Why an envelope is refused before any rule is looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not an envelope of an entry.
    #[error(transparent)]
    Undecodable(DecodeError),
    /// The signature does not verify.
    #[error(transparent)]
    BadSignature(BadSignature),
}

/// Where [`check_envelopes`] stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Every envelope is checked.
    End,
    /// Nothing after the first envelope that does not decode is looked at (the answer
    /// ends with it): for a response taken only up to its first bad entry.
    FirstUndecodable,
}

/// Decodes envelopes and checks the signatures of those that decode as one batch
/// ([`verify_batch`]): one verdict per envelope, in order (up to the first that does not
/// decode, with [`Until::FirstUndecodable`]). The one way bytes from a peer or a file
/// become entries, whether one gossip message, a sync response or an export file.
pub fn check_envelopes<'a>(
    envelopes: impl IntoIterator<Item = &'a [u8]>,
    until: Until,
) -> Vec<Checked> {
    let mut out: Vec<Checked> = Vec::new();
    let mut decoded: Vec<Unverified> = Vec::new();
    let mut slots: Vec<usize> = Vec::new();
    for bytes in envelopes {
        match Unverified::decode(bytes) {
            Ok(u) => {
                slots.push(out.len());
                decoded.push(u);
                // Replaced below by the verdict on the signature.
                out.push(Checked::Undecodable(DecodeError::Trailing(0)));
            }
            Err(e) => {
                out.push(Checked::Undecodable(e));
                if until == Until::FirstUndecodable {
                    break;
                }
            }
        }
    }
    for (slot, r) in slots.into_iter().zip(verify_keeping(decoded)) {
        out[slot] = match r {
            Ok(v) => Checked::Verified(v),
            Err(u) => Checked::BadSignature(u),
        };
    }
    out
}

/// [`check_envelopes`] of one envelope (verified alone: the same verdict).
pub fn check_envelope(bytes: &[u8]) -> Checked {
    match Unverified::decode(bytes) {
        Err(e) => Checked::Undecodable(e),
        Ok(u) if u.signature_holds() => Checked::Verified(Verified(Arc::new(u.0))),
        Ok(u) => Checked::BadSignature(Box::new(u)),
    }
}

/// Whom an [`Evidence`](crate::body::Evidence) entry freezes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freeze {
    /// The author who signed two entries at one seq.
    pub author: PublicKey,
    /// That seq: the author is frozen from it on.
    pub seq: u64,
}

impl crate::body::Evidence {
    /// Whom this evidence freezes, and from where: the author and seq of its first
    /// envelope (validation checked that the second is the same author's at the same
    /// seq). `None` only when the first envelope does not decode, which no valid entry
    /// holds. Every store and the network ask this, never the envelopes themselves.
    pub fn freezes(&self) -> Option<Freeze> {
        let u = Unverified::decode(&self.a).ok()?;
        Some(Freeze {
            author: u.entry().author,
            seq: u.entry().seq,
        })
    }

    /// The id of the second entry, if its envelope decodes.
    pub fn second(&self) -> Option<Id> {
        Unverified::decode(&self.b).ok().map(|u| u.id())
    }
}

impl Verified {
    /// The entry.
    pub fn entry(&self) -> &Entry {
        &self.0.entry
    }

    /// The entry's id: blake3 of its bytes.
    pub fn id(&self) -> Id {
        self.0.id
    }

    /// The exact signed bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0.bytes
    }

    /// The signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.0.sig
    }

    /// The envelope to store or relay: `[entry bytes, signature]` in CBOR.
    pub fn envelope(&self) -> Vec<u8> {
        envelope(&self.0.bytes, &self.0.sig)
    }

    /// Rebuilds a verified entry from bytes this node verified earlier and stored itself
    /// (its own ledger), without checking the signature again. Never use on bytes from
    /// anywhere else.
    pub fn from_trusted_store(envelope: &[u8]) -> Result<Self, DecodeError> {
        Unverified::decode(envelope).map(|u| Verified(Arc::new(u.0)))
    }
}

/// Encodes an envelope: a CBOR array of two byte strings.
pub fn envelope(bytes: &[u8], sig: &[u8; 64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 80);
    let pair = (serde_bytes::Bytes::new(bytes), serde_bytes::Bytes::new(sig));
    if ciborium::into_writer(&pair, &mut out).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{Claim, Evidence};
    use proptest::prelude::*;

    /// A signed claim by the key of `seed` at `seq`.
    fn signed(seed: u8, seq: u64, offer: u8) -> Verified {
        let key = SigningKey::from_bytes(&[seed; 32]);
        Entry {
            v: VERSION,
            coop: Some(Id([1; 32])),
            author: PublicKey(key.verifying_key().to_bytes()),
            seq,
            prev: (seq > 1).then_some(Id([2; 32])),
            ts: 1_700_000_000_000,
            gov: None,
            body: Body::Claim(Claim {
                offer: Id([offer; 32]),
            }),
        }
        .sign(&key)
    }

    /// One item of a batch: a valid envelope, one with a wrong signature, or garbage.
    #[derive(Clone, Debug)]
    enum Item {
        Valid(u8, u64),
        BadSignature(u8, u64),
        Garbage(Vec<u8>),
    }

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![
            (1u8..4, 1u64..50).prop_map(|(k, s)| Item::Valid(k, s)),
            (1u8..4, 1u64..50).prop_map(|(k, s)| Item::BadSignature(k, s)),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Item::Garbage),
        ]
    }

    fn bytes(i: &Item) -> Vec<u8> {
        match i {
            Item::Valid(k, s) => signed(*k, *s, 7).envelope(),
            Item::BadSignature(k, s) => {
                let v = signed(*k, *s, 7);
                let mut sig = *v.signature();
                sig[0] ^= 1;
                envelope(v.bytes(), &sig)
            }
            Item::Garbage(g) => g.clone(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_mixed_batch_gives_exactly_the_valid_entries_in_order_and_counts_the_rest(
            items in prop::collection::vec(item(), 0..12)
        ) {
            let raw: Vec<Vec<u8>> = items.iter().map(bytes).collect();
            let checked = check_envelopes(raw.iter().map(Vec::as_slice), Until::End);
            prop_assert_eq!(checked.len(), items.len());
            let want: Vec<Id> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Valid(k, s) => Some(signed(*k, *s, 7).id()),
                    _ => None,
                })
                .collect();
            let bad = checked.iter().filter(|c| !matches!(c, Checked::Verified(_))).count();
            let good: Vec<Id> = checked.into_iter().filter_map(|c| c.verified()).map(|v| v.id()).collect();
            prop_assert_eq!(good, want.clone());
            prop_assert_eq!(bad, items.len() - want.len());
            // Each alone gives the same verdict as in the batch.
            for (i, r) in items.iter().zip(&raw) {
                let alone = check_envelope(r);
                prop_assert_eq!(matches!(alone, Checked::Verified(_)), matches!(i, Item::Valid(..)));
                prop_assert_eq!(matches!(alone, Checked::BadSignature(_)), matches!(i, Item::BadSignature(..)));
            }
        }

        #[test]
        fn checking_stops_at_the_first_undecodable_envelope_when_asked(
            items in prop::collection::vec(item(), 0..12)
        ) {
            let raw: Vec<Vec<u8>> = items.iter().map(bytes).collect();
            let all = check_envelopes(raw.iter().map(Vec::as_slice), Until::End);
            let upto = check_envelopes(raw.iter().map(Vec::as_slice), Until::FirstUndecodable);
            let cut = all
                .iter()
                .position(|c| matches!(c, Checked::Undecodable(_)))
                .map_or(all.len(), |i| i + 1);
            prop_assert_eq!(upto, all[..cut].to_vec());
        }
    }

    #[test]
    fn evidence_freezes_the_author_of_its_first_envelope_from_its_seq() {
        let (a, b) = (signed(3, 5, 7), signed(3, 5, 8));
        let ev = Evidence {
            a: a.envelope(),
            b: b.envelope(),
        };
        let want = Freeze {
            author: a.entry().author,
            seq: 5,
        };
        assert_eq!(ev.freezes(), Some(want));
        assert_eq!(ev.second(), Some(b.id()));
        // Either order names the same author and seq.
        let swapped = Evidence {
            a: b.envelope(),
            b: a.envelope(),
        };
        assert_eq!(swapped.freezes(), Some(want));
        let broken = Evidence {
            a: vec![1, 2, 3],
            b: b.envelope(),
        };
        assert_eq!(broken.freezes(), None);
    }
}
