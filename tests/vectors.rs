//! Test vectors for `docs/protocol.md`: a small cooperative written from fixed key seeds and
//! fixed timestamps, one valid entry of every body kind, and refused entries with the
//! verdict every implementation must reach.
//!
//! `TAAWUN_WRITE_VECTORS=1 cargo test --test vectors` writes `docs/test-vectors.json`.
//! Without it, the test checks that (a) regenerating gives exactly the file's content and
//! (b) independently of the generator, every vector of the file, decoded, verified and
//! ingested in file order, gets the expected id and verdict, and the final state matches;
//! keys, ids, envelopes, signatures (plain ed25519) and the canonical encoding of entries
//! (spec 3.4) are checked from the file with code independent of the reference encoder.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::collections::BTreeMap;
use taawun_core::body::*;
use taawun_core::entry::{envelope, signed_message, Entry, Unverified, DOMAIN, VERSION};
use taawun_core::fold::{Coop, OfferState, PlaceState, Review as ReviewState};
use taawun_core::id::{Hash, Id, PublicKey};
use taawun_core::lottery;
use taawun_core::money::Money;
use taawun_core::rules::default_limits;
use taawun_core::synth;
use taawun_core::validate::{Missing, Outcome, MAX_CLOCK_SKEW_MS};
use taawun_core::writer::Writer;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/test-vectors.json");

/// 2026-01-01T00:00:00Z in ms.
const T0: u64 = 1_767_225_600_000;
const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;
/// The offers are posted two hours after the charter, after the floor increase took effect.
const T1: u64 = T0 + 2 * HOUR;
/// When the final state is computed: after every review window of the scenario closed.
const STATE_AT: u64 = T1 + 3 * DAY;

// ---------------------------------------------------------------------------------------
// An ordered JSON value, so that the file keeps fields in a readable order.

