//! Reading what a client sends: JSON bodies, amounts, keys, ids, limit names and invites,
//! checked and turned into the protocol's entry bodies.
//!
//! Everything here is pure (no I/O, no node state), so the API server, the web page and
//! the `api` fuzz target run the very same code on untrusted input. What needs the
//! cooperative's state (is the pay over the floor in force, is this offer mine) is
//! checked by the node afterwards; the entry's own rules are checked by `taawun-core`
//! when it is written.

use crate::views::{
    AddDevice, AssignReq, CreateCoop, OfferQuery, PayReq, PaymentQuery, PostOffer, Propose,
    RejectReq, ReviewReq, SubmissionQuery, VoteReq,
};
// The names of states, shared with `views`: kept reachable from here.
pub use crate::states::{offer_state_name, review_name, ReviewState, OFFER_STATES, REVIEW_STATES};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use taawun_core::body::{
    Action, Body, Charter, Device, Limit, Limits, Named, Offer, Proposal, Reject, Review, Settle,
};
use taawun_core::entry::{check_envelope, Checked as EnvelopeChecked};
use taawun_core::fold::{self, OfferState};
use taawun_core::money::{format_in, minor_per_unit, MoneyError};
use taawun_core::rules::default_limits;
use taawun_core::seal;
use taawun_core::{Hash, Id, Money, PublicKey, Timestamp, Verified};

/// How long an offer stays up by default.
pub const DEFAULT_OFFER_LIFE_MS: u64 = 7 * 24 * 3600 * 1000;
/// Default review window: two days, Prolific's rhythm.
pub const DEFAULT_REVIEW_WINDOW_MS: u64 = 2 * 24 * 3600 * 1000;
/// Default claim window: ten minutes, long enough for members on weak links to see an
/// offer before the lottery draws.
pub const DEFAULT_CLAIM_WINDOW_MS: u64 = 10 * 60 * 1000;
/// Default quorum, in percent of members.
pub const DEFAULT_QUORUM_PCT: u8 = 50;
/// Invite prefix, so a pasted invite is recognisable.
pub const INVITE_PREFIX: &str = "taawun:";
/// Longest invite text read: a charter is at most one entry (the default entry limit is
/// 64 KiB) plus a few addresses; anything longer is refused before decoding.
pub const MAX_INVITE_CHARS: usize = 256 * 1024;

/// The response header of a listing that says how many items match in all, beyond the
/// page returned.
pub const TOTAL_COUNT_HEADER: &str = "x-total-count";

/// Offers listed per page by default: a screenful or two on a phone, and a response of
/// a few hundred kilobytes at most on a weak link.
pub const DEFAULT_OFFER_PAGE: usize = 200;
/// Most offers listed per page, whatever the client asks: a cooperative's whole history
/// can hold tens of thousands.
pub const MAX_OFFER_PAGE: usize = 1_000;

/// A request that cannot be carried out as written; the message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

fn bad(s: impl Into<String>) -> BadRequest {
    BadRequest(s.into())
}

/// Result of reading a request.
pub type Checked<T> = Result<T, BadRequest>;

/// Decodes a JSON request body.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Checked<T> {
    serde_json::from_slice(bytes).map_err(|e| bad(format!("bad request body: {e}")))
}

/// Decodes a query string (`state=open&limit=20`, without the `?`; none is an empty one).
pub fn decode_query<T: DeserializeOwned>(query: Option<&str>) -> Checked<T> {
    serde_urlencoded::from_str(query.unwrap_or("")).map_err(|e| bad(format!("bad query: {e}")))
}

/// Decodes a JSON request body that may be left out: an empty (or blank) body is the
/// default request.
pub fn decode_or_default<T: DeserializeOwned + Default>(bytes: &[u8]) -> Checked<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        decode(bytes)
    }
}

/// Parses a hex id.
pub fn parse_id(what: &str, s: &str) -> Checked<Id> {
    Id::from_hex(s.trim()).map_err(|e| bad(format!("{what} `{s}` is not a 64-digit hex id: {e}")))
}

/// Parses a hex public key.
pub fn parse_key(what: &str, s: &str) -> Checked<PublicKey> {
    PublicKey::from_hex(s.trim()).map_err(|e| {
        bad(format!(
            "{what} `{s}` is not a 64-digit hex public key: {e}"
        ))
    })
}

/// Parses a floor: `12.50EUR` or `12.50EUR/h`.
pub fn parse_floor(s: &str) -> Checked<Money> {
    let t = s.trim();
    let t = t
        .strip_suffix("/h")
        .or_else(|| t.strip_suffix("/hour"))
        .unwrap_or(t);
    Money::parse(t).map_err(|e| bad(format!("floor `{s}`: {e}{}", hint(&e, "12.50EUR/h"))))
}

/// Parses an amount of money: `4.00EUR`, `4.000JOD`, `400XOF` (as many decimals as the
/// currency has at most).
pub fn parse_money(what: &str, s: &str) -> Checked<Money> {
    Money::parse(s).map_err(|e| bad(format!("{what} `{s}`: {e}{}", hint(&e, "4.00EUR"))))
}

/// How to write an amount: in the currency named when it had too many decimals, else
/// like `example`.
fn hint(e: &MoneyError, example: &str) -> String {
    match e {
        MoneyError::TooManyDecimals { currency, .. } => {
            let unit = if example.ends_with("/h") { "/h" } else { "" };
            let four = format_in(4 * minor_per_unit(currency), currency);
            format!(" (write it like {four}{currency}{unit})")
        }
        _ => format!(" (write it like {example})"),
    }
}

