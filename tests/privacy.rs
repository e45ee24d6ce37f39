//! Members' safety on the network: real nodes on loopback. A stranger who knows a
//! cooperative's id and dials a member's node gets no entry by sync or by gossip and
//! learns no member key; a proof made for another connection is refused; a member key
//! proven from many peers (a stolen one) is served on the last only, and the member's
//! own node takes its place back by proving the key again; what a third
//! party sees on the wire between two members holds no member key and no payment
//! reference in clear. Every scenario comes from a fixed seed.

mod net_common;

use ed25519_dalek::SigningKey;
use net_common::{converge, now, runtime, scenario, start_nodes, wait_for, ProvingEvent, TestNode};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use taawun_core::body::{Body, Offer};
use taawun_core::seal::Reading;
use taawun_core::{Id, Money};
use taawun_net::libp2p::futures::StreamExt;
use taawun_net::libp2p::request_response::{self, cbor, Message, ProtocolSupport};
use taawun_net::libp2p::swarm::SwarmEvent;
use taawun_net::libp2p::{gossipsub, Multiaddr, PeerId, StreamProtocol};
use taawun_net::{gossip, hello, sync, Event, Via};
use tokio::sync::Notify;

/// Time allowed for each wait.
const CONVERGE: Duration = Duration::from_secs(20);

fn offer(title: &str) -> Body {
    Body::Offer(Offer {
        title: title.into(),
        description: "Transcribe the interview recordings.".into(),
        purpose: "An oral history of the cooperative's founding".into(),
        pay: Money::new("EUR", 2000),
        minutes: 60,
        assignments: 1,
        expires_at: now() + 7 * 24 * 60 * 60 * 1000,
        review_window_ms: 24 * 60 * 60 * 1000,
        claim_window_ms: 10 * 60 * 1000,
        commit: taawun_core::lottery::commit(&taawun_core::Hash([3; 32])),
    })
}

/// The behaviour of the stranger: gossip on the cooperative's topic and sync requests.
#[derive(taawun_net::libp2p::swarm::NetworkBehaviour)]
#[behaviour(prelude = "taawun_net::libp2p::swarm::derive_prelude")]
struct Stranger {
    gossip: gossipsub::Behaviour,
    sync: cbor::Behaviour<sync::Request, sync::Response>,
}

/// What the stranger got.
#[derive(Debug, Default)]
struct Got {
    /// Its hello answered: with a proof (a member key learned) or refused.
    hello: Option<bool>,
    /// Sync responses.
    sync: Vec<sync::Response>,
    /// Gossip messages received.
    gossip: usize,
    /// The node's subscription seen.
    subscribed: bool,
}

