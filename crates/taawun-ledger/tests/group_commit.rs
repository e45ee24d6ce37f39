//! Group commit of remote entries: staged entries are visible to every read, groups
//! commit at [`GROUP_ENTRIES`], dropping the handle commits, and a crash loses at most the
//! staged group, never half an entry.
//!
//! A crash cannot be simulated inside one process: `std::mem::forget` on the handle keeps
//! its lease (the cooperative stays busy) and sled's lock on the directory, so nothing can
//! reopen it. The crash tests therefore run the writing half in a child process (this
//! same test binary, selected by an environment variable) that aborts, and check the
//! directory it leaves from the parent.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use taawun_core::body::{Body, Claim, Offer, Review, Submit, Withdraw};
use taawun_core::fold::Coop;
use taawun_core::validate::Head;
use taawun_core::writer::Writer;
use taawun_core::{Context, Id, Money, PublicKey, Verified};
use taawun_ledger::{export, CoopLedger, Ingest, Ledger, GROUP_ENTRIES, MAX_RANGE};

mod common;
use common::{founded, pk, reference, scenario};

fn ingest_all(c: &mut CoopLedger, entries: &[Verified]) {
    for v in entries {
        let out = c.ingest(v.clone(), None).expect("ingests");
        assert!(matches!(out, Ingest::Stored { .. }), "{out:?}");
    }
}

type Heads = Vec<(PublicKey, Head)>;

fn ref_heads(r: &Coop) -> Heads {
    r.heads().iter().map(|(k, h)| (*k, *h)).collect()
}

fn ids(entries: &[Verified]) -> Vec<Id> {
    entries.iter().map(Verified::id).collect()
}

/// The ids of the entries naming `offer`, as `CoopLedger::by_offer` lists them.
fn naming(entries: &[Verified], offer: &Id) -> Vec<Id> {
    let mut out: Vec<Id> = entries
        .iter()
        .filter(|v| match &v.entry().body {
            Body::Claim(Claim { offer: o })
            | Body::Submit(Submit { offer: o, .. })
            | Body::Withdraw(Withdraw { offer: o }) => o == offer,
            Body::Assign(a) => a.offer == *offer,
            _ => false,
        })
        .map(Verified::id)
        .collect();
    out.sort();
    out
}

/// Every chain is complete up to its head: no entry without its chain slot, no head
/// ahead of its chain.
fn assert_chains_whole(c: &CoopLedger) {
    for (author, head) in c.heads().expect("heads") {
        let chain = c.range(&author, 1, MAX_RANGE).expect("range");
        assert_eq!(chain.len() as u64, head.seq, "chain of {}", author.short());
        for (i, v) in chain.iter().enumerate() {
            assert_eq!(v.entry().seq, i as u64 + 1);
        }
        assert_eq!(chain.last().map(Verified::id), Some(head.id));
    }
}

