//! An appeal through the web page in Arabic and the command line, against real daemons
//! on loopback: a requester rejects a member's work, the member appeals from its page
//! with its answer, the requester replies,
//! every node sees the appeal while its jury is being drawn, and nobody can vote before
//! holding a seat. (A jury is seated only once the witness slack, 15 minutes, has passed
//! after the appeal: the votes and outcomes are covered by `crates/taawun-core/tests/
//! appeals.rs` and the audit's tests, where time is a parameter.)

mod common;

use common::{taawun, text, Daemon};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long any one step may take to reach the node that waits for it.
const STEP_TIMEOUT: Duration = Duration::from_secs(90);
/// How often a waiting step asks again.
const POLL: Duration = Duration::from_millis(100);

fn cli(d: &Daemon, args: &[&str]) -> Output {
    cli_in(d, &d.dir, args)
}

fn cli_in(d: &Daemon, cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taawun"))
        .args(args)
        .env("TAAWUN_DATA_DIR", &d.dir)
        .env_remove("RUST_LOG")
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn ok(d: &Daemon, args: &[&str]) -> String {
    let o = cli(d, args);
    assert!(o.status.success(), "taawun {args:?} failed: {}", text(&o));
    String::from_utf8(o.stdout).expect("utf-8 output")
}

fn json(d: &Daemon, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    serde_json::from_str(&ok(d, &a)).expect("JSON output")
}

fn fails(d: &Daemon, args: &[&str]) -> String {
    let o = cli(d, args);
    assert!(
        !o.status.success(),
        "taawun {args:?} should fail: {}",
        text(&o)
    );
    text(&o)
}

/// Asks `check` again until it gives a value, or fails after [`STEP_TIMEOUT`].
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

fn find<'a>(list: &'a Value, field: &str, value: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|x| x[field] == value)
}

/// A session on `d`'s page, logged in with the link `taawun ui` prints: its cookie.
async fn session(http: &reqwest::Client, d: &Daemon) -> String {
    let o = taawun(&["ui", "--no-open", "--by-address"], &d.dir);
    assert!(o.status.success(), "taawun ui: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let link = out
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains("/login?code="))
        .unwrap_or_else(|| panic!("no login link in: {out}"));
    let r = http.get(link).send().await.expect("login");
    r.headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// `d`'s page at `path`, in Arabic.
async fn page_ar(http: &reqwest::Client, d: &Daemon, cookie: &str, path: &str) -> String {
    http.get(format!("{}{path}", d.base))
        .header(reqwest::header::COOKIE, cookie)
        .header(reqwest::header::ACCEPT_LANGUAGE, "ar")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html")
}

fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF token in the page")
        .to_owned()
}

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

