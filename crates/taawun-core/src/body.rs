//! The bodies an entry can carry: the charter, governance, the life of a task, money and
//! reviews. Each is a plain struct with its CBOR field names fixed by serde; `docs/protocol.md`
//! gives the same schema in CDDL.

use crate::id::{Hash, Id, PublicKey};
use crate::money::{Currency, Money};
use crate::seal::Sealed;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What an entry says. Encoded as a one-key CBOR map whose key names the kind
/// (externally tagged), e.g. `{"claim": {"offer": h'..'}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// Genesis of a cooperative (seq 1 of a founder's chain; its id is the cooperative id).
    Charter(Charter),
    /// A member proposes an amendment.
    Proposal(Proposal),
    /// A member votes on a proposal.
    Vote(Vote),
    /// A member records that a proposal passed, naming a quorum of yes votes.
    Enact(Enact),
    /// A requester offers work.
    Offer(Offer),
    /// The requester withdraws an offer.
    Withdraw(Withdraw),
    /// A member asks to do one assignment of an offer.
    Claim(Claim),
    /// The requester publishes the lottery's winners.
    Assign(Assign),
    /// An assigned member submits a result (its hash; the bytes go privately).
    Submit(Submit),
    /// The requester accepts a submission.
    Accept(Accept),
    /// The requester rejects a submission, with a reason.
    Reject(Reject),
    /// The requester records a payment made outside the system.
    Settle(Settle),
    /// The member answers a payment: received, or not received.
    Receipt(Receipt),
    /// A member rates a requester.
    Review(Review),
    /// Proof that an author signed two different entries at one seq.
    Evidence(Evidence),
    /// A member witnesses that it holds other authors' entries (witnessed time).
    Tick(Tick),
    /// A member or requester authorises a device key to write for it.
    Device(Device),
    /// The first entry of a device's chain: names the authorisation it writes under.
    Enroll(Enroll),
    /// A member or requester (or one of its devices) revokes one of its devices.
    RevokeDevice(RevokeDevice),
    /// A member whose work was rejected asks a jury of members to judge the rejection.
    Appeal(Appeal),
    /// The requester answers an appeal against its rejection.
    Reply(Reply),
    /// A juror's vote on an appeal: uphold (the rejection is void) or dismiss.
    Verdict(Verdict),
}

impl Body {
    /// The sealed fields of this body, by name (docs/protocol.md 3.7): what an export's
    /// disclosures can open and an audit counts.
    pub fn sealed_fields(&self) -> Vec<(&'static str, &Sealed)> {
        match self {
            Body::Reject(r) => vec![("reason", &r.reason)],
            Body::Settle(s) => vec![("reference", &s.reference)],
            Body::Review(r) => r.text.iter().map(|t| ("text", t)).collect(),
            _ => Vec::new(),
        }
    }

    /// The kind's name as it appears on the wire.
    pub fn kind(&self) -> Kind {
        match self {
            Body::Charter(_) => Kind::Charter,
            Body::Proposal(_) => Kind::Proposal,
            Body::Vote(_) => Kind::Vote,
            Body::Enact(_) => Kind::Enact,
            Body::Offer(_) => Kind::Offer,
            Body::Withdraw(_) => Kind::Withdraw,
            Body::Claim(_) => Kind::Claim,
            Body::Assign(_) => Kind::Assign,
            Body::Submit(_) => Kind::Submit,
            Body::Accept(_) => Kind::Accept,
            Body::Reject(_) => Kind::Reject,
            Body::Settle(_) => Kind::Settle,
            Body::Receipt(_) => Kind::Receipt,
            Body::Review(_) => Kind::Review,
            Body::Evidence(_) => Kind::Evidence,
            Body::Tick(_) => Kind::Tick,
            Body::Device(_) => Kind::Device,
            Body::Enroll(_) => Kind::Enroll,
            Body::RevokeDevice(_) => Kind::RevokeDevice,
            Body::Appeal(_) => Kind::Appeal,
            Body::Reply(_) => Kind::Reply,
            Body::Verdict(_) => Kind::Verdict,
        }
    }

