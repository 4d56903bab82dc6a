//! A Gaussian process over path encodings, for Bayesian optimisation.
//!
//! Kernel: k(a, b) = exp(−h(a, b) / ℓ), h the Hamming distance between path
//! encodings (an exponential kernel of the L1 distance, so positive definite).
//! Targets are standardised; ℓ is chosen from a grid by marginal likelihood.

const LENGTHSCALES: [f64; 5] = [1.0, 2.0, 4.0, 8.0, 16.0];
/// Observation noise on standardised targets: isomorphic cells trained apart
/// and seeds make benchmark values noisy, and it keeps the factorisation stable.
const NOISE: f64 = 1e-2;

pub struct GaussianProcess {
    codes: Vec<u128>,
    lengthscale: f64,
    /// K⁻¹ y (standardised).
    alpha: Vec<f64>,
    /// Lower Cholesky factor of K + noise·I, row-major.
    chol: Vec<f64>,
    mean: f64,
    scale: f64,
}

fn kernel(a: u128, b: u128, lengthscale: f64) -> f64 {
    (-((a ^ b).count_ones() as f64) / lengthscale).exp()
}

/// Cholesky factor of a symmetric positive-definite `n`×`n` matrix.
fn cholesky(mut a: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
        for k in j + 1..n {
            a[j * n + k] = 0.0;
        }
    }
    Some(a)
}

/// Solves L x = b (forward substitution).
fn solve_lower(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut x = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            x[i] -= l[i * n + k] * x[k];
        }
        x[i] /= l[i * n + i];
    }
    x
}

/// Solves Lᵀ x = b (back substitution).
fn solve_upper(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut x = b.to_vec();
    for i in (0..n).rev() {
        for k in i + 1..n {
            x[i] -= l[k * n + i] * x[k];
        }
        x[i] /= l[i * n + i];
    }
    x
}

impl GaussianProcess {
    /// Fits the GP to `(encoding, value)` observations (at least one),
    /// choosing the lengthscale by marginal likelihood.
    pub fn fit(observations: &[(u128, f64)]) -> GaussianProcess {
        GaussianProcess::fit_with(observations, &LENGTHSCALES)
    }

    /// Fits the GP with the best of `lengthscales` by marginal likelihood.
    pub fn fit_with(observations: &[(u128, f64)], lengthscales: &[f64]) -> GaussianProcess {
        let n = observations.len();
        assert!(n > 0, "a GP needs at least one observation");
        let codes: Vec<u128> = observations.iter().map(|o| o.0).collect();
        let mean = observations.iter().map(|o| o.1).sum::<f64>() / n as f64;
        let var = observations.iter().map(|o| (o.1 - mean).powi(2)).sum::<f64>() / n as f64;
        let scale = if var > 0.0 { var.sqrt() } else { 1.0 };
        let y: Vec<f64> = observations.iter().map(|o| (o.1 - mean) / scale).collect();
        let mut best: Option<(f64, GaussianProcess)> = None;
        for &lengthscale in lengthscales {
            let mut k = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    k[i * n + j] = kernel(codes[i], codes[j], lengthscale) + if i == j { NOISE } else { 0.0 };
                }
            }
            let Some(chol) = cholesky(k, n) else { continue };
            let alpha = solve_upper(&chol, n, &solve_lower(&chol, n, &y));
            let fit: f64 = y.iter().zip(&alpha).map(|(a, b)| a * b).sum();
            let log_det: f64 = (0..n).map(|i| chol[i * n + i].ln()).sum::<f64>() * 2.0;
            let likelihood = -0.5 * fit - 0.5 * log_det;
            if best.as_ref().is_none_or(|(b, _)| likelihood > *b) {
                let gp = GaussianProcess { codes: codes.clone(), lengthscale, alpha, chol, mean, scale };
                best = Some((likelihood, gp));
            }
        }
        best.expect("K + noise·I is positive definite for every lengthscale").1
    }

    pub fn lengthscale(&self) -> f64 {
        self.lengthscale
    }

    /// Posterior mean and standard deviation at an encoding.
    pub fn predict(&self, code: u128) -> (f64, f64) {
        let n = self.codes.len();
        let k: Vec<f64> = self.codes.iter().map(|&c| kernel(c, code, self.lengthscale)).collect();
        let mean: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        let v = solve_lower(&self.chol, n, &k);
        let var = (1.0 + NOISE - v.iter().map(|x| x * x).sum::<f64>()).max(1e-12);
        (self.mean + self.scale * mean, self.scale * var.sqrt())
    }

    /// Expected improvement over `best` (maximisation).
    pub fn expected_improvement(&self, code: u128, best: f64) -> f64 {
        let (mu, sigma) = self.predict(code);
        let z = (mu - best) / sigma;
        (mu - best) * normal_cdf(z) + sigma * normal_pdf(z)
    }
}

fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Φ(z) via erfc (Numerical Recipes' erfc approximation, |error| < 1.2e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    0.5 * if x >= 0.0 { erfc } else { 2.0 - erfc }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_observations_and_reverts_far_away() {
        let obs = [(0b0001u128, 1.0), (0b0011, 2.0), (0b0111, 3.0), (0b1111, 4.0)];
        let gp = GaussianProcess::fit(&obs);
        for &(code, y) in &obs {
            let (mu, sigma) = gp.predict(code);
            assert!((mu - y).abs() < 0.1, "{code:b}: {mu} vs {y}");
            assert!(sigma < 0.3);
        }
        // 40 bits away from everything: prior mean (2.5) and larger uncertainty.
        let (mu, sigma) = gp.predict(0xff_ffff_ffff_0000);
        assert!((mu - 2.5).abs() < 0.1, "{mu}");
        assert!(sigma > 1.0);
        // A known poor point promises nothing; an unexplored one may improve.
        assert!(gp.expected_improvement(0b0001, 4.0) < 1e-3);
        assert!(gp.expected_improvement(0xff_ffff_ffff_0000, 4.0) > 0.01);
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        for (z, p) in [(0.0, 0.5), (1.0, 0.841_344_746), (-1.96, 0.024_997_895), (3.0, 0.998_650_102)] {
            assert!((normal_cdf(z) - p).abs() < 1e-6, "{z}");
        }
    }
}
