//! The fold of docs/protocol.md section 8, streamed: while entries are judged, a compact
//! record of each offer, claim, assignment, submission, verdict, payment and review is
//! kept (numbers and positions, a few dozen bytes each); at the end the timeline of
//! governance (built by [`taawun_core::fold::Coop`] from the governance entries alone:
//! the charter, proposals, votes, enactments and evidence are all it reads) says which
//! entries are live, and the records give what each requester owes and what each member
//! earned, by the same definitions as `Coop::submissions`, `balances` and `record`:
//!
//! - which entries count (8.1): a frozen author's entries from its fork seq on count only
//!   when they are obligations (offer, withdraw, assign, submit, accept, settle,
//!   evidence); obligations and receipts need no role by the timeline, everything else
//!   (claims, rejections, reviews) needs its author to be a member or a requester at its
//!   time;
//! - each offer's draw (8.2): the claims that count (the lowest (seq, id) per member,
//!   whatever its author did later, made by the close of the window that runs from
//!   `made(offer)`, witnessed by the close plus the slack), the fair and the void
//!   assignments, the ranking of the fair one that counts and its places, each filled by
//!   its holder's work made in time or lapsing to the next claimant;
//! - only work that fills a place is considered: one submission per (offer, member),
//!   the lowest (seq, id) under a fair assignment; the top-up's median is over those
//!   alone (8.3, 8.4);
//! - any acceptance that counts wins over a rejection, the earliest gives the time; a
//!   rejection counts only within the review window (8.3);
//! - balances per (requester, member, currency): earned, top-ups, paid (every settle),
//!   confirmed and denied (the member's answer), owed = earned + top-ups - confirmed,
//!   unconfirmed = paid - confirmed - denied (8.5).
//!
//! - witnessed time (5.7): a claim window from `made(offer)`, a place from
//!   `made(assign)`, a review window from `made(submit)`, a rejection counts
//!   only if witnessed by the deadline plus the slack, and an enactment takes effect as
//!   long after its `effective_at` as it was made after its timestamp. The timeline's
//!   `Coop` holds only governance entries, so the witnessed times of the enactments are
//!   computed here, over every entry, and given to it ([`Coop::timeline_seen`]).
//!
//! Witnessed time is kept in a few bytes per entry: while streaming, the earliest
//! timestamp of a counting entry by another author that names each entry; at the end,
//! each author's chain is walked from its head down, every entry taking the least of its
//! own and that of the entry after it (an entry's own author passes its witness on to
//! everything it named before). Authors with entries beside their chain (forks, branches)
//! or frozen ones are walked entry by entry instead, reading them back, as `Coop` does.
//!
//! Claims witness what they name even from a frozen author (5.7), like the entries that
//! count.
//!
//! The tests compare them with `Coop` on whole ledgers, forks, removals, late
//! witnesses, void assignments and lapsed places included.

use crate::compact::Paged;
use crate::index::{Index, Pos, Who};
use crate::quick::{QuickMap, QuickSet};
use crate::report::{
    when, Balance as BalanceStats, Draws, Finding, Findings, IdleTick, IdleWitnesses, LapsedPlaces,
    LateEntry, MemberStats, Money as MoneyStats, RequesterStats, RulesNow, Series, Wages,
    WitnessedLate, MAX_LISTED,
};
use std::collections::{BTreeMap, HashMap};
use taawun_core::body::{Body, Kind};
use taawun_core::fold::{topup, Coop, Timeline, WITNESS_SLACK_MS};
use taawun_core::lottery;
use taawun_core::money::{format_in, hourly_rate, meets_floor};
use taawun_core::{Hash, Id, PublicKey, Timestamp, Verified};
use taawun_ledger::verdict;

/// Interned currency code.
type Cur = u16;

#[derive(Debug, Clone, Copy)]
struct Stamp {
    /// The author.
    who: Who,
    /// The key it speaks for: the author, or the member of its device key.
    by: Who,
    /// Where it is stored.
    pos: Pos,
    seq: u64,
    ts: Timestamp,
    kind: Kind,
}

#[derive(Debug)]
struct OfferRec {
    at: Stamp,
    id: Id,
    pay: u64,
    cur: Cur,
    minutes: u32,
    claim_window_ms: u64,
    review_window_ms: u64,
    assignments: u32,
    expires_at: Timestamp,
    /// Every assignment held (a forked requester may hold one on each branch).
    assigns: Vec<Pos>,
    claims: Vec<(Pos, Stamp)>,
}

#[derive(Debug)]
struct AssignRec {
    at: Stamp,
    /// The claims it names, sorted, each once.
    named: Vec<Pos>,
    /// Its lottery seed, for the draw at the end: 32 bytes kept spare reading the
    /// assignment back from the file then, one read and decode per assigned offer on
    /// the single thread that closes the books.
    seed: Hash,
}

#[derive(Debug)]
struct Verdict {
    at: Stamp,
    /// Where it is stored: a rejection counts only if witnessed in time.
    pos: Pos,
    accept: bool,
}

#[derive(Debug)]
struct SubRec {
    at: Stamp,
    /// Where the submission is stored: its id is read back only to break a tie in seq.
    pos: Pos,
    offer: Pos,
    assign: Pos,
    minutes: u32,
    /// Every verdict held (a forked requester may hold one on each branch).
    verdicts: Vec<Verdict>,
}

#[derive(Debug)]
struct SettleRec {
    at: Stamp,
    member: Who,
    cur: Cur,
    amount: u64,
    /// The first answer stored: when, and whether the money was received.
    receipt: Option<(Stamp, bool)>,
    /// Further answers (another device of the member may answer too): the live one with
    /// the lowest (timestamp, id) counts, as in `Coop`.
    more: Vec<(Stamp, bool)>,
}

#[derive(Debug)]
struct ReviewRec {
    at: Stamp,
    requester: Who,
    scores: [u8; 4],
}

/// The compact records of everything the fold needs.
#[derive(Debug, Default)]
pub(crate) struct Books {
    currencies: Vec<String>,
    offers: QuickMap<Pos, OfferRec>,
    assigns: QuickMap<Pos, AssignRec>,
    subs: Vec<SubRec>,
    sub_at: QuickMap<Pos, u32>,
    settles: Vec<SettleRec>,
    settle_at: QuickMap<Pos, u32>,
    reviews: Vec<ReviewRec>,
    /// Charter and governance entries, for the timeline; forks and evidence freeze here
    /// too so that the timeline counts the same entries as the state.
    gov: Coop,
    /// Every enactment held: where, its id and its `effective_at`.
    enacts: Vec<(Pos, Id, Timestamp)>,
    /// By position: every stored entry's timestamp, author and kind.
    ts: Paged<Timestamp>,
    author: Paged<Who>,
    /// By position: the key the author speaks for (itself, or a device's member): a
    /// member's devices do not witness each other.
    speaker: Paged<Who>,
    kind: Paged<Kind>,
    /// By position: the earliest timestamp of a counting entry by another author that
    /// names the entry ([`UNSEEN`]: none yet); once [`Books::witness_times`] has run, its
    /// witnessed time (docs/protocol.md 5.7).
    seen: Paged<Timestamp>,
    witnessed: bool,
    /// Entries kept beside their author's chain (a fork's second entry, a branch).
    side: Vec<Pos>,
    /// Per author, the highest seq of an entry giving a say whose names were counted as
    /// witnesses: if the author turns out to be frozen at or below it, they did not count
    /// and every witness is counted again.
    said: QuickMap<Who, u64>,
    /// Ticks by idle witnesses, counted while streaming.
    idle: IdleAcc,
    /// Appeals, their votes and witnesses (8.8).
    appeals: crate::appeals::Appeals,
}

