//! Deterministic synthetic cooperatives: a valid, realistic ledger from a seed.
//!
//! Used by tests (fold determinism, ledger round trips), benchmarks and the CLI. The same
//! seed and parameters always give the same bytes: keys come from a seeded generator and
//! timestamps from a simulated clock.

use crate::body::*;
use crate::entry::{Timestamp, Verified};
use crate::id::{Hash, Id, PublicKey};
use crate::lottery;
use crate::money::{floor_pay, Money};
use crate::rules::default_limits;
use crate::writer::Writer;
use ed25519_dalek::SigningKey;
use std::collections::BTreeMap;

/// A small, fast, seeded generator (SplitMix64). Not for keys anyone relies on: only for
/// reproducible test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.next_u64() % 100 < pct
    }

    /// 32 random bytes.
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        b
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Params {
    /// Seed of everything.
    pub seed: u64,
    /// Members (workers), founders included.
    pub members: usize,
    /// Requesters.
    pub requesters: usize,
    /// Stop after about this many entries.
    pub entries: usize,
    /// The simulated clock's start, ms since the epoch.
    pub start: Timestamp,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            seed: 1,
            members: 6,
            requesters: 2,
            entries: 200,
            start: 1_790_000_000_000,
        }
    }
}

/// A generated cooperative.
#[derive(Debug)]
pub struct Scenario {
    /// The cooperative's id.
    pub coop: Id,
    /// Every entry, in an order that respects each chain and every dependency.
    pub entries: Vec<Verified>,
    /// Member keys (the first is the founder).
    pub members: Vec<SigningKey>,
    /// Requester keys.
    pub requesters: Vec<SigningKey>,
    /// Keys of members who write nothing here ([`generate_with_witnesses`]).
    pub witnesses: Vec<SigningKey>,
    /// Device keys of members, each enrolled by the first entry of its own chain
    /// ([`generate_with_devices`]), with the member it speaks for.
    pub devices: Vec<(SigningKey, PublicKey)>,
    /// The clock after the last entry.
    pub end: Timestamp,
    /// The result bytes of every submission, by the submission's id (each `Submit` entry
    /// carries their size and blake3).
    pub results: BTreeMap<Id, Vec<u8>>,
}

/// The floor the synthetic charter sets: 12.00 EUR per hour.
pub const FLOOR_EUR: u64 = 1200;

struct Gen<'a> {
    rng: Rng,
    now: Timestamp,
    writers: BTreeMap<PublicKey, Writer>,
    gov: Option<Id>,
    written: usize,
    sink: &'a mut dyn FnMut(&Verified),
    /// Submissions' result bytes, when kept ([`generate`]; [`stream`] keeps none).
    results: Option<BTreeMap<Id, Vec<u8>>>,
}

impl Gen<'_> {
    fn write(&mut self, who: PublicKey, body: Body) -> Verified {
        self.now += self.rng.range(1_000, 30_000);
        let gov = self.gov;
        let w = self.writers.get_mut(&who).expect("writer for every key");
        let v = w.next(body, self.now, gov);
        self.written += 1;
        (self.sink)(&v);
        v
    }
}

/// What [`stream`] generated, besides the entries it handed out.
#[derive(Debug)]
pub struct Streamed {
    /// The cooperative's id.
    pub coop: Id,
    /// Entries written.
    pub entries: usize,
    /// The clock after the last entry.
    pub end: Timestamp,
}

/// Generates a valid cooperative: a charter, an amendment raising the floor, then offers
/// with claims, lottery assignments, submissions, acceptances, some rejections, default
/// acceptances, settlements, receipts and reviews.
pub fn generate(p: &Params) -> Scenario {
    generate_with_witnesses(p, 0)
}

/// [`generate`], with `witnesses` more members in the charter who write nothing: keys a
/// simulation's nodes sign their own entries with (evidence of a fork, say) without
/// touching the generated chains. Their keys come from a generator of their own, so the
/// other entries are those of [`generate`] with the same parameters except the charter
/// (which lists them) and what names it. At most as many as `p.members`, so that the
/// generated members still make the quorum.
pub fn generate_with_witnesses(p: &Params, witnesses: usize) -> Scenario {
    generate_with(
        p,
        &Extras {
            witnesses,
            ..Extras::default()
        },
    )
}

/// What a simulation adds to a generated cooperative ([`generate_with`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// Members in the charter who write nothing ([`generate_with_witnesses`]).
    pub witnesses: usize,
    /// Members' devices ([`generate_with_devices`]).
    pub devices: usize,
    /// Half the rejections are appealed: the member appeals at once, another member's
    /// tick witnesses the appeal, and the requester replies (docs/protocol.md 8.8). No
    /// juror votes here: the seats stay open for their vote window, then lapse.
    pub appeals: bool,
}

