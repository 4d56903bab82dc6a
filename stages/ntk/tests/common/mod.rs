//! Small functional networks with seeded weights for the NTK tests.
#![allow(dead_code)]

use robbench_rng::Rng;
use tch::{Kind, Tensor};

pub fn normal(rng: &mut Rng, shape: &[i64], mean: f32, std: f32) -> Tensor {
    let n = shape.iter().product::<i64>() as usize;
    Tensor::from_slice(&rng.normal_vec(n, mean, std)).view(shape)
}

pub fn uniform(rng: &mut Rng, shape: &[i64], lo: f32, hi: f32) -> Tensor {
    let n = shape.iter().product::<i64>() as usize;
    Tensor::from_slice(&rng.uniform_vec(n, lo, hi)).view(shape)
}

fn param(t: Tensor) -> Tensor {
    t.set_requires_grad(true)
}

/// conv(3×3, pad 1) → BatchNorm (eval: running statistics) → ReLU, repeated, the
/// first conv with stride 1 and the others with stride 2, then global average
/// pooling and a linear classifier. `ntk_reference.py` rebuilds the same network.
pub struct ConvNet {
    /// (conv weight, conv bias, bn weight, bn bias) per block.
    blocks: Vec<[Tensor; 4]>,
    /// (running mean, running var) per block: buffers, not parameters.
    stats: Vec<[Tensor; 2]>,
    fc: [Tensor; 2],
}

impl ConvNet {
    pub fn new(seed: u64, in_channels: i64, channels: &[i64], classes: i64) -> Self {
        let mut rng = Rng::derive(seed, "ntk-test-convnet", 0);
        let mut blocks = Vec::new();
        let mut stats = Vec::new();
        let mut cin = in_channels;
        for &c in channels {
            let std = (2.0 / (cin * 9) as f32).sqrt();
            blocks.push([
                param(normal(&mut rng, &[c, cin, 3, 3], 0.0, std)),
                param(normal(&mut rng, &[c], 0.0, 0.1)),
                param(uniform(&mut rng, &[c], 0.5, 1.5)),
                param(normal(&mut rng, &[c], 0.0, 0.1)),
            ]);
            stats.push([normal(&mut rng, &[c], 0.0, 0.2), uniform(&mut rng, &[c], 0.5, 2.0)]);
            cin = c;
        }
        let std = (1.0 / cin as f32).sqrt();
        let fc = [param(normal(&mut rng, &[classes, cin], 0.0, std)), param(normal(&mut rng, &[classes], 0.0, 0.1))];
        Self { blocks, stats, fc }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for (i, ([w, b, g, beta], [mean, var])) in self.blocks.iter().zip(&self.stats).enumerate() {
            let stride = if i == 0 { 1 } else { 2 };
            h = h
                .conv2d(w, Some(b), [stride, stride], [1, 1], [1, 1], 1)
                .batch_norm(Some(g), Some(beta), Some(mean), Some(var), false, 0.1, 1e-5, false)
                .relu();
        }
        h.mean_dim([2i64, 3].as_slice(), false, Kind::Float).linear(&self.fc[0], Some(&self.fc[1]))
    }

    /// Trainable parameters (shallow clones: same autograd leaves).
    pub fn params(&self) -> Vec<Tensor> {
        self.blocks.iter().flatten().chain(&self.fc).map(Tensor::shallow_clone).collect()
    }

    pub fn num_params(&self) -> i64 {
        self.params().iter().map(|p| p.numel() as i64).sum()
    }

    /// Named tensors in the layout `ntk_reference.py` reads.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, ([w, b, g, beta], [mean, var])) in self.blocks.iter().zip(&self.stats).enumerate() {
            for (name, t) in [
                ("conv.weight", w),
                ("conv.bias", b),
                ("bn.weight", g),
                ("bn.bias", beta),
                ("bn.running_mean", mean),
                ("bn.running_var", var),
            ] {
                out.push((format!("block{i}.{name}"), t.detach()));
            }
        }
        out.push(("fc.weight".into(), self.fc[0].detach()));
        out.push(("fc.bias".into(), self.fc[1].detach()));
        out
    }
}

/// Two hidden ReLU layers with biases.
pub struct Mlp {
    layers: Vec<[Tensor; 2]>,
}

impl Mlp {
    pub fn new(seed: u64, sizes: &[i64]) -> Self {
        let mut rng = Rng::derive(seed, "ntk-test-mlp", 0);
        let layers = sizes
            .windows(2)
            .map(|w| {
                let std = (2.0 / w[0] as f32).sqrt();
                [param(normal(&mut rng, &[w[1], w[0]], 0.0, std)), param(normal(&mut rng, &[w[1]], 0.0, 0.1))]
            })
            .collect();
        Self { layers }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        let mut h = x.flatten(1, -1);
        for (i, [w, b]) in self.layers.iter().enumerate() {
            h = h.linear(w, Some(b));
            if i < last {
                h = h.relu();
            }
        }
        h
    }

    pub fn params(&self) -> Vec<Tensor> {
        self.layers.iter().flatten().map(Tensor::shallow_clone).collect()
    }
}

/// Largest absolute entry difference relative to the largest absolute entry of `b`.
pub fn rel_diff(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_kind(Kind::Double);
    let b = b.to_kind(Kind::Double);
    (&a - &b).abs().max().double_value(&[]) / b.abs().max().double_value(&[])
}

/// Row-major contents of a 2-D float64 tensor.
pub fn to_rows(t: &Tensor) -> Vec<Vec<f64>> {
    let n = t.size()[0];
    (0..n).map(|i| Vec::<f64>::try_from(t.get(i).to_kind(Kind::Double)).unwrap()).collect()
}
