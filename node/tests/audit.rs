//! `taawun ledger synth` and `taawun audit` as a person runs them: exit code 0 for a
//! clean ledger, 1 for a broken rule, 2 for a file that cannot be read.

mod common;

use common::{taawun, text};
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn audit_exit_codes_follow_the_ledger() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("coop.taawun");
    let o = taawun(
        &[
            "ledger",
            "synth",
            "--entries",
            "400",
            "--members",
            "5",
            "--seed",
            "3",
            "--out",
            s(&file),
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));

    // Clean: 0, with the JSON and HTML reports.
    let html = tmp.path().join("report.html");
    let o = taawun(&["audit", s(&file), "--html", s(&html)], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("VERDICT: clean"), "{}", text(&o));
    let page = std::fs::read_to_string(&html).expect("html written");
    assert!(page.contains("<svg"), "a plot");
    // Self-contained: nothing to fetch.
    assert!(!page.contains("src=") && !page.contains("href=") && !page.contains("<script"));
    let o = taawun(&["audit", s(&file), "--json"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(json["violations"]["count"], 0);
    assert!(json["valid_entries"].as_u64().unwrap_or(0) >= 400);

    // A node's data folder holding the same ledger audits the same.
    let node = tmp.path().join("node");
    let o = taawun(&["ledger", "import", s(&file)], &node);
    assert!(o.status.success(), "{}", text(&o));
    let o = taawun(&["audit", s(&node)], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("VERDICT: clean"), "{}", text(&o));

    // A broken signature (a byte of the last envelope's signature): 1.
    let mut bytes = std::fs::read(&file).expect("read");
    let n = bytes.len();
    bytes[n - 5] ^= 0xff;
    let bad = tmp.path().join("bad.taawun");
    std::fs::write(&bad, &bytes).expect("write");
    let o = taawun(&["audit", s(&bad)], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("BadSignature"), "{}", text(&o));

    // Unreadable: truncated, garbage, missing: 2, with a message and no panic.
    let cut = tmp.path().join("cut.taawun");
    std::fs::write(&cut, &bytes[..n - 7]).expect("write");
    let garbage = tmp.path().join("garbage.taawun");
    std::fs::write(&garbage, b"this is not a ledger").expect("write");
    for (path, says) in [
        (cut, "truncated"),
        (garbage, "not a readable taawun ledger"),
        (tmp.path().join("missing.taawun"), "cannot read"),
    ] {
        let o = taawun(&["audit", s(&path)], tmp.path());
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
        assert!(!text(&o).contains("panicked"), "{}", text(&o));
    }
}

#[test]
fn an_audit_of_a_data_folder_reads_the_disclosures_it_is_given() {
    use taawun_core::body::Body;
    use taawun_core::synth::{self, Params};
    use taawun_ledger::disclose::Disclosures;

    let tmp = tempfile::tempdir().expect("tempdir");
    let sc = synth::generate(&Params {
        seed: 21,
        members: 5,
        requesters: 2,
        entries: 400,
        start: 1_700_000_000_000,
    });
    let mut bytes = taawun_ledger::export::header_bytes(&sc.coop);
    for v in &sc.entries {
        bytes.extend_from_slice(&v.envelope());
    }
    let file = tmp.path().join("coop.taawun");
    std::fs::write(&file, &bytes).expect("write");
    // The member paid first discloses the keys of its sealed fields.
    let paid = sc
        .entries
        .iter()
        .find_map(|v| match &v.entry().body {
            Body::Settle(x) => Some(x.member),
            _ => None,
        })
        .expect("a payment");
    let member = sc
        .members
        .iter()
        .find(|k| k.verifying_key().to_bytes() == paid.0)
        .expect("a member");
    let d = Disclosures::collect(&bytes[..], &[member]).expect("collects");
    assert!(!d.keys.is_empty());
    let keys = tmp.path().join("member.keys");
    std::fs::write(&keys, d.to_bytes()).expect("write");

    let node = tmp.path().join("node");
    let o = taawun(&["ledger", "import", s(&file)], &node);
    assert!(o.status.success(), "{}", text(&o));
    let sealed = |ledger: &Path, with_keys: bool| {
        let mut args = vec!["audit", s(ledger), "--json"];
        if with_keys {
            args.extend(["--disclosures", s(&keys)]);
        }
        let o = taawun(&args, tmp.path());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        json["sealed"].clone()
    };
    // The folder's audit reads every disclosed field, as the export's does.
    let from_folder = sealed(&node, true);
    assert_eq!(from_folder["disclosures"], true, "{from_folder}");
    assert_eq!(
        from_folder["read"].as_array().map(Vec::len),
        Some(d.keys.len()),
        "{from_folder}"
    );
    assert_eq!(from_folder["bad"].as_array().map(Vec::len), Some(0));
    let from_file = sealed(&file, true);
    assert_eq!(from_folder["unread"], from_file["unread"], "{from_file}");
    // Without the keys, nothing is read.
    let without = sealed(&node, false);
    assert_eq!(without["disclosures"], false, "{without}");
    assert_eq!(without["read"].as_array().map(Vec::len), Some(0));
}
