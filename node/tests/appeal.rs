//! An appeal through the web page in Arabic and the command line, against real daemons
//! on loopback: a requester rejects a member's work, the member appeals from its page
//! with its answer, the requester replies,
//! every node sees the appeal while its jury is being drawn, and nobody can vote before
//! holding a seat. (A jury is seated only once the witness slack, 15 minutes, has passed
//! after the appeal: the outcomes are covered by `crates/taawun-core/tests/appeals.rs`
//! and the audit's tests, where time is a parameter.) Then, in headless Chromium, a juror
//! votes from its page in Arabic on a phone-sized screen: its node holds a ledger whose
//! appeal was made and witnessed hours ago, so its seat is open by the wall clock.

#[allow(dead_code)] // each test file uses part of it
mod browser;
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
    // The reason is sealed to Karim and Lumen Lab: Amal, a member on no jury, sees the
    // appeal and the answer but not the reason; the parties read it.
    assert_eq!(appeal["reason"], Value::Null, "{appeal}");
    assert_eq!(appeal["reason_flag"], Value::Null, "{appeal}");
    assert_eq!(appeal["answer"], answer, "{appeal}");
    let shown = ok(&amal, &["appeals"]);
    assert!(shown.contains("reason: sealed"), "{shown}");
    assert!(!shown.contains("Half the photos"), "{shown}");
    for d in [&karim, &lumen] {
        let a = json(d, &["appeals"]);
        let x = find(&a, "submission", &sub).expect("the appeal");
        assert_eq!(x["reason"], "Half the photos are not tagged", "{x}");
    }
    let subs = json(&amal, &["submissions", "--all"]);
    let seen = find(&subs, "id", &sub).expect("the submission at Amal's node");
    assert_eq!(seen["review"], "rejected", "{seen}");
    assert_eq!(seen["reason"], Value::Null, "{seen}");
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

/// The device key of member `n` in [`seated_jury`]'s cooperative: seed `DEVICE + n`.
const DEVICE: u8 = 10;

/// A ledger dated three hours ago, as [`seated_jury`] writes it.
struct Fixture {
    /// The charter's id.
    coop: taawun_core::Id,
    /// Every entry, in order.
    entries: Vec<taawun_core::Verified>,
    /// The appeal whose jury sits.
    appeal: taawun_core::Id,
    /// Its jurors (members' numbers), in ranking order.
    jury: Vec<u8>,
    /// Member 2's other work, rejected and not appealed yet.
    unappealed: taawun_core::Id,
}

/// The key of seed `n` (members are 1 to 6, their devices `DEVICE + n`), in hex.
fn hex_key(n: u8) -> String {
    hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[n; 32])
            .verifying_key()
            .to_bytes(),
    )
}

