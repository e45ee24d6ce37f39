//! Network benchmark: gossip propagation and sync catch-up. Prints figures, asserts nothing.
//!
//! ```text
//! cargo bench -p taawun-net --bench propagation
//! TAAWUN_BENCH_NODES="20,50,100" TAAWUN_BENCH_OFFERS=50 TAAWUN_BENCH_CATCHUP=100000 \
//!     cargo bench -p taawun-net --bench propagation
//! ```
//!
//! 1. **Propagation.** For each size N: N in-process taawun nodes ([`Network`], TCP on
//!    127.0.0.1, a sled ledger each in a temporary directory) in a seeded random sparse
//!    connected graph (node i dials `TAAWUN_BENCH_DEGREE` (3) random earlier nodes), all
//!    joined to one synthetic cooperative. Once every node has its connections, a few
//!    warm-up offers are posted, then `TAAWUN_BENCH_OFFERS` (50) offers one at a time,
//!    each by [`Network::append`] on a random node; per offer: the time from the call
//!    until every node has emitted `Event::Stored` for it. Then the same graph of *raw*
//!    gossipsub swarms (the same gossipsub configuration, [`gossip::config_builder`],
//!    but no validation, no scoring, no ledger, no other behaviour) publishes the same
//!    envelope bytes from the same nodes, and the time until every node received each
//!    message is measured the same way. The raw swarms dial the graph the taawun nodes
//!    kept (their connections at the end of the settling time: a taawun node chooses its
//!    peers, [`NetConfig::peer_target`], and does not keep to the dialed graph), so both
//!    halves forward every message over the same edges. Ratio: taawun p50 / raw p50 (goal
//!    <= 1.5). With `TAAWUN_BENCH_NODES` including 2, the two-node row's spread is the
//!    cost of one hop on a machine no other node shares. Then, unless
//!    `TAAWUN_BENCH_FLOOR=0`, **the floor**: the same raw swarms with gossipsub's
//!    validation on, each node decoding the envelope and verifying its signature before
//!    reporting it (so before forwarding it), as every taawun node must; nothing else
//!    (no ledger, no judging, no other behaviour). floor / raw is what the rule "judge
//!    before forwarding" costs by itself; taawun / floor is what taawun adds beyond it.
//!    Then, unless `TAAWUN_BENCH_FLOOR_PROTOCOLS=0`, **the floor among taawun's other
//!    protocols**: the same verifying swarms, each also carrying every other protocol a
//!    taawun node speaks (identify, Kademlia, ping, three request-response protocols, the
//!    relay client, DCUtR, AutoNAT's client and server, the block lists and connection
//!    limits), idle. It / floor is what libp2p's composition of those protocols costs
//!    each connection's wake-ups; taawun / it, what taawun's own work adds.
//!    `TAAWUN_BENCH_PROTOCOLS` (a comma-separated list of [`Protocols`]' fields) keeps
//!    only those named, to find which of them a connection pays for.
//! 2. **Catch-up.** `TAAWUN_BENCH_CATCHUP` (100,000) synthetic entries are bulk-imported
//!    (`Ledger::import` of an export file, timed: the reference rate) into the ledger of
//!    node A, which then starts; node B starts with only the charter and syncs from A.
//!    Rate: entries per second from B's start until its heads equal A's. Ratio:
//!    sync rate / import rate (goal >= 0.5).
//! 3. **A node exporting.** Once B has caught up, `TAAWUN_BENCH_PROBES` (30) offers are
//!    appended on B one at a time; per offer, the time from B's store to A's (gossip
//!    through A's network task) and the round trip of a command to A (`heads`); and all
//!    along, a bare libp2p node pings A every 50 ms (its connection, not its task). Then the
//!    same while A exports its whole ledger again and again ([`Network::export`]). Probes
//!    are `TAAWUN_BENCH_PROBE_GAP_MS` (200) apart, so that they spread over several
//!    exports. Ratio: exporting / idle (goal <= 2).
//!
//! 4. **Hops, one node per process**, run after 1 and before 2 (`TAAWUN_BENCH_HOPS`, 2:
//!    one hop; `""` skips): one hop's figures with no other node in the process; see the
//!    module `hops`.
//!
//! Other knobs: `TAAWUN_BENCH_SEED` (7), `TAAWUN_BENCH_HEARTBEAT_MS` (1000, the default
//! heartbeat), `TAAWUN_BENCH_WARMUP` (3), `TAAWUN_BENCH_RAW_GRAPH` (`kept`,
//! the default; `dialed`: the seeded sparse graph the taawun nodes were started with;
//! `complete`: every earlier node). `TAAWUN_BENCH_NODES=""` or
//! `TAAWUN_BENCH_CATCHUP=0` skip a part; `TAAWUN_BENCH_SETTLE_MS` (20000) is the idle time
//! before the first message (the mesh forms; idle CPU is measured over it); `TAAWUN_BENCH_CATCHUP_TIMEOUT_S` (600) bounds the
//! catch-up (the rate is then over what was synced).

mod hops;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAuthenticity};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::SwarmEvent;
use libp2p::{
    allow_block_list, autonat, connection_limits, dcutr, identify, kad, noise, ping, relay, tcp,
    yamux, Multiaddr, StreamProtocol,
};
use taawun_core::body::{Body, Offer};
use taawun_core::synth::{self, Params, Rng};
use taawun_core::{entry, Id, Money, Verified};
use taawun_ledger::Ledger;
use taawun_net::config::{system_now, DEFAULT_IDLE_TIMEOUT};
use taawun_net::{gossip, Event, NetConfig, Network};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long one message may take to reach every node before it counts as lost.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Simulated time per generated catch-up entry, for the generator's start: well over the
/// generator's average (about 67 s per entry).
const CATCHUP_MS_PER_ENTRY: u64 = 120_000;

