//! The member's writes through the task: whether they are open in a cooperative
//! ([`Writing`]), a peer confirming the member's chain, and local appends and ingests.
//!
//! A local write is stored by the task and flushed on its ledger's committing thread
//! ([`taawun_ledger::CoopLedger::append_then`]): the task goes on with gossip, sync and
//! pings during the flush, and publishes the entry (and answers its caller) only once
//! it is on disk ([`Task::flushed`]), since a node that published an entry it then lost
//! in a crash could write another at the same seq and fork its own chain. A peer may
//! fetch the entry by sync before the flush ends; after a crash then, the write guard
//! ([`crate::guard`]) gets it back from that peer before the member writes again.

use super::Task;
use crate::error::NetError;
use crate::guard::{self, WriteGuard};
use crate::node::command::Reply;
use crate::node::event::{Event, Via, Writing};
use ed25519_dalek::SigningKey;
use libp2p::PeerId;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use taawun_core::body::{Body, Evidence};
use taawun_core::{Id, PublicKey, Verified};
use taawun_ledger::{Ingest, LedgerError};
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

impl Task {
    /// Whether the member's writes in `coop` go ahead now (see [`Writing`]).
    pub(super) fn writing(&mut self, coop: &Id) -> Result<Writing, NetError> {
        let Some(guard) = self.guards.get(coop) else {
            return Err(NetError::UnknownCoop(*coop));
        };
        if let Some(why) = guard.open() {
            return Ok(why.into());
        }
        if guard.may_be_alone() {
            if let Some(me) = self.member_key() {
                if self.alone(coop, &me)? {
                    let out = self.guard(coop).alone();
                    self.carry_out_guard(*coop, out);
                    return self.writing(coop);
                }
            }
        }
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        let peers = peers.iter().filter(|p| self.admitted(p, coop)).count();
        Ok(Writing::Waiting { peers })
    }

    /// Whether this task guards the member's writes ([`NetConfig::confirm_own_chain`]
    /// and a member to speak for).
    ///
    /// [`NetConfig::confirm_own_chain`]: crate::NetConfig::confirm_own_chain
    pub(super) fn guarded(&self) -> bool {
        self.config.confirm_own_chain && self.member.is_some()
    }

    /// The write guard of `coop` (a new one if the cooperative has none yet).
    pub(super) fn guard(&mut self, coop: &Id) -> &mut WriteGuard<PeerId, Evidence> {
        let guarded = self.guarded();
        self.guards
            .entry(*coop)
            .or_insert_with(|| WriteGuard::new(guarded))
    }

    /// Whether, by this node's ledger, no key but `me` is a member or requester of `coop`
    /// now.
    fn alone(&mut self, coop: &Id, me: &PublicKey) -> Result<bool, NetError> {
        let now = self.now();
        let only_me = |r: &taawun_core::rules::Rules| {
            r.members.iter().chain(r.requesters.iter()).all(|k| k == me)
        };
        // The roles admission reads, when they are read from the whole ledger (a freeze
        // comes with an entry stored, so none happened since): no fold on the task, and
        // the same members admission serves the chain to.
        self.refresh_roles(coop);
        let len = self.coops.get(coop).map(|c| c.len());
        if let Some(t) = self
            .roles
            .get(coop)
            .filter(|r| Some(r.len) == len)
            .and_then(|r| r.roles.timeline())
        {
            return Ok(only_me(t.at(now)));
        }
        // Roles behind the ledger (a refresh running off the task) or none read: the
        // state as it is now.
        let state = self.state(coop)?;
        Ok(state.rules_at(now).is_some_and(|r| only_me(&r)))
    }

    /// Carries out what `coop`'s [`WriteGuard`] decided: writes open (answers those
    /// waiting), evidence to author.
    pub(super) fn carry_out_guard(&mut self, coop: Id, out: Vec<guard::Output<PeerId, Evidence>>) {
        for o in out {
            match o {
                guard::Output::Opened(why) => {
                    if let guard::Open::Confirmed { peer, seq } = why {
                        self.emit(Event::Confirmed { coop, peer, seq });
                    }
                    let why = Writing::from(why);
                    info!(coop = %coop.short(), ?why, "the member's writes are open");
                    for w in self.write_waiters.remove(&coop).unwrap_or_default() {
                        let _ = w.send(Ok(why));
                    }
                }
                guard::Output::Publish(evidence) => self.publish_evidence(coop, evidence),
            }
        }
    }

