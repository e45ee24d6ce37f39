//! What an audit found, as data (serialised for `--json`) and as text for a terminal.
//!
//! Amounts are integer minor units with their currency; rates are minor units per hour,
//! rounded down. Percentages and shares are floats: they are statistics, never amounts.
//! Times are UTC.

use crate::time::{duration, utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use taawun_core::money::format_in;
use taawun_ledger::Verdict;

/// Findings listed in full per report section; the rest are counted.
pub const MAX_LISTED: usize = 1000;

/// One rule break (or notice), with what a person needs to check it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// The rule's name: a validation error's name as in docs/protocol.md section 4
    /// (`OfferBelowFloor`, `LotteryMismatch`...) or one of the audit's own
    /// (`BadSignature`, `Equivocation`, `ChainGap`, `OutOfOrder`, `NoRoleAtTime`...:
    /// `taawun_ledger::verdict`, listed with their meaning in docs/auditing.md).
    pub rule: String,
    /// Item number in the file (the header is item 0).
    pub item: Option<u64>,
    /// Byte offset of the item in the file.
    pub offset: Option<u64>,
    /// The entry's id, in hex.
    pub id: Option<String>,
    /// The entry's author (for a bad signature: the author it claims), in hex.
    pub author: Option<String>,
    /// The entry's kind.
    pub kind: Option<String>,
    /// The entry's timestamp, UTC.
    pub ts: Option<String>,
    /// The second entry: for an equivocation, the entry already in the chain.
    pub other_id: Option<String>,
    /// What is wrong, with the numbers.
    pub detail: String,
}

/// A list of findings, counted by rule, the first [`MAX_LISTED`] listed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Findings {
    /// All findings.
    pub count: u64,
    /// Findings per rule.
    pub by_rule: BTreeMap<String, u64>,
    /// The first ones, in file order.
    pub listed: Vec<Finding>,
}

impl Findings {
    /// Adds a finding.
    pub fn push(&mut self, f: Finding) {
        self.count += 1;
        *self.by_rule.entry(f.rule.clone()).or_default() += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(f);
        }
    }
}

/// Pay actually earned in one currency.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Wages {
    /// The floor in force at the end of the ledger, minor units per hour.
    pub floor_now: u64,
    /// Submissions accepted (explicitly or by default).
    pub accepted: u64,
    /// Submissions rejected.
    pub rejected: u64,
    /// Minutes reported on accepted submissions.
    pub minutes_accepted: u64,
    /// Minutes reported on all reviewed or accepted submissions (rejected work included).
    pub minutes_all: u64,
    /// Pay of accepted submissions.
    pub pay: u64,
    /// Top-ups of accepted submissions.
    pub topups: u64,
    /// (pay + top-ups) x 60 / minutes over accepted work.
    pub rate_accepted: Option<u64>,
    /// The same over all work, rejected work earning nothing.
    pub rate_all_work: Option<u64>,
    /// Median of the per-submission effective rates of accepted work.
    pub median_rate: Option<u64>,
    /// 10th percentile of the same.
    pub p10_rate: Option<u64>,
    /// 90th percentile of the same.
    pub p90_rate: Option<u64>,
    /// Accepted submissions whose effective rate is under the floor in force at their
    /// offer's time.
    pub under_floor: u64,
    /// The same as a share of accepted submissions, in percent.
    pub under_floor_pct: f64,
}

/// One member's work and pay in one currency.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MemberStats {
    /// The member's key, hex.
    pub member: String,
    /// The currency.
    pub currency: String,
    /// Submissions made.
    pub submissions: u64,
    /// Accepted.
    pub accepted: u64,
    /// Rejected.
    pub rejected: u64,
    /// Minutes reported on accepted work.
    pub minutes_accepted: u64,
    /// Minutes reported on all work.
    pub minutes_all: u64,
    /// Pay + top-ups earned.
    pub earned: u64,
    /// Recorded as paid to the member (every settlement, answered or not).
    pub paid: u64,
    /// Payments the member confirmed received.
    pub confirmed: u64,
    /// Claimed paid, not confirmed: settlements the member has not answered.
    pub unconfirmed: u64,
    /// Settlements the member answered "not received".
    pub not_received: u64,
    /// Their amount.
    pub denied: u64,
    /// Still owed: earned - confirmed per requester, never below zero (a requester's
    /// word that it paid lowers nothing).
    pub owed: u64,
    /// Effective hourly rate over accepted work.
    pub rate_accepted: Option<u64>,
    /// Effective hourly rate over all work.
    pub rate_all_work: Option<u64>,
}