/// [`generate_with_witnesses`], with `devices` device keys of members besides: after the
/// floor is raised, member `i % members` authorises device `i` (a `device` entry) and the
/// device enrolls (an `enroll` entry, the first of its chain), so that the device speaks
/// for that member (protocol.md 4.7). Keys a simulation's nodes prove when there are more
/// nodes than members' and witnesses' keys: devices add no key to the charter, whose size
/// is bounded, and no voter to the quorum. Their keys come from a generator of their own;
/// with none, the entries are those of [`generate_with_witnesses`].
pub fn generate_with_devices(p: &Params, witnesses: usize, devices: usize) -> Scenario {
    generate_with(
        p,
        &Extras {
            witnesses,
            devices,
            ..Extras::default()
        },
    )
}

/// [`generate`] with `extras`: witnesses, devices and appeals. With none, the entries of
/// [`generate`].
pub fn generate_with(p: &Params, extras: &Extras) -> Scenario {
    let mut entries = Vec::with_capacity(p.entries + 16 + 2 * extras.devices);
    let extras = Extras {
        witnesses: extras.witnesses.min(p.members.max(1)),
        ..extras.clone()
    };
    let (s, keys, results) = run(p, &extras, true, &mut |v| entries.push(v.clone()));
    Scenario {
        coop: s.coop,
        entries,
        members: keys.members,
        requesters: keys.requesters,
        witnesses: keys.witnesses,
        devices: keys.devices,
        end: s.end,
        results,
    }
}

/// The same entries as [`generate`], handed to `sink` one at a time in order instead of
/// kept, so a ledger of millions of entries can be written with flat memory.
pub fn stream(p: &Params, sink: &mut dyn FnMut(&Verified)) -> Streamed {
    run(p, &Extras::default(), false, sink).0
}

/// The keys a run generated.
struct Keys {
    members: Vec<SigningKey>,
    requesters: Vec<SigningKey>,
    witnesses: Vec<SigningKey>,
    devices: Vec<(SigningKey, PublicKey)>,
}

/// What was generated (the entries were handed to `sink`), the keys and the results
/// (if kept).
type Generated = (Streamed, Keys, BTreeMap<Id, Vec<u8>>);

