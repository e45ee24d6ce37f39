//! Devices: authorising and revoking device keys, the list of a member's devices, and a
//! device's own enrolment.

use super::*;

impl Node {
    /// Authorises a device key to write for this node's member or requester.
    pub(crate) async fn add_device(&self, coop: Id, req: AddDevice) -> Res<Written> {
        self.write(coop, Body::Device(req.device()?)).await
    }

    /// Revokes a device of this node's member or requester (this node may be another of
    /// its devices).
    pub(crate) async fn revoke_device(&self, coop: Id, key: PublicKey) -> Res<Written> {
        let c = self.state(coop).await?;
        let me = c.speaker(&self.me);
        if !c.devices(&me).iter().any(|(k, _)| *k == key) && !self.authorised(&c, &me, &key) {
            return Err(Error::NotFound(format!(
                "{} is not a device of {}",
                key.short(),
                me.short()
            )));
        }
        self.write(coop, Body::RevokeDevice(RevokeDevice { key }))
            .await
    }

    /// Whether `member` wrote a `device` entry naming `key` (the device may not have
    /// enrolled yet).
    pub(super) fn authorised(&self, c: &Coop, member: &PublicKey, key: &PublicKey) -> bool {
        self.device_entries(c, member).iter().any(|(k, _)| k == key)
    }

    /// The `device` entries `member` wrote: (key, label).
    pub(super) fn device_entries(&self, c: &Coop, member: &PublicKey) -> Vec<(PublicKey, String)> {
        c.ids(Kind::Device)
            .filter_map(|id| c.get(id))
            .filter(|v| v.entry().author == *member)
            .filter_map(|v| match &v.entry().body {
                Body::Device(d) => Some((d.key, d.label.clone())),
                _ => None,
            })
            .collect()
    }

    /// The devices of this node's member or requester: every key it authorised, whether
    /// the device enrolled, and when it was revoked.
    pub(crate) async fn devices(&self, coop: Id) -> Res<Vec<DeviceView>> {
        let c = self.state(coop).await?;
        let me = c.speaker(&self.me);
        let enrolled: BTreeSet<PublicKey> = c.devices(&me).into_iter().map(|(k, _)| k).collect();
        let revoked = |k: &PublicKey| device_revoked_at(&c, &me, k);
        let mut out: Vec<DeviceView> = self
            .device_entries(&c, &me)
            .into_iter()
            .map(|(k, label)| DeviceView {
                key: k.to_hex(),
                label,
                enrolled: enrolled.contains(&k),
                // An enrolled device's chain starts with its `enroll`.
                enrolled_at: enrolled
                    .contains(&k)
                    .then(|| taawun_core::validate::Context::at(c.as_ref(), &k, 1))
                    .flatten()
                    .and_then(|id| c.get(&id))
                    .map(|v| v.entry().ts),
                revoked_at: revoked(&k),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out.dedup_by(|a, b| a.key == b.key);
        Ok(out)
    }

    /// A device's node: once its member's `device` entry naming this node's key is held
    /// and this node has written nothing yet, writes the `enroll` that makes its entries
    /// count as the member's (docs/protocol.md 4.7). With `device_of` set (the data
    /// folder's `device-of` file), only that member's authorisation is taken.
    pub(crate) async fn enroll_due(&self) -> Res<Vec<Written>> {
        let device_of = crate::datadir::load_device_of(&self.dir)
            .map_err(|e| Error::Conflict(format!("{e:#}")))?;
        let mut out = Vec::new();
        for coop in self.coop_ids().await? {
            let c = self.state(coop).await?;
            // Like the lottery and ticks, enrollment waits for its writes to open rather
            // than holding the policy loop on each pass.
            if c.heads().contains_key(&self.me)
                || self.revoked(&c).is_some()
                || !self.writes_open(coop).await?
            {
                continue;
            }
            let auth = c
                .ids(Kind::Device)
                .filter_map(|id| c.get(id))
                .filter(|v| device_of.is_none_or(|m| v.entry().author == m))
                .filter(|v| matches!(&v.entry().body, Body::Device(d) if d.key == self.me))
                .min_by_key(|v| (v.entry().ts, v.id()))
                .map(Verified::id);
            if let Some(device) = auth {
                out.push(self.write(coop, Body::Enroll(Enroll { device })).await?);
            }
        }
        Ok(out)
    }
}
