//! Empirical NTK matrices from per-sample Jacobians.

use tch::{Kind, Tensor};

use crate::NtkError;
use crate::jacobian::{NtkOutput, jacobian};

/// Empirical NTK `K_ij = ⟨∂f(x1_i)/∂θ, ∂f(x2_j)/∂θ⟩` (Jacot et al. 2018), summed
/// over the trainable parameters, as a float64 `n1 × n2` matrix (`(n1·K) × (n2·K)`
/// for [`NtkOutput::PerLogit`]) on the inputs' device. `x2 = None` means `x2 = x1`;
/// the result is then exactly symmetric. The Jacobians and their product are in
/// the network's precision (float32, or float64 for a float64 network); the
/// result is float64 for the spectral summaries. The model must be in eval mode
/// (see the crate docs). This is the general path, one backward pass per sample;
/// [`crate::empirical_ntk_structured`] is the fast one for traced networks.
pub fn empirical_ntk(
    model: &dyn Fn(&Tensor) -> Tensor,
    params: &[Tensor],
    x1: &Tensor,
    x2: Option<&Tensor>,
    output: NtkOutput,
) -> Result<Tensor, NtkError> {
    check_shared_labels(output, x1, x2)?;
    let j1 = jacobian(model, params, x1, output)?;
    let j2 = x2.map(|x2| jacobian(model, params, x2, output)).transpose()?;
    kernel_from_jacobians(&j1, j2.as_ref())
}

/// With [`NtkOutput::Logit`] both input sets use the same labels, so they must
/// hold as many samples.
pub(crate) fn check_shared_labels(output: NtkOutput, x1: &Tensor, x2: Option<&Tensor>) -> Result<(), NtkError> {
    if let (NtkOutput::Logit(_), Some(x2)) = (output, x2)
        && x2.size().first() != x1.size().first()
    {
        return Err(NtkError::BadLabels(format!(
            "Logit labels are shared by both input sets, but they hold {:?} and {:?} samples",
            x1.size().first(),
            x2.size().first()
        )));
    }
    Ok(())
}

/// `J1 J2ᵀ` formed in float32 (float64 for float64 Jacobians) and returned as float64; `j2 = None` gives the Gram
/// matrix `J1 J1ᵀ`, symmetrised to remove the rounding asymmetry of the product.
/// Use this to reuse Jacobians across several kernel blocks.
pub fn kernel_from_jacobians(j1: &Tensor, j2: Option<&Tensor>) -> Result<Tensor, NtkError> {
    let check = |what: &'static str, j: &Tensor| -> Result<(), NtkError> {
        if j.dim() != 2 || j.size()[0] == 0 {
            return Err(NtkError::BadShape { what, shape: j.size(), expected: "expected [rows > 0, P]".into() });
        }
        Ok(())
    };
    check("first Jacobian", j1)?;
    let kind = if j1.kind() == Kind::Double { Kind::Double } else { Kind::Float };
    let j1 = j1.to_kind(kind);
    let k = match j2 {
        None => {
            let k = j1.matmul(&j1.tr()).to_kind(Kind::Double);
            (&k + k.tr()) * 0.5
        }
        Some(j2) => {
            check("second Jacobian", j2)?;
            if j2.size()[1] != j1.size()[1] {
                return Err(NtkError::BadShape {
                    what: "second Jacobian",
                    shape: j2.size(),
                    expected: format!("expected {} parameter columns like the first", j1.size()[1]),
                });
            }
            j1.matmul(&j2.to_kind(kind).tr()).to_kind(Kind::Double)
        }
    };
    if !bool::try_from(k.isfinite().all())? {
        return Err(NtkError::NonFinite("kernel"));
    }
    Ok(k)
}