/// The limits by the names the API and the charter's docs use.
pub fn limits_map(l: &Limits) -> BTreeMap<String, u64> {
    [
        ("max_review_window_ms", l.max_review_window_ms),
        ("max_claim_window_ms", l.max_claim_window_ms),
        ("max_offer_life_ms", l.max_offer_life_ms),
        ("max_result_bytes", l.max_result_bytes),
        ("max_entry_bytes", l.max_entry_bytes),
        ("topup_cap_pct", u64::from(l.topup_cap_pct)),
        ("amendment_delay_ms", l.amendment_delay_ms),
        ("min_claim_window_ms", l.min_claim_window_ms),
        ("proposal_life_ms", l.proposal_life_ms),
        ("majority_pct", u64::from(l.majority_pct)),
        ("supermajority_pct", u64::from(l.supermajority_pct)),
        ("submit_window_ms", l.submit_window_ms),
        ("appeal_window_ms", l.appeal_window_ms),
        ("jury_size", l.jury_size),
        ("vote_window_ms", l.vote_window_ms),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Parses a limit's name (`max_review_window_ms`, dashes allowed).
pub fn parse_limit(name: &str) -> Checked<Limit> {
    Ok(match name.trim().replace('-', "_").as_str() {
        "max_review_window_ms" => Limit::MaxReviewWindowMs,
        "max_claim_window_ms" => Limit::MaxClaimWindowMs,
        "max_offer_life_ms" => Limit::MaxOfferLifeMs,
        "max_result_bytes" => Limit::MaxResultBytes,
        "max_entry_bytes" => Limit::MaxEntryBytes,
        "topup_cap_pct" => Limit::TopupCapPct,
        "amendment_delay_ms" => Limit::AmendmentDelayMs,
        "min_claim_window_ms" => Limit::MinClaimWindowMs,
        "proposal_life_ms" => Limit::ProposalLifeMs,
        "majority_pct" => Limit::MajorityPct,
        "supermajority_pct" => Limit::SupermajorityPct,
        "submit_window_ms" => Limit::SubmitWindowMs,
        "appeal_window_ms" => Limit::AppealWindowMs,
        "jury_size" => Limit::JurySize,
        "vote_window_ms" => Limit::VoteWindowMs,
        other => {
            return Err(bad(format!(
                "unknown limit `{other}`; limits are: {}",
                limits_map(&default_limits())
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    })
}

/// Sets one limit.
pub fn set_limit(l: &mut Limits, limit: Limit, value: u64) -> Checked<()> {
    match limit {
        Limit::MaxReviewWindowMs => l.max_review_window_ms = value,
        Limit::MaxClaimWindowMs => l.max_claim_window_ms = value,
        Limit::MaxOfferLifeMs => l.max_offer_life_ms = value,
        Limit::MaxResultBytes => l.max_result_bytes = value,
        Limit::MaxEntryBytes => l.max_entry_bytes = value,
        Limit::TopupCapPct => {
            l.topup_cap_pct = u32::try_from(value)
                .map_err(|_| bad(format!("topup_cap_pct {value} is too large")))?
        }
        Limit::AmendmentDelayMs => l.amendment_delay_ms = value,
        Limit::MinClaimWindowMs => l.min_claim_window_ms = value,
        Limit::ProposalLifeMs => l.proposal_life_ms = value,
        Limit::MajorityPct => {
            l.majority_pct = u8::try_from(value)
                .map_err(|_| bad(format!("majority_pct {value} is too large")))?
        }
        Limit::SupermajorityPct => {
            l.supermajority_pct = u8::try_from(value)
                .map_err(|_| bad(format!("supermajority_pct {value} is too large")))?
        }
        Limit::SubmitWindowMs => l.submit_window_ms = value,
        Limit::AppealWindowMs => l.appeal_window_ms = value,
        Limit::JurySize => l.jury_size = value,
        Limit::VoteWindowMs => l.vote_window_ms = value,
    }
    Ok(())
}

/// A display name by the protocol's name rule, trimmed of surrounding spaces.
pub fn parse_name(name: &str) -> Checked<String> {
    let name = name.trim();
    taawun_core::validate::check_name(name).map_err(|why| bad(format!("the name {why}")))?;
    Ok(name.to_owned())
}

impl CreateCoop {
    /// The charter this request founds, with `founder` as first member.
    pub fn charter(&self, founder: PublicKey) -> Checked<Charter> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(bad("a cooperative needs a name"));
        }
        let floor = parse_floor(&self.floor)?;
        let mut members = vec![founder];
        for m in &self.members {
            let k = parse_key("member", m)?;
            if !members.contains(&k) {
                members.push(k);
            }
        }
        let requesters = self
            .requesters
            .iter()
            .map(|r| parse_key("requester", r))
            .collect::<Checked<Vec<_>>>()?;
        let mut limits = default_limits();
        for (name, value) in &self.limits {
            set_limit(&mut limits, parse_limit(name)?, *value)?;
        }
        let mut names = BTreeMap::new();
        for (k, n) in &self.names {
            let k = if k == "me" {
                founder
            } else {
                parse_key("names", k)?
            };
            if !members.contains(&k) && !requesters.contains(&k) {
                return Err(bad(format!(
                    "names: {} is neither a founding member nor a requester",
                    k.short()
                )));
            }
            names.insert(k, parse_name(n)?);
        }
        for k in members.iter().chain(&requesters) {
            names.entry(*k).or_insert_with(|| k.short());
        }
        let names = names
            .into_iter()
            .map(|(key, name)| Named { key, name })
            .collect();
        Ok(Charter {
            name: name.to_owned(),
            members,
            requesters,
            names,
            quorum_pct: self.quorum_pct.unwrap_or(DEFAULT_QUORUM_PCT),
            floors: [(floor.currency, floor.minor)].into_iter().collect(),
            limits,
        })
    }
}

impl Propose {
    /// The proposal this request makes.
    pub fn proposal(&self) -> Checked<Proposal> {
        let key = |what: &str| -> Checked<PublicKey> {
            let k = self
                .key
                .as_deref()
                .ok_or_else(|| bad(format!("`{what}` needs the key concerned")))?;
            parse_key("key", k)
        };
        let name = |what: &str| -> Checked<String> {
            parse_name(self.name.as_deref().ok_or_else(|| {
                bad(format!(
                    "`{what}` needs the name the cooperative vouches for (name)"
                ))
            })?)
        };
        let action = match self.action.as_str() {
            "admit-member" => Action::AdmitMember {
                key: key("admit-member")?,
                name: name("admit-member")?,
            },
            "remove-member" => Action::RemoveMember(key("remove-member")?),
            "admit-requester" => Action::AdmitRequester {
                key: key("admit-requester")?,
                name: name("admit-requester")?,
            },
            "remove-requester" => Action::RemoveRequester(key("remove-requester")?),
            "revoke-device" => Action::RevokeDevice(key("revoke-device")?),
            "replace-key" => Action::ReplaceKey {
                old: key("replace-key")?,
                new: parse_key(
                    "new key",
                    self.new_key
                        .as_deref()
                        .ok_or_else(|| bad("`replace-key` needs the new key"))?,
                )?,
            },
            "set-floor" => {
                let f = parse_floor(
                    self.floor
                        .as_deref()
                        .ok_or_else(|| bad("`set-floor` needs the new floor, e.g. 13.00EUR/h"))?,
                )?;
                Action::SetFloor {
                    currency: f.currency,
                    per_hour: f.minor,
                }
            }
            "set-quorum" => Action::SetQuorum(
                self.quorum_pct
                    .ok_or_else(|| bad("`set-quorum` needs quorum_pct"))?,
            ),
            "set-limit" => Action::SetLimit {
                limit: parse_limit(
                    self.limit
                        .as_deref()
                        .ok_or_else(|| bad("`set-limit` needs the limit's name"))?,
                )?,
                value: self
                    .value
                    .ok_or_else(|| bad("`set-limit` needs the new value"))?,
            },
            other => {
                return Err(bad(format!(
                    "unknown action `{other}`: admit-member, remove-member, admit-requester, remove-requester, set-floor, set-quorum, set-limit, revoke-device or replace-key"
                )))
            }
        };
        if self.reason.trim().is_empty() {
            return Err(bad("say why (reason): members vote on it"));
        }
        Ok(Proposal {
            action,
            reason: self.reason.clone(),
        })
    }
}

impl AddDevice {
    /// The `device` body this request writes (validation checks the label and the key
    /// again: docs/protocol.md 4.7).
    pub fn device(&self) -> Checked<Device> {
        let key = parse_key("device key", &self.key)?;
        let label = self.label.trim();
        if label.chars().count() > taawun_core::body::MAX_LABEL_CHARS {
            return Err(bad(format!(
                "a device label has at most {} characters",
                taawun_core::body::MAX_LABEL_CHARS
            )));
        }
        Ok(Device {
            key,
            label: label.to_owned(),
        })
    }
}

impl VoteReq {
    /// The proposal voted on.
    pub fn proposal_id(&self) -> Checked<Id> {
        parse_id("proposal", &self.proposal)
    }
}

impl PostOffer {
    /// The offer this request posts at `now`, committing the lottery to `commit`
    /// ([`taawun_core::lottery::commit`] of a secret the node keeps until its `Assign`).
    /// Whether it pays the floor in force is the node's check (it needs the cooperative's
    /// state), then the core's on writing.
    pub fn offer(&self, now: Timestamp, commit: Hash) -> Checked<Offer> {
        let pay = parse_money("pay", &self.pay)?;
        if self.title.trim().is_empty() {
            return Err(bad("an offer needs a title"));
        }
        if self.purpose.trim().is_empty() {
            return Err(bad(
                "say what the work is for (purpose): members choose their work with it",
            ));
        }
        if self.minutes == 0 {
            return Err(bad("estimated minutes must be at least 1"));
        }
        Ok(Offer {
            title: self.title.trim().to_owned(),
            description: self.description.clone(),
            purpose: self.purpose.trim().to_owned(),
            pay,
            minutes: self.minutes,
            assignments: self.assignments.unwrap_or(1),
            expires_at: now.saturating_add(self.expires_in_ms.unwrap_or(DEFAULT_OFFER_LIFE_MS)),
            review_window_ms: self.review_window_ms.unwrap_or(DEFAULT_REVIEW_WINDOW_MS),
            claim_window_ms: self.claim_window_ms.unwrap_or(DEFAULT_CLAIM_WINDOW_MS),
            commit,
        })
    }
}

impl AssignReq {
    /// The winners named by hand; `None` asks for the cooperative's lottery.
    pub fn winners(&self) -> Checked<Option<Vec<PublicKey>>> {
        if self.winners.is_empty() {
            return Ok(None);
        }
        self.winners
            .iter()
            .map(|w| parse_key("winner", w))
            .collect::<Checked<Vec<_>>>()
            .map(Some)
    }
}

impl RejectReq {
    /// The reason, which the member must be able to read.
    pub fn reason(&self) -> Checked<&str> {
        check_reason(&self.reason).map(|()| self.reason.as_str())
    }

    /// The rejection of `submission` this request writes, its reason checked and sealed
    /// to `to` (the member whose work it was and the requester, each with its live device
    /// keys) from 32 fresh random bytes. No other node can check the reason's words, so
    /// this is where they are checked (docs/protocol.md 3.7).
    pub fn reject(&self, submission: Id, to: &[PublicKey], seed: [u8; 32]) -> Checked<Reject> {
        let reason = seal::seal_text(self.reason()?, to, seed)
            .map_err(|e| bad(format!("the rejection's reason cannot be sealed: {e}")))?;
        Ok(Reject { submission, reason })
    }
}

/// A rejection's reason must say something, and follow the text rule of sealed fields
/// (at most 4000 characters, no direction controls): other nodes cannot check it.
pub fn check_reason(reason: &str) -> Checked<()> {
    if reason.trim().is_empty() {
        return Err(bad("a rejection needs a reason the member can read"));
    }
    seal::text_rule(reason).map_err(|why| bad(format!("the rejection's reason {why}")))
}

/// A payment request, read and checked, its reference still in clear: [`Payment::seal`]
/// makes the entry's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The member paid.
    pub member: PublicKey,
    /// How much.
    pub amount: Money,
    /// The reference, as the requester typed it.
    pub reference: String,
}

impl PayReq {
    /// The payment this request records.
    pub fn payment(&self) -> Checked<Payment> {
        let member = parse_key("member", &self.member)?;
        let amount = parse_money("amount", &self.amount)?;
        if amount.minor == 0 {
            return Err(bad("a payment of zero records nothing"));
        }
        if self.reference.trim().is_empty() {
            return Err(bad(
                "give the payment's reference (transfer number...) so the member can find it",
            ));
        }
        seal::text_rule(&self.reference)
            .map_err(|why| bad(format!("the payment's reference {why}")))?;
        Ok(Payment {
            member,
            amount,
            reference: self.reference.clone(),
        })
    }
}

impl Payment {
    /// The payment record, its reference sealed to `to` (the member paid and the
    /// requester, each with its live device keys) from 32 fresh random bytes.
    pub fn seal(&self, to: &[PublicKey], seed: [u8; 32]) -> Checked<Settle> {
        let reference = seal::seal_text(&self.reference, to, seed)
            .map_err(|e| bad(format!("the payment's reference cannot be sealed: {e}")))?;
        Ok(Settle {
            member: self.member,
            amount: self.amount.clone(),
            reference,
        })
    }
}

impl ReviewReq {
    /// The review this request writes, its text (when not blank) sealed to `to` (the
    /// reviewing member and the requester, each with its live device keys) from 32 fresh
    /// random bytes.
    pub fn review(&self, to: &[PublicKey], seed: [u8; 32]) -> Checked<Review> {
        let requester = parse_key("requester", &self.requester)?;
        for (name, v) in [
            ("pay", self.pay),
            ("fairness", self.fairness),
            ("promptness", self.promptness),
            ("communication", self.communication),
        ] {
            if !(1..=5).contains(&v) {
                return Err(bad(format!("{name} is scored 1 to 5, not {v}")));
            }
        }
        let text = if self.text.trim().is_empty() {
            None
        } else {
            // The requester is always a recipient: validation requires it.
            let to: Vec<PublicKey> = to.iter().copied().chain([requester]).collect();
            Some(
                seal::seal_text(&self.text, &to, seed)
                    .map_err(|e| bad(format!("the review's text cannot be sealed: {e}")))?,
            )
        };
        Ok(Review {
            requester,
            pay: self.pay,
            fairness: self.fairness,
            promptness: self.promptness,
            communication: self.communication,
            text,
        })
    }
}

/// An invite: the charter's envelope and addresses of a node that holds it. As text:
/// [`INVITE_PREFIX`] then the CBOR of this, in unpadded base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// The charter entry's envelope.
    #[serde(with = "serde_bytes")]
    pub charter: Vec<u8>,
    /// Addresses of the inviting node (multiaddrs with `/p2p/<peer id>`).
    pub addrs: Vec<String>,
}

/// An invite's charter, verified, with its cooperative's name.
#[derive(Debug, Clone)]
pub struct InvitedCharter {
    /// The charter entry, signature checked.
    pub charter: Verified,
    /// The cooperative's name.
    pub name: String,
}

impl Invite {
    /// The invite as text to paste.
    pub fn to_text(&self) -> String {
        let mut buf = Vec::new();
        ciborium::into_writer(self, &mut buf).expect("writing CBOR to memory cannot fail");
        format!(
            "{INVITE_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&buf)
        )
    }

    /// Reads a pasted invite.
    pub fn parse(text: &str) -> Checked<Self> {
        let body = text.trim().strip_prefix(INVITE_PREFIX).ok_or_else(|| {
            bad(format!(
                "an invite starts with `{INVITE_PREFIX}`; ask a member for one (`taawun coop invite`)"
            ))
        })?;
        if body.len() > MAX_INVITE_CHARS {
            return Err(bad(format!(
                "the invite is {} characters long, more than any invite ({MAX_INVITE_CHARS}); was something else pasted after it?",
                body.len()
            )));
        }
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|e| bad(format!("the invite is damaged (not base64url: {e})")))?;
        ciborium::from_reader(raw.as_slice())
            .map_err(|e| bad(format!("the invite is damaged: {e}")))
    }

    /// Its charter: decoded, signature checked, and a charter indeed.
    pub fn verified_charter(&self) -> Checked<InvitedCharter> {
        let v = match check_envelope(&self.charter) {
            EnvelopeChecked::Verified(v) => v,
            EnvelopeChecked::Undecodable(e) => {
                return Err(bad(format!("the invite's charter does not decode: {e}")))
            }
            EnvelopeChecked::BadSignature(u) => {
                return Err(bad(format!(
                    "the invite's charter is not validly signed: {}",
                    u.bad_signature()
                )))
            }
        };
        let name = match &v.entry().body {
            Body::Charter(c) => c.name.clone(),
            _ => return Err(bad("the invite does not carry a charter")),
        };
        Ok(InvitedCharter { charter: v, name })
    }
}

/// Which offers a listing keeps: an [`OfferQuery`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFilter {
    /// States kept; `None`: all.
    pub states: Option<Vec<OfferState>>,
    /// Only this requester's.
    pub requester: Option<PublicKey>,
    /// Also the offers `me` claimed or won, whatever the other filters say.
    pub mine: bool,
    /// Lowercase hex digits the id starts with.
    pub id_prefix: Option<String>,
    /// Matching offers skipped, newest first.
    pub offset: usize,
    /// Most offers returned.
    pub limit: usize,
}

