//! The fold: a cooperative's state from the set of its valid entries.
//!
//! [`Coop`] indexes entries into maps keyed by ids and keys, so its content depends only
//! on the set of entries applied, never on their order (as long as each author's chain is
//! applied in order, which [`crate::validate::check`] enforces). Everything that depends on
//! time (default acceptance, balances, records) is computed on request from that state and
//! a `now` parameter.
//!
//! What depends on every entry but not on `now` is built once per state: the witnessed
//! times ([`Coop::witnessed`]) and the governance [`Timeline`] ([`Coop::timeline`]) are
//! built on the first read that needs them and kept until the state changes (an entry
//! applied, an author frozen), so every read of one state, and every reader of a shared
//! snapshot (`Arc<Coop>`), uses the same ones. A lookup by id ([`Coop::submission`],
//! [`Coop::offer`], [`Coop::appeal`]) computes only what it asks for: the draw of its own
//! offer, not every offer's.
//!
//! `Coop` also implements [`Context`], so it can validate entries itself: tests, the
//! simulator and small audits use it; the sled ledger implements the same trait on disk.

use crate::body::{Body, Kind, Offer};
use crate::entry::{Timestamp, Verified};
use crate::id::{Id, PublicKey};
use crate::index::IndexKey;
use crate::lottery;
use crate::money::{Currency, Money};
use crate::rules::Rules;
use crate::seal::Sealed;
use crate::validate::{self, Context, Head, Invalid, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// How long after a window closes a late witness may still show that an entry was made
/// in time: a rejection counts only if someone other than the requester witnessed it by
/// the end of the review window plus this slack (docs/protocol.md, "Witnessed time").
/// Covers a node's tick interval and a slow link, not a requester idle for days.
pub const WITNESS_SLACK_MS: u64 = 15 * 60 * 1000;

/// The in-memory state of one cooperative.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coop {
    id: Option<Id>,
    entries: BTreeMap<Id, Verified>,
    chains: BTreeMap<(PublicKey, u64), Id>,
    heads: BTreeMap<PublicKey, Head>,
    /// Author -> the lowest seq at which two entries are known.
    frozen: BTreeMap<PublicKey, u64>,
    claims: BTreeMap<(Id, PublicKey), Id>,
    submits: BTreeMap<(Id, PublicKey), Id>,
    votes: BTreeMap<(Id, PublicKey), Id>,
    withdrawals: BTreeMap<Id, Id>,
    /// Every answer to a settlement (a member's devices may each hold one).
    receipts: BTreeMap<Id, BTreeSet<Id>>,
    by_kind: BTreeMap<Kind, BTreeSet<Id>>,
    /// Every submission's verdicts (a forked requester may hold one on each branch).
    verdicts: BTreeMap<Id, BTreeSet<Id>>,
    /// Every assignment of an offer (likewise).
    assigns: BTreeMap<Id, BTreeSet<Id>>,
    /// Every submission on an offer.
    offer_subs: BTreeMap<Id, BTreeSet<Id>>,
    /// Device key -> the keys its enrollments speak for (one, unless it enrolled twice
    /// at seq 1 for different members: then it counts for nobody).
    enrolls: BTreeMap<PublicKey, BTreeSet<PublicKey>>,
    /// Device key -> (timestamp, key the revoker speaks for) of each `revoke_device`.
    revokes: BTreeMap<PublicKey, BTreeSet<(Timestamp, PublicKey)>>,
    /// The witnessed times and the timeline of the entries held, built on first read and
    /// dropped by every change of the state.
    derived: Derived,
}

/// What the fold derives from every entry held and keeps until an entry is applied or an
/// author frozen: the witnessed times ([`Coop::witnessed`], a pass over every entry) and
/// the governance timeline ([`Coop::timeline`], built from them). Each is built at most
/// once per state, on its first read; a shared snapshot (`Arc<Coop>`) builds them once
/// for all its readers. A clone keeps what was built (it describes the same entries).
/// Not part of the state's value: two states holding the same entries are equal whether
/// or not either has built it yet.
#[derive(Clone, Default)]
struct Derived {
    witnessed: OnceLock<BTreeMap<Id, Timestamp>>,
    timeline: OnceLock<Option<Timeline>>,
}

impl PartialEq for Derived {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Derived {}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Derived")
            .field("witnessed", &self.witnessed.get().is_some())
            .field("timeline", &self.timeline.get().is_some())
            .finish()
    }
}

/// One place of an offer's draw (docs/protocol.md 8.2): who holds it, from when, and by
/// when its work must be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The claimant holding it.
    pub member: PublicKey,
    /// When the place became its: the assignment, or the lapse of the place before.
    pub from: Timestamp,
    /// `from + submit_window_ms`: work made later does not fill it.
    pub until: Timestamp,
    /// Where it stands.
    pub state: PlaceState,
}

/// Where a place of the draw stands at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceState {
    /// Waiting for the holder's work until `until`.
    Open,
    /// Filled by this submission.
    Filled(Id),
    /// Not filled in time: the place passed to the next claimant of the ranking.
    Lapsed,
}

/// An offer's draw as the fold sees it.
struct Draw<'a> {
    /// The assignment that counts: the lowest (seq, id) of the fair ones.
    assign: Option<&'a Verified>,
    /// Every fair assignment (each names exactly the claims that count).
    fair: BTreeSet<Id>,
    /// Assignments that do not count: they leave out a claim that counts, name one that
    /// does not, or came before the claim window closed.
    void: usize,
    /// The places, in the order they were given.
    places: Vec<Place>,
}

/// Where a submission stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Review {
    /// Waiting for the requester until `deadline`; after it, accepted by default.
    Pending {
        /// End of the review window.
        deadline: Timestamp,
    },
    /// Accepted explicitly at this time.
    Accepted(Timestamp),
    /// Accepted by default when the review window passed.
    AcceptedByDefault(Timestamp),
    /// Rejected, with the reason.
    Rejected {
        /// When.
        at: Timestamp,
        /// Why: sealed to the member and the requester (docs/protocol.md 3.7).
        reason: Sealed,
    },
    /// Rejected, but a jury upheld the member's appeal (or its ranking ran out without a
    /// majority) at this time: the rejection is void and the work counts as accepted
    /// (docs/protocol.md 8.8).
    Upheld {
        /// When it was rejected.
        rejected: Timestamp,
        /// When the appeal was upheld: the work counts as accepted from then.
        at: Timestamp,
    },
}

impl Review {
    /// When the work was accepted, explicitly or by default.
    pub fn accepted_at(&self) -> Option<Timestamp> {
        match self {
            Review::Accepted(t) | Review::AcceptedByDefault(t) | Review::Upheld { at: t, .. } => {
                Some(*t)
            }
            _ => None,
        }
    }
}

/// A submission and what it is worth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// The Submit entry.
    pub id: Id,
    /// The offer.
    pub offer: Id,
    /// The member.
    pub member: PublicKey,
    /// The requester.
    pub requester: PublicKey,
    /// When it was submitted.
    pub at: Timestamp,
    /// When someone other than the member first witnessed it (docs/protocol.md 5.7), if
    /// anyone has yet.
    pub witnessed: Option<Timestamp>,
    /// Minutes reported.
    pub minutes: u32,
    /// Review state at `now`.
    pub review: Review,
    /// The offer's pay (due once accepted).
    pub pay: Money,
    /// Top-up the work is worth at the floor (see [`topup`]); owed only once the work is
    /// accepted, explicitly or by default, like the pay. Shown on pending and rejected
    /// work too, so a member sees what a rejection withholds.
    pub topup: u64,
}

/// The state of an offer at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferState {
    /// Collecting claims.
    Open,
    /// Claim window over, lottery not yet published.
    AwaitingAssignment,
    /// Winners published.
    Assigned,
    /// Withdrawn by the requester.
    Withdrawn,
    /// Expired without an assignment.
    Expired,
}

/// An offer as members see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferView {
    /// The Offer entry's id.
    pub id: Id,
    /// Its requester.
    pub requester: PublicKey,
    /// When it was posted.
    pub at: Timestamp,
    /// The offer.
    pub offer: Offer,
    /// Its state.
    pub state: OfferState,
    /// The members whose claims count (made in the claim window, 8.2), in key order.
    pub claimants: Vec<PublicKey>,
    /// Members holding a place of the draw now (waiting for their work, or done), once
    /// assigned: the winners, and whoever a lapsed place passed to.
    pub winners: Vec<PublicKey>,
    /// Every place of the draw, lapsed ones included.
    pub places: Vec<Place>,
    /// Assignments that do not count (they leave out a claim made in the window).
    pub void_assignments: usize,
    /// When the claim window closes: `made(offer) + claim_window_ms` (5.7).
    pub closes_at: Timestamp,
}

/// A proposal as members see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalView {
    /// The Proposal entry's id.
    pub id: Id,
    /// Who proposed it.
    pub author: PublicKey,
    /// When.
    pub at: Timestamp,
    /// What it would change, and why.
    pub proposal: crate::body::Proposal,
    /// Yes votes by members in force: (voter, Vote entry id), in voter order.
    pub yes: Vec<(PublicKey, Id)>,
    /// Members in force who voted no.
    pub no: Vec<PublicKey>,
    /// Yes votes needed under the rules in force.
    pub needed: usize,
    /// Whether an enactment of it is held.
    pub enacted: bool,
    /// When it stops taking votes and enactments.
    pub expires_at: Timestamp,
    /// Whether the votes held pass it (quorum, and the majority its action needs).
    pub passes: bool,
}

