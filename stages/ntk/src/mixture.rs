//! Clean / robust kernel blocks and their mixtures for multi-objective adversarial
//! training (NAS-RobBench-201, Section 4).
//!
//! With the loss `(1−β)·ℓ(f(x)) + β·ℓ(f(x̃))`, `x̃ = A(x)` an attacked point, each
//! sample's gradient feature in the NTK analysis is the mixed Jacobian row
//! `(1−β)·∇θ f(x_i) + β·∇θ f(x̃_i)`. Its Gram matrix is
//! `K_all(β) = (1−β)² K + β(1−β)(K̄ + K̄ᵀ) + β² K̃` with `K = k(x, x)`,
//! `K̃ = k(x̃, x̃)` and `K̄ = k(x, x̃)`; it is positive semi-definite by construction.
//! The paper bounds the clean error through `λ_min(K_all)` and the robust error
//! through `λ_min(K̃_all)`, the robust-side kernel built from twice-perturbed
//! points. Interpretation implemented here (the paper's text is not available to
//! us beyond its introduction): `K̃_all` is the same mixture with `x̃` in place of
//! `x` and `x̃̃ = A(A(x))` in place of `x̃`, i.e.
//! `K̃_all(β) = (1−β)² K̃ + β(1−β)(K̄₂ + K̄₂ᵀ) + β² K̃₂` with `K̄₂ = k(x̃, x̃̃)` and
//! `K̃₂ = k(x̃̃, x̃̃)`. The attack itself lives elsewhere: callers pass the points.

use tch::Tensor;

use crate::jacobian::{NtkOutput, jacobian};
use crate::kernel::kernel_from_jacobians;
use crate::structured::{structured_gradients, structured_kernel_blocks};
use crate::{NtkError, profile};

/// The five kernel blocks (float64, `n × n`) needed for `K_all` and `K̃_all`.
#[derive(Debug)]
pub struct RobustKernels {
    /// `K = k(x, x)`: the clean kernel.
    pub clean: Tensor,
    /// `K̃ = k(x̃, x̃)`: the robust kernel on attacked points.
    pub robust: Tensor,
    /// `K̄ = k(x, x̃)`: rows are clean points, columns attacked points.
    pub cross: Tensor,
    /// `K̄₂ = k(x̃, x̃̃)`: rows are attacked points, columns twice-attacked points.
    pub cross2: Tensor,
    /// `K̃₂ = k(x̃̃, x̃̃)`: the kernel on twice-attacked points.
    pub robust2: Tensor,
}

impl RobustKernels {
    /// Computes the blocks from one Jacobian per point set (three Jacobians, not
    /// five kernels' worth). `x`, `x_adv = A(x)` and `x_adv2 = A(A(x))` must have
    /// the same shape, sample `i` of each derived from sample `i` of `x`. The model
    /// must be in eval mode.
    pub fn compute(
        model: &dyn Fn(&Tensor) -> Tensor,
        params: &[Tensor],
        x: &Tensor,
        x_adv: &Tensor,
        x_adv2: &Tensor,
        output: NtkOutput,
    ) -> Result<Self, NtkError> {
        check_same_shapes(x, x_adv, x_adv2)?;
        let j = jacobian(model, params, x, output)?;
        let j_adv = jacobian(model, params, x_adv, output)?;
        let j_adv2 = jacobian(model, params, x_adv2, output)?;
        Ok(Self {
            clean: kernel_from_jacobians(&j, None)?,
            robust: kernel_from_jacobians(&j_adv, None)?,
            cross: kernel_from_jacobians(&j, Some(&j_adv))?,
            cross2: kernel_from_jacobians(&j_adv, Some(&j_adv2))?,
            robust2: kernel_from_jacobians(&j_adv2, None)?,
        })
    }

