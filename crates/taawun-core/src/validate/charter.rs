//! The rules of a charter and of an amendment's action: names, texts, limits, floors.

use super::*;

pub(super) fn check_charter(v: &Verified, c: &Charter) -> Result<(), Invalid> {
    let e = v.entry();
    let bad = |s: &str| Err(Invalid::BadCharter(s.to_owned()));
    if e.coop.is_some() || e.seq != 1 || e.prev.is_some() || e.gov.is_some() {
        return bad("a charter has coop, prev and gov null and seq 1");
    }
    if c.name.trim().is_empty() {
        return bad("the cooperative needs a name");
    }
    if !c.members.contains(&e.author) {
        return bad("the author must be a founding member");
    }
    if c.quorum_pct == 0 || c.quorum_pct > 100 {
        return bad("quorum_pct must be 1 to 100");
    }
    if c.floors.is_empty() {
        return bad("at least one currency needs a floor");
    }
    if let Some(cur) = c.floors.keys().find(|k| !valid_currency(k)) {
        return Err(Invalid::BadCharter(format!(
            "{cur:?} is not an ISO 4217 code"
        )));
    }
    for (limit, value) in limit_values(&c.limits) {
        if let Err(why) = check_limit(limit, value) {
            return Err(Invalid::BadCharter(why));
        }
    }
    if v.bytes().len() as u64 > MAX_CHARTER_ENTRY_BYTES {
        return Err(Invalid::Oversize {
            size: v.bytes().len(),
            max: MAX_CHARTER_ENTRY_BYTES,
        });
    }
    if let Some(k) = c
        .members
        .iter()
        .chain(&c.requesters)
        .find(|k| !sig::acceptable_key(k.as_bytes()))
    {
        return Err(Invalid::UnacceptableKey(*k));
    }
    // Every founder has exactly one name, and nobody else has one.
    let founders: BTreeSet<&PublicKey> = c.members.iter().chain(&c.requesters).collect();
    let mut named = BTreeSet::new();
    for n in &c.names {
        if !founders.contains(&n.key) {
            return Err(Invalid::BadCharter(format!(
                "{} is named but is no founder",
                n.key.short()
            )));
        }
        if !named.insert(n.key) {
            return Err(Invalid::BadCharter(format!(
                "{} is named twice",
                n.key.short()
            )));
        }
        if let Err(why) = check_name(&n.name) {
            return Err(Invalid::BadCharter(format!(
                "the name of {} {why}",
                n.key.short()
            )));
        }
    }
    if let Some(k) = founders.iter().find(|k| !named.contains(**k)) {
        return Err(Invalid::BadCharter(format!(
            "the founder {} has no name",
            k.short()
        )));
    }
    Ok(())
}

pub(super) fn check_action(a: &Action) -> Result<(), Invalid> {
    let bad = |s: &str| Err(Invalid::BadProposal(s.to_owned()));
    match a {
        Action::AdmitMember { key, name } | Action::AdmitRequester { key, name } => {
            if !sig::acceptable_key(key.as_bytes()) {
                return Err(Invalid::UnacceptableKey(*key));
            }
            check_name(name).map_err(|why| Invalid::BadProposal(format!("the name {why}")))?;
        }
        Action::RemoveMember(_) | Action::RemoveRequester(_) | Action::RevokeDevice(_) => {}
        Action::ReplaceKey { old, new } => {
            if !sig::acceptable_key(new.as_bytes()) {
                return Err(Invalid::UnacceptableKey(*new));
            }
            if old == new {
                return bad("the new key must differ from the old one");
            }
        }
        Action::SetFloor { currency, .. } => {
            if !valid_currency(currency) {
                return bad("the currency must be an ISO 4217 code");
            }
        }
        Action::SetQuorum(q) => {
            if *q == 0 || *q > 100 {
                return bad("the quorum must be 1 to 100 percent");
            }
        }
        Action::SetLimit { limit, value } => {
            check_limit(*limit, *value).map_err(Invalid::BadProposal)?;
        }
    }
    Ok(())
}

/// The name rule for a member's or requester's display name (docs/protocol.md 4.5): not
/// blank, at most [`crate::body::MAX_NAME_CHARS`] characters, one line, and no
/// bidirectional control, so that a name can never pass for another or reorder what is
/// written beside it. The error completes "the name ...".
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be blank".into());
    }
    let (n, max) = (name.chars().count(), crate::body::MAX_NAME_CHARS);
    if n > max {
        return Err(format!("has {n} characters; at most {max}"));
    }
    // Within the length, check_text can only refuse a character: "contains ...".
    check_text(name, max, true)
}

