//! Multi-node tests: real taawun nodes (libp2p over TCP on 127.0.0.1, sled in temporary
//! directories) in one process. Every scenario comes from a fixed seed.

mod net_common;

use net_common::{
    converge, now, runtime, scenario, start_nodes, start_nodes_as, wait_for, TestNode, Who,
};
use std::sync::Arc;
use std::time::Duration;
use taawun_core::body::{Body, Claim, Offer};
use taawun_core::entry::envelope;
use taawun_core::writer::Writer;
use taawun_core::{lottery, Hash, Id, Money, PublicKey, Verified};
use taawun_ledger::Ingest;
use taawun_net::gossip::{self, Verdict};
use taawun_net::libp2p::futures::StreamExt;
use taawun_net::libp2p::gossipsub;
use taawun_net::libp2p::swarm::SwarmEvent;
use taawun_net::libp2p::Multiaddr;
use taawun_net::result::{self, Refusal};
use taawun_net::{Event, NetConfig, NetError, Via, Writing};
use tokio::sync::Notify;

/// Time allowed for a convergence; they take well under a second to a few seconds.
const CONVERGE: Duration = Duration::from_secs(20);

fn pk(k: &ed25519_dalek::SigningKey) -> PublicKey {
    PublicKey(k.verifying_key().to_bytes())
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
        commit: lottery::commit(&taawun_core::Hash([3; 32])),
    })
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
        let nodes = start_nodes(root.path(), 5, &s, &notify).await;

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
    key: &ed25519_dalek::SigningKey,
    target: Multiaddr,
    coop: Id,
    messages: Vec<Vec<u8>>,
) -> (taawun_net::libp2p::PeerId, tokio::task::JoinHandle<()>) {
    attacker_as(99, key, target, coop, messages).await
}

/// [`attacker`] with the identity of `seed`: a hostile member proving `key` (the node
/// takes no gossip from a peer that proved no role), which publishes once the node has
/// admitted it and subscribed.
async fn attacker_as(
    seed: u8,
    key: &ed25519_dalek::SigningKey,
    target: Multiaddr,
    coop: Id,
    messages: Vec<Vec<u8>>,
) -> (taawun_net::libp2p::PeerId, tokio::task::JoinHandle<()>) {
    use net_common::ProvingEvent;
    let config = gossip::config_builder(Duration::from_millis(250))
        .build()
        .expect("config");
    let behaviour: gossipsub::Behaviour =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
            .expect("gossipsub");
    let mut swarm = net_common::proving_swarm(seed, behaviour);
    let topic = gossip::topic(&coop);
    swarm
        .behaviour_mut()
        .inner
        .subscribe(&topic)
        .expect("subscribes");
    swarm.dial(target).expect("dials");
    let peer = *swarm.local_peer_id();
    let key = key.clone();
    let task = tokio::spawn(async move {
        let mut messages = Some(messages);
        let (mut admitted, mut subscribed) = (false, false);
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    net_common::ask_hello(&mut swarm, peer_id)
                }
                SwarmEvent::Behaviour(ProvingEvent::Hello(ev)) => {
                    admitted |= net_common::on_hello(&mut swarm, &key, &[coop], ev)
                }
                SwarmEvent::Behaviour(ProvingEvent::Inner(gossipsub::Event::Subscribed {
                    topic: t,
                    ..
                })) if t == topic.hash() => subscribed = true,
                _ => {}
            }
            if admitted && subscribed {
                for m in messages.take().unwrap_or_default() {
                    swarm
                        .behaviour_mut()
                        .inner
                        .publish(topic.clone(), m)
                        .expect("published");
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
        let nodes = start_nodes(root.path(), 2, &s, &notify).await;
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
        let (evil, task) = attacker(&s.members[5], nodes[0].addr.clone(), coop, bad.to_vec()).await;
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

/// (c) A node stopped while 10,000 entries are written elsewhere catches up through sync
/// once restarted from its data directory. 10,000 entries of 8 authors depending on one
/// another overflow the ledger's pending buffer (4,096) when fetched chain by chain (that
/// stalled at a few hundred entries): this needs the log-order catch-up.
#[test]
fn restarted_node_catches_up() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(13, 10_000);
        assert!(s.entries.len() >= 10_000, "{}", s.entries.len());
        let coop = s.coop;
        let mut nodes = start_nodes(root.path(), 3, &s, &notify).await;
        let c = nodes.pop().expect("three nodes");
        let c_dir = c.dir.clone();
        c.stop().await;

        // Written elsewhere: both running nodes hold them (gossip of 10,000 messages at
        // once is not what this test is about).
        for n in &nodes {
            n.take_all(&s).await;
        }
        let refs: Vec<&TestNode> = nodes.iter().collect();
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;

        let c = TestNode::start_member(
            &c_dir,
            net_common::roles(&s)[2].clone(),
            vec![nodes[0].addr.clone()],
            notify.clone(),
        )
        .await;
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
        let nodes = start_nodes(root.path(), 4, &s, &notify).await;
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

/// (e) A worker submits while the requester's node is offline: the result waits in the
/// worker's outbox and reaches the requester once it restarts from its data directory,
/// hash checked. Wrong bytes are refused by the worker's own node and, sent by a raw
/// peer, by the requester's node.
#[test]
fn result_reaches_a_requester_that_was_offline() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(15, 40);
        let coop = s.coop;
        let (requester, worker) = (s.requesters[0].clone(), s.members[1].clone());
        let nodes = net_common::start_requester_and_worker(root.path(), &s, &notify, |c| c).await;
        // The requester's peer id is its transport key's, not its member key's.
        let member_peer =
            taawun_net::libp2p::identity::Keypair::ed25519_from_bytes(requester.to_bytes())
                .expect("key")
                .public()
                .to_peer_id();
        assert_ne!(nodes[0].peer(), member_peer);
        nodes[0]
            .net
            .ingest(coop, s.entries[1..].to_vec(), true)
            .await
            .expect("ingests");
        let refs: Vec<&TestNode> = nodes.iter().collect();
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;

        // 64 KiB of a deterministic transcript.
        let bytes: Vec<u8> = b"Q: When did the cooperative start? A: In the spring. "
            .iter()
            .copied()
            .cycle()
            .take(64 * 1024)
            .collect();
        let life = net_common::task_life(&s, &heads, &requester, &worker, &bytes);
        let sub = life[3].clone();
        net_common::start_task(&nodes[0], &nodes[1], coop, &life).await;
        converge(&refs, coop, None, &notify, CONVERGE).await;

        // The requester goes offline; the worker submits.
        let mut nodes = nodes;
        let req = nodes.remove(0);
        let (req_dir, req_peer) = (req.dir.clone(), req.peer());
        req.stop().await;
        let w = nodes.remove(0);
        let out = w
            .net
            .ingest(coop, vec![sub.clone()], true)
            .await
            .expect("ingests");
        assert!(matches!(out[0], taawun_ledger::Ingest::Stored { .. }));

        let mut wrong = bytes.clone();
        wrong[100] ^= 1;
        let refused = w.net.send_result(coop, sub.id(), wrong.clone()).await;
        assert!(
            matches!(refused, Err(NetError::Result(Refusal::WrongHash))),
            "{refused:?}"
        );
        let refused = w.net.send_result(coop, sub.id(), bytes[1..].to_vec()).await;
        assert!(
            matches!(refused, Err(NetError::Result(Refusal::WrongSize { .. }))),
            "{refused:?}"
        );
        w.net
            .send_result(coop, sub.id(), bytes.clone())
            .await
            .expect("queued");
        assert_eq!(
            w.net.result(coop, sub.id()).await.expect("reads"),
            Some(bytes.clone())
        );

        // The requester comes back from its data directory (a new port, so the worker
        // cannot reach it until it dials the worker).
        let req = TestNode::start_member(
            &req_dir,
            requester.clone(),
            vec![w.addr.clone()],
            notify.clone(),
        )
        .await;
        assert_eq!(req.peer(), req_peer);
        wait_for(
            "the result on the requester's node",
            || net_common::result_delivered(&req, &w, sub.id()),
            &notify,
            CONVERGE,
        )
        .await;
        let got = req
            .net
            .result(coop, sub.id())
            .await
            .expect("reads")
            .expect("stored");
        let Body::Submit(stated) = &sub.entry().body else {
            panic!("a submit")
        };
        assert_eq!(Hash::of(&got), stated.result);
        assert_eq!(got, bytes);

        // Wrong bytes from a raw peer are refused by the requester's node, which keeps
        // the genuine result.
        let answer = net_common::raw_result(
            Some(&s.members[3]),
            req.addr.clone(),
            req.peer(),
            result::Request::new(coop, sub.id(), wrong.clone()),
            CONVERGE,
        )
        .await;
        assert_eq!(answer, result::Response::Refused(Refusal::WrongHash));
        // A stranger (no member key proven) learns nothing: as from a node without the
        // cooperative.
        let answer = net_common::raw_result(
            None,
            req.addr.clone(),
            req.peer(),
            result::Request::new(coop, sub.id(), wrong),
            CONVERGE,
        )
        .await;
        assert_eq!(answer, result::Response::Refused(Refusal::UnknownCoop));
        assert_eq!(
            req.net.result(coop, sub.id()).await.expect("reads"),
            Some(bytes)
        );
        assert!(!w.saw(|e| matches!(e, Event::ResultRefused { .. })));
        req.stop().await;
        w.stop().await;
    });
}

