//! Ledger throughput against the cost of verifying signatures. Prints figures, asserts
//! nothing.
//!
//! ```text
//! cargo bench -p taawun-ledger --bench throughput
//! TAAWUN_BENCH_ENTRIES=20000 cargo bench -p taawun-ledger --bench throughput
//! ```
//!
//! One run generates a synthetic cooperative (seeded, so every run stores the same
//! bytes) and measures, in entries per second:
//!
//! 1. the bound: decoding an envelope and verifying its signature alone
//!    (`Unverified::decode` + `Unverified::verify`), the least any node must do per
//!    entry it receives; beside it, decoding alone, the signature check alone on prepared
//!    messages, and decoding with batch verification;
//! 2. gossip-style ingest into a fresh sled ledger: decode + verify + `CoopLedger::ingest`
//!    one envelope at a time, with `commit()` every [`TIMER_EVERY`] entries (the owner's
//!    timer) and a final flush; and, for comparison, the same with a commit after every
//!    entry (the behaviour before group commit);
//! 3. export of that ledger into memory, and bulk import of the file into a fresh ledger
//!    (`Ledger::import`: batch verification on a worker thread).
//!
//! With `TAAWUN_BENCH_ONLY=ingest` it stops after the gossip ingest (to profile it alone,
//! e.g. under `perf record`).
//!
//! Goals: gossip ingest at least 0.8 of the bound, import at least 1.0. After each phase
//! it prints the phase's peak resident memory (VmHWM, reset between phases through
//! /proc/self/clear_refs when the kernel allows it) and the data directory's size.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};
use taawun_core::entry::{signed_message, verify_batch, Unverified};
use taawun_core::sig;
use taawun_core::synth::{self, Params};
use taawun_core::Verified;
use taawun_ledger::{Ingest, Ledger};

/// Entries generated unless `TAAWUN_BENCH_ENTRIES` says otherwise.
const DEFAULT_ENTRIES: usize = 100_000;

/// The environment variable that sets the number of entries.
const ENTRIES_VAR: &str = "TAAWUN_BENCH_ENTRIES";

/// The environment variable that, set to `ingest`, runs only generation and gossip ingest.
const ONLY_VAR: &str = "TAAWUN_BENCH_ONLY";

/// Gossip ingest calls `commit()` every this many entries: a 50 ms timer at about
/// 20,000 entries a second.
const TIMER_EVERY: usize = 1_000;

/// Entries of the commit-per-entry comparison at most: it is slow and only a reference.
const PER_ENTRY_MAX: usize = 20_000;

/// Envelopes per batch verification in the bound's batch row (as the import).
const BATCH: usize = taawun_ledger::import::IMPORT_CHUNK;

/// The seed of the synthetic cooperative.
const SEED: u64 = 20_240_601;

/// Members and requesters: a mid-sized cooperative.
const MEMBERS: usize = 24;
const REQUESTERS: usize = 6;

struct Row {
    name: String,
    entries: usize,
    time: Duration,
    ratio: bool,
    peak_kb: Option<u64>,
    disk: Option<u64>,
}

impl Row {
    fn rate(&self) -> f64 {
        self.entries as f64 / self.time.as_secs_f64()
    }
}

/// A field of /proc/self/status, in kB.
fn status_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the peak RSS to the current RSS (Linux 4.0+); false if not allowed.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Bytes under `dir`.
fn disk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

fn mb(kb: u64) -> String {
    format!("{:.0} MB", kb as f64 / 1024.0)
}