/// A raw peer of identity `seed` that knows `coop`'s id, proves `key` when asked
/// (a key with no role in the cooperative: a stranger; a member's: a thief), subscribes
/// to the topic, asks `target` for heads and the log once its hello is answered, and for
/// the log again each time it is told on the returned sender.
fn stranger(
    seed: u8,
    key: ed25519_dalek::SigningKey,
    target: Multiaddr,
    node: PeerId,
    coop: Id,
) -> (
    Arc<Mutex<Got>>,
    tokio::task::JoinHandle<()>,
    tokio::sync::mpsc::UnboundedSender<()>,
) {
    let config = gossip::config_builder(Duration::from_millis(250))
        .build()
        .expect("config");
    let gossip = gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
        .expect("gossipsub");
    let sync = cbor::Behaviour::new(
        [(StreamProtocol::new(sync::PROTOCOL), ProtocolSupport::Full)],
        request_response::Config::default(),
    );
    let mut swarm = net_common::proving_swarm(seed, Stranger { gossip, sync });
    let (ask, mut asks) = tokio::sync::mpsc::unbounded_channel::<()>();
    let topic = gossip::topic(&coop);
    swarm
        .behaviour_mut()
        .inner
        .gossip
        .subscribe(&topic)
        .expect("subscribes");
    swarm.add_peer_address(node, target);
    net_common::ask_hello(&mut swarm, node);
    let got = Arc::new(Mutex::new(Got::default()));
    let shared = got.clone();
    let task = tokio::spawn(async move {
        let mut asked = false;
        loop {
            let ev = tokio::select! {
                ev = swarm.select_next_some() => ev,
                Some(()) = asks.recv() => {
                    let s = &mut swarm.behaviour_mut().inner.sync;
                    s.send_request(&node, sync::Request::Log { coop, from: 0, limit: 512 });
                    continue;
                }
            };
            let mut g = shared.lock().expect("lock");
            match ev {
                SwarmEvent::Behaviour(ProvingEvent::Hello(ev)) => {
                    if let request_response::Event::Message {
                        message: Message::Response { response, .. },
                        ..
                    } = &ev
                    {
                        g.hello = Some(matches!(response, hello::Response::Proof(_)));
                    }
                    net_common::on_hello(&mut swarm, &key, &[coop], ev);
                }
                SwarmEvent::Behaviour(ProvingEvent::Inner(StrangerEvent::Gossip(e))) => match e {
                    gossipsub::Event::Message { .. } => g.gossip += 1,
                    gossipsub::Event::Subscribed { .. } => g.subscribed = true,
                    _ => {}
                },
                SwarmEvent::Behaviour(ProvingEvent::Inner(StrangerEvent::Sync(
                    request_response::Event::Message {
                        message: Message::Response { response, .. },
                        ..
                    },
                ))) => g.sync.push(response),
                _ => {}
            }
            if g.hello.is_some() && !asked {
                asked = true;
                let s = &mut swarm.behaviour_mut().inner.sync;
                s.send_request(
                    &node,
                    sync::Request::Heads {
                        coop,
                        digest: taawun_core::Hash([0; 32]),
                    },
                );
                s.send_request(
                    &node,
                    sync::Request::Log {
                        coop,
                        from: 0,
                        limit: 512,
                    },
                );
            }
        }
    });
    (got, task, ask)
}

/// A stranger who knows the cooperative's id and dials a member's node, proving a key
/// with no role in it, gets no entry: sync answers "unknown cooperative", gossip carries
/// nothing to it, and its hello is refused (no member key learned). The two members still
/// sync and gossip.
#[test]
fn a_stranger_who_knows_the_cooperative_gets_no_entry() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(31, 60);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 2, &s, &notify).await;
        nodes[0].take_all(&s).await;
        let refs: Vec<&TestNode> = nodes.iter().collect();
        converge(&refs, coop, None, &notify, CONVERGE).await;
        net_common::meshed(&refs, coop, CONVERGE).await;

        let key = ed25519_dalek::SigningKey::from_bytes(&[88; 32]);
        let (got, task, _) = stranger(90, key, nodes[0].addr.clone(), nodes[0].peer(), coop);
        let settled = || {
            let g = got.lock().expect("lock");
            g.hello.is_some() && g.sync.len() == 2 && g.subscribed
        };
        wait_for("the stranger answered", settled, &notify, CONVERGE).await;

        // Live entries from both members: one reaches the other by gossip.
        let a = nodes[0]
            .net
            .append(coop, s.requesters[0].clone(), offer("Live on node 0"), None)
            .await
            .expect("appends");
        let b = nodes[1]
            .net
            .append(coop, s.requesters[1].clone(), offer("Live on node 1"), None)
            .await
            .expect("appends");
        let by_gossip = |n: &TestNode, id: Id| {
            n.saw(|e| matches!(e, Event::Stored { id: i, via: Via::Gossip, .. } if *i == id))
        };
        wait_for(
            "both live entries gossiped",
            || by_gossip(&nodes[1], a.id()) && by_gossip(&nodes[0], b.id()),
            &notify,
            CONVERGE,
        )
        .await;
        converge(&refs, coop, None, &notify, CONVERGE).await;

        {
            let g = got.lock().expect("lock");
            assert_eq!(g.hello, Some(false), "the node revealed its member key");
            assert_eq!(g.gossip, 0, "gossip reached the stranger");
            assert!(
                g.sync
                    .iter()
                    .all(|r| matches!(r, sync::Response::UnknownCoop)),
                "{:?}",
                g.sync
            );
        }
        task.abort();
        for n in nodes {
            n.stop().await;
        }
    });
}

