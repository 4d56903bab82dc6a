//! `robbench.NasRobBench201`: the released NAS-RobBench-201, drop-in for the
//! official `NasRobBench201(metapath, datasetpath)` class, with
//! NATS-Bench-style calls and a vectorised `metrics()`.
//!
//! The data comes from the project's importers (robbench-analysis): the
//! project-page table shipped in `data/` (means over seeds), or the official
//! `meta.json` and results JSON (`res[dataset][uid][metric][seed]`). Values
//! are stored per (dataset, metric, seed) as one column over the 15,625
//! indices, filled at each isomorphism class's representative.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString};
use robbench_analysis::{Meta, Record, canonical_dataset, import_nasrobbench201};
use robbench_published::{Input, NASROBBENCH201_HTML, ROBUSTNESS_META};
use robbench_space::{Arch, ModelShape, Space, cost};

use crate::cache;
use crate::store::closest;
use crate::table::Table;
use crate::{Kind, error, guard};

/// The official key of a canonical dataset name (the released files' keys).
fn official_dataset(canonical: &str) -> &str {
    match canonical {
        robbench_analysis::record::IMAGENET16_120 => "imagenet",
        other => other,
    }
}

/// The name a dataset is kept under: its canonical name; a run's dataset
/// robbench has no canonical name for (`synthetic`) keeps its own.
fn dataset_name(source: Source, name: &str) -> Result<String, String> {
    match (canonical_dataset(name), source) {
        (Some(canonical), _) => Ok(canonical.to_string()),
        (None, Source::Store) => Ok(name.to_string()),
        (None, Source::Shipped | Source::Files) => Err(format!("unknown dataset {name}")),
    }
}

/// An architecture given as an index (int, or its str) or as a NAS-Bench-201
/// cell string.
pub fn arch_index(index: &Bound<'_, PyAny>) -> PyResult<usize> {
    let n = robbench_space::SPACE_SIZE;
    if let Ok(text) = index.cast::<PyString>() {
        let text = text.to_str()?.trim();
        if let Ok(i) = text.parse::<i64>() {
            return usize::try_from(i).ok().filter(|&i| i < n).ok_or_else(|| out_of_range(text, n));
        }
        return match text.parse::<Arch>() {
            Ok(arch) => Ok(Space::nb201().index_of(&arch)),
            Err(e) => Err(error(Kind::NotFound, format!("{e}"))),
        };
    }
    match index.extract::<i64>() {
        Ok(i) => usize::try_from(i).ok().filter(|&i| i < n).ok_or_else(|| out_of_range(&i.to_string(), n)),
        Err(_) if index.cast::<PyInt>().is_ok() => Err(out_of_range(&index.to_string(), n)),
        Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "an architecture is an index (int) or a cell string, not {}",
            index.get_type().name()?
        ))),
    }
}

fn out_of_range(index: &str, n: usize) -> PyErr {
    error(
        Kind::NotFound,
        format!("architecture index `{index}` is out of range (NAS-Bench-201 indices are 0..{})", n - 1),
    )
}

/// One row of a run's `evaluations` table.
pub struct EvaluationRow {
    pub arch_index: i64,
    pub dataset: String,
    pub seed: i64,
    pub attack: String,
    pub eps: f64,
    pub steps: i64,
    pub accuracy: f64,
}

/// The official name of a canonical (metric, ε): `val_acc`,
/// `val_pgd_8.0_acc`, `autoattack`; other metrics keep their name.
fn official_metric(metric: &str, eps: Option<f64>) -> String {
    let attack = match metric {
        "clean" => return "val_acc".into(),
        "autoattack" => return "autoattack".into(),
        "apgd-ce" => "apgd",
        other => other,
    };
    match eps {
        Some(eps) => format!("val_{attack}_{}_acc", eps_text(eps)),
        None => metric.to_string(),
    }
}

/// ε as the released files write it: `8.0`, `0.5`.
fn eps_text(eps: f64) -> String {
    if eps.fract() == 0.0 { format!("{eps:.1}") } else { format!("{eps}") }
}

/// Every name a metric answers to: the official one, the project page's
/// (`val_pgd_8_acc`), and the project's canonical one (`pgd@8`, `clean`).
fn metric_aliases(metric: &str, eps: Option<f64>) -> Vec<String> {
    let mut names = vec![official_metric(metric, eps)];
    match eps {
        Some(eps) => {
            if eps.fract() == 0.0 && metric != "autoattack" {
                let attack = if metric == "apgd-ce" { "apgd" } else { metric };
                names.push(format!("val_{attack}_{}_acc", eps as i64));
            }
            names.push(format!(
                "{metric}@{}",
                if eps.fract() == 0.0 { format!("{}", eps as i64) } else { eps.to_string() }
            ));
        }
        None => names.push(metric.to_string()),
    }
    names.dedup();
    names
}

/// A seed as the released files key it (`"1"`, or `"threeseed"` for the mean).
fn seed_name(seed: Option<i64>) -> String {
    seed.map_or_else(|| "threeseed".to_string(), |s| s.to_string())
}

/// The loaded benchmark.
struct Data {
    /// Where it came from (paths, `shipped:<file>`, or a store's run).
    origin: String,
    source: Source,
    archs: Vec<String>,
    representatives: Vec<u32>,
    /// Canonical dataset names (a store's own names where robbench knows no
    /// canonical one, e.g. `synthetic`), in file order.
    datasets: Vec<String>,
    dataset_index: HashMap<String, usize>,
    /// (canonical metric, ε, official name), ordered clean, FGSM, PGD, … by ε.
    metrics: Vec<(String, Option<f64>, String)>,
    metric_index: HashMap<String, usize>,
    /// Seeds present anywhere; `None` is the mean (`threeseed`).
    seeds: Vec<Option<i64>>,
    values: Values,
    /// NAS-Bench-201's standard training (CIFAR-10), read on first use.
    standard: OnceLock<Result<Companion, String>>,
    /// NAS-Bench-Suite-Zero's proxies per dataset, read on first use.
    zero_cost: [OnceLock<Result<Companion, String>>; 2],
}

/// Column per (dataset, metric, seed), over indices (NaN: no value).
enum Values {
    /// Parsed by this process.
    Parsed(Vec<Option<Vec<f64>>>),
    /// Read back from the parse cache, column by column on first use.
    Cached(cache::LazyValues),
}

/// What the data is, which decides the default seed of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// The project-page table compiled into the module: means over seeds only.
    Shipped,
    /// The official meta.json and results JSON: seed `'1'` by default, as the
    /// official class.
    Files,
    /// A run's `evaluations`: the mean over the seeds it trained by default.
    Store,
}