impl Default for OfferFilter {
    fn default() -> Self {
        Self {
            states: None,
            requester: None,
            mine: false,
            id_prefix: None,
            offset: 0,
            limit: DEFAULT_OFFER_PAGE,
        }
    }
}

/// `me` or a hex key, when given.
fn key_or_me(what: &str, v: &Option<String>, me: PublicKey) -> Checked<Option<PublicKey>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some("me") => Ok(Some(me)),
        Some(k) => parse_key(what, k).map(Some),
    }
}

/// The start of an id, lowercase, when given.
fn id_prefix(v: &Option<String>) -> Checked<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) if p.len() <= 64 && p.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(p.to_ascii_lowercase()))
        }
        Some(p) => Err(bad(format!(
            "id_prefix `{p}` is not the start of an id (up to 64 hex digits)"
        ))),
    }
}

/// A count in a query, when given.
fn count(what: &str, v: &Option<String>) -> Checked<Option<usize>> {
    v.as_deref()
        .map(|t| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("{what} `{t}` is not a whole number")))
        })
        .transpose()
}

/// A page size in a query: at least 1, at most `max`; `default` when not given.
fn page_size(v: &Option<String>, default: usize, max: usize) -> Checked<usize> {
    match count("limit", v)? {
        None => Ok(default),
        Some(0) => Err(bad("limit must be at least 1")),
        Some(n) => Ok(n.min(max)),
    }
}

