//! The sled ledger against the in-memory reference fold, on real sled databases in
//! temporary directories. Every scenario is generated from a fixed seed.

use proptest::prelude::*;
use taawun_core::body::{Body, Evidence, Offer, Review};
use taawun_core::fold::Coop;
use taawun_core::synth::{self, Rng, Scenario};
use taawun_core::validate::Head;
use taawun_core::writer::Writer;
use taawun_core::{Context, Id, Invalid, Kind, Missing, Money, PublicKey, Verified};
use taawun_ledger::{
    export, verify, AppendError, CoopLedger, FormatError, Ingest, Ledger, LedgerError,
};

mod common;
use common::{founded, pk, reference, scenario};

fn ingest_all(c: &mut CoopLedger, entries: &[Verified]) {
    for v in entries {
        let out = c.ingest(v.clone(), None).expect("ingests");
        assert!(matches!(out, Ingest::Stored { .. }), "{out:?}");
    }
}

/// Chain heads by author.
type Heads = Vec<(PublicKey, Head)>;

fn heads(c: &CoopLedger) -> Heads {
    c.heads().expect("heads")
}

fn ref_heads(r: &Coop) -> Heads {
    r.heads().iter().map(|(k, h)| (*k, *h)).collect()
}

/// The governance the synthetic entries name after the amendment.
fn enactment(s: &Scenario) -> Id {
    s.entries
        .iter()
        .find(|v| matches!(v.entry().body, Body::Enact(_)))
        .expect("the scenario enacts")
        .id()
}

fn offer(pay: u64, minutes: u32, ts: u64) -> Body {
    Body::Offer(Offer {
        title: "Transcribe".into(),
        description: "Transcribe ten minutes of audio.".into(),
        purpose: "Oral history archive of the village".into(),
        pay: Money::new("EUR", pay),
        minutes,
        assignments: 1,
        expires_at: ts + 24 * 60 * 60 * 1000,
        review_window_ms: 24 * 60 * 60 * 1000,
        claim_window_ms: 60 * 60 * 1000,
        commit: taawun_core::lottery::commit(&taawun_core::Hash([7; 32])),
    })
}

/// A review without text; `why` only says, at the call, what the entry is for.
fn review(requester: PublicKey, why: &str) -> Body {
    let _ = why;
    Body::Review(Review {
        requester,
        pay: 4,
        fairness: 4,
        promptness: 4,
        communication: 4,
        text: None,
    })
}

#[test]
fn ingest_one_at_a_time_matches_the_fold() {
    let s = scenario(1, 250);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    for v in &s.entries[1..] {
        let out = c.ingest(v.clone(), Some(s.end)).expect("ingests");
        assert_eq!(
            out,
            Ingest::Stored {
                id: v.id(),
                released: vec![]
            }
        );
    }
    // Again: every one is a duplicate.
    for v in &s.entries {
        assert_eq!(
            c.ingest(v.clone(), None).expect("ingests"),
            Ingest::Duplicate
        );
    }
    let r = reference(&s.entries);
    let state = c.state().expect("state");
    assert_eq!(c.len(), s.entries.len() as u64);
    assert_eq!(heads(&c), ref_heads(&r));
    let later = s.end + 30 * 24 * 60 * 60 * 1000;
    for now in [s.end, later] {
        assert_eq!(state.balances(now), r.balances(now));
        assert_eq!(state.offers(now), r.offers(now));
    }
    assert_eq!(state, r);
}

#[test]
fn reopening_keeps_everything() {
    let s = scenario(2, 150);
    let dir = tempfile::tempdir().expect("tempdir");
    let before = {
        let (l, mut c) = founded(dir.path(), &s);
        ingest_all(&mut c, &s.entries[1..]);
        // One handle per cooperative.
        assert!(matches!(l.coop(&s.coop), Err(LedgerError::Busy(id)) if id == s.coop));
        (heads(&c), c.state().expect("state"))
    };
    let l = Ledger::open(dir.path()).expect("reopens");
    assert_eq!(l.coops().expect("coops"), vec![s.coop]);
    let c = l.coop(&s.coop).expect("opens the cooperative");
    assert_eq!(c.len(), s.entries.len() as u64);
    assert_eq!(heads(&c), before.0);
    assert_eq!(c.state().expect("state"), before.1);
    for v in &s.entries {
        assert_eq!(c.get(&v.id()).expect("reads").as_ref(), Some(v));
    }
    let log: Vec<Id> = c.log_ids().collect::<Result<_, _>>().expect("log");
    assert_eq!(log, s.entries.iter().map(Verified::id).collect::<Vec<_>>());
    // Positioned reads: inside a block, at block edges, at the end and past it.
    for from in [
        0,
        1,
        31,
        32,
        33,
        64,
        100,
        log.len() - 1,
        log.len(),
        log.len() + 40,
    ] {
        let tail: Vec<Id> = c
            .log_ids_from(from as u64)
            .take(40)
            .collect::<Result<_, _>>()
            .expect("log from a position");
        let want: Vec<Id> = log.iter().skip(from).take(40).copied().collect();
        assert_eq!(tail, want, "from {from}");
    }
    assert!(matches!(
        l.coop(&Id([1; 32])),
        Err(LedgerError::UnknownCoop(_))
    ));
}

