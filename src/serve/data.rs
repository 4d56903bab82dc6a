//! What the pages show, loaded once through SQL and kept in memory: the
//! sources (each `benchmark` source, and the run's `evaluations`) as one
//! row per architecture class and one column per dataset × metric.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Result, anyhow};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use robbench_pipeline::sql::{Catalog, query};
use robbench_space::{Arch, ModelShape, Op, SPACE_SIZE, Space, cost};
use tokio::sync::OnceCell;

use super::http_error::HttpError;

/// The source the pages show unless told otherwise: the shipped release.
pub const DEFAULT_SOURCE: &str = "nas-robbench-201";
/// The run's own measurements, as a source.
pub const EVALUATIONS: &str = "evaluations";

/// A source the store holds.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    pub name: String,
    /// Architectures (classes) it has values for.
    pub archs: u64,
}

/// One dataset × metric column of a source.
#[derive(Clone, Debug)]
pub struct MetricColumn {
    /// `<dataset>:<metric>`, e.g. `cifar10:pgd@8`.
    pub key: String,
    pub dataset: String,
    /// The metric as search names it: `clean`, `pgd@8`, `synflow`.
    pub metric: String,
    /// The attack (or metric) without its ε, and the ε.
    pub attack: String,
    pub eps: Option<f64>,
}

/// A source as a table: one row per architecture, values NaN where missing.
pub struct SourceTable {
    pub name: String,
    pub columns: Vec<MetricColumn>,
    pub rows: Vec<ArchRow>,
    position: HashMap<usize, usize>,
    /// Each column's values, largest first, for ranks.
    sorted: Vec<Vec<f64>>,
}

pub struct ArchRow {
    pub index: usize,
    pub values: Vec<f64>,
}

impl SourceTable {
    pub fn row(&self, index: usize) -> Option<&ArchRow> {
        self.position.get(&index).map(|&i| &self.rows[i])
    }

    pub fn column(&self, key: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.key == key)
    }

    /// Rank (1 = largest) of `value` in column `c` and how many values it has.
    pub fn rank(&self, c: usize, value: f64) -> (usize, usize) {
        let sorted = &self.sorted[c];
        (sorted.partition_point(|&v| v > value) + 1, sorted.len())
    }

    pub fn datasets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.columns {
            if !out.contains(&c.dataset.as_str()) {
                out.push(&c.dataset);
            }
        }
        out
    }
}

/// Loaded sources, shared by the pages.
#[derive(Default)]
pub struct Data {
    sources: OnceCell<Arc<Vec<SourceInfo>>>,
    tables: Mutex<HashMap<String, Arc<OnceCell<Arc<SourceTable>>>>>,
}

impl Data {
    /// The sources, `benchmark`'s first (a failed load is tried again next time).
    pub async fn sources(&self, catalog: &Arc<Catalog>) -> Result<Arc<Vec<SourceInfo>>, HttpError> {
        let catalog = catalog.clone();
        self.sources
            .get_or_try_init(|| async move { blocking(move || list_sources(&catalog)).await.map(Arc::new) })
            .await
            .cloned()
            .map_err(|e| HttpError::internal(&e))
    }

    /// The source `name` (`None`: the default), or 400 naming the ones there are.
    pub async fn table(&self, catalog: &Arc<Catalog>, name: Option<&str>) -> Result<Arc<SourceTable>, HttpError> {
        let sources = self.sources(catalog).await?;
        let name = match name {
            Some(name) => name.to_string(),
            None => default_source(&sources).ok_or_else(|| {
                HttpError::bad_request(
                    "this store holds no benchmark and no evaluations yet: `robbench import nasrobbench201-html` \
                     imports the shipped NAS-RobBench-201, `robbench run` evaluates networks",
                )
            })?,
        };
        if !sources.iter().any(|s| s.name == name) {
            let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
            return Err(HttpError::bad_request(format!(
                "unknown source `{name}`; this store has: {}",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )));
        }
        let cell = self.tables.lock().expect("tables lock").entry(name.clone()).or_default().clone();
        let catalog = catalog.clone();
        cell.get_or_try_init(|| async move { blocking(move || load_source(&catalog, &name)).await.map(Arc::new) })
            .await
            .cloned()
            .map_err(|e| HttpError::internal(&e))
    }

    /// Every source's table (for an architecture's page).
    pub async fn all_tables(&self, catalog: &Arc<Catalog>) -> Result<Vec<Arc<SourceTable>>, HttpError> {
        let mut out = Vec::new();
        for source in self.sources(catalog).await?.iter() {
            out.push(self.table(catalog, Some(&source.name)).await?);
        }
        Ok(out)
    }

    /// Loads what the first page needs while the user opens it.
    pub async fn warm_up(&self, catalog: &Arc<Catalog>) {
        let _ = blocking(|| {
            arch_infos();
            Ok(())
        })
        .await;
        let _ = self.table(catalog, None).await;
    }
}