/// Money between one requester and its members in one currency.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Money {
    /// Pay for accepted work.
    pub earned: u64,
    /// Top-ups owed on accepted work.
    pub topups: u64,
    /// Recorded as paid (every settlement, answered or not).
    pub paid: u64,
    /// Payments the members confirmed.
    pub confirmed: u64,
    /// Claimed paid, not confirmed: paid - confirmed - not received, per member, never
    /// below zero.
    pub unconfirmed: u64,
    /// Payments the members answered "not received".
    pub denied: u64,
    /// Still owed: earned + top-ups - confirmed, per member, never below zero.
    pub unpaid: u64,
    /// The part of `unpaid` due for longer than the audit's payment term.
    pub overdue: u64,
    /// Effective hourly rate paid for accepted work.
    pub hourly_rate: Option<u64>,
}

/// Money between one requester and one member in one currency: the balance of
/// docs/protocol.md 8.5, as a node's fold gives it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Balance {
    /// The requester's key, hex.
    pub requester: String,
    /// The member's key, hex.
    pub member: String,
    /// The currency.
    pub currency: String,
    /// Pay for accepted work.
    pub earned: u64,
    /// Top-ups owed on accepted work.
    pub topup: u64,
    /// Recorded as paid by the requester (every settlement, answered or not).
    pub paid: u64,
    /// Confirmed received by the member.
    pub confirmed: u64,
    /// Answered "not received" by the member.
    pub denied: u64,
    /// Still owed: earned + top-up - confirmed, never below zero.
    pub owed: u64,
    /// Claimed paid, not confirmed: paid - confirmed - denied, never below zero.
    pub unconfirmed: u64,
}

/// A requester's conduct.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequesterStats {
    /// The requester's key, hex.
    pub requester: String,
    /// Offers that count.
    pub offers: u64,
    /// Submissions received.
    pub submissions: u64,
    /// Accepted explicitly.
    pub accepted: u64,
    /// Accepted by default (the review window passed).
    pub accepted_by_default: u64,
    /// Rejected.
    pub rejected: u64,
    /// Still in review at the end of the ledger.
    pub pending: u64,
    /// Share accepted (explicitly or by default) of the reviewed or accepted, percent.
    pub acceptance_pct: Option<f64>,
    /// Share rejected, percent.
    pub rejection_pct: Option<f64>,
    /// Median time from submission to an explicit verdict, ms.
    pub median_review_ms: Option<u64>,
    /// Median time from acceptance to the payment covering it, ms.
    pub median_pay_ms: Option<u64>,
    /// Assignments of its listed offers that do not count (docs/protocol.md 8.2): they
    /// leave out a claim that counts, name one that does not, or came before the claim
    /// window closed. The fold's `Record::void_assignments`.
    pub void_assignments: u64,
    /// Reviews received.
    pub reviews: u64,
    /// Mean scores x 100: pay, fairness, promptness, communication.
    pub scores: Option<[u32; 4]>,
    /// Settlements its members answered "not received".
    pub not_received: u64,
    /// Money per currency.
    pub money: BTreeMap<String, Money>,
    /// Appeals that count against its rejections (docs/protocol.md 8.8).
    pub appeals: u64,
    /// Of them, upheld (by a majority or by default).
    pub appeals_upheld: u64,
    /// Of them, dismissed.
    pub appeals_dismissed: u64,
}

