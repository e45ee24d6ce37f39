//! Hostile peers at volume: raw libp2p peers flood a taawun node with entries that are
//! signed but break the rules, send oversized and malformed messages and requests, ask
//! for huge ranges, open streams they never read, announce heads they do not have and
//! answer with more than the protocol allows, and send results larger than the
//! submission announced. The node stays up, its memory stays bounded, honest entries
//! still flow between honest nodes, and the flooder is scored down and locked out, for
//! longer each time it comes back and floods again.
//!
//! Every attack is bounded in count (the constants below) and in time ([`CONVERGE`] per
//! wait). Hostile peers that are there at once prove different keys: a key proven from
//! two peers is served on the last only (tests/privacy.rs).

mod net_common;

use net_common::{converge, now, runtime, start_nodes_with, wait_for, ProvingEvent, TestNode, Who};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use taawun_core::body::{Body, Claim, Offer};
use taawun_core::synth::{self, Params};
use taawun_core::writer::Writer;
use taawun_core::{Id, Money, PublicKey};
use taawun_net::gossip::{self, Verdict};
use taawun_net::libp2p::futures::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use taawun_net::libp2p::futures::StreamExt;
use taawun_net::libp2p::request_response::{self, cbor, Message, ProtocolSupport};
use taawun_net::libp2p::swarm::SwarmEvent;
use taawun_net::libp2p::{gossipsub, Multiaddr, PeerId, StreamProtocol};
use taawun_net::result::{self, Refusal};
use taawun_net::sync::{self, WireHead};
use taawun_net::Event;
use tokio::sync::Notify;

/// Time allowed for each wait.
const CONVERGE: Duration = Duration::from_secs(30);

/// Entries in the cooperative: over [`sync::SYNC_BATCH`], so a capped response shows.
const ENTRIES: usize = 1500;

/// Rule-breaking entries the flooder publishes.
const FLOOD: usize = 2000;

/// Invalid messages a flooder's connection gets judged at most, in this test: three
/// graylist it (see `gossip::topic_score`) and it is then locked out; the slack covers
/// messages already received when the verdict lands.
const JUDGED_PER_CONNECTION: usize = 16;

/// The nodes' first lockout of a graylisted peer (a minute outside tests).
const LOCKOUT: Duration = Duration::from_secs(2);

/// Requests for huge ranges and logs.
const HUGE_REQUESTS: usize = 48;

/// Streams the slow reader opens and never reads.
const SLOW_STREAMS: usize = 96;

/// How much the process's resident memory may grow over all the attacks (honest nodes
/// and attackers together, all in this process): generous, a leak or an unbounded
/// buffer under this volume goes well past it.
const RSS_GROWTH_KIB: u64 = 128 * 1024;

/// Bytes an attacker reads of one message at most.
const RAW_READ_MAX: u64 = 16 * 1024 * 1024;

fn pk(k: &ed25519_dalek::SigningKey) -> PublicKey {
    PublicKey(k.verifying_key().to_bytes())
}

/// The process's resident memory, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut buf = Vec::new();
    ciborium::into_writer(v, &mut buf).expect("encodes");
    buf
}

/// A gossipsub peer that validates nothing and publishes `messages` once `target` has
/// subscribed to the cooperative's topic.
fn gossip_attacker(
    seed: u8,
    key: &ed25519_dalek::SigningKey,
    target: Multiaddr,
    coop: Id,
    messages: Vec<Vec<u8>>,
) -> (PeerId, tokio::task::JoinHandle<()>) {
    let config = gossip::config_builder(Duration::from_millis(250))
        .build()
        .expect("config");
    let b: gossipsub::Behaviour =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
            .expect("gossipsub");
    let mut swarm = net_common::proving_swarm(seed, b);
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
                    // A full send queue drops the rest: the flood is best effort.
                    let _ = swarm.behaviour_mut().inner.publish(topic.clone(), m);
                }
            }
        }
    });
    (peer, task)
}

/// A request-response codec of raw bytes: requests are written as given, responses read
/// whole (up to [`RAW_READ_MAX`]) or, when `slow`, never read at all.
#[derive(Debug, Clone, Copy, Default)]
struct Raw {
    slow: bool,
}

