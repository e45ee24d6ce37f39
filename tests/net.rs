//! Multi-node tests: real taawun nodes (libp2p over TCP on 127.0.0.1, sled in temporary
//! directories) in one process. Every scenario comes from a fixed seed.

mod net_common;

use net_common::{converge, start_nodes, wait_for, TestNode};
use std::sync::Arc;
use std::time::Duration;
use taawun_core::body::{Body, Claim, Offer};
use taawun_core::entry::envelope;
use taawun_core::synth::{self, Params, Scenario};
use taawun_core::writer::Writer;
use taawun_core::{Id, Money, PublicKey};
use taawun_net::gossip::{self, Verdict};
use taawun_net::libp2p::futures::StreamExt;
use taawun_net::libp2p::gossipsub;
use taawun_net::libp2p::swarm::SwarmEvent;
use taawun_net::libp2p::{noise, tcp, yamux, Multiaddr};
use taawun_net::{Event, Via};
use tokio::sync::Notify;

/// Time allowed for a convergence; they take well under a second to a few seconds.
const CONVERGE: Duration = Duration::from_secs(20);

fn scenario(seed: u64, entries: usize) -> Scenario {
    synth::generate(&Params {
        seed,
        entries,
        ..Params::default()
    })
}

fn pk(k: &ed25519_dalek::SigningKey) -> PublicKey {
    PublicKey(k.verifying_key().to_bytes())
}

fn now() -> u64 {
    taawun_net::config::system_now()
}

/// An offer paying `pay` EUR cents for `minutes`, open now.
fn offer(title: &str, pay: u64, minutes: u32) -> Body {
    Body::Offer(Offer {
        title: title.into(),
        description: "Transcribe the interview recordings.".into(),
        purpose: "An oral history of the cooperative's founding".into(),
        pay: Money::new("EUR", pay),
        minutes,
        assignments: 1,
        expires_at: now() + 7 * 24 * 60 * 60 * 1000,
        review_window_ms: 24 * 60 * 60 * 1000,
        claim_window_ms: 10 * 60 * 1000,
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// (a) A cooperative founded on one node: its whole life (charter, amendment, offers,
/// claims, assignments, submissions, verdicts, settlements, receipts, reviews) reaches
/// five nodes, plus live writes on two others; all end with identical heads and state.
#[test]
fn five_nodes_converge() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(11, 150);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 5, 10, &s.entries[0], &notify).await;

        let out = nodes[0]
            .net
            .ingest(coop, s.entries[1..].to_vec(), true)
            .await
            .expect("ingests");
        assert!(out
            .iter()
            .all(|o| matches!(o, taawun_ledger::Ingest::Stored { .. })));
        let refs: Vec<&TestNode> = nodes.iter().collect();
        converge(&refs, coop, None, &notify, CONVERGE).await;

        // Live writes: a requester on node 1 offers, a member on node 2 claims.
        let o = nodes[1]
            .net
            .append(
                coop,
                s.requesters[0].clone(),
                offer("Interviews", 2000, 60),
                None,
            )
            .await
            .expect("offer appended");
        wait_for(
            "the offer on node 2",
            || {
                nodes[2]
                    .events()
                    .iter()
                    .any(|e| matches!(e, Event::Stored { id, .. } if *id == o.id()))
            },
            &notify,
            CONVERGE,
        )
        .await;
        nodes[2]
            .net
            .append(
                coop,
                s.members[1].clone(),
                Body::Claim(Claim { offer: o.id() }),
                None,
            )
            .await
            .expect("claim appended");
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;
        let total: u64 = heads.iter().map(|(_, h)| h.seq).sum();
        assert_eq!(total as usize, s.entries.len() + 2);

        let at = now();
        let first = nodes[0].net.state(coop).await.expect("state");
        for n in &nodes[1..] {
            let st = n.net.state(coop).await.expect("state");
            assert_eq!(st.balances(at), first.balances(at));
            assert_eq!(st.heads(), first.heads());
        }
        // Gossip, not only sync, carried entries.
        wait_for(
            "entries stored from gossip",
            || nodes[1..].iter().any(|n| n.stored_via(Via::Gossip) > 0),
            &notify,
            CONVERGE,
        )
        .await;
        for n in nodes {
            n.stop().await;
        }
    });
}

