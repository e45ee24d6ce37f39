//! Devices from the command line, as a member uses them: a device's data folder made
//! with `taawun init --device-of`, authorised with `taawun device add`, listed, revoked;
//! and a vote to replace a member's lost key proposed with
//! `taawun coop propose replace-key`. A device's own daemon enrolls by itself through the
//! network; what it writes counts as its member's, and its listings show the member's
//! claims and earnings, until it is revoked; then its node signs nothing more there.
//! Real daemons, real processes.

mod common;

use common::{taawun, text, Daemon, TEST_CONFIG};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long one step may take to reach the node that waits for it (gossip, sync, the
/// device's enrollment on its policy tick).
const STEP_TIMEOUT: Duration = Duration::from_secs(90);

/// How often a waiting step asks again.
const POLL: Duration = Duration::from_millis(200);

/// Runs `taawun ARGS` against `d`; it must succeed. Its standard output.
fn ok(d: &Daemon, args: &[&str]) -> String {
    let o = taawun(args, &d.dir);
    assert!(o.status.success(), "taawun {args:?} failed: {}", text(&o));
    String::from_utf8(o.stdout).expect("utf-8 output")
}

/// Runs `taawun ARGS --json` against `d`; it must succeed.
fn json(d: &Daemon, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    serde_json::from_str(&ok(d, &a)).expect("JSON output")
}

/// Asks `check` again until it gives a value, or fails the test after [`STEP_TIMEOUT`].
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

/// The entry of `list` (a JSON array) whose `field` is `value`.
fn find<'a>(list: &'a Value, field: &str, value: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|x| x[field] == value)
}

/// `GET path` on `d`'s API, with its token: the JSON answer.
fn api(d: &Daemon, path: &str) -> Value {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", d.base))
            .bearer_auth(&d.token)
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.expect("json")
    })
}

/// The (seq, id) of every entry `author` (hex) signed in `coop`, as `d` holds them, in
/// seq order (read from its export).
fn chain_of(d: &Daemon, coop: &str, author: &str) -> Vec<(u64, String)> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let bytes = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/api/coops/{coop}/export", d.base))
            .bearer_auth(&d.token)
            .send()
            .await
            .expect("export")
            .bytes()
            .await
            .expect("bytes")
    });
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

/// Whether the member's reviews of `requester`, as `d` counts them, include `text`.
fn reviewed(d: &Daemon, requester: &str, member: &str, text: &str) -> bool {
    let r = json(d, &["requester", "show", requester]);
    r["comments"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["member"] == member && c["text"] == text)
    })
}

