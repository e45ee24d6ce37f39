//! The earnings chart: a member's effective hourly rate, task by task over time, against
//! the floor, drawn as inline SVG on the server (no script, a few hundred bytes).

use super::i18n::Lang;
use std::fmt::Write;
use taawun_core::Timestamp;

/// Width and height of the drawing, in SVG units (it scales to the screen's width).
const W: u64 = 320;
const H: u64 = 160;
/// Margins kept for the axis labels.
const LEFT: u64 = 8;
const RIGHT: u64 = 8;
const TOP: u64 = 16;
const BOTTOM: u64 = 20;
/// At most this many points are drawn: the most recent ones. A phone screen shows no more.
pub(crate) const MAX_POINTS: usize = 60;

/// One accepted task: when it was accepted and its effective rate (minor units per hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    pub(crate) at: Timestamp,
    pub(crate) rate: u64,
}

/// The SVG, or `None` without points. `floor` is per hour, in the same currency.
pub(crate) fn svg(
    lang: Lang,
    points: &[Point],
    floor: u64,
    currency: &str,
    title: &str,
) -> Option<String> {
    let mut pts: Vec<Point> = points.to_vec();
    pts.sort_by_key(|p| p.at);
    let skip = pts.len().saturating_sub(MAX_POINTS);
    let pts = &pts[skip..];
    let first = pts.first()?;
    let last = pts.last()?;
    let top = pts.iter().map(|p| p.rate).max()?.max(floor);
    // Headroom above the highest value so the line never touches the frame.
    let ymax = (top + top / 5).max(1);
    let span = last.at.saturating_sub(first.at).max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |at: Timestamp| -> u64 {
        if pts.len() == 1 {
            LEFT + plot_w / 2
        } else {
            LEFT + (u128::from(at - first.at) * u128::from(plot_w) / u128::from(span)) as u64
        }
    };
    let y = |v: u64| -> u64 {
        TOP + plot_h - (u128::from(v.min(ymax)) * u128::from(plot_h) / u128::from(ymax)) as u64
    };
    let mut s = String::new();
    // The chart reads left to right in every language (time runs that way on axes),
    // so it forces `ltr` even on an Arabic page.
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-t" direction="ltr"><title id="chart-t">{}</title>"#,
        esc(title)
    );
    let fy = y(floor);
    let _ = write!(
        s,
        r#"<line class="floor" x1="{LEFT}" x2="{}" y1="{fy}" y2="{fy}"/><text class="lbl" x="{}" y="{}" text-anchor="end">{} {}</text>"#,
        W - RIGHT,
        W - RIGHT,
        fy.saturating_sub(3),
        esc(lang.t(&super::i18n::FLOOR)),
        esc(&lang.rate(floor, currency))
    );
    let mut line = String::new();
    for p in pts {
        let _ = write!(line, "{},{} ", x(p.at), y(p.rate));
    }
    let _ = write!(
        s,
        r#"<polyline class="rate" points="{}"/>"#,
        line.trim_end()
    );
    for p in pts {
        let cls = if p.rate >= floor { "ok" } else { "low" };
        let _ = write!(
            s,
            r#"<circle class="{cls}" cx="{}" cy="{}" r="3"><title>{} — {}</title></circle>"#,
            x(p.at),
            y(p.rate),
            esc(&lang.datetime(p.at)),
            esc(&lang.rate(p.rate, currency))
        );
    }
    let _ = write!(
        s,
        r#"<text class="lbl" x="{LEFT}" y="{}">{}</text><text class="lbl" x="{}" y="{}" text-anchor="end">{}</text></svg>"#,
        H - 4,
        esc(&short_date(lang, first.at)),
        W - RIGHT,
        H - 4,
        esc(&short_date(lang, last.at))
    );
    Some(s)
}

fn short_date(lang: Lang, at: Timestamp) -> String {
    // "28 Nov 2026, 15:10 UTC" -> "28 Nov 2026".
    let full = lang.datetime(at);
    full.split([',', '،']).next().unwrap_or(&full).to_owned()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_points_no_chart_and_points_are_drawn_with_the_floor() {
        assert!(svg(Lang::En, &[], 1250, "EUR", "t").is_none());
        let pts = [
            Point {
                at: 1_000,
                rate: 1600,
            },
            Point {
                at: 5_000,
                rate: 1000,
            },
        ];
        let s = svg(Lang::En, &pts, 1250, "EUR", "a <title>").expect("svg");
        assert!(s.starts_with("<svg"), "{s}");
        assert!(s.contains("class=\"floor\""));
        assert_eq!(s.matches("<circle").count(), 2);
        assert!(
            s.contains("class=\"low\""),
            "a point under the floor is marked"
        );
        assert!(s.contains("a &lt;title&gt;"));
    }
}
