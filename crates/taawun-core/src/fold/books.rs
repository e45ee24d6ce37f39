//! Money in the fold: balances, what is owed and paid, requesters' records, the top-up of
//! work that took longer than estimated.

use super::*;

/// The top-up rule. A member who reports more minutes than estimated is owed pay at the
/// floor for the extra time. Credited minutes: `min(reported, max(estimate * max(cap_pct,
/// 100) / 100, median))`, where `median` is the lower median of the minutes reported by
/// every submission on the offer (Prolific's rule: the time the work really takes, which no
/// estimate can push down and no single inflated report can push up). The top-up is
/// `max(0, ceil(floor * credited / 60) - pay)`, computed in `u128` and only then brought
/// back to `u64` (saturating), so a floor pay over `u64::MAX` still gives the right
/// difference whenever that difference fits.
pub fn topup(
    pay: u64,
    estimate: u32,
    reported: u32,
    median: u32,
    floor_per_hour: u64,
    cap_pct: u32,
) -> u64 {
    let cap = u64::from(estimate) * u64::from(cap_pct.max(100)) / 100;
    let credited = u64::from(reported).min(cap.max(u64::from(median)));
    let due = (u128::from(floor_per_hour) * u128::from(credited)).div_ceil(60);
    u64::try_from(due.saturating_sub(u128::from(pay))).unwrap_or(u64::MAX)
}

/// The lower median of the minutes reported by the work filling an offer's places (the
/// top-up's `median`, see [`topup`]).
pub(super) fn median_minutes(work: &BTreeMap<PublicKey, &Verified>) -> Option<u32> {
    let minutes = work
        .values()
        .filter_map(|v| match &v.entry().body {
            Body::Submit(s) => Some(u64::from(s.minutes)),
            _ => None,
        })
        .collect();
    Some(u32::try_from(median(minutes)?).unwrap_or(u32::MAX))
}

pub(super) fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[(v.len() - 1) / 2])
}

impl Coop {
    /// Balances per (requester, member, currency) at `now`.
    pub fn balances(&self, now: Timestamp) -> BTreeMap<BalanceKey, Balance> {
        let mut b: BTreeMap<BalanceKey, Balance> = BTreeMap::new();
        for s in self.submissions(now) {
            if s.review.accepted_at().is_some() {
                let e = b
                    .entry((s.requester, s.member, s.pay.currency.clone()))
                    .or_default();
                e.earned = e.earned.saturating_add(s.pay.minor);
                e.topup = e.topup.saturating_add(s.topup);
            }
        }
        let Some(tl) = self.timeline() else {
            return b;
        };
        for id in self.ids(Kind::Settle) {
            let Some(v) = self.paid(id, tl) else {
                continue;
            };
            let Body::Settle(s) = &v.entry().body else {
                continue;
            };
            let e = b
                .entry((
                    tl.identity(&self.who(v)),
                    tl.identity(&s.member),
                    s.amount.currency.clone(),
                ))
                .or_default();
            e.paid = e.paid.saturating_add(s.amount.minor);
            match self.answer(id, tl) {
                Some(true) => e.confirmed = e.confirmed.saturating_add(s.amount.minor),
                Some(false) => e.denied = e.denied.saturating_add(s.amount.minor),
                None => {}
            }
        }
        b
    }

    /// A settlement that counts (every valid one does: a payment record binds nobody but
    /// its author, and lowers what is owed only once the member confirms it).
    pub(super) fn paid(&self, id: &Id, tl: &Timeline) -> Option<&Verified> {
        self.live_id(id, tl)
    }

    /// The member's answer to the settlement `id` that counts: received or not.
    pub(super) fn answer(&self, id: &Id, tl: &Timeline) -> Option<bool> {
        match &self.live_receipt(id, tl)?.entry().body {
            Body::Receipt(r) => Some(r.received),
            _ => None,
        }
    }

    /// A requester's record at `now`.
    pub fn record(&self, requester: &PublicKey, now: Timestamp) -> Record {
        self.records(std::slice::from_ref(requester), now)
            .remove(requester)
            .unwrap_or_default()
    }

