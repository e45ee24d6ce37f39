//! Offline verification of an export file, for auditors and `taawun ledger verify`.
//!
//! [`verify`] checks everything a node would, touching no disk: every signature (by
//! batch, on a worker thread), every chain, every rule ([`taawun_core::check`], without
//! the clock rule: an export holds old entries). Valid entries are folded into an
//! in-memory [`Coop`], which the [`Summary`] hands over so an auditor can go on to
//! balances, offers and requesters' records.
//!
//! Beyond what a node refuses, it reports what the auditor (`taawun audit`) reports as
//! breaks of a *file*: equivocations, entries before what they need, holes, and entries
//! by authors without a role at their time by the full governance history. Its
//! [`Summary::verdict`] is the auditor's ([`crate::verdict`]).
//!
//! Verifying in memory rather than into a temporary sled ledger is a choice: the fold is
//! what an audit needs anyway, and it is several times faster than storing. Its memory
//! grows with the file (about a kilobyte per entry); a file too large for that is
//! imported into a ledger instead ([`crate::Ledger::import`]).

use crate::disclose::{Disclosures, Readout};
use crate::error::LedgerError;
use crate::export::Items;
use crate::import::{run, Fork, ImportReport, Listed, Position, Rejection};
use crate::outcome::{Judge, Step};
use crate::pending::Pending;
use crate::verdict::{self, rule_name, Verdict};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::{BufReader, Read};
use taawun_core::body::Evidence;
use taawun_core::fold::Coop;
use taawun_core::validate::{Missing, Outcome};
use taawun_core::{check, Context, Id, Invalid, Kind, PublicKey, Timestamp, Verified};

/// An entry the file holds in a wrong place, or that could not be judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misplaced {
    /// Where it was (for a wait, the first of the entries waiting on the same thing).
    pub position: Position,
    /// Its id.
    pub id: Id,
    /// The break's name ([`crate::verdict`]): `OutOfOrder`, `ChainGap`,
    /// `MissingDependency`, `DependsOnUnjudged` or `Unjudged`.
    pub rule: &'static str,
}

/// What [`verify`] found.
#[derive(Debug)]
pub struct Summary {
    /// The cooperative the header names.
    pub coop: Id,
    /// What became of each item: stored here means valid.
    pub report: ImportReport,
    /// Valid entries per kind (kinds with none are left out).
    pub kinds: BTreeMap<Kind, u64>,
    /// Authors with at least one valid entry.
    pub authors: usize,
    /// Authors caught equivocating, with the seq of their fork.
    pub frozen: BTreeMap<PublicKey, u64>,
    /// Every break, counted by the name the auditor gives it ([`crate::verdict`]): a
    /// validation error's name, or one of [`verdict::BREAKS`].
    pub breaks: BTreeMap<String, u64>,
    /// Entries out of place: stored only after what they need came later in the file,
    /// or still waiting at its end (one per thing waited on, as the auditor counts).
    pub misplaced: Listed<Misplaced>,
    /// Valid entries by authors who held no role at their time ([`verdict::without_role`]).
    pub no_role: Listed<Id>,
    /// The state the valid entries fold into.
    pub state: Coop,
    /// The sealed fields of the valid entries: read with the disclosures given to
    /// [`Summary::disclose`], or all counted as still sealed.
    pub sealed: Readout,
}

/// The valid entries of `state` that have a sealed field, in a fixed order.
fn sealed_entries(state: &Coop) -> Vec<(Id, &taawun_core::Entry)> {
    let mut out: Vec<(Id, &taawun_core::Entry)> = Kind::ALL
        .iter()
        .flat_map(|k| state.ids(*k))
        .filter_map(|id| state.get(id))
        .filter(|v| !v.entry().body.sealed_fields().is_empty())
        .map(|v| (v.id(), v.entry()))
        .collect();
    out.sort_by_key(|(id, e)| (e.ts, *id));
    out
}

impl Summary {
    /// Reads the sealed fields of the valid entries with the disclosed keys `d`, each
    /// checked against its field's commitment ([`Readout`]).
    pub fn disclose(&mut self, d: &Disclosures) {
        self.sealed = Readout::new(&self.coop, sealed_entries(&self.state), Some(d));
    }

    /// The verdict, decided as `taawun audit` decides it ([`Verdict::decide`]).
    pub fn verdict(&self) -> Verdict {
        Verdict::decide(self.report.items, self.breaks.values().sum())
    }

