//! The TinyNetwork of NAS-Bench-201 (`xautodl/models/cell_infers`):
//! stem conv3×3 + BN; three stages of N cells at C, 2C, 4C channels with a
//! residual reduction block between stages; BN + ReLU, global average pool,
//! linear classifier. Every edge of the cell string, `none` included, is a
//! layer of the cell, in string order, so layer indices match the official
//! `state_dict()` names.

use std::path::Path as FsPath;

use robbench_rng::Rng;
use robbench_space::{Arch, Op};
use tch::nn::{Path, VarStore};
use tch::{Device, Kind, Tensor};

use crate::batchnorm::BatchNorm;
use crate::NnError;

/// What a network is: the cell, the skeleton, and the input normalisation.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSpec {
    pub arch: Arch,
    /// C: channels of the first stage.
    pub channels: i64,
    /// N: cells per stage.
    pub cells_per_stage: i64,
    pub classes: i64,
    /// Per-channel mean and std of input pixels in [0, 1].
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// ReLU → conv (no bias) → BN: `op.1` and `op.2` in the state dict.
struct ReluConvBn {
    weight: Tensor,
    bn: BatchNorm,
    stride: i64,
    padding: i64,
}

impl ReluConvBn {
    fn new(path: &Path, c_in: i64, c_out: i64, kernel: i64, stride: i64) -> ReluConvBn {
        let op = path / "op";
        ReluConvBn {
            weight: (&op / 1).zeros("weight", &[c_out, c_in, kernel, kernel]),
            bn: BatchNorm::new(&(&op / 2), c_out),
            stride,
            padding: kernel / 2,
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x.relu().conv2d(&self.weight, None::<Tensor>, [self.stride], [self.padding], [1], 1);
        self.bn.forward_t(&y, train)
    }
}

enum Edge {
    Zero,
    Identity,
    AvgPool,
    Conv(ReluConvBn),
}

impl Edge {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match self {
            Edge::Zero => x * 0.0,
            Edge::Identity => x.shallow_clone(),
            // count_include_pad = false, as NAS-Bench-201's Pooling op.
            Edge::AvgPool => x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None),
            Edge::Conv(op) => op.forward_t(x, train),
        }
    }
}

enum Block {
    /// (to node, from node, op) per edge, in string order.
    Cell(Vec<(usize, usize, Edge)>),
    /// ResNetBasicblock with stride 2: conv_a, conv_b and the shortcut
    /// AvgPool2d(2) + conv1×1 (`downsample.1`).
    Reduction { conv_a: ReluConvBn, conv_b: ReluConvBn, downsample: Tensor },
}

