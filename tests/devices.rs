//! Device keys on the network (docs/protocol.md 4.7, 13.10): a node running with a
//! device key of a member is admitted as that member once the member's authorisation is
//! in the other node's ledger (before it enrolls, so that it can sync the authorisation
//! its enrollment names), and is shut out of gossip once the member revokes it. Real
//! nodes on loopback.

mod net_common;

use net_common::{converge, meshed, now, runtime, scenario, start_nodes_as, Who};
use std::sync::Arc;
use std::time::{Duration, Instant};
use taawun_core::body::{Body, Device, Enroll, RevokeDevice};
use taawun_core::validate::Head;
use taawun_core::writer::Writer;
use taawun_core::{Id, PublicKey, Verified};
use taawun_net::Event;
use tokio::sync::Notify;

const TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn a_device_is_admitted_as_its_member_until_revoked() {
    runtime().block_on(async {
        let Setup {
            s,
            root: _root,
            notify,
            phone,
            phone_key,
            nodes,
        } = Setup::start(11, 88, |s, phone| vec![s.members[0].clone(), phone.clone()]).await;
        let coop = s.coop;

        // Member 1 authorises the phone, which enrolls.
        let member = &s.members[1];
        let last = s
            .entries
            .iter()
            .rev()
            .find(|v| v.entry().author.0 == member.verifying_key().to_bytes())
            .map(|v| Head {
                seq: v.entry().seq,
                id: v.id(),
                ts: v.entry().ts,
                gov: v.entry().gov,
            });
        let mut wm = Writer::new(member.clone(), Some(coop), last);
        let device = wm.next(
            Body::Device(Device {
                key: phone_key,
                label: "phone".into(),
            }),
            now(),
            None,
        );
        nodes[0]
            .net
            .ingest(coop, vec![device.clone()], true)
            .await
            .expect("ingests");
        // Authorised, not enrolled yet: admitted as the member so that it can sync the
        // authorisation it must name.
        converge(&[&nodes[0], &nodes[1]], coop, None, &notify, TIMEOUT).await;
        // The phone's node enrolls; its entry reaches the member's node.
        let enroll = nodes[1]
            .net
            .append(
                coop,
                phone.clone(),
                Body::Enroll(Enroll {
                    device: device.id(),
                }),
                None,
            )
            .await
            .expect("the phone enrolls");
        converge(&[&nodes[0], &nodes[1]], coop, None, &notify, TIMEOUT).await;
        let state = nodes[0].net.state(coop).await.expect("state");
        assert!(state.get(&enroll.id()).is_some());
        assert_eq!(
            state.speaker(&phone_key),
            PublicKey(member.verifying_key().to_bytes())
        );
        meshed(&[&nodes[0], &nodes[1]], coop, TIMEOUT).await;

        // The member revokes the phone from its own key: the node shuts its gossip.
        let revoke = wm.next(
            Body::RevokeDevice(RevokeDevice { key: phone_key }),
            now(),
            None,
        );
        nodes[0]
            .net
            .ingest(coop, vec![revoke], false)
            .await
            .expect("ingests");
        let phone_peer = nodes[1].peer();
        let start = Instant::now();
        loop {
            let mesh = nodes[0].net.mesh(coop).await.expect("mesh");
            if !mesh.contains(&phone_peer) {
                break;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "the revoked phone stays in the mesh"
            );
            let _ = tokio::time::timeout(Duration::from_millis(100), notify.notified()).await;
        }
        for n in nodes {
            n.stop().await;
        }
    });
}

