//! Float64 spectral summaries of kernel matrices and `yᵀK⁻¹y` by solving.

use tch::{Kind, Tensor};

use crate::NtkError;

/// Relative asymmetry `max|K−Kᵀ| / max|K|` accepted before a kernel is rejected.
const SYMMETRY_TOLERANCE: f64 = 1e-6;

/// Diagonal jitters tried, relative to the mean diagonal, only when Cholesky of `K`
/// itself fails. The largest, 1e-6, is the order of the float32 rounding already in
/// the kernel's entries, so it perturbs `K` no more than its own precision does.
const JITTERS: [f64; 4] = [1e-12, 1e-10, 1e-8, 1e-6];

/// Eigenvalue summary of a symmetric kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelStats {
    /// Smallest eigenvalue (may be slightly negative from rounding).
    pub lambda_min: f64,
    /// Largest eigenvalue.
    pub lambda_max: f64,
    /// `tr K = Σ λ_i`.
    pub trace: f64,
    /// `λ_max / λ_min`; `+∞` when `λ_min ≤ 0` (numerically singular).
    pub condition: f64,
}

/// `yᵀK⁻¹y` and the jitter that had to be added to the diagonal to factor `K`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuadraticForm {
    /// `yᵀ(K + jitter·I)⁻¹y`.
    pub value: f64,
    /// 0 unless `K` was numerically singular (absolute value added to the diagonal).
    pub jitter: f64,
}

/// Eigenvalues of the symmetric kernel `k` (float64 symmetric eigendecomposition,
/// `linalg_eigvalsh`) summarised as [`KernelStats`].
pub fn kernel_stats(k: &Tensor) -> Result<KernelStats, NtkError> {
    let k = checked_symmetric(k)?;
    let eig = Vec::<f64>::try_from(k.linalg_eigvalsh("L").to_device(tch::Device::Cpu))?;
    let lambda_min = eig[0];
    let lambda_max = eig[eig.len() - 1];
    let condition = if lambda_min > 0.0 { lambda_max / lambda_min } else { f64::INFINITY };
    Ok(KernelStats { lambda_min, lambda_max, trace: eig.iter().sum(), condition })
}

/// `yᵀK⁻¹y` for a symmetric positive definite `k`, solved through a float64
/// Cholesky factorisation (never an explicit inverse). When `k` is numerically
/// singular a jitter `ε·mean(diag K)`, `ε ∈ {1e-12, 1e-10, 1e-8, 1e-6}` (the first
/// that factors), is added to the diagonal and reported.
pub fn quadratic_form(k: &Tensor, y: &[f64]) -> Result<QuadraticForm, NtkError> {
    let (values, jitter) = quadratic_forms(k, &[y.to_vec()])?;
    Ok(QuadraticForm { value: values[0], jitter })
}

/// `y_cᵀK⁻¹y_c` for several right-hand sides sharing one factorisation; returns the
/// values and the jitter used (see [`quadratic_form`]).
pub fn quadratic_forms(k: &Tensor, ys: &[Vec<f64>]) -> Result<(Vec<f64>, f64), NtkError> {
    let k = checked_symmetric(k)?;
    let n = k.size()[0];
    if ys.is_empty() {
        return Err(NtkError::BadLabels("no right-hand side y given".into()));
    }
    for y in ys {
        if y.len() as i64 != n {
            return Err(NtkError::BadLabels(format!("y has {} entries for a {n}×{n} kernel", y.len())));
        }
        if y.iter().any(|v| !v.is_finite()) {
            return Err(NtkError::NonFinite("y"));
        }
    }
    let flat: Vec<f64> = ys.iter().flatten().copied().collect();
    // Columns are the right-hand sides.
    let y = Tensor::from_slice(&flat).view([ys.len() as i64, n]).tr().to_device(k.device());
    let (chol, jitter) = cholesky_with_jitter(&k)?;
    let z = y.cholesky_solve(&chol, false);
    let values = Vec::<f64>::try_from((&y * &z).sum_dim_intlist(0, false, None).to_device(tch::Device::Cpu))?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(NtkError::SingularKernel { jitter });
    }
    Ok((values, jitter))
}

fn cholesky_with_jitter(k: &Tensor) -> Result<(Tensor, f64), NtkError> {
    let factor = |m: &Tensor| -> Result<Option<Tensor>, NtkError> {
        let (l, info) = m.f_linalg_cholesky_ex(false, false)?;
        Ok((info.int64_value(&[]) == 0).then_some(l))
    };
    if let Some(l) = factor(k)? {
        return Ok((l, 0.0));
    }
    let n = k.size()[0];
    let scale = k.diagonal(0, 0, 1).mean(Kind::Double).double_value(&[]);
    let mut jitter = 0.0;
    if scale > 0.0 {
        let eye = Tensor::eye(n, (Kind::Double, k.device()));
        for rel in JITTERS {
            jitter = rel * scale;
            if let Some(l) = factor(&(k + &eye * jitter))? {
                return Ok((l, jitter));
            }
        }
    }
    Err(NtkError::SingularKernel { jitter })
}

/// `k` as a finite, square, symmetric float64 matrix (exactly symmetrised).
fn checked_symmetric(k: &Tensor) -> Result<Tensor, NtkError> {
    let shape = k.size();
    if shape.len() != 2 || shape[0] != shape[1] || shape[0] == 0 {
        return Err(NtkError::BadShape {
            what: "kernel",
            shape,
            expected: "expected a non-empty square matrix".into(),
        });
    }
    let k = k.to_kind(Kind::Double);
    if !bool::try_from(k.isfinite().all())? {
        return Err(NtkError::NonFinite("kernel"));
    }
    let scale = k.abs().max().double_value(&[]);
    let asymmetry = (&k - k.tr()).abs().max().double_value(&[]);
    if asymmetry > SYMMETRY_TOLERANCE * scale {
        return Err(NtkError::NotSymmetric { asymmetry, scale });
    }
    Ok((&k + k.tr()) * 0.5)
}
