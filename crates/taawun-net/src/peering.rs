//! Which peers a node keeps, as a machine without I/O: how many more to dial when it has
//! too few, and which connections to close when it has too many. No Swarm, no clock: the
//! network task tells it of connections opened and closed and asks it, with `now` and
//! what must stay (gossip mesh peers, peers the node chose, relays, a result's
//! recipient), which peers to let go.
//!
//! Why a node closes connections at all: Kademlia dials every peer its lookups walk
//! through (and libp2p's Kademlia looks the node's own id up each time its routing table,
//! while small, gains a peer), and each such connection then carries hellos and sync, so
//! it never idles out. Left alone, every node of a network of a few dozen ends up
//! connected to every other: each gossip message then costs every node a judgement per
//! peer and the idle traffic grows with the square of the network. Gossipsub needs only
//! its mesh ([`crate::gossip`]: 6 peers, at most 12, per topic); so, like Ethereum's
//! clients, a node keeps [`PEER_TARGET`] connections plus whatever must stay, and closes
//! the rest once they had [`PRUNE_GRACE`] to become needed (a newcomer's peers graft it
//! into their mesh within a heartbeat or two, which protects it).
//!
//! Which go first: connections others opened before those this node opened (it chose
//! those), then the newest (a long-lived connection has proven itself; a lookup's
//! connections are the newest). The peer type is generic: the node uses libp2p's
//! `PeerId`, tests use anything small.

use crate::config::{DIAL_BATCH, MIN_PEERS};
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Connections a node keeps beyond what must stay: the gossip mesh's degree (6) and a
/// little room for peers coming and going. Enough for gossip and sync to reach every
/// node, few enough for a phone on a weak link.
pub const PEER_TARGET: usize = 10;

/// How long a new connection is kept before it may be closed as one too many: time for a
/// hello and for gossipsub to graft the peer into a mesh (a few heartbeats).
pub const PRUNE_GRACE: Duration = Duration::from_secs(10);

/// How often the task asks which connections to close.
pub const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// A connected peer.
#[derive(Debug, Clone, Copy)]
struct Conn {
    /// Whether this node opened the connection.
    outbound: bool,
    /// When the first connection to the peer opened.
    since: Instant,
}

/// The peers a node is connected to, and the decisions on them.
#[derive(Debug, Clone)]
pub struct Peering<P> {
    target: usize,
    grace: Duration,
    /// Connected peers. Bounded by the connections.
    peers: HashMap<P, Conn>,
    /// When the task may ask again which connections to close.
    next_prune: Option<Instant>,
}

impl<P: Copy + Eq + Hash + Ord> Default for Peering<P> {
    fn default() -> Self {
        Self::new(PEER_TARGET, PRUNE_GRACE)
    }
}

impl<P: Copy + Eq + Hash + Ord> Peering<P> {
    /// A machine keeping `target` connections beyond those that must stay, each new one
    /// for at least `grace`.
    pub fn new(target: usize, grace: Duration) -> Self {
        Self {
            target: target.max(MIN_PEERS),
            grace,
            peers: HashMap::new(),
            next_prune: None,
        }
    }

    /// A peer's first connection opened (`outbound`: this node dialed it).
    pub fn connected(&mut self, peer: P, outbound: bool, now: Instant) {
        self.peers.entry(peer).or_insert(Conn {
            outbound,
            since: now,
        });
    }

    /// A peer's last connection closed.
    pub fn disconnected(&mut self, peer: &P) {
        self.peers.remove(peer);
    }

    /// Whether this node opened its first connection to `peer` (`None`: not connected).
    pub fn outbound(&self, peer: &P) -> Option<bool> {
        self.peers.get(peer).map(|c| c.outbound)
    }

    /// When the first connection to `peer` opened (`None`: not connected).
    pub fn since(&self, peer: &P) -> Option<Instant> {
        self.peers.get(peer).map(|c| c.since)
    }

    /// Connected peers.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether no peer is connected.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Whether the node is under its target: other behaviours may dial any peer (see
    /// `crate::dial_gate`).
    pub fn has_room(&self) -> bool {
        self.peers.len() < self.target
    }

    /// Whether the node should look for more peers (a DHT lookup): it has fewer than
    /// [`MIN_PEERS`].
    pub fn wants_more(&self) -> bool {
        self.peers.len() < MIN_PEERS
    }

    /// How many of the peers a lookup found to dial now: enough to reach [`MIN_PEERS`],
    /// at most [`DIAL_BATCH`] at once.
    pub fn to_dial(&self) -> usize {
        MIN_PEERS.saturating_sub(self.peers.len()).min(DIAL_BATCH)
    }

