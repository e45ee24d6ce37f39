//! The audit's streamed fold against the reference fold (`taawun_core::fold::Coop`) on a
//! ledger that needs every rule of docs/protocol.md section 8: a requester that forks
//! with obligations on both branches, a forked member's accepted work and its second
//! submission on one offer, an acceptance and a rejection of one submission, a payment
//! answered "not received", a payment nobody answered, a removed requester that still
//! pays and still owes, a removed member that still answers a payment, and an amendment whose enactment left out the no votes that undo
//! it; and on a ledger timed by witnessed time (5.7): a submission and an enactment first
//! witnessed hours after their timestamps, a rejection dated inside its window but
//! witnessed after it, ticks, and a fork whose early ticks stop counting as witnesses.
//! Every balance and record must be equal, and the numbers that protect the workers
//! must be the ones the protocol gives.

mod agree;
mod fixtures;

use ed25519_dalek::SigningKey;
use taawun_core::body::{
    Accept, Action, Assign, Body, Claim, Enact, Offer, Proposal, Receipt, Reject, Review, Settle,
    Submit, Tick, Vote,
};
use taawun_core::fold::{Balance, Coop, Review as State};
use taawun_core::id::Hash;
use taawun_core::lottery;
use taawun_core::money::Money;
use taawun_core::synth::{self, Scenario, FLOOR_EUR};
use taawun_core::writer::Writer;
use taawun_core::{Id, PublicKey, Timestamp, Verified};

const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
const SECRET: Hash = Hash([42; 32]);

fn offer(pay: u64, minutes: u32, assignments: u32, now: Timestamp) -> Body {
    Body::Offer(Offer {
        title: "Transcribe".into(),
        description: "Ten short clips".into(),
        purpose: "Subtitles for a community radio".into(),
        pay: Money::new("EUR", pay),
        minutes,
        assignments,
        expires_at: now + 7 * 24 * HOUR,
        review_window_ms: 24 * HOUR,
        claim_window_ms: 10 * MIN,
        commit: lottery::commit(&SECRET),
    })
}

fn claim(o: &Verified) -> Body {
    Body::Claim(Claim { offer: o.id() })
}

/// The draw over `claims`, every claimant a winner.
fn assign(o: &Verified, claims: &[(Id, PublicKey)]) -> Body {
    let n = u32::try_from(claims.len()).expect("a few claims");
    Body::Assign(Assign {
        offer: o.id(),
        claims: claims.iter().map(|c| c.0).collect(),
        winners: lottery::draw(&SECRET, &o.id(), claims, n),
        secret: SECRET,
    })
}

fn submit(o: &Verified, a: &Verified, minutes: u32) -> Body {
    Body::Submit(Submit {
        offer: o.id(),
        assign: a.id(),
        result: Hash::of(b"result"),
        size: 6,
        minutes,
    })
}

fn accept(s: &Verified) -> Body {
    Body::Accept(Accept { submission: s.id() })
}

fn settle(member: PublicKey, minor: u64, by: &Writer) -> Body {
    Body::Settle(Settle {
        member,
        amount: Money::new("EUR", minor),
        reference: synth::sealed("MM-7", &[member, by.author()]),
    })
}

fn receipt(s: &Verified, received: bool) -> Body {
    Body::Receipt(Receipt {
        settle: s.id(),
        received,
    })
}

fn vote(p: &Verified, yes: bool) -> Body {
    Body::Vote(Vote {
        proposal: p.id(),
        yes,
    })
}

/// The entries added to the fixtures' cooperative, in an order that respects every
/// chain and every dependency, and what they are about.
struct Ledger {
    entries: Vec<Verified>,
    /// The requester that forks, and the one removed.
    r: PublicKey,
    r2: PublicKey,
    /// Members.
    m: Vec<PublicKey>,
    /// The forked member's two submissions on one offer (the first counts).
    s2: Id,
    s2b: Id,
    /// The submission both accepted and rejected.
    s1: Id,
}

