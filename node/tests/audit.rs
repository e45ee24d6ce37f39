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
