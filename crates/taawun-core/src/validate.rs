//! Validation: whether a verified entry may enter a cooperative's ledger.
//!
//! [`check`] is a pure function of the entry, what it names (its author's chain, the
//! entries in its body, the governance path of its `gov`) and, for the single clock rule,
//! `now`. It reads those through the [`Context`] trait, which the sled ledger and the
//! in-memory [`crate::fold::Coop`] both implement. Because a verdict reads nothing else,
//! every node that has the same dependencies reaches the same verdict; a node missing a
//! dependency answers [`Outcome::Pending`], never "invalid".

use crate::body::{Action, Body, Charter, Kind, Limit, Offer, MAX_TICK_HEADS};
use crate::entry::{Timestamp, Unverified, Verified, MAX_CHARTER_ENTRY_BYTES, MAX_ENVELOPE_BYTES};
use crate::id::{Id, PublicKey};
use crate::lottery;
use crate::money::{format_in, hourly_rate, meets_floor, valid_currency, Currency};
use crate::rules::{Enactment, Rules};
use crate::sig;
use std::collections::BTreeSet;

/// How far in the future (by the receiving node's clock) an entry's timestamp may be.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// How much later than its earliest allowed time an amendment may take effect: a day.
/// Enough to schedule a change for a working hour; too little to enact a proposal with an
/// effective time years ahead and so block it (re-enacting a proposal is refused).
pub const ENACT_SLACK_MS: u64 = 24 * 60 * 60 * 1000;

/// The newest entry of an author's chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Its seq.
    pub seq: u64,
    /// Its id.
    pub id: Id,
    /// Its timestamp.
    pub ts: Timestamp,
    /// The governance it named.
    pub gov: Option<Id>,
}

/// What validation may read: the stored, valid entries of one cooperative and a few
/// indexes over them.
pub trait Context {
    /// A stored entry.
    fn entry(&self, id: &Id) -> Option<Verified>;
    /// The head of an author's chain.
    fn head(&self, author: &PublicKey) -> Option<Head>;
    /// The id stored at (author, seq).
    fn at(&self, author: &PublicKey, seq: u64) -> Option<Id>;
    /// The lowest seq at which the author is known to have two entries (a fork), if any.
    ///
    /// The indexes below answer with one stored entry for their key; when several are
    /// stored (only a forked author has more than one), it must be one below the fork
    /// whenever there is one: the first stored, or the lowest seq, both are.
    fn frozen(&self, author: &PublicKey) -> Option<u64>;
    /// The first-stored claim by `member` on `offer`.
    fn claimed(&self, offer: &Id, member: &PublicKey) -> Option<Id>;
    /// The first-stored submission by `member` for `offer`.
    fn submitted(&self, offer: &Id, member: &PublicKey) -> Option<Id>;
    /// The first-stored assignment of `offer`.
    fn assigned(&self, offer: &Id) -> Option<Id>;
    /// The first-stored acceptance or rejection of `submission`.
    fn reviewed(&self, submission: &Id) -> Option<Id>;
    /// The first-stored vote by `member` on `proposal`.
    fn voted(&self, proposal: &Id, member: &PublicKey) -> Option<Id>;
    /// The first-stored answer (receipt) to `settle`.
    fn answered(&self, settle: &Id) -> Option<Id>;

    /// The `device` entry named by the enrollment stored at seq 1 of `author`'s chain, if
    /// that entry is an `enroll` (docs/protocol.md 4.7). The default reads the entry at
    /// seq 1; stores that read old entries back from disk keep it in an index, since every
    /// entry judged asks it.
    fn enrolled_with(&self, author: &PublicKey) -> Option<Id> {
        let first = self.at(author, 1).and_then(|id| self.entry(&id))?;
        match &first.entry().body {
            Body::Enroll(x) => Some(x.device),
            _ => None,
        }
    }

    /// The first-stored appeal, reply or verdict by `author` naming `named` (a rejection
    /// for an appeal, an appeal for a reply or a verdict). The default walks the author's
    /// chain from seq 1: these entries are rare; a store may index them instead.
    fn appealed(&self, named: &Id, author: &PublicKey) -> Option<Id> {
        let head = self.head(author)?;
        (1..=head.seq)
            .filter_map(|seq| self.at(author, seq))
            .find(|id| {
                self.entry(id)
                    .is_some_and(|v| crate::appeal::names(&v.entry().body, named))
            })
    }

    /// The enactments on the governance path ending at `gov`, newest first. The default
    /// walks `gov` links through [`Context::entry`]; stores may cache it.
    fn path(&self, gov: Option<Id>) -> Result<Vec<Enactment>, PathError> {
        let mut out = Vec::new();
        let mut cur = gov;
        while let Some(id) = cur {
            let (e, parent) = enactment(self, id)?;
            out.push(e);
            cur = parent;
        }
        Ok(out)
    }
}

/// One step of a governance path: the enactment `id` and its parent (its own `gov`).
pub fn enactment<C: Context + ?Sized>(
    ctx: &C,
    id: Id,
) -> Result<(Enactment, Option<Id>), PathError> {
    let v = ctx.entry(&id).ok_or(PathError::Missing(id))?;
    let Body::Enact(e) = &v.entry().body else {
        return Err(PathError::NotEnact(id));
    };
    let p = ctx
        .entry(&e.proposal)
        .ok_or(PathError::Missing(e.proposal))?;
    let Body::Proposal(prop) = &p.entry().body else {
        return Err(PathError::NotEnact(id));
    };
    let step = Enactment {
        id,
        proposal: e.proposal,
        effective_at: e.effective_at,
        action: prop.action.clone(),
    };
    Ok((step, v.entry().gov))
}

/// Why a governance path could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// An entry on it is not stored yet.
    Missing(Id),
    /// A `gov` link names something that is not an enactment.
    NotEnact(Id),
}

