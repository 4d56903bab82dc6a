//! The random numbers a corruption draws, and their record.
//!
//! Each sampler returns what the reference's NumPy call would use: standard
//! variates where NumPy transforms them (`normal` returns `loc + scale * z`,
//! `uniform` returns `low + (high - low) * u`; the corruptions do that
//! arithmetic themselves), final values where it does not (`poisson`,
//! `randint`). Recorded, they are exactly what the cross-check's replay
//! hands to the reference in place of NumPy's own.

use robbench_rng::Rng;
use serde::Serialize;

/// Consecutive random numbers of one kind, in the order drawn. Serialised as
/// `{"kind": "normal", "values": [...]}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "values", rename_all = "snake_case")]
pub enum Draw {
    /// Standard normal variates z (NumPy: `np.random.normal`, giving `loc + scale * z`).
    Normal(Vec<f64>),
    /// Uniform variates u in [0, 1) (NumPy: `np.random.uniform`, giving `low + (high - low) * u`).
    Uniform(Vec<f64>),
    /// Uniform variates in [0, 1) of `Generator.random` (scikit-image's salt-and-pepper trials).
    Random(Vec<f64>),
    /// Poisson counts (NumPy: `np.random.poisson`).
    Poisson(Vec<u64>),
    /// Integers in [low, high) (NumPy: `np.random.randint`).
    Randint(Vec<i64>),
}

/// A corruption's random stream, optionally recording what it hands out.
pub(crate) struct Source {
    rng: Rng,
    record: Option<Vec<Draw>>,
}

impl Source {
    pub(crate) fn new(seed: u64, record: bool) -> Source {
        Source { rng: Rng::new(seed), record: record.then(Vec::new) }
    }

    pub(crate) fn into_draws(self) -> Vec<Draw> {
        self.record.unwrap_or_default()
    }

    /// `n` standard normal variates.
    pub(crate) fn normal(&mut self, n: usize) -> Vec<f64> {
        let z: Vec<f64> = (0..n).map(|_| self.rng.normal()).collect();
        self.log(|| Draw::Normal(z.clone()));
        z
    }

    /// `n` uniform variates in [0, 1).
    pub(crate) fn uniform(&mut self, n: usize) -> Vec<f64> {
        let u: Vec<f64> = (0..n).map(|_| self.rng.next_f64()).collect();
        self.log(|| Draw::Uniform(u.clone()));
        u
    }

    /// `n` uniform variates in [0, 1) for Bernoulli trials.
    pub(crate) fn random(&mut self, n: usize) -> Vec<f64> {
        let u: Vec<f64> = (0..n).map(|_| self.rng.next_f64()).collect();
        self.log(|| Draw::Random(u.clone()));
        u
    }

    /// One Poisson count per mean.
    pub(crate) fn poisson(&mut self, means: &[f64]) -> Vec<u64> {
        let k: Vec<u64> = means.iter().map(|&lam| poisson(&mut self.rng, lam)).collect();
        self.log(|| Draw::Poisson(k.clone()));
        k
    }

    /// An integer in [low, high).
    pub(crate) fn randint(&mut self, low: i64, high: i64) -> i64 {
        let k = low + self.rng.below((high - low) as u64) as i64;
        self.log(|| Draw::Randint(vec![k]));
        k
    }

    /// Appends to the record, merging a draw into the previous one of its kind.
    fn log(&mut self, draw: impl FnOnce() -> Draw) {
        let Some(record) = &mut self.record else { return };
        let draw = draw();
        match (record.last_mut(), draw) {
            (Some(Draw::Normal(a)), Draw::Normal(b))
            | (Some(Draw::Uniform(a)), Draw::Uniform(b))
            | (Some(Draw::Random(a)), Draw::Random(b)) => a.extend(b),
            (Some(Draw::Poisson(a)), Draw::Poisson(b)) => a.extend(b),
            (Some(Draw::Randint(a)), Draw::Randint(b)) => a.extend(b),
            (_, draw) => record.push(draw),
        }
    }
}

