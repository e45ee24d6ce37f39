//! Statements of docs/protocol.md checked against the reference, where an independent
//! implementer could read the text two ways: which verdict an empty `floors` map gets,
//! and what a duplicated `"v"` key in the entry map is.

use ed25519_dalek::SigningKey;
use std::collections::BTreeMap;
use taawun_core::body::{Body, Charter};
use taawun_core::entry::DecodeError;
use taawun_core::fold::Coop;
use taawun_core::rules::default_limits;
use taawun_core::writer::Writer;
use taawun_core::{check, Invalid, PublicKey, Unverified};

const TS: u64 = 1_767_225_600_000;

fn charter(floors: BTreeMap<String, u64>) -> Vec<u8> {
    let key = SigningKey::from_bytes(&[1; 32]);
    let me = PublicKey(key.verifying_key().to_bytes());
    Writer::new(key, None, None)
        .next(
            Body::Charter(Charter {
                name: "Floorless".into(),
                members: vec![me],
                requesters: vec![],
                quorum_pct: 50,
                floors,
                limits: default_limits(),
                names: vec![taawun_core::body::Named {
                    key: me,
                    name: "Amina".into(),
                }],
            }),
            TS,
            None,
        )
        .envelope()
}

/// Section 3.3 and 4.4: `floors` may be empty in the encoding (`{ * tstr => u64 }`); an
/// empty map decodes and verifies, and the charter rules refuse it as `BadCharter`.
#[test]
fn an_empty_floors_map_decodes_and_is_bad_charter() {
    let env = charter(BTreeMap::new());
    let v = Unverified::decode(&env)
        .expect("an empty floors map is well formed")
        .verify()
        .expect("signed");
    match check(&Coop::new(), &v.id(), &v, None) {
        Err(Invalid::BadCharter(why)) => assert!(why.contains("floor"), "{why}"),
        other => panic!("expected BadCharter, got {other:?}"),
    }
    // With a floor, the same charter is valid.
    let env = charter([("EUR".to_string(), 1200)].into_iter().collect());
    let v = Unverified::decode(&env)
        .expect("decodes")
        .verify()
        .expect("signed");
    assert!(check(&Coop::new(), &v.id(), &v, None).is_ok());
}

/// Section 3.5 step 6: a single `"v"` other than 2 is `UnknownVersion`; `"v"` twice is a
/// key twice (step 7), `Cbor`, whatever the values.
#[test]
fn a_duplicated_v_key_is_cbor_not_an_unknown_version() {
    let sig = [0u8; 64];
    // {"v": 3}
    let one = vec![0xa1, 0x61, b'v', 0x03];
    assert!(matches!(
        Unverified::from_parts(one, sig),
        Err(DecodeError::UnknownVersion { found: 3 })
    ));
    for (a, b) in [(1u8, 2u8), (2, 1), (2, 2), (1, 1)] {
        // {"v": a, "v": b}
        let twice = vec![0xa2, 0x61, b'v', a, 0x61, b'v', b];
        match Unverified::from_parts(twice, sig) {
            Err(DecodeError::Cbor(_)) => {}
            other => panic!("v = {a} then {b}: expected Cbor, got {other:?}"),
        }
    }
}
