//! The fold: a cooperative's state from the set of its valid entries.
//!
//! [`Coop`] indexes entries into maps keyed by ids and keys, so its content depends only
//! on the set of entries applied, never on their order (as long as each author's chain is
//! applied in order, which [`crate::validate::check`] enforces). Everything that depends on
//! time (default acceptance, balances, records) is computed on request from that state and
//! a `now` parameter.
//!
//! What depends on every entry but not on `now` is built once per state: the witnessed
//! times ([`Coop::witnessed`]) and the governance [`Timeline`] ([`Coop::timeline`]) are
//! built on the first read that needs them and kept until the state changes (an entry
//! applied, an author frozen), so every read of one state, and every reader of a shared
//! snapshot (`Arc<Coop>`), uses the same ones. A lookup by id ([`Coop::submission`],
//! [`Coop::offer`], [`Coop::appeal`]) computes only what it asks for: the draw of its own
//! offer, not every offer's.
//!
//! `Coop` also implements [`Context`], so it can validate entries itself: tests, the
//! simulator and small audits use it; the sled ledger implements the same trait on disk.
//!
//! Here: [`Coop`] itself (applying entries, what counts, devices, witnessed times,
//! lookups) and its [`Context`]. Beside it: `views` (the plain data the fold answers
//! with), `timeline` (the governance [`Timeline`]), `work` (claims, the draw, offers,
//! submissions) and `books` (balances, records, the top-up).

use crate::body::{Body, Kind, Offer};
use crate::entry::{Timestamp, Verified};
use crate::id::{Id, PublicKey};
use crate::index::IndexKey;
use crate::lottery;
use crate::money::{Currency, Money};
use crate::rules::Rules;
use crate::seal::Sealed;
use crate::validate::{self, Context, Head, Invalid, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

mod books;
mod timeline;
mod views;
mod work;

use books::median_minutes;
pub use books::topup;
pub use timeline::{Revocation, RevokedBy, Timeline};
pub use views::*;

/// How long after a window closes a late witness may still show that an entry was made
/// in time: a rejection counts only if someone other than the requester witnessed it by
/// the end of the review window plus this slack (docs/protocol.md, "Witnessed time").
/// Covers a node's tick interval and a slow link, not a requester idle for days.
pub const WITNESS_SLACK_MS: u64 = 15 * 60 * 1000;

/// The in-memory state of one cooperative.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coop {
    id: Option<Id>,
    entries: BTreeMap<Id, Verified>,
    chains: BTreeMap<(PublicKey, u64), Id>,
    heads: BTreeMap<PublicKey, Head>,
    /// Author -> the lowest seq at which two entries are known.
    frozen: BTreeMap<PublicKey, u64>,
    claims: BTreeMap<(Id, PublicKey), Id>,
    submits: BTreeMap<(Id, PublicKey), Id>,
    votes: BTreeMap<(Id, PublicKey), Id>,
    withdrawals: BTreeMap<Id, Id>,
    /// Every answer to a settlement (a member's devices may each hold one).
    receipts: BTreeMap<Id, BTreeSet<Id>>,
    by_kind: BTreeMap<Kind, BTreeSet<Id>>,
    /// Every submission's verdicts (a forked requester may hold one on each branch).
    verdicts: BTreeMap<Id, BTreeSet<Id>>,
    /// Every assignment of an offer (likewise).
    assigns: BTreeMap<Id, BTreeSet<Id>>,
    /// Every submission on an offer.
    offer_subs: BTreeMap<Id, BTreeSet<Id>>,
    /// Device key -> the keys its enrollments speak for (one, unless it enrolled twice
    /// at seq 1 for different members: then it counts for nobody).
    enrolls: BTreeMap<PublicKey, BTreeSet<PublicKey>>,
    /// Device key -> (timestamp, key the revoker speaks for) of each `revoke_device`.
    revokes: BTreeMap<PublicKey, BTreeSet<(Timestamp, PublicKey)>>,
    /// The witnessed times and the timeline of the entries held, built on first read and
    /// dropped by every change of the state.
    derived: Derived,
}

