//! Appeals of rejected work to a jury drawn by lottery (docs/protocol.md 8.8): every rule
//! of validation with its typed error, and the fold's draw, seats, votes and outcomes,
//! each written as the attack or the mistake it stops.

use ed25519_dalek::SigningKey;
use std::collections::BTreeMap;
use taawun_core::appeal::{self, Outcome as Verdict, SeatState};
use taawun_core::body::*;
use taawun_core::entry::Verified;
use taawun_core::fold::{Coop, Review};
use taawun_core::id::{Hash, Id, PublicKey};
use taawun_core::money::Money;
use taawun_core::rules::default_limits;
use taawun_core::writer::Writer;
use taawun_core::{Invalid, Outcome};

const T0: u64 = 1_790_000_000_000;
const MIN: u64 = 60_000;
const DAY: u64 = 24 * 60 * MIN;
const SECRET: Hash = Hash([42; 32]);
/// The witness slack (fold::WITNESS_SLACK_MS).
const SLACK: u64 = 15 * MIN;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn pk(n: u8) -> PublicKey {
    PublicKey(key(n).verifying_key().to_bytes())
}

/// A cooperative whose members are seeds `1..=members`; the last member is the requester
/// (members may post offers). Seed 99 is an outsider.
struct Fx {
    coop: Coop,
    id: Id,
    writers: BTreeMap<u8, Writer>,
    requester: u8,
}

/// A rejected submission: the submission, the rejection, the member whose
/// work it was and the other claimant of the offer.
struct Case {
    sub: Verified,
    rej: Verified,
    worker: u8,
    rival: u8,
}

impl Fx {
    fn new(members: u8) -> Self {
        let mut w0 = Writer::new(key(1), None, None);
        let charter = w0.next(
            Body::Charter(Charter {
                name: "Coop".into(),
                members: (1..=members).map(pk).collect(),
                requesters: vec![],
                names: (1..=members)
                    .map(|i| Named {
                        key: pk(i),
                        name: format!("Member {i}"),
                    })
                    .collect(),
                quorum_pct: 60,
                floors: [("EUR".to_string(), 1200)].into_iter().collect(),
                limits: default_limits(),
            }),
            T0,
            None,
        );
        let id = charter.id();
        let mut coop = Coop::new();
        assert_eq!(coop.ingest(charter, Some(T0)), Ok(Outcome::Fresh));
        let mut writers = BTreeMap::new();
        writers.insert(1, w0);
        for n in (2..=members).chain([99]) {
            writers.insert(n, Writer::new(key(n), Some(id), None));
        }
        Fx {
            coop,
            id,
            writers,
            requester: members,
        }
    }

    fn put(&mut self, who: u8, body: Body, ts: u64) -> (Verified, Result<Outcome, Invalid>) {
        let w = self.writers.get_mut(&who).expect("a writer");
        let before = w.head();
        let v = w.next(body, ts, None);
        let out = self.coop.ingest(v.clone(), Some(ts));
        if out != Ok(Outcome::Fresh) {
            // A refused entry is not in the chain.
            self.writers
                .insert(who, Writer::new(key(who), Some(self.id), before));
        }
        (v, out)
    }

    fn ok(&mut self, who: u8, body: Body, ts: u64) -> Verified {
        let (v, out) = self.put(who, body, ts);
        assert_eq!(out, Ok(Outcome::Fresh), "{:?}", v.entry().body);
        v
    }

    fn err(&mut self, who: u8, body: Body, ts: u64) -> Invalid {
        match self.put(who, body, ts).1 {
            Err(e) => e,
            other => panic!("expected a rule break, got {other:?}"),
        }
    }

    fn tick(&mut self, who: u8, heads: Vec<Id>, ts: u64) -> Verified {
        self.ok(who, Body::Tick(Tick { heads }), ts)
    }

