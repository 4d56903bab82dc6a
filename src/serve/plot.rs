//! SVG plots: axes with round ticks, line plots with a legend beside them,
//! and colour scales. Each `svg.plot` holds `g.axis-x`, `g.axis-y`,
//! `g.plot-area` (its frame first) and, with several series, `g.legend`.

use super::html::esc;

/// Ten distinguishable colours (Tableau 10).
pub const PALETTE: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/// A plotted area: where data coordinates land in the SVG.
pub struct Frame {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
    pub x: (f64, f64),
    pub y: (f64, f64),
}

impl Frame {
    pub fn px(&self, x: f64) -> f64 {
        self.left + (x - self.x.0) / (self.x.1 - self.x.0) * self.width
    }

    pub fn py(&self, y: f64) -> f64 {
        self.top + self.height - (y - self.y.0) / (self.y.1 - self.y.0) * self.height
    }

    /// The axes (ticks, labels) as `g.axis-x` and `g.axis-y`.
    pub fn axes(&self, x_label: &str, y_label: &str) -> String {
        let mut out = String::from("<g class=\"axis-x\">");
        let bottom = self.top + self.height;
        for t in ticks(self.x.0, self.x.1) {
            let x = self.px(t);
            out.push_str(&format!(
                "<line x1=\"{x:.1}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                bottom + 4.0,
                bottom + 16.0,
                tick_text(t, self.x)
            ));
        }
        out.push_str(&format!(
            "<text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            self.left + self.width / 2.0,
            bottom + 32.0,
            esc(x_label)
        ));
        out.push_str("<g class=\"axis-y\">");
        for t in ticks(self.y.0, self.y.1) {
            let y = self.py(t);
            out.push_str(&format!(
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                self.left - 4.0,
                self.left,
                self.left - 6.0,
                y + 4.0,
                tick_text(t, self.y)
            ));
        }
        out.push_str(&format!(
            "<text class=\"label\" transform=\"translate({:.1} {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text></g>",
            self.left - 46.0,
            self.top + self.height / 2.0,
            esc(y_label)
        ));
        out
    }

    /// The frame of the plotted area (the first element of `g.plot-area`).
    pub fn rect(&self) -> String {
        format!(
            "<rect class=\"frame\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"/>",
            self.left, self.top, self.width, self.height
        )
    }
}

/// `lo..hi` widened a little, and never empty.
pub fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        return (lo - 0.5 * lo.abs().max(1e-3), hi + 0.5 * hi.abs().max(1e-3));
    }
    let pad = (hi - lo) * 0.04;
    (lo - pad, hi + pad)
}

/// Round tick values inside `lo..hi` (about five of them).
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 || span.is_infinite() {
        return vec![lo];
    }
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| span / s <= 6.0).unwrap_or(magnitude * 10.0);
    let first = (lo / step - 1e-9).ceil() as i64;
    (first..first + 20).map(|k| k as f64 * step).take_while(|t| *t <= hi + step * 1e-9).collect()
}

/// A tick's label, with as many decimals as the step between ticks needs.
fn tick_text(t: f64, range: (f64, f64)) -> String {
    let ticks = ticks(range.0, range.1);
    let step = if ticks.len() > 1 { ticks[1] - ticks[0] } else { (range.1 - range.0).abs() };
    if t.abs() >= 1e6 {
        let exponent = t.abs().log10().floor() as i32;
        return format!("{}e{exponent}", super::data::number((t / 10f64.powi(exponent) * 1000.0).round() / 1000.0));
    }
    let mut decimals = 0;
    while decimals < 8 && ((step * 10f64.powi(decimals)).round() - step * 10f64.powi(decimals)).abs() > 1e-6 {
        decimals += 1;
    }
    format!("{t:.0$}", decimals as usize)
}

/// A line (with optional band) to plot.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// (x, low, high) of a band around the line (e.g. an interquartile range).
    pub band: Vec<(f64, f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series { name: name.into(), points, band: Vec::new() }
    }
}