/// How long the graph may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the benchmark is asked to do.
struct Cfg {
    nodes: Vec<usize>,
    offers: usize,
    warmup: usize,
    degree: usize,
    catchup: usize,
    seed: u64,
    heartbeat: Duration,
    /// Which graph the raw swarms dial.
    raw_graph: RawGraph,
    /// How long the catch-up may take before the benchmark gives up on it.
    catchup_timeout: Duration,
    /// How long the connected nodes idle before the first message (the mesh forms).
    settle: Duration,
    /// Entries gossiped to the synced node while it idles, and again while it exports.
    probes: usize,
    /// Pause between two probes, so that they spread over several exports.
    probe_gap: Duration,
    /// Whether to run the verifying raw half too (the floor).
    floor: bool,
    /// Whether to run the floor again among taawun's other protocols.
    floor_protocols: bool,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().replace('_', ""))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Cfg {
    fn from_env() -> Self {
        let nodes = std::env::var("TAAWUN_BENCH_NODES")
            .unwrap_or_else(|_| "20,50".to_string())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .filter(|n: &usize| *n >= 2)
            .collect();
        Self {
            nodes,
            offers: env_usize("TAAWUN_BENCH_OFFERS", 50).max(1),
            warmup: env_usize("TAAWUN_BENCH_WARMUP", 3),
            degree: env_usize("TAAWUN_BENCH_DEGREE", 3).max(1),
            catchup: env_usize("TAAWUN_BENCH_CATCHUP", 100_000),
            seed: env_usize("TAAWUN_BENCH_SEED", 7) as u64,
            heartbeat: Duration::from_millis(env_usize("TAAWUN_BENCH_HEARTBEAT_MS", 1000) as u64),
            raw_graph: match std::env::var("TAAWUN_BENCH_RAW_GRAPH").as_deref() {
                Ok("dialed") => RawGraph::Dialed,
                Ok("complete") => RawGraph::Complete,
                _ => RawGraph::Kept,
            },
            settle: Duration::from_millis(env_usize("TAAWUN_BENCH_SETTLE_MS", 20_000) as u64),
            probes: env_usize("TAAWUN_BENCH_PROBES", 30),
            probe_gap: Duration::from_millis(env_usize("TAAWUN_BENCH_PROBE_GAP_MS", 200) as u64),
            floor: env_usize("TAAWUN_BENCH_FLOOR", 1) != 0,
            floor_protocols: env_usize("TAAWUN_BENCH_FLOOR_PROTOCOLS", 1) != 0,
            catchup_timeout: Duration::from_secs(
                env_usize("TAAWUN_BENCH_CATCHUP_TIMEOUT_S", 600) as u64
            ),
        }
    }
}

/// The graph the raw half dials.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RawGraph {
    /// The connections the taawun nodes held once settled.
    Kept,
    /// The seeded sparse graph the taawun nodes dialed at start.
    Dialed,
    /// Every node dials every earlier node.
    Complete,
}

/// A node's report to the measuring loop.
#[derive(Debug)]
enum Stamp {
    /// Node `node` holds the message or entry `key` since `at`.
    Got {
        node: usize,
        key: Vec<u8>,
        at: Instant,
    },
    /// Node `node` has one more peer (taawun: connected; raw: subscribed to the topic).
    Peer { node: usize },
    /// Node `node` ended a sync session.
    Synced { node: usize },
}

/// Collects stamps from every node of a run.
struct Collector {
    rx: mpsc::UnboundedReceiver<Stamp>,
    /// Per key, when each node got it.
    got: HashMap<Vec<u8>, HashMap<usize, Instant>>,
    peers: Vec<usize>,
    sessions: Vec<usize>,
}

impl Collector {
    fn new(n: usize) -> (Self, mpsc::UnboundedSender<Stamp>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let c = Self {
            rx,
            got: HashMap::new(),
            peers: vec![0; n],
            sessions: vec![0; n],
        };
        (c, tx)
    }

    fn take(&mut self, s: Stamp) {
        match s {
            Stamp::Got { node, key, at } => {
                self.got.entry(key).or_default().entry(node).or_insert(at);
            }
            Stamp::Peer { node } => self.peers[node] += 1,
            Stamp::Synced { node } => self.sessions[node] += 1,
        }
    }

    /// Waits until `n` nodes hold `key`; returns when the last one got it and when
    /// `origin` did.
    async fn all_have(
        &mut self,
        key: &[u8],
        n: usize,
        origin: usize,
        timeout: Duration,
    ) -> Option<(Instant, Option<Instant>)> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(nodes) = self.got.get(key) {
                if nodes.len() >= n {
                    let last = nodes.values().max().copied()?;
                    return Some((last, nodes.get(&origin).copied()));
                }
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(s)) => self.take(s),
                _ => return None,
            }
        }
    }

    /// Waits until node i has at least `want[i]` peers.
    async fn peers_at_least(&mut self, want: &[usize], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.peers.iter().zip(want).all(|(have, w)| have >= w) {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(s)) => self.take(s),
                _ => return false,
            }
        }
    }
}

/// The graph: `dials[i]` are the earlier nodes node i dials (up to `degree`, distinct,
/// seeded); connected because every node but the first dials at least one earlier node.
fn graph(n: usize, degree: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = Rng::new(seed ^ 0x0067_7261_7068);
    (0..n)
        .map(|i| {
            let mut picks: Vec<usize> = Vec::new();
            while picks.len() < degree.min(i) {
                let p = (rng.next_u64() % i as u64) as usize;
                if !picks.contains(&p) {
                    picks.push(p);
                }
            }
            picks
        })
        .collect()
}

/// Each node's number of neighbours in the (undirected) graph.
fn degrees(dials: &[Vec<usize>]) -> Vec<usize> {
    let mut d = vec![0; dials.len()];
    for (i, ps) in dials.iter().enumerate() {
        d[i] += ps.len();
        for p in ps {
            d[*p] += 1;
        }
    }
    d
}

fn keypair(rng: &mut Rng) -> Keypair {
    Keypair::ed25519_from_bytes(rng.bytes32()).expect("32 bytes are an ed25519 secret")
}

/// An offer over the floor (20 EUR for an hour), distinct per `n`.
fn offer(n: usize) -> Body {
    Body::Offer(Offer {
        title: format!("Benchmark offer {n}"),
        description: "Transcribe the interview recordings of the founding assembly.".into(),
        purpose: "An oral history of the cooperative".into(),
        pay: Money::new("EUR", 2000),
        minutes: 60,
        assignments: 1,
        expires_at: system_now() + 7 * 24 * 60 * 60 * 1000,
        review_window_ms: 24 * 60 * 60 * 1000,
        claim_window_ms: 10 * 60 * 1000,
        commit: taawun_core::lottery::commit(&taawun_core::Hash([n as u8; 32])),
    })
}

/// Nearest-rank percentile of sorted durations.
fn pct(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (zero
/// where there is no such file).
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The fields after the command name (in parentheses, which may hold spaces):
            // utime and stime are fields 14 and 15 of the line, 12th and 13th after it.
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let u: u64 = f.get(11)?.parse().ok()?;
            let k: u64 = f.get(12)?.parse().ok()?;
            Some(u + k)
        })
        .unwrap_or(0);
    // In USER_HZ: 100 per second on every common Linux configuration.
    Duration::from_millis(ticks * 10)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Latencies of one run, in order of posting (warm-up excluded).
