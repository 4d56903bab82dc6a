//! Gradient-masking checks (Carlini et al., "On evaluating adversarial
//! robustness", 2019): signs that an evaluation overestimates robustness,
//! flagged per trained model in the `alerts` table.
//!
//! | kind | flagged when |
//! |---|---|
//! | `sweep-not-zero` | PGD accuracy at the sweep's largest ε exceeds `checks.sweep_max_accuracy` |
//! | `sweep-not-monotone` | PGD accuracy rises with ε by more than `checks.tolerance` |
//! | `fgsm-beats-pgd` | single-step FGSM does better than iterative PGD at the same ε |
//! | `square-beats-white-box` | black-box Square breaks points that APGD-CE, APGD-T and FAB-T all failed on (more than `checks.square_max_gain`) |
//! | `pgd-beats-autoattack` | on the images AutoAttack ran on, PGD at the same ε does better than AutoAttack by more than `checks.tolerance` |

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{BooleanArray, Float64Array, Int64Array, StringArray};
use robbench_pipeline::{Config, Stage, UnitContext, UnitSpec, Upstream};
use robbench_schemas::{ALERTS, EVALUATION_SAMPLES, EVALUATIONS, TableDef};
use serde_json::json;

use crate::config::ChecksConfig;
use crate::evaluate::SWEEP;

pub struct Checks;

/// One `evaluations` row, as the checks need it.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    pub attack: String,
    /// In units of 1/255.
    pub eps: f64,
    pub accuracy: f64,
}

/// One `evaluation_samples` row: whether an image survived an attack.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub attack: String,
    /// In units of 1/255.
    pub eps: f64,
    pub sample_index: i64,
    pub correct: bool,
}

