//! The result outbox as a machine without I/O: which results wait for their recipient,
//! when each is tried again, whom to dial or look up in the DHT, and what became of each
//! request. No Swarm, no clock, no disk: the network task tells it what happened (a result
//! queued, a node of its recipient proven, a request sent, answered or failed, a timer tick
//! with `now`) and carries out what it answers (find the recipient's node and send it the
//! bytes, dial a peer, look a peer up, report a delivery or a refusal).
//!
//! The rules (see [`crate::result`]): a result is tried at once when queued, and again
//! after each failure that may heal (no node of the recipient connected, a timeout, a
//! failed dial, a refusal that [`Refusal::retry`]) with [`result::backoff`]; at once, with
//! a fresh backoff, when a node proves it holds the recipient's key. One request per
//! result is out at a time. When no node of the recipient is connected, the node last seen
//! holding it is dialed (and looked up in the DHT when the dial cannot start); a request
//! that failed to dial looks the peer up too. A result is never given up for lack of a
//! peer: a requester offline for days is asked every [`result::RETRY_MAX`]; only a refusal
//! that cannot heal ends it. At most [`result::MAX_OUTBOX`] results wait at once.
//!
//! Generic over the key of a delivery `K`, the recipient `T`, the peer `P` and the
//! request id `R`: the node uses (cooperative, submission, juror), a member key, libp2p's
//! `PeerId` and its `OutboundRequestId`; tests use anything small.

use crate::result::{self, Refusal};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::Instant;

/// What the machine asks the network task to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<K, T, P> {
    /// Find a connected node proven to hold `to` (or a live device key of it), preferring
    /// `last`, and send it the result of `key`: then [`Outbox::sending`] (after
    /// [`Outbox::reading`] while its bytes are read off the task); with no such node,
    /// [`Outbox::unreachable`]; when the bytes cannot be read, [`Outbox::unreadable`] (or
    /// [`Outbox::forget`] when they are gone).
    Deliver {
        /// The delivery.
        key: K,
        /// Its recipient.
        to: T,
        /// The node last seen holding the recipient's key.
        last: Option<P>,
    },
    /// Dial the peer last seen holding a waiting result's recipient; if the dial cannot
    /// start, tell [`Outbox::dial_failed`].
    Dial(P),
    /// Ask the DHT where the peer is now (its known addresses failed).
    Lookup(P),
    /// The recipient's node stored the result: out of the outbox.
    Delivered {
        /// The delivery.
        key: K,
        /// The node that stored it.
        peer: P,
    },
    /// The recipient's node refused the result for good: out of the outbox.
    Refused {
        /// The delivery.
        key: K,
        /// Why.
        refusal: Refusal,
    },
}

/// The outbox holds [`result::MAX_OUTBOX`] results already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the outbox is full ({0} results wait)")]
pub struct Full(pub usize);

/// A result waiting for its recipient.
#[derive(Debug, Clone)]
struct Waiting<T, P> {
    /// The recipient: a node proving it or a live device key of it may take the result.
    to: T,
    /// The node last seen holding the recipient's key.
    last: Option<P>,
    /// Failed attempts since the last fresh start (a node of the recipient proven).
    attempt: u32,
    /// When to try next.
    due: Instant,
    /// A request is out.
    in_flight: bool,
}

/// The results waiting for delivery and the requests out.
#[derive(Debug)]
pub struct Outbox<K, T, P, R> {
    /// Bounded by [`result::MAX_OUTBOX`].
    waiting: BTreeMap<K, Waiting<T, P>>,
    /// Requests out, each for one waiting result (so bounded the same way).
    requests: HashMap<R, K>,
}

impl<K, T, P, R> Default for Outbox<K, T, P, R> {
    fn default() -> Self {
        Outbox {
            waiting: BTreeMap::new(),
            requests: HashMap::new(),
        }
    }
}