impl request_response::Codec for Raw {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut v = Vec::new();
        io.take(RAW_READ_MAX).read_to_end(&mut v).await?;
        Ok(v)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        if self.slow {
            // Opens the stream, sends the request, never drains the answer.
            std::future::pending::<()>().await;
        }
        let mut v = Vec::new();
        io.take(RAW_READ_MAX).read_to_end(&mut v).await?;
        Ok(v)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        r: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&r).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        r: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&r).await
    }
}

/// What a raw sync peer saw.
#[derive(Debug, Default)]
struct Seen {
    /// Responses to its requests, decoded where they decode.
    responses: Vec<Option<sync::Response>>,
    /// Its requests that failed (refused, reset, timed out).
    failures: usize,
    /// Log or range requests the node sent it after its false heads.
    fetches: AtomicUsize,
}

/// A raw sync peer: sends `requests` (raw bytes) to `target` and collects what comes
/// back; answers the node's own sync requests with heads far ahead of anything held
/// (`claim`) and then, for the entries, junk larger than any response may be. With
/// `slow`, it never reads a response.
fn sync_attacker(
    seed: u8,
    (key, coop): (&ed25519_dalek::SigningKey, Id),
    target: Multiaddr,
    peer: PeerId,
    requests: Vec<Vec<u8>>,
    slow: bool,
    claim: WireHead,
) -> (
    Arc<Seen>,
    tokio::sync::oneshot::Receiver<Seen>,
    tokio::task::JoinHandle<()>,
) {
    let b = request_response::Behaviour::with_codec(
        Raw { slow },
        [(StreamProtocol::new(sync::PROTOCOL), ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(600))
            .with_max_concurrent_streams(SLOW_STREAMS * 2),
    );
    let mut swarm = net_common::proving_swarm(seed, b);
    swarm.add_peer_address(peer, target);
    let n = requests.len();
    // A hostile member: it proves its key, and sends its requests once admitted.
    net_common::ask_hello(&mut swarm, peer);
    let mut requests = Some(requests);
    let key = key.clone();
    let shared = Arc::new(Seen::default());
    let fetched = shared.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut seen = Seen::default();
        let mut tx = Some(tx);
        let oversized = vec![0x5a; sync::MAX_RESPONSE_BYTES as usize + 1024];
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::Behaviour(ProvingEvent::Hello(ev)) => {
                    let admitted = net_common::on_hello(&mut swarm, &key, &[coop], ev);
                    if admitted {
                        for r in requests.take().unwrap_or_default() {
                            swarm.behaviour_mut().inner.send_request(&peer, r);
                        }
                    }
                }
                SwarmEvent::Behaviour(ProvingEvent::Inner(request_response::Event::Message {
                    message: Message::Response { response, .. },
                    ..
                })) => seen
                    .responses
                    .push(ciborium::from_reader(response.as_slice()).ok()),
                SwarmEvent::Behaviour(ProvingEvent::Inner(
                    request_response::Event::OutboundFailure { .. },
                )) => seen.failures += 1,
                SwarmEvent::Behaviour(ProvingEvent::Inner(request_response::Event::Message {
                    message:
                        Message::Request {
                            request, channel, ..
                        },
                    ..
                })) => {
                    let answer = match ciborium::from_reader::<sync::Request, _>(request.as_slice())
                    {
                        Ok(sync::Request::Heads { .. }) => {
                            cbor(&sync::Response::Heads(Some(sync::Summary {
                                heads: vec![claim],
                                branches: Vec::new(),
                            })))
                        }
                        _ => {
                            fetched.fetches.fetch_add(1, Ordering::SeqCst);
                            oversized.clone()
                        }
                    };
                    let _ = swarm.behaviour_mut().inner.send_response(channel, answer);
                }
                _ => {}
            }
            if seen.responses.len() + seen.failures == n {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(std::mem::take(&mut seen));
                }
            }
        }
    });
    (shared, rx, task)
}