    /// Members 2 and 3 claim a one-place offer of the requester; the winner submits at
    /// +20 min and the requester rejects at +30 min.
    fn rejected(&mut self) -> Case {
        let r = self.requester;
        let offer = self.ok(
            r,
            Body::Offer(Offer {
                title: "Transcribe".into(),
                description: "Ten short clips".into(),
                purpose: "Subtitles for a community radio".into(),
                pay: Money::new("EUR", 300),
                minutes: 15,
                assignments: 1,
                expires_at: T0 + 30 * DAY,
                review_window_ms: DAY,
                claim_window_ms: 10 * MIN,
                commit: taawun_core::lottery::commit(&SECRET),
            }),
            T0 + MIN,
        );
        let c2 = self.ok(2, Body::Claim(Claim { offer: offer.id() }), T0 + 2 * MIN);
        let c3 = self.ok(3, Body::Claim(Claim { offer: offer.id() }), T0 + 3 * MIN);
        // The requester's node witnesses the claims in time.
        self.tick(r, vec![c2.id(), c3.id()], T0 + 4 * MIN);
        let claims = [(c2.id(), pk(2)), (c3.id(), pk(3))];
        let winners = taawun_core::lottery::draw(&SECRET, &offer.id(), &claims, 1);
        let worker = if winners == vec![pk(2)] { 2 } else { 3 };
        let rival = 5 - worker;
        let assign = self.ok(
            r,
            Body::Assign(Assign {
                offer: offer.id(),
                claims: vec![c2.id(), c3.id()],
                winners,
                secret: SECRET,
            }),
            T0 + 12 * MIN,
        );
        let sub = self.ok(
            worker,
            Body::Submit(Submit {
                offer: offer.id(),
                assign: assign.id(),
                result: Hash::of(b"result"),
                size: 6,
                minutes: 15,
            }),
            T0 + 20 * MIN,
        );
        // The requester's node witnesses the work when it arrives.
        self.tick(r, vec![sub.id()], T0 + 21 * MIN);
        let rej = self.ok(
            r,
            Body::Reject(Reject {
                submission: sub.id(),
                reason: taawun_core::synth::sealed(
                    "the clips are not transcribed",
                    &[pk(worker), pk(r)],
                ),
            }),
            T0 + 30 * MIN,
        );
        // Member 1 witnesses the rejection in time.
        self.tick(1, vec![rej.id()], T0 + 31 * MIN);
        Case {
            sub,
            rej,
            worker,
            rival,
        }
    }

    fn appeal(&mut self, c: &Case, ts: u64) -> Verified {
        self.ok(
            c.worker,
            appeal_body(&c.rej, "all ten clips are in the file"),
            ts,
        )
    }

    /// The jury of the one appeal held, at `now`, as seeds in seat order.
    fn view(&self, now: u64) -> appeal::AppealView {
        let mut all = self.coop.appeals(now);
        assert_eq!(all.len(), 1, "one appeal counts");
        all.remove(0)
    }

    fn seats(&self, now: u64) -> Vec<u8> {
        self.view(now)
            .seats
            .iter()
            .map(|s| seed_of(&s.member))
            .collect()
    }

    fn review(&self, c: &Case, now: u64) -> Review {
        self.coop.submission(&c.sub.id(), now).expect("held").review
    }

    fn earned(&self, c: &Case, now: u64) -> u64 {
        self.coop
            .balances(now)
            .get(&(pk(self.requester), pk(c.worker), "EUR".to_string()))
            .map_or(0, |b| b.earned)
    }
}

fn seed_of(k: &PublicKey) -> u8 {
    (1..=99).find(|n| pk(*n) == *k).expect("a known key")
}

fn appeal_body(rej: &Verified, answer: &str) -> Body {
    Body::Appeal(Appeal {
        rejection: rej.id(),
        answer: answer.into(),
    })
}

fn vote(a: &Verified, uphold: bool) -> Body {
    // `Verdict` alone names the appeal's outcome in these tests.
    Body::Verdict(taawun_core::body::Verdict {
        appeal: a.id(),
        uphold,
    })
}

/// The standard scene: 7 members (requester 7), an appeal at +40 min witnessed by member
/// 1 at +41 min; the jury is seated at +55 min.
fn appealed() -> (Fx, Case, Verified) {
    let mut f = Fx::new(7);
    let c = f.rejected();
    let a = f.appeal(&c, T0 + 40 * MIN);
    f.tick(1, vec![a.id()], T0 + 41 * MIN);
    (f, c, a)
}

