//! Results in the simulated world. A worker's node hands each submission's result bytes
//! to the requester's node (and, in runs with appeals, an appellant's node to the node of
//! each juror holding a seat, found as the task's `jurors_due` finds them; the reason's
//! key that goes with it is not played) with the machine the network task runs
//! (`taawun_net::outbox::Outbox`: when to try, whom to dial, what to retry), and the
//! receiver checks them with the task's own function (`taawun_net::exchange::received`),
//! over the same lossy, partitioned network as gossip and sync. What the simulator adds
//! is what libp2p does: connections (a node reaches its links, and the nodes it dialed),
//! the hello protocol's proof of who holds a key (a connection proves the keys of the
//! node at its other end) and the request's timeout.
//!
//! What a node keeps on disk survives its crashes: the result files, and the outbox's
//! marks (the results still to deliver), from which a restarted node queues again. Every
//! node knows which node holds a member's key (the DHT's record, which the simulator
//! does not model); the keys a node holds for results are its authors' and its witness's
//! (the hostile node proves its stolen key for admission only, `admission`).
//!
//! The invariant: once the network is healed, every result of a submission the honest
//! nodes hold reaches the node of its requester, and every appealed one the node of each
//! juror seated, whole (its blake3 is the submission's), within the convergence bound
//! plus [`taawun_net::result::RETRY_MAX`].

use super::{Ev, Failure, Msg, World, REQUEST_TIMEOUT_MS};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use taawun_core::body::Body;
use taawun_core::{Hash, Id, PublicKey, Verified};
use taawun_net::exchange::{self, Refused};
use taawun_net::outbox::{Outbox, Output};
use taawun_net::result::Refusal;

/// A result to deliver: the submission, and the juror it goes to (`None`: its requester).
pub(super) type Delivery = (Id, Option<PublicKey>);

/// How often a node with results waiting looks for retries that are due (simulated ms).
/// The network task looks every [`taawun_net::result::RETRY_TICK`]; retries wait at least
/// [`taawun_net::result::RETRY_FIRST`], so a second changes nothing but the count of events.
const TICK_MS: u64 = 1_000;

/// One node's side of result transfer.
#[derive(Default)]
pub(super) struct Results {
    /// The results waiting for their recipient: the real machine. Lost in a crash.
    outbox: Outbox<Delivery, PublicKey, usize, u64>,
    /// Result files (the node's authors' own, and those it received): on disk.
    files: BTreeMap<Id, Vec<u8>>,
    /// The outbox's marks: results of the node's authors still to deliver, and to whom.
    /// On disk.
    marks: BTreeMap<Delivery, PublicKey>,
    /// Results a juror's node stored (never sent it again). On disk.
    sent: BTreeSet<(Id, PublicKey)>,
    /// Result requests out, by id: the peer asked.
    out: BTreeMap<u64, usize>,
    /// Peers this node dialed for a result (connections beside its links); dropped when
    /// either end crashes or a partition cuts them.
    dialed: BTreeSet<usize>,
    /// A retry tick is scheduled.
    ticking: bool,
}

impl Results {
    /// Whether a result waits for `peer` (its connection must stay).
    pub(super) fn waiting_for(&self, peer: &usize) -> bool {
        self.outbox.waiting_for(peer)
    }

    /// Whether the node holds the result file of `id` (a submission of its own it
    /// wrote, or one it received).
    pub(super) fn holds(&self, id: &Id) -> bool {
        self.files.contains_key(id)
    }

    /// What a crash leaves: the files and the marks.
    pub(super) fn crashed(&mut self) {
        *self = Results {
            files: std::mem::take(&mut self.files),
            marks: std::mem::take(&mut self.marks),
            sent: std::mem::take(&mut self.sent),
            ..Results::default()
        };
    }

    /// Results waiting (for the memory bound).
    pub(super) fn waiting(&self) -> usize {
        self.outbox.len()
    }
}

impl World {
    /// The simulated instant of the outbox's clock.
    pub(super) fn instant(&self) -> Instant {
        self.base + Duration::from_millis(self.now - self.start)
    }

    /// The honest node that holds `key` (writes its author's entries, or holds it as its
    /// witness: a member who may sit on a jury).
    pub(super) fn holder(&self, key: &PublicKey) -> Option<usize> {
        (0..self.nodes.len()).find(|&n| self.nodes[n].honest && self.holds_key(n, key))
    }

