//! The benchmark table (`/`, `/table`) and its downloads: every architecture
//! of a source, filtered, sorted and paginated on the server; the filter
//! lives in the URL's query.
//!
//! Query parameters: `source`; `sort` (a column key) and `dir` (`asc` or
//! `desc`); `page` and `per`; `cell` (a cell-string pattern: a substring, or
//! a glob with `*` and `?`); `min.<key>` and `max.<key>` for any column.
//! Column keys: `index`, `params`, `flops`, `ops:<op>` (how many edges carry
//! the op) and `<dataset>:<metric>` (e.g. `cifar10:pgd@8`).

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use robbench_space::Op;

use super::app::App;
use super::data::{ArchInfo, ArchRow, SourceTable, arch_infos, short};
use super::html::{self, Html, esc, link, with};
use super::http_error::{HttpError, Page};

/// Most rows one page shows.
pub const MAX_PER_PAGE: usize = 1000;
const DEFAULT_PER_PAGE: usize = 50;

/// A column the filters and the sort can name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Key {
    Index,
    Params,
    Flops,
    Ops(Op),
    Metric(usize),
}

impl Key {
    pub fn parse(table: &SourceTable, text: &str) -> Result<Key, HttpError> {
        match text {
            "index" => return Ok(Key::Index),
            "params" => return Ok(Key::Params),
            "flops" => return Ok(Key::Flops),
            _ => {}
        }
        if let Some(op) = text.strip_prefix("ops:") {
            return op.parse::<Op>().map(Key::Ops).map_err(|e| HttpError::bad_request(format!("column `{text}`: {e}")));
        }
        table.column(text).map(Key::Metric).ok_or_else(|| {
            let keys: Vec<&str> = table.columns.iter().map(|c| c.key.as_str()).collect();
            HttpError::bad_request(format!(
                "unknown column `{text}`; source {} has index, params, flops, ops:<op> and {}",
                table.name,
                keys.join(", ")
            ))
        })
    }

    pub fn name(&self, table: &SourceTable) -> String {
        match self {
            Key::Index => "index".into(),
            Key::Params => "params".into(),
            Key::Flops => "flops".into(),
            Key::Ops(op) => format!("ops:{}", op.name()),
            Key::Metric(c) => table.columns[*c].key.clone(),
        }
    }

    /// How the column is labelled on a page.
    pub fn label(&self, table: &SourceTable) -> String {
        match self {
            Key::Index => "architecture index".into(),
            Key::Params => "parameters (CIFAR-10 skeleton)".into(),
            Key::Flops => "MFLOPs (CIFAR-10 skeleton)".into(),
            Key::Ops(op) => format!("edges with {}", op.name()),
            Key::Metric(c) => format!("{} {}", table.columns[*c].dataset, table.columns[*c].metric),
        }
    }

    pub fn value(&self, row: &ArchRow, info: &ArchInfo) -> f64 {
        match self {
            Key::Index => row.index as f64,
            Key::Params => info.params as f64,
            Key::Flops => info.flops,
            Key::Ops(op) => info.ops[op.index()] as f64,
            Key::Metric(c) => row.values[*c],
        }
    }

    /// Whether larger is better (accuracies, scores) rather than smaller (cost).
    pub fn larger_is_better(&self) -> bool {
        matches!(self, Key::Metric(_))
    }
}

/// A request's query parameters, checked against the names a page takes.
pub struct Params {
    pub pairs: Vec<(String, String)>,
}

impl Params {
    /// `pairs` if every name is one of `names` or starts with one of
    /// `prefixes`, no name comes twice and no value is too long.
    pub fn new(pairs: Vec<(String, String)>, names: &[&str], prefixes: &[&str]) -> Result<Params, HttpError> {
        if pairs.len() > 200 {
            return Err(HttpError::bad_request(format!("{} query parameters: at most 200", pairs.len())));
        }
        for (i, (name, value)) in pairs.iter().enumerate() {
            if !names.contains(&name.as_str()) && !prefixes.iter().any(|p| name.starts_with(p)) {
                let mut known: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                known.extend(prefixes.iter().map(|p| format!("{p}<column>")));
                return Err(HttpError::bad_request(format!(
                    "unknown query parameter `{name}`; this page takes {}",
                    known.join(", ")
                )));
            }
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(HttpError::bad_request(format!("query parameter `{name}` is given twice")));
            }
            if value.len() > 100_000 {
                return Err(HttpError::bad_request(format!("query parameter `{name}` is too long")));
            }
        }
        // Empty fields of a form mean "not set".
        Ok(Params { pairs: pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect() })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim())
    }

    /// A whole number in `range`, or `default`.
    pub fn number(
        &self,
        name: &str,
        default: usize,
        range: std::ops::RangeInclusive<usize>,
    ) -> Result<usize, HttpError> {
        let Some(text) = self.get(name) else { return Ok(default) };
        match text.parse::<usize>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(HttpError::bad_request(format!(
                "`{name}={text}`: expected a whole number from {} to {}",
                range.start(),
                range.end()
            ))),
        }
    }
}

