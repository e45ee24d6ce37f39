//! Identifiers: entry ids (blake3 of the entry's exact bytes), result hashes and the
//! ed25519 public keys that name authors.
//!
//! All three are 32 raw bytes; they encode in CBOR as byte strings of length 32 and print
//! as lowercase hex.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! bytes32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lowercase hex, 64 characters.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses 64 hex characters.
            pub fn from_hex(s: &str) -> Result<Self, HexError> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(s.trim(), &mut out).map_err(|_| HexError {
                    what: stringify!($name),
                    input: s.chars().take(80).collect(),
                })?;
                Ok(Self(out))
            }

            /// The first 8 hex characters, for people reading tables and logs.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_byte_buf(Bytes32).map(Self)
            }
        }
    };
}

/// Reads 32 bytes from whatever `serde_bytes::ByteBuf` accepts (a byte string, a
/// sequence of bytes, a text), with its errors, without allocating for a byte string.
struct Bytes32;

impl<'de> serde::de::Visitor<'de> for Bytes32 {
    type Value = [u8; 32];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As `serde_bytes::ByteBuf` says it.
        f.write_str("byte array")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<[u8; 32], E> {
        v.try_into()
            .map_err(|_| E::invalid_length(v.len(), &"32 bytes"))
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<[u8; 32], E> {
        self.visit_bytes(&v)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<[u8; 32], E> {
        self.visit_bytes(v.as_bytes())
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<[u8; 32], E> {
        self.visit_bytes(v.as_bytes())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<[u8; 32], A::Error> {
        let b =
            serde_bytes::ByteBuf::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        self.visit_bytes(&b)
    }
}

bytes32!(
    /// An entry's id: blake3 of the entry's CBOR bytes exactly as signed. A cooperative's id
    /// is the id of its charter.
    Id
);
bytes32!(
    /// An author's ed25519 public key (compressed Edwards point, RFC 8032).
    PublicKey
);
bytes32!(
    /// blake3 of a work result's bytes.
    Hash
);

impl Id {
    /// The id of an entry's bytes.
    pub fn of(entry_bytes: &[u8]) -> Self {
        Self(*blake3::hash(entry_bytes).as_bytes())
    }
}

impl Hash {
    /// The hash of a result's bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }
}

/// A string that was not 64 hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {what} (expected 64 hex characters): {input:?}")]
pub struct HexError {
    /// What was being parsed.
    pub what: &'static str,
    /// The start of the input.
    pub input: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let id = Id::of(b"abc");
        assert_eq!(Id::from_hex(&id.to_hex()), Ok(id));
        assert!(Id::from_hex("zz").is_err());
        assert!(PublicKey::from_hex(&"ab".repeat(31)).is_err());
    }
}
