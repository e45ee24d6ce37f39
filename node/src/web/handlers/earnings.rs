//! The member's earnings: what it is owed and paid, confirming a payment, reviewing a
//! requester.

use super::{done, entry_id, fail, info, Page};
use crate::service::Error;
use crate::web::chart::Point;
use crate::web::csrf::{tokened, Checked};
use crate::web::pages::{self, Paging};
use crate::web::{Ctx, Web};
use axum::extract::{Path, Query, State};
use taawun_api::request::{PaymentFilter, ReviewState, SubmissionFilter};
use taawun_api::views::{BalanceView, ReviewReq};
use taawun_core::money::hourly_rate;

tokened!(ConfirmForm, ReviewForm);

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