impl<K, T, P, R> Outbox<K, T, P, R>
where
    K: Copy + Ord,
    T: Copy + Eq,
    P: Copy + Eq,
    R: Eq + Hash,
{
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Results waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether no result waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Whether `key` waits.
    pub fn contains(&self, key: &K) -> bool {
        self.waiting.contains_key(key)
    }

    /// The results waiting, in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.waiting.keys()
    }

    /// Whether a new result would be refused ([`Full`]).
    pub fn is_full(&self) -> bool {
        self.waiting.len() >= result::MAX_OUTBOX
    }

    /// Whether a waiting result's recipient was last seen on `peer` (worth dialing when
    /// the DHT finds it).
    pub fn waiting_for(&self, peer: &P) -> bool {
        self.waiting.values().any(|w| w.last.as_ref() == Some(peer))
    }

    /// Whether a waiting result's recipient is on no node `connected` says is connected:
    /// the node then looks for it (a DHT lookup walks through peers it did not choose).
    pub fn seeks(&self, connected: impl Fn(&P) -> bool) -> bool {
        self.waiting
            .values()
            .any(|w| w.last.as_ref().is_none_or(|p| !connected(p)))
    }

    /// Queues `key` for `to` (once), last seen on `last`, and tries it now unless a
    /// request for it is out already.
    pub fn queue(
        &mut self,
        key: K,
        to: T,
        last: Option<P>,
        now: Instant,
    ) -> Result<Vec<Output<K, T, P>>, Full> {
        if !self.waiting.contains_key(&key) && self.is_full() {
            return Err(Full(self.waiting.len()));
        }
        let w = self.waiting.entry(key).or_insert(Waiting {
            to,
            last,
            attempt: 0,
            due: now,
            in_flight: false,
        });
        Ok(Self::deliver(key, w).into_iter().collect())
    }

    /// The timer at `now`: every result whose retry is due and has no request out.
    pub fn due(&mut self, now: Instant) -> Vec<Output<K, T, P>> {
        self.waiting
            .iter()
            .filter(|(_, w)| w.due <= now)
            .filter_map(|(k, w)| Self::deliver(*k, w))
            .collect()
    }

    /// `peer` proved it holds a key: the results whose recipient that key speaks for
    /// (`for_it`) go to it, due now with a fresh backoff.
    pub fn reached(
        &mut self,
        peer: P,
        now: Instant,
        mut for_it: impl FnMut(&K, &T) -> bool,
    ) -> Vec<Output<K, T, P>> {
        for (k, w) in self.waiting.iter_mut() {
            if for_it(k, &w.to) {
                w.last = Some(peer);
                w.attempt = 0;
                w.due = now;
            }
        }
        self.due(now)
    }

    /// The bytes of `key` are being read for an attempt: not delivered again meanwhile.
    /// The attempt ends with [`Outbox::sending`], [`Outbox::unreachable`],
    /// [`Outbox::unreadable`] or [`Outbox::forget`].
    pub fn reading(&mut self, key: K) {
        if let Some(w) = self.waiting.get_mut(&key) {
            w.in_flight = true;
        }
    }

    /// A request for `key` went to `peer` as `request`.
    pub fn sending(&mut self, key: K, peer: P, request: R) {
        if let Some(w) = self.waiting.get_mut(&key) {
            w.in_flight = true;
            w.last = Some(peer);
            self.requests.insert(request, key);
        }
    }

    /// No connected node holds `key`'s recipient: dial the one last seen holding it (if
    /// not `connected`) and try again later.
    pub fn unreachable(
        &mut self,
        key: K,
        now: Instant,
        connected: impl Fn(&P) -> bool,
    ) -> Vec<Output<K, T, P>> {
        let dial = self
            .waiting
            .get(&key)
            .and_then(|w| w.last)
            .filter(|p| !connected(p));
        self.reschedule(&key, now);
        dial.map(Output::Dial).into_iter().collect()
    }

    /// A dial asked for ([`Output::Dial`]) could not start: look the peer up.
    pub fn dial_failed(&mut self, peer: P) -> Vec<Output<K, T, P>> {
        vec![Output::Lookup(peer)]
    }

    /// `key`'s bytes could not be read now: try again later.
    pub fn unreadable(&mut self, key: K, now: Instant) {
        self.reschedule(&key, now);
    }

    /// Drops `key` without a word (its bytes are gone): nothing is left to deliver.
    pub fn forget(&mut self, key: &K) {
        self.waiting.remove(key);
        self.requests.retain(|_, k| k != key);
    }

    /// `peer` answered `request`: stored (`Ok`) or refused.
    pub fn answered(
        &mut self,
        request: &R,
        peer: P,
        answer: Result<(), Refusal>,
        now: Instant,
    ) -> Vec<Output<K, T, P>> {
        let Some(key) = self.requests.remove(request) else {
            return Vec::new();
        };
        match answer {
            Ok(()) => {
                self.waiting.remove(&key);
                vec![Output::Delivered { key, peer }]
            }
            Err(r) if r.retry() => {
                self.reschedule(&key, now);
                Vec::new()
            }
            Err(refusal) => {
                self.waiting.remove(&key);
                vec![Output::Refused { key, refusal }]
            }
        }
    }

    /// `request` to `peer` failed (a timeout, a closed connection, a failed dial
    /// (`dial_failure`): then the peer is looked up). It is tried again later.
    pub fn failed(
        &mut self,
        request: &R,
        peer: P,
        dial_failure: bool,
        now: Instant,
    ) -> Vec<Output<K, T, P>> {
        let Some(key) = self.requests.remove(request) else {
            return Vec::new();
        };
        self.reschedule(&key, now);
        if dial_failure {
            vec![Output::Lookup(peer)]
        } else {
            Vec::new()
        }
    }

    /// Whether `request` is one of the outbox's.
    pub fn knows(&self, request: &R) -> bool {
        self.requests.contains_key(request)
    }

    /// The result `request` carries, while it is out.
    pub fn key_of(&self, request: &R) -> Option<K> {
        self.requests.get(request).copied()
    }

    /// A delivery attempt unless a request is out.
    fn deliver(key: K, w: &Waiting<T, P>) -> Option<Output<K, T, P>> {
        (!w.in_flight).then_some(Output::Deliver {
            key,
            to: w.to,
            last: w.last,
        })
    }

    /// An attempt failed in a way that may heal: wait [`result::backoff`].
    fn reschedule(&mut self, key: &K, now: Instant) {
        if let Some(w) = self.waiting.get_mut(key) {
            w.in_flight = false;
            w.due = now + result::backoff(w.attempt);
            w.attempt = w.attempt.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{backoff, MAX_OUTBOX, RETRY_FIRST, RETRY_MAX};

    /// Deliveries, recipients, peers and requests as small numbers.
    type Box = Outbox<u32, u8, u16, u64>;

    fn delivers(out: &[Output<u32, u8, u16>]) -> Vec<u32> {
        out.iter()
            .filter_map(|o| match o {
                Output::Deliver { key, .. } => Some(*key),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_queued_result_is_tried_at_once_and_once_only_while_a_request_is_out() {
        let t0 = Instant::now();
        let mut b = Box::new();
        let out = b.queue(1, 7, Some(70), t0).expect("room");
        assert_eq!(
            out,
            vec![Output::Deliver {
                key: 1,
                to: 7,
                last: Some(70)
            }]
        );
        b.sending(1, 70, 100);
        // Queued again (the worker sent it twice), or due: no second request.
        assert!(b.queue(1, 7, None, t0).expect("room").is_empty());
        assert!(b.due(t0 + RETRY_MAX).is_empty());
        assert!(b.reached(70, t0, |_, to| *to == 7).is_empty());
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn a_result_being_read_is_not_tried_again_until_its_attempt_ends() {
        let t0 = Instant::now();
        let mut b = Box::new();
        b.queue(1, 7, Some(70), t0).expect("room");
        b.reading(1);
        assert!(b.due(t0 + RETRY_MAX).is_empty());
        assert!(b.reached(70, t0, |_, to| *to == 7).is_empty());
        // The read failed: tried again after its backoff.
        b.unreadable(1, t0);
        assert!(b.due(t0).is_empty());
        assert_eq!(delivers(&b.due(t0 + backoff(0))), vec![1]);
        // Read, sent, answered.
        b.reading(1);
        b.sending(1, 70, 100);
        let out = b.answered(&100, 70, Ok(()), t0);
        assert_eq!(out, vec![Output::Delivered { key: 1, peer: 70 }]);
        assert!(b.is_empty());
    }

    #[test]
    fn it_seeks_a_recipient_on_no_connected_node() {
        let t0 = Instant::now();
        let mut b = Box::new();
        assert!(!b.seeks(|_| false));
        b.queue(1, 7, Some(70), t0).expect("room");
        assert!(!b.seeks(|p| *p == 70));
        assert!(b.seeks(|_| false));
        b.queue(2, 8, None, t0).expect("room");
        assert!(b.seeks(|p| *p == 70), "a recipient never seen");
    }

    #[test]
    fn retries_back_off_and_a_proven_node_restarts_the_backoff() {
        let t0 = Instant::now();
        let mut b = Box::new();
        b.queue(1, 7, None, t0).expect("room");
        // No node of the recipient: no one to dial yet, tried again after the backoff.
        assert!(b.unreachable(1, t0, |_| false).is_empty());
        assert!(b.due(t0 + RETRY_FIRST / 2).is_empty());
        let t1 = t0 + RETRY_FIRST;
        assert_eq!(delivers(&b.due(t1)), vec![1]);
        b.unreachable(1, t1, |_| false);
        assert!(b.due(t1 + backoff(1) / 2).is_empty(), "doubled");
        let t2 = t1 + backoff(1);
        assert_eq!(delivers(&b.due(t2)), vec![1]);
        b.sending(1, 70, 5);
        assert!(b.failed(&5, 70, false, t2).is_empty());
        assert!(b.due(t2 + backoff(2) / 2).is_empty(), "doubled again");
        // A node proves the recipient's key: due now, and the backoff starts over.
        let out = b.reached(71, t2, |_, to| *to == 7);
        assert_eq!(
            out,
            vec![Output::Deliver {
                key: 1,
                to: 7,
                last: Some(71)
            }]
        );
        b.unreachable(1, t2, |_| true);
        assert_eq!(delivers(&b.due(t2 + RETRY_FIRST)), vec![1]);
    }

    #[test]
    fn the_wait_is_capped_and_a_recipient_never_seen_is_never_given_up() {
        let mut t = Instant::now();
        let mut b = Box::new();
        b.queue(1, 7, None, t).expect("room");
        for attempt in 0..40 {
            b.unreachable(1, t, |_| false);
            if attempt >= 10 {
                assert!(b.due(t + RETRY_MAX - RETRY_FIRST).is_empty(), "capped");
            }
            t += RETRY_MAX;
            assert_eq!(delivers(&b.due(t)), vec![1], "asked every RETRY_MAX");
        }
        assert!(b.contains(&1));
    }

    #[test]
    fn the_last_node_is_dialed_when_not_connected_and_looked_up_when_the_dial_fails() {
        let t0 = Instant::now();
        let mut b = Box::new();
        b.queue(1, 7, Some(70), t0).expect("room");
        assert!(b.waiting_for(&70));
        assert!(!b.waiting_for(&71));
        // Connected but not (or no longer) proven to hold the key: no dial.
        assert!(b.unreachable(1, t0, |_| true).is_empty());
        let t1 = t0 + RETRY_FIRST;
        b.due(t1);
        assert_eq!(b.unreachable(1, t1, |_| false), vec![Output::Dial(70)]);
        assert_eq!(b.dial_failed(70), vec![Output::Lookup(70)]);
        // A request that could not dial also looks the peer up.
        let t2 = t1 + backoff(1);
        b.due(t2);
        b.sending(1, 70, 9);
        assert_eq!(b.failed(&9, 70, true, t2), vec![Output::Lookup(70)]);
        assert!(b.contains(&1));
    }

    #[test]
    fn a_stored_answer_delivers_and_a_refusal_ends_or_retries_by_its_kind() {
        let t0 = Instant::now();
        let mut b = Box::new();
        for k in 1..=3 {
            b.queue(k, 7, None, t0).expect("room");
            b.sending(k, 70, u64::from(k));
        }
        assert_eq!(
            b.answered(&1, 70, Ok(()), t0),
            vec![Output::Delivered { key: 1, peer: 70 }]
        );
        assert_eq!(
            b.answered(&2, 70, Err(Refusal::WrongHash), t0),
            vec![Output::Refused {
                key: 2,
                refusal: Refusal::WrongHash
            }]
        );
        assert!(b
            .answered(&3, 70, Err(Refusal::UnknownSubmission), t0)
            .is_empty());
        assert!(!b.contains(&1) && !b.contains(&2) && b.contains(&3));
        assert_eq!(delivers(&b.due(t0 + RETRY_FIRST)), vec![3]);
        // An answer to a request the outbox does not know (answered already) is ignored.
        assert!(b.answered(&1, 70, Ok(()), t0).is_empty());
        assert!(!b.knows(&3));
    }

    #[test]
    fn a_reconnecting_node_gets_only_its_recipient_s_results() {
        let t0 = Instant::now();
        let mut b = Box::new();
        b.queue(1, 7, None, t0).expect("room");
        b.queue(2, 8, None, t0).expect("room");
        b.unreachable(1, t0, |_| false);
        b.unreachable(2, t0, |_| false);
        let out = b.reached(70, t0, |_, to| *to == 7);
        assert_eq!(delivers(&out), vec![1]);
        assert!(b.waiting_for(&70));
    }

    #[test]
    fn the_outbox_is_bounded_but_takes_a_result_it_holds_again() {
        let t0 = Instant::now();
        let mut b = Box::new();
        for k in 0..MAX_OUTBOX as u32 {
            b.queue(k, 7, None, t0).expect("room");
        }
        assert!(b.is_full());
        assert_eq!(b.queue(u32::MAX, 7, None, t0), Err(Full(MAX_OUTBOX)));
        assert!(b.queue(0, 7, None, t0).is_ok(), "already there");
        b.forget(&0);
        assert!(b.queue(u32::MAX, 7, None, t0).is_ok());
        assert_eq!(b.len(), MAX_OUTBOX);
    }

    #[test]
    fn an_unreadable_result_waits_and_a_forgotten_one_leaves_no_request() {
        let t0 = Instant::now();
        let mut b = Box::new();
        b.queue(1, 7, None, t0).expect("room");
        b.unreadable(1, t0);
        assert!(b.due(t0).is_empty());
        assert_eq!(delivers(&b.due(t0 + RETRY_FIRST)), vec![1]);
        b.sending(1, 70, 4);
        b.forget(&1);
        assert!(b.is_empty() && !b.knows(&4));
        assert!(b.failed(&4, 70, true, t0).is_empty());
    }
}
