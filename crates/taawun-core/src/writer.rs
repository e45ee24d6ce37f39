//! Building the next entry of an author's chain: seq, prev, timestamp and governance
//! filled in from the chain's head, then signed.

use crate::body::Body;
use crate::entry::{Entry, Timestamp, Verified, VERSION};
use crate::id::{Id, PublicKey};
use crate::validate::Head;
use ed25519_dalek::SigningKey;

/// An author's key and the head of its chain in one cooperative.
#[derive(Debug, Clone)]
pub struct Writer {
    key: SigningKey,
    coop: Option<Id>,
    head: Option<Head>,
}

impl Writer {
    /// A writer for `coop` (`None` only to write a charter) starting after `head`.
    pub fn new(key: SigningKey, coop: Option<Id>, head: Option<Head>) -> Self {
        Self { key, coop, head }
    }

    /// The author's public key.
    pub fn author(&self) -> PublicKey {
        PublicKey(self.key.verifying_key().to_bytes())
    }

    /// The chain's head.
    pub fn head(&self) -> Option<Head> {
        self.head
    }

    /// Builds and signs the next entry, naming governance `gov` (or, when `None`, the one
    /// the previous entry named). Timestamps never go backwards along the chain: a clock
    /// behind the previous entry writes the previous entry's time.
    pub fn next(&mut self, body: Body, ts: Timestamp, gov: Option<Id>) -> Verified {
        let prev_gov = self.head.and_then(|h| h.gov);
        let ts = self.head.map_or(ts, |h| ts.max(h.ts));
        let entry = Entry {
            v: VERSION,
            coop: self.coop,
            author: self.author(),
            seq: self.head.map_or(1, |h| h.seq + 1),
            prev: self.head.map(|h| h.id),
            ts,
            gov: gov.or(prev_gov),
            body,
        };
        let v = entry.sign(&self.key);
        self.head = Some(Head {
            seq: entry.seq,
            id: v.id(),
            ts,
            gov: entry.gov,
        });
        if self.coop.is_none() {
            // A charter founds the cooperative: later entries belong to it.
            self.coop = Some(v.id());
        }
        v
    }
}
