//! The hostile node's acts in the simulated world. It holds stolen copies of the first
//! requester's and the first member's keys (whose owners' nodes go on writing) and,
//! at the times the seed draws, sends an offer under the floor, a backdated entry, an
//! entry from two hours ahead, junk or an altered signature, a flood of what the network
//! has (with forged results of the latest submissions), or, with forks on, a second
//! entry at a seq its stolen key already wrote, to half its peers. Every entry it signs
//! against a rule is remembered, so that the invariants can check no honest node stores
//! or forwards one.

use super::{Failure, Msg, World};
use taawun_core::body::{Body, Offer};
use taawun_core::money::Money;
use taawun_core::validate::Head;
use taawun_core::writer::Writer;
use taawun_core::Id;

impl World {
    /// One act of the hostile node, chosen by `act`.
    pub(super) fn hostile_act(&mut self, act: u64) -> Result<(), Failure> {
        let Some(h) = self.hostile else { return Ok(()) };
        if !self.nodes[h].up {
            return Ok(());
        }
        self.report.hostile_acts += 1;
        let clock = self.clock(h);
        let stolen = &self.nodes[h].stolen;
        let script = stolen[(act as usize / 7) % stolen.len()];
        let key = self.scripts[script].key.clone();
        let author = self.scripts[script].author;
        let head = self
            .ledger(h)?
            .head(&author)
            .map_err(|e| self.fail(e.to_string()))?;
        let coop = self.coop;
        let offer = |minor: u64, ts: u64| {
            Body::Offer(Offer {
                title: "Tag images".into(),
                description: "Tag each image".into(),
                purpose: "Training data".into(),
                pay: Money::new("EUR", minor),
                minutes: 60,
                assignments: 1,
                expires_at: ts + 86_400_000,
                review_window_ms: 86_400_000,
                claim_window_ms: 3_600_000,
                commit: taawun_core::lottery::commit(&taawun_core::Hash::of(&ts.to_be_bytes())),
            })
        };
        let send_all = |w: &mut World, bytes: Vec<u8>| {
            for p in w.links[h].clone() {
                w.send(h, p, Msg::Gossip(bytes.clone()));
            }
        };
        // Acts 0 to 3, the flood (4) and, when forks are on, the fork (5).
        let kinds = if self.cfg.forks { 6 } else { 5 };
        match act % kinds {
            0 => {
                // An offer paying 1 cent for an hour.
                let v = Writer::new(key, Some(coop), head).next(offer(1, clock), clock, None);
                self.invalid.insert(v.id());
                send_all(self, v.envelope());
            }
            1 => {
                // A fair offer, dated an hour before the author's previous entry.
                let Some(head) = head else { return Ok(()) };
                let back = Head {
                    ts: head.ts.saturating_sub(3_600_000),
                    ..head
                };
                let ts = back.ts;
                let v = Writer::new(key, Some(coop), Some(back)).next(offer(10_000, ts), ts, None);
                self.invalid.insert(v.id());
                send_all(self, v.envelope());
            }
            2 => {
                // A fair offer from two hours ahead.
                let ts = clock + 7_200_000;
                let v = Writer::new(key, Some(coop), head).next(offer(10_000, ts), ts, None);
                send_all(self, v.envelope());
            }
            3 => {
                // Junk, and an entry whose signature was altered.
                let len = self.rng.range(1, 300) as usize;
                let junk: Vec<u8> = (0..len).map(|_| self.rng.next_u64() as u8).collect();
                send_all(self, junk);
                let v = Writer::new(key, Some(coop), head).next(offer(10_000, clock), clock, None);
                let mut bytes = v.envelope();
                let last = bytes.len() - 1;
                bytes[last] ^= 0x55;
                self.invalid.insert(v.id());
                send_all(self, bytes);
            }
            5 => {
                // A fork: a second entry at the author's latest seq, to half its peers.
                let Some(head) = head.filter(|h| h.seq >= 2) else {
                    return Ok(());
                };
                let c = self.ledger(h)?;
                let Some(last) = c.get(&head.id).ok().flatten() else {
                    return Ok(());
                };
                let prev = last.entry().prev.and_then(|p| c.get(&p).ok().flatten());
                let Some(prev) = prev else { return Ok(()) };
                let before = Head {
                    seq: prev.entry().seq,
                    id: prev.id(),
                    ts: prev.entry().ts,
                    gov: prev.entry().gov,
                };
                let e = last.entry();
                let v = Writer::new(key, Some(coop), Some(before)).next(
                    e.body.clone(),
                    e.ts + 1,
                    e.gov,
                );
                for p in self.links[h].clone().iter().step_by(2) {
                    self.send(h, *p, Msg::Gossip(v.envelope()));
                }
            }
            _ => {
                // A flood of what the network already has, and forged results of the
                // latest submissions sent to their requesters' nodes.
                let ids: Vec<Id> = self.ledger(h)?.log_ids().filter_map(Result::ok).collect();
                for id in ids.iter().rev().take(20) {
                    if let Ok(Some(env)) = self.ledger(h)?.envelope(id) {
                        for _ in 0..3 {
                            send_all(self, env.to_vec());
                        }
                    }
                    self.forge_result(h, id)?;
                }
            }
        }
        Ok(())
    }
}