    /// The entries this body names and whose presence its validation needs, in order.
    /// An iterator rather than a vector: validation, the fold and the audit ask this of
    /// every entry, and most bodies name one or two.
    pub fn dependencies(&self) -> impl Iterator<Item = Id> + '_ {
        let none: &[Id] = &[];
        let (first, second, rest): (Option<Id>, Option<Id>, &[Id]) = match self {
            Body::Charter(_) | Body::Proposal(_) | Body::Review(_) | Body::Evidence(_) => {
                (None, None, none)
            }
            Body::Settle(_) | Body::Device(_) | Body::RevokeDevice(_) => (None, None, none),
            Body::Enroll(x) => (Some(x.device), None, none),
            Body::Vote(v) => (Some(v.proposal), None, none),
            Body::Enact(e) => (Some(e.proposal), None, &e.votes),
            Body::Offer(_) => (None, None, none),
            Body::Withdraw(w) => (Some(w.offer), None, none),
            Body::Claim(c) => (Some(c.offer), None, none),
            Body::Assign(a) => (Some(a.offer), None, &a.claims),
            Body::Submit(s) => (Some(s.offer), Some(s.assign), none),
            Body::Accept(a) => (Some(a.submission), None, none),
            Body::Reject(r) => (Some(r.submission), None, none),
            Body::Receipt(r) => (Some(r.settle), None, none),
            Body::Tick(t) => (None, None, &t.heads),
            Body::Appeal(a) => (Some(a.rejection), None, none),
            Body::Reply(r) => (Some(r.appeal), None, none),
            Body::Verdict(v) => (Some(v.appeal), None, none),
        };
        first.into_iter().chain(second).chain(rest.iter().copied())
    }
}

/// The kinds of body, for indexes, statistics and error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum Kind {
    Charter,
    Proposal,
    Vote,
    Enact,
    Offer,
    Withdraw,
    Claim,
    Assign,
    Submit,
    Accept,
    Reject,
    Settle,
    Receipt,
    Review,
    Evidence,
    Tick,
    Device,
    Enroll,
    RevokeDevice,
    Appeal,
    Reply,
    Verdict,
}

