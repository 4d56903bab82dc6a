//! Empirical neural tangent kernels of tch networks and the NTK generalization-bound terms.
//!
//! The empirical NTK of a network `f(·; θ)` on inputs `x, x'` is
//! `k(x, x') = ⟨∂f(x)/∂θ, ∂f(x')/∂θ⟩`, summed over the trainable parameters.
//! NAS-RobBench-201 (Wu et al., ICLR 2024, Section 4) controls the clean and robust
//! test errors of a multi-objective adversarially trained network by
//! `λ_min(K_all)` and `λ_min(K̃_all)`, mixtures of kernels evaluated on clean and
//! attacked points. This crate provides:
//!
//! * [`jacobian`] / [`empirical_ntk`]: per-sample parameter Jacobians and kernels
//!   ([`NtkOutput`] picks which scalar(s) of the network output are differentiated),
//!   one backward pass per sample, for any network;
//! * [`empirical_ntk_structured`] / [`structured_kernel_blocks`]: the same kernels
//!   from batched forwards and backwards over chunks of each input set, for networks that
//!   trace their parametrised layers ([`robbench_nn::Trace`]; the default for
//!   the TinyNetwork);
//! * [`RobustKernels`] and [`mix`]: the clean, robust and cross kernel blocks and
//!   their β-mixtures `K_all(β)`, `K̃_all(β)`;
//! * [`kernel_stats`] / [`quadratic_form`]: float64 spectra and `yᵀK⁻¹y` by solving;
//! * [`bound_terms`] / [`multiclass_bound_terms`]: the Cao & Gu style bound terms.
//!
//! The network is passed as a closure (a plain forward, or a traced forward for
//! the structured path). **Call it in eval mode**: batch norm must use its running statistics, so
//! that each sample's output depends on that sample only (a per-sample Jacobian is
//! otherwise not defined, and the result would depend on how samples are batched).

mod bounds;
mod jacobian;
mod kernel;
mod mixture;
mod profile;
mod spectrum;
mod structured;
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod test_common;

pub use bounds::{BoundParams, BoundTerms, bound_terms, multiclass_bound_terms, one_vs_rest};
pub use jacobian::{NtkOutput, jacobian};
pub use kernel::{empirical_ntk, kernel_from_jacobians};
pub use mixture::{RobustKernels, mix};
pub use profile::PROFILE_ENV;
pub use spectrum::{KernelStats, QuadraticForm, kernel_stats, quadratic_form, quadratic_forms};
pub use structured::{
    StructuredGradients, empirical_ntk_structured, structured_gradients, structured_kernel_blocks,
    structured_kernel_macs,
};

/// Errors of kernel computation and of the spectral / bound summaries.
#[derive(Debug, thiserror::Error)]
pub enum NtkError {
    #[error("empty batch: {0} has no samples")]
    EmptyBatch(&'static str),
    #[error("no trainable parameters: none of the {0} parameters requires grad")]
    NoTrainableParameters(usize),
    #[error("model output has shape {shape:?} for a batch of {batch}; expected [batch] or [batch, classes]")]
    BadOutput { shape: Vec<i64>, batch: i64 },
    #[error("model output does not require grad: was the forward run under no_grad or with frozen parameters?")]
    OutputWithoutGrad,
    #[error("labels: {0}")]
    BadLabels(String),
    #[error("{what} has shape {shape:?}; {expected}")]
    BadShape { what: &'static str, shape: Vec<i64>, expected: String },
    #[error("{0} contains NaN or infinite values")]
    NonFinite(&'static str),
    #[error("kernel is not symmetric: max |K - Kᵀ| = {asymmetry:e} (max |K| = {scale:e})")]
    NotSymmetric { asymmetry: f64, scale: f64 },
    #[error("kernel is singular: Cholesky failed even with jitter {jitter:e} added to the diagonal")]
    SingularKernel { jitter: f64 },
    #[error("beta must lie in [0, 1], got {0}")]
    BadBeta(f64),
    #[error("bound parameters: {0}")]
    BadParams(String),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