/// Names from a comma-separated list, each one of `all` (by `name`); `None` for all.
fn one_of<T: Clone>(
    what: &str,
    v: &Option<String>,
    all: &[T],
    name: fn(&T) -> &'static str,
) -> Checked<Option<Vec<T>>> {
    match v.as_deref().map(str::trim) {
        None | Some("") | Some("all") => Ok(None),
        Some(list) => list
            .split(',')
            .map(|n| {
                let n = n.trim();
                all.iter().find(|x| name(x) == n).cloned().ok_or_else(|| {
                    bad(format!(
                        "unknown {what} `{n}`; {what}s are: {}",
                        all.iter().map(name).collect::<Vec<_>>().join(", ")
                    ))
                })
            })
            .collect::<Checked<Vec<_>>>()
            .map(Some),
    }
}

impl OfferQuery {
    /// The filter this query asks for; `me` is this node's key.
    pub fn filter(&self, me: PublicKey) -> Checked<OfferFilter> {
        let mine = match self.mine.as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(bad(format!("mine is `true` or `false`, not `{other}`"))),
        };
        Ok(OfferFilter {
            states: one_of("offer state", &self.state, &OFFER_STATES, offer_state_name)?,
            requester: key_or_me("requester", &self.requester, me)?,
            mine,
            id_prefix: id_prefix(&self.id_prefix)?,
            offset: count("offset", &self.offset)?.unwrap_or(0),
            limit: page_size(&self.limit, DEFAULT_OFFER_PAGE, MAX_OFFER_PAGE)?,
        })
    }
}

