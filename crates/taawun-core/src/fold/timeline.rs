//! The governance [`Timeline`]: rules in force at a time, identities through replaced
//! keys, revocations of devices and their cuts.

use super::*;

/// The governance history by everything a node holds, as the fold uses it for what the
/// cooperative owes and who counts.
///
/// Validation judges an entry by the governance it names (so verdicts depend only on its
/// causal past); the fold then applies every enactment held, from every branch of the
/// governance tree, in order of (effective time, id), each proposal once, and each only if
/// its yes votes still make a quorum of the members in force just before it. So an author
/// who names an old governance escapes nothing: its entries are void in the state from the
/// moment a removal takes effect, and what it owes is computed against the floor really in
/// force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// (effective time, rules from then on), starting with the charter at 0.
    steps: Vec<(Timestamp, Rules)>,
    /// Key -> the time from which nothing it signs counts: a device's revocation (by its
    /// member or by a vote), a replaced key's replacement (docs/protocol.md 8.7).
    cut: BTreeMap<PublicKey, Timestamp>,
    /// Replacing key -> the stable identity it speaks for (the first key of the member).
    root: BTreeMap<PublicKey, PublicKey>,
    /// Entries dated before their key's cut but first witnessed more than the witness
    /// slack after it: a confiscated phone's backdated entries.
    late: BTreeSet<Id>,
    /// Key -> the devices enrolled for it alone.
    devices: BTreeMap<PublicKey, BTreeSet<PublicKey>>,
    /// Device key -> its earliest revocation, by its member or by a vote.
    revoked: BTreeMap<PublicKey, Revocation>,
}

/// A device's revocation (docs/protocol.md 8.7): from when nothing it signs counts, and
/// who decided it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// From when: the `revoke_device` entry's timestamp, or the vote's effective time.
    pub at: Timestamp,
    /// Who revoked the device.
    pub by: RevokedBy,
}

/// Who revoked a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokedBy {
    /// The member or requester it wrote for, from its own key or one of its devices.
    Member(PublicKey),
    /// A cooperative vote: the proposal enacted.
    Vote(Id),
}

impl Timeline {
    /// The rules in force at `at`.
    pub fn at(&self, at: Timestamp) -> &Rules {
        let i = self.steps.partition_point(|(t, _)| *t <= at);
        &self.steps[i.saturating_sub(1)].1
    }

    /// The stable identity `key` speaks for: the member's first key, through every
    /// replacement by vote; a key never replaced is its own identity.
    pub fn identity(&self, key: &PublicKey) -> PublicKey {
        let mut k = *key;
        // Each replacement names a new key once applied, so the walk ends; the bound
        // guards against a cycle (a key replaced back).
        for _ in 0..=self.root.len() {
            match self.root.get(&k) {
                Some(r) if *r != k => k = *r,
                _ => break,
            }
        }
        k
    }

    /// When `key` stopped counting (revoked or replaced), if it did.
    pub fn cut(&self, key: &PublicKey) -> Option<Timestamp> {
        self.cut.get(key).copied()
    }

    /// The earliest revocation of the device `key`, by its member or by a vote, if it
    /// was revoked (a vote may revoke a device that never enrolled).
    pub fn revocation(&self, key: &PublicKey) -> Option<Revocation> {
        self.revoked.get(key).copied()
    }

    /// The devices of `key` that are live at `at`: enrolled for it alone, and neither
    /// they nor `key` cut at or before `at` (revoked by the member or by a vote, or the
    /// key replaced). What a field about `key` written at `at` is sealed to, besides
    /// `key` itself (docs/protocol.md 3.7).
    pub fn live_devices(&self, key: &PublicKey, at: Timestamp) -> Vec<PublicKey> {
        let live = |k: &PublicKey| self.cut(k).is_none_or(|c| at < c);
        if !live(key) {
            return Vec::new();
        }
        self.devices
            .get(key)
            .into_iter()
            .flatten()
            .filter(|d| live(d))
            .copied()
            .collect()
    }

    /// Whether an entry by `author`, speaking for `who`, escapes every cut: dated before
    /// the cut of its key and of the key it speaks for, and not first witnessed more than
    /// the slack after it.
    pub(super) fn alive(&self, v: &Verified, who: &PublicKey) -> bool {
        let ts = v.entry().ts;
        let cut = [self.cut(&v.entry().author), self.cut(who)]
            .into_iter()
            .flatten()
            .min();
        cut.is_none_or(|c| ts < c && !self.late.contains(&v.id()))
    }

    /// The same rule for a streamed fold that keeps its own witnessed times: whether an
    /// entry by `author`, speaking for `who`, timestamped `ts` and first witnessed at
    /// `seen` (none: unwitnessed) escapes every cut.
    pub fn escapes_cuts(
        &self,
        author: &PublicKey,
        who: &PublicKey,
        ts: Timestamp,
        seen: Option<Timestamp>,
    ) -> bool {
        let cut = [self.cut(author), self.cut(who)]
            .into_iter()
            .flatten()
            .min();
        cut.is_none_or(|c| ts < c && seen.is_none_or(|w| w <= c.saturating_add(WITNESS_SLACK_MS)))
    }
}

