//! Results on the task: the outbox and its deliveries and retries, the jurors due a
//! result, and receiving a result from a worker's node.
//!
//! A result is up to [`result::MAX_RESULT_BYTES`] (64 MiB), written whole and synced: its
//! file is written and read on tokio's blocking pool ([`FileDone`]), and the task carries
//! on when the job comes back. The outbox's marks (small files, each synced) are written
//! on the blocking pool too, one after the other in the order the task asks ([`Marks`]),
//! with the record of a result a juror's node stored (kept in memory as well, for the
//! next tick, and read back once when the outbox is restored). A result received is kept
//! there too, with the reason's key that came with it ([`keep_received`]); whether the
//! folder holds a result is looked at once and then remembered ([`FileJobs`]), so no tick
//! reads the disk.

use super::{Delivery, Task};
use crate::error::NetError;
use crate::exchange;
use crate::node::event::Event;
#[cfg(doc)]
use crate::node::Network;
use crate::outbox;
#[cfg(doc)]
use crate::outbox::Outbox;
use crate::result::{self, Refusal};
use libp2p::request_response;
use libp2p::request_response::ResponseChannel;
use libp2p::PeerId;
use serde_bytes::ByteBuf;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::time::Instant;
use taawun_core::body::Body;
use taawun_core::seal::ContentKey;
use taawun_core::{Id, PublicKey, Verified};
use tracing::{debug, info, warn};

use crate::node::command::Reply;

/// A result file job done on the blocking pool, back to the task.
pub(super) enum FileDone {
    /// The member's result was written (and marked to deliver unless this node is its
    /// requester's): queue it, and answer [`Network::send_result`].
    Saved {
        key: Delivery,
        requester: PublicKey,
        mine: bool,
        reply: Reply<()>,
        written: io::Result<()>,
    },
    /// A queued result was read for an attempt to `to`.
    Read {
        key: Delivery,
        to: PublicKey,
        last: Option<PeerId>,
        bytes: io::Result<Option<Vec<u8>>>,
    },
    /// A result received from `peer` was kept (with the reason's key it came with):
    /// answer it.
    Received {
        peer: PeerId,
        channel: ResponseChannel<result::Response>,
        coop: Id,
        submission: Id,
        size: usize,
        kept: Result<Kept, (&'static str, io::Error)>,
    },
}

/// What became of a result received and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kept {
    /// Written now.
    New,
    /// This node held it already.
    Held,
}

/// Keeps a result received and checked, on the blocking pool: the reason's key it came
/// with first (checked already: it opens the reason), then the result unless it is
/// held already. The error names what could not be written.
fn keep_received(
    store: &result::Store,
    coop: &Id,
    submission: &Id,
    bytes: &[u8],
    key: Option<(Id, ContentKey)>,
) -> Result<Kept, (&'static str, io::Error)> {
    if let Some((rejection, key)) = key {
        store
            .write_key(coop, &rejection, &key)
            .map_err(|e| ("a reason's key", e))?;
    }
    if store.contains(coop, submission) {
        return Ok(Kept::Held);
    }
    store
        .write(coop, submission, bytes)
        .map(|()| Kept::New)
        .map_err(|e| ("a result", e))
}

/// What the task knows of the results folder, so that it need not look at the disk:
/// results being written as received (a second copy meanwhile is refused for now, its
/// sender tries again, so two jobs never write one file), the jurors' nodes that stored
/// a result, and whether this node holds the results the jurors due one look for.
#[derive(Debug, Default)]
pub(super) struct FileJobs {
    receiving: HashSet<(Id, Id)>,
    /// Results a juror's node stored (cooperative, submission, juror): the records
    /// ([`Mark::Sent`]) read when the node started, and those since, whose record may
    /// not be written yet.
    sent: HashSet<(Id, Id, PublicKey)>,
    /// Whether the results folder holds the result of (cooperative, submission): looked
    /// at once, then kept up to date as this node writes results (only this node writes
    /// its folder).
    held: HashMap<(Id, Id), bool>,
}