/// An offer paying `pay` EUR cents for an hour.
fn offer(title: &str, pay: u64) -> Body {
    Body::Offer(Offer {
        title: title.into(),
        description: "Transcribe the interview recordings.".into(),
        purpose: "An oral history of the cooperative's founding".into(),
        pay: Money::new("EUR", pay),
        minutes: 60,
        assignments: 1,
        expires_at: now() + 7 * 24 * 60 * 60 * 1000,
        review_window_ms: 24 * 60 * 60 * 1000,
        claim_window_ms: 10 * 60 * 1000,
        commit: taawun_core::lottery::commit(&taawun_core::Hash([3; 32])),
    })
}

#[test]
fn hostile_peers_at_volume() {
    runtime().block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let s = synth::generate(&Params {
            seed: 21,
            entries: ENTRIES,
            ..Params::default()
        });
        let coop = s.coop;
        let whos = (0..3)
            .map(|i| Who::Member(Box::new(s.members[i].clone())))
            .collect();
        let nodes = start_nodes_with(root.path(), whos, &s.entries[0], &notify, |c| {
            taawun_net::NetConfig {
                graylist_lockout: LOCKOUT,
                ..c
            }
        })
        .await;
        nodes[0].take_all(&s).await;
        let refs: Vec<&TestNode> = nodes.iter().collect();
        converge(&refs, coop, None, &notify, CONVERGE).await;
        let target = nodes[0].addr.clone();
        let rss_before = rss_kib();

        // 1. A flood of entries properly signed by a stranger: claims by a non-member.
        let some_offer = s
            .entries
            .iter()
            .find(|v| matches!(v.entry().body, Body::Offer(_)))
            .map(|v| v.id())
            .expect("an offer");
        let flood_of = |n: usize, round: u8| -> Vec<Vec<u8>> {
            // Each from another stranger, so each is judged on its own (a stranger's
            // second entry would wait for its first, which was refused).
            (0..n)
                .map(|i| {
                    let mut seed = [66u8; 32];
                    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    seed[8] = round;
                    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                    Writer::new(key, Some(coop), None)
                        .next(Body::Claim(Claim { offer: some_offer }), now(), None)
                        .envelope()
                })
                .collect()
        };
        let rejected = |n: &TestNode, from: PeerId| {
            n.events()
                .iter()
                .filter(|e| matches!(e, Event::Gossip { peer, verdict: Verdict::Reject, .. } if *peer == from))
                .count()
        };
        let flood = flood_of(FLOOD, 0);
        let (flooder, flood_task) = gossip_attacker(60, &s.members[3], target.clone(), coop, flood);
        let locked = |strikes: u32| {
            nodes[0].events().iter().find_map(|e| match e {
                Event::LockedOut {
                    peer,
                    strikes: n,
                    lockout,
                } if *peer == flooder && *n == strikes => Some(*lockout),
                _ => None,
            })
        };
        let drops = |n: &TestNode| {
            n.events()
                .iter()
                .filter(|e| matches!(e, Event::PeerDisconnected(p) if *p == flooder))
                .count()
        };
        wait_for(
            "the flooder locked out and disconnected",
            || locked(1).is_some() && drops(&nodes[0]) >= 1,
            &notify,
            CONVERGE,
        )
        .await;
        assert_eq!(locked(1), Some(LOCKOUT));
        let judged = rejected(&nodes[0], flooder);
        println!("flood: {judged} of {FLOOD} messages judged before the flooder was locked out");
        assert!(judged < JUDGED_PER_CONNECTION, "{judged}");
        assert!(!nodes[0].net.peers().await.expect("peers").contains(&flooder));
        // Once its lockout is over (it is refused before: tests/net.rs) it comes back under
        // the same identity, with a clean score, and floods again: a few rejections
        // graylist it again, and it is locked out for twice as long.
        flood_task.abort();
        let _ = flood_task.await;
        wait_for(
            "the flooder's lockout over",
            || nodes[0].saw(|e| matches!(e, Event::LockoutEnded(p) if *p == flooder)),
            &notify,
            CONVERGE,
        )
        .await;
        let (_, back_task) = gossip_attacker(60, &s.members[3], target.clone(), coop, flood_of(FLOOD, 1));
        wait_for(
            "the flooder locked out again",
            || locked(2).is_some() && drops(&nodes[0]) >= 2,
            &notify,
            CONVERGE,
        )
        .await;
        assert_eq!(locked(2), Some(2 * LOCKOUT));
        let judged = rejected(&nodes[0], flooder);
        println!("flood again: {judged} of {} messages judged in all", 2 * FLOOD);
        assert!(judged < 2 * JUDGED_PER_CONNECTION, "{judged}");

        // 2. An oversized gossip message and malformed bytes.
        let oversized = vec![0x82u8; taawun_core::entry::MAX_ENVELOPE_BYTES + 1];
        let (big, big_task) = gossip_attacker(61, &s.members[4], target.clone(), coop, vec![oversized]);
        let (junk, junk_task) =
            gossip_attacker(62, &s.requesters[0], target.clone(), coop, vec![b"\xa1\x00junk".to_vec()]);
        for evil in [big, junk] {
            wait_for(
                "the bad message rejected",
                || {
                    nodes[0].saw(|e| {
                        matches!(e, Event::Gossip { peer, verdict: Verdict::Reject, .. } if *peer == evil)
                    })
                },
                &notify,
                CONVERGE,
            )
            .await;
            let score = nodes[0].net.score(evil).await.expect("score");
            assert!(score.is_some_and(|s| s < 0.0), "score {score:?}");
        }

        // 3. Malformed and oversized sync requests, and huge ranges, logs and branches;
        // false heads far ahead, then answers larger than a response may be.
        let author = pk(&s.members[0]);
        let claim = WireHead {
            author,
            seq: 1_000_000,
            id: Id::of(b"nothing"),
        };
        let mut requests = vec![
            b"\xff\xfe not CBOR".to_vec(),
            vec![0x82; sync::MAX_REQUEST_BYTES as usize * 16],
            cbor(&sync::Request::Log {
                coop,
                from: u64::MAX,
                limit: u32::MAX,
            }),
            cbor(&sync::Request::Branches {
                coop,
                author,
                from: 0,
                limit: u32::MAX,
            }),
            cbor(&sync::Request::Branches {
                coop,
                author,
                from: u64::MAX,
                limit: u32::MAX,
            }),
        ];
        for i in 0..HUGE_REQUESTS {
            requests.push(cbor(&if i % 2 == 0 {
                sync::Request::Range {
                    coop,
                    author,
                    from: 0,
                    limit: u32::MAX,
                }
            } else {
                sync::Request::Log {
                    coop,
                    from: 0,
                    limit: u32::MAX,
                }
            }));
        }
        let (raw_seen, raw_done, raw_task) =
            sync_attacker(63, (&s.members[5], coop), target.clone(), nodes[0].peer(), requests, false, claim);
        let seen = tokio::time::timeout(CONVERGE, raw_done)
            .await
            .expect("the node answers or refuses every request in time")
            .expect("seen");
        let mut answered = 0;
        for r in seen.responses.iter().flatten() {
            match r {
                sync::Response::Range { entries, .. }
                | sync::Response::Log { entries, .. }
                | sync::Response::Branches { entries, .. } => {
                    assert!(entries.len() <= sync::SYNC_BATCH as usize, "{}", entries.len());
                    answered += 1;
                }
                _ => {}
            }
        }
        println!(
            "sync: {} requests answered ({answered} with entries, at most {} each), {} refused or failed",
            seen.responses.len(),
            sync::SYNC_BATCH,
            seen.failures
        );
        assert!(answered > 0);
        wait_for(
            "the node fetching from the false heads",
            || raw_seen.fetches.load(Ordering::SeqCst) > 0,
            &notify,
            CONVERGE,
        )
        .await;

        // 4. A peer that opens streams and never reads them.
        let slow_requests = (0..SLOW_STREAMS)
            .map(|_| {
                cbor(&sync::Request::Log {
                    coop,
                    from: 0,
                    limit: u32::MAX,
                })
            })
            .collect();
        let (_, _, slow_task) =
            sync_attacker(64, (&s.requesters[1], coop), target.clone(), nodes[0].peer(), slow_requests, true, claim);
        let slow = net_common::keypair(64).public().to_peer_id();
        wait_for(
            "the slow reader connected",
            || nodes[0].saw(|e| matches!(e, Event::PeerConnected(p) if *p == slow)),
            &notify,
            CONVERGE,
        )
        .await;

        // 5. A result larger than its submission announced.
        let sub = s
            .entries
            .iter()
            .find_map(|v| match &v.entry().body {
                Body::Submit(b) => Some((v.id(), b.size)),
                _ => None,
            })
            .expect("a submission");
        let bytes = vec![7u8; usize::try_from(sub.1).expect("size") + 64 * 1024];
        let results = cbor::Behaviour::<result::Request, result::Response>::new(
            [(StreamProtocol::new(result::PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default(),
        );
        let mut rs = net_common::proving_swarm(65, results);
        rs.add_peer_address(nodes[0].peer(), target.clone());
        net_common::ask_hello(&mut rs, nodes[0].peer());
        let mut request = Some(result::Request::new(coop, sub.0, bytes));
        let answer = tokio::time::timeout(CONVERGE, async {
            loop {
                match rs.select_next_some().await {
                    SwarmEvent::Behaviour(ProvingEvent::Hello(ev)) => {
                        let admitted = net_common::on_hello(&mut rs, &s.members[5], &[coop], ev);
                        if admitted {
                            if let Some(r) = request.take() {
                                let to = nodes[0].peer();
                                rs.behaviour_mut().inner.send_request(&to, r);
                            }
                        }
                    }
                    SwarmEvent::Behaviour(ProvingEvent::Inner(
                        request_response::Event::Message {
                            message: Message::Response { response, .. },
                            ..
                        },
                    )) => return response,
                    SwarmEvent::Behaviour(ProvingEvent::Inner(
                        request_response::Event::OutboundFailure { error, .. },
                    )) => panic!("result request failed: {error}"),
                    _ => {}
                }
            }
        })
        .await
        .expect("an answer in time");
        assert!(
            matches!(answer, result::Response::Refused(Refusal::WrongSize { .. })),
            "{answer:?}"
        );
        assert_eq!(nodes[0].net.result(coop, sub.0).await.expect("reads"), None);

        // The node is up, and honest entries still flow both ways through it.
        let heads = nodes[0].heads(coop).await;
        let head = |k: &ed25519_dalek::SigningKey| {
            heads.iter().find(|(a, _)| *a == pk(k)).map(|(_, h)| h.seq)
        };
        assert_eq!(head(&s.members[0]).map(|seq| seq < 1_000_000), Some(true));
        let fair = nodes[2]
            .net
            .append(coop, s.requesters[0].clone(), offer("Fair", 2000), None)
            .await
            .expect("appends");
        let fair0 = nodes[0]
            .net
            .append(coop, s.requesters[1].clone(), offer("Fair too", 2000), None)
            .await
            .expect("appends");
        wait_for(
            "honest entries everywhere",
            || {
                let has = |n: &TestNode, id: Id| {
                    n.saw(|e| matches!(e, Event::Stored { id: i, .. } if *i == id))
                };
                has(&nodes[0], fair.id()) && has(&nodes[1], fair.id()) && has(&nodes[1], fair0.id()) && has(&nodes[2], fair0.id())
            },
            &notify,
            CONVERGE,
        )
        .await;
        converge(&refs, coop, None, &notify, CONVERGE).await;

        let rss_after = rss_kib();
        let growth = rss_after.saturating_sub(rss_before);
        println!("resident memory: {rss_before} KiB before the attacks, {rss_after} KiB after (+{growth} KiB)");
        assert!(growth < RSS_GROWTH_KIB, "+{growth} KiB");
        for t in [back_task, big_task, junk_task, raw_task, slow_task] {
            t.abort();
        }
        drop(rs);
        for n in nodes {
            n.stop().await;
        }
    });
}
