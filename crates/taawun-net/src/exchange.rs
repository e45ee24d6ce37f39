//! What a cooperative's ledger makes of the protocol's messages, without a Swarm: judging
//! a gossip message, ingesting a sync batch, answering a sync request, checking a result
//! received against its submission. Plain functions
//! over a [`CoopLedger`] (which does the disk work), no clock (the caller passes `now`)
//! and no network: the network task routes libp2p's messages through them, and the
//! simulator (`taawun-sim`) runs the same functions between simulated nodes.

use crate::gossip::{self, Judged, Verdict};
use crate::result::{self, Refusal};
use crate::session::Ingested;
use crate::sync::{
    self, BatchError, BranchSummer, Request, Response, Summary, WireBranches, WireHead,
};
use serde_bytes::ByteBuf;
use taawun_core::entry::{self, Checked};
use taawun_core::{Id, PublicKey, Timestamp, Verified};
use taawun_ledger::{CoopLedger, Ingest, LedgerError, Reader, MAX_RANGE};

/// Judges one gossip message for `ledger`'s cooperative (`None`: a topic this node does
/// not hold): decode, verify, then the ledger's verdict (stored, pending, duplicate,
/// rejected...). The ledger stores what is valid and new; [`gossip::verdict`] maps the
/// result to what gossipsub is told.
pub fn judge(ledger: Option<&mut CoopLedger>, data: &[u8], now: Option<Timestamp>) -> Judged {
    judge_checked(ledger, entry::check_envelope(data), now)
}

/// [`judge`] of a message already decoded and verified: messages that arrived together
/// are checked as one batch ([`entry::check_envelopes`], a batch verification of their
/// signatures), then judged one by one in their order with this.
pub fn judge_checked(
    ledger: Option<&mut CoopLedger>,
    checked: Checked,
    now: Option<Timestamp>,
) -> Judged {
    let Some(ledger) = ledger else {
        return Judged::UnknownTopic;
    };
    match checked {
        Checked::Undecodable(e) => Judged::Malformed(e),
        Checked::BadSignature(u) => Judged::BadSignature(u.bad_signature()),
        Checked::Verified(v) => match ledger.ingest(v, now) {
            Ok(i) => Judged::Ingested(i),
            Err(e) => {
                tracing::warn!(error = %e, "ledger failed on a gossip message");
                Judged::StoreFailed
            }
        },
    }
}

/// Why a gossip message was not accepted, in words, for logs and events.
pub fn reason(judged: &Judged) -> String {
    match judged {
        Judged::UnknownTopic => "unknown topic".to_string(),
        Judged::Malformed(e) => e.to_string(),
        Judged::BadSignature(e) => e.to_string(),
        Judged::Ingested(Ingest::Rejected(e)) => e.to_string(),
        Judged::Ingested(i) => format!("{i:?}"),
        Judged::StoreFailed => "store failed".to_string(),
    }
}

/// What a sync batch (the envelopes of a range or log answer) did to the ledger.
#[derive(Debug)]
pub struct Batch {
    /// The ledger's outcome for each entry that decoded and verified, in order.
    pub outcomes: Vec<Ingest>,
    /// Invalid entries the sender is to blame for: one for an undecodable entry or a bad
    /// signature (which ends the batch), one per entry the ledger rejected.
    pub faults: u32,
    /// Why the batch was cut short, if it was.
    pub error: Option<BatchError>,
    /// What the sync session needs of it ([`Ingested::stored`] is left for the caller,
    /// which counts what it reports).
    pub ingested: Ingested,
}

/// Decodes, verifies and ingests a batch of envelopes (in order, stopping at the first
/// that does not decode or verify) into `ledger` (`None`: not held; nothing stored).
pub fn ingest_batch(
    ledger: Option<&mut CoopLedger>,
    entries: &[ByteBuf],
    now: Option<Timestamp>,
) -> Batch {
    let sync::Batch {
        verified,
        next,
        error,
    } = sync::check_batch(entries);
    let mut faults = u32::from(error.is_some());
    let outcomes = match ledger {
        Some(c) => match c.ingest_many(verified, now) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "ledger failed on a sync batch");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    for o in &outcomes {
        if gossip::ingest_verdict(o) == Verdict::Reject {
            faults = faults.saturating_add(1);
        }
    }
    Batch {
        outcomes,
        faults,
        ingested: Ingested {
            stored: 0,
            complete: error.is_none(),
            next,
        },
        error,
    }
}