/// Which rows a filter keeps: a cell pattern and value ranges.
pub struct Filter {
    pub cell: Option<String>,
    pub ranges: Vec<(Key, f64, f64)>,
}

impl Filter {
    pub const NAMES: [&str; 1] = ["cell"];
    pub const PREFIXES: [&str; 2] = ["min.", "max."];

    pub fn parse(table: &SourceTable, params: &Params) -> Result<Filter, HttpError> {
        let cell = params.get("cell").map(str::to_string);
        if let Some(pattern) = &cell
            && (pattern.len() > 200 || !pattern.chars().all(|c| c.is_ascii_alphanumeric() || "|~+_*?".contains(c)))
        {
            return Err(HttpError::bad_request(format!(
                "cell pattern `{pattern}`: use at most 200 of the characters of a cell string \
                 (letters, digits, | ~ + _) and the wildcards * and ?"
            )));
        }
        let mut ranges: Vec<(Key, f64, f64)> = Vec::new();
        for (name, text) in &params.pairs {
            let (is_min, key) = match (name.strip_prefix("min."), name.strip_prefix("max.")) {
                (Some(key), _) => (true, key),
                (_, Some(key)) => (false, key),
                _ => continue,
            };
            let key = Key::parse(table, key)?;
            let bound: f64 = text.trim().parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| {
                HttpError::bad_request(format!("`{name}={text}`: expected a number, e.g. 0.45 or 1e6"))
            })?;
            let at = match ranges.iter().position(|(k, _, _)| *k == key) {
                Some(at) => at,
                None => {
                    ranges.push((key, f64::NEG_INFINITY, f64::INFINITY));
                    ranges.len() - 1
                }
            };
            if is_min {
                ranges[at].1 = bound;
            } else {
                ranges[at].2 = bound;
            }
        }
        Ok(Filter { cell, ranges })
    }

    pub fn keeps(&self, row: &ArchRow, info: &ArchInfo) -> bool {
        if let Some(pattern) = &self.cell
            && !cell_matches(pattern, &info.text)
        {
            return false;
        }
        self.ranges.iter().all(|(key, lo, hi)| {
            let v = key.value(row, info);
            !v.is_nan() && *lo <= v && v <= *hi
        })
    }

    pub fn is_empty(&self) -> bool {
        self.cell.is_none() && self.ranges.is_empty()
    }
}

/// A substring of the cell string, or (with `*` or `?`) a glob over all of it.
pub fn cell_matches(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return text.contains(pattern);
    }
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == b'?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == b'*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

/// A request for the table: the source, its filter and order, the page.
pub struct View {
    pub table: Arc<SourceTable>,
    pub params: Params,
    pub filter: Filter,
    pub sort: Key,
    pub descending: bool,
    /// Rows (positions in `table.rows`) the filter keeps, in order.
    pub rows: Vec<usize>,
}

impl View {
    pub async fn new(app: &App, pairs: Vec<(String, String)>, names: &[&str]) -> Result<View, HttpError> {
        let mut all: Vec<&str> = vec!["source", "sort", "dir"];
        all.extend(Filter::NAMES);
        all.extend(names);
        let params = Params::new(pairs, &all, &Filter::PREFIXES)?;
        let table = app.data.table(&app.catalog, params.get("source")).await?;
        let filter = Filter::parse(&table, &params)?;
        let sort = match params.get("sort") {
            Some(key) => Key::parse(&table, key)?,
            None => Key::Index,
        };
        let descending = match params.get("dir") {
            None => sort.larger_is_better(),
            Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(HttpError::bad_request(format!("`dir={other}`: expected asc or desc"))),
        };
        let infos = arch_infos();
        let mut rows: Vec<usize> =
            (0..table.rows.len()).filter(|&r| filter.keeps(&table.rows[r], &infos[table.rows[r].index])).collect();
        let value = |r: usize| sort.value(&table.rows[r], &infos[table.rows[r].index]);
        rows.sort_by(|&a, &b| {
            let (x, y) = (value(a), value(b));
            // Missing values last, either way.
            match (x.is_nan(), y.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if descending => y.total_cmp(&x),
                _ => x.total_cmp(&y),
            }
            .then(table.rows[a].index.cmp(&table.rows[b].index))
        });
        Ok(View { table, params, filter, sort, descending, rows })
    }
}

