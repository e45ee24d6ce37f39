//! A full appeal through the network: four member nodes on loopback (the requester, the
//! worker whose work is rejected, a juror and a member who is neither) carry an offer, its
//! rejection, the appeal, the witness tick that seeds the jury, the requester's reply and
//! the jurors' votes, each entry sent from its author's node when that node runs. Every
//! node must derive the same jury and the same outcome, and owe the work as accepted.
//! Once the jury sits, the worker's node hands the result privately to the juror's node
//! (protocol.md 13.7), and to no one else, with the key to the rejection's reason, which
//! is sealed to the worker and the requester: the juror's node checks it and keeps it, and
//! refuses a key that does not open the reason.
//! The entries are signed with fixed past timestamps, so the witness slack is crossed
//! without waiting; the seats' vote window is still open by the wall clock.

mod net_common;

use net_common::{converge, runtime, start_nodes_as, wait_for, Who};
use std::sync::Arc;
use std::time::Duration;
use taawun_core::appeal::Outcome;
use taawun_core::body::{
    Appeal, Assign, Body, Charter, Claim, Named, Offer, Reject, Reply, Submit, Tick, Verdict,
};
use taawun_core::fold::{Coop, Review};
use taawun_core::rules::default_limits;
use taawun_core::writer::Writer;
use taawun_core::{lottery, Hash, Money, PublicKey, Verified};
use taawun_net::result::{Disclosed, Refusal, Request, Response};
use taawun_net::Event;
use tokio::sync::Notify;

const MIN: u64 = 60_000;
const DAY: u64 = 24 * 60 * MIN;
const SECRET: Hash = Hash([42; 32]);

fn key(n: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[n; 32])
}

fn pk(n: u8) -> PublicKey {
    PublicKey(key(n).verifying_key().to_bytes())
}

/// Members 1..=6; member 6 posts the offer, 2 does the work, 1 witnesses.
struct Script {
    writers: Vec<Writer>,
    /// A fold of everything written, to read the jury the network will derive.
    coop: Coop,
    /// (author, entry), in the order written.
    out: Vec<(u8, Verified)>,
}

impl Script {
    fn put(&mut self, who: u8, body: Body, ts: u64) -> Verified {
        let v = self.writers[usize::from(who - 1)].next(body, ts, None);
        self.coop.ingest(v.clone(), None).expect("valid");
        self.out.push((who, v.clone()));
        v
    }
}