/// A change to the outbox's marks in the results folder (see [`result::Store`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mark {
    /// Still to deliver (after a restart too).
    Queued(Delivery),
    /// Delivered or dropped: no longer to deliver.
    Done(Delivery),
    /// A juror's node stored the result: not to be queued for that juror again.
    Sent(Id, Id, PublicKey),
}

impl Mark {
    fn write(self, store: &result::Store) {
        let (what, out) = match self {
            Mark::Queued((c, s, j)) => ("queue", store.enqueue(&c, &s, j.as_ref())),
            Mark::Done((c, s, j)) => ("unmark", store.dequeue(&c, &s, j.as_ref())),
            Mark::Sent(c, s, j) => ("record the juror's copy of", store.sent(&c, &s, &j)),
        };
        if let Err(e) = out {
            // A mark lost is repaired: the outbox is read again at start, and a result
            // sent twice is stored once.
            warn!(error = %e, "cannot {what} a result");
        }
    }
}

/// The outbox's marks, written on the blocking pool in the order asked, so that an
/// unmark never overtakes its mark; started on first use.
#[derive(Debug, Default)]
pub(super) struct Marks(
    Option<(
        tokio::sync::mpsc::UnboundedSender<Mark>,
        tokio::task::JoinHandle<()>,
    )>,
);

impl Marks {
    /// Writes `mark` after every mark asked for before it.
    pub(super) fn write(&mut self, store: &result::Store, mark: Mark) {
        let (tx, _) = self.0.get_or_insert_with(|| {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Mark>();
            let store = store.clone();
            let worker = tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let mut batch = vec![first];
                    while let Ok(m) = rx.try_recv() {
                        batch.push(m);
                    }
                    let store = store.clone();
                    // One batch at a time: the order holds across batches.
                    let _ = tokio::task::spawn_blocking(move || {
                        for m in batch {
                            m.write(&store);
                        }
                    })
                    .await;
                }
            });
            (tx, worker)
        });
        let _ = tx.send(mark);
    }

    /// Once every mark asked for is written (when the node stops).
    pub(super) async fn written(self) {
        if let Some((tx, worker)) = self.0 {
            drop(tx);
            let _ = worker.await;
        }
    }
}

/// What becomes of a result received: answered now, or once it is kept (with the key
/// to the rejection's reason it came with, checked).
enum Answer {
    Now(result::Response),
    Keep {
        coop: Id,
        submission: Id,
        bytes: Vec<u8>,
        key: Option<(Id, ContentKey)>,
    },
}

impl Task {
    /// The requester of a `Submit` entry: the author of the offer it names.
    fn requester_of(&self, coop: &Id, submission: &Verified) -> Result<PublicKey, NetError> {
        let Body::Submit(s) = &submission.entry().body else {
            return Err(Refusal::NotASubmission.into());
        };
        let c = self.coops.get(coop).ok_or(NetError::UnknownCoop(*coop))?;
        // A stored submission's offer is stored (it is a dependency).
        let offer = c
            .get(&s.offer)?
            .ok_or(NetError::Result(Refusal::UnknownSubmission))?;
        Ok(offer.entry().author)
    }

    /// Writes a mark of the outbox after those asked before it (see [`Marks`]).
    fn mark(&mut self, mark: Mark) {
        if let Some(store) = &self.results {
            self.marks.write(store, mark);
        }
    }

    /// Re-queues the outbox left by the last run, after keeping the results of
    /// submissions signed just before it stopped ([`Task::restore_staged`]).
    pub(super) fn restore_outbox(&mut self) -> Result<(), NetError> {
        let Some(store) = self.results.clone() else {
            return Ok(());
        };
        self.restore_staged(&store)?;
        self.files.sent.extend(store.sent_all()?);
        for (coop, submission, juror) in store.outbox()? {
            let to = match juror {
                Some(j) => Ok(j),
                None => self
                    .coops
                    .get(&coop)
                    .ok_or(NetError::UnknownCoop(coop))
                    .and_then(|c| {
                        c.get(&submission)?
                            .ok_or(NetError::Result(Refusal::UnknownSubmission))
                    })
                    .and_then(|v| self.requester_of(&coop, &v))
                    .map(|r| self.identity(&coop, &r)),
            };
            match to {
                Ok(to) => {
                    // Tried at the first tick of the retry timer, once the task runs.
                    let last = self.bindings.get(&to).map(|(p, _)| *p);
                    let key = (coop, submission, juror);
                    if let Err(e) = self.outbox.queue(key, to, last, Instant::now()) {
                        warn!(submission = %submission.short(), error = %e, "a queued result waits");
                    }
                }
                Err(e) => {
                    warn!(submission = %submission.short(), error = %e, "dropping a queued result");
                    store.dequeue(&coop, &submission, juror.as_ref())?;
                }
            }
        }
        if !self.outbox.is_empty() {
            info!(results = self.outbox.len(), "results to deliver");
        }
        Ok(())
    }

