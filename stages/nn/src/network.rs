//! The TinyNetwork of NAS-Bench-201 (`xautodl/models/cell_infers`):
//! input normalisation; stem conv3×3 + BN; three stages of N cells at C, 2C,
//! 4C channels with a residual reduction block between stages; BN + ReLU,
//! global average pool, linear classifier.

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::batchnorm::{BatchNorm, BnMode};
use crate::ops::{Block, Cell, Reduction};
use crate::state::State;
use crate::trace::{Tape, Trace, TracedLayer, conv2d};
use crate::{NetworkSpec, NnError};

/// A NAS-Bench-201 network whose tensors carry the official PyTorch
/// `state_dict()` names (see [`TinyNetwork::state`]).
pub struct TinyNetwork {
    vs: VarStore,
    spec: NetworkSpec,
    stem: Tensor,
    stem_bn: BatchNorm,
    /// `cells.{i}`: N cells, a reduction, N cells, a reduction, N cells.
    blocks: Vec<Block>,
    lastact: BatchNorm,
    classifier_weight: Tensor,
    classifier_bias: Tensor,
    mean: Tensor,
    std: Tensor,
}

impl TinyNetwork {
    /// A network with PyTorch's default initialisation, drawn from `seed`.
    pub fn new(spec: &NetworkSpec, device: Device, seed: u64) -> Result<TinyNetwork, NnError> {
        spec.validate()?;
        let net = Self::build(spec, device);
        crate::init::initialise(&net.state(), seed);
        Ok(net)
    }

    /// The modules of a valid `spec`, with zero weights.
    pub(crate) fn build(spec: &NetworkSpec, device: Device) -> TinyNetwork {
        let vs = VarStore::new(device);
        let root = vs.root();
        let c = spec.channels;
        let stem = (&root / "stem" / 0).zeros("weight", &[c, 3, 3, 3]);
        let stem_bn = BatchNorm::new(&(&root / "stem" / 1), c);
        let mut blocks = Vec::new();
        let mut c_prev = c;
        for stage in 0..3 {
            let c_stage = c << stage;
            if stage > 0 {
                blocks.push(Block::Reduction(Reduction::new(&(&root / "cells" / blocks.len()), c_prev, c_stage)));
            }
            for _ in 0..spec.cells_per_stage {
                blocks.push(Block::Cell(Cell::new(&(&root / "cells" / blocks.len()), &spec.arch, c_stage)));
            }
            c_prev = c_stage;
        }
        let lastact = BatchNorm::new(&(&root / "lastact" / 0), c_prev);
        let classifier_weight = (&root / "classifier").zeros("weight", &[spec.classes, c_prev]);
        let classifier_bias = (&root / "classifier").zeros("bias", &[spec.classes]);
        let channel = |v: &[f64]| Tensor::from_slice(v).to_kind(Kind::Float).view([1, 3, 1, 1]).to_device(device);
        TinyNetwork {
            mean: channel(&spec.mean),
            std: channel(&spec.std),
            vs,
            spec: spec.clone(),
            stem,
            stem_bn,
            blocks,
            lastact,
            classifier_weight,
            classifier_bias,
        }
    }