/// This ledger's chain heads as the sync protocol carries them.
pub fn heads(c: &CoopLedger) -> Result<Vec<WireHead>, LedgerError> {
    Ok(c.heads()?.iter().map(WireHead::from).collect())
}

/// The branches of this ledger's frozen authors as the sync protocol summarises them:
/// per frozen author (at most [`sync::MAX_FORKED_AUTHORS`], in author order), the first
/// [`sync::MAX_BRANCH_ENTRIES`] of its entries from its fork seq on, on its chain and
/// beside it ([`CoopLedger::branches`]), counted and digested, and the last of all
/// ([`CoopLedger::branch_tip`]). Nothing to read when no author forked.
pub fn branches(c: &CoopLedger) -> Result<Vec<WireBranches>, LedgerError> {
    let mut out = Vec::new();
    for author in c.frozen().keys().take(sync::MAX_FORKED_AUTHORS) {
        let mut s = BranchSummer::new();
        for (seq, id) in c.branches(author, sync::MAX_BRANCH_ENTRIES as usize)? {
            s.add(seq, &id);
        }
        let (count, digest) = s.finish();
        if count == 0 {
            continue;
        }
        let (last_seq, last_id) = c.branch_tip(author)?.ok_or_else(|| {
            LedgerError::Corrupt(format!("{} has branches and no last entry", author.short()))
        })?;
        out.push(WireBranches {
            author: *author,
            count,
            digest,
            last_seq,
            last_id,
        });
    }
    Ok(out)
}

/// This ledger's [`Summary`]: what a heads request's digest and a heads answer carry.
pub fn summary(c: &CoopLedger) -> Result<Summary, LedgerError> {
    Ok(Summary {
        heads: heads(c)?,
        branches: branches(c)?,
    })
}

/// The answer to a sync request from a peer already admitted to the cooperative, read
/// from `ledger` (`None`: a cooperative this node does not hold): [`prepare`], then
/// [`Reads::read`] at once when the request reads entries.
pub fn answer(ledger: Option<&CoopLedger>, request: Request) -> Response {
    match prepare(ledger, request) {
        Answer::Now(response) => response,
        Answer::Read(reads) => reads.read(),
    }
}

/// How a sync request is answered: from memory now, or by reading the store, which its
/// owner may do on another thread ([`Reads::read`]).
#[derive(Debug)]
pub enum Answer {
    /// The response, made now (heads, or a refusal).
    Now(Response),
    /// Entries to read from the store as fixed now.
    Read(Reads),
}

/// A request for entries with the store to read them from ([`CoopLedger::reader`]): sees
/// every entry stored before it was made.
#[derive(Debug)]
pub struct Reads {
    reader: Reader,
    what: Read,
}

/// The entries a [`Reads`] reads: what a [`Request::Range`], [`Request::Log`] or
/// [`Request::Branches`] asks for.
#[derive(Debug, Clone, Copy)]
enum Read {
    Range {
        author: PublicKey,
        from: u64,
        limit: u32,
    },
    Log {
        from: u64,
        limit: u32,
    },
    Branches {
        author: PublicKey,
        from: u64,
        limit: u32,
    },
}

/// Answers what can be answered from memory (heads, an unknown cooperative), and fixes
/// the store for the rest: a range, the log or a fork's branches are up to
/// [`sync::MAX_RESPONSE_ENTRY_BYTES`] of envelopes, which the network task reads on the
/// blocking pool rather than while gossip waits.
pub fn prepare(ledger: Option<&CoopLedger>, request: Request) -> Answer {
    let Some(c) = ledger else {
        return Answer::Now(Response::UnknownCoop);
    };
    let what = match request {
        Request::Heads { digest, .. } => {
            return Answer::Now(unavailable(summary(c).map(|mut summary| {
                if sync::digest(&summary) == digest {
                    Response::Heads(None)
                } else {
                    summary.heads.truncate(sync::MAX_HEADS);
                    Response::Heads(Some(summary))
                }
            })))
        }
        Request::Range {
            author,
            from,
            limit,
            ..
        } => Read::Range {
            author,
            from,
            limit,
        },
        Request::Log { from, limit, .. } => Read::Log { from, limit },
        Request::Branches {
            author,
            from,
            limit,
            ..
        } => Read::Branches {
            author,
            from,
            limit,
        },
    };
    match c.reader() {
        Ok(reader) => Answer::Read(Reads { reader, what }),
        Err(e) => Answer::Now(unavailable(Err(e))),
    }
}