/// Ticks by idle witnesses so far ([`IdleWitnesses`]): a count, their authors, and the
/// latest: (how late, the tick, the entry it names, its author's entry before it).
#[derive(Debug, Default)]
struct IdleAcc {
    ticks: u64,
    authors: QuickSet<Who>,
    worst: Option<(u64, Pos, Pos, Timestamp)>,
}

/// No witness: an entry nobody else has named.
const UNSEEN: Timestamp = Timestamp::MAX;

/// What an entry names for witnessed time (docs/protocol.md 5.7): its `prev`, its `gov`
/// and its dependencies, except the submission an acceptance or rejection judges.
fn names(v: &Verified) -> impl Iterator<Item = Id> + '_ {
    let e = v.entry();
    let judged = match &e.body {
        Body::Accept(a) => Some(a.submission),
        Body::Reject(r) => Some(r.submission),
        _ => None,
    };
    e.prev
        .into_iter()
        .chain(e.gov)
        .chain(e.body.dependencies())
        .filter(move |n| Some(*n) != judged)
}

/// Whether the books keep this entry in the governance fold.
fn governance(b: &Body) -> bool {
    matches!(
        b,
        Body::Charter(_)
            | Body::Proposal(_)
            | Body::Vote(_)
            | Body::Enact(_)
            | Body::Evidence(_)
            | Body::Device(_)
            | Body::Enroll(_)
            | Body::RevokeDevice(_)
    )
}

/// Kinds that witness what they name even from a frozen author (docs/protocol.md 5.7):
/// the obligations, which count (8.1), and claims, which enter draws whatever their author
/// did since, so that a fork found later does not move the offer's window.
fn witness_always(kind: Kind) -> bool {
    kind.is_obligation() || kind == Kind::Claim
}

/// Whether the entry at `a` (seq, position) comes before the one at `b` by (seq, id), the
/// order the fold picks a forked author's entries by: ids are read back from the file only
/// when the seqs are equal (two entries at one seq: a fork).
fn before(idx: &Index, a: (u64, Pos), b: (u64, Pos)) -> bool {
    if a.0 != b.0 {
        return a.0 < b.0;
    }
    let id = |p: Pos| idx.id_of(p);
    a.1 != b.1 && id(a.1) < id(b.1)
}

impl Books {
    fn cur(&mut self, c: &str) -> Cur {
        if let Some(i) = self.currencies.iter().position(|x| x == c) {
            return Cur::try_from(i).unwrap_or(Cur::MAX);
        }
        self.currencies.push(c.to_owned());
        Cur::try_from(self.currencies.len() - 1).unwrap_or(Cur::MAX)
    }

    /// Notes that `author` equivocated at `seq`.
    pub(crate) fn freeze(&mut self, author: PublicKey, seq: u64) {
        self.gov.freeze(author, seq);
    }

    /// Records a valid entry stored at position `p` (the next position): `on_chain` when
    /// it is the next of its author's chain, else it is kept beside it.
    pub(crate) fn record(&mut self, idx: &mut Index, p: Pos, v: &Verified, on_chain: bool) {
        let e = v.entry();
        let speaker = taawun_core::validate::speaks_for(&*idx, v);
        let at = Stamp {
            who: idx.who(&e.author),
            by: idx.who(&speaker),
            pos: p,
            seq: e.seq,
            ts: e.ts,
            kind: e.body.kind(),
        };
        debug_assert_eq!(p as usize, self.ts.len());
        self.ts.push(e.ts);
        self.author.push(at.who);
        self.speaker.push(at.by);
        self.kind.push(at.kind);
        self.seen.push(UNSEEN);
        if !on_chain {
            self.side.push(p);
        }
        // Only entries that count witness (8.1), and claims whatever their author did
        // (5.7); an author found frozen later is caught by `said`.
        if witness_always(at.kind) || idx.frozen_from(at.who).is_none_or(|f| at.seq < f) {
            self.witness(idx, at.by, v);
            if !witness_always(at.kind) {
                let s = self.said.entry(at.who).or_default();
                *s = (*s).max(at.seq);
            }
        }
        if governance(&e.body) {
            if let Body::Enact(x) = &e.body {
                self.enacts.push((p, v.id(), x.effective_at));
            }
            self.gov.apply(v.clone());
        }
        match &e.body {
            Body::Offer(o) => {
                let cur = self.cur(&o.pay.currency);
                self.offers.insert(
                    p,
                    OfferRec {
                        at,
                        id: v.id(),
                        pay: o.pay.minor,
                        cur,
                        minutes: o.minutes,
                        claim_window_ms: o.claim_window_ms,
                        review_window_ms: o.review_window_ms,
                        assignments: o.assignments,
                        expires_at: o.expires_at,
                        assigns: Vec::new(),
                        claims: Vec::new(),
                    },
                );
            }
            Body::Claim(c) => {
                if let Some(o) = idx.pos_of(&c.offer).and_then(|o| self.offers.get_mut(&o)) {
                    o.claims.push((p, at));
                }
            }
            Body::Assign(a) => {
                if let Some(o) = idx.pos_of(&a.offer).and_then(|o| self.offers.get_mut(&o)) {
                    o.assigns.push(p);
                }
                // Validation found every named claim held: each has a position.
                let mut named: Vec<Pos> = a.claims.iter().filter_map(|c| idx.pos_of(c)).collect();
                named.sort_unstable();
                named.dedup();
                let seed = lottery::seed(&a.secret, &a.offer, &a.claims);
                self.assigns.insert(p, AssignRec { at, named, seed });
            }
            Body::Submit(s) => {
                if let (Some(offer), Some(assign)) = (idx.pos_of(&s.offer), idx.pos_of(&s.assign)) {
                    self.sub_at
                        .insert(p, u32::try_from(self.subs.len()).unwrap_or(u32::MAX));
                    self.subs.push(SubRec {
                        at,
                        pos: p,
                        offer,
                        assign,
                        minutes: s.minutes,
                        verdicts: Vec::new(),
                    });
                }
            }
            Body::Accept(x) => self.verdict(idx, &x.submission, at, p, true),
            Body::Reject(x) => self.verdict(idx, &x.submission, at, p, false),
            Body::Settle(s) => {
                let member = idx.who(&s.member);
                let cur = self.cur(&s.amount.currency);
                self.settle_at
                    .insert(p, u32::try_from(self.settles.len()).unwrap_or(u32::MAX));
                self.settles.push(SettleRec {
                    at,
                    member,
                    cur,
                    amount: s.amount.minor,
                    receipt: None,
                    more: Vec::new(),
                });
            }
            Body::Receipt(r) => {
                if let Some(i) = idx.pos_of(&r.settle).and_then(|s| self.settle_at.get(&s)) {
                    let rec = &mut self.settles[*i as usize];
                    if rec.receipt.is_none() {
                        rec.receipt = Some((at, r.received));
                    } else {
                        rec.more.push((at, r.received));
                    }
                }
            }
            Body::Tick(t) => {
                self.idle_tick(idx, p, at, e.prev, &t.heads);
                self.appeal_entry(idx, p, v, speaker);
            }
            Body::Appeal(_) | Body::Verdict(_) => self.appeal_entry(idx, p, v, speaker),
            Body::Review(r) => {
                let requester = idx.who(&r.requester);
                self.reviews.push(ReviewRec {
                    at,
                    requester,
                    scores: [r.pay, r.fairness, r.promptness, r.communication],
                });
            }
            _ => {}
        }
    }

