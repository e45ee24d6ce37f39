//! What a node does for its user: every action of the API, the CLI and the demo, over the
//! network handle.
//!
//! Each action reads the cooperative's state ([`taawun_core::fold::Coop`], from the
//! network task), checks the request, builds the entry body and hands it to
//! [`Network::append`], which signs it with this node's key, validates it like any entry
//! and gossips it. The rules themselves live in `taawun-core`: a refusal here is the
//! core's typed verdict, turned into words. Errors carry the kind the API maps to an
//! HTTP status.

use ed25519_dalek::SigningKey;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use taawun_api::request::*;
use taawun_api::views::*;
use taawun_core::body::*;
use taawun_core::fold::{Coop, Revocation, RevokedBy};
use taawun_core::money::{format_in, hourly_rate};
use taawun_core::rules::Rules;
use taawun_core::seal;
use taawun_core::{Hash, Id, PublicKey, Timestamp, Verified};
use taawun_ledger::AppendError;
use taawun_net::libp2p::Multiaddr;
use taawun_net::{NetError, Network, Writing};

/// Least time between two ticks of this node in one cooperative, in ms.
pub(crate) const TICK_INTERVAL_MS: u64 = 60 * 1000;
/// How long after an offer's claim window closes the requester's node waits before it
/// draws, so that claims gossiped at the last moment are in the draw.
pub(crate) const ASSIGN_GRACE_MS: u64 = 10 * 1000;

/// Margin added to an enactment's earliest effective time: the entry's own timestamp is
/// set by the network task a moment after the request is read.
const EFFECTIVE_MARGIN_MS: u64 = 1_000;
/// How long a write waits for a connected peer to confirm the member's latest entry
/// (docs/protocol.md 13.11) before it is refused: long enough for the first sync with a
/// peer just dialed (a joiner's first write, a node just restarted), short enough for a
/// person waiting on a page.
pub(crate) const CONFIRM_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a write waits for a first connection when no peer is connected (a dial just
/// started by a join or at start); then as [`CONFIRM_WAIT`] if one opened, else refused.
const NO_PEER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// Invites carry at most this many addresses (enough for TCP and QUIC on v4 and v6).
const INVITE_ADDRESSES: usize = 8;
/// Entries handed to the network task per command when importing a file: a sync batch's
/// worth, so the task stays responsive between batches.
const IMPORT_BATCH: usize = 512;

/// Why an action failed, by the HTTP status it maps to.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// Something named does not exist here (404).
    #[error("{0}")]
    NotFound(String),
    /// Not possible now (409).
    #[error("{0}")]
    Conflict(String),
    /// The cooperative's rules refuse it (422).
    #[error("{0}")]
    Refused(String),
    /// The protocol's rules refuse the entry it would write (422): the core's typed
    /// verdict, so that the page can say why in the member's language and the API can name
    /// the rule and its figures; with the node's words for it in the writer's terms
    /// ([`Error::rule`]).
    #[error("{1}")]
    Rule(Box<taawun_core::Invalid>, String),
    /// The member's writes in the cooperative wait until a peer confirmed its latest
    /// entry (409): a node started from a data folder may be a restored backup or a copy.
    #[error("waiting to confirm this member's latest entry with the cooperative's other nodes ({peers} connected): a node started from a data folder writes only once one of them has synced with it, so that a restored or copied folder never signs a second entry at a seq already used elsewhere (a fork, which freezes the member). Keep the node running and retry; `taawun run --write-before-sync` writes at once at that risk (docs/member.md)")]
    WaitingForPeers {
        /// Peers of the cooperative connected.
        peers: usize,
    },
    /// A refusal the page knows, so that it can say it in the member's language; with
    /// the node's own words for the API (422 or 409, by its kind).
    #[error("{1}")]
    Known(Known, String),
    /// The network task is gone (503).
    #[error("the node's network has stopped; restart the node")]
    Stopped,
    /// Anything else (500).
    #[error("{0}")]
    Internal(String),
}

/// The refusals [`Error::Known`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// Only an offer's requester may withdraw or assign it (422).
    NotOwnOffer,
    /// Only the member paid may answer a payment (422).
    NotOwnPayment,
    /// The work's assignment has not reached this node yet (409).
    AssignmentNotHeld,
    /// Too many results already wait for delivery (409).
    OutboxFull,
    /// The entry names something this node does not hold yet (409).
    NotAllHeld,
    /// Only a submission's requester may accept or reject it (422).
    NotOwnSubmission,
    /// The offer is no longer open to claims (409).
    NotOpen,
    /// The work is not assigned to this node's member (409).
    NotAssignedHere,
    /// The payment was already answered (409).
    PaymentAnswered,
    /// Only the member whose work was rejected may appeal (422).
    NotOwnWork,
    /// The work has no rejection that counts, so nothing to appeal (409).
    NothingToAppeal,
    /// This member holds no open seat on the appeal's jury (422).
    NoSeat,
    /// This node's key is a device revoked in the cooperative, by its member or by a
    /// vote: nothing it signs counts, so it writes nothing there (422).
    DeviceRevoked,
}

impl Known {
    /// Whether it is a refusal of the rules (422) rather than "not now" (409).
    pub(crate) fn is_refusal(self) -> bool {
        matches!(
            self,
            Known::NotOwnOffer
                | Known::NotOwnPayment
                | Known::NotOwnSubmission
                | Known::NotOwnWork
                | Known::NoSeat
                | Known::DeviceRevoked
        )
    }
}

impl From<NetError> for Error {
    fn from(e: NetError) -> Self {
        match e {
            NetError::Stopped => Error::Stopped,
            NetError::UnknownCoop(id) => {
                Error::NotFound(format!("this node holds no cooperative {id}"))
            }
            NetError::Append(AppendError::Invalid(i)) => Error::rule(i),
            NetError::Append(AppendError::Pending(m)) => Error::Known(
                Known::NotAllHeld,
                format!(
                    "this node does not hold everything the entry names yet ({m:?}); wait for sync and retry"
                ),
            ),
            NetError::Unconfirmed { peers, .. } => Error::WaitingForPeers { peers },
            NetError::Result(r) => Error::Refused(format!("result refused: {r}")),
            NetError::OutboxFull(n) => Error::Known(
                Known::OutboxFull,
                format!("{n} results already wait for delivery; retry when some are delivered"),
            ),
            other => Error::Internal(other.to_string()),
        }
    }
}

impl Error {
    /// The core's refusal `i`, in the writer's terms where the node knows better words
    /// than the rule's own (the least pay for the minutes, rather than only the rate).
    pub(crate) fn rule(i: taawun_core::Invalid) -> Self {
        use taawun_core::Invalid as I;
        let said = match &i {
            I::OfferBelowFloor {
                currency: cur,
                pay,
                minutes,
                offered_per_hour,
                floor,
            } => format!(
                "offer refused: {} {cur} for {minutes} min is {} {cur}/h, under the cooperative's floor of {} {cur}/h; pay at least {} {cur} for {minutes} min",
                format_in(*pay, cur),
                format_in(*offered_per_hour, cur),
                format_in(*floor, cur),
                format_in(taawun_core::money::floor_pay(u64::from(*minutes), *floor), cur),
            ),
            I::CurrencyNotAllowed(cur) => format!(
                "offer refused: this cooperative has no floor in {cur}, so it takes no offers in it"
            ),
            I::ZeroMinutes => "refused: minutes worked must be at least 1".to_owned(),
            I::BadAppeal(why) if why == "the answer must not be empty" => {
                "refused: an appeal needs an answer to the rejection's reason".to_owned()
            }
            I::BadAppeal(why) if why == "the reply must not be empty" => {
                "refused: a reply needs a text".to_owned()
            }
            other => format!("refused: {other}"),
        };
        Error::Rule(Box::new(i), said)
    }

