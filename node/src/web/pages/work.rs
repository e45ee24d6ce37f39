//! My work: what was assigned to me, what I claimed, the review of what I sent and its
//! appeal, and the appeals I sit on the jury of.

use super::{
    csrf, my_place, my_standing, outcome_label, page, review_line, whole_pattern, CoopInfo, Tab,
};
use crate::web::i18n as t;
use crate::web::Ctx;
use axum::response::Response;
use maud::{html, Markup};
use taawun_api::limits;
use taawun_api::views::*;
use taawun_core::Timestamp;

/// My work: what was assigned to me, what I claimed, and the review of what I sent.
#[allow(clippy::too_many_arguments)]
pub(crate) fn work(
    ctx: &Ctx,
    c: &CoopInfo,
    offers: &[OfferView],
    subs: &[SubmissionView],
    appeals: &[taawun_api::appeals::AppealInfo],
    now: Timestamp,
    done: bool,
) -> Response {
    let l = ctx.lang;
    let body = html! {
        (jury(ctx, c, appeals, now))
        section #work data-live="1" {
            @if offers.is_empty() { p { (l.t(&t::NO_WORK)) } }
            ul.cards {
                @for o in offers {
                    @let mine: Vec<&SubmissionView> = subs.iter().filter(|s| s.offer == o.id).collect();
                    li.card.task data-offer=(o.id) {
                        h2 { a href=(c.link(&format!("offers/{}", o.id))) { bdi { (o.title) } } }
                        p.figures { strong { (l.money(o.pay.minor, &o.pay.currency)) } " · " (l.f(&t::MINUTES_N, &o.minutes.to_string())) }
                        @if !o.assigned_to_me {
                            @if my_place(o, &c.me).is_some() || o.my_claim_counts == Some(false) || !o.winners.is_empty() {
                                (my_standing(l, o, &c.me, now))
                            } @else {
                                p { (l.f(&t::WAITING_DRAW, &l.relative(o.claim_closes_at, now))) }
                            }
                        } @else if mine.is_empty() {
                            (my_standing(l, o, &c.me, now))
                            form.submit method="post" enctype="multipart/form-data" action=(c.link(&format!("offers/{}/submit", o.id))) {
                                (csrf(ctx))
                                div.field {
                                    label for=(format!("file-{}", o.id)) { (l.t(&t::RESULT_FILE)) }
                                    input id=(format!("file-{}", o.id)) type="file" name="file" required;
                                }
                                div.field {
                                    label for=(format!("minutes-{}", o.id)) { (l.t(&t::MINUTES_WORKED)) }
                                    // Empty: the member says the time they took, not the requester's estimate.
                                    input id=(format!("minutes-{}", o.id)) type="text" name="minutes" inputmode="numeric" autocomplete="off" required pattern=(whole_pattern()) size="5";
                                }
                                button.primary type="submit" { (l.t(&t::SUBMIT)) }
                            }
                        }
                        @for s in mine {
                            p.small { (l.fa(&t::SUBMITTED, &[&l.relative(s.at, now), &s.minutes.to_string()])) }
                            p.review data-review=(s.review) { (review_line(l, s, now)) }
                            @if s.topup.minor > 0 { p.small { (l.t(&t::TOPUP)) ": " (l.money(s.topup.minor, &s.topup.currency)) } }
                            (appeal_part(ctx, c, s, appeals))
                        }
                    }
                }
            }
        }
    };
    page(ctx, Some(c), Tab::Work, l.t(&t::MY_WORK), done, body)
}