    fn verdict(&mut self, idx: &Index, sub: &Id, at: Stamp, pos: Pos, accept: bool) {
        if let Some(i) = idx.pos_of(sub).and_then(|s| self.sub_at.get(&s)) {
            self.subs[*i as usize]
                .verdicts
                .push(Verdict { at, pos, accept });
        }
    }

    /// Notes the tick at `p` if its author was an idle witness: it names an entry more
    /// than [`WITNESS_SLACK_MS`] after that entry's timestamp, and its author's entry
    /// before it (`prev`) is older than that entry.
    fn idle_tick(&mut self, idx: &Index, p: Pos, at: Stamp, prev: Option<Id>, heads: &[Id]) {
        let Some(before) = prev
            .and_then(|id| idx.pos_of(&id))
            .and_then(|pp| self.ts.get(pp as usize).copied())
        else {
            return;
        };
        let mut latest: Option<(u64, Pos)> = None;
        for h in heads {
            let Some(np) = idx.pos_of(h) else { continue };
            let Some(&nts) = self.ts.get(np as usize) else {
                continue;
            };
            if at.ts > nts.saturating_add(WITNESS_SLACK_MS) && before < nts {
                let late = at.ts - nts;
                if latest.is_none_or(|(l, _)| late > l) {
                    latest = Some((late, np));
                }
            }
        }
        let Some((late, np)) = latest else { return };
        self.idle.ticks += 1;
        self.idle.authors.insert(at.who);
        if self.idle.worst.is_none_or(|(l, ..)| late > l) {
            self.idle.worst = Some((late, p, np, before));
        }
    }

    /// Ticks by idle witnesses, for the report.
    fn idle_witnesses(&self, idx: &Index) -> IdleWitnesses {
        IdleWitnesses {
            ticks: self.idle.ticks,
            witnesses: self.idle.authors.len() as u64,
            worst: self.idle.worst.and_then(|(late, p, np, before)| {
                let v = idx.load(p)?;
                let n = idx.load(np)?;
                Some(IdleTick {
                    id: v.id().to_hex(),
                    author: v.entry().author.to_hex(),
                    ts: when(v.entry().ts),
                    previous: when(before),
                    named: n.id().to_hex(),
                    named_ts: when(n.entry().ts),
                    late_ms: late,
                })
            }),
        }
    }

    /// Notes the entry `v`, which counts and speaks for `by`, as a witness of what it
    /// names of other authors (those speaking for another key: a member's devices are one
    /// author for witnessing).
    fn witness(&mut self, idx: &Index, by: Who, v: &Verified) {
        let ts = v.entry().ts;
        for n in names(v) {
            let Some(np) = idx.pos_of(&n).map(|p| p as usize) else {
                continue;
            };
            if self.speaker.get(np).is_some_and(|a| *a != by) {
                let t = &mut self.seen[np];
                *t = (*t).min(ts);
            }
        }
    }

    /// Whether the entry at `p` witnesses what it names (5.7), by the forks known now:
    /// it counts (8.1), or it is a claim.
    fn witnesses_at(&self, idx: &Index, p: usize, seq: u64) -> bool {
        witness_always(self.kind[p]) || idx.frozen_from(self.author[p]).is_none_or(|f| seq < f)
    }

    /// Turns the first witnesses noted while streaming into every entry's witnessed time
    /// (docs/protocol.md 5.7): `W(e) = max(e.ts, min over the counting entries c naming e
    /// of c.ts, or W(c) when c is by e's author)`, the same as `Coop::witnessed`.
    pub(crate) fn witness_times(&mut self, idx: &Index) {
        if self.witnessed {
            return;
        }
        self.witnessed = true;
        // An author frozen at or below a say whose witness was counted: count again,
        // reading every entry back (only after a fork found late in the file).
        let stale = self
            .said
            .iter()
            .any(|(w, s)| idx.frozen_from(*w).is_some_and(|f| f <= *s));
        if stale {
            self.seen.iter_mut().for_each(|t| *t = UNSEEN);
            for p in 0..self.ts.len() {
                let Some(v) = Pos::try_from(p).ok().and_then(|p| idx.load(p)) else {
                    continue;
                };
                if self.witnesses_at(idx, p, v.entry().seq) {
                    self.witness(idx, self.speaker[p], &v);
                }
            }
        }
        let clamp = |t: Timestamp, ts: Timestamp| if t == UNSEEN { UNSEEN } else { t.max(ts) };
        let mut beside: HashMap<Who, Vec<Pos>> = HashMap::new();
        for p in &self.side {
            beside.entry(self.author[*p as usize]).or_default().push(*p);
        }
        let authors = u32::try_from(idx.keys().len()).unwrap_or(u32::MAX);
        for who in 0..authors {
            let chain = idx.chain(who);
            let side = beside.remove(&who);
            if side.is_none() && idx.frozen_from(who).is_none() {
                // A chain alone: each entry is named by the next (its prev), and
                // everything else its author names is further down the same chain.
                let mut after = UNSEEN;
                for p in chain.iter().rev().map(|p| *p as usize) {
                    after = clamp(self.seen[p].min(after), self.ts[p]);
                    self.seen[p] = after;
                }
                continue;
            }
            // Forks or a freeze: every entry of the author, the latest stored first (an
            // entry is stored after everything it names), passes its witnessed time on
            // to the entries of its own author it names, if it counts.
            let mut all: Vec<Pos> = chain
                .iter()
                .copied()
                .chain(side.unwrap_or_default())
                .collect();
            all.sort_unstable();
            for p in all.into_iter().rev() {
                let i = p as usize;
                let w = clamp(self.seen[i], self.ts[i]);
                self.seen[i] = w;
                if w == UNSEEN {
                    continue;
                }
                let Some(v) = idx.load(p) else { continue };
                if !self.witnesses_at(idx, i, v.entry().seq) {
                    continue;
                }
                for n in names(&v) {
                    let Some(np) = idx.pos_of(&n).map(|p| p as usize) else {
                        continue;
                    };
                    if self.author.get(np) == Some(&who) {
                        self.seen[np] = self.seen[np].min(w);
                    }
                }
            }
        }
    }

    /// The witnessed time of the entry at `p`, once [`Books::witness_times`] has run.
    fn seen_at(&self, p: Pos) -> Option<Timestamp> {
        self.seen.get(p as usize).copied().filter(|t| *t != UNSEEN)
    }

    /// When the entry at `p` is taken to have been made (docs/protocol.md 5.7): its
    /// witnessed time if that came more than [`WITNESS_SLACK_MS`] after its timestamp,
    /// else its timestamp.
    fn made(&self, p: Pos) -> Timestamp {
        let ts = self.ts.get(p as usize).copied().unwrap_or(0);
        match self.seen_at(p) {
            Some(w) if w > ts.saturating_add(WITNESS_SLACK_MS) => w,
            _ => ts,
        }
    }

    /// The governance timeline by everything held, enactments taking effect by their
    /// witnessed time, and the moments it changes.
    pub(crate) fn timeline(&self) -> Option<(Timeline, Vec<Timestamp>)> {
        let seen: BTreeMap<Id, Timestamp> = self
            .enacts
            .iter()
            .filter_map(|(p, id, _)| Some((*id, self.seen_at(*p)?)))
            .collect();
        let mut t: Vec<Timestamp> = self
            .enacts
            .iter()
            .map(|(p, _, eff)| {
                let ts = self.ts.get(*p as usize).copied().unwrap_or(0);
                eff.saturating_add(self.made(*p) - ts)
            })
            .collect();
        t.push(0);
        t.sort_unstable();
        t.dedup();
        Some((self.gov.timeline_seen(&seen)?, t))
    }

