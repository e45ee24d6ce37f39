//! `taawun`: the node and command-line tool of a taawun cooperative.
//!
//! For now: identities (`keygen`), the ledger file (`ledger import|export|verify`) and the
//! end-to-end `demo`. Every command reports bad input with a message that says what to do.

mod audit;
mod datadir;
mod demo;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use taawun_core::Id;
use taawun_ledger::Ledger;

#[derive(Parser, Debug)]
#[command(
    name = "taawun",
    version,
    about = "A task exchange owned by worker cooperatives"
)]
struct Cli {
    /// The node's data folder (key and ledger).
    #[arg(long, global = true, env = "TAAWUN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create this node's identity (an ed25519 key, file mode 0600).
    Keygen,
    /// Print this node's public key.
    Id,
    /// Import, export or verify ledger files.
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// Verify a ledger offline and report rule breaks, pay and fairness (exit 0 clean,
    /// 1 a rule broken, 2 unreadable).
    Audit(audit::AuditArgs),
    /// Run a small cooperative end to end on this machine.
    Demo {
        /// Where to put the nodes' data folders (default: a folder under the system's
        /// temporary directory, cleared first).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum LedgerCmd {
    /// Verify every entry of a ledger file and store the valid ones in this node.
    Import {
        /// The ledger file.
        file: PathBuf,
    },
    /// Write a cooperative's ledger to a file.
    Export {
        /// Where to write.
        file: PathBuf,
        /// Which cooperative (its id in hex); needed when the node holds several.
        #[arg(long)]
        coop: Option<String>,
    },
    /// Verify a ledger file offline (signatures, chains, every rule) and summarise it.
    Verify {
        /// The ledger file.
        file: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a realistic synthetic ledger file.
    Synth(audit::SynthArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.cmd {
        Cmd::Keygen => {
            let dir = datadir::resolve(cli.data_dir)?;
            let key = datadir::create_key(&dir)?;
            println!(
                "created a new identity in {}\npublic key: {}",
                dir.display(),
                hex::encode(key.verifying_key().to_bytes())
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Id => {
            let key = datadir::load_key(&datadir::resolve(cli.data_dir)?)?;
            println!("{}", hex::encode(key.verifying_key().to_bytes()));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Ledger(LedgerCmd::Verify { file, json }) => verify(&file, json),
        Cmd::Ledger(LedgerCmd::Synth(a)) => audit::synth(a),
        Cmd::Audit(a) => audit::audit(a),
        Cmd::Ledger(LedgerCmd::Import { file }) => {
            let ledger = open_ledger(cli.data_dir)?;
            let f = File::open(&file).with_context(|| format!("opening {}", file.display()))?;
            let (coop, report) = ledger
                .import(BufReader::new(f))
                .with_context(|| format!("importing {}", file.display()))?;
            println!("cooperative {coop}\n{report}");
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Ledger(LedgerCmd::Export { file, coop }) => {
            let ledger = open_ledger(cli.data_dir)?;
            let id = pick_coop(&ledger, coop.as_deref())?;
            let c = ledger.coop(&id)?;
            let f = File::create(&file).with_context(|| format!("creating {}", file.display()))?;
            let mut w = BufWriter::new(f);
            let n = c
                .export(&mut w)
                .with_context(|| format!("writing {}", file.display()))?;
            w.flush()
                .with_context(|| format!("writing {}", file.display()))?;
            println!(
                "wrote {n} entries of cooperative {id} to {}",
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Demo { dir } => {
            demo::run(dir)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn open_ledger(flag: Option<PathBuf>) -> Result<Ledger> {
    let dir = datadir::resolve(flag)?;
    let path = dir.join(datadir::LEDGER_DIR);
    Ledger::open(&path).with_context(|| format!("opening the ledger in {}", path.display()))
}

fn pick_coop(ledger: &Ledger, flag: Option<&str>) -> Result<Id> {
    if let Some(s) = flag {
        return Ok(Id::from_hex(s)?);
    }
    let all = ledger.coops()?;
    match all.as_slice() {
        [one] => Ok(*one),
        [] => bail!("this node holds no cooperative yet"),
        many => bail!(
            "this node holds {} cooperatives; name one with --coop: {}",
            many.len(),
            many.iter().map(Id::to_hex).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn verify(file: &Path, json: bool) -> Result<ExitCode> {
    let f = match File::open(file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot open {}: {e}", file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let summary = match taawun_ledger::verify::verify(BufReader::new(f)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: {} is not a readable taawun ledger: {e}",
                file.display()
            );
            return Ok(ExitCode::from(2));
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&summary.to_json())?);
    } else {
        println!("{summary}");
    }
    Ok(if summary.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
