//! # taawun-audit: whether a cooperative kept its rules and paid its workers
//!
//! Anyone, trusting no node, can take a cooperative's export file (docs/protocol.md
//! section 10) or a node's data folder and learn from the signed entries alone:
//!
//! - that every signature is valid (ed25519 batch verification over all cores), every
//!   chain is whole (no gaps, `prev` links right, timestamps monotonic), and who signed
//!   two entries at one seq (both ids);
//! - that every entry kept the rules in force at its time: the audit judges each entry
//!   itself with [`taawun_core::check`], so a broken rule is reported as the same typed
//!   error a node would give (`OfferBelowFloor`, `LotteryMismatch`, `BadSealed`...),
//!   with the entry's id, author and numbers; and adds what only the whole history shows
//!   (entries by authors removed by then, assignments that do not count, places that
//!   lapsed, ticks by idle witnesses);
//! - what members actually earned per hour, what each requester accepted, rejected, paid
//!   and still owes, from the fold of docs/protocol.md section 8.
//!
//! The file is streamed ([`mod@read`]): memory holds a few groups of entries, compact indexes of a
//! few bytes per entry ([`index`]) and compact records of the task life ([`books`]), not
//! the ledger. Time is the ledger's own: the state is judged at the last entry's
//! timestamp, never at the wall clock.
//!
//! Modules: [`mod@read`] (reading and verifying), [`index`] (the validation context),
//! [`books`] (the streamed fold), [`report`] (the findings), [`html`] (the report page),
//! [`time`] (UTC dates).

mod appeals;
pub mod books;
mod compact;
pub mod html;
pub mod index;
mod quick;
pub mod read;
pub mod report;
pub mod time;

use books::{Books, Terms};
use index::Index;
use read::{Batch, Checked, Placed};
use report::{when, Finding, Findings, Report};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, Seek};
use std::path::Path;
use taawun_core::validate::{Missing, Outcome};
use taawun_core::{check, Id, PublicKey, Verified};
use taawun_ledger::disclose::{Disclosures, SealedReader};
use taawun_ledger::verdict;
pub use taawun_ledger::verdict::{rule_name, Verdict};
use taawun_ledger::{FormatError, LedgerError};

/// Entries held back because something they need comes later in the file. An honest
/// export never needs this (its order is causal); a reordered one does, and a ledger
/// with a hole makes every later entry of the author wait. Past this many (about 10 MB
/// of entries) further waiting entries are reported as unjudged instead of kept.
pub const MAX_PENDING: usize = 32_768;

/// Unpaid dues older than this count as overdue, unless the caller says otherwise: the
/// protocol sets no payment term, so this is the audit's convention (two weeks, a common
/// invoice term).
pub const DEFAULT_OVERDUE_AFTER_MS: u64 = 14 * 24 * 60 * 60 * 1000;

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// The file is not a readable export (wrong magic, truncated, garbage).
    #[error("{path} is not a readable taawun ledger: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        source: FormatError,
    },
    /// A node's data folder could not be read.
    #[error("cannot read the ledger in {path}: {source}")]
    Ledger {
        /// The folder.
        path: String,
        /// Why (boxed: sled's errors are large, and this case is rare).
        source: Box<LedgerError>,
    },
    /// The data folder holds no cooperative, or several and none was named.
    #[error("{0}")]
    WhichCoop(String),
}

/// How to audit.
#[derive(Debug, Clone)]
pub struct Options {
    /// Unpaid dues older than this (by the ledger's last timestamp) count as overdue.
    pub overdue_after_ms: u64,
    /// Content keys disclosed beside the export (`FILE.keys`): the sealed fields they
    /// open are read into [`Report::sealed`], each key checked against its field's
    /// commitment.
    pub disclosures: Option<Disclosures>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            overdue_after_ms: DEFAULT_OVERDUE_AFTER_MS,
            disclosures: None,
        }
    }
}

/// Audits an export file. `progress` is called now and then with the bytes read so far.
pub fn audit_file(
    path: &Path,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, AuditError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| AuditError::Io {
        path: name.clone(),
        source,
    })?;
    audit(file, &name, opts, progress)
}

