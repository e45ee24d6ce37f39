//! Property tests: codecs, signatures, chains and the fold's independence from delivery
//! order.

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use std::collections::BTreeMap;
use taawun_core::body::*;
use taawun_core::entry::{Entry, Unverified, Verified, VERSION};
use taawun_core::fold::Coop;
use taawun_core::id::{Id, PublicKey};
use taawun_core::money::Money;
use taawun_core::synth::{generate, Params, Rng};
use taawun_core::validate::Missing;
use taawun_core::Outcome;

fn body() -> impl Strategy<Value = Body> {
    let key = any::<[u8; 32]>().prop_map(PublicKey);
    let id = any::<[u8; 32]>().prop_map(Id);
    prop_oneof![
        (
            ".*",
            ".*",
            ".*",
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(
                |(t, d, p, pay, minutes, assignments, e, r, c)| Body::Offer(Offer {
                    title: t,
                    description: d,
                    purpose: p,
                    pay: Money::new("EUR", pay),
                    minutes,
                    assignments,
                    expires_at: e,
                    review_window_ms: r,
                    claim_window_ms: c,
                    commit: taawun_core::id::Hash([7; 32]),
                })
            ),
        id.clone().prop_map(|offer| Body::Claim(Claim { offer })),
        (
            id.clone(),
            prop::collection::vec(id.clone(), 0..4),
            prop::collection::vec(key.clone(), 0..4)
        )
            .prop_map(|(offer, claims, winners)| Body::Assign(Assign {
                offer,
                claims,
                winners,
                secret: taawun_core::id::Hash([8; 32]),
            })),
        (
            key.clone(),
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(member, minor, text)| Body::Settle(Settle {
                member,
                amount: Money::new("XOF", minor),
                // Any bytes: the codec does not read a sealed field.
                reference: taawun_core::seal::Sealed {
                    eph: [minor as u8; 32],
                    commit: [3; 32],
                    to: vec![taawun_core::seal::Wrapped {
                        to: member,
                        key: text.clone(),
                    }],
                    text,
                },
            })),
        (
            key.clone(),
            any::<[u8; 4]>(),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..64))
        )
            .prop_map(|(requester, s, text)| Body::Review(Review {
                requester,
                pay: s[0],
                fairness: s[1],
                promptness: s[2],
                communication: s[3],
                // Any bytes, or no text at all: the codec does not read a sealed field.
                text: text.map(|text| taawun_core::seal::Sealed {
                    eph: [s[0]; 32],
                    commit: [4; 32],
                    to: vec![taawun_core::seal::Wrapped {
                        to: requester,
                        key: text.clone(),
                    }],
                    text,
                }),
            })),
        (key.clone(), any::<u64>()).prop_map(|(k, v)| Body::Proposal(Proposal {
            action: if v % 2 == 0 {
                Action::AdmitMember {
                    key: k,
                    name: format!("n{v}"),
                }
            } else {
                Action::SetLimit {
                    limit: Limit::MaxResultBytes,
                    value: v,
                }
            },
            reason: String::new(),
        })),
        (
            id.clone(),
            prop::collection::vec(id.clone(), 0..3),
            any::<u64>()
        )
            .prop_map(|(proposal, votes, effective_at)| Body::Enact(Enact {
                proposal,
                votes,
                effective_at
            })),
        (
            id.clone(),
            key.clone(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(submission, to, text)| Body::Reject(Reject {
                submission,
                // Any bytes: the codec does not read a sealed field.
                reason: taawun_core::seal::Sealed {
                    eph: [7; 32],
                    commit: [5; 32],
                    to: vec![taawun_core::seal::Wrapped {
                        to,
                        key: text.clone(),
                    }],
                    text,
                },
            })),
        (
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(a, b)| Body::Evidence(Evidence { a, b })),
        prop::collection::vec(id, 0..4).prop_map(|heads| Body::Tick(Tick { heads })),
    ]
}

fn entry(seed: [u8; 32], seq: u64, ts: u64, body: Body) -> (SigningKey, Entry) {
    let k = SigningKey::from_bytes(&seed);
    let e = Entry {
        v: VERSION,
        coop: Some(Id([1; 32])),
        author: PublicKey(k.verifying_key().to_bytes()),
        seq,
        prev: if seq > 1 { Some(Id([2; 32])) } else { None },
        ts,
        gov: None,
        body,
    };
    (k, e)
}