/// A requester works from its phone: the worker's node hands a result to the node proving
/// the requester's device key (not revoked), as it would to the requester's own key
/// (protocol.md 13.7), and the phone's node takes it.
#[test]
fn a_result_reaches_the_requesters_phone() {
    runtime().block_on(async {
        let Setup {
            s,
            root: _root,
            notify,
            phone,
            phone_key,
            nodes,
        } = Setup::start(12, 89, |s, phone| vec![s.members[1].clone(), phone.clone()]).await;
        let coop = s.coop;
        let (requester, worker) = (s.requesters[0].clone(), s.members[1].clone());
        // The phone's node is admitted once the authorisation is in the worker's ledger.
        let heads = nodes[0].net.heads(coop).await.expect("heads");

        // The requester authorises its phone, which enrolls.
        let gov = net_common::last_enactment(&s);
        let device = authorise(&mut writer_after(&heads, &requester, coop), phone_key, gov);
        nodes[0]
            .net
            .ingest(coop, vec![device.clone()], true)
            .await
            .expect("ingests");
        converge(&[&nodes[0], &nodes[1]], coop, None, &notify, TIMEOUT).await;
        nodes[1]
            .net
            .append(
                coop,
                phone.clone(),
                Body::Enroll(Enroll {
                    device: device.id(),
                }),
                None,
            )
            .await
            .expect("the phone enrolls");
        let heads = converge(&[&nodes[0], &nodes[1]], coop, None, &notify, TIMEOUT).await;

        // An offer of the requester (from its main key, elsewhere), done by the worker.
        let bytes = b"the transcript of the second interview".to_vec();
        let [o, c, a, sub] = net_common::task_life(&s, &heads, &requester, &worker, &bytes);
        ingest_stored(&nodes[0], coop, vec![o, c, a, sub.clone()], true).await;
        converge(&[&nodes[0], &nodes[1]], coop, None, &notify, TIMEOUT).await;
        nodes[0]
            .net
            .send_result(coop, sub.id(), bytes.clone())
            .await
            .expect("queued");
        net_common::wait_for(
            "the result on the requester's phone",
            || {
                nodes[1].saw(|e| matches!(e, Event::ResultReceived { submission, .. } if *submission == sub.id()))
                    && nodes[0].saw(|e| matches!(e, Event::ResultDelivered { submission, juror: None, .. } if *submission == sub.id()))
            },
            &notify,
            TIMEOUT,
        )
        .await;
        assert_eq!(
            nodes[1].net.result(coop, sub.id()).await.expect("reads"),
            Some(bytes)
        );
        for n in nodes {
            n.stop().await;
        }
    });
}

