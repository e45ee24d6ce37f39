//! Device keys and key replacement (docs/protocol.md 4.7 and 8.7): a member's devices
//! write for it and never as a second member; a revoked device, or a replaced key, stops
//! counting and cannot backdate its way back in; a replaced identity keeps its history.
//! Each test is written as the attacker (or the unlucky member) would act.

use ed25519_dalek::SigningKey;
use std::collections::{BTreeMap, BTreeSet};
use taawun_core::body::*;
use taawun_core::entry::Verified;
use taawun_core::fold::{Coop, Revocation, RevokedBy, WITNESS_SLACK_MS};
use taawun_core::id::{Hash, Id, PublicKey};
use taawun_core::lottery;
use taawun_core::money::Money;
use taawun_core::rules::default_limits;
use taawun_core::writer::Writer;
use taawun_core::{Invalid, Outcome};

const T0: u64 = 1_790_000_000_000;
const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
const SECRET: Hash = Hash([42; 32]);
/// The requester's key seed; members are 1..=n, devices and new keys 100 and up.
const R: u8 = 50;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn pk(n: u8) -> PublicKey {
    PublicKey(key(n).verifying_key().to_bytes())
}

/// A cooperative of `n` members (1 the founder), one requester, quorum 60 %.
struct Fx {
    coop: Coop,
    id: Id,
    writers: BTreeMap<u8, Writer>,
    now: u64,
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
        assert_eq!(coop.ingest(charter.clone(), Some(T0)), Ok(Outcome::Fresh));
        let mut writers = BTreeMap::new();
        writers.insert(1, w0);
        Fx {
            coop,
            id,
            writers,
            now: T0,
            log: vec![charter],
        }
    }

    fn writer(&mut self, who: u8) -> &mut Writer {
        let id = self.id;
        self.writers
            .entry(who)
            .or_insert_with(|| Writer::new(key(who), Some(id), None))
    }

    /// Signs `who`'s next entry at `ts` naming governance `gov` and ingests it at the
    /// fixture's clock.
    fn put_at(
        &mut self,
        who: u8,
        body: Body,
        ts: u64,
        gov: Option<Id>,
    ) -> Result<Verified, Invalid> {
        let before = self.writer(who).head();
        let v = self.writer(who).next(body, ts, gov);
        match self.coop.ingest(v.clone(), Some(self.now)) {
            Ok(Outcome::Fresh) => {
                self.log.push(v.clone());
                Ok(v)
            }
            Ok(other) => panic!("expected a fresh entry, got {other:?}"),
            Err(e) => {
                let id = self.id;
                self.writers
                    .insert(who, Writer::new(key(who), Some(id), before));
                Err(e)
            }
        }
    }

    fn put(&mut self, who: u8, body: Body) -> Result<Verified, Invalid> {
        self.now += MIN;
        let now = self.now;
        self.put_at(who, body, now, None)
    }

    fn ok(&mut self, who: u8, body: Body) -> Verified {
        let kind = body.kind();
        self.put(who, body)
            .unwrap_or_else(|e| panic!("{kind} by {who} refused: {e}"))
    }

    fn err(&mut self, who: u8, body: Body) -> Invalid {
        self.put(who, body).expect_err("a rule break")
    }

    /// `member` authorises device key `dev`, and the device enrolls.
    fn add_device(&mut self, member: u8, dev: u8) -> Verified {
        let d = self.ok(
            member,
            Body::Device(Device {
                key: pk(dev),
                label: format!("phone {dev}"),
            }),
        );
        self.ok(dev, Body::Enroll(Enroll { device: d.id() }));
        d
    }

    fn offer(&mut self) -> Verified {
        self.ok(
            R,
            Body::Offer(Offer {
                title: "Transcribe".into(),
                description: "Ten short clips".into(),
                purpose: "Subtitles for a community radio".into(),
                pay: Money::new("EUR", 300),
                minutes: 15,
                assignments: 1,
                expires_at: T0 + 10 * 24 * HOUR,
                review_window_ms: 24 * HOUR,
                claim_window_ms: 30 * MIN,
                commit: lottery::commit(&SECRET),
            }),
        )
    }

    /// The draw over `claims` (claim, claimant), once the window closed.
    fn assign(&mut self, o: &Verified, claims: &[(Id, PublicKey)]) -> Verified {
        self.now += 30 * MIN;
        let winners = lottery::draw(&SECRET, &o.id(), claims, 1);
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
        self.coop
            .balances(self.now)
            .get(&(pk(R), pk(member), "EUR".to_string()))
            .map_or(0, |b| b.owed())
    }
}

