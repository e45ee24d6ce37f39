//! The audit's draws against the reference fold (`taawun_core::fold::Coop`), on a ledger
//! that needs every rule of docs/protocol.md 8.2: an assignment that leaves out the
//! winner's claim (void) followed by a fair one; a claim written after the window under
//! an old timestamp, witnessed late by a tick, and an assignment naming it (void); a
//! backdated offer whose window runs from its witnessed time, and an assignment made
//! before that window closed (void); a member forked before it claims, whose claim still
//! counts (and is the first witness of a backdated offer); and a winner who never
//! submits, so that its place lapses to the next claimant, whose work is then owed while
//! the first winner's late work is not. Every balance, record, void assignment and lapsed
//! place must be equal.

mod agree;
mod fixtures;

use taawun_core::body::{Accept, Assign, Body, Claim, Offer, Review, Submit, Tick};
use taawun_core::fold::{Coop, PlaceState, WITNESS_SLACK_MS};
use taawun_core::id::Hash;
use taawun_core::lottery;
use taawun_core::money::Money;
use taawun_core::synth::Scenario;
use taawun_core::writer::Writer;
use taawun_core::{Id, PublicKey, Timestamp, Verified};
use taawun_ledger::verdict;

const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;
const SECRET: Hash = Hash([7; 32]);

fn offer(assignments: u32, ts: Timestamp) -> Body {
    Body::Offer(Offer {
        title: "Translate".into(),
        description: "A leaflet, two pages".into(),
        purpose: "A tenants' union in three languages".into(),
        pay: Money::new("EUR", 650),
        minutes: 30,
        assignments,
        expires_at: ts + 7 * DAY,
        review_window_ms: DAY,
        claim_window_ms: 10 * MIN,
        commit: lottery::commit(&SECRET),
    })
}

fn claim(o: &Verified) -> Body {
    Body::Claim(Claim { offer: o.id() })
}

/// An assignment over `claims` for `places` winners.
fn assign(o: &Verified, claims: &[&Verified], places: u32) -> Body {
    let pairs: Vec<(Id, PublicKey)> = claims.iter().map(|c| (c.id(), c.entry().author)).collect();
    Body::Assign(Assign {
        offer: o.id(),
        claims: pairs.iter().map(|c| c.0).collect(),
        winners: lottery::draw(&SECRET, &o.id(), &pairs, places),
        secret: SECRET,
    })
}

/// The ranking of the draw over `claims`.
fn ranking(o: &Verified, claims: &[&Verified]) -> Vec<PublicKey> {
    let ids: Vec<Id> = claims.iter().map(|c| c.id()).collect();
    let who: Vec<PublicKey> = claims.iter().map(|c| c.entry().author).collect();
    lottery::ranking(&lottery::seed(&SECRET, &o.id(), &ids), &who)
}

fn submit(o: &Verified, a: &Verified) -> Body {
    Body::Submit(Submit {
        offer: o.id(),
        assign: a.id(),
        result: Hash::of(b"leaflet"),
        size: 7,
        minutes: 30,
    })
}

fn accept(s: &Verified) -> Body {
    Body::Accept(Accept { submission: s.id() })
}

fn tick(heads: &[&Verified]) -> Body {
    Body::Tick(Tick {
        heads: heads.iter().map(|v| v.id()).collect(),
    })
}

/// A review by `author`, its text sealed to both parties.
fn review(requester: PublicKey, author: PublicKey, text: &str) -> Body {
    Body::Review(Review {
        requester,
        pay: 4,
        fairness: 4,
        promptness: 4,
        communication: 4,
        text: Some(taawun_core::synth::sealed(text, &[requester, author])),
    })
}

/// What the ledger is about.
struct Draws {
    entries: Vec<Verified>,
    r0: PublicKey,
    r1: PublicKey,
    /// A: the void assignment leaving out the winner's claim, then the fair one.
    oa: Id,
    /// The winner of the fair draw, and the winner of the void one (whose work under
    /// it, accepted, is not owed).
    wa: Id,
    void_work: Id,
    /// B: two claims in time, one written after the window under an old timestamp.
    ob: Id,
    late_claim: Id,
    late_tick: Id,
    /// C: an offer dated two hours or more before it was published.
    oc: Id,
    oc_seen: Timestamp,
    /// E: the forked member, its claim and its work.
    oe: Id,
    forked: PublicKey,
    forked_work: Id,
    /// D: the first winner's late work and the runner-up's work in its place.
    od: Id,
    first: PublicKey,
    runner_up: PublicKey,
    first_late_work: Id,
    runner_up_work: Id,
}

