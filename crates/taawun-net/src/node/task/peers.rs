//! Dialing and keeping peers: the routing table's chosen peers, DHT finds, relays and
//! DCUtR, and carrying out peers' conduct (lockouts of graylisted peers).

use super::Task;
use crate::conduct;
#[cfg(doc)]
use crate::conduct::Conduct;
#[cfg(doc)]
use crate::config::{DIAL_BATCH, MIN_PEERS};
use crate::gossip;
use crate::node::event::Event;
use crate::node::MAX_CHOSEN_PEERS;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::ConnectionId;
use libp2p::{dcutr, kad, relay, Multiaddr, PeerId};
use std::time::Instant;
use tracing::{debug, info, warn};

impl Task {
    /// Keeps `addr`'s peer (if the address names one) in the routing table, within
    /// [`MAX_CHOSEN_PEERS`].
    pub(super) fn choose(&mut self, addr: &Multiaddr) {
        let Some(Protocol::P2p(peer)) = addr.iter().last() else {
            return;
        };
        if peer == *self.swarm.local_peer_id()
            || (!self.chosen.contains(&peer) && self.chosen.len() >= MAX_CHOSEN_PEERS)
        {
            return;
        }
        self.chosen.insert(peer);
        self.swarm.behaviour_mut().gate.allow(peer);
        let mut bare = addr.clone();
        bare.pop();
        if !bare.iter().any(|p| p == Protocol::P2pCircuit) && !bare.is_empty() {
            self.swarm.behaviour_mut().kad.add_address(&peer, bare);
        }
    }

