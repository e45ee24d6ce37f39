//! Admission as a machine without I/O: which member key each connected peer proved (one
//! peer per key, the last to prove it), and whether a peer is admitted to a cooperative
//! by the roles a node reads from its own ledger (docs/protocol.md 13.10). No Swarm, no
//! ledger, no clock: the network task tells it the proofs that verified
//! ([`crate::hello::verify`]) and the disconnections, reads [`Roles`] from a folded state
//! when its ledger may have changed them, and asks it who is admitted now.
//!
//! Generic over the peer `P`: the node uses libp2p's `PeerId`, tests anything small.

use crate::hello::Proven;
use std::collections::{BTreeMap, HashMap};
use taawun_core::fold::{Coop, Timeline};
use taawun_core::{Id, PublicKey, Timestamp};

/// The roles of one cooperative as admission reads them from a node's ledger: the rules
/// over time, and the device keys with the member or requester each speaks for.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    /// The rules over time (`None`: no charter).
    timeline: Option<Timeline>,
    /// Device key -> the member or requester it speaks for (protocol.md 4.7).
    devices: HashMap<PublicKey, PublicKey>,
}

impl Roles {
    /// The roles of the folded state `st`. A device authorised but not enrolled yet is
    /// admitted as its member too: it must sync the authorisation to write its
    /// enrollment.
    pub fn read(st: &Coop) -> Self {
        let mut devices: HashMap<PublicKey, PublicKey> = st
            .ids(taawun_core::Kind::Device)
            .filter_map(|id| st.get(id))
            .filter_map(|v| match &v.entry().body {
                taawun_core::body::Body::Device(d) => Some((d.key, v.entry().author)),
                _ => None,
            })
            .collect();
        devices.extend(st.enrolled_devices());
        Self {
            timeline: st.timeline().cloned(),
            devices,
        }
    }

    /// The rules over time, if the cooperative has a charter.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_ref()
    }

    /// Whether `key` is a member or requester under the rules in force at `now`, or a
    /// device of one; neither it nor the key it speaks for cut by then (a device
    /// revoked, or its member's key replaced: protocol.md 4.7, 8.7).
    pub fn has_role(&self, key: &PublicKey, now: Timestamp) -> bool {
        let speaker = self.devices.get(key).copied().unwrap_or(*key);
        self.timeline.as_ref().is_some_and(|t| {
            let rules = t.at(now);
            let cut = |k: &PublicKey| t.cut(k).is_some_and(|c| c <= now);
            (rules.members.contains(&speaker) || rules.requesters.contains(&speaker))
                && !cut(key)
                && !cut(&speaker)
        })
    }

    /// The stable identity `key` speaks for: itself, or the member of a device key,
    /// through every replacement of its key.
    pub fn identity(&self, key: &PublicKey) -> PublicKey {
        let speaker = self.devices.get(key).copied().unwrap_or(*key);
        self.timeline
            .as_ref()
            .map_or(speaker, |t| t.identity(&speaker))
    }
}

/// The proofs of a node's connected peers.
#[derive(Debug, Clone)]
pub struct Admission<P> {
    /// Connected peers whose proof verified, at most one per key. Bounded by the
    /// connections.
    proven: BTreeMap<P, Proven>,
}

impl<P> Default for Admission<P> {
    fn default() -> Self {
        Self {
            proven: BTreeMap::new(),
        }
    }
}

impl<P: Ord + Copy> Admission<P> {
    /// No peer proven.
    pub fn new() -> Self {
        Self::default()
    }

    /// `peer`'s proof verified. Returns the peers that had proven the same key and no
    /// longer count as holding it: one peer per key, the latest to prove it (a stolen
    /// key proven from many peer ids holds one peer's place; a member whose node moved
    /// to a new peer id is served there at once; a superseded node that proves itself
    /// again takes the key back).
    pub fn proved(&mut self, peer: P, proven: Proven) -> Vec<P> {
        let earlier: Vec<P> = self
            .proven
            .iter()
            .filter(|(p, x)| x.key == proven.key && **p != peer)
            .map(|(p, _)| *p)
            .collect();
        for p in &earlier {
            self.proven.remove(p);
        }
        self.proven.insert(peer, proven);
        earlier
    }

    /// `peer` is gone: its proof with it.
    pub fn disconnected(&mut self, peer: &P) {
        self.proven.remove(peer);
    }

