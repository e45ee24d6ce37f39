//! The result transfer protocol: a worker's node hands the bytes of a submission's result
//! to the requester's node, directly, and to the nodes of the jurors of an appeal of it.
//! Results are never gossiped: only the requester and the jurors need them, and the
//! ledger carries their blake3 and size (the `Submit` entry), so any copy can be checked.
//!
//! `/taawun/result/1`, request-response with CBOR (the bytes as a CBOR byte string):
//!
//! 1. [`crate::Network::send_result`] checks the bytes against the `Submit` entry in the
//!    worker's own ledger ([`check`]), writes them to the results folder and to the
//!    *outbox*, and returns. The requester is the author of the offer the submission
//!    names; its node is a connected peer that proved it holds the requester's key (or a
//!    live device key of the requester) with the hello protocol ([`crate::hello`]): a
//!    node's libp2p identity is a transport key of its own, so nothing else links a peer
//!    to a member. The node last proven to hold the key is remembered, and dialed when a
//!    result is due and no such peer is connected. Once the jury of an appeal the
//!    worker made sits, the worker's node queues the result for each juror holding an
//!    open seat the same way, at each sync round.
//! 2. The network task sends a [`Request`] to that peer. The receiver, if the sender is
//!    admitted to the cooperative (else it answers [`Refusal::UnknownCoop`]), checks the bytes
//!    against the `Submit` entry *it* holds (size, then blake3), checks that it is a
//!    recipient (its member is the requester, or a juror seated on an appeal of the
//!    submission receiving from the member who submitted it; else
//!    [`Refusal::NotRecipient`]), stores them and answers [`Response::Stored`], or refuses
//!    with a typed [`Refusal`].
//! 3. Refusals that can heal ([`Refusal::retry`]: the receiver has not got the `Submit`
//!    yet, does not hold the cooperative, its disk failed, or its ledger does not make it
//!    a recipient yet), timeouts and failed dials
//!    are retried with exponential backoff ([`backoff`]: from [`RETRY_FIRST`] up to
//!    [`RETRY_MAX`]), and at once when a connection to the requester opens. The others
//!    (wrong size, wrong hash, not a submission, too large) end the transfer.
//!
//! ## Storage
//!
//! A results folder, [`crate::NetConfig::results_dir`] (the node puts it in its data
//! directory): `<dir>/<coop hex>/<submission hex>` holds the bytes (written to a
//! temporary file, synced, then renamed: a result is there whole or not at all), and
//! `<dir>/outbox/<coop hex>.<submission hex>` (empty) marks a result still to deliver to
//! the requester, `<dir>/outbox/<coop hex>.<submission hex>.<juror hex>` one to deliver to
//! a juror, and `<dir>/sent/<coop hex>.<submission hex>.<juror hex>` one a juror's node
//! stored (so it is not sent again).
//! The outbox survives restarts: a worker's node re-queues it at start. Files rather than
//! a sled tree because results are large blobs read whole, rarely, and sled holds values
//! in its page cache; the ledger keeps only their hash.
//!
//! The network task writes and reads these files itself (a few ms for a result of
//! megabytes, at most a few times per submission), which keeps one owner for the outbox.

use libp2p::request_response::cbor;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use taawun_core::body::Body;
use taawun_core::seal::ContentKey;
use taawun_core::{Hash, Id, PublicKey, Verified};

/// The protocol name.
pub const PROTOCOL: &str = "/taawun/result/1";

/// The largest result transferred, whatever a charter's `max_result_bytes` says: 64 MiB
/// (the default limit is 16 MiB). The codec refuses larger requests before reading them,
/// so a peer cannot make a node buffer more. A cooperative raising its limit above this
/// needs another way to move results (a known limit).
pub const MAX_RESULT_BYTES: u64 = 64 * 1024 * 1024;

/// Room for the CBOR around the bytes (two ids and a few headers): 1 KiB is plenty.
pub const FRAMING_BYTES: u64 = 1024;

/// Largest request accepted: the largest result plus framing.
pub const MAX_REQUEST_BYTES: u64 = MAX_RESULT_BYTES + FRAMING_BYTES;

/// Largest response accepted: responses are one small enum.
pub const MAX_RESPONSE_BYTES: u64 = 1024;

/// Result streams open at once per connection. Each may buffer up to
/// [`MAX_REQUEST_BYTES`], so this bounds what one peer can make a node hold in memory
/// (256 MiB) while letting a few results of one worker travel together.
pub const MAX_STREAMS: usize = 4;

