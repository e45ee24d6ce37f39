//! A node started from a data folder writes nothing in a cooperative until one of its
//! peers has confirmed the member's latest entry (docs/protocol.md 13.11): a member who
//! restores an old backup of the folder, or copies it to a second phone, must not sign a
//! second entry at a seq it already used elsewhere, a fork that would freeze it. Real
//! `taawun run` daemons on loopback.

mod common;

use common::{taawun, text, Daemon, TEST_CONFIG};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a node may take to hold what a peer wrote.
const SPREAD: Duration = Duration::from_secs(30);

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

    /// Posts an offer; the status and the answer.
    async fn offer(&self, coop: &str, title: &str) -> (StatusCode, Value) {
        self.post(
            &format!("/api/coops/{coop}/offers"),
            json!({"title": title, "purpose": "restore test", "pay": "5.00EUR", "minutes": 10}),
        )
        .await
    }

    /// Posts an offer that must be written; its id.
    async fn offered(&self, coop: &str, title: &str) -> String {
        let (s, v) = self.offer(coop, title).await;
        assert_eq!(s, StatusCode::OK, "{title}: {v}");
        v["id"].as_str().expect("id").to_owned()
    }

    /// The cooperative's entry in `GET /api/status`.
    async fn status_of(&self, coop: &str) -> Value {
        let (s, v) = self.get("/api/status").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["coops"]
            .as_array()
            .expect("coops")
            .iter()
            .find(|c| c["id"] == coop)
            .cloned()
            .expect("the cooperative is held")
    }

    /// The cooperative's view (entries, frozen authors).
    async fn coop(&self, coop: &str) -> Value {
        let (s, v) = self.get(&format!("/api/coops/{coop}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// Waits until this node holds entry `id` of `coop`.
    async fn holds(&self, coop: &str, id: &str) {
        let deadline = Instant::now() + SPREAD;
        loop {
            if self.get(&format!("/api/coops/{coop}/offers/{id}")).await.0 == StatusCode::OK {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{id} never reached {}",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// B founds a cooperative with A as a member; A joins from B's invite and is configured
/// to dial B at every start. Returns (B, A, the cooperative, B's invite).
async fn two_members(root: &Path) -> (Daemon, Daemon, String, String) {
    let (bdir, adir) = (root.join("b"), root.join("a"));
    std::fs::create_dir_all(&bdir).expect("dir");
    std::fs::create_dir_all(&adir).expect("dir");
    let b = Daemon::start(&bdir);
    let a = Daemon::start(&adir);
    let (s, v) = Api::of(&b)
        .post(
            "/api/coops",
            json!({"name": "Restore", "floor": "12.50EUR/h", "members": [a.key]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    let (_, inv) = Api::of(&b).get(&format!("/api/coops/{coop}/invite")).await;
    let invite = inv["invite"].as_str().expect("invite").to_owned();
    let (s, v) = Api::of(&a)
        .post("/api/join", json!({"invite": invite}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let boot: Vec<&str> = inv["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let config = TEST_CONFIG.replace(
        "bootstrap = []",
        &format!(
            "bootstrap = {}",
            serde_json::to_string(&boot).expect("json")
        ),
    );
    std::fs::write(adir.join("config.toml"), config).expect("config");
    (b, a, coop, invite)
}

/// Copies a stopped node's data folder (a backup), without its bootstrap peers, so the
/// copy starts with no peer at all.
fn backup(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    let o = std::process::Command::new("cp")
        .args([
            "-a",
            &format!("{}/.", from.display()),
            &to.display().to_string(),
        ])
        .output()
        .expect("cp runs");
    assert!(o.status.success(), "{o:?}");
    std::fs::write(to.join("config.toml"), TEST_CONFIG).expect("config");
}

/// A page of the node's web interface, after logging in with `taawun ui --no-open`'s
/// one-time link, in `lang`.
async fn web_page(d: &Daemon, path: &str, lang: &str) -> String {
    let o = taawun(&["ui", "--no-open", "--by-address"], &d.dir);
    assert!(o.status.success(), "taawun ui: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let url = out
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains("/login?code="))
        .unwrap_or_else(|| panic!("no login link in: {out}"));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http.get(url).send().await.expect("login");
    let cookie = r.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned();
    let r = http
        .get(format!("{}{path}", d.base))
        .header(reqwest::header::COOKIE, cookie)
        .header(reqwest::header::ACCEPT_LANGUAGE, lang)
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.expect("text")
}

/// The (seq, id) of every entry `author` (hex) signed in `coop`, as `d` holds them, in
/// seq order (read from its export file).
async fn chain_of(d: &Daemon, coop: &str, author: &str) -> Vec<(u64, String)> {
    let bytes = reqwest::Client::new()
        .get(format!("{}/api/coops/{coop}/export", d.base))
        .bearer_auth(&d.token)
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes");
    let mut items = taawun_ledger::export::Items::new(&bytes[..]);
    items.header().expect("an export header");
    let mut out = Vec::new();
    while let Some(item) = items.next_item().expect("an item") {
        let u = taawun_core::Unverified::decode(&item.raw.expect("an envelope")).expect("an entry");
        if u.entry().author.to_hex() == author {
            out.push((u.entry().seq, u.id().to_hex()));
        }
    }
    out.sort();
    out
}

/// Asserts a write was refused because the node waits for its peers.
fn refused_waiting(s: StatusCode, v: &Value) {
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let msg = v["error"].as_str().expect("message");
    assert!(
        msg.contains("waiting to confirm this member's latest entry")
            && msg.contains("--write-before-sync"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_restored_from_a_backup_writes_after_its_peers_confirmed_and_never_forks() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (b, a, coop, invite) = two_members(tmp.path()).await;
    let (api_a, api_b) = (Api::of(&a), Api::of(&b));
    // A joined since it started: its first write waits for B to confirm, then goes.
    let first = api_a.offered(&coop, "before the backup 1").await;
    api_a.offered(&coop, "before the backup 2").await;
    assert!(!api_a.status_of(&coop).await["writing"]["waiting"]
        .as_bool()
        .expect("bool"));
    api_b.holds(&coop, &first).await;
    let adir = a.dir.clone();
    assert!(a.stop().success());
    let copy = tmp.path().join("a-backup");
    backup(&adir, &copy);

    // The original folder starts again and writes more, which reach B; then it is lost.
    let a = Daemon::run(&adir);
    let api_a = Api::of(&a);
    let mut after = Vec::new();
    for i in 0..2 {
        after.push(api_a.offered(&coop, &format!("after the backup {i}")).await);
    }
    for id in &after {
        api_b.holds(&coop, id).await;
    }
    assert!(a.stop().success());
    let entries_b = api_b.coop(&coop).await["entries"]
        .as_u64()
        .expect("entries");

    // The backup starts with no peer: it refuses every write and says why.
    let r = Daemon::run(&copy);
    let api_r = Api::of(&r);
    let held = api_r.coop(&coop).await["entries"]
        .as_u64()
        .expect("entries");
    for title in ["from the backup 1", "from the backup 2"] {
        let (s, v) = api_r.offer(&coop, title).await;
        refused_waiting(s, &v);
    }
    let w = &api_r.status_of(&coop).await["writing"];
    assert_eq!(w["waiting"], true, "{w}");
    assert_eq!(w["reason"], "waiting", "{w}");
    assert_eq!(w["peers"], 0, "{w}");
    assert_eq!(
        w["message"], "waiting for peers to confirm your latest entry (0 peers connected)",
        "{w}"
    );
    let o = taawun(&["status"], &copy);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("waiting for peers to confirm your latest entry (0 peers connected)"),
        "{out}"
    );
    assert_eq!(
        api_r.coop(&coop).await["entries"].as_u64(),
        Some(held),
        "a refused node signed nothing"
    );

    // Connected to B (through the invite), it fetches its own newer entries, then writes
    // after them.
    let (s, v) = api_r.post("/api/join", json!({"invite": invite})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let next = api_r.offered(&coop, "from the backup, after sync").await;
    for id in after.iter().chain([&first]) {
        let (s, v) = api_r.get(&format!("/api/coops/{coop}/offers/{id}")).await;
        assert_eq!(
            s,
            StatusCode::OK,
            "the restored node fetched its own {id}: {v}"
        );
    }
    let w = &api_r.status_of(&coop).await["writing"];
    assert_eq!(
        (w["waiting"].clone(), w["reason"].clone()),
        (json!(false), json!("confirmed")),
        "{w}"
    );
    api_b.holds(&coop, &next).await;
    // Nobody frozen anywhere: the new entry followed the member's chain (a second entry
    // at a seq would freeze it, as the override's test shows).
    let (vb, vr) = (api_b.coop(&coop).await, api_r.coop(&coop).await);
    assert!(vb["entries"].as_u64() > Some(entries_b), "{vb}");
    assert_eq!(vb["frozen"], json!([]), "{vb}");
    assert_eq!(vr["frozen"], json!([]), "{vr}");
    // On both nodes the member's chain is 1, 2, ... with one entry each, the new one last.
    for d in [&b, &r] {
        let chain = chain_of(d, &coop, &r.key).await;
        let seqs: Vec<u64> = chain.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            seqs,
            (1..=chain.len() as u64).collect::<Vec<_>>(),
            "{chain:?}"
        );
        assert_eq!(chain.last().map(|(_, id)| id), Some(&next), "{chain:?}");
    }
    drop(r);
    drop(b);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_override_writes_at_once_and_a_stale_backup_then_forks_its_member() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (b, a, coop, _) = two_members(tmp.path()).await;
    let api_b = Api::of(&b);
    Api::of(&a).offered(&coop, "before the backup").await;
    let adir = a.dir.clone();
    assert!(a.stop().success());
    let copy = tmp.path().join("a-backup");
    backup(&adir, &copy);
    let a = Daemon::run(&adir);
    let later = Api::of(&a).offered(&coop, "after the backup").await;
    api_b.holds(&coop, &later).await;
    assert!(a.stop().success());

    // The flag: the stale copy writes at once, with no peer to confirm anything.
    let r = Daemon::run_args(&copy, &["--write-before-sync"]);
    let api_r = Api::of(&r);
    api_r.offered(&coop, "written at once").await;
    let w = &api_r.status_of(&coop).await["writing"];
    assert_eq!(
        (w["waiting"].clone(), w["reason"].clone()),
        (json!(false), json!("override")),
        "{w}"
    );
    assert!(
        r.log().contains("writing without waiting for peers"),
        "{}",
        r.log()
    );
    // What the wait protects from: that entry took a seq the member already used. Handed
    // to B (an export imported; sync compares seqs, so it would not carry an entry at a
    // seq B holds), it is a fork, and B freezes the member.
    let file = api_r
        .http
        .get(format!("{}/api/coops/{coop}/export", r.base))
        .bearer_auth(&r.token)
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes");
    let v: Value = api_b
        .http
        .post(format!("{}/api/import", b.base))
        .bearer_auth(&b.token)
        .header("content-type", "application/octet-stream")
        .body(file.to_vec())
        .send()
        .await
        .expect("import")
        .json()
        .await
        .expect("json");
    assert_eq!(v["forks"], 1, "{v}");
    assert_eq!(api_b.coop(&coop).await["frozen"], json!([r.key]));
    assert!(r.stop().success());

    // The configuration option does the same.
    std::fs::write(
        copy.join("config.toml"),
        TEST_CONFIG.replace("mdns = false", "mdns = false\nwrite_before_sync = true"),
    )
    .expect("config");
    drop(b);
    let r = Daemon::run(&copy);
    Api::of(&r).offered(&coop, "written at once again").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_without_peers_keeps_refusing_and_says_why() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (b, a, coop, _) = two_members(tmp.path()).await;
    let api = Api::of(&a);
    api.offered(&coop, "written while connected").await;
    let adir = a.dir.clone();
    assert!(a.stop().success());
    // B is gone for good: nobody can confirm.
    drop(b);
    let a = Daemon::run(&adir);
    let api = Api::of(&a);
    let held = api.coop(&coop).await["entries"].as_u64();
    // Every kind of write, through the API and the command line, again and again.
    for i in 0..2 {
        let (s, v) = api.offer(&coop, &format!("refused {i}")).await;
        refused_waiting(s, &v);
        let (s, v) = api
            .post(
                &format!("/api/coops/{coop}/proposals"),
                json!({"action": "set-quorum", "quorum_pct": 60, "reason": "r"}),
            )
            .await;
        refused_waiting(s, &v);
    }
    let o = taawun(
        &[
            "offer",
            "post",
            "--title",
            "t",
            "--purpose",
            "p",
            "--pay",
            "5.00EUR",
            "--minutes",
            "10",
        ],
        &adir,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("waiting to confirm this member's latest entry")
            && text(&o).contains("HTTP 409"),
        "{}",
        text(&o)
    );
    assert_eq!(
        api.coop(&coop).await["entries"].as_u64(),
        held,
        "nothing signed"
    );
    let w = &api.status_of(&coop).await["writing"];
    assert_eq!(w["waiting"], true, "{w}");
    // The web page says it on every page of the cooperative, in the reader's language.
    let page = web_page(&a, &format!("/c/{coop}/offers"), "en").await;
    assert!(
        page.contains("id=\"waiting\"")
            && page.contains("Waiting for the cooperative’s other nodes to confirm your latest entry before writing (0 peers connected)."),
        "{page}"
    );
    let page = web_page(&a, &format!("/c/{coop}/work"), "fr").await;
    assert!(
        page.contains(
            "En attente que les autres nœuds de la coopérative confirment votre dernière entrée"
        ),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cooperative_with_no_other_member_writes_at_once_after_a_restart() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = Daemon::start(tmp.path());
    let (s, v) = Api::of(&d)
        .post(
            "/api/coops",
            json!({"name": "Alone", "floor": "12.50EUR/h"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    let w = &Api::of(&d).status_of(&coop).await["writing"];
    assert_eq!(w["reason"], "founded", "{w}");
    assert!(d.stop().success());
    // Nobody else holds a role, so nobody could confirm: it writes at once.
    let d = Daemon::run(tmp.path());
    let api = Api::of(&d);
    api.offered(&coop, "written alone").await;
    let w = &api.status_of(&coop).await["writing"];
    assert_eq!(
        (w["waiting"].clone(), w["reason"].clone()),
        (json!(false), json!("only-member")),
        "{w}"
    );
}