const SEATED: u64 = T0 + 40 * MIN + SLACK + 1;
const VOTE_AT: u64 = T0 + 60 * MIN;

#[test]
fn the_jury_is_drawn_once_witnesses_have_had_their_slack() {
    let (f, _, _) = appealed();
    assert_eq!(
        f.view(T0 + 45 * MIN).outcome,
        Verdict::Drawing {
            until: T0 + 40 * MIN + SLACK
        }
    );
    let v = f.view(SEATED);
    assert_eq!(v.outcome, Verdict::Open);
    assert_eq!(v.seats.len(), 3);
    assert_eq!(v.majority, 2);
}

#[test]
fn no_party_is_ever_on_its_own_jury() {
    // Many appeals (each answer gives another appeal id, so another draw): the appellant,
    // the requester and the other claimant of the offer are never drawn, nor are they
    // replacements when every seat lapses.
    for i in 0..12 {
        let mut f = Fx::new(7);
        let c = f.rejected();
        let a = f.ok(
            c.worker,
            appeal_body(&c.rej, &format!("answer number {i}")),
            T0 + 40 * MIN,
        );
        f.tick(1, vec![a.id()], T0 + 41 * MIN);
        let far = T0 + 60 * DAY;
        let all: Vec<u8> = f.seats(far);
        assert_eq!(all.len(), 4, "three seats and one replacement: {all:?}");
        for party in [c.worker, c.rival, f.requester] {
            assert!(!all.contains(&party), "party {party} drawn in {all:?}");
        }
    }
}

#[test]
fn a_party_cannot_vote_on_its_own_appeal() {
    let (mut f, c, a) = appealed();
    for (who, why) in [
        (c.worker, "a party to an appeal cannot judge it"),
        (f.requester, "a party to an appeal cannot judge it"),
        (
            c.rival,
            "a member who claimed the same offer cannot judge its appeal",
        ),
    ] {
        match f.err(who, vote(&a, true), VOTE_AT) {
            Invalid::NotAllowed { why: w, .. } => assert_eq!(w, why),
            other => panic!("{other:?}"),
        }
    }
    // An outsider is no juror either.
    assert!(matches!(
        f.err(99, vote(&a, true), VOTE_AT),
        Invalid::NotAllowed { .. }
    ));
}

#[test]
fn an_upheld_appeal_makes_the_pay_owed() {
    let (mut f, c, a) = appealed();
    let now = T0 + 2 * DAY;
    assert!(matches!(f.review(&c, now), Review::Rejected { .. }));
    assert_eq!(f.earned(&c, now), 0);
    let jury = f.seats(SEATED);
    f.ok(jury[0], vote(&a, true), VOTE_AT);
    assert_eq!(
        f.view(now).outcome,
        Verdict::Open,
        "one vote is no majority"
    );
    f.ok(jury[1], vote(&a, true), VOTE_AT + MIN);
    assert_eq!(f.view(now).outcome, Verdict::Upheld { at: VOTE_AT + MIN });
    assert_eq!(
        f.review(&c, now),
        Review::Upheld {
            rejected: T0 + 30 * MIN,
            at: VOTE_AT + MIN
        }
    );
    assert_eq!(f.earned(&c, now), 300);
    let record = f.coop.record(&pk(f.requester), now);
    assert_eq!(
        (
            record.appeals,
            record.appeals_upheld,
            record.appeals_dismissed
        ),
        (1, 1, 0)
    );
    assert_eq!(record.unpaid.get("EUR"), Some(&300));
}

