//! What the fold answers with: places, reviews, submissions, offers, proposals, balances
//! and records (plain data).

use super::*;

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
pub(super) struct Draw<'a> {
    /// The assignment that counts: the lowest (seq, id) of the fair ones.
    pub(super) assign: Option<&'a Verified>,
    /// Every fair assignment (each names exactly the claims that count).
    pub(super) fair: BTreeSet<Id>,
    /// Assignments that do not count: they leave out a claim that counts, name one that
    /// does not, or came before the claim window closed.
    pub(super) void: usize,
    /// The places, in the order they were given.
    pub(super) places: Vec<Place>,
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
pub(super) struct Passes<'a> {
    pub(super) offers: Vec<OfferView>,
    pub(super) submissions: Vec<Submission>,
    pub(super) balances: BTreeMap<BalanceKey, Balance>,
    pub(super) timeline: Option<&'a Timeline>,
    /// Settlements answered "not received", per requester.
    pub(super) not_received: BTreeMap<PublicKey, usize>,
    /// Appeals that count.
    pub(super) appeals: Vec<crate::appeal::AppealView>,
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
