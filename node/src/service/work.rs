//! Work: offers, claims, the lottery's assignment, submissions, reviews, payments and
//! their answers, and reviews of requesters.

use super::*;

impl Node {
    pub(super) fn offer_view(
        &self,
        c: &Coop,
        o: taawun_core::fold::OfferView,
        record: RecordView,
    ) -> OfferView {
        let cur = &o.offer.pay.currency;
        let floor = c
            .rules_at(o.at)
            .and_then(|r| r.floors.get(cur).copied())
            .map(|f| Amount::new(cur, f));
        // Places, claimants and winners are the keys claims speak for: a device's are its
        // member's. A claim made from another of the member's keys is the member's too.
        let who = self.speaker(c);
        let claimed_by_me = taawun_core::validate::Context::claimed(c, &o.id, &self.me).is_some()
            || o.claimants.contains(&who);
        let mine = o.places.iter().find(|p| p.member == who);
        let my_claim_counts = claimed_by_me.then(|| o.claimants.contains(&who));
        let submit_by = mine
            .filter(|p| p.state == taawun_core::fold::PlaceState::Open)
            .map(|p| p.until);
        let names = names(c, self.now());
        let name = |k: &PublicKey| names.get(k).cloned();
        let mut record = record;
        record.requester_name = name(&o.requester);
        OfferView {
            id: o.id.to_hex(),
            requester: o.requester.to_hex(),
            requester_name: name(&o.requester),
            at: o.at,
            title: o.offer.title.clone(),
            description: o.offer.description.clone(),
            purpose: o.offer.purpose.clone(),
            pay: Amount::from(&o.offer.pay),
            minutes: o.offer.minutes,
            hourly: Amount::new(
                cur,
                hourly_rate(o.offer.pay.minor, o.offer.minutes).unwrap_or(0),
            ),
            floor,
            assignments: o.offer.assignments,
            state: offer_state(&o.state).to_owned(),
            claim_closes_at: o.closes_at,
            expires_at: o.offer.expires_at,
            review_window_ms: o.offer.review_window_ms,
            claims: o.claimants.len(),
            winners: o.winners.iter().map(PublicKey::to_hex).collect(),
            claimed_by_me,
            assigned_to_me: o.winners.contains(&who),
            record,
            places: o
                .places
                .iter()
                .map(|p| PlaceView {
                    member_name: name(&p.member),
                    ..PlaceView::new(p)
                })
                .collect(),
            void_assignments: o.void_assignments,
            my_claim_counts,
            submit_by,
        }
    }

