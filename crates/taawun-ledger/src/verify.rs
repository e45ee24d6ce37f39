//! Offline verification of an export file, for auditors and `taawun ledger verify`.
//!
//! [`verify`] checks everything a node would, touching no disk: every signature (by
//! batch, on a worker thread), every chain, every rule ([`taawun_core::check`], without
//! the clock rule: an export holds old entries). Valid entries are folded into an
//! in-memory [`Coop`], which the [`Summary`] hands over so an auditor can go on to
//! balances, offers and requesters' records.
//!
//! Verifying in memory rather than into a temporary sled ledger is a choice: the fold is
//! what an audit needs anyway, and it is several times faster than storing. Its memory
//! grows with the file (about a kilobyte per entry); a file too large for that is
//! imported into a ledger instead ([`crate::Ledger::import`]).

use crate::error::LedgerError;
use crate::export::Items;
use crate::import::{run, ImportReport};
use crate::outcome::{Judge, Step};
use crate::pending::Pending;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufReader, Read};
use taawun_core::body::Evidence;
use taawun_core::fold::Coop;
use taawun_core::validate::Outcome;
use taawun_core::{check, Context, Id, Kind, PublicKey, Timestamp, Verified};

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
    /// The state the valid entries fold into.
    pub state: Coop,
}

impl Summary {
    /// Whether every item is a valid entry (equivocations are reported, not unclean:
    /// keeping the evidence is what a ledger should do).
    pub fn is_clean(&self) -> bool {
        self.report.is_clean()
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
            "clean": self.is_clean(),
            "items": r.items,
            "entries": self.entries(),
            "authors": self.authors,
            "kinds": self.kinds.iter().map(|(k, n)| (k.name().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "duplicates": r.duplicates,
            "pending": r.pending,
            "frozen": self.frozen.iter().map(|(a, s)| json!({"author": a.to_hex(), "seq": s})).collect::<Vec<_>>(),
            "rejected": {
                "count": r.rejected.count,
                "first": r.rejected.first.iter().map(|x| json!({
                    "item": x.position.item,
                    "offset": x.position.offset,
                    "id": x.id.to_hex(),
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
        writeln!(
            f,
            "cooperative {}: {} valid entries by {} authors{}",
            self.coop,
            self.entries(),
            self.authors,
            if self.is_clean() {
                ", every item valid"
            } else {
                ", PROBLEMS FOUND"
            }
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
        write!(f, "{}", self.report)
    }
}

/// Judges into an in-memory fold, with [`Coop::ingest`]'s semantics.
struct Auditor {
    coop: Id,
    state: Coop,
    pending: Pending,
}

impl Judge for Auditor {
    fn judge(&mut self, v: Verified, now: Option<Timestamp>) -> Result<Step, LedgerError> {
        Ok(match check(&self.state, &self.coop, &v, now) {
            Err(invalid) => Step::Rejected(v.id(), invalid),
            Ok(Outcome::Fresh) => {
                let id = v.id();
                self.state.apply(v);
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
                self.state.freeze(v.entry().author, v.entry().seq);
                Step::Fork {
                    existing,
                    evidence: Evidence { a, b: v.envelope() },
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
    };
    let mut report = ImportReport::default();
    let waiting = run(&mut a, items, &mut report)?;
    report.pending = waiting.iter().filter(|id| a.pending.contains(id)).count() as u64;
    let kinds = Kind::ALL
        .iter()
        .map(|k| (*k, a.state.ids(*k).count() as u64))
        .filter(|(_, n)| *n > 0)
        .collect();
    Ok(Summary {
        coop,
        report,
        kinds,
        authors: a.state.heads().len(),
        frozen: a.state.frozen_authors().clone(),
        state: a.state,
    })
}
