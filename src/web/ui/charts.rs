//! Server-rendered SVG charts: a stacked bar (a whole split into parts, such
//! as a channel's products by readiness) and day bars (a count per UTC day,
//! such as imports over the last 14 days). Pure: numbers in, SVG out, no
//! script and no inline style (colours come from classes in `app.css`).
//! Every chart carries its numbers as a `<title>` and `aria-label`; pages
//! also print them beside the chart, so nobody has to read bar lengths.

use askama::Template;
use time::{Date, Duration};

/// Width of a stacked bar in viewBox units (it stretches to its box).
const BAR_WIDTH: i64 = 1000;
/// Day bars: each day's slot width, the bar inside it, and the chart's height.
const DAY_SLOT: i64 = 10;
const DAY_BAR: i64 = 8;
const DAY_HEIGHT: i64 = 40;

/// One part of a stacked bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub label: String,
    pub value: i64,
    /// The `app.css` class that colours it (`seg-ready` …).
    pub class: &'static str,
}

impl Segment {
    pub fn new(label: impl Into<String>, value: i64, class: &'static str) -> Self {
        Segment {
            label: label.into(),
            value: value.max(0),
            class,
        }
    }
}

/// A segment with its place on the bar, in viewBox units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedSegment {
    pub segment: Segment,
    pub x: i64,
    pub width: i64,
}

/// A horizontal bar split in proportion to its segments; the legend lists
/// every segment with its number (zero ones too, so a reader sees them).
#[derive(Debug, Clone, Template)]
#[template(
    ext = "html",
    source = r#"<figure class="chart-figure stacked-bar-figure" data-total="{{ total }}"><svg class="chart stacked-bar" viewBox="0 0 {{ width }} 20" preserveAspectRatio="none" width="100%" height="20" role="img" aria-label="{{ summary }}" focusable="false"><title>{{ summary }}</title><rect class="seg-empty" x="0" y="0" width="{{ width }}" height="20"/>{% for p in placed %}{% if p.width > 0 %}<rect class="{{ p.segment.class }}" x="{{ p.x }}" y="0" width="{{ p.width }}" height="20"><title>{{ p.segment.label }}: {{ p.segment.value }}</title></rect>{% endif %}{% endfor %}</svg><figcaption><ul class="chart-legend">{% for p in placed %}<li><span class="swatch {{ p.segment.class }}" aria-hidden="true"></span>{{ p.segment.label }} <strong>{{ p.segment.value }}</strong></li>{% endfor %}</ul></figcaption></figure>"#
)]
pub struct StackedBar {
    pub placed: Vec<PlacedSegment>,
    pub total: i64,
    /// `"Products on web: 12 in all; ready 5, held 1, …"`, for screen readers.
    pub summary: String,
    width: i64,
}

impl StackedBar {
    /// Places `segments` left to right. Edges are rounded from running
    /// totals, so the widths add up to the whole bar exactly.
    pub fn new(title: &str, segments: Vec<Segment>) -> Self {
        let total: i64 = segments.iter().map(|s| s.value).sum();
        let edge = |sum: i64| {
            if total == 0 {
                0
            } else {
                (sum * BAR_WIDTH + total / 2) / total
            }
        };
        let mut running = 0;
        let mut placed = Vec::with_capacity(segments.len());
        for segment in segments {
            let x = edge(running);
            running += segment.value;
            placed.push(PlacedSegment {
                width: edge(running) - x,
                x,
                segment,
            });
        }
        let parts: Vec<String> = placed
            .iter()
            .map(|p| format!("{} {}", p.segment.label, p.segment.value))
            .collect();
        StackedBar {
            summary: format!("{title}: {total} in all; {}", parts.join(", ")),
            placed,
            total,
            width: BAR_WIDTH,
        }
    }
}

/// One day's bar, in viewBox units (y grows downward).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayBar {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub value: i64,
    pub x: i64,
    pub y: i64,
    pub height: i64,
}

