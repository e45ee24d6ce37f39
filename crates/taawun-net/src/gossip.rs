//! Gossip: one gossipsub topic per cooperative, message ids, the gossipsub configuration,
//! peer scoring, and the verdict on each message.
//!
//! Entries carry their own ed25519 signatures, so gossipsub runs unsigned
//! ([`MessageAuthenticity::Anonymous`](libp2p::gossipsub::MessageAuthenticity) with
//! [`ValidationMode::Anonymous`]): libp2p would otherwise check its own signature on every
//! duplicate copy before deduplicating. Messages are held until the node reports a
//! verdict ([`verdict`]); only accepted ones are forwarded.

use crate::config::MAX_GRAYLIST_LOCKOUT;
use libp2p::gossipsub::{
    self, ConfigBuilder, IdentTopic, MessageAcceptance, MessageId, PeerScoreParams,
    PeerScoreThresholds, TopicScoreParams, ValidationMode,
};
use std::time::Duration;
use taawun_core::entry::{BadSignature, DecodeError, MAX_ENVELOPE_BYTES};
use taawun_core::{Id, Invalid, Missing, PublicKey};
use taawun_ledger::Ingest;

/// Room for gossipsub's own framing around an envelope (protobuf RPC and message fields,
/// the topic name of about 90 bytes): 1 KiB is several times what it takes.
pub const FRAMING_BYTES: usize = 1024;

/// The largest gossip message: the largest envelope a node decodes plus framing.
pub const MAX_TRANSMIT_BYTES: usize = MAX_ENVELOPE_BYTES + FRAMING_BYTES;

/// How long a message id is remembered to drop duplicates. gossipsub's default (60 s);
/// an entry seen again later is a cheap `Duplicate` in the ledger anyway.
pub const DUPLICATE_CACHE: Duration = Duration::from_secs(60);

/// Domain tag of gossip message ids.
const MESSAGE_ID_DOMAIN: &[u8] = b"taawun/gossip/message/v1";

/// The topic of a cooperative: `taawun/coop/<hex id>/v1`.
pub fn topic(coop: &Id) -> IdentTopic {
    IdentTopic::new(format!("taawun/coop/{}/v1", coop.to_hex()))
}

/// The gossip message id of `data`: a domain-separated blake3 of the whole message.
///
/// Envelopes have one canonical encoding and a valid entry one signature (its author's),
/// so every honest copy of an entry gets the same id and deduplicates. Hashing the whole
/// envelope rather than taking the entry id means a copy with a corrupted signature gets
/// its own id: it cannot shadow the genuine entry in the duplicate cache.
pub fn message_id(data: &[u8]) -> MessageId {
    let mut h = blake3::Hasher::new();
    h.update(MESSAGE_ID_DOMAIN);
    h.update(data);
    MessageId::new(h.finalize().as_bytes())
}

/// The gossipsub configuration every taawun node uses, except for message validation
/// (the node adds `validate_messages()`; a test attacker leaves it out).
pub fn config_builder(heartbeat: Duration) -> ConfigBuilder {
    let mut b = ConfigBuilder::default();
    b.validation_mode(ValidationMode::Anonymous)
        .message_id_fn(|m: &gossipsub::Message| message_id(&m.data))
        .max_transmit_size(MAX_TRANSMIT_BYTES)
        .duplicate_cache_time(DUPLICATE_CACHE)
        .heartbeat_interval(heartbeat);
    b
}

/// How long gossipsub keeps the score of a disconnected peer whose score is not positive
/// (`retain_score`; gossipsub's default is an hour). gossipsub does not decay a kept
/// score: a peer reconnecting within this time starts from its score at disconnection.
/// 30 s is about the time decay takes to forgive the same penalty on a connected peer
/// (invalid messages decay by 0.9 a second: 0.9^30 = 0.04), so disconnecting and coming
/// back gains a peer nothing, and an honest member on a flaky link does not carry an old
/// penalty for long. The node's lockouts ([`lockout`]), not this, keep a graylisted peer
/// out: kept for an hour, never decayed, and kept again from each disconnection, the
/// default made a graylisted peer that kept redialing (a member's node redials its
/// bootstrap peers whenever it has none) unwelcome for ever.
pub const SCORE_RETENTION: Duration = Duration::from_secs(30);

/// Peer-score thresholds: gossipsub's defaults (gossip -10, publish -50, graylist -80).
/// With [`topic_score`], P4 is -10 times the square of the (decaying) count of rejected
/// messages: one costs -10, three cost -90, under the graylist threshold.
pub fn thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds::default()
}

/// Whether a peer with `score` is graylisted (under [`thresholds`]' graylist threshold):
/// gossipsub drops its messages unread, and the node locks it out ([`lockout`]).
pub fn graylisted(score: f64) -> bool {
    score < thresholds().graylist_threshold
}

