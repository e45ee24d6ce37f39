//! The local HTTP API (axum): a thin shell over [`crate::service`].
//!
//! Every route needs the node's bearer token; without it, `401` and nothing done. Errors
//! are JSON bodies (`{"error": "...", "code": "...", "fields": {...}}`) with a status by
//! kind (docs/api.md): a refusal of the protocol's rules is named by the core's rule, with
//! its figures. The live
//! stream (`/api/events`) is server-sent events fed by the node's event loop through a
//! bounded broadcast channel: a slow reader misses events (it is told how many) rather
//! than slowing the node.

use crate::service::Error;
use crate::state::{live_stream, AppState, MAX_UPLOAD_BYTES};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, RawQuery, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use std::convert::Infallible;
use taawun_api::request::{
    decode, decode_or_default, decode_query, parse_id, parse_key, BadRequest, TOTAL_COUNT_HEADER,
};
use taawun_api::views::*;
use taawun_core::money::floor_pay;
use taawun_core::{Id, Invalid};

/// Largest export file accepted by `import` through the API (about a million entries);
/// larger files are imported offline with `taawun ledger import` while the node is stopped.
pub(crate) const MAX_IMPORT_BYTES: usize = 512 * 1024 * 1024;

/// An error as the API returns it: the status by kind, and the body (message, code and
/// the refusal's fields).
#[derive(Debug)]
pub(crate) struct ApiError(StatusCode, ErrorBody);

impl ApiError {
    fn new(status: StatusCode, code: &str, msg: impl Into<String>) -> Self {
        ApiError(status, ErrorBody::new(code, msg))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) | Error::WaitingForPeers { .. } => StatusCode::CONFLICT,
            Error::Refused(_) | Error::Rule(..) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Known(k, _) if k.is_refusal() => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Known(..) => StatusCode::CONFLICT,
            Error::Stopped => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let (code, fields) = match &e {
            Error::BadRequest(_) => ("bad_request".to_owned(), None),
            Error::NotFound(_) => ("not_found".to_owned(), None),
            Error::Conflict(_) => ("conflict".to_owned(), None),
            Error::Refused(_) => ("refused".to_owned(), None),
            Error::Rule(i, _) => (snake(&taawun_ledger::verdict::rule_name(i)), rule_fields(i)),
            Error::WaitingForPeers { peers } => (
                "waiting_for_peers".to_owned(),
                Some(Map::from_iter([("peers".to_owned(), json!(peers))])),
            ),
            Error::Known(k, _) => (snake(&format!("{k:?}")), None),
            Error::Stopped => ("stopped".to_owned(), None),
            Error::Internal(_) => ("internal".to_owned(), None),
        };
        ApiError(
            status,
            ErrorBody {
                error: e.to_string(),
                code: Some(code),
                fields,
            },
        )
    }
}

