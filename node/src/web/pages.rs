//! The pages' HTML (maud templates): one frame, then one function per view. Data comes
//! in as the API's views, already fetched by the handlers; everything a person reads is
//! in their language ([`super::i18n`]).

use super::chart;
use super::i18n::{self as t, Lang};
use super::Ctx;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use taawun_api::limits;
use taawun_api::views::*;
use taawun_core::Timestamp;

/// The style sheet's URL, versioned so a new binary's styles are not hidden by the cache.
fn style_url() -> String {
    format!(
        "/s/style.css?v={}",
        &blake3::hash(super::STYLE.as_bytes()).to_hex()[..8]
    )
}

fn script_url() -> String {
    format!(
        "/s/app.js?v={}",
        &blake3::hash(super::SCRIPT.as_bytes()).to_hex()[..8]
    )
}

/// What the frame shows of a cooperative, and who this node is in it.
#[derive(Debug, Clone)]
pub(crate) struct CoopInfo {
    pub(crate) id: String,
    pub(crate) name: String,
    /// This node's key.
    pub(crate) me: String,
    /// Whether this node's key may post offers (a member or an admitted requester).
    pub(crate) can_post: bool,
    /// Floors in force.
    pub(crate) floors: Vec<Amount>,
    /// The shortest claim window the cooperative's rules allow now.
    pub(crate) min_claim_window_ms: u64,
    /// While this node's writes wait for a peer to confirm the member's latest entry:
    /// the cooperative's peers connected (docs/protocol.md 13.11).
    pub(crate) waiting: Option<usize>,
}

impl CoopInfo {
    pub(crate) fn link(&self, rest: &str) -> String {
        format!("/c/{}/{rest}", self.id)
    }

    /// The floor in force for `currency`, in minor units per hour.
    pub(crate) fn floor(&self, currency: &str) -> Option<u64> {
        self.floors
            .iter()
            .find(|a| a.currency == currency)
            .map(|a| a.minor)
    }

    /// The shortest claim window in whole seconds (rounded up; at least one).
    pub(crate) fn min_claim_window_s(&self) -> u64 {
        self.min_claim_window_ms.div_ceil(1000).max(1)
    }
}

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    Offers,
    Work,
    Earnings,
    Post,
    Requests,
    Coop,
    None,
}

/// A whole page.
pub(crate) fn page(
    ctx: &Ctx,
    coop: Option<&CoopInfo>,
    tab: Tab,
    title: &str,
    done: bool,
    body: Markup,
) -> Response {
    let l = ctx.lang;
    let here = ctx.here.clone();
    let m = html! {
        (DOCTYPE)
        html lang=(l.code()) dir=(l.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                meta name="referrer" content=(super::REFERRER_POLICY);
                // No markup in a title: isolates (FSI ... PDI) do what `<bdi>` does.
                title { (isolated(title)) @if let Some(c) = coop { " · " (isolated(&c.name)) } }
                link rel="stylesheet" href=(style_url());
                script src=(script_url()) defer {}
            }
            body data-coop=[coop.map(|c| c.id.as_str())] {
                header.top {
                    @if let Some(c) = coop {
                        a.brand href=(c.link("offers")) { bdi { (c.name) } }
                        nav aria-label=(l.t(&t::MAIN_NAV)) {
                            ul {
                                (tab_link(c.link("offers"), l.t(&t::OFFERS), tab == Tab::Offers))
                                (tab_link(c.link("work"), l.t(&t::MY_WORK), tab == Tab::Work))
                                (tab_link(c.link("earnings"), l.t(&t::EARNINGS), tab == Tab::Earnings))
                                @if c.can_post {
                                    (tab_link(c.link("post"), l.t(&t::POST_OFFER), tab == Tab::Post))
                                    (tab_link(c.link("requests"), l.t(&t::REQUESTS), tab == Tab::Requests))
                                }
                                (tab_link(c.link("coop"), l.t(&t::COOP), tab == Tab::Coop))
                            }
                        }
                    } @else {
                        a.brand href="/" { "taawun" }
                    }
                }
                main #main {
                    @if done && ctx.waiting { p.flash.waiting #flash role="status" { (l.t(&t::WAITING)) } }
                    @else if done { p.flash #flash role="status" { (l.t(&t::DONE)) } }
                    @if let Some(n) = coop.and_then(|c| c.waiting) { p.warn #waiting role="status" { (l.n(&t::WAITING_FOR_PEERS_N, n, &[])) } }
                    h1 { bdi { (title) } }
                    (body)
                }
                footer {
                    (lang_switch(l, &here))
                    form method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(ctx.csrf);
                        button.link type="submit" { (l.t(&t::LOG_OUT)) }
                    }
                    // Shown by the script, which does the updating: without it, no promise.
                    p.small #live-note hidden { (l.t(&t::LIVE_NOTE)) }
                }
            }
        }
    };
    html_response(StatusCode::OK, m)
}

