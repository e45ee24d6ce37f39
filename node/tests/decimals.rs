//! Amounts in a currency with three decimals (the Jordanian dinar: 1 000 fils), through
//! the command line and the local API of a real daemon: the floor, an offer, its hourly
//! rate and the refusals are all read and written with three decimals.

mod common;

use common::{text, Daemon};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Command, Output};

/// Runs `taawun ARGS` against the daemon of `d`.
fn cli(d: &Daemon, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taawun"))
        .args(args)
        .env("TAAWUN_DATA_DIR", &d.dir)
        .env_remove("RUST_LOG")
        .current_dir(&d.dir)
        .output()
        .expect("the binary runs")
}

/// `taawun ARGS`, which must succeed; its standard output.
fn ok(d: &Daemon, args: &[&str]) -> String {
    let o = cli(d, args);
    assert!(o.status.success(), "taawun {args:?} failed: {}", text(&o));
    String::from_utf8(o.stdout).expect("utf-8 output")
}

/// `taawun ARGS`, which must fail; what it printed.
fn fails(d: &Daemon, args: &[&str]) -> String {
    let o = cli(d, args);
    assert!(!o.status.success(), "taawun {args:?} should fail");
    text(&o)
}

async fn post(d: &Daemon, path: &str, body: Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", d.base))
        .bearer_auth(&d.token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn get(d: &Daemon, path: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", d.base))
        .bearer_auth(&d.token)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jod_floor_and_offer_keep_three_decimals_through_the_cli_and_the_api() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());

    // Founded with a floor of 12.500 JOD per hour.
    let o = ok(
        &d,
        &[
            "coop",
            "create",
            "--name",
            "Amman Translators",
            "--floor",
            "12.500JOD/h",
            "--json",
        ],
    );
    let view: Value = serde_json::from_str(&o).expect("json");
    let coop = view["id"].as_str().expect("id").to_owned();
    assert_eq!(
        view["floors"][0],
        json!({"minor": 12_500, "currency": "JOD", "decimals": 3, "text": "12.500 JOD"})
    );
    let show = ok(&d, &["coop", "show"]);
    assert!(show.contains("floor        12.500 JOD/h"), "{show}");

    // Four decimals are refused before anything is sent, and by the API itself.
    let msg = fails(
        &d,
        &[
            "offer",
            "post",
            "--title",
            "t",
            "--purpose",
            "p",
            "--pay",
            "4.2505JOD",
            "--minutes",
            "20",
        ],
    );
    assert!(msg.contains("JOD has 3 decimals: 4.2505JOD has 4"), "{msg}");
    let offers = format!("/api/coops/{coop}/offers");
    let (s, v) = post(
        &d,
        &offers,
        json!({"title": "t", "purpose": "p", "pay": "4.2505JOD", "minutes": 20}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        v["error"],
        "pay `4.2505JOD`: JOD has 3 decimals: 4.2505JOD has 4 (write it like 4.000JOD)"
    );

    // Under the floor: 4.000 JOD for 20 minutes is 12.000 JOD/h; at least 4.167 JOD.
    let (s, v) = post(
        &d,
        &offers,
        json!({"title": "t", "purpose": "p", "pay": "4JOD", "minutes": 20}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let msg = v["error"].as_str().expect("msg");
    for part in [
        "4.000 JOD for 20 min",
        "12.000 JOD/h",
        "12.500 JOD/h",
        "4.167 JOD",
    ] {
        assert!(msg.contains(part), "{part}: {msg}");
    }

    // 4.250 JOD for 20 minutes: 12.750 JOD/h, 102% of the floor.
    let o = ok(
        &d,
        &[
            "offer",
            "post",
            "--title",
            "Translate a leaflet",
            "--purpose",
            "A clinic",
            "--pay",
            "4.25JOD",
            "--minutes",
            "20",
        ],
    );
    assert!(!o.is_empty());
    let list = get(&d, &offers).await;
    assert_eq!(
        list[0]["pay"],
        json!({"minor": 4_250, "currency": "JOD", "decimals": 3, "text": "4.250 JOD"})
    );
    assert_eq!(list[0]["hourly"]["text"], "12.750 JOD");
    let table = ok(&d, &["offers"]);
    assert!(
        table.contains("4.250 JOD   20  12.750 JOD  102% of 12.500 JOD"),
        "{table}"
    );
}
