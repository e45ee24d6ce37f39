//! Admission of peers: the hello protocol (proving and learning member keys, kept in
//! the [`crate::admission`] machine), the roles of each cooperative as admission reads
//! them, and the gossipsub application scores that shut out peers not admitted.

use super::{Roles, Task};
use crate::gossip;
use crate::hello;
use crate::node::event::Event;
use crate::node::{MAX_BINDINGS, REPROVE_EVERY, ROLES_REFRESH};
use crate::sync;
use libp2p::request_response::{self, ResponseChannel};
use libp2p::PeerId;
use std::time::{Duration, Instant};
use taawun_core::{Id, PublicKey};
use tracing::{debug, info, warn};

impl Task {
    /// The member key this node proves, if it speaks for one.
    pub(super) fn member_key(&self) -> Option<PublicKey> {
        self.member
            .as_ref()
            .map(|k| PublicKey(k.verifying_key().to_bytes()))
    }

    /// Sends `peer` a hello with a fresh challenge (a node without a member key sends
    /// none: it has nothing to gain from knowing who its peers are).
    pub(super) fn send_hello(&mut self, peer: PeerId, back: bool) {
        if self.member.is_none() {
            return;
        }
        let mut challenge = [0u8; hello::CHALLENGE_BYTES];
        if let Err(e) = getrandom::fill(&mut challenge) {
            warn!(error = %e, "no randomness for a hello challenge");
            return;
        }
        let id = self
            .swarm
            .behaviour_mut()
            .hello
            .send_request(&peer, hello::Request::new(challenge, back));
        self.hellos.insert(id, (peer, challenge));
    }

