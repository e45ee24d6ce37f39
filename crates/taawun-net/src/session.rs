//! Sync sessions ([`crate::sync`]) as a machine without I/O: no Swarm, no clock, no
//! ledger. The network task feeds it what happened (a session asked for, a peer's
//! answer, what the ledger made of a batch, a request that failed) and carries out what
//! it answers: the requests to send, and the sessions that ended. So the order of
//! requests, the bound on requests in flight, the switch to log-order catch-up, the fetch
//! of a fork's branches and the end of a session are decided here once, and tested
//! without a network.
//!
//! The peer type is generic: the node uses libp2p's `PeerId`, tests and simulations use
//! anything small.

use crate::sync::{self, Request, Response, Summary};
use serde_bytes::ByteBuf;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use taawun_core::{Id, PublicKey};

/// What an outstanding sync request was: the network task keeps it beside the request's
/// id and hands it back with the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing {
    /// A [`Request::Heads`].
    Heads {
        /// Its cooperative.
        coop: Id,
    },
    /// A [`Request::Range`].
    Range {
        /// Its cooperative.
        coop: Id,
    },
    /// A [`Request::Log`] from position `from`.
    Log {
        /// Its cooperative.
        coop: Id,
        /// The log position asked from.
        from: u64,
    },
    /// A [`Request::Branches`] for `author` from position `from`.
    Branches {
        /// Its cooperative.
        coop: Id,
        /// The author.
        author: PublicKey,
        /// The position asked from.
        from: u64,
    },
}

impl Outgoing {
    /// The cooperative the request was about.
    pub fn coop(&self) -> Id {
        match self {
            Outgoing::Heads { coop }
            | Outgoing::Range { coop }
            | Outgoing::Log { coop, .. }
            | Outgoing::Branches { coop, .. } => *coop,
        }
    }
}

/// A peer's answer to a session's request, as the session needs it ([`Reply::of`]): the
/// network task and the simulator route every sync answer through it.
#[derive(Debug)]
pub enum Reply {
    /// The peer's summary differs from this node's: [`Sessions::heads_differ`].
    Differ(Summary),
    /// The peer's digest equals this node's: [`Sessions::heads_equal`].
    Equal,
    /// Entries to ingest, then [`Sessions::ingested`] with `then`.
    Entries {
        /// The envelopes, in the order sent.
        entries: Vec<ByteBuf>,
        /// What the session is told once they are ingested.
        then: Then,
    },
    /// Nothing usable (the peer does not hold the cooperative, cannot answer now, or
    /// answered another kind than asked): [`Sessions::answered`].
    Nothing,
}

/// What a session is told of the entries of an answer, once ingested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// A range; the peer has more of that chain.
    Range {
        /// More of the chain.
        more: bool,
    },
    /// A batch of the log.
    Log(LogAnswer),
    /// A batch of `author`'s branches.
    Branches(PublicKey, LogAnswer),
}

impl Reply {
    /// Reads `response`, the answer to the request `tag` names.
    pub fn of(tag: Outgoing, response: Response) -> Self {
        let listed = |from: u64, entries: &[ByteBuf], next: u64, more: bool| LogAnswer {
            from,
            count: entries.len(),
            next,
            more,
        };
        match (tag, response) {
            (Outgoing::Heads { .. }, Response::Heads(Some(remote))) => Reply::Differ(remote),
            (Outgoing::Heads { .. }, Response::Heads(None)) => Reply::Equal,
            (Outgoing::Range { .. }, Response::Range { entries, more }) => Reply::Entries {
                entries,
                then: Then::Range { more },
            },
            (
                Outgoing::Log { from, .. },
                Response::Log {
                    entries,
                    next,
                    more,
                },
            ) => Reply::Entries {
                then: Then::Log(listed(from, &entries, next, more)),
                entries,
            },
            (
                Outgoing::Branches { author, from, .. },
                Response::Branches {
                    entries,
                    next,
                    more,
                },
            ) => Reply::Entries {
                then: Then::Branches(author, listed(from, &entries, next, more)),
                entries,
            },
            _ => Reply::Nothing,
        }
    }
}