    /// Whether the verdict is clean: at least one entry, and no break (an equivocation
    /// and a reordered file are breaks).
    pub fn is_clean(&self) -> bool {
        self.verdict().is_clean()
    }

    /// Valid entries.
    pub fn entries(&self) -> u64 {
        self.state.len() as u64
    }

    /// A JSON rendering for tools.
    pub fn to_json(&self) -> serde_json::Value {
        let r = &self.report;
        json!({
            "coop": self.coop.to_hex(),
            "verdict": self.verdict(),
            "clean": self.is_clean(),
            "items": r.items,
            "entries": self.entries(),
            "authors": self.authors,
            "kinds": self.kinds.iter().map(|(k, n)| (k.name().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "breaks": self.breaks,
            "duplicates": r.duplicates,
            "pending": r.pending,
            "frozen": self.frozen.iter().map(|(a, s)| json!({"author": a.to_hex(), "seq": s})).collect::<Vec<_>>(),
            "rejected": {
                "count": r.rejected.count,
                "first": r.rejected.first.iter().map(|x| json!({
                    "item": x.position.item,
                    "offset": x.position.offset,
                    "id": x.id.to_hex(),
                    "rule": rule_name(&x.invalid),
                    "error": x.invalid.to_string(),
                })).collect::<Vec<_>>(),
            },
            "equivocations": {
                "count": r.forks.count,
                "first": r.forks.first.iter().map(|x| json!({
                    "item": x.position.item,
                    "offset": x.position.offset,
                    "author": x.author.to_hex(),
                    "seq": x.seq,
                    "existing": x.existing.to_hex(),
                    "second": x.second.to_hex(),
                })).collect::<Vec<_>>(),
            },
            "misplaced": {
                "count": self.misplaced.count,
                "first": self.misplaced.first.iter().map(|x| json!({
                    "item": x.position.item,
                    "offset": x.position.offset,
                    "id": x.id.to_hex(),
                    "rule": x.rule,
                })).collect::<Vec<_>>(),
            },
            "no_role_at_time": {
                "count": self.no_role.count,
                "first": self.no_role.first.iter().map(Id::to_hex).collect::<Vec<_>>(),
            },
            "sealed": self.sealed,
            "bad_signatures": {
                "count": r.bad_signatures.count,
                "first": r.bad_signatures.first.iter().map(|(p, id)| json!({
                    "item": p.item,
                    "offset": p.offset,
                    "id": id.to_hex(),
                })).collect::<Vec<_>>(),
            },
            "undecodable": {
                "count": r.undecodable.count,
                "first": r.undecodable.first.iter().map(|(p, why)| json!({
                    "item": p.item,
                    "offset": p.offset,
                    "error": why,
                })).collect::<Vec<_>>(),
            },
        })
    }
}

/// Several lines: the verdict, counts per kind, then the report's problems.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = self.verdict();
        let says = match verdict {
            Verdict::Broken => {
                let n: u64 = self.breaks.values().sum();
                format!(
                    "PROBLEMS FOUND: {n} rule break{}",
                    if n == 1 { "" } else { "s" }
                )
            }
            v => v.says().to_owned(),
        };
        writeln!(
            f,
            "cooperative {}: {} valid entries by {} authors; {says}",
            self.coop,
            self.entries(),
            self.authors,
        )?;
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(k, n)| format!("{n} {}", k.name()))
            .collect();
        writeln!(f, "kinds: {}", kinds.join(", "))?;
        if !self.frozen.is_empty() {
            let frozen: Vec<String> = self
                .frozen
                .iter()
                .map(|(a, s)| format!("{} (seq {s})", a.short()))
                .collect();
            writeln!(f, "frozen authors: {}", frozen.join(", "))?;
        }
        if !self.breaks.is_empty() {
            writeln!(f, "breaks by rule:")?;
            for (rule, n) in &self.breaks {
                writeln!(f, "  {n:>8}  {rule}")?;
            }
        }
        write!(f, "{}", self.report)?;
        if self.misplaced.count > 0 {
            write!(f, "\nentries out of place: {}", self.misplaced.count)?;
            for m in &self.misplaced.first {
                write!(f, "\n  {}: entry {}: {}", m.position, m.id.short(), m.rule)?;
            }
        }
        if self.sealed.disclosures || self.sealed.unread > 0 {
            write!(f, "\n{}", self.sealed.line())?;
            for r in &self.sealed.read {
                write!(f, "\n  {}", r)?;
            }
            for b in &self.sealed.bad {
                write!(f, "\n  {}", b)?;
            }
        }
        if self.no_role.count > 0 {
            write!(
                f,
                "\nentries by authors with no role at their time: {}",
                self.no_role.count
            )?;
            for id in &self.no_role.first {
                write!(f, "\n  entry {}: {}", id.short(), verdict::NO_ROLE_AT_TIME)?;
            }
        }
        Ok(())
    }
}