#[derive(Default)]
struct Run {
    /// Call (append / publish) to the last node holding it.
    total: Vec<Duration>,
    /// The origin holding it (local store, or the publish call) to the last node.
    spread: Vec<Duration>,
    /// Messages that did not reach every node in time.
    lost: usize,
    /// Time from the first start to a connected graph.
    setup: Duration,
    /// CPU the whole process used while the nodes idled (settling), in cores.
    idle_cpu: f64,
    /// CPU per posted message while posting, in ms.
    cpu_per_msg: f64,
    /// Connections opened (taawun: `PeerConnected` events) or topic subscriptions (raw)
    /// per node over the run, on average.
    peers: f64,
    /// Peers connected per node at the end of the settling time, on average and at most
    /// (taawun only: `Network::peers`).
    connected: f64,
    connected_max: usize,
    /// The graph at the end of the settling time (taawun only): `kept[i]` are the nodes
    /// under i that node i is connected to.
    kept: Vec<Vec<usize>>,
}

impl Run {
    fn record(&mut self, t0: Instant, done: Option<(Instant, Option<Instant>)>) {
        match done {
            Some((last, origin)) => {
                self.total.push(last.saturating_duration_since(t0));
                if let Some(o) = origin {
                    self.spread.push(last.saturating_duration_since(o));
                }
            }
            None => self.lost += 1,
        }
    }
    fn sorted(v: &[Duration]) -> Vec<Duration> {
        let mut s = v.to_vec();
        s.sort();
        s
    }
    fn p(&self, which: &[Duration], p: usize) -> Duration {
        pct(&Self::sorted(which), p)
    }

    /// The median time until every node held a message, in ms.
    fn p50(&self) -> f64 {
        ms(self.p(&self.total, 50))
    }

    /// The median spread, in ms.
    fn spread50(&self) -> f64 {
        ms(self.p(&self.spread, 50))
    }
}

/// `a / b`, without dividing by zero when nothing was measured in `b`.
fn ratio(a: f64, b: f64) -> f64 {
    a / b.max(1e-9)
}

// ---------------------------------------------------------------------------------------
// taawun nodes

struct TaawunNode {
    net: Network,
    addr: Multiaddr,
    task: JoinHandle<()>,
    forwarder: JoinHandle<()>,
}

/// Starts a taawun node on `dir` and forwards its `Stored` and `PeerConnected` events.
async fn start_taawun(
    node: usize,
    dir: &Path,
    key: Keypair,
    member: SigningKey,
    bootstrap: Vec<Multiaddr>,
    heartbeat: Duration,
    stamps: mpsc::UnboundedSender<Stamp>,
) -> TaawunNode {
    let ledger = Ledger::open(dir).expect("ledger opens");
    start_taawun_on(node, ledger, key, member, bootstrap, heartbeat, stamps).await
}

/// A node speaking for `member`: peers serve gossip and sync only to nodes proven (by
/// the hello protocol) to hold a key with a role in the cooperative.
async fn start_taawun_on(
    node: usize,
    ledger: Ledger,
    key: Keypair,
    member: SigningKey,
    bootstrap: Vec<Multiaddr>,
    heartbeat: Duration,
    stamps: mpsc::UnboundedSender<Stamp>,
) -> TaawunNode {
    let config = NetConfig {
        bootstrap,
        heartbeat,
        ..NetConfig::loopback()
    };
    let (net, mut rx, task) =
        Network::spawn_member(config, key, member, ledger).expect("network starts");
    let mut early = Vec::new();
    let addr = loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(Event::Listening(a))) => break a,
            Ok(Some(e)) => early.push(e),
            other => panic!("node {node} did not listen: {other:?}"),
        }
    };
    let addr = addr.with(Protocol::P2p(net.peer_id()));
    let forward = move |e: Event| match e {
        Event::Stored { id, .. } => {
            let _ = stamps.send(Stamp::Got {
                node,
                key: id.0.to_vec(),
                at: Instant::now(),
            });
        }
        Event::PeerConnected(_) => {
            let _ = stamps.send(Stamp::Peer { node });
        }
        Event::Synced { .. } => {
            let _ = stamps.send(Stamp::Synced { node });
        }
        _ => {}
    };
    let forwarder = tokio::spawn(async move {
        for e in early {
            forward(e);
        }
        while let Some(e) = rx.recv().await {
            forward(e);
        }
    });
    TaawunNode {
        net,
        addr,
        task,
        forwarder,
    }
}

impl TaawunNode {
    async fn stop(self) {
        self.net.shutdown().await.expect("shuts down");
        self.task.await.expect("task ends");
        let _ = self.forwarder.await;
    }
}

