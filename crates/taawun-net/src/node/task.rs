//! The task owning the Swarm and the ledgers: its state, the event loop, command
//! dispatch, the tick, and the helpers that own the ledgers. The handling of each
//! protocol and concern is in the child modules, each an `impl Task` of its own.

mod admission;
mod gossiping;
mod peers;
mod reading;
mod results;
mod syncing;
mod writes;

use crate::admission::Admission;
use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::conduct::Conduct;
use crate::config::NetConfig;
use crate::error::NetError;
use crate::gossip;
use crate::guard::WriteGuard;
use crate::hello;
use crate::node::command::{Command, Reply};
use crate::node::event::{reactions, Event, PeerSync, Reaction, Via, Writing};
use crate::node::GOSSIP_BURST;
#[cfg(doc)]
use crate::node::{
    Network, MAX_BINDINGS, MAX_CHOSEN_PEERS, MAX_EVIDENCE_AUTHORED, REPROVE_EVERY, ROLES_REFRESH,
};
use crate::outbox::Outbox;
use crate::peering::Peering;
use crate::result;
use crate::session::{Outgoing, Sessions};
#[cfg(doc)]
use crate::sync;
use ed25519_dalek::SigningKey;
use futures::stream::FuturesOrdered;
use futures::StreamExt;
use libp2p::core::transport::ListenerId;
use libp2p::gossipsub::{self, TopicHash};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{OutboundRequestId, ResponseChannel};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{identify, kad, mdns, ping, Multiaddr, PeerId, Swarm};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use taawun_core::body::Evidence;
use taawun_core::fold::Coop;
use taawun_core::{Id, PublicKey, Verified};
use taawun_ledger::{CoopLedger, Ingest, Ledger};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// A relay this node keeps a reservation on ([`NetConfig::relays`]).
#[derive(Debug)]
pub(super) struct Relay {
    /// Its address, ending with `/p2p/<relay>`.
    pub(super) addr: Multiaddr,
    /// The listener on `<addr>/p2p-circuit`, while one is open.
    pub(super) listener: Option<ListenerId>,
}

/// Where a result goes: (cooperative, submission, juror), the juror `None` for the
/// requester.
type Delivery = (Id, Id, Option<PublicKey>);

/// What a job on the blocking pool reports back to the task.
enum Done {
    Refreshed(reading::Refreshed),
    File(results::FileDone),
    Served(syncing::Served),
}

/// Jobs on tokio's blocking pool that report back to the task's loop: disk work that
/// would stall the network, fixed on the task first and carried on when it comes back.
struct Jobs(mpsc::UnboundedSender<Done>);

impl Jobs {
    /// With the receiving end, which the task's loop listens on.
    fn new() -> (Self, mpsc::UnboundedReceiver<Done>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), rx)
    }

    /// Runs `job` on the blocking pool and sends what it gives back to the task.
    fn spawn<T: Into<Done>>(&self, job: impl FnOnce() -> T + Send + 'static) {
        let done = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let _ = done.send(job().into());
        });
    }
}

impl From<results::FileDone> for Done {
    fn from(f: results::FileDone) -> Self {
        Done::File(f)
    }
}