#[test]
fn a_device_daemon_enrolls_by_itself_shows_its_member_s_work_and_stops_signing_once_revoked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let amal = Daemon::start(&tmp.path().join("amal"));
    let lumen = Daemon::start(&tmp.path().join("lumen"));
    let view = json(
        &amal,
        &[
            "coop",
            "create",
            "--name",
            "Camp 4 transcribers",
            "--floor",
            "2.00EUR/h",
            "--requester",
            &lumen.key,
            "--named",
            &format!("{}=Lumen Lab", lumen.key),
        ],
    );
    let coop = view["id"].as_str().expect("id").to_owned();
    let invite = ok(&amal, &["coop", "invite"]).trim().to_owned();
    ok(&lumen, &["coop", "join", &invite]);

    // Amal's phone: its own data folder and key, made as a device of hers, joined with
    // the cooperative's invite like any node.
    let phone_dir = tmp.path().join("phone");
    let o = taawun(&["init", "--device-of", &amal.key], &phone_dir);
    assert!(o.status.success(), "{}", text(&o));
    let device = text(&o)
        .lines()
        .find_map(|l| l.strip_prefix("device key: "))
        .expect("the device key is printed")
        .to_owned();
    std::fs::write(phone_dir.join("config.toml"), TEST_CONFIG).expect("config");
    let phone = Daemon::run(&phone_dir);
    assert_eq!(phone.key, device);
    ok(&phone, &["coop", "join", &invite]);

    // Before it enrolled, the phone writes nothing, and says what it waits for.
    let o = taawun(
        &[
            "review",
            &lumen.key,
            "--pay",
            "5",
            "--fairness",
            "5",
            "--promptness",
            "4",
            "--communication",
            "5",
        ],
        &phone.dir,
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("has not enrolled yet"), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("taawun device add {device}")),
        "{}",
        text(&o)
    );

    // Amal authorises it from her laptop; the phone's daemon enrolls on its own.
    ok(&amal, &["device", "add", &device, "--label", "phone"]);
    wait_for("the phone to enroll, as Amal's node sees it", || {
        let list = json(&amal, &["device", "list"]);
        (find(&list, "key", &device)?["enrolled"] == true).then_some(())
    });
    let list = json(&amal, &["device", "list"]);
    assert!(
        find(&list, "key", &device).expect("listed")["enrolled_at"].is_u64(),
        "{list}"
    );
    // On the phone, "me" in this cooperative is Amal.
    let st = json(&phone, &["status"]);
    assert_eq!(st["key"], device.as_str(), "{st}");
    assert_eq!(st["coops"][0]["identity"], amal.key.as_str(), "{st}");
    assert_eq!(st["coops"][0]["role"], "member", "{st}");

    // Lumen Lab posts two offers; the phone claims one, the laptop the other.
    let post = |title: &str| {
        let w = json(
            &lumen,
            &[
                "offer",
                "post",
                "--title",
                title,
                "--purpose",
                "Archive",
                "--pay",
                "4.00EUR",
                "--minutes",
                "15",
            ],
        );
        w["id"].as_str().expect("id").to_owned()
    };
    let by_phone = post("Transcribe an interview");
    let by_laptop = post("Tag photos");
    for d in [&amal, &phone] {
        wait_for("the offers to reach the member's nodes", || {
            let v = json(d, &["offers"]);
            find(&v, "id", &by_phone)
                .and(find(&v, "id", &by_laptop))
                .map(|_| ())
        });
    }
    ok(&phone, &["claim", &by_phone[..10]]);
    ok(&amal, &["claim", &by_laptop[..10]]);
    // Both claims are Amal's, on her laptop and on her phone: each node lists both as
    // hers, and the requester counts one claim on each offer.
    for d in [&amal, &phone] {
        wait_for("both claims to show as Amal's", || {
            let v = json(d, &["offers"]);
            [&by_phone, &by_laptop]
                .iter()
                .all(|o| find(&v, "id", o).is_some_and(|o| o["claimed_by_me"] == true))
                .then_some(())
        });
    }
    wait_for("the claims to reach Lumen Lab", || {
        let v = json(&lumen, &["offers"]);
        [&by_phone, &by_laptop]
            .iter()
            .all(|o| find(&v, "id", o).is_some_and(|o| o["claims"] == 1))
            .then_some(())
    });

    // A payment to Amal: the phone's balance is hers.
    ok(&lumen, &["pay", &amal.key, "3.00EUR", "--reference", "T-1"]);
    let rows = wait_for("the payment to reach the phone", || {
        let rows = json(&phone, &["balance"]);
        (!rows.as_array()?.is_empty()).then_some(rows)
    });
    assert_eq!(rows[0]["member"], amal.key.as_str(), "{rows}");
    assert_eq!(rows[0]["paid"]["minor"], 300, "{rows}");
    let table = ok(&phone, &["balance"]);
    assert!(table.contains("(you)"), "{table}");
    // The API's filters too: on the phone, `member=me` is Amal.
    let payments = api(&phone, &format!("/api/coops/{coop}/payments?member=me"));
    assert_eq!(payments.as_array().map(Vec::len), Some(1), "{payments}");
    assert_eq!(payments[0]["member"], amal.key.as_str(), "{payments}");

    // The phone reviews Lumen Lab: on Amal's laptop, the review is Amal's.
    let said = "Paid on time, from my phone.";
    let review = |text: &str| {
        taawun(
            &[
                "review",
                &lumen.key,
                "--pay",
                "5",
                "--fairness",
                "5",
                "--promptness",
                "4",
                "--communication",
                "5",
                "--text",
                text,
            ],
            &phone.dir,
        )
    };
    let o = review(said);
    assert!(o.status.success(), "{}", text(&o));
    wait_for(
        "the phone's review to count as Amal's on her laptop",
        || reviewed(&amal, &lumen.key, &amal.key, said).then_some(()),
    );

    // A third offer reaches the phone before it is lost.
    let later = post("Label a map");
    wait_for("the third offer to reach the phone", || {
        find(&json(&phone, &["offers"]), "id", &later).map(|_| ())
    });

    // The phone is lost: Amal revokes it from her laptop. Once the revocation reaches
    // the phone, its node signs nothing more there: a review or a claim is refused,
    // saying who revoked it and when.
    ok(&amal, &["device", "revoke", &device[..12]]);
    wait_for("the revocation to reach the phone", || {
        let list = json(&phone, &["device", "list"]);
        find(&list, "key", &device)?["revoked_at"].as_u64()
    });
    let phone_chain = chain_of(&phone, &coop, &device);
    let late = "Signed after the phone was lost.";
    for o in [review(late), taawun(&["claim", &later[..10]], &phone.dir)] {
        assert!(!o.status.success(), "{}", text(&o));
        let msg = text(&o);
        assert!(
            msg.contains(&format!(
                "this device ({}) was revoked by its member {}",
                &device[..8],
                &amal.key[..8]
            )) && msg.contains("HTTP 422"),
            "{msg}"
        );
    }
    // Nothing was signed: the phone's chain is as it was when the revocation reached
    // it, and Amal's record of Lumen Lab holds one review.
    assert_eq!(chain_of(&phone, &coop, &device), phone_chain);
    assert!(!reviewed(&amal, &lumen.key, &amal.key, late));
    let r = json(&amal, &["requester", "show", &lumen.key]);
    assert_eq!(r["reviews"], 1, "{r}");
    assert!(reviewed(&amal, &lumen.key, &amal.key, said));
    phone.stop();
    lumen.stop();
    amal.stop();
}

