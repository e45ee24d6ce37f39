//! The cooperative: people, floor, its rules in words, proposals with their votes, peers.

use super::{csrf, fm, named, page, when, CoopInfo, Tab};
use crate::web::i18n::{self as t, Lang};
use crate::web::Ctx;
use axum::response::Response;
use maud::html;
use taawun_api::views::*;
use taawun_core::Timestamp;

/// A rule of the cooperative in words with its unit, in the page's language: the name a
/// member reads, and the value in hours or days, kilobytes, or percent. A limit this page
/// does not know yet keeps its name in the protocol.
fn limit_words(l: Lang, key: &str, v: u64) -> (String, String) {
    let pct = |tr: &t::Tr| l.f(tr, &l.int(v));
    let (label, value) = match key {
        "max_review_window_ms" => (&t::L_MAX_REVIEW, l.span(v)),
        "max_claim_window_ms" => (&t::L_MAX_CLAIM, l.span(v)),
        "min_claim_window_ms" => (&t::L_MIN_CLAIM, l.span(v)),
        "max_offer_life_ms" => (&t::L_OFFER_LIFE, l.span(v)),
        "amendment_delay_ms" => (&t::L_AMEND, l.span(v)),
        "proposal_life_ms" => (&t::L_PROPOSAL, l.span(v)),
        "submit_window_ms" => (&t::L_SUBMIT, l.span(v)),
        "max_result_bytes" => (&t::L_RESULT, l.size(v)),
        "max_entry_bytes" => (&t::L_ENTRY, l.size(v)),
        "topup_cap_pct" => (&t::L_TOPUP, pct(&t::L_TOPUP_VALUE)),
        "majority_pct" => (&t::L_MAJORITY, pct(&t::L_PCT_VALUE)),
        "supermajority_pct" => (&t::L_SUPER, pct(&t::L_PCT_VALUE)),
        _ if key.ends_with("_ms") => return (key.to_owned(), l.span(v)),
        _ => return (key.to_owned(), l.int(v)),
    };
    (l.t(label).to_owned(), value)
}

/// The cooperative: people, floor, limits, proposals with their votes, peers.
pub(crate) fn coop(
    ctx: &Ctx,
    c: &CoopInfo,
    v: &CoopView,
    status: &Status,
    now: Timestamp,
    done: bool,
) -> Response {
    let l = ctx.lang;
    let held = status.coops.iter().find(|s| s.id == v.id);
    let body = html! {
        section #people data-live="1" {
            p { strong { (l.t(&t::FLOORS)) ": " } (v.floors.iter().map(|a| l.rate(a.minor, &a.currency)).collect::<Vec<_>>().join(", ")) }
            p { (l.fa(&t::QUORUM_RULE, &[&v.quorum_pct.to_string(), &l.n(&t::VOTES_NOW, v.quorum_needed, &[])])) }
            h2 { (l.t(&t::PROPOSALS)) }
            @if v.proposals.is_empty() { p.small { (l.t(&t::NO_PROPOSALS)) } }
            ul.cards {
                @for p in v.proposals.iter().rev() {
                    li.card.proposal {
                        p { strong { bdi { (p.action) } } @if p.enacted { " · " span.badge.ok { (l.t(&t::ENACTED)) } } }
                        p { bdi { (p.reason) } }
                        p.small { (named(l, &p.author, v.names.get(&p.author).map(String::as_str), &c.me)) " · " (l.relative(p.at, now)) }
                        p.quorum { (l.fa(&t::QUORUM, &[&(p.yes.len() + p.no.len()).to_string(), &p.needed.to_string()])) " · ✔ " (p.yes.len()) " · ✘ " (p.no.len()) " · " (l.t(if p.passes { &t::PASSES } else { &t::NOT_PASSING })) }
                        @if !p.enacted { p.small { (fm(l, &t::OPEN_UNTIL, &[when(l, p.expires_at)])) } }
                        @if !p.enacted && !p.yes.contains(&c.me) && !p.no.contains(&c.me) {
                            div.actions {
                                form method="post" action=(c.link("votes")) {
                                    (csrf(ctx))
                                    input type="hidden" name="proposal" value=(p.id);
                                    input type="hidden" name="yes" value="1";
                                    button.primary type="submit" { (l.t(&t::VOTE_YES)) }
                                }
                                form method="post" action=(c.link("votes")) {
                                    (csrf(ctx))
                                    input type="hidden" name="proposal" value=(p.id);
                                    input type="hidden" name="yes" value="0";
                                    button type="submit" { (l.t(&t::VOTE_NO)) }
                                }
                            }
                        }
                    }
                }
            }
            h2 { (l.t(&t::MEMBERS)) " (" (v.members.len()) ")" }
            ul.keys { @for m in &v.members { li { (named(l, m, v.names.get(m).map(String::as_str), &c.me)) } } }
            h2 { (l.t(&t::REQUESTERS)) " (" (v.requesters.len()) ")" }
            ul.keys { @for m in &v.requesters { li { (named(l, m, v.names.get(m).map(String::as_str), &c.me)) } } }
            @if !v.frozen.is_empty() {
                h2 { (l.t(&t::FROZEN)) }
                ul.keys { @for m in &v.frozen { li { (named(l, m, v.names.get(m).map(String::as_str), &c.me)) } } }
            }
            h2 { (l.t(&t::LIMITS)) }
            dl.limits {
                @for (k, val) in &v.limits {
                    @let (label, value) = limit_words(l, k, *val);
                    dt data-limit=(k) { (label) }
                    dd { (value) }
                }
            }
            p { a #devices-link href=(c.link("devices")) { (l.t(&super::devices::DEVICES_LINK)) } }
            h2 { (l.t(&t::PEERS)) }
            p #sync { (l.n(&t::PEERS_N, status.peers, &[])) "; " (l.n(&t::ENTRIES_N, held.map_or(0, |h| h.entries), &[])) " " (l.n(&t::AUTHORS_N, held.map_or(0, |h| h.chains), &[])) "." }
        }
    };
    page(ctx, Some(c), Tab::Coop, &v.name, done, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_said_in_words_with_units() {
        let (k, v) = limit_words(Lang::En, "amendment_delay_ms", 3_600_000);
        assert_eq!(
            (k.as_str(), v.as_str()),
            ("Delay before an amendment takes effect", "1 hour")
        );
        let (_, v) = limit_words(Lang::Fr, "max_entry_bytes", 65_536);
        assert_eq!(v, "64 Ko");
        let (k, v) = limit_words(Lang::Ar, "topup_cap_pct", 200);
        assert_eq!(
            (k.as_str(), v.as_str()),
            ("تكملة الوقت الإضافي: على الأكثر", "200٪ من الدقائق المقدّرة")
        );
        let (_, v) = limit_words(Lang::Fr, "max_offer_life_ms", 30 * 86_400_000);
        assert_eq!(v, "30 jours");
        let (k, v) = limit_words(Lang::En, "some_new_limit", 7);
        assert_eq!((k.as_str(), v.as_str()), ("some_new_limit", "7"));
    }
}