    /// The records of several requesters at once: the passes over every offer,
    /// submission and balance that a record needs are made once for all of them (a
    /// listing shows the record of each requester it names). Each equals
    /// [`Coop::record`] of that requester.
    pub fn records(&self, requesters: &[PublicKey], now: Timestamp) -> BTreeMap<PublicKey, Record> {
        let timeline = self.timeline();
        let mut not_received: BTreeMap<PublicKey, usize> = BTreeMap::new();
        if let Some(tl) = timeline {
            for id in self.ids(Kind::Settle) {
                if let Some(v) = self.paid(id, tl) {
                    if self.answer(id, tl) == Some(false) {
                        *not_received.entry(tl.identity(&self.who(v))).or_default() += 1;
                    }
                }
            }
        }
        let all = Passes {
            offers: self.offers(now),
            submissions: self.submissions(now),
            balances: self.balances(now),
            timeline,
            not_received,
            appeals: self.appeals(now),
        };
        // A requester asked for by a key that replaced a lost one has its whole record.
        let identity = |r: &PublicKey| all.timeline.map_or(*r, |tl| tl.identity(r));
        requesters
            .iter()
            .map(|r| (*r, self.record_in(&identity(r), &all)))
            .collect()
    }

    pub(super) fn record_in(&self, requester: &PublicKey, all: &Passes<'_>) -> Record {
        let mut r = Record::default();
        for o in all.offers.iter().filter(|o| o.requester == *requester) {
            r.offers += 1;
            r.void_assignments += o.void_assignments;
        }
        let subs: Vec<&Submission> = all
            .submissions
            .iter()
            .filter(|s| s.requester == *requester)
            .collect();
        let mut review_times = Vec::new();
        let mut minutes: BTreeMap<Currency, (u128, u128)> = BTreeMap::new();
        // Dues per (member, currency) in order of acceptance, for time-to-pay.
        let mut dues: BTreeMap<(PublicKey, Currency), Vec<(Timestamp, u64)>> = BTreeMap::new();
        r.submissions = subs.len();
        for s in &subs {
            match &s.review {
                Review::Accepted(t) => {
                    r.accepted += 1;
                    review_times.push(t.saturating_sub(s.at));
                }
                Review::AcceptedByDefault(_) => r.accepted_by_default += 1,
                Review::Rejected { at, .. } => {
                    r.rejected += 1;
                    review_times.push(at.saturating_sub(s.at));
                }
                Review::Pending { .. } => r.pending += 1,
                // Counted as rejected: the requester did reject it.
                Review::Upheld { rejected, .. } => {
                    r.rejected += 1;
                    review_times.push(rejected.saturating_sub(s.at));
                }
            }
            if let Some(at) = s.review.accepted_at() {
                let cur = s.pay.currency.clone();
                let due = s.pay.minor.saturating_add(s.topup);
                let m = minutes.entry(cur.clone()).or_default();
                m.0 += u128::from(due);
                m.1 += u128::from(s.minutes);
                *r.topups.entry(cur.clone()).or_default() += s.topup;
                dues.entry((s.member, cur)).or_default().push((at, due));
            }
        }
        r.median_review_ms = median(review_times);
        for (cur, (paid, mins)) in minutes {
            if let Some(rate) = (paid * 60).checked_div(mins) {
                r.hourly_rate
                    .insert(cur, u64::try_from(rate).unwrap_or(u64::MAX));
            }
        }
        for ((req, _, cur), bal) in &all.balances {
            if req != requester {
                continue;
            }
            if bal.owed() > 0 {
                let u = r.unpaid.entry(cur.clone()).or_default();
                *u = u.saturating_add(bal.owed());
            }
            if bal.unconfirmed() > 0 {
                let u = r.unconfirmed.entry(cur.clone()).or_default();
                *u = u.saturating_add(bal.unconfirmed());
            }
        }
        r.not_received = all.not_received.get(requester).copied().unwrap_or(0);
        for a in all.appeals.iter().filter(|a| a.requester == *requester) {
            r.appeals += 1;
            match a.outcome {
                crate::appeal::Outcome::Dismissed { .. } => r.appeals_dismissed += 1,
                ref o if o.upheld_at().is_some() => r.appeals_upheld += 1,
                _ => {}
            }
        }
        r.median_pay_ms = median(self.pay_delays(requester, dues, all.timeline));
        let mut sums = [0u32; 4];
        let tl = all.timeline;
        for id in self.ids(Kind::Review) {
            let Some(Body::Review(x)) = tl
                .and_then(|tl| self.live_id(id, tl))
                .map(|v| &v.entry().body)
            else {
                continue;
            };
            if tl.is_some_and(|tl| tl.identity(&x.requester) == *requester) {
                r.reviews += 1;
                for (s, v) in
                    sums.iter_mut()
                        .zip([x.pay, x.fairness, x.promptness, x.communication])
                {
                    *s += u32::from(v);
                }
            }
        }
        if r.reviews > 0 {
            let n = u32::try_from(r.reviews).unwrap_or(u32::MAX);
            r.scores = Some(sums.map(|s| s * 100 / n));
        }
        r
    }