#[test]
fn a_member_authorises_lists_and_revokes_a_device_and_proposes_a_replacement_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(&tmp.path().join("member"));
    let o = taawun(
        &[
            "coop",
            "create",
            "--name",
            "Camp 4 transcribers",
            "--floor",
            "2.00EUR/h",
        ],
        &d.dir,
    );
    assert!(o.status.success(), "{}", text(&o));

    // The phone's data folder: a device key that knows its member.
    let phone = tmp.path().join("phone");
    let o = taawun(&["init", "--device-of", &d.key], &phone);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("taawun device add"), "{out}");
    let device = out
        .lines()
        .find_map(|l| l.strip_prefix("device key: "))
        .expect("the device key is printed")
        .to_owned();
    assert_eq!(
        std::fs::read_to_string(phone.join("device-of"))
            .expect("device-of")
            .trim(),
        d.key
    );

    let o = taawun(&["device", "add", &device, "--label", "phone"], &d.dir);
    assert!(o.status.success(), "{}", text(&o));
    // A key that is not a full key is refused before anything is written.
    let o = taawun(&["device", "add", &device[..8]], &d.dir);
    assert!(!o.status.success());
    assert!(text(&o).contains("not a full public key"), "{}", text(&o));

    let o = taawun(&["device", "list"], &d.dir);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&device) && out.contains("not enrolled yet"),
        "{out}"
    );

    let o = taawun(&["device", "revoke", &device[..12]], &d.dir);
    assert!(o.status.success(), "{}", text(&o));
    let o = taawun(&["device", "list", "--json"], &d.dir);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(list[0]["revoked_at"].is_u64(), "{list}");

    // The member's key is lost: another key is proposed in its place.
    let new = "7".repeat(64);
    let new_key = {
        let k = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        hex::encode(k.verifying_key().to_bytes())
    };
    let o = taawun(
        &[
            "coop",
            "propose",
            "replace-key",
            &d.key[..12],
            &new_key,
            "--reason",
            "laptop stolen",
        ],
        &d.dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("proposed replace-key"), "{}", text(&o));
    let o = taawun(
        &[
            "coop",
            "propose",
            "replace-key",
            &d.key,
            &new[..10],
            "--reason",
            "x",
        ],
        &d.dir,
    );
    assert!(!o.status.success());
    d.stop();
}
