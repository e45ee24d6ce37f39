//! The local API of a real `taawun run` daemon: authentication, errors a person can act
//! on (and a program can read: a code and fields), and the floor refused before anything
//! is stored.

mod common;

use common::Daemon;
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn of(d: &Daemon) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: d.base.clone(),
            token: d.token.clone(),
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// `POST` of raw bytes with the given content type.
    async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .expect("request");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// The titles of a listing of offers, and the total its header gives.
    async fn titles(&self, offers: &str, query: &str) -> (Vec<String>, usize) {
        let r = self
            .http
            .get(format!("{}{offers}?{query}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::OK, "{query}");
        let total: usize = r.headers()["x-total-count"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("a number");
        let v: Value = r.json().await.expect("json");
        let titles = v
            .as_array()
            .expect("a list")
            .iter()
            .map(|o| o["title"].as_str().expect("title").to_owned())
            .collect();
        (titles, total)
    }

    async fn coop(&self) -> String {
        let (s, v) = self
            .post(
                "/api/coops",
                json!({"name": "Test cooperative", "floor": "12.50EUR/h"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("id").to_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_right_token_nothing_is_done() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let other = tempfile::tempdir().expect("tmp");
    let o = Daemon::start(other.path());
    let http = reqwest::Client::new();
    let create = json!({"name": "Sneaky", "floor": "12.50EUR/h"});
    for token in [None, Some("wrong-token"), Some(o.token.as_str())] {
        let mut req = http.post(format!("{}/api/coops", d.base)).json(&create);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("request");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body: Value = r.json().await.expect("a JSON error");
        assert!(
            body["error"].as_str().expect("message").contains("token"),
            "{body}"
        );
        assert_eq!(body["code"], "unauthorized", "{body}");
    }
    // Nothing was created.
    let (s, status) = Api::of(&d).get("/api/status").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        status["coops"].as_array().expect("coops").len(),
        0,
        "{status}"
    );
    // The API listens on loopback only by default.
    assert!(d.base.starts_with("http://127.0.0.1:"), "{}", d.base);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_json_errors_that_say_what_is_wrong() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let api = Api::of(&d);
    let coop = api.coop().await;

    let offers = format!("/api/coops/{coop}/offers");
    // Malformed JSON.
    let (s, v) = api.post_raw(&offers, "application/json", "{not json").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().is_some(), "{v}");
    assert_eq!(v["code"], "bad_request", "{v}");

    // Valid JSON without saying so.
    let (s, v) = api
        .post_raw(
            &offers,
            "text/plain",
            r#"{"title": "t", "purpose": "p", "pay": "4EUR", "minutes": 15}"#,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]
            .as_str()
            .expect("msg")
            .contains("application/json"),
        "{v}"
    );

    // A field of the wrong shape, an unknown field, an amount that does not parse.
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/offers"),
            json!({"title": "t", "purpose": "p", "pay": "four euros", "minutes": 15}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().expect("msg").contains("4.00EUR"), "{v}");
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/offers"),
            json!({"title": "t", "purpose": "p", "pay": "4EUR", "minutes": 15, "colour": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // Unknown ids: 404 with a message; malformed ids: 400.
    let zero = "00".repeat(32);
    let (s, v) = api.get(&format!("/api/coops/{zero}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert!(v["error"].as_str().expect("msg").contains(&zero), "{v}");
    assert_eq!(v["code"], "not_found", "{v}");
    let (s, v) = api.get(&format!("/api/coops/{coop}/offers/{zero}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/submissions/{zero}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = api.get(&format!("/api/coops/{coop}/offers/xyz")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = api.get("/api/nothing-here").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offer_under_the_floor_is_refused_and_nothing_is_stored() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let api = Api::of(&d);
    let coop = api.coop().await;
    let (_, before) = api.get("/api/status").await;

    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/offers"),
            json!({"title": "Cheap", "purpose": "Testing the floor", "pay": "2.00EUR", "minutes": 15}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let msg = v["error"].as_str().expect("msg");
    assert!(msg.contains("8.00 EUR/h"), "{msg}");
    assert!(msg.contains("12.50 EUR/h"), "{msg}");
    assert!(msg.contains("pay at least 3.13 EUR for 15 min"), "{msg}");
    // For programs: the core's rule and its figures, in minor units.
    assert_eq!(v["code"], "offer_below_floor", "{v}");
    assert_eq!(
        v["fields"],
        json!({"currency": "EUR", "pay": 200, "minutes": 15, "offered_per_hour": 800, "floor": 1250, "least_pay": 313}),
        "{v}"
    );

    // A currency the cooperative has no floor in: the floors there are.
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/offers"),
            json!({"title": "Dollars", "purpose": "Testing the floor", "pay": "20.00USD", "minutes": 15}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "currency_not_allowed", "{v}");
    assert_eq!(v["fields"], json!({"currency": "USD"}), "{v}");
    let msg = v["error"].as_str().expect("msg");
    assert!(msg.contains("no floor in USD"), "{msg}");
    assert!(msg.contains("(floors: 12.50 EUR/h)"), "{msg}");

    // A claim window under the cooperative's least (10 minutes).
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/offers"),
            json!({"title": "Hasty", "purpose": "Testing the window", "pay": "4.00EUR", "minutes": 15, "claim_window_ms": 1000}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "bad_offer", "{v}");
    assert_eq!(v["fields"]["field"], "claim_window_ms", "{v}");
    assert_eq!(
        v["error"],
        "offer refused: a claim window of 1 s is shorter than the cooperative's least of 600 s",
        "{v}"
    );
    let (_, after) = api.get("/api/status").await;
    assert_eq!(before["coops"][0]["entries"], after["coops"][0]["entries"]);
    let (_, offers) = api.get(&format!("/api/coops/{coop}/offers")).await;
    assert_eq!(offers.as_array().expect("list").len(), 0);

    // At the floor exactly: accepted.
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/offers"),
            json!({"title": "Fair", "purpose": "Testing the floor", "pay": "3.13EUR", "minutes": 15}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["kind"], "offer");
    let (_, offers) = api.get(&format!("/api/coops/{coop}/offers")).await;
    assert_eq!(offers[0]["hourly"]["text"], "12.52 EUR");
    assert_eq!(offers[0]["state"], "open");
    // Only the offer written keeps a lottery secret.
    let kept = std::fs::read_dir(tmp.path().join("lottery")).expect("lottery folder");
    assert_eq!(kept.count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn offer_lists_filter_and_page_newest_first() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let api = Api::of(&d);
    let coop = api.coop().await;
    let offers = format!("/api/coops/{coop}/offers");
    let mut ids = Vec::new();
    for i in 0..5 {
        let (s, v) = api
            .post(
                &offers,
                json!({"title": format!("o{i}"), "purpose": "Paging", "pay": "4.00EUR", "minutes": 15}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        ids.push(v["id"].as_str().expect("id").to_owned());
    }
    let (s, v) = api
        .post(&format!("{offers}/{}/withdraw", ids[1]), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    assert_eq!(
        api.titles(&offers, "limit=2").await,
        (vec!["o4".into(), "o3".into()], 5)
    );
    assert_eq!(
        api.titles(&offers, "offset=2&limit=2").await,
        (vec!["o2".into(), "o1".into()], 5)
    );
    assert_eq!(
        api.titles(&offers, "state=withdrawn").await,
        (vec!["o1".into()], 1)
    );
    assert_eq!(api.titles(&offers, "state=open,withdrawn").await.1, 5);
    assert_eq!(api.titles(&offers, "state=open").await.1, 4);
    assert_eq!(api.titles(&offers, "requester=me").await.1, 5);
    assert_eq!(
        api.titles(
            &offers,
            "requester=0000000000000000000000000000000000000000000000000000000000000000"
        )
        .await
        .1,
        0
    );
    assert_eq!(
        api.titles(&offers, &format!("id_prefix={}", &ids[2][..12]))
            .await,
        (vec!["o2".into()], 1)
    );

    // Bad queries get JSON errors that say what is wrong.
    for (query, says) in [
        ("state=closed", "awaiting-assignment"),
        ("limit=0", "at least 1"),
        ("limit=many", "limit `many`"),
        ("mine=yes", "mine"),
        ("colour=red", "colour"),
        ("id_prefix=xyz", "hex"),
    ] {
        let (s, v) = api.get(&format!("{offers}?{query}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        let msg = v["error"].as_str().expect("a JSON error");
        assert!(msg.contains(says), "{query}: {msg}");
    }
    // Submissions are filtered the same way.
    let subs = format!("/api/coops/{coop}/submissions");
    let (s, v) = api
        .get(&format!("{subs}?involving=me&review=pending,rejected"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v.as_array().expect("a list").len(), 0);
    let (s, v) = api.get(&format!("{subs}?review=paid")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]
            .as_str()
            .expect("msg")
            .contains("accepted-by-default"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_stops_cleanly_on_sigterm_and_keeps_its_ledger() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let coop = Api::of(&d).coop().await;
    let status = d.stop();
    assert!(status.success(), "{status:?}");
    // Restarted, it holds the cooperative.
    let d = Daemon::run(tmp.path());
    let (s, v) = Api::of(&d).get(&format!("/api/coops/{coop}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "Test cooperative");
    assert!(
        !d.log().contains(&d.token),
        "the token must never be logged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ledger_exported_from_one_daemon_imports_into_another() {
    let (ta, tb) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let (a, b) = (Daemon::start(ta.path()), Daemon::start(tb.path()));
    let (api_a, api_b) = (Api::of(&a), Api::of(&b));
    let coop = api_a.coop().await;
    let (s, v) = api_a
        .post(
            &format!("/api/coops/{coop}/offers"),
            json!({"title": "Fair", "purpose": "p", "pay": "5.00EUR", "minutes": 10}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let file = api_a
        .http
        .get(format!("{}/api/coops/{coop}/export", a.base))
        .bearer_auth(&a.token)
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes");
    let send = |body: Vec<u8>| {
        api_b
            .http
            .post(format!("{}/api/import", b.base))
            .bearer_auth(&b.token)
            .body(body)
            .send()
    };
    let r = send(file.to_vec()).await.expect("import");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["stored"], 2, "{v}");
    assert_eq!(v["rejected"], 0, "{v}");
    let (_, offers) = api_b.get(&format!("/api/coops/{coop}/offers")).await;
    assert_eq!(offers[0]["title"], "Fair");
    // Again: duplicates. Garbage: a 400 that says so.
    let v: Value = send(file.to_vec())
        .await
        .expect("import")
        .json()
        .await
        .expect("json");
    assert_eq!(v["duplicates"], 2, "{v}");
    let r = send(b"this is not a ledger".to_vec())
        .await
        .expect("import");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.expect("json");
    assert!(
        v["error"]
            .as_str()
            .expect("msg")
            .contains("not a taawun ledger"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ledger_export_and_import_go_through_a_running_daemon() {
    let (ta, tb) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let (a, b) = (Daemon::start(ta.path()), Daemon::start(tb.path()));
    let coop = Api::of(&a).coop().await;
    let file = ta.path().join("out.taawun");
    let f = file.to_str().expect("utf-8");
    // The daemon holds the ledger open; the command asks it.
    let o = common::taawun(&["ledger", "export", f], ta.path());
    assert!(o.status.success(), "{}", common::text(&o));
    let o = common::taawun(&["ledger", "verify", f], ta.path());
    assert!(o.status.success(), "{}", common::text(&o));
    let o = common::taawun(&["ledger", "import", f], tb.path());
    assert!(o.status.success(), "{}", common::text(&o));
    assert!(
        common::text(&o).contains("1 stored"),
        "{}",
        common::text(&o)
    );
    let (s, v) = Api::of(&b).get(&format!("/api/coops/{coop}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_payment_is_claimed_paid_not_confirmed_and_offers_keep_their_secret() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let api = Api::of(&d);
    let (_, status) = api.get("/api/status").await;
    let me = status["key"].as_str().expect("key").to_owned();
    // Another node's key: a member who is paid, on a node this test does not drive.
    let tmp2 = tempfile::tempdir().expect("tmp");
    let d2 = Daemon::start(tmp2.path());
    let (_, status2) = Api::of(&d2).get("/api/status").await;
    let other = status2["key"].as_str().expect("key").to_owned();
    let (s, v) = api
        .post(
            "/api/coops",
            json!({"name": "Paid cooperative", "floor": "12.50EUR/h", "members": [other], "requesters": [me]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    // An offer the node posts carries a lottery commitment whose secret it keeps.
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/offers"),
            json!({"title": "Fair", "purpose": "Testing", "pay": "3.13EUR", "minutes": 15}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A claim window under the charter's least is refused.
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/offers"),
            json!({"title": "Hasty", "purpose": "Testing", "pay": "3.13EUR", "minutes": 15, "claim_window_ms": 1000}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/payments"),
            json!({"member": other, "amount": "4.00EUR", "reference": "transfer 1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let pay = v["id"].as_str().expect("id").to_owned();
    // The reference is sealed to the member and the requester: the requester's node
    // reads it back.
    let (_, payments) = api.get(&format!("/api/coops/{coop}/payments")).await;
    assert_eq!(payments[0]["reference"], "transfer 1", "{payments}");
    assert_eq!(payments[0]["reference_flag"], Value::Null, "{payments}");
    // A reference the member could not read safely is refused before anything is sealed.
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/payments"),
            json!({"member": other, "amount": "1.00EUR", "reference": "transfer \u{202E}7"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (_, rec) = api.get(&format!("/api/coops/{coop}/requesters/{me}")).await;
    assert_eq!(rec["unconfirmed"][0]["text"], "4.00 EUR", "{rec}");
    assert_eq!(rec["not_received"], 0, "{rec}");
    let (_, bal) = api.get(&format!("/api/coops/{coop}/balances")).await;
    assert_eq!(bal[0]["unconfirmed"]["text"], "4.00 EUR", "{bal}");
    assert_eq!(bal[0]["confirmed"]["text"], "0.00 EUR", "{bal}");
    // Only the member paid answers it.
    let (s, v) = api
        .post(
            &format!("/api/coops/{coop}/payments/{pay}/confirm"),
            json!({"received": false}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // The secret is kept in the data folder, readable by its owner only.
    let dir = tmp.path().join("lottery");
    let files: Vec<_> = std::fs::read_dir(&dir).expect("lottery folder").collect();
    assert_eq!(files.len(), 1);
    let meta = files[0].as_ref().expect("entry").metadata().expect("meta");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
}
