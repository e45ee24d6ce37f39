//! Peers' conduct as a machine without I/O: lockouts of graylisted peers and the count of
//! invalid entries each peer sent in sync answers. No Swarm, no clock, no gossipsub: the
//! network task tells it what happened (a peer scored as graylisted, a batch with invalid
//! entries, a timer tick with `now`) and carries out what it answers (lock a peer out,
//! close a connection, let a peer back in; block a peer for good).
//!
//! The rules (see [`crate::node`], "Graylisted peers"): a graylisted peer is locked out
//! for [`crate::NetConfig::graylist_lockout`], doubled for each further graylisting while
//! it is remembered ([`gossip::lockout`]); a lockout ends once its time is up *and* the
//! peer no longer scores as graylisted; a peer is remembered for
//! [`MAX_GRAYLIST_LOCKOUT`] after its last lockout ends, and at most [`MAX_LOCKOUTS`]
//! peers are remembered (the one whose end comes first goes, preferring peers already let
//! back in). A peer whose sync answers carried [`sync::MAX_SYNC_FAULTS`] invalid entries
//! is blocked for good; at most [`MAX_CHOSEN_PEERS`] peers' counts are kept (when full,
//! those no longer connected are forgotten first).
//!
//! The peer type is generic: the node uses libp2p's `PeerId`, tests use anything small.

use crate::config::{MAX_CHOSEN_PEERS, MAX_GRAYLIST_LOCKOUT, MAX_LOCKOUTS};
use crate::{gossip, sync};
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// What the machine asks the network task to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<P> {
    /// Refuse `peer`'s connections and close the open ones, for `lockout`.
    LockOut {
        /// The peer.
        peer: P,
        /// Times it was graylisted while remembered (1 the first time).
        strikes: u32,
        /// How long it stays out at least.
        lockout: Duration,
    },
    /// Close a connection of a peer already locked out (one still closing).
    Disconnect(P),
    /// Accept `peer`'s connections again.
    LetIn(P),
}

/// A graylisted peer's lockout, remembered while it runs and for
/// [`MAX_GRAYLIST_LOCKOUT`] after its end time.
#[derive(Debug, Clone, Copy)]
struct Lockout {
    /// Times the peer was graylisted while remembered.
    strikes: u32,
    /// When the lockout may end.
    until: Instant,
    /// Whether the peer is still refused.
    active: bool,
}

/// What a batch of invalid sync entries did to a peer's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Faulted {
    /// The peer's invalid entries so far (this batch included).
    pub total: u32,
    /// Whether to block the peer for good (its count is then forgotten).
    pub blocked: bool,
}

/// The conduct of the peers a node deals with.
#[derive(Debug)]
pub struct Conduct<P> {
    /// The first lockout's length.
    first: Duration,
    /// Bounded by [`MAX_LOCKOUTS`].
    lockouts: HashMap<P, Lockout>,
    /// Invalid entries per peer in sync answers; bounded by [`MAX_CHOSEN_PEERS`].
    faults: HashMap<P, u32>,
}

impl<P: Copy + Eq + Hash> Conduct<P> {
    /// No peer known; the first lockout lasts `first`.
    pub fn new(first: Duration) -> Self {
        Conduct {
            first,
            lockouts: HashMap::new(),
            faults: HashMap::new(),
        }
    }

    /// Whether `peer` is locked out now.
    pub fn locked_out(&self, peer: &P) -> bool {
        self.lockouts.get(peer).is_some_and(|l| l.active)
    }

    /// Peers remembered (locked out now, or recently).
    pub fn remembered(&self) -> usize {
        self.lockouts.len()
    }

    /// `peer`'s invalid sync entries counted so far.
    pub fn faults(&self, peer: &P) -> u32 {
        self.faults.get(peer).copied().unwrap_or(0)
    }

