//! One cooperative's ledger: its tree, the pending buffer, local writes and sync reads.

use crate::error::{AppendError, LedgerError};
use crate::layout::{self, k1, k2};
use crate::outcome::{release, settle, Ingest, Judge, Step};
use crate::pending::Pending;
use crate::view::{trusted, Overlay, PathCache, Recent, View};
use crate::Lease;
use ed25519_dalek::SigningKey;
use std::collections::BTreeMap;
use taawun_core::body::{Body, Evidence};
use taawun_core::entry::Unverified;
use taawun_core::fold::Coop;
use taawun_core::validate::{Head, Outcome};
use taawun_core::writer::Writer;
use taawun_core::{check, Id, PublicKey, Timestamp, Verified};

/// Most entries [`CoopLedger::range`] returns at once, whatever the caller asks: with
/// entries of a few hundred bytes a sync response stays under half a megabyte.
pub const MAX_RANGE: usize = 1024;

/// The ledger of one cooperative: verified entries in one sled tree.
///
/// Only one handle per cooperative exists at a time in a process ([`crate::Ledger::coop`]
/// refuses a second), because the handle keeps the log counter, the frozen authors and
/// the pending buffer in memory: one owner writes a tree.
///
/// Writes: each call that stores is one atomic [`sled::Batch`] (the entry with its
/// indexes, plus any buffered entries it released), so after a crash an entry is in the
/// store whole or not at all. sled's cost per batch is about that of storing an entry, so
/// [`CoopLedger::ingest_many`] (and import) group up to [`crate::import::COMMIT_EVERY`]
/// entries per batch.
///
/// Durability: [`CoopLedger::append`] and [`crate::Ledger::found`] flush before they
/// return (a local write is durable once reported written). [`CoopLedger::ingest`] does
/// not: sled writes its log to disk in the background (every 500 ms by default), and an
/// entry from another node lost in a crash is fetched again by sync.
#[derive(Debug)]
pub struct CoopLedger {
    id: Id,
    tree: sled::Tree,
    /// The charter, decoded once: every check reads it.
    charter: Verified,
    /// Frozen authors and the lowest seq of their fork; few, and read on every check.
    frozen: BTreeMap<PublicKey, u64>,
    /// Entries stored; also the next log number.
    len: u64,
    /// The deepest enactment known and its path length: the default governance of local
    /// writes.
    tip: Option<(Id, u64)>,
    paths: PathCache,
    /// Entries stored lately, decoded: most dependencies are among them.
    recent: Recent,
    pending: Pending,
    overlay: Overlay,
    _lease: Lease,
}

impl CoopLedger {
    /// Opens the tree of a cooperative whose charter is `charter` (stored or about to be).
    pub(crate) fn load(
        tree: sled::Tree,
        charter: Verified,
        lease: Lease,
    ) -> Result<Self, LedgerError> {
        let mut frozen = BTreeMap::new();
        for kv in tree.scan_prefix([layout::FROZEN]) {
            let (k, v) = kv?;
            let author = PublicKey(layout::bytes32(&k, 1, "frozen author")?);
            frozen.insert(author, layout::u64_at(&v, 0, "frozen seq")?);
        }
        let len = match tree.scan_prefix([layout::LOG]).next_back() {
            Some(kv) => {
                let (k, v) = kv?;
                let block = layout::u64_at(&k, 1, "log key")?;
                let n = layout::ids(&v, "log block")?.len() as u64;
                block
                    .checked_mul(layout::BLOCK)
                    .and_then(|x| x.checked_add(n))
                    .ok_or_else(|| LedgerError::Corrupt("log key".into()))?
            }
            None => 0,
        };
        let tip = match tree.get(layout::TIP_KEY)? {
            Some(v) => Some((
                Id(layout::bytes32(&v, 0, "governance tip")?),
                layout::u64_at(&v, 32, "governance tip")?,
            )),
            None => None,
        };
        Ok(Self {
            id: charter.id(),
            tree,
            charter,
            frozen,
            len,
            tip,
            paths: PathCache::default(),
            recent: Recent::default(),
            pending: Pending::default(),
            overlay: Overlay::default(),
            _lease: lease,
        })
    }