    pub(super) fn on_hello(
        &mut self,
        ev: request_response::Event<hello::Request, hello::Response>,
    ) {
        use request_response::{Event as E, Message as M};
        match ev {
            E::Message {
                peer,
                message: M::Request {
                    request, channel, ..
                },
                ..
            } => {
                let back = request.back;
                let now = self.peering.outbound(&peer).unwrap_or(false)
                    || self.member.is_none()
                    || self.admitted_any(&peer);
                if now {
                    self.answer_hello(peer, request, channel);
                } else {
                    // Dialed by a peer not admitted yet: answer once it has proven a role.
                    self.deferred.insert(peer, (request, channel));
                }
                let asking = self.hellos.values().any(|(p, _)| *p == peer);
                if back || (!now && !asking) {
                    self.send_hello(peer, false);
                }
            }
            E::Message {
                peer,
                message:
                    M::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some((_, challenge)) = self.hellos.remove(&request_id) else {
                    return;
                };
                match response {
                    hello::Response::Proof(proof) => {
                        let me = *self.swarm.local_peer_id();
                        match hello::verify(&proof, &challenge, &peer, &me) {
                            Ok(proven) => self.on_proven(peer, proven),
                            Err(e) => {
                                warn!(%peer, error = %e, "hello proof refused");
                                self.emit(Event::HelloRefused {
                                    peer,
                                    reason: e.to_string(),
                                });
                                self.release_deferred(peer);
                            }
                        }
                    }
                    hello::Response::Refused => {
                        debug!(%peer, "peer proves no member key");
                        self.release_deferred(peer);
                    }
                }
            }
            E::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if self.hellos.remove(&request_id).is_some() {
                    debug!(%peer, %error, "hello failed");
                    self.release_deferred(peer);
                }
            }
            E::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "answering a hello failed");
            }
            E::ResponseSent { .. } => {}
        }
    }

    /// Answers a hello: this node's proof, naming every cooperative it holds when it
    /// dialed the peer, else (the peer proved itself first) those of them the peer named,
    /// and only if the peer is admitted to one; otherwise `Refused`.
    fn answer_hello(
        &mut self,
        peer: PeerId,
        request: hello::Request,
        channel: ResponseChannel<hello::Response>,
    ) {
        let response = match self.member.clone() {
            Some(key) if request.challenge.len() == hello::CHALLENGE_BYTES => {
                let dialed = self.peering.outbound(&peer).unwrap_or(false);
                let coops: Option<Vec<Id>> = if dialed {
                    Some(self.coops.keys().copied().collect())
                } else {
                    let named: Vec<Id> = self
                        .admission
                        .proof(&peer)
                        .map(|p| p.coops.clone())
                        .unwrap_or_default();
                    let held: Vec<Id> = named
                        .into_iter()
                        .filter(|c| self.coops.contains_key(c))
                        .collect();
                    self.admitted_any(&peer).then_some(held)
                };
                if coops.is_none() && self.admission.holds_key(&peer) {
                    self.refused.insert(peer);
                }
                match coops {
                    Some(coops) => {
                        self.refused.remove(&peer);
                        let me = *self.swarm.local_peer_id();
                        hello::Response::Proof(hello::prove(
                            &key,
                            &request.challenge,
                            &me,
                            &peer,
                            coops,
                        ))
                    }
                    None => hello::Response::Refused,
                }
            }
            _ => hello::Response::Refused,
        };
        if self
            .swarm
            .behaviour_mut()
            .hello
            .send_response(channel, response)
            .is_err()
        {
            debug!(%peer, "hello asker went away");
        }
    }

    /// Answers the hello held for `peer`, now that its own proof came or failed.
    fn release_deferred(&mut self, peer: PeerId) {
        if let Some((request, channel)) = self.deferred.remove(&peer) {
            self.answer_hello(peer, request, channel);
        }
    }

    /// `peer` proved it holds `proven.key`.
    fn on_proven(&mut self, peer: PeerId, proven: hello::Proven) {
        let key = proven.key;
        let held: Vec<Id> = proven
            .coops
            .iter()
            .filter(|c| self.coops.contains_key(c))
            .copied()
            .collect();
        info!(%peer, member = %key.short(), coops = held.len(), "peer proved a member key");
        // Admitted on roles that include every entry stored that may change them.
        for c in &held {
            self.refresh_roles_now(c);
        }
        for old in self.admission.proved(peer, proven) {
            warn!(peer = %old, by = %peer, member = %key.short(), "member key proven again from another peer: the earlier one is no longer served");
            self.emit(Event::Superseded {
                peer: old,
                by: peer,
                member: key,
            });
            self.update_gate(old);
        }
        if !self.bindings.contains_key(&key) && self.bindings.len() >= MAX_BINDINGS {
            let oldest = self
                .bindings
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.bindings.remove(&k);
            }
        }
        self.bindings.insert(key, (peer, Instant::now()));
        self.emit(Event::Proven {
            peer,
            member: key,
            coops: held.clone(),
        });
        self.update_gate(peer);
        self.release_deferred(peer);
        for c in held {
            self.start_sync(peer, c);
        }
        self.peer_is_back(peer, key);
    }

    /// `peer` answered a request for `coop` (sync, or a result) `UnknownCoop`. If it
    /// holds `coop` (it named it in its proof), it no longer admits this node: proves the
    /// member key to it again, at most every [`REPROVE_EVERY`] (see there).
    pub(super) fn prove_again(&mut self, peer: PeerId, coop: Id) {
        if self.member.is_none()
            || !self.names(&peer, &coop)
            || self
                .reproved
                .get(&peer)
                .is_some_and(|at| at.elapsed() < REPROVE_EVERY)
        {
            return;
        }
        warn!(%peer, coop = %coop.short(), "a peer holding the cooperative no longer admits this node (its key proven from another node, or a role lost): proving it again");
        self.reproved.insert(peer, Instant::now());
        self.send_hello(peer, true);
    }

    /// Whether `peer` proved a key and named `coop` in its proof (whom to ask for it).
    pub(super) fn names(&self, peer: &PeerId, coop: &Id) -> bool {
        self.admission.names(peer, coop)
    }

    /// Whether `key` is a member or requester of `coop` under the rules in force now, or
    /// a device of one that is not revoked, by this node's ledger (read again at most
    /// every [`ROLES_REFRESH`] while it grows).
    fn has_role(&mut self, coop: &Id, key: &PublicKey) -> bool {
        if !self.refresh_roles(coop) {
            return false;
        }
        let now = self.now();
        self.roles
            .get(coop)
            .is_some_and(|r| r.roles.has_role(key, now))
    }

    /// The stable identity `key` speaks for in `coop` (itself, or the member of a device
    /// key, through every replacement of its key), by the roles admission reads.
    pub(super) fn identity(&mut self, coop: &Id, key: &PublicKey) -> PublicKey {
        self.refresh_roles(coop);
        self.roles.get(coop).map_or(*key, |r| r.roles.identity(key))
    }

    /// [`Task::identity`] for a key with a role now; `None` for a stranger, a revoked
    /// device or a replaced key.
    pub(super) fn speaks_for(&mut self, coop: &Id, key: &PublicKey) -> Option<PublicKey> {
        self.has_role(coop, key).then(|| self.identity(coop, key))
    }

    /// Reads the roles of `coop` again if they are stale (see [`ROLES_REFRESH`]); false
    /// when this node does not hold it.
    pub(super) fn refresh_roles(&mut self, coop: &Id) -> bool {
        self.read_roles(coop, false)
    }

    /// [`Task::refresh_roles`], and at once if they miss an entry that may change them:
    /// for a peer that just proved a key and for a result about to be handed, both rare,
    /// so that a flood of such entries makes no read per message.
    pub(super) fn refresh_roles_now(&mut self, coop: &Id) -> bool {
        self.read_roles(coop, true)
    }

    fn read_roles(&mut self, coop: &Id, urgent: bool) -> bool {
        let Some((len, changed)) = self.coops.get(coop).map(|c| (c.len(), c.roles_changed()))
        else {
            return false;
        };
        let stale = self
            .roles
            .get(coop)
            .is_none_or(|r| roles_stale(r.len, r.at.elapsed(), len, changed, urgent));
        if stale {
            // The first read (when the cooperative is opened) waits for the state; later
            // ones take the state held while a large refresh runs off the task, and read
            // again once it is in.
            let first = !self.roles.contains_key(coop);
            let st = if first {
                self.state(coop)
            } else {
                self.state_soon(coop)
            };
            if let (Ok(st), Some(r)) = (&st, self.roles.get(coop)) {
                if st.len() as u64 == r.len {
                    // The state held is the one they were read from: nothing new yet.
                    return true;
                }
            }
            let read = st.as_ref().map_or(len, |st| st.len() as u64);
            let roles = match st {
                Ok(st) => crate::admission::Roles::read(&st),
                Err(e) => {
                    warn!(error = %e, "cannot read the roles of a cooperative");
                    crate::admission::Roles::default()
                }
            };
            self.roles.insert(
                *coop,
                Roles {
                    len: read,
                    at: Instant::now(),
                    roles,
                },
            );
        }
        true
    }

    /// Whether the roles read for `coop` include the last entry stored that may change
    /// them ([`taawun_ledger::CoopLedger::roles_changed`]). A result is handed only on
    /// such roles: a device revoked a moment ago gets none.
    pub(super) fn roles_current(&mut self, coop: &Id) -> bool {
        if !self.refresh_roles_now(coop) {
            return false;
        }
        let changed = self.coops.get(coop).map_or(0, |c| c.roles_changed());
        self.roles.get(coop).is_some_and(|r| r.len >= changed)
    }

    /// Whether `peer` is admitted to `coop` (see the module documentation).
    pub(super) fn admitted(&mut self, peer: &PeerId, coop: &Id) -> bool {
        // A peer that did not name `coop` costs no read of its roles.
        if !self.admission.names(peer, coop) || !self.refresh_roles(coop) {
            return false;
        }
        let now = self.now();
        self.admission
            .admitted(peer, coop, self.roles.get(coop).map(|r| &r.roles), now)
    }

    /// Whether `peer` is admitted to a cooperative this node holds.
    pub(super) fn admitted_any(&mut self, peer: &PeerId) -> bool {
        let held: Vec<Id> = self
            .admission
            .proof(peer)
            .map(|p| p.coops.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|c| self.coops.contains_key(c))
            .collect();
        held.iter().any(|c| self.admitted(peer, c))
    }

    /// Whether gossip with `peer` is open: it is admitted to a cooperative this node holds,
    /// and to every one of them whose topic it subscribed to.
    fn gossip_open(&mut self, peer: &PeerId) -> bool {
        if !self.admission.holds_key(peer) {
            return false;
        }
        let subscribed: Vec<Id> = self
            .subscribed
            .get(peer)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        self.admitted_any(peer) && subscribed.iter().all(|c| self.admitted(peer, c))
    }

    /// Opens or shuts gossip with `peer` (see the module documentation).
    pub(super) fn update_gate(&mut self, peer: PeerId) {
        if !self.swarm.is_connected(&peer) {
            return;
        }
        let open = self.gossip_open(&peer);
        let changed = if open {
            self.gated.remove(&peer)
        } else {
            self.gated.insert(peer)
        };
        if changed {
            debug!(%peer, open, "gossip gate");
            self.set_app_score(peer);
        }
    }

    /// gossipsub's application score of `peer`: its sync faults
    /// ([`sync::SYNC_FAULT_SCORE`]), plus [`gossip::UNPROVEN_SCORE`] while its gossip is
    /// shut.
    pub(super) fn set_app_score(&mut self, peer: PeerId) {
        let faults = self.conduct.faults(&peer);
        self.set_app_score_with(peer, faults);
    }

    /// Sets `peer`'s application score for `faults` invalid sync entries.
    pub(super) fn set_app_score_with(&mut self, peer: PeerId, faults: u32) {
        let mut score = -f64::from(faults) * sync::SYNC_FAULT_SCORE;
        if self.gated.contains(&peer) {
            score += gossip::UNPROVEN_SCORE;
        }
        self.swarm
            .behaviour_mut()
            .gossip
            .set_application_score(&peer, score);
    }

    /// gossipsub's score of `peer` without the shut gate's part: what the peer did.
    pub(super) fn conduct_score(&self, peer: &PeerId) -> Option<f64> {
        let score = self.swarm.behaviour().gossip.peer_score(peer)?;
        Some(if self.gated.contains(peer) {
            score - gossip::unproven_penalty()
        } else {
            score
        })
    }
}