/// The task owning the Swarm and the ledgers.
pub(super) struct Task {
    swarm: Swarm<Behaviour>,
    ledger: Ledger,
    coops: BTreeMap<Id, CoopLedger>,
    /// Gossip messages taken from the swarm and not judged yet: only those that arrived
    /// together, judged before the task waits again ([`Task::judge_gossip`]).
    gossip_inbox: Vec<(PeerId, gossipsub::MessageId, gossipsub::Message)>,
    /// The folded state of each cooperative read so far, shared with readers (see
    /// [`Task::state`]): one per cooperative held, built on first read.
    states: HashMap<Id, Arc<Coop>>,
    /// Refreshes of `states` running on the blocking pool for readers
    /// ([`Task::read_state`]).
    refreshes: reading::Refreshes,
    /// Sync requests being read on the blocking pool, and those waiting their turn.
    serving: syncing::Serving,
    /// Result files being written as received, and the jurors' copies delivered.
    files: results::FileJobs,
    /// The outbox's marks, written in order on the blocking pool.
    marks: results::Marks,
    /// Disk work handed to tokio's blocking pool, which reports back here ([`Done`]).
    jobs: Jobs,
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
    /// Results to deliver, to the recipient's key, and the requests out. Bounded by
    /// [`result::MAX_OUTBOX`].
    outbox: Outbox<Delivery, PublicKey, PeerId, OutboundRequestId>,
    /// The relays of [`NetConfig::relays`], by peer.
    relays: BTreeMap<PeerId, Relay>,
    /// Connections through a relay, closed once DCUtR gives a direct one. Bounded by
    /// [`crate::config::MAX_CONNECTIONS`].
    relayed: HashSet<(PeerId, ConnectionId)>,
    /// Peers kept in the routing table (see [`MAX_CHOSEN_PEERS`]).
    chosen: HashSet<PeerId>,
    /// Connected peers, whether this node dialed each (then it answers hellos at once;
    /// see [`crate::hello`]), and which to let go when there are too many (see
    /// [`crate::peering`]).
    peering: Peering<PeerId>,
    /// Dials asked for by [`Network::dial`] of an address without a peer id, not yet
    /// connected: their peers are then chosen, so they stay. Bounded by the pending
    /// connections.
    asked: HashSet<ConnectionId>,
    /// Where the next sync round starts in the sorted list of connected peers.
    sync_cursor: usize,
    /// Graylisted peers' lockouts and the invalid entries each peer sent in sync
    /// responses (see the module documentation and [`sync::SYNC_FAULT_SCORE`]).
    conduct: Conduct<PeerId>,
    /// Connected peers' sync (see [`PeerSync`]). Bounded by the connections.
    peer_sync: HashMap<PeerId, PeerSync>,
    /// Connected peers that proved a member key, one per key (the last to prove it).
    /// Bounded by the connections.
    admission: Admission<PeerId>,
    /// When this node last proved its key again to each connected peer that holds a
    /// cooperative and answered `UnknownCoop` ([`REPROVE_EVERY`]). Bounded by the
    /// connections.
    reproved: HashMap<PeerId, Instant>,
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
    /// Whether the member's writes are open in each cooperative (see [`Writing`]), with
    /// the `Evidence` held until they are; one per cooperative held.
    guards: HashMap<Id, WriteGuard<PeerId, Evidence>>,
    /// Callers of [`Network::writes_open`] waiting, per cooperative. Those whose caller
    /// gave up are dropped at each new wait, so bounded by the callers waiting at once.
    write_waiters: HashMap<Id, Vec<Reply<Writing>>>,
    /// Local writes stored and being flushed on their ledger's committing thread, in the
    /// order written: each is published, reported and answered once on disk
    /// ([`Task::flushed`]). Bounded by the commands and evidence the task takes meanwhile
    /// (a flush takes milliseconds).
    flushing: FuturesOrdered<writes::Flushing>,
    config: NetConfig,
}

/// A cooperative's roles, read for admission, and from what.
#[derive(Debug)]
struct Roles {
    /// The ledger's length when read.
    len: u64,
    /// When.
    at: Instant,
    /// The roles.
    roles: crate::admission::Roles,
}

