//! Which connections a node keeps in the simulated world, with the machine the network
//! task runs (`taawun_net::peering::Peering`): a node short of peers looks for more (a
//! DHT lookup, which connects it to a few of the nodes its walk reaches and dials some
//! of those it found, which it then keeps), and a node over its target closes the
//! connections one too many once they had their grace.
//!
//! What the simulator adds is what libp2p and Kademlia do: the lookup's walk (any node
//! up and reachable may be found) and the connections themselves. The graph a run starts
//! with (each node's bootstrap peers) stays: gossip flows over it, as over a gossipsub
//! mesh, which a node never closes. A connection opened for a lookup carries gossip and
//! sync like any other, and closes with a crash at either end or a partition between
//! them.
//!
//! Only a network of more nodes than [`PEER_TARGET`] runs this: in a smaller one every
//! node may be connected to every other and the machine has nothing to decide (the seeds
//! CI runs are of 3 to 8 nodes; `--nodes N` runs larger ones).
//!
//! The hostile node follows no target: at each of its sync rounds it connects to every
//! node it can reach, filling their connections, and closes none; each honest node's
//! machine must close those over its target like any other.
//!
//! The invariants, checked at each prune: a node over its target holds no connection
//! past its grace that it was free to close (connections stay bounded); it never closes
//! one that must stay, nor one still within its grace. And, as in every run, the honest
//! nodes converge once healed, whatever connections were closed.

use super::{Failure, World};
use std::collections::{BTreeMap, BTreeSet};
use taawun_net::peering::{Peering, PEER_TARGET, PRUNE_EVERY, PRUNE_GRACE};

/// How often a node asks its machine which connections to close (simulated ms).
pub(super) const TICK_MS: u64 = PRUNE_EVERY.as_millis() as u64;

/// Nodes a lookup's walk connects to on its way, when the node's dial gate is open (it
/// is under its target): Kademlia dials the peers it asks.
const WALK: usize = 3;

/// One node's connections beyond its bootstrap peers, and its machine.
#[derive(Debug, Clone)]
pub(super) struct Peers {
    /// The real machine. Lost in a crash.
    machine: Peering<usize>,
    /// Connections the machine was told of (to diff against the world's).
    told: BTreeSet<usize>,
    /// Connections opened by lookups, and whether this node opened each. Both ends hold
    /// an entry.
    pub(super) extra: BTreeMap<usize, bool>,
    /// Peers a lookup found that this node dialed to reach `MIN_PEERS`: it chose them,
    /// so it does not close them.
    chosen: BTreeSet<usize>,
}

impl Default for Peers {
    fn default() -> Self {
        Self {
            machine: Peering::new(PEER_TARGET, PRUNE_GRACE),
            told: BTreeSet::new(),
            extra: BTreeMap::new(),
            chosen: BTreeSet::new(),
        }
    }
}

impl World {
    /// Whether this run chooses peers (see the module's doc).
    pub(super) fn peering_on(&self) -> bool {
        self.nodes.len() > PEER_TARGET
    }

    /// The peers a node sends gossip to and syncs with: its bootstrap peers and the
    /// connections its lookups (or others') opened.
    pub(super) fn gossip_peers(&self, node: usize) -> Vec<usize> {
        let mut p = self.links[node].clone();
        p.extend(
            self.nodes[node]
                .peers
                .extra
                .keys()
                .filter(|x| !self.links[node].contains(x)),
        );
        p
    }

    /// Closes the connection `a`–`b` opened by a lookup, at both ends.
    pub(super) fn close_extra(&mut self, a: usize, b: usize) {
        self.nodes[a].peers.extra.remove(&b);
        self.nodes[b].peers.extra.remove(&a);
    }

    /// A crash closes every lookup connection of the node and loses its machine.
    pub(super) fn peers_crashed(&mut self, node: usize) {
        let extra: Vec<usize> = self.nodes[node].peers.extra.keys().copied().collect();
        for p in extra {
            self.close_extra(node, p);
        }
        self.nodes[node].peers = Peers::default();
    }

    /// A partition closes the lookup connections across it.
    pub(super) fn peers_cut(&mut self) {
        for a in 0..self.nodes.len() {
            let cut: Vec<usize> = self.nodes[a]
                .peers
                .extra
                .keys()
                .copied()
                .filter(|b| self.cut(a, *b))
                .collect();
            for b in cut {
                self.close_extra(a, b);
            }
        }
    }

