//! SVG plots for the report: axes with ticks at round values (Heckbert's
//! "nice numbers"), units in every axis label, legends beside the plotted
//! area, and a hover `<title>` on every point and line.
//!
//! Each plot is one `<svg class="plot">` whose parts are groups with classes
//! `plot-area`, `axis-x`, `axis-y` and `legend`, so that a browser test can
//! check that each lies inside the viewBox.

use std::fmt::Write;

/// Escapes text for HTML and SVG content and attributes.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Series colours (matplotlib's tab10).
const COLOURS: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/// Approximate advance of one character at font-size 10 (sans-serif).
const CHAR: f64 = 6.0;
const PLOT_W: f64 = 300.0;
const PLOT_H: f64 = 200.0;
const TOP: f64 = 28.0;
/// Legend entries shown before "… and N more".
const LEGEND_MAX: usize = 14;

/// The "nice" number nearest `x` > 0: 1, 2, 5 or 10 times a power of ten.
fn nice(x: f64) -> f64 {
    let exp = x.log10().floor();
    let n = match x / 10f64.powf(exp) {
        f if f < 1.5 => 1.0,
        f if f < 3.0 => 2.0,
        f if f < 7.0 => 5.0,
        _ => 10.0,
    };
    n * 10f64.powf(exp)
}

/// About `target` ticks at round values in [lo, hi] (lo < hi): the
/// multiples of a nice step that lie in the range.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let step = nice((hi - lo) / (target.max(2) - 1) as f64);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|k| {
            // Round away binary noise (3 × 0.2 = 0.6000000000000001) and negative zero.
            let scale = 10f64.powi((-step.log10().floor()).max(0.0) as i32 + 1);
            let v = (k as f64 * step * scale).round() / scale;
            if v == 0.0 { 0.0 } else { v }
        })
        .collect()
}

/// A tick label: as few decimals as the step needs.
fn tick_label(v: f64, ticks: &[f64]) -> String {
    let step = if ticks.len() > 1 { (ticks[1] - ticks[0]).abs() } else { v.abs().max(1.0) };
    let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
    if v.abs() >= 1e5 || (v != 0.0 && v.abs() < 1e-4) { format!("{v:.1e}") } else { format!("{v:.decimals$}") }
}

/// How an axis maps values to positions.
#[derive(Clone, Debug)]
enum Kind {
    Linear,
    /// Values are plotted at log2(v); ticks at powers of two.
    Log2,
    /// Values are indices 0..n of these names.
    Categories(Vec<String>),
}

/// One axis: its label (with the unit), its domain and its ticks.
#[derive(Clone, Debug)]
pub struct Axis {
    label: String,
    kind: Kind,
    /// The plotted domain, in axis space (log2 for `Log2`).
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Axis {
    /// A linear axis over `values`, padded by 4% but never beyond `bounds`
    /// (e.g. (0, 1) for accuracies), with round ticks inside.
    pub fn linear(label: &str, values: impl IntoIterator<Item = f64>, bounds: Option<(f64, f64)>) -> Axis {
        let (mut lo, mut hi) = finite_range(values);
        if hi - lo < 1e-12 {
            let half = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
            (lo, hi) = (lo - half, hi + half);
        }
        let pad = 0.04 * (hi - lo);
        (lo, hi) = (lo - pad, hi + pad);
        if let Some((min, max)) = bounds {
            (lo, hi) = (lo.max(min), hi.min(max));
        }
        let mut ticks = nice_ticks(lo, hi, 5);
        if ticks.len() < 2 {
            // A narrow range: widen it to the neighbouring round values.
            let step = nice((hi - lo) / 4.0);
            (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
            ticks = nice_ticks(lo, hi, 5);
        }
        Axis { label: label.to_string(), kind: Kind::Linear, lo, hi, ticks }
    }

    /// A log2 axis over positive `values`, ticks at the powers of two inside.
    pub fn log2(label: &str, values: impl IntoIterator<Item = f64>) -> Axis {
        let (data_lo, data_hi) = finite_range(values.into_iter().filter(|v| *v > 0.0).map(f64::log2));
        // Powers of two inside the data; the neighbouring ones when there are fewer than two.
        let (mut first, mut last) = ((data_lo - 1e-9).ceil(), (data_hi + 1e-9).floor());
        if last - first < 1.0 {
            (first, last) = (data_lo.floor(), data_hi.ceil().max(data_lo.floor() + 1.0));
        }
        let ticks: Vec<f64> = (first as i64..=last as i64).map(|k| k as f64).collect();
        let (lo, hi) = ((data_lo - 0.2).min(first), (data_hi + 0.2).max(last));
        let every = ticks.len().div_ceil(8).max(1);
        let ticks = ticks.into_iter().step_by(every).collect();
        Axis { label: label.to_string(), kind: Kind::Log2, lo, hi, ticks }
    }

    /// A categorical axis: value i is `names[i]`.
    pub fn categories(label: &str, names: &[String]) -> Axis {
        let n = names.len().max(1) as f64;
        Axis {
            label: label.to_string(),
            kind: Kind::Categories(names.to_vec()),
            lo: -0.5,
            hi: n - 0.5,
            ticks: (0..names.len()).map(|i| i as f64).collect(),
        }
    }

    /// The value in axis space (NaN when the axis cannot show it).
    fn place(&self, v: f64) -> f64 {
        match self.kind {
            Kind::Log2 if v > 0.0 => v.log2(),
            Kind::Log2 => f64::NAN,
            _ => v,
        }
    }

    fn label_of(&self, tick: f64) -> String {
        match &self.kind {
            Kind::Linear => tick_label(tick, &self.ticks),
            Kind::Log2 => {
                let v = tick.exp2();
                if v >= 1.0 { format!("{v:.0}") } else { format!("1/{:.0}", 1.0 / v) }
            }
            Kind::Categories(names) => names.get(tick as usize).cloned().unwrap_or_default(),
        }
    }

    /// Widest tick label, in characters.
    fn widest_label(&self) -> usize {
        self.ticks.iter().map(|&t| self.label_of(t).chars().count()).max().unwrap_or(0)
    }
}

fn finite_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) }
}