/// How long one transfer may take: 64 MiB over a 5 Mbit/s uplink takes about 110 s.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The first retry waits this long: long enough for a `Submit` gossiped with the result
/// to reach the requester, short enough that a worker does not notice.
pub const RETRY_FIRST: Duration = Duration::from_millis(500);

/// Retries wait at most this long: a requester offline for days is asked every five
/// minutes (and at once when it connects).
pub const RETRY_MAX: Duration = Duration::from_secs(300);

/// How often the task looks for retries that are due. Backoffs start at
/// [`RETRY_FIRST`], so a tenth of it is precise enough and costs nothing.
pub const RETRY_TICK: Duration = Duration::from_millis(50);

/// Results waiting for delivery at once. Only names are kept in memory (the bytes are
/// read from disk for each attempt); past this, [`crate::Network::send_result`] refuses,
/// so a requester that never comes back cannot make the outbox grow without end.
pub const MAX_OUTBOX: usize = 1024;

/// The request-response codec of this protocol, with its size limits.
pub fn codec() -> cbor::codec::Codec<Request, Response> {
    cbor::codec::Codec::default()
        .set_request_size_maximum(MAX_REQUEST_BYTES)
        .set_response_size_maximum(MAX_RESPONSE_BYTES)
}

/// "Here is the result of `submission` in `coop`" (and, to a juror, the key that opens
/// the rejection's reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The cooperative.
    pub coop: Id,
    /// The `Submit` entry's id.
    pub submission: Id,
    /// The result.
    pub bytes: ByteBuf,
    /// To a juror: the content key of the reason of the rejection appealed, which is
    /// sealed to the parties only (docs/protocol.md 3.7). Absent to the requester, who
    /// reads the reason with its own key, and when the member's node cannot open it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Disclosed>,
}

/// A rejection's reason disclosed to a juror: its content key, which the juror's node
/// checks against the commitment the signed `Reject` carries before keeping it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosed {
    /// The `Reject` entry whose reason the key opens.
    pub rejection: Id,
    /// Its content key.
    pub key: ContentKey,
}

impl Request {
    /// A request carrying `bytes`.
    pub fn new(coop: Id, submission: Id, bytes: Vec<u8>) -> Self {
        Self {
            coop,
            submission,
            bytes: ByteBuf::from(bytes),
            reason: None,
        }
    }
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Checked and stored (or already stored).
    Stored,
    /// Not stored, and why.
    Refused(Refusal),
}

/// Why a result was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// The receiver does not hold the cooperative.
    #[error("the receiver does not hold the cooperative")]
    UnknownCoop,
    /// The receiver does not hold the submission (yet).
    #[error("the receiver does not hold the submission (yet)")]
    UnknownSubmission,
    /// The entry named is not a `Submit`.
    #[error("the entry named is not a submission")]
    NotASubmission,
    /// The size differs from the submission's.
    #[error("the result is {got} bytes where the submission says {expected}")]
    WrongSize {
        /// The size the submission states.
        expected: u64,
        /// The size sent.
        got: u64,
    },
    /// The blake3 differs from the submission's.
    #[error("the result's blake3 differs from the submission's")]
    WrongHash,
    /// Over [`MAX_RESULT_BYTES`].
    #[error("the result is over the transfer limit of {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// The receiver could not read its ledger or write the result.
    #[error("the receiver could not store the result")]
    Unavailable,
    /// The receiver's node speaks neither for the requester nor for a juror seated on an
    /// appeal of the submission (by its ledger), or the sender does not speak for the
    /// member who submitted it: a result goes to those and no one else.
    #[error("the receiver is neither the requester nor a juror of this submission")]
    NotRecipient,
    /// The key sent with the result does not open the reason of a rejection of this
    /// submission: neither the key nor the result is kept.
    #[error("the key sent does not open the reason of a rejection of this submission")]
    WrongKey,
}

impl Refusal {
    /// Whether sending again later may succeed (the receiver may get the submission,
    /// join the cooperative, fix its disk, or get the entries that make it a recipient:
    /// a device's enrollment, the ticks that seat a jury); the bytes themselves were not
    /// at fault.
    pub fn retry(self) -> bool {
        matches!(
            self,
            Refusal::UnknownCoop
                | Refusal::UnknownSubmission
                | Refusal::Unavailable
                | Refusal::NotRecipient
        )
    }
}