/// What is missing before an entry can be judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// The author's entries `from..=to` are not stored yet.
    Gap {
        /// The author.
        author: PublicKey,
        /// First missing seq.
        from: u64,
        /// Last missing seq.
        to: u64,
    },
    /// An entry the body or `gov` names.
    Dependency(Id),
}

/// A verdict that is not a rule break.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Valid and new: store it.
    Fresh,
    /// Already stored.
    Duplicate,
    /// Cannot be judged yet.
    Pending(Missing),
    /// Valid, but the author already has a different entry at this seq: equivocation.
    /// Store it beside the chain (others may depend on it), keep the pair as evidence,
    /// and freeze the author from this seq on.
    Fork {
        /// The entry stored at that seq.
        existing: Id,
    },
    /// Valid, and it follows an entry of a branch (after a fork): store it beside the
    /// chain, like the entry it follows.
    Branch,
}

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

/// Judges a verified entry for cooperative `coop`. `now` is the receiving node's clock for
/// the future-timestamp rule; `None` (audits, imports of old ledgers) skips that rule.
pub fn check(
    ctx: &impl Context,
    coop: &Id,
    v: &Verified,
    now: Option<Timestamp>,
) -> Result<Outcome, Invalid> {
    let e = v.entry();
    // Which cooperative first: an entry of another cooperative must never be compared
    // with this one's chains (it would look like a fork and freeze an honest author).
    let is_charter = matches!(e.body, Body::Charter(_));
    let belongs = if is_charter {
        v.id() == *coop
    } else {
        e.coop == Some(*coop)
    };
    if !belongs {
        return Err(Invalid::WrongCoop {
            expected: *coop,
            found: if is_charter { Some(v.id()) } else { e.coop },
        });
    }
    if e.seq == 0 {
        return Err(Invalid::SeqZero);
    }
    if is_charter && e.seq != 1 {
        return Err(Invalid::BadCharter(
            "a charter is seq 1 of its author's chain".into(),
        ));
    }
    // Position in the author's chain first. The chain checks read the entry `prev` names,
    // not this node's head: an author who forked has two branches, and an entry on
    // either is judged against its own past (docs/protocol.md section 9), so every node
    // reaches the same verdict whichever branch it saw first.
    let slot = ctx.at(&e.author, e.seq);
    if slot == Some(v.id()) {
        return Ok(Outcome::Duplicate);
    }
    let forked = ctx.frozen(&e.author);
    if forked.is_some() && ctx.entry(&v.id()).is_some() {
        // Held already as an entry of another branch.
        return Ok(Outcome::Duplicate);
    }
    let head = ctx.head(&e.author);
    let prev = match (e.seq, e.prev) {
        (1, None) => None,
        (1, Some(_)) | (_, None) => {
            return Err(Invalid::WrongPrev {
                seq: e.seq,
                expected: if e.seq == 1 {
                    None
                } else {
                    ctx.at(&e.author, e.seq - 1)
                },
                found: e.prev,
            })
        }
        (_, Some(p)) => {
            let on_chain = ctx.at(&e.author, e.seq - 1) == Some(p);
            // The head answers for the usual case, a chain's next entry, without a read.
            let held = match head {
                Some(h) if on_chain && h.id == p => Some(Prev {
                    on_chain,
                    ts: h.ts,
                    gov: h.gov,
                }),
                _ => ctx
                    .entry(&p)
                    .filter(|pv| {
                        on_chain || (pv.entry().author == e.author && pv.entry().seq + 1 == e.seq)
                    })
                    .map(|pv| Prev {
                        on_chain,
                        ts: pv.entry().ts,
                        gov: pv.entry().gov,
                    }),
            };
            let below = head.map_or(0, |h| h.seq);
            let pe = match held {
                Some(pe) => pe,
                _ if below < e.seq - 1 => {
                    return Ok(Outcome::Pending(Missing::Gap {
                        author: e.author,
                        from: below + 1,
                        to: e.seq - 1,
                    }))
                }
                // Held, but not the author's entry at the seq below.
                None if ctx.entry(&p).is_some() => {
                    return Err(Invalid::WrongPrev {
                        seq: e.seq,
                        expected: ctx.at(&e.author, e.seq - 1),
                        found: e.prev,
                    })
                }
                // The slot below holds another branch's entry: wait for this one's.
                None => return Ok(Outcome::Pending(Missing::Dependency(p))),
            };
            Some(pe)
        }
    };
    if let Some(p) = prev {
        if e.ts < p.ts {
            return Err(Invalid::TimeBeforePrev {
                ts: e.ts,
                prev_ts: p.ts,
            });
        }
    }
    if let Some(now) = now {
        if e.ts > now.saturating_add(MAX_CLOCK_SKEW_MS) {
            return Err(Invalid::FromTheFuture { ts: e.ts, now });
        }
    }
    // Where this entry goes if it keeps every rule: the next of the chain, a second entry
    // at a taken seq (a fork: both are kept), or an entry of a branch.
    let position = match (prev.is_none_or(|p| p.on_chain), slot) {
        (true, None) => Outcome::Fresh,
        (true, Some(existing)) => Outcome::Fork { existing },
        (false, _) => Outcome::Branch,
    };
    // The lowest seq where this author has two entries, counting the one judged now.
    let fork_at = match (&position, forked) {
        (Outcome::Fork { .. }, Some(s)) => Some(s.min(e.seq)),
        (Outcome::Fork { .. }, None) => Some(e.seq),
        (_, f) => f,
    };
    if let Body::Charter(c) = &e.body {
        return check_charter(v, c).map(|()| position);
    }
    let Some(charter_entry) = ctx.entry(coop) else {
        return Ok(Outcome::Pending(Missing::Dependency(*coop)));
    };
    let Body::Charter(charter) = &charter_entry.entry().body else {
        return Err(Invalid::WrongCoop {
            expected: *coop,
            found: e.coop,
        });
    };
    let path = match ctx.path(e.gov) {
        Ok(p) => p,
        Err(PathError::Missing(id)) => return Ok(Outcome::Pending(Missing::Dependency(id))),
        Err(PathError::NotEnact(id)) => {
            return Err(Invalid::BadGov {
                gov: e.gov.unwrap_or(id),
                id,
            })
        }
    };
    // An author cannot unlearn an amendment it has acknowledged.
    if let Some(previous) = prev.and_then(|p| p.gov) {
        if !path.iter().any(|x| x.id == previous) {
            return Err(Invalid::GovernanceRegressed {
                previous,
                found: e.gov,
            });
        }
    }
    let rules = Rules::at_shared(charter_entry.id(), charter, &path, e.ts);
    let size = v.bytes().len();
    let max = if matches!(e.body, Body::Evidence(_)) {
        MAX_ENVELOPE_BYTES as u64
    } else {
        rules.limits.max_entry_bytes.min(MAX_CHARTER_ENTRY_BYTES)
    };
    if size as u64 > max {
        return Err(Invalid::Oversize { size, max });
    }
    let mut deps = Vec::new();
    for id in e.body.dependencies() {
        let Some(d) = ctx.entry(&id) else {
            return Ok(Outcome::Pending(Missing::Dependency(id)));
        };
        if d.entry().ts > e.ts {
            return Err(Invalid::BeforeDependency {
                dep: id,
                dep_ts: d.entry().ts,
                ts: e.ts,
            });
        }
        deps.push(d);
    }
    let j = Judge {
        ctx,
        coop,
        v,
        who: speaks_for(ctx, v),
        rules: &rules,
        path: &path,
        fork_at,
    };
    j.body(&deps).map(|()| position)
}

