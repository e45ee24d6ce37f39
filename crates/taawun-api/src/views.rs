//! The JSON the local API speaks: request bodies and the views it returns.
//!
//! Keys and ids are lowercase hex; times are milliseconds since the Unix epoch (UTC);
//! amounts are [`Amount`]s: integer minor units with their currency, plus the text a
//! person reads. Never floats. docs/api.md documents every route with these types.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use taawun_core::fold::{self, OfferState, Review};
use taawun_core::money::{decimals, format_in};
use taawun_core::seal::Sealed;
use taawun_core::{Money, PublicKey, Timestamp};

/// An amount of money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// Minor units (cents, fils...).
    pub minor: u64,
    /// ISO 4217 code.
    pub currency: String,
    /// The currency's decimals (its ISO 4217 minor unit: 2 for EUR, 3 for JOD, 0 for
    /// XOF), so that a client writes and reads amounts as the node does.
    pub decimals: u8,
    /// For people, with exactly `decimals` decimals: `12.50 EUR`, `12.500 JOD`, `1250 XOF`.
    pub text: String,
}

impl Amount {
    pub fn new(currency: &str, minor: u64) -> Self {
        Self {
            minor,
            currency: currency.to_owned(),
            decimals: decimals(currency),
            text: format!("{} {currency}", format_in(minor, currency)),
        }
    }
}

impl From<&Money> for Amount {
    fn from(m: &Money) -> Self {
        Self::new(&m.currency, m.minor)
    }
}

/// An API error body: what went wrong, in words a person can act on, and for programs a
/// stable `code` with the `fields` of the refusal (docs/api.md, "Errors").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The message.
    pub error: String,
    /// What went wrong, for programs: the kind (`bad_request`, `not_found`...) or, for a
    /// rule of the protocol, the rule (`offer_below_floor`). `None` from nodes that
    /// predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The figures of a refusal (`{"currency": "EUR", "floor": 1250, ...}`), when it has
    /// some; amounts in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ErrorBody {
    /// A message with its code and no fields.
    pub fn new(code: &str, error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            code: Some(code.to_owned()),
            fields: None,
        }
    }
}

/// A written entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Written {
    /// The entry's id.
    pub id: String,
    /// Its kind (`offer`, `claim`...).
    pub kind: String,
    /// Its timestamp.
    pub ts: Timestamp,
}

/// `GET /api/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// This node's public key (its member identity).
    pub key: String,
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Addresses it listens on.
    pub listen: Vec<String>,
    /// Connected peers.
    pub peers: usize,
    /// Cooperatives held.
    pub coops: Vec<CoopSummary>,
}

/// One cooperative in [`Status`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoopSummary {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Entries held.
    pub entries: usize,
    /// Chains (authors) held.
    pub chains: usize,
    /// This node's role: `member`, `requester`, `member+requester` or `observer`.
    pub role: String,
    /// The key this node speaks for in it: its member's stable identity when it signs
    /// with a device key (docs/protocol.md 4.7, 8.7), else its own key. Listings filter
    /// "mine" by it.
    #[serde(default)]
    pub identity: String,
    /// Whether this node writes in it now (docs/protocol.md 13.11).
    pub writing: WritingView,
}

/// Whether a node writes as its member in a cooperative now: a node started from a data
/// folder waits until a peer confirmed the member's latest entry, so that a restored or
/// copied folder never signs a second entry at a seq already used elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritingView {
    /// Whether writes are held.
    pub waiting: bool,
    /// Why: `waiting`; or why writes go ahead: `confirmed` (a peer confirmed the member's
    /// latest entry), `founded` (founded by this node since it started), `only-member` (no
    /// other key holds a role), `override` (started with `--write-before-sync`).
    pub reason: String,
    /// Peers of this cooperative connected now (counted while waiting, else 0).
    pub peers: usize,
    /// In words, for people.
    pub message: String,
}

/// A connected peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Peer {
    /// Its peer id.
    pub peer_id: String,
    /// Its gossip score, when known.
    pub score: Option<f64>,
}

