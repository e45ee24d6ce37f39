//! Appeals (docs/protocol.md 8.8), re-derived from the audit's compact records: which
//! appeal of a rejection counts, the jury's seed and ranking, the seats passing down the
//! ranking, the votes and the outcome. Written from the spec, apart from the core's
//! `fold`, so that the two can be compared (`tests/appeals.rs`); it shares only the
//! keyed ranking (`lottery::ranking`) and the seed (`appeal::seed`), which the spec
//! defines byte for byte.

use crate::index::{Pos, Who};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use taawun_core::appeal;
use taawun_core::fold::{Timeline, WITNESS_SLACK_MS};
use taawun_core::lottery;
use taawun_core::{Id, PublicKey, Timestamp};

/// One signed entry as the appeals need it: where, by whom (and at which seq), for whom,
/// when, and its id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signed {
    pub(crate) pos: Pos,
    pub(crate) who: Who,
    pub(crate) seq: u64,
    /// The author's key.
    pub(crate) key: PublicKey,
    /// The key it speaks for: the author, or the member of its device key (4.7).
    pub(crate) by: PublicKey,
    pub(crate) ts: Timestamp,
    pub(crate) id: Id,
}

#[derive(Debug)]
struct Rec {
    at: Signed,
    rejection: Pos,
    /// Ticks naming the appeal.
    witnesses: Vec<Signed>,
    /// Verdicts naming it: the entry and whether it upholds.
    votes: Vec<(Signed, bool)>,
}

/// Every appeal held, with its witnesses and votes.
#[derive(Debug, Default)]
pub(crate) struct Appeals {
    recs: Vec<Rec>,
    by_pos: HashMap<Pos, u32>,
    by_rejection: HashMap<Pos, Vec<u32>>,
}

/// How an appeal ended, or where it stands, at the audit's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Drawing,
    Open,
    Upheld(Timestamp),
    Dismissed,
    NoJury,
    UpheldByDefault(Timestamp),
}

impl Ending {
    /// When the rejection became void, if it did.
    pub(crate) fn upheld_at(self) -> Option<Timestamp> {
        match self {
            Ending::Upheld(t) | Ending::UpheldByDefault(t) => Some(t),
            _ => None,
        }
    }
}

/// What judging an appeal needs of the books.
pub(crate) struct Judge<'a> {
    pub(crate) tl: &'a Timeline,
    pub(crate) now: Timestamp,
    /// `made(e)` of docs/protocol.md 5.7, by position.
    pub(crate) made: &'a dyn Fn(Pos) -> Timestamp,
    /// Witnessed time, by position.
    pub(crate) seen: &'a dyn Fn(Pos) -> Option<Timestamp>,
    /// Whether an entry gives its author a say (counts, escapes the cuts of its key and
    /// of the key it speaks for, and a role at its time), 8.1 and 8.7.
    pub(crate) live: &'a dyn Fn(&Signed) -> bool,
}

impl Judge<'_> {
    /// Made by `deadline` by witnessed time: dated by it, and witnessed by it plus the
    /// slack (unwitnessed: provisionally, while the slack has not passed).
    fn by(&self, s: &Signed, deadline: Timestamp) -> bool {
        let late = deadline.saturating_add(WITNESS_SLACK_MS);
        s.ts <= deadline
            && match (self.seen)(s.pos) {
                Some(w) => w <= late,
                None => self.now <= late,
            }
    }
}

impl Appeals {
    /// Notes an appeal of the rejection at `rejection`.
    pub(crate) fn appeal(&mut self, at: Signed, rejection: Pos) {
        let i = u32::try_from(self.recs.len()).unwrap_or(u32::MAX);
        self.by_pos.insert(at.pos, i);
        self.by_rejection.entry(rejection).or_default().push(i);
        self.recs.push(Rec {
            at,
            rejection,
            witnesses: vec![],
            votes: vec![],
        });
    }

    /// Notes a verdict on the appeal at `appeal`.
    pub(crate) fn vote(&mut self, at: Signed, appeal: Pos, uphold: bool) {
        if let Some(i) = self.by_pos.get(&appeal) {
            self.recs[*i as usize].votes.push((at, uphold));
        }
    }

