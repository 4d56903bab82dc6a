//! Empirical NTK: positive semi-definiteness, the two-layer closed form and its
//! infinite-width limit, output modes and input errors.

mod common;

use common::{ConvNet, Mlp, normal, rel_diff};
use robbench_ntk::{NtkError, NtkOutput, empirical_ntk, jacobian, kernel_stats};
use robbench_rng::Rng;
use tch::{Kind, Tensor};

fn assert_psd(k: &Tensor, what: &str) {
    let eig = Vec::<f64>::try_from(k.linalg_eigvalsh("L")).unwrap();
    let max = eig[eig.len() - 1];
    assert!(max > 0.0, "{what}: λ_max = {max}");
    assert!(eig[0] >= -1e-6 * max, "{what}: λ_min = {} vs λ_max = {max}", eig[0]);
    assert_eq!(rel_diff(k, &k.tr()), 0.0, "{what}: not symmetric");
}

#[test]
fn kernels_are_symmetric_psd_for_conv_net_and_mlp() {
    let mut rng = Rng::new(1);
    let x = normal(&mut rng, &[10, 3, 8, 8], 0.0, 1.0);
    let conv = ConvNet::new(2, 3, &[6, 8], 5);
    let mlp = Mlp::new(3, &[3 * 8 * 8, 16, 16, 5]);
    let labels = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    for (name, model, params) in [
        ("conv", Box::new(|x: &Tensor| conv.forward(x)) as Box<dyn Fn(&Tensor) -> Tensor>, conv.params()),
        ("mlp", Box::new(|x: &Tensor| mlp.forward(x)), mlp.params()),
    ] {
        for (mode, output) in
            [("sum", NtkOutput::SumOfLogits), ("logit", NtkOutput::Logit(&labels)), ("per-logit", NtkOutput::PerLogit)]
        {
            let k = empirical_ntk(&*model, &params, &x, None, output).unwrap();
            assert_eq!(k.kind(), Kind::Double);
            let n = if mode == "per-logit" { 50 } else { 10 };
            assert_eq!(k.size(), [n, n], "{name} {mode}");
            assert_psd(&k, &format!("{name} {mode}"));
        }
    }
}

/// Bias-free two-layer ReLU network `f(x) = (1/√m) Σ_r a_r relu(w_rᵀx)`.
struct TwoLayer {
    w: Vec<f32>,
    a: Vec<f32>,
    m: usize,
    d: usize,
}

impl TwoLayer {
    fn new(seed: u64, m: usize, d: usize) -> Self {
        let mut rng = Rng::derive(seed, "two-layer", 0);
        Self { w: rng.normal_vec(m * d, 0.0, 1.0), a: rng.normal_vec(m, 0.0, 1.0), m, d }
    }

    fn params(&self) -> [Tensor; 2] {
        [
            Tensor::from_slice(&self.w).view([self.m as i64, self.d as i64]).set_requires_grad(true),
            Tensor::from_slice(&self.a).set_requires_grad(true),
        ]
    }

    /// `Σ_r (1/m) relu(w_rᵀx) relu(w_rᵀx') + (1/m) a_r² 1{w_rᵀx>0} 1{w_rᵀx'>0} xᵀx'`.
    fn analytic(&self, x: &[f64], y: &[f64]) -> f64 {
        let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(p, q)| p * q).sum::<f64>();
        let xy = dot(x, y);
        (0..self.m)
            .map(|r| {
                let w: Vec<f64> = self.w[r * self.d..(r + 1) * self.d].iter().map(|&v| v as f64).collect();
                let (u, v) = (dot(&w, x), dot(&w, y));
                let a2 = (self.a[r] as f64).powi(2);
                let gate = if u > 0.0 && v > 0.0 { 1.0 } else { 0.0 };
                (u.max(0.0) * v.max(0.0) + a2 * gate * xy) / self.m as f64
            })
            .sum()
    }
}

fn two_layer_forward(params: &[Tensor; 2], m: usize) -> impl Fn(&Tensor) -> Tensor + '_ {
    move |x: &Tensor| x.matmul(&params[0].tr()).relu().matmul(&params[1]) / (m as f64).sqrt()
}

fn rows(x: &Tensor) -> Vec<Vec<f64>> {
    common::to_rows(x)
}

