//! Correlating two keyed series (e.g. a proxy and a robust accuracy, both by
//! architecture index).

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::{Deserialize, Serialize};

use crate::error::AnalysisError;
use crate::stats::{kendall_tau_b, pearson, spearman};

/// Correlations over the keys both series share (pairs with a NaN dropped).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// Number of pairs used.
    pub n: usize,
    pub kendall_tau: Option<f64>,
    pub spearman: Option<f64>,
    pub pearson: Option<f64>,
}

/// Joins `a` and `b` on their keys (inner join) and correlates the values.
/// A key given twice in one series is an error rather than a silent choice.
pub fn correlate<K: Ord + Copy + Display>(a: &[(K, f64)], b: &[(K, f64)]) -> Result<Correlation, AnalysisError> {
    let index = |series: &[(K, f64)]| {
        let mut map = BTreeMap::new();
        for &(key, value) in series {
            if map.insert(key, value).is_some() {
                return Err(AnalysisError::DuplicateKey(key.to_string()));
            }
        }
        Ok(map)
    };
    let (a, b) = (index(a)?, index(b)?);
    let (x, y): (Vec<f64>, Vec<f64>) = a
        .iter()
        .filter_map(|(key, &x)| b.get(key).map(|&y| (x, y)))
        .filter(|(x, y)| !x.is_nan() && !y.is_nan())
        .unzip();
    Ok(Correlation {
        n: x.len(),
        kendall_tau: kendall_tau_b(&x, &y),
        spearman: spearman(&x, &y),
        pearson: pearson(&x, &y),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_on_shared_keys_only() {
        let a = [(3u32, 1.0), (1, 2.0), (7, 3.0), (9, 4.0), (5, f64::NAN)];
        let b = [(1u32, 20.0), (3, 10.0), (7, 30.0), (8, 0.0), (5, 1.0)];
        let c = correlate(&a, &b).unwrap();
        assert_eq!(c.n, 3);
        assert_eq!(c.kendall_tau, Some(1.0));
        assert_eq!(c.spearman, Some(1.0));
        // Reversing one series flips every sign.
        let neg: Vec<(u32, f64)> = b.iter().map(|&(k, v)| (k, -v)).collect();
        assert_eq!(correlate(&a, &neg).unwrap().kendall_tau, Some(-1.0));
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let err = correlate(&[(1u32, 1.0), (1, 2.0)], &[(1u32, 1.0)]).unwrap_err();
        assert!(err.to_string().contains("key 1"), "{err}");
    }
}