/// `OfferBelowFloor` as `offer_below_floor`.
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (n, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if n > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The figures of a refusal of the protocol's rules, for programs: amounts in minor units,
/// ids and keys in hex, times in ms. `None` for a rule the API gives no fields for (its
/// `code` and message still say which).
fn rule_fields(i: &Invalid) -> Option<Map<String, Value>> {
    use Invalid as I;
    let v = match i {
        I::OfferBelowFloor {
            currency,
            pay,
            minutes,
            offered_per_hour,
            floor,
        } => json!({
            "currency": currency,
            "pay": pay,
            "minutes": minutes,
            "offered_per_hour": offered_per_hour,
            "floor": floor,
            "least_pay": floor_pay(u64::from(*minutes), *floor),
        }),
        I::CurrencyNotAllowed(currency) => json!({ "currency": currency }),
        I::BadOffer { field, why } => json!({ "field": field, "why": why }),
        I::Oversize { size, max } => json!({ "size": size, "max": max }),
        I::ResultTooLarge { size, max } => json!({ "size": size, "max": max }),
        I::BadScore { field, value } => json!({ "field": field, "value": value }),
        I::FromTheFuture { ts, now } => json!({ "ts": ts, "now": now }),
        I::NotAllowed { author, kind, why } => {
            json!({ "author": author.to_hex(), "kind": kind.name(), "why": why })
        }
        I::OfferExpired {
            offer,
            expires_at,
            ts,
        } => json!({ "offer": offer.to_hex(), "expires_at": expires_at, "ts": ts }),
        I::DoubleClaim { offer } | I::DoubleSubmit { offer } => {
            json!({ "offer": offer.to_hex() })
        }
        I::AlreadyReviewed { submission } => json!({ "submission": submission.to_hex() }),
        I::AlreadyAnswered { settle } => json!({ "settle": settle.to_hex() }),
        I::DoubleVote { proposal } | I::AlreadyEnacted { proposal } => {
            json!({ "proposal": proposal.to_hex() })
        }
        I::QuorumNotReached { needed, found } => json!({ "needed": needed, "found": found }),
        _ => return None,
    };
    match v {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

fn bad(msg: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", msg)
}

impl From<BadRequest> for ApiError {
    fn from(e: BadRequest) -> Self {
        bad(e.0)
    }
}

/// The raw bytes of a JSON body, whose rejection is a JSON error.
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .is_some_and(|m| m.eq_ignore_ascii_case("application/json") || m.ends_with("+json"));
    if !is_json {
        return Err(bad(
            "send the body as JSON, with `Content-Type: application/json`".into(),
        ));
    }
    Bytes::from_request(req, state)
        .await
        .map_err(|e| bad(format!("bad request body: {}", e.body_text())))
}

/// A JSON body, decoded by [`taawun_api::request::decode`] (the code the `api` fuzz
/// target runs), whose rejection is a JSON error.
#[derive(Debug)]
pub(crate) struct Body<T>(T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Body(decode(&json_bytes(req, state).await?)?))
    }
}

type Out<T> = Result<Json<T>, ApiError>;

fn id(what: &str, s: &str) -> Result<Id, ApiError> {
    Ok(parse_id(what, s)?)
}

async fn auth(
    State(st): State<AppState>,
    headers: HeaderMap,
    req: Request,
    next: Next,
) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| blake3::hash(t.trim().as_bytes()));
    if given != Some(st.token) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong API token: send `Authorization: Bearer <token>` with the token from the node's data folder (api-token)",
        )
        .into_response();
    }
    next.run(req).await
}

/// The router.
pub(crate) fn router(st: AppState) -> Router {
    let coop = Router::new()
        .route("/", get(coop_show))
        .route("/invite", get(invite))
        .route("/proposals", post(propose))
        .route("/votes", post(vote))
        .route("/offers", get(offers).post(post_offer))
        .route("/offers/{offer}", get(offer))
        .route("/offers/{offer}/withdraw", post(withdraw))
        .route("/offers/{offer}/claim", post(claim))
        .route("/offers/{offer}/assign", post(assign))
        .route(
            "/offers/{offer}/submit",
            post(submit).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/submissions", get(submissions))
        .route("/submissions/{sub}/result", get(result))
        .route("/submissions/{sub}/accept", post(accept))
        .route("/submissions/{sub}/reject", post(reject))
        .route("/submissions/{sub}/appeal", post(appeal))
        .route("/appeals", get(appeals))
        .route("/appeals/{appeal}/reply", post(reply))
        .route("/appeals/{appeal}/vote", post(appeal_vote))
        .route("/jury", get(jury))
        .route("/payments", get(payments).post(pay))
        .route("/payments/{pay}/confirm", post(confirm))
        .route("/reviews", post(review))
        .route("/devices", get(devices).post(add_device))
        .route("/devices/{key}/revoke", post(revoke_device))
        .route("/requesters/{key}", get(record))
        .route("/balances", get(balances))
        .route("/export", get(export));
    Router::new()
        .route("/api/status", get(status))
        .route("/api/peers", get(peers))
        .route("/api/coops", post(create))
        .route("/api/join", post(join))
        .route(
            "/api/import",
            post(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/api/events", get(events))
        .nest("/api/coops/{coop}", coop)
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see docs/api.md",
            )
        })
        .layer(middleware::from_fn_with_state(st.clone(), auth))
        .with_state(st.clone())
        // The web page: its own login (session cookie), so outside the token check.
        .merge(crate::web::router(st))
        // Both: no foreign host names (DNS rebinding), no changes from other origins.
        .layer(middleware::from_fn(crate::web::guard))
}