impl Reads {
    /// Reads the entries asked for, on any thread.
    pub fn read(self) -> Response {
        let r = &self.reader;
        unavailable(match self.what {
            Read::Range {
                author,
                from,
                limit,
            } => range_response(r, &author, from, limit),
            Read::Log { from, limit } => log_response(r, from, limit),
            Read::Branches {
                author,
                from,
                limit,
            } => branches_response(r, &author, from, limit),
        })
    }
}

/// The response, or [`Response::Unavailable`] when the ledger could not be read.
fn unavailable(read: Result<Response, LedgerError>) -> Response {
    read.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the ledger to answer a sync request");
        Response::Unavailable
    })
}

/// The answer to [`Request::Range`]: `author`'s envelopes from seq `from`, at most
/// `min(limit, SYNC_BATCH)` and [`sync::MAX_RESPONSE_ENTRY_BYTES`] besides the first.
fn range_response(
    r: &Reader,
    author: &PublicKey,
    from: u64,
    limit: u32,
) -> Result<Response, LedgerError> {
    let limit = (limit.min(sync::SYNC_BATCH) as usize).min(MAX_RANGE);
    let ids = r
        .chain(author, from)
        .take(limit)
        .collect::<Result<Vec<_>, _>>()?;
    let fetched = ids.len();
    let (entries, cut) = capped(ids, usize::MAX, |id| r.stored(&id, "chain"))?;
    let more = cut || fetched == limit;
    Ok(Response::Range { entries, more })
}

/// The answer to [`Request::Log`]: the envelopes in log order from position `from`, at
/// most `min(limit, SYNC_BATCH)` (at least one) and [`sync::MAX_RESPONSE_ENTRY_BYTES`]
/// besides the first. The read is positioned: O(limit) wherever `from` is.
fn log_response(r: &Reader, from: u64, limit: u32) -> Result<Response, LedgerError> {
    let limit = limit.clamp(1, sync::SYNC_BATCH) as usize;
    let (entries, more) = capped(r.log(from), limit, |id| r.stored(&id?, "log"))?;
    let next = from.saturating_add(entries.len() as u64);
    Ok(Response::Log {
        entries,
        next,
        more,
    })
}

/// The answer to [`Request::Branches`]: the envelopes of `author`'s branches
/// ([`CoopLedger::branches`]), in (seq, id) order, from position `from` (positions past
/// [`sync::MAX_BRANCH_ENTRIES`] are not served), at most `min(limit, SYNC_BATCH)` (at least
/// one) and [`sync::MAX_RESPONSE_ENTRY_BYTES`] besides the first.
fn branches_response(
    r: &Reader,
    author: &PublicKey,
    from: u64,
    limit: u32,
) -> Result<Response, LedgerError> {
    let limit = limit.clamp(1, sync::SYNC_BATCH) as usize;
    let all = r.branches(author, sync::MAX_BRANCH_ENTRIES as usize)?;
    let skip = usize::try_from(from).unwrap_or(usize::MAX);
    let (entries, more) = capped(all.into_iter().skip(skip), limit, |(_, id)| {
        r.stored(&id, "a branch")
    })?;
    let next = from.saturating_add(entries.len() as u64);
    Ok(Response::Branches {
        entries,
        next,
        more,
    })
}

/// The envelopes of `items` (each read by `load`) in order, at most `limit` of them and
/// [`sync::MAX_RESPONSE_ENTRY_BYTES`] besides the first; and whether some were left (by
/// either bound). An item past `limit` is seen but not read.
fn capped<T, E: AsRef<[u8]>>(
    items: impl IntoIterator<Item = T>,
    limit: usize,
    mut load: impl FnMut(T) -> Result<E, LedgerError>,
) -> Result<(Vec<ByteBuf>, bool), LedgerError> {
    let mut entries: Vec<ByteBuf> = Vec::new();
    let mut bytes = 0usize;
    for item in items {
        if entries.len() >= limit {
            return Ok((entries, true));
        }
        let env = load(item)?;
        let env = env.as_ref();
        if !entries.is_empty() && bytes + env.len() > sync::MAX_RESPONSE_ENTRY_BYTES {
            return Ok((entries, true));
        }
        bytes += env.len();
        entries.push(ByteBuf::from(env.to_vec()));
    }
    Ok((entries, false))
}

/// A result refused by its receiver ([`received`]), and whether the receiver should
/// sync with the sender, which holds the entries it lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The refusal the sender hears.
    pub refusal: Refusal,
    /// The receiver lacks the submission: ask the sender's chains.
    pub sync: bool,
}