/// Peer-score parameters without topics (topics are added as cooperatives are joined):
/// gossipsub's defaults but for the score retention ([`SCORE_RETENTION`], or half of
/// `first_lockout` if that is shorter, so a locked-out peer's score is forgotten before its
/// lockout ends) and IP colocation (off).
pub fn score_params(first_lockout: Duration) -> PeerScoreParams {
    PeerScoreParams {
        retain_score: SCORE_RETENTION.min(first_lockout / 2),
        // Every node of a test, or of a cooperative office, may share one IP.
        ip_colocation_factor_weight: 0.0,
        ..PeerScoreParams::default()
    }
}

/// The application score of a peer whose gossip is shut: one that has not proven a role
/// in the cooperatives it subscribed to ([`crate::hello`]). Weighted by gossipsub's
/// application weight, it is far under the graylist threshold, so gossipsub ignores the
/// peer's messages and control, never puts it in a mesh, and publishes and gossips
/// nothing to it. A plain number rather than a block, so relays and bootstrap nodes that
/// are not members keep their connections (and the DHT and circuits over them).
pub const UNPROVEN_SCORE: f64 = -1_000_000.0;

/// What [`UNPROVEN_SCORE`] adds to a peer's gossipsub score.
pub fn unproven_penalty() -> f64 {
    UNPROVEN_SCORE * PeerScoreParams::default().app_specific_weight
}

/// How long a peer graylisted for the `strikes`-th time (1 for the first) is locked out:
/// `first`, doubled for each further strike, at most [`MAX_GRAYLIST_LOCKOUT`] (but never
/// less than `first`).
///
/// A hostile peer is graylisted again soon after each lockout ends (three invalid
/// messages do it), so its lockouts reach an hour after a handful of strikes, while an
/// honest member that tripped once is back after `first` (a minute by default).
pub fn lockout(first: Duration, strikes: u32) -> Duration {
    let doublings = strikes.saturating_sub(1).min(31);
    first
        .saturating_mul(1u32 << doublings)
        .min(MAX_GRAYLIST_LOCKOUT.max(first))
}

/// Scoring of one cooperative's topic. Cooperatives are quiet (a few entries a minute),
/// so the mesh-delivery penalties (P3, P3b), which punish mesh peers for not delivering
/// enough, are off: they would punish honest peers of a quiet topic. What counts is
/// time in the mesh (P1, small), first deliveries (P2) and, above all, invalid messages
/// (P4, weight -10, squared: 3 rejected messages graylist a peer).
pub fn topic_score() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 3600.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 100.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -10.0,
        invalid_message_deliveries_decay: 0.9,
        ..TopicScoreParams::default()
    }
}

/// What became of a gossip message.
#[derive(Debug)]
pub enum Judged {
    /// Its topic is not a cooperative this node holds (should not happen: we only
    /// subscribe to ours).
    UnknownTopic,
    /// Not an envelope.
    Malformed(DecodeError),
    /// The signature does not verify.
    BadSignature(BadSignature),
    /// The ledger's verdict.
    Ingested(Ingest),
    /// The ledger failed (our disk, not the sender's fault).
    StoreFailed,
}

/// The verdict reported to gossipsub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and new: forward it.
    Accept,
    /// Provably bad: drop it and penalise the sender.
    Reject,
    /// Drop it without blame.
    Ignore,
}

impl From<Verdict> for MessageAcceptance {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Accept => MessageAcceptance::Accept,
            Verdict::Reject => MessageAcceptance::Reject,
            Verdict::Ignore => MessageAcceptance::Ignore,
        }
    }
}

/// The one mapping from what became of a message to gossip's verdict.
///
/// - Stored: accept (forward).
/// - Equivocation: accept. The entry is validly signed by its author; forwarding it is
///   how every node comes to hold both branches and freeze the author (the ledger keeps
///   both envelopes as evidence).
/// - Malformed, bad signature, or a rule broken: reject (no honest node relays these,
///   because every node reaches the same verdict from the same causal past)...
/// - ...except the verdict that depends on the receiver, not the entry: a timestamp
///   ahead of *this node's* clock (`FromTheFuture`) may be relayed by honest peers:
///   ignore. (A frozen author's entries are judged like any other: a fork's second
///   entry and entries of a branch are stored, so they are accepted and relayed.)
/// - Duplicate, pending (cannot be judged yet), unknown topic, our store failing:
///   ignore.
pub fn verdict(j: &Judged) -> Verdict {
    match j {
        Judged::Ingested(i) => ingest_verdict(i),
        Judged::Malformed(_) | Judged::BadSignature(_) => Verdict::Reject,
        Judged::UnknownTopic | Judged::StoreFailed => Verdict::Ignore,
    }
}

/// [`verdict`] of what the ledger made of an entry that decoded and verified (a sync
/// batch's entries are judged with it too).
pub fn ingest_verdict(i: &Ingest) -> Verdict {
    match i {
        Ingest::Stored { .. } | Ingest::Equivocation { .. } => Verdict::Accept,
        Ingest::Rejected(Invalid::FromTheFuture { .. }) => Verdict::Ignore,
        Ingest::Rejected(_) => Verdict::Reject,
        Ingest::Duplicate | Ingest::Pending(_) => Verdict::Ignore,
    }
}