#[test]
fn staged_entries_are_visible_to_every_read_before_commit() {
    let s = scenario(31, 100);
    let n = s.entries.len();
    assert!(
        n < GROUP_ENTRIES,
        "the scenario must fit in one group ({n})"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    assert_eq!(c.staged(), 0, "founding flushes the charter");

    // Point reads see the staged group without committing it.
    let first = 40;
    ingest_all(&mut c, &s.entries[1..first]);
    let staged = c.staged();
    assert_eq!(staged, first as u64 - 1);
    assert_eq!(c.len(), first as u64);
    let r = reference(&s.entries[..first]);
    for v in &s.entries[..first] {
        assert_eq!(c.get(&v.id()).expect("get").as_ref(), Some(v));
        assert_eq!(
            c.envelope(&v.id()).expect("envelope").as_deref(),
            Some(&v.envelope()[..])
        );
        assert!(c.contains(&v.id()).expect("contains"));
    }
    for (author, head) in r.heads() {
        assert_eq!(c.head(author).expect("head"), Some(*head));
    }
    assert!(!c.contains(&s.entries[first].id()).expect("contains"));
    assert!(c.frozen().is_empty());
    assert_eq!(c.staged(), staged, "point reads do not commit");

    // Each scan sees what was staged just before it.
    let mut at = first;
    let mut stage_more = |c: &mut CoopLedger, k: usize| -> usize {
        let end = (at + k).min(n);
        ingest_all(c, &s.entries[at..end]);
        assert!(c.staged() > 0);
        at = end;
        end
    };
    let end = stage_more(&mut c, 5);
    assert_eq!(
        c.heads().expect("heads"),
        ref_heads(&reference(&s.entries[..end]))
    );
    assert!(c.staged() > 0, "heads are kept in memory: no commit needed");

    let end = stage_more(&mut c, 5);
    let last = &s.entries[end - 1];
    let author = last.entry().author;
    let chain = c.range(&author, 1, MAX_RANGE).expect("range");
    assert_eq!(chain.last(), Some(last));
    assert_eq!(chain.len() as u64, last.entry().seq);
    assert_eq!(c.staged(), 0, "scans commit first");

    let end = stage_more(&mut c, 10);
    let offer = s.entries[..end]
        .iter()
        .rev()
        .find(|v| matches!(v.entry().body, Body::Offer(_)))
        .expect("an offer")
        .id();
    let named = c.by_offer(&offer).expect("by offer");
    assert_eq!(named, naming(&s.entries[..end], &offer));

    let end = stage_more(&mut c, 5);
    let log: Vec<Id> = c.log_ids().collect::<Result<_, _>>().expect("log");
    assert_eq!(log, ids(&s.entries[..end]));

    let end = stage_more(&mut c, 5);
    let log: Vec<Verified> = c.iter_log().collect::<Result<_, _>>().expect("log");
    assert_eq!(log, s.entries[..end]);

    let end = stage_more(&mut c, 5);
    assert_eq!(c.state().expect("state"), reference(&s.entries[..end]));

    let end = stage_more(&mut c, 5);
    let mut file = Vec::new();
    assert_eq!(c.export(&mut file).expect("exports"), end as u64);
    let mut want = export::header_bytes(&s.coop);
    for v in &s.entries[..end] {
        want.extend_from_slice(&v.envelope());
    }
    assert_eq!(file, want);

    // A staged equivocation: the freeze is visible at once, the evidence to a scan.
    let key = &s.members[1];
    let author = pk(key);
    let head = c.head(&author).expect("head").expect("member wrote");
    assert!(head.seq >= 2);
    let prev = c.range(&author, head.seq - 1, 1).expect("range").remove(0);
    let prev_head = Head {
        seq: prev.entry().seq,
        id: prev.id(),
        ts: prev.entry().ts,
        gov: prev.entry().gov,
    };
    let fork = Writer::new(key.clone(), Some(s.coop), Some(prev_head)).next(
        Body::Review(Review {
            requester: pk(&s.requesters[0]),
            pay: 4,
            fairness: 4,
            promptness: 4,
            communication: 4,
            text: None,
        }),
        head.ts,
        prev_head.gov,
    );
    let out = c.ingest(fork, None).expect("ingests");
    assert!(matches!(out, Ingest::Equivocation { .. }), "{out:?}");
    assert_eq!(c.frozen().get(&author), Some(&head.seq));
    assert_eq!(c.evidence().expect("evidence").len(), 1);
}

#[test]
fn a_group_commits_when_it_reaches_group_entries() {
    let s = scenario(32, 2 * GROUP_ENTRIES + 40);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    for (i, v) in s.entries[1..].iter().enumerate() {
        let out = c.ingest(v.clone(), None).expect("ingests");
        assert!(matches!(out, Ingest::Stored { .. }), "{out:?}");
        assert_eq!(
            c.staged(),
            ((i + 1) % GROUP_ENTRIES) as u64,
            "after {}",
            i + 1
        );
    }
    assert!(c.staged() > 0);
    c.commit().expect("commits");
    assert_eq!(c.staged(), 0);
    c.commit().expect("nothing to commit");
    assert_eq!(c.len(), s.entries.len() as u64);
    assert_eq!(c.state().expect("state"), reference(&s.entries));

    // The same through ingest_many.
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    let outs = c
        .ingest_many(s.entries[1..].iter().cloned(), None)
        .expect("ingests");
    assert!(outs.iter().all(|o| matches!(o, Ingest::Stored { .. })));
    assert_eq!(c.staged(), ((s.entries.len() - 1) % GROUP_ENTRIES) as u64);
    assert_eq!(c.state().expect("state"), reference(&s.entries));
}

#[test]
fn dropping_the_handle_commits_the_staged_group() {
    let s = scenario(33, 2 * GROUP_ENTRIES + 40);
    let r = reference(&s.entries);
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (l, mut c) = founded(dir.path(), &s);
        ingest_all(&mut c, &s.entries[1..]);
        assert!(c.staged() > 0);
        drop(c);
        let c = l.coop(&s.coop).expect("reopens");
        assert_eq!(c.staged(), 0);
        assert_eq!(c.len(), s.entries.len() as u64);
        assert_eq!(c.heads().expect("heads"), ref_heads(&r));
    }
    let l = Ledger::open(dir.path()).expect("reopens the directory");
    let c = l.coop(&s.coop).expect("opens");
    assert_eq!(c.len(), s.entries.len() as u64);
    assert_eq!(c.heads().expect("heads"), ref_heads(&r));
    assert_eq!(c.state().expect("state"), r);
    let log: Vec<Id> = c.log_ids().collect::<Result<_, _>>().expect("log");
    assert_eq!(log, ids(&s.entries));
}

