//! The JSON the local API speaks: request bodies and the views it returns.
//!
//! Keys and ids are lowercase hex; times are milliseconds since the Unix epoch (UTC);
//! amounts are [`Amount`]s: integer minor units with their currency, plus the text a
//! person reads. Never floats. docs/api.md documents every route with these types.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use taawun_core::fold::{self, OfferState, Review};
use taawun_core::money::format_minor;
use taawun_core::{Id, Money, PublicKey, Timestamp};

/// An amount of money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Amount {
    /// Minor units (cents...).
    pub(crate) minor: u64,
    /// ISO 4217 code.
    pub(crate) currency: String,
    /// For people: `12.50 EUR`.
    pub(crate) text: String,
}

impl Amount {
    pub(crate) fn new(currency: &str, minor: u64) -> Self {
        Self {
            minor,
            currency: currency.to_owned(),
            text: format!("{} {currency}", format_minor(minor)),
        }
    }
}

impl From<&Money> for Amount {
    fn from(m: &Money) -> Self {
        Self::new(&m.currency, m.minor)
    }
}

/// An API error body: what went wrong, in words a person can act on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ErrorBody {
    /// The message.
    pub(crate) error: String,
}

/// A written entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Written {
    /// The entry's id.
    pub(crate) id: String,
    /// Its kind (`offer`, `claim`...).
    pub(crate) kind: String,
    /// Its timestamp.
    pub(crate) ts: Timestamp,
}

/// `GET /api/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Status {
    /// This node's public key (its member identity).
    pub(crate) key: String,
    /// Its libp2p peer id.
    pub(crate) peer_id: String,
    /// Addresses it listens on.
    pub(crate) listen: Vec<String>,
    /// Connected peers.
    pub(crate) peers: usize,
    /// Cooperatives held.
    pub(crate) coops: Vec<CoopSummary>,
}

/// One cooperative in [`Status`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CoopSummary {
    /// Its id.
    pub(crate) id: String,
    /// Its name.
    pub(crate) name: String,
    /// Entries held.
    pub(crate) entries: usize,
    /// Chains (authors) held.
    pub(crate) chains: usize,
    /// This node's role: `member`, `requester`, `member+requester` or `observer`.
    pub(crate) role: String,
}

/// A connected peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Peer {
    /// Its peer id.
    pub(crate) peer_id: String,
    /// Its gossip score, when known.
    pub(crate) score: Option<f64>,
}

/// `POST /api/coops`: found a cooperative with this node's key as first member.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateCoop {
    /// Its name.
    pub(crate) name: String,
    /// The minimum hourly rate: `12.50EUR` or `12.50EUR/h`.
    pub(crate) floor: String,
    /// Share of members needed to pass a proposal, in percent (default 50).
    #[serde(default)]
    pub(crate) quorum_pct: Option<u8>,
    /// Other founding members' public keys (hex).
    #[serde(default)]
    pub(crate) members: Vec<String>,
    /// Requesters admitted from the start (hex).
    #[serde(default)]
    pub(crate) requesters: Vec<String>,
    /// Limits to set instead of the defaults, by name (`max_review_window_ms`...).
    #[serde(default)]
    pub(crate) limits: BTreeMap<String, u64>,
}

/// `GET /api/coops/{coop}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CoopView {
    /// Its id.
    pub(crate) id: String,
    /// Its name.
    pub(crate) name: String,
    /// Members in force now.
    pub(crate) members: Vec<String>,
    /// Requesters in force now.
    pub(crate) requesters: Vec<String>,
    /// Floors per hour in force now.
    pub(crate) floors: Vec<Amount>,
    /// Quorum in percent, and the yes votes it takes now.
    pub(crate) quorum_pct: u8,
    /// Yes votes a proposal needs now.
    pub(crate) quorum_needed: usize,
    /// Limits in force now, by name.
    pub(crate) limits: BTreeMap<String, u64>,
    /// Every proposal, open or enacted.
    pub(crate) proposals: Vec<ProposalView>,
    /// Authors frozen for equivocation.
    pub(crate) frozen: Vec<String>,
    /// Entries held.
    pub(crate) entries: usize,
}