/// What a node asks of the peer that forwarded an entry it cannot judge yet (the peer
/// holds what the entry names, having judged it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskSender {
    /// The author's chain from `from` on: one range, not a whole comparison of heads.
    Range {
        /// The author.
        author: PublicKey,
        /// The first seq missing.
        from: u64,
    },
    /// A sync session: a dependency may be on any chain.
    Sync,
}

/// [`AskSender`] for what the ledger made of a gossiped entry: something only when it is
/// pending.
pub fn ask_sender(i: &Ingest) -> Option<AskSender> {
    match i {
        Ingest::Pending(Missing::Gap { author, from, .. }) => Some(AskSender::Range {
            author: *author,
            from: *from,
        }),
        Ingest::Pending(Missing::Dependency(_)) => Some(AskSender::Sync),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_core::body::Evidence;

    fn ingested(i: Ingest) -> Verdict {
        verdict(&Judged::Ingested(i))
    }

    #[test]
    fn verdicts() {
        let id = Id::of(b"x");
        let author = PublicKey([7; 32]);
        assert_eq!(
            ingested(Ingest::Stored {
                id,
                released: vec![]
            }),
            Verdict::Accept
        );
        assert_eq!(ingested(Ingest::Duplicate), Verdict::Ignore);
        assert_eq!(
            ingested(Ingest::Pending(Missing::Dependency(id))),
            Verdict::Ignore
        );
        assert_eq!(
            ingested(Ingest::Pending(Missing::Gap {
                author,
                from: 1,
                to: 2
            })),
            Verdict::Ignore
        );
        assert_eq!(
            ingested(Ingest::Rejected(Invalid::SeqZero)),
            Verdict::Reject
        );
        assert_eq!(
            ingested(Ingest::Rejected(Invalid::FromTheFuture { ts: 2, now: 1 })),
            Verdict::Ignore
        );
        assert_eq!(
            ingested(Ingest::Equivocation {
                existing: id,
                evidence: Evidence {
                    a: vec![1],
                    b: vec![2]
                },
                released: vec![]
            }),
            Verdict::Accept
        );
        assert_eq!(
            verdict(&Judged::Malformed(DecodeError::NonCanonical)),
            Verdict::Reject
        );
        assert_eq!(
            verdict(&Judged::BadSignature(BadSignature { id, author })),
            Verdict::Reject
        );
        assert_eq!(verdict(&Judged::UnknownTopic), Verdict::Ignore);
        assert_eq!(verdict(&Judged::StoreFailed), Verdict::Ignore);
    }

    #[test]
    fn a_corrupted_copy_cannot_shadow_the_genuine_entry() {
        let bytes = vec![0xa5u8; 300];
        let genuine = taawun_core::entry::envelope(&bytes, &[9; 64]);
        let corrupt = taawun_core::entry::envelope(&bytes, &[8; 64]);
        assert_eq!(message_id(&genuine), message_id(&genuine.clone()));
        assert_ne!(message_id(&genuine), message_id(&corrupt));
    }

    #[test]
    fn scoring_params_are_valid() {
        let mut p = score_params(crate::config::DEFAULT_GRAYLIST_LOCKOUT);
        assert_eq!(p.retain_score, SCORE_RETENTION);
        assert_eq!(
            score_params(Duration::from_secs(2)).retain_score,
            Duration::from_secs(1)
        );
        p.topics.insert(topic(&Id::of(b"c")).hash(), topic_score());
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(thresholds().validate(), Ok(()));
    }

    #[test]
    fn lockouts_double_up_to_an_hour() {
        let first = Duration::from_secs(60);
        let minutes = |n: u64| Duration::from_secs(60 * n);
        assert_eq!(lockout(first, 0), first);
        assert_eq!(lockout(first, 1), first);
        assert_eq!(lockout(first, 2), minutes(2));
        assert_eq!(lockout(first, 6), minutes(32));
        assert_eq!(lockout(first, 7), MAX_GRAYLIST_LOCKOUT);
        assert_eq!(lockout(first, u32::MAX), MAX_GRAYLIST_LOCKOUT);
        assert_eq!(lockout(Duration::from_secs(2), 3), Duration::from_secs(8));
        // The retained score of a locked-out peer is forgotten before its lockout ends.
        assert!(score_params(first).retain_score < first);
    }

    #[test]
    fn topic_names() {
        let id = Id([0xab; 32]);
        assert_eq!(
            topic(&id).to_string(),
            format!("taawun/coop/{}/v1", "ab".repeat(32))
        );
    }

    #[test]
    fn a_pending_entry_asks_its_sender_for_the_gap_or_a_sync() {
        let author = PublicKey([7; 32]);
        let gap = Ingest::Pending(Missing::Gap {
            author,
            from: 4,
            to: 9,
        });
        assert_eq!(ask_sender(&gap), Some(AskSender::Range { author, from: 4 }));
        let dep = Ingest::Pending(Missing::Dependency(Id::of(b"offer")));
        assert_eq!(ask_sender(&dep), Some(AskSender::Sync));
        assert_eq!(ask_sender(&Ingest::Duplicate), None);
        assert_eq!(
            ask_sender(&Ingest::Stored {
                id: Id::of(b"x"),
                released: vec![]
            }),
            None
        );
    }
}