/// Which submissions a listing keeps: a [`SubmissionQuery`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmissionFilter {
    /// Only this member's.
    pub member: Option<PublicKey>,
    /// Only those to this requester.
    pub requester: Option<PublicKey>,
    /// Only those this key made or received.
    pub involving: Option<PublicKey>,
    /// Review states kept; `None`: all.
    pub review: Option<Vec<ReviewState>>,
    /// Lowercase hex digits the id starts with.
    pub id_prefix: Option<String>,
    /// Matches skipped first.
    pub offset: usize,
    /// Most returned; `None`: every match.
    pub limit: Option<usize>,
}

/// Which payments a listing keeps: a [`PaymentQuery`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    /// Only those to this member.
    pub member: Option<PublicKey>,
    /// Only those from this requester.
    pub requester: Option<PublicKey>,
    /// Lowercase hex digits the id starts with.
    pub id_prefix: Option<String>,
    /// Matches skipped first.
    pub offset: usize,
    /// Most returned; `None`: every match.
    pub limit: Option<usize>,
}

impl PaymentQuery {
    /// The filter this query asks for; `me` is this node's key.
    pub fn filter(&self, me: PublicKey) -> Checked<PaymentFilter> {
        Ok(PaymentFilter {
            member: key_or_me("member", &self.member, me)?,
            requester: key_or_me("requester", &self.requester, me)?,
            id_prefix: id_prefix(&self.id_prefix)?,
            offset: count("offset", &self.offset)?.unwrap_or(0),
            limit: optional_page(&self.limit)?,
        })
    }
}

