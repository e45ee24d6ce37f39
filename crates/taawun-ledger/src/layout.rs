//! The storage layout: one sled tree per cooperative, one-byte key prefixes inside it.
//!
//! | prefix | key after the prefix | value |
//! | --- | --- | --- |
//! | [`META`] | a name (`format`, `tip`) | see [`FORMAT_KEY`], [`TIP_KEY`] |
//! | [`ENTRY`] | entry id (32) | the envelope, exactly as [`Verified::envelope`] wrote it |
//! | [`CHAIN`] | author (32), block (u64 BE) | ids of seqs `32 * block + 1 ..`, concatenated |
//! | [`HEAD`] | author (32) | [`encode_head`]: seq, id, ts, gov |
//! | [`CLAIM`] | offer (32), member (32) | the claim's id |
//! | [`SUBMIT`] | offer (32), member (32) | the submission's id |
//! | [`ASSIGN`] | offer (32) | the assignment's id |
//! | [`WITHDRAW`] | offer (32) | the withdrawal's id |
//! | [`VERDICT`] | submission (32) | the accept or reject's id |
//! | [`VOTE`] | proposal (32), member (32) | the vote's id |
//! | [`RECEIPT`] | settlement (32) | the receipt's id |
//! | [`FROZEN`] | author (32) | lowest seq at which it equivocated (u64 BE) |
//! | [`EVIDENCE`] | author (32), seq (u64 BE), id of the second entry (32) | CBOR [`Evidence`] (both envelopes) |
//! | [`LOG`] | block (u64 BE) | ids of log positions `32 * block ..`, concatenated |
//! | [`BESIDE`] | author (32), seq (u64 BE), id (32) | empty: the entry is stored beside the author's chain |
//!
//! Every index keeps the FIRST entry stored for its key (a forked author may hold one
//! on each branch). Entries beside the chain (a fork's second entry, entries of a branch)
//! are stored, indexed and logged, but take no chain slot and are not heads; [`BESIDE`]
//! lists them per author in (seq, id) order, written in the same batch as the entry, so
//! sync can summarise and serve them (they have no slot a range request could name).
//!
//! **Versions.** [`FORMAT`] 3 added [`BESIDE`]. A version 2 ledger is migrated when
//! opened (`crate::Ledger::open`): each cooperative's log is read once, every entry that
//! does not hold its chain slot is indexed, one sled batch per cooperative, and the
//! version is written last, so a crash during the migration leaves version 2 and the
//! next open starts it again (indexing an entry twice writes the same key).
//!
//! Big-endian integers make sled's byte order the numeric order, so a chain is a key range
//! and the log iterates in insertion order. Ids are fixed-size, so no key needs a length.
//!
//! Every table keyed by an offer first (claims, submissions, assignment, withdrawal) is
//! also the index of the entries naming that offer: a prefix scan finds them all.
//!
//! **Why blocks.** sled keeps tens of bytes of metadata in memory per key whatever its
//! cache size (leaves hold at most 16 keys, and every page is tracked), so memory grows
//! with the number of keys, not bytes: one key per entry for the log and one for the chain
//! cost about 60 MB at a million entries. The log and the chains are written in order,
//! so they are packed [`BLOCK`] ids to a key: appending rewrites one block of at most
//! 1 KiB, and the store keeps about 1.7 keys per entry instead of 5.
//!
//! [`Verified::envelope`]: taawun_core::Verified::envelope
//! [`Evidence`]: taawun_core::body::Evidence

use crate::error::LedgerError;
use taawun_core::index::IndexKey;
use taawun_core::validate::Head;
use taawun_core::{Id, PublicKey};

/// Metadata about the tree itself.
pub(crate) const META: u8 = 0x00;
/// Entries by id.
pub(crate) const ENTRY: u8 = 0x01;
/// Chains: (author, block) -> ids.
pub(crate) const CHAIN: u8 = 0x02;
/// Heads: author -> newest entry of its chain.
pub(crate) const HEAD: u8 = 0x03;
/// Claims: (offer, member).
pub(crate) const CLAIM: u8 = 0x04;
/// Submissions: (offer, member).
pub(crate) const SUBMIT: u8 = 0x05;
/// Assignments: offer.
pub(crate) const ASSIGN: u8 = 0x06;
/// Verdicts (accept or reject): submission.
pub(crate) const VERDICT: u8 = 0x07;
/// Votes: (proposal, member).
pub(crate) const VOTE: u8 = 0x08;
/// Frozen authors.
pub(crate) const FROZEN: u8 = 0x09;
/// Evidence of equivocation.
pub(crate) const EVIDENCE: u8 = 0x0a;
/// The insertion log, by blocks.
pub(crate) const LOG: u8 = 0x0b;
/// Withdrawals: offer.
pub(crate) const WITHDRAW: u8 = 0x0c;
/// Answers (receipts): settlement.
pub(crate) const RECEIPT: u8 = 0x0d;
/// Entries beside the chain: (author, seq, id).
pub(crate) const BESIDE: u8 = 0x0e;