/// The first checks of a result received for `submission` (`ledger`: the cooperative's,
/// `None` when this node does not hold it): the `Submit` entry this node holds, when
/// `bytes` match it ([`result::check`]: size, then blake3). A submission not here yet is
/// refused [`Refusal::UnknownSubmission`], which the sender retries, with a sync asked
/// for. Whether this node is a recipient is the caller's to say: it knows whom it speaks
/// for.
pub fn received(
    ledger: Option<&CoopLedger>,
    submission: &Id,
    bytes: &[u8],
) -> Result<Verified, Refused> {
    let refused = |refusal, sync| Refused { refusal, sync };
    let Some(c) = ledger else {
        return Err(refused(Refusal::UnknownCoop, false));
    };
    let sub = match c.get(submission) {
        Ok(Some(v)) => v,
        Ok(None) => return Err(refused(Refusal::UnknownSubmission, true)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a submission");
            return Err(refused(Refusal::Unavailable, false));
        }
    };
    result::check(&sub, bytes).map_err(|r| refused(r, false))?;
    Ok(sub)
}

#[cfg(test)]
mod tests {
    use super::*;
    use taawun_core::body::{Body, Review};
    use taawun_core::synth::{self, Params};
    use taawun_core::writer::Writer;
    use taawun_core::{Id, PublicKey};
    use taawun_ledger::Ledger;

    fn pk(k: &ed25519_dalek::SigningKey) -> PublicKey {
        PublicKey(k.verifying_key().to_bytes())
    }

    fn review(requester: PublicKey) -> Body {
        Body::Review(Review {
            requester,
            pay: 4,
            fairness: 4,
            promptness: 4,
            communication: 4,
            text: None,
        })
    }

    /// A ledger in `dir` holding every entry of `s`.
    fn ledger(dir: &std::path::Path, s: &synth::Scenario) -> (Ledger, CoopLedger) {
        let l = Ledger::open(dir).expect("opens");
        let mut c = l.found(s.entries[0].clone()).expect("founds");
        c.ingest_many(s.entries[1..].iter().cloned(), None)
            .expect("ingests");
        (l, c)
    }

    fn ids(entries: &[ByteBuf]) -> Vec<Id> {
        entries
            .iter()
            .map(|e| taawun_core::Unverified::decode(e).expect("decodes").id())
            .collect()
    }

    #[test]
    fn a_result_is_checked_against_the_submission_held_here() {
        let s = synth::generate(&Params {
            entries: 200,
            ..Params::default()
        });
        let (sub, bytes) = s.results.iter().next().expect("a submission");
        let dir = tempfile::tempdir().expect("tempdir");
        let (_l, c) = ledger(dir.path(), &s);
        assert_eq!(received(Some(&c), sub, bytes).map(|v| v.id()), Ok(*sub));
        let refusal =
            |r: Result<Verified, Refused>| r.map(|v| v.id()).map_err(|e| (e.refusal, e.sync));
        let mut other = bytes.clone();
        other[0] ^= 1;
        assert_eq!(
            refusal(received(Some(&c), sub, &other)),
            Err((Refusal::WrongHash, false))
        );
        assert!(matches!(
            refusal(received(Some(&c), sub, &bytes[1..])),
            Err((Refusal::WrongSize { .. }, false))
        ));
        // Not here yet: the sender holds it, so a sync is asked for and the sender retries.
        let unknown = Id([7; 32]);
        assert_eq!(
            refusal(received(Some(&c), &unknown, bytes)),
            Err((Refusal::UnknownSubmission, true))
        );
        assert!(Refusal::UnknownSubmission.retry());
        assert_eq!(
            refusal(received(Some(&c), &s.entries[0].id(), bytes)),
            Err((Refusal::NotASubmission, false))
        );
        assert_eq!(
            refusal(received(None, sub, bytes)),
            Err((Refusal::UnknownCoop, false))
        );
    }