impl Coop {
    /// The timeline ([`Coop::timeline`]) with the witnessed times of the enactments given
    /// by the caller: `seen_at` holds an enactment's witnessed time (docs/protocol.md 5.7),
    /// absent while nobody else has witnessed it. For a fold that holds only the
    /// governance entries while the entries that witness them are counted elsewhere (the
    /// streaming audit); `timeline()` is `timeline_seen(&self.witnessed())`.
    pub fn timeline_seen(&self, seen_at: &BTreeMap<Id, Timestamp>) -> Option<Timeline> {
        let charter = self.id.and_then(|id| self.entries.get(&id))?;
        let Body::Charter(c) = &charter.entry().body else {
            return None;
        };
        let mut enacts: Vec<(Timestamp, Id, &crate::body::Enact)> = self
            .ids(Kind::Enact)
            .filter_map(|id| self.entries.get(id))
            .filter(|v| self.counts(v))
            .filter_map(|v| match &v.entry().body {
                Body::Enact(e) => Some((effective(v, e, seen_at), v.id(), e)),
                _ => None,
            })
            .collect();
        enacts.sort_by_key(|(at, id, _)| (*at, *id));
        let mut rules = Rules::from_charter(c);
        let mut steps = vec![(0, rules.clone())];
        let mut seen = BTreeSet::new();
        // Revocations by members themselves, then those by vote and replacements.
        // A device enrolled for two members counts for nobody: cut from the start.
        let mut cut: BTreeMap<PublicKey, Timestamp> = self
            .enrolls
            .iter()
            .filter_map(|(k, by)| Some((*k, if by.len() > 1 { 0 } else { self.revoked_at(k)? })))
            .collect();
        let mut revoked: BTreeMap<PublicKey, Revocation> = self
            .enrolls
            .keys()
            .filter_map(|k| {
                let member = self.enrolled(k)?;
                let at = self.revoked_by(k, &member)?;
                Some((
                    *k,
                    Revocation {
                        at,
                        by: RevokedBy::Member(member),
                    },
                ))
            })
            .collect();
        let mut root: BTreeMap<PublicKey, PublicKey> = BTreeMap::new();
        for (at, _, e) in enacts {
            let Some(Body::Proposal(p)) = self.entries.get(&e.proposal).map(|p| &p.entry().body)
            else {
                continue;
            };
            // Re-count every vote held on the proposal, yes and no, by the members really
            // in force just before: an enactment that named only the yes votes, or that
            // was enacted by people removed since, changes nothing.
            let (yes, no) = self.tally(&e.proposal, &rules);
            if !rules.passes(&p.action, yes, no) || !seen.insert(e.proposal) {
                continue;
            }
            // A replacement takes only a key with a role, for a key without one (as
            // `Rules::apply`, which does nothing otherwise).
            let replaces = match &p.action {
                crate::body::Action::ReplaceKey { old, new } => {
                    rules.may_request(old) && !rules.may_request(new)
                }
                _ => true,
            };
            rules.apply(&p.action);
            steps.push((at, rules.clone()));
            let mut cut_at = |k: PublicKey| {
                let c = cut.entry(k).or_insert(at);
                *c = (*c).min(at);
            };
            match &p.action {
                crate::body::Action::RevokeDevice(k) => {
                    cut_at(*k);
                    let by_vote = Revocation {
                        at,
                        by: RevokedBy::Vote(e.proposal),
                    };
                    let r = revoked.entry(*k).or_insert(by_vote);
                    if at < r.at {
                        *r = by_vote;
                    }
                }
                crate::body::Action::ReplaceKey { old, new } if replaces => {
                    cut_at(*old);
                    // The new key speaks for whatever identity the old one did.
                    let id = root.get(old).copied().unwrap_or(*old);
                    root.entry(*new).or_insert(id);
                }
                _ => {}
            }
        }
        // Entries dated before a cut of their key (or of the key they speak for) but
        // first witnessed more than the slack after it: backdated by whoever holds a
        // revoked device or a replaced key.
        let late = if cut.is_empty() {
            BTreeSet::new()
        } else {
            self.entries
                .values()
                .filter(|v| {
                    let c = [cut.get(&v.entry().author), cut.get(&self.who(v))]
                        .into_iter()
                        .flatten()
                        .min();
                    c.is_some_and(|c| {
                        seen_at
                            .get(&v.id())
                            .is_some_and(|w| *w > c.saturating_add(WITNESS_SLACK_MS))
                    })
                })
                .map(Verified::id)
                .collect()
        };
        let mut devices: BTreeMap<PublicKey, BTreeSet<PublicKey>> = BTreeMap::new();
        for (device, member) in self.enrolled_devices() {
            devices.entry(member).or_default().insert(device);
        }
        Some(Timeline {
            steps,
            cut,
            root,
            late,
            devices,
            revoked,
        })
    }
}