fn ledger(s: &Scenario) -> Ledger {
    let gov = s
        .entries
        .iter()
        .find(|v| matches!(v.entry().body, Body::Enact(_)))
        .map(Verified::id);
    let m: Vec<PublicKey> = s.members.iter().map(fixtures::pk).collect();
    let (r_key, r2_key): (&SigningKey, &SigningKey) = (&s.requesters[0], &s.requesters[1]);
    let (r, r2) = (fixtures::pk(r_key), fixtures::pk(r2_key));
    let mut wm: Vec<Writer> = s.members.iter().map(|k| fixtures::writer(s, k)).collect();
    let mut wr = fixtures::writer(s, r_key);
    let mut wr2 = fixtures::writer(s, r2_key);
    let mut out: Vec<Verified> = Vec::new();
    let mut t = s.end + MIN;
    let mut put = |w: &mut Writer, body: Body, t: Timestamp| {
        let v = w.next(body, t, gov);
        out.push(v.clone());
        v
    };

    // The second requester's accepted work, before its removal.
    let o3 = put(&mut wr2, offer(650, 30, 1, t), t);
    t += MIN;
    let c4 = put(&mut wm[4], claim(&o3), t);
    t += 11 * MIN;
    let a3 = put(&mut wr2, assign(&o3, &[(c4.id(), m[4])]), t);
    t += MIN;
    let s4 = put(&mut wm[4], submit(&o3, &a3, 30), t);
    t += MIN;
    put(&mut wr2, accept(&s4), t);

    // Its removal: four yes, one no, over two thirds.
    t += MIN;
    let p = put(
        &mut wm[0],
        Body::Proposal(Proposal {
            action: Action::RemoveRequester(r2),
            reason: "left the region".into(),
        }),
        t,
    );
    let mut votes = Vec::new();
    for (i, yes) in [true, true, true, true, false].into_iter().enumerate() {
        t += MIN;
        votes.push(put(&mut wm[i], vote(&p, yes), t).id());
    }
    t += MIN;
    let removed_at = t + 2 * HOUR;
    put(
        &mut wm[0],
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: removed_at,
        }),
        t,
    );
    // A floor of 20.00 EUR/h enacted on three yes votes, undone by the three no votes
    // held: the floor in force stays 13.00 EUR/h.
    t += MIN;
    let p = put(
        &mut wm[0],
        Body::Proposal(Proposal {
            action: Action::SetFloor {
                currency: "EUR".into(),
                per_hour: 2000,
            },
            reason: "rents rose".into(),
        }),
        t,
    );
    let mut votes = Vec::new();
    for w in wm.iter_mut().take(3) {
        t += MIN;
        votes.push(put(w, vote(&p, true), t).id());
    }
    t += MIN;
    put(
        &mut wm[0],
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: t + 2 * HOUR,
        }),
        t,
    );
    for w in wm.iter_mut().skip(3) {
        t += MIN;
        put(w, vote(&p, false), t);
    }
    // Member 5's removal, in force after both.
    t += MIN;
    let p = put(
        &mut wm[0],
        Body::Proposal(Proposal {
            action: Action::RemoveMember(m[5]),
            reason: "moved away".into(),
        }),
        t,
    );
    let mut votes = Vec::new();
    for w in wm.iter_mut().take(4) {
        t += MIN;
        votes.push(put(w, vote(&p, true), t).id());
    }
    t += MIN;
    let gone_at = t + 2 * HOUR;
    put(
        &mut wm[0],
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: gone_at,
        }),
        t,
    );
    assert!(gone_at > removed_at);
    t = gone_at + HOUR;

    // The first requester forks: an offer on its chain, another at the same seq.
    let before = wr.head();
    let o1 = put(&mut wr, offer(400, 15, 2, t), t);
    let mut wb = Writer::new(r_key.clone(), Some(s.coop), before);
    put(&mut wb, offer(700, 30, 1, t), t);
    t += MIN;
    let c1 = put(&mut wm[1], claim(&o1), t);
    let c2 = put(&mut wm[2], claim(&o1), t);
    t += 11 * MIN;
    let a1 = put(&mut wr, assign(&o1, &[(c1.id(), m[1]), (c2.id(), m[2])]), t);
    t += MIN;
    let s1 = put(&mut wm[1], submit(&o1, &a1, 15), t);
    // Member 2 forks at its submission; on its other branch it submits again, reporting
    // more minutes.
    let before = wm[2].head();
    t += MIN;
    let s2 = put(&mut wm[2], submit(&o1, &a1, 60), t);
    let mut wm2b = Writer::new(s.members[2].clone(), Some(s.coop), before);
    put(
        &mut wm2b,
        Body::Review(Review {
            requester: r,
            pay: 1,
            fairness: 1,
            promptness: 1,
            communication: 1,
            text: None,
        }),
        t,
    );
    t += MIN;
    let s2b = put(&mut wm2b, submit(&o1, &a1, 90), t);
    // The requester accepts all three on its chain, and rejects member 1's work on its
    // other branch.
    for x in [&s1, &s2, &s2b] {
        t += MIN;
        put(&mut wr, accept(x), t);
    }
    t += MIN;
    let requester = wb.author();
    put(
        &mut wb,
        Body::Reject(Reject {
            submission: s1.id(),
            reason: taawun_core::synth::sealed(
                "The clips are not transcribed.",
                &[s1.entry().author, requester],
            ),
        }),
        t,
    );
    // Payments: one on the other branch that member 1 never received, one to member 2
    // nobody answered, one member 1 confirms.
    t += MIN;
    let denied = {
        let b = settle(m[1], 400, &wb);
        put(&mut wb, b, t)
    };
    t += MIN;
    put(&mut wm[1], receipt(&denied, false), t);
    t += MIN;
    {
        let b = settle(m[2], 300, &wr);
        put(&mut wr, b, t)
    };
    t += MIN;
    let paid = {
        let b = settle(m[1], 200, &wr);
        put(&mut wr, b, t)
    };
    t += MIN;
    put(&mut wm[1], receipt(&paid, true), t);
    // The removed member still answers for money sent to it.
    t += MIN;
    let sent = {
        let b = settle(m[5], 200, &wr);
        put(&mut wr, b, t)
    };
    t += MIN;
    put(&mut wm[5], receipt(&sent, true), t);

    // The removed requester, naming the governance from before its removal, pays part
    // of what it owes (confirmed), claims another payment (unanswered) and posts an
    // offer nobody sees listed.
    t += MIN;
    let late = {
        let b = settle(m[4], 400, &wr2);
        put(&mut wr2, b, t)
    };
    t += MIN;
    put(&mut wm[4], receipt(&late, true), t);
    t += MIN;
    {
        let b = settle(m[4], 100, &wr2);
        put(&mut wr2, b, t)
    };
    t += MIN;
    put(&mut wr2, offer(650, 30, 1, t), t);

    Ledger {
        entries: out,
        r,
        r2,
        m,
        s2: s2.id(),
        s2b: s2b.id(),
        s1: s1.id(),
    }
}

