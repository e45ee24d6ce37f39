//! The simulated world: simulated time, nodes, the network between them and the faults,
//! driven by one event queue. Each node holds a real sled ledger (on tmpfs when there is
//! one), judges gossip and answers sync through `taawun_net::exchange` and runs its sync
//! sessions with `taawun_net::session::Sessions` and guards its witness's writes with
//! `taawun_net::guard::WriteGuard`, the machines the network task runs. What
//! the simulator adds is only what libp2p and the operating system do: carry messages
//! (with losses, delays, duplicates and partitions), keep time (one clock per node, with
//! its skew) and crash disks.
//!
//! Every invariant is checked as the run goes and at its end (see [`crate`]); the first
//! broken one ends the run with a [`Failure`] naming the seed.

mod admission;
mod hostile;
mod peers;
mod results;

use crate::config::Config;
use peers::Peers;
use results::Results;
use serde_bytes::ByteBuf;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::{Duration, Instant};
use taawun_core::body::{Body, Evidence};
use taawun_core::synth::{self, Rng};
use taawun_core::{Id, PublicKey, Timestamp, Verified};
use taawun_ledger::{CoopLedger, Ingest, Ledger};
use taawun_net::admission::{Admission, Roles};
use taawun_net::conduct::Conduct;
use taawun_net::exchange;
use taawun_net::gossip::{self, AskSender, Judged, Verdict};
use taawun_net::guard::{self, WriteGuard};
use taawun_net::node::{reactions, Reaction, Via};
use taawun_net::result::Refusal;
use taawun_net::session::{Ingested, Outgoing, Output, Reply, Sessions};
use taawun_net::sync::{self, Request, Response};

/// How long a sync request waits for its answer (simulated ms).
const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// How long a node remembers a gossip message it has seen: gossipsub's duplicate cache.
const SEEN_MS: u64 = gossip::DUPLICATE_CACHE.as_millis() as u64;
/// A node commits and flushes what it staged this long after staging it (sled writes its
/// log every 500 ms).
const FLUSH_MS: u64 = 500;
/// How often the convergence of the honest nodes is checked once the network is healed.
const CHECK_MS: u64 = 5_000;
/// How long after the last scheduled entry the network is healed, at the latest.
const WORK_SLACK_MS: u64 = 20 * 60_000;
/// The most gossip message ids a node may remember (memory bound checked every event).
const MAX_SEEN: usize = 100_000;

/// A broken invariant, or a run that could not be carried out, with its seed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "seed {seed}, at {:.1} s simulated: {what} (replay: cargo run -p taawun-sim -- {replay})",
    *at_ms as f64 / 1000.0
)]
pub struct Failure {
    /// The run's seed.
    pub seed: u64,
    /// Simulated ms since the run's start.
    pub at_ms: u64,
    /// What broke.
    pub what: String,
    /// The simulator's arguments that run it again ([`Config::replay_args`]).
    pub replay: String,
}

impl Failure {
    fn of(cfg: &Config, at_ms: u64, what: String) -> Self {
        Self {
            seed: cfg.seed,
            at_ms,
            what,
            replay: cfg.replay_args(),
        }
    }
}

/// What a run did, for the summary line of each seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Nodes.
    pub nodes: usize,
    /// Local writes acknowledged (stored and flushed by their author's node).
    pub written: usize,
    /// Entries every honest node holds at the end.
    pub entries: u64,
    /// Messages sent, and of those lost or duplicated by the network.
    pub messages: u64,
    /// Messages lost.
    pub dropped: u64,
    /// Messages delivered twice.
    pub duplicated: u64,
    /// Crashes, of which torn writes and restores from a backup.
    pub crashes: u32,
    /// Crashes that tore the last write.
    pub torn: u32,
    /// Restores from an old backup.
    pub restores: u32,
    /// Partitions.
    pub partitions: u32,
    /// Acts of the hostile node.
    pub hostile_acts: u32,
    /// Authors frozen for a fork at the end.
    pub frozen: usize,
    /// Simulated ms from the heal to identical heads and state on every honest node.
    pub converged_ms: u64,
    /// Simulated ms of the whole run.
    pub simulated_ms: u64,
    /// Results delivered to their requester's node.
    pub results: u64,
    /// Results delivered to the nodes of jurors of appeals (runs with appeals).
    pub juror_results: u64,
    /// Connections opened by lookups (a network larger than the peer target).
    pub opened: u64,
    /// Connections closed as over a node's peer target.
    pub closed: u64,
    /// Proofs that superseded another node's proof of the same key (the hostile node
    /// proving its stolen key, the member's node taking its place back).
    pub superseded: u64,
    /// Times a node proved itself again to a peer that no longer admitted it.
    pub reproved: u64,
    /// Honest nodes that speak for no key (more nodes than authors and witnesses, with
    /// `Config::devices` off): like a real node without a member, served nothing by an
    /// honest node.
    pub strangers: usize,
    /// Events handled.
    pub events: u64,
}

/// A message between two nodes.
#[derive(Debug, Clone)]
enum Msg {
    Gossip(Vec<u8>),
    Request {
        id: u64,
        request: Request,
    },
    Response {
        id: u64,
        response: Response,
    },
    /// A submission's result bytes, for the requester's node.
    Result {
        id: u64,
        submission: Id,
        bytes: Vec<u8>,
    },
    ResultAnswer {
        id: u64,
        answer: Result<(), Refusal>,
    },
}

#[derive(Debug, Clone)]
enum Ev {
    /// `msg` from `from` arrives at `to` (its incarnation `inc` when sent: a message to a
    /// node that restarted since is lost with the connection).
    Deliver {
        from: usize,
        to: usize,
        inc: u32,
        msg: Msg,
    },
    Timeout {
        node: usize,
        inc: u32,
        id: u64,
    },
    SyncRound {
        node: usize,
        inc: u32,
    },
    ResultTimeout {
        node: usize,
        inc: u32,
        id: u64,
    },
    ResultTick {
        node: usize,
        inc: u32,
    },
    /// The node's peer machine: connections to tell it of, and its prune.
    PeersTick {
        node: usize,
        inc: u32,
    },
    Write {
        node: usize,
        inc: u32,
    },
    Flush {
        node: usize,
        inc: u32,
    },
    Backup {
        node: usize,
    },
    Crash {
        node: usize,
        from_backup: bool,
    },
    Restart {
        node: usize,
    },
    Partition,
    Rejoin,
    Hostile {
        act: u64,
    },
    Heal,
    Check,
}

/// One author's pre-signed chain (from the synthetic cooperative) and how far its node
/// has written it.
#[derive(Debug)]
struct Script {
    key: ed25519_dalek::SigningKey,
    author: PublicKey,
    entries: Vec<Verified>,
    next: usize,
}