/// Names the test a child process runs, and the data directory it writes.
const CHILD_TEST: &str = "TAAWUN_CRASH_CHILD_TEST";
const CHILD_DIR: &str = "TAAWUN_CRASH_CHILD_DIR";

/// In the child process started for `test`: the directory to write, then crash.
fn child_dir(test: &str) -> Option<std::path::PathBuf> {
    if std::env::var(CHILD_TEST).ok()? != test {
        return None;
    }
    std::env::var_os(CHILD_DIR).map(Into::into)
}

/// The child is done writing: say so and crash (no destructor runs).
fn crash() -> ! {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "child: crashing now");
    let _ = out.flush();
    std::process::abort()
}

/// Runs `test` of this binary in a child process that writes `dir` and crashes.
fn run_child(test: &str, dir: &Path) {
    let exe = std::env::current_exe().expect("the test binary");
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_TEST, test)
        .env(CHILD_DIR, dir)
        .output()
        .expect("runs the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("child: crashing now"),
        "the child did not reach its crash: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "the child should have crashed");
}

/// Entries flushed before the crash, then a committed group (not flushed), then staged
/// entries (never committed).
const FLUSHED: usize = 150;
const STAGED: usize = 50;

#[test]
fn a_crash_loses_at_most_the_staged_group_and_never_half_an_entry() {
    const NAME: &str = "a_crash_loses_at_most_the_staged_group_and_never_half_an_entry";
    let s = scenario(34, FLUSHED + GROUP_ENTRIES + STAGED + 20);
    let committed = FLUSHED + GROUP_ENTRIES;
    if let Some(dir) = child_dir(NAME) {
        let (_l, mut c) = founded(&dir, &s);
        ingest_all(&mut c, &s.entries[1..FLUSHED]);
        c.flush().expect("flushes");
        ingest_all(&mut c, &s.entries[FLUSHED..committed + STAGED]);
        assert_eq!(c.staged(), STAGED as u64);
        crash();
    }
    let dir = tempfile::tempdir().expect("tempdir");
    run_child(NAME, dir.path());

    let l = Ledger::open(dir.path()).expect("reopens after the crash");
    let mut c = l.coop(&s.coop).expect("opens");
    let log: Vec<Id> = c.log_ids().collect::<Result<_, _>>().expect("log");
    let n = log.len();
    // Flushed entries survive; the committed group survives whole or not at all (sled
    // may or may not have written it); staged entries never reached sled.
    assert!(
        n == FLUSHED || n == committed,
        "{n} entries after the crash"
    );
    assert_eq!(c.len(), n as u64);
    assert_eq!(log, ids(&s.entries[..n]));
    let r = reference(&s.entries[..n]);
    assert_eq!(c.heads().expect("heads"), ref_heads(&r));
    assert_chains_whole(&c);
    for v in &s.entries[..n] {
        assert_eq!(c.get(&v.id()).expect("get").as_ref(), Some(v));
    }
    assert!(!c.contains(&s.entries[n].id()).expect("contains"));
    assert_eq!(c.state().expect("state"), r);
    // Sync brings back what was lost.
    ingest_all(&mut c, &s.entries[n..]);
    assert_eq!(c.state().expect("state"), reference(&s.entries));
    assert_chains_whole(&c);
}

#[test]
fn an_append_is_durable_with_the_group_before_it_when_it_returns() {
    const NAME: &str = "an_append_is_durable_with_the_group_before_it_when_it_returns";
    const BEFORE: usize = 100;
    let s = scenario(35, BEFORE + 20);
    let key = &s.requesters[0];
    let offer = Body::Offer(Offer {
        title: "Transcribe".into(),
        description: "Transcribe ten minutes of audio.".into(),
        purpose: "Oral history archive of the village".into(),
        pay: Money::new("EUR", 1500),
        minutes: 60,
        assignments: 1,
        expires_at: s.end + 24 * 60 * 60 * 1000,
        review_window_ms: 24 * 60 * 60 * 1000,
        claim_window_ms: 60 * 60 * 1000,
        commit: taawun_core::lottery::commit(&taawun_core::Hash([7; 32])),
    });
    if let Some(dir) = child_dir(NAME) {
        let (_l, mut c) = founded(&dir, &s);
        ingest_all(&mut c, &s.entries[1..BEFORE]);
        assert!(c.staged() > 0);
        c.append(key, offer, s.end, None).expect("appends");
        assert_eq!(c.staged(), 0);
        crash();
    }
    let dir = tempfile::tempdir().expect("tempdir");
    run_child(NAME, dir.path());

    let l = Ledger::open(dir.path()).expect("reopens after the crash");
    let c = l.coop(&s.coop).expect("opens");
    let log: Vec<Id> = c.log_ids().collect::<Result<_, _>>().expect("log");
    assert_eq!(log.len(), BEFORE + 1);
    assert_eq!(log[..BEFORE], ids(&s.entries[..BEFORE]));
    let appended = c.get(&log[BEFORE]).expect("get").expect("stored");
    assert_eq!(appended.entry().author, pk(key));
    assert!(matches!(appended.entry().body, Body::Offer(_)));
    let mut r = reference(&s.entries[..BEFORE]);
    r.ingest(appended, None).expect("the fold takes it");
    assert_eq!(c.heads().expect("heads"), ref_heads(&r));
    assert_chains_whole(&c);
    assert_eq!(c.state().expect("state"), r);
}

