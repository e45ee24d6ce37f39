//! One-pass decoding of canonical CBOR into the entry schema.
//!
//! The protocol accepts an entry only in its one canonical encoding: the bytes
//! [`Entry::encode`](crate::Entry::encode) would write for the value they decode to
//! (docs/protocol.md 3.5). [`Canonical`] is a serde deserializer over borrowed bytes that
//! accepts exactly that spelling while it decodes, so no second encoding is needed to
//! compare: every head in its shortest form, definite lengths only, no tags and no
//! floats, struct fields all present and in schema order, enums as the encoder writes
//! them (a bare text for a unit variant, a one-key map otherwise), map keys in strictly
//! ascending order. Strings and byte strings are handed to the visitors borrowed from the
//! input, so only the values that own their data (a `String`, a `Vec`) allocate.
//!
//! It answers only "this is the canonical encoding of that value" or "not sure": anything
//! else (a non-canonical spelling, a schema error, a struct whose fields may be skipped
//! when encoded) is [`Bail`], and the caller falls back to the reference path, which
//! gives the exact error. So the bytes it accepts are a subset of those the reference
//! path accepts, with the same value, and everything it refuses gets the reference
//! path's verdict.

use serde::de::{self, DeserializeSeed, Visitor};

/// Structs with fields the encoder skips when they hold their default value: whether such
/// a field is spelled out cannot be judged without the value, so these go to the
/// reference path (they are only in charters, one per cooperative).
const SKIPPING_STRUCTS: &[&str] = &["Limits"];

/// Not decoded on the fast path; the reference path decides.
#[derive(Debug)]
pub(crate) struct Bail;

impl std::fmt::Display for Bail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not canonical CBOR of the schema")
    }
}

impl std::error::Error for Bail {}

impl de::Error for Bail {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        Bail
    }
}

type Result<T> = std::result::Result<T, Bail>;

/// A canonical CBOR reader over borrowed bytes.
pub(crate) struct Canonical<'de> {
    input: &'de [u8],
}

const UINT: u8 = 0;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const FALSE: u8 = 0xf4;
const TRUE: u8 = 0xf5;
const NULL: u8 = 0xf6;

impl<'de> Canonical<'de> {
    pub(crate) fn new(input: &'de [u8]) -> Self {
        Self { input }
    }

    /// Whether every byte was read.
    pub(crate) fn is_done(&self) -> bool {
        self.input.is_empty()
    }

    fn peek(&self) -> Result<u8> {
        self.input.first().copied().ok_or(Bail)
    }

    fn take(&mut self, n: usize) -> Result<&'de [u8]> {
        if self.input.len() < n {
            return Err(Bail);
        }
        let (a, b) = self.input.split_at(n);
        self.input = b;
        Ok(a)
    }

    /// A head of major type `major`, in its shortest form; its argument.
    fn head(&mut self, major: u8) -> Result<u64> {
        let b = self.peek()?;
        if b >> 5 != major {
            return Err(Bail);
        }
        self.input = &self.input[1..];
        let info = b & 0x1f;
        let (v, least) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (u64::from(self.take(1)?[0]), 24),
            25 => {
                let s = self.take(2)?;
                (u64::from(u16::from_be_bytes([s[0], s[1]])), 0x100)
            }
            26 => {
                let s = self.take(4)?;
                (
                    u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])),
                    0x1_0000,
                )
            }
            27 => {
                let s = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                (u64::from_be_bytes(a), 0x1_0000_0000)
            }
            // Reserved, or an indefinite length.
            _ => return Err(Bail),
        };
        if v < least {
            return Err(Bail);
        }
        Ok(v)
    }

    fn len(&mut self, major: u8) -> Result<usize> {
        usize::try_from(self.head(major)?).map_err(|_| Bail)
    }

    fn bytes(&mut self) -> Result<&'de [u8]> {
        let n = self.len(BYTES)?;
        self.take(n)
    }

    fn text(&mut self) -> Result<&'de str> {
        let n = self.len(TEXT)?;
        std::str::from_utf8(self.take(n)?).map_err(|_| Bail)
    }

    fn uint(&mut self, max: u64) -> Result<u64> {
        let v = self.head(UINT)?;
        if v > max {
            return Err(Bail);
        }
        Ok(v)
    }
}