/// What the fold derives from every entry held and keeps until an entry is applied or an
/// author frozen: the witnessed times ([`Coop::witnessed`], a pass over every entry) and
/// the governance timeline ([`Coop::timeline`], built from them). Each is built at most
/// once per state, on its first read; a shared snapshot (`Arc<Coop>`) builds them once
/// for all its readers. A clone keeps what was built (it describes the same entries).
/// Not part of the state's value: two states holding the same entries are equal whether
/// or not either has built it yet.
#[derive(Clone, Default)]
struct Derived {
    witnessed: OnceLock<BTreeMap<Id, Timestamp>>,
    timeline: OnceLock<Option<Timeline>>,
}

impl PartialEq for Derived {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Derived {}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Derived")
            .field("witnessed", &self.witnessed.get().is_some())
            .field("timeline", &self.timeline.get().is_some())
            .finish()
    }
}

/// The time an entry is taken to have been made: its own timestamp, unless someone else
/// first witnessed it more than [`WITNESS_SLACK_MS`] later, in which case its witnessed
/// time (an unwitnessed entry keeps its timestamp until a witness arrives).
pub(crate) fn on_time(v: &Verified, seen_at: &BTreeMap<Id, Timestamp>) -> Timestamp {
    let ts = v.entry().ts;
    match seen_at.get(&v.id()) {
        Some(w) if *w > ts.saturating_add(WITNESS_SLACK_MS) => *w,
        _ => ts,
    }
}

/// When an enactment takes effect in the state: as long after the time it was made
/// ([`on_time`]) as it says after its own timestamp, so members who backdate a proposal,
/// its votes and its enactment cannot make an amendment bite before the cooperative
/// could see it.
fn effective(v: &Verified, e: &crate::body::Enact, seen_at: &BTreeMap<Id, Timestamp>) -> Timestamp {
    let late = on_time(v, seen_at) - v.entry().ts;
    e.effective_at.saturating_add(late)
}

