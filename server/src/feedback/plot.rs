//! Plots of the timeline: terminal sparklines and a self-contained SVG (acceptance rate and
//! median latency per bucket).

use std::fmt::Write;

use super::report::Timeline;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One character per value, scaled from 0 to `max` (the largest value when `None`); a gap is a
/// space.
pub fn sparkline(values: &[Option<f64>], max: Option<f64>) -> String {
    let top = max
        .or_else(|| values.iter().flatten().copied().reduce(f64::max))
        .filter(|top| *top > 0.0);
    values
        .iter()
        .map(|value| match (value, top) {
            (None, _) => ' ',
            (Some(_), None) => BARS[0],
            (Some(value), Some(top)) => {
                let level = ((value / top).clamp(0.0, 1.0) * 7.0).round() as usize;
                BARS[level]
            }
        })
        .collect()
}

/// Two labelled sparklines of the last `width` buckets.
pub fn terminal(timeline: &Timeline, width: usize) -> String {
    let points = &timeline.points[timeline.points.len().saturating_sub(width)..];
    if points.is_empty() {
        return "no suggestions recorded yet\n".to_string();
    }
    let rates: Vec<Option<f64>> = points.iter().map(|p| p.acceptance_rate).collect();
    let latencies: Vec<Option<f64>> = points.iter().map(|p| p.latency_p50_ms).collect();
    let max_latency = latencies.iter().flatten().copied().fold(0.0, f64::max);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "per {} from {} to {}:",
        timeline.bucket,
        points[0].label,
        points[points.len() - 1].label
    );
    let _ = writeln!(
        out,
        "  acceptance  {}  (0–100 %)",
        sparkline(&rates, Some(1.0))
    );
    let _ = writeln!(
        out,
        "  latency p50 {}  (0–{max_latency:.0} ms)",
        sparkline(&latencies, None)
    );
    out
}

/// An SVG chart: acceptance rate (left axis, 0–100 %) and median latency (right axis).
pub fn svg(timeline: &Timeline) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 300.0;
    const LEFT: f64 = 60.0;
    const RIGHT: f64 = 70.0;
    const TOP: f64 = 30.0;
    const BOTTOM: f64 = 50.0;
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let points = &timeline.points;
    let max_latency = points
        .iter()
        .filter_map(|p| p.latency_p50_ms)
        .fold(0.0, f64::max)
        .max(1.0);
    let x = |index: usize| {
        if points.len() <= 1 {
            LEFT + plot_width / 2.0
        } else {
            LEFT + plot_width * index as f64 / (points.len() - 1) as f64
        }
    };
    let y = |fraction: f64| TOP + plot_height * (1.0 - fraction.clamp(0.0, 1.0));
    let line = |values: Vec<Option<f64>>| {
        values
            .iter()
            .enumerate()
            .filter_map(|(index, value)| value.map(|v| format!("{:.1},{:.1}", x(index), y(v))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let rates = line(points.iter().map(|p| p.acceptance_rate).collect());
    let latencies = line(
        points
            .iter()
            .map(|p| p.latency_p50_ms.map(|ms| ms / max_latency))
            .collect(),
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="18">ghostline: acceptance rate (blue, left) and median latency (orange, right) per {}</text>"#,
        timeline.bucket
    );
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_width}" height="{plot_height}" fill="none" stroke="#999"/>"##
    );
    for tick in [0.0, 0.5, 1.0] {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{:.0} %</text><text x="{:.1}" y="{:.1}">{:.0} ms</text>"#,
            LEFT - 6.0,
            y(tick) + 4.0,
            tick * 100.0,
            WIDTH - RIGHT + 6.0,
            y(tick) + 4.0,
            tick * max_latency
        );
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="{:.1}">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            HEIGHT - 20.0,
            first.label,
            WIDTH - RIGHT,
            HEIGHT - 20.0,
            last.label
        );
    }
    for (points, colour) in [(&rates, "#1f77b4"), (&latencies, "#ff7f0e")] {
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>"#
        );
        for point in points.split(' ').filter(|p| !p.is_empty()) {
            if let Some((cx, cy)) = point.split_once(',') {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>"#
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::report::TimelinePoint;

    #[test]
    fn sparklines_scale_and_keep_gaps() {
        assert_eq!(
            sparkline(&[Some(0.0), Some(0.5), Some(1.0), None], Some(1.0)),
            "▁▅█ "
        );
        assert_eq!(sparkline(&[Some(10.0), Some(20.0)], None), "▅█");
        assert_eq!(sparkline(&[Some(0.0)], None), "▁");
    }

    #[test]
    fn the_svg_has_both_lines_and_labels() {
        let timeline = Timeline {
            bucket: "day".into(),
            points: vec![
                TimelinePoint {
                    label: "2026-11-26".into(),
                    acceptance_rate: Some(0.25),
                    latency_p50_ms: Some(80.0),
                    ..TimelinePoint::default()
                },
                TimelinePoint {
                    label: "2026-11-27".into(),
                    acceptance_rate: Some(0.5),
                    latency_p50_ms: Some(120.0),
                    ..TimelinePoint::default()
                },
            ],
        };
        let svg = svg(&timeline);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(
            svg.contains("2026-11-26") && svg.contains("120 ms"),
            "{svg}"
        );
        let text = terminal(&timeline, 60);
        assert!(text.contains("acceptance  ▃▅"), "{text}");
        assert!(text.contains("latency p50 ▆█"), "{text}");
    }
}
