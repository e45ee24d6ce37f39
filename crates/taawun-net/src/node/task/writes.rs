//! The member's writes through the task: whether they are open in a cooperative
//! ([`Writing`]), a peer confirming the member's chain, and local appends and ingests.

use super::Task;
use crate::error::NetError;
use crate::guard::{self, WriteGuard};
use crate::node::event::{Event, Via, Writing};
use ed25519_dalek::SigningKey;
use libp2p::PeerId;
use std::collections::HashMap;
use taawun_core::body::{Body, Evidence};
use taawun_core::{Id, PublicKey, Verified};
use taawun_ledger::Ingest;
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
        let state = self.state(coop)?;
        Ok(state
            .rules_at(now)
            .is_some_and(|r| r.members.iter().chain(r.requesters.iter()).all(|k| k == me)))
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

    pub(super) fn append(
        &mut self,
        coop: Id,
        key: &SigningKey,
        body: Body,
        gov: Option<Id>,
    ) -> Result<Verified, NetError> {
        if self.member_key() == Some(PublicKey(key.verifying_key().to_bytes())) {
            if let Writing::Waiting { peers } = self.writing(&coop)? {
                return Err(NetError::Unconfirmed { coop, peers });
            }
        }
        let now = self.now();
        let v = self.coop(&coop)?.append(key, body, now, gov)?;
        self.emit(Event::Stored {
            coop,
            id: v.id(),
            via: Via::Local,
        });
        self.publish(coop, &v);
        Ok(v)
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