fn run(
    p: &Params,
    extras: &Extras,
    keep_results: bool,
    sink: &mut dyn FnMut(&Verified),
) -> Generated {
    let (witnesses, devices) = (extras.witnesses, extras.devices);
    let mut rng = Rng::new(p.seed);
    let members: Vec<SigningKey> = (0..p.members.max(1))
        .map(|_| SigningKey::from_bytes(&rng.bytes32()))
        .collect();
    let requesters: Vec<SigningKey> = (0..p.requesters.max(1))
        .map(|_| SigningKey::from_bytes(&rng.bytes32()))
        .collect();
    let mut own = Rng::new(p.seed ^ 0x5749_544e_4553_5345);
    let silent: Vec<SigningKey> = (0..witnesses)
        .map(|_| SigningKey::from_bytes(&own.bytes32()))
        .collect();
    let pk = |k: &SigningKey| PublicKey(k.verifying_key().to_bytes());
    let mut g = Gen {
        rng,
        now: p.start,
        writers: BTreeMap::new(),
        gov: None,
        written: 0,
        sink,
        results: keep_results.then(BTreeMap::new),
    };
    let founder = pk(&members[0]);
    g.writers
        .insert(founder, Writer::new(members[0].clone(), None, None));
    let charter = g.write(
        founder,
        Body::Charter(Charter {
            name: format!("Synthetic cooperative {}", p.seed),
            members: members.iter().chain(&silent).map(pk).collect(),
            requesters: requesters.iter().map(pk).collect(),
            names: (members.iter().enumerate())
                .map(|(i, k)| (k, format!("Member {i}")))
                .chain((requesters.iter().enumerate()).map(|(i, k)| (k, format!("Requester {i}"))))
                .chain((silent.iter().enumerate()).map(|(i, k)| (k, format!("Witness {i}"))))
                .map(|(k, name)| Named { key: pk(k), name })
                .collect(),
            quorum_pct: 50,
            floors: [("EUR".to_string(), FLOOR_EUR)].into_iter().collect(),
            limits: default_limits(),
        }),
    );
    let coop = charter.id();
    for k in members.iter().skip(1).chain(&requesters) {
        g.writers
            .insert(pk(k), Writer::new(k.clone(), Some(coop), None));
    }
    // Governance: raise the floor to 13.00 EUR/h, passed by a quorum.
    let raised = FLOOR_EUR + 100;
    let prop = g.write(
        founder,
        Body::Proposal(Proposal {
            action: Action::SetFloor {
                currency: "EUR".into(),
                per_hour: raised,
            },
            reason: "living costs rose".into(),
        }),
    );
    let needed = ((members.len() + silent.len()) * 50)
        .div_ceil(100)
        .clamp(1, members.len());
    let mut votes = Vec::new();
    for k in members.iter().take(needed) {
        let v = g.write(
            pk(k),
            Body::Vote(Vote {
                proposal: prop.id(),
                yes: true,
            }),
        );
        votes.push(v.id());
    }
    let effective_at = g.now + default_limits().amendment_delay_ms + 60_000;
    let enact = g.write(
        founder,
        Body::Enact(Enact {
            proposal: prop.id(),
            votes,
            effective_at,
        }),
    );
    g.gov = Some(enact.id());

    // Devices: each authorised by a member, then enrolled by its own first entry.
    let mut own_devices = Rng::new(p.seed ^ 0x4445_5649_4345_5321);
    let mut device_keys = Vec::with_capacity(devices);
    for i in 0..devices {
        let key = SigningKey::from_bytes(&own_devices.bytes32());
        let member = pk(&members[i % members.len()]);
        let authorised = g.write(
            member,
            Body::Device(Device {
                key: pk(&key),
                label: format!("Node {i}"),
            }),
        );
        g.writers
            .insert(pk(&key), Writer::new(key.clone(), Some(coop), None));
        g.write(
            pk(&key),
            Body::Enroll(Enroll {
                device: authorised.id(),
            }),
        );
        device_keys.push((key, member));
    }

    let member_keys: Vec<PublicKey> = members.iter().map(pk).collect();
    let requester_keys: Vec<PublicKey> = requesters.iter().map(pk).collect();
    let mut offer_n = 0u64;
    while g.written < p.entries {
        offer_n += 1;
        let req = requester_keys[(g.rng.next_u64() as usize) % requester_keys.len()];
        let minutes = g.rng.range(5, 60) as u32;
        let least = floor_pay(u64::from(minutes), raised);
        let pay = least + g.rng.range(0, least / 2 + 1);
        let assignments = g.rng.range(1, 3) as u32;
        let claim_window_ms = 10 * 60 * 1000;
        let review_window_ms = 24 * 60 * 60 * 1000;
        let secret = Hash(g.rng.bytes32());
        let offer = g.write(
            req,
            Body::Offer(Offer {
                title: format!("Task {offer_n}"),
                description: "Label each image with the objects it shows.".into(),
                purpose: "Training data for a crop-disease detector used by farmers".into(),
                pay: Money::new("EUR", pay),
                minutes,
                assignments,
                expires_at: g.now + 7 * 24 * 60 * 60 * 1000,
                review_window_ms,
                claim_window_ms,
                commit: lottery::commit(&secret),
            }),
        );
        let offer_ts = offer.entry().ts;
        // Claims inside the window.
        let n_claims = g.rng.range(1, member_keys.len().min(5) as u64) as usize;
        let start = (g.rng.next_u64() as usize) % member_keys.len();
        let mut claims = Vec::new();
        for i in 0..n_claims {
            let m = member_keys[(start + i) % member_keys.len()];
            if g.now + 30_000 > offer_ts + claim_window_ms {
                break;
            }
            let c = g.write(m, Body::Claim(Claim { offer: offer.id() }));
            claims.push((c.id(), m));
        }
        if g.rng.chance(3) {
            g.write(req, Body::Withdraw(Withdraw { offer: offer.id() }));
            continue;
        }
        g.now = g.now.max(offer_ts + claim_window_ms);
        let winners = lottery::draw(&secret, &offer.id(), &claims, assignments);
        let assign = g.write(
            req,
            Body::Assign(Assign {
                offer: offer.id(),
                claims: claims.iter().map(|c| c.0).collect(),
                winners: winners.clone(),
                secret,
            }),
        );
        let mut owed: BTreeMap<PublicKey, u64> = BTreeMap::new();
        let worked: Vec<u32> = winners
            .iter()
            .map(|_| (u64::from(minutes) * g.rng.range(70, 140) / 100).max(1) as u32)
            .collect();
        // The top-up credits at least the lower median of the minutes reported.
        let mut sorted = worked.clone();
        sorted.sort_unstable();
        let median = sorted
            .get(sorted.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(0);
        for (w, &worked) in winners.iter().zip(&worked) {
            let result = g.rng.bytes32();
            let sub = g.write(
                *w,
                Body::Submit(Submit {
                    offer: offer.id(),
                    assign: assign.id(),
                    result: Hash::of(&result),
                    size: 32,
                    minutes: worked,
                }),
            );
            if let Some(r) = &mut g.results {
                r.insert(sub.id(), result.to_vec());
            }
            let roll = g.rng.next_u64() % 100;
            if roll < 80 {
                g.write(
                    req,
                    Body::Accept(Accept {
                        submission: sub.id(),
                    }),
                );
            } else if roll < 90 {
                let rejection = g.write(
                    req,
                    Body::Reject(Reject {
                        submission: sub.id(),
                        // Sealed to both parties, from a seed derived from the
                        // submission, so a synthetic ledger is the same on every run.
                        reason: crate::seal::seal_text(
                            "The labels do not match the images.",
                            &[*w, req],
                            blake3::derive_key("taawun synth reject seal", sub.id().as_bytes()),
                        )
                        .expect("synthetic keys are acceptable and texts short"),
                    }),
                );
                // Drawn only with appeals on, so that without them nothing changes.
                if extras.appeals && g.rng.chance(50) {
                    appeal(&mut g, &rejection, *w, req, &member_keys);
                }
                continue;
            } else {
                // Left to be accepted by default.
                continue;
            }
            let due = pay + crate::fold::topup(pay, minutes, worked, median, raised, 200);
            *owed.entry(*w).or_default() += due;
        }
        for (m, amount) in owed {
            if g.rng.chance(85) {
                let s = g.write(
                    req,
                    Body::Settle(Settle {
                        member: m,
                        amount: Money::new("EUR", amount),
                        // Sealed to both parties; the seed is derived, not random,
                        // so that a synthetic cooperative is the same on every run.
                        reference: crate::seal::seal_text(
                            &format!("MM-{}-{}", offer_n, m.short()),
                            &[m, req],
                            blake3::derive_key(
                                "taawun synth seal",
                                &[&offer_n.to_le_bytes()[..], m.as_bytes()].concat(),
                            ),
                        )
                        .expect("synthetic keys are acceptable and texts short"),
                    }),
                );
                if g.rng.chance(90) {
                    g.write(
                        m,
                        Body::Receipt(Receipt {
                            settle: s.id(),
                            received: true,
                        }),
                    );
                }
                if g.rng.chance(20) {
                    let score = g.rng.range(3, 5) as u8;
                    let promptness = g.rng.range(2, 5) as u8;
                    g.write(
                        m,
                        Body::Review(Review {
                            requester: req,
                            pay: score,
                            fairness: score,
                            promptness,
                            communication: 4,
                            // Sealed to both parties, from a derived seed as above.
                            text: Some(
                                crate::seal::seal_text(
                                    "Clear instructions, paid on time.",
                                    &[m, req],
                                    blake3::derive_key(
                                        "taawun synth review seal",
                                        &[&offer_n.to_le_bytes()[..], m.as_bytes()].concat(),
                                    ),
                                )
                                .expect("synthetic keys are acceptable and texts short"),
                            ),
                        }),
                    );
                }
            }
        }
    }
    let s = Streamed {
        coop,
        entries: g.written,
        end: g.now,
    };
    let results = g.results.take().unwrap_or_default();
    let keys = Keys {
        members,
        requesters,
        witnesses: silent,
        devices: device_keys,
    };
    (s, keys, results)
}

/// `worker` appeals `rejection` at once; another member's tick witnesses the appeal (the
/// draw of the jury needs one); the requester replies.
fn appeal(
    g: &mut Gen<'_>,
    rejection: &Verified,
    worker: PublicKey,
    req: PublicKey,
    members: &[PublicKey],
) {
    let appeal = g.write(
        worker,
        Body::Appeal(Appeal {
            rejection: rejection.id(),
            answer: "Every image is labelled; the second batch shows the blight.".into(),
        }),
    );
    if let Some(witness) = members.iter().find(|m| **m != worker) {
        g.write(
            *witness,
            Body::Tick(Tick {
                heads: vec![appeal.id()],
            }),
        );
    }
    g.write(
        req,
        Body::Reply(Reply {
            appeal: appeal.id(),
            text: "The labels missed the rust on the leaves.".into(),
        }),
    );
}

/// `text` sealed to `to` with a seed derived from both, for tests and benchmarks that
/// need a well-formed sealed field and the same bytes on every run. A node seals with
/// fresh random bytes ([`crate::seal::seal_text`]); a seed anyone can derive would let
/// anyone who guesses the text confirm it.
pub fn sealed(text: &str, to: &[PublicKey]) -> crate::seal::Sealed {
    let mut material = text.as_bytes().to_vec();
    for k in to {
        material.extend_from_slice(k.as_bytes());
    }
    crate::seal::seal(text, to, blake3::derive_key("taawun synth seal", &material))
        .expect("synthetic recipients are acceptable keys and texts short")
}
