//! The web page members and requesters use, served by `taawun run` beside the API.
//!
//! Pages are HTML rendered on the server ([`pages`], maud templates) over the same
//! [`Node`](crate::service::Node) actions as the API; every form works without script,
//! and a little plain JavaScript (`app.js`) adds the live refresh and the floor check as
//! one types. Everything (styles, script) is embedded in the binary: no fonts, scripts or
//! CDNs from elsewhere.
//!
//! Login: `taawun ui` asks the API, with the bearer token, for a one-time code
//! (`POST /api/ui-login`) and opens `/login?code=...`; the page trades the code for a
//! session cookie (HttpOnly, SameSite=Strict), so the token never reaches page script.
//! Every POST also carries the session's CSRF token in the form, checked before anything
//! is done: handlers take their form as [`csrf::Checked`], which refuses it otherwise.
//! Pages without a valid session redirect to `/welcome`, which says how to log in.
//!
//! Against other pages and programs: every page response carries a Content-Security-Policy
//! (nothing but this node's own files, no framing) and the usual companions
//! ([`security_headers`]); a request addressed to a name that is not a loopback name or an
//! IP address, or a state-changing request from another origin, is refused before any
//! handler runs, for the API too ([`guard`]). The session cookie is named after the port
//! the page was opened on, so two nodes on one machine keep their own sessions.

mod chart;
pub(crate) mod cli;
mod csrf;
mod devices;
mod gzip;
mod handlers;
pub(crate) mod i18n;
mod pages;

use crate::state::{live_stream, AppState, MAX_UPLOAD_BYTES};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use csrf::Checked;
use i18n::Lang;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a login code stays valid: long enough to switch to the browser, short
/// enough that a code left in a terminal's scroll-back is soon worthless.
pub(crate) const CODE_LIFE: Duration = Duration::from_secs(5 * 60);
/// Login codes waiting to be used; the oldest is dropped beyond this (each `taawun ui`
/// makes one; a handful at once is already unusual).
pub(crate) const MAX_CODES: usize = 16;
/// A session ends after this long unused: a week, so a member's phone stays logged in
/// between tasks, while a forgotten browser does not stay so for ever.
pub(crate) const SESSION_IDLE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Sessions kept at once; the least recently used is dropped beyond this. One person
/// uses a node, from a few browsers.
pub(crate) const MAX_SESSIONS: usize = 64;
/// Bytes of randomness in codes, session ids and CSRF tokens.
const SECRET_BYTES: usize = 32;

/// The start of the session cookie's name; the port the page was opened on follows
/// ([`session_cookie`]).
pub(crate) const SESSION_COOKIE: &str = "taawun_session";
/// The language cookie's name.
pub(crate) const LANG_COOKIE: &str = "taawun_lang";

/// A logged-in browser.
#[derive(Debug, Clone)]
struct Session {
    /// The token every form of this session carries.
    csrf: String,
    last: Instant,
}

/// Login codes and sessions, by the blake3 of their secret (the secrets themselves are
/// never kept).
#[derive(Debug, Default)]
struct Auth {
    codes: HashMap<[u8; 32], Instant>,
    sessions: HashMap<[u8; 32], Session>,
}

/// What the page's handlers share.
#[derive(Debug, Clone)]
pub(crate) struct Web {
    pub(crate) st: AppState,
    auth: Arc<Mutex<Auth>>,
}

fn secret() -> Result<String, StatusCode> {
    let mut b = [0u8; SECRET_BYTES];
    getrandom::fill(&mut b).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(hex::encode(b))
}

fn digest(s: &str) -> [u8; 32] {
    *blake3::hash(s.as_bytes()).as_bytes()
}

impl Web {
    fn auth(&self) -> std::sync::MutexGuard<'_, Auth> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters (each update is one insert or remove): keep going.
        self.auth
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new one-time login code.
    fn new_code(&self) -> Result<String, StatusCode> {
        let code = secret()?;
        let mut a = self.auth();
        let now = Instant::now();
        a.codes.retain(|_, exp| *exp > now);
        while a.codes.len() >= MAX_CODES {
            let Some(oldest) = a.codes.iter().min_by_key(|(_, e)| **e).map(|(k, _)| *k) else {
                break;
            };
            a.codes.remove(&oldest);
        }
        a.codes.insert(digest(&code), now + CODE_LIFE);
        Ok(code)
    }