/// The taawun half of a propagation run. Returns the latencies, the cooperative and the
/// envelopes posted (with their origin), warm-up first, for the raw run to replay.
async fn taawun_run(
    cfg: &Cfg,
    dials: &[Vec<usize>],
    posters: &[usize],
) -> (Run, Id, Vec<(usize, Vec<u8>)>) {
    let n = dials.len();
    let root = tempfile::tempdir().expect("tempdir");
    // One member key per node: the charter names them all.
    let s = synth::generate(&Params {
        seed: cfg.seed,
        members: n,
        requesters: 4,
        entries: 1,
        ..Params::default()
    });
    let charter = s.entries[0].clone();
    let coop = s.coop;
    let (mut col, tx) = Collector::new(n);
    let mut rng = Rng::new(cfg.seed ^ 0x7461_6177_756e);
    let started = Instant::now();
    let mut nodes: Vec<TaawunNode> = Vec::with_capacity(n);
    let mut index: HashMap<libp2p::PeerId, usize> = HashMap::with_capacity(n);
    for (i, ds) in dials.iter().enumerate() {
        let boot = ds.iter().map(|d| nodes[*d].addr.clone()).collect();
        let dir = root.path().join(i.to_string());
        let member = s.members[i].clone();
        let key = keypair(&mut rng);
        index.insert(key.public().to_peer_id(), i);
        let node = start_taawun(i, &dir, key, member, boot, cfg.heartbeat, tx.clone()).await;
        node.net.join(charter.clone()).await.expect("joins");
        nodes.push(node);
    }
    let ok = col.peers_at_least(&degrees(dials), CONNECT_TIMEOUT).await;
    if !ok {
        eprintln!("  taawun: not every connection came up: {:?}", col.peers);
    }
    let mut run = Run {
        setup: started.elapsed(),
        ..Run::default()
    };
    // gossipsub grafts the mesh on its heartbeats after the subscriptions are exchanged.
    let (c0, w0) = (cpu_time(), Instant::now());
    tokio::time::sleep(cfg.settle).await;
    run.idle_cpu = (cpu_time() - c0).as_secs_f64() / w0.elapsed().as_secs_f64();
    let mut counts = Vec::with_capacity(n);
    run.kept = vec![Vec::new(); n];
    for (i, node) in nodes.iter().enumerate() {
        let peers = node.net.peers().await.expect("peers");
        counts.push(peers.len());
        // Each edge once, dialed by its higher end (as the raw half dials).
        for j in peers.iter().filter_map(|p| index.get(p).copied()) {
            let (lo, hi) = (i.min(j), i.max(j));
            if !run.kept[hi].contains(&lo) {
                run.kept[hi].push(lo);
            }
        }
    }
    run.connected = counts.iter().sum::<usize>() as f64 / n as f64;
    run.connected_max = counts.iter().copied().max().unwrap_or(0);
    let c1 = cpu_time();

    let mut posted = Vec::with_capacity(posters.len());
    for (k, &origin) in posters.iter().enumerate() {
        let key = s.requesters[k % s.requesters.len()].clone();
        let t0 = Instant::now();
        let v: Verified = nodes[origin]
            .net
            .append(coop, key, offer(k), None)
            .await
            .expect("offer appended");
        posted.push((origin, v.envelope()));
        let done = col.all_have(&v.id().0, n, origin, DELIVERY_TIMEOUT).await;
        if k >= cfg.warmup {
            run.record(t0, done);
        }
    }
    run.cpu_per_msg = ms(cpu_time() - c1) / posted.len().max(1) as f64;
    run.peers = col.peers.iter().sum::<usize>() as f64 / n as f64;
    for node in nodes {
        node.stop().await;
    }
    (run, coop, posted)
}

// ---------------------------------------------------------------------------------------
// raw gossipsub nodes

enum RawCmd {
    Publish(Vec<u8>),
    Dial(Multiaddr),
    Stop,
}

struct RawNode {
    tx: mpsc::UnboundedSender<RawCmd>,
    addr: Multiaddr,
    task: JoinHandle<()>,
}

impl RawNode {
    async fn stop(self) {
        let _ = self.tx.send(RawCmd::Stop);
        let _ = self.task.await;
    }
}

/// What a raw swarm does with a message before forwarding it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RawMode {
    /// Forwards it at once (gossipsub's own validation only).
    Forward,
    /// Decodes the envelope and verifies its signature, then reports the verdict, as every
    /// taawun node must before forwarding: the floor of a judging network.
    Verify,
    /// As [`RawMode::Verify`], on a swarm that also carries every other protocol a taawun
    /// node speaks ([`Protocols`]), idle: what libp2p's composition of them costs a
    /// connection, apart from anything taawun does with them.
    VerifyAmongProtocols,
}

impl RawMode {
    fn verifies(self) -> bool {
        self != RawMode::Forward
    }
}

/// A swarm's behaviour that carries gossipsub.
trait Gossiping: libp2p::swarm::NetworkBehaviour {
    fn gossip(&mut self) -> &mut gossipsub::Behaviour;
    /// gossipsub's event, when `ev` is one.
    fn gossip_event(ev: Self::ToSwarm) -> Option<gossipsub::Event>;
}

impl Gossiping for gossipsub::Behaviour {
    fn gossip(&mut self) -> &mut gossipsub::Behaviour {
        self
    }
    fn gossip_event(ev: gossipsub::Event) -> Option<gossipsub::Event> {
        Some(ev)
    }
}

/// Request-response over CBOR with payloads of any bytes: the shape of a taawun node's own
/// protocols (hello, sync, results), none of which speaks here.
type Cbor = request_response::cbor::Behaviour<Vec<u8>, Vec<u8>>;

/// The protocols of a taawun node's behaviour (`taawun_net::behaviour`), each with libp2p's
/// handler and taawun's settings where they change a connection's work, mDNS and the relay
/// server left out as on the benchmark's nodes. None is used: they only answer what
/// their peers ask (identify at connection), so the floor among them measures what their
/// handlers cost each connection's wake-ups.
#[derive(libp2p::swarm::NetworkBehaviour)]
struct Protocols {
    blocked: Toggle<allow_block_list::Behaviour<allow_block_list::BlockedPeers>>,
    locked_out: Toggle<allow_block_list::Behaviour<allow_block_list::BlockedPeers>>,
    limits: Toggle<connection_limits::Behaviour>,
    gossip: gossipsub::Behaviour,
    identify: Toggle<identify::Behaviour>,
    kad: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
    ping: Toggle<ping::Behaviour>,
    hello: Toggle<Cbor>,
    sync: Toggle<Cbor>,
    results: Toggle<Cbor>,
    relay_client: Toggle<relay::client::Behaviour>,
    dcutr: Toggle<dcutr::Behaviour>,
    autonat_client: Toggle<autonat::v2::client::Behaviour>,
    autonat_server: Toggle<autonat::v2::server::Behaviour>,
}

impl Protocols {
    /// Every protocol, or those `TAAWUN_BENCH_PROTOCOLS` names (a comma-separated list of
    /// the fields' names), to find which of them a connection pays for.
    fn new(
        key: &Keypair,
        gossip: gossipsub::Behaviour,
        relay_client: relay::client::Behaviour,
    ) -> Self {
        let only = std::env::var("TAAWUN_BENCH_PROTOCOLS").ok();
        let on = |name: &str| {
            only.as_deref()
                .is_none_or(|l| l.split(',').any(|n| n.trim() == name))
        };
        let peer = key.public().to_peer_id();
        let cbor = |name: &'static str| {
            Cbor::new(
                [(StreamProtocol::new(name), ProtocolSupport::Full)],
                request_response::Config::default(),
            )
        };
        let mut kad_config = kad::Config::new(StreamProtocol::new("/taawun-bench/kad/1"));
        kad_config.set_kbucket_inserts(kad::BucketInserts::Manual);
        kad_config.set_periodic_bootstrap_interval(None);
        Self {
            blocked: on("blocked").then(Default::default).into(),
            locked_out: on("locked_out").then(Default::default).into(),
            limits:
                on("limits")
                    .then(|| {
                        connection_limits::Behaviour::new(
                            connection_limits::ConnectionLimits::default(),
                        )
                    })
                    .into(),
            gossip,
            identify: on("identify")
                .then(|| {
                    identify::Behaviour::new(identify::Config::new(
                        "/taawun-bench/id/1".to_string(),
                        key.public(),
                    ))
                })
                .into(),
            kad: on("kad")
                .then(|| {
                    kad::Behaviour::with_config(
                        peer,
                        kad::store::MemoryStore::new(peer),
                        kad_config,
                    )
                })
                .into(),
            ping: on("ping").then(ping::Behaviour::default).into(),
            hello: on("hello").then(|| cbor("/taawun-bench/hello/1")).into(),
            sync: on("sync").then(|| cbor("/taawun-bench/sync/1")).into(),
            results: on("results")
                .then(|| cbor("/taawun-bench/results/1"))
                .into(),
            relay_client: on("relay_client").then_some(relay_client).into(),
            dcutr: on("dcutr").then(|| dcutr::Behaviour::new(peer)).into(),
            autonat_client: on("autonat_client").then(Default::default).into(),
            autonat_server: on("autonat_server").then(Default::default).into(),
        }
    }
}

