//! An architecture's page (`/arch/{index}`, or a cell string instead of
//! the index): the cell as a DAG, its isomorphism class, every metric of
//! every source with its rank, ε sweeps, what the run measured (training
//! curves, NTK scores, bounds, alerts, checkpoints) and the one-edge
//! neighbours. `?source=` picks the source the neighbours are compared in.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use robbench_space::{Arch, EDGES, ModelShape, Op, SPACE_SIZE, Space, cost};

use super::app::App;
use super::data::{self, SourceTable, arch_infos, batches, blocking, class_members, floats, ints, short, strings};
use super::html::{self, Html, esc};
use super::http_error::{HttpError, Page};
use super::plot::{Series, line_plot};
use super::table::Params;

/// The index a path names: a number, or a cell string (redirected to its index).
fn parse(text: &str) -> Result<Result<usize, Arch>, HttpError> {
    if text.chars().all(|c| c.is_ascii_digit()) && !text.is_empty() {
        return match text.parse::<usize>() {
            Ok(i) if i < SPACE_SIZE => Ok(Ok(i)),
            _ => Err(HttpError::bad_request(format!(
                "architecture index {text} is out of range: NAS-Bench-201 numbers its cells 0 to {}",
                SPACE_SIZE - 1
            ))),
        };
    }
    text.parse::<Arch>().map(Err).map_err(|e| {
        HttpError::bad_request(format!(
            "`{}` is neither an architecture index (0 to {}) nor a cell string ({e})",
            text.chars().take(200).collect::<String>(),
            SPACE_SIZE - 1
        ))
    })
}

