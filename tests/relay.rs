//! Transports and NAT traversal, with real taawun nodes in one process: two nodes that
//! cannot dial each other exchange entries through a circuit relay, and two nodes talk
//! over QUIC only. Every scenario comes from a fixed seed.

mod net_common;

use net_common::{config, converge, runtime, scenario, wait_for, TestNode, Who};
use std::sync::Arc;
use std::time::Duration;
use taawun_core::body::{Body, Claim, Offer};
use taawun_core::synth::Scenario;
use taawun_core::{Id, Money};
use taawun_net::libp2p::multiaddr::Protocol;
use taawun_net::libp2p::Multiaddr;
use taawun_net::{Event, NetConfig};
use tokio::sync::Notify;

/// Time allowed for a convergence or a delivery; they take well under a second.
const CONVERGE: Duration = Duration::from_secs(20);

/// An offer over the floor, open now.
fn offer(title: &str) -> Body {
    let now = taawun_net::config::system_now();
    Body::Offer(Offer {
        title: title.into(),
        description: "Transcribe the interview recordings.".into(),
        purpose: "An oral history of the cooperative's founding".into(),
        pay: Money::new("EUR", 2000),
        minutes: 60,
        assignments: 1,
        expires_at: now + 7 * 24 * 60 * 60 * 1000,
        review_window_ms: 24 * 60 * 60 * 1000,
        claim_window_ms: 10 * 60 * 1000,
        commit: taawun_core::lottery::commit(&taawun_core::Hash([5; 32])),
    })
}

/// `addr` without its trailing `/p2p/<peer id>`.
fn without_peer(addr: &Multiaddr) -> Multiaddr {
    let mut a = addr.clone();
    if matches!(a.iter().last(), Some(Protocol::P2p(_))) {
        a.pop();
    }
    a
}

/// Whether `node` stored entry `id`.
fn stored(node: &TestNode, id: Id) -> bool {
    node.saw(|e| matches!(e, Event::Stored { id: i, .. } if *i == id))
}

/// Both directions of a live exchange between `a` and `b`: an offer appended on `a` is
/// stored on `b`, a claim of it appended on `b` is stored on `a`.
async fn exchange(s: &Scenario, a: &TestNode, b: &TestNode, notify: &Notify) {
    let o = a
        .net
        .append(s.coop, s.requesters[0].clone(), offer("Interviews"), None)
        .await
        .expect("offer appended");
    wait_for("the offer on b", || stored(b, o.id()), notify, CONVERGE).await;
    let c = b
        .net
        .append(
            s.coop,
            s.members[1].clone(),
            Body::Claim(Claim { offer: o.id() }),
            None,
        )
        .await
        .expect("claim appended");
    wait_for("the claim on a", || stored(a, c.id()), notify, CONVERGE).await;
}

/// Two nodes with no listen address at all (as behind NATs that let nothing in) reach
/// each other only through a relay node: B reserves a slot on the relay and listens on
/// its circuit, A dials B through it. Entries written before the connection reach B by
/// sync and gossip, and live writes go both ways. The relay holds no ledger of the
/// cooperative and proves no member key (it learns none: A and B prove themselves to each
/// other over the circuit): what B stores came over the circuit from A.
#[test]
fn nodes_behind_nats_exchange_entries_through_a_relay() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(21, 60);
        let coop = s.coop;

        let dir = root.path().join("relay");
        let relay = TestNode::start_with(
            &dir,
            Who::Seed(70),
            NetConfig {
                relay_server: true,
                ..config(&dir, vec![])
            },
            notify.clone(),
        )
        .await;
        // On loopback nothing confirms the relay's address: declare it, else the relay
        // does not serve (a reservation without addresses is refused).
        relay
            .net
            .add_external_address(without_peer(&relay.addr))
            .await
            .expect("external address");

        let dir = root.path().join("b");
        let b = TestNode::start_with(
            &dir,
            Who::Member(Box::new(s.members[0].clone())),
            NetConfig {
                listen: vec![],
                relays: vec![relay.addr.clone()],
                ..config(&dir, vec![])
            },
            notify.clone(),
        )
        .await;
        // B's only address is the circuit through the relay.
        assert!(
            b.addr.iter().any(|p| p == Protocol::P2pCircuit),
            "{}",
            b.addr
        );
        b.net.join(s.entries[0].clone()).await.expect("joins");
        b.take_all(&s).await;

        let dir = root.path().join("a");
        let a = TestNode::start_with(
            &dir,
            Who::Member(Box::new(s.members[1].clone())),
            NetConfig {
                listen: vec![],
                ..config(&dir, vec![b.addr.clone()])
            },
            notify.clone(),
        )
        .await;
        a.net.join(s.entries[0].clone()).await.expect("joins");
        wait_for(
            "a connected to b",
            || a.saw(|e| matches!(e, Event::PeerConnected(p) if *p == b.peer())),
            &notify,
            CONVERGE,
        )
        .await;
        assert!(a.net.listeners().await.expect("listeners").is_empty());

        // What B wrote before A came reaches A (sync over the circuit).
        let heads = converge(&[&b, &a], coop, None, &notify, CONVERGE).await;
        let total: u64 = heads.iter().map(|(_, h)| h.seq).sum();
        assert_eq!(total as usize, s.entries.len());

        exchange(&s, &a, &b, &notify).await;
        converge(&[&a, &b], coop, None, &notify, CONVERGE).await;
        a.stop().await;
        b.stop().await;
        relay.stop().await;
    });
}

/// Two nodes listening on QUIC only (UDP on 127.0.0.1) sync and gossip entries.
#[test]
fn nodes_talk_over_quic_only() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = scenario(22, 60);
        let coop = s.coop;
        let quic = |dir: &std::path::Path, bootstrap: Vec<Multiaddr>| NetConfig {
            listen: NetConfig::loopback_quic().listen,
            ..config(dir, bootstrap)
        };

        let dir = root.path().join("a");
        let a = TestNode::start_with(
            &dir,
            Who::Member(Box::new(s.members[0].clone())),
            quic(&dir, vec![]),
            notify.clone(),
        )
        .await;
        assert!(a.addr.iter().any(|p| p == Protocol::QuicV1), "{}", a.addr);
        a.net.join(s.entries[0].clone()).await.expect("joins");
        a.take_all(&s).await;

        let dir = root.path().join("b");
        let b = TestNode::start_with(
            &dir,
            Who::Member(Box::new(s.members[1].clone())),
            quic(&dir, vec![a.addr.clone()]),
            notify.clone(),
        )
        .await;
        b.net.join(s.entries[0].clone()).await.expect("joins");
        let heads = converge(&[&a, &b], coop, None, &notify, CONVERGE).await;
        let total: u64 = heads.iter().map(|(_, h)| h.seq).sum();
        assert_eq!(total as usize, s.entries.len());

        exchange(&s, &a, &b, &notify).await;
        a.stop().await;
        b.stop().await;
    });
}