/// Ids per block of the log and of the chains: appending rewrites at most 1 KiB, and
/// sled tracks one key per 32 entries.
pub(crate) const BLOCK: u64 = 32;

/// Meta key of the layout version (u32 BE), checked on open.
pub(crate) const FORMAT_KEY: &[u8] = &[META, b'f', b'o', b'r', b'm', b'a', b't'];
/// Meta key of the deepest enactment known: id (32) and path length (u64 BE). The
/// default governance [`crate::CoopLedger::append`] names.
pub(crate) const TIP_KEY: &[u8] = &[META, b't', b'i', b'p'];
/// The layout version this code writes.
pub(crate) const FORMAT: u32 = 3;

/// The layout version this code migrates from when opened (see the module's
/// documentation): the same keys without [`BESIDE`].
pub(crate) const FORMAT_WITHOUT_BESIDE: u32 = 2;

/// Name of a cooperative's tree.
pub(crate) fn tree_name(coop: &Id) -> String {
    format!("{TREE_PREFIX}{}", coop.to_hex())
}

/// Prefix of every cooperative tree's name.
pub(crate) const TREE_PREFIX: &str = "coop/";

/// The cooperative a tree name stands for, if it is one.
pub(crate) fn coop_of_tree(name: &[u8]) -> Option<Id> {
    let s = std::str::from_utf8(name).ok()?;
    Id::from_hex(s.strip_prefix(TREE_PREFIX)?).ok()
}

/// `prefix || a`.
pub(crate) fn k1(prefix: u8, a: &[u8; 32]) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[0] = prefix;
    k[1..].copy_from_slice(a);
    k
}

/// `prefix || a || b`.
pub(crate) fn k2(prefix: u8, a: &[u8; 32], b: &[u8; 32]) -> [u8; 65] {
    let mut k = [0u8; 65];
    k[0] = prefix;
    k[1..33].copy_from_slice(a);
    k[33..].copy_from_slice(b);
    k
}

/// The sled key of an index entry ([`IndexKey`]): `CLAIM || offer || member`,
/// `SUBMIT || offer || member`, `ASSIGN || offer`, `WITHDRAW || offer`,
/// `VERDICT || submission`, `VOTE || proposal || member`, `RECEIPT || settlement`.
pub(crate) fn index(ix: &IndexKey) -> Vec<u8> {
    match ix {
        IndexKey::Claim { offer, member } => {
            k2(CLAIM, offer.as_bytes(), member.as_bytes()).to_vec()
        }
        IndexKey::Submit { offer, member } => {
            k2(SUBMIT, offer.as_bytes(), member.as_bytes()).to_vec()
        }
        IndexKey::Assign { offer } => k1(ASSIGN, offer.as_bytes()).to_vec(),
        IndexKey::Withdraw { offer } => k1(WITHDRAW, offer.as_bytes()).to_vec(),
        IndexKey::Verdict { submission } => k1(VERDICT, submission.as_bytes()).to_vec(),
        IndexKey::Vote { proposal, member } => {
            k2(VOTE, proposal.as_bytes(), member.as_bytes()).to_vec()
        }
        IndexKey::Receipt { settle } => k1(RECEIPT, settle.as_bytes()).to_vec(),
    }
}

/// `CHAIN || author || block`: the block holding `seq` (from 1), and the slot in it.
pub(crate) fn chain(author: &PublicKey, seq: u64) -> ([u8; 41], usize) {
    let i = seq.saturating_sub(1);
    (chain_block(author, i / BLOCK), (i % BLOCK) as usize)
}

/// `CHAIN || author || block`.
pub(crate) fn chain_block(author: &PublicKey, block: u64) -> [u8; 41] {
    let mut k = [0u8; 41];
    k[0] = CHAIN;
    k[1..33].copy_from_slice(author.as_bytes());
    k[33..].copy_from_slice(&block.to_be_bytes());
    k
}

