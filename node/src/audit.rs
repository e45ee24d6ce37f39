//! `taawun audit` (verify a ledger and report on rules and pay), `taawun ledger verify`
//! (verify it and summarise it) and `taawun ledger synth` (write a realistic synthetic
//! ledger).
//!
//! `audit` and `ledger verify` give one verdict on one file, decided by
//! [`taawun_ledger::Verdict`]: exit 0 clean (entries, and every rule held), 1 a rule was
//! broken, 2 the ledger could not be read or holds no entries (nothing was verified).

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};
use taawun_audit::Options;
use taawun_core::synth::{self, Params};
use taawun_core::Id;
use taawun_ledger::disclose::{self, Disclosures};
use taawun_ledger::export::header_bytes;
use taawun_ledger::verdict::EXIT_UNREADABLE;

/// Files smaller than this are audited without a progress bar: they take well under a
/// second.
const PROGRESS_MIN_BYTES: u64 = 16 * 1024 * 1024;

/// Arguments of `taawun audit`.
#[derive(Args, Debug)]
pub(crate) struct AuditArgs {
    /// The ledger: an export file (`taawun ledger export`), or a node's data folder.
    ledger: PathBuf,
    /// Print the full report as JSON instead of the summary.
    #[arg(long)]
    json: bool,
    /// Also write the report as one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Which cooperative of a data folder (its id in hex); needed when it holds several.
    #[arg(long)]
    coop: Option<String>,
    /// Count unpaid dues as overdue after this many days (the protocol sets no term).
    #[arg(long, default_value_t = 14)]
    overdue_days: u64,
    /// The keys disclosed beside an export file (default: `FILE.keys` when it exists),
    /// or for the ledger of a data folder: the sealed fields they open are read into the
    /// report.
    #[arg(long, value_name = "KEYS")]
    disclosures: Option<PathBuf>,
}

/// Arguments of `taawun ledger synth`.
#[derive(Args, Debug)]
pub(crate) struct SynthArgs {
    /// About how many entries to write.
    #[arg(long, default_value_t = 1000)]
    entries: usize,
    /// Members (workers), founders included.
    #[arg(long, default_value_t = 8)]
    members: usize,
    /// Requesters.
    #[arg(long, default_value_t = 2)]
    requesters: usize,
    /// Seed of everything: the same seed and sizes give the same file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The first entry's time, ms since the epoch. By default far enough in the past
    /// (about 2 minutes per entry, at a UTC midnight) that the last entry is before now.
    #[arg(long)]
    start: Option<u64>,
    /// Where to write (default: standard output, when it is not a terminal).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `taawun audit`.
pub(crate) fn audit(a: AuditArgs) -> Result<ExitCode> {
    let disclosures = if a.ledger.is_dir() {
        // A data folder has no keys file beside it: only the one named is read.
        a.disclosures
            .as_deref()
            .and_then(|keys| disclosures_for(&a.ledger, Some(keys)))
    } else {
        disclosures_for(&a.ledger, a.disclosures.as_deref())
    };
    let opts = Options {
        overdue_after_ms: a.overdue_days.saturating_mul(24 * 60 * 60 * 1000),
        disclosures,
    };
    let size = std::fs::metadata(&a.ledger).map(|m| m.len()).unwrap_or(0);
    let bar = if std::io::stderr().is_terminal() && size >= PROGRESS_MIN_BYTES && !a.ledger.is_dir()
    {
        let b = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} auditing [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let mut progress = |n: u64| bar.set_position(n);
    let result = if a.ledger.is_dir() {
        let coop = a.coop.as_deref().map(Id::from_hex).transpose()?;
        taawun_audit::audit_data_dir(&a.ledger, coop, &opts, &mut progress)
    } else {
        taawun_audit::audit_file(&a.ledger, &opts, &mut progress)
    };
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        // Every audit error means the ledger could not be read.
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_UNREADABLE));
        }
    };
    if let Some(path) = &a.html {
        std::fs::write(path, taawun_audit::html::render(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut text = if a.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        report.to_string()
    };
    if let (Some(path), false) = (&a.html, a.json) {
        text += &format!("\nHTML report written to {}\n", path.display());
    }
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A reader that stopped early (`| head`) wanted no more.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r.context("writing the report")?,
    }
    Ok(ExitCode::from(report.verdict().exit_code()))
}