pub struct TinyNetwork {
    vs: VarStore,
    spec: NetworkSpec,
    stem: Tensor,
    stem_bn: BatchNorm,
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
        let net = Self::build(spec, device)?;
        net.initialise(seed);
        Ok(net)
    }

    fn build(spec: &NetworkSpec, device: Device) -> Result<TinyNetwork, NnError> {
        if spec.channels < 1 || spec.cells_per_stage < 1 || spec.classes < 1 {
            return Err(NnError::Spec(format!("C, N and classes must be positive: {spec:?}")));
        }
        if spec.mean.len() != 3 || spec.std.len() != 3 || spec.std.iter().any(|&s| !(s > 0.0)) {
            return Err(NnError::Spec(format!("mean and std need 3 values with std > 0: {:?} {:?}", spec.mean, spec.std)));
        }
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
                let p = &root / "cells" / blocks.len();
                blocks.push(Block::Reduction {
                    conv_a: ReluConvBn::new(&(&p / "conv_a"), c_prev, c_stage, 3, 2),
                    conv_b: ReluConvBn::new(&(&p / "conv_b"), c_stage, c_stage, 3, 1),
                    downsample: (&p / "downsample" / 1).zeros("weight", &[c_stage, c_prev, 1, 1]),
                });
            }
            for _ in 0..spec.cells_per_stage {
                let p = &root / "cells" / blocks.len() / "layers";
                let edges = spec
                    .arch
                    .edge_list()
                    .enumerate()
                    .map(|(j, (to, from, op))| {
                        let edge = match op {
                            Op::None => Edge::Zero,
                            Op::SkipConnect => Edge::Identity,
                            Op::AvgPool3x3 => Edge::AvgPool,
                            Op::NorConv1x1 => Edge::Conv(ReluConvBn::new(&(&p / j), c_stage, c_stage, 1, 1)),
                            Op::NorConv3x3 => Edge::Conv(ReluConvBn::new(&(&p / j), c_stage, c_stage, 3, 1)),
                        };
                        (to, from, edge)
                    })
                    .collect();
                blocks.push(Block::Cell(edges));
            }
            c_prev = c_stage;
        }
        let lastact = BatchNorm::new(&(&root / "lastact" / 0), c_prev);
        let classifier_weight = (&root / "classifier").zeros("weight", &[spec.classes, c_prev]);
        let classifier_bias = (&root / "classifier").zeros("bias", &[spec.classes]);
        let channel = |v: &[f64]| Tensor::from_slice(v).to_kind(Kind::Float).view([1, 3, 1, 1]).to_device(device);
        Ok(TinyNetwork {
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
        })
    }

    /// PyTorch's defaults: conv and linear weights (and the linear bias) are
    /// kaiming-uniform with a = √5, i.e. U(−1/√fan_in, 1/√fan_in); BN weight
    /// 1, bias 0 (already so).
    fn initialise(&self, seed: u64) {
        let mut rng = Rng::derive(seed, "init", 0);
        let mut fill = |t: &Tensor, fan_in: i64| {
            let bound = 1.0 / (fan_in as f32).sqrt();
            let values = Tensor::from_slice(&rng.uniform_vec(t.numel(), -bound, bound)).view(t.size().as_slice());
            tch::no_grad(|| t.shallow_clone().copy_(&values));
        };
        let fan_in = |t: &Tensor| t.size()[1..].iter().product::<i64>();
        for (name, t) in self.state() {
            if name.ends_with(".weight") && t.dim() > 1 {
                fill(&t, fan_in(&t));
            }
        }
        fill(&self.classifier_bias, self.classifier_weight.size()[1]);
    }

    /// Logits for pixels in [0, 1] (N, 3, H, W). `train` selects BN batch
    /// statistics and updates the running statistics, as PyTorch's train mode.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let x = (x - &self.mean) / &self.std;
        let mut x = self.stem_bn.forward_t(&x.conv2d(&self.stem, None::<Tensor>, [1], [1], [1], 1), train);
        for block in &self.blocks {
            x = match block {
                Block::Cell(edges) => {
                    let mut nodes = vec![x];
                    for node in 1..=3 {
                        let sum = edges
                            .iter()
                            .filter(|(to, _, _)| *to == node)
                            .map(|(_, from, edge)| edge.forward_t(&nodes[*from], train))
                            .reduce(|a, b| a + b)
                            .expect("every node has an input edge");
                        nodes.push(sum);
                    }
                    nodes.pop().expect("three nodes")
                }
                Block::Reduction { conv_a, conv_b, downsample } => {
                    let residual = x.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None).conv2d(
                        downsample,
                        None::<Tensor>,
                        [1],
                        [0],
                        [1],
                        1,
                    );
                    conv_b.forward_t(&conv_a.forward_t(&x, train), train) + residual
                }
            };
        }
        let x = self.lastact.forward_t(&x, train).relu();
        x.adaptive_avg_pool2d([1, 1]).flatten(1, -1).linear(&self.classifier_weight, Some(&self.classifier_bias))
    }

    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }

    /// The trainable parameters, for an optimizer.
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

    /// Every tensor of the PyTorch `state_dict()`, by its name there.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        let push_bn = |out: &mut Vec<(String, Tensor)>, prefix: &str, bn: &BatchNorm| {
            for (suffix, t) in bn.state() {
                out.push((format!("{prefix}.{suffix}"), t.shallow_clone()));
            }
        };
        out.push(("stem.0.weight".into(), self.stem.shallow_clone()));
        push_bn(&mut out, "stem.1", &self.stem_bn);
        let push_op = |out: &mut Vec<(String, Tensor)>, prefix: String, op: &ReluConvBn| {
            out.push((format!("{prefix}.op.1.weight"), op.weight.shallow_clone()));
            push_bn(out, &format!("{prefix}.op.2"), &op.bn);
        };
        for (i, block) in self.blocks.iter().enumerate() {
            match block {
                Block::Cell(edges) => {
                    for (j, (_, _, edge)) in edges.iter().enumerate() {
                        if let Edge::Conv(op) = edge {
                            push_op(&mut out, format!("cells.{i}.layers.{j}"), op);
                        }
                    }
                }
                Block::Reduction { conv_a, conv_b, downsample } => {
                    push_op(&mut out, format!("cells.{i}.conv_a"), conv_a);
                    push_op(&mut out, format!("cells.{i}.conv_b"), conv_b);
                    out.push((format!("cells.{i}.downsample.1.weight"), downsample.shallow_clone()));
                }
            }
        }
        for (suffix, t) in self.lastact.state() {
            out.push((format!("lastact.0.{suffix}"), t.shallow_clone()));
        }
        out.push(("classifier.weight".into(), self.classifier_weight.shallow_clone()));
        out.push(("classifier.bias".into(), self.classifier_bias.shallow_clone()));
        out
    }

    /// Writes a safetensors checkpoint (atomically: temp file, then rename).
    pub fn save(&self, path: &FsPath) -> Result<(), NnError> {
        crate::checkpoint::save(self, path)
    }

    /// Loads a checkpoint written by [`TinyNetwork::save`] (or converted from
    /// a PyTorch `state_dict()` with the same metadata) onto `device`.
    pub fn load(path: &FsPath, device: Device) -> Result<TinyNetwork, NnError> {
        let (spec, tensors) = crate::checkpoint::read(path)?;
        let net = Self::build(&spec, device)?;
        crate::checkpoint::assign(&net, tensors, path)?;
        Ok(net)
    }
}