/// A proposal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ProposalView {
    /// Its id.
    pub(crate) id: String,
    /// Who proposed it.
    pub(crate) author: String,
    /// When.
    pub(crate) at: Timestamp,
    /// What it would do, in words.
    pub(crate) action: String,
    /// Why.
    pub(crate) reason: String,
    /// Members who voted yes.
    pub(crate) yes: Vec<String>,
    /// Members who voted no.
    pub(crate) no: Vec<String>,
    /// Yes votes needed.
    pub(crate) needed: usize,
    /// Enacted already.
    pub(crate) enacted: bool,
}

/// `POST /api/coops/{coop}/proposals`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Propose {
    /// `admit-member`, `remove-member`, `admit-requester`, `remove-requester`,
    /// `set-floor`, `set-quorum` or `set-limit`.
    pub(crate) action: String,
    /// The key concerned (admit/remove).
    #[serde(default)]
    pub(crate) key: Option<String>,
    /// The new floor (`set-floor`): `13.00EUR`.
    #[serde(default)]
    pub(crate) floor: Option<String>,
    /// The new quorum (`set-quorum`), in percent.
    #[serde(default)]
    pub(crate) quorum_pct: Option<u8>,
    /// The limit (`set-limit`), e.g. `max_review_window_ms`.
    #[serde(default)]
    pub(crate) limit: Option<String>,
    /// The limit's new value.
    #[serde(default)]
    pub(crate) value: Option<u64>,
    /// Why, for the members who vote.
    pub(crate) reason: String,
}

/// `POST /api/coops/{coop}/votes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VoteReq {
    /// The proposal's id.
    pub(crate) proposal: String,
    /// Yes or no.
    pub(crate) yes: bool,
}

/// `POST /api/coops/{coop}/offers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostOffer {
    /// Short title.
    pub(crate) title: String,
    /// What to do.
    #[serde(default)]
    pub(crate) description: String,
    /// What the work is for (required: members choose with it).
    pub(crate) purpose: String,
    /// Pay per assignment: `4.00EUR`.
    pub(crate) pay: String,
    /// Estimated minutes of work.
    pub(crate) minutes: u32,
    /// How many members may do it (default 1).
    #[serde(default)]
    pub(crate) assignments: Option<u32>,
    /// Time to expiry from now, in ms (default 7 days).
    #[serde(default)]
    pub(crate) expires_in_ms: Option<u64>,
    /// Review window, in ms (default 2 days).
    #[serde(default)]
    pub(crate) review_window_ms: Option<u64>,
    /// Claim window, in ms (default 10 minutes).
    #[serde(default)]
    pub(crate) claim_window_ms: Option<u64>,
}

/// An offer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OfferView {
    /// Its id.
    pub(crate) id: String,
    /// Its requester's key.
    pub(crate) requester: String,
    /// When it was posted.
    pub(crate) at: Timestamp,
    /// Title.
    pub(crate) title: String,
    /// Description.
    pub(crate) description: String,
    /// What the work is for.
    pub(crate) purpose: String,
    /// Pay per assignment.
    pub(crate) pay: Amount,
    /// Estimated minutes.
    pub(crate) minutes: u32,
    /// Pay per hour at the estimate.
    pub(crate) hourly: Amount,
    /// The floor per hour in force when it was posted.
    pub(crate) floor: Option<Amount>,
    /// Assignments.
    pub(crate) assignments: u32,
    /// `open`, `awaiting-assignment`, `assigned`, `withdrawn` or `expired`.
    pub(crate) state: String,
    /// When claims close (the lottery runs then).
    pub(crate) claim_closes_at: Timestamp,
    /// Expiry.
    pub(crate) expires_at: Timestamp,
    /// Review window, in ms.
    pub(crate) review_window_ms: u64,
    /// Claims received.
    pub(crate) claims: usize,
    /// Winners, once assigned.
    pub(crate) winners: Vec<String>,
    /// Whether this node's member claimed it.
    pub(crate) claimed_by_me: bool,
    /// Whether this node's member won it.
    pub(crate) assigned_to_me: bool,
    /// The requester's record as members see it.
    pub(crate) record: RecordView,
}

