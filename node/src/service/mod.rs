//! What a node does for its user: every action of the API, the CLI and the demo, over the
//! network handle.
//!
//! Each action reads the cooperative's state ([`taawun_core::fold::Coop`], from the
//! network task), checks the request, builds the entry body and hands it to
//! [`Network::append`], which signs it with this node's key, validates it like any entry
//! and gossips it. The rules themselves live in `taawun-core`: a refusal here is the
//! core's typed verdict, turned into words. Errors carry the kind the API maps to an
//! HTTP status.
//!
//! Here: the errors, the `Node`, the guard on its writes, status, cooperatives, invites
//! and governance. Beside it, more of `Node`'s actions by domain: `work` (offers, claims,
//! the lottery, submissions, reviews, payments), `devices`, `books` (records, balances,
//! names; import and export).

mod books;
mod devices;
mod work;

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