/// A scatter point with its hover text.
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub title: String,
}

/// A band's points: (x, lower, median, upper), e.g. quartiles over trials.
pub type Band = Vec<(f64, f64, f64, f64)>;

/// A named line.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A plot frame: title and two axes; `scatter` and `lines` draw into it.
pub struct Plot {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
}

/// Pixel geometry of one plot.
struct Layout {
    left: f64,
    bottom: f64,
    legend_w: f64,
}

impl Layout {
    fn px_x(&self, axis: &Axis, v: f64) -> f64 {
        self.left + (axis.place(v) - axis.lo) / (axis.hi - axis.lo) * PLOT_W
    }

    fn px_y(&self, axis: &Axis, v: f64) -> f64 {
        TOP + PLOT_H - (axis.place(v) - axis.lo) / (axis.hi - axis.lo) * PLOT_H
    }
}

impl Plot {
    pub fn new(title: &str, x: Axis, y: Axis) -> Plot {
        Plot { title: title.to_string(), x, y }
    }

    /// A scatter plot; every point carries its `title` as hover text.
    pub fn scatter(&self, points: &[Point]) -> String {
        let layout = self.layout(&[]);
        let mut body = String::new();
        let radius = if points.len() > 500 { 1.5 } else { 3.5 };
        for p in points {
            let (x, y) = (layout.px_x(&self.x, p.x), layout.px_y(&self.y, p.y));
            if x.is_finite() && y.is_finite() {
                let _ = writeln!(
                    body,
                    r##"<circle cx="{x:.1}" cy="{y:.1}" r="{radius}" fill="#1f77b4" fill-opacity="0.6"><title>{}</title></circle>"##,
                    escape(&p.title)
                );
            }
        }
        self.finish(&layout, &body, &[])
    }