    /// The offers `filter` keeps, newest first, one page of them, with how many match in
    /// all. Only the page's offers are turned into views (each reads its requester's
    /// record and the rules in force when it was posted).
    pub(crate) async fn offers(
        &self,
        coop: Id,
        filter: &OfferFilter,
    ) -> Res<(Vec<OfferView>, usize)> {
        let c = self.state(coop).await?;
        let now = self.now();
        let me = self.me;
        // Claimants and winners are the keys claims speak for: a device's are its
        // member's, so the member's claims from any of its keys are "mine".
        let who = self.speaker(&c);
        let filter = &OfferFilter {
            requester: filter.requester.map(|k| identities(&c)(&k)),
            ..filter.clone()
        };
        let mut matching: Vec<taawun_core::fold::OfferView> = c
            .offers(now)
            .into_iter()
            .filter(|o| {
                filter.keeps(o, || {
                    o.winners.contains(&who)
                        || o.claimants.contains(&who)
                        || taawun_core::validate::Context::claimed(c.as_ref(), &o.id, &me).is_some()
                })
            })
            .collect();
        matching.sort_by_cached_key(|o| newest_first(c.get(&o.id)));
        let total = matching.len();
        let page: Vec<taawun_core::fold::OfferView> = matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit)
            .collect();
        // A record passes over every offer, submission and balance: make those passes
        // once for every requester the page names.
        let mut requesters: Vec<PublicKey> = page.iter().map(|o| o.requester).collect();
        requesters.sort_unstable();
        requesters.dedup();
        let records = c.records(&requesters, now);
        let said = comments(&c, &requesters, &|s| self.read(s));
        let out = page
            .into_iter()
            .map(|o| {
                let mut record = RecordView::new(
                    &o.requester,
                    records.get(&o.requester).unwrap_or(&Default::default()),
                );
                record.comments = said.get(&o.requester).cloned().unwrap_or_default();
                self.offer_view(&c, o, record)
            })
            .collect();
        Ok((out, total))
    }

    /// One offer.
    pub(crate) async fn offer(&self, coop: Id, id: Id) -> Res<OfferView> {
        let c = self.state(coop).await?;
        let now = self.now();
        let o = c
            .offer(&id, now)
            .ok_or_else(|| Error::NotFound(format!("no offer {id} here")))?;
        let mut record = RecordView::new(&o.requester, &c.record(&o.requester, now));
        record.comments = comments(&c, &[o.requester], &|s| self.read(s))
            .remove(&o.requester)
            .unwrap_or_default();
        Ok(self.offer_view(&c, o, record))
    }

    /// Posts an offer; the core refuses it under the floor, in a currency without one or
    /// with a claim window out of the cooperative's bounds, and its verdict is said in the
    /// requester's terms ([`Error::rule`], `Error::under`). The lottery's secret is drawn
    /// here, kept in the data folder (mode 0600) until the `Assign` reveals it, and only
    /// its commitment goes into the offer.
    pub(crate) async fn post_offer(&self, coop: Id, req: PostOffer) -> Res<Written> {
        let c = self.state(coop).await?;
        let r = self.rules(&c)?;
        // Check the request before drawing a secret for it.
        let _ = req.offer(self.now(), Hash([0; 32]))?;
        let commit = crate::datadir::new_lottery_secret(&self.dir)
            .map_err(|e| Error::Internal(format!("keeping the lottery secret: {e:#}")))?;
        let offer = req.offer(self.now(), commit)?;
        let window = offer.claim_window_ms;
        // The core judges the floor, the currency and the claim window; its verdict is
        // said here in the requester's terms. A refused offer was never written: its
        // secret is not kept.
        self.write(coop, Body::Offer(offer)).await.map_err(|e| {
            if matches!(e, Error::Rule(..)) {
                crate::datadir::forget_lottery_secret(&self.dir, &commit);
            }
            e.under(&r, window)
        })
    }

    pub(super) fn own_offer(&self, c: &Coop, offer: Id) -> Res<taawun_core::fold::OfferView> {
        let o = c
            .offer(&offer, self.now())
            .ok_or_else(|| Error::NotFound(format!("no offer {offer} here")))?;
        if o.requester != self.identity(c) {
            return Err(Error::Known(
                Known::NotOwnOffer,
                format!(
                    "offer {} is not this node's: only its requester may do that",
                    offer.short()
                ),
            ));
        }
        Ok(o)
    }

    /// The requester withdraws an offer.
    pub(crate) async fn withdraw(&self, coop: Id, offer: Id) -> Res<Written> {
        let c = self.state(coop).await?;
        self.own_offer(&c, offer)?;
        self.write(coop, Body::Withdraw(Withdraw { offer })).await
    }

    /// A member claims an offer.
    pub(crate) async fn claim(&self, coop: Id, offer: Id) -> Res<Written> {
        let c = self.state(coop).await?;
        let o = c
            .offer(&offer, self.now())
            .ok_or_else(|| Error::NotFound(format!("no offer {offer} here")))?;
        if o.state != taawun_core::fold::OfferState::Open {
            return Err(Error::Known(
                Known::NotOpen,
                format!(
                    "offer {} takes no claims: it is {}",
                    offer.short(),
                    offer_state(&o.state)
                ),
            ));
        }
        self.write(coop, Body::Claim(Claim { offer })).await
    }

    /// The requester assigns: by hand, or by the lottery over the claims held.
    pub(crate) async fn assign(&self, coop: Id, offer: Id, req: AssignReq) -> Res<Written> {
        let c = self.state(coop).await?;
        let o = self.own_offer(&c, offer)?;
        if let Some(a) = c.assignment(&offer, self.now()) {
            return Err(Error::Conflict(format!(
                "offer {} is already assigned (by {}): its draw is fixed by the committed secret and the claims",
                offer.short(),
                a.short()
            )));
        }
        let claims = c.claims_on(&offer, self.now());
        if claims.is_empty() {
            return Err(Error::Conflict(format!(
                "offer {} has no claims yet",
                offer.short()
            )));
        }
        let secret = crate::datadir::lottery_secret(&self.dir, &o.offer.commit)
            .map_err(|e| Error::Internal(format!("reading the lottery secret: {e:#}")))?
            .ok_or_else(|| {
                Error::Conflict(format!(
                    "the lottery secret of offer {} is not in this node's data folder ({}): only the node that posted it can assign it",
                    offer.short(),
                    crate::datadir::LOTTERY_DIR
                ))
            })?;
        let drawn: Vec<(Id, PublicKey)> = claims.iter().map(|(k, id)| (*id, *k)).collect();
        let winners = match req.winners()? {
            Some(by_hand) => by_hand,
            None => taawun_core::lottery::draw(&secret, &offer, &drawn, o.offer.assignments),
        };
        self.write(
            coop,
            Body::Assign(Assign {
                offer,
                claims: claims.iter().map(|(_, id)| *id).collect(),
                winners,
                secret,
            }),
        )
        .await
    }

    /// The requester's policy: assign by lottery every offer of this node whose claim
    /// window has closed. Returns what it wrote.
    pub(crate) async fn assign_due(&self) -> Res<Vec<Written>> {
        let mut out = Vec::new();
        for coop in self.coop_ids().await? {
            if !self.writes_open(coop).await? {
                continue;
            }
            let c = self.state(coop).await?;
            if self.revoked(&c).is_some() {
                continue;
            }
            let now = self.now();
            let me = self.identity(&c);
            for o in c.offers(now) {
                // Give a claim made just before the close time to arrive: an assignment
                // that leaves out a claim that counts is void (docs/protocol.md 8.2). One
                // that arrives later still makes this node assign again over the full set.
                let settled = now > o.closes_at.saturating_add(ASSIGN_GRACE_MS);
                if o.requester == me
                    && o.state == taawun_core::fold::OfferState::AwaitingAssignment
                    && !o.claimants.is_empty()
                    && settled
                    && !self.assigned_already(&c, &o)
                {
                    match self.assign(coop, o.id, AssignReq::default()).await {
                        Ok(w) => out.push(w),
                        Err(e) => {
                            tracing::warn!(offer = %o.id.short(), error = %e, "lottery not written")
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether this node already wrote an assignment of `o` that names exactly the claims
    /// that count and came after the window: it will count once witnessed, so writing
    /// another would add nothing.
    pub(super) fn assigned_already(&self, c: &Coop, o: &taawun_core::fold::OfferView) -> bool {
        let want: BTreeSet<Id> = c
            .claims_on(&o.id, self.now())
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        c.assignments_on(&o.id).into_iter().any(|a| {
            a.entry().author == self.me
                && a.entry().ts > o.closes_at
                && matches!(&a.entry().body, Body::Assign(x)
                    if x.claims.iter().copied().collect::<BTreeSet<Id>>() == want)
        })
    }

    /// Witnessing: in each cooperative where this node's author holds a role, signs a
    /// tick naming the submissions, rejections and enactments of others that nobody has
    /// witnessed yet (docs/protocol.md, "Witnessed time"), at most once every
    /// [`TICK_INTERVAL_MS`]. Returns what it wrote.
    pub(crate) async fn witness_due(&self) -> Res<Vec<Written>> {
        let mut out = Vec::new();
        for coop in self.coop_ids().await? {
            if !self.writes_open(coop).await? {
                continue;
            }
            let c = self.state(coop).await?;
            let now = self.now();
            let rules = c.rules_at(now);
            // A device's node witnesses for its member, until it is revoked.
            if !rules.is_some_and(|r| r.may_request(&c.speaker(&self.me)))
                || self.revoked(&c).is_some()
            {
                continue;
            }
            // A recent tick of our own: wait, so a busy cooperative gets one a minute.
            let recent = c.heads().get(&self.me).is_some_and(|h| {
                h.ts.saturating_add(TICK_INTERVAL_MS) > now
                    && c.get(&h.id)
                        .is_some_and(|v| matches!(v.entry().body, Body::Tick(_)))
            });
            let heads = c.to_witness(&self.me);
            if recent || heads.is_empty() {
                continue;
            }
            match self.write(coop, Body::Tick(Tick { heads })).await {
                Ok(w) => out.push(w),
                Err(e) => tracing::warn!(coop = %coop.short(), error = %e, "tick not written"),
            }
        }
        Ok(out)
    }

    /// A member submits a result: keeps the bytes, signs their hash and size, and sends
    /// them to the requester's node.
    pub(crate) async fn submit(
        &self,
        coop: Id,
        offer: Id,
        minutes: u32,
        bytes: Vec<u8>,
    ) -> Res<Written> {
        let c = self.state(coop).await?;
        let o = c
            .offer(&offer, self.now())
            .ok_or_else(|| Error::NotFound(format!("no offer {offer} here")))?;
        if !o.winners.contains(&self.speaker(&c)) {
            return Err(Error::Known(
                Known::NotAssignedHere,
                format!(
                    "offer {} is not assigned to this node's member",
                    offer.short()
                ),
            ));
        }
        let assign = c.assignment(&offer, self.now()).ok_or_else(|| {
            Error::Known(
                Known::AssignmentNotHeld,
                "the assignment is not held here yet".into(),
            )
        })?;
        self.may_write(coop, false).await?;
        self.ready(coop).await?;
        // The bytes are kept before the entry is signed (`Network::submit`).
        let submit = Submit {
            offer,
            assign,
            result: Hash::of(&bytes),
            size: bytes.len() as u64,
            minutes,
        };
        let v = self
            .net
            .submit(coop, self.key.clone(), submit, bytes)
            .await?;
        Ok(written(&v))
    }

    /// Every submission.
    pub(crate) async fn submissions(
        &self,
        coop: Id,
        filter: &SubmissionFilter,
    ) -> Res<(Vec<SubmissionView>, usize)> {
        let c = self.state(coop).await?;
        let now = self.now();
        // Submissions name stable identities: a device key filters as its member.
        let identity = identities(&c);
        let filter = SubmissionFilter {
            member: filter.member.map(|k| identity(&k)),
            requester: filter.requester.map(|k| identity(&k)),
            involving: filter.involving.map(|k| identity(&k)),
            ..filter.clone()
        };
        let matching: Vec<taawun_core::fold::Submission> = c
            .submissions(now)
            .into_iter()
            .filter(|s| filter.keeps(s))
            .collect();
        let total = matching.len();
        let names = names(&c, now);
        let name = |k: &PublicKey| names.get(k).cloned();
        let out = matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit.unwrap_or(usize::MAX))
            .map(|s| {
                let (review, review_at, sealed) = review_state(&s.review);
                let (reason, reason_flag) = sealed.map(|r| self.read(r)).unwrap_or_default();
                let title = match c.get(&s.offer).map(|v| &v.entry().body) {
                    Some(Body::Offer(o)) => o.title.clone(),
                    _ => String::new(),
                };
                SubmissionView {
                    id: s.id.to_hex(),
                    offer: s.offer.to_hex(),
                    title,
                    member: s.member.to_hex(),
                    member_name: name(&s.member),
                    requester: s.requester.to_hex(),
                    requester_name: name(&s.requester),
                    at: s.at,
                    witnessed_at: s.witnessed,
                    minutes: s.minutes,
                    review: review.to_owned(),
                    review_at,
                    reason,
                    reason_flag,
                    pay: Amount::from(&s.pay),
                    topup: Amount::new(&s.pay.currency, s.topup),
                    result_here: self.net.has_result(coop, s.id),
                }
            })
            .collect();
        Ok((out, total))
    }

    /// The result file of a submission, once on this node.
    pub(crate) async fn result(&self, coop: Id, submission: Id) -> Res<Vec<u8>> {
        self.net.result(coop, submission).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "the result of submission {} has not reached this node (yet)",
                submission.short()
            ))
        })
    }

    pub(super) fn own_submission(&self, c: &Coop, id: Id) -> Res<taawun_core::fold::Submission> {
        let s = c
            .submission(&id, self.now())
            .ok_or_else(|| Error::NotFound(format!("no submission {id} here")))?;
        if s.requester != self.identity(c) {
            return Err(Error::Known(
                Known::NotOwnSubmission,
                format!("submission {} is for another requester", id.short()),
            ));
        }
        Ok(s)
    }

    /// The requester accepts.
    pub(crate) async fn accept(&self, coop: Id, submission: Id) -> Res<Written> {
        let c = self.state(coop).await?;
        self.own_submission(&c, submission)?;
        self.write(coop, Body::Accept(Accept { submission })).await
    }

    /// The requester rejects, with a reason sealed to the member whose work it was and
    /// the requester (docs/protocol.md 3.7); the member's node discloses it to the jury
    /// of an appeal, with the result (13.7).
    pub(crate) async fn reject(&self, coop: Id, submission: Id, reason: String) -> Res<Written> {
        let req = RejectReq { reason };
        req.reason()?;
        let c = self.state(coop).await?;
        let s = self.own_submission(&c, submission)?;
        // The key the work was submitted with speaks for the member validation names; its
        // stable identity (a key replaced by vote since) reads it too.
        let worker = c.get(&submission).map_or(s.member, |v| c.who(v));
        let to = self.recipients(&c, &[worker, s.member, self.speaker(&c)]);
        let reject = req.reject(submission, &to, fresh_seed()?)?;
        self.write(coop, Body::Reject(reject)).await
    }

    /// The requester records a payment made outside the system, its reference sealed to
    /// the member paid and the requester (docs/protocol.md 3.7).
    pub(crate) async fn pay(&self, coop: Id, req: PayReq) -> Res<Written> {
        let p = req.payment()?;
        let c = self.state(coop).await?;
        let to = self.recipients(&c, &[p.member, self.speaker(&c)]);
        let settle = p.seal(&to, fresh_seed()?)?;
        self.write(coop, Body::Settle(settle)).await
    }

    /// The keys a field about `parties` written now is sealed to: see [`sealed_to`].
    pub(super) fn recipients(&self, c: &Coop, parties: &[PublicKey]) -> Vec<PublicKey> {
        sealed_to(c, self.me, parties, self.now())
    }

    /// What this node reads of a sealed field: the text, and what is wrong with it when
    /// it breaks the text rule; `None` when it is sealed to others.
    pub(crate) fn read(&self, s: &seal::Sealed) -> (Option<String>, Option<String>) {
        match s.read(&[&self.key]) {
            seal::Reading::Text(t) => (Some(t), None),
            seal::Reading::Flagged { text, why } => (Some(text), Some(why)),
            seal::Reading::Sealed => (None, None),
            seal::Reading::Broken(e) => (None, Some(e.to_string())),
        }
    }

    /// Every recorded payment.
    pub(crate) async fn payments(
        &self,
        coop: Id,
        filter: &PaymentFilter,
    ) -> Res<(Vec<PaymentView>, usize)> {
        let c = self.state(coop).await?;
        // Compared as stable identities: a payment recorded from a requester's device,
        // or to a member's device key, is theirs.
        let identity = identities(&c);
        let filter = PaymentFilter {
            member: filter.member.map(|k| identity(&k)),
            requester: filter.requester.map(|k| identity(&k)),
            ..filter.clone()
        };
        let mut matching: Vec<(&Verified, &Settle)> = c
            .ids(Kind::Settle)
            .filter_map(|id| c.get(id))
            .filter_map(|v| match &v.entry().body {
                Body::Settle(s) => Some((v, s)),
                _ => None,
            })
            .filter(|(v, s)| {
                filter.keeps(&v.id(), &identity(&v.entry().author), &identity(&s.member))
            })
            .collect();
        matching.sort_by_key(|(v, _)| newest_first(Some(v)));
        let total = matching.len();
        let names = names(&c, self.now());
        let name = |k: &PublicKey| names.get(k).cloned();
        let out = matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit.unwrap_or(usize::MAX))
            .map(|(v, s)| {
                let (reference, reference_flag) = self.read(&s.reference);
                PaymentView {
                    id: v.id().to_hex(),
                    requester: v.entry().author.to_hex(),
                    requester_name: name(&v.entry().author),
                    member: s.member.to_hex(),
                    member_name: name(&s.member),
                    amount: Amount::from(&s.amount),
                    reference,
                    reference_flag,
                    at: v.entry().ts,
                    confirmed: c.answered(&v.id()) == Some(true),
                    not_received: c.answered(&v.id()) == Some(false),
                }
            })
            .collect();
        Ok((out, total))
    }

    /// The member answers a payment: received (`true`) or not received (`false`, which
    /// shows on the requester's record; what is owed stays owed).
    pub(crate) async fn confirm(&self, coop: Id, settle: Id, received: bool) -> Res<Written> {
        let c = self.state(coop).await?;
        match c.get(&settle).map(|v| &v.entry().body) {
            Some(Body::Settle(s))
                if s.member == self.me || self.identity_of(&c, &s.member) == self.identity(&c) => {}
            Some(Body::Settle(_)) => {
                return Err(Error::Known(
                    Known::NotOwnPayment,
                    format!("payment {} is to another member", settle.short()),
                ))
            }
            _ => return Err(Error::NotFound(format!("no payment {settle} here"))),
        }
        if let Some(was) = c.answered(&settle) {
            return Err(Error::Known(
                Known::PaymentAnswered,
                format!(
                    "payment {} is already answered: {}",
                    settle.short(),
                    if was { "received" } else { "not received" }
                ),
            ));
        }
        self.write(coop, Body::Receipt(Receipt { settle, received }))
            .await
    }

    /// A member reviews a requester, the review's text sealed to the member and the
    /// requester (docs/protocol.md 3.7).
    pub(crate) async fn review(&self, coop: Id, req: ReviewReq) -> Res<Written> {
        let c = self.state(coop).await?;
        let requester = taawun_api::request::parse_key("requester", &req.requester)?;
        let to = self.recipients(&c, &[requester, self.speaker(&c)]);
        let review = req.review(&to, fresh_seed()?)?;
        self.write(coop, Body::Review(review)).await
    }
}