impl Coop {
    /// An empty state; the first entry applied must be the charter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cooperative's id, once the charter is applied.
    pub fn id(&self) -> Option<Id> {
        self.id
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Validates `v` and, when fresh, applies it; on a fork, freezes the author.
    /// Returns the outcome (a fork is reported, and the second entry is kept out).
    pub fn ingest(&mut self, v: Verified, now: Option<Timestamp>) -> Result<Outcome, Invalid> {
        let coop = match (self.id, &v.entry().body) {
            (Some(id), _) => id,
            (None, Body::Charter(_)) => v.id(),
            (None, _) => {
                return Ok(Outcome::Pending(validate::Missing::Dependency(
                    v.entry().coop.unwrap_or(Id([0; 32])),
                )))
            }
        };
        let out = validate::check(self, &coop, &v, now)?;
        match &out {
            Outcome::Fresh => self.apply(v),
            Outcome::Fork { .. } => {
                self.freeze(v.entry().author, v.entry().seq);
                self.apply_beside(v);
            }
            Outcome::Branch => self.apply_beside(v),
            _ => {}
        }
        Ok(out)
    }

    /// Marks `author` as having equivocated at `seq`.
    pub fn freeze(&mut self, author: PublicKey, seq: u64) {
        self.changed();
        let s = self.frozen.entry(author).or_insert(seq);
        *s = (*s).min(seq);
    }

    /// Applies an entry that [`validate::check`] found fresh: the next of its author's
    /// chain.
    pub fn apply(&mut self, v: Verified) {
        self.changed();
        let id = v.id();
        let e = v.entry();
        self.chains.insert((e.author, e.seq), id);
        self.heads.insert(
            e.author,
            Head {
                seq: e.seq,
                id,
                ts: e.ts,
                gov: e.gov,
            },
        );
        self.apply_beside(v);
    }

    /// Applies a valid entry that is not the next of its author's chain (the second entry
    /// of a fork, or an entry of a branch): it is held and counts like any other, but
    /// takes no place in the chain. The indexes keep the first entry stored for each key
    /// (what validation's ancestor checks need); what counts is decided from every entry
    /// held, so it does not depend on which came first.
    pub fn apply_beside(&mut self, v: Verified) {
        self.changed();
        let id = v.id();
        let e = v.entry();
        let a = e.author;
        if let Body::Charter(_) = e.body {
            self.id.get_or_insert(id);
        }
        match IndexKey::of(&a, &e.body) {
            Some(IndexKey::Claim { offer, member }) => {
                // The lowest (seq, id) of a forked member's claims, whichever arrived
                // first: the claim set of a draw must not depend on delivery order.
                let key = (e.seq, id);
                let held = self.claims.get(&(offer, member)).and_then(|h| {
                    let h = self.entries.get(h)?;
                    Some((h.entry().seq, h.id()))
                });
                if held.is_none_or(|h| key < h) {
                    self.claims.insert((offer, member), id);
                }
            }
            Some(IndexKey::Submit { offer, member }) => {
                self.submits.entry((offer, member)).or_insert(id);
                self.offer_subs.entry(offer).or_default().insert(id);
            }
            Some(IndexKey::Assign { offer }) => {
                self.assigns.entry(offer).or_default().insert(id);
            }
            Some(IndexKey::Verdict { submission }) => {
                self.verdicts.entry(submission).or_default().insert(id);
            }
            Some(IndexKey::Vote { proposal, member }) => {
                self.votes.entry((proposal, member)).or_insert(id);
            }
            Some(IndexKey::Withdraw { offer }) => {
                self.withdrawals.entry(offer).or_insert(id);
            }
            Some(IndexKey::Receipt { settle }) => {
                self.receipts.entry(settle).or_default().insert(id);
            }
            None => {}
        }
        match &e.body {
            Body::Evidence(ev) => {
                if let Some(f) = ev.freezes() {
                    self.freeze(f.author, f.seq);
                }
            }
            Body::Enroll(_) => {
                let by = validate::speaks_for(self, &v);
                if by != a {
                    self.enrolls.entry(a).or_default().insert(by);
                }
            }
            Body::RevokeDevice(r) => {
                let by = validate::speaks_for(self, &v);
                self.revokes.entry(r.key).or_default().insert((e.ts, by));
            }
            _ => {}
        }
        self.by_kind.entry(e.body.kind()).or_default().insert(id);
        self.entries.insert(id, v);
    }

    /// Drops what was derived from the entries held: every method that changes the state
    /// calls it first, so no read sees witnessed times or a timeline of an earlier state.
    fn changed(&mut self) {
        self.derived = Derived::default();
    }

    /// Whether an entry counts in the state. An author who signed two entries at one seq
    /// is frozen from that seq on, on every branch: from there its entries give it
    /// nothing (no claim, vote, proposal, enactment, review, rejection or receipt
    /// counts), but what it owes others still counts (offers, assignments, acceptances,
    /// withdrawals, payments) and so does the work it did (submissions): a fork must
    /// never erase a debt or a wage (docs/protocol.md section 9).
    fn counts(&self, v: &Verified) -> bool {
        let e = v.entry();
        let frozen = self.frozen.get(&e.author).is_some_and(|s| e.seq >= *s);
        (!frozen || e.body.kind().is_obligation()) && self.device_counts(v)
    }

    /// The part of [`Coop::counts`] that concerns devices: a device enrolled for two
    /// members counts for nobody, and nothing a device dates from its member's
    /// revocation on counts (the witness rule for earlier-dated entries and revocations
    /// by vote are the timeline's: [`Timeline`]).
    fn device_counts(&self, v: &Verified) -> bool {
        let e = v.entry();
        let Some(by) = self.enrolls.get(&e.author) else {
            return true;
        };
        by.len() == 1 && self.revoked_at(&e.author).is_none_or(|c| e.ts < c)
    }

    /// The key a device speaks for, when it enrolled for exactly one.
    fn enrolled(&self, key: &PublicKey) -> Option<PublicKey> {
        match self.enrolls.get(key) {
            Some(by) if by.len() == 1 => by.first().copied(),
            _ => None,
        }
    }

    /// The key an entry speaks for: its author, or the member of its device key.
    pub fn who(&self, v: &Verified) -> PublicKey {
        self.speaker(&v.entry().author)
    }

    /// The key `key` speaks for: itself, or the member of a device key.
    pub fn speaker(&self, key: &PublicKey) -> PublicKey {
        self.enrolled(key).unwrap_or(*key)
    }

    /// The earliest revocation of a device by its own member (or one of its devices).
    fn revoked_at(&self, key: &PublicKey) -> Option<Timestamp> {
        self.revoked_by(key, &self.enrolled(key)?)
    }

    /// The earliest `revoke_device` naming `device` written by a key that speaks for
    /// `member`, whether or not the device has enrolled: a device revoked before its
    /// enrollment counts for nothing once it enrolls.
    pub fn revoked_by(&self, device: &PublicKey, member: &PublicKey) -> Option<Timestamp> {
        self.revokes
            .get(device)?
            .iter()
            .filter(|(_, r)| r == member)
            .map(|(t, _)| *t)
            .min()
    }

    /// Every device enrolled for exactly one key: (device key, the key it speaks for).
    pub fn enrolled_devices(&self) -> Vec<(PublicKey, PublicKey)> {
        self.enrolls
            .keys()
            .filter_map(|k| Some((*k, self.enrolled(k)?)))
            .collect()
    }

    /// The devices of `member` held (device key, and when its member revoked it).
    pub fn devices(&self, member: &PublicKey) -> Vec<(PublicKey, Option<Timestamp>)> {
        self.enrolls
            .keys()
            .filter(|k| self.enrolled(k) == Some(*member))
            .map(|k| (*k, self.revoked_at(k)))
            .collect()
    }

    /// Witnessed time of every held entry someone has witnessed (docs/protocol.md,
    /// "Witnessed time"): the earliest timestamp of a counted entry by another author
    /// that names it, directly or through entries of its own author (its chain, what its
    /// body names, the governance it names; an acceptance or rejection does not witness
    /// the submission it judges), and never earlier than its own timestamp.
    /// An author's own clock therefore cannot move it: only someone else's signed
    /// statement that they held the entry. Entries nobody else has named yet are absent.
    /// Built once per state of the fold (see [`Coop::timeline`]).
    pub fn witnessed(&self) -> &BTreeMap<Id, Timestamp> {
        self.derived.witnessed.get_or_init(|| self.witness_times())
    }

    /// [`Coop::witnessed`], computed: a pass over every entry.
    fn witness_times(&self) -> BTreeMap<Id, Timestamp> {
        // Who names each entry: only counted entries witness (a frozen author's tick
        // after its fork says nothing), and claims, which enter draws whatever their
        // author did since (a fork found later must not move the offer they name).
        let mut namers: BTreeMap<Id, Vec<&Verified>> = BTreeMap::new();
        let witnesses = |v: &&Verified| self.counts(v) || v.entry().body.kind() == Kind::Claim;
        for v in self.entries.values().filter(witnesses) {
            let e = v.entry();
            // A verdict does not witness the work it judges: a requester's late rejection
            // would otherwise start the review window it claims to fall in.
            let judged = match &e.body {
                Body::Accept(a) => Some(a.submission),
                Body::Reject(r) => Some(r.submission),
                _ => None,
            };
            let named = e.prev.into_iter().chain(e.gov).chain(e.body.dependencies());
            for n in named.filter(|n| Some(*n) != judged) {
                namers.entry(n).or_default().push(v);
            }
        }
        // W(e) = min over namers c of (c.ts if c's author is another, else W(c)): only
        // same-author namers need their own W first, so walk those depth first, without
        // recursion (chains are long).
        let mut w: BTreeMap<Id, Option<Timestamp>> = BTreeMap::new();
        for start in self.entries.keys() {
            let mut stack = vec![(*start, false)];
            while let Some((id, expanded)) = stack.pop() {
                if w.contains_key(&id) {
                    continue;
                }
                let Some(v) = self.entries.get(&id) else {
                    continue;
                };
                let author = v.entry().author;
                let speaker = self.who(v);
                let own = namers.get(&id).into_iter().flatten();
                if !expanded {
                    stack.push((id, true));
                    for c in own.filter(|c| c.entry().author == author) {
                        if !w.contains_key(&c.id()) {
                            stack.push((c.id(), false));
                        }
                    }
                    continue;
                }
                // A member's devices do not witness each other's entries (nor pass their
                // own witnesses on): only another member or requester witnesses.
                let first = own
                    .filter_map(|c| {
                        if c.entry().author == author {
                            w.get(&c.id()).copied().flatten()
                        } else if self.who(c) != speaker {
                            Some(c.entry().ts)
                        } else {
                            None
                        }
                    })
                    .min()
                    .map(|t| t.max(v.entry().ts));
                w.insert(id, first);
            }
        }
        w.into_iter().filter_map(|(id, t)| Some((id, t?))).collect()
    }

    /// What a node whose author is `me` should name in its next tick: the counted
    /// offers, claims, assignments, submissions, rejections and enactments of other
    /// authors that nobody but their author has witnessed yet (their windows and effective times run from witnessed
    /// time), oldest first, at most [`crate::body::MAX_TICK_HEADS`]. Empty when there is
    /// nothing to witness: ticks are written only when they say something.
    pub fn to_witness(&self, me: &PublicKey) -> Vec<Id> {
        let seen = self.witnessed();
        let mut due: Vec<&Verified> = [
            Kind::Offer,
            Kind::Claim,
            Kind::Assign,
            Kind::Submit,
            Kind::Reject,
            Kind::Enact,
            // A juror's vote counts if made within its seat (8.8).
            Kind::Verdict,
            Kind::Reply,
        ]
        .into_iter()
        .flat_map(|k| self.ids(k))
        .filter(|id| !seen.contains_key(id))
        .filter_map(|id| self.entries.get(id))
        .filter(|v| self.who(v) != self.speaker(me) && self.counts(v))
        .collect();
        // Appeals: until a member who is not a party has witnessed them (their jury's
        // seed, 8.8), whoever else did.
        due.extend(crate::appeal::to_witness(self, me));
        due.sort_by_key(|v| (v.entry().ts, v.id()));
        due.dedup_by_key(|v| v.id());
        due.into_iter()
            .take(crate::body::MAX_TICK_HEADS)
            .map(Verified::id)
            .collect()
    }

    /// Whether an entry counts in the state: [`Coop::counts`], and, for entries that give
    /// their author a say (claims, votes, proposals, enactments, reviews, rejections), its
    /// author held a role at its timestamp by the full governance history. Obligations and
    /// wages need no role then: validation already checked the role under the
    /// governance the entry named, and a later amendment never voids accepted work.
    fn live(&self, v: &Verified, tl: &Timeline) -> bool {
        let who = self.who(v);
        if !self.counts(v) || !tl.alive(v, &who) {
            return false;
        }
        let kind = v.entry().body.kind();
        kind.is_obligation() || kind == Kind::Receipt || {
            let r = tl.at(v.entry().ts);
            r.may_request(&who)
        }
    }

    fn live_id(&self, id: &Id, tl: &Timeline) -> Option<&Verified> {
        self.entries.get(id).filter(|v| self.live(v, tl))
    }

    /// Ids of the entries of one kind.
    pub fn ids(&self, kind: Kind) -> impl Iterator<Item = &Id> {
        self.by_kind.get(&kind).into_iter().flatten()
    }

    /// An entry held, whatever it is.
    pub fn get(&self, id: &Id) -> Option<&Verified> {
        self.entries.get(id)
    }

    /// Every proposal that counts, oldest first, with its yes votes from members in force
    /// now and whether it has been enacted.
    pub fn proposals(&self, now: Timestamp) -> Vec<ProposalView> {
        let Some(tl) = self.timeline() else {
            return vec![];
        };
        let rules = tl.at(now);
        let enacted: BTreeSet<Id> = self
            .ids(Kind::Enact)
            .filter_map(|id| self.live_id(id, tl))
            .filter_map(|v| match &v.entry().body {
                Body::Enact(e) => Some(e.proposal),
                _ => None,
            })
            .collect();
        let mut out: Vec<ProposalView> = self
            .ids(Kind::Proposal)
            .filter_map(|id| self.live_id(id, tl))
            .filter_map(|v| {
                let Body::Proposal(p) = &v.entry().body else {
                    return None;
                };
                let mut yes = Vec::new();
                let mut no = Vec::new();
                for (voter, vote) in self.ballots(&v.id(), |x| self.live(x, tl)) {
                    let Body::Vote(x) = &vote.entry().body else {
                        continue;
                    };
                    if !rules.is_member(&voter) {
                        continue;
                    }
                    if x.yes {
                        yes.push((voter, vote.id()));
                    } else {
                        no.push(voter);
                    }
                }
                let passes = rules.passes(&p.action, yes.len(), no.len());
                Some(ProposalView {
                    id: v.id(),
                    author: v.entry().author,
                    at: v.entry().ts,
                    proposal: p.clone(),
                    yes,
                    no,
                    needed: rules.quorum_needed(),
                    enacted: enacted.contains(&v.id()),
                    expires_at: v.entry().ts.saturating_add(rules.limits.proposal_life_ms),
                    passes,
                })
            })
            .collect();
        out.sort_by_key(|p| (p.at, p.id));
        out
    }

    /// Every `Assign` entry held for `offer`, fair or not.
    pub fn assignments_on(&self, offer: &Id) -> Vec<&Verified> {
        self.assigns
            .get(offer)
            .into_iter()
            .flatten()
            .filter_map(|a| self.entries.get(a))
            .collect()
    }

    /// The `Assign` entry of `offer` that counts at `now`, if any: the lowest (seq, id) of
    /// the fair ones (see [`Coop::offer`]); work is submitted under it. It takes `now`
    /// because which claims count does ([`Coop::claims_on`]).
    pub fn assignment(&self, offer: &Id, now: Timestamp) -> Option<Id> {
        let (tl, seen) = self.context()?;
        let (v, o) = self.offer_of(offer)?;
        let (_, _, d) = self.draw(v, o, now, tl, seen);
        d.assign.map(Verified::id)
    }

    /// The member's answer to the settlement `settle`, if one counts: received or not.
    pub fn answered(&self, settle: &Id) -> Option<bool> {
        self.answer(settle, self.timeline()?)
    }

    /// The `Receipt` answering the settlement `settle`, if one counts.
    pub fn receipt(&self, settle: &Id) -> Option<Id> {
        let tl = self.timeline()?;
        self.live_receipt(settle, tl).map(Verified::id)
    }

    /// The answer to `settle` that counts: of the live ones, the lowest (timestamp, id),
    /// so that two devices of a member answering differently give one answer on every
    /// node, whichever arrived first.
    fn live_receipt(&self, settle: &Id, tl: &Timeline) -> Option<&Verified> {
        self.receipts
            .get(settle)
            .into_iter()
            .flatten()
            .filter_map(|r| self.live_id(r, tl))
            .min_by_key(|v| (v.entry().ts, v.id()))
    }

    /// Frozen authors and the seq of their first fork.
    pub fn frozen_authors(&self) -> &BTreeMap<PublicKey, u64> {
        &self.frozen
    }

    /// All chain heads.
    pub fn heads(&self) -> &BTreeMap<PublicKey, Head> {
        &self.heads
    }

    /// The cooperative's governance history by everything held: see [`Timeline`]. None
    /// before the charter is held.
    ///
    /// Built at most once per state of the fold, with the witnessed times it reads
    /// ([`Coop::witnessed`]), on the first call, and kept until an entry is applied or an
    /// author frozen: every read of a state, and every reader of a shared snapshot, uses
    /// the same one.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.derived
            .timeline
            .get_or_init(|| self.timeline_seen(self.witnessed()))
            .as_ref()
    }

