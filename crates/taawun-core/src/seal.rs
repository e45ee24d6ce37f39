//! Sealed fields: a short text on the ledger that only named keys can read.
//!
//! Every node holds every entry, but some fields matter only to the parties of one
//! exchange (a payment's reference, a rejection's reason, a review's words). Such a field is
//! *sealed*: encrypted once under a fresh content key, and that content key wrapped once for
//! each recipient's ed25519 key, converted to X25519. A commitment to the content key rides
//! along, so that a content key disclosed later (to a jury, to an auditor) can be checked
//! against the signed entry: ChaCha20-Poly1305 alone does not bind a ciphertext to one key.
//!
//! No I/O and no hidden randomness: [`seal`] takes a 32-byte seed from which the ephemeral
//! key and the content key are derived, so the node supplies the OS's randomness and tests
//! and vectors stay deterministic. The byte layout is in `docs/protocol.md`, "Sealed
//! fields", precise enough to re-implement.

use crate::id::PublicKey;
use crate::sig;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Most recipients of one sealed field: two parties, each with its identity key and a few
/// devices. Bounds the work of validating and opening one field.
pub const MAX_RECIPIENTS: usize = 16;
/// Longest plain text a field may seal, in characters (the same bound as an appeal's
/// answer: a few paragraphs).
pub const MAX_TEXT_CHARS: usize = 4_000;
/// Longest plain text in bytes: every character is at most 4 bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 4 * MAX_TEXT_CHARS;
/// Bytes the AEAD adds to what it encrypts (Poly1305's tag).
pub const TAG_BYTES: usize = 16;
/// Longest ciphertext a sealed field may carry.
pub const MAX_CIPHERTEXT_BYTES: usize = MAX_TEXT_BYTES + TAG_BYTES;
/// Size of one wrapped content key: the 32-byte key and its tag.
pub const WRAPPED_BYTES: usize = 32 + TAG_BYTES;

/// blake3 `derive_key` contexts; each output has one use.
const CTX_EPHEMERAL: &str = "taawun 2026 seal ephemeral v1";
const CTX_CONTENT: &str = "taawun 2026 seal content key v1";
const CTX_WRAP: &str = "taawun 2026 seal wrap v1";
const CTX_COMMIT: &str = "taawun 2026 seal commit v1";

/// The nonce of both encryptions. Each key encrypts exactly one message: the content key
/// is fresh for each field, and each wrap key is derived from a fresh ephemeral key.
const NONCE: [u8; 12] = [0; 12];

/// A content key: the 32 bytes that open one sealed field. Disclosing it (to a jury, in an
/// export) opens that field and nothing else.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ContentKey(pub [u8; 32]);

impl std::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a key that opens a private text into a log.
        f.write_str("ContentKey(..)")
    }
}

impl Serialize for ContentKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ContentKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let b = serde_bytes::ByteBuf::deserialize(d)?;
        let arr: [u8; 32] = b
            .as_slice()
            .try_into()
            .map_err(|_| serde::de::Error::invalid_length(b.len(), &"32 bytes"))?;
        Ok(Self(arr))
    }
}

impl ContentKey {
    /// The commitment a sealed field carries to this key.
    pub fn commitment(&self) -> [u8; 32] {
        blake3::derive_key(CTX_COMMIT, &self.0)
    }

    /// Lowercase hex, for exports.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut out).ok()?;
        Some(Self(out))
    }
}

/// The content key wrapped for one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wrapped {
    /// The recipient's ed25519 key (an identity or a device key).
    pub to: PublicKey,
    /// The content key encrypted under the recipient's wrap key: 48 bytes.
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
}

/// A sealed text, as it sits in an entry's body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// The ephemeral X25519 public key of this field.
    #[serde(with = "serde_bytes")]
    pub eph: [u8; 32],
    /// The commitment to the content key ([`ContentKey::commitment`]).
    #[serde(with = "serde_bytes")]
    pub commit: [u8; 32],
    /// The content key for each recipient, keys distinct and in ascending byte order
    /// (one canonical form).
    pub to: Vec<Wrapped>,
    /// The text, encrypted under the content key (its UTF-8 bytes and a 16-byte tag).
    #[serde(with = "serde_bytes")]
    pub text: Vec<u8>,
}