/// Audits a node's data folder (or its `ledger` folder): the cooperative `coop`, or the
/// only one it holds. The ledger is exported to an unnamed temporary file, then audited
/// like any export.
pub fn audit_data_dir(
    dir: &Path,
    coop: Option<Id>,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, AuditError> {
    let name = dir.display().to_string();
    let ledger_dir = if dir.join("ledger").is_dir() {
        dir.join("ledger")
    } else {
        dir.to_path_buf()
    };
    let lerr = |source| AuditError::Ledger {
        path: name.clone(),
        source: Box::new(source),
    };
    let ledger = taawun_ledger::Ledger::open(&ledger_dir).map_err(lerr)?;
    let id = match coop {
        Some(id) => id,
        None => match ledger.coops().map_err(lerr)?.as_slice() {
            [one] => *one,
            [] => {
                return Err(AuditError::WhichCoop(format!(
                    "{name} holds no cooperative"
                )))
            }
            many => {
                return Err(AuditError::WhichCoop(format!(
                    "{name} holds {} cooperatives; name one: {}",
                    many.len(),
                    many.iter().map(Id::to_hex).collect::<Vec<_>>().join(", ")
                )))
            }
        },
    };
    let c = ledger.coop(&id).map_err(lerr)?;
    let ioerr = |source| AuditError::Io {
        path: name.clone(),
        source,
    };
    let mut tmp = tempfile::tempfile().map_err(ioerr)?;
    c.export(&mut tmp).map_err(lerr)?;
    tmp.rewind().map_err(ioerr)?;
    drop(c);
    drop(ledger);
    audit(tmp, &name, opts, progress)
}

/// Audits an export file already open.
pub fn audit(
    file: File,
    name: &str,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, AuditError> {
    let io = |source| AuditError::Io {
        path: name.to_owned(),
        source,
    };
    let reader = file.try_clone().map_err(io)?;
    let (header, rx) = read::start(file).map_err(|source| AuditError::Unreadable {
        path: name.to_owned(),
        source,
    })?;
    let mut a = Auditor {
        coop: header.coop,
        idx: Index::new(reader),
        books: Books::default(),
        pending: HashMap::new(),
        pending_len: 0,
        report: Report {
            source: name.to_owned(),
            coop: header.coop.to_hex(),
            overdue_after_ms: opts.overdue_after_ms,
            ..Report::default()
        },
        kinds: BTreeMap::new(),
        first_ts: None,
        last_ts: 0,
        sealed: SealedReader::new(&header.coop, opts.disclosures.as_ref()),
        work: Vec::new(),
    };
    for batch in rx {
        match batch {
            Batch::Items(items) => {
                let end = items.last().map(|p| p.offset + u64::from(p.len));
                for p in items {
                    a.item(p);
                }
                if let Some(end) = end {
                    progress(end);
                }
            }
            Batch::Broken(source) => {
                return Err(AuditError::Unreadable {
                    path: name.to_owned(),
                    source,
                })
            }
        }
    }
    // The sealed fields were read as the entries went by, in file order.
    let sealed = std::mem::replace(
        &mut a.sealed,
        SealedReader::new(&header.coop, opts.disclosures.as_ref()),
    )
    .finish();
    let mut report = a.finish(opts);
    for b in &sealed.bad {
        // A key that does not open its field breaks no rule of the ledger: a notice.
        report.notices.push(Finding {
            rule: BAD_DISCLOSURE.to_owned(),
            id: (!b.entry.is_empty()).then(|| b.entry.chars().take(64).collect()),
            detail: b.to_string(),
            ..Finding::default()
        });
    }
    report.sealed = sealed;
    Ok(report)
}

/// The notice given for a disclosed key that does not open its sealed field.
pub const BAD_DISCLOSURE: &str = "BadDisclosure";

/// What a held-back entry waits for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Wait {
    /// The author's entry at this seq.
    Seq(PublicKey, u64),
    /// This entry.
    Id(Id),
}

#[derive(Debug)]
struct Held {
    v: Verified,
    index: u64,
    offset: u64,
    len: u32,
}

struct Auditor {
    coop: Id,
    idx: Index,
    books: Books,
    pending: HashMap<Wait, Vec<Held>>,
    pending_len: usize,
    report: Report,
    kinds: BTreeMap<&'static str, u64>,
    first_ts: Option<u64>,
    last_ts: u64,
    /// The readout of sealed fields, fed every decodable entry in file order.
    sealed: SealedReader,
    /// The entries [`Auditor::judge`] has yet to judge (empty between calls).
    work: Vec<(Held, bool)>,
}

fn finding(rule: &str, h: &Held, detail: String) -> Finding {
    let e = h.v.entry();
    Finding {
        rule: rule.to_owned(),
        item: Some(h.index),
        offset: Some(h.offset),
        id: Some(h.v.id().to_hex()),
        author: Some(e.author.to_hex()),
        kind: Some(e.body.kind().name().to_owned()),
        ts: Some(when(e.ts)),
        other_id: None,
        detail,
    }
}

impl Auditor {
    fn item(&mut self, p: Placed) {
        self.report.items += 1;
        match p.item {
            Checked::Undecodable(why) => self.report.violations.push(Finding {
                rule: verdict::UNDECODABLE.into(),
                item: Some(p.index),
                offset: Some(p.offset),
                detail: format!("the item is not a decodable entry envelope: {why}"),
                ..Finding::default()
            }),
            Checked::BadSignature(b, u) => {
                if let Some(u) = u {
                    self.sealed.add_once(u.id(), u.entry());
                }
                self.report.signatures_checked += 1;
                self.report.violations.push(Finding {
                    rule: verdict::BAD_SIGNATURE.into(),
                    item: Some(p.index),
                    offset: Some(p.offset),
                    id: Some(b.id.to_hex()),
                    author: Some(b.author.to_hex()),
                    detail: format!(
                        "the signature does not verify under the key the entry names ({})",
                        b.author.short()
                    ),
                    ..Finding::default()
                })
            }
            Checked::Entry(v) => {
                self.report.signatures_checked += 1;
                self.sealed.add_once(v.id(), v.entry());
                self.judge(
                    Held {
                        v,
                        index: p.index,
                        offset: p.offset,
                        len: p.len,
                    },
                    false,
                );
            }
        }
    }

    /// Judges an entry, then every entry that was waiting for what it made valid.
    fn judge(&mut self, first: Held, was_held: bool) {
        // Kept between calls: one allocation for the audit, not one per entry.
        let mut work = std::mem::take(&mut self.work);
        work.push((first, was_held));
        while let Some((h, held)) = work.pop() {
            let out = check(&self.idx, &self.coop, &h.v, None);
            match out {
                Ok(o @ (Outcome::Fresh | Outcome::Branch | Outcome::Fork { .. })) => {
                    if let Outcome::Fork { existing } = o {
                        let e = h.v.entry();
                        let mut f = finding(
                            verdict::EQUIVOCATION,
                            &h,
                            format!(
                                "author {} signed two different entries at seq {}: {} and {}; it is frozen from that seq",
                                e.author.short(),
                                e.seq,
                                existing.short(),
                                h.v.id().short()
                            ),
                        );
                        f.other_id = Some(existing.to_hex());
                        self.report.violations.push(f);
                        self.idx.freeze(&e.author, e.seq);
                        self.books.freeze(e.author, e.seq);
                    }
                    if held {
                        self.report.violations.push(finding(
                            verdict::OUT_OF_ORDER,
                            &h,
                            "the entry comes in the file before an entry it needs (its chain predecessor or an entry it names): an export lists every entry after those".into(),
                        ));
                    }
                    let e = h.v.entry();
                    let on_chain = matches!(o, Outcome::Fresh);
                    let p = self.idx.apply(&h.v, h.offset, h.len, on_chain);
                    self.books.record(&mut self.idx, p, &h.v, on_chain);
                    *self.kinds.entry(e.body.kind().name()).or_default() += 1;
                    self.first_ts = Some(self.first_ts.map_or(e.ts, |t| t.min(e.ts)));
                    self.last_ts = self.last_ts.max(e.ts);
                    // An honest export leaves nothing waiting: skip hashing both keys.
                    let waits = if self.pending.is_empty() {
                        [].as_slice()
                    } else {
                        &[Wait::Seq(e.author, e.seq), Wait::Id(h.v.id())][..]
                    };
                    for w in waits {
                        if let Some(ready) = self.pending.remove(w) {
                            self.pending_len -= ready.len();
                            work.extend(ready.into_iter().rev().map(|r| (r, true)));
                        }
                    }
                }
                Ok(Outcome::Duplicate) => self.report.notices.push(finding(
                    verdict::DUPLICATE,
                    &h,
                    "the same entry appears twice in the file".into(),
                )),
                Ok(Outcome::Pending(m)) => {
                    let w = match m {
                        Missing::Gap { author, from, .. } => Wait::Seq(author, from),
                        Missing::Dependency(id) => Wait::Id(id),
                    };
                    if self.pending_len >= MAX_PENDING {
                        self.report.violations.push(finding(
                            verdict::UNJUDGED,
                            &h,
                            format!("the entry needs something not yet seen and more than {MAX_PENDING} entries already wait: not judged"),
                        ));
                    } else {
                        self.pending_len += 1;
                        self.pending.entry(w).or_default().push(h);
                    }
                }
                Err(inv) => {
                    let rule = rule_name(&inv);
                    self.report
                        .violations
                        .push(finding(&rule, &h, inv.to_string()));
                }
            }
        }
        self.work = work;
    }

    fn finish(mut self, opts: &Options) -> Report {
        self.report_waiting();
        let mut r = self.report;
        r.valid_entries = self.idx.len() as u64;
        r.authors = u64::try_from(
            (0..self.idx.keys().len())
                .filter(|w| u32::try_from(*w).is_ok_and(|w| !self.idx.chain(w).is_empty()))
                .count(),
        )
        .unwrap_or(u64::MAX);
        r.kinds = self
            .kinds
            .iter()
            .map(|(k, n)| ((*k).to_owned(), *n))
            .collect();
        r.first_entry = self.first_ts.map(when);
        r.judged_at_ms = self.last_ts;
        r.judged_at = when(self.last_ts);
        let terms = Terms {
            now: self.last_ts,
            overdue_after_ms: opts.overdue_after_ms,
        };
        let out = self
            .books
            .finish(&self.idx, terms, &mut r.violations, &mut r.notices);
        r.rules = out.rules;
        r.wages = out.wages;
        r.members = out.members;
        r.requesters = out.requesters;
        r.balances = out.balances;
        r.series = out.series;
        r.witnessed_late = out.witnessed_late;
        r.idle_witnesses = out.idle_witnesses;
        r.draws = out.draws;
        r.appeals = out.appeals;
        r.verdict = r.verdict();
        r
    }

    /// Entries still waiting at the end: a hole in a chain, or a named entry that is not
    /// in the ledger (or was refused). One finding per hole and per missing entry.
    fn report_waiting(&mut self) {
        let waiting: HashSet<Id> = self.pending.values().flatten().map(|h| h.v.id()).collect();
        let waiting_seqs: HashSet<(PublicKey, u64)> = self
            .pending
            .values()
            .flatten()
            .map(|h| (h.v.entry().author, h.v.entry().seq))
            .collect();
        let mut groups: Vec<(Wait, Vec<Held>)> = self.pending.drain().collect();
        groups.sort_by_key(|(_, hs)| hs.first().map_or(0, |h| h.index));
        let v: &mut Findings = &mut self.report.violations;
        for (w, hs) in groups {
            let Some(first) = hs.first() else { continue };
            let others = hs.len() - 1;
            let more = if others > 0 {
                format!("; {others} more entries wait on the same and were not judged")
            } else {
                String::new()
            };
            match w {
                Wait::Seq(author, seq) if waiting_seqs.contains(&(author, seq)) => {
                    v.push(finding(
                        verdict::DEPENDS_ON_UNJUDGED,
                        first,
                        format!(
                            "the entry of author {} at seq {seq}, before this one in its chain, itself could not be judged{more}",
                            author.short()
                        ),
                    ))
                }
                Wait::Seq(author, seq) => v.push(finding(
                    verdict::CHAIN_GAP,
                    first,
                    format!(
                        "author {} has no valid entry at seq {seq} (missing from the file or refused above), so its chain breaks before seq {}{more}",
                        author.short(),
                        first.v.entry().seq
                    ),
                )),
                Wait::Id(id) if waiting.contains(&id) => v.push(finding(
                    verdict::DEPENDS_ON_UNJUDGED,
                    first,
                    format!("names entry {}, which itself could not be judged{more}", id.short()),
                )),
                Wait::Id(id) => v.push(finding(
                    verdict::MISSING_DEPENDENCY,
                    first,
                    format!("names entry {id}, which is not a valid entry of this ledger{more}"),
                )),
            }
        }
    }
}
