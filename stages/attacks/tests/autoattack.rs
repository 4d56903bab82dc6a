//! AutoAttack and its components: losses and schedules against their
//! definitions, invariants on a trained 10-class TinyNetwork, input
//! validation, and agreement with torchattacks 3.5.1
//! (stages/reference/python/autoattack_reference.py).

mod common;

use common::{accuracy, assert_valid, fraction, toy, trained};
use robbench_attacks::*;
use robbench_rng::Rng;
use tch::{Kind, Tensor};

const EPS: f64 = 8.0 / 255.0;

fn values(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double)).unwrap()
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "got {got:?}, want {want:?}");
    }
}

#[test]
fn dlr_losses_match_their_definitions() {
    // Sample 0 is classified correctly (label 0 on top), sample 1 is not.
    let z = Tensor::from_slice(&[3.0f32, 1.0, 0.0, -1.0, -2.0, 0.0, 5.0, 2.0, 1.0, -1.0]).view([2, 5]);
    let y = Tensor::from_slice(&[0i64, 0]);
    // −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3)
    assert_close(&values(&loss::dlr(&z, &y)), &[-(3.0 - 1.0) / (3.0 - 0.0), -(0.0 - 5.0) / (5.0 - 1.0)]);
    // −(z_y − z_t) / (z_π1 − (z_π3 + z_π4) / 2)
    let t = Tensor::from_slice(&[1i64, 3]);
    assert_close(&values(&loss::dlr_targeted(&z, &y, &t)), &[-(3.0 - 1.0) / (3.0 + 0.5), -(0.0 - 1.0) / (5.0 - 0.5)]);
    assert_close(&values(&loss::margin(&z, &y)), &[2.0, -5.0]);
}

#[test]
fn dlr_is_invariant_to_shifting_and_scaling_the_logits() {
    let z = Tensor::from_slice(&[0.3f32, -1.2, 2.5, 0.9, 1.1, 0.0, -0.4, 3.3]).view([2, 4]);
    let (y, t) = (Tensor::from_slice(&[2i64, 1]), Tensor::from_slice(&[3i64, 0]));
    let moved = &z * 7.5 + 3.0;
    assert_close(&values(&loss::dlr(&moved, &y)), &values(&loss::dlr(&z, &y)));
    assert_close(&values(&loss::dlr_targeted(&moved, &y, &t)), &values(&loss::dlr_targeted(&z, &y, &t)));
}

#[test]
fn apgd_checks_its_step_size_at_the_reference_checkpoints() {
    assert_eq!(checkpoints(100), [22, 41, 57, 70, 80, 87, 93, 99]);
    // Windows of at least one step: 2, then 1 each.
    assert_eq!(checkpoints(10), (2..=10).collect::<Vec<_>>());
    assert_eq!(checkpoints(1000).first(), Some(&220));
}

#[test]
fn square_halves_its_window_fraction_on_the_reference_schedule() {
    let p = |iter| p_schedule(iter, 5000, 0.8, false);
    let expected = [
        (0, 0.8),
        (10, 0.8),
        (11, 0.4),
        (50, 0.4),
        (51, 0.2),
        (201, 0.1),
        (501, 0.05),
        (1001, 0.025),
        (2001, 0.0125),
        (4001, 0.00625),
        (6001, 0.003125),
        (8001, 0.0015625),
    ];
    for (iter, want) in expected {
        assert!((p(iter) - want).abs() < 1e-12, "p({iter}) = {}, want {want}", p(iter));
    }
    // Rescaled, query 60 of 1,000 is query 600 of the 10,000-query schedule.
    assert!((p_schedule(60, 1000, 0.8, true) - 0.05).abs() < 1e-12);
}

/// A small AutoAttack budget for tests that only check invariants.
fn quick() -> AutoAttackConfig {
    AutoAttackConfig { apgd_steps: 20, fab_steps: 20, square_queries: 300, ..AutoAttackConfig::default() }
}

#[test]
fn every_attack_returns_points_in_the_eps_ball_and_the_unit_box() {
    let net = trained();
    let model = |x: &Tensor| net.forward_t(x, false);
    let (x, y) = toy(64, 7);
    let rng = || Rng::new(5);
    let apgd_cfg = ApgdConfig { steps: 20, ..ApgdConfig::default() };
    let runs = [
        ("apgd-ce", apgd(&model, &x, &y, &apgd_cfg, &mut rng())),
        ("apgd-dlr", apgd(&model, &x, &y, &ApgdConfig { loss: ApgdLoss::Dlr, ..apgd_cfg.clone() }, &mut rng())),
        ("apgd-t", apgd_targeted(&model, &x, &y, &ApgdTargetedConfig { steps: 20, ..Default::default() }, &mut rng())),
        (
            "fab-t",
            fab_targeted(&model, &x, &y, &FabConfig { steps: 20, restarts: 2, ..Default::default() }, &mut rng()),
        ),
        ("square", square(&model, &x, &y, &SquareConfig { queries: 300, ..Default::default() }, &mut rng())),
        ("autoattack", autoattack(&model, &x, &y, &quick()).map(|report| report.adversarial)),
    ];
    for (name, adv) in runs {
        assert_valid(name, &adv.unwrap(), &x, EPS);
    }
}

