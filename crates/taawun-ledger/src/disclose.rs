//! Disclosures: the content keys of sealed fields, handed to an auditor beside an export.
//!
//! An export holds sealed fields (docs/protocol.md 3.7) that only their recipients can
//! read. A node that exports also writes, next to the export `FILE`, a companion file
//! `FILE.keys` ([`companion`]) with the content key of every sealed field it can open:
//! whoever holds both files reads those fields, and only those. The export itself is
//! unchanged, so an export without its companion reads and verifies as before.
//!
//! ```json
//! {"format": "taawun-disclosures", "version": 1, "coop": "<hex>",
//!  "keys": [{"entry": "<hex>", "field": "reference", "key": "<64 hex>"}],
//!  "sealed": 3}
//! ```
//!
//! `sealed` counts the fields the exporting node could not open (sealed to others). A
//! reader checks each disclosed key against the commitment the signed entry carries
//! ([`taawun_core::seal::Sealed::open_with`]), so a wrong or altered key is reported as a
//! bad disclosure ([`Readout::bad`]), never read as a wrong text.

use crate::export::{FormatError, Items};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use taawun_core::seal::ContentKey;
use taawun_core::{Entry, Id, Unverified};

/// The companion file's `format` value.
pub const FORMAT: &str = "taawun-disclosures";
/// The companion file version this code writes and reads.
pub const VERSION: u64 = 1;
/// Largest companion file read: a key is about 200 bytes of JSON, so this holds a few
/// hundred thousand; a bigger file is not one.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Where the disclosures of the export `file` are written and looked for: `FILE.keys`.
pub fn companion(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".keys");
    PathBuf::from(name)
}

/// Why a companion file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscloseError {
    /// Reading failed.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    /// Not JSON of the expected shape.
    #[error("not a taawun disclosures file: {0}")]
    NotDisclosures(String),
    /// A version this build does not read.
    #[error(
        "disclosures format version {found} is not supported (this build reads version {VERSION})"
    )]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
}

/// One disclosed content key, as written (hex): checked only when read against an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosed {
    /// The entry holding the sealed field.
    pub entry: String,
    /// The field's name ([`taawun_core::Body::sealed_fields`]).
    pub field: String,
    /// The content key, 64 hex characters.
    pub key: String,
}

/// A companion file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosures {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u64,
    /// The cooperative, hex.
    pub coop: String,
    /// The keys disclosed.
    pub keys: Vec<Disclosed>,
    /// Sealed fields the exporting node could not open.
    pub sealed: u64,
}

impl Disclosures {
    /// Collects, from an export stream, the content key of every sealed field that one of
    /// `keys` (a node's identity and device keys) can open.
    pub fn collect(r: impl BufRead, keys: &[&SigningKey]) -> Result<Self, FormatError> {
        let mut out = Disclosures {
            format: FORMAT.into(),
            version: VERSION,
            coop: String::new(),
            keys: Vec::new(),
            sealed: 0,
        };
        out.coop = each_entry(r, |id, entry| {
            for (field, s) in entry.body.sealed_fields() {
                let opened = keys.iter().find_map(|k| s.content_key(k).ok());
                match opened {
                    Some(key) => out.keys.push(Disclosed {
                        entry: id.to_hex(),
                        field: field.into(),
                        key: key.to_hex(),
                    }),
                    None => out.sealed += 1,
                }
            }
        })?
        .to_hex();
        Ok(out)
    }

    /// The file's bytes: pretty JSON, one key per few lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain strings and numbers cannot fail.
        let mut b = serde_json::to_vec_pretty(self).unwrap_or_default();
        b.push(b'\n');
        b
    }

    /// Parses a companion file.
    pub fn parse(bytes: &[u8]) -> Result<Self, DiscloseError> {
        let d: Disclosures = serde_json::from_slice(bytes)
            .map_err(|e| DiscloseError::NotDisclosures(e.to_string()))?;
        if d.format != FORMAT {
            return Err(DiscloseError::NotDisclosures(format!(
                "format is {:?}, not {FORMAT:?}",
                d.format.chars().take(40).collect::<String>()
            )));
        }
        if d.version != VERSION {
            return Err(DiscloseError::UnsupportedVersion { found: d.version });
        }
        Ok(d)
    }

    /// Reads the companion file at `path`.
    pub fn read(path: &Path) -> Result<Self, DiscloseError> {
        let f = std::fs::File::open(path)?;
        let mut bytes = Vec::new();
        f.take(MAX_BYTES + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(DiscloseError::NotDisclosures(format!(
                "larger than {MAX_BYTES} bytes"
            )));
        }
        Self::parse(&bytes)
    }
}