#[test]
fn two_layer_relu_matches_closed_form() {
    let (m, d, n) = (300, 5, 7);
    let net = TwoLayer::new(4, m, d);
    let params = net.params();
    let mut rng = Rng::new(5);
    let x1 = normal(&mut rng, &[n, d as i64], 0.0, 1.0);
    let x2 = normal(&mut rng, &[4, d as i64], 0.0, 1.0);
    let model = two_layer_forward(&params, m);
    let (r1, r2) = (rows(&x1), rows(&x2));
    for (xb, rb) in [(None, &r1), (Some(&x2), &r2)] {
        let k = empirical_ntk(&model, &params, &x1, xb, NtkOutput::SumOfLogits).unwrap();
        let expected: Vec<f64> = r1.iter().flat_map(|u| rb.iter().map(|v| net.analytic(u, v))).collect();
        let expected = Tensor::from_slice(&expected).view([n, rb.len() as i64]);
        let err = rel_diff(&k, &expected);
        eprintln!("two-layer closed form: max relative difference {err:.2e}");
        assert!(err < 1e-5, "closed form mismatch: {err:e}");
    }
}

#[test]
fn wide_two_layer_approaches_arc_cosine_ntk() {
    let (m, d) = (20_000, 4);
    let net = TwoLayer::new(6, m, d);
    let params = net.params();
    let mut rng = Rng::new(7);
    let x = normal(&mut rng, &[5, d as i64], 0.0, 1.0);
    let x = &x / x.norm_scalaropt_dim(2, [1i64].as_slice(), true);
    let k = empirical_ntk(&two_layer_forward(&params, m), &params, &x, None, NtkOutput::SumOfLogits).unwrap();
    // Unit inputs at angle θ, w ~ N(0, I), a ~ N(0, 1):
    // E[relu(wᵀx) relu(wᵀx')] = (sin θ + (π−θ) cos θ) / 2π and
    // E[a²] P(wᵀx > 0, wᵀx' > 0) xᵀx' = (π−θ) cos θ / 2π.
    let r = rows(&x);
    let pi = std::f64::consts::PI;
    let limit: Vec<f64> = r
        .iter()
        .flat_map(|u| {
            r.iter().map(move |v| {
                let c = u.iter().zip(v).map(|(p, q)| p * q).sum::<f64>().clamp(-1.0, 1.0);
                let t = c.acos();
                (t.sin() + (pi - t) * c) / (2.0 * pi) + (pi - t) * c / (2.0 * pi)
            })
        })
        .collect();
    let limit = Tensor::from_slice(&limit).view([5, 5]);
    let err = rel_diff(&k, &limit);
    eprintln!("m = {m}: max relative difference to the arc-cosine NTK {err:.3}");
    assert!(err < 0.05, "empirical NTK at m = {m} is {err:.3} away from the arc-cosine kernel");
}

#[test]
fn logit_and_per_logit_modes_are_consistent() {
    let mut rng = Rng::new(8);
    let x = normal(&mut rng, &[6, 3, 8, 8], 0.0, 1.0);
    let net = ConvNet::new(9, 3, &[4, 6], 3);
    let params = net.params();
    let model = |x: &Tensor| net.forward(x);
    let labels = Tensor::from_slice(&[2i64, 0, 1, 1, 2, 0]);
    let block = empirical_ntk(&model, &params, &x, None, NtkOutput::PerLogit).unwrap();
    let sum = empirical_ntk(&model, &params, &x, None, NtkOutput::SumOfLogits).unwrap();
    let logit = empirical_ntk(&model, &params, &x, None, NtkOutput::Logit(&labels)).unwrap();
    // Summing the K×K blocks of the per-logit kernel gives the sum-of-logits kernel.
    let summed = block.view([6, 3, 6, 3]).sum_dim_intlist([1i64, 3].as_slice(), false, Kind::Double);
    assert!(rel_diff(&summed, &sum) < 1e-5);
    // Picking each sample's label row/column gives the logit kernel.
    let idx = Tensor::arange(6, (Kind::Int64, tch::Device::Cpu)) * 3 + &labels;
    let picked = block.index_select(0, &idx).index_select(1, &idx);
    assert!(rel_diff(&picked, &logit) < 1e-5);
}