/// `POST /api/coops`: found a cooperative with this node's key as first member.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCoop {
    /// Its name.
    pub name: String,
    /// The minimum hourly rate: `12.50EUR` or `12.50EUR/h`.
    pub floor: String,
    /// Share of members needed to pass a proposal, in percent (default 50).
    #[serde(default)]
    pub quorum_pct: Option<u8>,
    /// Other founding members' public keys (hex).
    #[serde(default)]
    pub members: Vec<String>,
    /// Requesters admitted from the start (hex).
    #[serde(default)]
    pub requesters: Vec<String>,
    /// Display names of founders, by hex key (`me` for this node's key); the charter
    /// vouches for them. A founder left out is named by its short key.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// Limits to set instead of the defaults, by name (`max_review_window_ms`...).
    #[serde(default)]
    pub limits: BTreeMap<String, u64>,
}

/// `GET /api/coops/{coop}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoopView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Members in force now.
    pub members: Vec<String>,
    /// Requesters in force now.
    pub requesters: Vec<String>,
    /// Display names of members and requesters by key, from the entries that admitted
    /// them (the charter or the latest admission).
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// Floors per hour in force now.
    pub floors: Vec<Amount>,
    /// Quorum in percent of members.
    pub quorum_pct: u8,
    /// Votes (yes and no) that must be cast for a vote to count now.
    pub quorum_needed: usize,
    /// Limits in force now, by name.
    pub limits: BTreeMap<String, u64>,
    /// Every proposal, open or enacted.
    pub proposals: Vec<ProposalView>,
    /// Authors frozen for equivocation.
    pub frozen: Vec<String>,
    /// Entries held.
    pub entries: usize,
}

/// A proposal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProposalView {
    /// Its id.
    pub id: String,
    /// Who proposed it.
    pub author: String,
    /// When.
    pub at: Timestamp,
    /// What it would do, in words.
    pub action: String,
    /// Why.
    pub reason: String,
    /// Members who voted yes.
    pub yes: Vec<String>,
    /// Members who voted no.
    pub no: Vec<String>,
    /// Votes (yes and no) needed for the quorum.
    pub needed: usize,
    /// Enacted already.
    pub enacted: bool,
    /// When it stops taking votes and enactments.
    pub expires_at: Timestamp,
    /// Whether the votes held pass it: the quorum of votes cast, and yes over the
    /// majority its action needs (`majority_pct`, or `supermajority_pct` for removing a
    /// member, changing the quorum, lowering a floor or a threshold).
    pub passes: bool,
    /// Whether its action needs the supermajority.
    pub weighty: bool,
}

/// `POST /api/coops/{coop}/proposals`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Propose {
    /// `admit-member`, `remove-member`, `admit-requester`, `remove-requester`,
    /// `set-floor`, `set-quorum`, `set-limit`, `revoke-device` or `replace-key`.
    pub action: String,
    /// The key concerned (admit/remove, the device to revoke, the lost key to replace).
    #[serde(default)]
    pub key: Option<String>,
    /// The key that replaces `key` (`replace-key`).
    #[serde(default)]
    pub new_key: Option<String>,
    /// The display name the cooperative vouches for (admit, required).
    #[serde(default)]
    pub name: Option<String>,
    /// The new floor (`set-floor`): `13.00EUR`.
    #[serde(default)]
    pub floor: Option<String>,
    /// The new quorum (`set-quorum`), in percent.
    #[serde(default)]
    pub quorum_pct: Option<u8>,
    /// The limit (`set-limit`), e.g. `max_review_window_ms`.
    #[serde(default)]
    pub limit: Option<String>,
    /// The limit's new value.
    #[serde(default)]
    pub value: Option<u64>,
    /// Why, for the members who vote.
    pub reason: String,
}

/// `POST /api/coops/{coop}/devices`: authorise a device key to write for this node's
/// member or requester (docs/member.md, "Devices").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddDevice {
    /// The device's public key (`taawun init --device-of` prints it).
    pub key: String,
    /// A short name for it ("camp laptop"), one line.
    #[serde(default)]
    pub label: String,
}