/// What the machine asks the network task to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<P> {
    /// Send `request` to `peer`, and hand `tag` back with its answer.
    Send {
        /// To whom.
        peer: P,
        /// What.
        request: Request,
        /// What it was, for the answer.
        tag: Outgoing,
    },
    /// The session with `peer` for `coop` ended.
    Ended {
        /// The peer.
        peer: P,
        /// The cooperative.
        coop: Id,
        /// Entries stored during the session (released ones included).
        stored: usize,
        /// The seq of this node's member's head in the peer's heads answer (0: the
        /// peer's digest equalled ours, or it holds none of the member's entries), when
        /// the answer told: a chain held here at least as long confirms the member's
        /// latest entry ([`crate::Writing`]).
        own_remote: Option<u64>,
    },
}

/// What the ledger made of one batch of a range or log answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ingested {
    /// Entries stored (released ones included).
    pub stored: usize,
    /// Every envelope of the batch decoded and verified (none was cut off).
    pub complete: bool,
    /// (author, seq + 1) after the last entry decoded.
    pub next: Option<(PublicKey, u64)>,
}

/// A peer's answer to a [`Request::Log`] or a [`Request::Branches`], as far as the session
/// needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogAnswer {
    /// The position asked from.
    pub from: u64,
    /// Envelopes in the answer.
    pub count: usize,
    /// Where the peer says its log (or its list) goes on.
    pub next: u64,
    /// The peer has more.
    pub more: bool,
}

/// A request a session has still to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// `author`'s chain from a seq on.
    Range(PublicKey, u64),
    /// `author`'s branches, from a position on.
    Branches(PublicKey, u64),
}

/// One session's state.
#[derive(Debug, Default)]
struct Session {
    /// Requests still to send: ranges, and forks' branches.
    queue: VecDeque<Want>,
    /// Requests sent and not answered.
    in_flight: usize,
    /// Entries stored so far.
    stored: usize,
    /// Log-order catch-up: the next log position to ask for, while one is wanted and
    /// none is out.
    log: Option<u64>,
    /// The log position past which this session asks for no more: the remote's heads
    /// total plus [`sync::LOG_SLACK`].
    log_end: u64,
    /// See [`Output::Ended::own_remote`].
    own_remote: Option<u64>,
}

/// The sync sessions of one node, at most [`sync::MAX_SESSIONS`] at once, one per (peer,
/// cooperative).
#[derive(Debug)]
pub struct Sessions<P> {
    map: HashMap<(P, Id), Session>,
}

impl<P> Default for Sessions<P> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
        }
    }
}

impl<P: Copy + Eq + Hash> Sessions<P> {
    /// No session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sessions running.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No session runs.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A session with `peer` for `coop` runs.
    pub fn running(&self, peer: P, coop: Id) -> bool {
        self.map.contains_key(&(peer, coop))
    }

    /// Whether a new session may start: none runs with `peer` for `coop`, and fewer than
    /// [`sync::MAX_SESSIONS`] do in all.
    pub fn can_start(&self, peer: P, coop: Id) -> bool {
        !self.running(peer, coop) && self.map.len() < sync::MAX_SESSIONS
    }

    /// Starts a session with `peer` for `coop` from this node's summary `local`: asks for
    /// the peer's, with the digest of ours. Nothing if [`Sessions::can_start`] says no.
    pub fn start(&mut self, peer: P, coop: Id, local: &Summary) -> Vec<Output<P>> {
        if !self.can_start(peer, coop) {
            return Vec::new();
        }
        self.map.insert(
            (peer, coop),
            Session {
                in_flight: 1,
                ..Session::default()
            },
        );
        vec![Output::Send {
            peer,
            request: Request::Heads {
                coop,
                digest: sync::digest(local),
            },
            tag: Outgoing::Heads { coop },
        }]
    }

