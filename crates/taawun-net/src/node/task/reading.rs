//! The state readers ask for ([`crate::Network::state`]: the node's API and pages), kept
//! up to date without stalling the network: a refresh that must read many new entries
//! (a node that just synced a large ledger) reads and applies them on tokio's blocking
//! pool, on a copy, and the task keeps the copy when it comes back. The task's own
//! periodic readers (the jurors due, the roles admission reads) take the state held
//! meanwhile ([`Task::state_soon`]) and look again later.

use super::{Done, Task};
use crate::error::NetError;
use crate::node::command::Reply;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use taawun_core::fold::Coop;
use taawun_core::Id;
use tracing::debug;

/// New entries a refresh applies on the task itself: a few hundred cost less than the
/// hop to the blocking pool and the copy of the state.
pub(crate) const INLINE_REFRESH: u64 = 256;

/// A reader waiting for a refresh, with the log's length when it asked.
type Waiting = (u64, Reply<Arc<Coop>>);

/// A state refreshed on the blocking pool, back to the task.
pub(super) type Refreshed = (Id, Result<Arc<Coop>, NetError>);

/// The refreshes running on the blocking pool (one per cooperative at most) and the
/// readers waiting for them, each with the length of the log when it asked: it is
/// answered with a state at least that long, so a reader sees every write answered
/// before its ask.
#[derive(Debug, Default)]
pub(super) struct Refreshes {
    running: HashSet<Id>,
    waiting: HashMap<Id, Vec<Waiting>>,
}

impl Task {
    /// Answers a reader's ask for `id`'s state: at once when the state is up to date or
    /// a few entries behind; else once a refresh on the blocking pool brings it there.
    pub(super) fn read_state(&mut self, id: Id, reply: Reply<Arc<Coop>>) {
        let Some(ledger) = self.coops.get(&id) else {
            let _ = reply.send(Err(NetError::UnknownCoop(id)));
            return;
        };
        let need = ledger.len();
        let held = self.states.get(&id).map_or(0, |s| s.len() as u64);
        let running = self.refreshes.running.contains(&id);
        if !running && need.saturating_sub(held) <= INLINE_REFRESH {
            let _ = reply.send(self.state(&id));
            return;
        }
        self.refreshes
            .waiting
            .entry(id)
            .or_default()
            .push((need, reply));
        if !running {
            self.start_refresh(id);
        }
    }

    /// `id`'s state for a reader of the task's own that looks again later: up to date
    /// when it is a few entries behind, else the state held (perhaps empty) while a
    /// refresh runs on the blocking pool.
    pub(super) fn state_soon(&mut self, id: &Id) -> Result<Arc<Coop>, NetError> {
        let Some(ledger) = self.coops.get(id) else {
            return Err(NetError::UnknownCoop(*id));
        };
        let need = ledger.len();
        let held = self.states.get(id).map_or(0, |s| s.len() as u64);
        let running = self.refreshes.running.contains(id);
        if !running && need.saturating_sub(held) <= INLINE_REFRESH {
            return self.state(id);
        }
        if !running {
            self.start_refresh(*id);
        }
        Ok(Arc::clone(self.states.entry(*id).or_default()))
    }

    /// `id`'s state for a request that needs it as it is now (a result a juror's node
    /// receives, a reason's key sent to a juror): refreshed on the task when it is a few
    /// entries behind; `None` while a larger refresh runs on the blocking pool (started
    /// here), and the request is answered or tried again later, rather than gossip
    /// waiting behind a long refresh on the task.
    pub(super) fn state_now(&mut self, id: &Id) -> Option<Result<Arc<Coop>, NetError>> {
        let Some(ledger) = self.coops.get(id) else {
            return Some(Err(NetError::UnknownCoop(*id)));
        };
        let need = ledger.len();
        let held = self.states.get(id).map_or(0, |s| s.len() as u64);
        if need.saturating_sub(held) <= INLINE_REFRESH {
            return Some(self.state(id));
        }
        if !self.refreshes.running.contains(id) {
            self.start_refresh(*id);
        }
        None
    }

    /// Fixes the log's new entries and applies them on the blocking pool to a copy of the
    /// state held.
    fn start_refresh(&mut self, id: Id) {
        let state = self.states.get(&id).cloned().unwrap_or_default();
        let from = state.len() as u64;
        let tail = match self.coops.get(&id) {
            Some(ledger) => ledger.log_tail(from),
            None => return self.answer_waiting(id),
        };
        let tail = match tail {
            Ok(t) => t,
            // Answered on the task, which words the error.
            Err(_) => return self.answer_waiting(id),
        };
        debug!(coop = %id.short(), entries = tail.range().end - from, "refreshing the state off the task");
        self.refreshes.running.insert(id);
        self.jobs.spawn(move || {
            let mut copy = Coop::clone(&state);
            drop(state);
            let out = tail
                .apply(&mut copy)
                .map(|()| Arc::new(copy))
                .map_err(NetError::from);
            Done::Refreshed((id, out))
        });
    }

    /// A refresh came back: keeps the state if it is ahead of the one held, answers the
    /// readers it satisfies, and refreshes again for those it does not.
    pub(super) fn refreshed(&mut self, (id, out): Refreshed) {
        self.refreshes.running.remove(&id);
        let Ok(fresh) = out else {
            // A failing store: each reader gets the task's own attempt and its error.
            return self.answer_waiting(id);
        };
        let held = self.states.entry(id).or_default();
        let ahead = fresh.len() > held.len()
            || (fresh.len() == held.len()
                && fresh.frozen_authors().len() > held.frozen_authors().len());
        if ahead {
            *held = fresh;
        }
        let state = Arc::clone(held);
        let have = state.len() as u64;
        let mut waiting = self.refreshes.waiting.remove(&id).unwrap_or_default();
        waiting.retain(|(_, r)| !r.is_closed());
        let (ready, rest): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|(n, _)| *n <= have);
        for (_, r) in ready {
            let _ = r.send(Ok(Arc::clone(&state)));
        }
        let Some(most) = rest.iter().map(|(n, _)| *n).max() else {
            return;
        };
        self.refreshes.waiting.insert(id, rest);
        if most - have <= INLINE_REFRESH {
            self.answer_waiting(id);
        } else {
            self.start_refresh(id);
        }
    }

    /// Answers every reader waiting for `id` with the state refreshed on the task.
    fn answer_waiting(&mut self, id: Id) {
        for (_, r) in self.refreshes.waiting.remove(&id).unwrap_or_default() {
            let _ = r.send(self.state(&id));
        }
    }
}
