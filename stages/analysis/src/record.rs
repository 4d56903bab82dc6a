//! One benchmark value: a row of the project's `benchmark` table.
//!
//! Canonical names, whatever the source calls them:
//! - datasets: [`CIFAR10`], [`CIFAR100`], [`IMAGENET16_120`];
//! - robustness metrics: `clean`, `fgsm`, `pgd`, `autoattack`, `apgd-ce`,
//!   `square` (accuracies as fractions in 0..=1, ε in [`Record::eps`]);
//! - NAS-Bench-201 standard-training metrics: `train_acc`, `valid_acc`,
//!   `test_acc` (fractions) and `train_loss`, `valid_loss`, `test_loss`.
//!
//! Each importer documents how its source's names map onto these.

use serde::{Deserialize, Serialize};

pub const CIFAR10: &str = "cifar10";
pub const CIFAR100: &str = "cifar100";
pub const IMAGENET16_120: &str = "imagenet16-120";

/// One published value for one architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Which benchmark it comes from, e.g. `nas-robbench-201`.
    pub source: String,
    /// NAS-Bench-201 index; for the robustness benchmarks, the index of the
    /// evaluated representative of the isomorphism class.
    pub arch_index: u32,
    /// NAS-Bench-201 cell string of `arch_index`.
    pub arch: String,
    /// Canonical dataset name.
    pub dataset: String,
    /// Canonical metric name.
    pub metric: String,
    /// L∞ attack radius in units of 1/255; `None` for non-adversarial metrics.
    pub eps: Option<f64>,
    /// Training seed; `None` when the value is a mean over seeds.
    pub seed: Option<i64>,
    pub value: f64,
}

/// Maps a source's dataset name to the canonical one (case-insensitive):
/// `cifar10`, `cifar100`, and `imagenet`, `imagenet16`, `imagenet16-120`,
/// `ImageNet16-120` → `imagenet16-120`.
pub fn canonical_dataset(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "cifar10" => Some(CIFAR10),
        "cifar100" => Some(CIFAR100),
        "imagenet" | "imagenet16" | "imagenet16-120" | "imagenet16_120" => Some(IMAGENET16_120),
        _ => None,
    }
}

/// Checks that an accuracy is a fraction in 0..=1 (a percentage or a stray
/// value would silently distort every correlation).
pub(crate) fn check_fraction(value: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&value) { Ok(value) } else { Err(format!("accuracy {value} is not a fraction in [0, 1]")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_names_map_to_canonical_ones() {
        assert_eq!(canonical_dataset("ImageNet16-120"), Some(IMAGENET16_120));
        assert_eq!(canonical_dataset("imagenet"), Some(IMAGENET16_120));
        assert_eq!(canonical_dataset("CIFAR10"), Some(CIFAR10));
        assert_eq!(canonical_dataset("cifar100"), Some(CIFAR100));
        assert_eq!(canonical_dataset("mnist"), None);
    }

    #[test]
    fn fractions_are_checked() {
        assert_eq!(check_fraction(0.5), Ok(0.5));
        assert!(check_fraction(93.1).is_err());
        assert!(check_fraction(f64::NAN).is_err());
    }
}
