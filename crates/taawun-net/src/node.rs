//! The network task and its handle.
//!
//! [`Network::spawn`] builds the Swarm and starts one tokio task that owns it together
//! with the node's [`Ledger`] and every open [`CoopLedger`]. The rest of the node holds a
//! cloneable [`Network`] whose methods send a command over a bounded channel
//! ([`COMMAND_CAPACITY`]) and await a `oneshot` reply, and reads [`Event`]s from a bounded
//! channel ([`EVENT_CAPACITY`]) that the task never waits on.
//!
//! Besides commands and the Swarm, the task runs three timers: sync rounds
//! ([`NetConfig::sync_interval`]), group commits of the ledgers
//! ([`taawun_ledger::COMMIT_INTERVAL`]: remote entries are staged and committed as one
//! sled batch per interval) and result retries and lockout ends ([`result::RETRY_TICK`]).
//!
//! ## Graylisted peers
//!
//! A peer whose gossipsub score falls under the graylist threshold (after a rejected
//! gossip message, an invalid entry in a sync response, or when it connects) is locked
//! out: its connections are closed and new ones refused (a block list of its own) for
//! [`NetConfig::graylist_lockout`], doubled for each further graylisting while the peer is
//! remembered, at most [`crate::config::MAX_GRAYLIST_LOCKOUT`] (see [`gossip::lockout`]).
//! A lockout ends once its time is up and gossipsub has forgotten the peer's kept score
//! ([`gossip::SCORE_RETENTION`]), so the peer comes back with a clean score and is not
//! locked out again merely for reconnecting; [`Event::LockedOut`] and
//! [`Event::LockoutEnded`] report both ends.
//!
//! ## Peers without sync
//!
//! A peer that answers a sync request with "protocol not supported" (a libp2p peer that
//! is not a taawun node, or one that speaks another version) is not asked again while it
//! stays connected ([`Event::SyncUnsupported`], [`PeerSync::unsupported`]); it is asked
//! once more after it reconnects.
//!
//! ## Connections, NATs and relays
//!
//! A node keeps the connections it chose (bootstrap peers, relays, mDNS finds) and those
//! others open to it, within [`crate::config::MAX_CONNECTIONS`]. Kademlia does not dial
//! on its own: its routing table holds only the peers the node chose, and when the node
//! has fewer than [`crate::config::MIN_PEERS`] peers it asks the DHT for more at each
//! sync interval and dials a few ([`crate::config::DIAL_BATCH`]). Each sync round asks
//! a few peers in turn ([`crate::config::SYNC_PEERS_PER_ROUND`]).
//!
//! For each relay of [`NetConfig::relays`] the node dials the relay, and once connected
//! listens on `<relay>/p2p-circuit` (a reservation), again after the relay comes back.
//! When DCUtR turns a relayed connection into a direct one, the relayed one is closed
//! (else gossipsub may keep using it).
//!
//! ## Identity, admission and evidence
//!
//! A node's libp2p identity is a transport key of its own, never the member's signing
//! key: its `PeerId` names no member. A node started with [`Network::spawn_member`] speaks
//! for a member: it proves the member key to its peers with the hello protocol
//! ([`crate::hello`]), learns theirs the same way, and authors an `Evidence` entry when it
//! sees an equivocation (once per author and seq, see [`MAX_EVIDENCE_AUTHORED`]). With
//! [`NetConfig::confirm_own_chain`] it signs nothing as the member in a cooperative, that
//! evidence included, until an admitted peer's sync confirmed the member's latest entry
//! there ([`Writing`]): a restored or copied data folder must not fork its member. A node
//! started with [`Network::spawn`] (a relay, a bootstrap node) proves nothing, so it
//! receives no cooperative's entries; it still relays circuits and answers the DHT.
//!
//! **Admission.** A peer is admitted to a cooperative when its hello proof verified, names
//! the cooperative, and its key is a member or requester of it under the rules in force now
//! by this node's ledger ([`ROLES_REFRESH`]). Only admitted peers get sync answers (the
//! others get `UnknownCoop`, as from a node without the cooperative), results, and gossip:
//! a peer that is not admitted to every cooperative topic it subscribed to (of those this
//! node holds), or to none, gets a gossipsub application score of
//! [`gossip::UNPROVEN_SCORE`], far under the graylist threshold, so gossipsub drops its
//! messages, control and subscriptions' mesh effects and sends it nothing (no mesh, no
//! flood publish, no gossip). Results go to a peer proven to hold the requester's key (or a
//! live device key of the requester), and to the jurors seated on an appeal of the
//! submission: see [`result`].

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::conduct::{self, Conduct};
pub use crate::config::MAX_CHOSEN_PEERS;
use crate::config::{
    NetConfig, COMMAND_CAPACITY, DIAL_BATCH, EVENT_CAPACITY, MIN_PEERS, SYNC_PEERS_PER_ROUND,
};
use crate::error::NetError;
use crate::exchange;
use crate::gossip::{self, Judged, Verdict};
use crate::hello;
use crate::result::{self, Refusal};
use crate::session::{self, Ingested, LogAnswer, Outgoing, Sessions};
use crate::sync::{self, Request, Response, WireHead};
use ed25519_dalek::SigningKey;
use futures::StreamExt;
use libp2p::core::transport::ListenerId;
use libp2p::gossipsub::{self, MessageId, TopicHash};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{
    dcutr, identify, kad, mdns, noise, ping, relay, tcp, yamux, Multiaddr, PeerId, Swarm,
};
use serde_bytes::ByteBuf;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use taawun_core::body::{Body, Evidence};
use taawun_core::entry::Freeze;
use taawun_core::fold::{Coop, Timeline};
use taawun_core::validate::Head;
use taawun_core::{Id, Missing, PublicKey, Verified};
use taawun_ledger::{CoopLedger, Ingest, Ledger};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// The reply to a command.
type Reply<T> = oneshot::Sender<Result<T, NetError>>;

/// How an entry reached the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Written by this node ([`Network::append`], [`Network::ingest`]).
    Local,
    /// A gossip message.
    Gossip,
    /// A sync response.
    Sync,
    /// Released from the pending buffer when what it waited for arrived.
    Released,
}

/// What the task does about one ingest outcome, in order ([`reactions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reaction {
    /// Report [`Event::Stored`] (and gossip the entry if a local caller asked to).
    Stored {
        /// The entry.
        id: Id,
        /// How it came.
        via: Via,
    },
    /// Report the equivocation and, when this node speaks for a member, author evidence.
    Equivocation {
        /// The entry stored at that seq.
        existing: Id,
        /// Both envelopes.
        evidence: Evidence,
    },
}

/// The one mapping from what became of an entry that came `via` some path to what the
/// task reports: the entry stored, or the equivocation it was, then every entry it
/// released from the pending buffer (`Via::Released`), as [`Ingest::stored`] lists them.
fn reactions(outcome: &Ingest, via: Via) -> Vec<Reaction> {
    let (own, released) = outcome.stored();
    let mut out = Vec::with_capacity(1 + released.len());
    if let Ingest::Equivocation {
        existing, evidence, ..
    } = outcome
    {
        out.push(Reaction::Equivocation {
            existing: *existing,
            evidence: evidence.clone(),
        });
    }
    out.extend(own.map(|id| Reaction::Stored { id, via }));
    out.extend(released.iter().map(|id| Reaction::Stored {
        id: *id,
        via: Via::Released,
    }));
    out
}

/// What the network tells the node.
#[derive(Debug, Clone)]
pub enum Event {
    /// Listening on a new address.
    Listening(Multiaddr),
    /// First connection to a peer.
    PeerConnected(PeerId),
    /// Last connection to a peer closed.
    PeerDisconnected(PeerId),
    /// An entry was stored.
    Stored {
        /// The cooperative.
        coop: Id,
        /// The entry.
        id: Id,
        /// How it came.
        via: Via,
    },
    /// A gossip message was judged (every message, whatever the verdict).
    Gossip {
        /// The topic's cooperative, if ours.
        coop: Option<Id>,
        /// The peer that forwarded it.
        peer: PeerId,
        /// The gossip message id (blake3 of the message).
        message: MessageId,
        /// The verdict reported to gossipsub.
        verdict: Verdict,
        /// Why, for people reading logs (the error or the outcome).
        reason: String,
    },
    /// An author was caught writing two entries at one seq: both envelopes are kept and
    /// the author is frozen. The node should publish an `Evidence` entry authored by one
    /// of its members ([`Network::append`] with `Body::Evidence`).
    Equivocation {
        /// The cooperative.
        coop: Id,
        /// The author.
        author: PublicKey,
        /// The entry stored at that seq.
        existing: Id,
        /// The two envelopes.
        evidence: Evidence,
    },
    /// This node's member published an `Evidence` entry about an equivocation.
    EvidencePublished {
        /// The cooperative.
        coop: Id,
        /// The author caught.
        author: PublicKey,
        /// The seq of the fork.
        seq: u64,
        /// The `Evidence` entry.
        entry: Id,
    },
    /// A result arrived, was checked against its `Submit` entry and stored
    /// ([`Network::result`] reads it).
    ResultReceived {
        /// The cooperative.
        coop: Id,
        /// The `Submit` entry.
        submission: Id,
        /// The peer that sent it.
        from: PeerId,
    },
    /// A result queued with [`Network::send_result`] was stored by the requester's node,
    /// or by a juror's node.
    ResultDelivered {
        /// The cooperative.
        coop: Id,
        /// The `Submit` entry.
        submission: Id,
        /// The requester's node, or the juror's.
        to: PeerId,
        /// The juror (stable identity) when it went to a juror.
        juror: Option<PublicKey>,
    },
    /// A result queued with [`Network::send_result`] was refused for good; it is no
    /// longer retried.
    ResultRefused {
        /// The cooperative.
        coop: Id,
        /// The `Submit` entry.
        submission: Id,
        /// The juror (stable identity) when it was meant for a juror.
        juror: Option<PublicKey>,
        /// Why.
        refusal: Refusal,
    },
    /// A sync session with a peer ended.
    Synced {
        /// The peer.
        peer: PeerId,
        /// The cooperative.
        coop: Id,
        /// Entries stored by the session.
        stored: usize,
    },
    /// A peer admitted to the cooperative confirmed this node's member's latest entry
    /// (its copy of the member's chain ends at or before ours): the member's writes there
    /// go ahead ([`Writing::Confirmed`]).
    Confirmed {
        /// The cooperative.
        coop: Id,
        /// The peer.
        peer: PeerId,
        /// The seq of the member's last entry held here then.
        seq: u64,
    },
    /// A peer answered a sync request with "protocol not supported": it is not asked
    /// again while it stays connected.
    SyncUnsupported(PeerId),
    /// A peer proved it holds a member key ([`crate::hello`]).
    Proven {
        /// The peer.
        peer: PeerId,
        /// The member key it holds.
        member: PublicKey,
        /// The cooperatives it named that this node holds.
        coops: Vec<Id>,
    },
    /// A peer's hello proof did not verify (a replayed or forged proof): it is treated as
    /// a stranger.
    HelloRefused {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// A peer's gossip score fell under the graylist threshold: its connections are
    /// closed and new ones refused for `lockout`.
    LockedOut {
        /// The peer.
        peer: PeerId,
        /// How many times it was graylisted while remembered (1 the first time).
        strikes: u32,
        /// How long it is refused, at least ([`crate::gossip::lockout`]).
        lockout: Duration,
    },
    /// A peer's lockout ended: it may connect again, with a clean score.
    LockoutEnded(PeerId),
}

/// What a node knows of a connected peer's sync ([`Network::sync_peer`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerSync {
    /// Sync requests sent to the peer since it connected.
    pub requests: u64,
    /// Whether it answered one with "protocol not supported": it is not asked again
    /// while it stays connected.
    pub unsupported: bool,
}

/// Whether this node writes as its member in a cooperative now
/// ([`NetConfig::confirm_own_chain`], docs/protocol.md 13.11).
///
/// Every start from a data folder may be a restored backup or a copy: the member may have
/// signed entries elsewhere past the last one this folder holds, and a new entry at one of
/// those seqs is a fork. So writes wait until an admitted peer has answered a sync session
/// with its heads and the member's chain held here is at least as long as the peer's copy
/// (the session fetched whatever the peer had beyond). Once open, writes stay open for the
/// run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writing {
    /// The guard is off ([`NetConfig::confirm_own_chain`] false) or this node speaks for
    /// no member.
    Unguarded,
    /// This node founded the cooperative since it started: nothing of its member's can
    /// be beyond the charter.
    Founded,
    /// The cooperative was opened from the data folder and, by its ledger, no key but the
    /// member's holds a role: no other node could confirm anything.
    Alone,
    /// `peer` confirmed: its copy of the member's chain ended at or before `seq`, the
    /// member's last seq held here then.
    Confirmed {
        /// The peer.
        peer: PeerId,
        /// The member's last seq held here when it confirmed.
        seq: u64,
    },
    /// Writes are held until a peer confirms; `peers`: peers admitted to the cooperative
    /// connected now.
    Waiting {
        /// Admitted peers connected.
        peers: usize,
    },
}