/// `POST .../offers/{offer}/assign`: winners by hand; none: the lottery.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignReq {
    /// The winners' keys; empty or absent: the cooperative's lottery picks them.
    #[serde(default)]
    pub(crate) winners: Vec<String>,
}

/// A submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SubmissionView {
    /// The Submit entry's id.
    pub(crate) id: String,
    /// The offer.
    pub(crate) offer: String,
    /// The offer's title.
    pub(crate) title: String,
    /// The member.
    pub(crate) member: String,
    /// The requester.
    pub(crate) requester: String,
    /// When submitted.
    pub(crate) at: Timestamp,
    /// Minutes reported.
    pub(crate) minutes: u32,
    /// `pending`, `accepted`, `accepted-by-default` or `rejected`.
    pub(crate) review: String,
    /// When accepted or rejected (or the review deadline while pending).
    pub(crate) review_at: Timestamp,
    /// The reason of a rejection.
    pub(crate) reason: Option<String>,
    /// Pay due on acceptance.
    pub(crate) pay: Amount,
    /// Top-up owed on acceptance.
    pub(crate) topup: Amount,
    /// Whether the result file has reached this node (requester side) or is held here.
    pub(crate) result_here: bool,
}

/// `POST .../submissions/{id}/reject`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectReq {
    /// Why (required).
    pub(crate) reason: String,
}

/// `POST /api/coops/{coop}/payments`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PayReq {
    /// The member paid.
    pub(crate) member: String,
    /// How much: `4.00EUR`.
    pub(crate) amount: String,
    /// The payment's reference outside the system (a transfer number...).
    pub(crate) reference: String,
}

/// A recorded payment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PaymentView {
    /// The Settle entry's id.
    pub(crate) id: String,
    /// The requester who paid.
    pub(crate) requester: String,
    /// The member paid.
    pub(crate) member: String,
    /// Amount.
    pub(crate) amount: Amount,
    /// Reference.
    pub(crate) reference: String,
    /// When recorded.
    pub(crate) at: Timestamp,
    /// Whether the member confirmed receipt.
    pub(crate) confirmed: bool,
}

/// `POST /api/coops/{coop}/reviews`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviewReq {
    /// The requester reviewed.
    pub(crate) requester: String,
    /// Scores from 1 to 5.
    pub(crate) pay: u8,
    /// Fairness of reviews, 1 to 5.
    pub(crate) fairness: u8,
    /// Promptness, 1 to 5.
    pub(crate) promptness: u8,
    /// Communication, 1 to 5.
    pub(crate) communication: u8,
    /// Free text.
    #[serde(default)]
    pub(crate) text: String,
}

/// A requester's record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RecordView {
    /// The requester.
    pub(crate) requester: String,
    /// Offers posted.
    pub(crate) offers: usize,
    /// Submissions received.
    pub(crate) submissions: usize,
    /// Accepted explicitly.
    pub(crate) accepted: usize,
    /// Accepted by default (review window passed).
    pub(crate) accepted_by_default: usize,
    /// Rejected.
    pub(crate) rejected: usize,
    /// Waiting for review.
    pub(crate) pending: usize,
    /// Median time to review, in ms.
    pub(crate) median_review_ms: Option<u64>,
    /// Median time from acceptance to payment, in ms.
    pub(crate) median_pay_ms: Option<u64>,
    /// Effective hourly rate paid for accepted work, per currency.
    pub(crate) hourly_rate: Vec<Amount>,
    /// Top-ups owed, per currency.
    pub(crate) topups: Vec<Amount>,
    /// Owed and not yet paid, per currency.
    pub(crate) unpaid: Vec<Amount>,
    /// Reviews received.
    pub(crate) reviews: usize,
    /// Mean review scores x100 (pay, fairness, promptness, communication).
    pub(crate) scores: Option<[u32; 4]>,
}

