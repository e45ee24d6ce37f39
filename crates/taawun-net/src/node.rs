//! The network task and its handle.
//!
//! [`Network::spawn`] builds the Swarm and starts one tokio task that owns it together
//! with the node's [`Ledger`] and every open [`CoopLedger`]. The rest of the node holds a
//! cloneable [`Network`] whose methods send a command over a bounded channel
//! ([`COMMAND_CAPACITY`]) and await a `oneshot` reply, and reads [`Event`]s from a bounded
//! channel ([`EVENT_CAPACITY`]) that the task never waits on.

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::config::{NetConfig, COMMAND_CAPACITY, EVENT_CAPACITY};
use crate::error::NetError;
use crate::gossip::{self, Judged, Verdict};
use crate::sync::{self, Request, Response, WireHead};
use ed25519_dalek::SigningKey;
use futures::StreamExt;
use libp2p::gossipsub::{self, MessageId, TopicHash};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{identify, kad, mdns, noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use serde_bytes::ByteBuf;
use std::collections::{BTreeMap, HashMap, VecDeque};
use taawun_core::body::{Body, Evidence};
use taawun_core::entry::{self, Unverified};
use taawun_core::fold::Coop;
use taawun_core::validate::Head;
use taawun_core::{Id, PublicKey, Verified};
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
    /// A sync session with a peer ended.
    Synced {
        /// The peer.
        peer: PeerId,
        /// The cooperative.
        coop: Id,
        /// Entries stored by the session.
        stored: usize,
    },
}

/// A command to the task.
#[derive(Debug)]
enum Command {
    Dial(Multiaddr, Reply<()>),
    Listeners(Reply<Vec<Multiaddr>>),
    Peers(Reply<Vec<PeerId>>),
    Join(Box<Verified>, Reply<Id>),
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
    State(Id, Reply<Coop>),
    Block(PeerId, Reply<()>),
    Unblock(PeerId, Reply<()>),
    Score(PeerId, Reply<Option<f64>>),
    Sync(Reply<()>),
    Shutdown(oneshot::Sender<()>),
}