impl Gossiping for Protocols {
    fn gossip(&mut self) -> &mut gossipsub::Behaviour {
        &mut self.gossip
    }
    fn gossip_event(ev: ProtocolsEvent) -> Option<gossipsub::Event> {
        match ev {
            ProtocolsEvent::Gossip(e) => Some(e),
            _ => None,
        }
    }
}

/// A swarm with gossipsub only, taawun's gossip configuration; with [`RawMode::Verify`],
/// each message is decoded and verified before gossipsub may forward it.
async fn start_raw(
    node: usize,
    key: Keypair,
    topic: gossipsub::IdentTopic,
    heartbeat: Duration,
    mode: RawMode,
    stamps: mpsc::UnboundedSender<Stamp>,
) -> RawNode {
    let mut builder = gossip::config_builder(heartbeat);
    if mode.verifies() {
        builder.validate_messages();
    }
    let config = builder.build().expect("gossipsub config");
    let mut behaviour: gossipsub::Behaviour =
        gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config)
            .expect("gossipsub behaviour");
    behaviour.subscribe(&topic).expect("subscribes");
    if mode == RawMode::VerifyAmongProtocols {
        let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .expect("tcp")
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .expect("relay client")
            .with_behaviour(|key, relay_client| Protocols::new(key, behaviour, relay_client))
            .expect("behaviour")
            .with_swarm_config(|c| c.with_idle_connection_timeout(DEFAULT_IDLE_TIMEOUT))
            .build();
        return spawn_raw(node, swarm, topic, mode, stamps).await;
    }
    let swarm = bare_swarm(key, behaviour, DEFAULT_IDLE_TIMEOUT);
    spawn_raw(node, swarm, topic, mode, stamps).await
}

/// Runs a raw swarm's task: it listens on loopback, dials and publishes on command, and
/// stamps every message it receives (after verifying it, unless `mode` forwards at once).
async fn spawn_raw<B: Gossiping + Send + 'static>(
    node: usize,
    mut swarm: libp2p::Swarm<B>,
    topic: gossipsub::IdentTopic,
    mode: RawMode,
    stamps: mpsc::UnboundedSender<Stamp>,
) -> RawNode
where
    B::ToSwarm: Send,
{
    let peer = *swarm.local_peer_id();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().expect("address"))
        .expect("listens");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (addr_tx, addr_rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut addr_tx = Some(addr_tx);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    None | Some(RawCmd::Stop) => break,
                    Some(RawCmd::Dial(a)) => {
                        if let Err(e) = swarm.dial(a) {
                            eprintln!("  raw node {node}: dial failed: {e}");
                        }
                    }
                    Some(RawCmd::Publish(bytes)) => {
                        let key = gossip::message_id(&bytes).0;
                        let _ = stamps.send(Stamp::Got { node, key, at: Instant::now() });
                        if let Err(e) = swarm.behaviour_mut().gossip().publish(topic.clone(), bytes) {
                            eprintln!("  raw node {node}: publish failed: {e}");
                        }
                    }
                },
                ev = swarm.select_next_some() => match ev {
                    SwarmEvent::NewListenAddr { address, .. } => {
                        if let Some(t) = addr_tx.take() {
                            let _ = t.send(address);
                        }
                    }
                    SwarmEvent::Behaviour(ev) => match B::gossip_event(ev) {
                        Some(gossipsub::Event::Message {
                            propagation_source,
                            message_id,
                            message,
                        }) => {
                            if mode.verifies() {
                                // The check a taawun node makes of a message that arrives alone.
                                let checked = entry::check_envelope(&message.data);
                                let verdict = if matches!(checked, entry::Checked::Verified(_)) {
                                    gossipsub::MessageAcceptance::Accept
                                } else {
                                    gossipsub::MessageAcceptance::Reject
                                };
                                swarm.behaviour_mut().gossip().report_message_validation_result(
                                    &message_id,
                                    &propagation_source,
                                    verdict,
                                );
                            }
                            let _ = stamps.send(Stamp::Got {
                                node,
                                key: message_id.0,
                                at: Instant::now(),
                            });
                        }
                        Some(gossipsub::Event::Subscribed { .. }) => {
                            let _ = stamps.send(Stamp::Peer { node });
                        }
                        _ => {}
                    },
                    _ => {}
                },
            }
        }
    });
    let addr = tokio::time::timeout(Duration::from_secs(10), addr_rx)
        .await
        .expect("raw node listens in time")
        .expect("raw node listens");
    RawNode {
        tx,
        addr: addr.with(Protocol::P2p(peer)),
        task,
    }
}

/// A bare libp2p swarm (TCP with noise and yamux, as the taawun nodes) carrying only
/// `behaviour`, closing a connection idle for `idle`.
fn bare_swarm<B: libp2p::swarm::NetworkBehaviour>(
    key: Keypair,
    behaviour: B,
    idle: Duration,
) -> libp2p::Swarm<B> {
    libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| behaviour)
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build()
}

