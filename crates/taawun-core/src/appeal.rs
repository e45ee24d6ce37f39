//! Appeals: a member whose work was rejected asks a jury of fellow members, drawn by
//! lottery, to judge the rejection (docs/protocol.md 8.8).
//!
//! - An `appeal` names the `reject` entry and answers its reason. It counts when the
//!   member whose work was rejected made it within `appeal_window_ms` of the time the
//!   rejection was made, by witnessed time, like a claim in its window (5.7): dated by
//!   the deadline and witnessed by the deadline plus the witness slack.
//! - The jury: every member in force when the appeal was made, except the appellant, the
//!   requester and whoever claimed the same offer, ranked by `blake3(seed || key)`; the
//!   first `jury_size` hold a seat. The seed mixes the rejection's id (fixed by the
//!   requester before any appeal exists), the appeal's id (written by the appellant
//!   after) and the ids of the ticks by other members that witnessed the appeal within
//!   the slack (written by neither party). A seat whose juror does not vote within
//!   `vote_window_ms` passes to the next member of the ranking.
//! - `verdict` entries by seated jurors count, one per juror; a majority of the jury size
//!   decides. Upheld: the rejection is void and the work is owed as accepted work.
//!   Dismissed: the rejection stands. When the cooperative has too few eligible members
//!   or no witness to seed the draw, no jury can be formed and the rejection stands;
//!   when a jury was formed but its ranking ran out without a majority, the appeal is
//!   upheld by default (the spec says why).
//!
//! Validation here reads only the entry's causal past; who is seated depends on witnessed
//! time, so it is the fold's call, like which claims count.

use crate::body::{Body, Kind, MAX_ANSWER_CHARS};
use crate::entry::{Timestamp, Verified};
use crate::fold::{on_time, Coop, Timeline, WITNESS_SLACK_MS};
use crate::id::{Hash, Id, PublicKey};
use crate::rules::Rules;
use crate::seal::Sealed;
use crate::validate::{speaks_for, Context, Invalid};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Default appeal window: 7 days.
pub const fn default_appeal_window_ms() -> u64 {
    7 * 24 * 60 * 60 * 1000
}
/// Default jury size: 3.
pub const fn default_jury_size() -> u64 {
    3
}
/// Default vote window of a seat: 3 days.
pub const fn default_vote_window_ms() -> u64 {
    3 * 24 * 60 * 60 * 1000
}
pub(crate) fn is_default_appeal_window_ms(v: &u64) -> bool {
    *v == default_appeal_window_ms()
}
pub(crate) fn is_default_jury_size(v: &u64) -> bool {
    *v == default_jury_size()
}
pub(crate) fn is_default_vote_window_ms(v: &u64) -> bool {
    *v == default_vote_window_ms()
}

/// Domain tag of the jury's seed.
pub const JURY_TAG: &[u8] = b"taawun/jury/seed/v1";

/// Whether `body` is an appeal, reply or verdict naming `named`.
pub fn names(body: &Body, named: &Id) -> bool {
    match body {
        Body::Appeal(a) => a.rejection == *named,
        Body::Reply(r) => r.appeal == *named,
        Body::Verdict(v) => v.appeal == *named,
        _ => false,
    }
}

/// The jury's seed: the rejection, the appeal and the witnesses' ids (order and
/// duplicates do not matter).
pub fn seed(rejection: &Id, appeal: &Id, witnesses: &[Id]) -> Hash {
    let mut ids: Vec<&Id> = witnesses.iter().collect();
    ids.sort();
    ids.dedup();
    let mut h = blake3::Hasher::new();
    h.update(JURY_TAG);
    h.update(rejection.as_bytes());
    h.update(appeal.as_bytes());
    for w in ids {
        h.update(w.as_bytes());
    }
    Hash(*h.finalize().as_bytes())
}

/// Validation's uniqueness rule ([`crate::validate`]'s `Judge::repeats`): whether an
/// ancestor of the entry did what `same` says, given the first stored of that kind.
pub(crate) type Repeats<'a> = &'a dyn Fn(Option<Id>, &dyn Fn(&Body) -> bool) -> bool;

