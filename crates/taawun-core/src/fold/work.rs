//! Work in the fold: claims and the lottery's draw, offers and their state, submissions and
//! their reviews.

use super::*;

impl Coop {
    /// The claims on `offer` that count at `now`, as (claimant, Claim entry id), in
    /// claimant order: what a requester's node puts in an `Assign` and feeds to the
    /// lottery; an assignment naming any other set does not count (8.2). A claim counts
    /// when it is valid, says it came by the close of the claim window (which runs from
    /// the time the offer was made, 5.7), and someone other than its author witnessed it
    /// by the close plus [`WITNESS_SLACK_MS`] (until then, an unwitnessed one counts
    /// provisionally): a claim written after the close under an old timestamp does not.
    pub fn claims_on(&self, offer: &Id, now: Timestamp) -> Vec<(PublicKey, Id)> {
        let Some((tl, seen)) = self.context() else {
            return vec![];
        };
        let Some((v, o)) = self.offer_of(offer) else {
            return vec![];
        };
        self.counted_claims(v, o, now, tl, seen).1
    }

    /// The close of an offer's claim window and the claims that count on it.
    pub(super) fn counted_claims(
        &self,
        offer: &Verified,
        o: &Offer,
        now: Timestamp,
        tl: &Timeline,
        seen: &BTreeMap<Id, Timestamp>,
    ) -> (Timestamp, Vec<(PublicKey, Id)>) {
        let id = offer.id();
        let close = on_time(offer, seen).saturating_add(o.claim_window_ms);
        let late = close.saturating_add(WITNESS_SLACK_MS);
        // One claim per member, whichever of its devices made it: the lowest
        // (timestamp, id) of those that count (a function of the set held).
        let mut one: BTreeMap<PublicKey, (Timestamp, Id)> = BTreeMap::new();
        for (who, ts, c) in self
            .claims
            .range((id, PublicKey([0; 32]))..=(id, PublicKey([255; 32])))
            // Every valid claim, whatever its author did since: like an obligation, a
            // draw once made must not be undone by a later fork or amendment (a thief
            // forking a member's chain, or a backdated removal, would void the
            // assignment and with it the work done under it).
            .filter_map(|(_, c)| self.entries.get(c))
            .filter(|v| {
                // A device's claim counts only while the device does; the fork rule
                // does not apply to claims (above).
                let who = self.who(v);
                self.device_counts(v)
                    && tl.alive(v, &who)
                    && v.entry().ts <= close
                    && match seen.get(&v.id()) {
                        Some(w) => *w <= late,
                        None => now <= late,
                    }
            })
            .map(|v| (self.who(v), v.entry().ts, v.id()))
        {
            let slot = one.entry(who).or_insert((ts, c));
            if (ts, c) < *slot {
                *slot = (ts, c);
            }
        }
        let claims = one.into_iter().map(|(who, (_, c))| (who, c)).collect();
        (close, claims)
    }

