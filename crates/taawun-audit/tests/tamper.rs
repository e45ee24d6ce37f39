//! The auditor against a realistic ledger and against each way of tampering with it:
//! every tampering is found and named by its rule, the clean ledger passes, and the
//! streamed fold agrees with the reference fold (`taawun_core::fold::Coop`).

mod agree;

use ed25519_dalek::SigningKey;
use std::io::Write;
use taawun_audit::report::{Finding, Report};
use taawun_audit::Options;
use taawun_core::body::{Action, Body, Enact, Proposal, Review, Vote};
use taawun_core::entry::Timestamp;
use taawun_core::synth::{self, Params, Scenario};
use taawun_core::validate::Head;
use taawun_core::writer::Writer;
use taawun_core::{Id, PublicKey, Verified};
use taawun_ledger::export::header_bytes;

/// A fixed start well in the past, so nothing is judged against today's clock.
const START: Timestamp = 1_700_000_000_000;

fn scenario(entries: usize) -> Scenario {
    synth::generate(&Params {
        seed: 11,
        members: 6,
        requesters: 2,
        entries,
        start: START,
    })
}

fn envelopes(s: &Scenario) -> Vec<Vec<u8>> {
    s.entries.iter().map(Verified::envelope).collect()
}

fn audit(coop: &Id, envs: &[Vec<u8>]) -> Report {
    let mut f = tempfile::tempfile().expect("temp file");
    f.write_all(&header_bytes(coop)).expect("write");
    for e in envs {
        f.write_all(e).expect("write");
    }
    use std::io::Seek;
    f.rewind().expect("rewind");
    taawun_audit::audit(f, "test", &Options::default(), &mut |_| {}).expect("readable")
}

fn rules(r: &Report) -> Vec<&str> {
    r.violations
        .listed
        .iter()
        .map(|f| f.rule.as_str())
        .collect()
}

fn only<'a>(r: &'a Report, rule: &str) -> &'a Finding {
    let found: Vec<&Finding> = r
        .violations
        .listed
        .iter()
        .filter(|f| f.rule == rule)
        .collect();
    assert_eq!(found.len(), 1, "one {rule} in {:#?}", r.violations.listed);
    found[0]
}

fn pk(k: &SigningKey) -> PublicKey {
    PublicKey(k.verifying_key().to_bytes())
}

/// A writer continuing `key`'s chain after the scenario's entries.
fn writer(s: &Scenario, key: &SigningKey) -> Writer {
    let last = s
        .entries
        .iter()
        .rev()
        .find(|v| v.entry().author == pk(key))
        .map(|v| Head {
            seq: v.entry().seq,
            id: v.id(),
            ts: v.entry().ts,
            gov: v.entry().gov,
        });
    Writer::new(key.clone(), Some(s.coop), last)
}

#[test]
fn the_clean_ledger_passes_and_the_fold_agrees_with_the_reference() {
    let s = scenario(1500);
    let r = audit(&s.coop, &envelopes(&s));
    assert!(r.is_clean(), "{:#?}", r.violations.listed);
    assert_eq!(r.valid_entries, s.entries.len() as u64);
    assert_eq!(r.items, s.entries.len() as u64);
    for kind in [
        "charter", "proposal", "vote", "enact", "offer", "claim", "assign", "submit", "accept",
        "reject", "settle", "receipt", "review",
    ] {
        assert!(r.kinds.contains_key(kind), "no {kind} in {:?}", r.kinds);
    }

    let now = r.judged_at_ms;
    assert_eq!(
        now,
        s.entries.iter().map(|v| v.entry().ts).max().unwrap_or(0)
    );
    let coop = agree::fold(&s.entries);
    for k in &s.requesters {
        assert!(
            r.requesters.iter().any(|q| q.requester == pk(k).to_hex()),
            "a record of every requester"
        );
    }
    agree::assert_agrees(&r, &coop);
    let eur = &r.wages["EUR"];
    assert!(eur.accepted > 0 && eur.rate_accepted.is_some());
    assert_eq!(eur.floor_now, synth::FLOOR_EUR + 100);
    let html = taawun_audit::html::render(&r);
    assert!(html.contains("<svg") && html.contains("Mechanical Turk"));
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["violations"]["count"], 0);
}

