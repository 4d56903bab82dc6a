//! Per-sample parameter Jacobians of a tch network.
//!
//! libtorch's C API (as exposed by tch) has no `vmap`, and the network is an opaque
//! closure over its own parameters, so the per-sample gradients cannot be batched
//! through functional calls as `torch.func` does. The only exact route is one
//! backward pass per differentiated scalar: `Tensor::run_backward` (autograd
//! `grad`, which returns gradients without touching `.grad`) with `keep_graph` set
//! while further scalars of the same forward remain (the `K` logits of a sample
//! for [`NtkOutput::PerLogit`]). A backward seeded at one sample of a batched
//! forward still costs a backward of the whole batch (zeros are propagated
//! through every op), so forwarding a chunk of `b` samples once makes the
//! backward work grow as `n·b`; single-sample forwards keep it linear in `n`.
//! Measured on the 2-core CPU, clean NTK of 64 CIFAR-sized samples, ~95k-parameter
//! conv net: chunk 1 ≈ 0.1 s, 4 ≈ 0.14 s, 16 ≈ 0.38 s, 64 ≈ 1.6–2.3 s.

use tch::{Kind, Tensor};

use crate::NtkError;

/// Samples per forward pass: 1 was fastest in the measurement above.
pub(crate) const CHUNK: i64 = 1;

/// Which scalar(s) of the network output `f(x) ∈ R^K` the kernel differentiates.
#[derive(Debug, Clone, Copy, Default)]
pub enum NtkOutput<'a> {
    /// `Σ_k f_k(x)`: one scalar per sample. This is the standard single-scalar
    /// empirical NTK of NTK-based training-free NAS (TE-NAS, NASI and the λ_min
    /// NAS metrics computed from `∂(Σ logits)/∂θ`), and the most likely reading
    /// of the scalar network `f` in the NAS-RobBench-201 theory, which is stated
    /// for one output.
    #[default]
    SumOfLogits,
    /// `f_{y_i}(x_i)`: the logit of each sample's label (int tensor `[n]`, values
    /// in `0..K`). With a second input set the same labels are used for it, which
    /// must then have the same number of samples (the paired clean / attacked
    /// case `k(x, A(x))`, where `A(x_i)` keeps the label of `x_i`).
    Logit(&'a Tensor),
    /// Every logit: the kernel is the `(n₁·K) × (n₂·K)` block matrix whose row
    /// `i·K + k` is sample `i`, logit `k` (sample-major).
    PerLogit,
}

/// Per-sample Jacobian `∂s/∂θ` of the scalar(s) `s` chosen by `output`, flattened
/// over the trainable parameters (those of `params` with `requires_grad`, in
/// order) into a matrix `[rows, P]` of the parameters' precision; `rows = n` (or `n·K` for
/// [`NtkOutput::PerLogit`]). Parameters the output does not depend on contribute
/// zero columns. Runs with gradient tracking on even inside a `no_grad` scope;
/// the model must be in eval mode (see the crate docs). Memory: `rows·P` numbers.
pub fn jacobian(
    model: &dyn Fn(&Tensor) -> Tensor,
    params: &[Tensor],
    x: &Tensor,
    output: NtkOutput,
) -> Result<Tensor, NtkError> {
    jacobian_chunked(model, params, x, output, CHUNK)
}

pub(crate) fn jacobian_chunked(
    model: &dyn Fn(&Tensor) -> Tensor,
    params: &[Tensor],
    x: &Tensor,
    output: NtkOutput,
    chunk: i64,
) -> Result<Tensor, NtkError> {
    let n = *x.size().first().ok_or(NtkError::BadShape {
        what: "input batch",
        shape: vec![],
        expected: "expected a leading batch dimension".into(),
    })?;
    if n == 0 {
        return Err(NtkError::EmptyBatch("input batch"));
    }
    let trainable: Vec<&Tensor> = params.iter().filter(|p| p.requires_grad()).collect();
    if trainable.is_empty() {
        return Err(NtkError::NoTrainableParameters(params.len()));
    }
    let labels = match output {
        NtkOutput::Logit(labels) => Some(check_labels(labels, n)?),
        _ => None,
    };

    let mut rows = Vec::new();
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let xb = x.narrow(0, start, len);
        let out = tch::with_grad(|| model(&xb));
        let out = logits_2d(out, len)?;
        if !out.requires_grad() {
            return Err(NtkError::OutputWithoutGrad);
        }
        let classes = out.size()[1];
        let scalars = match output {
            NtkOutput::SumOfLogits => out.sum_dim_intlist(1, false, None),
            NtkOutput::Logit(_) => {
                let lb = labels.as_ref().expect("labels checked above").narrow(0, start, len);
                check_label_range(&lb, classes)?;
                out.gather(1, &lb.view([-1, 1]), false).view([-1])
            }
            NtkOutput::PerLogit => out.reshape([-1]),
        };
        let count = scalars.size()[0];
        for r in 0..count {
            let grads = Tensor::f_run_backward(&[scalars.get(r)], &trainable, r + 1 < count, false)?;
            rows.push(flatten_grads(&grads, &trainable)?);
        }
        start += len;
    }
    Ok(Tensor::stack(&rows, 0))
}

