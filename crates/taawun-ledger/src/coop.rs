//! One cooperative's ledger: its tree, the pending buffer, local writes and sync reads.
//!
//! Remote entries are committed by groups ([`GROUP_ENTRIES`]): see [`CoopLedger`] for
//! when a group is committed and what a crash can lose.

use crate::committer::{Flushed, Store};
use crate::error::{AppendError, LedgerError};
use crate::export::header_bytes;
use crate::layout::{self, k1};
use crate::outcome::{release, settle, Ingest, Judge, Step};
use crate::pending::Pending;
use crate::reader::{self, Reader};
use crate::view::{trusted, Firsts, Overlay, PathCache, Recent, View};
use crate::Lease;
use ed25519_dalek::SigningKey;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufWriter, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use taawun_core::body::{Body, Evidence};
use taawun_core::entry::Unverified;
use taawun_core::fold::Coop;
use taawun_core::index::IndexKey;
use taawun_core::validate::{Head, Outcome};
use taawun_core::writer::Writer;
use taawun_core::{check, Context, Id, PublicKey, Timestamp, Verified};

/// Most entries [`CoopLedger::range`] returns at once, whatever the caller asks: with
/// entries of a few hundred bytes a sync response stays under half a megabyte.
pub const MAX_RANGE: usize = 1024;

/// Remote entries staged before [`CoopLedger::ingest`] commits them, as one sled batch.
///
/// sled 0.34 pays a fixed cost per batch (it pins the log and seals the batch with a write
/// to the device) of about two signature verifications, on top of its cost per key.
/// Spread over 128 entries the fixed part is about 1 % of an ingest; what remains is the
/// cost per key (about two keys per entry), which no group size reduces: groups of 512
/// and 2048 measured the same per entry (see docs/performance.md). Meanwhile sled holds a
/// batch's pages until it is sealed (the same trade-off as
/// [`crate::import::COMMIT_EVERY`], measured there), and a crash loses at most the group
/// staged, which sync fetches again.
pub const GROUP_ENTRIES: usize = 128;

/// How often the owner of a [`CoopLedger`] should call [`CoopLedger::commit`]: every
/// 250 ms. The ledger reads no clock, so a group that does not fill (gossip slower than
/// [`GROUP_ENTRIES`] per interval, 512 entries a second) is committed by this timer.
///
/// Each commit costs sled a fixed part on top of its work per key: the batch writes the
/// log's buffer out on sled's I/O threads (two writes, and the wake-ups of the threads
/// that carry them), and wakes the committing thread. At 50 ms a node relaying a steady
/// trickle of gossip paid that twenty times a second: in the propagation benchmark, 100
/// nodes spent 82 to 87 ms of CPU per message at 50 ms and 66 ms at 250 ms
/// (docs/performance.md). 250 ms is half of sled's own interval for syncing its log to
/// disk (500 ms), so what a power cut can lose is hardly more than before; a crash of the
/// process loses at most the staged group (under 250 ms of gossip), which sync fetches
/// again. Every read sees staged entries either way.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(250);

/// The ledger of one cooperative: verified entries in one sled tree.
///
/// Only one handle per cooperative exists at a time in a process ([`crate::Ledger::coop`]
/// refuses a second), because the handle keeps the log counter, the frozen authors, the
/// pending buffer and the staged group in memory: one owner writes a tree.
///
/// # Group commit
///
/// [`CoopLedger::ingest`] does not write each entry to sled at once: it stages a valid
/// entry's writes (the entry and its indexes) in memory, and commits the staged group as
/// one atomic [`sled::Batch`], handed to the committing thread ([`crate::committer`]),
/// when it holds [`GROUP_ENTRIES`] entries, when the owner
/// calls [`CoopLedger::commit`] (on a timer, every [`COMMIT_INTERVAL`]), before
/// [`CoopLedger::append`], [`CoopLedger::flush`] and every read that scans the tree
/// (ranges, the log, the index by offer, evidence, state, export), and when the handle is
/// dropped. The other reads ([`CoopLedger::head`], [`CoopLedger::heads`],
/// [`CoopLedger::get`], [`CoopLedger::envelope`], [`CoopLedger::contains`],
/// [`CoopLedger::len`], [`CoopLedger::frozen`]) read the staged group without committing
/// it. Either way every read sees every entry ingested before it: a read of the tree
/// waits for the groups handed to the committing thread.
///
/// Reads take `&self`, so the staged group sits behind a lock the scanning reads take to
/// commit it; the owner's own calls (`&mut self`) never wait on it.
///
/// # Crash safety
///
/// - An entry is in the store whole, with its indexes, or not at all: a group is one
///   sled batch, and sled recovers batches atomically.
/// - [`CoopLedger::append`] commits and flushes before it returns: a local write is
///   durable once reported written. So does [`crate::Ledger::found`].
/// - Remote entries staged but not committed are lost on a crash (as are committed ones
///   sled had not yet written: it writes its log every 500 ms), and so is the staged
///   group when the store fails (an error from `ingest` or `commit`), and the groups
///   handed to the committing thread from the one that failed on
///   ([`LedgerError::Unwritten`]). The chains stay
///   whole: what survives is a prefix of what was ingested, and sync fetches the rest
///   again.
#[derive(Debug)]
pub struct CoopLedger {
    id: Id,
    /// The tree, and where its groups are written (see [`crate::committer`]).
    store: Store,
    /// The charter, decoded once: every check reads it.
    charter: Verified,
    /// What writes change, staged group included. Behind a lock so that a read through
    /// `&self` can commit the staged group; `&mut self` methods reach it with
    /// [`Mutex::get_mut`], without locking.
    state: Mutex<State>,
    pending: Pending,
    _lease: Lease,
}

