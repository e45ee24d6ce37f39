//! Migrations of the storage layout ([`layout::FORMAT`]), run by [`crate::Ledger::open`]
//! on a ledger written by an older version. Each adds what the newer layout has and never
//! removes or rewrites a stored entry.

use crate::error::LedgerError;
use crate::layout;
use crate::view::trusted;

/// Version 2 to 3: indexes the entries stored beside a chain ([`layout::BESIDE`]).
///
/// For every cooperative, the log is read once; an entry whose author's chain slot at its
/// seq holds another id (or none) is beside the chain, as `CoopLedger` decided when it
/// stored it. Each cooperative's keys go in one sled batch; the version is written after
/// every cooperative is done and flushed, so a crash leaves version 2 and the next open
/// starts again (writing the same keys again).
pub(crate) fn index_beside(db: &sled::Db) -> Result<(), LedgerError> {
    let mut total = 0usize;
    for name in db.tree_names() {
        if layout::coop_of_tree(&name).is_none() {
            continue;
        }
        let tree = db.open_tree(&name)?;
        let mut batch = sled::Batch::default();
        let mut n = 0usize;
        for kv in tree.scan_prefix([layout::LOG]) {
            let (_, block) = kv?;
            for id in layout::ids(&block, "log block")? {
                let env = crate::reader::stored_envelope(&tree, &id, "log")?;
                let v = trusted(&env)?;
                let e = v.entry();
                let (chain_key, slot) = layout::chain(&e.author, e.seq);
                let on_chain = match tree.get(chain_key)? {
                    Some(b) => layout::slot(&b, slot, "chain block")? == Some(id),
                    None => false,
                };
                if !on_chain {
                    batch.insert(&layout::beside(&e.author, e.seq, &id)[..], &[][..]);
                    n += 1;
                }
            }
        }
        tree.apply_batch(batch)?;
        total += n;
    }
    db.flush()?;
    db.insert(layout::FORMAT_KEY, &layout::FORMAT.to_be_bytes()[..])?;
    db.flush()?;
    tracing::info!(
        from = layout::FORMAT_WITHOUT_BESIDE,
        to = layout::FORMAT,
        beside = total,
        "ledger layout migrated: entries beside their chains indexed"
    );
    Ok(())
}