/// What validation hands to [`check`].
pub(crate) struct Judged<'a, C> {
    pub ctx: &'a C,
    pub v: &'a Verified,
    /// Whom the author speaks for.
    pub who: PublicKey,
    pub rules: &'a Rules,
    /// The entry the body names.
    pub dep: &'a Verified,
    /// Whether an ancestor of the entry already did what `same` says (validate's rule).
    pub repeats: Repeats<'a>,
}

fn wrong(d: &Verified, expected: Kind) -> Invalid {
    Invalid::WrongKind {
        id: d.id(),
        expected,
        found: d.entry().body.kind(),
    }
}

fn not_allowed(v: &Verified, why: &'static str) -> Invalid {
    Invalid::NotAllowed {
        author: v.entry().author,
        kind: v.entry().body.kind(),
        why,
    }
}

fn text(t: &str, what: &str) -> Result<(), Invalid> {
    if t.trim().is_empty() {
        return Err(Invalid::BadAppeal(format!("the {what} must not be empty")));
    }
    crate::validate::check_text(t, MAX_ANSWER_CHARS, false)
        .map_err(|why| Invalid::BadAppeal(format!("{what}: {why}")))
}

/// The `reject` an appeal names, and the submission it rejected.
fn rejected<C: Context>(ctx: &C, appeal: &Verified) -> Result<(Verified, Verified), Invalid> {
    let Body::Appeal(a) = &appeal.entry().body else {
        return Err(wrong(appeal, Kind::Appeal));
    };
    let rej = ctx
        .entry(&a.rejection)
        .ok_or_else(|| wrong(appeal, Kind::Appeal))?;
    let Body::Reject(r) = &rej.entry().body else {
        return Err(wrong(&rej, Kind::Reject));
    };
    // A stored rejection's submission is stored.
    let sub = ctx
        .entry(&r.submission)
        .ok_or_else(|| wrong(&rej, Kind::Reject))?;
    Ok((rej, sub))
}

