//! The requester's side: its offers' submissions, their results, accepting or rejecting
//! them, paying, and answering an appeal.

use super::{done, entry_id, fail, info, now, said, typed_amount, CsrfOnly, Page};
use crate::service::Error;
use crate::web::csrf::{tokened, Checked};
use crate::web::i18n as t;
use crate::web::pages::{self, CoopInfo, Paging};
use crate::web::{Ctx, Web};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use taawun_api::request::{OfferFilter, SubmissionFilter, MAX_OFFER_PAGE};
use taawun_api::views::{Amount, BalanceView, OfferView, PayReq};
use taawun_core::money::format_in;
use taawun_core::Id;

tokened!(RejectForm, PayForm, ReplyForm);

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
pub(super) fn overpay(req: &PayReq, me: &str, balances: &[BalanceView]) -> Option<Overpay> {
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
