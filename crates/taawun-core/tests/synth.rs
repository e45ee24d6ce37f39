//! The synthetic generator produces ledgers that the protocol accepts whole.

use taawun_core::fold::Coop;
use taawun_core::synth::{generate, Params};
use taawun_core::Outcome;

#[test]
fn synthetic_ledger_is_valid_entry_by_entry() {
    let s = generate(&Params {
        entries: 600,
        ..Params::default()
    });
    assert!(s.entries.len() >= 600);
    let mut c = Coop::new();
    for v in &s.entries {
        let out = c.ingest(v.clone(), Some(s.end));
        assert_eq!(out, Ok(Outcome::Fresh), "{:?}", v.entry());
    }
    assert_eq!(c.id(), Some(s.coop));
}

#[test]
fn same_seed_same_bytes() {
    let p = Params {
        entries: 100,
        ..Params::default()
    };
    let a: Vec<Vec<u8>> = generate(&p).entries.iter().map(|v| v.envelope()).collect();
    let b: Vec<Vec<u8>> = generate(&p).entries.iter().map(|v| v.envelope()).collect();
    assert_eq!(a, b);
}

#[test]
fn streaming_gives_the_same_entries() {
    let p = Params {
        entries: 120,
        ..Params::default()
    };
    let kept: Vec<Vec<u8>> = generate(&p).entries.iter().map(|v| v.envelope()).collect();
    let mut streamed = Vec::new();
    let s = taawun_core::synth::stream(&p, &mut |v| streamed.push(v.envelope()));
    assert_eq!(streamed, kept);
    assert_eq!(s.entries, kept.len());
}

#[test]
fn records_of_several_requesters_equal_each_record() {
    let s = generate(&Params {
        entries: 600,
        requesters: 3,
        ..Params::default()
    });
    let mut c = Coop::new();
    for v in &s.entries {
        c.ingest(v.clone(), Some(s.end)).expect("valid");
    }
    let keys: Vec<taawun_core::PublicKey> = s
        .requesters
        .iter()
        .map(|k| taawun_core::PublicKey(k.verifying_key().to_bytes()))
        .collect();
    let all = c.records(&keys, s.end);
    assert_eq!(all.len(), keys.len());
    for k in &keys {
        let one = c.record(k, s.end);
        assert!(
            one.submissions > 0,
            "the generator gives every requester work"
        );
        assert_eq!(all[k], one);
    }
}

#[test]
fn a_submission_looked_up_by_id_is_the_one_the_list_gives() {
    let s = generate(&Params {
        entries: 800,
        ..Params::default()
    });
    let mut c = Coop::new();
    for v in &s.entries {
        c.ingest(v.clone(), Some(s.end)).expect("valid");
    }
    let at = |i: usize| s.entries[i].entry().ts;
    let n = s.entries.len();
    let day = 24 * 60 * 60 * 1000;
    for now in [at(n / 4), at(n / 2), at(3 * n / 4), s.end, s.end + 30 * day] {
        let listed = c.submissions(now);
        assert!(!listed.is_empty());
        // Every Submit held, listed or not (work that fills no place is not listed).
        for id in c.ids(taawun_core::Kind::Submit) {
            let from_list = listed.iter().find(|x| x.id == *id).cloned();
            assert_eq!(c.submission(id, now), from_list, "submission {id} at {now}");
        }
        // Ids of other entries are no submission.
        for id in c.ids(taawun_core::Kind::Offer).take(5) {
            assert_eq!(c.submission(id, now), None);
        }
    }
}

#[test]
fn reads_between_applies_give_what_a_fresh_fold_gives() {
    let s = generate(&Params {
        entries: 600,
        ..Params::default()
    });
    let mut read = Coop::new();
    for v in &s.entries {
        read.ingest(v.clone(), Some(s.end)).expect("valid");
        // Read after every entry, so that each read state's timeline and witnessed
        // times are built before the next entry changes it.
        let _ = (read.timeline(), read.witnessed());
    }
    let mut fresh = Coop::new();
    for v in &s.entries {
        fresh.ingest(v.clone(), Some(s.end)).expect("valid");
    }
    assert_eq!(read.witnessed(), fresh.witnessed());
    assert_eq!(read.timeline(), fresh.timeline());
    assert_eq!(read.submissions(s.end), fresh.submissions(s.end));
    assert_eq!(read.balances(s.end), fresh.balances(s.end));
}

