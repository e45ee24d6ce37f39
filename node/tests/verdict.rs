//! `taawun ledger verify` and `taawun audit` as a person runs them give one verdict: the
//! same exit code on the same file (clean, an equivocation, an entry out of order, an
//! entry by an author without a role, a header alone, a bad signature, a hole), with and
//! without `--json`, and 2 for a file that cannot be read.

mod common;
#[path = "../../crates/taawun-audit/tests/fixtures/mod.rs"]
mod fixtures;

use common::{taawun, text};
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn verify_and_audit_exit_alike_on_every_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for fx in fixtures::all() {
        let file = tmp.path().join(format!("{}.taawun", fx.name));
        std::fs::write(&file, &fx.bytes).expect("write");
        let verify = taawun(&["ledger", "verify", s(&file)], tmp.path());
        let audit = taawun(&["audit", s(&file)], tmp.path());
        let want = Some(i32::from(fx.exit));
        assert_eq!(
            verify.status.code(),
            want,
            "{}: verify\n{}",
            fx.name,
            text(&verify)
        );
        assert_eq!(
            audit.status.code(),
            want,
            "{}: audit\n{}",
            fx.name,
            text(&audit)
        );
        for o in [&verify, &audit] {
            assert!(text(o).contains(fx.says), "{}: {}", fx.name, text(o));
            assert!(!text(o).contains("panicked"), "{}", text(o));
        }
        // JSON: the same exit code and the same verdict.
        let vj = taawun(&["ledger", "verify", s(&file), "--json"], tmp.path());
        let aj = taawun(&["audit", s(&file), "--json"], tmp.path());
        assert_eq!(vj.status.code(), want, "{}: verify --json", fx.name);
        assert_eq!(aj.status.code(), want, "{}: audit --json", fx.name);
        let vj: serde_json::Value = serde_json::from_slice(&vj.stdout).expect("json");
        let aj: serde_json::Value = serde_json::from_slice(&aj.stdout).expect("json");
        assert_eq!(vj["verdict"], aj["verdict"], "{}", fx.name);
        assert_eq!(vj["breaks"], aj["violations"]["by_rule"], "{}", fx.name);
    }
}

#[test]
fn unreadable_files_exit_2_from_both() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let clean = fixtures::all()
        .into_iter()
        .find(|f| f.name == "clean")
        .expect("the clean fixture");
    let cut = tmp.path().join("cut.taawun");
    std::fs::write(&cut, &clean.bytes[..clean.bytes.len() - 7]).expect("write");
    let garbage = tmp.path().join("garbage.taawun");
    std::fs::write(&garbage, b"this is not a ledger").expect("write");
    for (path, says) in [
        (cut, "truncated"),
        (garbage, "not a readable taawun ledger"),
        (tmp.path().join("missing.taawun"), "cannot read"),
    ] {
        for args in [["ledger", "verify"].as_slice(), ["audit"].as_slice()] {
            let mut a = args.to_vec();
            a.push(s(&path));
            let o = taawun(&a, tmp.path());
            assert_eq!(o.status.code(), Some(2), "{a:?}: {}", text(&o));
            assert!(text(&o).contains(says), "{a:?}: {}", text(&o));
        }
    }
}

/// A running daemon imports the same file and counts a fork as a fork (stored beside the
/// chain, its author frozen), not as a refused entry.
#[test]
fn a_daemon_import_counts_a_fork_apart_from_refused_entries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fx = fixtures::all()
        .into_iter()
        .find(|f| f.name == "equivocation")
        .expect("the equivocation fixture");
    let file = tmp.path().join("fork.taawun");
    std::fs::write(&file, &fx.bytes).expect("write");
    let node = tmp.path().join("node");
    std::fs::create_dir(&node).expect("dir");
    let d = common::Daemon::start(&node);
    let o = taawun(&["ledger", "import", s(&file)], &d.dir);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("1 forks") && text(&o).contains("0 rejected"),
        "{}",
        text(&o)
    );
}