/// A time as the node writes it (UTC, said so), in `<time datetime>` so the page's script
/// can show it in the reader's own time zone.
fn when(l: Lang, ms: Timestamp) -> Markup {
    html! { time datetime=(t::iso(ms)) { (l.datetime(ms)) } }
}

/// Text in a first-strong isolate (U+2068 ... U+2069): whatever direction marks it holds
/// end with it, where markup (`<bdi>`) cannot go.
fn isolated(s: &str) -> String {
    format!("\u{2068}{s}\u{2069}")
}

/// The text with each `{}` replaced by the next of `args`, which are markup (user text in
/// `<bdi>`, say); the text around them is escaped.
fn fm(l: Lang, tr: &t::Tr, args: &[Markup]) -> Markup {
    let mut parts = l.t(tr).split("{}");
    let first = parts.next().unwrap_or("");
    html! {
        (first)
        @for (i, p) in parts.enumerate() {
            @if let Some(a) = args.get(i) { (a) }
            (p)
        }
    }
}

fn html_response(status: StatusCode, m: Markup) -> Response {
    (
        status,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Html(m.into_string()),
    )
        .into_response()
}

fn tab_link(href: String, label: &str, current: bool) -> Markup {
    html! {
        li { a href=(href) aria-current=[current.then_some("page")] { (label) } }
    }
}

fn lang_switch(l: Lang, here: &str) -> Markup {
    html! {
        nav.langs aria-label=(l.t(&t::LANGUAGE)) {
            @for x in t::ALL {
                @if x == l {
                    span lang=(x.code()) aria-current="true" { (x.name()) }
                } @else {
                    a lang=(x.code()) hreflang=(x.code()) href=(format!("/lang/{}?next={}", x.code(), urlencode(here))) { (x.name()) }
                }
            }
        }
    }
}

/// Percent-encodes a path for a query value.
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn csrf(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf); }
}

/// A person as people read them: the name the cooperative admitted them under (user
/// text, so isolated in `<bdi>`: an Arabic name never reorders the key beside it), then
/// the key's first digits, the whole key on hover; "you" for ours.
fn named(l: Lang, key: &str, name: Option<&str>, me: &str) -> Markup {
    html! {
        span.key title=(key) {
            @if let Some(n) = name { span.name { bdi { (n) } } " · " }
            code { (key.get(..8).unwrap_or(key)) }
            @if key == me { " (" (l.t(&t::YOU)) ")" }
        }
    }
}

/// The same as plain text, for an `<option>`, which holds no markup: the name between
/// FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE, which the name rule keeps out of
/// names, so the isolation cannot be broken from inside.
fn named_text(key: &str, name: Option<&str>) -> String {
    let short = key.get(..8).unwrap_or(key);
    match name {
        Some(n) => format!("\u{2068}{n}\u{2069} · {short}"),
        None => short.to_owned(),
    }
}