    /// Notes a tick naming the entry at `named`, if it is an appeal.
    pub(crate) fn tick(&mut self, at: Signed, named: Pos) {
        if let Some(i) = self.by_pos.get(&named) {
            self.recs[*i as usize].witnesses.push(at);
        }
    }

    /// Whether any appeal is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// The outcome of the appeal that counts against the rejection `rej` (id `rej_id`,
    /// the one that counts, 8.3) of work by `worker` on an offer by `requester` that
    /// `claimants` claimed; `None` when no appeal counts.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn judge(
        &self,
        j: &Judge<'_>,
        rej: &Signed,
        worker: PublicKey,
        requester: PublicKey,
        claimants: &[PublicKey],
    ) -> Option<Ending> {
        let tl = j.tl;
        let window = tl.at(rej.ts).limits.appeal_window_ms;
        let deadline = (j.made)(rej.pos).saturating_add(window);
        let a = self
            .by_rejection
            .get(&rej.pos)?
            .iter()
            .map(|i| &self.recs[*i as usize])
            .filter(|r| r.rejection == rej.pos)
            .filter(|r| (j.live)(&r.at) && tl.identity(&r.at.by) == worker)
            .filter(|r| j.by(&r.at, deadline))
            .min_by_key(|r| (r.at.ts, r.at.id))?;
        let made = (j.made)(a.at.pos);
        let rules = tl.at(made);
        let k = usize::try_from(rules.limits.jury_size).unwrap_or(usize::MAX);
        let seated = made.saturating_add(WITNESS_SLACK_MS);
        if j.now <= seated {
            return Some(Ending::Drawing);
        }
        let party = |key: &PublicKey| {
            let who = tl.identity(key);
            who == worker || who == requester
        };
        let rivals: BTreeSet<PublicKey> = claimants.iter().map(|c| tl.identity(c)).collect();
        let eligible: Vec<PublicKey> = rules
            .members
            .iter()
            .map(|m| tl.identity(m))
            .filter(|m| !party(m) && !rivals.contains(m))
            .collect();
        let witnesses: Vec<Id> = a
            .witnesses
            .iter()
            .filter(|t| (j.live)(t) && t.ts <= seated && !party(&t.by))
            .map(|t| t.id)
            .collect();
        if k == 0 || eligible.len() < k || witnesses.is_empty() {
            return Some(Ending::NoJury);
        }
        let ranking = lottery::ranking(&appeal::seed(&rej.id, &a.at.id, &witnesses), &eligible);
        let mut votes: BTreeMap<PublicKey, (Signed, bool)> = BTreeMap::new();
        for (s, up) in a.votes.iter().filter(|(s, _)| (j.live)(s)) {
            let slot = votes.entry(tl.identity(&s.by)).or_insert((*s, *up));
            if (s.ts, s.id) < (slot.0.ts, slot.0.id) {
                *slot = (*s, *up);
            }
        }
        let window = rules.limits.vote_window_ms;
        let mut queue: VecDeque<(PublicKey, Timestamp)> =
            ranking.iter().take(k).map(|m| (*m, seated)).collect();
        let mut next = ranking.iter().skip(k);
        let (mut ups, mut downs, mut open) = (vec![], vec![], false);
        let mut last = seated;
        while let Some((m, from)) = queue.pop_front() {
            let until = from.saturating_add(window);
            let lapse = until.saturating_add(WITNESS_SLACK_MS);
            match votes.get(&m).filter(|(s, _)| (j.made)(s.pos) <= until) {
                Some((s, up)) => {
                    let t = (j.made)(s.pos).max(from);
                    if *up {
                        ups.push(t)
                    } else {
                        downs.push(t)
                    }
                }
                None if j.now > lapse => {
                    if let Some(n) = next.next() {
                        queue.push_back((*n, lapse));
                    }
                    last = last.max(lapse);
                }
                None => open = true,
            }
        }
        let majority = k / 2 + 1;
        let reached = |mut t: Vec<Timestamp>| {
            t.sort_unstable();
            t.get(majority - 1).copied()
        };
        Some(match (reached(ups), reached(downs)) {
            (Some(at), _) => Ending::Upheld(at),
            (None, Some(_)) => Ending::Dismissed,
            _ if open => Ending::Open,
            _ => Ending::UpheldByDefault(last),
        })
    }
}