/// The key an entry speaks for: its author, or, when its author is a device (its chain
/// starts with an `enroll`), the member or requester whose `device` entry that names.
/// Read from the entry's own past only: the first entry of its own branch (the stored
/// seq 1, unless the author forked there, when the branch is walked), and the `device`
/// entry it names. A device that enrolls twice at seq 1 (a fork) speaks, on each branch,
/// for what that branch's first entry names; the fold counts such a device for nobody.
pub fn speaks_for<C: Context + ?Sized>(ctx: &C, v: &Verified) -> PublicKey {
    let e = v.entry();
    let first_of_branch = |first: Option<Verified>| {
        first.and_then(|f| match &f.entry().body {
            Body::Enroll(x) => Some(x.device),
            _ => None,
        })
    };
    let enrolled = if e.seq == 1 {
        first_of_branch(Some(v.clone()))
    } else if ctx.frozen(&e.author).is_some_and(|s| s <= 1) {
        let mut cur = e.prev.and_then(|p| ctx.entry(&p));
        while let Some(c) = cur.take() {
            if c.entry().seq <= 1 {
                cur = Some(c);
                break;
            }
            cur = c.entry().prev.and_then(|p| ctx.entry(&p));
        }
        first_of_branch(cur)
    } else {
        ctx.enrolled_with(&e.author)
    };
    enrolled
        .and_then(|d| ctx.entry(&d))
        .and_then(|d| match &d.entry().body {
            Body::Device(x) if x.key == e.author => Some(d.entry().author),
            _ => None,
        })
        .unwrap_or(e.author)
}

/// What the chain checks need of the entry `prev` names.
#[derive(Clone, Copy)]
struct Prev {
    /// Whether it is the entry this node holds in the author's chain at that seq.
    on_chain: bool,
    ts: Timestamp,
    gov: Option<Id>,
}

fn check_charter(v: &Verified, c: &Charter) -> Result<(), Invalid> {
    let e = v.entry();
    let bad = |s: &str| Err(Invalid::BadCharter(s.to_owned()));
    if e.coop.is_some() || e.seq != 1 || e.prev.is_some() || e.gov.is_some() {
        return bad("a charter has coop, prev and gov null and seq 1");
    }
    if c.name.trim().is_empty() {
        return bad("the cooperative needs a name");
    }
    if !c.members.contains(&e.author) {
        return bad("the author must be a founding member");
    }
    if c.quorum_pct == 0 || c.quorum_pct > 100 {
        return bad("quorum_pct must be 1 to 100");
    }
    if c.floors.is_empty() {
        return bad("at least one currency needs a floor");
    }
    if let Some(cur) = c.floors.keys().find(|k| !valid_currency(k)) {
        return Err(Invalid::BadCharter(format!(
            "{cur:?} is not an ISO 4217 code"
        )));
    }
    for (limit, value) in limit_values(&c.limits) {
        if let Err(why) = check_limit(limit, value) {
            return Err(Invalid::BadCharter(why));
        }
    }
    if v.bytes().len() as u64 > MAX_CHARTER_ENTRY_BYTES {
        return Err(Invalid::Oversize {
            size: v.bytes().len(),
            max: MAX_CHARTER_ENTRY_BYTES,
        });
    }
    if let Some(k) = c
        .members
        .iter()
        .chain(&c.requesters)
        .find(|k| !sig::acceptable_key(k.as_bytes()))
    {
        return Err(Invalid::UnacceptableKey(*k));
    }
    // Every founder has exactly one name, and nobody else has one.
    let founders: BTreeSet<&PublicKey> = c.members.iter().chain(&c.requesters).collect();
    let mut named = BTreeSet::new();
    for n in &c.names {
        if !founders.contains(&n.key) {
            return Err(Invalid::BadCharter(format!(
                "{} is named but is no founder",
                n.key.short()
            )));
        }
        if !named.insert(n.key) {
            return Err(Invalid::BadCharter(format!(
                "{} is named twice",
                n.key.short()
            )));
        }
        if let Err(why) = check_name(&n.name) {
            return Err(Invalid::BadCharter(format!(
                "the name of {} {why}",
                n.key.short()
            )));
        }
    }
    if let Some(k) = founders.iter().find(|k| !named.contains(**k)) {
        return Err(Invalid::BadCharter(format!(
            "the founder {} has no name",
            k.short()
        )));
    }
    Ok(())
}