/// Money between one requester and one member in one currency, in minor units. Sums
/// saturate at `u64::MAX` (docs/protocol.md section 8.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Pay for accepted work.
    pub earned: u64,
    /// Top-ups owed on accepted work.
    pub topup: u64,
    /// Recorded as paid by the requester (every settlement, answered or not).
    pub paid: u64,
    /// Confirmed received by the member.
    pub confirmed: u64,
    /// Answered "not received" by the member.
    pub denied: u64,
}

impl Balance {
    /// Still owed: earned + top-ups - confirmed (never below zero). Only the member's
    /// confirmation lowers it: a requester's word that it paid is not a payment.
    pub fn owed(&self) -> u64 {
        self.earned
            .saturating_add(self.topup)
            .saturating_sub(self.confirmed)
    }

    /// Claimed paid, not confirmed: settlements the member has not answered yet.
    pub fn unconfirmed(&self) -> u64 {
        self.paid
            .saturating_sub(self.confirmed)
            .saturating_sub(self.denied)
    }
}

/// Key of a balance: (requester, member, currency).
pub type BalanceKey = (PublicKey, PublicKey, Currency);

/// What every requester's record is computed from, computed once (see [`Coop::records`]).
struct Passes<'a> {
    offers: Vec<OfferView>,
    submissions: Vec<Submission>,
    balances: BTreeMap<BalanceKey, Balance>,
    timeline: Option<&'a Timeline>,
    /// Settlements answered "not received", per requester.
    not_received: BTreeMap<PublicKey, usize>,
    /// Appeals that count.
    appeals: Vec<crate::appeal::AppealView>,
}

/// A requester's record, as members see it before claiming.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Offers posted.
    pub offers: usize,
    /// Submissions received.
    pub submissions: usize,
    /// Accepted explicitly.
    pub accepted: usize,
    /// Accepted by default (the requester let the window pass).
    pub accepted_by_default: usize,
    /// Rejected.
    pub rejected: usize,
    /// Still in review.
    pub pending: usize,
    /// Median time from submission to explicit review, ms.
    pub median_review_ms: Option<u64>,
    /// Median time from acceptance to the payment that covered it, ms.
    pub median_pay_ms: Option<u64>,
    /// Effective hourly rate of accepted work per currency (pay + top-ups over reported
    /// minutes), minor units per hour.
    pub hourly_rate: BTreeMap<Currency, u64>,
    /// Top-ups owed per currency.
    pub topups: BTreeMap<Currency, u64>,
    /// Unpaid amounts per currency (earned + top-ups - confirmed).
    pub unpaid: BTreeMap<Currency, u64>,
    /// Claimed paid, not confirmed, per currency.
    pub unconfirmed: BTreeMap<Currency, u64>,
    /// Settlements its members answered "not received".
    pub not_received: usize,
    /// Assignments of its offers that do not count because they leave out a claim made
    /// in the window, name one made after it, or came before the window closed.
    pub void_assignments: usize,
    /// Appeals against its rejections that count (docs/protocol.md 8.8).
    pub appeals: usize,
    /// Of them, upheld (by a jury's majority, or by default when its ranking ran out).
    pub appeals_upheld: usize,
    /// Of them, dismissed by a jury's majority.
    pub appeals_dismissed: usize,
    /// Reviews received.
    pub reviews: usize,
    /// Mean scores x100 (pay, fairness, promptness, communication).
    pub scores: Option<[u32; 4]>,
}

/// The governance history by everything a node holds, as the fold uses it for what the
/// cooperative owes and who counts.
///
/// Validation judges an entry by the governance it names (so verdicts depend only on its
/// causal past); the fold then applies every enactment held, from every branch of the
/// governance tree, in order of (effective time, id), each proposal once, and each only if
/// its yes votes still make a quorum of the members in force just before it. So an author
/// who names an old governance escapes nothing: its entries are void in the state from the
/// moment a removal takes effect, and what it owes is computed against the floor really in
/// force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// (effective time, rules from then on), starting with the charter at 0.
    steps: Vec<(Timestamp, Rules)>,
    /// Key -> the time from which nothing it signs counts: a device's revocation (by its
    /// member or by a vote), a replaced key's replacement (docs/protocol.md 8.7).
    cut: BTreeMap<PublicKey, Timestamp>,
    /// Replacing key -> the stable identity it speaks for (the first key of the member).
    root: BTreeMap<PublicKey, PublicKey>,
    /// Entries dated before their key's cut but first witnessed more than the witness
    /// slack after it: a confiscated phone's backdated entries.
    late: BTreeSet<Id>,
    /// Key -> the devices enrolled for it alone.
    devices: BTreeMap<PublicKey, BTreeSet<PublicKey>>,
    /// Device key -> its earliest revocation, by its member or by a vote.
    revoked: BTreeMap<PublicKey, Revocation>,
}

/// A device's revocation (docs/protocol.md 8.7): from when nothing it signs counts, and
/// who decided it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// From when: the `revoke_device` entry's timestamp, or the vote's effective time.
    pub at: Timestamp,
    /// Who revoked the device.
    pub by: RevokedBy,
}

/// Who revoked a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokedBy {
    /// The member or requester it wrote for, from its own key or one of its devices.
    Member(PublicKey),
    /// A cooperative vote: the proposal enacted.
    Vote(Id),
}

impl Timeline {
    /// The rules in force at `at`.
    pub fn at(&self, at: Timestamp) -> &Rules {
        let i = self.steps.partition_point(|(t, _)| *t <= at);
        &self.steps[i.saturating_sub(1)].1
    }

    /// The stable identity `key` speaks for: the member's first key, through every
    /// replacement by vote; a key never replaced is its own identity.
    pub fn identity(&self, key: &PublicKey) -> PublicKey {
        let mut k = *key;
        // Each replacement names a new key once applied, so the walk ends; the bound
        // guards against a cycle (a key replaced back).
        for _ in 0..=self.root.len() {
            match self.root.get(&k) {
                Some(r) if *r != k => k = *r,
                _ => break,
            }
        }
        k
    }

    /// When `key` stopped counting (revoked or replaced), if it did.
    pub fn cut(&self, key: &PublicKey) -> Option<Timestamp> {
        self.cut.get(key).copied()
    }

    /// The earliest revocation of the device `key`, by its member or by a vote, if it
    /// was revoked (a vote may revoke a device that never enrolled).
    pub fn revocation(&self, key: &PublicKey) -> Option<Revocation> {
        self.revoked.get(key).copied()
    }

    /// The devices of `key` that are live at `at`: enrolled for it alone, and neither
    /// they nor `key` cut at or before `at` (revoked by the member or by a vote, or the
    /// key replaced). What a field about `key` written at `at` is sealed to, besides
    /// `key` itself (docs/protocol.md 3.7).
    pub fn live_devices(&self, key: &PublicKey, at: Timestamp) -> Vec<PublicKey> {
        let live = |k: &PublicKey| self.cut(k).is_none_or(|c| at < c);
        if !live(key) {
            return Vec::new();
        }
        self.devices
            .get(key)
            .into_iter()
            .flatten()
            .filter(|d| live(d))
            .copied()
            .collect()
    }

    /// Whether an entry by `author`, speaking for `who`, escapes every cut: dated before
    /// the cut of its key and of the key it speaks for, and not first witnessed more than
    /// the slack after it.
    fn alive(&self, v: &Verified, who: &PublicKey) -> bool {
        let ts = v.entry().ts;
        let cut = [self.cut(&v.entry().author), self.cut(who)]
            .into_iter()
            .flatten()
            .min();
        cut.is_none_or(|c| ts < c && !self.late.contains(&v.id()))
    }

    /// The same rule for a streamed fold that keeps its own witnessed times: whether an
    /// entry by `author`, speaking for `who`, timestamped `ts` and first witnessed at
    /// `seen` (none: unwitnessed) escapes every cut.
    pub fn escapes_cuts(
        &self,
        author: &PublicKey,
        who: &PublicKey,
        ts: Timestamp,
        seen: Option<Timestamp>,
    ) -> bool {
        let cut = [self.cut(author), self.cut(who)]
            .into_iter()
            .flatten()
            .min();
        cut.is_none_or(|c| ts < c && seen.is_none_or(|w| w <= c.saturating_add(WITNESS_SLACK_MS)))
    }
}

/// The top-up rule. A member who reports more minutes than estimated is owed pay at the
/// floor for the extra time. Credited minutes: `min(reported, max(estimate * max(cap_pct,
/// 100) / 100, median))`, where `median` is the lower median of the minutes reported by
/// every submission on the offer (Prolific's rule: the time the work really takes, which no
/// estimate can push down and no single inflated report can push up). The top-up is
/// `max(0, ceil(floor * credited / 60) - pay)`, computed in `u128` and only then brought
/// back to `u64` (saturating), so a floor pay over `u64::MAX` still gives the right
/// difference whenever that difference fits.
pub fn topup(
    pay: u64,
    estimate: u32,
    reported: u32,
    median: u32,
    floor_per_hour: u64,
    cap_pct: u32,
) -> u64 {
    let cap = u64::from(estimate) * u64::from(cap_pct.max(100)) / 100;
    let credited = u64::from(reported).min(cap.max(u64::from(median)));
    let due = (u128::from(floor_per_hour) * u128::from(credited)).div_ceil(60);
    u64::try_from(due.saturating_sub(u128::from(pay))).unwrap_or(u64::MAX)
}