    /// `peer` scores as graylisted at `now`: lock it out (longer for each strike), or
    /// close its connection if it already is.
    pub fn graylisted(&mut self, peer: P, now: Instant) -> Vec<Output<P>> {
        let mut out = Vec::new();
        let strikes = match self.lockouts.get(&peer) {
            Some(l) if l.active => return vec![Output::Disconnect(peer)],
            Some(l) => l.strikes.saturating_add(1),
            None => {
                self.make_room(&mut out);
                1
            }
        };
        let lockout = gossip::lockout(self.first, strikes);
        self.lockouts.insert(
            peer,
            Lockout {
                strikes,
                until: now
                    .checked_add(lockout)
                    .unwrap_or_else(|| now + MAX_GRAYLIST_LOCKOUT),
                active: true,
            },
        );
        out.push(Output::LockOut {
            peer,
            strikes,
            lockout,
        });
        out
    }

    /// Keeps the lockouts within [`MAX_LOCKOUTS`] before a new one: drops the record
    /// whose end comes first, preferring peers already let back in.
    fn make_room(&mut self, out: &mut Vec<Output<P>>) {
        if self.lockouts.len() < MAX_LOCKOUTS {
            return;
        }
        let first = self
            .lockouts
            .iter()
            .min_by_key(|(_, l)| (l.active, l.until))
            .map(|(p, l)| (*p, l.active));
        if let Some((peer, active)) = first {
            self.lockouts.remove(&peer);
            if active {
                out.push(Output::LetIn(peer));
            }
        }
    }

    /// The timer at `now`: ends the lockouts whose time is up and whose peer no longer
    /// scores as graylisted (`still_graylisted`), and forgets peers that stayed out of
    /// trouble for [`MAX_GRAYLIST_LOCKOUT`] after their lockout's end.
    pub fn tick(&mut self, now: Instant, still_graylisted: impl Fn(&P) -> bool) -> Vec<Output<P>> {
        let mut out = Vec::new();
        for (peer, l) in self.lockouts.iter_mut() {
            if l.active && now >= l.until && !still_graylisted(peer) {
                l.active = false;
                out.push(Output::LetIn(*peer));
            }
        }
        self.lockouts.retain(|_, l| {
            l.active
                || l.until
                    .checked_add(MAX_GRAYLIST_LOCKOUT)
                    .is_none_or(|t| now < t)
        });
        out
    }