#[test]
fn a_flipped_byte_is_a_bad_signature() {
    let s = scenario(400);
    let mut envs = envelopes(&s);
    let i = s
        .entries
        .iter()
        .position(|v| matches!(v.entry().body, Body::Offer(_)) && v.entry().seq > 3)
        .expect("an offer");
    let at = envs[i]
        .windows(5)
        .position(|w| w == b"Task ")
        .expect("a title");
    envs[i][at] ^= 0x01; // "Task" becomes "Uask": still a well-formed entry
    let r = audit(&s.coop, &envs);
    let f = only(&r, "BadSignature");
    assert_eq!(f.item, Some(i as u64 + 1));
    assert_eq!(f.author, Some(s.entries[i].entry().author.to_hex()));
    assert!(!r.is_clean());
}

#[test]
fn a_dropped_entry_is_a_gap_in_its_chain() {
    let s = scenario(400);
    let mut envs = envelopes(&s);
    let i = s
        .entries
        .iter()
        .position(|v| matches!(v.entry().body, Body::Claim(_)) && v.entry().seq > 3)
        .expect("a claim");
    let gone = &s.entries[i];
    envs.remove(i);
    let r = audit(&s.coop, &envs);
    let f = only(&r, "ChainGap");
    assert_eq!(f.author, Some(gone.entry().author.to_hex()));
    assert!(
        f.detail
            .contains(&format!("no valid entry at seq {}", gone.entry().seq)),
        "{}",
        f.detail
    );
}

#[test]
fn two_entries_swapped_are_out_of_order() {
    let s = scenario(400);
    let mut envs = envelopes(&s);
    // A claim right after the offer it names.
    let i = (1..s.entries.len())
        .find(|&i| match &s.entries[i].entry().body {
            Body::Claim(c) => c.offer == s.entries[i - 1].id(),
            _ => false,
        })
        .expect("a claim after its offer");
    envs.swap(i - 1, i);
    let r = audit(&s.coop, &envs);
    let f = only(&r, "OutOfOrder");
    assert_eq!(f.id, Some(s.entries[i].id().to_hex()));
    assert_eq!(r.violations.count, 1, "{:#?}", r.violations.listed);
}

#[test]
fn an_entry_forged_with_a_fresh_key_is_not_allowed() {
    let s = scenario(300);
    let mut envs = envelopes(&s);
    let stranger = SigningKey::from_bytes(&[42; 32]);
    let mut w = Writer::new(stranger.clone(), Some(s.coop), None);
    let v = w.next(
        Body::Review(Review {
            requester: pk(&s.requesters[0]),
            pay: 1,
            fairness: 1,
            promptness: 1,
            communication: 1,
            text: None,
        }),
        s.end + 1000,
        None,
    );
    envs.push(v.envelope());
    let r = audit(&s.coop, &envs);
    let f = only(&r, "NotAllowed");
    assert_eq!(f.author, Some(pk(&stranger).to_hex()));
    assert_eq!(f.id, Some(v.id().to_hex()));
    assert_eq!(r.violations.count, 1);
}

#[test]
fn an_entry_by_a_removed_member_is_found() {
    let s = scenario(300);
    let mut envs = envelopes(&s);
    let gov = s
        .entries
        .iter()
        .find(|v| matches!(v.entry().body, Body::Enact(_)))
        .map(Verified::id)
        .expect("the synthetic amendment");
    let gone = &s.members[5];
    let mut ws: Vec<Writer> = s.members.iter().map(|k| writer(&s, k)).collect();
    let mut now = s.end + 1000;
    let prop = ws[0].next(
        Body::Proposal(Proposal {
            action: Action::RemoveMember(pk(gone)),
            reason: "left the cooperative".into(),
        }),
        now,
        Some(gov),
    );
    envs.push(prop.envelope());
    let mut votes = Vec::new();
    for w in ws.iter_mut().take(3) {
        now += 1000;
        let v = w.next(
            Body::Vote(Vote {
                proposal: prop.id(),
                yes: true,
            }),
            now,
            Some(gov),
        );
        votes.push(v.id());
        envs.push(v.envelope());
    }
    now += 1000;
    let effective_at = now + 2 * 60 * 60 * 1000;
    let enact = ws[0].next(
        Body::Enact(Enact {
            proposal: prop.id(),
            votes,
            effective_at,
        }),
        now,
        Some(gov),
    );
    envs.push(enact.envelope());
    // The removed member writes after its removal took effect, naming the governance
    // from before it: valid under what it names, void by the cooperative's history.
    let late = ws[5].next(
        Body::Review(Review {
            requester: pk(&s.requesters[0]),
            pay: 5,
            fairness: 5,
            promptness: 5,
            communication: 5,
            text: None,
        }),
        effective_at + 1,
        None,
    );
    envs.push(late.envelope());
    let r = audit(&s.coop, &envs);
    let f = only(&r, "NoRoleAtTime");
    assert_eq!(f.id, Some(late.id().to_hex()));
    assert_eq!(f.author, Some(pk(gone).to_hex()));
    assert_eq!(r.violations.count, 1, "{:#?}", r.violations.listed);
    assert_eq!(r.rules.members, 5);
}