/// Why a field could not be sealed, was malformed, or could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// No recipient, or more than [`MAX_RECIPIENTS`].
    #[error("a sealed text has 1 to {max} recipients, not {count}", max = MAX_RECIPIENTS)]
    Recipients {
        /// How many were given.
        count: usize,
    },
    /// A recipient key is not a usable curve point (of small order, or not a point).
    #[error("the key {0} cannot receive a sealed text")]
    BadRecipient(PublicKey),
    /// One recipient named twice, or recipients out of order.
    #[error("the recipients of a sealed text must be distinct and in ascending order")]
    Unordered,
    /// The text is longer than [`MAX_TEXT_BYTES`].
    #[error("the text is {len} bytes; at most {max} may be sealed", max = MAX_TEXT_BYTES)]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The ciphertext is empty (shorter than a tag) or longer than the bound.
    #[error("a sealed text carries {min} to {max} bytes, not {len}", min = TAG_BYTES, max = MAX_CIPHERTEXT_BYTES)]
    BadCiphertext {
        /// Its length in bytes.
        len: usize,
    },
    /// A wrapped key is not [`WRAPPED_BYTES`] long.
    #[error("a wrapped key is {WRAPPED_BYTES} bytes, not {len}")]
    BadWrapped {
        /// Its length in bytes.
        len: usize,
    },
    /// The opening key is not among the recipients.
    #[error("this key is not among the recipients of the sealed text")]
    NotRecipient,
    /// Decryption failed: the bytes were changed, or were not sealed for this key.
    #[error("the sealed text does not open: it was altered or not sealed for this key")]
    Corrupt,
    /// A disclosed content key does not match the field's commitment.
    #[error("the disclosed key does not match the sealed text's commitment")]
    WrongKey,
    /// The opened text is not UTF-8.
    #[error("the sealed text is not UTF-8")]
    NotText,
    /// The plain text breaks the text rule, so it is not sealed.
    #[error("the text {0}")]
    BadText(String),
}

/// The text rule for a sealed field's plain text (docs/protocol.md 3.7): not blank, at
/// most [`MAX_TEXT_CHARS`] characters, no bidirectional embedding, override or isolate
/// control and no control character other than tabs and line breaks. Other nodes cannot
/// check it, so the author's node checks it in [`seal_text`] and a reader's in
/// [`Sealed::read`].
pub fn text_rule(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("is blank".into());
    }
    crate::validate::check_text(text, MAX_TEXT_CHARS, false)
}

/// Checks `text` against [`text_rule`], then seals it: the one way a node seals a field,
/// so that no writer can forget the rule that no other node is able to check.
pub fn seal_text(
    text: &str,
    recipients: &[PublicKey],
    seed: [u8; 32],
) -> Result<Sealed, SealError> {
    text_rule(text).map_err(SealError::BadText)?;
    seal(text, recipients, seed)
}

/// What one reader sees of a sealed field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The text, which follows the text rule.
    Text(String),
    /// The text opened but breaks the text rule (its author's node skipped the check):
    /// shown flagged, with why.
    Flagged {
        /// The text as sealed.
        text: String,
        /// Which rule it breaks.
        why: String,
    },
    /// None of the reader's keys is a recipient: the text stays sealed to it.
    Sealed,
    /// A key of the reader is a recipient, yet the field does not open: its author
    /// sealed something unreadable for it.
    Broken(SealError),
}

impl Sealed {
    /// Reads the field with whichever of `keys` (a node's identity and device keys) it
    /// was sealed to.
    pub fn read(&self, keys: &[&SigningKey]) -> Reading {
        let Some(me) = keys
            .iter()
            .find(|k| self.is_for(&PublicKey(k.verifying_key().to_bytes())))
        else {
            return Reading::Sealed;
        };
        match self.open(me) {
            Ok(text) => match text_rule(&text) {
                Ok(()) => Reading::Text(text),
                Err(why) => Reading::Flagged { text, why },
            },
            Err(e) => Reading::Broken(e),
        }
    }
}