/// `after - before`, field by field.
fn delta(after: Balance, before: Balance) -> Balance {
    Balance {
        earned: after.earned - before.earned,
        topup: after.topup - before.topup,
        paid: after.paid - before.paid,
        confirmed: after.confirmed - before.confirmed,
        denied: after.denied - before.denied,
    }
}

fn balance(c: &Coop, r: PublicKey, m: PublicKey, now: Timestamp) -> Balance {
    c.balances(now)
        .get(&(r, m, "EUR".to_string()))
        .copied()
        .unwrap_or_default()
}

#[test]
fn forks_removals_and_unconfirmed_payments_fold_as_in_a_node() {
    let s = fixtures::scenario();
    let l = ledger(&s);
    let all: Vec<Verified> = s.entries.iter().chain(&l.entries).cloned().collect();
    let envs: Vec<Vec<u8>> = all.iter().map(Verified::envelope).collect();
    let r = agree::audit(&fixtures::file(&s, &envs));
    assert_eq!(
        r.valid_entries,
        all.len() as u64,
        "{:#?}",
        r.violations.listed
    );
    // Two forks, and the entries of the removed requester and member after their removal.
    assert_eq!(
        r.violations.by_rule,
        [
            ("Equivocation".to_string(), 2),
            ("NoRoleAtTime".to_string(), 4)
        ]
        .into_iter()
        .collect(),
        "{:#?}",
        r.violations.listed
    );

    let coop = agree::fold(&all);
    let now = r.judged_at_ms;
    agree::assert_agrees(&r, &coop);

    // The ledger is what it says: both authors frozen, the first of the member's two
    // submissions used, the acceptance winning over the rejection.
    assert!(coop.frozen_authors().contains_key(&l.r));
    assert!(coop.frozen_authors().contains_key(&l.m[2]));
    let subs = coop.submissions(now);
    assert!(subs.iter().any(|x| x.id == l.s2));
    assert!(!subs.iter().any(|x| x.id == l.s2b));
    let s1 = subs.iter().find(|x| x.id == l.s1).expect("member 1's work");
    assert!(matches!(s1.review, State::Accepted(_)), "{:?}", s1.review);

    // What the added entries changed, by the protocol's numbers.
    let before = agree::fold(&s.entries);
    let change =
        |q: PublicKey, m: PublicKey| delta(balance(&coop, q, m, now), balance(&before, q, m, now));
    // Member 1: 4.00 accepted despite the rejection on the other branch; 6.00 claimed
    // paid, of which 2.00 confirmed and 4.00 answered not received: 2.00 still owed.
    let b = change(l.r, l.m[1]);
    assert_eq!(
        b,
        Balance {
            earned: 400,
            topup: 0,
            paid: 600,
            confirmed: 200,
            denied: 400
        }
    );
    assert_eq!(b.owed(), 200);
    assert_eq!(b.unconfirmed(), 0);
    // Member 2, frozen: its first submission is owed in full. It reported 60 minutes
    // for 15 estimated: credited 30 (the cap, 200 %, over the median 15 of the two
    // submissions used; its second one, 90 minutes, is not used), 6.50 at 13.00 EUR/h.
    // The 3.00 claimed paid and never confirmed lowers nothing.
    let b = change(l.r, l.m[2]);
    assert_eq!(
        b,
        Balance {
            earned: 400,
            topup: 250,
            paid: 300,
            confirmed: 0,
            denied: 0
        }
    );
    assert_eq!(b.owed(), 650);
    assert_eq!(b.unconfirmed(), 300);
    // Member 5 confirmed a payment after its removal.
    let b = change(l.r, l.m[5]);
    assert_eq!((b.paid, b.confirmed, b.unconfirmed()), (200, 200, 0));
    // Member 4 and the removed requester: 6.50 accepted, 4.00 confirmed after the
    // removal, 1.00 claimed and not confirmed.
    let b = change(l.r2, l.m[4]);
    assert_eq!(
        b,
        Balance {
            earned: 650,
            topup: 0,
            paid: 500,
            confirmed: 400,
            denied: 0
        }
    );
    assert_eq!(b.owed(), 250);
    assert_eq!(b.unconfirmed(), 100);

    // The records: the forked requester's two offers are listed, the removed one's
    // offer after its removal is not; one payment answered not received.
    let rec = |c: &Coop, q: PublicKey| c.record(&q, now);
    let (was, is) = (rec(&before, l.r), rec(&coop, l.r));
    assert_eq!(is.offers - was.offers, 2);
    assert_eq!(is.submissions - was.submissions, 2);
    assert_eq!(is.accepted - was.accepted, 2);
    assert_eq!(is.not_received - was.not_received, 1);
    let (was, is) = (rec(&before, l.r2), rec(&coop, l.r2));
    assert_eq!(is.offers - was.offers, 1);
    assert_eq!(is.accepted - was.accepted, 1);

    // The rules at the end: the removals applied, the floor amendment undone.
    assert_eq!(r.rules.floors["EUR"], FLOOR_EUR + 100);
    assert_eq!((r.rules.requesters, r.rules.members), (1, 5));

    // Both reports show the payments not confirmed and those not received.
    let text = r.to_string();
    assert!(text.contains("claimed paid, not confirmed"), "{text}");
    assert!(text.contains("answered not received"), "{text}");
    let html = taawun_audit::html::render(&r);
    assert!(html.contains("claimed paid, not confirmed") && html.contains("not received"));
}

