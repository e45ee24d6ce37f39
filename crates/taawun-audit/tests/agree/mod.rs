//! The audit's streamed fold against the reference fold (`taawun_core::fold::Coop`):
//! every balance and every number of every requester's record must be equal. Shared by
//! the tests that audit a whole ledger (`tamper.rs`, `fold.rs`).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Seek, Write};
use taawun_audit::report::{LapsedPlaces, Report, RequesterStats};
use taawun_audit::Options;
use taawun_core::fold::{Balance, Coop, PlaceState, WITNESS_SLACK_MS};
use taawun_core::{PublicKey, Verified};

/// The audit of an export file's bytes.
pub(crate) fn audit(bytes: &[u8]) -> Report {
    let mut f = tempfile::tempfile().expect("temp file");
    f.write_all(bytes).expect("write");
    f.rewind().expect("rewind");
    taawun_audit::audit(f, "test", &Options::default(), &mut |_| {}).expect("readable")
}

/// The reference fold of `entries`, ingested in their order as a node would (every one
/// must be valid: fresh, a fork or a branch).
pub(crate) fn fold(entries: &[Verified]) -> Coop {
    let mut coop = Coop::new();
    for v in entries {
        coop.ingest(v.clone(), None).expect("valid");
    }
    coop
}

/// Per currency, the values of `f` that are not zero: the shape of the fold's maps.
fn nonzero(
    r: &RequesterStats,
    f: impl Fn(&taawun_audit::report::Money) -> u64,
) -> BTreeMap<String, u64> {
    r.money
        .iter()
        .map(|(c, m)| (c.clone(), f(m)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Asserts that the report's numbers are those of `coop` at the report's own time: every
/// balance (requester, member, currency), every record of a requester the report or the
/// fold knows, per member the sums of its balances, and the rules at the end.
pub(crate) fn assert_agrees(r: &Report, coop: &Coop) {
    let now = r.judged_at_ms;
    let want = coop.balances(now);
    let got: BTreeMap<(String, String, String), Balance> = r
        .balances
        .iter()
        .map(|b| {
            (
                (b.requester.clone(), b.member.clone(), b.currency.clone()),
                Balance {
                    earned: b.earned,
                    topup: b.topup,
                    paid: b.paid,
                    confirmed: b.confirmed,
                    denied: b.denied,
                },
            )
        })
        .collect();
    let want_hex: BTreeMap<(String, String, String), Balance> = want
        .iter()
        .map(|((q, m, c), b)| ((q.to_hex(), m.to_hex(), c.clone()), *b))
        .collect();
    assert_eq!(got, want_hex, "balances");
    for b in &r.balances {
        let w = want_hex[&(b.requester.clone(), b.member.clone(), b.currency.clone())];
        assert_eq!(b.owed, w.owed(), "owed by {} to {}", b.requester, b.member);
        assert_eq!(b.unconfirmed, w.unconfirmed(), "unconfirmed");
    }

    // Every key with an offer, a submission, a balance or a review has a record; any
    // other key's record is empty.
    let mut keys: BTreeSet<PublicKey> = want.keys().map(|(q, _, _)| *q).collect();
    keys.extend(coop.offers(now).iter().map(|o| o.requester));
    keys.extend(coop.submissions(now).iter().map(|s| s.requester));
    let known: BTreeSet<String> = r.requesters.iter().map(|q| q.requester.clone()).collect();
    for k in &keys {
        assert!(known.contains(&k.to_hex()), "no record of {}", k.to_hex());
    }
    let records = coop.records(&keys.iter().copied().collect::<Vec<_>>(), now);
    for got in &r.requesters {
        let key = PublicKey::from_hex(&got.requester).expect("a key");
        let want = records
            .get(&key)
            .cloned()
            .unwrap_or_else(|| coop.record(&key, now));
        let who = &got.requester;
        assert_eq!(got.offers, want.offers as u64, "offers of {who}");
        assert_eq!(
            got.void_assignments, want.void_assignments as u64,
            "void assignments of {who}"
        );
        assert_eq!(
            got.submissions, want.submissions as u64,
            "submissions of {who}"
        );
        assert_eq!(got.accepted, want.accepted as u64, "accepted of {who}");
        assert_eq!(
            got.accepted_by_default, want.accepted_by_default as u64,
            "accepted by default of {who}"
        );
        assert_eq!(got.rejected, want.rejected as u64, "rejected of {who}");
        assert_eq!(got.pending, want.pending as u64, "pending of {who}");
        assert_eq!(
            got.median_review_ms, want.median_review_ms,
            "review of {who}"
        );
        assert_eq!(
            got.median_pay_ms, want.median_pay_ms,
            "time to pay of {who}"
        );
        assert_eq!(got.reviews, want.reviews as u64, "reviews of {who}");
        assert_eq!(got.scores, want.scores, "scores of {who}");
        assert_eq!(
            got.not_received, want.not_received as u64,
            "not received of {who}"
        );
        assert_eq!(
            (got.appeals, got.appeals_upheld, got.appeals_dismissed),
            (
                want.appeals as u64,
                want.appeals_upheld as u64,
                want.appeals_dismissed as u64
            ),
            "appeals of {who}"
        );
        let rate: BTreeMap<String, u64> = got
            .money
            .iter()
            .filter_map(|(c, m)| m.hourly_rate.map(|x| (c.clone(), x)))
            .collect();
        assert_eq!(rate, want.hourly_rate, "hourly rate of {who}");
        assert_eq!(nonzero(got, |m| m.topups), want.topups, "top-ups of {who}");
        assert_eq!(nonzero(got, |m| m.unpaid), want.unpaid, "unpaid of {who}");
        assert_eq!(
            nonzero(got, |m| m.unconfirmed),
            want.unconfirmed,
            "unconfirmed of {who}"
        );
    }

    // The draws: per listed offer, the places that lapsed and who holds one now.
    let mut lapsed = Vec::new();
    let mut void = 0;
    for o in coop.offers(now) {
        void += o.void_assignments as u64;
        let gone: Vec<String> = o
            .places
            .iter()
            .filter(|p| p.state == PlaceState::Lapsed)
            .map(|p| p.member.to_hex())
            .collect();
        if !gone.is_empty() {
            lapsed.push(LapsedPlaces {
                offer: o.id.to_hex(),
                requester: o.requester.to_hex(),
                lapsed: gone,
                holders: o.winners.iter().map(PublicKey::to_hex).collect(),
            });
        }
    }
    let by_offer = |v: &[LapsedPlaces]| -> BTreeMap<String, LapsedPlaces> {
        v.iter().map(|l| (l.offer.clone(), l.clone())).collect()
    };
    assert_eq!(
        by_offer(&r.draws.listed),
        by_offer(&lapsed),
        "lapsed places"
    );
    assert_eq!(
        r.draws.lapsed_places,
        lapsed.iter().map(|l| l.lapsed.len() as u64).sum::<u64>(),
        "lapsed places"
    );
    assert_eq!(r.draws.void_assignments, void, "void assignments");

    // Per member and currency: the sums of its balances.
    for m in &r.members {
        let mut sum = Balance::default();
        let mut owed = 0u64;
        let mut unconfirmed = 0u64;
        for ((_, mem, cur), b) in &want {
            if mem.to_hex() == m.member && *cur == m.currency {
                sum.earned += b.earned + b.topup;
                sum.paid += b.paid;
                sum.confirmed += b.confirmed;
                sum.denied += b.denied;
                owed += b.owed();
                unconfirmed += b.unconfirmed();
            }
        }
        let who = &m.member;
        assert_eq!(
            (m.earned, m.paid, m.confirmed, m.denied),
            (sum.earned, sum.paid, sum.confirmed, sum.denied),
            "member {who}"
        );
        assert_eq!((m.owed, m.unconfirmed), (owed, unconfirmed), "member {who}");
    }

    // Witnessed time of every entry: those witnessed more than the slack after their
    // timestamp, per kind, and the longest delay.
    let seen = coop.witnessed();
    let mut late: BTreeMap<String, u64> = BTreeMap::new();
    let mut longest = None;
    for (id, w) in seen {
        let v = coop.get(id).expect("held");
        let ts = v.entry().ts;
        if *w > ts + WITNESS_SLACK_MS {
            *late
                .entry(v.entry().body.kind().name().to_owned())
                .or_default() += 1;
            longest = longest.max(Some(*w - ts));
        }
    }
    assert_eq!(r.witnessed_late.by_kind, late, "witnessed late");
    assert_eq!(
        r.witnessed_late.count,
        late.values().sum::<u64>(),
        "witnessed late"
    );
    assert_eq!(
        r.witnessed_late.worst.as_ref().map(|w| w.late_ms),
        longest,
        "longest delay to a witness"
    );

    let rules = coop.rules_at(now).expect("a charter");
    assert_eq!(r.rules.floors, rules.floors, "floors at the end");
    assert_eq!(
        r.rules.members,
        rules.members.len() as u64,
        "members at the end"
    );
    assert_eq!(
        r.rules.requesters,
        rules.requesters.len() as u64,
        "requesters at the end"
    );
}