/// The rules of `appeal`, `reply` and `verdict` entries that depend only on the entry's
/// causal past.
pub(crate) fn check<C: Context>(j: &Judged<'_, C>) -> Result<(), Invalid> {
    let e = j.v.entry();
    let author = e.author;
    match &e.body {
        Body::Appeal(a) => {
            let Body::Reject(r) = &j.dep.entry().body else {
                return Err(wrong(j.dep, Kind::Reject));
            };
            let sub = j
                .ctx
                .entry(&r.submission)
                .ok_or_else(|| wrong(j.dep, Kind::Reject))?;
            if speaks_for(j.ctx, &sub) != j.who {
                return Err(not_allowed(
                    j.v,
                    "only the member whose work was rejected may appeal",
                ));
            }
            if !j.rules.is_member(&j.who) {
                return Err(not_allowed(j.v, "not a member under the rules it names"));
            }
            text(&a.answer, "answer")?;
            let first = j.ctx.appealed(&a.rejection, &author);
            let same = |b: &Body| matches!(b, Body::Appeal(x) if x.rejection == a.rejection);
            if (j.repeats)(first, &same) {
                return Err(Invalid::AlreadyAppealed {
                    rejection: a.rejection,
                });
            }
            // Whether it came within the appeal window is the fold's call, from
            // witnessed time (a rejection may be backdated).
            Ok(())
        }
        Body::Reply(rp) => {
            let (rej, _) = rejected(j.ctx, j.dep)?;
            if speaks_for(j.ctx, &rej) != j.who {
                return Err(not_allowed(
                    j.v,
                    "only the requester who rejected the work may reply to its appeal",
                ));
            }
            text(&rp.text, "reply")?;
            let first = j.ctx.appealed(&rp.appeal, &author);
            let same = |b: &Body| matches!(b, Body::Reply(x) if x.appeal == rp.appeal);
            if (j.repeats)(first, &same) {
                return Err(Invalid::AlreadyReplied { appeal: rp.appeal });
            }
            Ok(())
        }
        Body::Verdict(vd) => {
            let (rej, sub) = rejected(j.ctx, j.dep)?;
            if !j.rules.is_member(&j.who) {
                return Err(not_allowed(j.v, "only members sit on a jury"));
            }
            let Body::Submit(s) = &sub.entry().body else {
                return Err(wrong(&sub, Kind::Submit));
            };
            // A party is never its own judge: the appellant, the requester, and whoever
            // competed for the same offer.
            if speaks_for(j.ctx, j.dep) == j.who || speaks_for(j.ctx, &rej) == j.who {
                return Err(not_allowed(j.v, "a party to an appeal cannot judge it"));
            }
            if j.ctx.claimed(&s.offer, &author).is_some()
                || j.ctx.claimed(&s.offer, &j.who).is_some()
            {
                return Err(not_allowed(
                    j.v,
                    "a member who claimed the same offer cannot judge its appeal",
                ));
            }
            let first = j.ctx.appealed(&vd.appeal, &author);
            let same = |b: &Body| matches!(b, Body::Verdict(x) if x.appeal == vd.appeal);
            if (j.repeats)(first, &same) {
                return Err(Invalid::DoubleVerdict { appeal: vd.appeal });
            }
            // Whether the voter holds a seat is the fold's call: the draw is seeded by
            // witnesses and seats pass on by witnessed time.
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Where an appeal stands at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The draw's seed is still open to witnesses until `until`; no seat yet.
    Drawing {
        /// When the jury is seated.
        until: Timestamp,
    },
    /// Seated jurors are voting.
    Open,
    /// A majority upheld it: the rejection is void, the work counts as accepted.
    Upheld {
        /// When the majority was reached.
        at: Timestamp,
    },
    /// A majority dismissed it: the rejection stands.
    Dismissed {
        /// When the majority was reached.
        at: Timestamp,
    },
    /// No jury could be formed (fewer eligible members than the jury size, or nobody
    /// witnessed the appeal in time): the rejection stands.
    NoJury,
    /// Every member of the ranking had its turn and no majority was reached: upheld by
    /// default at the last seat's lapse.
    UpheldByDefault {
        /// When the ranking ran out.
        at: Timestamp,
    },
}

impl Outcome {
    /// When the rejection became void, if it did.
    pub fn upheld_at(&self) -> Option<Timestamp> {
        match self {
            Outcome::Upheld { at } | Outcome::UpheldByDefault { at } => Some(*at),
            _ => None,
        }
    }
}

/// Where a juror's seat stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeatState {
    /// Waiting for the juror's vote until the seat's `until`.
    Open,
    /// The juror voted: the `verdict` entry and whether it upholds.
    Voted {
        /// The verdict entry.
        vote: Id,
        /// Uphold or dismiss.
        uphold: bool,
    },
    /// No vote in time: the seat passed to the next member of the ranking.
    Lapsed,
}

/// One seat of a jury.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seat {
    /// The juror.
    pub member: PublicKey,
    /// When the seat became its.
    pub from: Timestamp,
    /// `from + vote_window_ms`: a vote made later does not count.
    pub until: Timestamp,
    /// Where it stands.
    pub state: SeatState,
}

/// An appeal that counts, as members, requesters and jurors see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppealView {
    /// The appeal entry.
    pub id: Id,
    /// The rejection appealed.
    pub rejection: Id,
    /// The submission rejected.
    pub submission: Id,
    /// The offer.
    pub offer: Id,
    /// The member who appealed.
    pub appellant: PublicKey,
    /// The requester who rejected.
    pub requester: PublicKey,
    /// The rejection's reason, sealed to the parties: a juror reads it with the content
    /// key the member's node discloses with the result (docs/protocol.md 13.7).
    pub reason: Sealed,
    /// The member's answer.
    pub answer: String,
    /// The requester's reply, if one counts.
    pub reply: Option<String>,
    /// When the appeal was made (witnessed time, 5.7).
    pub made: Timestamp,
    /// Every seat, lapsed ones included, in the order they were given.
    pub seats: Vec<Seat>,
    /// Counted votes to uphold.
    pub uphold: usize,
    /// Counted votes to dismiss.
    pub dismiss: usize,
    /// Jurors needed for a majority.
    pub majority: usize,
    /// Where it stands.
    pub outcome: Outcome,
}