fn tick(heads: &[&Verified]) -> Body {
    Body::Tick(Tick {
        heads: heads.iter().map(|v| v.id()).collect(),
    })
}

/// A rejection of `s` by the requester `by`, its reason sealed to both parties.
fn reject(s: &Verified, by: &Writer) -> Body {
    Body::Reject(Reject {
        submission: s.id(),
        reason: taawun_core::synth::sealed(
            "Half the clips are missing.",
            &[s.entry().author, by.author()],
        ),
    })
}

/// What the late-witness ledger is about.
struct Late {
    entries: Vec<Verified>,
    /// Its first entry's time.
    t0: Timestamp,
    /// A submission first witnessed 8 hours after its timestamp.
    s1: Id,
    /// A submission witnessed at once, rejected by a rejection dated in the window but
    /// witnessed only 6 hours after it closed.
    s2: Id,
    /// A submission rejected in time and witnessed at once.
    s3: Id,
    /// Accepted work before and after the floor amendment takes effect.
    s4: Id,
    s5: Id,
    /// When the floor amendment takes effect by its witnessed time, and by its own.
    effective: Timestamp,
    said: Timestamp,
    /// The floor before and after it.
    floor: u64,
}

/// A ledger where windows and amendments run from witnessed time (docs/protocol.md 5.7):
/// a floor raise enacted at once but first witnessed (by a tick) ten hours later, a
/// submission first witnessed by the requester's tick eight hours after it, a rejection
/// dated inside its window but first witnessed after it, one rejection in time, and the
/// enactor forking with two ticks right after, so that what it named early stops
/// counting as a witness once the fork is known.
fn late_ledger(s: &Scenario) -> Late {
    let gov = s
        .entries
        .iter()
        .find(|v| matches!(v.entry().body, Body::Enact(_)))
        .map(Verified::id);
    let t0 = s.end + MIN;
    let floor = agree::fold(&s.entries)
        .rules_at(t0)
        .expect("a charter")
        .floors["EUR"];
    let m: Vec<PublicKey> = s.members.iter().map(fixtures::pk).collect();
    let mut wm: Vec<Writer> = s.members.iter().map(|k| fixtures::writer(s, k)).collect();
    let mut wr = fixtures::writer(s, &s.requesters[0]);
    let mut out: Vec<Verified> = Vec::new();
    let mut put = |w: &mut Writer, body: Body, t: Timestamp| {
        let v = w.next(body, t, gov);
        out.push(v.clone());
        v
    };

    // A floor 5.00 EUR/h higher, passed by every member and enacted at once; nobody
    // names the enactment until a member's tick ten hours later.
    let p = put(
        &mut wm[0],
        Body::Proposal(Proposal {
            action: Action::SetFloor {
                currency: "EUR".into(),
                per_hour: floor + 500,
            },
            reason: "rents rose".into(),
        }),
        t0,
    );
    let mut votes = Vec::new();
    for (i, w) in wm.iter_mut().enumerate() {
        votes.push(put(w, vote(&p, true), t0 + (i as u64 + 1) * MIN).id());
    }
    let te = t0 + 7 * MIN;
    let said = te + 2 * HOUR;
    let enact = put(
        &mut wm[0],
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: said,
        }),
        te,
    );
    let witnessed = t0 + 10 * HOUR;

    // An offer for three at the floor of the time, claimed and drawn.
    let mut t = t0 + 10 * MIN;
    let o = put(&mut wr, offer(floor, 60, 3, t), t);
    let mut claims = Vec::new();
    for i in 1..=3 {
        claims.push((put(&mut wm[i], claim(&o), t + i as u64 * MIN).id(), m[i]));
    }
    t += 12 * MIN;
    let a = put(&mut wr, assign(&o, &claims), t);
    let s1 = put(&mut wm[1], submit(&o, &a, 60), t + MIN);
    let s2 = put(&mut wm[2], submit(&o, &a, 60), t + 2 * MIN);
    put(&mut wr, tick(&[&s2]), t + 3 * MIN);
    let s3 = put(&mut wm[3], submit(&o, &a, 60), t + 4 * MIN);
    let body = reject(&s3, &wr);
    let r3 = put(&mut wr, body, t + 5 * MIN);
    put(&mut wm[3], tick(&[&r3]), t + 6 * MIN);

    // The enactor forks: two ticks at one seq, naming the first submission long before
    // anyone else does. Neither counts once the fork is known.
    // A member ticks both an hour later: that witnesses them, but not the enactment
    // before them, since they do not count.
    let before = wm[0].head();
    let k1 = put(&mut wm[0], tick(&[&s1]), t0 + HOUR);
    let mut side = Writer::new(s.members[0].clone(), Some(s.coop), before);
    let k2 = put(&mut side, tick(&[&s1, &s2]), t0 + HOUR);
    put(&mut wm[4], tick(&[&k1, &k2]), t0 + 2 * HOUR);

    // A second offer at the old floor, worked before and after the amendment takes
    // effect by its witnessed time (it would take effect before the first submission by
    // its own).
    t = t0 + 4 * HOUR;
    let o2 = put(&mut wr, offer(floor, 60, 2, t), t);
    let c4 = put(&mut wm[4], claim(&o2), t + MIN);
    let c5 = put(&mut wm[5], claim(&o2), t + 2 * MIN);
    let a2 = put(
        &mut wr,
        assign(&o2, &[(c4.id(), m[4]), (c5.id(), m[5])]),
        t + 11 * MIN,
    );
    let s4 = put(&mut wm[4], submit(&o2, &a2, 60), t0 + 6 * HOUR);
    put(&mut wr, accept(&s4), t0 + 6 * HOUR + 5 * MIN);
    // The requester's node ticks the first submission eight hours after it.
    put(&mut wr, tick(&[&s1]), t0 + 8 * HOUR);
    put(&mut wm[5], tick(&[&enact]), witnessed);
    let s5 = put(&mut wm[5], submit(&o2, &a2, 60), t0 + 13 * HOUR);
    put(&mut wr, accept(&s5), t0 + 13 * HOUR + 5 * MIN);

    // The requester rejects the second submission with a timestamp inside its window;
    // the rejection reaches the member six hours after the window closed.
    let body = reject(&s2, &wr);
    let r2 = put(&mut wr, body, s2.entry().ts + 24 * HOUR - MIN);
    put(&mut wm[2], tick(&[&r2]), t0 + 30 * HOUR);

    Late {
        entries: out,
        t0,
        s1: s1.id(),
        s2: s2.id(),
        s3: s3.id(),
        s4: s4.id(),
        s5: s5.id(),
        effective: said + (witnessed - te),
        said,
        floor,
    }
}