    /// The timeline and the witnessed times it was built from, for the views that need
    /// both.
    pub(crate) fn context(&self) -> Option<(&Timeline, &BTreeMap<Id, Timestamp>)> {
        Some((self.timeline()?, self.witnessed()))
    }

    /// Yes and no votes on `proposal` that count, by members of `rules`.
    fn tally(&self, proposal: &Id, rules: &Rules) -> (usize, usize) {
        let (mut yes, mut no) = (0, 0);
        for (voter, v) in self.ballots(proposal, |v| self.counts(v)) {
            if !rules.is_member(&voter) {
                continue;
            }
            match &v.entry().body {
                Body::Vote(x) if x.yes => yes += 1,
                Body::Vote(_) => no += 1,
                _ => {}
            }
        }
        (yes, no)
    }

    /// One vote per member on `proposal`, whichever of its devices cast it: of the
    /// votes `keep` keeps, the lowest (timestamp, id) of each member, in member order.
    fn ballots(
        &self,
        proposal: &Id,
        keep: impl Fn(&Verified) -> bool,
    ) -> BTreeMap<PublicKey, &Verified> {
        let mut one: BTreeMap<PublicKey, &Verified> = BTreeMap::new();
        for (_, vote) in self
            .votes
            .range((*proposal, PublicKey([0; 32]))..=(*proposal, PublicKey([255; 32])))
        {
            let Some(v) = self.entries.get(vote).filter(|v| keep(v)) else {
                continue;
            };
            let slot = one.entry(self.who(v)).or_insert(v);
            if (v.entry().ts, v.id()) < (slot.entry().ts, slot.id()) {
                *slot = v;
            }
        }
        one
    }

