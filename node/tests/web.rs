//! The web page of a real `taawun run` daemon: login by one-time code, sessions and CSRF
//! refusals over plain HTTP; then, in headless Chromium, a requester and a member doing
//! a task end to end through the page, with the live updates and the Arabic layout.

mod browser;
mod common;

use common::{taawun, text, Daemon};
use reqwest::{header, redirect, StatusCode};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a step between nodes (gossip, sync, the lottery) may take.
const STEP: Duration = Duration::from_secs(60);

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

async fn api(d: &Daemon, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let c = reqwest::Client::new();
    let url = format!("{}{path}", d.base);
    let mut r = if method == "POST" {
        c.post(url)
    } else {
        c.get(url)
    };
    r = r.bearer_auth(&d.token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.expect("request");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// A form's body, `application/x-www-form-urlencoded`.
fn form_body(fields: &[(&str, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The login link `taawun ui` prints.
fn login_url(d: &Daemon) -> String {
    let o = taawun(&["ui", "--no-open", "--by-address"], &d.dir);
    assert!(o.status.success(), "taawun ui: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    out.split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains("/login?code="))
        .unwrap_or_else(|| panic!("no login link in: {out}"))
        .to_owned()
}

/// Logs in over plain HTTP; returns the `Cookie` header value.
async fn session(d: &Daemon) -> String {
    let r = http().get(login_url(d)).send().await.expect("login");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_owned();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().expect("name=value").to_owned()
}

/// Who a node holding a synthetic cooperative ([`synth_node`]) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Synth {
    /// The member owed the most.
    Member,
    /// The requester with the most work waiting for review.
    Requester,
}

/// A node alone (no peers) holding a synthetic cooperative of a few hundred entries
/// (`taawun_core::synth`, seed 7, ending ten minutes ago), its key the one of
/// `who`: balances, payments, submissions waiting for review and reviews with comments,
/// without running the lottery between nodes. Returns the daemon and the cooperative.
async fn synth_node(dir: &Path, who: Synth) -> (Daemon, String) {
    use taawun_core::fold::{Coop, Review};
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms");
    let params = |start| taawun_core::synth::Params {
        seed: 7,
        members: 4,
        requesters: 2,
        entries: 300,
        start,
    };
    // The same story, moved so that it ends ten minutes ago.
    let trial = taawun_core::synth::generate(&params(0));
    let s = taawun_core::synth::generate(&params(now - trial.end - 600_000));
    assert!(s.end < now, "the synthetic ledger lies in the past");
    let mut fold = Coop::new();
    for v in &s.entries {
        fold.apply(v.clone());
    }
    let key = match who {
        Synth::Member => {
            let owed = fold.balances(now);
            let best = s
                .members
                .iter()
                .max_by_key(|k| {
                    let pk = k.verifying_key().to_bytes();
                    owed.iter()
                        .filter(|((_, m, _), _)| m.0 == pk)
                        .map(|(_, b)| b.owed())
                        .sum::<u64>()
                })
                .expect("members");
            best.clone()
        }
        Synth::Requester => {
            let subs = fold.submissions(now);
            let best = s
                .requesters
                .iter()
                .max_by_key(|k| {
                    let pk = k.verifying_key().to_bytes();
                    subs.iter()
                        .filter(|x| {
                            x.requester.0 == pk && matches!(x.review, Review::Pending { .. })
                        })
                        .count()
                })
                .expect("requesters");
            best.clone()
        }
    };
    std::fs::create_dir_all(dir).expect("dir");
    let o = taawun(&["init"], dir);
    assert!(o.status.success(), "init: {}", text(&o));
    // Alone by design, with a member whose whole chain is the imported synthetic one: no
    // peer could confirm its latest entry, so it writes without waiting for one.
    let config =
        common::TEST_CONFIG.replace("mdns = false", "mdns = false\nwrite_before_sync = true");
    assert_ne!(config, common::TEST_CONFIG, "the test config names mdns");
    std::fs::write(dir.join("config.toml"), config).expect("config");
    // The key file keeps its owner-only mode when written over.
    std::fs::write(dir.join("key"), key.to_bytes()).expect("key");
    let d = Daemon::run(dir);
    assert_eq!(d.key, hex::encode(key.verifying_key().to_bytes()));
    let mut file = taawun_ledger::export::header_bytes(&s.coop);
    for v in &s.entries {
        file.extend_from_slice(&v.envelope());
    }
    let r = reqwest::Client::new()
        .post(format!("{}/api/import", d.base))
        .bearer_auth(&d.token)
        .body(file)
        .send()
        .await
        .expect("import");
    let status = r.status();
    let v: Value = r.json().await.expect("json");
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["rejected"], 0, "{v}");
    (d, s.coop.to_hex())
}

/// `GET path` with the session cookie (and `Accept-Language: lang`): status and body.
async fn page(d: &Daemon, cookie: &str, lang: &str, path: &str) -> (StatusCode, String) {
    let r = http()
        .get(format!("{}{path}", d.base))
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT_LANGUAGE, lang)
        .send()
        .await
        .expect("get");
    let s = r.status();
    (s, r.text().await.expect("html"))
}

/// `POST path` as the page's form would send `fields` (the session's token added).
async fn form(
    d: &Daemon,
    cookie: &str,
    lang: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, p) = page(d, cookie, lang, &path_page(path)).await;
    let csrf = csrf_of(&p);
    let mut f: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
    f.push(("csrf", csrf));
    http()
        .post(format!("{}{path}", d.base))
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT_LANGUAGE, lang)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&f))
        .send()
        .await
        .expect("post")
}

