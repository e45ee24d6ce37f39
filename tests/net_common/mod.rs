//! Helpers for multi-node tests: real libp2p nodes over TCP on 127.0.0.1, each with its
//! own sled data directory, all in this process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use taawun_core::validate::Head;
use taawun_core::{Id, PublicKey, Verified};
use taawun_ledger::Ledger;
use taawun_net::libp2p::identity::Keypair;
use taawun_net::libp2p::{Multiaddr, PeerId};
use taawun_net::{Event, NetConfig, Network, Via};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Heads of a cooperative, by author.
pub(crate) type Heads = Vec<(PublicKey, Head)>;

/// How long a converge wait sleeps at most between two looks at the heads when no event
/// arrives: events wake it earlier.
const POLL: Duration = Duration::from_millis(100);

/// One running node.
pub(crate) struct TestNode {
    /// The handle.
    pub(crate) net: Network,
    /// Its listen address (with /p2p/<peer id>).
    pub(crate) addr: Multiaddr,
    /// Its data directory.
    pub(crate) dir: PathBuf,
    /// Every event it emitted, in order.
    pub(crate) events: Arc<Mutex<Vec<Event>>>,
    task: JoinHandle<()>,
    forwarder: JoinHandle<()>,
}

/// A deterministic libp2p identity.
pub(crate) fn keypair(seed: u8) -> Keypair {
    Keypair::ed25519_from_bytes([seed; 32]).expect("32 bytes are an ed25519 secret")
}

/// Who a test node is: a bare identity from a seed, or a member's node (its libp2p
/// identity is the member's key).
pub(crate) enum Who {
    /// [`keypair`] of the seed.
    Seed(u8),
    /// The member's signing key.
    Member(Box<ed25519_dalek::SigningKey>),
}

/// The configuration of test nodes: loopback, quick heartbeat and sync rounds, results in
/// `dir/results`.
/// A raw libp2p peer (no taawun rules at all) with identity `seed` and behaviour `b`, over
/// TCP, noise and yamux: the hostile peers of the tests.
pub(crate) fn raw_swarm<B: taawun_net::libp2p::swarm::NetworkBehaviour>(
    seed: u8,
    b: B,
) -> taawun_net::libp2p::Swarm<B> {
    use taawun_net::libp2p::{noise, tcp, yamux};
    taawun_net::libp2p::SwarmBuilder::with_existing_identity(keypair(seed))
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| b)
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

pub(crate) fn config(dir: &Path, bootstrap: Vec<Multiaddr>) -> NetConfig {
    NetConfig {
        bootstrap,
        results_dir: Some(dir.join("results")),
        sync_interval: Duration::from_secs(1),
        heartbeat: Duration::from_millis(250),
        ..NetConfig::loopback()
    }
}

impl TestNode {
    /// Starts a node on `dir` with identity `seed`, dialing `bootstrap`; `notify` is
    /// woken on each of its events.
    pub(crate) async fn start(
        dir: &Path,
        seed: u8,
        bootstrap: Vec<Multiaddr>,
        notify: Arc<Notify>,
    ) -> TestNode {
        Self::start_as(dir, Who::Seed(seed), bootstrap, notify).await
    }

    /// Starts the node of `member` on `dir` (see [`TestNode::start`]).
    pub(crate) async fn start_member(
        dir: &Path,
        member: ed25519_dalek::SigningKey,
        bootstrap: Vec<Multiaddr>,
        notify: Arc<Notify>,
    ) -> TestNode {
        Self::start_as(dir, Who::Member(Box::new(member)), bootstrap, notify).await
    }

    /// Starts a node as `who` (see [`TestNode::start`]).
    pub(crate) async fn start_as(
        dir: &Path,
        who: Who,
        bootstrap: Vec<Multiaddr>,
        notify: Arc<Notify>,
    ) -> TestNode {
        Self::start_with(dir, who, config(dir, bootstrap), notify).await
    }