#[test]
fn late_witnesses_fold_as_in_a_node() {
    let s = fixtures::scenario();
    let l = late_ledger(&s);
    let all: Vec<Verified> = s.entries.iter().chain(&l.entries).cloned().collect();
    let envs: Vec<Vec<u8>> = all.iter().map(Verified::envelope).collect();
    let r = agree::audit(&fixtures::file(&s, &envs));
    assert_eq!(
        r.valid_entries,
        all.len() as u64,
        "{:#?}",
        r.violations.listed
    );
    assert_eq!(
        r.violations.by_rule,
        [("Equivocation".to_string(), 1)].into_iter().collect(),
        "{:#?}",
        r.violations.listed
    );
    let coop = agree::fold(&all);
    agree::assert_agrees(&r, &coop);

    // The ledger is what it says, by the reference fold.
    let now = r.judged_at_ms;
    assert_eq!(now, l.t0 + 30 * HOUR);
    let sub = |id: &Id| coop.submission(id, now).expect("a submission");
    let day = 24 * HOUR;
    // Timed from its witness, eight hours late: still in review (by its own timestamp it
    // would have been accepted by default six hours ago).
    let s1 = sub(&l.s1);
    assert_eq!(s1.witnessed, Some(l.t0 + 8 * HOUR));
    assert_eq!(
        s1.review,
        State::Pending {
            deadline: l.t0 + 8 * HOUR + day
        }
    );
    // The rejection dated in the window but witnessed after it does not count.
    let s2 = sub(&l.s2);
    assert_eq!(s2.review, State::AcceptedByDefault(s2.at + day));
    assert!(matches!(sub(&l.s3).review, State::Rejected { .. }));
    // The amendment takes effect ten hours late: work before that is owed at the old
    // floor, work after at the new one.
    assert_eq!(
        coop.rules_at(l.effective - 1).expect("rules").floors["EUR"],
        l.floor
    );
    assert_eq!(
        coop.rules_at(l.effective).expect("rules").floors["EUR"],
        l.floor + 500
    );
    assert!(l.said < sub(&l.s4).at && sub(&l.s4).at < l.effective);
    assert_eq!(sub(&l.s4).topup, 0);
    assert_eq!(sub(&l.s5).topup, 500);
    // No notice of an offer under the floor: the second offer came before the amendment
    // took effect by its witnessed time.
    assert!(!r
        .notices
        .by_rule
        .contains_key(taawun_ledger::verdict::OFFER_UNDER_FLOOR_IN_FORCE));

    // The report names the entries witnessed late.
    for kind in ["submit", "reject", "enact"] {
        assert!(
            r.witnessed_late.by_kind.get(kind).is_some_and(|n| *n > 0),
            "{kind}: {:?}",
            r.witnessed_late
        );
    }
    let text = r.to_string();
    assert!(text.contains("witnessed late: "), "{text}");
    assert!(taawun_audit::html::render(&r).contains("Witnessed late"));
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["witnessed_late"]["count"], r.witnessed_late.count);
}