/// How old roles that miss an entry that may change them are at least before an
/// ordinary read takes them again (an `urgent` one does at once): a flood of such entries
/// costs a read of the roles per this much, not per message.
const ROLES_REREAD: Duration = Duration::from_millis(100);

/// Whether roles read from a state of `read` entries, `age` ago, are read again from a
/// ledger of `len` entries whose last entry that may change them ends the log at
/// `changed`: when they miss that entry, at once if `urgent` else once [`ROLES_REREAD`]
/// old (a revocation lets no one in for a second more); else when the ledger grew and
/// they are [`ROLES_REFRESH`] old.
fn roles_stale(read: u64, age: Duration, len: u64, changed: u64, urgent: bool) -> bool {
    (read < changed && (urgent || age >= ROLES_REREAD)) || (read != len && age >= ROLES_REFRESH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_again_at_once_after_a_role_change_else_after_the_delay() {
        let fresh = Duration::ZERO;
        for urgent in [false, true] {
            // Grown by entries that change no role: kept until they are old.
            assert!(!roles_stale(10, fresh, 12, 8, urgent));
            assert!(roles_stale(10, ROLES_REFRESH, 12, 8, urgent));
            // A role changed after the read: soon, however young they were.
            assert!(roles_stale(10, ROLES_REREAD, 12, 11, urgent));
            // Read from the whole ledger: never stale.
            assert!(!roles_stale(12, ROLES_REFRESH * 10, 12, 12, urgent));
        }
        // Just read, and a role changed since: an urgent read takes it at once, an
        // ordinary one waits a little (a flood of role changes is not a read per message).
        assert!(roles_stale(10, fresh, 12, 11, true));
        assert!(!roles_stale(10, fresh, 12, 11, false));
    }
}