    /// The reviews that count on each of `requesters`' records (those its scores average),
    /// each with its reviewer's stable identity (a device's review is its member's), newest
    /// first. One timeline and one pass over the reviews for all of them (a listing names
    /// many requesters).
    pub fn reviews_of(
        &self,
        requesters: &[PublicKey],
    ) -> BTreeMap<PublicKey, Vec<(PublicKey, &Verified)>> {
        let mut out: BTreeMap<PublicKey, Vec<(PublicKey, &Verified)>> = BTreeMap::new();
        let Some(tl) = self.timeline() else {
            return out;
        };
        for v in self.ids(Kind::Review).filter_map(|id| self.live_id(id, tl)) {
            let Body::Review(x) = &v.entry().body else {
                continue;
            };
            let requester = tl.identity(&x.requester);
            if requesters.contains(&requester) {
                out.entry(requester)
                    .or_default()
                    .push((tl.identity(&self.who(v)), v));
            }
        }
        for said in out.values_mut() {
            said.sort_by_key(|(_, v)| std::cmp::Reverse((v.entry().ts, v.id())));
        }
        out
    }

    /// Time from each acceptance to the payment that covered it: settlements are matched
    /// to dues first in, first out, per member and currency.
    pub(super) fn pay_delays(
        &self,
        requester: &PublicKey,
        mut dues: BTreeMap<(PublicKey, Currency), Vec<(Timestamp, u64)>>,
        tl: Option<&Timeline>,
    ) -> Vec<u64> {
        let mut settles: BTreeMap<(PublicKey, Currency), Vec<(Timestamp, u64)>> = BTreeMap::new();
        let Some(tl) = tl else {
            return vec![];
        };
        for id in self.ids(Kind::Settle) {
            let Some(v) = self.paid(id, tl) else {
                continue;
            };
            // Time to pay is time to a payment the member confirmed.
            if tl.identity(&self.who(v)) != *requester || self.answer(id, tl) != Some(true) {
                continue;
            }
            if let Body::Settle(s) = &v.entry().body {
                settles
                    .entry((tl.identity(&s.member), s.amount.currency.clone()))
                    .or_default()
                    .push((v.entry().ts, s.amount.minor));
            }
        }
        let mut delays = Vec::new();
        for (k, d) in dues.iter_mut() {
            d.sort_unstable();
            let mut pays = settles.remove(k).unwrap_or_default();
            pays.sort_unstable();
            let mut pays = pays.into_iter();
            let mut credit: u64 = 0;
            let mut credit_at: Timestamp = 0;
            for (at, amount) in d.iter() {
                while credit < *amount {
                    let Some((t, m)) = pays.next() else { break };
                    credit = credit.saturating_add(m);
                    credit_at = t;
                }
                if credit < *amount {
                    break;
                }
                credit -= amount;
                delays.push(credit_at.saturating_sub(*at));
            }
        }
        delays
    }
}
