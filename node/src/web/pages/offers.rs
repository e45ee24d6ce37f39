//! The offers: the board, one offer with its claim and withdraw buttons, the form that
//! posts one, and the question a step that cannot be undone asks once more.

use super::{
    amount_pattern, csrf, fm, most_decimals, my_place, my_standing, named, page, pager, place_line,
    place_name, record, state_label, when, whole_pattern, withdraw_form, CoopInfo, Paging, Tab,
};
use crate::web::i18n::{self as t, Lang};
use crate::web::Ctx;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use taawun_api::limits;
use taawun_api::views::*;
use taawun_core::Timestamp;

/// The rate against the floor, in words.
fn against_floor(l: Lang, o: &OfferView) -> Markup {
    match &o.floor {
        Some(f) if o.hourly.minor > f.minor => {
            let above = o.hourly.minor - f.minor;
            html! { span.ok { (l.f(&t::ABOVE_FLOOR, &l.rate(above, &f.currency))) } }
        }
        Some(_) => html! { span.ok { (l.t(&t::AT_FLOOR)) } },
        None => html! {},
    }
}

/// The board's filter and sort.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct BoardQuery {
    /// Text to find in the title, purpose or description.
    #[serde(default)]
    pub(crate) q: String,
    /// `new` (default), `rate`, `pay` or `short`.
    #[serde(default)]
    pub(crate) sort: String,
    /// Show closed offers too.
    #[serde(default)]
    pub(crate) all: Option<String>,
    /// Least hourly rate, as typed (`12.50`).
    #[serde(default)]
    pub(crate) min: String,
    /// `1` after an action succeeded.
    #[serde(default)]
    pub(crate) done: Option<String>,
    /// The first offer shown.
    #[serde(default)]
    pub(crate) from: usize,
    /// Offers per page.
    #[serde(default)]
    pub(crate) per: Option<usize>,
}

impl BoardQuery {
    pub(crate) fn paging(&self) -> Paging {
        Paging {
            from: self.from,
            per: self.per,
        }
    }
}

/// The offers board.
pub(crate) fn board(
    ctx: &Ctx,
    c: &CoopInfo,
    q: &BoardQuery,
    offers: &[OfferView],
    now: Timestamp,
) -> Response {
    let l = ctx.lang;
    let sort = q.sort.as_str();
    let body = html! {
        form.filters method="get" action=(c.link("offers")) role="search" {
            div.field {
                label for="q" { (l.t(&t::SEARCH)) }
                input #q type="search" name="q" value=(q.q);
            }
            div.field {
                label for="min" { (l.t(&t::MIN_RATE)) }
                input #min type="text" inputmode="decimal" name="min" value=(q.min) size="6";
            }
            div.field {
                label for="sort" { (l.t(&t::SORT)) }
                select #sort name="sort" {
                    option value="new" selected[sort == "new" || sort.is_empty()] { (l.t(&t::SORT_NEW)) }
                    option value="rate" selected[sort == "rate"] { (l.t(&t::SORT_RATE)) }
                    option value="pay" selected[sort == "pay"] { (l.t(&t::SORT_PAY)) }
                    option value="short" selected[sort == "short"] { (l.t(&t::SORT_SHORT)) }
                }
            }
            div.field.check {
                input #all type="checkbox" name="all" value="1" checked[q.all.is_some()];
                label for="all" { (l.t(&t::SHOW_ALL)) }
            }
            button type="submit" { (l.t(&t::APPLY)) }
        }
        section #offers data-live="1" aria-live="polite" {
            @if offers.is_empty() {
                p { (l.t(&t::NO_OFFERS)) }
            }
            ul.cards {
                @for o in q.paging().slice(offers) {
                    li.card.offer data-offer=(o.id) {
                        h2 { a href=(c.link(&format!("offers/{}", o.id))) { bdi { (o.title) } } }
                        p.figures {
                            strong.pay { (l.money(o.pay.minor, &o.pay.currency)) }
                            " · " (l.f(&t::MINUTES_N, &l.int(u64::from(o.minutes))))
                            " · " span.rate { (l.rate(o.hourly.minor, &o.hourly.currency)) }
                        }
                        p.small { (against_floor(l, o)) }
                        p { span.label { (l.t(&t::PURPOSE)) ": " } bdi { (o.purpose) } }
                        p.small {
                            span.badge { (state_label(l, &o.state)) }
                            " " (l.n(&t::CLAIMS_N, o.claims, &[]))
                            @if o.state == "open" { " · " (l.relative(o.claim_closes_at, now)) }
                            @if o.assigned_to_me { " · " strong { (l.t(&t::ASSIGNED_TO_YOU)) } }
                            @else if o.claimed_by_me { " · " (l.t(&t::CLAIMED)) }
                        }
                        details {
                            summary { (l.t(&t::REQUESTER)) " " (named(l, &o.requester, o.requester_name.as_deref(), &c.me)) }
                            (record(l, &o.record, 1))
                        }
                    }
                }
            }
            (pager(ctx, q.paging(), offers.len(), "offers-pages"))
        }
    };
    page(
        ctx,
        Some(c),
        Tab::Offers,
        l.t(&t::OFFERS),
        q.done.is_some(),
        body,
    )
}