fn ledger(s: &Scenario) -> Draws {
    let gov = s
        .entries
        .iter()
        .find(|v| matches!(v.entry().body, Body::Enact(_)))
        .map(Verified::id);
    let mut wm: Vec<Writer> = s.members.iter().map(|k| fixtures::writer(s, k)).collect();
    let mut wr = fixtures::writer(s, &s.requesters[0]);
    let mut wr1 = fixtures::writer(s, &s.requesters[1]);
    let (r0, r1) = (
        fixtures::pk(&s.requesters[0]),
        fixtures::pk(&s.requesters[1]),
    );
    let mut out: Vec<Verified> = Vec::new();
    let mut put = |w: &mut Writer, body: Body, t: Timestamp| {
        let v = w.next(body, t, gov);
        assert_eq!(
            v.entry().ts,
            t,
            "every chain goes forward in time: {:?}",
            v.entry().body.kind()
        );
        out.push(v.clone());
        v
    };
    // After every entry of the scenario (some are dated after its clock's end).
    let last = s
        .entries
        .iter()
        .map(|v| v.entry().ts)
        .max()
        .unwrap_or(s.end);
    let t0 = last.max(s.end) + MIN;

    // A. Three claims, ticked by member 0. The requester leaves the fair winner's claim
    // out (to change the seed), and the winner of that draw does the work, accepted:
    // void, not owed. Then it assigns over all three: fair, and its winner's work is owed.
    let oa = put(&mut wr, offer(1, t0), t0);
    let ca: Vec<Verified> = (1..=3)
        .map(|i| put(&mut wm[i], claim(&oa), t0 + i as u64 * MIN))
        .collect();
    let all: Vec<&Verified> = ca.iter().collect();
    put(&mut wm[0], tick(&all), t0 + 4 * MIN);
    let fair_winner = ranking(&oa, &all)[0];
    let left: Vec<&Verified> = ca
        .iter()
        .filter(|c| c.entry().author != fair_winner)
        .collect();
    let void_winner = ranking(&oa, &left)[0];
    let member = |k: PublicKey| {
        s.members
            .iter()
            .position(|m| fixtures::pk(m) == k)
            .expect("a member")
    };
    let av = put(&mut wr, assign(&oa, &left, 1), t0 + 12 * MIN);
    let void_work = put(
        &mut wm[member(void_winner)],
        submit(&oa, &av),
        t0 + 20 * MIN,
    );
    put(&mut wr, accept(&void_work), t0 + 25 * MIN);
    let af = put(&mut wr, assign(&oa, &all, 1), t0 + 30 * MIN);
    let wa = put(
        &mut wm[member(fair_winner)],
        submit(&oa, &af),
        t0 + 40 * MIN,
    );
    put(&mut wr, accept(&wa), t0 + 50 * MIN);

    // B. Two claims in time, ticked; a third written after the window, dated inside it,
    // which member 0 ticks two hours later. The assignment over the two counts; one
    // naming the late claim too is void.
    let tb = t0 + HOUR;
    let ob = put(&mut wr1, offer(2, tb), tb);
    let c1 = put(&mut wm[1], claim(&ob), tb + MIN);
    let c2 = put(&mut wm[2], claim(&ob), tb + 2 * MIN);
    put(&mut wm[0], tick(&[&c1, &c2]), tb + 3 * MIN);
    let ab = put(&mut wr1, assign(&ob, &[&c1, &c2], 2), tb + 12 * MIN);
    put(&mut wm[3], tick(&[&ab]), tb + 13 * MIN);
    let late_claim = put(&mut wm[4], claim(&ob), tb + 5 * MIN);
    let late_tick = put(&mut wm[0], tick(&[&late_claim]), tb + 2 * HOUR);
    put(
        &mut wr1,
        assign(&ob, &[&c1, &c2, &late_claim], 2),
        tb + 2 * HOUR + MIN,
    );
    for (i, t) in [(1, 20), (2, 25)] {
        let w = put(&mut wm[i], submit(&ob, &ab), tb + 2 * HOUR + t * MIN);
        put(&mut wr1, accept(&w), tb + 2 * HOUR + (t + 1) * MIN);
    }

    // C. The requester, idle since A, publishes an offer dated at its last entry, two
    // hours back: its window runs from its first witness, so both claims, made after the
    // window as dated, count. An assignment over them made (and witnessed) before that
    // window closed is void; the same one after it counts.
    let tc = t0 + 4 * HOUR;
    let oc = put(&mut wr, offer(1, t0 + 50 * MIN), t0 + 50 * MIN);
    let cc1 = put(&mut wm[1], claim(&oc), tc + MIN);
    let cc2 = put(&mut wm[2], claim(&oc), tc + 2 * MIN);
    put(&mut wm[0], tick(&[&cc1, &cc2]), tc + 4 * MIN);
    let early = put(&mut wr, assign(&oc, &[&cc1, &cc2], 1), tc + 5 * MIN);
    put(&mut wm[4], tick(&[&early]), tc + 6 * MIN);
    let claims_c = [&cc1, &cc2];
    let ac = put(&mut wr, assign(&oc, &claims_c, 1), tc + 20 * MIN);
    let wc = ranking(&oc, &claims_c)[0];
    let work = put(&mut wm[member(wc)], submit(&oc, &ac), tc + 30 * MIN);
    put(&mut wr, accept(&work), tc + 40 * MIN);

    // E. Member 5 forks (two reviews at one seq), then claims a backdated offer first:
    // its claim witnesses the offer and counts in the draw, and its work is owed. Member
    // 2's claim came after the window as measured from that witness.
    let te = t0 + 6 * HOUR;
    let before = wm[5].head();
    put(
        &mut wm[5],
        review(r0, fixtures::pk(&s.members[5]), "fair and quick"),
        te,
    );
    let mut side = Writer::new(s.members[5].clone(), Some(s.coop), before);
    put(
        &mut side,
        review(r0, fixtures::pk(&s.members[5]), "the other history"),
        te,
    );
    let oe = put(&mut wr, offer(2, tc + 40 * MIN), tc + 40 * MIN);
    let ce5 = put(&mut wm[5], claim(&oe), te + MIN);
    let ce1 = put(&mut wm[1], claim(&oe), te + 5 * MIN);
    let ce2 = put(&mut wm[2], claim(&oe), te + 13 * MIN);
    put(&mut wm[0], tick(&[&ce5, &ce1, &ce2]), te + 14 * MIN);
    let ae = put(&mut wr, assign(&oe, &[&ce5, &ce1], 2), te + 20 * MIN);
    let forked_work = put(&mut wm[5], submit(&oe, &ae), te + 30 * MIN);
    let w1 = put(&mut wm[1], submit(&oe, &ae), te + 35 * MIN);
    put(&mut wr, accept(&forked_work), te + 40 * MIN);
    put(&mut wr, accept(&w1), te + 41 * MIN);

    // D. The winner never submits in time: two days and the slack after the draw, its
    // place passes to the runner-up, whose work is owed. The winner's work made after
    // that fills nothing, even accepted.
    let td = t0 + 8 * HOUR;
    let od = put(&mut wr1, offer(1, td), td);
    let cd: Vec<Verified> = (1..=3)
        .map(|i| put(&mut wm[i], claim(&od), td + i as u64 * MIN))
        .collect();
    let claims_d: Vec<&Verified> = cd.iter().collect();
    put(&mut wm[0], tick(&claims_d), td + 4 * MIN);
    let ad = put(&mut wr1, assign(&od, &claims_d, 1), td + 12 * MIN);
    // Ticked at once: the places run from then (unwitnessed, the draw would be taken to
    // have been made when the first work named it).
    put(&mut wm[0], tick(&[&ad]), td + 13 * MIN);
    let rank = ranking(&od, &claims_d);
    let lapse = td + 12 * MIN + 2 * DAY + WITNESS_SLACK_MS;
    let runner_up_work = put(&mut wm[member(rank[1])], submit(&od, &ad), lapse + HOUR);
    put(&mut wr1, accept(&runner_up_work), lapse + 2 * HOUR);
    let first_late_work = put(&mut wm[member(rank[0])], submit(&od, &ad), lapse + 3 * HOUR);
    put(&mut wr1, accept(&first_late_work), lapse + 4 * HOUR);

    Draws {
        entries: out,
        r0,
        r1,
        oa: oa.id(),
        wa: wa.id(),
        void_work: void_work.id(),
        ob: ob.id(),
        late_claim: late_claim.id(),
        late_tick: late_tick.id(),
        oc: oc.id(),
        oc_seen: tc + MIN,
        oe: oe.id(),
        forked: fixtures::pk(&s.members[5]),
        forked_work: forked_work.id(),
        od: od.id(),
        first: rank[0],
        runner_up: rank[1],
        first_late_work: first_late_work.id(),
        runner_up_work: runner_up_work.id(),
    }
}