/// A raw half: the same graph, the same bytes from the same origins.
async fn raw_run(
    cfg: &Cfg,
    dials: &[Vec<usize>],
    coop: Id,
    posted: &[(usize, Vec<u8>)],
    mode: RawMode,
) -> Run {
    let n = dials.len();
    let topic = gossip::topic(&coop);
    let (mut col, tx) = Collector::new(n);
    let mut rng = Rng::new(cfg.seed ^ 0x0072_6177);
    let started = Instant::now();
    let mut nodes: Vec<RawNode> = Vec::with_capacity(n);
    for (i, ds) in dials.iter().enumerate() {
        let node = start_raw(
            i,
            keypair(&mut rng),
            topic.clone(),
            cfg.heartbeat,
            mode,
            tx.clone(),
        )
        .await;
        for d in ds {
            let _ = node.tx.send(RawCmd::Dial(nodes[*d].addr.clone()));
        }
        nodes.push(node);
    }
    let ok = col.peers_at_least(&degrees(dials), CONNECT_TIMEOUT).await;
    if !ok {
        eprintln!("  raw: not every subscription came up: {:?}", col.peers);
    }
    let mut run = Run {
        setup: started.elapsed(),
        ..Run::default()
    };
    let (c0, w0) = (cpu_time(), Instant::now());
    tokio::time::sleep(cfg.settle).await;
    run.idle_cpu = (cpu_time() - c0).as_secs_f64() / w0.elapsed().as_secs_f64();
    let c1 = cpu_time();
    for (k, (origin, bytes)) in posted.iter().enumerate() {
        let key = gossip::message_id(bytes).0;
        let t0 = Instant::now();
        let _ = nodes[*origin].tx.send(RawCmd::Publish(bytes.clone()));
        let done = col.all_have(&key, n, *origin, DELIVERY_TIMEOUT).await;
        if k >= cfg.warmup {
            run.record(t0, done);
        }
    }
    run.cpu_per_msg = ms(cpu_time() - c1) / posted.len().max(1) as f64;
    run.peers = col.peers.iter().sum::<usize>() as f64 / n as f64;
    for node in nodes {
        node.stop().await;
    }
    run
}

// ---------------------------------------------------------------------------------------
// catch-up

struct CatchUp {
    entries: usize,
    generate: Duration,
    import: Duration,
    sync: Duration,
    synced: bool,
    /// Entries the new node held when the catch-up ended (all, or at the timeout).
    have: u64,
    sessions: usize,
    /// The node that imported, idle and while it exports without pause.
    idle: Probe,
    exporting: Probe,
    /// Exports written while probing, and the time of one.
    exports: usize,
    export_time: Duration,
}

/// How quickly a node's task answers: gossip from its peer (from the peer's store to
/// this node's), and a command's round trip.
#[derive(Default)]
struct Probe {
    gossip: Vec<Duration>,
    command: Vec<Duration>,
    /// Round trips of libp2p pings to the node, one every [`PING_EVERY`].
    ping: Vec<Duration>,
}

/// How often the bare pinger pings the node of part 3.
const PING_EVERY: Duration = Duration::from_millis(50);

/// A bare libp2p node (TCP, noise, yamux, ping only) pinging `addr` every [`PING_EVERY`]:
/// the round trips go to the receiver as they come; dropping the sender stops it.
fn start_pinger(addr: Multiaddr) -> (mpsc::UnboundedReceiver<Duration>, oneshot::Sender<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop_tx, mut stop) = oneshot::channel::<()>();
    let ping = libp2p::ping::Behaviour::new(libp2p::ping::Config::new().with_interval(PING_EVERY));
    let key = Keypair::generate_ed25519();
    let mut swarm = bare_swarm(key, ping, Duration::from_secs(3600));
    swarm.dial(addr).expect("the pinger dials");
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stop => break,
                ev = swarm.select_next_some() => {
                    if let SwarmEvent::Behaviour(libp2p::ping::Event { result: Ok(rtt), .. }) = ev {
                        let _ = tx.send(rtt);
                    }
                }
            }
        }
    });
    (rx, stop_tx)
}

/// The round trips the pinger measured since the last call.
fn pings(rx: &mut mpsc::UnboundedReceiver<Duration>) -> Vec<Duration> {
    let mut out = Vec::new();
    while let Ok(d) = rx.try_recv() {
        out.push(d);
    }
    out
}

impl Probe {
    fn p(v: &[Duration], p: usize) -> Duration {
        let mut s = v.to_vec();
        s.sort();
        pct(&s, p)
    }
}

/// Offers by `requester` appended on `from` and gossiped to `to` (node 0), `count` of
/// them one at a time, `gap` apart (pacing, so that probes spread over time), with a
/// command to `to` after each.
#[allow(clippy::too_many_arguments)]
async fn probe(
    col: &mut Collector,
    to: &Network,
    from: &Network,
    coop: Id,
    requester: &SigningKey,
    first: usize,
    count: usize,
    gap: Duration,
) -> Probe {
    let mut out = Probe::default();
    for k in first..first + count {
        tokio::time::sleep(gap).await;
        let v = from
            .append(coop, requester.clone(), offer(k), None)
            .await
            .expect("offer appended");
        if let Some((last, Some(origin))) = col.all_have(&v.id().0, 2, 1, DELIVERY_TIMEOUT).await {
            out.gossip.push(last.saturating_duration_since(origin));
        }
        let t = Instant::now();
        to.heads(coop).await.expect("heads");
        out.command.push(t.elapsed());
    }
    out
}

