//! The `taawun` binary as a person uses it: real processes, real files.

mod common;

use common::{taawun, text};
use std::os::unix::fs::PermissionsExt;

#[test]
fn keygen_writes_a_private_key_and_refuses_to_overwrite_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    let o = taawun(&["keygen"], &data);
    assert!(o.status.success(), "{}", text(&o));
    let key = data.join("key");
    assert_eq!(std::fs::metadata(&key).expect("key").len(), 32);
    assert_eq!(
        std::fs::metadata(&key).expect("key").permissions().mode() & 0o777,
        0o600
    );
    let before = std::fs::read(&key).expect("key");
    let o = taawun(&["keygen"], &data);
    assert!(!o.status.success());
    assert!(text(&o).contains("refusing to overwrite"), "{}", text(&o));
    assert_eq!(std::fs::read(&key).expect("key"), before);
}

#[test]
fn demo_runs_end_to_end_and_its_ledger_verifies_exports_and_imports() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    let o = taawun(&["demo", "--dir", dir.to_str().expect("utf-8")], tmp.path());
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("its own node refuses"), "{out}");
    assert!(
        out.contains("under the cooperative's floor of 12.50 EUR/h"),
        "{out}"
    );
    assert!(out.contains("rejected by 4 of 4"), "{out}");
    assert!(out.contains("enacted"), "{out}");
    assert!(out.contains("received all three files"), "{out}");
    assert!(out.contains("with its reason"), "{out}");
    assert!(out.contains("accepted by default"), "{out}");
    assert!(out.contains("confirmed by"), "{out}");
    assert!(out.contains("answers \"not received\""), "{out}");
    assert!(out.contains("1 payment(s) not received"), "{out}");
    assert!(out.contains("median-minutes top-up"), "{out}");
    assert!(
        out.contains("Lumen Lab's record now: nothing owed"),
        "{out}"
    );
    // The rejected member appeals, the requester replies, the juror drawn receives the
    // result and upholds: the work is owed as accepted work, then paid.
    let appellant = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("8. ")?
                .split_once(" appeals the rejection, with an answer")
        })
        .map(|(name, _)| name.to_owned())
        .unwrap_or_else(|| panic!("no appeal in: {out}"));
    assert!(out.contains("Lumen Lab replies, once"), "{out}");
    assert!(out.contains("'s node witnesses the appeal"), "{out}");
    assert!(
        out.contains("Nour holds the seat; her node received the result privately"),
        "{out}"
    );
    assert!(
        out.contains("the appeal is upheld, the rejection is void"),
        "{out}"
    );
    assert!(
        out.contains("Lumen Lab's record: appeals 1, upheld 1"),
        "{out}"
    );
    assert!(out.contains(&format!("{appellant} paid ")), "{out}");
    assert!(
        out.contains("appeals against Lumen Lab's rejections: 1, upheld 1, dismissed 0"),
        "{out}"
    );
    assert!(out.contains("every item valid"), "{out}");
    assert!(out.contains("total platform cut: 0.00 EUR"), "{out}");
    // Each result was kept before its submission was signed, then as the submission's:
    // nothing kept for a submission is left behind.
    let mut kept_folders = 0;
    for node in std::fs::read_dir(&dir).expect("the demo's folder") {
        let staged = node.expect("a node's folder").path().join("results/staged");
        if let Ok(left) = std::fs::read_dir(&staged) {
            kept_folders += 1;
            assert_eq!(left.count(), 0, "results left in {}", staged.display());
        }
    }
    assert!(
        kept_folders > 0,
        "no member's node kept a result before submitting"
    );
    let file = dir.join("coop.taawun");

    let o = taawun(
        &["ledger", "verify", file.to_str().expect("utf-8")],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));

    let o = taawun(
        &["ledger", "verify", "--json", file.to_str().expect("utf-8")],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(json.is_object(), "{json}");

    // Import into a fresh node, export again: the same bytes.
    let node = tmp.path().join("auditor");
    let o = taawun(&["ledger", "import", file.to_str().expect("utf-8")], &node);
    assert!(o.status.success(), "{}", text(&o));
    let again = tmp.path().join("again.taawun");
    let o = taawun(&["ledger", "export", again.to_str().expect("utf-8")], &node);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(&file).expect("file"),
        std::fs::read(&again).expect("file")
    );

    // A node without a key writes no disclosures: every sealed field stays sealed.
    assert!(text(&o).contains("no disclosures written"), "{}", text(&o));
    assert!(!tmp.path().join("again.taawun.keys").exists());

    // A requester's export carries, beside it, the keys of the references it can read; the
    // audit reads them, each beside its payment, and counts the rest as sealed.
    let mine = tmp.path().join("lumen.taawun");
    let o = taawun(
        &["ledger", "export", mine.to_str().expect("utf-8")],
        &dir.join("lumen-lab"),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("an auditor given it can read"),
        "{}",
        text(&o)
    );
    assert!(tmp.path().join("lumen.taawun.keys").exists());
    let o = taawun(
        &["audit", "--json", mine.to_str().expect("utf-8")],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let read = json["sealed"]["read"].as_array().map_or(0, Vec::len) as u64;
    let unread = json["sealed"]["unread"].as_u64().unwrap_or(0);
    assert!(read > 0, "{}", json["sealed"]);
    // Payment references and review texts: at least one field per payment.
    assert!(read + unread >= json["kinds"]["settle"].as_u64().unwrap_or(u64::MAX));
    assert_eq!(json["sealed"]["bad"].as_array().map(Vec::len), Some(0));
    // The audit derives the appeal's ending from the ledger alone: upheld, and paid.
    assert_eq!(json["appeals"]["appeals"], 1, "{}", json["appeals"]);
    assert_eq!(json["appeals"]["upheld"], 1, "{}", json["appeals"]);
    let lumen = json["requesters"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["appeals"] == 1))
        .unwrap_or_else(|| panic!("no requester with an appeal: {}", json["requesters"]));
    assert_eq!(lumen["appeals_upheld"], 1, "{lumen}");
    assert!(
        json["balances"]
            .as_array()
            .is_some_and(|b| b.iter().all(|b| b["owed"] == 0)),
        "{}",
        json["balances"]
    );

    // One flipped byte in the middle: a clean refusal, exit code 1 or 2, no panic.
    let mut bytes = std::fs::read(&file).expect("file");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let bad = tmp.path().join("bad.taawun");
    std::fs::write(&bad, &bytes).expect("write");
    let o = taawun(
        &["ledger", "verify", bad.to_str().expect("utf-8")],
        tmp.path(),
    );
    let code = o.status.code();
    assert!(
        code == Some(1) || code == Some(2),
        "{:?} {}",
        code,
        text(&o)
    );
    assert!(!text(&o).contains("panicked"), "{}", text(&o));
}