#[test]
fn cross_kernel_is_the_off_diagonal_block() {
    let mut rng = Rng::new(10);
    let x = normal(&mut rng, &[8, 3, 8, 8], 0.0, 1.0);
    let net = ConvNet::new(11, 3, &[4], 4);
    let params = net.params();
    let model = |x: &Tensor| net.forward(x);
    let (a, b) = (x.narrow(0, 0, 5), x.narrow(0, 5, 3));
    let full = empirical_ntk(&model, &params, &x, None, NtkOutput::SumOfLogits).unwrap();
    let cross = empirical_ntk(&model, &params, &a, Some(&b), NtkOutput::SumOfLogits).unwrap();
    assert_eq!(cross.size(), [5, 3]);
    assert!(rel_diff(&cross, &full.narrow(0, 0, 5).narrow(1, 5, 3)) < 1e-6);
    // Frozen parameters drop out of the sum; the remaining ones still give a kernel.
    let partial: Vec<Tensor> =
        params.iter().enumerate().map(|(i, p)| if i == 0 { p.detach() } else { p.shallow_clone() }).collect();
    let k = empirical_ntk(&model, &partial, &x, None, NtkOutput::SumOfLogits).unwrap();
    let j0 = jacobian(&model, &params[..1], &x, NtkOutput::SumOfLogits).unwrap();
    assert!(rel_diff(&(k + j0.matmul(&j0.tr()).to_kind(Kind::Double)), &full) < 1e-5);
}

#[test]
fn bad_inputs_are_rejected_with_named_errors() {
    let net = Mlp::new(12, &[4, 8, 3]);
    let params = net.params();
    let model = |x: &Tensor| net.forward(x);
    let x = Tensor::ones([3, 4], (Kind::Float, tch::Device::Cpu));
    let empty = x.narrow(0, 0, 0);
    assert!(matches!(
        empirical_ntk(&model, &params, &empty, None, NtkOutput::SumOfLogits),
        Err(NtkError::EmptyBatch(_))
    ));
    let frozen: Vec<Tensor> = params.iter().map(Tensor::detach).collect();
    assert!(matches!(
        empirical_ntk(&model, &frozen, &x, None, NtkOutput::SumOfLogits),
        Err(NtkError::NoTrainableParameters(4))
    ));
    let out_of_range = Tensor::from_slice(&[0i64, 3, 1]);
    assert!(matches!(
        empirical_ntk(&model, &params, &x, None, NtkOutput::Logit(&out_of_range)),
        Err(NtkError::BadLabels(_))
    ));
    let short = Tensor::from_slice(&[0i64, 1]);
    assert!(matches!(empirical_ntk(&model, &params, &x, None, NtkOutput::Logit(&short)), Err(NtkError::BadLabels(_))));
    let labels = Tensor::from_slice(&[0i64, 1, 2]);
    let x4 = Tensor::ones([4, 4], (Kind::Float, tch::Device::Cpu));
    assert!(matches!(
        empirical_ntk(&model, &params, &x, Some(&x4), NtkOutput::Logit(&labels)),
        Err(NtkError::BadLabels(_))
    ));
    let image_out = |x: &Tensor| net.forward(x).unsqueeze(2);
    assert!(matches!(
        empirical_ntk(&image_out, &params, &x, None, NtkOutput::SumOfLogits),
        Err(NtkError::BadOutput { .. })
    ));
    let detached = |x: &Tensor| net.forward(x).detach();
    assert!(matches!(
        empirical_ntk(&detached, &params, &x, None, NtkOutput::SumOfLogits),
        Err(NtkError::OutputWithoutGrad)
    ));
    let nan = |x: &Tensor| net.forward(x) * f64::NAN;
    assert!(matches!(empirical_ntk(&nan, &params, &x, None, NtkOutput::SumOfLogits), Err(NtkError::NonFinite(_))));
}

#[test]
fn kernel_stats_of_a_known_spectrum() {
    let k = Tensor::from_slice(&[4.0f64, 1.0, 1.0, 4.0]).view([2, 2]);
    let s = kernel_stats(&k).unwrap();
    assert!((s.lambda_min - 3.0).abs() < 1e-12 && (s.lambda_max - 5.0).abs() < 1e-12);
    assert!((s.trace - 8.0).abs() < 1e-12 && (s.condition - 5.0 / 3.0).abs() < 1e-12);
    let singular = Tensor::from_slice(&[1.0f64, 1.0, 1.0, 1.0]).view([2, 2]);
    assert_eq!(kernel_stats(&singular).unwrap().condition, f64::INFINITY);
    let asym = Tensor::from_slice(&[1.0f64, 2.0, 0.0, 1.0]).view([2, 2]);
    assert!(matches!(kernel_stats(&asym), Err(NtkError::NotSymmetric { .. })));
    let rect = Tensor::zeros([2, 3], (Kind::Double, tch::Device::Cpu));
    assert!(matches!(kernel_stats(&rect), Err(NtkError::BadShape { .. })));
}