/// An attacker: a bare gossipsub peer that validates nothing and publishes what it is
/// given once a taawun node has subscribed to the topic.
async fn attacker(
    target: Multiaddr,
    coop: Id,
    messages: Vec<Vec<u8>>,
) -> (taawun_net::libp2p::PeerId, tokio::task::JoinHandle<()>) {
    let config = gossip::config_builder(Duration::from_millis(250))
        .build()
        .expect("config");
    let behaviour: gossipsub::Behaviour =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
            .expect("gossipsub");
    let mut swarm =
        taawun_net::libp2p::SwarmBuilder::with_existing_identity(net_common::keypair(99))
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )
            .expect("tcp")
            .with_behaviour(|_| behaviour)
            .expect("behaviour")
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
    let topic = gossip::topic(&coop);
    swarm.behaviour_mut().subscribe(&topic).expect("subscribes");
    swarm.dial(target).expect("dials");
    let peer = *swarm.local_peer_id();
    let task = tokio::spawn(async move {
        let mut messages = Some(messages);
        loop {
            let ev = swarm.select_next_some().await;
            if let SwarmEvent::Behaviour(gossipsub::Event::Subscribed { topic: t, .. }) = ev {
                if t == topic.hash() {
                    for m in messages.take().unwrap_or_default() {
                        swarm
                            .behaviour_mut()
                            .publish(topic.clone(), m)
                            .expect("published");
                    }
                }
            }
        }
    });
    (peer, task)
}

/// (b) An offer under the floor, an entry with a bad signature and malformed bytes,
/// published by a raw gossipsub peer that bypasses validation, are rejected by the node
/// it is connected to, stored by no one, and never reach a third node; the attacker's
/// score drops. (Three rejected messages graylist it, so the valid entry that proves the
/// path to the third node works is written by the first node.)
#[test]
fn invalid_gossip_stops_at_the_first_node() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(12, 60);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 2, 20, &s.entries[0], &notify).await;
        nodes[0]
            .net
            .ingest(coop, s.entries[1..].to_vec(), true)
            .await
            .expect("ingests");
        let refs: Vec<&TestNode> = nodes.iter().collect();
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;
        let head = |k: &ed25519_dalek::SigningKey| {
            heads.iter().find(|(a, _)| *a == pk(k)).map(|(_, h)| *h)
        };

        // 1 EUR per hour: under the 13 EUR floor.
        let mut w = Writer::new(s.requesters[0].clone(), Some(coop), head(&s.requesters[0]));
        let cheap = w.next(offer("Cheap", 100, 60), now(), None);
        // A valid offer with one bit of its signature flipped.
        let mut w1 = Writer::new(s.requesters[1].clone(), Some(coop), head(&s.requesters[1]));
        let signed = w1.next(offer("Forged", 2000, 60), now(), None);
        let mut sig = *signed.signature();
        sig[5] ^= 1;
        let forged = envelope(signed.bytes(), &sig);
        let junk = b"\x82not an envelope at all".to_vec();
        let bad = [cheap.envelope(), forged, junk];
        let bad_ids: Vec<_> = bad.iter().map(|b| gossip::message_id(b)).collect();
        let (evil, task) = attacker(nodes[0].addr.clone(), coop, bad.to_vec()).await;
        let rejects = |n: &TestNode| {
            n.events()
                .into_iter()
                .filter_map(|e| match e {
                    Event::Gossip {
                        peer,
                        message,
                        verdict: Verdict::Reject,
                        ..
                    } if peer == evil => Some(message),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        wait_for(
            "three rejections on node 0",
            || rejects(&nodes[0]).len() == 3,
            &notify,
            CONVERGE,
        )
        .await;

        // Then node 0 writes a valid offer at the seq the refused one claimed: it
        // reaches node 1 (which the attacker is not connected to), the bad ones never did.
        let good = nodes[0]
            .net
            .append(coop, s.requesters[0].clone(), offer("Fair", 2000, 60), None)
            .await
            .expect("appends");
        wait_for(
            "the valid entry on node 1",
            || {
                nodes[1]
                    .events()
                    .iter()
                    .any(|e| matches!(e, Event::Stored { id, .. } if *id == good.id()))
            },
            &notify,
            CONVERGE,
        )
        .await;
        let rejected = rejects(&nodes[0]);
        assert_eq!(rejected, bad_ids);
        for e in nodes[1].events() {
            if let Event::Gossip { message, .. } = e {
                assert!(!bad_ids.contains(&message), "a bad message reached node 1");
            }
        }
        let score = nodes[0].net.score(evil).await.expect("score");
        assert!(score.is_some_and(|s| s < 0.0), "attacker score {score:?}");
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;
        let h0 = heads.iter().find(|(a, _)| *a == pk(&s.requesters[0]));
        assert_eq!(h0.map(|(_, h)| h.id), Some(good.id()));
        assert_eq!(
            heads
                .iter()
                .find(|(a, _)| *a == pk(&s.requesters[1]))
                .map(|(_, h)| h.seq),
            head(&s.requesters[1]).map(|h| h.seq)
        );
        task.abort();
        for n in nodes {
            n.stop().await;
        }
    });
}

