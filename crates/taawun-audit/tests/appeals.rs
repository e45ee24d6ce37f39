//! The audit re-derives appeals (docs/protocol.md 8.8) from the export file alone: an
//! appeal upheld by its jury, one dismissed, one nobody but the requester witnessed (no
//! jury: the rejection stands) and one whose jurors all let their turn pass (upheld by
//! default). Its balances and records must equal the reference fold's, its report must
//! count each ending, and an upheld appeal whose pay was never made must show as owed.
//! Jurors voting from their devices: a live device's vote is its member's, and a vote
//! signed by a device after its member revoked it counts for nobody, in both.

mod agree;

use ed25519_dalek::SigningKey;
use std::collections::BTreeMap;
use taawun_core::appeal::{Outcome, SeatState};
use taawun_core::body::{
    Appeal, Assign, Body, Charter, Claim, Device, Enroll, Named, Offer, Reject, RevokeDevice,
    Submit, Tick,
};
use taawun_core::fold::Coop;
use taawun_core::id::Hash;
use taawun_core::lottery;
use taawun_core::money::Money;
use taawun_core::rules::default_limits;
use taawun_core::writer::Writer;
use taawun_core::{Id, PublicKey, Verified};
use taawun_ledger::export::header_bytes;

const T0: u64 = 1_790_000_000_000;
const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;
const SECRET: Hash = Hash([42; 32]);
/// Members are seeds 1..=7; 7 is also the requester.
const R: u8 = 7;
/// Member `n`'s device is seed `DEVICE + n`.
const DEVICE: u8 = 100;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn pk(n: u8) -> PublicKey {
    PublicKey(key(n).verifying_key().to_bytes())
}

struct Ledger {
    coop: Coop,
    id: Id,
    /// By seed: members, and the devices authorised so far.
    writers: BTreeMap<u8, Writer>,
    entries: Vec<Verified>,
}