struct Node {
    honest: bool,
    up: bool,
    /// Bumped at every crash: timers and messages of an earlier life are dropped.
    inc: u32,
    skew: i64,
    dir: Option<tempfile::TempDir>,
    ledger: Option<Ledger>,
    coop: Option<CoopLedger>,
    sessions: Sessions<usize>,
    requests: BTreeMap<u64, (usize, Outgoing)>,
    seen: BTreeMap<Vec<u8>, u64>,
    conduct: Conduct<usize>,
    blocked: BTreeSet<usize>,
    /// Log entries known durable (flushed).
    flushed: u64,
    flush_due: bool,
    scripts: Vec<usize>,
    /// The disk image kept while down.
    image: Vec<u8>,
    /// An old export (the member's backup) and when it was taken.
    backup: Option<(Vec<u8>, u64)>,
    /// Restored from a backup taken at this time (simulated ms).
    restored_from: Option<u64>,
    /// The key this node signs its own entries with (evidence of forks), if any.
    witness: Option<ed25519_dalek::SigningKey>,
    /// Forks (author, seq) this node published evidence of.
    evidenced: BTreeSet<(PublicKey, u64)>,
    /// Whether the witness's writes are open (a peer confirmed its latest entry since the
    /// node started), with the evidence held until they are: the network task's guard
    /// against a restored data folder, the same code.
    guard: WriteGuard<usize, Evidence>,
    /// Scripts whose key the (hostile) node stole.
    stolen: Vec<usize>,
    /// Results sent and received.
    results: Results,
    /// Connections beyond the bootstrap peers, and the machine choosing them.
    peers: Peers,
    /// The key this node proves on its connections ([`World::identity_of`]; the hostile
    /// node's is the stolen device's key when there are devices, else the stolen member
    /// key).
    identity: Option<PublicKey>,
    /// The key each peer proved, one peer per key: the network task's machine. Lost in a
    /// crash.
    admission: Admission<usize>,
    /// The roles admission reads, with the ledger's `roles_changed` they were read at.
    roles: Option<(u64, Roles)>,
    /// When this node last proved itself again to each peer (simulated ms).
    reproved: BTreeMap<usize, u64>,
    /// Its ledger folded, brought up to date as it grows ([`World::state_now`]), for
    /// admission's roles and the appeals' juries. Dropped in a crash.
    state: Option<taawun_core::fold::Coop>,
}

struct World {
    cfg: Config,
    rng: Rng,
    now: u64,
    start: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: BTreeMap<u64, Ev>,
    coop: Id,
    charter_bytes: Vec<u8>,
    requesters: Vec<PublicKey>,
    nodes: Vec<Node>,
    links: Vec<Vec<usize>>,
    side: Option<Vec<bool>>,
    faults_on: bool,
    healed_at: Option<u64>,
    scripts: Vec<Script>,
    work_end: u64,
    /// Acknowledged local writes: (node, entry, when).
    acked: Vec<(usize, Id, u64)>,
    /// Acknowledged writes a restore from a backup may have lost for good (no other
    /// honest node held them when the backup came back).
    forgiven: BTreeSet<Id>,
    /// Entries the hostile node signed that break a rule: no honest node may store one.
    invalid: BTreeSet<Id>,
    hostile: Option<usize>,
    next_request: u64,
    /// The outbox's clock at the run's start (only differences count).
    base: Instant,
    /// Every submission's result bytes, by submission.
    result_bytes: BTreeMap<Id, Vec<u8>>,
    /// Every offer's author (the requester a result goes to).
    offer_authors: BTreeMap<Id, PublicKey>,
    report: Report,
    done: bool,
    tmp_root: Option<std::path::PathBuf>,
}

/// Runs the simulation `cfg` describes to its end, checking every invariant.
pub fn run(cfg: &Config) -> Result<Report, Failure> {
    let mut w = World::new(cfg.clone())?;
    while let Some(Reverse((t, seq))) = w.queue.pop() {
        let Some(ev) = w.events.remove(&seq) else {
            continue;
        };
        w.now = t;
        w.report.events += 1;
        w.handle(ev)?;
        if w.done {
            break;
        }
    }
    if !w.done {
        return Err(w.fail("the run ran out of events before converging"));
    }
    w.report.simulated_ms = w.now - w.start;
    Ok(w.report.clone())
}

