//! Importing published benchmarks as tables: `benchmark` rows (every value of
//! the source, NB201 indices resolved to their isomorphism-class
//! representative) and `correlations` between the source's own metrics per
//! dataset (e.g. clean vs PGD@8 rankings on CIFAR-10).
//!
//! Imported corruption accuracies (`corruption:<name>@<severity>`, from the
//! robustness dataset) are correlated through their summaries, named as the
//! analysis names them: `corruption:<family>`, `corruption:mean` and
//! `corruption:robustbench` (the 15 × 5 mean), always as the `metric` of a
//! row; the 75 cells themselves are left to SQL on `benchmark`.
//!
//! An import is a one-stage pipeline of its own; its unit key hashes the
//! source kind and the blake3 of every input file, so re-importing unchanged
//! files does nothing and SQL always sees the latest import of each source.
//! Every input is a file or a copy shipped in the binary (`data/`).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{Float64Array, Int64Array, StringArray};
use robbench_analysis::Record;
use robbench_corruptions::{Corruption, Severity};
use robbench_pipeline::{
    Config, ConfigError, ConfigSchema, Pipeline, Runnable, Stage, UnitContext, UnitSpec, Upstream,
};
use robbench_published::Input;
use robbench_schemas::{BENCHMARK, CORRELATIONS, TableDef};
use robbench_space::Space;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Stage name under which imports are stored (SQL shows the latest per source).
pub const IMPORT_STAGE: &str = "import";

/// What to import.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ImportSource {
    /// The released NAS-RobBench-201 files (`meta.json`, `NAS-RobBench-201_all.json`).
    Nasrobbench201 { meta: Input, results: Input },
    /// The table the NAS-RobBench-201 project page serves (`acc={...}`), with `ops.json` for cell strings.
    Nasrobbench201Html { table: Input, ops: Option<Input> },
    /// Jung et al.'s robustness dataset: `meta.json` and `*_accuracy.json` files.
    RobustnessDataset { meta: Input, files: Vec<Input> },
    /// NAS-Bench-201's CIFAR-10 200-epoch accuracies (CSV).
    NasBench201 { csv: Input },
    /// NAS-Bench-Suite-Zero zero-cost proxy scores (CSV) for one dataset.
    ZeroCost { csv: Input, dataset: String },
}

