//! The report as one self-contained HTML page: inline CSS and SVG, no script, nothing
//! fetched from the network, so it can be mailed or archived with the ledger.

use crate::report::{Finding, Report};
use crate::time::duration;
use std::fmt::Write;
use taawun_core::money::format_in;
use taawun_ledger::disclose::Readout;

/// The median hourly wage of work on Amazon Mechanical Turk, US dollars, as measured by
/// Hara et al., "A Data-Driven Analysis of Workers' Earnings on Amazon Mechanical Turk"
/// (CHI 2018): shown beside the histogram for context.
pub const MTURK_MEDIAN_USD_CENTS_PER_HOUR: u64 = 138;

/// Findings shown in the page's tables; the JSON report has them all.
const SHOWN_FINDINGS: usize = 200;

/// Bars of the rate histogram.
const RATE_BINS: usize = 30;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The page.
pub fn render(r: &Report) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Audit of cooperative {coop}</title>\
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:75em;color:#222}}\
table{{border-collapse:collapse;font-size:.9em}}td,th{{border:1px solid #ccc;padding:.25em .5em;text-align:right}}\
th{{background:#f3f3f3}}td.l,th.l{{text-align:left}}code{{font-size:.85em}}\
.ok{{color:#075}}.bad{{color:#b00}}svg text{{font-size:11px;font-family:sans-serif}}</style></head><body>\n",
        coop = esc(&r.coop[..r.coop.len().min(16)])
    );
    let _ = writeln!(
        h,
        "<h1>Audit of cooperative <code>{}</code></h1>",
        esc(&r.coop)
    );
    let _ = writeln!(
        h,
        "<p>Source: <code>{}</code>. {} items, {} valid entries by {} authors, {} signatures checked. Entries from {} to {} (UTC); the state is judged at the last entry's time.</p>",
        esc(&r.source),
        r.items,
        r.valid_entries,
        r.authors,
        r.signatures_checked,
        esc(r.first_entry.as_deref().unwrap_or("-")),
        esc(&r.judged_at)
    );
    if r.is_clean() {
        let _ = writeln!(h, "<h2 class=\"ok\">Verdict: clean, every rule held</h2>");
    } else if r.violations.count == 0 {
        let _ = writeln!(
            h,
            "<h2 class=\"bad\">Verdict: {}</h2>",
            esc(r.verdict().says())
        );
    } else {
        let _ = writeln!(
            h,
            "<h2 class=\"bad\">Verdict: {} rule break(s)</h2>",
            r.violations.count
        );
        findings(&mut h, &r.violations.listed, &r.violations.by_rule);
    }
    if r.notices.count > 0 {
        let _ = writeln!(
            h,
            "<h2>Notices ({}): no rule broken, worth asking about</h2>",
            r.notices.count
        );
        findings(&mut h, &r.notices.listed, &r.notices.by_rule);
    }

    let _ = writeln!(
        h,
        "<h2>Witnessed late</h2><p>Entries are timed from when someone other than their author first witnessed them when that came more than 15 minutes after their own timestamp (review windows, amendments).</p><p>{}</p>",
        esc(&r.witnessed_late.line())
    );
    let _ = writeln!(h, "<p>{}</p>", esc(&r.idle_witnesses.line()));
    let _ = writeln!(
        h,
        "<h2>Draws</h2><p>An assignment counts only if it names exactly the claims made in the window, after it closed; a place not filled within the submit window passes to the next claimant of the ranking.</p><p>{}</p>",
        r.draws
            .lines(50)
            .iter()
            .map(|l| esc(l))
            .collect::<Vec<_>>()
            .join("<br>")
    );
    sealed(&mut h, &r.sealed);
    let _ = writeln!(h, "<h2>Effective hourly rates</h2><p>Per accepted submission: (pay + top-up) &times; 60 / minutes reported. Platform cut: {} (the protocol has no fee).</p>", r.platform_cut);
    for (cur, w) in &r.wages {
        let rates = r.series.rates.get(cur).cloned().unwrap_or_default();
        let _ = writeln!(
            h,
            "<h3>{cur}</h3><p>{} accepted submissions; median {}; {} ({:.1} %) under the floor in force at their offer's time. Floor at the end: {} {cur}/h.</p>",
            w.accepted,
            w.median_rate.map_or("-".into(), |m| format!("{} {cur}/h", format_in(m, cur))),
            w.under_floor,
            w.under_floor_pct,
            format_in(w.floor_now, cur),
        );
        h.push_str(&rate_histogram(&rates, w.floor_now, cur));
    }

    let _ = writeln!(h, "<h2>Time from acceptance to payment</h2>");
    h.push_str(&delay_histogram(&r.series.pay_delays_ms));

    let _ = writeln!(h, "<h2>Requesters</h2><table><tr><th class=\"l\">requester</th><th>offers</th><th>submissions</th><th>accepted</th><th>by default</th><th>rejected</th><th>pending</th><th>rejected %</th><th>median review</th><th>median to pay</th><th>void assignments</th><th>answered not received</th><th class=\"l\">currency</th><th>earned</th><th>top-ups</th><th>paid</th><th>confirmed</th><th>claimed paid, not confirmed</th><th>not received</th><th>unpaid</th><th>overdue</th><th>rate paid</th></tr>");
    for q in &r.requesters {
        let rows: Vec<_> = q.money.iter().collect();
        let n = rows.len().max(1);
        for i in 0..n {
            h.push_str("<tr>");
            if i == 0 {
                let _ = write!(
                    h,
                    "<td class=\"l\" rowspan=\"{n}\"><code>{}</code></td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td><td rowspan=\"{n}\">{}</td>",
                    esc(&q.requester[..q.requester.len().min(16)]),
                    q.offers,
                    q.submissions,
                    q.accepted,
                    q.accepted_by_default,
                    q.rejected,
                    q.pending,
                    q.rejection_pct.map_or("-".into(), |p| format!("{p:.1}")),
                    q.median_review_ms.map_or("-".into(), duration),
                    q.median_pay_ms.map_or("-".into(), duration),
                    q.void_assignments,
                    q.not_received,
                );
            }
            if let Some((cur, m)) = rows.get(i) {
                let _ = write!(
                    h,
                    "<td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                    esc(cur),
                    format_in(m.earned, cur),
                    format_in(m.topups, cur),
                    format_in(m.paid, cur),
                    format_in(m.confirmed, cur),
                    format_in(m.unconfirmed, cur),
                    format_in(m.denied, cur),
                    format_in(m.unpaid, cur),
                    format_in(m.overdue, cur),
                    m.hourly_rate.map_or("-".into(), |x| format!("{}/h", format_in(x, cur))),
                );
            } else {
                h.push_str(
                    "<td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td>",
                );
            }
            h.push_str("</tr>\n");
        }
    }
    let _ = writeln!(
        h,
        "</table><p>Overdue: unpaid more than {} after acceptance, at the ledger's last timestamp.</p>",
        duration(r.overdue_after_ms)
    );

    let _ = writeln!(h, "<h2>Members</h2><table><tr><th class=\"l\">member</th><th class=\"l\">currency</th><th>submissions</th><th>accepted</th><th>rejected</th><th>minutes (accepted)</th><th>earned</th><th>paid</th><th>confirmed</th><th>claimed paid, not confirmed</th><th>not received</th><th>owed</th><th>rate, accepted work</th><th>rate, all work</th></tr>");
    for m in &r.members {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.member[..m.member.len().min(16)]),
            esc(&m.currency),
            m.submissions,
            m.accepted,
            m.rejected,
            m.minutes_accepted,
            format_in(m.earned, &m.currency),
            format_in(m.paid, &m.currency),
            format_in(m.confirmed, &m.currency),
            format_in(m.unconfirmed, &m.currency),
            if m.not_received > 0 {
                format!("{} ({})", format_in(m.denied, &m.currency), m.not_received)
            } else {
                format_in(m.denied, &m.currency)
            },
            format_in(m.owed, &m.currency),
            m.rate_accepted.map_or("-".into(), |x| format!("{}/h", format_in(x, &m.currency))),
            m.rate_all_work.map_or("-".into(), |x| format!("{}/h", format_in(x, &m.currency))),
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}

/// What the auditor reads of the sealed fields: the texts the disclosures given with the
/// export open, beside their payment or review; how many stay sealed; disclosed keys that
/// do not match.
fn sealed(h: &mut String, s: &Readout) {
    // Entries and keys as written in the disclosures file may be anything: cut by
    // characters, never inside one.
    let short = |x: &str| esc(&x.chars().take(16).collect::<String>());
    let _ = writeln!(
        h,
        "<h2>Sealed fields</h2><p>Payment references and review texts are sealed: only the parties and their devices can read them, and every amount is checked without them. Whoever exports a ledger may disclose beside it the keys of the fields it can read; each key opens one field only and is checked against the commitment its signed entry carries.</p><p>{}.</p>",
        esc(&s.line())
    );
    let _ = writeln!(
        h,
        "<p>Read: {} field(s) opened with a disclosed key. Unread: {} field(s) still sealed, for which no key was disclosed (or the key did not open them). Bad: {} disclosed key(s) that do not open their field or name none of this export: they are reported, never read as text.</p>",
        s.read.len(),
        s.unread,
        s.bad.len()
    );
    if !s.disclosures {
        let _ = writeln!(
            h,
            "<p>No disclosures were given with this export: every sealed field stays sealed.</p>"
        );
    }
    if !s.read.is_empty() {
        h.push_str("<table><tr><th class=\"l\">entry</th><th class=\"l\">kind</th><th class=\"l\">by</th><th class=\"l\">to</th><th>amount</th><th class=\"l\">field</th><th class=\"l\">text</th></tr>\n");
        for f in &s.read {
            let kind = if f.kind == "settle" {
                "payment".to_owned()
            } else {
                esc(&f.kind)
            };
            let _ = writeln!(
                h,
                "<tr><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td><td class=\"l\"><code>{}</code></td><td class=\"l\"><code>{}</code></td><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}{}</td></tr>",
                short(&f.entry),
                kind,
                short(&f.author),
                f.member.as_deref().map_or(String::new(), short),
                esc(f.amount.as_deref().unwrap_or("")),
                esc(&f.field),
                esc(&f.text),
                f.flag
                    .as_deref()
                    .map_or(String::new(), |why| format!(" <span class=\"bad\">(flagged: the text {})</span>", esc(why))),
            );
        }
        h.push_str("</table>\n");
    }
    if !s.bad.is_empty() {
        h.push_str("<table><tr><th class=\"l\">entry</th><th class=\"l\">field</th><th class=\"l\">bad disclosure</th></tr>\n");
        for b in &s.bad {
            let _ = writeln!(
                h,
                "<tr><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
                short(&b.entry),
                esc(&b.field),
                esc(&b.why)
            );
        }
        h.push_str("</table>\n");
    }
}

fn findings(h: &mut String, list: &[Finding], by_rule: &std::collections::BTreeMap<String, u64>) {
    h.push_str("<table><tr><th class=\"l\">rule</th><th>count</th></tr>");
    for (rule, n) in by_rule {
        let _ = write!(h, "<tr><td class=\"l\">{}</td><td>{n}</td></tr>", esc(rule));
    }
    h.push_str("</table><p></p><table><tr><th class=\"l\">rule</th><th>item</th><th class=\"l\">entry</th><th class=\"l\">author</th><th class=\"l\">time (UTC)</th><th class=\"l\">what</th></tr>\n");
    for f in list.iter().take(SHOWN_FINDINGS) {
        let short = |s: &Option<String>| {
            s.as_deref()
                .map_or(String::new(), |x| esc(&x[..x.len().min(16)]))
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td><td class=\"l\"><code>{}</code></td><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
            esc(&f.rule),
            f.item.map_or(String::new(), |i| i.to_string()),
            short(&f.id),
            short(&f.author),
            esc(f.ts.as_deref().unwrap_or("")),
            esc(&f.detail),
        );
    }
    h.push_str("</table>\n");
}

const W: f64 = 720.0;
const H: f64 = 240.0;
const PAD: f64 = 40.0;

fn bars(counts: &[u64], labels: &[String]) -> (String, f64) {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bw = (W - 2.0 * PAD) / counts.len().max(1) as f64;
    let mut s = String::new();
    for (i, c) in counts.iter().enumerate() {
        let bh = (*c as f64 / max) * (H - 2.0 * PAD);
        let x = PAD + i as f64 * bw;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#4a7ab5\"><title>{}: {c}</title></rect>",
            H - PAD - bh,
            (bw - 1.0).max(1.0),
            esc(labels.get(i).map_or("", |l| l.as_str()))
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{PAD}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#333\"/><text x=\"4\" y=\"{PAD}\">{}</text>",
        max as u64,
        y = H - PAD,
        x2 = W - PAD
    );
    (s, bw)
}

fn rate_histogram(rates: &[u64], floor: u64, cur: &str) -> String {
    if rates.is_empty() {
        return "<p>No accepted work.</p>".into();
    }
    let hi = rates
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(floor)
        .max(MTURK_MEDIAN_USD_CENTS_PER_HOUR)
        .saturating_add(1);
    let step = hi.div_ceil(RATE_BINS as u64).max(1);
    let mut counts = vec![0u64; RATE_BINS];
    for r in rates {
        counts[((r / step) as usize).min(RATE_BINS - 1)] += 1;
    }
    let labels: Vec<String> = (0..RATE_BINS as u64)
        .map(|i| {
            format!(
                "{}-{} {cur}/h",
                format_in(i * step, cur),
                format_in((i + 1) * step, cur)
            )
        })
        .collect();
    let (mut s, _) = bars(&counts, &labels);
    let x_of = |v: u64| PAD + (v as f64 / (step * RATE_BINS as u64) as f64) * (W - 2.0 * PAD);
    let _ = write!(
        s,
        "<line x1=\"{x:.1}\" y1=\"{PAD}\" x2=\"{x:.1}\" y2=\"{y}\" stroke=\"#b00\" stroke-width=\"2\"/><text x=\"{x:.1}\" y=\"{ty}\" fill=\"#b00\">floor {} {cur}/h</text>",
        format_in(floor, cur),
        x = x_of(floor),
        y = H - PAD,
        ty = PAD - 8.0
    );
    let _ = write!(
        s,
        "<line x1=\"{x:.1}\" y1=\"{PAD}\" x2=\"{x:.1}\" y2=\"{y}\" stroke=\"#888\" stroke-dasharray=\"4 3\" stroke-width=\"2\"/><text x=\"{x:.1}\" y=\"{ty}\" fill=\"#555\">Mechanical Turk median $1.38/h (USD, for context)</text>",
        x = x_of(MTURK_MEDIAN_USD_CENTS_PER_HOUR),
        y = H - PAD,
        ty = PAD - 22.0
    );
    for i in (0..=RATE_BINS as u64).step_by(5) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x_of(i * step),
            H - PAD + 14.0,
            format_in(i * step, cur)
        );
    }
    svg(&s, &format!("effective hourly rate, {cur} per hour"))
}

fn delay_histogram(delays: &[u64]) -> String {
    if delays.is_empty() {
        return "<p>No payment matched to accepted work.</p>".into();
    }
    const H_MS: u64 = 3_600_000;
    let edges: [(u64, &str); 8] = [
        (H_MS, "< 1 h"),
        (6 * H_MS, "1-6 h"),
        (24 * H_MS, "6-24 h"),
        (3 * 24 * H_MS, "1-3 d"),
        (7 * 24 * H_MS, "3-7 d"),
        (14 * 24 * H_MS, "7-14 d"),
        (30 * 24 * H_MS, "14-30 d"),
        (u64::MAX, "> 30 d"),
    ];
    let mut counts = vec![0u64; edges.len()];
    for d in delays {
        let i = edges
            .iter()
            .position(|(e, _)| d < e)
            .unwrap_or(edges.len() - 1);
        counts[i] += 1;
    }
    let labels: Vec<String> = edges.iter().map(|(_, l)| (*l).to_owned()).collect();
    let (mut s, bw) = bars(&counts, &labels);
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            PAD + (i as f64 + 0.5) * bw,
            H - PAD + 14.0,
            esc(l)
        );
    }
    svg(&s, "time from acceptance to payment")
}

fn svg(body: &str, caption: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\"><title>{c}</title>{body}<text x=\"{cx}\" y=\"{cy}\" text-anchor=\"middle\">{c}</text></svg>\n",
        c = esc(caption),
        cx = W / 2.0,
        cy = H - 6.0
    )
}