pub fn default_source(sources: &[SourceInfo]) -> Option<String> {
    sources.iter().find(|s| s.name == DEFAULT_SOURCE).or(sources.first()).map(|s| s.name.clone())
}

/// Runs blocking work (a query: DataFusion runs it on a runtime of its own)
/// on a thread of its own, and waits for it without blocking the server.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    let (send, receive) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("robbench-serve-query".into()).spawn(move || {
        let _ = send.send(work());
    })?;
    receive.await.map_err(|_| anyhow!("the query failed (its thread panicked)"))?
}

/// Runs `sql` and returns its batches.
pub fn batches(catalog: &Arc<Catalog>, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(query(catalog.clone(), sql)?.1)
}

fn cast(column: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(column, to)?)
}

/// Column `i` of `batch` as strings (nulls as `None`).
pub fn strings(batch: &RecordBatch, i: usize) -> Result<Vec<Option<String>>> {
    let column = cast(batch.column(i), &DataType::Utf8)?;
    let column = column.as_string::<i32>();
    Ok((0..column.len()).map(|r| column.is_valid(r).then(|| column.value(r).to_string())).collect())
}

/// Column `i` of `batch` as numbers (nulls as NaN).
pub fn floats(batch: &RecordBatch, i: usize) -> Result<Vec<f64>> {
    let column = cast(batch.column(i), &DataType::Float64)?;
    let column = column.as_primitive::<Float64Type>();
    Ok((0..column.len()).map(|r| if column.is_valid(r) { column.value(r) } else { f64::NAN }).collect())
}

/// Column `i` of `batch` as integers (nulls as `None`).
pub fn ints(batch: &RecordBatch, i: usize) -> Result<Vec<Option<i64>>> {
    let column = cast(batch.column(i), &DataType::Int64)?;
    let column = column.as_primitive::<Int64Type>();
    Ok((0..column.len()).map(|r| column.is_valid(r).then(|| column.value(r))).collect())
}

/// `value` as an SQL string literal.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn list_sources(catalog: &Arc<Catalog>) -> Result<Vec<SourceInfo>> {
    let mut out = Vec::new();
    for batch in
        batches(catalog, "SELECT source, count(DISTINCT arch_index) FROM benchmark GROUP BY source ORDER BY source")?
    {
        let (names, counts) = (strings(&batch, 0)?, ints(&batch, 1)?);
        for (name, count) in names.into_iter().zip(counts) {
            out.push(SourceInfo { name: name.unwrap_or_default(), archs: count.unwrap_or(0) as u64 });
        }
    }
    let evaluated = batches(catalog, "SELECT count(DISTINCT arch_index) FROM evaluations")?;
    let evaluated = evaluated.first().map(|b| ints(b, 0)).transpose()?.and_then(|v| v.first().copied().flatten());
    if let Some(n) = evaluated.filter(|&n| n > 0) {
        out.push(SourceInfo { name: EVALUATIONS.into(), archs: n as u64 });
    }
    Ok(out)
}

/// The order columns are shown in: the NB201 datasets first, clean first,
/// then attacks from weak to strong, ε ascending.
fn dataset_rank(dataset: &str) -> (usize, String) {
    let known = ["cifar10", "cifar10-valid", "cifar100", "imagenet16-120"];
    (known.iter().position(|d| *d == dataset).unwrap_or(known.len()), dataset.to_string())
}

