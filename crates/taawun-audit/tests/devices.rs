//! The audit's streamed fold against the reference fold on a ledger with device keys
//! (docs/protocol.md 4.7 and 8.7): a member claims and submits from a device, a second
//! device of the same member claims the same offer (one claim counts), a device is
//! revoked and its later claim and backdated vote do not count, and a member's lost key
//! is replaced by vote while its wages stay its own.

mod agree;
mod fixtures;

use taawun_core::body::{
    Accept, Action, Assign, Body, Claim, Device, Enact, Enroll, Offer, Proposal, Receipt,
    RevokeDevice, Settle, Submit, Tick, Vote,
};
use taawun_core::id::Hash;
use taawun_core::lottery;
use taawun_core::money::Money;
use taawun_core::synth::FLOOR_EUR;
use taawun_core::writer::Writer;
use taawun_core::{Id, PublicKey, Timestamp, Verified};

const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
const SECRET: Hash = Hash([42; 32]);

fn offer(t: Timestamp) -> Body {
    Body::Offer(Offer {
        title: "Label photos".into(),
        description: "Two hundred photos".into(),
        purpose: "A seed bank's catalogue".into(),
        pay: Money::new("EUR", 2 * FLOOR_EUR),
        minutes: 60,
        assignments: 1,
        expires_at: t + 10 * 24 * HOUR,
        review_window_ms: 24 * HOUR,
        claim_window_ms: 10 * MIN,
        commit: lottery::commit(&SECRET),
    })
}

fn assign(o: &Verified, claims: &[(Id, PublicKey)]) -> Body {
    Body::Assign(Assign {
        offer: o.id(),
        claims: claims.iter().map(|c| c.0).collect(),
        winners: lottery::draw(&SECRET, &o.id(), claims, 1),
        secret: SECRET,
    })
}

fn key(n: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[n; 32])
}