/// An alert: its kind and the numbers behind it.
pub type Alert = (&'static str, String);

/// The alerts a model's evaluations (`rows`, and per image `outcomes`) raise under `cfg`.
pub fn alerts(rows: &[Measured], outcomes: &[Outcome], cfg: &ChecksConfig) -> Vec<Alert> {
    let by_eps = |attack: &str| -> BTreeMap<u64, f64> {
        rows.iter().filter(|r| r.attack == attack).map(|r| (r.eps.to_bits(), r.accuracy)).collect()
    };
    let mut out = Vec::new();

    let mut sweep: Vec<(f64, f64)> = rows.iter().filter(|r| r.attack == SWEEP).map(|r| (r.eps, r.accuracy)).collect();
    sweep.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(&(eps, acc)) = sweep.last() {
        if acc > cfg.sweep_max_accuracy {
            out.push((
                "sweep-not-zero",
                format!(
                    "PGD accuracy {acc:.3} at eps {eps}/255, the sweep's largest (allowed: {})",
                    cfg.sweep_max_accuracy
                ),
            ));
        }
    }
    for pair in sweep.windows(2) {
        let ((e0, a0), (e1, a1)) = (pair[0], pair[1]);
        if a1 > a0 + cfg.tolerance {
            out.push((
                "sweep-not-monotone",
                format!("PGD accuracy rises from {a0:.3} at eps {e0}/255 to {a1:.3} at eps {e1}/255"),
            ));
        }
    }

    let pgd = by_eps("pgd");
    for (bits, fgsm) in by_eps("fgsm") {
        if let Some(&pgd) = pgd.get(&bits) {
            if fgsm + cfg.tolerance < pgd {
                let eps = f64::from_bits(bits);
                out.push((
                    "fgsm-beats-pgd",
                    format!("at eps {eps}/255 FGSM accuracy {fgsm:.3} < PGD accuracy {pgd:.3}"),
                ));
            }
        }
    }

    let white_box = by_eps("fab-t");
    for (bits, square) in by_eps("square") {
        if let Some(&white) = white_box.get(&bits) {
            if white - square > cfg.square_max_gain {
                let eps = f64::from_bits(bits);
                out.push((
                    "square-beats-white-box",
                    format!(
                        "at eps {eps}/255 Square lowered AutoAttack's white-box accuracy {white:.3} to {square:.3}"
                    ),
                ));
            }
        }
    }

    // AutoAttack runs on a prefix of the evaluated images, so it is compared
    // with PGD image for image, not through the two accuracies.
    let mut images: BTreeMap<(&str, u64), BTreeMap<i64, bool>> = BTreeMap::new();
    for o in outcomes {
        images.entry((o.attack.as_str(), o.eps.to_bits())).or_default().insert(o.sample_index, o.correct);
    }
    for (&(attack, bits), autoattack) in &images {
        if attack != "autoattack" {
            continue;
        }
        let Some(pgd) = images.get(&("pgd", bits)) else { continue };
        let shared: Vec<i64> = autoattack.keys().filter(|i| pgd.contains_key(i)).copied().collect();
        if shared.is_empty() {
            continue;
        }
        let accuracy =
            |correct: &BTreeMap<i64, bool>| shared.iter().filter(|i| correct[i]).count() as f64 / shared.len() as f64;
        let (autoattack, pgd) = (accuracy(autoattack), accuracy(pgd));
        if pgd + cfg.tolerance < autoattack {
            let eps = f64::from_bits(bits);
            out.push((
                "pgd-beats-autoattack",
                format!("at eps {eps}/255 on AutoAttack's {} images PGD accuracy {pgd:.3} < AutoAttack accuracy {autoattack:.3}", shared.len()),
            ));
        }
    }
    out
}

impl Stage for Checks {
    fn name(&self) -> &'static str {
        "checks"
    }
    fn version(&self) -> u32 {
        2
    }
    fn upstream(&self) -> &'static [&'static str] {
        &["evaluate"]
    }
    fn tables(&self) -> Vec<&'static TableDef> {
        vec![&ALERTS]
    }

    /// One unit per trained model, over all of its evaluations.
    fn plan(&self, _config: &Config, up: &Upstream<'_>) -> Result<Vec<UnitSpec>> {
        let mut models: BTreeMap<String, (serde_json::Value, Vec<_>)> = BTreeMap::new();
        for unit in up.units("evaluate") {
            let p = &unit.params;
            let model = json!({ "arch_index": p["arch_index"], "dataset": p["dataset"], "seed": p["seed"] });
            models.entry(model.to_string()).or_insert_with(|| (model, Vec::new())).1.push(unit.unit);
        }
        Ok(models
            .into_values()
            .map(|(model, inputs)| UnitSpec {
                label: format!("arch {} · {} · seed {}", model["arch_index"], model["dataset"], model["seed"]),
                shard_group: Some(format!("arch {}", model["arch_index"])),
                params: model,
                config_keys: vec!["checks"],
                inputs,
            })
            .collect())
    }

    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let cfg: ChecksConfig = unit.config().typed("checks")?;
        let mut rows = Vec::new();
        let mut outcomes = Vec::new();
        for input in unit.inputs() {
            for batch in input.read_table(&EVALUATIONS)? {
                let column = |name: &str| {
                    batch.column_by_name(name).with_context(|| format!("evaluations has no column {name}"))
                };
                let attack = column("attack")?.as_any().downcast_ref::<StringArray>().context("attack")?;
                let eps = column("eps")?.as_any().downcast_ref::<Float64Array>().context("eps")?;
                let accuracy = column("accuracy")?.as_any().downcast_ref::<Float64Array>().context("accuracy")?;
                for i in 0..batch.num_rows() {
                    rows.push(Measured {
                        attack: attack.value(i).to_string(),
                        eps: eps.value(i),
                        accuracy: accuracy.value(i),
                    });
                }
            }
            for batch in input.read_table(&EVALUATION_SAMPLES)? {
                let column = |name: &str| {
                    batch.column_by_name(name).with_context(|| format!("evaluation_samples has no column {name}"))
                };
                let attack = column("attack")?.as_any().downcast_ref::<StringArray>().context("attack")?;
                let eps = column("eps")?.as_any().downcast_ref::<Float64Array>().context("eps")?;
                let sample = column("sample_index")?.as_any().downcast_ref::<Int64Array>().context("sample_index")?;
                let correct = column("correct")?.as_any().downcast_ref::<BooleanArray>().context("correct")?;
                for i in 0..batch.num_rows() {
                    outcomes.push(Outcome {
                        attack: attack.value(i).to_string(),
                        eps: eps.value(i),
                        sample_index: sample.value(i),
                        correct: correct.value(i),
                    });
                }
            }
        }
        let found = alerts(&rows, &outcomes, &cfg);
        let params = unit.params().clone();
        let n = found.len();
        let batch = ALERTS.batch(vec![
            Arc::new(Int64Array::from(vec![params["arch_index"].as_i64().context("arch_index")?; n])),
            Arc::new(StringArray::from(vec![params["dataset"].as_str().context("dataset")?; n])),
            Arc::new(Int64Array::from(vec![params["seed"].as_i64().context("seed")?; n])),
            Arc::new(StringArray::from(found.iter().map(|a| a.0).collect::<Vec<_>>())),
            Arc::new(StringArray::from(found.iter().map(|a| a.1.as_str()).collect::<Vec<_>>())),
        ])?;
        unit.write_table(&ALERTS, &[batch])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(attack: &str, eps: f64, accuracy: f64) -> Measured {
        Measured { attack: attack.into(), eps, accuracy }
    }

    fn kinds(rows: &[Measured]) -> Vec<&'static str> {
        alerts(rows, &[], &ChecksConfig::default()).into_iter().map(|a| a.0).collect()
    }

    #[test]
    fn a_sound_evaluation_raises_nothing() {
        let rows = [
            row("clean", 0.0, 0.8),
            row("fgsm", 8.0, 0.5),
            row("pgd", 8.0, 0.4),
            row(SWEEP, 8.0, 0.41),
            row(SWEEP, 32.0, 0.05),
            row(SWEEP, 255.0, 0.0),
            row("fab-t", 8.0, 0.35),
            row("square", 8.0, 0.35),
        ];
        assert!(kinds(&rows).is_empty(), "{:?}", kinds(&rows));
    }

    #[test]
    fn each_masking_sign_is_flagged() {
        assert_eq!(kinds(&[row(SWEEP, 8.0, 0.4), row(SWEEP, 255.0, 0.1)]), ["sweep-not-zero"]);
        assert_eq!(
            kinds(&[row(SWEEP, 8.0, 0.2), row(SWEEP, 16.0, 0.3), row(SWEEP, 255.0, 0.0)]),
            ["sweep-not-monotone"]
        );
        assert_eq!(kinds(&[row("fgsm", 8.0, 0.2), row("pgd", 8.0, 0.4)]), ["fgsm-beats-pgd"]);
        assert_eq!(kinds(&[row("fab-t", 8.0, 0.4), row("square", 8.0, 0.3)]), ["square-beats-white-box"]);
    }

    #[test]
    fn comparisons_pair_rows_of_the_same_eps_and_respect_the_tolerance() {
        // FGSM at 3/255 is not comparable with PGD at 8/255.
        assert!(kinds(&[row("fgsm", 3.0, 0.2), row("pgd", 8.0, 0.4)]).is_empty());
        // A rise within the tolerance is noise, not masking.
        assert!(kinds(&[row(SWEEP, 8.0, 0.30), row(SWEEP, 16.0, 0.31), row(SWEEP, 255.0, 0.0)]).is_empty());
        let strict = ChecksConfig { sweep_max_accuracy: 0.2, ..ChecksConfig::default() };
        assert!(alerts(&[row(SWEEP, 255.0, 0.1)], &[], &strict).is_empty());
    }

    /// `correct` per image, images numbered from `first`.
    fn outcomes(attack: &str, first: i64, correct: &[bool]) -> Vec<Outcome> {
        (first..)
            .zip(correct)
            .map(|(sample_index, &correct)| Outcome { attack: attack.into(), eps: 8.0, sample_index, correct })
            .collect()
    }

    #[test]
    fn autoattack_is_compared_with_pgd_on_its_own_images() {
        let pgd = outcomes("pgd", 0, &[false, false, true, true]);
        let flagged = |autoattack: Vec<Outcome>| -> Vec<&'static str> {
            let all: Vec<Outcome> = pgd.iter().cloned().chain(autoattack).collect();
            alerts(&[], &all, &ChecksConfig::default()).into_iter().map(|a| a.0).collect()
        };
        // On images 0 and 1 PGD left nothing, AutoAttack half: flagged.
        assert_eq!(flagged(outcomes("autoattack", 0, &[true, false])), ["pgd-beats-autoattack"]);
        // On images 2 and 3 AutoAttack does no better than PGD there, even
        // where it beats PGD's accuracy over all four images (0.5).
        assert!(flagged(outcomes("autoattack", 2, &[true, false])).is_empty());
        assert!(flagged(outcomes("autoattack", 2, &[true, true])).is_empty());
    }
}
