//! Trade-offs (`/tradeoffs`, `/tradeoffs.json`): any two columns of a source
//! as a scatter, the Pareto front highlighted, points coloured by a third
//! column; hovering shows the cell, a click opens its page. Takes the
//! table's filter parameters and `x`, `y`, `color` (column keys).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use robbench_space::Op;

use super::app::App;
use super::data::{arch_infos, short};
use super::html::{self, Html, esc, link, with};
use super::http_error::{HttpError, Page};
use super::plot::{Frame, padded, viridis};
use super::table::{Key, View, filter_form};

/// The plotted columns and points of a request.
struct Scatter {
    view: View,
    x: Key,
    y: Key,
    color: Key,
    /// (row position, x, y, colour value, on the front), points with x and y only.
    points: Vec<(usize, f64, f64, f64, bool)>,
}

/// The first of `keys` the source has.
fn first_of(view: &View, keys: &[String]) -> Option<Key> {
    keys.iter().find_map(|k| view.table.column(k)).map(Key::Metric)
}

async fn scatter(app: &App, pairs: Vec<(String, String)>) -> Result<Scatter, HttpError> {
    let view = View::new(app, pairs, &["x", "y", "color"]).await?;
    let table = &view.table;
    let dataset = table.datasets().first().map(|d| d.to_string()).unwrap_or_default();
    let pick = |name: &str, defaults: &[String], fallback: Key| -> Result<Key, HttpError> {
        match view.params.get(name) {
            Some(key) => Key::parse(table, key),
            None => Ok(first_of(&view, defaults).unwrap_or(fallback)),
        }
    };
    let metric = |c: usize| if c < table.columns.len() { Key::Metric(c) } else { Key::Params };
    let x = pick("x", &[format!("{dataset}:clean")], metric(0))?;
    let y = pick("y", &[format!("{dataset}:pgd@8"), format!("{dataset}:fgsm@8")], metric(1))?;
    let color = pick("color", &[], Key::Params)?;
    let infos = arch_infos();
    let mut points: Vec<(usize, f64, f64, f64, bool)> = view
        .rows
        .iter()
        .filter_map(|&r| {
            let (row, info) = (&table.rows[r], &infos[table.rows[r].index]);
            let (px, py) = (x.value(row, info), y.value(row, info));
            (px.is_finite() && py.is_finite()).then(|| (r, px, py, color.value(row, info), false))
        })
        .collect();
    // The front: better on one axis means larger for scores, smaller for cost.
    let (sx, sy) = (sign(x), sign(y));
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        (sx * points[b].1).total_cmp(&(sx * points[a].1)).then((sy * points[b].2).total_cmp(&(sy * points[a].2)))
    });
    let mut best = f64::NEG_INFINITY;
    for i in order {
        if sy * points[i].2 > best {
            best = sy * points[i].2;
            points[i].4 = true;
        }
    }
    Ok(Scatter { view, x, y, color, points })
}

fn sign(key: Key) -> f64 {
    if key.larger_is_better() { 1.0 } else { -1.0 }
}

