//! Helpers shared by the ledger's integration tests.
#![allow(dead_code)] // each test file uses its own subset

use std::path::Path;
use taawun_core::fold::Coop;
use taawun_core::synth::{self, Params, Scenario};
use taawun_core::{PublicKey, Verified};
use taawun_ledger::{CoopLedger, Ledger};

/// A synthetic cooperative from `seed` with about `entries` entries.
pub(crate) fn scenario(seed: u64, entries: usize) -> Scenario {
    synth::generate(&Params {
        seed,
        entries,
        ..Params::default()
    })
}

/// The public key of a signing key.
pub(crate) fn pk(k: &ed25519_dalek::SigningKey) -> PublicKey {
    PublicKey(k.verifying_key().to_bytes())
}

/// The in-memory fold of the same entries.
pub(crate) fn reference(entries: &[Verified]) -> Coop {
    let mut c = Coop::new();
    for v in entries {
        c.ingest(v.clone(), None)
            .expect("synthetic entries are valid");
    }
    c
}

/// A ledger in `dir` founded with the scenario's charter.
pub(crate) fn founded(dir: &Path, s: &Scenario) -> (Ledger, CoopLedger) {
    let l = Ledger::open(dir).expect("opens");
    let c = l.found(s.entries[0].clone()).expect("founds");
    assert_eq!(c.id(), s.coop);
    (l, c)
}