    /// Gives every convolution weight NHWC strides (PyTorch's
    /// `channels_last`) without changing a value: libtorch's CPU
    /// convolutions then run channels-last from the stem on, and a training
    /// step of these networks on one thread took 1/1.16 to 1/1.24 of its time
    /// in contiguous layout (PyTorch 2.11, C=8 N=1 16×16 and C=16 N=5 32×32).
    /// Checkpoints are still written in the standard layout.
    pub fn use_channels_last(&self) {
        tch::no_grad(|| {
            for (_, mut weight) in self.vs.variables() {
                if weight.dim() == 4 {
                    let nhwc = weight.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2]);
                    weight.set_data(&nhwc);
                }
            }
        });
    }

    /// The layout measured fastest on this network's device: channels-last
    /// on the CPU (training and attacks, docs/src/guide/gpus-and-threads.md);
    /// on CUDA the standard layout until it is measured there.
    pub fn use_fastest_layout(&self) {
        if self.device() == Device::Cpu {
            self.use_channels_last();
        }
    }

    /// Logits (batch, classes) for pixels in [0, 1] of shape (batch, 3, H, W).
    ///
    /// `train = true` is PyTorch's train mode: BN normalises with the batch
    /// statistics and updates its running statistics and
    /// `num_batches_tracked`. `train = false` is eval mode: the running
    /// statistics are used and no state changes, so attacks and evaluation
    /// call `forward_t(x, false)` (gradients still flow unless under
    /// `tch::no_grad`).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_mode(x, if train { BnMode::Train } else { BnMode::Eval }, &mut None)
    }

    /// Sets every BN layer's running statistics to those of its input when
    /// the network (in train mode) sees the pixels `x`; nothing else changes.
    /// A freshly initialised network has running mean 0 and variance 1, so in
    /// eval mode its BN layers are the identity; calibrated, they normalise as
    /// in training while still treating samples independently (what
    /// per-sample Jacobians such as the NTK's need).
    pub fn calibrate_batch_norm(&self, x: &Tensor) {
        let _ = tch::no_grad(|| self.forward_mode(x, BnMode::Calibrate, &mut None));
    }

    /// Eval-mode logits of `x` (as `forward_t(x, false)`, with gradient
    /// tracking on) and every parametrised layer on the way: stem conv and
    /// BN, each ReLU-conv-BN of the cells and reduction blocks, the
    /// reductions' 1×1 shortcut convs, the last BN and the classifier. Their
    /// parameters are exactly the trainable variables. The logits are for
    /// per-sample gradients, not for training: large convolutions run
    /// through per-sample weight copies ([`TracedLayer::Conv2d`]), so no
    /// gradient reaches those layers' own weights.
    pub fn forward_traced(&self, x: &Tensor) -> Trace {
        let mut tape = Some(Vec::new());
        let logits = tch::with_grad(|| self.forward_mode(x, BnMode::Eval, &mut tape));
        Trace { logits, layers: tape.expect("the tape records") }
    }

    fn forward_mode(&self, x: &Tensor, mode: BnMode, tape: &mut Tape) -> Tensor {
        let x = (x - &self.mean) / &self.std;
        let x = conv2d(&x, &self.stem, 1, 1, tape);
        let mut x = self.stem_bn.forward_t(&x, mode, tape);
        for block in &self.blocks {
            x = block.forward_t(&x, mode, tape);
        }
        let features = self.lastact.forward_t(&x, mode, tape).relu().adaptive_avg_pool2d([1, 1]).flatten(1, -1);
        let logits = features.linear(&self.classifier_weight, Some(&self.classifier_bias));
        if let Some(layers) = tape {
            layers.push(TracedLayer::Linear {
                input: features.detach(),
                output: logits.shallow_clone(),
                weight: self.classifier_weight.shallow_clone(),
                bias: self.classifier_bias.shallow_clone(),
            });
        }
        logits
    }

    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }

    /// The var store holding the trainable parameters (for an optimizer) and
    /// the BN running statistics (not trainable).
    pub fn var_store(&self) -> &VarStore {
        &self.vs
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Number of trainable parameters (NAS-Bench-201's `params`).
    pub fn parameter_count(&self) -> i64 {
        self.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }

    /// Every tensor of the PyTorch `state_dict()`, by its name there and in
    /// its order. The tensors share storage with the network.
    pub fn state(&self) -> State {
        let mut out = vec![("stem.0.weight".to_string(), self.stem.shallow_clone())];
        self.stem_bn.push_state("stem.1", &mut out);
        for (i, block) in self.blocks.iter().enumerate() {
            block.push_state(&format!("cells.{i}"), &mut out);
        }
        self.lastact.push_state("lastact.0", &mut out);
        out.push(("classifier.weight".to_string(), self.classifier_weight.shallow_clone()));
        out.push(("classifier.bias".to_string(), self.classifier_bias.shallow_clone()));
        out
    }

    /// A copy of the network (weights, running statistics, counters) on `device`.
    pub fn to_device(&self, device: Device) -> TinyNetwork {
        let copy = Self::build(&self.spec, device);
        for ((_, target), (_, source)) in copy.state().iter().zip(self.state()) {
            tch::no_grad(|| target.shallow_clone().copy_(&source));
        }
        copy
    }

    /// A copy of the network with its floating-point tensors (weights,
    /// running statistics, input normalisation) in `kind`, e.g. `Kind::Double`
    /// for float64 reference computations. Inputs must then be of `kind` too.
    pub fn to_kind(&self, kind: Kind) -> TinyNetwork {
        let mut copy = Self::build(&self.spec, self.device());
        copy.vs.set_kind(kind);
        copy.mean = copy.mean.to_kind(kind);
        copy.std = copy.std.to_kind(kind);
        for ((_, target), (_, source)) in copy.state().iter().zip(self.state()) {
            tch::no_grad(|| target.shallow_clone().copy_(&source));
        }
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(arch: usize) -> NetworkSpec {
        NetworkSpec {
            arch: robbench_space::Space::nb201().arch(arch).unwrap(),
            channels: 4,
            cells_per_stage: 1,
            classes: 10,
            mean: vec![0.5, 0.4, 0.3],
            std: vec![0.25, 0.2, 0.2],
        }
    }

    /// Logits and every parameter's gradient of one train-mode step.
    fn step(net: &TinyNetwork, x: &Tensor, y: &Tensor) -> (Tensor, Vec<(String, Tensor)>) {
        let logits = net.forward_t(x, true);
        let loss = logits.cross_entropy_for_logits(y);
        let mut params: Vec<(String, Tensor)> =
            net.var_store().variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let tensors: Vec<&Tensor> = params.iter().map(|(_, t)| t).collect();
        let grads = Tensor::run_backward(&[&loss], &tensors, false, false);
        (logits, params.into_iter().map(|(n, _)| n).zip(grads).collect())
    }

    #[test]
    fn channels_last_weights_save_the_same_checkpoint_and_train_alike_up_to_rounding() {
        // A cell of convolutions, and one of pooling, skips and zeros.
        for arch in [2581, 1007] {
            let (plain, nhwc) = (
                TinyNetwork::new(&spec(arch), Device::Cpu, 3).unwrap(),
                TinyNetwork::new(&spec(arch), Device::Cpu, 3).unwrap(),
            );
            nhwc.use_channels_last();
            let stem = &nhwc.var_store().variables()["stem.0.weight"];
            assert_eq!(stem.stride(), [27, 1, 9, 3], "arch {arch}: the stem's weight is not NHWC");
            // Checkpoints hold the standard layout.
            let dir = tempfile::tempdir().unwrap();
            let (pa, pb) = (dir.path().join("a"), dir.path().join("b"));
            plain.save(&pa).unwrap();
            nhwc.save(&pb).unwrap();
            assert!(std::fs::read(pa).unwrap() == std::fs::read(pb).unwrap(), "arch {arch}: checkpoints differ");
            // Fixed pixels in [0, 1]: libtorch's global generator is shared by concurrent tests.
            let x = ((Tensor::arange(6 * 3 * 8 * 8, (Kind::Float, Device::Cpu)) * 0.37).sin() * 0.5 + 0.5)
                .view([6, 3, 8, 8]);
            let y = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 5]);
            let ((a, grads_a), (b, grads_b)) = (step(&plain, &x, &y), step(&nhwc, &x, &y));
            assert!(a.allclose(&b, 1e-5, 1e-6, false), "arch {arch}: logits differ");
            // Rounding differs by summation order: compared against each
            // gradient's own scale, not element by element (an element near
            // zero has no relative precision to keep).
            for ((name, ga), (_, gb)) in grads_a.iter().zip(&grads_b) {
                let (diff, scale) = ((ga - gb).abs().max().double_value(&[]), ga.abs().max().double_value(&[]));
                assert!(
                    diff <= 1e-4 * scale + 1e-7,
                    "arch {arch}: gradient of {name} differs by {diff} (scale {scale})"
                );
            }
        }
    }
}