    /// Whether node `n` holds `key`: an author's it writes for, or its witness's.
    pub(super) fn holds_key(&self, n: usize, key: &PublicKey) -> bool {
        let node = &self.nodes[n];
        node.scripts.iter().any(|s| self.scripts[*s].author == *key)
            || node
                .witness
                .as_ref()
                .is_some_and(|w| PublicKey(w.verifying_key().to_bytes()) == *key)
    }

    /// Whether `a` has a connection to `b`: both up, not cut apart, and linked, dialed
    /// for a result, or opened by a lookup.
    pub(super) fn connected(&self, a: usize, b: usize) -> bool {
        a != b
            && self.nodes[a].up
            && self.nodes[b].up
            && !self.cut(a, b)
            && (self.links[a].contains(&b)
                || self.nodes[a].results.dialed.contains(&b)
                || self.nodes[a].peers.extra.contains_key(&b))
    }

    /// A node's author stored (and flushed) its entry `v`: when it is a submission, its
    /// result goes to the file and the outbox, for the requester.
    pub(super) fn submitted(&mut self, node: usize, v: &Verified) -> Result<(), Failure> {
        let Body::Submit(s) = &v.entry().body else {
            return Ok(());
        };
        let Some(bytes) = self.result_bytes.get(&v.id()).cloned() else {
            return Ok(());
        };
        let Some(requester) = self.offer_authors.get(&s.offer).copied() else {
            return Err(self.fail(format!(
                "submission {} names an offer the scenario lacks",
                v.id().short()
            )));
        };
        let id = v.id();
        let r = &mut self.nodes[node].results;
        r.files.insert(id, bytes);
        r.marks.insert((id, None), requester);
        self.queue_result(node, (id, None), requester)
    }

    /// Queues result `id` for `to` in the node's outbox (the DHT tells where `to` is).
    fn queue_result(&mut self, node: usize, id: Delivery, to: PublicKey) -> Result<(), Failure> {
        let last = self.holder(&to);
        let now = self.instant();
        let out = self.nodes[node]
            .results
            .outbox
            .queue(id, to, last, now)
            .map_err(|e| self.fail(format!("node {node}: {e}")))?;
        self.carry_out_results(node, out)
    }

    /// A restarted node queues again what its marks say is still to deliver.
    pub(super) fn requeue_results(&mut self, node: usize) -> Result<(), Failure> {
        let marks: Vec<(Delivery, PublicKey)> = self.nodes[node]
            .results
            .marks
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        for (id, to) in marks {
            self.queue_result(node, id, to)?;
        }
        Ok(())
    }

    /// Connections opened between `a` and `b`: each proves its key to the other
    /// (admission, [`World::prove`]) and the keys it holds (results), and the other's
    /// outbox sends what waits for them at once.
    pub(super) fn met(&mut self, a: usize, b: usize) -> Result<(), Failure> {
        for (x, y) in [(a, b), (b, a)] {
            if !self.nodes[x].up {
                continue;
            }
            self.prove(x, y)?;
            let holds: BTreeSet<PublicKey> = self.nodes[x]
                .results
                .marks
                .values()
                .filter(|to| self.nodes[y].honest && self.holds_key(y, to))
                .copied()
                .collect();
            let now = self.instant();
            let out = self.nodes[x]
                .results
                .outbox
                .reached(y, now, |_, to| holds.contains(to));
            self.carry_out_results(x, out)?;
        }
        Ok(())
    }

    /// Every connection there is now is (re)opened: after a partition heals or a node
    /// restarts, libp2p connects again and the hello protocol runs on each connection.
    pub(super) fn reconnected(&mut self, node: Option<usize>) -> Result<(), Failure> {
        let n = self.nodes.len();
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .filter(|&(a, b)| node.is_none_or(|x| x == a || x == b))
            .collect();
        for (a, b) in pairs {
            if self.connected(a, b) {
                self.met(a, b)?;
            }
        }
        Ok(())
    }

    /// A partition cuts the connections a node dialed across it.
    pub(super) fn cut_dialed(&mut self) {
        for a in 0..self.nodes.len() {
            let cut: Vec<usize> = (0..self.nodes.len()).filter(|b| self.cut(a, *b)).collect();
            for b in cut {
                self.nodes[a].results.dialed.remove(&b);
            }
        }
    }

    /// A crash closes every connection to the node.
    pub(super) fn drop_dialed(&mut self, node: usize) {
        for n in &mut self.nodes {
            n.results.dialed.remove(&node);
        }
    }

    /// The peers `node` dialed for a result.
    pub(super) fn dialed(&self, node: usize) -> Vec<usize> {
        self.nodes[node].results.dialed.iter().copied().collect()
    }

