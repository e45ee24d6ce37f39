//! Every rule of validation, each with the specific error it must produce.

use ed25519_dalek::SigningKey;
use taawun_core::body::*;
use taawun_core::entry::{Entry, Verified, VERSION};
use taawun_core::fold::Coop;
use taawun_core::id::{Hash, Id, PublicKey};
use taawun_core::money::Money;
use taawun_core::rules::default_limits;
use taawun_core::validate::{Head, Missing};
use taawun_core::writer::Writer;
use taawun_core::{Invalid, Outcome};

const T0: u64 = 1_790_000_000_000;
const MIN: u64 = 60_000;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn pk(k: &SigningKey) -> PublicKey {
    PublicKey(k.verifying_key().to_bytes())
}

/// A cooperative with members m0 (founder), m1, m2, requester r, outsider x; floor
/// 12.00 EUR/h.
struct Fx {
    coop: Coop,
    id: Id,
    m0: Writer,
    m1: Writer,
    m2: Writer,
    r: Writer,
    x: Writer,
    now: u64,
}

impl Fx {
    fn new() -> Self {
        let (m0, m1, m2, r, x) = (key(1), key(2), key(3), key(4), key(5));
        let mut w0 = Writer::new(m0.clone(), None, None);
        let charter = w0.next(
            Body::Charter(Charter {
                name: "Coop".into(),
                members: vec![pk(&m0), pk(&m1), pk(&m2)],
                requesters: vec![pk(&r)],
                names: [
                    (&m0, "Amal"),
                    (&m1, "Bilal"),
                    (&m2, "Chidi"),
                    (&r, "Relief desk"),
                ]
                .into_iter()
                .map(|(k, n)| named(pk(k), n))
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
        let w = |k: SigningKey| Writer::new(k, Some(id), None);
        Fx {
            coop,
            id,
            m0: w0,
            m1: w(m1),
            m2: w(m2),
            r: w(r),
            x: w(x),
            now: T0,
        }
    }

    /// Signs the next entry of `who` a minute later and ingests it.
    fn put(&mut self, who: Who, body: Body) -> (Verified, Result<Outcome, Invalid>) {
        self.now += MIN;
        let now = self.now;
        let w = self.w(who);
        let before = w.head();
        let v = w.next(body, now, None);
        let out = self.coop.ingest(v.clone(), Some(now));
        if out != Ok(Outcome::Fresh) {
            // Keep the writer in step with the store: a refused entry is not in the chain.
            *self.w(who) = Writer::new(key(who.seed()), Some(self.id), before);
        }
        (v, out)
    }

    fn ok(&mut self, who: Who, body: Body) -> Verified {
        let (v, out) = self.put(who, body);
        assert_eq!(out, Ok(Outcome::Fresh), "{:?}", v.entry().body);
        v
    }

    fn err(&mut self, who: Who, body: Body) -> Invalid {
        match self.put(who, body).1 {
            Err(e) => e,
            other => panic!("expected a rule break, got {other:?}"),
        }
    }

    fn w(&mut self, who: Who) -> &mut Writer {
        match who {
            Who::M0 => &mut self.m0,
            Who::M1 => &mut self.m1,
            Who::M2 => &mut self.m2,
            Who::R => &mut self.r,
            Who::X => &mut self.x,
        }
    }

    fn offer(&mut self) -> Verified {
        self.ok(Who::R, Body::Offer(offer(300, 15)))
    }

    /// An offer claimed by m1 and m2, assigned to both.
    fn assigned(&mut self) -> (Verified, Verified) {
        let o = self.ok(
            Who::R,
            Body::Offer(Offer {
                assignments: 2,
                ..offer(300, 15)
            }),
        );
        let c1 = self.ok(Who::M1, Body::Claim(Claim { offer: o.id() }));
        let c2 = self.ok(Who::M2, Body::Claim(Claim { offer: o.id() }));
        let claimants = [(c1.id(), pk(&key(2))), (c2.id(), pk(&key(3)))];
        let winners = taawun_core::lottery::draw(&SECRET, &o.id(), &claimants, 2);
        self.now += 30 * MIN;
        let a = self.ok(
            Who::R,
            Body::Assign(Assign {
                offer: o.id(),
                claims: vec![c1.id(), c2.id()],
                winners,
                secret: SECRET,
            }),
        );
        (o, a)
    }

    fn submitted(&mut self) -> Verified {
        let (o, a) = self.assigned();
        self.ok(Who::M1, submit(&o, &a, 20))
    }
}

#[derive(Clone, Copy)]
enum Who {
    M0,
    M1,
    M2,
    R,
    X,
}

impl Who {
    fn seed(self) -> u8 {
        match self {
            Who::M0 => 1,
            Who::M1 => 2,
            Who::M2 => 3,
            Who::R => 4,
            Who::X => 5,
        }
    }
}

fn offer(pay: u64, minutes: u32) -> Offer {
    Offer {
        title: "Transcribe".into(),
        description: "Ten short clips".into(),
        purpose: "Subtitles for a community radio".into(),
        pay: Money::new("EUR", pay),
        minutes,
        assignments: 1,
        expires_at: T0 + 10 * 24 * 60 * MIN,
        review_window_ms: 24 * 60 * MIN,
        claim_window_ms: 30 * MIN,
        commit: taawun_core::lottery::commit(&SECRET),
    }
}

/// The lottery secret every test offer commits to.
const SECRET: Hash = Hash([42; 32]);

fn submit(o: &Verified, a: &Verified, minutes: u32) -> Body {
    Body::Submit(Submit {
        offer: o.id(),
        assign: a.id(),
        result: Hash::of(b"result"),
        size: 6,
        minutes,
    })
}

#[test]
fn floor_is_exact_at_the_boundary() {
    let mut f = Fx::new();
    // 12.00/h for 15 minutes is exactly 3.00.
    f.ok(Who::R, Body::Offer(offer(300, 15)));
    assert_eq!(
        f.err(Who::R, Body::Offer(offer(299, 15))),
        Invalid::OfferBelowFloor {
            currency: "EUR".into(),
            pay: 299,
            minutes: 15,
            offered_per_hour: 1196,
            floor: 1200
        }
    );
}

#[test]
fn extreme_amounts_do_not_overflow() {
    let mut f = Fx::new();
    f.ok(Who::R, Body::Offer(offer(u64::MAX, u32::MAX)));
    // 12.00/h for u32::MAX minutes is exactly 20 * u32::MAX minor units.
    f.ok(
        Who::R,
        Body::Offer(offer(20 * u64::from(u32::MAX), u32::MAX)),
    );
    assert!(matches!(
        f.err(
            Who::R,
            Body::Offer(offer(20 * u64::from(u32::MAX) - 1, u32::MAX))
        ),
        Invalid::OfferBelowFloor { .. }
    ));
}

#[test]
fn offer_rules() {
    let mut f = Fx::new();
    let bad = |f: &mut Fx, o: Offer| f.err(Who::R, Body::Offer(o));
    assert_eq!(
        bad(
            &mut f,
            Offer {
                purpose: "  ".into(),
                ..offer(300, 15)
            }
        ),
        Invalid::MissingPurpose
    );
    assert_eq!(
        bad(
            &mut f,
            Offer {
                pay: Money::new("USD", 10_000),
                ..offer(300, 15)
            }
        ),
        Invalid::CurrencyNotAllowed("USD".into())
    );
    for (o, field) in [
        (
            Offer {
                title: "".into(),
                ..offer(300, 15)
            },
            "title",
        ),
        (
            Offer {
                minutes: 0,
                ..offer(300, 15)
            },
            "minutes",
        ),
        (
            Offer {
                assignments: 0,
                ..offer(300, 15)
            },
            "assignments",
        ),
        (
            Offer {
                expires_at: T0,
                ..offer(300, 15)
            },
            "expires_at",
        ),
        (
            Offer {
                expires_at: T0 + 365 * 24 * 60 * MIN,
                ..offer(300, 15)
            },
            "expires_at",
        ),
        (
            Offer {
                review_window_ms: 30 * 24 * 60 * MIN,
                ..offer(300, 15)
            },
            "review_window_ms",
        ),
        (
            Offer {
                claim_window_ms: 0,
                ..offer(300, 15)
            },
            "claim_window_ms",
        ),
    ] {
        match bad(&mut f, o) {
            Invalid::BadOffer { field: got, .. } => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // Text a phone's board shows: bounded, no bidirectional overrides, one line.
    let text = |title: String, purpose: &str, description: &str| Offer {
        title,
        purpose: purpose.into(),
        description: description.into(),
        ..offer(300, 15)
    };
    for (o, field) in [
        (text("x".repeat(201), "p", ""), "title"),
        // "Pay 18,00 €/h" written with a right-to-left override to read otherwise.
        (
            text("Pay \u{202E}h/€ 00,05\u{202C}".into(), "p", ""),
            "title",
        ),
        (text("a\u{2066}b\u{2069}".into(), "p", ""), "title"),
        (text("two\nlines".into(), "p", ""), "title"),
        (text("t".into(), &"p".repeat(501), ""), "purpose"),
        (text("t".into(), "p\u{202D}", ""), "purpose"),
        (text("t".into(), "p", &"d".repeat(8_001)), "description"),
        (
            text("t".into(), "p", "bad \u{202B} embedding"),
            "description",
        ),
        (text("t".into(), "p", "a bell \u{7}"), "description"),
    ] {
        match bad(&mut f, o) {
            Invalid::BadOffer { field: got, .. } => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // At the limits, in Arabic with a right-to-left mark, and a description on lines.
    f.ok(
        Who::R,
        Body::Offer(text(
            "ت".repeat(199) + "\u{200F}",
            &"p".repeat(500),
            &("سطر\n\tline\r\n".to_string() + &"d".repeat(7_989)),
        )),
    );
    // Outsiders cannot post offers; members can.
    assert!(matches!(
        f.err(Who::X, Body::Offer(offer(300, 15))),
        Invalid::NotAllowed {
            kind: Kind::Offer,
            ..
        }
    ));
    f.ok(Who::M0, Body::Offer(offer(300, 15)));
}

#[test]
fn claim_rules() {
    let mut f = Fx::new();
    let o = f.offer();
    let claim = Body::Claim(Claim { offer: o.id() });
    assert!(matches!(
        f.err(Who::X, claim.clone()),
        Invalid::NotAllowed {
            kind: Kind::Claim,
            ..
        }
    ));
    assert!(matches!(
        f.err(Who::R, claim.clone()),
        Invalid::NotAllowed {
            kind: Kind::Claim,
            ..
        }
    ));
    f.ok(Who::M1, claim.clone());
    assert_eq!(
        f.err(Who::M1, claim.clone()),
        Invalid::DoubleClaim { offer: o.id() }
    );
    // After the claim window: valid (whether it counts is the fold's call), but it does
    // not count.
    f.now += 60 * MIN;
    let late = f.ok(Who::M2, claim.clone());
    assert!(!f
        .coop
        .claims_on(&o.id(), f.now)
        .iter()
        .any(|(_, id)| *id == late.id()));
    // A claim naming something that is not an offer.
    assert!(matches!(
        f.err(Who::M2, Body::Claim(Claim { offer: f.id })),
        Invalid::WrongKind {
            expected: Kind::Offer,
            found: Kind::Charter,
            ..
        }
    ));
}

#[test]
fn claim_of_an_expired_offer() {
    let mut f = Fx::new();
    let o = f.ok(
        Who::R,
        Body::Offer(Offer {
            expires_at: T0 + 3 * MIN,
            claim_window_ms: 30 * MIN,
            ..offer(300, 15)
        }),
    );
    f.now += 10 * MIN;
    assert!(matches!(
        f.err(Who::M1, Body::Claim(Claim { offer: o.id() })),
        Invalid::OfferExpired { .. }
    ));
}

#[test]
fn assignment_must_follow_the_lottery() {
    let mut f = Fx::new();
    let o = f.offer();
    let c1 = f.ok(Who::M1, Body::Claim(Claim { offer: o.id() }));
    let c2 = f.ok(Who::M2, Body::Claim(Claim { offer: o.id() }));
    let fair = taawun_core::lottery::draw(
        &SECRET,
        &o.id(),
        &[(c1.id(), pk(&key(2))), (c2.id(), pk(&key(3)))],
        1,
    );
    let loser = if fair[0] == pk(&key(2)) {
        pk(&key(3))
    } else {
        pk(&key(2))
    };
    let claims = vec![c1.id(), c2.id()];
    assert!(matches!(
        f.err(
            Who::R,
            Body::Assign(Assign {
                offer: o.id(),
                claims: claims.clone(),
                winners: fair.clone(),
                secret: SECRET
            })
        ),
        Invalid::ClaimWindowOpen { .. }
    ));
    f.now += 30 * MIN;
    assert_eq!(
        f.err(
            Who::R,
            Body::Assign(Assign {
                offer: o.id(),
                claims: claims.clone(),
                winners: vec![loser],
                secret: SECRET
            })
        ),
        Invalid::LotteryMismatch {
            expected: fair.clone(),
            found: vec![loser]
        }
    );
    assert!(matches!(
        f.err(
            Who::M0,
            Body::Assign(Assign {
                offer: o.id(),
                claims: claims.clone(),
                winners: fair.clone(),
                secret: SECRET
            })
        ),
        Invalid::NotAllowed {
            kind: Kind::Assign,
            ..
        }
    ));
    assert_eq!(
        f.err(
            Who::R,
            Body::Assign(Assign {
                offer: o.id(),
                claims: vec![c1.id(), c1.id()],
                winners: fair.clone(),
                secret: SECRET
            })
        ),
        Invalid::ClaimNotForOffer {
            claim: c1.id(),
            offer: o.id()
        }
    );
    f.ok(
        Who::R,
        Body::Assign(Assign {
            offer: o.id(),
            claims: claims.clone(),
            winners: fair.clone(),
            secret: SECRET,
        }),
    );
    // Assigning again is valid and changes nothing: the same claims give the same draw.
    let again = f.ok(
        Who::R,
        Body::Assign(Assign {
            offer: o.id(),
            claims,
            winners: fair.clone(),
            secret: SECRET,
        }),
    );
    assert_ne!(f.coop.assignment(&o.id(), f.now), Some(again.id()));
    assert_eq!(f.coop.offer(&o.id(), f.now).map(|v| v.winners), Some(fair));
}

#[test]
fn submit_rules() {
    let mut f = Fx::new();
    let (o, a) = f.assigned();
    assert!(matches!(
        f.err(Who::M0, submit(&o, &a, 10)),
        Invalid::NotAssigned { .. }
    ));
    assert_eq!(f.err(Who::M1, submit(&o, &a, 0)), Invalid::ZeroMinutes);
    let huge = Body::Submit(Submit {
        offer: o.id(),
        assign: a.id(),
        result: Hash::of(b"x"),
        size: default_limits().max_result_bytes + 1,
        minutes: 10,
    });
    assert!(matches!(
        f.err(Who::M1, huge),
        Invalid::ResultTooLarge { .. }
    ));
    f.ok(Who::M1, submit(&o, &a, 10));
    assert_eq!(
        f.err(Who::M1, submit(&o, &a, 10)),
        Invalid::DoubleSubmit { offer: o.id() }
    );
}

/// A rejection whose reason is sealed to the member whose work it was and the
/// requester (docs/protocol.md 3.7).
fn reject(s: &Verified, reason: &str) -> Body {
    reject_to(s, reason, &[pk(&key(2)), pk(&key(4))])
}

fn reject_to(s: &Verified, reason: &str, to: &[PublicKey]) -> Body {
    Body::Reject(Reject {
        submission: s.id(),
        reason: taawun_core::synth::sealed(reason, to),
    })
}

#[test]
fn review_rules() {
    let mut f = Fx::new();
    let s = f.submitted();
    // An empty reason (nothing sealed but the tag) is refused, as any sealed field.
    assert!(matches!(
        f.err(Who::R, reject(&s, "")),
        Invalid::BadSealed(_)
    ));
    assert!(matches!(
        f.err(Who::M0, Body::Accept(Accept { submission: s.id() })),
        Invalid::NotAllowed {
            kind: Kind::Accept,
            ..
        }
    ));
    f.ok(Who::R, Body::Accept(Accept { submission: s.id() }));
    assert_eq!(
        f.err(Who::R, reject(&s, "late")),
        Invalid::AlreadyReviewed { submission: s.id() }
    );
}

#[test]
fn a_rejection_s_reason_must_be_sealed_to_the_member_and_the_requester() {
    let mut f = Fx::new();
    let s = f.submitted();
    let (member, requester, other) = (pk(&key(2)), pk(&key(4)), pk(&key(3)));
    // Left out either party, or sealed to another member instead: refused.
    for to in [
        &[requester][..],
        &[member][..],
        &[requester, other][..],
        &[other][..],
    ] {
        let got = f.err(Who::R, reject_to(&s, "pages missing", to));
        assert!(
            matches!(&got, Invalid::BadSealed(why) if why.contains("not among its recipients")),
            "{to:?}: {got:?}"
        );
    }
    // Malformed: recipients out of order.
    let mut bad = taawun_core::synth::sealed("pages missing", &[member, requester, other]);
    bad.to.swap(0, 2);
    assert!(matches!(
        f.err(
            Who::R,
            Body::Reject(Reject {
                submission: s.id(),
                reason: bad
            })
        ),
        Invalid::BadSealed(_)
    ));
    // Both parties, and more (their devices): valid; the parties read it, others do not.
    let v = f.ok(
        Who::R,
        reject_to(&s, "pages missing", &[member, requester, pk(&key(9))]),
    );
    let Body::Reject(r) = &v.entry().body else {
        unreachable!("a rejection")
    };
    for k in [key(2), key(4)] {
        assert_eq!(
            r.reason.read(&[&k]),
            taawun_core::seal::Reading::Text("pages missing".into())
        );
    }
    assert_eq!(
        r.reason.read(&[&key(3)]),
        taawun_core::seal::Reading::Sealed
    );
    // The fold keeps the sealed reason for the views.
    let sub = f.coop.submission(&s.id(), f.now).expect("the submission");
    assert!(
        matches!(&sub.review, taawun_core::fold::Review::Rejected { reason, .. } if reason == &r.reason)
    );
}

#[test]
fn a_rejection_s_reason_in_clear_does_not_decode() {
    // Before reasons were sealed, a reason was a text string: such an entry no longer
    // decodes, so no node holds a reason every member can read.
    let mut f = Fx::new();
    let s = f.submitted();
    let v = f.ok(Who::R, reject(&s, "pages missing"));
    let mut value = ciborium::Value::serialized(&v.entry().body).expect("to a value");
    let ciborium::Value::Map(kinds) = &mut value else {
        unreachable!("a body is a map")
    };
    let ciborium::Value::Map(fields) = &mut kinds[0].1 else {
        unreachable!("a reject is a map")
    };
    for (k, x) in fields.iter_mut() {
        if k.as_text() == Some("reason") {
            *x = ciborium::Value::Text("pages missing".into());
        }
    }
    assert!(value.deserialized::<Body>().is_err());
    // And the valid entry carries the words nowhere in clear.
    let bytes = v.entry().encode();
    assert!(!bytes.windows(13).any(|w| w == b"pages missing"));
}

#[test]
fn rejection_after_the_review_window_does_not_count_and_work_is_accepted_by_default() {
    let mut f = Fx::new();
    let s = f.submitted();
    f.now += 25 * 60 * MIN;
    // Valid (whether it came in time is the fold's call, from witnessed time), but void.
    f.ok(Who::R, reject(&s, "no"));
    let sub = f
        .coop
        .submissions(f.now)
        .into_iter()
        .find(|x| x.id == s.id())
        .expect("submission");
    assert!(matches!(
        sub.review,
        taawun_core::fold::Review::AcceptedByDefault(_)
    ));
    // 3.00 for 15 min, 20 min worked at a 12.00/h floor: 4.00 due, 1.00 top-up.
    assert_eq!(sub.topup, 100);
    let b = f.coop.balances(f.now);
    let bal = b[&(pk(&key(4)), pk(&key(2)), "EUR".to_string())];
    assert_eq!((bal.earned, bal.topup, bal.owed()), (300, 100, 400));
}

#[test]
fn money_and_reviews() {
    let mut f = Fx::new();
    let m1 = pk(&key(2));
    let r = pk(&key(4));
    let settle_to = |minor: u64, reference: &str, to: &[PublicKey]| {
        Body::Settle(Settle {
            member: m1,
            amount: Money::new("EUR", minor),
            reference: taawun_core::synth::sealed(reference, to),
        })
    };
    let settle = |minor: u64, reference: &str| settle_to(minor, reference, &[m1, r]);
    assert!(matches!(
        f.err(Who::R, settle(0, "ref")),
        Invalid::BadAmount(_)
    ));
    // The reference is sealed: an empty one (nothing but the tag) is refused, and so is
    // one the member paid, or the requester, could not open.
    assert!(matches!(
        f.err(Who::R, settle(100, "")),
        Invalid::BadSealed(_)
    ));
    for to in [&[r][..], &[m1][..], &[m1, pk(&key(3))][..]] {
        let got = f.err(Who::R, settle_to(100, "ref", to));
        assert!(
            matches!(&got, Invalid::BadSealed(why) if why.contains("not among its recipients")),
            "{got:?}"
        );
    }
    // More recipients than the parties (their devices) are fine.
    f.ok(Who::R, settle_to(100, "ref", &[m1, r, pk(&key(3))]));
    assert!(matches!(
        f.err(Who::X, settle(100, "ref")),
        Invalid::NotAllowed { .. }
    ));
    let s = f.ok(Who::R, settle(400, "MM-1"));
    assert!(matches!(
        f.err(
            Who::M2,
            Body::Receipt(Receipt {
                settle: s.id(),
                received: true
            })
        ),
        Invalid::NotAllowed {
            kind: Kind::Receipt,
            ..
        }
    ));
    f.ok(
        Who::M1,
        Body::Receipt(Receipt {
            settle: s.id(),
            received: true,
        }),
    );
    let review = |pay: u8| {
        Body::Review(Review {
            requester: pk(&key(4)),
            pay,
            fairness: 5,
            promptness: 5,
            communication: 5,
            text: None,
        })
    };
    assert_eq!(
        f.err(Who::M1, review(0)),
        Invalid::BadScore {
            field: "pay",
            value: 0
        }
    );
    assert_eq!(
        f.err(Who::M1, review(6)),
        Invalid::BadScore {
            field: "pay",
            value: 6
        }
    );
    assert!(matches!(
        f.err(Who::X, review(4)),
        Invalid::NotAllowed { .. }
    ));
    f.ok(Who::M1, review(4));
    let rec = f.coop.record(&pk(&key(4)), f.now);
    assert_eq!(rec.reviews, 1);
    assert_eq!(rec.scores, Some([400, 500, 500, 500]));
}

#[test]
fn withdraw_only_by_the_requester() {
    let mut f = Fx::new();
    let o = f.offer();
    assert!(matches!(
        f.err(Who::M1, Body::Withdraw(Withdraw { offer: o.id() })),
        Invalid::NotAllowed {
            kind: Kind::Withdraw,
            ..
        }
    ));
    f.ok(Who::R, Body::Withdraw(Withdraw { offer: o.id() }));
    assert_eq!(
        f.coop.offer(&o.id(), f.now).map(|v| v.state),
        Some(taawun_core::fold::OfferState::Withdrawn)
    );
}

#[test]
fn governance_quorum_delay_and_effect() {
    let mut f = Fx::new();
    let x = pk(&key(5));
    let p = f.ok(
        Who::M0,
        Body::Proposal(Proposal {
            action: Action::AdmitMember {
                key: x,
                name: "Xavier".into(),
            },
            reason: "new".into(),
        }),
    );
    assert!(matches!(
        f.err(
            Who::X,
            Body::Vote(Vote {
                proposal: p.id(),
                yes: true
            })
        ),
        Invalid::NotAllowed { .. }
    ));
    let v0 = f.ok(
        Who::M0,
        Body::Vote(Vote {
            proposal: p.id(),
            yes: true,
        }),
    );
    assert_eq!(
        f.err(
            Who::M0,
            Body::Vote(Vote {
                proposal: p.id(),
                yes: true
            })
        ),
        Invalid::DoubleVote { proposal: p.id() }
    );
    let no = f.ok(
        Who::M2,
        Body::Vote(Vote {
            proposal: p.id(),
            yes: false,
        }),
    );
    let delay = default_limits().amendment_delay_ms;
    // 60 % of 3 members: 2 yes votes needed.
    let enact = |votes: Vec<Id>, at: u64| {
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: at,
        })
    };
    assert_eq!(
        f.err(Who::M0, enact(vec![v0.id()], f.now + 2 * delay)),
        Invalid::QuorumNotReached {
            needed: 2,
            found: 1
        }
    );
    assert_eq!(
        f.err(Who::M0, enact(vec![v0.id(), no.id()], f.now + 2 * delay)),
        Invalid::NotPassed {
            yes: 1,
            no: 1,
            pct: 50
        }
    );
    assert_eq!(
        f.err(Who::M0, enact(vec![v0.id(), v0.id()], f.now + 2 * delay)),
        Invalid::BadVote {
            vote: v0.id(),
            proposal: p.id()
        }
    );
    let v1 = f.ok(
        Who::M1,
        Body::Vote(Vote {
            proposal: p.id(),
            yes: true,
        }),
    );
    assert!(matches!(
        f.err(Who::M0, enact(vec![v0.id(), v1.id()], f.now + 1)),
        Invalid::EffectiveTooSoon { .. }
    ));
    let effective = f.now + 2 * delay;
    let e = f.ok(Who::M0, enact(vec![v0.id(), v1.id()], effective));
    // x may not claim yet: not a member under the charter alone, nor before the effect.
    let o = f.offer();
    assert!(matches!(
        f.err(Who::X, Body::Claim(Claim { offer: o.id() })),
        Invalid::NotAllowed { .. }
    ));
    // Naming the enactment after it takes effect, x is a member.
    f.now = effective;
    let now = f.now + MIN;
    let v = f.x.next(
        Body::Review(Review {
            requester: pk(&key(4)),
            pay: 5,
            fairness: 5,
            promptness: 5,
            communication: 5,
            text: None,
        }),
        now,
        Some(e.id()),
    );
    assert_eq!(f.coop.ingest(v, Some(now)), Ok(Outcome::Fresh));
    // Enacting twice on the same path is refused.
    let mut m0 = f.m0.clone();
    let again = m0.next(
        enact(vec![v0.id(), v1.id()], now + 2 * delay),
        now,
        Some(e.id()),
    );
    assert_eq!(
        f.coop.ingest(again, Some(now)),
        Err(Invalid::AlreadyEnacted { proposal: p.id() })
    );
    // An author who named the enactment cannot go back to the charter alone.
    let mut xw = f.x.clone();
    let mut back = xw.next(
        Body::Proposal(Proposal {
            action: Action::SetQuorum(50),
            reason: String::new(),
        }),
        now,
        None,
    );
    if back.entry().gov.is_some() {
        let mut entry: Entry = back.entry().clone();
        entry.gov = None;
        back = entry.sign(&key(5));
    }
    assert_eq!(
        f.coop.ingest(back, Some(now)),
        Err(Invalid::GovernanceRegressed {
            previous: e.id(),
            found: None
        })
    );
}

#[test]
fn bad_proposals() {
    let mut f = Fx::new();
    let p = |a: Action| {
        Body::Proposal(Proposal {
            action: a,
            reason: String::new(),
        })
    };
    assert!(matches!(
        f.err(Who::M0, p(Action::SetQuorum(0))),
        Invalid::BadProposal(_)
    ));
    assert!(matches!(
        f.err(
            Who::M0,
            p(Action::SetFloor {
                currency: "eu".into(),
                per_hour: 1
            })
        ),
        Invalid::BadProposal(_)
    ));
    assert!(matches!(
        f.err(
            Who::M0,
            p(Action::SetLimit {
                limit: Limit::MaxEntryBytes,
                value: 10
            })
        ),
        Invalid::BadProposal(_)
    ));
    // A small-order point cannot be admitted.
    let weak = PublicKey([0; 32]);
    assert_eq!(
        f.err(
            Who::M0,
            p(Action::AdmitMember {
                key: weak,
                name: "Weak".into()
            })
        ),
        Invalid::UnacceptableKey(weak)
    );
}

#[test]
fn chain_position_rules() {
    let mut f = Fx::new();
    let o = f.offer();
    // Duplicate.
    assert_eq!(
        f.coop.ingest(o.clone(), Some(f.now)),
        Ok(Outcome::Duplicate)
    );
    // Gap: seq 3 while the head is 1.
    let r = key(4);
    let head = f.r.head().expect("head");
    let mut w = Writer::new(
        r.clone(),
        Some(f.id),
        Some(Head {
            seq: head.seq + 1,
            ..head
        }),
    );
    let ahead = w.next(Body::Offer(offer(300, 15)), f.now + MIN, None);
    assert_eq!(
        f.coop.ingest(ahead, Some(f.now + MIN)),
        Ok(Outcome::Pending(Missing::Gap {
            author: pk(&r),
            from: 2,
            to: 2
        }))
    );
    // Fork: another entry at seq 1.
    let mut w = Writer::new(r.clone(), Some(f.id), None);
    let fork = w.next(Body::Offer(offer(400, 15)), f.now, None);
    assert_eq!(
        f.coop.ingest(fork, Some(f.now)),
        Ok(Outcome::Fork { existing: o.id() })
    );
    assert!(f.coop.frozen_authors().contains_key(&pk(&r)));
    // Frozen authors' later entries are still judged and kept (others may depend on
    // them); what they count for is the fold's business.
    assert_eq!(
        f.put(Who::R, Body::Offer(offer(300, 15))).1,
        Ok(Outcome::Fresh)
    );
}

#[test]
fn links_and_clock_rules() {
    let mut f = Fx::new();
    let o = f.offer();
    let r = key(4);
    let e = |seq: u64, prev: Option<Id>, ts: u64, coop: Option<Id>| Entry {
        v: VERSION,
        coop,
        author: pk(&r),
        seq,
        prev,
        ts,
        gov: None,
        body: Body::Withdraw(Withdraw { offer: o.id() }),
    };
    let now = f.now;
    let c = Some(f.id);
    assert_eq!(
        f.coop.ingest(e(2, Some(f.id), now, c).sign(&r), Some(now)),
        Err(Invalid::WrongPrev {
            seq: 2,
            expected: Some(o.id()),
            found: Some(f.id)
        })
    );
    assert_eq!(
        f.coop
            .ingest(e(2, Some(o.id()), now - 1, c).sign(&r), Some(now)),
        Err(Invalid::TimeBeforePrev {
            ts: now - 1,
            prev_ts: now
        })
    );
    let future = now + 6 * MIN;
    assert_eq!(
        f.coop
            .ingest(e(2, Some(o.id()), future, c).sign(&r), Some(now)),
        Err(Invalid::FromTheFuture { ts: future, now })
    );
    assert_eq!(
        f.coop.ingest(
            e(2, Some(o.id()), now, Some(Id([9; 32]))).sign(&r),
            Some(now)
        ),
        Err(Invalid::WrongCoop {
            expected: f.id,
            found: Some(Id([9; 32]))
        })
    );
    assert_eq!(
        f.coop.ingest(e(0, None, now, c).sign(&r), Some(now)),
        Err(Invalid::SeqZero)
    );
    // A dependency that is unknown: pending, not invalid.
    let mut w = f.r.clone();
    let unknown = Id([7; 32]);
    let v = w.next(Body::Withdraw(Withdraw { offer: unknown }), now, None);
    assert_eq!(
        f.coop.ingest(v, Some(now)),
        Ok(Outcome::Pending(Missing::Dependency(unknown)))
    );
}

#[test]
fn oversize_entries_are_refused() {
    let mut f = Fx::new();
    let o = Offer {
        description: "x".repeat(20_000),
        ..offer(300, 15)
    };
    assert!(matches!(
        f.err(Who::R, Body::Offer(o)),
        Invalid::Oversize { max: 16384, .. }
    ));
}

#[test]
fn evidence_of_equivocation() {
    let mut f = Fx::new();
    let o = f.offer();
    let mut w = Writer::new(key(4), Some(f.id), None);
    let other = w.next(Body::Offer(offer(500, 15)), f.now, None);
    let ev = |a: &Verified, b: &Verified| {
        Body::Evidence(Evidence {
            a: a.envelope(),
            b: b.envelope(),
        })
    };
    assert!(matches!(
        f.err(Who::M1, ev(&o, &o)),
        Invalid::BadEvidence(_)
    ));
    let charter = taawun_core::validate::Context::entry(&f.coop, &f.id).expect("charter");
    assert!(matches!(
        f.err(Who::M1, ev(&o, &charter)),
        Invalid::BadEvidence(_)
    ));
    let mut tampered = other.envelope();
    let n = tampered.len();
    tampered[n - 1] ^= 1;
    assert!(matches!(
        f.err(
            Who::M1,
            Body::Evidence(Evidence {
                a: o.envelope(),
                b: tampered
            })
        ),
        Invalid::BadEvidence(_)
    ));
    f.ok(Who::M1, ev(&o, &other));
    assert!(f.coop.frozen_authors().contains_key(&pk(&key(4))));
}

fn named(key: PublicKey, name: &str) -> Named {
    Named {
        key,
        name: name.into(),
    }
}

#[test]
fn the_name_rule_refuses_blank_long_and_bidi_names_at_admission_and_in_the_charter() {
    use taawun_core::validate::check_name;
    assert_eq!(check_name("Amal Haddad"), Ok(()));
    assert_eq!(check_name("أمل حداد"), Ok(()));
    assert_eq!(
        check_name(&"é".repeat(64)),
        Ok(()),
        "64 characters, not bytes"
    );
    assert!(check_name(" \t ").is_err(), "blank");
    assert!(check_name(&"a".repeat(65)).is_err(), "too long");
    assert!(check_name("Amal\nHaddad").is_err(), "a control character");
    for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
        let why = check_name(&format!("UNHCR{c}")).expect_err("a bidi control");
        assert!(why.contains("bidirectional"), "{why}");
    }
    // A proposal to admit under a name that reads backwards is refused before any vote.
    let mut f = Fx::new();
    let got = f.err(
        Who::M0,
        Body::Proposal(Proposal {
            action: Action::AdmitRequester {
                key: pk(&key(5)),
                name: "\u{202E}RCHNU".into(),
            },
            reason: "new".into(),
        }),
    );
    assert!(
        matches!(&got, Invalid::BadProposal(why) if why.contains("U+202E")),
        "{got:?}"
    );
    // A requester cannot rename itself: only members propose admissions.
    let me = pk(&key(4));
    let got = f.err(
        Who::R,
        Body::Proposal(Proposal {
            action: Action::AdmitRequester {
                key: me,
                name: "UNHCR".into(),
            },
            reason: "our new name".into(),
        }),
    );
    assert!(matches!(got, Invalid::NotAllowed { .. }), "{got:?}");
    // A charter names every founder, and only them, each by the rule.
    let k = key(1);
    let charter = |requesters: Vec<PublicKey>, names: Vec<(PublicKey, &str)>| {
        let c = Charter {
            name: "C".into(),
            members: vec![pk(&k)],
            requesters,
            names: names.into_iter().map(|(k, n)| named(k, n)).collect(),
            quorum_pct: 50,
            floors: [("EUR".to_string(), 1200)].into_iter().collect(),
            limits: default_limits(),
        };
        let v = Writer::new(k.clone(), None, None).next(Body::Charter(c), T0, None);
        Coop::new().ingest(v, Some(T0))
    };
    let r = pk(&key(4));
    assert_eq!(
        charter(vec![r], vec![(pk(&k), "Amal"), (r, "Relief desk")]),
        Ok(Outcome::Fresh)
    );
    for (requesters, names) in [
        (vec![r], vec![(pk(&k), "Amal")]),
        (vec![], vec![(pk(&k), "Amal"), (r, "Relief desk")]),
        (vec![r], vec![(pk(&k), "Amal"), (r, "Relief\u{2067}desk")]),
        (vec![], vec![(pk(&k), "  ")]),
        (vec![], vec![(pk(&k), "Amal"), (pk(&k), "Amal")]),
    ] {
        assert!(matches!(
            charter(requesters, names),
            Err(Invalid::BadCharter(_))
        ));
    }
}

#[test]
fn charter_rules() {
    let k = key(1);
    let good = Charter {
        name: "C".into(),
        members: vec![pk(&k)],
        requesters: vec![],
        names: vec![named(pk(&k), "Amal")],
        quorum_pct: 50,
        floors: [("EUR".to_string(), 1200)].into_iter().collect(),
        limits: default_limits(),
    };
    let try_charter = |c: Charter| {
        let v = Writer::new(k.clone(), None, None).next(Body::Charter(c), T0, None);
        Coop::new().ingest(v, Some(T0))
    };
    assert_eq!(try_charter(good.clone()), Ok(Outcome::Fresh));
    for c in [
        Charter {
            name: " ".into(),
            ..good.clone()
        },
        Charter {
            members: vec![pk(&key(2))],
            ..good.clone()
        },
        Charter {
            quorum_pct: 0,
            ..good.clone()
        },
        Charter {
            floors: Default::default(),
            ..good.clone()
        },
        Charter {
            floors: [("eur".to_string(), 1)].into_iter().collect(),
            ..good.clone()
        },
    ] {
        assert!(matches!(try_charter(c), Err(Invalid::BadCharter(_))));
    }
    assert_eq!(
        try_charter(Charter {
            requesters: vec![PublicKey([0; 32])],
            ..good
        }),
        Err(Invalid::UnacceptableKey(PublicKey([0; 32])))
    );
}

#[test]
fn an_entry_of_another_cooperative_is_refused_without_freezing_its_author() {
    let mut f = Fx::new();
    // The founder founds a second cooperative: its charter is seq 1 of another chain.
    let other = Writer::new(key(1), None, None).next(
        Body::Charter(Charter {
            name: "Other".into(),
            members: vec![pk(&key(1))],
            requesters: vec![],
            names: vec![named(pk(&key(1)), "Amal")],
            quorum_pct: 50,
            floors: [("EUR".to_string(), 1000)].into_iter().collect(),
            limits: default_limits(),
        }),
        T0,
        None,
    );
    assert!(matches!(
        f.coop.ingest(other.clone(), Some(T0)),
        Err(Invalid::WrongCoop { .. })
    ));
    let mut w = Writer::new(key(1), Some(other.id()), None);
    let _ = w.next(Body::Offer(offer(300, 15)), T0, None);
    let foreign = w.next(Body::Offer(offer(300, 15)), T0, None);
    assert!(matches!(
        f.coop.ingest(foreign, Some(T0)),
        Err(Invalid::WrongCoop { .. })
    ));
    assert!(f.coop.frozen_authors().is_empty());
    f.ok(Who::M0, Body::Offer(offer(300, 15)));
}

#[test]
fn a_removed_requester_naming_old_governance_counts_for_nothing() {
    let mut f = Fx::new();
    let r = pk(&key(4));
    let p = f.ok(
        Who::M0,
        Body::Proposal(Proposal {
            action: Action::RemoveRequester(r),
            reason: "never paid".into(),
        }),
    );
    let v0 = f.ok(
        Who::M0,
        Body::Vote(Vote {
            proposal: p.id(),
            yes: true,
        }),
    );
    let v1 = f.ok(
        Who::M1,
        Body::Vote(Vote {
            proposal: p.id(),
            yes: true,
        }),
    );
    let effective = f.now + 2 * default_limits().amendment_delay_ms;
    f.ok(
        Who::M0,
        Body::Enact(Enact {
            proposal: p.id(),
            votes: vec![v0.id(), v1.id()],
            effective_at: effective,
        }),
    );
    let before = f.offer();
    // After the removal takes effect the requester still names the charter alone: its own
    // verdict stands (validation reads only what the entry names)...
    f.now = effective + MIN;
    let after = f.offer();
    // ...but the cooperative's state does not count it.
    let ids: Vec<Id> = f.coop.offers(f.now).iter().map(|o| o.id).collect();
    assert!(ids.contains(&before.id()));
    assert!(!ids.contains(&after.id()));
    assert!(!f
        .coop
        .rules_at(f.now)
        .expect("rules")
        .requesters
        .contains(&r));
}