/// `LOG || block`: the block holding log position `n`, and the slot in it.
pub(crate) fn log(n: u64) -> ([u8; 9], usize) {
    let mut k = [0u8; 9];
    k[0] = LOG;
    k[1..].copy_from_slice(&(n / BLOCK).to_be_bytes());
    (k, (n % BLOCK) as usize)
}

/// The id in slot `slot` of a block, if filled.
pub(crate) fn slot(block: &[u8], slot: usize, what: &str) -> Result<Option<Id>, LedgerError> {
    // (`is_multiple_of` is newer than the workspace's rust-version.)
    let rest = block.len() % 32;
    if rest != 0 {
        return Err(corrupt(what));
    }
    Ok(block
        .get(slot * 32..slot * 32 + 32)
        .and_then(|s| <[u8; 32]>::try_from(s).ok())
        .map(Id))
}

/// The ids of a block.
pub(crate) fn ids(block: &[u8], what: &str) -> Result<Vec<Id>, LedgerError> {
    let rest = block.len() % 32;
    if rest != 0 || block.len() as u64 > BLOCK * 32 {
        return Err(corrupt(what));
    }
    Ok(block
        .chunks_exact(32)
        .filter_map(|c| <[u8; 32]>::try_from(c).ok().map(Id))
        .collect())
}

/// `EVIDENCE || author || seq || second`.
pub(crate) fn evidence(author: &PublicKey, seq: u64, second: &Id) -> [u8; 73] {
    let mut k = [0u8; 73];
    k[0] = EVIDENCE;
    k[1..33].copy_from_slice(author.as_bytes());
    k[33..41].copy_from_slice(&seq.to_be_bytes());
    k[41..].copy_from_slice(second.as_bytes());
    k
}

/// `BESIDE || author || seq || id`.
pub(crate) fn beside(author: &PublicKey, seq: u64, id: &Id) -> [u8; 73] {
    let mut k = [0u8; 73];
    k[0] = BESIDE;
    k[1..33].copy_from_slice(author.as_bytes());
    k[33..41].copy_from_slice(&seq.to_be_bytes());
    k[41..].copy_from_slice(id.as_bytes());
    k
}

/// Decodes a [`beside`] key: (author, seq, id).
pub(crate) fn decode_beside(k: &[u8]) -> Result<(PublicKey, u64, Id), LedgerError> {
    const WHAT: &str = "beside index key";
    if k.len() != 73 || k[0] != BESIDE {
        return Err(corrupt(WHAT));
    }
    Ok((
        PublicKey(bytes32(k, 1, WHAT)?),
        u64_at(k, 33, WHAT)?,
        Id(bytes32(k, 41, WHAT)?),
    ))
}

fn corrupt(what: &str) -> LedgerError {
    LedgerError::Corrupt(what.to_owned())
}

/// Reads 32 bytes at `at`.
pub(crate) fn bytes32(b: &[u8], at: usize, what: &str) -> Result<[u8; 32], LedgerError> {
    b.get(at..at + 32)
        .and_then(|s| <[u8; 32]>::try_from(s).ok())
        .ok_or_else(|| corrupt(what))
}

/// Reads a big-endian u64 at `at`.
pub(crate) fn u64_at(b: &[u8], at: usize, what: &str) -> Result<u64, LedgerError> {
    b.get(at..at + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| corrupt(what))
}

/// An id stored as a value.
pub(crate) fn id(b: &[u8], what: &str) -> Result<Id, LedgerError> {
    if b.len() != 32 {
        return Err(corrupt(what));
    }
    bytes32(b, 0, what).map(Id)
}

/// A head as stored: seq (8), id (32), ts (8), then 0 for no gov or 1 and the gov (32).
pub(crate) fn encode_head(h: &Head) -> Vec<u8> {
    let mut v = Vec::with_capacity(81);
    v.extend_from_slice(&h.seq.to_be_bytes());
    v.extend_from_slice(h.id.as_bytes());
    v.extend_from_slice(&h.ts.to_be_bytes());
    match h.gov {
        None => v.push(0),
        Some(g) => {
            v.push(1);
            v.extend_from_slice(g.as_bytes());
        }
    }
    v
}