/// A line plot of `series` with a legend beside the plotted area.
pub fn line_plot(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let all = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().copied().chain(s.band.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])))
    };
    let finite = |v: &f64| v.is_finite();
    let xs: Vec<f64> = all().map(|p| p.0).filter(finite).collect();
    let ys: Vec<f64> = all().map(|p| p.1).filter(finite).collect();
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let legend_width = if series.len() > 1 {
        (series.iter().map(|s| s.name.chars().count()).max().unwrap_or(0) as f64 * 6.6 + 34.0).min(260.0)
    } else {
        0.0
    };
    let frame = Frame {
        left: 64.0,
        top: 30.0,
        width: 420.0,
        height: 220.0,
        x: padded(min(&xs), max(&xs)),
        y: padded(min(&ys), max(&ys)),
    };
    let width = frame.left + frame.width + 20.0 + legend_width;
    let mut out = format!(
        "<svg class=\"plot\" viewBox=\"0 0 {width:.0} 300\" width=\"{width:.0}\" height=\"300\" role=\"img\">\
         <title>{}</title><text class=\"title\" x=\"{:.1}\" y=\"18\" text-anchor=\"middle\">{}</text>",
        esc(title),
        frame.left + frame.width / 2.0,
        esc(title)
    );
    out.push_str(&frame.axes(x_label, y_label));
    out.push_str("<g class=\"plot-area\">");
    out.push_str(&frame.rect());
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        if !s.band.is_empty() {
            let upper: Vec<String> =
                s.band.iter().map(|&(x, _, hi)| format!("{:.1},{:.1}", frame.px(x), frame.py(hi))).collect();
            let lower: Vec<String> =
                s.band.iter().rev().map(|&(x, lo, _)| format!("{:.1},{:.1}", frame.px(x), frame.py(lo))).collect();
            out.push_str(&format!(
                "<polygon points=\"{} {}\" fill=\"{colour}\" fill-opacity=\"0.18\" stroke=\"none\"/>",
                upper.join(" "),
                lower.join(" ")
            ));
        }
        let points: Vec<String> = s
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", frame.px(x), frame.py(y)))
            .collect();
        if points.len() > 1 {
            out.push_str(&format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.8\"/>",
                points.join(" ")
            ));
        }
        if s.points.len() <= 40 {
            for &(x, y) in s.points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()) {
                out.push_str(&format!(
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{}: {} = {}, {} = {}</title></circle>",
                    frame.px(x),
                    frame.py(y),
                    esc(&s.name),
                    esc(x_label),
                    super::data::number((x * 1e6).round() / 1e6),
                    esc(y_label),
                    super::html::value(y)
                ));
            }
        }
    }
    out.push_str("</g>");
    if series.len() > 1 {
        out.push_str("<g class=\"legend\">");
        let x = frame.left + frame.width + 20.0;
        for (i, s) in series.iter().enumerate() {
            let y = frame.top + 8.0 + i as f64 * 16.0;
            out.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"4\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                y - 4.0,
                PALETTE[i % PALETTE.len()],
                x + 18.0,
                y + 1.0,
                esc(&truncate(&s.name, 36))
            ));
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

fn truncate(text: &str, n: usize) -> String {
    if text.chars().count() <= n { text.to_string() } else { text.chars().take(n - 1).chain(['…']).collect() }
}

/// Viridis, sampled: `t` in [0, 1] to a colour.
pub fn viridis(t: f64) -> String {
    const STOPS: [(f64, f64, f64); 6] = [
        (68.0, 1.0, 84.0),
        (65.0, 68.0, 135.0),
        (42.0, 120.0, 142.0),
        (34.0, 168.0, 132.0),
        (122.0, 209.0, 81.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 } * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        let t = ticks(0.0, 1.0);
        assert_eq!(t.len(), 6);
        assert!(t.iter().zip([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]).all(|(a, b)| (a - b).abs() < 1e-12), "{t:?}");
        let t = ticks(0.33, 0.49);
        assert!(t.len() >= 3 && t.iter().all(|v| (0.33..=0.49).contains(v)), "{t:?}");
        assert_eq!(ticks(3.0, 3.0), vec![3.0]);
    }

    #[test]
    fn plots_have_axes_areas_and_legends() {
        assert_eq!(tick_text(0.2, (0.1, 0.8)), "0.2");
        assert_eq!(tick_text(0.25, (0.0, 1.4)), "0.25");
        assert_eq!(tick_text(20.0, (0.0, 40.0)), "20");
        assert_eq!(tick_text(1.5e6, (0.0, 2e6)), "1.5e6");
        let svg = line_plot(
            "t",
            "x",
            "y",
            &[Series::new("a", vec![(0.0, 1.0), (1.0, 2.0)]), Series::new("b", vec![(0.0, 0.5)])],
        );
        for part in ["class=\"axis-x\"", "class=\"axis-y\"", "class=\"plot-area\"", "class=\"legend\"", "<polyline"] {
            assert!(svg.contains(part), "{part}");
        }
        assert_eq!(viridis(0.0), "#440154");
        assert_eq!(viridis(1.0), "#fde725");
    }
}