    /// Entries first witnessed more than [`WITNESS_SLACK_MS`] after their timestamp:
    /// how many, per kind, and the latest of them.
    fn witnessed_late(&self, idx: &Index) -> WitnessedLate {
        let mut out = WitnessedLate::default();
        let mut worst: Option<(u64, Pos)> = None;
        for (i, (&ts, &w)) in self.ts.iter().zip(self.seen.iter()).enumerate() {
            if w == UNSEEN || w <= ts.saturating_add(WITNESS_SLACK_MS) {
                continue;
            }
            out.count += 1;
            *out.by_kind
                .entry(self.kind[i].name().to_owned())
                .or_default() += 1;
            let late = w - ts;
            if worst.is_none_or(|(l, _)| late > l) {
                worst = Pos::try_from(i).ok().map(|p| (late, p));
            }
        }
        out.worst = worst.and_then(|(late, p)| {
            let v = idx.load(p)?;
            let e = v.entry();
            Some(LateEntry {
                id: v.id().to_hex(),
                author: e.author.to_hex(),
                kind: e.body.kind().name().to_owned(),
                ts: when(e.ts),
                witnessed: when(e.ts.saturating_add(late)),
                late_ms: late,
            })
        });
        out
    }
}

/// Where a place of a draw stands at `now` (`taawun_core::fold::PlaceState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Waiting for its holder's work.
    Open,
    /// Filled by this submission (index in `Books::subs`).
    Filled(u32),
    /// Not filled in time: passed to the next claimant of the ranking.
    Lapsed,
}

/// An offer's draw (docs/protocol.md 8.2), as `Coop` computes it.
#[derive(Debug, Default)]
struct Draw {
    /// When the claim window closes: `made(offer) + claim_window_ms`.
    close: Timestamp,
    /// The claims that count, (claimant, position), by claimant.
    counted: Vec<(Who, Pos)>,
    /// Void assignments: they do not name exactly the claims that count, or were made
    /// by the close.
    void: Vec<Pos>,
    /// Every place, in the order given: its holder and where it stands.
    places: Vec<(Who, Place)>,
}

impl Books {
    /// The draw of the offer `o` stored at `op`, at `now`: which claims count, which
    /// assignments are fair or void, and the places of the ranking of the one that counts
    /// with the work that fills them (`subs`: the submissions on the offer, by index in
    /// `Books::subs`). Offers, assignments and submissions are obligations: they count
    /// whatever their author did later, and need no role (8.1); the claims need only be
    /// held.
    #[allow(clippy::too_many_arguments)]
    fn draw(
        &self,
        idx: &Index,
        tl: &Timeline,
        key: &dyn Fn(Who) -> PublicKey,
        op: Pos,
        o: &OfferRec,
        subs: &[u32],
        now: Timestamp,
    ) -> Draw {
        let close = self.made(op).saturating_add(o.claim_window_ms);
        let mut d = Draw {
            close,
            ..Draw::default()
        };
        if o.assigns.is_empty() {
            return d;
        }
        // Of a forked member's claims, the lowest (seq, id).
        let mut first: BTreeMap<Who, (u64, Pos, Timestamp)> = BTreeMap::new();
        for (cp, cs) in &o.claims {
            let c = (cs.seq, *cp, cs.ts);
            let slot = first.entry(cs.who).or_insert(c);
            if before(idx, (c.0, c.1), (slot.0, slot.1)) {
                *slot = c;
            }
        }
        let late = close.saturating_add(WITNESS_SLACK_MS);
        // Then one per member, whichever of its devices claimed: the lowest
        // (timestamp, id) of those that count, as `Coop` picks.
        let by: HashMap<Pos, Who> = o.claims.iter().map(|(p, s)| (*p, s.by)).collect();
        let mut one: BTreeMap<Who, Vec<(Timestamp, Pos)>> = BTreeMap::new();
        for (w, (_, cp, ts)) in first {
            let speaker = by.get(&cp).copied().unwrap_or(w);
            let alive = tl.escapes_cuts(&key(w), &key(speaker), ts, self.seen_at(cp));
            let in_time = ts <= close
                && match self.seen_at(cp) {
                    Some(w) => w <= late,
                    None => now <= late,
                };
            if alive && in_time {
                one.entry(speaker).or_default().push((ts, cp));
            }
        }
        // Ids are read back only for a member who claimed from two devices.
        let id = |p: Pos| idx.id_of(p);
        d.counted = one
            .into_iter()
            .filter_map(|(w, c)| {
                let best = c
                    .iter()
                    .min_by(|a, b| a.0.cmp(&b.0).then_with(|| id(a.1).cmp(&id(b.1))))?;
                Some((w, best.1))
            })
            .collect();
        let mut want: Vec<Pos> = d.counted.iter().map(|(_, p)| *p).collect();
        want.sort_unstable();
        let mut fair: Vec<Pos> = Vec::new();
        let mut counts: Option<(Pos, &AssignRec)> = None;
        for p in &o.assigns {
            let Some(a) = self.assigns.get(p) else {
                continue;
            };
            if a.named != want || self.made(*p) <= close {
                d.void.push(*p);
                continue;
            }
            fair.push(*p);
            if counts.is_none_or(|(bp, b)| before(idx, (a.at.seq, *p), (b.at.seq, bp))) {
                counts = Some((*p, a));
            }
        }
        let Some((ap, a)) = counts else {
            return d;
        };
        let seed = a.seed;
        let who: HashMap<PublicKey, Who> = d.counted.iter().map(|(w, _)| (key(*w), *w)).collect();
        let claimants: Vec<PublicKey> = who.keys().copied().collect();
        let ranking: Vec<Who> = lottery::ranking(&seed, &claimants)
            .iter()
            .filter_map(|k| who.get(k).copied())
            .collect();
        // Each claimant's work: its lowest (seq, id) submission under a fair assignment.
        let mut work: HashMap<Who, u32> = HashMap::new();
        for i in subs {
            let s = &self.subs[*i as usize];
            if !fair.contains(&s.assign) {
                continue;
            }
            let slot = work.entry(s.at.by).or_insert(*i);
            let b = &self.subs[*slot as usize];
            if before(idx, (s.at.seq, s.pos), (b.at.seq, b.pos)) {
                *slot = *i;
            }
        }
        let window = tl.at(o.at.ts).limits.submit_window_ms;
        let places = usize::try_from(o.assignments).unwrap_or(usize::MAX);
        let mut queue: std::collections::VecDeque<(Who, Timestamp)> = ranking
            .iter()
            .take(places)
            .map(|w| (*w, self.made(ap)))
            .collect();
        let mut next = ranking.iter().skip(places);
        while let Some((member, from)) = queue.pop_front() {
            let until = from.saturating_add(window);
            let lapse = until.saturating_add(WITNESS_SLACK_MS);
            let filled = work
                .get(&member)
                .filter(|i| self.made(self.subs[**i as usize].pos) <= until);
            let state = match filled {
                Some(i) => Place::Filled(*i),
                None if now > lapse => {
                    if lapse <= o.expires_at {
                        if let Some(m) = next.next() {
                            queue.push_back((*m, lapse));
                        }
                    }
                    Place::Lapsed
                }
                None => Place::Open,
            };
            d.places.push((member, state));
        }
        d
    }