/// A cooperative of six members whose ledger, dated three hours ago, holds: a device
/// (phone) authorised and enrolled for each of members 1 to 5; an offer of member 6, the
/// work of member 2, its rejection, member 2's appeal witnessed by member 1 (who is not a
/// party), and member 6's reply: the jury sat long ago (the witness slack is 15 minutes)
/// and its seats are still open (3 days); and a second offer of member 6 whose work by
/// member 2 was rejected and not appealed yet (the appeal window is 7 days).
fn seated_jury() -> Fixture {
    use std::collections::BTreeMap;
    use taawun_core::body::{
        Appeal, Assign, Body, Charter, Claim, Device, Enroll, Named, Offer, Reject, Reply, Submit,
        Tick,
    };
    use taawun_core::{fold::Coop, lottery, rules::default_limits, writer::Writer, Hash, Money};
    const MIN: u64 = 60_000;
    const DAY: u64 = 24 * 60 * MIN;
    let key = |n: u8| ed25519_dalek::SigningKey::from_bytes(&[n; 32]);
    let pk = |n: u8| taawun_core::PublicKey(key(n).verifying_key().to_bytes());
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms");
    let t0 = now - 3 * 60 * MIN;
    let secret = Hash([42; 32]);
    let mut w1 = Writer::new(key(1), None, None);
    let charter = w1.next(
        Body::Charter(Charter {
            name: "Rif Transcribers".into(),
            members: (1..=6).map(pk).collect(),
            requesters: vec![],
            names: (1..=6)
                .map(|i| Named {
                    key: pk(i),
                    name: format!("Member {i}"),
                })
                .collect(),
            quorum_pct: 60,
            floors: [("EUR".to_string(), 1200)].into_iter().collect(),
            limits: default_limits(),
        }),
        t0,
        None,
    );
    let id = charter.id();
    let mut coop = Coop::new();
    coop.ingest(charter.clone(), None).expect("charter");
    let mut writers: BTreeMap<u8, Writer> = BTreeMap::from([(1, w1)]);
    for n in (2..=6).chain((1..=5).map(|n| DEVICE + n)) {
        writers.insert(n, Writer::new(key(n), Some(id), None));
    }
    let mut out = vec![charter];
    let mut put = |who: u8, body: Body, ts: u64| {
        let v = writers
            .get_mut(&who)
            .expect("a writer")
            .next(body, ts, None);
        coop.ingest(v.clone(), None).expect("valid");
        out.push(v.clone());
        v
    };
    // Each of members 1 to 5 authorises a phone, which enrolls.
    for n in 1..=5 {
        let d = put(
            n,
            Body::Device(Device {
                key: pk(DEVICE + n),
                label: "phone".into(),
            }),
            t0 + u64::from(n) * 1_000,
        );
        put(
            DEVICE + n,
            Body::Enroll(Enroll { device: d.id() }),
            t0 + u64::from(n) * 1_000 + 500,
        );
    }
    // An offer of member 6 claimed by member 2 alone (witnessed by member 1), drawn, done
    // and rejected: the rejection witnessed by member 1 too.
    let rejected =
        |put: &mut dyn FnMut(u8, Body, u64) -> taawun_core::Verified, title: &str, t: u64| {
            let offer = put(
                6,
                Body::Offer(Offer {
                    title: title.into(),
                    description: "Tag every photo of the market archive".into(),
                    purpose: "Archive index".into(),
                    pay: Money::new("EUR", 300),
                    minutes: 15,
                    assignments: 1,
                    expires_at: t + 30 * DAY,
                    review_window_ms: DAY,
                    claim_window_ms: 10 * MIN,
                    commit: lottery::commit(&secret),
                }),
                t,
            );
            let claim = put(2, Body::Claim(Claim { offer: offer.id() }), t + MIN);
            put(
                1,
                Body::Tick(Tick {
                    heads: vec![claim.id()],
                }),
                t + 2 * MIN,
            );
            let assign = put(
                6,
                Body::Assign(Assign {
                    offer: offer.id(),
                    claims: vec![claim.id()],
                    winners: vec![pk(2)],
                    secret,
                }),
                t + 11 * MIN,
            );
            let sub = put(
                2,
                Body::Submit(Submit {
                    offer: offer.id(),
                    assign: assign.id(),
                    result: Hash::of(b"photo 1: market\n"),
                    size: 16,
                    minutes: 15,
                }),
                t + 20 * MIN,
            );
            let rej = put(
                6,
                Body::Reject(Reject {
                    submission: sub.id(),
                    // Sealed to the member whose work it was and the requester.
                    reason: taawun_core::synth::sealed(
                        "Half the photos are not tagged",
                        &[pk(2), pk(6)],
                    ),
                }),
                t + 30 * MIN,
            );
            put(
                1,
                Body::Tick(Tick {
                    heads: vec![rej.id()],
                }),
                t + 31 * MIN,
            );
            (sub, rej)
        };
    let t = t0 + MIN;
    let (_, rej) = rejected(&mut put, "Tag photos", t);
    let appeal = put(
        2,
        Body::Appeal(Appeal {
            rejection: rej.id(),
            answer: "كل الصور موسومة: انظر السطرين 1 و2".into(),
        }),
        t + 40 * MIN,
    );
    // Member 1, not a party, witnesses the appeal: its tick seeds the jury.
    put(
        1,
        Body::Tick(Tick {
            heads: vec![appeal.id()],
        }),
        t + 41 * MIN,
    );
    put(
        6,
        Body::Reply(Reply {
            appeal: appeal.id(),
            text: "Photos 3 to 9 have no tags".into(),
        }),
        t + 45 * MIN,
    );
    let (unappealed, _) = rejected(&mut put, "Tag more photos", t + 50 * MIN);
    let jury: Vec<u8> = coop
        .appeals(now)
        .into_iter()
        .find(|a| a.id == appeal.id())
        .expect("the appeal counts")
        .seats
        .iter()
        .map(|x| (1..=6).find(|n| pk(*n) == x.member).expect("a member"))
        .collect();
    assert_eq!(jury.len(), 3, "a seated jury");
    Fixture {
        coop: id,
        entries: out,
        appeal: appeal.id(),
        jury,
        unappealed: unappealed.id(),
    }
}

