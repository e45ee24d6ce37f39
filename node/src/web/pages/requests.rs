//! The requester's side: my offers, the submissions to review, what I owe, my record,
//! and the check before paying more than is owed.

use super::{
    amount_pattern, csrf, fm, most_decimals, named, named_text, outcome_label, page, pager,
    place_name, record, review_line, state_label, withdraw_form, CoopInfo, Paging, Tab,
};
use crate::web::i18n as t;
use crate::web::Ctx;
use axum::response::Response;
use maud::html;
use taawun_api::limits;
use taawun_api::views::*;
use taawun_core::Timestamp;

/// The requester's side: my offers, the submissions to review, what I owe, my record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn requests(
    ctx: &Ctx,
    c: &CoopInfo,
    offers: &[OfferView],
    subs: &[SubmissionView],
    appeals: &[taawun_api::appeals::AppealInfo],
    owed: &[BalanceView],
    rec: &RecordView,
    now: Timestamp,
    done: bool,
    chosen: Option<(&str, &str)>,
    paging: Paging,
) -> Response {
    let l = ctx.lang;
    // The payment form starts on the chosen member and currency (a "Pay" link), else on
    // the first one something is left to pay, with what is left as its amount.
    let left = |b: &BalanceView| b.owed.minor.saturating_sub(b.unconfirmed.minor);
    let pick = owed
        .iter()
        .find(|b| chosen.is_some_and(|(m, cur)| b.member == m && b.owed.currency == cur))
        .or_else(|| owed.iter().find(|b| left(b) > 0));
    let mut members: Vec<&str> = owed.iter().map(|b| b.member.as_str()).collect();
    members.sort_unstable();
    members.dedup();
    let name_of = |m: &str| {
        owed.iter()
            .find(|b| b.member == m)
            .and_then(|b| b.member_name.as_deref())
    };
    // What is left to pay each member, per currency, as the amount field takes it: the
    // script fills the amount in when another member or currency is chosen.
    let lefts = |m: &str| {
        owed.iter()
            .filter(|b| b.member == m)
            .map(|b| {
                format!(
                    "{}={}",
                    b.owed.currency,
                    l.decimal(left(b), &b.owed.currency)
                )
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let body = html! {
        section #incoming data-live="1" {
            h2 { (l.t(&t::INCOMING)) }
            @if subs.is_empty() { p.small { (l.t(&t::NOTHING_YET)) } }
            ul.cards {
                @for s in paging.slice(subs) {
                    li.card.submission data-sub=(s.id) {
                        h3 { bdi { (s.title) } }
                        p.small { (named(l, &s.member, s.member_name.as_deref(), &c.me)) " · " (l.fa(&t::SUBMITTED, &[&l.relative(s.at, now), &s.minutes.to_string()])) }
                        p.review data-review=(s.review) { (review_line(l, s, now)) }
                        @if s.result_here {
                            p { a.download href=(c.link(&format!("submissions/{}/result", s.id))) download { (l.t(&t::DOWNLOAD)) } }
                        } @else {
                            p.small { (l.t(&t::NOT_RECEIVED)) }
                        }
                        @if s.review == "pending" {
                            div.actions {
                                form method="post" action=(c.link(&format!("submissions/{}/accept", s.id))) data-confirm=(l.t(&t::ASK_ACCEPT)) {
                                    (csrf(ctx))
                                    button.primary.accept type="submit" { (l.t(&t::ACCEPT)) }
                                }
                                form.reject method="post" action=(c.link(&format!("submissions/{}/reject", s.id))) data-confirm=(l.t(&t::ASK_REJECT)) {
                                    (csrf(ctx))
                                    label for=(format!("reason-{}", s.id)) { (l.t(&t::REASON)) }
                                    textarea id=(format!("reason-{}", s.id)) name="reason" rows="2" required maxlength=(limits::REJECT_REASON) {}
                                    button type="submit" { (l.t(&t::REJECT)) }
                                }
                            }
                        }
                        @if let Some(a) = appeals.iter().find(|a| a.submission == s.id) {
                            p.appeal data-outcome=(a.outcome) { (l.f(&t::APPEAL_STATE, outcome_label(l, &a.outcome))) }
                            p { strong { (l.t(&t::MEMBER_ANSWER)) ": " } bdi { (a.answer) } }
                            @if let Some(r) = &a.reply {
                                p { strong { (l.t(&t::REQUESTER_REPLY)) ": " } bdi { (r) } }
                            } @else if a.outcome == "drawing" || a.outcome == "open" {
                                form.reply method="post" action=(c.link(&format!("appeals/{}/reply", a.id))) {
                                    (csrf(ctx))
                                    label for=(format!("reply-{}", a.id)) { (l.t(&t::REPLY_TO_JURY)) }
                                    textarea id=(format!("reply-{}", a.id)) name="text" rows="3" required maxlength=(limits::APPEAL_TEXT) {}
                                    button type="submit" { (l.t(&t::REPLY)) }
                                }
                            }
                        }
                    }
                }
            }
            (pager(ctx, paging, subs.len(), "incoming-pages"))
        }
        section #myoffers data-live="1" {
            h2 { (l.t(&t::MY_OFFERS)) }
            @if offers.is_empty() { p.small { (l.t(&t::NOTHING_YET)) } }
            ul.cards {
                @for o in offers {
                    li.card {
                        a href=(c.link(&format!("offers/{}", o.id))) { bdi { (o.title) } }
                        " · " (l.money(o.pay.minor, &o.pay.currency))
                        " · " span.badge { (state_label(l, &o.state)) }
                        " " (l.n(&t::CLAIMS_N, o.claims, &[]))
                        @if o.state == "open" { " · " (l.relative(o.claim_closes_at, now)) }
                        @if !o.winners.is_empty() { " · " (l.t(&t::WINNERS)) ": " @for w in &o.winners { (named(l, w, place_name(o, w), &c.me)) " " } }
                        @if o.state == "open" || o.state == "awaiting-assignment" {
                            (withdraw_form(ctx, c, &o.id))
                        }
                    }
                }
            }
        }
        section #owed data-live="1" {
            h2 { (l.t(&t::WHAT_I_OWE)) }
            @if owed.is_empty() { p.small { (l.t(&t::NOTHING_YET)) } }
            @else {
                div.scroll { table {
                    thead { tr {
                        th scope="col" { (l.t(&t::MEMBER)) }
                        th scope="col" { (l.t(&t::EARNED)) }
                        th scope="col" { (l.t(&t::TOPUP)) }
                        th scope="col" { (l.t(&t::PAID)) }
                        th scope="col" { (l.t(&t::OWED)) }
                        th scope="col" {}
                    } }
                    tbody { @for b in owed { tr {
                        td { (named(l, &b.member, b.member_name.as_deref(), &c.me)) }
                        td.num { (l.money(b.earned.minor, &b.earned.currency)) }
                        td.num { (l.money(b.topup.minor, &b.topup.currency)) }
                        td.num { (l.money(b.paid.minor, &b.paid.currency)) }
                        td.num { (l.money(b.owed.minor, &b.owed.currency)) }
                        td { @if left(b) > 0 { a.pay-this href=(format!("{}?pay={}&currency={}#pay", c.link("requests"), b.member, b.owed.currency)) { (l.t(&t::PAY_THIS)) } } }
                    } } }
                } }
            }
        }
        h2 #pay { (l.t(&t::RECORD_PAYMENT)) }
        form.pay #pay-form method="post" action=(c.link("payments")) {
            (csrf(ctx))
            div.field {
                label for="pay-member" { (l.t(&t::MEMBER)) }
                select #pay-member name="member" required {
                    @for m in &members { option value=(m) data-left=(lefts(m)) selected[pick.is_some_and(|b| b.member == *m)] { (named_text(m, name_of(m))) } }
                }
            }
            div.row {
                div.field {
                    label for="pay-amount" { (l.t(&t::AMOUNT)) }
                    input #pay-amount type="text" name="amount" inputmode="decimal" required pattern=(amount_pattern(most_decimals(&c.floors))) size="8" value=[pick.map(|b| l.decimal(left(b), &b.owed.currency))];
                }
                div.field {
                    label for="pay-currency" { (l.t(&t::CURRENCY)) }
                    select #pay-currency name="currency" { @for a in &c.floors { option value=(a.currency) selected[pick.is_some_and(|b| b.owed.currency == a.currency)] { (a.currency) } } }
                }
            }
            div.field {
                label for="pay-ref" { (l.t(&t::REFERENCE)) }
                input #pay-ref type="text" name="reference" required maxlength=(limits::PAYMENT_REFERENCE);
            }
            button type="submit" { (l.t(&t::SAVE)) }
        }
        section #record data-live="1" {
            h2 { (l.t(&t::MY_RECORD)) }
            (record(l, rec, usize::MAX))
        }
    };
    page(ctx, Some(c), Tab::Requests, l.t(&t::REQUESTS), done, body)
}