struct Judge<'a, C> {
    ctx: &'a C,
    coop: &'a Id,
    v: &'a Verified,
    /// Whom the author speaks for: itself, or the member or requester of its device key.
    who: PublicKey,
    rules: &'a Rules,
    path: &'a [Enactment],
    /// The lowest seq at which the author has two entries, if any.
    fork_at: Option<u64>,
}

fn as_offer(d: &Verified) -> Result<&Offer, Invalid> {
    match &d.entry().body {
        Body::Offer(o) => Ok(o),
        other => Err(Invalid::WrongKind {
            id: d.id(),
            expected: Kind::Offer,
            found: other.kind(),
        }),
    }
}

fn wrong(d: &Verified, expected: Kind) -> Invalid {
    Invalid::WrongKind {
        id: d.id(),
        expected,
        found: d.entry().body.kind(),
    }
}

impl<C: Context> Judge<'_, C> {
    fn author(&self) -> PublicKey {
        self.v.entry().author
    }

    fn not_allowed(&self, why: &'static str) -> Invalid {
        Invalid::NotAllowed {
            author: self.author(),
            kind: self.v.entry().body.kind(),
            why,
        }
    }

    fn member(&self) -> Result<(), Invalid> {
        if self.rules.is_member(&self.who) {
            Ok(())
        } else {
            Err(self.not_allowed("not a member under the rules it names"))
        }
    }

    /// Whether an ancestor of the entry judged (an earlier entry of its own branch) is a
    /// conflicting entry, given `first`, the first stored of the conflicting kind (from an
    /// index) and `same`, which says whether an entry conflicts. Below the author's lowest
    /// fork every entry is an ancestor, so `first` decides; from the fork on, the entry's
    /// own branch is walked (only forked authors get there, and never further than the
    /// fork). So the verdict is the same on every node, whichever branch it stored first.
    fn repeats(&self, first: Option<Id>, same: impl Fn(&Body) -> bool) -> bool {
        let Some(first) = first.and_then(|x| self.ctx.entry(&x)) else {
            return false;
        };
        let e = self.v.entry();
        if first.entry().author != e.author {
            // Another device of the same member (or requester) did it first: that is
            // not in this entry's past, so only its own ancestors decide (the fold
            // counts one of them). The index answers for another chain, so walk the
            // whole branch: only a member with several devices gets here.
            let mut cur = e.prev;
            while let Some(p) = cur.and_then(|id| self.ctx.entry(&id)) {
                if same(&p.entry().body) {
                    return true;
                }
                cur = p.entry().prev;
            }
            return false;
        }
        let fork = self.fork_at.unwrap_or(u64::MAX);
        let s = first.entry().seq;
        if s < fork.min(e.seq) {
            return true;
        }
        let mut cur = e.prev;
        while let Some(p) = cur.and_then(|id| self.ctx.entry(&id)) {
            if p.entry().seq < fork {
                break;
            }
            if same(&p.entry().body) {
                return true;
            }
            cur = p.entry().prev;
        }
        false
    }

    /// A vote or enactment must come while `proposal` is open.
    fn open(&self, proposal: &Verified) -> Result<(), Invalid> {
        let expired_at = proposal
            .entry()
            .ts
            .saturating_add(self.rules.limits.proposal_life_ms);
        let ts = self.v.entry().ts;
        if ts > expired_at {
            return Err(Invalid::ProposalExpired {
                proposal: proposal.id(),
                expired_at,
                ts,
            });
        }
        Ok(())
    }

    /// The offer's requester must be the author.
    fn own_offer(&self, offer: &Verified) -> Result<(), Invalid> {
        if speaks_for(self.ctx, offer) == self.who {
            Ok(())
        } else {
            Err(self.not_allowed("only the offer's requester may do this"))
        }
    }

    fn body(&self, deps: &[Verified]) -> Result<(), Invalid> {
        let e = self.v.entry();
        let ts = e.ts;
        match &e.body {
            Body::Charter(_) => Err(Invalid::BadCharter("a charter can only be genesis".into())),
            Body::Proposal(p) => {
                self.member()?;
                check_action(&p.action)?;
                if let Action::ReplaceKey { old, new } = &p.action {
                    if !self.rules.may_request(old) {
                        return Err(Invalid::BadProposal(
                            "the key to replace holds no role".into(),
                        ));
                    }
                    if self.rules.may_request(new) {
                        return Err(Invalid::BadProposal(
                            "the new key already holds a role: it is somebody else".into(),
                        ));
                    }
                }
                Ok(())
            }
            Body::Vote(vote) => {
                self.member()?;
                if !matches!(deps[0].entry().body, Body::Proposal(_)) {
                    return Err(wrong(&deps[0], Kind::Proposal));
                }
                self.open(&deps[0])?;
                let first = self.ctx.voted(&vote.proposal, &e.author);
                if self.repeats(
                    first,
                    |b| matches!(b, Body::Vote(x) if x.proposal == vote.proposal),
                ) {
                    return Err(Invalid::DoubleVote {
                        proposal: vote.proposal,
                    });
                }
                Ok(())
            }
            Body::Enact(en) => {
                self.member()?;
                let Body::Proposal(prop) = &deps[0].entry().body else {
                    return Err(wrong(&deps[0], Kind::Proposal));
                };
                if self.path.iter().any(|x| x.proposal == en.proposal) {
                    return Err(Invalid::AlreadyEnacted {
                        proposal: en.proposal,
                    });
                }
                self.open(&deps[0])?;
                let mut voters = BTreeSet::new();
                let (mut yes, mut no) = (0, 0);
                for d in &deps[1..] {
                    let ok = match &d.entry().body {
                        Body::Vote(vt) => {
                            // One vote per member, whichever of its devices cast it.
                            let voter = speaks_for(self.ctx, d);
                            vt.proposal == en.proposal
                                && self.rules.is_member(&voter)
                                && voters.insert(voter)
                        }
                        _ => false,
                    };
                    if !ok {
                        return Err(Invalid::BadVote {
                            vote: d.id(),
                            proposal: en.proposal,
                        });
                    }
                    match &d.entry().body {
                        Body::Vote(vt) if vt.yes => yes += 1,
                        _ => no += 1,
                    }
                }
                let needed = self.rules.quorum_needed();
                if voters.len() < needed {
                    return Err(Invalid::QuorumNotReached {
                        needed,
                        found: voters.len(),
                    });
                }
                if !self.rules.passes(&prop.action, yes, no) {
                    return Err(Invalid::NotPassed {
                        yes,
                        no,
                        pct: self.rules.threshold(&prop.action),
                    });
                }
                let earliest = ts.saturating_add(self.rules.limits.amendment_delay_ms);
                if en.effective_at < earliest {
                    return Err(Invalid::EffectiveTooSoon {
                        effective_at: en.effective_at,
                        earliest,
                    });
                }
                let latest = earliest.saturating_add(ENACT_SLACK_MS);
                if en.effective_at > latest {
                    return Err(Invalid::EffectiveTooLate {
                        effective_at: en.effective_at,
                        latest,
                    });
                }
                Ok(())
            }
            Body::Offer(o) => self.offer(o),
            Body::Withdraw(_) => {
                as_offer(&deps[0])?;
                self.own_offer(&deps[0])
            }
            Body::Claim(c) => {
                self.member()?;
                let o = as_offer(&deps[0])?;
                if speaks_for(self.ctx, &deps[0]) == self.who {
                    return Err(self.not_allowed("a requester cannot claim its own offer"));
                }
                if ts > o.expires_at {
                    return Err(Invalid::OfferExpired {
                        offer: c.offer,
                        expires_at: o.expires_at,
                        ts,
                    });
                }
                // Whether it came within the claim window is the fold's call, from
                // witnessed time: an offer may be backdated so that its window closed,
                // by its own timestamp, before anyone saw it.
                let first = self.ctx.claimed(&c.offer, &e.author);
                if self.repeats(first, |b| matches!(b, Body::Claim(x) if x.offer == c.offer)) {
                    return Err(Invalid::DoubleClaim { offer: c.offer });
                }
                Ok(())
            }
            Body::Assign(a) => {
                let o = as_offer(&deps[0])?;
                self.own_offer(&deps[0])?;
                // A second assignment is allowed: only one naming exactly the claims that
                // count (the fold, 8.2) takes effect, and its winners follow from the
                // committed secret, so trying again chooses nothing.
                let closes_at = deps[0].entry().ts.saturating_add(o.claim_window_ms);
                // The lottery runs over the whole window: assigning early would favour
                // whoever happened to claim first.
                if ts <= closes_at {
                    return Err(Invalid::ClaimWindowOpen {
                        offer: a.offer,
                        closes_at,
                        ts,
                    });
                }
                let mut claimants = Vec::with_capacity(a.claims.len());
                let mut seen = BTreeSet::new();
                let mut members = BTreeSet::new();
                for d in &deps[1..] {
                    // The claimant is the member a device speaks for: one ticket per
                    // member, however many devices it claimed from.
                    let claimant = speaks_for(self.ctx, d);
                    let ok = matches!(&d.entry().body, Body::Claim(c) if c.offer == a.offer)
                        && seen.insert(d.id())
                        && members.insert(claimant);
                    if !ok {
                        return Err(Invalid::ClaimNotForOffer {
                            claim: d.id(),
                            offer: a.offer,
                        });
                    }
                    claimants.push((d.id(), claimant));
                }
                if lottery::commit(&a.secret) != o.commit {
                    return Err(Invalid::BadReveal);
                }
                let expected = lottery::draw(&a.secret, &a.offer, &claimants, o.assignments);
                if expected != a.winners {
                    return Err(Invalid::LotteryMismatch {
                        expected,
                        found: a.winners.clone(),
                    });
                }
                Ok(())
            }
            Body::Submit(s) => {
                self.member()?;
                as_offer(&deps[0])?;
                let Body::Assign(a) = &deps[1].entry().body else {
                    return Err(wrong(&deps[1], Kind::Assign));
                };
                // A winner, or a claimant the assignment names: the place of a winner who
                // does not submit in time passes down the draw (the fold, 8.2).
                let named = |id: &Id| {
                    self.ctx
                        .entry(id)
                        .is_some_and(|c| speaks_for(self.ctx, &c) == self.who)
                };
                if a.offer != s.offer
                    || !(a.winners.contains(&self.who) || a.claims.iter().any(named))
                {
                    return Err(Invalid::NotAssigned {
                        member: e.author,
                        assign: s.assign,
                        offer: s.offer,
                    });
                }
                let first = self.ctx.submitted(&s.offer, &e.author);
                if self.repeats(
                    first,
                    |b| matches!(b, Body::Submit(x) if x.offer == s.offer),
                ) {
                    return Err(Invalid::DoubleSubmit { offer: s.offer });
                }
                if s.minutes == 0 {
                    return Err(Invalid::ZeroMinutes);
                }
                let max = self.rules.limits.max_result_bytes;
                if s.size > max {
                    return Err(Invalid::ResultTooLarge { size: s.size, max });
                }
                Ok(())
            }
            Body::Accept(_) | Body::Reject(_) => self.verdict(&deps[0]),
            Body::Settle(s) => {
                if !self.rules.may_request(&self.who) {
                    return Err(self.not_allowed("only requesters and members record payments"));
                }
                if s.member == e.author || s.member == self.who {
                    return Err(self.not_allowed("a payment to oneself records nothing"));
                }
                if !valid_currency(&s.amount.currency) || s.amount.minor == 0 {
                    return Err(Invalid::BadAmount(format!(
                        "{} is not a positive amount with an ISO 4217 code",
                        s.amount
                    )));
                }
                sealed_for(&s.reference, &[s.member, self.who])
            }
            Body::Receipt(r) => {
                // No role is needed: a member removed since, or one whose key holds no
                // role, still answers for money sent to it. Any other key may not.
                let Body::Settle(s) = &deps[0].entry().body else {
                    return Err(wrong(&deps[0], Kind::Settle));
                };
                if s.member != e.author && s.member != self.who {
                    return Err(self.not_allowed("only the member paid can answer a payment"));
                }
                let first = self.ctx.answered(&r.settle);
                if self.repeats(
                    first,
                    |b| matches!(b, Body::Receipt(x) if x.settle == r.settle),
                ) {
                    return Err(Invalid::AlreadyAnswered { settle: r.settle });
                }
                Ok(())
            }
            Body::Review(r) => {
                self.member()?;
                if r.requester == e.author || r.requester == self.who {
                    return Err(self.not_allowed("nobody reviews themselves"));
                }
                for (field, value) in [
                    ("pay", r.pay),
                    ("fairness", r.fairness),
                    ("promptness", r.promptness),
                    ("communication", r.communication),
                ] {
                    if !(1..=5).contains(&value) {
                        return Err(Invalid::BadScore { field, value });
                    }
                }
                match &r.text {
                    Some(t) => sealed_for(t, &[r.requester, self.who]),
                    None => Ok(()),
                }
            }
            Body::Evidence(ev) => {
                if !self.rules.may_request(&self.who) {
                    return Err(self.not_allowed("only members and requesters publish evidence"));
                }
                self.evidence(&ev.a, &ev.b)
            }
            Body::Tick(t) => {
                // Members and requesters witness: a requester's node ticks the work it
                // receives, so a member cannot backdate a submission past its review.
                if !self.rules.may_request(&self.who) {
                    return Err(self.not_allowed("only members and requesters tick"));
                }
                if t.heads.is_empty() || t.heads.len() > MAX_TICK_HEADS {
                    return Err(Invalid::BadTick(format!(
                        "names 1 to {MAX_TICK_HEADS} entries, not {}",
                        t.heads.len()
                    )));
                }
                let distinct: BTreeSet<&Id> = t.heads.iter().collect();
                if distinct.len() != t.heads.len() {
                    return Err(Invalid::BadTick("names an entry twice".into()));
                }
                // A member's devices are one author for witnessing: its phone cannot
                // witness what its laptop wrote.
                if let Some(d) = deps
                    .iter()
                    .find(|d| d.entry().author == e.author || speaks_for(self.ctx, d) == self.who)
                {
                    return Err(Invalid::BadTick(format!(
                        "names {}, its own author's entry (an author cannot witness itself)",
                        d.id()
                    )));
                }
                Ok(())
            }
            Body::Appeal(_) | Body::Reply(_) | Body::Verdict(_) => {
                let repeats =
                    |first: Option<Id>, same: &dyn Fn(&Body) -> bool| self.repeats(first, same);
                crate::appeal::check(&crate::appeal::Judged {
                    ctx: self.ctx,
                    v: self.v,
                    who: self.who,
                    rules: self.rules,
                    dep: &deps[0],
                    repeats: &repeats,
                })
            }
            Body::Device(d) => self.device(d),
            Body::Enroll(_) => self.enroll(&deps[0]),
            Body::RevokeDevice(r) => {
                if !self.rules.may_request(&self.who) {
                    return Err(self.not_allowed("not a member or requester"));
                }
                if r.key == self.who {
                    return Err(Invalid::BadDevice(
                        "an identity key is not a device: a lost one is replaced by a vote".into(),
                    ));
                }
                Ok(())
            }
        }
    }

    /// A `device` entry: written by a member or requester with its own key (a device
    /// cannot authorise devices), naming an acceptable key that holds no role.
    fn device(&self, d: &crate::body::Device) -> Result<(), Invalid> {
        let e = self.v.entry();
        if self.who != e.author {
            return Err(self.not_allowed("a device cannot authorise devices"));
        }
        if !self.rules.may_request(&e.author) {
            return Err(self.not_allowed("not a member or requester"));
        }
        let bad = |s: String| Err(Invalid::BadDevice(s));
        if d.key == e.author {
            return bad("a key cannot be its own device".into());
        }
        if !sig::acceptable_key(d.key.as_bytes()) {
            return Err(Invalid::UnacceptableKey(d.key));
        }
        if self.rules.may_request(&d.key) {
            return bad("a member's or requester's key cannot be a device".into());
        }
        if let Err(why) = check_text(&d.label, crate::body::MAX_LABEL_CHARS, true) {
            return bad(format!("label: {why}"));
        }
        Ok(())
    }

    /// An `enroll`: the first entry of the device's chain, naming the `device` entry
    /// of its own key; the device holds no role of its own.
    fn enroll(&self, dep: &Verified) -> Result<(), Invalid> {
        let e = self.v.entry();
        let Body::Device(d) = &dep.entry().body else {
            return Err(wrong(dep, Kind::Device));
        };
        if e.seq != 1 {
            return Err(Invalid::BadDevice(
                "an enrollment is the first entry of a device's chain".into(),
            ));
        }
        if d.key != e.author {
            return Err(Invalid::BadDevice(format!(
                "{} authorises {}, not this key",
                dep.id(),
                d.key
            )));
        }
        if self.rules.may_request(&e.author) {
            return Err(Invalid::BadDevice(
                "a member's or requester's key cannot be a device".into(),
            ));
        }
        Ok(())
    }

    fn offer(&self, o: &Offer) -> Result<(), Invalid> {
        let e = self.v.entry();
        if !self.rules.may_request(&self.who) {
            return Err(self.not_allowed("not an admitted requester or member"));
        }
        let bad = |field: &'static str, why: String| Err(Invalid::BadOffer { field, why });
        if o.title.trim().is_empty() {
            return bad("title", "must not be empty".into());
        }
        if o.purpose.trim().is_empty() {
            return Err(Invalid::MissingPurpose);
        }
        // What every member's board shows: bounded, and free of characters that reorder
        // or hide what is written around them (docs/protocol.md 4.5).
        for (field, text, max, one_line) in [
            ("title", &o.title, crate::body::MAX_TITLE_CHARS, true),
            ("purpose", &o.purpose, crate::body::MAX_PURPOSE_CHARS, true),
            (
                "description",
                &o.description,
                crate::body::MAX_DESCRIPTION_CHARS,
                false,
            ),
        ] {
            if let Err(why) = check_text(text, max, one_line) {
                return bad(field, why);
            }
        }
        if o.minutes == 0 {
            return bad("minutes", "the estimate must be at least 1 minute".into());
        }
        if o.assignments == 0 {
            return bad("assignments", "must be at least 1".into());
        }
        let cur = &o.pay.currency;
        let Some(&floor) = self.rules.floors.get(cur) else {
            return Err(Invalid::CurrencyNotAllowed(cur.clone()));
        };
        if !meets_floor(o.pay.minor, o.minutes, floor) {
            return Err(Invalid::OfferBelowFloor {
                currency: cur.clone(),
                pay: o.pay.minor,
                minutes: o.minutes,
                offered_per_hour: hourly_rate(o.pay.minor, o.minutes).unwrap_or(0),
                floor,
            });
        }
        let l = &self.rules.limits;
        if o.expires_at <= e.ts {
            return bad("expires_at", "must be after the offer's timestamp".into());
        }
        if o.expires_at - e.ts > l.max_offer_life_ms {
            return bad(
                "expires_at",
                format!("an offer may last at most {} ms", l.max_offer_life_ms),
            );
        }
        if o.review_window_ms > l.max_review_window_ms {
            return bad(
                "review_window_ms",
                format!("at most {} ms", l.max_review_window_ms),
            );
        }
        let least = l.min_claim_window_ms.max(1);
        if o.claim_window_ms < least || o.claim_window_ms > l.max_claim_window_ms {
            return bad(
                "claim_window_ms",
                format!("{least} to {} ms", l.max_claim_window_ms),
            );
        }
        Ok(())
    }

    fn verdict(&self, sub: &Verified) -> Result<(), Invalid> {
        let e = self.v.entry();
        let Body::Submit(s) = &sub.entry().body else {
            return Err(wrong(sub, Kind::Submit));
        };
        let Some(offer) = self.ctx.entry(&s.offer) else {
            // A stored submission's offer is stored: this is a broken store, not the entry.
            return Err(wrong(sub, Kind::Submit));
        };
        as_offer(&offer)?;
        self.own_offer(&offer)?;
        let first = self.ctx.reviewed(&sub.id());
        let same = |b: &Body| match b {
            Body::Accept(x) => x.submission == sub.id(),
            Body::Reject(x) => x.submission == sub.id(),
            _ => false,
        };
        if self.repeats(first, same) {
            return Err(Invalid::AlreadyReviewed {
                submission: sub.id(),
            });
        }
        if let Body::Reject(r) = &e.body {
            // The reason is sealed to the member whose work it was and to the requester:
            // whether it says something only their nodes can tell (the writer's checks
            // the text rule before sealing).
            sealed_for(&r.reason, &[speaks_for(self.ctx, sub), self.who])?;
            // Whether it came in time is judged by the fold, from witnessed time: a
            // submission's own timestamp may be backdated, and a rejection refused here
            // by that timestamp could never be made at all.
        }
        Ok(())
    }

    fn evidence(&self, a: &[u8], b: &[u8]) -> Result<(), Invalid> {
        let bad = |s: String| Invalid::BadEvidence(s);
        let open = |bytes: &[u8]| -> Result<Verified, Invalid> {
            Unverified::decode(bytes)
                .map_err(|e| bad(e.to_string()))?
                .verify()
                .map_err(|e| bad(e.to_string()))
        };
        let (a, b) = (open(a)?, open(b)?);
        let (ea, eb) = (a.entry(), b.entry());
        if ea.author != eb.author || ea.seq != eb.seq {
            return Err(bad("the two entries differ in author or seq".into()));
        }
        if a.id() == b.id() {
            return Err(bad("the two entries are the same".into()));
        }
        let in_coop = |x: &crate::entry::Entry, id: Id| {
            x.coop == Some(*self.coop) || (x.coop.is_none() && id == *self.coop)
        };
        if !in_coop(ea, a.id()) || !in_coop(eb, b.id()) {
            return Err(bad("the entries belong to another cooperative".into()));
        }
        Ok(())
    }
}