#[test]
fn an_appeal_and_its_work_looked_up_by_id_are_the_ones_the_lists_give() {
    let (mut f, c, a) = appealed();
    let jury = f.seats(SEATED);
    f.ok(jury[0], vote(&a, true), VOTE_AT);
    f.ok(jury[1], vote(&a, true), VOTE_AT + MIN);
    for now in [SEATED - 1, SEATED, VOTE_AT, VOTE_AT + MIN, T0 + 2 * DAY] {
        let listed = f.coop.appeals(now).into_iter().find(|x| x.id == a.id());
        assert!(listed.is_some(), "the appeal counts at {now}");
        assert_eq!(f.coop.appeal(&a.id(), now), listed);
        let work = f
            .coop
            .submissions(now)
            .into_iter()
            .find(|x| x.id == c.sub.id());
        assert!(work.is_some(), "the work counts at {now}");
        assert_eq!(f.coop.submission(&c.sub.id(), now), work);
    }
    // Neither the rejection nor the work is an appeal.
    assert_eq!(f.coop.appeal(&c.rej.id(), T0 + 2 * DAY), None);
    assert_eq!(f.coop.appeal(&c.sub.id(), T0 + 2 * DAY), None);
}

#[test]
fn a_dismissed_appeal_leaves_the_rejection_standing() {
    let (mut f, c, a) = appealed();
    let jury = f.seats(SEATED);
    f.ok(jury[0], vote(&a, false), VOTE_AT);
    f.ok(jury[1], vote(&a, true), VOTE_AT);
    f.ok(jury[2], vote(&a, false), VOTE_AT + MIN);
    let now = T0 + 20 * DAY;
    let v = f.view(now);
    assert_eq!(v.outcome, Verdict::Dismissed { at: VOTE_AT + MIN });
    assert_eq!((v.uphold, v.dismiss), (1, 2));
    assert!(matches!(f.review(&c, now), Review::Rejected { .. }));
    assert_eq!(f.earned(&c, now), 0);
    let record = f.coop.record(&pk(f.requester), now);
    assert_eq!(
        (
            record.appeals,
            record.appeals_upheld,
            record.appeals_dismissed
        ),
        (1, 0, 1)
    );
    // Each juror's vote is on its own record.
    let duty = f.coop.jury_duties(&pk(jury[1]), now);
    assert_eq!(duty.len(), 1);
    assert!(matches!(
        duty[0].seat.state,
        SeatState::Voted { uphold: true, .. }
    ));
}

#[test]
fn the_outcome_is_counted_once() {
    let (mut f, c, a) = appealed();
    let jury = f.seats(SEATED);
    for (i, j) in jury.iter().enumerate() {
        f.ok(*j, vote(&a, true), VOTE_AT + i as u64 * MIN);
    }
    let now = T0 + 20 * DAY;
    // Three votes to uphold, one outcome: the pay once, one appeal on the record.
    assert_eq!(f.earned(&c, now), 300);
    let record = f.coop.record(&pk(f.requester), now);
    assert_eq!((record.appeals, record.appeals_upheld), (1, 1));
    assert_eq!(f.view(now).outcome, Verdict::Upheld { at: VOTE_AT + MIN });
}

#[test]
fn a_juror_votes_once() {
    let (mut f, _, a) = appealed();
    let jury = f.seats(SEATED);
    f.ok(jury[0], vote(&a, true), VOTE_AT);
    assert_eq!(
        f.err(jury[0], vote(&a, false), VOTE_AT + MIN),
        Invalid::DoubleVerdict { appeal: a.id() }
    );
}

#[test]
fn a_member_not_drawn_does_not_count() {
    let (mut f, _, a) = appealed();
    let jury = f.seats(SEATED);
    let outsider = [1, 4, 5, 6]
        .into_iter()
        .find(|m| !jury.contains(m))
        .expect("four eligible, three seats");
    // Valid as an entry (validation cannot see the draw), counted by nobody.
    let stray = f.ok(outsider, vote(&a, false), VOTE_AT);
    f.ok(jury[0], vote(&a, false), VOTE_AT);
    let v = f.view(T0 + 2 * DAY);
    assert_eq!(
        (v.uphold, v.dismiss),
        (0, 1),
        "the stray vote is not counted"
    );
    assert_eq!(v.outcome, Verdict::Open);
    assert!(v.seats.iter().all(|s| s.state
        != SeatState::Voted {
            vote: stray.id(),
            uphold: false
        }));
}