    /// Dials each relay not connected; listens on the circuit of each connected relay
    /// without a listener (a reservation).
    pub(super) fn dial_relays(&mut self) {
        let ids: Vec<PeerId> = self.relays.keys().copied().collect();
        for relay in ids {
            if self.swarm.is_connected(&relay) {
                self.listen_on_relay(relay);
            } else if let Some(r) = self.relays.get(&relay) {
                let addr = r.addr.clone();
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    debug!(%addr, error = %e, "relay dial failed");
                }
            }
        }
    }

    /// Asks `relay` for a reservation by listening on its circuit address, unless already.
    pub(super) fn listen_on_relay(&mut self, relay: PeerId) {
        let Some(r) = self.relays.get(&relay) else {
            return;
        };
        if r.listener.is_some() {
            return;
        }
        let circuit = r.addr.clone().with(Protocol::P2pCircuit);
        match self.swarm.listen_on(circuit.clone()) {
            Ok(id) => {
                info!(%circuit, "reserving on relay");
                if let Some(r) = self.relays.get_mut(&relay) {
                    r.listener = Some(id);
                }
            }
            Err(e) => warn!(%circuit, error = %e, "cannot listen on relay"),
        }
    }

    /// Dials the recipient of a waiting result if a DHT lookup found it, then up to
    /// [`DIAL_BATCH`] peers it found, while below [`MIN_PEERS`].
    pub(super) fn dial_found(&mut self, found: Vec<kad::PeerInfo>) {
        for info in &found {
            let waiting = self.outbox.waiting_for(&info.peer_id);
            if waiting && !self.swarm.is_connected(&info.peer_id) && !info.addrs.is_empty() {
                let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(info.peer_id)
                    .addresses(info.addrs.clone())
                    .build();
                if let Err(e) = self.swarm.dial(opts) {
                    debug!(peer = %info.peer_id, error = %e, "dial of a result's recipient failed");
                }
            }
        }
        let want = self.peering.to_dial();
        let me = *self.swarm.local_peer_id();
        let mut dialed = 0;
        for info in found {
            if dialed >= want {
                break;
            }
            if info.peer_id == me || self.swarm.is_connected(&info.peer_id) {
                continue;
            }
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(info.peer_id)
                .addresses(info.addrs.clone())
                .build();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    dialed += 1;
                    for a in info.addrs {
                        if let Ok(a) = a.with_p2p(info.peer_id) {
                            self.choose(&a);
                        }
                    }
                }
                Err(e) => debug!(peer = %info.peer_id, error = %e, "dial of a found peer failed"),
            }
        }
    }

    /// Opens the dial gate (see `crate::dial_gate`) under the peer target, and while a
    /// result waits for a recipient not connected (the DHT lookup that finds it walks
    /// through peers not chosen); shuts it otherwise.
    pub(super) fn gate_dials(&mut self) {
        let swarm = &self.swarm;
        let looking = self.outbox.seeks(|p| swarm.is_connected(p));
        let open = self.peering.has_room() || looking;
        self.swarm.behaviour_mut().gate.set_open(open);
    }

    /// Closes the connections one too many (see [`crate::peering`]): never a gossip mesh
    /// peer, a peer this node chose (bootstrap, relay, mDNS, a lookup's find, an
    /// operator's dial), nor the recipient of a result waiting to go.
    pub(super) fn prune_peers(&mut self) {
        let gossip = &self.swarm.behaviour().gossip;
        let (chosen, relays, outbox) = (&self.chosen, &self.relays, &self.outbox);
        let gone = self.peering.prune(Instant::now(), |p| {
            chosen.contains(p)
                || relays.contains_key(p)
                || gossip.all_mesh_peers().any(|m| m == p)
                || outbox.waiting_for(p)
        });
        for peer in gone {
            debug!(%peer, "closing a connection over the peer target");
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    pub(super) fn on_relay_client(&mut self, ev: relay::client::Event) {
        match ev {
            relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            } => {
                if renewal {
                    debug!(relay = %relay_peer_id, "relay reservation renewed");
                } else {
                    info!(relay = %relay_peer_id, "relay reservation accepted");
                }
            }
            relay::client::Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
                debug!(relay = %relay_peer_id, "circuit through a relay opened");
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
                debug!(peer = %src_peer_id, "peer reached this node through a relay");
            }
        }
    }

    /// A hole punch ended: once a direct connection exists, the relayed ones go (gossipsub
    /// would otherwise keep sending over the relay).
    pub(super) fn on_dcutr(&mut self, ev: dcutr::Event) {
        let peer = ev.remote_peer_id;
        match ev.result {
            Ok(direct) => {
                info!(%peer, "direct connection by hole punching");
                let relayed: Vec<ConnectionId> = self
                    .relayed
                    .iter()
                    .filter(|(p, c)| *p == peer && *c != direct)
                    .map(|(_, c)| *c)
                    .collect();
                for c in relayed {
                    self.swarm.close_connection(c);
                }
            }
            Err(e) => debug!(%peer, error = %e, "hole punching failed; staying relayed"),
        }
    }

    /// Locks out a peer gossipsub has graylisted, and says whether it did: its messages
    /// are already dropped unread, but an open connection would still cost streams, sync
    /// requests and a mesh slot. The lockout doubles with each graylisting while the peer
    /// is remembered (see the module documentation).
    ///
    /// gossipsub keeps the score of a disconnected peer without decaying it, for
    /// `retain_score` after each disconnection. With its default (an hour) and this check
    /// at every connection, a graylisted peer that kept redialing was shut out for ever;
    /// the retention is now shorter than any lockout ([`gossip::score_params`]) and a
    /// lockout ends only once the kept score is forgotten.
    pub(super) fn drop_if_graylisted(&mut self, peer: PeerId) -> bool {
        let score = self.conduct_score(&peer);
        let Some(score) = score.filter(|s| gossip::graylisted(*s)) else {
            return false;
        };
        let out = self.conduct.graylisted(peer, Instant::now());
        for o in &out {
            if let conduct::Output::LockOut {
                strikes, lockout, ..
            } = o
            {
                info!(%peer, score, strikes, ?lockout, "peer graylisted; locked out");
            }
        }
        self.carry_out_conduct(out);
        true
    }

    /// Ends the lockouts whose time is up and whose peer's kept score gossipsub has
    /// forgotten (or no longer counts as graylisted).
    pub(super) fn end_lockouts(&mut self) {
        let gossip = &self.swarm.behaviour().gossip;
        let out = self.conduct.tick(Instant::now(), |p| {
            gossip.peer_score(p).is_some_and(gossip::graylisted)
        });
        self.carry_out_conduct(out);
    }

    /// Carries out what [`Conduct`] decided.
    fn carry_out_conduct(&mut self, out: Vec<conduct::Output<PeerId>>) {
        for o in out {
            match o {
                conduct::Output::LockOut {
                    peer,
                    strikes,
                    lockout,
                } => {
                    self.swarm.behaviour_mut().locked_out.block_peer(peer);
                    let _ = self.swarm.disconnect_peer_id(peer);
                    self.emit(Event::LockedOut {
                        peer,
                        strikes,
                        lockout,
                    });
                }
                conduct::Output::Disconnect(peer) => {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
                conduct::Output::LetIn(peer) => {
                    self.swarm.behaviour_mut().locked_out.unblock_peer(peer);
                    info!(%peer, "lockout ended");
                    self.emit(Event::LockoutEnded(peer));
                }
            }
        }
    }
}