/// Under rejected work: how its appeal stands, or the form to appeal it.
fn appeal_part(
    ctx: &Ctx,
    c: &CoopInfo,
    s: &SubmissionView,
    appeals: &[taawun_api::appeals::AppealInfo],
) -> Markup {
    let l = ctx.lang;
    if let Some(a) = appeals.iter().find(|a| a.submission == s.id) {
        return html! { p.appeal data-outcome=(a.outcome) { (l.f(&t::APPEAL_STATE, outcome_label(l, &a.outcome))) } };
    }
    if s.review != "rejected" {
        return html! {};
    }
    html! {
        form.appeal method="post" action=(c.link(&format!("submissions/{}/appeal", s.id))) {
            (csrf(ctx))
            label for=(format!("answer-{}", s.id)) { (l.t(&t::APPEAL_ANSWER)) }
            textarea id=(format!("answer-{}", s.id)) name="answer" rows="3" required maxlength=(limits::APPEAL_TEXT) {}
            button type="submit" { (l.t(&t::APPEAL)) }
        }
    }
}

/// The appeals this member judges now: the reason, the answer, the reply, and a vote.
fn jury(
    ctx: &Ctx,
    c: &CoopInfo,
    appeals: &[taawun_api::appeals::AppealInfo],
    now: Timestamp,
) -> Markup {
    let l = ctx.lang;
    // What this juror still has to judge, and, while its seat's window lasts, the vote it
    // gave (so the page shows the vote once cast).
    let voted = |a: &taawun_api::appeals::AppealInfo| {
        a.seats
            .iter()
            .find(|s| {
                s.member == c.me
                    && (s.state == "upheld" || s.state == "dismissed")
                    && now <= s.until
            })
            .map(|s| s.state == "upheld")
    };
    let mine: Vec<_> = appeals
        .iter()
        .filter(|a| a.to_judge || voted(a).is_some())
        .collect();
    if mine.is_empty() {
        return html! {};
    }
    html! {
        section #jury {
            h2 { (l.t(&t::JURY)) }
            ul.cards {
                @for a in mine {
                    @let until = a.seats.iter().find(|s| s.member == c.me && s.state == "open").map(|s| s.until);
                    li.card.appeal data-appeal=(a.id) {
                        h3 { a href=(c.link(&format!("offers/{}", a.offer))) { bdi { (a.title) } } }
                        @if !a.description.is_empty() { p.instructions { bdi { (a.description) } } }
                        // The result reached this juror's node privately once the jury sat.
                        @if a.result_here {
                            p { a.download href=(c.link(&format!("submissions/{}/result", a.submission))) download { (l.t(&t::DOWNLOAD)) } }
                        } @else {
                            p.small.no-result { (l.t(&t::NOT_RECEIVED)) }
                        }
                        // Sealed to the parties; a juror's node opens it with the key the
                        // member's node sends with the result.
                        @match &a.reason {
                            Some(r) => p.reason { strong { (l.t(&t::REASON_GIVEN)) ": " } bdi { (r) } },
                            None => p.reason { strong { (l.t(&t::REASON_GIVEN)) ": " } span.sealed { (l.t(&t::REASON_WITH_RESULT)) } },
                        }
                        @if let Some(why) = &a.reason_flag { p.warn { (l.f(&t::FLAGGED, why)) } }
                        p { strong { (l.t(&t::MEMBER_ANSWER)) ": " } bdi { (a.answer) } }
                        @if let Some(r) = &a.reply { p { strong { (l.t(&t::REQUESTER_REPLY)) ": " } bdi { (r) } } }
                        @if let Some(uphold) = voted(a) {
                            p.my-vote data-vote=(if uphold { "uphold" } else { "dismiss" }) {
                                (l.f(&t::YOUR_VOTE, l.t(if uphold { &t::UPHOLD } else { &t::DISMISS })))
                            }
                            p.small { (l.f(&t::APPEAL_STATE, outcome_label(l, &a.outcome))) }
                        } @else {
                            @if let Some(u) = until { p.small { (l.f(&t::VOTE_BY, &l.relative(u, now))) } }
                            div.actions {
                                @for (value, label) in [("uphold", &t::UPHOLD), ("dismiss", &t::DISMISS)] {
                                    form method="post" data-verdict=(value) action=(c.link(&format!("appeals/{}/vote", a.id))) {
                                        (csrf(ctx))
                                        input type="hidden" name="verdict" value=(value);
                                        button type="submit" { (l.t(label)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