/// Kinds that bind their author to others (or record work done), and so count even from
/// a frozen author: see [`Coop::counts`].
fn obligation(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Charter
            | Kind::Offer
            | Kind::Withdraw
            | Kind::Assign
            | Kind::Submit
            | Kind::Accept
            | Kind::Settle
            | Kind::Evidence
    )
}

/// The time an entry is taken to have been made: its own timestamp, unless someone else
/// first witnessed it more than [`WITNESS_SLACK_MS`] later, in which case its witnessed
/// time (an unwitnessed entry keeps its timestamp until a witness arrives).
pub(crate) fn on_time(v: &Verified, seen_at: &BTreeMap<Id, Timestamp>) -> Timestamp {
    let ts = v.entry().ts;
    match seen_at.get(&v.id()) {
        Some(w) if *w > ts.saturating_add(WITNESS_SLACK_MS) => *w,
        _ => ts,
    }
}

/// When an enactment takes effect in the state: as long after the time it was made
/// ([`on_time`]) as it says after its own timestamp, so members who backdate a proposal,
/// its votes and its enactment cannot make an amendment bite before the cooperative
/// could see it.
fn effective(v: &Verified, e: &crate::body::Enact, seen_at: &BTreeMap<Id, Timestamp>) -> Timestamp {
    let late = on_time(v, seen_at) - v.entry().ts;
    e.effective_at.saturating_add(late)
}

/// The lower median of the minutes reported by the work filling an offer's places (the
/// top-up's `median`, see [`topup`]).
fn median_minutes(work: &BTreeMap<PublicKey, &Verified>) -> Option<u32> {
    let minutes = work
        .values()
        .filter_map(|v| match &v.entry().body {
            Body::Submit(s) => Some(u64::from(s.minutes)),
            _ => None,
        })
        .collect();
    Some(u32::try_from(median(minutes)?).unwrap_or(u32::MAX))
}

fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[(v.len() - 1) / 2])
}