/// Bulk import into a fresh ledger (the reference), then a fresh node syncing the same
/// entries from the node that imported them.
async fn catch_up(cfg: &Cfg) -> CatchUp {
    let t = Instant::now();
    // The generator's clock advances about 67 s per entry: start it far enough back that
    // every timestamp is before now (the nodes refuse entries from their future).
    let s = synth::generate(&Params {
        seed: cfg.seed,
        entries: cfg.catchup,
        start: system_now().saturating_sub(CATCHUP_MS_PER_ENTRY * cfg.catchup as u64),
        ..Params::default()
    });
    let generate = t.elapsed();
    if s.end > system_now() {
        eprintln!("  catch-up: the last entries are in the future; they will wait");
    }
    let entries = s.entries.len();
    let mut file = taawun_ledger::export::header_bytes(&s.coop);
    for v in &s.entries {
        file.extend_from_slice(&v.envelope());
    }
    let root = tempfile::tempdir().expect("tempdir");

    // The reference: import into a fresh ledger (it becomes node A's).
    let a_ledger = Ledger::open(&root.path().join("a")).expect("ledger opens");
    let t = Instant::now();
    let (coop, report) = a_ledger.import(&file[..]).expect("imports");
    let import = t.elapsed();
    assert_eq!(coop, s.coop);
    if !report.is_clean() || report.stored as usize != entries {
        eprintln!("  import not clean: {report:?}");
    }
    drop(file);

    let (mut col, tx) = Collector::new(2);
    let mut rng = Rng::new(cfg.seed ^ 0x0063_6174_6368);
    let a = start_taawun_on(
        0,
        a_ledger,
        keypair(&mut rng),
        s.members[0].clone(),
        vec![],
        cfg.heartbeat,
        tx.clone(),
    )
    .await;
    let want = a.net.heads(coop).await.expect("heads");

    // Node B holds only the charter.
    let b_ledger = Ledger::open(&root.path().join("b")).expect("ledger opens");
    drop(b_ledger.found(s.entries[0].clone()).expect("founds"));
    let b_key = keypair(&mut rng);
    let t = Instant::now();
    let b = start_taawun_on(
        1,
        b_ledger,
        b_key,
        s.members[1].clone(),
        vec![a.addr.clone()],
        cfg.heartbeat,
        tx,
    )
    .await;
    let deadline = t + cfg.catchup_timeout;
    let mut last_report = Instant::now();
    let (synced, have) = loop {
        let heads = b.net.heads(coop).await.expect("heads");
        let have: u64 = heads.iter().map(|(_, h)| h.seq).sum();
        if heads == want {
            break (true, have);
        }
        if Instant::now() > deadline {
            break (false, have);
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "  catch-up: {have} of {entries} entries after {:.0} s",
                t.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let sync = t.elapsed();

    // A's task while idle, then while it exports its whole ledger again and again (only
    // once B holds the requester's chain: appending before would fork it).
    let (mut idle, mut exporting, mut exports, mut export_time) =
        (Probe::default(), Probe::default(), 0, Duration::ZERO);
    if synced {
        let requester = &s.requesters[0];
        let gap = cfg.probe_gap;
        let (mut rtts, stop_pinger) = start_pinger(a.addr.clone());
        idle = probe(
            &mut col, &a.net, &b.net, coop, requester, 0, cfg.probes, gap,
        )
        .await;
        idle.ping = pings(&mut rtts);
        let t = Instant::now();
        a.net.export(coop).await.expect("exports");
        export_time = t.elapsed();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let exporter = {
            let (net, stop) = (a.net.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    net.export(coop).await.expect("exports");
                    n += 1;
                }
                n
            })
        };
        let (first, count) = (cfg.probes, cfg.probes);
        let _ = pings(&mut rtts);
        exporting = probe(&mut col, &a.net, &b.net, coop, requester, first, count, gap).await;
        exporting.ping = pings(&mut rtts);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        exports = exporter.await.expect("exporter");
        drop(stop_pinger);
    }

    b.stop().await;
    a.stop().await;
    while let Ok(st) = col.rx.try_recv() {
        col.take(st);
    }
    CatchUp {
        idle,
        exporting,
        exports,
        export_time,
        entries,
        generate,
        import,
        sync,
        synced,
        have,
        sessions: col.sessions[1],
    }
}

// ---------------------------------------------------------------------------------------
// main

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or("? GiB".into(), |kb| format!("{} GiB", kb / (1024 * 1024)));
    format!("{cpu}, {cores} cores, {mem} RAM")
}

/// One size's propagation figures.
struct Row {
    /// Nodes.
    n: usize,
    /// The taawun half, the raw half, the floor and the floor among taawun's other
    /// protocols when they ran.
    t: Run,
    r: Run,
    f: Option<Run>,
    fp: Option<Run>,
    /// Average message bytes, and edges of the graph the raw halves dialed.
    size: usize,
    edges: usize,
}