impl PaymentFilter {
    /// Whether the filter keeps the payment `id` from `requester` to `member`.
    pub fn keeps(&self, id: &Id, requester: &PublicKey, member: &PublicKey) -> bool {
        self.id_prefix
            .as_ref()
            .is_none_or(|p| id.to_hex().starts_with(p.as_str()))
            && self.member.is_none_or(|m| m == *member)
            && self.requester.is_none_or(|r| r == *requester)
    }
}

/// A page size that may be left out (every match).
fn optional_page(v: &Option<String>) -> Checked<Option<usize>> {
    match v {
        None => Ok(None),
        Some(_) => page_size(v, usize::MAX, usize::MAX).map(Some),
    }
}

impl SubmissionQuery {
    /// The filter this query asks for; `me` is this node's key.
    pub fn filter(&self, me: PublicKey) -> Checked<SubmissionFilter> {
        let limit = optional_page(&self.limit)?;
        Ok(SubmissionFilter {
            member: key_or_me("member", &self.member, me)?,
            requester: key_or_me("requester", &self.requester, me)?,
            involving: key_or_me("involving", &self.involving, me)?,
            review: one_of("review state", &self.review, &REVIEW_STATES, review_name)?,
            id_prefix: id_prefix(&self.id_prefix)?,
            offset: count("offset", &self.offset)?.unwrap_or(0),
            limit,
        })
    }
}

impl SubmissionFilter {
    /// Whether the filter keeps `s`.
    pub fn keeps(&self, s: &fold::Submission) -> bool {
        self.id_prefix
            .as_ref()
            .is_none_or(|p| s.id.to_hex().starts_with(p.as_str()))
            && self.member.is_none_or(|m| m == s.member)
            && self.requester.is_none_or(|r| r == s.requester)
            && self
                .involving
                .is_none_or(|k| k == s.member || k == s.requester)
            && self
                .review
                .as_ref()
                .is_none_or(|r| r.contains(&ReviewState::from(&s.review)))
    }
}

