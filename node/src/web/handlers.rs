//! The page handlers: read the node's state, render a page; or take a form whose CSRF
//! token was checked ([`Checked`]), do the action and redirect (303) to the page that
//! shows its effect.

// A handler's error is the page that says what went wrong, built once per request and
// returned at once: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use super::chart::Point;
use super::csrf::{tokened, Checked, Posted};
use super::i18n::{self as t, typed_number, typed_whole, Lang};
use super::pages::{self, BoardQuery, CoopInfo, OfferForm, Paging};
use super::{Ctx, Web};
use crate::service::{Error, Known};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use taawun_api::request::*;
use taawun_api::views::*;
use taawun_core::fold::OfferState;
use taawun_core::money::{
    decimals, floor_pay, format_in, hourly_rate, meets_floor, parse_minor_in, parse_scaled,
    MAX_DECIMALS,
};
use taawun_core::{Id, Timestamp};

/// A page or the page that says what went wrong.
type Page = Result<Response, Response>;

fn now() -> Timestamp {
    taawun_net::config::system_now()
}

fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) | Error::WaitingForPeers { .. } => StatusCode::CONFLICT,
        Error::Refused(_) | Error::Rule(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Known(k, _) if k.is_refusal() => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Known(..) => StatusCode::CONFLICT,
        Error::Stopped => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What the node refused, in the page's language when the page knows the refusal (a
/// rule of the protocol, a stopped network, something not held here); otherwise the
/// node's own words (English) after "The node refused it:".
pub(crate) fn node_says(l: Lang, e: &Error) -> Option<String> {
    use taawun_core::Invalid as I;
    let tr = match e {
        Error::Rule(i) => match i {
            I::DoubleClaim { .. } => &t::E_CLAIMED,
            I::OfferExpired { .. } => &t::E_EXPIRED,
            I::NotAllowed { .. } => &t::E_NOT_ALLOWED,
            I::AlreadyReviewed { .. } => &t::E_REVIEWED,
            I::BadScore { .. } => &t::E_SCORE,
            I::BadAmount(_) => &t::E_AMOUNT,
            I::DoubleVote { .. } => &t::E_VOTED,
            I::AlreadyAnswered { .. } => &t::E_ANSWERED,
            I::Oversize { .. } => &t::E_TOO_LONG,
            // The text rule (protocol.md 4.5): a direction control, or a text too long.
            I::BadOffer { why, .. } if why.contains("bidirectional control") => &t::E_BIDI,
            I::BadOffer { why, .. } if why.contains("characters; at most") => &t::E_TOO_LONG,
            I::OfferBelowFloor { .. } => &t::E_FLOOR,
            I::CurrencyNotAllowed(_) => &t::E_CURRENCY,
            I::DoubleSubmit { .. } => &t::E_SUBMITTED,
            I::ResultTooLarge { .. } => &t::E_RESULT_SIZE,
            I::FromTheFuture { .. } => &t::E_CLOCK,
            _ => &t::E_RULES,
        },
        Error::Stopped => &t::E_STOPPED,
        Error::NotFound(_) => &t::E_NOT_HERE,
        Error::Known(k, _) => match k {
            Known::NotOwnOffer => &t::E_NOT_OWN_OFFER,
            Known::NotOwnPayment => &t::E_NOT_OWN_PAYMENT,
            Known::AssignmentNotHeld => &t::E_ASSIGNMENT_NOT_HELD,
            Known::OutboxFull => &t::E_OUTBOX_FULL,
            Known::NotAllHeld => &t::E_NOT_ALL_HELD,
            Known::NotOwnSubmission => &t::E_NOT_OWN_SUBMISSION,
            Known::NotOpen => &t::E_NOT_OPEN,
            Known::NotAssignedHere => &t::E_NOT_ASSIGNED_HERE,
            Known::PaymentAnswered => &t::E_PAYMENT_ANSWERED,
            Known::NotOwnWork => &t::E_NOT_OWN_WORK,
            Known::NothingToAppeal => &t::E_NOTHING_TO_APPEAL,
            Known::NoSeat => &t::E_NO_SEAT,
            Known::DeviceRevoked => &t::E_DEVICE_REVOKED,
        },
        _ => return None,
    };
    Some(l.t(tr).to_owned())
}

pub(super) fn fail(ctx: &Ctx, c: Option<&CoopInfo>, e: &Error, back: &str) -> Response {
    match node_says(ctx.lang, e) {
        Some(m) => pages::refused(ctx, c, status_of(e), &m, &e.to_string(), back),
        None => pages::failed(ctx, c, status_of(e), &e.to_string(), back),
    }
}

fn coop_id(ctx: &Ctx, s: &str) -> Result<Id, Response> {
    parse_id("cooperative", s)
        .map_err(|m| pages::failed(ctx, None, StatusCode::BAD_REQUEST, &m.0, "/"))
}

fn entry_id(ctx: &Ctx, c: &CoopInfo, what: &str, s: &str) -> Result<Id, Response> {
    parse_id(what, s).map_err(|m| {
        pages::failed(
            ctx,
            Some(c),
            StatusCode::BAD_REQUEST,
            &m.0,
            &c.link("offers"),
        )
    })
}

/// The cooperative as the frame shows it.
pub(super) async fn info(web: &Web, ctx: &Ctx, coop: &str) -> Result<(Id, CoopInfo), Response> {
    let id = coop_id(ctx, coop)?;
    let v = web
        .st
        .node
        .coop(id)
        .await
        .map_err(|e| fail(ctx, None, &e, "/"))?;
    // "Me" is the member the node speaks for, also when it signs with a device key.
    let me = web
        .st
        .node
        .me_in(id)
        .await
        .map_err(|e| fail(ctx, None, &e, "/"))?
        .to_hex();
    let can_post = v.members.contains(&me) || v.requesters.contains(&me);
    let writing = web.st.node.writing(id).await;
    let min_claim_window_ms = v
        .limits
        .get("min_claim_window_ms")
        .copied()
        .unwrap_or(DEFAULT_CLAIM_WINDOW_MS);
    Ok((
        id,
        CoopInfo {
            id: v.id,
            name: v.name,
            me,
            can_post,
            floors: v.floors,
            min_claim_window_ms,
            waiting: writing.ok().filter(|w| w.waiting).map(|w| w.peers),
        },
    ))
}

/// Redirects to `path` saying the action was done; or, when no other node is connected,
/// that it is saved here and waits to reach the cooperative (`done=wait`): a member
/// offline in a camp must not read "Done" for a claim nobody has seen yet.
pub(super) async fn done(web: &Web, path: &str) -> Response {
    let alone = web
        .st
        .node
        .net()
        .peers()
        .await
        .map_or(true, |p| p.is_empty());
    let flag = if alone { "wait" } else { "1" };
    Redirect::to(&format!("{path}?done={flag}")).into_response()
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
    /// `1` from the page that asked "are you sure?" (or the script's dialog).
    #[serde(default)]
    confirm: String,
}

// The forms of these pages carry the session's token in `csrf`; handlers take them as
// `Checked<...>`, which checks it.
tokened!(
    CsrfOnly,
    ConfirmForm,
    ReviewForm,
    OfferForm,
    RejectForm,
    PayForm,
    VoteForm,
    AppealForm,
    JuryVoteForm,
    ReplyForm,
);

/// `GET /`: the one cooperative held, or the list.
pub(crate) async fn home(State(web): State<Web>, ctx: Ctx) -> Page {
    let s = web
        .st
        .node
        .status()
        .await
        .map_err(|e| fail(&ctx, None, &e, "/"))?;
    if let [one] = s.coops.as_slice() {
        return Ok(Redirect::to(&format!("/c/{}/offers", one.id)).into_response());
    }
    Ok(pages::home(&ctx, &s.coops))
}

/// `GET /c/{coop}`.
pub(crate) async fn coop_home(Path(coop): Path<String>) -> Response {
    Redirect::to(&format!(
        "/c/{}/offers",
        coop.chars()
            .filter(char::is_ascii_hexdigit)
            .collect::<String>()
    ))
    .into_response()
}

/// Parses a number as typed in a form (`4.5`, `4,50`) in units of `10^-MAX_DECIMALS`, so
/// that it compares with amounts in any currency ([`scaled`]).
fn typed_scaled(s: &str) -> Option<u64> {
    parse_scaled(&typed_number(s)?, MAX_DECIMALS)
}

/// An amount of `currency` typed in a form ([`typed_number`]: `12,50`, `1 000,00`,
/// `١٢٫٥٠`), in minor units; or what is wrong with it, in the page's language.
fn typed_amount(l: Lang, field: &t::Tr, typed: &str, currency: &str) -> Result<u64, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(l.f(&t::REQUIRED, l.t(field)));
    }
    // The typed text in isolates, as all people's text: it cannot reorder the sentence.
    let shown = format!("\u{2068}{typed}\u{2069}");
    let not = || l.fa(&t::NOT_AMOUNT, &[l.t(field), &shown]);
    let n = typed_number(typed).ok_or_else(not)?;
    let places = decimals(currency);
    if n.split_once('.')
        .is_some_and(|(_, f)| f.len() > usize::from(places))
    {
        return Err(l.fa(&t::MAX_DECIMALS, &[currency, &places.to_string()]));
    }
    parse_minor_in(&n, currency).map_err(|_| not())
}