    /// The rules in force at `at` by everything held (see [`Timeline`]).
    pub fn rules_at(&self, at: Timestamp) -> Option<Rules> {
        self.timeline().map(|t| t.at(at).clone())
    }
}

impl Coop {
    /// A held entry that counts by the full governance history (for [`crate::appeal`]).
    pub(crate) fn live_entry(&self, id: &Id, tl: &Timeline) -> Option<&Verified> {
        self.live_id(id, tl)
    }

    /// The live acceptances and rejections of `submission`.
    pub(crate) fn verdicts_of(&self, submission: &Id, tl: &Timeline) -> Vec<&Verified> {
        self.verdicts
            .get(submission)
            .into_iter()
            .flatten()
            .filter_map(|x| self.live_id(x, tl))
            .collect()
    }

    /// Every key that signed a valid claim on `offer`.
    pub(crate) fn claimants_of(&self, offer: &Id) -> Vec<PublicKey> {
        self.claims
            .range((*offer, PublicKey([0; 32]))..=(*offer, PublicKey([255; 32])))
            .map(|((_, k), _)| *k)
            .collect()
    }

    /// The entry of `ids` with the lowest (seq, id): for an author's entries of one kind,
    /// one on its trunk whenever there is one, which is what validation's ancestor checks
    /// need of "the first stored".
    fn lowest(&self, ids: Option<&BTreeSet<Id>>) -> Option<Id> {
        ids.into_iter()
            .flatten()
            .filter_map(|id| self.entries.get(id))
            .min_by_key(|v| (v.entry().seq, v.id()))
            .map(Verified::id)
    }
}