/// A count per day as small bars scaled to the busiest day; a day with
/// anything at all gets at least one unit, so it never looks like zero.
#[derive(Debug, Clone, Template)]
#[template(
    ext = "html",
    source = r#"<figure class="chart-figure day-bars-figure" data-total="{{ total }}" data-max="{{ max }}"><figcaption>{{ title }} <strong>{{ total }}</strong> <span class="day-span">{{ span }}</span></figcaption><svg class="chart day-bars" viewBox="0 0 {{ width }} {{ height }}" width="{{ width * 2 }}" height="{{ height * 2 }}" role="img" aria-label="{{ summary }}" focusable="false"><title>{{ summary }}</title><rect class="day-axis" x="0" y="{{ height - 1 }}" width="{{ width }}" height="1"/>{% for b in bars %}{% if b.height > 0 %}<rect class="day-bar" x="{{ b.x }}" y="{{ b.y }}" width="{{ bar_width }}" height="{{ b.height }}"><title>{{ b.day }}: {{ b.value }}</title></rect>{% endif %}{% endfor %}</svg><table class="visually-hidden"><caption>{{ title }} per UTC day</caption><thead><tr><th scope="col">Day</th><th scope="col">Count</th></tr></thead><tbody>{% for b in bars %}<tr><td>{{ b.day }}</td><td>{{ b.value }}</td></tr>{% endfor %}</tbody></table></figure>"#
)]
pub struct DayBars {
    pub title: String,
    pub bars: Vec<DayBar>,
    pub total: i64,
    pub max: i64,
    /// `"Imports per day, 2026-11-20 to 2026-12-03 (UTC): 7 in all, at most 3 a day"`.
    pub summary: String,
    /// `2026-11-20 – 2026-12-03`, under the title.
    span: String,
    width: i64,
    height: i64,
    bar_width: i64,
}

impl DayBars {
    /// Bars for `days` in order; `counts` are `(YYYY-MM-DD, n)`, and days
    /// missing from them count zero.
    pub fn new(title: &str, days: &[String], counts: &[(String, i64)]) -> Self {
        let values: Vec<i64> = days
            .iter()
            .map(|day| {
                counts
                    .iter()
                    .filter(|(d, _)| d == day)
                    .map(|(_, n)| (*n).max(0))
                    .sum()
            })
            .collect();
        let max = values.iter().copied().max().unwrap_or(0);
        let total = values.iter().sum();
        let room = DAY_HEIGHT - 1;
        let bars = days
            .iter()
            .zip(values)
            .zip(0..)
            .map(|((day, value), slot)| {
                let height = if max == 0 || value == 0 {
                    0
                } else {
                    ((value * room + max / 2) / max).max(1)
                };
                DayBar {
                    day: day.clone(),
                    value,
                    x: slot * DAY_SLOT + (DAY_SLOT - DAY_BAR) / 2,
                    y: room - height,
                    height,
                }
            })
            .collect();
        let (span, summary_span) = match (days.first(), days.last()) {
            (Some(first), Some(last)) => (
                format!("{first} – {last}"),
                format!(", {first} to {last} (UTC)"),
            ),
            _ => (String::new(), String::new()),
        };
        DayBars {
            title: title.to_owned(),
            summary: format!("{title}{summary_span}: {total} in all, at most {max} a day"),
            span,
            bars,
            total,
            max,
            width: i64::try_from(days.len()).unwrap_or(0) * DAY_SLOT,
            height: DAY_HEIGHT,
            bar_width: DAY_BAR,
        }
    }
}

