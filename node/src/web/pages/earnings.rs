//! Earnings: balances, the rate chart, payments to confirm, and the review form.

use super::{csrf, named, named_text, page, pager, when, CoopInfo, Paging, Tab};
use crate::web::chart;
use crate::web::i18n as t;
use crate::web::Ctx;
use axum::response::Response;
use maud::{html, PreEscaped};
use taawun_api::limits;
use taawun_api::views::*;

/// Still owed and confirmed received, summed per currency, in currency order.
fn totals(balances: &[BalanceView]) -> Vec<(String, u64, u64)> {
    let mut out: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for b in balances {
        let t = out.entry(b.owed.currency.as_str()).or_default();
        t.0 = t.0.saturating_add(b.owed.minor);
        t.1 = t.1.saturating_add(b.confirmed.minor);
    }
    out.into_iter()
        .map(|(c, (o, k))| (c.to_owned(), o, k))
        .collect()
}

/// Earnings: balances, the rate chart, payments to confirm, and the review form.
#[allow(clippy::too_many_arguments)]
pub(crate) fn earnings(
    ctx: &Ctx,
    c: &CoopInfo,
    balances: &[BalanceView],
    points: &[(String, Vec<chart::Point>)],
    payments: &[PaymentView],
    requesters: &[String],
    done: bool,
    paging: Paging,
) -> Response {
    let l = ctx.lang;
    let body = html! {
        section #balances data-live="1" {
            @if balances.is_empty() { p { (l.t(&t::NOTHING_YET)) } }
            @else {
                // What matters first, where a phone shows it without scrolling sideways:
                // still owed and confirmed, per currency, then one card per requester.
                dl.totals aria-label=(l.t(&t::TOTALS)) {
                    @for (cur, owed, confirmed) in totals(balances) {
                        div.total data-currency=(cur) {
                            dt { (l.t(&t::OWED)) }
                            dd.owed { (l.money(owed, &cur)) }
                            dt { (l.t(&t::CONFIRMED)) }
                            dd.confirmed { (l.money(confirmed, &cur)) }
                        }
                    }
                }
                ul.cards {
                    @for b in balances {
                        li.card.balance {
                            p { (l.t(&t::REQUESTER)) " " (named(l, &b.requester, b.requester_name.as_deref(), &c.me)) }
                            dl.figures {
                                dt { (l.t(&t::OWED)) } dd.num.owed { strong { (l.money(b.owed.minor, &b.owed.currency)) } }
                                dt { (l.t(&t::CONFIRMED)) } dd.num.confirmed { (l.money(b.confirmed.minor, &b.confirmed.currency)) }
                                dt { (l.t(&t::EARNED)) } dd.num.earned { (l.money(b.earned.minor, &b.earned.currency)) }
                                dt { (l.t(&t::TOPUP)) } dd.num { (l.money(b.topup.minor, &b.topup.currency)) }
                                dt { (l.t(&t::PAID)) } dd.num { (l.money(b.paid.minor, &b.paid.currency)) }
                                dt { (l.t(&t::UNCONFIRMED)) } dd.num.unconfirmed { (l.money(b.unconfirmed.minor, &b.unconfirmed.currency)) }
                            }
                        }
                    }
                }
            }
            h2 { (l.t(&t::RATE_CHART)) }
            @if points.iter().all(|(_, p)| p.is_empty()) { p.small { (l.t(&t::NO_CHART)) } }
            @for (cur, pts) in points {
                @if let Some(svg) = chart::svg(l, pts, c.floor(cur).unwrap_or(0), cur, l.t(&t::RATE_CHART)) {
                    figure { (PreEscaped(svg)) }
                }
            }
            h2 { (l.t(&t::PAYMENTS)) }
            @if payments.is_empty() { p.small { (l.t(&t::NOTHING_YET)) } }
            ul.cards {
                @for p in paging.slice(payments) {
                    li.card.payment {
                        p { strong { (l.money(p.amount.minor, &p.amount.currency)) } " · " (named(l, &p.requester, p.requester_name.as_deref(), &c.me)) " · " (when(l, p.at)) }
                        @match &p.reference {
                            Some(r) => p.small { (l.t(&t::REFERENCE)) ": " bdi { (r) } },
                            None => p.small { (l.t(&t::REFERENCE)) ": " (l.t(&t::SEALED)) },
                        }
                        @if let Some(why) = &p.reference_flag { p.warn { (l.f(&t::FLAGGED, why)) } }
                        @if p.confirmed { p.ok { (l.t(&t::CONFIRMED)) } }
                        @else if p.not_received { p.warn { (l.t(&t::ANSWERED_NOT_RECEIVED)) } }
                        @else {
                            form method="post" action=(c.link(&format!("payments/{}/confirm", p.id))) {
                                (csrf(ctx))
                                button.primary type="submit" { (l.t(&t::CONFIRM)) }
                            }
                            form method="post" action=(c.link(&format!("payments/{}/confirm", p.id))) {
                                (csrf(ctx))
                                input type="hidden" name="received" value="no";
                                button type="submit" { (l.t(&t::DENY)) }
                            }
                        }
                    }
                }
            }
            (pager(ctx, paging, payments.len(), "payments-pages"))
        }
        h2 { (l.t(&t::REVIEW_REQ)) }
        @if requesters.is_empty() { p.small { (l.t(&t::NOTHING_YET)) } }
        @else {
            form.review method="post" action=(c.link("reviews")) {
                (csrf(ctx))
                div.field {
                    label for="rv-requester" { (l.t(&t::REQUESTER)) }
                    select #rv-requester name="requester" required {
                        @for r in requesters { option value=(r) { (named_text(r, balances.iter().find(|b| b.requester == *r).and_then(|b| b.requester_name.as_deref()))) @if *r == c.me { " (" (l.t(&t::YOU)) ")" } } }
                    }
                }
                p.small #rv-scale { (l.t(&t::SCALE)) }
                @for (name, label) in [("pay", &t::SC_PAY), ("fairness", &t::SC_FAIR), ("promptness", &t::SC_PROMPT), ("communication", &t::SC_COMM)] {
                    fieldset.stars aria-describedby="rv-scale" {
                        legend { (l.t(label)) }
                        @for v in 1..=5u8 {
                            input type="radio" id=(format!("rv-{name}-{v}")) name=(name) value=(v) required checked[v == 3];
                            label for=(format!("rv-{name}-{v}")) { (v) }
                        }
                    }
                }
                div.field {
                    label for="rv-text" { (l.t(&t::COMMENT)) }
                    textarea #rv-text name="text" rows="3" maxlength=(limits::REVIEW_TEXT) {}
                }
                button type="submit" { (l.t(&t::SEND_REVIEW)) }
            }
        }
    };
    page(ctx, Some(c), Tab::Earnings, l.t(&t::EARNINGS), done, body)
}
