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
        let msg = signed_message(&self.0.bytes);
        let ok = sig::verify(sig::Item {
            key: self.0.entry.author.as_bytes(),
            msg: &msg,
            sig: &self.0.sig,
        });
        if ok {
            Ok(Verified(Arc::new(self.0)))
        } else {
            Err(BadSignature {
                id: self.0.id,
                author: self.0.entry.author,
            })
        }
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
}

/// Checks many signatures at once (ed25519 batch verification); the verdicts are the same
/// as verifying each alone.
pub fn verify_batch(items: Vec<Unverified>) -> Vec<Result<Verified, BadSignature>> {
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
                Err(BadSignature {
                    id: u.0.id,
                    author: u.0.entry.author,
                })
            }
        })
        .collect()
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
