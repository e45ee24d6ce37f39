//! What the network reports: [`Event`], how an entry came ([`Via`]), a peer's sync
//! ([`PeerSync`]), whether the member's writes go ahead ([`Writing`]), and the one
//! mapping from an ingest outcome to what the task reports ([`reactions`]).

#[cfg(doc)]
use super::Network;
#[cfg(doc)]
use crate::config::NetConfig;
use crate::gossip::Verdict;
use crate::guard::Open;
use crate::result::Refusal;
use libp2p::gossipsub::MessageId;
use libp2p::{Multiaddr, PeerId};
use std::time::Duration;
use taawun_core::body::Evidence;
use taawun_core::{Id, PublicKey};
use taawun_ledger::Ingest;

/// How an entry reached the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Written by this node ([`Network::append`], [`Network::ingest`]).
    Local,
    /// A gossip message.
    Gossip,
    /// A sync response.
    Sync,
    /// Released from the pending buffer when what it waited for arrived.
    Released,
}

/// What the task does about one ingest outcome, in order ([`reactions`]; the simulator
/// reads outcomes with it too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    /// Report [`Event::Stored`] (and gossip the entry if a local caller asked to).
    Stored {
        /// The entry.
        id: Id,
        /// How it came.
        via: Via,
    },
    /// Report the equivocation and, when this node speaks for a member, author evidence.
    Equivocation {
        /// The entry stored at that seq.
        existing: Id,
        /// Both envelopes.
        evidence: Evidence,
    },
}

/// The one mapping from what became of an entry that came `via` some path to what the
/// task reports: the entry stored, or the equivocation it was, then every entry it
/// released from the pending buffer (`Via::Released`), as [`Ingest::stored`] lists them.
pub fn reactions(outcome: &Ingest, via: Via) -> Vec<Reaction> {
    let (own, released) = outcome.stored();
    let mut out = Vec::with_capacity(1 + released.len());
    if let Ingest::Equivocation {
        existing, evidence, ..
    } = outcome
    {
        out.push(Reaction::Equivocation {
            existing: *existing,
            evidence: evidence.clone(),
        });
    }
    out.extend(own.map(|id| Reaction::Stored { id, via }));
    out.extend(released.iter().map(|id| Reaction::Stored {
        id: *id,
        via: Via::Released,
    }));
    out
}

/// What the network tells the node.
#[derive(Debug, Clone)]
pub enum Event {
    /// Listening on a new address.
    Listening(Multiaddr),
    /// First connection to a peer.
    PeerConnected(PeerId),
    /// Last connection to a peer closed.
    PeerDisconnected(PeerId),
    /// An entry was stored.
    Stored {
        /// The cooperative.
        coop: Id,
        /// The entry.
        id: Id,
        /// How it came.
        via: Via,
    },
    /// A gossip message was judged (every message, whatever the verdict).
    Gossip {
        /// The topic's cooperative, if ours.
        coop: Option<Id>,
        /// The peer that forwarded it.
        peer: PeerId,
        /// The gossip message id (blake3 of the message).
        message: MessageId,
        /// The verdict reported to gossipsub.
        verdict: Verdict,
        /// Why, for people reading logs (the error or the outcome).
        reason: String,
    },
    /// An author was caught writing two entries at one seq: both envelopes are kept and
    /// the author is frozen. The node should publish an `Evidence` entry authored by one
    /// of its members ([`Network::append`] with `Body::Evidence`).
    Equivocation {
        /// The cooperative.
        coop: Id,
        /// The author.
        author: PublicKey,
        /// The entry stored at that seq.
        existing: Id,
        /// The two envelopes.
        evidence: Evidence,
    },
    /// This node's member published an `Evidence` entry about an equivocation.
    EvidencePublished {
        /// The cooperative.
        coop: Id,
        /// The author caught.
        author: PublicKey,
        /// The seq of the fork.
        seq: u64,
        /// The `Evidence` entry.
        entry: Id,
    },
    /// A result arrived, was checked against its `Submit` entry and stored
    /// ([`Network::result`] reads it).
    ResultReceived {
        /// The cooperative.
        coop: Id,
        /// The `Submit` entry.
        submission: Id,
        /// The peer that sent it.
        from: PeerId,
    },
    /// A result queued with [`Network::send_result`] was stored by the requester's node,
    /// or by a juror's node.
    ResultDelivered {
        /// The cooperative.
        coop: Id,
        /// The `Submit` entry.
        submission: Id,
        /// The requester's node, or the juror's.
        to: PeerId,
        /// The juror (stable identity) when it went to a juror.
        juror: Option<PublicKey>,
    },
    /// A result queued with [`Network::send_result`] was refused for good; it is no
    /// longer retried.
    ResultRefused {
        /// The cooperative.
        coop: Id,
        /// The `Submit` entry.
        submission: Id,
        /// The juror (stable identity) when it was meant for a juror.
        juror: Option<PublicKey>,
        /// Why.
        refusal: Refusal,
    },
    /// A sync session with a peer ended.
    Synced {
        /// The peer.
        peer: PeerId,
        /// The cooperative.
        coop: Id,
        /// Entries stored by the session.
        stored: usize,
    },
    /// A peer admitted to the cooperative confirmed this node's member's latest entry
    /// (its copy of the member's chain ends at or before ours): the member's writes there
    /// go ahead ([`Writing::Confirmed`]).
    Confirmed {
        /// The cooperative.
        coop: Id,
        /// The peer.
        peer: PeerId,
        /// The seq of the member's last entry held here then.
        seq: u64,
    },
    /// A peer answered a sync request with "protocol not supported": it is not asked
    /// again while it stays connected.
    SyncUnsupported(PeerId),
    /// A peer proved it holds a member key ([`crate::hello`]).
    Proven {
        /// The peer.
        peer: PeerId,
        /// The member key it holds.
        member: PublicKey,
        /// The cooperatives it named that this node holds.
        coops: Vec<Id>,
    },
    /// Another peer proved the member key `peer` had proven: `peer` is no longer served
    /// (one peer per key, the latest; see docs/protocol.md 13.10). A stolen key or a
    /// copied data folder looks like this.
    Superseded {
        /// The peer no longer served.
        peer: PeerId,
        /// The peer that proved the key since.
        by: PeerId,
        /// The key.
        member: PublicKey,
    },
    /// A peer's hello proof did not verify (a replayed or forged proof): it is treated as
    /// a stranger.
    HelloRefused {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// A peer's gossip score fell under the graylist threshold: its connections are
    /// closed and new ones refused for `lockout`.
    LockedOut {
        /// The peer.
        peer: PeerId,
        /// How many times it was graylisted while remembered (1 the first time).
        strikes: u32,
        /// How long it is refused, at least ([`crate::gossip::lockout`]).
        lockout: Duration,
    },
    /// A peer's lockout ended: it may connect again, with a clean score.
    LockoutEnded(PeerId),
}

/// What a node knows of a connected peer's sync ([`Network::sync_peer`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerSync {
    /// Sync requests sent to the peer since it connected.
    pub requests: u64,
    /// Whether it answered one with "protocol not supported": it is not asked again
    /// while it stays connected.
    pub unsupported: bool,
}