fn check_action(a: &Action) -> Result<(), Invalid> {
    let bad = |s: &str| Err(Invalid::BadProposal(s.to_owned()));
    match a {
        Action::AdmitMember { key, name } | Action::AdmitRequester { key, name } => {
            if !sig::acceptable_key(key.as_bytes()) {
                return Err(Invalid::UnacceptableKey(*key));
            }
            check_name(name).map_err(|why| Invalid::BadProposal(format!("the name {why}")))?;
        }
        Action::RemoveMember(_) | Action::RemoveRequester(_) | Action::RevokeDevice(_) => {}
        Action::ReplaceKey { old, new } => {
            if !sig::acceptable_key(new.as_bytes()) {
                return Err(Invalid::UnacceptableKey(*new));
            }
            if old == new {
                return bad("the new key must differ from the old one");
            }
        }
        Action::SetFloor { currency, .. } => {
            if !valid_currency(currency) {
                return bad("the currency must be an ISO 4217 code");
            }
        }
        Action::SetQuorum(q) => {
            if *q == 0 || *q > 100 {
                return bad("the quorum must be 1 to 100 percent");
            }
        }
        Action::SetLimit { limit, value } => {
            check_limit(*limit, *value).map_err(Invalid::BadProposal)?;
        }
    }
    Ok(())
}