/// A page of the same cooperative as the form at `path`, to read the session's token from.
fn path_page(path: &str) -> String {
    let mut parts = path.splitn(4, '/');
    let (_, c, id) = (parts.next(), parts.next(), parts.next());
    format!("/{}/{}/coop", c.unwrap_or("c"), id.unwrap_or(""))
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_need_a_session_and_forms_need_its_token() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let (s, v) = api(
        &d,
        "POST",
        "/api/coops",
        Some(json!({"name": "Web cooperative", "floor": "12.50EUR/h"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    let c = http();

    // Without a session: every page sends to the login help, which names the command.
    for path in [
        "/",
        &format!("/c/{coop}/offers"),
        &format!("/c/{coop}/earnings"),
        "/live",
    ] {
        let r = c
            .get(format!("{}{path}", d.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()[header::LOCATION], "/welcome", "{path}");
    }
    let r = c
        .get(format!("{}/welcome", d.base))
        .header(header::ACCEPT_LANGUAGE, "fr-FR,fr;q=0.9")
        .send()
        .await
        .expect("get");
    let page = r.text().await.expect("html");
    assert!(page.contains("taawun ui"), "{page}");
    assert!(page.contains("lang=\"fr\""), "French from Accept-Language");

    // A login code needs the API token, and works once.
    let r = c
        .post(format!("{}/api/ui-login", d.base))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let url = login_url(&d);
    let first = c.get(&url).send().await.expect("login");
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let again = c.get(&url).send().await.expect("login again");
    assert_eq!(again.status(), StatusCode::FORBIDDEN);

    // With a session: pages render; a form without the session's token does nothing.
    let cookie = session(&d).await;
    let r = c
        .get(format!("{}/c/{coop}/offers", d.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .expect("board");
    assert_eq!(r.status(), StatusCode::OK);
    let board = r.text().await.expect("html");
    assert!(board.contains("Web cooperative"));
    // Without script, the page does not promise to update by itself.
    assert!(
        board.contains("<p class=\"small\" id=\"live-note\" hidden>"),
        "{board}"
    );
    let form = [
        ("title", "Forged"),
        ("purpose", "From another site"),
        ("pay", "40.00"),
        ("currency", "EUR"),
        ("minutes", "15"),
    ];
    for token in [None, Some("0".repeat(64))] {
        let mut f: Vec<(&str, String)> = form.iter().map(|(k, v)| (*k, v.to_string())).collect();
        if let Some(t) = &token {
            f.push(("csrf", t.clone()));
        }
        let r = c
            .post(format!("{}/c/{coop}/offers", d.base))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(&f))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let (_, offers) = api(&d, "GET", &format!("/api/coops/{coop}/offers"), None).await;
    assert_eq!(offers.as_array().expect("list").len(), 0, "nothing posted");

    // The token in the page's forms works; under the floor, the node's message shows.
    let csrf = board
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF token in the page")
        .to_owned();
    let post = |pay: &'static str| {
        let mut f: Vec<(&str, String)> = form.iter().map(|(k, v)| (*k, v.to_string())).collect();
        f.retain(|(k, _)| *k != "pay");
        f.push(("pay", pay.into()));
        f.push(("csrf", csrf.clone()));
        c.post(format!("{}/c/{coop}/offers", d.base))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(&f))
            .send()
    };
    let r = post("2,00").await.expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.expect("html");
    assert!(
        page.contains("under the cooperative’s floor of €12.50/h"),
        "{page}"
    );
    let r = post("4,00").await.expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, offers) = api(&d, "GET", &format!("/api/coops/{coop}/offers"), None).await;
    assert_eq!(offers[0]["pay"]["minor"], 400);
}

/// Every form of the page that changes something is refused, before its handler looks at
/// anything, without the session's token or with another: `403` and the page that says
/// the form is stale, in the page's language; the session stays.
#[tokio::test(flavor = "multi_thread")]
async fn every_form_is_refused_without_the_session_s_token() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let (s, v) = api(
        &d,
        "POST",
        "/api/coops",
        Some(json!({"name": "Token cooperative", "floor": "12.50EUR/h"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    let cookie = session(&d).await;
    let (_, p) = page(&d, &cookie, "fr", &format!("/c/{coop}/coop")).await;
    let csrf = csrf_of(&p);
    // Ids of the right form that name nothing: only the token decides.
    let none = "0".repeat(64);
    let c = format!("/c/{coop}");
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("{c}/offers"),
            vec![("title", "Forged"), ("pay", "40.00")],
        ),
        (format!("{c}/offers/{none}/claim"), vec![]),
        (
            format!("{c}/offers/{none}/withdraw"),
            vec![("confirm", "1")],
        ),
        (
            format!("{c}/payments"),
            vec![("to", &none), ("amount", "1")],
        ),
        (format!("{c}/payments/{none}/confirm"), vec![]),
        (
            format!("{c}/reviews"),
            vec![("requester", &none), ("pay", "5")],
        ),
        (
            format!("{c}/submissions/{none}/accept"),
            vec![("confirm", "1")],
        ),
        (
            format!("{c}/submissions/{none}/reject"),
            vec![("reason", "no")],
        ),
        (
            format!("{c}/submissions/{none}/appeal"),
            vec![("answer", "yes")],
        ),
        (format!("{c}/appeals/{none}/vote"), vec![("uphold", "1")]),
        (format!("{c}/appeals/{none}/reply"), vec![("text", "no")]),
        (format!("{c}/devices"), vec![("key", &none), ("label", "x")]),
        (format!("{c}/devices/{none}/revoke"), vec![("confirm", "1")]),
        (format!("{c}/backup"), vec![("confirm", "1")]),
        (
            format!("{c}/votes"),
            vec![("proposal", &none), ("yes", "1")],
        ),
        ("/logout".to_owned(), vec![]),
    ];
    for (path, fields) in &forms {
        for token in [None, Some("0".repeat(64)), Some(format!("{csrf}0"))] {
            let mut f: Vec<(&str, String)> =
                fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
            if let Some(t) = &token {
                f.push(("csrf", t.clone()));
            }
            let r = http()
                .post(format!("{}{path}", d.base))
                .header(header::COOKIE, &cookie)
                .header(header::ACCEPT_LANGUAGE, "fr")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form_body(&f))
                .send()
                .await
                .expect("post");
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} {token:?}");
            let p = r.text().await.expect("html");
            assert!(p.contains("Ce formulaire est périmé"), "{path}: {p}");
        }
    }

    // The work form is multipart: the same.
    let boundary = "taawun-test-boundary";
    let part = |name: &str, extra: &str, value: &str| {
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{extra}\r\n\r\n{value}\r\n")
    };
    for token in [None, Some("0".repeat(64))] {
        let body = format!(
            "{}{}{}--{boundary}--\r\n",
            token
                .as_deref()
                .map_or(String::new(), |t| part("csrf", "", t)),
            part("minutes", "", "12"),
            part("file", "; filename=\"work.txt\"", "done"),
        );
        let r = http()
            .post(format!("{}{c}/offers/{none}/submit", d.base))
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_LANGUAGE, "fr")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "submit {token:?}");
        let p = r.text().await.expect("html");
        assert!(p.contains("Ce formulaire est périmé"), "submit: {p}");
    }

    // With the token, the same forms reach their handlers: the node's own answer.
    let r = form(
        &d,
        &cookie,
        "fr",
        &format!("{c}/payments/{none}/confirm"),
        &[],
    )
    .await;
    assert_ne!(r.status(), StatusCode::FORBIDDEN);
    let p = r.text().await.expect("html");
    assert!(!p.contains("Ce formulaire est périmé"), "{p}");
    // And the session was never ended by the forged logouts.
    let (s, _) = page(&d, &cookie, "fr", &format!("{c}/coop")).await;
    assert_eq!(s, StatusCode::OK);
    let r = http()
        .post(format!("{}/logout", d.base))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[("csrf", csrf)]))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/welcome");
}

