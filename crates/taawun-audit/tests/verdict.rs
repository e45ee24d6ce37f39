//! One verdict: `taawun_ledger::verify` (behind `taawun ledger verify`) and
//! `taawun_audit::audit` (behind `taawun audit`) read the same files and give the same
//! verdict, the same exit code and the same breaks counted by the same names.

mod fixtures;

use std::io::{Seek, Write};
use taawun_audit::report::Report;
use taawun_audit::{Options, Verdict};
use taawun_ledger::verdict;
use taawun_ledger::Summary;

fn audit(bytes: &[u8]) -> Report {
    let mut f = tempfile::tempfile().expect("temp file");
    f.write_all(bytes).expect("write");
    f.rewind().expect("rewind");
    taawun_audit::audit(f, "test", &Options::default(), &mut |_| {}).expect("readable")
}

fn verify(bytes: &[u8]) -> Summary {
    taawun_ledger::verify(bytes).expect("readable")
}

#[test]
fn verify_and_audit_give_one_verdict_on_every_file() {
    for fx in fixtures::all() {
        let (r, s) = (audit(&fx.bytes), verify(&fx.bytes));
        let name = fx.name;
        assert_eq!(r.verdict(), s.verdict(), "{name}");
        assert_eq!(
            r.verdict,
            r.verdict(),
            "{name}: the report carries its verdict"
        );
        assert_eq!(r.verdict().exit_code(), fx.exit, "{name}: audit\n{r}");
        assert_eq!(s.verdict().exit_code(), fx.exit, "{name}: verify\n{s}");
        assert_eq!(r.is_clean(), s.is_clean(), "{name}");
        // The same breaks, by the same names.
        assert_eq!(
            r.violations.by_rule, s.breaks,
            "{name}: audit {:#?}\nverify {s}",
            r.violations.listed
        );
        if fx.exit == 1 {
            assert!(r.violations.by_rule.contains_key(fx.says), "{name}");
        }
        // Both say it in words.
        let (rt, st) = (r.to_string(), s.to_string());
        let word = match fx.exit {
            0 => "clean",
            1 => fx.says,
            _ => verdict::Verdict::Empty.says(),
        };
        assert!(rt.contains(word), "{name}: audit says\n{rt}");
        assert!(st.contains(word), "{name}: verify says\n{st}");
        assert_eq!(
            s.to_json()["verdict"],
            serde_json::to_value(r.verdict).expect("json"),
            "{name}"
        );
    }
}

#[test]
fn a_header_only_file_is_nothing_verified_not_clean() {
    let fx = fixtures::all()
        .into_iter()
        .find(|f| f.name == "header-only")
        .expect("the header-only fixture");
    let (r, s) = (audit(&fx.bytes), verify(&fx.bytes));
    for v in [r.verdict(), s.verdict()] {
        assert_eq!(v, Verdict::Empty);
        assert!(!v.is_clean());
        assert_eq!(v.exit_code(), verdict::EXIT_UNREADABLE);
    }
    assert_eq!((r.items, r.valid_entries, r.violations.count), (0, 0, 0));
    let text = r.to_string();
    assert!(
        text.contains("VERDICT: nothing was verified: the file holds no entries"),
        "{text}"
    );
    assert!(!text.contains("every rule held"), "{text}");
    assert!(!s.to_string().contains("every rule held"), "{s}");
    assert_eq!(s.to_json()["verdict"], "empty");
    assert_eq!(s.to_json()["clean"], false);
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["verdict"], "empty");
    let html = taawun_audit::html::render(&r);
    assert!(html.contains("nothing was verified"), "the page says so");
}

#[test]
fn every_break_and_notice_name_is_documented() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/auditing.md"
    ))
    .expect("docs/auditing.md");
    for name in verdict::BREAKS.iter().chain(verdict::NOTICES) {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/auditing.md does not list `{name}`"
        );
    }
}

/// A small deterministic generator for the mutations below (no clock, no OS entropy).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Split a file into its header and envelopes, as written by the fixtures.
fn split(bytes: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut items = taawun_ledger::export::Items::new(bytes);
    items.header().expect("a header");
    let start = items.offset() as usize;
    let mut envs = Vec::new();
    while let Ok(Some(item)) = items.next_item() {
        envs.push(item.raw.expect("an envelope"));
    }
    (bytes[..start].to_vec(), envs)
}

#[test]
fn random_damage_gets_one_verdict_from_both() {
    let clean = fixtures::all()
        .into_iter()
        .find(|f| f.name == "clean")
        .expect("the clean fixture");
    let (header, envs) = split(&clean.bytes);
    let mut rng = Rng(0x7461_6177_756e);
    for case in 0..200 {
        let mut e = envs.clone();
        let mut what = Vec::new();
        for _ in 0..=rng.below(3) {
            let n = e.len();
            match rng.below(5) {
                0 => {
                    let (a, b) = (rng.below(n), rng.below(n));
                    e.swap(a, b);
                    what.push(format!("swap {a} {b}"));
                }
                1 => {
                    let a = rng.below(n);
                    e.remove(a);
                    what.push(format!("drop {a}"));
                }
                2 => {
                    let (a, b) = (rng.below(n), rng.below(n));
                    let x = e[a].clone();
                    e.insert(b, x);
                    what.push(format!("copy {a} to {b}"));
                }
                3 => {
                    let a = rng.below(n);
                    let x = e.remove(a);
                    e.push(x);
                    what.push(format!("move {a} to the end"));
                }
                _ => {
                    let a = rng.below(n);
                    let at = rng.below(e[a].len());
                    e[a][at] ^= 1 << rng.below(8);
                    what.push(format!("flip a bit of {a} at {at}"));
                }
            }
        }
        let mut bytes = header.clone();
        for x in &e {
            bytes.extend_from_slice(x);
        }
        let audited = {
            let mut f = tempfile::tempfile().expect("temp file");
            f.write_all(&bytes).expect("write");
            f.rewind().expect("rewind");
            taawun_audit::audit(f, "case", &Options::default(), &mut |_| {})
        };
        let verified = taawun_ledger::verify(&bytes[..]);
        match (audited, verified) {
            (Ok(r), Ok(s)) => {
                assert_eq!(
                    r.verdict(),
                    s.verdict(),
                    "case {case} ({what:?}): audit {:?}, verify {:?}",
                    r.violations.by_rule,
                    s.breaks
                );
                assert_eq!(r.violations.by_rule, s.breaks, "case {case} ({what:?})");
            }
            (Err(_), Err(_)) => {}
            (a, v) => panic!(
                "case {case} ({what:?}): audit {:?}, verify {:?}",
                a.map(|r| r.verdict()),
                v.map(|s| s.verdict())
            ),
        }
    }
}
