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
    let Some(python) = robbench_reference::python() else {
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