/// A worker's node stops just after signing a submission, before the result was written
/// as the submission's or queued (as a crash there would leave it). The bytes were kept
/// before signing ([`taawun_net::Network::stage_result`], the first step of
/// `Network::submit`), so when the node starts again the result becomes the
/// submission's and reaches the requester. Bytes kept for a submission never signed are
/// dropped.
#[test]
fn a_result_kept_before_its_submission_was_signed_survives_a_stop_in_between() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(17, 40);
        let coop = s.coop;
        let (requester, worker) = (s.requesters[0].clone(), s.members[1].clone());
        let nodes = net_common::start_requester_and_worker(root.path(), &s, &notify, |c| c).await;
        nodes[0].take_all(&s).await;
        let refs: Vec<&TestNode> = nodes.iter().collect();
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;
        let bytes: Vec<u8> = b"label: cooperative; "
            .iter()
            .copied()
            .cycle()
            .take(10_000)
            .collect();
        let life = net_common::task_life(&s, &heads, &requester, &worker, &bytes);
        let (offer, sub) = (life[0].id(), life[3].clone());
        net_common::start_task(&nodes[0], &nodes[1], coop, &life).await;
        converge(&refs, coop, None, &notify, CONVERGE).await;

        let mut nodes = nodes;
        let w = nodes.remove(1);
        let req = nodes.remove(0);
        // Kept, then signed (here: handed over signed), then the node stops.
        w.net
            .stage_result(coop, offer, bytes.clone())
            .await
            .expect("kept");
        let never_signed = Id([0x5a; 32]);
        w.net
            .stage_result(coop, never_signed, b"never submitted".to_vec())
            .await
            .expect("kept");
        let out = w
            .net
            .ingest(coop, vec![sub.clone()], true)
            .await
            .expect("ingests");
        assert!(matches!(out[0], Ingest::Stored { .. }));
        assert!(!w.net.has_result(coop, sub.id()));
        let w_dir = w.dir.clone();
        w.stop().await;

        let w = TestNode::start_member(
            &w_dir,
            worker.clone(),
            vec![req.addr.clone()],
            notify.clone(),
        )
        .await;
        assert!(
            w.net.has_result(coop, sub.id()),
            "the kept bytes are the submission's result"
        );
        wait_for(
            "the result of the submission signed before the stop, on the requester's node",
            || net_common::result_delivered(&req, &w, sub.id()),
            &notify,
            CONVERGE,
        )
        .await;
        assert_eq!(
            req.net.result(coop, sub.id()).await.expect("reads"),
            Some(bytes)
        );
        // Nothing kept is left: the result is the submission's, the other never signed.
        let staged = std::fs::read_dir(w_dir.join("results").join("staged"))
            .expect("the folder of kept results")
            .count();
        assert_eq!(staged, 0, "kept results left behind");
        req.stop().await;
        w.stop().await;
    });
}

/// The gossip verdicts `node` reported on messages forwarded by `peer`: (message, verdict,
/// reason).
fn verdicts_from(
    node: &TestNode,
    from: taawun_net::libp2p::PeerId,
) -> Vec<(gossipsub::MessageId, Verdict, String)> {
    node.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Gossip {
                peer,
                message,
                verdict,
                reason,
                ..
            } if peer == from => Some((message, verdict, reason)),
            _ => None,
        })
        .collect()
}