/// The committed state kept in memory, and the staged group.
#[derive(Debug)]
struct State {
    /// Frozen authors (committed) and the lowest seq of their fork; few, and read on every
    /// check.
    frozen: BTreeMap<PublicKey, u64>,
    /// Committed chain heads, by author: one per author, so all of them are kept (read on
    /// every check and served to every sync).
    heads: BTreeMap<PublicKey, Head>,
    /// The committed last block of each chain and of the log, by key, while not full:
    /// the block the next entry extends. At most one per author, plus one.
    tails: HashMap<Vec<u8>, Vec<u8>>,
    /// Entries committed; with the staged ones, the next log number.
    len: u64,
    /// The log's length just after the last entry stored that may change the roles
    /// ([`taawun_core::Kind::changes_roles`], or a fork that froze its author); 0 when
    /// none since the ledger was opened (see [`CoopLedger::roles_changed`]).
    roles_at: u64,
    /// The deepest committed enactment and its path length: the default governance of
    /// local writes.
    tip: Option<(Id, u64)>,
    paths: PathCache,
    /// Entries committed lately, decoded: most dependencies are among them.
    recent: Recent,
    /// Entries the window of recent ones let go at the last commit, dropped with the next
    /// group on the committing thread.
    spent: Vec<Verified>,
    /// What each author's first entry enrolled (see [`Firsts`]).
    firsts: Firsts,
    /// The staged group.
    overlay: Overlay,
}

/// The state, through `&mut`: no lock taken. A poisoned lock (a panic while a read held
/// it) is taken over: every write to the state completes or is discarded as a whole.
fn inner(state: &mut Mutex<State>) -> &mut State {
    state.get_mut().unwrap_or_else(PoisonError::into_inner)
}

