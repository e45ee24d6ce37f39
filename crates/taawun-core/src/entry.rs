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
use crate::cbor;
use crate::id::{Id, PublicKey};
use crate::sig;
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
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
        let signed = signed_message(&self.encode());
        let sig = key.sign(&signed).to_bytes();
        Verified(Arc::new(Inner {
            id: Id::of(&signed[DOMAIN.len()..]),
            entry: self.clone(),
            signed,
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

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    id: Id,
    entry: Entry,
    /// The signed message: [`DOMAIN`], then the entry bytes. Kept whole so that a
    /// signature is checked over it in place, without copying the entry behind the tag.
    signed: Vec<u8>,
    sig: [u8; 64],
}

impl Inner {
    /// The entry bytes, as signed.
    fn bytes(&self) -> &[u8] {
        &self.signed[DOMAIN.len()..]
    }

    /// Decodes canonical entry bytes in one pass, checking canonical form as it reads:
    /// `None` when the bytes are not (or not surely) the canonical encoding of an entry of
    /// this version, for the reference path to judge.
    fn from_canonical(bytes: &[u8], sig: [u8; 64]) -> Option<Self> {
        let entry = canonical_entry(bytes)?;
        Some(Self {
            id: Id::of(bytes),
            entry,
            signed: signed_message(bytes),
            sig,
        })
    }
}

/// The signed message's tag fits in the room an envelope's heads and signature take
/// around its entry bytes, so [`Inner::from_canonical_envelope`] always moves the bytes
/// within the envelope's own buffer.
const _: () = assert!(DOMAIN.len() <= 64);

/// Where a canonical envelope's entry bytes lie in it, and its signature. `None` when the
/// envelope is too large or not (or not surely) canonical, for the reference path to judge.
fn canonical_envelope(envelope: &[u8]) -> Option<(std::ops::Range<usize>, [u8; 64])> {
    if envelope.len() > MAX_ENVELOPE_BYTES {
        return None;
    }
    let (bytes, sig) = cbor::envelope_parts(envelope)?;
    // `bytes` borrows from `envelope`: its place there.
    let at = bytes.as_ptr() as usize - envelope.as_ptr() as usize;
    Some((at..at + bytes.len(), *sig))
}

/// Canonical entry bytes of this version, decoded in one pass; `None` for the reference
/// path.
fn canonical_entry(bytes: &[u8]) -> Option<Entry> {
    cbor::from_canonical::<Entry>(bytes).filter(|e| e.v == VERSION)
}

impl Inner {
    /// [`Inner::from_canonical`] of an envelope the caller hands over: its buffer becomes
    /// the signed message (the entry bytes moved to just after [`DOMAIN`], which fits:
    /// the envelope's heads and signature take more room than the tag), so decoding an
    /// owned envelope allocates and copies no second buffer. `Err` gives the envelope back
    /// when it is not (or not surely) canonical, for the reference path to judge.
    fn from_canonical_envelope(mut envelope: Vec<u8>) -> Result<Self, Vec<u8>> {
        let Some((bytes, sig)) = canonical_envelope(&envelope) else {
            return Err(envelope);
        };
        let Some(entry) = canonical_entry(&envelope[bytes.clone()]) else {
            return Err(envelope);
        };
        let id = Id::of(&envelope[bytes.clone()]);
        let tag = DOMAIN.len();
        let len = bytes.len();
        envelope.copy_within(bytes, tag);
        envelope[..tag].copy_from_slice(DOMAIN);
        envelope.truncate(tag + len);
        Ok(Self {
            id,
            entry,
            signed: envelope,
            sig,
        })
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("id", &self.id)
            .field("entry", &self.entry)
            .field("bytes", &self.bytes())
            .field("sig", &self.sig)
            .finish()
    }
}

/// A decoded entry whose signature has not been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unverified(Inner);

/// An entry whose signature has been checked. Only [`Unverified::verify`],
/// [`verify_batch`] and [`Entry::sign`] make one (and, for envelopes verified before and
/// read back from a store, the process's one [`TrustedStore`]). Cheap to clone (shared), since stores and
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
    ///
    /// Canonical bytes are decoded in one pass that checks their form as it reads,
    /// borrowing the parts of the envelope ([`cbor`]); anything else goes to
    /// [`Unverified::decode_reference`], which decides (and names the error). The verdict
    /// is the reference path's on every input.
    pub fn decode(envelope: &[u8]) -> Result<Self, DecodeError> {
        match Self::decode_canonical(envelope) {
            Some(u) => Ok(u),
            None => Self::decode_reference(envelope),
        }
    }

    /// [`Unverified::decode`] of an envelope the caller no longer needs: the same verdict,
    /// and a canonical envelope's buffer is kept as the signed message instead of copied.
    pub fn decode_owned(envelope: Vec<u8>) -> Result<Self, DecodeError> {
        match Inner::from_canonical_envelope(envelope) {
            Ok(inner) => Ok(Self(inner)),
            Err(envelope) => Self::decode_reference(&envelope),
        }
    }

    /// The one-pass decoding of a canonical envelope; `None` for the reference path.
    fn decode_canonical(envelope: &[u8]) -> Option<Self> {
        let (bytes, sig) = canonical_envelope(envelope)?;
        Inner::from_canonical(&envelope[bytes], sig).map(Self)
    }

    /// Decodes an envelope the reference way: decode with serde, then encode the value
    /// again and compare, for the envelope and for the entry. Slower; [`Self::decode`]
    /// gives the same verdict on every input.
    pub fn decode_reference(envelope: &[u8]) -> Result<Self, DecodeError> {
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
        Self::from_parts_reference(bytes.into_vec(), sig)
    }

    /// Decodes entry bytes and a signature given separately.
    pub fn from_parts(bytes: Vec<u8>, sig: [u8; 64]) -> Result<Self, DecodeError> {
        match Inner::from_canonical(&bytes, sig) {
            Some(inner) => Ok(Self(inner)),
            None => Self::from_parts_reference(bytes, sig),
        }
    }

    /// [`Self::from_parts`] the reference way (see [`Self::decode_reference`]).
    pub fn from_parts_reference(bytes: Vec<u8>, sig: [u8; 64]) -> Result<Self, DecodeError> {
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
            signed: signed_message(&bytes),
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
        sig::verify(sig::Item {
            key: self.0.entry.author.as_bytes(),
            msg: &self.0.signed,
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
        envelope(self.0.bytes(), &self.0.sig)
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
    let checks: Vec<sig::Item<'_>> = items
        .iter()
        .map(|u| sig::Item {
            key: u.0.entry.author.as_bytes(),
            msg: &u.0.signed,
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
    check_decoding(envelopes, Unverified::decode, until)
}

/// [`check_envelopes`] of envelopes the caller hands over ([`Unverified::decode_owned`]):
/// the same verdicts, without copying each entry's bytes into a new buffer.
pub fn check_owned_envelopes(
    envelopes: impl IntoIterator<Item = Vec<u8>>,
    until: Until,
) -> Vec<Checked> {
    check_decoding(envelopes, Unverified::decode_owned, until)
}

/// [`check_envelopes`] with the decoding given.
fn check_decoding<E>(
    envelopes: impl IntoIterator<Item = E>,
    decode: impl Fn(E) -> Result<Unverified, DecodeError>,
    until: Until,
) -> Vec<Checked> {
    let envelopes = envelopes.into_iter();
    let n = envelopes.size_hint().0;
    let mut out: Vec<Checked> = Vec::with_capacity(n);
    let mut decoded: Vec<Unverified> = Vec::with_capacity(n);
    let mut slots: Vec<usize> = Vec::with_capacity(n);
    for bytes in envelopes {
        match decode(bytes) {
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
        self.0.bytes()
    }

    /// The signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.0.sig
    }

    /// The envelope to store or relay: `[entry bytes, signature]` in CBOR.
    pub fn envelope(&self) -> Vec<u8> {
        envelope(self.0.bytes(), &self.0.sig)
    }

    /// Rebuilds a verified entry from bytes verified earlier, without checking the
    /// signature again: inside this crate (tests, fuzzing checks); others hold a
    /// [`TrustedStore`].
    pub(crate) fn from_trusted_store(envelope: &[u8]) -> Result<Self, DecodeError> {
        Unverified::decode(envelope).map(|u| Verified(Arc::new(u.0)))
    }
}

/// Whether this process's [`TrustedStore`] was claimed.
static TRUST_CLAIMED: AtomicBool = AtomicBool::new(false);

/// The right to rebuild [`Verified`] entries from a store of envelopes verified before,
/// without checking their signatures again (a signature check costs about as much as
/// everything else an ingest does, and a ledger reads its entries back all the time).
///
/// There is one per process, and the ledger (`taawun-ledger`) claims it the first time it
/// reads an entry back; every other crate reads envelopes with [`Unverified::decode`] and
/// checks them. Rust has no visibility between two named crates, and a cargo feature
/// would not do: features are unified across a build, so a feature the ledger turns on is
/// on for every crate built beside it (the network and the node depend on the ledger).
/// A token that exists once is the sound part: a crate that claimed it before the ledger
/// would make every read of the ledger fail, which any test of the ledger shows at once,
/// and a crate that asks after the ledger gets none:
///
/// ```
/// use taawun_core::entry::TrustedStore;
/// let first = TrustedStore::claim();
/// assert!(first.is_some());
/// assert!(TrustedStore::claim().is_none(), "one per process");
/// ```
///
/// It can be neither cloned nor built outside this crate.
#[derive(Debug)]
pub struct TrustedStore(());

impl TrustedStore {
    /// The token, the first time it is asked for in this process; `None` after.
    pub fn claim() -> Option<TrustedStore> {
        (!TRUST_CLAIMED.swap(true, Ordering::SeqCst)).then_some(TrustedStore(()))
    }

    /// Rebuilds a verified entry from an envelope the holder verified earlier and kept
    /// itself, without checking the signature again. Never use on bytes from anywhere
    /// else.
    pub fn decode(&self, envelope: &[u8]) -> Result<Verified, DecodeError> {
        Verified::from_trusted_store(envelope)
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
            // Handing the envelopes over gives the same verdicts.
            prop_assert_eq!(&check_owned_envelopes(raw.clone(), Until::End), &checked);
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
            prop_assert_eq!(&check_owned_envelopes(raw.clone(), Until::FirstUndecodable), &upto);
            let cut = all
                .iter()
                .position(|c| matches!(c, Checked::Undecodable(_)))
                .map_or(all.len(), |i| i + 1);
            prop_assert_eq!(upto, all[..cut].to_vec());
        }
    }

    /// Envelopes of every kind of entry a synthetic cooperative holds (charters,
    /// amendments, offers, sealed fields, ticks...), and the seed corpus of the entry
    /// fuzz target.
    fn samples() -> &'static [Vec<u8>] {
        static SAMPLES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        SAMPLES.get_or_init(|| {
            let mut out: Vec<Vec<u8>> = crate::synth::generate(&crate::synth::Params {
                seed: 5,
                entries: 300,
                ..crate::synth::Params::default()
            })
            .entries
            .iter()
            .map(Verified::envelope)
            .collect();
            let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/entry");
            if let Ok(dir) = std::fs::read_dir(corpus) {
                let mut files: Vec<_> = dir.filter_map(|e| e.ok()).map(|e| e.path()).collect();
                files.sort();
                out.extend(files.iter().filter_map(|f| std::fs::read(f).ok()));
            }
            out
        })
    }

    /// The one-pass decoding and the reference give the same verdict (the same entry, or
    /// the same error), as an envelope and as entry bytes; and whatever the one-pass
    /// decoding accepts on its own the reference accepts as the same entry.
    fn agree(bytes: &[u8]) -> Result<(), TestCaseError> {
        let reference = Unverified::decode_reference(bytes);
        prop_assert_eq!(&Unverified::decode(bytes), &reference);
        let owned = Unverified::decode_owned(bytes.to_vec());
        prop_assert_eq!(&owned, &reference);
        if let Ok(u) = &owned {
            prop_assert_eq!(&u.0.signed[..DOMAIN.len()], DOMAIN);
            prop_assert_eq!(u.envelope(), bytes.to_vec());
        }
        if let Some(u) = Unverified::decode_canonical(bytes) {
            prop_assert_eq!(Ok(u), reference);
        }
        let sig = [7u8; 64];
        let reference = Unverified::from_parts_reference(bytes.to_vec(), sig);
        prop_assert_eq!(&Unverified::from_parts(bytes.to_vec(), sig), &reference);
        if let Some(inner) = Inner::from_canonical(bytes, sig) {
            prop_assert_eq!(Ok(Unverified(inner)), reference);
        }
        Ok(())
    }

    /// A change to bytes: flip bits of one byte, set it, insert or remove bytes, cut.
    #[derive(Clone, Debug)]
    enum Mutation {
        Xor(usize, u8),
        Set(usize, u8),
        Insert(usize, Vec<u8>),
        Remove(usize, usize),
        Truncate(usize),
        /// Spell the head of the i-th item in a longer form (same value).
        Widen(usize),
        /// Give the i-th item (a string, array or map) an indefinite length.
        Indefinite(usize),
        /// Put a tag before the i-th item.
        Tag(usize),
        /// Swap the i-th item and the next two with the two after them (in a map, two
        /// entries when the i-th is a key).
        Swap(usize),
    }

    /// One CBOR item in bytes: where its head starts, the head's length, its major type,
    /// the head's argument and where the item ends.
    #[derive(Clone, Copy, Debug)]
    struct Cbor {
        at: usize,
        head: usize,
        major: u8,
        arg: u64,
        end: usize,
    }

    /// Every item of the well-formed prefix of `b`, in order, nested ones included.
    fn items(b: &[u8]) -> Vec<Cbor> {
        fn walk(b: &[u8], at: usize, out: &mut Vec<Cbor>, depth: usize) -> Option<usize> {
            let first = *b.get(at)?;
            let (major, info) = (first >> 5, first & 0x1f);
            let (arg, head) = match info {
                0..=23 => (u64::from(info), 1),
                24..=27 => {
                    let n = 1usize << (info - 24);
                    let bytes = b.get(at + 1..at + 1 + n)?;
                    (
                        bytes.iter().fold(0u64, |a, x| a << 8 | u64::from(*x)),
                        1 + n,
                    )
                }
                _ => return None,
            };
            let slot = out.len();
            out.push(Cbor {
                at,
                head,
                major,
                arg,
                end: 0,
            });
            let mut pos = at + head;
            match major {
                2 | 3 => pos += usize::try_from(arg).ok()?,
                4..=6 if depth < 16 => {
                    let n = match major {
                        4 => arg,
                        5 => arg.checked_mul(2)?,
                        _ => 1,
                    };
                    for _ in 0..n {
                        pos = walk(b, pos, out, depth + 1)?;
                    }
                }
                0 | 1 | 7 => {}
                _ => return None,
            }
            if pos > b.len() {
                return None;
            }
            out[slot].end = pos;
            Some(pos)
        }
        let mut out = Vec::new();
        let _ = walk(b, 0, &mut out, 0);
        out.retain(|i| i.end > 0);
        out
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Xor(i, x)),
            (
                any::<usize>(),
                prop_oneof![
                    Just(0x00u8),
                    Just(0x17),
                    Just(0x18),
                    Just(0x19),
                    Just(0x1f),
                    Just(0x40),
                    Just(0x58),
                    Just(0x5f),
                    Just(0x60),
                    Just(0x78),
                    Just(0x7f),
                    Just(0x80),
                    Just(0x9f),
                    Just(0xa0),
                    Just(0xa1),
                    Just(0xbf),
                    Just(0xc0),
                    Just(0xd8),
                    Just(0xf4),
                    Just(0xf5),
                    Just(0xf6),
                    Just(0xf7),
                    Just(0xf9),
                    Just(0xff),
                    any::<u8>()
                ]
            )
                .prop_map(|(i, x)| Mutation::Set(i, x)),
            (any::<usize>(), prop::collection::vec(any::<u8>(), 1..4))
                .prop_map(|(i, b)| Mutation::Insert(i, b)),
            (any::<usize>(), 1usize..4).prop_map(|(i, n)| Mutation::Remove(i, n)),
            any::<usize>().prop_map(Mutation::Truncate),
            any::<usize>().prop_map(Mutation::Widen),
            any::<usize>().prop_map(Mutation::Indefinite),
            any::<usize>().prop_map(Mutation::Tag),
            any::<usize>().prop_map(Mutation::Swap),
        ]
    }

    fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
        if bytes.is_empty() {
            return;
        }
        let at = |i: usize| i % bytes.len();
        match mutation {
            Mutation::Xor(i, x) => {
                let i = at(*i);
                bytes[i] ^= x;
            }
            Mutation::Set(i, x) => {
                let i = at(*i);
                bytes[i] = *x;
            }
            Mutation::Insert(i, b) => {
                let i = at(*i);
                bytes.splice(i..i, b.iter().copied());
            }
            Mutation::Remove(i, n) => {
                let i = at(*i);
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Mutation::Truncate(i) => {
                let i = at(*i);
                bytes.truncate(i);
            }
            Mutation::Swap(i) => {
                let all = items(bytes);
                if all.is_empty() {
                    return;
                }
                let after = |end: usize| all.iter().find(|x| x.at == end).copied();
                let a = all[i % all.len()];
                let Some(b) = after(a.end) else { return };
                let Some(c) = after(b.end) else { return };
                let Some(d) = after(c.end) else { return };
                let first = bytes[a.at..b.end].to_vec();
                let second = bytes[c.at..d.end].to_vec();
                bytes.splice(a.at..d.end, [second, first].concat());
            }
            Mutation::Widen(i) | Mutation::Indefinite(i) | Mutation::Tag(i) => {
                let all = items(bytes);
                if all.is_empty() {
                    return;
                }
                let it = all[i % all.len()];
                let m = it.major << 5;
                match mutation {
                    Mutation::Widen(_) => {
                        let wider: Vec<u8> = match it.head {
                            1 => vec![m | 24, it.arg as u8],
                            2 => vec![m | 25, 0, it.arg as u8],
                            3 => [vec![m | 26, 0, 0], (it.arg as u16).to_be_bytes().to_vec()]
                                .concat(),
                            5 => [vec![m | 27], it.arg.to_be_bytes().to_vec()].concat(),
                            _ => return,
                        };
                        bytes.splice(it.at..it.at + it.head, wider);
                    }
                    Mutation::Indefinite(_) => match it.major {
                        2 | 3 => {
                            bytes.insert(it.end, 0xff);
                            bytes.insert(it.at, m | 31);
                        }
                        4 | 5 => {
                            bytes.insert(it.end, 0xff);
                            bytes.splice(it.at..it.at + it.head, [m | 31]);
                        }
                        _ => {}
                    },
                    _ => {
                        bytes.splice(it.at..it.at, [0xd8, 0x20]);
                    }
                }
            }
        }
    }

    #[test]
    fn every_sample_decodes_the_same_both_ways_and_most_in_one_pass() {
        let mut one_pass = 0;
        for s in samples() {
            agree(s)
                .map_err(|e| format!("{e}: {}", hex::encode(s)))
                .expect("agree");
            if let Ok(u) = Unverified::decode_reference(s) {
                agree(u.0.bytes()).expect("agree on entry bytes");
                let charter = matches!(u.entry().body, Body::Charter(_));
                // Charters carry limits the encoder may skip: only those go the long way.
                assert_eq!(
                    Unverified::decode_canonical(s).is_some(),
                    !charter,
                    "{}",
                    hex::encode(s)
                );
                one_pass += usize::from(!charter);
            }
        }
        assert!(one_pass > 250, "{one_pass}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn one_pass_and_reference_decoding_agree_on_mutated_envelopes(
            pick in any::<prop::sample::Index>(),
            ms in prop::collection::vec(mutation(), 1..4),
        ) {
            let all = samples();
            let mut bytes = all[pick.index(all.len())].clone();
            for m in &ms {
                mutate(&mut bytes, m);
            }
            agree(&bytes)?;
        }

        #[test]
        fn one_pass_and_reference_decoding_agree_on_mutated_entry_bytes(
            pick in any::<prop::sample::Index>(),
            ms in prop::collection::vec(mutation(), 1..4),
        ) {
            let all = samples();
            let Ok(u) = Unverified::decode_reference(&all[pick.index(all.len())]) else {
                return Ok(());
            };
            let mut bytes = u.0.bytes().to_vec();
            for m in &ms {
                mutate(&mut bytes, m);
            }
            agree(&bytes)?;
            // In a canonical envelope, so the entry's own checks decide.
            agree(&envelope(&bytes, &u.0.sig))?;
        }

        #[test]
        fn one_pass_and_reference_decoding_agree_on_arbitrary_bytes(
            bytes in prop::collection::vec(any::<u8>(), 0..300)
        ) {
            agree(&bytes)?;
            agree(&envelope(&bytes, &[1; 64]))?;
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