/// A daemon in `dir` alone (no peer could confirm its chain, so it writes without
/// waiting for one) whose key is seed `key`, a device of member `device_of` if given,
/// holding `f`'s ledger imported.
fn fixture_node(dir: &Path, f: &Fixture, key: u8, device_of: Option<u8>) -> Daemon {
    std::fs::create_dir_all(dir).expect("dir");
    let o = match device_of {
        Some(m) => taawun(&["init", "--device-of", &hex_key(m)], dir),
        None => taawun(&["init"], dir),
    };
    assert!(o.status.success(), "init: {}", text(&o));
    let config =
        common::TEST_CONFIG.replace("mdns = false", "mdns = false\nwrite_before_sync = true");
    assert_ne!(config, common::TEST_CONFIG, "the test config names mdns");
    std::fs::write(dir.join("config.toml"), config).expect("config");
    std::fs::write(dir.join("key"), [key; 32]).expect("key");
    let d = Daemon::run(dir);
    assert_eq!(d.key, hex_key(key));
    let mut file = taawun_ledger::export::header_bytes(&f.coop);
    for v in &f.entries {
        file.extend_from_slice(&v.envelope());
    }
    let path = dir.join("fixture.taawun");
    std::fs::write(&path, file).expect("ledger file");
    let imported = ok(&d, &["ledger", "import", path.to_str().expect("utf-8")]);
    assert!(
        imported.contains(&format!("{} stored", f.entries.len()))
            && imported.contains("0 rejected"),
        "{imported}"
    );
    d
}

#[test]
fn a_member_appeals_its_own_rejected_work_from_its_phone_s_node() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = seated_jury();
    // Member 2's phone: its own key, enrolled as member 2's device.
    let phone = fixture_node(&tmp.path().join("phone"), &f, DEVICE + 2, Some(2));
    let st = json(&phone, &["status"]);
    assert_eq!(st["coops"][0]["identity"], hex_key(2).as_str(), "{st}");
    let sub = f.unappealed.to_hex();
    let before = json(&phone, &["appeals"]);
    assert!(find(&before, "submission", &sub).is_none(), "{before}");

    // The work is member 2's: the phone appeals it, and every view names member 2.
    ok(
        &phone,
        &[
            "appeal",
            &sub[..8],
            "--answer",
            "Every photo is tagged: see lines 1 and 2",
        ],
    );
    let list = json(&phone, &["appeals"]);
    let a = find(&list, "submission", &sub).unwrap_or_else(|| panic!("{list}"));
    assert_eq!(a["appellant"], hex_key(2).as_str(), "{a}");
    assert_eq!(a["outcome"], "drawing", "{a}");
    assert_eq!(
        a["answer"], "Every photo is tagged: see lines 1 and 2",
        "{a}"
    );
    // Once: the phone speaks for member 2, who has appealed.
    let msg = fails(&phone, &["appeal", &sub[..8], "--answer", "again"]);
    assert!(msg.contains("already appealed"), "{msg}");
}

#[test]
fn a_juror_s_phone_sees_its_seat_and_votes_for_its_member() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = seated_jury();
    let juror = f.jury[0];
    let phone = fixture_node(&tmp.path().join("phone"), &f, DEVICE + juror, Some(juror));
    let appeal = f.appeal.to_hex();

    // The seat is the member's; its phone lists the case as one to judge.
    let jury = json(&phone, &["jury"]);
    let a = find(&jury, "id", &appeal).unwrap_or_else(|| panic!("{jury}"));
    assert_eq!(a["outcome"], "open", "{a}");
    assert_eq!(a["to_judge"], true, "{a}");
    ok(&phone, &["jury", "vote", &appeal[..8], "uphold"]);

    // The vote counts as the member's: its seat is voted, and nothing is left to judge.
    let list = json(&phone, &["appeals"]);
    let a = find(&list, "id", &appeal).unwrap_or_else(|| panic!("{list}"));
    assert_eq!(a["uphold"], 1, "{a}");
    assert_eq!(a["to_judge"], false, "{a}");
    let seat = a["seats"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["member"] == hex_key(juror).as_str()))
        .unwrap_or_else(|| panic!("no seat of the member: {a}"));
    assert_eq!(seat["state"], "upheld", "{a}");
    assert_eq!(json(&phone, &["jury"]), Value::Array(vec![]));
}

/// The rejection `f`'s appeal names and the content key of its reason, opened with the
/// key of member 2, whose work it rejects.
fn reason_key(f: &Fixture) -> (taawun_core::Id, taawun_core::seal::ContentKey) {
    let rejection = f
        .entries
        .iter()
        .find_map(|v| match &v.entry().body {
            taawun_core::body::Body::Appeal(a) if v.id() == f.appeal => Some(a.rejection),
            _ => None,
        })
        .expect("the appeal");
    f.entries
        .iter()
        .find_map(|v| match &v.entry().body {
            taawun_core::body::Body::Reject(r) if v.id() == rejection => Some((
                v.id(),
                r.reason
                    .content_key(&ed25519_dalek::SigningKey::from_bytes(&[2; 32]))
                    .expect("member 2 is a recipient"),
            )),
            _ => None,
        })
        .expect("a rejection")
}