/// The login help page, for browsers without a session. With `retry`, the page loads
/// itself once more: a link followed from another site comes without the session cookie
/// (`SameSite=Strict`), and the page's own reload brings it, so a logged-in member lands
/// in the app rather than here.
pub(crate) fn welcome(l: Lang, error: Option<&str>, retry: bool) -> Response {
    let m = html! {
        (DOCTYPE)
        html lang=(l.code()) dir=(l.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                @if retry { meta http-equiv="refresh" content="0;url=/welcome?again=1"; }
                title { (l.t(&t::WELCOME)) }
                link rel="stylesheet" href=(style_url());
            }
            body {
                header.top { a.brand href="/" { "taawun" } }
                main #main {
                    h1 { (l.t(&t::WELCOME)) }
                    @if let Some(e) = error { p.error role="alert" { (e) } }
                    p { (l.t(&t::WELCOME_TEXT)) }
                    pre dir="ltr" { code { "taawun ui" } }
                }
                footer { (lang_switch(l, "/welcome")) }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    html_response(status, m)
}

/// A form that came without this session's token.
pub(crate) fn csrf_refused(l: Lang) -> Response {
    let m = html! {
        (DOCTYPE)
        html lang=(l.code()) dir=(l.dir()) {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width,initial-scale=1"; title { (l.t(&t::FAILED)) } link rel="stylesheet" href=(style_url()); }
            body { main #main { h1 { (l.t(&t::FAILED)) } p.error role="alert" { (l.t(&t::CSRF_BAD)) } p { a href="/" { (l.t(&t::BACK)) } } } }
        }
    };
    html_response(StatusCode::FORBIDDEN, m)
}

/// An action the node refused: its message, and a way back.
pub(crate) fn failed(
    ctx: &Ctx,
    coop: Option<&CoopInfo>,
    status: StatusCode,
    msg: &str,
    back: &str,
) -> Response {
    let l = ctx.lang;
    let body = html! {
        p.error role="alert" { (l.t(&t::REFUSED)) " " bdi { (msg) } }
        p { a href=(super::local_path(back)) { (l.t(&t::BACK)) } }
    };
    let mut r = page(ctx, coop, Tab::None, l.t(&t::FAILED), false, body);
    *r.status_mut() = status;
    r
}

/// An action the node refused for a reason the page knows: `msg` in the page's language,
/// and the node's own words (`detail`, English) folded away for whoever needs them.
pub(crate) fn refused(
    ctx: &Ctx,
    coop: Option<&CoopInfo>,
    status: StatusCode,
    msg: &str,
    detail: &str,
    back: &str,
) -> Response {
    let l = ctx.lang;
    let body = html! {
        p.error role="alert" { (msg) }
        details.small { summary { (l.t(&t::DETAILS)) } p lang="en" dir="ltr" { bdi { (detail) } } }
        p { a href=(super::local_path(back)) { (l.t(&t::BACK)) } }
    };
    let mut r = page(ctx, coop, Tab::None, l.t(&t::FAILED), false, body);
    *r.status_mut() = status;
    r
}

/// A form the page did not send on: `msg`, already in the page's language, says why.
pub(crate) fn invalid(ctx: &Ctx, coop: Option<&CoopInfo>, msg: &str, back: &str) -> Response {
    let l = ctx.lang;
    let body = html! {
        p.error role="alert" { (msg) }
        p { a href=(super::local_path(back)) { (l.t(&t::BACK)) } }
    };
    let mut r = page(ctx, coop, Tab::None, l.t(&t::FAILED), false, body);
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

/// The cooperatives this node holds.
pub(crate) fn home(ctx: &Ctx, coops: &[CoopSummary]) -> Response {
    let l = ctx.lang;
    let body = html! {
        @if coops.is_empty() {
            p { (l.t(&t::NO_COOPS)) }
        } @else {
            ul.cards {
                @for c in coops {
                    li.card { a href=(format!("/c/{}/offers", c.id)) { bdi { (c.name) } } " · " (l.t(&t::ROLE)) ": " (c.role) }
                }
            }
        }
    };
    page(ctx, None, Tab::None, l.t(&t::YOUR_COOPS), false, body)
}

fn state_label(l: Lang, s: &str) -> &'static str {
    match s {
        "open" => l.t(&t::ST_OPEN),
        "awaiting-assignment" => l.t(&t::ST_AWAIT),
        "assigned" => l.t(&t::ST_ASSIGNED),
        "withdrawn" => l.t(&t::ST_WITHDRAWN),
        _ => l.t(&t::ST_EXPIRED),
    }
}

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

/// The requester's record, in a few lines, with at most `comments` of what members wrote
/// (the board shows one per offer, to stay small; an offer's page all the record holds).
pub(crate) fn record(l: Lang, r: &RecordView, comments: usize) -> Markup {
    let mut parts: Vec<String> = Vec::new();
    if let Some(ms) = r.median_review_ms {
        parts.push(l.f(&t::REVIEWS_IN, &l.duration(ms)));
    }
    if let Some(ms) = r.median_pay_ms {
        parts.push(l.f(&t::PAYS_IN, &l.duration(ms)));
    }
    for a in &r.hourly_rate {
        parts.push(l.f(&t::PAID_RATE, &l.rate(a.minor, &a.currency)));
    }
    for a in r.unpaid.iter().filter(|a| a.minor > 0) {
        parts.push(l.f(&t::UNPAID, &l.money(a.minor, &a.currency)));
    }
    for a in r.unconfirmed.iter().filter(|a| a.minor > 0) {
        parts.push(l.f(&t::UNCONFIRMED_LINE, &l.money(a.minor, &a.currency)));
    }
    if r.not_received > 0 {
        parts.push(l.n(&t::NOT_RECEIVED_LINE, r.not_received, &[]));
    }
    if r.appeals > 0 {
        let n = [r.appeals, r.appeals_upheld, r.appeals_dismissed].map(|n| n.to_string());
        parts.push(l.fa(&t::APPEALS_LINE, &[&n[0], &n[1], &n[2]]));
    }
    let counts = [r.accepted, r.accepted_by_default, r.rejected, r.pending].map(|n| n.to_string());
    html! {
        div.record {
            @if r.submissions == 0 {
                p.small { (l.t(&t::NO_RECORD)) }
            } @else {
                p.small { (l.fa(&t::RECORD_LINE, &[&counts[0], &counts[1], &counts[2], &counts[3]])) }
            }
            @if !parts.is_empty() { p.small { (parts.join(" · ")) } }
            @if r.void_assignments > 0 {
                p.small.warn.void { (l.n(&t::VOID_LINE, r.void_assignments, &[])) }
            }
            @if let Some(s) = r.scores {
                p.small { (l.fa(&t::SCORES, &[&r.reviews.to_string(), &score(l, s[0]), &score(l, s[1]), &score(l, s[2]), &score(l, s[3])])) }
            }
            @if !r.comments.is_empty() && comments > 0 {
                p.small.label { (l.t(&t::COMMENTS)) }
                ul.comments {
                    @for m in r.comments.iter().take(comments) {
                        li {
                            @match &m.text {
                                Some(text) => blockquote { bdi { (text) } },
                                None => p.small.sealed { (l.t(&t::SEALED_COMMENT)) },
                            }
                            @if let Some(why) = &m.text_flag { p.warn { (l.f(&t::FLAGGED, why)) } }
                            p.small { span.key title=(m.member) { code { (m.member.get(..8).unwrap_or(&m.member)) } } " · " (when(l, m.at)) }
                        }
                    }
                }
            }
        }
    }
}

fn score(l: Lang, x100: u32) -> String {
    let (dec, _) = l.separators();
    format!("{}{dec}{}", x100 / 100, x100 % 100 / 10)
}

/// Items a long list shows at once unless the address says otherwise (`per`): a page
/// stays a few kilobytes on a slow link.
pub(crate) const PAGE_SIZE: usize = 50;
/// Most items a list shows at once, whatever `per` says.
pub(crate) const MAX_PAGE_SIZE: usize = 200;

/// Where a long list starts (`from`) and how many it shows (`per`), from the address.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Paging {
    pub(crate) from: usize,
    pub(crate) per: Option<usize>,
}

impl Paging {
    /// How many items a page shows.
    pub(crate) fn size(self) -> usize {
        self.per.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
    }

    /// This page's items of `all`.
    pub(crate) fn slice<T>(self, all: &[T]) -> &[T] {
        let from = self.from.min(all.len());
        let to = from.saturating_add(self.size()).min(all.len());
        &all[from..to]
    }
}

/// `here` (a path and query) starting the list at `from`: the other parameters kept, a
/// `done` flag dropped.
fn at_from(here: &str, from: usize) -> String {
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("from=") && !kv.starts_with("done="))
        .collect();
    let f = format!("from={from}");
    kept.push(&f);
    format!("{path}?{}", kept.join("&"))
}