fn offer_view(coop: &Coop, id: &Id, now: Timestamp) -> taawun_core::fold::OfferView {
    coop.offer(id, now).expect("a listed offer")
}

#[test]
fn draws_fold_as_in_a_node() {
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
    assert_eq!(
        r.violations.by_rule,
        [(verdict::EQUIVOCATION.to_string(), 1)]
            .into_iter()
            .collect(),
        "{:#?}",
        r.violations.listed
    );
    let coop = agree::fold(&all);
    agree::assert_agrees(&r, &coop);

    // The ledger is what it says, by the reference fold.
    let now = r.judged_at_ms;
    let counted: Vec<Id> = coop.submissions(now).iter().map(|x| x.id).collect();
    let owed = |id: &Id| counted.contains(id);
    // A: one void assignment, then the fair one; the void draw's work is not owed.
    let a = offer_view(&coop, &l.oa, now);
    assert_eq!((a.void_assignments, a.claimants.len()), (1, 3));
    assert!(owed(&l.wa) && !owed(&l.void_work));
    // B: the late claim does not count, and the assignment naming it is void.
    let b = offer_view(&coop, &l.ob, now);
    assert_eq!((b.void_assignments, b.claimants.len()), (1, 2));
    let seen = coop.witnessed();
    assert!(seen[&l.late_claim] > b.closes_at + WITNESS_SLACK_MS);
    // C: the window runs from the first witness of the backdated offer.
    let c = offer_view(&coop, &l.oc, now);
    assert_eq!(c.closes_at, l.oc_seen + 10 * MIN);
    assert_eq!((c.void_assignments, c.claimants.len()), (1, 2));
    // E: the forked member's claim counts (and was the offer's first witness); member
    // 2's claim came after the window measured from it.
    assert!(coop.frozen_authors().contains_key(&l.forked));
    let e = offer_view(&coop, &l.oe, now);
    assert_eq!((e.void_assignments, e.claimants.len()), (0, 2));
    assert!(e.winners.contains(&l.forked));
    assert!(owed(&l.forked_work));
    // D: the first winner's place lapsed to the runner-up, whose work fills it.
    let d = offer_view(&coop, &l.od, now);
    let places: Vec<(PublicKey, PlaceState)> =
        d.places.iter().map(|p| (p.member, p.state)).collect();
    assert_eq!(
        places,
        vec![
            (l.first, PlaceState::Lapsed),
            (l.runner_up, PlaceState::Filled(l.runner_up_work))
        ]
    );
    assert!(owed(&l.runner_up_work) && !owed(&l.first_late_work));

    // The audit says the same in its own words.
    let rec = |k: PublicKey| {
        r.requesters
            .iter()
            .find(|q| q.requester == k.to_hex())
            .expect("a record")
    };
    assert_eq!(rec(l.r0).void_assignments, 2);
    assert_eq!(rec(l.r1).void_assignments, 1);
    assert_eq!(r.notices.by_rule.get(verdict::VOID_ASSIGNMENT), Some(&3));
    let late = r
        .notices
        .listed
        .iter()
        .filter(|f| f.rule == verdict::VOID_ASSIGNMENT)
        .map(|f| f.detail.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(late.contains("leaves out 1 claim that counts"), "{late}");
    assert!(late.contains("names 1 claim that does not count"), "{late}");
    assert!(late.contains("not after the claim window closed"), "{late}");
    assert_eq!((r.draws.void_assignments, r.draws.lapsed_places), (3, 1));
    assert_eq!(r.draws.listed.len(), 1);
    let lapsed = &r.draws.listed[0];
    assert_eq!(lapsed.offer, l.od.to_hex());
    assert_eq!(lapsed.lapsed, vec![l.first.to_hex()]);
    assert_eq!(lapsed.holders, vec![l.runner_up.to_hex()]);

    // The tick naming the late claim two hours after its date, by a member silent since
    // before it: an idle witness.
    assert_eq!(r.idle_witnesses.ticks, 1, "{:?}", r.idle_witnesses);
    let worst = r.idle_witnesses.worst.as_ref().expect("the late tick");
    assert_eq!(worst.id, l.late_tick.to_hex());
    assert_eq!(worst.named, l.late_claim.to_hex());

    let text = r.to_string();
    assert!(text.contains("draws: 3 void assignments"), "{text}");
    assert!(text.contains("1 place lapsed on 1 offer"), "{text}");
    assert!(
        text.contains("idle witnesses: 1 tick by 1 author"),
        "{text}"
    );
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["draws"]["listed"][0]["offer"], l.od.to_hex());
    assert_eq!(json["idle_witnesses"]["ticks"], 1);
    assert!(json["requesters"][0]["void_assignments"].is_u64());
    let html = taawun_audit::html::render(&r);
    assert!(html.contains("Draws") && html.contains("idle witnesses"));
}