    /// Fetches `author`'s chain from `from` on from `peer`, in the session with that peer
    /// (started for it if none runs and there is room), before any fork's branches still
    /// queued. A range of that author already queued is not asked twice.
    pub fn fetch(&mut self, peer: P, coop: Id, author: PublicKey, from: u64) -> Vec<Output<P>> {
        match self.map.get_mut(&(peer, coop)) {
            Some(s) => {
                if s.queue
                    .iter()
                    .any(|w| matches!(w, Want::Range(a, _) if *a == author))
                {
                    return Vec::new();
                }
                // Before the forks' branches, which wait for the ranges.
                let at = s
                    .queue
                    .iter()
                    .position(|w| matches!(w, Want::Branches(..)))
                    .unwrap_or(s.queue.len());
                s.queue.insert(at, Want::Range(author, from));
            }
            None => {
                if self.map.len() >= sync::MAX_SESSIONS {
                    return Vec::new();
                }
                self.map.insert(
                    (peer, coop),
                    Session {
                        queue: VecDeque::from([Want::Range(author, from)]),
                        ..Session::default()
                    },
                );
            }
        }
        self.pump(peer, coop)
    }

    /// The peer's digest equals ours: its copy of every chain is ours.
    pub fn heads_equal(&mut self, peer: P, coop: Id) -> Vec<Output<P>> {
        if let Some(s) = self.map.get_mut(&(peer, coop)) {
            s.own_remote = Some(0);
        }
        self.answered(peer, coop)
    }

    /// The peer's summary differs from this node's `local` one: plan the ranges to
    /// fetch, then the forks' branches that differ ([`sync::plan_branches`]); or the whole
    /// log in order when more than [`sync::CATCH_UP_THRESHOLD`] entries are missing (the
    /// log holds the branches too; the next session compares again). `me` is this node's member key, whose head the answer may
    /// confirm.
    pub fn heads_differ(
        &mut self,
        peer: P,
        coop: Id,
        local: &Summary,
        remote: &Summary,
        me: Option<PublicKey>,
    ) -> Vec<Output<P>> {
        if let Some(s) = self.map.get_mut(&(peer, coop)) {
            s.own_remote = me.and_then(|me| sync::head_seq(&remote.heads, &me));
            // A frozen author whose branches both hold alike may end its chain otherwise
            // on each side: its head asks for nothing.
            let wanted = sync::unsettled_heads(local, remote);
            let missing = sync::missing(&local.heads, &wanted);
            if missing > sync::CATCH_UP_THRESHOLD {
                // Far behind: the peer's whole log, in causal order, from the start.
                let total = remote
                    .heads
                    .iter()
                    .map(|h| h.seq)
                    .fold(0u64, u64::saturating_add);
                s.log = Some(0);
                s.log_end = total.saturating_add(sync::LOG_SLACK);
            } else {
                s.queue.extend(
                    sync::plan(&local.heads, &wanted)
                        .into_iter()
                        .map(|(a, from)| Want::Range(a, from)),
                );
                s.queue.extend(
                    sync::plan_branches(&local.branches, &remote.branches)
                        .into_iter()
                        .map(|a| Want::Branches(a, 0)),
                );
            }
        }
        self.answered(peer, coop)
    }

    /// The entries of an answer were ingested as `batch`: [`Sessions::range`],
    /// [`Sessions::log`] or [`Sessions::branches`], as `then` says.
    pub fn ingested(&mut self, peer: P, coop: Id, then: Then, batch: Ingested) -> Vec<Output<P>> {
        match then {
            Then::Range { more } => self.range(peer, coop, batch, more),
            Then::Log(answer) => self.log(peer, coop, answer, batch),
            Then::Branches(author, answer) => self.branches(peer, coop, author, answer, batch),
        }
    }