impl Ledger {
    fn new() -> Self {
        let mut w1 = Writer::new(key(1), None, None);
        let charter = w1.next(
            Body::Charter(Charter {
                name: "Coop".into(),
                members: (1..=7).map(pk).collect(),
                requesters: vec![],
                names: (1..=7)
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
        coop.ingest(charter.clone(), None).expect("charter");
        let mut writers = BTreeMap::from([(1, w1)]);
        writers.extend((2..=7).map(|n| (n, Writer::new(key(n), Some(id), None))));
        Ledger {
            coop,
            id,
            writers,
            entries: vec![charter],
        }
    }

    fn put(&mut self, who: u8, body: Body, ts: u64) -> Verified {
        let v = self
            .writers
            .get_mut(&who)
            .expect("a member or an authorised device")
            .next(body, ts, None);
        self.coop.ingest(v.clone(), None).expect("valid");
        self.entries.push(v.clone());
        v
    }

    /// Member `m` authorises its device (seed `DEVICE + m`) at `ts`, which enrolls a
    /// second later.
    fn device(&mut self, m: u8, ts: u64) {
        let d = self.put(
            m,
            Body::Device(Device {
                key: pk(DEVICE + m),
                label: "phone".into(),
            }),
            ts,
        );
        self.writers.insert(
            DEVICE + m,
            Writer::new(key(DEVICE + m), Some(self.id), None),
        );
        self.put(
            DEVICE + m,
            Body::Enroll(Enroll { device: d.id() }),
            ts + 1_000,
        );
    }

    fn tick(&mut self, who: u8, heads: Vec<Id>, ts: u64) {
        self.put(who, Body::Tick(Tick { heads }), ts);
    }

    /// Members 2 and 3 claim a one-place offer posted at `t`; the winner's work is
    /// rejected and appealed; returns (worker, appeal). `witness`: who ticks the appeal.
    fn appealed(&mut self, title: &str, t: u64, witness: u8) -> (u8, Verified) {
        let offer = self.put(
            R,
            Body::Offer(Offer {
                title: title.into(),
                description: "Ten short clips".into(),
                purpose: "Subtitles for a community radio".into(),
                pay: Money::new("EUR", 300),
                minutes: 15,
                assignments: 1,
                expires_at: t + 30 * DAY,
                review_window_ms: DAY,
                claim_window_ms: 10 * MIN,
                commit: lottery::commit(&SECRET),
            }),
            t,
        );
        let c2 = self.put(2, Body::Claim(Claim { offer: offer.id() }), t + MIN);
        let c3 = self.put(3, Body::Claim(Claim { offer: offer.id() }), t + 2 * MIN);
        self.tick(R, vec![c2.id(), c3.id()], t + 3 * MIN);
        let claims = [(c2.id(), pk(2)), (c3.id(), pk(3))];
        let winners = lottery::draw(&SECRET, &offer.id(), &claims, 1);
        let worker = if winners == vec![pk(2)] { 2 } else { 3 };
        let assign = self.put(
            R,
            Body::Assign(Assign {
                offer: offer.id(),
                claims: vec![c2.id(), c3.id()],
                winners,
                secret: SECRET,
            }),
            t + 11 * MIN,
        );
        let sub = self.put(
            worker,
            Body::Submit(Submit {
                offer: offer.id(),
                assign: assign.id(),
                result: Hash::of(b"result"),
                size: 6,
                // Five minutes over the estimate: a top-up is owed with the pay.
                minutes: 20,
            }),
            t + 20 * MIN,
        );
        self.tick(R, vec![sub.id()], t + 21 * MIN);
        let rej = self.put(
            R,
            Body::Reject(Reject {
                submission: sub.id(),
                reason: taawun_core::synth::sealed(
                    "the clips are not transcribed",
                    &[pk(worker), pk(R)],
                ),
            }),
            t + 30 * MIN,
        );
        self.tick(1, vec![rej.id()], t + 31 * MIN);
        let a = self.put(
            worker,
            Body::Appeal(Appeal {
                rejection: rej.id(),
                answer: "all ten clips are in the file".into(),
            }),
            t + 40 * MIN,
        );
        self.tick(witness, vec![a.id()], t + 41 * MIN);
        (worker, a)
    }

    fn jury(&self, a: &Verified, now: u64) -> Vec<u8> {
        let v = self
            .coop
            .appeals(now)
            .into_iter()
            .find(|x| x.id == a.id())
            .expect("the appeal counts");
        v.seats
            .iter()
            .map(|s| (1..=7).find(|n| pk(*n) == s.member).expect("a member"))
            .collect()
    }

    /// A juror's vote, witnessed by the requester's node within the slack: a vote
    /// first witnessed late is taken to have been made late (5.7).
    fn vote(&mut self, who: u8, a: &Verified, uphold: bool, ts: u64) {
        let v = self.put(
            who,
            Body::Verdict(taawun_core::body::Verdict {
                appeal: a.id(),
                uphold,
            }),
            ts,
        );
        self.tick(R, vec![v.id()], ts + MIN);
    }

    fn file(&self) -> Vec<u8> {
        let mut b = header_bytes(&self.id);
        for v in &self.entries {
            b.extend_from_slice(&v.envelope());
        }
        b
    }
}

#[test]
fn the_audit_derives_every_ending_of_an_appeal_as_a_node_does() {
    let mut l = Ledger::new();
    // Upheld by two of three jurors.
    let t = T0 + MIN;
    let (w_up, up) = l.appealed("Transcribe A", t, 1);
    let seated = t + 40 * MIN + 16 * MIN;
    let jury = l.jury(&up, seated);
    l.vote(jury[0], &up, true, seated + MIN);
    l.vote(jury[1], &up, true, seated + 2 * MIN);
    // Dismissed by two of three.
    let t = T0 + 2 * DAY;
    let (_, down) = l.appealed("Transcribe B", t, 4);
    let seated = t + 40 * MIN + 16 * MIN;
    let jury = l.jury(&down, seated);
    l.vote(jury[0], &down, false, seated + MIN);
    l.vote(jury[1], &down, true, seated + 2 * MIN);
    l.vote(jury[2], &down, false, seated + 3 * MIN);
    // Witnessed by the requester only: no jury can be drawn, the rejection stands.
    let t = T0 + 3 * DAY;
    l.appealed("Transcribe C", t, R);
    // Nobody votes: every seat lapses, then the fourth eligible member's.
    let t = T0 + 4 * DAY;
    let (w_default, _) = l.appealed("Transcribe D", t, 5);
    // The audit judges at its last entry: a tick long after every window.
    let last = l.entries.last().expect("entries").id();
    l.tick(6, vec![last], T0 + 40 * DAY);

    let report = agree::audit(&l.file());
    assert!(report.verdict.is_clean(), "{:?}", report.violations);
    agree::assert_agrees(&report, &l.coop);
    let a = &report.appeals;
    assert_eq!(
        (
            a.appeals,
            a.upheld,
            a.dismissed,
            a.no_jury,
            a.upheld_by_default,
            a.open
        ),
        (4, 1, 1, 1, 1, 0),
        "{a:?}"
    );
    // The upheld appeals' pay was never made: it shows as owed to their workers (pay
    // and top-up, 4.00 each), and nothing for the work whose rejection stands.
    let owed = |w: u8| -> u64 {
        report
            .balances
            .iter()
            .filter(|b| b.member == pk(w).to_hex() && b.requester == pk(R).to_hex())
            .map(|b| b.owed)
            .sum()
    };
    let each = if w_up == w_default { 800 } else { 400 };
    assert_eq!((owed(w_up), owed(w_default)), (each, each));
    assert_eq!(owed(2) + owed(3), 800);
    let rec = report
        .requesters
        .iter()
        .find(|r| r.requester == pk(R).to_hex())
        .expect("the requester's record");
    assert_eq!(
        (rec.appeals, rec.appeals_upheld, rec.appeals_dismissed),
        (4, 2, 1)
    );
    assert!(report.to_string().contains(
        "appeals: 4 (1 upheld, 1 upheld by default, 1 dismissed, 1 without a jury, 0 open)"
    ));
}

#[test]
fn a_vote_from_a_revoked_device_counts_for_nobody_in_the_fold_and_the_audit() {
    let mut l = Ledger::new();
    let t = T0 + MIN;
    let (worker, a) = l.appealed("Transcribe E", t, 1);
    // The jury sits 15 minutes after the appeal (made at t + 40 min).
    let from = t + 40 * MIN + 15 * MIN;
    let seated = from + MIN;
    let jury = l.jury(&a, seated);
    assert_eq!(jury.len(), 3);
    // Eligible: every member but the requester and the two who claimed the offer.
    let fourth = [1, 4, 5, 6]
        .into_iter()
        .find(|m| !jury.contains(m))
        .expect("a fourth eligible member");
    // The first two jurors authorise a phone each; the first one's is lost and revoked.
    l.device(jury[0], seated + MIN);
    l.device(jury[1], seated + 2 * MIN);
    l.put(
        jury[0],
        Body::RevokeDevice(RevokeDevice {
            key: pk(DEVICE + jury[0]),
        }),
        seated + 5 * MIN,
    );
    // Whoever holds the lost phone dismisses in the first juror's name: it counts for
    // nobody. The second juror upholds from its phone (its own vote), the third dismisses.
    l.vote(DEVICE + jury[0], &a, false, seated + 10 * MIN);
    l.vote(DEVICE + jury[1], &a, true, seated + 11 * MIN);
    l.vote(jury[2], &a, false, seated + 12 * MIN);
    // The first juror's seat lapses (3 days, then the slack): it passes to the fourth
    // member of the ranking, who upholds.
    let lapse = from + 3 * DAY + 15 * MIN;
    l.vote(fourth, &a, true, lapse + HOUR);
    let last = l.entries.last().expect("entries").id();
    l.tick(6, vec![last], T0 + 40 * DAY);

    // The fold: the lost phone's vote left the first seat unvoted; two of three uphold.
    let now = T0 + 40 * DAY;
    let v = l
        .coop
        .appeals(now)
        .into_iter()
        .find(|x| x.id == a.id())
        .expect("the appeal counts");
    let seat = |m: u8| v.seats.iter().find(|s| s.member == pk(m)).map(|s| s.state);
    assert_eq!(seat(jury[0]), Some(SeatState::Lapsed), "{v:?}");
    assert!(
        matches!(seat(jury[1]), Some(SeatState::Voted { uphold: true, .. })),
        "{v:?}"
    );
    assert!(
        matches!(seat(fourth), Some(SeatState::Voted { uphold: true, .. })),
        "{v:?}"
    );
    assert_eq!((v.uphold, v.dismiss), (2, 1), "{v:?}");
    assert!(matches!(v.outcome, Outcome::Upheld { .. }), "{v:?}");

    // The audit: the same ending, the same records and balances.
    let report = agree::audit(&l.file());
    assert!(report.verdict.is_clean(), "{:?}", report.violations);
    agree::assert_agrees(&report, &l.coop);
    let st = &report.appeals;
    assert_eq!(
        (st.appeals, st.upheld, st.upheld_by_default, st.dismissed),
        (1, 1, 0, 0),
        "{st:?}"
    );
    let owed: u64 = report
        .balances
        .iter()
        .filter(|b| b.member == pk(worker).to_hex())
        .map(|b| b.owed)
        .sum();
    assert_eq!(owed, 400, "the pay and top-up of upheld work");
}