/// (f) Hostile raw peers: an oversized message and a claim by a non-member are rejected
/// (the sender penalised); a replay of a stored entry is ignored without penalty and not
/// stored again; a fork (two properly signed entries of one member at one seq, published
/// to two different nodes) is caught: every node keeps evidence and freezes the author,
/// and the member nodes that caught it publish an `Evidence` entry. Honest traffic flows
/// afterwards.
#[test]
fn hostile_peers_are_refused_and_a_fork_freezes_its_author() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(16, 60);
        let coop = s.coop;
        let forker = s.members[2].clone();
        let whos = [0, 1, 3]
            .iter()
            .map(|i| Who::Member(Box::new(s.members[*i].clone())))
            .collect();
        let nodes = start_nodes_as(root.path(), whos, &s.entries[0], &notify).await;
        // Not gossiped: nodes 1 and 2 get the entries by sync, so a replay by gossip is
        // not already in their duplicate cache.
        nodes[0].take_all(&s).await;
        let refs: Vec<&TestNode> = nodes.iter().collect();
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;
        let head = |k: &ed25519_dalek::SigningKey| {
            heads.iter().find(|(a, _)| *a == pk(k)).map(|(_, h)| *h)
        };
        let gov = net_common::last_enactment(&s);
        // The fork is to travel by gossip here (sync would bring its branches a round
        // later): the nodes' mesh must be whole before the attackers publish.
        net_common::meshed(&refs, coop, CONVERGE).await;

        let oversized = vec![0x82u8; taawun_core::entry::MAX_ENVELOPE_BYTES + 1];
        let some_offer = s
            .entries
            .iter()
            .find(|v| matches!(v.entry().body, Body::Offer(_)))
            .map(|v| v.id())
            .expect("an offer");
        let stranger = ed25519_dalek::SigningKey::from_bytes(&[77; 32]);
        let claim = Writer::new(stranger, Some(coop), None)
            .next(Body::Claim(Claim { offer: some_offer }), now(), gov)
            .envelope();
        let replay = s.entries[5].envelope();
        let mut wa = Writer::new(forker.clone(), Some(coop), head(&forker));
        let mut wb = Writer::new(forker.clone(), Some(coop), head(&forker));
        let fork_a = wa.next(offer("Fork A", 2000, 60), now(), gov);
        let fork_b = wb.next(offer("Fork B", 2000, 60), now(), gov);
        assert_eq!(fork_a.entry().seq, fork_b.entry().seq);
        assert_ne!(fork_a.id(), fork_b.id());

        // The oversized message comes alone from its own peer: gossipsub 0.50.1 checks
        // the size of its whole read buffer, so frames following a large one in the same
        // read would be dropped with it. It proves a key of its own: a key proven from two
        // peers is served on the last only.
        let (evil_big, task_big) =
            attacker_as(96, &s.requesters[0], nodes[0].addr.clone(), coop, vec![oversized.clone()]).await;
        let (evil_a, task_a) = attacker_as(
            98,
            &s.members[4],
            nodes[0].addr.clone(),
            coop,
            vec![claim.clone(), fork_a.envelope()],
        )
        .await;
        let (evil_b, task_b) = attacker_as(
            97,
            &s.members[5],
            nodes[1].addr.clone(),
            coop,
            vec![replay.clone(), fork_b.envelope()],
        )
        .await;
        let ids = |m: &[Vec<u8>]| m.iter().map(|b| gossip::message_id(b)).collect::<Vec<_>>();
        let bad = ids(&[oversized, claim]);

        // Oversized and non-member: rejected by node 0, their senders penalised.
        for (evil, what) in [(evil_big, bad[0].clone()), (evil_a, bad[1].clone())] {
            wait_for(
                "a rejection on node 0",
                || {
                    verdicts_from(&nodes[0], evil)
                        .iter()
                        .any(|(m, v, _)| *v == Verdict::Reject && *m == what)
                },
                &notify,
                CONVERGE,
            )
            .await;
            let score = nodes[0].net.score(evil).await.expect("score");
            assert!(score.is_some_and(|s| s < 0.0), "attacker score {score:?}");
        }

        // The replay: ignored on node 1, no penalty, stored once.
        let replay_id = gossip::message_id(&replay);
        wait_for(
            "the replay judged on node 1",
            || {
                verdicts_from(&nodes[1], evil_b)
                    .iter()
                    .any(|(m, _, _)| *m == replay_id)
            },
            &notify,
            CONVERGE,
        )
        .await;
        let judged = verdicts_from(&nodes[1], evil_b);
        let (_, v, reason) = judged
            .iter()
            .find(|(m, _, _)| *m == replay_id)
            .expect("judged");
        assert_eq!(*v, Verdict::Ignore, "{reason}");
        assert!(reason.contains("Duplicate"), "{reason}");
        assert!(!nodes[1].saw(
            |e| matches!(e, Event::Stored { id, via: Via::Gossip, .. } if *id == s.entries[5].id())
        ));
        let score = nodes[1].net.score(evil_b).await.expect("score");
        assert!(score.is_some_and(|s| s >= 0.0), "replayer score {score:?}");

        // The fork: evidence and a frozen author on every node.
        let author = pk(&forker);
        let start = std::time::Instant::now();
        loop {
            let mut done = true;
            for n in &nodes {
                let frozen = n.net.frozen(coop).await.expect("frozen");
                let evidence = n.net.evidence(coop).await.expect("evidence");
                done &= frozen.get(&author) == Some(&fork_a.entry().seq) && !evidence.is_empty();
            }
            if done {
                break;
            }
            assert!(start.elapsed() < CONVERGE, "the fork did not freeze its author everywhere");
            let _ = tokio::time::timeout(Duration::from_millis(100), notify.notified()).await;
        }
        // Whoever caught the fork published evidence of it, once.
        wait_for(
            "evidence published by every node that caught the fork",
            || {
                nodes.iter().all(|n| {
                    let caught = n.saw(|e| matches!(e, Event::Equivocation { .. }));
                    let published = n
                        .events()
                        .iter()
                        .filter(|e| matches!(e, Event::EvidencePublished { author: a, .. } if *a == author))
                        .count();
                    published == usize::from(caught)
                })
            },
            &notify,
            CONVERGE,
        )
        .await;
        assert!(nodes
            .iter()
            .any(|n| n.saw(|e| matches!(e, Event::EvidencePublished { .. }))));
        // The bad messages never left node 0.
        for n in &nodes[1..] {
            for e in n.events() {
                if let Event::Gossip { message, .. } = e {
                    assert!(!bad.contains(&message), "a bad message left node 0");
                }
            }
        }

        // Honest traffic still flows, to and from every node.
        let fair = nodes[2]
            .net
            .append(coop, s.requesters[0].clone(), offer("Fair", 2000, 60), None)
            .await
            .expect("appends");
        wait_for(
            "the honest entry everywhere",
            || {
                nodes[..2]
                    .iter()
                    .all(|n| n.saw(|e| matches!(e, Event::Stored { id, .. } if *id == fair.id())))
            },
            &notify,
            CONVERGE,
        )
        .await;
        task_big.abort();
        task_a.abort();
        task_b.abort();
        for n in nodes {
            n.stop().await;
        }
    });
}