/// A whole number typed in a form, at least 1; or what is wrong with it, in the page's
/// language.
fn typed_count(l: Lang, field: &t::Tr, typed: &str) -> Result<u64, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(l.f(&t::REQUIRED, l.t(field)));
    }
    match typed_whole(typed) {
        None => Err(l.fa(
            &t::NOT_WHOLE,
            &[l.t(field), &format!("\u{2068}{typed}\u{2069}")],
        )),
        Some(0) => Err(l.f(&t::MUST_BE_POSITIVE, l.t(field))),
        Some(n) => Ok(n),
    }
}

/// A page saying, in the page's language, why the form was not sent on (400).
fn said(ctx: &Ctx, c: Option<&CoopInfo>, msg: &str, back: &str) -> Response {
    pages::invalid(ctx, c, msg, back)
}

/// `a` in units of `10^-MAX_DECIMALS`, whatever its currency's decimals.
fn scaled(a: &Amount) -> u128 {
    let shift = MAX_DECIMALS.saturating_sub(decimals(&a.currency));
    u128::from(a.minor) * 10u128.pow(u32::from(shift))
}

/// `GET /c/{coop}/offers`: the board, filtered and sorted.
pub(crate) async fn board(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Query(q): Query<BoardQuery>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    // The board: open offers and the member's own, or everything; searched below.
    let filter = OfferFilter {
        states: q.all.is_none().then(|| vec![OfferState::Open]),
        mine: q.all.is_none(),
        limit: MAX_OFFER_PAGE,
        ..OfferFilter::default()
    };
    let (mut offers, _) = web
        .st
        .node
        .offers(id, &filter)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    let needle = q.q.trim().to_lowercase();
    if !needle.is_empty() {
        offers.retain(|o| {
            [&o.title, &o.purpose, &o.description]
                .iter()
                .any(|s| s.to_lowercase().contains(&needle))
        });
    }
    // The minimum rate is a number in each offer's own currency: `12.5` is 12.50 EUR/h
    // and 12.500 JOD/h.
    if let Some(min) = typed_scaled(&q.min) {
        offers.retain(|o| scaled(&o.hourly) >= u128::from(min));
    }
    match q.sort.as_str() {
        "rate" => offers.sort_by_key(|o| std::cmp::Reverse(scaled(&o.hourly))),
        "pay" => offers.sort_by_key(|o| std::cmp::Reverse(scaled(&o.pay))),
        "short" => offers.sort_by_key(|o| o.minutes),
        _ => {}
    }
    Ok(pages::board(&ctx, &c, &q, &offers, now()))
}