impl Coop {
    /// An empty state; the first entry applied must be the charter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cooperative's id, once the charter is applied.
    pub fn id(&self) -> Option<Id> {
        self.id
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Validates `v` and, when fresh, applies it; on a fork, freezes the author.
    /// Returns the outcome (a fork is reported, and the second entry is kept out).
    pub fn ingest(&mut self, v: Verified, now: Option<Timestamp>) -> Result<Outcome, Invalid> {
        let coop = match (self.id, &v.entry().body) {
            (Some(id), _) => id,
            (None, Body::Charter(_)) => v.id(),
            (None, _) => {
                return Ok(Outcome::Pending(validate::Missing::Dependency(
                    v.entry().coop.unwrap_or(Id([0; 32])),
                )))
            }
        };
        let out = validate::check(self, &coop, &v, now)?;
        match &out {
            Outcome::Fresh => self.apply(v),
            Outcome::Fork { .. } => {
                self.freeze(v.entry().author, v.entry().seq);
                self.apply_beside(v);
            }
            Outcome::Branch => self.apply_beside(v),
            _ => {}
        }
        Ok(out)
    }

    /// Marks `author` as having equivocated at `seq`.
    pub fn freeze(&mut self, author: PublicKey, seq: u64) {
        self.changed();
        let s = self.frozen.entry(author).or_insert(seq);
        *s = (*s).min(seq);
    }

    /// Applies an entry that [`validate::check`] found fresh: the next of its author's
    /// chain.
    pub fn apply(&mut self, v: Verified) {
        self.changed();
        let id = v.id();
        let e = v.entry();
        self.chains.insert((e.author, e.seq), id);
        self.heads.insert(
            e.author,
            Head {
                seq: e.seq,
                id,
                ts: e.ts,
                gov: e.gov,
            },
        );
        self.apply_beside(v);
    }

    /// Applies a valid entry that is not the next of its author's chain (the second entry
    /// of a fork, or an entry of a branch): it is held and counts like any other, but
    /// takes no place in the chain. The indexes keep the first entry stored for each key
    /// (what validation's ancestor checks need); what counts is decided from every entry
    /// held, so it does not depend on which came first.
    pub fn apply_beside(&mut self, v: Verified) {
        self.changed();
        let id = v.id();
        let e = v.entry();
        let a = e.author;
        if let Body::Charter(_) = e.body {
            self.id.get_or_insert(id);
        }
        match IndexKey::of(&a, &e.body) {
            Some(IndexKey::Claim { offer, member }) => {
                // The lowest (seq, id) of a forked member's claims, whichever arrived
                // first: the claim set of a draw must not depend on delivery order.
                let key = (e.seq, id);
                let held = self.claims.get(&(offer, member)).and_then(|h| {
                    let h = self.entries.get(h)?;
                    Some((h.entry().seq, h.id()))
                });
                if held.is_none_or(|h| key < h) {
                    self.claims.insert((offer, member), id);
                }
            }
            Some(IndexKey::Submit { offer, member }) => {
                self.submits.entry((offer, member)).or_insert(id);
                self.offer_subs.entry(offer).or_default().insert(id);
            }
            Some(IndexKey::Assign { offer }) => {
                self.assigns.entry(offer).or_default().insert(id);
            }
            Some(IndexKey::Verdict { submission }) => {
                self.verdicts.entry(submission).or_default().insert(id);
            }
            Some(IndexKey::Vote { proposal, member }) => {
                self.votes.entry((proposal, member)).or_insert(id);
            }
            Some(IndexKey::Withdraw { offer }) => {
                self.withdrawals.entry(offer).or_insert(id);
            }
            Some(IndexKey::Receipt { settle }) => {
                self.receipts.entry(settle).or_default().insert(id);
            }
            None => {}
        }
        match &e.body {
            Body::Evidence(ev) => {
                if let Some(f) = ev.freezes() {
                    self.freeze(f.author, f.seq);
                }
            }
            Body::Enroll(_) => {
                let by = validate::speaks_for(self, &v);
                if by != a {
                    self.enrolls.entry(a).or_default().insert(by);
                }
            }
            Body::RevokeDevice(r) => {
                let by = validate::speaks_for(self, &v);
                self.revokes.entry(r.key).or_default().insert((e.ts, by));
            }
            _ => {}
        }
        self.by_kind.entry(e.body.kind()).or_default().insert(id);
        self.entries.insert(id, v);
    }

    /// Drops what was derived from the entries held: every method that changes the state
    /// calls it first, so no read sees witnessed times or a timeline of an earlier state.
    fn changed(&mut self) {
        self.derived = Derived::default();
    }

    /// Whether an entry counts in the state. An author who signed two entries at one seq
    /// is frozen from that seq on, on every branch: from there its entries give it
    /// nothing (no claim, vote, proposal, enactment, review, rejection or receipt
    /// counts), but what it owes others still counts (offers, assignments, acceptances,
    /// withdrawals, payments) and so does the work it did (submissions): a fork must
    /// never erase a debt or a wage (docs/protocol.md section 9).
    fn counts(&self, v: &Verified) -> bool {
        let e = v.entry();
        let frozen = self.frozen.get(&e.author).is_some_and(|s| e.seq >= *s);
        (!frozen || obligation(e.body.kind())) && self.device_counts(v)
    }

    /// The part of [`Coop::counts`] that concerns devices: a device enrolled for two
    /// members counts for nobody, and nothing a device dates from its member's
    /// revocation on counts (the witness rule for earlier-dated entries and revocations
    /// by vote are the timeline's: [`Timeline`]).
    fn device_counts(&self, v: &Verified) -> bool {
        let e = v.entry();
        let Some(by) = self.enrolls.get(&e.author) else {
            return true;
        };
        by.len() == 1 && self.revoked_at(&e.author).is_none_or(|c| e.ts < c)
    }

    /// The key a device speaks for, when it enrolled for exactly one.
    fn enrolled(&self, key: &PublicKey) -> Option<PublicKey> {
        match self.enrolls.get(key) {
            Some(by) if by.len() == 1 => by.first().copied(),
            _ => None,
        }
    }

    /// The key an entry speaks for: its author, or the member of its device key.
    pub fn who(&self, v: &Verified) -> PublicKey {
        self.speaker(&v.entry().author)
    }

    /// The key `key` speaks for: itself, or the member of a device key.
    pub fn speaker(&self, key: &PublicKey) -> PublicKey {
        self.enrolled(key).unwrap_or(*key)
    }

    /// The earliest revocation of a device by its own member (or one of its devices).
    fn revoked_at(&self, key: &PublicKey) -> Option<Timestamp> {
        self.revoked_by(key, &self.enrolled(key)?)
    }

    /// The earliest `revoke_device` naming `device` written by a key that speaks for
    /// `member`, whether or not the device has enrolled: a device revoked before its
    /// enrollment counts for nothing once it enrolls.
    pub fn revoked_by(&self, device: &PublicKey, member: &PublicKey) -> Option<Timestamp> {
        self.revokes
            .get(device)?
            .iter()
            .filter(|(_, r)| r == member)
            .map(|(t, _)| *t)
            .min()
    }

    /// Every device enrolled for exactly one key: (device key, the key it speaks for).
    pub fn enrolled_devices(&self) -> Vec<(PublicKey, PublicKey)> {
        self.enrolls
            .keys()
            .filter_map(|k| Some((*k, self.enrolled(k)?)))
            .collect()
    }

    /// The devices of `member` held (device key, and when its member revoked it).
    pub fn devices(&self, member: &PublicKey) -> Vec<(PublicKey, Option<Timestamp>)> {
        self.enrolls
            .keys()
            .filter(|k| self.enrolled(k) == Some(*member))
            .map(|k| (*k, self.revoked_at(k)))
            .collect()
    }

    /// Witnessed time of every held entry someone has witnessed (docs/protocol.md,
    /// "Witnessed time"): the earliest timestamp of a counted entry by another author
    /// that names it, directly or through entries of its own author (its chain, what its
    /// body names, the governance it names; an acceptance or rejection does not witness
    /// the submission it judges), and never earlier than its own timestamp.
    /// An author's own clock therefore cannot move it: only someone else's signed
    /// statement that they held the entry. Entries nobody else has named yet are absent.
    /// Built once per state of the fold (see [`Coop::timeline`]).
    pub fn witnessed(&self) -> &BTreeMap<Id, Timestamp> {
        self.derived.witnessed.get_or_init(|| self.witness_times())
    }

    /// [`Coop::witnessed`], computed: a pass over every entry.
    fn witness_times(&self) -> BTreeMap<Id, Timestamp> {
        // Who names each entry: only counted entries witness (a frozen author's tick
        // after its fork says nothing), and claims, which enter draws whatever their
        // author did since (a fork found later must not move the offer they name).
        let mut namers: BTreeMap<Id, Vec<&Verified>> = BTreeMap::new();
        let witnesses = |v: &&Verified| self.counts(v) || v.entry().body.kind() == Kind::Claim;
        for v in self.entries.values().filter(witnesses) {
            let e = v.entry();
            // A verdict does not witness the work it judges: a requester's late rejection
            // would otherwise start the review window it claims to fall in.
            let judged = match &e.body {
                Body::Accept(a) => Some(a.submission),
                Body::Reject(r) => Some(r.submission),
                _ => None,
            };
            let named = e.prev.into_iter().chain(e.gov).chain(e.body.dependencies());
            for n in named.filter(|n| Some(*n) != judged) {
                namers.entry(n).or_default().push(v);
            }
        }
        // W(e) = min over namers c of (c.ts if c's author is another, else W(c)): only
        // same-author namers need their own W first, so walk those depth first, without
        // recursion (chains are long).
        let mut w: BTreeMap<Id, Option<Timestamp>> = BTreeMap::new();
        for start in self.entries.keys() {
            let mut stack = vec![(*start, false)];
            while let Some((id, expanded)) = stack.pop() {
                if w.contains_key(&id) {
                    continue;
                }
                let Some(v) = self.entries.get(&id) else {
                    continue;
                };
                let author = v.entry().author;
                let speaker = self.who(v);
                let own = namers.get(&id).into_iter().flatten();
                if !expanded {
                    stack.push((id, true));
                    for c in own.filter(|c| c.entry().author == author) {
                        if !w.contains_key(&c.id()) {
                            stack.push((c.id(), false));
                        }
                    }
                    continue;
                }
                // A member's devices do not witness each other's entries (nor pass their
                // own witnesses on): only another member or requester witnesses.
                let first = own
                    .filter_map(|c| {
                        if c.entry().author == author {
                            w.get(&c.id()).copied().flatten()
                        } else if self.who(c) != speaker {
                            Some(c.entry().ts)
                        } else {
                            None
                        }
                    })
                    .min()
                    .map(|t| t.max(v.entry().ts));
                w.insert(id, first);
            }
        }
        w.into_iter().filter_map(|(id, t)| Some((id, t?))).collect()
    }

    /// What a node whose author is `me` should name in its next tick: the counted
    /// offers, claims, assignments, submissions, rejections and enactments of other
    /// authors that nobody but their author has witnessed yet (their windows and effective times run from witnessed
    /// time), oldest first, at most [`crate::body::MAX_TICK_HEADS`]. Empty when there is
    /// nothing to witness: ticks are written only when they say something.
    pub fn to_witness(&self, me: &PublicKey) -> Vec<Id> {
        let seen = self.witnessed();
        let mut due: Vec<&Verified> = [
            Kind::Offer,
            Kind::Claim,
            Kind::Assign,
            Kind::Submit,
            Kind::Reject,
            Kind::Enact,
            // A juror's vote counts if made within its seat (8.8).
            Kind::Verdict,
            Kind::Reply,
        ]
        .into_iter()
        .flat_map(|k| self.ids(k))
        .filter(|id| !seen.contains_key(id))
        .filter_map(|id| self.entries.get(id))
        .filter(|v| self.who(v) != self.speaker(me) && self.counts(v))
        .collect();
        // Appeals: until a member who is not a party has witnessed them (their jury's
        // seed, 8.8), whoever else did.
        due.extend(crate::appeal::to_witness(self, me));
        due.sort_by_key(|v| (v.entry().ts, v.id()));
        due.dedup_by_key(|v| v.id());
        due.into_iter()
            .take(crate::body::MAX_TICK_HEADS)
            .map(Verified::id)
            .collect()
    }

    /// Whether an entry counts in the state: [`Coop::counts`], and, for entries that give
    /// their author a say (claims, votes, proposals, enactments, reviews, rejections), its
    /// author held a role at its timestamp by the full governance history. Obligations and
    /// wages need no role then: validation already checked the role under the
    /// governance the entry named, and a later amendment never voids accepted work.
    fn live(&self, v: &Verified, tl: &Timeline) -> bool {
        let who = self.who(v);
        if !self.counts(v) || !tl.alive(v, &who) {
            return false;
        }
        let kind = v.entry().body.kind();
        obligation(kind) || kind == Kind::Receipt || {
            let r = tl.at(v.entry().ts);
            r.may_request(&who)
        }
    }

    fn live_id(&self, id: &Id, tl: &Timeline) -> Option<&Verified> {
        self.entries.get(id).filter(|v| self.live(v, tl))
    }

    /// Ids of the entries of one kind.
    pub fn ids(&self, kind: Kind) -> impl Iterator<Item = &Id> {
        self.by_kind.get(&kind).into_iter().flatten()
    }

    /// An entry held, whatever it is.
    pub fn get(&self, id: &Id) -> Option<&Verified> {
        self.entries.get(id)
    }

    /// The claims on `offer` that count at `now`, as (claimant, Claim entry id), in
    /// claimant order: what a requester's node puts in an `Assign` and feeds to the
    /// lottery; an assignment naming any other set does not count (8.2). A claim counts
    /// when it is valid, says it came by the close of the claim window (which runs from
    /// the time the offer was made, 5.7), and someone other than its author witnessed it
    /// by the close plus [`WITNESS_SLACK_MS`] (until then, an unwitnessed one counts
    /// provisionally): a claim written after the close under an old timestamp does not.
    pub fn claims_on(&self, offer: &Id, now: Timestamp) -> Vec<(PublicKey, Id)> {
        let Some((tl, seen)) = self.context() else {
            return vec![];
        };
        let Some((v, o)) = self.offer_of(offer) else {
            return vec![];
        };
        self.counted_claims(v, o, now, tl, seen).1
    }

    /// The close of an offer's claim window and the claims that count on it.
    fn counted_claims(
        &self,
        offer: &Verified,
        o: &Offer,
        now: Timestamp,
        tl: &Timeline,
        seen: &BTreeMap<Id, Timestamp>,
    ) -> (Timestamp, Vec<(PublicKey, Id)>) {
        let id = offer.id();
        let close = on_time(offer, seen).saturating_add(o.claim_window_ms);
        let late = close.saturating_add(WITNESS_SLACK_MS);
        // One claim per member, whichever of its devices made it: the lowest
        // (timestamp, id) of those that count (a function of the set held).
        let mut one: BTreeMap<PublicKey, (Timestamp, Id)> = BTreeMap::new();
        for (who, ts, c) in self
            .claims
            .range((id, PublicKey([0; 32]))..=(id, PublicKey([255; 32])))
            // Every valid claim, whatever its author did since: like an obligation, a
            // draw once made must not be undone by a later fork or amendment (a thief
            // forking a member's chain, or a backdated removal, would void the
            // assignment and with it the work done under it).
            .filter_map(|(_, c)| self.entries.get(c))
            .filter(|v| {
                // A device's claim counts only while the device does; the fork rule
                // does not apply to claims (above).
                let who = self.who(v);
                self.device_counts(v)
                    && tl.alive(v, &who)
                    && v.entry().ts <= close
                    && match seen.get(&v.id()) {
                        Some(w) => *w <= late,
                        None => now <= late,
                    }
            })
            .map(|v| (self.who(v), v.entry().ts, v.id()))
        {
            let slot = one.entry(who).or_insert((ts, c));
            if (ts, c) < *slot {
                *slot = (ts, c);
            }
        }
        let claims = one.into_iter().map(|(who, (_, c))| (who, c)).collect();
        (close, claims)
    }

    /// An offer's draw at `now` (docs/protocol.md 8.2). An assignment is fair when it
    /// names exactly the claims that count and was made after the window closed; the
    /// lowest (seq, id) fair one counts (all fair ones carry the same draw: the secret is
    /// committed and the claims are fixed). The first `assignments` claimants of its
    /// ranking hold a place from the time it was made; a place whose holder's work was
    /// not made within `submit_window_ms` lapses once the witness slack has passed too,
    /// and the next claimant of the ranking holds a place from then, while the offer has
    /// not expired.
    fn draw<'a>(
        &'a self,
        offer: &'a Verified,
        o: &Offer,
        now: Timestamp,
        tl: &Timeline,
        seen: &BTreeMap<Id, Timestamp>,
    ) -> (Timestamp, Vec<(PublicKey, Id)>, Draw<'a>) {
        let id = offer.id();
        let (close, counted) = self.counted_claims(offer, o, now, tl, seen);
        let want: BTreeSet<Id> = counted.iter().map(|(_, c)| *c).collect();
        let mut d = Draw {
            assign: None,
            fair: BTreeSet::new(),
            void: 0,
            places: vec![],
        };
        for a in self
            .assigns
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|a| self.live_id(a, tl))
        {
            let Body::Assign(x) = &a.entry().body else {
                continue;
            };
            let named: BTreeSet<Id> = x.claims.iter().copied().collect();
            if named != want || on_time(a, seen) <= close {
                d.void += 1;
                continue;
            }
            d.fair.insert(a.id());
            if d.assign
                .is_none_or(|b| (a.entry().seq, a.id()) < (b.entry().seq, b.id()))
            {
                d.assign = Some(a);
            }
        }
        let Some(Body::Assign(x)) = d.assign.map(|a| &a.entry().body) else {
            return (close, counted, d);
        };
        let who: Vec<PublicKey> = counted.iter().map(|(k, _)| *k).collect();
        let ranking = lottery::ranking(&lottery::seed(&x.secret, &id, &x.claims), &who);
        // Each claimant's work on this offer under a fair assignment: the lowest
        // (seq, id) live one (a forked member may hold two).
        let mut work: BTreeMap<PublicKey, &Verified> = BTreeMap::new();
        for s in self
            .offer_subs
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|s| self.live_id(s, tl))
        {
            if !matches!(&s.entry().body, Body::Submit(b) if d.fair.contains(&b.assign)) {
                continue;
            }
            let slot = work.entry(self.who(s)).or_insert(s);
            if (s.entry().seq, s.id()) < (slot.entry().seq, slot.id()) {
                *slot = s;
            }
        }
        let window = tl.at(offer.entry().ts).limits.submit_window_ms;
        let start = d.assign.map_or(close, |a| on_time(a, seen));
        let first = usize::try_from(o.assignments).unwrap_or(usize::MAX);
        let mut queue: std::collections::VecDeque<(PublicKey, Timestamp)> =
            ranking.iter().take(first).map(|m| (*m, start)).collect();
        let mut next = ranking.iter().skip(first);
        while let Some((member, from)) = queue.pop_front() {
            let until = from.saturating_add(window);
            let lapse = until.saturating_add(WITNESS_SLACK_MS);
            let state = match work.get(&member).filter(|s| on_time(s, seen) <= until) {
                Some(s) => PlaceState::Filled(s.id()),
                None if now > lapse => {
                    if lapse <= o.expires_at {
                        if let Some(m) = next.next() {
                            queue.push_back((*m, lapse));
                        }
                    }
                    PlaceState::Lapsed
                }
                None => PlaceState::Open,
            };
            d.places.push(Place {
                member,
                from,
                until,
                state,
            });
        }
        (close, counted, d)
    }

    /// Every proposal that counts, oldest first, with its yes votes from members in force
    /// now and whether it has been enacted.
    pub fn proposals(&self, now: Timestamp) -> Vec<ProposalView> {
        let Some(tl) = self.timeline() else {
            return vec![];
        };
        let rules = tl.at(now);
        let enacted: BTreeSet<Id> = self
            .ids(Kind::Enact)
            .filter_map(|id| self.live_id(id, tl))
            .filter_map(|v| match &v.entry().body {
                Body::Enact(e) => Some(e.proposal),
                _ => None,
            })
            .collect();
        let mut out: Vec<ProposalView> = self
            .ids(Kind::Proposal)
            .filter_map(|id| self.live_id(id, tl))
            .filter_map(|v| {
                let Body::Proposal(p) = &v.entry().body else {
                    return None;
                };
                let mut yes = Vec::new();
                let mut no = Vec::new();
                for (voter, vote) in self.ballots(&v.id(), |x| self.live(x, tl)) {
                    let Body::Vote(x) = &vote.entry().body else {
                        continue;
                    };
                    if !rules.is_member(&voter) {
                        continue;
                    }
                    if x.yes {
                        yes.push((voter, vote.id()));
                    } else {
                        no.push(voter);
                    }
                }
                let passes = rules.passes(&p.action, yes.len(), no.len());
                Some(ProposalView {
                    id: v.id(),
                    author: v.entry().author,
                    at: v.entry().ts,
                    proposal: p.clone(),
                    yes,
                    no,
                    needed: rules.quorum_needed(),
                    enacted: enacted.contains(&v.id()),
                    expires_at: v.entry().ts.saturating_add(rules.limits.proposal_life_ms),
                    passes,
                })
            })
            .collect();
        out.sort_by_key(|p| (p.at, p.id));
        out
    }

    /// Every `Assign` entry held for `offer`, fair or not.
    pub fn assignments_on(&self, offer: &Id) -> Vec<&Verified> {
        self.assigns
            .get(offer)
            .into_iter()
            .flatten()
            .filter_map(|a| self.entries.get(a))
            .collect()
    }

    /// The `Assign` entry of `offer` that counts at `now`, if any: the lowest (seq, id) of
    /// the fair ones (see [`Coop::offer`]); work is submitted under it. It takes `now`
    /// because which claims count does ([`Coop::claims_on`]).
    pub fn assignment(&self, offer: &Id, now: Timestamp) -> Option<Id> {
        let (tl, seen) = self.context()?;
        let (v, o) = self.offer_of(offer)?;
        let (_, _, d) = self.draw(v, o, now, tl, seen);
        d.assign.map(Verified::id)
    }

    /// The member's answer to the settlement `settle`, if one counts: received or not.
    pub fn answered(&self, settle: &Id) -> Option<bool> {
        self.answer(settle, self.timeline()?)
    }

    /// The `Receipt` answering the settlement `settle`, if one counts.
    pub fn receipt(&self, settle: &Id) -> Option<Id> {
        let tl = self.timeline()?;
        self.live_receipt(settle, tl).map(Verified::id)
    }

    /// The answer to `settle` that counts: of the live ones, the lowest (timestamp, id),
    /// so that two devices of a member answering differently give one answer on every
    /// node, whichever arrived first.
    fn live_receipt(&self, settle: &Id, tl: &Timeline) -> Option<&Verified> {
        self.receipts
            .get(settle)
            .into_iter()
            .flatten()
            .filter_map(|r| self.live_id(r, tl))
            .min_by_key(|v| (v.entry().ts, v.id()))
    }

    /// Frozen authors and the seq of their first fork.
    pub fn frozen_authors(&self) -> &BTreeMap<PublicKey, u64> {
        &self.frozen
    }

    /// All chain heads.
    pub fn heads(&self) -> &BTreeMap<PublicKey, Head> {
        &self.heads
    }

    /// The cooperative's governance history by everything held: see [`Timeline`]. None
    /// before the charter is held.
    ///
    /// Built at most once per state of the fold, with the witnessed times it reads
    /// ([`Coop::witnessed`]), on the first call, and kept until an entry is applied or an
    /// author frozen: every read of a state, and every reader of a shared snapshot, uses
    /// the same one.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.derived
            .timeline
            .get_or_init(|| self.timeline_seen(self.witnessed()))
            .as_ref()
    }

    /// The timeline and the witnessed times it was built from, for the views that need
    /// both.
    pub(crate) fn context(&self) -> Option<(&Timeline, &BTreeMap<Id, Timestamp>)> {
        Some((self.timeline()?, self.witnessed()))
    }

    /// Yes and no votes on `proposal` that count, by members of `rules`.
    fn tally(&self, proposal: &Id, rules: &Rules) -> (usize, usize) {
        let (mut yes, mut no) = (0, 0);
        for (voter, v) in self.ballots(proposal, |v| self.counts(v)) {
            if !rules.is_member(&voter) {
                continue;
            }
            match &v.entry().body {
                Body::Vote(x) if x.yes => yes += 1,
                Body::Vote(_) => no += 1,
                _ => {}
            }
        }
        (yes, no)
    }

    /// One vote per member on `proposal`, whichever of its devices cast it: of the
    /// votes `keep` keeps, the lowest (timestamp, id) of each member, in member order.
    fn ballots(
        &self,
        proposal: &Id,
        keep: impl Fn(&Verified) -> bool,
    ) -> BTreeMap<PublicKey, &Verified> {
        let mut one: BTreeMap<PublicKey, &Verified> = BTreeMap::new();
        for (_, vote) in self
            .votes
            .range((*proposal, PublicKey([0; 32]))..=(*proposal, PublicKey([255; 32])))
        {
            let Some(v) = self.entries.get(vote).filter(|v| keep(v)) else {
                continue;
            };
            let slot = one.entry(self.who(v)).or_insert(v);
            if (v.entry().ts, v.id()) < (slot.entry().ts, slot.id()) {
                *slot = v;
            }
        }
        one
    }

    /// The rules in force at `at` by everything held (see [`Timeline`]).
    pub fn rules_at(&self, at: Timestamp) -> Option<Rules> {
        self.timeline().map(|t| t.at(at).clone())
    }

    fn offer_of(&self, id: &Id) -> Option<(&Verified, &Offer)> {
        let v = self.entries.get(id)?;
        match &v.entry().body {
            Body::Offer(o) => Some((v, o)),
            _ => None,
        }
    }

    /// An offer's state at `now`.
    pub fn offer(&self, id: &Id, now: Timestamp) -> Option<OfferView> {
        let (tl, seen) = self.context()?;
        self.offer_in(id, now, tl, seen)
    }

    fn offer_in(
        &self,
        id: &Id,
        now: Timestamp,
        tl: &Timeline,
        seen: &BTreeMap<Id, Timestamp>,
    ) -> Option<OfferView> {
        let (v, o) = self.offer_of(id)?;
        // Listed only while its requester held a role when posting it (by the full
        // governance history); work already done on it stays owed either way.
        if !self.live(v, tl) || !tl.at(v.entry().ts).may_request(&self.who(v)) {
            return None;
        }
        let (closes_at, claims, draw) = self.draw(v, o, now, tl, seen);
        let winners = draw
            .places
            .iter()
            .filter(|p| p.state != PlaceState::Lapsed)
            .map(|p| p.member)
            .collect();
        let state = if draw.assign.is_some() {
            OfferState::Assigned
        } else if self.withdrawals.contains_key(id) {
            OfferState::Withdrawn
        } else if now > o.expires_at {
            OfferState::Expired
        } else if now > closes_at {
            OfferState::AwaitingAssignment
        } else {
            OfferState::Open
        };
        Some(OfferView {
            id: *id,
            requester: tl.identity(&self.who(v)),
            at: v.entry().ts,
            offer: o.clone(),
            state,
            claimants: claims.into_iter().map(|(k, _)| k).collect(),
            winners,
            places: draw.places,
            void_assignments: draw.void,
            closes_at,
        })
    }

    /// Every offer that counts, oldest first.
    pub fn offers(&self, now: Timestamp) -> Vec<OfferView> {
        let Some((tl, seen)) = self.context() else {
            return vec![];
        };
        let mut v: Vec<OfferView> = self
            .ids(Kind::Offer)
            .filter_map(|id| self.offer_in(id, now, tl, seen))
            .collect();
        v.sort_by_key(|o| (o.at, o.id));
        v
    }

    /// Every submission and where it stands at `now`.
    pub fn submissions(&self, now: Timestamp) -> Vec<Submission> {
        let Some((tl, seen_at)) = self.context() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for offer in self.offer_subs.keys() {
            let Some((ov, o, work)) = self.filled(offer, now, tl, seen_at) else {
                continue;
            };
            let med = median_minutes(&work);
            out.extend(
                work.into_values()
                    .filter_map(|v| self.submission_in(v, ov, o, med, now, tl, seen_at)),
            );
        }
        out.sort_by_key(|s| (s.at, s.id));
        out
    }

    /// One submission and where it stands at `now`: the one [`Coop::submissions`] lists
    /// with this id, computed from its own offer's draw alone.
    pub fn submission(&self, id: &Id, now: Timestamp) -> Option<Submission> {
        let (tl, seen_at) = self.context()?;
        self.submission_at(id, now, tl, seen_at)
    }

    /// [`Coop::submission`] with the timeline and witnessed times given.
    pub(crate) fn submission_at(
        &self,
        id: &Id,
        now: Timestamp,
        tl: &Timeline,
        seen_at: &BTreeMap<Id, Timestamp>,
    ) -> Option<Submission> {
        let Body::Submit(s) = &self.entries.get(id)?.entry().body else {
            return None;
        };
        let (ov, o, work) = self.filled(&s.offer, now, tl, seen_at)?;
        let v = *work.values().find(|v| v.id() == *id)?;
        let med = median_minutes(&work);
        self.submission_in(v, ov, o, med, now, tl, seen_at)
    }

    /// The work filling the places of `offer`'s draw at `now`, by member, with the offer:
    /// only work that fills a place (8.2) is owed by the cooperative's rules, one
    /// submission per (offer, member), made in time, under a fair assignment of an offer
    /// that counts. None when the offer does not count.
    #[allow(clippy::type_complexity)]
    fn filled<'a>(
        &'a self,
        offer: &Id,
        now: Timestamp,
        tl: &Timeline,
        seen_at: &BTreeMap<Id, Timestamp>,
    ) -> Option<(&'a Verified, &'a Offer, BTreeMap<PublicKey, &'a Verified>)> {
        let (ov, o) = self.offer_of(offer).filter(|(ov, _)| self.live(ov, tl))?;
        let (_, _, d) = self.draw(ov, o, now, tl, seen_at);
        let mut work = BTreeMap::new();
        for p in d.places {
            if let PlaceState::Filled(s) = p.state {
                if let Some(v) = self.entries.get(&s) {
                    work.insert(p.member, v);
                }
            }
        }
        Some((ov, o, work))
    }

    /// Where the submission `v`, filling a place of the offer `ov` (`o`), stands at `now`;
    /// `med`: the median of the minutes reported by the work filling its places.
    #[allow(clippy::too_many_arguments)]
    fn submission_in(
        &self,
        v: &Verified,
        ov: &Verified,
        o: &Offer,
        med: Option<u32>,
        now: Timestamp,
        tl: &Timeline,
        seen_at: &BTreeMap<Id, Timestamp>,
    ) -> Option<Submission> {
        let Body::Submit(s) = &v.entry().body else {
            return None;
        };
        let id = v.id();
        // The review window runs from the work's own timestamp only if someone other
        // than the member witnessed it soon after: a backdated submission cannot close
        // the window before the requester could see it.
        let start = on_time(v, seen_at);
        let deadline = start.saturating_add(o.review_window_ms);
        let verdicts: Vec<&Verified> = self
            .verdicts
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|x| self.live_id(x, tl))
            .collect();
        // A rejection counts if it says it came in time and someone other than the
        // requester witnessed it by the deadline plus the slack (until the slack has
        // passed, an unwitnessed one counts provisionally): a requester idle past the
        // window cannot reject by writing an old timestamp.
        let in_time = |x: &Verified| {
            let late = deadline.saturating_add(WITNESS_SLACK_MS);
            x.entry().ts <= deadline
                && match seen_at.get(&x.id()) {
                    Some(w) => *w <= late,
                    None => now <= late,
                }
        };
        let accepted = verdicts
            .iter()
            .filter(|x| matches!(x.entry().body, Body::Accept(_)))
            .min_by_key(|x| (x.entry().ts, x.id()));
        let rejected = verdicts
            .iter()
            .filter_map(|x| match &x.entry().body {
                Body::Reject(r) if in_time(x) => Some((*x, r)),
                _ => None,
            })
            .min_by_key(|(x, _)| (x.entry().ts, x.id()));
        let review = match (accepted, rejected) {
            (Some(x), _) => Review::Accepted(x.entry().ts),
            (None, Some((x, r))) => match crate::appeal::upheld(self, x, v, ov, now, tl, seen_at) {
                Some(at) => Review::Upheld {
                    rejected: x.entry().ts,
                    at,
                },
                None => Review::Rejected {
                    at: x.entry().ts,
                    reason: r.reason.clone(),
                },
            },
            _ if now > deadline => Review::AcceptedByDefault(deadline),
            _ => Review::Pending { deadline },
        };
        // The floor owed is the higher of the one in force when the offer was posted
        // and the one in force when the work was submitted: an offer posted under an
        // older, lower floor owes the floor in force.
        let cur = &o.pay.currency;
        let at_offer = tl.at(ov.entry().ts);
        let floor = at_offer
            .floors
            .get(cur)
            .copied()
            .unwrap_or(0)
            .max(tl.at(v.entry().ts).floors.get(cur).copied().unwrap_or(0));
        let cap = at_offer.limits.topup_cap_pct;
        let med = med.unwrap_or(s.minutes);
        Some(Submission {
            id,
            offer: s.offer,
            member: tl.identity(&self.who(v)),
            requester: tl.identity(&self.who(ov)),
            at: v.entry().ts,
            witnessed: seen_at.get(&id).copied(),
            minutes: s.minutes,
            review,
            pay: o.pay.clone(),
            topup: topup(o.pay.minor, o.minutes, s.minutes, med, floor, cap),
        })
    }

    /// Balances per (requester, member, currency) at `now`.
    pub fn balances(&self, now: Timestamp) -> BTreeMap<BalanceKey, Balance> {
        let mut b: BTreeMap<BalanceKey, Balance> = BTreeMap::new();
        for s in self.submissions(now) {
            if s.review.accepted_at().is_some() {
                let e = b
                    .entry((s.requester, s.member, s.pay.currency.clone()))
                    .or_default();
                e.earned = e.earned.saturating_add(s.pay.minor);
                e.topup = e.topup.saturating_add(s.topup);
            }
        }
        let Some(tl) = self.timeline() else {
            return b;
        };
        for id in self.ids(Kind::Settle) {
            let Some(v) = self.paid(id, tl) else {
                continue;
            };
            let Body::Settle(s) = &v.entry().body else {
                continue;
            };
            let e = b
                .entry((
                    tl.identity(&self.who(v)),
                    tl.identity(&s.member),
                    s.amount.currency.clone(),
                ))
                .or_default();
            e.paid = e.paid.saturating_add(s.amount.minor);
            match self.answer(id, tl) {
                Some(true) => e.confirmed = e.confirmed.saturating_add(s.amount.minor),
                Some(false) => e.denied = e.denied.saturating_add(s.amount.minor),
                None => {}
            }
        }
        b
    }

    /// A settlement that counts (every valid one does: a payment record binds nobody but
    /// its author, and lowers what is owed only once the member confirms it).
    fn paid(&self, id: &Id, tl: &Timeline) -> Option<&Verified> {
        self.live_id(id, tl)
    }

    /// The member's answer to the settlement `id` that counts: received or not.
    fn answer(&self, id: &Id, tl: &Timeline) -> Option<bool> {
        match &self.live_receipt(id, tl)?.entry().body {
            Body::Receipt(r) => Some(r.received),
            _ => None,
        }
    }

    /// A requester's record at `now`.
    pub fn record(&self, requester: &PublicKey, now: Timestamp) -> Record {
        self.records(std::slice::from_ref(requester), now)
            .remove(requester)
            .unwrap_or_default()
    }

    /// The records of several requesters at once: the passes over every offer,
    /// submission and balance that a record needs are made once for all of them (a
    /// listing shows the record of each requester it names). Each equals
    /// [`Coop::record`] of that requester.
    pub fn records(&self, requesters: &[PublicKey], now: Timestamp) -> BTreeMap<PublicKey, Record> {
        let timeline = self.timeline();
        let mut not_received: BTreeMap<PublicKey, usize> = BTreeMap::new();
        if let Some(tl) = timeline {
            for id in self.ids(Kind::Settle) {
                if let Some(v) = self.paid(id, tl) {
                    if self.answer(id, tl) == Some(false) {
                        *not_received.entry(tl.identity(&self.who(v))).or_default() += 1;
                    }
                }
            }
        }
        let all = Passes {
            offers: self.offers(now),
            submissions: self.submissions(now),
            balances: self.balances(now),
            timeline,
            not_received,
            appeals: self.appeals(now),
        };
        // A requester asked for by a key that replaced a lost one has its whole record.
        let identity = |r: &PublicKey| all.timeline.map_or(*r, |tl| tl.identity(r));
        requesters
            .iter()
            .map(|r| (*r, self.record_in(&identity(r), &all)))
            .collect()
    }

    fn record_in(&self, requester: &PublicKey, all: &Passes<'_>) -> Record {
        let mut r = Record::default();
        for o in all.offers.iter().filter(|o| o.requester == *requester) {
            r.offers += 1;
            r.void_assignments += o.void_assignments;
        }
        let subs: Vec<&Submission> = all
            .submissions
            .iter()
            .filter(|s| s.requester == *requester)
            .collect();
        let mut review_times = Vec::new();
        let mut minutes: BTreeMap<Currency, (u128, u128)> = BTreeMap::new();
        // Dues per (member, currency) in order of acceptance, for time-to-pay.
        let mut dues: BTreeMap<(PublicKey, Currency), Vec<(Timestamp, u64)>> = BTreeMap::new();
        r.submissions = subs.len();
        for s in &subs {
            match &s.review {
                Review::Accepted(t) => {
                    r.accepted += 1;
                    review_times.push(t.saturating_sub(s.at));
                }
                Review::AcceptedByDefault(_) => r.accepted_by_default += 1,
                Review::Rejected { at, .. } => {
                    r.rejected += 1;
                    review_times.push(at.saturating_sub(s.at));
                }
                Review::Pending { .. } => r.pending += 1,
                // Counted as rejected: the requester did reject it.
                Review::Upheld { rejected, .. } => {
                    r.rejected += 1;
                    review_times.push(rejected.saturating_sub(s.at));
                }
            }
            if let Some(at) = s.review.accepted_at() {
                let cur = s.pay.currency.clone();
                let due = s.pay.minor.saturating_add(s.topup);
                let m = minutes.entry(cur.clone()).or_default();
                m.0 += u128::from(due);
                m.1 += u128::from(s.minutes);
                *r.topups.entry(cur.clone()).or_default() += s.topup;
                dues.entry((s.member, cur)).or_default().push((at, due));
            }
        }
        r.median_review_ms = median(review_times);
        for (cur, (paid, mins)) in minutes {
            if let Some(rate) = (paid * 60).checked_div(mins) {
                r.hourly_rate
                    .insert(cur, u64::try_from(rate).unwrap_or(u64::MAX));
            }
        }
        for ((req, _, cur), bal) in &all.balances {
            if req != requester {
                continue;
            }
            if bal.owed() > 0 {
                let u = r.unpaid.entry(cur.clone()).or_default();
                *u = u.saturating_add(bal.owed());
            }
            if bal.unconfirmed() > 0 {
                let u = r.unconfirmed.entry(cur.clone()).or_default();
                *u = u.saturating_add(bal.unconfirmed());
            }
        }
        r.not_received = all.not_received.get(requester).copied().unwrap_or(0);
        for a in all.appeals.iter().filter(|a| a.requester == *requester) {
            r.appeals += 1;
            match a.outcome {
                crate::appeal::Outcome::Dismissed { .. } => r.appeals_dismissed += 1,
                ref o if o.upheld_at().is_some() => r.appeals_upheld += 1,
                _ => {}
            }
        }
        r.median_pay_ms = median(self.pay_delays(requester, dues, all.timeline));
        let mut sums = [0u32; 4];
        let tl = all.timeline;
        for id in self.ids(Kind::Review) {
            let Some(Body::Review(x)) = tl
                .and_then(|tl| self.live_id(id, tl))
                .map(|v| &v.entry().body)
            else {
                continue;
            };
            if tl.is_some_and(|tl| tl.identity(&x.requester) == *requester) {
                r.reviews += 1;
                for (s, v) in
                    sums.iter_mut()
                        .zip([x.pay, x.fairness, x.promptness, x.communication])
                {
                    *s += u32::from(v);
                }
            }
        }
        if r.reviews > 0 {
            let n = u32::try_from(r.reviews).unwrap_or(u32::MAX);
            r.scores = Some(sums.map(|s| s * 100 / n));
        }
        r
    }

    /// The reviews that count on each of `requesters`' records (those its scores average),
    /// each with its reviewer's stable identity (a device's review is its member's), newest
    /// first. One timeline and one pass over the reviews for all of them (a listing names
    /// many requesters).
    pub fn reviews_of(
        &self,
        requesters: &[PublicKey],
    ) -> BTreeMap<PublicKey, Vec<(PublicKey, &Verified)>> {
        let mut out: BTreeMap<PublicKey, Vec<(PublicKey, &Verified)>> = BTreeMap::new();
        let Some(tl) = self.timeline() else {
            return out;
        };
        for v in self.ids(Kind::Review).filter_map(|id| self.live_id(id, tl)) {
            let Body::Review(x) = &v.entry().body else {
                continue;
            };
            let requester = tl.identity(&x.requester);
            if requesters.contains(&requester) {
                out.entry(requester)
                    .or_default()
                    .push((tl.identity(&self.who(v)), v));
            }
        }
        for said in out.values_mut() {
            said.sort_by_key(|(_, v)| std::cmp::Reverse((v.entry().ts, v.id())));
        }
        out
    }

    /// Time from each acceptance to the payment that covered it: settlements are matched
    /// to dues first in, first out, per member and currency.
    fn pay_delays(
        &self,
        requester: &PublicKey,
        mut dues: BTreeMap<(PublicKey, Currency), Vec<(Timestamp, u64)>>,
        tl: Option<&Timeline>,
    ) -> Vec<u64> {
        let mut settles: BTreeMap<(PublicKey, Currency), Vec<(Timestamp, u64)>> = BTreeMap::new();
        let Some(tl) = tl else {
            return vec![];
        };
        for id in self.ids(Kind::Settle) {
            let Some(v) = self.paid(id, tl) else {
                continue;
            };
            // Time to pay is time to a payment the member confirmed.
            if tl.identity(&self.who(v)) != *requester || self.answer(id, tl) != Some(true) {
                continue;
            }
            if let Body::Settle(s) = &v.entry().body {
                settles
                    .entry((tl.identity(&s.member), s.amount.currency.clone()))
                    .or_default()
                    .push((v.entry().ts, s.amount.minor));
            }
        }
        let mut delays = Vec::new();
        for (k, d) in dues.iter_mut() {
            d.sort_unstable();
            let mut pays = settles.remove(k).unwrap_or_default();
            pays.sort_unstable();
            let mut pays = pays.into_iter();
            let mut credit: u64 = 0;
            let mut credit_at: Timestamp = 0;
            for (at, amount) in d.iter() {
                while credit < *amount {
                    let Some((t, m)) = pays.next() else { break };
                    credit = credit.saturating_add(m);
                    credit_at = t;
                }
                if credit < *amount {
                    break;
                }
                credit -= amount;
                delays.push(credit_at.saturating_sub(*at));
            }
        }
        delays
    }

    /// The timeline ([`Coop::timeline`]) with the witnessed times of the enactments given
    /// by the caller: `seen_at` holds an enactment's witnessed time (docs/protocol.md 5.7),
    /// absent while nobody else has witnessed it. For a fold that holds only the
    /// governance entries while the entries that witness them are counted elsewhere (the
    /// streaming audit); `timeline()` is `timeline_seen(&self.witnessed())`.
    pub fn timeline_seen(&self, seen_at: &BTreeMap<Id, Timestamp>) -> Option<Timeline> {
        let charter = self.id.and_then(|id| self.entries.get(&id))?;
        let Body::Charter(c) = &charter.entry().body else {
            return None;
        };
        let mut enacts: Vec<(Timestamp, Id, &crate::body::Enact)> = self
            .ids(Kind::Enact)
            .filter_map(|id| self.entries.get(id))
            .filter(|v| self.counts(v))
            .filter_map(|v| match &v.entry().body {
                Body::Enact(e) => Some((effective(v, e, seen_at), v.id(), e)),
                _ => None,
            })
            .collect();
        enacts.sort_by_key(|(at, id, _)| (*at, *id));
        let mut rules = Rules::from_charter(c);
        let mut steps = vec![(0, rules.clone())];
        let mut seen = BTreeSet::new();
        // Revocations by members themselves, then those by vote and replacements.
        // A device enrolled for two members counts for nobody: cut from the start.
        let mut cut: BTreeMap<PublicKey, Timestamp> = self
            .enrolls
            .iter()
            .filter_map(|(k, by)| Some((*k, if by.len() > 1 { 0 } else { self.revoked_at(k)? })))
            .collect();
        let mut revoked: BTreeMap<PublicKey, Revocation> = self
            .enrolls
            .keys()
            .filter_map(|k| {
                let member = self.enrolled(k)?;
                let at = self.revoked_by(k, &member)?;
                Some((
                    *k,
                    Revocation {
                        at,
                        by: RevokedBy::Member(member),
                    },
                ))
            })
            .collect();
        let mut root: BTreeMap<PublicKey, PublicKey> = BTreeMap::new();
        for (at, _, e) in enacts {
            let Some(Body::Proposal(p)) = self.entries.get(&e.proposal).map(|p| &p.entry().body)
            else {
                continue;
            };
            // Re-count every vote held on the proposal, yes and no, by the members really
            // in force just before: an enactment that named only the yes votes, or that
            // was enacted by people removed since, changes nothing.
            let (yes, no) = self.tally(&e.proposal, &rules);
            if !rules.passes(&p.action, yes, no) || !seen.insert(e.proposal) {
                continue;
            }
            // A replacement takes only a key with a role, for a key without one (as
            // `Rules::apply`, which does nothing otherwise).
            let replaces = match &p.action {
                crate::body::Action::ReplaceKey { old, new } => {
                    rules.may_request(old) && !rules.may_request(new)
                }
                _ => true,
            };
            rules.apply(&p.action);
            steps.push((at, rules.clone()));
            let mut cut_at = |k: PublicKey| {
                let c = cut.entry(k).or_insert(at);
                *c = (*c).min(at);
            };
            match &p.action {
                crate::body::Action::RevokeDevice(k) => {
                    cut_at(*k);
                    let by_vote = Revocation {
                        at,
                        by: RevokedBy::Vote(e.proposal),
                    };
                    let r = revoked.entry(*k).or_insert(by_vote);
                    if at < r.at {
                        *r = by_vote;
                    }
                }
                crate::body::Action::ReplaceKey { old, new } if replaces => {
                    cut_at(*old);
                    // The new key speaks for whatever identity the old one did.
                    let id = root.get(old).copied().unwrap_or(*old);
                    root.entry(*new).or_insert(id);
                }
                _ => {}
            }
        }
        // Entries dated before a cut of their key (or of the key they speak for) but
        // first witnessed more than the slack after it: backdated by whoever holds a
        // revoked device or a replaced key.
        let late = if cut.is_empty() {
            BTreeSet::new()
        } else {
            self.entries
                .values()
                .filter(|v| {
                    let c = [cut.get(&v.entry().author), cut.get(&self.who(v))]
                        .into_iter()
                        .flatten()
                        .min();
                    c.is_some_and(|c| {
                        seen_at
                            .get(&v.id())
                            .is_some_and(|w| *w > c.saturating_add(WITNESS_SLACK_MS))
                    })
                })
                .map(Verified::id)
                .collect()
        };
        let mut devices: BTreeMap<PublicKey, BTreeSet<PublicKey>> = BTreeMap::new();
        for (device, member) in self.enrolled_devices() {
            devices.entry(member).or_default().insert(device);
        }
        Some(Timeline {
            steps,
            cut,
            root,
            late,
            devices,
            revoked,
        })
    }
}