pub async fn page(State(app): State<Arc<App>>, Query(pairs): Query<Vec<(String, String)>>) -> Page {
    if let Some(page) = super::table::nothing_yet(&app, "Trade-offs", "/tradeoffs").await? {
        return page;
    }
    let s = scatter(&app, pairs).await?;
    let table = &s.view.table;
    let infos = arch_infos();
    let mut keys = vec![Key::Params, Key::Flops];
    keys.extend((0..table.columns.len()).map(Key::Metric));
    keys.extend(Op::ALL.map(Key::Ops));
    let mut body = format!("<h1>Trade-offs: {}</h1>\n", esc(&table.name));
    // The axes and colour.
    body.push_str("<form method=\"get\" action=\"/tradeoffs\" class=\"inline\" id=\"axes\">");
    for (k, v) in &s.view.params.pairs {
        if !["x", "y", "color"].contains(&k.as_str()) {
            body.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(k), esc(v)));
        }
    }
    if s.view.params.get("source").is_none() {
        body.push_str(&format!("<input type=\"hidden\" name=\"source\" value=\"{}\">", esc(&table.name)));
    }
    for (name, label, chosen) in [("x", "x", s.x), ("y", "y", s.y), ("color", "colour", s.color)] {
        body.push_str(&format!(
            "<label>{label} <select name=\"{name}\" id=\"{name}\" onchange=\"this.form.submit()\">"
        ));
        for key in &keys {
            let selected = if *key == chosen { " selected" } else { "" };
            let k = key.name(table);
            body.push_str(&format!("<option value=\"{}\"{selected}>{}</option>", esc(&k), esc(&k)));
        }
        body.push_str("</select></label> ");
    }
    body.push_str("<noscript><button>plot</button></noscript></form>\n");
    let axes: Vec<(&str, Option<String>)> =
        vec![("x", Some(s.x.name(table))), ("y", Some(s.y.name(table))), ("color", Some(s.color.name(table)))];
    body.push_str(&filter_form(&s.view, "/tradeoffs", &axes));
    let front: Vec<&(usize, f64, f64, f64, bool)> = s.points.iter().filter(|p| p.4).collect();
    body.push_str(&format!(
        "<p class=\"summary\"><b id=\"count\">{}</b> architectures plotted ({} kept by the filter), <b>{}</b> on the \
         Pareto front ({} {}, {} {}) · <a href=\"{}\">as JSON</a> · <a href=\"{}\">as a table</a></p>\n",
        s.points.len(),
        s.view.rows.len(),
        front.len(),
        if s.x.larger_is_better() { "max" } else { "min" },
        esc(&s.x.name(table)),
        if s.y.larger_is_better() { "max" } else { "min" },
        esc(&s.y.name(table)),
        esc(&link("/tradeoffs.json", &s.view.params.pairs)),
        esc(&link("/table", &with(&s.view.params.pairs, &[("x", None), ("y", None), ("color", None)]))),
    ));
    body.push_str(&svg(&s));
    // The front as a table.
    body.push_str("<h2>Pareto front</h2><table class=\"bench\" id=\"front\"><thead><tr><th>#</th><th>cell</th>");
    body.push_str(&format!(
        "<th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(&s.x.name(table)),
        esc(&s.y.name(table)),
        esc(&s.color.name(table))
    ));
    let mut sorted = front.clone();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    for p in sorted {
        let index = table.rows[p.0].index;
        body.push_str(&format!(
            "<tr><td><a href=\"/arch/{index}\">{index}</a></td><td><code title=\"{}\">{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&infos[index].text),
            esc(&short(&infos[index].arch)),
            html::value(p.1),
            html::value(p.2),
            html::value(p.3)
        ));
    }
    body.push_str("</tbody></table>\n");
    Ok(Html(html::page("Trade-offs", "/tradeoffs", &body)).into_response())
}