/// One device of this node's member or requester (`GET /api/coops/{coop}/devices`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceView {
    /// The device key.
    pub key: String,
    /// Its label, as authorised.
    pub label: String,
    /// Whether it enrolled (wrote its first entry).
    pub enrolled: bool,
    /// When it enrolled: the time its `enroll` entry states.
    #[serde(default)]
    pub enrolled_at: Option<Timestamp>,
    /// When it was revoked, by its member or by a cooperative vote, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// `POST /api/coops/{coop}/votes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteReq {
    /// The proposal's id.
    pub proposal: String,
    /// Yes or no.
    pub yes: bool,
}

/// `POST /api/coops/{coop}/offers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostOffer {
    /// Short title.
    pub title: String,
    /// What to do.
    #[serde(default)]
    pub description: String,
    /// What the work is for (required: members choose with it).
    pub purpose: String,
    /// Pay per assignment: `4.00EUR`.
    pub pay: String,
    /// Estimated minutes of work.
    pub minutes: u32,
    /// How many members may do it (default 1).
    #[serde(default)]
    pub assignments: Option<u32>,
    /// Time to expiry from now, in ms (default 7 days).
    #[serde(default)]
    pub expires_in_ms: Option<u64>,
    /// Review window, in ms (default 2 days).
    #[serde(default)]
    pub review_window_ms: Option<u64>,
    /// Claim window, in ms (default 10 minutes).
    #[serde(default)]
    pub claim_window_ms: Option<u64>,
}

/// `GET /api/coops/{coop}/offers` query: which offers, newest first. Filters combine
/// with "and"; `mine` then adds this node's member's own offers back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferQuery {
    /// States to list, comma-separated (`open,awaiting-assignment`); absent: all.
    #[serde(default)]
    pub state: Option<String>,
    /// Only this requester's offers: a hex key, or `me` (this node's key).
    #[serde(default)]
    pub requester: Option<String>,
    /// `true`: also list, whatever their state, the offers this node's member claimed
    /// or won. (Query values are kept as text so that a bad one is named in the error.)
    #[serde(default)]
    pub mine: Option<String>,
    /// Only offers whose id starts with these hex digits.
    #[serde(default)]
    pub id_prefix: Option<String>,
    /// Offers to skip (newest first), for the next page.
    #[serde(default)]
    pub offset: Option<String>,
    /// Most offers returned (default `DEFAULT_OFFER_PAGE`, at most `MAX_OFFER_PAGE`);
    /// the header `x-total-count` says how many match in all.
    #[serde(default)]
    pub limit: Option<String>,
}

/// An offer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OfferView {
    /// Its id.
    pub id: String,
    /// Its requester's key.
    pub requester: String,
    /// Its display name, from the entry that admitted it (the charter or an
    /// admission), when the rules hold one.
    #[serde(default)]
    pub requester_name: Option<String>,
    /// When it was posted.
    pub at: Timestamp,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// What the work is for.
    pub purpose: String,
    /// Pay per assignment.
    pub pay: Amount,
    /// Estimated minutes.
    pub minutes: u32,
    /// Pay per hour at the estimate.
    pub hourly: Amount,
    /// The floor per hour in force when it was posted.
    pub floor: Option<Amount>,
    /// Assignments.
    pub assignments: u32,
    /// `open`, `awaiting-assignment`, `assigned`, `withdrawn` or `expired`.
    pub state: String,
    /// When claims close (the lottery runs then).
    pub claim_closes_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Review window, in ms.
    pub review_window_ms: u64,
    /// Claims that count: made by the close of the claim window (a claim made after it
    /// is valid but takes no part in the draw).
    pub claims: usize,
    /// Members holding a place of the draw now (waiting for their work, or done), once
    /// assigned: the winners, and whoever a lapsed place passed to.
    pub winners: Vec<String>,
    /// Whether this node's member claimed it.
    pub claimed_by_me: bool,
    /// Whether this node's member holds a place of the draw that has not lapsed.
    pub assigned_to_me: bool,
    /// The requester's record as members see it.
    pub record: RecordView,
    /// Every place of the draw in the order they were given, lapsed ones included; empty
    /// until a fair assignment counts.
    #[serde(default)]
    pub places: Vec<PlaceView>,
    /// Assignments of this offer that do not count: they left out a claim made in the
    /// window, named one made after it, or came before the window closed.
    #[serde(default)]
    pub void_assignments: usize,
    /// Whether this node's member's claim takes part in the draw: `false` when it was
    /// made after the claim window; null when this node's member did not claim.
    #[serde(default)]
    pub my_claim_counts: Option<bool>,
    /// When this node's member's open place ends: work made later does not fill it and
    /// is not owed. Null without an open place.
    #[serde(default)]
    pub submit_by: Option<Timestamp>,
}

