//! The network's configuration and the bounds of its channels and buffers.

use libp2p::Multiaddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use taawun_core::Timestamp;

/// Commands queued to the network task before [`crate::Network`]'s calls wait: the task
/// handles a command in microseconds (an append is the slowest: one flushed write), so 256
/// absorbs bursts from the HTTP API and the CLI without letting a stuck task hide a
/// growing backlog.
pub const COMMAND_CAPACITY: usize = 256;

/// Events queued for the node. The task never waits for the node: when the queue is full,
/// events are dropped and counted (they are notifications; the ledger is the truth). 1024
/// covers a sync batch ([`crate::sync::SYNC_BATCH`]) of stored entries with room to spare.
pub const EVENT_CAPACITY: usize = 1024;

/// How long a connection with no protocol using it stays open. libp2p's default (10 s)
/// closes every connection outside the gossip mesh; sync runs every
/// [`NetConfig::sync_interval`], so connections must outlive that.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How often each connected peer is asked for chain heads. Gossip carries nearly
/// everything; this only repairs what gossip lost, so it can be slow.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(30);

/// The node's wall clock, in ms since the Unix epoch (0 if the clock is before 1970).
pub fn system_now() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// How the network runs.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Addresses to listen on (port 0: any free port).
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start, and again whenever the node finds itself without peers.
    pub bootstrap: Vec<Multiaddr>,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// See [`DEFAULT_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`DEFAULT_SYNC_INTERVAL`].
    pub sync_interval: Duration,
    /// gossipsub's heartbeat (mesh maintenance, gossip of message ids).
    pub heartbeat: Duration,
    /// The results folder (see [`crate::result`]): put it in the node's data directory.
    /// `None`: this node neither sends nor keeps results (a relay-only node).
    pub results_dir: Option<PathBuf>,
    /// The clock used to judge entries (the future-timestamp rule) and to stamp local
    /// writes. A parameter so tests can fix it.
    pub clock: fn() -> Timestamp,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            listen: vec!["/ip4/0.0.0.0/tcp/0".parse().unwrap_or(Multiaddr::empty())],
            bootstrap: Vec::new(),
            mdns: true,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            sync_interval: DEFAULT_SYNC_INTERVAL,
            heartbeat: Duration::from_secs(1),
            results_dir: None,
            clock: system_now,
        }
    }
}

impl NetConfig {
    /// A configuration for in-process tests: TCP on 127.0.0.1, any port, no mDNS.
    pub fn loopback() -> Self {
        Self {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap_or(Multiaddr::empty())],
            mdns: false,
            ..Self::default()
        }
    }
}