#[derive(Clone, Debug, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Int(i128),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Null => s.serialize_unit(),
            J::Bool(b) => s.serialize_bool(*b),
            J::Int(i) => match (u64::try_from(*i), i64::try_from(*i)) {
                (Ok(u), _) => s.serialize_u64(u),
                (_, Ok(n)) => s.serialize_i64(n),
                _ => s.serialize_str(&i.to_string()),
            },
            J::Str(t) => s.serialize_str(t),
            J::Arr(a) => {
                let mut q = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    q.serialize_element(x)?;
                }
                q.end()
            }
            J::Obj(o) => {
                let mut m = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

fn obj(fields: Vec<(&str, J)>) -> J {
    J::Obj(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn s(t: &str) -> J {
    J::Str(t.to_owned())
}

fn n(x: impl Into<i128>) -> J {
    J::Int(x.into())
}

fn hx(b: &[u8]) -> J {
    J::Str(hex::encode(b))
}

fn id(i: &Id) -> J {
    J::Str(i.to_hex())
}

fn key(k: &PublicKey) -> J {
    J::Str(k.to_hex())
}

/// The CBOR data model as JSON: byte strings become lowercase hex strings, maps keep the
/// order of the wire.
fn cbor_to_json(v: &ciborium::value::Value) -> J {
    use ciborium::value::Value as V;
    match v {
        V::Null => J::Null,
        V::Bool(b) => J::Bool(*b),
        V::Integer(i) => J::Int(i128::from(*i)),
        V::Text(t) => J::Str(t.clone()),
        V::Bytes(b) => hx(b),
        V::Array(a) => J::Arr(a.iter().map(cbor_to_json).collect()),
        V::Map(m) => J::Obj(
            m.iter()
                .map(|(k, v)| {
                    let k = match k {
                        V::Text(t) => t.clone(),
                        other => format!("{other:?}"),
                    };
                    (k, cbor_to_json(v))
                })
                .collect(),
        ),
        V::Tag(t, inner) => obj(vec![("tag", n(*t)), ("value", cbor_to_json(inner))]),
        other => J::Str(format!("{other:?}")),
    }
}

/// The entry bytes as JSON when they are exactly one CBOR data item, else null.
fn decoded(entry: &[u8]) -> J {
    let mut rest = entry;
    match ciborium::from_reader::<ciborium::value::Value, _>(&mut rest) {
        Ok(v) if rest.is_empty() => cbor_to_json(&v),
        _ => J::Null,
    }
}

// ---------------------------------------------------------------------------------------
// Verdicts, computed the same way for generation and for checking.

/// The name of an enum variant from its `Debug` form.
fn variant(debug: &str) -> String {
    debug
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

fn judge(coop: &mut Coop, env: &[u8], now: Option<u64>) -> J {
    let u = match Unverified::decode(env) {
        Ok(u) => u,
        Err(e) => {
            return obj(vec![
                ("verdict", s("DecodeError")),
                ("error", J::Str(variant(&format!("{e:?}")))),
                ("message", J::Str(e.to_string())),
            ])
        }
    };
    let v = match u.verify() {
        Ok(v) => v,
        Err(e) => {
            return obj(vec![
                ("verdict", s("BadSignature")),
                ("message", J::Str(e.to_string())),
            ])
        }
    };
    match coop.ingest(v, now) {
        Ok(Outcome::Fresh) => obj(vec![("verdict", s("Fresh"))]),
        Ok(Outcome::Duplicate) => obj(vec![("verdict", s("Duplicate"))]),
        Ok(Outcome::Branch) => obj(vec![("verdict", s("Branch"))]),
        Ok(Outcome::Fork { existing }) => {
            obj(vec![("verdict", s("Fork")), ("existing", id(&existing))])
        }
        Ok(Outcome::Pending(Missing::Gap { author, from, to })) => obj(vec![
            ("verdict", s("Pending")),
            (
                "missing",
                obj(vec![(
                    "gap",
                    obj(vec![
                        ("author", key(&author)),
                        ("from", n(from)),
                        ("to", n(to)),
                    ]),
                )]),
            ),
        ]),
        Ok(Outcome::Pending(Missing::Dependency(d))) => obj(vec![
            ("verdict", s("Pending")),
            ("missing", obj(vec![("dependency", id(&d))])),
        ]),
        Err(e) => obj(vec![
            ("verdict", s("Invalid")),
            ("error", J::Str(variant(&format!("{e:?}")))),
            ("message", J::Str(e.to_string())),
        ]),
    }
}

/// The verdict's short form, as the generator states its intent: `Fresh`,
/// `Invalid/OfferBelowFloor`, `DecodeError/Trailing`, `Pending/gap`...
fn short(verdict: &J) -> String {
    let J::Obj(o) = verdict else {
        return String::new();
    };
    let get = |k: &str| o.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let mut out = match get("verdict") {
        Some(J::Str(v)) => v,
        _ => String::new(),
    };
    if let Some(J::Str(e)) = get("error") {
        out = format!("{out}/{e}");
    }
    if let Some(J::Obj(m)) = get("missing") {
        out = format!("{out}/{}", m[0].0);
    }
    out
}

// ---------------------------------------------------------------------------------------
// The state of the cooperative, for fold implementers.

fn render_state(c: &Coop, at: u64) -> J {
    let rules = c.rules_at(at).expect("charter applied");
    let l = &rules.limits;
    let rules = obj(vec![
        ("members", J::Arr(rules.members.iter().map(key).collect())),
        (
            "requesters",
            J::Arr(rules.requesters.iter().map(key).collect()),
        ),
        ("quorum_pct", n(rules.quorum_pct)),
        (
            "floors",
            J::Obj(
                rules
                    .floors
                    .iter()
                    .map(|(c, f)| (c.clone(), n(*f)))
                    .collect(),
            ),
        ),
        (
            "limits",
            obj(vec![
                ("max_review_window_ms", n(l.max_review_window_ms)),
                ("max_claim_window_ms", n(l.max_claim_window_ms)),
                ("max_offer_life_ms", n(l.max_offer_life_ms)),
                ("max_result_bytes", n(l.max_result_bytes)),
                ("max_entry_bytes", n(l.max_entry_bytes)),
                ("topup_cap_pct", n(l.topup_cap_pct)),
                ("amendment_delay_ms", n(l.amendment_delay_ms)),
                ("min_claim_window_ms", n(l.min_claim_window_ms)),
                ("proposal_life_ms", n(l.proposal_life_ms)),
                ("majority_pct", n(l.majority_pct)),
                ("supermajority_pct", n(l.supermajority_pct)),
                ("submit_window_ms", n(l.submit_window_ms)),
            ]),
        ),
    ]);
    let offers = c
        .offers(at)
        .iter()
        .map(|o| {
            let state = match o.state {
                OfferState::Open => "open",
                OfferState::AwaitingAssignment => "awaiting_assignment",
                OfferState::Assigned => "assigned",
                OfferState::Withdrawn => "withdrawn",
                OfferState::Expired => "expired",
            };
            obj(vec![
                ("id", id(&o.id)),
                ("requester", key(&o.requester)),
                ("state", s(state)),
                ("claims", n(o.claimants.len() as u64)),
                ("closes_at", n(o.closes_at)),
                ("winners", J::Arr(o.winners.iter().map(key).collect())),
                (
                    "places",
                    J::Arr(
                        o.places
                            .iter()
                            .map(|p| {
                                let (state, filled) = match p.state {
                                    PlaceState::Open => ("open", J::Null),
                                    PlaceState::Filled(x) => ("filled", id(&x)),
                                    PlaceState::Lapsed => ("lapsed", J::Null),
                                };
                                obj(vec![
                                    ("member", key(&p.member)),
                                    ("from", n(p.from)),
                                    ("until", n(p.until)),
                                    ("state", s(state)),
                                    ("submission", filled),
                                ])
                            })
                            .collect(),
                    ),
                ),
                ("void_assignments", n(o.void_assignments as u64)),
            ])
        })
        .collect();
    let submissions = c
        .submissions(at)
        .iter()
        .map(|x| {
            let review = match &x.review {
                ReviewState::Pending { deadline } => {
                    obj(vec![("state", s("pending")), ("deadline", n(*deadline))])
                }
                ReviewState::Accepted(t) => obj(vec![("state", s("accepted")), ("at", n(*t))]),
                ReviewState::AcceptedByDefault(t) => {
                    obj(vec![("state", s("accepted_by_default")), ("at", n(*t))])
                }
                // The reason is sealed (spec 3.7): the state names it by its commitment.
                ReviewState::Rejected { at, reason } => obj(vec![
                    ("state", s("rejected")),
                    ("at", n(*at)),
                    ("reason_commit", s(&hex::encode(reason.commit))),
                ]),
                ReviewState::Upheld { rejected, at } => obj(vec![
                    ("state", s("upheld")),
                    ("rejected_at", n(*rejected)),
                    ("at", n(*at)),
                ]),
            };
            obj(vec![
                ("id", id(&x.id)),
                ("offer", id(&x.offer)),
                ("member", key(&x.member)),
                ("requester", key(&x.requester)),
                ("at", n(x.at)),
                ("minutes", n(x.minutes)),
                ("review", review),
                (
                    "pay",
                    obj(vec![
                        ("currency", s(&x.pay.currency)),
                        ("minor", n(x.pay.minor)),
                    ]),
                ),
                ("topup", n(x.topup)),
            ])
        })
        .collect();
    let balances = c
        .balances(at)
        .iter()
        .map(|((req, mem, cur), b)| {
            obj(vec![
                ("requester", key(req)),
                ("member", key(mem)),
                ("currency", s(cur)),
                ("earned", n(b.earned)),
                ("topup", n(b.topup)),
                ("paid", n(b.paid)),
                ("confirmed", n(b.confirmed)),
                ("denied", n(b.denied)),
                ("owed", n(b.owed())),
                ("unconfirmed", n(b.unconfirmed())),
            ])
        })
        .collect();
    // A record for every key that authored a listed offer or a settle that counts, or that
    // a counting review names (docs/protocol.md 8.6).
    let mut requesters: Vec<PublicKey> = c.offers(at).iter().map(|o| o.requester).collect();
    requesters.extend(
        c.balances(at)
            .iter()
            .filter(|(_, b)| b.paid > 0)
            .map(|((r, _, _), _)| *r),
    );
    requesters.extend(
        c.ids(Kind::Review)
            .filter_map(|id| c.get(id))
            .filter_map(|v| match &v.entry().body {
                Body::Review(x) => Some(x.requester),
                _ => None,
            })
            .filter(|r| c.record(r, at).reviews > 0),
    );
    requesters.sort();
    requesters.dedup();
    let opt = |x: Option<u64>| x.map_or(J::Null, n);
    let per_cur =
        |m: &BTreeMap<String, u64>| J::Obj(m.iter().map(|(c, v)| (c.clone(), n(*v))).collect());
    let records = requesters
        .iter()
        .map(|r| {
            let rec = c.record(r, at);
            obj(vec![
                ("requester", key(r)),
                ("offers", n(rec.offers as u64)),
                ("submissions", n(rec.submissions as u64)),
                ("accepted", n(rec.accepted as u64)),
                ("accepted_by_default", n(rec.accepted_by_default as u64)),
                ("rejected", n(rec.rejected as u64)),
                ("pending", n(rec.pending as u64)),
                ("median_review_ms", opt(rec.median_review_ms)),
                ("median_pay_ms", opt(rec.median_pay_ms)),
                ("hourly_rate", per_cur(&rec.hourly_rate)),
                ("topups", per_cur(&rec.topups)),
                ("unpaid", per_cur(&rec.unpaid)),
                ("unconfirmed", per_cur(&rec.unconfirmed)),
                ("not_received", n(rec.not_received as u64)),
                ("appeals", n(rec.appeals as u64)),
                ("appeals_upheld", n(rec.appeals_upheld as u64)),
                ("appeals_dismissed", n(rec.appeals_dismissed as u64)),
                ("void_assignments", n(rec.void_assignments as u64)),
                ("reviews", n(rec.reviews as u64)),
                (
                    "scores_x100",
                    rec.scores
                        .map_or(J::Null, |sc| J::Arr(sc.iter().map(|x| n(*x)).collect())),
                ),
            ])
        })
        .collect();
    let frozen = c
        .frozen_authors()
        .iter()
        .map(|(k, seq)| obj(vec![("author", key(k)), ("from_seq", n(*seq))]))
        .collect();
    obj(vec![
        ("at", n(at)),
        ("entries", n(c.len() as u64)),
        ("rules", rules),
        ("offers", J::Arr(offers)),
        ("submissions", J::Arr(submissions)),
        ("balances", J::Arr(balances)),
        ("records", J::Arr(records)),
        ("frozen", J::Arr(frozen)),
        (
            "appeals",
            J::Arr(c.appeals(at).iter().map(render_appeal).collect()),
        ),
    ])
}

/// An appeal as the state shows it (docs/protocol.md 8.8).
fn render_appeal(a: &taawun_core::appeal::AppealView) -> J {
    use taawun_core::appeal::{Outcome as O, SeatState};
    let (state, at) = match a.outcome {
        O::Drawing { until } => ("drawing", Some(until)),
        O::Open => ("open", None),
        O::Upheld { at } => ("upheld", Some(at)),
        O::Dismissed { at } => ("dismissed", Some(at)),
        O::NoJury => ("no_jury", None),
        O::UpheldByDefault { at } => ("upheld_by_default", Some(at)),
    };
    let seats = a
        .seats
        .iter()
        .map(|x| {
            let (st, vote) = match x.state {
                SeatState::Open => ("open", J::Null),
                SeatState::Voted { vote, uphold } => {
                    (if uphold { "upheld" } else { "dismissed" }, id(&vote))
                }
                SeatState::Lapsed => ("lapsed", J::Null),
            };
            obj(vec![
                ("member", key(&x.member)),
                ("from", n(x.from)),
                ("until", n(x.until)),
                ("state", s(st)),
                ("vote", vote),
            ])
        })
        .collect();
    obj(vec![
        ("id", id(&a.id)),
        ("rejection", id(&a.rejection)),
        ("submission", id(&a.submission)),
        ("appellant", key(&a.appellant)),
        ("requester", key(&a.requester)),
        ("made", n(a.made)),
        ("reply", a.reply.as_deref().map_or(J::Null, s)),
        ("seats", J::Arr(seats)),
        ("uphold", n(a.uphold as u64)),
        ("dismiss", n(a.dismiss as u64)),
        (
            "outcome",
            obj(vec![("state", s(state)), ("at", at.map_or(J::Null, n))]),
        ),
    ])
}

// ---------------------------------------------------------------------------------------
// The generator.

struct Who {
    name: &'static str,
    role: &'static str,
    seed: [u8; 32],
}

const AMINA: usize = 0;
const BAKO: usize = 1;
const CHIDI: usize = 2;
const DAYO: usize = 3;
const CLINIC: usize = 4;
const MALLORY: usize = 5;
const EVE: usize = 6;
const BAKO_PHONE: usize = 7;

fn people() -> Vec<Who> {
    let w = |name, role, b: u8| Who {
        name,
        role,
        seed: [b; 32],
    };
    vec![
        w("amina", "founding member (author of the charter)", 0x01),
        w("bako", "member", 0x02),
        w("chidi", "member", 0x03),
        w("dayo", "member", 0x04),
        w("clinic", "requester", 0x11),
        w("mallory", "requester who equivocates", 0x12),
        w("eve", "outsider (neither member nor requester)", 0x21),
        w("bako_phone", "a device key of bako's", 0x31),
    ]
}

fn sk(w: &Who) -> SigningKey {
    SigningKey::from_bytes(&w.seed)
}

fn pk(w: &Who) -> PublicKey {
    PublicKey(sk(w).verifying_key().to_bytes())
}

struct Gen {
    who: Vec<Who>,
    writers: Vec<Writer>,
    coop: Coop,
    vectors: Vec<J>,
}

impl Gen {
    /// Records one vector: judges `env` against the state so far and checks the verdict is
    /// the one intended.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        name: &str,
        description: &str,
        author: usize,
        entry: &[u8],
        sig: &[u8; 64],
        env: &[u8],
        received_at: Option<u64>,
        intent: &str,
    ) -> J {
        let verdict = judge(&mut self.coop, env, received_at);
        assert_eq!(short(&verdict), intent, "vector {name}: {verdict:?}");
        let w = &self.who[author];
        self.vectors.push(obj(vec![
            ("name", s(name)),
            ("description", s(description)),
            ("author", s(w.name)),
            ("signing_key_seed", hx(&w.seed)),
            ("public_key", key(&pk(w))),
            ("received_at", received_at.map_or(J::Null, n)),
            ("entry", hx(entry)),
            ("signature", hx(sig)),
            ("id", id(&Id::of(entry))),
            ("envelope", hx(env)),
            ("decoded", decoded(entry)),
            ("expected", verdict.clone()),
        ]));
        verdict
    }

    /// Writes the next entry of `author`'s chain and records it; returns its id and envelope.
    fn write(
        &mut self,
        name: &str,
        description: &str,
        author: usize,
        body: Body,
        ts: u64,
        gov: Option<Id>,
    ) -> (Id, Vec<u8>) {
        let v = self.writers[author].next(body, ts, gov);
        let env = v.envelope();
        self.push(
            name,
            description,
            author,
            v.bytes(),
            v.signature(),
            &env,
            None,
            "Fresh",
        );
        (v.id(), env)
    }

    /// Writes an entry with a copy of `author`'s writer, so the real chain does not move
    /// (the entry is meant to be refused).
    #[allow(clippy::too_many_arguments)]
    fn attempt(
        &mut self,
        name: &str,
        description: &str,
        author: usize,
        body: Body,
        ts: u64,
        gov: Option<Id>,
        received_at: Option<u64>,
        intent: &str,
    ) {
        let mut w = self.writers[author].clone();
        let v = w.next(body, ts, gov);
        let env = v.envelope();
        self.push(
            name,
            description,
            author,
            v.bytes(),
            v.signature(),
            &env,
            received_at,
            intent,
        );
    }

    /// Signs arbitrary entry bytes as `author` and records them.
    fn raw(
        &mut self,
        name: &str,
        description: &str,
        author: usize,
        entry: &[u8],
        extra: &[u8],
        intent: &str,
    ) {
        let key = sk(&self.who[author]);
        let sig = key.sign(&signed_message(entry)).to_bytes();
        let mut env = envelope(entry, &sig);
        env.extend_from_slice(extra);
        self.push(name, description, author, entry, &sig, &env, None, intent);
    }

    fn write_dup(&mut self, name: &str, description: &str, author: usize, env: &[u8]) {
        let u = Unverified::decode(env).expect("a valid envelope");
        let v = u.verify().expect("a valid signature");
        self.push(
            name,
            description,
            author,
            v.bytes(),
            v.signature(),
            env,
            None,
            "Duplicate",
        );
    }

    fn next_entry(&self, author: usize, body: Body, ts: u64, gov: Option<Id>) -> Entry {
        let h = self.writers[author].head();
        Entry {
            v: VERSION,
            coop: self.coop.id(),
            author: pk(&self.who[author]),
            seq: h.map_or(1, |h| h.seq + 1),
            prev: h.map(|h| h.id),
            ts,
            gov,
            body,
        }
    }
}

/// The lottery secret of the offer titled `title` (fixed, so the file is reproducible; a
/// real requester draws 32 random bytes).
fn secret(title: &str) -> Hash {
    Hash::of(format!("lottery secret of {title}").as_bytes())
}

fn offer_body(title: &str, purpose: &str, pay: Money, minutes: u32, assignments: u32) -> Offer {
    Offer {
        title: title.into(),
        description: "Type the 20 scanned intake forms of the shared folder into the \
                      spreadsheet template, one row per form."
            .into(),
        purpose: purpose.into(),
        pay,
        minutes,
        assignments,
        expires_at: T1 + 7 * DAY,
        review_window_ms: 2 * DAY,
        claim_window_ms: HOUR,
        commit: lottery::commit(&secret(title)),
    }
}

/// A review by `author`, its text sealed to both parties.
fn review_body(requester: PublicKey, author: PublicKey, score: u8, text: &str) -> Body {
    Body::Review(Review {
        requester,
        pay: score,
        fairness: score,
        promptness: score,
        communication: score,
        text: Some(synth::sealed(text, &[requester, author])),
    })
}

/// Sorts every map of a CBOR value by the bytes of its encoded keys: RFC 8949's core
/// deterministic order, which is not taawun's.
fn rfc8949_sorted(v: ciborium::value::Value) -> ciborium::value::Value {
    use ciborium::value::Value as V;
    match v {
        V::Map(m) => {
            let mut m: Vec<(V, V)> = m
                .into_iter()
                .map(|(k, v)| (rfc8949_sorted(k), rfc8949_sorted(v)))
                .collect();
            m.sort_by_key(|(k, _)| cbor(k));
            V::Map(m)
        }
        V::Array(a) => V::Array(a.into_iter().map(rfc8949_sorted).collect()),
        other => other,
    }
}

fn cbor(v: &ciborium::value::Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).expect("CBOR");
    out
}

const PURPOSE: &str =
    "Digitise paper records so the district's rural clinics can follow up on vaccinations";

fn build() -> J {
    let who = people();
    let keys: Vec<PublicKey> = who.iter().map(pk).collect();
    let writers = who.iter().map(|w| Writer::new(sk(w), None, None)).collect();
    let mut g = Gen {
        who,
        writers,
        coop: Coop::new(),
        vectors: Vec::new(),
    };

    // --- Governance ---------------------------------------------------------------------
    let (coop, _) = g.write(
        "charter",
        "Genesis: amina founds the cooperative with four members, two requesters, a 50 % \
         quorum, a floor of 12.00 EUR/h and the default limits but one: a drawn member has \
         6 hours to submit (submit_window_ms). Its id is the cooperative id.",
        AMINA,
        Body::Charter(Charter {
            name: "Ta'awun Kano transcribers".into(),
            members: keys[AMINA..=DAYO].to_vec(),
            requesters: vec![keys[CLINIC], keys[MALLORY]],
            names: [
                (AMINA, "Amina Bello"),
                (BAKO, "Bako Musa"),
                (CHIDI, "Chidi Okafor"),
                (DAYO, "Dayo Adeyemi"),
                (CLINIC, "Kano Community Clinic"),
                (MALLORY, "Mallory Data Ltd"),
            ]
            .into_iter()
            .map(|(i, n)| Named {
                key: keys[i],
                name: n.to_string(),
            })
            .collect(),
            quorum_pct: 50,
            floors: [("EUR".to_string(), 1200)].into_iter().collect(),
            limits: Limits {
                submit_window_ms: 6 * HOUR,
                ..default_limits()
            },
        }),
        T0,
        None,
    );
    for (i, w) in g.writers.iter_mut().enumerate() {
        if i != AMINA {
            *w = Writer::new(sk(&g.who[i]), Some(coop), None);
        }
    }
    let (proposal, _) = g.write(
        "proposal",
        "amina proposes raising the EUR floor to 13.00 EUR/h.",
        AMINA,
        Body::Proposal(Proposal {
            action: Action::SetFloor {
                currency: "EUR".into(),
                per_hour: 1300,
            },
            reason: "Living costs rose: raise the floor from 12.00 to 13.00 EUR per hour.".into(),
        }),
        T0 + MIN,
        None,
    );
    let vote = |yes| Body::Vote(Vote { proposal, yes });
    let (v1, _) = g.write(
        "vote_yes",
        "amina votes yes.",
        AMINA,
        vote(true),
        T0 + 2 * MIN,
        None,
    );
    let (v2, _) = g.write(
        "vote_yes_second",
        "bako votes yes: with 4 members and a 50 % quorum, 2 yes votes pass it.",
        BAKO,
        vote(true),
        T0 + 3 * MIN,
        None,
    );
    let (v3, _) = g.write(
        "vote_no",
        "chidi votes no. An enactment names yes and no votes; the timeline counts every vote \
         held, yes and no.",
        CHIDI,
        vote(false),
        T0 + 4 * MIN,
        None,
    );
    let enact_ts = T0 + 5 * MIN;
    let delay = default_limits().amendment_delay_ms;
    g.attempt(
        "enact_not_passed",
        "REFUSED: the enactment names amina's yes and chidi's no: 2 votes cast make the \
         quorum (2 of 4 at 50 %), but 1 yes of 2 is not more than half (100 <= 50 * 2).",
        AMINA,
        Body::Enact(Enact {
            proposal,
            votes: vec![v1, v3],
            effective_at: enact_ts + delay,
        }),
        enact_ts,
        None,
        None,
        "Invalid/NotPassed",
    );
    g.attempt(
        "enact_effective_too_late",
        "REFUSED: the amendment would take effect 1 ms after the latest allowed time, the \
         enactment's timestamp plus the amendment delay plus one day (ENACT_SLACK_MS): an \
         amendment cannot be held over the cooperative for later.",
        AMINA,
        Body::Enact(Enact {
            proposal,
            votes: vec![v1, v2, v3],
            effective_at: enact_ts + delay + DAY + 1,
        }),
        enact_ts,
        None,
        None,
        "Invalid/EffectiveTooLate",
    );
    g.attempt(
        "enact_effective_too_soon",
        "REFUSED: the amendment would take effect 1 ms before the enactment's timestamp plus \
         the amendment delay (1 hour).",
        AMINA,
        Body::Enact(Enact {
            proposal,
            votes: vec![v1, v2],
            effective_at: enact_ts + delay - 1,
        }),
        enact_ts,
        None,
        None,
        "Invalid/EffectiveTooSoon",
    );
    let (enact, _) = g.write(
        "enact",
        "amina records that the proposal passed, naming the two yes votes and the no vote \
         (2 yes of 3 cast: 200 > 50 * 3); it takes effect exactly one amendment delay after \
         the enactment. Entries that name this enactment in `gov` and are timestamped from \
         then on are judged at 13.00 EUR/h.",
        AMINA,
        Body::Enact(Enact {
            proposal,
            votes: vec![v1, v2, v3],
            effective_at: enact_ts + delay,
        }),
        enact_ts,
        None,
    );
    let gov = Some(enact);

    // --- An offer and its life ----------------------------------------------------------
    let eur = |m| Money::new("EUR", m);
    g.attempt(
        "offer_below_floor",
        "REFUSED: 6.49 EUR for 30 minutes is 12.98 EUR/h, one minor unit under the floor of \
         13.00 EUR/h in force under the governance the entry names (649 * 60 < 1300 * 30).",
        CLINIC,
        Body::Offer(offer_body(
            "Transcribe clinic intake forms",
            PURPOSE,
            eur(649),
            30,
            3,
        )),
        T1,
        gov,
        None,
        "Invalid/OfferBelowFloor",
    );
    g.attempt(
        "offer_missing_purpose",
        "REFUSED: the purpose is blank (only white space); every offer must say what the work \
         is for.",
        CLINIC,
        Body::Offer(offer_body(
            "Transcribe clinic intake forms",
            "  ",
            eur(650),
            30,
            3,
        )),
        T1,
        gov,
        None,
        "Invalid/MissingPurpose",
    );
    g.attempt(
        "offer_currency_without_floor",
        "REFUSED: the cooperative has no floor in USD, so offers in USD are refused.",
        CLINIC,
        Body::Offer(offer_body(
            "Transcribe clinic intake forms",
            PURPOSE,
            Money::new("USD", 5000),
            30,
            3,
        )),
        T1,
        gov,
        None,
        "Invalid/CurrencyNotAllowed",
    );
    g.attempt(
        "offer_title_too_long",
        "REFUSED (BadOffer, title): the title has 201 characters; at most 200 \
         (MAX_TITLE_CHARS), so that one offer cannot break every member's board.",
        CLINIC,
        Body::Offer(offer_body(&"T".repeat(201), PURPOSE, eur(650), 30, 3)),
        T1,
        gov,
        None,
        "Invalid/BadOffer",
    );
    g.attempt(
        "offer_title_with_bidi_override",
        "REFUSED (BadOffer, title): the title carries a right-to-left override (U+202E) and a \
         pop (U+202C) that make '18,00 EUR/h' display as '50,00 EUR/h'. Embedding, override \
         and isolate controls are refused in titles, purposes and descriptions.",
        CLINIC,
        Body::Offer(offer_body(
            "Transcribe forms \u{202E}h/RUE 00,05\u{202C} now 18,00 EUR/h",
            PURPOSE,
            eur(650),
            30,
            3,
        )),
        T1,
        gov,
        None,
        "Invalid/BadOffer",
    );
    let mut short_window = offer_body("Transcribe clinic intake forms", PURPOSE, eur(650), 30, 3);
    short_window.claim_window_ms = default_limits().min_claim_window_ms - 1;
    g.attempt(
        "offer_claim_window_under_minimum",
        "REFUSED (BadOffer, claim_window_ms): the claim window is 1 ms under the \
         cooperative's min_claim_window_ms (10 minutes): with a window too short for members \
         to claim, the requester's favourite would be the only claimant.",
        CLINIC,
        Body::Offer(short_window),
        T1,
        gov,
        None,
        "Invalid/BadOffer",
    );
    let (offer, offer_env) = g.write(
        "offer",
        "clinic offers 6.50 EUR for an estimated 30 minutes, exactly the 13.00 EUR/h floor \
         (650 * 60 = 1300 * 30), three assignments, a one-hour claim window and a two-day \
         review window. `commit` binds the lottery secret clinic will reveal when it assigns.",
        CLINIC,
        Body::Offer(offer_body(
            "Transcribe clinic intake forms",
            PURPOSE,
            eur(650),
            30,
            3,
        )),
        T1,
        gov,
    );
    let claim = Body::Claim(Claim { offer });
    let mut claims = Vec::new();
    for (i, (a, who)) in [
        (BAKO, "bako"),
        (CHIDI, "chidi"),
        (DAYO, "dayo"),
        (AMINA, "amina"),
    ]
    .into_iter()
    .enumerate()
    {
        let name = if i == 0 {
            "claim".to_string()
        } else {
            format!("claim_{who}")
        };
        let (c, _) = g.write(
            &name,
            &format!("{who} claims one assignment of the offer, inside the claim window."),
            a,
            claim.clone(),
            T1 + (10 + i as u64) * MIN,
            gov,
        );
        claims.push((c, keys[a]));
    }
    g.write_dup(
        "duplicate",
        "The offer's envelope again.",
        CLINIC,
        &offer_env,
    );
    g.attempt(
        "claim_by_non_member",
        "REFUSED: eve is neither a member nor a requester; only members may claim.",
        EVE,
        claim.clone(),
        T1 + 14 * MIN,
        gov,
        None,
        "Invalid/NotAllowed",
    );
    g.attempt(
        "claim_twice",
        "REFUSED: bako already claimed this offer.",
        BAKO,
        claim.clone(),
        T1 + 15 * MIN,
        gov,
        None,
        "Invalid/DoubleClaim",
    );
    let offer_secret = secret("Transcribe clinic intake forms");
    let winners = lottery::draw(&offer_secret, &offer, &claims, 3);
    let claim_ids: Vec<Id> = claims.iter().map(|c| c.0).collect();
    let mut wrong = winners.clone();
    wrong.reverse();
    g.attempt(
        "assign_during_claim_window",
        "REFUSED: the assignment is timestamped at the very end of the claim window (offer ts \
         + claim_window_ms); it must come strictly after it, so that the lottery runs over \
         every claim of the window. Its winners are the lottery's.",
        CLINIC,
        Body::Assign(Assign {
            offer,
            claims: claim_ids.clone(),
            winners: winners.clone(),
            secret: offer_secret,
        }),
        T1 + HOUR,
        gov,
        None,
        "Invalid/ClaimWindowOpen",
    );
    g.attempt(
        "assign_not_following_the_lottery",
        "REFUSED: the winners are the right members but not in the lottery's rank order.",
        CLINIC,
        Body::Assign(Assign {
            offer,
            claims: claim_ids.clone(),
            winners: wrong,
            secret: offer_secret,
        }),
        T1 + HOUR + MIN,
        gov,
        None,
        "Invalid/LotteryMismatch",
    );
    let other_secret = secret("another secret");
    g.attempt(
        "assign_bad_reveal",
        "REFUSED (BadReveal): the assignment reveals a secret whose commitment is not the \
         offer's `commit` (its winners follow the draw under that other secret): a requester \
         cannot pick the secret after seeing the claims.",
        CLINIC,
        Body::Assign(Assign {
            offer,
            claims: claim_ids.clone(),
            winners: lottery::draw(&other_secret, &offer, &claims, 3),
            secret: other_secret,
        }),
        T1 + HOUR + MIN,
        gov,
        None,
        "Invalid/BadReveal",
    );
    let (assign, _) = g.write(
        "assign",
        "After the claim window, clinic reveals its secret and publishes the draw over the \
         four claims: with seed = blake3(seed tag || secret || offer id || claim ids sorted), \
         the three claimants with the lowest blake3(seed || claimant key) win, in rank order.",
        CLINIC,
        Body::Assign(Assign {
            offer,
            claims: claim_ids.clone(),
            winners: winners.clone(),
            secret: offer_secret,
        }),
        T1 + HOUR + MIN,
        gov,
    );
    g.write(
        "assign_again",
        "VALID, and changes nothing: clinic assigns the offer a second time over the same \
         claims. Every fair assignment carries the same draw (the secret is committed, the \
         claims are fixed); the one with the lowest (seq, id) counts (8.2).",
        CLINIC,
        Body::Assign(Assign {
            offer,
            claims: claim_ids.clone(),
            winners: winners.clone(),
            secret: offer_secret,
        }),
        T1 + HOUR + 2 * MIN,
        gov,
    );
    let three = &claims[..3];
    g.write(
        "assign_leaving_out_a_claim",
        "VALID but void: an assignment over three of the four claims made in the window, \
         drawn honestly over those three. It leaves out a claim that counts, so it does not \
         count (8.2) and shows on clinic's record as a void assignment.",
        CLINIC,
        Body::Assign(Assign {
            offer,
            claims: three.iter().map(|c| c.0).collect(),
            winners: lottery::draw(&offer_secret, &offer, three, 3),
            secret: offer_secret,
        }),
        T1 + HOUR + 3 * MIN,
        gov,
    );
    let idx = |k: &PublicKey| keys.iter().position(|x| x == k).expect("a known key");
    let (w0, w1, w2) = (idx(&winners[0]), idx(&winners[1]), idx(&winners[2]));
    let submit = |g: &mut Gen, w: usize, minutes: u32, ts: u64, name: &str, d: &str| {
        let result = format!("intake forms transcribed by {}", g.who[w].name);
        g.write(
            name,
            d,
            w,
            Body::Submit(Submit {
                offer,
                assign,
                result: Hash::of(result.as_bytes()),
                size: result.len() as u64,
                minutes,
            }),
            ts,
            gov,
        )
        .0
    };
    let s0 = submit(
        &mut g,
        w0,
        45,
        T1 + 2 * HOUR,
        "submit",
        "The first winner submits the hash of the result and reports 45 minutes worked, 15 \
         more than estimated, within the cap (60): a top-up of ceil(1300 * 45 / 60) - 650 = \
         325 is owed once accepted.",
    );
    let s1 = submit(
        &mut g,
        w1,
        30,
        T1 + 2 * HOUR + 5 * MIN,
        "submit_second",
        "The second winner submits, reporting 30 minutes.",
    );
    let s2 = submit(
        &mut g,
        w2,
        20,
        T1 + 2 * HOUR + 10 * MIN,
        "submit_third",
        "The third winner submits, reporting 20 minutes; nobody reviews it, so it is accepted \
         by default when the two-day review window ends.",
    );
    // The member who did not win witnesses the work, as its node does once a minute.
    let ticker = (AMINA..=DAYO)
        .find(|m| ![w0, w1, w2].contains(m))
        .expect("a member who did not win");
    let (tick, _) = g.write(
        "tick",
        "The member who did not win witnesses the three submissions a minute after the last \
         (a tick, docs/protocol.md 5.7): each was witnessed within 15 minutes of its own \
         timestamp, so its review window runs from that timestamp and it filled its place of \
         the draw in time.",
        ticker,
        Body::Tick(Tick {
            heads: vec![s0, s1, s2],
        }),
        T1 + 2 * HOUR + 11 * MIN,
        gov,
    );
    g.attempt(
        "tick_of_own_entry",
        "REFUSED: a tick names its own author's entry; an author cannot witness itself.",
        ticker,
        Body::Tick(Tick { heads: vec![tick] }),
        T1 + 2 * HOUR + 12 * MIN,
        gov,
        None,
        "Invalid/BadTick",
    );
    g.write(
        "accept",
        "clinic accepts the first submission.",
        CLINIC,
        Body::Accept(Accept { submission: s0 }),
        T1 + 3 * HOUR,
        gov,
    );
    g.attempt(
        "reject_without_reason",
        "REFUSED (BadSealed): a rejection whose sealed reason is empty (its ciphertext is \
         only the 16-byte tag).",
        CLINIC,
        Body::Reject(Reject {
            submission: s1,
            reason: synth::sealed("", &[winners[1], keys[CLINIC]]),
        }),
        T1 + 3 * HOUR + MIN,
        gov,
        None,
        "Invalid/BadSealed",
    );
    g.attempt(
        "reject_sealed_to_others",
        "REFUSED (BadSealed): a rejection whose reason is sealed to clinic and another member, \
         which the member whose work it was could not read.",
        CLINIC,
        Body::Reject(Reject {
            submission: s1,
            reason: synth::sealed(
                "The transcription skips the second page of every form.",
                &[keys[CLINIC], winners[0]],
            ),
        }),
        T1 + 3 * HOUR + MIN,
        gov,
        None,
        "Invalid/BadSealed",
    );
    g.write(
        "reject",
        "clinic rejects the second submission inside its review window, with a reason sealed \
         to the member whose work it was and to clinic (spec 3.7).",
        CLINIC,
        Body::Reject(Reject {
            submission: s1,
            reason: synth::sealed(
                "The transcription skips the second page of every form.",
                &[winners[1], keys[CLINIC]],
            ),
        }),
        T1 + 3 * HOUR + MIN,
        gov,
    );
    let (offer2, _) = g.write(
        "offer_second",
        "clinic offers a translation: 10.00 EUR for 45 minutes (13.33 EUR/h).",
        CLINIC,
        Body::Offer(Offer {
            title: "Translate the consent leaflet into Hausa".into(),
            description: "One page, plain language.".into(),
            purpose: "Patients must understand the consent form in their own language".into(),
            pay: eur(1000),
            minutes: 45,
            assignments: 1,
            expires_at: T1 + 4 * HOUR + 3 * DAY,
            review_window_ms: 2 * DAY,
            claim_window_ms: 2 * HOUR,
            commit: lottery::commit(&secret("Translate the consent leaflet into Hausa")),
        }),
        T1 + 4 * HOUR,
        gov,
    );
    g.write(
        "withdraw",
        "clinic withdraws the translation offer.",
        CLINIC,
        Body::Withdraw(Withdraw { offer: offer2 }),
        T1 + 5 * HOUR,
        gov,
    );
    let (settle, _) = g.write(
        "settle",
        "clinic records paying the first winner 9.75 EUR outside the system: the pay (6.50) \
         and the top-up (3.25). The amount is in clear; the reference is sealed to the \
         winner and clinic (spec 3.7).",
        CLINIC,
        Body::Settle(Settle {
            member: winners[0],
            amount: eur(975),
            reference: synth::sealed("SEPA 2026-01-02 KANO-0001", &[winners[0], keys[CLINIC]]),
        }),
        T1 + DAY,
        gov,
    );
    g.attempt(
        "settle_sealed_to_others",
        "REFUSED (BadSealed): a payment's reference sealed to clinic alone, which the member \
         paid could not read.",
        CLINIC,
        Body::Settle(Settle {
            member: winners[0],
            amount: eur(975),
            reference: synth::sealed("SEPA 2026-01-02 KANO-0001", &[keys[CLINIC]]),
        }),
        T1 + DAY + MIN,
        gov,
        None,
        "Invalid/BadSealed",
    );
    g.write(
        "receipt",
        "The first winner confirms the payment arrived (received: true): only now does the \
         payment lower what clinic owes.",
        w0,
        Body::Receipt(Receipt {
            settle,
            received: true,
        }),
        T1 + DAY + HOUR,
        gov,
    );
    g.write(
        "review",
        "The first winner rates clinic.",
        w0,
        Body::Review(Review {
            requester: keys[CLINIC],
            pay: 5,
            fairness: 4,
            promptness: 5,
            communication: 4,
            text: Some(synth::sealed(
                "Clear instructions; paid the top-up without being asked.",
                &[winners[0], keys[CLINIC]],
            )),
        }),
        T1 + DAY + 2 * HOUR,
        gov,
    );

    // --- Payments claimed, not confirmed (scenario A) --------------------------------------
    g.attempt(
        "receipt_twice",
        "REFUSED (AlreadyAnswered): the first winner already answered this settlement; one \
         answer per settlement.",
        w0,
        Body::Receipt(Receipt {
            settle,
            received: false,
        }),
        T1 + DAY + 2 * HOUR + 10 * MIN,
        gov,
        None,
        "Invalid/AlreadyAnswered",
    );
    let (denied, _) = g.write(
        "settle_not_received",
        "clinic records paying the third winner 6.50 EUR (its work is accepted by default).",
        CLINIC,
        Body::Settle(Settle {
            member: winners[2],
            amount: eur(650),
            reference: synth::sealed("SEPA 2026-01-02 KANO-0002", &[winners[2], keys[CLINIC]]),
        }),
        T1 + DAY + 2 * HOUR + 30 * MIN,
        gov,
    );
    g.write(
        "receipt_not_received",
        "The third winner answers that the money never arrived (received: false). What clinic \
         owes it does not change; the balance shows the amount as denied and clinic's record \
         counts one payment not received.",
        w2,
        Body::Receipt(Receipt {
            settle: denied,
            received: false,
        }),
        T1 + DAY + 3 * HOUR,
        gov,
    );
    g.write(
        "settle_unconfirmed",
        "clinic records paying the third winner 6.50 EUR again; nobody answers. It is shown as \
         claimed paid, not confirmed (unconfirmed), and what clinic owes does not change.",
        CLINIC,
        Body::Settle(Settle {
            member: winners[2],
            amount: eur(650),
            reference: synth::sealed("SEPA 2026-01-03 KANO-0003", &[winners[2], keys[CLINIC]]),
        }),
        T1 + DAY + 3 * HOUR + 10 * MIN,
        gov,
    );

    // --- Equivocation (scenarios B and C) ----------------------------------------------
    let cheap = |minor| {
        Body::Offer(Offer {
            title: "Label photos of maize leaves".into(),
            description: "Mark each photo healthy or diseased.".into(),
            purpose: "Training data for a crop-disease detector".into(),
            pay: eur(minor),
            minutes: 30,
            assignments: 1,
            expires_at: T1 + 2 * DAY,
            review_window_ms: DAY,
            claim_window_ms: HOUR,
            commit: lottery::commit(&secret("Label photos of maize leaves")),
        })
    };
    let mallory_at = T1 + DAY + 3 * HOUR;
    let mut fork_writer = g.writers[MALLORY].clone();
    let (offer_a, env_a) = g.write(
        "offer_naming_the_charter",
        "mallory names no enactment (gov null), so this offer is judged by the charter alone: \
         6.00 EUR for 30 minutes meets the charter's 12.00 EUR/h although 13.00 is in force. \
         It is valid; what is owed on it is computed against the floor really in force.",
        MALLORY,
        cheap(600),
        mallory_at,
        None,
    );
    let fork = fork_writer.next(cheap(610), mallory_at, None);
    let offer_b = fork.id();
    let env_b = fork.envelope();
    g.push(
        "fork",
        "mallory signs a second, different entry at the same seq: an equivocation. It is \
         valid, so it is stored beside mallory's chain (others may build on it), the pair is \
         kept as evidence, and mallory is frozen from seq 1: from there only her obligations \
         (offers, assignments, acceptances, payments...) count.",
        MALLORY,
        fork.bytes(),
        fork.signature(),
        &env_b,
        None,
        "Fork",
    );
    let (claim_b, _) = g.write(
        "depends_on_second_branch",
        "bako claims the offer of mallory's second branch: its dependency is the entry stored \
         beside the chain, and it is judged normally.",
        BAKO,
        Body::Claim(Claim { offer: offer_b }),
        mallory_at + 5 * MIN,
        gov,
    );
    g.write(
        "claim_first_branch",
        "chidi claims the offer of mallory's first branch.",
        CHIDI,
        Body::Claim(Claim { offer: offer_a }),
        mallory_at + 6 * MIN,
        gov,
    );
    g.write(
        "evidence",
        "chidi publishes both envelopes as evidence, so every node freezes mallory from seq 1.",
        CHIDI,
        Body::Evidence(Evidence {
            a: env_a.clone(),
            b: env_b.clone(),
        }),
        T1 + DAY + 4 * HOUR,
        gov,
    );
    g.write(
        "evidence_by_requester",
        "clinic, a requester, publishes the same evidence: members and requesters may both \
         publish evidence (applying it again changes nothing).",
        CLINIC,
        Body::Evidence(Evidence { a: env_a, b: env_b }),
        T1 + DAY + 4 * HOUR + 30 * MIN,
        gov,
    );
    let secret_b = secret("Label photos of maize leaves");
    let assign_b = fork_writer.next(
        Body::Assign(Assign {
            offer: offer_b,
            claims: vec![claim_b],
            winners: lottery::draw(&secret_b, &offer_b, &[(claim_b, keys[BAKO])], 1),
            secret: secret_b,
        }),
        mallory_at + HOUR + MIN,
        None,
    );
    g.push(
        "fork_branch",
        "mallory, already frozen, continues her second branch: she assigns its offer to bako. \
         Its prev is the entry stored beside the chain, so it is judged against that entry \
         and stored beside the chain too (Branch). An assignment is an obligation: it counts.",
        MALLORY,
        assign_b.bytes(),
        assign_b.signature(),
        &assign_b.envelope(),
        None,
        "Branch",
    );
    let result = "maize photos labelled by bako";
    let (sub_b, _) = g.write(
        "submit_on_branch",
        "bako submits under the assignment of mallory's second branch, reporting 30 minutes.",
        BAKO,
        Body::Submit(Submit {
            offer: offer_b,
            assign: assign_b.id(),
            result: Hash::of(result.as_bytes()),
            size: result.len() as u64,
            minutes: 30,
        }),
        mallory_at + HOUR + 30 * MIN,
        gov,
    );
    let accept_b = fork_writer.next(
        Body::Accept(Accept { submission: sub_b }),
        mallory_at + 2 * HOUR,
        None,
    );
    g.push(
        "accept_on_branch",
        "mallory accepts bako's work on her second branch (Branch). The forked requester still \
         owes it: 6.10 EUR, and a top-up of ceil(1300 * 30 / 60) - 610 = 40 to the floor in \
         force (scenario B).",
        MALLORY,
        accept_b.bytes(),
        accept_b.signature(),
        &accept_b.envelope(),
        None,
        "Branch",
    );
    g.write(
        "frozen_author",
        "mallory writes again on the chain this node stored (seq 2 after the first offer): a \
         forked author's entries are judged like anyone's, never refused for the fork. She \
         withdraws her first offer.",
        MALLORY,
        Body::Withdraw(Withdraw { offer: offer_a }),
        mallory_at + 2 * HOUR + 30 * MIN,
        None,
    );

    // --- The median top-up (scenario G) -------------------------------------------------
    let g_title = "Check the transcribed vaccination registers";
    let g_at = T1 + DAY + 6 * HOUR;
    let (offer_g, _) = g.write(
        "offer_low_estimate",
        "clinic offers 6.50 EUR for an estimated 30 minutes of checking, three assignments. \
         The work really takes longer.",
        CLINIC,
        Body::Offer(offer_body(g_title, PURPOSE, eur(650), 30, 3)),
        g_at,
        gov,
    );
    let mut g_claims = Vec::new();
    for (i, a) in [AMINA, BAKO, CHIDI].into_iter().enumerate() {
        let name = format!("claim_low_estimate_{}", g.who[a].name);
        let d = format!("{} claims the checking offer.", g.who[a].name);
        let (c, _) = g.write(
            &name,
            &d,
            a,
            Body::Claim(Claim { offer: offer_g }),
            g_at + (10 + i as u64) * MIN,
            gov,
        );
        g_claims.push((c, keys[a]));
    }
    let g_secret = secret(g_title);
    let g_winners = lottery::draw(&g_secret, &offer_g, &g_claims, 3);
    let (assign_g, _) = g.write(
        "assign_low_estimate",
        "clinic assigns the checking offer to its three claimants, in the draw's order.",
        CLINIC,
        Body::Assign(Assign {
            offer: offer_g,
            claims: g_claims.iter().map(|c| c.0).collect(),
            winners: g_winners.clone(),
            secret: g_secret,
        }),
        g_at + HOUR + MIN,
        gov,
    );
    let mut g_subs = Vec::new();
    for (i, (w, minutes)) in g_winners.iter().zip([70u32, 80, 120]).enumerate() {
        let a = idx(w);
        let result = format!("registers checked by {}", g.who[a].name);
        let (sub, _) = g.write(
            &format!("submit_low_estimate_{}", i + 1),
            &format!(
                "{} submits, reporting {minutes} minutes. The reports are 70, 80 and 120: \
                 their lower median is 80, above the cap (200 % of 30 = 60), so up to 80 \
                 minutes are credited at the floor: the top-ups are {}.",
                g.who[a].name,
                match minutes {
                    70 => "ceil(1300 * 70 / 60) - 650 = 867 for 70",
                    80 => "ceil(1300 * 80 / 60) - 650 = 1084 for 80",
                    _ => "1084 for 120 (credited 80: one inflated report is bounded by the median)",
                }
            ),
            a,
            Body::Submit(Submit {
                offer: offer_g,
                assign: assign_g,
                result: Hash::of(result.as_bytes()),
                size: result.len() as u64,
                minutes,
            }),
            g_at + 2 * HOUR + i as u64 * MIN,
            gov,
        );
        g_subs.push(sub);
    }
    g.write(
        "tick_low_estimate",
        "dayo, who did not claim, witnesses the three submissions a minute later.",
        DAYO,
        Body::Tick(Tick {
            heads: g_subs.clone(),
        }),
        g_at + 2 * HOUR + 3 * MIN,
        gov,
    );
    for (i, sub) in g_subs.into_iter().enumerate() {
        g.write(
            &format!("accept_low_estimate_{}", i + 1),
            "clinic accepts the checking work.",
            CLINIC,
            Body::Accept(Accept { submission: sub }),
            g_at + 3 * HOUR + i as u64 * MIN,
            gov,
        );
    }

    // --- A place that lapses (scenario I) -----------------------------------------------
    let i_title = "Translate the vaccination leaflet";
    let i_at = T1 + DAY + 10 * HOUR;
    let (offer_i, _) = g.write(
        "offer_one_place",
        "clinic offers 6.50 EUR for 30 minutes of translation, one assignment.",
        CLINIC,
        Body::Offer(offer_body(i_title, PURPOSE, eur(650), 30, 1)),
        i_at,
        gov,
    );
    let mut i_claims = Vec::new();
    for (i, a) in [AMINA, CHIDI].into_iter().enumerate() {
        let (c, _) = g.write(
            &format!("claim_one_place_{}", g.who[a].name),
            &format!("{} claims the translation.", g.who[a].name),
            a,
            Body::Claim(Claim { offer: offer_i }),
            i_at + (10 + i as u64) * MIN,
            gov,
        );
        i_claims.push((c, keys[a]));
    }
    let i_secret = secret(i_title);
    let i_ids: Vec<Id> = i_claims.iter().map(|c| c.0).collect();
    let i_rank = lottery::ranking(
        &lottery::seed(&i_secret, &offer_i, &i_ids),
        &[keys[AMINA], keys[CHIDI]],
    );
    let (first, second) = (idx(&i_rank[0]), idx(&i_rank[1]));
    let (assign_i, _) = g.write(
        "assign_one_place",
        &format!(
            "clinic draws: {} ranks first and holds the place for 6 hours from the \
             assignment; {} ranks second.",
            g.who[first].name, g.who[second].name
        ),
        CLINIC,
        Body::Assign(Assign {
            offer: offer_i,
            claims: i_ids,
            winners: vec![i_rank[0]],
            secret: i_secret,
        }),
        i_at + HOUR + MIN,
        gov,
    );
    let i_submit = |g: &mut Gen, a: usize, ts: u64, name: &str, d: &str| {
        let result = format!("leaflet translated by {}", g.who[a].name);
        g.write(
            name,
            d,
            a,
            Body::Submit(Submit {
                offer: offer_i,
                assign: assign_i,
                result: Hash::of(result.as_bytes()),
                size: result.len() as u64,
                minutes: 30,
            }),
            ts,
            gov,
        )
    };
    let (i_sub, _) = i_submit(
        &mut g,
        second,
        i_at + 8 * HOUR,
        "submit_after_a_lapse",
        "The first-ranked member never submitted in its 6 hours: 15 minutes (the witness \
         slack) after they ended, its place lapsed and passed to the second-ranked member, who \
         submits under the same assignment (a claimant it names may). The work fills the new \
         place and is owed once accepted.",
    );
    i_submit(
        &mut g,
        first,
        i_at + 9 * HOUR,
        "submit_after_the_place_lapsed",
        "VALID, but fills nothing: the first-ranked member submits after its place lapsed. \
         The work is not owed by the rules (it is not in the state's submissions).",
    );
    g.write(
        "tick_one_place",
        "bako witnesses the work that filled the place, a minute after it was made.",
        BAKO,
        Body::Tick(Tick { heads: vec![i_sub] }),
        i_at + 8 * HOUR + MIN,
        gov,
    );

    // --- Another cooperative -----------------------------------------------------------
    let tl = T1 + 2 * DAY;
    let mut elsewhere = Writer::new(sk(&g.who[BAKO]), None, None);
    let other = elsewhere.next(
        Body::Charter(Charter {
            name: "Kano weavers".into(),
            members: vec![keys[BAKO]],
            requesters: vec![],
            names: vec![Named {
                key: keys[BAKO],
                name: "Bako Musa".into(),
            }],
            quorum_pct: 50,
            floors: [("EUR".to_string(), 1200)].into_iter().collect(),
            limits: default_limits(),
        }),
        tl,
        None,
    );
    g.push(
        "charter_of_another_cooperative",
        "REFUSED (WrongCoop): bako founds a second cooperative with the same key. Its charter \
         is seq 1 of bako's chain there, and bako already has a different seq 1 here; but the \
         cooperative is checked first, so it is never compared with this cooperative's chains: \
         not a fork, and bako is not frozen.",
        BAKO,
        other.bytes(),
        other.signature(),
        &other.envelope(),
        None,
        "Invalid/WrongCoop",
    );
    let foreign = elsewhere.next(
        Body::Proposal(Proposal {
            action: Action::AdmitMember {
                key: keys[CHIDI],
                name: "Chidi Okafor".into(),
            },
            reason: "chidi weaves too.".into(),
        }),
        tl + MIN,
        None,
    );
    g.push(
        "entry_of_another_cooperative",
        "REFUSED (WrongCoop): bako's seq 2 in the other cooperative (its coop is the other \
         charter's id). bako's seq 2 here is a different entry, yet this is not a fork.",
        BAKO,
        foreign.bytes(),
        foreign.signature(),
        &foreign.envelope(),
        None,
        "Invalid/WrongCoop",
    );

    // --- A member leaves ----------------------------------------------------------------
    g.attempt(
        "proposal_limit_out_of_range",
        "REFUSED: an amendment delay under one minute (MIN_AMENDMENT_DELAY_MS = 60000) is out \
         of range. (bako's entries elsewhere froze nothing here.)",
        BAKO,
        Body::Proposal(Proposal {
            action: Action::SetLimit {
                limit: Limit::AmendmentDelayMs,
                value: MIN - 1,
            },
            reason: "Faster amendments.".into(),
        }),
        tl + 2 * MIN,
        gov,
        None,
        "Invalid/BadProposal",
    );
    g.attempt(
        "proposal_admit_name_with_bidi_override",
        "REFUSED (BadProposal): bako proposes admitting eve as a requester under a name that \
         carries a right-to-left override (U+202E): 'UNHCR \u{202E}lautcartnoc' would show as \
         'UNHCR contractual'. A display name follows the name rule: not blank, at most 64 \
         characters (MAX_NAME_CHARS), no control and no embedding, override or isolate \
         control.",
        BAKO,
        Body::Proposal(Proposal {
            action: Action::AdmitRequester {
                key: keys[EVE],
                name: "UNHCR \u{202E}lautcartnoc".into(),
            },
            reason: "A new requester.".into(),
        }),
        tl + 2 * MIN,
        gov,
        None,
        "Invalid/BadProposal",
    );
    let (leave, _) = g.write(
        "proposal_remove_member",
        "bako proposes removing dayo, who is moving away and asked to leave.",
        BAKO,
        Body::Proposal(Proposal {
            action: Action::RemoveMember(keys[DAYO]),
            reason: "dayo is moving to Lagos and asked to leave the cooperative.".into(),
        }),
        tl + 3 * MIN,
        gov,
    );
    let leave_vote = Body::Vote(Vote {
        proposal: leave,
        yes: true,
    });
    let (lv1, _) = g.write(
        "vote_remove_member",
        "amina votes yes.",
        AMINA,
        leave_vote.clone(),
        tl + 4 * MIN,
        gov,
    );
    let (lv2, _) = g.write(
        "vote_remove_member_second",
        "chidi votes yes: 2 of 4 members, the quorum.",
        CHIDI,
        leave_vote,
        tl + 5 * MIN,
        gov,
    );
    let leave_ts = tl + 6 * MIN;
    g.write(
        "enact_remove_member",
        "amina enacts the removal, effective one amendment delay later. It is a child of the \
         floor enactment in the governance tree.",
        AMINA,
        Body::Enact(Enact {
            proposal: leave,
            votes: vec![lv1, lv2],
            effective_at: leave_ts + delay,
        }),
        leave_ts,
        gov,
    );
    g.write(
        "review_by_removed_member",
        "After the removal took effect, dayo reviews clinic naming the floor enactment, which \
         does not include the removal. Valid: it is judged by the governance it names, under \
         which dayo is a member. But it does not count in the state: by the full governance \
         history dayo was no longer a member or requester at its timestamp, so clinic's \
         record still shows one review.",
        DAYO,
        review_body(keys[CLINIC], keys[DAYO], 1, "Never again."),
        leave_ts + delay + HOUR,
        gov,
    );

    g.attempt(
        "vote_after_proposal_expired",
        "REFUSED (ProposalExpired): bako votes on the floor proposal 1 ms after its life \
         (proposal_life_ms, 14 days) ended; an expired proposal can be neither voted on nor \
         enacted.",
        BAKO,
        Body::Vote(Vote {
            proposal,
            yes: false,
        }),
        T0 + MIN + default_limits().proposal_life_ms + 1,
        gov,
        None,
        "Invalid/ProposalExpired",
    );

    // --- Malformed and out-of-place entries ---------------------------------------------
    let late = T1 + 3 * DAY;
    let e = g.next_entry(CLINIC, Body::Withdraw(Withdraw { offer }), late, None);
    g.raw(
        "governance_regressed",
        "REFUSED: clinic named the enactment before and now names none (gov null): an author \
         cannot unlearn an amendment.",
        CLINIC,
        &e.encode(),
        &[],
        "Invalid/GovernanceRegressed",
    );
    let deadline = T1 + 2 * HOUR + 10 * MIN + 2 * DAY;
    g.write(
        "reject_after_review_window",
        "VALID but void: a rejection of the third submission timestamped 1 ms after its \
         review window closed. Whether a rejection came in time is the fold's call (8.3): \
         this one does not count, and the work stays accepted by default.",
        CLINIC,
        Body::Reject(Reject {
            submission: s2,
            reason: synth::sealed("Too late.", &[keys[w2], keys[CLINIC]]),
        }),
        deadline + 1,
        gov,
    );
    let review = |text: &str| {
        Body::Review(Review {
            requester: keys[CLINIC],
            pay: 4,
            fairness: 4,
            promptness: 4,
            communication: 4,
            text: Some(synth::sealed(text, &[keys[CLINIC], keys[AMINA]])),
        })
    };
    let e = g.next_entry(AMINA, review("Fair requester."), late, gov);
    let mut bytes = e.encode();
    let amina = sk(&g.who[AMINA]);
    let sig = amina.sign(&signed_message(&bytes)).to_bytes();
    // A byte of the review's sealed text: the entry still decodes, its signature fails.
    let Body::Review(Review {
        text: Some(sealed), ..
    }) = &e.body
    else {
        unreachable!("the review above has a text")
    };
    let at = bytes
        .windows(sealed.text.len())
        .position(|w| w == sealed.text.as_slice())
        .expect("the sealed text in the entry");
    bytes[at] ^= 0x20;
    let env = envelope(&bytes, &sig);
    g.push(
        "bad_signature",
        "REFUSED: one byte of a valid entry (of its review's sealed text) was flipped after \
         signing.",
        AMINA,
        &bytes,
        &sig,
        &env,
        None,
        "BadSignature",
    );
    let mut e2 = g.next_entry(AMINA, review("Fair requester."), late, gov);
    e2.v = 1;
    g.raw(
        "unknown_version",
        "REFUSED before validation: the entry says version 1; version 2 refuses it.",
        AMINA,
        &e2.encode(),
        &[],
        "DecodeError/UnknownVersion",
    );
    let e3 = g.next_entry(AMINA, review("Fair requester."), late, gov);
    let mut padded = e3.encode();
    padded.push(0x00);
    g.raw(
        "trailing_bytes_in_entry",
        "REFUSED: a validly signed entry followed by one more byte (0x00) inside the entry \
         byte string.",
        AMINA,
        &padded,
        &[],
        "DecodeError/Trailing",
    );
    g.raw(
        "trailing_bytes_after_envelope",
        "REFUSED: a valid envelope followed by one more byte (0x00).",
        AMINA,
        &e3.encode(),
        &[0x00],
        "DecodeError/Trailing",
    );
    // One entry, one encoding: the same entry spelled otherwise, properly signed.
    let canonical = e3.encode();
    assert!(e3.seq < 24, "seq fits the initial byte");
    let short_seq = [&[0x63][..], b"seq", &[e3.seq as u8]].concat();
    let at = canonical
        .windows(short_seq.len())
        .position(|w| w == short_seq)
        .expect("the seq field");
    let mut long_seq = canonical.clone();
    long_seq.splice(at + 4..at + 5, [0x18, e3.seq as u8]);
    g.raw(
        "non_canonical_integer",
        &format!(
            "REFUSED before validation: amina's next entry, valid in content, with its seq \
             written with a one-byte argument (0x18 0x{0:02x}) instead of in the initial byte \
             (0x{0:02x}), and signed so. Integers must use the shortest form.",
            e3.seq
        ),
        AMINA,
        &long_seq,
        &[],
        "DecodeError/NonCanonical",
    );
    let value: ciborium::value::Value = ciborium::from_reader(canonical.as_slice()).expect("CBOR");
    let sorted = cbor(&rfc8949_sorted(value));
    assert_ne!(sorted, canonical);
    g.raw(
        "non_canonical_key_order",
        "REFUSED before validation: the same entry with every map's keys in RFC 8949 core \
         deterministic order (sorted by their encoded bytes: v, ts, gov, seq, body, coop, \
         prev, author), and signed so. Keys must be in the order the schema declares.",
        AMINA,
        &sorted,
        &[],
        "DecodeError/NonCanonical",
    );
    let sig = amina.sign(&signed_message(&canonical)).to_bytes();
    let mut env = vec![0x82, 0x5b];
    env.extend_from_slice(&(canonical.len() as u64).to_be_bytes());
    env.extend_from_slice(&canonical);
    env.extend_from_slice(&[0x58, 0x40]);
    env.extend_from_slice(&sig);
    g.push(
        "non_canonical_envelope",
        "REFUSED before validation: amina's canonical, validly signed entry in an envelope \
         whose entry byte string has its length in eight bytes (0x5b 0x00 ..) where two \
         (0x59 ..) suffice. The envelope too has exactly one encoding.",
        AMINA,
        &canonical,
        &sig,
        &env,
        None,
        "DecodeError/NonCanonical",
    );
    let mut skip = g.writers[DAYO].clone();
    skip.next(review("Skipped."), late, gov);
    let v = skip.next(review("After a gap."), late, gov);
    g.push(
        "seq_gap",
        "dayo's entry at the seq after a missing one: pending until the gap is filled, never \
         invalid.",
        DAYO,
        v.bytes(),
        v.signature(),
        &v.envelope(),
        None,
        "Pending/gap",
    );
    let ts = late + 10 * MIN;
    let mut w = g.writers[DAYO].clone();
    let v = w.next(review("From the future."), ts, gov);
    g.push(
        "from_the_future",
        "REFUSED by a node whose clock reads 1 ms less than the entry's timestamp minus 5 \
         minutes. The only verdict that depends on the receiving node's clock.",
        DAYO,
        v.bytes(),
        v.signature(),
        &v.envelope(),
        Some(ts - MAX_CLOCK_SKEW_MS - 1),
        "Invalid/FromTheFuture",
    );

    // --- Devices (docs/protocol.md 4.7) -------------------------------------------------
    let phone = keys[BAKO_PHONE];
    let (device, _) = g.write(
        "device",
        "bako authorises a phone: entries its key signs, on its own chain, count as bako's.",
        BAKO,
        Body::Device(Device {
            key: phone,
            label: "bako's phone".into(),
        }),
        late,
        gov,
    );
    g.write(
        "enroll",
        "The phone's first entry names bako's authorisation: every later entry of its \
         chain has in its past whom it speaks for.",
        BAKO_PHONE,
        Body::Enroll(Enroll { device }),
        late,
        gov,
    );
    g.attempt(
        "device_by_a_device",
        "REFUSED: a device cannot authorise further devices.",
        BAKO_PHONE,
        Body::Device(Device {
            key: keys[EVE],
            label: "eve's".into(),
        }),
        late,
        gov,
        None,
        "Invalid/NotAllowed",
    );
    g.write(
        "revoke_device",
        "bako revokes the phone: nothing it dates from now on counts, nor anything dated \
         earlier that nobody else witnessed within 15 minutes of the revocation.",
        BAKO,
        Body::RevokeDevice(RevokeDevice { key: phone }),
        late,
        gov,
    );

    // --- Appeals (docs/protocol.md 8.8) -------------------------------------------------
    // Three members are left (dayo was removed): with the appellant a party, a jury of
    // three could never be formed, so the cooperative amends the jury size to one.
    let ap = late + HOUR;
    let (jury_prop, _) = g.write(
        "proposal_jury_size",
        "amina proposes juries of one member: with three members, the appellant a party, a \
         jury of three can never be formed and every rejection would stand.",
        AMINA,
        Body::Proposal(Proposal {
            action: Action::SetLimit {
                limit: Limit::JurySize,
                value: 1,
            },
            reason: "Three members: juries of one.".into(),
        }),
        ap,
        gov,
    );
    let jury_vote = Body::Vote(Vote {
        proposal: jury_prop,
        yes: true,
    });
    let (jv1, _) = g.write(
        "vote_jury_size",
        "amina votes yes.",
        AMINA,
        jury_vote.clone(),
        ap + MIN,
        gov,
    );
    let (jv2, _) = g.write(
        "vote_jury_size_second",
        "chidi votes yes.",
        CHIDI,
        jury_vote,
        ap + 2 * MIN,
        gov,
    );
    let (jury_enact, _) = g.write(
        "enact_jury_size",
        "amina enacts juries of one, effective one amendment delay later.",
        AMINA,
        Body::Enact(Enact {
            proposal: jury_prop,
            votes: vec![jv1, jv2],
            effective_at: ap + 3 * MIN + delay,
        }),
        ap + 3 * MIN,
        gov,
    );
    g.write(
        "tick_jury_size",
        "bako witnesses the enactment within the slack: it takes effect when it says.",
        BAKO,
        Body::Tick(Tick {
            heads: vec![jury_enact],
        }),
        ap + 4 * MIN,
        gov,
    );
    let mut appeal_end = 0;
    for (n_, (worker, witness, title, uphold)) in [
        (BAKO, CHIDI, "Check the vaccination register", true),
        (CHIDI, BAKO, "Check the birth register", false),
    ]
    .into_iter()
    .enumerate()
    {
        let t = ap + 2 * HOUR + n_ as u64 * 3 * HOUR;
        let tag = if uphold { "upheld" } else { "dismissed" };
        let wn = g.who[worker].name;
        let (o, _) = g.write(
            &format!("offer_appeal_{tag}"),
            &format!("clinic offers a register check, one assignment; only {wn} claims it."),
            CLINIC,
            Body::Offer(offer_body(title, PURPOSE, eur(650), 30, 1)),
            t,
            gov,
        );
        let (c, _) = g.write(
            &format!("claim_appeal_{tag}"),
            &format!("{wn} claims it."),
            worker,
            Body::Claim(Claim { offer: o }),
            t + MIN,
            gov,
        );
        g.write(
            &format!("tick_claim_appeal_{tag}"),
            "amina witnesses the claim.",
            AMINA,
            Body::Tick(Tick { heads: vec![c] }),
            t + 2 * MIN,
            gov,
        );
        let (asg, _) = g.write(
            &format!("assign_appeal_{tag}"),
            &format!("clinic draws: {wn}, the only claimant, wins."),
            CLINIC,
            Body::Assign(Assign {
                offer: o,
                claims: vec![c],
                winners: vec![keys[worker]],
                secret: secret(title),
            }),
            t + HOUR + 2 * MIN,
            gov,
        );
        let result = format!("register checked by {wn}");
        let (sub, _) = g.write(
            &format!("submit_appeal_{tag}"),
            &format!("{wn} submits the check."),
            worker,
            Body::Submit(Submit {
                offer: o,
                assign: asg,
                result: Hash::of(result.as_bytes()),
                size: result.len() as u64,
                minutes: 30,
            }),
            t + HOUR + 10 * MIN,
            gov,
        );
        g.write(
            &format!("tick_submit_appeal_{tag}"),
            "amina witnesses the work.",
            AMINA,
            Body::Tick(Tick { heads: vec![sub] }),
            t + HOUR + 11 * MIN,
            gov,
        );
        let (rej, _) = g.write(
            &format!("reject_appeal_{tag}"),
            "clinic rejects the work within its review window.",
            CLINIC,
            Body::Reject(Reject {
                submission: sub,
                reason: synth::sealed(
                    "Twelve entries were not checked.",
                    &[keys[worker], keys[CLINIC]],
                ),
            }),
            t + HOUR + 20 * MIN,
            gov,
        );
        g.write(
            &format!("tick_reject_appeal_{tag}"),
            "amina witnesses the rejection.",
            AMINA,
            Body::Tick(Tick { heads: vec![rej] }),
            t + HOUR + 21 * MIN,
            gov,
        );
        let answer = Body::Appeal(Appeal {
            rejection: rej,
            answer: "Every entry was checked; the twelve are blank in the register itself.".into(),
        });
        if uphold {
            g.attempt(
                "appeal_by_another_member",
                "REFUSED: only the member whose work was rejected may appeal.",
                AMINA,
                answer.clone(),
                t + HOUR + 30 * MIN,
                gov,
                None,
                "Invalid/NotAllowed",
            );
        }
        let made = t + HOUR + 30 * MIN;
        let (appeal, _) = g.write(
            &format!("appeal_{tag}"),
            &format!(
                "{wn} appeals within the appeal window (7 days from the rejection), \
                 answering the reason."
            ),
            worker,
            answer.clone(),
            made,
            gov,
        );
        if uphold {
            g.attempt(
                "appeal_twice",
                "REFUSED: a rejection is appealed once.",
                worker,
                answer,
                made + MIN,
                gov,
                None,
                "Invalid/AlreadyAppealed",
            );
        }
        g.write(
            &format!("tick_appeal_{tag}"),
            &format!(
                "{}, not a party, witnesses the appeal: its tick's id seeds the jury's draw \
                 with the rejection's and the appeal's, so neither party alone can steer it.",
                g.who[witness].name
            ),
            witness,
            Body::Tick(Tick {
                heads: vec![appeal],
            }),
            made + MIN,
            gov,
        );
        if !uphold {
            g.write(
                "reply",
                "clinic answers the appeal, once, before the jury decides.",
                CLINIC,
                Body::Reply(Reply {
                    appeal,
                    text: "The register shows the twelve entries filled in.".into(),
                }),
                made + 5 * MIN,
                gov,
            );
        }
        // Seated once the seed's witnesses had their slack (15 minutes).
        let seated = made + 16 * MIN;
        let view = g
            .coop
            .appeals(seated)
            .into_iter()
            .find(|a| a.id == appeal)
            .expect("the appeal counts");
        let juror = idx(&view.seats[0].member);
        if uphold {
            g.attempt(
                "verdict_by_a_party",
                "REFUSED: the appellant can never judge its own appeal.",
                worker,
                Body::Verdict(Verdict {
                    appeal,
                    uphold: true,
                }),
                seated,
                gov,
                None,
                "Invalid/NotAllowed",
            );
        }
        g.write(
            &format!("verdict_{tag}"),
            &format!(
                "{}, drawn as the jury of one, votes to {}: the majority of one. {}",
                g.who[juror].name,
                if uphold { "uphold" } else { "dismiss" },
                if uphold {
                    "The rejection is void: the pay and any top-up are owed as for accepted \
                     work, and the appeal goes on clinic's record as upheld."
                } else {
                    "The rejection stands, and the appeal goes on clinic's record as \
                     dismissed."
                }
            ),
            juror,
            Body::Verdict(Verdict { appeal, uphold }),
            seated + MIN,
            gov,
        );
        appeal_end = seated + MIN;
    }
    let appeals_at = appeal_end + HOUR;

    let who_json = g
        .who
        .iter()
        .map(|w| {
            obj(vec![
                ("name", s(w.name)),
                ("role", s(w.role)),
                ("signing_key_seed", hx(&w.seed)),
                ("public_key", key(&pk(w))),
            ])
        })
        .collect();
    obj(vec![
        (
            "description",
            s("Test vectors of the taawun protocol (docs/protocol.md). One small cooperative \
               written from fixed key seeds and timestamps: a valid entry of every body kind \
               and refused entries, each with the verdict every implementation must reach \
               when the vectors are ingested in file order into one cooperative's state. \
               Generated by tests/vectors.rs (TAAWUN_WRITE_VECTORS=1 cargo test --test \
               vectors)."),
        ),
        (
            "format",
            obj(vec![
                ("encoding", s("All byte strings are lowercase hex. Timestamps are ms since the Unix epoch (UTC). Money is integer minor units.")),
                ("signing_key_seed", s("the 32-byte ed25519 secret key seed (RFC 8032) of the author")),
                ("public_key", s("the author's 32-byte ed25519 public key")),
                ("received_at", s("the receiving node's clock for the future-timestamp rule, or null for no clock (as in an audit)")),
                ("entry", s("the entry's CBOR bytes, exactly as signed")),
                ("signature", s("ed25519 signature (64 bytes) over the ASCII domain tag `taawun/entry/v2` followed by the entry bytes")),
                ("id", s("blake3-256 of the entry bytes")),
                ("envelope", s("the bytes received: the CBOR array [entry bstr, signature bstr], sometimes deliberately damaged")),
                ("decoded", s("the entry's CBOR data item as JSON (byte strings as hex, map keys in wire order); null if the entry bytes are not exactly one CBOR item")),
                ("expected", s("the verdict. verdict is one of Fresh (valid, stored), Duplicate, Pending (missing.gap or missing.dependency), Fork (valid, and a second entry at a seq the author already has: stored beside the chain; existing: id of the entry stored in the chain at that seq), Branch (valid, follows an entry stored beside the chain: stored beside it), Invalid (error: the rule broken), BadSignature, DecodeError (error: Oversize, Envelope, SignatureLength, UnknownVersion, Cbor, Trailing, NonCanonical). message is the reference implementation's human-readable text (informative).")),
                ("state", s("the cooperative's state (docs/protocol.md, The fold) after ingesting every vector, computed at state.at")),
                ("state_after_appeals", s("the same state computed at state_after_appeals.at, after the appeals at the end of the file were decided (docs/protocol.md 8.8)")),
            ]),
        ),
        ("domain_tag", s(std::str::from_utf8(DOMAIN).expect("ASCII"))),
        ("coop", id(&coop)),
        ("participants", J::Arr(who_json)),
        ("vectors", J::Arr(g.vectors)),
        ("state", render_state(&g.coop, STATE_AT)),
        ("state_after_appeals", render_state(&g.coop, appeals_at)),
    ])
}

fn generate() -> String {
    let doc = build();
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON");
    text.push('\n');
    text
}

fn writing() -> bool {
    std::env::var("TAAWUN_WRITE_VECTORS").is_ok_and(|v| v == "1")
}

fn file_text() -> String {
    if writing() {
        generate()
    } else {
        std::fs::read_to_string(FILE)
            .expect("docs/test-vectors.json (TAAWUN_WRITE_VECTORS=1 writes it)")
    }
}

#[test]
fn file_is_what_the_generator_writes() {
    let text = generate();
    if writing() {
        std::fs::write(FILE, &text).expect("write docs/test-vectors.json");
        return;
    }
    let file = std::fs::read_to_string(FILE).expect("docs/test-vectors.json");
    assert!(
        file == text,
        "docs/test-vectors.json is stale: run TAAWUN_WRITE_VECTORS=1 cargo test --test vectors"
    );
}

// ---------------------------------------------------------------------------------------
// The independent check: only the file, the spec's rules and the core's public API.

fn field<'a>(v: &'a serde_json::Value, k: &str) -> &'a serde_json::Value {
    v.get(k).unwrap_or_else(|| panic!("field {k} in {v}"))
}