/// The handle to the network task. Cheap to clone; every method is one command and one
/// reply.
#[derive(Debug, Clone)]
pub struct Network {
    tx: mpsc::Sender<Command>,
    peer: PeerId,
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
        let peer = key.public().to_peer_id();
        let behaviour = Behaviour::new(&key, &config)?;
        let idle = config.idle_timeout;
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| NetError::Build(e.to_string()))?
            .with_behaviour(|_| behaviour)
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
            topics: HashMap::new(),
            events: events_tx,
            dropped_events: 0,
            sessions: HashMap::new(),
            requests: HashMap::new(),
            config,
        };
        for coop in task.ledger.coops()? {
            let c = task.ledger.coop(&coop)?;
            task.open(c)?;
        }
        for addr in task.config.bootstrap.clone() {
            if let Err(e) = task.swarm.dial(addr.clone()) {
                warn!(%addr, error = %e, "bootstrap dial failed");
            }
        }
        let span = tracing::info_span!("net", peer = %peer);
        let join = tokio::spawn(tracing::Instrument::instrument(task.run(commands), span));
        Ok((Self { tx, peer }, events, join))
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

    /// Writes `body` as `key`'s next entry in `coop` (stamped with the configured clock,
    /// validated, stored, flushed) and gossips it.
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

    /// The folded state of a cooperative.
    pub async fn state(&self, coop: Id) -> Result<Coop, NetError> {
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

    /// Starts a sync round with every connected peer now.
    pub async fn sync(&self) -> Result<(), NetError> {
        self.call(Command::Sync).await
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

/// A sync session with one peer for one cooperative (see [`crate::sync`]).
#[derive(Debug, Default)]
struct Session {
    /// Ranges still to ask for: (author, from seq).
    queue: VecDeque<(PublicKey, u64)>,
    /// Requests sent and not answered.
    in_flight: usize,
    /// Entries stored so far.
    stored: usize,
}

/// What an outstanding sync request was.
#[derive(Debug, Clone, Copy)]
enum Outgoing {
    Heads { coop: Id },
    Range { coop: Id },
}

/// The task owning the Swarm and the ledgers.
struct Task {
    swarm: Swarm<Behaviour>,
    ledger: Ledger,
    coops: BTreeMap<Id, CoopLedger>,
    topics: HashMap<TopicHash, Id>,
    events: mpsc::Sender<Event>,
    /// Events dropped because the node did not keep up.
    dropped_events: u64,
    sessions: HashMap<(PeerId, Id), Session>,
    requests: HashMap<OutboundRequestId, Outgoing>,
    config: NetConfig,
}

impl Task {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(self.config.sync_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let done = loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None => break None,
                    Some(Command::Shutdown(done)) => break Some(done),
                    Some(cmd) => self.command(cmd),
                },
                ev = self.swarm.select_next_some() => self.swarm_event(ev),
                _ = tick.tick() => self.tick(),
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
            Command::Peers(r) => {
                let _ = r.send(Ok(self.swarm.connected_peers().copied().collect()));
            }
            Command::Join(charter, r) => {
                let _ = r.send(self.join(*charter));
            }
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
                let out = self
                    .coop(&coop)
                    .and_then(|c| c.state().map_err(NetError::from));
                let _ = r.send(out);
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
            Command::Sync(r) => {
                self.sync_all();
                let _ = r.send(Ok(()));
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
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for p in peers {
            self.start_sync(p, id);
        }
        Ok(id)
    }

    fn append(
        &mut self,
        coop: Id,
        key: &SigningKey,
        body: Body,
        gov: Option<Id>,
    ) -> Result<Verified, NetError> {
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
            if let Ingest::Stored { id, released } = o {
                self.emit(Event::Stored {
                    coop,
                    id: *id,
                    via: Via::Local,
                });
                if let Some(v) = by_id.get(id) {
                    self.publish(coop, v);
                }
                for r in released {
                    self.emit(Event::Stored {
                        coop,
                        id: *r,
                        via: Via::Released,
                    });
                    if let Some(v) = by_id.get(r) {
                        self.publish(coop, v);
                    }
                }
            }
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
        self.sync_all();
        if self.swarm.connected_peers().next().is_none() {
            for addr in self.config.bootstrap.clone() {
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    debug!(%addr, error = %e, "bootstrap redial failed");
                }
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
                ..
            } if num_established.get() == 1 => {
                debug!(peer = %peer_id, "connected");
                self.emit(Event::PeerConnected(peer_id));
                let coops: Vec<Id> = self.coops.keys().copied().collect();
                for c in coops {
                    self.start_sync(peer_id, c);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                debug!(peer = %peer_id, "disconnected");
                self.sessions.retain(|(p, _), _| *p != peer_id);
                self.emit(Event::PeerDisconnected(peer_id));
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
                    self.start_sync(peer_id, coop);
                }
            }
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                for addr in info.listen_addrs {
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                }
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, addr) in found {
                    if !self.swarm.is_connected(&peer) {
                        self.swarm
                            .behaviour_mut()
                            .kad
                            .add_address(&peer, addr.clone());
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
            _ => {}
        }
    }

    /// The gossip validation pipeline: decode, verify, ingest, report.
    fn on_gossip(&mut self, source: PeerId, msg_id: MessageId, msg: gossipsub::Message) {
        let coop = self.topics.get(&msg.topic).copied();
        let now = Some(self.now());
        let judged = match coop.and_then(|c| self.coops.get_mut(&c)) {
            None => Judged::UnknownTopic,
            Some(ledger) => match Unverified::decode(&msg.data) {
                Err(e) => Judged::Malformed(e),
                Ok(u) => match u.verify() {
                    Err(e) => Judged::BadSignature(e),
                    Ok(v) => match ledger.ingest(v, now) {
                        Ok(i) => Judged::Ingested(i),
                        Err(e) => {
                            warn!(error = %e, "ledger failed on a gossip message");
                            Judged::StoreFailed
                        }
                    },
                },
            },
        };
        let verdict = gossip::verdict(&judged);
        self.swarm
            .behaviour_mut()
            .gossip
            .report_message_validation_result(&msg_id, &source, verdict.into());
        let reason = match &judged {
            Judged::UnknownTopic => "unknown topic".to_string(),
            Judged::Malformed(e) => e.to_string(),
            Judged::BadSignature(e) => e.to_string(),
            Judged::Ingested(Ingest::Rejected(e)) => e.to_string(),
            Judged::Ingested(i) => format!("{i:?}"),
            Judged::StoreFailed => "store failed".to_string(),
        };
        if verdict == Verdict::Reject {
            info!(peer = %source, %reason, "gossip message rejected");
        }
        self.emit(Event::Gossip {
            coop,
            peer: source,
            message: msg_id,
            verdict,
            reason,
        });
        let Some(coop) = coop else { return };
        match judged {
            Judged::Ingested(Ingest::Stored { id, released }) => {
                self.emit(Event::Stored {
                    coop,
                    id,
                    via: Via::Gossip,
                });
                for r in released {
                    self.emit(Event::Stored {
                        coop,
                        id: r,
                        via: Via::Released,
                    });
                }
            }
            Judged::Ingested(Ingest::Pending(missing)) => {
                debug!(?missing, peer = %source, "gossip entry pending; syncing");
                self.start_sync(source, coop);
            }
            Judged::Ingested(Ingest::Equivocation { existing, evidence }) => {
                if let Ok(u) = Unverified::decode(&evidence.b) {
                    let author = u.entry().author;
                    warn!(author = %author.short(), "equivocation");
                    self.emit(Event::Equivocation {
                        coop,
                        author,
                        existing,
                        evidence,
                    });
                }
            }
            _ => {}
        }
    }

    fn local_heads(&self, coop: &Id) -> Result<Vec<WireHead>, NetError> {
        let c = self.coops.get(coop).ok_or(NetError::UnknownCoop(*coop))?;
        Ok(c.heads()?.iter().map(WireHead::from).collect())
    }

    /// Starts a sync session with `peer` for `coop` unless one runs or too many do.
    fn start_sync(&mut self, peer: PeerId, coop: Id) {
        if self.sessions.contains_key(&(peer, coop)) || self.sessions.len() >= sync::MAX_SESSIONS {
            return;
        }
        let heads = match self.local_heads(&coop) {
            Ok(h) => h,
            Err(e) => {
                warn!(error = %e, "cannot read heads for sync");
                return;
            }
        };
        let digest = sync::digest(&heads);
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, Request::Heads { coop, digest });
        self.requests.insert(id, Outgoing::Heads { coop });
        self.sessions.insert(
            (peer, coop),
            Session {
                in_flight: 1,
                ..Session::default()
            },
        );
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
                None => debug!(%peer, "response to an unknown request"),
            },
            E::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(Outgoing::Heads { coop, .. } | Outgoing::Range { coop, .. }) =
                    self.requests.remove(&request_id)
                {
                    debug!(%peer, error = %error, "sync request failed");
                    self.end_session(peer, coop);
                }
            }
            E::InboundFailure { peer, error, .. } => {
                debug!(%peer, error = %error, "serving sync failed");
            }
            E::ResponseSent { .. } => {}
        }
    }

    /// Answers a peer's sync request from the ledger.
    fn serve(&mut self, peer: PeerId, request: Request, channel: ResponseChannel<Response>) {
        let response = match request {
            Request::Heads { coop, digest } => match self.local_heads(&coop) {
                Err(NetError::UnknownCoop(_)) => Response::UnknownCoop,
                Err(e) => {
                    warn!(error = %e, "cannot read heads");
                    Response::Unavailable
                }
                Ok(mut heads) => {
                    if sync::digest(&heads) == digest {
                        Response::Heads(None)
                    } else {
                        heads.truncate(sync::MAX_HEADS);
                        Response::Heads(Some(heads))
                    }
                }
            },
            Request::Range {
                coop,
                author,
                from,
                limit,
            } => match self.coops.get(&coop) {
                None => Response::UnknownCoop,
                Some(c) => {
                    let limit = limit.min(sync::SYNC_BATCH) as usize;
                    match c.range(&author, from, limit) {
                        Err(e) => {
                            warn!(error = %e, "cannot read a range");
                            Response::Unavailable
                        }
                        Ok(found) => {
                            let fetched = found.len();
                            let mut bytes = 0usize;
                            let mut entries = Vec::with_capacity(fetched);
                            for v in found {
                                let env = v.envelope();
                                if !entries.is_empty()
                                    && bytes + env.len() > sync::MAX_RESPONSE_ENTRY_BYTES
                                {
                                    break;
                                }
                                bytes += env.len();
                                entries.push(ByteBuf::from(env));
                            }
                            let more = entries.len() < fetched || fetched == limit;
                            Response::Range { entries, more }
                        }
                    }
                }
            },
        };
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
        let remote = match response {
            Response::Heads(Some(h)) => h,
            Response::Heads(None) | Response::UnknownCoop | Response::Unavailable => {
                return self.range_done(peer, coop);
            }
            Response::Range { .. } => {
                debug!(%peer, "heads answered with a range");
                return self.range_done(peer, coop);
            }
        };
        let local = match self.local_heads(&coop) {
            Ok(h) => h,
            Err(_) => return self.range_done(peer, coop),
        };
        let plan = sync::plan(&local, &remote);
        if let Some(s) = self.sessions.get_mut(&(peer, coop)) {
            s.queue.extend(plan);
        }
        self.range_done(peer, coop);
    }

    fn on_range(&mut self, peer: PeerId, coop: Id, response: Response) {
        let (entries, more) = match response {
            Response::Range { entries, more } => (entries, more),
            _ => return self.range_done(peer, coop),
        };
        let mut decoded = Vec::with_capacity(entries.len());
        for e in &entries {
            match Unverified::decode(e) {
                Ok(u) => decoded.push(u),
                Err(err) => {
                    warn!(%peer, error = %err, "undecodable entry in a sync response");
                    break;
                }
            }
        }
        let next = decoded
            .last()
            .map(|u| (u.entry().author, u.entry().seq.saturating_add(1)));
        let mut verified = Vec::with_capacity(decoded.len());
        for r in entry::verify_batch(decoded) {
            match r {
                Ok(v) => verified.push(v),
                Err(e) => {
                    warn!(%peer, error = %e, "bad signature in a sync response");
                    break;
                }
            }
        }
        let complete = verified.len() == entries.len();
        let now = Some(self.now());
        let outcomes = match self.coops.get_mut(&coop) {
            Some(c) => match c.ingest_many(verified, now) {
                Ok(o) => o,
                Err(e) => {
                    warn!(error = %e, "ledger failed on a sync batch");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let mut stored = 0;
        for o in outcomes {
            if let Ingest::Stored { id, released } = o {
                stored += 1 + released.len();
                self.emit(Event::Stored {
                    coop,
                    id,
                    via: Via::Sync,
                });
                for r in released {
                    self.emit(Event::Stored {
                        coop,
                        id: r,
                        via: Via::Released,
                    });
                }
            }
        }
        if let Some(s) = self.sessions.get_mut(&(peer, coop)) {
            s.stored += stored;
            if more && complete {
                if let Some(n) = next {
                    s.queue.push_front(n);
                }
            }
        }
        self.range_done(peer, coop);
    }

    /// One request of a session answered: send more, or end the session.
    fn range_done(&mut self, peer: PeerId, coop: Id) {
        let Some(s) = self.sessions.get_mut(&(peer, coop)) else {
            return;
        };
        s.in_flight = s.in_flight.saturating_sub(1);
        let mut send = Vec::new();
        while s.in_flight < sync::MAX_RANGES_IN_FLIGHT {
            let Some((author, from)) = s.queue.pop_front() else {
                break;
            };
            s.in_flight += 1;
            send.push((author, from));
        }
        let finished = s.in_flight == 0;
        for (author, from) in send {
            let id = self.swarm.behaviour_mut().sync.send_request(
                &peer,
                Request::Range {
                    coop,
                    author,
                    from,
                    limit: sync::SYNC_BATCH,
                },
            );
            self.requests.insert(id, Outgoing::Range { coop });
        }
        if finished {
            self.end_session(peer, coop);
        }
    }

    fn end_session(&mut self, peer: PeerId, coop: Id) {
        let Some(s) = self.sessions.remove(&(peer, coop)) else {
            return;
        };
        debug!(%peer, coop = %coop.short(), stored = s.stored, "sync session done");
        self.emit(Event::Synced {
            peer,
            coop,
            stored: s.stored,
        });
        // Something new may have made more fetchable (released entries, new heads):
        // go round again until a session stores nothing.
        if s.stored > 0 && self.swarm.is_connected(&peer) {
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