/// The rules in force at the end of the ledger, by everything it holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RulesNow {
    /// Members.
    pub members: u64,
    /// Requesters.
    pub requesters: u64,
    /// Quorum, percent.
    pub quorum_pct: u8,
    /// Floors, minor units per hour.
    pub floors: BTreeMap<String, u64>,
}

/// Entries first witnessed long after their timestamp (docs/protocol.md 5.7): by
/// someone other than their author more than `WITNESS_SLACK_MS` (15 minutes) later.
/// Their windows and effective times run from when they were witnessed; many of them,
/// or a long delay, show backdating or an author whose entries reached nobody.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WitnessedLate {
    /// How many.
    pub count: u64,
    /// How many per kind.
    pub by_kind: BTreeMap<String, u64>,
    /// The one witnessed longest after its timestamp.
    pub worst: Option<LateEntry>,
}

/// An entry first witnessed long after its timestamp.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LateEntry {
    /// The entry's id, hex.
    pub id: String,
    /// Its author, hex.
    pub author: String,
    /// Its kind.
    pub kind: String,
    /// Its timestamp, UTC.
    pub ts: String,
    /// When someone else first witnessed it, UTC.
    pub witnessed: String,
    /// The difference, ms.
    pub late_ms: u64,
}

impl WitnessedLate {
    /// One line for a report: the count, the kinds, and the longest delay.
    pub fn line(&self) -> String {
        if self.count == 0 {
            return "witnessed late: none (no entry first witnessed by another author more than 15 min after its timestamp)".into();
        }
        let kinds: Vec<String> = self
            .by_kind
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let mut s = format!(
            "witnessed late: {} entr{} first witnessed by another author more than 15 min after {} timestamp",
            self.count,
            if self.count == 1 { "y" } else { "ies" },
            if self.count == 1 { "its" } else { "their" }
        );
        if !kinds.is_empty() {
            s.push_str(&format!(" ({})", kinds.join(", ")));
        }
        if let Some(w) = &self.worst {
            s.push_str(&format!(
                "; the longest: {} {} by {}, dated {}, first witnessed {} ({} later)",
                w.kind,
                short(&w.id),
                short(&w.author),
                w.ts,
                w.witnessed,
                duration(w.late_ms)
            ));
        }
        s
    }
}

/// The draws of listed offers (docs/protocol.md 8.2): assignments that do not count, and
/// places whose holder sent no work in time, passed to the next claimant of the ranking.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Draws {
    /// Void assignments, over every requester (each requester's are in its record).
    pub void_assignments: u64,
    /// Places that lapsed.
    pub lapsed_places: u64,
    /// Offers with a lapsed place.
    pub offers_with_lapses: u64,
    /// Those offers, the first [`MAX_LISTED`], in file order.
    pub listed: Vec<LapsedPlaces>,
}

/// Appeals of rejected work (docs/protocol.md 8.8), by how they stand at the audit's time.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AppealStats {
    /// Appeals that count, against rejections that count.
    pub appeals: u64,
    /// Upheld by a jury's majority: the work is owed as accepted work.
    pub upheld: u64,
    /// Upheld by default: every member of the jury's ranking let its turn pass.
    pub upheld_by_default: u64,
    /// Dismissed by a majority: the rejection stands.
    pub dismissed: u64,
    /// No jury could be formed: the rejection stands.
    pub no_jury: u64,
    /// Still being drawn or voted on.
    pub open: u64,
}

impl AppealStats {
    /// The line of a report.
    pub fn line(&self) -> String {
        format!(
            "appeals: {} ({} upheld, {} upheld by default, {} dismissed, {} without a jury, {} open)",
            self.appeals,
            self.upheld,
            self.upheld_by_default,
            self.dismissed,
            self.no_jury,
            self.open
        )
    }
}

/// An offer of which a place lapsed.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct LapsedPlaces {
    /// The offer's id, hex.
    pub offer: String,
    /// Its requester, hex.
    pub requester: String,
    /// The claimants whose place lapsed, in the order the places were given.
    pub lapsed: Vec<String>,
    /// The claimants holding a place now (waiting for their work, or done): the winners,
    /// and those the lapsed places passed to.
    pub holders: Vec<String>,
}

