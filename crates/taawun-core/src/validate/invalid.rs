//! [`Invalid`]: every rule an entry can break, each with what a person needs to see why.

use super::*;

/// A broken rule. Each variant carries what a person needs to see why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)]
pub enum Invalid {
    #[error("entry belongs to cooperative {found:?}, not {expected}")]
    WrongCoop { expected: Id, found: Option<Id> },
    #[error("bad charter: {0}")]
    BadCharter(String),
    #[error("seq must start at 1")]
    SeqZero,
    #[error("prev is {found:?} but the author's entry at seq {seq} is {expected:?}")]
    WrongPrev {
        seq: u64,
        expected: Option<Id>,
        found: Option<Id>,
    },
    #[error("timestamp {ts} is before the author's previous entry ({prev_ts})")]
    TimeBeforePrev { ts: Timestamp, prev_ts: Timestamp },
    #[error("timestamp {ts} is more than 5 minutes ahead of this node's clock ({now})")]
    FromTheFuture { ts: Timestamp, now: Timestamp },
    #[error("entry is timestamped {ts}, before {dep} ({dep_ts}) which it names")]
    BeforeDependency {
        dep: Id,
        dep_ts: Timestamp,
        ts: Timestamp,
    },
    #[error("entry of {size} bytes is over the cooperative's limit of {max} bytes")]
    Oversize { size: usize, max: u64 },
    #[error("{kind} by {author}, who is not allowed to write it: {why}")]
    NotAllowed {
        author: PublicKey,
        kind: Kind,
        why: &'static str,
    },
    #[error("{id} is a {found}, not a {expected}")]
    WrongKind { id: Id, expected: Kind, found: Kind },
    #[error("governance {gov} names {id}, which is not an enactment")]
    BadGov { gov: Id, id: Id },
    #[error("governance {found:?} does not include {previous}, which the author named before")]
    GovernanceRegressed { previous: Id, found: Option<Id> },
    #[error(
        "offer pays {} {currency}/h ({} {currency} for {minutes} min), under the floor of {} {currency}/h",
        format_in(*.offered_per_hour, currency), format_in(*.pay, currency), format_in(*.floor, currency)
    )]
    OfferBelowFloor {
        currency: Currency,
        pay: u64,
        minutes: u32,
        offered_per_hour: u64,
        floor: u64,
    },
    #[error("currency {0:?} has no floor in this cooperative, so offers in it are refused")]
    CurrencyNotAllowed(Currency),
    #[error("offer has no purpose: say what the work is for")]
    MissingPurpose,
    #[error("offer field {field} is invalid: {why}")]
    BadOffer { field: &'static str, why: String },
    #[error("offer {offer} expired at {expires_at}; entry is timestamped {ts}")]
    OfferExpired {
        offer: Id,
        expires_at: Timestamp,
        ts: Timestamp,
    },
    #[error("member already claimed offer {offer}")]
    DoubleClaim { offer: Id },
    #[error(
        "claim window of offer {offer} is open until {closes_at}; assignment is timestamped {ts}"
    )]
    ClaimWindowOpen {
        offer: Id,
        closes_at: Timestamp,
        ts: Timestamp,
    },
    #[error("claim {claim} is not a claim on offer {offer}, or is named twice")]
    ClaimNotForOffer { claim: Id, offer: Id },
    #[error("winners do not follow the lottery over the named claims: expected {expected:?}, found {found:?}")]
    LotteryMismatch {
        expected: Vec<PublicKey>,
        found: Vec<PublicKey>,
    },
    #[error("{member} is not among the winners of assignment {assign} for offer {offer}")]
    NotAssigned {
        member: PublicKey,
        assign: Id,
        offer: Id,
    },
    #[error("member already submitted for offer {offer}")]
    DoubleSubmit { offer: Id },
    #[error("result of {size} bytes is over the limit of {max} bytes")]
    ResultTooLarge { size: u64, max: u64 },
    #[error("minutes worked must be at least 1")]
    ZeroMinutes,
    #[error("submission {submission} was already accepted or rejected")]
    AlreadyReviewed { submission: Id },
    #[error("score {field} is {value}; scores go from 1 to 5")]
    BadScore { field: &'static str, value: u8 },
    #[error("amount is invalid: {0}")]
    BadAmount(String),
    #[error("sealed field is malformed: {0}")]
    BadSealed(String),
    #[error("member already voted on proposal {proposal}")]
    DoubleVote { proposal: Id },
    #[error("proposal {proposal} is already enacted on this governance path")]
    AlreadyEnacted { proposal: Id },
    #[error("vote {vote} is not a vote on proposal {proposal} by a distinct member")]
    BadVote { vote: Id, proposal: Id },
    #[error("{found} votes named, {needed} needed for the quorum")]
    QuorumNotReached { needed: usize, found: usize },
    #[error("amendment takes effect at {effective_at}, after the latest allowed {latest} (the enactment's time, the amendment delay and a day)")]
    EffectiveTooLate {
        effective_at: Timestamp,
        latest: Timestamp,
    },
    #[error("proposal {proposal} expired at {expired_at}; entry is timestamped {ts}")]
    ProposalExpired {
        proposal: Id,
        expired_at: Timestamp,
        ts: Timestamp,
    },
    #[error("the named votes do not pass it: {yes} yes, {no} no, yes must be over {pct} % of the votes cast")]
    NotPassed { yes: usize, no: usize, pct: u8 },
    #[error("the revealed secret does not match the offer's lottery commitment")]
    BadReveal,
    #[error("settlement {settle} was already answered")]
    AlreadyAnswered { settle: Id },
    #[error("amendment takes effect at {effective_at}, before the earliest allowed {earliest}")]
    EffectiveTooSoon {
        effective_at: Timestamp,
        earliest: Timestamp,
    },
    #[error("proposal is invalid: {0}")]
    BadProposal(String),
    #[error("key {0} cannot be admitted (not a torsion-free curve point)")]
    UnacceptableKey(PublicKey),
    #[error("evidence is invalid: {0}")]
    BadEvidence(String),
    #[error("tick is invalid: {0}")]
    BadTick(String),
    #[error("device entry is invalid: {0}")]
    BadDevice(String),
    #[error("appeal is invalid: {0}")]
    BadAppeal(String),
    #[error("rejection {rejection} was already appealed")]
    AlreadyAppealed { rejection: Id },
    #[error("appeal {appeal} was already answered by its requester")]
    AlreadyReplied { appeal: Id },
    #[error("member already voted on appeal {appeal}")]
    DoubleVerdict { appeal: Id },
}