pub async fn page(
    State(app): State<Arc<App>>,
    Path(index): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Page {
    let params = Params::new(pairs, &["source"], &[])?;
    let space = Space::nb201();
    let index = match parse(&index)? {
        Ok(i) => i,
        Err(arch) => return Ok(Redirect::to(&format!("/arch/{}", space.index_of(&arch))).into_response()),
    };
    let arch = space.arch(index).map_err(|e| HttpError::bad_request(e.to_string()))?;
    let rep = space.unique_index(index).map_err(|e| HttpError::bad_request(e.to_string()))?;
    let members = class_members(rep);
    let tables = app.data.all_tables(&app.catalog).await?;
    let chosen = match params.get("source") {
        Some(name) => Some(app.data.table(&app.catalog, Some(name)).await?),
        None => {
            let sources = app.data.sources(&app.catalog).await?;
            match data::default_source(&sources) {
                Some(name) => Some(app.data.table(&app.catalog, Some(&name)).await?),
                None => None,
            }
        }
    };
    let catalog = app.catalog.clone();
    let list: Vec<usize> = members.to_vec();
    let run = blocking(move || RunData::load(&catalog, &list)).await?;

    let info = &arch_infos()[index];
    let mut body = format!(
        "<h1>Architecture {index}</h1>\n<p class=\"cell\"><code id=\"cell\">{}</code> <span class=\"muted\">({})</span></p>\n",
        esc(&info.text),
        esc(&short(&arch))
    );
    body.push_str("<div class=\"row\"><div>");
    body.push_str(&dag(&arch));
    body.push_str("</div><div>");
    // Class and cost.
    body.push_str("<h2>Isomorphism class</h2>");
    if rep == index {
        body.push_str(&format!("<p>{index} represents its class of {} cell(s)", members.len()));
    } else {
        body.push_str(&format!(
            "<p>Isomorphic to <a href=\"/arch/{rep}\">{rep}</a>, the representative of its class of {} cells \
             (benchmarks report the class under {rep})",
            members.len()
        ));
    }
    body.push_str(": <span class=\"members\" id=\"members\">");
    for &m in members.iter().take(300) {
        let class = if m == index { " class=\"current\"" } else { "" };
        body.push_str(&format!("<a href=\"/arch/{m}\"{class}>{m}</a> "));
    }
    if members.len() > 300 {
        body.push_str(&format!("… and {} more", members.len() - 300));
    }
    body.push_str("</span></p>\n<h2>Cost</h2><table class=\"small\"><tr><th>skeleton (C = 16, N = 5)</th><th>parameters</th><th>MFLOPs</th></tr>");
    for (name, classes, size) in [("CIFAR-10", 10, 32), ("CIFAR-100", 100, 32), ("ImageNet16-120", 120, 16)] {
        let c = cost(&arch, &ModelShape::nb201(classes, size));
        body.push_str(&format!("<tr><td>{name}</td><td>{}</td><td>{:.2}</td></tr>", c.params, c.flops));
    }
    body.push_str("</table></div></div>\n");

    // Every metric of every source, with ranks.
    body.push_str("<h2>Metrics</h2>\n");
    let mut any = false;
    for table in &tables {
        let Some(row) = table.row(rep) else { continue };
        any = true;
        body.push_str(&format!(
            "<h3>{}</h3><table class=\"metrics\" data-source=\"{}\"><thead><tr><th>dataset</th><th>metric</th><th>value</th>\
             <th>rank</th><th>of</th><th>top</th></tr></thead><tbody>",
            esc(&table.name),
            esc(&table.name)
        ));
        for (c, column) in table.columns.iter().enumerate() {
            let v = row.values[c];
            if v.is_nan() {
                continue;
            }
            let (rank, n) = table.rank(c, v);
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{rank}</td><td>{n}</td><td>{}</td></tr>",
                esc(&column.dataset),
                esc(&column.metric),
                html::value(v),
                share(rank, n)
            ));
        }
        body.push_str("</tbody></table>\n");
    }
    if !any {
        body.push_str("<p class=\"muted\">No source of this store has values for this class.</p>\n");
    }
    body.push_str(
        "<p class=\"note\">Rank 1 is the largest value among the source's architectures (for accuracies, \
         the best); \"top\" is the rank as a share of them.</p>\n",
    );

    // ε sweeps of the sources.
    let mut sweeps = String::new();
    for table in &tables {
        if let Some(row) = table.row(rep) {
            for plot in sweep_plots(table, &row.values) {
                sweeps.push_str(&plot);
            }
        }
    }
    for plot in run.sweep_plots() {
        sweeps.push_str(&plot);
    }
    if !sweeps.is_empty() {
        body.push_str(&format!("<h2>Accuracy against ε</h2><div class=\"plots\">{sweeps}</div>\n"));
    }
    body.push_str(&run.render(&app.store, index));
    if let Some(table) = chosen {
        body.push_str(&neighbours(&table, &arch, index));
    }
    Ok(Html(html::page(&format!("Architecture {index}"), "", &body)).into_response())
}

/// `rank` of `n` as a share: `0.046 %`, `12.4 %`.
fn share(rank: usize, n: usize) -> String {
    let p = 100.0 * rank as f64 / n.max(1) as f64;
    if p < 1.0 { format!("{p:.3} %") } else { format!("{p:.1} %") }
}

/// The cell as a DAG: four nodes, six edges labelled with their operation.
fn dag(arch: &Arch) -> String {
    let x = |node: usize| 50.0 + node as f64 * 150.0;
    let y = 145.0;
    let mut out = String::from(
        "<svg class=\"dag\" id=\"dag\" viewBox=\"0 0 560 260\" width=\"560\" height=\"260\" role=\"img\"><title>the cell as a graph</title>\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>",
    );
    for (e, &(to, from)) in EDGES.iter().enumerate() {
        let op = arch.edges()[e];
        // Adjacent nodes: a straight edge; longer ones arc above or below.
        let bend = match (from, to) {
            (0, 2) => -70.0,
            (1, 3) => 70.0,
            (0, 3) => -115.0,
            _ => 0.0,
        };
        let (x1, x2) = (x(from) + 18.0, x(to) - 18.0);
        let (mx, my) = ((x1 + x2) / 2.0, y + bend * 2.0);
        let colour = op_colour(op);
        let dash = if op == Op::None { " stroke-dasharray=\"5 4\"" } else { "" };
        out.push_str(&format!(
            "<path class=\"edge\" data-edge=\"{from}-{to}\" d=\"M {x1:.0} {y:.0} Q {mx:.0} {my:.0} {x2:.0} {y:.0}\" fill=\"none\" \
             stroke=\"{colour}\" stroke-width=\"2.2\"{dash} marker-end=\"url(#arrow)\"/>"
        ));
        let offset = match bend {
            b if b < 0.0 => -4.0,
            b if b > 0.0 => 14.0,
            _ => -8.0,
        };
        let label_y = y + bend + offset;
        out.push_str(&format!(
            "<text class=\"op\" x=\"{mx:.0}\" y=\"{label_y:.0}\" text-anchor=\"middle\" fill=\"{colour}\">{}</text>",
            op.name()
        ));
    }
    for node in 0..4 {
        let label = match node {
            0 => "in",
            3 => "out",
            _ => "",
        };
        out.push_str(&format!(
            "<circle cx=\"{:.0}\" cy=\"{y:.0}\" r=\"18\" class=\"node\"/><text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" class=\"node-label\">{node}</text>\
             <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" class=\"muted\">{label}</text>",
            x(node),
            x(node),
            y + 5.0,
            x(node),
            y + 36.0
        ));
    }
    out.push_str("</svg>");
    out
}

