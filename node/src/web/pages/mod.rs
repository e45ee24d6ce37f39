//! The pages' HTML (maud templates): the frame and what the views share, then one module
//! per view, as the handlers are. Data comes in as the API's views, already fetched by the
//! handlers; everything a person reads is in their language ([`super::i18n`]).

use super::i18n::{self as t, Lang};
use super::Ctx;
use super::{devices, handlers, local_path};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use taawun_api::views::*;
use taawun_core::Timestamp;

mod coop;
mod earnings;
mod offers;
mod requests;
mod work;

pub(crate) use self::coop::coop;
pub(crate) use self::earnings::earnings;
pub(crate) use self::offers::{about, ask, board, offer, post_form, BoardQuery, OfferForm};
pub(crate) use self::requests::{pay_confirm, requests};
pub(crate) use self::work::work;

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

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_api::limits;

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