impl AppealView {
    /// The jurors whose seat is open now: those the appellant's node owes the result
    /// (docs/protocol.md 13.7), and who may still vote.
    pub fn open_seats(&self) -> impl Iterator<Item = &Seat> {
        self.seats.iter().filter(|s| s.state == SeatState::Open)
    }
}

/// A juror's part in one appeal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JuryDuty {
    /// The appeal.
    pub appeal: Id,
    /// The seat.
    pub seat: Seat,
}

/// The rejection that counts against submission `sub` (the same rule as
/// [`Coop::submissions`]): when no acceptance counts, the earliest rejection made by the
/// review deadline and witnessed by the deadline plus the slack.
fn counted_rejection<'a>(
    coop: &'a Coop,
    sub: &Verified,
    review_window_ms: u64,
    now: Timestamp,
    tl: &Timeline,
    seen: &BTreeMap<Id, Timestamp>,
) -> Option<&'a Verified> {
    let deadline = on_time(sub, seen).saturating_add(review_window_ms);
    let late = deadline.saturating_add(WITNESS_SLACK_MS);
    let verdicts = coop.verdicts_of(&sub.id(), tl);
    if verdicts
        .iter()
        .any(|x| matches!(x.entry().body, Body::Accept(_)))
    {
        return None;
    }
    verdicts
        .into_iter()
        .filter(|x| {
            x.entry().ts <= deadline
                && match seen.get(&x.id()) {
                    Some(w) => *w <= late,
                    None => now <= late,
                }
        })
        .min_by_key(|x| (x.entry().ts, x.id()))
}

/// Whether `x`, dated `ts`, was made by `deadline` by witnessed time: dated by it, and
/// witnessed by it plus the slack (unwitnessed: provisionally, until the slack passes).
fn by(x: &Verified, deadline: Timestamp, now: Timestamp, seen: &BTreeMap<Id, Timestamp>) -> bool {
    let late = deadline.saturating_add(WITNESS_SLACK_MS);
    x.entry().ts <= deadline
        && match seen.get(&x.id()) {
            Some(w) => *w <= late,
            None => now <= late,
        }
}

/// The appeal of `rejection` that counts: the lowest (timestamp, id) live one by the
/// member whose work was rejected, made within the appeal window.
fn counted_appeal<'a>(
    coop: &'a Coop,
    rejection: &Verified,
    member: &PublicKey,
    now: Timestamp,
    tl: &Timeline,
    seen: &BTreeMap<Id, Timestamp>,
) -> Option<&'a Verified> {
    let window = tl.at(rejection.entry().ts).limits.appeal_window_ms;
    let deadline = on_time(rejection, seen).saturating_add(window);
    coop.ids(Kind::Appeal)
        .filter_map(|id| coop.live_entry(id, tl))
        .filter(|a| matches!(&a.entry().body, Body::Appeal(x) if x.rejection == rejection.id()))
        .filter(|a| tl.identity(&coop.who(a)) == *member)
        .filter(|a| by(a, deadline, now, seen))
        .min_by_key(|a| (a.entry().ts, a.id()))
}

