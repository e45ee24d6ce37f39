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

/// How long a peer whose gossip score fell under the graylist threshold is shut out the
/// first time: its connections are closed and new ones refused (see
/// [`NetConfig::graylist_lockout`]). Short, because a member on a weak link can get
/// there without malice (gossipsub's penalty for promised messages that did not arrive
/// in time, say); a minute is enough to stop a flood.
pub const DEFAULT_GRAYLIST_LOCKOUT: Duration = Duration::from_secs(60);

/// The longest lockout: each graylisting of a peer still remembered doubles its last
/// lockout, up to this. A peer is forgotten once it has stayed out of trouble for this
/// long after its last lockout ended.
pub const MAX_GRAYLIST_LOCKOUT: Duration = Duration::from_secs(60 * 60);

/// Peers a node keeps in its Kademlia routing table because it chose them (bootstrap
/// peers, relays, mDNS finds, peers dialed to reach [`MIN_PEERS`]): the table must not
/// fill with every peer that connects, or Kademlia's lookups dial them all. 256 is far
/// more than a node needs to find its way back into the network.
pub const MAX_CHOSEN_PEERS: usize = 256;

/// Peers whose lockouts a node remembers (locked out now, or recently): past this, the
/// record of the peer whose lockout ends first is dropped (and that peer let back in).
pub const MAX_LOCKOUTS: usize = 256;

/// Connections a node keeps at most, all peers together. A node needs a handful of
/// peers (gossipsub's mesh degree is 6, sync asks one peer at a time); 64 leaves room for
/// mesh churn, relayed circuits and AutoNAT dial-backs while keeping every connection's
/// per-connection work (identify, ping, gossip control, sync) bounded on a small machine.
pub const MAX_CONNECTIONS: u32 = 64;

/// Connections per peer: 2, because DCUtR opens a direct connection while the relayed one
/// is still up, and AutoNAT's dial-back is a second connection to a peer already
/// connected. More than 2 only duplicates traffic.
pub const MAX_CONNECTIONS_PER_PEER: u32 = 2;

/// Connections being set up at once, each way: bounds the handshakes (Noise, QUIC) a burst
/// of dials or a flood of incoming connections can make a node run together.
pub const MAX_PENDING_CONNECTIONS: u32 = 32;

/// Peers a node dials by itself when it has fewer than [`MIN_PEERS`] (from its Kademlia
/// routing table), per sync interval. A few at a time: enough to get back into the
/// gossip mesh, without dialing the whole network as Kademlia's automatic bootstrap did.
pub const DIAL_BATCH: usize = 4;

/// Below this many connected peers a node dials [`DIAL_BATCH`] more it knows of at each
/// sync interval: gossipsub's lower mesh bound (`mesh_n_low`, 4) plus one.
pub const MIN_PEERS: usize = 5;

/// Peers a sync round asks for heads at each sync interval, in turn (a new connection is
/// always synced at once). Gossip carries nearly everything; a round repairs what it lost,
/// and asking every peer every round multiplies the same repair by the peer count.
pub const SYNC_PEERS_PER_ROUND: usize = 3;

/// Reservations a relay server holds at once (libp2p's default): one per node behind a
/// NAT using it, and a cooperative relay serves its members' nodes.
pub const RELAY_MAX_RESERVATIONS: usize = 128;

/// Relayed circuits a relay server carries at once. libp2p's default is 16, for relays
/// that only carry the DCUtR handshake; a cooperative relay also carries the traffic of
/// members whose NAT defeats hole punching (symmetric NAT, carrier-grade NAT), so more.
pub const RELAY_MAX_CIRCUITS: usize = 64;

/// Circuits per peer a relay server carries at once (libp2p's default).
pub const RELAY_MAX_CIRCUITS_PER_PEER: usize = 4;

