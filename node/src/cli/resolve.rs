//! From what people type to what the API takes: the cooperative and key in use, ids by
//! unique prefix, durations, limits, amounts; and the times and names the tables print.

use super::*;

/// The cooperative a command is about: `--coop` (id or prefix), else the only one held.
pub(super) async fn coop_id(c: &Client, ctx: &Ctx) -> Result<String> {
    if let Some(id) = ctx.coop.as_deref().filter(|s| is_full_hex(s)) {
        return Ok(id.trim().to_lowercase());
    }
    let st = c.status().await?;
    pick_coop(&st.coops, ctx.coop.as_deref())
}

/// The key this node speaks for in `coop`: its member's when it signs with a device key.
/// "Me" in listings and tables is that key, not the device's.
pub(super) async fn me_in(c: &Client, coop: &str) -> Result<String> {
    let st = c.status().await?;
    Ok(st
        .coops
        .into_iter()
        .find(|s| s.id == coop && !s.identity.is_empty())
        .map_or(st.key, |s| s.identity))
}

/// Picks the cooperative named by `flag` (id or unique prefix) among `coops`, or the only one.
pub(crate) fn pick_coop(coops: &[CoopSummary], flag: Option<&str>) -> Result<String> {
    if let Some(f) = flag {
        return resolve_prefix("cooperative", f, coops.iter().map(|c| c.id.as_str()));
    }
    match coops {
        [one] => Ok(one.id.clone()),
        [] => bail!(
            "this node holds no cooperative yet: found one with `taawun coop create` or join one with `taawun coop join INVITE`"
        ),
        many => {
            let mut s = format!(
                "this node holds {} cooperatives; name one with --coop ID:",
                many.len()
            );
            for c in many {
                let _ = write!(s, "\n  {}  {} ({})", c.id, c.name, c.role);
            }
            Err(anyhow!(s))
        }
    }
}

pub(super) async fn offer_id(c: &Client, coop: &str, input: &str) -> Result<String> {
    if is_full_hex(input) {
        return Ok(input.trim().to_lowercase());
    }
    let Some(p) = lookable(input) else {
        return resolve_prefix("offer", input, std::iter::empty());
    };
    let q = OfferQuery {
        id_prefix: Some(p),
        limit: Some(PREFIX_MATCHES.into()),
        ..OfferQuery::default()
    };
    let (found, _) = c.offers(coop, &q).await?;
    resolve_prefix("offer", input, found.iter().map(|o| o.id.as_str()))
}

pub(super) async fn submission_id(c: &Client, coop: &str, input: &str) -> Result<String> {
    if is_full_hex(input) {
        return Ok(input.trim().to_lowercase());
    }
    let Some(p) = lookable(input) else {
        return resolve_prefix("submission", input, std::iter::empty());
    };
    let q = SubmissionQuery {
        id_prefix: Some(p),
        limit: Some(PREFIX_MATCHES.into()),
        ..SubmissionQuery::default()
    };
    let found = c.submissions(coop, &q).await?;
    resolve_prefix("submission", input, found.iter().map(|s| s.id.as_str()))
}

pub(super) async fn payment_id(c: &Client, coop: &str, input: &str) -> Result<String> {
    if is_full_hex(input) {
        return Ok(input.trim().to_lowercase());
    }
    let Some(p) = lookable(input) else {
        return resolve_prefix("payment", input, std::iter::empty());
    };
    let q = PaymentQuery {
        id_prefix: Some(p),
        limit: Some(PREFIX_MATCHES.into()),
        ..PaymentQuery::default()
    };
    let found = c.payments(coop, &q).await?;
    resolve_prefix("payment", input, found.iter().map(|p| p.id.as_str()))
}

/// Matches asked of the node when resolving a prefix: two tell a unique prefix from an
/// ambiguous one.
pub(super) const PREFIX_MATCHES: &str = "2";

/// `input` as a prefix worth asking the node about; `None` when [`resolve_prefix`]'s own
/// checks refuse it (and say why).
pub(super) fn lookable(input: &str) -> Option<String> {
    let p = input.trim();
    (p.len() >= MIN_PREFIX && p.len() <= FULL_HEX && p.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| p.to_owned())
}

pub(super) fn is_full_hex(s: &str) -> bool {
    let s = s.trim();
    s.len() == FULL_HEX && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolves `input`, a full id or a unique prefix of at least [`MIN_PREFIX`] hex digits,
/// against `candidates` (the ids of the `what`s the node knows).
pub(crate) fn resolve_prefix<'a>(
    what: &str,
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Result<String> {
    let p = input.trim().to_lowercase();
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("`{input}` is not hex: {what} ids are hex digits (0-9, a-f)");
    }
    if p.len() > FULL_HEX {
        bail!("`{input}` is longer than a {what} id ({FULL_HEX} hex digits)");
    }
    if p.len() == FULL_HEX {
        return Ok(p);
    }
    if p.len() < MIN_PREFIX {
        bail!("`{input}` is too short: give at least {MIN_PREFIX} hex digits of the {what} id");
    }
    let mut found: Vec<&str> = candidates
        .into_iter()
        .filter(|c| c.starts_with(&p))
        .collect();
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => bail!("no {what} on this node starts with {p}"),
        many => {
            let mut s = format!("{p} matches {} {what}s; give more digits:", many.len());
            for m in many {
                let _ = write!(s, "\n  {m}");
            }
            Err(anyhow!(s))
        }
    }
}