/// A fork's second entry releases the entries of its branch that came before it: the
/// node reports them stored (`Via::Released`) as it does for entries released by any
/// stored entry, whether the entries came by gossip or were handed in locally.
#[test]
fn entries_released_by_a_forks_second_entry_are_reported() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(21, 60);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 1, &s, &notify).await;
        let n = &nodes[0];
        n.take_all(&s).await;
        let heads = n.heads(coop).await;
        let head = |k: &ed25519_dalek::SigningKey| {
            heads.iter().find(|(a, _)| *a == pk(k)).map(|(_, h)| *h)
        };
        let gov = net_common::last_enactment(&s);
        let released = |id: Id| {
            move |e: &Event| matches!(e, Event::Stored { id: i, via: Via::Released, .. } if *i == id)
        };

        // By gossip: the first entry is stored here, then the branch's entry arrives and
        // waits, then the second entry at the seq.
        let forker = &s.members[2];
        let mut wa = Writer::new(forker.clone(), Some(coop), head(forker));
        let mut wb = Writer::new(forker.clone(), Some(coop), head(forker));
        let fork_a = wa.next(offer("Fork A", 2000, 60), now(), gov);
        let fork_b = wb.next(offer("Fork B", 2000, 60), now(), gov);
        let branch = wb.next(offer("Branch B", 2000, 60), now(), gov);
        n.net
            .ingest(coop, vec![fork_a], false)
            .await
            .expect("ingests");
        let (early, task_early) =
            attacker_as(95, &s.members[4], n.addr.clone(), coop, vec![branch.envelope()]).await;
        let branch_msg = gossip::message_id(&branch.envelope());
        wait_for(
            "the branch's entry judged",
            || {
                verdicts_from(n, early)
                    .iter()
                    .any(|(m, v, _)| *m == branch_msg && *v == Verdict::Ignore)
            },
            &notify,
            CONVERGE,
        )
        .await;
        assert!(!n.saw(|e| matches!(e, Event::Stored { id, .. } if *id == branch.id())));
        let (late, task_late) =
            attacker_as(94, &s.members[4], n.addr.clone(), coop, vec![fork_b.envelope()]).await;
        wait_for(
            "the branch's entry released by the second entry",
            || n.saw(released(branch.id())),
            &notify,
            CONVERGE,
        )
        .await;
        let fork_msg = gossip::message_id(&fork_b.envelope());
        assert!(verdicts_from(n, late)
            .iter()
            .any(|(m, v, _)| *m == fork_msg && *v == Verdict::Accept));
        assert!(n.saw(|e| matches!(e, Event::Equivocation { author, .. } if *author == pk(forker))));

        // Handed in locally, in one batch: the branch's entry first.
        let forker = &s.members[1];
        let mut wa = Writer::new(forker.clone(), Some(coop), head(forker));
        let mut wb = Writer::new(forker.clone(), Some(coop), head(forker));
        let fork_a = wa.next(offer("Fork C", 2000, 60), now(), gov);
        let fork_b = wb.next(offer("Fork D", 2000, 60), now(), gov);
        let branch = wb.next(offer("Branch D", 2000, 60), now(), gov);
        n.net
            .ingest(coop, vec![fork_a], false)
            .await
            .expect("ingests");
        let out = n
            .net
            .ingest(coop, vec![branch.clone(), fork_b], false)
            .await
            .expect("ingests");
        assert!(matches!(out[0], Ingest::Pending(_)), "{out:?}");
        assert!(
            matches!(&out[1], Ingest::Equivocation { released, .. } if *released == vec![branch.id()]),
            "{out:?}"
        );
        wait_for(
            "the branch's entry released by a local second entry",
            || n.saw(released(branch.id())),
            &notify,
            CONVERGE,
        )
        .await;

        task_early.abort();
        task_late.abort();
        for n in nodes {
            n.stop().await;
        }
    });
}

/// A fork's second entry and its branch, held by one node only (never gossiped): the
/// other node, which holds the first entry on its chain, gets them by sync, from the
/// summary of the fork's branches in the heads answer and a `Branches` request.
#[test]
fn a_node_that_missed_a_forks_second_branch_gets_it_by_sync() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(16, 40);
        let coop = s.coop;
        let forker = s.members[2].clone();
        let whos = [0, 1]
            .iter()
            .map(|i| Who::Member(Box::new(s.members[*i].clone())))
            .collect();
        let nodes = start_nodes_as(root.path(), whos, &s.entries[0], &notify).await;
        nodes[0].take_all(&s).await;
        let refs: Vec<&TestNode> = nodes.iter().collect();
        let heads = converge(&refs, coop, None, &notify, CONVERGE).await;
        let head = heads
            .iter()
            .find(|(a, _)| *a == pk(&forker))
            .map(|(_, h)| *h);
        let gov = net_common::last_enactment(&s);
        let mut wa = Writer::new(forker.clone(), Some(coop), head);
        let mut wb = Writer::new(forker.clone(), Some(coop), head);
        let fork_a = wa.next(offer("Fork A", 2000, 60), now(), gov);
        let fork_b = wb.next(offer("Fork B", 2000, 60), now(), gov);
        let branch_b = wb.next(offer("Branch B", 2000, 60), now(), gov);
        // Node 0 only, not gossiped: node 1 can learn the first entry by its chain slot,
        // the second and its branch only from the fork's branches.
        let out = nodes[0]
            .net
            .ingest(
                coop,
                vec![fork_a.clone(), fork_b.clone(), branch_b.clone()],
                false,
            )
            .await
            .expect("ingests");
        assert!(matches!(out[1], Ingest::Equivocation { .. }), "{out:?}");
        assert!(matches!(out[2], Ingest::Stored { .. }), "{out:?}");
        // The second entry is reported as the equivocation it is on node 1 (it came by
        // sync: nothing else carries it there), the entry of its branch as stored by sync.
        let second = fork_b.envelope();
        wait_for(
            "the second branch on node 1, by sync",
            || {
                nodes[1].saw(
                    |e| matches!(e, Event::Equivocation { evidence, .. } if evidence.b == second),
                ) && nodes[1].saw(
                    |e| matches!(e, Event::Stored { id, via: Via::Sync, .. } if *id == branch_b.id()),
                )
            },
            &notify,
            CONVERGE,
        )
        .await;
        let author = pk(&forker);
        for n in &nodes {
            let frozen = n.net.frozen(coop).await.expect("frozen");
            assert_eq!(frozen.get(&author), Some(&fork_a.entry().seq));
        }
        for n in nodes {
            n.stop().await;
        }
    });
}