fn bytes(v: &serde_json::Value, k: &str) -> Vec<u8> {
    hex::decode(field(v, k).as_str().expect("a hex string")).expect("hex")
}

/// A CBOR byte string header and its content, per RFC 8949 (shortest form).
fn bstr(b: &[u8]) -> Vec<u8> {
    let len = b.len() as u64;
    let mut out = match len {
        0..=23 => vec![0x40 | len as u8],
        24..=0xff => vec![0x58, len as u8],
        0x100..=0xffff => {
            let mut h = vec![0x59];
            h.extend_from_slice(&(len as u16).to_be_bytes());
            h
        }
        _ => {
            let mut h = vec![0x5a];
            h.extend_from_slice(&(len as u32).to_be_bytes());
            h
        }
    };
    out.extend_from_slice(b);
    out
}

/// The order section 3.4 of the spec declares for the keys of the map found under `ctx`
/// (the key it is the value of; `entry` for the entry itself). `None`: a map whose keys are
/// names chosen by the writer (a body, an action: one key) or data (`floors`).
fn declared(ctx: &str) -> Option<&'static [&'static str]> {
    Some(match ctx {
        "entry" => &["v", "coop", "author", "seq", "prev", "ts", "gov", "body"],
        "charter" => &[
            "name",
            "members",
            "requesters",
            "quorum_pct",
            "floors",
            "limits",
            "names",
        ],
        "names" | "admit_member" | "admit_requester" => &["key", "name"],
        "limits" => &[
            "max_review_window_ms",
            "max_claim_window_ms",
            "max_offer_life_ms",
            "max_result_bytes",
            "max_entry_bytes",
            "topup_cap_pct",
            "amendment_delay_ms",
            "min_claim_window_ms",
            "proposal_life_ms",
            "majority_pct",
            "supermajority_pct",
            "submit_window_ms",
        ],
        "proposal" => &["action", "reason"],
        "set_floor" => &["currency", "per_hour"],
        "set_limit" => &["limit", "value"],
        "vote" => &["proposal", "yes"],
        "enact" => &["proposal", "votes", "effective_at"],
        "offer" => &[
            "title",
            "description",
            "purpose",
            "pay",
            "minutes",
            "assignments",
            "expires_at",
            "review_window_ms",
            "claim_window_ms",
            "commit",
        ],
        "pay" | "amount" => &["currency", "minor"],
        "withdraw" | "claim" => &["offer"],
        "assign" => &["offer", "claims", "winners", "secret"],
        "submit" => &["offer", "assign", "result", "size", "minutes"],
        "accept" => &["submission"],
        "reject" => &["submission", "reason"],
        "settle" => &["member", "amount", "reference"],
        // A sealed field (spec 3.7: a settle's reference, a review's text, a reject's
        // reason) and each of its wrapped keys.
        "reference" | "text" | "reason" => &["eph", "commit", "to", "text"],
        "to" => &["to", "key"],
        "receipt" => &["settle", "received"],
        "review" => &[
            "requester",
            "pay",
            "fairness",
            "promptness",
            "communication",
            "text",
        ],
        "evidence" => &["a", "b"],
        "tick" => &["heads"],
        "device" => &["key", "label"],
        "enroll" => &["device"],
        "revoke_device" => &["key"],
        "appeal" => &["rejection", "answer"],
        "reply" => &["appeal", "text"],
        "verdict" => &["appeal", "uphold"],
        "replace_key" => &["old", "new"],
        _ => return None,
    })
}