impl Kind {
    /// Whether entries of this kind bind their author to others or record work done
    /// (docs/protocol.md 8.1): they count even from a frozen author. The fold and the
    /// audit both ask here.
    pub fn is_obligation(self) -> bool {
        matches!(
            self,
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

    /// Whether storing an entry of this kind may change who holds a role and which keys
    /// speak for whom (the governance timeline, devices, revocations, frozen authors):
    /// a node that admits peers or hands them results reads its roles again at once
    /// after one, instead of after its usual delay.
    pub fn changes_roles(self) -> bool {
        matches!(
            self,
            Kind::Charter
                | Kind::Proposal
                | Kind::Vote
                | Kind::Enact
                | Kind::Evidence
                | Kind::Device
                | Kind::Enroll
                | Kind::RevokeDevice
        )
    }

    /// Every kind, in wire order.
    pub const ALL: [Kind; 22] = [
        Kind::Charter,
        Kind::Proposal,
        Kind::Vote,
        Kind::Enact,
        Kind::Offer,
        Kind::Withdraw,
        Kind::Claim,
        Kind::Assign,
        Kind::Submit,
        Kind::Accept,
        Kind::Reject,
        Kind::Settle,
        Kind::Receipt,
        Kind::Review,
        Kind::Evidence,
        Kind::Tick,
        Kind::Device,
        Kind::Enroll,
        Kind::RevokeDevice,
        Kind::Appeal,
        Kind::Reply,
        Kind::Verdict,
    ];

    /// The wire name (`"charter"`, `"offer"`...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Charter => "charter",
            Kind::Proposal => "proposal",
            Kind::Vote => "vote",
            Kind::Enact => "enact",
            Kind::Offer => "offer",
            Kind::Withdraw => "withdraw",
            Kind::Claim => "claim",
            Kind::Assign => "assign",
            Kind::Submit => "submit",
            Kind::Accept => "accept",
            Kind::Reject => "reject",
            Kind::Settle => "settle",
            Kind::Receipt => "receipt",
            Kind::Review => "review",
            Kind::Evidence => "evidence",
            Kind::Tick => "tick",
            Kind::Device => "device",
            Kind::Enroll => "enroll",
            Kind::RevokeDevice => "revoke_device",
            Kind::Appeal => "appeal",
            Kind::Reply => "reply",
            Kind::Verdict => "verdict",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The limits a charter sets; each can be changed by an amendment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Longest review window an offer may set, in ms.
    pub max_review_window_ms: u64,
    /// Longest claim window an offer may set, in ms.
    pub max_claim_window_ms: u64,
    /// Longest time from an offer to its expiry, in ms. Bounds how much backdating an
    /// offer could ever buy.
    pub max_offer_life_ms: u64,
    /// Largest result a submission may announce, in bytes.
    pub max_result_bytes: u64,
    /// Largest signed entry, in bytes (never above the protocol's hard bound).
    pub max_entry_bytes: u64,
    /// Cap on the minutes credited for the top-up, in percent of the estimate
    /// (200 = at most twice the estimated time is paid at the floor). The median of the
    /// minutes reported on the offer is always credited when it is higher: see
    /// [`crate::fold::topup`].
    pub topup_cap_pct: u32,
    /// Least delay between an enactment and the moment its amendment takes effect, in ms,
    /// so that every honest node has heard of it before it bites.
    pub amendment_delay_ms: u64,
    /// Shortest claim window an offer may set, in ms: a window too short to claim in
    /// would let a requester hire whom it likes.
    pub min_claim_window_ms: u64,
    /// How long a proposal is open for votes and enactment, in ms from its timestamp.
    pub proposal_life_ms: u64,
    /// Share of the votes cast (yes and no) that yes must exceed to pass an ordinary
    /// amendment, in percent (at least 50: a strict majority).
    pub majority_pct: u8,
    /// Share of the votes cast that yes must exceed to remove a member, change the
    /// quorum, lower a floor or lower either threshold, in percent (at least 66: two
    /// thirds).
    pub supermajority_pct: u8,
    /// How long a drawn member has to submit, in ms from the time its place began; after
    /// it, the place passes to the next claimant in the draw (docs/protocol.md 8.2).
    pub submit_window_ms: u64,
    /// How long a member whose work was rejected has to appeal, in ms from the time the
    /// rejection was made (docs/protocol.md 8.8). Absent from a charter's bytes when it
    /// is the default, so charters written before appeals keep their bytes and id.
    #[serde(
        default = "crate::appeal::default_appeal_window_ms",
        skip_serializing_if = "crate::appeal::is_default_appeal_window_ms"
    )]
    pub appeal_window_ms: u64,
    /// How many jurors judge an appeal (odd, so a full jury always has a majority).
    #[serde(
        default = "crate::appeal::default_jury_size",
        skip_serializing_if = "crate::appeal::is_default_jury_size"
    )]
    pub jury_size: u64,
    /// How long a seated juror has to vote, in ms from the time its seat began; after
    /// it, the seat passes to the next member of the jury's ranking.
    #[serde(
        default = "crate::appeal::default_vote_window_ms",
        skip_serializing_if = "crate::appeal::is_default_vote_window_ms"
    )]
    pub vote_window_ms: u64,
}

/// The cooperative's founding document: seq 1 of a founder's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charter {
    /// The cooperative's name.
    pub name: String,
    /// Founding members (the author must be one of them).
    pub members: Vec<PublicKey>,
    /// Requesters admitted from the start (may be empty).
    pub requesters: Vec<PublicKey>,
    /// Share of members whose yes votes pass a proposal, in percent (1..=100); the number
    /// needed is ceil(members * quorum_pct / 100).
    pub quorum_pct: u8,
    /// Minimum hourly pay per ISO 4217 currency, in minor units per hour. Offers in a
    /// currency without a floor are refused.
    pub floors: BTreeMap<Currency, u64>,
    /// The limits in force from genesis.
    pub limits: Limits,
    /// The display name the charter vouches for, for every founding member and requester
    /// once and no other key. A list beside the key lists, so that code reading who holds
    /// a role stays as it is (a CBOR map's keys are text, never a key's bytes).
    pub names: Vec<Named>,
}

/// A founder and the name members see for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    /// The founder's key.
    pub key: PublicKey,
    /// Its display name (see `validate`'s name rule).
    pub name: String,
}

/// One limit, named for amendments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Limit {
    MaxReviewWindowMs,
    MaxClaimWindowMs,
    MaxOfferLifeMs,
    MaxResultBytes,
    MaxEntryBytes,
    TopupCapPct,
    AmendmentDelayMs,
    MinClaimWindowMs,
    ProposalLifeMs,
    MajorityPct,
    SupermajorityPct,
    SubmitWindowMs,
    AppealWindowMs,
    JurySize,
    VoteWindowMs,
}