/// The model output as `[batch, classes]` (a `[batch]` output is one class).
pub(crate) fn logits_2d(out: Tensor, batch: i64) -> Result<Tensor, NtkError> {
    let shape = out.size();
    match shape.as_slice() {
        [b] if *b == batch => Ok(out.unsqueeze(1)),
        [b, _] if *b == batch => Ok(out),
        _ => Err(NtkError::BadOutput { shape, batch }),
    }
}

pub(crate) fn check_labels(labels: &Tensor, n: i64) -> Result<Tensor, NtkError> {
    if labels.size() != [n] {
        return Err(NtkError::BadLabels(format!(
            "expected shape [{n}] (one label per sample), got {:?}",
            labels.size()
        )));
    }
    if labels.is_floating_point() || labels.kind() == Kind::Bool {
        return Err(NtkError::BadLabels(format!("expected an integer tensor, got {:?}", labels.kind())));
    }
    Ok(labels.to_kind(Kind::Int64))
}

pub(crate) fn check_label_range(labels: &Tensor, classes: i64) -> Result<(), NtkError> {
    let lo = labels.min().int64_value(&[]);
    let hi = labels.max().int64_value(&[]);
    if lo < 0 || hi >= classes {
        return Err(NtkError::BadLabels(format!(
            "label values span {lo}..={hi}, outside the model's {classes} outputs"
        )));
    }
    Ok(())
}

/// Concatenates one backward's gradients into a vector of the parameters'
/// precision (zeros where the output does not depend on a parameter: autograd
/// returns an undefined tensor).
fn flatten_grads(grads: &[Tensor], params: &[&Tensor]) -> Result<Tensor, NtkError> {
    let flat: Vec<Tensor> = grads
        .iter()
        .zip(params)
        .map(
            |(g, p)| {
                if g.defined() { g.reshape([-1]) } else { Tensor::zeros([p.numel() as i64], (p.kind(), p.device())) }
            },
        )
        .collect();
    Ok(Tensor::f_cat(&flat, 0)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_common::{ConvNet, normal, rel_diff};
    use robbench_rng::Rng;
    use std::time::Instant;

    #[test]
    fn chunking_does_not_change_the_jacobian_in_eval_mode() {
        let mut rng = Rng::new(60);
        let x = normal(&mut rng, &[6, 3, 8, 8], 0.0, 1.0);
        let net = ConvNet::new(61, 3, &[4, 6], 3);
        let params = net.params();
        let model = |x: &Tensor| net.forward(x);
        for output in [NtkOutput::SumOfLogits, NtkOutput::PerLogit] {
            let one = jacobian_chunked(&model, &params, &x, output, 1).unwrap();
            for chunk in [4, 6] {
                let other = jacobian_chunked(&model, &params, &x, output, chunk).unwrap();
                assert!(rel_diff(&one, &other) < 1e-6, "chunk {chunk}");
            }
        }
    }

    /// Timing of the clean NTK on 64 CIFAR-sized samples for a ~95k-parameter conv
    /// net, per forward chunk size (run with `--ignored --nocapture`).
    #[test]
    #[ignore]
    fn time_clean_ntk_64_samples() {
        let mut rng = Rng::new(62);
        let x = normal(&mut rng, &[64, 3, 32, 32], 0.0, 1.0);
        let net = ConvNet::new(63, 3, &[32, 64, 128], 10);
        let params = net.params();
        let model = |x: &Tensor| net.forward(x);
        eprintln!("parameters: {}, threads: {}", net.num_params(), tch::get_num_threads());
        let _ = jacobian_chunked(&model, &params, &x.narrow(0, 0, 2), NtkOutput::SumOfLogits, 1).unwrap();
        for chunk in [1, 4, 16, 64] {
            let start = Instant::now();
            let j = jacobian_chunked(&model, &params, &x, NtkOutput::SumOfLogits, chunk).unwrap();
            let k = crate::kernel_from_jacobians(&j, None).unwrap();
            eprintln!("chunk {chunk:>2}: clean NTK 64×64 in {:.3} s", start.elapsed().as_secs_f64());
            assert_eq!(k.size(), [64, 64]);
        }
    }
}
