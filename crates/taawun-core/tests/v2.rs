//! Version 2's protections against a hostile requester, a stolen key and a forked chain:
//! each test is one attack that worked under version 1's rules, written as the attacker
//! would, asserting the outcome that protects the worker.

use ed25519_dalek::SigningKey;
use taawun_core::body::*;
use taawun_core::entry::Verified;
use taawun_core::fold::{Coop, PlaceState, Review as Verdict};
use taawun_core::id::{Hash, Id, PublicKey};
use taawun_core::lottery;
use taawun_core::money::Money;
use taawun_core::rules::default_limits;
use taawun_core::validate::ENACT_SLACK_MS;
use taawun_core::writer::Writer;
use taawun_core::{Invalid, Outcome};

const T0: u64 = 1_790_000_000_000;
const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
const SECRET: Hash = Hash([42; 32]);
/// The requester's key seed; members are 1..=n.
const R: u8 = 50;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn pk(n: u8) -> PublicKey {
    PublicKey(key(n).verifying_key().to_bytes())
}

/// A cooperative of `n` members (keys 1..=n, 1 the founder) and one requester (key
/// [`R`]), quorum 60 %, floor 12.00 EUR/h, as one node sees it.
struct Fx {
    coop: Coop,
    id: Id,
    writers: std::collections::BTreeMap<u8, Writer>,
    now: u64,
    /// Every entry stored, in the order stored.
    log: Vec<Verified>,
}

