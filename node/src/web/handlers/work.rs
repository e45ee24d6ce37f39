//! The member's work: what it holds, sending its result, appealing a rejection, and a
//! juror's vote.

use super::{done, entry_id, fail, info, now, said, typed_count, DoneQuery, Page};
use crate::service::Error;
use crate::web::csrf::{tokened, Checked, Posted};
use crate::web::i18n as t;
use crate::web::{pages, Ctx, Web};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use taawun_api::request::{OfferFilter, SubmissionFilter, MAX_OFFER_PAGE};
use taawun_api::views::OfferView;

tokened!(AppealForm, JuryVoteForm);

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
