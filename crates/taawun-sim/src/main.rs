//! `taawun-sim`: runs seeded simulations of a taawun network and reports the first broken
//! invariant with its seed (see the library's documentation).

use anyhow::bail;
use clap::Parser;
use std::time::Instant;
use taawun_sim::{run, Config};

/// Runs seeded simulations of a taawun network.
#[derive(Debug, Parser)]
#[command(name = "taawun-sim", version)]
struct Args {
    /// Run this one seed (replays a failure exactly).
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// Run this many seeds, from --first on.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// The first seed of a series.
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// Nodes per run (default: drawn from the seed, 3 to 8).
    #[arg(long)]
    nodes: Option<usize>,
    /// Entries per run, about (default: drawn from the seed, 120 to 240). Governance
    /// counts: the charter, a vote per member for the floor (half the nodes, up to 200)
    /// and two entries per device (the nodes beyond the members, requesters and
    /// witnesses), so a run of several hundred nodes needs well over that for any work.
    #[arg(long)]
    entries: Option<usize>,
    /// Go on after a failure and count them all.
    #[arg(long)]
    keep_going: bool,
    /// Keep the hostile node from forking chains (it forks by default).
    #[arg(long)]
    no_forks: bool,
    /// Appeal half the rejections, so that results also go to jurors' nodes.
    #[arg(long)]
    appeals: bool,
}

fn config(args: &Args, seed: u64) -> Config {
    let mut c = sized(args, seed);
    if args.no_forks {
        c.forks = false;
    }
    c.appeals = args.appeals;
    c
}

fn sized(args: &Args, seed: u64) -> Config {
    match (args.nodes, args.entries) {
        (None, None) => Config::from_seed(seed),
        (nodes, entries) => {
            let base = Config::from_seed(seed);
            Config::sized(
                seed,
                nodes.unwrap_or(base.nodes),
                entries.unwrap_or(base.entries),
            )
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None => (args.first..args.first.saturating_add(args.seeds)).collect(),
    };
    let started = Instant::now();
    let mut failed = Vec::new();
    let mut ran = 0usize;
    for (i, seed) in seeds.iter().enumerate() {
        ran += 1;
        let cfg = config(&args, *seed);
        let t = Instant::now();
        match run(&cfg) {
            Ok(r) => {
                if args.seed.is_some() || (i + 1) % 50 == 0 || i + 1 == seeds.len() {
                    let peering = if r.opened > 0 {
                        format!(
                            ", {} connections opened by lookups ({} closed over the peer target)",
                            r.opened, r.closed
                        )
                    } else {
                        String::new()
                    };
                    println!(
                        "seed {}: ok, {} nodes{peering}, {} entries, {} written, {} messages ({} lost, {} doubled), {} crashes ({} torn, {} restored), {} partitions, {} hostile acts ({} proofs superseded, {} proven again), {} results delivered ({} to jurors), converged {:.0} s after the heal, {:.0} s simulated in {:.2} s; {} of {} seeds done",
                        r.seed,
                        r.nodes,
                        r.entries,
                        r.written,
                        r.messages,
                        r.dropped,
                        r.duplicated,
                        r.crashes,
                        r.torn,
                        r.restores,
                        r.partitions,
                        r.hostile_acts,
                        r.superseded,
                        r.reproved,
                        r.results,
                        r.juror_results,
                        r.converged_ms as f64 / 1000.0,
                        r.simulated_ms as f64 / 1000.0,
                        t.elapsed().as_secs_f64(),
                        i + 1,
                        seeds.len()
                    );
                }
            }
            Err(f) => {
                println!("FAILED {f}");
                failed.push(*seed);
                if !args.keep_going {
                    break;
                }
            }
        }
    }
    println!(
        "{} seeds run in {:.1} s, {} failed{}",
        ran,
        started.elapsed().as_secs_f64(),
        failed.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(": {failed:?}")
        }
    );
    if !failed.is_empty() {
        bail!("{} seeds failed", failed.len());
    }
    Ok(())
}