#[test]
fn apgd_ends_no_higher_than_pgd_with_the_same_budget() {
    let net = trained();
    let model = |x: &Tensor| net.forward_t(x, false);
    let points = 200;
    let (x, y) = toy(points, 13);
    for eps in [4.0 / 255.0, EPS] {
        let pgd_cfg = PgdConfig { eps, step_size: eps / 4.0, steps: 100, random_start: true, restarts: 1 };
        let pgd_acc = accuracy(&net, &pgd(&model, &x, &y, &pgd_cfg, &mut Rng::new(1)), &y);
        let apgd_acc = accuracy(
            &net,
            &apgd(&model, &x, &y, &ApgdConfig { eps, ..Default::default() }, &mut Rng::new(1)).unwrap(),
            &y,
        );
        // Both are local searches: APGD is the stronger in aggregate, but on a
        // given point either may find an adversarial the other misses, and
        // which one does moves with float rounding (this machine's libtorch
        // kernels at 1 thread: APGD missed one point of 200 that PGD found).
        // One point of slack, no more.
        let one_point = 1.0 / points as f64 + 1e-6;
        assert!(apgd_acc <= pgd_acc + one_point, "ε = {eps}: APGD-CE {apgd_acc} above PGD-100 {pgd_acc}");
    }
}

#[test]
fn autoattack_is_at_least_as_strong_as_each_of_its_attacks() {
    let net = trained();
    let model = |x: &Tensor| net.forward_t(x, false);
    let (x, y) = toy(120, 21);
    let cfg = quick();
    let report = autoattack(&model, &x, &y, &cfg).unwrap();
    let names: Vec<_> = report.stages.iter().map(|(stage, _)| stage.name()).collect();
    assert_eq!(names, ["apgd-ce", "apgd-t", "fab-t", "square"]);

    // The ensemble's accuracy only falls from stage to stage, and each
    // stage's flags are a subset of the previous ones.
    let mut previous = report.clean.clone();
    for (stage, flags) in &report.stages {
        assert!(flags.iter().zip(&previous).all(|(&now, &before)| before || !now), "{} revived a sample", stage.name());
        previous = flags.clone();
    }
    assert_eq!(report.correct, previous);
    assert!(
        (accuracy(&net, &report.adversarial, &y) - report.robust_accuracy()).abs() < 1e-6,
        "the adversarial points reproduce the robust accuracy: {} vs {}",
        accuracy(&net, &report.adversarial, &y),
        report.robust_accuracy()
    );
    assert!(report.robust_accuracy() < fraction(&report.clean) - 0.2, "AutoAttack must hurt the toy network");

    let alone = [
        (
            "apgd-ce",
            apgd(&model, &x, &y, &ApgdConfig { steps: cfg.apgd_steps, ..Default::default() }, &mut Rng::new(2)),
        ),
        (
            "apgd-t",
            apgd_targeted(
                &model,
                &x,
                &y,
                &ApgdTargetedConfig { steps: cfg.apgd_steps, ..Default::default() },
                &mut Rng::new(2),
            ),
        ),
        (
            "fab-t",
            fab_targeted(&model, &x, &y, &FabConfig { steps: cfg.fab_steps, ..Default::default() }, &mut Rng::new(2)),
        ),
        (
            "square",
            square(
                &model,
                &x,
                &y,
                &SquareConfig { queries: cfg.square_queries, ..Default::default() },
                &mut Rng::new(2),
            ),
        ),
    ];
    for (name, adv) in alone {
        let acc = accuracy(&net, &adv.unwrap(), &y);
        // Equal counts can differ in the last float bits (f32 vs f64 fractions).
        let aa = report.robust_accuracy();
        assert!(aa <= acc + 1e-6, "AutoAttack {aa} above {name} alone {acc}");
    }
}