/// The `count` UTC days ending with `today`, oldest first, as `YYYY-MM-DD`.
pub fn last_days(today: Date, count: u16) -> Vec<String> {
    (0..i64::from(count))
        .rev()
        .filter_map(|back| today.checked_sub(Duration::days(back)))
        .map(|day| day.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(bar: &StackedBar) -> Vec<i64> {
        bar.placed.iter().map(|p| p.width).collect()
    }

    #[test]
    fn a_stacked_bar_scales_its_parts_to_the_whole_width() {
        let bar = StackedBar::new(
            "web",
            vec![
                Segment::new("ready", 1, "seg-ready"),
                Segment::new("held", 1, "seg-held"),
                Segment::new("missing", 2, "seg-missing"),
            ],
        );
        assert_eq!(widths(&bar), vec![250, 250, 500]);
        assert_eq!(bar.placed[2].x, 500);
        assert_eq!(bar.total, 4);
        // Thirds round, but the edges still meet at the full width.
        let thirds = StackedBar::new(
            "web",
            (0..3).map(|_| Segment::new("x", 1, "seg-ready")).collect(),
        );
        assert_eq!(widths(&thirds).iter().sum::<i64>(), BAR_WIDTH);
        let svg = bar.render().expect("renders");
        assert!(svg.contains("<rect class=\"seg-missing\" x=\"500\" y=\"0\" width=\"500\""));
        assert!(svg.contains("aria-label=\"web: 4 in all; ready 1, held 1, missing 2\""));
        assert!(!svg.contains("style="), "no inline style: {svg}");
    }

    #[test]
    fn an_empty_or_all_zero_bar_draws_only_its_background() {
        for segments in [vec![], vec![Segment::new("ready", 0, "seg-ready")]] {
            let bar = StackedBar::new("b2b", segments);
            assert_eq!(bar.total, 0);
            assert!(bar.placed.iter().all(|p| p.width == 0));
            let svg = bar.render().expect("renders");
            assert!(svg.contains("b2b: 0 in all"), "{svg}");
            assert!(!svg.contains("<rect class=\"seg-ready\""), "{svg}");
            assert!(svg.contains("ready <strong>0</strong>") || bar.placed.is_empty());
            assert!(svg.contains("seg-empty"));
        }
    }

    #[test]
    fn one_segment_fills_the_bar_and_labels_are_escaped() {
        let bar = StackedBar::new("<web>", vec![Segment::new("a&b", 7, "seg-ready")]);
        assert_eq!(widths(&bar), vec![BAR_WIDTH]);
        let svg = bar.render().expect("renders");
        assert!(
            svg.contains("&#60;web&#62;") || svg.contains("&lt;web&gt;"),
            "{svg}"
        );
        assert!(!svg.contains("<web>"));
        assert!(
            svg.contains("a&#38;b: 7") || svg.contains("a&amp;b: 7"),
            "{svg}"
        );
    }

    fn days() -> Vec<String> {
        last_days(time::macros::date!(2026 - 12 - 03), 14)
    }

    #[test]
    fn last_days_end_today_oldest_first() {
        let days = days();
        assert_eq!(days.len(), 14);
        assert_eq!(days[0], "2026-11-20");
        assert_eq!(days[13], "2026-12-03");
    }

    #[test]
    fn day_bars_scale_to_the_busiest_day() {
        let bars = DayBars::new(
            "Imports",
            &days(),
            &[("2026-12-03".into(), 4), ("2026-11-21".into(), 1)],
        );
        assert_eq!(bars.total, 5);
        assert_eq!(bars.max, 4);
        let last = &bars.bars[13];
        assert_eq!((last.value, last.height, last.y), (4, 39, 0));
        // A small day still shows: a quarter of 39 rounds to 10.
        assert_eq!(bars.bars[1].height, 10);
        assert_eq!(bars.bars[0].height, 0);
        let svg = bars.render().expect("renders");
        assert!(svg.contains("<title>2026-12-03: 4</title>"), "{svg}");
        assert!(svg.contains("2026-11-20 to 2026-12-03 (UTC): 5 in all, at most 4 a day"));
    }

    #[test]
    fn day_bars_with_one_value_or_none_at_all() {
        let one = DayBars::new("Approvals", &days(), &[("2026-11-27".into(), 1)]);
        assert_eq!(one.bars[7].height, DAY_HEIGHT - 1);
        assert_eq!(one.bars.iter().filter(|b| b.height > 0).count(), 1);
        let none = DayBars::new("Feed events", &days(), &[]);
        assert_eq!((none.total, none.max), (0, 0));
        assert!(none.bars.iter().all(|b| b.height == 0 && b.value == 0));
        let svg = none.render().expect("renders");
        assert!(!svg.contains("day-bar\""), "no bars: {svg}");
        assert!(svg.contains("0 in all"));
        let empty = DayBars::new("Nothing", &[], &[]);
        assert!(empty.bars.is_empty());
        assert!(empty.render().is_ok());
    }
}