/// Values shipped beside the release: per index, name → value.
struct Companion {
    names: Vec<String>,
    /// Row per index (NaN: no value), columns in `names` order.
    rows: HashMap<usize, Vec<f64>>,
}

impl Companion {
    fn dict<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(row) = self.rows.get(&index) else { return Ok(None) };
        let out = PyDict::new(py);
        for (name, value) in self.names.iter().zip(row) {
            out.set_item(name, if value.is_nan() { None } else { Some(*value) })?;
        }
        Ok(Some(out))
    }
}

/// The zero-cost proxy files robbench ships, by canonical dataset.
const ZERO_COST: [(&str, &robbench_published::Shipped); 2] = [
    (robbench_analysis::record::CIFAR10, &robbench_published::ZERO_COST_CIFAR10),
    (robbench_analysis::record::IMAGENET16_120, &robbench_published::ZERO_COST_IMAGENET16),
];

fn load_standard() -> Result<Companion, String> {
    let space = Space::nb201();
    let input = Input::Shipped(&robbench_published::NB201_CIFAR10);
    let records = robbench_analysis::import_nb201_cifar10(&input, |i| space.arch(i).ok().map(|a| a.to_string()))
        .map_err(|e| e.to_string())?;
    let mut names: Vec<String> = Vec::new();
    for r in &records {
        if !names.contains(&r.metric) {
            names.push(r.metric.clone());
        }
    }
    let mut rows: HashMap<usize, Vec<f64>> = HashMap::new();
    for r in records {
        let column = names.iter().position(|n| *n == r.metric).expect("listed");
        rows.entry(r.arch_index as usize).or_insert_with(|| vec![f64::NAN; names.len()])[column] = r.value;
    }
    Ok(Companion { names, rows })
}

fn load_zero_cost(dataset: &str, shipped: &'static robbench_published::Shipped) -> Result<Companion, String> {
    let space = Space::nb201();
    let scores = robbench_analysis::import_zero_cost(&Input::Shipped(shipped), dataset).map_err(|e| e.to_string())?;
    let mut names: Vec<String> = Vec::new();
    for s in &scores {
        if !names.contains(&s.proxy) {
            names.push(s.proxy.clone());
        }
    }
    let mut rows: HashMap<usize, Vec<f64>> = HashMap::new();
    for s in scores {
        let arch: Arch = s.arch.parse().map_err(|e| format!("{e}"))?;
        let column = names.iter().position(|n| *n == s.proxy).expect("listed");
        rows.entry(space.index_of(&arch)).or_insert_with(|| vec![f64::NAN; names.len()])[column] = s.value;
    }
    Ok(Companion { names, rows })
}

fn metric_rank(metric: &str) -> usize {
    ["clean", "fgsm", "pgd", "apgd-ce", "square", "autoattack"].iter().position(|m| *m == metric).unwrap_or(6)
}

/// A JSON value whose numbers are correctly rounded: the workspace's
/// serde_json is built without `float_roundtrip`, so its fast parser may
/// land one unit in the last place away from the nearest double
/// (`0.38706666231155396` → `0.3870666623115539`, while the file also holds
/// `0.3870666623115539` itself), where Python's `json` and Rust's
/// `str::parse` are exact. Only the numbers are read here (the importers
/// validate the files and give the records); strings are decoded by
/// serde_json.
enum Exact {
    Number(f64),
    Other(String),
    Array(Vec<Exact>),
    Object(Vec<(String, Exact)>),
}

struct ExactReader<'a> {
    text: &'a str,
    at: usize,
}

impl ExactReader<'_> {
    fn skip_space(&mut self) {
        let bytes = self.text.as_bytes();
        while self.at < bytes.len() && bytes[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn string(&mut self) -> Option<String> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut escaped = false;
        self.at += 1;
        while self.at < bytes.len() {
            match bytes[self.at] {
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                b'"' => {
                    self.at += 1;
                    let quoted = &self.text[start..self.at];
                    return if escaped {
                        serde_json::from_str(quoted).ok()
                    } else {
                        Some(quoted[1..quoted.len() - 1].to_string())
                    };
                }
                _ => self.at += 1,
            }
        }
        None
    }

    fn value(&mut self) -> Option<Exact> {
        self.skip_space();
        let bytes = self.text.as_bytes();
        match *bytes.get(self.at)? {
            b'{' => {
                let mut members = Vec::new();
                self.members(|key, value| {
                    members.push((key, value));
                    Some(())
                })?;
                Some(Exact::Object(members))
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    match *bytes.get(self.at)? {
                        b']' => {
                            self.at += 1;
                            return Some(Exact::Array(items));
                        }
                        b',' => self.at += 1,
                        _ => items.push(self.value()?),
                    }
                }
            }
            b'"' => self.string().map(Exact::Other),
            _ => {
                let start = self.at;
                while self.at < bytes.len()
                    && !matches!(bytes[self.at], b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t')
                {
                    self.at += 1;
                }
                let token = &self.text[start..self.at];
                Some(token.parse::<f64>().map_or_else(|_| Exact::Other(token.to_string()), Exact::Number))
            }
        }
    }

    /// Reads the object that starts here, handing each member to `member`
    /// as it is read (`None` from it stops the reading).
    fn members(&mut self, mut member: impl FnMut(String, Exact) -> Option<()>) -> Option<()> {
        let bytes = self.text.as_bytes();
        self.skip_space();
        (*bytes.get(self.at)? == b'{').then_some(())?;
        self.at += 1;
        loop {
            self.skip_space();
            match *bytes.get(self.at)? {
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                b',' => self.at += 1,
                b'"' => {
                    let key = self.string()?;
                    self.skip_space();
                    (*bytes.get(self.at)? == b':').then_some(())?;
                    self.at += 1;
                    let value = self.value()?;
                    member(key, value)?;
                }
                _ => return None,
            }
        }
    }

    fn parse(text: &str) -> Option<Exact> {
        ExactReader { text, at: 0 }.value()
    }
}

/// Canonical (metric, ε) of a NAS-RobBench-201 metric name, as the
/// importers map it (robbench-analysis, `nasrobbench201` module docs).
fn canonical_metric(name: &str) -> (String, Option<f64>) {
    match name {
        "val_acc" => return ("clean".into(), None),
        "autoattack" => return ("autoattack".into(), Some(8.0)),
        _ => {}
    }
    let parsed = name.strip_prefix("val_").and_then(|r| r.strip_suffix("_acc")).and_then(|r| r.split_once('_'));
    if let Some((attack, eps)) = parsed {
        let attack = match attack {
            "fgsm" | "pgd" | "square" => Some(attack),
            "apgd" => Some("apgd-ce"),
            _ => None,
        };
        if let (Some(attack), Ok(eps)) = (attack, eps.parse::<f64>()) {
            return (attack.into(), Some(eps));
        }
    }
    (name.into(), None)
}