/// Evaluation on the CPU runs networks channels-last (NHWC weights, hence
/// NHWC input gradients): every attack must still work, return points in the
/// input's standard layout, and break the same images up to float rounding.
#[test]
fn a_channels_last_network_is_attacked_as_the_standard_one() {
    let standard = trained();
    let nhwc = trained();
    nhwc.use_channels_last();
    let (x, y) = toy(120, 21);
    let fab_cfg = FabConfig { steps: 20, restarts: 2, ..Default::default() };
    let attack = |net: &robbench_nn::TinyNetwork| {
        let model = |x: &Tensor| net.forward_t(x, false);
        let report = autoattack(&model, &x, &y, &quick()).unwrap();
        let fab = fab_targeted(&model, &x, &y, &fab_cfg, &mut Rng::new(5)).unwrap();
        (report, fab)
    };
    let (want, want_fab) = attack(&standard);
    let (got, got_fab) = attack(&nhwc);
    assert_eq!(got.clean, want.clean, "clean verdicts");
    for (name, adv, reference) in [("autoattack", &got.adversarial, &want.adversarial), ("fab-t", &got_fab, &want_fab)]
    {
        assert_valid(name, adv, &x, EPS);
        assert!(adv.is_contiguous(), "{name}: points in the standard layout");
        let (ours, theirs) = (accuracy(&nhwc, adv, &y), accuracy(&standard, reference, &y));
        assert!((ours - theirs).abs() <= 2.0 / 120.0 + 1e-9, "{name}: robust accuracy {ours} vs {theirs} standard");
    }
    let flipped = got.correct.iter().zip(&want.correct).filter(|(a, b)| a != b).count();
    assert!(flipped <= 2, "{flipped} of 120 verdicts differ between the layouts");
}

#[test]
fn autoattack_at_zero_eps_leaves_clean_accuracy() {
    let net = trained();
    let model = |x: &Tensor| net.forward_t(x, false);
    let (x, y) = toy(40, 3);
    let report = autoattack(&model, &x, &y, &AutoAttackConfig { eps: 0.0, ..quick() }).unwrap();
    assert_eq!(report.correct, report.clean);
    assert_eq!(report.adversarial.size(), x.size());
    assert!((&report.adversarial - &x).abs().max().double_value(&[]) == 0.0);
}

#[test]
fn rand_version_runs_apgd_ce_then_apgd_dlr_with_eot() {
    let net = trained();
    let model = |x: &Tensor| net.forward_t(x, false);
    let (x, y) = toy(40, 5);
    let cfg = AutoAttackConfig { version: Version::Rand, eot_iter: 2, ..quick() };
    let report = autoattack(&model, &x, &y, &cfg).unwrap();
    let names: Vec<_> = report.stages.iter().map(|(stage, _)| stage.name()).collect();
    assert_eq!(names, ["apgd-ce", "apgd-dlr"]);
    assert_valid("rand", &report.adversarial, &x, EPS);
}

#[test]
fn bad_inputs_are_refused_with_the_culprit_named() {
    let net = trained();
    let model = |x: &Tensor| net.forward_t(x, false);
    let (x, y) = toy(4, 1);
    let message = |result: Result<AutoAttackReport, AttackError>| result.unwrap_err().to_string();

    let negative = message(autoattack(&model, &x, &y, &AutoAttackConfig { eps: -0.1, ..quick() }));
    assert!(negative.contains("`eps`"), "{negative}");
    let no_steps = message(autoattack(&model, &x, &y, &AutoAttackConfig { apgd_steps: 0, ..quick() }));
    assert!(no_steps.contains("`steps`"), "{no_steps}");
    let label = message(autoattack(&model, &x, &Tensor::from_slice(&[0i64, 1, 2, 10]), &quick()));
    assert!(label.contains("label 10") && label.contains("10 classes"), "{label}");
    let images = message(autoattack(&model, &x.to_kind(Kind::Double), &y, &quick()));
    assert!(images.contains("float32"), "{images}");
    let labels = message(autoattack(&model, &x, &y.narrow(0, 0, 3), &quick()));
    assert!(labels.contains("one label per image"), "{labels}");

    // Three classes: too few for APGD-T's targeted DLR loss (needs four).
    let three = |x: &Tensor| x.flatten(1, -1).narrow(1, 0, 3);
    let y3 = Tensor::from_slice(&[0i64, 1, 2, 0]);
    let few = message(autoattack(&three, &x, &y3, &quick()));
    assert!(few.contains("APGD-T") && few.contains("at least 4 classes"), "{few}");
    assert!(autoattack(&three, &x, &y3, &AutoAttackConfig { version: Version::Rand, eot_iter: 1, ..quick() }).is_ok());
}