proptest! {
    #[test]
    fn encode_decode_round_trip(seed: [u8; 32], seq in 1u64.., ts: u64, b in body()) {
        let (k, e) = entry(seed, seq, ts, b);
        let v = e.sign(&k);
        let back = Unverified::decode(&v.envelope()).expect("decodes").verify().expect("verifies");
        prop_assert_eq!(back.entry(), &e);
        prop_assert_eq!(back.id(), v.id());
        prop_assert_eq!(back.bytes(), v.bytes());
    }

    #[test]
    fn any_changed_byte_fails(seed: [u8; 32], b in body(), pos: usize, flip in 1u8..) {
        let (k, e) = entry(seed, 1, 1, b);
        let mut env = e.sign(&k).envelope();
        let i = pos % env.len();
        env[i] ^= flip;
        let ok = Unverified::decode(&env).ok().map(|u| u.verify().is_ok());
        prop_assert_ne!(ok, Some(true), "byte {} changed and still verified", i);
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Unverified::decode(&bytes);
    }

}

proptest! {
    // Each case builds and signs a whole synthetic cooperative: fewer cases, same reach.
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Dropping any entry of a valid ledger leaves its author's next entry pending on
    /// exactly that gap; delivering it then completes the same state.
    #[test]
    fn gaps_are_detected_and_filled(seed in 0u64..1000, pick: usize) {
        let s = generate(&Params { seed, entries: 120, ..Params::default() });
        let i = 1 + pick % (s.entries.len() - 1);
        let dropped = s.entries[i].clone();
        let (author, seq) = (dropped.entry().author, dropped.entry().seq);
        let mut c = Coop::new();
        let mut waiting = Vec::new();
        for v in s.entries.iter().filter(|v| v.id() != dropped.id()) {
            match c.ingest(v.clone(), None).expect("no rule break") {
                Outcome::Fresh => {}
                Outcome::Pending(m) => {
                    if v.entry().author == author && v.entry().seq == seq + 1 {
                        prop_assert_eq!(m, Missing::Gap { author, from: seq, to: seq });
                    }
                    waiting.push(v.clone());
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        waiting.insert(0, dropped);
        deliver(&mut c, waiting);
        prop_assert_eq!(c, in_order(&s.entries));
    }

    /// Delivery in any order that respects each author's chain gives the same state.
    #[test]
    fn fold_is_independent_of_delivery_order(seed in 0u64..1000, shuffle: u64) {
        let s = generate(&Params { seed, entries: 150, ..Params::default() });
        let reference = in_order(&s.entries);
        let mut chains: BTreeMap<PublicKey, Vec<Verified>> = BTreeMap::new();
        for v in &s.entries {
            chains.entry(v.entry().author).or_default().push(v.clone());
        }
        let mut rng = Rng::new(shuffle);
        let mut queues: Vec<std::collections::VecDeque<Verified>> =
            chains.into_values().map(Into::into).collect();
        let mut order = Vec::new();
        while !queues.is_empty() {
            let q = (rng.next_u64() as usize) % queues.len();
            if let Some(v) = queues[q].pop_front() {
                order.push(v);
            }
            if queues[q].is_empty() {
                queues.swap_remove(q);
            }
        }
        let mut c = Coop::new();
        deliver(&mut c, order);
        prop_assert_eq!(c, reference);
    }

    /// Two different entries by one author at one seq are reported as a fork.
    #[test]
    fn forks_are_detected(seed in 0u64..1000, pick: usize) {
        let s = generate(&Params { seed, entries: 60, ..Params::default() });
        let mut c = in_order(&s.entries);
        let v = &s.entries[1 + pick % (s.entries.len() - 1)];
        let key = s.members.iter().chain(&s.requesters)
            .find(|k| k.verifying_key().to_bytes() == v.entry().author.0)
            .expect("author's key");
        let mut twin = v.entry().clone();
        twin.ts += 1;
        let out = c.ingest(twin.sign(key), None);
        prop_assert_eq!(out, Ok(Outcome::Fork { existing: v.id() }));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// An author forks (a second branch re-signed from one of its seqs on, as a restored
    /// backup or a stolen key would) and another member publishes the evidence: every
    /// order of delivery gives the same state, no entry is ever refused, and everything
    /// both branches hold is kept.
    #[test]
    fn fold_with_forks_is_independent_of_delivery_order(seed in 0u64..1000, pick: usize, shuffle: u64) {
        let s = generate(&Params { seed, entries: 150, ..Params::default() });
        let keys: Vec<&SigningKey> = s.members.iter().chain(&s.requesters).collect();
        let key_of = |a: &PublicKey| keys.iter().copied().find(|k| k.verifying_key().to_bytes() == a.0).expect("author's key");
        // Any entry but the charter starts the second branch.
        let v = &s.entries[1 + pick % (s.entries.len() - 1)];
        let (author, from) = (v.entry().author, v.entry().seq);
        let mut prev = v.entry().prev;
        let mut branch = Vec::new();
        for o in s.entries.iter().filter(|e| e.entry().author == author && e.entry().seq >= from).take(3) {
            let mut e = o.entry().clone();
            e.prev = prev;
            e.ts += 1;
            let b = e.sign(key_of(&author));
            prev = Some(b.id());
            branch.push(b);
        }
        // Evidence by a member other than the author, at the end of its chain.
        let witness = s.members.iter().find(|k| k.verifying_key().to_bytes() != author.0).expect("a witness");
        let wpk = PublicKey(witness.verifying_key().to_bytes());
        let last = s.entries.iter().rev().find(|e| e.entry().author == wpk);
        let head = last.map(|l| taawun_core::validate::Head { seq: l.entry().seq, id: l.id(), ts: l.entry().ts, gov: l.entry().gov });
        let end = s.entries.iter().map(|e| e.entry().ts).max().unwrap_or(0) + 10;
        let coop = s.entries[0].id();
        let mut w = taawun_core::writer::Writer::new(witness.clone(), Some(coop), head);
        let evidence = w.next(Body::Evidence(Evidence { a: v.envelope(), b: branch[0].envelope() }), end, None);
        // And a tick by the same member, witnessing what nobody else had: windows and
        // effective times then run from witnessed time, which must not depend on order.
        let mut before = Coop::new();
        deliver_any(&mut before, s.entries.clone());
        let heads = before.to_witness(&wpk);
        let mut all: Vec<Verified> = s.entries.clone();
        all.extend(branch.iter().cloned());
        all.push(evidence);
        if !heads.is_empty() {
            all.push(w.next(Body::Tick(Tick { heads }), end + 1, None));
        }
        let mut reference = Coop::new();
        deliver_any(&mut reference, all.clone());
        let mut rng = Rng::new(shuffle);
        let mut order = all;
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() as usize) % (i + 1);
            order.swap(i, j);
        }
        let mut c = Coop::new();
        deliver_any(&mut c, order);
        let now = end + 30 * 24 * 3_600_000;
        prop_assert_eq!(c.len(), reference.len());
        prop_assert_eq!(c.witnessed(), reference.witnessed());
        prop_assert_eq!(c.frozen_authors(), reference.frozen_authors());
        prop_assert_eq!(c.frozen_authors().get(&author), Some(&from));
        prop_assert_eq!(c.offers(now), reference.offers(now));
        prop_assert_eq!(c.submissions(now), reference.submissions(now));
        prop_assert_eq!(c.balances(now), reference.balances(now));
        prop_assert_eq!(c.proposals(now), reference.proposals(now));
        prop_assert_eq!(c.rules_at(now), reference.rules_at(now));
        let requesters: Vec<PublicKey> = s.requesters.iter().map(|k| PublicKey(k.verifying_key().to_bytes())).collect();
        prop_assert_eq!(c.records(&requesters, now), reference.records(&requesters, now));
    }
}

/// Ingests `order`, holding entries that wait for others, and storing forks and branches
/// like fresh entries; no entry may ever be refused, whatever the order.
fn deliver_any(c: &mut Coop, order: Vec<Verified>) {
    let mut waiting: Vec<Verified> = Vec::new();
    for v in order {
        waiting.push(v);
        loop {
            let before = waiting.len();
            waiting.retain(|w| match c.ingest(w.clone(), None) {
                Ok(
                    Outcome::Fresh | Outcome::Fork { .. } | Outcome::Branch | Outcome::Duplicate,
                ) => false,
                Ok(Outcome::Pending(_)) => true,
                Err(e) => panic!("{} refused: {e}", w.entry().body.kind()),
            });
            if waiting.len() == before {
                break;
            }
        }
    }
    assert!(
        waiting.is_empty(),
        "{} entries never became valid",
        waiting.len()
    );
}

fn in_order(entries: &[Verified]) -> Coop {
    let mut c = Coop::new();
    for v in entries {
        assert_eq!(c.ingest(v.clone(), None), Ok(Outcome::Fresh));
    }
    c
}

/// Ingests `order`, holding pending entries until what they wait for arrives.
fn deliver(c: &mut Coop, order: Vec<Verified>) {
    let mut waiting: Vec<Verified> = Vec::new();
    for v in order {
        waiting.push(v);
        loop {
            let before = waiting.len();
            waiting.retain(|w| !matches!(c.ingest(w.clone(), None), Ok(Outcome::Fresh)));
            if waiting.len() == before {
                break;
            }
        }
    }
    assert!(
        waiting.is_empty(),
        "{} entries never became valid",
        waiting.len()
    );
}