    /// Closes a connection dialed for a result, at both ends.
    pub(super) fn drop_dialed_pair(&mut self, a: usize, b: usize) {
        self.nodes[a].results.dialed.remove(&b);
        self.nodes[b].results.dialed.remove(&a);
    }

    /// Does what a node's outbox asks.
    fn carry_out_results(
        &mut self,
        node: usize,
        out: Vec<Output<Delivery, PublicKey, usize>>,
    ) -> Result<(), Failure> {
        for o in out {
            match o {
                Output::Deliver { key, to, .. } => self.deliver(node, key, to)?,
                Output::Dial(peer) => {
                    let reachable = peer != node && self.nodes[peer].up && !self.cut(node, peer);
                    if reachable {
                        self.nodes[node].results.dialed.insert(peer);
                        self.nodes[peer].results.dialed.insert(node);
                        self.met(node, peer)?;
                    } else {
                        let out = self.nodes[node].results.outbox.dial_failed(peer);
                        self.carry_out_results(node, out)?;
                    }
                }
                // Where a node is comes from the DHT's record, which never changes here.
                Output::Lookup(_) => {}
                Output::Delivered { key, .. } => {
                    let r = &mut self.nodes[node].results;
                    r.marks.remove(&key);
                    if let (id, Some(juror)) = key {
                        r.sent.insert((id, juror));
                        self.report.juror_results += 1;
                    } else {
                        self.report.results += 1;
                    }
                }
                Output::Refused { key, refusal } => {
                    return Err(self.fail(format!(
                        "node {node}'s result of submission {} was refused for good: {refusal}",
                        key.0.short()
                    )));
                }
            }
        }
        self.tick_results(node);
        Ok(())
    }

    /// An attempt to deliver `key` to `to`: to the node holding its key when connected
    /// (one node holds each key here, so it is the outbox's `last` too), else the outbox
    /// hears it is unreachable (and dials that node).
    fn deliver(&mut self, node: usize, key: Delivery, to: PublicKey) -> Result<(), Failure> {
        let holder = self.holder(&to);
        // A node of the simulator writes for several authors: a worker whose requester
        // writes on the same node hands the result over without the network.
        let target = holder.filter(|h| *h == node || self.connected(node, *h));
        let Some(peer) = target else {
            let now = self.instant();
            let connected: BTreeSet<usize> = (0..self.nodes.len())
                .filter(|p| self.connected(node, *p))
                .collect();
            let out = self.nodes[node]
                .results
                .outbox
                .unreachable(key, now, |p| connected.contains(p));
            return self.carry_out_results(node, out);
        };
        let Some(bytes) = self.nodes[node].results.files.get(&key.0).cloned() else {
            self.nodes[node].results.outbox.forget(&key);
            return Ok(());
        };
        self.next_request += 1;
        let id = self.next_request;
        let r = &mut self.nodes[node].results;
        r.outbox.sending(key, peer, id);
        if peer == node {
            let answer = self.take_result(node, node, key.0, bytes)?;
            let now = self.instant();
            let out = self.nodes[node]
                .results
                .outbox
                .answered(&id, node, answer, now);
            return self.carry_out_results(node, out);
        }
        r.out.insert(id, peer);
        let inc = self.nodes[node].inc;
        self.at(REQUEST_TIMEOUT_MS, Ev::ResultTimeout { node, inc, id });
        self.send(
            node,
            peer,
            Msg::Result {
                id,
                submission: key.0,
                bytes,
            },
        );
        Ok(())
    }

    /// Schedules the node's retry tick while results wait.
    fn tick_results(&mut self, node: usize) {
        let r = &self.nodes[node].results;
        if !r.ticking && !r.outbox.is_empty() {
            self.nodes[node].results.ticking = true;
            let inc = self.nodes[node].inc;
            self.at(TICK_MS, Ev::ResultTick { node, inc });
        }
    }

    /// The retry tick: every result whose retry is due.
    pub(super) fn on_result_tick(&mut self, node: usize) -> Result<(), Failure> {
        self.nodes[node].results.ticking = false;
        let now = self.instant();
        let out = self.nodes[node].results.outbox.due(now);
        self.carry_out_results(node, out)
    }

    /// A result request that was not answered in time.
    pub(super) fn on_result_timeout(&mut self, node: usize, id: u64) -> Result<(), Failure> {
        let Some(peer) = self.nodes[node].results.out.remove(&id) else {
            return Ok(());
        };
        let now = self.instant();
        let out = self.nodes[node]
            .results
            .outbox
            .failed(&id, peer, false, now);
        self.carry_out_results(node, out)
    }

