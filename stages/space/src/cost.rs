//! Parameter and FLOP counts, as NAS-Bench-201 reports them.
//!
//! Parameters: every trainable tensor (conv weights, affine BN weight and
//! bias, classifier weight and bias). FLOPs: multiply-accumulates of the
//! convolutions and the classifier (plus one per bias output), in millions,
//! per image; pooling, BN, ReLU and additions are not counted — the rule of
//! NAS-Bench-201's FLOP counter, which reproduces its published values.

use crate::Arch;

/// The network skeleton a cell is placed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelShape {
    /// C: channels of the first stage (then 2C, 4C).
    pub channels: u64,
    /// N: cells per stage.
    pub cells_per_stage: u64,
    pub classes: u64,
    /// Input height = width.
    pub input_size: u64,
    pub in_channels: u64,
}

impl ModelShape {
    /// NAS-Bench-201's skeleton (C=16, N=5) for a dataset shape.
    pub fn nb201(classes: u64, input_size: u64) -> ModelShape {
        ModelShape { channels: 16, cells_per_stage: 5, classes, input_size, in_channels: 3 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cost {
    pub params: u64,
    /// Millions of multiply-accumulates per image.
    pub flops: f64,
}

#[derive(Default)]
struct Tally {
    params: u64,
    macs: u64,
}

impl Tally {
    /// A bias-free convolution producing `size`×`size` outputs.
    fn conv(&mut self, c_in: u64, c_out: u64, kernel: u64, size: u64) {
        let weights = c_in * c_out * kernel * kernel;
        self.params += weights;
        self.macs += weights * size * size;
    }

    fn batch_norm(&mut self, channels: u64) {
        self.params += 2 * channels;
    }
}

/// The cost of `arch` in the `shape` skeleton.
pub fn cost(arch: &Arch, shape: &ModelShape) -> Cost {
    let mut t = Tally::default();
    let (mut c, mut size) = (shape.channels, shape.input_size);
    t.conv(shape.in_channels, c, 3, size);
    t.batch_norm(c);
    for stage in 0..3 {
        if stage > 0 {
            // Residual reduction: ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, and
            // the shortcut AvgPool(2) + conv1x1.
            let out = 2 * c;
            size /= 2;
            t.conv(c, out, 3, size);
            t.batch_norm(out);
            t.conv(out, out, 3, size);
            t.batch_norm(out);
            t.conv(c, out, 1, size);
            c = out;
        }
        for _ in 0..shape.cells_per_stage {
            for op in arch.edges() {
                if let Some(k) = op.conv_kernel() {
                    t.conv(c, c, k as u64, size);
                    t.batch_norm(c);
                }
            }
        }
    }
    t.batch_norm(c);
    t.params += c * shape.classes + shape.classes;
    t.macs += c * shape.classes + shape.classes;
    Cost { params: t.params, flops: t.macs as f64 / 1e6 }
}