impl Writing {
    /// Whether the member's writes go ahead.
    pub fn open(&self) -> bool {
        !matches!(self, Writing::Waiting { .. })
    }
}

/// A command to the task.
#[derive(Debug)]
enum Command {
    Dial(Multiaddr, Reply<()>),
    Listeners(Reply<Vec<Multiaddr>>),
    AddExternal(Multiaddr, Reply<()>),
    Externals(Reply<Vec<Multiaddr>>),
    Peers(Reply<Vec<PeerId>>),
    Join(Box<Verified>, Reply<Id>),
    Found(Box<Verified>, Reply<Id>),
    Writing(Id, Reply<Writing>),
    AwaitWriting(Id, Reply<Writing>),
    Append {
        coop: Id,
        key: Box<SigningKey>,
        body: Box<Body>,
        gov: Option<Id>,
        reply: Reply<Verified>,
    },
    Ingest {
        coop: Id,
        entries: Vec<Verified>,
        gossip: bool,
        reply: Reply<Vec<Ingest>>,
    },
    Heads(Id, Reply<Vec<(PublicKey, Head)>>),
    State(Id, Reply<Arc<Coop>>),
    Block(PeerId, Reply<()>),
    Unblock(PeerId, Reply<()>),
    Score(PeerId, Reply<Option<f64>>),
    SyncPeer(PeerId, Reply<Option<PeerSync>>),
    Mesh(Id, Reply<Vec<PeerId>>),
    Sync(Reply<()>),
    Frozen(Id, Reply<BTreeMap<PublicKey, u64>>),
    Evidence(Id, Reply<Vec<Evidence>>),
    Export(Id, Reply<Vec<u8>>),
    Coops(Reply<Vec<Id>>),
    SendResult {
        coop: Id,
        submission: Id,
        bytes: Vec<u8>,
        reply: Reply<()>,
    },
    Shutdown(oneshot::Sender<()>),
}

/// The handle to the network task. Cheap to clone; every method is one command and one
/// reply.
#[derive(Debug, Clone)]
pub struct Network {
    tx: mpsc::Sender<Command>,
    peer: PeerId,
    /// The results folder, read directly by [`Network::result`] (files are written
    /// whole and renamed, so a reader never sees half a result).
    results: Option<result::Store>,
}

impl Network {
    /// Builds the Swarm, opens every cooperative in `ledger`, listens, dials the
    /// bootstrap peers and starts the task. Must be called inside a tokio runtime.
    /// Returns the handle, the event stream and the task (which ends after
    /// [`Network::shutdown`] or when every handle is dropped).
    pub fn spawn(
        config: NetConfig,
        key: Keypair,
        ledger: Ledger,
    ) -> Result<(Self, mpsc::Receiver<Event>, JoinHandle<()>), NetError> {
        Self::start(config, key, None, ledger)
    }

    /// As [`Network::spawn`], for the node of a member (or requester): `transport` is its
    /// libp2p identity, `member` the key it proves to peers with the hello protocol (see
    /// the module documentation); it publishes `Evidence` entries signed by `member` when
    /// it sees an equivocation. Refuses a transport key that is the member key: the peer
    /// id would name the member to anyone on the network.
    pub fn spawn_member(
        config: NetConfig,
        transport: Keypair,
        member: SigningKey,
        ledger: Ledger,
    ) -> Result<(Self, mpsc::Receiver<Event>, JoinHandle<()>), NetError> {
        let same = Keypair::ed25519_from_bytes(member.to_bytes())
            .map(|k| k.public() == transport.public())
            .unwrap_or(false);
        if same {
            return Err(NetError::Build(
                "the transport key must not be the member key".into(),
            ));
        }
        Self::start(config, transport, Some(member), ledger)
    }

    fn start(
        config: NetConfig,
        key: Keypair,
        member: Option<SigningKey>,
        ledger: Ledger,
    ) -> Result<(Self, mpsc::Receiver<Event>, JoinHandle<()>), NetError> {
        let peer = key.public().to_peer_id();
        let idle = config.idle_timeout;
        let mut relays = BTreeMap::new();
        for addr in &config.relays {
            let Some(Protocol::P2p(relay)) = addr.iter().last() else {
                return Err(NetError::Build(format!(
                    "relay address {addr} does not end with /p2p/<relay peer id>"
                )));
            };
            relays.insert(
                relay,
                Relay {
                    addr: addr.clone(),
                    listener: None,
                },
            );
        }
        let builder = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| NetError::Build(e.to_string()))?;
        #[cfg(feature = "quic")]
        let builder = builder.with_quic();
        let mut swarm = builder
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .map_err(|e| NetError::Build(e.to_string()))?
            .with_behaviour(|key, relay_client| {
                Behaviour::new(key, &config, relay_client)
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
            })
            .map_err(|e| NetError::Build(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
            .build();
        for addr in &config.listen {
            swarm
                .listen_on(addr.clone())
                .map_err(|e| NetError::Listen {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                })?;
        }
        let (tx, commands) = mpsc::channel(COMMAND_CAPACITY);
        let (events_tx, events) = mpsc::channel(EVENT_CAPACITY);
        let mut task = Task {
            swarm,
            ledger,
            coops: BTreeMap::new(),
            states: HashMap::new(),
            topics: HashMap::new(),
            events: events_tx,
            dropped_events: 0,
            sessions: Sessions::new(),
            requests: HashMap::new(),
            member,
            evidenced: HashSet::new(),
            results: config.results_dir.clone().map(result::Store::new),
            outbox: BTreeMap::new(),
            result_requests: HashMap::new(),
            relays,
            relayed: HashSet::new(),
            chosen: HashSet::new(),
            sync_cursor: 0,
            conduct: Conduct::new(config.graylist_lockout),
            peer_sync: HashMap::new(),
            dialed: HashMap::new(),
            proven: HashMap::new(),
            hellos: HashMap::new(),
            deferred: HashMap::new(),
            refused: HashSet::new(),
            subscribed: HashMap::new(),
            gated: HashSet::new(),
            roles: HashMap::new(),
            bindings: HashMap::new(),
            writing: HashMap::new(),
            joined: HashSet::new(),
            write_waiters: HashMap::new(),
            held_evidence: Vec::new(),
            config,
        };
        for addr in task.config.external_addresses.clone() {
            task.swarm.add_external_address(addr);
        }
        for coop in task.ledger.coops()? {
            let c = task.ledger.coop(&coop)?;
            task.open(c)?;
        }
        task.restore_outbox()?;
        for addr in task.config.bootstrap.clone() {
            task.choose(&addr);
            if let Err(e) = task.swarm.dial(addr.clone()) {
                warn!(%addr, error = %e, "bootstrap dial failed");
            }
        }
        for addr in task.config.relays.clone() {
            task.choose(&addr);
        }
        task.dial_relays();
        let results = task.results.clone();
        let span = tracing::info_span!("net", peer = %peer);
        let join = tokio::spawn(tracing::Instrument::instrument(task.run(commands), span));
        Ok((Self { tx, peer, results }, events, join))
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, NetError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)?
    }

    /// Declares an address this node is reachable at (a public address it knows, or a
    /// listen address on loopback in tests): it is advertised to peers, and a relay server
    /// ([`NetConfig::relay_server`]) starts serving once it has one.
    pub async fn add_external_address(&self, addr: Multiaddr) -> Result<(), NetError> {
        self.call(|r| Command::AddExternal(addr, r)).await
    }

    /// The addresses this node is known to be reachable at (declared, or confirmed by
    /// AutoNAT).
    pub async fn external_addresses(&self) -> Result<Vec<Multiaddr>, NetError> {
        self.call(Command::Externals).await
    }

    /// Dials an address.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NetError> {
        self.call(|r| Command::Dial(addr, r)).await
    }

    /// The addresses listened on.
    pub async fn listeners(&self) -> Result<Vec<Multiaddr>, NetError> {
        self.call(Command::Listeners).await
    }

    /// Connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerId>, NetError> {
        self.call(Command::Peers).await
    }

    /// Joins a cooperative from its charter (stored if new), subscribes to its topic and
    /// syncs it with every connected peer.
    pub async fn join(&self, charter: Verified) -> Result<Id, NetError> {
        self.call(|r| Command::Join(Box::new(charter), r)).await
    }

    /// Founds a cooperative: stores this node's member's charter, as [`Network::join`],
    /// and opens the member's writes in it at once ([`Writing::Founded`]) when the node did
    /// not hold it yet. For a cooperative created here; one joined from an invite (even
    /// one whose charter the member signed) goes through [`Network::join`] and waits.
    pub async fn found(&self, charter: Verified) -> Result<Id, NetError> {
        self.call(|r| Command::Found(Box::new(charter), r)).await
    }

    /// Whether the member's writes in `coop` go ahead now ([`Writing`]).
    pub async fn writing(&self, coop: Id) -> Result<Writing, NetError> {
        self.call(|r| Command::Writing(coop, r)).await
    }

    /// Waits until the member's writes in `coop` go ahead, and says why they do. Never
    /// times out by itself: wrap it in a timeout.
    pub async fn writes_open(&self, coop: Id) -> Result<Writing, NetError> {
        self.call(|r| Command::AwaitWriting(coop, r)).await
    }

    /// Writes `body` as `key`'s next entry in `coop` (stamped with the configured clock,
    /// validated, stored, flushed) and gossips it. With [`NetConfig::confirm_own_chain`],
    /// an entry of the member's is refused with [`NetError::Unconfirmed`] while its writes
    /// wait ([`Writing::Waiting`]).
    pub async fn append(
        &self,
        coop: Id,
        key: SigningKey,
        body: Body,
        gov: Option<Id>,
    ) -> Result<Verified, NetError> {
        self.call(|reply| Command::Append {
            coop,
            key: Box::new(key),
            body: Box::new(body),
            gov,
            reply,
        })
        .await
    }

    /// Ingests entries signed elsewhere (an import, a test), and gossips the stored ones
    /// if `gossip`.
    pub async fn ingest(
        &self,
        coop: Id,
        entries: Vec<Verified>,
        gossip: bool,
    ) -> Result<Vec<Ingest>, NetError> {
        self.call(|reply| Command::Ingest {
            coop,
            entries,
            gossip,
            reply,
        })
        .await
    }

    /// Chain heads of a cooperative.
    pub async fn heads(&self, coop: Id) -> Result<Vec<(PublicKey, Head)>, NetError> {
        self.call(|r| Command::Heads(coop, r)).await
    }

    /// The folded state of a cooperative: a snapshot shared with the network task, which
    /// keeps it up to date by applying only what was stored since the last read (see
    /// [`CoopLedger::refresh_state`]); cheap to ask for often.
    pub async fn state(&self, coop: Id) -> Result<Arc<Coop>, NetError> {
        self.call(|r| Command::State(coop, r)).await
    }

    /// Refuses a peer: closes its connections and refuses new ones.
    pub async fn block(&self, peer: PeerId) -> Result<(), NetError> {
        self.call(|r| Command::Block(peer, r)).await
    }

    /// Accepts a blocked peer again (connections are not re-established by this).
    pub async fn unblock(&self, peer: PeerId) -> Result<(), NetError> {
        self.call(|r| Command::Unblock(peer, r)).await
    }

    /// gossipsub's score of a peer.
    pub async fn score(&self, peer: PeerId) -> Result<Option<f64>, NetError> {
        self.call(|r| Command::Score(peer, r)).await
    }

    /// What this node knows of a connected peer's sync (`None` if it is not connected):
    /// the requests sent to it, and whether it lacks the sync protocol.
    pub async fn sync_peer(&self, peer: PeerId) -> Result<Option<PeerSync>, NetError> {
        self.call(|r| Command::SyncPeer(peer, r)).await
    }

    /// The peers in this node's gossip mesh of `coop`: those it forwards the cooperative's
    /// entries to (only peers admitted to it, see the module documentation).
    pub async fn mesh(&self, coop: Id) -> Result<Vec<PeerId>, NetError> {
        self.call(|r| Command::Mesh(coop, r)).await
    }

    /// Starts a sync round with every connected peer now (except those without the sync
    /// protocol, see [`PeerSync::unsupported`]).
    pub async fn sync(&self) -> Result<(), NetError> {
        self.call(Command::Sync).await
    }

    /// Authors caught equivocating in `coop`, with the lowest seq of their fork.
    pub async fn frozen(&self, coop: Id) -> Result<BTreeMap<PublicKey, u64>, NetError> {
        self.call(|r| Command::Frozen(coop, r)).await
    }

    /// Evidence of every equivocation seen in `coop`: both envelopes.
    pub async fn evidence(&self, coop: Id) -> Result<Vec<Evidence>, NetError> {
        self.call(|r| Command::Evidence(coop, r)).await
    }

    /// The cooperatives this node holds.
    pub async fn coops(&self) -> Result<Vec<Id>, NetError> {
        self.call(Command::Coops).await
    }

    /// The export file of `coop` (see `taawun_ledger::export`), in memory: the ledger is
    /// owned by the task, so this is how the node hands it to an auditor while running.
    pub async fn export(&self, coop: Id) -> Result<Vec<u8>, NetError> {
        self.call(|r| Command::Export(coop, r)).await
    }

    /// Queues the result of `submission` (a `Submit` entry this node holds) for delivery
    /// to the requester's node, and returns once it is checked (size and blake3, the
    /// same [`result::check`] the requester runs), written to the results folder and
    /// queued in the outbox. Delivery then happens in the background, with retries
    /// ([`result`]); [`Event::ResultDelivered`] or [`Event::ResultRefused`] tells how it
    /// ended.
    pub async fn send_result(
        &self,
        coop: Id,
        submission: Id,
        bytes: Vec<u8>,
    ) -> Result<(), NetError> {
        self.call(|reply| Command::SendResult {
            coop,
            submission,
            bytes,
            reply,
        })
        .await
    }

    /// Whether the result of `submission` is in this node's results folder (a file
    /// check; nothing is read).
    pub fn has_result(&self, coop: Id, submission: Id) -> bool {
        self.results
            .as_ref()
            .is_some_and(|s| s.contains(&coop, &submission))
    }

    /// The content key of the reason of `rejection` that a member's node disclosed to
    /// this juror's node with a result, checked against the rejection's commitment when
    /// it arrived ([`result::check_reason`]); a file read, nothing more.
    pub fn disclosed(&self, coop: Id, rejection: Id) -> Option<taawun_core::seal::ContentKey> {
        self.results
            .as_ref()
            .and_then(|s| s.read_key(&coop, &rejection).ok().flatten())
    }

    /// The stored result of `submission`, if any (received, or sent by this node).
    pub async fn result(&self, coop: Id, submission: Id) -> Result<Option<Vec<u8>>, NetError> {
        let store = self.results.clone().ok_or(NetError::NoResultsDir)?;
        tokio::task::spawn_blocking(move || store.read(&coop, &submission))
            .await
            .map_err(|_| NetError::Stopped)?
            .map_err(NetError::from)
    }

    /// Stops the task; returns once the Swarm is closed and the ledger flushed and
    /// dropped (its data directory can then be opened again).
    pub async fn shutdown(&self) -> Result<(), NetError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Shutdown(tx))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }
}