fn claim(o: &Verified) -> Body {
    Body::Claim(Claim { offer: o.id() })
}

fn submit(o: &Verified, a: &Verified) -> Body {
    Body::Submit(Submit {
        offer: o.id(),
        assign: a.id(),
        result: Hash::of(b"result"),
        size: 6,
        minutes: 15,
    })
}

fn vote(p: &Verified, yes: bool) -> Body {
    Body::Vote(Vote {
        proposal: p.id(),
        yes,
    })
}

fn propose(action: Action) -> Body {
    Body::Proposal(Proposal {
        action,
        reason: "lost phone".into(),
    })
}

fn tick(of: &[&Verified]) -> Body {
    Body::Tick(Tick {
        heads: of.iter().map(|v| v.id()).collect(),
    })
}

#[test]
fn a_claim_by_a_device_counts_for_its_member_and_its_work_is_paid_to_the_member() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    let o = f.offer();
    let c = f.ok(102, claim(&o));
    assert_eq!(f.coop.claims_on(&o.id(), f.now), vec![(pk(2), c.id())]);
    let a = f.assign(&o, &[(c.id(), pk(2))]);
    let Body::Assign(x) = &a.entry().body else {
        unreachable!()
    };
    assert_eq!(x.winners, vec![pk(2)], "the member wins, not the device");
    // The member submits from its laptop (its own key); the wage is the member's.
    let s = f.ok(2, submit(&o, &a));
    f.ok(R, Body::Accept(Accept { submission: s.id() }));
    assert_eq!(f.owed(2), 300);
    assert_eq!(f.coop.devices(&pk(2)), vec![(pk(102), None)]);
}

#[test]
fn two_devices_of_one_member_get_one_claim_and_one_vote() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    f.add_device(2, 112);
    let o = f.offer();
    let c1 = f.ok(102, claim(&o));
    let c2 = f.ok(112, claim(&o));
    let c3 = f.ok(3, claim(&o));
    let counted = f.coop.claims_on(&o.id(), f.now);
    assert_eq!(counted.len(), 2, "one ticket per member: {counted:?}");
    assert!(
        counted.contains(&(pk(2), c1.id())),
        "the earliest claim counts"
    );
    // An assignment naming both claims of member 2 is refused: two tickets for one member.
    f.now += 30 * MIN;
    let named = [(c1.id(), pk(2)), (c2.id(), pk(2)), (c3.id(), pk(3))];
    let err = f.err(
        R,
        Body::Assign(Assign {
            offer: o.id(),
            claims: named.iter().map(|c| c.0).collect(),
            winners: lottery::draw(&SECRET, &o.id(), &named, 1),
            secret: SECRET,
        }),
    );
    assert!(matches!(err, Invalid::ClaimNotForOffer { claim, .. } if claim == c2.id()));

    // Votes: member 2 votes yes from both devices; a quorum of 60 % of 3 needs 2 voters.
    let p = f.ok(
        1,
        propose(Action::AdmitMember {
            key: pk(9),
            name: "Newcomer".into(),
        }),
    );
    let v1 = f.ok(102, vote(&p, true));
    let v2 = f.ok(112, vote(&p, true));
    let err = f.err(
        1,
        Body::Enact(Enact {
            proposal: p.id(),
            votes: vec![v1.id(), v2.id()],
            effective_at: f.now + 2 * MIN + default_limits().amendment_delay_ms,
        }),
    );
    assert!(
        matches!(err, Invalid::BadVote { vote, .. } if vote == v2.id()),
        "two devices are one voter: {err:?}"
    );
    let view = f.coop.proposals(f.now).remove(0);
    assert_eq!(view.yes.len(), 1, "one vote per member");
    assert!(!view.passes);
}