/// The jury and outcome of the appeal `a` against `rejection` of `sub` on `offer`.
#[allow(clippy::too_many_arguments)]
fn judge(
    coop: &Coop,
    a: &Verified,
    rejection: &Verified,
    sub: &Verified,
    offer: &Verified,
    now: Timestamp,
    tl: &Timeline,
    seen: &BTreeMap<Id, Timestamp>,
) -> Option<AppealView> {
    let appellant = tl.identity(&coop.who(sub));
    let requester = tl.identity(&coop.who(offer));
    let made = on_time(a, seen);
    let rules = tl.at(made);
    let k = usize::try_from(rules.limits.jury_size).unwrap_or(usize::MAX);
    let window = rules.limits.vote_window_ms;
    let majority = k / 2 + 1;
    // The seed's witnesses: ticks by members who are not parties, naming the appeal,
    // dated by the slack after it was made. Neither party writes them.
    let seeded_at = made.saturating_add(WITNESS_SLACK_MS);
    let parties = |k: &PublicKey| *k == appellant || *k == requester;
    let witnesses: Vec<Id> = coop
        .ids(Kind::Tick)
        .filter_map(|id| coop.live_entry(id, tl))
        .filter(|t| matches!(&t.entry().body, Body::Tick(x) if x.heads.contains(&a.id())))
        .filter(|t| t.entry().ts <= seeded_at && !parties(&tl.identity(&coop.who(t))))
        .map(Verified::id)
        .collect();
    // Eligible: members in force when the appeal was made, minus the parties and
    // whoever claimed the same offer.
    let claimants: BTreeSet<PublicKey> = coop
        .claimants_of(&offer.id())
        .iter()
        .map(|k| tl.identity(&coop.speaker(k)))
        .collect();
    let eligible: Vec<PublicKey> = rules
        .members
        .iter()
        .map(|m| tl.identity(m))
        .filter(|m| !parties(m) && !claimants.contains(m))
        .collect();
    let (Body::Reject(r), Body::Appeal(x)) = (&rejection.entry().body, &a.entry().body) else {
        return None;
    };
    let (reason, answer) = (r.reason.clone(), x.answer.clone());
    let mut view = AppealView {
        id: a.id(),
        rejection: rejection.id(),
        submission: sub.id(),
        offer: offer.id(),
        appellant,
        requester,
        reason,
        answer,
        reply: None,
        made,
        seats: vec![],
        uphold: 0,
        dismiss: 0,
        majority,
        outcome: Outcome::Open,
    };
    view.reply = reply(coop, a, &requester, Timestamp::MAX, tl, seen);
    if now <= seeded_at {
        view.outcome = Outcome::Drawing { until: seeded_at };
        return Some(view);
    }
    if eligible.len() < k || k == 0 || witnesses.is_empty() {
        view.outcome = Outcome::NoJury;
        return Some(view);
    }
    let ranking = crate::lottery::ranking(&seed(&rejection.id(), &a.id(), &witnesses), &eligible);
    // Each member's counted vote: the lowest (timestamp, id) live verdict.
    let mut votes: BTreeMap<PublicKey, &Verified> = BTreeMap::new();
    for v in coop
        .ids(Kind::Verdict)
        .filter_map(|id| coop.live_entry(id, tl))
        .filter(|v| matches!(&v.entry().body, Body::Verdict(x) if x.appeal == a.id()))
    {
        let slot = votes.entry(tl.identity(&coop.who(v))).or_insert(v);
        if (v.entry().ts, v.id()) < (slot.entry().ts, slot.id()) {
            *slot = v;
        }
    }
    let mut queue: VecDeque<(PublicKey, Timestamp)> =
        ranking.iter().take(k).map(|m| (*m, seeded_at)).collect();
    let mut next = ranking.iter().skip(k);
    let (mut ups, mut downs): (Vec<Timestamp>, Vec<Timestamp>) = (vec![], vec![]);
    let mut last_lapse = seeded_at;
    while let Some((member, from)) = queue.pop_front() {
        let until = from.saturating_add(window);
        let lapse = until.saturating_add(WITNESS_SLACK_MS);
        let vote = votes.get(&member).filter(|v| on_time(v, seen) <= until);
        let state = match vote {
            Some(v) => {
                let uphold = matches!(&v.entry().body, Body::Verdict(x) if x.uphold);
                let t = on_time(v, seen).max(from);
                if uphold {
                    ups.push(t);
                } else {
                    downs.push(t);
                }
                SeatState::Voted {
                    vote: v.id(),
                    uphold,
                }
            }
            None if now > lapse => {
                if let Some(m) = next.next() {
                    queue.push_back((*m, lapse));
                }
                last_lapse = last_lapse.max(lapse);
                SeatState::Lapsed
            }
            None => SeatState::Open,
        };
        view.seats.push(Seat {
            member,
            from,
            until,
            state,
        });
    }
    view.uphold = ups.len();
    view.dismiss = downs.len();
    // The time a side reached the majority: its majority-th vote in time order.
    let reached = |mut t: Vec<Timestamp>| {
        t.sort_unstable();
        t.get(majority - 1).copied()
    };
    let open = view.seats.iter().any(|s| s.state == SeatState::Open);
    view.outcome = match (reached(ups), reached(downs)) {
        (Some(at), _) => Outcome::Upheld { at },
        (None, Some(at)) => Outcome::Dismissed { at },
        _ if open => Outcome::Open,
        _ => Outcome::UpheldByDefault { at: last_lapse },
    };
    // The requester's reply counts if made before the jury decided.
    if let Some(at) = view.outcome.upheld_at().or(match view.outcome {
        Outcome::Dismissed { at } => Some(at),
        _ => None,
    }) {
        view.reply = reply(coop, a, &requester, at, tl, seen);
    }
    Some(view)
}