impl Coop {
    /// A held entry that counts by the full governance history (for [`crate::appeal`]).
    pub(crate) fn live_entry(&self, id: &Id, tl: &Timeline) -> Option<&Verified> {
        self.live_id(id, tl)
    }

    /// The live acceptances and rejections of `submission`.
    pub(crate) fn verdicts_of(&self, submission: &Id, tl: &Timeline) -> Vec<&Verified> {
        self.verdicts
            .get(submission)
            .into_iter()
            .flatten()
            .filter_map(|x| self.live_id(x, tl))
            .collect()
    }

    /// Every key that signed a valid claim on `offer`.
    pub(crate) fn claimants_of(&self, offer: &Id) -> Vec<PublicKey> {
        self.claims
            .range((*offer, PublicKey([0; 32]))..=(*offer, PublicKey([255; 32])))
            .map(|((_, k), _)| *k)
            .collect()
    }

    /// The entry of `ids` with the lowest (seq, id): for an author's entries of one kind,
    /// one on its trunk whenever there is one, which is what validation's ancestor checks
    /// need of "the first stored".
    fn lowest(&self, ids: Option<&BTreeSet<Id>>) -> Option<Id> {
        ids.into_iter()
            .flatten()
            .filter_map(|id| self.entries.get(id))
            .min_by_key(|v| (v.entry().seq, v.id()))
            .map(Verified::id)
    }
}