/// Runs `taawun ledger verify`: the in-memory check of [`taawun_ledger::verify()`], with
/// the audit's verdict and exit code.
pub(crate) fn verify(file: &Path, json: bool, disclosures: Option<&Path>) -> Result<ExitCode> {
    let f = match File::open(file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return Ok(ExitCode::from(EXIT_UNREADABLE));
        }
    };
    let mut summary = match taawun_ledger::verify::verify(std::io::BufReader::new(f)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: {} is not a readable taawun ledger: {e}",
                file.display()
            );
            return Ok(ExitCode::from(EXIT_UNREADABLE));
        }
    };
    if let Some(d) = disclosures_for(file, disclosures) {
        summary.disclose(&d);
    }
    let text = if json {
        serde_json::to_string_pretty(&summary.to_json())? + "\n"
    } else {
        summary.to_string() + "\n"
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r.context("writing the summary")?,
    }
    Ok(ExitCode::from(summary.verdict().exit_code()))
}

/// The disclosures to read an export with: `given`, or the companion `FILE.keys` when it
/// exists. One that cannot be read is reported and left out: the ledger is still
/// verified, its sealed fields counted as sealed.
fn disclosures_for(file: &Path, given: Option<&Path>) -> Option<Disclosures> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => {
            let p = disclose::companion(file);
            if !p.exists() {
                return None;
            }
            p
        }
    };
    match Disclosures::read(&path) {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!(
                "warning: cannot read the disclosures {}: {e}; sealed fields stay sealed",
                path.display()
            );
            None
        }
    }
}

/// Writes the companion of the export `file` (`FILE.keys`): the content keys of the
/// sealed fields the node of `dir` can open. Returns the line telling what an auditor
/// will read with it and what stays sealed.
pub(crate) fn disclose(dir: &Path, file: &Path) -> Result<String> {
    if !dir.join(crate::datadir::KEY_FILE).exists() {
        // A folder that only imported ledgers has no key: it can open no sealed field.
        return Ok(
            "no disclosures written: this data folder holds no key, so every sealed field \
             stays sealed"
                .into(),
        );
    }
    let key = crate::datadir::load_key(dir)?;
    let f = File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let d = Disclosures::collect(std::io::BufReader::new(f), &[&key])
        .with_context(|| format!("reading {}", file.display()))?;
    let keys = disclose::companion(file);
    std::fs::write(&keys, d.to_bytes()).with_context(|| format!("writing {}", keys.display()))?;
    Ok(format!(
        "wrote {}: an auditor given it can read {} sealed field{} (payment references \
         and review texts of the exchanges its member took part in); {} stay{} sealed",
        keys.display(),
        d.keys.len(),
        if d.keys.len() == 1 { "" } else { "s" },
        d.sealed,
        if d.sealed == 1 { "s" } else { "" },
    ))
}

/// Runs `taawun ledger synth`.
pub(crate) fn synth(a: SynthArgs) -> Result<ExitCode> {
    if a.entries == 0 || a.members == 0 || a.requesters == 0 {
        bail!("--entries, --members and --requesters must each be at least 1");
    }
    let start = match a.start {
        Some(s) => s,
        None => default_start(a.entries)?,
    };
    let p = Params {
        seed: a.seed,
        members: a.members,
        requesters: a.requesters,
        entries: a.entries,
        start,
    };
    let out: Box<dyn Write> = match &a.out {
        Some(path) => {
            Box::new(File::create(path).with_context(|| format!("creating {}", path.display()))?)
        }
        None if std::io::stdout().is_terminal() => {
            bail!("the ledger is binary: give --out FILE or redirect standard output")
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::new(out);
    let name = a.out.as_deref().map_or_else(
        || "standard output".to_owned(),
        |p: &Path| p.display().to_string(),
    );
    // The header names the cooperative, whose id is the charter's: the first entry.
    let mut err: Option<std::io::Error> = None;
    let mut first = true;
    let s = synth::stream(&p, &mut |v| {
        if err.is_some() {
            return;
        }
        let mut r = Ok(());
        if first {
            r = w.write_all(&header_bytes(&v.id()));
            first = false;
        }
        if r.is_ok() {
            r = w.write_all(&v.envelope());
        }
        if let Err(e) = r {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(e).with_context(|| format!("writing {name}"));
    }
    w.flush().with_context(|| format!("writing {name}"))?;
    eprintln!(
        "wrote {} entries of cooperative {} to {name}, from {} to {} UTC",
        s.entries,
        s.coop,
        taawun_audit::time::utc(start),
        taawun_audit::time::utc(s.end)
    );
    Ok(ExitCode::SUCCESS)
}

/// A start far enough back that `entries` synthetic entries end before now: the
/// generator spaces entries about 67 s apart on average (a claim window of 10 minutes per
/// offer included), so 2 minutes per entry leaves a margin; rounded down to a UTC
/// midnight so that the same command gives the same file all day.
fn default_start(entries: usize) -> Result<u64> {
    const DAY: u64 = 24 * 60 * 60 * 1000;
    let now = u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_millis(),
    )
    .unwrap_or(u64::MAX);
    let span = (entries as u64).saturating_mul(120_000).saturating_add(DAY);
    Ok(now.saturating_sub(span) / DAY * DAY)
}