/// The page of a store with nothing to show yet, or `None`.
pub async fn nothing_yet(app: &App, title: &str, current: &str) -> Result<Option<Page>, HttpError> {
    if !app.data.sources(&app.catalog).await?.is_empty() {
        return Ok(None);
    }
    let body = format!(
        "<h1>{}</h1>\n<p id=\"empty\">This store holds no benchmark and no evaluations yet. \
         <code>robbench import nasrobbench201-html</code> imports the shipped NAS-RobBench-201 \
         (<code>robbench import nas-bench-201</code>, <code>robustness-dataset</code> and <code>zero-cost</code> \
         the other published tables); <code>robbench run</code> trains and evaluates networks.</p>",
        esc(title)
    );
    Ok(Some(Ok(Html(html::page(title, current, &body)).into_response())))
}

pub async fn page(State(app): State<Arc<App>>, Query(pairs): Query<Vec<(String, String)>>) -> Page {
    if let Some(page) = nothing_yet(&app, "Benchmark", "/table").await? {
        return page;
    }
    let view = View::new(&app, pairs, &["page", "per"]).await?;
    let per = view.params.number("per", DEFAULT_PER_PAGE, 1..=MAX_PER_PAGE)?;
    let pages = view.rows.len().div_ceil(per).max(1);
    let page = view.params.number("page", 1, 1..=usize::MAX)?;
    if page > pages {
        return Err(HttpError::bad_request(format!(
            "page {page} of {pages}: the filter keeps {} rows",
            view.rows.len()
        )));
    }
    let sources = app.data.sources(&app.catalog).await?;
    Ok(Html(html::page("Benchmark", "/table", &render(&view, &sources, page, per, pages))).into_response())
}

