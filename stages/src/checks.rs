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
//!
//! and training health, from the `training` log:
//!
//! | kind | flagged when |
//! |---|---|
//! | `training-at-chance` | after `checks.chance_after` of the epochs, the clean training accuracy never exceeds chance (1/classes) by more than `checks.chance_margin` |

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{BooleanArray, Float64Array, Int64Array, StringArray};
use robbench_experiment::units::checks::ChecksReads;
use robbench_experiment::units::evaluate::SWEEP;
use robbench_pipeline::{Runnable, UnitContext};
use robbench_schemas::{ALERTS, DATASETS, EVALUATION_SAMPLES, EVALUATIONS, TRAINING};

use crate::config::ChecksConfig;
use crate::reads::read;

pub struct Checks;

/// Kind of the training-health alert.
pub const TRAINING_AT_CHANCE: &str = "training-at-chance";

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

/// The training-health alert of a model whose clean training accuracy per
/// epoch (in epoch order, every epoch) is `clean_accuracy`, on `classes` classes.
pub fn training_alerts(clean_accuracy: &[f64], classes: usize, cfg: &ChecksConfig) -> Vec<Alert> {
    let epochs = clean_accuracy.len();
    if epochs == 0 || classes == 0 {
        return Vec::new();
    }
    // The first epoch checked: the first one after `chance_after` of the run.
    let first = ((cfg.chance_after * epochs as f64).floor() as usize + 1).min(epochs);
    let best = clean_accuracy[first - 1..].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let chance = 1.0 / classes as f64;
    if best <= chance + cfg.chance_margin {
        vec![(
            TRAINING_AT_CHANCE,
            format!(
                "clean training accuracy at most {best:.3} from epoch {first} of {epochs} on; chance is {chance:.3} (1/{classes}), allowed margin {}",
                cfg.chance_margin
            ),
        )]
    } else {
        Vec::new()
    }
}