#[test]
fn an_offer_under_the_floor_resigned_by_its_requester_is_named_with_its_numbers() {
    let s = scenario(400);
    let mut envs = envelopes(&s);
    let i = s
        .entries
        .iter()
        .rposition(|v| matches!(v.entry().body, Body::Offer(_)))
        .expect("an offer");
    let old = &s.entries[i];
    let key = s
        .requesters
        .iter()
        .find(|k| pk(k) == old.entry().author)
        .expect("its requester");
    let mut e = old.entry().clone();
    let Body::Offer(o) = &mut e.body else {
        unreachable!("chosen as an offer")
    };
    o.pay.minor = 100;
    let minutes = o.minutes;
    let forged = e.sign(key);
    envs[i] = forged.envelope();
    let r = audit(&s.coop, &envs);
    let f = only(&r, "OfferBelowFloor");
    assert_eq!(f.id, Some(forged.id().to_hex()));
    assert_eq!(f.author, Some(pk(key).to_hex()));
    assert!(
        f.detail.contains(&format!("1.00 EUR for {minutes} min"))
            && f.detail.contains("floor of 13.00 EUR/h"),
        "{}",
        f.detail
    );
}

#[test]
fn a_fork_is_an_equivocation_with_both_ids() {
    let s = scenario(400);
    let mut envs = envelopes(&s);
    let m = &s.members[1];
    let original = s
        .entries
        .iter()
        .filter(|v| v.entry().author == pk(m) && v.entry().seq > 2)
        .nth(2)
        .expect("an entry of the member");
    let mut e = original.entry().clone();
    e.body = Body::Review(Review {
        requester: pk(&s.requesters[0]),
        pay: 2,
        fairness: 2,
        promptness: 2,
        communication: 2,
        text: None,
    });
    let second = e.sign(m);
    envs.push(second.envelope());
    let r = audit(&s.coop, &envs);
    let f = only(&r, "Equivocation");
    assert_eq!(f.id, Some(second.id().to_hex()));
    assert_eq!(f.other_id, Some(original.id().to_hex()));
    assert_eq!(f.author, Some(pk(m).to_hex()));
}

#[test]
fn unreadable_files_are_errors_not_panics() {
    let s = scenario(50);
    let mut bytes = header_bytes(&s.coop);
    for e in envelopes(&s) {
        bytes.extend(e);
    }
    let run = |b: &[u8]| {
        let mut f = tempfile::tempfile().expect("temp file");
        f.write_all(b).expect("write");
        use std::io::Seek;
        f.rewind().expect("rewind");
        taawun_audit::audit(f, "bad", &Options::default(), &mut |_| {})
    };
    let cut = &bytes[..bytes.len() - 10];
    let e = run(cut).expect_err("truncated");
    assert!(e.to_string().contains("truncated"), "{e}");
    let e = run(b"hello, world").expect_err("garbage");
    assert!(
        e.to_string().contains("not a readable taawun ledger"),
        "{e}"
    );
    let e = run(b"").expect_err("empty");
    assert!(e.to_string().contains("empty"), "{e}");
    let mut other = bytes.clone();
    other[4] ^= 0x20; // inside "format"
    assert!(run(&other).is_err());
    assert!(rules(&audit(&s.coop, &[])).is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any one byte changed anywhere in the file, header included, is either an
    /// unreadable file or a reported break: never a panic, never a clean report.
    #[test]
    fn any_changed_byte_is_caught(at in 0usize..1_000_000, mask in 1u8..=255) {
        let s = small();
        let mut bytes = header_bytes(&s.coop);
        for e in envelopes(s) {
            bytes.extend(e);
        }
        let at = at % bytes.len();
        bytes[at] ^= mask;
        let mut f = tempfile::tempfile().expect("temp file");
        f.write_all(&bytes).expect("write");
        use std::io::Seek;
        f.rewind().expect("rewind");
        if let Ok(r) = taawun_audit::audit(f, "flip", &Options::default(), &mut |_| {}) {
            proptest::prop_assert!(!r.is_clean(), "byte {} ^ {:#x} went unnoticed", at, mask);
        }
    }
}

/// One small ledger shared by the property cases.
fn small() -> &'static Scenario {
    static S: std::sync::OnceLock<Scenario> = std::sync::OnceLock::new();
    S.get_or_init(|| scenario(60))
}
