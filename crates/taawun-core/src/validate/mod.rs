//! Validation: whether a verified entry may enter a cooperative's ledger.
//!
//! [`check`] is a pure function of the entry, what it names (its author's chain, the
//! entries in its body, the governance path of its `gov`) and, for the single clock rule,
//! `now`. It reads those through the [`Context`] trait, which the sled ledger and the
//! in-memory [`crate::fold::Coop`] both implement. Because a verdict reads nothing else,
//! every node that has the same dependencies reaches the same verdict; a node missing a
//! dependency answers [`Outcome::Pending`], never "invalid".
//!
//! Here: the [`Context`] trait, [`check`] (the chain position, the clock, the governance
//! path, the size and the dependencies, every kind of entry alike) and [`speaks_for`].
//! Beside it: `invalid` ([`Invalid`], every rule that can be broken), `charter` (the rules
//! of a charter and of an amendment's action: names, texts, limits, floors) and `judge`
//! (the rules of each kind of body, and of offers, devices, verdicts and evidence).

use crate::body::{Action, Body, Charter, Kind, Limit, Offer, MAX_TICK_HEADS};
use crate::entry::{Timestamp, Unverified, Verified, MAX_CHARTER_ENTRY_BYTES, MAX_ENVELOPE_BYTES};
use crate::id::{Id, PublicKey};
use crate::lottery;
use crate::money::{format_in, hourly_rate, meets_floor, valid_currency, Currency};
use crate::rules::{Enactment, Path, Rules};
use crate::sig;
use std::collections::BTreeSet;

mod charter;
mod invalid;
mod judge;

use charter::check_charter;
pub(crate) use charter::check_text;
pub use charter::{check_name, MIN_AMENDMENT_DELAY_MS};
pub use invalid::Invalid;

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
    fn path(&self, gov: Option<Id>) -> Result<Path, PathError> {
        walk(self, gov)
    }
}

/// The governance path ending at `gov`, walked through [`Context::entry`] one
/// [`enactment`] at a time: [`Context::path`]'s default, for stores that cache it.
pub fn walk<C: Context + ?Sized>(ctx: &C, gov: Option<Id>) -> Result<Path, PathError> {
    let mut out = Vec::new();
    let mut cur = gov;
    while let Some(id) = cur {
        let (e, parent) = enactment(ctx, id)?;
        out.push(e);
        cur = parent;
    }
    Ok(out.into())
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