/// A peer whose sync responses carry an entry with a bad signature: the node stores
/// nothing of it and the peer's score drops below zero (each invalid sync entry costs
/// `sync::SYNC_FAULT_SCORE`).
#[test]
fn invalid_sync_responses_cost_their_sender() {
    use taawun_net::libp2p::request_response::{self, cbor, ProtocolSupport};
    use taawun_net::libp2p::StreamProtocol;
    use taawun_net::sync::{self, Request, Response, Summary, WireHead};

    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(16, 20);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 1, &s, &notify).await;
        let node = &nodes[0];

        // The peer claims a head one entry past the charter and serves that entry with
        // one signature byte flipped (the signature is the envelope's last 64 bytes).
        let e = s.entries[1].clone();
        let head = WireHead {
            author: e.entry().author,
            seq: e.entry().seq,
            id: e.id(),
        };
        let mut bad = e.envelope();
        let at = bad.len() - 10;
        bad[at] ^= 0x01;
        let behaviour: cbor::Behaviour<Request, Response> = request_response::Behaviour::new(
            [(StreamProtocol::new(sync::PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default(),
        );
        // A hostile member: the node asks only peers proven to hold a key for entries.
        let mut swarm = net_common::proving_swarm(98, behaviour);
        swarm.dial(node.addr.clone()).expect("dials");
        let hostile = *swarm.local_peer_id();
        let key = s.members[3].clone();
        let task = tokio::spawn(async move {
            use net_common::ProvingEvent;
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::Behaviour(ProvingEvent::Hello(ev)) => {
                        net_common::on_hello(&mut swarm, &key, &[coop], ev);
                    }
                    SwarmEvent::Behaviour(ProvingEvent::Inner(
                        request_response::Event::Message {
                            message:
                                request_response::Message::Request {
                                    request, channel, ..
                                },
                            ..
                        },
                    )) => {
                        let response = match request {
                            Request::Heads { .. } => Response::Heads(Some(Summary {
                                heads: vec![head],
                                branches: Vec::new(),
                            })),
                            Request::Range { .. }
                            | Request::Log { .. }
                            | Request::Branches { .. } => Response::Range {
                                entries: vec![serde_bytes::ByteBuf::from(bad.clone())],
                                more: false,
                            },
                        };
                        let _ = swarm.behaviour_mut().inner.send_response(channel, response);
                    }
                    _ => {}
                }
            }
        });

        let start = std::time::Instant::now();
        loop {
            let score = node.net.score(hostile).await.expect("score");
            // Proven (gossip open), then scored down by its bad entry.
            if score.is_some_and(|s| s < 0.0 && s > gossip::unproven_penalty() / 2.0) {
                break;
            }
            assert!(start.elapsed() < CONVERGE, "score stayed {score:?}");
            let _ = tokio::time::timeout(Duration::from_millis(100), notify.notified()).await;
        }
        let heads = node.heads(coop).await;
        assert_eq!(heads.iter().map(|(_, h)| h.seq).sum::<u64>(), 1);
        assert!(!node.saw(|ev| matches!(ev, Event::Stored { id, .. } if *id == e.id())));
        task.abort();
        for n in nodes {
            n.stop().await;
        }
    });
}

/// What a [`raw_gossip`] peer saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// A connection opened.
    Connected,
    /// Its last connection closed.
    Closed,
    /// A dial failed.
    DialFailed,
    /// The node it is connected to subscribed to the topic (its queued messages went out).
    Subscribed,
}

/// What a [`raw_gossip`] peer is told to do.
enum RawCommand {
    /// Dial this address.
    Dial(Multiaddr),
    /// Publish these messages on the topic, at once if the node's subscription is known,
    /// else as soon as it is.
    Publish(Vec<Vec<u8>>),
}

