//! Cross-check against an independent PyTorch `torch.func` implementation
//! (`stages/reference/python/ntk_reference.py`) on the same weights and inputs.

mod common;

use common::{ConvNet, normal, rel_diff};
use robbench_ntk::{NtkOutput, empirical_ntk};
use robbench_rng::Rng;
use tch::Tensor;

fn json_matrix(v: &serde_json::Value) -> Tensor {
    let rows = v.as_array().expect("matrix is a list of rows");
    let flat: Vec<f64> = rows
        .iter()
        .flat_map(|r| r.as_array().expect("row is a list").iter().map(|e| e.as_f64().expect("number")))
        .collect();
    Tensor::from_slice(&flat).view([rows.len() as i64, -1])
}

#[test]
fn matches_torch_func_reference_for_all_output_modes() {
    let Some(python) = robbench_reference::python(&["torch", "safetensors"]) else {
        return;
    };
    let mut rng = Rng::new(50);
    let x = normal(&mut rng, &[6, 3, 8, 8], 0.0, 1.0);
    let labels = Tensor::from_slice(&[3i64, 0, 2, 1, 3, 0]);
    let net = ConvNet::new(51, 3, &[4, 6], 4);
    let params = net.params();
    let model = |x: &Tensor| net.forward(x);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ntk_case.safetensors");
    let mut named = net.named_tensors();
    named.push(("x".into(), x.shallow_clone()));
    named.push(("labels".into(), labels.shallow_clone()));
    Tensor::write_safetensors(&named, &path).unwrap();
    let reference = robbench_reference::run_json(&python, "ntk_reference.py", &[path.to_str().unwrap()]);

    assert_eq!(reference["num_params"].as_i64().unwrap(), net.num_params());
    for (key, output) in [
        ("sum_of_logits", NtkOutput::SumOfLogits),
        ("logit", NtkOutput::Logit(&labels)),
        ("per_logit", NtkOutput::PerLogit),
    ] {
        let ours = empirical_ntk(&model, &params, &x, None, output).unwrap();
        let theirs = json_matrix(&reference[key]);
        assert_eq!(ours.size(), theirs.size(), "{key}");
        let err = rel_diff(&ours, &theirs);
        eprintln!("{key}: max relative difference to torch.func = {err:.2e}");
        assert!(err < 1e-4, "{key}: {err:e}");
    }
}

/// The structured NTK blocks of a TinyNetwork (float64) against torch.func on
/// the official-layout PyTorch model (`ntk_tinynetwork.py check`).
#[test]
fn structured_tinynetwork_kernels_match_torch_func() {
    use robbench_nn::{NetworkSpec, TinyNetwork};
    use robbench_ntk::RobustKernels;
    use tch::{Device, Kind};

    let Some(python) = robbench_reference::python(&["torch", "safetensors"]) else {
        return;
    };
    let spec = NetworkSpec {
        // Every op of the space, in one cell.
        arch: "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
            .parse()
            .unwrap(),
        channels: 4,
        cells_per_stage: 1,
        classes: 4,
        mean: vec![0.49, 0.48, 0.45],
        std: vec![0.25, 0.24, 0.26],
    };
    let net = TinyNetwork::new(&spec, Device::Cpu, 52).unwrap();
    let mut rng = Rng::new(53);
    let mut pixels =
        |n: i64| Tensor::from_slice(&rng.uniform_vec((n * 3 * 16 * 16) as usize, 0.0, 1.0)).view([n, 3, 16, 16]);
    net.calibrate_batch_norm(&pixels(16));
    let (x, x_adv, x_adv2) = (pixels(3), pixels(3), pixels(3));
    let labels = Tensor::from_slice(&[2i64, 0, 3]);

    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("net.safetensors");
    let points = dir.path().join("points.safetensors");
    net.save(&checkpoint).unwrap();
    Tensor::write_safetensors(&[("x", &x), ("x_adv", &x_adv), ("x_adv2", &x_adv2), ("labels", &labels)], &points)
        .unwrap();
    let reference = robbench_reference::run_json(
        &python,
        "ntk_tinynetwork.py",
        &["check", checkpoint.to_str().unwrap(), points.to_str().unwrap()],
    );

    let net = net.to_kind(Kind::Double);
    let trace = |x: &Tensor| net.forward_traced(x);
    let [x, x_adv, x_adv2] = [x, x_adv, x_adv2].map(|t| t.to_kind(Kind::Double));
    for (key, output) in
        [("sum", NtkOutput::SumOfLogits), ("label", NtkOutput::Logit(&labels)), ("per-logit", NtkOutput::PerLogit)]
    {
        let ours = RobustKernels::compute_structured(&trace, &x, &x_adv, &x_adv2, output).unwrap();
        for (block, k) in [
            ("clean", &ours.clean),
            ("robust", &ours.robust),
            ("cross", &ours.cross),
            ("cross2", &ours.cross2),
            ("robust2", &ours.robust2),
        ] {
            let theirs = json_matrix(&reference[key][block]);
            assert_eq!(k.size(), theirs.size(), "{key} {block}");
            let err = rel_diff(k, &theirs);
            assert!(err < 1e-10, "{key} {block}: relative difference to torch.func {err:e}");
        }
    }
}