#[test]
fn a_device_cannot_authorise_devices_nor_be_a_member_nor_revoke_its_member() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    let err = f.err(
        102,
        Body::Device(Device {
            key: pk(103),
            label: "more".into(),
        }),
    );
    assert!(matches!(err, Invalid::NotAllowed { .. }), "{err:?}");
    // A member's key cannot be made a device.
    let err = f.err(
        2,
        Body::Device(Device {
            key: pk(3),
            label: "x".into(),
        }),
    );
    assert!(matches!(err, Invalid::BadDevice(_)), "{err:?}");
    // A device cannot revoke its member's key.
    let err = f.err(102, Body::RevokeDevice(RevokeDevice { key: pk(2) }));
    assert!(matches!(err, Invalid::BadDevice(_)), "{err:?}");
    // A label is one short line.
    let err = f.err(
        2,
        Body::Device(Device {
            key: pk(104),
            label: "a\u{202E}b".into(),
        }),
    );
    assert!(matches!(err, Invalid::BadDevice(_)), "{err:?}");
    // A device enrolls only at the start of its chain, and only under its own key.
    let d = f.ok(
        3,
        Body::Device(Device {
            key: pk(105),
            label: "x".into(),
        }),
    );
    let err = f.err(106, Body::Enroll(Enroll { device: d.id() }));
    assert!(matches!(err, Invalid::BadDevice(_)), "{err:?}");
    // A key nobody authorised holds no role.
    let o = f.offer();
    let err = f.err(107, claim(&o));
    assert!(matches!(err, Invalid::NotAllowed { .. }), "{err:?}");
}

#[test]
fn a_device_authorised_by_two_members_counts_for_the_one_it_enrolled_with() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    // Member 3 also "authorises" member 2's phone: it changes nothing.
    f.ok(
        3,
        Body::Device(Device {
            key: pk(102),
            label: "not mine".into(),
        }),
    );
    let o = f.offer();
    let c = f.ok(102, claim(&o));
    assert_eq!(f.coop.claims_on(&o.id(), f.now), vec![(pk(2), c.id())]);
}

#[test]
fn a_revoked_device_entries_after_the_revocation_do_not_count() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    f.add_device(2, 112);
    let o = f.offer();
    // The phone 102 is confiscated; the member revokes it from its other phone.
    let r = f.ok(112, Body::RevokeDevice(RevokeDevice { key: pk(102) }));
    let devices: BTreeMap<PublicKey, Option<u64>> = f.coop.devices(&pk(2)).into_iter().collect();
    assert_eq!(devices[&pk(102)], Some(r.entry().ts));
    assert_eq!(devices[&pk(112)], None);
    // The confiscated phone's claim is valid (nothing in its past says it is revoked),
    // but it counts for nobody.
    f.ok(102, claim(&o));
    assert_eq!(f.coop.claims_on(&o.id(), f.now), vec![]);
    let p = f.ok(
        1,
        propose(Action::AdmitMember {
            key: pk(9),
            name: "Newcomer".into(),
        }),
    );
    f.ok(102, vote(&p, true));
    assert!(f.coop.proposals(f.now)[0].yes.is_empty());
}

#[test]
fn the_timeline_gives_a_keys_live_devices_at_a_time_and_who_revoked_the_others() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    f.add_device(2, 112);
    f.add_device(2, 122);
    let before = f.now;
    // Member 2 revokes its phone 112 itself; the cooperative votes its phone 102 out.
    let r = f.ok(2, Body::RevokeDevice(RevokeDevice { key: pk(112) }));
    let p = f.ok(1, propose(Action::RevokeDevice(pk(102))));
    let votes: Vec<Id> = [1, 3]
        .iter()
        .map(|m| f.ok(*m, vote(&p, true)).id())
        .collect();
    let at = f.now + MIN + default_limits().amendment_delay_ms;
    let e = f.ok(
        1,
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: at,
        }),
    );
    f.ok(3, tick(&[&e]));

    let tl = f.coop.timeline().expect("the charter is held");
    let live = |t: u64| -> BTreeSet<PublicKey> { tl.live_devices(&pk(2), t).into_iter().collect() };
    let set = |ks: &[u8]| -> BTreeSet<PublicKey> { ks.iter().map(|k| pk(*k)).collect() };
    assert_eq!(live(before), set(&[102, 112, 122]));
    // From its member's revocation on, 112 is gone; 102 until the vote takes effect.
    assert_eq!(live(r.entry().ts), set(&[102, 122]));
    assert_eq!(live(at - 1), set(&[102, 122]));
    assert_eq!(live(at), set(&[122]));
    assert_eq!(
        tl.revocation(&pk(112)),
        Some(Revocation {
            at: r.entry().ts,
            by: RevokedBy::Member(pk(2)),
        })
    );
    assert_eq!(
        tl.revocation(&pk(102)),
        Some(Revocation {
            at,
            by: RevokedBy::Vote(p.id()),
        })
    );
    assert_eq!(tl.revocation(&pk(122)), None);
    // Another member has no devices; a device is nobody's live device of itself.
    assert!(tl.live_devices(&pk(3), at).is_empty());
    assert!(tl.live_devices(&pk(122), at).is_empty());
}