#[test]
fn a_seat_passes_down_the_ranking_when_its_juror_does_not_vote() {
    let (mut f, c, a) = appealed();
    let jury = f.seats(SEATED);
    let window = default_limits().vote_window_ms;
    let lapse = T0 + 40 * MIN + SLACK + window + SLACK;
    f.ok(jury[1], vote(&a, true), VOTE_AT);
    f.ok(jury[2], vote(&a, false), VOTE_AT);
    // The first juror never votes: after its window and the slack, the fourth eligible
    // member takes the seat.
    let later = f.seats(lapse + 1);
    assert_eq!(later.len(), 4);
    let next = later[3];
    assert!(!jury.contains(&next));
    // The lapsed juror's late vote does not count; the replacement's decides.
    f.ok(jury[0], vote(&a, false), lapse + MIN);
    assert_eq!(f.view(lapse + 2 * MIN).outcome, Verdict::Open);
    f.ok(next, vote(&a, true), lapse + 2 * MIN);
    let now = lapse + 3 * MIN;
    assert_eq!(
        f.view(now).outcome,
        Verdict::Upheld {
            at: lapse + 2 * MIN
        }
    );
    assert_eq!(f.earned(&c, now), 300);
}

#[test]
fn a_jury_that_never_decides_upholds_the_appeal_by_default() {
    let (f, c, _) = appealed();
    let window = default_limits().vote_window_ms;
    let first_lapse = T0 + 40 * MIN + SLACK + window + SLACK;
    // Nobody votes: three seats lapse, the fourth eligible member's seat lapses too, and
    // the ranking has run out.
    let end = first_lapse + window + SLACK;
    assert_eq!(f.view(end).outcome, Verdict::Open);
    assert_eq!(
        f.view(end + 1).outcome,
        Verdict::UpheldByDefault { at: end }
    );
    assert_eq!(
        f.review(&c, end + 1),
        Review::Upheld {
            rejected: T0 + 30 * MIN,
            at: end
        }
    );
    assert_eq!(f.earned(&c, end + 1), 300);
}

#[test]
fn with_too_few_members_for_a_jury_the_rejection_stands() {
    // Five members: requester 5, claimants 2 and 3; only 1 and 4 could judge.
    let mut f = Fx::new(5);
    let c = f.rejected();
    let a = f.appeal(&c, T0 + 40 * MIN);
    f.tick(1, vec![a.id()], T0 + 41 * MIN);
    let now = T0 + 60 * DAY;
    assert_eq!(f.view(now).outcome, Verdict::NoJury);
    assert!(matches!(f.review(&c, now), Review::Rejected { .. }));
    assert_eq!(f.earned(&c, now), 0);
}

#[test]
fn an_appeal_after_the_window_does_not_count() {
    let mut f = Fx::new(7);
    let c = f.rejected();
    let window = default_limits().appeal_window_ms;
    let a = f.appeal(&c, T0 + 30 * MIN + window + 1);
    f.tick(1, vec![a.id()], T0 + 30 * MIN + window + MIN);
    assert!(f.coop.appeals(T0 + 60 * DAY).is_empty());
    assert!(matches!(
        f.review(&c, T0 + 60 * DAY),
        Review::Rejected { .. }
    ));
}

#[test]
fn a_backdated_appeal_witnessed_late_does_not_count() {
    let mut f = Fx::new(7);
    let c = f.rejected();
    let window = default_limits().appeal_window_ms;
    let deadline = T0 + 30 * MIN + window;
    // Dated by the deadline, but first witnessed a day after it.
    let a = f.appeal(&c, deadline);
    f.tick(1, vec![a.id()], deadline + DAY);
    assert!(f.coop.appeals(deadline + 2 * DAY).is_empty());
}

#[test]
fn an_appeal_dated_by_the_deadline_and_witnessed_within_the_slack_counts() {
    let mut f = Fx::new(7);
    let c = f.rejected();
    let window = default_limits().appeal_window_ms;
    let deadline = T0 + 30 * MIN + window;
    let a = f.appeal(&c, deadline);
    f.tick(1, vec![a.id()], deadline + SLACK);
    assert_eq!(f.coop.appeals(deadline + 2 * DAY).len(), 1);
}

#[test]
fn a_rejection_is_appealed_once() {
    let (mut f, c, _) = appealed();
    assert_eq!(
        f.err(c.worker, appeal_body(&c.rej, "again"), T0 + 50 * MIN),
        Invalid::AlreadyAppealed {
            rejection: c.rej.id()
        }
    );
}

