//! Governance: the rules in force (members, requesters, quorum, floors, limits) and how
//! enactments change them over time.
//!
//! Enactments form a tree: each `Enact` entry names its parent enactment in its `gov`
//! field, and so does every other entry, for the governance its author wrote under. The
//! rules that judge an entry are those of the charter with the enactments on the path of
//! its named `gov` applied in order of (effective time, enactment id), keeping only those
//! already in effect at the entry's timestamp. That verdict depends only on the entry and
//! what it names, so every node reaches it whatever else it has received.

use crate::body::{Action, Charter, Limit, Limits};
use crate::id::{Id, PublicKey};
use crate::money::Currency;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The rules in force at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Members (workers), who claim, submit, vote and review.
    pub members: BTreeSet<PublicKey>,
    /// Requesters, who post offers and pay.
    pub requesters: BTreeSet<PublicKey>,
    /// Display names, from the charter or the latest admission of each key (a
    /// re-admission renames). Kept after a removal, so past work still shows a name.
    pub names: BTreeMap<PublicKey, String>,
    /// Share of members needed to pass a proposal, in percent.
    pub quorum_pct: u8,
    /// Floor per currency, minor units per hour.
    pub floors: BTreeMap<Currency, u64>,
    /// The limits.
    pub limits: Limits,
}

/// How many (charter, enactments in effect) pairs [`Rules::at_shared`] keeps per thread.
pub const RULES_CACHE: usize = 8;

/// The enactments of `path` in effect at `at`, in the order they apply: (effective time,
/// id).
fn due(path: &[Enactment], at: u64) -> Vec<&Enactment> {
    let mut positions = Vec::new();
    due_positions(path, at, &mut positions);
    positions.iter().map(|&i| &path[i]).collect()
}

/// [`due`] as positions in `path`, into `out` (cleared first), so that a caller can keep
/// the buffer between calls.
fn due_positions(path: &[Enactment], at: u64, out: &mut Vec<usize>) {
    out.clear();
    out.extend((0..path.len()).filter(|&i| path[i].effective_at <= at));
    out.sort_by_key(|&i| (path[i].effective_at, path[i].id));
}

/// One enactment on a governance path, as the rules need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enactment {
    /// The `Enact` entry's id.
    pub id: Id,
    /// The proposal it enacted.
    pub proposal: Id,
    /// When it takes effect.
    pub effective_at: u64,
    /// What it changes.
    pub action: Action,
}

/// A governance path: the enactments from one `Enact` back to the charter, newest first
/// ([`crate::Context::path`]). Shared, not copied: nearly every entry is judged under the
/// same path, and a store keeps it once.
pub type Path = std::sync::Arc<[Enactment]>;

impl Rules {
    /// The rules a charter sets.
    pub fn from_charter(c: &Charter) -> Self {
        Self {
            members: c.members.iter().copied().collect(),
            requesters: c.requesters.iter().copied().collect(),
            names: c.names.iter().map(|n| (n.key, n.name.clone())).collect(),
            quorum_pct: c.quorum_pct,
            floors: c.floors.clone(),
            limits: c.limits.clone(),
        }
    }

    /// The rules of `charter` with every enactment of `path` in effect at `at` applied,
    /// in order of (effective time, id).
    pub fn at(charter: &Charter, path: &[Enactment], at: u64) -> Self {
        Self::applied(charter, &due(path, at))
    }