impl Context for Coop {
    fn entry(&self, id: &Id) -> Option<Verified> {
        self.entries.get(id).cloned()
    }
    fn head(&self, author: &PublicKey) -> Option<Head> {
        self.heads.get(author).copied()
    }
    fn at(&self, author: &PublicKey, seq: u64) -> Option<Id> {
        self.chains.get(&(*author, seq)).copied()
    }
    fn frozen(&self, author: &PublicKey) -> Option<u64> {
        self.frozen.get(author).copied()
    }
    fn claimed(&self, offer: &Id, member: &PublicKey) -> Option<Id> {
        self.claims.get(&(*offer, *member)).copied()
    }
    fn submitted(&self, offer: &Id, member: &PublicKey) -> Option<Id> {
        self.submits.get(&(*offer, *member)).copied()
    }
    fn assigned(&self, offer: &Id) -> Option<Id> {
        self.lowest(self.assigns.get(offer))
    }
    fn reviewed(&self, submission: &Id) -> Option<Id> {
        self.lowest(self.verdicts.get(submission))
    }
    fn voted(&self, proposal: &Id, member: &PublicKey) -> Option<Id> {
        self.votes.get(&(*proposal, *member)).copied()
    }
    fn answered(&self, settle: &Id) -> Option<Id> {
        self.lowest(self.receipts.get(settle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn topup_pays_extra_time_at_the_floor_up_to_the_cap() {
        // 3.00 for 15 min at a 12.00/h floor; 20 min reported: 4.00 due, 1.00 top-up.
        assert_eq!(topup(300, 15, 20, 20, 1200, 200), 100);
        // Reported under the estimate: no top-up (the pay stands).
        assert_eq!(topup(300, 15, 10, 10, 1200, 200), 0);
        // 90 min reported, cap 200 %, the others reported 15: 30 min credited, 6.00 due.
        assert_eq!(topup(300, 15, 90, 15, 1200, 200), 300);
        // Generous pay covers the extra time already.
        assert_eq!(topup(1000, 15, 30, 30, 1200, 200), 0);
    }

    #[test]
    fn the_median_of_reported_minutes_beats_a_low_estimate() {
        // Estimated at 1 minute, 0.40 paid; everyone reports an hour: the floor is owed
        // for the hour, 12.00 in all.
        assert_eq!(topup(40, 1, 60, 60, 1200, 200), 1160);
    }

    #[test]
    fn a_floor_pay_over_u64_max_still_gives_the_right_difference() {
        // floor * minutes / 60 is over u64::MAX; pay is close to it: the difference fits.
        let floor = u64::MAX;
        let pay = u64::MAX - 10;
        let due = (u128::from(floor) * 120).div_ceil(60);
        let want = u64::try_from(due - u128::from(pay)).unwrap_or(u64::MAX);
        assert_eq!(topup(pay, 60, 120, 120, floor, 200), want);
        assert_eq!(topup(u64::MAX, 1, 1, 1, 60, 100), 0);
    }

    proptest! {
        #[test]
        fn topup_never_overflows(pay: u64, est: u32, rep: u32, med: u32, floor: u64, cap: u32) {
            let _ = topup(pay, est, rep, med, floor, cap);
        }
    }
}
