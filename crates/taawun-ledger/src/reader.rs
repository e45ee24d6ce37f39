//! Reads of a cooperative's store that need not run on its owner's thread: what sync
//! serves to peers (an author's chain, the log, a fork's branches, envelopes as stored).
//!
//! A [`Reader`] is fixed by its owner ([`crate::CoopLedger::reader`]) once every group
//! handed over is written, then read on any thread while the owner goes on storing: the
//! network task hands a sync request to the blocking pool instead of reading megabytes of
//! envelopes while gossip waits. sled serves readers beside its writer, and each group is
//! one atomic batch, so a read sees whole groups: a chain block or a log block never names
//! an entry the store does not hold. A reader sees every group written before it was
//! fixed, and perhaps some written since (the log and chains only grow).
//!
//! The same functions serve [`crate::CoopLedger`]'s own reads of the chain and of the
//! entries beside it.

use crate::error::LedgerError;
use crate::layout::{self, k1};
use std::collections::BTreeMap;
use taawun_core::{Id, PublicKey};

/// A cooperative's store as fixed at one moment, to read on any thread (see the module).
/// It holds the store open until dropped.
#[derive(Debug, Clone)]
pub struct Reader {
    pub(crate) tree: sled::Tree,
    /// The frozen authors and their fork seqs when fixed.
    pub(crate) frozen: BTreeMap<PublicKey, u64>,
}

impl Reader {
    /// Ids of `author`'s chain from `from_seq` on (seq 0 reads as 1), in chain order.
    pub fn chain(
        &self,
        author: &PublicKey,
        from_seq: u64,
    ) -> impl Iterator<Item = Result<Id, LedgerError>> + '_ {
        chain_ids(&self.tree, author, from_seq)
    }

    /// Ids of the log in log order from position `from` on.
    pub fn log(&self, from: u64) -> impl Iterator<Item = Result<Id, LedgerError>> + '_ {
        crate::coop::committed_log_ids(&self.tree, from)
    }

    /// The branches of a frozen author's fork (see [`crate::CoopLedger::branches`]), the
    /// first `limit` of them; empty for an author not frozen when the reader was fixed.
    pub fn branches(
        &self,
        author: &PublicKey,
        limit: usize,
    ) -> Result<Vec<(u64, Id)>, LedgerError> {
        match self.frozen.get(author) {
            Some(fork) => branches(&self.tree, author, *fork, limit),
            None => Ok(Vec::new()),
        }
    }

    /// The envelope, as stored, of an entry `what` (the chain, the log, a branch) named:
    /// an error when the store lacks it.
    pub fn stored(&self, id: &Id, what: &str) -> Result<sled::IVec, LedgerError> {
        stored_envelope(&self.tree, id, what)
    }
}

/// The envelope of entry `id`, which `what` (an index: the chain, the log, a branch)
/// names, so the store must hold it: [`LedgerError::Corrupt`] when it does not.
pub(crate) fn stored_envelope(
    tree: &sled::Tree,
    id: &Id,
    what: &str,
) -> Result<sled::IVec, LedgerError> {
    tree.get(k1(layout::ENTRY, id.as_bytes()))?
        .ok_or_else(|| not_stored(what, id))
}

/// `what` (an index) names entry `id`, which the store does not hold.
pub(crate) fn not_stored(what: &str, id: &Id) -> LedgerError {
    LedgerError::Corrupt(format!("{what} names {id}, not stored"))
}

/// Ids of `author`'s chain in `tree` from `from_seq` on (seq 0 reads as 1), block by
/// block.
pub(crate) fn chain_ids<'t>(
    tree: &'t sled::Tree,
    author: &PublicKey,
    from_seq: u64,
) -> impl Iterator<Item = Result<Id, LedgerError>> + 't {
    let (start, skip) = layout::chain(author, from_seq.max(1));
    let end = layout::chain_block(author, u64::MAX);
    tree.range(start..=end)
        .enumerate()
        .flat_map(move |(i, kv)| -> Vec<Result<Id, LedgerError>> {
            match kv
                .map_err(LedgerError::from)
                .and_then(|(_, block)| layout::ids(&block, "chain block"))
            {
                Ok(ids) => {
                    let skip = if i == 0 { skip } else { 0 };
                    ids.into_iter().skip(skip).map(Ok).collect()
                }
                Err(e) => vec![Err(e)],
            }
        })
}

/// `author`'s entries stored beside its chain in `tree` (the second entries of its
/// forks), as (seq, id) in that order, from the `from`-th on.
pub(crate) fn beside<'t>(
    tree: &'t sled::Tree,
    author: &PublicKey,
    from: usize,
) -> impl Iterator<Item = Result<(u64, Id), LedgerError>> + 't {
    tree.scan_prefix(k1(layout::BESIDE, author.as_bytes()))
        .skip(from)
        .map(|kv| {
            let (k, _) = kv?;
            let (_, seq, id) = layout::decode_beside(&k)?;
            Ok((seq, id))
        })
}

/// The branches of `author`'s fork at seq `fork` in `tree`: its entries from `fork` on, on
/// its chain and beside it, as (seq, id) in that order, the first `limit` of them. Reads
/// at most `limit` ids of the chain (by block) and `limit` keys of the index.
pub(crate) fn branches(
    tree: &sled::Tree,
    author: &PublicKey,
    fork: u64,
    limit: usize,
) -> Result<Vec<(u64, Id)>, LedgerError> {
    let fork = fork.max(1);
    // A chain holds every seq from 1 to its head: the n-th id from `fork` is at fork + n.
    let chain: Vec<(u64, Id)> = (fork..)
        .zip(chain_ids(tree, author, fork).take(limit))
        .map(|(seq, id)| id.map(|id| (seq, id)))
        .collect::<Result<_, _>>()?;
    let beside: Vec<(u64, Id)> = beside(tree, author, 0)
        .take(limit)
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(limit.min(chain.len() + beside.len()));
    let (mut a, mut b) = (chain.into_iter().peekable(), beside.into_iter().peekable());
    while out.len() < limit {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x <= y => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, _) => b.next(),
        };
        match next {
            Some(x) => out.push(x),
            None => break,
        }
    }
    Ok(out)
}
