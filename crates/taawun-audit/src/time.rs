//! Timestamps (ms since the Unix epoch) as UTC dates and durations as text.

/// `2026-09-21T08:00:00.000Z` for a timestamp in ms.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// The (year, month, day) of a count of days since 1970-01-01, by the proleptic
/// Gregorian calendar (the days-from-civil inversion over 400-year eras).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `3 d 4 h`, `12 min 5 s`, `850 ms`: two units at most.
pub fn duration(ms: u64) -> String {
    const S: u64 = 1000;
    const MIN: u64 = 60 * S;
    const H: u64 = 60 * MIN;
    const D: u64 = 24 * H;
    if ms >= D {
        format!("{} d {} h", ms / D, ms % D / H)
    } else if ms >= H {
        format!("{} h {} min", ms / H, ms % H / MIN)
    } else if ms >= MIN {
        format!("{} min {} s", ms / MIN, ms % MIN / S)
    } else if ms >= S {
        format!("{} s", ms / S)
    } else {
        format!("{ms} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc(1_790_000_000_123), "2026-09-21T14:13:20.123Z");
        assert_eq!(duration(90 * 60 * 1000), "1 h 30 min");
    }
}