async fn status(State(st): State<AppState>) -> Out<Status> {
    Ok(Json(st.node.status().await?))
}

async fn peers(State(st): State<AppState>) -> Out<Vec<Peer>> {
    Ok(Json(st.node.peers().await?))
}

async fn create(State(st): State<AppState>, Body(req): Body<CreateCoop>) -> Response {
    match st.node.create_coop(req).await {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn join(State(st): State<AppState>, Body(req): Body<JoinReq>) -> Out<CoopSummary> {
    Ok(Json(st.node.join(&req.invite).await?))
}

async fn import(State(st): State<AppState>, bytes: axum::body::Bytes) -> Out<ImportView> {
    Ok(Json(st.node.import(&bytes).await?))
}

async fn coop_show(State(st): State<AppState>, Path(c): Path<String>) -> Out<CoopView> {
    Ok(Json(st.node.coop(id("cooperative", &c)?).await?))
}

async fn invite(State(st): State<AppState>, Path(c): Path<String>) -> Out<InviteView> {
    Ok(Json(st.node.invite(id("cooperative", &c)?).await?))
}

async fn propose(
    State(st): State<AppState>,
    Path(c): Path<String>,
    Body(req): Body<Propose>,
) -> Out<Written> {
    Ok(Json(st.node.propose(id("cooperative", &c)?, req).await?))
}

async fn vote(
    State(st): State<AppState>,
    Path(c): Path<String>,
    Body(req): Body<VoteReq>,
) -> Out<Written> {
    Ok(Json(st.node.vote(id("cooperative", &c)?, req).await?))
}

async fn offers(
    State(st): State<AppState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let filter = decode_query::<OfferQuery>(q.as_deref())?.filter(st.node.me())?;
    let (offers, total) = st.node.offers(id("cooperative", &c)?, &filter).await?;
    Ok(([(TOTAL_COUNT_HEADER, total.to_string())], Json(offers)).into_response())
}

async fn post_offer(
    State(st): State<AppState>,
    Path(c): Path<String>,
    Body(req): Body<PostOffer>,
) -> Out<Written> {
    Ok(Json(st.node.post_offer(id("cooperative", &c)?, req).await?))
}

async fn offer(State(st): State<AppState>, Path((c, o)): Path<(String, String)>) -> Out<OfferView> {
    Ok(Json(
        st.node
            .offer(id("cooperative", &c)?, id("offer", &o)?)
            .await?,
    ))
}

async fn withdraw(
    State(st): State<AppState>,
    Path((c, o)): Path<(String, String)>,
) -> Out<Written> {
    Ok(Json(
        st.node
            .withdraw(id("cooperative", &c)?, id("offer", &o)?)
            .await?,
    ))
}

async fn claim(State(st): State<AppState>, Path((c, o)): Path<(String, String)>) -> Out<Written> {
    Ok(Json(
        st.node
            .claim(id("cooperative", &c)?, id("offer", &o)?)
            .await?,
    ))
}

async fn assign(
    State(st): State<AppState>,
    Path((c, o)): Path<(String, String)>,
    body: Bytes,
) -> Out<Written> {
    // The body is optional: none (or `{}`) asks for the lottery.
    let req: AssignReq = decode_or_default(&body)?;
    Ok(Json(
        st.node
            .assign(id("cooperative", &c)?, id("offer", &o)?, req)
            .await?,
    ))
}

#[derive(Debug, serde::Deserialize)]
struct SubmitQuery {
    minutes: Option<u32>,
}

async fn submit(
    State(st): State<AppState>,
    Path((c, o)): Path<(String, String)>,
    Query(q): Query<SubmitQuery>,
    bytes: axum::body::Bytes,
) -> Out<Written> {
    let minutes = q
        .minutes
        .ok_or_else(|| bad("say how many minutes the work took: ?minutes=N".into()))?;
    Ok(Json(
        st.node
            .submit(
                id("cooperative", &c)?,
                id("offer", &o)?,
                minutes,
                bytes.to_vec(),
            )
            .await?,
    ))
}

async fn submissions(
    State(st): State<AppState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let filter = decode_query::<SubmissionQuery>(q.as_deref())?.filter(st.node.me())?;
    let (subs, total) = st.node.submissions(id("cooperative", &c)?, &filter).await?;
    Ok(([(TOTAL_COUNT_HEADER, total.to_string())], Json(subs)).into_response())
}

async fn result(
    State(st): State<AppState>,
    Path((c, s)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let bytes = st
        .node
        .result(id("cooperative", &c)?, id("submission", &s)?)
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

async fn accept(State(st): State<AppState>, Path((c, s)): Path<(String, String)>) -> Out<Written> {
    Ok(Json(
        st.node
            .accept(id("cooperative", &c)?, id("submission", &s)?)
            .await?,
    ))
}

async fn reject(
    State(st): State<AppState>,
    Path((c, s)): Path<(String, String)>,
    Body(req): Body<RejectReq>,
) -> Out<Written> {
    Ok(Json(
        st.node
            .reject(id("cooperative", &c)?, id("submission", &s)?, req.reason)
            .await?,
    ))
}

async fn payments(
    State(st): State<AppState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let filter = decode_query::<PaymentQuery>(q.as_deref())?.filter(st.node.me())?;
    let (payments, total) = st.node.payments(id("cooperative", &c)?, &filter).await?;
    Ok(([(TOTAL_COUNT_HEADER, total.to_string())], Json(payments)).into_response())
}

async fn pay(
    State(st): State<AppState>,
    Path(c): Path<String>,
    Body(req): Body<PayReq>,
) -> Out<Written> {
    Ok(Json(st.node.pay(id("cooperative", &c)?, req).await?))
}

async fn confirm(
    State(st): State<AppState>,
    Path((c, p)): Path<(String, String)>,
    body: Bytes,
) -> Out<Written> {
    // The body is optional: none (or `{}`) confirms receipt; `{"received": false}`
    // answers "not received".
    let req: ConfirmReq = decode_or_default(&body)?;
    Ok(Json(
        st.node
            .confirm(id("cooperative", &c)?, id("payment", &p)?, req.received)
            .await?,
    ))
}

async fn review(
    State(st): State<AppState>,
    Path(c): Path<String>,
    Body(req): Body<ReviewReq>,
) -> Out<Written> {
    Ok(Json(st.node.review(id("cooperative", &c)?, req).await?))
}

async fn devices(State(st): State<AppState>, Path(c): Path<String>) -> Out<Vec<DeviceView>> {
    Ok(Json(st.node.devices(id("cooperative", &c)?).await?))
}

async fn add_device(
    State(st): State<AppState>,
    Path(c): Path<String>,
    Body(req): Body<AddDevice>,
) -> Out<Written> {
    Ok(Json(st.node.add_device(id("cooperative", &c)?, req).await?))
}

async fn revoke_device(
    State(st): State<AppState>,
    Path((c, k)): Path<(String, String)>,
) -> Out<Written> {
    let key = parse_key("device", &k)?;
    Ok(Json(
        st.node.revoke_device(id("cooperative", &c)?, key).await?,
    ))
}

async fn record(
    State(st): State<AppState>,
    Path((c, k)): Path<(String, String)>,
) -> Out<RecordView> {
    let key = parse_key("requester", &k)?;
    Ok(Json(st.node.record(id("cooperative", &c)?, key).await?))
}

async fn balances(State(st): State<AppState>, Path(c): Path<String>) -> Out<Vec<BalanceView>> {
    Ok(Json(st.node.balances(id("cooperative", &c)?).await?))
}

async fn export(State(st): State<AppState>, Path(c): Path<String>) -> Result<Response, ApiError> {
    let bytes = st.node.export(id("cooperative", &c)?).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// `GET /api/events`: the live stream ([`crate::state::live_stream`]).
async fn events(
    State(st): State<AppState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    live_stream(st)
}

async fn appeal(
    State(st): State<AppState>,
    Path((c, s)): Path<(String, String)>,
    Body(req): Body<taawun_api::appeals::AppealReq>,
) -> Out<Written> {
    Ok(Json(
        st.node
            .appeal(id("cooperative", &c)?, id("submission", &s)?, req.answer)
            .await?,
    ))
}

async fn appeals(
    State(st): State<AppState>,
    Path(c): Path<String>,
) -> Out<Vec<taawun_api::appeals::AppealInfo>> {
    Ok(Json(st.node.appeals(id("cooperative", &c)?, false).await?))
}

/// The appeals this node's key has to judge now: it holds an open seat of their jury.
async fn jury(
    State(st): State<AppState>,
    Path(c): Path<String>,
) -> Out<Vec<taawun_api::appeals::AppealInfo>> {
    Ok(Json(st.node.appeals(id("cooperative", &c)?, true).await?))
}

async fn reply(
    State(st): State<AppState>,
    Path((c, a)): Path<(String, String)>,
    Body(req): Body<taawun_api::appeals::ReplyReq>,
) -> Out<Written> {
    Ok(Json(
        st.node
            .reply(id("cooperative", &c)?, id("appeal", &a)?, req.text)
            .await?,
    ))
}

async fn appeal_vote(
    State(st): State<AppState>,
    Path((c, a)): Path<(String, String)>,
    Body(req): Body<taawun_api::appeals::VerdictReq>,
) -> Out<Written> {
    Ok(Json(
        st.node
            .verdict(id("cooperative", &c)?, id("appeal", &a)?, req.uphold)
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Known;

    fn body(e: Error) -> (StatusCode, Value) {
        let ApiError(status, body) = ApiError::from(e);
        (status, serde_json::to_value(body).expect("json"))
    }

    #[test]
    fn a_refusal_of_the_rules_names_the_rule_and_its_figures() {
        let (status, v) = body(Error::rule(Invalid::OfferBelowFloor {
            currency: "EUR".into(),
            pay: 100,
            minutes: 60,
            offered_per_hour: 100,
            floor: 1300,
        }));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["code"], "offer_below_floor");
        assert_eq!(
            v["fields"],
            json!({"currency": "EUR", "pay": 100, "minutes": 60, "offered_per_hour": 100, "floor": 1300, "least_pay": 1300})
        );
        assert!(
            v["error"]
                .as_str()
                .expect("message")
                .ends_with("pay at least 13.00 EUR for 60 min"),
            "{v}"
        );

        let (status, v) = body(Error::rule(Invalid::CurrencyNotAllowed("USD".into())));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["code"], "currency_not_allowed");
        assert_eq!(v["fields"], json!({"currency": "USD"}));

        // A rule without figures: its code, no fields.
        let (_, v) = body(Error::rule(Invalid::ZeroMinutes));
        assert_eq!(v["code"], "zero_minutes");
        assert!(v.get("fields").is_none(), "{v}");
    }

    #[test]
    fn every_error_has_a_code_by_kind() {
        for (e, status, code) in [
            (
                Error::BadRequest("x".into()),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                Error::NotFound("x".into()),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                Error::Conflict("x".into()),
                StatusCode::CONFLICT,
                "conflict",
            ),
            (
                Error::Refused("x".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "refused",
            ),
            (
                Error::Known(Known::NotOwnOffer, "x".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_own_offer",
            ),
            (
                Error::Known(Known::NotAllHeld, "x".into()),
                StatusCode::CONFLICT,
                "not_all_held",
            ),
            (Error::Stopped, StatusCode::SERVICE_UNAVAILABLE, "stopped"),
            (
                Error::Internal("x".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
        ] {
            let (s, v) = body(e);
            assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{v}");
            assert!(v["error"].is_string(), "{v}");
        }
        let (s, v) = body(Error::WaitingForPeers { peers: 2 });
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(v["code"], "waiting_for_peers");
        assert_eq!(v["fields"], json!({"peers": 2}));
        assert_eq!(snake("DeviceRevoked"), "device_revoked");
    }
}