    /// A range answer was ingested as `batch`; `more`: the peer has more of that chain.
    /// A chain is followed only while its batches arrive whole.
    pub fn range(&mut self, peer: P, coop: Id, batch: Ingested, more: bool) -> Vec<Output<P>> {
        if let Some(s) = self.map.get_mut(&(peer, coop)) {
            s.stored += batch.stored;
            if more && batch.complete {
                if let Some((a, from)) = batch.next {
                    s.queue.push_front(Want::Range(a, from));
                }
            }
        }
        self.answered(peer, coop)
    }

    /// A log answer ingested as `batch`. The log is followed only while batches arrive
    /// whole, non-empty, at the position they should, and within the session's bound.
    pub fn log(&mut self, peer: P, coop: Id, answer: LogAnswer, batch: Ingested) -> Vec<Output<P>> {
        let LogAnswer {
            from,
            count,
            next,
            more,
        } = answer;
        let expected = from.saturating_add(count as u64);
        if let Some(s) = self.map.get_mut(&(peer, coop)) {
            s.stored += batch.stored;
            if more && batch.complete && count > 0 && next == expected && next < s.log_end {
                s.log = Some(next);
            }
        }
        self.answered(peer, coop)
    }

    /// An answer to a [`Request::Branches`] for `author`, ingested as `batch`. The list is
    /// followed like the log: while batches arrive whole, non-empty, at the position they
    /// should, and below [`sync::MAX_BRANCH_ENTRIES`].
    pub fn branches(
        &mut self,
        peer: P,
        coop: Id,
        author: PublicKey,
        answer: LogAnswer,
        batch: Ingested,
    ) -> Vec<Output<P>> {
        let LogAnswer {
            from,
            count,
            next,
            more,
        } = answer;
        let expected = from.saturating_add(count as u64);
        if let Some(s) = self.map.get_mut(&(peer, coop)) {
            s.stored += batch.stored;
            if more
                && batch.complete
                && count > 0
                && next == expected
                && next < u64::from(sync::MAX_BRANCH_ENTRIES)
            {
                s.queue.push_front(Want::Branches(author, next));
            }
        }
        self.answered(peer, coop)
    }

    /// One request of the session was answered with nothing usable (unknown
    /// cooperative, unavailable, or the wrong kind of answer): send more, or end.
    pub fn answered(&mut self, peer: P, coop: Id) -> Vec<Output<P>> {
        let Some(s) = self.map.get_mut(&(peer, coop)) else {
            return Vec::new();
        };
        s.in_flight = s.in_flight.saturating_sub(1);
        self.pump(peer, coop)
    }

    /// A request of the session failed (timeout, closed stream, protocol refused): the
    /// session ends at once; the next round starts another.
    pub fn failed(&mut self, peer: P, coop: Id) -> Vec<Output<P>> {
        self.end(peer, coop).into_iter().collect()
    }

    /// `peer` is gone: its sessions are dropped without ending (nothing can confirm).
    pub fn disconnected(&mut self, peer: P) {
        self.map.retain(|(p, _), _| *p != peer);
    }