fn main() {
    let entries: usize = std::env::var(ENTRIES_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ENTRIES);
    let peak_resets = reset_peak();
    println!("taawun-ledger throughput: {entries} entries (set {ENTRIES_VAR} to change)");

    // 0. The synthetic cooperative.
    let t = Instant::now();
    let s = synth::generate(&Params {
        seed: SEED,
        members: MEMBERS,
        requesters: REQUESTERS,
        entries,
        ..Params::default()
    });
    let gen_time = t.elapsed();
    let envelopes: Vec<Vec<u8>> = s.entries.iter().map(Verified::envelope).collect();
    let n = envelopes.len();
    let bytes: usize = envelopes.iter().map(Vec::len).sum();
    let now = Some(s.end);
    let coop = s.coop;
    drop(s);
    println!(
        "generated {n} entries ({} members, {} requesters, seed {SEED}, {:.1} MB of envelopes, mean {} bytes) in {:.1} s",
        MEMBERS,
        REQUESTERS,
        bytes as f64 / 1e6,
        bytes / n.max(1),
        gen_time.as_secs_f64()
    );
    let only_ingest = std::env::var(ONLY_VAR).is_ok_and(|v| v == "ingest");
    let mut t = Table::default();
    if !only_ingest {
        bound(&envelopes, &mut t);
    }

    // 2. Gossip-style ingest, one envelope at a time.
    let charter = Unverified::decode(&envelopes[0])
        .expect("decodes")
        .verify()
        .expect("verifies");
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(dir.path()).expect("opens");
    let mut c = ledger.found(charter.clone()).expect("founds");
    reset_peak();
    let (mut in_verify, mut in_ingest, mut in_group, mut groups) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO, 0u32);
    let start = Instant::now();
    let mut stored = 1usize;
    for (i, e) in envelopes[1..].iter().enumerate() {
        let t0 = Instant::now();
        let v = Unverified::decode(e)
            .expect("decodes")
            .verify()
            .expect("verifies");
        let t1 = Instant::now();
        let before = c.staged();
        if let Ingest::Stored { released, .. } = c.ingest(v, now).expect("ingests") {
            stored += 1 + released.len();
        }
        let spent = t1.elapsed();
        in_verify += t1 - t0;
        in_ingest += spent;
        if c.staged() <= before {
            // This call committed its group.
            in_group += spent;
            groups += 1;
        }
        if (i + 1) % TIMER_EVERY == 0 {
            c.commit().expect("commits");
        }
    }
    c.flush().expect("flushes");
    let ingest_time = start.elapsed();
    assert_eq!(stored, n, "every entry stored");
    t.row(
        "gossip ingest: decode + verify + ingest, grouped",
        n - 1,
        ingest_time,
        true,
        Some(disk_bytes(dir.path())),
    );
    let per_entry = |d: Duration| d.as_secs_f64() * 1e6 / (n - 1) as f64;
    let ungrouped = in_ingest.saturating_sub(in_group);
    let plain_calls = (n - 1) as u32 - groups;
    t.note(format!(
        "gossip ingest per entry: decode + verify {:.1} µs, ingest {:.1} µs (judging and staging \
         about {:.1} µs; {groups} calls that committed a group took {:.0} µs each), timer \
         commits and final flush {:.1} µs",
        per_entry(in_verify),
        per_entry(in_ingest),
        ungrouped.as_secs_f64() * 1e6 / f64::from(plain_calls.max(1)),
        in_group.as_secs_f64() * 1e6 / f64::from(groups.max(1)),
        per_entry(ingest_time.saturating_sub(in_verify + in_ingest)),
    ));
    if only_ingest {
        t.print(n, bytes, Some(ingest_time), None, peak_resets);
        return;
    }

    // The same, committing after every entry (the behaviour before group commit).
    let per = (n - 1).min(PER_ENTRY_MAX);
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = Ledger::open(dir.path()).expect("opens");
        let mut c = ledger.found(charter).expect("founds");
        reset_peak();
        let start = Instant::now();
        for e in &envelopes[1..=per] {
            let v = Unverified::decode(e)
                .expect("decodes")
                .verify()
                .expect("verifies");
            c.ingest(v, now).expect("ingests");
            c.commit().expect("commits");
        }
        c.flush().expect("flushes");
        t.row(
            "  for comparison: same, one sled batch per entry",
            per,
            start.elapsed(),
            true,
            Some(disk_bytes(dir.path())),
        );
    }

    // 3. Export, then bulk import into a fresh ledger.
    let start = Instant::now();
    let mut file = Vec::with_capacity(bytes + 1024);
    let exported = c.export(&mut file).expect("exports");
    t.row(
        "export to memory",
        exported as usize,
        start.elapsed(),
        false,
        None,
    );
    drop(c);
    drop(ledger);
    drop(dir);
    drop(envelopes);

    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(dir.path()).expect("opens");
    reset_peak();
    let start = Instant::now();
    let (id, report) = ledger.import(&file[..]).expect("imports");
    let import_time = start.elapsed();
    assert_eq!(id, coop);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.stored as usize, n);
    t.row(
        "bulk import (Ledger::import, batch verify on a worker)",
        n,
        import_time,
        true,
        Some(disk_bytes(dir.path())),
    );
    t.print(n, bytes, Some(ingest_time), Some(import_time), peak_resets);
}