/// Validation answers "has this member claimed this offer?" from memory when the offer
/// is staged or recent, from sled otherwise: the verdict must be the same on every path.
#[test]
fn a_second_claim_is_refused_on_every_read_path() {
    let s = scenario(36, 120);
    let k = s
        .entries
        .iter()
        .enumerate()
        .skip(20)
        .find(|(_, v)| matches!(v.entry().body, Body::Claim(_)))
        .map(|(i, _)| i)
        .expect("a claim");
    let first = &s.entries[k];
    let Body::Claim(claim) = first.entry().body.clone() else {
        unreachable!()
    };
    let key = s
        .members
        .iter()
        .find(|m| pk(m) == first.entry().author)
        .expect("a member claimed");
    let head = Head {
        seq: first.entry().seq,
        id: first.id(),
        ts: first.entry().ts,
        gov: first.entry().gov,
    };
    let again = Writer::new(key.clone(), Some(s.coop), Some(head)).next(
        Body::Claim(claim.clone()),
        head.ts + 1,
        head.gov,
    );
    let refused = Ingest::Rejected(taawun_core::Invalid::DoubleClaim { offer: claim.offer });
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (_l, mut c) = founded(dir.path(), &s);
        ingest_all(&mut c, &s.entries[1..=k]);
        // The first claim staged.
        assert!(c.staged() > 0);
        assert_eq!(c.ingest(again.clone(), None).expect("ingests"), refused);
        // Committed, its offer among the recent entries.
        c.commit().expect("commits");
        assert_eq!(c.ingest(again.clone(), None).expect("ingests"), refused);
    }
    // After a restart nothing is recent: sled answers.
    let l = Ledger::open(dir.path()).expect("reopens");
    let mut c = l.coop(&s.coop).expect("opens");
    assert_eq!(c.ingest(again, None).expect("ingests"), refused);
    assert_eq!(c.len(), k as u64 + 1);
}

#[test]
fn a_reader_sees_every_entry_stored_before_it_on_another_thread() {
    let s = scenario(33, 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_l, mut c) = founded(dir.path(), &s);
    let half = s.entries.len() / 2;
    ingest_all(&mut c, &s.entries[1..half]);
    assert!(c.staged() > 0, "some entries are only staged");
    let reader = c.reader().expect("reader");
    assert_eq!(c.staged(), 0, "fixing a reader commits the staged group");
    // Storing goes on while the reader is read elsewhere.
    ingest_all(&mut c, &s.entries[half..]);
    let before = reference(&s.entries[..half]);
    let firsts: Vec<Verified> = s.entries[..half].to_vec();
    let authors: Vec<PublicKey> = before.heads().keys().copied().collect();
    let read = std::thread::spawn(move || {
        let log: Vec<Id> = reader
            .log(0)
            .take(half)
            .collect::<Result<_, _>>()
            .expect("log");
        let envelopes: Vec<Vec<u8>> = log
            .iter()
            .map(|id| reader.stored(id, "the log").expect("stored").to_vec())
            .collect();
        let chains: Vec<(PublicKey, Vec<Id>)> = authors
            .iter()
            .map(|a| {
                let ids = reader.chain(a, 0).collect::<Result<_, _>>().expect("chain");
                (*a, ids)
            })
            .collect();
        (log, envelopes, chains)
    });
    let (log, envelopes, chains) = read.join().expect("the reading thread");
    assert_eq!(log, firsts.iter().map(|v| v.id()).collect::<Vec<_>>());
    for (env, v) in envelopes.iter().zip(&firsts) {
        assert_eq!(env, &v.envelope(), "envelopes as stored");
    }
    for (author, ids) in chains {
        let head = before.heads()[&author].seq;
        // Each chain is whole up to its head then, perhaps longer now: the log grows.
        assert!(
            ids.len() as u64 >= head,
            "{author:?}: {} < {head}",
            ids.len()
        );
        for (i, id) in ids.iter().take(head as usize).enumerate() {
            assert_eq!(before.at(&author, i as u64 + 1), Some(*id));
        }
    }
}