impl RecordView {
    pub(crate) fn new(requester: &PublicKey, r: &fold::Record) -> Self {
        let amounts = |m: &BTreeMap<String, u64>| -> Vec<Amount> {
            m.iter().map(|(c, v)| Amount::new(c, *v)).collect()
        };
        Self {
            requester: requester.to_hex(),
            offers: r.offers,
            submissions: r.submissions,
            accepted: r.accepted,
            accepted_by_default: r.accepted_by_default,
            rejected: r.rejected,
            pending: r.pending,
            median_review_ms: r.median_review_ms,
            median_pay_ms: r.median_pay_ms,
            hourly_rate: amounts(&r.hourly_rate),
            topups: amounts(&r.topups),
            unpaid: amounts(&r.unpaid),
            reviews: r.reviews,
            scores: r.scores,
        }
    }
}

/// One line of balances: what one requester owes one member in one currency.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BalanceView {
    /// The requester.
    pub(crate) requester: String,
    /// The member.
    pub(crate) member: String,
    /// Pay for accepted work.
    pub(crate) earned: Amount,
    /// Top-ups owed on it.
    pub(crate) topup: Amount,
    /// Recorded as paid.
    pub(crate) paid: Amount,
    /// Confirmed by the member.
    pub(crate) confirmed: Amount,
    /// Still owed.
    pub(crate) owed: Amount,
}

/// `POST /api/join`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JoinReq {
    /// The invite printed by `taawun coop invite`.
    pub(crate) invite: String,
}

/// `GET /api/coops/{coop}/invite`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InviteView {
    /// The invite text.
    pub(crate) invite: String,
    /// The cooperative.
    pub(crate) coop: String,
    /// The addresses it carries.
    pub(crate) addresses: Vec<String>,
}

/// `POST /api/import`: what became of an export file's entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ImportView {
    /// The cooperative.
    pub(crate) coop: String,
    /// Entries stored.
    pub(crate) stored: u64,
    /// Entries already held.
    pub(crate) duplicates: u64,
    /// Entries waiting for something the file does not hold.
    pub(crate) pending: u64,
    /// Entries refused by the rules (or forks).
    pub(crate) rejected: u64,
    /// Items that do not decode or whose signature does not verify.
    pub(crate) unreadable: u64,
}

/// An event of the live stream (`GET /api/events`, server-sent events).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub(crate) enum LiveEvent {
    /// An entry was stored.
    Entry {
        /// The cooperative.
        coop: String,
        /// The entry.
        id: String,
        /// `local`, `gossip`, `sync` or `released`.
        via: String,
    },
    /// A result file arrived (requester side).
    Result {
        /// The cooperative.
        coop: String,
        /// The submission.
        submission: String,
    },
    /// A peer connected or left.
    Peers {
        /// Peers connected now.
        count: usize,
    },
}

pub(crate) fn offer_state(s: &OfferState) -> &'static str {
    match s {
        OfferState::Open => "open",
        OfferState::AwaitingAssignment => "awaiting-assignment",
        OfferState::Assigned => "assigned",
        OfferState::Withdrawn => "withdrawn",
        OfferState::Expired => "expired",
    }
}

/// (state, time, reason) of a review.
pub(crate) fn review_state(r: &Review) -> (&'static str, Timestamp, Option<String>) {
    match r {
        Review::Pending { deadline } => ("pending", *deadline, None),
        Review::Accepted(t) => ("accepted", *t, None),
        Review::AcceptedByDefault(t) => ("accepted-by-default", *t, None),
        Review::Rejected { at, reason } => ("rejected", *at, Some(reason.clone())),
    }
}

/// Parses a hex id.
pub(crate) fn parse_id(what: &str, s: &str) -> Result<Id, String> {
    Id::from_hex(s.trim()).map_err(|e| format!("{what} `{s}` is not a 64-digit hex id: {e}"))
}

/// Parses a hex public key.
pub(crate) fn parse_key(what: &str, s: &str) -> Result<PublicKey, String> {
    PublicKey::from_hex(s.trim())
        .map_err(|e| format!("{what} `{s}` is not a 64-digit hex public key: {e}"))
}