    /// A node's sync round: short of peers, it looks for more (the network task asks
    /// Kademlia for the peers closest to itself at each round while under
    /// `taawun_net::config::MIN_PEERS`).
    pub(super) fn lookup(&mut self, node: usize) -> Result<(), Failure> {
        let hostile = self.hostile == Some(node);
        if !self.peering_on() || !(hostile || self.nodes[node].peers.machine.wants_more()) {
            return Ok(());
        }
        let mut found: Vec<usize> = (0..self.nodes.len())
            .filter(|&b| {
                b != node && self.nodes[b].up && !self.cut(node, b) && !self.connected(node, b)
            })
            .collect();
        // The walk reaches a few nodes in an order the run's seed decides.
        for i in (1..found.len()).rev() {
            let j = self.rng.range(0, i as u64) as usize;
            found.swap(i, j);
        }
        let chosen = self.nodes[node].peers.machine.to_dial();
        let walk = if hostile {
            // The hostile node keeps no target: at each round it connects to every node
            // it can reach, to fill their connections (and be in every one's mesh).
            found.len()
        } else if self.nodes[node].peers.machine.has_room() {
            WALK
        } else {
            0
        };
        for (i, b) in found.into_iter().take(chosen + walk).enumerate() {
            self.report.opened += 1;
            self.nodes[node].peers.extra.insert(b, true);
            self.nodes[b].peers.extra.insert(node, false);
            if i < chosen {
                self.nodes[node].peers.chosen.insert(b);
            }
            self.met(node, b)?;
        }
        Ok(())
    }

    /// Every [`TICK_MS`]: tells the node's machine of the connections opened and closed
    /// since, closes those it lets go, and checks the bound.
    pub(super) fn peers_tick(&mut self, node: usize) -> Result<(), Failure> {
        if self.hostile == Some(node) {
            // It closes nothing: every connection it opened stays until the other end
            // closes it.
            return Ok(());
        }
        let now = self.instant();
        let mut around: BTreeSet<usize> = self.links[node].iter().copied().collect();
        around.extend(self.nodes[node].peers.extra.keys());
        around.extend(self.nodes[node].peers.told.iter());
        around.extend(self.dialed(node));
        for b in around {
            let up = self.connected(node, b);
            let told = self.nodes[node].peers.told.contains(&b);
            if up && !told {
                // Each node dialed its bootstrap peers, the earlier nodes of the graph.
                let outbound = self.nodes[node]
                    .peers
                    .extra
                    .get(&b)
                    .copied()
                    .unwrap_or(b < node);
                self.nodes[node].peers.machine.connected(b, outbound, now);
                self.nodes[node].peers.told.insert(b);
            } else if !up && told {
                self.nodes[node].peers.machine.disconnected(&b);
                self.nodes[node].peers.told.remove(&b);
            }
        }
        // What must stay: the bootstrap peers (the gossip mesh), the peers the node
        // chose, and a result's recipient.
        let stays: BTreeSet<usize> = self.nodes[node]
            .peers
            .told
            .iter()
            .copied()
            .filter(|p| {
                self.links[node].contains(p)
                    || self.nodes[node].peers.chosen.contains(p)
                    || self.nodes[node].results.waiting_for(p)
            })
            .collect();
        let gone = self.nodes[node]
            .peers
            .machine
            .prune(now, |p| stays.contains(p));
        for b in &gone {
            let young = self.nodes[node]
                .peers
                .machine
                .since(b)
                .is_none_or(|t| now.saturating_duration_since(t) < PRUNE_GRACE);
            if stays.contains(b) || young {
                return Err(self.fail(format!(
                    "node {node} closed its connection to node {b}, which {}",
                    if young {
                        "had not had its grace"
                    } else {
                        "must stay"
                    }
                )));
            }
        }
        for b in gone {
            self.report.closed += 1;
            self.close_extra(node, b);
            self.drop_dialed_pair(node, b);
            self.nodes[node].peers.machine.disconnected(&b);
            self.nodes[node].peers.told.remove(&b);
            self.nodes[node].sessions.disconnected(b);
            self.nodes[b].sessions.disconnected(node);
        }
        // The bound: over the target, no connection the node may close is past its grace
        // (the prune that just ran would have closed it).
        let p = &self.nodes[node].peers;
        if p.machine.len() > PEER_TARGET {
            let free = p
                .told
                .iter()
                .filter(|b| !stays.contains(b))
                .filter(|b| {
                    p.machine
                        .since(b)
                        .is_some_and(|t| now.saturating_duration_since(t) >= PRUNE_GRACE)
                })
                .count();
            if free > 0 {
                return Err(self.fail(format!(
                    "node {node} keeps {} connections, over its target of {PEER_TARGET}, {free} of them free to close and past their grace",
                    p.machine.len()
                )));
            }
        }
        Ok(())
    }
}