    /// The cooperative's id (its charter's id).
    pub fn id(&self) -> Id {
        self.id
    }

    /// The charter.
    pub fn charter(&self) -> &Verified {
        &self.charter
    }

    /// Entries stored.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing is stored (never true once founded: the charter is stored).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries waiting in the pending buffer.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Whether an entry waits in the pending buffer.
    pub fn is_pending(&self, id: &Id) -> bool {
        self.pending.contains(id)
    }

    /// Authors caught equivocating, with the lowest seq of their fork.
    pub fn frozen(&self) -> &BTreeMap<PublicKey, u64> {
        &self.frozen
    }

    /// Validates an entry from anywhere and stores it if valid and new (see [`Ingest`]).
    /// `now` is this node's clock for the future-timestamp rule (`None` skips it). Does
    /// not flush (see the type's documentation).
    pub fn ingest(&mut self, v: Verified, now: Option<Timestamp>) -> Result<Ingest, LedgerError> {
        match settle(self, v, now) {
            Ok(out) => {
                self.commit()?;
                Ok(out)
            }
            Err(e) => {
                self.discard();
                Err(e)
            }
        }
    }

    /// Ingests many entries with one sled batch per [`crate::import::COMMIT_EVERY`]
    /// entries instead of one per entry: the throughput path, for sync responses and for
    /// a node draining its gossip inbox (sled's cost per batch is about that of storing
    /// the entry itself). Outcomes are in the order of `entries`, as [`Self::ingest`]
    /// would give one by one.
    pub fn ingest_many(
        &mut self,
        entries: impl IntoIterator<Item = Verified>,
        now: Option<Timestamp>,
    ) -> Result<Vec<Ingest>, LedgerError> {
        let mut out = Vec::new();
        for v in entries {
            if self.overlay.staged >= crate::import::COMMIT_EVERY as u64 {
                self.commit()?;
            }
            match settle(self, v, now) {
                Ok(x) => out.push(x),
                Err(e) => {
                    self.discard();
                    return Err(e);
                }
            }
        }
        self.commit()?;
        Ok(out)
    }

    /// Writes the next entry of `key`'s chain: `body` at time `now`, naming governance
    /// `gov`, validated like any entry, stored and flushed to disk before returning.
    ///
    /// With `gov` `None`, the entry names the deepest enactment this ledger knows when its
    /// path includes the governance the author named last (an author cannot unlearn an
    /// amendment), else the author's previous governance. So a member admitted by an
    /// amendment writes under the rules that admitted it.
    pub fn append(
        &mut self,
        key: &SigningKey,
        body: Body,
        now: Timestamp,
        gov: Option<Id>,
    ) -> Result<Verified, AppendError> {
        let author = PublicKey(key.verifying_key().to_bytes());
        let head = self.head(&author)?;
        let gov = match gov {
            Some(g) => Some(g),
            None => self.default_gov(head)?,
        };
        let v = Writer::new(key.clone(), Some(self.id), head).next(body, now, gov);
        let out = match self.judge(v.clone(), Some(now)) {
            Ok(Step::Stored(id)) => release(self, id, author, v.entry().seq, Some(now)),
            Ok(Step::Rejected(_, invalid)) => return Err(AppendError::Invalid(invalid)),
            Ok(Step::Pending(_, missing)) => return Err(AppendError::Pending(missing)),
            Ok(Step::Duplicate | Step::Fork { .. }) => Err(LedgerError::Corrupt(format!(
                "the head of {} does not match its chain",
                author.short()
            ))),
            Err(e) => Err(e),
        };
        if let Err(e) = out {
            self.discard();
            return Err(e.into());
        }
        self.commit()?;
        self.flush()?;
        Ok(v)
    }