/// Seals `text` for `recipients` (in any order, duplicates removed). `seed` must be 32
/// fresh random bytes for each field: the ephemeral key and the content key come from it.
pub fn seal(text: &str, recipients: &[PublicKey], seed: [u8; 32]) -> Result<Sealed, SealError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(SealError::TooLong { len: text.len() });
    }
    let mut to: Vec<PublicKey> = recipients.to_vec();
    to.sort();
    to.dedup();
    if to.is_empty() || to.len() > MAX_RECIPIENTS {
        return Err(SealError::Recipients { count: to.len() });
    }
    let eph_secret = blake3::derive_key(CTX_EPHEMERAL, &seed);
    let content = ContentKey(blake3::derive_key(CTX_CONTENT, &seed));
    let eph = MontgomeryPoint::mul_base_clamped(eph_secret).to_bytes();
    let mut wrapped = Vec::with_capacity(to.len());
    for key in to {
        let point = montgomery(&key).ok_or(SealError::BadRecipient(key))?;
        let shared = point.mul_clamped(eph_secret).to_bytes();
        let boxed = encrypt(&wrap_key(&shared, &eph, &point.to_bytes()), &content.0)?;
        wrapped.push(Wrapped {
            to: key,
            key: boxed,
        });
    }
    Ok(Sealed {
        eph,
        commit: content.commitment(),
        to: wrapped,
        text: encrypt(&content.0, text.as_bytes())?,
    })
}

impl Sealed {
    /// Checks what anyone can check without reading: bounds, a non-empty ciphertext,
    /// well-formed wrapped keys, recipients distinct, ordered and usable.
    pub fn check(&self) -> Result<(), SealError> {
        if self.to.is_empty() || self.to.len() > MAX_RECIPIENTS {
            return Err(SealError::Recipients {
                count: self.to.len(),
            });
        }
        let len = self.text.len();
        if len <= TAG_BYTES || len > MAX_CIPHERTEXT_BYTES {
            return Err(SealError::BadCiphertext { len });
        }
        for w in &self.to {
            if w.key.len() != WRAPPED_BYTES {
                return Err(SealError::BadWrapped { len: w.key.len() });
            }
            if !sig::acceptable_key(w.to.as_bytes()) {
                return Err(SealError::BadRecipient(w.to));
            }
        }
        if self.to.windows(2).any(|p| p[0].to >= p[1].to) {
            return Err(SealError::Unordered);
        }
        Ok(())
    }

    /// Whether `key` is among the recipients.
    pub fn is_for(&self, key: &PublicKey) -> bool {
        self.to.iter().any(|w| w.to == *key)
    }

    /// The recipients' keys, in order.
    pub fn recipients(&self) -> impl Iterator<Item = &PublicKey> {
        self.to.iter().map(|w| &w.to)
    }

    /// Recovers the content key with a recipient's signing key (identity or device).
    pub fn content_key(&self, me: &SigningKey) -> Result<ContentKey, SealError> {
        let own = PublicKey(me.verifying_key().to_bytes());
        let w = self
            .to
            .iter()
            .find(|w| w.to == own)
            .ok_or(SealError::NotRecipient)?;
        let shared = MontgomeryPoint(self.eph)
            .mul_clamped(me.to_scalar_bytes())
            .to_bytes();
        let mine = me.verifying_key().to_montgomery().to_bytes();
        let bytes = decrypt(&wrap_key(&shared, &self.eph, &mine), &w.key)?;
        let key = ContentKey(bytes.try_into().map_err(|_| SealError::Corrupt)?);
        if key.commitment() != self.commit {
            return Err(SealError::WrongKey);
        }
        Ok(key)
    }

    /// Opens the text with a recipient's signing key.
    pub fn open(&self, me: &SigningKey) -> Result<String, SealError> {
        let key = self.content_key(me)?;
        self.open_with(&key)
    }

    /// Opens the text with a disclosed content key, after checking it against the
    /// commitment: a wrong key is [`SealError::WrongKey`], never a wrong text.
    pub fn open_with(&self, key: &ContentKey) -> Result<String, SealError> {
        if key.commitment() != self.commit {
            return Err(SealError::WrongKey);
        }
        let bytes = decrypt(&key.0, &self.text)?;
        String::from_utf8(bytes).map_err(|_| SealError::NotText)
    }
}

/// The X25519 form of an ed25519 key, if the key is acceptable (a point of large order).
fn montgomery(key: &PublicKey) -> Option<MontgomeryPoint> {
    if !sig::acceptable_key(key.as_bytes()) {
        return None;
    }
    VerifyingKey::from_bytes(key.as_bytes())
        .ok()
        .map(|k| k.to_montgomery())
}