impl Draws {
    /// Lines for a report: the void assignments, and per offer the places that lapsed
    /// (the first `rows`).
    pub fn lines(&self, rows: usize) -> Vec<String> {
        let mut out =
            vec![format!(
            "draws: {} void assignment{} (per requester below), {} place{} lapsed on {} offer{}",
            self.void_assignments,
            if self.void_assignments == 1 { "" } else { "s" },
            self.lapsed_places,
            if self.lapsed_places == 1 { "" } else { "s" },
            self.offers_with_lapses,
            if self.offers_with_lapses == 1 { "" } else { "s" },
        )];
        for o in self.listed.iter().take(rows) {
            let keys = |v: &[String]| {
                if v.is_empty() {
                    "nobody".to_owned()
                } else {
                    v.iter().map(|k| short(k)).collect::<Vec<_>>().join(", ")
                }
            };
            out.push(format!(
                "  offer {} of {}: lapsed {}; held now by {}",
                short(&o.offer),
                short(&o.requester),
                keys(&o.lapsed),
                keys(&o.holders)
            ));
        }
        if self.offers_with_lapses > rows as u64 {
            out.push(format!(
                "  ... {} more offers with lapsed places (see --json)",
                self.offers_with_lapses - rows as u64
            ));
        }
        out
    }
}

/// Ticks by idle witnesses (docs/protocol.md 5.7): a tick naming an entry more than
/// `WITNESS_SLACK_MS` after that entry's timestamp, by an author whose entry before the
/// tick is older than the entry named. Such a witness wrote nothing from before the entry
/// was made until it ticked it; it could have dated its tick as it pleased within that
/// gap, so witnessed times that rest on it deserve a look. Breaks no rule: a node that was
/// offline and catches up ticks like this too.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdleWitnesses {
    /// Such ticks.
    pub ticks: u64,
    /// Their distinct authors.
    pub witnesses: u64,
    /// The one naming an entry longest after its timestamp.
    pub worst: Option<IdleTick>,
}

/// A tick by an idle witness.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdleTick {
    /// The tick's id, hex.
    pub id: String,
    /// Its author, hex.
    pub author: String,
    /// Its timestamp, UTC.
    pub ts: String,
    /// The timestamp of its author's entry before it, UTC.
    pub previous: String,
    /// The entry it names longest after its timestamp, hex.
    pub named: String,
    /// That entry's timestamp, UTC.
    pub named_ts: String,
    /// The tick's timestamp minus the named entry's, ms.
    pub late_ms: u64,
}

impl IdleWitnesses {
    /// One line for a report.
    pub fn line(&self) -> String {
        if self.ticks == 0 {
            return "idle witnesses: none (no tick names an entry more than 15 min after its timestamp from an author silent since before that entry)".into();
        }
        let mut s = format!(
            "idle witnesses: {} tick{} by {} author{} named entries more than 15 min after their timestamp, their author silent since before those entries",
            self.ticks,
            if self.ticks == 1 { "" } else { "s" },
            self.witnesses,
            if self.witnesses == 1 { "" } else { "s" },
        );
        if let Some(w) = &self.worst {
            s.push_str(&format!(
                "; the longest: tick {} by {} at {} (previous entry {}) names {} dated {} ({} later)",
                short(&w.id),
                short(&w.author),
                w.ts,
                w.previous,
                short(&w.named),
                w.named_ts,
                duration(w.late_ms)
            ));
        }
        s
    }
}

/// Series for plots (not serialised).
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Per currency, the effective rate of each accepted submission.
    pub rates: BTreeMap<String, Vec<u64>>,
    /// Every delay from acceptance to payment, ms.
    pub pay_delays_ms: Vec<u64>,
}

