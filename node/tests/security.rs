//! Local security of a node: the key file's mode, secrets kept out of logs, and the web
//! page against other pages and programs (security headers, foreign origins and host
//! names, one session cookie per node, user text isolated, payments over what is owed).

mod common;

use common::{taawun, text, Daemon, TEST_CONFIG};
use reqwest::{header, redirect, StatusCode};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn a_key_others_can_read_stops_the_daemon_with_the_fix() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    assert!(taawun(&["init"], dir).status.success());
    std::fs::write(dir.join("config.toml"), TEST_CONFIG).expect("config");
    let key = dir.join("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = taawun(&["run"], dir);
    assert!(!o.status.success());
    let out = text(&o);
    assert!(out.contains("readable by others"), "{out}");
    assert!(out.contains("chmod 600"), "{out}");
    // Nothing was started: no API address was published.
    assert!(!dir.join("api-address").exists());
}

#[test]
fn init_writes_private_files_and_refuses_to_overwrite_a_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let o = taawun(&["init"], dir);
    assert!(o.status.success(), "{}", text(&o));
    for f in ["key", "api-token"] {
        let mode = std::fs::metadata(dir.join(f))
            .expect(f)
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let cfg = std::fs::read_to_string(dir.join("config.toml")).expect("config");
    assert!(cfg.contains("listen = \"127.0.0.1:7420\""), "{cfg}");
    let before = std::fs::read(dir.join("key")).expect("key");
    let o = taawun(&["init"], dir);
    assert!(!o.status.success());
    assert!(text(&o).contains("refusing to overwrite"), "{}", text(&o));
    assert_eq!(std::fs::read(dir.join("key")).expect("key"), before);
}

