//! The offers: the board, an offer (claim, withdraw) and the form that posts one.

use super::{
    done, entry_id, fail, info, node_says, now, scaled, status_of, typed_amount, typed_count,
    typed_scaled, CsrfOnly, DoneQuery, Page,
};
use crate::web::csrf::{tokened, Checked};
use crate::web::i18n::{self as t, Lang};
use crate::web::pages::{self, BoardQuery, CoopInfo, OfferForm};
use crate::web::{Ctx, Web};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use taawun_api::request::{OfferFilter, DEFAULT_CLAIM_WINDOW_MS, MAX_OFFER_PAGE};
use taawun_api::views::PostOffer;
use taawun_core::fold::OfferState;
use taawun_core::money::{floor_pay, format_in, hourly_rate, meets_floor};

tokened!(OfferForm);

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
pub(super) fn offer_request(l: Lang, c: &CoopInfo, f: &OfferForm) -> Result<PostOffer, String> {
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