/// Everything an audit found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// What was audited.
    pub source: String,
    /// The cooperative, hex.
    pub coop: String,
    /// Items in the file after the header.
    pub items: u64,
    /// Entries found valid.
    pub valid_entries: u64,
    /// Authors with a valid entry.
    pub authors: u64,
    /// Valid entries per kind.
    pub kinds: BTreeMap<String, u64>,
    /// Signatures checked.
    pub signatures_checked: u64,
    /// First and last entry times, UTC.
    pub first_entry: Option<String>,
    /// The time the state is judged at: the last entry's timestamp (ms), so default
    /// acceptance and overdue payments follow the ledger's own clock.
    pub judged_at_ms: u64,
    /// The same, UTC.
    pub judged_at: String,
    /// The verdict ([`Report::verdict`], set when the audit ends): `clean`, `broken`,
    /// or `empty` (a header and no entries: nothing was verified).
    pub verdict: Verdict,
    /// Rule breaks: any makes the audit fail.
    pub violations: Findings,
    /// Things to ask about that break no rule.
    pub notices: Findings,
    /// Rules at the end.
    pub rules: RulesNow,
    /// Pay actually earned, per currency.
    pub wages: BTreeMap<String, Wages>,
    /// Per member and currency.
    pub members: Vec<MemberStats>,
    /// Per requester.
    pub requesters: Vec<RequesterStats>,
    /// Every balance between a requester and a member, per currency.
    pub balances: Vec<Balance>,
    /// What the cooperative took: nothing. There is no fee entry in the protocol; every
    /// recorded payment goes from a requester to a member.
    pub platform_cut: u64,
    /// The payment term after which unpaid dues count as overdue, ms.
    pub overdue_after_ms: u64,
    /// Entries first witnessed long after their timestamp.
    pub witnessed_late: WitnessedLate,
    /// Ticks by witnesses idle since before the entries they name.
    pub idle_witnesses: IdleWitnesses,
    /// Void assignments and lapsed places of listed offers.
    pub draws: Draws,
    /// Appeals of rejected work and how they stand.
    pub appeals: AppealStats,
    /// Sealed fields (payment references...): those read with the keys disclosed beside
    /// the export, how many stay sealed, and disclosed keys that do not match.
    pub sealed: taawun_ledger::disclose::Readout,
    /// Plot series.
    #[serde(skip)]
    pub series: Series,
}

impl Report {
    /// The verdict, decided as `taawun ledger verify` decides it ([`Verdict::decide`]):
    /// clean (entries and no break), broken (a break), or empty (no entries).
    pub fn verdict(&self) -> Verdict {
        Verdict::decide(self.items, self.violations.count)
    }

    /// Whether the verdict is clean: at least one entry, and no rule broken.
    pub fn is_clean(&self) -> bool {
        self.verdict().is_clean()
    }
}

fn rate(r: Option<u64>, cur: &str) -> String {
    r.map_or("-".into(), |r| format!("{} {cur}/h", format_in(r, cur)))
}

fn ms(d: Option<u64>) -> String {
    d.map_or("-".into(), duration)
}

