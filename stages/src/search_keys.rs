//! Every key of the `[search]` section (`robbench search`, [`SearchConfig`])
//! as data: its type, what the search accepts beyond the type, and what it
//! means; and the shapes of its two tagged tables, the objectives
//! ([`ObjectiveSpec`]) and the warm start's score ([`ScoreSpec`]), with
//! their fields.
//!
//! `robbench reference` renders this table as
//! `docs/src/reference/search-config.md`, adding what the code knows by
//! itself: each key's value in `configs/search.toml` and in
//! [`SearchConfig::default`] (what a file that omits the key gets), the names
//! a choice accepts (from the serde enum), the names of the shapes and their
//! fields and the defaults of those fields (from the types' `Deserialize`
//! and `Serialize`). The tests below check that the table names every key the
//! serialised config has and no other, every shape and field serde knows and
//! no other, that each declared type matches the defaults, and probe every
//! choice and range against what the search refuses.

use robbench_experiment::config::DatasetName;
use robbench_experiment::config::keys::{Check, Kind, Rule, variants};
use robbench_pipeline::Config;
use robbench_search::Algorithm;
use serde::Serialize;
use serde::de::value::MapDeserializer;
use serde::de::{self, DeserializeOwned};
use serde_json::Value as Json;

use crate::config::NtkWeights;
use crate::search::{BoundsColumn, NtkColumn, NtkKernel, ObjectiveSpec, ScoreSpec, SearchConfig, search_config};

/// `configs/search.toml`: what `robbench search` reads without `--config`.
pub const SEARCH_TOML: &str = include_str!("../../configs/search.toml");

/// One key of the `[search]` section.
pub struct SearchKey {
    /// Dotted path, e.g. `search.settings.population`.
    pub key: &'static str,
    pub value: KeyType,
    /// What the search refuses, beyond the type. A rule's `setup` holds
    /// `--set` assignments that make it apply, for the tests' probes.
    pub rules: &'static [Rule],
    /// What the key means (Markdown).
    pub doc: &'static str,
}