#[test]
fn only_the_member_whose_work_was_rejected_may_appeal() {
    let mut f = Fx::new(7);
    let c = f.rejected();
    for who in [c.rival, 1, f.requester] {
        assert!(matches!(
            f.err(who, appeal_body(&c.rej, "not mine"), T0 + 40 * MIN),
            Invalid::NotAllowed { .. }
        ));
    }
    // An appeal names a rejection, nothing else.
    assert!(matches!(
        f.err(c.worker, appeal_body(&c.sub, "wrong"), T0 + 40 * MIN),
        Invalid::WrongKind {
            expected: taawun_core::Kind::Reject,
            ..
        }
    ));
}

#[test]
fn an_answer_follows_the_text_rules() {
    let mut f = Fx::new(7);
    let c = f.rejected();
    for bad in [
        "   ".to_string(),
        "paid \u{202E}05".to_string(),
        "x".repeat(MAX_ANSWER_CHARS + 1),
    ] {
        assert!(matches!(
            f.err(c.worker, appeal_body(&c.rej, &bad), T0 + 40 * MIN),
            Invalid::BadAppeal(_)
        ));
    }
    // Several lines are fine: an answer explains.
    f.ok(
        c.worker,
        appeal_body(&c.rej, "clip 1: done\nclip 2: done"),
        T0 + 40 * MIN,
    );
}

#[test]
fn the_requester_replies_once_and_only_the_requester() {
    let (mut f, c, a) = appealed();
    let reply = |text: &str| {
        Body::Reply(Reply {
            appeal: a.id(),
            text: text.into(),
        })
    };
    assert!(matches!(
        f.err(c.worker, reply("me too"), T0 + 50 * MIN),
        Invalid::NotAllowed { .. }
    ));
    assert!(matches!(
        f.err(1, reply("me too"), T0 + 50 * MIN),
        Invalid::NotAllowed { .. }
    ));
    f.ok(f.requester, reply("clip 7 is empty"), T0 + 50 * MIN);
    assert_eq!(
        f.err(f.requester, reply("and clip 8"), T0 + 51 * MIN),
        Invalid::AlreadyReplied { appeal: a.id() }
    );
    assert_eq!(
        f.view(SEATED).reply.as_deref(),
        Some("clip 7 is empty"),
        "the jury reads the reply"
    );
    // Shown while the jury is drawn too.
    let drawing = f.view(T0 + 52 * MIN);
    assert!(matches!(drawing.outcome, Verdict::Drawing { .. }));
    assert_eq!(drawing.reply.as_deref(), Some("clip 7 is empty"));
}

#[test]
fn the_seed_depends_on_an_entry_neither_party_writes() {
    // The appellant chooses the appeal's bytes after seeing the rejection, so it could
    // try appeals until one draws the jury it likes, if the seed were only those two
    // ids. The witnesses' tick ids enter the seed: written after the appeal by others.
    let (rej, app) = (Id([1; 32]), Id([2; 32]));
    let base = appeal::seed(&rej, &app, &[Id([3; 32])]);
    assert_ne!(base, appeal::seed(&rej, &app, &[Id([4; 32])]));
    assert_ne!(base, appeal::seed(&rej, &Id([5; 32]), &[Id([3; 32])]));
    assert_ne!(base, appeal::seed(&Id([6; 32]), &app, &[Id([3; 32])]));
    assert_eq!(
        appeal::seed(&rej, &app, &[Id([3; 32]), Id([4; 32])]),
        appeal::seed(&rej, &app, &[Id([4; 32]), Id([3; 32]), Id([4; 32])])
    );

    // In the fold: the same appeal and rejection, witnessed by member 1 or by member 4,
    // are judged by juries drawn from different seeds; so the appellant, who wrote the
    // appeal, cannot know its jury when it writes it.
    let juries: Vec<Vec<u8>> = [1u8, 4, 5, 6]
        .into_iter()
        .map(|witness| {
            let mut f = Fx::new(7);
            let c = f.rejected();
            let a = f.appeal(&c, T0 + 40 * MIN);
            f.tick(witness, vec![a.id()], T0 + 41 * MIN);
            f.seats(SEATED)
        })
        .collect();
    assert!(
        juries.windows(2).any(|w| w[0] != w[1]),
        "witnesses change the draw: {juries:?}"
    );
}