/// (c) A node stopped while 1,000 entries are written elsewhere catches up through sync
/// once restarted from its data directory.
#[test]
fn restarted_node_catches_up() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(13, 1000);
        let coop = s.coop;
        let mut nodes = start_nodes(root.path(), 3, 30, &s.entries[0], &notify).await;
        let c = nodes.pop().expect("three nodes");
        let c_dir = c.dir.clone();
        c.stop().await;

        nodes[0]
            .net
            .ingest(coop, s.entries[1..].to_vec(), true)
            .await
            .expect("ingests");
        let refs: Vec<&TestNode> = nodes.iter().collect();
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;

        let c = TestNode::start(&c_dir, 32, vec![nodes[0].addr.clone()], notify.clone()).await;
        let all = [&nodes[0], &nodes[1], &c];
        converge(&all, coop, Some(&heads), &notify, CONVERGE).await;
        // Events reach the test through a forwarding task, after the heads reply.
        wait_for(
            "entries stored through sync on the restarted node",
            || c.stored_via(Via::Sync) > 0,
            &notify,
            CONVERGE,
        )
        .await;
        c.stop().await;
        for n in nodes {
            n.stop().await;
        }
    });
}

/// (d) Two halves of a partition both write; once reconnected, they converge.
#[test]
fn partition_heals() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(14, 60);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 4, 40, &s.entries[0], &notify).await;
        nodes[0]
            .net
            .ingest(coop, s.entries[1..].to_vec(), true)
            .await
            .expect("ingests");
        let refs: Vec<&TestNode> = nodes.iter().collect();
        converge(&refs, coop, None, &notify, CONVERGE).await;

        let (left, right) = nodes.split_at(2);
        for l in left {
            for r in right {
                l.net.block(r.peer()).await.expect("blocks");
                r.net.block(l.peer()).await.expect("blocks");
            }
        }
        for l in left {
            let mut peers = l.net.peers().await.expect("peers");
            while peers.iter().any(|p| right.iter().any(|r| r.peer() == *p)) {
                let _ = tokio::time::timeout(Duration::from_millis(50), notify.notified()).await;
                peers = l.net.peers().await.expect("peers");
            }
        }

        // Each side: a requester offers, a member claims.
        let sides = [(left, 0usize, 1usize), (right, 1, 2)];
        for (side, req, member) in sides {
            let o = side[0]
                .net
                .append(
                    coop,
                    s.requesters[req].clone(),
                    offer("Split", 2000, 30),
                    None,
                )
                .await
                .expect("offer");
            let pair: Vec<&TestNode> = side.iter().collect();
            converge(&pair, coop, None, &notify, CONVERGE).await;
            side[1]
                .net
                .append(
                    coop,
                    s.members[member].clone(),
                    Body::Claim(Claim { offer: o.id() }),
                    None,
                )
                .await
                .expect("claim");
        }
        let lh = converge(&[&left[0], &left[1]], coop, None, &notify, CONVERGE).await;
        let rh = converge(&[&right[0], &right[1]], coop, None, &notify, CONVERGE).await;
        assert_ne!(lh, rh);

        for l in left {
            for r in right {
                l.net.unblock(r.peer()).await.expect("unblocks");
                r.net.unblock(l.peer()).await.expect("unblocks");
            }
        }
        left[0]
            .net
            .dial(right[0].addr.clone())
            .await
            .expect("dials");
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;
        let total: u64 = heads.iter().map(|(_, h)| h.seq).sum();
        assert_eq!(total as usize, s.entries.len() + 4);
        for n in nodes {
            n.stop().await;
        }
    });
}