    /// One polyline per series, with a legend beside the plotted area.
    pub fn lines(&self, series: &[Series]) -> String {
        let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        let layout = self.layout(&names);
        let mut body = String::new();
        for (i, s) in series.iter().enumerate() {
            let path: Vec<String> = s
                .points
                .iter()
                .map(|&(x, y)| (layout.px_x(&self.x, x), layout.px_y(&self.y, y)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let colour = COLOURS[i % COLOURS.len()];
            let _ = write!(
                body,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"><title>{}</title></polyline>"#,
                path.join(" "),
                escape(&s.name)
            );
            // Markers, so one-point series show and each point has its own hover text.
            for (x, y) in &s.points {
                let (px, py) = (layout.px_x(&self.x, *x), layout.px_y(&self.y, *y));
                if px.is_finite() && py.is_finite() {
                    let _ = write!(
                        body,
                        r#"<circle cx="{px:.1}" cy="{py:.1}" r="2" fill="{colour}"><title>{}: {}, {}</title></circle>"#,
                        escape(&s.name),
                        escape(&self.x.label_of(self.x.place(*x))),
                        escape(&tick_label(*y, &self.y.ticks))
                    );
                }
            }
            body.push('\n');
        }
        self.finish(&layout, &body, &names)
    }

    /// Median lines over shaded bands, one per named series.
    pub fn bands(&self, series: &[(String, Band)]) -> String {
        let names: Vec<&str> = series.iter().map(|s| s.0.as_str()).collect();
        let layout = self.layout(&names);
        let px = |x: f64, y: f64| format!("{:.1},{:.1}", layout.px_x(&self.x, x), layout.px_y(&self.y, y));
        let mut body = String::new();
        for (i, (name, points)) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let upper = points.iter().map(|p| px(p.0, p.3));
            let lower = points.iter().rev().map(|p| px(p.0, p.1));
            let median: Vec<String> = points.iter().map(|p| px(p.0, p.2)).collect();
            let _ = writeln!(
                body,
                r#"<polygon points="{}" fill="{colour}" fill-opacity="0.15" stroke="none"/><polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"><title>{}</title></polyline>"#,
                upper.chain(lower).collect::<Vec<_>>().join(" "),
                median.join(" "),
                escape(name)
            );
        }
        self.finish(&layout, &body, &names)
    }

    fn layout(&self, legend: &[&str]) -> Layout {
        let left = 20.0 + CHAR * self.y.widest_label() as f64 + 8.0;
        let bottom = match self.x.kind {
            // Category names are drawn at -30°: half their length goes down.
            Kind::Categories(_) => 30.0 + 0.5 * CHAR * self.x.widest_label() as f64 + 8.0,
            _ => 40.0,
        };
        let legend_w = if legend.is_empty() {
            0.0
        } else {
            let widest = legend.iter().take(LEGEND_MAX).map(|n| n.chars().count()).max().unwrap_or(0).max(12);
            24.0 + CHAR * widest as f64
        };
        Layout { left, bottom, legend_w }
    }

    fn finish(&self, layout: &Layout, body: &str, legend: &[&str]) -> String {
        let (left, bottom) = (layout.left, TOP + PLOT_H);
        let shown = legend.len().min(LEGEND_MAX);
        let more = legend.len() > LEGEND_MAX;
        let legend_h = 14.0 * (shown + usize::from(more)) as f64 + 8.0;
        // Long titles and axis labels widen (or heighten) the plot rather than leave it.
        let text_w = |text: &str, char_w: f64| char_w * text.chars().count() as f64;
        let (title_w, x_label_w, y_label_w) =
            (text_w(&self.title, 1.1 * CHAR), text_w(&self.x.label, CHAR), text_w(&self.y.label, CHAR));
        let width = (left + PLOT_W + if legend.is_empty() { 12.0 } else { 14.0 + layout.legend_w + 6.0 })
            .max(title_w.max(x_label_w) + 12.0);
        let height = (bottom + layout.bottom).max(TOP + legend_h + 4.0).max(y_label_w + 12.0);
        // Centred on the plotted area where they fit, shifted inside the frame where they do not.
        let centre =
            |w: f64, middle: f64, extent: f64| middle.clamp(w / 2.0 + 4.0, (extent - w / 2.0 - 4.0).max(w / 2.0));
        let mut out = String::new();
        let _ = writeln!(
            out,
            r##"<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="10">
<title>{t}</title><text x="{cx:.1}" y="16" text-anchor="middle" font-size="11">{t}</text>"##,
            t = escape(&self.title),
            cx = centre(title_w, left + PLOT_W / 2.0, width),
        );
        // Axes: frame, ticks, tick labels, axis labels.
        let _ = write!(out, r#"<g class="axis-x">"#);
        for &t in &self.x.ticks {
            let x = left + (t - self.x.lo) / (self.x.hi - self.x.lo) * PLOT_W;
            let label = escape(&self.x.label_of(t));
            let _ =
                write!(out, r##"<line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{}" stroke="#444"/>"##, bottom + 4.0);
            match self.x.kind {
                Kind::Categories(_) => {
                    let y = bottom + 12.0;
                    let _ = write!(
                        out,
                        r#"<text x="{x:.1}" y="{y}" text-anchor="end" transform="rotate(-30 {x:.1} {y})">{label}</text>"#
                    );
                }
                _ => {
                    let _ =
                        write!(out, r#"<text x="{x:.1}" y="{}" text-anchor="middle">{label}</text>"#, bottom + 14.0);
                }
            }
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"#,
            centre(x_label_w, left + PLOT_W / 2.0, width),
            bottom + layout.bottom - 6.0,
            escape(&self.x.label)
        );
        let _ = write!(out, r#"<g class="axis-y">"#);
        for &t in &self.y.ticks {
            let y = bottom - (t - self.y.lo) / (self.y.hi - self.y.lo) * PLOT_H;
            let _ = write!(
                out,
                r##"<line x1="{}" y1="{y:.1}" x2="{left}" y2="{y:.1}" stroke="#444"/><line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                left - 4.0,
                left + PLOT_W,
                left - 6.0,
                y + 3.5,
                escape(&self.y.label_of(t))
            );
        }
        let cy = centre(y_label_w, TOP + PLOT_H / 2.0, height);
        let _ = writeln!(
            out,
            r#"<text x="12" y="{cy}" text-anchor="middle" transform="rotate(-90 12 {cy})">{}</text></g>"#,
            escape(&self.y.label)
        );
        let _ = writeln!(
            out,
            r##"<g class="plot-area"><rect x="{left}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="none" stroke="#888"/>"##
        );
        out.push_str(body);
        out.push_str("</g>\n");
        if !legend.is_empty() {
            let x = left + PLOT_W + 14.0;
            let _ = write!(out, r#"<g class="legend">"#);
            for (i, name) in legend.iter().take(LEGEND_MAX).enumerate() {
                let y = TOP + 8.0 + 14.0 * i as f64;
                let _ = write!(
                    out,
                    r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
                    x + 14.0,
                    COLOURS[i % COLOURS.len()],
                    x + 18.0,
                    y + 3.5,
                    escape(name)
                );
            }
            if more {
                let y = TOP + 8.0 + 14.0 * shown as f64 + 3.5;
                let _ = write!(out, r#"<text x="{x}" y="{y}">… and {} more</text>"#, legend.len() - LEGEND_MAX);
            }
            out.push_str("</g>\n");
        }
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_values_inside_the_range() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_ticks(0.8, 6.2, 5), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(nice_ticks(-53.781, 912.0, 5), [0.0, 200.0, 400.0, 600.0, 800.0]);
        let t = nice_ticks(0.123, 0.187, 5);
        assert!(t.len() >= 3 && t.iter().all(|v| (0.123..=0.187).contains(v)), "{t:?}");
        assert!(t.iter().all(|v| ((v * 100.0).round() - v * 100.0).abs() < 1e-9), "{t:?}");
    }

    #[test]
    fn accuracy_axes_stay_in_zero_to_one_and_labels_are_short() {
        let axis = Axis::linear("accuracy (fraction)", [0.0, 0.35, 1.0], Some((0.0, 1.0)));
        assert_eq!((axis.lo, axis.hi), (0.0, 1.0));
        let labels: Vec<String> = axis.ticks.iter().map(|&t| axis.label_of(t)).collect();
        assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        // One value: widened to round neighbours, still at least two ticks.
        let single = Axis::linear("epoch", [3.0], None);
        assert!(single.ticks.len() >= 2 && single.lo <= 3.0 && single.hi >= 3.0, "{single:?}");
        let eps = Axis::log2("eps (1/255, log scale)", [3.0, 8.0, 255.0]);
        let labels: Vec<String> = eps.ticks.iter().map(|&t| eps.label_of(t)).collect();
        assert_eq!(labels, ["4", "8", "16", "32", "64", "128"]);
    }

    #[test]
    fn the_legend_is_beside_the_plotted_area() {
        let plot =
            Plot::new("t", Axis::linear("epoch", [1.0, 6.0], None), Axis::linear("loss (nats)", [0.5, 2.3], None));
        let series: Vec<Series> =
            (0..3).map(|i| Series { name: format!("arch {i}"), points: vec![(1.0, 2.0), (6.0, 0.6)] }).collect();
        let svg = plot.lines(&series);
        let legend_x: f64 =
            svg.split(r#"<g class="legend"><line x1=""#).nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        let area = svg.split(r#"<g class="plot-area"><rect x=""#).nth(1).unwrap();
        let fields: Vec<f64> = area.split('"').step_by(2).take(1).map(|v| v.parse().unwrap()).collect();
        assert!(legend_x > fields[0] + PLOT_W, "legend at {legend_x}");
    }
}