/// The requester's reply to `a` made by `end`, if any: the lowest (timestamp, id).
fn reply(
    coop: &Coop,
    a: &Verified,
    requester: &PublicKey,
    end: Timestamp,
    tl: &Timeline,
    seen: &BTreeMap<Id, Timestamp>,
) -> Option<String> {
    coop.ids(Kind::Reply)
        .filter_map(|id| coop.live_entry(id, tl))
        .filter(|r| matches!(&r.entry().body, Body::Reply(x) if x.appeal == a.id()))
        .filter(|r| tl.identity(&coop.who(r)) == *requester && on_time(r, seen) <= end)
        .min_by_key(|r| (r.entry().ts, r.id()))
        .and_then(|r| match &r.entry().body {
            Body::Reply(x) => Some(x.text.clone()),
            _ => None,
        })
}

/// The hook [`Coop::submissions`] calls on rejected work: when the appeal of `rejection`
/// that counts was upheld, the time the rejection became void.
pub(crate) fn upheld(
    coop: &Coop,
    rejection: &Verified,
    sub: &Verified,
    offer: &Verified,
    now: Timestamp,
    tl: &Timeline,
    seen: &BTreeMap<Id, Timestamp>,
) -> Option<Timestamp> {
    let member = tl.identity(&coop.who(sub));
    let a = counted_appeal(coop, rejection, &member, now, tl, seen)?;
    judge(coop, a, rejection, sub, offer, now, tl, seen)?
        .outcome
        .upheld_at()
}

/// The appeals a node whose author is `me` should witness in its next tick: those that
/// count, of which `me` is not a party, and that no tick by a member who is not a party
/// names yet (a party's own tick does not seed the draw, so it must not stop others
/// from witnessing).
pub(crate) fn to_witness<'a>(coop: &'a Coop, me: &PublicKey) -> Vec<&'a Verified> {
    let Some(tl) = coop.timeline() else {
        return vec![];
    };
    let me = tl.identity(&coop.speaker(me));
    // The appeals of which `me` is not a party, with their parties.
    let mut open: BTreeMap<Id, (&Verified, PublicKey, PublicKey)> = coop
        .ids(Kind::Appeal)
        .filter_map(|id| coop.live_entry(id, tl))
        .filter_map(|a| {
            let (appellant, requester) = parties(coop, a, tl)?;
            (me != appellant && me != requester).then_some((a.id(), (a, appellant, requester)))
        })
        .collect();
    if open.is_empty() {
        return vec![];
    }
    // One pass over the ticks: drop every appeal a non-party has named.
    for t in coop.ids(Kind::Tick).filter_map(|t| coop.get(t)) {
        let Body::Tick(x) = &t.entry().body else {
            continue;
        };
        let by = tl.identity(&coop.who(t));
        for h in &x.heads {
            if open
                .get(h)
                .is_some_and(|(_, appellant, requester)| by != *appellant && by != *requester)
            {
                open.remove(h);
            }
        }
    }
    open.into_values().map(|(a, _, _)| a).collect()
}