/// One place of an offer's draw: who holds it, from when, and by when its work must be
/// made (the cooperative's `submit_window_ms` after `from`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceView {
    /// The member holding it.
    pub member: String,
    /// Its display name, from the entry that admitted it (the charter or an
    /// admission), when the rules hold one.
    #[serde(default)]
    pub member_name: Option<String>,
    /// When it became theirs: the assignment, or the lapse of the place before.
    pub from: Timestamp,
    /// Work must be made by then to fill it.
    pub until: Timestamp,
    /// `open` (waiting for the work), `filled` (by `submission`) or `lapsed` (no work in
    /// time: the place passed to the next claimant of the lottery's ranking).
    pub state: String,
    /// The submission that filled it.
    pub submission: Option<String>,
}

impl PlaceView {
    pub fn new(p: &fold::Place) -> Self {
        let (state, submission) = match &p.state {
            fold::PlaceState::Open => ("open", None),
            fold::PlaceState::Filled(s) => ("filled", Some(s.to_hex())),
            fold::PlaceState::Lapsed => ("lapsed", None),
        };
        Self {
            member: p.member.to_hex(),
            member_name: None,
            from: p.from,
            until: p.until,
            state: state.to_owned(),
            submission,
        }
    }
}

/// `POST .../offers/{offer}/assign`: winners by hand; none: the lottery.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignReq {
    /// The winners' keys; empty or absent: the cooperative's lottery picks them.
    #[serde(default)]
    pub winners: Vec<String>,
}

/// `GET /api/coops/{coop}/submissions` query: which submissions, in the order they were
/// made. Filters combine with "and"; without `limit`, every match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionQuery {
    /// Only this member's: a hex key, or `me`.
    #[serde(default)]
    pub member: Option<String>,
    /// Only those to this requester: a hex key, or `me`.
    #[serde(default)]
    pub requester: Option<String>,
    /// Only those this key made or received: a hex key, or `me`.
    #[serde(default)]
    pub involving: Option<String>,
    /// Review states, comma-separated: `pending`, `accepted`, `accepted-by-default`,
    /// `rejected`; absent: all.
    #[serde(default)]
    pub review: Option<String>,
    /// Only submissions whose id starts with these hex digits.
    #[serde(default)]
    pub id_prefix: Option<String>,
    /// Matches to skip first.
    #[serde(default)]
    pub offset: Option<String>,
    /// Most submissions returned; the header `x-total-count` says how many match.
    #[serde(default)]
    pub limit: Option<String>,
}

/// A submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmissionView {
    /// The Submit entry's id.
    pub id: String,
    /// The offer.
    pub offer: String,
    /// The offer's title.
    pub title: String,
    /// The member.
    pub member: String,
    /// Its display name, from the entry that admitted it (the charter or an
    /// admission), when the rules hold one.
    #[serde(default)]
    pub member_name: Option<String>,
    /// The requester.
    pub requester: String,
    /// Its display name, from the entry that admitted it (the charter or an
    /// admission), when the rules hold one.
    #[serde(default)]
    pub requester_name: Option<String>,
    /// When submitted.
    pub at: Timestamp,
    /// When another node first witnessed it (its review window runs from then if that
    /// came more than 15 minutes after `at`); null until one has.
    pub witnessed_at: Option<Timestamp>,
    /// Minutes reported.
    pub minutes: u32,
    /// `pending`, `accepted`, `accepted-by-default` or `rejected`.
    pub review: String,
    /// When accepted or rejected (or the review deadline while pending).
    pub review_at: Timestamp,
    /// The reason of a rejection: sealed to the member and the requester, so `null` for
    /// every other reader (and for work not rejected).
    pub reason: Option<String>,
    /// Which text rule the opened reason breaks, or why it does not open though sealed to
    /// this node.
    #[serde(default)]
    pub reason_flag: Option<String>,
    /// Pay due on acceptance.
    pub pay: Amount,
    /// Top-up owed on acceptance.
    pub topup: Amount,
    /// Whether the result file has reached this node (requester side) or is held here.
    pub result_here: bool,
}

