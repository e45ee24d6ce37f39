//! The rules of each kind of body ([`Judge::body`]), read through the [`Context`]: who may
//! write it, what it must name, and the checks of offers, devices, verdicts and evidence.

use super::charter::check_action;
use super::*;

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

    pub(super) fn body(&self, deps: &[Verified]) -> Result<(), Invalid> {
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
