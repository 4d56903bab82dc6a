//! Bound estimation: for each NTK unit and β, the Cao & Gu form of the clean
//! and robust error bounds of multi-objective adversarial training, with
//! K_all(β) and K̃_all(β) in place of the NTK Gram matrix
//! (see `robbench_ntk::bounds` for the formulas and their sources).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{Float64Array, Int64Array, StringArray};
use robbench_experiment::units::bound::BoundReads;
use robbench_ntk::{BoundParams, mix, multiclass_bound_terms};
use robbench_pipeline::{Runnable, UnitContext};
use robbench_schemas::BOUNDS;
use tch::Tensor;

use crate::ntk::KERNELS_FILE;
use crate::reads::read;

pub struct Bound;

robbench_experiment::plans_as!(Bound, robbench_experiment::units::bound::Bound);

impl Runnable for Bound {
    fn run(&self, unit: &mut UnitContext<'_>) -> Result<()> {
        let params = unit.params().clone();
        let BoundReads { bound: cfg, betas } = read(unit.config())?;
        let kernels: HashMap<String, Tensor> =
            Tensor::read_safetensors(unit.input("ntk")?.file(KERNELS_FILE))?.into_iter().collect();
        let get = |name: &str| kernels.get(name).with_context(|| format!("kernel file has no `{name}`"));
        let labels = Vec::<i64>::try_from(get("labels")?)?;
        let classes = get("classes")?.int64_value(&[0]);
        let n = labels.len();
        if get("clean")?.size()[0] as usize != n {
            bail!("bounds need one kernel row per sample: use ntk.output = \"sum\" or \"label\", not per-logit");
        }
        let bound_params = BoundParams { depth_factor: cfg.depth_factor, delta: cfg.delta };
        let mut rows = Vec::new();
        for &beta in &betas {
            let k_all = mix(get("clean")?, get("cross")?, get("robust")?, beta)?;
            let k_tilde = mix(get("robust")?, get("cross2")?, get("robust2")?, beta)?;
            let clean = multiclass_bound_terms(&k_all, &labels, classes, bound_params)?;
            let robust = multiclass_bound_terms(&k_tilde, &labels, classes, bound_params)?;
            rows.push((beta, clean, robust));
        }
        let m = rows.len();
        let col = |f: &dyn Fn(&(f64, robbench_ntk::BoundTerms, robbench_ntk::BoundTerms)) -> f64| -> Arc<Float64Array> {
            Arc::new(Float64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
        };
        let batch = BOUNDS.batch(vec![
            Arc::new(Int64Array::from(vec![params["arch_index"].as_i64().context("arch_index")?; m])),
            Arc::new(StringArray::from(vec![params["dataset"].as_str().context("dataset")?; m])),
            Arc::new(Int64Array::from(vec![params["seed"].as_i64().context("seed")?; m])),
            Arc::new(StringArray::from(vec![params["weights"].as_str().context("weights")?; m])),
            col(&|r| r.0),
            Arc::new(Int64Array::from(vec![n as i64; m])),
            col(&|r| r.1.quadratic_form),
            col(&|r| r.2.quadratic_form),
            col(&|r| r.1.lambda_min),
            col(&|r| r.2.lambda_min),
            col(&|r| r.1.complexity),
            col(&|r| r.2.complexity),
            col(&|r| r.1.confidence),
            col(&|r| r.1.bound),
            col(&|r| r.2.bound),
            col(&|r| r.1.lambda_min_bound),
            col(&|r| r.2.lambda_min_bound),
            col(&|r| r.1.jitter.max(r.2.jitter)),
        ])?;
        unit.write_table(&BOUNDS, &[batch])
    }
}
