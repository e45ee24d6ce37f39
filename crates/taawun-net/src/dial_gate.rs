//! The dial gate: a libp2p behaviour that, once the node has its target of peers, refuses
//! dials other behaviours start towards peers the node did not choose. Kademlia dials
//! every peer its lookups walk through (and libp2p's Kademlia runs such lookups on its
//! own while its routing table is small); each such connection would then be closed again
//! by [`crate::peering`], and the next lookup would dial it again. Below the target,
//! every dial goes ahead: that is how a node finds peers.
//!
//! The task decides ([`DialGate::set_open`] from [`crate::peering::Peering::has_room`],
//! [`DialGate::allow`] for each peer it chooses or must reach); this behaviour only
//! carries the decision into the Swarm. Dials without a known peer id (an address from
//! the operator, an AutoNAT dial-back) and dials to a peer already connected (DCUtR's
//! direct connection) always go ahead.

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use std::collections::{HashMap, HashSet};
use std::task::{Context, Poll};

/// Why a dial was refused.
#[derive(Debug, thiserror::Error)]
#[error("the node has its peers: {0} is not a peer it chose")]
pub(crate) struct Full(PeerId);

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct DialGate {
    /// Whether dials to peers not allowed are refused (the node has its peers).
    shut: bool,
    /// Peers the node chose or must reach: always dialed. Bounded by the task (chosen
    /// peers, relays and results' recipients).
    allowed: HashSet<PeerId>,
    /// Connections per connected peer. Bounded by the connections.
    connected: HashMap<PeerId, usize>,
}

impl DialGate {
    /// Opens or shuts the gate for peers not allowed.
    pub(crate) fn set_open(&mut self, open: bool) {
        self.shut = !open;
    }

    /// Lets dials to `peer` through from now on.
    pub(crate) fn allow(&mut self, peer: PeerId) {
        self.allowed.insert(peer);
    }

    fn admits(&self, peer: Option<PeerId>) -> Result<(), ConnectionDenied> {
        match peer {
            Some(p)
                if self.shut && !self.allowed.contains(&p) && !self.connected.contains_key(&p) =>
            {
                Err(ConnectionDenied::new(Full(p)))
            }
            _ => Ok(()),
        }
    }
}

impl NetworkBehaviour for DialGate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = std::convert::Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: Option<PeerId>,
        _: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.admits(peer)?;
        Ok(Vec::new())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                *self.connected.entry(e.peer_id).or_default() += 1;
            }
            FromSwarm::ConnectionClosed(e) => {
                if let Some(n) = self.connected.get_mut(&e.peer_id) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.connected.remove(&e.peer_id);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> PeerId {
        let key = libp2p::identity::Keypair::ed25519_from_bytes([n; 32]).expect("key");
        key.public().to_peer_id()
    }

    #[test]
    fn an_open_gate_lets_every_dial_through() {
        let mut g = DialGate::default();
        g.set_open(true);
        assert!(g.admits(Some(peer(1))).is_ok());
        assert!(g.admits(None).is_ok());
    }

    #[test]
    fn a_shut_gate_refuses_only_peers_not_chosen_and_not_connected() {
        let mut g = DialGate::default();
        g.set_open(false);
        assert!(g.admits(Some(peer(1))).is_err());
        // An address without a peer id: the operator's or a dial-back.
        assert!(g.admits(None).is_ok());
        g.allow(peer(1));
        assert!(g.admits(Some(peer(1))).is_ok());
        g.connected.insert(peer(2), 1);
        assert!(g.admits(Some(peer(2))).is_ok());
    }
}