/// `POST .../submissions/{id}/reject`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectReq {
    /// Why (required).
    pub reason: String,
}

/// `POST /api/coops/{coop}/payments`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayReq {
    /// The member paid.
    pub member: String,
    /// How much: `4.00EUR`.
    pub amount: String,
    /// The payment's reference outside the system (a transfer number...).
    pub reference: String,
}

/// `GET /api/coops/{coop}/payments` query: which payments, newest first. Filters combine
/// with "and"; without `limit`, every match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentQuery {
    /// Only those to this member: a hex key, or `me`.
    #[serde(default)]
    pub member: Option<String>,
    /// Only those from this requester: a hex key, or `me`.
    #[serde(default)]
    pub requester: Option<String>,
    /// Only payments whose id starts with these hex digits.
    #[serde(default)]
    pub id_prefix: Option<String>,
    /// Matches to skip first.
    #[serde(default)]
    pub offset: Option<String>,
    /// Most payments returned; the header `x-total-count` says how many match.
    #[serde(default)]
    pub limit: Option<String>,
}

/// A recorded payment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentView {
    /// The Settle entry's id.
    pub id: String,
    /// The requester who paid.
    pub requester: String,
    /// Its display name, from the entry that admitted it (the charter or an
    /// admission), when the rules hold one.
    #[serde(default)]
    pub requester_name: Option<String>,
    /// The member paid.
    pub member: String,
    /// Its display name, from the entry that admitted it (the charter or an
    /// admission), when the rules hold one.
    #[serde(default)]
    pub member_name: Option<String>,
    /// Amount.
    pub amount: Amount,
    /// The payment's reference, when this node holds a key it was sealed to (the member
    /// paid, the requester, or one of their devices); null for every other node, to
    /// which it stays sealed (docs/protocol.md 3.7).
    pub reference: Option<String>,
    /// Set when the reference opened but breaks the text rule (its author's node did
    /// not check it): what is wrong with it.
    #[serde(default)]
    pub reference_flag: Option<String>,
    /// When recorded.
    pub at: Timestamp,
    /// Whether the member confirmed receipt.
    pub confirmed: bool,
    /// Whether the member answered "not received".
    pub not_received: bool,
}

/// `POST /api/coops/{coop}/payments/{settle}/confirm`: the member's answer to a
/// payment. An empty body confirms it was received.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmReq {
    /// `true` (the default): received. `false`: not received, shown on the
    /// requester's record; what is owed stays owed.
    #[serde(default = "yes")]
    pub received: bool,
}

fn yes() -> bool {
    true
}

impl Default for ConfirmReq {
    fn default() -> Self {
        Self { received: true }
    }
}

/// `POST /api/coops/{coop}/reviews`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewReq {
    /// The requester reviewed.
    pub requester: String,
    /// Scores from 1 to 5.
    pub pay: u8,
    /// Fairness of reviews, 1 to 5.
    pub fairness: u8,
    /// Promptness, 1 to 5.
    pub promptness: u8,
    /// Communication, 1 to 5.
    pub communication: u8,
    /// Free text.
    #[serde(default)]
    pub text: String,
}