/// A bare gossipsub peer (no validation, no sync) driven by commands, reporting what it
/// sees: a peer that misbehaves, is shut out, and comes back.
fn raw_gossip(
    seed: u8,
    key: &ed25519_dalek::SigningKey,
    coop: Id,
) -> (
    taawun_net::libp2p::PeerId,
    tokio::sync::mpsc::UnboundedSender<RawCommand>,
    tokio::sync::mpsc::UnboundedReceiver<Raw>,
    tokio::task::JoinHandle<()>,
) {
    let config = gossip::config_builder(Duration::from_millis(250))
        .build()
        .expect("config");
    let behaviour: gossipsub::Behaviour =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
            .expect("gossipsub");
    let mut swarm = net_common::proving_swarm(seed, behaviour);
    let topic = gossip::topic(&coop);
    swarm
        .behaviour_mut()
        .inner
        .subscribe(&topic)
        .expect("subscribes");
    let peer = *swarm.local_peer_id();
    let (cmd_tx, mut commands) = tokio::sync::mpsc::unbounded_channel();
    let (ev_tx, events) = tokio::sync::mpsc::unbounded_channel();
    let key = key.clone();
    let task = tokio::spawn(async move {
        use net_common::ProvingEvent;
        let (mut subscribed, mut admitted, mut reported) = (false, false, false);
        let mut queue: Vec<Vec<u8>> = Vec::new();
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None => return,
                    Some(RawCommand::Dial(addr)) => {
                        if swarm.dial(addr).is_err() {
                            let _ = ev_tx.send(Raw::DialFailed);
                        }
                    }
                    Some(RawCommand::Publish(m)) => queue.extend(m),
                },
                ev = swarm.select_next_some() => match ev {
                    SwarmEvent::ConnectionEstablished { peer_id, num_established, .. } => {
                        if num_established.get() == 1 {
                            net_common::ask_hello(&mut swarm, peer_id);
                        }
                        let _ = ev_tx.send(Raw::Connected);
                    }
                    SwarmEvent::ConnectionClosed { num_established: 0, .. } => {
                        (subscribed, admitted, reported) = (false, false, false);
                        let _ = ev_tx.send(Raw::Closed);
                    }
                    SwarmEvent::OutgoingConnectionError { .. } => {
                        let _ = ev_tx.send(Raw::DialFailed);
                    }
                    SwarmEvent::Behaviour(ProvingEvent::Hello(ev)) => {
                        admitted |= net_common::on_hello(&mut swarm, &key, &[coop], ev);
                    }
                    SwarmEvent::Behaviour(ProvingEvent::Inner(gossipsub::Event::Subscribed {
                        topic: t,
                        ..
                    })) if t == topic.hash() => subscribed = true,
                    _ => {}
                },
            }
            // Subscribed: the node's subscription is known and it admitted this peer.
            if subscribed && admitted && !reported {
                reported = true;
                let _ = ev_tx.send(Raw::Subscribed);
            }
            if subscribed && admitted {
                for m in queue.drain(..) {
                    swarm
                        .behaviour_mut()
                        .inner
                        .publish(topic.clone(), m)
                        .expect("published");
                }
            }
        }
    });
    (peer, cmd_tx, events, task)
}

/// Waits for the first report of `rx` matching `want`, and returns it.
async fn raw_event(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Raw>,
    want: impl Fn(Raw) -> bool,
    what: &str,
) -> Raw {
    loop {
        match tokio::time::timeout(CONVERGE, rx.recv()).await {
            Ok(Some(e)) if want(e) => return e,
            Ok(Some(_)) => {}
            other => panic!("timed out waiting for {what}: {other:?}"),
        }
    }
}

/// Three messages that do not decode: rejected, and together enough to graylist their
/// sender (P4: -10 x 3^2 = -90, under -80).
fn junk(tag: &str) -> Vec<Vec<u8>> {
    (0..3)
        .map(|i| format!("\u{82}not an envelope {tag} {i}").into_bytes())
        .collect()
}

/// A peer graylisted for invalid gossip is locked out (its redial refused) for the first
/// lockout, then let back in with a clean score: not shut out again merely for
/// reconnecting (gossipsub's default kept its graylisted score for an hour after every
/// disconnection, so a peer that kept redialing never got back), and its valid messages
/// are accepted. Graylisted again, it is locked out for twice as long.
#[test]
fn a_graylisted_peer_is_let_back_in_after_its_lockout() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(17, 40);
        let coop = s.coop;
        let first = Duration::from_secs(1);
        let dir = root.path().join("0");
        let config = taawun_net::NetConfig {
            graylist_lockout: first,
            ..net_common::config(&dir, Vec::new())
        };
        let node = TestNode::start_with(
            &dir,
            Who::Member(Box::new(s.members[0].clone())),
            config,
            notify.clone(),
        )
        .await;
        node.net.join(s.entries[0].clone()).await.expect("joins");
        node.take_all(&s).await;

        let (evil, raw, mut seen, task) = raw_gossip(71, &s.members[1], coop);
        raw.send(RawCommand::Dial(node.addr.clone()))
            .expect("raw peer");
        raw.send(RawCommand::Publish(junk("first")))
            .expect("raw peer");
        let locked = |strikes: u32| {
            let node = &node;
            move || {
                node.events().iter().find_map(|e| match e {
                    Event::LockedOut {
                        peer,
                        strikes: n,
                        lockout,
                    } if *peer == evil && *n == strikes => Some(*lockout),
                    _ => None,
                })
            }
        };
        wait_for(
            "the first lockout",
            || locked(1)().is_some(),
            &notify,
            CONVERGE,
        )
        .await;
        assert_eq!(locked(1)(), Some(first));

        // It redials at once, as a member's node does: refused while locked out (no
        // connection reported between the lockout and its end).
        raw_event(
            &mut seen,
            |e| e == Raw::Closed,
            "the lockout's disconnection",
        )
        .await;
        raw.send(RawCommand::Dial(node.addr.clone()))
            .expect("raw peer");
        let outcome = raw_event(
            &mut seen,
            |e| matches!(e, Raw::Closed | Raw::DialFailed | Raw::Subscribed),
            "the redial's outcome",
        )
        .await;
        wait_for(
            "the end of the lockout",
            || node.saw(|e| matches!(e, Event::LockoutEnded(p) if *p == evil)),
            &notify,
            CONVERGE,
        )
        .await;
        let events = node.events();
        let at = |f: &dyn Fn(&Event) -> bool| events.iter().position(f).expect("event");
        let start = at(&|e| matches!(e, Event::LockedOut { peer, .. } if *peer == evil));
        let end = at(&|e| matches!(e, Event::LockoutEnded(p) if *p == evil));
        assert!(
            !events[start..end]
                .iter()
                .any(|e| matches!(e, Event::PeerConnected(p) if *p == evil)),
            "a locked-out peer connected"
        );

        // Back after the lockout, with a clean score, and heard.
        if outcome != Raw::Subscribed {
            raw.send(RawCommand::Dial(node.addr.clone()))
                .expect("raw peer");
            raw_event(&mut seen, |e| e == Raw::Subscribed, "the reconnection").await;
        }
        let score = node.net.score(evil).await.expect("score").expect("scored");
        assert!(
            !gossip::graylisted(score),
            "score {score} after the lockout"
        );
        let heads = node.heads(coop).await;
        let head = heads
            .iter()
            .find(|(a, _)| *a == pk(&s.requesters[0]))
            .map(|(_, h)| *h);
        let fair = Writer::new(s.requesters[0].clone(), Some(coop), head).next(
            offer("Fair", 2000, 60),
            now(),
            None,
        );
        let fair_id = gossip::message_id(&fair.envelope());
        raw.send(RawCommand::Publish(vec![fair.envelope()]))
            .expect("raw peer");
        wait_for(
            "the returning peer's valid message accepted",
            || {
                verdicts_from(&node, evil)
                    .iter()
                    .any(|(m, v, _)| *m == fair_id && *v == Verdict::Accept)
            },
            &notify,
            CONVERGE,
        )
        .await;
        assert!(!node.saw(|e| matches!(e, Event::LockedOut { strikes: 2, .. })));

        // Misbehaving again: locked out for twice as long.
        raw.send(RawCommand::Publish(junk("second")))
            .expect("raw peer");
        wait_for(
            "the second lockout",
            || locked(2)().is_some(),
            &notify,
            CONVERGE,
        )
        .await;
        assert_eq!(locked(2)(), Some(2 * first));
        task.abort();
        node.stop().await;
    });
}