/// "1–50 of 120" with links to the previous and next pages, when a list is longer than
/// one page; nothing otherwise.
fn pager(ctx: &Ctx, p: Paging, total: usize, id: &str) -> Markup {
    let l = ctx.lang;
    let size = p.size();
    let from = p.from.min(total);
    let to = from.saturating_add(size).min(total);
    html! {
        @if total > size || from > 0 {
            nav.pager id=(id) aria-label=(l.fa(&t::SHOWING, &[&l.int((from + 1).min(total) as u64), &l.int(to as u64), &l.int(total as u64)])) {
                @if from > 0 { a.prev rel="prev" href=(at_from(&ctx.here, from.saturating_sub(size))) { (l.t(&t::PREVIOUS)) } }
                span { (l.fa(&t::SHOWING, &[&l.int((from + 1).min(total) as u64), &l.int(to as u64), &l.int(total as u64)])) }
                @if to < total { a.next rel="next" href=(at_from(&ctx.here, to)) { (l.t(&t::NEXT)) } }
            }
        }
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

/// The requester's button to withdraw an offer; it asks first (a page without script, a
/// dialog with it).
fn withdraw_form(ctx: &Ctx, c: &CoopInfo, offer: &str) -> Markup {
    let l = ctx.lang;
    html! {
        form.withdraw method="post" action=(c.link(&format!("offers/{offer}/withdraw"))) data-confirm=(l.t(&t::ASK_WITHDRAW)) {
            (csrf(ctx))
            button type="submit" { (l.t(&t::WITHDRAW)) }
        }
    }
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

/// The place of the draw `me` holds in `o`, if any.
/// A drawn member's name, from the offer's places.
fn place_name<'a>(o: &'a OfferView, member: &str) -> Option<&'a str> {
    o.places
        .iter()
        .find(|p| p.member == member)
        .and_then(|p| p.member_name.as_deref())
}

fn my_place<'a>(o: &'a OfferView, me: &str) -> Option<&'a PlaceView> {
    o.places.iter().find(|p| p.member == me)
}