/// A requester's record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecordView {
    /// The requester.
    pub requester: String,
    /// Its display name, from the entry that admitted it (the charter or an
    /// admission), when the rules hold one.
    #[serde(default)]
    pub requester_name: Option<String>,
    /// Offers posted.
    pub offers: usize,
    /// Submissions received.
    pub submissions: usize,
    /// Accepted explicitly.
    pub accepted: usize,
    /// Accepted by default (review window passed).
    pub accepted_by_default: usize,
    /// Rejected.
    pub rejected: usize,
    /// Waiting for review.
    pub pending: usize,
    /// Median time to review, in ms.
    pub median_review_ms: Option<u64>,
    /// Median time from acceptance to payment, in ms.
    pub median_pay_ms: Option<u64>,
    /// Effective hourly rate paid for accepted work, per currency.
    pub hourly_rate: Vec<Amount>,
    /// Top-ups owed, per currency.
    pub topups: Vec<Amount>,
    /// Owed and not confirmed paid, per currency (a payment lowers it only once the
    /// member confirms it).
    pub unpaid: Vec<Amount>,
    /// Claimed paid, not confirmed: recorded payments its members have not answered
    /// yet, per currency.
    pub unconfirmed: Vec<Amount>,
    /// Payments its members answered "not received".
    pub not_received: usize,
    /// Reviews received.
    pub reviews: usize,
    /// Mean review scores x100 (pay, fairness, promptness, communication).
    pub scores: Option<[u32; 4]>,
    /// Assignments of its offers that do not count because they left out a claim made in
    /// the window, named one made after it, or came before the window closed: attempts
    /// to choose who wins.
    #[serde(default)]
    pub void_assignments: usize,
    /// Appeals of its rejections that count (docs/protocol.md 8.8).
    #[serde(default)]
    pub appeals: usize,
    /// Of them, upheld (by a majority of the jury or by default): the rejection was void.
    #[serde(default)]
    pub appeals_upheld: usize,
    /// Of them, dismissed: the rejection stands.
    #[serde(default)]
    pub appeals_dismissed: usize,
    /// What members wrote in their reviews, newest first (at most
    /// [`MAX_RECORD_COMMENTS`]; reviews without text are left out).
    #[serde(default)]
    pub comments: Vec<ReviewComment>,
}

/// Comments a record carries at most: the newest, enough to read how a requester treats
/// members without making every offer's view long.
pub const MAX_RECORD_COMMENTS: usize = 5;

/// A member's review of a requester, as its record shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewComment {
    /// The member who wrote it.
    pub member: String,
    /// Its display name, from the entry that admitted it (the charter or an
    /// admission), when the rules hold one.
    #[serde(default)]
    pub member_name: Option<String>,
    /// When, ms since the epoch.
    pub at: u64,
    /// Scores (pay, fairness, promptness, communication), 1 to 5.
    pub scores: [u8; 4],
    /// What they wrote: sealed to the member and the requester, so `null` for every
    /// other reader (the comment exists, its words stay sealed).
    pub text: Option<String>,
    /// Which text rule the opened text breaks, or why it does not open though sealed to
    /// this node.
    #[serde(default)]
    pub text_flag: Option<String>,
}

impl RecordView {
    pub fn new(requester: &PublicKey, r: &fold::Record) -> Self {
        let amounts = |m: &BTreeMap<String, u64>| -> Vec<Amount> {
            m.iter().map(|(c, v)| Amount::new(c, *v)).collect()
        };
        Self {
            requester: requester.to_hex(),
            requester_name: None,
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
            unconfirmed: amounts(&r.unconfirmed),
            not_received: r.not_received,
            reviews: r.reviews,
            scores: r.scores,
            void_assignments: r.void_assignments,
            appeals: r.appeals,
            appeals_upheld: r.appeals_upheld,
            appeals_dismissed: r.appeals_dismissed,
            comments: Vec::new(),
        }
    }
}

/// One line of balances: what one requester owes one member in one currency.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BalanceView {
    /// The requester.
    pub requester: String,
    /// Its display name, from the entry that admitted it (the charter or an
    /// admission), when the rules hold one.
    #[serde(default)]
    pub requester_name: Option<String>,
    /// The member.
    pub member: String,
    /// Its display name, from the entry that admitted it (the charter or an
    /// admission), when the rules hold one.
    #[serde(default)]
    pub member_name: Option<String>,
    /// Pay for accepted work.
    pub earned: Amount,
    /// Top-ups owed on it.
    pub topup: Amount,
    /// Recorded as paid (every payment, answered or not).
    pub paid: Amount,
    /// Confirmed received by the member.
    pub confirmed: Amount,
    /// Answered "not received" by the member.
    pub denied: Amount,
    /// Claimed paid, not confirmed: recorded payments the member has not answered yet.
    pub unconfirmed: Amount,
    /// Still owed: earned + top-ups - confirmed.
    pub owed: Amount,
}