#[test]
fn a_backdated_entry_of_a_revoked_device_stops_counting_once_the_slack_passed() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    let o = f.offer();
    let p = f.ok(
        1,
        propose(Action::AdmitMember {
            key: pk(9),
            name: "Newcomer".into(),
        }),
    );
    // The phone is taken; the member revokes it with its own key.
    let r = f.ok(2, Body::RevokeDevice(RevokeDevice { key: pk(102) }));
    // An hour later, the holder of the phone signs a vote dated before the revocation.
    f.now += HOUR;
    let back = r.entry().ts - 1;
    let v = f
        .put_at(102, vote(&p, true), back, None)
        .expect("valid: its own past does not show the revocation");
    assert_eq!(f.coop.proposals(f.now)[0].yes.len(), 1, "unwitnessed yet");
    // Member 3's node witnesses it: far more than the slack after the revocation.
    f.ok(3, tick(&[&v]));
    assert!(f.now > r.entry().ts + WITNESS_SLACK_MS);
    assert!(
        f.coop.proposals(f.now)[0].yes.is_empty(),
        "a backdated vote of a revoked phone does not count"
    );
    // A claim dated before the revocation and witnessed in time still counts.
    let _ = o;
}

#[test]
fn an_entry_witnessed_in_time_before_the_revocation_counts() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    let p = f.ok(
        1,
        propose(Action::AdmitMember {
            key: pk(9),
            name: "Newcomer".into(),
        }),
    );
    let v = f.ok(102, vote(&p, true));
    f.ok(3, tick(&[&v]));
    f.ok(2, Body::RevokeDevice(RevokeDevice { key: pk(102) }));
    assert_eq!(f.coop.proposals(f.now)[0].yes.len(), 1);
}

#[test]
fn a_device_does_not_witness_its_own_members_entries() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    let p = f.ok(
        2,
        propose(Action::AdmitMember {
            key: pk(9),
            name: "Newcomer".into(),
        }),
    );
    let err = f.err(102, tick(&[&p]));
    assert!(matches!(err, Invalid::BadTick(_)), "{err:?}");
}

/// Members 1, 3 and 4 vote to replace member 2's lost key with key 120 (a weighty
/// change: two thirds); returns the enactment, effective an amendment delay later.
fn replace_2(f: &mut Fx) -> Verified {
    let p = f.ok(
        1,
        propose(Action::ReplaceKey {
            old: pk(2),
            new: pk(120),
        }),
    );
    let votes: Vec<Id> = [1, 3, 4]
        .iter()
        .map(|m| f.ok(*m, vote(&p, true)).id())
        .collect();
    let at = f.now + MIN + default_limits().amendment_delay_ms;
    let e = f.ok(
        1,
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: at,
        }),
    );
    f.ok(3, tick(&[&e]));
    e
}