/// The key that wraps the content key for one recipient: bound to the shared secret, the
/// ephemeral key and the recipient's X25519 key.
fn wrap_key(shared: &[u8; 32], eph: &[u8; 32], recipient: &[u8; 32]) -> [u8; 32] {
    let mut material = [0u8; 96];
    material[..32].copy_from_slice(shared);
    material[32..64].copy_from_slice(eph);
    material[64..].copy_from_slice(recipient);
    blake3::derive_key(CTX_WRAP, &material)
}

fn encrypt(key: &[u8; 32], plain: &[u8]) -> Result<Vec<u8>, SealError> {
    ChaCha20Poly1305::new(Key::from_slice(key))
        .encrypt(
            Nonce::from_slice(&NONCE),
            Payload {
                msg: plain,
                aad: &[],
            },
        )
        // Only inputs far beyond our bounds (2^38 bytes) can fail.
        .map_err(|_| SealError::TooLong { len: plain.len() })
}

fn decrypt(key: &[u8; 32], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    ChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(
            Nonce::from_slice(&NONCE),
            Payload {
                msg: sealed,
                aad: &[],
            },
        )
        .map_err(|_| SealError::Corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signer(n: u8) -> SigningKey {
        SigningKey::from_bytes(&blake3::derive_key("taawun seal test key", &[n]))
    }

    fn public(k: &SigningKey) -> PublicKey {
        PublicKey(k.verifying_key().to_bytes())
    }

    #[test]
    fn each_recipient_opens_and_others_do_not() {
        let (a, b, c) = (signer(1), signer(2), signer(3));
        let s = seal("MPESA QK7X2Y", &[public(&b), public(&a)], [7; 32]).expect("seals");
        s.check().expect("well formed");
        assert_eq!(s.open(&a).as_deref(), Ok("MPESA QK7X2Y"));
        assert_eq!(s.open(&b).as_deref(), Ok("MPESA QK7X2Y"));
        assert_eq!(s.open(&c), Err(SealError::NotRecipient));
        // The same seed gives the same bytes: vectors are reproducible.
        assert_eq!(
            seal("MPESA QK7X2Y", &[public(&a), public(&b)], [7; 32]),
            Ok(s)
        );
    }

    #[test]
    fn a_disclosed_key_is_checked_against_the_commitment() {
        let a = signer(1);
        let s = seal("late and incomplete", &[public(&a)], [9; 32]).expect("seals");
        let k = s.content_key(&a).expect("recipient");
        assert_eq!(s.open_with(&k).as_deref(), Ok("late and incomplete"));
        let mut wrong = k;
        wrong.0[0] ^= 1;
        assert_eq!(s.open_with(&wrong), Err(SealError::WrongKey));
    }

    #[test]
    fn a_recipient_listed_under_a_key_it_does_not_hold_cannot_open() {
        // A wrap entry relabelled to another recipient does not open for that recipient.
        let (a, b) = (signer(1), signer(2));
        let mut s = seal("x", &[public(&a)], [3; 32]).expect("seals");
        s.to[0].to = public(&b);
        assert_eq!(s.open(&b), Err(SealError::Corrupt));
    }

    #[test]
    fn bounds_are_typed_errors() {
        let a = signer(1);
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        assert!(matches!(
            seal(&long, &[public(&a)], [0; 32]),
            Err(SealError::TooLong { .. })
        ));
        assert_eq!(
            seal("x", &[], [0; 32]),
            Err(SealError::Recipients { count: 0 })
        );
        let many: Vec<PublicKey> = (0..=MAX_RECIPIENTS as u8)
            .map(|n| public(&signer(n)))
            .collect();
        assert_eq!(
            seal("x", &many, [0; 32]),
            Err(SealError::Recipients {
                count: MAX_RECIPIENTS + 1
            })
        );
        let weak = PublicKey([0; 32]);
        assert_eq!(
            seal("x", &[weak], [0; 32]),
            Err(SealError::BadRecipient(weak))
        );
        let mut s = seal("x", &[public(&a), public(&signer(2))], [0; 32]).expect("seals");
        s.to.swap(0, 1);
        assert_eq!(s.check(), Err(SealError::Unordered));
        s.to.swap(0, 1);
        s.text.truncate(TAG_BYTES);
        assert_eq!(s.check(), Err(SealError::BadCiphertext { len: TAG_BYTES }));
    }

    /// The worked example of docs/protocol.md 3.7: an implementation in another language
    /// must reproduce these bytes from the same inputs.
    #[test]
    fn worked_example() {
        let k = SigningKey::from_bytes(&[1; 32]);
        let s = seal("MPESA QK7X2Y", &[public(&k)], [7; 32]).expect("seals");
        let hex = |b: &[u8]| hex::encode(b);
        assert_eq!(
            hex(&s.eph),
            "b802223bd0547f818ced1cb609bb44958ba9d041e853b7e36549f1d696d4a437"
        );
        assert_eq!(
            s.content_key(&k).expect("recipient").to_hex(),
            "f3d76d822d18dd8174affadfd1ac81ffb279c0c24c0a7d5dd90751b4ca13d69e"
        );
        assert_eq!(
            hex(&s.commit),
            "77b2245b68277010ba2628f102849935105cfe323674033d6c37bcf4db2da7d8"
        );
        assert_eq!(
            hex(&s.to[0].key),
            "68b94c4c3323427dc43773a3dbbf6727372f26ccf5333b34d26fa434e2624285\
             4d3a9c49db7a4781d98736c80465b3b9"
        );
        assert_eq!(
            hex(&s.text),
            "1ec376bf701bcb40d05bdbf2f711f2b8661afe11b4dcf04c79ca64ca"
        );
        let mut cbor = Vec::new();
        ciborium::into_writer(&s, &mut cbor).expect("encodes");
        assert_eq!(cbor.len(), 211);
        assert_eq!(hex(&cbor[..11]), "a4636570685820b802223b");
    }

    #[test]
    fn the_text_rule_is_checked_before_sealing_and_after_opening() {
        let (a, b) = (signer(1), signer(2));
        let to = [public(&a)];
        assert!(matches!(
            seal_text("  ", &to, [0; 32]),
            Err(SealError::BadText(_))
        ));
        assert!(matches!(
            seal_text("pay \u{202E}05", &to, [0; 32]),
            Err(SealError::BadText(_))
        ));
        let good = seal_text("receipt QK7X2Y\nsent at noon", &to, [0; 32]).expect("seals");
        assert_eq!(
            good.read(&[&b, &a]),
            Reading::Text("receipt QK7X2Y\nsent at noon".into())
        );
        assert_eq!(good.read(&[&b]), Reading::Sealed);
        // An author that seals without the check is caught by its reader.
        let bad = seal("pay \u{202E}05", &to, [0; 32]).expect("seals");
        assert!(matches!(bad.read(&[&a]), Reading::Flagged { .. }));
        let mut broken = good.clone();
        broken.text[0] ^= 1;
        assert_eq!(broken.read(&[&a]), Reading::Broken(SealError::Corrupt));
    }

    proptest! {
        #[test]
        fn seal_then_open(text in ".{0,300}", n in 1u8..8, seed in any::<[u8; 32]>()) {
            let keys: Vec<SigningKey> = (0..n).map(signer).collect();
            let to: Vec<PublicKey> = keys.iter().map(public).collect();
            let s = seal(&text, &to, seed).expect("seals");
            prop_assert!(s.check().is_ok() || text.is_empty());
            for k in &keys {
                prop_assert_eq!(s.open(k), Ok(text.clone()));
            }
            prop_assert_eq!(s.open(&signer(200)), Err(SealError::NotRecipient));
        }

        #[test]
        fn any_flipped_byte_fails(text in ".{1,100}", at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let a = signer(1);
            let s = seal(&text, &[public(&a)], [5; 32]).expect("seals");
            // Flip one bit anywhere in the field's CBOR bytes: it no longer decodes, no
            // longer passes the structural check, or no longer opens at all.
            let mut bytes = Vec::new();
            ciborium::into_writer(&s, &mut bytes).expect("encodes");
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
            if let Ok(t) = ciborium::from_reader::<Sealed, _>(bytes.as_slice()) {
                // A spelling that is not the canonical one (a text string where a byte
                // string belongs) is refused with its entry (docs/protocol.md 3.4).
                let mut again = Vec::new();
                ciborium::into_writer(&t, &mut again).expect("encodes");
                prop_assume!(again == bytes);
                let opened = t.check().and_then(|_| t.open(&a));
                prop_assert!(opened.is_err(), "opened to {:?}", opened);
            }
        }

        #[test]
        fn decoding_any_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(s) = ciborium::from_reader::<Sealed, _>(bytes.as_slice()) {
                let _ = s.check();
                let _ = s.open(&signer(1));
                let _ = s.open_with(&ContentKey([0; 32]));
            }
        }
    }
}