fn op_colour(op: Op) -> &'static str {
    match op {
        Op::None => "#aaaaaa",
        Op::SkipConnect => "#4e79a7",
        Op::NorConv1x1 => "#f28e2b",
        Op::NorConv3x3 => "#e15759",
        Op::AvgPool3x3 => "#59a14f",
    }
}

/// A source's accuracy against ε per dataset: one line per attack, from
/// clean (ε = 0) on, where an attack has values at some ε.
fn sweep_plots(table: &SourceTable, values: &[f64]) -> Vec<String> {
    let mut out = Vec::new();
    for dataset in table.datasets() {
        let clean = table.columns.iter().position(|c| c.dataset == dataset && c.attack == "clean").map(|c| values[c]);
        let mut by_attack: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
        for (c, column) in table.columns.iter().enumerate() {
            if column.dataset == dataset
                && column.attack != "clean"
                && !values[c].is_nan()
                && let Some(eps) = column.eps.filter(|e| *e > 0.0 && *e < 64.0)
            {
                by_attack.entry(&column.attack).or_default().push((eps, values[c]));
            }
        }
        if by_attack.is_empty() {
            continue;
        }
        let series: Vec<Series> = by_attack
            .into_iter()
            .map(|(attack, mut points)| {
                if let Some(clean) = clean.filter(|v| !v.is_nan()) {
                    points.push((0.0, clean));
                }
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series::new(attack, points)
            })
            .collect();
        out.push(line_plot(&format!("{} · {dataset}", table.name), "ε (/255)", "accuracy", &series));
    }
    out
}

/// A trained network: architecture, dataset, seed.
type Net = (i64, String, i64);

/// What the run measured for the class's members.
struct RunData {
    evaluations: Vec<RecordBatch>,
    training: Vec<RecordBatch>,
    ntk: Vec<RecordBatch>,
    bounds: Vec<RecordBatch>,
    alerts: Vec<RecordBatch>,
    models: Vec<RecordBatch>,
}

impl RunData {
    fn load(catalog: &Arc<robbench_pipeline::sql::Catalog>, members: &[usize]) -> anyhow::Result<RunData> {
        let list: Vec<String> = members.iter().map(usize::to_string).collect();
        let within = format!("arch_index IN ({})", list.join(", "));
        let q = |sql: String| batches(catalog, &sql);
        Ok(RunData {
            evaluations: q(format!(
                "SELECT arch_index, dataset, seed, attack, eps, accuracy FROM evaluations WHERE {within} \
                 ORDER BY arch_index, dataset, seed, attack, eps"
            ))?,
            training: q(format!(
                "SELECT arch_index, dataset, seed, epoch, loss, train_clean_acc, train_adv_acc FROM training \
                 WHERE {within} ORDER BY arch_index, dataset, seed, epoch"
            ))?,
            ntk: q(format!(
                "SELECT arch_index, dataset, seed, weights, kernel, beta, n_samples, lambda_min, lambda_max, trace, \
                 condition FROM ntk WHERE {within} ORDER BY arch_index, dataset, seed, weights, kernel, beta"
            ))?,
            bounds: q(format!(
                "SELECT arch_index, dataset, seed, weights, beta, n_samples, clean_bound, robust_bound, \
                 clean_lambda_bound, robust_lambda_bound FROM bounds WHERE {within} \
                 ORDER BY arch_index, dataset, seed, weights, beta"
            ))?,
            alerts: q(format!(
                "SELECT arch_index, dataset, seed, kind, detail FROM alerts WHERE {within} ORDER BY arch_index, dataset, seed"
            ))?,
            models: q(format!(
                "SELECT arch_index, dataset, seed, checkpoint, params FROM models WHERE {within} \
                 ORDER BY arch_index, dataset, seed"
            ))?,
        })
    }

