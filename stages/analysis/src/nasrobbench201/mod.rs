//! Importers for NAS-RobBench-201 (Wu et al., ICLR 2024): the released
//! `NAS-RobBench-201_all.json` ([`import_nasrobbench201`]) and the table its
//! project page serves ([`import_nasrobbench201_html`]).
//!
//! Metric names (the released files log `{stage}_{attack}_{ε·255}_acc`):
//!
//! | source name | metric | eps |
//! |---|---|---|
//! | `val_acc` | `clean` | None |
//! | `val_fgsm_3.0_acc`, `val_fgsm_3_acc` | `fgsm` | 3 |
//! | `val_pgd_{ε}_acc` | `pgd` | ε |
//! | `val_square_{ε}_acc` | `square` | ε |
//! | `val_apgd_{ε}_acc` | `apgd-ce` (torchattacks APGD, CE loss) | ε |
//! | `autoattack` | `autoattack` | 8 (the paper's AutoAttack radius, 8/255) |
//! | anything else (e.g. `train_acc`) | kept verbatim | None |
//!
//! Values are accuracies as fractions in 0..=1 (both files store fractions;
//! anything outside that range, e.g. a percentage, is rejected). Dataset names
//! `cifar10`, `cifar100`, `imagenet` map to `cifar10`, `cifar100`,
//! `imagenet16-120`.

mod all;
mod html;

pub use all::import_nasrobbench201;
pub use html::{import_nasrobbench201_html, read_ops_json};

/// `source` of every record these importers produce.
pub const SOURCE: &str = "nas-robbench-201";

/// AutoAttack radius of NAS-RobBench-201, units of 1/255.
const AUTOATTACK_EPS: f64 = 8.0;

/// Canonical (metric, ε) of a NAS-RobBench-201 metric name (table above);
/// `Err` names what is wrong with an attack metric whose ε does not parse.
fn parse_metric(name: &str) -> Result<(String, Option<f64>), String> {
    if name == "val_acc" {
        return Ok(("clean".into(), None));
    }
    if name == "autoattack" {
        return Ok(("autoattack".into(), Some(AUTOATTACK_EPS)));
    }
    let attack =
        name.strip_prefix("val_").and_then(|rest| rest.strip_suffix("_acc")).and_then(|rest| rest.split_once('_'));
    let canonical = |attack: &str| match attack {
        "fgsm" => Some("fgsm"),
        "pgd" => Some("pgd"),
        "square" => Some("square"),
        "apgd" => Some("apgd-ce"),
        _ => None,
    };
    match attack.and_then(|(attack, eps)| canonical(attack).map(|a| (a, eps))) {
        Some((attack, eps)) => match eps.parse::<f64>() {
            Ok(eps) if eps.is_finite() && eps > 0.0 => Ok((attack.into(), Some(eps))),
            _ => Err(format!("metric `{name}`: ε `{eps}` is not a positive number")),
        },
        None => Ok((name.into(), None)),
    }
}

/// Whether values of a canonical metric are accuracies (checked to be in 0..=1).
fn is_accuracy(metric: &str) -> bool {
    matches!(metric, "clean" | "fgsm" | "pgd" | "square" | "apgd-ce" | "autoattack") || metric.ends_with("_acc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_map_to_canonical_names_and_eps() {
        let parsed = |name| parse_metric(name).unwrap();
        assert_eq!(parsed("val_acc"), ("clean".into(), None));
        assert_eq!(parsed("val_fgsm_3.0_acc"), ("fgsm".into(), Some(3.0)));
        assert_eq!(parsed("val_pgd_8_acc"), ("pgd".into(), Some(8.0)));
        assert_eq!(parsed("val_apgd_8.0_acc"), ("apgd-ce".into(), Some(8.0)));
        assert_eq!(parsed("autoattack"), ("autoattack".into(), Some(8.0)));
        assert_eq!(parsed("train_acc"), ("train_acc".into(), None));
        assert!(parse_metric("val_pgd_eight_acc").unwrap_err().contains("val_pgd_eight_acc"));
        assert!(is_accuracy("train_acc") && !is_accuracy("val_loss"));
    }
}