/// A thief proves one stolen member key from three peer ids, one after the other: the
/// node serves the key on the last of them only. The first two, superseded, get
/// `UnknownCoop` when they ask for the log again and no live gossip, while the last gets
/// both; the node reports each supersession (what a stolen key looks like).
#[test]
fn a_key_proven_from_many_peers_is_served_only_on_the_last() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(34, 60);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 1, &s, &notify).await;
        let node = &nodes[0];
        node.take_all(&s).await;
        let stolen = s.members[2].clone();
        let served = |r: &sync::Response| matches!(r, sync::Response::Log { entries, .. } if !entries.is_empty());

        let mut thieves = Vec::new();
        for seed in [92u8, 93, 94] {
            let peer = net_common::keypair(seed).public().to_peer_id();
            let (got, task, ask) =
                stranger(seed, stolen.clone(), node.addr.clone(), node.peer(), coop);
            let answered = || {
                let g = got.lock().expect("lock");
                g.hello.is_some() && g.sync.len() == 2 && g.subscribed
            };
            wait_for("the thief answered", answered, &notify, CONVERGE).await;
            {
                // Each is admitted when it proves the key: nothing tells it from the member.
                let g = got.lock().expect("lock");
                assert_eq!(g.hello, Some(true), "the thief was refused");
                assert!(g.sync.iter().any(served), "{:?}", g.sync);
            }
            thieves.push((peer, got, task, ask));
        }
        for w in thieves.windows(2) {
            let (old, by) = (w[0].0, w[1].0);
            assert!(
                node.saw(|e| matches!(e, Event::Superseded { peer, by: b, member }
                    if *peer == old && *b == by && member.0 == stolen.verifying_key().to_bytes())),
                "no supersession of {old} by {by}"
            );
        }

        for (_, got, _, ask) in &thieves {
            got.lock().expect("lock").sync.clear();
            ask.send(()).expect("asks");
        }
        let live = node
            .net
            .append(coop, s.requesters[0].clone(), offer("Live after the thefts"), None)
            .await
            .expect("appends");
        let answered = || {
            thieves
                .iter()
                .all(|(_, got, _, _)| got.lock().expect("lock").sync.len() == 1)
        };
        wait_for("the logs answered again", answered, &notify, CONVERGE).await;
        let last = &thieves[2].1;
        wait_for(
            "the live entry gossiped to the last thief",
            || last.lock().expect("lock").gossip > 0,
            &notify,
            CONVERGE,
        )
        .await;
        for (peer, got, _, _) in &thieves[..2] {
            let g = got.lock().expect("lock");
            assert_eq!(g.sync, vec![sync::Response::UnknownCoop], "{peer} still served");
            assert_eq!(g.gossip, 0, "{peer} still gossiped to");
        }
        assert!(served(&last.lock().expect("lock").sync[0]));
        assert!(node.saw(|e| matches!(e, Event::Stored { id, .. } if *id == live.id())));
        for (_, _, task, _) in thieves {
            task.abort();
        }
        for n in nodes {
            n.stop().await;
        }
    });
}

