//! NTK generalization-bound terms.
//!
//! Source: Cao & Gu, "Generalization bounds of stochastic gradient descent for
//! wide and deep neural networks" (NeurIPS 2019), the NTK form of their main
//! theorem (Corollary 3.10, derived from the NTRF bound of Theorem 3.3): for an
//! `L`-layer ReLU network of sufficient width trained by SGD on `n` samples with
//! labels `y ∈ {±1}ⁿ`, with probability `1−δ`,
//!
//! `E[test 0-1 error] ≤ Õ(L · √(yᵀ(Θ^{(L)})⁻¹y / n)) + O(√(log(1/δ)/n))`,
//!
//! with `Θ^{(L)}` the NTK Gram matrix of the training points. NAS-RobBench-201
//! (Wu et al. 2024, Section 4) derives clean / robust versions of this bound for
//! multi-objective adversarial training, with `Θ` replaced by `K_all` and `K̃_all`
//! (see [`crate::RobustKernels`]) and states them through `λ_min`, using
//! `yᵀK⁻¹y ≤ ‖y‖²/λ_min(K)` (the control by the minimum eigenvalue also used by
//! Zhu et al. 2022 for NAS). The constants hidden in Õ/O are not given, so they
//! are parameters ([`BoundParams`]).

use crate::NtkError;
use crate::spectrum::{kernel_stats, quadratic_forms};

/// Constants of the bound `B = depth_factor · complexity + √(log(1/δ)/n)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundParams {
    /// Factor multiplying the complexity term; Cao & Gu's is `Õ(L)` for depth `L`.
    /// Default 1 (the source gives no constant; pass the depth to follow `L·…`).
    pub depth_factor: f64,
    /// Failure probability `δ ∈ (0, 1)`; default 0.05.
    pub delta: f64,
}

impl Default for BoundParams {
    fn default() -> Self {
        Self { depth_factor: 1.0, delta: 0.05 }
    }
}

/// Every term of the bound for one kernel, so a stage can store them all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundTerms {
    /// Number of samples `n` (kernel size).
    pub n: usize,
    /// `yᵀK⁻¹y` (for multi-class: the mean over the one-vs-rest encodings).
    pub quadratic_form: f64,
    /// Diagonal jitter needed to factor `K` (0 when none; see [`crate::quadratic_form`]).
    pub jitter: f64,
    /// `√(yᵀK⁻¹y / n)`: Cao & Gu's complexity term.
    pub complexity: f64,
    /// `√(log(1/δ) / n)`: the confidence term.
    pub confidence: f64,
    /// `depth_factor · complexity + confidence`.
    pub bound: f64,
    /// `λ_min(K)`.
    pub lambda_min: f64,
    /// `‖y‖²` (for multi-class: the mean over encodings; `n` for ±1 labels).
    pub y_norm_sq: f64,
    /// `√(‖y‖² / (n·λ_min))`, an upper bound of `complexity`; `+∞` if `λ_min ≤ 0`.
    pub lambda_min_complexity: f64,
    /// `depth_factor · lambda_min_complexity + confidence`.
    pub lambda_min_bound: f64,
}

/// Bound terms for kernel `k` and targets `y` (binary: `±1`, e.g. [`one_vs_rest`]).
pub fn bound_terms(k: &tch::Tensor, y: &[f64], params: BoundParams) -> Result<BoundTerms, NtkError> {
    terms(k, &[y.to_vec()], params)
}

/// Bound terms for multi-class labels `0..num_classes`. Cao & Gu's bound is for
/// binary labels, so each class `c` gets the one-vs-rest encoding
/// `y_c,i = +1 if label_i = c else −1`, and the quadratic form is averaged over
/// classes: `(1/C) Σ_c y_cᵀK⁻¹y_c = tr(YᵀK⁻¹Y)/C`, the complexity of kernel
/// regression of all `C` one-vs-rest targets with the shared scalar kernel. The
/// `λ_min` form does not depend on this choice (`‖y_c‖² = n` for every class).
pub fn multiclass_bound_terms(
    k: &tch::Tensor,
    labels: &[i64],
    num_classes: i64,
    params: BoundParams,
) -> Result<BoundTerms, NtkError> {
    if num_classes < 2 {
        return Err(NtkError::BadLabels(format!("need at least 2 classes, got {num_classes}")));
    }
    if let Some(bad) = labels.iter().find(|&&l| l < 0 || l >= num_classes) {
        return Err(NtkError::BadLabels(format!("label {bad} outside 0..{num_classes}")));
    }
    let ys: Vec<Vec<f64>> = (0..num_classes).map(|c| one_vs_rest(labels, c)).collect();
    terms(k, &ys, params)
}

/// `+1` where `labels[i] == class`, `−1` elsewhere.
pub fn one_vs_rest(labels: &[i64], class: i64) -> Vec<f64> {
    labels.iter().map(|&l| if l == class { 1.0 } else { -1.0 }).collect()
}

fn terms(k: &tch::Tensor, ys: &[Vec<f64>], params: BoundParams) -> Result<BoundTerms, NtkError> {
    if !(params.depth_factor.is_finite() && params.depth_factor >= 0.0) {
        return Err(NtkError::BadParams(format!("depth_factor must be finite and ≥ 0, got {}", params.depth_factor)));
    }
    if !(params.delta > 0.0 && params.delta < 1.0) {
        return Err(NtkError::BadParams(format!("delta must lie in (0, 1), got {}", params.delta)));
    }
    let (values, jitter) = quadratic_forms(k, ys)?;
    let stats = kernel_stats(k)?;
    let n = ys[0].len();
    let nf = n as f64;
    let classes = ys.len() as f64;
    let quadratic_form = values.iter().sum::<f64>() / classes;
    let y_norm_sq = ys.iter().map(|y| y.iter().map(|v| v * v).sum::<f64>()).sum::<f64>() / classes;
    let complexity = (quadratic_form / nf).sqrt();
    let confidence = ((1.0 / params.delta).ln() / nf).sqrt();
    let lambda_min_complexity =
        if stats.lambda_min > 0.0 { (y_norm_sq / (nf * stats.lambda_min)).sqrt() } else { f64::INFINITY };
    Ok(BoundTerms {
        n,
        quadratic_form,
        jitter,
        complexity,
        confidence,
        bound: params.depth_factor * complexity + confidence,
        lambda_min: stats.lambda_min,
        y_norm_sq,
        lambda_min_complexity,
        lambda_min_bound: params.depth_factor * lambda_min_complexity + confidence,
    })
}
