//! `taawun`: the node and command-line tool of a taawun cooperative.
//!
//! `init` makes a data folder, `run` starts the daemon (network + local API), the role
//! commands are clients of that API, `ledger` handles ledger files offline, and `demo`
//! runs a whole cooperative on this machine. Every command reports bad input with a
//! message that says what to do.

mod api;
mod appeals;
mod audit;
mod backup;
mod cli;
mod client;
mod config;
mod daemon;
mod datadir;
mod demo;
mod service;
mod state;
mod web;

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
    /// Create a data folder: an identity key, a commented configuration and an API token.
    Init {
        /// This folder is a device of the member or requester with this key: its key is
        /// a device key, which the member authorises with `taawun device add`.
        #[arg(long, value_name = "KEY")]
        device_of: Option<String>,
    },
    /// Run the node: join the network and serve the local API (Ctrl-C stops it).
    Run {
        /// Write in each cooperative at once, without waiting for one of its other nodes
        /// to confirm your latest entry. Only if this data folder is surely your only,
        /// current copy: from an old backup or a copy, a write may fork your chain, which
        /// freezes you in the cooperative.
        #[arg(long)]
        write_before_sync: bool,
    },
    /// Create this node's identity (an ed25519 key, file mode 0600).
    Keygen,
    /// Print this node's public key.
    Id,
    /// A paper backup of your identity key: print it as 24 words, or make a new data
    /// folder from them.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Import, export or verify ledger files.
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// Open the node's web page: prints a one-time login link (and opens it in a browser
    /// when one is available). The node must be running (`taawun run`).
    Ui {
        /// Only print the link; do not try to open a browser.
        #[arg(long)]
        no_open: bool,
        /// Link to the node's IP address instead of its own name under `localhost`
        /// (`node7420.localhost`, for a node on 127.0.0.1): browsers then send the
        /// session cookie to every other server on that address too (docs/ui.md).
        #[arg(long)]
        by_address: bool,
    },
    /// Verify a ledger offline and report rule breaks, pay and fairness (exit 0 clean,
    /// 1 a rule broken, 2 unreadable or no entries).
    Audit(audit::AuditArgs),
    /// Run a small cooperative end to end on this machine.
    Demo {
        /// Where to put the nodes' data folders (default: a new temporary folder; a
        /// folder given here is cleared first).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Leave the data folders behind and print how to inspect them.
        #[arg(long)]
        keep: bool,
    },
    #[command(flatten)]
    Client(cli::ClientCmd),
}

#[derive(Subcommand, Debug)]
enum KeyCmd {
    /// Print your secret key as 24 words to write on paper. Anyone who reads them can
    /// act as you: write them by hand, keep the paper hidden, never photograph or send
    /// them.
    Backup,
    /// Make a new data folder from the 24 words of `key backup`, read from standard
    /// input (typed, or piped; never on the command line, where other programs and the
    /// shell's history could read them). Refuses a folder that already holds a key.
    Restore,
}

