//! Kernel mixtures for multi-objective adversarial training, `yᵀK⁻¹y` by solving,
//! and the bound terms.

mod common;

use common::{ConvNet, normal, rel_diff};
use robbench_ntk::{
    BoundParams, NtkError, NtkOutput, RobustKernels, bound_terms, jacobian, kernel_from_jacobians, kernel_stats, mix,
    multiclass_bound_terms, one_vs_rest, quadratic_form,
};
use robbench_rng::Rng;
use tch::{Kind, Tensor};

fn setup() -> (ConvNet, Tensor, Tensor, Tensor) {
    let mut rng = Rng::new(20);
    let x = normal(&mut rng, &[8, 3, 8, 8], 0.0, 1.0);
    // Stand-ins for attacked points: the attack lives in another crate.
    let x_adv = &x + normal(&mut rng, &[8, 3, 8, 8], 0.0, 0.1);
    let x_adv2 = &x_adv + normal(&mut rng, &[8, 3, 8, 8], 0.0, 0.1);
    (ConvNet::new(21, 3, &[4, 6], 4), x, x_adv, x_adv2)
}

#[test]
fn mixtures_interpolate_between_clean_and_robust_kernels() {
    let (net, x, x_adv, x_adv2) = setup();
    let params = net.params();
    let model = |x: &Tensor| net.forward(x);
    let ks = RobustKernels::compute(&model, &params, &x, &x_adv, &x_adv2, NtkOutput::SumOfLogits).unwrap();
    assert_eq!(rel_diff(&ks.k_all(0.0).unwrap(), &ks.clean), 0.0);
    assert_eq!(rel_diff(&ks.k_all(1.0).unwrap(), &ks.robust), 0.0);
    assert_eq!(rel_diff(&ks.k_tilde_all(0.0).unwrap(), &ks.robust), 0.0);
    assert_eq!(rel_diff(&ks.k_tilde_all(1.0).unwrap(), &ks.robust2), 0.0);

    // K_all(β) is the Gram matrix of the mixed Jacobian (1−β)J(x) + βJ(x̃).
    let j = jacobian(&model, &params, &x, NtkOutput::SumOfLogits).unwrap();
    let j_adv = jacobian(&model, &params, &x_adv, NtkOutput::SumOfLogits).unwrap();
    let j_adv2 = jacobian(&model, &params, &x_adv2, NtkOutput::SumOfLogits).unwrap();
    let beta = 0.3;
    let gram = |a: &Tensor, b: &Tensor| kernel_from_jacobians(&(a * (1.0 - beta) + b * beta), None).unwrap();
    assert!(rel_diff(&ks.k_all(beta).unwrap(), &gram(&j, &j_adv)) < 1e-5);
    assert!(rel_diff(&ks.k_tilde_all(beta).unwrap(), &gram(&j_adv, &j_adv2)) < 1e-5);
    // The cross block has clean rows and attacked columns.
    assert!(rel_diff(&ks.cross, &kernel_from_jacobians(&j, Some(&j_adv)).unwrap()) == 0.0);
    assert!(rel_diff(&ks.cross, &ks.cross.tr()) > 0.0, "cross kernel of distinct point sets is not symmetric");

    let stats = kernel_stats(&ks.k_all(0.5).unwrap()).unwrap();
    assert!(stats.lambda_min >= -1e-6 * stats.lambda_max);

    assert!(matches!(ks.k_all(1.5), Err(NtkError::BadBeta(_))));
    assert!(matches!(ks.k_all(f64::NAN), Err(NtkError::BadBeta(_))));
    let wrong = x_adv.narrow(0, 0, 7);
    assert!(matches!(
        RobustKernels::compute(&model, &params, &x, &wrong, &x_adv2, NtkOutput::SumOfLogits),
        Err(NtkError::BadShape { .. })
    ));
    assert!(matches!(mix(&ks.clean, &ks.clean.narrow(0, 0, 7), &ks.robust, 0.5), Err(NtkError::BadShape { .. })));
}

/// A well-conditioned SPD matrix `A Aᵀ + n I` (float64).
fn spd(seed: u64, n: i64) -> Tensor {
    let mut rng = Rng::new(seed);
    let a = normal(&mut rng, &[n, n], 0.0, 1.0).to_kind(Kind::Double);
    a.matmul(&a.tr()) + Tensor::eye(n, (Kind::Double, tch::Device::Cpu)) * n as f64
}

#[test]
fn quadratic_form_matches_explicit_inverse() {
    let k = spd(30, 12);
    let mut rng = Rng::new(31);
    let y: Vec<f64> = (0..12).map(|_| rng.normal()).collect();
    let q = quadratic_form(&k, &y).unwrap();
    let yt = Tensor::from_slice(&y);
    let explicit = yt.dot(&k.inverse().mv(&yt)).double_value(&[]);
    assert_eq!(q.jitter, 0.0);
    assert!((q.value - explicit).abs() < 1e-10 * explicit.abs(), "{} vs {explicit}", q.value);
}