/// A thief proves the key of a member whose node is connected: the node the thief
/// proved it to stops serving the member's node, which notices (its sync requests are
/// answered `UnknownCoop` by a node that named the cooperative), proves its key again
/// and takes its place back: the thief is superseded in turn and the member's node is
/// served again (a live entry reaches it).
#[test]
fn a_member_whose_key_was_proven_elsewhere_takes_its_place_back() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(35, 40);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 2, &s, &notify).await;
        nodes[0].take_all(&s).await;
        let refs: Vec<&TestNode> = nodes.iter().collect();
        converge(&refs, coop, None, &notify, CONVERGE).await;
        let (node, victim) = (&nodes[0], nodes[1].peer());

        let thief = net_common::keypair(95).public().to_peer_id();
        let (got, task, ask) = stranger(
            95,
            s.members[1].clone(),
            node.addr.clone(),
            node.peer(),
            coop,
        );
        let superseded = |old: PeerId, by: PeerId| {
            node.saw(
                |e| matches!(e, Event::Superseded { peer, by: b, .. } if *peer == old && *b == by),
            )
        };
        wait_for(
            "the thief superseded the member's node",
            || superseded(victim, thief),
            &notify,
            CONVERGE,
        )
        .await;
        wait_for(
            "the member's node took its place back",
            || superseded(thief, victim),
            &notify,
            CONVERGE,
        )
        .await;

        got.lock().expect("lock").sync.clear();
        ask.send(()).expect("asks");
        wait_for(
            "the thief's log request answered",
            || !got.lock().expect("lock").sync.is_empty(),
            &notify,
            CONVERGE,
        )
        .await;
        assert_eq!(
            got.lock().expect("lock").sync,
            vec![sync::Response::UnknownCoop]
        );

        let live = node
            .net
            .append(
                coop,
                s.requesters[0].clone(),
                offer("Live once the member is back"),
                None,
            )
            .await
            .expect("appends");
        // Only node 0 holds it, and it serves only admitted peers (sync) and peers whose
        // gossip is open: the member's node getting it either way is being served again.
        wait_for(
            "the live entry on the member's node",
            || nodes[1].saw(|e| matches!(e, Event::Stored { id, .. } if *id == live.id())),
            &notify,
            CONVERGE,
        )
        .await;
        task.abort();
        for n in nodes {
            n.stop().await;
        }
    });
}

/// A thief proves a worker's key at the requester's node, which then refuses the
/// worker's result `UnknownCoop`. The worker's node, refused so by a node that holds the
/// cooperative, proves itself again (as after a sync request refused so), takes its
/// place back and delivers the result. Sync rounds are an hour apart here, so only the
/// result's refusal can bring the worker's node to prove itself again.
#[test]
fn a_worker_whose_result_is_refused_where_its_key_was_taken_proves_itself_again() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(36, 40);
        let coop = s.coop;
        let (requester, worker) = (s.requesters[0].clone(), s.members[1].clone());
        let nodes = net_common::start_requester_and_worker(root.path(), &s, &notify, |c| {
            taawun_net::NetConfig {
                sync_interval: Duration::from_secs(3600),
                ..c
            }
        })
        .await;
        // Handed to both: with sync rounds an hour apart, nothing waits on them.
        for n in &nodes {
            n.take_all(&s).await;
        }
        let refs: Vec<&TestNode> = nodes.iter().collect();
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;
        let bytes = b"labels: maize, cassava, sorghum".to_vec();
        let life = net_common::task_life(&s, &heads, &requester, &worker, &bytes);
        let sub = life[3].clone();
        for n in &nodes {
            n.net
                .ingest(coop, life.to_vec(), false)
                .await
                .expect("ingests");
        }
        let (req, w) = (&nodes[0], &nodes[1]);

        // The worker's node proves its key first, so that the thief's proof supersedes
        // it (on a busy machine the thief could otherwise prove first, and be superseded).
        wait_for(
            "the worker's node proved its key to the requester's",
            || req.saw(|e| matches!(e, Event::Proven { peer, .. } if *peer == w.peer())),
            &notify,
            CONVERGE,
        )
        .await;
        let thief = net_common::keypair(96).public().to_peer_id();
        let (_got, task, _ask) = stranger(96, worker.clone(), req.addr.clone(), req.peer(), coop);
        let superseded = |old: PeerId, by: PeerId| {
            req.saw(
                |e| matches!(e, Event::Superseded { peer, by: b, .. } if *peer == old && *b == by),
            )
        };
        wait_for(
            "the thief superseded the worker's node",
            || superseded(w.peer(), thief),
            &notify,
            CONVERGE,
        )
        .await;

        w.net
            .send_result(coop, sub.id(), bytes.clone())
            .await
            .expect("queued");
        wait_for(
            "the result delivered once the worker's node took its place back",
            || superseded(thief, w.peer()) && net_common::result_delivered(req, w, sub.id()),
            &notify,
            CONVERGE,
        )
        .await;
        assert_eq!(
            req.net.result(coop, sub.id()).await.expect("reads"),
            Some(bytes)
        );
        task.abort();
        for n in nodes {
            n.stop().await;
        }
    });
}

