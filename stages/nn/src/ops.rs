//! The building blocks of the TinyNetwork, as `xautodl`'s
//! `cell_operations.py` and `cell_infers/cells.py` define them, each able to
//! list its tensors under their PyTorch `state_dict()` names.

use robbench_space::{Arch, Op};
use tch::Tensor;
use tch::nn::Path;

use crate::batchnorm::{BatchNorm, BnMode};
use crate::state::State;
use crate::trace::{Tape, conv2d};

/// `ReLUConvBN`: ReLU → conv (no bias) → BN, i.e. `op.1` and `op.2`.
pub struct ReluConvBn {
    weight: Tensor,
    bn: BatchNorm,
    stride: i64,
    padding: i64,
}

impl ReluConvBn {
    pub fn new(path: &Path, c_in: i64, c_out: i64, kernel: i64, stride: i64) -> ReluConvBn {
        let op = path / "op";
        ReluConvBn {
            weight: (&op / 1).zeros("weight", &[c_out, c_in, kernel, kernel]),
            bn: BatchNorm::new(&(&op / 2), c_out),
            stride,
            padding: kernel / 2,
        }
    }

    pub fn forward_t(&self, x: &Tensor, mode: BnMode, tape: &mut Tape) -> Tensor {
        let y = conv2d(&x.relu(), &self.weight, self.stride, self.padding, tape);
        self.bn.forward_t(&y, mode, tape)
    }

    fn push_state(&self, prefix: &str, out: &mut State) {
        out.push((format!("{prefix}.op.1.weight"), self.weight.shallow_clone()));
        self.bn.push_state(&format!("{prefix}.op.2"), out);
    }
}

/// One edge of a cell. Inside a cell the input and output channels agree and
/// the stride is 1, so `none` is `Zero` (x·0), `skip_connect` the identity and
/// `avg_pool_3x3` a bare pooling without the 1×1 preprocess.
enum Edge {
    Zero,
    Identity,
    AvgPool,
    Conv(ReluConvBn),
}

impl Edge {
    fn new(path: &Path, op: Op, channels: i64) -> Edge {
        match op {
            Op::None => Edge::Zero,
            Op::SkipConnect => Edge::Identity,
            Op::AvgPool3x3 => Edge::AvgPool,
            Op::NorConv1x1 => Edge::Conv(ReluConvBn::new(path, channels, channels, 1, 1)),
            Op::NorConv3x3 => Edge::Conv(ReluConvBn::new(path, channels, channels, 3, 1)),
        }
    }

    fn forward_t(&self, x: &Tensor, mode: BnMode, tape: &mut Tape) -> Tensor {
        match self {
            // A real multiplication, not a zeros tensor, so that NaN and inf
            // propagate as in PyTorch.
            Edge::Zero => x * 0.0,
            Edge::Identity => x.shallow_clone(),
            Edge::AvgPool => x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None),
            Edge::Conv(op) => op.forward_t(x, mode, tape),
        }
    }
}

/// `InferCell`: node k (1..=3) is the sum of its incoming edges; the cell's
/// output is node 3. Every edge, `none` included, is a layer, in string
/// order, so layer indices match the official names.
pub struct Cell {
    /// (to node, from node, op) per edge, in string order.
    edges: Vec<(usize, usize, Edge)>,
}

impl Cell {
    pub fn new(path: &Path, arch: &Arch, channels: i64) -> Cell {
        let layers = path / "layers";
        let edges = arch
            .edge_list()
            .enumerate()
            .map(|(j, (to, from, op))| (to, from, Edge::new(&(&layers / j), op, channels)))
            .collect();
        Cell { edges }
    }

    pub fn forward_t(&self, x: &Tensor, mode: BnMode, tape: &mut Tape) -> Tensor {
        let mut nodes = vec![x.shallow_clone()];
        for node in 1..=3 {
            let sum = self
                .edges
                .iter()
                .filter(|(to, _, _)| *to == node)
                .map(|(_, from, edge)| edge.forward_t(&nodes[*from], mode, tape))
                .reduce(|a, b| a + b)
                .expect("every node of a NAS-Bench-201 cell has incoming edges");
            nodes.push(sum);
        }
        nodes.pop().expect("the cell has an output node")
    }

    pub fn push_state(&self, prefix: &str, out: &mut State) {
        for (j, (_, _, edge)) in self.edges.iter().enumerate() {
            if let Edge::Conv(op) = edge {
                op.push_state(&format!("{prefix}.layers.{j}"), out);
            }
        }
    }
}

/// `ResNetBasicblock` with stride 2, between stages: conv_a (stride 2) →
/// conv_b, plus the shortcut AvgPool2d(2, 2) → conv 1×1 (`downsample.1`).
pub struct Reduction {
    conv_a: ReluConvBn,
    conv_b: ReluConvBn,
    downsample: Tensor,
}

impl Reduction {
    pub fn new(path: &Path, c_in: i64, c_out: i64) -> Reduction {
        Reduction {
            conv_a: ReluConvBn::new(&(path / "conv_a"), c_in, c_out, 3, 2),
            conv_b: ReluConvBn::new(&(path / "conv_b"), c_out, c_out, 3, 1),
            downsample: (path / "downsample" / 1).zeros("weight", &[c_out, c_in, 1, 1]),
        }
    }

    pub fn forward_t(&self, x: &Tensor, mode: BnMode, tape: &mut Tape) -> Tensor {
        let branch = self.conv_b.forward_t(&self.conv_a.forward_t(x, mode, tape), mode, tape);
        let pooled = x.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None);
        branch + conv2d(&pooled, &self.downsample, 1, 0, tape)
    }

    pub fn push_state(&self, prefix: &str, out: &mut State) {
        self.conv_a.push_state(&format!("{prefix}.conv_a"), out);
        self.conv_b.push_state(&format!("{prefix}.conv_b"), out);
        out.push((format!("{prefix}.downsample.1.weight"), self.downsample.shallow_clone()));
    }
}

/// An entry of `cells`: a cell or a reduction block.
pub enum Block {
    Cell(Cell),
    Reduction(Reduction),
}

impl Block {
    pub fn forward_t(&self, x: &Tensor, mode: BnMode, tape: &mut Tape) -> Tensor {
        match self {
            Block::Cell(cell) => cell.forward_t(x, mode, tape),
            Block::Reduction(block) => block.forward_t(x, mode, tape),
        }
    }

    pub fn push_state(&self, prefix: &str, out: &mut State) {
        match self {
            Block::Cell(cell) => cell.push_state(prefix, out),
            Block::Reduction(block) => block.push_state(prefix, out),
        }
    }
}