/// The alerts a model's evaluations (`rows`, and per image `outcomes`) raise under `cfg`.
pub fn alerts(rows: &[Measured], outcomes: &[Outcome], cfg: &ChecksConfig) -> Vec<Alert> {
    let by_eps = |attack: &str| -> BTreeMap<u64, f64> {
        rows.iter().filter(|r| r.attack == attack).map(|r| (r.eps.to_bits(), r.accuracy)).collect()
    };
    let mut out = Vec::new();

    let mut sweep: Vec<(f64, f64)> = rows.iter().filter(|r| r.attack == SWEEP).map(|r| (r.eps, r.accuracy)).collect();
    sweep.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(&(eps, acc)) = sweep.last()
        && acc > cfg.sweep_max_accuracy
    {
        out.push((
            "sweep-not-zero",
            format!(
                "PGD accuracy {acc:.3} at eps {eps}/255, the sweep's largest (allowed: {})",
                cfg.sweep_max_accuracy
            ),
        ));
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
        if let Some(&pgd) = pgd.get(&bits)
            && fgsm + cfg.tolerance < pgd
        {
            let eps = f64::from_bits(bits);
            out.push(("fgsm-beats-pgd", format!("at eps {eps}/255 FGSM accuracy {fgsm:.3} < PGD accuracy {pgd:.3}")));
        }
    }

    let white_box = by_eps("fab-t");
    for (bits, square) in by_eps("square") {
        if let Some(&white) = white_box.get(&bits)
            && white - square > cfg.square_max_gain
        {
            let eps = f64::from_bits(bits);
            out.push((
                "square-beats-white-box",
                format!("at eps {eps}/255 Square lowered AutoAttack's white-box accuracy {white:.3} to {square:.3}"),
            ));
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

robbench_experiment::plans_as!(Checks, robbench_experiment::units::checks::Checks);

impl Runnable for Checks {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let cfg = read::<ChecksReads>(unit.config())?.checks;
        let mut found = training_alerts(&clean_training_accuracy(unit)?, train_classes(unit)?, &cfg);
        let mut rows = Vec::new();
        let mut outcomes = Vec::new();
        for input in unit.inputs().iter().filter(|i| i.stage == "evaluate") {
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
        found.extend(alerts(&rows, &outcomes, &cfg));
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

/// One line per network of the catalog's run whose training stayed at
/// chance level (the `training-at-chance` alerts), for the run summary.
pub fn training_warnings(catalog: std::sync::Arc<robbench_pipeline::sql::Catalog>) -> Result<Vec<String>> {
    let (_, batches) = robbench_pipeline::sql::query(
        catalog,
        &format!(
            "SELECT arch_index, dataset, seed, detail FROM alerts WHERE kind = '{TRAINING_AT_CHANCE}'
             ORDER BY dataset, arch_index, seed"
        ),
    )?;
    let mut lines = Vec::new();
    for batch in &batches {
        // SQL answers strings as Utf8 or Utf8View depending on the table.
        let text = |i: usize| arrow::compute::cast(batch.column(i), &arrow::datatypes::DataType::Utf8);
        let (dataset, detail) = (text(1)?, text(3)?);
        let arch = batch.column(0).as_any().downcast_ref::<Int64Array>().context("arch_index")?;
        let dataset = dataset.as_any().downcast_ref::<StringArray>().context("dataset")?;
        let seed = batch.column(2).as_any().downcast_ref::<Int64Array>().context("seed")?;
        let detail = detail.as_any().downcast_ref::<StringArray>().context("detail")?;
        for i in 0..batch.num_rows() {
            lines.push(format!(
                "arch {} · {} · seed {} trained to chance level ({TRAINING_AT_CHANCE}): {}",
                arch.value(i),
                dataset.value(i),
                seed.value(i),
                detail.value(i)
            ));
        }
    }
    Ok(lines)
}

/// The model's clean training accuracy per epoch, in epoch order.
fn clean_training_accuracy(unit: &UnitContext<'_>) -> Result<Vec<f64>> {
    let mut epochs = Vec::new();
    for batch in unit.input("train")?.read_table(&TRAINING)? {
        let column = |name: &str| batch.column_by_name(name).with_context(|| format!("training has no column {name}"));
        let epoch = column("epoch")?.as_any().downcast_ref::<Int64Array>().context("epoch")?;
        let accuracy = column("train_clean_acc")?.as_any().downcast_ref::<Float64Array>().context("train_clean_acc")?;
        epochs.extend((0..batch.num_rows()).map(|i| (epoch.value(i), accuracy.value(i))));
    }
    epochs.sort_by_key(|e| e.0);
    Ok(epochs.into_iter().map(|e| e.1).collect())
}

/// Classes of the dataset the model was trained on.
fn train_classes(unit: &UnitContext<'_>) -> Result<usize> {
    for batch in unit.input("prepare")?.read_table(&DATASETS)? {
        let column = |name: &str| batch.column_by_name(name).with_context(|| format!("datasets has no column {name}"));
        let split = column("split")?.as_any().downcast_ref::<StringArray>().context("split")?;
        let classes = column("classes")?.as_any().downcast_ref::<Int64Array>().context("classes")?;
        if let Some(i) = (0..batch.num_rows()).find(|&i| split.value(i) == "train") {
            return Ok(classes.value(i) as usize);
        }
    }
    anyhow::bail!("the prepared dataset has no train split in `datasets`")
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

#[cfg(test)]
mod training_health {
    use super::*;

    fn flagged(accuracy: &[f64]) -> bool {
        !training_alerts(accuracy, 10, &ChecksConfig::default()).is_empty()
    }

    #[test]
    fn a_network_still_at_chance_after_half_the_epochs_is_flagged() {
        // Chance is 0.1; the default margin is 0.05.
        assert!(flagged(&[0.1, 0.11, 0.1, 0.12, 0.1, 0.09]));
        assert_eq!(training_alerts(&[0.1; 6], 10, &ChecksConfig::default())[0].0, TRAINING_AT_CHANCE);
        // Learning in the second half clears it, early luck does not.
        assert!(!flagged(&[0.1, 0.1, 0.1, 0.2, 0.3, 0.4]));
        assert!(flagged(&[0.4, 0.3, 0.2, 0.1, 0.1, 0.1]));
        // Only the epochs from `chance_after` on count.
        let late = ChecksConfig { chance_after: 1.0, ..ChecksConfig::default() };
        assert!(training_alerts(&[0.1, 0.1, 0.1, 0.1, 0.1, 0.5], 10, &late).is_empty());
        assert!(!training_alerts(&[0.5, 0.5, 0.5, 0.5, 0.5, 0.1], 10, &late).is_empty());
        // Chance depends on the classes: 0.4 is chance-level for 2 classes, not for 10.
        assert!(!training_alerts(&[0.4; 4], 2, &ChecksConfig::default()).is_empty());
        assert!(!flagged(&[0.4; 4]));
    }
}
