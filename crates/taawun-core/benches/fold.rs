//! Reads of a folded cooperative: what a page view or an API call pays. Prints figures,
//! asserts nothing.
//!
//! ```text
//! cargo bench -p taawun-core --bench fold
//! TAAWUN_BENCH_ENTRIES=50000 cargo bench -p taawun-core --bench fold
//! ```
//!
//! One run generates a synthetic cooperative (seeded, so every run folds the same
//! entries), folds it into a `Coop`, then measures on that one state:
//!
//! 1. `witnessed()` and `timeline()`, the first call and the mean of repeated calls (the
//!    state's governance timeline and witnessed times are built once per state of the
//!    fold, so a repeated call costs a look-up);
//! 2. `submission(id, now)` for some submissions spread over the ledger, against
//!    `submissions(now)`, the whole list;
//! 3. `offer(id, now)` for some offers.
//!
//! The first call of each read is measured on a state folded afresh (a clone would keep
//! what its original built), the repeated calls on that same state after it.

use std::hint::black_box;
use std::time::{Duration, Instant};
use taawun_core::fold::Coop;
use taawun_core::synth::{self, Params};
use taawun_core::Kind;

/// Entries generated unless `TAAWUN_BENCH_ENTRIES` says otherwise.
const DEFAULT_ENTRIES: usize = 20_000;

/// The environment variable that sets the number of entries.
const ENTRIES_VAR: &str = "TAAWUN_BENCH_ENTRIES";

/// The seed of the synthetic cooperative (the ledger benchmark's).
const SEED: u64 = 20_240_601;

/// Members and requesters: a mid-sized cooperative.
const MEMBERS: usize = 24;
const REQUESTERS: usize = 6;

/// Repeated calls of each measured read.
const REPEATS: usize = 20;

/// Mean time of `f` over `n` calls.
fn mean(n: usize, mut f: impl FnMut(usize)) -> Duration {
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    t.elapsed() / u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

fn us(d: Duration) -> String {
    format!("{:>12.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let entries: usize = std::env::var(ENTRIES_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ENTRIES);
    println!("taawun-core fold reads: {entries} entries (set {ENTRIES_VAR} to change)");
    let t = Instant::now();
    let s = synth::generate(&Params {
        seed: SEED,
        members: MEMBERS,
        requesters: REQUESTERS,
        entries,
        ..Params::default()
    });
    let gen_time = t.elapsed();
    let now = s.end;
    let entries = s.entries;
    let fold = || {
        let mut coop = Coop::new();
        for v in &entries {
            coop.apply(v.clone());
        }
        coop
    };
    let t = Instant::now();
    let coop = fold();
    println!(
        "generated {} entries ({MEMBERS} members, {REQUESTERS} requesters, seed {SEED}) in {:.1} s, folded in {:.2} s",
        coop.len(),
        gen_time.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    let subs: Vec<_> = coop.submissions(now).iter().map(|s| s.id).collect();
    let offers: Vec<_> = coop.ids(Kind::Offer).copied().collect();
    let pick = |all: &[taawun_core::Id]| -> Vec<taawun_core::Id> {
        let step = (all.len() / REPEATS).max(1);
        all.iter().step_by(step).take(REPEATS).copied().collect()
    };
    let (some_subs, some_offers) = (pick(&subs), pick(&offers));
    println!(
        "{} submissions, {} offers; {REPEATS} calls of each read\n",
        subs.len(),
        offers.len()
    );
    println!("{:<44} {:>15}", "read", "per call");

    let row = |name: &str, d: Duration| println!("{name:<44} {}", us(d));

    let fresh = fold();
    row(
        "witnessed(), first call on a state",
        mean(1, |_| {
            black_box(fresh.witnessed().len());
        }),
    );
    row(
        "witnessed(), repeated",
        mean(REPEATS, |_| {
            black_box(fresh.witnessed().len());
        }),
    );
    let fresh = fold();
    row(
        "timeline(), first call on a state",
        mean(1, |_| {
            black_box(fresh.timeline().is_some());
        }),
    );
    row(
        "timeline(), repeated",
        mean(REPEATS, |_| {
            black_box(fresh.timeline().is_some());
        }),
    );
    let fresh = fold();
    row(
        "submissions(now), first call on a state",
        mean(1, |_| {
            black_box(fresh.submissions(now).len());
        }),
    );
    row(
        "submissions(now), repeated",
        mean(REPEATS, |_| {
            black_box(fresh.submissions(now).len());
        }),
    );
    let fresh = fold();
    row(
        "submission(id, now), first call on a state",
        mean(1, |_| {
            black_box(fresh.submission(&some_subs[0], now).is_some());
        }),
    );
    row(
        "submission(id, now), repeated",
        mean(some_subs.len(), |i| {
            black_box(fresh.submission(&some_subs[i], now).is_some());
        }),
    );
    row(
        "offer(id, now), repeated",
        mean(some_offers.len(), |i| {
            black_box(fresh.offer(&some_offers[i], now).is_some());
        }),
    );
}