    /// The same blocks from structured per-sample gradients: traced batched
    /// forwards and backwards (per logit for [`NtkOutput::PerLogit`]) over
    /// chunks of each point set, e.g. with `trace = |x| net.forward_traced(x)`
    /// for a `robbench_nn::TinyNetwork`. Each set's gradients are formed once;
    /// x pairs only with itself and x̃, and x̃̃ only with x̃ and itself, so x's
    /// gradients are dropped before x̃̃'s are formed: at most two sets' are held.
    pub fn compute_structured(
        trace: &dyn Fn(&Tensor) -> robbench_nn::Trace,
        x: &Tensor,
        x_adv: &Tensor,
        x_adv2: &Tensor,
        output: NtkOutput,
    ) -> Result<Self, NtkError> {
        check_same_shapes(x, x_adv, x_adv2)?;
        let (started, cpu_started) = (std::time::Instant::now(), profile::thread_cpu_seconds());
        let g_adv = structured_gradients(trace, x_adv, output)?;
        let [clean, cross, robust] = {
            let g = structured_gradients(trace, x, output)?;
            fixed(structured_kernel_blocks(&[&g, &g_adv], &[(0, 0), (0, 1), (1, 1)])?)
        };
        let g_adv2 = structured_gradients(trace, x_adv2, output)?;
        let [cross2, robust2] = fixed(structured_kernel_blocks(&[&g_adv, &g_adv2], &[(0, 1), (1, 1)])?);
        profile::report(
            "structured NTK blocks",
            started.elapsed().as_secs_f64(),
            profile::thread_cpu_seconds() - cpu_started,
        );
        Ok(Self { clean, robust, cross, cross2, robust2 })
    }

    /// `K_all(β)`, the kernel controlling the clean error.
    pub fn k_all(&self, beta: f64) -> Result<Tensor, NtkError> {
        mix(&self.clean, &self.cross, &self.robust, beta)
    }

    /// `K̃_all(β)`, the kernel controlling the robust error.
    pub fn k_tilde_all(&self, beta: f64) -> Result<Tensor, NtkError> {
        mix(&self.robust, &self.cross2, &self.robust2, beta)
    }
}

/// The blocks of as many pairs as asked for.
fn fixed<const N: usize>(blocks: Vec<Tensor>) -> [Tensor; N] {
    blocks.try_into().unwrap_or_else(|b: Vec<Tensor>| panic!("{N} blocks, got {}", b.len()))
}

fn check_same_shapes(x: &Tensor, x_adv: &Tensor, x_adv2: &Tensor) -> Result<(), NtkError> {
    for (what, t) in [("attacked batch x_adv", x_adv), ("twice-attacked batch x_adv2", x_adv2)] {
        if t.size() != x.size() {
            return Err(NtkError::BadShape {
                what,
                shape: t.size(),
                expected: format!("expected the clean batch's shape {:?}", x.size()),
            });
        }
    }
    Ok(())
}

/// `(1−β)²·a + β(1−β)·(cross + crossᵀ) + β²·b` for square `a`, `b`, `cross` of the
/// same size and `β ∈ [0, 1]`: the Gram matrix of `(1−β)·J_a + β·J_b` when
/// `a = J_a J_aᵀ`, `b = J_b J_bᵀ` and `cross = J_a J_bᵀ`.
pub fn mix(a: &Tensor, cross: &Tensor, b: &Tensor, beta: f64) -> Result<Tensor, NtkError> {
    if !(0.0..=1.0).contains(&beta) {
        return Err(NtkError::BadBeta(beta));
    }
    let shape = a.size();
    if shape.len() != 2 || shape[0] != shape[1] {
        return Err(NtkError::BadShape {
            what: "first kernel block",
            shape,
            expected: "expected a square matrix".into(),
        });
    }
    for (what, t) in [("cross kernel block", cross), ("second kernel block", b)] {
        if t.size() != shape {
            return Err(NtkError::BadShape {
                what,
                shape: t.size(),
                expected: format!("expected {shape:?} like the first block"),
            });
        }
    }
    let w = 1.0 - beta;
    Ok(a * (w * w) + (cross + cross.tr()) * (beta * w) + b * (beta * beta))
}