/// A key: in full, or a unique prefix among the `what`s of the cooperative.
pub(super) fn resolve_key<'a>(
    what: &str,
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Result<String> {
    resolve_prefix(what, input, candidates)
        .map_err(|e| anyhow!("{}", e.to_string().replace(" id", " key")))
}

// Parsing what people type.

/// Parses a duration such as `30s`, `10m`, `2h`, `7d`, `500ms` or `1h30m` into milliseconds.
pub(crate) fn parse_duration(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let bad = || {
        format!("`{s}` is not a duration: write a number and a unit (ms, s, m, h, d), such as 30s, 10m, 2h, 7d or 1h30m")
    };
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{s}` is too long a duration"))?;
    }
    Ok(total)
}

/// Formats milliseconds for people: `7d`, `1h30m`, `45s`, `250ms`.
pub(crate) fn fmt_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let mut s = String::new();
    let mut left = ms / 1_000;
    for (unit, secs) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= secs {
            let _ = write!(s, "{}{unit}", left / secs);
            left %= secs;
        }
    }
    s
}

/// Parses `name=value` for a cooperative's limit. Limits in ms take durations (`3d`) or
/// plain milliseconds; the others plain numbers.
pub(crate) fn parse_limit(s: &str) -> std::result::Result<(String, u64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE, such as max_review_window_ms=3d"))?;
    let name = name.trim();
    if serde_json::from_value::<Limit>(serde_json::Value::String(name.to_owned())).is_err() {
        return Err(format!(
            "`{name}` is not a limit; the limits are {}",
            LIMIT_NAMES.join(", ")
        ));
    }
    let value = value.trim();
    let v = match value.parse::<u64>() {
        Ok(v) => v,
        Err(_) if name.ends_with("_ms") => parse_duration(value)?,
        Err(_) => return Err(format!("`{value}` is not a whole number for {name}")),
    };
    Ok((name.to_owned(), v))
}

/// The names of the limits, for messages.
pub(super) const LIMIT_NAMES: [&str; 7] = [
    "max_review_window_ms",
    "max_claim_window_ms",
    "max_offer_life_ms",
    "max_result_bytes",
    "max_entry_bytes",
    "topup_cap_pct",
    "amendment_delay_ms",
];

/// Parses an amount with the currency's decimals at most: `4.00EUR`, `4.000JOD`, `400XOF`.
pub(crate) fn parse_amount(s: &str) -> Result<Money> {
    Money::parse(s).map_err(|e| anyhow!("{e}"))
}

/// Parses an hourly floor: `12.50EUR/h`, `12.500JOD/h` or `12.50EUR`.
pub(crate) fn parse_floor(s: &str) -> Result<Money> {
    let t = s.trim();
    parse_amount(t.strip_suffix("/h").unwrap_or(t))
}

/// An amount as the API takes it, with the currency's decimals: `4.00EUR`, `4.000JOD`,
/// `400XOF`.
pub(super) fn amount_text(m: &Money) -> String {
    format!("{}{}", format_in(m.minor, &m.currency), m.currency)
}

/// The default file name of a submission's result.
pub(crate) fn default_result_name(submission: &str) -> String {
    format!("result-{submission}")
}

// Printing for people.

pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A time as people read it, in UTC: `7 Dec 2026, 16:32 UTC`.
pub(super) fn at_utc(at: u64) -> String {
    crate::web::i18n::Lang::En.datetime(at)
}

/// `in 8m` or `5m ago`.
pub(super) fn when(at: u64, now: u64) -> String {
    if at >= now {
        format!("in {}", fmt_duration(at - now))
    } else {
        format!("{} ago", fmt_duration(now - at))
    }
}

/// The first digits of an id or key, as tables print them.
pub(super) fn short(id: &str) -> &str {
    id.get(..MIN_PREFIX).unwrap_or(id)
}

/// A person: the name the cooperative admitted them under, if any, then the key's first
/// digits, marked when it is this node's: `Amal Haddad · 3f9a0b12 (you)`.
pub(super) fn named(key: &str, name: Option<&str>, me: &str) -> String {
    let mut s = match name {
        Some(n) => format!("{n} · {}", short(key)),
        None => short(key).to_owned(),
    };
    if key == me {
        s.push_str(" (you)");
    }
    s
}
