//! Admission in the simulated world, with the machine the network task runs
//! (`taawun_net::admission`): each node proves one key on every connection it opens (the
//! hello protocol, which the simulator carries without loss when a connection opens),
//! and serves only the peers admitted by its own ledger's roles at its own clock: a
//! sync request from any other peer is answered `UnknownCoop` (as by a node without the
//! cooperative), its gossip is not judged and none is sent to it (the application score
//! that shuts it out of the mesh), and its results are refused `UnknownCoop`.
//!
//! One peer per key, the last to prove it: the hostile node proves a key it stole (the
//! first device's when there are devices, else the member's) at every connection it
//! opens, superseding the member's own node wherever it
//! does; that node, answered `UnknownCoop` by a peer that holds the cooperative, proves
//! itself to it again, at most every `REPROVE_EVERY`, as the network task does.
//!
//! The key a node proves: its first author's (a member or requester whose entries it
//! writes, or a member's device whose enrollment it writes), else its witness's (a member
//! in the charter who writes nothing but evidence). Witnesses go first to the nodes that
//! write for no author, and the nodes beyond the authors and the witnesses each hold a
//! device (`Config::devices`); with devices off, such a node speaks for no key: like a
//! real node without a member, it is served nothing, and the invariants leave it out.

use super::{Failure, World};
use taawun_core::PublicKey;
use taawun_net::admission::Roles;
use taawun_net::hello::Proven;

/// How often a node proves itself again to one peer that no longer admits it (ms).
const REPROVE_MS: u64 = taawun_net::node::REPROVE_EVERY.as_millis() as u64;

impl World {
    /// `node` learns what `peer` proves on a connection just opened (or again): the key
    /// `peer` speaks for, naming the cooperative, and starts a sync with it at once, as
    /// the network task does when a peer proves a key. A node that speaks for no key
    /// proves nothing.
    pub(super) fn prove(&mut self, node: usize, peer: usize) -> Result<(), Failure> {
        let Some(key) = self.nodes[peer].identity else {
            return Ok(());
        };
        let coops = vec![self.coop];
        let superseded = self.nodes[node]
            .admission
            .proved(peer, Proven { key, coops });
        self.report.superseded += superseded.len() as u64;
        if self.nodes[node].up && self.nodes[node].coop.is_some() {
            self.start_sync(node, peer)?;
        }
        Ok(())
    }

    /// Whether `node` admits `peer`: `peer` proved a key that has a role now, by the
    /// roles `node` read of its own ledger. The hostile node admits everyone.
    pub(super) fn admits(&mut self, node: usize, peer: usize) -> Result<bool, Failure> {
        if !self.nodes[node].honest {
            return Ok(true);
        }
        let changed = self.ledger(node)?.roles_changed();
        if self.nodes[node]
            .roles
            .as_ref()
            .is_none_or(|(at, _)| *at != changed)
        {
            // Read again only when an entry that may change them was stored, as the
            // network task does at once after such an entry.
            let roles = Roles::read(self.state_now(node)?);
            self.nodes[node].roles = Some((changed, roles));
        }
        let now = self.clock(node);
        let n = &self.nodes[node];
        Ok(n.admission
            .admitted(&peer, &self.coop, n.roles.as_ref().map(|(_, r)| r), now))
    }

    /// `peer` answered `node`'s sync request `UnknownCoop`: if it named the cooperative
    /// when it proved itself, it holds it and no longer admits `node` (its key was proven
    /// from another node since), so `node` proves itself to it again, at most every
    /// [`REPROVE_MS`]; its hello asks `peer` to prove itself back, and each then syncs
    /// with the other.
    pub(super) fn unknown_coop(&mut self, node: usize, peer: usize) -> Result<(), Failure> {
        let coop = self.coop;
        if self.nodes[node].identity.is_none()
            || !self.nodes[node].admission.names(&peer, &coop)
            || !self.connected(node, peer)
        {
            return Ok(());
        }
        let now = self.now;
        if self.nodes[node]
            .reproved
            .get(&peer)
            .is_some_and(|at| now.saturating_sub(*at) < REPROVE_MS)
        {
            return Ok(());
        }
        self.nodes[node].reproved.insert(peer, now);
        self.report.reproved += 1;
        self.prove(peer, node)?;
        self.prove(node, peer)
    }

    /// Whether `node` speaks for a key (and so takes part in the invariants).
    pub(super) fn speaks(&self, node: usize) -> bool {
        self.nodes[node].identity.is_some()
    }

    /// The key the node proves: its first author's, else its witness's.
    pub(super) fn identity_of(&self, node: usize) -> Option<PublicKey> {
        let n = &self.nodes[node];
        n.scripts
            .first()
            .map(|s| self.scripts[*s].author)
            .or_else(|| {
                n.witness
                    .as_ref()
                    .map(|k| PublicKey(k.verifying_key().to_bytes()))
            })
    }
}