/// A proof signed by a real member's key but over other peer ids (replayed from another
/// connection) is refused: the node reports it and serves the peer nothing.
#[test]
fn a_proof_over_other_peer_ids_is_refused() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(32, 20);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 1, &s, &notify).await;
        let node = &nodes[0];
        let member = s.members[4].clone();
        let elsewhere = net_common::keypair(33).public().to_peer_id();

        let sync_b: cbor::Behaviour<sync::Request, sync::Response> = cbor::Behaviour::new(
            [(StreamProtocol::new(sync::PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default(),
        );
        let mut swarm = net_common::proving_swarm(91, sync_b);
        let me = *swarm.local_peer_id();
        swarm.dial(node.addr.clone()).expect("dials");
        let answer = tokio::time::timeout(CONVERGE, async {
            let mut sent = false;
            loop {
                let ev = tokio::select! {
                    ev = swarm.select_next_some() => Some(ev),
                    _ = notify.notified() => None,
                };
                match ev {
                    Some(SwarmEvent::Behaviour(ProvingEvent::Hello(
                        request_response::Event::Message {
                            peer,
                            message:
                                Message::Request {
                                    request, channel, ..
                                },
                            ..
                        },
                    ))) => {
                        // Signed for a connection of another peer to the node.
                        let proof =
                            hello::prove(&member, &request.challenge, &elsewhere, &peer, [coop]);
                        let _ = swarm
                            .behaviour_mut()
                            .hello
                            .send_response(channel, hello::Response::Proof(proof));
                    }
                    Some(SwarmEvent::Behaviour(ProvingEvent::Inner(
                        request_response::Event::Message {
                            message: Message::Response { response, .. },
                            ..
                        },
                    ))) => return response,
                    _ => {}
                }
                let refused =
                    node.saw(|e| matches!(e, Event::HelloRefused { peer, .. } if *peer == me));
                if refused && !sent {
                    sent = true;
                    let to = node.peer();
                    swarm.behaviour_mut().inner.send_request(
                        &to,
                        sync::Request::Log {
                            coop,
                            from: 0,
                            limit: 512,
                        },
                    );
                }
            }
        })
        .await
        .expect("an answer in time");
        assert_eq!(answer, sync::Response::UnknownCoop);
        assert!(node.saw(|e| matches!(e, Event::HelloRefused { peer, .. } if *peer == me)));
        assert!(!node.saw(|e| matches!(e, Event::Proven { peer, .. } if *peer == me)));
        for n in nodes {
            n.stop().await;
        }
    });
}

