//! A dependency-free SVG plot of the training loss (smoothed) and held-out loss.

use std::fmt::Write as _;

/// SVG text: training loss (light: raw, dark: moving average) and held-out loss points vs step.
pub fn loss_curve_svg(losses: &[(usize, f32)], heldout: &[(usize, f64)]) -> String {
    let (width, height, margin) = (800.0, 450.0, 55.0);
    let max_step = losses
        .iter()
        .map(|l| l.0)
        .chain(heldout.iter().map(|h| h.0))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let values: Vec<f64> = losses
        .iter()
        .map(|l| l.1 as f64)
        .chain(heldout.iter().map(|h| h.1))
        .filter(|v| v.is_finite())
        .collect();
    let y_max = values
        .iter()
        .cloned()
        .fold(f64::MIN, f64::max)
        .max(1.0)
        .ceil();
    let y_min = values
        .iter()
        .cloned()
        .fold(f64::MAX, f64::min)
        .min(y_max - 1.0)
        .floor()
        .max(0.0);
    let x = |step: f64| margin + step / max_step * (width - 2.0 * margin);
    let y = |v: f64| height - margin - (v - y_min) / (y_max - y_min) * (height - 2.0 * margin);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
    );
    for tick in 0..=5 {
        let v = y_min + (y_max - y_min) * tick as f64 / 5.0;
        let _ = write!(
            svg,
            "<line x1=\"{m}\" x2=\"{r}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"5\" y=\"{yt:.1}\">{v:.2}</text>",
            m = margin,
            r = width - margin,
            yy = y(v),
            yt = y(v) + 4.0
        );
        let s = max_step * tick as f64 / 5.0;
        let _ = write!(
            svg,
            "<text x=\"{xx:.1}\" y=\"{yb}\" text-anchor=\"middle\">{s:.0}</text>",
            xx = x(s),
            yb = height - margin + 18.0
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{cx}\" y=\"{b}\" text-anchor=\"middle\">optimizer step</text>\
         <text x=\"{m}\" y=\"20\">loss (nats/token): train (grey raw, blue 50-step mean), held-out (red)</text>",
        cx = width / 2.0,
        b = height - 10.0,
        m = margin
    );
    let polyline = |points: &[(f64, f64)], style: &str| {
        let pts: Vec<String> = points
            .iter()
            .map(|(s, v)| format!("{:.1},{:.1}", x(*s), y(*v)))
            .collect();
        format!(
            "<polyline fill=\"none\" {style} points=\"{}\"/>",
            pts.join(" ")
        )
    };
    let raw: Vec<(f64, f64)> = losses
        .iter()
        .map(|(s, l)| (*s as f64, *l as f64))
        .filter(|p| p.1.is_finite())
        .collect();
    svg.push_str(&polyline(&raw, "stroke=\"#bbb\" stroke-width=\"1\""));
    let window = 50usize;
    let smooth: Vec<(f64, f64)> = (0..raw.len())
        .map(|i| {
            let lo = i.saturating_sub(window - 1);
            let slice = &raw[lo..=i];
            (
                raw[i].0,
                slice.iter().map(|p| p.1).sum::<f64>() / slice.len() as f64,
            )
        })
        .collect();
    svg.push_str(&polyline(&smooth, "stroke=\"#1f5fbf\" stroke-width=\"2\""));
    for (s, v) in heldout {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"#c0392b\"/>",
            x(*s as f64),
            y(*v)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