fn attack_rank(attack: &str) -> (usize, String) {
    let known = ["clean", "fgsm", "pgd", "autoattack", "apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "square", "pgd-sweep"];
    (known.iter().position(|a| *a == attack).unwrap_or(known.len()), attack.to_string())
}

/// `pgd@8`, `clean`, `synflow`: a metric with its ε as search names it.
pub fn metric_name(attack: &str, eps: Option<f64>) -> String {
    match eps {
        Some(eps) if attack != "clean" && eps.is_finite() => format!("{attack}@{}", number(eps)),
        _ => attack.to_string(),
    }
}

/// A number as short as it can be written exactly (`8`, `0.5`).
pub fn number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

fn load_source(catalog: &Arc<Catalog>, name: &str) -> Result<SourceTable> {
    let sql = if name == EVALUATIONS {
        "SELECT dataset, attack, eps, arch_index, avg(accuracy) FROM evaluations GROUP BY 1, 2, 3, 4".to_string()
    } else {
        format!(
            "SELECT dataset, metric, eps, arch_index, avg(value) FROM benchmark WHERE source = {} GROUP BY 1, 2, 3, 4",
            quote(name)
        )
    };
    let mut cells: Vec<(String, String, Option<f64>, usize, f64)> = Vec::new();
    for batch in batches(catalog, &sql)? {
        let (datasets, attacks, eps, index, value) =
            (strings(&batch, 0)?, strings(&batch, 1)?, floats(&batch, 2)?, ints(&batch, 3)?, floats(&batch, 4)?);
        for r in 0..batch.num_rows() {
            let Some(i) = index[r].filter(|&i| (0..SPACE_SIZE as i64).contains(&i)) else { continue };
            let e = Some(eps[r]).filter(|e| e.is_finite());
            cells.push((
                datasets[r].clone().unwrap_or_default(),
                attacks[r].clone().unwrap_or_default(),
                e,
                i as usize,
                value[r],
            ));
        }
    }
    let mut columns: Vec<MetricColumn> = Vec::new();
    let mut column_of: HashMap<(String, String, Option<u64>), usize> = HashMap::new();
    let mut keys: Vec<(String, String, Option<f64>)> = cells.iter().map(|c| (c.0.clone(), c.1.clone(), c.2)).collect();
    keys.sort_by(|a, b| {
        (dataset_rank(&a.0), attack_rank(&a.1))
            .cmp(&(dataset_rank(&b.0), attack_rank(&b.1)))
            .then(a.2.unwrap_or(-1.0).total_cmp(&b.2.unwrap_or(-1.0)))
    });
    keys.dedup();
    for (dataset, attack, eps) in keys {
        let metric = metric_name(&attack, eps);
        column_of.insert((dataset.clone(), attack.clone(), eps.map(f64::to_bits)), columns.len());
        columns.push(MetricColumn { key: format!("{dataset}:{metric}"), dataset, metric, attack, eps });
    }
    let mut rows: Vec<ArchRow> = Vec::new();
    let mut position: HashMap<usize, usize> = HashMap::new();
    for (dataset, attack, eps, index, value) in cells {
        let c = column_of[&(dataset, attack, eps.map(f64::to_bits))];
        let r = *position.entry(index).or_insert_with(|| {
            rows.push(ArchRow { index, values: vec![f64::NAN; columns.len()] });
            rows.len() - 1
        });
        rows[r].values[c] = value;
    }
    rows.sort_by_key(|r| r.index);
    let position = rows.iter().enumerate().map(|(i, r)| (r.index, i)).collect();
    let sorted = (0..columns.len())
        .map(|c| {
            let mut v: Vec<f64> = rows.iter().map(|r| r.values[c]).filter(|v| !v.is_nan()).collect();
            v.sort_by(|a, b| b.total_cmp(a));
            v
        })
        .collect();
    Ok(SourceTable { name: name.to_string(), columns, rows, position, sorted })
}

/// What the space says about a cell: its string, op counts, and cost in
/// NAS-Bench-201's CIFAR-10 skeleton (C = 16, N = 5, 10 classes, 32×32).
pub struct ArchInfo {
    pub arch: Arch,
    pub text: String,
    pub ops: [u8; 5],
    pub params: u64,
    pub flops: f64,
}

/// Every cell's [`ArchInfo`], by index (computed once).
pub fn arch_infos() -> &'static [ArchInfo] {
    static INFOS: OnceLock<Vec<ArchInfo>> = OnceLock::new();
    INFOS.get_or_init(|| {
        let shape = ModelShape::nb201(10, 32);
        Space::nb201()
            .archs()
            .iter()
            .map(|&arch| {
                let mut ops = [0u8; 5];
                for op in arch.edges() {
                    ops[op.index()] += 1;
                }
                let c = cost(&arch, &shape);
                ArchInfo { arch, text: arch.to_string(), ops, params: c.params, flops: c.flops }
            })
            .collect()
    })
}

/// A short form of a cell: one letter per edge, nodes apart (`3|33|S33`).
pub fn short(arch: &Arch) -> String {
    let e = arch.edges().map(op_letter);
    format!("{}|{}{}|{}{}{}", e[0], e[1], e[2], e[3], e[4], e[5])
}

pub fn op_letter(op: Op) -> char {
    match op {
        Op::None => '0',
        Op::SkipConnect => 'S',
        Op::NorConv1x1 => '1',
        Op::NorConv3x3 => '3',
        Op::AvgPool3x3 => 'P',
    }
}

/// The members of every isomorphism class, by representative (computed once).
pub fn class_members(representative: usize) -> &'static [usize] {
    static MEMBERS: OnceLock<HashMap<usize, Vec<usize>>> = OnceLock::new();
    let members = MEMBERS.get_or_init(|| {
        let space = Space::nb201();
        let mut out: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..SPACE_SIZE {
            out.entry(space.unique_index(i).expect("in range")).or_default().push(i);
        }
        out
    });
    members.get(&representative).map(Vec::as_slice).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_named_as_search_names_them() {
        assert_eq!(metric_name("pgd", Some(8.0)), "pgd@8");
        assert_eq!(metric_name("clean", Some(0.0)), "clean");
        assert_eq!(metric_name("pgd-sweep", Some(0.5)), "pgd-sweep@0.5");
        assert_eq!(metric_name("synflow", None), "synflow");
    }

    #[test]
    fn classes_and_short_forms_come_from_the_space() {
        let space = Space::nb201();
        let rep = space.unique_index(1000).unwrap();
        assert!(class_members(rep).contains(&1000));
        assert_eq!(short(&space.arch(1000).unwrap()), "S|31|0S3");
    }
}