/// What a key holds.
pub enum KeyType {
    /// A value of a kind the experiment's keys have too.
    Plain(Kind),
    /// A table of one of the shapes of a tagged enum.
    Table(&'static Tagged),
    /// A list of such tables.
    Tables(&'static Tagged),
}

/// A serde enum tagged internally: a table whose tag key names its shape.
pub struct Tagged {
    /// The page's section on these tables (plain words: its anchor is derived).
    pub title: &'static str,
    /// The Rust type, for whoever reads the code.
    pub rust: &'static str,
    /// What the tables are (Markdown).
    pub doc: &'static str,
    /// Every shape, in the order of the enum.
    pub shapes: &'static [Shape],
    /// The names serde knows: the tag, the shapes and their fields.
    pub names: fn() -> TagNames,
    /// A shape's table deserialised into the enum and serialised again:
    /// every field, with the defaults of those left out.
    pub filled: fn(&Json) -> Result<Json, String>,
}

/// The names of a tagged enum, as its `Deserialize` implementation accepts them.
#[derive(Debug, PartialEq)]
pub struct TagNames {
    pub tag: &'static str,
    /// Each shape with its fields, in declaration order.
    pub shapes: Vec<(&'static str, &'static [&'static str])>,
}

/// One shape of a tagged table.
pub struct Shape {
    /// The tag's value.
    pub name: &'static str,
    /// What the shape is (Markdown).
    pub doc: &'static str,
    /// A TOML inline table of this shape with its tag and exactly its
    /// required fields: the page calls those fields required, and takes the
    /// others' defaults from this example, filled in.
    pub example: &'static str,
    /// Every field but the tag.
    pub fields: &'static [Field],
}

/// A field of a shape.
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// As [`SearchKey::rules`]; a rule's `setup` here holds `field=value`
    /// assignments within the shape's example.
    pub rules: &'static [Rule],
    pub doc: &'static str,
    /// For a field whose default depends on the others: that default, in words (Markdown).
    pub default: Option<fn() -> String>,
}

impl Tagged {
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.iter().find(|s| s.name == name)
    }
}

impl Shape {
    /// The example as JSON.
    pub fn example(&self) -> Json {
        let config = Config::from_toml_str(&format!("example = {}", self.example), self.name)
            .unwrap_or_else(|e| panic!("the example of shape `{}` is not TOML: {e}", self.name));
        config.canonical_json()["example"].clone()
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// `key` in [`KEYS`].
pub fn by_key(key: &str) -> Option<&'static SearchKey> {
    KEYS.iter().find(|k| k.key == key)
}

/// `configs/search.toml` as the search reads it: validated, defaults filled in.
pub fn embedded() -> anyhow::Result<Config> {
    let raw = Config::from_toml_str(SEARCH_TOML, "configs/search.toml")?;
    as_file(&search_config(&raw)?)
}

/// What a file that sets no key gets: [`SearchConfig::default`].
pub fn built_in() -> anyhow::Result<Config> {
    as_file(&SearchConfig::default())
}

fn as_file(search: &SearchConfig) -> anyhow::Result<Config> {
    Ok(Config::from_serialize(&serde_json::json!({ "search": search }))?)
}

/// The shape a table of tagged `key` has when it leaves out its tag, if
/// the search gives it one (`search.warm_start`: a `benchmark` metric).
pub fn implied_tag(key: &SearchKey) -> Option<&'static str> {
    let (tagged, list) = match key.value {
        KeyType::Table(t) => (t, false),
        KeyType::Tables(t) => (t, true),
        KeyType::Plain(_) => return None,
    };
    let tag = (tagged.names)().tag;
    tagged.shapes.iter().map(|s| s.name).find(|&name| {
        let mut untagged = tagged.shape(name).expect("a shape of its own").example();
        untagged.as_object_mut().expect("an example is a table").remove(tag);
        let value = if list { Json::Array(vec![untagged]) } else { untagged };
        let Ok(cfg) = search_with(key.key, value) else { return false };
        let mut got = serde_json::to_value(&cfg).expect("a config serialises");
        for part in key.key.split('.').skip(1) {
            got = got[part].take();
        }
        let got = if list { got[0].take() } else { got };
        got[tag] == name
    })
}

/// `configs/search.toml` with `key` set to `value`, as the search reads it.
pub fn search_with(key: &str, value: Json) -> anyhow::Result<SearchConfig> {
    search_with_all(&[(key, value)])
}

/// `configs/search.toml` with each of `sets`, as the search reads it.
pub fn search_with_all(sets: &[(&str, Json)]) -> anyhow::Result<SearchConfig> {
    let mut json = Config::from_toml_str(SEARCH_TOML, "configs/search.toml")?.canonical_json();
    for (key, value) in sets {
        let mut at = &mut json;
        for part in key.split('.') {
            at = &mut at[part];
        }
        *at = value.clone();
    }
    search_config(&Config::from_serialize(&json)?)
}

// ------------------------------------------------------------ serde's names

/// What a probe of a `Deserialize` implementation learnt.
#[derive(Debug)]
enum Probed {
    /// A required field was missing: an internally tagged enum's tag, when nothing was given.
    Missing(&'static str),
    /// An unknown variant or field was refused: the names expected instead.
    Expected(&'static [&'static str]),
    Other(String),
}

impl std::fmt::Display for Probed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Probed::Missing(field) => write!(f, "missing field `{field}`"),
            Probed::Expected(names) => write!(f, "expected one of {names:?}"),
            Probed::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Probed::Other(message.to_string())
    }
    fn missing_field(field: &'static str) -> Self {
        Probed::Missing(field)
    }
    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        Probed::Expected(expected)
    }
    fn unknown_field(_: &str, expected: &'static [&'static str]) -> Self {
        Probed::Expected(expected)
    }
}

/// Feeds `T` a table of string values and says what it refused.
fn probe<T: DeserializeOwned>(entries: &[(&'static str, &'static str)]) -> Probed {
    match T::deserialize(MapDeserializer::<_, Probed>::new(entries.iter().copied())) {
        Ok(_) => Probed::Other("accepted".into()),
        Err(e) => e,
    }
}

/// The names of an internally tagged serde enum whose variants are structs
/// that deny unknown fields: an empty table is refused for its missing tag,
/// an unknown tag with the variants' names, an unknown field with the
/// variant's fields.
fn tag_names<T: DeserializeOwned>() -> TagNames {
    let what = std::any::type_name::<T>();
    let Probed::Missing(tag) = probe::<T>(&[]) else { panic!("{what} is no internally tagged enum") };
    let Probed::Expected(names) = probe::<T>(&[(tag, "\u{0}")]) else { panic!("{what}: no variant names") };
    let shapes = names
        .iter()
        .map(|&name| match probe::<T>(&[(tag, name), ("\u{0}", "")]) {
            Probed::Expected(fields) => (name, fields),
            other => panic!("{what}::{name}: an unknown field is not refused with the fields' names ({other})"),
        })
        .collect();
    TagNames { tag, shapes }
}

fn filled<T: DeserializeOwned + Serialize>(table: &Json) -> Result<Json, String> {
    let value: T = serde_json::from_value(table.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&value).map_err(|e| e.to_string())
}

// ------------------------------------------------------------ the table

const fn always(check: Check) -> Rule {
    Rule { check, when: "", setup: &[] }
}

const fn at_least(min: f64) -> Check {
    Check::Range { min, min_inclusive: true, max: f64::INFINITY, max_inclusive: false }
}