    /// Trades a code for a new session id; `None` if the code is unknown, used or expired.
    fn redeem(&self, code: &str) -> Result<Option<String>, StatusCode> {
        let mut a = self.auth();
        let now = Instant::now();
        match a.codes.remove(&digest(code)) {
            Some(exp) if exp > now => {}
            _ => return Ok(None),
        }
        let sid = secret()?;
        let csrf = secret()?;
        a.sessions
            .retain(|_, s| now.duration_since(s.last) < SESSION_IDLE);
        while a.sessions.len() >= MAX_SESSIONS {
            let Some(oldest) = a
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.last)
                .map(|(k, _)| *k)
            else {
                break;
            };
            a.sessions.remove(&oldest);
        }
        a.sessions.insert(digest(&sid), Session { csrf, last: now });
        Ok(Some(sid))
    }

    /// The session's CSRF token, if `headers` carry a live session cookie.
    fn session(&self, headers: &HeaderMap) -> Option<String> {
        let sid = cookie(headers, &session_cookie(headers))?;
        let mut a = self.auth();
        let now = Instant::now();
        let key = digest(&sid);
        let s = a.sessions.get_mut(&key)?;
        if now.duration_since(s.last) >= SESSION_IDLE {
            a.sessions.remove(&key);
            return None;
        }
        s.last = now;
        Some(s.csrf.clone())
    }

    fn end_session(&self, headers: &HeaderMap) {
        if let Some(sid) = cookie(headers, &session_cookie(headers)) {
            self.auth().sessions.remove(&digest(&sid));
        }
    }
}

/// The value of cookie `name`.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// The session cookie's name for a request: `taawun_session_<port>`, the port the page
/// was opened on. Browsers send the cookies of `127.0.0.1` to every port of it, so one
/// name for all would let two nodes on one machine log each other out.
pub(crate) fn session_cookie(headers: &HeaderMap) -> String {
    let port = addressed(headers).map_or(80, |(_, port)| port);
    format!("{SESSION_COOKIE}_{port}")
}

/// The page's language: the cookie, else the browser's `Accept-Language`.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|c| Lang::from_code(&c))
        .unwrap_or_else(|| {
            Lang::negotiate(
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            )
        })
}

/// What every page handler knows about the request.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) lang: Lang,
    /// The session's CSRF token, put in every form.
    pub(crate) csrf: String,
    /// The request's path and query, for the language switcher's way back.
    pub(crate) here: String,
    /// The action just done is saved here only: no other node was connected (`done=wait`).
    pub(crate) waiting: bool,
}

impl FromRequestParts<Web> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Self::Rejection> {
        // Read once per request: a handler's `Ctx` and its `Checked` form share it.
        if let Some(ctx) = parts.extensions.get::<Ctx>() {
            return Ok(ctx.clone());
        }
        let lang = lang_of(&parts.headers);
        let Some(csrf) = web.session(&parts.headers) else {
            return Err(Redirect::to("/welcome").into_response());
        };
        // Inside a nested router the URI lacks its prefix; the original one has it.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        let here = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let waiting = uri
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "done=wait"));
        let ctx = Ctx {
            lang,
            csrf,
            here,
            waiting,
        };
        parts.extensions.insert(ctx.clone());
        Ok(ctx)
    }
}

impl Ctx {
    /// Whether a form's token is this session's (compared in constant time).
    pub(crate) fn csrf_ok(&self, given: &str) -> bool {
        blake3::hash(given.as_bytes()) == blake3::hash(self.csrf.as_bytes())
    }
}