/// A payment over what is left to pay the member: the numbers, and a form that sends
/// the same payment again with `confirm=1` (no script needed).
pub(crate) fn pay_confirm(
    ctx: &Ctx,
    c: &CoopInfo,
    form: &[(&str, &str)],
    over: &super::handlers::Overpay,
) -> Response {
    let l = ctx.lang;
    let money = |a: &Amount| html! { strong { (l.money(a.minor, &a.currency)) } };
    let left = over.owed.minor.saturating_sub(over.pending.minor);
    let body = html! {
        div.explain #pay-check role="alert" {
            p { (fm(l, &t::PAY_OVER, &[money(&over.paying), named(l, &over.member, over.member_name.as_deref(), &c.me), money(&over.owed)])) }
            @if over.pending.minor > 0 {
                p { (fm(l, &t::PAY_PENDING, &[money(&over.pending)])) }
            }
            p { (fm(l, &t::PAY_OVER_ASK, &[html! { (l.money(left, &over.owed.currency)) }])) }
        }
        div.actions {
            form method="post" action=(c.link("payments")) {
                (csrf(ctx))
                @for (name, value) in form { input type="hidden" name=(name) value=(value); }
                input type="hidden" name="confirm" value="1";
                button.primary #pay-confirm type="submit" { (l.f(&t::PAY_CONFIRM, &l.money(over.paying.minor, &over.paying.currency))) }
            }
            a href=(c.link("requests")) { (l.t(&t::PAY_CHANGE)) }
        }
    };
    page(ctx, Some(c), Tab::Requests, l.t(&t::PAY_CHECK), false, body)
}
