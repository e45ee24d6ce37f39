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
//! 1. the bound: decoding an envelope and verifying its signature alone with
//!    ed25519-dalek's `verify_strict` (`Unverified::decode`, then the library's single
//!    check), the least any node must do per entry it receives; then the same with
//!    taawun's own single check (`Unverified::verify`: the rule's equation, about a
//!    fifth cheaper), against which the gossip ingest's ratio is also printed; beside
//!    them, decoding alone, the signature check alone on prepared messages, and decoding
//!    with batch verification;
//! 2. gossip-style ingest into a fresh sled ledger: decode + verify + `CoopLedger::ingest`
//!    one envelope at a time, with `commit()` every [`TIMER_EVERY`] entries (the owner's
//!    timer) and a final flush; and, for comparison, the same with a commit after every
//!    entry (the behaviour before group commit);
//! 3. export of that ledger into memory, and bulk import of the file into a fresh ledger
//!    (`Ledger::import`: batch verification on a worker thread).
//!
//! `TAAWUN_BENCH_ONLY=ingest` runs only the bound and the gossip ingest, and
//! `TAAWUN_BENCH_ONLY=import` only the bound and the import (of a file built from the
//! generated envelopes, byte for byte what the export writes): to profile one path alone
//! (e.g. under `perf record`), and to read its memory without earlier phases' leftovers
//! (the allocator keeps freed memory, so resident memory only grows within a process).
//!
//! Goals: gossip ingest at least 0.8 of the bound, import at least 1.0. For each phase it
//! prints wall-clock and CPU time (the calling thread's and the whole process's, so
//! sled's background threads and the import's worker count), resident memory at the
//! start and at the peak (VmHWM, reset between phases through /proc/self/clear_refs when
//! the kernel allows it), and for the ledgers the data directory's size. The gossip phase
//! also splits its time per entry: verification, judging and staging, group commits.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};
use taawun_core::entry::{signed_message, verify_batch, Unverified};
use taawun_core::sig;
use taawun_core::synth::{self, Params};
use taawun_core::{Timestamp, Verified};
use taawun_ledger::{Ingest, Ledger};

/// Entries generated unless `TAAWUN_BENCH_ENTRIES` says otherwise.
const DEFAULT_ENTRIES: usize = 100_000;

/// The environment variable that sets the number of entries.
const ENTRIES_VAR: &str = "TAAWUN_BENCH_ENTRIES";

/// The environment variable that, set to `ingest` or `import`, runs only that path (and the
/// bound).
const ONLY_VAR: &str = "TAAWUN_BENCH_ONLY";

/// Gossip ingest calls `commit()` every this many entries: the node's timer
/// (`COMMIT_INTERVAL`, 250 ms) at about 20,000 entries a second.
const TIMER_EVERY: usize = 5_000;

/// Entries of the commit-per-entry comparison at most: it is slow and only a reference.
const PER_ENTRY_MAX: usize = 20_000;

/// Envelopes per batch verification in the bound's batch row (as the import).
const BATCH: usize = taawun_ledger::import::IMPORT_CHUNK;

/// The seed of the synthetic cooperative.
const SEED: u64 = 20_240_601;

/// Members and requesters: a mid-sized cooperative.
const MEMBERS: usize = 24;
const REQUESTERS: usize = 6;

/// CPU time used so far: (this thread, the whole process), from /proc (Linux; zero
/// elsewhere). Clock ticks are 1/100 s on every Linux platform in use.
fn cpu_now() -> (Duration, Duration) {
    let read = |path: &str| -> Duration {
        let Ok(stat) = std::fs::read_to_string(path) else {
            return Duration::ZERO;
        };
        // Fields after the command name (which may hold spaces) end with ')'.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<u64> = rest
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|x| x.parse().ok())
            .collect();
        Duration::from_millis(f.iter().sum::<u64>() * 10)
    };
    (read("/proc/thread-self/stat"), read("/proc/self/stat"))
}

/// The start of a measured phase.
struct Phase {
    wall: Instant,
    cpu: (Duration, Duration),
    rss_kb: Option<u64>,
}

/// What a phase took: wall-clock time, CPU time of the calling thread and of the whole
/// process (sled's and the import's worker threads included).
#[derive(Clone, Copy)]
struct Took {
    wall: Duration,
    thread_cpu: Duration,
    process_cpu: Duration,
    /// Resident memory when the phase started (the benchmark's own data included).
    rss_kb: Option<u64>,
}