fn main() {
    if let Ok(i) = std::env::var("TAAWUN_HOP_CHILD") {
        hops::child(i.parse().expect("TAAWUN_HOP_CHILD is a node number"));
        return;
    }
    let cfg = Cfg::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("taawun network benchmark");
    println!("machine: {}", machine());
    println!(
        "nodes {:?}, degree {}, offers {} (+{} warm-up), heartbeat {} ms, catch-up {} entries, seed {}",
        cfg.nodes,
        cfg.degree,
        cfg.offers,
        cfg.warmup,
        cfg.heartbeat.as_millis(),
        cfg.catchup,
        cfg.seed
    );

    let mut rows = Vec::new();
    for &n in &cfg.nodes {
        let dials = graph(n, cfg.degree, cfg.seed.wrapping_add(n as u64));
        let mut rng = Rng::new(cfg.seed ^ ((n as u64) << 8));
        let posters: Vec<usize> = (0..cfg.warmup + cfg.offers)
            .map(|_| (rng.next_u64() % n as u64) as usize)
            .collect();
        eprintln!("propagation, {n} nodes: taawun...");
        let (t, coop, posted) = rt.block_on(taawun_run(&cfg, &dials, &posters));
        eprintln!("propagation, {n} nodes: raw gossipsub...");
        let raw_dials: Vec<Vec<usize>> = match cfg.raw_graph {
            RawGraph::Complete => (0..n).map(|i| (0..i).collect()).collect(),
            RawGraph::Dialed => dials.clone(),
            RawGraph::Kept => t.kept.clone(),
        };
        let r = rt.block_on(raw_run(&cfg, &raw_dials, coop, &posted, RawMode::Forward));
        let f = cfg.floor.then(|| {
            eprintln!("propagation, {n} nodes: raw gossipsub verifying each message...");
            rt.block_on(raw_run(&cfg, &raw_dials, coop, &posted, RawMode::Verify))
        });
        let fp = (cfg.floor && cfg.floor_protocols).then(|| {
            eprintln!("propagation, {n} nodes: the same among taawun's other protocols...");
            let mode = RawMode::VerifyAmongProtocols;
            rt.block_on(raw_run(&cfg, &raw_dials, coop, &posted, mode))
        });
        let size = posted.iter().map(|(_, b)| b.len()).sum::<usize>() / posted.len().max(1);
        let edges = raw_dials.iter().map(Vec::len).sum::<usize>();
        rows.push(Row {
            n,
            t,
            r,
            f,
            fp,
            size,
            edges,
        });
    }
    if !rows.is_empty() {
        println!();
        println!("propagation: time until every node holds an offer (ms)");
        println!(
            "| nodes | edges | msg bytes | taawun p50 | taawun p99 | raw p50 | raw p99 | ratio p50 | ratio p99 | spread p50 t/r | spread ratio | lost t/r | setup t/r (s) |"
        );
        println!(
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for Row {
            n,
            t,
            r,
            size,
            edges,
            ..
        } in &rows
        {
            let (tp99, rp99) = (ms(t.p(&t.total, 99)), ms(r.p(&r.total, 99)));
            println!(
                "| {n} | {edges} | {size} | {:.2} | {tp99:.2} | {:.2} | {rp99:.2} | {:.2} | {:.2} | {:.2}/{:.2} | {:.2} | {}/{} | {:.1}/{:.1} |",
                t.p50(),
                r.p50(),
                ratio(t.p50(), r.p50()),
                ratio(tp99, rp99),
                t.spread50(),
                r.spread50(),
                ratio(t.spread50(), r.spread50()),
                t.lost,
                r.lost,
                t.setup.as_secs_f64(),
                r.setup.as_secs_f64(),
            );
        }
        println!();
        println!("where the time goes");
        println!("| nodes | taawun peers now avg/max | connections opened t / subscriptions r | idle CPU t/r (cores) | CPU per message t/r (ms) |");
        println!("| ---: | ---: | ---: | ---: | ---: |");
        for Row { n, t, r, .. } in &rows {
            println!(
                "| {n} | {:.1}/{} | {:.1}/{:.1} | {:.2}/{:.2} | {:.1}/{:.1} |",
                t.connected,
                t.connected_max,
                t.peers,
                r.peers,
                t.idle_cpu,
                r.idle_cpu,
                t.cpu_per_msg,
                r.cpu_per_msg
            );
        }
        println!(
            "(taawun: from the append call, which stores and flushes the entry locally before"
        );
        println!(
            " gossiping it; spread: from the origin's own Stored event. raw: from the publish"
        );
        println!(
            " command. ratio = taawun / raw; goal p50 ratio <= 1.5. edges: of the graph the raw"
        );
        println!(" swarms dialed ({:?})", cfg.raw_graph);
        if rows.iter().any(|row| row.f.is_some()) {
            println!();
            println!(
                "the floor: raw gossipsub whose every node decodes and verifies a message before"
            );
            println!("forwarding it (the least a judging network does), same graph and bytes (ms)");
            println!("| nodes | verifying p50 | verifying p99 | floor p50 / raw p50 | taawun p50 / floor p50 | spread taawun / floor | CPU per message floor / raw (ms) | idle CPU floor (cores) | lost |");
            println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            for Row { n, t, r, f, .. } in &rows {
                let Some(f) = f else { continue };
                println!(
                    "| {n} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} / {:.1} | {:.2} | {} |",
                    f.p50(),
                    ms(f.p(&f.total, 99)),
                    ratio(f.p50(), r.p50()),
                    ratio(t.p50(), f.p50()),
                    ratio(t.spread50(), f.spread50()),
                    f.cpu_per_msg,
                    r.cpu_per_msg,
                    f.idle_cpu,
                    f.lost,
                );
            }
        }
        if rows.iter().any(|row| row.fp.is_some()) {
            println!();
            println!(
                "the floor among taawun's other protocols: the same verifying swarms, each also"
            );
            println!("carrying, idle, every protocol a taawun node speaks (identify, Kademlia, ping, three");
            println!(
                "request-response protocols, relay client, DCUtR, AutoNAT client and server) (ms)"
            );
            println!("| nodes | p50 | p99 | it / raw p50 | it / floor p50 | taawun / it p50 | spread taawun / it | CPU per message it / floor / taawun (ms) | lost |");
            println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            for Row { n, t, r, f, fp, .. } in &rows {
                let (Some(f), Some(fp)) = (f, fp) else {
                    continue;
                };
                println!(
                    "| {n} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} / {:.1} / {:.1} | {} |",
                    fp.p50(),
                    ms(fp.p(&fp.total, 99)),
                    ratio(fp.p50(), r.p50()),
                    ratio(fp.p50(), f.p50()),
                    ratio(t.p50(), fp.p50()),
                    ratio(t.spread50(), fp.spread50()),
                    fp.cpu_per_msg,
                    f.cpu_per_msg,
                    t.cpu_per_msg,
                    fp.lost,
                );
            }
        }
    }

    hops::run(&hops::HopCfg::from_env(&cfg));

    if cfg.catchup > 0 {
        eprintln!("catch-up: generating {} entries...", cfg.catchup);
        let c = rt.block_on(catch_up(&cfg));
        let per_s = |d: Duration| c.entries as f64 / d.as_secs_f64().max(1e-9);
        let import = per_s(c.import);
        // The new node held the charter before it started.
        let sync = c.have.saturating_sub(1) as f64 / c.sync.as_secs_f64().max(1e-9);
        println!();
        println!(
            "catch-up: {} entries (generated in {:.1} s)",
            c.entries,
            c.generate.as_secs_f64()
        );
        println!("| path | time (s) | entries/s |");
        println!("| --- | ---: | ---: |");
        println!(
            "| Ledger::import into a fresh ledger | {:.2} | {:.0} |",
            c.import.as_secs_f64(),
            import
        );
        println!(
            "| fresh node syncing from one peer{} | {:.2} | {:.0} |",
            if c.synced {
                String::new()
            } else {
                format!(
                    " (STOPPED at the timeout with {} of {} entries)",
                    c.have, c.entries
                )
            },
            c.sync.as_secs_f64(),
            sync
        );
        println!(
            "sync / import = {:.2} (goal >= 0.5); sync sessions on the new node: {}",
            ratio(sync, import),
            c.sessions
        );
        println!();
        println!(
            "the node of {} entries while it exports them ({:.2} s an export, {} written while probing), {} probes each (ms)",
            c.entries,
            c.export_time.as_secs_f64(),
            c.exports,
            c.idle.gossip.len()
        );
        println!("| measure | idle p50 | idle p99 | exporting p50 | exporting p99 | ratio p50 | ratio p99 |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (what, i, e) in [
            ("gossip from its peer", &c.idle.gossip, &c.exporting.gossip),
            (
                "a command's round trip (heads)",
                &c.idle.command,
                &c.exporting.command,
            ),
            (
                "a libp2p ping's round trip (one every 50 ms)",
                &c.idle.ping,
                &c.exporting.ping,
            ),
        ] {
            let (i50, i99, e50, e99) = (
                ms(Probe::p(i, 50)),
                ms(Probe::p(i, 99)),
                ms(Probe::p(e, 50)),
                ms(Probe::p(e, 99)),
            );
            println!(
                "| {what} | {i50:.2} | {i99:.2} | {e50:.2} | {e99:.2} | {:.2} | {:.2} |",
                ratio(e50, i50),
                ratio(e99, i99)
            );
        }
        println!("(goal: while exporting, within 2x of idle)");
    }
}