/// A peer that does not speak `/taawun/sync/1` (a bare gossipsub peer) is asked once per
/// connection: after its "protocol not supported" the node stops asking it, through sync
/// rounds and explicit syncs, while it keeps syncing its other peers; reconnected, it is
/// asked once more.
#[test]
fn a_peer_without_sync_is_asked_once_per_connection() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(18, 20);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 2, &s, &notify).await;
        let (a, b) = (&nodes[0], &nodes[1]);
        let refused = |n: usize| {
            a.events()
                .iter()
                .filter(|e| matches!(e, Event::SyncUnsupported(_)))
                .count()
                >= n
        };

        let (raw_peer, raw, mut seen, task) = raw_gossip(74, &s.members[5], coop);
        raw.send(RawCommand::Dial(a.addr.clone()))
            .expect("raw peer");
        raw_event(
            &mut seen,
            |e| e == Raw::Subscribed,
            "the raw peer connected",
        )
        .await;
        wait_for("the refusal of sync", || refused(1), &notify, CONVERGE).await;
        assert!(a.saw(|e| matches!(e, Event::SyncUnsupported(p) if *p == raw_peer)));
        let asked = a.net.sync_peer(raw_peer).await.expect("sync peer");
        assert_eq!(
            asked,
            Some(taawun_net::PeerSync {
                requests: 1,
                unsupported: true
            })
        );

        // Explicit syncs reach node b (a new request once its last session is over), not
        // the raw peer.
        wait_for(
            "node b connected",
            || a.saw(|e| matches!(e, Event::PeerConnected(p) if *p == b.peer())),
            &notify,
            CONVERGE,
        )
        .await;
        let before = a
            .net
            .sync_peer(b.peer())
            .await
            .expect("sync peer")
            .expect("b connected")
            .requests;
        let start = std::time::Instant::now();
        loop {
            a.net.sync().await.expect("syncs");
            let now = a.net.sync_peer(b.peer()).await.expect("sync peer");
            if now.is_some_and(|p| p.requests > before) {
                break;
            }
            assert!(start.elapsed() < CONVERGE, "node b was not asked again");
            let _ = tokio::time::timeout(Duration::from_millis(100), notify.notified()).await;
        }
        for _ in 0..3 {
            a.net.sync().await.expect("syncs");
        }
        assert_eq!(a.net.sync_peer(raw_peer).await.expect("sync peer"), asked);

        // A new connection is asked once more.
        task.abort();
        wait_for(
            "the raw peer gone",
            || a.saw(|e| matches!(e, Event::PeerDisconnected(p) if *p == raw_peer)),
            &notify,
            CONVERGE,
        )
        .await;
        assert_eq!(a.net.sync_peer(raw_peer).await.expect("sync peer"), None);
        let (_, raw, mut seen, task) = raw_gossip(74, &s.members[5], coop);
        raw.send(RawCommand::Dial(a.addr.clone()))
            .expect("raw peer");
        raw_event(&mut seen, |e| e == Raw::Subscribed, "the raw peer back").await;
        wait_for("the second refusal", || refused(2), &notify, CONVERGE).await;
        a.net.sync().await.expect("syncs");
        assert_eq!(a.net.sync_peer(raw_peer).await.expect("sync peer"), asked);
        task.abort();
        for n in nodes {
            n.stop().await;
        }
    });
}

/// Stores `entries` (the charter first) in a ledger at `dir`, as a data folder that held
/// them when its node stopped.
fn folder_with(dir: &std::path::Path, entries: &[Verified]) {
    let ledger = taawun_ledger::Ledger::open(dir).expect("ledger opens");
    let mut c = ledger.found(entries[0].clone()).expect("charter");
    c.ingest_many(entries[1..].to_vec(), None).expect("ingests");
    c.commit().expect("commits");
    c.flush().expect("flushes");
}