/// A finite number above 0.
const POSITIVE: &[Rule] =
    &[always(Check::Range { min: 0.0, min_inclusive: false, max: f64::INFINITY, max_inclusive: false })];

const fn closed(min: f64, max: f64) -> Check {
    Check::Range { min, min_inclusive: true, max, max_inclusive: true }
}

const COUNT: &[Rule] = &[always(at_least(1.0))];
const FRACTION: &[Rule] = &[always(closed(0.0, 1.0))];
const PLANNED: &str = "checked when the search plans";

/// Which way a default direction goes, in words.
fn direction(higher: Option<bool>) -> &'static str {
    match higher {
        Some(true) => "`true`",
        Some(false) => "`false`",
        None => "none, must be set",
    }
}

/// The default direction of every `column` of a project score (`table`),
/// from [`ScoreSpec::default_direction`].
fn directions_by_column(table: &str, column_names: &[&str], extra: Json) -> String {
    let mut by: Vec<(&'static str, Vec<String>)> = Vec::new();
    for column in column_names {
        let mut spec = serde_json::json!({ "table": table, "column": column });
        spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let spec: ScoreSpec = serde_json::from_value(spec).expect("every column is a score");
        let words = direction(spec.default_direction());
        match by.iter_mut().find(|(w, _)| *w == words) {
            Some((_, columns)) => columns.push(format!("`{column}`")),
            None => by.push((words, vec![format!("`{column}`")])),
        }
    }
    by.iter().map(|(words, columns)| format!("{words} for {}", columns.join(", "))).collect::<Vec<_>>().join("; ")
}

fn ntk_directions() -> String {
    directions_by_column("ntk", variants::<NtkColumn>(), serde_json::json!({ "kernel": variants::<NtkKernel>()[0] }))
}

fn bounds_directions() -> String {
    directions_by_column("bounds", variants::<BoundsColumn>(), serde_json::json!({}))
}

fn benchmark_directions() -> String {
    "`true` for the source `nas-bench-suite-zero` and for accuracies (`clean`, a name with `@`, a name ending in \
     `_acc`); `false` for a name ending in `_loss`; otherwise none, must be set"
        .into()
}

const HIGHER_IS_BETTER: &str = "Whether a higher value ranks first. Left out, the score's known direction; a score \
    without one is refused, naming `search.warm_start.higher_is_better`.";
const SCORED_ON: &str = "The dataset the scores were computed on; left out, `search.dataset`. Another one ranks the \
    searched table's cells by scores computed elsewhere (e.g. `synthetic`, the training-free proxy study's images); \
    a live warm start computes on the recipe's dataset and refuses another.";
const WEIGHTS: &str = "The weights whose kernel it is: the initialisation or the trained network (the experiment's \
    `ntk.weights` decides which the store has).";

pub static OBJECTIVES: Tagged = Tagged {
    title: "Objectives",
    rust: "ObjectiveSpec",
    doc: "An objective is what a search maximises; each has units of its own, one per algorithm and trial. A metric is one the source names \
          (`clean`, `pgd@8`, `test_acc`…; for `evaluations` and live searches, an attack with its ε) or `params` / \
          `flops`, the cell's at the dataset's NAS-Bench-201 skeleton; a leading `-` minimises it (`-flops`). A \
          metric the source lacks is refused when the search plans, naming those it has.",
    shapes: &[
        Shape {
            name: "metric",
            doc: "One metric; the tables name the objective after it.",
            example: r#"{ kind = "metric", metric = "pgd@8" }"#,
            fields: &[Field { name: "metric", kind: Kind::String, rules: &[], doc: "The metric.", default: None }],
        },
        Shape {
            name: "weighted",
            doc: "(1 − β)·clean + β·robust, named `weighted(clean,robust,beta=β)` in the tables.",
            example: r#"{ kind = "weighted", clean = "clean", robust = "pgd@8", beta = 0.5 }"#,
            fields: &[
                Field { name: "clean", kind: Kind::String, rules: &[], doc: "The first metric.", default: None },
                Field { name: "robust", kind: Kind::String, rules: &[], doc: "The second metric.", default: None },
                Field {
                    name: "beta",
                    kind: Kind::Float,
                    rules: FRACTION,
                    doc: "β, the second's weight.",
                    default: None,
                },
            ],
        },
        Shape {
            name: "pareto",
            doc: "Both metrics, maximised jointly: a trial is scored by the hypervolume of its Pareto front above \
                  `reference`; named `pareto(first,second)` in the tables.",
            example: r#"{ kind = "pareto", first = "clean", second = "pgd@8" }"#,
            fields: &[
                Field { name: "first", kind: Kind::String, rules: &[], doc: "The first metric.", default: None },
                Field { name: "second", kind: Kind::String, rules: &[], doc: "The second metric.", default: None },
                Field {
                    name: "reference",
                    kind: Kind::List(&Kind::Float),
                    rules: &[always(Check::Text("two numbers"))],
                    doc: "The hypervolume's reference point (first, second).",
                    default: None,
                },
            ],
        },
    ],
    names: tag_names::<ObjectiveSpec>,
    filled: filled::<ObjectiveSpec>,
};

pub static WARM_START: Tagged = Tagged {
    title: "Warm start",
    rust: "ScoreSpec",
    doc: "The training-free score of `search.dataset` that `warm-start-evolution` ranks `search.settings.warm_pool` \
          random cells by, averaged over seeds within each architecture's class. A project score (`ntk`, `bounds`) \
          comes from the run searched (`--run`; a live search computes it at each proposal's initialisation). \
          Another score replaces the whole table, e.g. `--set 'search.warm_start={ table = \"ntk\", column = \
          \"lambda_min\", kernel = \"robust\" }'`.",
    shapes: &[
        Shape {
            name: "benchmark",
            doc: "A metric of an imported `benchmark` source, e.g. a NAS-Bench-Suite-Zero proxy (`robbench import \
                  zero-cost`).",
            example: r#"{ table = "benchmark" }"#,
            fields: &[
                Field {
                    name: "source",
                    kind: Kind::String,
                    rules: &[always(Check::Text(PLANNED))],
                    doc: "The `benchmark` source.",
                    default: None,
                },
                Field {
                    name: "metric",
                    kind: Kind::String,
                    rules: &[always(Check::Text(PLANNED))],
                    doc: "Its metric (`nwot`, `synflow`, `pgd@8`…).",
                    default: None,
                },
                Field {
                    name: "higher_is_better",
                    kind: Kind::Bool,
                    rules: &[],
                    doc: HIGHER_IS_BETTER,
                    default: Some(benchmark_directions),
                },
            ],
        },
        Shape {
            name: "ntk",
            doc: "A spectral summary of one kernel of this project's `ntk` table.",
            example: r#"{ table = "ntk", column = "lambda_min", kernel = "robust" }"#,
            fields: &[
                Field {
                    name: "column",
                    kind: Kind::Choice(variants::<NtkColumn>),
                    rules: &[],
                    doc: "The `ntk` column.",
                    default: None,
                },
                Field {
                    name: "weights",
                    kind: Kind::Choice(variants::<NtkWeights>),
                    rules: &[],
                    doc: WEIGHTS,
                    default: None,
                },
                Field {
                    name: "kernel",
                    kind: Kind::Choice(variants::<NtkKernel>),
                    rules: &[],
                    doc: "The kernel (the `kernel` column).",
                    default: None,
                },
                Field {
                    name: "beta",
                    kind: Kind::Float,
                    rules: &[
                        Rule { check: closed(0.0, 1.0), when: "", setup: &["kernel=\"all\""] },
                        always(Check::Text("0 unless `kernel` is a mixture, `all` or `robust_all`")),
                    ],
                    doc: "The mixtures' robust weight (the `beta` column).",
                    default: None,
                },
                Field {
                    name: "higher_is_better",
                    kind: Kind::Bool,
                    rules: &[],
                    doc: HIGHER_IS_BETTER,
                    default: Some(ntk_directions),
                },
                Field { name: "dataset", kind: Kind::String, rules: &[], doc: SCORED_ON, default: None },
            ],
        },
        Shape {
            name: "bounds",
            doc: "A bound term of this project's `bounds` table, for the objective of robust weight `beta`.",
            example: r#"{ table = "bounds", column = "robust_bound" }"#,
            fields: &[
                Field {
                    name: "column",
                    kind: Kind::Choice(variants::<BoundsColumn>),
                    rules: &[],
                    doc: "The `bounds` column.",
                    default: None,
                },
                Field {
                    name: "weights",
                    kind: Kind::Choice(variants::<NtkWeights>),
                    rules: &[],
                    doc: WEIGHTS,
                    default: None,
                },
                Field {
                    name: "beta",
                    kind: Kind::Float,
                    rules: FRACTION,
                    doc: "The objective's robust weight (the `beta` column).",
                    default: None,
                },
                Field {
                    name: "higher_is_better",
                    kind: Kind::Bool,
                    rules: &[],
                    doc: HIGHER_IS_BETTER,
                    default: Some(bounds_directions),
                },
                Field { name: "dataset", kind: Kind::String, rules: &[], doc: SCORED_ON, default: None },
            ],
        },
    ],
    names: tag_names::<ScoreSpec>,
    filled: filled::<ScoreSpec>,
};

/// Every key of the `[search]` section, in the order of `configs/search.toml`.
pub static KEYS: &[SearchKey] = &[
    SearchKey {
        key: "search.source",
        value: KeyType::Plain(Kind::String),
        rules: &[always(Check::Text(
            "a `benchmark` source with rows for `search.dataset`, `evaluations` or `live`; checked when the search plans",
        ))],
        doc: "The oracle: a source of the `benchmark` table (`nas-robbench-201`, `nas-bench-201`…, imported with \
              `robbench import`), this project's `evaluations` (of the run `--run` chooses), or `live`: the \
              pipeline trains and attacks every proposal with the experiment's recipe (`--experiment`).",
    },
    SearchKey {
        key: "search.dataset",
        value: KeyType::Plain(Kind::Choice(variants::<DatasetName>)),
        rules: &[always(Check::Text(
            "checked when the search plans; for a live search, the experiment's `dataset.name`",
        ))],
        doc: "The dataset whose values the search sees; it also decides the skeleton of `params` and `flops`.",
    },
    SearchKey {
        key: "search.algorithms",
        value: KeyType::Plain(Kind::List(&Kind::Choice(variants::<Algorithm>))),
        rules: &[always(Check::NonEmpty)],
        doc: "The algorithms to run, each on every objective (see the guide's *Architecture search*).",
    },
    SearchKey {
        key: "search.objectives",
        value: KeyType::Tables(&OBJECTIVES),
        rules: &[always(Check::NonEmpty)],
        doc: "What the searches maximise.",
    },
    SearchKey {
        key: "search.trials",
        value: KeyType::Plain(Kind::Unsigned),
        rules: COUNT,
        doc: "Trials per objective and algorithm; raising it runs only the new trials.",
    },
    SearchKey {
        key: "search.seed",
        value: KeyType::Plain(Kind::Unsigned),
        rules: &[],
        doc: "Base seed: trial t searches with seed `seed + t`.",
    },
    SearchKey {
        key: "search.queries",
        value: KeyType::Plain(Kind::Unsigned),
        rules: COUNT,
        doc: "Budget of a trial: distinct architecture classes evaluated.",
    },
    SearchKey {
        key: "search.gpu_hours",
        value: KeyType::Plain(Kind::Float),
        rules: &[always(at_least(0.0))],
        doc: "Budget of a trial in simulated GPU-hours (see `search.cost`; a live search measures device-hours); \
              0: none. A trial stops at whichever budget it reaches first.",
    },
    SearchKey {
        key: "search.settings.population",
        value: KeyType::Plain(Kind::Unsigned),
        rules: &[Rule { check: at_least(1.0), when: "", setup: &["search.settings.sample=1"] }],
        doc: "Regularized evolution (and the warm start's): population size.",
    },
    SearchKey {
        key: "search.settings.sample",
        value: KeyType::Plain(Kind::Unsigned),
        rules: &[always(at_least(1.0)), always(Check::Text("at most `search.settings.population`"))],
        doc: "Regularized evolution: tournament size.",
    },
    SearchKey {
        key: "search.settings.initial",
        value: KeyType::Plain(Kind::Unsigned),
        rules: COUNT,
        doc: "GP Bayesian optimisation: random queries before the first model.",
    },
    SearchKey {
        key: "search.settings.candidates",
        value: KeyType::Plain(Kind::Unsigned),
        rules: &[],
        doc: "GP Bayesian optimisation: random unseen cells scored per iteration, besides the neighbours of the best five.",
    },
    SearchKey {
        key: "search.settings.warm_pool",
        value: KeyType::Plain(Kind::Unsigned),
        rules: &[],
        doc: "Warm start: random cells ranked by the training-free score; the best `population` of them are evaluated first.",
    },
    SearchKey {
        key: "search.cost.epochs",
        value: KeyType::Plain(Kind::Float),
        rules: POSITIVE,
        doc: "Simulated cost of one evaluation in a search over a table (what `search.gpu_hours` counts): training epochs.",
    },
    SearchKey {
        key: "search.cost.attack_steps",
        value: KeyType::Plain(Kind::Float),
        rules: &[always(at_least(0.0))],
        doc: "Simulated cost: PGD steps per training batch (0: standard training).",
    },
    SearchKey {
        key: "search.cost.train_images",
        value: KeyType::Plain(Kind::Float),
        rules: POSITIVE,
        doc: "Simulated cost: training images per epoch.",
    },
    SearchKey {
        key: "search.cost.tflops",
        value: KeyType::Plain(Kind::Float),
        rules: POSITIVE,
        doc: "Simulated cost: sustained TFLOP/s of the simulated GPU. One evaluation costs 2 × the cell's \
              multiply-accumulates per image × 3 (forward and backward) × (1 + `attack_steps`) × `epochs` × \
              `train_images` floating-point operations.",
    },
    SearchKey {
        key: "search.warm_start",
        value: KeyType::Table(&WARM_START),
        rules: &[always(Check::Text(
            "in a live search with `warm-start-evolution`: an `ntk` or `bounds` score with `weights = \"init\"`",
        ))],
        doc: "The training-free score `warm-start-evolution` ranks by (read only when it runs).",
    },
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::search::{SearchData, search_pipeline};

    fn tagged() -> [&'static Tagged; 2] {
        [&OBJECTIVES, &WARM_START]
    }

    /// Every leaf of the `[search]` section: values, lists, and the tables of tagged keys.
    fn leaves(config: &Config) -> Vec<(String, Json)> {
        fn walk(path: String, value: &Json, out: &mut Vec<(String, Json)>) {
            let tagged = by_key(&path).is_some_and(|k| !matches!(k.value, KeyType::Plain(_)));
            match value {
                Json::Object(table) if !tagged => {
                    for (name, inner) in table {
                        walk(format!("{path}.{name}"), inner, out);
                    }
                }
                _ => out.push((path, value.clone())),
            }
        }
        let mut out = Vec::new();
        walk("search".into(), &config.canonical_json()["search"], &mut out);
        out
    }

    fn matches_kind(value: &Json, kind: &Kind) -> bool {
        match (kind, value) {
            (Kind::Bool, Json::Bool(_)) | (Kind::String | Kind::Input, Json::String(_)) => true,
            (Kind::Integer, Json::Number(n)) => n.is_i64() || n.is_u64(),
            (Kind::Unsigned, Json::Number(n)) => n.is_u64(),
            (Kind::Float, Json::Number(n)) => n.is_f64(),
            (Kind::Choice(names), Json::String(s)) => names().contains(&s.as_str()),
            (Kind::List(element), Json::Array(items)) => items.iter().all(|v| matches_kind(v, element)),
            _ => false,
        }
    }

    /// Whether `value` is a table of `tagged` whose fields have their documented kinds.
    fn matches_shape(value: &Json, tagged: &Tagged) -> bool {
        let tag = (tagged.names)().tag;
        let Some(shape) = value.get(tag).and_then(Json::as_str).and_then(|name| tagged.shape(name)) else {
            return false;
        };
        value
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| *name != tag)
            .all(|(name, v)| shape.field(name).is_some_and(|f| matches_kind(v, &f.kind)))
    }

    fn matches_type(value: &Json, ty: &KeyType) -> bool {
        match (ty, value) {
            (KeyType::Plain(kind), _) => matches_kind(value, kind),
            (KeyType::Table(tagged), _) => matches_shape(value, tagged),
            (KeyType::Tables(tagged), Json::Array(items)) => items.iter().all(|v| matches_shape(v, tagged)),
            _ => false,
        }
    }

    #[test]
    fn every_search_key_is_documented_once_with_its_type_and_exists() {
        let names: BTreeSet<&str> = KEYS.iter().map(|k| k.key).collect();
        assert_eq!(names.len(), KEYS.len(), "a key is documented twice");
        for (which, config) in
            [("configs/search.toml", embedded().unwrap()), ("SearchConfig::default()", built_in().unwrap())]
        {
            let leaves = leaves(&config);
            for (key, value) in &leaves {
                let doc = by_key(key).unwrap_or_else(|| {
                    panic!("search key `{key}` ({which}) has no entry in robbench_stages::search_keys::KEYS")
                });
                assert!(matches_type(value, &doc.value), "`{key}` is {value} in {which}, not of its documented type");
            }
            for doc in KEYS {
                assert!(
                    leaves.iter().any(|(key, _)| key == doc.key),
                    "`{}` is documented but {which} has no such key",
                    doc.key
                );
            }
        }
    }

    #[test]
    fn the_shapes_and_fields_are_those_serde_knows() {
        for tagged in tagged() {
            let names = (tagged.names)();
            let documented: Vec<&str> = tagged.shapes.iter().map(|s| s.name).collect();
            let known: Vec<&str> = names.shapes.iter().map(|s| s.0).collect();
            assert_eq!(documented, known, "{}: the documented shapes are not the enum's, in its order", tagged.rust);
            for (name, fields) in &names.shapes {
                let shape = tagged.shape(name).unwrap();
                let documented: Vec<&str> = shape.fields.iter().map(|f| f.name).collect();
                assert_eq!(&documented, fields, "{}::{name}: the documented fields are not the variant's", tagged.rust);
            }
        }
    }

    #[test]
    fn the_examples_hold_exactly_the_required_fields_and_every_field_has_its_kind() {
        for tagged in tagged() {
            let tag = (tagged.names)().tag;
            for shape in tagged.shapes {
                let example = shape.example();
                assert_eq!(example[tag], shape.name, "the example of `{}` is not tagged as such", shape.name);
                let full = (tagged.filled)(&example).unwrap_or_else(|e| panic!("`{}`'s example: {e}", shape.name));
                for (name, value) in full.as_object().unwrap() {
                    if name != tag {
                        let field = shape.field(name).unwrap_or_else(|| {
                            panic!("{}::{}: field `{name}` has no doc entry", tagged.rust, shape.name)
                        });
                        assert!(matches_kind(value, &field.kind), "{}.{name} = {value} is not its kind", shape.name);
                    }
                }
                for name in example.as_object().unwrap().keys().filter(|n| *n != tag) {
                    let mut without = example.clone();
                    without.as_object_mut().unwrap().remove(name);
                    assert!(
                        (tagged.filled)(&without).is_err(),
                        "{}.{name} has a default: drop it from the example",
                        shape.name
                    );
                }
            }
        }
    }

    /// The error (normalising, then planning over a made-up oracle), if
    /// `configs/search.toml` with `sets` is refused.
    fn refusal(sets: &[(&str, Json)]) -> Option<String> {
        let cfg = match search_with_all(sets) {
            Ok(cfg) => cfg,
            Err(e) => return Some(format!("{e:#}")),
        };
        let metrics = cfg
            .objectives
            .iter()
            .flat_map(|o| o.metrics())
            .map(|m| (m.trim_start_matches('-').to_string(), (0..50).map(|c| (c, c as f64 / 100.0)).collect()))
            .collect();
        let data = SearchData {
            source: cfg.source.clone(),
            dataset: cfg.dataset.clone(),
            metrics,
            scores: [(0, 1.0), (1, 2.0)].into(),
        };
        let raw = Config::from_serialize(&serde_json::json!({ "search": cfg })).unwrap();
        search_pipeline(data).and_then(|p| p.plan(&raw).map(|_| ())).err().map(|e| format!("{e:#}"))
    }

    /// Whether `message` names `key`: the key, or its section and its name.
    fn names(message: &Option<String>, key: &str) -> bool {
        let Some(message) = message else { return false };
        let (section, name) = key.rsplit_once('.').unwrap();
        message.contains(key) || (message.contains(section) && message.contains(name))
    }

    fn number(kind: &Kind, x: f64) -> Json {
        if kind.is_integer() { serde_json::json!(x as i64) } else { serde_json::json!(x) }
    }

    /// Values a range check must accept and refuse.
    fn range_probes(check: &Check, kind: &Kind) -> (Vec<Json>, Vec<Json>) {
        let Check::Range { min, min_inclusive, max, max_inclusive } = *check else { return (vec![], vec![]) };
        let step = if kind.is_integer() { 1.0 } else { 1e-6 };
        let (mut accepted, mut refused) = (vec![], vec![]);
        if min_inclusive {
            accepted.push(number(kind, min));
            refused.push(number(kind, min - step));
        } else {
            accepted.push(number(kind, min + step));
            refused.push(number(kind, min));
        }
        if max.is_finite() {
            if max_inclusive {
                accepted.push(number(kind, max));
                refused.push(number(kind, max + step));
            } else {
                accepted.push(number(kind, max - step));
                refused.push(number(kind, max));
            }
        }
        (accepted, refused)
    }

    fn set_assignment(assignment: &str) -> (&str, Json) {
        let (key, value) = assignment.split_once('=').unwrap();
        let value = Config::from_toml_str(&format!("v = {value}"), "setup").unwrap().canonical_json()["v"].clone();
        (key, value)
    }

    #[test]
    fn documented_choices_and_ranges_of_keys_are_what_the_search_refuses() {
        assert_eq!(refusal(&[]), None, "configs/search.toml is refused");
        for doc in KEYS {
            let KeyType::Plain(kind) = &doc.value else { continue };
            let choices = match kind {
                Kind::Choice(names) => Some((names(), false)),
                Kind::List(Kind::Choice(names)) => Some((names(), true)),
                _ => None,
            };
            if let Some((names_, list)) = choices {
                let wrap = |s: &str| if list { serde_json::json!([s]) } else { serde_json::json!(s) };
                for name in names_ {
                    let refused = refusal(&[(doc.key, wrap(name))]);
                    assert!(!names(&refused, doc.key), "`{}` = {name} is refused: {refused:?}", doc.key);
                }
                let refused = refusal(&[(doc.key, wrap("no-such-choice"))]);
                assert!(
                    names(&refused, doc.key),
                    "`{}` = no-such-choice is not refused naming it: {refused:?}",
                    doc.key
                );
            }
            for rule in doc.rules {
                let setup: Vec<(&str, Json)> = rule.setup.iter().map(|a| set_assignment(a)).collect();
                let with = |value: Json| {
                    let mut sets = setup.clone();
                    sets.push((doc.key, value));
                    refusal(&sets)
                };
                let element = match kind {
                    Kind::List(element) => element,
                    kind => kind,
                };
                let (accepted, refused) = range_probes(&rule.check, element);
                for value in accepted {
                    let got = with(value.clone());
                    assert!(!names(&got, doc.key), "`{}` = {value} should be accepted: {got:?}", doc.key);
                }
                for value in refused {
                    let got = with(value.clone());
                    assert!(names(&got, doc.key), "`{}` = {value} should be refused naming it: {got:?}", doc.key);
                }
                if let Check::Range { max, max_inclusive: true, .. } = rule.check
                    && max.is_infinite()
                    && !element.is_integer()
                {
                    let got = with(serde_json::json!(f64::MAX));
                    assert!(!names(&got, doc.key), "`{}` has no upper bound: {got:?}", doc.key);
                }
                if let Check::NonEmpty = rule.check {
                    let got = with(serde_json::json!([]));
                    assert!(names(&got, doc.key), "`{}` = [] should be refused naming it: {got:?}", doc.key);
                }
            }
        }
    }

    #[test]
    fn documented_choices_and_ranges_of_fields_are_what_the_search_refuses() {
        for key in KEYS {
            let (tagged, list) = match key.value {
                KeyType::Table(t) => (t, false),
                KeyType::Tables(t) => (t, true),
                KeyType::Plain(_) => continue,
            };
            let at = |table: Json| refusal(&[(key.key, if list { Json::Array(vec![table]) } else { table })]);
            for shape in tagged.shapes {
                let example = shape.example();
                assert_eq!(at(example.clone()), None, "`{}` = {} is refused", key.key, shape.example);
                let with = |sets: &[(&str, Json)]| {
                    let mut table = example.clone();
                    for (field, value) in sets {
                        table[*field] = value.clone();
                    }
                    table
                };
                for field in shape.fields {
                    if let Kind::Choice(names) = field.kind {
                        for name in names() {
                            let table = with(&[(field.name, serde_json::json!(name))]);
                            assert!(
                                (tagged.filled)(&table).is_ok(),
                                "{}.{} = {name} is refused",
                                shape.name,
                                field.name
                            );
                        }
                        let table = with(&[(field.name, serde_json::json!("no-such-choice"))]);
                        assert!((tagged.filled)(&table).is_err(), "{}.{} accepts anything", shape.name, field.name);
                    }
                    let field_key = format!("{}.{}", key.key, field.name);
                    for rule in field.rules {
                        let mut sets: Vec<(&str, Json)> = rule.setup.iter().map(|a| set_assignment(a)).collect();
                        let (accepted, refused) = range_probes(&rule.check, &field.kind);
                        for (value, accept) in
                            accepted.into_iter().map(|v| (v, true)).chain(refused.into_iter().map(|v| (v, false)))
                        {
                            sets.push((field.name, value.clone()));
                            let got = at(with(&sets));
                            sets.pop();
                            if accept {
                                assert_eq!(
                                    got, None,
                                    "`{field_key}` = {value} should be accepted (in {})",
                                    shape.example
                                );
                            } else {
                                assert!(
                                    names(&got, &field_key),
                                    "`{field_key}` = {value} should be refused naming it (in {}): {got:?}",
                                    shape.example
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_warm_start_without_its_tag_is_a_benchmark_metric_and_an_objective_needs_its_kind() {
        assert_eq!(implied_tag(by_key("search.warm_start").unwrap()), Some("benchmark"));
        assert_eq!(implied_tag(by_key("search.objectives").unwrap()), None);
    }

    #[test]
    fn default_directions_are_read_from_the_code() {
        let ntk = ntk_directions();
        assert!(ntk.contains("`true` for `lambda_min`") && ntk.contains("`false` for `condition`"), "{ntk}");
        assert!(ntk.contains("none, must be set for `lambda_max`, `trace`"), "{ntk}");
        let bounds = bounds_directions();
        assert!(bounds.starts_with("`false` for `clean_bound`"), "{bounds}");
        // The benchmark rule, in words, against the code.
        for (source, metric, higher) in [
            ("nas-bench-suite-zero", "synflow", Some(true)),
            ("nas-bench-201", "clean", Some(true)),
            ("nas-bench-201", "pgd@8", Some(true)),
            ("nas-bench-201", "test_acc", Some(true)),
            ("nas-bench-201", "valid_loss", Some(false)),
            ("nas-bench-201", "train_time", None),
        ] {
            let spec = ScoreSpec::Benchmark { source: source.into(), metric: metric.into(), higher_is_better: None };
            assert_eq!(spec.default_direction(), higher, "{source}:{metric}");
        }
    }
}