/// Delivers the scenario's entries (charter first) in a seeded random order; returns the
/// ledger's heads, the reference heads and how many entries were buffered on arrival.
fn shuffled(seed: u64, entries: usize) -> (Heads, Heads, usize) {
    let s = scenario(seed, entries);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    let mut order: Vec<Verified> = s.entries[1..].to_vec();
    let mut rng = Rng::new(seed ^ 0xdead_beef);
    for i in (1..order.len()).rev() {
        let j = rng.range(0, i as u64) as usize;
        order.swap(i, j);
    }
    let mut buffered = 0;
    let mut stored = 1;
    for v in order {
        match c.ingest(v, None).expect("ingests") {
            Ingest::Stored { released, .. } => stored += 1 + released.len(),
            Ingest::Pending(_) => buffered += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(stored, s.entries.len());
    assert_eq!(c.pending_len(), 0);
    assert_eq!(c.state().expect("state"), reference(&s.entries));
    (heads(&c), ref_heads(&reference(&s.entries)), buffered)
}

#[test]
fn shuffled_delivery_is_buffered_then_released() {
    let (got, want, buffered) = shuffled(3, 200);
    assert!(buffered > 20, "the shuffle should leave gaps ({buffered})");
    assert_eq!(got, want);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn any_delivery_order_converges(seed in any::<u64>()) {
        let (got, want, _) = shuffled(seed, 60);
        prop_assert_eq!(got, want);
    }
}

#[test]
fn a_gap_is_reported_precisely() {
    let s = scenario(4, 200);
    // The member with the longest chain.
    let r = reference(&s.entries);
    let (author, _) = r
        .heads()
        .iter()
        .filter(|(k, _)| s.members.iter().any(|m| pk(m) == **k))
        .max_by_key(|(_, h)| h.seq)
        .expect("members wrote");
    let author = *author;
    let by = |seq: u64| {
        s.entries
            .iter()
            .find(|v| v.entry().author == author && v.entry().seq == seq)
            .expect("entry")
            .clone()
    };
    let (e2, e3, e4) = (by(2), by(3), by(4));
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    let mut held = Vec::new();
    for v in &s.entries[1..] {
        if v.id() == e2.id() || v.id() == e3.id() {
            held.push(v.clone());
            continue;
        }
        let out = c.ingest(v.clone(), None).expect("ingests");
        if v.id() == e4.id() {
            assert_eq!(
                out,
                Ingest::Pending(Missing::Gap {
                    author,
                    from: 2,
                    to: 3
                })
            );
        }
    }
    assert!(c.is_pending(&e4.id()));
    // Seq 2 fills half the gap: seq 4 now waits for 3.
    assert!(matches!(
        c.ingest(e2.clone(), None).expect("ingests"),
        Ingest::Stored { released, .. } if !released.contains(&e4.id())
    ));
    match c.ingest(e3.clone(), None).expect("ingests") {
        Ingest::Stored { released, .. } => assert!(released.contains(&e4.id())),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(c.pending_len(), 0);
    assert_eq!(heads(&c), ref_heads(&r));
}

#[test]
fn a_missing_dependency_is_reported_and_released() {
    let s = scenario(5, 120);
    let claim_at = s
        .entries
        .iter()
        .position(|v| matches!(v.entry().body, Body::Claim(_)))
        .expect("a claim");
    let Body::Claim(claim) = &s.entries[claim_at].entry().body else {
        unreachable!()
    };
    let offer = claim.offer;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    let before: Vec<Verified> = s.entries[1..claim_at]
        .iter()
        .filter(|v| v.id() != offer)
        .cloned()
        .collect();
    ingest_all(&mut c, &before);
    let claim = s.entries[claim_at].clone();
    assert_eq!(
        c.ingest(claim.clone(), None).expect("ingests"),
        Ingest::Pending(Missing::Dependency(offer))
    );
    // Delivered twice, buffered once.
    assert_eq!(
        c.ingest(claim.clone(), None).expect("ingests"),
        Ingest::Pending(Missing::Dependency(offer))
    );
    assert_eq!(c.pending_len(), 1);
    let offer_entry = s.entries.iter().find(|v| v.id() == offer).expect("offer");
    assert_eq!(
        c.ingest(offer_entry.clone(), None).expect("ingests"),
        Ingest::Stored {
            id: offer,
            released: vec![claim.id()]
        }
    );
    assert_eq!(c.by_offer(&offer).expect("index"), vec![claim.id()]);
}

#[test]
fn a_kept_state_refreshed_in_steps_equals_a_full_replay() {
    let s = scenario(11, 300);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    let mut kept = Coop::new();
    c.refresh_state(&mut kept).expect("refreshes");
    assert_eq!(kept, reference(&s.entries[..1]));
    let mut at: usize = 1;
    for step in [1, 7, 50, 0, 120, usize::MAX] {
        let end = at.saturating_add(step).min(s.entries.len());
        ingest_all(&mut c, &s.entries[at..end]);
        at = end;
        // Staged entries included: a refresh commits the staged group first.
        c.refresh_state(&mut kept).expect("refreshes");
        assert_eq!(kept, c.state().expect("state"), "after {end} entries");
        assert_eq!(kept, reference(&s.entries[..end]), "after {end} entries");
    }
    assert_eq!(at, s.entries.len());
}

#[test]
fn equivocation_keeps_evidence_and_freezes_the_author() {
    let s = scenario(6, 150);
    let dir = tempfile::tempdir().expect("tempdir");
    let (l, mut c) = founded(dir.path(), &s);
    ingest_all(&mut c, &s.entries[1..]);
    let mut r = reference(&s.entries);
    let mut kept = c.state().expect("state");
    let key = &s.members[1];
    let author = pk(key);
    let (head, prev_head) = fork_point(&c, &author);
    let requester = pk(&s.requesters[0]);
    let fork = Writer::new(key.clone(), Some(s.coop), Some(prev_head)).next(
        review(requester, "a second entry at the same seq"),
        head.ts,
        prev_head.gov,
    );
    assert_eq!(fork.entry().seq, head.seq);
    let existing = c.get(&head.id).expect("reads").expect("stored");
    let out = c.ingest(fork.clone(), None).expect("ingests");
    assert_eq!(
        out,
        Ingest::Equivocation {
            existing: head.id,
            evidence: Evidence {
                a: existing.envelope(),
                b: fork.envelope(),
            },
            released: vec![],
        }
    );
    assert_eq!(c.frozen().get(&author), Some(&head.seq));
    assert_eq!(c.evidence().expect("evidence").len(), 1);
    // A kept state learns of the freeze, though the log did not grow.
    c.refresh_state(&mut kept).expect("refreshes");
    assert_eq!(kept.frozen_authors().get(&author), Some(&head.seq));
    // The second entry is valid on its own branch: stored beside the chain, not the head.
    assert_eq!(c.get(&fork.id()).expect("reads").as_ref(), Some(&fork));
    assert_eq!(c.head(&author).expect("reads"), Some(head));
    r.ingest(fork.clone(), None)
        .expect("the fold sees the fork");
    // The author's next entry on the chain is stored (it counts only if an obligation).
    let next = Writer::new(key.clone(), Some(s.coop), Some(head)).next(
        review(requester, "after the fork"),
        head.ts + 1,
        None,
    );
    assert!(matches!(
        c.ingest(next.clone(), None).expect("ingests"),
        Ingest::Stored { .. }
    ));
    r.ingest(next, None).expect("the fold takes it");
    // Another member publishes the evidence.
    let ev = match out {
        Ingest::Equivocation { evidence, .. } => evidence,
        _ => unreachable!(),
    };
    let witness = &s.members[0];
    let published = c
        .append(witness, Body::Evidence(ev), s.end, None)
        .expect("evidence entry");
    r.ingest(published, None).expect("the fold takes it");
    assert_eq!(c.state().expect("state"), r);
    c.refresh_state(&mut kept).expect("refreshes");
    assert_eq!(kept, r);
    // It all survives a restart.
    drop(c);
    let c = l.coop(&s.coop).expect("reopens");
    assert_eq!(c.frozen().get(&author), Some(&head.seq));
    assert_eq!(c.state().expect("state"), r);
}

#[test]
fn an_invalid_entry_is_rejected_with_its_rule_and_not_stored() {
    let s = scenario(7, 80);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    ingest_all(&mut c, &s.entries[1..]);
    let key = &s.requesters[0];
    let head = c.head(&pk(key)).expect("reads");
    let cheap = Writer::new(key.clone(), Some(s.coop), head).next(
        offer(100, 60, s.end),
        s.end,
        Some(enactment(&s)),
    );
    let len = c.len();
    match c.ingest(cheap.clone(), Some(s.end)).expect("ingests") {
        Ingest::Rejected(Invalid::OfferBelowFloor {
            pay,
            minutes,
            floor,
            ..
        }) => {
            assert_eq!((pay, minutes), (100, 60));
            assert_eq!(floor, synth::FLOOR_EUR + 100);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(c.len(), len);
    assert!(c.get(&cheap.id()).expect("reads").is_none());
    assert_eq!(c.pending_len(), 0);
    assert_eq!(c.head(&pk(key)).expect("reads"), head);
}

#[test]
fn append_stores_durably_and_refuses_what_breaks_a_rule() {
    let s = scenario(8, 80);
    let dir = tempfile::tempdir().expect("tempdir");
    let key = &s.requesters[0];
    let written = {
        let (_l, mut c) = founded(dir.path(), &s);
        ingest_all(&mut c, &s.entries[1..]);
        let len = c.len();
        match c.append(key, offer(100, 60, s.end), s.end, None) {
            Err(AppendError::Invalid(Invalid::OfferBelowFloor { .. })) => {}
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(c.len(), len);
        let v = c
            .append(key, offer(1500, 60, s.end), s.end, None)
            .expect("a fair offer");
        // Written under the newest governance.
        assert_eq!(v.entry().gov, Some(enactment(&s)));
        assert_eq!(c.len(), len + 1);
        assert_eq!(c.head(&pk(key)).expect("reads").map(|h| h.id), Some(v.id()));
        v
    };
    let l = Ledger::open(dir.path()).expect("reopens");
    let c = l.coop(&s.coop).expect("opens");
    assert_eq!(c.get(&written.id()).expect("reads"), Some(written));
}

fn export_bytes(c: &CoopLedger) -> Vec<u8> {
    let mut out = Vec::new();
    let n = c.export(&mut out).expect("exports");
    // Every logged entry, and the second envelope of a fork only when it is not logged.
    let unlogged = c
        .evidence()
        .expect("evidence")
        .iter()
        .filter(|ev| {
            let id = taawun_core::entry::check_envelope(&ev.b)
                .verified()
                .expect("evidence verifies")
                .id();
            !c.contains(&id).expect("reads")
        })
        .count() as u64;
    assert_eq!(n, c.len() + unlogged);
    out
}

/// A snapshot writes the export as it stood when taken, whatever is stored after it (a
/// node writes large exports on another thread while it goes on storing).
#[test]
fn a_snapshot_writes_the_export_of_its_moment() {
    let s = scenario(9, 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    let half = s.entries.len() / 2;
    // Half staged (a snapshot commits them first), then fixed.
    ingest_all(&mut c, &s.entries[1..half]);
    let then = export_bytes(&c);
    let snapshot = c.snapshot().expect("snapshot");
    assert_eq!(snapshot.entries(), half as u64);
    // The rest stored and committed after it, including into the log block the
    // snapshot ends in.
    ingest_all(&mut c, &s.entries[half..]);
    c.commit().expect("commits");
    let mut out = Vec::new();
    assert_eq!(snapshot.write(&mut out).expect("writes"), half as u64);
    assert_eq!(out, then);
    // A snapshot taken now writes the whole of it, as the export does.
    let mut all = Vec::new();
    c.snapshot()
        .expect("snapshot")
        .write(&mut all)
        .expect("writes");
    assert_eq!(all, export_bytes(&c));
    assert_ne!(all, then);
}

#[test]
fn export_then_import_gives_the_same_ledger() {
    let s = scenario(9, 200);
    let a = tempfile::tempdir().expect("tempdir");
    let (_la, mut ca) = founded(a.path(), &s);
    ingest_all(&mut ca, &s.entries[1..]);
    let file = export_bytes(&ca);

    let b = tempfile::tempdir().expect("tempdir");
    let lb = Ledger::open(b.path()).expect("opens");
    let (id, report) = lb.import(&file[..]).expect("imports");
    assert_eq!(id, s.coop);
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.stored, s.entries.len() as u64);
    assert_eq!(report.items, s.entries.len() as u64);
    let mut cb = lb.coop(&id).expect("opens");
    assert_eq!(heads(&cb), heads(&ca));
    for (x, y) in ca.log_ids().zip(cb.log_ids()) {
        let (x, y) = (x.expect("log"), y.expect("log"));
        assert_eq!(x, y);
        assert_eq!(
            ca.envelope(&x).expect("reads"),
            cb.envelope(&y).expect("reads")
        );
    }
    assert_eq!(export_bytes(&cb), file);
    // Importing again stores nothing new.
    let again = cb.import(&file[..]).expect("imports");
    assert_eq!(again.duplicates, s.entries.len() as u64);
    assert_eq!(again.stored, 0);
    // The offline check agrees.
    let audit = verify(&file[..]).expect("verifies");
    assert!(audit.is_clean());
    assert_eq!(audit.entries(), s.entries.len() as u64);
    let json = audit.to_json();
    assert_eq!(json["entries"], s.entries.len() as u64);
    assert_eq!(json["coop"], s.coop.to_hex());
    assert!(audit.to_string().contains("every item valid"));
    assert_eq!(audit.coop, s.coop);
    assert_eq!(audit.kinds.values().sum::<u64>(), s.entries.len() as u64);
    assert_eq!(audit.kinds.get(&Kind::Charter), Some(&1));
    assert_eq!(audit.authors, heads(&ca).len());
    assert_eq!(audit.state, ca.state().expect("state"));
}

#[test]
fn an_exported_equivocation_freezes_the_importer_too() {
    let s = scenario(10, 100);
    let a = tempfile::tempdir().expect("tempdir");
    let (_la, mut ca) = founded(a.path(), &s);
    ingest_all(&mut ca, &s.entries[1..]);
    let key = &s.members[0];
    let head = ca.head(&pk(key)).expect("reads").expect("wrote");
    let prev = ca
        .range(&pk(key), head.seq - 1, 1)
        .expect("range")
        .remove(0);
    let fork = Writer::new(
        key.clone(),
        Some(s.coop),
        Some(Head {
            seq: prev.entry().seq,
            id: prev.id(),
            ts: prev.entry().ts,
            gov: prev.entry().gov,
        }),
    )
    .next(review(pk(&s.requesters[0]), "fork"), head.ts, None);
    assert!(matches!(
        ca.ingest(fork, None).expect("ingests"),
        Ingest::Equivocation { .. }
    ));
    let file = export_bytes(&ca);
    let b = tempfile::tempdir().expect("tempdir");
    let lb = Ledger::open(b.path()).expect("opens");
    let (_, report) = lb.import(&file[..]).expect("imports");
    assert_eq!(report.forks.count, 1);
    // The fork's second entry is in the file once (it used to follow the log again).
    assert_eq!(report.duplicates, 0, "{report:?}");
    assert_eq!(report.items, ca.len());
    let cb = lb.coop(&s.coop).expect("opens");
    assert_eq!(cb.frozen(), ca.frozen());
    assert_eq!(cb.state().expect("state"), ca.state().expect("state"));
}

/// A file cut inside its last entry (a torn write, a copy cut short) is reported as
/// truncated, and every whole entry before the cut is stored all the same: found by the
/// simulator (`taawun-sim`), whose crashes tear disk images; the import used to drop the
/// whole chunk of entries it was reading when the file ended.
#[test]
fn a_torn_file_keeps_every_whole_entry_before_the_tear() {
    let s = scenario(12, 60);
    let a = tempfile::tempdir().expect("tempdir");
    let (_la, mut ca) = founded(a.path(), &s);
    ingest_all(&mut ca, &s.entries[1..]);
    let file = export_bytes(&ca);
    let last = s.entries.last().expect("entries").envelope();
    let torn = &file[..file.len() - last.len() / 2];
    let d = tempfile::tempdir().expect("tempdir");
    let l = Ledger::open(d.path()).expect("opens");
    assert!(matches!(
        l.import(torn),
        Err(LedgerError::Format(FormatError::Truncated { .. }))
    ));
    let c = l.coop(&s.coop).expect("the charter was stored");
    assert_eq!(c.len(), ca.len() - 1, "every whole entry is kept");
    for v in &s.entries[..s.entries.len() - 1] {
        assert!(c.contains(&v.id()).expect("reads"), "{} lost", v.id());
    }
}

#[test]
fn broken_files_give_typed_errors() {
    let s = scenario(11, 40);
    let a = tempfile::tempdir().expect("tempdir");
    let (_la, mut ca) = founded(a.path(), &s);
    ingest_all(&mut ca, &s.entries[1..]);
    let file = export_bytes(&ca);
    let fresh = || {
        let d = tempfile::tempdir().expect("tempdir");
        let l = Ledger::open(d.path()).expect("opens");
        (d, l)
    };

    let (_d, l) = fresh();
    let cut = &file[..file.len() - 5];
    assert!(matches!(
        l.import(cut),
        Err(LedgerError::Format(FormatError::Truncated { .. }))
    ));
    assert!(matches!(
        verify(cut),
        Err(LedgerError::Format(FormatError::Truncated { .. }))
    ));

    let (_d, l) = fresh();
    let mut wrong = Vec::new();
    ciborium::into_writer(
        &ciborium::Value::Map(vec![
            ("format".into(), "not-taawun".into()),
            ("version".into(), 1.into()),
            ("coop".into(), ciborium::Value::Bytes(vec![0; 32])),
        ]),
        &mut wrong,
    )
    .expect("encodes");
    assert!(matches!(
        l.import(&wrong[..]),
        Err(LedgerError::Format(FormatError::NotAnExport(_)))
    ));

    for garbage in [&b"this is not a ledger"[..], b"\xff\xfe\xfd", b"\x1c", b""] {
        let (_d, l) = fresh();
        match l.import(garbage) {
            Err(LedgerError::Format(
                FormatError::NotAnExport(_) | FormatError::Empty | FormatError::Truncated { .. },
            )) => {}
            other => panic!("{garbage:?}: unexpected {other:?}"),
        }
        assert!(l.coops().expect("coops").is_empty());
    }

    // A header without the charter after it.
    let (_d, l) = fresh();
    let mut no_charter = export::header_bytes(&s.coop);
    no_charter.extend_from_slice(&s.entries[1].envelope());
    assert!(matches!(
        l.import(&no_charter[..]),
        Err(LedgerError::Format(FormatError::NoCharter(_)))
    ));

    // Another cooperative's file.
    let other = scenario(12, 10);
    let (_d, l) = fresh();
    let mut c = l.found(other.entries[0].clone()).expect("founds");
    assert!(matches!(
        c.import(&file[..]),
        Err(LedgerError::Format(FormatError::WrongCoop { .. }))
    ));
}

#[test]
fn one_flipped_signature_byte_is_one_bad_signature() {
    let s = scenario(13, 60);
    let mut file = export::header_bytes(&s.coop);
    let last = s.entries.len() - 1;
    for (i, v) in s.entries.iter().enumerate() {
        let mut env = v.envelope();
        if i == last {
            // The signature is the envelope's last 64 bytes.
            let at = env.len() - 10;
            env[at] ^= 0x01;
        }
        file.extend_from_slice(&env);
    }
    // Some garbage that is CBOR but no envelope: counted, skipped.
    file.extend_from_slice(&[0x83, 0x01, 0x02, 0x03]);
    let d = tempfile::tempdir().expect("tempdir");
    let l = Ledger::open(d.path()).expect("opens");
    let (_, report) = l.import(&file[..]).expect("imports");
    assert_eq!(report.bad_signatures.count, 1);
    assert_eq!(report.bad_signatures.first[0].0.item, last as u64 + 1);
    assert_eq!(report.bad_signatures.first[0].1, s.entries[last].id());
    assert_eq!(report.undecodable.count, 1);
    assert_eq!(
        report.undecodable.first[0].0.item,
        s.entries.len() as u64 + 1
    );
    assert_eq!(report.stored, last as u64);
    assert_eq!(report.pending, 0);
    let audit = verify(&file[..]).expect("verifies");
    assert_eq!(audit.report.bad_signatures.count, 1);
    assert_eq!(audit.report.stored, last as u64);
}

#[test]
fn sync_reads_serve_ranges_and_heads() {
    let s = scenario(14, 150);
    let d = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(d.path(), &s);
    ingest_all(&mut c, &s.entries[1..]);
    let r = reference(&s.entries);
    let (author, head) = r.heads().iter().max_by_key(|(_, h)| h.seq).expect("heads");
    let got = c.range(author, 2, 3).expect("range");
    let seqs: Vec<u64> = got.iter().map(|v| v.entry().seq).collect();
    assert_eq!(seqs, vec![2, 3, 4]);
    // Chains are stored 32 ids to a block: read across a block boundary.
    assert!(head.seq >= 34, "a chain longer than a block ({})", head.seq);
    let across: Vec<u64> = c
        .range(author, 30, 5)
        .expect("range")
        .iter()
        .map(|v| v.entry().seq)
        .collect();
    assert_eq!(across, vec![30, 31, 32, 33, 34]);
    assert_eq!(c.range(author, 0, 1).expect("range")[0].entry().seq, 1);
    for v in &got {
        assert_eq!(r.at(author, v.entry().seq), Some(v.id()));
    }
    assert_eq!(c.range(author, head.seq + 1, 10).expect("range"), vec![]);
    assert_eq!(
        c.range(author, 1, usize::MAX).expect("range").len() as u64,
        head.seq
    );
    let logged: Vec<Verified> = c.iter_log().collect::<Result<_, _>>().expect("log");
    assert_eq!(logged, s.entries);
}

#[test]
fn founding_checks_the_charter_and_is_idempotent() {
    let s = scenario(15, 10);
    let d = tempfile::tempdir().expect("tempdir");
    let l = Ledger::open(d.path()).expect("opens");
    assert!(matches!(
        l.found(s.entries[1].clone()),
        Err(LedgerError::NotACharter(_))
    ));
    // A charter whose quorum is out of range.
    let Body::Charter(mut ch) = s.entries[0].entry().body.clone() else {
        unreachable!()
    };
    ch.quorum_pct = 0;
    let bad = Writer::new(s.members[0].clone(), None, None).next(Body::Charter(ch), 1, None);
    assert!(matches!(
        l.found(bad),
        Err(LedgerError::InvalidCharter(Invalid::BadCharter(_)))
    ));
    assert!(l.coops().expect("coops").is_empty());
    let c = l.found(s.entries[0].clone()).expect("founds");
    drop(c);
    let c = l.found(s.entries[0].clone()).expect("opens again");
    assert_eq!(c.len(), 1);
    assert_eq!(l.coops().expect("coops"), vec![s.coop]);
}

#[test]
fn ingest_many_gives_the_outcomes_of_one_by_one() {
    let s = scenario(16, 300);
    let mut order: Vec<Verified> = s.entries[1..].to_vec();
    let mut rng = Rng::new(16);
    for i in (1..order.len()).rev() {
        let j = rng.range(0, i as u64) as usize;
        order.swap(i, j);
    }
    // Some twice, to see duplicates among them.
    order.extend(s.entries[1..20].iter().cloned());
    let (da, db) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let (_la, mut a) = founded(da.path(), &s);
    let (_lb, mut b) = founded(db.path(), &s);
    let one_by_one: Vec<Ingest> = order
        .iter()
        .map(|v| a.ingest(v.clone(), None).expect("ingests"))
        .collect();
    let many = b.ingest_many(order, None).expect("ingests");
    assert_eq!(many, one_by_one);
    assert!(many.iter().any(|x| matches!(x, Ingest::Duplicate)));
    assert_eq!(b.len(), s.entries.len() as u64);
    assert_eq!(b.state().expect("state"), reference(&s.entries));
}

#[test]
fn reports_render_their_problems() {
    let s = scenario(17, 30);
    let mut file = export::header_bytes(&s.coop);
    for v in &s.entries {
        file.extend_from_slice(&v.envelope());
    }
    // An offer under the floor, properly signed, and a non-envelope.
    let key = &s.requesters[0];
    let r = reference(&s.entries);
    let cheap = Writer::new(key.clone(), Some(s.coop), r.heads().get(&pk(key)).copied()).next(
        offer(100, 60, s.end),
        s.end,
        Some(enactment(&s)),
    );
    file.extend_from_slice(&cheap.envelope());
    file.extend_from_slice(&[0x01]);
    let summary = verify(&file[..]).expect("verifies");
    assert!(!summary.is_clean());
    assert_eq!(summary.report.rejected.count, 1);
    assert_eq!(summary.report.undecodable.count, 1);
    let text = summary.to_string();
    assert!(text.contains("PROBLEMS FOUND"), "{text}");
    assert!(text.contains("under the floor"), "{text}");
    assert_eq!(summary.to_json()["rejected"]["count"], 1);
    let d = tempfile::tempdir().expect("tmp");
    let (_, report) = Ledger::open(d.path())
        .expect("opens")
        .import(&file[..])
        .expect("imports");
    assert!(report.to_string().contains("rejected: 1"), "{report}");
}

/// A fork's second entry is stored beside the chain; an entry of its branch that came
/// first waits for it and is stored once it is, listed as released by the equivocation;
/// the branch grows; the ledger's state equals the fold of the same entries taken in
/// chain order; an import and an audit of a file in that arrival order count the
/// released entry as stored.
#[test]
fn a_fork_and_its_branch_are_stored_beside_the_chain() {
    let s = scenario(16, 150);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    ingest_all(&mut c, &s.entries[1..]);
    let author = pk(&s.members[1]);
    let (head, forked) = forked_reviews(&c, &s, 3);
    let [fork, branch, further] = <[Verified; 3]>::try_from(forked).expect("three");
    assert_eq!(fork.entry().seq, head.seq);
    // The branch's entry first: it waits for the entry it follows.
    assert_eq!(
        c.ingest(branch.clone(), None).expect("ingests"),
        Ingest::Pending(Missing::Dependency(fork.id()))
    );
    match c.ingest(fork.clone(), None).expect("ingests") {
        Ingest::Equivocation {
            existing, released, ..
        } => {
            assert_eq!(existing, head.id);
            assert_eq!(released, vec![branch.id()]);
        }
        other => panic!("expected an equivocation, got {other:?}"),
    }
    assert!(!c.is_pending(&branch.id()));
    assert_eq!(c.get(&fork.id()).expect("reads").as_ref(), Some(&fork));
    assert_eq!(c.get(&branch.id()).expect("reads").as_ref(), Some(&branch));
    assert_eq!(c.head(&author).expect("reads"), Some(head));
    assert_eq!(c.frozen().get(&author), Some(&head.seq));
    // A chain extending the second branch is stored.
    assert!(matches!(
        c.ingest(further.clone(), None).expect("ingests"),
        Ingest::Stored { .. }
    ));
    assert_eq!(
        c.get(&further.id()).expect("reads").as_ref(),
        Some(&further)
    );
    assert_eq!(c.head(&author).expect("reads"), Some(head));
    // The index of entries beside the chain lists the three, in (seq, id) order.
    let beside = vec![
        (fork.entry().seq, fork.id()),
        (branch.entry().seq, branch.id()),
        (further.entry().seq, further.id()),
    ];
    assert_eq!(beside_of(&c, &author), beside);
    assert_eq!(
        c.beside(&author, 2)
            .collect::<Result<Vec<_>, _>>()
            .expect("reads"),
        beside[2..].to_vec()
    );
    assert!(beside_of(&c, &pk(&s.members[0])).is_empty());
    // The branches of the fork: the chain's entries from the fork seq on and those
    // beside it, in (seq, id) order; none for an author that did not fork.
    let mut branches = beside.clone();
    branches.push((head.seq, head.id));
    branches.sort();
    assert_eq!(c.branches(&author, 100).expect("reads"), branches);
    assert_eq!(
        c.branches(&author, 2).expect("reads"),
        branches[..2].to_vec()
    );
    assert!(c
        .branches(&pk(&s.members[0]), 100)
        .expect("reads")
        .is_empty());
    assert_eq!(
        c.branch_tip(&author).expect("reads"),
        branches.last().copied()
    );
    assert_eq!(c.branch_tip(&pk(&s.members[0])).expect("reads"), None);
    // The same state as the fold over the same entries in chain order.
    let mut all = s.entries.clone();
    all.extend([fork.clone(), branch.clone(), further.clone()]);
    let r = reference(&all);
    assert_eq!(c.state().expect("state"), r);
    // The log holds every entry, so an export carries the branches.
    assert_eq!(c.len(), all.len() as u64);

    // A file in the order the entries arrived: the branch's entry before the fork's.
    let mut file = export::header_bytes(&s.coop);
    for v in s.entries.iter().chain([&branch, &fork]) {
        file.extend_from_slice(&v.envelope());
    }
    let d = tempfile::tempdir().expect("tempdir");
    let (_, report) = Ledger::open(d.path())
        .expect("opens")
        .import(&file[..])
        .expect("imports");
    assert_eq!(report.forks.count, 1);
    assert_eq!(report.pending, 0);
    assert_eq!(report.stored, s.entries.len() as u64 + 1, "{report}");
    let audit = verify(&file[..]).expect("verifies");
    assert_eq!(audit.report.stored, report.stored);
}

fn beside_of(c: &CoopLedger, author: &PublicKey) -> Vec<(u64, Id)> {
    c.beside(author, 0)
        .collect::<Result<_, _>>()
        .expect("reads the index")
}

/// A ledger of layout version 2 (before the index of entries beside the chain) opens,
/// gains the index, keeps every entry, and goes on indexing; a version it does not know
/// is refused.
/// The directory's sled database once the ledger that had it open let its file lock go:
/// sled's own threads hold it a moment after the last handle is dropped (as
/// `Ledger::open` waits for it too). Another holder past a few seconds is a failure.
fn open_sled_released(dir: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(dir) {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::yield_now();
            }
            other => return other.expect("opens sled"),
        }
    }
}

#[test]
fn an_old_layout_ledger_opens_and_gains_the_beside_index() {
    let s = scenario(16, 150);
    let dir = tempfile::tempdir().expect("tempdir");
    let (author, fork, others) = {
        let (l, mut c) = founded(dir.path(), &s);
        ingest_all(&mut c, &s.entries[1..]);
        let author = pk(&s.members[1]);
        let (_, mut forked) = forked_reviews(&c, &s, 1);
        let fork = forked.remove(0);
        assert!(matches!(
            c.ingest(fork.clone(), None).expect("ingests"),
            Ingest::Equivocation { .. }
        ));
        c.flush().expect("flushes");
        let len = c.len();
        drop(c);
        l.flush().expect("flushes");
        (author, fork, len)
    };
    // What version 2 wrote: the same keys without the index (prefix 0x0e), version 2.
    {
        let db = open_sled_released(dir.path());
        let tree = db
            .open_tree(format!("coop/{}", s.coop.to_hex()))
            .expect("tree");
        let keys: Vec<_> = tree
            .scan_prefix([0x0e])
            .keys()
            .collect::<Result<_, _>>()
            .expect("scans");
        assert_eq!(keys.len(), 1, "the fork's second entry is indexed");
        for k in keys {
            tree.remove(k).expect("removes");
        }
        db.insert(b"\0format", &2u32.to_be_bytes()[..])
            .expect("writes the version");
        db.flush().expect("flushes");
    }
    {
        let l = Ledger::open(dir.path()).expect("an old layout opens");
        let c = l.coop(&s.coop).expect("opens the cooperative");
        assert_eq!(c.len(), others, "no entry lost");
        assert_eq!(beside_of(&c, &author), vec![(fork.entry().seq, fork.id())]);
        assert_eq!(c.state().expect("state").len() as u64, others);
    }
    // Opened again: already version 3, nothing to migrate, the index is there.
    {
        let l = Ledger::open(dir.path()).expect("opens");
        let c = l.coop(&s.coop).expect("opens the cooperative");
        assert_eq!(beside_of(&c, &author), vec![(fork.entry().seq, fork.id())]);
    }
    {
        let db = open_sled_released(dir.path());
        db.insert(b"\0format", &9u32.to_be_bytes()[..])
            .expect("writes the version");
        db.flush().expect("flushes");
    }
    assert!(matches!(
        Ledger::open(dir.path()),
        Err(LedgerError::UnsupportedFormat {
            found: 9,
            expected: 3
        })
    ));
}

/// A fork's second entry releases a whole chain of its branch that came before it, in
/// the order stored.
#[test]
fn a_fork_releases_the_chain_of_its_branch() {
    let s = scenario(18, 150);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    ingest_all(&mut c, &s.entries[1..]);
    let author = pk(&s.members[1]);
    let (head, forked) = forked_reviews(&c, &s, 3);
    let [fork, branch, further] = <[Verified; 3]>::try_from(forked).expect("three");
    // Last first: each waits for the one before it.
    assert!(matches!(
        c.ingest(further.clone(), None).expect("ingests"),
        Ingest::Pending(_)
    ));
    assert!(matches!(
        c.ingest(branch.clone(), None).expect("ingests"),
        Ingest::Pending(_)
    ));
    let out = c.ingest(fork.clone(), None).expect("ingests");
    let existing = c.get(&head.id).expect("reads").expect("stored");
    assert_eq!(
        out,
        Ingest::Equivocation {
            existing: head.id,
            evidence: Evidence {
                a: existing.envelope(),
                b: fork.envelope(),
            },
            released: vec![branch.id(), further.id()],
        }
    );
    for v in [&fork, &branch, &further] {
        assert!(!c.is_pending(&v.id()));
        assert_eq!(c.get(&v.id()).expect("reads").as_ref(), Some(v));
    }
    assert_eq!(c.head(&author).expect("reads"), Some(head));
    let mut all = s.entries.clone();
    all.extend([fork, branch, further]);
    assert_eq!(c.state().expect("state"), reference(&all));
}

/// `roles_changed` is the log's length just after the last entry that may change the
/// roles (governance, devices, evidence) or a fork that froze its author; other entries
/// leave it as it was. A node reads its roles again at once when it moves, so a key
/// revoked a moment ago is not admitted on roles read before.
#[test]
fn roles_changed_follows_the_entries_that_may_change_the_roles_and_forks() {
    let s = scenario(17, 150);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    assert_eq!(c.roles_changed(), 1, "the charter, stored when founded");
    let (mut moved, mut kept) = (0, 0);
    for v in &s.entries[1..] {
        let before = c.roles_changed();
        let out = c.ingest(v.clone(), None).expect("ingests");
        assert!(matches!(out, Ingest::Stored { .. }), "{out:?}");
        if v.entry().body.kind().changes_roles() {
            assert_eq!(c.roles_changed(), c.len(), "{:?}", v.entry().body.kind());
            moved += 1;
        } else {
            assert_eq!(c.roles_changed(), before, "{:?}", v.entry().body.kind());
            kept += 1;
        }
    }
    assert!(moved > 0 && kept > 0, "{moved} {kept}");
    // A fork of a member's chain (a review, which changes no role by itself) freezes its
    // author: that changes what counts.
    let (_, forked) = forked_reviews(&c, &s, 2);
    let [fork, further] = <[Verified; 2]>::try_from(forked).expect("two");
    let before = c.roles_changed();
    assert!(matches!(
        c.ingest(fork, None).expect("ingests"),
        Ingest::Equivocation { .. }
    ));
    assert!(c.roles_changed() > before);
    assert_eq!(c.roles_changed(), c.len());
    let at_fork = c.roles_changed();
    assert!(matches!(
        c.ingest(further, None).expect("ingests"),
        Ingest::Stored { .. }
    ));
    assert_eq!(
        c.roles_changed(),
        at_fork,
        "a review on the branch changes no role"
    );
}

/// Where `author`'s chain in `c` can be forked: its head (at seq 2 or more) and the entry
/// before it, after which a second entry at the head's seq is written.
/// Member 1's chain forked at its head's seq: `n` reviews of requester 0 on a branch
/// (the first at the head's seq, each next one on it), and the head they fork from.
fn forked_reviews(c: &CoopLedger, s: &Scenario, n: usize) -> (Head, Vec<Verified>) {
    let key = &s.members[1];
    let (head, prev_head) = fork_point(c, &pk(key));
    let requester = pk(&s.requesters[0]);
    let mut w = Writer::new(key.clone(), Some(s.coop), Some(prev_head));
    let entries = (0..n as u64)
        .map(|i| {
            w.next(
                review(requester, &format!("on the branch, {i}")),
                head.ts + i,
                prev_head.gov,
            )
        })
        .collect();
    (head, entries)
}

fn fork_point(c: &CoopLedger, author: &PublicKey) -> (Head, Head) {
    let head = c.head(author).expect("reads").expect("member wrote");
    assert!(head.seq >= 2);
    let prev = c.range(author, head.seq - 1, 1).expect("range").remove(0);
    let prev_head = Head {
        seq: prev.entry().seq,
        id: prev.id(),
        ts: prev.entry().ts,
        gov: prev.entry().gov,
    };
    (head, prev_head)
}