impl Task {
    /// Builds the task around `swarm` (listening already), opens every cooperative in
    /// `ledger`, dials the bootstrap peers and the relays, and spawns it. Returns the
    /// results folder (read by the handle) and the task.
    pub(super) fn spawn(
        swarm: Swarm<Behaviour>,
        ledger: Ledger,
        member: Option<SigningKey>,
        relays: BTreeMap<PeerId, Relay>,
        events_tx: mpsc::Sender<Event>,
        commands: mpsc::Receiver<Command>,
        config: NetConfig,
    ) -> Result<(Option<result::Store>, JoinHandle<()>), NetError> {
        let peer = *swarm.local_peer_id();
        let (jobs, done) = Jobs::new();
        let mut task = Task {
            swarm,
            ledger,
            coops: BTreeMap::new(),
            gossip_inbox: Vec::new(),
            states: HashMap::new(),
            refreshes: reading::Refreshes::default(),
            serving: syncing::Serving::default(),
            files: results::FileJobs::default(),
            marks: results::Marks::default(),
            jobs,
            topics: HashMap::new(),
            events: events_tx,
            dropped_events: 0,
            sessions: Sessions::new(),
            requests: HashMap::new(),
            member,
            evidenced: HashSet::new(),
            results: config.results_dir.clone().map(result::Store::new),
            outbox: Outbox::new(),
            relays,
            relayed: HashSet::new(),
            chosen: HashSet::new(),
            peering: Peering::new(config.peer_target, config.prune_grace),
            asked: HashSet::new(),
            sync_cursor: 0,
            conduct: Conduct::new(config.graylist_lockout),
            peer_sync: HashMap::new(),
            admission: Admission::new(),
            reproved: HashMap::new(),
            hellos: HashMap::new(),
            deferred: HashMap::new(),
            refused: HashSet::new(),
            subscribed: HashMap::new(),
            gated: HashSet::new(),
            roles: HashMap::new(),
            bindings: HashMap::new(),
            guards: HashMap::new(),
            write_waiters: HashMap::new(),
            flushing: FuturesOrdered::new(),
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
        let join = tokio::spawn(tracing::Instrument::instrument(
            task.run(commands, done),
            span,
        ));
        Ok((results, join))
    }

    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut done: mpsc::UnboundedReceiver<Done>,
    ) {
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
                ev = self.swarm.select_next_some() => {
                    self.swarm_event(ev);
                    // Take every event already waiting, without waiting for more, so the
                    // gossip messages that came together are verified as one batch; then
                    // judge them before anything else runs.
                    // Polled in this task's own context, so a swarm with nothing ready
                    // wakes this task when it has (no waker of its own is left behind).
                    for _ in 1..GOSSIP_BURST {
                        match futures::poll!(self.swarm.select_next_some()) {
                            std::task::Poll::Ready(ev) => self.swarm_event(ev),
                            std::task::Poll::Pending => break,
                        }
                    }
                    self.judge_gossip();
                }
                Some(w) = self.flushing.next(), if !self.flushing.is_empty() => self.flushed(w),
                Some(d) = done.recv() => match d {
                    Done::Refreshed(r) => self.refreshed(r),
                    Done::File(f) => self.files_done(f),
                    Done::Served(s) => self.served(s),
                },
                _ = tick.tick() => self.tick(),
                _ = commit.tick() => self.commit(),
                _ = retry.tick() => {
                    self.gate_dials();
                    self.retry_due();
                    self.end_lockouts();
                    self.prune_peers();
                }
            }
        };
        // Writes already stored are published and answered before the node stops.
        while let Some(w) = self.flushing.next().await {
            self.flushed(w);
        }
        std::mem::take(&mut self.marks).written().await;
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
        // Read once now, while nothing else waits: later reads take the state held while
        // a large refresh runs off the task.
        self.refresh_roles(&id);
        self.guard(&id);
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
                // Dialed on the operator's word: chosen, so the dial gate lets it through
                // and the peer stays; an address without a peer id is chosen once
                // connected.
                let named = matches!(addr.iter().last(), Some(Protocol::P2p(_)));
                if named {
                    self.choose(&addr);
                }
                let opts = libp2p::swarm::dial_opts::DialOpts::unknown_peer_id()
                    .address(addr.clone())
                    .build();
                let id = opts.connection_id();
                let out = self.swarm.dial(opts).map_err(|e| NetError::Dial {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                });
                if out.is_ok()
                    && !named
                    && self.asked.len() < crate::config::MAX_PENDING_CONNECTIONS as usize
                {
                    self.asked.insert(id);
                }
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
                // Answered once on disk (`Task::flushed`), or now with the error.
                self.append(coop, &key, *body, gov, writes::Then::Reply(reply));
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
            Command::State(coop, r) => self.read_state(coop, r),
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
                // Fixed here, written on the blocking pool: a large export reads the whole
                // store, and gossip, sync and pings must not wait behind it.
                match self.coop(&coop).and_then(|c| Ok(c.snapshot()?)) {
                    Ok(snapshot) => {
                        tokio::task::spawn_blocking(move || {
                            let mut buf = Vec::new();
                            let out = snapshot.write(&mut buf).map(|_| buf);
                            let _ = r.send(out.map_err(NetError::from));
                        });
                    }
                    Err(e) => {
                        let _ = r.send(Err(e));
                    }
                }
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
                // Answered once written (`Task::files_done`), or now with the error.
                self.send_result(coop, submission, bytes, reply);
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
        self.guard(&id).joined();
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
            let out = self.guard(&id).founded();
            self.carry_out_guard(id, out);
        }
        Ok(id)
    }

    fn tick(&mut self) {
        // Roles change with time (amendments take effect): look at every gate again.
        let peers: Vec<PeerId> = self.admission.proven().map(|(p, _)| p).collect();
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
        if self.peering.wants_more() {
            // The answer (kad::Event::OutboundQueryProgressed) dials a few of the peers found.
            let me = *self.swarm.local_peer_id();
            self.swarm.behaviour_mut().kad.get_closest_peers(me);
        }
        self.dial_relays();
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
                if self.asked.remove(&connection_id) {
                    // Dialed on the operator's word by address alone: chosen now.
                    if let Ok(a) = endpoint.get_remote_address().clone().with_p2p(peer_id) {
                        self.choose(&a);
                    }
                }
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
                self.peering
                    .connected(peer_id, endpoint.is_dialer(), Instant::now());
                self.gate_dials();
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
                self.peering.disconnected(&peer_id);
                self.gate_dials();
                self.peer_sync.remove(&peer_id);
                self.admission.disconnected(&peer_id);
                self.reproved.remove(&peer_id);
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
            SwarmEvent::OutgoingConnectionError { connection_id, .. } => {
                self.asked.remove(&connection_id);
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