    /// The notice of a void assignment `p` of the listed offer `o`: what it left out,
    /// what it named that does not count, whether it came before the window closed.
    fn void_finding(
        &self,
        idx: &Index,
        key: &dyn Fn(Who) -> PublicKey,
        o: &OfferRec,
        d: &Draw,
        p: Pos,
    ) -> Finding {
        let named = self.assigns.get(&p).map_or(&[][..], |a| &a.named[..]);
        let left_out: Vec<String> = d
            .counted
            .iter()
            .filter(|(_, c)| named.binary_search(c).is_err())
            .map(|(w, _)| key(*w).short())
            .collect();
        let extra = named
            .iter()
            .filter(|c| !d.counted.iter().any(|(_, x)| x == *c))
            .count();
        let mut why = Vec::new();
        if !left_out.is_empty() {
            let more = left_out.len().saturating_sub(5);
            let mut s = format!(
                "it leaves out {} claim{} that count{} (member{} {}",
                left_out.len(),
                if left_out.len() == 1 { "" } else { "s" },
                if left_out.len() == 1 { "s" } else { "" },
                if left_out.len() == 1 { "" } else { "s" },
                left_out[..left_out.len().min(5)].join(", ")
            );
            if more > 0 {
                s.push_str(&format!(" and {more} more"));
            }
            s.push(')');
            why.push(s);
        }
        if extra > 0 {
            why.push(format!(
                "it names {extra} claim{} that do{} not count (made after the window, or witnessed only after it closed)",
                if extra == 1 { "" } else { "s" },
                if extra == 1 { "es" } else { "" }
            ));
        }
        let made = self.made(p);
        if made <= d.close {
            why.push(format!(
                "it was made at {}, not after the claim window closed at {}",
                when(made),
                when(d.close)
            ));
        }
        let v = idx.load(p);
        Finding {
            rule: verdict::VOID_ASSIGNMENT.into(),
            id: v.as_ref().map(|v| v.id().to_hex()),
            author: Some(key(o.at.who).to_hex()),
            kind: Some("assign".into()),
            ts: v.as_ref().map(|v| when(v.entry().ts)),
            detail: format!(
                "the assignment of offer {} does not count: {}",
                o.id.short(),
                why.join("; ")
            ),
            ..Finding::default()
        }
    }
}

/// Options of the fold's statistics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terms {
    /// The time the state is judged at (the last entry's timestamp).
    pub(crate) now: Timestamp,
    /// Unpaid dues older than this count as overdue.
    pub(crate) overdue_after_ms: u64,
}

/// What the fold yields for the report.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) rules: RulesNow,
    pub(crate) wages: BTreeMap<String, Wages>,
    pub(crate) members: Vec<MemberStats>,
    pub(crate) requesters: Vec<RequesterStats>,
    pub(crate) balances: Vec<BalanceStats>,
    pub(crate) series: Series,
    pub(crate) witnessed_late: WitnessedLate,
    pub(crate) draws: Draws,
    pub(crate) idle_witnesses: IdleWitnesses,
    pub(crate) appeals: crate::report::AppealStats,
}

fn median(v: &mut [u64]) -> Option<u64> {
    quantile(v, 1, 2)
}

/// The nearest-rank quantile num/den: the element at index ceil(n x num / den) - 1 of the
/// sorted list. For 1/2 that is floor((n - 1) / 2), the lower median of docs/protocol.md
/// 8.6.
fn quantile(v: &mut [u64], num: usize, den: usize) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let i = (v.len() * num).div_ceil(den).saturating_sub(1);
    v.get(i.min(v.len() - 1)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        for n in 1..20u64 {
            let mut v: Vec<u64> = (0..n).collect();
            assert_eq!(median(&mut v), Some((n - 1) / 2), "lower median of {n}");
        }
        let mut two = vec![1250, 1530];
        assert_eq!(quantile(&mut two, 9, 10), Some(1530));
        assert_eq!(quantile(&mut two, 1, 10), Some(1250));
        assert_eq!(quantile(&mut [], 1, 2), None);
    }
}

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

#[derive(Default)]
struct Acc {
    subs: u64,
    accepted: u64,
    by_default: u64,
    rejected: u64,
    pending: u64,
    review_times: Vec<u64>,
    delays: Vec<u64>,
    offers: u64,
    /// Void assignments of its listed offers (8.2).
    void: u64,
    reviews: u64,
    scores: [u32; 4],
    not_received: u64,
    appeals: u64,
    appeals_upheld: u64,
    appeals_dismissed: u64,
    /// Per currency: (pay + topup, minutes) of accepted work.
    rate: BTreeMap<Cur, (u128, u128)>,
    money: BTreeMap<Cur, MoneyStats>,
}

#[derive(Default)]
struct MemberAcc {
    subs: u64,
    accepted: u64,
    rejected: u64,
    minutes_accepted: u64,
    minutes_all: u64,
    earned: u64,
    paid: u64,
    confirmed: u64,
    unconfirmed: u64,
    denied: u64,
    not_received: u64,
    owed: u64,
}

/// Money between one requester and one member in one currency: `taawun_core::fold::Balance`
/// by the same sums (saturating).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Balance {
    earned: u64,
    topup: u64,
    paid: u64,
    confirmed: u64,
    denied: u64,
}

impl Balance {
    /// earned + top-ups - confirmed: only the member's confirmation lowers what is owed.
    fn owed(&self) -> u64 {
        self.earned
            .saturating_add(self.topup)
            .saturating_sub(self.confirmed)
    }

    /// Claimed paid, not confirmed: settlements the member has not answered.
    fn unconfirmed(&self) -> u64 {
        self.paid
            .saturating_sub(self.confirmed)
            .saturating_sub(self.denied)
    }
}