/// `POST /api/join`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinReq {
    /// The invite printed by `taawun coop invite`.
    pub invite: String,
}

/// `GET /api/coops/{coop}/invite`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteView {
    /// The invite text.
    pub invite: String,
    /// The cooperative.
    pub coop: String,
    /// The addresses it carries.
    pub addresses: Vec<String>,
}

/// `POST /api/import`: what became of an export file's entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportView {
    /// The cooperative.
    pub coop: String,
    /// Entries stored.
    pub stored: u64,
    /// Entries already held.
    pub duplicates: u64,
    /// Entries waiting for something the file does not hold.
    pub pending: u64,
    /// Entries refused by the rules.
    pub rejected: u64,
    /// Second entries at a seq their author had already used: valid, stored beside the
    /// chain with the evidence, and their author is frozen (docs/protocol.md section 9).
    #[serde(default)]
    pub forks: u64,
    /// Items that do not decode or whose signature does not verify.
    pub unreadable: u64,
}

/// An event of the live stream (`GET /api/events`, server-sent events).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum LiveEvent {
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

pub fn offer_state(s: &OfferState) -> &'static str {
    crate::states::offer_state_name(s)
}

/// (state, time, sealed reason) of a review: the node opens the reason if it can.
pub fn review_state(r: &Review) -> (&'static str, Timestamp, Option<&Sealed>) {
    let name = crate::states::review_name(&r.into());
    match r {
        Review::Pending { deadline } => (name, *deadline, None),
        Review::Accepted(t) | Review::AcceptedByDefault(t) | Review::Upheld { at: t, .. } => {
            (name, *t, None)
        }
        Review::Rejected { at, reason } => (name, *at, Some(reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> OfferView {
        OfferView {
            id: "aa".repeat(32),
            requester: "bb".repeat(32),
            requester_name: Some("Relief desk".into()),
            at: 1_000,
            title: "Transcribe".into(),
            description: String::new(),
            purpose: "Archive".into(),
            pay: Amount::new("EUR", 400),
            minutes: 15,
            hourly: Amount::new("EUR", 1600),
            floor: None,
            assignments: 1,
            state: "assigned".into(),
            claim_closes_at: 601_000,
            expires_at: 10_000_000,
            review_window_ms: 1,
            claims: 2,
            winners: vec!["cc".repeat(32)],
            claimed_by_me: true,
            assigned_to_me: true,
            record: RecordView {
                void_assignments: 1,
                ..RecordView::default()
            },
            places: vec![PlaceView {
                member: "cc".repeat(32),
                member_name: None,
                from: 700_000,
                until: 800_000,
                state: "open".into(),
                submission: None,
            }],
            void_assignments: 1,
            my_claim_counts: Some(true),
            submit_by: Some(800_000),
        }
    }

    #[test]
    fn an_offer_written_before_the_places_still_reads() {
        let mut v = serde_json::to_value(offer()).expect("json");
        let round: OfferView = serde_json::from_value(v.clone()).expect("reads back");
        assert_eq!(round.places, offer().places);
        assert_eq!(round.submit_by, Some(800_000));
        assert_eq!(round.requester_name.as_deref(), Some("Relief desk"));
        for k in [
            "places",
            "void_assignments",
            "my_claim_counts",
            "submit_by",
            "requester_name",
        ] {
            v.as_object_mut().expect("object").remove(k);
        }
        v["record"]
            .as_object_mut()
            .expect("object")
            .remove("void_assignments");
        let old: OfferView = serde_json::from_value(v).expect("older JSON reads");
        assert!(old.places.is_empty());
        assert_eq!(old.void_assignments, 0);
        assert_eq!(old.my_claim_counts, None);
        assert_eq!(old.submit_by, None);
        assert_eq!(old.requester_name, None);
        assert_eq!(old.record.void_assignments, 0);
    }
}
