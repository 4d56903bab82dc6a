//! SGD with momentum and weight decay, PyTorch semantics (dampening 0, no
//! Nesterov): `buf = m·buf + (g + wd·p)`, `p -= lr·buf`, the buffer starting
//! as the first `g + wd·p`. Written out (rather than tch's optimizer) so that
//! the momentum buffers can be checkpointed and a resumed run continues
//! exactly where it stopped, and so the momentum can follow the one-cycle
//! schedule.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use tch::{Tensor, nn::VarStore};

pub struct Sgd {
    /// Trainable parameters by name (sorted: a stable order for checkpoints).
    params: BTreeMap<String, Tensor>,
    buffers: BTreeMap<String, Tensor>,
    weight_decay: f64,
}

impl Sgd {
    pub fn new(vs: &VarStore, weight_decay: f64) -> Sgd {
        let params = vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
        Sgd { params, buffers: BTreeMap::new(), weight_decay }
    }

    /// The gradient of `loss` with respect to every parameter, in the order
    /// [`Sgd::step`] expects. Returned rather than accumulated into `.grad`,
    /// so no gradient needs zeroing before the backward pass nor adding into
    /// afterwards (PyTorch's `zero_grad(set_to_none=True)`).
    pub fn gradients(&self, loss: &Tensor) -> Vec<Tensor> {
        let params: Vec<&Tensor> = self.params.values().collect();
        Tensor::run_backward(&[loss], &params, false, false)
    }

    /// One step with `grads` from [`Sgd::gradients`].
    pub fn step(&mut self, grads: Vec<Tensor>, lr: f64, momentum: f64) {
        tch::no_grad(|| {
            for ((name, p), grad) in self.params.iter_mut().zip(grads) {
                if !grad.defined() {
                    continue;
                }
                // A new tensor (autograd may hand one gradient to two inputs).
                let d_p = &grad + &*p * self.weight_decay;
                let buf = match self.buffers.get_mut(name) {
                    Some(buf) => {
                        let _ = buf.g_mul_scalar_(momentum).g_add_(&d_p);
                        buf.shallow_clone()
                    }
                    None => {
                        self.buffers.insert(name.clone(), d_p.shallow_clone());
                        d_p
                    }
                };
                let _ = p.g_sub_(&(buf * lr));
            }
        });
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        // Buffers follow their parameter's layout (NHWC for convolutions,
        // see `TinyNetwork::use_channels_last`); files hold the standard one.
        let named: Vec<(&str, Tensor)> = self.buffers.iter().map(|(n, t)| (n.as_str(), t.contiguous())).collect();
        Tensor::write_safetensors(&named, path).with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn load(&mut self, path: &Path) -> Result<()> {
        let device = self.params.values().next().map(|p| p.device()).unwrap_or(tch::Device::Cpu);
        for (name, t) in Tensor::read_safetensors(path).with_context(|| format!("cannot read {}", path.display()))? {
            anyhow::ensure!(
                self.params.contains_key(&name),
                "{}: momentum for unknown parameter `{name}`",
                path.display()
            );
            self.buffers.insert(name, t.to_device(device));
        }
        Ok(())
    }
}
