//! The write guard as a machine without I/O: when the member's writes in one cooperative
//! open, and the evidence held until they do. No ledger, no Swarm: the network task (and
//! the simulator, `taawun-sim`) tells it what it read (the member's latest seq held here,
//! a peer's copy of it, whether the peer is admitted, whether the member is alone in the
//! cooperative) and carries out what it answers (writes open, evidence to publish).
//!
//! The rule (docs/protocol.md 13.11, [`crate::Writing`]): a data folder may be a restored
//! backup or a copy, so the member may have signed entries elsewhere past the last one it
//! holds, and a new entry at one of those seqs is a fork. Writes therefore wait until an
//! admitted peer answers a sync session with heads in which the member's chain is no
//! longer than the chain held here (the session fetched whatever the peer had beyond), or
//! until nothing could confirm: the cooperative was founded in this run, or it was opened
//! from the data folder and no key but the member's holds a role in it (one joined in
//! this run never counts as alone: the member may have written in it elsewhere). Once
//! open, writes stay open for the run. Evidence of a fork the member's node would sign
//! waits for them too: signing it earlier could fork the member itself.
//!
//! Generic over the peer `P` and the evidence `E`: the node uses libp2p's `PeerId` and
//! `Evidence`, the simulator its node numbers, tests anything small.

/// Why the member's writes are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open<P> {
    /// The guard is off (the node speaks for no member, or does not wait for peers).
    Unguarded,
    /// The cooperative was founded in this run.
    Founded,
    /// Opened from the data folder, and no key but the member's holds a role.
    Alone,
    /// `peer`'s copy of the member's chain ended at or before `seq`, the member's latest
    /// seq held here then.
    Confirmed {
        /// The peer.
        peer: P,
        /// The member's latest seq held here.
        seq: u64,
    },
}

/// What the guard asks of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<P, E> {
    /// The member's writes are open now (once per run), and why.
    Opened(Open<P>),
    /// Sign and publish this evidence as the member (held until now, or written while
    /// open).
    Publish(E),
}

/// The guard of the member's writes in one cooperative.
#[derive(Debug, Clone)]
pub struct WriteGuard<P, E> {
    /// Why writes are open, once they are.
    open: Option<Open<P>>,
    /// Joined in this run: never [`Open::Alone`].
    joined: bool,
    /// Evidence waiting for the writes (each fork once: the owner bounds how many it
    /// authors).
    held: Vec<E>,
}

impl<P: Copy, E> WriteGuard<P, E> {
    /// A guard for a cooperative held at the start (or joined: then [`WriteGuard::joined`]).
    /// Unless `guarded`, writes are open from the start ([`Open::Unguarded`]).
    pub fn new(guarded: bool) -> Self {
        WriteGuard {
            open: (!guarded).then_some(Open::Unguarded),
            joined: false,
            held: Vec::new(),
        }
    }

    /// The cooperative was joined in this run, not opened from the data folder.
    pub fn joined(&mut self) {
        self.joined = true;
    }

    /// Why writes are open, or `None` while they wait.
    pub fn open(&self) -> Option<Open<P>> {
        self.open
    }

    /// Whether [`WriteGuard::alone`] could open writes (worth reading the roles for).
    pub fn may_be_alone(&self) -> bool {
        self.open.is_none() && !self.joined
    }

    /// Evidence held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The member founded the cooperative in this run: nothing of its can be beyond the
    /// charter.
    pub fn founded(&mut self) -> Vec<Output<P, E>> {
        self.open_with(Open::Founded)
    }

    /// By the ledger, no key but the member's holds a role now: no other node could
    /// confirm anything. Opens writes unless the cooperative was joined in this run.
    pub fn alone(&mut self) -> Vec<Output<P, E>> {
        if self.joined {
            return Vec::new();
        }
        self.open_with(Open::Alone)
    }

    /// A peer answered a sync session with heads in which the member's chain ends at
    /// `remote` (0: none of it), while the chain held here ends at `local`, after the
    /// session fetched what it could. Writes open if the peer holds no more of it than
    /// this node and is `admitted` (asked only then) to the cooperative.
    pub fn confirm(
        &mut self,
        peer: P,
        local: u64,
        remote: u64,
        admitted: impl FnOnce() -> bool,
    ) -> Vec<Output<P, E>> {
        if self.open.is_some() || local < remote || !admitted() {
            return Vec::new();
        }
        self.open_with(Open::Confirmed { peer, seq: local })
    }