/// The name rule for a member's or requester's display name (docs/protocol.md 4.5): not
/// blank, at most [`crate::body::MAX_NAME_CHARS`] characters, one line, and no
/// bidirectional control, so that a name can never pass for another or reorder what is
/// written beside it. The error completes "the name ...".
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be blank".into());
    }
    let (n, max) = (name.chars().count(), crate::body::MAX_NAME_CHARS);
    if n > max {
        return Err(format!("has {n} characters; at most {max}"));
    }
    // Within the length, check_text can only refuse a character: "contains ...".
    check_text(name, max, true)
}

/// A text shown to members: at most `max` characters, no bidirectional embedding,
/// override or isolate control, and no control character at all on one line (tabs and
/// line breaks are allowed elsewhere).
pub(crate) fn check_text(text: &str, max: usize, one_line: bool) -> Result<(), String> {
    let n = text.chars().count();
    if n > max {
        return Err(format!("{n} characters; at most {max}"));
    }
    if let Some(c) = text.chars().find(|c| crate::body::is_bidi_control(*c)) {
        return Err(format!(
            "contains the bidirectional control U+{:04X}, which can make text read as something else",
            u32::from(c)
        ));
    }
    let allowed = |c: char| !one_line && (c == '\n' || c == '\t' || c == '\r');
    if let Some(c) = text.chars().find(|c| c.is_control() && !allowed(*c)) {
        return Err(format!(
            "contains the control character U+{:04X}",
            u32::from(c)
        ));
    }
    Ok(())
}