/// A TCP proxy on 127.0.0.1 forwarding every connection to `to`, keeping every byte
/// that passes, both ways: what a third party on the path sees.
fn proxy(to: std::net::SocketAddr) -> (std::net::SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().expect("address");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for inbound in listener.incoming() {
            let Ok(inbound) = inbound else { return };
            let Ok(outbound) = TcpStream::connect(to) else {
                continue;
            };
            for (mut from, mut into) in [
                (
                    inbound.try_clone().expect("clone"),
                    outbound.try_clone().expect("clone"),
                ),
                (outbound, inbound),
            ] {
                let kept = kept.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        match from.read(&mut buf) {
                            Ok(0) | Err(_) => {
                                let _ = into.shutdown(std::net::Shutdown::Write);
                                return;
                            }
                            Ok(n) => {
                                kept.lock().expect("lock").extend_from_slice(&buf[..n]);
                                if into.write_all(&buf[..n]).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        }
    });
    (addr, seen)
}

/// The text of the scenario's first payment reference, opened with the key of one of
/// its parties.
fn first_reference(s: &taawun_core::synth::Scenario) -> String {
    let keys: Vec<&SigningKey> = s.members.iter().chain(&s.requesters).collect();
    s.entries
        .iter()
        .find_map(|v| match &v.entry().body {
            Body::Settle(x) => match x.reference.read(&keys) {
                Reading::Text(t) => Some(t),
                _ => None,
            },
            _ => None,
        })
        .expect("a payment with a reference")
}

/// Two members' nodes talk through a TCP proxy that keeps every byte: they sync a ledger
/// with payments and gossip a live offer, yet the bytes on the wire (noise-encrypted)
/// hold neither member's key, nor a payment reference, nor the offer's title in clear.
#[test]
fn the_wire_between_members_shows_no_member_key_in_clear() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(34, 120);
        let coop = s.coop;
        let reference = first_reference(&s);
        let (ka, kb) = (s.members[0].clone(), s.members[1].clone());
        let dir_a = root.path().join("a");
        let a = TestNode::start_member(&dir_a, ka.clone(), vec![], notify.clone()).await;
        a.net.join(s.entries[0].clone()).await.expect("joins");
        a.take_all(&s).await;
        let port = a
            .addr
            .iter()
            .find_map(|p| match p {
                taawun_net::libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
                _ => None,
            })
            .expect("a tcp port");
        let (via, seen) = proxy(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
        let boot: Multiaddr = format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", via.port(), a.peer())
            .parse()
            .expect("multiaddr");
        let dir_b = root.path().join("b");
        let b = TestNode::start_member(&dir_b, kb.clone(), vec![boot], notify.clone()).await;
        b.net.join(s.entries[0].clone()).await.expect("joins");
        converge(&[&a, &b], coop, None, &notify, CONVERGE).await;
        net_common::meshed(&[&a, &b], coop, CONVERGE).await;
        let title = "Secret title of a live offer";
        let live = a
            .net
            .append(coop, s.requesters[0].clone(), offer(title), None)
            .await
            .expect("appends");
        wait_for(
            "the live offer on b",
            || b.saw(|e| matches!(e, Event::Stored { id, .. } if *id == live.id())),
            &notify,
            CONVERGE,
        )
        .await;

        let wire = seen.lock().expect("lock").clone();
        // The ledger went through: hundreds of entries' worth of bytes.
        assert!(wire.len() > 20_000, "{} bytes on the wire", wire.len());
        let holds = |needle: &[u8]| wire.windows(needle.len()).any(|w| w == needle);
        for k in [&ka, &kb] {
            assert!(
                !holds(k.verifying_key().as_bytes()),
                "a member key in clear"
            );
        }
        assert!(!holds(reference.as_bytes()), "a payment reference in clear");
        assert!(!holds(title.as_bytes()), "an offer title in clear");
        // Each side's transport peer id does travel in clear (noise's handshake carries
        // the static key encrypted, the multistream headers name protocols only); the
        // member keys do not, so the address links to no member.
        assert!(holds(b"/noise"));
        a.stop().await;
        b.stop().await;
    });
}