    /// Node A holds both branches of a fork, node B the first entry only (on its chain,
    /// where A holds it too): their heads are equal, so only the summary of the branches
    /// tells them apart; B fetches A's branches and ends with A's summary. Node C, which
    /// stored the fork's entries in the other order, holds the same branches on another
    /// chain: its summary of them, and so its digest, equals A's.
    #[test]
    fn a_forks_branches_are_summarised_served_and_fetched() {
        let s = synth::generate(&Params {
            seed: 16,
            entries: 60,
            ..Params::default()
        });
        let dirs: Vec<_> = (0..3)
            .map(|_| tempfile::tempdir().expect("tempdir"))
            .collect();
        let (_la, mut a) = ledger(dirs[0].path(), &s);
        let (_lb, mut b) = ledger(dirs[1].path(), &s);
        let (_lc, mut c) = ledger(dirs[2].path(), &s);
        let key = &s.members[1];
        let author = pk(key);
        let head = a.head(&author).expect("reads").expect("the member wrote");
        let requester = pk(&s.requesters[0]);
        let mut wa = Writer::new(key.clone(), Some(s.coop), Some(head));
        let mut wb = Writer::new(key.clone(), Some(s.coop), Some(head));
        let first = wa.next(review(requester), head.ts + 1, head.gov);
        let second = wb.next(review(requester), head.ts + 2, head.gov);
        let branch = wb.next(review(requester), head.ts + 3, head.gov);
        a.ingest_many([first.clone(), second.clone(), branch.clone()], None)
            .expect("ingests");
        b.ingest(first.clone(), None).expect("ingests");
        c.ingest_many([second.clone(), branch.clone(), first.clone()], None)
            .expect("ingests");

        let (sa, sb) = (summary(&a).expect("reads"), summary(&b).expect("reads"));
        assert_eq!(sa.heads, sb.heads, "the same chains");
        assert!(sb.branches.is_empty(), "B knows of no fork");
        assert_eq!(sa.branches.len(), 1);
        assert_eq!(sa.branches[0].count, 3);
        assert_ne!(sync::digest(&sa), sync::digest(&sb));
        let sc = summary(&c).expect("reads");
        assert_ne!(sc.heads, sa.heads, "C's chain holds the other branch");
        assert_eq!(sc.branches, sa.branches, "the same branches");
        assert_eq!(
            sync::digest(&sc),
            sync::digest(&sa),
            "nothing to sync between A and C"
        );
        assert_eq!(
            (sa.branches[0].last_seq, sa.branches[0].last_id),
            (branch.entry().seq, branch.id())
        );

        // B asks A: A's summary comes back, and only the branches are to fetch.
        let remote = match answer(
            Some(&a),
            Request::Heads {
                coop: s.coop,
                digest: sync::digest(&sb),
            },
        ) {
            Response::Heads(Some(r)) => r,
            other => panic!("expected heads, got {other:?}"),
        };
        assert_eq!(remote, sa);
        assert!(sync::plan(&sb.heads, &remote.heads).is_empty());
        assert_eq!(
            sync::plan_branches(&sb.branches, &remote.branches),
            vec![author]
        );
        // Served in (seq, id) order, by position, within the limit.
        let mut expected = vec![
            (first.entry().seq, first.id()),
            (second.entry().seq, second.id()),
        ];
        expected.sort();
        expected.push((branch.entry().seq, branch.id()));
        let ask = |from, limit| {
            answer(
                Some(&a),
                Request::Branches {
                    coop: s.coop,
                    author,
                    from,
                    limit,
                },
            )
        };
        let Response::Branches {
            entries,
            next,
            more,
        } = ask(0, 1)
        else {
            panic!("expected branches");
        };
        assert_eq!(ids(&entries), vec![expected[0].1]);
        assert_eq!((next, more), (1, true));
        let Response::Branches {
            entries,
            next,
            more,
        } = ask(1, sync::SYNC_BATCH)
        else {
            panic!("expected branches");
        };
        assert_eq!(ids(&entries), vec![expected[1].1, expected[2].1]);
        assert_eq!((next, more), (3, false));
        let Response::Branches {
            entries,
            next,
            more,
        } = ask(u64::MAX, sync::SYNC_BATCH)
        else {
            panic!("expected branches");
        };
        assert!(entries.is_empty());
        assert_eq!((next, more), (u64::MAX, false));

        // B ingests the whole list: the entry it holds is a duplicate, the second is
        // the fork, the branch follows it; B then holds what A holds.
        let Response::Branches { entries, .. } = ask(0, sync::SYNC_BATCH) else {
            panic!("expected branches");
        };
        let batch = ingest_batch(Some(&mut b), &entries, None);
        assert_eq!(batch.faults, 0);
        assert!(batch.error.is_none());
        assert!(batch
            .outcomes
            .iter()
            .any(|o| matches!(o, taawun_ledger::Ingest::Equivocation { .. })));
        assert_eq!(
            sync::digest(&summary(&b).expect("reads")),
            sync::digest(&sa)
        );
        // An author that did not fork has no branches to serve.
        let Response::Branches { entries, more, .. } = answer(
            Some(&a),
            Request::Branches {
                coop: s.coop,
                author: pk(&s.members[0]),
                from: 0,
                limit: sync::SYNC_BATCH,
            },
        ) else {
            panic!("expected branches");
        };
        assert!(entries.is_empty() && !more);
    }
}