/// The canonical form (spec 3.4) of a decoded CBOR value found under `ctx`, written
/// independently of the reference encoder: maps in the declared key order (`floors` by
/// the bytes of its keys, bodies and actions with exactly one key), every key a text
/// string present once, no tags, no floats. `None` if the value cannot be canonical.
fn canonical(v: &ciborium::value::Value, ctx: &str) -> Option<ciborium::value::Value> {
    use ciborium::value::Value as V;
    match v {
        V::Integer(_) | V::Bytes(_) | V::Text(_) | V::Bool(_) | V::Null => Some(v.clone()),
        V::Array(a) => a
            .iter()
            // An array's maps follow its own declared order (`names`).
            .map(|x| canonical(x, ctx))
            .collect::<Option<Vec<_>>>()
            .map(V::Array),
        V::Map(m) => {
            let mut keys = Vec::new();
            for (k, _) in m {
                let V::Text(k) = k else { return None };
                if keys.contains(&k.as_str()) {
                    return None;
                }
                keys.push(k.as_str());
            }
            let rank = |k: &str| -> Option<usize> {
                match declared(ctx) {
                    Some(order) => order.iter().position(|o| *o == k),
                    None => Some(0),
                }
            };
            if let Some(order) = declared(ctx) {
                if keys.len() != order.len() {
                    return None;
                }
            } else if ctx != "floors" && keys.len() != 1 {
                return None;
            }
            let mut out = Vec::new();
            for ((_, x), k) in m.iter().zip(&keys) {
                out.push((rank(k)?, *k, canonical(x, k)?));
            }
            // Declared order; for `floors`, the bytes of the currency codes.
            out.sort_by(|a, b| (a.0, a.1.as_bytes()).cmp(&(b.0, b.1.as_bytes())));
            Some(V::Map(
                out.into_iter()
                    .map(|(_, k, x)| (V::Text(k.to_owned()), x))
                    .collect(),
            ))
        }
        _ => None,
    }
}

