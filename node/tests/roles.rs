//! Every role through the command line, against real daemons on loopback: a cooperative is
//! founded, a requester admitted by vote, an offer under the floor refused, another
//! withdrawn, one task lives from offer to confirmed payment and another ends rejected with
//! a reason; each step is a `taawun` command as a person types it.

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

/// The claim window of the test's offer: long enough for the member's node to hear of the
/// offer and claim it on a loaded machine, short enough to keep the test quick.
const CLAIM_WINDOW: &str = "60s";

/// Runs `taawun ARGS` against the daemon of `d`, in `cwd`.
fn cli_in(d: &Daemon, cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taawun"))
        .args(args)
        .env("TAAWUN_DATA_DIR", &d.dir)
        .env_remove("RUST_LOG")
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

/// Runs `taawun ARGS` against `d` and returns its standard output; the command must succeed.
fn ok(d: &Daemon, args: &[&str]) -> String {
    let o = cli_in(d, &d.dir, args);
    assert!(o.status.success(), "taawun {args:?} failed: {}", text(&o));
    String::from_utf8(o.stdout).expect("utf-8 output")
}

/// Runs `taawun ARGS --json` against `d`; the command must succeed.
fn json(d: &Daemon, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    serde_json::from_str(&ok(d, &a)).expect("JSON output")
}

/// Runs `taawun ARGS` against `d`; the command must fail. Returns what it printed.
fn fails(d: &Daemon, args: &[&str]) -> String {
    let o = cli_in(d, &d.dir, args);
    assert!(
        !o.status.success(),
        "taawun {args:?} should fail: {}",
        text(&o)
    );
    text(&o)
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

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field} in {v}"))
}

/// The entry of `list` (a JSON array) whose `field` is `value`.
fn find<'a>(list: &'a Value, field: &str, value: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|x| x[field] == value)
}

