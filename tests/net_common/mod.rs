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

/// A deterministic synthetic cooperative of `entries` entries.
pub(crate) fn scenario(seed: u64, entries: usize) -> taawun_core::synth::Scenario {
    taawun_core::synth::generate(&taawun_core::synth::Params {
        seed,
        entries,
        ..taawun_core::synth::Params::default()
    })
}

/// The runtime every multi-node test runs in: two worker threads, like the CI machine.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The wall clock, in ms.
pub(crate) fn now() -> u64 {
    taawun_net::config::system_now()
}

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

/// The transport identity of the test node of `member`: derived from the member key (so
/// tests are deterministic), never equal to it.
pub(crate) fn transport_of(member: &ed25519_dalek::SigningKey) -> Keypair {
    let mut h = blake3::Hasher::new();
    h.update(b"taawun test transport key");
    h.update(&member.to_bytes());
    Keypair::ed25519_from_bytes(*h.finalize().as_bytes()).expect("32 bytes are an ed25519 secret")
}

/// Who a test node is: a node that proves no member key (a relay, a bootstrap node, a
/// stranger) with the identity of a seed, or a member's node (its libp2p identity is
/// [`transport_of`] the member's key, which it proves with the hello protocol).
pub(crate) enum Who {
    /// [`keypair`] of the seed.
    Seed(u8),
    /// The member's signing key.
    Member(Box<ed25519_dalek::SigningKey>),
}