    /// The same error, its words completed with what the cooperative's rules `r` (those
    /// the request was read against) say: the floors there are, the claim windows allowed
    /// (`window`, the one asked).
    fn under(self, r: &Rules, window: u64) -> Self {
        use taawun_core::Invalid as I;
        let Error::Rule(i, said) = self else {
            return self;
        };
        let said = match &*i {
            I::CurrencyNotAllowed(_) => {
                let floors = r
                    .floors
                    .iter()
                    .map(|(c, m)| format!("{} {c}/h", format_in(*m, c)))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("{said} (floors: {floors})")
            }
            I::BadOffer {
                field: "claim_window_ms",
                ..
            } => {
                let (least, most) = (
                    r.limits.min_claim_window_ms.max(1),
                    r.limits.max_claim_window_ms,
                );
                if window < least {
                    format!(
                        "offer refused: a claim window of {} s is shorter than the cooperative's least of {} s",
                        window / 1000,
                        least / 1000
                    )
                } else if window > most {
                    format!(
                        "offer refused: a claim window of {} s is longer than the cooperative's most of {} s",
                        window / 1000,
                        most / 1000
                    )
                } else {
                    said
                }
            }
            _ => said,
        };
        Error::Rule(i, said)
    }
}

fn bad(s: impl Into<String>) -> Error {
    Error::BadRequest(s.into())
}

impl From<BadRequest> for Error {
    fn from(e: BadRequest) -> Self {
        Error::BadRequest(e.0)
    }
}

/// Result of an action.
pub(crate) type Res<T> = Result<T, Error>;

/// A node: its network and its member key.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    net: Network,
    key: SigningKey,
    me: PublicKey,
    clock: fn() -> Timestamp,
    /// The data folder: lottery secrets of this node's offers are kept there.
    dir: PathBuf,
}

/// 32 fresh random bytes from the operating system, for one sealed field.
fn fresh_seed() -> Res<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| Error::Internal(format!("no randomness from the OS to seal a text: {e}")))?;
    Ok(seed)
}

fn written(v: &Verified) -> Written {
    Written {
        id: v.id().to_hex(),
        kind: v.entry().body.kind().name().to_owned(),
        ts: v.entry().ts,
    }
}

/// The charter of a state.
fn charter(c: &Coop) -> Option<&Charter> {
    match &c.get(&c.id()?)?.entry().body {
        Body::Charter(ch) => Some(ch),
        _ => None,
    }
}

/// Words for an amendment.
pub(crate) fn describe(a: &Action) -> String {
    match a {
        Action::AdmitMember { key, name } => format!("admit member {name} ({})", key.short()),
        Action::RemoveMember(k) => format!("remove member {}", k.short()),
        Action::AdmitRequester { key, name } => {
            format!("admit requester {name} ({})", key.short())
        }
        Action::RemoveRequester(k) => format!("remove requester {}", k.short()),
        Action::SetFloor { currency, per_hour } => {
            format!(
                "set the floor to {} {currency}/h",
                format_in(*per_hour, currency)
            )
        }
        Action::SetQuorum(q) => format!("set the quorum to {q} %"),
        Action::SetLimit { limit, value } => format!("set {limit:?} to {value}"),
        Action::RevokeDevice(k) => format!("revoke device {}", k.short()),
        Action::ReplaceKey { old, new } => {
            format!("replace key {} with {}", old.short(), new.short())
        }
    }
}

/// Display names by key under the rules in force at `at`: the charter's and each
/// admission's (protocol.md 5.2). Empty before the charter is held.
fn names(c: &Coop, at: Timestamp) -> BTreeMap<PublicKey, String> {
    c.rules_at(at).map(|r| r.names).unwrap_or_default()
}

/// What a node reads of a sealed field: the text, and what is wrong with it.
type Opened = (Option<String>, Option<String>);

/// What members wrote of each of `requesters`, newest first, at most
/// [`MAX_RECORD_COMMENTS`] each: the reviews the record's scores count (not from a frozen
/// author's forked chain, and by someone who held a role when writing), with text.
/// A text is sealed to the member who wrote it and the requester reviewed: `read` says
/// what this node reads of it, and a comment sealed to others shows only that it exists.
fn comments(
    c: &Coop,
    requesters: &[PublicKey],
    read: &dyn Fn(&seal::Sealed) -> Opened,
) -> BTreeMap<PublicKey, Vec<ReviewComment>> {
    // The fold's own rule for which reviews count, so comments and scores never differ.
    let names = names(c, u64::MAX);
    let all = c.reviews_of(requesters);
    requesters
        .iter()
        .map(|r| {
            let said = all
                .get(r)
                .into_iter()
                .flatten()
                .filter_map(|(member, v)| match &v.entry().body {
                    Body::Review(x) => x.text.as_ref().map(|t| {
                        let (text, text_flag) = read(t);
                        ReviewComment {
                            member: member.to_hex(),
                            member_name: names.get(member).cloned(),
                            at: v.entry().ts,
                            scores: [x.pay, x.fairness, x.promptness, x.communication],
                            text,
                            text_flag,
                        }
                    }),
                    _ => None,
                })
                .take(MAX_RECORD_COMMENTS)
                .collect();
            (*r, said)
        })
        .collect()
}

/// The stable identity of any key in `c` (docs/protocol.md 8.7): a device key maps to its
/// member, a replacing key to the member's first key.
fn identities(c: &Coop) -> impl Fn(&PublicKey) -> PublicKey + '_ {
    let tl = c.timeline();
    move |k| {
        let s = c.speaker(k);
        tl.map_or(s, |t| t.identity(&s))
    }
}

/// The keys a field about `parties`, written by `writer` at `at`, is sealed to: each
/// party's key, the writer's own key, then the parties' devices live at `at` by the
/// timeline (not revoked by their member nor by a vote, their key not replaced), at most
/// [`seal::MAX_RECIPIENTS`]. The parties come first, so the rule that they are among the
/// recipients always holds; a device enrolled later cannot read what was written before
/// it.
fn sealed_to(c: &Coop, writer: PublicKey, parties: &[PublicKey], at: Timestamp) -> Vec<PublicKey> {
    let tl = c.timeline();
    let devices = parties
        .iter()
        .flat_map(|p| tl.map(|t| t.live_devices(p, at)).unwrap_or_default());
    let mut seen = BTreeSet::new();
    parties
        .iter()
        .copied()
        .chain([writer])
        .chain(devices)
        .filter(|k| seen.insert(*k))
        .take(seal::MAX_RECIPIENTS)
        .collect()
}

/// When `device` of `member` was revoked, if it was: the earliest of its member's own
/// revocations (read directly: a device revoked before it enrolled is revoked too) and a
/// cooperative vote's (from when the vote takes effect).
fn device_revoked_at(c: &Coop, member: &PublicKey, device: &PublicKey) -> Option<Timestamp> {
    let by_member = c.revoked_by(device, member);
    let by_vote = c
        .timeline()
        .and_then(|tl| tl.revocation(device))
        .map(|r| r.at);
    by_member.into_iter().chain(by_vote).min()
}

/// The revocation of the key `me` in `c` in effect at `now`, if it is a device revoked by
/// its member (before or after it enrolled; `device_of`: the member its data folder
/// names) or by a vote (docs/protocol.md 8.7): nothing it signs from then on counts, so
/// its node signs nothing more there. The earliest, when both.
fn revocation_of(
    c: &Coop,
    me: PublicKey,
    device_of: Option<PublicKey>,
    now: Timestamp,
) -> Option<Revocation> {
    // A vote's revocation is the timeline's (it counts only once enacted and in effect;
    // the fold builds the timeline once per state).
    let by_vote = c
        .timeline()
        .and_then(|t| t.revocation(&me))
        .filter(|r| matches!(r.by, RevokedBy::Vote(_)) && r.at <= now);
    // Its member's revocation, even of a device that has not enrolled yet: the member it
    // enrolled for, else the one its data folder names.
    let member = match c.speaker(&me) {
        m if m != me => Some(m),
        _ => device_of,
    };
    let by_member = member.and_then(|m| {
        let at = c.revoked_by(&me, &m).filter(|at| *at <= now)?;
        Some(Revocation {
            at,
            by: RevokedBy::Member(m),
        })
    });
    [by_vote, by_member]
        .into_iter()
        .flatten()
        .min_by_key(|r| r.at)
}

impl Node {
    /// A node over `net`, writing as `key`, keeping its lottery secrets in the data
    /// folder `dir`.
    pub(crate) fn new(
        net: Network,
        key: SigningKey,
        clock: fn() -> Timestamp,
        dir: PathBuf,
    ) -> Self {
        let me = PublicKey(key.verifying_key().to_bytes());
        Self {
            net,
            key,
            me,
            clock,
            dir,
        }
    }