fn render(view: &View, sources: &[super::data::SourceInfo], page: usize, per: usize, pages: usize) -> String {
    let table = &view.table;
    let pairs = &view.params.pairs;
    let infos = arch_infos();
    let mut out = String::new();
    out.push_str(&format!("<h1>Benchmark: {}</h1>\n", esc(&table.name)));
    // The source.
    out.push_str("<form method=\"get\" action=\"/table\" class=\"inline\">source <select name=\"source\" id=\"source\" onchange=\"this.form.submit()\">");
    for s in sources {
        let selected = if s.name == table.name { " selected" } else { "" };
        out.push_str(&format!(
            "<option value=\"{}\"{selected}>{} ({} architectures)</option>",
            esc(&s.name),
            esc(&s.name),
            s.archs
        ));
    }
    out.push_str("</select> <noscript><button>show</button></noscript></form>\n");
    out.push_str(&filter_form(view, "/table", &[("per", Some(per.to_string()))]));
    // What matched, and the downloads.
    let download = with(pairs, &[("page", None), ("per", None)]);
    out.push_str(&format!(
        "<p class=\"summary\"><b id=\"count\">{}</b> of {} architectures match · page {page} of {pages} · \
         download <a href=\"{}\" id=\"csv\">CSV</a> · <a href=\"{}\">Parquet</a> · \
         <a href=\"{}\">plot these</a></p>\n",
        view.rows.len(),
        table.rows.len(),
        esc(&link("/table.csv", &download)),
        esc(&link("/table.parquet", &download)),
        esc(&link("/tradeoffs", &with(&download, &[("sort", None), ("dir", None)]))),
    ));
    // The table, with sortable headers.
    let header = |key: Key, text: &str, class: &str| {
        let name = key.name(table);
        let (arrow, dir) = if view.sort == key {
            (if view.descending { " ▼" } else { " ▲" }, if view.descending { "asc" } else { "desc" })
        } else {
            ("", if key.larger_is_better() { "desc" } else { "asc" })
        };
        let href = link("/table", &with(pairs, &[("sort", Some(name.as_str())), ("dir", Some(dir)), ("page", None)]));
        format!(
            "<th{class} title=\"{}\"><a href=\"{}\" data-sort=\"{}\">{}{arrow}</a></th>",
            esc(&key.label(table)),
            esc(&href),
            esc(&name),
            esc(text)
        )
    };
    out.push_str("<div class=\"scroll\"><table class=\"bench\" id=\"bench\"><thead><tr>");
    out.push_str(&header(Key::Index, "#", " rowspan=\"2\""));
    out.push_str("<th rowspan=\"2\">cell</th>");
    out.push_str(&header(Key::Params, "params", " rowspan=\"2\""));
    out.push_str(&header(Key::Flops, "MFLOPs", " rowspan=\"2\""));
    for dataset in table.datasets() {
        let n = table.columns.iter().filter(|c| c.dataset == dataset).count();
        out.push_str(&format!("<th colspan=\"{n}\" class=\"group\">{}</th>", esc(dataset)));
    }
    out.push_str("</tr><tr>");
    for (c, column) in table.columns.iter().enumerate() {
        out.push_str(&header(Key::Metric(c), &column.metric, ""));
    }
    out.push_str("</tr></thead><tbody>\n");
    for &r in view.rows.iter().skip((page - 1) * per).take(per) {
        let row = &table.rows[r];
        let info = &infos[row.index];
        out.push_str(&format!(
            "<tr><td><a href=\"/arch/{0}\">{0}</a></td><td><code title=\"{1}\">{2}</code></td><td>{3}</td><td>{4:.2}</td>",
            row.index,
            esc(&info.text),
            esc(&short(&info.arch)),
            html::params(info.params),
            info.flops
        ));
        for v in &row.values {
            out.push_str(&format!("<td>{}</td>", html::value(*v)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    // Pages.
    let to = |p: usize| esc(&link("/table", &with(pairs, &[("page", Some(p.to_string().as_str()))])));
    out.push_str("<nav class=\"pages\">");
    if page > 1 {
        out.push_str(&format!(
            "<a href=\"{}\">« first</a> <a href=\"{}\" rel=\"prev\">‹ previous</a> ",
            to(1),
            to(page - 1)
        ));
    }
    out.push_str(&format!("page {page} of {pages}"));
    if page < pages {
        out.push_str(&format!(
            " <a href=\"{}\" rel=\"next\">next ›</a> <a href=\"{}\">last »</a>",
            to(page + 1),
            to(pages)
        ));
    }
    out.push_str("</nav>\n");
    out.push_str(
        "<p class=\"note\">Cells: one letter per edge, grouped by the node it enters (0 none, S skip, \
         1 1×1 conv, 3 3×3 conv, P 3×3 avg-pool); hover for the cell string. Values are means over the \
         source's seeds, accuracies as fractions; parameters and FLOPs in NAS-Bench-201's CIFAR-10 \
         skeleton. Isomorphic cells share one row, under their class's smallest index.</p>\n",
    );
    out
}

/// The filter as a form: the cell pattern and a min/max pair per column.
/// Hidden fields keep `source`, the order and `extra`.
pub fn filter_form(view: &View, action: &str, extra: &[(&str, Option<String>)]) -> String {
    let table = &view.table;
    let mut hidden: Vec<(String, String)> = vec![("source".into(), table.name.clone())];
    for key in ["sort", "dir"] {
        if let Some(v) = view.params.get(key) {
            hidden.push((key.into(), v.into()));
        }
    }
    for (k, v) in extra {
        if let Some(v) = v {
            hidden.push((k.to_string(), v.clone()));
        }
    }
    let mut out = format!(
        "<details class=\"filters\"{}><summary>Filter{}</summary>\n<form method=\"get\" action=\"{action}\" id=\"filter\" class=\"filter\">",
        if view.filter.is_empty() { "" } else { " open" },
        if view.filter.is_empty() { String::new() } else { " (active)".into() }
    );
    for (k, v) in &hidden {
        out.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(k), esc(v)));
    }
    out.push_str(&format!(
        "<label class=\"wide\">cell pattern <input name=\"cell\" id=\"cell\" value=\"{}\" size=\"40\" \
         placeholder=\"*|nor_conv_3x3~0|+*  or  skip_connect~2\"></label>\n<div class=\"ranges\">",
        esc(view.params.get("cell").unwrap_or(""))
    ));
    let mut keys = vec![Key::Params, Key::Flops];
    keys.extend(Op::ALL.map(Key::Ops));
    keys.extend((0..table.columns.len()).map(Key::Metric));
    for key in keys {
        let name = key.name(table);
        let field = |bound: &str| {
            let n = format!("{bound}.{name}");
            format!(
                "<input name=\"{}\" value=\"{}\" size=\"7\" inputmode=\"decimal\" placeholder=\"{bound}\">",
                esc(&n),
                esc(view.params.get(&n).unwrap_or(""))
            )
        };
        out.push_str(&format!(
            "<label title=\"{}\"><span>{}</span>{}{}</label>",
            esc(&key.label(table)),
            esc(&name),
            field("min"),
            field("max")
        ));
    }
    out.push_str(&format!(
        "</div>\n<button type=\"submit\" id=\"apply\">Apply</button> <a href=\"{}\">clear</a></form></details>\n",
        esc(&link(action, &[("source".into(), table.name.clone())]))
    ));
    out
}

/// The columns of a download, in order, and its rows.
fn download_columns(view: &View) -> Vec<(String, Vec<f64>)> {
    let infos = arch_infos();
    let mut keys = vec![Key::Params, Key::Flops];
    keys.extend((0..view.table.columns.len()).map(Key::Metric));
    keys.iter()
        .map(|key| {
            let values = view
                .rows
                .iter()
                .map(|&r| {
                    let row = &view.table.rows[r];
                    key.value(row, &infos[row.index])
                })
                .collect();
            (key.name(&view.table), values)
        })
        .collect()
}

fn attachment(view: &View, extension: &str) -> String {
    let name: String =
        view.table.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    format!("attachment; filename=\"robbench-{name}.{extension}\"")
}

/// `/table.csv`: every row the filter keeps, in the table's order.
pub async fn csv(State(app): State<Arc<App>>, Query(pairs): Query<Vec<(String, String)>>) -> Page {
    let view = View::new(&app, pairs, &[]).await?;
    let columns = download_columns(&view);
    let infos = arch_infos();
    let mut out = String::from("arch_index,arch");
    for (name, _) in &columns {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    for (i, &r) in view.rows.iter().enumerate() {
        let row = &view.table.rows[r];
        out.push_str(&format!("{},{}", row.index, infos[row.index].text));
        for (_, values) in &columns {
            let v = values[i];
            out.push(',');
            if !v.is_nan() {
                out.push_str(&format!("{v}"));
            }
        }
        out.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, attachment(&view, "csv")),
        ],
        out,
    )
        .into_response())
}