/// The keys with a role in a scenario's charter: members, then requesters.
pub(crate) fn roles(s: &taawun_core::synth::Scenario) -> Vec<ed25519_dalek::SigningKey> {
    s.members.iter().chain(&s.requesters).cloned().collect()
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
            Who::Member(key) => Network::spawn_member(config, transport_of(&key), *key, ledger),
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

    /// Hands this node every entry of `s` after the charter, as if written elsewhere
    /// (not gossiped: other nodes get them by sync).
    pub(crate) async fn take_all(&self, s: &taawun_core::synth::Scenario) {
        self.net
            .ingest(s.coop, s.entries[1..].to_vec(), false)
            .await
            .expect("ingests");
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

/// Starts `n` nodes in `root/<i>`, node `i` dialing node 0 and node `i - 1`, node `i`
/// the node of the `i`-th key with a role in `s` ([`roles`]); every node joins the
/// charter.
pub(crate) async fn start_nodes(
    root: &Path,
    n: usize,
    s: &taawun_core::synth::Scenario,
    notify: &Arc<Notify>,
) -> Vec<TestNode> {
    let keys = roles(s);
    assert!(
        n <= keys.len(),
        "{n} nodes, {} keys with a role",
        keys.len()
    );
    let whos = keys
        .into_iter()
        .take(n)
        .map(|k| Who::Member(Box::new(k)))
        .collect();
    start_nodes_as(root, whos, &s.entries[0], notify).await
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

/// Starts the nodes of `s`'s first requester and of its member 1 (a worker), in that
/// order, each [`config`] passed through `tweak`.
pub(crate) async fn start_requester_and_worker(
    root: &Path,
    s: &taawun_core::synth::Scenario,
    notify: &Arc<Notify>,
    tweak: impl Fn(NetConfig) -> NetConfig,
) -> Vec<TestNode> {
    let whos = vec![
        Who::Member(Box::new(s.requesters[0].clone())),
        Who::Member(Box::new(s.members[1].clone())),
    ];
    start_nodes_with(root, whos, &s.entries[0], notify, tweak).await
}

/// Hands out the first three entries of a [`task_life`] as their authors' nodes would
/// write them, gossiped: the offer and the assignment to the requester's node `req`, the
/// claim to the worker's node `w`.
pub(crate) async fn start_task(req: &TestNode, w: &TestNode, coop: Id, life: &[Verified; 4]) {
    let [o, c, a, _] = life;
    req.net
        .ingest(coop, vec![o.clone(), a.clone()], true)
        .await
        .expect("ingests");
    w.net
        .ingest(coop, vec![c.clone()], true)
        .await
        .expect("ingests");
}

/// Whether the result of `submission` reached the requester's node `req` and the
/// worker's node `w` was told it was delivered.
pub(crate) fn result_delivered(req: &TestNode, w: &TestNode, submission: Id) -> bool {
    req.saw(|e| matches!(e, Event::ResultReceived { submission: s, .. } if *s == submission))
        && w.saw(|e| matches!(e, Event::ResultDelivered { submission: s, .. } if *s == submission))
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

/// A raw peer's behaviour `B` beside the hello protocol, so that it can prove a member
/// key: the hostile *members* of the tests (a stranger gets nothing from a node at all).
#[derive(taawun_net::libp2p::swarm::NetworkBehaviour)]
#[behaviour(prelude = "taawun_net::libp2p::swarm::derive_prelude")]
pub(crate) struct Proving<B: taawun_net::libp2p::swarm::NetworkBehaviour> {
    /// The attack.
    pub(crate) inner: B,
    /// The hello protocol.
    pub(crate) hello: taawun_net::libp2p::request_response::cbor::Behaviour<
        taawun_net::hello::Request,
        taawun_net::hello::Response,
    >,
}

/// A raw peer with identity `seed` and behaviour `b` beside the hello protocol.
pub(crate) fn proving_swarm<B: taawun_net::libp2p::swarm::NetworkBehaviour>(
    seed: u8,
    b: B,
) -> taawun_net::libp2p::Swarm<Proving<B>> {
    use taawun_net::libp2p::request_response::{self, ProtocolSupport};
    use taawun_net::libp2p::StreamProtocol;
    let hello = request_response::Behaviour::with_codec(
        taawun_net::hello::codec(),
        [(
            StreamProtocol::new(taawun_net::hello::PROTOCOL),
            ProtocolSupport::Full,
        )],
        request_response::Config::default(),
    );
    raw_swarm(seed, Proving { inner: b, hello })
}

/// Asks `peer` to prove itself, which a node dialed by this raw peer answers only once
/// the raw peer proved its own key: the answer ([`on_hello`] returns `true`) says the
/// node admitted it.
pub(crate) fn ask_hello<B: taawun_net::libp2p::swarm::NetworkBehaviour>(
    swarm: &mut taawun_net::libp2p::Swarm<Proving<B>>,
    peer: PeerId,
) {
    swarm
        .behaviour_mut()
        .hello
        .send_request(&peer, taawun_net::hello::Request::new([7; 32], false));
}

/// A raw proving peer's hello event: answers a node's hello with a proof of `key` naming
/// `coops`; `true` when the node answered this peer's hello with a proof (it is admitted).
pub(crate) fn on_hello<B: taawun_net::libp2p::swarm::NetworkBehaviour>(
    swarm: &mut taawun_net::libp2p::Swarm<Proving<B>>,
    key: &ed25519_dalek::SigningKey,
    coops: &[Id],
    ev: taawun_net::libp2p::request_response::Event<
        taawun_net::hello::Request,
        taawun_net::hello::Response,
    >,
) -> bool {
    use taawun_net::libp2p::request_response::{Event as E, Message as M};
    match ev {
        E::Message {
            peer,
            message: M::Request {
                request, channel, ..
            },
            ..
        } => {
            let me = *swarm.local_peer_id();
            let proof = taawun_net::hello::prove(
                key,
                &request.challenge,
                &me,
                &peer,
                coops.iter().copied(),
            );
            let _ = swarm
                .behaviour_mut()
                .hello
                .send_response(channel, taawun_net::hello::Response::Proof(proof));
            false
        }
        E::Message {
            message: M::Response { response, .. },
            ..
        } => matches!(response, taawun_net::hello::Response::Proof(_)),
        _ => false,
    }
}

/// A raw peer without a member key answers a node's hello: nothing to show.
pub(crate) fn refuse_hello<B: taawun_net::libp2p::swarm::NetworkBehaviour>(
    swarm: &mut taawun_net::libp2p::Swarm<Proving<B>>,
    ev: taawun_net::libp2p::request_response::Event<
        taawun_net::hello::Request,
        taawun_net::hello::Response,
    >,
) {
    use taawun_net::libp2p::request_response::{Event as E, Message as M};
    if let E::Message {
        message: M::Request { channel, .. },
        ..
    } = ev
    {
        let _ = swarm
            .behaviour_mut()
            .hello
            .send_response(channel, taawun_net::hello::Response::Refused);
    }
}

/// Waits until every node of `nodes` has every other in its gossip mesh of `coop` (a
/// peer's gossip opens once it proved a role, and the mesh forms at the next heartbeat).
pub(crate) async fn meshed(nodes: &[&TestNode], coop: Id, timeout: Duration) {
    let start = Instant::now();
    loop {
        let mut done = true;
        for n in nodes {
            let mesh = n.net.mesh(coop).await.expect("mesh");
            done &= nodes
                .iter()
                .filter(|m| m.peer() != n.peer())
                .all(|m| mesh.contains(&m.peer()));
        }
        if done {
            return;
        }
        assert!(start.elapsed() < timeout, "no full mesh after {timeout:?}");
        tokio::time::sleep(POLL / 4).await;
    }
}

/// A raw request-response peer that sends one result request to `target` and returns
/// the answer: what a hostile or buggy worker can make a requester's node see.
pub(crate) async fn raw_result(
    key: Option<&ed25519_dalek::SigningKey>,
    target: Multiaddr,
    peer: taawun_net::libp2p::PeerId,
    request: taawun_net::result::Request,
    timeout: Duration,
) -> taawun_net::result::Response {
    use taawun_net::libp2p::futures::StreamExt;
    use taawun_net::libp2p::request_response::{self, cbor, Message, ProtocolSupport};
    use taawun_net::libp2p::swarm::SwarmEvent;
    use taawun_net::libp2p::StreamProtocol;
    use taawun_net::result;
    let behaviour: cbor::Behaviour<result::Request, result::Response> = cbor::Behaviour::new(
        [(StreamProtocol::new(result::PROTOCOL), ProtocolSupport::Full)],
        request_response::Config::default(),
    );
    // A stranger dials with a transport key of its own: a node rightly keeps admitting a
    // transport key it saw proven while that key's earlier connection is still closing.
    let seed = if key.is_some() { 97 } else { 98 };
    let mut swarm = proving_swarm(seed, behaviour);
    swarm.add_peer_address(peer, target);
    let coop = request.coop;
    let mut request = Some(request);
    match key {
        // A member proves its key first, and sends once admitted.
        Some(_) => ask_hello(&mut swarm, peer),
        None => {
            if let Some(r) = request.take() {
                swarm.behaviour_mut().inner.send_request(&peer, r);
            }
        }
    }
    let answer = async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::Behaviour(ProvingEvent::Hello(ev)) => {
                    let Some(k) = key else {
                        refuse_hello(&mut swarm, ev);
                        continue;
                    };
                    if on_hello(&mut swarm, k, &[coop], ev) {
                        if let Some(r) = request.take() {
                            swarm.behaviour_mut().inner.send_request(&peer, r);
                        }
                    }
                }
                SwarmEvent::Behaviour(ProvingEvent::Inner(request_response::Event::Message {
                    message: Message::Response { response, .. },
                    ..
                })) => return response,
                SwarmEvent::Behaviour(ProvingEvent::Inner(
                    request_response::Event::OutboundFailure { error, .. },
                )) => panic!("raw result request failed: {error}"),
                _ => {}
            }
        }
    };
    tokio::time::timeout(timeout, answer)
        .await
        .expect("an answer in time")
}

/// The id of the scenario's last enactment: the governance live writes name.
pub(crate) fn last_enactment(s: &taawun_core::synth::Scenario) -> Option<Id> {
    s.entries
        .iter()
        .rev()
        .find(|v| matches!(v.entry().body, taawun_core::body::Body::Enact(_)))
        .map(|v| v.id())
}

/// A task's life after the scenario: `requester` offers, `worker` claims and is assigned
/// by the lottery, then submits `result`. Stamped half an hour ago, so the claim window
/// has closed by now. Returns (offer, claim, assign, submit).
pub(crate) fn task_life(
    s: &taawun_core::synth::Scenario,
    heads: &Heads,
    requester: &ed25519_dalek::SigningKey,
    worker: &ed25519_dalek::SigningKey,
    result: &[u8],
) -> [Verified; 4] {
    use taawun_core::body::{Assign, Body, Claim, Offer, Submit};
    use taawun_core::{lottery, Hash, Money};
    let pk = |k: &ed25519_dalek::SigningKey| PublicKey(k.verifying_key().to_bytes());
    let head =
        |k: &ed25519_dalek::SigningKey| heads.iter().find(|(a, _)| *a == pk(k)).map(|(_, h)| *h);
    let gov = last_enactment(s);
    let t0 = now() - 30 * 60 * 1000;
    let mut r = taawun_core::writer::Writer::new(requester.clone(), Some(s.coop), head(requester));
    let mut w = taawun_core::writer::Writer::new(worker.clone(), Some(s.coop), head(worker));
    let o = r.next(
        Body::Offer(Offer {
            title: "Interviews".into(),
            description: "Transcribe the interview recordings.".into(),
            purpose: "An oral history of the cooperative's founding".into(),
            pay: Money::new("EUR", 2000),
            minutes: 60,
            assignments: 1,
            expires_at: t0 + 7 * 24 * 60 * 60 * 1000,
            review_window_ms: 24 * 60 * 60 * 1000,
            claim_window_ms: 10 * 60 * 1000,
            commit: lottery::commit(&taawun_core::Hash([4; 32])),
        }),
        t0,
        gov,
    );
    let c = w.next(Body::Claim(Claim { offer: o.id() }), t0 + 60_000, gov);
    let a = r.next(
        Body::Assign(Assign {
            offer: o.id(),
            claims: vec![c.id()],
            winners: lottery::draw(
                &taawun_core::Hash([4; 32]),
                &o.id(),
                &[(c.id(), pk(worker))],
                1,
            ),
            secret: taawun_core::Hash([4; 32]),
        }),
        t0 + 11 * 60 * 1000,
        gov,
    );
    let sub = w.next(
        Body::Submit(Submit {
            offer: o.id(),
            assign: a.id(),
            result: Hash::of(result),
            size: result.len() as u64,
            minutes: 55,
        }),
        t0 + 12 * 60 * 1000,
        gov,
    );
    [o, c, a, sub]
}