/// A Poisson variate with mean `lam`, by the methods NumPy uses (its
/// `random_poisson`): multiplication of uniforms below 10 (Knuth), PTRS —
/// transformed rejection with squeeze (Hörmann 1993) — from 10 on.
fn poisson(rng: &mut Rng, lam: f64) -> u64 {
    if lam <= 0.0 {
        return 0;
    }
    if lam < 10.0 {
        let limit = (-lam).exp();
        let mut k = 0;
        let mut product = 1.0;
        loop {
            product *= rng.next_f64();
            if product <= limit {
                return k;
            }
            k += 1;
        }
    }
    let (slam, loglam) = (lam.sqrt(), lam.ln());
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng.next_f64() - 0.5;
        let v = rng.next_f64();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lam + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k as u64;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        if v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln() <= -lam + k * loglam - ln_gamma(k + 1.0) {
            return k as u64;
        }
    }
}

/// ln Γ(x) for x ≥ 1 by Stirling's series, shifted up to x ≥ 7 (as NumPy's
/// `random_loggam`; ample for PTRS's acceptance test).
fn ln_gamma(x: f64) -> f64 {
    // Stirling's series coefficients B_2k / (2k (2k - 1)), k = 1..10.
    const C: [f64; 10] = [
        1.0 / 12.0,
        -1.0 / 360.0,
        1.0 / 1260.0,
        -1.0 / 1680.0,
        1.0 / 1188.0,
        -691.0 / 360_360.0,
        1.0 / 156.0,
        -3617.0 / 122_400.0,
        43_867.0 / 244_188.0,
        -174_611.0 / 125_400.0,
    ];
    if x == 1.0 || x == 2.0 {
        return 0.0;
    }
    let shift = if x < 7.0 { (7.0 - x).floor() } else { 0.0 };
    let mut x0 = x + shift;
    let inv2 = (1.0 / x0) * (1.0 / x0);
    let series = C.iter().rev().fold(0.0, |acc, &c| acc * inv2 + c);
    let mut value = series / x0 + 0.5 * std::f64::consts::TAU.ln() + (x0 - 0.5) * x0.ln() - x0;
    for _ in 0..shift as usize {
        value -= (x0 - 1.0).ln();
        x0 -= 1.0;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_has_the_mean_and_variance_of_its_parameter() {
        let mut rng = Rng::new(3);
        for lam in [0.3, 4.0, 9.99, 10.0, 75.0, 500.0] {
            let n = 40_000;
            let k: Vec<f64> = (0..n).map(|_| poisson(&mut rng, lam) as f64).collect();
            let mean = k.iter().sum::<f64>() / n as f64;
            let var = k.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let se = (lam / n as f64).sqrt();
            assert!((mean - lam).abs() < 5.0 * se, "lam {lam}: mean {mean}");
            assert!((var / lam - 1.0).abs() < 0.05, "lam {lam}: variance {var}");
        }
        assert_eq!(poisson(&mut rng, 0.0), 0);
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut factorial = 1.0f64;
        for n in 1..30u32 {
            factorial *= f64::from(n);
            let x = f64::from(n) + 1.0;
            assert!((ln_gamma(x) - factorial.ln()).abs() < 1e-10, "ln Γ({x})");
        }
    }

    #[test]
    fn records_merge_consecutive_draws_of_a_kind() {
        let mut s = Source::new(1, true);
        s.randint(-1, 1);
        s.randint(-1, 1);
        s.uniform(2);
        s.normal(1);
        s.normal(2);
        let kinds: Vec<usize> = s
            .into_draws()
            .iter()
            .map(|d| match d {
                Draw::Randint(v) => v.len(),
                Draw::Uniform(v) | Draw::Normal(v) => v.len(),
                _ => 0,
            })
            .collect();
        assert_eq!(kinds, [2, 2, 3]);
    }
}