/// A relay this node keeps a reservation on ([`NetConfig::relays`]).
#[derive(Debug)]
struct Relay {
    /// Its address, ending with `/p2p/<relay>`.
    addr: Multiaddr,
    /// The listener on `<addr>/p2p-circuit`, while one is open.
    listener: Option<ListenerId>,
}

/// Evidence entries a node authors at most per run (one per fork it sees, each naming
/// (cooperative, author, seq)). Forks are rare, and every fork freezes its author, but a
/// frozen author could still sign forks at every earlier seq: past this many, the node
/// only reports them. The ledger keeps the evidence either way.
pub const MAX_EVIDENCE_AUTHORED: usize = 4096;

/// How long the roles of a cooperative (its timeline of rules) read for admission are
/// kept before they are read again from a ledger that grew. Roles change only by
/// amendments, which take effect hours after they pass; reading them costs a pass over
/// the ledger, so not at every request.
pub const ROLES_REFRESH: Duration = Duration::from_secs(1);

/// Member keys whose node this node remembers (learned by hello, see [`crate::hello`]),
/// to find a requester's node again for a result. Past it, the oldest binding goes.
pub const MAX_BINDINGS: usize = 1024;

/// Where a result goes: (cooperative, submission, juror), the juror `None` for the
/// requester.
type Delivery = (Id, Id, Option<PublicKey>);

/// A result waiting in the outbox.
#[derive(Debug)]
struct Outbound {
    /// The key of the recipient: the requester's, or the juror's stable identity. A
    /// node proving it or a live device key of it may take the result.
    to: PublicKey,
    /// Its node, when known (learned by hello).
    peer: Option<PeerId>,
    /// Failed attempts so far (reset when a connection to the peer opens).
    attempt: u32,
    /// When to try next.
    due: Instant,
    /// A request is out.
    in_flight: bool,
}

/// The task owning the Swarm and the ledgers.
struct Task {
    swarm: Swarm<Behaviour>,
    ledger: Ledger,
    coops: BTreeMap<Id, CoopLedger>,
    /// The folded state of each cooperative read so far, shared with readers (see
    /// [`Task::state`]): one per cooperative held, built on first read.
    states: HashMap<Id, Arc<Coop>>,
    topics: HashMap<TopicHash, Id>,
    events: mpsc::Sender<Event>,
    /// Events dropped because the node did not keep up.
    dropped_events: u64,
    sessions: Sessions<PeerId>,
    requests: HashMap<OutboundRequestId, Outgoing>,
    /// The member this node speaks for, if any (see the module documentation).
    member: Option<SigningKey>,
    /// Forks this node authored evidence of: (coop, author, seq). Bounded by
    /// [`MAX_EVIDENCE_AUTHORED`].
    evidenced: HashSet<(Id, PublicKey, u64)>,
    /// The results folder.
    results: Option<result::Store>,
    /// Results to deliver. Bounded by [`result::MAX_OUTBOX`].
    outbox: BTreeMap<Delivery, Outbound>,
    /// Result requests out.
    result_requests: HashMap<OutboundRequestId, Delivery>,
    /// The relays of [`NetConfig::relays`], by peer.
    relays: BTreeMap<PeerId, Relay>,
    /// Connections through a relay, closed once DCUtR gives a direct one. Bounded by
    /// [`crate::config::MAX_CONNECTIONS`].
    relayed: HashSet<(PeerId, ConnectionId)>,
    /// Peers kept in the routing table (see [`MAX_CHOSEN_PEERS`]).
    chosen: HashSet<PeerId>,
    /// Where the next sync round starts in the sorted list of connected peers.
    sync_cursor: usize,
    /// Graylisted peers' lockouts and the invalid entries each peer sent in sync
    /// responses (see the module documentation and [`sync::SYNC_FAULT_SCORE`]).
    conduct: Conduct<PeerId>,
    /// Connected peers' sync (see [`PeerSync`]). Bounded by the connections.
    peer_sync: HashMap<PeerId, PeerSync>,
    /// Whether this node dialed its first connection to each connected peer (then it
    /// answers hellos at once; see [`crate::hello`]). Bounded by the connections.
    dialed: HashMap<PeerId, bool>,
    /// Connected peers that proved a member key. Bounded by the connections.
    proven: HashMap<PeerId, hello::Proven>,
    /// Hellos sent and not answered: the peer and the challenge. Bounded by the
    /// connections (one each, a renewal aside) and the protocol's timeout.
    hellos: HashMap<OutboundRequestId, (PeerId, [u8; hello::CHALLENGE_BYTES])>,
    /// Hellos of peers this node answers once they proved themselves (this node was
    /// dialed). One per connected peer.
    deferred: HashMap<PeerId, (hello::Request, ResponseChannel<hello::Response>)>,
    /// Connected peers that proved a key but were refused this node's proof (admitted to
    /// nothing then): asked to prove themselves again once admitted (roles change with
    /// amendments). Bounded by the connections.
    refused: HashSet<PeerId>,
    /// The cooperatives of this node whose topics each connected peer subscribed to.
    subscribed: HashMap<PeerId, HashSet<Id>>,
    /// Connected peers whose gossip is shut ([`gossip::UNPROVEN_SCORE`]).
    gated: HashSet<PeerId>,
    /// The rules of each cooperative as admission reads them (see [`ROLES_REFRESH`]).
    roles: HashMap<Id, Roles>,
    /// The node last proven to hold each member key, and when. Bounded by
    /// [`MAX_BINDINGS`].
    bindings: HashMap<PublicKey, (PeerId, Instant)>,
    /// Cooperatives where the member's writes are open for this run (see [`Writing`]);
    /// one per cooperative held.
    writing: HashMap<Id, Writing>,
    /// Cooperatives joined since the start (not opened from the data folder): they never
    /// count as [`Writing::Alone`], since the member may have written in them elsewhere.
    joined: HashSet<Id>,
    /// Callers of [`Network::writes_open`] waiting, per cooperative. Those whose caller
    /// gave up are dropped at each new wait, so bounded by the callers waiting at once.
    write_waiters: HashMap<Id, Vec<Reply<Writing>>>,
    /// `Evidence` the member's node will author once its writes in the cooperative open
    /// (each fork once, so bounded by [`MAX_EVIDENCE_AUTHORED`]).
    held_evidence: Vec<(Id, Evidence)>,
    config: NetConfig,
}

/// A cooperative's governance timeline, read for admission.
#[derive(Debug)]
struct Roles {
    /// The ledger's length when read.
    len: u64,
    /// When.
    at: Instant,
    /// The rules over time (`None`: no charter).
    timeline: Option<Timeline>,
    /// Device key -> the member or requester it speaks for (protocol.md 4.7).
    devices: HashMap<PublicKey, PublicKey>,
}

