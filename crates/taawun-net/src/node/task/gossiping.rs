//! Gossip on the task: judging and ingesting a gossip message, publishing entries, and
//! the evidence the member's node authors when it sees an equivocation.

use super::writes::Then;
use super::Task;
use crate::exchange;
use crate::gossip::{self, AskSender, Judged, Verdict};
use crate::node::event::{Event, Via};
use crate::node::MAX_EVIDENCE_AUTHORED;
use libp2p::gossipsub::{self, MessageId};
use libp2p::PeerId;
use taawun_core::body::{Body, Evidence};
use taawun_core::entry::{self, Freeze};
use taawun_core::{Id, Verified};
use tracing::{debug, info, warn};

impl Task {
    /// Gossips a stored entry. Failing to is not an error: the entry is stored, and sync
    /// carries it to peers that gossip missed.
    pub(super) fn publish(&mut self, coop: Id, v: &Verified) {
        let topic = gossip::topic(&coop);
        match self
            .swarm
            .behaviour_mut()
            .gossip
            .publish(topic, v.envelope())
        {
            Ok(_) => {}
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                debug!(entry = %v.id().short(), "no peer subscribed yet; sync will carry it");
            }
            Err(e) => debug!(entry = %v.id().short(), error = %e, "not gossiped"),
        }
    }

    /// A gossip message arrived: kept in the inbox, judged with the others that arrived
    /// at once when the task has taken every event already waiting
    /// ([`Task::judge_gossip`]).
    pub(super) fn on_gossip(&mut self, source: PeerId, msg_id: MessageId, msg: gossipsub::Message) {
        // The loop takes at most GOSSIP_BURST events before judging: the inbox stays
        // within that bound.
        self.gossip_inbox.push((source, msg_id, msg));
    }

    /// The gossip validation pipeline for the messages in the inbox: decode them and
    /// verify their signatures as one batch (a batch costs about a third of one-by-one
    /// verification), then, in the order they arrived, ingest and report each. No message
    /// waits for others: the inbox holds only what was already waiting when the task
    /// looked.
    pub(super) fn judge_gossip(&mut self) {
        if self.gossip_inbox.is_empty() {
            return;
        }
        let inbox = std::mem::take(&mut self.gossip_inbox);
        let checked = entry::check_envelopes(
            inbox.iter().map(|(_, _, m)| m.data.as_slice()),
            entry::Until::End,
        );
        for ((source, msg_id, msg), checked) in inbox.into_iter().zip(checked) {
            self.on_checked_gossip(source, msg_id, &msg.topic, checked);
        }
    }

    /// Judges one gossip message whose envelope was checked, and reports it.
    fn on_checked_gossip(
        &mut self,
        source: PeerId,
        msg_id: MessageId,
        topic: &gossipsub::TopicHash,
        checked: entry::Checked,
    ) {
        let coop = self.topics.get(topic).copied();
        let now = Some(self.now());
        let judged =
            exchange::judge_checked(coop.and_then(|c| self.coops.get_mut(&c)), checked, now);
        let verdict = gossip::verdict(&judged);
        self.swarm
            .behaviour_mut()
            .gossip
            .report_message_validation_result(&msg_id, &source, verdict.into());
        let reason = exchange::reason(&judged);
        if verdict == Verdict::Reject {
            info!(peer = %source, %reason, "gossip message rejected");
            self.drop_if_graylisted(source);
        }
        self.emit(Event::Gossip {
            coop,
            peer: source,
            message: msg_id,
            verdict,
            reason,
        });
        let Some(coop) = coop else { return };
        let Judged::Ingested(outcome) = judged else {
            return;
        };
        self.on_ingested(coop, &outcome, Via::Gossip, None);
        match gossip::ask_sender(&outcome) {
            Some(AskSender::Range { author, from }) => {
                debug!(author = %author.short(), from, peer = %source, "gossip entry after a gap; fetching the range");
                self.fetch_range(source, coop, author, from);
            }
            Some(AskSender::Sync) => {
                debug!(peer = %source, "gossip entry pending; syncing");
                self.start_sync(source, coop);
            }
            None => {}
        }
    }

    /// Reports an equivocation and, when this node speaks for a member, publishes an
    /// `Evidence` entry about it (once per cooperative, author and seq).
    pub(super) fn on_equivocation(&mut self, coop: Id, existing: Id, evidence: Evidence) {
        let Some(Freeze { author, seq }) = evidence.freezes() else {
            return;
        };
        warn!(author = %author.short(), seq, "equivocation");
        self.emit(Event::Equivocation {
            coop,
            author,
            existing,
            evidence: evidence.clone(),
        });
        if self.member_key().is_none_or(|me| me == author)
            || self.evidenced.len() >= MAX_EVIDENCE_AUTHORED
            || !self.evidenced.insert((coop, author, seq))
        {
            return;
        }
        // Writes may open on this question (a member alone in the cooperative).
        if self.writing(&coop).is_err() {
            return;
        }
        let out = self.guard(&coop).evidence(evidence);
        if out.is_empty() {
            // Signing now could fork the member itself: the evidence waits for its writes.
            info!(author = %author.short(), seq, "evidence held until the member's writes open");
        }
        self.carry_out_guard(coop, out);
    }

    /// Authors and publishes an `Evidence` entry as the member.
    pub(super) fn publish_evidence(&mut self, coop: Id, evidence: Evidence) {
        let Some(key) = self.member.clone() else {
            return;
        };
        let Some(Freeze { author, seq }) = evidence.freezes() else {
            return;
        };
        // Published once on disk (`Task::flushed`).
        let then = Then::Evidence { author, seq };
        self.append(coop, &key, Body::Evidence(evidence), None, then);
    }
}