#[test]
fn devices_a_revocation_and_a_replaced_key_fold_as_in_a_node() {
    let s = fixtures::scenario();
    let gov = s
        .entries
        .iter()
        .rev()
        .find(|v| matches!(v.entry().body, Body::Enact(_)))
        .map(Verified::id);
    let m: Vec<PublicKey> = s.members.iter().map(fixtures::pk).collect();
    let r = fixtures::pk(&s.requesters[0]);
    let mut wm: Vec<Writer> = s.members.iter().map(|k| fixtures::writer(&s, k)).collect();
    let mut wr = fixtures::writer(&s, &s.requesters[0]);
    let mut phone = Writer::new(key(201), Some(s.coop), None);
    let mut laptop = Writer::new(key(202), Some(s.coop), None);
    let (phone_key, laptop_key) = (fixtures::pk(&key(201)), fixtures::pk(&key(202)));
    let mut out: Vec<Verified> = Vec::new();
    let mut t = s.end + MIN;
    let mut put = |w: &mut Writer, body: Body, t: Timestamp, g: Option<Id>| {
        let v = w.next(body, t, g.or(gov));
        out.push(v.clone());
        v
    };

    // Member 1 authorises a phone and a laptop.
    for (k, label) in [(phone_key, "phone"), (laptop_key, "camp laptop")] {
        let d = put(
            &mut wm[1],
            Body::Device(Device {
                key: k,
                label: label.into(),
            }),
            t,
            None,
        );
        t += MIN;
        let w = if k == phone_key {
            &mut phone
        } else {
            &mut laptop
        };
        put(w, Body::Enroll(Enroll { device: d.id() }), t, None);
        t += MIN;
    }
    // An offer claimed from both devices and by member 2: two claims count.
    let o = put(&mut wr, offer(t), t, None);
    t += MIN;
    let c1 = put(&mut phone, Body::Claim(Claim { offer: o.id() }), t, None);
    t += MIN;
    put(&mut laptop, Body::Claim(Claim { offer: o.id() }), t, None);
    let c2 = put(&mut wm[2], Body::Claim(Claim { offer: o.id() }), t, None);
    t += MIN;
    put(
        &mut wm[3],
        Body::Tick(Tick {
            heads: vec![c1.id(), c2.id()],
        }),
        t,
        None,
    );
    t += 10 * MIN;
    let a = put(
        &mut wr,
        assign(&o, &[(c1.id(), m[1]), (c2.id(), m[2])]),
        t,
        None,
    );
    t += MIN;
    // Both winners' work: member 1 submits from its laptop.
    let winners = match &a.entry().body {
        Body::Assign(x) => x.winners.clone(),
        _ => unreachable!(),
    };
    let sub = Body::Submit(Submit {
        offer: o.id(),
        assign: a.id(),
        result: Hash::of(b"labels"),
        size: 6,
        minutes: 70,
    });
    let w = if winners[0] == m[1] {
        &mut laptop
    } else {
        &mut wm[2]
    };
    let s1 = put(w, sub, t, None);
    t += MIN;
    put(
        &mut wm[3],
        Body::Tick(Tick {
            heads: vec![s1.id()],
        }),
        t,
        None,
    );
    t += MIN;
    put(
        &mut wr,
        Body::Accept(Accept {
            submission: s1.id(),
        }),
        t,
        None,
    );

    // The phone is confiscated: member 1 revokes it from its laptop. The phone's later
    // claim does not count, nor its vote backdated before the revocation and witnessed
    // an hour later.
    t += MIN;
    let p = put(
        &mut wm[0],
        Body::Proposal(Proposal {
            action: Action::ReplaceKey {
                old: m[2],
                new: fixtures::pk(&key(203)),
            },
            reason: "member 2 lost its phone in the flood".into(),
        }),
        t,
        None,
    );
    t += MIN;
    let revoke = put(
        &mut laptop,
        Body::RevokeDevice(RevokeDevice { key: phone_key }),
        t,
        None,
    );
    t += HOUR;
    let back = put(
        &mut phone,
        Body::Vote(Vote {
            proposal: p.id(),
            yes: true,
        }),
        revoke.entry().ts - 1,
        None,
    );
    let o2 = put(&mut wr, offer(t), t, None);
    t += MIN;
    put(&mut phone, Body::Claim(Claim { offer: o2.id() }), t, None);
    put(
        &mut wm[3],
        Body::Tick(Tick {
            heads: vec![back.id()],
        }),
        t,
        None,
    );
    // Member 2's key is replaced by vote: five of six members vote yes.
    let mut votes = Vec::new();
    for w in [0, 1, 3, 4, 5] {
        t += MIN;
        votes.push(
            put(
                &mut wm[w],
                Body::Vote(Vote {
                    proposal: p.id(),
                    yes: true,
                }),
                t,
                None,
            )
            .id(),
        );
    }
    t += MIN;
    let e = put(
        &mut wm[0],
        Body::Enact(Enact {
            proposal: p.id(),
            votes,
            effective_at: t + 2 * HOUR,
        }),
        t,
        None,
    );
    t += MIN;
    put(
        &mut wm[3],
        Body::Tick(Tick {
            heads: vec![e.id()],
        }),
        t,
        None,
    );
    // After it takes effect: the requester pays member 2's new key, which confirms.
    t += 3 * HOUR;
    let pay = put(
        &mut wr,
        Body::Settle(Settle {
            member: fixtures::pk(&key(203)),
            amount: Money::new("EUR", 500),
            reference: taawun_core::synth::sealed(
                "MM-42",
                &[fixtures::pk(&key(203)), fixtures::pk(&s.requesters[0])],
            ),
        }),
        t,
        None,
    );
    t += MIN;
    let mut new = Writer::new(key(203), Some(s.coop), None);
    put(
        &mut new,
        Body::Receipt(Receipt {
            settle: pay.id(),
            received: true,
        }),
        t,
        Some(e.id()),
    );

    // Member 1 answers a payment twice, from its laptop (not received) and from its own
    // key (received): the earlier answer counts, on the node and in the audit.
    t += MIN;
    let pay1 = put(
        &mut wr,
        Body::Settle(Settle {
            member: m[1],
            amount: Money::new("EUR", 700),
            reference: taawun_core::synth::sealed("MM-43", &[m[1], fixtures::pk(&s.requesters[0])]),
        }),
        t,
        None,
    );
    for (w, received) in [(&mut laptop, false), (&mut wm[1], true)] {
        t += MIN;
        put(
            w,
            Body::Receipt(Receipt {
                settle: pay1.id(),
                received,
            }),
            t,
            None,
        );
    }

    let all: Vec<Verified> = s.entries.iter().chain(&out).cloned().collect();
    let envs: Vec<Vec<u8>> = all.iter().map(Verified::envelope).collect();
    let report = agree::audit(&fixtures::file(&s, &envs));
    assert_eq!(
        report.valid_entries,
        all.len() as u64,
        "{:#?}",
        report.violations.listed
    );
    let coop = agree::fold(&all);
    agree::assert_agrees(&report, &coop);

    // And the fold says what the members are owed: the draw had two tickets, the
    // revoked phone's later claim counts for nobody, and the replaced member's payment
    // is on its record under its first key.
    let now = report.judged_at_ms;
    assert_eq!(coop.claims_on(&o.id(), now).len(), 2);
    assert!(coop.claims_on(&o2.id(), now).is_empty());
    let rules = coop.rules_at(now).expect("rules");
    assert!(rules.is_member(&fixtures::pk(&key(203))) && !rules.is_member(&m[2]));
    let b = coop.balances(now);
    let confirmed = |b: &std::collections::BTreeMap<_, taawun_core::fold::Balance>| {
        b.get(&(r, m[2], "EUR".to_string()))
            .map_or(0, |x: &taawun_core::fold::Balance| x.confirmed)
    };
    let before = agree::fold(&s.entries).balances(now);
    assert_eq!(confirmed(&b), confirmed(&before) + 500);
    let denied = |b: &std::collections::BTreeMap<_, taawun_core::fold::Balance>| {
        b.get(&(r, m[1], "EUR".to_string()))
            .map_or(0, |x: &taawun_core::fold::Balance| x.denied)
    };
    assert_eq!(denied(&b), denied(&before) + 700);
    assert!(!b.keys().any(|(_, k, _)| *k == fixtures::pk(&key(203))));
}