/// One offer, with the claim button.
pub(crate) fn offer(
    ctx: &Ctx,
    c: &CoopInfo,
    o: &OfferView,
    now: Timestamp,
    done: bool,
) -> Response {
    let l = ctx.lang;
    let mine = o.requester == c.me;
    let body = html! {
        section #offer data-live="1" {
            p.figures {
                strong.pay { (l.money(o.pay.minor, &o.pay.currency)) }
                " · " (l.f(&t::MINUTES_N, &l.int(u64::from(o.minutes))))
                " · " span.rate { (l.rate(o.hourly.minor, &o.hourly.currency)) }
            }
            p.small {
                (against_floor(l, o))
                @if let Some(f) = &o.floor { " (" (l.t(&t::FLOOR)) " " (l.rate(f.minor, &f.currency)) ")" }
            }
            dl {
                dt { (l.t(&t::PURPOSE)) } dd { bdi { (o.purpose) } }
                @if !o.description.is_empty() { dt { (l.t(&t::DESCRIPTION)) } dd.pre { bdi { (o.description) } } }
                dt { (l.t(&t::STATE)) } dd { span.badge { (state_label(l, &o.state)) } " " (l.n(&t::CLAIMS_N, o.claims, &[])) }
                dt { (l.t(&t::PLACES)) } dd { (o.assignments) }
                dt { (l.t(&t::REVIEW_WINDOW)) } dd { (l.duration(o.review_window_ms)) }
                dt { (l.t(&t::EXPIRES)) } dd { (when(l, o.expires_at)) }
                @if !o.winners.is_empty() {
                    dt { (l.t(&t::WINNERS)) } dd { @for w in &o.winners { (named(l, w, place_name(o, w), &c.me)) " " } }
                }
                @if !o.places.is_empty() {
                    dt { (l.t(&t::DRAW)) }
                    dd {
                        ul.places {
                            @for p in &o.places {
                                li data-place=(p.state) { (named(l, &p.member, p.member_name.as_deref(), &c.me)) " " (place_line(l, p, now)) }
                            }
                        }
                    }
                }
            }
            @if o.void_assignments > 0 {
                p.warn.void { (l.n(&t::VOID_OFFER, o.void_assignments, &[])) }
            }
            @if o.state == "open" {
                p.explain { (fm(l, &t::LOTTERY, &[when(l, o.claim_closes_at), html! { (l.relative(o.claim_closes_at, now)) }])) }
            }
            @if o.assigned_to_me {
                p { strong { (l.t(&t::ASSIGNED_TO_YOU)) } " — " a href=(c.link("work")) { (l.t(&t::MY_WORK)) } }
                (my_standing(l, o, &c.me, now))
            } @else if o.claimed_by_me {
                @if my_place(o, &c.me).is_none() && o.my_claim_counts != Some(false) {
                    p { (l.t(&t::CLAIMED)) }
                }
                (my_standing(l, o, &c.me, now))
            } @else if o.state == "open" && !mine {
                form method="post" action=(c.link(&format!("offers/{}/claim", o.id))) {
                    (csrf(ctx))
                    button.primary #claim type="submit" { (l.t(&t::CLAIM)) }
                }
            }
            @if mine {
                p { (l.t(&t::YOUR_OFFER)) }
                @if o.state == "open" || o.state == "awaiting-assignment" {
                    (withdraw_form(ctx, c, &o.id))
                }
            }
            h2 { (l.t(&t::REQUESTER)) " " (named(l, &o.requester, o.requester_name.as_deref(), &c.me)) }
            (record(l, &o.record, usize::MAX))
        }
    };
    page(ctx, Some(c), Tab::Offers, &o.title, done, body)
}