impl Phase {
    fn start() -> Self {
        Self {
            rss_kb: status_kb("VmRSS"),
            cpu: cpu_now(),
            wall: Instant::now(),
        }
    }

    fn stop(&self) -> Took {
        let wall = self.wall.elapsed();
        let (t, p) = cpu_now();
        Took {
            wall,
            thread_cpu: t.saturating_sub(self.cpu.0),
            process_cpu: p.saturating_sub(self.cpu.1),
            rss_kb: self.rss_kb,
        }
    }
}

struct Row {
    name: String,
    entries: usize,
    took: Took,
    ratio: bool,
    peak_kb: Option<u64>,
    disk: Option<u64>,
}

impl Row {
    fn rate(&self) -> f64 {
        self.entries as f64 / self.took.wall.as_secs_f64()
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
    format!("{:.0}", kb as f64 / 1024.0)
}

fn main() {
    let entries: usize = std::env::var(ENTRIES_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ENTRIES);
    let peak_resets = reset_peak();
    println!("taawun-ledger throughput: {entries} entries (set {ENTRIES_VAR} to change)");

    // The synthetic cooperative.
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
    let only = std::env::var(ONLY_VAR).unwrap_or_default();
    let mut t = Table::default();
    if only.is_empty() {
        parts_of_the_bound(&envelopes, &mut t);
    }
    bound(&envelopes, &mut t);
    let charter = Unverified::decode(&envelopes[0])
        .expect("decodes")
        .verify()
        .expect("verifies");

    let mut ingest_time = None;
    let file = if only == "import" {
        // The file an export of the gossip ledger writes: the header, then the entries in
        // the order stored.
        let mut file = taawun_ledger::export::header_bytes(&coop);
        for e in &envelopes {
            file.extend_from_slice(e);
        }
        file
    } else {
        let (took, file) = gossip(&envelopes, &charter, now, &mut t);
        ingest_time = Some(took);
        t.burst = Some(gossip_bursts(&envelopes, &charter, now, &mut t));
        if only == "ingest" {
            t.print(n, bytes, ingest_time, None, peak_resets);
            return;
        }
        per_entry_batches(&envelopes, &charter, now, &mut t);
        file
    };
    drop(envelopes);

    // Bulk import into a fresh ledger.
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(dir.path()).expect("opens");
    reset_peak();
    let start = Phase::start();
    let (id, report) = ledger.import(&file[..]).expect("imports");
    let import = start.stop();
    assert_eq!(id, coop);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.stored as usize, n);
    t.row(
        "bulk import (Ledger::import, batch verify on a worker)",
        n,
        import,
        true,
        Some(disk_bytes(dir.path())),
    );
    t.print(n, bytes, ingest_time, Some(import.wall), peak_resets);
}

/// Gossip-style ingest, one envelope at a time, into a fresh ledger; then its export.
/// Returns the ingest's wall-clock time and the export file.
fn gossip(
    envelopes: &[Vec<u8>],
    charter: &Verified,
    now: Option<Timestamp>,
    t: &mut Table,
) -> (Duration, Vec<u8>) {
    let n = envelopes.len();
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(dir.path()).expect("opens");
    let mut c = ledger.found(charter.clone()).expect("founds");
    reset_peak();
    let (mut in_verify, mut in_ingest, mut in_group, mut groups) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO, 0u32);
    let start = Phase::start();
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
    let ingest = start.stop();
    assert_eq!(stored, n, "every entry stored");
    t.row(
        "gossip ingest: decode + verify + ingest, grouped",
        n - 1,
        ingest,
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
        per_entry(ingest.wall.saturating_sub(in_verify + in_ingest)),
    ));

    let start = Phase::start();
    let mut file = Vec::new();
    let exported = c.export(&mut file).expect("exports");
    t.row(
        "export to memory",
        exported as usize,
        start.stop(),
        false,
        None,
    );
    (ingest.wall, file)
}

/// Gossip messages the network task judges together when they arrive faster than it
/// judges them: `taawun_net::node::GOSSIP_BURST` (the task takes every event already
/// waiting, up to this many, then verifies their signatures as one batch).
const BURST: usize = 64;