#[test]
fn a_rejected_member_appeals_and_the_requester_replies_through_the_command_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let amal = Daemon::start(&tmp.path().join("amal"));
    let karim = Daemon::start(&tmp.path().join("karim"));
    let lumen = Daemon::start(&tmp.path().join("lumen"));
    // Two members and a requester; with one member left who is not a party, juries of one.
    let view = json(
        &amal,
        &[
            "coop",
            "create",
            "--name",
            "Rif Transcribers",
            "--floor",
            "12.50EUR/h",
            "--member",
            &karim.key,
            "--requester",
            &lumen.key,
            "--limit",
            "min_claim_window_ms=60s",
            "--limit",
            "jury_size=1",
        ],
    );
    assert_eq!(view["limits"]["jury_size"], 1, "{view}");
    assert_eq!(view["limits"]["appeal_window_ms"], 604_800_000u64, "{view}");
    let invite = ok(&amal, &["coop", "invite"]).trim().to_owned();
    for d in [&karim, &lumen] {
        ok(d, &["coop", "join", &invite]);
    }

    // An offer, claimed by Karim, drawn by Lumen Lab's node, done and rejected.
    let w = json(
        &lumen,
        &[
            "offer",
            "post",
            "--title",
            "Tag photos",
            "--purpose",
            "Archive index",
            "--pay",
            "3.00EUR",
            "--minutes",
            "10",
            "--claim-window",
            "60s",
        ],
    );
    let offer = w["id"].as_str().expect("id").to_owned();
    wait_for("the offer to reach Karim", || {
        find(&json(&karim, &["offers"]), "id", &offer).map(|_| ())
    });
    ok(&karim, &["claim", &offer[..8]]);
    wait_for("the offer to be assigned to Karim", || {
        let v = json(&karim, &["offers", "--all"]);
        (find(&v, "id", &offer)?["assigned_to_me"] == true).then_some(())
    });
    let file = tmp.path().join("tags.txt");
    std::fs::write(&file, b"photo 1: market\nphoto 2: harbour\n").expect("result file");
    ok(
        &karim,
        &[
            "submit",
            &offer[..8],
            "--file",
            file.to_str().expect("utf-8"),
            "--minutes",
            "10",
        ],
    );
    let sub = wait_for("the work to reach Lumen Lab", || {
        let v = json(&lumen, &["submissions"]);
        let s = find(&v, "offer", &offer)?;
        (s["result_here"] == true).then(|| s["id"].as_str().map(str::to_owned))?
    });
    ok(
        &lumen,
        &[
            "reject",
            &sub[..8],
            "--reason",
            "Half the photos are not tagged",
        ],
    );
    wait_for("Karim to see the rejection", || {
        let v = json(&karim, &["submissions"]);
        (find(&v, "id", &sub)?["review"] == "rejected").then_some(())
    });

    // Only the member whose work it was may appeal; Karim does, once.
    let msg = fails(&amal, &["appeal", &sub[..8], "--answer", "not mine"]);
    assert!(msg.contains("another member's"), "{msg}");
    // Karim's page, in Arabic, offers the appeal under the rejected work; he appeals
    // from it, answering in Arabic.
    let coop = view["id"].as_str().expect("coop id").to_owned();
    let answer = "كل الصور موسومة: انظر السطرين 1 و2";
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let cookie = session(&http, &karim).await;
        let work = page_ar(&http, &karim, &cookie, &format!("/c/{coop}/work")).await;
        assert!(work.contains("dir=\"rtl\""), "{work}");
        assert!(work.contains("الطعن أمام هيئة من الأعضاء"), "{work}");
        assert!(
            work.contains(&format!("submissions/{sub}/appeal")),
            "{work}"
        );
        // The answer's length is the protocol's limit, in the form.
        assert!(
            work.contains("name=\"answer\" rows=\"3\" required maxlength=\"4000\""),
            "{work}"
        );
        let r = http
            .post(format!("{}/c/{coop}/submissions/{sub}/appeal", karim.base))
            .header(reqwest::header::COOKIE, &cookie)
            .header(reqwest::header::ACCEPT_LANGUAGE, "ar")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form_body(&[("csrf", &csrf_of(&work)), ("answer", answer)]))
            .send()
            .await
            .expect("appeal form");
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
        let work = page_ar(&http, &karim, &cookie, &format!("/c/{coop}/work")).await;
        assert!(work.contains("الطعن: جارٍ سحب الهيئة"), "{work}");
        assert!(
            !work.contains(&format!("submissions/{sub}/appeal")),
            "{work}"
        );
    });
    let msg = fails(&karim, &["appeal", &sub[..8], "--answer", "again"]);
    assert!(msg.contains("already appealed"), "{msg}");

    // Every node sees it while the jury is drawn.
    let appeal = wait_for("the appeal to reach Amal and Lumen Lab", || {
        let a = json(&amal, &["appeals"]);
        let l = json(&lumen, &["appeals"]);
        let x = find(&a, "submission", &sub)?;
        find(&l, "submission", &sub)?;
        Some(x.clone())
    });
    assert_eq!(appeal["outcome"], "drawing", "{appeal}");
    assert_eq!(appeal["appellant"], karim.key.as_str(), "{appeal}");
    assert_eq!(
        appeal["reason"], "Half the photos are not tagged",
        "{appeal}"
    );
    assert_eq!(appeal["answer"], answer, "{appeal}");
    let id = appeal["id"].as_str().expect("id").to_owned();

    // The requester answers, once; the member cannot answer for it.
    let msg = fails(&karim, &["reply", &id[..8], "--text", "me too"]);
    assert!(msg.contains("refused"), "{msg}");
    // Lumen Lab answers from its requests page, in Arabic: the page shows the appeal and
    // the member's answer under the rejected work, and the reply form.
    rt.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let cookie = session(&http, &lumen).await;
        let requests = page_ar(&http, &lumen, &cookie, &format!("/c/{coop}/requests")).await;
        assert!(requests.contains("الطعن: جارٍ سحب الهيئة"), "{requests}");
        assert!(requests.contains(answer), "{requests}");
        assert!(
            requests.contains(&format!("appeals/{id}/reply")),
            "{requests}"
        );
        assert!(
            requests.contains("name=\"text\" rows=\"3\" required maxlength=\"4000\""),
            "{requests}"
        );
        let r = http
            .post(format!("{}/c/{coop}/appeals/{id}/reply", lumen.base))
            .header(reqwest::header::COOKIE, &cookie)
            .header(reqwest::header::ACCEPT_LANGUAGE, "ar")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form_body(&[
                ("csrf", &csrf_of(&requests)),
                ("text", "Photos 3 to 9 have no tags"),
            ]))
            .send()
            .await
            .expect("reply form");
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
        let requests = page_ar(&http, &lumen, &cookie, &format!("/c/{coop}/requests")).await;
        assert!(
            requests.contains("Photos 3 to 9 have no tags"),
            "{requests}"
        );
        assert!(
            !requests.contains(&format!("appeals/{id}/reply")),
            "{requests}"
        );
    });
    let msg = fails(&lumen, &["reply", &id[..8], "--text", "and 10"]);
    assert!(msg.contains("already answered"), "{msg}");
    wait_for("the reply to reach Amal", || {
        let a = json(&amal, &["appeals"]);
        (find(&a, "id", &id)?["reply"] == "Photos 3 to 9 have no tags").then_some(())
    });
    let shown = ok(&amal, &["appeals"]);
    assert!(
        shown.contains("reply:  Photos 3 to 9 have no tags"),
        "{shown}"
    );

    // Nobody holds a seat while the jury is drawn: nothing to judge, no vote taken.
    assert_eq!(json(&amal, &["jury"]), Value::Array(vec![]));
    let msg = fails(&amal, &["jury", "vote", &id[..8], "uphold"]);
    assert!(msg.contains("appeal"), "{msg}");
}