/// A member who is not a party to a payment receives the payment by sync from another
/// member's node and stores it, yet cannot read its reference: no reference of a payment
/// to another member appears in its export, in any form, and its key opens none of them,
/// while the member paid and the requester open each one.
#[test]
fn a_member_not_party_to_a_payment_cannot_read_its_reference() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(34, 120);
        let coop = s.coop;
        let pk = |k: &SigningKey| taawun_core::PublicKey(k.verifying_key().to_bytes());
        // The payments of the scenario, with the keys of their two parties.
        let payments: Vec<_> = s
            .entries
            .iter()
            .filter_map(|v| match &v.entry().body {
                Body::Settle(x) => Some((v.entry().author, x.clone())),
                _ => None,
            })
            .collect();
        // The third member: one that is paid least often, and not in every payment.
        let third = s
            .members
            .iter()
            .min_by_key(|k| payments.iter().filter(|(_, x)| x.member == pk(k)).count())
            .expect("members")
            .clone();
        let holder = s
            .members
            .iter()
            .find(|k| pk(k) != pk(&third))
            .expect("another member")
            .clone();
        let others: Vec<_> = payments
            .iter()
            .filter(|(_, x)| x.member != pk(&third))
            .collect();
        assert!(!others.is_empty(), "payments to other members");

        let a =
            TestNode::start_member(&root.path().join("a"), holder, vec![], notify.clone()).await;
        a.net.join(s.entries[0].clone()).await.expect("joins");
        a.take_all(&s).await;
        let c = TestNode::start_member(
            &root.path().join("c"),
            third.clone(),
            vec![a.addr.clone()],
            notify.clone(),
        )
        .await;
        c.net.join(s.entries[0].clone()).await.expect("joins");
        converge(&[&a, &c], coop, None, &notify, CONVERGE).await;

        let export = c.net.export(coop).await.expect("exports");
        let holds = |needle: &[u8]| export.windows(needle.len()).any(|w| w == needle);
        let keys: Vec<&SigningKey> = s.members.iter().chain(&s.requesters).collect();
        for (requester, x) in &others {
            // The amount and the parties stay readable: every rule about money needs them.
            assert!(holds(x.member.as_bytes()) && holds(requester.as_bytes()));
            // The parties read the reference with their own keys.
            let party = |k: &taawun_core::PublicKey| {
                let key = keys.iter().find(|s| pk(s) == *k).expect("a party's key");
                x.reference.read(&[key])
            };
            let Reading::Text(text) = party(&x.member) else {
                panic!("the member paid cannot read its payment's reference");
            };
            assert_eq!(party(requester), Reading::Text(text.clone()));
            // The third member holds the entry but not the words.
            assert_eq!(x.reference.read(&[&third]), Reading::Sealed);
            assert!(
                !holds(text.as_bytes()),
                "the reference {text:?} is in clear in a third member's export"
            );
        }
        a.stop().await;
        c.stop().await;
    });
}

/// A review's text is sealed to the member who wrote it and the requester reviewed: the
/// requester reads it, a third member holds the review (its scores count) but not its
/// words, and the words are nowhere in clear in the ledger's bytes.
#[test]
fn a_third_member_cannot_read_a_review_text_while_the_requester_can() {
    let s = scenario(34, 400);
    let pk = |k: &SigningKey| taawun_core::PublicKey(k.verifying_key().to_bytes());
    let key_of = |p: &taawun_core::PublicKey| {
        s.members
            .iter()
            .chain(&s.requesters)
            .find(|k| pk(k) == *p)
            .expect("a party's key")
    };
    let bytes: Vec<u8> = s.entries.iter().flat_map(|v| v.envelope()).collect();
    let mut seen = 0;
    for v in &s.entries {
        let Body::Review(r) = &v.entry().body else {
            continue;
        };
        let text = r.text.as_ref().expect("synthetic reviews have a text");
        let author = v.entry().author;
        let Reading::Text(words) = text.read(&[key_of(&r.requester)]) else {
            panic!("the requester reviewed cannot read the review's text");
        };
        assert_eq!(text.read(&[key_of(&author)]), Reading::Text(words.clone()));
        let third = s
            .members
            .iter()
            .find(|k| pk(k) != author)
            .expect("another member");
        assert_eq!(text.read(&[third]), Reading::Sealed);
        assert!(
            !bytes.windows(words.len()).any(|w| w == words.as_bytes()),
            "the review text {words:?} is in clear in the ledger"
        );
        seen += 1;
    }
    assert!(seen > 0, "the scenario holds reviews");
}

