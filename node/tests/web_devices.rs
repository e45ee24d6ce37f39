//! The member's devices and the paper backup of its key on the web page of a real
//! `taawun run` daemon: a device added, listed and revoked (after a question) in Arabic
//! on a phone-sized screen in headless Chromium; forms refused without the session's
//! token; the 24 words shown only after an explicit confirmation, never cached, and
//! restoring the same key with `taawun key restore`.

#[allow(dead_code)] // each test file uses part of it
mod browser;
mod common;

use common::{taawun, text, Daemon};
use reqwest::{header, redirect, StatusCode};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

/// `METHOD path` on the API with the daemon's token: status and JSON.
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

/// A daemon that founded a cooperative alone (it writes at once): the daemon and the
/// cooperative's id.
async fn founder(dir: &std::path::Path) -> (Daemon, String) {
    let d = Daemon::start(dir);
    let (s, v) = api(
        &d,
        "POST",
        "/api/coops",
        Some(json!({"name": "Camp 4 transcribers", "floor": "2.00EUR/h"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    (d, coop)
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
    set.split(';').next().expect("cookie").to_owned()
}

/// `GET path` with the session cookie, in `lang`.
async fn get(d: &Daemon, cookie: &str, lang: &str, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", d.base))
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT_LANGUAGE, lang)
        .send()
        .await
        .expect("get")
}

/// `POST path` with `fields` as a form, with the session cookie, in `lang`.
async fn post(
    d: &Daemon,
    cookie: &str,
    lang: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    http()
        .post(format!("{}{path}", d.base))
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT_LANGUAGE, lang)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("post")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The session's CSRF token, from a page's forms.
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    page[at..].split('"').next().expect("token").to_owned()
}

/// The backup words a page shows (`<ol id="words">`), or none.
fn words_in(page: &str) -> Vec<String> {
    let Some(at) = page.find("id=\"words\"") else {
        return Vec::new();
    };
    let list = &page[at..page[at..].find("</ol>").map_or(page.len(), |e| at + e)];
    list.split("<li>")
        .skip(1)
        .map(|w| w.trim_end_matches("</li>").trim().to_owned())
        .collect()
}

/// A device key, from `taawun init --device-of member` in a folder of its own.
fn device_of(member: &Daemon, dir: &std::path::Path) -> String {
    let o = taawun(&["init", "--device-of", &member.key], dir);
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
        .lines()
        .find_map(|l| l.strip_prefix("device key: "))
        .expect("the device key is printed")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_is_added_listed_and_revoked_from_the_page_in_arabic_on_a_phone() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (d, coop) = founder(&tmp.path().join("member")).await;
    let device = device_of(&d, &tmp.path().join("phone"));
    let cookie = session(&d).await;
    let devices = format!("/c/{coop}/devices");

    // The page says what to type on the new device: its init line and the invite.
    let r = get(&d, &cookie, "ar", &devices).await;
    assert_eq!(r.status(), StatusCode::OK);
    let p = r.text().await.expect("html");
    assert!(
        p.contains(&format!("taawun init --device-of {}", d.key)),
        "{p}"
    );
    let (_, inv) = api(&d, "GET", &format!("/api/coops/{coop}/invite"), None).await;
    let invite = inv["invite"].as_str().expect("invite");
    assert!(p.contains(&format!("taawun coop join {invite}")), "{p}");
    // The coop page leads there.
    let coop_page = get(&d, &cookie, "ar", &format!("/c/{coop}/coop"))
        .await
        .text()
        .await
        .expect("html");
    assert!(
        coop_page.contains(&format!("href=\"{devices}\"")),
        "{coop_page}"
    );

    // Forms without the session's token do nothing.
    let r = post(
        &d,
        &cookie,
        "ar",
        &devices,
        &[("key", &device), ("csrf", "x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let revoke = format!("{devices}/{device}/revoke");
    let r = post(&d, &cookie, "ar", &revoke, &[("confirm", "1")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, list) = api(&d, "GET", &format!("/api/coops/{coop}/devices"), None).await;
    assert_eq!(list, json!([]), "nothing written without the token");
    // A key that is not a full key is refused in the page's language, nothing written.
    let csrf = csrf_of(&p);
    let r = post(
        &d,
        &cookie,
        "ar",
        &devices,
        &[("key", &device[..20]), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let p = r.text().await.expect("html");
    assert!(p.contains("هذا ليس مفتاح جهاز كاملًا"), "{p}");
    let (_, list) = api(&d, "GET", &format!("/api/coops/{coop}/devices"), None).await;
    assert_eq!(list, json!([]));
    // Without script, revoking asks with a page first; only its answer revokes.
    let laptop = device_of(&d, &tmp.path().join("laptop"));
    let r = post(
        &d,
        &cookie,
        "ar",
        &devices,
        &[("key", &laptop), ("label", "laptop"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let revoke = format!("{devices}/{laptop}/revoke");
    let r = post(&d, &cookie, "ar", &revoke, &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let p = r.text().await.expect("html");
    assert!(p.contains("إلغاء هذا الجهاز؟"), "{p}");
    let of = |list: &Value, key: &str| {
        list.as_array()
            .and_then(|a| a.iter().find(|x| x["key"] == key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (_, list) = api(&d, "GET", &format!("/api/coops/{coop}/devices"), None).await;
    assert!(of(&list, &laptop)["revoked_at"].is_null(), "{list}");
    let r = post(
        &d,
        &cookie,
        "ar",
        &revoke,
        &[("confirm", "1"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, list) = api(&d, "GET", &format!("/api/coops/{coop}/devices"), None).await;
    assert!(of(&list, &laptop)["revoked_at"].is_u64(), "{list}");

    let Some((driver, chromium)) = browser::tools() else {
        return;
    };
    let wd = browser::Driver::start(&driver, &chromium, &tmp.path().join("chromedriver.log")).await;
    let b = wd.browser(&tmp.path().join("profile")).await;
    b.go(&login_url(&d)).await;
    b.go(&format!("{}/lang/ar?next={devices}", d.base)).await;
    b.until(
        "the devices page in Arabic",
        "return document.documentElement.lang === 'ar' && document.dir === 'rtl' && !!document.getElementById('add-device')",
    )
    .await;
    assert_eq!(b.js("return window.innerWidth", vec![]).await, json!(360));
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";
    assert_eq!(b.js(fits, vec![]).await, json!(true), "wider than a phone");

    // Add the phone: it is listed, waiting to enroll.
    b.fill("#device-key", &device).await;
    b.fill("#device-label", "هاتف نور").await;
    b.click("#authorise").await;
    let card = format!("li.device[data-key=\"{device}\"]");
    b.until(
        "the phone listed, waiting to enroll",
        &format!("const c = document.querySelector('{card}'); return !!c && c.dataset.state === 'waiting'"),
    )
    .await;
    let shown = b.text(&card).await;
    assert!(
        shown.contains("هاتف نور") && shown.contains("لم يُسجَّل بعد"),
        "{shown}"
    );
    assert_eq!(b.js(fits, vec![]).await, json!(true), "wider than a phone");

    // Revoke it: a question first; cancelled, nothing happens.
    b.click(&format!("{card} form.revoke button")).await;
    b.answer_dialog(false).await;
    let (_, list) = api(&d, "GET", &format!("/api/coops/{coop}/devices"), None).await;
    assert!(of(&list, &device)["revoked_at"].is_null(), "{list}");
    // Confirmed, it is revoked.
    b.click(&format!("{card} form.revoke button")).await;
    b.accept_dialog().await;
    b.until(
        "the phone listed as revoked",
        &format!("const c = document.querySelector('{card}'); return !!c && c.dataset.state === 'revoked'"),
    )
    .await;
    let shown = b.text(&card).await;
    assert!(shown.contains("أُلغي في"), "{shown}");
    let (_, list) = api(&d, "GET", &format!("/api/coops/{coop}/devices"), None).await;
    assert!(of(&list, &device)["revoked_at"].is_u64(), "{list}");
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_backup_words_need_a_confirmation_are_never_cached_and_restore_the_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (d, coop) = founder(&tmp.path().join("member")).await;
    let cookie = session(&d).await;
    let backup = format!("/c/{coop}/backup");
    let no_store = |r: &reqwest::Response| {
        r.headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            == Some("no-store")
    };

    // The page itself: the warning and a button, no words.
    let r = get(&d, &cookie, "fr", &backup).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(no_store(&r));
    let p = r.text().await.expect("html");
    assert!(p.contains("Qui les voit peut agir à votre place"), "{p}");
    assert!(words_in(&p).is_empty(), "words shown without asking");
    let csrf = csrf_of(&p);
    // Without the confirmation, or without the session's token: no words.
    let r = post(&d, &cookie, "fr", &backup, &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(no_store(&r));
    assert!(words_in(&r.text().await.expect("html")).is_empty());
    let r = post(
        &d,
        &cookie,
        "fr",
        &backup,
        &[("confirm", "1"), ("csrf", "x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(words_in(&r.text().await.expect("html")).is_empty());
    // Without a session: the login help.
    let r = http()
        .post(format!("{}{backup}", d.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("confirm=1&csrf={csrf}"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Confirmed: 24 words, not kept by any cache, the same as `taawun key backup`.
    let r = post(
        &d,
        &cookie,
        "ar",
        &backup,
        &[("confirm", "1"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(no_store(&r));
    let words = words_in(&r.text().await.expect("html"));
    assert_eq!(words.len(), 24, "{words:?}");
    let printed = text(&taawun(&["key", "backup"], &d.dir));
    for (i, w) in words.iter().enumerate() {
        assert!(
            printed.contains(&format!("{:>2}. {w}\n", i + 1)),
            "word {} differs: {printed}",
            i + 1
        );
    }

    // They restore the same key.
    let restored = tmp.path().join("restored");
    let mut child = Command::new(env!("CARGO_BIN_EXE_taawun"))
        .args(["key", "restore"])
        .env("TAAWUN_DATA_DIR", &restored)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("taawun key restore");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(words.join(" ").as_bytes())
        .expect("words written");
    let o = child.wait_with_output().expect("restore ends");
    assert!(o.status.success(), "{}", text(&o));
    let id = text(&taawun(&["id"], &restored));
    assert_eq!(id.trim(), d.key);
}