/// Where the browser test leaves its screenshots.
/// The page's CSRF token, from a page's forms.
fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF token in the page")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn form_messages_and_typed_numbers_follow_the_page_s_language() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let (s, v) = api(
        &d,
        "POST",
        "/api/coops",
        Some(json!({"name": "Digits", "floor": "12.50EUR/h"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    let c = http();
    let cookie = session(&d).await;
    let board = c
        .get(format!("{}/c/{coop}/offers", d.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .expect("board")
        .text()
        .await
        .expect("html");
    let csrf = csrf_of(&board);
    let send = |lang: &'static str, path: String, fields: Vec<(&'static str, &str)>| {
        let mut f: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
        f.push(("csrf", csrf.clone()));
        c.post(format!("{}/c/{coop}/{path}", d.base))
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_LANGUAGE, lang)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(&f))
            .send()
    };
    let offer = |pay: &'static str, minutes: &'static str| {
        vec![
            ("title", "Digits"),
            ("purpose", "Reading numbers"),
            ("pay", pay),
            ("currency", "EUR"),
            ("minutes", minutes),
        ]
    };
    // Under the floor, typed in Arabic-Indic digits: refused in Arabic, with the figures.
    let r = send("ar", "offers".into(), offer("٢٫٠٠", "١٥"))
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.expect("html");
    assert!(page.contains("رُفض العرض: 2,00\u{a0}€ مقابل 15 د"), "{page}");
    // Minutes that are not a number: said in French.
    let r = send("fr", "offers".into(), offer("4,00", "un quart d’heure"))
        .await
        .expect("post");
    let page = r.text().await.expect("html");
    assert!(page.contains("n’est pas un nombre entier"), "{page}");
    // French thousands and Persian digits are read: 1 000,00 EUR for 45 minutes.
    let r = send("fr", "offers".into(), offer("1\u{202f}000,00", "۴۵"))
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, offers) = api(&d, "GET", &format!("/api/coops/{coop}/offers"), None).await;
    assert_eq!(offers[0]["pay"]["minor"], 100_000, "{offers}");
    assert_eq!(offers[0]["minutes"], 45, "{offers}");
    // A rejection without a reason: asked for in Arabic, before the node is asked.
    let sub = "ab".repeat(32);
    let r = send(
        "ar",
        format!("submissions/{sub}/reject"),
        vec![("reason", "  ")],
    )
    .await
    .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.expect("html").contains("السبب إلزامي"));
    // A payment: an amount that does not read, in English; French thousands read.
    let me = d.key.clone();
    let pay = |amount: &'static str| {
        vec![
            ("member", me.as_str()),
            ("amount", amount),
            ("currency", "EUR"),
            ("reference", "transfer 7"),
        ]
    };
    let r = send("en", "payments".into(), pay("lots"))
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = r.text().await.expect("html");
    assert!(
        page.contains("Amount: “\u{2068}lots\u{2069}” is not an amount"),
        "{page}"
    );
    let r = send("fr", "payments".into(), pay("1 000,50"))
        .await
        .expect("post");
    let page = r.text().await.expect("html");
    // Nothing is owed: the confirmation page shows the amount as read.
    assert!(page.contains("1\u{202f}000,50\u{a0}€"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_icon_is_open_and_a_member_from_elsewhere_lands_in_the_app() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let c = http();
    let r = c
        .get(format!("{}/favicon.ico", d.base))
        .send()
        .await
        .expect("icon");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/svg+xml");
    // A link from another site arrives without the cookie (SameSite=Strict): the
    // welcome page reloads itself once, and that load, with the cookie, goes to the app.
    let page = c
        .get(format!("{}/welcome", d.base))
        .send()
        .await
        .expect("welcome")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("content=\"0;url=/welcome?again=1\""),
        "{page}"
    );
    let page = c
        .get(format!("{}/welcome?again=1", d.base))
        .send()
        .await
        .expect("welcome")
        .text()
        .await
        .expect("html");
    assert!(!page.contains("http-equiv"), "reloads only once: {page}");
    let cookie = session(&d).await;
    let r = c
        .get(format!("{}/welcome?again=1", d.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .expect("welcome");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/");
}

fn shots() -> PathBuf {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../test-output/ui");
    std::fs::create_dir_all(&p).expect("screenshot folder");
    p
}

async fn wait_api(d: &Daemon, what: &str, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + STEP;
    loop {
        let (s, v) = api(d, "GET", path, None).await;
        if s == StatusCode::OK && ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_end_to_end_in_the_browser() {
    let Some((driver, chromium)) = browser::tools() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let out = shots();
    let member = Daemon::start(&tmp.path().join("member"));
    let requester = Daemon::start(&tmp.path().join("requester"));

    // A cooperative founded by the member, with the requester admitted in its charter.
    let (s, v) = api(
        &member,
        "POST",
        "/api/coops",
        Some(json!({"name": "Atlas Translators", "floor": "12.50EUR/h", "requesters": [requester.key], "limits": {"min_claim_window_ms": 60_000}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    let (_, inv) = api(&member, "GET", &format!("/api/coops/{coop}/invite"), None).await;
    let (s, v) = api(
        &requester,
        "POST",
        "/api/join",
        Some(json!({"invite": inv["invite"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    wait_api(
        &requester,
        "the requester to be admitted",
        "/api/status",
        |v| v["coops"][0]["role"] == "requester" && v["peers"].as_u64() > Some(0),
    )
    .await;

    let wd = browser::Driver::start(&driver, &chromium, &tmp.path().join("chromedriver.log")).await;
    let req = wd.browser(&tmp.path().join("profile-requester")).await;
    let mem = wd.browser(&tmp.path().join("profile-member")).await;

    // The member logs in and watches the board; the page holds a marker a reload would lose.
    mem.go(&login_url(&member)).await;
    mem.until_text("Atlas Translators").await;
    let board = format!("{}/c/{coop}/offers", member.base);
    assert!(mem.url().await.starts_with(&board), "{}", mem.url().await);
    mem.until(
        "the live stream",
        "return document.documentElement.dataset.liveReady === '1'",
    )
    .await;
    mem.js("window.notReloaded = true", vec![]).await;

    // The requester posts an offer. Under the floor, the page refuses before sending...
    req.go(&login_url(&requester)).await;
    req.go(&format!("{}/c/{coop}/post", requester.base)).await;
    req.fill("#title", "Translate a clinic leaflet").await;
    req.fill(
        "#purpose",
        "Patients who read Arabic get the same care instructions",
    )
    .await;
    req.fill("#description", "Two pages, French to Arabic.")
        .await;
    req.fill("#minutes", "15").await;
    req.fill("#pay", "2").await;
    let rate = req.text("#rate").await;
    assert!(rate.contains("€8.00/h"), "{rate}");
    req.click("#publish").await;
    assert!(
        req.url().await.ends_with("/post"),
        "not sent: {}",
        req.url().await
    );
    assert_eq!(
        req.js("return document.getElementById('rate').className", vec![])
            .await,
        "bad"
    );
    req.screenshot(&out.join("post-offer-under-floor.png"))
        .await;
    // ... and the node refuses it too when the form is sent without the page's check.
    req.js("document.getElementById('offer-form').submit()", vec![])
        .await;
    req.until_text("under the cooperative’s floor").await;
    assert!(req.text("#refused").await.contains("€12.50/h"));
    let (_, offers) = api(
        &requester,
        "GET",
        &format!("/api/coops/{coop}/offers"),
        None,
    )
    .await;
    assert_eq!(
        offers.as_array().expect("list").len(),
        0,
        "nothing stored under the floor"
    );

    // At a fair rate, with a short claim window so the lottery draws soon.
    req.fill("#pay", "4,00").await;
    req.js(
        "document.querySelector('#offer-form details').open = true",
        vec![],
    )
    .await;
    // A minute: the least a charter may allow (this one lowers its minimum to it).
    req.fill("#claim_window_s", "60").await;
    assert!(req.text("#rate").await.contains("€16.00/h"));
    req.click("#publish").await;
    req.until_text("Done.").await;

    // The offer appears on the member's board without a reload.
    mem.until_text("Translate a clinic leaflet").await;
    assert_eq!(
        mem.js("return window.notReloaded === true", vec![]).await,
        json!(true)
    );
    assert!(mem.text("#offers").await.contains("€16.00/h"));
    mem.screenshot(&out.join("offers-board.png")).await;

    // The member claims it on its page.
    mem.click("#offers li.offer h2 a").await;
    mem.until_text("public lottery").await;
    mem.screenshot(&out.join("offer.png")).await;
    mem.click("#claim").await;
    mem.until_text("You claimed it").await;

    // When the claim window closes, the requester's node draws; the member's work page
    // shows the submit form by itself.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let drawn = loop {
        let (_, offers) = api(&member, "GET", &format!("/api/coops/{coop}/offers"), None).await;
        if offers[0]["state"] == "assigned" {
            break offers[0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lottery was not drawn: {offers}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // The member's place, its deadline, a claim that counts, an honest assignment.
    assert_eq!(drawn["my_claim_counts"], true, "{drawn}");
    assert_eq!(drawn["void_assignments"], 0, "{drawn}");
    assert_eq!(drawn["record"]["void_assignments"], 0, "{drawn}");
    assert_eq!(drawn["places"][0]["member"], member.key.as_str(), "{drawn}");
    assert_eq!(drawn["places"][0]["state"], "open", "{drawn}");
    let until = drawn["places"][0]["until"].as_u64().expect("until");
    assert_eq!(drawn["submit_by"].as_u64(), Some(until), "{drawn}");
    mem.go(&format!("{}/c/{coop}/work", member.base)).await;
    mem.js("window.notReloaded = true", vec![]).await;
    mem.find("form.submit input[type=file]").await;
    let due = mem.text("#work p.deadline").await;
    assert!(
        due.starts_with("Send your work by ") && due.contains("UTC (in 47 h"),
        "{due}"
    );
    assert_eq!(
        mem.js("return window.notReloaded === true", vec![]).await,
        json!(true)
    );
    let result = tmp.path().join("leaflet-ar.txt");
    std::fs::write(&result, "نشرة العيادة مترجمة").expect("result file");
    mem.send(
        "form.submit input[type=file]",
        &result.display().to_string(),
    )
    .await;
    // Minutes worked start empty: the member says them.
    assert_eq!(
        mem.js(
            "return document.querySelector('form.submit input[name=minutes]').value",
            vec![]
        )
        .await,
        json!("")
    );
    mem.fill("form.submit input[name=minutes]", "20").await;
    mem.screenshot(&out.join("my-work.png")).await;
    mem.click("form.submit button").await;
    mem.until(
        "the review state",
        "return document.querySelector('[data-review=pending]') !== null",
    )
    .await;

    // The member watches earnings; the requester receives the file and accepts.
    mem.go(&format!("{}/c/{coop}/earnings", member.base)).await;
    mem.js("window.notReloaded = true", vec![]).await;
    mem.until_text("Nothing yet.").await;
    req.go(&format!("{}/c/{coop}/requests", requester.base))
        .await;
    req.find("a.download").await;
    let got = req
        .js(
            "const a = document.querySelector('a.download'); return fetch(a.href).then(r => r.text());",
            vec![],
        )
        .await;
    assert_eq!(got, json!("نشرة العيادة مترجمة"), "the result file as sent");
    req.screenshot(&out.join("requests.png")).await;
    // Accepting asks first (a dialog with the script).
    req.click("button.accept").await;
    req.accept_dialog().await;
    req.until_text("Done.").await;

    // Earned: 4.00 plus the top-up to the floor for 20 minutes (4.17), live.
    mem.until("the earnings to change", "const e = document.querySelector('.balance .earned'); return e !== null && e.textContent.includes('4.00')").await;
    assert_eq!(
        mem.js("return window.notReloaded === true", vec![]).await,
        json!(true)
    );
    mem.find("svg.chart circle").await;
    mem.screenshot(&out.join("earnings.png")).await;

    // The cooperative view, and the Arabic page: right to left, laid out so.
    mem.go(&format!("{}/c/{coop}/coop", member.base)).await;
    mem.screenshot(&out.join("cooperative.png")).await;
    mem.go(&format!("{}/c/{coop}/earnings", member.base)).await;
    mem.click("footer a[lang=ar]").await;
    mem.until(
        "the Arabic page",
        "return document.documentElement.lang === 'ar'",
    )
    .await;
    assert_eq!(
        mem.js("return document.documentElement.dir", vec![]).await,
        "rtl"
    );
    assert_eq!(
        mem.js("return getComputedStyle(document.body).direction", vec![])
            .await,
        "rtl"
    );
    // The navigation starts on the right.
    let r = mem
        .js("const n = document.querySelector('header nav li'); const b = n.getBoundingClientRect(); return b.right > window.innerWidth / 2", vec![])
        .await;
    assert_eq!(r, json!(true), "the first menu entry sits on the right");
    assert!(mem.text("h1").await.contains("المداخيل"));
    mem.screenshot(&out.join("earnings-ar.png")).await;
    mem.go(&format!("{}/c/{coop}/offers?all=1", member.base))
        .await;
    mem.screenshot(&out.join("offers-board-ar.png")).await;

    req.quit().await;
    mem.quit().await;
    eprintln!("screenshots in {}", out.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_offer_form_writes_and_checks_dinars_with_three_decimals() {
    let Some((driver, chromium)) = browser::tools() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(&tmp.path().join("node"));
    let (s, v) = api(
        &d,
        "POST",
        "/api/coops",
        Some(json!({"name": "Amman Translators", "floor": "12.500JOD/h", "requesters": [d.key]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();

    let wd = browser::Driver::start(&driver, &chromium, &tmp.path().join("chromedriver.log")).await;
    let b = wd.browser(&tmp.path().join("profile")).await;
    let rate = "return document.getElementById('rate').textContent";
    let class = "return document.getElementById('rate').className";
    b.go(&login_url(&d)).await;
    b.go(&format!("{}/c/{coop}/post", d.base)).await;
    let page = b.js("return document.body.textContent", vec![]).await;
    assert!(
        page.as_str().expect("text").contains("12.500\u{a0}JOD/h"),
        "{page}"
    );
    b.fill("#title", "Translate a leaflet").await;
    b.fill("#purpose", "A clinic").await;
    b.fill("#minutes", "20").await;
    // Four decimals: the page says how many a dinar takes, and does not send.
    b.fill("#pay", "4.2505").await;
    assert_eq!(b.js(rate, vec![]).await, "JOD takes at most 3 decimals");
    assert_eq!(b.js(class, vec![]).await, "bad");
    b.click("#publish").await;
    assert!(b.url().await.ends_with("/post"), "not sent");
    // Three, written with a comma: 4.250 JOD for 20 minutes is 12.750 JOD an hour.
    // Touch targets: the menu and the language links at least 44 px high.
    let low = b
        .js(
            "return [...document.querySelectorAll('header nav a, .langs a')].filter(a => a.getBoundingClientRect().height < 44).map(a => a.textContent)",
            vec![],
        )
        .await;
    assert_eq!(low, serde_json::json!([]), "under 44 px");
    // With script, the page says it updates by itself.
    assert_eq!(
        b.js("return document.getElementById('live-note').hidden", vec![])
            .await,
        false
    );
    // Typed in Arabic-Indic and Persian digits, the script reads them as the node does.
    b.fill("#minutes", "۲۰").await;
    b.fill("#pay", "٤٫٢٥").await;
    assert_eq!(
        b.js(rate, vec![]).await,
        "12.750\u{a0}JOD/h — at or above the floor"
    );
    b.fill("#minutes", "20").await;
    b.fill("#pay", "4,25").await;
    assert_eq!(
        b.js(rate, vec![]).await,
        "12.750\u{a0}JOD/h — at or above the floor"
    );
    assert_eq!(b.js(class, vec![]).await, "ok");
    // Under the floor, exactly: 4.166 JOD is 12.498 JOD/h.
    b.fill("#pay", "4.166").await;
    assert_eq!(b.js(class, vec![]).await, "bad");
    b.fill("#pay", "4.25").await;
    b.click("#publish").await;
    // A node alone: the offer is kept and said to wait for the cooperative.
    b.until_text("waiting to reach the cooperative").await;
    let (_, offers) = api(&d, "GET", &format!("/api/coops/{coop}/offers"), None).await;
    assert_eq!(offers[0]["pay"]["minor"], 4_250, "{offers}");

    // The board, in French and in Arabic, writes dinars with three decimals.
    let board = format!("/c/{coop}/offers");
    b.go(&format!("{}/lang/fr?next={board}", d.base)).await;
    b.until_text("4,250\u{a0}JOD").await;
    let text = b
        .js(
            "return document.getElementById('offers').textContent",
            vec![],
        )
        .await;
    assert!(
        text.as_str().expect("text").contains("12,750\u{a0}JOD/h"),
        "{text}"
    );
    b.go(&format!("{}/lang/ar?next={board}", d.base)).await;
    b.until_text("12,750\u{a0}JOD/س").await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_text_stays_inside_its_card_under_the_page_s_policy() {
    let Some((driver, chromium)) = browser::tools() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(&tmp.path().join("node"));
    let (s, v) = api(
        &d,
        "POST",
        "/api/coops",
        Some(json!({"name": "Long Words", "floor": "12.50EUR/h", "requesters": [d.key]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    // The longest unbroken title the protocol allows (200 characters, a right-to-left
    // mark first), and long URLs (longer titles and overrides are refused, see
    // security.rs).
    let title = format!("\u{200f}{}", "W".repeat(199));
    let purpose = format!("https://example.org/{}", "a".repeat(480));
    let description = format!("https://example.org/{}", "a".repeat(2_000));
    let (s, v) = api(
        &d,
        "POST",
        &format!("/api/coops/{coop}/offers"),
        Some(json!({"title": title, "purpose": purpose, "description": description, "pay": "40.00EUR", "minutes": 15})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let offer = v["id"].as_str().expect("id").to_owned();

    let wd = browser::Driver::start(&driver, &chromium, &tmp.path().join("chromedriver.log")).await;
    let b = wd.browser(&tmp.path().join("profile")).await;
    b.go(&login_url(&d)).await;
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";
    // In English and in Arabic (right to left): nothing wider than the screen, and the
    // card's link and the heading start on it.
    let reachable = "const w = window.innerWidth; \
        return [...document.querySelectorAll('main h2 a, main h1')] \
        .every(e => { const r = e.getBoundingClientRect(); return r.left >= -1 && r.left < w; })";
    for lang in ["en", "ar"] {
        for path in [
            format!("/c/{coop}/offers"),
            format!("/c/{coop}/offers/{offer}"),
        ] {
            b.go(&format!("{}/lang/{lang}?next={path}", d.base)).await;
            b.until(
                "the language",
                &format!("return document.documentElement.lang === '{lang}'"),
            )
            .await;
            b.find("bdi").await;
            assert_eq!(
                b.js(fits, vec![]).await,
                json!(true),
                "{path} in {lang} is wider than the screen"
            );
            assert_eq!(
                b.js(reachable, vec![]).await,
                json!(true),
                "{path} in {lang}: a link off the screen"
            );
        }
    }
    b.go(&format!("{}/lang/en?next=/c/{coop}/offers", d.base))
        .await;
    // The page's own style sheet and script run under its policy.
    b.until(
        "the script",
        "return document.documentElement.dataset.liveReady === '1'",
    )
    .await;
    assert_eq!(
        b.js(
            "return getComputedStyle(document.querySelector('header.top')).backgroundColor",
            vec![]
        )
        .await,
        "rgb(11, 93, 59)"
    );
    b.screenshot(&shots().join("long-title.png")).await;

    // The claim window cannot go under the cooperative's least (10 minutes by default):
    // a text field (Arabic-Indic digits type into it) whose least the script checks.
    b.go(&format!("{}/c/{coop}/post", d.base)).await;
    assert_eq!(
        b.js(
            "return document.getElementById('claim_window_s').dataset.min",
            vec![]
        )
        .await,
        "600"
    );
    b.js(
        "document.querySelector('#offer-form details').open = true",
        vec![],
    )
    .await;
    b.fill("#claim_window_s", "60").await;
    assert_eq!(
        b.js(
            "return document.getElementById('claim_window_s').checkValidity()",
            vec![]
        )
        .await,
        json!(false)
    );
    assert!(b.text("#claim-window-hint").await.contains("10 min"));
    b.fill("#claim_window_s", "٦٠٠").await;
    assert_eq!(
        b.js(
            "return document.getElementById('claim_window_s').checkValidity()",
            vec![]
        )
        .await,
        json!(true)
    );
    b.quit().await;
}

/// The value of the `name` attribute... of the first element whose opening tag contains
/// `marker`: `attr(page, "id=\"pay-amount\"", "value")`.
fn attr(page: &str, marker: &str, name: &str) -> Option<String> {
    let at = page.find(marker)?;
    let start = page[..at].rfind('<')?;
    let end = at + page[at..].find('>')?;
    let tag = &page[start..end];
    let key = format!(" {name}=\"");
    let v = tag.split(&key).nth(1)?;
    Some(v.split('"').next()?.to_owned())
}

async fn submission(d: &Daemon, coop: &str, id: &str) -> Value {
    let (_, subs) = api(d, "GET", &format!("/api/coops/{coop}/submissions"), None).await;
    subs.as_array()
        .expect("list")
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no submission {id}: {subs}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_requester_is_asked_before_accepting_or_rejecting_and_pays_what_is_owed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (d, coop) = synth_node(&tmp.path().join("node"), Synth::Requester).await;
    let cookie = session(&d).await;
    let me = d.key.clone();
    let requests = format!("/c/{coop}/requests");

    // The payment form starts on the first member something is left to pay, with what is
    // left (owed, less payments not answered yet) as its amount.
    let (_, balances) = api(&d, "GET", &format!("/api/coops/{coop}/balances"), None).await;
    let left = |b: &Value| {
        // Payments waiting for an answer may exceed what is owed: nothing is left then.
        b["owed"]["minor"]
            .as_u64()
            .expect("owed")
            .saturating_sub(b["unconfirmed"]["minor"].as_u64().expect("unconfirmed"))
    };
    let mine: Vec<&Value> = balances
        .as_array()
        .expect("list")
        .iter()
        .filter(|b| b["requester"] == me.as_str())
        .collect();
    let first = mine.iter().find(|b| left(b) > 0).expect("something owed");
    let eur = |minor: u64| format!("{}.{:02}", minor / 100, minor % 100);
    let (s, p) = page(&d, &cookie, "en", &requests).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        attr(&p, "id=\"pay-amount\"", "value"),
        Some(eur(left(first))),
        "{p}"
    );
    let member = first["member"].as_str().expect("member");
    let opt = p
        .find(&format!("<option value=\"{member}\""))
        .expect("the member offered");
    assert!(
        p[opt..]
            .split('>')
            .next()
            .expect("tag")
            .contains("selected"),
        "chosen: {p}"
    );
    // A "Pay" link chooses another member: the form starts on them and what they are owed.
    {
        let other = mine
            .iter()
            .rev()
            .find(|b| left(b) > 0 && b["member"] != member)
            .expect("a second member owed something");
        let m = other["member"].as_str().expect("member");
        let (_, p) = page(
            &d,
            &cookie,
            "fr",
            &format!("{requests}?pay={m}&currency=EUR"),
        )
        .await;
        assert!(
            p.contains(&format!("href=\"{requests}?pay={m}&amp;currency=EUR#pay\"")),
            "a Pay link: {p}"
        );
        let opt = p.find(&format!("<option value=\"{m}\"")).expect("option");
        assert!(
            p[opt..]
                .split('>')
                .next()
                .expect("tag")
                .contains("selected"),
            "chosen"
        );
        let french = eur(left(other)).replace('.', ",");
        assert_eq!(attr(&p, "id=\"pay-amount\"", "value"), Some(french));
    }

    // Work waiting for review: accepting asks first, and nothing is signed until it is
    // confirmed; the same for a rejection, which keeps its reason through the question.
    let ids: Vec<String> = p
        .split(&format!("action=\"/c/{coop}/submissions/"))
        .skip(1)
        .filter_map(|x| x.split_once("/accept\"").map(|(id, _)| id.to_owned()))
        .collect();
    assert!(ids.len() >= 2, "two submissions to review: {p}");
    let accept = format!("/c/{coop}/submissions/{}/accept", ids[0]);
    let r = form(&d, &cookie, "en", &accept, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let asked = r.text().await.expect("html");
    assert!(asked.contains("Accept this work?"), "{asked}");
    // ... naming the work: its offer's title and who did it.
    let first = submission(&d, &coop, &ids[0]).await;
    let title = first["title"].as_str().expect("title");
    let worker = first["member"].as_str().expect("member");
    assert!(
        asked.contains(&format!("<strong><bdi>{title}</bdi></strong>")),
        "{asked}"
    );
    assert!(asked.contains(&format!("title=\"{worker}\"")), "{asked}");
    // ... by the name the member was admitted under, isolated, then the key's first digits.
    let name = first["member_name"]
        .as_str()
        .expect("an admitted member's name");
    assert!(
        asked.contains(&format!(
            "<span class=\"name\"><bdi>{name}</bdi></span> · <code>{}</code>",
            &worker[..8]
        )),
        "{asked}"
    );
    assert!(
        asked.contains("<input type=\"hidden\" name=\"confirm\" value=\"1\">"),
        "{asked}"
    );
    assert_eq!(submission(&d, &coop, &ids[0]).await["review"], "pending");
    let r = form(&d, &cookie, "en", &accept, &[("confirm", "1")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // This node is alone: the acceptance is saved here and waits to reach the others.
    let to = r.headers()[header::LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(to.ends_with("?done=wait"), "{to}");
    assert_eq!(submission(&d, &coop, &ids[0]).await["review"], "accepted");

    let reject = format!("/c/{coop}/submissions/{}/reject", ids[1]);
    let r = form(&d, &cookie, "ar", &reject, &[("reason", "صفحات فارغة")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let asked = r.text().await.expect("html");
    assert!(asked.contains("هل ترفض هذا العمل"), "{asked}");
    let second = submission(&d, &coop, &ids[1]).await;
    let name = second["member_name"]
        .as_str()
        .expect("an admitted member's name");
    assert!(
        asked.contains(&format!("<span class=\"name\"><bdi>{name}</bdi></span>")),
        "the rejection names who did the work: {asked}"
    );
    assert!(
        asked.contains("name=\"reason\" value=\"صفحات فارغة\""),
        "{asked}"
    );
    assert_eq!(submission(&d, &coop, &ids[1]).await["review"], "pending");
    let r = form(
        &d,
        &cookie,
        "ar",
        &reject,
        &[("reason", "صفحات فارغة"), ("confirm", "1")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let s = submission(&d, &coop, &ids[1]).await;
    assert_eq!(
        (s["review"].as_str(), s["reason"].as_str()),
        (Some("rejected"), Some("صفحات فارغة"))
    );

    // Paying a member more than is left to pay them asks first, naming them and the numbers.
    let owed_to = mine
        .iter()
        .find(|b| b["member"] == member)
        .expect("the member's balance");
    let over = eur(left(owed_to) + 10_000);
    let r = form(
        &d,
        &cookie,
        "en",
        &format!("/c/{coop}/payments"),
        &[
            ("member", member),
            ("amount", over.as_str()),
            ("currency", "EUR"),
            ("reference", "transfer 9"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let check = r.text().await.expect("html");
    let name = owed_to["member_name"]
        .as_str()
        .expect("an admitted member's name");
    assert!(
        check.contains(&format!(
            "to <span class=\"key\" title=\"{member}\"><span class=\"name\"><bdi>{name}</bdi></span> · <code>{}</code>",
            &member[..8]
        )),
        "{check}"
    );
    assert!(check.contains(&format!("€{over}")), "{check}");

    // The requester's record shows what members wrote of them.
    let (_, p) = page(&d, &cookie, "en", &requests).await;
    assert!(p.contains("What members wrote"), "{p}");
    assert!(p.contains("Clear instructions, paid on time."), "{p}");

    // Long lists come in pages: one submission a page here, with the way to the next.
    let (_, p) = page(&d, &cookie, "en", &format!("{requests}?per=1")).await;
    assert_eq!(p.matches("<li class=\"card submission\"").count(), 1, "{p}");
    assert!(
        p.contains(&format!("href=\"{requests}?per=1&amp;from=1\"")),
        "{p}"
    );
    let (_, p) = page(&d, &cookie, "en", &format!("{requests}?per=1&from=1")).await;
    assert!(p.contains(">Previous<") && p.contains("2–2 of "), "{p}");
    {
        // Every offer of the cooperative on one page, in Arabic.
        let (_, all) = page(&d, &cookie, "ar", &format!("/c/{coop}/offers?all=1")).await;
        let z = http()
            .get(format!("{}/c/{coop}/offers?all=1", d.base))
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .expect("get")
            .bytes()
            .await
            .expect("body");
        // A full board of this cooperative's offers is a few kilobytes on the wire.
        assert!(
            all.matches("<li class=\"card offer\"").count() > 20,
            "{all}"
        );
        assert!(
            z.len() < 10 * 1024 && z.len() * 5 < all.len(),
            "{} of {}",
            z.len(),
            all.len()
        );
    }
    // The board too: two offers a page, filters kept in the links.
    let board = format!("/c/{coop}/offers");
    let (_, p) = page(&d, &cookie, "fr", &format!("{board}?all=1&per=2&from=2")).await;
    assert_eq!(p.matches("<li class=\"card offer\"").count(), 2, "{p}");
    assert!(
        p.contains(&format!("href=\"{board}?all=1&amp;per=2&amp;from=0\"")),
        "{p}"
    );
    assert!(
        p.contains(&format!("href=\"{board}?all=1&amp;per=2&amp;from=4\"")),
        "{p}"
    );
    assert!(
        p.contains(">Précédents<") && p.contains(">Suivants<") && p.contains("3–4 sur "),
        "{p}"
    );

    // Pages, styles and script go gzipped to a browser that takes it, and decode to the
    // same bytes; a client that does not ask gets them plain.
    use std::io::Read;
    for (path, ty) in [
        ("/s/style.css", "text/css"),
        ("/s/app.js", "text/javascript"),
    ] {
        let plain = http()
            .get(format!("{}{path}", d.base))
            .send()
            .await
            .expect("get");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let plain = plain.bytes().await.expect("body");
        let r = http()
            .get(format!("{}{path}", d.base))
            .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
            .send()
            .await
            .expect("get");
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip", "{path}");
        assert!(r.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .starts_with(ty));
        let z = r.bytes().await.expect("body");
        assert!(
            z.len() * 2 < plain.len(),
            "{path}: {} of {}",
            z.len(),
            plain.len()
        );
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_end(&mut back)
            .expect("gunzip");
        assert_eq!(back, plain.to_vec(), "{path}");
    }
    let r = http()
        .get(format!("{}{requests}", d.base))
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
    let mut html = String::new();
    flate2::read::GzDecoder::new(&r.bytes().await.expect("body")[..])
        .read_to_string(&mut html)
        .expect("gunzip");
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("What members wrote"),
        "{html}"
    );
    let r = http()
        .get(format!("{}{requests}", d.base))
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT_ENCODING, "gzip;q=0, br")
        .send()
        .await
        .expect("get");
    assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_made_offline_waits_to_reach_the_cooperative_and_withdrawing_asks_first() {
    let tmp = tempfile::tempdir().expect("tmp");
    let member = Daemon::start(&tmp.path().join("member"));
    let requester = Daemon::start(&tmp.path().join("requester"));
    let (s, v) = api(
        &member,
        "POST",
        "/api/coops",
        Some(json!({"name": "Camp Weavers", "floor": "12.50EUR/h", "requesters": [requester.key]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    let (_, inv) = api(&member, "GET", &format!("/api/coops/{coop}/invite"), None).await;
    let (s, v) = api(
        &requester,
        "POST",
        "/api/join",
        Some(json!({"invite": inv["invite"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    wait_api(
        &requester,
        "the requester to be admitted",
        "/api/status",
        |v| v["coops"][0]["role"] == "requester" && v["peers"].as_u64() > Some(0),
    )
    .await;
    let rc = session(&requester).await;

    // The offer form takes Arabic-Indic digits in every number, places and windows too:
    // text fields with a numeric keyboard, no type=number that would refuse them.
    let (_, p) = page(&requester, &rc, "ar", &format!("/c/{coop}/post")).await;
    assert!(!p.contains("type=\"number\""), "{p}");
    for field in [
        "assignments",
        "claim_window_s",
        "review_window_h",
        "minutes",
    ] {
        assert_eq!(
            attr(&p, &format!("id=\"{field}\""), "inputmode").as_deref(),
            Some("numeric"),
            "{field}"
        );
    }
    let post = format!("/c/{coop}/offers");
    let offer = |title: &'static str| {
        vec![
            ("title", title),
            ("purpose", "Blankets for the winter"),
            ("pay", "٤٫٠٠"),
            ("currency", "EUR"),
            ("minutes", "١٥"),
            ("assignments", "٢"),
            ("claim_window_s", "٦٠٠"),
            ("review_window_h", "٤٨"),
        ]
    };
    for title in [
        "Weave a blanket",
        "Dye the wool",
        "Count the looms",
        "Card the fleece",
    ] {
        let r = form(&requester, &rc, "ar", &post, &offer(title)).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "{}",
            r.text().await.unwrap_or_default()
        );
    }
    let (_, offers) = api(
        &requester,
        "GET",
        &format!("/api/coops/{coop}/offers"),
        None,
    )
    .await;
    let by_title = |t: &str| {
        offers
            .as_array()
            .expect("list")
            .iter()
            .find(|o| o["title"] == t)
            .cloned()
            .expect("offer")
    };
    let weave = by_title("Weave a blanket");
    assert_eq!(weave["assignments"], 2, "{weave}");
    assert_eq!(weave["review_window_ms"], 48 * 3_600_000, "{weave}");
    assert_eq!(weave["pay"]["minor"], 400, "{weave}");

    // Withdrawing asks first, from the requests page's list as from the offer's page.
    let count = by_title("Count the looms")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (_, p) = page(&requester, &rc, "en", &format!("/c/{coop}/requests")).await;
    let withdraw = format!("/c/{coop}/offers/{count}/withdraw");
    assert!(p.contains(&format!("action=\"{withdraw}\"")), "{p}");
    let r = form(&requester, &rc, "en", &withdraw, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let asked = r.text().await.expect("html");
    assert!(
        asked.contains("Withdraw this offer? Members can no longer claim it."),
        "{asked}"
    );
    assert!(
        asked.contains("<strong><bdi>Count the looms</bdi></strong>"),
        "{asked}"
    );
    let (_, o) = api(
        &requester,
        "GET",
        &format!("/api/coops/{coop}/offers/{count}"),
        None,
    )
    .await;
    assert_eq!(o["state"], "open");
    let r = form(&requester, &rc, "en", &withdraw, &[("confirm", "1")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()[header::LOCATION]
        .to_str()
        .expect("loc")
        .ends_with("?done=1"));
    let (_, o) = api(
        &requester,
        "GET",
        &format!("/api/coops/{coop}/offers/{count}"),
        None,
    )
    .await;
    assert_eq!(o["state"], "withdrawn");

    // The member claims one offer while connected: done.
    wait_api(
        &member,
        "the offers to reach the member",
        &format!("/api/coops/{coop}/offers"),
        |v| v.as_array().is_some_and(|a| a.len() >= 2),
    )
    .await;
    let mc = session(&member).await;
    let claim = |t: &str| {
        format!(
            "/c/{coop}/offers/{}/claim",
            by_title(t)["id"].as_str().expect("id")
        )
    };
    let r = form(&member, &mc, "fr", &claim("Weave a blanket"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[header::LOCATION]
        .to_str()
        .expect("loc")
        .to_owned();
    assert!(to.ends_with("?done=1"), "{to}");
    let (_, p) = page(&member, &mc, "fr", &to).await;
    assert!(p.contains("C’est fait."), "{p}");
    // Claiming twice: the protocol refuses it, and the page says so in French.
    let r = form(&member, &mc, "fr", &claim("Weave a blanket"), &[]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p = r.text().await.expect("html");
    assert!(p.contains("Vous avez déjà demandé cette offre."), "{p}");
    // A withdrawn offer takes no claims: said in Arabic, nothing signed.
    wait_api(
        &member,
        "the withdrawal to reach the member",
        &format!("/api/coops/{coop}/offers/{count}"),
        |v| v["state"] == "withdrawn",
    )
    .await;
    let r = form(
        &member,
        &mc,
        "ar",
        &format!("/c/{coop}/offers/{count}/claim"),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let p = r.text().await.expect("html");
    assert!(p.contains("لم يعد هذا العرض يقبل طلبات"), "{p}");

    // The requester's node goes away: the next claim is kept, and said to wait.
    drop(requester);
    wait_api(&member, "the member to be alone", "/api/status", |v| {
        v["peers"] == 0
    })
    .await;
    let r = form(&member, &mc, "fr", &claim("Dye the wool"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[header::LOCATION]
        .to_str()
        .expect("loc")
        .to_owned();
    assert!(to.ends_with("?done=wait"), "{to}");
    let (_, p) = page(&member, &mc, "fr", &to).await;
    assert!(p.contains("en attente de joindre la coopérative"), "{p}");
    assert!(!p.contains("C’est fait."), "{p}");
    let (_, p) = page(&member, &mc, "ar", &to).await;
    assert!(p.contains("في انتظار الوصول إلى التعاونية"), "{p}");
    // The same on a phone, in the browser, in Arabic: a claim made alone says it waits.
    if let Some((driver, chromium)) = browser::tools() {
        let wd =
            browser::Driver::start(&driver, &chromium, &tmp.path().join("chromedriver.log")).await;
        let b = wd.browser(&tmp.path().join("profile")).await;
        b.go(&login_url(&member)).await;
        let fleece = format!(
            "/c/{coop}/offers/{}",
            by_title("Card the fleece")["id"].as_str().expect("id")
        );
        b.go(&format!("{}/lang/ar?next={fleece}", member.base))
            .await;
        b.until(
            "the offer in Arabic",
            "return document.documentElement.lang === 'ar' && !!document.getElementById('claim')",
        )
        .await;
        b.click("#claim").await;
        b.until_text("في انتظار الوصول إلى التعاونية").await;
        let flash = b.text("#flash").await;
        assert!(flash.contains("في انتظار الوصول إلى التعاونية"), "{flash}");
        b.quit().await;
    }

    // Work sent for an offer whose draw has not named this member: refused in French,
    // before anything is signed.
    let (_, work) = page(&member, &mc, "fr", &format!("/c/{coop}/work")).await;
    let csrf = csrf_of(&work);
    let dye = by_title("Dye the wool")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let boundary = "taawun-test-boundary";
    let part = |name: &str, extra: &str, value: &str| {
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{extra}\r\n\r\n{value}\r\n")
    };
    let body = format!(
        "{}{}{}--{boundary}--\r\n",
        part("csrf", "", &csrf),
        part("minutes", "", "١٢"),
        part("file", "; filename=\"wool.txt\"", "dyed"),
    );
    let r = http()
        .post(format!("{}/c/{coop}/offers/{dye}/submit", member.base))
        .header(header::COOKIE, &mc)
        .header(header::ACCEPT_LANGUAGE, "fr")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let p = r.text().await.expect("html");
    assert!(p.contains("Ce travail n’est pas à vous d’envoyer"), "{p}");
    let (_, subs) = api(
        &member,
        "GET",
        &format!("/api/coops/{coop}/submissions"),
        None,
    )
    .await;
    assert_eq!(subs.as_array().expect("list").len(), 0, "nothing signed");

    // The cooperative's rules, in words and units, in the page's language.
    let (_, p) = page(&member, &mc, "fr", &format!("/c/{coop}/coop")).await;
    for words in [
        "Délai avant qu’un amendement s’applique",
        "1 heure",
        "Plus grande entrée",
        "16 Ko",
        "% des minutes estimées",
    ] {
        assert!(p.contains(words), "{words}: {p}");
    }
    assert!(!p.contains(">amendment_delay_ms<"), "{p}");
}

#[tokio::test(flavor = "multi_thread")]
async fn earnings_fit_a_phone_in_arabic_and_french_and_times_are_the_reader_s() {
    let Some((driver, chromium)) = browser::tools() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let (d, coop) = synth_node(&tmp.path().join("node"), Synth::Member).await;
    let wd = browser::Driver::start(&driver, &chromium, &tmp.path().join("chromedriver.log")).await;
    let b = wd.browser(&tmp.path().join("profile")).await;
    b.go(&login_url(&d)).await;
    // A reader in Amman (UTC+3 all year).
    b.cdp(
        "Emulation.setTimezoneOverride",
        json!({"timezoneId": "Asia/Amman"}),
    )
    .await;
    let earnings = format!("/c/{coop}/earnings");
    // Still owed and confirmed: on a 360 px screen, inside it, with nothing to scroll
    // sideways, right to left and left to right.
    let inside = "const w = window.innerWidth; \
        const xs = [...document.querySelectorAll('dl.totals dd.owed, dl.totals dd.confirmed, .balance dd.owed, .balance dd.confirmed')]; \
        return xs.length >= 4 && xs.every(e => { const r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= w && r.width > 0; }) \
          && document.documentElement.scrollWidth <= w";
    for lang in ["ar", "fr"] {
        b.go(&format!("{}/lang/{lang}?next={earnings}", d.base))
            .await;
        b.until(
            "the page in its language",
            &format!("return document.documentElement.lang === '{lang}'"),
        )
        .await;
        assert_eq!(b.js("return window.innerWidth", vec![]).await, json!(360));
        assert_eq!(
            b.js(inside, vec![]).await,
            json!(true),
            "{lang}: figures off screen"
        );
        // The review form says what its scores mean.
        let scale = if lang == "ar" {
            "1 = سيئ جدًا، 5 = ممتاز."
        } else {
            "1 = très mauvais, 5 = excellent."
        };
        assert_eq!(
            b.js(
                "const s = document.getElementById('rv-scale'); return s && s.textContent",
                vec![]
            )
            .await,
            json!(scale),
            "{lang}: the scale"
        );
        if lang == "ar" {
            b.screenshot(&shots().join("earnings-ar.png")).await;
        }
    }
    // Times: UTC from the node, in <time datetime>; the script shows them in the
    // reader's zone and keeps the UTC one as the title.
    b.go(&format!("{}/lang/en?next={earnings}", d.base)).await;
    b.until(
        "times in the reader's zone",
        "const t = document.querySelector('time[datetime]'); return t !== null && t.dataset.local === '1'",
    )
    .await;
    let t = b
        .js(
            "const t = document.querySelector('time[datetime]'); return [t.textContent, t.title, t.getAttribute('datetime')]",
            vec![],
        )
        .await;
    let (shown, utc, iso) = (
        t[0].as_str().expect("text"),
        t[1].as_str().expect("title"),
        t[2].as_str().expect("iso"),
    );
    assert!(shown.contains("GMT+3") && !shown.contains("UTC"), "{t}");
    assert!(utc.ends_with(" UTC"), "{t}");
    // The same instant: the hour in Amman is three after the UTC hour.
    let utc_hour: u32 = iso[11..13].parse().expect("hour");
    assert!(
        shown.contains(&format!("{:02}:{}", (utc_hour + 3) % 24, &iso[14..16])),
        "{t}"
    );

    // The board and an offer, in Arabic, for the docs.
    b.go(&format!(
        "{}/lang/ar?next=/c/{coop}/offers%3Fall%3D1",
        d.base
    ))
    .await;
    b.find("#offers li.offer").await;
    assert_eq!(
        b.js(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![]
        )
        .await,
        json!(true)
    );
    b.screenshot(&shots().join("offers-board-ar.png")).await;
    b.click("#offers li.offer h2 a").await;
    b.find("#offer").await;
    b.screenshot(&shots().join("offer-ar.png")).await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_script_the_payment_form_follows_the_member_and_accepting_asks_in_a_dialog() {
    let Some((driver, chromium)) = browser::tools() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let (d, coop) = synth_node(&tmp.path().join("node"), Synth::Requester).await;
    let wd = browser::Driver::start(&driver, &chromium, &tmp.path().join("chromedriver.log")).await;
    let b = wd.browser(&tmp.path().join("profile")).await;
    b.go(&login_url(&d)).await;
    b.go(&format!("{}/c/{coop}/requests", d.base)).await;
    b.find("#pay-form").await;
    // Choosing another member fills in what is left to pay them in the chosen currency.
    let choose = "const s = document.getElementById('pay-member'); \
        const o = [...s.options].find(o => !o.selected && /EUR=/.test(o.dataset.left)); \
        if (!o) return null; s.value = o.value; s.dispatchEvent(new Event('change')); \
        return [o.dataset.left, document.getElementById('pay-amount').value]";
    let v = b.js(choose, vec![]).await;
    assert!(!v.is_null(), "a second member owed euros");
    let eur = v[0]
        .as_str()
        .expect("left")
        .split('|')
        .find_map(|kv| kv.strip_prefix("EUR="))
        .expect("EUR");
    assert_eq!(v[1], json!(eur), "{v}");
    // What was typed stays when the member changes.
    b.fill("#pay-amount", "1,00").await;
    b.js(
        "const s = document.getElementById('pay-member'); s.selectedIndex = 0; s.dispatchEvent(new Event('change'))",
        vec![],
    )
    .await;
    assert_eq!(
        b.js("return document.getElementById('pay-amount').value", vec![])
            .await,
        json!("1,00")
    );

    // Accepting asks in a dialog: Cancel leaves the work waiting, OK accepts it.
    let sub = b
        .js(
            "return document.querySelector('button.accept').closest('li').dataset.sub",
            vec![],
        )
        .await;
    let sub = sub.as_str().expect("submission").to_owned();
    b.click("button.accept").await;
    b.answer_dialog(false).await;
    assert_eq!(submission(&d, &coop, &sub).await["review"], "pending");
    b.click("button.accept").await;
    b.answer_dialog(true).await;
    // This node is alone: the acceptance waits to reach the cooperative.
    b.until_text("waiting to reach the cooperative").await;
    assert_eq!(submission(&d, &coop, &sub).await["review"], "accepted");

    // In Arabic, a payment typed in Arabic-Indic digits with the Arabic decimal separator
    // records what is left to pay the member.
    b.click("footer a[lang=ar]").await;
    b.until("Arabic", "return document.documentElement.lang === 'ar'")
        .await;
    b.go(&format!("{}/c/{coop}/requests", d.base)).await;
    b.find("#pay-form").await;
    let member = b
        .js("return document.getElementById('pay-member').value", vec![])
        .await;
    let member = member.as_str().expect("member").to_owned();
    let (_, balances) = api(&d, "GET", &format!("/api/coops/{coop}/balances"), None).await;
    let b0 = balances
        .as_array()
        .expect("list")
        .iter()
        .find(|x| {
            x["requester"] == d.key.as_str()
                && x["member"] == member.as_str()
                && x["owed"]["currency"] == "EUR"
        })
        .expect("the member's balance")
        .clone();
    let left = b0["owed"]["minor"].as_u64().expect("owed")
        - b0["unconfirmed"]["minor"].as_u64().expect("unconfirmed");
    let typed = format!("{}٫{:02}", left / 100, left % 100)
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(n) => char::from_u32(0x660 + n).expect("digit"),
            None => c,
        })
        .collect::<String>();
    b.fill("#pay-amount", &typed).await;
    b.fill("#pay-ref", "حوالة ٧").await;
    b.click("#pay-form button[type=submit]").await;
    b.until("the payment", "return location.search.includes('done=')")
        .await;
    let (_, payments) = api(&d, "GET", &format!("/api/coops/{coop}/payments"), None).await;
    let paid = payments
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["reference"] == "حوالة ٧")
        .unwrap_or_else(|| panic!("{typed}: {payments}"))
        .clone();
    assert_eq!(
        paid["amount"]["minor"].as_u64(),
        Some(left),
        "{typed}: {paid}"
    );

    // The node's refusals, in the page's language: withdrawing another requester's offer.
    let (_, offers) = api(&d, "GET", &format!("/api/coops/{coop}/offers"), None).await;
    let theirs = offers
        .as_array()
        .expect("offers")
        .iter()
        .find(|o| o["requester"] != d.key.as_str())
        .and_then(|o| o["id"].as_str())
        .expect("another requester's offer")
        .to_owned();
    let withdraw = format!("/c/{coop}/offers/{theirs}/withdraw");
    let send = "const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0]; \
        for (const [k, v] of [['csrf', document.querySelector('input[name=csrf]').value], ['confirm', '1']]) { \
        const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); } \
        document.body.appendChild(f); f.submit();";
    b.js(send, vec![json!(withdraw)]).await;
    b.until_text("لا يسحبه أو يسنده إلا صاحب الطلب").await;
    b.go(&format!("{}/lang/fr?next=/c/{coop}/requests", d.base))
        .await;
    b.until("French", "return document.documentElement.lang === 'fr'")
        .await;
    b.js(send, vec![json!(withdraw)]).await;
    b.until_text("seul son demandeur peut la retirer").await;
    b.quit().await;
}

/// Who asks is shown by the name the cooperative vouched for when it admitted them (here
/// the charter), isolated in `<bdi>` beside the short key, on the board's card, the offer
/// page with the requester's record and the cooperative's list; and a name that could
/// pass for another is refused by the node's API, saying why.
#[tokio::test(flavor = "multi_thread")]
async fn offers_and_the_record_show_the_requester_s_name_from_its_admission() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let (s, v) = api(
        &d,
        "POST",
        "/api/coops",
        Some(json!({
            "name": "Zaatari translators",
            "floor": "12.50EUR/h",
            "names": {"me": "أمل حداد"},
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    let (_, st) = api(&d, "GET", "/api/status", None).await;
    let me = st["key"].as_str().expect("key").to_owned();
    assert_eq!(v["names"][&me], "أمل حداد", "{v}");
    let (s, o) = api(
        &d,
        "POST",
        &format!("/api/coops/{coop}/offers"),
        Some(json!({"title": "Translate a leaflet", "purpose": "Clinic hours", "pay": "4.00EUR", "minutes": 15})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{o}");
    let offer = o["id"].as_str().expect("id").to_owned();
    let (_, view) = api(
        &d,
        "GET",
        &format!("/api/coops/{coop}/offers/{offer}"),
        None,
    )
    .await;
    assert_eq!(view["requester_name"], "أمل حداد", "{view}");
    assert_eq!(view["record"]["requester_name"], "أمل حداد", "{view}");

    let cookie = session(&d).await;
    let shown = format!("<bdi>أمل حداد</bdi></span> · <code>{}</code>", &me[..8]);
    for path in ["offers", &format!("offers/{offer}"), "coop"] {
        let (s, html) = page(&d, &cookie, "en", &format!("/c/{coop}/{path}")).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(html.contains(&shown), "{path}: {html}");
    }

    // Admitting needs a name, and a name with a right-to-left override is refused.
    let admit = |name: Option<&str>| {
        let mut b = json!({"action": "admit-requester", "key": "11".repeat(32), "reason": "asks for subtitles"});
        if let Some(n) = name {
            b["name"] = json!(n);
        }
        b
    };
    let path = format!("/api/coops/{coop}/proposals");
    let (s, e) = api(&d, "POST", &path, Some(admit(None))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]
            .as_str()
            .expect("error")
            .contains("needs the name"),
        "{e}"
    );
    let (s, e) = api(
        &d,
        "POST",
        &path,
        Some(admit(Some("UNHCR \u{202E}lautcartnoc"))),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let why = e["error"].as_str().expect("error");
    assert!(why.contains("U+202E") && why.contains("name"), "{why}");
}

/// A small server on another port of the same machine: it records the headers of every
/// request it receives and answers with `page`.
fn other_server(page: String) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            log.lock()
                .expect("log")
                .push(String::from_utf8_lossy(&got).into_owned());
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = s.write_all(reply.as_bytes());
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn in_the_browser_frames_other_sites_and_other_ports_get_nothing_from_the_page() {
    let Some((driver, chromium)) = browser::tools() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(&tmp.path().join("node"));
    let (s, v) = api(
        &d,
        "POST",
        "/api/coops",
        Some(json!({"name": "Guarded", "floor": "12.50EUR/h", "requesters": [d.key]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    let port = d.base.rsplit(':').next().expect("port").to_owned();
    let wd = browser::Driver::start(&driver, &chromium, &tmp.path().join("chromedriver.log")).await;

    // Opened with the link `taawun ui` prints, the page has a name of its own under
    // localhost (docs/ui.md): the node's session cookie never reaches a server on another
    // port of the machine.
    let (look, seen) = other_server("<p id=here>another server</p>".into());
    let b = wd.browser(&tmp.path().join("named")).await;
    let o = taawun(&["ui", "--no-open"], &d.dir);
    assert!(o.status.success(), "taawun ui: {}", text(&o));
    let printed = String::from_utf8_lossy(&o.stdout).to_string();
    let named = printed
        .split_whitespace()
        .find(|w| w.contains("/login?code="))
        .unwrap_or_else(|| panic!("no login link in: {printed}"));
    assert!(
        named.starts_with(&format!("http://node{port}.localhost:{port}/")),
        "{named}"
    );
    b.go(named).await;
    b.go(&format!(
        "http://node{port}.localhost:{port}/c/{coop}/offers"
    ))
    .await;
    b.find("header.top").await;
    b.go(&format!("http://127.0.0.1:{look}/")).await;
    b.find("#here").await;
    let asked = seen.lock().expect("log").join("\n");
    assert!(asked.starts_with("GET / "), "{asked}");
    assert!(!asked.contains("taawun_session"), "{asked}");
    b.quit().await;

    // Opened as 127.0.0.1 (`taawun ui --by-address`): the same server does receive it
    // (cookies ignore ports), which is why the link names the node, and the cookie is
    // named after the node's port.
    let b = wd.browser(&tmp.path().join("plain")).await;
    b.go(&login_url(&d)).await;
    b.go(&format!("http://127.0.0.1:{look}/")).await;
    b.find("#here").await;
    let last = seen
        .lock()
        .expect("log")
        .last()
        .cloned()
        .unwrap_or_default();
    assert!(last.contains(&format!("taawun_session_{port}=")), "{last}");

    // A title with a right-to-left override, typed into the page's form: refused with the
    // reason, nothing signed.
    b.go(&format!("{}/c/{coop}/post", d.base)).await;
    b.fill("#title", "\u{202e}h/€ 00,05\u{202c}").await;
    b.fill("#purpose", "p").await;
    b.fill("#minutes", "15").await;
    b.fill("#pay", "40").await;
    b.click("#offer-form button[type=submit]").await;
    b.until_text("U+202E").await;
    assert!(b.text("#refused").await.contains("direction control"));
    let (_, offers) = api(&d, "GET", &format!("/api/coops/{coop}/offers"), None).await;
    assert!(!offers.to_string().contains("00,05"), "{offers}");

    // No page frames it, not even its own.
    b.go(&format!("{}/c/{coop}/post", d.base)).await;
    b.find("#offer-form").await;
    b.js(
        "const f = document.createElement('iframe'); f.id = 'framed'; \
         f.onload = () => { f.dataset.loaded = '1'; }; \
         f.src = location.href; document.body.appendChild(f);",
        vec![],
    )
    .await;
    b.until(
        "the frame",
        "return document.getElementById('framed').dataset.loaded === '1'",
    )
    .await;
    assert_eq!(
        b.js(
            "const doc = document.getElementById('framed').contentDocument; \
             return !!(doc && doc.querySelector('header.top'))",
            vec![],
        )
        .await,
        json!(false),
        "the page showed inside a frame"
    );

    // A form on another port of the machine, with the session's own token (the browser
    // sends the cookie: same site), posting an offer: refused by its origin, nothing signed.
    let token = b
        .js(
            "return document.querySelector('#offer-form input[name=csrf]').value",
            vec![],
        )
        .await;
    let token = token.as_str().expect("token").to_owned();
    let post = format!(
        "<form id=f method=post action=\"{}/c/{coop}/offers\">\
         <input name=csrf value=\"{token}\"><input name=title value=\"From elsewhere\">\
         <input name=purpose value=p><input name=pay value=40><input name=currency value=EUR>\
         <input name=minutes value=15></form><script>document.getElementById('f').submit()</script>",
        d.base
    );
    let (evil, _) = other_server(post);
    b.go(&format!("http://127.0.0.1:{evil}/")).await;
    b.until_text("cannot change anything here").await;
    assert!(b.url().await.starts_with(&d.base), "{}", b.url().await);
    let (s, offers) = api(&d, "GET", &format!("/api/coops/{coop}/offers"), None).await;
    assert_eq!(s, StatusCode::OK, "{offers}");
    assert!(!offers.to_string().contains("From elsewhere"), "{offers}");
    b.quit().await;
}