impl World {
    fn new(cfg: Config) -> Result<Self, Failure> {
        let mut rng = Rng::new(cfg.seed);
        // One witness key per honest node (as many as the quorum allows): the key a
        // member's node signs its own entries with, here evidence of a fork. Honest nodes
        // beyond the authors' and the witnesses' speak for a device of a member each.
        let n = cfg.nodes.max(2);
        let authors = cfg.members.max(1) + cfg.requesters.max(1);
        let idle = (n - usize::from(cfg.hostile)).saturating_sub(authors);
        let devices = match cfg.devices {
            true => idle.saturating_sub(cfg.nodes.min(cfg.members.max(1))),
            false => 0,
        };
        let scenario = synth::generate_with(
            &synth::Params {
                seed: cfg.seed,
                members: cfg.members,
                requesters: cfg.requesters,
                entries: cfg.entries,
                start: synth::Params::default().start,
            },
            &synth::Extras {
                witnesses: cfg.nodes,
                devices,
                appeals: cfg.appeals,
            },
        );
        let start = scenario.entries[0].entry().ts.saturating_sub(1_000);
        let coop = scenario.coop;
        let charter_bytes = scenario.entries[0].envelope();
        let keys: Vec<ed25519_dalek::SigningKey> = scenario
            .requesters
            .iter()
            .chain(&scenario.members)
            .chain(scenario.devices.iter().map(|(k, _)| k))
            .cloned()
            .collect();
        let mut scripts: Vec<Script> = keys
            .into_iter()
            .map(|key| Script {
                author: PublicKey(key.verifying_key().to_bytes()),
                key,
                entries: Vec::new(),
                next: 0,
            })
            .collect();
        for v in &scenario.entries {
            if let Some(s) = scripts.iter_mut().find(|s| s.author == v.entry().author) {
                s.entries.push(v.clone());
            }
        }
        let work_end = scenario.end + WORK_SLACK_MS;
        let tmp_root = std::path::Path::new("/dev/shm")
            .is_dir()
            .then(|| std::path::PathBuf::from("/dev/shm"));
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let skew = rng.range(0, 2 * cfg.max_skew_ms) as i64 - cfg.max_skew_ms as i64;
            nodes.push(Node {
                honest: true,
                up: true,
                inc: 0,
                skew,
                dir: None,
                ledger: None,
                coop: None,
                sessions: Sessions::new(),
                requests: BTreeMap::new(),
                seen: BTreeMap::new(),
                conduct: Conduct::new(Duration::from_secs(60)),
                blocked: BTreeSet::new(),
                flushed: 0,
                flush_due: false,
                scripts: Vec::new(),
                image: Vec::new(),
                backup: None,
                restored_from: None,
                witness: None,
                evidenced: BTreeSet::new(),
                guard: WriteGuard::new(true),
                stolen: Vec::new(),
                results: Results::default(),
                peers: Peers::default(),
                identity: None,
                admission: Admission::new(),
                roles: None,
                reproved: BTreeMap::new(),
                state: None,
            });
            let _ = i;
        }
        // The hostile node (the first) writes none of the cooperative's work: it holds
        // stolen copies of the first requester's and the first member's keys, whose
        // owners' nodes go on writing. Authors go round-robin over the honest nodes.
        let hostile = cfg.hostile.then_some(0);
        if let Some(h) = hostile {
            nodes[h].honest = false;
            nodes[h].skew = cfg.hostile_skew_ms as i64;
            nodes[h].stolen = vec![0, cfg.requesters.max(1)];
            if devices > 0 {
                // The first device's key: a stolen phone.
                nodes[h].stolen.push(authors);
            }
        }
        let writers: Vec<usize> = (0..n).filter(|i| nodes[*i].honest).collect();
        for i in 0..authors {
            nodes[writers[i % writers.len()]].scripts.push(i);
        }
        // Witnesses go first to the nodes that write for no author, so that as many
        // nodes as possible speak for a key (admission serves no other).
        let mut witnesses = scenario.witnesses.iter();
        let (idle, writing): (Vec<usize>, Vec<usize>) = (0..n)
            .filter(|i| nodes[*i].honest)
            .partition(|i| nodes[*i].scripts.is_empty());
        for i in idle.into_iter().chain(writing) {
            nodes[i].witness = witnesses.next().cloned();
        }
        // Each device's script (its enrollment) on a node that speaks for no key yet.
        let keyless = (0..n).filter(|i| {
            nodes[*i].honest && nodes[*i].scripts.is_empty() && nodes[*i].witness.is_none()
        });
        for (node, script) in keyless.collect::<Vec<_>>().into_iter().zip(authors..) {
            if script < scripts.len() {
                nodes[node].scripts.push(script);
            }
        }
        // A connected graph: node i links to up to 3 earlier nodes.
        let mut links = vec![Vec::new(); n];
        for i in 1..n {
            let want = 3.min(i);
            let mut chosen = BTreeSet::new();
            while chosen.len() < want {
                chosen.insert(rng.range(0, i as u64 - 1) as usize);
            }
            for j in chosen {
                links[i].push(j);
                links[j].push(i);
            }
        }
        let mut w = World {
            report: Report {
                seed: cfg.seed,
                nodes: n,
                ..Report::default()
            },
            cfg,
            rng,
            now: start,
            start,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            coop,
            charter_bytes,
            requesters: scenario
                .requesters
                .iter()
                .map(|k| PublicKey(k.verifying_key().to_bytes()))
                .collect(),
            nodes,
            links,
            side: None,
            faults_on: true,
            healed_at: None,
            scripts,
            work_end,
            acked: Vec::new(),
            forgiven: BTreeSet::new(),
            invalid: BTreeSet::new(),
            hostile,
            next_request: 0,
            base: Instant::now(),
            result_bytes: scenario.results.clone(),
            offer_authors: scenario
                .entries
                .iter()
                .filter(|v| matches!(v.entry().body, Body::Offer(_)))
                .map(|v| (v.id(), v.entry().author))
                .collect(),
            done: false,
            tmp_root,
        };
        for i in 0..n {
            w.nodes[i].identity = match w.nodes[i].honest {
                true => w.identity_of(i),
                // The stolen device's key when there is one, else the member's.
                false => w.nodes[i].stolen.last().map(|s| w.scripts[*s].author),
            };
        }
        for i in 0..n {
            w.open(i, None)?;
            let inc = w.nodes[i].inc;
            let first = w.rng.range(0, 30_000);
            w.at(first, Ev::SyncRound { node: i, inc });
            w.at(0, Ev::Write { node: i, inc });
        }
        // The first connections open: the hello protocol runs on each.
        w.reconnected(None)?;
        w.plan_faults();
        let end = w.work_end - w.now;
        w.at(end, Ev::Heal);
        Ok(w)
    }

    fn plan_faults(&mut self) {
        let span = self.work_end - WORK_SLACK_MS - self.now;
        let n = self.nodes.len();
        let f = self.cfg.faults.clone();
        for _ in 0..f.partitions {
            let t = self.rng.range(0, span);
            self.at(t, Ev::Partition);
        }
        let honest: Vec<usize> = (0..n).filter(|i| self.nodes[*i].honest).collect();
        for c in 0..f.crashes {
            let node = honest[self.rng.range(0, honest.len() as u64 - 1) as usize];
            let t = self.rng.range(span / 4, span);
            let from_backup = f.restore_backup && c == 0;
            if from_backup {
                let b = self.rng.range(0, t);
                self.at(b, Ev::Backup { node });
            }
            self.at(t, Ev::Crash { node, from_backup });
        }
        if self.hostile.is_some() {
            let acts = self.rng.range(6, 16);
            for _ in 0..acts {
                let t = self.rng.range(span / 10, span);
                let act = self.rng.next_u64();
                self.at(t, Ev::Hostile { act });
            }
        }
    }

    fn fail(&self, what: impl Into<String>) -> Failure {
        Failure::of(&self.cfg, self.now - self.start, what.into())
    }

    fn at(&mut self, delay: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((self.now + delay, self.seq)));
        self.events.insert(self.seq, ev);
    }

    /// The node's clock.
    fn clock(&self, node: usize) -> Timestamp {
        (self.now as i64 + self.nodes[node].skew).max(0) as Timestamp
    }

    /// The node's ledger folded as it is now: folded once, then brought up to date with
    /// the entries stored since, as the network task keeps its states.
    fn state_now(&mut self, node: usize) -> Result<&taawun_core::fold::Coop, Failure> {
        let (cfg, at_ms) = (&self.cfg, self.now - self.start);
        let fail = |e: String| Failure::of(cfg, at_ms, format!("node {node}: {e}"));
        let n = &mut self.nodes[node];
        let c = n
            .coop
            .as_ref()
            .ok_or_else(|| fail("no ledger open".into()))?;
        match &mut n.state {
            Some(st) => c.refresh_state(st).map_err(|e| fail(e.to_string()))?,
            None => n.state = Some(c.state().map_err(|e| fail(e.to_string()))?),
        }
        Ok(n.state.as_ref().expect("just folded"))
    }

    fn ledger(&mut self, node: usize) -> Result<&mut CoopLedger, Failure> {
        // Called for nearly every event: the failure (its replay arguments draw the seed's
        // configuration again) is built only when there is no ledger.
        let (cfg, at_ms) = (&self.cfg, self.now - self.start);
        self.nodes[node]
            .coop
            .as_mut()
            .ok_or_else(|| Failure::of(cfg, at_ms, format!("node {node} has no ledger open")))
    }

    /// Opens node `node`'s ledger: a fresh one holding the charter, or one made from a
    /// disk image (an export, possibly torn at its end).
    fn open(&mut self, node: usize, image: Option<&[u8]>) -> Result<(), Failure> {
        let dir = match &self.tmp_root {
            Some(root) => tempfile::Builder::new()
                .prefix("taawun-sim")
                .tempdir_in(root),
            None => tempfile::Builder::new().prefix("taawun-sim").tempdir(),
        }
        .map_err(|e| self.fail(format!("cannot make a directory: {e}")))?;
        let ledger = Ledger::open_unflushed(dir.path())
            .map_err(|e| self.fail(format!("cannot open a ledger: {e}")))?;
        let coop = match image {
            None => {
                let charter = taawun_core::entry::check_envelope(&self.charter_bytes)
                    .verified()
                    .ok_or_else(|| self.fail("the charter does not verify"))?;
                ledger
                    .found(charter)
                    .map_err(|e| self.fail(format!("cannot found: {e}")))?
            }
            Some(bytes) => {
                // A torn image ends inside an entry: the import stops there with an
                // error, after storing (and flushing) every whole entry before it.
                let imported = ledger.import(bytes);
                let torn = imported.err();
                let c = ledger.coop(&self.coop).map_err(|e| {
                    self.fail(format!(
                        "node {node}: a disk image gave no ledger ({e}; import: {torn:?})"
                    ))
                })?;
                if let Some(e) = torn {
                    if !matches!(
                        e,
                        taawun_ledger::LedgerError::Format(
                            taawun_ledger::FormatError::Truncated { .. }
                        )
                    ) {
                        return Err(self.fail(format!(
                            "node {node}: a torn disk image failed to import with {e}"
                        )));
                    }
                }
                c
            }
        };
        let n = &mut self.nodes[node];
        n.flushed = coop.len();
        n.coop = Some(coop);
        n.ledger = Some(ledger);
        n.dir = Some(dir);
        n.up = true;
        if self.peering_on() {
            let inc = self.nodes[node].inc;
            self.at(peers::TICK_MS, Ev::PeersTick { node, inc });
        }
        Ok(())
    }

    fn send(&mut self, from: usize, to: usize, msg: Msg) {
        self.report.messages += 1;
        let inc = self.nodes[to].inc;
        let mut copies = 1;
        let mut delay = self.rng.range(1, 50);
        if self.faults_on {
            let f = &self.cfg.faults;
            let (drop_pct, dup_pct, delay_pct) = (f.drop_pct, f.dup_pct, f.delay_pct);
            if self.rng.chance(drop_pct) {
                self.report.dropped += 1;
                return;
            }
            if self.rng.chance(dup_pct) {
                self.report.duplicated += 1;
                copies = 2;
            }
            if self.rng.chance(delay_pct) {
                delay += self.rng.range(100, 3_000);
            }
        }
        for c in 0..copies {
            let msg = msg.clone();
            let later = c * self.rng.range(0, 500);
            self.at(delay + later, Ev::Deliver { from, to, inc, msg });
        }
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        self.side.as_ref().is_some_and(|s| s[a] != s[b])
    }

    fn handle(&mut self, ev: Ev) -> Result<(), Failure> {
        match ev {
            Ev::Deliver { from, to, inc, msg } => {
                let n = &self.nodes[to];
                if !n.up || n.inc != inc || !self.nodes[from].up || self.cut(from, to) {
                    return Ok(());
                }
                if n.blocked.contains(&from) {
                    return Ok(());
                }
                match msg {
                    Msg::Gossip(data) => self.on_gossip(to, from, data)?,
                    Msg::Request { id, request } => {
                        // A peer not admitted learns nothing: as from a node without the
                        // cooperative.
                        let admitted = self.admits(to, from)?;
                        let ledger = self.nodes[to].coop.as_ref().filter(|_| admitted);
                        let response = exchange::answer(ledger, request);
                        self.send(to, from, Msg::Response { id, response });
                    }
                    Msg::Response { id, response } => {
                        if matches!(response, Response::UnknownCoop) {
                            self.unknown_coop(to, from)?;
                        }
                        self.on_response(to, id, response)?
                    }
                    Msg::Result {
                        id,
                        submission,
                        bytes,
                    } => self.on_result(to, from, id, submission, bytes)?,
                    Msg::ResultAnswer { id, answer } => {
                        self.on_result_answer(to, from, id, answer)?
                    }
                }
                self.bounded(to)?;
            }
            Ev::Timeout { node, inc, id } => {
                if self.nodes[node].inc == inc {
                    if let Some((peer, tag)) = self.nodes[node].requests.remove(&id) {
                        let out = self.nodes[node].sessions.failed(peer, tag.coop());
                        self.carry_out(node, out)?;
                    }
                }
            }
            Ev::ResultTimeout { node, inc, id } => {
                if self.nodes[node].inc == inc {
                    self.on_result_timeout(node, id)?;
                }
            }
            Ev::ResultTick { node, inc } => {
                if self.nodes[node].inc == inc && self.nodes[node].up {
                    self.on_result_tick(node)?;
                }
            }
            Ev::PeersTick { node, inc } => {
                if self.nodes[node].inc == inc && self.nodes[node].up {
                    self.peers_tick(node)?;
                    self.at(peers::TICK_MS, Ev::PeersTick { node, inc });
                }
            }
            Ev::SyncRound { node, inc } => {
                if self.nodes[node].inc != inc || !self.nodes[node].up {
                    return Ok(());
                }
                self.lookup(node)?;
                self.jurors_due(node)?;
                let mut peers = self.gossip_peers(node);
                peers.retain(|p| !self.nodes[node].blocked.contains(p));
                for _ in 0..taawun_net::config::SYNC_PEERS_PER_ROUND.min(peers.len()) {
                    let i = self.rng.range(0, peers.len() as u64 - 1) as usize;
                    let peer = peers.swap_remove(i);
                    self.start_sync(node, peer)?;
                }
                let every = taawun_net::config::DEFAULT_SYNC_INTERVAL.as_millis() as u64;
                let jitter = self.rng.range(0, every / 10);
                self.at(every + jitter, Ev::SyncRound { node, inc });
            }
            Ev::Write { node, inc } => {
                if self.nodes[node].inc == inc && self.nodes[node].up {
                    self.write(node)?;
                }
            }
            Ev::Flush { node, inc } => {
                if self.nodes[node].inc == inc && self.nodes[node].up {
                    self.flush(node)?;
                    let now = self.now;
                    self.nodes[node]
                        .seen
                        .retain(|_, t| now.saturating_sub(*t) < SEEN_MS);
                }
            }
            Ev::Backup { node } => {
                if self.nodes[node].up {
                    let bytes = self.export(node)?;
                    self.nodes[node].backup = Some((bytes, self.now));
                }
            }
            Ev::Crash { node, from_backup } => self.crash(node, from_backup)?,
            Ev::Restart { node } => self.restart(node)?,
            Ev::Partition => {
                if self.side.is_none() && self.faults_on {
                    let n = self.nodes.len();
                    let side: Vec<bool> = (0..n).map(|_| self.rng.chance(50)).collect();
                    self.side = Some(side);
                    self.cut_dialed();
                    self.peers_cut();
                    self.report.partitions += 1;
                    let d = self.rng.range(60_000, 600_000);
                    self.at(d, Ev::Rejoin);
                }
            }
            Ev::Rejoin => {
                self.side = None;
                self.reconnected(None)?;
            }
            Ev::Hostile { act } => {
                if self.faults_on {
                    self.hostile_act(act)?;
                }
            }
            Ev::Heal => self.heal()?,
            Ev::Check => self.check()?,
        }
        Ok(())
    }

    fn start_sync(&mut self, node: usize, peer: usize) -> Result<(), Failure> {
        let coop = self.coop;
        let summary = exchange::summary(self.ledger(node)?)
            .map_err(|e| self.fail(format!("node {node} cannot read its heads: {e}")))?;
        let out = self.nodes[node].sessions.start(peer, coop, &summary);
        self.carry_out(node, out)
    }

    fn carry_out(&mut self, node: usize, out: Vec<Output<usize>>) -> Result<(), Failure> {
        for o in out {
            match o {
                Output::Send { peer, request, tag } => {
                    self.next_request += 1;
                    let id = self.next_request;
                    self.nodes[node].requests.insert(id, (peer, tag));
                    let inc = self.nodes[node].inc;
                    self.at(REQUEST_TIMEOUT_MS, Ev::Timeout { node, inc, id });
                    self.send(node, peer, Msg::Request { id, request });
                }
                Output::Ended {
                    peer,
                    stored,
                    own_remote,
                    ..
                } => {
                    if let Some(remote) = own_remote {
                        self.confirm(node, peer, remote)?;
                    }
                    // As the network task: go round again while a session stores.
                    if stored > 0 {
                        self.start_sync(node, peer)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A sync answer, read as the network task reads it ([`Reply::of`]).
    fn on_response(&mut self, node: usize, id: u64, response: Response) -> Result<(), Failure> {
        let Some((peer, tag)) = self.nodes[node].requests.remove(&id) else {
            return Ok(());
        };
        let coop = self.coop;
        let now = Some(self.clock(node));
        let out = match Reply::of(tag, response) {
            Reply::Differ(remote) => {
                let local = exchange::summary(self.ledger(node)?)
                    .map_err(|e| self.fail(format!("node {node} cannot read its heads: {e}")))?;
                let me = self.witness_key(node);
                self.nodes[node]
                    .sessions
                    .heads_differ(peer, coop, &local, &remote, me)
            }
            Reply::Equal => self.nodes[node].sessions.heads_equal(peer, coop),
            Reply::Entries { entries, then } => {
                let batch = self.batch(node, peer, &entries, now)?;
                self.nodes[node].sessions.ingested(peer, coop, then, batch)
            }
            Reply::Nothing => self.nodes[node].sessions.answered(peer, coop),
        };
        self.carry_out(node, out)
    }

    fn batch(
        &mut self,
        node: usize,
        peer: usize,
        entries: &[ByteBuf],
        now: Option<Timestamp>,
    ) -> Result<Ingested, Failure> {
        let b = exchange::ingest_batch(self.nodes[node].coop.as_mut(), entries, now);
        if let Ok(t) = std::env::var("TAAWUN_SIM_TRACE") {
            for (e, o) in entries.iter().zip(&b.outcomes) {
                if let Some(v) = taawun_core::entry::check_envelope(e).verified() {
                    if v.id().to_string().starts_with(&t) {
                        eprintln!(
                            "{} node {node} sync from {peer}: {o:?}",
                            self.now - self.start
                        );
                    }
                }
            }
        }
        let mut stored = 0;
        for o in &b.outcomes {
            for r in reactions(o, Via::Sync) {
                match r {
                    Reaction::Stored { .. } => stored += 1,
                    Reaction::Equivocation { evidence, .. } => self.on_evidence(node, evidence)?,
                }
            }
        }
        if stored > 0 {
            self.staged(node);
        }
        if b.faults > 0 {
            self.fault(node, peer, b.faults);
        }
        Ok(Ingested {
            stored,
            ..b.ingested
        })
    }

    fn fault(&mut self, node: usize, peer: usize, faults: u32) {
        let f = self.nodes[node].conduct.sync_fault(peer, faults, |_| true);
        if f.blocked {
            self.nodes[node].blocked.insert(peer);
            self.nodes[node].sessions.disconnected(peer);
        }
    }

    fn staged(&mut self, node: usize) {
        if !self.nodes[node].flush_due {
            self.nodes[node].flush_due = true;
            let inc = self.nodes[node].inc;
            self.at(FLUSH_MS, Ev::Flush { node, inc });
        }
    }

    fn flush(&mut self, node: usize) -> Result<(), Failure> {
        let c = self.ledger(node)?;
        c.flush()
            .map_err(|e| format!("node {node} cannot flush: {e}"))
            .map_err(|e| self.fail(e))?;
        let len = self.ledger(node)?.len();
        let n = &mut self.nodes[node];
        n.flushed = len;
        n.flush_due = false;
        Ok(())
    }

    fn on_gossip(&mut self, node: usize, from: usize, data: Vec<u8>) -> Result<(), Failure> {
        if !self.admits(node, from)? {
            // Shut out by its application score: gossipsub ignores what it sends.
            return Ok(());
        }
        let mid = gossip::message_id(&data).0;
        if self.nodes[node].seen.contains_key(&mid) {
            return Ok(());
        }
        self.nodes[node].seen.insert(mid, self.now);
        let now = Some(self.clock(node));
        let judged = exchange::judge(self.nodes[node].coop.as_mut(), &data, now);
        if let Ok(t) = std::env::var("TAAWUN_SIM_TRACE") {
            if let Some(v) = taawun_core::entry::check_envelope(&data).verified() {
                if v.id().to_string().starts_with(&t) {
                    eprintln!(
                        "{} node {node} gossip from {from}: {judged:?} len {}",
                        self.now - self.start,
                        self.nodes[node].coop.as_ref().map_or(0, |c| c.len())
                    );
                }
            }
        }
        let verdict = gossip::verdict(&judged);
        if !self.nodes[node].honest && self.faults_on {
            // A submission seen: its forged result races the worker's to the requester.
            if let Some(v) = taawun_core::entry::check_envelope(&data).verified() {
                self.forge_result(node, &v.id())?;
            }
        }
        let Judged::Ingested(outcome) = judged else {
            if verdict == Verdict::Reject {
                self.fault(node, from, 1);
            }
            return Ok(());
        };
        // What the network task reports of it: the entries stored (to flush with the
        // group), then a fork's evidence.
        let reacted = reactions(&outcome, Via::Gossip);
        if !reacted.is_empty() {
            self.staged(node);
        }
        match verdict {
            Verdict::Accept => {
                if self.nodes[node].honest {
                    // An honest node forwards only what it judged valid and stored.
                    let id = taawun_core::entry::check_envelope(&data)
                        .verified()
                        .map(|v| v.id())
                        .ok_or_else(|| {
                            self.fail(format!("node {node} accepted bytes that do not verify"))
                        })?;
                    let held = self
                        .ledger(node)?
                        .contains(&id)
                        .map_err(|e| self.fail(e.to_string()))?;
                    if !held {
                        return Err(self.fail(format!(
                            "honest node {node} forwarded entry {} it did not store ({outcome:?})",
                            id.short()
                        )));
                    }
                    if self.invalid.contains(&id) {
                        return Err(self.fail(format!(
                            "honest node {node} forwarded the invalid entry {}",
                            id.short()
                        )));
                    }
                }
                let peers: Vec<usize> = self
                    .gossip_peers(node)
                    .into_iter()
                    .filter(|p| *p != from)
                    .collect();
                for p in peers {
                    if self.admits(node, p)? {
                        self.send(node, p, Msg::Gossip(data.clone()));
                    }
                }
            }
            Verdict::Reject => self.fault(node, from, 1),
            Verdict::Ignore => {}
        }
        for r in reacted {
            if let Reaction::Equivocation { evidence, .. } = r {
                self.on_evidence(node, evidence)?;
            }
        }
        match gossip::ask_sender(&outcome) {
            Some(AskSender::Range { author, from: seq }) => {
                let coop = self.coop;
                let out = self.nodes[node].sessions.fetch(from, coop, author, seq);
                self.carry_out(node, out)?;
            }
            Some(AskSender::Sync) => self.start_sync(node, from)?,
            None => {}
        }
        Ok(())
    }

    fn witness_key(&self, node: usize) -> Option<PublicKey> {
        self.nodes[node]
            .witness
            .as_ref()
            .map(|k| PublicKey(k.verifying_key().to_bytes()))
    }

    /// `peer`'s heads put the witness's chain at `remote`: if this node holds at least
    /// that much, its latest entry is confirmed and its writes open ([`WriteGuard`]).
    fn confirm(&mut self, node: usize, peer: usize, remote: u64) -> Result<(), Failure> {
        let Some(me) = self.witness_key(node) else {
            return Ok(());
        };
        if self.nodes[node].guard.open().is_some() {
            return Ok(());
        }
        let local = self
            .ledger(node)?
            .head(&me)
            .map_err(|e| self.fail(e.to_string()))?
            .map_or(0, |h| h.seq);
        // Every simulated node is admitted to the one cooperative.
        let out = self.nodes[node].guard.confirm(peer, local, remote, || true);
        self.carry_out_guard(node, out)
    }

    /// Carries out what a node's [`WriteGuard`] decided.
    fn carry_out_guard(
        &mut self,
        node: usize,
        out: Vec<guard::Output<usize, Evidence>>,
    ) -> Result<(), Failure> {
        for o in out {
            match o {
                guard::Output::Opened(_) => {}
                guard::Output::Publish(evidence) => self.publish_evidence(node, evidence)?,
            }
        }
        Ok(())
    }

    /// An honest node with a witness key that finds a fork publishes the evidence (once
    /// per fork), as a member's node does; held until its writes open.
    fn on_evidence(&mut self, node: usize, evidence: Evidence) -> Result<(), Failure> {
        if !self.nodes[node].honest || self.nodes[node].witness.is_none() {
            return Ok(());
        }
        let out = self.nodes[node].guard.evidence(evidence);
        self.carry_out_guard(node, out)
    }

    fn publish_evidence(&mut self, node: usize, evidence: Evidence) -> Result<(), Failure> {
        let Some(f) = evidence.freezes() else {
            return Ok(());
        };
        if !self.nodes[node].evidenced.insert((f.author, f.seq)) {
            return Ok(());
        }
        let Some(key) = self.nodes[node].witness.clone() else {
            return Ok(());
        };
        let clock = self.clock(node);
        let v = self
            .ledger(node)?
            .append(&key, Body::Evidence(evidence), clock, None)
            .map_err(|e| format!("honest node {node} could not publish evidence: {e}"))
            .map_err(|e| self.fail(e))?;
        self.acknowledge(node, &v)?;
        self.gossip_out(node, &v)?;
        Ok(())
    }

    /// A local write is acknowledged once flushed (an honest node's count toward the
    /// invariant that no acknowledged write is lost).
    fn acknowledge(&mut self, node: usize, v: &Verified) -> Result<(), Failure> {
        self.flush(node)?;
        if self.nodes[node].honest {
            self.acked.push((node, v.id(), self.now));
            self.report.written += 1;
        }
        Ok(())
    }

    /// The node publishes an entry it wrote: remembered as seen (gossipsub does not hand
    /// a node its own message back) and sent to every peer.
    fn gossip_out(&mut self, node: usize, v: &Verified) -> Result<(), Failure> {
        let bytes = v.envelope();
        let mid = gossip::message_id(&bytes).0;
        self.nodes[node].seen.insert(mid, self.now);
        for p in self.gossip_peers(node) {
            if self.admits(node, p)? {
                self.send(node, p, Msg::Gossip(bytes.clone()));
            }
        }
        Ok(())
    }

    /// The node's authors write every entry that is due by its clock.
    fn write(&mut self, node: usize) -> Result<(), Failure> {
        let clock = self.clock(node);
        let mut next_due: Option<u64> = None;
        let scripts = self.nodes[node].scripts.clone();
        for s in scripts {
            while let Some(v) = self.scripts[s].entries.get(self.scripts[s].next).cloned() {
                if v.entry().ts > clock {
                    let due = (v.entry().ts as i64 - self.nodes[node].skew).max(0) as u64;
                    next_due = Some(next_due.map_or(due, |d| d.min(due)));
                    break;
                }
                let out = self
                    .ledger(node)?
                    .ingest(v.clone(), Some(clock))
                    .map_err(|e| format!("node {node} cannot store its own entry: {e}"))
                    .map_err(|e| self.fail(e))?;
                match out {
                    Ingest::Stored { .. } | Ingest::Duplicate => {
                        self.acknowledge(node, &v)?;
                        if self.nodes[node].honest {
                            self.submitted(node, &v)?;
                        }
                        self.scripts[s].next += 1;
                        if matches!(out, Ingest::Stored { .. }) {
                            self.gossip_out(node, &v)?;
                        }
                    }
                    Ingest::Pending(_) => {
                        // What it names has not reached this node yet: try again soon.
                        next_due = Some(self.now + 2_000);
                        break;
                    }
                    Ingest::Rejected(e) if self.nodes[node].honest => {
                        return Err(self.fail(format!(
                            "honest node {node} refused its own author's entry {} (seq {}): {e}",
                            v.id().short(),
                            v.entry().seq
                        )));
                    }
                    Ingest::Equivocation { .. } if self.nodes[node].honest => {
                        return Err(self.fail(format!(
                            "honest node {node} forked its own author at seq {}",
                            v.entry().seq
                        )));
                    }
                    _ => {
                        self.scripts[s].next += 1;
                    }
                }
            }
        }
        if let Some(due) = next_due {
            let inc = self.nodes[node].inc;
            self.at(due.saturating_sub(self.now).max(1), Ev::Write { node, inc });
        }
        Ok(())
    }

    fn export(&mut self, node: usize) -> Result<Vec<u8>, Failure> {
        let mut bytes = Vec::new();
        self.ledger(node)?
            .export(&mut bytes)
            .map_err(|e| format!("node {node} cannot export: {e}"))
            .map_err(|e| self.fail(e))?;
        Ok(bytes)
    }

    /// Byte offsets of the end of each item of an export (the header first).
    fn item_ends(&self, bytes: &[u8]) -> Result<Vec<u64>, Failure> {
        let mut items = taawun_ledger::export::Items::new(bytes);
        let mut ends = Vec::new();
        loop {
            match items.next_item() {
                Ok(Some(_)) => ends.push(items.offset()),
                Ok(None) => return Ok(ends),
                Err(e) => return Err(self.fail(format!("an export does not read back: {e}"))),
            }
        }
    }

    fn crash(&mut self, node: usize, from_backup: bool) -> Result<(), Failure> {
        if !self.nodes[node].up || !self.faults_on {
            return Ok(());
        }
        self.report.crashes += 1;
        let image = match (from_backup, self.nodes[node].backup.take()) {
            (true, Some((bytes, taken))) => {
                self.report.restores += 1;
                self.nodes[node].restored_from = Some(taken);
                // Writes acknowledged after the backup that no other honest node holds
                // are gone with the member's disk: the restore's doing, not the network's.
                let lost: Vec<Id> = self
                    .acked
                    .iter()
                    .filter(|(n, _, t)| *n == node && *t > taken)
                    .map(|(_, id, _)| *id)
                    .collect();
                for id in lost {
                    let elsewhere = (0..self.nodes.len()).any(|o| {
                        o != node
                            && self.nodes[o].honest
                            && self.nodes[o]
                                .coop
                                .as_ref()
                                .is_some_and(|c| c.contains(&id).unwrap_or(false))
                    });
                    if !elsewhere {
                        self.forgiven.insert(id);
                    }
                }
                bytes
            }
            _ => {
                // sled keeps a prefix of the log: at least what was flushed.
                let bytes = self.export(node)?;
                let ends = self.item_ends(&bytes)?;
                let flushed = self.nodes[node].flushed as usize;
                let len = ends.len() - 1;
                let keep = self.rng.range(flushed.min(len) as u64, len as u64) as usize;
                let mut end = ends[keep] as usize;
                if keep < len && self.rng.chance(self.cfg.faults.torn_pct) {
                    // Part of the next entry made it: a torn write.
                    self.report.torn += 1;
                    let next_end = ends[keep + 1] as usize;
                    end = self.rng.range(end as u64 + 1, next_end as u64 - 1) as usize;
                }
                bytes[..end].to_vec()
            }
        };
        let n = &mut self.nodes[node];
        n.image = image;
        n.up = false;
        n.inc += 1;
        n.coop = None;
        n.ledger = None;
        n.dir = None;
        n.sessions = Sessions::new();
        n.requests.clear();
        n.seen.clear();
        n.conduct = Conduct::new(Duration::from_secs(60));
        n.blocked.clear();
        n.flush_due = false;
        n.guard = WriteGuard::new(true);
        n.evidenced.clear();
        n.results.crashed();
        n.admission = Admission::new();
        n.roles = None;
        n.reproved.clear();
        n.state = None;
        self.drop_dialed(node);
        for p in self.gossip_peers(node) {
            self.nodes[p].sessions.disconnected(node);
        }
        self.peers_crashed(node);
        let down = self.rng.range(5_000, 120_000);
        self.at(down, Ev::Restart { node });
        Ok(())
    }

    fn restart(&mut self, node: usize) -> Result<(), Failure> {
        if self.nodes[node].up {
            return Ok(());
        }
        let image = std::mem::take(&mut self.nodes[node].image);
        self.open(node, Some(&image))?;
        // No acknowledged write is lost by a crash.
        let restored = self.nodes[node].restored_from;
        let mine: Vec<Id> = self
            .acked
            .iter()
            .filter(|(n, _, t)| *n == node && restored.is_none_or(|r| *t <= r))
            .map(|(_, id, _)| *id)
            .collect();
        for id in mine {
            let held = self
                .ledger(node)?
                .contains(&id)
                .map_err(|e| self.fail(e.to_string()))?;
            if !held {
                let pending = self.ledger(node)?.is_pending(&id);
                return Err(self.fail(format!(
                    "node {node} lost its acknowledged write {} in a crash (in the disk image: {}, left pending by the import: {pending})",
                    id.short(),
                    image_holds(&image, &id)
                )));
            }
        }
        // Its authors go on from what the disk holds (what was lost comes back by sync
        // or is written again: the same signed bytes).
        for s in self.nodes[node].scripts.clone() {
            let author = self.scripts[s].author;
            let head = self
                .ledger(node)?
                .head(&author)
                .map_err(|e| self.fail(e.to_string()))?;
            let next = head.map_or(0, |h| h.seq as usize);
            self.scripts[s].next = next;
            // An entry of its author the node holds but never wrote itself (its own
            // entry, left waiting for what it named, came back in the image and was let
            // through since): the member's node wrote the result with the submission, so
            // it is queued now. Written ones already have their file.
            let held: Vec<Verified> = self.scripts[s].entries
                [..next.min(self.scripts[s].entries.len())]
                .iter()
                .filter(|v| matches!(v.entry().body, Body::Submit(_)))
                .filter(|v| !self.nodes[node].results.holds(&v.id()))
                .cloned()
                .collect();
            for v in held {
                self.submitted(node, &v)?;
            }
        }
        let inc = self.nodes[node].inc;
        self.at(100, Ev::SyncRound { node, inc });
        self.at(1, Ev::Write { node, inc });
        self.requeue_results(node)?;
        self.reconnected(Some(node))
    }

    fn heal(&mut self) -> Result<(), Failure> {
        self.faults_on = false;
        self.side = None;
        for node in 0..self.nodes.len() {
            if !self.nodes[node].up {
                self.restart(node)?;
            }
        }
        self.healed_at = Some(self.now);
        self.reconnected(None)?;
        self.at(CHECK_MS, Ev::Check);
        Ok(())
    }

    /// Bounded memory: every buffer of the node stays within its bound.
    fn bounded(&self, node: usize) -> Result<(), Failure> {
        let n = &self.nodes[node];
        let Some(c) = &n.coop else { return Ok(()) };
        if c.pending_len() > taawun_ledger::pending::MAX_PENDING {
            return Err(self.fail(format!(
                "node {node}'s pending buffer holds {}",
                c.pending_len()
            )));
        }
        if n.sessions.len() > sync::MAX_SESSIONS {
            return Err(self.fail(format!(
                "node {node} runs {} sync sessions",
                n.sessions.len()
            )));
        }
        let most = sync::MAX_SESSIONS * (sync::MAX_RANGES_IN_FLIGHT + 1);
        if n.requests.len() > most {
            return Err(self.fail(format!(
                "node {node} has {} sync requests out",
                n.requests.len()
            )));
        }
        if n.results.waiting() > taawun_net::result::MAX_OUTBOX {
            return Err(self.fail(format!(
                "node {node}'s outbox holds {} results",
                n.results.waiting()
            )));
        }
        if n.seen.len() > MAX_SEEN {
            return Err(self.fail(format!(
                "node {node} remembers {} message ids",
                n.seen.len()
            )));
        }
        Ok(())
    }

    /// Once healed: have the honest nodes converged? Then check everything and stop.
    fn check(&mut self) -> Result<(), Failure> {
        let healed = self.healed_at.unwrap_or(self.now);
        let bound = self.convergence_bound();
        // A node that speaks for no key is served nothing (see `admission`).
        let honest: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].honest && self.speaks(*i))
            .collect();
        let writing = self
            .nodes
            .iter()
            .filter(|n| n.honest)
            .flat_map(|n| n.scripts.iter())
            .any(|s| self.scripts[*s].next < self.scripts[*s].entries.len());
        // A frozen author's chain may end differently on each node (whichever entry of
        // the fork came first holds the slot): its entries, on the chain or beside it,
        // are compared as a set, and the sync digest leaves its head out (the summary of
        // its branches stands for it), so converged nodes also end their sync sessions at
        // once; the folded state is compared at the end.
        let mut digests = BTreeMap::new();
        for &i in &honest {
            let c = self.ledger(i)?;
            let frozen = c.frozen();
            let read = exchange::summary(c).and_then(|s| Ok((s, frozen_entries(c, &frozen)?)));
            let (summary, entries) = read.map_err(|e| self.fail(e.to_string()))?;
            digests.insert(i, (sync::digest(&summary), frozen, entries));
        }
        let first = digests.values().next().cloned();
        let same = digests.values().all(|d| Some(d) == first.as_ref());
        let mut results = self.results_waiting();
        if same && !writing {
            results.extend(self.jurors_waiting(honest[0])?);
        }
        if same && !writing && !results.is_empty() {
            // Converged, with results still on their way: a result backed off while its
            // requester was away waits at most RETRY_MAX, or less when they meet.
            let bound = bound + taawun_net::result::RETRY_MAX.as_millis() as u64;
            if self.now - healed > bound {
                return Err(self.fail(format!(
                    "results not delivered within {} s of the heal: {}",
                    bound / 1000,
                    results.join("; ")
                )));
            }
            self.at(CHECK_MS, Ev::Check);
            return Ok(());
        }
        if writing || !same {
            if self.now - healed > bound {
                let lens: Vec<String> = honest
                    .iter()
                    .map(|i| {
                        format!(
                            "node {i}: {} entries",
                            self.nodes[*i].coop.as_ref().map_or(0, |c| c.len())
                        )
                    })
                    .collect();
                let stuck: Vec<String> = honest
                    .iter()
                    .flat_map(|n| self.nodes[*n].scripts.iter().map(move |s| (*n, *s)))
                    .filter_map(|(n, s)| {
                        let sc = &self.scripts[s];
                        let v = sc.entries.get(sc.next)?;
                        let waits = self.nodes[n]
                            .coop
                            .as_ref()
                            .and_then(|c| c.state().ok())
                            .map(|st| taawun_core::validate::check(&st, &self.coop, v, None));
                        Some(format!(
                            "node {n}'s author {} at its entry {} of {} ({:?}, {}: {waits:?})",
                            sc.author.short(),
                            sc.next + 1,
                            sc.entries.len(),
                            v.entry().body.kind(),
                            v.id().short()
                        ))
                    })
                    .collect();
                let differ: Vec<String> = honest
                    .iter()
                    .skip(1)
                    .map(|b| self.difference(honest[0], *b))
                    .filter(|d| d != "none")
                    .collect();
                return Err(self.fail(format!(
                    "the honest nodes did not converge within {} s of the heal ({}; authors stuck: {}; entries held apart: {})",
                    bound / 1000,
                    lens.join(", "),
                    stuck.join("; "),
                    if differ.is_empty() { "none".to_string() } else { differ.join("; ") }
                )));
            }
            self.at(CHECK_MS, Ev::Check);
            return Ok(());
        }
        self.report.converged_ms = self.now - healed;
        self.final_checks(&honest)?;
        self.done = true;
        Ok(())
    }

    /// How long the honest nodes may take to converge once healed: a sync round reaches
    /// a neighbour every interval, so a few rounds per hop of the graph's diameter.
    fn convergence_bound(&self) -> u64 {
        let every = taawun_net::config::DEFAULT_SYNC_INTERVAL.as_millis() as u64;
        let hops = (usize::BITS - self.nodes.len().leading_zeros()) as u64;
        10 * every + 4 * every * hops
    }

    fn final_checks(&mut self, honest: &[usize]) -> Result<(), Failure> {
        let t = self.now;
        // A node that speaks for no key is served nothing by an honest node: without a
        // hostile node (which serves anyone), it holds the charter only.
        let strangers: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].honest && !self.speaks(*i))
            .collect();
        self.report.strangers = strangers.len();
        if self.hostile.is_none() {
            for &i in &strangers {
                let held = self.ledger(i)?.len();
                if held > 1 {
                    return Err(self.fail(format!(
                        "node {i}, which speaks for no key, was served {} entries",
                        held - 1
                    )));
                }
            }
        }
        let mut reference: Option<(usize, taawun_core::fold::Coop)> = None;
        for &i in honest {
            let c = self.nodes[i]
                .coop
                .as_ref()
                .ok_or_else(|| self.fail("no ledger"))?;
            for id in &self.invalid {
                if c.contains(id).unwrap_or(true) {
                    return Err(self.fail(format!(
                        "honest node {i} stored the invalid entry {}",
                        id.short()
                    )));
                }
            }
            for (n, id, _) in &self.acked {
                if self.forgiven.contains(id) {
                    continue;
                }
                if !c.contains(id).unwrap_or(false) {
                    return Err(self.fail(format!(
                        "node {i} lacks entry {} acknowledged by node {n}",
                        id.short()
                    )));
                }
            }
            let state = c.state().map_err(|e| self.fail(e.to_string()))?;
            if let Some((r, s)) = &reference {
                let unfrozen = |c: &taawun_core::fold::Coop| {
                    let mut h = c.heads().clone();
                    h.retain(|a, _| !c.frozen_authors().contains_key(a));
                    h
                };
                let what = if unfrozen(s) != unfrozen(&state) {
                    Some("heads")
                } else if s.frozen_authors() != state.frozen_authors() {
                    Some("frozen authors")
                } else if s.balances(t) != state.balances(t) {
                    Some("balances")
                } else if s.records(&self.requesters, t) != state.records(&self.requesters, t) {
                    Some("requesters' records")
                } else {
                    None
                };
                if let Some(what) = what {
                    let differ = self.difference(*r, i);
                    return Err(self.fail(format!(
                        "honest nodes {r} and {i} hold the same heads but fold different {what} (entries held by one only: {differ})"
                    )));
                }
            } else {
                // A fork needs the author's key: only the stolen keys may be frozen.
                let hostile_keys: BTreeSet<PublicKey> = match self.hostile {
                    Some(h) if self.cfg.forks => self.nodes[h]
                        .stolen
                        .iter()
                        .map(|s| self.scripts[*s].author)
                        .collect(),
                    _ => BTreeSet::new(),
                };
                if let Some(a) = state
                    .frozen_authors()
                    .keys()
                    .find(|a| !hostile_keys.contains(a))
                {
                    return Err(self.fail(format!(
                        "honest node {i} froze the honest author {}",
                        a.short()
                    )));
                }
                self.report.entries = c.len();
                self.report.frozen = state.frozen_authors().len();
                reference = Some((i, state));
            }
        }
        // What an auditor would check offline, on one honest node's export.
        if let Some(&i) = honest.first() {
            self.check_results(i)?;
            let bytes = self.export(i)?;
            let summary = taawun_ledger::verify(&bytes[..])
                .map_err(|e| self.fail(format!("node {i}'s export does not verify: {e}")))?;
            // A fork by the hostile node is a break the auditor must name; nothing else.
            let breaks: u64 = summary
                .breaks
                .iter()
                .filter(|(name, _)| {
                    !(self.hostile.is_some()
                        && name.as_str() == taawun_ledger::verdict::EQUIVOCATION)
                })
                .map(|(_, n)| *n)
                .sum();
            if breaks > 0 {
                return Err(self.fail(format!(
                    "node {i}'s export has breaks an auditor would report: {:?}",
                    summary.breaks
                )));
            }
        }
        Ok(())
    }

    /// The entries one of two nodes holds and the other does not, in words.
    fn difference(&self, a: usize, b: usize) -> String {
        let ids = |n: usize| -> BTreeSet<Id> {
            self.nodes[n]
                .coop
                .as_ref()
                .map(|c| c.log_ids().filter_map(Result::ok).collect())
                .unwrap_or_default()
        };
        let (x, y) = (ids(a), ids(b));
        let describe = |n: usize, id: &Id| -> String {
            let c = self.nodes[n].coop.as_ref();
            match c.and_then(|c| c.get(id).ok().flatten()) {
                Some(v) => {
                    let e = v.entry();
                    let on_chain = c
                        .and_then(|c| c.range(&e.author, e.seq, 1).ok())
                        .is_some_and(|r| r.first().map(|f| f.id()) == Some(*id));
                    format!(
                        "{} ({:?}, seq {} of {}, {}) at node {n} only",
                        id.short(),
                        e.body.kind(),
                        e.seq,
                        e.author.short(),
                        if on_chain {
                            "on its chain"
                        } else {
                            "beside the chain"
                        }
                    )
                }
                None => format!("{} at node {n} only", id.short()),
            }
        };
        let mut out: Vec<String> = x.difference(&y).map(|id| describe(a, id)).collect();
        out.extend(y.difference(&x).map(|id| describe(b, id)));
        if out.is_empty() {
            "none".into()
        } else {
            out.join("; ")
        }
    }
}

