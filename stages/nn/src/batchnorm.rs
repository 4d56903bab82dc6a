//! BatchNorm2d with PyTorch's semantics and state: affine weight and bias
//! (trainable), running mean and variance (updated in train mode with
//! momentum 0.1 and the unbiased batch variance, by libtorch's own kernel),
//! and `num_batches_tracked`.

use tch::{nn::Path, Kind, Tensor};

pub struct BatchNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    pub num_batches_tracked: Tensor,
}

impl BatchNorm {
    pub fn new(path: &Path, channels: i64) -> BatchNorm {
        BatchNorm {
            weight: path.ones("weight", &[channels]),
            bias: path.zeros("bias", &[channels]),
            running_mean: path.zeros_no_train("running_mean", &[channels]),
            running_var: path.ones_no_train("running_var", &[channels]),
            num_batches_tracked: Tensor::zeros([], (Kind::Int64, path.device())),
        }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        if train {
            tch::no_grad(|| {
                let mut n = self.num_batches_tracked.shallow_clone();
                let _ = n.g_add_scalar_(1);
            });
        }
        Tensor::batch_norm(
            x,
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            0.1,
            1e-5,
            false,
        )
    }

    /// (suffix, tensor) in `state_dict()` order.
    pub fn state(&self) -> [(&'static str, &Tensor); 5] {
        [
            ("weight", &self.weight),
            ("bias", &self.bias),
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
            ("num_batches_tracked", &self.num_batches_tracked),
        ]
    }
}