/// Attack budgets for a cross-check run.
struct Budget {
    apgd_steps: usize,
    fab_steps: usize,
    square_queries: usize,
    /// The randomized attacks alone (APGD-CE, APGD-T, Square) are compared
    /// as the mean over seeds 0..seeds on each side: one run varies by about
    /// a point from seed to seed. FAB-T starts at x (no randomness) and the
    /// ensemble runs once.
    seeds: u64,
}

/// Robust accuracies of our attacks and torchattacks' on the same checkpoint
/// and 500 inputs, each attack alone and the ensemble; they must agree
/// within one percentage point.
fn cross_check(budget: Budget) {
    let Some(python) = robbench_reference::python(&["torch", "safetensors", "torchattacks"]) else { return };
    let samples = 500;
    let dir = tempfile::tempdir().unwrap();
    let net = trained();
    let checkpoint = dir.path().join("net.safetensors");
    net.save(&checkpoint).unwrap();
    let (x, y) = toy(samples, 17);
    let inputs = dir.path().join("inputs.safetensors");
    Tensor::write_safetensors(&[("x", &x), ("y", &y)], &inputs).unwrap();
    let args = [
        checkpoint.to_str().unwrap().to_string(),
        inputs.to_str().unwrap().to_string(),
        EPS.to_string(),
        format!("--apgd-steps={}", budget.apgd_steps),
        format!("--fab-steps={}", budget.fab_steps),
        format!("--square-queries={}", budget.square_queries),
        format!("--seeds={}", budget.seeds),
    ];
    // torchattacks runs in its own process while ours run here: `make test`
    // gives each test one thread, and this test is the suite's longest.
    let theirs = std::thread::spawn(move || {
        robbench_reference::run_json(
            &python,
            "autoattack_reference.py",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    });

    let model = |x: &Tensor| net.forward_t(x, false);
    let mean_over_seeds = |attack: &dyn Fn(&mut Rng) -> Tensor| {
        (0..budget.seeds).map(|seed| accuracy(&net, &attack(&mut Rng::new(seed)), &y)).sum::<f64>()
            / budget.seeds as f64
    };
    let cfg = AutoAttackConfig {
        apgd_steps: budget.apgd_steps,
        fab_steps: budget.fab_steps,
        square_queries: budget.square_queries,
        ..AutoAttackConfig::default()
    };
    let report = autoattack(&model, &x, &y, &cfg).unwrap();
    let apgd_cfg = ApgdConfig { steps: budget.apgd_steps, ..Default::default() };
    let apgd_t_cfg = ApgdTargetedConfig { steps: budget.apgd_steps, ..Default::default() };
    let fab_cfg = FabConfig { steps: budget.fab_steps, ..Default::default() };
    let square_cfg = SquareConfig { queries: budget.square_queries, ..Default::default() };
    let ours = [
        ("clean", fraction(&report.clean)),
        ("apgd-ce", mean_over_seeds(&|rng| apgd(&model, &x, &y, &apgd_cfg, rng).unwrap())),
        ("apgd-t", mean_over_seeds(&|rng| apgd_targeted(&model, &x, &y, &apgd_t_cfg, rng).unwrap())),
        ("fab-t", accuracy(&net, &fab_targeted(&model, &x, &y, &fab_cfg, &mut Rng::new(0)).unwrap(), &y)),
        ("square", mean_over_seeds(&|rng| square(&model, &x, &y, &square_cfg, rng).unwrap())),
        ("autoattack", report.robust_accuracy()),
    ];
    let theirs = theirs.join().expect("the torchattacks run panicked");
    let mut disagreements = Vec::new();
    for (name, acc) in ours {
        let reference = theirs[name].as_f64().unwrap();
        eprintln!("{name:<10} ours {acc:.4}  torchattacks {reference:.4}");
        if (acc - reference).abs() > 0.01 + 1e-6 {
            disagreements.push(format!("{name}: ours {acc:.4}, torchattacks {reference:.4}"));
        }
    }
    assert!(disagreements.is_empty(), "more than 1 pp apart on {samples} samples: {disagreements:?}");
}

/// Reduced budgets, so `make test` stays in minutes on two cores.
#[test]
fn autoattack_agrees_with_torchattacks() {
    cross_check(Budget { apgd_steps: 25, fab_steps: 25, square_queries: 1000, seeds: 3 });
}

/// AutoAttack's standard budgets (4× the steps, 5× the queries of the test
/// above), too long for `make test` on two cores. Run with
/// `cargo test -p robbench-attacks --test autoattack -- --ignored`.
#[test]
#[ignore]
fn autoattack_agrees_with_torchattacks_at_standard_budgets() {
    cross_check(Budget { apgd_steps: 100, fab_steps: 100, square_queries: 5000, seeds: 3 });
}