/// Where one place of a draw stands, in words.
fn place_line(l: Lang, p: &PlaceView, now: Timestamp) -> Markup {
    match p.state.as_str() {
        "open" => {
            html! { span.pending { (fm(l, &t::PLACE_OPEN, &[when(l, p.until), html! { (l.relative(p.until, now)) }])) } }
        }
        "filled" => html! { span.ok { (l.t(&t::PLACE_FILLED)) } },
        _ => html! { span.bad { (fm(l, &t::PLACE_LAPSED, &[when(l, p.until)])) } },
    }
}

/// What the viewer's own claim and place ask of them: the deadline of their work, a
/// place that lapsed, a claim that came too late. Empty when there is none of these.
fn my_standing(l: Lang, o: &OfferView, me: &str, now: Timestamp) -> Markup {
    html! {
        @if let Some(until) = o.submit_by {
            p.deadline { strong { (fm(l, &t::SUBMIT_BY, &[when(l, until), html! { (l.relative(until, now)) }])) } }
        } @else if let Some(place) = my_place(o, me).filter(|x| x.state == "lapsed") {
            p.warn.lapsed { (fm(l, &t::MY_PLACE_LAPSED, &[when(l, place.until)])) }
        } @else if o.my_claim_counts == Some(false) {
            p.warn.late { (l.t(&t::LATE_CLAIM)) }
        } @else if o.claimed_by_me && !o.winners.is_empty() && my_place(o, me).is_none() {
            p.not-drawn { (l.t(&t::NOT_DRAWN)) }
        }
    }
}

/// The review state of a submission, in a sentence.
fn review_line(l: Lang, s: &SubmissionView, now: Timestamp) -> Markup {
    match s.review.as_str() {
        "pending" => {
            html! { span.pending { (l.f(&t::REV_PENDING, &l.relative(s.review_at, now))) } }
        }
        "accepted" => html! { span.ok { (l.f(&t::REV_ACCEPTED, &l.relative(s.review_at, now))) } },
        "accepted-by-default" => {
            html! { span.ok { (l.f(&t::REV_DEFAULT, &l.relative(s.review_at, now))) } }
        }
        "upheld-on-appeal" => {
            html! { span.ok { (l.f(&t::REV_UPHELD, &l.relative(s.review_at, now))) } }
        }
        _ => {
            // The reason is sealed to the member and the requester: others read that.
            let reason = match &s.reason {
                Some(r) => html! { bdi { (r) } },
                None => html! { span.sealed { (l.t(&t::SEALED)) } },
            };
            html! {
                span.bad { (fm(l, &t::REV_REJECTED, &[html! { (l.relative(s.review_at, now)) }, reason])) }
                @if let Some(why) = &s.reason_flag { p.warn { (l.f(&t::FLAGGED, why)) } }
            }
        }
    }
}

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

/// An appeal's outcome, in words.
fn outcome_label(l: Lang, outcome: &str) -> &'static str {
    l.t(match outcome {
        "drawing" => &t::OUTCOME_DRAWING,
        "open" => &t::OUTCOME_OPEN,
        "upheld" => &t::OUTCOME_UPHELD,
        "dismissed" => &t::OUTCOME_DISMISSED,
        "no-jury" => &t::OUTCOME_NO_JURY,
        _ => &t::OUTCOME_DEFAULT,
    })
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

/// Digits as members type them: Western, Arabic-Indic (٠-٩) and Persian (۰-۹).
const DIGIT: &str = "[0-9٠-٩۰-۹]";