/// [`gossip`] as the network task does it under load: envelopes in bursts of [`BURST`],
/// each burst decoded and batch-verified (`check_envelopes`), then ingested one by one;
/// the same timer commits. Returns the ingest's wall-clock time.
fn gossip_bursts(
    envelopes: &[Vec<u8>],
    charter: &Verified,
    now: Option<Timestamp>,
    t: &mut Table,
) -> Duration {
    let n = envelopes.len();
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(dir.path()).expect("opens");
    let mut c = ledger.found(charter.clone()).expect("founds");
    reset_peak();
    let start = Phase::start();
    let mut stored = 1usize;
    let mut since_commit = 0usize;
    for burst in envelopes[1..].chunks(BURST) {
        let checked = taawun_core::entry::check_envelopes(
            burst.iter().map(Vec::as_slice),
            taawun_core::entry::Until::End,
        );
        for ch in checked {
            let v = ch.verified().expect("verifies");
            if let Ingest::Stored { released, .. } = c.ingest(v, now).expect("ingests") {
                stored += 1 + released.len();
            }
            since_commit += 1;
            if since_commit == TIMER_EVERY {
                c.commit().expect("commits");
                since_commit = 0;
            }
        }
    }
    c.flush().expect("flushes");
    let took = start.stop();
    assert_eq!(stored, n, "every entry stored");
    t.row(
        "gossip ingest in bursts of 64 (batch verify)",
        n - 1,
        took,
        true,
        Some(disk_bytes(dir.path())),
    );
    took.wall
}

/// The same as [`gossip`] with a commit after every entry (the behaviour before group
/// commit), on at most [`PER_ENTRY_MAX`] entries.
fn per_entry_batches(
    envelopes: &[Vec<u8>],
    charter: &Verified,
    now: Option<Timestamp>,
    t: &mut Table,
) {
    let per = (envelopes.len() - 1).min(PER_ENTRY_MAX);
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(dir.path()).expect("opens");
    let mut c = ledger.found(charter.clone()).expect("founds");
    reset_peak();
    let start = Phase::start();
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
        start.stop(),
        true,
        Some(disk_bytes(dir.path())),
    );
}

/// The bound: decoding an envelope and checking its signature with ed25519-dalek's
/// `verify_strict` (the library's single check, which taawun's single check was until it
/// checked the rule's equation itself), one envelope at a time. Then the same with
/// taawun's own check (`Unverified::verify`), which is what a node runs.
fn bound(envelopes: &[Vec<u8>], t: &mut Table) {
    let n = envelopes.len();
    // The decoder makes the same message, so only this copy is left out of the loop.
    let prepared = prepared(envelopes);
    reset_peak();
    let start = Phase::start();
    for (e, (key, sig_bytes, msg)) in envelopes.iter().zip(&prepared) {
        let u = Unverified::decode(e).expect("decodes");
        let key = ed25519_dalek::VerifyingKey::from_bytes(key).expect("a key");
        key.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig_bytes))
            .expect("verifies");
        std::hint::black_box(u);
    }
    let bound = start.stop();
    t.bound_rate = n as f64 / bound.wall.as_secs_f64();
    t.bound_cpu_rate = n as f64 / bound.process_cpu.as_secs_f64();
    t.row(
        "BOUND: decode + ed25519-dalek verify_strict, singly",
        n,
        bound,
        true,
        None,
    );
    drop(prepared);

    let start = Phase::start();
    for e in envelopes {
        let v = Unverified::decode(e)
            .expect("decodes")
            .verify()
            .expect("verifies");
        std::hint::black_box(v);
    }
    let own = start.stop();
    t.own_rate = n as f64 / own.wall.as_secs_f64();
    t.row(
        "decode + verify (taawun's check), one at a time",
        n,
        own,
        true,
        None,
    );
}

/// Key, signature and signed message of each envelope, ready for a signature check alone.
fn prepared(envelopes: &[Vec<u8>]) -> Vec<([u8; 32], [u8; 64], Vec<u8>)> {
    envelopes
        .iter()
        .map(|e| {
            let v = Unverified::decode(e)
                .expect("decodes")
                .verify()
                .expect("signed");
            (
                *v.entry().author.as_bytes(),
                *v.signature(),
                signed_message(v.bytes()),
            )
        })
        .collect()
}