#[test]
fn singular_kernels_get_a_reported_jitter_or_an_error() {
    let k = Tensor::from_slice(&[1.0f64, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]).view([3, 3]);
    let q = quadratic_form(&k, &[1.0, 1.0, 1.0]).unwrap();
    let jitter = 1e-12 * 2.0 / 3.0;
    assert!((q.jitter - jitter).abs() < 1e-24, "jitter {}", q.jitter);
    let expected = 2.0 / (1.0 + jitter) + 1.0 / jitter;
    assert!((q.value - expected).abs() < 1e-6 * expected);
    let zero = Tensor::zeros([3, 3], (Kind::Double, tch::Device::Cpu));
    assert!(matches!(quadratic_form(&zero, &[1.0, 1.0, 1.0]), Err(NtkError::SingularKernel { .. })));
    let negative = Tensor::from_slice(&[1.0f64, 0.0, 0.0, -1.0]).view([2, 2]);
    assert!(matches!(quadratic_form(&negative, &[1.0, 1.0]), Err(NtkError::SingularKernel { .. })));
    assert!(matches!(quadratic_form(&k, &[1.0, 1.0]), Err(NtkError::BadLabels(_))));
    assert!(matches!(quadratic_form(&k, &[1.0, f64::NAN, 1.0]), Err(NtkError::NonFinite(_))));
}

#[test]
fn bound_terms_follow_their_formulas() {
    let n = 10;
    let k = spd(40, n);
    let labels: Vec<i64> = (0..n).map(|i| i % 3).collect();
    let y = one_vs_rest(&labels, 1);
    assert_eq!(y.iter().filter(|&&v| v == 1.0).count(), 3);
    let params = BoundParams::default();
    assert_eq!(params, BoundParams { depth_factor: 1.0, delta: 0.05 });
    let t = bound_terms(&k, &y, params).unwrap();
    let q = quadratic_form(&k, &y).unwrap().value;
    assert!((t.quadratic_form - q).abs() < 1e-12 * q);
    assert!((t.complexity - (q / n as f64).sqrt()).abs() < 1e-12);
    assert!((t.confidence - ((1.0f64 / 0.05).ln() / n as f64).sqrt()).abs() < 1e-12);
    assert!((t.bound - (t.complexity + t.confidence)).abs() < 1e-12);
    assert_eq!(t.y_norm_sq, n as f64);
    let lmin = kernel_stats(&k).unwrap().lambda_min;
    assert!((t.lambda_min_complexity - (1.0 / lmin).sqrt()).abs() < 1e-12);
    // yᵀK⁻¹y ≤ ‖y‖²/λ_min: the λ_min form upper-bounds the complexity.
    assert!(t.complexity <= t.lambda_min_complexity);

    // Scaling K by c scales both complexity terms by 1/√c; the confidence is unchanged.
    let c = 9.0;
    let scaled = bound_terms(&(&k * c), &y, params).unwrap();
    assert!((scaled.complexity - t.complexity / 3.0).abs() < 1e-12);
    assert!((scaled.lambda_min_complexity - t.lambda_min_complexity / 3.0).abs() < 1e-12);
    assert_eq!(scaled.confidence, t.confidence);
    // A deeper factor and a smaller δ only increase the bound.
    let strict = bound_terms(&k, &y, BoundParams { depth_factor: 3.0, delta: 0.01 }).unwrap();
    assert!(strict.bound > t.bound && strict.lambda_min_bound > t.lambda_min_bound);

    // With K = I every ±1 encoding has yᵀK⁻¹y = n, so the complexity is exactly 1.
    let eye = Tensor::eye(n, (Kind::Double, tch::Device::Cpu));
    let multi = multiclass_bound_terms(&eye, &labels, 3, params).unwrap();
    assert!((multi.complexity - 1.0).abs() < 1e-12 && (multi.lambda_min_complexity - 1.0).abs() < 1e-12);
    // The multi-class form is the mean of the one-vs-rest quadratic forms.
    let multi = multiclass_bound_terms(&k, &labels, 3, params).unwrap();
    let mean = (0..3).map(|c| quadratic_form(&k, &one_vs_rest(&labels, c)).unwrap().value).sum::<f64>() / 3.0;
    assert!((multi.quadratic_form - mean).abs() < 1e-12 * mean);

    assert!(matches!(multiclass_bound_terms(&k, &labels, 2, params), Err(NtkError::BadLabels(_))));
    assert!(matches!(bound_terms(&k, &y, BoundParams { depth_factor: 1.0, delta: 1.0 }), Err(NtkError::BadParams(_))));
    assert!(matches!(bound_terms(&k, &y, BoundParams { depth_factor: -1.0, delta: 0.1 }), Err(NtkError::BadParams(_))));
    let all_ones = Tensor::ones([n, n], (Kind::Double, tch::Device::Cpu));
    let t = bound_terms(&(&all_ones + &eye * 1e-3), &y, params).unwrap();
    assert!(t.lambda_min > 0.0 && t.complexity.is_finite());
}