/// Judges into an in-memory fold, with [`Coop::ingest`]'s semantics.
struct Auditor {
    coop: Id,
    state: Coop,
    pending: Pending,
    /// Breaks found by judging, by name: validation errors and equivocations.
    breaks: BTreeMap<String, u64>,
    /// Entries refused or found forked, so those refused when released from the pending
    /// buffer (which reports only what it stores) are listed too.
    refused: HashMap<Id, Refused>,
}

enum Refused {
    Invalid(Invalid),
    Fork {
        author: PublicKey,
        seq: u64,
        existing: Id,
    },
}

impl Judge for Auditor {
    fn judge(&mut self, v: Verified, now: Option<Timestamp>) -> Result<Step, LedgerError> {
        Ok(match check(&self.state, &self.coop, &v, now) {
            Err(invalid) => {
                *self.breaks.entry(rule_name(&invalid)).or_default() += 1;
                self.refused
                    .insert(v.id(), Refused::Invalid(invalid.clone()));
                Step::Rejected(v.id(), invalid)
            }
            Ok(Outcome::Fresh) => {
                let id = v.id();
                self.state.apply(v);
                Step::Stored(id)
            }
            Ok(Outcome::Branch) => {
                let id = v.id();
                self.state.apply_beside(v);
                Step::Stored(id)
            }
            Ok(Outcome::Duplicate) => Step::Duplicate,
            Ok(Outcome::Pending(missing)) => Step::Pending(Box::new(v), missing),
            Ok(Outcome::Fork { existing }) => {
                let a = self
                    .state
                    .entry(&existing)
                    .map(|x| x.envelope())
                    .unwrap_or_default();
                let (author, seq) = (v.entry().author, v.entry().seq);
                self.state.freeze(author, seq);
                *self
                    .breaks
                    .entry(verdict::EQUIVOCATION.to_owned())
                    .or_default() += 1;
                self.refused.insert(
                    v.id(),
                    Refused::Fork {
                        author,
                        seq,
                        existing,
                    },
                );
                let b = v.envelope();
                let id = v.id();
                // Valid on its own branch: kept beside the chain, like `Coop::ingest`.
                self.state.apply_beside(v);
                Step::Fork {
                    id,
                    existing,
                    evidence: Evidence { a, b },
                }
            }
        })
    }

    fn pending(&mut self) -> &mut Pending {
        &mut self.pending
    }

    /// The fold applies as it judges: nothing is staged.
    fn commit(&mut self) -> Result<(), LedgerError> {
        Ok(())
    }

    fn discard(&mut self) {}
}

/// What an entry still waiting at the end waits for, as the auditor groups them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Wait {
    Seq(PublicKey, u64),
    Id(Id),
}