/// What every node checks of a sealed field without reading it (docs/protocol.md 3.7):
/// its structure and bounds, a ciphertext that is not empty, and the parties among its
/// recipients, so that neither can be left unable to read what concerns it.
fn sealed_for(s: &crate::seal::Sealed, parties: &[PublicKey]) -> Result<(), Invalid> {
    s.check().map_err(|e| Invalid::BadSealed(e.to_string()))?;
    if let Some(p) = parties.iter().find(|p| !s.is_for(p)) {
        return Err(Invalid::BadSealed(format!(
            "the party {} is not among its recipients",
            p.short()
        )));
    }
    Ok(())
}

/// Every limit with its value.
fn limit_values(l: &crate::body::Limits) -> [(Limit, u64); 15] {
    [
        (Limit::MaxReviewWindowMs, l.max_review_window_ms),
        (Limit::MaxClaimWindowMs, l.max_claim_window_ms),
        (Limit::MaxOfferLifeMs, l.max_offer_life_ms),
        (Limit::MaxResultBytes, l.max_result_bytes),
        (Limit::MaxEntryBytes, l.max_entry_bytes),
        (Limit::TopupCapPct, u64::from(l.topup_cap_pct)),
        (Limit::AmendmentDelayMs, l.amendment_delay_ms),
        (Limit::MinClaimWindowMs, l.min_claim_window_ms),
        (Limit::ProposalLifeMs, l.proposal_life_ms),
        (Limit::MajorityPct, u64::from(l.majority_pct)),
        (Limit::SupermajorityPct, u64::from(l.supermajority_pct)),
        (Limit::SubmitWindowMs, l.submit_window_ms),
        (Limit::AppealWindowMs, l.appeal_window_ms),
        (Limit::JurySize, l.jury_size),
        (Limit::VoteWindowMs, l.vote_window_ms),
    ]
}

