//! How fast and in how little memory the audit runs, against the bound of plain ed25519
//! batch verification on the same machine. Prints figures, asserts nothing.
//!
//! ```sh
//! cargo bench -p taawun-audit --bench audit                         # 1,000,000 entries
//! TAAWUN_BENCH_ENTRIES=100000 cargo bench -p taawun-audit --bench audit
//! ```
//!
//! 1. A synthetic ledger is written once to a file in the system's temporary directory
//!    (kept and reused by later runs with the same size; `TAAWUN_BENCH_FRESH=1` rewrites it).
//! 2. The bound: `ed25519_dalek::verify_batch` over the file's own signatures, prepared in
//!    memory (keys parsed, messages built), groups of [`GROUP`], on `TAAWUN_BENCH_THREADS`
//!    (2) threads, each taking half. Then the same loop with the batch the audit uses,
//!    `taawun_core::sig::verify_batch` (one term per distinct key), so that what the audit
//!    spends beyond verifying shows apart from what its batch saves.
//! 3. The audit of the file, in a child process (this benchmark run again with
//!    `TAAWUN_AUDIT_CHILD` set) so that its peak memory (VmHWM) is the audit's alone, not
//!    that of generating the ledger.

use ed25519_dalek::{Signature, VerifyingKey};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use taawun_core::entry::signed_message;
use taawun_core::sig;
use taawun_core::synth::{self, Params};
use taawun_core::Unverified;
use taawun_ledger::export::{header_bytes, Items};

/// Signatures per ed25519 batch in the bound, as in the audit.
const GROUP: usize = taawun_audit::read::VERIFY_GROUP;

/// Signatures in the bound's sample: enough for a steady rate, few enough to prepare fast.
const BOUND_SAMPLE: usize = 200_000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system, all threads) this process has used: /proc/self/stat
/// fields 14 and 15, in clock ticks of 1/100 s (Linux's USER_HZ).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // After the command name: field 3 is index 0, so utime (14) is 11 and stime (15) 12.
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / 100.0
}

fn child(path: &str) {
    let c = cpu_secs();
    let t = Instant::now();
    let r = taawun_audit::audit_file(
        Path::new(path),
        &taawun_audit::Options::default(),
        &mut |_| {},
    )
    .expect("the ledger is readable");
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_secs() - c;
    println!(
        "CHILD entries={} secs={secs:.3} cpu={cpu:.2} vmhwm_kb={} clean={} violations={}",
        r.valid_entries,
        vm_hwm_kb(),
        r.is_clean(),
        r.violations.count
    );
}