/// A step that cannot be undone, asked once more: `question`, then a button that sends
/// the same form again with `confirm=1`, and a way back. Works without script.
#[allow(clippy::too_many_arguments)]
pub(crate) fn ask(
    ctx: &Ctx,
    c: &CoopInfo,
    question: &str,
    what: Markup,
    detail: Option<&str>,
    action: &str,
    fields: &[(&str, &str)],
    yes: &str,
    back: &str,
) -> Response {
    let l = ctx.lang;
    let body = html! {
        div.explain #ask role="alert" {
            p { (question) }
            (what)
            @if let Some(d) = detail { p.pre { bdi { (d) } } }
        }
        div.actions {
            form method="post" action=(super::local_path(action)) {
                (csrf(ctx))
                @for (name, value) in fields { input type="hidden" name=(name) value=(value); }
                input type="hidden" name="confirm" value="1";
                button.primary #yes type="submit" { (yes) }
            }
            a href=(super::local_path(back)) { (l.t(&t::PAY_CHANGE)) }
        }
    };
    page(ctx, Some(c), Tab::Requests, l.t(&t::SURE), false, body)
}

/// What a confirmation is about: an offer's or a submission's title, who did the work,
/// and its pay.
pub(crate) fn about(
    l: Lang,
    title: &str,
    member: Option<(&str, Option<&str>)>,
    pay: &Amount,
    me: &str,
) -> Markup {
    html! {
        p.about {
            strong { bdi { (title) } }
            @if let Some((m, name)) = member { " · " (named(l, m, name, me)) }
            " · " (l.money(pay.minor, &pay.currency))
        }
    }
}

/// The values of the post-offer form, kept when the node refuses it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct OfferForm {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) purpose: String,
    #[serde(default)]
    pub(crate) pay: String,
    #[serde(default)]
    pub(crate) currency: String,
    #[serde(default)]
    pub(crate) minutes: String,
    #[serde(default)]
    pub(crate) assignments: String,
    #[serde(default)]
    pub(crate) claim_window_s: String,
    #[serde(default)]
    pub(crate) review_window_h: String,
}

/// How this language writes a rate in `currency`, with `{}` for the number (`€{}/h`),
/// so the page's script writes rates exactly as the node does.
fn rate_template(l: Lang, currency: &str) -> String {
    l.rate(0, currency)
        .replacen(&l.decimal(0, currency), "{}", 1)
}