/// An amendment to the cooperative's rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Admit a member (worker), under the name the cooperative vouches for.
    AdmitMember {
        /// The member's key.
        key: PublicKey,
        /// Its display name (see `validate`'s name rule).
        name: String,
    },
    /// Remove a member.
    RemoveMember(PublicKey),
    /// Admit a requester, under the name the cooperative vouches for: a requester
    /// cannot name itself.
    AdmitRequester {
        /// The requester's key.
        key: PublicKey,
        /// Its display name (see `validate`'s name rule).
        name: String,
    },
    /// Remove a requester.
    RemoveRequester(PublicKey),
    /// Set the floor for a currency, in minor units per hour (a new currency is allowed
    /// from then on).
    SetFloor {
        /// ISO 4217 code.
        currency: Currency,
        /// Minor units per hour.
        per_hour: u64,
    },
    /// Set the quorum, in percent.
    SetQuorum(u8),
    /// Set one limit.
    SetLimit {
        /// Which limit.
        limit: Limit,
        /// Its new value.
        value: u64,
    },
    /// Revoke a device key (a confiscated or stolen phone): nothing it signs from the
    /// amendment's effect on counts.
    RevokeDevice(PublicKey),
    /// Replace a member's or requester's lost identity key: from the amendment's effect on,
    /// `new` holds the roles `old` held and speaks for the same stable identity (its
    /// history, wages, debts and reviews stay its own); `old` and its devices are dead.
    ReplaceKey {
        /// The lost key (or one that replaced an earlier lost key).
        old: PublicKey,
        /// The key that takes its place.
        new: PublicKey,
    },
}

/// A proposed amendment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// What would change.
    pub action: Action,
    /// Why, for the members who vote.
    pub reason: String,
}

/// A member's vote on a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vote {
    /// The proposal's id.
    pub proposal: Id,
    /// Yes or no.
    pub yes: bool,
}

/// The record that a proposal passed: names a quorum of yes votes and when the amendment
/// takes effect. Enactments link into a tree through the entry's `gov` field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enact {
    /// The proposal that passed.
    pub proposal: Id,
    /// Yes votes by distinct members, at least the quorum.
    pub votes: Vec<Id>,
    /// When the amendment takes effect (ms since the Unix epoch), at least the
    /// amendment delay after the enactment's own timestamp.
    pub effective_at: u64,
}

/// An offer of work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// Short title.
    pub title: String,
    /// What to do.
    pub description: String,
    /// What the work is for (mandatory, non-empty): members see who asks and why.
    pub purpose: String,
    /// Pay per assignment.
    pub pay: Money,
    /// Estimated minutes per assignment (at least 1).
    pub minutes: u32,
    /// How many members may be assigned (at least 1).
    pub assignments: u32,
    /// When the offer ends (ms since the epoch).
    pub expires_at: u64,
    /// How long the requester has to review a submission before it is accepted by
    /// default, in ms.
    pub review_window_ms: u64,
    /// How long claims are collected before the lottery, in ms from the offer's timestamp.
    pub claim_window_ms: u64,
    /// The lottery's commitment: [`crate::lottery::commit`] of a secret the requester
    /// reveals in its `Assign`. Fixed before any claim, so the requester cannot steer the
    /// draw by choosing the offer's bytes.
    pub commit: Hash,
}

/// The requester withdraws an offer: no new claims; work already assigned stays due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Withdraw {
    /// The offer.
    pub offer: Id,
}

/// A member's claim on an offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The offer.
    pub offer: Id,
}

/// The lottery's result for an offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// The offer.
    pub offer: Id,
    /// Every claim the requester considered (those received during the claim window).
    pub claims: Vec<Id>,
    /// The winners: the claimants of `claims` ranked by the lottery, the first
    /// `assignments` of them, in rank order.
    pub winners: Vec<PublicKey>,
    /// The secret the offer committed to, revealed: with the claims' ids it seeds the
    /// draw ([`crate::lottery::seed`]).
    pub secret: Hash,
}

/// A result submitted for an assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submit {
    /// The offer.
    pub offer: Id,
    /// The assignment naming the author among the winners.
    pub assign: Id,
    /// blake3 of the result bytes.
    pub result: Hash,
    /// Size of the result in bytes.
    pub size: u64,
    /// Minutes actually worked (at least 1).
    pub minutes: u32,
}

/// The requester accepts a submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accept {
    /// The submission.
    pub submission: Id,
}