/// `GET /c/{coop}/offers/{offer}`.
pub(crate) async fn offer(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, offer)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let oid = entry_id(&ctx, &c, "offer", &offer)?;
    let o = web
        .st
        .node
        .offer(id, oid)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &c.link("offers")))?;
    Ok(pages::offer(&ctx, &c, &o, now(), q.done.is_some()))
}

/// `POST /c/{coop}/offers/{offer}/claim`.
pub(crate) async fn claim(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, offer)): Path<(String, String)>,
    Checked(_): Checked<CsrfOnly>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let oid = entry_id(&ctx, &c, "offer", &offer)?;
    let back = c.link(&format!("offers/{}", oid.to_hex()));
    // The usual refusal (the draw came first), said in the member's language; the node
    // checks again when it writes.
    let o = web
        .st
        .node
        .offer(id, oid)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    if o.state != "open" {
        return Err(pages::refused(
            &ctx,
            Some(&c),
            StatusCode::CONFLICT,
            ctx.lang.t(&t::E_NOT_OPEN),
            &format!("offer {} is {}", oid.short(), o.state),
            &back,
        ));
    }
    web.st
        .node
        .claim(id, oid)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

/// `POST /c/{coop}/offers/{offer}/withdraw`.
pub(crate) async fn withdraw(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, offer)): Path<(String, String)>,
    Checked(f): Checked<CsrfOnly>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let oid = entry_id(&ctx, &c, "offer", &offer)?;
    let back = c.link(&format!("offers/{}", oid.to_hex()));
    if f.confirm != "1" {
        let l = ctx.lang;
        let action = c.link(&format!("offers/{}/withdraw", oid.to_hex()));
        let o = web
            .st
            .node
            .offer(id, oid)
            .await
            .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
        return Ok(pages::ask(
            &ctx,
            &c,
            l.t(&t::ASK_WITHDRAW),
            pages::about(l, &o.title, None, &o.pay, &c.me),
            None,
            &action,
            &[],
            l.t(&t::YES_WITHDRAW),
            &back,
        ));
    }
    web.st
        .node
        .withdraw(id, oid)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

/// `GET /c/{coop}/work`.
pub(crate) async fn work(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let node = &web.st.node;
    let err = |e: Error| fail(&ctx, Some(&c), &e, "/");
    let me = c.me.clone();
    // Only the member's own (no state), then those won or still in the draw.
    let mine = OfferFilter {
        states: Some(Vec::new()),
        mine: true,
        limit: MAX_OFFER_PAGE,
        ..OfferFilter::default()
    };
    let offers: Vec<OfferView> = node
        .offers(id, &mine)
        .await
        .map_err(err)?
        .0
        .into_iter()
        .filter(|o| {
            // Also a place of the member's that lapsed, or a draw they lost: they should
            // see why it is gone.
            o.assigned_to_me || o.places.iter().any(|p| p.member == me) || o.claimed_by_me
        })
        .collect();
    let my_work = SubmissionFilter {
        member: Some(node.me()),
        ..SubmissionFilter::default()
    };
    let (subs, _) = node
        .submissions(id, &my_work)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    let appeals = node
        .appeals(id, false)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    Ok(pages::work(
        &ctx,
        &c,
        &offers,
        &subs,
        &appeals,
        now(),
        q.done.is_some(),
    ))
}

/// The form that sends work (multipart: csrf, minutes, file), read whole before anything
/// is done.
#[derive(Debug)]
pub(crate) enum Upload {
    /// Every field that arrived.
    Whole {
        csrf: String,
        minutes: String,
        file: Option<axum::body::Bytes>,
    },
    /// The form did not arrive whole: why. It carries nothing to act on, so no token is
    /// asked of it; the handler says what went wrong.
    Broken(String),
}

impl Posted for Upload {
    async fn read(req: Request, web: &Web) -> Result<Self, Response> {
        let mut form = Multipart::from_request(req, web)
            .await
            .map_err(IntoResponse::into_response)?;
        let (mut csrf, mut minutes, mut file) = (String::new(), String::new(), None);
        loop {
            let field = match form.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    return Ok(Upload::Broken(format!(
                        "the form did not arrive whole: {e}"
                    )))
                }
            };
            let read = match field.name().unwrap_or("") {
                "csrf" => field.text().await.map(|t| csrf = t),
                "minutes" => field.text().await.map(|t| minutes = t),
                "file" => field.bytes().await.map(|b| file = Some(b)),
                _ => Ok(()),
            };
            if let Err(e) = read {
                return Ok(Upload::Broken(e.to_string()));
            }
        }
        Ok(Upload::Whole {
            csrf,
            minutes,
            file,
        })
    }

    fn token(&self) -> Option<&str> {
        match self {
            Upload::Whole { csrf, .. } => Some(csrf),
            Upload::Broken(_) => None,
        }
    }
}

/// `POST /c/{coop}/offers/{offer}/submit` (multipart: csrf, minutes, file).
pub(crate) async fn submit(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, offer)): Path<(String, String)>,
    Checked(form): Checked<Upload>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let oid = entry_id(&ctx, &c, "offer", &offer)?;
    let back = c.link("work");
    // The token was checked first: nothing from a foreign form is even parsed further.
    let (minutes, file) = match form {
        Upload::Whole { minutes, file, .. } => (minutes, file),
        Upload::Broken(m) => {
            return Err(pages::failed(
                &ctx,
                Some(&c),
                StatusCode::BAD_REQUEST,
                &m,
                &back,
            ))
        }
    };
    let l = ctx.lang;
    let no_file = || said(&ctx, Some(&c), l.t(&t::NO_FILE), &back);
    let minutes = typed_count(l, &t::MINUTES_WORKED, &minutes)
        .and_then(|m| {
            u32::try_from(m).map_err(|_| l.fa(&t::NOT_WHOLE, &[l.t(&t::MINUTES_WORKED), &minutes]))
        })
        .map_err(|m| said(&ctx, Some(&c), &m, &back))?;
    // A form sent without choosing a file still has the field, empty.
    let file = file.filter(|f| !f.is_empty()).ok_or_else(no_file)?;
    // Work on an offer the member does not hold a place in (the draw went to others, or
    // the place lapsed): said in the member's language; the node checks again.
    let o = web
        .st
        .node
        .offer(id, oid)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    if !o.assigned_to_me {
        return Err(pages::refused(
            &ctx,
            Some(&c),
            StatusCode::CONFLICT,
            l.t(&t::E_NOT_YOURS),
            &format!(
                "offer {} is not assigned to this node's member",
                oid.short()
            ),
            &back,
        ));
    }
    web.st
        .node
        .submit(id, oid, minutes, file.to_vec())
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