    /// Finishes what [`Network::submit`] left undone when the node stopped between
    /// signing a submission and keeping its result: each result kept before signing
    /// whose submission this node's member signed becomes that submission's result, and
    /// is marked for the requester. A result whose submission was never signed is
    /// dropped (the member may submit again).
    fn restore_staged(&mut self, store: &result::Store) -> Result<(), NetError> {
        for (coop, offer) in store.staged()? {
            let Some(bytes) = store.read_staged(&coop, &offer)? else {
                continue;
            };
            let found = match self.staged_submission(&coop, &offer, &bytes) {
                Ok(found) => found,
                Err(e) => {
                    // Kept for the next start: the ledger could not be read now.
                    warn!(offer = %offer.short(), error = %e, "a kept result waits");
                    continue;
                }
            };
            match found {
                Some((submission, requester)) => {
                    if !store.contains(&coop, &submission) {
                        let mine = self.is_own(&coop, requester);
                        store.keep_own(&coop, &submission, &bytes, mine)?;
                        info!(submission = %submission.short(), "kept the result of a submission signed before the node stopped");
                    }
                    self.files.held.insert((coop, submission), true);
                }
                None => {
                    info!(offer = %offer.short(), "dropping a result kept for a submission never signed");
                }
            }
            store.unstage(&coop, &offer)?;
        }
        Ok(())
    }

    /// The submission for `offer` this node's member signed with `bytes` as its result,
    /// with its requester (the identity results go to).
    fn staged_submission(
        &mut self,
        coop: &Id,
        offer: &Id,
        bytes: &[u8],
    ) -> Result<Option<(Id, PublicKey)>, NetError> {
        let ids = match self.coops.get(coop) {
            Some(c) => c.by_offer(offer)?,
            None => return Ok(None),
        };
        for id in ids {
            let Some(v) = self.coop(coop)?.get(&id)? else {
                continue;
            };
            // Another member's submission may name the same bytes: only this node's
            // member's is its to send.
            let is_submission = matches!(&v.entry().body, Body::Submit(s) if s.offer == *offer);
            if !is_submission
                || result::check(&v, bytes).is_err()
                || (self.member.is_some() && !self.is_own(coop, v.entry().author))
            {
                continue;
            }
            let requester = self.requester_of(coop, &v)?;
            return Ok(Some((v.id(), self.identity(coop, &requester))));
        }
        Ok(None)
    }

    /// Whether `key` speaks for the member this node speaks for (by stable identity).
    fn is_own(&mut self, coop: &Id, key: PublicKey) -> bool {
        let me = self.member_key();
        me.is_some_and(|me| self.identity(coop, &me) == self.identity(coop, &key))
    }

    /// Puts a delivery in the outbox (once) and tries it now, unless a request for it is
    /// out. Fails when the outbox is full.
    fn queue(&mut self, key: Delivery, to: PublicKey) -> Result<(), NetError> {
        let last = self.bindings.get(&to).map(|(p, _)| *p);
        let out = self
            .outbox
            .queue(key, to, last, Instant::now())
            .map_err(|outbox::Full(n)| NetError::OutboxFull(n))?;
        self.carry_out_outbox(out);
        Ok(())
    }