    /// `peer` answered a sync session with heads in which the member's chain ends at
    /// `remote` (0: none of it): if the chain held here is at least that long, and the peer
    /// is admitted, the member's latest entry is confirmed.
    pub(super) fn confirm(&mut self, peer: PeerId, coop: Id, remote: u64) {
        // Open already (or unguarded): no need to read the member's head.
        if self.guards.get(&coop).is_none_or(|g| g.open().is_some()) {
            return;
        }
        let Some(me) = self.member_key() else {
            return;
        };
        let local = match self.coops.get(&coop).map(|c| c.head(&me)) {
            Some(Ok(h)) => h.map_or(0, |h| h.seq),
            Some(Err(e)) => {
                warn!(error = %e, "cannot read the member's head");
                return;
            }
            None => return,
        };
        let Some(mut guard) = self.guards.remove(&coop) else {
            return;
        };
        let out = guard.confirm(peer, local, remote, || self.admitted(&peer, &coop));
        self.guards.insert(coop, guard);
        if local < remote {
            debug!(%peer, local, remote, "the peer holds more of the member's chain than fetched yet");
        }
        self.carry_out_guard(coop, out);
    }

    /// Stores the next entry of `key`'s chain and has it flushed; `then` is carried out
    /// once it is on disk ([`Task::flushed`]), or now if nothing was stored.
    pub(super) fn append(
        &mut self,
        coop: Id,
        key: &SigningKey,
        body: Body,
        gov: Option<Id>,
        then: Then,
    ) {
        match self.store_local(coop, key, body, gov) {
            Ok((v, rx)) => self.flushing.push_back(Box::pin(async move {
                let on_disk = rx.await.unwrap_or(Err(LedgerError::Committer));
                Flushed {
                    coop,
                    v,
                    then,
                    on_disk,
                }
            })),
            Err(e) => not_written(then, e),
        }
    }

    /// A local write stored, and what reports its flush.
    fn store_local(
        &mut self,
        coop: Id,
        key: &SigningKey,
        body: Body,
        gov: Option<Id>,
    ) -> Result<(Verified, oneshot::Receiver<Result<(), LedgerError>>), NetError> {
        if self.member_key() == Some(PublicKey(key.verifying_key().to_bytes())) {
            if let Writing::Waiting { peers } = self.writing(&coop)? {
                return Err(NetError::Unconfirmed { coop, peers });
            }
        }
        let now = self.now();
        let (tx, rx) = oneshot::channel();
        let flushed = Box::new(move |r: Result<(), LedgerError>| {
            let _ = tx.send(r);
        });
        let v = self
            .coop(&coop)?
            .append_then(key, body, now, gov, flushed)?;
        Ok((v, rx))
    }

    /// A local write is on disk (or failed to get there): reports and publishes it, and
    /// carries out what was to follow.
    pub(super) fn flushed(&mut self, w: Flushed) {
        let Flushed {
            coop,
            v,
            then,
            on_disk,
        } = w;
        if let Err(e) = on_disk {
            warn!(coop = %coop.short(), entry = %v.id().short(), error = %e, "a local write did not reach the disk: not published");
            return not_written(then, e.into());
        }
        self.emit(Event::Stored {
            coop,
            id: v.id(),
            via: Via::Local,
        });
        self.publish(coop, &v);
        match then {
            Then::Reply(reply) => {
                let _ = reply.send(Ok(v));
            }
            Then::Evidence { author, seq } => {
                info!(author = %author.short(), seq, entry = %v.id().short(), "evidence published");
                self.emit(Event::EvidencePublished {
                    coop,
                    author,
                    seq,
                    entry: v.id(),
                });
            }
        }
    }

    pub(super) fn ingest_local(
        &mut self,
        coop: Id,
        entries: Vec<Verified>,
        gossip: bool,
    ) -> Result<Vec<Ingest>, NetError> {
        let now = Some(self.now());
        let by_id: HashMap<Id, Verified> = if gossip {
            entries.iter().map(|v| (v.id(), v.clone())).collect()
        } else {
            HashMap::new()
        };
        let out = self.coop(&coop)?.ingest_many(entries, now)?;
        for o in &out {
            self.on_ingested(coop, o, Via::Local, Some(&by_id));
        }
        Ok(out)
    }
}

/// Carries out what was to follow a local write that was not written (or not flushed).
fn not_written(then: Then, e: NetError) {
    match then {
        Then::Reply(reply) => {
            let _ = reply.send(Err(e));
        }
        // Not a member of this cooperative, say: the ledger keeps the evidence anyway.
        Then::Evidence { author, .. } => {
            warn!(author = %author.short(), error = %e, "could not publish evidence");
        }
    }
}

/// What follows a local write once it is on disk ([`Task::flushed`]).
#[derive(Debug)]
pub(super) enum Then {
    /// Answer the caller of [`crate::Network::append`].
    Reply(Reply<Verified>),
    /// Report evidence the node authored against `author`'s fork at `seq`.
    Evidence { author: PublicKey, seq: u64 },
}

/// A local write and whether it reached the disk.
pub(super) struct Flushed {
    coop: Id,
    v: Verified,
    then: Then,
    on_disk: Result<(), LedgerError>,
}

/// A local write waiting for its flush.
pub(super) type Flushing = Pin<Box<dyn Future<Output = Flushed> + Send>>;