fn generate(path: &Path, entries: usize) {
    let t = Instant::now();
    let mut w = BufWriter::new(File::create(path).expect("create the ledger file"));
    let mut n = 0usize;
    let mut next_report = 100_000;
    let p = Params {
        seed: 20240601,
        members: 24,
        requesters: 6,
        entries,
        // 2020-09-13: a million entries end long before today.
        start: 1_600_000_000_000,
    };
    synth::stream(&p, &mut |v| {
        if n == 0 {
            w.write_all(&header_bytes(&v.id())).expect("write");
        }
        w.write_all(&v.envelope()).expect("write");
        n += 1;
        if n == next_report {
            next_report += 100_000;
            eprintln!(
                "  generated {n} entries ({:.0} s)",
                t.elapsed().as_secs_f64()
            );
        }
    });
    w.flush().expect("flush");
    eprintln!(
        "generated {n} entries in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

struct Prepared {
    msgs: Vec<Vec<u8>>,
    sigs: Vec<Signature>,
    keys: Vec<VerifyingKey>,
    key_bytes: Vec<[u8; 32]>,
    sig_bytes: Vec<[u8; 64]>,
}

fn prepare(path: &Path, n: usize) -> Prepared {
    let mut items = Items::new(BufReader::new(File::open(path).expect("open")));
    items.header().expect("header");
    let mut p = Prepared {
        msgs: Vec::with_capacity(n),
        sigs: Vec::with_capacity(n),
        keys: Vec::with_capacity(n),
        key_bytes: Vec::with_capacity(n),
        sig_bytes: Vec::with_capacity(n),
    };
    while p.msgs.len() < n {
        let Some(item) = items.next_item().expect("readable") else {
            break;
        };
        let Ok(raw) = item.raw else { continue };
        let u = Unverified::decode(&raw).expect("decodes");
        let v = u.verify().expect("valid");
        p.msgs.push(signed_message(v.bytes()));
        p.sigs.push(Signature::from_bytes(v.signature()));
        p.keys
            .push(VerifyingKey::from_bytes(v.entry().author.as_bytes()).expect("a key"));
        p.key_bytes.push(*v.entry().author.as_bytes());
        p.sig_bytes.push(*v.signature());
    }
    p
}

/// Which batch the bound's loop runs.
#[derive(Clone, Copy)]
enum Batch {
    /// `ed25519_dalek::verify_batch`.
    Dalek,
    /// `taawun_core::sig::verify_batch`, the audit's.
    Taawun,
}

/// Verifies signatures `i..j` of `p` as one batch.
fn verify(p: &Prepared, batch: Batch, i: usize, j: usize) {
    match batch {
        Batch::Dalek => {
            let msgs: Vec<&[u8]> = p.msgs[i..j].iter().map(Vec::as_slice).collect();
            ed25519_dalek::verify_batch(&msgs, &p.sigs[i..j], &p.keys[i..j])
                .expect("valid signatures");
        }
        Batch::Taawun => {
            let items: Vec<sig::Item<'_>> = (i..j)
                .map(|k| sig::Item {
                    key: &p.key_bytes[k],
                    msg: &p.msgs[k],
                    sig: &p.sig_bytes[k],
                })
                .collect();
            assert!(
                sig::verify_batch(&items).iter().all(|ok| *ok),
                "valid signatures"
            );
        }
    }
}

/// Signatures per second of wall time, and CPU seconds per signature.
fn bound(p: &Prepared, threads: usize, batch: Batch) -> (f64, f64) {
    let n = p.msgs.len();
    let per = n.div_ceil(threads);
    let c = cpu_secs();
    let t = Instant::now();
    std::thread::scope(|s| {
        for k in 0..threads {
            let lo = (k * per).min(n);
            let hi = ((k + 1) * per).min(n);
            s.spawn(move || {
                let mut i = lo;
                while i < hi {
                    let j = (i + GROUP).min(hi);
                    verify(p, batch, i, j);
                    i = j;
                }
            });
        }
    });
    (
        n as f64 / t.elapsed().as_secs_f64(),
        (cpu_secs() - c) / n as f64,
    )
}

fn main() {
    if let Ok(path) = std::env::var("TAAWUN_AUDIT_CHILD") {
        child(&path);
        return;
    }
    let entries = env("TAAWUN_BENCH_ENTRIES", 1_000_000) as usize;
    let threads = env("TAAWUN_BENCH_THREADS", 2) as usize;
    let path: PathBuf = std::env::temp_dir().join(format!("taawun-audit-bench-{entries}.taawun"));
    if !path.exists() || std::env::var_os("TAAWUN_BENCH_FRESH").is_some() {
        eprintln!(
            "writing a synthetic ledger of {entries} entries to {}",
            path.display()
        );
        generate(&path, entries);
    } else {
        eprintln!("reusing {}", path.display());
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let prepared = prepare(&path, BOUND_SAMPLE.min(entries));
    // Warm up once, then measure.
    let _ = bound(&prepared, threads, Batch::Dalek);
    let (bound_rate, bound_cpu) = bound(&prepared, threads, Batch::Dalek);
    let _ = bound(&prepared, threads, Batch::Taawun);
    let (own_rate, own_cpu) = bound(&prepared, threads, Batch::Taawun);
    println!(
        "bound: ed25519_dalek::verify_batch, groups of {GROUP}, {threads} threads, {} signatures: {bound_rate:.0} signatures/s, {:.1} us CPU each",
        prepared.msgs.len(),
        bound_cpu * 1e6
    );
    println!(
        "the audit's batch in the same loop: taawun_core::sig::verify_batch (keys merged), groups of {GROUP}: {own_rate:.0} signatures/s, {:.1} us CPU each, {:.2} of the bound's CPU",
        own_cpu * 1e6,
        own_cpu / bound_cpu
    );
    drop(prepared);

    let exe = std::env::current_exe().expect("own path");
    let t = Instant::now();
    let out = Command::new(exe)
        .env("TAAWUN_AUDIT_CHILD", &path)
        .output()
        .expect("the audit child runs");
    let wall = t.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("CHILD "))
        .unwrap_or_else(|| {
            panic!(
                "no figures from the child: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let field = |k: &str| -> f64 {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let (n, secs, cpu, hwm) = (
        field("entries"),
        field("secs"),
        field("cpu"),
        field("vmhwm_kb"),
    );
    let rate = n / secs;
    println!(
        "audit: {n:.0} entries ({:.1} MB) in {secs:.2} s (process {wall:.2} s): {rate:.0} entries/s, {:.2} of the bound (goal >= 0.8)",
        size as f64 / 1e6,
        rate / bound_rate
    );
    println!(
        "audit CPU: {:.1} us per entry (all threads), {:.2} of the bound's CPU per signature (the ratio the audit would reach with the cores to itself)",
        cpu / n * 1e6,
        bound_cpu / (cpu / n)
    );
    println!(
        "audit beyond its own batch: {:.2} wall, {:.2} CPU (the audit against the same loop with the batch it uses: what framing, decoding, judging and the books cost)",
        rate / own_rate,
        own_cpu / (cpu / n)
    );
    println!(
        "audit peak memory (VmHWM of the audit process): {:.0} MB (goal < 300 MB)",
        hwm / 1024.0
    );
    println!("{line}");
}