#[test]
fn a_replaced_key_keeps_the_members_wages_and_the_old_key_stops_counting() {
    let mut f = Fx::new(4);
    f.add_device(2, 102);
    // Member 2 earns 3.00 EUR, then loses its laptop and its phone.
    let o = f.offer();
    let c = f.ok(2, claim(&o));
    let a = f.assign(&o, &[(c.id(), pk(2))]);
    let s = f.ok(2, submit(&o, &a));
    f.ok(R, Body::Accept(Accept { submission: s.id() }));
    assert_eq!(f.owed(2), 300);
    let e = replace_2(&mut f);
    f.now += 2 * HOUR;
    let rules = f.coop.rules_at(f.now).expect("rules");
    assert!(rules.is_member(&pk(120)) && !rules.is_member(&pk(2)));
    // The balance stays the member's (keyed by its stable identity, its first key).
    assert_eq!(f.owed(2), 300);
    // The new key writes under the governance that names it a member.
    let o2 = f.offer();
    let now = f.now;
    let c2 = f
        .put_at(120, claim(&o2), now, Some(e.id()))
        .expect("the new key is a member");
    // The thief's claim with the old key, naming the old governance, is valid but void;
    // so is one from the old key's phone.
    f.ok(2, claim(&o2));
    f.ok(102, claim(&o2));
    assert_eq!(f.coop.claims_on(&o2.id(), f.now), vec![(pk(120), c2.id())]);
    // A payment to the new key lowers what the member is owed.
    let pay = f.ok(
        R,
        Body::Settle(Settle {
            member: pk(120),
            amount: Money::new("EUR", 300),
            reference: taawun_core::synth::sealed("MM-7", &[pk(120), pk(R)]),
        }),
    );
    let now = f.now + MIN;
    f.put_at(
        120,
        Body::Receipt(Receipt {
            settle: pay.id(),
            received: true,
        }),
        now,
        None,
    )
    .expect("receipt");
    f.now = now;
    assert_eq!(f.owed(2), 0);
}

#[test]
fn the_old_keys_backdated_entries_after_a_replacement_do_not_count() {
    let mut f = Fx::new(4);
    let p = f.ok(
        1,
        propose(Action::AdmitMember {
            key: pk(9),
            name: "Newcomer".into(),
        }),
    );
    let e = replace_2(&mut f);
    let Body::Enact(x) = &e.entry().body else {
        unreachable!()
    };
    let effective = x.effective_at;
    f.now = effective + HOUR;
    // The thief dates a vote before the replacement took effect.
    let v = f
        .put_at(2, vote(&p, true), effective - MIN, None)
        .expect("valid by its own past");
    f.ok(3, tick(&[&v]));
    let view = f.coop.proposals(f.now);
    let admit = view.iter().find(|q| q.id == p.id()).expect("proposal");
    assert!(admit.yes.is_empty(), "witnessed long after: void");
}

#[test]
fn replacing_a_key_needs_two_thirds() {
    let f = Fx::new(3);
    let rules = f.coop.rules_at(T0).expect("rules");
    let a = Action::ReplaceKey {
        old: pk(2),
        new: pk(120),
    };
    assert!(rules.weighty(&a));
    let admit = Action::AdmitMember {
        key: pk(120),
        name: "Newcomer".into(),
    };
    assert!(rules.passes(&admit, 3, 2));
    assert!(!rules.passes(&a, 3, 2), "three of five is not over 66 %");
    assert!(rules.passes(&a, 2, 1));
}

#[test]
fn the_fold_does_not_depend_on_the_order_entries_with_devices_arrive() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    f.add_device(2, 112);
    let o = f.offer();
    f.ok(102, claim(&o));
    f.ok(112, claim(&o));
    f.ok(3, claim(&o));
    f.ok(112, Body::RevokeDevice(RevokeDevice { key: pk(102) }));
    let p = f.ok(
        1,
        propose(Action::AdmitMember {
            key: pk(9),
            name: "Newcomer".into(),
        }),
    );
    f.ok(102, vote(&p, true));
    f.ok(112, vote(&p, false));
    // Replay in reverse chain order of authors: each chain in order, authors shuffled.
    let mut by_author: BTreeMap<PublicKey, Vec<Verified>> = BTreeMap::new();
    for v in &f.log {
        by_author
            .entry(v.entry().author)
            .or_default()
            .push(v.clone());
    }
    let mut other = Coop::new();
    let mut queue: Vec<Verified> = by_author.into_values().rev().flatten().collect();
    // Ingest until nothing more is fresh (dependencies arrive in any order).
    while !queue.is_empty() {
        let before = queue.len();
        queue.retain(|v| !matches!(other.ingest(v.clone(), None), Ok(Outcome::Fresh)));
        assert!(queue.len() < before, "stuck");
    }
    assert_eq!(
        other.claims_on(&o.id(), f.now),
        f.coop.claims_on(&o.id(), f.now)
    );
    assert_eq!(other.devices(&pk(2)), f.coop.devices(&pk(2)));
    assert_eq!(other.proposals(f.now), f.coop.proposals(f.now));
    assert_eq!(f.coop.proposals(f.now)[0].no, vec![pk(2)]);
}