/// The page's routes, merged into the API's router by `api::router` (which depends on
/// this module, never the reverse: what both need is in [`crate::state`]).
pub(crate) fn router(st: AppState) -> Router {
    use handlers as h;
    let web = Web {
        st,
        auth: Arc::new(Mutex::new(Auth::default())),
    };
    let coop = Router::new()
        .route("/", get(h::coop_home))
        .route("/offers", get(h::board).post(h::post_offer))
        .route("/offers/{offer}", get(h::offer))
        .route("/offers/{offer}/claim", post(h::claim))
        .route("/offers/{offer}/withdraw", post(h::withdraw))
        .route(
            "/offers/{offer}/submit",
            post(h::submit).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/work", get(h::work))
        .route("/earnings", get(h::earnings))
        .route("/payments", post(h::pay))
        .route("/payments/{pay}/confirm", post(h::confirm))
        .route("/reviews", post(h::review))
        .route("/post", get(h::post_form))
        .route("/requests", get(h::requests))
        .route("/submissions/{sub}/result", get(h::result))
        .route("/submissions/{sub}/accept", post(h::accept))
        .route("/submissions/{sub}/reject", post(h::reject))
        .route("/submissions/{sub}/appeal", post(h::appeal))
        .route("/appeals/{appeal}/vote", post(h::jury_vote))
        .route("/appeals/{appeal}/reply", post(h::reply))
        .route("/coop", get(h::coop))
        .route("/devices", get(devices::list).post(devices::add))
        .route("/devices/{key}/revoke", post(devices::revoke))
        .route("/backup", get(devices::backup).post(devices::backup_words))
        .route("/votes", post(h::vote));
    Router::new()
        .route("/", get(h::home))
        .route("/welcome", get(welcome))
        .route("/login", get(login))
        .route("/logout", post(logout))
        .route("/lang/{lang}", get(set_lang))
        .route("/s/style.css", get(style))
        .route("/s/app.js", get(script))
        .route("/favicon.ico", get(favicon))
        .route("/live", get(live))
        .route("/api/ui-login", post(ui_login))
        .nest("/c/{coop}", coop)
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(gzip::gzip))
        .with_state(web)
}

/// What pages may load and who may frame them: only this node's own style sheet, script
/// and live stream; no inline script or style (the pages have none), forms only to this
/// node, and no framing at all (a framed page can be clicked through from another site).
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'";

/// No address of the page (its cooperative, a login code) goes to another site or
/// another port. Not `no-referrer`: under it browsers send `Origin: null` with the page's
/// own forms, and [`guard`] could no longer tell them from a foreign page's.
pub(crate) const REFERRER_POLICY: &str = "same-origin";

/// Adds the security headers to every page response.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(REFERRER_POLICY),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// `host[:port]` split into the host (lowercase, without a final dot; IPv6 in brackets)
/// and the port (`default` when none is written); `None` if it is not one.
fn authority(s: &str, default: u16) -> Option<(String, u16)> {
    let s = s.trim().to_ascii_lowercase();
    let (host, port) = match s.strip_prefix('[') {
        Some(rest) => {
            let (h, after) = rest.split_once(']')?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':')?),
            };
            (format!("[{h}]"), port)
        }
        None => match s.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (s.clone(), None),
        },
    };
    let port = match port {
        None => default,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse().ok()?
        }
        Some(_) => return None,
    };
    let host = host.strip_suffix('.').unwrap_or(&host).to_owned();
    (!host.is_empty()).then_some((host, port))
}

/// Where the request was addressed (its `Host`), split by [`authority`].
fn addressed(headers: &HeaderMap) -> Option<(String, u16)> {
    authority(headers.get(header::HOST)?.to_str().ok()?, 80)
}

/// Whether `host` can only mean this machine or an address of it: `localhost` (and names
/// under it, which browsers keep on the loopback), or an IP address. Any other name could
/// be a stranger's, pointed at 127.0.0.1 after its page was loaded (DNS rebinding), whose
/// script would then be "same origin" with the node.
fn local_host(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        None => host.parse::<Ipv4Addr>().is_ok(),
    }
}

/// Whether `origin` (`scheme://host[:port]`) is the origin the request was addressed to.
fn same_origin(origin: &str, here: &(String, u16)) -> bool {
    let Some((scheme, rest)) = origin.trim().split_once("://") else {
        return false;
    };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    authority(rest, default).as_ref() == Some(here)
}