    /// Accuracy against ε of each trained network: one line per attack.
    fn sweep_plots(&self) -> Vec<String> {
        let mut nets: BTreeMap<Net, BTreeMap<String, Vec<(f64, f64)>>> = BTreeMap::new();
        let mut clean: BTreeMap<Net, f64> = BTreeMap::new();
        for b in &self.evaluations {
            let (a, d, s, attack, eps, acc) =
                match (ints(b, 0), strings(b, 1), ints(b, 2), strings(b, 3), floats(b, 4), floats(b, 5)) {
                    (Ok(a), Ok(d), Ok(s), Ok(t), Ok(e), Ok(v)) => (a, d, s, t, e, v),
                    _ => continue,
                };
            for r in 0..b.num_rows() {
                let net = (a[r].unwrap_or(-1), d[r].clone().unwrap_or_default(), s[r].unwrap_or(-1));
                let attack = attack[r].clone().unwrap_or_default();
                if attack == "clean" {
                    clean.insert(net, acc[r]);
                } else if eps[r] > 0.0 {
                    nets.entry(net).or_default().entry(attack).or_default().push((eps[r], acc[r]));
                }
            }
        }
        nets.into_iter()
            .take(6)
            .map(|(net, attacks)| {
                let series: Vec<Series> = attacks
                    .into_iter()
                    .map(|(attack, mut points)| {
                        if let Some(&c) = clean.get(&net) {
                            points.push((0.0, c));
                        }
                        points.sort_by(|a, b| a.0.total_cmp(&b.0));
                        Series::new(attack, points)
                    })
                    .collect();
                line_plot(&format!("this run · {} {} seed {}", net.0, net.1, net.2), "ε (/255)", "accuracy", &series)
            })
            .collect()
    }