#[test]
fn the_parties_own_ticks_do_not_seed_the_draw() {
    // The requester witnessing the appeal itself would let it grind its tick until the
    // jury suits it: its tick is not a witness of the draw. With no other witness there
    // is no jury, and the rejection stands (the nodes of other members witness appeals:
    // Coop::to_witness names them).
    let mut f = Fx::new(7);
    let c = f.rejected();
    let a = f.appeal(&c, T0 + 40 * MIN);
    let r = f.requester;
    f.tick(r, vec![a.id()], T0 + 41 * MIN);
    assert_eq!(f.view(T0 + 2 * DAY).outcome, Verdict::NoJury);
    // The requester's tick does not stop other members' nodes from witnessing it; the
    // parties' own nodes are not asked to.
    assert!(f.coop.to_witness(&pk(1)).contains(&a.id()));
    assert!(!f.coop.to_witness(&pk(r)).contains(&a.id()));
    f.tick(1, vec![a.id()], T0 + 42 * MIN);
    assert_eq!(f.view(T0 + 2 * DAY).outcome, Verdict::Open);
    assert!(
        !f.coop.to_witness(&pk(4)).contains(&a.id()),
        "witnessed once is enough"
    );
}

#[test]
fn appeal_limits_are_amendable_within_bounds_and_absent_from_old_charters() {
    use taawun_core::entry::{Entry, VERSION};
    // A charter with the default appeal limits encodes as before appeals existed.
    let mut limits = default_limits();
    let body = |l: &Limits| {
        Entry {
            v: VERSION,
            coop: None,
            author: pk(1),
            seq: 1,
            prev: None,
            ts: T0,
            gov: None,
            body: Body::Charter(Charter {
                name: "Coop".into(),
                members: vec![pk(1)],
                requesters: vec![],
                names: vec![Named {
                    key: pk(1),
                    name: "Member 1".into(),
                }],
                quorum_pct: 60,
                floors: [("EUR".to_string(), 1200)].into_iter().collect(),
                limits: l.clone(),
            }),
        }
        .encode()
    };
    let bytes = body(&limits);
    assert!(!bytes.windows(16).any(|w| w == b"appeal_window_ms"));
    limits.jury_size = 5;
    assert!(body(&limits).windows(9).any(|w| w == b"jury_size"));
    // An even jury could tie; a proposal for one is refused.
    let mut f = Fx::new(7);
    for (limit, value) in [
        (Limit::JurySize, 4),
        (Limit::JurySize, 0),
        (Limit::AppealWindowMs, MIN),
        (Limit::VoteWindowMs, MIN),
    ] {
        assert!(matches!(
            f.err(
                1,
                Body::Proposal(Proposal {
                    action: Action::SetLimit { limit, value },
                    reason: "try".into(),
                }),
                T0 + MIN,
            ),
            Invalid::BadProposal(_)
        ));
    }
    f.ok(
        1,
        Body::Proposal(Proposal {
            action: Action::SetLimit {
                limit: Limit::JurySize,
                value: 5,
            },
            reason: "bigger juries".into(),
        }),
        T0 + MIN,
    );
}

#[test]
fn a_vote_first_witnessed_after_its_seat_does_not_count() {
    let (mut f, _, a) = appealed();
    let jury = f.seats(SEATED);
    // Nodes witness votes so that they keep their time.
    let v = f.ok(jury[0], vote(&a, true), VOTE_AT);
    assert!(f.coop.to_witness(&pk(f.requester)).contains(&v.id()));
    let until = T0 + 40 * MIN + SLACK + default_limits().vote_window_ms;
    // Dated inside the seat, first witnessed a day after it closed: made late.
    f.tick(1, vec![v.id()], until + DAY);
    let view = f.view(until + DAY);
    assert_eq!((view.uphold, view.dismiss), (0, 0));
    assert_eq!(view.seats[0].state, SeatState::Lapsed);
}