/// Whether a disk image holds the entry `id` whole (for the words of a failure).
fn image_holds(image: &[u8], id: &Id) -> bool {
    let mut items = taawun_ledger::export::Items::new(image);
    if items.header().is_err() {
        return false;
    }
    while let Ok(Some(item)) = items.next_item() {
        let found = item
            .raw
            .ok()
            .and_then(|raw| taawun_core::entry::Unverified::decode(&raw).ok())
            .is_some_and(|u| u.id() == *id);
        if found {
            return true;
        }
    }
    false
}

/// Every entry of each frozen author a ledger holds, on its chain or beside it.
fn frozen_entries(
    c: &taawun_ledger::CoopLedger,
    frozen: &BTreeMap<PublicKey, u64>,
) -> Result<BTreeMap<PublicKey, BTreeSet<Id>>, taawun_ledger::LedgerError> {
    let mut out = BTreeMap::new();
    for author in frozen.keys() {
        let mut ids = BTreeSet::new();
        let mut from = 1;
        loop {
            let got = c.range(author, from, taawun_ledger::MAX_RANGE)?;
            let Some(last) = got.last() else { break };
            from = last.entry().seq + 1;
            ids.extend(got.iter().map(|v| v.id()));
        }
        for b in c.beside(author, 0) {
            ids.insert(b?.1);
        }
        out.insert(*author, ids);
    }
    Ok(out)
}