    /// The peers to disconnect now, if any: with more than the target connected, those
    /// beyond it among the peers that need not stay (`stays` says which must) and had
    /// their grace, inbound before outbound, newest first. Answers at most once per
    /// [`PRUNE_EVERY`] (an empty list in between).
    pub fn prune(&mut self, now: Instant, stays: impl Fn(&P) -> bool) -> Vec<P> {
        if self.next_prune.is_some_and(|t| now < t) {
            return Vec::new();
        }
        self.next_prune = now.checked_add(PRUNE_EVERY);
        let excess = self.peers.len().saturating_sub(self.target);
        if excess == 0 {
            return Vec::new();
        }
        let mut candidates: Vec<(P, Conn)> = self
            .peers
            .iter()
            .filter(|(p, c)| now.saturating_duration_since(c.since) >= self.grace && !stays(p))
            .map(|(p, c)| (*p, *c))
            .collect();
        // Inbound first, then newest first; the peer id settles ties so the choice does
        // not depend on the map's order.
        candidates.sort_by(|(pa, a), (pb, b)| {
            a.outbound
                .cmp(&b.outbound)
                .then(b.since.cmp(&a.since))
                .then(pa.cmp(pb))
        });
        candidates.truncate(excess);
        candidates.into_iter().map(|(p, _)| p).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn machine() -> (Peering<u32>, Instant) {
        (Peering::new(6, 10 * S), Instant::now())
    }

    #[test]
    fn nothing_is_closed_at_or_under_the_target() {
        let (mut m, t0) = machine();
        for p in 0..6 {
            m.connected(p, false, t0);
        }
        assert!(m.prune(t0 + 60 * S, |_| false).is_empty());
    }

    #[test]
    fn the_excess_goes_inbound_and_newest_first_after_its_grace() {
        let (mut m, t0) = machine();
        // Six chosen long ago, then four inbound and two outbound from a lookup.
        for p in 0..6 {
            m.connected(p, true, t0);
        }
        for (i, p) in (10..14).enumerate() {
            m.connected(p, false, t0 + (i as u32 + 1) * S);
        }
        m.connected(20, true, t0 + 5 * S);
        m.connected(21, true, t0 + 6 * S);
        // The six chosen ones must stay; within the grace of the two newest, only the
        // four inbound may go.
        let chosen = |p: &u32| *p < 6;
        assert_eq!(m.prune(t0 + 14 * S, chosen), vec![13, 12, 11, 10]);
        // Once past it: six too many, the four inbound, then the newest outbound first.
        assert_eq!(m.prune(t0 + 30 * S, chosen), vec![13, 12, 11, 10, 21, 20]);
    }

    #[test]
    fn peers_that_must_stay_are_never_closed_even_over_the_target() {
        let (mut m, t0) = machine();
        for p in 0..20 {
            m.connected(p, false, t0);
        }
        let gone = m.prune(t0 + 60 * S, |p| *p < 17);
        // Fourteen too many, but only three may go.
        assert_eq!(gone, vec![17, 18, 19]);
    }

    #[test]
    fn it_answers_at_most_once_a_second() {
        let (mut m, t0) = machine();
        for p in 0..8 {
            m.connected(p, false, t0);
        }
        let t = t0 + 60 * S;
        assert_eq!(m.prune(t, |_| false).len(), 2);
        assert!(m.prune(t + PRUNE_EVERY / 2, |_| false).is_empty());
        assert_eq!(m.prune(t + PRUNE_EVERY, |_| false).len(), 2);
    }

    #[test]
    fn a_closed_peer_is_forgotten_and_a_reconnect_starts_a_new_grace() {
        let (mut m, t0) = machine();
        for p in 0..7 {
            m.connected(p, false, t0);
        }
        assert_eq!(m.outbound(&6), Some(false));
        assert_eq!(m.since(&6), Some(t0));
        m.disconnected(&6);
        assert_eq!(m.len(), 6);
        assert_eq!(m.outbound(&6), None);
        assert_eq!(m.since(&6), None);
        m.connected(6, false, t0 + 100 * S);
        assert_eq!(m.since(&6), Some(t0 + 100 * S));
        assert!(m.prune(t0 + 105 * S, |_| false).iter().all(|p| *p != 6));
    }

    #[test]
    fn it_asks_for_peers_under_the_minimum_a_batch_at_a_time() {
        let (mut m, t0) = machine();
        assert!(m.wants_more());
        assert_eq!(m.to_dial(), MIN_PEERS.min(DIAL_BATCH));
        for p in 0..MIN_PEERS as u32 {
            m.connected(p, true, t0);
        }
        assert!(!m.wants_more());
        assert_eq!(m.to_dial(), 0);
    }

    #[test]
    fn it_has_room_until_the_target() {
        let (mut m, t0) = machine();
        for p in 0..5 {
            m.connected(p, false, t0);
            assert!(m.has_room());
        }
        m.connected(5, false, t0);
        assert!(!m.has_room());
        m.disconnected(&5);
        assert!(m.has_room());
    }

    #[test]
    fn the_target_is_never_under_the_minimum() {
        let m: Peering<u32> = Peering::new(1, S);
        assert_eq!(m.target, MIN_PEERS);
    }
}