fn svg(s: &Scatter) -> String {
    let table = &s.view.table;
    let infos = arch_infos();
    let range = |values: Vec<f64>| {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    };
    let (x0, x1) = range(s.points.iter().map(|p| p.1).collect());
    let (y0, y1) = range(s.points.iter().map(|p| p.2).collect());
    let (c0, c1) = range(s.points.iter().map(|p| p.3).filter(|v| v.is_finite()).collect());
    let frame = Frame { left: 70.0, top: 20.0, width: 700.0, height: 460.0, x: padded(x0, x1), y: padded(y0, y1) };
    let colour = |v: f64| {
        if !v.is_finite() {
            "#999999".to_string()
        } else if c1 > c0 {
            viridis((v - c0) / (c1 - c0))
        } else {
            viridis(0.5)
        }
    };
    let (xn, yn, cn) = (esc(&s.x.name(table)), esc(&s.y.name(table)), esc(&s.color.name(table)));
    let mut out = format!(
        "<div class=\"scatter-wrap\"><svg class=\"plot scatter\" id=\"scatter\" viewBox=\"0 0 900 540\" width=\"900\" height=\"540\" role=\"img\">\
         <title>{yn} vs {xn}</title>"
    );
    out.push_str(&frame.axes(&s.x.label(table), &s.y.label(table)));
    out.push_str("<g class=\"plot-area\">");
    out.push_str(&frame.rect());
    let point = |p: &(usize, f64, f64, f64, bool), class: &str, r: f64| {
        let index = table.rows[p.0].index;
        format!(
            "<a href=\"/arch/{index}\"><circle class=\"{class}\" data-index=\"{index}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"{}\">\
             <title>#{index} {}\n{xn} {} · {yn} {} · {cn} {}</title></circle></a>",
            frame.px(p.1),
            frame.py(p.2),
            colour(p.3),
            infos[index].text,
            html::value(p.1),
            html::value(p.2),
            html::value(p.3)
        )
    };
    for p in s.points.iter().filter(|p| !p.4) {
        out.push_str(&point(p, "pt", 2.6));
    }
    // The front on top: a staircase through its points, then the points.
    let mut front: Vec<&(usize, f64, f64, f64, bool)> = s.points.iter().filter(|p| p.4).collect();
    front.sort_by(|a, b| a.1.total_cmp(&b.1));
    let stairs: Vec<String> = front.iter().map(|p| format!("{:.1},{:.1}", frame.px(p.1), frame.py(p.2))).collect();
    if stairs.len() > 1 {
        out.push_str(&format!("<polyline class=\"front-line\" points=\"{}\"/>", stairs.join(" ")));
    }
    for p in &front {
        out.push_str(&point(p, "pt front", 4.5));
    }
    out.push_str("</g>");
    // The colour scale.
    out.push_str(&format!(
        "<g class=\"legend\"><defs><linearGradient id=\"scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">{}</linearGradient></defs>\
         <text x=\"800\" y=\"30\">{}</text><rect x=\"800\" y=\"40\" width=\"16\" height=\"300\" fill=\"url(#scale)\"/>\
         <text x=\"822\" y=\"50\">{}</text><text x=\"822\" y=\"340\">{}</text>\
         <circle cx=\"808\" cy=\"370\" r=\"4.5\" class=\"front\" fill=\"#fff\"/><text x=\"822\" y=\"374\">Pareto front</text></g>",
        (0..=10).map(|i| format!("<stop offset=\"{}\" stop-color=\"{}\"/>", i as f64 / 10.0, viridis(i as f64 / 10.0))).collect::<String>(),
        esc(&truncate(&s.color.name(table), 14)),
        html::value(c1),
        html::value(c0),
    ));
    out.push_str("</svg><div id=\"tip\" class=\"tip\" hidden></div></div>\n");
    out
}

fn truncate(text: &str, n: usize) -> String {
    if text.chars().count() <= n { text.to_string() } else { text.chars().take(n - 1).chain(['…']).collect() }
}

/// `/tradeoffs.json`: the same points as data. Written straight into one
/// string: a `serde_json::Value` per point cost most of the request.
pub async fn json(State(app): State<Arc<App>>, Query(pairs): Query<Vec<(String, String)>>) -> Page {
    use std::fmt::Write as _;
    let s = scatter(&app, pairs).await?;
    let table = &s.view.table;
    let infos = arch_infos();
    let text = |t: &str| serde_json::Value::from(t).to_string();
    // Rust prints the shortest form that reads back as the same f64; JSON has no NaN.
    let number = |v: f64| if v.is_finite() { format!("{v}") } else { "null".to_string() };
    let mut body = format!(
        "{{\"source\":{},\"x\":{},\"y\":{},\"color\":{},\"points\":[",
        text(&table.name),
        text(&s.x.name(table)),
        text(&s.y.name(table)),
        text(&s.color.name(table))
    );
    for (i, p) in s.points.iter().enumerate() {
        let index = table.rows[p.0].index;
        let _ = write!(
            body,
            "{}{{\"index\":{index},\"cell\":{},\"x\":{},\"y\":{},\"color\":{},\"front\":{}}}",
            if i == 0 { "" } else { "," },
            text(&infos[index].text),
            number(p.1),
            number(p.2),
            number(p.3),
            p.4
        );
    }
    body.push_str("]}");
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