impl Books {
    /// Computes the state at `terms.now`, adds the audit's own findings (entries of
    /// authors without a role, void assignments, offers under the floor
    /// really in force) and returns the statistics.
    pub(crate) fn finish(
        &mut self,
        idx: &Index,
        terms: Terms,
        violations: &mut Findings,
        notices: &mut Findings,
    ) -> Outcome {
        self.witness_times(idx);
        let mut out = Outcome {
            witnessed_late: self.witnessed_late(idx),
            idle_witnesses: self.idle_witnesses(idx),
            ..Outcome::default()
        };
        let Some((tl, changes)) = self.timeline() else {
            return out;
        };
        let keys = idx.keys();
        let key = |w: Who| keys.get(w as usize).copied().unwrap_or(PublicKey([0; 32]));
        // 8.1: an entry counts unless its author is frozen from its seq on and it gives a
        // say; it is live when it counts and is an obligation or a receipt, or its author
        // held a role at its time by the timeline.
        let counts =
            |s: &Stamp| s.kind.is_obligation() || idx.frozen_from(s.who).is_none_or(|f| s.seq < f);
        // A device's entries are its member's (roles), and stop counting at its cut
        // (docs/protocol.md 8.7); a replaced key's are its stable identity's.
        let live = |s: &Stamp| {
            counts(s)
                && tl.escapes_cuts(&key(s.who), &key(s.by), s.ts, self.seen_at(s.pos))
                && (s.kind.is_obligation()
                    || s.kind == Kind::Receipt
                    || tl.at(s.ts).may_request(&key(s.by)))
        };
        let ident = |w: Who| idx.known(&tl.identity(&key(w))).unwrap_or(w);
        let cur = |c: Cur| self.currencies[c as usize].clone();

        let end = tl.at(terms.now);
        out.rules = RulesNow {
            members: end.members.len() as u64,
            requesters: end.requesters.len() as u64,
            quorum_pct: end.quorum_pct,
            floors: end.floors.clone(),
        };

        self.no_role(idx, &tl, &changes, &key, violations);

        // Offers (8.2): listed when live and their requester held a role at their time;
        // the floor really in force. Every offer's draw: its void assignments, its
        // places, and the submissions that fill them (8.3: the only work considered,
        // whether the offer is listed or not).
        let mut accs: BTreeMap<Who, Acc> = BTreeMap::new();
        let mut chosen: BTreeMap<(Pos, Who), &SubRec> = BTreeMap::new();
        let mut offer_list: Vec<(&Pos, &OfferRec)> = self.offers.iter().collect();
        offer_list.sort_by_key(|(p, _)| **p);
        // Submissions by offer: indices in `subs`, sorted by the offer's position.
        let mut by_offer: Vec<u32> =
            (0..u32::try_from(self.subs.len()).unwrap_or(u32::MAX)).collect();
        by_offer.sort_by_key(|i| self.subs[*i as usize].offer);
        for (&op, o) in &offer_list {
            let listed = live(&o.at) && tl.at(o.at.ts).may_request(&key(o.at.by));
            let from = by_offer.partition_point(|i| self.subs[*i as usize].offer < op);
            let to = by_offer.partition_point(|i| self.subs[*i as usize].offer <= op);
            let d = self.draw(idx, &tl, &key, op, o, &by_offer[from..to], terms.now);
            for (who, place) in &d.places {
                if let Place::Filled(i) = place {
                    chosen.insert((op, *who), &self.subs[*i as usize]);
                }
            }
            if !listed {
                continue;
            }
            let acc = accs.entry(ident(o.at.by)).or_default();
            acc.offers += 1;
            acc.void += d.void.len() as u64;
            let rules = tl.at(o.at.ts);
            let c = cur(o.cur);
            if let Some(&floor) = rules.floors.get(&c) {
                if !meets_floor(o.pay, o.minutes, floor) {
                    notices.push(Finding {
                        rule: verdict::OFFER_UNDER_FLOOR_IN_FORCE.into(),
                        id: Some(o.id.to_hex()),
                        author: Some(key(o.at.who).to_hex()),
                        kind: Some("offer".into()),
                        ts: Some(when(o.at.ts)),
                        detail: format!(
                            "offer pays {} {c}/h ({} {c} for {} min), under the floor of {} {c}/h in force at its time by the full governance history (it named older governance; members are owed the difference as top-ups)",
                            format_in(hourly_rate(o.pay, o.minutes).unwrap_or(0), &c),
                            format_in(o.pay, &c),
                            o.minutes,
                            format_in(floor, &c)
                        ),
                        ..Finding::default()
                    });
                }
            }
            for p in &d.void {
                notices.push(self.void_finding(idx, &key, o, &d, *p));
            }
            let lapsed: Vec<String> = d
                .places
                .iter()
                .filter(|(_, p)| *p == Place::Lapsed)
                .map(|(w, _)| key(*w).to_hex())
                .collect();
            if !lapsed.is_empty() {
                out.draws.lapsed_places += lapsed.len() as u64;
                out.draws.offers_with_lapses += 1;
                if out.draws.listed.len() < MAX_LISTED {
                    out.draws.listed.push(LapsedPlaces {
                        offer: o.id.to_hex(),
                        requester: key(o.at.who).to_hex(),
                        lapsed,
                        holders: d
                            .places
                            .iter()
                            .filter(|(_, p)| *p != Place::Lapsed)
                            .map(|(w, _)| key(*w).to_hex())
                            .collect(),
                    });
                }
            }
        }
        out.draws.void_assignments = accs.values().map(|a| a.void).sum();

        // The minutes of each offer's submissions used, for the top-up's median (8.4).
        let mut reported: BTreeMap<Pos, Vec<u64>> = BTreeMap::new();
        for ((offer, _), s) in &chosen {
            reported
                .entry(*offer)
                .or_default()
                .push(u64::from(s.minutes));
        }
        let medians: BTreeMap<Pos, u32> = reported
            .into_iter()
            .filter_map(|(o, mut m)| {
                m.sort_unstable();
                let mid = *m.get((m.len() - 1) / 2)?;
                Some((o, u32::try_from(mid).unwrap_or(u32::MAX)))
            })
            .collect();

        // Balances (8.5) per (requester, member, currency), and dues for time to pay.
        type Key = (Who, Who, Cur);
        let mut bal: BTreeMap<Key, Balance> = BTreeMap::new();
        let mut dues: BTreeMap<Key, Vec<(Timestamp, u64)>> = BTreeMap::new();
        let mut members: BTreeMap<(Who, Cur), MemberAcc> = BTreeMap::new();
        for s in chosen.values() {
            let Some(o) = self.offers.get(&s.offer) else {
                continue;
            };
            // The window runs from when the work was made (5.7): a backdated submission
            // does not close it before the requester could see it.
            let deadline = self.made(s.pos).saturating_add(o.review_window_ms);
            // Any acceptance that counts wins, the earliest giving the time; a rejection
            // counts only if it says it came in the window and someone else witnessed it
            // by the deadline plus the slack (unwitnessed, until the slack has passed).
            let late = deadline.saturating_add(WITNESS_SLACK_MS);
            let in_time = |v: &Verdict| {
                v.at.ts <= deadline
                    && match self.seen_at(v.pos) {
                        Some(w) => w <= late,
                        None => terms.now <= late,
                    }
            };
            let first = |accept: bool| {
                s.verdicts
                    .iter()
                    .filter(|v| v.accept == accept && (accept || in_time(v)))
                    .filter(|v| live(&v.at))
                    .map(|v| v.at.ts)
                    .min()
            };
            let acc = accs.entry(ident(o.at.by)).or_default();
            acc.subs += 1;
            let m = members.entry((ident(s.at.by), o.cur)).or_default();
            m.subs += 1;
            m.minutes_all += u64::from(s.minutes);
            let accepted_at = match (first(true), first(false)) {
                (Some(at), _) => {
                    acc.accepted += 1;
                    acc.review_times.push(at.saturating_sub(s.at.ts));
                    Some(at)
                }
                (None, Some(at)) => {
                    acc.rejected += 1;
                    acc.review_times.push(at.saturating_sub(s.at.ts));
                    // An appeal upheld voids the rejection: owed as accepted from then.
                    let ending = self.appealed(idx, &tl, &key, terms.now, s, o, |v| {
                        !v.accept && in_time(v) && live(&v.at)
                    });
                    if let Some(e) = ending {
                        count_appeal(e, acc, &mut out.appeals);
                    }
                    match ending.and_then(crate::appeals::Ending::upheld_at) {
                        Some(t) => Some(t),
                        None => {
                            m.rejected += 1;
                            None
                        }
                    }
                }
                _ if terms.now > deadline => {
                    acc.by_default += 1;
                    Some(deadline)
                }
                _ => {
                    acc.pending += 1;
                    None
                }
            };
            let Some(at) = accepted_at else { continue };
            let rules = tl.at(o.at.ts);
            // The higher of the floors in force at the offer's and at the submission's time.
            let floor = rules
                .floors
                .get(&cur(o.cur))
                .copied()
                .unwrap_or(0)
                .max(tl.at(s.at.ts).floors.get(&cur(o.cur)).copied().unwrap_or(0));
            let med = medians.get(&s.offer).copied().unwrap_or(s.minutes);
            let t = topup(
                o.pay,
                o.minutes,
                s.minutes,
                med,
                floor,
                rules.limits.topup_cap_pct,
            );
            let due = o.pay.saturating_add(t);
            let k = (ident(o.at.by), ident(s.at.by), o.cur);
            let b = bal.entry(k).or_default();
            b.earned = b.earned.saturating_add(o.pay);
            b.topup = b.topup.saturating_add(t);
            dues.entry(k).or_default().push((at, due));
            let r = acc.rate.entry(o.cur).or_default();
            r.0 += u128::from(due);
            r.1 += u128::from(s.minutes);
            m.accepted += 1;
            m.minutes_accepted += u64::from(s.minutes);
            let w = out.wages.entry(cur(o.cur)).or_default();
            w.accepted += 1;
            w.minutes_accepted += u64::from(s.minutes);
            w.pay = w.pay.saturating_add(o.pay);
            w.topups = w.topups.saturating_add(t);
            let eff = hourly_rate(due, s.minutes).unwrap_or(0);
            if !meets_floor(due, s.minutes, floor) {
                w.under_floor += 1;
            }
            out.series.rates.entry(cur(o.cur)).or_default().push(eff);
        }
        for ((_, c), m) in &members {
            let w = out.wages.entry(cur(*c)).or_default();
            w.rejected += m.rejected;
            w.minutes_all += m.minutes_all;
        }

        // Payments (8.5): every settle counts as claimed paid (an obligation, whatever
        // its author did later); the member's live answer confirms or denies it. Only
        // confirmed ones lower what is owed and time the pay (8.6).
        let mut pays: BTreeMap<Key, Vec<(Timestamp, u64)>> = BTreeMap::new();
        for s in &self.settles {
            if !live(&s.at) {
                continue;
            }
            // Ids are read back only to break a tie in time between two answers.
            let id = |p: Pos| idx.id_of(p);
            let answer = s
                .receipt
                .iter()
                .chain(&s.more)
                .filter(|(r, _)| live(r))
                .min_by(|(a, _), (b, _)| a.ts.cmp(&b.ts).then_with(|| id(a.pos).cmp(&id(b.pos))))
                .map(|(_, ok)| *ok);
            let k = (ident(s.at.by), ident(s.member), s.cur);
            let b = bal.entry(k).or_default();
            b.paid = b.paid.saturating_add(s.amount);
            match answer {
                Some(true) => {
                    b.confirmed = b.confirmed.saturating_add(s.amount);
                    pays.entry(k).or_default().push((s.at.ts, s.amount));
                }
                Some(false) => {
                    b.denied = b.denied.saturating_add(s.amount);
                    accs.entry(ident(s.at.by)).or_default().not_received += 1;
                    members
                        .entry((ident(s.member), s.cur))
                        .or_default()
                        .not_received += 1;
                }
                None => {}
            }
        }
        for (&k, b) in &bal {
            let (req, member, c) = k;
            let mut d = dues.remove(&k).unwrap_or_default();
            let mut p = pays.remove(&k).unwrap_or_default();
            d.sort_unstable();
            p.sort_unstable();
            let (delays, overdue) = match_payments(&d, &p, terms);
            let acc = accs.entry(req).or_default();
            acc.delays.extend(&delays);
            out.series.pay_delays_ms.extend(delays);
            let mny = acc.money.entry(c).or_default();
            mny.earned = mny.earned.saturating_add(b.earned);
            mny.topups = mny.topups.saturating_add(b.topup);
            mny.paid = mny.paid.saturating_add(b.paid);
            mny.confirmed = mny.confirmed.saturating_add(b.confirmed);
            mny.unconfirmed = mny.unconfirmed.saturating_add(b.unconfirmed());
            mny.denied = mny.denied.saturating_add(b.denied);
            mny.unpaid = mny.unpaid.saturating_add(b.owed());
            mny.overdue = mny.overdue.saturating_add(overdue.min(b.owed()));
            let m = members.entry((member, c)).or_default();
            m.earned = m.earned.saturating_add(b.earned.saturating_add(b.topup));
            m.paid = m.paid.saturating_add(b.paid);
            m.confirmed = m.confirmed.saturating_add(b.confirmed);
            m.unconfirmed = m.unconfirmed.saturating_add(b.unconfirmed());
            m.denied = m.denied.saturating_add(b.denied);
            m.owed = m.owed.saturating_add(b.owed());
            out.balances.push(BalanceStats {
                requester: key(req).to_hex(),
                member: key(member).to_hex(),
                currency: cur(c),
                earned: b.earned,
                topup: b.topup,
                paid: b.paid,
                confirmed: b.confirmed,
                denied: b.denied,
                owed: b.owed(),
                unconfirmed: b.unconfirmed(),
            });
        }

        for r in &self.reviews {
            if !live(&r.at) {
                continue;
            }
            let acc = accs.entry(ident(r.requester)).or_default();
            acc.reviews += 1;
            for (s, v) in acc.scores.iter_mut().zip(r.scores) {
                *s += u32::from(v);
            }
        }

        for (who, mut a) in accs {
            let k = key(who);
            // Only requesters: an author with no offer and nothing owed has no record.
            if a.offers == 0 && a.subs == 0 && a.money.is_empty() && a.reviews == 0 {
                continue;
            }
            for (c, (paid, mins)) in &a.rate {
                if let Some(r) = (paid * 60).checked_div(*mins) {
                    a.money.entry(*c).or_default().hourly_rate =
                        Some(u64::try_from(r).unwrap_or(u64::MAX));
                }
            }
            let decided = a.accepted + a.by_default + a.rejected;
            let n = u32::try_from(a.reviews).unwrap_or(u32::MAX);
            out.requesters.push(RequesterStats {
                requester: k.to_hex(),
                offers: a.offers,
                submissions: a.subs,
                accepted: a.accepted,
                accepted_by_default: a.by_default,
                rejected: a.rejected,
                pending: a.pending,
                acceptance_pct: pct(a.accepted + a.by_default, decided),
                rejection_pct: pct(a.rejected, decided),
                median_review_ms: median(&mut a.review_times),
                median_pay_ms: median(&mut a.delays),
                void_assignments: a.void,
                reviews: a.reviews,
                scores: (n > 0).then(|| a.scores.map(|s| s * 100 / n)),
                not_received: a.not_received,
                money: a.money.into_iter().map(|(c, m)| (cur(c), m)).collect(),
                appeals: a.appeals,
                appeals_upheld: a.appeals_upheld,
                appeals_dismissed: a.appeals_dismissed,
            });
        }

        for ((who, c), m) in members {
            out.members.push(MemberStats {
                member: key(who).to_hex(),
                currency: cur(c),
                submissions: m.subs,
                accepted: m.accepted,
                rejected: m.rejected,
                minutes_accepted: m.minutes_accepted,
                minutes_all: m.minutes_all,
                earned: m.earned,
                paid: m.paid,
                confirmed: m.confirmed,
                unconfirmed: m.unconfirmed,
                not_received: m.not_received,
                denied: m.denied,
                owed: m.owed,
                rate_accepted: (m.minutes_accepted > 0)
                    .then(|| hourly_rate_u64(m.earned, m.minutes_accepted)),
                rate_all_work: (m.minutes_all > 0)
                    .then(|| hourly_rate_u64(m.earned, m.minutes_all)),
            });
        }

        for (c, w) in out.wages.iter_mut() {
            w.floor_now = end.floors.get(c).copied().unwrap_or(0);
            let due: u64 = w.pay.saturating_add(w.topups);
            w.rate_accepted =
                (w.minutes_accepted > 0).then(|| hourly_rate_u64(due, w.minutes_accepted));
            w.rate_all_work = (w.minutes_all > 0).then(|| hourly_rate_u64(due, w.minutes_all));
            if let Some(rates) = out.series.rates.get_mut(c) {
                w.median_rate = median(rates);
                w.p10_rate = quantile(rates, 1, 10);
                w.p90_rate = quantile(rates, 9, 10);
            }
            w.under_floor_pct = pct(w.under_floor, w.accepted).unwrap_or(0.0);
        }
        out
    }