    /// What `peer` proved, if it holds a key now.
    pub fn proof(&self, peer: &P) -> Option<&Proven> {
        self.proven.get(peer)
    }

    /// The key `peer` holds now.
    pub fn key(&self, peer: &P) -> Option<PublicKey> {
        self.proven.get(peer).map(|p| p.key)
    }

    /// Whether `peer` holds a key now.
    pub fn holds_key(&self, peer: &P) -> bool {
        self.proven.contains_key(peer)
    }

    /// Whether `peer` holds a key and named `coop` in its proof (whom to ask for it).
    pub fn names(&self, peer: &P, coop: &Id) -> bool {
        self.proven
            .get(peer)
            .is_some_and(|p| p.coops.binary_search(coop).is_ok())
    }

    /// The peers that hold a key now, with it, in order.
    pub fn proven(&self) -> impl Iterator<Item = (P, PublicKey)> + '_ {
        self.proven.iter().map(|(p, x)| (*p, x.key))
    }

    /// Whether `peer` is admitted to `coop` at `now` by `roles`, the roles this node
    /// read of it: it holds a key, named `coop`, and the key has a role.
    pub fn admitted(&self, peer: &P, coop: &Id, roles: Option<&Roles>, now: Timestamp) -> bool {
        self.names(peer, coop)
            && roles.is_some_and(|r| self.key(peer).is_some_and(|k| r.has_role(&k, now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use taawun_core::synth;

    fn proof(key: PublicKey, coops: &[Id]) -> Proven {
        let mut coops = coops.to_vec();
        coops.sort();
        Proven { key, coops }
    }

    fn pk(k: &SigningKey) -> PublicKey {
        PublicKey(k.verifying_key().to_bytes())
    }

    #[test]
    fn a_key_is_held_by_the_last_peer_to_prove_it() {
        let (a, b) = (PublicKey([1; 32]), PublicKey([2; 32]));
        let coop = Id::of(b"coop");
        let mut m = Admission::new();
        assert!(m.proved(1u8, proof(a, &[coop])).is_empty());
        assert!(m.proved(2, proof(b, &[coop])).is_empty());
        // The same key from a third peer, then a fourth: each supersedes the one before.
        assert_eq!(m.proved(3, proof(a, &[coop])), vec![1]);
        assert_eq!(m.proved(4, proof(a, &[coop])), vec![3]);
        assert_eq!(m.proven().collect::<Vec<_>>(), vec![(2, b), (4, a)]);
        assert!(!m.names(&1, &coop) && !m.names(&3, &coop) && m.names(&4, &coop));
        // The first comes back: it holds the key again.
        assert_eq!(m.proved(1, proof(a, &[coop])), vec![4]);
        // Proving again on the same peer supersedes nobody.
        assert!(m.proved(1, proof(a, &[coop])).is_empty());
        m.disconnected(&1);
        assert_eq!(m.key(&1), None);
        assert_eq!(m.key(&2), Some(b));
    }

    #[test]
    fn a_peer_is_admitted_to_a_cooperative_it_named_with_a_key_that_has_a_role() {
        let s = synth::generate(&synth::Params {
            seed: 3,
            entries: 1,
            ..synth::Params::default()
        });
        let mut st = Coop::new();
        st.ingest(s.entries[0].clone(), None).expect("the charter");
        let roles = Roles::read(&st);
        let now = s.entries[0].entry().ts + 1;
        let member = pk(&s.members[0]);
        let stranger = PublicKey([9; 32]);
        let other = Id::of(b"another cooperative");
        let mut m = Admission::new();
        m.proved(1u8, proof(member, &[s.coop]));
        m.proved(2, proof(stranger, &[s.coop]));
        m.proved(3, proof(pk(&s.requesters[0]), &[other]));
        assert!(m.admitted(&1, &s.coop, Some(&roles), now));
        // A key with no role, a cooperative not named, no roles read, no proof.
        assert!(!m.admitted(&2, &s.coop, Some(&roles), now));
        assert!(!m.admitted(&3, &s.coop, Some(&roles), now));
        assert!(!m.admitted(&1, &s.coop, None, now));
        assert!(!m.admitted(&4, &s.coop, Some(&roles), now));
        assert_eq!(roles.identity(&member), member);
        assert!(roles.has_role(&pk(&s.requesters[0]), now));
        assert!(!Roles::default().has_role(&member, now));
    }
}