/// Verifies an export file entirely in memory (see the module's documentation). A
/// stream that is not an export, or breaks off, is an error; everything else is reported
/// in the [`Summary`].
pub fn verify<R: Read + Send>(r: R) -> Result<Summary, LedgerError> {
    let mut items = Items::new(BufReader::new(r));
    let coop = items.header()?.coop;
    let mut a = Auditor {
        coop,
        state: Coop::new(),
        pending: Pending::default(),
        breaks: BTreeMap::new(),
        refused: HashMap::new(),
    };
    let mut report = ImportReport::default();
    let waiting = run(&mut a, items, &mut report)?;
    report.pending = waiting.keys().filter(|id| a.pending.contains(id)).count() as u64;
    let mut breaks = std::mem::take(&mut a.breaks);
    let mut count = |rule: &str, n: u64| {
        if n > 0 {
            *breaks.entry(rule.to_owned()).or_default() += n;
        }
    };
    count(verdict::UNDECODABLE, report.undecodable.count);
    count(verdict::BAD_SIGNATURE, report.bad_signatures.count);

    // Entries that waited: stored later (out of order), refused when released, dropped
    // from a full buffer (unjudged), or still waiting.
    let mut misplaced = Listed::default();
    let mut order: Vec<(Position, Id)> = waiting.iter().map(|(id, p)| (*p, *id)).collect();
    order.sort_unstable();
    let still: HashMap<Id, Position> = order
        .iter()
        .filter(|(_, id)| a.pending.contains(id))
        .map(|(p, id)| (*id, *p))
        .collect();
    let mut late = Vec::new();
    for (position, id) in &order {
        let (position, id) = (*position, *id);
        if a.state.get(&id).is_some() {
            late.push(Misplaced {
                position,
                id,
                rule: verdict::OUT_OF_ORDER,
            });
        } else if still.contains_key(&id) {
            // Reported below, by what it waits for.
        } else {
            match a.refused.get(&id) {
                Some(Refused::Invalid(invalid)) => {
                    if !report.rejected.first.iter().any(|r| r.id == id) {
                        report.rejected.push(Rejection {
                            position,
                            id,
                            invalid: invalid.clone(),
                        });
                    }
                }
                Some(Refused::Fork {
                    author,
                    seq,
                    existing,
                }) => {
                    if !report.forks.first.iter().any(|f| f.second == id) {
                        report.forks.push(Fork {
                            position,
                            author: *author,
                            seq: *seq,
                            existing: *existing,
                            second: id,
                        });
                    }
                }
                None => late.push(Misplaced {
                    position,
                    id,
                    rule: verdict::UNJUDGED,
                }),
            }
        }
    }
    // Still waiting: one break per thing waited on, named as the auditor names it.
    let left = a.pending.drain();
    let left_ids: HashSet<Id> = left.iter().map(Verified::id).collect();
    let left_seqs: HashSet<(PublicKey, u64)> = left
        .iter()
        .map(|v| (v.entry().author, v.entry().seq))
        .collect();
    let mut groups: BTreeMap<Wait, (Position, Id)> = BTreeMap::new();
    for v in &left {
        let wait = match check(&a.state, &coop, v, None) {
            Ok(Outcome::Pending(Missing::Gap { author, from, .. })) => Wait::Seq(author, from),
            Ok(Outcome::Pending(Missing::Dependency(id))) => Wait::Id(id),
            _ => Wait::Id(v.id()),
        };
        let at = still
            .get(&v.id())
            .copied()
            .unwrap_or(Position { item: 0, offset: 0 });
        let first = groups.entry(wait).or_insert((at, v.id()));
        if at < first.0 {
            *first = (at, v.id());
        }
    }
    let mut ends: Vec<Misplaced> = groups
        .into_iter()
        .map(|(wait, (position, id))| Misplaced {
            position,
            id,
            rule: match wait {
                Wait::Seq(author, seq) if left_seqs.contains(&(author, seq)) => {
                    verdict::DEPENDS_ON_UNJUDGED
                }
                Wait::Seq(..) => verdict::CHAIN_GAP,
                Wait::Id(x) if x == id => verdict::UNJUDGED,
                Wait::Id(x) if left_ids.contains(&x) => verdict::DEPENDS_ON_UNJUDGED,
                Wait::Id(_) => verdict::MISSING_DEPENDENCY,
            },
        })
        .collect();
    late.append(&mut ends);
    late.sort_by_key(|m| m.position);
    for m in late {
        count(m.rule, 1);
        misplaced.push(m);
    }

    // Entries by authors without a role at their time, by the full history.
    let mut no_role = Listed::default();
    if let Some(tl) = a.state.timeline() {
        let frozen = a.state.frozen_authors();
        let mut found: Vec<(PublicKey, u64, Id)> = Kind::ALL
            .iter()
            .flat_map(|k| a.state.ids(*k))
            .filter_map(|id| a.state.get(id))
            .filter(|v| {
                let e = v.entry();
                let speaker = a.state.speaker(&e.author);
                verdict::without_role(tl, e, &speaker, frozen.get(&e.author).copied())
            })
            .map(|v| (v.entry().author, v.entry().seq, v.id()))
            .collect();
        found.sort_unstable();
        count(verdict::NO_ROLE_AT_TIME, found.len() as u64);
        for (_, _, id) in found {
            no_role.push(id);
        }
    }

    let kinds = Kind::ALL
        .iter()
        .map(|k| (*k, a.state.ids(*k).count() as u64))
        .filter(|(_, n)| *n > 0)
        .collect();
    let sealed = Readout::new(&coop, sealed_entries(&a.state), None);
    Ok(Summary {
        coop,
        report,
        kinds,
        sealed,
        authors: a.state.heads().len(),
        frozen: a.state.frozen_authors().clone(),
        breaks,
        misplaced,
        no_role,
        state: a.state,
    })
}