    fn render(&self, store: &std::path::Path, index: usize) -> String {
        let mut out = String::new();
        // Training curves, per trained network.
        // (epoch, loss, clean accuracy, adversarial accuracy) per network.
        let mut curves: BTreeMap<Net, Vec<[f64; 4]>> = BTreeMap::new();
        for b in &self.training {
            if let (Ok(a), Ok(d), Ok(s), Ok(e), Ok(l), Ok(c), Ok(v)) =
                (ints(b, 0), strings(b, 1), ints(b, 2), floats(b, 3), floats(b, 4), floats(b, 5), floats(b, 6))
            {
                for r in 0..b.num_rows() {
                    let net = (a[r].unwrap_or(-1), d[r].clone().unwrap_or_default(), s[r].unwrap_or(-1));
                    curves.entry(net).or_default().push([e[r], l[r], c[r], v[r]]);
                }
            }
        }
        if !curves.is_empty() {
            out.push_str("<h2>Training curves (this run)</h2><div class=\"plots\">");
            for (net, points) in curves.iter().take(6) {
                let name = format!("{} {} seed {}", net.0, net.1, net.2);
                out.push_str(&line_plot(
                    &format!("accuracy · {name}"),
                    "epoch",
                    "training accuracy",
                    &[
                        Series::new("clean batches", points.iter().map(|p| (p[0], p[2])).collect()),
                        Series::new("adversarial (PGD)", points.iter().map(|p| (p[0], p[3])).collect()),
                    ],
                ));
                out.push_str(&line_plot(
                    &format!("loss · {name}"),
                    "epoch",
                    "training loss",
                    &[Series::new("loss", points.iter().map(|p| (p[0], p[1])).collect())],
                ));
            }
            out.push_str("</div>\n");
        }
        for (title, rows) in [
            ("NTK scores (this run)", &self.ntk),
            ("Generalization bounds (this run)", &self.bounds),
            ("Alerts (this run)", &self.alerts),
        ] {
            if rows.iter().any(|b| b.num_rows() > 0) {
                out.push_str(&format!("<h2>{title}</h2>{}", result_table(rows, 200)));
            }
        }
        // Checkpoints, with how to load them.
        let mut checkpoints: Vec<(String, String)> = Vec::new();
        for b in &self.models {
            if let (Ok(a), Ok(d), Ok(s), Ok(c)) = (ints(b, 0), strings(b, 1), ints(b, 2), strings(b, 3)) {
                for r in 0..b.num_rows() {
                    let Some(relative) = &c[r] else { continue };
                    // Paths are relative to the store; a path leaving it is shown as it is, never joined.
                    let path = if std::path::Path::new(relative)
                        .components()
                        .all(|c| matches!(c, std::path::Component::Normal(_)))
                    {
                        store.join(relative).display().to_string()
                    } else {
                        relative.clone()
                    };
                    let net = format!(
                        "{} {} seed {}",
                        a[r].unwrap_or(-1),
                        d[r].clone().unwrap_or_default(),
                        s[r].unwrap_or(-1)
                    );
                    checkpoints.push((net, path));
                }
            }
        }
        if !checkpoints.is_empty() {
            out.push_str("<h2>Checkpoints (this run)</h2><table class=\"small\" id=\"checkpoints\"><tr><th>network</th><th>file</th></tr>");
            for (net, path) in &checkpoints {
                out.push_str(&format!("<tr><td>{}</td><td><code>{}</code></td></tr>", esc(net), esc(path)));
            }
            out.push_str("</table>\n");
            out.push_str(&format!(
                "<p>Safetensors with NAS-Bench-201's <code>state_dict()</code> names (the guide's \"Checkpoints in \
                 PyTorch\"). From Python, <code>robbench.model({index})</code> returns the network; with \
                 NAS-Bench-201's own model code:</p><pre class=\"code\">{}</pre>\n",
                esc(&snippet(&checkpoints[0].1, index))
            ));
        }
        out
    }
}

fn snippet(path: &str, index: usize) -> String {
    format!(
        "import json, torch\n\
         from safetensors import safe_open\n\
         from safetensors.torch import load_file\n\
         from xautodl.config_utils import dict2config              # NAS-Bench-201's model code\n\
         from xautodl.models import get_cell_based_tiny_net\n\
         from xautodl.models.cell_searchs.genotypes import Structure\n\
         \n\
         path = {path:?}   # architecture {index}\n\
         meta = safe_open(path, \"pt\").metadata()\n\
         net = get_cell_based_tiny_net(dict2config({{\"name\": \"infer.tiny\", \"C\": int(meta[\"C\"]), \"N\": int(meta[\"N\"]),\n\
         \x20       \"genotype\": Structure.str2structure(meta[\"arch\"]), \"num_classes\": int(meta[\"classes\"])}}, None))\n\
         net.load_state_dict(load_file(path))\n\
         mean = torch.tensor(json.loads(meta[\"mean\"])).view(1, 3, 1, 1)\n\
         std = torch.tensor(json.loads(meta[\"std\"])).view(1, 3, 1, 1)\n\
         net.eval()\n\
         _, logits = net((x - mean) / std)       # x: pixels in [0, 1], shape (N, 3, H, W)\n"
    )
}