/// A rejection's reason is sealed to the member whose work was rejected and the
/// requester: three real nodes (the member's, the requester's and a third member's) hold
/// the rejection by sync and fold it as rejected work, the member's and the requester's
/// nodes read its reason with their own keys, and the third member's node cannot, nor
/// does the reason appear in clear in its export.
#[test]
fn a_third_member_cannot_read_a_rejection_reason_while_the_member_and_the_requester_can() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(34, 400);
        let coop = s.coop;
        let pk = |k: &SigningKey| taawun_core::PublicKey(k.verifying_key().to_bytes());
        let key_of = |p: &taawun_core::PublicKey| {
            s.members
                .iter()
                .chain(&s.requesters)
                .find(|k| pk(k) == *p)
                .expect("a party's key")
                .clone()
        };
        // The first rejection of the scenario, with the member whose work it rejects.
        let (rejection, sub) = s
            .entries
            .iter()
            .find_map(|v| match &v.entry().body {
                Body::Reject(r) => Some((v.clone(), r.submission)),
                _ => None,
            })
            .expect("the scenario rejects some work");
        let member = key_of(
            &s.entries
                .iter()
                .find(|v| v.id() == sub)
                .expect("the rejected submission")
                .entry()
                .author,
        );
        let requester = key_of(&rejection.entry().author);
        let third = s
            .members
            .iter()
            .find(|k| pk(k) != pk(&member))
            .expect("another member")
            .clone();

        let m = TestNode::start_member(
            &root.path().join("m"),
            member.clone(),
            vec![],
            notify.clone(),
        )
        .await;
        m.net.join(s.entries[0].clone()).await.expect("joins");
        m.take_all(&s).await;
        let mut nodes = vec![m];
        for (dir, k) in [("r", &requester), ("c", &third)] {
            let n = TestNode::start_member(
                &root.path().join(dir),
                k.clone(),
                vec![nodes[0].addr.clone()],
                notify.clone(),
            )
            .await;
            n.net.join(s.entries[0].clone()).await.expect("joins");
            nodes.push(n);
        }
        let refs: Vec<&TestNode> = nodes.iter().collect();
        converge(&refs, coop, None, &notify, CONVERGE).await;

        // What each node's own fold holds, read with that node's own key.
        let mut read = Vec::new();
        for (n, k) in nodes.iter().zip([&member, &requester, &third]) {
            let state = n.net.state(coop).await.expect("state");
            let review = state
                .submission(&sub, now())
                .expect("the submission at every node")
                .review;
            let taawun_core::fold::Review::Rejected { reason, .. } = review else {
                panic!("the work is rejected at every node: {review:?}");
            };
            read.push(reason.read(&[k]));
        }
        let Reading::Text(words) = &read[0] else {
            panic!(
                "the member cannot read why its work was rejected: {:?}",
                read[0]
            );
        };
        assert_eq!(
            read[1],
            Reading::Text(words.clone()),
            "the requester reads it"
        );
        assert_eq!(read[2], Reading::Sealed, "the third member does not");
        let export = nodes[2].net.export(coop).await.expect("exports");
        assert!(
            !export.windows(words.len()).any(|w| w == words.as_bytes()),
            "the reason {words:?} is in clear in a third member's export"
        );
        for n in nodes {
            n.stop().await;
        }
    });
}