#[test]
fn two_devices_answering_one_payment_give_one_answer_whatever_the_order() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    f.add_device(2, 112);
    let o = f.offer();
    let c = f.ok(2, claim(&o));
    let a = f.assign(&o, &[(c.id(), pk(2))]);
    let s = f.ok(2, submit(&o, &a));
    f.ok(R, Body::Accept(Accept { submission: s.id() }));
    let pay = f.ok(
        R,
        Body::Settle(Settle {
            member: pk(2),
            amount: Money::new("EUR", 300),
            reference: taawun_core::synth::sealed("MM-3", &[pk(2), pk(R)]),
        }),
    );
    let answer = |received| {
        Body::Receipt(Receipt {
            settle: pay.id(),
            received,
        })
    };
    // The laptop confirms; the phone, a minute later, says "not received". Both are
    // valid: neither is in the other's past.
    let yes = f.ok(102, answer(true));
    let no = f.ok(112, answer(false));
    // One device answers once.
    assert_eq!(
        f.err(112, answer(true)),
        Invalid::AlreadyAnswered { settle: pay.id() }
    );
    assert_eq!(f.owed(2), 0, "the earliest answer counts: received");
    // Another node that receives the phone's answer first reaches the same state.
    let mut other = Coop::new();
    for v in f
        .log
        .iter()
        .filter(|v| v.id() != yes.id() && v.id() != no.id())
    {
        assert_eq!(other.ingest(v.clone(), None), Ok(Outcome::Fresh));
    }
    assert_eq!(other.ingest(no.clone(), None), Ok(Outcome::Fresh));
    assert_eq!(other.ingest(yes.clone(), None), Ok(Outcome::Fresh));
    assert_eq!(other.balances(f.now), f.coop.balances(f.now));
    assert_eq!(other.receipt(&pay.id()), Some(yes.id()));
}

#[test]
fn a_requesters_two_devices_judge_one_submission_and_an_acceptance_wins() {
    let mut f = Fx::new(3);
    f.add_device(R, 150);
    f.add_device(R, 151);
    let o = f.offer();
    let c = f.ok(2, claim(&o));
    let a = f.assign(&o, &[(c.id(), pk(2))]);
    let s = f.ok(2, submit(&o, &a));
    f.ok(3, tick(&[&s]));
    f.ok(
        150,
        Body::Reject(Reject {
            submission: s.id(),
            reason: taawun_core::synth::sealed("blurry", &[pk(2), pk(R)]),
        }),
    );
    // The other device accepts: valid (the rejection is not in its past), and an
    // acceptance wins.
    f.ok(151, Body::Accept(Accept { submission: s.id() }));
    assert_eq!(f.owed(2), 300);
    let rec = f.coop.record(&pk(R), f.now);
    assert_eq!((rec.accepted, rec.rejected, rec.offers), (1, 0, 1));
}

#[test]
fn a_key_cannot_be_replaced_by_another_members_key() {
    let mut f = Fx::new(3);
    // Two members would become one, their votes and books merged: refused.
    let err = f.err(
        1,
        propose(Action::ReplaceKey {
            old: pk(2),
            new: pk(3),
        }),
    );
    assert!(matches!(err, Invalid::BadProposal(_)), "{err:?}");
    // Nor can a key without a role be "replaced" to make up an identity.
    let err = f.err(
        1,
        propose(Action::ReplaceKey {
            old: pk(99),
            new: pk(120),
        }),
    );
    assert!(matches!(err, Invalid::BadProposal(_)), "{err:?}");
}

// The timeline and the witnessed times are built once per state of the fold and kept
// until the state changes: a read after a change must see it.

