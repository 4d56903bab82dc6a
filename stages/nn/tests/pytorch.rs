//! robbench-nn against an independent PyTorch TinyNetwork
//! (stages/reference/python/nb201_model.py), and checkpoint robustness.

use std::collections::HashMap;
use std::path::Path;

use robbench_nn::{NetworkSpec, NnError, TinyNetwork};
use robbench_rng::Rng;
use robbench_space::{ModelShape, Space, cost};
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
    let Some(python) = robbench_reference::python(&["torch", "safetensors"]) else { return };
    let dir = tempfile::tempdir().unwrap();
    // all conv3x3; the paper's example; pooling + none; all skip; a conv
    // reachable only through none edges; all conv1x1 with 100 classes.
    let cases = [
        (1462, 8, 1, 10),
        (2581, 16, 2, 10),
        (1007, 8, 1, 10),
        (1835, 8, 1, 10),
        (12347, 8, 2, 10),
        (4317, 16, 1, 100),
    ];
    for (index, c, n, classes) in cases {
        let net = TinyNetwork::new(&spec(index, c, n, classes), Device::Cpu, index as u64).unwrap();
        let checkpoint = dir.path().join(format!("net{index}.safetensors"));
        net.save(&checkpoint).unwrap();
        let x = input(6, 32, 7);
        let inputs = dir.path().join(format!("x{index}.safetensors"));
        Tensor::write_safetensors(&[("x", &x)], &inputs).unwrap();
        let out = robbench_reference::run_json(
            &python,
            "nb201_model.py",
            &[checkpoint.to_str().unwrap(), inputs.to_str().unwrap()],
        );

        let eval = tch::no_grad(|| net.forward_t(&x, false));
        let d = max_diff(&eval, &tensor_of(&out["eval_logits"]));
        assert!(d < 1e-5, "arch {index}: eval logits differ by {d}");
        let train = tch::no_grad(|| net.forward_t(&x, true));
        let d = max_diff(&train, &tensor_of(&out["train_logits"]));
        assert!(d < 1e-5, "arch {index}: train logits differ by {d}");

        // Every BN buffer after the one train-mode forward.
        let stats = out["stats"].as_object().unwrap();
        let mut buffers = 0;
        for (name, t) in net.state() {
            if name.ends_with("num_batches_tracked") {
                assert_eq!(t.int64_value(&[]), stats[&name].as_i64().unwrap(), "arch {index}: {name}");
            } else if name.contains("running_") {
                let expected: Vec<f32> = serde_json::from_value(stats[&name].clone()).unwrap();
                let d = max_diff(&t, &Tensor::from_slice(&expected));
                assert!(d < 1e-5, "arch {index}: {name} differs by {d}");
            } else {
                continue;
            }
            buffers += 1;
        }
        assert_eq!(buffers, stats.len(), "arch {index}: BN buffers");

        let calibrated = TinyNetwork::load(&checkpoint, Device::Cpu).unwrap();
        calibrated.calibrate_batch_norm(&x);
        let logits = tch::no_grad(|| calibrated.forward_t(&x, false));
        let d = max_diff(&logits, &tensor_of(&out["calibrated_eval_logits"]));
        assert!(d < 1e-4, "arch {index}: eval logits after BN calibration differ by {d}");
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
    // NAS-Bench-201's published counts on CIFAR-10: index 0, and all nor_conv_3x3.
    assert_eq!(TinyNetwork::new(&spec(0, 16, 5, 10), Device::Cpu, 0).unwrap().parameter_count(), 129_306);
    assert_eq!(TinyNetwork::new(&spec(1462, 16, 5, 10), Device::Cpu, 0).unwrap().parameter_count(), 1_531_546);
}

#[test]
fn trainable_variables_are_the_weights_and_biases_of_the_state_dict() {
    let net = TinyNetwork::new(&spec(2581, 8, 1, 10), Device::Cpu, 0).unwrap();
    let mut trainable: Vec<String> =
        net.var_store().variables().into_iter().filter(|(_, t)| t.requires_grad()).map(|(n, _)| n).collect();
    trainable.sort();
    let mut expected: Vec<String> = net
        .state()
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| !n.ends_with("running_mean") && !n.ends_with("running_var") && !n.ends_with("num_batches_tracked"))
        .collect();
    expected.sort();
    assert_eq!(trainable, expected);
}

#[test]
fn eval_mode_changes_no_state_and_train_mode_counts_batches() {
    let net = TinyNetwork::new(&spec(2581, 8, 1, 10), Device::Cpu, 3).unwrap();
    let snapshot = |net: &TinyNetwork| -> Vec<Tensor> { net.state().iter().map(|(_, t)| t.copy()).collect() };
    let before = snapshot(&net);
    let x = input(4, 16, 2);
    // With gradients, as an attack runs it.
    net.forward_t(&x, false).sum(Kind::Float).backward();
    for ((name, now), then) in net.state().iter().zip(&before) {
        assert!(now.equal(then), "eval-mode forward changed {name}");
    }
    let _ = tch::no_grad(|| net.forward_t(&x, true));
    for ((name, now), then) in net.state().iter().zip(&before) {
        if name.ends_with("num_batches_tracked") {
            assert_eq!(now.int64_value(&[]), 1, "{name}");
        } else if name.ends_with("running_var") {
            assert!(!now.equal(then), "train-mode forward left {name} unchanged");
        }
    }
}