    /// See [`Network::send_result`]: checked here, written on the blocking pool, then
    /// queued and answered ([`Task::files_done`]).
    pub(super) fn send_result(
        &mut self,
        coop: Id,
        submission: Id,
        bytes: Vec<u8>,
        reply: Reply<()>,
    ) {
        match self.check_send(coop, submission, &bytes) {
            Ok((store, requester, mine, offer)) => self.jobs.spawn(move || {
                let written = store
                    .keep_own(&coop, &submission, &bytes, mine)
                    // Kept and marked: what was kept before signing is no longer needed.
                    .and_then(|()| store.unstage(&coop, &offer));
                FileDone::Saved {
                    key: (coop, submission, None),
                    requester,
                    mine,
                    reply,
                    written,
                }
            }),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Whether the member may send this result: the folder, the requester, whether this
    /// node is the requester's own, and the offer.
    fn check_send(
        &mut self,
        coop: Id,
        submission: Id,
        bytes: &[u8],
    ) -> Result<(result::Store, PublicKey, bool, Id), NetError> {
        let store = self.results.clone().ok_or(NetError::NoResultsDir)?;
        let sub = self
            .coop(&coop)?
            .get(&submission)?
            .ok_or(NetError::Result(Refusal::UnknownSubmission))?;
        result::check(&sub, bytes)?;
        let requester = self.requester_of(&coop, &sub)?;
        let requester = self.identity(&coop, &requester);
        let key = (coop, submission, None);
        if !self.outbox.contains(&key) && self.outbox.is_full() {
            return Err(NetError::OutboxFull(self.outbox.len()));
        }
        let mine = self.is_own(&coop, requester);
        let Body::Submit(s) = &sub.entry().body else {
            return Err(Refusal::NotASubmission.into());
        };
        Ok((store, requester, mine, s.offer))
    }

    /// A result file job came back.
    pub(super) fn files_done(&mut self, done: FileDone) {
        match done {
            FileDone::Saved {
                key,
                requester,
                mine,
                reply,
                written,
            } => {
                if written.is_ok() {
                    self.files.held.insert((key.0, key.1), true);
                }
                let out = written.map_err(NetError::from).and_then(|()| {
                    if mine {
                        // This node is the requester's: the result is where it belongs.
                        let (coop, submission, _) = key;
                        let to = *self.swarm.local_peer_id();
                        self.emit(Event::ResultDelivered {
                            coop,
                            submission,
                            to,
                            juror: None,
                        });
                        Ok(())
                    } else {
                        let queued = self.queue(key, requester);
                        if queued.is_err() {
                            // Not queued after all: unmark it, so no restart sends it.
                            self.mark(Mark::Done(key));
                        }
                        queued
                    }
                });
                let _ = reply.send(out);
            }
            FileDone::Read {
                key,
                to,
                last,
                bytes,
            } => self.read_for_delivery(key, to, last, bytes),
            FileDone::Received {
                peer,
                channel,
                coop,
                submission,
                size,
                kept,
            } => {
                self.files.receiving.remove(&(coop, submission));
                let response = match kept {
                    Ok(kept) => {
                        self.files.held.insert((coop, submission), true);
                        if kept == Kept::New {
                            info!(%peer, submission = %submission.short(), size, "result received");
                            self.emit(Event::ResultReceived {
                                coop,
                                submission,
                                from: peer,
                            });
                        }
                        result::Response::Stored
                    }
                    Err((what, e)) => {
                        warn!(error = %e, "cannot store {what}");
                        result::Response::Refused(Refusal::Unavailable)
                    }
                };
                self.respond(peer, channel, response);
            }
        }
    }

    /// Queues the result of every appeal this node's member made for the jurors holding
    /// an open seat on its jury whose node has not stored it yet (protocol.md 13.7). A
    /// jury sits only once the witness slack after the appeal has passed, and a seat
    /// that lapses passes to the next member of the ranking, so this looks again at
    /// every tick. A juror's node that refused (its ledger did not seat it yet) is asked
    /// again with the outbox's backoff.
    pub(super) fn jurors_due(&mut self) {
        let (Some(me), Some(store)) = (self.member_key(), self.results.clone()) else {
            return;
        };
        let now = self.now();
        let coops: Vec<Id> = self.coops.keys().copied().collect();
        for coop in coops {
            // Looked at every tick: a state a refresh behind is good enough.
            let Ok(st) = self.state_soon(&coop) else {
                continue;
            };
            let mine = self.identity(&coop, &me);
            // Appeals are rare and listing them folds every submission: only when this
            // member made one.
            let appellants: Vec<PublicKey> = st
                .ids(taawun_core::Kind::Appeal)
                .filter_map(|id| st.get(id))
                .map(|v| v.entry().author)
                .collect();
            if !appellants.iter().any(|a| self.identity(&coop, a) == mine) {
                continue;
            }
            for a in st.appeals(now) {
                if a.appellant != mine || !self.holds(&store, coop, a.submission) {
                    continue;
                }
                for seat in a.open_seats() {
                    let key = (coop, a.submission, Some(seat.member));
                    if self.outbox.contains(&key)
                        || self.files.sent.contains(&(coop, a.submission, seat.member))
                    {
                        continue;
                    }
                    if self.outbox.is_full() {
                        warn!("outbox full: a juror's result waits");
                        return;
                    }
                    self.mark(Mark::Queued(key));
                    info!(submission = %a.submission.short(), juror = %seat.member.short(), "result queued for a juror");
                    if let Err(e) = self.queue(key, seat.member) {
                        warn!(error = %e, "a juror's result waits");
                    }
                }
            }
        }
    }

    /// Whether the results folder holds the result of `submission` (looked at on the
    /// disk once, see [`FileJobs::held`]).
    fn holds(&mut self, store: &result::Store, coop: Id, submission: Id) -> bool {
        *self
            .files
            .held
            .entry((coop, submission))
            .or_insert_with(|| store.contains(&coop, &submission))
    }

    /// `peer` proved it holds `member`: results for that member (or the one its device
    /// key speaks for) are due now, to it, with a fresh backoff.
    pub(super) fn peer_is_back(&mut self, peer: PeerId, member: PublicKey) {
        // Whom `member` speaks for, per cooperative with a result waiting (roles are read
        // here, the machine only matches).
        let mut speaks: BTreeMap<Id, Option<PublicKey>> = BTreeMap::new();
        let coops: Vec<Id> = self.outbox.keys().map(|k| k.0).collect();
        for coop in coops {
            if speaks.contains_key(&coop) {
                continue;
            }
            let s = self.speaks_for(&coop, &member);
            speaks.insert(coop, s);
        }
        let out = self.outbox.reached(peer, Instant::now(), |key, to| {
            *to == member || speaks.get(&key.0).copied().flatten() == Some(*to)
        });
        self.carry_out_outbox(out);
    }

    /// A connected peer proven to hold `to` or a live device key of it in `coop`,
    /// preferring the one it was last seen on. None while the roles miss an entry that
    /// may change them (a large refresh running off the task): the outbox tries again
    /// later rather than hand a result to a key revoked meanwhile.
    fn node_of(&mut self, coop: &Id, to: &PublicKey, last: Option<PeerId>) -> Option<PeerId> {
        if !self.roles_current(coop) {
            return None;
        }
        let mut candidates: Vec<(PeerId, PublicKey)> = self.admission.proven().collect();
        // The last one first, then in a fixed order.
        candidates.sort_by_key(|(p, _)| (Some(*p) != last, *p));
        candidates
            .into_iter()
            .find(|(_, key)| self.speaks_for(coop, key) == Some(*to))
            .map(|(p, _)| p)
    }

    /// Sends every result whose retry is due.
    pub(super) fn retry_due(&mut self) {
        let out = self.outbox.due(Instant::now());
        self.carry_out_outbox(out);
    }

    /// Answers a peer that sent a result.
    fn respond(
        &mut self,
        peer: PeerId,
        channel: ResponseChannel<result::Response>,
        response: result::Response,
    ) {
        if self
            .swarm
            .behaviour_mut()
            .results
            .send_response(channel, response)
            .is_err()
        {
            debug!(%peer, "result sender went away");
        }
    }

    /// Carries out what the [`Outbox`] decided.
    fn carry_out_outbox(&mut self, out: Vec<outbox::Output<Delivery, PublicKey, PeerId>>) {
        for o in out {
            match o {
                outbox::Output::Deliver { key, to, last } => self.deliver(key, to, last),
                outbox::Output::Dial(peer) => {
                    if self.swarm.dial(peer).is_err() {
                        let more = self.outbox.dial_failed(peer);
                        self.carry_out_outbox(more);
                    }
                }
                outbox::Output::Lookup(peer) => {
                    self.swarm.behaviour_mut().kad.get_closest_peers(peer);
                }
                outbox::Output::Delivered { key, peer } => self.finish(key, Ok(peer)),
                outbox::Output::Refused { key, refusal } => self.finish(key, Err(refusal)),
            }
        }
    }

    /// One delivery attempt: when a connected node holds the recipient's key, the bytes
    /// are read from the results folder on the blocking pool, then sent
    /// ([`Task::read_for_delivery`]).
    fn deliver(&mut self, key: Delivery, to: PublicKey, last: Option<PeerId>) {
        let Some(store) = self.results.clone() else {
            return;
        };
        let (coop, _, _) = key;
        if self.node_of(&coop, &to, last).is_none() {
            return self.unreachable(key);
        }
        self.outbox.reading(key);
        self.jobs.spawn(move || {
            let (coop, submission, _) = key;
            FileDone::Read {
                key,
                to,
                last,
                bytes: store.read(&coop, &submission),
            }
        });
    }

    /// No connected peer has proven the recipient's key: the outbox says whom to dial,
    /// and tries again later.
    fn unreachable(&mut self, key: Delivery) {
        let swarm = &self.swarm;
        let out = self
            .outbox
            .unreachable(key, Instant::now(), |p| swarm.is_connected(p));
        self.carry_out_outbox(out);
    }

    /// The bytes of a delivery were read: sent to a connected node of the recipient (one
    /// may have gone meanwhile).
    fn read_for_delivery(
        &mut self,
        key: Delivery,
        to: PublicKey,
        last: Option<PeerId>,
        bytes: io::Result<Option<Vec<u8>>>,
    ) {
        if !self.outbox.contains(&key) {
            return;
        }
        let (coop, submission, juror) = key;
        let bytes = match bytes {
            Ok(Some(b)) => b,
            Ok(None) => {
                warn!(submission = %submission.short(), "queued result gone from the results folder");
                self.outbox.forget(&key);
                self.mark(Mark::Done(key));
                return;
            }
            Err(e) => {
                warn!(submission = %submission.short(), error = %e, "cannot read a queued result");
                self.outbox.unreadable(key, Instant::now());
                return;
            }
        };
        let Some(peer) = self.node_of(&coop, &to, last) else {
            return self.unreachable(key);
        };
        // A juror also gets the key to the rejection's reason, sealed to the parties only:
        // read from the state as it is now, else the result waits for it.
        let reason = match juror {
            None => None,
            Some(_) => match self.disclosure(&coop, &submission) {
                Some(reason) => reason,
                None => {
                    self.outbox.unreadable(key, Instant::now());
                    return;
                }
            },
        };
        let id = self.swarm.behaviour_mut().results.send_request(
            &peer,
            result::Request {
                coop,
                submission,
                bytes: ByteBuf::from(bytes),
                reason,
            },
        );
        self.outbox.sending(key, peer, id);
    }

    /// The content key of the reason of the rejection of `submission` that counts (the
    /// one an appeal names), opened with this node's key: `Some(None)` when there is none
    /// or this node's key is not among its recipients (a device enrolled after it);
    /// `None` while the state is refreshed off the task ([`Task::state_now`]).
    fn disclosure(&mut self, coop: &Id, submission: &Id) -> Option<Option<result::Disclosed>> {
        let Ok(st) = self.state_now(coop)? else {
            return Some(None);
        };
        let open = || {
            let rejection = st.rejection(submission, self.now())?;
            let Body::Reject(r) = &st.get(&rejection)?.entry().body else {
                return None;
            };
            let key = r.reason.content_key(self.member.as_ref()?).ok()?;
            Some(result::Disclosed { rejection, key })
        };
        Some(open())
    }

    /// A delivery ended (stored, or refused for good; the outbox dropped it already).
    fn finish(&mut self, key: Delivery, outcome: Result<PeerId, Refusal>) {
        self.mark(Mark::Done(key));
        let (coop, submission, juror) = key;
        if let (Ok(_), Some(j)) = (&outcome, juror) {
            // The next tick looks at the jurors due a result before the file may be
            // written: it sees this one in memory.
            self.files.sent.insert((coop, submission, j));
            self.mark(Mark::Sent(coop, submission, j));
        }
        match outcome {
            Ok(to) => {
                info!(submission = %submission.short(), peer = %to, juror = juror.is_some(), "result delivered");
                self.emit(Event::ResultDelivered {
                    coop,
                    submission,
                    to,
                    juror,
                });
            }
            Err(refusal) => {
                warn!(submission = %submission.short(), %refusal, juror = juror.is_some(), "result refused");
                self.emit(Event::ResultRefused {
                    coop,
                    submission,
                    juror,
                    refusal,
                });
            }
        }
    }

    pub(super) fn on_results(
        &mut self,
        ev: request_response::Event<result::Request, result::Response>,
    ) {
        use request_response::{Event as E, Message as M, OutboundFailure};
        match ev {
            E::Message {
                peer,
                message: M::Request {
                    request, channel, ..
                },
                ..
            } => match self.receive_result(peer, request) {
                Answer::Now(response) => self.respond(peer, channel, response),
                Answer::Keep {
                    coop,
                    submission,
                    bytes,
                    key,
                } => {
                    let Some(store) = self.results.clone() else {
                        let refused = result::Response::Refused(Refusal::Unavailable);
                        return self.respond(peer, channel, refused);
                    };
                    self.jobs.spawn(move || FileDone::Received {
                        peer,
                        channel,
                        coop,
                        submission,
                        size: bytes.len(),
                        kept: keep_received(&store, &coop, &submission, &bytes, key),
                    });
                }
            },
            E::Message {
                peer,
                message:
                    M::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let answer = match response {
                    result::Response::Stored => Ok(()),
                    result::Response::Refused(r) => {
                        if r.retry() && self.outbox.knows(&request_id) {
                            debug!(%peer, refusal = %r, "result not taken yet; retrying");
                        }
                        // As for sync: else the result waits for a sync round that may
                        // never come with this peer.
                        if let (Refusal::UnknownCoop, Some((coop, _, _))) =
                            (r, self.outbox.key_of(&request_id))
                        {
                            self.prove_again(peer, coop);
                        }
                        Err(r)
                    }
                };
                let out = self
                    .outbox
                    .answered(&request_id, peer, answer, Instant::now());
                self.carry_out_outbox(out);
            }
            E::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if self.outbox.knows(&request_id) {
                    debug!(%peer, %error, "result delivery failed; retrying");
                }
                // A failed dial means no known address works: the outbox has the DHT asked
                // where the requester is now.
                let dial = matches!(error, OutboundFailure::DialFailure);
                let out = self.outbox.failed(&request_id, peer, dial, Instant::now());
                self.carry_out_outbox(out);
            }
            E::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "receiving a result failed");
            }
            E::ResponseSent { .. } => {}
        }
    }

    /// Checks a result against the `Submit` entry this node holds: refused, answered
    /// now; else to be kept (on the blocking pool), then answered.
    fn receive_result(&mut self, peer: PeerId, req: result::Request) -> Answer {
        match self.check_received(peer, req) {
            Ok(write) => write,
            Err(response) => Answer::Now(response),
        }
    }

    /// [`Task::receive_result`], with every answer given now as the error.
    fn check_received(
        &mut self,
        peer: PeerId,
        req: result::Request,
    ) -> Result<Answer, result::Response> {
        use result::Response::Refused;
        let result::Request {
            coop,
            submission,
            bytes,
            reason,
        } = req;
        if self.results.is_none() {
            return Err(Refused(Refusal::Unavailable));
        }
        if !self.admitted(&peer, &coop) {
            // A stranger learns nothing: as from a node without the cooperative.
            return Err(Refused(Refusal::UnknownCoop));
        }
        let sub = match exchange::received(self.coops.get(&coop), &submission, &bytes) {
            Ok(sub) => sub,
            Err(exchange::Refused { refusal, sync }) => {
                if sync {
                    // Gossip may not have brought it yet: ask the sender, who holds it.
                    self.start_sync(peer, coop);
                } else if !refusal.retry() {
                    info!(%peer, submission = %submission.short(), %refusal, "result refused");
                }
                return Err(Refused(refusal));
            }
        };
        match self.recipient(&peer, &coop, &sub) {
            Some(true) => {}
            Some(false) => {
                info!(%peer, submission = %submission.short(), "result refused: not for this node");
                // A juror's node may not have the entries that seat it yet: the sender has.
                self.start_sync(peer, coop);
                return Err(Refused(Refusal::NotRecipient));
            }
            None => {
                debug!(%peer, submission = %submission.short(), "result not taken yet: the state is being refreshed");
                return Err(Refused(Refusal::Unavailable));
            }
        }
        // A key to the rejection's reason is kept only once it opens it (protocol.md 13.7).
        let key = match reason {
            None => None,
            Some(d) => {
                let held = self.coops.get(&coop).map(|c| c.get(&d.rejection));
                let rejection = match held {
                    Some(Ok(Some(v))) => v,
                    None | Some(Ok(None)) => {
                        self.start_sync(peer, coop);
                        return Err(Refused(Refusal::UnknownSubmission));
                    }
                    Some(Err(e)) => {
                        warn!(error = %e, "cannot read a rejection");
                        return Err(Refused(Refusal::Unavailable));
                    }
                };
                if let Err(r) = result::check_reason(&rejection, &submission, &d.key) {
                    warn!(%peer, submission = %submission.short(), refusal = %r, "result refused");
                    return Err(Refused(r));
                }
                Some((d.rejection, d.key))
            }
        };
        if !self.files.receiving.insert((coop, submission)) {
            // Being kept from another copy: this sender tries again.
            return Err(Refused(Refusal::Unavailable));
        }
        Ok(Answer::Keep {
            coop,
            submission,
            bytes: bytes.into_vec(),
            key,
        })
    }

    /// Whether this node may take the result of `sub` from `peer` (protocol.md 13.7):
    /// it speaks for the requester (its key, or a live device key of it), or for a
    /// juror seated (now or before) on an appeal of the submission, and then only from a
    /// peer that speaks for the member who submitted it. `None`: the juror's seats are
    /// read from a state being refreshed off the task; ask again later.
    fn recipient(&mut self, peer: &PeerId, coop: &Id, sub: &Verified) -> Option<bool> {
        let Some(me) = self.member_key().and_then(|k| self.speaks_for(coop, &k)) else {
            return Some(false);
        };
        let Ok(requester) = self.requester_of(coop, sub) else {
            return Some(false);
        };
        if self.identity(coop, &requester) == me {
            return Some(true);
        }
        let worker = self.identity(coop, &sub.entry().author);
        let Some(sender) = self.admission.key(peer) else {
            return Some(false);
        };
        if self.speaks_for(coop, &sender) != Some(worker) {
            return Some(false);
        }
        let Ok(st) = self.state_now(coop)? else {
            return Some(false);
        };
        Some(
            st.appeals(self.now())
                .iter()
                .any(|a| a.submission == sub.id() && a.seats.iter().any(|s| s.member == me)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{Mark, Marks};
    use crate::result;
    use taawun_core::{Id, PublicKey};

    #[tokio::test]
    async fn marks_are_written_in_the_order_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = result::Store::new(dir.path().to_path_buf());
        let a = (Id([1; 32]), Id([2; 32]), None);
        let b = (Id([1; 32]), Id([3; 32]), None);
        let mut marks = Marks::default();
        // Queued then done at once, many times over: an unmark overtaking its mark would
        // leave `a` in the outbox.
        for _ in 0..50 {
            marks.write(&store, Mark::Queued(a));
            marks.write(&store, Mark::Done(a));
        }
        marks.write(&store, Mark::Queued(b));
        let juror = PublicKey([9; 32]);
        marks.write(&store, Mark::Sent(Id([1; 32]), Id([2; 32]), juror));
        marks.written().await;
        assert_eq!(store.outbox().expect("outbox"), vec![b]);
        assert_eq!(
            store.sent_all().expect("sent marks"),
            vec![(Id([1; 32]), Id([2; 32]), juror)]
        );
    }
}