impl Task {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(self.config.sync_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut commit = tokio::time::interval(taawun_ledger::COMMIT_INTERVAL);
        commit.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut retry = tokio::time::interval(result::RETRY_TICK);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let done = loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None => break None,
                    Some(Command::Shutdown(done)) => break Some(done),
                    Some(cmd) => self.command(cmd),
                },
                ev = self.swarm.select_next_some() => self.swarm_event(ev),
                _ = tick.tick() => self.tick(),
                _ = commit.tick() => self.commit(),
                _ = retry.tick() => {
                    self.retry_due();
                    self.end_lockouts();
                }
            }
        };
        for c in self.coops.values() {
            if let Err(e) = c.flush() {
                warn!(coop = %c.id().short(), error = %e, "flush at shutdown failed");
            }
        }
        info!(dropped_events = self.dropped_events, "network stopped");
        drop(self);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    fn emit(&mut self, ev: Event) {
        if self.events.try_send(ev).is_err() {
            self.dropped_events += 1;
        }
    }

    /// Carries out what became of an entry that came `via` some path ([`reactions`]):
    /// reports what was stored and any equivocation, and gossips the stored entries
    /// found in `local`: entries a local caller handed in to be gossiped
    /// ([`Network::ingest`]); entries that came by gossip or sync are not gossiped again.
    /// Returns how many entries were stored.
    fn on_ingested(
        &mut self,
        coop: Id,
        outcome: &Ingest,
        via: Via,
        local: Option<&HashMap<Id, Verified>>,
    ) -> usize {
        let mut stored = 0;
        for r in reactions(outcome, via) {
            match r {
                Reaction::Stored { id, via } => {
                    stored += 1;
                    self.emit(Event::Stored { coop, id, via });
                    if let Some(v) = local.and_then(|l| l.get(&id)) {
                        self.publish(coop, v);
                    }
                }
                Reaction::Equivocation { existing, evidence } => {
                    self.on_equivocation(coop, existing, evidence);
                }
            }
        }
        stored
    }

    /// Commits the staged group of every ledger (see [`taawun_ledger::COMMIT_INTERVAL`]).
    fn commit(&mut self) {
        for c in self.coops.values_mut() {
            if let Err(e) = c.commit() {
                warn!(coop = %c.id().short(), error = %e, "group commit failed");
            }
        }
    }

    fn now(&self) -> taawun_core::Timestamp {
        (self.config.clock)()
    }

    /// Takes ownership of an open cooperative and subscribes to its topic.
    fn open(&mut self, c: CoopLedger) -> Result<Id, NetError> {
        let id = c.id();
        let topic = gossip::topic(&id);
        self.swarm
            .behaviour_mut()
            .gossip
            .subscribe(&topic)
            .map_err(|e| NetError::Gossip(e.to_string()))?;
        self.swarm
            .behaviour_mut()
            .gossip
            .set_topic_params(topic.clone(), gossip::topic_score())
            .map_err(|e| NetError::Gossip(e.to_string()))?;
        self.topics.insert(topic.hash(), id);
        self.coops.insert(id, c);
        info!(coop = %id.short(), "cooperative open");
        Ok(id)
    }

    fn coop(&mut self, id: &Id) -> Result<&mut CoopLedger, NetError> {
        self.coops.get_mut(id).ok_or(NetError::UnknownCoop(*id))
    }

    /// The shared state of `coop`, refreshed with what was stored since the last read.
    /// When a reader still holds the previous snapshot, the refresh copies it first
    /// (`Arc::make_mut`): readers never see a state change under them.
    fn state(&mut self, id: &Id) -> Result<Arc<Coop>, NetError> {
        let ledger = self.coops.get(id).ok_or(NetError::UnknownCoop(*id))?;
        let state = self.states.entry(*id).or_default();
        let stale = u64::try_from(state.len()).map_or(true, |n| n != ledger.len())
            || *state.frozen_authors() != ledger.frozen();
        if stale {
            ledger.refresh_state(Arc::make_mut(state))?;
        }
        Ok(Arc::clone(state))
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Dial(addr, r) => {
                let out = self.swarm.dial(addr.clone()).map_err(|e| NetError::Dial {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                });
                let _ = r.send(out);
            }
            Command::Listeners(r) => {
                let _ = r.send(Ok(self.swarm.listeners().cloned().collect()));
            }
            Command::AddExternal(addr, r) => {
                self.swarm.add_external_address(addr);
                let _ = r.send(Ok(()));
            }
            Command::Externals(r) => {
                let _ = r.send(Ok(self.swarm.external_addresses().cloned().collect()));
            }
            Command::Peers(r) => {
                let _ = r.send(Ok(self.swarm.connected_peers().copied().collect()));
            }
            Command::Join(charter, r) => {
                let _ = r.send(self.join(*charter));
            }
            Command::Found(charter, r) => {
                let _ = r.send(self.found(*charter));
            }
            Command::Writing(coop, r) => {
                let _ = r.send(self.writing(&coop));
            }
            Command::AwaitWriting(coop, r) => match self.writing(&coop) {
                Ok(Writing::Waiting { .. }) => {
                    let waiting = self.write_waiters.entry(coop).or_default();
                    waiting.retain(|w| !w.is_closed());
                    waiting.push(r);
                }
                out => {
                    let _ = r.send(out);
                }
            },
            Command::Append {
                coop,
                key,
                body,
                gov,
                reply,
            } => {
                let _ = reply.send(self.append(coop, &key, *body, gov));
            }
            Command::Ingest {
                coop,
                entries,
                gossip,
                reply,
            } => {
                let _ = reply.send(self.ingest_local(coop, entries, gossip));
            }
            Command::Heads(coop, r) => {
                let out = self
                    .coop(&coop)
                    .and_then(|c| c.heads().map_err(NetError::from));
                let _ = r.send(out);
            }
            Command::State(coop, r) => {
                let _ = r.send(self.state(&coop));
            }
            Command::Block(peer, r) => {
                self.swarm.behaviour_mut().blocked.block_peer(peer);
                let _ = r.send(Ok(()));
            }
            Command::Unblock(peer, r) => {
                self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                let _ = r.send(Ok(()));
            }
            Command::Score(peer, r) => {
                let _ = r.send(Ok(self.swarm.behaviour().gossip.peer_score(&peer)));
            }
            Command::SyncPeer(peer, r) => {
                let _ = r.send(Ok(self.peer_sync.get(&peer).copied()));
            }
            Command::Mesh(coop, r) => {
                let topic = gossip::topic(&coop).hash();
                let mesh = self
                    .swarm
                    .behaviour()
                    .gossip
                    .mesh_peers(&topic)
                    .copied()
                    .collect();
                let _ = r.send(Ok(mesh));
            }
            Command::Sync(r) => {
                self.sync_all();
                let _ = r.send(Ok(()));
            }
            Command::Frozen(coop, r) => {
                let _ = r.send(self.coop(&coop).map(|c| c.frozen()));
            }
            Command::Coops(r) => {
                let _ = r.send(Ok(self.coops.keys().copied().collect()));
            }
            Command::Export(coop, r) => {
                let out = self.coop(&coop).and_then(|c| {
                    let mut buf = Vec::new();
                    c.export(&mut buf)?;
                    Ok(buf)
                });
                let _ = r.send(out);
            }
            Command::Evidence(coop, r) => {
                let out = self
                    .coop(&coop)
                    .and_then(|c| c.evidence().map_err(NetError::from));
                let _ = r.send(out);
            }
            Command::SendResult {
                coop,
                submission,
                bytes,
                reply,
            } => {
                let _ = reply.send(self.send_result(coop, submission, &bytes));
            }
            // Handled by the loop.
            Command::Shutdown(done) => {
                let _ = done.send(());
            }
        }
    }

    fn join(&mut self, charter: Verified) -> Result<Id, NetError> {
        let id = charter.id();
        if self.coops.contains_key(&id) {
            return Ok(id);
        }
        let c = self.ledger.found(charter)?;
        self.open(c)?;
        self.joined.insert(id);
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for p in peers {
            // Proofs name the cooperatives held: prove this node again, with the new one.
            self.send_hello(p, true);
            self.start_sync(p, id);
        }
        Ok(id)
    }

    /// [`Task::join`] for a cooperative this node's member creates: when new, its writes
    /// in it are open at once.
    fn found(&mut self, charter: Verified) -> Result<Id, NetError> {
        let id = charter.id();
        let new = !self.coops.contains_key(&id);
        let ours = self.member_key() == Some(charter.entry().author);
        self.join(charter)?;
        if new && ours {
            self.open_writes(id, Writing::Founded);
        }
        Ok(id)
    }

    /// Whether the member's writes in `coop` go ahead now (see [`Writing`]).
    fn writing(&mut self, coop: &Id) -> Result<Writing, NetError> {
        if !self.coops.contains_key(coop) {
            return Err(NetError::UnknownCoop(*coop));
        }
        let Some(me) = self.member_key().filter(|_| self.config.confirm_own_chain) else {
            return Ok(Writing::Unguarded);
        };
        if let Some(w) = self.writing.get(coop) {
            return Ok(*w);
        }
        if !self.joined.contains(coop) && self.alone(coop, &me)? {
            self.open_writes(*coop, Writing::Alone);
            return Ok(Writing::Alone);
        }
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        let peers = peers.iter().filter(|p| self.admitted(p, coop)).count();
        Ok(Writing::Waiting { peers })
    }

    /// Whether, by this node's ledger, no key but `me` is a member or requester of `coop`
    /// now.
    fn alone(&mut self, coop: &Id, me: &PublicKey) -> Result<bool, NetError> {
        let now = self.now();
        let state = self.state(coop)?;
        Ok(state
            .rules_at(now)
            .is_some_and(|r| r.members.iter().chain(r.requesters.iter()).all(|k| k == me)))
    }

    /// Opens the member's writes in `coop` for the rest of the run: answers those waiting
    /// and authors the evidence held for it.
    fn open_writes(&mut self, coop: Id, why: Writing) {
        if self.writing.contains_key(&coop) {
            return;
        }
        info!(coop = %coop.short(), ?why, "the member's writes are open");
        self.writing.insert(coop, why);
        for w in self.write_waiters.remove(&coop).unwrap_or_default() {
            let _ = w.send(Ok(why));
        }
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held_evidence)
            .into_iter()
            .partition(|(c, _)| *c == coop);
        self.held_evidence = later;
        for (_, evidence) in now {
            self.publish_evidence(coop, evidence);
        }
    }

    /// `peer` answered a sync session with heads in which the member's chain ends at
    /// `remote` (0: none of it): if the chain held here is at least that long, and the peer
    /// is admitted, the member's latest entry is confirmed.
    fn confirm(&mut self, peer: PeerId, coop: Id, remote: u64) {
        if !self.config.confirm_own_chain || self.writing.contains_key(&coop) {
            return;
        }
        let Some(me) = self.member_key() else {
            return;
        };
        let local = match self.coops.get(&coop).map(|c| c.head(&me)) {
            Some(Ok(h)) => h.map_or(0, |h| h.seq),
            Some(Err(e)) => {
                warn!(error = %e, "cannot read the member's head");
                return;
            }
            None => return,
        };
        if local < remote {
            debug!(%peer, local, remote, "the peer holds more of the member's chain than fetched yet");
            return;
        }
        if !self.admitted(&peer, &coop) {
            return;
        }
        self.emit(Event::Confirmed {
            coop,
            peer,
            seq: local,
        });
        self.open_writes(coop, Writing::Confirmed { peer, seq: local });
    }

    fn append(
        &mut self,
        coop: Id,
        key: &SigningKey,
        body: Body,
        gov: Option<Id>,
    ) -> Result<Verified, NetError> {
        if self.member_key() == Some(PublicKey(key.verifying_key().to_bytes())) {
            if let Writing::Waiting { peers } = self.writing(&coop)? {
                return Err(NetError::Unconfirmed { coop, peers });
            }
        }
        let now = self.now();
        let v = self.coop(&coop)?.append(key, body, now, gov)?;
        self.emit(Event::Stored {
            coop,
            id: v.id(),
            via: Via::Local,
        });
        self.publish(coop, &v);
        Ok(v)
    }

    fn ingest_local(
        &mut self,
        coop: Id,
        entries: Vec<Verified>,
        gossip: bool,
    ) -> Result<Vec<Ingest>, NetError> {
        let now = Some(self.now());
        let by_id: HashMap<Id, Verified> = if gossip {
            entries.iter().map(|v| (v.id(), v.clone())).collect()
        } else {
            HashMap::new()
        };
        let out = self.coop(&coop)?.ingest_many(entries, now)?;
        for o in &out {
            self.on_ingested(coop, o, Via::Local, Some(&by_id));
        }
        Ok(out)
    }

    /// Gossips a stored entry. Failing to is not an error: the entry is stored, and sync
    /// carries it to peers that gossip missed.
    fn publish(&mut self, coop: Id, v: &Verified) {
        let topic = gossip::topic(&coop);
        match self
            .swarm
            .behaviour_mut()
            .gossip
            .publish(topic, v.envelope())
        {
            Ok(_) => {}
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                debug!(entry = %v.id().short(), "no peer subscribed yet; sync will carry it");
            }
            Err(e) => debug!(entry = %v.id().short(), error = %e, "not gossiped"),
        }
    }

    fn tick(&mut self) {
        // Roles change with time (amendments take effect): look at every gate again.
        let peers: Vec<PeerId> = self.proven.keys().copied().collect();
        for p in peers {
            self.update_gate(p);
        }
        // A peer refused earlier and admitted now: both sides prove themselves again.
        let refused: Vec<PeerId> = self.refused.iter().copied().collect();
        for p in refused {
            if self.admitted_any(&p) {
                self.refused.remove(&p);
                self.send_hello(p, true);
            }
        }
        self.sync_round();
        self.jurors_due();
        let connected = self.swarm.connected_peers().count();
        if connected == 0 {
            for addr in self.config.bootstrap.clone() {
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    debug!(%addr, error = %e, "bootstrap redial failed");
                }
            }
        }
        if connected < MIN_PEERS {
            // The answer (kad::Event::OutboundQueryProgressed) dials a few of the peers found.
            let me = *self.swarm.local_peer_id();
            self.swarm.behaviour_mut().kad.get_closest_peers(me);
        }
        self.dial_relays();
    }

    /// Keeps `addr`'s peer (if the address names one) in the routing table, within
    /// [`MAX_CHOSEN_PEERS`].
    fn choose(&mut self, addr: &Multiaddr) {
        let Some(Protocol::P2p(peer)) = addr.iter().last() else {
            return;
        };
        if peer == *self.swarm.local_peer_id()
            || (!self.chosen.contains(&peer) && self.chosen.len() >= MAX_CHOSEN_PEERS)
        {
            return;
        }
        self.chosen.insert(peer);
        let mut bare = addr.clone();
        bare.pop();
        if !bare.iter().any(|p| p == Protocol::P2pCircuit) && !bare.is_empty() {
            self.swarm.behaviour_mut().kad.add_address(&peer, bare);
        }
    }

    /// Dials each relay not connected; listens on the circuit of each connected relay
    /// without a listener (a reservation).
    fn dial_relays(&mut self) {
        let ids: Vec<PeerId> = self.relays.keys().copied().collect();
        for relay in ids {
            if self.swarm.is_connected(&relay) {
                self.listen_on_relay(relay);
            } else if let Some(r) = self.relays.get(&relay) {
                let addr = r.addr.clone();
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    debug!(%addr, error = %e, "relay dial failed");
                }
            }
        }
    }

    /// Asks `relay` for a reservation by listening on its circuit address, unless already.
    fn listen_on_relay(&mut self, relay: PeerId) {
        let Some(r) = self.relays.get(&relay) else {
            return;
        };
        if r.listener.is_some() {
            return;
        }
        let circuit = r.addr.clone().with(Protocol::P2pCircuit);
        match self.swarm.listen_on(circuit.clone()) {
            Ok(id) => {
                info!(%circuit, "reserving on relay");
                if let Some(r) = self.relays.get_mut(&relay) {
                    r.listener = Some(id);
                }
            }
            Err(e) => warn!(%circuit, error = %e, "cannot listen on relay"),
        }
    }

    /// A sync round of the timer: [`SYNC_PEERS_PER_ROUND`] connected peers, in turn.
    fn sync_round(&mut self) {
        let mut peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        if peers.is_empty() {
            return;
        }
        peers.sort();
        let start = self.sync_cursor % peers.len();
        self.sync_cursor = start + SYNC_PEERS_PER_ROUND;
        let coops: Vec<Id> = self.coops.keys().copied().collect();
        for p in peers
            .iter()
            .cycle()
            .skip(start)
            .take(SYNC_PEERS_PER_ROUND.min(peers.len()))
        {
            for c in &coops {
                self.start_sync(*p, *c);
            }
        }
    }

    fn sync_all(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        let coops: Vec<Id> = self.coops.keys().copied().collect();
        for p in peers {
            for c in &coops {
                self.start_sync(p, *c);
            }
        }
    }

    fn swarm_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.emit(Event::Listening(address));
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                connection_id,
                endpoint,
                ..
            } => {
                if endpoint.is_relayed() {
                    self.relayed.insert((peer_id, connection_id));
                } else if self.relays.contains_key(&peer_id) {
                    // Listen on the circuit only now: a reservation asked while the dial
                    // to the relay is pending fails.
                    self.listen_on_relay(peer_id);
                }
                if num_established.get() > 1 {
                    return;
                }
                debug!(peer = %peer_id, relayed = endpoint.is_relayed(), "connected");
                self.peer_sync.insert(peer_id, PeerSync::default());
                self.dialed.insert(peer_id, endpoint.is_dialer());
                // Gossip stays shut until the peer proves a role (see the module docs).
                self.gated.insert(peer_id);
                self.set_app_score(peer_id);
                self.emit(Event::PeerConnected(peer_id));
                if self.drop_if_graylisted(peer_id) {
                    return;
                }
                // Sync and results wait for the peer's proof.
                self.send_hello(peer_id, false);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.relayed.remove(&(peer_id, connection_id));
                if num_established > 0 {
                    return;
                }
                debug!(peer = %peer_id, "disconnected");
                self.sessions.disconnected(peer_id);
                self.peer_sync.remove(&peer_id);
                self.dialed.remove(&peer_id);
                self.proven.remove(&peer_id);
                self.deferred.remove(&peer_id);
                self.refused.remove(&peer_id);
                self.subscribed.remove(&peer_id);
                self.gated.remove(&peer_id);
                self.hellos.retain(|_, (p, _)| *p != peer_id);
                self.emit(Event::PeerDisconnected(peer_id));
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                for r in self.relays.values_mut() {
                    if r.listener == Some(listener_id) {
                        // Reserved again when the relay is connected (now or at a tick).
                        info!(relay = %r.addr, ?reason, "relay reservation closed");
                        r.listener = None;
                    }
                }
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                info!(%address, "external address confirmed");
            }
            SwarmEvent::Behaviour(b) => self.behaviour_event(b),
            _ => {}
        }
    }

    fn behaviour_event(&mut self, ev: BehaviourEvent) {
        match ev {
            BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.on_gossip(propagation_source, message_id, message),
            BehaviourEvent::Gossip(gossipsub::Event::Subscribed { peer_id, topic }) => {
                if let Some(coop) = self.topics.get(&topic).copied() {
                    self.subscribed.entry(peer_id).or_default().insert(coop);
                    self.update_gate(peer_id);
                    self.start_sync(peer_id, coop);
                }
            }
            BehaviourEvent::Gossip(gossipsub::Event::Unsubscribed { peer_id, topic }) => {
                if let Some(coop) = self.topics.get(&topic).copied() {
                    if let Some(s) = self.subscribed.get_mut(&peer_id) {
                        s.remove(&coop);
                    }
                    self.update_gate(peer_id);
                }
            }
            BehaviourEvent::Hello(ev) => self.on_hello(ev),
            // Only chosen peers, and peers that serve the DHT themselves (reachable nodes,
            // which answer lookups), go to the routing table (see `MAX_CHOSEN_PEERS`):
            // without the second kind, a bootstrap node never learns of the nodes that
            // dialed it, and nobody can find a requester to hand it a result. identify
            // itself remembers the others' addresses for dials by peer id.
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })
                if self.chosen.contains(&peer_id)
                    || info
                        .protocols
                        .iter()
                        .any(|p| p.as_ref() == crate::behaviour::KAD_PROTOCOL) =>
            {
                for addr in info.listen_addrs {
                    if !addr.iter().any(|p| p == Protocol::P2pCircuit) {
                        self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                    }
                }
            }
            BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                result: kad::QueryResult::GetClosestPeers(Ok(found)),
                ..
            }) => self.dial_found(found.peers),
            BehaviourEvent::RelayClient(ev) => self.on_relay_client(ev),
            BehaviourEvent::Dcutr(ev) => self.on_dcutr(ev),
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, addr) in found {
                    if !self.swarm.is_connected(&peer) {
                        if let Ok(a) = addr.clone().with_p2p(peer) {
                            self.choose(&a);
                        }
                        if let Err(e) = self.swarm.dial(addr) {
                            debug!(%peer, error = %e, "mdns dial failed");
                        }
                    }
                }
            }
            BehaviourEvent::Kad(kad::Event::RoutingUpdated { peer, .. }) => {
                debug!(%peer, "kademlia routing updated");
            }
            BehaviourEvent::Sync(ev) => self.on_sync(ev),
            // Ping only informs: nothing is closed on a failure (see `Behaviour::ping`).
            BehaviourEvent::Ping(ping::Event {
                peer,
                result: Err(error),
                ..
            }) => debug!(%peer, %error, "ping failed"),
            BehaviourEvent::Results(ev) => self.on_results(ev),
            _ => {}
        }
    }

    /// Dials the recipient of a waiting result if a DHT lookup found it, then up to
    /// [`DIAL_BATCH`] peers it found, while below [`MIN_PEERS`].
    fn dial_found(&mut self, found: Vec<kad::PeerInfo>) {
        for info in &found {
            let waiting = self.outbox.values().any(|o| o.peer == Some(info.peer_id));
            if waiting && !self.swarm.is_connected(&info.peer_id) && !info.addrs.is_empty() {
                let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(info.peer_id)
                    .addresses(info.addrs.clone())
                    .build();
                if let Err(e) = self.swarm.dial(opts) {
                    debug!(peer = %info.peer_id, error = %e, "dial of a result's recipient failed");
                }
            }
        }
        let connected = self.swarm.connected_peers().count();
        let want = MIN_PEERS.saturating_sub(connected).min(DIAL_BATCH);
        let me = *self.swarm.local_peer_id();
        let mut dialed = 0;
        for info in found {
            if dialed >= want {
                break;
            }
            if info.peer_id == me || self.swarm.is_connected(&info.peer_id) {
                continue;
            }
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(info.peer_id)
                .addresses(info.addrs.clone())
                .build();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    dialed += 1;
                    for a in info.addrs {
                        if let Ok(a) = a.with_p2p(info.peer_id) {
                            self.choose(&a);
                        }
                    }
                }
                Err(e) => debug!(peer = %info.peer_id, error = %e, "dial of a found peer failed"),
            }
        }
    }

    fn on_relay_client(&mut self, ev: relay::client::Event) {
        match ev {
            relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            } => {
                if renewal {
                    debug!(relay = %relay_peer_id, "relay reservation renewed");
                } else {
                    info!(relay = %relay_peer_id, "relay reservation accepted");
                }
            }
            relay::client::Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
                debug!(relay = %relay_peer_id, "circuit through a relay opened");
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
                debug!(peer = %src_peer_id, "peer reached this node through a relay");
            }
        }
    }

    /// A hole punch ended: once a direct connection exists, the relayed ones go (gossipsub
    /// would otherwise keep sending over the relay).
    fn on_dcutr(&mut self, ev: dcutr::Event) {
        let peer = ev.remote_peer_id;
        match ev.result {
            Ok(direct) => {
                info!(%peer, "direct connection by hole punching");
                let relayed: Vec<ConnectionId> = self
                    .relayed
                    .iter()
                    .filter(|(p, c)| *p == peer && *c != direct)
                    .map(|(_, c)| *c)
                    .collect();
                for c in relayed {
                    self.swarm.close_connection(c);
                }
            }
            Err(e) => debug!(%peer, error = %e, "hole punching failed; staying relayed"),
        }
    }

    /// The gossip validation pipeline: decode, verify, ingest, report.
    fn on_gossip(&mut self, source: PeerId, msg_id: MessageId, msg: gossipsub::Message) {
        let coop = self.topics.get(&msg.topic).copied();
        let now = Some(self.now());
        let judged = exchange::judge(coop.and_then(|c| self.coops.get_mut(&c)), &msg.data, now);
        let verdict = gossip::verdict(&judged);
        self.swarm
            .behaviour_mut()
            .gossip
            .report_message_validation_result(&msg_id, &source, verdict.into());
        let reason = exchange::reason(&judged);
        if verdict == Verdict::Reject {
            info!(peer = %source, %reason, "gossip message rejected");
            self.drop_if_graylisted(source);
        }
        self.emit(Event::Gossip {
            coop,
            peer: source,
            message: msg_id,
            verdict,
            reason,
        });
        let Some(coop) = coop else { return };
        let Judged::Ingested(outcome) = judged else {
            return;
        };
        self.on_ingested(coop, &outcome, Via::Gossip, None);
        match outcome {
            Ingest::Pending(Missing::Gap { author, from, .. }) => {
                // The peer that forwarded the entry holds its chain: fetch the gap from
                // it, not a whole heads comparison.
                debug!(author = %author.short(), from, peer = %source, "gossip entry after a gap; fetching the range");
                self.fetch_range(source, coop, author, from);
            }
            Ingest::Pending(missing) => {
                debug!(?missing, peer = %source, "gossip entry pending; syncing");
                self.start_sync(source, coop);
            }
            _ => {}
        }
    }

    /// Locks out a peer gossipsub has graylisted, and says whether it did: its messages
    /// are already dropped unread, but an open connection would still cost streams, sync
    /// requests and a mesh slot. The lockout doubles with each graylisting while the peer
    /// is remembered (see the module documentation).
    ///
    /// gossipsub keeps the score of a disconnected peer without decaying it, for
    /// `retain_score` after each disconnection. With its default (an hour) and this check
    /// at every connection, a graylisted peer that kept redialing was shut out for ever;
    /// the retention is now shorter than any lockout ([`gossip::score_params`]) and a
    /// lockout ends only once the kept score is forgotten.
    fn drop_if_graylisted(&mut self, peer: PeerId) -> bool {
        let score = self.conduct_score(&peer);
        let Some(score) = score.filter(|s| gossip::graylisted(*s)) else {
            return false;
        };
        let out = self.conduct.graylisted(peer, Instant::now());
        for o in &out {
            if let conduct::Output::LockOut {
                strikes, lockout, ..
            } = o
            {
                info!(%peer, score, strikes, ?lockout, "peer graylisted; locked out");
            }
        }
        self.carry_out_conduct(out);
        true
    }

    /// Ends the lockouts whose time is up and whose peer's kept score gossipsub has
    /// forgotten (or no longer counts as graylisted).
    fn end_lockouts(&mut self) {
        let gossip = &self.swarm.behaviour().gossip;
        let out = self.conduct.tick(Instant::now(), |p| {
            gossip.peer_score(p).is_some_and(gossip::graylisted)
        });
        self.carry_out_conduct(out);
    }

    /// Carries out what [`Conduct`] decided.
    fn carry_out_conduct(&mut self, out: Vec<conduct::Output<PeerId>>) {
        for o in out {
            match o {
                conduct::Output::LockOut {
                    peer,
                    strikes,
                    lockout,
                } => {
                    self.swarm.behaviour_mut().locked_out.block_peer(peer);
                    let _ = self.swarm.disconnect_peer_id(peer);
                    self.emit(Event::LockedOut {
                        peer,
                        strikes,
                        lockout,
                    });
                }
                conduct::Output::Disconnect(peer) => {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
                conduct::Output::LetIn(peer) => {
                    self.swarm.behaviour_mut().locked_out.unblock_peer(peer);
                    info!(%peer, "lockout ended");
                    self.emit(Event::LockoutEnded(peer));
                }
            }
        }
    }

    /// Reports an equivocation and, when this node speaks for a member, publishes an
    /// `Evidence` entry about it (once per cooperative, author and seq).
    fn on_equivocation(&mut self, coop: Id, existing: Id, evidence: Evidence) {
        let Some(Freeze { author, seq }) = evidence.freezes() else {
            return;
        };
        warn!(author = %author.short(), seq, "equivocation");
        self.emit(Event::Equivocation {
            coop,
            author,
            existing,
            evidence: evidence.clone(),
        });
        if self.member_key().is_none_or(|me| me == author)
            || self.evidenced.len() >= MAX_EVIDENCE_AUTHORED
            || !self.evidenced.insert((coop, author, seq))
        {
            return;
        }
        if !matches!(self.writing(&coop), Ok(w) if w.open()) {
            // Signing now could fork the member itself: the evidence waits for its writes.
            info!(author = %author.short(), seq, "evidence held until the member's writes open");
            self.held_evidence.push((coop, evidence));
            return;
        }
        self.publish_evidence(coop, evidence);
    }

    /// Authors and publishes an `Evidence` entry as the member.
    fn publish_evidence(&mut self, coop: Id, evidence: Evidence) {
        let Some(key) = self.member.clone() else {
            return;
        };
        let Some(Freeze { author, seq }) = evidence.freezes() else {
            return;
        };
        match self.append(coop, &key, Body::Evidence(evidence), None) {
            Ok(v) => {
                info!(author = %author.short(), seq, entry = %v.id().short(), "evidence published");
                self.emit(Event::EvidencePublished {
                    coop,
                    author,
                    seq,
                    entry: v.id(),
                });
            }
            // Not a member of this cooperative, say: the ledger keeps the evidence anyway.
            Err(e) => warn!(author = %author.short(), error = %e, "could not publish evidence"),
        }
    }

    /// The requester of a `Submit` entry: the author of the offer it names.
    fn requester_of(&self, coop: &Id, submission: &Verified) -> Result<PublicKey, NetError> {
        let Body::Submit(s) = &submission.entry().body else {
            return Err(Refusal::NotASubmission.into());
        };
        let c = self.coops.get(coop).ok_or(NetError::UnknownCoop(*coop))?;
        // A stored submission's offer is stored (it is a dependency).
        let offer = c
            .get(&s.offer)?
            .ok_or(NetError::Result(Refusal::UnknownSubmission))?;
        Ok(offer.entry().author)
    }

    /// The member key this node proves, if it speaks for one.
    fn member_key(&self) -> Option<PublicKey> {
        self.member
            .as_ref()
            .map(|k| PublicKey(k.verifying_key().to_bytes()))
    }

    /// Sends `peer` a hello with a fresh challenge (a node without a member key sends
    /// none: it has nothing to gain from knowing who its peers are).
    fn send_hello(&mut self, peer: PeerId, back: bool) {
        if self.member.is_none() {
            return;
        }
        let mut challenge = [0u8; hello::CHALLENGE_BYTES];
        if let Err(e) = getrandom::fill(&mut challenge) {
            warn!(error = %e, "no randomness for a hello challenge");
            return;
        }
        let id = self
            .swarm
            .behaviour_mut()
            .hello
            .send_request(&peer, hello::Request::new(challenge, back));
        self.hellos.insert(id, (peer, challenge));
    }

    fn on_hello(&mut self, ev: request_response::Event<hello::Request, hello::Response>) {
        use request_response::{Event as E, Message as M};
        match ev {
            E::Message {
                peer,
                message: M::Request {
                    request, channel, ..
                },
                ..
            } => {
                let back = request.back;
                let now = self.dialed.get(&peer).copied().unwrap_or(false)
                    || self.member.is_none()
                    || self.admitted_any(&peer);
                if now {
                    self.answer_hello(peer, request, channel);
                } else {
                    // Dialed by a peer not admitted yet: answer once it has proven a role.
                    self.deferred.insert(peer, (request, channel));
                }
                let asking = self.hellos.values().any(|(p, _)| *p == peer);
                if back || (!now && !asking) {
                    self.send_hello(peer, false);
                }
            }
            E::Message {
                peer,
                message:
                    M::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some((_, challenge)) = self.hellos.remove(&request_id) else {
                    return;
                };
                match response {
                    hello::Response::Proof(proof) => {
                        let me = *self.swarm.local_peer_id();
                        match hello::verify(&proof, &challenge, &peer, &me) {
                            Ok(proven) => self.on_proven(peer, proven),
                            Err(e) => {
                                warn!(%peer, error = %e, "hello proof refused");
                                self.emit(Event::HelloRefused {
                                    peer,
                                    reason: e.to_string(),
                                });
                                self.release_deferred(peer);
                            }
                        }
                    }
                    hello::Response::Refused => {
                        debug!(%peer, "peer proves no member key");
                        self.release_deferred(peer);
                    }
                }
            }
            E::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if self.hellos.remove(&request_id).is_some() {
                    debug!(%peer, %error, "hello failed");
                    self.release_deferred(peer);
                }
            }
            E::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "answering a hello failed");
            }
            E::ResponseSent { .. } => {}
        }
    }

    /// Answers a hello: this node's proof, naming every cooperative it holds when it
    /// dialed the peer, else (the peer proved itself first) those of them the peer named,
    /// and only if the peer is admitted to one; otherwise `Refused`.
    fn answer_hello(
        &mut self,
        peer: PeerId,
        request: hello::Request,
        channel: ResponseChannel<hello::Response>,
    ) {
        let response = match self.member.clone() {
            Some(key) if request.challenge.len() == hello::CHALLENGE_BYTES => {
                let dialed = self.dialed.get(&peer).copied().unwrap_or(false);
                let coops: Option<Vec<Id>> = if dialed {
                    Some(self.coops.keys().copied().collect())
                } else {
                    let named: Vec<Id> = self
                        .proven
                        .get(&peer)
                        .map(|p| p.coops.clone())
                        .unwrap_or_default();
                    let held: Vec<Id> = named
                        .into_iter()
                        .filter(|c| self.coops.contains_key(c))
                        .collect();
                    self.admitted_any(&peer).then_some(held)
                };
                if coops.is_none() && self.proven.contains_key(&peer) {
                    self.refused.insert(peer);
                }
                match coops {
                    Some(coops) => {
                        self.refused.remove(&peer);
                        let me = *self.swarm.local_peer_id();
                        hello::Response::Proof(hello::prove(
                            &key,
                            &request.challenge,
                            &me,
                            &peer,
                            coops,
                        ))
                    }
                    None => hello::Response::Refused,
                }
            }
            _ => hello::Response::Refused,
        };
        if self
            .swarm
            .behaviour_mut()
            .hello
            .send_response(channel, response)
            .is_err()
        {
            debug!(%peer, "hello asker went away");
        }
    }

    /// Answers the hello held for `peer`, now that its own proof came or failed.
    fn release_deferred(&mut self, peer: PeerId) {
        if let Some((request, channel)) = self.deferred.remove(&peer) {
            self.answer_hello(peer, request, channel);
        }
    }

    /// `peer` proved it holds `proven.key`.
    fn on_proven(&mut self, peer: PeerId, proven: hello::Proven) {
        let key = proven.key;
        let held: Vec<Id> = proven
            .coops
            .iter()
            .filter(|c| self.coops.contains_key(c))
            .copied()
            .collect();
        info!(%peer, member = %key.short(), coops = held.len(), "peer proved a member key");
        self.proven.insert(peer, proven);
        if !self.bindings.contains_key(&key) && self.bindings.len() >= MAX_BINDINGS {
            let oldest = self
                .bindings
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.bindings.remove(&k);
            }
        }
        self.bindings.insert(key, (peer, Instant::now()));
        self.emit(Event::Proven {
            peer,
            member: key,
            coops: held.clone(),
        });
        self.update_gate(peer);
        self.release_deferred(peer);
        for c in held {
            self.start_sync(peer, c);
        }
        self.peer_is_back(peer, key);
    }

    /// Whether `peer` proved a key and named `coop` in its proof (whom to ask for it).
    fn names(&self, peer: &PeerId, coop: &Id) -> bool {
        self.proven
            .get(peer)
            .is_some_and(|p| p.coops.binary_search(coop).is_ok())
    }

    /// Whether `key` is a member or requester of `coop` under the rules in force now, or
    /// a device of one that is not revoked, by this node's ledger (read again at most
    /// every [`ROLES_REFRESH`] while it grows).
    fn has_role(&mut self, coop: &Id, key: &PublicKey) -> bool {
        if !self.refresh_roles(coop) {
            return false;
        }
        let now = self.now();
        self.roles.get(coop).is_some_and(|r| {
            // A device key is admitted as the member it speaks for, until it is revoked
            // (or its member's key is replaced): protocol.md 4.7, 8.7.
            let speaker = r.devices.get(key).copied().unwrap_or(*key);
            r.timeline.as_ref().is_some_and(|t| {
                let rules = t.at(now);
                let cut = |k: &PublicKey| t.cut(k).is_some_and(|c| c <= now);
                (rules.members.contains(&speaker) || rules.requesters.contains(&speaker))
                    && !cut(key)
                    && !cut(&speaker)
            })
        })
    }

    /// The stable identity `key` speaks for in `coop` (itself, or the member of a device
    /// key, through every replacement of its key), by the roles admission reads.
    fn identity(&mut self, coop: &Id, key: &PublicKey) -> PublicKey {
        self.refresh_roles(coop);
        self.roles.get(coop).map_or(*key, |r| {
            let speaker = r.devices.get(key).copied().unwrap_or(*key);
            r.timeline
                .as_ref()
                .map_or(speaker, |t| t.identity(&speaker))
        })
    }

    /// [`Task::identity`] for a key with a role now; `None` for a stranger, a revoked
    /// device or a replaced key.
    fn speaks_for(&mut self, coop: &Id, key: &PublicKey) -> Option<PublicKey> {
        self.has_role(coop, key).then(|| self.identity(coop, key))
    }

    /// Reads the roles of `coop` again if they are stale (see [`ROLES_REFRESH`]); false
    /// when this node does not hold it.
    fn refresh_roles(&mut self, coop: &Id) -> bool {
        let Some(len) = self.coops.get(coop).map(|c| c.len()) else {
            return false;
        };
        let stale = self
            .roles
            .get(coop)
            .is_none_or(|r| r.len != len && r.at.elapsed() >= ROLES_REFRESH);
        if stale {
            let (timeline, devices) = match self.state(coop) {
                Ok(st) => {
                    // A device authorised but not enrolled yet is admitted as its
                    // member too: it must sync the authorisation to write its enrollment.
                    let mut devices: HashMap<PublicKey, PublicKey> = st
                        .ids(taawun_core::Kind::Device)
                        .filter_map(|id| st.get(id))
                        .filter_map(|v| match &v.entry().body {
                            taawun_core::body::Body::Device(d) => Some((d.key, v.entry().author)),
                            _ => None,
                        })
                        .collect();
                    devices.extend(st.enrolled_devices());
                    (st.timeline().cloned(), devices)
                }
                Err(e) => {
                    warn!(error = %e, "cannot read the roles of a cooperative");
                    (None, HashMap::new())
                }
            };
            self.roles.insert(
                *coop,
                Roles {
                    len,
                    at: Instant::now(),
                    timeline,
                    devices,
                },
            );
        }
        true
    }

    /// Whether `peer` is admitted to `coop` (see the module documentation).
    fn admitted(&mut self, peer: &PeerId, coop: &Id) -> bool {
        let Some(key) = self
            .proven
            .get(peer)
            .filter(|p| p.coops.binary_search(coop).is_ok())
            .map(|p| p.key)
        else {
            return false;
        };
        self.has_role(coop, &key)
    }

    /// Whether `peer` is admitted to a cooperative this node holds.
    fn admitted_any(&mut self, peer: &PeerId) -> bool {
        let held: Vec<Id> = self
            .proven
            .get(peer)
            .map(|p| p.coops.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|c| self.coops.contains_key(c))
            .collect();
        held.iter().any(|c| self.admitted(peer, c))
    }

    /// Whether gossip with `peer` is open: it is admitted to a cooperative this node holds,
    /// and to every one of them whose topic it subscribed to.
    fn gossip_open(&mut self, peer: &PeerId) -> bool {
        if !self.proven.contains_key(peer) {
            return false;
        }
        let subscribed: Vec<Id> = self
            .subscribed
            .get(peer)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        self.admitted_any(peer) && subscribed.iter().all(|c| self.admitted(peer, c))
    }

    /// Opens or shuts gossip with `peer` (see the module documentation).
    fn update_gate(&mut self, peer: PeerId) {
        if !self.swarm.is_connected(&peer) {
            return;
        }
        let open = self.gossip_open(&peer);
        let changed = if open {
            self.gated.remove(&peer)
        } else {
            self.gated.insert(peer)
        };
        if changed {
            debug!(%peer, open, "gossip gate");
            self.set_app_score(peer);
        }
    }

    /// gossipsub's application score of `peer`: its sync faults
    /// ([`sync::SYNC_FAULT_SCORE`]), plus [`gossip::UNPROVEN_SCORE`] while its gossip is
    /// shut.
    fn set_app_score(&mut self, peer: PeerId) {
        let faults = self.conduct.faults(&peer);
        self.set_app_score_with(peer, faults);
    }

    /// Sets `peer`'s application score for `faults` invalid sync entries.
    fn set_app_score_with(&mut self, peer: PeerId, faults: u32) {
        let mut score = -f64::from(faults) * sync::SYNC_FAULT_SCORE;
        if self.gated.contains(&peer) {
            score += gossip::UNPROVEN_SCORE;
        }
        self.swarm
            .behaviour_mut()
            .gossip
            .set_application_score(&peer, score);
    }

    /// gossipsub's score of `peer` without the shut gate's part: what the peer did.
    fn conduct_score(&self, peer: &PeerId) -> Option<f64> {
        let score = self.swarm.behaviour().gossip.peer_score(peer)?;
        Some(if self.gated.contains(peer) {
            score - gossip::unproven_penalty()
        } else {
            score
        })
    }

    /// Re-queues the outbox left by the last run.
    fn restore_outbox(&mut self) -> Result<(), NetError> {
        let Some(store) = self.results.clone() else {
            return Ok(());
        };
        for (coop, submission, juror) in store.outbox()? {
            let to = match juror {
                Some(j) => Ok(j),
                None => self
                    .coops
                    .get(&coop)
                    .ok_or(NetError::UnknownCoop(coop))
                    .and_then(|c| {
                        c.get(&submission)?
                            .ok_or(NetError::Result(Refusal::UnknownSubmission))
                    })
                    .and_then(|v| self.requester_of(&coop, &v))
                    .map(|r| self.identity(&coop, &r)),
            };
            match to {
                Ok(to) => self.queue((coop, submission, juror), to),
                Err(e) => {
                    warn!(submission = %submission.short(), error = %e, "dropping a queued result");
                    store.dequeue(&coop, &submission, juror.as_ref())?;
                }
            }
        }
        if !self.outbox.is_empty() {
            info!(results = self.outbox.len(), "results to deliver");
        }
        Ok(())
    }

    /// Puts a delivery in the outbox (once), due now.
    fn queue(&mut self, key: Delivery, to: PublicKey) {
        let peer = self.bindings.get(&to).map(|(p, _)| *p);
        self.outbox.entry(key).or_insert(Outbound {
            to,
            peer,
            attempt: 0,
            due: Instant::now(),
            in_flight: false,
        });
    }

    /// See [`Network::send_result`].
    fn send_result(&mut self, coop: Id, submission: Id, bytes: &[u8]) -> Result<(), NetError> {
        let store = self.results.clone().ok_or(NetError::NoResultsDir)?;
        let sub = self
            .coop(&coop)?
            .get(&submission)?
            .ok_or(NetError::Result(Refusal::UnknownSubmission))?;
        result::check(&sub, bytes)?;
        let requester = self.requester_of(&coop, &sub)?;
        let requester = self.identity(&coop, &requester);
        let key = (coop, submission, None);
        if !self.outbox.contains_key(&key) && self.outbox.len() >= result::MAX_OUTBOX {
            return Err(NetError::OutboxFull(self.outbox.len()));
        }
        store.write(&coop, &submission, bytes)?;
        let me = self.member_key();
        if me.is_some_and(|me| self.identity(&coop, &me) == requester) {
            // This node is the requester's: the result is where it belongs.
            self.emit(Event::ResultDelivered {
                coop,
                submission,
                to: *self.swarm.local_peer_id(),
                juror: None,
            });
            return Ok(());
        }
        store.enqueue(&coop, &submission, None)?;
        self.queue(key, requester);
        self.try_deliver(key);
        Ok(())
    }

    /// Queues the result of every appeal this node's member made for the jurors holding
    /// an open seat on its jury whose node has not stored it yet (protocol.md 13.7). A
    /// jury sits only once the witness slack after the appeal has passed, and a seat
    /// that lapses passes to the next member of the ranking, so this looks again at
    /// every tick. A juror's node that refused (its ledger did not seat it yet) is asked
    /// again with the outbox's backoff.
    fn jurors_due(&mut self) {
        let (Some(me), Some(store)) = (self.member_key(), self.results.clone()) else {
            return;
        };
        let now = self.now();
        let coops: Vec<Id> = self.coops.keys().copied().collect();
        for coop in coops {
            let Ok(st) = self.state(&coop) else {
                continue;
            };
            let mine = self.identity(&coop, &me);
            // Appeals are rare and listing them folds every submission: only when this
            // member made one.
            let appellants: Vec<PublicKey> = st
                .ids(taawun_core::Kind::Appeal)
                .filter_map(|id| st.get(id))
                .map(|v| v.entry().author)
                .collect();
            if !appellants.iter().any(|a| self.identity(&coop, a) == mine) {
                continue;
            }
            for a in st.appeals(now) {
                if a.appellant != mine || !store.contains(&coop, &a.submission) {
                    continue;
                }
                let open = a
                    .seats
                    .iter()
                    .filter(|s| s.state == taawun_core::appeal::SeatState::Open);
                for seat in open {
                    let key = (coop, a.submission, Some(seat.member));
                    if self.outbox.contains_key(&key)
                        || store.was_sent(&coop, &a.submission, &seat.member)
                    {
                        continue;
                    }
                    if self.outbox.len() >= result::MAX_OUTBOX {
                        warn!("outbox full: a juror's result waits");
                        return;
                    }
                    if let Err(e) = store.enqueue(&coop, &a.submission, Some(&seat.member)) {
                        warn!(error = %e, "cannot queue a result for a juror");
                        continue;
                    }
                    info!(submission = %a.submission.short(), juror = %seat.member.short(), "result queued for a juror");
                    self.queue(key, seat.member);
                    self.try_deliver(key);
                }
            }
        }
    }

    /// `peer` proved it holds `member`: results for that member (or the one its device
    /// key speaks for) are due now, to it, with a fresh backoff.
    fn peer_is_back(&mut self, peer: PeerId, member: PublicKey) {
        let now = Instant::now();
        let keys: Vec<Delivery> = self.outbox.keys().copied().collect();
        for key in keys {
            let Some(to) = self.outbox.get(&key).map(|o| o.to) else {
                continue;
            };
            if to != member && self.speaks_for(&key.0, &member) != Some(to) {
                continue;
            }
            if let Some(o) = self.outbox.get_mut(&key) {
                o.peer = Some(peer);
                o.attempt = 0;
                o.due = now;
            }
        }
        self.retry_due();
    }

    /// A connected peer proven to hold `to` or a live device key of it in `coop`,
    /// preferring the one it was last seen on.
    fn node_of(&mut self, coop: &Id, to: &PublicKey, last: Option<PeerId>) -> Option<PeerId> {
        let mut candidates: Vec<(PeerId, PublicKey)> =
            self.proven.iter().map(|(p, x)| (*p, x.key)).collect();
        // The last one first, then in a fixed order.
        candidates.sort_by_key(|(p, _)| (Some(*p) != last, *p));
        candidates
            .into_iter()
            .find(|(_, key)| self.speaks_for(coop, key) == Some(*to))
            .map(|(p, _)| p)
    }

    /// Sends every result whose retry is due.
    fn retry_due(&mut self) {
        let now = Instant::now();
        let due: Vec<Delivery> = self
            .outbox
            .iter()
            .filter(|(_, o)| !o.in_flight && o.due <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in due {
            self.try_deliver(k);
        }
    }

    /// One delivery attempt: the bytes are read from the results folder.
    fn try_deliver(&mut self, key: Delivery) {
        let Some(store) = self.results.clone() else {
            return;
        };
        let (coop, submission, juror) = key;
        match self.outbox.get(&key) {
            Some(o) if !o.in_flight => {}
            _ => return,
        }
        let bytes = match store.read(&coop, &submission) {
            Ok(Some(b)) => b,
            Ok(None) => {
                warn!(submission = %submission.short(), "queued result gone from the results folder");
                self.outbox.remove(&key);
                let _ = store.dequeue(&coop, &submission, juror.as_ref());
                return;
            }
            Err(e) => {
                warn!(submission = %submission.short(), error = %e, "cannot read a queued result");
                self.reschedule(key);
                return;
            }
        };
        let Some((to, last)) = self.outbox.get(&key).map(|o| (o.to, o.peer)) else {
            return;
        };
        let Some(peer) = self.node_of(&coop, &to, last) else {
            // No connected peer has proven the recipient's key: dial the node last proven
            // to hold it (or ask the DHT where it is), and try again later.
            if let Some(p) = last.filter(|p| !self.swarm.is_connected(p)) {
                if self.swarm.dial(p).is_err() {
                    self.swarm.behaviour_mut().kad.get_closest_peers(p);
                }
            }
            self.reschedule(key);
            return;
        };
        // A juror also gets the key to the rejection's reason, sealed to the parties only.
        let reason = juror.and_then(|_| self.disclosure(&coop, &submission));
        let Some(o) = self.outbox.get_mut(&key) else {
            return;
        };
        o.in_flight = true;
        o.peer = Some(peer);
        let id = self.swarm.behaviour_mut().results.send_request(
            &peer,
            result::Request {
                coop,
                submission,
                bytes: ByteBuf::from(bytes),
                reason,
            },
        );
        self.result_requests.insert(id, key);
    }

    /// The content key of the reason of the rejection of `submission` that counts (the
    /// one an appeal names), opened with this node's key: `None` when there is none or
    /// this node's key is not among its recipients (a device enrolled after it).
    fn disclosure(&mut self, coop: &Id, submission: &Id) -> Option<result::Disclosed> {
        let st = self.state(coop).ok()?;
        let rejection = st.rejection(submission, self.now())?;
        let Body::Reject(r) = &st.get(&rejection)?.entry().body else {
            return None;
        };
        let key = r.reason.content_key(self.member.as_ref()?).ok()?;
        Some(result::Disclosed { rejection, key })
    }

    /// An attempt failed in a way that may heal: wait [`result::backoff`].
    fn reschedule(&mut self, key: Delivery) {
        if let Some(o) = self.outbox.get_mut(&key) {
            o.in_flight = false;
            o.due = Instant::now() + result::backoff(o.attempt);
            o.attempt = o.attempt.saturating_add(1);
        }
    }

    /// A delivery ended (stored, or refused for good): out of the outbox.
    fn finish(&mut self, key: Delivery, outcome: Result<PeerId, Refusal>) {
        let (coop, submission, juror) = key;
        self.outbox.remove(&key);
        if let Some(store) = &self.results {
            if let Err(e) = store.dequeue(&coop, &submission, juror.as_ref()) {
                warn!(error = %e, "cannot unmark a result");
            }
            if let (Ok(_), Some(j)) = (&outcome, &juror) {
                if let Err(e) = store.sent(&coop, &submission, j) {
                    warn!(error = %e, "cannot mark a result delivered to a juror");
                }
            }
        }
        match outcome {
            Ok(to) => {
                info!(submission = %submission.short(), peer = %to, juror = juror.is_some(), "result delivered");
                self.emit(Event::ResultDelivered {
                    coop,
                    submission,
                    to,
                    juror,
                });
            }
            Err(refusal) => {
                warn!(submission = %submission.short(), %refusal, juror = juror.is_some(), "result refused");
                self.emit(Event::ResultRefused {
                    coop,
                    submission,
                    juror,
                    refusal,
                });
            }
        }
    }

    fn on_results(&mut self, ev: request_response::Event<result::Request, result::Response>) {
        use request_response::{Event as E, Message as M, OutboundFailure};
        match ev {
            E::Message {
                peer,
                message: M::Request {
                    request, channel, ..
                },
                ..
            } => {
                let response = self.receive_result(peer, request);
                if self
                    .swarm
                    .behaviour_mut()
                    .results
                    .send_response(channel, response)
                    .is_err()
                {
                    debug!(%peer, "result sender went away");
                }
            }
            E::Message {
                peer,
                message:
                    M::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some(key) = self.result_requests.remove(&request_id) else {
                    return;
                };
                match response {
                    result::Response::Stored => self.finish(key, Ok(peer)),
                    result::Response::Refused(r) if r.retry() => {
                        debug!(%peer, refusal = %r, "result not taken yet; retrying");
                        self.reschedule(key);
                    }
                    result::Response::Refused(r) => self.finish(key, Err(r)),
                }
            }
            E::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                let Some(key) = self.result_requests.remove(&request_id) else {
                    return;
                };
                debug!(%peer, %error, "result delivery failed; retrying");
                if matches!(error, OutboundFailure::DialFailure) {
                    // No known address works: ask the DHT where the requester is now.
                    self.swarm.behaviour_mut().kad.get_closest_peers(peer);
                }
                self.reschedule(key);
            }
            E::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "receiving a result failed");
            }
            E::ResponseSent { .. } => {}
        }
    }

    /// Checks a result against the `Submit` entry this node holds and stores it.
    fn receive_result(&mut self, peer: PeerId, req: result::Request) -> result::Response {
        use result::Response::{Refused, Stored};
        let result::Request {
            coop,
            submission,
            bytes,
            reason,
        } = req;
        let Some(store) = self.results.clone() else {
            return Refused(Refusal::Unavailable);
        };
        if !self.admitted(&peer, &coop) {
            // A stranger learns nothing: as from a node without the cooperative.
            return Refused(Refusal::UnknownCoop);
        }
        let Some(c) = self.coops.get(&coop) else {
            return Refused(Refusal::UnknownCoop);
        };
        let sub = match c.get(&submission) {
            Ok(Some(v)) => v,
            Ok(None) => {
                // Gossip may not have brought it yet: ask the sender, who holds it.
                self.start_sync(peer, coop);
                return Refused(Refusal::UnknownSubmission);
            }
            Err(e) => {
                warn!(error = %e, "cannot read a submission");
                return Refused(Refusal::Unavailable);
            }
        };
        if let Err(r) = result::check(&sub, &bytes) {
            info!(%peer, submission = %submission.short(), refusal = %r, "result refused");
            return Refused(r);
        }
        if !self.recipient(&peer, &coop, &sub) {
            info!(%peer, submission = %submission.short(), "result refused: not for this node");
            // A juror's node may not have the entries that seat it yet: the sender has.
            self.start_sync(peer, coop);
            return Refused(Refusal::NotRecipient);
        }
        // A key to the rejection's reason is kept only once it opens it (protocol.md 13.7).
        if let Some(d) = reason {
            let held = self.coops.get(&coop).map(|c| c.get(&d.rejection));
            let rejection = match held {
                Some(Ok(Some(v))) => v,
                None | Some(Ok(None)) => {
                    self.start_sync(peer, coop);
                    return Refused(Refusal::UnknownSubmission);
                }
                Some(Err(e)) => {
                    warn!(error = %e, "cannot read a rejection");
                    return Refused(Refusal::Unavailable);
                }
            };
            if let Err(r) = result::check_reason(&rejection, &submission, &d.key) {
                warn!(%peer, submission = %submission.short(), refusal = %r, "result refused");
                return Refused(r);
            }
            if let Err(e) = store.write_key(&coop, &d.rejection, &d.key) {
                warn!(error = %e, "cannot store a reason's key");
                return Refused(Refusal::Unavailable);
            }
        }
        if store.contains(&coop, &submission) {
            return Stored;
        }
        if let Err(e) = store.write(&coop, &submission, &bytes) {
            warn!(error = %e, "cannot store a result");
            return Refused(Refusal::Unavailable);
        }
        info!(%peer, submission = %submission.short(), size = bytes.len(), "result received");
        self.emit(Event::ResultReceived {
            coop,
            submission,
            from: peer,
        });
        Stored
    }

    /// Whether this node may take the result of `sub` from `peer` (protocol.md 13.7):
    /// it speaks for the requester (its key, or a live device key of it), or for a
    /// juror seated (now or before) on an appeal of the submission, and then only from a
    /// peer that speaks for the member who submitted it.
    fn recipient(&mut self, peer: &PeerId, coop: &Id, sub: &Verified) -> bool {
        let Some(me) = self.member_key().and_then(|k| self.speaks_for(coop, &k)) else {
            return false;
        };
        let Ok(requester) = self.requester_of(coop, sub) else {
            return false;
        };
        if self.identity(coop, &requester) == me {
            return true;
        }
        let worker = self.identity(coop, &sub.entry().author);
        let Some(sender) = self.proven.get(peer).map(|p| p.key) else {
            return false;
        };
        if self.speaks_for(coop, &sender) != Some(worker) {
            return false;
        }
        let Ok(st) = self.state(coop) else {
            return false;
        };
        st.appeals(self.now())
            .iter()
            .any(|a| a.submission == sub.id() && a.seats.iter().any(|s| s.member == me))
    }

    fn local_heads(&self, coop: &Id) -> Result<Vec<WireHead>, NetError> {
        let c = self.coops.get(coop).ok_or(NetError::UnknownCoop(*coop))?;
        Ok(exchange::heads(c)?)
    }

    /// Whether `peer` refused the sync protocol on its current connections.
    fn lacks_sync(&self, peer: &PeerId) -> bool {
        self.peer_sync.get(peer).is_some_and(|s| s.unsupported)
    }

    /// Sends a sync request to `peer`, counting it (see [`PeerSync::requests`]).
    fn send_sync(&mut self, peer: PeerId, request: Request) -> OutboundRequestId {
        if let Some(s) = self.peer_sync.get_mut(&peer) {
            s.requests = s.requests.saturating_add(1);
        }
        self.swarm.behaviour_mut().sync.send_request(&peer, request)
    }

    /// Starts a sync session with `peer` for `coop` unless one runs, too many do, or the
    /// peer does not speak the sync protocol.
    fn start_sync(&mut self, peer: PeerId, coop: Id) {
        if !self.sessions.can_start(peer, coop)
            || self.lacks_sync(&peer)
            || !self.names(&peer, &coop)
        {
            return;
        }
        let heads = match self.local_heads(&coop) {
            Ok(h) => h,
            Err(e) => {
                warn!(error = %e, "cannot read heads for sync");
                return;
            }
        };
        let out = self.sessions.start(peer, coop, &heads);
        self.carry_out(out);
    }

    /// Does what the sync sessions ask: send requests, report the sessions that ended.
    fn carry_out(&mut self, out: Vec<session::Output<PeerId>>) {
        for o in out {
            match o {
                session::Output::Send { peer, request, tag } => {
                    let id = self.send_sync(peer, request);
                    self.requests.insert(id, tag);
                }
                session::Output::Ended {
                    peer,
                    coop,
                    stored,
                    own_remote,
                } => self.session_ended(peer, coop, stored, own_remote),
            }
        }
    }

    fn on_sync(&mut self, ev: request_response::Event<Request, Response>) {
        use request_response::{Event as E, Message as M};
        match ev {
            E::Message {
                peer,
                message: M::Request {
                    request, channel, ..
                },
                ..
            } => self.serve(peer, request, channel),
            E::Message {
                peer,
                message:
                    M::Response {
                        request_id,
                        response,
                    },
                ..
            } => match self.requests.remove(&request_id) {
                Some(Outgoing::Heads { coop, .. }) => self.on_heads(peer, coop, response),
                Some(Outgoing::Range { coop, .. }) => self.on_range(peer, coop, response),
                Some(Outgoing::Log { coop, from }) => self.on_log(peer, coop, from, response),
                None => debug!(%peer, "response to an unknown request"),
            },
            E::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(tag) = self.requests.remove(&request_id) {
                    let coop = tag.coop();
                    debug!(%peer, error = %error, "sync request failed");
                    if matches!(
                        error,
                        request_response::OutboundFailure::UnsupportedProtocols
                    ) {
                        self.sync_unsupported(peer);
                    }
                    let out = self.sessions.failed(peer, coop);
                    self.carry_out(out);
                }
            }
            E::InboundFailure { peer, error, .. } => {
                debug!(%peer, error = %error, "serving sync failed");
            }
            E::ResponseSent { .. } => {}
        }
    }

    /// `peer` does not speak the sync protocol: it is not asked again while connected.
    fn sync_unsupported(&mut self, peer: PeerId) {
        let Some(s) = self.peer_sync.get_mut(&peer) else {
            return;
        };
        if !s.unsupported {
            s.unsupported = true;
            info!(%peer, protocol = sync::PROTOCOL, "peer does not speak sync; not asking it again while connected");
            self.emit(Event::SyncUnsupported(peer));
        }
    }

    /// Answers a peer's sync request from the ledger; a peer not admitted to the
    /// cooperative hears `UnknownCoop`, as from a node without it.
    fn serve(&mut self, peer: PeerId, request: Request, channel: ResponseChannel<Response>) {
        let coop = match &request {
            Request::Heads { coop, .. }
            | Request::Range { coop, .. }
            | Request::Log { coop, .. } => *coop,
        };
        if !self.admitted(&peer, &coop) {
            debug!(%peer, coop = %coop.short(), "sync request from a peer not admitted");
            if self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, Response::UnknownCoop)
                .is_err()
            {
                debug!(%peer, "sync requester went away");
            }
            return;
        }
        let response = exchange::answer(self.coops.get(&coop), request);
        if self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, response)
            .is_err()
        {
            debug!(%peer, "sync requester went away");
        }
    }

    fn on_heads(&mut self, peer: PeerId, coop: Id, response: Response) {
        let out = match response {
            Response::Heads(Some(remote)) => match self.local_heads(&coop) {
                Ok(local) => {
                    let me = self.member_key();
                    let missing = sync::missing(&local, &remote);
                    if missing > sync::CATCH_UP_THRESHOLD {
                        debug!(%peer, coop = %coop.short(), missing, "catching up in log order");
                    }
                    self.sessions.heads_differ(peer, coop, &local, &remote, me)
                }
                Err(_) => self.sessions.answered(peer, coop),
            },
            Response::Heads(None) => self.sessions.heads_equal(peer, coop),
            Response::UnknownCoop | Response::Unavailable => self.sessions.answered(peer, coop),
            Response::Range { .. } | Response::Log { .. } => {
                debug!(%peer, "heads answered with entries");
                self.sessions.answered(peer, coop)
            }
        };
        self.carry_out(out);
    }

    fn on_range(&mut self, peer: PeerId, coop: Id, response: Response) {
        let out = match response {
            Response::Range { entries, more } => {
                let batch = self.ingest_batch(peer, coop, &entries);
                self.sessions.range(peer, coop, batch, more)
            }
            _ => self.sessions.answered(peer, coop),
        };
        self.carry_out(out);
    }

    /// A log response to a [`Request::Log`] from `from`: ingest it; the session decides
    /// whether to ask for the next batch.
    fn on_log(&mut self, peer: PeerId, coop: Id, from: u64, response: Response) {
        let out = match response {
            Response::Log {
                entries,
                next,
                more,
            } => {
                let batch = self.ingest_batch(peer, coop, &entries);
                let expected = from.saturating_add(entries.len() as u64);
                if next != expected {
                    debug!(%peer, next, expected, "log response with a wrong next position");
                }
                let answer = LogAnswer {
                    from,
                    count: entries.len(),
                    next,
                    more,
                };
                self.sessions.log(peer, coop, answer, batch)
            }
            _ => self.sessions.answered(peer, coop),
        };
        self.carry_out(out);
    }

    /// Decodes, verifies and ingests a batch of envelopes from `peer` (in order, stopping
    /// at the first that does not decode or verify), emitting the events. Returns what
    /// the sync session needs of it.
    fn ingest_batch(&mut self, peer: PeerId, coop: Id, entries: &[ByteBuf]) -> Ingested {
        let now = Some(self.now());
        let batch = exchange::ingest_batch(self.coops.get_mut(&coop), entries, now);
        if let Some(e) = &batch.error {
            warn!(%peer, error = %e, "sync response taken in part");
        }
        let mut stored = 0;
        for o in &batch.outcomes {
            stored += self.on_ingested(coop, o, Via::Sync, None);
        }
        if batch.faults > 0 {
            self.sync_fault(peer, batch.faults);
        }
        Ingested {
            stored,
            ..batch.ingested
        }
    }

    /// `peer` sent `faults` invalid entries in a sync response: lower its gossip score,
    /// block it past [`sync::MAX_SYNC_FAULTS`].
    fn sync_fault(&mut self, peer: PeerId, faults: u32) {
        let swarm = &self.swarm;
        let f = self
            .conduct
            .sync_fault(peer, faults, |p| swarm.is_connected(p));
        info!(%peer, faults = f.total, "invalid entries in sync responses");
        self.set_app_score_with(peer, f.total);
        if f.blocked {
            warn!(%peer, "blocking a peer that keeps sending invalid entries");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
        } else {
            self.drop_if_graylisted(peer);
        }
    }

    /// Fetches `author`'s chain from `from` on from `peer`: one range request, in the
    /// session with that peer (started for it if none runs).
    fn fetch_range(&mut self, peer: PeerId, coop: Id, author: PublicKey, from: u64) {
        if self.lacks_sync(&peer) || !self.names(&peer, &coop) {
            return;
        }
        let out = self.sessions.fetch(peer, coop, author, from);
        self.carry_out(out);
    }

    fn session_ended(&mut self, peer: PeerId, coop: Id, stored: usize, own_remote: Option<u64>) {
        debug!(%peer, coop = %coop.short(), stored, "sync session done");
        if let Some(remote) = own_remote {
            self.confirm(peer, coop, remote);
        }
        self.emit(Event::Synced { peer, coop, stored });
        // Something new may have made more fetchable (released entries, new heads):
        // go round again until a session stores nothing.
        if stored > 0 && self.swarm.is_connected(&peer) {
            self.start_sync(peer, coop);
        }
    }
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("peer", self.swarm.local_peer_id())
            .field("coops", &self.coops.keys().collect::<Vec<_>>())
            .field("sessions", &self.sessions.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_core::Invalid;

    fn ids() -> (Id, Id, Id) {
        (Id([1; 32]), Id([2; 32]), Id([3; 32]))
    }

    #[test]
    fn a_stored_entry_is_reported_by_its_path_then_what_it_released() {
        let (id, r1, r2) = ids();
        let outcome = Ingest::Stored {
            id,
            released: vec![r1, r2],
        };
        for via in [Via::Local, Via::Gossip, Via::Sync] {
            let got = reactions(&outcome, via);
            assert_eq!(
                got,
                vec![
                    Reaction::Stored { id, via },
                    Reaction::Stored {
                        id: r1,
                        via: Via::Released
                    },
                    Reaction::Stored {
                        id: r2,
                        via: Via::Released
                    },
                ]
            );
            let stored = got
                .iter()
                .filter(|r| matches!(r, Reaction::Stored { .. }))
                .count();
            assert_eq!(stored, outcome.stored_count());
        }
    }

    #[test]
    fn an_equivocation_is_reported_before_what_its_second_entry_released() {
        let (existing, r1, _) = ids();
        let evidence = Evidence {
            a: vec![1],
            b: vec![2],
        };
        let outcome = Ingest::Equivocation {
            existing,
            evidence: evidence.clone(),
            released: vec![r1],
        };
        let got = reactions(&outcome, Via::Sync);
        assert_eq!(
            got,
            vec![
                Reaction::Equivocation { existing, evidence },
                Reaction::Stored {
                    id: r1,
                    via: Via::Released
                },
            ]
        );
        assert_eq!(outcome.stored_count(), 1);
    }

    #[test]
    fn nothing_stored_is_nothing_reported() {
        let (id, _, _) = ids();
        for outcome in [
            Ingest::Duplicate,
            Ingest::Pending(Missing::Dependency(id)),
            Ingest::Rejected(Invalid::SeqZero),
        ] {
            assert_eq!(reactions(&outcome, Via::Gossip), vec![]);
        }
    }
}