#[test]
fn to_device_copies_the_whole_state() {
    let net = TinyNetwork::new(&spec(1007, 8, 1, 10), Device::Cpu, 4).unwrap();
    let x = input(4, 16, 5);
    let _ = tch::no_grad(|| net.forward_t(&x, true));
    let copy = net.to_device(Device::Cpu);
    let eval = |n: &TinyNetwork| tch::no_grad(|| n.forward_t(&x, false));
    assert_eq!(max_diff(&eval(&net), &eval(&copy)), 0.0);
    // Independent storage: training the copy leaves the original alone.
    let original = eval(&net);
    let _ = tch::no_grad(|| copy.forward_t(&x, true));
    assert_eq!(max_diff(&eval(&net), &original), 0.0);
    assert!(max_diff(&eval(&copy), &original) > 0.0);
}

#[test]
fn bad_specs_are_rejected_naming_the_field() {
    let mut s = spec(0, 8, 1, 10);
    s.channels = 0;
    let e = TinyNetwork::new(&s, Device::Cpu, 0).err().unwrap();
    assert!(matches!(e, NnError::Spec(_)) && e.to_string().contains('C'), "{e}");
    let mut s = spec(0, 8, 1, 10);
    s.std[1] = 0.0;
    let e = TinyNetwork::new(&s, Device::Cpu, 0).err().unwrap();
    assert!(e.to_string().contains("std"), "{e}");
    let mut s = spec(0, 8, 1, 10);
    s.mean.pop();
    let e = TinyNetwork::new(&s, Device::Cpu, 0).err().unwrap();
    assert!(e.to_string().contains("mean"), "{e}");
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
    assert_eq!(
        max_diff(&tch::no_grad(|| net.forward_t(&x, false)), &tch::no_grad(|| loaded.forward_t(&x, false))),
        0.0
    );
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
    rewrite(&path, &wrong_shape, |t, _| {
        for (n, v) in t.iter_mut() {
            if n == "cells.1.downsample.1.weight" {
                *v = Tensor::zeros([16, 8, 3, 3], (Kind::Float, Device::Cpu));
            }
        }
    });
    expect_error(&wrong_shape, "`cells.1.downsample.1.weight` has shape [16, 8, 3, 3]");

    let wrong_width = dir.path().join("width.safetensors");
    rewrite(&path, &wrong_width, |_, meta| {
        meta.insert("C".into(), "16".into());
    });
    expect_error(&wrong_width, "stem.0.weight");

    let extra = dir.path().join("extra.safetensors");
    rewrite(&path, &extra, |t, _| t.push(("classifier.extra".into(), Tensor::zeros([2], (Kind::Float, Device::Cpu)))));
    expect_error(&extra, "classifier.extra");

    let wrong_dtype = dir.path().join("dtype.safetensors");
    rewrite(&path, &wrong_dtype, |t, _| {
        for (n, v) in t.iter_mut() {
            if n == "stem.1.num_batches_tracked" {
                *v = v.to_kind(Kind::Float);
            }
        }
    });
    expect_error(&wrong_dtype, "stem.1.num_batches_tracked");

    let no_meta = dir.path().join("nometa.safetensors");
    rewrite(&path, &no_meta, |_, meta| {
        meta.remove("classes");
    });
    expect_error(&no_meta, "classes");

    let bad_meta = dir.path().join("badmeta.safetensors");
    rewrite(&path, &bad_meta, |_, meta| {
        meta.insert("arch".into(), "|conv_9x9~0|".into());
    });
    expect_error(&bad_meta, "conv_9x9");

    let bad_std = dir.path().join("badstd.safetensors");
    rewrite(&path, &bad_std, |_, meta| {
        meta.insert("std".into(), "[0.2, 0.2]".into());
    });
    expect_error(&bad_std, "std");
}

#[test]
fn save_replaces_the_file_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.safetensors");
    let x = input(2, 16, 9);
    for seed in [1, 2] {
        let net = TinyNetwork::new(&spec(0, 8, 1, 10), Device::Cpu, seed).unwrap();
        net.save(&path).unwrap();
        let loaded = TinyNetwork::load(&path, Device::Cpu).unwrap();
        let (a, b) = tch::no_grad(|| (net.forward_t(&x, false), loaded.forward_t(&x, false)));
        assert_eq!(max_diff(&a, &b), 0.0, "seed {seed}");
    }
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("net.safetensors")]);
}
