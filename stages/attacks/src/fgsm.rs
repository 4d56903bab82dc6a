//! FGSM (Goodfellow et al., 2015): one step of size ε along the sign of the
//! cross-entropy gradient.

use tch::Tensor;

use crate::{Classifier, input_gradient};

pub fn fgsm(model: &Classifier<'_>, x: &Tensor, y: &Tensor, eps: f64) -> Tensor {
    let grad = input_gradient(model, x, y);
    tch::no_grad(|| (x + grad.sign() * eps).clamp(0.0, 1.0))
}