/// The appellant and the requester of an appeal, by stable identity.
fn parties(coop: &Coop, a: &Verified, tl: &Timeline) -> Option<(PublicKey, PublicKey)> {
    let Body::Appeal(x) = &a.entry().body else {
        return None;
    };
    let rej = coop.get(&x.rejection)?;
    Some((tl.identity(&coop.who(a)), tl.identity(&coop.who(rej))))
}

impl Coop {
    /// Every appeal that counts at `now` (against a rejection that counts), oldest first.
    pub fn appeals(&self, now: Timestamp) -> Vec<AppealView> {
        let Some((tl, seen)) = self.context() else {
            return vec![];
        };
        let rejected: BTreeSet<Id> = self
            .ids(Kind::Appeal)
            .filter_map(|id| match &self.get(id)?.entry().body {
                Body::Appeal(a) => Some(a.rejection),
                _ => None,
            })
            .collect();
        let mut out: Vec<AppealView> = rejected
            .iter()
            .filter_map(|rid| self.appeal_of(rid, now, tl, seen))
            .collect();
        out.sort_by_key(|a| (a.made, a.id));
        out
    }

    /// The appeal `id` at `now`, if it counts: the one [`Coop::appeals`] lists with this
    /// id, computed from its own rejection alone.
    pub fn appeal(&self, id: &Id, now: Timestamp) -> Option<AppealView> {
        let (tl, seen) = self.context()?;
        let Body::Appeal(a) = &self.get(id)?.entry().body else {
            return None;
        };
        self.appeal_of(&a.rejection, now, tl, seen)
            .filter(|v| v.id == *id)
    }

    /// The appeal that counts against the rejection `rid`, with its jury and outcome, if
    /// both count.
    fn appeal_of(
        &self,
        rid: &Id,
        now: Timestamp,
        tl: &Timeline,
        seen: &BTreeMap<Id, Timestamp>,
    ) -> Option<AppealView> {
        let rej = self.live_entry(rid, tl)?;
        let Body::Reject(r) = &rej.entry().body else {
            return None;
        };
        // Only work the fold owes anything for can be appealed: it must be a submission
        // that fills a place of its offer's draw (computed from that offer alone).
        let s = self.submission_at(&r.submission, now, tl, seen)?;
        let (sub, offer) = (self.get(&s.id)?, self.get(&s.offer)?);
        let Body::Offer(o) = &offer.entry().body else {
            return None;
        };
        let counted = counted_rejection(self, sub, o.review_window_ms, now, tl, seen)?;
        if counted.id() != *rid {
            return None;
        }
        let a = counted_appeal(self, rej, &s.member, now, tl, seen)?;
        judge(self, a, rej, sub, offer, now, tl, seen)
    }

    /// The rejection that counts at `now` against the submission `submission` (what an
    /// appeal of it must name), if one does.
    pub fn rejection(&self, submission: &Id, now: Timestamp) -> Option<Id> {
        let (tl, seen) = self.context()?;
        let sub = self.get(submission)?;
        let Body::Submit(s) = &sub.entry().body else {
            return None;
        };
        let Body::Offer(o) = &self.get(&s.offer)?.entry().body else {
            return None;
        };
        counted_rejection(self, sub, o.review_window_ms, now, tl, seen).map(Verified::id)
    }

    /// The seats `member` holds or held on juries at `now`, with its votes: what it has to
    /// judge (open seats) and its record as a juror.
    pub fn jury_duties(&self, member: &PublicKey, now: Timestamp) -> Vec<JuryDuty> {
        let me = self.timeline().map_or(*member, |tl| tl.identity(member));
        self.appeals(now)
            .into_iter()
            .flat_map(|a| {
                let id = a.id;
                a.seats
                    .into_iter()
                    .filter(|s| s.member == me)
                    .map(move |seat| JuryDuty { appeal: id, seat })
            })
            .collect()
    }
}
