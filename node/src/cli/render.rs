//! Readable, aligned tables of what the API answers: status, peers, the cooperative,
//! offers, submissions, balances and requesters' records.

use super::*;

/// A text table: columns aligned, numbers right-aligned, no trailing spaces.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub(crate) head: Vec<&'static str>,
    pub(crate) right: Vec<bool>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers (empty strings for none).
    pub(crate) fn new(head: &[&'static str]) -> Self {
        Self {
            head: head.to_vec(),
            right: vec![false; head.len()],
            rows: Vec::new(),
        }
    }

    /// Right-aligns these columns.
    pub(crate) fn right(mut self, cols: &[usize]) -> Self {
        for &c in cols {
            if let Some(r) = self.right.get_mut(c) {
                *r = true;
            }
        }
        self
    }

    /// Adds a row.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, under a header line unless all headers are empty.
    pub(crate) fn render(&self) -> String {
        let cols = self.head.len();
        let mut width = vec![0usize; cols];
        let with_head = self.head.iter().any(|h| !h.is_empty());
        let head: Vec<String> = self.head.iter().map(|h| (*h).to_owned()).collect();
        let lines: Vec<&Vec<String>> = if with_head {
            std::iter::once(&head).chain(&self.rows).collect()
        } else {
            self.rows.iter().collect()
        };
        for l in &lines {
            for (i, cell) in l.iter().enumerate().take(cols) {
                width[i] = width[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for l in lines {
            let mut line = String::new();
            for (i, cell) in l.iter().enumerate().take(cols) {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = width[i].saturating_sub(cell.chars().count());
                if self.right[i] {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Label-value lines, the labels aligned.
pub(super) fn fields(pairs: &[(&'static str, String)]) -> String {
    let mut t = Table::new(&["", ""]);
    for (k, v) in pairs {
        let mut lines = v.lines();
        t.row(vec![(*k).to_owned(), lines.next().unwrap_or("").to_owned()]);
        for more in lines {
            t.row(vec![String::new(), more.to_owned()]);
        }
    }
    t.render()
}

pub(super) fn amounts(list: &[Amount]) -> String {
    if list.is_empty() {
        return "-".into();
    }
    list.iter()
        .map(|a| a.text.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn limit_value(name: &str, v: u64) -> String {
    if name.ends_with("_ms") {
        fmt_duration(v)
    } else if name.ends_with("_pct") {
        format!("{v}%")
    } else if name.ends_with("_bytes") {
        format!("{v} bytes")
    } else {
        v.to_string()
    }
}

/// `status`.
pub(crate) fn render_status(st: &Status) -> String {
    let mut s = fields(&[
        ("key", st.key.clone()),
        ("peer id", st.peer_id.clone()),
        (
            "listening on",
            if st.listen.is_empty() {
                "-".into()
            } else {
                st.listen.join("\n")
            },
        ),
        ("peers", st.peers.to_string()),
    ]);
    s.push('\n');
    if st.coops.is_empty() {
        s.push_str("no cooperative yet: `taawun coop create` or `taawun coop join INVITE`\n");
        return s;
    }
    let mut t =
        Table::new(&["COOPERATIVE", "NAME", "ROLE", "ENTRIES", "CHAINS", "WRITES"]).right(&[3, 4]);
    for c in &st.coops {
        t.row(vec![
            short(&c.id).to_owned(),
            c.name.clone(),
            c.role.clone(),
            c.entries.to_string(),
            c.chains.to_string(),
            if c.writing.waiting {
                "waiting".into()
            } else {
                "yes".into()
            },
        ]);
    }
    s.push_str(&t.render());
    // Why a cooperative's writes wait, in full: the user must know the node is not stuck.
    for c in st.coops.iter().filter(|c| c.writing.waiting) {
        s.push_str(&format!(
            "{}: {}; this node writes there once one of them has synced with it\n",
            short(&c.id),
            c.writing.message
        ));
    }
    s
}

/// `peers`.
pub(crate) fn render_peers(peers: &[Peer]) -> String {
    if peers.is_empty() {
        return "no peer connected\n".into();
    }
    let mut t = Table::new(&["PEER", "SCORE"]).right(&[1]);
    for p in peers {
        t.row(vec![
            p.peer_id.clone(),
            p.score.map_or("-".into(), |s| format!("{s:.2}")),
        ]);
    }
    t.render()
}

/// `coop show`.
pub(crate) fn render_coop(v: &CoopView, me: &str) -> String {
    let floors = v
        .floors
        .iter()
        .map(|f| format!("{}/h", f.text))
        .collect::<Vec<_>>()
        .join(", ");
    let keys = |list: &[String]| {
        if list.is_empty() {
            return "-".to_owned();
        }
        list.iter()
            .map(|k| {
                let mut s = k.clone();
                if k == me {
                    s.push_str(" (you)");
                }
                if let Some(n) = v.names.get(k) {
                    let _ = write!(s, "  {n}");
                }
                s
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let limits = v
        .limits
        .iter()
        .map(|(k, val)| format!("{k} = {}", limit_value(k, *val)))
        .collect::<Vec<_>>()
        .join("\n");
    let mut pairs = vec![
        ("cooperative", format!("{} ({})", v.name, v.id)),
        (
            "floor",
            if floors.is_empty() {
                "-".into()
            } else {
                floors
            },
        ),
        (
            "quorum",
            format!(
                "{}%: {} vote(s) cast (yes or no) of {} member(s)",
                v.quorum_pct,
                v.quorum_needed,
                v.members.len()
            ),
        ),
        ("members", keys(&v.members)),
        ("requesters", keys(&v.requesters)),
        (
            "limits",
            if limits.is_empty() {
                "-".into()
            } else {
                limits
            },
        ),
        ("entries", v.entries.to_string()),
    ];
    if !v.frozen.is_empty() {
        pairs.push(("frozen", keys(&v.frozen)));
    }
    let mut s = fields(&pairs);
    let open: Vec<&ProposalView> = v.proposals.iter().filter(|p| !p.enacted).collect();
    s.push('\n');
    if open.is_empty() {
        s.push_str("no open proposal");
    } else {
        s.push_str("open proposals:\n");
        let mut t = Table::new(&[
            "PROPOSAL", "YES", "NO", "NEEDED", "PASSES", "EXPIRES", "ACTION", "REASON",
        ])
        .right(&[1, 2, 3]);
        let now = now_ms();
        for p in open {
            t.row(vec![
                short(&p.id).to_owned(),
                p.yes.len().to_string(),
                p.no.len().to_string(),
                format!("{}{}", p.needed, if p.weighty { ", 2/3" } else { "" }),
                if p.passes { "yes" } else { "no" }.into(),
                if p.expires_at < now {
                    "expired".into()
                } else {
                    when(p.expires_at, now)
                },
                p.action.clone(),
                p.reason.clone(),
            ]);
        }
        s.push_str(&t.render());
    }
    let enacted = v.proposals.iter().filter(|p| p.enacted).count();
    if enacted > 0 {
        let _ = write!(s, "{enacted} enacted proposal(s) (--json lists them)");
    }
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// A requester's record in a few words.
pub(super) fn record_summary(r: &RecordView) -> String {
    let mut s = format!(
        "{}: {} accepted, {} rejected",
        named(&r.requester, r.requester_name.as_deref(), ""),
        r.accepted + r.accepted_by_default,
        r.rejected
    );
    if !r.unpaid.is_empty() && r.unpaid.iter().any(|a| a.minor > 0) {
        let _ = write!(s, ", {} unpaid", amounts(&r.unpaid));
    }
    if r.unconfirmed.iter().any(|a| a.minor > 0) {
        let _ = write!(
            s,
            ", {} claimed paid, not confirmed",
            amounts(&r.unconfirmed)
        );
    }
    if r.not_received > 0 {
        let _ = write!(s, ", {} not received", r.not_received);
    }
    if r.appeals > 0 {
        let _ = write!(
            s,
            ", {} appeal(s) of its rejections, {} upheld",
            r.appeals, r.appeals_upheld
        );
    }
    if r.void_assignments > 0 {
        let _ = write!(
            s,
            ", {} void assignment(s) that left out claims",
            r.void_assignments
        );
    }
    if let Some(sc) = r.scores {
        let _ = write!(s, ", pay {}/5", score(sc[0]));
    }
    s
}

pub(super) fn score(x100: u32) -> String {
    format!("{}.{:02}", x100 / 100, x100 % 100)
}

/// The hourly rate as a share of the floor: `128%`.
pub(super) fn vs_floor(hourly: &Amount, floor: Option<&Amount>) -> String {
    match floor {
        Some(f) if f.currency == hourly.currency && f.minor > 0 => {
            let pct = u128::from(hourly.minor) * 100 / u128::from(f.minor);
            format!("{pct}% of {}", f.text)
        }
        _ => "-".into(),
    }
}

/// What a member whose claim was made after the claim window reads.
pub(super) const LATE_CLAIM: &str = "your claim came after the window and does not count";

/// The place of the draw `me` holds in `o`, if any.
pub(super) fn my_place<'a>(o: &'a OfferView, me: &str) -> Option<&'a PlaceView> {
    o.places.iter().find(|p| p.member == me)
}

/// Where one place of a draw stands, in words.
pub(super) fn place_text(p: &PlaceView, now: u64) -> String {
    match p.state.as_str() {
        "open" => format!("submit by {} ({})", at_utc(p.until), when(p.until, now)),
        "filled" => format!(
            "filled by submission {}",
            p.submission.as_deref().map_or("-", short)
        ),
        _ => format!(
            "lapsed: no work by {}; place passed to the next claimant",
            at_utc(p.until)
        ),
    }
}

/// What `me` must know of `o` beyond the table's row: by when to submit, a place that
/// lapsed, a claim that does not count.
pub(super) fn offer_note(o: &OfferView, me: &str, now: u64) -> Option<String> {
    if let Some(until) = o.submit_by {
        return Some(format!(
            "submit by {} ({})",
            at_utc(until),
            when(until, now)
        ));
    }
    if let Some(p) = my_place(o, me).filter(|p| p.state == "lapsed") {
        return Some(format!(
            "your place lapsed (no work by {}): place passed to the next claimant",
            at_utc(p.until)
        ));
    }
    (o.my_claim_counts == Some(false)).then(|| LATE_CLAIM.to_owned())
}

/// `offers`: a row per offer, then a line for each that asks something of `me`.
pub(crate) fn render_offers(offers: &[OfferView], me: &str, now: u64) -> String {
    if offers.is_empty() {
        return "no open offer\n".into();
    }
    let mut t = Table::new(&[
        "OFFER",
        "PAY",
        "MIN",
        "PER HOUR",
        "VS FLOOR",
        "STATE",
        "CLOSES",
        "YOU",
        "REQUESTER",
        "TITLE / PURPOSE",
    ])
    .right(&[1, 2, 3]);
    let mut notes = String::new();
    for o in offers {
        let lapsed = my_place(o, me).is_some_and(|p| p.state == "lapsed");
        let you = if o.assigned_to_me {
            "won"
        } else if lapsed {
            "lapsed"
        } else if o.my_claim_counts == Some(false) {
            "late claim"
        } else if o.claimed_by_me {
            "claimed"
        } else {
            ""
        };
        if let Some(n) = offer_note(o, me, now) {
            let _ = writeln!(notes, "{}: {n}", short(&o.id));
        }
        let closes = if o.state == "open" {
            when(o.claim_closes_at, now)
        } else {
            "-".into()
        };
        t.row(vec![
            short(&o.id).to_owned(),
            o.pay.text.clone(),
            o.minutes.to_string(),
            o.hourly.text.clone(),
            vs_floor(&o.hourly, o.floor.as_ref()),
            o.state.clone(),
            closes,
            you.into(),
            record_summary(&o.record),
            format!("{}: {}", o.title, o.purpose),
        ]);
    }
    t.render() + &notes
}

/// `offer show`.
pub(crate) fn render_offer(o: &OfferView, me: &str, now: u64) -> String {
    let mut f = vec![
        ("offer", o.id.clone()),
        ("title", o.title.clone()),
        ("purpose", o.purpose.clone()),
    ];
    if !o.description.is_empty() {
        f.push(("description", o.description.clone()));
    }
    f.extend([
        (
            "pay",
            format!(
                "{} for {} min: {}/h, {}",
                o.pay.text,
                o.minutes,
                o.hourly.text,
                vs_floor(&o.hourly, o.floor.as_ref())
            ),
        ),
        ("state", o.state.clone()),
        (
            "claims",
            format!(
                "{} that count; the window closes {} ({})",
                o.claims,
                at_utc(o.claim_closes_at),
                when(o.claim_closes_at, now)
            ),
        ),
        ("places", o.assignments.to_string()),
        (
            "expires",
            format!("{} ({})", at_utc(o.expires_at), when(o.expires_at, now)),
        ),
    ]);
    match o.my_claim_counts {
        Some(true) => f.push(("your claim", "counts".into())),
        Some(false) => f.push(("your claim", LATE_CLAIM.into())),
        None => {}
    }
    if let Some(until) = o.submit_by {
        f.push((
            "your work",
            format!("submit by {} ({})", at_utc(until), when(until, now)),
        ));
    }
    if !o.places.is_empty() {
        let lines: Vec<String> = o
            .places
            .iter()
            .map(|p| {
                format!(
                    "{}  {}",
                    named(&p.member, p.member_name.as_deref(), me),
                    place_text(p, now)
                )
            })
            .collect();
        f.push(("draw", lines.join("\n")));
    }
    if o.void_assignments > 0 {
        f.push((
            "void assignments",
            format!(
                "{}: they left out claims made in the window (or came before it closed)",
                o.void_assignments
            ),
        ));
    }
    f.push(("requester", record_summary(&o.record)));
    fields(&f)
}

/// `submissions`.
pub(crate) fn render_submissions(subs: &[SubmissionView], me: &str) -> String {
    if subs.is_empty() {
        return "no submission\n".into();
    }
    let mut t = Table::new(&[
        "SUBMISSION",
        "OFFER",
        "MEMBER",
        "REQUESTER",
        "MIN",
        "PAY",
        "TOP-UP",
        "REVIEW",
        "RESULT",
    ])
    .right(&[4, 5, 6]);
    for s in subs {
        let review = match (&s.reason, s.review.as_str()) {
            (Some(r), _) => format!("{}: {r}", s.review),
            // Sealed to the member and the requester.
            (None, "rejected") => format!("{}: (reason sealed)", s.review),
            (None, _) => s.review.clone(),
        };
        t.row(vec![
            short(&s.id).to_owned(),
            s.title.clone(),
            named(&s.member, s.member_name.as_deref(), me),
            named(&s.requester, s.requester_name.as_deref(), me),
            s.minutes.to_string(),
            s.pay.text.clone(),
            s.topup.text.clone(),
            review,
            if s.result_here { "here" } else { "-" }.into(),
        ]);
    }
    t.render()
}

/// `balance`.
pub(crate) fn render_balances(rows: &[BalanceView], me: &str) -> String {
    if rows.is_empty() {
        return "nothing earned or owed yet\n".into();
    }
    let mut t = Table::new(&[
        "REQUESTER",
        "MEMBER",
        "EARNED",
        "TOP-UP",
        "PAID",
        "CONFIRMED",
        "NOT RECEIVED",
        "OWED",
        "CLAIMED PAID, NOT CONFIRMED",
    ])
    .right(&[2, 3, 4, 5, 6, 7, 8]);
    for b in rows {
        t.row(vec![
            named(&b.requester, b.requester_name.as_deref(), me),
            named(&b.member, b.member_name.as_deref(), me),
            b.earned.text.clone(),
            b.topup.text.clone(),
            b.paid.text.clone(),
            b.confirmed.text.clone(),
            b.denied.text.clone(),
            b.owed.text.clone(),
            b.unconfirmed.text.clone(),
        ]);
    }
    t.render()
}

/// `requester show`.
pub(crate) fn render_record(r: &RecordView) -> String {
    let ms = |v: Option<u64>| v.map_or("-".into(), fmt_duration);
    fields(&[
        (
            "requester",
            match &r.requester_name {
                Some(n) => format!("{n} · {}", r.requester),
                None => r.requester.clone(),
            },
        ),
        ("offers", r.offers.to_string()),
        (
            "submissions",
            format!(
                "{}: {} accepted, {} accepted by default, {} rejected, {} pending",
                r.submissions, r.accepted, r.accepted_by_default, r.rejected, r.pending
            ),
        ),
        ("median review", ms(r.median_review_ms)),
        ("median payment", ms(r.median_pay_ms)),
        ("hourly rate paid", amounts(&r.hourly_rate)),
        ("top-ups owed", amounts(&r.topups)),
        ("unpaid", amounts(&r.unpaid)),
        ("claimed paid, not confirmed", amounts(&r.unconfirmed)),
        ("payments not received", r.not_received.to_string()),
        (
            "appeals",
            format!(
                "{}: {} upheld, {} dismissed",
                r.appeals, r.appeals_upheld, r.appeals_dismissed
            ),
        ),
        (
            "void assignments",
            if r.void_assignments > 0 {
                format!("{}: assignments that left out claims", r.void_assignments)
            } else {
                "0".into()
            },
        ),
        (
            "reviews",
            match r.scores {
                Some([p, f, pr, c]) => format!(
                    "{}: pay {}, fairness {}, promptness {}, communication {}",
                    r.reviews,
                    score(p),
                    score(f),
                    score(pr),
                    score(c)
                ),
                None => r.reviews.to_string(),
            },
        ),
    ])
}