/// A text shown to members: at most `max` characters, no bidirectional embedding,
/// override or isolate control, and no control character at all on one line (tabs and
/// line breaks are allowed elsewhere).
pub(crate) fn check_text(text: &str, max: usize, one_line: bool) -> Result<(), String> {
    let n = text.chars().count();
    if n > max {
        return Err(format!("{n} characters; at most {max}"));
    }
    if let Some(c) = text.chars().find(|c| crate::body::is_bidi_control(*c)) {
        return Err(format!(
            "contains the bidirectional control U+{:04X}, which can make text read as something else",
            u32::from(c)
        ));
    }
    let allowed = |c: char| !one_line && (c == '\n' || c == '\t' || c == '\r');
    if let Some(c) = text.chars().find(|c| c.is_control() && !allowed(*c)) {
        return Err(format!(
            "contains the control character U+{:04X}",
            u32::from(c)
        ));
    }
    Ok(())
}

/// Every limit with its value.
fn limit_values(l: &crate::body::Limits) -> [(Limit, u64); 15] {
    [
        (Limit::MaxReviewWindowMs, l.max_review_window_ms),
        (Limit::MaxClaimWindowMs, l.max_claim_window_ms),
        (Limit::MaxOfferLifeMs, l.max_offer_life_ms),
        (Limit::MaxResultBytes, l.max_result_bytes),
        (Limit::MaxEntryBytes, l.max_entry_bytes),
        (Limit::TopupCapPct, u64::from(l.topup_cap_pct)),
        (Limit::AmendmentDelayMs, l.amendment_delay_ms),
        (Limit::MinClaimWindowMs, l.min_claim_window_ms),
        (Limit::ProposalLifeMs, l.proposal_life_ms),
        (Limit::MajorityPct, u64::from(l.majority_pct)),
        (Limit::SupermajorityPct, u64::from(l.supermajority_pct)),
        (Limit::SubmitWindowMs, l.submit_window_ms),
        (Limit::AppealWindowMs, l.appeal_window_ms),
        (Limit::JurySize, l.jury_size),
        (Limit::VoteWindowMs, l.vote_window_ms),
    ]
}

/// The least amendment delay a cooperative may set: one minute.
pub const MIN_AMENDMENT_DELAY_MS: u64 = 60 * 1000;

/// The range each limit must stay in, so that no amendment can switch a protection off.
fn check_limit(limit: Limit, value: u64) -> Result<(), String> {
    let (lo, hi, name) = match limit {
        Limit::MaxEntryBytes => (1024, MAX_CHARTER_ENTRY_BYTES, "max_entry_bytes"),
        // Under 100 % the top-up would credit less time than the estimate the pay covers.
        Limit::TopupCapPct => (100, 1000, "topup_cap_pct"),
        Limit::AmendmentDelayMs => (MIN_AMENDMENT_DELAY_MS, u64::MAX, "amendment_delay_ms"),
        Limit::MaxReviewWindowMs => (1, u64::MAX, "max_review_window_ms"),
        Limit::MaxClaimWindowMs => (1, u64::MAX, "max_claim_window_ms"),
        Limit::MaxOfferLifeMs => (1, u64::MAX, "max_offer_life_ms"),
        Limit::MaxResultBytes => (1, u64::MAX, "max_result_bytes"),
        // Under a minute nobody on a weak link could claim: the draw would be hiring.
        Limit::MinClaimWindowMs => (60 * 1000, u64::MAX, "min_claim_window_ms"),
        // At least an hour, so members who are offline now and then can vote.
        Limit::ProposalLifeMs => (60 * 60 * 1000, u64::MAX, "proposal_life_ms"),
        // A strict majority at least; 99 at most, so every vote can still pass.
        Limit::MajorityPct => (50, 99, "majority_pct"),
        // Two thirds at least (yes * 100 > 66 * cast).
        Limit::SupermajorityPct => (66, 99, "supermajority_pct"),
        // At least an hour: a drawn member on a weak link must have time to do the work.
        Limit::SubmitWindowMs => (60 * 60 * 1000, u64::MAX, "submit_window_ms"),
        // A day at least, so a member offline for a while can still appeal.
        Limit::AppealWindowMs => (24 * 60 * 60 * 1000, u64::MAX, "appeal_window_ms"),
        Limit::JurySize => {
            // Odd, so that a full jury always reaches a majority.
            if value.is_multiple_of(2) {
                return Err(format!("jury_size must be odd, not {value}"));
            }
            (1, 99, "jury_size")
        }
        // An hour at least: a juror on a weak link must have time to read and vote.
        Limit::VoteWindowMs => (60 * 60 * 1000, u64::MAX, "vote_window_ms"),
    };
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(format!("{name} must be {lo} to {hi}, not {value}"))
    }
}