    /// `peer`'s sync answer carried `faults` invalid entries. `connected` says which
    /// peers are still connected (only their counts are kept when the table is full).
    /// The caller also checks the peer's score afterwards ([`Conduct::graylisted`])
    /// unless it was blocked.
    pub fn sync_fault(&mut self, peer: P, faults: u32, connected: impl Fn(&P) -> bool) -> Faulted {
        let full = |f: &HashMap<P, u32>| !f.contains_key(&peer) && f.len() >= MAX_CHOSEN_PEERS;
        if full(&self.faults) {
            self.faults.retain(|p, _| connected(p));
        }
        let total = if full(&self.faults) {
            // Full of connected offenders: this batch still counts, untracked.
            faults
        } else {
            let n = self.faults.entry(peer).or_insert(0);
            *n = n.saturating_add(faults);
            *n
        };
        let blocked = total >= sync::MAX_SYNC_FAULTS;
        if blocked {
            self.faults.remove(&peer);
        }
        Faulted { total, blocked }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Duration = Duration::from_secs(60);

    fn lockout_of(out: &[Output<u32>]) -> Option<(u32, Duration)> {
        out.iter().find_map(|o| match o {
            Output::LockOut {
                strikes, lockout, ..
            } => Some((*strikes, *lockout)),
            _ => None,
        })
    }

    #[test]
    fn a_graylisted_peer_is_locked_out_then_only_disconnected_while_out() {
        let t0 = Instant::now();
        let mut c = Conduct::new(FIRST);
        let out = c.graylisted(7, t0);
        assert_eq!(lockout_of(&out), Some((1, FIRST)));
        assert!(c.locked_out(&7));
        assert_eq!(c.graylisted(7, t0), vec![Output::Disconnect(7)]);
    }

    #[test]
    fn a_lockout_ends_only_when_its_time_is_up_and_the_score_is_forgotten() {
        let t0 = Instant::now();
        let mut c = Conduct::new(FIRST);
        c.graylisted(7, t0);
        assert!(c.tick(t0 + FIRST / 2, |_| false).is_empty(), "too early");
        assert!(c.tick(t0 + FIRST, |_| true).is_empty(), "still graylisted");
        assert!(c.locked_out(&7));
        assert_eq!(c.tick(t0 + FIRST, |_| false), vec![Output::LetIn(7)]);
        assert!(!c.locked_out(&7));
    }

    #[test]
    fn strikes_double_the_lockout_while_remembered_and_reset_once_forgotten() {
        let t0 = Instant::now();
        let mut c = Conduct::new(FIRST);
        c.graylisted(7, t0);
        c.tick(t0 + FIRST, |_| false);
        let out = c.graylisted(7, t0 + FIRST);
        assert_eq!(lockout_of(&out), Some((2, FIRST * 2)));
        let end = t0 + FIRST + FIRST * 2;
        c.tick(end, |_| false);
        // Out of trouble for an hour after the end: forgotten, the next strike is the first.
        let later = end + MAX_GRAYLIST_LOCKOUT;
        c.tick(later, |_| false);
        assert_eq!(c.remembered(), 0);
        assert_eq!(lockout_of(&c.graylisted(7, later)), Some((1, FIRST)));
    }

    #[test]
    fn lockouts_are_bounded_and_the_earliest_end_makes_room() {
        let t0 = Instant::now();
        let mut c = Conduct::new(FIRST);
        for p in 0..MAX_LOCKOUTS as u32 {
            c.graylisted(p, t0 + Duration::from_millis(u64::from(p)));
        }
        assert_eq!(c.remembered(), MAX_LOCKOUTS);
        // Peer 5 is let back in: it goes first, before any active lockout.
        if let Some(l) = c.lockouts.get_mut(&5) {
            l.active = false;
        }
        let late = t0 + Duration::from_secs(1);
        let out = c.graylisted(10_000, late);
        assert_eq!(c.remembered(), MAX_LOCKOUTS);
        assert!(
            !out.contains(&Output::LetIn(5)),
            "an inactive record goes silently"
        );
        assert!(!c.lockouts.contains_key(&5));
        // Full of active lockouts: the earliest end is let in to make room.
        let out = c.graylisted(10_001, late);
        assert!(out.contains(&Output::LetIn(0)));
        assert!(!c.locked_out(&0));
    }

    #[test]
    fn invalid_sync_entries_add_up_to_a_block_and_the_count_is_forgotten() {
        let mut c = Conduct::new(FIRST);
        let f = c.sync_fault(3, sync::MAX_SYNC_FAULTS - 1, |_| true);
        assert_eq!(
            f,
            Faulted {
                total: sync::MAX_SYNC_FAULTS - 1,
                blocked: false
            }
        );
        let f = c.sync_fault(3, 1, |_| true);
        assert!(f.blocked);
        assert_eq!(c.faults(&3), 0);
    }

    #[test]
    fn fault_counts_are_bounded_forgetting_disconnected_peers_first() {
        let mut c = Conduct::new(FIRST);
        for p in 0..MAX_CHOSEN_PEERS as u32 {
            c.sync_fault(p, 1, |_| true);
        }
        // All connected: a new offender's batch counts but is not tracked.
        let f = c.sync_fault(999, 2, |_| true);
        assert_eq!(f.total, 2);
        assert_eq!(c.faults(&999), 0);
        // Peer 0 has gone: its count is dropped to make room.
        let f = c.sync_fault(999, 2, |p| *p != 0);
        assert_eq!(f.total, 2);
        assert_eq!(c.faults(&999), 2);
        assert_eq!(c.faults(&0), 0);
    }
}