/// The `pattern` of a whole-number input (minutes): digits of any of our scripts, with
/// spaces between thousands. The node reads them ([`super::i18n::typed_whole`]).
pub(crate) fn whole_pattern() -> String {
    format!("\\s*{DIGIT}+([ \u{a0}\u{202f}]{DIGIT}{{3}})*\\s*")
}

/// The `pattern` of an amount input: digits of any of our scripts, thousands separated
/// by a space (also no-break), a dot, a comma or `٬`, then at most `places` decimals after
/// a `.`, a `,` or `٫` (none when `places` is 0). The node checks the currency's own
/// decimals ([`super::i18n::typed_number`]).
fn amount_pattern(places: u8) -> String {
    let int = format!("\\s*{DIGIT}+([ \u{a0}\u{202f}.,٬]{DIGIT}{{3}})*");
    if places == 0 {
        format!("{int}\\s*")
    } else {
        format!("{int}([.,٫]{DIGIT}{{1,{places}}})?\\s*")
    }
}

/// The most decimals among the currencies of `floors` (2 without floors).
fn most_decimals(floors: &[Amount]) -> u8 {
    floors
        .iter()
        .map(|a| a.decimals)
        .max()
        .unwrap_or(taawun_core::money::DEFAULT_DECIMALS)
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

    const ME: &str = "aaaaaaaa11111111111111111111111111111111111111111111111111111111";
    const NEXT: &str = "bbbbbbbb22222222222222222222222222222222222222222222222222222222";
    /// 2 Jan 2026, 00:00 UTC.
    const JAN_2: Timestamp = 1_767_312_000_000;
    const DAYS_2: u64 = 2 * 86_400_000;

    fn place(member: &str, from: Timestamp, state: &str) -> PlaceView {
        PlaceView {
            member: member.into(),
            member_name: None,
            from,
            until: from + DAYS_2,
            state: state.into(),
            submission: None,
        }
    }

    fn offer() -> OfferView {
        OfferView {
            id: "cc".repeat(32),
            requester: "dd".repeat(32),
            requester_name: None,
            at: 1_000,
            title: "Translate a leaflet".into(),
            description: String::new(),
            purpose: "Clinic".into(),
            pay: Amount::new("EUR", 400),
            minutes: 15,
            hourly: Amount::new("EUR", 1600),
            floor: None,
            assignments: 1,
            state: "assigned".into(),
            claim_closes_at: 601_000,
            expires_at: JAN_2 + 7 * DAYS_2,
            review_window_ms: 1,
            claims: 2,
            winners: vec![NEXT.into()],
            claimed_by_me: true,
            assigned_to_me: false,
            record: RecordView::default(),
            places: vec![
                place(ME, JAN_2 - DAYS_2, "lapsed"),
                place(NEXT, JAN_2, "open"),
            ],
            void_assignments: 0,
            my_claim_counts: Some(true),
            submit_by: None,
        }
    }

    #[test]
    fn a_lapsed_place_a_deadline_and_a_late_claim_are_said_in_each_language() {
        let o = offer();
        let lapsed = my_standing(Lang::En, &o, ME, JAN_2).into_string();
        assert_eq!(
            lapsed,
            "<p class=\"warn lapsed\">Your place lapsed: no work was sent by <time datetime=\"2026-01-02T00:00:00Z\">2 Jan 2026, 00:00 UTC</time>, so it passed to the next claimant.</p>"
        );
        let fr = my_standing(Lang::Fr, &o, ME, JAN_2).into_string();
        assert!(fr.contains("passée au suivant du tirage"), "{fr}");
        // The next claimant holds the place now, with two days to send the work.
        let mut theirs = o.clone();
        theirs.assigned_to_me = true;
        theirs.submit_by = Some(JAN_2 + DAYS_2);
        let due = my_standing(Lang::En, &theirs, NEXT, JAN_2).into_string();
        assert!(
            due.contains("Send your work by <time datetime=\"2026-01-04T00:00:00Z\">4 Jan 2026, 00:00 UTC</time> (in 2 d 0 h)"),
            "{due}"
        );
        let ar = my_standing(Lang::Ar, &theirs, NEXT, JAN_2).into_string();
        assert!(ar.contains("أرسل عملك قبل"), "{ar}");
        assert_eq!(
            place_line(Lang::En, &o.places[0], JAN_2).into_string(),
            "<span class=\"bad\">lapsed (no work by <time datetime=\"2026-01-02T00:00:00Z\">2 Jan 2026, 00:00 UTC</time>): passed to the next claimant</span>"
        );
        // A claim made after the window.
        let mut late = o.clone();
        late.places.clear();
        late.winners.clear();
        late.my_claim_counts = Some(false);
        let said = my_standing(Lang::En, &late, ME, JAN_2).into_string();
        assert!(
            said.contains("after the claim window and does not count"),
            "{said}"
        );
        // Nothing to say to someone who did not claim.
        late.claimed_by_me = false;
        late.my_claim_counts = None;
        assert_eq!(my_standing(Lang::En, &late, ME, JAN_2).into_string(), "");
    }

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

    #[test]
    fn a_record_shows_what_members_wrote_the_board_only_the_latest() {
        let said = |text: &str, at| ReviewComment {
            member: ME.into(),
            member_name: None,
            at,
            scores: [4, 4, 5, 3],
            text: Some(text.into()),
            text_flag: None,
        };
        let r = RecordView {
            reviews: 2,
            comments: vec![
                said("Paid the same day", JAN_2),
                said("\u{202e}Clear", 1_000),
            ],
            ..RecordView::default()
        };
        let page = record(Lang::En, &r, usize::MAX).into_string();
        assert!(page.contains("What members wrote"), "{page}");
        assert!(
            page.contains("<blockquote><bdi>Paid the same day</bdi></blockquote>"),
            "{page}"
        );
        assert!(
            page.contains("<bdi>\u{202e}Clear</bdi>"),
            "isolated: {page}"
        );
        let card = record(Lang::Fr, &r, 1).into_string();
        assert!(
            card.contains("Ce qu’en écrivent les membres") && card.contains("Paid the same day"),
            "{card}"
        );
        assert!(!card.contains("Clear"), "{card}");
        assert!(!record(Lang::En, &r, 0).into_string().contains("blockquote"));
        // A comment sealed to others shows that it exists, not its words.
        let mut sealed = said("x", 2_000);
        sealed.text = None;
        let r = RecordView {
            reviews: 1,
            comments: vec![sealed],
            ..RecordView::default()
        };
        let page = record(Lang::En, &r, usize::MAX).into_string();
        assert!(page.contains("a comment, sealed"), "{page}");
        assert!(!page.contains("blockquote"), "{page}");
    }

    #[test]
    fn a_rejection_s_reason_shows_to_the_parties_and_sealed_to_others() {
        let mut s = SubmissionView {
            id: "ee".repeat(32),
            offer: "cc".repeat(32),
            title: "Translate a leaflet".into(),
            member: NEXT.into(),
            member_name: None,
            requester: "dd".repeat(32),
            requester_name: None,
            at: JAN_2,
            witnessed_at: None,
            minutes: 15,
            review: "rejected".into(),
            review_at: JAN_2,
            reason: Some("pages 2 and 3 are missing".into()),
            reason_flag: None,
            pay: Amount::new("EUR", 400),
            topup: Amount::new("EUR", 0),
            result_here: false,
        };
        let party = review_line(Lang::En, &s, JAN_2).into_string();
        assert!(party.contains("pages 2 and 3 are missing"), "{party}");
        s.reason = None;
        for (l, sealed) in [
            (Lang::En, "sealed (only the member"),
            (Lang::Fr, "scellé"),
            (Lang::Ar, "مختوم"),
        ] {
            let other = review_line(l, &s, JAN_2).into_string();
            assert!(other.contains(sealed), "{other}");
        }
    }

    #[test]
    fn a_lost_draw_says_so() {
        let mut o = offer();
        o.claimed_by_me = true;
        o.assigned_to_me = false;
        o.submit_by = None;
        o.my_claim_counts = Some(true);
        o.places.clear();
        o.winners = vec!["cc".repeat(32)];
        let en = my_standing(Lang::En, &o, ME, JAN_2).into_string();
        assert!(en.contains("You were not drawn"), "{en}");
        let fr = my_standing(Lang::Fr, &o, ME, JAN_2).into_string();
        assert!(fr.contains("Vous n’avez pas été tiré"), "{fr}");
        // Before the draw, nothing of the kind.
        o.winners.clear();
        assert_eq!(my_standing(Lang::En, &o, ME, JAN_2).into_string(), "");
    }

    #[test]
    fn assignments_that_left_out_claims_warn_on_the_record() {
        let mut r = RecordView::default();
        assert!(!record(Lang::En, &r, 0).into_string().contains("warn"));
        r.void_assignments = 3;
        let card = record(Lang::En, &r, 0).into_string();
        assert!(
            card.contains("<p class=\"small warn void\">3 assignments that left out claims</p>"),
            "{card}"
        );
        let ar = record(Lang::Ar, &r, 0).into_string();
        assert!(ar.contains("3 إسنادات أغفلت طلبات"), "{ar}");
        r.void_assignments = 1;
        let fr = record(Lang::Fr, &r, 0).into_string();
        assert!(
            fr.contains(">1 attribution ayant écarté des demandes<"),
            "{fr}"
        );
    }

    #[test]
    fn a_record_shows_the_appeals_of_its_rejections_and_how_they_ended() {
        let mut r = RecordView::default();
        assert!(!record(Lang::En, &r, 0).into_string().contains("appeals"));
        (r.appeals, r.appeals_upheld, r.appeals_dismissed) = (3, 2, 1);
        let card = record(Lang::En, &r, 0).into_string();
        assert!(
            card.contains("appeals of its rejections: 3 (2 upheld, 1 dismissed)"),
            "{card}"
        );
        let fr = record(Lang::Fr, &r, 0).into_string();
        assert!(
            fr.contains("appels de ses refus : 3 (admis : 2, rejetés : 1)"),
            "{fr}"
        );
    }

    /// The `maxlength` of the element whose `id` is `id` in `page`.
    fn maxlength(page: &str, id: &str) -> Option<usize> {
        let at = page.find(&format!("id=\"{id}\""))?;
        let tag = &page[at..at + page[at..].find('>')?];
        let rest = &tag[tag.find("maxlength=\"")? + "maxlength=\"".len()..];
        rest[..rest.find('"')?].parse().ok()
    }

    async fn html_of(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .expect("the page's bytes");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn every_typed_text_s_maxlength_is_the_limit_the_node_checks() {
        let ctx = Ctx {
            lang: Lang::En,
            csrf: "token".into(),
            here: "/".into(),
            waiting: false,
        };
        let c = CoopInfo {
            id: "ee".repeat(32),
            name: "Camp 4 transcribers".into(),
            me: ME.into(),
            can_post: true,
            floors: vec![Amount::new("EUR", 1200)],
            min_claim_window_ms: 600_000,
            waiting: None,
        };
        let requester = "dd".repeat(32);
        // Work waiting for review, so the page has its rejection form.
        let pending = SubmissionView {
            id: "ab".repeat(32),
            offer: "cc".repeat(32),
            title: "Translate a leaflet".into(),
            member: NEXT.into(),
            member_name: None,
            requester: requester.clone(),
            requester_name: None,
            at: JAN_2,
            witnessed_at: None,
            minutes: 15,
            review: "pending".into(),
            review_at: JAN_2,
            reason: None,
            reason_flag: None,
            pay: Amount::new("EUR", 400),
            topup: Amount::new("EUR", 0),
            result_here: false,
        };
        let requests = html_of(requests(
            &ctx,
            &c,
            &[],
            std::slice::from_ref(&pending),
            &[],
            &[],
            &RecordView::default(),
            JAN_2,
            false,
            None,
            Paging::default(),
        ))
        .await;
        let earnings = html_of(earnings(
            &ctx,
            &c,
            &[],
            &[],
            &[],
            std::slice::from_ref(&requester),
            false,
            Paging::default(),
        ))
        .await;
        let post = html_of(post_form(
            &ctx,
            &c,
            &OfferForm::default(),
            None,
            StatusCode::OK,
        ))
        .await;
        // A payment's reference is a sealed text: up to 4 000 characters, as the node takes.
        assert_eq!(limits::PAYMENT_REFERENCE, taawun_core::seal::MAX_TEXT_CHARS);
        assert_eq!(
            maxlength(&requests, "pay-ref"),
            Some(limits::PAYMENT_REFERENCE)
        );
        assert_eq!(maxlength(&requests, "pay-ref"), Some(4_000));
        assert_eq!(maxlength(&earnings, "rv-text"), Some(limits::REVIEW_TEXT));
        let reason = format!("reason-{}", pending.id);
        assert_eq!(maxlength(&requests, &reason), Some(limits::REJECT_REASON));
        assert_eq!(maxlength(&post, "title"), Some(limits::TITLE));
        assert_eq!(maxlength(&post, "purpose"), Some(limits::PURPOSE));
        assert_eq!(maxlength(&post, "description"), Some(limits::DESCRIPTION));
    }
}
