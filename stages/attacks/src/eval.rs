//! Batched per-sample correctness, clean and under attack.

use tch::{Device, Kind, Tensor};

use crate::error::{at_least_one, check_batch, AttackError};
use crate::{correct, linf_norm, Classifier};

/// Per-sample correctness of `model` on `x`, `batch_size` samples at a time.
pub fn correct_vec(model: &Classifier<'_>, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<Vec<bool>, AttackError> {
    robust_correct(model, x, y, 0.0, batch_size, |xb, _, _| Ok(xb.shallow_clone()))
}

/// Per-sample correctness of `model` on the points `attack(x_b, y_b, batch_index)`
/// returns for consecutive batches of `batch_size` samples. Fails if the
/// attack fails or leaves the ε-ball around `x` (tolerance 1e-6) or [0, 1].
pub fn robust_correct(
    model: &Classifier<'_>,
    x: &Tensor,
    y: &Tensor,
    eps: f64,
    batch_size: usize,
    mut attack: impl FnMut(&Tensor, &Tensor, usize) -> Result<Tensor, AttackError>,
) -> Result<Vec<bool>, AttackError> {
    check_batch(x, y)?;
    at_least_one("batch_size", batch_size)?;
    let n = x.size()[0];
    let mut out = Vec::with_capacity(n as usize);
    for (index, start) in (0..n).step_by(batch_size).enumerate() {
        let len = (batch_size as i64).min(n - start);
        let (xb, yb) = (x.narrow(0, start, len), y.narrow(0, start, len));
        let adv = attack(&xb, &yb, index)?;
        if adv.size() != xb.size() {
            return Err(AttackError::Images { shape: adv.size(), kind: adv.kind() });
        }
        let distance = tch::no_grad(|| linf_norm(&(&adv - &xb)).max().double_value(&[]));
        let (lo, hi) = (adv.min().double_value(&[]), adv.max().double_value(&[]));
        if distance > eps + 1e-6 || lo < 0.0 || hi > 1.0 {
            return Err(AttackError::Escaped { distance, eps, lo, hi });
        }
        let hits = correct(model, &adv, &yb).to_kind(Kind::Bool).to_device(Device::Cpu);
        out.extend(Vec::<bool>::try_from(hits).expect("a bool vector"));
    }
    Ok(out)
}