#[test]
fn an_appeal_travels_and_every_node_derives_the_same_jury_and_outcome() {
    let rt = runtime();
    rt.block_on(async {
        // Far enough in the past that the jury sat long ago by the wall clock (the witness
        // slack is 15 minutes), recent enough that its seats are still open (3 days).
        let t0 = net_common::now() - 3 * 60 * MIN;
        let mut w1 = Writer::new(key(1), None, None);
        let charter = w1.next(
            Body::Charter(Charter {
                name: "Coop".into(),
                members: (1..=6).map(pk).collect(),
                requesters: vec![],
                names: (1..=6)
                    .map(|i| Named {
                        key: pk(i),
                        name: format!("Member {i}"),
                    })
                    .collect(),
                quorum_pct: 60,
                floors: [("EUR".to_string(), 1200)].into_iter().collect(),
                limits: default_limits(),
            }),
            t0,
            None,
        );
        let id = charter.id();
        let mut coop = Coop::new();
        coop.ingest(charter.clone(), None).expect("charter");
        let mut writers = vec![w1];
        writers.extend((2..=6).map(|n| Writer::new(key(n), Some(id), None)));
        let mut s = Script {
            writers,
            coop,
            out: vec![],
        };
        let t = t0 + MIN;
        let offer = s.put(
            6,
            Body::Offer(Offer {
                title: "Transcribe".into(),
                description: "Ten short clips".into(),
                purpose: "Subtitles for a community radio".into(),
                pay: Money::new("EUR", 300),
                minutes: 15,
                assignments: 1,
                expires_at: t + 30 * DAY,
                review_window_ms: DAY,
                claim_window_ms: 10 * MIN,
                commit: lottery::commit(&SECRET),
            }),
            t,
        );
        let claim = s.put(2, Body::Claim(Claim { offer: offer.id() }), t + MIN);
        s.put(
            1,
            Body::Tick(Tick {
                heads: vec![claim.id()],
            }),
            t + 2 * MIN,
        );
        let assign = s.put(
            6,
            Body::Assign(Assign {
                offer: offer.id(),
                claims: vec![claim.id()],
                winners: vec![pk(2)],
                secret: SECRET,
            }),
            t + 11 * MIN,
        );
        let sub = s.put(
            2,
            Body::Submit(Submit {
                offer: offer.id(),
                assign: assign.id(),
                result: Hash::of(b"result"),
                size: 6,
                minutes: 15,
            }),
            t + 20 * MIN,
        );
        s.put(
            6,
            Body::Tick(Tick {
                heads: vec![sub.id()],
            }),
            t + 21 * MIN,
        );
        let rej = s.put(
            6,
            Body::Reject(Reject {
                submission: sub.id(),
                // Sealed to the worker and the requester: a juror reads it only with the
                // key the worker's node sends with the result.
                reason: taawun_core::synth::sealed("the clips are not transcribed", &[pk(2), pk(6)]),
            }),
            t + 30 * MIN,
        );
        s.put(
            1,
            Body::Tick(Tick {
                heads: vec![rej.id()],
            }),
            t + 31 * MIN,
        );
        let appeal = s.put(
            2,
            Body::Appeal(Appeal {
                rejection: rej.id(),
                answer: "all ten clips are in the file".into(),
            }),
            t + 40 * MIN,
        );
        // Member 1, not a party, witnesses the appeal: its tick seeds the jury.
        s.put(
            1,
            Body::Tick(Tick {
                heads: vec![appeal.id()],
            }),
            t + 41 * MIN,
        );
        s.put(
            6,
            Body::Reply(Reply {
                appeal: appeal.id(),
                text: "clip 7 is empty".into(),
            }),
            t + 45 * MIN,
        );
        let seated = t + 40 * MIN + 16 * MIN;
        let jury: Vec<u8> = s
            .coop
            .appeals(seated)
            .remove(0)
            .seats
            .iter()
            .map(|x| (1..=6).find(|n| pk(*n) == x.member).expect("a member"))
            .collect();
        assert_eq!(jury.len(), 3);
        // Everything up to the reply goes first: the jury sits, and nobody voted yet.
        let before_votes = s.out.len();
        for (i, j) in jury.iter().take(2).enumerate() {
            let v = s.put(
                *j,
                Body::Verdict(Verdict {
                    appeal: appeal.id(),
                    uphold: true,
                }),
                seated + (i as u64 + 1) * MIN,
            );
            // Witnessed at once, as members' nodes do.
            let by = if *j == 1 { 6 } else { 1 };
            s.put(
                by,
                Body::Tick(Tick {
                    heads: vec![v.id()],
                }),
                seated + 5 * MIN,
            );
        }

        // Four member nodes: the requester (6), the worker (2), a juror, and the one member
        // who is neither a party nor on the jury.
        let juror = jury[0];
        let bystander = [1u8, 3, 4, 5]
            .into_iter()
            .find(|n| !jury.contains(n))
            .expect("four members who are not parties, three seats");
        let tmp = tempfile::tempdir().expect("tempdir");
        let notify = Arc::new(Notify::new());
        let running = [6u8, 2, juror, bystander];
        let whos = running
            .iter()
            .map(|n| Who::Member(Box::new(key(*n))))
            .collect();
        let nodes = start_nodes_as(tmp.path(), whos, &charter, &notify).await;
        // Each entry leaves from its author's node, or from node 0 for members whose
        // node is not running (they wrote elsewhere).
        let send = |part: &[(u8, Verified)]| {
            let part = part.to_vec();
            let nodes = &nodes;
            async move {
                for (who, v) in part {
                    let i = running.iter().position(|n| *n == who).unwrap_or(0);
                    nodes[i]
                        .net
                        .ingest(id, vec![v], true)
                        .await
                        .expect("ingested");
                }
            }
        };
        send(&s.out[..before_votes]).await;
        let refs: Vec<&net_common::TestNode> = nodes.iter().collect();
        converge(&refs, id, None, &notify, Duration::from_secs(60)).await;

        // The worker's node holds the result: it reaches the requester's node and, the
        // jury having sat, the juror's node, privately.
        let (requester, worker, seated_juror, other) =
            (&nodes[0], &nodes[1], &nodes[2], &nodes[3]);
        let bytes = b"result".to_vec();
        // Before it: a key that does not open the reason is refused with the result, and
        // neither is kept, even from the worker.
        let Body::Reject(r) = &rej.entry().body else {
            panic!("a rejection")
        };
        let right = r.reason.content_key(&key(2)).expect("the worker is a recipient");
        let mut wrong = right;
        wrong.0[31] ^= 1;
        let answer = net_common::raw_result(
            Some(&key(2)),
            seated_juror.addr.clone(),
            seated_juror.peer(),
            Request {
                reason: Some(Disclosed {
                    rejection: rej.id(),
                    key: wrong,
                }),
                ..Request::new(id, sub.id(), bytes.clone())
            },
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(answer, Response::Refused(Refusal::WrongKey));
        assert_eq!(seated_juror.net.disclosed(id, rej.id()), None);
        assert_eq!(seated_juror.net.result(id, sub.id()).await.expect("reads"), None);
        worker
            .net
            .send_result(id, sub.id(), bytes.clone())
            .await
            .expect("queued");
        let received = |n: &net_common::TestNode| {
            n.saw(|e| matches!(e, Event::ResultReceived { submission, .. } if *submission == sub.id()))
        };
        wait_for(
            "the result on the requester's and the juror's nodes",
            || {
                received(requester)
                    && received(seated_juror)
                    && worker.saw(|e| {
                        matches!(e, Event::ResultDelivered { juror: Some(j), .. } if *j == pk(juror))
                    })
            },
            &notify,
            Duration::from_secs(60),
        )
        .await;
        let got = seated_juror
            .net
            .result(id, sub.id())
            .await
            .expect("reads")
            .expect("stored at the juror's node");
        assert_eq!(got, bytes);
        let Body::Submit(stated) = &sub.entry().body else {
            panic!("a submission")
        };
        assert_eq!(Hash::of(&got), stated.result, "the hash the ledger states");
        // With it, the key to the rejection's reason: checked, kept, and it opens it.
        let disclosed = seated_juror
            .net
            .disclosed(id, rej.id())
            .expect("the juror's node keeps the reason's key");
        assert_eq!(disclosed, right);
        assert_eq!(
            r.reason.open_with(&disclosed).as_deref(),
            Ok("the clips are not transcribed")
        );
        // The juror's own key does not open it: only the disclosed key does.
        assert_eq!(r.reason.read(&[&key(juror)]), taawun_core::seal::Reading::Sealed);
        // The requester reads it with its own key, and is sent no key.
        assert_eq!(requester.net.disclosed(id, rej.id()), None);
        // The member on no jury got nothing, and refuses the result even from the worker.
        assert!(!received(other));
        assert_eq!(other.net.result(id, sub.id()).await.expect("reads"), None);
        assert_eq!(other.net.disclosed(id, rej.id()), None);
        let answer = net_common::raw_result(
            Some(&key(2)),
            other.addr.clone(),
            other.peer(),
            Request::new(id, sub.id(), bytes.clone()),
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(answer, Response::Refused(Refusal::NotRecipient));
        assert_eq!(other.net.result(id, sub.id()).await.expect("reads"), None);
        // A juror takes a result only from the member who submitted it.
        let answer = net_common::raw_result(
            Some(&key(6)),
            seated_juror.addr.clone(),
            seated_juror.peer(),
            Request::new(id, sub.id(), bytes.clone()),
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(answer, Response::Refused(Refusal::NotRecipient));

        // The jurors vote.
        send(&s.out[before_votes..]).await;
        converge(&refs, id, None, &notify, Duration::from_secs(60)).await;

        let now = net_common::now();
        let want = s.coop.appeals(now);
        assert_eq!(want.len(), 1);
        assert!(
            matches!(want[0].outcome, Outcome::Upheld { .. }),
            "{:?}",
            want[0].outcome
        );
        assert_eq!(want[0].reply.as_deref(), Some("clip 7 is empty"));
        for n in &nodes {
            let state = n.net.state(id).await.expect("state");
            assert_eq!(state.len(), s.coop.len(), "every entry at every node");
            assert_eq!(state.appeals(now), want, "the same jury and outcome");
            assert!(matches!(
                state.submission(&sub.id(), now).expect("held").review,
                Review::Upheld { .. }
            ));
            let b = state.balances(now);
            let owed = b
                .get(&(pk(6), pk(2), "EUR".to_string()))
                .map_or(0, |b| b.owed());
            assert_eq!(owed, 300, "the work is owed as accepted work");
            assert_eq!(state.record(&pk(6), now).appeals_upheld, 1);
        }
        for n in nodes {
            n.stop().await;
        }
    });
}