/// The state, through `&self`.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CoopLedger {
    /// Opens the tree of a cooperative whose charter is `charter` (stored or about to be).
    pub(crate) fn load(store: Store, charter: Verified, lease: Lease) -> Result<Self, LedgerError> {
        Ok(Self {
            id: charter.id(),
            state: Mutex::new(State::read(store.tree_now())?),
            store,
            charter,
            pending: Pending::default(),
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

    /// Entries stored, staged ones included.
    pub fn len(&self) -> u64 {
        let s = lock(&self.state);
        s.len + s.overlay.staged
    }

    /// Whether nothing is stored (never true once founded: the charter is stored).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The log's length just after the last entry stored since the ledger was opened
    /// that may change who holds a role or which keys speak for whom (an entry of a kind
    /// that [`taawun_core::Kind::changes_roles`], or a fork that froze its author); 0 if
    /// none. Roles read from a state shorter than this may let a revoked key in.
    pub fn roles_changed(&self) -> u64 {
        let s = lock(&self.state);
        // A staged group discarded may have held it: never past the log.
        s.roles_at.min(s.len + s.overlay.staged)
    }

    /// Entries staged and not yet committed (see the type's documentation).
    pub fn staged(&self) -> u64 {
        lock(&self.state).overlay.staged
    }

    /// Entries waiting in the pending buffer.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Whether an entry waits in the pending buffer.
    pub fn is_pending(&self, id: &Id) -> bool {
        self.pending.contains(id)
    }

    /// Authors caught equivocating, with the lowest seq of their fork (staged freezes
    /// included).
    pub fn frozen(&self) -> BTreeMap<PublicKey, u64> {
        let s = lock(&self.state);
        let mut out = s.frozen.clone();
        for (a, seq) in &s.overlay.frozen {
            let e = out.entry(*a).or_insert(*seq);
            *e = (*e).min(*seq);
        }
        out
    }

    /// Validates an entry from anywhere and stores it if valid and new (see [`Ingest`]).
    /// `now` is this node's clock for the future-timestamp rule (`None` skips it).
    ///
    /// A stored entry is staged, and committed with its group (see the type's
    /// documentation): visible to every read at once, durable later. On an error of the
    /// store the staged group is dropped, as a crash would.
    pub fn ingest(&mut self, v: Verified, now: Option<Timestamp>) -> Result<Ingest, LedgerError> {
        // Judged against what the store really holds, the entry is not lost with the
        // failed groups.
        if let Err(e) = self.forget_unwritten() {
            tracing::error!(coop = %self.id.short(), error = %e, "groups of entries lost");
        }
        match settle(self, v, now) {
            Ok(out) => {
                if inner(&mut self.state).overlay.staged >= GROUP_ENTRIES as u64 {
                    self.commit()?;
                }
                Ok(out)
            }
            Err(e) => {
                self.discard();
                Err(e)
            }
        }
    }

    /// Ingests many entries, as [`Self::ingest`] one by one (a sync response, a gossip
    /// inbox drained at once). Outcomes are in the order of `entries`.
    pub fn ingest_many(
        &mut self,
        entries: impl IntoIterator<Item = Verified>,
        now: Option<Timestamp>,
    ) -> Result<Vec<Ingest>, LedgerError> {
        entries.into_iter().map(|v| self.ingest(v, now)).collect()
    }

    /// Commits the staged group as one atomic sled batch (nothing to do when nothing is
    /// staged), handed to the committing thread ([`crate::committer`]): this returns
    /// before sled has written it, and every later read sees it. Does not flush: sled
    /// writes its log to disk in the background. The owner calls this every
    /// [`COMMIT_INTERVAL`]. On an error the group is lost (sync fetches it again). A
    /// group that failed on the committing thread is reported by a later call (this one,
    /// a read of the tree, [`CoopLedger::flush`]) as [`LedgerError::Unwritten`], and the
    /// ledger goes on from what the store holds.
    pub fn commit(&mut self) -> Result<(), LedgerError> {
        self.forget_unwritten()?;
        inner(&mut self.state).write(&self.store)
    }

    /// [`Self::commit`] through `&self`, for reads that scan the tree: once it returns
    /// `Ok`, every group is in the tree.
    fn commit_shared(&self) -> Result<(), LedgerError> {
        let mut s = lock(&self.state);
        s.write(&self.store)?;
        recover(&mut s, &self.store)
    }

    /// If a group failed on the committing thread (checked without waiting), forgets in
    /// memory what the store does not hold and returns the failure.
    fn forget_unwritten(&mut self) -> Result<(), LedgerError> {
        if !self.store.failed() {
            return Ok(());
        }
        recover(inner(&mut self.state), &self.store)
    }

    /// Writes the next entry of `key`'s chain: `body` at time `now`, naming governance
    /// `gov`, validated like any entry, stored and flushed to disk before returning. The
    /// staged group of remote entries is committed first.
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
        let v = self.append_staged(key, body, now, gov)?;
        self.flush()?;
        Ok(v)
    }

    /// [`CoopLedger::append`] without waiting for the disk: the entry is stored and seen
    /// by every read when this returns, and `flushed` is called (on the committing
    /// thread, or before this returns when the ledger has none) once it is on disk, or
    /// with the error that kept it off. A node's network task writes so, and goes on
    /// serving its peers during the flush.
    ///
    /// The caller must not publish the entry before `flushed` reports `Ok`: a node that
    /// crashed before the flush would come back without an entry its peers hold, and its
    /// next write would fork its own chain.
    pub fn append_then(
        &mut self,
        key: &SigningKey,
        body: Body,
        now: Timestamp,
        gov: Option<Id>,
        flushed: Flushed,
    ) -> Result<Verified, AppendError> {
        let v = self.append_staged(key, body, now, gov)?;
        self.store.flush_then(flushed);
        Ok(v)
    }

    /// A local write, judged, stored and its group committed; not flushed.
    fn append_staged(
        &mut self,
        key: &SigningKey,
        body: Body,
        now: Timestamp,
        gov: Option<Id>,
    ) -> Result<Verified, AppendError> {
        self.commit()?;
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
        Ok(v)
    }

    /// The governance a local write names by default: see [`CoopLedger::append`].
    fn default_gov(&mut self, head: Option<Head>) -> Result<Option<Id>, LedgerError> {
        let prev = head.and_then(|h| h.gov);
        let s = inner(&mut self.state);
        let Some((tip, _)) = s.overlay.tip.or(s.tip) else {
            return Ok(prev);
        };
        if prev.is_none() || prev == Some(tip) {
            return Ok(Some(tip));
        }
        s.ensure_path(&self.store, &self.charter, Some(tip))?;
        let extends = s
            .paths
            .get(&tip)
            .is_some_and(|p| p.iter().any(|e| Some(e.id) == prev));
        Ok(if extends { Some(tip) } else { prev })
    }

    /// Commits the staged group and writes everything to disk.
    pub fn flush(&self) -> Result<(), LedgerError> {
        self.commit_shared()?;
        self.store.tree()?.flush()?;
        Ok(())
    }

    /// The head of an author's chain.
    pub fn head(&self, author: &PublicKey) -> Result<Option<Head>, LedgerError> {
        let s = lock(&self.state);
        Ok(s.overlay
            .heads
            .get(author)
            .or_else(|| s.heads.get(author))
            .copied())
    }

    /// Every chain head, by author: what a node offers a peer to compare in sync.
    pub fn heads(&self) -> Result<Vec<(PublicKey, Head)>, LedgerError> {
        let s = lock(&self.state);
        let mut all = s.heads.clone();
        all.extend(s.overlay.heads.iter().map(|(a, h)| (*a, *h)));
        Ok(all.into_iter().collect())
    }

    /// An author's entries from `from_seq` on, in chain order, at most `limit` (and at most
    /// [`MAX_RANGE`]). Commits the staged group first.
    pub fn range(
        &self,
        author: &PublicKey,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<Verified>, LedgerError> {
        self.commit_shared()?;
        reader::chain_ids(self.store.tree()?, author, from_seq)
            .take(limit.min(MAX_RANGE))
            .map(|id| {
                let id = id?;
                self.get(&id)?
                    .ok_or_else(|| reader::not_stored("chain", &id))
            })
            .collect()
    }

    /// A stored entry.
    pub fn get(&self, id: &Id) -> Result<Option<Verified>, LedgerError> {
        let cached = {
            let s = lock(&self.state);
            s.overlay
                .entries
                .get(id)
                .or_else(|| s.recent.get(id))
                .cloned()
        };
        if cached.is_some() {
            return Ok(cached);
        }
        self.store
            .tree()?
            .get(k1(layout::ENTRY, id.as_bytes()))?
            .map(|b| trusted(&b))
            .transpose()
    }

    /// A stored entry's envelope, as stored (to relay without decoding).
    pub fn envelope(&self, id: &Id) -> Result<Option<sled::IVec>, LedgerError> {
        let staged = lock(&self.state)
            .overlay
            .entries
            .get(id)
            .map(|v| sled::IVec::from(v.envelope()));
        if staged.is_some() {
            return Ok(staged);
        }
        Ok(self.store.tree()?.get(k1(layout::ENTRY, id.as_bytes()))?)
    }

    /// Whether an entry is stored.
    pub fn contains(&self, id: &Id) -> Result<bool, LedgerError> {
        if lock(&self.state).overlay.entries.contains_key(id) {
            return Ok(true);
        }
        Ok(self
            .store
            .tree()?
            .contains_key(k1(layout::ENTRY, id.as_bytes()))?)
    }

    /// Ids of the entries naming `offer` (claims, assignment, submissions, withdrawal),
    /// in id order. The offer itself is not among them. Commits the staged group first.
    pub fn by_offer(&self, offer: &Id) -> Result<Vec<Id>, LedgerError> {
        self.commit_shared()?;
        let o = offer.as_bytes();
        let mut out = Vec::new();
        for prefix in [layout::CLAIM, layout::SUBMIT] {
            for kv in self.store.tree()?.scan_prefix(k1(prefix, o)) {
                out.push(layout::id(&kv?.1, "offer index")?);
            }
        }
        for prefix in [layout::ASSIGN, layout::WITHDRAW] {
            if let Some(v) = self.store.tree()?.get(k1(prefix, o))? {
                out.push(layout::id(&v, "offer index")?);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Stored entry ids in insertion order: a causal order (each entry comes after its
    /// chain predecessor and everything it names). Commits the staged group first (if
    /// that fails, the only item is the error).
    pub fn log_ids(&self) -> impl Iterator<Item = Result<Id, LedgerError>> + '_ {
        self.log_ids_from(0)
    }

    /// Stored entry ids in insertion order from log position `from` on (see
    /// [`CoopLedger::log_ids`]): a read positioned at `from`'s block, so taking k ids
    /// costs O(k) whatever `from` is. Commits the staged group first (if that fails, the
    /// only item is the error).
    pub fn log_ids_from(&self, from: u64) -> impl Iterator<Item = Result<Id, LedgerError>> + '_ {
        let committed = self.commit_shared();
        let scan = committed
            .is_ok()
            .then(|| committed_log_ids(self.store.tree_now(), from));
        committed
            .err()
            .map(Err)
            .into_iter()
            .chain(scan.into_iter().flatten())
    }

    /// Stored entries in insertion order (see [`CoopLedger::log_ids`]).
    pub fn iter_log(&self) -> impl Iterator<Item = Result<Verified, LedgerError>> + '_ {
        self.log_envelopes().map(|r| r.and_then(|b| trusted(&b)))
    }

    /// Stored envelopes in insertion order, as stored (see [`CoopLedger::log_ids`]).
    pub(crate) fn log_envelopes(
        &self,
    ) -> impl Iterator<Item = Result<sled::IVec, LedgerError>> + '_ {
        let committed = self.commit_shared();
        let scan = committed
            .is_ok()
            .then(|| committed_envelopes(self.store.tree_now(), 0));
        committed
            .err()
            .map(Err)
            .into_iter()
            .chain(scan.into_iter().flatten())
    }

    /// The entries stored beside `author`'s chain (a fork's second entry, entries of a
    /// branch), as (seq, id) in that order, from position `from` of that order on (0: the
    /// first). Commits the staged group first (if that fails, the only item is the error).
    pub fn beside(
        &self,
        author: &PublicKey,
        from: usize,
    ) -> impl Iterator<Item = Result<(u64, Id), LedgerError>> + '_ {
        let committed = self.commit_shared();
        let scan = committed
            .is_ok()
            .then(|| reader::beside(self.store.tree_now(), author, from));
        committed
            .err()
            .map(Err)
            .into_iter()
            .chain(scan.into_iter().flatten())
    }

    /// The branches of a frozen author's fork: its entries from its fork seq on (the
    /// lowest, [`CoopLedger::frozen`]), on its chain and beside it, as (seq, id) in that
    /// order, the first `limit` of them (empty for an author not frozen). What sync
    /// summarises and serves of a fork: two nodes that stored the fork's entries in
    /// opposite orders hold the same branches on different chains. Reads at most `limit`
    /// ids of the chain (by block) and `limit` keys of the index. Commits the staged group
    /// first.
    pub fn branches(
        &self,
        author: &PublicKey,
        limit: usize,
    ) -> Result<Vec<(u64, Id)>, LedgerError> {
        let Some(fork) = self.frozen().get(author).copied() else {
            return Ok(Vec::new());
        };
        self.commit_shared()?;
        reader::branches(self.store.tree_now(), author, fork, limit)
    }

    /// The last of a frozen author's branches ([`CoopLedger::branches`]) in (seq, id)
    /// order, however many they are: the greater of its chain head (when at or past the
    /// fork seq) and its last entry beside the chain. `None` for an author not frozen or
    /// with no entry from its fork seq on. Commits the staged group first.
    pub fn branch_tip(&self, author: &PublicKey) -> Result<Option<(u64, Id)>, LedgerError> {
        let Some(fork) = self.frozen().get(author).copied() else {
            return Ok(None);
        };
        self.commit_shared()?;
        let head = self
            .head(author)?
            .filter(|h| h.seq >= fork)
            .map(|h| (h.seq, h.id));
        let beside = match self
            .store
            .tree()?
            .scan_prefix(k1(layout::BESIDE, author.as_bytes()))
            .next_back()
        {
            Some(kv) => {
                let (k, _) = kv?;
                let (_, seq, id) = layout::decode_beside(&k)?;
                Some((seq, id))
            }
            None => None,
        };
        Ok(head.max(beside))
    }

    /// Evidence of every equivocation seen: both envelopes. Commits the staged group
    /// first.
    pub fn evidence(&self) -> Result<Vec<Evidence>, LedgerError> {
        self.commit_shared()?;
        self.store
            .tree()?
            .scan_prefix([layout::EVIDENCE])
            .map(|kv| {
                let (_, v) = kv?;
                ciborium::from_reader(&v[..])
                    .map_err(|e| LedgerError::Corrupt(format!("stored evidence: {e}")))
            })
            .collect()
    }

    /// Writes the export file of this cooperative to `w` (buffered here; `w` need not
    /// be): the header, every entry in log order, then the second envelope of each
    /// equivocation seen that the log does not hold. Returns the number of envelopes
    /// written.
    pub fn export(&self, w: impl Write) -> Result<u64, LedgerError> {
        self.snapshot()?.write(w)
    }

    /// This cooperative's export as it stands now, to be written later, on any thread
    /// ([`Snapshot::write`]), while this handle goes on storing: the owner of a node's
    /// ledgers hands a large export to another thread instead of stalling the network on
    /// it. Commits the staged group, fixes the log's length, and reads the second
    /// envelopes of the equivocations seen that the log does not hold (few). The log only
    /// grows and its positions never change, so the snapshot writes exactly what
    /// [`CoopLedger::export`] would have written now.
    pub fn snapshot(&self) -> Result<Snapshot, LedgerError> {
        self.commit_shared()?;
        let len = lock(&self.state).len;
        let mut beside = Vec::new();
        for ev in self.evidence()? {
            // `a` is the stored entry, in the log. `b` is too when this node received it
            // (a fork's second entry is stored beside the chain and logged); known only
            // from an evidence entry, it is not, and follows the log. Its id is enough:
            // the signature was checked when the evidence was stored.
            let logged = match Unverified::decode(&ev.b) {
                Ok(u) => self.contains(&u.id())?,
                Err(_) => false,
            };
            if !logged {
                beside.push(ev.b);
            }
        }
        Ok(Snapshot {
            id: self.id,
            tree: self.store.tree_now().clone(),
            len,
            beside,
        })
    }

    /// The store as it stands now, to be read on any thread ([`Reader`]) while this handle
    /// goes on storing: what sync serves to peers. Commits the staged group and waits until
    /// every group handed over is written, so the reader sees every entry stored before.
    pub fn reader(&self) -> Result<Reader, LedgerError> {
        self.commit_shared()?;
        Ok(Reader {
            tree: self.store.tree_now().clone(),
            frozen: self.frozen(),
        })
    }

    /// The cooperative's state: the log replayed into an in-memory [`Coop`] (every entry
    /// decoded and held in memory, so for moderate sizes), with the frozen authors.
    /// Commits the staged group first.
    pub fn state(&self) -> Result<Coop, LedgerError> {
        let mut coop = Coop::new();
        self.refresh_state(&mut coop)?;
        Ok(coop)
    }

    /// Brings a state made by [`CoopLedger::state`] (or an empty one) up to date: applies
    /// the log from position `state.len()` on, then the frozen authors. A state holds
    /// exactly the first `len()` entries of the log, in log order, and the log only grows,
    /// so this costs O(new entries) and gives the state a full replay would: a node keeps
    /// one state and refreshes it rather than replaying the whole log per read. Commits
    /// the staged group first.
    pub fn refresh_state(&self, state: &mut Coop) -> Result<(), LedgerError> {
        // Entries are counted in u64 on disk; a state in memory is far below usize::MAX.
        let from = u64::try_from(state.len()).unwrap_or(u64::MAX);
        self.log_tail(from)?.apply(state)
    }

    /// The log from position `from` to its end now, with the frozen authors: what
    /// [`CoopLedger::refresh_state`] applies to a state of `from` entries, fixed here to be
    /// applied later on any thread ([`LogTail::apply`]) while this handle goes on storing.
    /// The owner of a node's ledgers refreshes the state its readers ask for so, instead
    /// of reading many new entries on the network's thread. Commits the staged group
    /// first.
    pub fn log_tail(&self, from: u64) -> Result<LogTail, LedgerError> {
        self.commit_shared()?;
        let len = lock(&self.state).len;
        Ok(LogTail {
            tree: self.store.tree_now().clone(),
            from,
            to: len.max(from),
            frozen: self.frozen(),
        })
    }
}

/// The end of a cooperative's log, fixed at one moment ([`CoopLedger::log_tail`]). It
/// reads the store (sled serves readers beside its writer) and holds it open until
/// dropped.
#[derive(Debug, Clone)]
pub struct LogTail {
    tree: sled::Tree,
    from: u64,
    to: u64,
    frozen: BTreeMap<PublicKey, u64>,
}

impl LogTail {
    /// Log positions it holds: `from..to`.
    pub fn range(&self) -> std::ops::Range<u64> {
        self.from..self.to
    }

    /// Applies the log's entries from `from` to `to` to `state`, which must hold exactly
    /// the first `from` entries of the log ([`LedgerError::Corrupt`] otherwise, and the
    /// state is left as it was), then the frozen authors. After an error of the store the
    /// state may hold part of the tail: drop it.
    pub fn apply(&self, state: &mut Coop) -> Result<(), LedgerError> {
        let held = u64::try_from(state.len()).unwrap_or(u64::MAX);
        if held != self.from {
            return Err(LedgerError::Corrupt(format!(
                "a state of {held} entries cannot take the log from position {}",
                self.from
            )));
        }
        let wanted = usize::try_from(self.to - self.from).unwrap_or(usize::MAX);
        let mut applied = 0usize;
        for envelope in committed_envelopes(&self.tree, self.from).take(wanted) {
            let v = trusted(&envelope?)?;
            // The next of its author's chain, or kept beside it (a fork's second entry, an
            // entry of a branch): the log holds both, in the order they were stored.
            let e = v.entry();
            let head = state.head(&e.author);
            let next = state.at(&e.author, e.seq).is_none()
                && e.prev == head.map(|h| h.id)
                && head.map_or(1, |h| h.seq + 1) == e.seq;
            if next {
                state.apply(v);
            } else {
                state.apply_beside(v);
            }
            applied += 1;
        }
        if applied < wanted {
            return Err(short_log(self.from + applied as u64, self.to));
        }
        for (author, seq) in &self.frozen {
            state.freeze(*author, *seq);
        }
        Ok(())
    }
}

/// Commits what is staged (best effort: a failure is logged, and the group is lost as in
/// a crash).
impl Drop for CoopLedger {
    fn drop(&mut self) {
        let s = inner(&mut self.state);
        let staged = s.overlay.staged;
        let written = s.write(&self.store).and_then(|()| recover(s, &self.store));
        if let Err(e) = written {
            tracing::error!(
                coop = %self.id.short(),
                staged,
                error = %e,
                "committing the staged entries on close failed: they are lost"
            );
        }
    }
}

impl State {
    /// What the tree holds, read at open (and again after a group failed to be
    /// written): nothing staged, nothing cached.
    fn read(tree: &sled::Tree) -> Result<Self, LedgerError> {
        let mut frozen = BTreeMap::new();
        for kv in tree.scan_prefix([layout::FROZEN]) {
            let (k, v) = kv?;
            let author = PublicKey(layout::bytes32(&k, 1, "frozen author")?);
            frozen.insert(author, layout::u64_at(&v, 0, "frozen seq")?);
        }
        let mut heads = BTreeMap::new();
        for kv in tree.scan_prefix([layout::HEAD]) {
            let (k, v) = kv?;
            let author = PublicKey(layout::bytes32(&k, 1, "head key")?);
            heads.insert(author, layout::decode_head(&v)?);
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
        Ok(State {
            frozen,
            heads,
            tails: HashMap::new(),
            len,
            roles_at: 0,
            tip,
            paths: PathCache::default(),
            recent: Recent::default(),
            spent: Vec::new(),
            firsts: Firsts::default(),
            overlay: Overlay::default(),
        })
    }

    fn view<'a>(&'a self, store: &'a Store, charter: &'a Verified) -> View<'a> {
        View::new(
            store,
            charter,
            &self.frozen,
            &self.heads,
            &self.overlay,
            &self.paths,
            &self.recent,
            &self.firsts,
        )
    }

    /// Walks and caches the governance path of `gov` if it is complete.
    fn ensure_path(
        &mut self,
        store: &Store,
        charter: &Verified,
        gov: Option<Id>,
    ) -> Result<(), LedgerError> {
        let Some(g) = gov else { return Ok(()) };
        if self.paths.get(&g).is_some() {
            return Ok(());
        }
        let view = self.view(store, charter);
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
    /// one: chains and the log only grow at their end). The block goes into the batch
    /// once, when the group is written.
    fn stage_slot(
        &mut self,
        store: &Store,
        key: &[u8],
        slot: usize,
        id: &Id,
    ) -> Result<(), LedgerError> {
        if !self.overlay.blocks.contains_key(key) {
            let mut block = Vec::with_capacity(layout::BLOCK as usize * 32);
            match self.tails.get(key) {
                Some(b) => block.extend_from_slice(b),
                // The first slot of a block: a new block, nothing to read (and no wait
                // for the committing thread).
                None if slot == 0 => {}
                None => {
                    if let Some(b) = store.tree()?.get(key)? {
                        block.extend_from_slice(&b);
                    }
                }
            }
            self.overlay.blocks.insert(key.to_vec(), block);
        }
        let Some(block) = self.overlay.blocks.get_mut(key) else {
            return Err(LedgerError::Corrupt("a staged block vanished".into()));
        };
        if block.len() != slot * 32 {
            return Err(LedgerError::Corrupt(format!(
                "a block holds {} bytes where slot {slot} is next",
                block.len()
            )));
        }
        block.extend_from_slice(id.as_bytes());
        Ok(())
    }

    /// Stages a valid, new entry with its indexes: the next of its author's chain when
    /// `on_chain`, else beside the chain (a fork's second entry or an entry of a branch:
    /// stored, indexed and logged, but no chain slot and not the head), like
    /// `Coop::apply` and `Coop::apply_beside`. Indexes keep the first entry stored.
    fn stage(&mut self, store: &Store, v: Verified, on_chain: bool) -> Result<Id, LedgerError> {
        let id = v.id();
        let e = v.entry();
        let kind = e.body.kind();
        let a = e.author;
        let head = Head {
            seq: e.seq,
            id,
            ts: e.ts,
            gov: e.gov,
        };
        if on_chain {
            let (chain_key, chain_slot) = layout::chain(&a, e.seq);
            self.stage_slot(store, &chain_key, chain_slot, &id)?;
        }
        let (log_key, log_slot) = layout::log(self.len + self.overlay.staged);
        self.stage_slot(store, &log_key, log_slot, &id)?;
        // Validation refused any entry whose author already wrote one for the same key
        // (DoubleClaim, AlreadyReviewed...), and only that author writes for the key; so a
        // key can be taken only for an entry beside the chain or by a forked author, and
        // only then is the tree read to keep the first. Withdrawals have no such rule.
        let unseen = on_chain && self.frozen_at(&a).is_none();
        let mut freeze = None;
        let mut tip = None;
        {
            let o = &mut self.overlay;
            let b = &mut o.batch;
            b.insert_entry(v.clone());
            if !on_chain {
                b.insert(&layout::beside(&a, e.seq, &id)[..], &[][..]);
            }
            if on_chain {
                b.insert(
                    &k1(layout::HEAD, a.as_bytes())[..],
                    layout::encode_head(&head),
                );
            }
            // First stored wins: a key already staged or committed is left alone.
            if let Some(ix) = IndexKey::of(&a, &e.body) {
                let key = layout::index(&ix);
                let read = !unseen || matches!(ix, IndexKey::Withdraw { .. });
                let taken =
                    o.indexed.contains_key(&ix) || (read && store.tree()?.contains_key(&key)?);
                if !taken {
                    b.insert(key, &id.0[..]);
                    o.indexed.insert(ix, id);
                }
            }
            match &e.body {
                Body::Evidence(ev) => {
                    if let Some(f) = ev.freezes() {
                        let second = ev.second().unwrap_or(id);
                        freeze = Some((f.author, f.seq, ev.clone(), second));
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
            if on_chain {
                o.chains.insert((a, e.seq), id);
                o.heads.insert(a, head);
            }
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
        if kind.changes_roles() {
            self.roles_changed_here();
        }
        self.overlay.entries.insert(id, v);
        self.overlay.order.push(id);
        Ok(id)
    }

    /// Notes that the last entry staged may change the roles (see
    /// [`CoopLedger::roles_changed`]).
    fn roles_changed_here(&mut self) {
        self.roles_at = self.len + self.overlay.staged;
    }

    /// Stages the evidence of a fork and freezes its author.
    fn stage_fork(
        &mut self,
        store: &Store,
        existing: Id,
        v: &Verified,
    ) -> Result<Evidence, LedgerError> {
        let a = match self.overlay.entries.get(&existing) {
            Some(x) => x.envelope(),
            None => reader::stored_envelope(store.tree()?, &existing, "chain")?.to_vec(),
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

    /// Hands the staged writes to `store` as one atomic batch, and keeps in memory what
    /// they change. On failure the staged group is gone.
    fn write(&mut self, store: &Store) -> Result<(), LedgerError> {
        if !self.overlay.dirty {
            return Ok(());
        }
        let mut o = std::mem::take(&mut self.overlay);
        for (key, block) in &o.blocks {
            o.batch.insert(&key[..], &block[..]);
        }
        o.batch.drop_with(std::mem::take(&mut self.spent));
        match store.apply(o.batch) {
            Ok(()) => {
                tracing::trace!(entries = o.staged, "group committed");
                self.len += o.staged;
                for (a, s) in o.frozen {
                    let e = self.frozen.entry(a).or_insert(s);
                    *e = (*e).min(s);
                }
                if o.tip.is_some() {
                    self.tip = o.tip;
                }
                self.heads.extend(o.heads);
                for (key, block) in o.blocks {
                    if block.len() as u64 >= layout::BLOCK * 32 {
                        self.tails.remove(&key);
                    } else {
                        self.tails.insert(key, block);
                    }
                }
                let entries = &mut o.entries;
                self.spent = self
                    .recent
                    .extend(o.order.iter().filter_map(|id| entries.remove(id)));
                Ok(())
            }
            Err(e) => {
                // Cached paths and first entries may lean on entries that were never
                // written.
                self.paths.clear();
                self.firsts.clear();
                Err(e)
            }
        }
    }

    /// Forgets the staged group (after an error: a write may be half staged, even before
    /// the overlay is marked dirty).
    fn discard(&mut self) {
        self.overlay = Overlay::default();
        // Cached paths and first entries may lean on entries that were never written.
        self.paths.clear();
        self.firsts.clear();
    }
}

impl Judge for CoopLedger {
    fn judge(&mut self, v: Verified, now: Option<Timestamp>) -> Result<Step, LedgerError> {
        let s = inner(&mut self.state);
        s.ensure_path(&self.store, &self.charter, v.entry().gov)?;
        let verdict = {
            let view = s.view(&self.store, &self.charter);
            let verdict = check(&view, &self.id, &v, now);
            if let Some(fault) = view.into_fault() {
                return Err(fault);
            }
            verdict
        };
        Ok(match verdict {
            Err(invalid) => Step::Rejected(v.id(), invalid),
            Ok(Outcome::Fresh) => Step::Stored(s.stage(&self.store, v, true)?),
            Ok(Outcome::Branch) => Step::Stored(s.stage(&self.store, v, false)?),
            Ok(Outcome::Duplicate) => Step::Duplicate,
            Ok(Outcome::Pending(missing)) => Step::Pending(Box::new(v), missing),
            Ok(Outcome::Fork { existing }) => {
                let evidence = s.stage_fork(&self.store, existing, &v)?;
                let id = s.stage(&self.store, v, false)?;
                // The freeze changes what its author's entries count for.
                s.roles_changed_here();
                Step::Fork {
                    id,
                    existing,
                    evidence,
                }
            }
        })
    }

    fn pending(&mut self) -> &mut Pending {
        &mut self.pending
    }

    fn commit(&mut self) -> Result<(), LedgerError> {
        CoopLedger::commit(self)
    }

    fn discard(&mut self) {
        inner(&mut self.state).discard();
        if let Err(e) = self.forget_unwritten() {
            tracing::error!(coop = %self.id.short(), error = %e, "groups of entries lost");
        }
    }
}

/// Waits for the groups handed to `store`; if one failed, replaces `s` by what the store
/// holds (forgetting what was staged and cached) and returns the failure.
fn recover(s: &mut State, store: &Store) -> Result<(), LedgerError> {
    match store.take_failure() {
        None => Ok(()),
        Some(e) => {
            *s = State::read(store.tree_now())?;
            Err(e)
        }
    }
}

/// Ids of the committed log from position `from` on, read from `tree`.
pub(crate) fn committed_log_ids(
    tree: &sled::Tree,
    from: u64,
) -> impl Iterator<Item = Result<Id, LedgerError>> + '_ {
    let (start, skip) = layout::log(from);
    tree.range(start..)
        .take_while(|kv| {
            kv.as_ref()
                .map_or(true, |(k, _)| k.first() == Some(&layout::LOG))
        })
        .flat_map(|kv| -> Vec<Result<Id, LedgerError>> {
            match kv
                .map_err(LedgerError::from)
                .and_then(|(_, v)| layout::ids(&v, "log block"))
            {
                Ok(ids) => ids.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            }
        })
        .skip(skip)
}

/// The envelopes of the committed log from position `from` on, read from `tree`.
fn committed_envelopes(
    tree: &sled::Tree,
    from: u64,
) -> impl Iterator<Item = Result<sled::IVec, LedgerError>> + '_ {
    committed_log_ids(tree, from).map(move |id| reader::stored_envelope(tree, &id?, "log"))
}

/// A log found shorter than the length fixed when it was committed.
fn short_log(held: u64, committed: u64) -> LedgerError {
    LedgerError::Corrupt(format!(
        "the log holds {held} entries where {committed} were committed"
    ))
}

/// A cooperative's export fixed at one moment ([`CoopLedger::snapshot`]): the first
/// positions of its log, then the second envelopes known only from evidence. It reads
/// the store (sled serves readers beside its writer) and holds it open until dropped.
#[derive(Debug, Clone)]
pub struct Snapshot {
    id: Id,
    tree: sled::Tree,
    /// Log positions written.
    len: u64,
    /// Second envelopes of equivocations, known only from evidence.
    beside: Vec<Vec<u8>>,
}

impl Snapshot {
    /// Envelopes the export writes.
    pub fn entries(&self) -> u64 {
        self.len + self.beside.len() as u64
    }

    /// Writes the export file to `w` (buffered here; `w` need not be): the header, the
    /// log's entries up to the snapshot's length in log order, then the second envelopes
    /// known only from evidence. Returns the number of envelopes written.
    pub fn write(&self, w: impl Write) -> Result<u64, LedgerError> {
        let mut w = BufWriter::new(w);
        w.write_all(&header_bytes(&self.id))?;
        let mut n = 0u64;
        let wanted = usize::try_from(self.len).unwrap_or(usize::MAX);
        for env in committed_envelopes(&self.tree, 0).take(wanted) {
            w.write_all(&env?)?;
            n += 1;
        }
        if n < self.len {
            return Err(short_log(n, self.len));
        }
        for b in &self.beside {
            w.write_all(b)?;
            n += 1;
        }
        w.flush()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ledger;
    use taawun_core::synth::{self, Params};

    /// A disk that fails one group: the ledger reports it, forgets what the store does
    /// not hold, keeps every chain whole, and takes the lost entries again.
    #[test]
    fn a_group_that_fails_to_be_written_is_forgotten_and_taken_again() {
        let s = synth::generate(&Params {
            seed: 41,
            entries: 3 * GROUP_ENTRIES,
            ..Params::default()
        });
        let dir = tempfile::tempdir().expect("works");
        let l = Ledger::open(dir.path()).expect("works");
        let mut c = l.found(s.entries[0].clone()).expect("works");
        let first = GROUP_ENTRIES + 1;
        for v in &s.entries[1..first] {
            assert!(matches!(
                c.ingest(v.clone(), None),
                Ok(Ingest::Stored { .. })
            ));
        }
        c.flush().expect("works");
        // The next group fails: the last of these ingests hands it over.
        c.store.fail_next();
        for v in &s.entries[first..first + GROUP_ENTRIES] {
            assert!(matches!(
                c.ingest(v.clone(), None),
                Ok(Ingest::Stored { .. })
            ));
        }
        assert_eq!(c.staged(), 0);
        assert!(matches!(c.flush(), Err(LedgerError::Unwritten(_))));
        assert_eq!(c.len(), first as u64, "only what the store holds");
        for (author, head) in c.heads().expect("works") {
            let chain = c.range(&author, 1, MAX_RANGE).expect("works");
            assert_eq!(chain.last().map(Verified::id), Some(head.id));
            assert_eq!(chain.len() as u64, head.seq);
        }
        // The lost entries come again (sync) and are stored.
        for v in &s.entries[first..] {
            assert!(matches!(
                c.ingest(v.clone(), None),
                Ok(Ingest::Stored { .. })
            ));
        }
        c.flush().expect("works");
        assert_eq!(c.len(), s.entries.len() as u64);
        drop(c);
        let c = l.coop(&s.coop).expect("works");
        assert_eq!(c.len(), s.entries.len() as u64);
        let log: Vec<Id> = c.log_ids().collect::<Result<_, _>>().expect("works");
        assert_eq!(log, s.entries.iter().map(Verified::id).collect::<Vec<_>>());
    }
}
