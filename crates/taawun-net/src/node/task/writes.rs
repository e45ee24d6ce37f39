//! The member's writes through the task: whether they are open in a cooperative
//! ([`Writing`]), a peer confirming the member's chain, and local appends and ingests.

use super::Task;
use crate::error::NetError;
use crate::node::event::{Event, Via, Writing};
use ed25519_dalek::SigningKey;
use libp2p::PeerId;
use std::collections::HashMap;
use taawun_core::body::Body;
use taawun_core::{Id, PublicKey, Verified};
use taawun_ledger::Ingest;
use tracing::{debug, info, warn};

impl Task {
    /// Whether the member's writes in `coop` go ahead now (see [`Writing`]).
    pub(super) fn writing(&mut self, coop: &Id) -> Result<Writing, NetError> {
        if !self.coops.contains_key(coop) {
            return Err(NetError::UnknownCoop(*coop));
        }
        let Some(me) = self.member_key().filter(|_| self.config.confirm_own_chain) else {
            return Ok(Writing::Unguarded);
        };
        if let Some(w) = self.writing.get(coop) {
            return Ok(*w);
        }
        if !self.joined.contains(coop) && self.alone(coop, &me)? {
            self.open_writes(*coop, Writing::Alone);
            return Ok(Writing::Alone);
        }
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        let peers = peers.iter().filter(|p| self.admitted(p, coop)).count();
        Ok(Writing::Waiting { peers })
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

    /// Opens the member's writes in `coop` for the rest of the run: answers those waiting
    /// and authors the evidence held for it.
    pub(super) fn open_writes(&mut self, coop: Id, why: Writing) {
        if self.writing.contains_key(&coop) {
            return;
        }
        info!(coop = %coop.short(), ?why, "the member's writes are open");
        self.writing.insert(coop, why);
        for w in self.write_waiters.remove(&coop).unwrap_or_default() {
            let _ = w.send(Ok(why));
        }
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held_evidence)
            .into_iter()
            .partition(|(c, _)| *c == coop);
        self.held_evidence = later;
        for (_, evidence) in now {
            self.publish_evidence(coop, evidence);
        }
    }

    /// `peer` answered a sync session with heads in which the member's chain ends at
    /// `remote` (0: none of it): if the chain held here is at least that long, and the peer
    /// is admitted, the member's latest entry is confirmed.
    pub(super) fn confirm(&mut self, peer: PeerId, coop: Id, remote: u64) {
        if !self.config.confirm_own_chain || self.writing.contains_key(&coop) {
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
        if local < remote {
            debug!(%peer, local, remote, "the peer holds more of the member's chain than fetched yet");
            return;
        }
        if !self.admitted(&peer, &coop) {
            return;
        }
        self.emit(Event::Confirmed {
            coop,
            peer,
            seq: local,
        });
        self.open_writes(coop, Writing::Confirmed { peer, seq: local });
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