/// A header's value as a refusal quotes it: escaped, and short.
fn shown(s: &str) -> String {
    s.chars().take(100).flat_map(char::escape_default).collect()
}

/// A request refused by [`guard`]: `403`, JSON for the API, plain text for the page.
fn refused(path: &str, msg: String) -> Response {
    if path.starts_with("/api/") {
        (
            StatusCode::FORBIDDEN,
            Json(taawun_api::views::ErrorBody::new("forbidden", msg)),
        )
            .into_response()
    } else {
        (StatusCode::FORBIDDEN, msg).into_response()
    }
}

/// Before the page and the API: refuses a request whose `Host` is not a loopback name or
/// an IP address (DNS rebinding), and a state-changing request (anything but `GET`,
/// `HEAD`, `OPTIONS`) that a browser says comes from another origin (`Origin`) or site
/// (`Sec-Fetch-Site`). Programs such as the command line send no `Origin` and pass.
pub(crate) async fn guard(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let here = match addressed(req.headers()) {
        Some(h) if local_host(&h.0) => h,
        _ => {
            let host = req
                .headers()
                .get(header::HOST)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            return refused(
                &path,
                format!(
                    "refused: `{}` is not this node's address; open it as 127.0.0.1 or localhost",
                    shown(&host)
                ),
            );
        }
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let site = req
            .headers()
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
            // `null`: a browser hiding the origin (a setting that forces no referrer), or
            // a sandboxed or local page; only the browser's own word that the request
            // comes from this origin lets it through.
            let own =
                same_origin(&origin, &here) || (origin.trim() == "null" && site == "same-origin");
            if !own {
                return refused(
                    &path,
                    format!(
                        "refused: a request from another site ({}) cannot change anything here",
                        shown(&origin)
                    ),
                );
            }
        }
        if site == "cross-site" || site == "same-site" {
            return refused(
                &path,
                "refused: a request from another site cannot change anything here".into(),
            );
        }
    }
    next.run(req).await
}

/// The answer of `POST /api/ui-login`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct UiLogin {
    /// The one-time code.
    pub(crate) code: String,
    /// The path to open on the API's address: `/login?code=...`.
    pub(crate) path: String,
    /// Seconds the code stays valid.
    pub(crate) expires_in_s: u64,
}

/// `POST /api/ui-login`: a one-time login code, for the bearer of the API token only.
async fn ui_login(State(web): State<Web>, headers: HeaderMap) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| blake3::hash(t.trim().as_bytes()));
    if given != Some(web.st.token) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(taawun_api::views::ErrorBody::new(
                "unauthorized",
                "missing or wrong API token: send `Authorization: Bearer <token>` with the token from the node's data folder (api-token)",
            )),
        )
            .into_response();
    }
    match web.new_code() {
        Ok(code) => Json(UiLogin {
            path: format!("/login?code={code}"),
            code,
            expires_in_s: CODE_LIFE.as_secs(),
        })
        .into_response(),
        Err(s) => s.into_response(),
    }
}

#[derive(Debug, serde::Deserialize)]
struct CodeQuery {
    #[serde(default)]
    code: String,
}

/// `GET /login?code=...`: trades a one-time code for a session cookie.
async fn login(State(web): State<Web>, headers: HeaderMap, Query(q): Query<CodeQuery>) -> Response {
    let lang = lang_of(&headers);
    match web.redeem(q.code.trim()) {
        Ok(Some(sid)) => (
            [
                (
                    header::SET_COOKIE,
                    format!(
                        "{}={sid}; Path=/; HttpOnly; SameSite=Strict",
                        session_cookie(&headers)
                    ),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            Redirect::to("/"),
        )
            .into_response(),
        Ok(None) => pages::welcome(lang, Some(lang.t(&i18n::CODE_USED)), false),
        Err(s) => s.into_response(),
    }
}

#[derive(Debug, serde::Deserialize)]
struct AgainQuery {
    #[serde(default)]
    again: Option<String>,
}

/// `GET /welcome`: how to log in; with a session, the app. The first load without a
/// session reloads once (see [`pages::welcome`]).
async fn welcome(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<AgainQuery>,
) -> Response {
    if web.session(&headers).is_some() {
        return Redirect::to("/").into_response();
    }
    pages::welcome(lang_of(&headers), None, q.again.is_none()).into_response()
}

/// `GET /favicon.ico`: the page's icon, a green square with a white "t", as SVG; open
/// to all, like the style sheet.
async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        ICON,
    )
        .into_response()
}