/// Whether this node writes as its member in a cooperative now
/// ([`NetConfig::confirm_own_chain`], docs/protocol.md 13.11).
///
/// Every start from a data folder may be a restored backup or a copy: the member may have
/// signed entries elsewhere past the last one this folder holds, and a new entry at one of
/// those seqs is a fork. So writes wait until an admitted peer has answered a sync session
/// with its heads and the member's chain held here is at least as long as the peer's copy
/// (the session fetched whatever the peer had beyond). Once open, writes stay open for the
/// run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writing {
    /// The guard is off ([`NetConfig::confirm_own_chain`] false) or this node speaks for
    /// no member.
    Unguarded,
    /// This node founded the cooperative since it started: nothing of its member's can
    /// be beyond the charter.
    Founded,
    /// The cooperative was opened from the data folder and, by its ledger, no key but the
    /// member's holds a role: no other node could confirm anything.
    Alone,
    /// `peer` confirmed: its copy of the member's chain ended at or before `seq`, the
    /// member's last seq held here then.
    Confirmed {
        /// The peer.
        peer: PeerId,
        /// The member's last seq held here when it confirmed.
        seq: u64,
    },
    /// Writes are held until a peer confirms; `peers`: peers admitted to the cooperative
    /// connected now.
    Waiting {
        /// Admitted peers connected.
        peers: usize,
    },
}

impl From<Open<PeerId>> for Writing {
    fn from(why: Open<PeerId>) -> Self {
        match why {
            Open::Unguarded => Writing::Unguarded,
            Open::Founded => Writing::Founded,
            Open::Alone => Writing::Alone,
            Open::Confirmed { peer, seq } => Writing::Confirmed { peer, seq },
        }
    }
}

impl Writing {
    /// Whether the member's writes go ahead.
    pub fn open(&self) -> bool {
        !matches!(self, Writing::Waiting { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_core::{Invalid, Missing};

    fn ids() -> (Id, Id, Id) {
        (Id([1; 32]), Id([2; 32]), Id([3; 32]))
    }

    #[test]
    fn a_stored_entry_is_reported_by_its_path_then_what_it_released() {
        let (id, r1, r2) = ids();
        let outcome = Ingest::Stored {
            id,
            released: vec![r1, r2],
        };
        for via in [Via::Local, Via::Gossip, Via::Sync] {
            let got = reactions(&outcome, via);
            assert_eq!(
                got,
                vec![
                    Reaction::Stored { id, via },
                    Reaction::Stored {
                        id: r1,
                        via: Via::Released
                    },
                    Reaction::Stored {
                        id: r2,
                        via: Via::Released
                    },
                ]
            );
            let stored = got
                .iter()
                .filter(|r| matches!(r, Reaction::Stored { .. }))
                .count();
            assert_eq!(stored, outcome.stored_count());
        }
    }

    #[test]
    fn an_equivocation_is_reported_before_what_its_second_entry_released() {
        let (existing, r1, _) = ids();
        let evidence = Evidence {
            a: vec![1],
            b: vec![2],
        };
        let outcome = Ingest::Equivocation {
            existing,
            evidence: evidence.clone(),
            released: vec![r1],
        };
        let got = reactions(&outcome, Via::Sync);
        assert_eq!(
            got,
            vec![
                Reaction::Equivocation { existing, evidence },
                Reaction::Stored {
                    id: r1,
                    via: Via::Released
                },
            ]
        );
        assert_eq!(outcome.stored_count(), 1);
    }

    #[test]
    fn nothing_stored_is_nothing_reported() {
        let (id, _, _) = ids();
        for outcome in [
            Ingest::Duplicate,
            Ingest::Pending(Missing::Dependency(id)),
            Ingest::Rejected(Invalid::SeqZero),
        ] {
            assert_eq!(reactions(&outcome, Via::Gossip), vec![]);
        }
    }
}
