//! Rank correlations and importers for published NAS-Bench-201 benchmarks:
//! NAS-RobBench-201 (adversarial training), Jung et al.'s robustness dataset
//! (attacks on standard-trained networks), NAS-Bench-201's own CIFAR-10
//! results, and NAS-Bench-Suite-Zero zero-cost proxies.
//!
//! Every importer yields [`Record`]s (or [`ProxyScore`]s) with canonical
//! dataset and metric names (see [`record`]) and accuracies as fractions.

mod cell;
mod correlate;
mod error;
mod js;
mod meta;
pub mod nasrobbench201;
mod nb201;
pub mod record;
mod robustness_dataset;
mod stats;
mod zero_cost;

pub use cell::{NB201_OPS, cell_string};
pub use correlate::{Correlation, correlate};
pub use error::AnalysisError;
pub use js::strip_assignment;
pub use meta::Meta;
pub use nasrobbench201::{import_nasrobbench201, import_nasrobbench201_html, read_ops_json};
pub use nb201::import_nb201_cifar10;
pub use record::{Record, canonical_dataset};
pub use robustness_dataset::{accuracy_files, import_robustness_dataset};
pub use stats::{kendall_tau_b, pearson, spearman};
pub use zero_cost::{ProxyScore, import_zero_cost};