/// The page's icon.
const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">\
<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#0b5d3b\"/>\
<path d=\"M7 3h2v3h3v2H9v3.5c0 .8.5 1 1.5 1H12V14h-2c-2 0-3-1-3-2.8V8H5V6h2z\" fill=\"#fff\"/></svg>";

#[derive(Debug, serde::Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

csrf::tokened!(CsrfForm);

/// `POST /logout`.
async fn logout(
    State(web): State<Web>,
    headers: HeaderMap,
    Checked(_): Checked<CsrfForm>,
) -> Response {
    web.end_session(&headers);
    (
        [(
            header::SET_COOKIE,
            format!(
                "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
                session_cookie(&headers)
            ),
        )],
        Redirect::to("/welcome"),
    )
        .into_response()
}

#[derive(Debug, serde::Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

/// A path on this site to go back to: only a local absolute path, never another site.
pub(crate) fn local_path(p: &str) -> &str {
    if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') {
        p
    } else {
        "/"
    }
}

/// `GET /lang/{lang}?next=/...`: switches the language (a cookie) and goes back.
async fn set_lang(
    axum::extract::Path(l): axum::extract::Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let Some(lang) = Lang::from_code(&l) else {
        return (StatusCode::NOT_FOUND, "unknown language").into_response();
    };
    (
        [(
            header::SET_COOKIE,
            format!(
                "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                lang.code()
            ),
        )],
        Redirect::to(local_path(&q.next)),
    )
        .into_response()
}

/// The style sheet: one small file, cached by the browser for a day.
pub(crate) const STYLE: &str = include_str!("style.css");
/// The script: the live refresh and the floor check as one types.
pub(crate) const SCRIPT: &str = include_str!("app.js");

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        STYLE,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// `GET /live`: the API's live stream, for a logged-in page (the session cookie instead
/// of the bearer token).
async fn live(State(web): State<Web>, _ctx: Ctx) -> Response {
    live_stream(web.st).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_split_into_name_and_port() {
        assert_eq!(
            authority("127.0.0.1:7420", 80),
            Some(("127.0.0.1".into(), 7420))
        );
        assert_eq!(authority("LocalHost.", 80), Some(("localhost".into(), 80)));
        assert_eq!(authority("[::1]:8080", 80), Some(("[::1]".into(), 8080)));
        assert_eq!(authority("[::1]", 443), Some(("[::1]".into(), 443)));
        for bad in ["", ":80", "a:+80", "a:99999", "a:", "[::1]x", "a:1:2x"] {
            assert_eq!(authority(bad, 80), None, "{bad}");
        }
    }

    #[test]
    fn only_loopback_names_and_addresses_are_this_node() {
        for ok in [
            "127.0.0.1",
            "localhost",
            "node2.localhost",
            "[::1]",
            "192.168.1.20",
        ] {
            assert!(local_host(ok), "{ok}");
        }
        for bad in [
            "attacker.example",
            "localhost.attacker.example",
            "127.0.0.1.nip.io",
            "[zz]",
        ] {
            assert!(!local_host(bad), "{bad}");
        }
    }

    #[test]
    fn an_origin_is_the_page_s_own_only_with_the_same_host_and_port() {
        let here = ("127.0.0.1".to_owned(), 7420);
        assert!(same_origin("http://127.0.0.1:7420", &here));
        assert!(!same_origin("http://127.0.0.1:7421", &here));
        assert!(!same_origin("http://127.0.0.1", &here));
        assert!(!same_origin("http://localhost:7420", &here));
        assert!(!same_origin("null", &here));
        assert!(!same_origin("file://", &here));
        let plain = ("localhost".to_owned(), 80);
        assert!(same_origin("http://localhost", &plain));
        assert!(!same_origin("https://localhost", &plain));
    }
}