/// The project-page table's records in one pass over its text, with exact
/// numbers, and every index's class representative (the table names it):
/// `import_nasrobbench201_html`'s records and `Space`'s classes (tests hold
/// them equal) without the importer's JSON tree, a second pass for the exact
/// numbers and the canonical forms of 15,625 cells, which took the first open
/// after install 0.2 s. `None` if the text is not that table's layout (the
/// importer says what is wrong with it).
fn shipped_records(text: &str) -> Option<(Vec<Record>, Vec<u32>)> {
    let json = robbench_analysis::strip_assignment(text, "acc")?;
    // The column list may come after the rows (it does in the shipped file).
    let mut columns: Vec<(&'static str, String, Option<f64>)> = Vec::new();
    let mut rows: Vec<(u32, Vec<f64>)> = Vec::new();
    let mut representatives = vec![u32::MAX; robbench_space::SPACE_SIZE];
    ExactReader { text: json, at: 0 }.members(|key, value| {
        match (key.parse::<u32>(), value) {
            (Ok(index), Exact::Array(row)) => {
                let row = row.into_iter().map(|v| if let Exact::Number(v) = v { Some(v) } else { None });
                rows.push((index, row.collect::<Option<_>>()?));
                *representatives.get_mut(index as usize)? = index;
            }
            // A non-representative names its representative.
            (Ok(index), Exact::Other(representative)) => {
                *representatives.get_mut(index as usize)? = representative.parse().ok()?;
            }
            (Err(_), Exact::Array(header)) if key.is_empty() => {
                for column in header {
                    let Exact::Other(column) = column else { return None };
                    let (dataset, metric) = column.split_once('#')?;
                    let (metric, eps) = canonical_metric(metric);
                    columns.push((canonical_dataset(dataset)?, metric, eps));
                }
            }
            _ => return None,
        }
        Some(())
    })?;
    let mut records = Vec::with_capacity(rows.len() * columns.len());
    for (index, row) in rows {
        (row.len() == columns.len()).then_some(())?;
        for ((dataset, metric, eps), value) in columns.iter().zip(row) {
            records.push(Record {
                source: String::new(),
                arch_index: index,
                arch: String::new(),
                dataset: (*dataset).into(),
                metric: metric.clone(),
                eps: *eps,
                seed: None,
                value,
            });
        }
    }
    representatives.iter().all(|&r| r != u32::MAX).then_some((records, representatives))
}

/// Exact values by metric, then (dataset, index, ε bits, seed).
type ExactMap = HashMap<String, HashMap<(&'static str, u32, Option<u64>, Option<i64>), f64>>;

/// Exact values of an official results JSON (`res[dataset][uid][metric][seed]`).
fn exact_results(text: &str, representatives: &[u32]) -> ExactMap {
    let mut out = ExactMap::new();
    let Some(Exact::Object(datasets)) = ExactReader::parse(text) else { return out };
    for (dataset, archs) in &datasets {
        let (Some(d), Exact::Object(archs)) = (canonical_dataset(dataset), archs) else { continue };
        for (id, metrics) in archs {
            let Some(&rep) = id.parse::<usize>().ok().and_then(|i| representatives.get(i)) else { continue };
            let Exact::Object(metrics) = metrics else { continue };
            for (name, seeds) in metrics {
                let (metric, eps) = canonical_metric(name);
                let eps = eps.map(f64::to_bits);
                let out = out.entry(metric).or_default();
                match seeds {
                    Exact::Number(v) => {
                        out.insert((d, rep, eps, None), *v);
                    }
                    Exact::Object(seeds) => {
                        for (seed, value) in seeds {
                            let seed = if seed == "threeseed" { None } else { seed.parse::<i64>().ok() };
                            if let Exact::Number(v) = value {
                                out.insert((d, rep, eps, seed), *v);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// Sets every record's value to the exact one read from the same file.
fn exact_values(records: &mut [Record], exact: &ExactMap) {
    for r in records {
        let Some(d) = canonical_dataset(&r.dataset) else { continue };
        let value = exact.get(&r.metric).and_then(|m| m.get(&(d, r.arch_index, r.eps.map(f64::to_bits), r.seed)));
        if let Some(v) = value {
            r.value = *v;
        }
    }
}

impl Data {
    fn build(
        origin: String,
        source: Source,
        archs: Vec<String>,
        representatives: Vec<u32>,
        records: Vec<Record>,
    ) -> Result<Data, String> {
        let n = archs.len();
        let mut datasets: Vec<String> = Vec::new();
        let mut metrics: Vec<(String, Option<f64>)> = Vec::new();
        let mut seeds: Vec<Option<i64>> = Vec::new();
        for r in &records {
            let d = dataset_name(source, &r.dataset)?;
            if !datasets.contains(&d) {
                datasets.push(d);
            }
            if !metrics.iter().any(|(m, e)| *m == r.metric && *e == r.eps) {
                metrics.push((r.metric.clone(), r.eps));
            }
            if !seeds.contains(&r.seed) {
                seeds.push(r.seed);
            }
        }
        metrics.sort_by(|a, b| {
            (metric_rank(&a.0), &a.0)
                .cmp(&(metric_rank(&b.0), &b.0))
                .then(a.1.unwrap_or(0.0).total_cmp(&b.1.unwrap_or(0.0)))
        });
        // Integer seeds ascending, the mean last.
        seeds.sort_by_key(|s| (s.is_none(), *s));
        let (nd, nm, ns) = (datasets.len(), metrics.len(), seeds.len());
        let mut values: Vec<Option<Vec<f64>>> = vec![None; nd * nm * ns];
        for r in &records {
            let name = dataset_name(source, &r.dataset)?;
            let d = datasets.iter().position(|d| *d == name).expect("listed");
            let m = metrics.iter().position(|(m, e)| *m == r.metric && *e == r.eps).expect("listed");
            let s = seeds.iter().position(|s| *s == r.seed).expect("listed");
            let column = values[(d * nm + m) * ns + s].get_or_insert_with(|| vec![f64::NAN; n]);
            let i = r.arch_index as usize;
            if i >= n {
                return Err(format!("index {i} is beyond the {n} architectures of meta.json"));
            }
            column[i] = r.value;
        }
        let metrics = metrics.into_iter().map(|(m, e)| (m.clone(), e, official_metric(&m, e))).collect();
        Ok(Data::assemble(origin, source, archs, representatives, datasets, metrics, seeds, Values::Parsed(values)))
    }

    /// The data from its columns, with the lookups by name.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        origin: String,
        source: Source,
        archs: Vec<String>,
        representatives: Vec<u32>,
        datasets: Vec<String>,
        metrics: Vec<(String, Option<f64>, String)>,
        seeds: Vec<Option<i64>>,
        values: Values,
    ) -> Data {
        let mut dataset_index = HashMap::new();
        for (i, d) in datasets.iter().enumerate() {
            dataset_index.insert(official_dataset(d).to_string(), i);
            dataset_index.insert(d.to_string(), i);
        }
        let mut metric_index = HashMap::new();
        for (i, (m, e, _)) in metrics.iter().enumerate() {
            for alias in metric_aliases(m, *e) {
                metric_index.entry(alias).or_insert(i);
            }
        }
        Data {
            origin,
            source,
            archs,
            representatives,
            datasets,
            dataset_index,
            metrics,
            metric_index,
            seeds,
            values,
            standard: OnceLock::new(),
            zero_cost: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// The release compiled into the module, from the parse cache after
    /// the first open (parsing its table takes ~0.2 s; reading the cache
    /// back a few milliseconds).
    fn shipped() -> Result<Data, String> {
        let key = cache::key(b"shipped", NASROBBENCH201_HTML.text().as_bytes());
        let origin = Input::Shipped(&NASROBBENCH201_HTML).to_string();
        Data::cached(&key, origin, Source::Shipped, Data::parse_shipped)
    }

    fn parse_shipped(origin: String) -> Result<Data, String> {
        let (records, representatives) = shipped_records(NASROBBENCH201_HTML.text())
            .ok_or_else(|| format!("{origin}: not the project page's `acc={{...}}` table"))?;
        let archs = Space::nb201().archs().iter().map(|a| a.to_string()).collect();
        Data::build(origin, Source::Shipped, archs, representatives, records)
    }

    /// The official files, from the parse cache when these bytes were parsed before.
    /// Unchanged files (size, time, inode) skip even the hashing.
    fn from_files(meta_path: Option<PathBuf>, results_path: PathBuf) -> Result<Data, String> {
        let meta = meta_path.clone().map_or(Input::Shipped(&ROBUSTNESS_META), Input::File);
        let results = Input::File(results_path.clone());
        let origin = format!("{meta} + {results}");
        let files: Vec<&std::path::Path> = meta_path.iter().chain([&results_path]).map(PathBuf::as_path).collect();
        let key = match cache::known_key(&files) {
            Some(key) => key,
            None => {
                let meta_bytes = meta.bytes().map_err(|e| format!("cannot read {meta}: {e}"))?;
                let results_bytes = results.bytes().map_err(|e| format!("cannot read {results}: {e}"))?;
                let key = cache::key(&meta_bytes, &results_bytes);
                // Without it, the next open hashes the files again.
                let _ = cache::remember_key(&files, &key);
                key
            }
        };
        Data::cached(&key, origin, Source::Files, |origin| Data::parse_files(&meta, &results, origin))
    }

    /// The data cached under `key`, else `parse(origin)`, then cached.
    fn cached(
        key: &str,
        origin: String,
        source: Source,
        parse: impl FnOnce(String) -> Result<Data, String>,
    ) -> Result<Data, String> {
        if let Some((c, values)) = cache::load(key) {
            return Ok(Data::assemble(
                origin,
                source,
                c.archs,
                c.representatives,
                c.datasets,
                c.metrics,
                c.seeds,
                Values::Cached(values),
            ));
        }
        let data = parse(origin)?;
        let Values::Parsed(values) = &data.values else { unreachable!("a parse gives parsed values") };
        let columns = cache::ColumnsRef {
            archs: &data.archs,
            representatives: &data.representatives,
            datasets: &data.datasets,
            metrics: &data.metrics,
            seeds: &data.seeds,
            values,
        };
        // A cache that cannot be written costs the next open its parse only.
        let _ = cache::store(key, &columns);
        Ok(data)
    }

    fn parse_files(meta: &Input, results: &Input, origin: String) -> Result<Data, String> {
        let mut records = import_nasrobbench201(meta, results).map_err(|e| e.to_string())?;
        let parsed = Meta::load(meta).map_err(|e| e.to_string())?;
        let archs = (0..parsed.len()).map(|i| parsed.arch(i).to_string()).collect();
        let representatives: Vec<u32> =
            (0..parsed.len()).map(|i| parsed.representative(i).expect("in range")).collect();
        // Read again for the exact numbers (the importer validated it).
        let text = results.text().map_err(|e| format!("cannot read {results}: {e}"))?;
        exact_values(&mut records, &exact_results(&text, &representatives));
        Data::build(origin, Source::Files, archs, representatives, records)
    }

    /// A run's `evaluations` rows: per seed, and their mean (`threeseed`).
    /// A row answers for its cell's whole isomorphism class, as in the
    /// released benchmark; two trained members of one class are averaged
    /// (they are the same function: their difference is training noise).
    fn from_store(origin: String, rows: Vec<EvaluationRow>) -> Result<Data, String> {
        let space = Space::nb201();
        let archs = space.archs().iter().map(|a| a.to_string()).collect();
        let representatives: Vec<u32> =
            (0..robbench_space::SPACE_SIZE).map(|i| space.unique_index(i).expect("in range") as u32).collect();
        // (dataset, class, attack, ε bits, seed) → (sum, count, steps)
        type Key = (String, u32, String, Option<u64>, Option<i64>);
        let mut sums: std::collections::BTreeMap<Key, (f64, usize, i64)> = Default::default();
        for r in &rows {
            let class = *representatives.get(r.arch_index as usize).ok_or_else(|| {
                format!("{origin}: arch_index {} is not a NAS-Bench-201 index (0..15624)", r.arch_index)
            })?;
            let eps = (r.attack != "clean").then_some(r.eps);
            for seed in [Some(r.seed), None] {
                let key = (r.dataset.clone(), class, r.attack.clone(), eps.map(f64::to_bits), seed);
                let entry = sums.entry(key).or_insert((0.0, 0, r.steps));
                if entry.2 != r.steps {
                    return Err(format!(
                        "{origin}: `{}` at eps {} on {} was evaluated with {} and {} steps; query `evaluations` \
                         in SQL to choose one",
                        r.attack, r.eps, r.dataset, entry.2, r.steps
                    ));
                }
                entry.0 += r.accuracy;
                entry.1 += 1;
            }
        }
        let records = sums
            .into_iter()
            .map(|((dataset, class, attack, eps, seed), (sum, n, _))| Record {
                source: "evaluations".into(),
                arch_index: class,
                arch: String::new(),
                dataset,
                metric: attack,
                eps: eps.map(f64::from_bits),
                seed,
                value: sum / n as f64,
            })
            .collect();
        Data::build(origin, Source::Store, archs, representatives, records)
    }

    fn column(&self, d: usize, m: usize, s: usize) -> PyResult<Option<&[f64]>> {
        let i = (d * self.metrics.len() + m) * self.seeds.len() + s;
        match &self.values {
            Values::Parsed(columns) => Ok(columns[i].as_deref()),
            Values::Cached(columns) => columns.column(i).map_err(|e| error(Kind::Error, e)),
        }
    }

    fn dataset_names(&self) -> Vec<String> {
        self.datasets.iter().map(|d| official_dataset(d).to_string()).collect()
    }

    fn dataset(&self, name: &str) -> PyResult<usize> {
        if let Some(&i) = self.dataset_index.get(name) {
            return Ok(i);
        }
        if let Some(&i) = canonical_dataset(name).and_then(|c| self.dataset_index.get(c)) {
            return Ok(i);
        }
        let known = self.dataset_names();
        Err(error(
            Kind::NotFound,
            format!(
                "unknown dataset `{name}` ({}datasets: {})",
                closest(name, known.iter().map(String::as_str)),
                known.join(", ")
            ),
        ))
    }

    fn metric(&self, name: &str) -> PyResult<usize> {
        if let Some(&i) = self.metric_index.get(name) {
            return Ok(i);
        }
        let known: Vec<&str> = self.metrics.iter().map(|(_, _, n)| n.as_str()).collect();
        Err(error(
            Kind::NotFound,
            format!(
                "unknown metric `{name}` ({}metrics: {})",
                closest(name, self.metric_index.keys().map(String::as_str)),
                known.join(", ")
            ),
        ))
    }

    fn seed_names(&self) -> Vec<String> {
        self.seeds.iter().map(|s| seed_name(*s)).collect()
    }

    /// The seed slot asked for: `None` is the official default, seed `"1"`
    /// (the mean for the shipped release, which holds nothing else).
    fn seed(&self, seed: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
        let wanted: Option<i64> = match seed {
            None => self.default_seed(),
            Some(s) if s.is_none() => self.default_seed(),
            Some(s) => {
                if let Ok(text) = s.cast::<PyString>() {
                    let text = text.to_str()?;
                    match text {
                        "threeseed" | "mean" => None,
                        other => Some(other.trim().parse::<i64>().map_err(|_| self.seed_error(other))?),
                    }
                } else if let Ok(i) = s.extract::<i64>() {
                    Some(i)
                } else {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "seed must be a str or int, not {}",
                        s.get_type().name()?
                    )));
                }
            }
        };
        self.seeds.iter().position(|s| *s == wanted).ok_or_else(|| self.seed_error(&seed_name(wanted)))
    }

    /// The seed of a request that names none: `'1'`, the official class's
    /// choice, for its files; the mean for the shipped release (it holds
    /// nothing else) and for a run (whose seeds are the user's own).
    fn default_seed(&self) -> Option<i64> {
        match self.source {
            Source::Files => Some(1),
            Source::Shipped | Source::Store => None,
        }
    }

    fn seed_error(&self, seed: &str) -> PyErr {
        let hint = match self.source {
            Source::Shipped => {
                "; the shipped release holds means over the seeds only: load the official files \
                 (NasRobBench201(metapath, datasetpath)) for per-seed values"
            }
            Source::Files | Source::Store => "",
        };
        error(
            Kind::Seed,
            format!("no seed `{seed}` in {} (seeds: {}){hint}", self.origin, self.seed_names().join(", ")),
        )
    }

    /// An index given as an int (or any integer type with `__index__`, such
    /// as numpy's) or, as the official class accepts, its str.
    fn index(&self, index: &Bound<'_, PyAny>) -> PyResult<usize> {
        let n = self.archs.len();
        let value: Option<i64> = if let Ok(text) = index.cast::<PyString>() {
            text.to_str()?.trim().parse::<i64>().ok()
        } else {
            match index.extract::<i64>() {
                Ok(i) => Some(i),
                // An int beyond i64: out of range like any other.
                Err(_) if index.cast::<PyInt>().is_ok() => None,
                Err(_) => {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "an architecture index is an int (or its str), not {}",
                        index.get_type().name()?
                    )));
                }
            }
        };
        match value {
            Some(i) if i >= 0 && (i as usize) < n => Ok(i as usize),
            _ => Err(out_of_range(&index.to_string(), n)),
        }
    }

    fn value(&self, d: usize, m: usize, s: usize, index: usize) -> PyResult<f64> {
        let rep = self.representatives[index] as usize;
        let value = self.column(d, m, s)?.map_or(f64::NAN, |c| c[rep]);
        if value.is_nan() {
            return Err(error(
                Kind::Seed,
                format!(
                    "{} has no value of `{}` on {} for architecture {index} (representative {rep}) at seed `{}` \
                     (seeds: {})",
                    self.origin,
                    self.metrics[m].2,
                    official_dataset(&self.datasets[d]),
                    seed_name(self.seeds[s]),
                    self.seed_names().join(", ")
                ),
            ));
        }
        Ok(value)
    }
}

/// NAS-RobBench-201 (Wu et al., ICLR 2024): adversarially trained
/// NAS-Bench-201 cells on CIFAR-10, CIFAR-100 and ImageNet16-120.
///
/// With no paths it serves the release shipped in robbench (the project
/// page's table, compiled into the module): no file is read, and values are
/// **means over the seeds** (seed ``'threeseed'``). Given the official
/// ``meta.json`` and results JSON (``res[dataset][uid][metric][seed]``),
/// it answers as the official ``NasRobBench201`` class: ``get_result``
/// returns seed ``'1'``. ``metapath`` alone is refused; ``datasetpath``
/// alone uses the meta.json shipped in robbench.
#[pyclass(module = "robbench._native", name = "NasRobBench201", subclass, frozen)]
pub struct NasRobBench201 {
    data: Arc<Data>,
}

/// What a search over the benchmark sees: per class with every metric of
/// the objective, its values and simulated cost.
pub struct ObjectiveRows {
    /// The benchmark in `search_steps.source`: `nas-robbench-201` or `evaluations`.
    pub source: String,
    /// The dataset's official name.
    pub dataset: String,
    /// `(class representative, values, GPU-hours)`.
    pub rows: Vec<(usize, Vec<f64>, f64)>,
}

impl NasRobBench201 {
    /// NAS-Bench-Suite-Zero's proxies of `dataset` (its canonical name, and the table).
    fn proxies(&self, py: Python<'_>, dataset: &str) -> PyResult<(&'static str, &Companion)> {
        let canonical = canonical_dataset(dataset);
        let Some(slot) = ZERO_COST.iter().position(|(d, _)| Some(*d) == canonical) else {
            return Err(error(
                Kind::NotFound,
                format!("no zero-cost proxies for dataset `{dataset}` (shipped: cifar10, imagenet)"),
            ));
        };
        let (name, shipped) = ZERO_COST[slot];
        py.detach(|| {
            self.data.zero_cost[slot].get_or_init(|| load_zero_cost(name, shipped));
        });
        let proxies = self.data.zero_cost[slot].get().expect("initialised");
        Ok((name, proxies.as_ref().map_err(|e| error(Kind::Error, e.clone()))?))
    }

    /// The warm start's score per class: proxy `proxy` of NAS-Bench-Suite-Zero
    /// on `dataset`, negated unless `higher_is_better`.
    pub fn proxy_scores(
        &self,
        py: Python<'_>,
        dataset: &str,
        proxy: &str,
        higher_is_better: bool,
    ) -> PyResult<Vec<(usize, f64)>> {
        let (_, proxies) = self.proxies(py, dataset)?;
        let Some(column) = proxies.names.iter().position(|n| n == proxy) else {
            return Err(error(
                Kind::NotFound,
                format!(
                    "unknown zero-cost proxy `{proxy}` ({}proxies: {})",
                    closest(proxy, proxies.names.iter().map(String::as_str)),
                    proxies.names.join(", ")
                ),
            ));
        };
        let sign = if higher_is_better { 1.0 } else { -1.0 };
        let mut scores: Vec<(usize, f64)> = proxies
            .rows
            .iter()
            .filter(|(i, _)| self.data.representatives[**i] as usize == **i)
            .filter_map(|(&i, row)| Some((i, row[column])).filter(|(_, v)| v.is_finite()))
            .map(|(i, v)| (i, sign * v))
            .collect();
        scores.sort_by_key(|s| s.0);
        Ok(scores)
    }

    /// The classes a search over `metrics` on `dataset` (at `seed`) can
    /// query. A metric is one of the benchmark's, or a cell's `flops` or
    /// `params` at the dataset's NAS-Bench-201 size; a leading `-` minimises it.
    pub fn objective_rows(
        &self,
        dataset: &str,
        metrics: &[String],
        seed: Option<&Bound<'_, PyAny>>,
        cost_model: &robbench_search::CostModel,
    ) -> PyResult<ObjectiveRows> {
        let data = &self.data;
        let d = data.dataset(dataset)?;
        let s = data.seed(seed)?;
        let shape = dataset_shape(&data.datasets[d]);
        enum Column<'a> {
            Measured(Option<&'a [f64]>),
            Flops,
            Params,
        }
        let mut columns = Vec::new();
        for metric in metrics {
            let (name, sign) = metric.strip_prefix('-').map_or((metric.as_str(), 1.0), |n| (n, -1.0));
            let column = match name {
                "flops" => Column::Flops,
                "params" => Column::Params,
                _ => Column::Measured(data.column(d, data.metric(name)?, s)?),
            };
            columns.push((column, sign));
        }
        let mut rows = Vec::new();
        for (i, &rep) in data.representatives.iter().enumerate() {
            if rep as usize != i {
                continue;
            }
            let arch: Arch = data.archs[i].parse().map_err(|e| error(Kind::Error, format!("{e}")))?;
            let c = cost(&arch, &shape);
            let values: Vec<f64> = columns
                .iter()
                .map(|(column, sign)| {
                    sign * match column {
                        Column::Measured(values) => values.map_or(f64::NAN, |v| v[i]),
                        Column::Flops => c.flops,
                        Column::Params => c.params as f64,
                    }
                })
                .collect();
            if values.iter().all(|v| !v.is_nan()) {
                rows.push((i, values, cost_model.gpu_hours(c.flops)));
            }
        }
        let source = match data.source {
            Source::Shipped | Source::Files => "nas-robbench-201",
            Source::Store => "evaluations",
        };
        Ok(ObjectiveRows { source: source.into(), dataset: official_dataset(&data.datasets[d]).to_string(), rows })
    }

    /// The benchmark of a run's `evaluations` (``Store.benchmark``).
    pub fn from_evaluations(origin: String, rows: Vec<EvaluationRow>) -> PyResult<NasRobBench201> {
        let data = Data::from_store(origin, rows).map_err(|e| error(Kind::Error, e))?;
        Ok(NasRobBench201 { data: Arc::new(data) })
    }
}

#[pymethods]
impl NasRobBench201 {
    #[new]
    #[pyo3(signature = (metapath=None, datasetpath=None))]
    fn new(py: Python<'_>, metapath: Option<PathBuf>, datasetpath: Option<PathBuf>) -> PyResult<Self> {
        guard(|| {
            let data = match (metapath, datasetpath) {
                (None, None) => py.detach(Data::shipped),
                (meta, Some(results)) => py.detach(|| Data::from_files(meta, results)),
                (Some(meta), None) => {
                    return Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "metapath {} given without datasetpath: pass both (the official meta.json and results \
                         JSON), or neither for the shipped release",
                        meta.display()
                    )));
                }
            };
            let data = data.map_err(|e| error(Kind::Error, e))?;
            Ok(NasRobBench201 { data: Arc::new(data) })
        })
    }

    /// The result of ``metric`` for ``architecture_id`` on ``dataset``, as
    /// the official ``get_result``: ``res[dataset][isomorph(id)][metric][seed]``
    /// where any of the 15,625 indices (int or str) answers with its
    /// isomorphism class representative's result.
    ///
    /// ``seed`` defaults to ``'1'`` (the official class's choice) for loaded
    /// files; ``'threeseed'`` (or ``'mean'``) is the mean over seeds. The
    /// shipped release holds **means over seeds only**: by default it
    /// returns the mean, and any other seed raises ``SeedError``.
    #[pyo3(signature = (dataset, architecture_id, metric, seed=None))]
    fn get_result(
        &self,
        dataset: &str,
        architecture_id: &Bound<'_, PyAny>,
        metric: &str,
        seed: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<f64> {
        guard(|| {
            let data = &self.data;
            let d = data.dataset(dataset)?;
            let i = data.index(architecture_id)?;
            let m = data.metric(metric)?;
            let s = data.seed(seed)?;
            data.value(d, m, s, i)
        })
    }

    /// The representative index of ``i``'s isomorphism class, as a str (the
    /// official ``get_uid``).
    fn get_uid(&self, i: &Bound<'_, PyAny>) -> PyResult<String> {
        guard(|| {
            let i = self.data.index(i)?;
            Ok(self.data.representatives[i].to_string())
        })
    }

    /// The NAS-Bench-201 cell string of index ``i``.
    fn id_to_string(&self, i: &Bound<'_, PyAny>) -> PyResult<String> {
        guard(|| {
            let i = self.data.index(i)?;
            Ok(self.data.archs[i].clone())
        })
    }

    /// The index (as a str) of a NAS-Bench-201 cell string; ``NotFoundError``
    /// when it is not one (``query_index_by_arch`` returns -1 instead).
    fn string_to_id(&self, arch: &str) -> PyResult<String> {
        guard(|| match self.query_index_by_arch(arch) {
            -1 => Err(error(Kind::NotFound, invalid_arch(arch))),
            i => Ok(i.to_string()),
        })
    }

    /// NATS-Bench's ``query_index_by_arch``: the index of a cell string such
    /// as ``'|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'``,
    /// or -1 when the string is not a NAS-Bench-201 cell.
    fn query_index_by_arch(&self, arch: &str) -> i64 {
        match arch.parse::<Arch>() {
            Ok(a) => {
                let i = Space::nb201().index_of(&a);
                // Files with their own meta.json: its strings decide.
                if self.data.archs.get(i).is_some_and(|s| *s == a.to_string()) {
                    i as i64
                } else {
                    self.data.archs.iter().position(|s| *s == arch).map_or(-1, |i| i as i64)
                }
            }
            Err(_) => -1,
        }
    }

    /// NATS-Bench's ``get_more_info``: every metric of ``index`` on
    /// ``dataset`` as a dict (official metric name → value), at ``seed``
    /// (default as ``get_result``). Metrics without a value at that seed
    /// are left out.
    #[pyo3(signature = (index, dataset, seed=None))]
    fn get_more_info<'py>(
        &self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
        dataset: &str,
        seed: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let data = &self.data;
            let d = data.dataset(dataset)?;
            let i = data.index(index)?;
            let s = data.seed(seed)?;
            let rep = data.representatives[i] as usize;
            let out = PyDict::new(py);
            for (m, (_, _, name)) in data.metrics.iter().enumerate() {
                if let Some(value) = data.column(d, m, s)?.map(|c| c[rep]).filter(|v| !v.is_nan()) {
                    out.set_item(name, value)?;
                }
            }
            Ok(out)
        })
    }

    /// NATS-Bench's ``get_cost_info``: ``{'flops': …, 'params': …}`` of
    /// ``index`` in the NAS-Bench-201 network for ``dataset`` (C=16, N=5;
    /// 10, 100 or 120 classes; 32×32 or 16×16 inputs), in millions as
    /// NAS-Bench-201 reports them (FLOPs: multiply-accumulates per image),
    /// plus the exact parameter count ``'params_count'``.
    fn get_cost_info<'py>(
        &self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
        dataset: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let data = &self.data;
            let d = data.dataset(dataset)?;
            let i = data.index(index)?;
            let arch: Arch = data.archs[i].parse().map_err(|e| error(Kind::Error, format!("{e}")))?;
            let c = cost(&arch, &dataset_shape(&data.datasets[d]));
            let out = PyDict::new(py);
            out.set_item("flops", c.flops)?;
            out.set_item("params", c.params as f64 / 1e6)?;
            out.set_item("params_count", c.params)?;
            Ok(out)
        })
    }

    /// The cell of ``index``: ``{'index', 'arch' (cell string), 'ops' (the
    /// six edges' operations, edges 0→1, 0→2, 1→2, 0→3, 1→3, 2→3),
    /// 'representative' (its isomorphism class's evaluated index)}``.
    fn arch<'py>(&self, py: Python<'py>, index: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let data = &self.data;
            let i = data.index(index)?;
            let arch: Arch = data.archs[i].parse().map_err(|e| error(Kind::Error, format!("{e}")))?;
            let ops: Vec<&str> = arch.edges().iter().map(|op| op.name()).collect();
            let out = PyDict::new(py);
            out.set_item("index", i)?;
            out.set_item("arch", &data.archs[i])?;
            out.set_item("ops", ops)?;
            out.set_item("representative", data.representatives[i])?;
            Ok(out)
        })
    }

    /// Every metric of every index on ``dataset`` as one Arrow table:
    /// ``arch_index``, ``representative``, ``arch``, then one float column per
    /// metric (official names; null where there is no value), 15,625 rows, at
    /// ``seed`` (default as ``get_result``).
    #[pyo3(signature = (dataset, seed=None))]
    fn metrics(&self, py: Python<'_>, dataset: &str, seed: Option<&Bound<'_, PyAny>>) -> PyResult<Table> {
        let data = self.data.clone();
        let d = data.dataset(dataset)?;
        let s = data.seed(seed)?;
        guard(|| {
            let values: Vec<Option<&[f64]>> =
                (0..data.metrics.len()).map(|m| data.column(d, m, s)).collect::<PyResult<_>>()?;
            let batch = py.detach(|| {
                let n = data.archs.len();
                let mut fields = vec![
                    Field::new("arch_index", DataType::UInt32, false),
                    Field::new("representative", DataType::UInt32, false),
                    Field::new("arch", DataType::Utf8, false),
                ];
                let mut columns: Vec<ArrayRef> = vec![
                    Arc::new(UInt32Array::from_iter_values(0..n as u32)),
                    Arc::new(UInt32Array::from(data.representatives.clone())),
                    Arc::new(StringArray::from_iter_values(data.archs.iter())),
                ];
                for ((_, _, name), column) in data.metrics.iter().zip(&values) {
                    fields.push(Field::new(name, DataType::Float64, true));
                    let values =
                        data.representatives.iter().map(|&rep| column.map(|c| c[rep as usize]).filter(|v| !v.is_nan()));
                    columns.push(Arc::new(Float64Array::from_iter(values)));
                }
                RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            });
            let batch = batch.map_err(|e| error(Kind::Error, e.to_string()))?;
            Table::from_batch(batch)
        })
    }

    /// NATS-Bench's ``find_best``: ``(index, value)`` of the architecture
    /// with the highest ``metric`` on ``dataset`` (at ``seed``, default as
    /// ``get_result``) among those within ``flop_max`` MFLOPs and
    /// ``param_max`` million parameters (``get_cost_info``'s units). The
    /// index is its class representative; ties go to the smaller index.
    #[pyo3(signature = (dataset, metric, flop_max=None, param_max=None, seed=None))]
    fn find_best(
        &self,
        py: Python<'_>,
        dataset: &str,
        metric: &str,
        flop_max: Option<f64>,
        param_max: Option<f64>,
        seed: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(usize, f64)> {
        guard(|| {
            let data = self.data.clone();
            let d = data.dataset(dataset)?;
            let m = data.metric(metric)?;
            let s = data.seed(seed)?;
            let shape = dataset_shape(&data.datasets[d]);
            let column = data.column(d, m, s)?;
            let best = py.detach(|| {
                let column = column?;
                let mut best: Option<(usize, f64)> = None;
                for (i, &rep) in data.representatives.iter().enumerate() {
                    let value = column[i];
                    if rep as usize != i || value.is_nan() || best.is_some_and(|(_, b)| b >= value) {
                        continue;
                    }
                    if flop_max.is_some() || param_max.is_some() {
                        let Ok(arch) = data.archs[i].parse::<Arch>() else { continue };
                        let c = cost(&arch, &shape);
                        if flop_max.is_some_and(|f| c.flops > f) || param_max.is_some_and(|p| c.params as f64 / 1e6 > p)
                        {
                            continue;
                        }
                    }
                    best = Some((i, value));
                }
                best
            });
            best.ok_or_else(|| {
                error(
                    Kind::NotFound,
                    format!(
                        "no architecture has `{}` on {} at seed `{}` within flop_max={} and param_max={}",
                        data.metrics[m].2,
                        official_dataset(&data.datasets[d]),
                        seed_name(data.seeds[s]),
                        flop_max.map_or("None".into(), |f| f.to_string()),
                        param_max.map_or("None".into(), |p| p.to_string())
                    ),
                )
            })
        })
    }

    /// NAS-Bench-201's **standard** (non-adversarial) training of ``index``
    /// for 200 epochs, shipped in robbench: ``{'train_acc', 'valid_acc',
    /// 'test_acc', 'train_loss', 'valid_loss', 'test_loss'}`` (accuracies as
    /// fractions, means over seeds), to set beside ``get_more_info``'s
    /// adversarial-training results. CIFAR-10 only (the one dataset shipped).
    #[pyo3(signature = (index, dataset="cifar10"))]
    fn standard_training<'py>(
        &self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
        dataset: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let data = self.data.clone();
            let i = data.index(index)?;
            if canonical_dataset(dataset) != Some(robbench_analysis::record::CIFAR10) {
                return Err(error(
                    Kind::NotFound,
                    format!("no standard-training results for dataset `{dataset}` (shipped: cifar10)"),
                ));
            }
            py.detach(|| {
                data.standard.get_or_init(load_standard);
            });
            let standard = data.standard.get().expect("initialised");
            let standard = standard.as_ref().map_err(|e| error(Kind::Error, e.clone()))?;
            standard.dict(py, i)?.ok_or_else(|| {
                error(Kind::NotFound, format!("NAS-Bench-201 has no standard-training row for index {i}"))
            })
        })
    }

    /// NAS-Bench-Suite-Zero's zero-cost proxies of ``index`` on ``dataset``
    /// (``cifar10`` or ``imagenet``), shipped in robbench: proxy name →
    /// score (``epe_nas``, ``fisher``, ``grad_norm``, …, ``synflow``, ``zen``,
    /// ``flops``, ``params``; ``None`` where the source has none). The
    /// source covers the 9,445 cells without dead operations: others raise
    /// ``NotFoundError``.
    fn zero_cost<'py>(
        &self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
        dataset: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let i = self.data.index(index)?;
            let (name, proxies) = self.proxies(py, dataset)?;
            proxies.dict(py, i)?.ok_or_else(|| {
                error(
                    Kind::NotFound,
                    format!(
                        "NAS-Bench-Suite-Zero has no proxies for index {i} on {} (it covers the cells without dead \
                     operations)",
                        official_dataset(name)
                    ),
                )
            })
        })
    }

    /// The datasets, by their official keys (``cifar10``, ``cifar100``,
    /// ``imagenet``; ``ImageNet16-120`` and other spellings are accepted).
    #[getter]
    fn datasets(&self) -> Vec<String> {
        self.data.dataset_names()
    }

    /// The metrics, by their official names (``val_acc``,
    /// ``val_fgsm_3.0_acc``, ``val_pgd_8.0_acc``, ``autoattack``, …; the
    /// project page's ``val_pgd_8_acc`` and robbench's ``pgd@8`` are accepted).
    #[getter]
    fn metric_names(&self) -> Vec<String> {
        self.data.metrics.iter().map(|(_, _, n)| n.clone()).collect()
    }

    /// The seeds the data holds (``'threeseed'``: the mean over seeds).
    #[getter]
    fn seeds(&self) -> Vec<String> {
        self.data.seed_names()
    }

    /// Where the data came from (``shipped:…`` or the files' paths).
    #[getter]
    fn origin(&self) -> String {
        self.data.origin.clone()
    }

    fn __len__(&self) -> usize {
        self.data.archs.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "robbench.NasRobBench201({}: {} architectures, {} classes, datasets {}, {} metrics, seeds {})",
            self.data.origin,
            self.data.archs.len(),
            self.data.representatives.iter().enumerate().filter(|(i, r)| *i == **r as usize).count(),
            self.data.dataset_names().join("/"),
            self.data.metrics.len(),
            self.data.seed_names().join("/")
        )
    }
}