    /// Entries valid under the governance they name whose author, by the full governance
    /// history, was neither member nor requester at their time (a removed member naming
    /// an older governance). Valid and stored, and reported; those that give a say are
    /// void in the state, while obligations and receipts still count (8.1): a removed
    /// requester still owes what it accepted and what it says it paid.
    fn no_role(
        &self,
        idx: &Index,
        tl: &Timeline,
        changes: &[Timestamp],
        key: &dyn Fn(Who) -> PublicKey,
        violations: &mut Findings,
    ) {
        let authors = u32::try_from(idx.keys().len()).unwrap_or(u32::MAX);
        for who in 0..authors {
            let k = key(who);
            // A device holds its member's role.
            let speaker = self.gov.speaker(&k);
            // Rules change only at `changes`: an author with a role at each of them
            // always had one, and its entries need no reading.
            if changes.iter().all(|t| tl.at(*t).may_request(&speaker)) {
                continue;
            }
            for p in idx.chain(who) {
                let Some(v) = idx.load(*p) else { continue };
                let e = v.entry();
                if verdict::without_role(tl, e, &speaker, idx.frozen_from(who)) {
                    let kind = e.body.kind();
                    let state = if kind.is_obligation() || kind == Kind::Receipt {
                        "it still counts in the state: what it owes or answers stands"
                    } else {
                        "void in the state"
                    };
                    violations.push(Finding {
                        rule: verdict::NO_ROLE_AT_TIME.into(),
                        id: Some(v.id().to_hex()),
                        author: Some(k.to_hex()),
                        kind: Some(e.body.kind().name().into()),
                        ts: Some(when(e.ts)),
                        detail: format!(
                            "{} by an author who was neither a member nor a requester at {} by the cooperative's enacted governance (valid only under the older governance it names; {state})",
                            kind.name(),
                            when(e.ts)
                        ),
                        ..Finding::default()
                    });
                }
            }
        }
    }
}