    /// [`Rules::at`] for the charter entry of id `charter_id`, shared: each thread keeps
    /// the rules of its last [`RULES_CACHE`] (charter, enactments in effect) pairs, since
    /// every entry is judged under them and most entries of a stretch of the ledger under
    /// the same ones. The key is the charter's id and the enactments in effect themselves,
    /// so the answer is always that of [`Rules::at`].
    pub fn at_shared(charter_id: Id, charter: &Charter, path: &[Enactment], at: u64) -> Rc<Self> {
        type Cache = Vec<(Id, Vec<Enactment>, Rc<Rules>)>;
        thread_local! {
            static KEPT: RefCell<Cache> = const { RefCell::new(Vec::new()) };
            // Positions in `path` of the enactments due, in the order they apply: kept
            // between calls so that a hit (nearly every call) allocates nothing.
            static DUE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
        }
        DUE.with(|due| {
            let mut due = due.borrow_mut();
            due_positions(path, at, &mut due);
            KEPT.with(|kept| {
                let found = kept.borrow().iter().find_map(|(c, d, r)| {
                    (*c == charter_id
                        && d.len() == due.len()
                        && d.iter().zip(due.iter()).all(|(a, &b)| *a == path[b]))
                    .then(|| Rc::clone(r))
                });
                if let Some(r) = found {
                    return r;
                }
                let due: Vec<&Enactment> = due.iter().map(|&i| &path[i]).collect();
                let r = Rc::new(Self::applied(charter, &due));
                let mut kept = kept.borrow_mut();
                if kept.len() >= RULES_CACHE {
                    kept.remove(0);
                }
                kept.push((
                    charter_id,
                    due.into_iter().cloned().collect(),
                    Rc::clone(&r),
                ));
                r
            })
        })
    }

    /// The charter's rules with `due` applied in order.
    fn applied(charter: &Charter, due: &[&Enactment]) -> Self {
        let mut rules = Self::from_charter(charter);
        for e in due {
            rules.apply(&e.action);
        }
        rules
    }

    /// Applies one amendment.
    pub fn apply(&mut self, action: &Action) {
        match action {
            Action::AdmitMember { key, name } => {
                self.members.insert(*key);
                self.names.insert(*key, name.clone());
            }
            Action::RemoveMember(k) => {
                self.members.remove(k);
            }
            Action::AdmitRequester { key, name } => {
                self.requesters.insert(*key);
                self.names.insert(*key, name.clone());
            }
            Action::RemoveRequester(k) => {
                self.requesters.remove(k);
            }
            Action::SetFloor { currency, per_hour } => {
                self.floors.insert(currency.clone(), *per_hour);
            }
            Action::SetQuorum(q) => self.quorum_pct = *q,
            // Devices hold no role: the fold stops counting the key (fold::Keys).
            Action::RevokeDevice(_) => {}
            Action::ReplaceKey { old, new } => {
                // A key that already holds a role is somebody: replacing with it would
                // merge two members' say and books.
                if self.may_request(new) {
                    return;
                }
                if self.members.remove(old) {
                    self.members.insert(*new);
                }
                if self.requesters.remove(old) {
                    self.requesters.insert(*new);
                }
            }
            Action::SetLimit { limit, value } => {
                let l = &mut self.limits;
                match limit {
                    Limit::MaxReviewWindowMs => l.max_review_window_ms = *value,
                    Limit::MaxClaimWindowMs => l.max_claim_window_ms = *value,
                    Limit::MaxOfferLifeMs => l.max_offer_life_ms = *value,
                    Limit::MaxResultBytes => l.max_result_bytes = *value,
                    Limit::MaxEntryBytes => l.max_entry_bytes = *value,
                    Limit::TopupCapPct => {
                        l.topup_cap_pct = u32::try_from(*value).unwrap_or(u32::MAX)
                    }
                    Limit::AmendmentDelayMs => l.amendment_delay_ms = *value,
                    Limit::MinClaimWindowMs => l.min_claim_window_ms = *value,
                    Limit::ProposalLifeMs => l.proposal_life_ms = *value,
                    Limit::MajorityPct => l.majority_pct = u8::try_from(*value).unwrap_or(100),
                    Limit::SupermajorityPct => {
                        l.supermajority_pct = u8::try_from(*value).unwrap_or(100)
                    }
                    Limit::SubmitWindowMs => l.submit_window_ms = *value,
                    Limit::AppealWindowMs => l.appeal_window_ms = *value,
                    Limit::JurySize => l.jury_size = *value,
                    Limit::VoteWindowMs => l.vote_window_ms = *value,
                }
            }
        }
    }