#[test]
fn every_submission_s_result_bytes_are_kept_and_match_it() {
    use taawun_core::body::Body;
    use taawun_core::Hash;
    let s = generate(&Params {
        entries: 300,
        ..Params::default()
    });
    let mut submissions = 0;
    for v in &s.entries {
        if let Body::Submit(sub) = &v.entry().body {
            submissions += 1;
            let bytes = s.results.get(&v.id()).expect("the result is kept");
            assert_eq!(bytes.len() as u64, sub.size);
            assert_eq!(Hash::of(bytes), sub.result);
        }
    }
    assert!(submissions > 0);
    assert_eq!(s.results.len(), submissions);
}

#[test]
fn devices_are_authorised_by_members_and_speak_for_them() {
    let p = Params {
        entries: 150,
        ..Params::default()
    };
    let s = taawun_core::synth::generate_with_devices(&p, 2, 3);
    assert_eq!(s.devices.len(), 3);
    let mut c = Coop::new();
    for v in &s.entries {
        let out = c.ingest(v.clone(), Some(s.end));
        assert_eq!(out, Ok(Outcome::Fresh), "{:?}", v.entry());
    }
    let pk = |k: &ed25519_dalek::SigningKey| taawun_core::PublicKey(k.verifying_key().to_bytes());
    for (key, member) in &s.devices {
        assert_eq!(c.speaker(&pk(key)), *member);
        assert!(c
            .devices(member)
            .iter()
            .any(|(d, revoked)| *d == pk(key) && revoked.is_none()));
    }
    // Without devices, the same entries as with witnesses alone.
    let plain: Vec<Vec<u8>> = taawun_core::synth::generate_with_witnesses(&p, 2)
        .entries
        .iter()
        .map(|v| v.envelope())
        .collect();
    let none: Vec<Vec<u8>> = taawun_core::synth::generate_with_devices(&p, 2, 0)
        .entries
        .iter()
        .map(|v| v.envelope())
        .collect();
    assert_eq!(plain, none);
}

#[test]
fn appeals_are_witnessed_and_seat_a_jury() {
    let p = Params {
        entries: 600,
        ..Params::default()
    };
    let extras = taawun_core::synth::Extras {
        witnesses: 6,
        appeals: true,
        ..Default::default()
    };
    let s = taawun_core::synth::generate_with(&p, &extras);
    let mut c = Coop::new();
    for v in &s.entries {
        let out = c.ingest(v.clone(), Some(s.end));
        assert_eq!(out, Ok(Outcome::Fresh), "{:?}", v.entry());
    }
    // Once the witness slack has passed, each appeal's jury sits.
    let now = s.end + taawun_core::fold::WITNESS_SLACK_MS + 1;
    let appeals = c.appeals(now);
    assert!(appeals.len() >= 2, "{} appeals", appeals.len());
    for a in &appeals {
        assert!(a.reply.is_some(), "{a:?}");
        let open = a.open_seats().count();
        assert!(open > 0, "no juror sits on {a:?}");
        assert!(a.seats.iter().all(|s| s.member != a.appellant));
    }
    // Without appeals, the entries of the plain generator with those witnesses.
    let plain: Vec<Vec<u8>> = taawun_core::synth::generate_with_witnesses(&p, 6)
        .entries
        .iter()
        .map(|v| v.envelope())
        .collect();
    let none = taawun_core::synth::generate_with(
        &p,
        &taawun_core::synth::Extras {
            witnesses: 6,
            ..Default::default()
        },
    );
    let none: Vec<Vec<u8>> = none.entries.iter().map(|v| v.envelope()).collect();
    assert_eq!(plain, none);
}
