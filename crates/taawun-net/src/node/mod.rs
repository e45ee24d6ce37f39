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
//! A node keeps the connections it chose (bootstrap peers, relays, mDNS finds, peers
//! dialed by [`Network::dial`]) and those others open to it, within
//! [`crate::config::MAX_CONNECTIONS`]. Its routing table holds only the peers it chose
//! and peers that serve the DHT, and when the node has fewer than
//! [`crate::config::MIN_PEERS`] peers it asks the DHT for more at each sync interval and
//! dials a few ([`crate::config::DIAL_BATCH`]). Kademlia's lookups still dial the peers
//! they walk through, so a node with more than [`crate::peering::PEER_TARGET`] peers
//! closes, once a second, the connections beyond it that need not stay (not in a gossip
//! mesh, not chosen, not a waiting result's recipient) and had
//! [`crate::peering::PRUNE_GRACE`] to become needed ([`crate::peering`]). Each sync round
//! asks a few peers in turn ([`crate::config::SYNC_PEERS_PER_ROUND`]).
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

mod command;
mod event;
mod task;

pub use event::{reactions, Event, PeerSync, Reaction, Via, Writing};

use crate::behaviour::Behaviour;
pub use crate::config::MAX_CHOSEN_PEERS;
use crate::config::{NetConfig, COMMAND_CAPACITY, EVENT_CAPACITY};
use crate::error::NetError;
#[cfg(doc)]
use crate::gossip;
use crate::result;
use command::{Command, Reply};
use ed25519_dalek::SigningKey;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use taawun_core::body::{Body, Evidence, Submit};
use taawun_core::fold::Coop;
use taawun_core::validate::Head;
use taawun_core::{Id, PublicKey, Verified};
#[cfg(doc)]
use taawun_ledger::CoopLedger;
use taawun_ledger::{Ingest, Ledger};
use task::{Relay, Task};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::warn;

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
        let (results, join) =
            Task::spawn(swarm, ledger, member, relays, events_tx, commands, config)?;
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
    /// validated, stored, flushed) and gossips it; answers once the entry is on disk and
    /// gossiped (the flush runs off the network task). With [`NetConfig::confirm_own_chain`],
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
    /// The task fixes the export's extent ([`taawun_ledger::CoopLedger::snapshot`]) and
    /// writes it on tokio's blocking pool, so the network goes on meanwhile; entries
    /// stored after the call are not in it.
    pub async fn export(&self, coop: Id) -> Result<Vec<u8>, NetError> {
        self.call(|r| Command::Export(coop, r)).await
    }

    /// A member submits a result: keeps the bytes ([`Network::stage_result`]), signs
    /// `submit` as `key`'s next entry ([`Network::append`]), then queues the bytes for the
    /// requester's node ([`Network::send_result`]). A member submits once per offer, so a
    /// signed submission whose bytes were lost could never be made good: kept first, the
    /// bytes of a submission signed just before the node stopped are queued when it starts
    /// again. Bytes kept for an entry that was never signed are dropped.
    pub async fn submit(
        &self,
        coop: Id,
        key: SigningKey,
        submit: Submit,
        bytes: Vec<u8>,
    ) -> Result<Verified, NetError> {
        let offer = submit.offer;
        self.stage_result(coop, offer, bytes.clone()).await?;
        let v = match self.append(coop, key, Body::Submit(submit), None).await {
            Ok(v) => v,
            Err(e) => {
                self.unstage_result(coop, offer).await;
                return Err(e);
            }
        };
        self.send_result(coop, v.id(), bytes).await?;
        Ok(v)
    }

    /// Keeps the result a member is about to submit for `offer`, synced to disk, before
    /// its `Submit` entry is signed (the first step of [`Network::submit`], for a node
    /// that signs or ingests the entry itself). Once [`Network::send_result`] has the
    /// submission's bytes, or when the node starts again, the kept bytes are dropped.
    pub async fn stage_result(&self, coop: Id, offer: Id, bytes: Vec<u8>) -> Result<(), NetError> {
        let store = self.results.clone().ok_or(NetError::NoResultsDir)?;
        tokio::task::spawn_blocking(move || store.stage(&coop, &offer, &bytes))
            .await
            .map_err(|_| NetError::Stopped)?
            .map_err(NetError::from)
    }

    /// Drops what [`Network::stage_result`] kept for `offer` when the entry was not
    /// signed after all (a failure is only logged: the node drops it when it starts).
    async fn unstage_result(&self, coop: Id, offer: Id) {
        let Some(store) = self.results.clone() else {
            return;
        };
        match tokio::task::spawn_blocking(move || store.unstage(&coop, &offer)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(error = %e, "cannot drop a result kept for an unsigned submission"),
            Err(_) => {}
        }
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

/// Gossip messages judged together at most: when more are waiting, the task verifies
/// their signatures as batches of this many (see the network task's loop: it takes every event
/// already waiting before judging what arrived).
pub const GOSSIP_BURST: usize = 64;

/// Evidence entries a node authors at most per run (one per fork it sees, each naming
/// (cooperative, author, seq)). Forks are rare, and every fork freezes its author, but a
/// frozen author could still sign forks at every earlier seq: past this many, the node
/// only reports them. The ledger keeps the evidence either way.
pub const MAX_EVIDENCE_AUTHORED: usize = 4096;

/// How often, at most, a node proves its member key again to a peer that holds a
/// cooperative (it named it in its proof) and answers this node's sync requests for it
/// with `UnknownCoop`: the peer no longer admits this node, because another node proved
/// the same key since (a stolen key; the latest proof holds it, docs/protocol.md 13.10)
/// or because the member lost its role. Proving again takes the key's place back in the
/// first case and costs a hello in the second.
pub const REPROVE_EVERY: Duration = Duration::from_secs(10);

/// How long the roles of a cooperative (its timeline of rules) read for admission are
/// kept before they are read again from a ledger that grew by entries that change no
/// role. An entry that may change them (`taawun_core::Kind::changes_roles`, or a fork)
/// has them read again soon (at once for a peer proving a key or a result to hand);
/// reading them costs a pass over the ledger, so not at every request.
pub const ROLES_REFRESH: Duration = Duration::from_secs(1);

/// Member keys whose node this node remembers (learned by hello, see [`crate::hello`]),
/// to find a requester's node again for a result. Past it, the oldest binding goes.
pub const MAX_BINDINGS: usize = 1024;