#[test]
fn secrets_never_appear_in_the_logs_of_a_full_demo() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("demo");
    let o = Command::new(env!("CARGO_BIN_EXE_taawun"))
        .args(["demo", "--keep", "--dir", dir.to_str().expect("utf-8")])
        .env("RUST_LOG", "debug")
        .output()
        .expect("demo runs");
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let mut secrets = Vec::new();
    for node in std::fs::read_dir(&dir).expect("nodes") {
        let node = node.expect("entry").path();
        if !node.is_dir() {
            continue;
        }
        let key = std::fs::read(node.join("key")).expect("key");
        secrets.push(hex(&key));
        let net_key = std::fs::read(node.join("net-key")).expect("net-key");
        secrets.push(hex(&net_key));
        secrets.push(
            std::fs::read_to_string(node.join("api-token"))
                .expect("token")
                .trim()
                .to_owned(),
        );
    }
    assert_eq!(
        secrets.len(),
        18,
        "five nodes and a member's second phone, a signing key, a transport key and a token each"
    );
    for s in &secrets {
        assert!(!out.contains(s.as_str()), "a secret reached the logs");
        assert!(!out.contains(&s[..16]), "part of a secret reached the logs");
    }

    // The kept nodes were given fixed ports and each other as bootstrap peers: two of
    // them, restarted, find each other.
    assert!(out.contains("restarted nodes find each other"), "{out}");
    let amal = Daemon::run(&dir.join("amal"));
    let karim = Daemon::run(&dir.join("karim"));
    let deadline = std::time::Instant::now() + common::START_TIMEOUT;
    loop {
        let st = taawun(&["status", "--json"], &amal.dir);
        let v: Value = serde_json::from_slice(&st.stdout).unwrap_or(Value::Null);
        if v["peers"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "kept nodes did not find each other: {}\n{}",
            text(&st),
            karim.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

async fn api(d: &Daemon, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let url = format!("{}{path}", d.base);
    let c = http();
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

/// A cooperative founded by `d`, which may also post offers in it.
async fn coop(d: &Daemon, name: &str) -> String {
    let (s, v) = api(
        d,
        "POST",
        "/api/coops",
        Some(json!({"name": name, "floor": "12.50EUR/h", "requesters": [d.key]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().expect("id").to_owned()
}

/// Logs in as `taawun ui` would; returns the session cookie (`name=value`).
async fn login(d: &Daemon) -> String {
    let o = taawun(&["ui", "--no-open", "--by-address"], &d.dir);
    assert!(o.status.success(), "taawun ui: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let url = out
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains("/login?code="))
        .unwrap_or_else(|| panic!("no login link in: {out}"));
    let r = http().get(url).send().await.expect("login");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    set.split(';').next().expect("name=value").to_owned()
}

/// `host:port` of a daemon.
fn port(d: &Daemon) -> u16 {
    d.base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port")
}

/// A page, with a session cookie.
async fn page(d: &Daemon, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = http()
        .get(format!("{}{path}", d.base))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .expect("page");
    (r.status(), r.text().await.expect("text"))
}

/// The CSRF token in a page's forms.
fn csrf(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF token in the page")
        .to_owned()
}

/// A form's body, `application/x-www-form-urlencoded`.
fn form_body(fields: &[(&str, &str)]) -> String {
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

/// Posts a form of the page with the session cookie and extra headers.
async fn post_form(
    d: &Daemon,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut r = http()
        .post(format!("{}{path}", d.base))
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(fields));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.expect("post")
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_carry_security_headers_and_refuse_foreign_origins_and_hosts() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let coop = coop(&d, "Guarded").await;
    let cookie = login(&d).await;

    // Every page: no framing, nothing but the node's own files, no sniffing, no referrer.
    for (path, with_session) in [
        ("/welcome", false),
        (&format!("/c/{coop}/offers") as &str, true),
        ("/s/style.css", false),
        ("/", false),
    ] {
        let mut r = http().get(format!("{}{path}", d.base));
        if with_session {
            r = r.header(header::COOKIE, &cookie);
        }
        let r = r.send().await.expect("get");
        let h = r.headers();
        let csp = h
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap_or_else(|| panic!("no CSP on {path}"))
            .to_str()
            .expect("ascii");
        for part in [
            "frame-ancestors 'none'",
            "default-src 'self'",
            "script-src 'self'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        // No address of the page to other sites; the page's own forms keep their origin.
        assert_eq!(h[header::REFERRER_POLICY], "same-origin", "{path}");
    }

    // A form of the page posted from another origin (or another site, as the browser
    // says) is refused before anything is read, with a valid session and token.
    let (_, board) = page(&d, &cookie, &format!("/c/{coop}/offers")).await;
    let token = csrf(&board);
    let offer = [
        ("csrf", token.as_str()),
        ("title", "Clicked from a frame"),
        ("purpose", "Another site"),
        ("pay", "40.00"),
        ("currency", "EUR"),
        ("minutes", "15"),
    ];
    let other_port = format!("http://127.0.0.1:{}", port(&d).wrapping_add(1));
    for headers in [
        vec![("origin", "http://attacker.example")],
        vec![("origin", other_port.as_str())],
        vec![("origin", "null")],
        vec![("origin", "null"), ("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
    ] {
        let r = post_form(&d, &cookie, &format!("/c/{coop}/offers"), &offer, &headers).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let msg = r.text().await.expect("text");
        assert!(msg.contains("another site"), "{msg}");
    }
    let (_, offers) = api(&d, "GET", &format!("/api/coops/{coop}/offers"), None).await;
    assert_eq!(offers.as_array().expect("list").len(), 0, "nothing posted");
    // From the page itself, it goes through.
    let own = d.base.clone();
    let r = post_form(
        &d,
        &cookie,
        &format!("/c/{coop}/offers"),
        &offer,
        &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The API too: a foreign origin changes nothing, even with the token.
    let r = http()
        .post(format!("{}/api/coops", d.base))
        .bearer_auth(&d.token)
        .header(header::ORIGIN, "http://attacker.example")
        .json(&json!({"name": "Forged", "floor": "1EUR/h"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: Value = r.json().await.expect("json error");
    assert!(
        v["error"].as_str().expect("error").contains("another site"),
        "{v}"
    );
    let (_, status) = api(&d, "GET", "/api/status", None).await;
    assert_eq!(status["coops"].as_array().expect("coops").len(), 1);

    // A name that is not this machine's (a rebinding attacker's) is refused, for pages
    // and API alike; the loopback names pass.
    let p = port(&d);
    for (host, ok) in [
        (format!("attacker.example:{p}"), false),
        (format!("localhost.attacker.example:{p}"), false),
        (format!("localhost:{p}"), true),
        (format!("127.0.0.1:{p}"), true),
    ] {
        for path in ["/welcome", "/api/status"] {
            let r = http()
                .get(format!("{}{path}", d.base))
                .header(header::HOST, &host)
                .bearer_auth(&d.token)
                .send()
                .await
                .expect("get");
            if ok {
                assert_eq!(r.status(), StatusCode::OK, "{host}{path}");
            } else {
                assert_eq!(r.status(), StatusCode::FORBIDDEN, "{host}{path}");
                let msg = r.text().await.expect("text");
                assert!(msg.contains("not this node"), "{msg}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_on_one_machine_keep_their_own_sessions() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = Daemon::start(&tmp.path().join("a"));
    let b = Daemon::start(&tmp.path().join("b"));
    let coop_a = coop(&a, "Node A").await;
    coop(&b, "Node B").await;
    let ca = login(&a).await;
    let cb = login(&b).await;
    let name = |c: &str| c.split('=').next().expect("name").to_owned();
    assert_eq!(name(&ca), format!("taawun_session_{}", port(&a)));
    assert_eq!(name(&cb), format!("taawun_session_{}", port(&b)));
    // A browser sends the cookies of 127.0.0.1 to every port: both, to both nodes, and
    // each finds its own.
    let both = format!("{ca}; {cb}");
    let (s, home) = page(&a, &both, &format!("/c/{coop_a}/offers")).await;
    assert_eq!(s, StatusCode::OK, "A's session");
    assert!(home.contains("Node A"));
    // B's session is found too: its welcome page sends on into the app.
    let (s, _) = page(&b, &both, "/welcome").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let r = http()
        .get(format!("{}/", b.base))
        .header(header::COOKIE, &both)
        .send()
        .await
        .expect("b");
    assert_ne!(r.headers()[header::LOCATION], "/welcome", "B's session");
    // Logging out of A leaves B logged in.
    let r = post_form(&a, &both, "/logout", &[("csrf", &csrf(&home))], &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let gone = r.headers()[header::SET_COOKIE].to_str().expect("ascii");
    assert!(gone.starts_with(&format!("{}=;", name(&ca))), "{gone}");
    let r = http()
        .get(format!("{}/", a.base))
        .header(header::COOKIE, &both)
        .send()
        .await
        .expect("a");
    assert_eq!(r.headers()[header::LOCATION], "/welcome", "A logged out");
    let r = http()
        .get(format!("{}/", b.base))
        .header(header::COOKIE, &both)
        .send()
        .await
        .expect("b");
    assert_ne!(
        r.headers()[header::LOCATION],
        "/welcome",
        "B still logged in"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_text_is_isolated_and_overpayments_wait_for_a_confirmation() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(&tmp.path().join("node"));
    let coop = coop(&d, "Isolated").await;
    let cookie = login(&d).await;

    // A title of 10 000 characters, and one with a right-to-left override: refused by the
    // node's own API (the protocol's text rule), with the reason.
    for (title, why) in [
        ("x".repeat(10_000), "at most 200"),
        (
            "\u{202e}h/€ 00,05\u{202c}".to_owned(),
            "bidirectional control U+202E",
        ),
    ] {
        let (s, v) = api(
            &d,
            "POST",
            &format!("/api/coops/{coop}/offers"),
            Some(
                json!({"title": title, "purpose": "p", "description": "", "pay": "40.00EUR", "minutes": 15}),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let msg = v.to_string();
        assert!(msg.contains("title") && msg.contains(why), "{msg}");
    }
    // Allowed: a right-to-left mark and the longest unbroken word a title may have.
    let title = format!("\u{200f}{}", "x".repeat(199));
    let (s, v) = api(
        &d,
        "POST",
        &format!("/api/coops/{coop}/offers"),
        Some(
            json!({"title": title, "purpose": "\u{200f}esoprup", "description": "", "pay": "40.00EUR", "minutes": 15}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let offer = v["id"].as_str().expect("id").to_owned();
    let (_, board) = page(&d, &cookie, &format!("/c/{coop}/offers")).await;
    assert!(
        board.contains(&format!("<bdi>{title}</bdi>")),
        "title isolated"
    );
    assert!(
        board.contains("<bdi>\u{200f}esoprup</bdi>"),
        "purpose isolated"
    );
    let (_, one) = page(&d, &cookie, &format!("/c/{coop}/offers/{offer}")).await;
    assert!(
        one.contains(&format!("<h1><bdi>{title}</bdi></h1>")),
        "heading isolated"
    );
    assert!(
        one.contains(&format!("<title>\u{2068}{title}\u{2069}")),
        "tab title isolated"
    );

    // The offer form's claim window starts at the cooperative's least (10 minutes here),
    // and says so.
    let (_, form) = page(&d, &cookie, &format!("/c/{coop}/post")).await;
    assert!(
        form.contains(r#"name="claim_window_s" data-min="600""#),
        "the least claim window in the input"
    );
    assert!(form.contains("least is 10 min (600 s)"), "and in words");

    // A payment to a member owed nothing: a page with the numbers, nothing recorded.
    let other = tmp.path().join("other");
    assert!(taawun(&["init"], &other).status.success());
    let member = text(&taawun(&["id"], &other)).trim().to_owned();
    let (_, requests) = page(&d, &cookie, &format!("/c/{coop}/requests")).await;
    let token = csrf(&requests);
    let pay = [
        ("csrf", token.as_str()),
        ("member", member.as_str()),
        ("amount", "25,00"),
        ("currency", "EUR"),
        ("reference", "transfer 42"),
    ];
    let r = post_form(&d, &cookie, &format!("/c/{coop}/payments"), &pay, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let check = r.text().await.expect("html");
    assert!(check.contains("You are paying"), "{check}");
    assert!(check.contains("€25.00"), "{check}");
    assert!(
        check.contains("owed to this member is <strong>€0.00</strong>"),
        "{check}"
    );
    assert!(check.contains(r#"name="confirm" value="1""#), "{check}");
    let payments = format!("/api/coops/{coop}/payments");
    let (_, listed) = api(&d, "GET", &payments, None).await;
    assert_eq!(listed.as_array().expect("list").len(), 0, "not signed yet");
    // Confirmed, it is recorded.
    let mut confirmed = pay.to_vec();
    confirmed.push(("confirm", "1"));
    let r = post_form(&d, &cookie, &format!("/c/{coop}/payments"), &confirmed, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, listed) = api(&d, "GET", &payments, None).await;
    assert_eq!(listed[0]["amount"]["minor"], 2_500, "{listed}");
    assert_eq!(listed[0]["member"], member.as_str());
}