fn short(hex: &str) -> &str {
    hex.get(..8).unwrap_or(hex)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "audit of {}", self.source)?;
        writeln!(f, "cooperative {}", self.coop)?;
        writeln!(
            f,
            "{} items, {} valid entries by {} authors, {} signatures checked",
            self.items, self.valid_entries, self.authors, self.signatures_checked
        )?;
        if let Some(first) = &self.first_entry {
            writeln!(f, "entries from {first} to {} (UTC)", self.judged_at)?;
        }
        let floors: Vec<String> = self
            .rules
            .floors
            .iter()
            .map(|(c, v)| format!("{} {c}/h", format_in(*v, c)))
            .collect();
        writeln!(
            f,
            "rules at the end: {} members, {} requesters, quorum {} %, floor {}",
            self.rules.members,
            self.rules.requesters,
            self.rules.quorum_pct,
            floors.join(", ")
        )?;
        writeln!(f)?;
        if self.verdict() != Verdict::Broken {
            writeln!(f, "VERDICT: {}", self.verdict().says())?;
        } else {
            writeln!(
                f,
                "VERDICT: {} rule break{} found",
                self.violations.count,
                if self.violations.count == 1 { "" } else { "s" }
            )?;
            for (rule, n) in &self.violations.by_rule {
                writeln!(f, "  {n:>8}  {rule}")?;
            }
            for v in self.violations.listed.iter().take(50) {
                write_finding(f, v)?;
            }
            if self.violations.count > 50 {
                writeln!(f, "  ... {} more (see --json)", self.violations.count - 50)?;
            }
        }
        if self.notices.count > 0 {
            writeln!(f, "\nnotices (no rule broken; worth asking about):")?;
            for (rule, n) in &self.notices.by_rule {
                writeln!(f, "  {n:>8}  {rule}")?;
            }
            for v in self.notices.listed.iter().take(10) {
                write_finding(f, v)?;
            }
        }
        writeln!(f, "\n{}", self.witnessed_late.line())?;
        writeln!(f, "{}", self.idle_witnesses.line())?;
        for line in self.draws.lines(10) {
            writeln!(f, "{line}")?;
        }
        writeln!(f, "{}", self.appeals.line())?;
        if self.sealed.disclosures || self.sealed.unread > 0 {
            writeln!(f, "{}", self.sealed.line())?;
            for r in &self.sealed.read {
                writeln!(f, "  {r}")?;
            }
        }
        writeln!(
            f,
            "\nwages (accepted work; pay + top-ups over reported minutes):"
        )?;
        for (cur, w) in &self.wages {
            writeln!(
                f,
                "  {cur}: {} accepted, {} rejected; effective rate {} (all work, rejected unpaid: {}); median {}, p10 {}, p90 {}; under the floor: {} ({:.1} %); floor now {}",
                w.accepted,
                w.rejected,
                rate(w.rate_accepted, cur),
                rate(w.rate_all_work, cur),
                rate(w.median_rate, cur),
                rate(w.p10_rate, cur),
                rate(w.p90_rate, cur),
                w.under_floor,
                w.under_floor_pct,
                rate(Some(w.floor_now), cur),
            )?;
            writeln!(
                f,
                "       pay {} + top-ups {} {cur} for {} minutes",
                format_in(w.pay, cur),
                format_in(w.topups, cur),
                w.minutes_accepted
            )?;
        }
        writeln!(
            f,
            "  platform cut: {} (the protocol has no fee)",
            self.platform_cut
        )?;
        writeln!(f, "\nrequesters:")?;
        writeln!(
            f,
            "  {:<8} {:>6} {:>5} {:>6} {:>6} {:>6} {:>6} {:>7} {:>10} {:>10} {:>14} {:>14} {:>12}",
            "key",
            "offers",
            "void",
            "subs",
            "acc",
            "deflt",
            "rej",
            "rej %",
            "review",
            "to pay",
            "unpaid",
            "overdue",
            "top-ups"
        )?;
        for r in &self.requesters {
            let mut first = true;
            let monies: Vec<(&String, &Money)> = r.money.iter().collect();
            let rows = if monies.is_empty() { 1 } else { monies.len() };
            for i in 0..rows {
                let (cur, m) = monies
                    .get(i)
                    .map_or((String::new(), Money::default()), |(c, m)| {
                        ((*c).clone(), (*m).clone())
                    });
                let money = |v: u64| format!("{} {cur}", format_in(v, &cur));
                if first {
                    writeln!(
                        f,
                        "  {:<8} {:>6} {:>5} {:>6} {:>6} {:>6} {:>6} {:>7} {:>10} {:>10} {:>14} {:>14} {:>12}",
                        short(&r.requester),
                        r.offers,
                        r.void_assignments,
                        r.submissions,
                        r.accepted,
                        r.accepted_by_default,
                        r.rejected,
                        r.rejection_pct.map_or("-".into(), |p| format!("{p:.1}")),
                        ms(r.median_review_ms),
                        ms(r.median_pay_ms),
                        money(m.unpaid),
                        money(m.overdue),
                        money(m.topups),
                    )?;
                    first = false;
                } else {
                    writeln!(
                        f,
                        "  {:<8} {:>6} {:>5} {:>6} {:>6} {:>6} {:>6} {:>7} {:>10} {:>10} {:>14} {:>14} {:>12}",
                        "", "", "", "", "", "", "", "", "", "",
                        money(m.unpaid),
                        money(m.overdue),
                        money(m.topups),
                    )?;
                }
            }
        }
        writeln!(
            f,
            "  (void: assignments that do not count, 8.2; overdue: unpaid for more than {} after acceptance, by the ledger's last timestamp)",
            duration(self.overdue_after_ms)
        )?;
        self.write_payments(f)
    }
}