/// A page with a long list: `done`, and where the list starts and how long it is (not a
/// flattened [`Paging`]: query strings read numbers only in the struct's own fields).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    from: usize,
    #[serde(default)]
    per: Option<usize>,
}

/// `GET /c/{coop}/earnings`.
pub(crate) async fn earnings(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Query(q): Query<ListQuery>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let node = &web.st.node;
    let err = |e: Error| fail(&ctx, Some(&c), &e, "/");
    let balances: Vec<BalanceView> = node
        .balances(id)
        .await
        .map_err(err)?
        .into_iter()
        .filter(|b| b.member == c.me)
        .collect();
    let to_me = PaymentFilter {
        member: Some(node.me()),
        ..PaymentFilter::default()
    };
    let (payments, _) = node
        .payments(id, &to_me)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    let paid_work = SubmissionFilter {
        member: Some(node.me()),
        review: Some(vec![ReviewState::Accepted, ReviewState::AcceptedByDefault]),
        ..SubmissionFilter::default()
    };
    let (subs, _) = node
        .submissions(id, &paid_work)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    // Effective rate of each accepted task: pay plus top-up over the minutes reported.
    let mut points: Vec<(String, Vec<Point>)> = Vec::new();
    for s in subs.iter().filter(|s| {
        s.member == c.me && (s.review == "accepted" || s.review == "accepted-by-default")
    }) {
        let Some(rate) = hourly_rate(s.pay.minor.saturating_add(s.topup.minor), s.minutes) else {
            continue;
        };
        let p = Point {
            at: s.review_at,
            rate,
        };
        match points.iter_mut().find(|(cur, _)| *cur == s.pay.currency) {
            Some((_, v)) => v.push(p),
            None => points.push((s.pay.currency.clone(), vec![p])),
        }
    }
    let coop_view = node
        .coop(id)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    Ok(pages::earnings(
        &ctx,
        &c,
        &balances,
        &points,
        &payments,
        &coop_view.requesters,
        q.done.is_some(),
        Paging {
            from: q.from,
            per: q.per,
        },
    ))
}

/// The confirm form: the CSRF token, and `received=no` from the "not received" button.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    received: Option<String>,
}

/// `POST /c/{coop}/payments/{pay}/confirm`: received, or (`received=no`) not received.
pub(crate) async fn confirm(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, pay)): Path<(String, String)>,
    Checked(f): Checked<ConfirmForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let pid = entry_id(&ctx, &c, "payment", &pay)?;
    let back = c.link("earnings");
    // The "not received" button sends `received=no`; the confirm button nothing.
    let received = f.received.as_deref() != Some("no");
    web.st
        .node
        .confirm(id, pid, received)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    requester: String,
    #[serde(default)]
    pay: u8,
    #[serde(default)]
    fairness: u8,
    #[serde(default)]
    promptness: u8,
    #[serde(default)]
    communication: u8,
    #[serde(default)]
    text: String,
}

/// `POST /c/{coop}/reviews`.
pub(crate) async fn review(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Checked(f): Checked<ReviewForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let back = c.link("earnings");
    web.st
        .node
        .review(
            id,
            ReviewReq {
                requester: f.requester,
                pay: f.pay,
                fairness: f.fairness,
                promptness: f.promptness,
                communication: f.communication,
                text: f.text,
            },
        )
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

/// `GET /c/{coop}/post`.
pub(crate) async fn post_form(State(web): State<Web>, ctx: Ctx, Path(coop): Path<String>) -> Page {
    let (_, c) = info(&web, &ctx, &coop).await?;
    Ok(pages::post_form(
        &ctx,
        &c,
        &OfferForm::default(),
        None,
        StatusCode::OK,
    ))
}

/// Milliseconds from a number typed in `unit`s, or the default when left empty.
fn typed_ms(l: Lang, s: &str, unit_ms: u64, field: &t::Tr) -> Result<Option<u64>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let n = typed_count(l, field, s)?;
    n.checked_mul(unit_ms)
        .map(Some)
        .ok_or_else(|| l.fa(&t::NOT_WHOLE, &[l.t(field), s.trim()]))
}