    /// This node's member key.
    pub(crate) fn me(&self) -> PublicKey {
        self.me
    }

    /// The key this node speaks for in `c`: its own, or its member's when it runs with
    /// a device key (docs/protocol.md 4.7).
    fn speaker(&self, c: &Coop) -> PublicKey {
        c.speaker(&self.me)
    }

    /// The stable identity of `key` in `c` (docs/protocol.md 8.7): the key it speaks
    /// for, through replacements by vote. Offers, submissions and balances name it.
    pub(crate) fn identity_of(&self, c: &Coop, key: &PublicKey) -> PublicKey {
        identities(c)(key)
    }

    /// This node's stable identity in `c`.
    pub(crate) fn identity(&self, c: &Coop) -> PublicKey {
        self.identity_of(c, &self.me)
    }

    /// This node's stable identity in `coop`: what "me" means in its listings, so that a
    /// member working from a device sees its own offers, work and earnings.
    pub(crate) async fn me_in(&self, coop: Id) -> Res<PublicKey> {
        let c = self.state(coop).await?;
        Ok(self.identity(&c))
    }

    /// The 24 words of this node's signing key (its paper backup, node/src/backup.rs).
    pub(crate) fn backup_words(&self) -> Vec<&'static str> {
        crate::backup::to_words(&self.key)
    }

    /// The network handle.
    pub(crate) fn net(&self) -> &Network {
        &self.net
    }

    pub(crate) fn now(&self) -> Timestamp {
        (self.clock)()
    }

    pub(crate) async fn state(&self, coop: Id) -> Res<Arc<Coop>> {
        Ok(self.net.state(coop).await?)
    }

    pub(crate) async fn write(&self, coop: Id, body: Body) -> Res<Written> {
        self.may_write(coop, matches!(body, Body::Enroll(_)))
            .await?;
        self.ready(coop).await?;
        let v = self.net.append(coop, self.key.clone(), body, None).await?;
        Ok(written(&v))
    }

    /// Refuses every write of a device's node in `coop` once the device is revoked
    /// there, and every write but its `enroll` before it enrolled.
    async fn may_write(&self, coop: Id, enrolling: bool) -> Res<()> {
        let c = self.state(coop).await?;
        if let Some(r) = self.revoked(&c) {
            return Err(self.revoked_error(&c, &r));
        }
        if !enrolling {
            self.enrolled(&c)?;
        }
        Ok(())
    }

    /// The member or requester this node's data folder says it is a device of.
    fn device_of(&self) -> Res<Option<PublicKey>> {
        crate::datadir::load_device_of(&self.dir).map_err(|e| Error::Conflict(format!("{e:#}")))
    }

    /// The revocation of this node's key in `c` in effect now: see [`revocation_of`].
    fn revoked(&self, c: &Coop) -> Option<Revocation> {
        revocation_of(c, self.me, self.device_of().ok().flatten(), self.now())
    }

    /// The refusal of a revoked device's write: who revoked it, and from when.
    fn revoked_error(&self, c: &Coop, r: &Revocation) -> Error {
        let at = crate::web::i18n::Lang::En.datetime(r.at);
        let who = match r.by {
            RevokedBy::Member(m) => {
                // A founder left unnamed is named by its short key.
                let named = match names(c, r.at).remove(&m) {
                    Some(n) if n != m.short() => format!("{n} ({})", m.short()),
                    _ => m.short(),
                };
                format!("revoked by its member {named} on {at}")
            }
            RevokedBy::Vote(p) => {
                format!(
                    "revoked by a cooperative vote (proposal {}), in effect from {at}",
                    p.short()
                )
            }
        };
        let what = if c.speaker(&self.me) != self.me || self.device_of().ok().flatten().is_some() {
            "this device"
        } else {
            "this node's key"
        };
        Error::Known(
            Known::DeviceRevoked,
            format!(
                "{what} ({}) was {who}: nothing it signs from then on counts, so it writes nothing more in this cooperative. Write from another device of the member, or have the member authorise a new one (`taawun device add`)",
                self.me.short()
            ),
        )
    }

    /// A device's node (its data folder names its member) writes nothing before its
    /// `enroll`: an entry speaks for its member only when its chain starts with one
    /// (docs/protocol.md 4.7); before, it would speak for the device key itself, which
    /// holds no role. This says what the device waits for.
    fn enrolled(&self, c: &Coop) -> Res<()> {
        let Some(member) = self.device_of()? else {
            return Ok(());
        };
        if c.heads().contains_key(&self.me) {
            return Ok(());
        }
        Err(Error::Conflict(format!(
            "this device has not enrolled yet: it enrolls by itself once it holds the authorisation of {} (`taawun device add {}` on that node) and one of the cooperative's nodes confirmed it; then write again",
            member.short(),
            self.me.to_hex()
        )))
    }

    /// Waits until the member's writes in `coop` are open (docs/protocol.md 13.11): at
    /// most [`CONFIRM_WAIT`] while a peer is connected, [`NO_PEER_WAIT`] while none is;
    /// then refuses with [`Error::WaitingForPeers`]. Never writes without it.
    async fn ready(&self, coop: Id) -> Res<()> {
        if self.net.writing(coop).await?.open() {
            return Ok(());
        }
        let connected = !self.net.peers().await?.is_empty();
        let first = if connected {
            CONFIRM_WAIT
        } else {
            NO_PEER_WAIT
        };
        if let Ok(w) = tokio::time::timeout(first, self.net.writes_open(coop)).await {
            w?;
            return Ok(());
        }
        // A first peer connected meanwhile: give it the rest of the full wait.
        if !connected && !self.net.peers().await?.is_empty() {
            let rest = CONFIRM_WAIT.saturating_sub(NO_PEER_WAIT);
            if let Ok(w) = tokio::time::timeout(rest, self.net.writes_open(coop)).await {
                w?;
                return Ok(());
            }
        }
        match self.net.writing(coop).await? {
            Writing::Waiting { peers } => Err(Error::WaitingForPeers { peers }),
            _ => Ok(()),
        }
    }

    /// Whether the member's writes in `coop` go ahead now, without waiting.
    async fn writes_open(&self, coop: Id) -> Res<bool> {
        Ok(self.net.writing(coop).await?.open())
    }

    /// Whether this node writes in `coop` now, and why, for people.
    pub(crate) async fn writing(&self, coop: Id) -> Res<WritingView> {
        let (waiting, reason, peers) = match self.net.writing(coop).await? {
            Writing::Waiting { peers } => (true, "waiting", peers),
            Writing::Confirmed { .. } => (false, "confirmed", 0),
            Writing::Founded => (false, "founded", 0),
            Writing::Alone => (false, "only-member", 0),
            Writing::Unguarded => (false, "override", 0),
        };
        let message = match reason {
            "waiting" => format!(
                "waiting for peers to confirm your latest entry ({peers} {} connected)",
                if peers == 1 { "peer" } else { "peers" }
            ),
            "confirmed" => "writing: a peer confirmed your latest entry".into(),
            "founded" => "writing: founded by this node".into(),
            "only-member" => "writing: no other member or requester could confirm".into(),
            _ => "writing without waiting for peers (--write-before-sync)".into(),
        };
        Ok(WritingView {
            waiting,
            reason: reason.into(),
            peers,
            message,
        })
    }

    fn rules(&self, c: &Coop) -> Res<Rules> {
        c.rules_at(self.now())
            .ok_or_else(|| Error::Conflict("this node does not hold the charter yet".into()))
    }

    /// This node: key, addresses, peers, cooperatives.
    pub(crate) async fn status(&self) -> Res<Status> {
        let listen = self.net.listeners().await?;
        let peers = self.net.peers().await?;
        let mut coops = Vec::new();
        for id in self.coop_ids().await? {
            let c = self.state(id).await?;
            let role = match c.rules_at(self.now()) {
                Some(r) => match (
                    r.is_member(&self.speaker(&c)),
                    r.requesters.contains(&self.speaker(&c)),
                ) {
                    (true, true) => "member+requester",
                    (true, false) => "member",
                    (false, true) => "requester",
                    (false, false) => "observer",
                },
                None => "observer",
            };
            coops.push(CoopSummary {
                id: id.to_hex(),
                name: charter(&c).map(|ch| ch.name.clone()).unwrap_or_default(),
                entries: c.len(),
                chains: c.heads().len(),
                role: role.to_owned(),
                identity: self.identity(&c).to_hex(),
                writing: self.writing(id).await?,
            });
        }
        Ok(Status {
            key: self.me.to_hex(),
            peer_id: self.net.peer_id().to_string(),
            listen: listen.iter().map(ToString::to_string).collect(),
            peers: peers.len(),
            coops,
        })
    }

    /// The cooperatives held.
    pub(crate) async fn coop_ids(&self) -> Res<Vec<Id>> {
        Ok(self.net.coops().await?)
    }

    /// Connected peers and their scores.
    pub(crate) async fn peers(&self) -> Res<Vec<Peer>> {
        let mut out = Vec::new();
        for p in self.net.peers().await? {
            out.push(Peer {
                peer_id: p.to_string(),
                score: self.net.score(p).await?,
            });
        }
        Ok(out)
    }

    /// Founds a cooperative with this node's key as first member.
    pub(crate) async fn create_coop(&self, req: CreateCoop) -> Res<CoopView> {
        let ch = req.charter(self.me)?;
        let v = taawun_core::writer::Writer::new(self.key.clone(), None, None).next(
            Body::Charter(ch),
            self.now(),
            None,
        );
        let id = self.net.found(v).await.map_err(|e| match e {
            NetError::Ledger(taawun_ledger::LedgerError::InvalidCharter(i)) => {
                Error::Refused(format!("charter refused: {i}"))
            }
            other => other.into(),
        })?;
        self.coop(id).await
    }

    /// The cooperative as members see it.
    pub(crate) async fn coop(&self, id: Id) -> Res<CoopView> {
        let c = self.state(id).await?;
        let now = self.now();
        let r = self.rules(&c)?;
        let hex = |k: &PublicKey| k.to_hex();
        Ok(CoopView {
            id: id.to_hex(),
            name: charter(&c).map(|ch| ch.name.clone()).unwrap_or_default(),
            members: r.members.iter().map(hex).collect(),
            requesters: r.requesters.iter().map(hex).collect(),
            names: r.names.iter().map(|(k, n)| (hex(k), n.clone())).collect(),
            floors: r.floors.iter().map(|(c, m)| Amount::new(c, *m)).collect(),
            quorum_pct: r.quorum_pct,
            quorum_needed: r.quorum_needed(),
            limits: limits_map(&r.limits),
            proposals: c
                .proposals(now)
                .into_iter()
                .map(|p| ProposalView {
                    id: p.id.to_hex(),
                    author: p.author.to_hex(),
                    at: p.at,
                    action: describe(&p.proposal.action),
                    reason: p.proposal.reason,
                    yes: p.yes.iter().map(|(k, _)| k.to_hex()).collect(),
                    no: p.no.iter().map(hex).collect(),
                    needed: p.needed,
                    enacted: p.enacted,
                    expires_at: p.expires_at,
                    passes: p.passes,
                    weighty: r.weighty(&p.proposal.action),
                })
                .collect(),
            frozen: c.frozen_authors().keys().map(hex).collect(),
            entries: c.len(),
        })
    }

    /// An invite to `coop` through this node.
    pub(crate) async fn invite(&self, coop: Id) -> Res<InviteView> {
        let c = self.state(coop).await?;
        let ch = c
            .get(&coop)
            .ok_or_else(|| Error::NotFound(format!("no charter {coop} here")))?;
        let peer = self.net.peer_id();
        let addrs: Vec<String> = self
            .net
            .listeners()
            .await?
            .into_iter()
            .take(INVITE_ADDRESSES)
            .map(|a| format!("{a}/p2p/{peer}"))
            .collect();
        let inv = Invite {
            charter: ch.envelope().to_vec(),
            addrs: addrs.clone(),
        };
        Ok(InviteView {
            invite: inv.to_text(),
            coop: coop.to_hex(),
            addresses: addrs,
        })
    }

    /// Follows a cooperative from an invite: stores its charter, dials the inviter.
    pub(crate) async fn join(&self, invite: &str) -> Res<CoopSummary> {
        let inv = Invite::parse(invite)?;
        let InvitedCharter { charter: v, name } = inv.verified_charter()?;
        let id = self.net.join(v).await?;
        for a in &inv.addrs {
            match a.parse::<Multiaddr>() {
                Ok(addr) => {
                    if let Err(e) = self.net.dial(addr).await {
                        tracing::warn!(%a, error = %e, "could not dial an invite address");
                    }
                }
                Err(e) => tracing::warn!(%a, error = %e, "bad address in invite"),
            }
        }
        let c = self.state(id).await?;
        Ok(CoopSummary {
            id: id.to_hex(),
            name,
            entries: c.len(),
            chains: c.heads().len(),
            role: "observer".into(),
            identity: self.identity(&c).to_hex(),
            writing: self.writing(id).await?,
        })
    }

    /// Proposes an amendment.
    pub(crate) async fn propose(&self, coop: Id, req: Propose) -> Res<Written> {
        self.write(coop, Body::Proposal(req.proposal()?)).await
    }

    /// Votes; when this vote completes the quorum, also enacts the proposal.
    pub(crate) async fn vote(&self, coop: Id, req: VoteReq) -> Res<Written> {
        let proposal = req.proposal_id()?;
        let c = self.state(coop).await?;
        if !c.proposals(self.now()).iter().any(|p| p.id == proposal) {
            return Err(Error::NotFound(format!("no proposal {proposal} here")));
        }
        let w = self
            .write(
                coop,
                Body::Vote(Vote {
                    proposal,
                    yes: req.yes,
                }),
            )
            .await?;
        // A no vote can complete the quorum of a proposal the yes votes carry.
        self.enact_if_passed(coop, proposal).await?;
        Ok(w)
    }

    /// Writes the `Enact` of `proposal` if the votes held pass it (the quorum of votes
    /// cast, yes over the majority its action needs), it has not expired and no
    /// enactment of it is held. The enactment names every vote seen, yes and no. Any
    /// member may; the voter who completes it does.
    pub(crate) async fn enact_if_passed(&self, coop: Id, proposal: Id) -> Res<Option<Written>> {
        let c = self.state(coop).await?;
        let now = self.now();
        let Some(p) = c.proposals(now).into_iter().find(|p| p.id == proposal) else {
            return Ok(None);
        };
        if p.enacted || !p.passes || now > p.expires_at {
            return Ok(None);
        }
        let delay = self.rules(&c)?.limits.amendment_delay_ms;
        let base = c.heads().get(&self.me).map_or(now, |h| h.ts.max(now));
        // The no votes' ids: one per member who voted no (the first held).
        let mut no_votes: std::collections::BTreeMap<PublicKey, Id> = Default::default();
        for id in c.ids(Kind::Vote) {
            let Some(v) = c.get(id) else { continue };
            if let Body::Vote(x) = &v.entry().body {
                if x.proposal == proposal && !x.yes && p.no.contains(&v.entry().author) {
                    no_votes.entry(v.entry().author).or_insert(*id);
                }
            }
        }
        let mut votes: Vec<Id> = p.yes.iter().map(|(_, v)| *v).collect();
        votes.extend(no_votes.into_values());
        let w = self
            .write(
                coop,
                Body::Enact(Enact {
                    proposal,
                    votes,
                    effective_at: base
                        .saturating_add(delay)
                        .saturating_add(EFFECTIVE_MARGIN_MS),
                }),
            )
            .await?;
        Ok(Some(w))
    }

    fn offer_view(
        &self,
        c: &Coop,
        o: taawun_core::fold::OfferView,
        record: RecordView,
    ) -> OfferView {
        let cur = &o.offer.pay.currency;
        let floor = c
            .rules_at(o.at)
            .and_then(|r| r.floors.get(cur).copied())
            .map(|f| Amount::new(cur, f));
        // Places, claimants and winners are the keys claims speak for: a device's are its
        // member's. A claim made from another of the member's keys is the member's too.
        let who = self.speaker(c);
        let claimed_by_me = taawun_core::validate::Context::claimed(c, &o.id, &self.me).is_some()
            || o.claimants.contains(&who);
        let mine = o.places.iter().find(|p| p.member == who);
        let my_claim_counts = claimed_by_me.then(|| o.claimants.contains(&who));
        let submit_by = mine
            .filter(|p| p.state == taawun_core::fold::PlaceState::Open)
            .map(|p| p.until);
        let names = names(c, self.now());
        let name = |k: &PublicKey| names.get(k).cloned();
        let mut record = record;
        record.requester_name = name(&o.requester);
        OfferView {
            id: o.id.to_hex(),
            requester: o.requester.to_hex(),
            requester_name: name(&o.requester),
            at: o.at,
            title: o.offer.title.clone(),
            description: o.offer.description.clone(),
            purpose: o.offer.purpose.clone(),
            pay: Amount::from(&o.offer.pay),
            minutes: o.offer.minutes,
            hourly: Amount::new(
                cur,
                hourly_rate(o.offer.pay.minor, o.offer.minutes).unwrap_or(0),
            ),
            floor,
            assignments: o.offer.assignments,
            state: offer_state(&o.state).to_owned(),
            claim_closes_at: o.closes_at,
            expires_at: o.offer.expires_at,
            review_window_ms: o.offer.review_window_ms,
            claims: o.claimants.len(),
            winners: o.winners.iter().map(PublicKey::to_hex).collect(),
            claimed_by_me,
            assigned_to_me: o.winners.contains(&who),
            record,
            places: o
                .places
                .iter()
                .map(|p| PlaceView {
                    member_name: name(&p.member),
                    ..PlaceView::new(p)
                })
                .collect(),
            void_assignments: o.void_assignments,
            my_claim_counts,
            submit_by,
        }
    }

    /// The offers `filter` keeps, newest first, one page of them, with how many match in
    /// all. Only the page's offers are turned into views (each reads its requester's
    /// record and the rules in force when it was posted).
    pub(crate) async fn offers(
        &self,
        coop: Id,
        filter: &OfferFilter,
    ) -> Res<(Vec<OfferView>, usize)> {
        let c = self.state(coop).await?;
        let now = self.now();
        let me = self.me;
        // Claimants and winners are the keys claims speak for: a device's are its
        // member's, so the member's claims from any of its keys are "mine".
        let who = self.speaker(&c);
        let filter = &OfferFilter {
            requester: filter.requester.map(|k| identities(&c)(&k)),
            ..filter.clone()
        };
        let mut matching: Vec<taawun_core::fold::OfferView> = c
            .offers(now)
            .into_iter()
            .filter(|o| {
                filter.keeps(o, || {
                    o.winners.contains(&who)
                        || o.claimants.contains(&who)
                        || taawun_core::validate::Context::claimed(c.as_ref(), &o.id, &me).is_some()
                })
            })
            .collect();
        matching.sort_by_cached_key(|o| newest_first(c.get(&o.id)));
        let total = matching.len();
        let page: Vec<taawun_core::fold::OfferView> = matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit)
            .collect();
        // A record passes over every offer, submission and balance: make those passes
        // once for every requester the page names.
        let mut requesters: Vec<PublicKey> = page.iter().map(|o| o.requester).collect();
        requesters.sort_unstable();
        requesters.dedup();
        let records = c.records(&requesters, now);
        let said = comments(&c, &requesters, &|s| self.read(s));
        let out = page
            .into_iter()
            .map(|o| {
                let mut record = RecordView::new(
                    &o.requester,
                    records.get(&o.requester).unwrap_or(&Default::default()),
                );
                record.comments = said.get(&o.requester).cloned().unwrap_or_default();
                self.offer_view(&c, o, record)
            })
            .collect();
        Ok((out, total))
    }

    /// One offer.
    pub(crate) async fn offer(&self, coop: Id, id: Id) -> Res<OfferView> {
        let c = self.state(coop).await?;
        let now = self.now();
        let o = c
            .offer(&id, now)
            .ok_or_else(|| Error::NotFound(format!("no offer {id} here")))?;
        let mut record = RecordView::new(&o.requester, &c.record(&o.requester, now));
        record.comments = comments(&c, &[o.requester], &|s| self.read(s))
            .remove(&o.requester)
            .unwrap_or_default();
        Ok(self.offer_view(&c, o, record))
    }

    /// Posts an offer; the core refuses it under the floor, in a currency without one or
    /// with a claim window out of the cooperative's bounds, and its verdict is said in the
    /// requester's terms ([`Error::rule`], `Error::under`). The lottery's secret is drawn
    /// here, kept in the data folder (mode 0600) until the `Assign` reveals it, and only
    /// its commitment goes into the offer.
    pub(crate) async fn post_offer(&self, coop: Id, req: PostOffer) -> Res<Written> {
        let c = self.state(coop).await?;
        let r = self.rules(&c)?;
        // Check the request before drawing a secret for it.
        let _ = req.offer(self.now(), Hash([0; 32]))?;
        let commit = crate::datadir::new_lottery_secret(&self.dir)
            .map_err(|e| Error::Internal(format!("keeping the lottery secret: {e:#}")))?;
        let offer = req.offer(self.now(), commit)?;
        let window = offer.claim_window_ms;
        // The core judges the floor, the currency and the claim window; its verdict is
        // said here in the requester's terms. A refused offer was never written: its
        // secret is not kept.
        self.write(coop, Body::Offer(offer)).await.map_err(|e| {
            if matches!(e, Error::Rule(..)) {
                crate::datadir::forget_lottery_secret(&self.dir, &commit);
            }
            e.under(&r, window)
        })
    }

    fn own_offer(&self, c: &Coop, offer: Id) -> Res<taawun_core::fold::OfferView> {
        let o = c
            .offer(&offer, self.now())
            .ok_or_else(|| Error::NotFound(format!("no offer {offer} here")))?;
        if o.requester != self.identity(c) {
            return Err(Error::Known(
                Known::NotOwnOffer,
                format!(
                    "offer {} is not this node's: only its requester may do that",
                    offer.short()
                ),
            ));
        }
        Ok(o)
    }

    /// The requester withdraws an offer.
    pub(crate) async fn withdraw(&self, coop: Id, offer: Id) -> Res<Written> {
        let c = self.state(coop).await?;
        self.own_offer(&c, offer)?;
        self.write(coop, Body::Withdraw(Withdraw { offer })).await
    }

    /// A member claims an offer.
    pub(crate) async fn claim(&self, coop: Id, offer: Id) -> Res<Written> {
        let c = self.state(coop).await?;
        let o = c
            .offer(&offer, self.now())
            .ok_or_else(|| Error::NotFound(format!("no offer {offer} here")))?;
        if o.state != taawun_core::fold::OfferState::Open {
            return Err(Error::Known(
                Known::NotOpen,
                format!(
                    "offer {} takes no claims: it is {}",
                    offer.short(),
                    offer_state(&o.state)
                ),
            ));
        }
        self.write(coop, Body::Claim(Claim { offer })).await
    }

    /// The requester assigns: by hand, or by the lottery over the claims held.
    pub(crate) async fn assign(&self, coop: Id, offer: Id, req: AssignReq) -> Res<Written> {
        let c = self.state(coop).await?;
        let o = self.own_offer(&c, offer)?;
        if let Some(a) = c.assignment(&offer, self.now()) {
            return Err(Error::Conflict(format!(
                "offer {} is already assigned (by {}): its draw is fixed by the committed secret and the claims",
                offer.short(),
                a.short()
            )));
        }
        let claims = c.claims_on(&offer, self.now());
        if claims.is_empty() {
            return Err(Error::Conflict(format!(
                "offer {} has no claims yet",
                offer.short()
            )));
        }
        let secret = crate::datadir::lottery_secret(&self.dir, &o.offer.commit)
            .map_err(|e| Error::Internal(format!("reading the lottery secret: {e:#}")))?
            .ok_or_else(|| {
                Error::Conflict(format!(
                    "the lottery secret of offer {} is not in this node's data folder ({}): only the node that posted it can assign it",
                    offer.short(),
                    crate::datadir::LOTTERY_DIR
                ))
            })?;
        let drawn: Vec<(Id, PublicKey)> = claims.iter().map(|(k, id)| (*id, *k)).collect();
        let winners = match req.winners()? {
            Some(by_hand) => by_hand,
            None => taawun_core::lottery::draw(&secret, &offer, &drawn, o.offer.assignments),
        };
        self.write(
            coop,
            Body::Assign(Assign {
                offer,
                claims: claims.iter().map(|(_, id)| *id).collect(),
                winners,
                secret,
            }),
        )
        .await
    }

    /// The requester's policy: assign by lottery every offer of this node whose claim
    /// window has closed. Returns what it wrote.
    pub(crate) async fn assign_due(&self) -> Res<Vec<Written>> {
        let mut out = Vec::new();
        for coop in self.coop_ids().await? {
            if !self.writes_open(coop).await? {
                continue;
            }
            let c = self.state(coop).await?;
            if self.revoked(&c).is_some() {
                continue;
            }
            let now = self.now();
            let me = self.identity(&c);
            for o in c.offers(now) {
                // Give a claim made just before the close time to arrive: an assignment
                // that leaves out a claim that counts is void (docs/protocol.md 8.2). One
                // that arrives later still makes this node assign again over the full set.
                let settled = now > o.closes_at.saturating_add(ASSIGN_GRACE_MS);
                if o.requester == me
                    && o.state == taawun_core::fold::OfferState::AwaitingAssignment
                    && !o.claimants.is_empty()
                    && settled
                    && !self.assigned_already(&c, &o)
                {
                    match self.assign(coop, o.id, AssignReq::default()).await {
                        Ok(w) => out.push(w),
                        Err(e) => {
                            tracing::warn!(offer = %o.id.short(), error = %e, "lottery not written")
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether this node already wrote an assignment of `o` that names exactly the claims
    /// that count and came after the window: it will count once witnessed, so writing
    /// another would add nothing.
    fn assigned_already(&self, c: &Coop, o: &taawun_core::fold::OfferView) -> bool {
        let want: BTreeSet<Id> = c
            .claims_on(&o.id, self.now())
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        c.assignments_on(&o.id).into_iter().any(|a| {
            a.entry().author == self.me
                && a.entry().ts > o.closes_at
                && matches!(&a.entry().body, Body::Assign(x)
                    if x.claims.iter().copied().collect::<BTreeSet<Id>>() == want)
        })
    }

    /// Witnessing: in each cooperative where this node's author holds a role, signs a
    /// tick naming the submissions, rejections and enactments of others that nobody has
    /// witnessed yet (docs/protocol.md, "Witnessed time"), at most once every
    /// [`TICK_INTERVAL_MS`]. Returns what it wrote.
    pub(crate) async fn witness_due(&self) -> Res<Vec<Written>> {
        let mut out = Vec::new();
        for coop in self.coop_ids().await? {
            if !self.writes_open(coop).await? {
                continue;
            }
            let c = self.state(coop).await?;
            let now = self.now();
            let rules = c.rules_at(now);
            // A device's node witnesses for its member, until it is revoked.
            if !rules.is_some_and(|r| r.may_request(&c.speaker(&self.me)))
                || self.revoked(&c).is_some()
            {
                continue;
            }
            // A recent tick of our own: wait, so a busy cooperative gets one a minute.
            let recent = c.heads().get(&self.me).is_some_and(|h| {
                h.ts.saturating_add(TICK_INTERVAL_MS) > now
                    && c.get(&h.id)
                        .is_some_and(|v| matches!(v.entry().body, Body::Tick(_)))
            });
            let heads = c.to_witness(&self.me);
            if recent || heads.is_empty() {
                continue;
            }
            match self.write(coop, Body::Tick(Tick { heads })).await {
                Ok(w) => out.push(w),
                Err(e) => tracing::warn!(coop = %coop.short(), error = %e, "tick not written"),
            }
        }
        Ok(out)
    }

    /// A member submits a result: signs its hash and size, and sends the bytes to the
    /// requester's node.
    pub(crate) async fn submit(
        &self,
        coop: Id,
        offer: Id,
        minutes: u32,
        bytes: Vec<u8>,
    ) -> Res<Written> {
        let c = self.state(coop).await?;
        let o = c
            .offer(&offer, self.now())
            .ok_or_else(|| Error::NotFound(format!("no offer {offer} here")))?;
        if !o.winners.contains(&self.speaker(&c)) {
            return Err(Error::Known(
                Known::NotAssignedHere,
                format!(
                    "offer {} is not assigned to this node's member",
                    offer.short()
                ),
            ));
        }
        let assign = c.assignment(&offer, self.now()).ok_or_else(|| {
            Error::Known(
                Known::AssignmentNotHeld,
                "the assignment is not held here yet".into(),
            )
        })?;
        self.may_write(coop, false).await?;
        self.ready(coop).await?;
        let v = self
            .net
            .append(
                coop,
                self.key.clone(),
                Body::Submit(Submit {
                    offer,
                    assign,
                    result: Hash::of(&bytes),
                    size: bytes.len() as u64,
                    minutes,
                }),
                None,
            )
            .await?;
        self.net.send_result(coop, v.id(), bytes).await?;
        Ok(written(&v))
    }

    /// Every submission.
    pub(crate) async fn submissions(
        &self,
        coop: Id,
        filter: &SubmissionFilter,
    ) -> Res<(Vec<SubmissionView>, usize)> {
        let c = self.state(coop).await?;
        let now = self.now();
        // Submissions name stable identities: a device key filters as its member.
        let identity = identities(&c);
        let filter = SubmissionFilter {
            member: filter.member.map(|k| identity(&k)),
            requester: filter.requester.map(|k| identity(&k)),
            involving: filter.involving.map(|k| identity(&k)),
            ..filter.clone()
        };
        let matching: Vec<taawun_core::fold::Submission> = c
            .submissions(now)
            .into_iter()
            .filter(|s| filter.keeps(s))
            .collect();
        let total = matching.len();
        let names = names(&c, now);
        let name = |k: &PublicKey| names.get(k).cloned();
        let out = matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit.unwrap_or(usize::MAX))
            .map(|s| {
                let (review, review_at, sealed) = review_state(&s.review);
                let (reason, reason_flag) = sealed.map(|r| self.read(r)).unwrap_or_default();
                let title = match c.get(&s.offer).map(|v| &v.entry().body) {
                    Some(Body::Offer(o)) => o.title.clone(),
                    _ => String::new(),
                };
                SubmissionView {
                    id: s.id.to_hex(),
                    offer: s.offer.to_hex(),
                    title,
                    member: s.member.to_hex(),
                    member_name: name(&s.member),
                    requester: s.requester.to_hex(),
                    requester_name: name(&s.requester),
                    at: s.at,
                    witnessed_at: s.witnessed,
                    minutes: s.minutes,
                    review: review.to_owned(),
                    review_at,
                    reason,
                    reason_flag,
                    pay: Amount::from(&s.pay),
                    topup: Amount::new(&s.pay.currency, s.topup),
                    result_here: self.net.has_result(coop, s.id),
                }
            })
            .collect();
        Ok((out, total))
    }

    /// The result file of a submission, once on this node.
    pub(crate) async fn result(&self, coop: Id, submission: Id) -> Res<Vec<u8>> {
        self.net.result(coop, submission).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "the result of submission {} has not reached this node (yet)",
                submission.short()
            ))
        })
    }

    fn own_submission(&self, c: &Coop, id: Id) -> Res<taawun_core::fold::Submission> {
        let s = c
            .submission(&id, self.now())
            .ok_or_else(|| Error::NotFound(format!("no submission {id} here")))?;
        if s.requester != self.identity(c) {
            return Err(Error::Known(
                Known::NotOwnSubmission,
                format!("submission {} is for another requester", id.short()),
            ));
        }
        Ok(s)
    }

    /// The requester accepts.
    pub(crate) async fn accept(&self, coop: Id, submission: Id) -> Res<Written> {
        let c = self.state(coop).await?;
        self.own_submission(&c, submission)?;
        self.write(coop, Body::Accept(Accept { submission })).await
    }

    /// The requester rejects, with a reason sealed to the member whose work it was and
    /// the requester (docs/protocol.md 3.7); the member's node discloses it to the jury
    /// of an appeal, with the result (13.7).
    pub(crate) async fn reject(&self, coop: Id, submission: Id, reason: String) -> Res<Written> {
        let req = RejectReq { reason };
        req.reason()?;
        let c = self.state(coop).await?;
        let s = self.own_submission(&c, submission)?;
        // The key the work was submitted with speaks for the member validation names; its
        // stable identity (a key replaced by vote since) reads it too.
        let worker = c.get(&submission).map_or(s.member, |v| c.who(v));
        let to = self.recipients(&c, &[worker, s.member, self.speaker(&c)]);
        let reject = req.reject(submission, &to, fresh_seed()?)?;
        self.write(coop, Body::Reject(reject)).await
    }

    /// The requester records a payment made outside the system, its reference sealed to
    /// the member paid and the requester (docs/protocol.md 3.7).
    pub(crate) async fn pay(&self, coop: Id, req: PayReq) -> Res<Written> {
        let p = req.payment()?;
        let c = self.state(coop).await?;
        let to = self.recipients(&c, &[p.member, self.speaker(&c)]);
        let settle = p.seal(&to, fresh_seed()?)?;
        self.write(coop, Body::Settle(settle)).await
    }

    /// The keys a field about `parties` written now is sealed to: see [`sealed_to`].
    fn recipients(&self, c: &Coop, parties: &[PublicKey]) -> Vec<PublicKey> {
        sealed_to(c, self.me, parties, self.now())
    }

    /// What this node reads of a sealed field: the text, and what is wrong with it when
    /// it breaks the text rule; `None` when it is sealed to others.
    pub(crate) fn read(&self, s: &seal::Sealed) -> (Option<String>, Option<String>) {
        match s.read(&[&self.key]) {
            seal::Reading::Text(t) => (Some(t), None),
            seal::Reading::Flagged { text, why } => (Some(text), Some(why)),
            seal::Reading::Sealed => (None, None),
            seal::Reading::Broken(e) => (None, Some(e.to_string())),
        }
    }

    /// Every recorded payment.
    pub(crate) async fn payments(
        &self,
        coop: Id,
        filter: &PaymentFilter,
    ) -> Res<(Vec<PaymentView>, usize)> {
        let c = self.state(coop).await?;
        // Compared as stable identities: a payment recorded from a requester's device,
        // or to a member's device key, is theirs.
        let identity = identities(&c);
        let filter = PaymentFilter {
            member: filter.member.map(|k| identity(&k)),
            requester: filter.requester.map(|k| identity(&k)),
            ..filter.clone()
        };
        let mut matching: Vec<(&Verified, &Settle)> = c
            .ids(Kind::Settle)
            .filter_map(|id| c.get(id))
            .filter_map(|v| match &v.entry().body {
                Body::Settle(s) => Some((v, s)),
                _ => None,
            })
            .filter(|(v, s)| {
                filter.keeps(&v.id(), &identity(&v.entry().author), &identity(&s.member))
            })
            .collect();
        matching.sort_by_key(|(v, _)| newest_first(Some(v)));
        let total = matching.len();
        let names = names(&c, self.now());
        let name = |k: &PublicKey| names.get(k).cloned();
        let out = matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit.unwrap_or(usize::MAX))
            .map(|(v, s)| {
                let (reference, reference_flag) = self.read(&s.reference);
                PaymentView {
                    id: v.id().to_hex(),
                    requester: v.entry().author.to_hex(),
                    requester_name: name(&v.entry().author),
                    member: s.member.to_hex(),
                    member_name: name(&s.member),
                    amount: Amount::from(&s.amount),
                    reference,
                    reference_flag,
                    at: v.entry().ts,
                    confirmed: c.answered(&v.id()) == Some(true),
                    not_received: c.answered(&v.id()) == Some(false),
                }
            })
            .collect();
        Ok((out, total))
    }

    /// The member answers a payment: received (`true`) or not received (`false`, which
    /// shows on the requester's record; what is owed stays owed).
    pub(crate) async fn confirm(&self, coop: Id, settle: Id, received: bool) -> Res<Written> {
        let c = self.state(coop).await?;
        match c.get(&settle).map(|v| &v.entry().body) {
            Some(Body::Settle(s))
                if s.member == self.me || self.identity_of(&c, &s.member) == self.identity(&c) => {}
            Some(Body::Settle(_)) => {
                return Err(Error::Known(
                    Known::NotOwnPayment,
                    format!("payment {} is to another member", settle.short()),
                ))
            }
            _ => return Err(Error::NotFound(format!("no payment {settle} here"))),
        }
        if let Some(was) = c.answered(&settle) {
            return Err(Error::Known(
                Known::PaymentAnswered,
                format!(
                    "payment {} is already answered: {}",
                    settle.short(),
                    if was { "received" } else { "not received" }
                ),
            ));
        }
        self.write(coop, Body::Receipt(Receipt { settle, received }))
            .await
    }

    /// A member reviews a requester, the review's text sealed to the member and the
    /// requester (docs/protocol.md 3.7).
    pub(crate) async fn review(&self, coop: Id, req: ReviewReq) -> Res<Written> {
        let c = self.state(coop).await?;
        let requester = taawun_api::request::parse_key("requester", &req.requester)?;
        let to = self.recipients(&c, &[requester, self.speaker(&c)]);
        let review = req.review(&to, fresh_seed()?)?;
        self.write(coop, Body::Review(review)).await
    }

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
    fn authorised(&self, c: &Coop, member: &PublicKey, key: &PublicKey) -> bool {
        self.device_entries(c, member).iter().any(|(k, _)| k == key)
    }

    /// The `device` entries `member` wrote: (key, label).
    fn device_entries(&self, c: &Coop, member: &PublicKey) -> Vec<(PublicKey, String)> {
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

    async fn ingest(&self, coop: Id, batch: Vec<Verified>, out: &mut ImportView) -> Res<()> {
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

/// The order of listings, newest first: by timestamp, then, among entries of the same
/// millisecond (timestamps may repeat along a chain, and a requester posting quickly
/// writes several), by their place in their author's chain, then by id. One order, so the
/// pages of a listing follow one another.
fn newest_first(v: Option<&Verified>) -> std::cmp::Reverse<(Timestamp, u64, Option<Id>)> {
    std::cmp::Reverse(v.map_or((0, 0, None), |v| {
        (v.entry().ts, v.entry().seq, Some(v.id()))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_core::rules::default_limits;
    use taawun_core::writer::Writer;
    use taawun_core::Outcome;

    const T0: Timestamp = 1_790_000_000_000;
    const MIN: u64 = 60_000;
    /// The requester's key seed; members are 1 to 3, member 2's phones 102 and 112.
    const R: u8 = 50;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn pk(n: u8) -> PublicKey {
        PublicKey(key(n).verifying_key().to_bytes())
    }

    /// A cooperative of members 1 to 3 and requester 50, signed and folded in memory.
    struct Fx {
        coop: Coop,
        id: Id,
        writers: BTreeMap<u8, Writer>,
        now: Timestamp,
    }

    impl Fx {
        fn new() -> Self {
            let mut w = Writer::new(key(1), None, None);
            let charter = w.next(
                Body::Charter(Charter {
                    name: "Coop".into(),
                    members: (1..=3).map(pk).collect(),
                    requesters: vec![pk(R)],
                    names: (1..=3)
                        .chain([R])
                        .map(|i| Named {
                            key: pk(i),
                            name: format!("Person {i}"),
                        })
                        .collect(),
                    quorum_pct: 60,
                    floors: [("EUR".to_string(), 1200)].into_iter().collect(),
                    limits: default_limits(),
                }),
                T0,
                None,
            );
            let id = charter.id();
            let mut coop = Coop::new();
            assert_eq!(coop.ingest(charter, Some(T0)), Ok(Outcome::Fresh));
            Fx {
                coop,
                id,
                writers: [(1, w)].into_iter().collect(),
                now: T0,
            }
        }

        /// Signs `who`'s next entry a minute after the last one and folds it.
        fn ok(&mut self, who: u8, body: Body) -> Verified {
            self.now += MIN;
            let id = self.id;
            let v = self
                .writers
                .entry(who)
                .or_insert_with(|| Writer::new(key(who), Some(id), None))
                .next(body, self.now, None);
            assert_eq!(
                self.coop.ingest(v.clone(), Some(self.now)),
                Ok(Outcome::Fresh)
            );
            v
        }

        fn add_device(&mut self, member: u8, dev: u8) {
            let d = self.ok(
                member,
                Body::Device(Device {
                    key: pk(dev),
                    label: format!("phone {dev}"),
                }),
            );
            self.ok(dev, Body::Enroll(Enroll { device: d.id() }));
        }
    }

    /// What `reader` reads of a payment reference sealed by the requester at `at`, as
    /// the node seals it.
    fn read_reference(c: &Coop, at: Timestamp, reader: u8) -> seal::Reading {
        let req = PayReq {
            member: pk(2).to_hex(),
            amount: "3.00EUR".into(),
            reference: "MPESA QK7X2Y".into(),
        };
        let to = sealed_to(c, pk(R), &[pk(2), pk(R)], at);
        let settle = req
            .payment()
            .expect("a valid payment")
            .seal(&to, [9; 32])
            .expect("sealed");
        settle.reference.read(&[&key(reader)])
    }

    /// Members 1 and 3 vote member 2's phone `dev` out; returns the proposal and when
    /// the revocation takes effect.
    fn vote_out(f: &mut Fx, dev: u8) -> (Id, Timestamp) {
        let p = f.ok(
            1,
            Body::Proposal(Proposal {
                action: Action::RevokeDevice(pk(dev)),
                reason: "phone confiscated".into(),
            }),
        );
        let votes = [1, 3]
            .iter()
            .map(|m| {
                f.ok(
                    *m,
                    Body::Vote(Vote {
                        proposal: p.id(),
                        yes: true,
                    }),
                )
                .id()
            })
            .collect();
        let effective = f.now + MIN + default_limits().amendment_delay_ms;
        let e = f.ok(
            1,
            Body::Enact(Enact {
                proposal: p.id(),
                votes,
                effective_at: effective,
            }),
        );
        f.ok(
            3,
            Body::Tick(Tick {
                heads: vec![e.id()],
            }),
        );
        (p.id(), effective)
    }

    #[test]
    fn a_reference_sealed_after_a_vote_revoked_a_device_is_not_readable_by_that_device() {
        let mut f = Fx::new();
        f.add_device(2, 102);
        f.add_device(2, 112);
        // Member 2 cannot reach its phone 102: the cooperative votes it out.
        let (_, effective) = vote_out(&mut f, 102);
        let read = |at, who| read_reference(&f.coop, at, who);
        let text = seal::Reading::Text("MPESA QK7X2Y".into());

        // Before the vote takes effect the phone is still one of the member's devices.
        assert_eq!(read(effective - 1, 102), text);
        // From then on it is left out; the member, its other phone and the requester
        // still read the reference.
        assert_eq!(read(effective, 102), seal::Reading::Sealed);
        for who in [2, 112, R] {
            assert_eq!(read(effective, who), text, "key {who}");
        }
        // Not a recipient at all: no party's device.
        assert_eq!(read(effective, 3), seal::Reading::Sealed);
    }

    #[test]
    fn a_device_revoked_by_its_member_or_by_a_vote_is_refused_from_then_on() {
        let mut f = Fx::new();
        f.add_device(2, 102);
        f.add_device(2, 112);
        // Member 2 revokes its phone 112, and its old phone 122 before it ever enrolled.
        f.ok(
            2,
            Body::Device(Device {
                key: pk(122),
                label: "old phone".into(),
            }),
        );
        let r = f.ok(2, Body::RevokeDevice(RevokeDevice { key: pk(112) }));
        let r2 = f.ok(2, Body::RevokeDevice(RevokeDevice { key: pk(122) }));
        // The cooperative votes its phone 102 out.
        let (proposal, effective) = vote_out(&mut f, 102);
        let c = &f.coop;
        let member = |at| {
            Some(Revocation {
                at,
                by: RevokedBy::Member(pk(2)),
            })
        };
        // Revoked by its member: from the revocation's own time, not before.
        let at = r.entry().ts;
        assert_eq!(revocation_of(c, pk(112), Some(pk(2)), at - 1), None);
        assert_eq!(revocation_of(c, pk(112), Some(pk(2)), at), member(at));
        assert_eq!(
            revocation_of(c, pk(122), Some(pk(2)), effective),
            member(r2.entry().ts)
        );
        // Revoked by a vote: from when it takes effect.
        assert_eq!(revocation_of(c, pk(102), Some(pk(2)), effective - 1), None);
        assert_eq!(
            revocation_of(c, pk(102), Some(pk(2)), effective),
            Some(Revocation {
                at: effective,
                by: RevokedBy::Vote(proposal),
            })
        );
        // The member's list of devices shows all three revoked, the voted-out phone too.
        assert_eq!(device_revoked_at(c, &pk(2), &pk(112)), Some(at));
        assert_eq!(device_revoked_at(c, &pk(2), &pk(122)), Some(r2.entry().ts));
        assert_eq!(device_revoked_at(c, &pk(2), &pk(102)), Some(effective));
        // The member itself and a device it did not revoke write on.
        assert_eq!(revocation_of(c, pk(2), None, effective), None);
        f.add_device(2, 132);
        assert_eq!(revocation_of(&f.coop, pk(132), Some(pk(2)), f.now), None);
    }

    /// What the node says when requester R's offer of `pay` for `minutes`, with a claim
    /// window of `window` ms, comes back refused by the core (the way `post_offer` words
    /// it).
    fn offer_refused(f: &Fx, pay: &str, minutes: u32, window: u64) -> Error {
        let req = PostOffer {
            title: "Transcribe".into(),
            description: String::new(),
            purpose: "Subtitles".into(),
            pay: pay.into(),
            minutes,
            assignments: None,
            expires_in_ms: None,
            review_window_ms: None,
            claim_window_ms: Some(window),
        };
        let at = f.now + MIN;
        let offer = req.offer(at, Hash([7; 32])).expect("a well-formed request");
        let v = Writer::new(key(R), Some(f.id), None).next(Body::Offer(offer), at, None);
        let mut c = f.coop.clone();
        let i = c.ingest(v, Some(at)).expect_err("refused by the core");
        let rules = c.rules_at(at).expect("rules");
        Error::from(NetError::Append(AppendError::Invalid(i))).under(&rules, window)
    }

    /// The core's verdict an error carries, if it is one.
    fn rule(e: &Error) -> Option<&taawun_core::Invalid> {
        match e {
            Error::Rule(i, _) => Some(i),
            _ => None,
        }
    }

    #[test]
    fn the_core_s_refusals_of_an_offer_are_said_in_the_requester_s_terms() {
        use taawun_core::Invalid as I;
        let f = Fx::new();
        let ten_min = 10 * MIN;
        // Under the floor of 12.00 EUR/h: the least pay for the minutes.
        let e = offer_refused(&f, "2.00EUR", 15, ten_min);
        assert!(
            matches!(
                rule(&e),
                Some(I::OfferBelowFloor {
                    floor: 1200,
                    minutes: 15,
                    pay: 200,
                    ..
                })
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "offer refused: 2.00 EUR for 15 min is 8.00 EUR/h, under the cooperative's floor of 12.00 EUR/h; pay at least 3.00 EUR for 15 min"
        );
        // A currency without a floor: the floors there are.
        let e = offer_refused(&f, "5.00USD", 15, ten_min);
        assert_eq!(rule(&e), Some(&I::CurrencyNotAllowed("USD".into())));
        assert_eq!(
            e.to_string(),
            "offer refused: this cooperative has no floor in USD, so it takes no offers in it (floors: 12.00 EUR/h)"
        );
        // A claim window under the cooperative's least, and over its most.
        let e = offer_refused(&f, "5.00EUR", 15, MIN);
        assert!(
            matches!(
                rule(&e),
                Some(I::BadOffer {
                    field: "claim_window_ms",
                    ..
                })
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "offer refused: a claim window of 60 s is shorter than the cooperative's least of 600 s"
        );
        let e = offer_refused(&f, "5.00EUR", 15, 25 * 60 * MIN);
        assert_eq!(
            e.to_string(),
            "offer refused: a claim window of 90000 s is longer than the cooperative's most of 86400 s"
        );
        // Other rules keep the core's words.
        assert_eq!(
            Error::rule(I::ZeroMinutes).to_string(),
            "refused: minutes worked must be at least 1"
        );
        assert_eq!(
            Error::rule(I::BadAppeal("the answer must not be empty".into())).to_string(),
            "refused: an appeal needs an answer to the rejection's reason"
        );
        assert_eq!(
            Error::rule(I::MissingPurpose).to_string(),
            "refused: offer has no purpose: say what the work is for"
        );
    }
}