/// Members listed by name in the text report's payments; the rest are counted.
const PAYMENT_ROWS: usize = 50;

impl Report {
    /// Payments per requester and per member: recorded, confirmed, claimed paid but not
    /// confirmed, and answered "not received" (only a confirmation lowers what is owed).
    fn write_payments(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |cur: &str, paid: u64, confirmed: u64, unconfirmed: u64, denied: u64| {
            format!(
                "{cur}: paid {}, confirmed {}, claimed paid, not confirmed {}, not received {}",
                format_in(paid, cur),
                format_in(confirmed, cur),
                format_in(unconfirmed, cur),
                format_in(denied, cur),
            )
        };
        writeln!(
            f,
            "\npayments (a requester's settlement lowers what it owes only once the member confirms it):"
        )?;
        for r in &self.requesters {
            for (cur, m) in r.money.iter().filter(|(_, m)| m.paid > 0) {
                writeln!(
                    f,
                    "  requester {} {}",
                    short(&r.requester),
                    line(cur, m.paid, m.confirmed, m.unconfirmed, m.denied)
                )?;
            }
            if r.not_received > 0 {
                writeln!(
                    f,
                    "  requester {}: {} settlement{} answered not received",
                    short(&r.requester),
                    r.not_received,
                    if r.not_received == 1 { "" } else { "s" }
                )?;
            }
        }
        let open: Vec<&MemberStats> = self
            .members
            .iter()
            .filter(|m| m.unconfirmed > 0 || m.not_received > 0)
            .collect();
        for m in open.iter().take(PAYMENT_ROWS) {
            writeln!(
                f,
                "  member    {} {} ({} answered not received)",
                short(&m.member),
                line(&m.currency, m.paid, m.confirmed, m.unconfirmed, m.denied),
                m.not_received
            )?;
        }
        if open.len() > PAYMENT_ROWS {
            writeln!(
                f,
                "  ... {} more members with payments not confirmed (see --json)",
                open.len() - PAYMENT_ROWS
            )?;
        }
        Ok(())
    }
}

fn write_finding(f: &mut fmt::Formatter<'_>, v: &Finding) -> fmt::Result {
    write!(f, "  - {}", v.rule)?;
    if let Some(i) = v.item {
        write!(f, " at item {i}")?;
    }
    if let Some(o) = v.offset {
        write!(f, " (byte {o})")?;
    }
    writeln!(f, ": {}", v.detail)?;
    let mut parts = Vec::new();
    if let Some(k) = &v.kind {
        parts.push(format!("kind {k}"));
    }
    if let Some(id) = &v.id {
        parts.push(format!("entry {id}"));
    }
    if let Some(id) = &v.other_id {
        parts.push(format!("other entry {id}"));
    }
    if let Some(a) = &v.author {
        parts.push(format!("author {a}"));
    }
    if let Some(t) = &v.ts {
        parts.push(format!("at {t}"));
    }
    if !parts.is_empty() {
        writeln!(f, "      {}", parts.join(", "))?;
    }
    Ok(())
}

/// UTC text of a timestamp, for findings.
pub(crate) fn when(ts: u64) -> String {
    utc(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_take_their_currencys_decimals() {
        assert_eq!(rate(Some(12_500), "JOD"), "12.500 JOD/h");
        assert_eq!(rate(Some(1_250), "EUR"), "12.50 EUR/h");
        assert_eq!(rate(Some(1_500), "XOF"), "1500 XOF/h");
        assert_eq!(rate(None, "JOD"), "-");
    }
}