/// Decodes [`encode_head`].
pub(crate) fn decode_head(b: &[u8]) -> Result<Head, LedgerError> {
    const WHAT: &str = "chain head";
    let gov = match (b.get(48), b.len()) {
        (Some(0), 49) => None,
        (Some(1), 81) => Some(Id(bytes32(b, 49, WHAT)?)),
        _ => return Err(corrupt(WHAT)),
    };
    Ok(Head {
        seq: u64_at(b, 0, WHAT)?,
        id: Id(bytes32(b, 8, WHAT)?),
        ts: u64_at(b, 40, WHAT)?,
        gov,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_round_trip() {
        for gov in [None, Some(Id([7; 32]))] {
            let h = Head {
                seq: 42,
                id: Id([1; 32]),
                ts: 1_790_000_000_000,
                gov,
            };
            assert_eq!(decode_head(&encode_head(&h)).ok(), Some(h));
        }
        assert!(decode_head(&[0; 48]).is_err());
        assert!(decode_head(&[0; 50]).is_err());
    }

    #[test]
    fn beside_keys_round_trip_and_sort_by_author_seq_id() {
        let (a, b) = (PublicKey([1; 32]), PublicKey([2; 32]));
        let k = beside(&a, 7, &Id([9; 32]));
        assert_eq!(decode_beside(&k).ok(), Some((a, 7, Id([9; 32]))));
        assert!(decode_beside(&k[1..]).is_err());
        assert!(beside(&a, 255, &Id([9; 32])) < beside(&a, 256, &Id([0; 32])));
        assert!(beside(&a, 7, &Id([1; 32])) < beside(&a, 7, &Id([2; 32])));
        assert!(beside(&a, u64::MAX, &Id([0xff; 32])) < beside(&b, 1, &Id([0; 32])));
        assert!(k.starts_with(&k1(BESIDE, a.as_bytes())));
    }

    #[test]
    fn tree_names_round_trip() {
        let id = Id([9; 32]);
        assert_eq!(coop_of_tree(tree_name(&id).as_bytes()), Some(id));
        assert_eq!(coop_of_tree(b"__sled__default"), None);
        assert_eq!(coop_of_tree(b"coop/zz"), None);
    }

    #[test]
    fn blocks_sort_numerically_and_hold_32() {
        assert_eq!(log(31), (log(0).0, 31));
        assert!(log(255 * BLOCK).0 < log(256 * BLOCK).0);
        let a = PublicKey([1; 32]);
        assert_eq!(chain(&a, 1), (chain_block(&a, 0), 0));
        assert_eq!(chain(&a, 32), (chain_block(&a, 0), 31));
        assert_eq!(chain(&a, 33), (chain_block(&a, 1), 0));
        assert!(chain_block(&a, 255) < chain_block(&a, 256));
        let block: Vec<u8> = [[1u8; 32], [2; 32]].concat();
        assert_eq!(slot(&block, 1, "t").ok(), Some(Some(Id([2; 32]))));
        assert_eq!(slot(&block, 2, "t").ok(), Some(None));
        assert!(slot(&block[1..], 0, "t").is_err());
        assert_eq!(ids(&block, "t").ok(), Some(vec![Id([1; 32]), Id([2; 32])]));
    }

    #[test]
    fn every_index_key_has_its_own_table_and_offer_tables_scan_by_offer() {
        let (named, member) = (Id([7; 32]), PublicKey([8; 32]));
        let keys = [
            (
                IndexKey::Claim {
                    offer: named,
                    member,
                },
                CLAIM,
            ),
            (
                IndexKey::Submit {
                    offer: named,
                    member,
                },
                SUBMIT,
            ),
            (IndexKey::Assign { offer: named }, ASSIGN),
            (IndexKey::Withdraw { offer: named }, WITHDRAW),
            (IndexKey::Verdict { submission: named }, VERDICT),
            (
                IndexKey::Vote {
                    proposal: named,
                    member,
                },
                VOTE,
            ),
            (IndexKey::Receipt { settle: named }, RECEIPT),
        ];
        let mut prefixes = std::collections::BTreeSet::new();
        for (ix, prefix) in keys {
            let k = index(&ix);
            assert_eq!(k[0], prefix, "{ix:?}");
            assert!(prefixes.insert(prefix), "{ix:?} shares a table");
            // The entry named comes first, so a prefix scan finds every entry naming it.
            assert!(k.starts_with(&k1(prefix, named.as_bytes())), "{ix:?}");
            match ix.member() {
                Some(m) => assert_eq!(k, k2(prefix, named.as_bytes(), m.as_bytes()).to_vec()),
                None => assert_eq!(k.len(), 33),
            }
        }
    }
}