/// A sealed field read with a disclosed key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReadField {
    /// The entry, hex.
    pub entry: String,
    /// Its kind (`settle` for a payment).
    pub kind: String,
    /// Its author, hex (for a payment: the requester who paid).
    pub author: String,
    /// For a payment: the member paid, hex.
    pub member: Option<String>,
    /// For a payment: the amount, as written (`1200 KES`).
    pub amount: Option<String>,
    /// The field's name.
    pub field: String,
    /// The text.
    pub text: String,
    /// Which text rule it breaks, when it breaks one (shown flagged).
    pub flag: Option<String>,
}

/// A disclosed key that does not open its field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadDisclosure {
    /// The entry it names, as written.
    pub entry: String,
    /// The field it names, as written.
    pub field: String,
    /// What is wrong.
    pub why: String,
}

/// What an auditor reads of an export's sealed fields with its disclosures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Readout {
    /// Whether disclosures were given at all.
    pub disclosures: bool,
    /// Fields read, in file order.
    pub read: Vec<ReadField>,
    /// Sealed fields no disclosed key opens.
    pub unread: u64,
    /// Disclosed keys that do not match, or name no sealed field of the file.
    pub bad: Vec<BadDisclosure>,
}

/// Reads sealed fields one entry at a time, in the order given: what [`Readout::new`] does
/// over a list, for a reader that streams a file and keeps no entries.
#[derive(Debug)]
pub struct SealedReader {
    out: Readout,
    /// Disclosed keys by (entry, field).
    keys: BTreeMap<(String, String), String>,
    /// The (entry, field) pairs whose key was used.
    used: HashSet<(String, String)>,
    /// Ids of the entries with sealed fields read so far ([`SealedReader::add_once`]).
    seen: HashSet<Id>,
}

impl SealedReader {
    /// A reader of the sealed fields of cooperative `coop` with `d`.
    pub fn new(coop: &Id, d: Option<&Disclosures>) -> Self {
        let mut out = Readout {
            disclosures: d.is_some(),
            ..Readout::default()
        };
        let mut keys = BTreeMap::new();
        if let Some(d) = d {
            if d.coop != coop.to_hex() {
                out.bad.push(BadDisclosure {
                    entry: String::new(),
                    field: String::new(),
                    why: format!(
                        "the disclosures are of cooperative {}, not {coop}",
                        d.coop.chars().take(64).collect::<String>()
                    ),
                });
            } else {
                for k in &d.keys {
                    keys.insert((k.entry.to_lowercase(), k.field.clone()), k.key.clone());
                }
            }
        }
        Self {
            out,
            keys,
            used: HashSet::new(),
            seen: HashSet::new(),
        }
    }

    /// Reads the sealed fields of an entry, unless an entry of the same id was read by
    /// this method before (a file may hold an entry twice).
    pub fn add_once(&mut self, id: Id, entry: &Entry) {
        // An id names one entry, so only entries with sealed fields need remembering.
        if entry.body.sealed_fields().is_empty() || !self.seen.insert(id) {
            return;
        }
        self.add(id, entry);
    }

    /// Reads the sealed fields of an entry.
    pub fn add(&mut self, id: Id, entry: &Entry) {
        let out = &mut self.out;
        let fields = entry.body.sealed_fields();
        if self.keys.is_empty() {
            // No key to look up: every field stays sealed.
            out.unread += fields.len() as u64;
            return;
        }
        for (field, s) in fields {
            let at = (id.to_hex(), field.to_owned());
            let Some(hex) = self.keys.get(&at) else {
                out.unread += 1;
                continue;
            };
            self.used.insert(at.clone());
            let bad = |why: String| BadDisclosure {
                entry: at.0.clone(),
                field: at.1.clone(),
                why,
            };
            let Some(key) = ContentKey::from_hex(hex) else {
                out.bad.push(bad("the key is not 64 hex characters".into()));
                out.unread += 1;
                continue;
            };
            match s.open_with(&key) {
                Ok(text) => {
                    let (member, amount) = match &entry.body {
                        taawun_core::Body::Settle(p) => {
                            (Some(p.member.to_hex()), Some(p.amount.to_string()))
                        }
                        _ => (None, None),
                    };
                    out.read.push(ReadField {
                        entry: at.0.clone(),
                        kind: entry.body.kind().name().into(),
                        author: entry.author.to_hex(),
                        member,
                        amount,
                        field: field.into(),
                        flag: taawun_core::seal::text_rule(&text).err(),
                        text,
                    });
                }
                Err(e) => {
                    out.bad.push(bad(e.to_string()));
                    out.unread += 1;
                }
            }
        }
    }