/// The NAS-Bench-201 network of a dataset: C=16, N=5; 10, 100 or 120
/// classes; 32×32 or 16×16 inputs.
fn dataset_shape(dataset: &str) -> ModelShape {
    match dataset {
        robbench_analysis::record::CIFAR100 => ModelShape::nb201(100, 32),
        robbench_analysis::record::IMAGENET16_120 => ModelShape::nb201(120, 16),
        // The default experiment's generated images (as `robbench search`).
        "synthetic" => ModelShape::nb201(10, 16),
        _ => ModelShape::nb201(10, 32),
    }
}

fn invalid_arch(arch: &str) -> String {
    match arch.parse::<Arch>() {
        Err(e) => format!("{e}"),
        Ok(_) => format!("`{arch}` is not a cell of this benchmark's meta.json"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_read_in_one_pass_equals_the_importers_records_and_the_spaces_classes() {
        let (fast, representatives) = shipped_records(NASROBBENCH201_HTML.text()).expect("the shipped layout");
        let space = Space::nb201();
        for (i, &r) in representatives.iter().enumerate() {
            assert_eq!(r as usize, space.unique_index(i).unwrap(), "index {i}");
        }
        let imported =
            robbench_analysis::import_nasrobbench201_html(&Input::Shipped(&NASROBBENCH201_HTML), None).unwrap();
        assert_eq!(fast.len(), imported.len());
        let key = |r: &Record| (r.arch_index, r.dataset.clone(), r.metric.clone(), r.eps.map(f64::to_bits), r.seed);
        let mut fast: Vec<_> = fast.iter().map(|r| (key(r), r.value)).collect();
        let mut imported: Vec<_> = imported.iter().map(|r| (key(r), r.value)).collect();
        fast.sort_by(|a, b| a.0.cmp(&b.0));
        imported.sort_by(|a, b| a.0.cmp(&b.0));
        for ((k, exact), (k2, v)) in fast.iter().zip(&imported) {
            assert_eq!(k, k2);
            // The importer's serde_json (no `float_roundtrip`) may land one
            // unit in the last place off; python/tests check the exact values.
            assert!((exact.to_bits() as i64 - v.to_bits() as i64).abs() <= 1, "{k:?}: {exact} vs {v}");
        }
    }
}