/// `/table.parquet`: the same as the CSV, as one Parquet file.
pub async fn parquet(State(app): State<Arc<App>>, Query(pairs): Query<Vec<(String, String)>>) -> Page {
    let view = View::new(&app, pairs, &[]).await?;
    let infos = arch_infos();
    let mut fields = vec![Field::new("arch_index", DataType::Int64, false), Field::new("arch", DataType::Utf8, false)];
    let index: Vec<i64> = view.rows.iter().map(|&r| view.table.rows[r].index as i64).collect();
    let arch: Vec<&str> = view.rows.iter().map(|&r| infos[view.table.rows[r].index].text.as_str()).collect();
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(index)), Arc::new(StringArray::from(arch))];
    for (name, values) in download_columns(&view) {
        fields.push(Field::new(name, DataType::Float64, true));
        arrays.push(Arc::new(Float64Array::from(
            values.into_iter().map(|v| (!v.is_nan()).then_some(v)).collect::<Vec<_>>(),
        )));
    }
    let write = || -> anyhow::Result<Vec<u8>> {
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
        let mut writer = parquet::arrow::ArrowWriter::try_new(Vec::new(), batch.schema(), None)?;
        writer.write(&batch)?;
        Ok(writer.into_inner()?)
    };
    let bytes = write()?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.apache.parquet".to_string()),
            (header::CONTENT_DISPOSITION, attachment(&view, "parquet")),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::cell_matches;

    #[test]
    fn cell_patterns_are_substrings_or_globs() {
        let cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
        assert!(cell_matches("skip_connect~0", cell));
        assert!(!cell_matches("avg_pool", cell));
        assert!(cell_matches("|nor_conv_3x3~0|+*", cell));
        assert!(!cell_matches("|none~0|+*", cell));
        assert!(cell_matches("*skip_connect~?|*", cell));
        assert!(!cell_matches("*skip", cell));
        assert!(cell_matches("*", cell));
    }
}