    /// Votes (yes and no) needed for a vote to count: ceil(members * quorum / 100), at
    /// least 1.
    pub fn quorum_needed(&self) -> usize {
        let n = self.members.len() * usize::from(self.quorum_pct);
        n.div_ceil(100).max(1)
    }

    /// Whether `action` needs the supermajority: removing a member, changing the quorum,
    /// lowering a floor (or dropping below the current one), or lowering either threshold.
    pub fn weighty(&self, action: &Action) -> bool {
        match action {
            // Replacing a key hands a member's history, wages and say to another key:
            // at least as weighty as removing the member.
            Action::RemoveMember(_) | Action::SetQuorum(_) | Action::ReplaceKey { .. } => true,
            Action::SetFloor { currency, per_hour } => {
                self.floors.get(currency).is_some_and(|now| per_hour < now)
            }
            Action::SetLimit { limit, value } => match limit {
                Limit::MajorityPct => *value < u64::from(self.limits.majority_pct),
                Limit::SupermajorityPct => *value < u64::from(self.limits.supermajority_pct),
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether `yes` and `no` votes by members in force pass `action`: enough votes for
    /// the quorum, and yes above the threshold's share of the votes cast
    /// (`yes * 100 > pct * (yes + no)`).
    pub fn passes(&self, action: &Action, yes: usize, no: usize) -> bool {
        let cast = yes + no;
        if cast < self.quorum_needed() || yes == 0 {
            return false;
        }
        (yes as u128) * 100 > u128::from(self.threshold(action)) * (cast as u128)
    }

    /// The share of the votes cast that yes must exceed to pass `action`, in percent.
    pub fn threshold(&self, action: &Action) -> u8 {
        if self.weighty(action) {
            self.limits.supermajority_pct
        } else {
            self.limits.majority_pct
        }
    }

    /// Whether `k` may write as a member.
    pub fn is_member(&self, k: &PublicKey) -> bool {
        self.members.contains(k)
    }

    /// Whether `k` may post offers: admitted requesters, and members (a cooperative's
    /// members may also ask each other for work).
    pub fn may_request(&self, k: &PublicKey) -> bool {
        self.requesters.contains(k) || self.members.contains(k)
    }
}

/// Default limits for a new cooperative, chosen for members on weak links and for
/// requesters used to Prolific's rhythms.
pub fn default_limits() -> Limits {
    const HOUR: u64 = 60 * 60 * 1000;
    Limits {
        max_review_window_ms: 7 * 24 * HOUR,
        max_claim_window_ms: 24 * HOUR,
        max_offer_life_ms: 30 * 24 * HOUR,
        max_result_bytes: 16 * 1024 * 1024,
        max_entry_bytes: 16 * 1024,
        topup_cap_pct: 200,
        amendment_delay_ms: HOUR,
        min_claim_window_ms: 10 * 60 * 1000,
        proposal_life_ms: 14 * 24 * HOUR,
        majority_pct: 50,
        supermajority_pct: 66,
        submit_window_ms: 2 * 24 * HOUR,
        appeal_window_ms: crate::appeal::default_appeal_window_ms(),
        jury_size: crate::appeal::default_jury_size(),
        vote_window_ms: crate::appeal::default_vote_window_ms(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charter(n: u8) -> Charter {
        Charter {
            name: "c".into(),
            members: (0..n).map(|i| PublicKey([i; 32])).collect(),
            requesters: vec![],
            names: (0..n)
                .map(|i| crate::body::Named {
                    key: PublicKey([i; 32]),
                    name: format!("m{i}"),
                })
                .collect(),
            quorum_pct: 50,
            floors: [("EUR".to_string(), 1200)].into_iter().collect(),
            limits: default_limits(),
        }
    }

    #[test]
    fn quorum_rounds_up_and_is_never_zero() {
        let mut r = Rules::from_charter(&charter(3));
        assert_eq!(r.quorum_needed(), 2);
        r.quorum_pct = 100;
        assert_eq!(r.quorum_needed(), 3);
        r.members.clear();
        assert_eq!(r.quorum_needed(), 1);
    }

    #[test]
    fn a_strict_majority_passes_and_two_thirds_for_weighty_changes() {
        let r = Rules::from_charter(&charter(6));
        let admit = Action::AdmitMember {
            key: PublicKey([9; 32]),
            name: "Nine".into(),
        };
        let remove = Action::RemoveMember(PublicKey([1; 32]));
        // Quorum 50 % of 6: three votes must be cast.
        assert!(!r.passes(&admit, 2, 0));
        assert!(r.passes(&admit, 2, 1));
        assert!(!r.passes(&admit, 2, 2), "a tie is no majority");
        assert!(
            !r.passes(&remove, 3, 2),
            "three of five is under two thirds"
        );
        assert!(r.passes(&remove, 4, 2), "two thirds pass");
        let lower = Action::SetFloor {
            currency: "EUR".into(),
            per_hour: 1100,
        };
        let raise = Action::SetFloor {
            currency: "EUR".into(),
            per_hour: 1300,
        };
        assert!(r.weighty(&lower) && !r.weighty(&raise));
    }

    #[test]
    fn shared_rules_are_the_rules_at_the_time_for_every_charter_path_and_time() {
        let charters = [charter(2), charter(3), charter(5)];
        let step = |i: u8, at: u64, action: Action| Enactment {
            id: Id([i; 32]),
            proposal: Id([100 + i; 32]),
            effective_at: at,
            action,
        };
        let path = [
            step(3, 300, Action::SetQuorum(70)),
            step(1, 100, Action::RemoveMember(PublicKey([0; 32]))),
            step(2, 100, Action::SetQuorum(60)),
            step(
                4,
                400,
                Action::AdmitMember {
                    key: PublicKey([9; 32]),
                    name: "Nine".into(),
                },
            ),
        ];
        // More (charter, path, time) combinations than the cache holds, visited twice.
        for round in 0..2 {
            for (c, ch) in charters.iter().enumerate() {
                for cut in 0..=path.len() {
                    for at in [0, 99, 100, 250, 300, 399, 400, 1000] {
                        let id = Id([c as u8; 32]);
                        let shared = Rules::at_shared(id, ch, &path[..cut], at);
                        assert_eq!(
                            *shared,
                            Rules::at(ch, &path[..cut], at),
                            "round {round}, charter {c}, {cut} steps, at {at}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn names_come_from_the_charter_and_the_latest_admission() {
        let mut r = Rules::from_charter(&charter(2));
        assert_eq!(r.names[&PublicKey([1; 32])], "m1");
        let admit = |name: &str| Action::AdmitRequester {
            key: PublicKey([7; 32]),
            name: name.into(),
        };
        r.apply(&admit("Relief desk"));
        r.apply(&admit("Relief desk (Zaatari)"));
        assert_eq!(r.names[&PublicKey([7; 32])], "Relief desk (Zaatari)");
        r.apply(&Action::RemoveRequester(PublicKey([7; 32])));
        assert!(!r.requesters.contains(&PublicKey([7; 32])));
        assert_eq!(
            r.names[&PublicKey([7; 32])],
            "Relief desk (Zaatari)",
            "past work still shows who asked"
        );
    }

    #[test]
    fn enactments_apply_by_effective_time_then_id() {
        let c = charter(2);
        let e = |id: u8, at: u64, per_hour: u64| Enactment {
            id: Id([id; 32]),
            proposal: Id([id; 32]),
            effective_at: at,
            action: Action::SetFloor {
                currency: "EUR".into(),
                per_hour,
            },
        };
        let path = vec![e(2, 100, 1500), e(1, 200, 1300)];
        assert_eq!(Rules::at(&c, &path, 50).floors["EUR"], 1200);
        assert_eq!(Rules::at(&c, &path, 100).floors["EUR"], 1500);
        assert_eq!(Rules::at(&c, &path, 250).floors["EUR"], 1300);
        let tie = vec![e(9, 100, 1500), e(3, 100, 1400)];
        assert_eq!(Rules::at(&c, &tie, 100).floors["EUR"], 1500);
    }
}
