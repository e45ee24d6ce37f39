//! Crash safety: a real `taawun run` daemon killed with SIGKILL at seeded random points
//! while it writes through its API and receives gossip, restarted each time. Every write
//! the API acknowledged survives, the ledger verifies, and the node catches up with its
//! peer.

mod common;

use common::{taawun, text, Daemon};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Kill-and-restart cycles.
const CYCLES: usize = 20;
/// Seed of the kill points.
const SEED: u64 = 0x7461_6177_756e;
/// How long the node may take to catch up with its peer after the last restart.
const CATCH_UP: Duration = Duration::from_secs(60);

/// xorshift64*: a tiny deterministic generator for the kill points.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

async fn call(
    http: &reqwest::Client,
    d: (&str, &str),
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value), reqwest::Error> {
    let url = format!("{}{path}", d.0);
    let mut req = match method {
        "POST" => http.post(url),
        _ => http.get(url),
    }
    .bearer_auth(d.1);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await?;
    let s = r.status();
    Ok((s, r.json().await.unwrap_or(Value::Null)))
}

fn offer(title: String) -> Value {
    json!({"title": title, "purpose": "crash test", "pay": "5.00EUR", "minutes": 10})
}

async fn entries(http: &reqwest::Client, d: &Daemon, coop: &str) -> u64 {
    let (_, v) = call(
        http,
        (&d.base, &d.token),
        "GET",
        &format!("/api/coops/{coop}"),
        None,
    )
    .await
    .expect("coop view");
    v["entries"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_sigkill_and_the_node_catches_up() {
    let http = reqwest::Client::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let (adir, bdir) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&adir).expect("dir");
    std::fs::create_dir_all(&bdir).expect("dir");
    let b = Daemon::start(&bdir);
    let mut a = Daemon::start(&adir);
    let bk = (b.base.as_str(), b.token.as_str());

    // B founds the cooperative with A as a member; A joins from B's invite and bootstraps
    // from B on every restart.
    let (s, v) = call(
        &http,
        bk,
        "POST",
        "/api/coops",
        Some(json!({"name": "Crash", "floor": "12.50EUR/h", "members": [a.key]})),
    )
    .await
    .expect("create");
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let coop = v["id"].as_str().expect("id").to_owned();
    let (_, inv) = call(&http, bk, "GET", &format!("/api/coops/{coop}/invite"), None)
        .await
        .expect("invite");
    let (s, v) = call(
        &http,
        (&a.base, &a.token),
        "POST",
        "/api/join",
        Some(json!({"invite": inv["invite"]})),
    )
    .await
    .expect("join");
    assert_eq!(s, StatusCode::OK, "{v}");
    let boot: Vec<String> = inv["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect();
    let config = common::TEST_CONFIG.replace(
        "bootstrap = []",
        &format!(
            "bootstrap = {}",
            serde_json::to_string(&boot).expect("json")
        ),
    );
    std::fs::write(adir.join("config.toml"), config).expect("config");

    let mut rng = Rng(SEED);
    let mut acked: Vec<String> = Vec::new();
    let mut n = 0u64;
    for cycle in 0..CYCLES {
        // Writes through A's API, and through gossip from B, until the seeded kill point.
        let kill_after = 1 + rng.below(8) as usize;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(64);
        let mut writers = Vec::new();
        for w in 0..3 {
            let (http, base, token, coop, tx) = (
                http.clone(),
                a.base.clone(),
                a.token.clone(),
                coop.clone(),
                tx.clone(),
            );
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let r = call(
                        &http,
                        (&base, &token),
                        "POST",
                        &format!("/api/coops/{coop}/offers"),
                        Some(offer(format!("a-{cycle}-{w}-{i}"))),
                    )
                    .await;
                    match r {
                        Ok((StatusCode::OK, v)) => {
                            if tx
                                .send(v["id"].as_str().unwrap_or("").to_owned())
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        // The daemon died mid-request: not acknowledged.
                        _ => return,
                    }
                }
            }));
        }
        drop(tx);
        for _ in 0..rng.below(4) {
            n += 1;
            let (s, v) = call(
                &http,
                bk,
                "POST",
                &format!("/api/coops/{coop}/offers"),
                Some(offer(format!("b-{n}"))),
            )
            .await
            .expect("B writes");
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let mut got = 0;
        while got < kill_after {
            match rx.recv().await {
                Some(id) => {
                    acked.push(id);
                    got += 1;
                }
                None => break,
            }
        }
        a.child.kill().expect("SIGKILL");
        a.child.wait().expect("reaped");
        // Acknowledgements that raced the kill count too.
        while let Some(id) = rx.recv().await {
            acked.push(id);
        }
        for w in writers {
            let _ = w.await;
        }
        drop(a);
        a = Daemon::run(&adir);
        // Every acknowledged write is there after the restart.
        for id in &acked {
            let (s, v) = call(
                &http,
                (&a.base, &a.token),
                "GET",
                &format!("/api/coops/{coop}/offers/{id}"),
                None,
            )
            .await
            .expect("read back");
            assert_eq!(
                s,
                StatusCode::OK,
                "cycle {cycle}: acknowledged {id} lost: {v}"
            );
        }
    }
    assert!(acked.len() >= CYCLES, "{} writes acknowledged", acked.len());

    // The node catches up with its peer: both hold the same entries.
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let (ea, eb) = (
            entries(&http, &a, &coop).await,
            entries(&http, &b, &coop).await,
        );
        if ea == eb {
            let ex = |d: &Daemon| {
                let (http, base, token, coop) =
                    (http.clone(), d.base.clone(), d.token.clone(), coop.clone());
                async move {
                    http.get(format!("{base}/api/coops/{coop}/export"))
                        .bearer_auth(token)
                        .send()
                        .await
                        .expect("export")
                        .bytes()
                        .await
                        .expect("bytes")
                }
            };
            let (xa, xb) = (ex(&a).await, ex(&b).await);
            if xa.len() == xb.len() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "A holds {ea} entries, B {eb}: no catch-up\n{}",
            a.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Stopped, A's data folder opens offline and its ledger verifies.
    assert!(a.stop().success());
    let file = tmp.path().join("a.taawun");
    let o = taawun(&["ledger", "export", file.to_str().expect("utf-8")], &adir);
    assert!(o.status.success(), "{}", text(&o));
    let o = taawun(&["ledger", "verify", file.to_str().expect("utf-8")], &adir);
    assert!(o.status.success(), "{}", text(&o));
}