/// The requester rejects a submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reject {
    /// The submission.
    pub submission: Id,
    /// Why, sealed to the member whose work is rejected and the requester, each with its
    /// identity key and the device keys it had when the rejection was written
    /// (docs/protocol.md 3.7). The member's node discloses its content key to the jurors
    /// of an appeal, with the result (13.7).
    pub reason: Sealed,
}

/// A payment the requester made outside the system, to one member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settle {
    /// Who was paid.
    pub member: PublicKey,
    /// How much (in clear: every rule about money reads it).
    pub amount: Money,
    /// The payment's reference (transfer id, mobile-money receipt...), sealed to the
    /// member paid and the requester, each with its identity key and the device keys it
    /// had when the payment was written (docs/protocol.md 3.7).
    pub reference: Sealed,
}

/// The member's answer to a settlement: the money reached them, or it did not. Only a
/// confirmed payment lowers what is owed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The settlement.
    pub settle: Id,
    /// True: received. False: "not received", on the requester's record.
    pub received: bool,
}

/// A member's rating of a requester, each score 1 to 5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// The requester rated.
    pub requester: PublicKey,
    /// Pay.
    pub pay: u8,
    /// Fairness of reviews.
    pub fairness: u8,
    /// Promptness.
    pub promptness: u8,
    /// Communication.
    pub communication: u8,
    /// Free text, sealed to the reviewing member and the requester reviewed, each with its
    /// identity key and the device keys it had when the review was written
    /// (docs/protocol.md 3.7); `null` when the review has no text.
    pub text: Option<Sealed>,
}

/// Two signed envelopes of one author at one seq with different ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The first envelope, as received.
    #[serde(with = "serde_bytes")]
    pub a: Vec<u8>,
    /// The second envelope, as received.
    #[serde(with = "serde_bytes")]
    pub b: Vec<u8>,
}

/// A member's or requester's authorisation of a device key: entries the device signs
/// (on its own chain, which starts with an [`Enroll`] naming this entry) count as the
/// author's own (docs/protocol.md 4.7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// The device's signing key.
    pub key: PublicKey,
    /// A short name the member knows the device by ("camp laptop"), one line.
    pub label: String,
}

/// Longest device label, in characters.
pub const MAX_LABEL_CHARS: usize = 64;

/// The first entry of a device's chain: the device names the [`Device`] entry that
/// authorised its key, so every later entry of its chain has in its past whom it speaks
/// for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enroll {
    /// The `Device` entry naming this entry's author.
    pub device: Id,
}

/// Revokes a device: entries it signs dated from this entry's timestamp on do not count,
/// nor do earlier-dated ones first witnessed more than the witness slack after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeDevice {
    /// The device key.
    pub key: PublicKey,
}

/// Most entries one tick may name.
pub const MAX_TICK_HEADS: usize = 64;

/// Longest offer title, in characters (Unicode scalar values): a title is one line on a
/// phone's board.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest display name of a member or requester, in characters: a name sits beside a
/// short key on one line of a phone's board.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest offer purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 500;
/// Longest offer description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 8_000;

/// Whether `c` is a bidirectional embedding, override or isolate control (U+202A..U+202E,
/// U+2066..U+2069): in a title they can make "18,00 €/h" read as "50,00 €/h". The
/// marks U+200E, U+200F and U+061C, which only set a direction, are allowed.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A member's statement that it holds the entries it names (and, through their chains,
/// everything before them). Its timestamp witnesses them: the earliest such witness by
/// someone other than an entry's author is that entry's witnessed time, from which the
/// windows are measured (docs/protocol.md, "Witnessed time").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tick {
    /// Entries of other authors, distinct, at least one and at most [`MAX_TICK_HEADS`].
    pub heads: Vec<Id>,
}

/// Longest answer in an appeal or a reply, in characters.
pub const MAX_ANSWER_CHARS: usize = 4_000;

/// A member's appeal against the rejection of its work (docs/protocol.md 8.8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Appeal {
    /// The `Reject` entry appealed.
    pub rejection: Id,
    /// The member's answer to the rejection's reason (mandatory, non-empty).
    pub answer: String,
}

/// The requester's answer to an appeal, once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The appeal.
    pub appeal: Id,
    /// What the requester says to the jury (mandatory, non-empty).
    pub text: String,
}

/// A juror's vote on an appeal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// The appeal.
    pub appeal: Id,
    /// True: uphold the appeal (the rejection is void, the work counts as accepted).
    /// False: dismiss it (the rejection stands).
    pub uphold: bool,
}
