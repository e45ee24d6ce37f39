//! What the ledger says of people and money (requesters' records, balances, names), and
//! a cooperative's ledger in and out (import, export).

use super::*;

impl Node {
    /// A requester's record.
    pub(crate) async fn record(&self, coop: Id, requester: PublicKey) -> Res<RecordView> {
        let c = self.state(coop).await?;
        let mut r = RecordView::new(&requester, &c.record(&requester, self.now()));
        r.requester_name = names(&c, self.now()).remove(&requester);
        r.comments = comments(&c, &[requester], &|s| self.read(s))
            .remove(&requester)
            .unwrap_or_default();
        Ok(r)
    }

    /// The name `key` was admitted under, if the cooperative gave one.
    pub(crate) async fn name_of(&self, coop: Id, key: &PublicKey) -> Res<Option<String>> {
        let c = self.state(coop).await?;
        Ok(names(&c, self.now()).remove(key))
    }

    /// Every balance.
    pub(crate) async fn balances(&self, coop: Id) -> Res<Vec<BalanceView>> {
        let c = self.state(coop).await?;
        let names = names(&c, self.now());
        let name = |k: &PublicKey| names.get(k).cloned();
        Ok(c.balances(self.now())
            .into_iter()
            .map(|((r, m, cur), b)| BalanceView {
                requester: r.to_hex(),
                requester_name: name(&r),
                member: m.to_hex(),
                member_name: name(&m),
                earned: Amount::new(&cur, b.earned),
                topup: Amount::new(&cur, b.topup),
                paid: Amount::new(&cur, b.paid),
                confirmed: Amount::new(&cur, b.confirmed),
                denied: Amount::new(&cur, b.denied),
                unconfirmed: Amount::new(&cur, b.unconfirmed()),
                owed: Amount::new(&cur, b.owed()),
            })
            .collect())
    }

    /// Imports an export file into the running node: founds (follows) its cooperative if
    /// needed, then ingests every entry in batches of [`IMPORT_BATCH`], judged like any
    /// entry. Peers get them through sync.
    pub(crate) async fn import(&self, file: &[u8]) -> Res<ImportView> {
        let mut items = taawun_ledger::export::Items::new(file);
        let coop = items
            .header()
            .map_err(|e| bad(format!("not a taawun ledger file: {e}")))?
            .coop;
        let mut out = ImportView {
            coop: coop.to_hex(),
            ..ImportView::default()
        };
        let mut batch = Vec::new();
        let held = self.coop_ids().await?.contains(&coop);
        let mut first = !held;
        loop {
            let item = items
                .next_item()
                .map_err(|e| bad(format!("the file breaks off: {e}")))?;
            let Some(item) = item else { break };
            let v = match item
                .raw
                .ok()
                .and_then(|raw| taawun_core::entry::check_envelope(&raw).verified())
            {
                Some(v) => v,
                None => {
                    out.unreadable += 1;
                    continue;
                }
            };
            if first {
                first = false;
                if v.id() != coop || !matches!(v.entry().body, Body::Charter(_)) {
                    return Err(bad(format!(
                        "the file's first entry is not the charter of cooperative {coop}"
                    )));
                }
                self.net.join(v).await?;
                out.stored += 1;
                continue;
            }
            batch.push(v);
            if batch.len() == IMPORT_BATCH {
                self.ingest(coop, std::mem::take(&mut batch), &mut out)
                    .await?;
            }
        }
        if first {
            return Err(bad("the file holds no charter"));
        }
        self.ingest(coop, batch, &mut out).await?;
        Ok(out)
    }

    pub(super) async fn ingest(
        &self,
        coop: Id,
        batch: Vec<Verified>,
        out: &mut ImportView,
    ) -> Res<()> {
        if batch.is_empty() {
            return Ok(());
        }
        for r in self.net.ingest(coop, batch, false).await? {
            match r {
                taawun_ledger::Ingest::Stored { released, .. } => {
                    out.stored += 1 + released.len() as u64;
                    out.pending = out.pending.saturating_sub(released.len() as u64);
                }
                taawun_ledger::Ingest::Duplicate => out.duplicates += 1,
                taawun_ledger::Ingest::Pending(_) => out.pending += 1,
                taawun_ledger::Ingest::Equivocation { released, .. } => {
                    out.forks += 1;
                    out.stored += released.len() as u64;
                    out.pending = out.pending.saturating_sub(released.len() as u64);
                }
                taawun_ledger::Ingest::Rejected(_) => out.rejected += 1,
            }
        }
        Ok(())
    }

    /// The export file of a cooperative.
    pub(crate) async fn export(&self, coop: Id) -> Res<Vec<u8>> {
        Ok(self.net.export(coop).await?)
    }
}