    /// The governance a local write names by default: see [`CoopLedger::append`].
    fn default_gov(&mut self, head: Option<Head>) -> Result<Option<Id>, LedgerError> {
        let prev = head.and_then(|h| h.gov);
        let Some((tip, _)) = self.tip else {
            return Ok(prev);
        };
        if prev.is_none() || prev == Some(tip) {
            return Ok(Some(tip));
        }
        self.ensure_path(Some(tip))?;
        let extends = self
            .paths
            .get(&tip)
            .is_some_and(|p| p.iter().any(|e| Some(e.id) == prev));
        Ok(if extends { Some(tip) } else { prev })
    }

    /// Writes everything to disk.
    pub fn flush(&self) -> Result<(), LedgerError> {
        self.tree.flush()?;
        Ok(())
    }

    /// The head of an author's chain.
    pub fn head(&self, author: &PublicKey) -> Result<Option<Head>, LedgerError> {
        self.tree
            .get(k1(layout::HEAD, author.as_bytes()))?
            .map(|b| layout::decode_head(&b))
            .transpose()
    }

    /// Every chain head, by author: what a node offers a peer to compare in sync.
    pub fn heads(&self) -> Result<Vec<(PublicKey, Head)>, LedgerError> {
        self.tree
            .scan_prefix([layout::HEAD])
            .map(|kv| {
                let (k, v) = kv?;
                Ok((
                    PublicKey(layout::bytes32(&k, 1, "head key")?),
                    layout::decode_head(&v)?,
                ))
            })
            .collect()
    }

    /// An author's entries from `from_seq` on, in chain order, at most `limit` (and at most
    /// [`MAX_RANGE`]).
    pub fn range(
        &self,
        author: &PublicKey,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<Verified>, LedgerError> {
        let limit = limit.min(MAX_RANGE);
        let from_seq = from_seq.max(1);
        let (start, skip) = layout::chain(author, from_seq);
        let end = layout::chain_block(author, u64::MAX);
        let mut out = Vec::new();
        for (i, kv) in self.tree.range(start..=end).enumerate() {
            let ids = layout::ids(&kv?.1, "chain block")?;
            let skip = if i == 0 { skip } else { 0 };
            for id in ids.into_iter().skip(skip) {
                if out.len() >= limit {
                    return Ok(out);
                }
                out.push(self.get(&id)?.ok_or_else(|| {
                    LedgerError::Corrupt(format!("chain names {id}, not stored"))
                })?);
            }
        }
        Ok(out)
    }

    /// A stored entry.
    pub fn get(&self, id: &Id) -> Result<Option<Verified>, LedgerError> {
        self.envelope(id)?.map(|b| trusted(&b)).transpose()
    }

    /// A stored entry's envelope, as stored (to relay without decoding).
    pub fn envelope(&self, id: &Id) -> Result<Option<sled::IVec>, LedgerError> {
        Ok(self.tree.get(k1(layout::ENTRY, id.as_bytes()))?)
    }

    /// Whether an entry is stored.
    pub fn contains(&self, id: &Id) -> Result<bool, LedgerError> {
        Ok(self.tree.contains_key(k1(layout::ENTRY, id.as_bytes()))?)
    }

    /// Ids of the entries naming `offer` (claims, assignment, submissions, withdrawal),
    /// in id order. The offer itself is not among them.
    pub fn by_offer(&self, offer: &Id) -> Result<Vec<Id>, LedgerError> {
        let o = offer.as_bytes();
        let mut out = Vec::new();
        for prefix in [layout::CLAIM, layout::SUBMIT] {
            for kv in self.tree.scan_prefix(k1(prefix, o)) {
                out.push(layout::id(&kv?.1, "offer index")?);
            }
        }
        for prefix in [layout::ASSIGN, layout::WITHDRAW] {
            if let Some(v) = self.tree.get(k1(prefix, o))? {
                out.push(layout::id(&v, "offer index")?);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Stored entry ids in insertion order: a causal order (each entry comes after its
    /// chain predecessor and everything it names).
    pub fn log_ids(&self) -> impl Iterator<Item = Result<Id, LedgerError>> + '_ {
        self.tree
            .scan_prefix([layout::LOG])
            .flat_map(|kv| -> Vec<Result<Id, LedgerError>> {
                match kv
                    .map_err(LedgerError::from)
                    .and_then(|(_, v)| layout::ids(&v, "log block"))
                {
                    Ok(ids) => ids.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e)],
                }
            })
    }

    /// Stored entries in insertion order (see [`CoopLedger::log_ids`]).
    pub fn iter_log(&self) -> impl Iterator<Item = Result<Verified, LedgerError>> + '_ {
        self.log_envelopes().map(|r| r.and_then(|b| trusted(&b)))
    }

    /// Stored envelopes in insertion order, as stored.
    pub(crate) fn log_envelopes(
        &self,
    ) -> impl Iterator<Item = Result<sled::IVec, LedgerError>> + '_ {
        self.log_ids().map(|id| {
            let id = id?;
            self.envelope(&id)?
                .ok_or_else(|| LedgerError::Corrupt(format!("log names {id}, not stored")))
        })
    }