    /// Node `node` receives the result of `submission` from `from`: the task's checks
    /// ([`exchange::received`]), then whether it speaks for the requester; stored, or
    /// refused, and answered.
    pub(super) fn on_result(
        &mut self,
        node: usize,
        from: usize,
        id: u64,
        submission: Id,
        bytes: Vec<u8>,
    ) -> Result<(), Failure> {
        let answer = self.take_result(node, from, submission, bytes)?;
        self.send(node, from, Msg::ResultAnswer { id, answer });
        Ok(())
    }

    /// What [`World::on_result`] answers: stored, or refused (and a sync asked for when
    /// the sender holds entries this node lacks).
    fn take_result(
        &mut self,
        node: usize,
        from: usize,
        submission: Id,
        bytes: Vec<u8>,
    ) -> Result<Result<(), Refusal>, Failure> {
        if from != node && !self.admits(node, from)? {
            // A stranger learns nothing: as from a node without the cooperative.
            return Ok(Err(Refusal::UnknownCoop));
        }
        Ok(
            match exchange::received(self.nodes[node].coop.as_ref(), &submission, &bytes) {
                Ok(sub) => {
                    if self.speaks_for_requester(node, &sub)?
                        || self.sits_on_a_jury_of(node, from, &sub)?
                    {
                        // Held already: the first copy stays, as the task's store keeps it.
                        self.nodes[node]
                            .results
                            .files
                            .entry(submission)
                            .or_insert(bytes);
                        Ok(())
                    } else {
                        if from != node {
                            self.start_sync(node, from)?;
                        }
                        Err(Refusal::NotRecipient)
                    }
                }
                Err(Refused { refusal, sync }) => {
                    if sync && from != node {
                        self.start_sync(node, from)?;
                    }
                    Err(refusal)
                }
            },
        )
    }

    /// Whether `node` holds the key of the requester of `sub`, by its own ledger.
    fn speaks_for_requester(&mut self, node: usize, sub: &Verified) -> Result<bool, Failure> {
        let Body::Submit(s) = &sub.entry().body else {
            return Ok(false);
        };
        let offer = self
            .ledger(node)?
            .get(&s.offer)
            .map_err(|e| self.fail(e.to_string()))?;
        let Some(offer) = offer else {
            return Ok(false);
        };
        let requester = offer.entry().author;
        Ok(self.nodes[node].honest && self.holds_key(node, &requester))
    }

    /// Whether `node` holds (or held) a seat on the jury of an appeal of `sub` by its own
    /// ledger, for a key it holds, and `from` holds the key of the member who submitted
    /// it: a juror's node takes the result from the appellant's.
    fn sits_on_a_jury_of(
        &mut self,
        node: usize,
        from: usize,
        sub: &Verified,
    ) -> Result<bool, Failure> {
        if !self.cfg.appeals || !self.nodes[node].honest {
            return Ok(false);
        }
        if !self.holds_key(from, &sub.entry().author) {
            return Ok(false);
        }
        let now = self.clock(node);
        let seated = self
            .state_now(node)?
            .appeals(now)
            .iter()
            .filter(|a| a.submission == sub.id())
            .flat_map(|a| a.seats.iter())
            .any(|s| self.holds_key(node, &s.member));
        Ok(seated)
    }

    /// Queues, on the node of each appellant, the result of its appeal for every juror
    /// holding an open seat whose node has not stored it yet, as the network task's
    /// `jurors_due` does at every tick (here at every sync round).
    pub(super) fn jurors_due(&mut self, node: usize) -> Result<(), Failure> {
        if !self.cfg.appeals || !self.nodes[node].honest {
            return Ok(());
        }
        let authors: Vec<PublicKey> = self.nodes[node]
            .scripts
            .iter()
            .map(|s| self.scripts[*s].author)
            .collect();
        let appealed = self.nodes[node].scripts.iter().any(|s| {
            let sc = &self.scripts[*s];
            sc.entries[..sc.next.min(sc.entries.len())]
                .iter()
                .any(|v| matches!(v.entry().body, Body::Appeal(_)))
        });
        if !appealed {
            return Ok(());
        }
        let now = self.clock(node);
        for a in self.state_now(node)?.appeals(now) {
            if !authors.contains(&a.appellant) || !self.nodes[node].results.holds(&a.submission) {
                continue;
            }
            for seat in a.open_seats() {
                let key = (a.submission, Some(seat.member));
                let r = &self.nodes[node].results;
                if r.outbox.contains(&key) || r.sent.contains(&(a.submission, seat.member)) {
                    continue;
                }
                self.nodes[node].results.marks.insert(key, seat.member);
                self.queue_result(node, key, seat.member)?;
            }
        }
        Ok(())
    }