    /// Evidence of a fork the member's node would author: published now if writes are
    /// open, else held until they open.
    pub fn evidence(&mut self, evidence: E) -> Vec<Output<P, E>> {
        if self.open.is_some() {
            vec![Output::Publish(evidence)]
        } else {
            self.held.push(evidence);
            Vec::new()
        }
    }

    fn open_with(&mut self, why: Open<P>) -> Vec<Output<P, E>> {
        if self.open.is_some() {
            return Vec::new();
        }
        self.open = Some(why);
        std::iter::once(Output::Opened(why))
            .chain(self.held.drain(..).map(Output::Publish))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Peers and evidence as small numbers.
    type Guard = WriteGuard<u16, u32>;

    #[test]
    fn writes_wait_until_an_admitted_peer_holds_no_more_of_the_chain() {
        let mut g = Guard::new(true);
        assert_eq!(g.open(), None);
        // The peer holds more than this node fetched yet: not confirmed.
        assert!(g.confirm(1, 4, 5, || true).is_empty());
        // A stranger's heads confirm nothing.
        assert!(g.confirm(2, 5, 5, || false).is_empty());
        assert_eq!(g.open(), None);
        let out = g.confirm(3, 5, 5, || true);
        assert_eq!(
            out,
            vec![Output::Opened(Open::Confirmed { peer: 3, seq: 5 })]
        );
        // Once open, open for the run: a later answer changes nothing.
        assert!(g.confirm(4, 6, 2, || true).is_empty());
        assert_eq!(g.open(), Some(Open::Confirmed { peer: 3, seq: 5 }));
    }

    #[test]
    fn a_peer_without_the_member_s_chain_confirms_an_empty_one() {
        let mut g = Guard::new(true);
        let out = g.confirm(1, 0, 0, || true);
        assert_eq!(
            out,
            vec![Output::Opened(Open::Confirmed { peer: 1, seq: 0 })]
        );
    }

    #[test]
    fn admission_is_asked_only_when_the_chain_would_confirm() {
        let mut g = Guard::new(true);
        let out = g.confirm(1, 2, 3, || panic!("not asked: the peer holds more"));
        assert!(out.is_empty());
    }

    #[test]
    fn held_evidence_is_released_once_in_order_when_writes_open() {
        let mut g = Guard::new(true);
        assert!(g.evidence(10).is_empty());
        assert!(g.evidence(11).is_empty());
        assert_eq!(g.held(), 2);
        let out = g.confirm(1, 3, 3, || true);
        assert_eq!(
            out,
            vec![
                Output::Opened(Open::Confirmed { peer: 1, seq: 3 }),
                Output::Publish(10),
                Output::Publish(11),
            ]
        );
        assert_eq!(g.held(), 0);
        assert_eq!(g.evidence(12), vec![Output::Publish(12)]);
    }

    #[test]
    fn alone_opens_only_a_cooperative_held_from_the_start() {
        let mut held = Guard::new(true);
        assert!(held.may_be_alone());
        assert_eq!(held.alone(), vec![Output::Opened(Open::Alone)]);
        assert!(!held.may_be_alone());
        let mut joined = Guard::new(true);
        joined.joined();
        assert!(!joined.may_be_alone());
        assert!(joined.alone().is_empty());
        assert_eq!(joined.open(), None);
    }

    #[test]
    fn founding_opens_at_once_and_an_unguarded_node_never_waits() {
        let mut g = Guard::new(true);
        g.joined();
        assert_eq!(g.founded(), vec![Output::Opened(Open::Founded)]);
        assert!(g.founded().is_empty(), "once");
        let mut off = Guard::new(false);
        assert_eq!(off.open(), Some(Open::Unguarded));
        assert_eq!(off.evidence(1), vec![Output::Publish(1)]);
        assert!(off.founded().is_empty());
        assert!(off.confirm(1, 0, 0, || true).is_empty());
    }
}