    /// An offer's draw at `now` (docs/protocol.md 8.2). An assignment is fair when it
    /// names exactly the claims that count and was made after the window closed; the
    /// lowest (seq, id) fair one counts (all fair ones carry the same draw: the secret is
    /// committed and the claims are fixed). The first `assignments` claimants of its
    /// ranking hold a place from the time it was made; a place whose holder's work was
    /// not made within `submit_window_ms` lapses once the witness slack has passed too,
    /// and the next claimant of the ranking holds a place from then, while the offer has
    /// not expired.
    pub(super) fn draw<'a>(
        &'a self,
        offer: &'a Verified,
        o: &Offer,
        now: Timestamp,
        tl: &Timeline,
        seen: &BTreeMap<Id, Timestamp>,
    ) -> (Timestamp, Vec<(PublicKey, Id)>, Draw<'a>) {
        let id = offer.id();
        let (close, counted) = self.counted_claims(offer, o, now, tl, seen);
        let want: BTreeSet<Id> = counted.iter().map(|(_, c)| *c).collect();
        let mut d = Draw {
            assign: None,
            fair: BTreeSet::new(),
            void: 0,
            places: vec![],
        };
        for a in self
            .assigns
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|a| self.live_id(a, tl))
        {
            let Body::Assign(x) = &a.entry().body else {
                continue;
            };
            let named: BTreeSet<Id> = x.claims.iter().copied().collect();
            if named != want || on_time(a, seen) <= close {
                d.void += 1;
                continue;
            }
            d.fair.insert(a.id());
            if d.assign
                .is_none_or(|b| (a.entry().seq, a.id()) < (b.entry().seq, b.id()))
            {
                d.assign = Some(a);
            }
        }
        let Some(Body::Assign(x)) = d.assign.map(|a| &a.entry().body) else {
            return (close, counted, d);
        };
        let who: Vec<PublicKey> = counted.iter().map(|(k, _)| *k).collect();
        let ranking = lottery::ranking(&lottery::seed(&x.secret, &id, &x.claims), &who);
        // Each claimant's work on this offer under a fair assignment: the lowest
        // (seq, id) live one (a forked member may hold two).
        let mut work: BTreeMap<PublicKey, &Verified> = BTreeMap::new();
        for s in self
            .offer_subs
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|s| self.live_id(s, tl))
        {
            if !matches!(&s.entry().body, Body::Submit(b) if d.fair.contains(&b.assign)) {
                continue;
            }
            let slot = work.entry(self.who(s)).or_insert(s);
            if (s.entry().seq, s.id()) < (slot.entry().seq, slot.id()) {
                *slot = s;
            }
        }
        let window = tl.at(offer.entry().ts).limits.submit_window_ms;
        let start = d.assign.map_or(close, |a| on_time(a, seen));
        let first = usize::try_from(o.assignments).unwrap_or(usize::MAX);
        let mut queue: std::collections::VecDeque<(PublicKey, Timestamp)> =
            ranking.iter().take(first).map(|m| (*m, start)).collect();
        let mut next = ranking.iter().skip(first);
        while let Some((member, from)) = queue.pop_front() {
            let until = from.saturating_add(window);
            let lapse = until.saturating_add(WITNESS_SLACK_MS);
            let state = match work.get(&member).filter(|s| on_time(s, seen) <= until) {
                Some(s) => PlaceState::Filled(s.id()),
                None if now > lapse => {
                    if lapse <= o.expires_at {
                        if let Some(m) = next.next() {
                            queue.push_back((*m, lapse));
                        }
                    }
                    PlaceState::Lapsed
                }
                None => PlaceState::Open,
            };
            d.places.push(Place {
                member,
                from,
                until,
                state,
            });
        }
        (close, counted, d)
    }

    pub(super) fn offer_of(&self, id: &Id) -> Option<(&Verified, &Offer)> {
        let v = self.entries.get(id)?;
        match &v.entry().body {
            Body::Offer(o) => Some((v, o)),
            _ => None,
        }
    }

    /// An offer's state at `now`.
    pub fn offer(&self, id: &Id, now: Timestamp) -> Option<OfferView> {
        let (tl, seen) = self.context()?;
        self.offer_in(id, now, tl, seen)
    }

    pub(super) fn offer_in(
        &self,
        id: &Id,
        now: Timestamp,
        tl: &Timeline,
        seen: &BTreeMap<Id, Timestamp>,
    ) -> Option<OfferView> {
        let (v, o) = self.offer_of(id)?;
        // Listed only while its requester held a role when posting it (by the full
        // governance history); work already done on it stays owed either way.
        if !self.live(v, tl) || !tl.at(v.entry().ts).may_request(&self.who(v)) {
            return None;
        }
        let (closes_at, claims, draw) = self.draw(v, o, now, tl, seen);
        let winners = draw
            .places
            .iter()
            .filter(|p| p.state != PlaceState::Lapsed)
            .map(|p| p.member)
            .collect();
        let state = if draw.assign.is_some() {
            OfferState::Assigned
        } else if self.withdrawals.contains_key(id) {
            OfferState::Withdrawn
        } else if now > o.expires_at {
            OfferState::Expired
        } else if now > closes_at {
            OfferState::AwaitingAssignment
        } else {
            OfferState::Open
        };
        Some(OfferView {
            id: *id,
            requester: tl.identity(&self.who(v)),
            at: v.entry().ts,
            offer: o.clone(),
            state,
            claimants: claims.into_iter().map(|(k, _)| k).collect(),
            winners,
            places: draw.places,
            void_assignments: draw.void,
            closes_at,
        })
    }

    /// Every offer that counts, oldest first.
    pub fn offers(&self, now: Timestamp) -> Vec<OfferView> {
        let Some((tl, seen)) = self.context() else {
            return vec![];
        };
        let mut v: Vec<OfferView> = self
            .ids(Kind::Offer)
            .filter_map(|id| self.offer_in(id, now, tl, seen))
            .collect();
        v.sort_by_key(|o| (o.at, o.id));
        v
    }

    /// Every submission and where it stands at `now`.
    pub fn submissions(&self, now: Timestamp) -> Vec<Submission> {
        let Some((tl, seen_at)) = self.context() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for offer in self.offer_subs.keys() {
            let Some((ov, o, work)) = self.filled(offer, now, tl, seen_at) else {
                continue;
            };
            let med = median_minutes(&work);
            out.extend(
                work.into_values()
                    .filter_map(|v| self.submission_in(v, ov, o, med, now, tl, seen_at)),
            );
        }
        out.sort_by_key(|s| (s.at, s.id));
        out
    }

    /// One submission and where it stands at `now`: the one [`Coop::submissions`] lists
    /// with this id, computed from its own offer's draw alone.
    pub fn submission(&self, id: &Id, now: Timestamp) -> Option<Submission> {
        let (tl, seen_at) = self.context()?;
        self.submission_at(id, now, tl, seen_at)
    }

    /// [`Coop::submission`] with the timeline and witnessed times given.
    pub(crate) fn submission_at(
        &self,
        id: &Id,
        now: Timestamp,
        tl: &Timeline,
        seen_at: &BTreeMap<Id, Timestamp>,
    ) -> Option<Submission> {
        let Body::Submit(s) = &self.entries.get(id)?.entry().body else {
            return None;
        };
        let (ov, o, work) = self.filled(&s.offer, now, tl, seen_at)?;
        let v = *work.values().find(|v| v.id() == *id)?;
        let med = median_minutes(&work);
        self.submission_in(v, ov, o, med, now, tl, seen_at)
    }

    /// The work filling the places of `offer`'s draw at `now`, by member, with the offer:
    /// only work that fills a place (8.2) is owed by the cooperative's rules, one
    /// submission per (offer, member), made in time, under a fair assignment of an offer
    /// that counts. None when the offer does not count.
    #[allow(clippy::type_complexity)]
    pub(super) fn filled<'a>(
        &'a self,
        offer: &Id,
        now: Timestamp,
        tl: &Timeline,
        seen_at: &BTreeMap<Id, Timestamp>,
    ) -> Option<(&'a Verified, &'a Offer, BTreeMap<PublicKey, &'a Verified>)> {
        let (ov, o) = self.offer_of(offer).filter(|(ov, _)| self.live(ov, tl))?;
        let (_, _, d) = self.draw(ov, o, now, tl, seen_at);
        let mut work = BTreeMap::new();
        for p in d.places {
            if let PlaceState::Filled(s) = p.state {
                if let Some(v) = self.entries.get(&s) {
                    work.insert(p.member, v);
                }
            }
        }
        Some((ov, o, work))
    }

    /// Where the submission `v`, filling a place of the offer `ov` (`o`), stands at `now`;
    /// `med`: the median of the minutes reported by the work filling its places.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn submission_in(
        &self,
        v: &Verified,
        ov: &Verified,
        o: &Offer,
        med: Option<u32>,
        now: Timestamp,
        tl: &Timeline,
        seen_at: &BTreeMap<Id, Timestamp>,
    ) -> Option<Submission> {
        let Body::Submit(s) = &v.entry().body else {
            return None;
        };
        let id = v.id();
        // The review window runs from the work's own timestamp only if someone other
        // than the member witnessed it soon after: a backdated submission cannot close
        // the window before the requester could see it.
        let start = on_time(v, seen_at);
        let deadline = start.saturating_add(o.review_window_ms);
        let verdicts: Vec<&Verified> = self
            .verdicts
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|x| self.live_id(x, tl))
            .collect();
        // A rejection counts if it says it came in time and someone other than the
        // requester witnessed it by the deadline plus the slack (until the slack has
        // passed, an unwitnessed one counts provisionally): a requester idle past the
        // window cannot reject by writing an old timestamp.
        let in_time = |x: &Verified| {
            let late = deadline.saturating_add(WITNESS_SLACK_MS);
            x.entry().ts <= deadline
                && match seen_at.get(&x.id()) {
                    Some(w) => *w <= late,
                    None => now <= late,
                }
        };
        let accepted = verdicts
            .iter()
            .filter(|x| matches!(x.entry().body, Body::Accept(_)))
            .min_by_key(|x| (x.entry().ts, x.id()));
        let rejected = verdicts
            .iter()
            .filter_map(|x| match &x.entry().body {
                Body::Reject(r) if in_time(x) => Some((*x, r)),
                _ => None,
            })
            .min_by_key(|(x, _)| (x.entry().ts, x.id()));
        let review = match (accepted, rejected) {
            (Some(x), _) => Review::Accepted(x.entry().ts),
            (None, Some((x, r))) => match crate::appeal::upheld(self, x, v, ov, now, tl, seen_at) {
                Some(at) => Review::Upheld {
                    rejected: x.entry().ts,
                    at,
                },
                None => Review::Rejected {
                    at: x.entry().ts,
                    reason: r.reason.clone(),
                },
            },
            _ if now > deadline => Review::AcceptedByDefault(deadline),
            _ => Review::Pending { deadline },
        };
        // The floor owed is the higher of the one in force when the offer was posted
        // and the one in force when the work was submitted: an offer posted under an
        // older, lower floor owes the floor in force.
        let cur = &o.pay.currency;
        let at_offer = tl.at(ov.entry().ts);
        let floor = at_offer
            .floors
            .get(cur)
            .copied()
            .unwrap_or(0)
            .max(tl.at(v.entry().ts).floors.get(cur).copied().unwrap_or(0));
        let cap = at_offer.limits.topup_cap_pct;
        let med = med.unwrap_or(s.minutes);
        Some(Submission {
            id,
            offer: s.offer,
            member: tl.identity(&self.who(v)),
            requester: tl.identity(&self.who(ov)),
            at: v.entry().ts,
            witnessed: seen_at.get(&id).copied(),
            minutes: s.minutes,
            review,
            pay: o.pay.clone(),
            topup: topup(o.pay.minor, o.minutes, s.minutes, med, floor, cap),
        })
    }
}