    /// Evidence of every equivocation seen: both envelopes.
    pub fn evidence(&self) -> Result<Vec<Evidence>, LedgerError> {
        self.tree
            .scan_prefix([layout::EVIDENCE])
            .map(|kv| {
                let (_, v) = kv?;
                ciborium::from_reader(&v[..])
                    .map_err(|e| LedgerError::Corrupt(format!("stored evidence: {e}")))
            })
            .collect()
    }

    /// The cooperative's state: the log replayed into an in-memory [`Coop`] (every entry
    /// decoded and held in memory, so for moderate sizes), with the frozen authors.
    pub fn state(&self) -> Result<Coop, LedgerError> {
        let mut coop = Coop::new();
        for v in self.iter_log() {
            coop.apply(v?);
        }
        for (author, seq) in &self.frozen {
            coop.freeze(*author, *seq);
        }
        Ok(coop)
    }

    fn view(&self) -> View<'_> {
        View::new(
            &self.tree,
            Some(&self.charter),
            &self.frozen,
            &self.overlay,
            &self.paths,
            Some(&self.recent),
        )
    }

    /// Walks and caches the governance path of `gov` if it is complete.
    fn ensure_path(&mut self, gov: Option<Id>) -> Result<(), LedgerError> {
        let Some(g) = gov else { return Ok(()) };
        if self.paths.get(&g).is_some() {
            return Ok(());
        }
        let view = self.view();
        let path = view.walk(gov);
        if let Some(fault) = view.into_fault() {
            return Err(fault);
        }
        if let Ok(p) = path {
            self.paths.insert(g, p);
        }
        Ok(())
    }

    /// The lowest fork seq known for `author`, staged or committed.
    fn frozen_at(&self, author: &PublicKey) -> Option<u64> {
        let a = self.overlay.frozen.get(author);
        let b = self.frozen.get(author);
        match (a, b) {
            (Some(x), Some(y)) => Some(*x.min(y)),
            (x, y) => x.or(y).copied(),
        }
    }

    /// Stages a freeze of `author` at `seq` (keeping the lowest seq, like `Coop::freeze`).
    fn stage_freeze(&mut self, author: PublicKey, seq: u64) {
        let seq = self.frozen_at(&author).map_or(seq, |s| s.min(seq));
        self.overlay.frozen.insert(author, seq);
        self.overlay.batch.insert(
            &k1(layout::FROZEN, author.as_bytes())[..],
            &seq.to_be_bytes()[..],
        );
        self.overlay.dirty = true;
    }

    fn stage_evidence(&mut self, ev: &Evidence, author: &PublicKey, seq: u64, second: &Id) {
        let mut bytes = Vec::with_capacity(ev.a.len() + ev.b.len() + 16);
        if ciborium::into_writer(ev, &mut bytes).is_ok() {
            self.overlay
                .batch
                .insert(&layout::evidence(author, seq, second)[..], bytes);
        }
    }

    /// Stages `id` into slot `slot` of the block at `key` (which must be the next free
    /// one: chains and the log only grow at their end).
    fn stage_slot(&mut self, key: &[u8], slot: usize, id: &Id) -> Result<(), LedgerError> {
        let mut block = match self.overlay.blocks.get(key) {
            Some(b) => b.clone(),
            None => self.tree.get(key)?.map(|b| b.to_vec()).unwrap_or_default(),
        };
        if block.len() != slot * 32 {
            return Err(LedgerError::Corrupt(format!(
                "a block holds {} bytes where slot {slot} is next",
                block.len()
            )));
        }
        block.extend_from_slice(id.as_bytes());
        self.overlay.batch.insert(key, block.clone());
        self.overlay.blocks.insert(key.to_vec(), block);
        Ok(())
    }

    /// Stages a valid, new entry with its indexes.
    fn stage(&mut self, v: Verified) -> Result<Id, LedgerError> {
        let id = v.id();
        let e = v.entry();
        let a = e.author;
        let head = Head {
            seq: e.seq,
            id,
            ts: e.ts,
            gov: e.gov,
        };
        let (chain_key, chain_slot) = layout::chain(&a, e.seq);
        self.stage_slot(&chain_key, chain_slot, &id)?;
        let (log_key, log_slot) = layout::log(self.len + self.overlay.staged);
        self.stage_slot(&log_key, log_slot, &id)?;
        let mut freeze = None;
        let mut tip = None;
        {
            let o = &mut self.overlay;
            let b = &mut o.batch;
            b.insert(&k1(layout::ENTRY, id.as_bytes())[..], v.envelope());
            b.insert(
                &k1(layout::HEAD, a.as_bytes())[..],
                layout::encode_head(&head),
            );
            match &e.body {
                Body::Claim(c) => {
                    b.insert(
                        &k2(layout::CLAIM, c.offer.as_bytes(), a.as_bytes())[..],
                        &id.0[..],
                    );
                    o.claims.insert((c.offer, a));
                }
                Body::Submit(s) => {
                    b.insert(
                        &k2(layout::SUBMIT, s.offer.as_bytes(), a.as_bytes())[..],
                        &id.0[..],
                    );
                    o.submits.insert((s.offer, a));
                }
                Body::Assign(x) => {
                    b.insert(&k1(layout::ASSIGN, x.offer.as_bytes())[..], &id.0[..]);
                    o.assigns.insert(x.offer);
                }
                Body::Withdraw(x) => {
                    b.insert(&k1(layout::WITHDRAW, x.offer.as_bytes())[..], &id.0[..]);
                }
                Body::Accept(x) => {
                    b.insert(&k1(layout::VERDICT, x.submission.as_bytes())[..], &id.0[..]);
                    o.verdicts.insert(x.submission);
                }
                Body::Reject(x) => {
                    b.insert(&k1(layout::VERDICT, x.submission.as_bytes())[..], &id.0[..]);
                    o.verdicts.insert(x.submission);
                }
                Body::Vote(x) => {
                    b.insert(
                        &k2(layout::VOTE, x.proposal.as_bytes(), a.as_bytes())[..],
                        &id.0[..],
                    );
                    o.votes.insert((x.proposal, a));
                }
                Body::Evidence(ev) => {
                    // As `Coop::apply`: the first envelope names who is frozen, and where.
                    if let Ok(u) = Unverified::decode(&ev.a) {
                        let second = Unverified::decode(&ev.b).map_or(id, |x| x.id());
                        freeze = Some((u.entry().author, u.entry().seq, ev.clone(), second));
                    }
                }
                Body::Enact(_) => {
                    // Checked entries have a complete path, cached by `judge`.
                    let depth = match e.gov {
                        None => 1,
                        Some(g) => self.paths.get(&g).map_or(0, |p| p.len() as u64 + 1),
                    };
                    let best = o.tip.or(self.tip).map_or(0, |t| t.1);
                    if depth > best {
                        tip = Some((id, depth));
                    }
                }
                _ => {}
            }
            o.chains.insert((a, e.seq), id);
            o.heads.insert(a, head);
            o.staged += 1;
            o.dirty = true;
        }
        if let Some((author, seq, ev, second)) = freeze {
            self.stage_freeze(author, seq);
            self.stage_evidence(&ev, &author, seq, &second);
        }
        if let Some((tip_id, depth)) = tip {
            let mut val = Vec::with_capacity(40);
            val.extend_from_slice(tip_id.as_bytes());
            val.extend_from_slice(&depth.to_be_bytes());
            self.overlay.batch.insert(layout::TIP_KEY, val);
            self.overlay.tip = Some((tip_id, depth));
        }
        self.overlay.entries.insert(id, v);
        Ok(id)
    }

    /// Stages the evidence of a fork and freezes its author.
    fn stage_fork(&mut self, existing: Id, v: &Verified) -> Result<Evidence, LedgerError> {
        let a = match self.overlay.entries.get(&existing) {
            Some(x) => x.envelope(),
            None => self
                .envelope(&existing)?
                .ok_or_else(|| LedgerError::Corrupt(format!("chain names {existing}, not stored")))?
                .to_vec(),
        };
        let evidence = Evidence { a, b: v.envelope() };
        let (author, seq) = (v.entry().author, v.entry().seq);
        self.stage_freeze(author, seq);
        self.stage_evidence(&evidence, &author, seq, &v.id());
        tracing::warn!(
            author = %author.short(),
            seq,
            existing = %existing.short(),
            second = %v.id().short(),
            "equivocation: author frozen, evidence kept"
        );
        Ok(evidence)
    }

    /// Applies the staged writes to the tree as one atomic batch.
    fn write_staged(&mut self) -> Result<(), LedgerError> {
        if !self.overlay.dirty {
            return Ok(());
        }
        let o = std::mem::take(&mut self.overlay);
        match self.tree.apply_batch(o.batch) {
            Ok(()) => {
                self.len += o.staged;
                for (a, s) in o.frozen {
                    let e = self.frozen.entry(a).or_insert(s);
                    *e = (*e).min(s);
                }
                if o.tip.is_some() {
                    self.tip = o.tip;
                }
                self.recent.extend(o.entries);
                Ok(())
            }
            Err(e) => {
                // Cached paths may lean on enactments that were never written.
                self.paths.clear();
                Err(e.into())
            }
        }
    }
}

impl Judge for CoopLedger {
    fn judge(&mut self, v: Verified, now: Option<Timestamp>) -> Result<Step, LedgerError> {
        self.ensure_path(v.entry().gov)?;
        let verdict = {
            let view = self.view();
            let verdict = check(&view, &self.id, &v, now);
            if let Some(fault) = view.into_fault() {
                return Err(fault);
            }
            verdict
        };
        Ok(match verdict {
            Err(invalid) => Step::Rejected(v.id(), invalid),
            Ok(Outcome::Fresh) => Step::Stored(self.stage(v)?),
            Ok(Outcome::Duplicate) => Step::Duplicate,
            Ok(Outcome::Pending(missing)) => Step::Pending(Box::new(v), missing),
            Ok(Outcome::Fork { existing }) => Step::Fork {
                existing,
                evidence: self.stage_fork(existing, &v)?,
            },
        })
    }

    fn pending(&mut self) -> &mut Pending {
        &mut self.pending
    }

    fn commit(&mut self) -> Result<(), LedgerError> {
        self.write_staged()
    }

    fn discard(&mut self) {
        if self.overlay.dirty {
            self.overlay = Overlay::default();
            // Cached paths may lean on enactments that were never written.
            self.paths.clear();
        }
    }
}