/// The parts of the bound, and batch verification beside it.
fn parts_of_the_bound(envelopes: &[Vec<u8>], t: &mut Table) {
    let n = envelopes.len();
    reset_peak();
    let start = Phase::start();
    let mut decoded = Vec::with_capacity(n);
    for e in envelopes {
        decoded.push(Unverified::decode(e).expect("decodes"));
    }
    t.row("decode only", n, start.stop(), false, None);
    drop(decoded);

    let prepared = prepared(envelopes);
    let start = Phase::start();
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
        start.stop(),
        true,
        None,
    );
    assert_eq!(ok, n, "every synthetic signature verifies");
    drop(prepared);

    let start = Phase::start();
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
        start.stop(),
        true,
        None,
    );
}

struct Table {
    rows: Vec<Row>,
    notes: Vec<String>,
    bound_rate: f64,
    /// The bound per second of CPU time of all threads.
    bound_cpu_rate: f64,
    /// Decoding and taawun's own single check, per second.
    own_rate: f64,
    /// Wall-clock time of the gossip ingest in bursts, for its verdict.
    burst: Option<Duration>,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            notes: Vec::new(),
            // Not measured (yet): no ratios.
            bound_rate: f64::NAN,
            bound_cpu_rate: f64::NAN,
            own_rate: f64::NAN,
            burst: None,
        }
    }
}

impl Table {
    /// Adds a row, with the peak memory since the last row; resets the peak.
    fn row(&mut self, name: &str, entries: usize, took: Took, ratio: bool, disk: Option<u64>) {
        let r = Row {
            name: name.to_owned(),
            entries,
            took,
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
            "| {:<54} | {:>7} | {:>7} | {:>9} | {:>8} | {:>7} | {:>13} | {:>11} | {:>15} |",
            "phase",
            "entries",
            "seconds",
            "entries/s",
            "µs/entry",
            "/ bound",
            "CPU s thr/all",
            "/ bound CPU",
            "RSS MB start/pk"
        );
        let _ = writeln!(
            out,
            "|{:-<56}|{:->9}|{:->9}|{:->11}|{:->10}|{:->9}|{:->15}|{:->13}|{:->17}|",
            "", "", "", "", "", "", "", "", ""
        );
        for r in &self.rows {
            let (ratio, cpu_ratio) = if r.ratio && self.bound_rate.is_finite() {
                let per_cpu = r.entries as f64 / r.took.process_cpu.as_secs_f64();
                (
                    format!("{:.2}", r.rate() / self.bound_rate),
                    format!("{:.2}", per_cpu / self.bound_cpu_rate),
                )
            } else {
                ("-".to_owned(), "-".to_owned())
            };
            let _ = writeln!(
                out,
                "| {:<54} | {:>7} | {:>7.2} | {:>9.0} | {:>8.1} | {:>7} | {:>13} | {:>11} | {:>15} |",
                r.name,
                r.entries,
                r.took.wall.as_secs_f64(),
                r.rate(),
                r.took.wall.as_secs_f64() * 1e6 / r.entries as f64,
                ratio,
                format!(
                    "{:.2}/{:.2}",
                    r.took.thread_cpu.as_secs_f64(),
                    r.took.process_cpu.as_secs_f64()
                ),
                cpu_ratio,
                format!(
                    "{}/{}",
                    r.took.rss_kb.map_or("?".to_owned(), mb),
                    r.peak_kb.map_or("?".to_owned(), mb)
                ),
            );
        }
        let _ = writeln!(
            out,
            "(\"/ bound\": entries per second of wall-clock time over the bound's; \"/ bound CPU\": \
             entries per CPU-second of all threads over the bound's, i.e. the cost on one core; \
             RSS: resident memory when the phase started, and its peak during the phase, the \
             benchmark's own copy of the envelopes included)"
        );
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
            verdict("gossip ingest in bursts of 64", n - 1, self.burst, 0.8),
            verdict("import", n, import, 1.0),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !verdicts.is_empty() {
            let _ = writeln!(out, "{}", verdicts.join("; "));
        }
        if let Some(d) = ingest.filter(|_| self.own_rate.is_finite()) {
            let _ = writeln!(
                out,
                "gossip ingest / decode + taawun's own check = {:.2} (what judging and storing \
                 cost beside the check a node makes anyway)",
                (n - 1) as f64 / d.as_secs_f64() / self.own_rate
            );
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