/// 1. The bound (decode + verify, one at a time) and its parts.
fn bound(envelopes: &[Vec<u8>], t: &mut Table) {
    let n = envelopes.len();
    reset_peak();
    let start = Instant::now();
    let mut decoded = Vec::with_capacity(n);
    for e in envelopes {
        decoded.push(Unverified::decode(e).expect("decodes"));
    }
    t.row("decode only", n, start.elapsed(), false, None);
    drop(decoded);

    // Key, signature and signed message of each envelope, ready for `sig::verify`.
    let prepared: Vec<([u8; 32], [u8; 64], Vec<u8>)> = envelopes
        .iter()
        .map(|e| {
            let v = Verified::from_trusted_store(e).expect("decodes");
            (
                *v.entry().author.as_bytes(),
                *v.signature(),
                signed_message(v.bytes()),
            )
        })
        .collect();
    let start = Instant::now();
    let mut ok = 0usize;
    for (key, sig_bytes, msg) in &prepared {
        ok += usize::from(sig::verify(sig::Item {
            key,
            msg,
            sig: sig_bytes,
        }));
    }
    t.row(
        "signature only (sig::verify on prepared messages)",
        n,
        start.elapsed(),
        true,
        None,
    );
    assert_eq!(ok, n, "every synthetic signature verifies");
    drop(prepared);

    let start = Instant::now();
    for e in envelopes {
        let v = Unverified::decode(e)
            .expect("decodes")
            .verify()
            .expect("verifies");
        std::hint::black_box(v);
    }
    let bound = start.elapsed();
    t.bound_rate = n as f64 / bound.as_secs_f64();
    t.row(
        "BOUND: decode + verify, one at a time",
        n,
        bound,
        true,
        None,
    );

    let start = Instant::now();
    for chunk in envelopes.chunks(BATCH) {
        let us: Vec<Unverified> = chunk
            .iter()
            .map(|e| Unverified::decode(e).expect("decodes"))
            .collect();
        let vs = verify_batch(us);
        assert!(vs.iter().all(Result::is_ok));
        std::hint::black_box(vs);
    }
    t.row(
        "decode + batch verify (1024 per batch, one thread)",
        n,
        start.elapsed(),
        true,
        None,
    );
}

struct Table {
    rows: Vec<Row>,
    notes: Vec<String>,
    bound_rate: f64,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            notes: Vec::new(),
            // Not measured (yet): no ratios.
            bound_rate: f64::NAN,
        }
    }
}

impl Table {
    /// Adds a row, with the peak memory since the last row; resets the peak.
    fn row(&mut self, name: &str, entries: usize, time: Duration, ratio: bool, disk: Option<u64>) {
        let r = Row {
            name: name.to_owned(),
            entries,
            time,
            ratio,
            peak_kb: status_kb("VmHWM"),
            disk,
        };
        println!("  {name}: {:.0} entries/s", r.rate());
        self.rows.push(r);
        reset_peak();
    }

    fn note(&mut self, s: String) {
        println!("  {s}");
        self.notes.push(s);
    }

    /// Prints the table, the disk sizes, the notes and the verdicts on the goals.
    fn print(
        &self,
        n: usize,
        bytes: usize,
        ingest: Option<Duration>,
        import: Option<Duration>,
        peak_resets: bool,
    ) {
        let mut out = String::new();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| {:<54} | {:>7} | {:>8} | {:>9} | {:>8} | {:>7} | {:>8} |",
            "phase", "entries", "seconds", "entries/s", "µs/entry", "/ bound", "peak RSS"
        );
        let _ = writeln!(
            out,
            "|{:-<56}|{:->9}|{:->10}|{:->11}|{:->10}|{:->9}|{:->10}|",
            "", "", "", "", "", "", ""
        );
        for r in &self.rows {
            let ratio = if r.ratio && self.bound_rate.is_finite() {
                format!("{:.2}", r.rate() / self.bound_rate)
            } else {
                "-".to_owned()
            };
            let _ = writeln!(
                out,
                "| {:<54} | {:>7} | {:>8.2} | {:>9.0} | {:>8.1} | {:>7} | {:>8} |",
                r.name,
                r.entries,
                r.time.as_secs_f64(),
                r.rate(),
                r.time.as_secs_f64() * 1e6 / r.entries as f64,
                ratio,
                r.peak_kb.map_or("?".to_owned(), mb),
            );
        }
        let _ = writeln!(out);
        for r in self.rows.iter().filter(|r| r.disk.is_some()) {
            let d = r.disk.unwrap_or(0);
            let _ = writeln!(
                out,
                "on disk after \"{}\": {:.1} MB ({:.0} bytes per entry; envelopes average {})",
                r.name.trim(),
                d as f64 / 1e6,
                d as f64 / r.entries as f64,
                bytes / n.max(1)
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "{note}");
        }
        let verdict = |name: &str, entries: usize, d: Option<Duration>, goal: f64| {
            d.filter(|_| self.bound_rate.is_finite()).map(|d| {
                let ratio = entries as f64 / d.as_secs_f64() / self.bound_rate;
                let met = if ratio >= goal { "met" } else { "MISSED" };
                format!("{name} / bound = {ratio:.2} (goal >= {goal}: {met})")
            })
        };
        let verdicts: Vec<String> = [
            verdict("gossip ingest", n - 1, ingest, 0.8),
            verdict("import", n, import, 1.0),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !verdicts.is_empty() {
            let _ = writeln!(out, "{}", verdicts.join("; "));
        }
        if !peak_resets {
            let _ = writeln!(
                out,
                "(peak RSS could not be reset between phases: each figure is the process peak so far)"
            );
        }
        print!("{out}");
    }
}