    /// Sends a session's queued requests, up to [`sync::MAX_RANGES_IN_FLIGHT`] (a wanted
    /// log request first); ends the session when nothing is queued or out.
    fn pump(&mut self, peer: P, coop: Id) -> Vec<Output<P>> {
        let Some(s) = self.map.get_mut(&(peer, coop)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if s.in_flight < sync::MAX_RANGES_IN_FLIGHT {
            if let Some(from) = s.log.take() {
                s.in_flight += 1;
                out.push(Output::Send {
                    peer,
                    request: Request::Log {
                        coop,
                        from,
                        limit: sync::SYNC_BATCH,
                    },
                    tag: Outgoing::Log { coop, from },
                });
            }
        }
        while s.in_flight < sync::MAX_RANGES_IN_FLIGHT {
            // A fork's branches are asked alone, once all sent before is answered: their
            // entries fork from chain entries the ranges bring, and a node that took a
            // branch's entry first would hold the fork the other way round.
            if matches!(s.queue.front(), Some(Want::Branches(..))) && s.in_flight > 0 {
                break;
            }
            let Some(want) = s.queue.pop_front() else {
                break;
            };
            s.in_flight += 1;
            out.push(match want {
                Want::Range(author, from) => Output::Send {
                    peer,
                    request: Request::Range {
                        coop,
                        author,
                        from,
                        limit: sync::SYNC_BATCH,
                    },
                    tag: Outgoing::Range { coop },
                },
                Want::Branches(author, from) => Output::Send {
                    peer,
                    request: Request::Branches {
                        coop,
                        author,
                        from,
                        limit: sync::SYNC_BATCH,
                    },
                    tag: Outgoing::Branches { coop, author, from },
                },
            });
        }
        if s.in_flight == 0 {
            out.extend(self.end(peer, coop));
        }
        out
    }

    fn end(&mut self, peer: P, coop: Id) -> Option<Output<P>> {
        let s = self.map.remove(&(peer, coop))?;
        Some(Output::Ended {
            peer,
            coop,
            stored: s.stored,
            own_remote: s.own_remote,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{WireBranches, WireHead};

    /// A summary of these heads, no fork.
    fn sum(heads: &[WireHead]) -> Summary {
        Summary {
            heads: heads.to_vec(),
            branches: Vec::new(),
        }
    }

    fn key(n: u8) -> PublicKey {
        PublicKey([n; 32])
    }

    fn coop() -> Id {
        Id([7; 32])
    }

    fn head(author: u8, seq: u64) -> WireHead {
        WireHead {
            author: key(author),
            seq,
            id: Id([author; 32]),
        }
    }

    fn sends(out: &[Output<u32>]) -> Vec<&Request> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send { request, .. } => Some(request),
                Output::Ended { .. } => None,
            })
            .collect()
    }

    /// A whole log answer of `count` envelopes from `from`, with more to come.
    fn answer(from: u64, count: usize) -> LogAnswer {
        LogAnswer {
            from,
            count,
            next: from + count as u64,
            more: true,
        }
    }

    fn ended(out: &[Output<u32>]) -> Option<(usize, Option<u64>)> {
        out.iter().find_map(|o| match o {
            Output::Ended {
                stored, own_remote, ..
            } => Some((*stored, *own_remote)),
            Output::Send { .. } => None,
        })
    }

    #[test]
    fn a_session_asks_for_heads_with_the_digest_of_ours() {
        let mut s = Sessions::new();
        let local = sum(&[head(1, 3)]);
        let out = s.start(9u32, coop(), &local);
        assert_eq!(
            out,
            vec![Output::Send {
                peer: 9,
                request: Request::Heads {
                    coop: coop(),
                    digest: sync::digest(&local)
                },
                tag: Outgoing::Heads { coop: coop() },
            }]
        );
        assert!(
            s.start(9, coop(), &local).is_empty(),
            "one session per peer"
        );
    }

    #[test]
    fn equal_digests_end_the_session_confirming_at_once() {
        let mut s = Sessions::new();
        s.start(1u32, coop(), &sum(&[]));
        let out = s.heads_equal(1, coop());
        assert_eq!(ended(&out), Some((0, Some(0))));
        assert!(s.is_empty());
    }

    #[test]
    fn differing_heads_fetch_every_chain_ahead_a_few_at_a_time() {
        let mut s = Sessions::new();
        s.start(1u32, coop(), &sum(&[]));
        let remote: Vec<_> = (1..=6).map(|a| head(a, 2)).collect();
        let out = s.heads_differ(1, coop(), &sum(&[]), &sum(&remote), Some(key(2)));
        let asked = sends(&out);
        assert_eq!(asked.len(), sync::MAX_RANGES_IN_FLIGHT, "bounded in flight");
        assert!(asked
            .iter()
            .all(|r| matches!(r, Request::Range { from: 1, .. })));
        // Each answer lets one more out, until all six chains are asked; then it ends.
        let mut total = asked.len();
        let mut end = None;
        for _ in 0..6 {
            let out = s.range(1, coop(), Ingested::default(), false);
            total += sends(&out).len();
            end = end.or(ended(&out));
        }
        assert_eq!(total, 6);
        assert_eq!(
            end,
            Some((0, Some(2))),
            "the member's head as the peer holds it"
        );
    }

    #[test]
    fn a_chain_is_followed_while_its_batches_arrive_whole() {
        let mut s = Sessions::new();
        s.start(1u32, coop(), &sum(&[]));
        s.heads_differ(1, coop(), &sum(&[]), &sum(&[head(1, 900)]), None);
        let next = Some((key(1), 513));
        let whole = Ingested {
            stored: 512,
            complete: true,
            next,
        };
        let out = s.range(1, coop(), whole, true);
        assert!(matches!(
            sends(&out)[..],
            [Request::Range { from: 513, .. }]
        ));
        // A batch cut short (a bad entry) is not followed: the session ends.
        let cut = Ingested {
            complete: false,
            ..whole
        };
        let out = s.range(1, coop(), cut, true);
        assert!(sends(&out).is_empty());
        assert_eq!(ended(&out), Some((1024, None)));
    }

    #[test]
    fn far_behind_a_session_reads_the_log_in_order_within_its_bound() {
        let mut s = Sessions::new();
        s.start(1u32, coop(), &sum(&[]));
        let remote = [head(1, 2000)];
        let out = s.heads_differ(1, coop(), &sum(&[]), &sum(&remote), None);
        assert!(matches!(sends(&out)[..], [Request::Log { from: 0, .. }]));
        let batch = Ingested {
            stored: 512,
            complete: true,
            next: None,
        };
        let out = s.log(1, coop(), answer(0, 512), batch);
        assert!(matches!(sends(&out)[..], [Request::Log { from: 512, .. }]));
        // A peer announcing a position that does not follow is not followed.
        let out = s.log(
            1,
            coop(),
            LogAnswer {
                next: 4000,
                ..answer(512, 512)
            },
            batch,
        );
        assert_eq!(ended(&out), Some((1024, None)));
        // Past the bound (remote total + slack), no more is asked.
        let mut s = Sessions::new();
        s.start(1u32, coop(), &sum(&[]));
        s.heads_differ(1, coop(), &sum(&[]), &sum(&remote), None);
        let end = 2000 + sync::LOG_SLACK;
        let out = s.log(1, coop(), answer(end - 512, 512), batch);
        assert!(sends(&out).is_empty());
    }

    #[test]
    fn a_fetch_joins_the_running_session_once_per_author() {
        let mut s = Sessions::new();
        let out = s.fetch(1u32, coop(), key(1), 4);
        assert!(matches!(sends(&out)[..], [Request::Range { from: 4, .. }]));
        assert!(
            s.start(1, coop(), &sum(&[])).is_empty(),
            "the fetch started the session"
        );
        for a in 2..=4 {
            assert_eq!(sends(&s.fetch(1, coop(), key(a), 1)).len(), 1);
        }
        // Four out now: a fifth author waits in the queue, and a repeat is not queued.
        assert!(s.fetch(1, coop(), key(5), 1).is_empty());
        assert!(s.fetch(1, coop(), key(5), 1).is_empty());
        let out = s.answered(1, coop());
        assert!(matches!(sends(&out)[..], [Request::Range { .. }]));
        let out = s.answered(1, coop());
        assert!(
            out.is_empty(),
            "the repeat was not queued, three are still out"
        );
    }

    #[test]
    fn sessions_are_bounded_and_a_failure_ends_one_at_once() {
        let mut s = Sessions::new();
        for p in 0..sync::MAX_SESSIONS as u32 {
            assert_eq!(s.start(p, coop(), &sum(&[])).len(), 1);
        }
        assert!(s.start(999, coop(), &sum(&[])).is_empty());
        assert!(s.fetch(999, coop(), key(1), 1).is_empty());
        assert_eq!(ended(&s.failed(0, coop())), Some((0, None)));
        assert!(s.failed(0, coop()).is_empty(), "ended once");
        s.disconnected(1);
        assert_eq!(s.len(), sync::MAX_SESSIONS - 2);
        assert!(
            s.answered(1, coop()).is_empty(),
            "a dropped session says nothing"
        );
    }

    fn branches(author: u8, count: u32) -> WireBranches {
        WireBranches {
            author: key(author),
            count,
            digest: taawun_core::Hash([count as u8; 32]),
            last_seq: u64::from(count),
            last_id: Id([count as u8; 32]),
        }
    }

    #[test]
    fn an_answer_is_read_as_what_was_asked_and_nothing_else() {
        let env = || vec![ByteBuf::from(vec![1u8, 2, 3]), ByteBuf::from(vec![4u8])];
        let log = Outgoing::Log {
            coop: coop(),
            from: 10,
        };
        let read = Reply::of(
            log,
            Response::Log {
                entries: env(),
                next: 12,
                more: true,
            },
        );
        assert!(
            matches!(&read, Reply::Entries { entries, then: Then::Log(a) } if entries.len() == 2 && *a == answer(10, 2)),
            "{read:?}"
        );
        let branches = Outgoing::Branches {
            coop: coop(),
            author: key(3),
            from: 5,
        };
        let read = Reply::of(
            branches,
            Response::Branches {
                entries: env(),
                next: 7,
                more: false,
            },
        );
        let listed = LogAnswer {
            more: false,
            ..answer(5, 2)
        };
        assert!(
            matches!(read, Reply::Entries { then: Then::Branches(a, l), .. } if a == key(3) && l == listed)
        );
        let range = Outgoing::Range { coop: coop() };
        let read = Reply::of(
            range,
            Response::Range {
                entries: env(),
                more: true,
            },
        );
        assert!(matches!(
            read,
            Reply::Entries {
                then: Then::Range { more: true },
                ..
            }
        ));
        let heads = Outgoing::Heads { coop: coop() };
        assert!(matches!(
            Reply::of(heads, Response::Heads(None)),
            Reply::Equal
        ));
        assert!(matches!(
            Reply::of(heads, Response::Heads(Some(sum(&[])))),
            Reply::Differ(_)
        ));
        // Entries where heads were asked, a range where the log was, refusals: nothing.
        let wrong = Response::Range {
            entries: env(),
            more: false,
        };
        assert!(matches!(Reply::of(heads, wrong.clone()), Reply::Nothing));
        assert!(matches!(Reply::of(log, wrong), Reply::Nothing));
        assert!(matches!(
            Reply::of(range, Response::Unavailable),
            Reply::Nothing
        ));
        assert!(matches!(
            Reply::of(branches, Response::UnknownCoop),
            Reply::Nothing
        ));
    }

    #[test]
    fn a_fork_both_hold_alike_asks_for_nothing_whatever_the_heads() {
        let mut s = Sessions::new();
        // Author 2's chain ends at 5 here and at 900 there (each kept the other branch on
        // its chain), but the branches are the same: no range, no log, nothing missing.
        let local = Summary {
            heads: vec![head(1, 3), head(2, 5)],
            branches: vec![branches(2, 3)],
        };
        let remote = Summary {
            heads: vec![head(1, 4), head(2, 900)],
            branches: vec![branches(2, 3)],
        };
        s.start(1u32, coop(), &local);
        let out = s.heads_differ(1, coop(), &local, &remote, None);
        assert_eq!(
            sends(&out),
            vec![&Request::Range {
                coop: coop(),
                author: key(1),
                from: 4,
                limit: sync::SYNC_BATCH
            }]
        );
    }

    #[test]
    fn differing_branches_are_fetched_after_the_ranges_and_followed() {
        let mut s = Sessions::new();
        let local = Summary {
            heads: vec![head(1, 3), head(2, 3)],
            branches: vec![branches(2, 1)],
        };
        s.start(1u32, coop(), &local);
        // The same heads; author 2's branches differ, author 3's is new, author 1's equal.
        let remote = Summary {
            heads: vec![head(1, 3), head(2, 3), head(3, 1)],
            branches: vec![branches(1, 0), branches(2, 2), branches(3, 1)],
        };
        let out = s.heads_differ(1, coop(), &local, &remote, None);
        // The range first, alone: a branch forks from the chain it brings.
        let asked = sends(&out);
        assert!(
            matches!(asked[..], [Request::Range { from: 1, .. }]),
            "{asked:?}"
        );
        let whole = Ingested {
            stored: 2,
            complete: true,
            next: None,
        };
        let out = s.range(1, coop(), whole, false);
        assert_eq!(
            sends(&out),
            vec![&Request::Branches {
                coop: coop(),
                author: key(2),
                from: 0,
                limit: sync::SYNC_BATCH
            }],
            "then one fork's branches at a time"
        );
        // A whole answer with more is followed from where it ends, below the bound.
        let out = s.branches(1, coop(), key(2), answer(0, 512), whole);
        assert!(matches!(
            sends(&out)[..],
            [Request::Branches { from: 512, .. }]
        ));
        let out = s.branches(
            1,
            coop(),
            key(2),
            answer(u64::from(sync::MAX_BRANCH_ENTRIES) - 512, 512),
            whole,
        );
        assert!(
            matches!(sends(&out)[..], [Request::Branches { author, from: 0, .. }] if *author == key(3)),
            "nothing past the bound; the next fork's branches"
        );
        // The peer's whole list in one answer: nothing more to ask.
        let last = LogAnswer {
            more: false,
            ..answer(0, 1)
        };
        let out = s.branches(1, coop(), key(3), last, whole);
        assert_eq!(ended(&out), Some((8, None)));
    }

    /// A fork's branches wait while anything of the session is out; a range wanted
    /// meanwhile (a gossiped entry's missing predecessor) goes before them.
    #[test]
    fn branches_wait_for_what_is_out_before_them() {
        let mut s = Sessions::new();
        let local = Summary {
            heads: vec![head(1, 3)],
            branches: Vec::new(),
        };
        s.start(1u32, coop(), &local);
        let remote = Summary {
            heads: vec![head(1, 5)],
            branches: vec![branches(1, 1)],
        };
        let out = s.heads_differ(1, coop(), &local, &remote, None);
        assert!(matches!(sends(&out)[..], [Request::Range { from: 4, .. }]));
        // Another chain wanted meanwhile goes out at once, the branches still wait.
        let out = s.fetch(1, coop(), key(2), 1);
        assert!(matches!(sends(&out)[..], [Request::Range { author, .. }] if *author == key(2)));
        let out = s.range(1, coop(), Ingested::default(), false);
        assert!(sends(&out).is_empty(), "one range still out");
        let out = s.range(1, coop(), Ingested::default(), false);
        assert!(matches!(sends(&out)[..], [Request::Branches { author, .. }] if *author == key(1)));
    }

    #[test]
    fn far_behind_the_log_brings_the_branches() {
        let mut s = Sessions::new();
        s.start(1u32, coop(), &sum(&[]));
        let remote = Summary {
            heads: vec![head(1, 2000)],
            branches: vec![branches(1, 3)],
        };
        let out = s.heads_differ(1, coop(), &sum(&[]), &remote, None);
        assert!(matches!(sends(&out)[..], [Request::Log { from: 0, .. }]));
    }
}