impl OfferFilter {
    /// Whether the filter keeps `o`; `me_in` says whether this node's member claimed or
    /// won it (asked only when `mine` is set: it reads the claims).
    pub fn keeps(&self, o: &fold::OfferView, me_in: impl FnOnce() -> bool) -> bool {
        let by_id = self
            .id_prefix
            .as_ref()
            .is_none_or(|p| o.id.to_hex().starts_with(p.as_str()));
        let by_state = self.states.as_ref().is_none_or(|s| s.contains(&o.state));
        let by_requester = self.requester.is_none_or(|r| r == o.requester);
        by_id && ((by_state && by_requester) || (self.mine && me_in()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_parse_with_or_without_per_hour() {
        assert_eq!(
            parse_floor("12.50EUR/h").expect("ok"),
            Money::new("EUR", 1250)
        );
        assert_eq!(parse_floor(" 9 USD ").expect("ok"), Money::new("USD", 900));
        assert!(parse_floor("12.5").is_err());
    }

    #[test]
    fn amounts_take_each_currencys_decimals() {
        assert_eq!(
            parse_floor("12.500JOD/h").expect("ok"),
            Money::new("JOD", 12_500)
        );
        assert_eq!(
            parse_money("pay", "4.25JOD").expect("ok"),
            Money::new("JOD", 4_250)
        );
        assert_eq!(
            parse_money("pay", "400XOF").expect("ok"),
            Money::new("XOF", 400)
        );
        let e = parse_floor("1.2345JOD/h").expect_err("four decimals");
        assert_eq!(
            e.0,
            "floor `1.2345JOD/h`: JOD has 3 decimals: 1.2345JOD has 4 (write it like 4.000JOD/h)"
        );
        let e = parse_money("pay", "4.5XOF").expect_err("a decimal");
        assert_eq!(
            e.0,
            "pay `4.5XOF`: XOF has 0 decimals: 4.5XOF has 1 (write it like 4XOF)"
        );
        assert!(parse_money("pay", "18446744073709551616XOF")
            .expect_err("too large")
            .0
            .contains("too large"));
        let a = crate::views::Amount::new("JOD", 12_500);
        assert_eq!((a.decimals, a.text.as_str()), (3, "12.500 JOD"));
        let a = crate::views::Amount::new("XOF", 1_250);
        assert_eq!((a.decimals, a.text.as_str()), (0, "1250 XOF"));
    }

    #[test]
    fn limits_are_named_as_in_the_charter() {
        for name in limits_map(&default_limits()).keys() {
            let lim = parse_limit(name).expect("every listed limit parses");
            let mut l = default_limits();
            set_limit(&mut l, lim, 7).expect("sets");
            assert_eq!(limits_map(&l)[name], 7, "{name}");
        }
        assert!(parse_limit("nope").is_err());
        assert!(parse_limit("max-review-window-ms").is_ok());
    }

    #[test]
    fn an_empty_body_asks_for_the_lottery() {
        let r: AssignReq = decode_or_default(b"  \n").expect("empty is the default");
        assert_eq!(r.winners().expect("ok"), None);
        let r: AssignReq = decode_or_default(b"{}").expect("{} is too");
        assert_eq!(r.winners().expect("ok"), None);
        let e = decode_or_default::<AssignReq>(b"{\"winner\": []}").expect_err("unknown field");
        assert!(e.0.contains("unknown field"), "{e}");
    }

    #[test]
    fn requests_say_what_is_missing() {
        let offer = |pay: &str, minutes: u32, purpose: &str| PostOffer {
            title: "Transcribe".into(),
            description: String::new(),
            purpose: purpose.into(),
            pay: pay.into(),
            minutes,
            assignments: None,
            expires_in_ms: None,
            review_window_ms: None,
            claim_window_ms: None,
        };
        let o = offer("4.00EUR", 15, "a radio archive")
            .offer(1_000, Hash([1; 32]))
            .expect("ok");
        assert_eq!(o.pay, Money::new("EUR", 400));
        assert_eq!(o.expires_at, 1_000 + DEFAULT_OFFER_LIFE_MS);
        assert!(offer("four", 15, "x")
            .offer(0, Hash([1; 32]))
            .expect_err("no")
            .0
            .contains("4.00EUR"));
        assert!(offer("4EUR", 0, "x").offer(0, Hash([1; 32])).is_err());
        assert!(offer("4EUR", 5, " ")
            .offer(0, Hash([1; 32]))
            .expect_err("no")
            .0
            .contains("purpose"));
        let p = Propose {
            action: "set-limit".into(),
            key: None,
            new_key: None,
            name: None,
            floor: None,
            quorum_pct: None,
            limit: Some("topup_cap_pct".into()),
            value: None,
            reason: "r".into(),
        };
        assert!(p.proposal().expect_err("no value").0.contains("new value"));
        // A replacement names both keys.
        let old = PublicKey([3; 32]).to_hex();
        let replace = Propose {
            action: "replace-key".into(),
            key: Some(old.clone()),
            limit: None,
            ..p.clone()
        };
        assert!(replace
            .proposal()
            .expect_err("no new key")
            .0
            .contains("new key"));
        let new = PublicKey([4; 32]);
        let replace = Propose {
            new_key: Some(new.to_hex()),
            ..replace
        };
        assert_eq!(
            replace.proposal().expect("reads").action,
            Action::ReplaceKey {
                old: PublicKey([3; 32]),
                new
            }
        );
        let long = AddDevice {
            key: new.to_hex(),
            label: "x".repeat(65),
        };
        assert!(long.device().is_err());
        let admit = |name: Option<&str>| Propose {
            action: "admit-requester".into(),
            key: Some(PublicKey([7; 32]).to_hex()),
            name: name.map(str::to_owned),
            limit: None,
            value: None,
            ..p.clone()
        };
        assert!(admit(None)
            .proposal()
            .expect_err("no name")
            .0
            .contains("needs the name"));
        let why = admit(Some("UNHCR\u{202E}")).proposal().expect_err("bidi").0;
        assert!(why.contains("U+202E"), "{why}");
        assert!(matches!(
            admit(Some(" Relief desk ")).proposal().expect("named").action,
            Action::AdmitRequester { name, .. } if name == "Relief desk"
        ));
        assert!(RejectReq {
            reason: "\t".into()
        }
        .reason()
        .is_err());
    }

    #[test]
    fn a_rejection_s_reason_is_checked_then_sealed_to_the_parties() {
        let key = |n: u8| ed25519_dalek::SigningKey::from_bytes(&[n; 32]);
        let pk = |n: u8| PublicKey(key(n).verifying_key().to_bytes());
        let req = |reason: &str| RejectReq {
            reason: reason.into(),
        };
        let sub = Id([3; 32]);
        let r = req("photos 3 to 9 untagged")
            .reject(sub, &[pk(1), pk(2)], [9; 32])
            .expect("sealed");
        assert_eq!(r.submission, sub);
        for n in [1, 2] {
            assert_eq!(
                r.reason.read(&[&key(n)]),
                seal::Reading::Text("photos 3 to 9 untagged".into())
            );
        }
        assert_eq!(r.reason.read(&[&key(3)]), seal::Reading::Sealed);
        // What other nodes cannot check is refused before sealing.
        for bad in [
            " \n",
            "late \u{202E}",
            &"x".repeat(seal::MAX_TEXT_CHARS + 1),
        ] {
            assert!(req(bad).reject(sub, &[pk(1)], [9; 32]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn founders_are_named_by_the_request_or_by_their_short_key() {
        let (me, r) = (PublicKey([1; 32]), PublicKey([7; 32]));
        let req = |names: &[(&str, &str)]| CreateCoop {
            name: "Zaatari translators".into(),
            floor: "12.50EUR/h".into(),
            quorum_pct: None,
            members: vec![],
            requesters: vec![r.to_hex()],
            names: names
                .iter()
                .map(|(k, n)| (k.to_string(), n.to_string()))
                .collect(),
            limits: BTreeMap::new(),
        };
        let c = req(&[("me", " أمل حداد ")]).charter(me).expect("named");
        let name = |k: PublicKey| c.names.iter().find(|n| n.key == k).map(|n| n.name.clone());
        assert_eq!(name(me).as_deref(), Some("أمل حداد"));
        assert_eq!(name(r), Some(r.short()));
        assert_eq!(c.names.len(), 2);
        let stranger = PublicKey([9; 32]).to_hex();
        assert!(req(&[(&stranger, "Eve")])
            .charter(me)
            .expect_err("no founder")
            .0
            .contains("neither a founding member nor a requester"));
        assert!(req(&[("me", "Amal\u{2066}")])
            .charter(me)
            .expect_err("isolate")
            .0
            .contains("U+2066"));
    }

    #[test]
    fn offer_queries_read_states_requesters_and_pages() {
        let me = PublicKey([1; 32]);
        let f = OfferQuery::default().filter(me).expect("empty is all");
        assert_eq!(f, OfferFilter::default());
        let q = OfferQuery {
            state: Some("open, awaiting-assignment".into()),
            requester: Some("me".into()),
            mine: Some("true".into()),
            id_prefix: Some("AB12".into()),
            offset: Some("5".into()),
            limit: Some("1000000".into()),
        };
        let f = q.filter(me).expect("reads");
        assert_eq!(
            f.states,
            Some(vec![OfferState::Open, OfferState::AwaitingAssignment])
        );
        assert_eq!(f.requester, Some(me));
        assert_eq!(f.id_prefix.as_deref(), Some("ab12"));
        assert_eq!((f.offset, f.limit), (5, MAX_OFFER_PAGE));
        let e = OfferQuery {
            state: Some("closed".into()),
            ..OfferQuery::default()
        }
        .filter(me)
        .expect_err("unknown state");
        assert!(e.0.contains("awaiting-assignment"), "{e}");
        for (limit, says) in [("0", "at least 1"), ("many", "limit `many`")] {
            let e = OfferQuery {
                limit: Some(limit.into()),
                ..OfferQuery::default()
            }
            .filter(me)
            .expect_err("a bad limit");
            assert!(e.0.contains(says), "{e}");
        }
        assert!(OfferQuery {
            id_prefix: Some("xyz".into()),
            ..OfferQuery::default()
        }
        .filter(me)
        .is_err());
    }

    #[test]
    fn mine_adds_my_offers_back_and_prefixes_still_apply() {
        let me = PublicKey([1; 32]);
        let other = PublicKey([2; 32]);
        let offer = |state: OfferState, requester: PublicKey| fold::OfferView {
            id: Id::of(b"offer"),
            requester,
            at: 0,
            offer: Offer {
                title: "t".into(),
                description: String::new(),
                purpose: "p".into(),
                pay: Money::new("EUR", 400),
                minutes: 15,
                assignments: 1,
                expires_at: 1,
                review_window_ms: 1,
                claim_window_ms: 1,
                commit: Hash([0; 32]),
            },
            state,
            claimants: vec![],
            winners: vec![],
            places: vec![],
            void_assignments: 0,
            closes_at: 1,
        };
        let open_only = OfferFilter {
            states: Some(vec![OfferState::Open]),
            ..OfferFilter::default()
        };
        let assigned = offer(OfferState::Assigned, other);
        assert!(!open_only.keeps(&assigned, || true));
        let board = OfferFilter {
            mine: true,
            ..open_only.clone()
        };
        assert!(board.keeps(&assigned, || true));
        assert!(!board.keeps(&assigned, || false));
        let own = OfferFilter {
            requester: Some(me),
            ..OfferFilter::default()
        };
        assert!(!own.keeps(&assigned, || false));
        assert!(own.keeps(&offer(OfferState::Expired, me), || false));
        let prefixed = OfferFilter {
            id_prefix: Some("ff".repeat(32)),
            mine: true,
            ..OfferFilter::default()
        };
        assert!(!prefixed.keeps(&assigned, || true));
    }

    #[test]
    fn submission_queries_keep_by_person_and_review() {
        let me = PublicKey([1; 32]);
        let other = PublicKey([2; 32]);
        let sub =
            |member: PublicKey, requester: PublicKey, review: fold::Review| fold::Submission {
                id: Id::of(b"submission"),
                offer: Id::of(b"offer"),
                member,
                requester,
                at: 0,
                witnessed: None,
                minutes: 10,
                review,
                pay: Money::new("EUR", 400),
                topup: 0,
            };
        let q = |member: &str, review: &str| SubmissionQuery {
            member: Some(member.into()),
            review: Some(review.into()),
            ..SubmissionQuery::default()
        };
        let accepted = q("me", "accepted,accepted-by-default")
            .filter(me)
            .expect("reads");
        assert!(accepted.keeps(&sub(me, other, fold::Review::Accepted(5))));
        assert!(!accepted.keeps(&sub(me, other, fold::Review::Pending { deadline: 5 })));
        assert!(!accepted.keeps(&sub(other, me, fold::Review::Accepted(5))));
        let involving = SubmissionQuery {
            involving: Some("me".into()),
            ..SubmissionQuery::default()
        }
        .filter(me)
        .expect("reads");
        assert!(involving.keeps(&sub(other, me, fold::Review::Accepted(5))));
        assert!(!involving.keeps(&sub(other, other, fold::Review::Accepted(5))));
        assert_eq!(involving.limit, None, "every match unless a limit is asked");
        let e = q("me", "paid")
            .filter(me)
            .expect_err("unknown review state");
        assert!(e.0.contains("accepted-by-default"), "{e}");
        assert!(q("nobody", "pending").filter(me).is_err());
    }

    #[test]
    fn invites_read_back_and_damage_is_named() {
        let inv = Invite {
            charter: vec![1, 2, 3],
            addrs: vec!["/ip4/127.0.0.1/tcp/1".into()],
        };
        assert_eq!(Invite::parse(&inv.to_text()).expect("reads"), inv);
        assert!(Invite::parse("hello")
            .expect_err("no prefix")
            .0
            .contains(INVITE_PREFIX));
        assert!(Invite::parse("taawun:***")
            .expect_err("no base64")
            .0
            .contains("base64"));
        assert!(inv
            .verified_charter()
            .expect_err("junk")
            .0
            .contains("decode"));
    }
}