/// Checks `bytes` against the `Submit` entry `submission`: the size it states, then the
/// blake3 ([`Hash::of`]). The one check of both ends.
pub fn check(submission: &Verified, bytes: &[u8]) -> Result<(), Refusal> {
    let Body::Submit(s) = &submission.entry().body else {
        return Err(Refusal::NotASubmission);
    };
    let got = bytes.len() as u64;
    if got > MAX_RESULT_BYTES {
        return Err(Refusal::TooLarge {
            max: MAX_RESULT_BYTES,
        });
    }
    if got != s.size {
        return Err(Refusal::WrongSize {
            expected: s.size,
            got,
        });
    }
    if Hash::of(bytes) != s.result {
        return Err(Refusal::WrongHash);
    }
    Ok(())
}

/// Checks a disclosed reason's key against `rejection`, the entry the receiver holds
/// under the id named: it must be a `Reject` of `submission`, and the key must match the
/// commitment its sealed reason carries and open it ([`Sealed::open_with`]). A key that
/// does not is [`Refusal::WrongKey`]: it is never used to read another text.
///
/// [`Sealed::open_with`]: taawun_core::seal::Sealed::open_with
pub fn check_reason(
    rejection: &Verified,
    submission: &Id,
    key: &ContentKey,
) -> Result<(), Refusal> {
    match &rejection.entry().body {
        Body::Reject(r) if r.submission == *submission => r
            .reason
            .open_with(key)
            .map(|_| ())
            .map_err(|_| Refusal::WrongKey),
        _ => Err(Refusal::WrongKey),
    }
}

/// The wait before retry number `attempt` (0 for the first retry): [`RETRY_FIRST`]
/// doubled per attempt, at most [`RETRY_MAX`].
pub fn backoff(attempt: u32) -> Duration {
    RETRY_FIRST
        .checked_mul(1u32 << attempt.min(16))
        .map_or(RETRY_MAX, |d| d.min(RETRY_MAX))
}

/// The results folder (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct Store {
    dir: PathBuf,
}

/// The outbox subfolder's name (not a hex id, so it cannot clash with a cooperative).
const OUTBOX: &str = "outbox";

/// The subfolder of marks of results delivered to jurors (not a hex id either).
const SENT: &str = "sent";

/// The subfolder of reasons' keys a juror's node received with results (not a hex id).
const KEYS: &str = "keys";

/// The subfolder of results kept before their `Submit` entry is signed (not a hex id).
const STAGED: &str = "staged";