    /// Starts a node as `who` under `config`. Waits for its first listen address (a
    /// relayed one: once its reservation is accepted) unless it listens nowhere, in which
    /// case its `addr` is empty.
    pub(crate) async fn start_with(
        dir: &Path,
        who: Who,
        config: NetConfig,
        notify: Arc<Notify>,
    ) -> TestNode {
        let ledger = Ledger::open(dir).expect("ledger opens");
        let listens = !config.listen.is_empty() || !config.relays.is_empty();
        let (net, mut rx, task) = match who {
            Who::Seed(seed) => Network::spawn(config, keypair(seed), ledger),
            Who::Member(key) => Network::spawn_member(config, *key, ledger),
        }
        .expect("network starts");
        let mut early = Vec::new();
        let addr = if listens {
            let a = loop {
                match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                    Ok(Some(Event::Listening(a))) => break a,
                    Ok(Some(e)) => early.push(e),
                    other => panic!("node {} did not listen: {other:?}", dir.display()),
                }
            };
            // A relayed address already ends with this node's id.
            a.with_p2p(net.peer_id()).unwrap_or_else(|a| a)
        } else {
            Multiaddr::empty()
        };
        let events = Arc::new(Mutex::new(early));
        let ev = events.clone();
        let forwarder = tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                ev.lock().expect("events lock").push(e);
                notify.notify_one();
            }
        });
        TestNode {
            net,
            addr,
            dir: dir.to_path_buf(),
            events,
            task,
            forwarder,
        }
    }

    /// The peer id.
    pub(crate) fn peer(&self) -> PeerId {
        self.net.peer_id()
    }

    /// Stops the node and waits until its data directory is free.
    pub(crate) async fn stop(self) {
        self.net.shutdown().await.expect("shuts down");
        self.task.await.expect("task ends");
        let _ = self.forwarder.await;
    }

    /// Heads of `coop`.
    pub(crate) async fn heads(&self, coop: Id) -> Heads {
        self.net.heads(coop).await.expect("heads")
    }

    /// Entries stored by `via`, from the events so far.
    pub(crate) fn stored_via(&self, via: Via) -> usize {
        self.events
            .lock()
            .expect("events lock")
            .iter()
            .filter(|e| matches!(e, Event::Stored { via: v, .. } if *v == via))
            .count()
    }

    /// Whether an event matching `f` was emitted.
    pub(crate) fn saw(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.lock().expect("events lock").iter().any(f)
    }

    /// A copy of the events so far.
    pub(crate) fn events(&self) -> Vec<Event> {
        self.events.lock().expect("events lock").clone()
    }
}

/// Starts `n` nodes in `root/<i>`, node `i` dialing node 0 and node `i - 1`; every node
/// joins `charter`.
pub(crate) async fn start_nodes(
    root: &Path,
    n: usize,
    seed: u8,
    charter: &Verified,
    notify: &Arc<Notify>,
) -> Vec<TestNode> {
    let whos = (0..n).map(|i| Who::Seed(seed + i as u8)).collect();
    start_nodes_as(root, whos, charter, notify).await
}

/// As [`start_nodes`], one node per `who`.
pub(crate) async fn start_nodes_as(
    root: &Path,
    whos: Vec<Who>,
    charter: &Verified,
    notify: &Arc<Notify>,
) -> Vec<TestNode> {
    start_nodes_with(root, whos, charter, notify, |c| c).await
}

/// As [`start_nodes_as`], each node's [`config`] passed through `tweak`.
pub(crate) async fn start_nodes_with(
    root: &Path,
    whos: Vec<Who>,
    charter: &Verified,
    notify: &Arc<Notify>,
    tweak: impl Fn(NetConfig) -> NetConfig,
) -> Vec<TestNode> {
    let mut nodes: Vec<TestNode> = Vec::with_capacity(whos.len());
    for (i, who) in whos.into_iter().enumerate() {
        let mut boot = Vec::new();
        if i > 0 {
            boot.push(nodes[0].addr.clone());
        }
        if i > 1 {
            boot.push(nodes[i - 1].addr.clone());
        }
        let dir = root.join(i.to_string());
        let node = TestNode::start_with(&dir, who, tweak(config(&dir, boot)), notify.clone()).await;
        node.net.join(charter.clone()).await.expect("joins");
        nodes.push(node);
    }
    nodes
}

/// Waits until every node of `nodes` has the same heads of `coop` (and, with `want`,
/// exactly those), waking on events and looking at least every [`POLL`]. Panics with
/// each node's view after `timeout`.
pub(crate) async fn converge(
    nodes: &[&TestNode],
    coop: Id,
    want: Option<&Heads>,
    notify: &Notify,
    timeout: Duration,
) -> Heads {
    let start = Instant::now();
    loop {
        let mut all = Vec::with_capacity(nodes.len());
        for n in nodes {
            all.push(n.heads(coop).await);
        }
        let same = all.windows(2).all(|w| w[0] == w[1]);
        if same && want.is_none_or(|w| &all[0] == w) {
            return all.swap_remove(0);
        }
        if start.elapsed() > timeout {
            let seqs: Vec<u64> = all
                .iter()
                .map(|h| h.iter().map(|(_, h)| h.seq).sum())
                .collect();
            panic!("no convergence after {timeout:?}: entries per node {seqs:?}");
        }
        let _ = tokio::time::timeout(POLL, notify.notified()).await;
    }
}

/// Waits until `cond` holds, waking on events.
pub(crate) async fn wait_for<F: FnMut() -> bool>(
    what: &str,
    mut cond: F,
    notify: &Notify,
    timeout: Duration,
) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        let _ = tokio::time::timeout(POLL, notify.notified()).await;
    }
}
