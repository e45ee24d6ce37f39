//! The cooperative: its rules and proposals, and votes on them.

use super::{done, fail, info, now, DoneQuery, Page};
use crate::web::csrf::{tokened, Checked};
use crate::web::{pages, Ctx, Web};
use axum::extract::{Path, Query, State};
use taawun_api::views::VoteReq;

tokened!(VoteForm);

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