impl ImportSource {
    pub fn name(&self) -> &'static str {
        match self {
            ImportSource::Nasrobbench201 { .. } => "nasrobbench201",
            ImportSource::Nasrobbench201Html { .. } => "nasrobbench201-html",
            ImportSource::RobustnessDataset { .. } => "robustness-dataset",
            ImportSource::NasBench201 { .. } => "nas-bench-201",
            ImportSource::ZeroCost { .. } => "zero-cost",
        }
    }

    fn inputs(&self) -> Vec<&Input> {
        match self {
            ImportSource::Nasrobbench201 { meta, results } => vec![meta, results],
            ImportSource::Nasrobbench201Html { table, ops } => std::iter::once(table).chain(ops).collect(),
            ImportSource::RobustnessDataset { meta, files } => std::iter::once(meta).chain(files).collect(),
            ImportSource::NasBench201 { csv } | ImportSource::ZeroCost { csv, .. } => vec![csv],
        }
    }

    fn read(&self) -> Result<Vec<Record>> {
        let space = Space::nb201();
        Ok(match self {
            ImportSource::Nasrobbench201 { meta, results } => robbench_analysis::import_nasrobbench201(meta, results)?,
            ImportSource::Nasrobbench201Html { table, ops } => {
                robbench_analysis::import_nasrobbench201_html(table, ops.as_ref())?
            }
            ImportSource::RobustnessDataset { meta, files } => {
                robbench_analysis::import_robustness_dataset(meta, files)?
            }
            ImportSource::NasBench201 { csv } => {
                robbench_analysis::import_nb201_cifar10(csv, |i| space.arch(i).ok().map(|a| a.to_string()))?
            }
            ImportSource::ZeroCost { csv, dataset } => robbench_analysis::import_zero_cost(csv, dataset)?
                .into_iter()
                .map(|score| {
                    let arch: robbench_space::Arch = score.arch.parse()?;
                    let index = space.unique_index(space.index_of(&arch))?;
                    Ok(Record {
                        source: "nas-bench-suite-zero".into(),
                        arch_index: index as u32,
                        arch: space.arch(index)?.to_string(),
                        dataset: score.dataset,
                        metric: score.proxy,
                        eps: None,
                        seed: None,
                        value: score.value,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }
}

#[derive(Serialize)]
struct ImportConfig {
    import: ImportSource,
}

struct ImportSchema;

impl ConfigSchema for ImportSchema {
    fn normalize(&self, raw: &Config) -> Result<Config, ConfigError> {
        let import: ImportSource = raw.typed("import")?;
        Config::from_serialize(&ImportConfig { import })
    }
}

struct Import;

impl Stage for Import {
    fn name(&self) -> &'static str {
        IMPORT_STAGE
    }
    fn version(&self) -> u32 {
        1
    }
    fn upstream(&self) -> &'static [&'static str] {
        &[]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&BENCHMARK, &CORRELATIONS]
    }

    fn plan(&self, config: &Config, _: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let source: ImportSource = config.typed("import")?;
        let mut hashes = BTreeMap::new();
        for input in source.inputs() {
            let bytes = input.bytes().with_context(|| format!("cannot read {input}"))?;
            hashes.insert(input.to_string(), blake3::hash(&bytes).to_hex().to_string());
        }
        Ok(vec![UnitSpec {
            label: source.name().to_string(),
            params: json!({ "source": source, "blake3": hashes }),
            config_keys: vec![],
            inputs: vec![],
            shard_group: None,
        }])
    }
}

impl Runnable for Import {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let source: ImportSource = serde_json::from_value(unit.params()["source"].clone())?;
        unit.progress(0.0, "reading");
        let records = source.read()?;
        anyhow::ensure!(!records.is_empty(), "{} holds no records", source.name());
        let n = records.len();
        let batch = BENCHMARK.batch(vec![
            Arc::new(StringArray::from(records.iter().map(|r| r.source.as_str()).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(records.iter().map(|r| r.arch_index as i64).collect::<Vec<_>>())),
            Arc::new(StringArray::from(records.iter().map(|r| r.arch.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(records.iter().map(|r| r.dataset.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(records.iter().map(|r| r.metric.as_str()).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(records.iter().map(|r| r.eps).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(records.iter().map(|r| r.seed).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(records.iter().map(|r| r.value).collect::<Vec<_>>())),
        ])?;
        unit.write_table(&BENCHMARK, &[batch])?;
        unit.note("records", n as u64);
        unit.progress(0.5, "correlating");
        let correlations = metric_correlations(&records);
        let batch = CORRELATIONS.batch(vec![
            Arc::new(StringArray::from(correlations.iter().map(|c| c.0.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(correlations.iter().map(|c| c.1.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(correlations.iter().map(|c| c.2.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(correlations.iter().map(|c| c.3.as_str()).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(correlations.iter().map(|c| c.4.n as i64).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(correlations.iter().map(|c| c.4.kendall_tau).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(correlations.iter().map(|c| c.4.spearman).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(correlations.iter().map(|c| c.4.pearson).collect::<Vec<_>>())),
        ])?;
        unit.write_table(&CORRELATIONS, &[batch])
    }
}

/// `metric` or `metric@eps`, the name a metric has in `correlations`.
pub fn metric_name(metric: &str, eps: Option<f64>) -> String {
    match eps {
        Some(e) if e.fract() == 0.0 => format!("{metric}@{e:.0}"),
        Some(e) => format!("{metric}@{e}"),
        None => metric.to_string(),
    }
}

/// (name, dataset) → arch index → values over seeds.
pub(crate) type Series = BTreeMap<(String, String), BTreeMap<i64, Vec<f64>>>;

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// One accuracy of a network under a corruption at a severity (a row of
/// `corruption_evaluations`, or an imported `corruption:<name>@<severity>`).
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    pub corruption: String,
    pub family: String,
    pub standard: bool,
    pub severity: i64,
    pub accuracy: f64,
}

impl Cell {
    /// The cell of a metric named `corruption:<name>@<severity>` (`None` for
    /// any other metric or an unknown corruption).
    pub fn parse(metric: &str, accuracy: f64) -> Option<Cell> {
        let (name, severity) = metric.strip_prefix(CORRUPTION)?.split_once('@')?;
        let corruption: Corruption = name.parse().ok()?;
        Some(Cell {
            corruption: name.to_string(),
            family: corruption.family().to_string(),
            standard: corruption.is_standard(),
            severity: severity.parse().ok()?,
            accuracy,
        })
    }

    /// Its metric, e.g. `corruption:fog@5`.
    pub fn metric(&self) -> String {
        format!("corruption:{}@{}", self.corruption, self.severity)
    }
}

/// (dataset, arch index, seed) → every corruption × severity it was evaluated on.
pub(crate) type CorruptionCells = BTreeMap<(String, i64, i64), Vec<Cell>>;

/// The summaries of the corruption cells: `corruption:<family>`,
/// `corruption:mean` and, over exactly the 15 standard corruptions × 5
/// severities, `corruption:robustbench`; one value per network and seed.
pub(crate) fn corruption_summaries(cells: &CorruptionCells) -> Series {
    let mut out = Series::new();
    for ((dataset, arch, _seed), cells) in cells {
        let mut push = |name: String, value: f64| {
            out.entry((name, dataset.clone())).or_default().entry(*arch).or_default().push(value);
        };
        let mut families: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut standard: BTreeMap<(&str, i64), f64> = BTreeMap::new();
        for cell in cells {
            families.entry(&cell.family).or_default().push(cell.accuracy);
            if cell.standard {
                standard.insert((&cell.corruption, cell.severity), cell.accuracy);
            }
        }
        for (family, values) in &families {
            push(format!("corruption:{family}"), mean(values));
        }
        let all: Vec<f64> = cells.iter().map(|c| c.accuracy).collect();
        push("corruption:mean".into(), mean(&all));
        let robustbench: Option<Vec<f64>> = Corruption::STANDARD
            .iter()
            .flat_map(|c| Severity::ALL.iter().map(move |s| (c.name(), i64::from(s.get()))))
            .map(|cell| standard.get(&cell).copied())
            .collect();
        if let Some(values) = robustbench {
            push("corruption:robustbench".into(), mean(&values));
        }
    }
    out
}

/// (source, dataset, metric name): one series of values per architecture.
type SeriesKey = (String, String, String);

/// The prefix of every corruption metric.
const CORRUPTION: &str = "corruption:";

/// Every pair of metrics of one source and dataset, over the architectures
/// both cover (values averaged over seeds and duplicates first); corruption
/// cells enter through their summaries (module docs).
fn metric_correlations(records: &[Record]) -> Vec<(String, String, String, String, robbench_analysis::Correlation)> {
    // Per series and architecture: (sum, count) of its values.
    let mut series: BTreeMap<SeriesKey, BTreeMap<u32, (f64, usize)>> = BTreeMap::new();
    // Per source, the corruption cells of each (dataset, architecture, seed).
    let mut cells: BTreeMap<&str, CorruptionCells> = BTreeMap::new();
    for r in records.iter().filter(|r| r.value.is_finite()) {
        if let Some(cell) = Cell::parse(&r.metric, r.value) {
            let key = (r.dataset.clone(), i64::from(r.arch_index), r.seed.unwrap_or(-1));
            cells.entry(&r.source).or_default().entry(key).or_default().push(cell);
            continue;
        }
        let entry = series
            .entry((r.source.clone(), r.dataset.clone(), metric_name(&r.metric, r.eps)))
            .or_default()
            .entry(r.arch_index)
            .or_insert((0.0, 0));
        entry.0 += r.value;
        entry.1 += 1;
    }
    for (source, cells) in &cells {
        for ((name, dataset), by_arch) in corruption_summaries(cells) {
            let by_arch = by_arch.into_iter().map(|(arch, v)| (arch as u32, (v.iter().sum(), v.len()))).collect();
            series.insert((source.to_string(), dataset, name), by_arch);
        }
    }
    let means: Vec<(SeriesKey, Vec<(u32, f64)>)> = series
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|(arch, (sum, n))| (arch, sum / n as f64)).collect()))
        .collect();
    let mut out = Vec::new();
    for (i, ((source, dataset, score), a)) in means.iter().enumerate() {
        for ((source_b, dataset_b, metric), b) in &means[i + 1..] {
            if source_b != source || dataset_b != dataset {
                continue;
            }
            // A corruption metric is always the row's `metric`, as in the analysis.
            let (score, metric) = if score.starts_with(CORRUPTION) && !metric.starts_with(CORRUPTION) {
                (metric, score)
            } else {
                (score, metric)
            };
            if let Ok(c) = robbench_analysis::correlate(a, b) {
                out.push((source.clone(), score.clone(), metric.clone(), dataset.clone(), c));
            }
        }
    }
    out
}

/// The pipeline `robbench import` runs, and the config that selects `source`.
pub fn import_pipeline(source: &ImportSource) -> Result<(Pipeline, Config)> {
    let pipeline = Pipeline::new(Box::new(ImportSchema), vec![Box::new(Import)])?;
    let config = Config::from_serialize(&ImportConfig { import: source.clone() })?;
    Ok((pipeline, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_corruption_metrics_parse_into_cells() {
        let cell = Cell::parse("corruption:fog@5", 0.25).unwrap();
        assert_eq!(
            (cell.family.as_str(), cell.standard, cell.severity, cell.metric()),
            ("weather", true, 5, "corruption:fog@5".into())
        );
        assert!(Cell::parse("corruption:spatter@1", 0.5).is_some_and(|c| !c.standard));
        assert!(Cell::parse("corruption:mean", 0.5).is_none());
        assert!(Cell::parse("corruption:fogg@5", 0.5).is_none());
        assert!(Cell::parse("pgd@8", 0.5).is_none());
    }
}