impl Store {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, coop: &Id, submission: &Id) -> PathBuf {
        self.dir.join(coop.to_hex()).join(submission.to_hex())
    }

    /// A mark's name: `<coop>.<submission>` for the requester, `.<juror>` added for a
    /// juror.
    fn name(coop: &Id, submission: &Id, juror: Option<&PublicKey>) -> String {
        match juror {
            None => format!("{}.{}", coop.to_hex(), submission.to_hex()),
            Some(j) => format!("{}.{}.{}", coop.to_hex(), submission.to_hex(), j.to_hex()),
        }
    }

    fn mark(&self, coop: &Id, submission: &Id, juror: Option<&PublicKey>) -> PathBuf {
        self.dir
            .join(OUTBOX)
            .join(Self::name(coop, submission, juror))
    }

    /// Whether a result is stored.
    pub(crate) fn contains(&self, coop: &Id, submission: &Id) -> bool {
        self.path(coop, submission).is_file()
    }

    /// A stored result.
    pub(crate) fn read(&self, coop: &Id, submission: &Id) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.path(coop, submission)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores a result whole: a temporary file, synced, renamed.
    pub(crate) fn write(&self, coop: &Id, submission: &Id, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(coop, submission);
        write_atomic(&path, bytes)
    }

    /// Keeps the result of this node's member's `submission` and, unless this node is
    /// the requester's own (`to_self`), marks it as still to deliver to the requester.
    pub(crate) fn keep_own(
        &self,
        coop: &Id,
        submission: &Id,
        bytes: &[u8],
        to_self: bool,
    ) -> io::Result<()> {
        self.write(coop, submission, bytes)?;
        if to_self {
            Ok(())
        } else {
            self.enqueue(coop, submission, None)
        }
    }

    /// Keeps the result a member is about to submit for `offer`, before its `Submit`
    /// entry is signed: `<dir>/staged/<coop hex>.<offer hex>`. A node that stops between
    /// signing and [`Store::write`] finds it there when it starts again; a member submits
    /// once per offer, so the offer names it.
    pub(crate) fn stage(&self, coop: &Id, offer: &Id, bytes: &[u8]) -> io::Result<()> {
        write_atomic(&self.staged_path(coop, offer), bytes)
    }

    fn staged_path(&self, coop: &Id, offer: &Id) -> PathBuf {
        self.dir.join(STAGED).join(Self::name(coop, offer, None))
    }

    /// A result kept by [`Store::stage`], if any.
    pub(crate) fn read_staged(&self, coop: &Id, offer: &Id) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.staged_path(coop, offer)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Drops a result kept by [`Store::stage`]: written as its submission's, or never
    /// signed.
    pub(crate) fn unstage(&self, coop: &Id, offer: &Id) -> io::Result<()> {
        match fs::remove_file(self.staged_path(coop, offer)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every result kept by [`Store::stage`], as (cooperative, offer).
    pub(crate) fn staged(&self) -> io::Result<Vec<(Id, Id)>> {
        Ok(self
            .marks(STAGED, usize::MAX)?
            .into_iter()
            .filter(|(_, _, j)| j.is_none())
            .map(|(c, o, _)| (c, o))
            .collect())
    }

    /// Marks a result as still to deliver, to the requester (`juror` `None`) or to a
    /// juror.
    pub(crate) fn enqueue(
        &self,
        coop: &Id,
        submission: &Id,
        juror: Option<&PublicKey>,
    ) -> io::Result<()> {
        write_atomic(&self.mark(coop, submission, juror), &[])
    }

    /// Unmarks a delivered (or refused) result.
    pub(crate) fn dequeue(
        &self,
        coop: &Id,
        submission: &Id,
        juror: Option<&PublicKey>,
    ) -> io::Result<()> {
        match fs::remove_file(self.mark(coop, submission, juror)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Records that a juror's node stored the result, so it is not sent again (after a
    /// restart either).
    pub(crate) fn sent(&self, coop: &Id, submission: &Id, juror: &PublicKey) -> io::Result<()> {
        let path = self
            .dir
            .join(SENT)
            .join(Self::name(coop, submission, Some(juror)));
        write_atomic(&path, &[])
    }

    /// Keeps the content key of the reason of `rejection`, received with a result and
    /// checked ([`check_reason`]): `<dir>/keys/<coop hex>.<rejection hex>`, 64 hex digits.
    pub(crate) fn write_key(&self, coop: &Id, rejection: &Id, key: &ContentKey) -> io::Result<()> {
        let path = self.dir.join(KEYS).join(Self::name(coop, rejection, None));
        write_atomic(&path, key.to_hex().as_bytes())
    }

    /// The content key kept for the reason of `rejection`, if any (a file that does not
    /// parse is none).
    pub(crate) fn read_key(&self, coop: &Id, rejection: &Id) -> io::Result<Option<ContentKey>> {
        let path = self.dir.join(KEYS).join(Self::name(coop, rejection, None));
        match fs::read_to_string(path) {
            Ok(s) => Ok(ContentKey::from_hex(&s)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The results still to deliver, each with its juror (`None`: to the requester), at
    /// most [`MAX_OUTBOX`] (names that do not parse are skipped).
    pub(crate) fn outbox(&self) -> io::Result<Vec<(Id, Id, Option<PublicKey>)>> {
        self.marks(OUTBOX, MAX_OUTBOX)
    }

    /// Every result a juror's node stored, as (cooperative, submission, juror): read once
    /// when the node starts, so the jurors due a result are found without the disk.
    pub(crate) fn sent_all(&self) -> io::Result<Vec<(Id, Id, PublicKey)>> {
        Ok(self
            .marks(SENT, usize::MAX)?
            .into_iter()
            .filter_map(|(c, s, j)| Some((c, s, j?)))
            .collect())
    }

    /// The marks of subfolder `sub`, sorted, at most `limit` (names that do not parse,
    /// such as a temporary file of an interrupted write, are skipped).
    fn marks(&self, sub: &str, limit: usize) -> io::Result<Vec<(Id, Id, Option<PublicKey>)>> {
        let dir = self.dir.join(sub);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for e in entries {
            if out.len() >= limit {
                break;
            }
            let name = e?.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            let mut parts = name.split('.');
            let (Some(c), Some(s), juror, None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let juror = match juror.map(PublicKey::from_hex) {
                None => None,
                Some(Ok(j)) => Some(j),
                Some(Err(_)) => continue,
            };
            if let (Ok(c), Ok(s)) = (Id::from_hex(c), Id::from_hex(s)) {
                out.push((c, s, juror));
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Writes `bytes` to `path` so that it holds them whole or not at all.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a result path has a parent"))?;
    fs::create_dir_all(dir)?;
    // `.tmp` added, not put in place of an extension: marks are named `<coop>.<id>`,
    // and two marks of one cooperative must not share a temporary file.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    // The rename itself is durable once the folder is synced (best effort: not every
    // platform can open a folder).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use taawun_core::body::{Claim, Submit};
    use taawun_core::writer::Writer;

    fn submit(bytes: &[u8]) -> Verified {
        let key = SigningKey::from_bytes(&[3; 32]);
        let mut w = Writer::new(key, Some(Id([1; 32])), None);
        w.next(
            Body::Submit(Submit {
                offer: Id([2; 32]),
                assign: Id([3; 32]),
                result: Hash::of(bytes),
                size: bytes.len() as u64,
                minutes: 5,
            }),
            1,
            None,
        )
    }

    #[test]
    fn check_size_then_hash() {
        let s = submit(b"the transcript");
        assert_eq!(check(&s, b"the transcript"), Ok(()));
        assert_eq!(
            check(&s, b"the transcript!"),
            Err(Refusal::WrongSize {
                expected: 14,
                got: 15
            })
        );
        assert_eq!(check(&s, b"THE TRANSCRIPT"), Err(Refusal::WrongHash));
        let key = SigningKey::from_bytes(&[3; 32]);
        let claim = Writer::new(key, Some(Id([1; 32])), None).next(
            Body::Claim(Claim { offer: Id([2; 32]) }),
            1,
            None,
        );
        assert_eq!(check(&claim, b"x"), Err(Refusal::NotASubmission));
        assert!(Refusal::UnknownSubmission.retry());
        assert!(Refusal::NotRecipient.retry());
        assert!(!Refusal::WrongHash.retry());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(0), RETRY_FIRST);
        assert_eq!(backoff(1), RETRY_FIRST * 2);
        assert_eq!(backoff(30), RETRY_MAX);
        assert_eq!(backoff(u32::MAX), RETRY_MAX);
    }

    #[test]
    fn store_round_trip_and_outbox() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::new(dir.path().join("results"));
        let (c, x) = (Id([1; 32]), Id([2; 32]));
        assert_eq!(s.read(&c, &x).expect("reads"), None);
        s.write(&c, &x, b"bytes").expect("writes");
        assert!(s.contains(&c, &x));
        assert_eq!(s.read(&c, &x).expect("reads"), Some(b"bytes".to_vec()));
        s.enqueue(&c, &x, None).expect("enqueues");
        let juror = PublicKey([9; 32]);
        s.enqueue(&c, &x, Some(&juror))
            .expect("enqueues for a juror");
        let mut listed = s.outbox().expect("lists");
        listed.sort();
        assert_eq!(listed, vec![(c, x, None), (c, x, Some(juror))]);
        s.dequeue(&c, &x, None).expect("dequeues");
        s.dequeue(&c, &x, None).expect("dequeues twice");
        s.dequeue(&c, &x, Some(&juror))
            .expect("dequeues the juror's");
        assert!(s.outbox().expect("lists").is_empty());
        assert!(s.sent_all().expect("lists").is_empty());
        s.sent(&c, &x, &juror).expect("marks");
        s.sent(&c, &x, &PublicKey([8; 32])).expect("marks");
        // A temporary file of an interrupted write is no mark.
        let half = format!("{}.{}.tmp", c.to_hex(), x.to_hex());
        fs::write(s.dir.join(SENT).join(half), b"").expect("writes");
        assert_eq!(
            s.sent_all().expect("lists"),
            vec![(c, x, PublicKey([8; 32])), (c, x, juror)]
        );
    }

    #[test]
    fn a_staged_result_is_kept_by_offer_until_unstaged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::new(dir.path().join("results"));
        let (c, o1, o2) = (Id([1; 32]), Id([2; 32]), Id([3; 32]));
        assert!(s.staged().expect("lists").is_empty());
        s.stage(&c, &o1, b"one").expect("stages");
        s.stage(&c, &o2, b"two").expect("stages");
        // What an interrupted write leaves is not listed.
        let half = format!("{}.{}.tmp", c.to_hex(), Id([4; 32]).to_hex());
        fs::write(s.dir.join(STAGED).join(half), b"").expect("writes");
        assert_eq!(s.staged().expect("lists"), vec![(c, o1), (c, o2)]);
        assert_eq!(
            s.read_staged(&c, &o2).expect("reads"),
            Some(b"two".to_vec())
        );
        s.unstage(&c, &o1).expect("unstages");
        s.unstage(&c, &o1).expect("unstages twice");
        assert_eq!(s.read_staged(&c, &o1).expect("reads"), None);
        assert_eq!(s.staged().expect("lists"), vec![(c, o2)]);
        // A staged result is not a submission's result.
        assert!(!s.contains(&c, &o2));
    }

    #[test]
    fn wire_carries_bytes_as_a_byte_string() {
        let mut r = Request::new(Id([1; 32]), Id([2; 32]), vec![7u8; 1000]);
        let mut buf = Vec::new();
        ciborium::into_writer(&r, &mut buf).expect("encodes");
        assert!((buf.len() as u64) < 1000 + FRAMING_BYTES, "{}", buf.len());
        let back: Request = ciborium::from_reader(&buf[..]).expect("decodes");
        assert_eq!(back, r);
        // Without a key the request has three fields, as before keys were sent.
        assert_eq!(buf[0], 0xa3);
        // With one, the key travels as a byte string, within the framing allowance.
        r.reason = Some(Disclosed {
            rejection: Id([4; 32]),
            key: ContentKey([5; 32]),
        });
        let mut with = Vec::new();
        ciborium::into_writer(&r, &mut with).expect("encodes");
        assert!((with.len() as u64) < 1000 + FRAMING_BYTES, "{}", with.len());
        assert_eq!(ciborium::from_reader::<Request, _>(&with[..]).ok(), Some(r));
    }

    #[test]
    fn a_reason_s_key_is_checked_against_the_rejection_it_names() {
        let (member, requester) = (
            SigningKey::from_bytes(&[3; 32]),
            SigningKey::from_bytes(&[4; 32]),
        );
        let pk = |k: &SigningKey| PublicKey(k.verifying_key().to_bytes());
        let sub = submit(b"the transcript");
        let reason = taawun_core::seal::seal_text(
            "pages 2 and 3 are missing",
            &[pk(&member), pk(&requester)],
            [8; 32],
        )
        .expect("sealed");
        let key = reason.content_key(&member).expect("a recipient");
        let reject = |submission: Id, reason: taawun_core::seal::Sealed| {
            Writer::new(requester.clone(), Some(Id([1; 32])), None).next(
                Body::Reject(taawun_core::body::Reject { submission, reason }),
                2,
                None,
            )
        };
        let rej = reject(sub.id(), reason.clone());
        assert_eq!(check_reason(&rej, &sub.id(), &key), Ok(()));
        // Another key, the key of another rejection, or a rejection of other work: refused.
        let mut wrong = key;
        wrong.0[0] ^= 1;
        assert_eq!(
            check_reason(&rej, &sub.id(), &wrong),
            Err(Refusal::WrongKey)
        );
        let other =
            taawun_core::seal::seal_text("blurry", &[pk(&member)], [9; 32]).expect("sealed");
        let other_key = other.content_key(&member).expect("a recipient");
        assert_eq!(
            check_reason(&rej, &sub.id(), &other_key),
            Err(Refusal::WrongKey)
        );
        let elsewhere = reject(Id([6; 32]), reason);
        assert_eq!(
            check_reason(&elsewhere, &sub.id(), &key),
            Err(Refusal::WrongKey)
        );
        assert_eq!(check_reason(&sub, &sub.id(), &key), Err(Refusal::WrongKey));
        assert!(!Refusal::WrongKey.retry());
    }

    #[test]
    fn a_reason_s_key_is_kept_by_rejection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::new(dir.path().join("results"));
        let (c, r) = (Id([1; 32]), Id([2; 32]));
        assert_eq!(s.read_key(&c, &r).expect("reads"), None);
        s.write_key(&c, &r, &ContentKey([7; 32])).expect("writes");
        assert_eq!(
            s.read_key(&c, &r).expect("reads"),
            Some(ContentKey([7; 32]))
        );
        assert_eq!(s.read_key(&c, &Id([3; 32])).expect("reads"), None);
        // Keys are not results, nor in the outbox.
        assert!(!s.contains(&c, &r));
        assert!(s.outbox().expect("lists").is_empty());
    }
}