#[derive(Subcommand, Debug)]
enum LedgerCmd {
    /// Verify every entry of a ledger file and store the valid ones in this node.
    Import {
        /// The ledger file.
        file: PathBuf,
    },
    /// Write a cooperative's ledger to a file, and beside it (`FILE.keys`) the keys of
    /// the sealed fields this node can read, for an auditor.
    Export {
        /// Where to write.
        file: PathBuf,
        /// Which cooperative (its id in hex); needed when the node holds several.
        #[arg(long)]
        coop: Option<String>,
    },
    /// Verify a ledger file offline (signatures, chains, every rule) and summarise it
    /// (the audit's verdict: exit 0 clean, 1 a rule broken, 2 unreadable or no entries).
    Verify {
        /// The ledger file.
        file: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// The keys disclosed beside the export (default: `FILE.keys` when it exists).
        #[arg(long, value_name = "KEYS")]
        disclosures: Option<PathBuf>,
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
        Cmd::Init { device_of } => {
            let dir = datadir::resolve(cli.data_dir)?;
            let member = device_of
                .as_deref()
                .map(|k| {
                    taawun_core::PublicKey::from_hex(k.trim())
                        .map_err(|e| anyhow::anyhow!("--device-of needs a full public key: {e}"))
                })
                .transpose()?;
            let made = datadir::init(&dir, None, None)?;
            if let Some(m) = member {
                datadir::write_device_of(&dir, &m)?;
                let me = hex::encode(made.key.verifying_key().to_bytes());
                println!(
                    "created a device of {} in {}\ndevice key: {me}\non the member's node, authorise it with: taawun device add {me} --label \"...\"\nthen start this one with: taawun run --data-dir {}\n(it joins with an invite like any node, and enrolls once it holds the authorisation)",
                    m.to_hex(),
                    dir.display(),
                    dir.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "created a taawun node in {}\npublic key: {}\nconfiguration: {}{}\nstart it with: taawun run --data-dir {}",
                dir.display(),
                hex::encode(made.key.verifying_key().to_bytes()),
                dir.join(config::CONFIG_FILE).display(),
                if made.wrote_config { "" } else { " (kept the existing one)" },
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run { write_before_sync } => {
            let dir = datadir::resolve(cli.data_dir)?;
            runtime()?.block_on(daemon::run(dir, write_before_sync))?;
            Ok(ExitCode::SUCCESS)
        }
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
        Cmd::Key(KeyCmd::Backup) => {
            let key = datadir::load_key(&datadir::resolve(cli.data_dir)?)?;
            let words = backup::to_words(&key);
            println!(
                "Your secret key as {} words. Anyone who reads them can sign as you, in every\n\
                 cooperative: write them on paper by hand, in order, and keep it hidden; never\n\
                 photograph, print, send or store them on a phone. `taawun key restore` makes\n\
                 a data folder from them. After a restore, your node writes nothing until one\n\
                 of your cooperative's other nodes has confirmed your latest entry.\n",
                words.len()
            );
            for (i, w) in words.iter().enumerate() {
                println!("{:>2}. {w}", i + 1);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Key(KeyCmd::Restore) => {
            let dir = datadir::resolve(cli.data_dir)?;
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!(
                    "type the {} words of your key backup, in order, then press Ctrl-D:",
                    backup::WORDS
                );
            }
            let mut text = zeroize::Zeroizing::new(String::new());
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("reading the words from standard input")?;
            let key = backup::from_words(&text)?;
            let made = datadir::init(&dir, Some(key.to_bytes()), None)?;
            println!(
                "restored your key into {}\npublic key: {}\nstart it with: taawun run --data-dir {}\n\
                 then join your cooperatives again with an invite (`taawun coop join`)",
                dir.display(),
                hex::encode(made.key.verifying_key().to_bytes()),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Ledger(LedgerCmd::Verify {
            file,
            json,
            disclosures,
        }) => audit::verify(&file, json, disclosures.as_deref()),
        Cmd::Ledger(LedgerCmd::Synth(a)) => audit::synth(a),
        Cmd::Audit(a) => audit::audit(a),
        Cmd::Ledger(LedgerCmd::Import { file }) => {
            let dir = datadir::resolve(cli.data_dir)?;
            if let Some(client) = running(&dir)? {
                // The running daemon owns the ledger: import through it.
                let bytes =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                let v: taawun_api::views::ImportView =
                    runtime()?.block_on(client.post_bytes("/api/import", bytes))?;
                println!(
                    "cooperative {}: {} stored, {} already held, {} waiting for missing entries, {} forks (stored beside their author's chain, the author frozen), {} rejected, {} unreadable",
                    v.coop, v.stored, v.duplicates, v.pending, v.forks, v.rejected, v.unreadable
                );
                return Ok(if v.rejected + v.unreadable == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            let ledger = open_ledger(Some(dir))?;
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
            let dir = datadir::resolve(cli.data_dir)?;
            if let Some(client) = running(&dir)? {
                // The running daemon owns the ledger: export through it.
                let bytes = runtime()?.block_on(async {
                    let id = match coop.as_deref() {
                        Some(c) => Id::from_hex(c)?,
                        None => {
                            let s = client.status().await?;
                            match s.coops.as_slice() {
                                [one] => Id::from_hex(&one.id)?,
                                [] => bail!("this node holds no cooperative yet"),
                                many => bail!(
                                    "this node holds {} cooperatives; name one with --coop",
                                    many.len()
                                ),
                            }
                        }
                    };
                    Ok(client
                        .get_bytes(&format!("/api/coops/{}/export", id.to_hex()))
                        .await?)
                })?;
                std::fs::write(&file, &bytes)
                    .with_context(|| format!("writing {}", file.display()))?;
                println!("wrote {} bytes to {}", bytes.len(), file.display());
                println!("{}", audit::disclose(&dir, &file)?);
                return Ok(ExitCode::SUCCESS);
            }
            let ledger = open_ledger(Some(dir.clone()))?;
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
            drop(c);
            drop(ledger);
            println!("{}", audit::disclose(&dir, &file)?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Ui {
            no_open,
            by_address,
        } => {
            let dir = datadir::resolve(cli.data_dir)?;
            runtime()?.block_on(web::cli::ui(&dir, !no_open, by_address))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Demo { dir, keep } => {
            demo::run(dir, keep)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Client(cmd) => cli::run(cli.data_dir, cmd),
    }
}

/// A client of the daemon of `dir` when one is running there (it writes its address when
/// it starts and removes it when it stops); `None` when the ledger can be opened directly.
fn running(dir: &Path) -> Result<Option<client::Client>> {
    let addr = dir.join(datadir::API_ADDRESS_FILE);
    let Ok(a) = std::fs::read_to_string(&addr) else {
        return Ok(None);
    };
    // A daemon killed without cleaning up leaves the file: check something answers.
    match a.trim().parse::<std::net::SocketAddr>() {
        Ok(sa) if std::net::TcpStream::connect(sa).is_ok() => Ok(Some(client::Client::open(dir)?)),
        _ => Ok(None),
    }
}

/// The tokio runtime of the daemon and of the client commands.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
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
