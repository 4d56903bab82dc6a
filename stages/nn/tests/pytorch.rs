//! robbench-nn against an independent PyTorch TinyNetwork
//! (stages/reference/python/nb201_model.py), and checkpoint robustness.

use std::collections::HashMap;
use std::path::Path;

use robbench_nn::{NetworkSpec, NnError, TinyNetwork};
use robbench_rng::Rng;
use robbench_space::{cost, ModelShape, Space};
use tch::{Device, Kind, Tensor};

fn spec(index: usize, channels: i64, cells: i64, classes: i64) -> NetworkSpec {
    NetworkSpec {
        arch: Space::nb201().arch(index).unwrap(),
        channels,
        cells_per_stage: cells,
        classes,
        mean: vec![0.49, 0.48, 0.45],
        std: vec![0.25, 0.24, 0.26],
    }
}

fn input(n: i64, size: i64, seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    Tensor::from_slice(&rng.uniform_vec((n * 3 * size * size) as usize, 0.0, 1.0)).view([n, 3, size, size])
}

fn tensor_of(value: &serde_json::Value) -> Tensor {
    let rows: Vec<Vec<f32>> = serde_json::from_value(value.clone()).unwrap();
    let n = rows.len() as i64;
    Tensor::from_slice(&rows.concat()).view([n, -1])
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn logits_and_bn_updates_match_pytorch() {
    let Some(python) = robbench_reference::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    // all conv3x3; the paper's example; pooling + none; all skip; a conv
    // reachable only through none edges; all conv1x1 with 100 classes.
    let cases = [(1462, 8, 1, 10), (2581, 16, 2, 10), (1007, 8, 1, 10), (1835, 8, 1, 10), (12347, 8, 2, 10), (4317, 16, 1, 100)];
    for (index, c, n, classes) in cases {
        let net = TinyNetwork::new(&spec(index, c, n, classes), Device::Cpu, index as u64).unwrap();
        let checkpoint = dir.path().join(format!("net{index}.safetensors"));
        net.save(&checkpoint).unwrap();
        let x = input(6, 32, 7);
        let inputs = dir.path().join(format!("x{index}.safetensors"));
        Tensor::write_safetensors(&[("x", &x)], &inputs).unwrap();
        let out = robbench_reference::run_json(&python, "nb201_model.py", &[checkpoint.to_str().unwrap(), inputs.to_str().unwrap()]);

        let eval = tch::no_grad(|| net.forward_t(&x, false));
        let d = max_diff(&eval, &tensor_of(&out["eval_logits"]));
        assert!(d < 1e-5, "arch {index}: eval logits differ by {d}");
        let train = tch::no_grad(|| net.forward_t(&x, true));
        let d = max_diff(&train, &tensor_of(&out["train_logits"]));
        assert!(d < 1e-5, "arch {index}: train logits differ by {d}");

        let state: HashMap<String, Tensor> = net.state().into_iter().collect();
        for key in ["stem.1.running_mean", "stem.1.running_var", "lastact.0.running_var"] {
            let expected: Vec<f32> = serde_json::from_value(out["stats"][key].clone()).unwrap();
            let d = max_diff(&state[key], &Tensor::from_slice(&expected));
            assert!(d < 1e-5, "arch {index}: {key} differs by {d}");
        }
        assert_eq!(state["lastact.0.num_batches_tracked"].int64_value(&[]), out["stats"]["lastact.0.num_batches_tracked"].as_i64().unwrap());
        assert_eq!(net.parameter_count(), out["param_count"].as_i64().unwrap(), "arch {index}: parameter count");
    }
}

#[test]
fn parameter_count_matches_the_space_cost_model() {
    for index in [0, 1462, 1007, 2581] {
        let net = TinyNetwork::new(&spec(index, 16, 5, 10), Device::Cpu, 0).unwrap();
        let expected = cost(&Space::nb201().arch(index).unwrap(), &ModelShape::nb201(10, 32)).params;
        assert_eq!(net.parameter_count() as u64, expected, "arch {index}");
    }
}

#[test]
fn init_is_seeded_and_follows_pytorch_bounds() {
    let a = TinyNetwork::new(&spec(1462, 8, 1, 10), Device::Cpu, 1).unwrap();
    let b = TinyNetwork::new(&spec(1462, 8, 1, 10), Device::Cpu, 1).unwrap();
    let c = TinyNetwork::new(&spec(1462, 8, 1, 10), Device::Cpu, 2).unwrap();
    let x = input(2, 32, 3);
    let (la, lb, lc) = tch::no_grad(|| (a.forward_t(&x, false), b.forward_t(&x, false), c.forward_t(&x, false)));
    assert_eq!(max_diff(&la, &lb), 0.0);
    assert!(max_diff(&la, &lc) > 1e-4);
    let state: HashMap<String, Tensor> = a.state().into_iter().collect();
    let w = &state["stem.0.weight"]; // fan_in = 3 * 3 * 3
    let bound = 1.0 / 27f64.sqrt();
    assert!(w.abs().max().double_value(&[]) <= bound);
    assert!(w.abs().max().double_value(&[]) > 0.9 * bound);
    assert_eq!(state["stem.1.weight"].sum(Kind::Float).double_value(&[]), 8.0);
}

fn rewrite(src: &Path, dst: &Path, edit: impl Fn(&mut Vec<(String, Tensor)>, &mut HashMap<String, String>)) {
    let bytes = std::fs::read(src).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    let mut tensors = Tensor::read_safetensors(src).unwrap();
    edit(&mut tensors, &mut meta);
    let owned: Vec<(String, Vec<usize>, Vec<u8>, safetensors::Dtype)> = tensors
        .iter()
        .map(|(n, t)| {
            let dtype = if t.kind() == Kind::Int64 { safetensors::Dtype::I64 } else { safetensors::Dtype::F32 };
            let mut bytes = vec![0u8; t.numel() * 4 * if dtype == safetensors::Dtype::I64 { 2 } else { 1 }];
            t.copy_data_u8(&mut bytes, t.numel());
            (n.clone(), t.size().iter().map(|&d| d as usize).collect(), bytes, dtype)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = owned
        .iter()
        .map(|(n, s, b, d)| (n.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, Some(meta), dst).unwrap();
}

#[test]
fn round_trip_and_corrupt_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let net = TinyNetwork::new(&spec(2581, 8, 1, 10), Device::Cpu, 5).unwrap();
    let path = dir.path().join("net.safetensors");
    net.save(&path).unwrap();
    let loaded = TinyNetwork::load(&path, Device::Cpu).unwrap();
    let x = input(3, 32, 1);
    assert_eq!(max_diff(&tch::no_grad(|| net.forward_t(&x, false)), &tch::no_grad(|| loaded.forward_t(&x, false))), 0.0);
    assert_eq!(loaded.spec(), net.spec());

    let expect_error = |file: &Path, needle: &str| {
        let e = TinyNetwork::load(file, Device::Cpu).err().expect("corrupt checkpoint must not load");
        assert!(matches!(e, NnError::Checkpoint { .. }));
        let text = e.to_string();
        assert!(text.contains(needle) && text.contains(&file.display().to_string()), "{text}");
    };
    let truncated = dir.path().join("truncated.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    expect_error(&truncated, "safetensors");

    let missing = dir.path().join("missing.safetensors");
    rewrite(&path, &missing, |t, _| t.retain(|(n, _)| n != "classifier.bias"));
    expect_error(&missing, "classifier.bias");

    let wrong_shape = dir.path().join("wrong.safetensors");
    rewrite(&path, &wrong_shape, |_, meta| {
        meta.insert("C".into(), "16".into());
    });
    expect_error(&wrong_shape, "shape");

    let bad_meta = dir.path().join("badmeta.safetensors");
    rewrite(&path, &bad_meta, |_, meta| {
        meta.insert("arch".into(), "|conv_9x9~0|".into());
    });
    expect_error(&bad_meta, "conv_9x9");
}