#[test]
fn a_timeline_read_before_a_device_enrolls_gives_the_device_once_it_has() {
    let mut f = Fx::new(3);
    let now = f.now;
    assert!(f
        .coop
        .timeline()
        .expect("charter")
        .live_devices(&pk(2), now)
        .is_empty());
    f.add_device(2, 102);
    let now = f.now;
    assert_eq!(
        f.coop
            .timeline()
            .expect("charter")
            .live_devices(&pk(2), now),
        vec![pk(102)]
    );
}

#[test]
fn a_timeline_read_before_a_members_revocation_gives_the_revocation_once_made() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    assert_eq!(
        f.coop.timeline().expect("charter").revocation(&pk(102)),
        None
    );
    let r = f.ok(2, Body::RevokeDevice(RevokeDevice { key: pk(102) }));
    assert_eq!(
        f.coop.timeline().expect("charter").revocation(&pk(102)),
        Some(Revocation {
            at: r.entry().ts,
            by: RevokedBy::Member(pk(2)),
        })
    );
}

#[test]
fn a_timeline_read_before_an_enactment_gives_the_replaced_key_once_enacted() {
    let mut f = Fx::new(4);
    let tl = f.coop.timeline().expect("charter");
    assert_eq!(tl.identity(&pk(120)), pk(120));
    assert_eq!(tl.cut(&pk(2)), None);
    let e = replace_2(&mut f);
    let Body::Enact(x) = &e.entry().body else {
        unreachable!("an enactment")
    };
    let tl = f.coop.timeline().expect("charter");
    assert_eq!(tl.identity(&pk(120)), pk(2));
    assert_eq!(tl.cut(&pk(2)), Some(x.effective_at));
    assert!(tl.at(x.effective_at).is_member(&pk(120)));
}

#[test]
fn witnessed_times_read_before_a_tick_give_its_witness_once_it_is_held() {
    let mut f = Fx::new(3);
    let o = f.offer();
    assert_eq!(f.coop.witnessed().get(&o.id()), None);
    let t = f.ok(3, tick(&[&o]));
    assert_eq!(f.coop.witnessed().get(&o.id()), Some(&t.entry().ts));
}

#[test]
fn a_timeline_read_before_its_enactor_is_frozen_drops_the_enactment_once_frozen() {
    let mut f = Fx::new(3);
    f.add_device(2, 102);
    let p = f.ok(1, propose(Action::RevokeDevice(pk(102))));
    let votes: Vec<Id> = [1, 3]
        .iter()
        .map(|m| f.ok(*m, vote(&p, true)).id())
        .collect();
    let at = f.now + MIN + default_limits().amendment_delay_ms;
    let e = f.ok(
        1,
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: at,
        }),
    );
    f.ok(3, tick(&[&e]));
    assert_eq!(
        f.coop.timeline().expect("charter").revocation(&pk(102)),
        Some(Revocation {
            at,
            by: RevokedBy::Vote(p.id()),
        })
    );
    // Evidence of a fork of member 1 before its enactment: from then on, what it enacts
    // gives it no say.
    f.coop.freeze(pk(1), e.entry().seq);
    assert_eq!(
        f.coop.timeline().expect("charter").revocation(&pk(102)),
        None
    );
}

#[test]
fn a_clone_of_a_read_state_equals_it_and_sees_only_its_own_changes() {
    let mut f = Fx::new(3);
    let now = f.now;
    let unread = f.coop.clone();
    assert!(f
        .coop
        .timeline()
        .expect("charter")
        .live_devices(&pk(2), now)
        .is_empty());
    assert!(f.coop.witnessed().is_empty());
    // Built or not, the same entries are the same state.
    assert_eq!(f.coop, unread);
    let snapshot = f.coop.clone();
    assert_eq!(snapshot, f.coop);
    f.add_device(2, 102);
    let later = f.now;
    assert_eq!(
        f.coop
            .timeline()
            .expect("charter")
            .live_devices(&pk(2), later),
        vec![pk(102)]
    );
    assert!(snapshot
        .timeline()
        .expect("charter")
        .live_devices(&pk(2), later)
        .is_empty());
    assert_ne!(snapshot, f.coop);
}