    /// The answer to a result request of `node`.
    pub(super) fn on_result_answer(
        &mut self,
        node: usize,
        from: usize,
        id: u64,
        answer: Result<(), Refusal>,
    ) -> Result<(), Failure> {
        if self.nodes[node].results.out.remove(&id).is_none() {
            return Ok(());
        }
        if answer == Err(Refusal::UnknownCoop) {
            // As the network task: a peer that holds the cooperative no longer admits
            // this node, which proves itself again.
            self.unknown_coop(node, from)?;
        }
        let now = self.instant();
        let out = self.nodes[node]
            .results
            .outbox
            .answered(&id, from, answer, now);
        self.carry_out_results(node, out)
    }

    /// The hostile node sends forged bytes as the result of `id` (if a submission) to
    /// its requester's node, which must refuse them and still take the worker's.
    pub(super) fn forge_result(&mut self, hostile: usize, id: &Id) -> Result<(), Failure> {
        let Some(requester) = self
            .ledger(hostile)?
            .get(id)
            .map_err(|e| self.fail(e.to_string()))?
            .and_then(|v| match &v.entry().body {
                Body::Submit(s) => self.offer_authors.get(&s.offer).copied(),
                _ => None,
            })
        else {
            return Ok(());
        };
        let Some(to) = self.holder(&requester) else {
            return Ok(());
        };
        self.next_request += 1;
        let request = self.next_request;
        let forged = Msg::Result {
            id: request,
            submission: *id,
            bytes: vec![0xAB; 32],
        };
        self.send(hostile, to, forged);
        Ok(())
    }

    /// Results still to deliver, in words (none: empty). A result for a key no node
    /// holds here (a witness key left over: a member whose node is not in the run) waits
    /// for good, as for a member who never runs a node, and is left out.
    pub(super) fn results_waiting(&self) -> Vec<String> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.honest)
            .flat_map(|(i, n)| {
                n.results
                    .marks
                    .iter()
                    .filter(|(_, to)| self.holder(to).is_some())
                    .map(move |((id, juror), to)| {
                        format!(
                            "node {i}'s result of {} for {}{} (on node {:?})",
                            id.short(),
                            to.short(),
                            if juror.is_some() { ", a juror" } else { "" },
                            self.holder(to)
                        )
                    })
            })
            .collect()
    }

    /// The jurors whose node lacks the result of the appeal they sit on (by `reference`'s
    /// ledger, now), in words (none: empty). A seat's holder that speaks for no honest
    /// node here (a key held by no node) is left out.
    pub(super) fn jurors_waiting(&mut self, reference: usize) -> Result<Vec<String>, Failure> {
        if !self.cfg.appeals {
            return Ok(Vec::new());
        }
        let now = self.clock(reference);
        let mut out = Vec::new();
        for a in self.state_now(reference)?.appeals(now) {
            for seat in &a.seats {
                let Some(h) = self.holder(&seat.member) else {
                    continue;
                };
                let whole = self.nodes[h]
                    .results
                    .files
                    .get(&a.submission)
                    .is_some_and(|b| self.result_bytes.get(&a.submission) == Some(b));
                if !whole {
                    out.push(format!(
                        "node {h}, juror {} on the appeal of {}, lacks its result",
                        seat.member.short(),
                        a.submission.short()
                    ));
                }
            }
        }
        Ok(out)
    }

    /// At the end: the requester's node holds the result of every submission the honest
    /// nodes hold, whole.
    pub(super) fn check_results(&self, reference: usize) -> Result<(), Failure> {
        let Some(c) = self.nodes[reference].coop.as_ref() else {
            return Err(self.fail("no ledger"));
        };
        for (id, bytes) in &self.result_bytes {
            let Some(sub) = c.get(id).map_err(|e| self.fail(e.to_string()))? else {
                continue;
            };
            let Body::Submit(s) = &sub.entry().body else {
                continue;
            };
            let Some(requester) = self.offer_authors.get(&s.offer) else {
                continue;
            };
            let Some(h) = self.holder(requester) else {
                continue;
            };
            match self.nodes[h].results.files.get(id) {
                Some(held) if Hash::of(held) == s.result && held == bytes => {}
                Some(_) => {
                    return Err(self.fail(format!(
                        "node {h} holds a result of {} that is not the submission's",
                        id.short()
                    )))
                }
                None => {
                    return Err(self.fail(format!(
                        "node {h}, the requester's, never got the result of {}",
                        id.short()
                    )))
                }
            }
        }
        Ok(())
    }
}