impl Fx {
    fn new(n: u8) -> Self {
        let mut w0 = Writer::new(key(1), None, None);
        let charter = w0.next(
            Body::Charter(Charter {
                name: "Coop".into(),
                members: (1..=n).map(pk).collect(),
                requesters: vec![pk(R)],
                names: (1..=n)
                    .chain([R])
                    .map(|i| Named {
                        key: pk(i),
                        name: format!("Person {i}"),
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
        let mut writers = std::collections::BTreeMap::new();
        writers.insert(1, w0);
        for k in (2..=n).chain([R]) {
            writers.insert(k, Writer::new(key(k), Some(id), None));
        }
        Fx {
            coop,
            id,
            writers,
            now: T0,
            log: Vec::new(),
        }
    }

    /// Signs the next entry of `who` a minute later, without ingesting it.
    fn sign(&mut self, who: u8, body: Body) -> Verified {
        self.now += MIN;
        let now = self.now;
        self.writer(who).next(body, now, None)
    }

    fn writer(&mut self, who: u8) -> &mut Writer {
        self.writers.get_mut(&who).expect("a known author")
    }

    fn put(&mut self, who: u8, body: Body) -> Result<Verified, Invalid> {
        let before = self.writer(who).head();
        let v = self.sign(who, body);
        match self.coop.ingest(v.clone(), Some(self.now)) {
            Ok(Outcome::Fresh) => {
                self.log.push(v.clone());
                Ok(v)
            }
            Ok(other) => panic!("expected a fresh entry, got {other:?}"),
            Err(e) => {
                let id = self.id;
                *self.writer(who) = Writer::new(key(who), Some(id), before);
                Err(e)
            }
        }
    }

    fn ok(&mut self, who: u8, body: Body) -> Verified {
        let kind = body.kind();
        self.put(who, body)
            .unwrap_or_else(|e| panic!("{kind} refused: {e}"))
    }

    fn err(&mut self, who: u8, body: Body) -> Invalid {
        self.put(who, body).expect_err("a rule break")
    }

    /// An offer by the requester paying `pay` cents for `minutes`, `n` assignments.
    fn offer(&mut self, pay: u64, minutes: u32, n: u32) -> Verified {
        self.ok(R, Body::Offer(offer(pay, minutes, n)))
    }

    /// Claims by `members`, then the draw over them once the window closed.
    fn assign(&mut self, o: &Verified, members: &[u8]) -> Verified {
        let claims: Vec<(Id, PublicKey)> = members
            .iter()
            .map(|m| (self.ok(*m, claim(o)).id(), pk(*m)))
            .collect();
        self.now += 30 * MIN;
        let Body::Offer(of) = &o.entry().body else {
            panic!("not an offer")
        };
        let winners = lottery::draw(&SECRET, &o.id(), &claims, of.assignments);
        self.ok(
            R,
            Body::Assign(Assign {
                offer: o.id(),
                claims: claims.iter().map(|c| c.0).collect(),
                winners,
                secret: SECRET,
            }),
        )
    }

    fn owed(&self, member: u8) -> u64 {
        self.balance(member).owed()
    }

    fn balance(&self, member: u8) -> taawun_core::fold::Balance {
        self.coop
            .balances(self.now)
            .get(&(pk(R), pk(member), "EUR".to_string()))
            .copied()
            .unwrap_or_default()
    }
}

fn offer(pay: u64, minutes: u32, assignments: u32) -> Offer {
    Offer {
        title: "Transcribe".into(),
        description: "Ten short clips".into(),
        purpose: "Subtitles for a community radio".into(),
        pay: Money::new("EUR", pay),
        minutes,
        assignments,
        expires_at: T0 + 10 * 24 * HOUR,
        review_window_ms: 24 * HOUR,
        claim_window_ms: 30 * MIN,
        commit: lottery::commit(&SECRET),
    }
}

fn claim(o: &Verified) -> Body {
    Body::Claim(Claim { offer: o.id() })
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

fn settle(member: u8, minor: u64) -> Body {
    Body::Settle(Settle {
        member: pk(member),
        amount: Money::new("EUR", minor),
        reference: taawun_core::synth::sealed("MM-1", &[pk(member), pk(R)]),
    })
}

fn receipt(s: &Verified, received: bool) -> Body {
    Body::Receipt(Receipt {
        settle: s.id(),
        received,
    })
}

/// Member 2 did 15 minutes of accepted work worth 3.00 EUR for the requester.
fn accepted_work(f: &mut Fx) -> (Verified, Verified, Verified) {
    let o = f.offer(300, 15, 1);
    let a = f.assign(&o, &[2]);
    let s = f.ok(2, submit(&o, &a, 15));
    f.ok(R, accept(&s));
    (o, a, s)
}

// A. Payment never received.

#[test]
fn a_settlement_the_member_never_confirms_does_not_lower_what_is_owed() {
    let mut f = Fx::new(3);
    accepted_work(&mut f);
    let big = f.ok(R, settle(2, 1_000_000));
    assert_eq!(f.owed(2), 300, "a requester's word is not a payment");
    assert_eq!(f.balance(2).unconfirmed(), 1_000_000);
    // Future work is not "pre-paid".
    accepted_work(&mut f);
    assert_eq!(f.owed(2), 600);
    // The member answers: not received. It shows on the requester's record.
    f.ok(2, receipt(&big, false));
    assert_eq!(f.owed(2), 600);
    assert_eq!(f.balance(2).unconfirmed(), 0);
    assert_eq!(f.balance(2).denied, 1_000_000);
    let rec = f.coop.record(&pk(R), f.now);
    assert_eq!(rec.not_received, 1);
    assert_eq!(rec.unpaid.get("EUR"), Some(&600));
    // A real payment, confirmed, settles it.
    let paid = f.ok(R, settle(2, 600));
    assert_eq!(
        f.coop.record(&pk(R), f.now).unconfirmed.get("EUR"),
        Some(&600)
    );
    f.ok(2, receipt(&paid, true));
    assert_eq!(f.owed(2), 0);
    // One answer per settlement; only the member paid answers, whatever its role.
    assert_eq!(
        f.err(2, receipt(&paid, false)),
        Invalid::AlreadyAnswered { settle: paid.id() }
    );
    assert!(matches!(
        f.err(3, receipt(&paid, true)),
        Invalid::NotAllowed { .. }
    ));
}

// B. Equivocation erases debts.

/// Signs a second entry at `seq` of `who`'s chain (after `prev`), as a stolen key or a
/// restored backup would.
fn twin(f: &Fx, who: u8, prev: Option<taawun_core::validate::Head>, body: Body) -> Verified {
    let mut w = Writer::new(key(who), Some(f.id), prev);
    w.next(body, f.now + 1, None)
}

#[test]
fn a_requester_who_forks_its_chain_still_owes_what_it_owed() {
    let mut f = Fx::new(3);
    let before = f.writer(R).head();
    let (o, _, _) = accepted_work(&mut f);
    assert_eq!(f.owed(2), 300);
    // The requester signs another entry at the seq of its offer.
    let other = twin(&f, R, before, Body::Offer(offer(900, 15, 1)));
    assert_eq!(
        f.coop.ingest(other, Some(f.now + 1)),
        Ok(Outcome::Fork { existing: o.id() })
    );
    assert!(f.coop.frozen_authors().contains_key(&pk(R)));
    assert_eq!(f.owed(2), 300, "the fork erased nothing");
    let subs = f.coop.submissions(f.now);
    assert!(matches!(subs[0].review, Verdict::Accepted(_)));
    // And what it writes later still binds it: work it accepts after the fork is owed.
    accepted_work(&mut f);
    assert_eq!(f.owed(2), 600);
}

#[test]
fn a_members_stolen_key_or_restored_backup_does_not_wipe_its_wages() {
    let mut f = Fx::new(3);
    let o = f.offer(300, 15, 1);
    let before = f.writer(2).head();
    let a = f.assign(&o, &[2]);
    let s = f.ok(2, submit(&o, &a, 15));
    f.ok(R, accept(&s));
    // A thief (or a restored backup) signs at the member's claim's seq.
    let other = twin(
        &f,
        2,
        before,
        Body::Proposal(Proposal {
            action: Action::RemoveMember(pk(3)),
            reason: "stolen key".into(),
        }),
    );
    assert!(matches!(
        f.coop.ingest(other, Some(f.now + 1)),
        Ok(Outcome::Fork { .. })
    ));
    assert_eq!(f.owed(2), 300, "the member's wages stand");
    // But the frozen key has no more say: its proposal does not count.
    assert!(f.coop.proposals(f.now).is_empty());
}

// C. Permanent disagreement.

#[test]
fn evidence_seen_first_does_not_refuse_the_authors_earlier_entries() {
    let mut f = Fx::new(3);
    let o = f.offer(300, 15, 1);
    let a = f.assign(&o, &[2]);
    let s = f.ok(2, submit(&o, &a, 15));
    let acc = f.ok(R, accept(&s));
    // The requester forks at the seq of its acceptance.
    let head = f
        .coop
        .heads()
        .get(&pk(R))
        .copied()
        .map(|h| taawun_core::validate::Head {
            seq: h.seq - 1,
            id: a.id(),
            ts: a.entry().ts,
            gov: None,
        });
    let other = twin(&f, R, head, Body::Withdraw(Withdraw { offer: o.id() }));
    // A member's node that learns of the fork (through evidence) before the requester's
    // earlier entries.
    let mut early = Coop::new();
    let charter = f.coop.get(&f.id).expect("charter").clone();
    early.ingest(charter, None).expect("charter");
    let all = f.log.clone();
    let evidence = Writer::new(key(3), Some(f.id), None).next(
        Body::Evidence(Evidence {
            a: acc.envelope(),
            b: other.envelope(),
        }),
        f.now + 2,
        None,
    );
    assert_eq!(early.ingest(evidence.clone(), None), Ok(Outcome::Fresh));
    for v in all.iter().filter(|v| v.id() != f.id) {
        let out = early.ingest(v.clone(), None);
        assert!(
            matches!(out, Ok(Outcome::Fresh)),
            "{} refused after the evidence: {out:?}",
            v.entry().body.kind()
        );
    }
    assert!(matches!(
        early.ingest(other.clone(), None),
        Ok(Outcome::Fork { .. })
    ));
    // Same state as the node that saw things in the other order.
    assert!(matches!(
        f.coop.ingest(other, None),
        Ok(Outcome::Fork { .. })
    ));
    assert_eq!(f.coop.ingest(evidence, None), Ok(Outcome::Fresh));
    assert_eq!(early.balances(f.now), f.coop.balances(f.now));
    assert_eq!(early.submissions(f.now), f.coop.submissions(f.now));
    assert_eq!(early.frozen_authors(), f.coop.frozen_authors());
}

#[test]
fn a_dependency_on_either_branch_of_a_fork_is_satisfied() {
    let mut f = Fx::new(3);
    let before = f.writer(R).head();
    let x = f.offer(300, 15, 1);
    // The requester forks: offer Y at the same seq as X, then a second entry on Y's
    // branch.
    let mut wb = Writer::new(key(R), Some(f.id), before);
    let y = wb.next(Body::Offer(offer(600, 15, 1)), f.now + 1, None);
    let y2 = wb.next(Body::Offer(offer(450, 15, 1)), f.now + 2, None);
    f.now += 2;
    // Members who saw Y claim it.
    let cy = f.sign(2, claim(&y));
    let cx = f.sign(3, claim(&x));
    // Node 1 saw X's branch first, node 2 Y's; both end up with everything.
    let mut n1 = f.coop.clone();
    let mut n2 = Coop::new();
    n2.ingest(f.coop.get(&f.id).expect("charter").clone(), None)
        .expect("charter");
    for v in [&y, &y2, &cy, &cx] {
        let out = n1.ingest(v.clone(), None);
        assert!(
            matches!(
                out,
                Ok(Outcome::Fresh | Outcome::Fork { .. } | Outcome::Branch)
            ),
            "{out:?}"
        );
    }
    for v in [&y, &y2, &cy, &x, &cx] {
        let out = n2.ingest(v.clone(), None);
        assert!(
            matches!(
                out,
                Ok(Outcome::Fresh | Outcome::Fork { .. } | Outcome::Branch)
            ),
            "{out:?}"
        );
    }
    assert_eq!(n1.len(), n2.len());
    assert!(n1.get(&cy.id()).is_some() && n2.get(&cx.id()).is_some());
    assert_eq!(n1.offers(f.now), n2.offers(f.now));
    assert_eq!(n1.frozen_authors(), n2.frozen_authors());
}

// D. Governance veto.

fn propose(f: &mut Fx, action: Action) -> Verified {
    f.ok(
        1,
        Body::Proposal(Proposal {
            action,
            reason: "why".into(),
        }),
    )
}

fn vote(f: &mut Fx, who: u8, p: &Verified, yes: bool) -> Verified {
    f.ok(
        who,
        Body::Vote(Vote {
            proposal: p.id(),
            yes,
        }),
    )
}

#[test]
fn an_enactment_cannot_take_effect_years_ahead() {
    let mut f = Fx::new(3);
    let p = propose(
        &mut f,
        Action::AdmitMember {
            key: pk(9),
            name: "Nine".into(),
        },
    );
    let votes = vec![
        vote(&mut f, 1, &p, true).id(),
        vote(&mut f, 2, &p, true).id(),
    ];
    let delay = default_limits().amendment_delay_ms;
    let years = f.now + 3 * 365 * 24 * HOUR;
    let e = f.err(
        1,
        Body::Enact(Enact {
            proposal: p.id(),
            votes: votes.clone(),
            effective_at: years,
        }),
    );
    assert!(
        matches!(e, Invalid::EffectiveTooLate { latest, .. } if latest == f.now + delay + ENACT_SLACK_MS)
    );
    f.ok(
        1,
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: f.now + 2 * delay,
        }),
    );
}

#[test]
fn a_proposal_expires() {
    let mut f = Fx::new(3);
    let p = propose(
        &mut f,
        Action::AdmitMember {
            key: pk(9),
            name: "Nine".into(),
        },
    );
    f.now += default_limits().proposal_life_ms;
    assert!(matches!(
        f.err(
            2,
            Body::Vote(Vote {
                proposal: p.id(),
                yes: true
            })
        ),
        Invalid::ProposalExpired { .. }
    ));
}

#[test]
fn no_votes_count_even_when_the_enactment_leaves_them_out() {
    let mut f = Fx::new(7);
    let p = propose(
        &mut f,
        Action::AdmitMember {
            key: pk(9),
            name: "Nine".into(),
        },
    );
    let yes: Vec<Id> = (1..=5).map(|m| vote(&mut f, m, &p, true).id()).collect();
    // Five yes of seven members: the enactment names only those.
    let delay = default_limits().amendment_delay_ms;
    let at = f.now + MIN + delay;
    f.ok(
        1,
        Body::Enact(Enact {
            proposal: p.id(),
            votes: yes,
            effective_at: at,
        }),
    );
    assert!(f.coop.rules_at(at).expect("rules").is_member(&pk(9)));
    // Two no votes do not outweigh five yes: still enacted.
    vote(&mut f, 6, &p, false);
    vote(&mut f, 7, &p, false);
    assert!(f.coop.rules_at(at).expect("rules").is_member(&pk(9)));
}

#[test]
fn a_removal_needs_two_thirds_of_all_the_votes_cast() {
    let mut f = Fx::new(10);
    let delay = default_limits().amendment_delay_ms;
    // Quorum 60 % of 10: six votes cast. Six yes, named by the enactment.
    let p = propose(&mut f, Action::RemoveMember(pk(10)));
    let yes: Vec<Id> = (1..=6).map(|m| vote(&mut f, m, &p, true).id()).collect();
    let at = f.now + MIN + delay;
    f.ok(
        1,
        Body::Enact(Enact {
            proposal: p.id(),
            votes: yes,
            effective_at: at,
        }),
    );
    assert!(!f.coop.rules_at(at).expect("rules").is_member(&pk(10)));
    // Four no votes it left out: 6 of 10 is under two thirds, so nothing changes.
    for m in 7..=10 {
        vote(&mut f, m, &p, false);
    }
    assert!(
        f.coop.rules_at(at).expect("rules").is_member(&pk(10)),
        "the no votes held undo an enactment that left them out"
    );
    // An enactment naming its votes honestly is refused under two thirds.
    let p = propose(&mut f, Action::RemoveMember(pk(9)));
    let mut named: Vec<Id> = (1..=4).map(|m| vote(&mut f, m, &p, true).id()).collect();
    named.extend((5..=7).map(|m| vote(&mut f, m, &p, false).id()));
    assert_eq!(
        f.err(
            1,
            Body::Enact(Enact {
                proposal: p.id(),
                votes: named,
                effective_at: f.now + MIN + delay,
            })
        ),
        Invalid::NotPassed {
            yes: 4,
            no: 3,
            pct: 66
        }
    );
}

// G. Floor evasion by a low estimate.

#[test]
fn a_low_estimate_cannot_push_the_rate_under_the_floor() {
    let mut f = Fx::new(3);
    // 0.40 EUR for an estimated minute meets 12.00 EUR/h; the work takes an hour.
    let o = f.offer(40, 1, 1);
    let a = f.assign(&o, &[2]);
    let s = f.ok(2, submit(&o, &a, 60));
    f.ok(R, accept(&s));
    let sub = &f.coop.submissions(f.now)[0];
    assert_eq!(
        sub.topup, 1160,
        "an hour at 12.00 EUR/h, less the 0.40 paid"
    );
    assert_eq!(f.owed(2), 1200);
}

#[test]
fn the_median_of_reported_minutes_bounds_one_inflated_report() {
    let mut f = Fx::new(4);
    let o = f.offer(300, 15, 3);
    let a = f.assign(&o, &[2, 3, 4]);
    for (m, minutes) in [(2, 30), (3, 30), (4, 600)] {
        let s = f.ok(m, submit(&o, &a, minutes));
        f.ok(R, accept(&s));
    }
    let topups: Vec<(PublicKey, u64)> = f
        .coop
        .submissions(f.now)
        .iter()
        .map(|s| (s.member, s.topup))
        .collect();
    // Median 30 min (cap 200 % of 15 is 30 too): 6.00 due each, 3.00 top-up; the 600
    // minutes are credited at the median.
    for (_, t) in topups {
        assert_eq!(t, 300);
    }
}

#[test]
fn an_offer_posted_under_a_lower_floor_owes_the_floor_in_force() {
    let mut f = Fx::new(3);
    let o = f.offer(300, 15, 1);
    let p = propose(
        &mut f,
        Action::SetFloor {
            currency: "EUR".into(),
            per_hour: 2400,
        },
    );
    let votes = vec![
        vote(&mut f, 1, &p, true).id(),
        vote(&mut f, 2, &p, true).id(),
    ];
    let at = f.now + MIN + default_limits().amendment_delay_ms;
    f.ok(
        1,
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: at,
        }),
    );
    let a = f.assign(&o, &[2]);
    f.now = at;
    let s = f.ok(2, submit(&o, &a, 15));
    f.ok(R, accept(&s));
    // 15 minutes at the new 24.00 EUR/h floor: 6.00 due, 3.00 top-up.
    assert_eq!(f.coop.submissions(f.now)[0].topup, 300);
    assert_eq!(f.owed(2), 600);
}

// H. Lottery control.

#[test]
fn a_reveal_that_does_not_match_the_commitment_is_refused() {
    let mut f = Fx::new(3);
    let o = f.offer(300, 15, 1);
    let c = f.ok(2, claim(&o));
    f.now += 30 * MIN;
    let other = Hash([7; 32]);
    let winners = lottery::draw(&other, &o.id(), &[(c.id(), pk(2))], 1);
    assert_eq!(
        f.err(
            R,
            Body::Assign(Assign {
                offer: o.id(),
                claims: vec![c.id()],
                winners,
                secret: other,
            })
        ),
        Invalid::BadReveal
    );
}

#[test]
fn offer_bytes_no_longer_choose_the_winner() {
    // Version 1 ranked by blake3(offer id || key): a requester tried offer variants
    // until its favourite ranked first. Now the rank needs the secret and every claim's
    // id, which do not exist when the offer is posted: the same offer and claimant rank
    // differently as soon as another member claims.
    let mut f = Fx::new(6);
    let o = f.offer(300, 15, 1);
    let claims: Vec<(Id, PublicKey)> = (2..=6).map(|m| (f.ok(m, claim(&o)).id(), pk(m))).collect();
    let seeds: Vec<Hash> = (1..=claims.len())
        .map(|n| {
            let ids: Vec<Id> = claims[..n].iter().map(|c| c.0).collect();
            lottery::seed(&SECRET, &o.id(), &ids)
        })
        .collect();
    for w in seeds.windows(2) {
        assert_ne!(w[0], w[1]);
    }
    // And the assignment must follow that draw over the claims it names.
    f.now += 30 * MIN;
    let fair = lottery::draw(&SECRET, &o.id(), &claims, 1);
    let other = claims
        .iter()
        .map(|c| c.1)
        .find(|k| *k != fair[0])
        .expect("another claimant");
    assert!(matches!(
        f.err(
            R,
            Body::Assign(Assign {
                offer: o.id(),
                claims: claims.iter().map(|c| c.0).collect(),
                winners: vec![other],
                secret: SECRET,
            })
        ),
        Invalid::LotteryMismatch { .. }
    ));
}

#[test]
fn a_claim_window_under_the_charters_minimum_is_refused() {
    let mut f = Fx::new(3);
    let e = f.err(
        R,
        Body::Offer(Offer {
            claim_window_ms: 1,
            ..offer(300, 15, 1)
        }),
    );
    assert!(matches!(
        e,
        Invalid::BadOffer {
            field: "claim_window_ms",
            ..
        }
    ));
}

/// The claims `members` make on `o`, a minute apart.
fn claims(f: &mut Fx, o: &Verified, members: &[u8]) -> Vec<(Id, PublicKey)> {
    members
        .iter()
        .map(|m| (f.ok(*m, claim(o)).id(), pk(*m)))
        .collect()
}

/// The requester's assignment of `o` over `named`, drawn honestly over them.
fn assign_over(o: &Verified, named: &[(Id, PublicKey)]) -> Body {
    let Body::Offer(of) = &o.entry().body else {
        panic!("not an offer")
    };
    Body::Assign(Assign {
        offer: o.id(),
        claims: named.iter().map(|c| c.0).collect(),
        winners: lottery::draw(&SECRET, &o.id(), named, of.assignments),
        secret: SECRET,
    })
}

fn member_of(k: &PublicKey) -> u8 {
    (1..=20).find(|m| pk(*m) == *k).expect("a member key")
}

#[test]
fn an_assignment_that_leaves_out_a_claim_made_in_the_window_does_not_count() {
    let mut f = Fx::new(4);
    let o = f.offer(300, 15, 1);
    let all = claims(&mut f, &o, &[2, 3, 4]);
    f.now += 30 * MIN;
    // The requester leaves out claims until its favourite wins: valid as an entry, but
    // it does not count, and the work done under it is not owed by the rules.
    let favourite = (1..all.len())
        .flat_map(|n| {
            let all = &all;
            (0..all.len()).map(move |skip| {
                all.iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .take(n)
                    .map(|(_, c)| *c)
                    .collect::<Vec<_>>()
            })
        })
        .find(|some| lottery::draw(&SECRET, &o.id(), some, 1) == vec![pk(4)])
        .expect("a subset where member 4 wins");
    let unfair = f.ok(R, assign_over(&o, &favourite));
    let view = f.coop.offer(&o.id(), f.now).expect("the offer");
    assert_eq!(
        view.state,
        taawun_core::fold::OfferState::AwaitingAssignment
    );
    assert_eq!(view.void_assignments, 1);
    assert!(view.winners.is_empty());
    assert_eq!(f.coop.assignment(&o.id(), f.now), None);
    let s = f.ok(4, submit(&o, &unfair, 15));
    f.ok(R, accept(&s));
    assert_eq!(f.owed(4), 0, "work under an unfair assignment is not owed");
    assert_eq!(f.coop.record(&pk(R), f.now).void_assignments, 1);
    // The fair draw over every claim counts, and its winner's work is owed.
    let fair = f.ok(R, assign_over(&o, &all));
    assert_eq!(f.coop.assignment(&o.id(), f.now), Some(fair.id()));
    let winner = member_of(&f.coop.offer(&o.id(), f.now).expect("offer").winners[0]);
    if winner != 4 {
        let s = f.ok(winner, submit(&o, &fair, 15));
        f.ok(R, accept(&s));
    }
    assert_eq!(f.owed(winner), 300);
}

#[test]
fn a_claim_written_after_the_window_under_an_old_timestamp_does_not_count() {
    let mut f = Fx::new(4);
    let o = f.offer(300, 15, 1);
    let c = f.ok(2, claim(&o));
    // Other members' nodes witness claims as they arrive (their minutely ticks).
    f.ok(4, tick(&[&c]));
    let honest = vec![(c.id(), pk(2))];
    // An hour after the window closed, the requester's friend signs a claim dated inside
    // it; the first other member to see it witnesses it on arrival.
    f.now += 90 * MIN;
    let late = f.writer(3).next(claim(&o), o.entry().ts + 5 * MIN, None);
    assert_eq!(f.coop.ingest(late.clone(), Some(f.now)), Ok(Outcome::Fresh));
    f.ok(4, tick(&[&late]));
    assert_eq!(f.coop.claims_on(&o.id(), f.now), vec![(pk(2), honest[0].0)]);
    // An assignment naming the friend's claim does not count; one without it does.
    let with_friend = vec![honest[0], (late.id(), pk(3))];
    f.ok(R, assign_over(&o, &with_friend));
    assert_eq!(f.coop.assignment(&o.id(), f.now), None);
    let fair = f.ok(R, assign_over(&o, &honest));
    assert_eq!(f.coop.assignment(&o.id(), f.now), Some(fair.id()));
    assert_eq!(
        f.coop.offer(&o.id(), f.now).expect("offer").winners,
        vec![pk(2)]
    );
    // Another backdated claim that nobody witnesses: past the close and its slack, it
    // does not count either, so the fair assignment stays the one work is submitted under.
    let unseen = f.writer(1).next(claim(&o), o.entry().ts + 6 * MIN, None);
    assert_eq!(f.coop.ingest(unseen, Some(f.now)), Ok(Outcome::Fresh));
    assert_eq!(f.coop.assignment(&o.id(), f.now), Some(fair.id()));
}

#[test]
fn a_backdated_offers_claim_window_runs_from_when_others_saw_it() {
    let mut f = Fx::new(4);
    // The requester publishes an offer dated two days ago, its 30-minute window long
    // closed by its own timestamp, and assigns it at once to the first claimant.
    f.now += 2 * 24 * HOUR;
    let dated = f.now - 2 * 24 * HOUR;
    let o = f
        .writer(R)
        .next(Body::Offer(offer(300, 15, 1)), dated, None);
    assert_eq!(f.coop.ingest(o.clone(), Some(f.now)), Ok(Outcome::Fresh));
    let first = claims(&mut f, &o, &[2]);
    let hasty = f.ok(R, assign_over(&o, &first));
    let view = f.coop.offer(&o.id(), f.now).expect("the offer");
    assert!(
        view.closes_at > hasty.entry().ts,
        "the window runs from the first claim"
    );
    assert_eq!(f.coop.assignment(&o.id(), f.now), None);
    // Members who see it later still claim in time.
    let second = claims(&mut f, &o, &[3]);
    let both = vec![first[0], second[0]];
    let counted: Vec<Id> = f
        .coop
        .claims_on(&o.id(), f.now)
        .iter()
        .map(|c| c.1)
        .collect();
    assert_eq!(counted.len(), 2);
    assert!(counted.contains(&second[0].0));
    f.now = view.closes_at;
    let fair = f.ok(R, assign_over(&o, &both));
    assert_eq!(f.coop.assignment(&o.id(), f.now), Some(fair.id()));
}

#[test]
fn a_place_not_filled_in_time_passes_to_the_next_claimant() {
    let mut f = Fx::new(4);
    let o = f.offer(300, 15, 1);
    let all = claims(&mut f, &o, &[2, 3, 4]);
    f.now += 30 * MIN;
    let a = f.ok(R, assign_over(&o, &all));
    let ids: Vec<Id> = all.iter().map(|c| c.0).collect();
    let who: Vec<PublicKey> = all.iter().map(|c| c.1).collect();
    let ranking = lottery::ranking(&lottery::seed(&SECRET, &o.id(), &ids), &who);
    let (first, second) = (member_of(&ranking[0]), member_of(&ranking[1]));
    let view = f.coop.offer(&o.id(), f.now).expect("offer");
    assert_eq!(view.winners, vec![pk(first)]);
    let until = view.places[0].until;
    assert_eq!(until, a.entry().ts + default_limits().submit_window_ms);
    // The runner-up may not take the place while it is open.
    let early = f.ok(second, submit(&o, &a, 15));
    assert!(f.coop.submission(&early.id(), f.now).is_none());
    // The winner never submits: once the window and the witness slack pass, the place
    // goes to the next claimant of the ranking, from the lapse on.
    f.now = until + taawun_core::fold::WITNESS_SLACK_MS + 1;
    let view = f.coop.offer(&o.id(), f.now).expect("offer");
    assert_eq!(view.places.len(), 2);
    assert_eq!(view.places[0].state, PlaceState::Lapsed);
    assert_eq!(view.places[1].member, pk(second));
    assert_eq!(view.winners, vec![pk(second)]);
    // Its work, made before its place began, fills it; the winner's late work does not.
    assert_eq!(view.places[1].state, PlaceState::Filled(early.id()));
    let late = f.ok(first, submit(&o, &a, 15));
    f.ok(R, accept(&early));
    f.ok(R, accept(&late));
    assert_eq!(f.owed(second), 300);
    assert_eq!(f.owed(first), 0);
    assert!(f.coop.submission(&late.id(), f.now).is_none());
}

/// Members 1 and 3, idle since the charter at T0, sign now a proposal to remove member 2,
/// their two yes votes and its enactment, dated T0 + 1, 2 and 3 minutes (effective one
/// amendment delay after that). Returns the enactment.
fn backdated_removal_of_2(f: &mut Fx) -> Verified {
    let put = |f: &mut Fx, who: u8, body: Body, ts: u64| -> Verified {
        let v = f.writer(who).next(body, ts, None);
        assert_eq!(f.coop.ingest(v.clone(), Some(f.now)), Ok(Outcome::Fresh));
        v
    };
    let p = put(
        f,
        1,
        Body::Proposal(Proposal {
            action: Action::RemoveMember(pk(2)),
            reason: "backdated".into(),
        }),
        T0 + MIN,
    );
    let yes = Body::Vote(Vote {
        proposal: p.id(),
        yes: true,
    });
    let v1 = put(f, 1, yes.clone(), T0 + 2 * MIN);
    let v3 = put(f, 3, yes, T0 + 2 * MIN);
    put(
        f,
        1,
        Body::Enact(Enact {
            proposal: p.id(),
            votes: vec![v1.id(), v3.id()],
            effective_at: T0 + 3 * MIN + default_limits().amendment_delay_ms,
        }),
        T0 + 3 * MIN,
    )
}

// J. A removal backdated by idle members does not erase what the removed member earned.

#[test]
fn a_backdated_removal_does_not_erase_accepted_wages() {
    let mut f = Fx::new(3);
    f.now = T0 + 2 * HOUR;
    accepted_work(&mut f);
    assert_eq!(f.owed(2), 300);
    // Members 1 and 3, idle since the charter, sign a removal of member 2 dated a minute
    // after the charter, so that it took effect before member 2 did the work.
    backdated_removal_of_2(&mut f);
    assert!(!f.coop.rules_at(f.now).expect("rules").is_member(&pk(2)));
    assert_eq!(
        f.owed(2),
        300,
        "accepted earnings are never voided by a later entry"
    );
}

// E-F. Backdating past a review window: windows run on witnessed time.

fn tick(of: &[&Verified]) -> Body {
    Body::Tick(Tick {
        heads: of.iter().map(|v| v.id()).collect(),
    })
}

fn reject(s: &Verified) -> Body {
    Body::Reject(Reject {
        submission: s.id(),
        // Sealed to the member whose work it was and the requester.
        reason: taawun_core::synth::sealed("not what was asked", &[s.entry().author, pk(R)]),
    })
}

/// Member 2's submission on a one-assignment offer, witnessed a minute later by member 3.
fn witnessed_work(f: &mut Fx) -> Verified {
    let o = f.offer(300, 15, 1);
    let a = f.assign(&o, &[2]);
    let s = f.ok(2, submit(&o, &a, 15));
    f.ok(3, tick(&[&s]));
    s
}

fn review_of(f: &Fx, s: &Verified) -> Verdict {
    f.coop
        .submission(&s.id(), f.now)
        .expect("the submission counts")
        .review
}

#[test]
fn a_requester_idle_past_the_window_cannot_reject_with_an_old_timestamp() {
    let mut f = Fx::new(3);
    let s = witnessed_work(&mut f);
    // Ten days later, the requester signs a rejection dated two minutes after the work:
    // its own chain allows it (its last entry is the assignment).
    f.now += 10 * 24 * HOUR;
    let backdated = s.entry().ts + 2 * MIN;
    let r = f.writer(R).next(reject(&s), backdated, None);
    assert_eq!(
        f.coop.ingest(r.clone(), Some(f.now)),
        Ok(Outcome::Fresh),
        "valid, but whether it came in time is the fold's call"
    );
    // Nobody saw it before the window (plus the slack) ended: it does not count.
    assert!(matches!(review_of(&f, &s), Verdict::AcceptedByDefault(_)));
    // Member 3's node witnesses it now: still too late.
    f.ok(3, tick(&[&r]));
    assert!(matches!(review_of(&f, &s), Verdict::AcceptedByDefault(_)));
    assert_eq!(f.owed(2), 300);
}

#[test]
fn a_rejection_witnessed_in_time_counts() {
    let mut f = Fx::new(3);
    let s = witnessed_work(&mut f);
    let r = f.ok(R, reject(&s));
    f.ok(2, tick(&[&r]));
    f.now += 10 * 24 * HOUR;
    assert!(matches!(review_of(&f, &s), Verdict::Rejected { .. }));
    assert_eq!(f.owed(2), 0);
}

#[test]
fn a_backdated_submission_does_not_close_the_review_window_early() {
    let mut f = Fx::new(3);
    let o = f.offer(300, 15, 1);
    let a = f.assign(&o, &[2]);
    // A day and a half later (the review window is a day, the time to submit two),
    // member 2 publishes a submission dated just after the assignment, so that the review
    // window would have closed before anyone saw it.
    f.now += 36 * HOUR;
    let s = f.writer(2).next(submit(&o, &a, 15), a.entry().ts, None);
    assert_eq!(f.coop.ingest(s.clone(), Some(f.now)), Ok(Outcome::Fresh));
    // The requester's node witnesses it on arrival: the window runs from then.
    f.ok(R, tick(&[&s]));
    assert!(matches!(review_of(&f, &s), Verdict::Pending { .. }));
    f.now += HOUR;
    let r = f.ok(R, reject(&s));
    f.ok(3, tick(&[&r]));
    assert!(matches!(review_of(&f, &s), Verdict::Rejected { .. }));
}

#[test]
fn a_tick_names_only_other_authors_entries() {
    let mut f = Fx::new(3);
    let o = f.offer(300, 15, 1);
    assert!(matches!(f.err(R, tick(&[&o])), Invalid::BadTick(_)));
    assert!(matches!(
        f.err(2, Body::Tick(Tick { heads: vec![] })),
        Invalid::BadTick(_)
    ));
    assert!(matches!(f.err(2, tick(&[&o, &o])), Invalid::BadTick(_)));
    f.ok(2, tick(&[&o]));
}

// J. A removal backdated by idle members takes effect only after the cooperative saw it.

#[test]
fn a_backdated_removal_takes_effect_only_once_witnessed() {
    let mut f = Fx::new(3);
    f.now = T0 + 2 * HOUR;
    // Member 2 reviews the requester two hours after the charter.
    f.ok(
        2,
        Body::Review(Review {
            requester: pk(R),
            pay: 5,
            fairness: 5,
            promptness: 5,
            communication: 5,
            text: None,
        }),
    );
    f.now = T0 + 5 * 24 * HOUR;
    // Members 1 and 3, idle since the charter, sign a removal of member 2 dated minutes
    // after the charter, so that the review would be void.
    let delay = default_limits().amendment_delay_ms;
    let en = backdated_removal_of_2(&mut f);
    // Member 2's node witnesses the enactment as it arrives.
    let seen = f.ok(2, tick(&[&en])).entry().ts;
    let rules = |at: u64| f.coop.rules_at(at).expect("rules");
    assert!(
        rules(T0 + 2 * HOUR).is_member(&pk(2)),
        "not removed in the past"
    );
    assert!(rules(seen + delay - 1).is_member(&pk(2)));
    assert!(
        !rules(seen + delay).is_member(&pk(2)),
        "removed from then on"
    );
    assert_eq!(f.coop.record(&pk(R), f.now).reviews, 1, "the review stands");
}