fn hourly_rate_u64(pay: u64, minutes: u64) -> u64 {
    let r = u128::from(pay) * 60 / u128::from(minutes.max(1));
    u64::try_from(r).unwrap_or(u64::MAX)
}

/// Matches sorted dues to sorted payments first in, first out (docs/protocol.md 8.6):
/// the delay of each due covered, and the amount of dues not covered that are older than
/// the payment term.
fn match_payments(
    dues: &[(Timestamp, u64)],
    pays: &[(Timestamp, u64)],
    terms: Terms,
) -> (Vec<u64>, u64) {
    let mut delays = Vec::new();
    let mut overdue: u64 = 0;
    let mut pays = pays.iter();
    let mut credit: u64 = 0;
    let mut credit_at: Timestamp = 0;
    let mut broke = false;
    for (at, amount) in dues {
        let late = terms.now.saturating_sub(*at) > terms.overdue_after_ms;
        if broke {
            if late {
                overdue = overdue.saturating_add(*amount);
            }
            continue;
        }
        while credit < *amount {
            let Some((t, m)) = pays.next() else { break };
            credit = credit.saturating_add(*m);
            credit_at = *t;
        }
        if credit < *amount {
            if late {
                overdue = overdue.saturating_add(amount - credit);
            }
            broke = true;
            continue;
        }
        credit -= amount;
        delays.push(credit_at.saturating_sub(*at));
    }
    (delays, overdue)
}

/// Counts an appeal's ending on its requester's record and in the report.
fn count_appeal(e: crate::appeals::Ending, acc: &mut Acc, st: &mut crate::report::AppealStats) {
    use crate::appeals::Ending;
    acc.appeals += 1;
    st.appeals += 1;
    match e {
        Ending::Upheld(_) => {
            acc.appeals_upheld += 1;
            st.upheld += 1;
        }
        Ending::UpheldByDefault(_) => {
            acc.appeals_upheld += 1;
            st.upheld_by_default += 1;
        }
        Ending::Dismissed => {
            acc.appeals_dismissed += 1;
            st.dismissed += 1;
        }
        Ending::NoJury => st.no_jury += 1,
        Ending::Drawing | Ending::Open => st.open += 1,
    }
}

impl Books {
    /// Notes an appeal, a verdict, or a tick that may witness an appeal (8.8), signed by
    /// `v`'s author speaking for `by` (itself, or a device's member).
    fn appeal_entry(&mut self, idx: &Index, p: Pos, v: &Verified, by: PublicKey) {
        use crate::appeals::Signed;
        let e = v.entry();
        let Some(who) = idx.known(&e.author) else {
            return;
        };
        let at = Signed {
            pos: p,
            who,
            seq: e.seq,
            key: e.author,
            by,
            ts: e.ts,
            id: v.id(),
        };
        match &e.body {
            Body::Appeal(a) => {
                if let Some(r) = idx.pos_of(&a.rejection) {
                    self.appeals.appeal(at, r);
                }
            }
            Body::Verdict(x) => {
                if let Some(a) = idx.pos_of(&x.appeal) {
                    self.appeals.vote(at, a, x.uphold);
                }
            }
            Body::Tick(t) => {
                for a in t.heads.iter().filter_map(|h| idx.pos_of(h)) {
                    self.appeals.tick(at, a);
                }
            }
            _ => {}
        }
    }

    /// How the appeal of the rejection that counts against `s` (the lowest (ts, id) of
    /// the verdicts `counted` keeps) ends at `now`; `None` when no appeal counts.
    #[allow(clippy::too_many_arguments)]
    fn appealed(
        &self,
        idx: &Index,
        tl: &Timeline,
        key: &dyn Fn(Who) -> PublicKey,
        now: Timestamp,
        s: &SubRec,
        o: &OfferRec,
        counted: impl Fn(&Verdict) -> bool,
    ) -> Option<crate::appeals::Ending> {
        use crate::appeals::{Judge, Signed};
        if self.appeals.is_empty() {
            return None;
        }
        let (ts, id, v) = s
            .verdicts
            .iter()
            .filter(|v| counted(v))
            .filter_map(|v| Some((v.at.ts, idx.load(v.pos)?.id(), v)))
            .min_by_key(|(ts, id, _)| (*ts, *id))?;
        let rej = Signed {
            pos: v.pos,
            who: v.at.who,
            seq: v.at.seq,
            key: key(v.at.who),
            by: key(v.at.by),
            ts,
            id,
        };
        let made = |p: Pos| self.made(p);
        let seen = |p: Pos| self.seen_at(p);
        // Appeals, verdicts and ticks give a say: they count unless their author is
        // frozen from their seq on, only while a device's key and its member's escape
        // every cut (a revoked device, a replaced key: 8.7), and only with a role at
        // their time (8.1), as the fold's `live`.
        let live = |x: &Signed| {
            idx.frozen_from(x.who).is_none_or(|f| x.seq < f)
                && tl.escapes_cuts(&x.key, &x.by, x.ts, self.seen_at(x.pos))
                && tl.at(x.ts).may_request(&x.by)
        };
        let judge = Judge {
            tl,
            now,
            made: &made,
            seen: &seen,
            live: &live,
        };
        // Rivals by the member they speak for, whichever device claimed.
        let claimants: Vec<PublicKey> = o.claims.iter().map(|(_, c)| key(c.by)).collect();
        self.appeals.judge(
            &judge,
            &rej,
            tl.identity(&key(s.at.who)),
            tl.identity(&key(o.at.who)),
            &claimants,
        )
    }
}