/// Query results as an HTML table (at most `limit` rows).
pub fn result_table(batches: &[RecordBatch], limit: usize) -> String {
    let Some(first) = batches.first() else { return String::new() };
    let mut out = String::from("<div class=\"scroll\"><table class=\"result\"><thead><tr>");
    for field in first.schema().fields() {
        out.push_str(&format!("<th>{}</th>", esc(field.name())));
    }
    out.push_str("</tr></thead><tbody>");
    let options = FormatOptions::default().with_null("NULL");
    let mut shown = 0;
    'outer: for b in batches {
        let formatters: Vec<_> = b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options)).collect();
        for r in 0..b.num_rows() {
            if shown == limit {
                break 'outer;
            }
            out.push_str("<tr>");
            for f in &formatters {
                let text = match f {
                    Ok(f) => f.value(r).to_string(),
                    Err(_) => "?".into(),
                };
                out.push_str(&format!("<td>{}</td>", esc(&text)));
            }
            out.push_str("</tr>");
            shown += 1;
        }
    }
    out.push_str("</tbody></table></div>\n");
    out
}

/// The cells one edge away, by class, in `table`'s first dataset.
fn neighbours(table: &SourceTable, arch: &Arch, index: usize) -> String {
    let space = Space::nb201();
    let infos = arch_infos();
    let dataset = table.datasets().first().map(|d| d.to_string()).unwrap_or_default();
    let columns: Vec<usize> =
        (0..table.columns.len()).filter(|&c| table.columns[c].dataset == dataset).take(8).collect();
    let own = table.row(space.unique_index(index).expect("in range"));
    let mut out = format!(
        "<h2>Neighbours</h2><p>The 24 cells one edge away (one operation changed), with {} {} of their class; \
         differences are to this cell.</p><div class=\"scroll\"><table class=\"bench\" id=\"neighbours\"><thead><tr>\
         <th>edge</th><th>change</th><th>#</th><th>class</th><th>cell</th>",
        esc(&table.name),
        esc(&dataset)
    );
    for &c in &columns {
        out.push_str(&format!("<th>{}</th>", esc(&table.columns[c].metric)));
    }
    out.push_str("</tr></thead><tbody>");
    for (e, &(to, from)) in EDGES.iter().enumerate() {
        for op in Op::ALL {
            if op == arch.edges()[e] {
                continue;
            }
            let mut edges = arch.edges();
            edges[e] = op;
            let n = space.index_of(&Arch::new(edges));
            let rep = space.unique_index(n).expect("in range");
            let same = rep == space.unique_index(index).expect("in range");
            out.push_str(&format!(
                "<tr{}><td>{from}→{to}</td><td>{} → {}</td><td><a href=\"/arch/{n}\">{n}</a></td><td>{}</td><td><code title=\"{}\">{}</code></td>",
                if same { " class=\"muted\"" } else { "" },
                arch.edges()[e].name(),
                op.name(),
                if same { "same class".to_string() } else { rep.to_string() },
                esc(&infos[n].text),
                esc(&short(&infos[n].arch))
            ));
            let row = table.row(rep);
            for &c in &columns {
                let v = row.map_or(f64::NAN, |r| r.values[c]);
                let base = own.map_or(f64::NAN, |r| r.values[c]);
                let delta = v - base;
                let class = if delta.is_nan() || delta == 0.0 {
                    ""
                } else if delta > 0.0 {
                    " class=\"up\""
                } else {
                    " class=\"down\""
                };
                let shown = if delta.is_nan() { String::new() } else { format!(" ({delta:+.4})") };
                out.push_str(&format!("<td{class}>{}{shown}</td>", html::value(v)));
            }
            out.push_str("</tr>");
        }
    }
    out.push_str("</tbody></table></div>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_an_index_or_a_cell() {
        assert_eq!(parse("1462").unwrap().unwrap(), 1462);
        assert!(parse("15625").is_err());
        assert!(parse("../../etc/passwd").is_err());
        assert!(parse("").is_err());
        let cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
        assert!(parse(cell).unwrap().is_err());
    }

    #[test]
    fn the_dag_draws_six_labelled_edges() {
        let svg = dag(&Space::nb201().arch(1462).unwrap());
        assert_eq!(svg.matches("class=\"edge\"").count(), 6);
        assert_eq!(svg.matches("class=\"node\"").count(), 4);
    }
}