/// How long a relayed circuit lives. libp2p's default of 120 s assumes the circuit only
/// carries the hole punch; when hole punching fails the circuit is the members' only
/// path, and nothing re-opens it by itself when it closes, so a cooperative relay keeps
/// it for an hour (the reservation's own lifetime).
pub const RELAY_MAX_CIRCUIT_DURATION: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Bytes a relayed circuit carries, both ways together, before it closes. libp2p's
/// default of 128 KiB ends a circuit after about 250 gossiped entries or a fraction of a
/// single sync response (up to 4 MiB) or result (up to 64 MiB); 256 MiB covers a catch-up
/// of a few hundred thousand entries plus a few results, and still bounds what one pair
/// of members can make the relay carry.
pub const RELAY_MAX_CIRCUIT_BYTES: u64 = 256 * 1024 * 1024;

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
    /// Discover peers on the local network with mDNS. Off by default: a lab's local network
    /// may turn it on. It announces the node's transport peer id and addresses, which name
    /// no member (see [`crate::hello`]), but it still tells the local network that a taawun
    /// node runs here.
    pub mdns: bool,
    /// See [`DEFAULT_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`DEFAULT_SYNC_INTERVAL`].
    pub sync_interval: Duration,
    /// gossipsub's heartbeat (mesh maintenance, gossip of message ids).
    pub heartbeat: Duration,
    /// The first lockout of a graylisted peer (see [`DEFAULT_GRAYLIST_LOCKOUT`]); each
    /// further one doubles, up to [`MAX_GRAYLIST_LOCKOUT`]. gossipsub keeps a disconnected
    /// peer's score for [`crate::gossip::SCORE_RETENTION`] or half this, whichever is
    /// shorter, so a peer comes back from a lockout with a clean score. A parameter so
    /// tests can shorten it.
    pub graylist_lockout: Duration,
    /// The results folder (see [`crate::result`]): put it in the node's data directory.
    /// `None`: this node neither sends nor keeps results (a relay-only node).
    pub results_dir: Option<PathBuf>,
    /// The clock used to judge entries (the future-timestamp rule) and to stamp local
    /// writes. A parameter so tests can fix it.
    pub clock: fn() -> Timestamp,
    /// Serve as a circuit relay (v2) for other nodes, with the `RELAY_*` limits of this
    /// module. For a node with a public address; it only advertises the service once it
    /// has a confirmed external address ([`NetConfig::external_addresses`], AutoNAT, or
    /// [`crate::Network::add_external_address`]).
    pub relay_server: bool,
    /// Relays to reserve a slot on (each with `/p2p/<relay peer id>`), so that peers can
    /// reach this node through them when it is behind a NAT: the node dials them, listens
    /// on `<relay>/p2p-circuit` once connected, and redials them when the connection is
    /// lost. Peers connected through a relay then try a direct connection (DCUtR).
    pub relays: Vec<Multiaddr>,
    /// Addresses this node is known to be reachable at (a public host's address and port).
    /// Usually left empty: AutoNAT confirms addresses by asking peers to dial back.
    pub external_addresses: Vec<Multiaddr>,
    /// Hold the member's own writes in each cooperative until a peer confirmed its latest
    /// entry ([`crate::Writing`]): a node started from a restored or copied data folder
    /// must not sign a second entry at a seq its member already used elsewhere (a fork,
    /// which freezes the member). Off by default in the library (tests and tools write
    /// at once); the `taawun` node turns it on unless told `--write-before-sync`.
    pub confirm_own_chain: bool,
    /// Peers kept beyond those that must stay (see [`crate::peering::PEER_TARGET`]; never
    /// under [`MIN_PEERS`]). A node on a server may keep more.
    pub peer_target: usize,
    /// How long a new connection is kept before it may be closed as one too many (see
    /// [`crate::peering::PRUNE_GRACE`]). A parameter so tests can shorten it.
    pub prune_grace: Duration,
}

/// Every IPv4 interface, any port: TCP, and QUIC when the node is built with it.
fn default_listen() -> Vec<Multiaddr> {
    let mut listen = vec!["/ip4/0.0.0.0/tcp/0".parse().unwrap_or(Multiaddr::empty())];
    if cfg!(feature = "quic") {
        listen.push(
            "/ip4/0.0.0.0/udp/0/quic-v1"
                .parse()
                .unwrap_or(Multiaddr::empty()),
        );
    }
    listen
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            bootstrap: Vec::new(),
            mdns: false,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            sync_interval: DEFAULT_SYNC_INTERVAL,
            heartbeat: Duration::from_secs(1),
            graylist_lockout: DEFAULT_GRAYLIST_LOCKOUT,
            results_dir: None,
            clock: system_now,
            relay_server: false,
            relays: Vec::new(),
            external_addresses: Vec::new(),
            confirm_own_chain: false,
            peer_target: crate::peering::PEER_TARGET,
            prune_grace: crate::peering::PRUNE_GRACE,
        }
    }
}

impl NetConfig {
    /// A configuration for in-process tests: TCP on 127.0.0.1, any port, no mDNS (QUIC
    /// is available for dialing; see [`NetConfig::loopback_quic`] to listen on it).
    pub fn loopback() -> Self {
        Self {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap_or(Multiaddr::empty())],
            mdns: false,
            ..Self::default()
        }
    }

    /// As [`NetConfig::loopback`], listening on QUIC (UDP on 127.0.0.1) only.
    pub fn loopback_quic() -> Self {
        Self {
            listen: vec!["/ip4/127.0.0.1/udp/0/quic-v1"
                .parse()
                .unwrap_or(Multiaddr::empty())],
            ..Self::loopback()
        }
    }
}