    /// The readout: the fields read, and the disclosed keys that named no sealed field.
    pub fn finish(self) -> Readout {
        let mut out = self.out;
        for (entry, field) in self.keys.keys() {
            if !self.used.contains(&(entry.clone(), field.clone())) {
                out.bad.push(BadDisclosure {
                    entry: entry.clone(),
                    field: field.clone(),
                    why: "no valid entry of the file has this sealed field".into(),
                });
            }
        }
        out
    }
}

impl Readout {
    /// Reads the sealed fields of `entries` (id and entry, each once) with `d`.
    pub fn new<'a>(
        coop: &Id,
        entries: impl IntoIterator<Item = (Id, &'a Entry)>,
        d: Option<&Disclosures>,
    ) -> Self {
        let mut r = SealedReader::new(coop, d);
        for (id, entry) in entries {
            r.add(id, entry);
        }
        r.finish()
    }

    /// Reads the sealed fields of an export stream with `d`, each entry once (decoded
    /// only: the caller verifies the file).
    pub fn from_export(r: impl BufRead, d: Option<&Disclosures>) -> Result<Self, FormatError> {
        let mut items = Items::new(r);
        let header = items.header()?;
        let mut reader = SealedReader::new(&header.coop, d);
        while let Some(item) = items.next_item()? {
            let Ok(raw) = item.raw else { continue };
            if let Ok(u) = Unverified::decode(&raw) {
                reader.add_once(u.id(), u.entry());
            }
        }
        Ok(reader.finish())
    }

    /// One line for a summary: how many sealed fields were read and how many stay sealed.
    pub fn line(&self) -> String {
        format!(
            "sealed fields: {} read with disclosed keys, {} still sealed{}",
            self.read.len(),
            self.unread,
            match self.bad.len() {
                0 => String::new(),
                n => format!(", {n} bad disclosure{}", if n == 1 { "" } else { "s" }),
            }
        )
    }
}

/// Calls `f` with each decodable envelope's id and entry; returns the header's
/// cooperative. Items that are not envelopes are skipped (the verification reports them).
fn each_entry(r: impl BufRead, mut f: impl FnMut(Id, &Entry)) -> Result<Id, FormatError> {
    let mut items = Items::new(r);
    let header = items.header()?;
    while let Some(item) = items.next_item()? {
        let Ok(raw) = item.raw else { continue };
        if let Ok(u) = Unverified::decode(&raw) {
            f(u.id(), u.entry());
        }
    }
    Ok(header.coop)
}

impl std::fmt::Display for ReadField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |h: &str| h.get(..8).unwrap_or(h).to_owned();
        match (&self.member, &self.amount) {
            (Some(m), Some(a)) => write!(
                f,
                "payment {} of {a} by {} to {}: {} {:?}",
                short(&self.entry),
                short(&self.author),
                short(m),
                self.field,
                self.text
            )?,
            _ => write!(
                f,
                "{} {} by {}: {} {:?}",
                self.kind,
                short(&self.entry),
                short(&self.author),
                self.field,
                self.text
            )?,
        }
        if let Some(why) = &self.flag {
            write!(f, " (flagged: the text {why})")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for BadDisclosure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.entry.is_empty() {
            write!(f, "bad disclosure: {}", self.why)
        } else {
            write!(
                f,
                "bad disclosure for entry {} field {:?}: {}",
                self.entry.chars().take(64).collect::<String>(),
                self.field.chars().take(40).collect::<String>(),
                self.why
            )
        }
    }
}