/// A data folder for the member of key seed `n`, configured to dial `bootstrap`, that
/// writes without a peer confirming its chain (its ledger is imported).
fn member_folder(dir: &Path, n: u8, bootstrap: &[String]) {
    std::fs::create_dir_all(dir).expect("dir");
    let o = taawun(&["init"], dir);
    assert!(o.status.success(), "init: {}", text(&o));
    let peers = bootstrap
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = common::TEST_CONFIG
        .replace("bootstrap = []", &format!("bootstrap = [{peers}]"))
        .replace("mdns = false", "mdns = false\nwrite_before_sync = true");
    std::fs::write(dir.join("config.toml"), config).expect("config");
    std::fs::write(dir.join("key"), [n; 32]).expect("key");
}

/// Imports `entries` of `coop` into `d` through the API; none is refused.
async fn import(d: &Daemon, coop: taawun_core::Id, entries: &[taawun_core::Verified]) {
    let mut file = taawun_ledger::export::header_bytes(&coop);
    for v in entries {
        file.extend_from_slice(&v.envelope());
    }
    let r = reqwest::Client::new()
        .post(format!("{}/api/import", d.base))
        .bearer_auth(&d.token)
        .body(file)
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["rejected"], 0, "{v}");
}

/// The rejection's reason is sealed to the member and the requester. Once the jury sits,
/// the member's node sends the result to each juror's node with the key to the reason: a
/// drawn juror then reads the reason (`taawun jury`, the appeals route), and a member on
/// no jury still does not, and gets no result.
#[tokio::test(flavor = "multi_thread")]
async fn a_drawn_juror_reads_the_reason_with_the_result_and_a_member_on_no_jury_does_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = seated_jury();
    let (coop, entries, appeal, jury) = (f.coop, &f.entries, f.appeal, &f.jury);
    let sub = entries
        .iter()
        .find(|v| matches!(v.entry().body, taawun_core::body::Body::Submit(_)))
        .expect("the submission")
        .id();
    // Member 2's node, whose work was rejected, holds its result.
    let worker_dir = tmp.path().join("worker");
    member_folder(&worker_dir, 2, &[]);
    let results = worker_dir.join("results").join(coop.to_hex());
    std::fs::create_dir_all(&results).expect("results folder");
    std::fs::write(results.join(sub.to_hex()), b"photo 1: market\n").expect("result");
    let worker = Daemon::run(&worker_dir);
    import(&worker, coop, entries).await;
    let st = json(&worker, &["status"]);
    let listen = st["listen"]
        .as_array()
        .and_then(|l| l.iter().find_map(Value::as_str))
        .expect("a listen address");
    let boot = format!("{listen}/p2p/{}", st["peer_id"].as_str().expect("peer id"));

    // A juror, and the one member who is neither a party nor on the jury.
    let bystander = [1u8, 3, 4, 5]
        .into_iter()
        .find(|n| !jury.contains(n))
        .expect("four members who are not parties, three seats");
    let mut nodes = Vec::new();
    for (name, n) in [("juror", jury[0]), ("bystander", bystander)] {
        let dir = tmp.path().join(name);
        member_folder(&dir, n, std::slice::from_ref(&boot));
        let d = Daemon::run(&dir);
        import(&d, coop, entries).await;
        nodes.push(d);
    }
    let (juror, other) = (&nodes[0], &nodes[1]);
    let appeal = appeal.to_hex();
    let juror_case = wait_for("the result and the reason at the juror's node", || {
        let a = json(juror, &["jury"]);
        let x = find(&a, "id", &appeal)?;
        (x["result_here"] == true && x["reason"].is_string()).then(|| x.clone())
    });
    assert_eq!(
        juror_case["reason"], "Half the photos are not tagged",
        "{juror_case}"
    );
    assert_eq!(juror_case["reason_flag"], Value::Null, "{juror_case}");
    let shown = ok(juror, &["jury"]);
    assert!(
        shown.contains("reason: Half the photos are not tagged"),
        "{shown}"
    );
    // The member on no jury: the appeal, but neither the reason nor the result.
    let a = json(other, &["appeals"]);
    let x = find(&a, "id", &appeal).unwrap_or_else(|| panic!("{a}"));
    assert_eq!(x["to_judge"], false, "{x}");
    assert_eq!(x["reason"], Value::Null, "{x}");
    assert_eq!(x["result_here"], false, "{x}");
    let shown = ok(other, &["appeals"]);
    assert!(!shown.contains("Half the photos"), "{shown}");
    assert!(!other.dir.join("results").join("keys").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_juror_votes_to_uphold_from_its_page_in_arabic_on_a_phone() {
    use serde_json::json;
    let Some((driver, chromium)) = browser::tools() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = seated_jury();
    // The juror's node: its key is the juror's.
    let d = fixture_node(&tmp.path().join("juror"), &f, f.jury[0], None);
    let (coop, appeal) = (f.coop, f.appeal);
    // The key to the rejection's reason, where a juror's node keeps the one the member's
    // node sent with the result (protocol.md 13.7; the transfer itself is the test above).
    let (rejection, key) = reason_key(&f);
    let keys = d.dir.join("results").join("keys");
    std::fs::create_dir_all(&keys).expect("keys folder");
    std::fs::write(
        keys.join(format!("{}.{}", coop.to_hex(), rejection.to_hex())),
        key.to_hex(),
    )
    .expect("key file");
    let api = reqwest::Client::new();
    let (coop, appeal) = (coop.to_hex(), appeal.to_hex());
    let jury_of = |api: reqwest::Client| {
        let url = format!("{}/api/coops/{coop}/appeals", d.base);
        let token = d.token.clone();
        async move {
            let r = api
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("appeals");
            r.json::<Value>().await.expect("json")
        }
    };
    let list = jury_of(api.clone()).await;
    let a = find(&list, "id", &appeal).unwrap_or_else(|| panic!("{list}"));
    assert_eq!(a["outcome"], "open", "{a}");
    assert_eq!(a["to_judge"], true, "{a}");

    let wd = browser::Driver::start(&driver, &chromium, &tmp.path().join("chromedriver.log")).await;
    let b = wd.browser(&tmp.path().join("profile")).await;
    let o = taawun(&["ui", "--no-open", "--by-address"], &d.dir);
    assert!(o.status.success(), "taawun ui: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let link = out
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains("/login?code="))
        .unwrap_or_else(|| panic!("no login link in: {out}"));
    b.go(link).await;
    let work = format!("/c/{coop}/work");
    b.go(&format!("{}/lang/ar?next={work}", d.base)).await;
    let card = format!("#jury li.card.appeal[data-appeal=\"{appeal}\"]");
    b.until(
        "the case to judge, in Arabic",
        &format!("return document.documentElement.lang === 'ar' && document.dir === 'rtl' && !!document.querySelector('{card}')"),
    )
    .await;
    assert_eq!(b.js("return window.innerWidth", vec![]).await, json!(360));
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";
    assert_eq!(b.js(fits, vec![]).await, json!(true), "wider than a phone");
    // The case: the offer and its instructions, the reason, the member's answer, the
    // requester's reply, when the vote is due.
    let shown = b.text(&card).await;
    for part in [
        "Tag photos",
        "Tag every photo of the market archive",
        "السبب",
        "Half the photos are not tagged",
        "ردّ العضو",
        "كل الصور موسومة: انظر السطرين 1 و2",
        "ردّ صاحب الطلب",
        "Photos 3 to 9 have no tags",
        "صوّت قبل",
    ] {
        assert!(shown.contains(part), "{part} not in: {shown}");
    }

    // Uphold: the vote is written, and the page shows it instead of the buttons.
    b.click(&format!("{card} form[data-verdict=\"uphold\"] button"))
        .await;
    b.until(
        "the vote shown",
        &format!("const v = document.querySelector('{card} p.my-vote'); return !!v && v.dataset.vote === 'uphold'"),
    )
    .await;
    let shown = b.text(&format!("{card} p.my-vote")).await;
    assert!(shown.contains("صوتك: قبول الطعن"), "{shown}");
    assert_eq!(
        b.js(
            &format!("return document.querySelectorAll('{card} form').length"),
            vec![]
        )
        .await,
        json!(0),
        "the buttons are gone once voted"
    );
    assert_eq!(b.js(fits, vec![]).await, json!(true), "wider than a phone");
    let list = jury_of(api.clone()).await;
    let a = find(&list, "id", &appeal).unwrap_or_else(|| panic!("{list}"));
    assert_eq!(a["uphold"], 1, "{a}");
    assert_eq!(a["to_judge"], false, "{a}");
    let me = a["seats"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["member"] == d.key.as_str()))
        .unwrap_or_else(|| panic!("no seat of this node: {a}"));
    assert_eq!(me["state"], "upheld", "{a}");
    b.quit().await;
}