impl Context for Coop {
    fn entry(&self, id: &Id) -> Option<Verified> {
        self.entries.get(id).cloned()
    }
    fn head(&self, author: &PublicKey) -> Option<Head> {
        self.heads.get(author).copied()
    }
    fn at(&self, author: &PublicKey, seq: u64) -> Option<Id> {
        self.chains.get(&(*author, seq)).copied()
    }
    fn frozen(&self, author: &PublicKey) -> Option<u64> {
        self.frozen.get(author).copied()
    }
    fn claimed(&self, offer: &Id, member: &PublicKey) -> Option<Id> {
        self.claims.get(&(*offer, *member)).copied()
    }
    fn submitted(&self, offer: &Id, member: &PublicKey) -> Option<Id> {
        self.submits.get(&(*offer, *member)).copied()
    }
    fn assigned(&self, offer: &Id) -> Option<Id> {
        self.lowest(self.assigns.get(offer))
    }
    fn reviewed(&self, submission: &Id) -> Option<Id> {
        self.lowest(self.verdicts.get(submission))
    }
    fn voted(&self, proposal: &Id, member: &PublicKey) -> Option<Id> {
        self.votes.get(&(*proposal, *member)).copied()
    }
    fn answered(&self, settle: &Id) -> Option<Id> {
        self.lowest(self.receipts.get(settle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn topup_pays_extra_time_at_the_floor_up_to_the_cap() {
        // 3.00 for 15 min at a 12.00/h floor; 20 min reported: 4.00 due, 1.00 top-up.
        assert_eq!(topup(300, 15, 20, 20, 1200, 200), 100);
        // Reported under the estimate: no top-up (the pay stands).
        assert_eq!(topup(300, 15, 10, 10, 1200, 200), 0);
        // 90 min reported, cap 200 %, the others reported 15: 30 min credited, 6.00 due.
        assert_eq!(topup(300, 15, 90, 15, 1200, 200), 300);
        // Generous pay covers the extra time already.
        assert_eq!(topup(1000, 15, 30, 30, 1200, 200), 0);
    }

    #[test]
    fn the_median_of_reported_minutes_beats_a_low_estimate() {
        // Estimated at 1 minute, 0.40 paid; everyone reports an hour: the floor is owed
        // for the hour, 12.00 in all.
        assert_eq!(topup(40, 1, 60, 60, 1200, 200), 1160);
    }

    #[test]
    fn a_floor_pay_over_u64_max_still_gives_the_right_difference() {
        // floor * minutes / 60 is over u64::MAX; pay is close to it: the difference fits.
        let floor = u64::MAX;
        let pay = u64::MAX - 10;
        let due = (u128::from(floor) * 120).div_ceil(60);
        let want = u64::try_from(due - u128::from(pay)).unwrap_or(u64::MAX);
        assert_eq!(topup(pay, 60, 120, 120, floor, 200), want);
        assert_eq!(topup(u64::MAX, 1, 1, 1, 60, 100), 0);
    }

    proptest! {
        #[test]
        fn topup_never_overflows(pay: u64, est: u32, rep: u32, med: u32, floor: u64, cap: u32) {
            let _ = topup(pay, est, rep, med, floor, cap);
        }
    }
}