#[test]
fn unreadable_files_exit_2_with_a_clear_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let garbage = tmp.path().join("garbage");
    std::fs::write(&garbage, b"this is not a ledger").expect("write");
    let o = taawun(
        &["ledger", "verify", garbage.to_str().expect("utf-8")],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("not a readable taawun ledger"),
        "{}",
        text(&o)
    );
    // A missing file: the same message as `taawun audit`, naming the file and why.
    let o = taawun(&["ledger", "verify", "/nonexistent/file"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("cannot read /nonexistent/file: No such file or directory"),
        "{}",
        text(&o)
    );
    // Exporting from a node that holds nothing says so.
    let o = taawun(&["ledger", "export", "x.taawun"], &tmp.path().join("empty"));
    assert!(!o.status.success());
    assert!(text(&o).contains("no cooperative"), "{}", text(&o));
}

#[test]
fn a_key_readable_by_others_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    assert!(taawun(&["keygen"], &data).status.success());
    let o = taawun(&["id"], &data);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim().len(), 64);
    let key = data.join("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = taawun(&["id"], &data);
    assert!(!o.status.success());
    assert!(text(&o).contains("chmod 600"), "{}", text(&o));
}

/// Runs the binary with `data` as its data folder and `input` on standard input.
fn taawun_with_input(args: &[&str], data: &std::path::Path, input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_taawun"))
        .args(args)
        .env("TAAWUN_DATA_DIR", data)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("writes the words");
    child.wait_with_output().expect("ends")
}

#[test]
fn a_key_backed_up_as_words_restores_into_a_new_folder_and_a_wrong_word_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, restored) = (tmp.path().join("node"), tmp.path().join("restored"));
    let o = taawun(&["init"], &data);
    assert!(o.status.success(), "{}", text(&o));
    let id = text(&taawun(&["id"], &data)).trim().to_owned();
    let o = taawun(&["key", "backup"], &data);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        out.contains("Anyone who reads them can sign as you"),
        "{out}"
    );
    // The printout pasted back as it is, numbers and all.
    let listing: String = out
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(listing.lines().count(), 24, "{out}");

    // A misspelt word: refused, saying which, and no folder made.
    let words: Vec<&str> = listing
        .lines()
        .map(|l| l.split_whitespace().nth(1).expect("word"))
        .collect();
    let mut typo = words.clone();
    typo[9] = "zzzz";
    let o = taawun_with_input(&["key", "restore"], &restored, &typo.join(" "));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("word 10 (\"zzzz\") is not a backup word"),
        "{}",
        text(&o)
    );
    assert!(!restored.join("key").exists());
    // Two words swapped: the checksum refuses them. It is 8 bits, as BIP-39's for 24
    // words, so one swap in 256 happens to check (and gives another key): the first of
    // the swaps that does not is the one asserted; eight that all check would be a
    // checksum that checks nothing (a chance of 2^-64 otherwise).
    let swaps = (0..23).filter(|&i| words[i] != words[i + 1]).take(8);
    let refused = swaps.enumerate().find_map(|(n, i)| {
        let mut swapped = words.clone();
        swapped.swap(i, i + 1);
        let scratch = tmp.path().join(format!("swapped-{n}"));
        let o = taawun_with_input(&["key", "restore"], &scratch, &swapped.join(" "));
        if o.status.success() {
            assert_ne!(text(&taawun(&["id"], &scratch)).trim(), id, "another key");
            None
        } else {
            Some(o)
        }
    });
    let o = refused.expect("the checksum refuses swapped words");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("do not check"), "{}", text(&o));

    let o = taawun_with_input(&["key", "restore"], &restored, &listing);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&id), "{}", text(&o));
    assert_eq!(text(&taawun(&["id"], &restored)).trim(), id);
    assert_eq!(
        std::fs::read(restored.join("key")).expect("key"),
        std::fs::read(data.join("key")).expect("key")
    );
    // Never over an existing key.
    let o = taawun_with_input(&["key", "restore"], &data, &listing);
    assert!(!o.status.success());
    assert!(text(&o).contains("refusing to overwrite"), "{}", text(&o));
}