#[test]
fn a_task_lives_from_offer_to_confirmed_payment_through_the_command_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let amal = Daemon::start(&tmp.path().join("amal"));
    let karim = Daemon::start(&tmp.path().join("karim"));
    let lumen = Daemon::start(&tmp.path().join("lumen"));
    // A second requester, admitted by vote; its key is all it needs here.
    let atlas_dir = tmp.path().join("atlas");
    let o = taawun(&["init"], &atlas_dir);
    assert!(o.status.success(), "{}", text(&o));
    let atlas = text(&taawun(&["id"], &atlas_dir)).trim().to_owned();

    // Before any cooperative, commands that need one say how to get one.
    let msg = fails(&karim, &["offers"]);
    assert!(msg.contains("no cooperative yet"), "{msg}");

    // 1. Amal founds the cooperative with Karim; Lumen Lab is a requester from the start.
    //    Every amendment needs both members.
    let view = json(
        &amal,
        &[
            "coop",
            "create",
            "--name",
            "Rif Transcribers",
            "--floor",
            "12.50EUR/h",
            "--quorum",
            "100",
            "--member",
            &karim.key,
            "--requester",
            &lumen.key,
            "--named",
            &format!("{}=Lumen Lab", lumen.key),
            "--named",
            "me=Amal Haddad",
            "--limit",
            "max_review_window_ms=3d",
            "--limit",
            "min_claim_window_ms=60s",
        ],
    );
    let coop = str_of(&view, "id").to_owned();
    assert_eq!(view["limits"]["max_review_window_ms"], 259_200_000);
    let invite = ok(&amal, &["coop", "invite"]).trim().to_owned();
    for d in [&karim, &lumen] {
        let joined = ok(d, &["coop", "join", &invite]);
        assert!(joined.contains("Rif Transcribers"), "{joined}");
    }
    let show = ok(&karim, &["coop", "show"]);
    assert!(show.contains("floor        12.50 EUR/h"), "{show}");
    // Founders show by the names the charter vouches for; a founder left unnamed, by its
    // short key.
    assert!(
        show.contains(&format!("{}  Lumen Lab", lumen.key)),
        "{show}"
    );
    assert!(
        show.contains(&format!("{}  Amal Haddad", amal.key)),
        "{show}"
    );
    assert!(
        show.contains(&format!("{} (you)  {}", karim.key, &karim.key[..8])),
        "{show}"
    );
    assert!(show.contains(&format!("{} (you)", karim.key)), "{show}");
    assert!(show.contains("max_review_window_ms = 3d"), "{show}");
    let status = ok(&karim, &["status"]);
    assert!(
        status.contains(&coop[..8]) && status.contains("member"),
        "{status}"
    );

    // 2. Admitting another requester takes a vote of both members.
    let p = json(
        &amal,
        &[
            "coop",
            "propose",
            "admit-requester",
            &atlas,
            "--name",
            "Atlas Lab",
            "--reason",
            "a lab that pays on time",
        ],
    );
    let proposal = str_of(&p, "id").to_owned();
    wait_for("the proposal to reach Karim", || {
        let v = json(&karim, &["coop", "show"]);
        find(&v["proposals"], "id", &proposal).map(|_| ())
    });
    let show = ok(&karim, &["coop", "show"]);
    assert!(
        show.contains(&format!("{}    0   0       2  no", &proposal[..8])),
        "{show}"
    );
    let voted = ok(&karim, &["coop", "vote", &proposal[..8]]);
    assert!(
        voted.contains("1 yes, 0 no (2 vote(s) needed); does not pass yet"),
        "{voted}"
    );
    wait_for("Karim's vote to reach Amal", || {
        let v = json(&amal, &["coop", "show"]);
        let p = find(&v["proposals"], "id", &proposal)?;
        (p["yes"].as_array()?.len() == 1).then_some(())
    });
    let voted = ok(&amal, &["coop", "vote", &proposal[..10]]);
    assert!(
        voted.contains("2 yes, 0 no (2 vote(s) needed); enacted"),
        "{voted}"
    );

    // 3. An offer under the floor is refused, with the floor and the offered rate.
    let msg = fails(
        &lumen,
        &[
            "offer",
            "post",
            "--title",
            "Transcribe 20 voice notes",
            "--purpose",
            "Subtitles",
            "--pay",
            "2.00EUR",
            "--minutes",
            "15",
        ],
    );
    assert!(
        msg.contains("12.50 EUR") && msg.contains("8.00 EUR") && msg.contains("422"),
        "{msg}"
    );
    assert!(json(&lumen, &["offers", "--all"])
        .as_array()
        .expect("list")
        .is_empty());

    // An offer posted by mistake is withdrawn.
    let w = json(
        &lumen,
        &[
            "offer",
            "post",
            "--title",
            "Draft",
            "--purpose",
            "Nothing yet",
            "--pay",
            "5EUR",
            "--minutes",
            "20",
            "--expires",
            "2d",
            "--review-window",
            "1d",
        ],
    );
    let draft = str_of(&w, "id").to_owned();
    let out = ok(&lumen, &["offer", "withdraw", &draft[..9]]);
    assert!(out.contains(&format!("withdrew offer {draft}")), "{out}");
    let v = json(&lumen, &["offers", "--all"]);
    assert_eq!(
        find(&v, "id", &draft).expect("the draft")["state"],
        "withdrawn"
    );
    assert!(find(&json(&lumen, &["offers"]), "id", &draft).is_none());

    // 4. A fair offer: Karim sees its rate against the floor and claims it.
    let w = json(
        &lumen,
        &[
            "offer",
            "post",
            "--title",
            "Transcribe an interview",
            "--description",
            "15 minutes of Tarifit",
            "--purpose",
            "Oral history archive",
            "--pay",
            "4.00EUR",
            "--minutes",
            "15",
            "--claim-window",
            CLAIM_WINDOW,
        ],
    );
    let offer = str_of(&w, "id").to_owned();
    // A second one, whose result will be rejected.
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
            CLAIM_WINDOW,
        ],
    );
    let offer2 = str_of(&w, "id").to_owned();
    wait_for("the offers to reach Karim", || {
        let v = json(&karim, &["offers"]);
        find(&v, "id", &offer)
            .and(find(&v, "id", &offer2))
            .map(|_| ())
    });
    let offers = ok(&karim, &["offers"]);
    assert!(
        offers.contains("4.00 EUR   15  16.00 EUR  128% of 12.50 EUR  open"),
        "{offers}"
    );
    // Pages: the newest first, and how to see the rest.
    let page = ok(&karim, &["offers", "--limit", "1"]);
    assert!(page.contains("Tag photos"), "{page}");
    assert!(!page.contains("Transcribe"), "{page}");
    assert!(page.contains("1 more; see them with --offset 1"), "{page}");
    let next = ok(&karim, &["offers", "--limit", "1", "--offset", "1"]);
    assert!(next.contains("Transcribe"), "{next}");
    assert!(!next.contains("more;"), "{next}");
    let own = json(&lumen, &["offers", "--all", "--requester", "me"]);
    assert_eq!(own.as_array().expect("list").len(), 3, "{own}");
    assert!(
        offers.contains("Transcribe an interview: Oral history archive"),
        "{offers}"
    );
    assert!(offers.contains("18.00 EUR  144% of 12.50 EUR"), "{offers}");
    for o in [&offer, &offer2] {
        let claimed = ok(&karim, &["claim", &o[..8]]);
        assert!(claimed.contains(&format!("claimed offer {o}")), "{claimed}");
    }

    // 5. Once the claim windows close, Lumen Lab assigns the first to Karim by hand and the
    //    second by lottery (its node's own lottery may have drawn first: then the offer is
    //    already Karim's, the only claimant).
    wait_for("Karim's claims to reach Lumen Lab", || {
        let v = json(&lumen, &["offers", "--all"]);
        (find(&v, "id", &offer)?["claims"] == 1 && find(&v, "id", &offer2)?["claims"] == 1)
            .then_some(())
    });
    for (o, by_hand) in [(&offer, true), (&offer2, false)] {
        wait_for("the offer to be assigned", || {
            let mut args = vec!["assign", &o[..8]];
            if by_hand {
                args.extend(["--winner", &karim.key[..8]]);
            }
            let out = cli_in(&lumen, &lumen.dir, &args);
            if out.status.success() {
                assert!(text(&out).contains(&karim.key), "{}", text(&out));
                return Some(());
            }
            assert!(!text(&out).contains("not running"), "{}", text(&out));
            let v = json(&lumen, &["offers", "--all"]);
            (find(&v, "id", o)?["state"] == "assigned").then_some(())
        });
    }
    wait_for("Karim to see both offers are his", || {
        let v = json(&karim, &["offers", "--all"]);
        (find(&v, "id", &offer)?["assigned_to_me"] == true
            && find(&v, "id", &offer2)?["assigned_to_me"] == true)
            .then_some(())
    });
    // Each draw gave Karim one place, his claim counted, and no assignment left a claim
    // out: his work is due within the cooperative's submit window (2 days by default).
    let mine = json(&karim, &["offers", "--all"]);
    for o in [&offer, &offer2] {
        let v = find(&mine, "id", o).expect("the offer");
        assert_eq!(v["my_claim_counts"], true, "{v}");
        assert_eq!(v["void_assignments"], 0, "{v}");
        assert_eq!(v["record"]["void_assignments"], 0, "{v}");
        let places = v["places"].as_array().expect("places");
        assert_eq!(places.len(), 1, "{v}");
        assert_eq!(places[0]["member"], karim.key.as_str(), "{v}");
        assert_eq!(places[0]["state"], "open", "{v}");
        assert_eq!(places[0]["submission"], Value::Null, "{v}");
        let (from, until) = (places[0]["from"].as_u64(), places[0]["until"].as_u64());
        assert_eq!(until, from.map(|f| f + 2 * 86_400_000), "{v}");
        assert_eq!(v["submit_by"].as_u64(), until, "{v}");
    }
    // The requester did not claim, and holds no place.
    let theirs = json(&lumen, &["offer", "show", &offer[..8]]);
    assert_eq!(theirs["my_claim_counts"], Value::Null, "{theirs}");
    assert_eq!(theirs["submit_by"], Value::Null, "{theirs}");
    let listed = ok(&karim, &["offers", "--mine"]);
    assert!(
        listed.contains(&format!("{}: submit by ", &offer[..8])) && listed.contains("(in 1d23h"),
        "{listed}"
    );
    let shown = ok(&karim, &["offer", "show", &offer[..8]]);
    let line = |label: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line: {shown}"))
            .to_owned()
    };
    assert!(line("your claim ").ends_with(" counts"), "{shown}");
    assert!(line("your work ").contains(" submit by "), "{shown}");
    assert!(
        line("draw ").contains(&format!("{} (you)  submit by ", &karim.key[..8])),
        "{shown}"
    );
    assert!(!shown.contains("void"), "{shown}");

    // 6. Karim submits 20 minutes of work; the file reaches Lumen Lab privately.
    let result = b"Transcript of the interview: ...\n".repeat(100);
    let file = tmp.path().join("transcript.txt");
    std::fs::write(&file, &result).expect("result file");
    let sent = ok(
        &karim,
        &[
            "submit",
            &offer[..8],
            "--file",
            file.to_str().expect("utf-8"),
            "--minutes",
            "20",
        ],
    );
    assert!(
        sent.contains(&format!("{} bytes, 20 min", result.len())),
        "{sent}"
    );
    let sub = wait_for("the result to reach Lumen Lab", || {
        let v = json(&lumen, &["submissions"]);
        let s = v
            .as_array()?
            .iter()
            .find(|s| s["offer"] == offer.as_str())?;
        (s["result_here"] == true).then(|| str_of(s, "id").to_owned())
    });
    // The work fills Karim's place; nothing is due from him on that offer any more.
    let v = json(&karim, &["offer", "show", &offer[..8]]);
    assert_eq!(v["places"][0]["state"], "filled", "{v}");
    assert_eq!(v["places"][0]["submission"], sub.as_str(), "{v}");
    assert_eq!(v["submit_by"], Value::Null, "{v}");
    // Another node witnesses it (a tick, or an entry naming it), and Karim's node holds
    // that witness: the review window cannot be moved by anyone's own clock.
    wait_for("another node to witness the submission", || {
        let v = json(&karim, &["submissions"]);
        let s = find(&v, "id", &sub)?;
        let at = s["at"].as_u64()?;
        s["witnessed_at"].as_u64().filter(|t| *t >= at)
    });
    // What waits for Lumen Lab's review.
    let pending = json(&lumen, &["submissions", "--review", "pending"]);
    assert!(find(&pending, "id", &sub).is_some(), "{pending}");
    let done = json(&lumen, &["submissions", "--review", "accepted,rejected"]);
    assert!(find(&done, "id", &sub).is_none(), "{done}");
    let out_dir = tmp.path().join("downloads");
    std::fs::create_dir(&out_dir).expect("dir");
    let o = cli_in(&lumen, &out_dir, &["results", "get", &sub[..8]]);
    assert!(o.status.success(), "{}", text(&o));
    let got = std::fs::read(out_dir.join(format!("result-{sub}"))).expect("the result file");
    assert_eq!(got, result);
    // The default name is never overwritten.
    let o = cli_in(&lumen, &out_dir, &["results", "get", &sub[..8]]);
    assert!(
        !o.status.success() && text(&o).contains("-o"),
        "{}",
        text(&o)
    );

    // The second result, read to standard output, is rejected with a reason.
    let tags = tmp.path().join("tags.csv");
    std::fs::write(&tags, b"photo,tag\n1,boat\n").expect("result file");
    ok(
        &karim,
        &[
            "submit",
            &offer2[..8],
            "--file",
            tags.to_str().expect("utf-8"),
            "--minutes",
            "10",
        ],
    );
    let sub2 = wait_for("the second result to reach Lumen Lab", || {
        let v = json(&lumen, &["submissions"]);
        let s = v
            .as_array()?
            .iter()
            .find(|s| s["offer"] == offer2.as_str())?;
        (s["result_here"] == true).then(|| str_of(s, "id").to_owned())
    });
    let o = cli_in(
        &lumen,
        &lumen.dir,
        &["results", "get", &sub2[..8], "-o", "-"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(o.stdout, b"photo,tag\n1,boat\n");
    let out = ok(
        &lumen,
        &[
            "reject",
            &sub2[..8],
            "--reason",
            "Photos 2 to 9 are not tagged",
        ],
    );
    assert!(
        out.contains(&format!("rejected submission {sub2}")),
        "{out}"
    );

    // 7. Lumen Lab accepts; 20 minutes at the floor is 4.17 EUR: 4.00 EUR plus a top-up.
    let accepted = ok(&lumen, &["accept", &sub[..8]]);
    assert!(accepted.contains("accepted submission"), "{accepted}");
    let rows = json(&lumen, &["balance"]);
    let row = find(&rows, "member", &karim.key).expect("a balance row for Karim");
    assert_eq!(row["earned"]["text"], "4.00 EUR", "{row}");
    assert_eq!(row["topup"]["text"], "0.17 EUR", "{row}");
    assert_eq!(row["owed"]["text"], "4.17 EUR", "{row}");

    // 8. A first transfer goes astray: Karim answers "not received"; it stays owed.
    let astray = ok(
        &lumen,
        &[
            "pay",
            &karim.key[..8],
            "4.17EUR",
            "--reference",
            "wrong IBAN",
        ],
    );
    let aid = astray
        .lines()
        .find_map(|l| l.strip_prefix("payment "))
        .expect("the payment's id")
        .to_owned();
    wait_for("the first payment to reach Karim", || {
        let v = json(&karim, &["balance"]);
        (find(&v, "requester", &lumen.key)?["unconfirmed"]["minor"] == 417).then_some(())
    });
    let denied = ok(&karim, &["confirm", &aid[..8], "--not-received"]);
    assert!(denied.contains("not received"), "{denied}");
    wait_for("Karim's answer to reach Lumen Lab", || {
        let v = json(&lumen, &["balance"]);
        let row = find(&v, "member", &karim.key)?;
        (row["denied"]["minor"] == 417 && row["owed"]["minor"] == 417).then_some(())
    });

    // Lumen Lab pays outside the system and records it; Karim confirms.
    let paid = ok(
        &lumen,
        &[
            "pay",
            &karim.key[..8],
            "4.17EUR",
            "--reference",
            "SEPA-2026-0042",
        ],
    );
    assert!(paid.contains("recorded a payment of 4.17 EUR"), "{paid}");
    let pid = paid
        .lines()
        .find_map(|l| l.strip_prefix("payment "))
        .expect("the payment's id")
        .to_owned();
    wait_for("the payment to reach Karim", || {
        let v = json(&karim, &["balance"]);
        (find(&v, "requester", &lumen.key)?["paid"]["minor"] == 834).then_some(())
    });
    let confirmed = ok(&karim, &["confirm", &pid[..8]]);
    assert!(
        confirmed.contains(&format!("confirmed payment {pid}")),
        "{confirmed}"
    );
    wait_for("Karim's receipt to reach Lumen Lab", || {
        let v = json(&lumen, &["balance"]);
        (find(&v, "member", &karim.key)?["confirmed"]["minor"] == 417).then_some(())
    });

    // 9. The balance as Karim reads it, and his review of the requester.
    let bal = ok(&karim, &["balance"]);
    let line = bal
        .lines()
        .find(|l| l.contains("(you)"))
        .unwrap_or_else(|| panic!("no row for Karim: {bal}"));
    assert!(
        line.ends_with("4.00 EUR  0.17 EUR  8.34 EUR   4.17 EUR      4.17 EUR  0.00 EUR                     0.00 EUR"),
        "{bal}"
    );
    let reviewed = ok(
        &karim,
        &[
            "review",
            &lumen.key[..8],
            "--pay",
            "5",
            "--fairness",
            "4",
            "--promptness",
            "5",
            "--communication",
            "4",
            "--text",
            "clear brief",
        ],
    );
    assert!(reviewed.contains("reviewed requester"), "{reviewed}");
    wait_for("the rejection to reach Karim", || {
        let v = json(&karim, &["submissions"]);
        (find(&v, "id", &sub2)?["review"] == "rejected").then_some(())
    });
    let record = ok(&karim, &["requester", "show", &lumen.key[..8]]);
    // An honest requester: every assignment named every claim made in the window.
    assert!(
        record
            .lines()
            .any(|l| l.starts_with("void assignments") && l.trim_end().ends_with(" 0")),
        "{record}"
    );
    assert!(
        record.contains("2: 1 accepted, 0 accepted by default, 1 rejected"),
        "{record}"
    );
    // The "not received" answer is on the requester's record.
    assert!(
        record
            .lines()
            .any(|l| l.starts_with("payments not received") && l.trim_end().ends_with(" 1")),
        "{record}"
    );
    let subs = ok(&karim, &["submissions"]);
    assert!(
        subs.contains("rejected: Photos 2 to 9 are not tagged"),
        "{subs}"
    );
    assert!(
        subs.contains("Transcribe an interview") && subs.contains("accepted"),
        "{subs}"
    );
}

#[test]
fn without_a_running_daemon_the_command_says_how_to_start_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("node");
    let o = taawun(&["init"], &dir);
    assert!(o.status.success(), "{}", text(&o));
    // A port nothing listens on: the address of a daemon that is not running.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    std::fs::write(
        dir.join("config.toml"),
        format!("[api]\nlisten = \"127.0.0.1:{port}\"\n"),
    )
    .expect("config");
    let o = taawun(&["status"], &dir);
    assert!(!o.status.success());
    let msg = text(&o);
    assert!(msg.contains("not running"), "{msg}");
    assert!(
        msg.contains(&format!("taawun run --data-dir {}", dir.display())),
        "{msg}"
    );
}