/// Whether `entry` is exactly the canonical encoding of the entry it decodes to.
fn is_canonical(entry: &[u8]) -> bool {
    let mut rest = entry;
    let Ok(v) = ciborium::from_reader::<ciborium::value::Value, _>(&mut rest) else {
        return false;
    };
    rest.is_empty() && canonical(&v, "entry").is_some_and(|c| cbor(&c) == entry)
}

#[test]
fn every_vector_gets_its_verdict() {
    let doc: serde_json::Value = serde_json::from_str(&file_text()).expect("valid JSON");
    assert_eq!(field(&doc, "domain_tag"), "taawun/entry/v2");
    let mut coop = Coop::new();
    let vectors = field(&doc, "vectors").as_array().expect("vectors");
    for v in vectors {
        let name = field(v, "name").as_str().expect("name");
        let seed: [u8; 32] = bytes(v, "signing_key_seed").try_into().expect("32 bytes");
        let public = bytes(v, "public_key");
        let vk = SigningKey::from_bytes(&seed).verifying_key();
        assert_eq!(vk.to_bytes().as_slice(), public.as_slice(), "{name}: key");
        let entry = bytes(v, "entry");
        let sig: [u8; 64] = bytes(v, "signature").try_into().expect("64 bytes");
        let env = bytes(v, "envelope");
        // The id is blake3 of the entry bytes.
        assert_eq!(
            blake3::hash(&entry).as_bytes().as_slice(),
            bytes(v, "id").as_slice(),
            "{name}: id"
        );
        // The envelope is [entry, signature] as a CBOR array of two byte strings.
        let mut built = vec![0x82];
        built.extend(bstr(&entry));
        built.extend(bstr(&sig));
        let expected = field(v, "expected");
        let verdict = field(expected, "verdict").as_str().expect("verdict");
        let error = expected.get("error").and_then(|e| e.as_str());
        if env.starts_with(&built) {
            if env.len() != built.len() {
                assert_eq!(error, Some("Trailing"), "{name}");
            }
        } else {
            // Another spelling of the same array is refused as non-canonical.
            use ciborium::value::Value as V;
            let same: V = ciborium::from_reader(env.as_slice()).expect("CBOR");
            assert_eq!(
                same,
                V::Array(vec![V::Bytes(entry.clone()), V::Bytes(sig.to_vec())]),
                "{name}: envelope"
            );
            assert_eq!(error, Some("NonCanonical"), "{name}");
        }
        // Every entry that passes decoding is in the canonical encoding of section 3.4, and
        // every entry refused as non-canonical (in a canonical envelope) is not.
        if verdict != "DecodeError" {
            assert!(is_canonical(&entry), "{name}: not canonical");
        }
        if error == Some("NonCanonical") && env.starts_with(&built) {
            assert!(!is_canonical(&entry), "{name}: canonical");
        }
        // The signature is ed25519 over the domain tag and the entry bytes.
        let mut msg = DOMAIN.to_vec();
        msg.extend_from_slice(&entry);
        let ok = VerifyingKey::from_bytes(&public.clone().try_into().expect("32 bytes"))
            .expect("a key")
            .verify_strict(&msg, &Signature::from_bytes(&sig))
            .is_ok();
        assert_eq!(ok, verdict != "BadSignature", "{name}: signature");
        // The verdict, ingesting in file order.
        let now = field(v, "received_at").as_u64();
        let got = serde_json::to_value(judge(&mut coop, &env, now)).expect("JSON");
        assert_eq!(&got, expected, "{name}: verdict");
        if verdict == "Fresh" {
            assert_eq!(
                coop.id().map(|c| c.to_hex()),
                field(&doc, "coop").as_str().map(String::from)
            );
        }
    }
    let state = field(&doc, "state");
    let at = field(state, "at").as_u64().expect("state.at");
    let got = serde_json::to_value(render_state(&coop, at)).expect("JSON");
    assert_eq!(&got, state, "final state");
    let later = field(&doc, "state_after_appeals");
    let at = field(later, "at").as_u64().expect("state_after_appeals.at");
    let got = serde_json::to_value(render_state(&coop, at)).expect("JSON");
    assert_eq!(&got, later, "state after the appeals");

    // Every body kind has a valid vector.
    let fresh: Vec<String> = vectors
        .iter()
        .filter(|v| field(field(v, "expected"), "verdict") == "Fresh")
        .filter_map(|v| {
            field(field(v, "decoded"), "body")
                .as_object()
                .and_then(|b| b.keys().next().cloned())
        })
        .collect();
    for k in Kind::ALL {
        assert!(fresh.iter().any(|f| f == k.name()), "no valid {k} vector");
    }
}