/// The API request of the offer form, or what is wrong with the form in the page's
/// language: blank fields, numbers that do not read, a pay under the cooperative's floor
/// or a claim window under its least (which the node would refuse, in English).
fn offer_request(l: Lang, c: &CoopInfo, f: &OfferForm) -> Result<PostOffer, String> {
    for (v, field) in [(&f.title, &t::TITLE), (&f.purpose, &t::PURPOSE)] {
        if v.trim().is_empty() {
            return Err(l.f(&t::REQUIRED, l.t(field)));
        }
    }
    let cur = f.currency.trim();
    let pay = typed_amount(l, &t::PAY_PER, &f.pay, cur)?;
    let too_big = |field: &t::Tr, v: &str| l.fa(&t::NOT_WHOLE, &[l.t(field), v.trim()]);
    let minutes = u32::try_from(typed_count(l, &t::MINUTES_EST, &f.minutes)?)
        .map_err(|_| too_big(&t::MINUTES_EST, &f.minutes))?;
    let assignments = match f.assignments.trim() {
        "" => None,
        a => Some(
            u32::try_from(typed_count(l, &t::PLACES, a)?).map_err(|_| too_big(&t::PLACES, a))?,
        ),
    };
    let claim_window_ms = typed_ms(l, &f.claim_window_s, 1_000, &t::CLAIM_WINDOW_S)?;
    let review_window_ms = typed_ms(l, &f.review_window_h, 3_600_000, &t::REVIEW_WINDOW_H)?;
    let Some(floor) = c.floor(cur) else {
        let floors = c
            .floors
            .iter()
            .map(|a| l.rate(a.minor, &a.currency))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(l.fa(&t::NO_FLOOR_IN, &[cur, &floors]));
    };
    if !meets_floor(pay, minutes, floor) {
        let m = minutes.to_string();
        return Err(l.fa(
            &t::UNDER_FLOOR,
            &[
                &l.money(pay, cur),
                &m,
                &l.rate(hourly_rate(pay, minutes).unwrap_or(0), cur),
                &l.rate(floor, cur),
                &l.money(floor_pay(u64::from(minutes), floor), cur),
                &m,
            ],
        ));
    }
    let window = claim_window_ms.unwrap_or(DEFAULT_CLAIM_WINDOW_MS);
    if window < c.min_claim_window_ms {
        return Err(l.fa(
            &t::WINDOW_TOO_SHORT,
            &[&l.duration(window), &l.duration(c.min_claim_window_ms)],
        ));
    }
    Ok(PostOffer {
        title: f.title.clone(),
        description: f.description.clone(),
        purpose: f.purpose.clone(),
        pay: format!("{}{cur}", format_in(pay, cur)),
        minutes,
        assignments,
        expires_in_ms: None,
        review_window_ms,
        claim_window_ms,
    })
}

/// `POST /c/{coop}/offers`: posts, or shows the form again with the node's refusal.
pub(crate) async fn post_offer(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Checked(f): Checked<OfferForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let req = match offer_request(ctx.lang, &c, &f) {
        Ok(req) => req,
        Err(m) => {
            return Ok(pages::post_form(
                &ctx,
                &c,
                &f,
                Some(&m),
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    };
    match web.st.node.post_offer(id, req).await {
        Ok(w) => Ok(done(&web, &c.link(&format!("offers/{}", w.id))).await),
        Err(e) => {
            let m = node_says(ctx.lang, &e)
                .unwrap_or_else(|| format!("{} {e}", ctx.lang.t(&t::REFUSED)));
            Ok(pages::post_form(&ctx, &c, &f, Some(&m), status_of(&e)))
        }
    }
}

/// The requests page's query: `done`, and the member and currency a "Pay" link chose.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct RequestsQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    pay: Option<String>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    from: usize,
    #[serde(default)]
    per: Option<usize>,
}

/// `GET /c/{coop}/requests`.
pub(crate) async fn requests(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Query(q): Query<RequestsQuery>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let node = &web.st.node;
    let e1 = |e: Error| fail(&ctx, Some(&c), &e, "/");
    let me = node.me_in(id).await.map_err(e1)?;
    let own = OfferFilter {
        requester: Some(me),
        limit: MAX_OFFER_PAGE,
        ..OfferFilter::default()
    };
    let offers: Vec<OfferView> = node.offers(id, &own).await.map_err(e1)?.0;
    let received = SubmissionFilter {
        requester: Some(me),
        ..SubmissionFilter::default()
    };
    let (mut subs, _) = node
        .submissions(id, &received)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    // Pending first, then newest.
    subs.sort_by_key(|s| (s.review != "pending", std::cmp::Reverse(s.at)));
    let owed: Vec<BalanceView> = node
        .balances(id)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?
        .into_iter()
        .filter(|b| b.requester == c.me)
        .collect();
    let rec = node
        .record(id, me)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    let appeals = node
        .appeals(id, false)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    Ok(pages::requests(
        &ctx,
        &c,
        &offers,
        &subs,
        &appeals,
        &owed,
        &rec,
        now(),
        q.done.is_some(),
        q.pay.as_deref().zip(q.currency.as_deref()),
        Paging {
            from: q.from,
            per: q.per,
        },
    ))
}

/// `GET /c/{coop}/submissions/{sub}/result`: the result file, as a download.
pub(crate) async fn result(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, sub)): Path<(String, String)>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let sid = entry_id(&ctx, &c, "submission", &sub)?;
    let bytes = web
        .st
        .node
        .result(id, sid)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &c.link("requests")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"result-{}.bin\"", sid.short()),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// The submission `sid` sent to this node's requester, as a confirmation names it: the
/// offer's title, who did the work and its pay; a refusal page when it is not one.
async fn received(
    web: &Web,
    ctx: &Ctx,
    c: &CoopInfo,
    coop: Id,
    sid: Id,
    back: &str,
) -> Result<maud::Markup, Response> {
    let mine = SubmissionFilter {
        requester: Some(web.st.node.me()),
        ..SubmissionFilter::default()
    };
    let (subs, _) = web
        .st
        .node
        .submissions(coop, &mine)
        .await
        .map_err(|e| fail(ctx, Some(c), &e, back))?;
    let id = sid.to_hex();
    let s = subs.iter().find(|s| s.id == id).ok_or_else(|| {
        fail(
            ctx,
            Some(c),
            &Error::NotFound(format!("no submission {id} for this node's requester")),
            back,
        )
    })?;
    Ok(pages::about(
        ctx.lang,
        &s.title,
        Some((&s.member, s.member_name.as_deref())),
        &s.pay,
        &c.me,
    ))
}