/// A member's node started from a data folder that lacks an entry the member signed
/// elsewhere (a restored backup) signs nothing while it waits for a peer to confirm its
/// chain: no write, and not even the evidence of a fork it sees, which would take the same
/// seq as the entry it lacks. Once an admitted peer's sync has brought that entry, it
/// publishes the evidence and writes after it, and nobody sees the member fork.
#[test]
fn a_restored_node_signs_nothing_until_a_peer_confirms_its_chain() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(23, 60);
        let coop = s.coop;
        let gov = net_common::last_enactment(&s);
        let me = s.requesters[0].clone();
        let (dir0, dir1) = (root.path().join("0"), root.path().join("1"));
        folder_with(&dir0, &s.entries);
        let guarded = NetConfig {
            confirm_own_chain: true,
            ..net_common::config(&dir0, Vec::new())
        };
        let n0 = TestNode::start_with(&dir0, Who::Member(Box::new(me.clone())), guarded, notify.clone()).await;
        let mine = n0.heads(coop).await.into_iter().find(|(a, _)| *a == pk(&me)).map(|(_, h)| h);
        let below = mine.map_or(0, |h| h.seq);

        // Alone on the network: every write of the member's is refused, and says why.
        assert_eq!(n0.net.writing(coop).await.expect("writing"), Writing::Waiting { peers: 0 });
        match n0.net.append(coop, me.clone(), offer("Too early", 2000, 60), None).await {
            Err(NetError::Unconfirmed { peers: 0, .. }) => {}
            other => panic!("a waiting node wrote: {other:?}"),
        }
        // A fork by someone else: reported, but the evidence is not signed yet.
        let forker = &s.members[2];
        let head = n0.heads(coop).await.into_iter().find(|(a, _)| *a == pk(forker)).map(|(_, h)| h);
        let mut wa = Writer::new(forker.clone(), Some(coop), head);
        let mut wb = Writer::new(forker.clone(), Some(coop), head);
        let fork = vec![
            wa.next(offer("Fork A", 2000, 60), now(), gov),
            wb.next(offer("Fork B", 2000, 60), now(), gov),
        ];
        n0.net.ingest(coop, fork, false).await.expect("ingests");
        wait_for(
            "the fork to be reported",
            || n0.saw(|e| matches!(e, Event::Equivocation { author, .. } if *author == pk(forker))),
            &notify,
            CONVERGE,
        )
        .await;
        // The evidence would be the member's next entry: its chain has not moved.
        assert_eq!(
            n0.heads(coop).await.into_iter().find(|(a, _)| *a == pk(&me)).map(|(_, h)| h.seq),
            mine.map(|h| h.seq),
            "nothing signed as the member"
        );

        // The member signed one more entry on its other node, which a peer holds.
        let elsewhere = Writer::new(me.clone(), Some(coop), mine).next(offer("Signed elsewhere", 2000, 60), now(), gov);
        let mut held = s.entries.clone();
        held.push(elsewhere.clone());
        folder_with(&dir1, &held);
        let n1 = TestNode::start_member(&dir1, s.members[0].clone(), vec![n0.addr.clone()], notify.clone()).await;
        wait_for(
            "the peer to confirm the member's chain",
            || n0.saw(|e| matches!(e, Event::Confirmed { coop: c, peer, seq } if *c == coop && *peer == n1.peer() && *seq == below + 1)),
            &notify,
            CONVERGE,
        )
        .await;
        assert!(n0.saw(|e| matches!(e, Event::Stored { id, via: Via::Sync, .. } if *id == elsewhere.id())));
        wait_for(
            "the evidence held to be published",
            || n0.saw(|e| matches!(e, Event::EvidencePublished { author, .. } if *author == pk(forker))),
            &notify,
            CONVERGE,
        )
        .await;
        assert_eq!(
            n0.net.writing(coop).await.expect("writing"),
            Writing::Confirmed { peer: n1.peer(), seq: below + 1 }
        );
        let v = n0.net.append(coop, me.clone(), offer("After the sync", 2000, 60), None).await.expect("writes");
        assert_eq!(v.entry().seq, below + 3, "after the entry signed elsewhere and the evidence");
        wait_for(
            "the new entry to reach the peer",
            || n1.saw(|e| matches!(e, Event::Stored { id, .. } if *id == v.id())),
            &notify,
            CONVERGE,
        )
        .await;
        for n in [&n0, &n1] {
            let frozen = n.net.frozen(coop).await.expect("frozen");
            assert!(!frozen.contains_key(&pk(&me)), "the member forked");
            assert!(frozen.contains_key(&pk(forker)));
        }
        n0.stop().await;
        n1.stop().await;
    });
}

/// A node over its peer target closes the connections it need not keep (here, peers that
/// dialed it and are in no gossip mesh) and keeps the peers it chose (those it dialed on
/// the operator's word), however many.
#[test]
fn a_node_over_its_peer_target_closes_the_excess_and_keeps_the_peers_it_chose() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let dir = |name: &str| root.path().join(name);
        let hub_config = NetConfig {
            peer_target: 5,
            prune_grace: Duration::from_millis(300),
            ..net_common::config(&dir("hub"), Vec::new())
        };
        let hub = TestNode::start_with(&dir("hub"), Who::Seed(1), hub_config, notify.clone()).await;
        let mut chosen = Vec::new();
        for i in 0..6u8 {
            let n = TestNode::start(
                &dir(&format!("chosen{i}")),
                10 + i,
                Vec::new(),
                notify.clone(),
            )
            .await;
            hub.net.dial(n.addr.clone()).await.expect("dials");
            chosen.push(n);
        }
        let mut inbound = Vec::new();
        for i in 0..3u8 {
            inbound.push(
                TestNode::start(
                    &dir(&format!("inbound{i}")),
                    20 + i,
                    vec![hub.addr.clone()],
                    notify.clone(),
                )
                .await,
            );
        }
        let gone = |peer| hub.saw(|e| matches!(e, Event::PeerDisconnected(p) if *p == peer));
        // Nine peers, five kept beyond those that stay: each inbound peer is let go
        // (again whenever it comes back), and no chosen one.
        wait_for(
            "the hub to close each inbound connection",
            || inbound.iter().all(|n| gone(n.peer())),
            &notify,
            Duration::from_secs(30),
        )
        .await;
        for n in &chosen {
            assert!(!gone(n.peer()), "the hub closed a peer it chose");
        }
        for n in chosen.into_iter().chain(inbound) {
            n.stop().await;
        }
        hub.stop().await;
    });
}

/// A reader asking for the state after far more new entries than the task applies
/// itself (the refresh then runs on the blocking pool) gets every one of them, as does a
/// reader asking while that refresh runs; and a reader sees a write answered before its
/// ask.
#[test]
fn a_reader_gets_every_entry_stored_before_its_ask() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(14, 1_500);
        let coop = s.coop;
        let nodes = start_nodes(root.path(), 1, &s, &notify).await;
        let n = &nodes[0];
        let first = n.net.state(coop).await.expect("state");
        assert_eq!(first.len(), 1, "the charter");
        n.take_all(&s).await;
        let mut reference = taawun_core::fold::Coop::new();
        for v in &s.entries {
            reference.ingest(v.clone(), None).expect("valid");
        }
        let (a, b) = tokio::time::timeout(CONVERGE, async {
            tokio::join!(n.net.state(coop), n.net.state(coop))
        })
        .await
        .expect("both readers answered");
        assert_eq!(*a.expect("state"), reference);
        assert_eq!(*b.expect("state"), reference);
        assert_eq!(first.len(), 1, "a reader's state never changes under it");

        let o = n
            .net
            .append(
                coop,
                s.requesters[0].clone(),
                offer("Survey", 2000, 60),
                None,
            )
            .await
            .expect("offer appended");
        let st = n.net.state(coop).await.expect("state");
        assert!(
            st.get(&o.id()).is_some(),
            "the write answered before the ask"
        );
        assert_eq!(st.len(), s.entries.len() + 1);
        for n in nodes {
            n.stop().await;
        }
    });
}