/// The least amendment delay a cooperative may set: one minute.
pub const MIN_AMENDMENT_DELAY_MS: u64 = 60 * 1000;

/// The range each limit must stay in, so that no amendment can switch a protection off.
fn check_limit(limit: Limit, value: u64) -> Result<(), String> {
    let (lo, hi, name) = match limit {
        Limit::MaxEntryBytes => (1024, MAX_CHARTER_ENTRY_BYTES, "max_entry_bytes"),
        // Under 100 % the top-up would credit less time than the estimate the pay covers.
        Limit::TopupCapPct => (100, 1000, "topup_cap_pct"),
        Limit::AmendmentDelayMs => (MIN_AMENDMENT_DELAY_MS, u64::MAX, "amendment_delay_ms"),
        Limit::MaxReviewWindowMs => (1, u64::MAX, "max_review_window_ms"),
        Limit::MaxClaimWindowMs => (1, u64::MAX, "max_claim_window_ms"),
        Limit::MaxOfferLifeMs => (1, u64::MAX, "max_offer_life_ms"),
        Limit::MaxResultBytes => (1, u64::MAX, "max_result_bytes"),
        // Under a minute nobody on a weak link could claim: the draw would be hiring.
        Limit::MinClaimWindowMs => (60 * 1000, u64::MAX, "min_claim_window_ms"),
        // At least an hour, so members who are offline now and then can vote.
        Limit::ProposalLifeMs => (60 * 60 * 1000, u64::MAX, "proposal_life_ms"),
        // A strict majority at least; 99 at most, so every vote can still pass.
        Limit::MajorityPct => (50, 99, "majority_pct"),
        // Two thirds at least (yes * 100 > 66 * cast).
        Limit::SupermajorityPct => (66, 99, "supermajority_pct"),
        // At least an hour: a drawn member on a weak link must have time to do the work.
        Limit::SubmitWindowMs => (60 * 60 * 1000, u64::MAX, "submit_window_ms"),
        // A day at least, so a member offline for a while can still appeal.
        Limit::AppealWindowMs => (24 * 60 * 60 * 1000, u64::MAX, "appeal_window_ms"),
        Limit::JurySize => {
            // Odd, so that a full jury always reaches a majority.
            if value.is_multiple_of(2) {
                return Err(format!("jury_size must be odd, not {value}"));
            }
            (1, 99, "jury_size")
        }
        // An hour at least: a juror on a weak link must have time to read and vote.
        Limit::VoteWindowMs => (60 * 60 * 1000, u64::MAX, "vote_window_ms"),
    };
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(format!("{name} must be {lo} to {hi}, not {value}"))
    }
}