/// `POST /c/{coop}/submissions/{sub}/accept`.
pub(crate) async fn accept(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, sub)): Path<(String, String)>,
    Checked(f): Checked<CsrfOnly>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let sid = entry_id(&ctx, &c, "submission", &sub)?;
    let back = c.link("requests");
    if f.confirm != "1" {
        let l = ctx.lang;
        let action = c.link(&format!("submissions/{}/accept", sid.to_hex()));
        let what = received(&web, &ctx, &c, id, sid, &back).await?;
        return Ok(pages::ask(
            &ctx,
            &c,
            l.t(&t::ASK_ACCEPT),
            what,
            None,
            &action,
            &[],
            l.t(&t::YES_ACCEPT),
            &back,
        ));
    }
    web.st
        .node
        .accept(id, sid)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct RejectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /c/{coop}/submissions/{sub}/reject`.
pub(crate) async fn reject(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, sub)): Path<(String, String)>,
    Checked(f): Checked<RejectForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let sid = entry_id(&ctx, &c, "submission", &sub)?;
    let back = c.link("requests");
    if f.reason.trim().is_empty() {
        return Err(said(&ctx, Some(&c), ctx.lang.t(&t::BLANK_REASON), &back));
    }
    if f.confirm != "1" {
        let l = ctx.lang;
        let action = c.link(&format!("submissions/{}/reject", sid.to_hex()));
        let what = received(&web, &ctx, &c, id, sid, &back).await?;
        return Ok(pages::ask(
            &ctx,
            &c,
            l.t(&t::ASK_REJECT),
            what,
            Some(&f.reason),
            &action,
            &[("reason", &f.reason)],
            l.t(&t::YES_REJECT),
            &back,
        ));
    }
    web.st
        .node
        .reject(id, sid, f.reason)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct PayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    reference: String,
    /// `1` from the confirmation page: the requester has seen that the payment is more
    /// than is owed.
    #[serde(default)]
    confirm: String,
}

/// A payment more than is left to pay the member, in numbers, for the confirmation page.
#[derive(Debug, Clone)]
pub(crate) struct Overpay {
    /// The member (hex).
    pub(crate) member: String,
    /// The name the member was admitted under, if any.
    pub(crate) member_name: Option<String>,
    /// What the form pays.
    pub(crate) paying: Amount,
    /// What is owed the member in that currency (payments confirmed deducted).
    pub(crate) owed: Amount,
    /// Of that, already recorded as paid and not answered by the member yet.
    pub(crate) pending: Amount,
}

/// Whether `req` pays more than is left to pay its member in its currency: owed, less
/// the payments recorded and not answered yet. `None` when it does not, or when the
/// request does not read (the node then says what is wrong with it).
fn overpay(req: &PayReq, me: &str, balances: &[BalanceView]) -> Option<Overpay> {
    let settle = req.payment().ok()?;
    let member = settle.member.to_hex();
    let paying = Amount::from(&settle.amount);
    let zero = || Amount::new(&paying.currency, 0);
    let b = balances
        .iter()
        .find(|b| b.requester == me && b.member == member && b.owed.currency == paying.currency);
    let owed = b.map_or_else(zero, |b| b.owed.clone());
    let pending = b.map_or_else(zero, |b| b.unconfirmed.clone());
    let left = owed.minor.saturating_sub(pending.minor);
    (paying.minor > left).then_some(Overpay {
        member,
        member_name: b.and_then(|b| b.member_name.clone()),
        paying,
        owed,
        pending,
    })
}

/// `POST /c/{coop}/payments`. A payment over what is left to pay the member is not
/// recorded at once: a page shows the numbers and asks to confirm (`confirm=1`).
pub(crate) async fn pay(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Checked(f): Checked<PayForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let back = c.link("requests");
    let l = ctx.lang;
    let cur = f.currency.trim();
    let minor =
        typed_amount(l, &t::AMOUNT, &f.amount, cur).map_err(|m| said(&ctx, Some(&c), &m, &back))?;
    if f.reference.trim().is_empty() {
        let m = l.f(&t::REQUIRED, l.t(&t::REFERENCE));
        return Err(said(&ctx, Some(&c), &m, &back));
    }
    let req = PayReq {
        member: f.member.clone(),
        amount: format!("{}{cur}", format_in(minor, cur)),
        reference: f.reference.clone(),
    };
    if f.confirm != "1" {
        let balances = web
            .st
            .node
            .balances(id)
            .await
            .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
        if let Some(mut over) = overpay(&req, &c.me, &balances) {
            if over.member_name.is_none() {
                if let Ok(s) = req.payment() {
                    over.member_name = web
                        .st
                        .node
                        .name_of(id, &s.member)
                        .await
                        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
                }
            }
            let form = [
                ("member", f.member.as_str()),
                ("amount", f.amount.as_str()),
                ("currency", f.currency.as_str()),
                ("reference", f.reference.as_str()),
            ];
            return Ok(pages::pay_confirm(&ctx, &c, &form, &over));
        }
    }
    web.st
        .node
        .pay(id, req)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

/// `GET /c/{coop}/coop`.
pub(crate) async fn coop(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let node = &web.st.node;
    let v = node
        .coop(id)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    let s = node
        .status()
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, "/"))?;
    Ok(pages::coop(&ctx, &c, &v, &s, now(), q.done.is_some()))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct VoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    proposal: String,
    #[serde(default)]
    yes: String,
}

/// `POST /c/{coop}/votes`.
pub(crate) async fn vote(
    State(web): State<Web>,
    ctx: Ctx,
    Path(coop): Path<String>,
    Checked(f): Checked<VoteForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let back = c.link("coop");
    web.st
        .node
        .vote(
            id,
            VoteReq {
                proposal: f.proposal,
                yes: f.yes == "1",
            },
        )
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_s_refusals_are_said_in_the_page_s_language() {
        let offer = Id::from_hex(&"ab".repeat(32)).expect("id");
        let twice = Error::Rule(taawun_core::Invalid::DoubleClaim { offer });
        assert_eq!(
            node_says(Lang::Fr, &twice).as_deref(),
            Some("Vous avez déjà demandé cette offre.")
        );
        assert_eq!(
            node_says(
                Lang::Ar,
                &Error::Rule(taawun_core::Invalid::BadScore {
                    field: "pay",
                    value: 9
                })
            )
            .as_deref(),
            Some(Lang::Ar.t(&t::E_SCORE))
        );
        assert_eq!(
            node_says(Lang::En, &Error::Stopped).as_deref(),
            Some("The node’s network has stopped: restart the node.")
        );
        // A title with a right-to-left override, in the node's words and the page's.
        let why =
            "contains the bidirectional control U+202E, which can make text read as something else";
        let bidi = Error::Rule(taawun_core::Invalid::BadOffer {
            field: "title",
            why: why.into(),
        });
        assert_eq!(
            node_says(Lang::Fr, &bidi).as_deref(),
            Some("Le texte contient un caractère qui inverse ou cache ce qui l’entoure (une commande de sens, comme U+202E) : retirez-le.")
        );
        // A refusal the page does not know keeps the node's words.
        assert_eq!(node_says(Lang::Fr, &Error::Conflict("busy".into())), None);
        assert_eq!(status_of(&twice), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn refusals_of_ownership_delivery_and_sync_are_said_in_every_language() {
        let all = [
            (Known::NotOwnOffer, StatusCode::UNPROCESSABLE_ENTITY),
            (Known::NotOwnPayment, StatusCode::UNPROCESSABLE_ENTITY),
            (Known::AssignmentNotHeld, StatusCode::CONFLICT),
            (Known::OutboxFull, StatusCode::CONFLICT),
            (Known::NotAllHeld, StatusCode::CONFLICT),
            (Known::NotOwnSubmission, StatusCode::UNPROCESSABLE_ENTITY),
            (Known::NotOpen, StatusCode::CONFLICT),
            (Known::NotAssignedHere, StatusCode::CONFLICT),
            (Known::PaymentAnswered, StatusCode::CONFLICT),
            (Known::NotOwnWork, StatusCode::UNPROCESSABLE_ENTITY),
            (Known::NothingToAppeal, StatusCode::CONFLICT),
            (Known::NoSeat, StatusCode::UNPROCESSABLE_ENTITY),
            (Known::DeviceRevoked, StatusCode::UNPROCESSABLE_ENTITY),
        ];
        let mut said = std::collections::BTreeSet::new();
        for (k, status) in all {
            let e = Error::Known(k, "the node's words".into());
            assert_eq!(status_of(&e), status, "{k:?}");
            assert_eq!(e.to_string(), "the node's words", "the API keeps them");
            for l in t::ALL {
                let m = node_says(l, &e).unwrap_or_else(|| panic!("{k:?} in {l:?}"));
                assert!(!m.is_empty() && said.insert(m.clone()), "{k:?} {l:?}: {m}");
            }
        }
        assert_eq!(
            node_says(
                Lang::Fr,
                &Error::Known(
                    Known::NotOwnPayment,
                    "payment ab is to another member".into()
                )
            )
            .as_deref(),
            Some("Ce paiement est destiné à un autre membre : lui seul peut dire s’il est arrivé.")
        );
        // Work sent to another requester: only they may accept or reject it.
        let other = Error::Known(
            Known::NotOwnSubmission,
            "submission ab is for another requester".into(),
        );
        assert_eq!(
            node_says(Lang::Ar, &other).as_deref(),
            Some("أُرسل هذا العمل إلى صاحب طلب آخر: لا يقبله أو يرفضه إلا هو.")
        );
        assert_eq!(status_of(&other), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn typed_amounts_take_a_comma_or_a_dot() {
        assert_eq!(typed_scaled("4,5"), Some(45_000));
        assert_eq!(typed_scaled(" 12.50 "), Some(125_000));
        assert_eq!(typed_scaled("abc"), None);
    }

    #[test]
    fn a_minimum_rate_reads_in_each_offers_currency() {
        let min = u128::from(typed_scaled("12,5").expect("typed"));
        assert!(scaled(&Amount::new("EUR", 1_250)) >= min);
        assert!(scaled(&Amount::new("EUR", 1_249)) < min);
        assert!(scaled(&Amount::new("JOD", 12_500)) >= min);
        assert!(scaled(&Amount::new("JOD", 12_499)) < min);
        assert!(scaled(&Amount::new("XOF", 13)) >= min);
        assert!(scaled(&Amount::new("XOF", 12)) < min);
        assert!(scaled(&Amount::new("XOF", u64::MAX)) > scaled(&Amount::new("JOD", u64::MAX)));
    }

    #[test]
    fn a_payment_over_what_is_left_to_pay_asks_first() {
        let me = "aa".repeat(32);
        // A real key: the request is read as the node reads it.
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let member_key = hex::encode(key.verifying_key().to_bytes());
        let pay = |amount: &str| PayReq {
            member: member_key.clone(),
            amount: amount.into(),
            reference: "transfer 1".into(),
        };
        let balance = |owed: u64, unconfirmed: u64| BalanceView {
            requester: me.clone(),
            requester_name: None,
            member: member_key.clone(),
            member_name: None,
            earned: Amount::new("EUR", owed),
            topup: Amount::new("EUR", 0),
            paid: Amount::new("EUR", unconfirmed),
            confirmed: Amount::new("EUR", 0),
            denied: Amount::new("EUR", 0),
            unconfirmed: Amount::new("EUR", unconfirmed),
            owed: Amount::new("EUR", owed),
        };
        // Nothing owed: any payment asks.
        let o = overpay(&pay("4.00EUR"), &me, &[]).expect("asks");
        assert_eq!((o.paying.minor, o.owed.minor), (400, 0));
        // Owed 5.00: 5.00 goes through, 5.01 asks, and so does 5.00 in another currency.
        assert!(overpay(&pay("5.00EUR"), &me, &[balance(500, 0)]).is_none());
        assert!(overpay(&pay("5.01EUR"), &me, &[balance(500, 0)]).is_some());
        assert!(overpay(&pay("5.000JOD"), &me, &[balance(500, 0)]).is_some());
        // Owed 5.00 of which 3.00 recorded and not answered: 2.00 is left to pay.
        assert!(overpay(&pay("2.00EUR"), &me, &[balance(500, 300)]).is_none());
        let o = overpay(&pay("2.50EUR"), &me, &[balance(500, 300)]).expect("asks");
        assert_eq!((o.owed.minor, o.pending.minor), (500, 300));
        // A request that does not read is left to the node's message.
        assert!(overpay(&pay("lots"), &me, &[]).is_none());
    }

    #[test]
    fn the_offer_form_becomes_the_api_request() {
        let c = CoopInfo {
            id: "00".repeat(32),
            name: "c".into(),
            me: "aa".repeat(32),
            can_post: true,
            floors: vec![Amount::new("EUR", 1_200)],
            min_claim_window_ms: 1_000,
            waiting: None,
        };
        let f = OfferForm {
            title: "t".into(),
            purpose: "p".into(),
            pay: "4,00".into(),
            currency: "EUR".into(),
            minutes: "15".into(),
            claim_window_s: "2".into(),
            ..OfferForm::default()
        };
        let r = offer_request(Lang::En, &c, &f).expect("valid");
        assert_eq!(r.pay, "4.00EUR");
        assert_eq!(r.claim_window_ms, Some(2_000));
        assert_eq!(r.review_window_ms, None);
        // Arabic-Indic digits, French thousands: the same request.
        let typed = |pay: &str, minutes: &str| OfferForm {
            pay: pay.into(),
            minutes: minutes.into(),
            ..f.clone()
        };
        let ar = offer_request(Lang::Ar, &c, &typed("١ ٠٠٠٫٥٠", "٤٥")).expect("valid");
        assert_eq!((ar.pay.as_str(), ar.minutes), ("1000.50EUR", 45));
        let fr = offer_request(Lang::Fr, &c, &typed("1\u{202f}000,50", "۴۵")).expect("valid");
        assert_eq!((fr.pay.as_str(), fr.minutes), ("1000.50EUR", 45));
        // What is wrong, in the page's language.
        let e = offer_request(Lang::Fr, &c, &typed("4,00", "une heure")).expect_err("minutes");
        assert_eq!(
            e,
            "Minutes estimées : « \u{2068}une heure\u{2069} » n’est pas un nombre entier."
        );
        let e = offer_request(Lang::Ar, &c, &typed("4,00", "0")).expect_err("zero");
        assert_eq!(e, "الدقائق المقدّرة: أدخل 1 على الأقل.");
        let e = offer_request(Lang::Fr, &c, &typed("4,005", "15")).expect_err("decimals");
        assert_eq!(e, "EUR s’écrit avec 2 décimales au plus");
        let e = offer_request(Lang::Fr, &c, &typed("2,00", "15")).expect_err("floor");
        assert!(
            e.starts_with("Offre refusée : 2,00\u{a0}€ pour 15 min font 8,00\u{a0}€/h"),
            "{e}"
        );
        assert!(e.contains("Payez au moins 3,00\u{a0}€ pour 15 min"), "{e}");
        let e = offer_request(Lang::Ar, &c, &typed("2,00", "15")).expect_err("floor");
        assert!(e.starts_with("رُفض العرض"), "{e}");
        let e = offer_request(Lang::En, &c, &typed("abc", "15")).expect_err("amount");
        assert!(
            e.starts_with("Pay per assignment: “\u{2068}abc\u{2069}” is not an amount"),
            "{e}"
        );
        let window = OfferForm {
            claim_window_s: "".into(),
            ..f.clone()
        };
        let c2 = CoopInfo {
            min_claim_window_ms: 7_200_000,
            ..c.clone()
        };
        let e = offer_request(Lang::En, &c2, &window).expect_err("window");
        assert!(e.starts_with("Offer refused: a claim window of"), "{e}");
    }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct AppealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    answer: String,
}

/// `POST /c/{coop}/submissions/{sub}/appeal`: the member appeals the rejection of its work.
pub(crate) async fn appeal(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, sub)): Path<(String, String)>,
    Checked(f): Checked<AppealForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let sid = entry_id(&ctx, &c, "submission", &sub)?;
    let back = c.link("work");
    if f.answer.trim().is_empty() {
        return Err(said(&ctx, Some(&c), ctx.lang.t(&t::BLANK_ANSWER), &back));
    }
    web.st
        .node
        .appeal(id, sid, f.answer)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct JuryVoteForm {
    #[serde(default)]
    csrf: String,
    /// `uphold` or `dismiss`.
    #[serde(default)]
    verdict: String,
}

/// `POST /c/{coop}/appeals/{appeal}/vote`: a juror's vote.
pub(crate) async fn jury_vote(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, appeal)): Path<(String, String)>,
    Checked(f): Checked<JuryVoteForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let aid = entry_id(&ctx, &c, "appeal", &appeal)?;
    let back = c.link("work");
    let uphold = match f.verdict.as_str() {
        "uphold" => true,
        "dismiss" => false,
        _ => return Err(said(&ctx, Some(&c), "uphold or dismiss", &back)),
    };
    web.st
        .node
        .verdict(id, aid, uphold)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// `POST /c/{coop}/appeals/{appeal}/reply`: the requester answers an appeal, once.
pub(crate) async fn reply(
    State(web): State<Web>,
    ctx: Ctx,
    Path((coop, appeal)): Path<(String, String)>,
    Checked(f): Checked<ReplyForm>,
) -> Page {
    let (id, c) = info(&web, &ctx, &coop).await?;
    let aid = entry_id(&ctx, &c, "appeal", &appeal)?;
    let back = c.link("requests");
    if f.text.trim().is_empty() {
        return Err(said(&ctx, Some(&c), ctx.lang.t(&t::BLANK_REPLY), &back));
    }
    web.st
        .node
        .reply(id, aid, f.text)
        .await
        .map_err(|e| fail(&ctx, Some(&c), &e, &back))?;
    Ok(done(&web, &back).await)
}