/// A requester's phone is stolen and revoked: the worker's node hands no result to the
/// thief's peer, though it proves the phone's key (a raw peer that would take anything),
/// and hands it to the requester's own node once that one connects.
#[test]
fn a_revoked_phone_is_handed_no_result_and_its_requester_s_node_is() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use taawun_net::libp2p::futures::StreamExt;
    use taawun_net::libp2p::request_response::{self, cbor, Message, ProtocolSupport};
    use taawun_net::libp2p::swarm::SwarmEvent;
    use taawun_net::libp2p::StreamProtocol;
    use taawun_net::result;
    runtime().block_on(async {
        let Setup {
            s,
            root,
            notify,
            phone,
            phone_key,
            nodes,
        } = Setup::start(13, 90, |s, _| vec![s.members[1].clone()]).await;
        let coop = s.coop;
        let (requester, worker) = (s.requesters[0].clone(), s.members[1].clone());
        // The requester authorises its phone, which enrolls; later the requester revokes
        // it, and a task of the requester's is done by the worker.
        let heads = nodes[0].net.heads(coop).await.expect("heads");
        let gov = net_common::last_enactment(&s);
        let mut wr = writer_after(&heads, &requester, coop);
        let device = authorise(&mut wr, phone_key, gov);
        let enroll = Writer::new(phone.clone(), Some(coop), None).next(
            Body::Enroll(Enroll {
                device: device.id(),
            }),
            now() - 55 * 60 * 1000,
            gov,
        );
        ingest_stored(&nodes[0], coop, vec![device, enroll], false).await;

        // The thief's peer proves the phone's key and takes every result it is handed.
        let behaviour = cbor::Behaviour::<result::Request, result::Response>::new(
            [(StreamProtocol::new(result::PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default(),
        );
        let mut thief = net_common::proving_swarm(66, behaviour);
        let target = nodes[0].peer();
        thief.add_peer_address(target, nodes[0].addr.clone());
        net_common::ask_hello(&mut thief, target);
        let (admitted, handed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (ad, h, n) = (admitted.clone(), handed.clone(), notify.clone());
        let thief_task = tokio::spawn(async move {
            loop {
                match thief.select_next_some().await {
                    SwarmEvent::Behaviour(net_common::ProvingEvent::Hello(ev)) => {
                        let yes = net_common::on_hello(&mut thief, &phone, &[coop], ev);
                        ad.fetch_add(usize::from(yes), Ordering::SeqCst);
                        n.notify_one();
                    }
                    SwarmEvent::Behaviour(net_common::ProvingEvent::Inner(
                        request_response::Event::Message {
                            message: Message::Request { channel, .. },
                            ..
                        },
                    )) => {
                        h.fetch_add(1, Ordering::SeqCst);
                        n.notify_one();
                        let _ = thief
                            .behaviour_mut()
                            .inner
                            .send_response(channel, result::Response::Stored);
                    }
                    _ => {}
                }
            }
        });
        // Admitted while the phone is live: the worker's node has just read roles in
        // which the phone speaks for the requester.
        net_common::wait_for(
            "the thief admitted on the phone's key",
            || admitted.load(Ordering::SeqCst) > 0,
            &notify,
            TIMEOUT,
        )
        .await;

        // The requester revokes the phone, and at once a task of the requester's is done
        // by the worker and its result queued, while the thief is the only peer proving a
        // key of the requester's.
        let revoke = wr.next(
            Body::RevokeDevice(RevokeDevice { key: phone_key }),
            now() - 45 * 60 * 1000,
            gov,
        );
        let mut heads = nodes[0].net.heads(coop).await.expect("heads");
        let req = PublicKey(requester.verifying_key().to_bytes());
        if let Some(h) = heads.iter_mut().find(|(a, _)| *a == req) {
            h.1 = Head {
                seq: revoke.entry().seq,
                id: revoke.id(),
                ts: revoke.entry().ts,
                gov: revoke.entry().gov,
            };
        }
        let bytes = b"the transcript of the third interview".to_vec();
        let [o, c, a, sub] = net_common::task_life(&s, &heads, &requester, &worker, &bytes);
        ingest_stored(&nodes[0], coop, vec![revoke, o, c, a, sub.clone()], false).await;
        nodes[0]
            .net
            .send_result(coop, sub.id(), bytes.clone())
            .await
            .expect("queued");

        // The requester's own node comes: the result is handed to it, never to the thief.
        let dir = root.path().join("requester");
        let own = net_common::TestNode::start_member(
            &dir,
            requester.clone(),
            vec![nodes[0].addr.clone()],
            notify.clone(),
        )
        .await;
        own.net.join(s.entries[0].clone()).await.expect("joins");
        let own_peer = own.peer();
        net_common::wait_for(
            "the result on the requester's own node, or in the thief's hands",
            || {
                handed.load(Ordering::SeqCst) > 0
                    || nodes[0].saw(|e| matches!(e, Event::ResultDelivered { submission, to, .. } if *submission == sub.id() && *to == own_peer))
            },
            &notify,
            TIMEOUT,
        )
        .await;
        assert_eq!(
            handed.load(Ordering::SeqCst),
            0,
            "the revoked phone's key was handed the result"
        );
        assert_eq!(
            own.net.result(coop, sub.id()).await.expect("reads"),
            Some(bytes)
        );
        thief_task.abort();
        own.stop().await;
        for n in nodes {
            n.stop().await;
        }
    });
}

/// What each test starts from: a cooperative (the scenario), a phone key, and real nodes
/// on loopback, the first of which holds the whole scenario.
struct Setup {
    s: taawun_core::synth::Scenario,
    /// The nodes' folders, removed when dropped.
    root: tempfile::TempDir,
    notify: Arc<Notify>,
    phone: ed25519_dalek::SigningKey,
    phone_key: PublicKey,
    nodes: Vec<net_common::TestNode>,
}

impl Setup {
    /// The scenario of `seed`, a phone key of 32 `phone_byte`s, and a node for each key
    /// `keys` names (given the scenario and the phone).
    async fn start(
        seed: u64,
        phone_byte: u8,
        keys: impl FnOnce(
            &taawun_core::synth::Scenario,
            &ed25519_dalek::SigningKey,
        ) -> Vec<ed25519_dalek::SigningKey>,
    ) -> Setup {
        let s = scenario(seed, 60);
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let phone = ed25519_dalek::SigningKey::from_bytes(&[phone_byte; 32]);
        let phone_key = PublicKey(phone.verifying_key().to_bytes());
        let whos = keys(&s, &phone)
            .into_iter()
            .map(|k| Who::Member(Box::new(k)))
            .collect();
        let nodes = start_nodes_as(root.path(), whos, &s.entries[0], &notify).await;
        nodes[0].take_all(&s).await;
        Setup {
            s,
            root,
            notify,
            phone,
            phone_key,
            nodes,
        }
    }
}

/// The writer of `key`'s next entry in `coop`, after its head in `heads`.
fn writer_after(heads: &net_common::Heads, key: &ed25519_dalek::SigningKey, coop: Id) -> Writer {
    let head = heads
        .iter()
        .find(|(a, _)| a.0 == key.verifying_key().to_bytes())
        .map(|(_, h)| *h);
    Writer::new(key.clone(), Some(coop), head)
}

/// A `device` entry by `w`'s author naming `phone`, dated an hour ago (before the task's
/// life, which is stamped half an hour ago).
fn authorise(w: &mut Writer, phone: PublicKey, gov: Option<Id>) -> Verified {
    w.next(
        Body::Device(Device {
            key: phone,
            label: "phone".into(),
        }),
        now() - 60 * 60 * 1000,
        gov,
    )
}

/// Hands `entries` to `node` (gossiped if `gossip`) and asserts each was stored.
async fn ingest_stored(
    node: &net_common::TestNode,
    coop: Id,
    entries: Vec<Verified>,
    gossip: bool,
) {
    let out = node
        .net
        .ingest(coop, entries, gossip)
        .await
        .expect("ingests");
    assert!(
        out.iter()
            .all(|i| matches!(i, taawun_ledger::Ingest::Stored { .. })),
        "{out:?}"
    );
}