/// The post-offer form; `error` is the node's refusal of the last try.
pub(crate) fn post_form(
    ctx: &Ctx,
    c: &CoopInfo,
    f: &OfferForm,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let l = ctx.lang;
    let (dec, grp) = l.separators();
    let cur = if f.currency.is_empty() {
        c.floors
            .first()
            .map(|a| a.currency.clone())
            .unwrap_or_default()
    } else {
        f.currency.clone()
    };
    let floor = c.floor(&cur).unwrap_or(0);
    let least_s = c.min_claim_window_s();
    // The node's default window, or the cooperative's least when that is longer.
    let window_s = (taawun_api::request::DEFAULT_CLAIM_WINDOW_MS / 1000).max(least_s);
    let least_msg = l.fa(
        &t::CLAIM_WINDOW_LEAST,
        &[&l.duration(c.min_claim_window_ms), &least_s.to_string()],
    );
    let body = html! {
        @if !c.can_post { p.error { (l.t(&t::NOT_REQUESTER)) } }
        @if let Some(e) = error { p.error #refused role="alert" { bdi { (e) } } }
        p { (l.f(&t::FLOOR_IS, &c.floors.iter().map(|a| l.rate(a.minor, &a.currency)).collect::<Vec<_>>().join(", "))) }
        form #offer-form method="post" action=(c.link("offers"))
            data-floors=(c.floors.iter().map(|a| format!("{}:{}:{}:{}", a.currency, a.minor, a.decimals, rate_template(l, &a.currency))).collect::<Vec<_>>().join(","))
            data-dec=(dec) data-grp=(grp) data-too-many=(l.t(&t::MAX_DECIMALS))
            data-ok=(l.t(&t::RATE_OK)) data-low=(l.t(&t::RATE_LOW)) {
            (csrf(ctx))
            div.field {
                label for="title" { (l.t(&t::TITLE)) }
                input #title type="text" name="title" required maxlength=(limits::TITLE) value=(f.title);
            }
            div.field {
                label for="purpose" { (l.t(&t::PURPOSE)) }
                input #purpose type="text" name="purpose" required maxlength=(limits::PURPOSE) value=(f.purpose) aria-describedby="purpose-hint";
                p.small #purpose-hint { (l.t(&t::PURPOSE_HINT)) }
            }
            div.field {
                label for="description" { (l.t(&t::DESCRIPTION)) }
                textarea #description name="description" rows="4" maxlength=(limits::DESCRIPTION) { (f.description) }
            }
            div.row {
                div.field {
                    label for="pay" { (l.t(&t::PAY_PER)) }
                    input #pay type="text" name="pay" inputmode="decimal" required pattern=(amount_pattern(most_decimals(&c.floors))) value=(f.pay) size="8" aria-describedby="rate";
                }
                div.field {
                    label for="currency" { (l.t(&t::CURRENCY)) }
                    select #currency name="currency" {
                        @for a in &c.floors { option value=(a.currency) selected[a.currency == cur] data-pattern=(amount_pattern(a.decimals)) { (a.currency) } }
                    }
                }
                div.field {
                    label for="minutes" { (l.t(&t::MINUTES_EST)) }
                    input #minutes type="text" name="minutes" inputmode="numeric" autocomplete="off" required pattern=(whole_pattern()) value=(f.minutes) size="5" aria-describedby="rate";
                }
            }
            p #rate aria-live="polite" data-floor=(floor) {}
            details {
                summary { (l.t(&t::MORE)) }
                div.field {
                    label for="assignments" { (l.t(&t::PLACES)) }
                    input #assignments type="text" inputmode="numeric" autocomplete="off" pattern=(whole_pattern()) size="5" name="assignments" value=(if f.assignments.is_empty() { "1" } else { f.assignments.as_str() });
                }
                div.field {
                    label for="claim_window_s" { (l.t(&t::CLAIM_WINDOW_S)) }
                    input #claim_window_s type="text" inputmode="numeric" autocomplete="off" pattern=(whole_pattern()) size="7" name="claim_window_s" data-min=(least_s) data-min-msg=(least_msg) value=(if f.claim_window_s.is_empty() { window_s.to_string() } else { f.claim_window_s.clone() }) aria-describedby="claim-window-hint";
                    p.small #claim-window-hint { (least_msg) }
                }
                div.field {
                    label for="review_window_h" { (l.t(&t::REVIEW_WINDOW_H)) }
                    input #review_window_h type="text" inputmode="numeric" autocomplete="off" pattern=(whole_pattern()) size="5" name="review_window_h" value=(if f.review_window_h.is_empty() { "48" } else { f.review_window_h.as_str() });
                }
            }
            button.primary #publish type="submit" { (l.t(&t::PUBLISH)) }
        }
    };
    let mut r = page(ctx, Some(c), Tab::Post, l.t(&t::POST_OFFER), false, body);
    *r.status_mut() = status;
    r
}