impl<'de> de::Deserializer<'de> for &mut Canonical<'de> {
    type Error = Bail;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, _v: V) -> Result<V::Value> {
        Err(Bail)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let b = self.peek()?;
        self.input = &self.input[1..];
        match b {
            FALSE => v.visit_bool(false),
            TRUE => v.visit_bool(true),
            _ => Err(Bail),
        }
    }

    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let n = self.uint(u64::from(u8::MAX))?;
        v.visit_u8(n as u8)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let n = self.uint(u64::from(u16::MAX))?;
        v.visit_u16(n as u16)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let n = self.uint(u64::from(u32::MAX))?;
        v.visit_u32(n as u32)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let n = self.uint(u64::MAX)?;
        v.visit_u64(n)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let s = self.text()?;
        v.visit_borrowed_str(s)
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.deserialize_str(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let b = self.bytes()?;
        v.visit_borrowed_bytes(b)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.deserialize_bytes(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        if self.peek()? == NULL {
            self.input = &self.input[1..];
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let left = self.len(ARRAY)?;
        // Every element takes at least one byte: a longer count is a lie, and would
        // mislead a visitor that reserves by the size hint.
        if left > self.input.len() {
            return Err(Bail);
        }
        let value = v.visit_seq(Seq {
            de: &mut *self,
            left,
        })?;
        Ok(value)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let left = self.len(MAP)?;
        if left > self.input.len() {
            return Err(Bail);
        }
        v.visit_map(Map {
            de: &mut *self,
            left,
            last: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        if SKIPPING_STRUCTS.contains(&name) {
            return Err(Bail);
        }
        // All fields, in schema order: what the encoder writes.
        if self.len(MAP)? != fields.len() {
            return Err(Bail);
        }
        v.visit_map(Struct {
            de: &mut *self,
            fields,
            next: 0,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        if self.peek()? >> 5 == TEXT {
            let variant = self.text()?;
            v.visit_enum(Enum {
                de: &mut *self,
                variant,
                unit: true,
            })
        } else {
            if self.len(MAP)? != 1 {
                return Err(Bail);
            }
            let variant = self.text()?;
            v.visit_enum(Enum {
                de: &mut *self,
                variant,
                unit: false,
            })
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.deserialize_str(v)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u128 f32 f64 char unit unit_struct tuple tuple_struct ignored_any
    }
}

struct Seq<'a, 'de> {
    de: &'a mut Canonical<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Seq<'_, 'de> {
    type Error = Bail;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// A map of text keys in strictly ascending order (a `BTreeMap<String, _>`, as encoded).
struct Map<'a, 'de> {
    de: &'a mut Canonical<'de>,
    left: usize,
    last: Option<&'de str>,
}

impl<'de> de::MapAccess<'de> for Map<'_, 'de> {
    type Error = Bail;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let before = self.de.input;
        let key = self.de.text()?;
        if self.last.is_some_and(|last| last >= key) {
            return Err(Bail);
        }
        self.last = Some(key);
        self.de.input = before;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// A struct's fields, every one present, in schema order.
struct Struct<'a, 'de> {
    de: &'a mut Canonical<'de>,
    fields: &'static [&'static str],
    next: usize,
}

impl<'de> de::MapAccess<'de> for Struct<'_, 'de> {
    type Error = Bail;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some(want) = self.fields.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        let key = self.de.text()?;
        if key != *want {
            return Err(Bail);
        }
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len() - self.next)
    }
}

struct Enum<'a, 'de> {
    de: &'a mut Canonical<'de>,
    variant: &'de str,
    unit: bool,
}

impl<'a, 'de> de::EnumAccess<'de> for Enum<'a, 'de> {
    type Error = Bail;
    type Variant = Self;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self)> {
        let v = seed.deserialize(de::value::BorrowedStrDeserializer::<Bail>::new(
            self.variant,
        ))?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for Enum<'_, 'de> {
    type Error = Bail;

    fn unit_variant(self) -> Result<()> {
        if self.unit {
            Ok(())
        } else {
            Err(Bail)
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        if self.unit {
            return Err(Bail);
        }
        seed.deserialize(&mut *self.de)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _v: V) -> Result<V::Value> {
        Err(Bail)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        if self.unit {
            return Err(Bail);
        }
        de::Deserializer::deserialize_struct(&mut *self.de, "", fields, v)
    }
}

/// Decodes `bytes` as the canonical encoding of one `T`, with nothing after it; `None`
/// when it is not (or not surely) that.
pub(crate) fn from_canonical<'de, T: serde::Deserialize<'de>>(bytes: &'de [u8]) -> Option<T> {
    let mut de = Canonical::new(bytes);
    let v = T::deserialize(&mut de).ok()?;
    de.is_done().then_some(v)
}

/// The two parts of a canonical envelope `[entry bytes, signature]` (a CBOR array of a
/// byte string and a 64-byte byte string, heads in shortest form, nothing after), borrowed.
pub(crate) fn envelope_parts(envelope: &[u8]) -> Option<(&[u8], &[u8; 64])> {
    let mut de = Canonical::new(envelope);
    if de.head(ARRAY).ok()? != 2 {
        return None;
    }
    let bytes = de.bytes().ok()?;
    let sig: &[u8; 64] = de.bytes().ok()?.try_into().ok()?;
    de.is_done().then_some((bytes, sig))
}
