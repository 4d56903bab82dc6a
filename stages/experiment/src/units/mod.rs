//! How each stage of the experiment fans out into units: the planning half
//! of every stage ([`robbench_pipeline::Stage`]); `robbench-stages` runs them.

pub mod analysis;
pub mod bound;
pub mod checks;
pub mod corrupt;
pub mod evaluate;
pub mod ntk;
pub mod prepare;
pub mod train;

use anyhow::Result;
use robbench_pipeline::compact::MissingUnit;
use robbench_pipeline::{Config, Planner, RunKind, RunRecord};

use crate::config::ExperimentSchema;
use crate::select::Architectures;

/// The experiment's stages, in order, for planning only.
pub fn planner() -> Result<Planner> {
    Planner::planning_only(
        Box::new(ExperimentSchema),
        vec![
            Box::new(prepare::Prepare),
            Box::new(Architectures),
            Box::new(train::Train),
            Box::new(evaluate::Evaluate),
            Box::new(corrupt::Corrupt),
            Box::new(checks::Checks),
            Box::new(ntk::Ntk),
            Box::new(bound::Bound),
            Box::new(analysis::Analysis),
        ],
    )
}

/// Every unit the config of `run` plans, so that a partial answer names the
/// units an unfinished run lacks (`Catalog::with_planned_units`). Imports
/// and tabular searches are not plans of the experiment: nothing to list.
pub fn planned_units(run: &RunRecord) -> Result<Vec<MissingUnit>> {
    if run.kind == RunKind::Shared {
        return Ok(Vec::new());
    }
    let config = Config::from_toml_str(&run.config, &format!("the config of run {}", run.run_id))?;
    let plan = planner()?.plan(&config)?;
    Ok(plan
        .units
        .iter()
        .map(|u| MissingUnit {
            stage: u.stage_name.to_string(),
            key: u.key.to_hex(),
            label: u.spec.label.clone(),
            why: String::new(),
        })
        .collect())
}

/// Implements [`robbench_pipeline::Stage`] for a stage that runs units by
/// delegating to its planning half here, so both plan exactly alike.
#[macro_export]
macro_rules! plans_as {
    ($stage:ty, $plan:expr) => {
        impl ::robbench_pipeline::Stage for $stage {
            fn name(&self) -> &'static str {
                ::robbench_pipeline::Stage::name(&$plan)
            }
            fn version(&self) -> u32 {
                ::robbench_pipeline::Stage::version(&$plan)
            }
            fn upstream(&self) -> &'static [&'static str] {
                ::robbench_pipeline::Stage::upstream(&$plan)
            }
            fn tables(&self) -> Vec<&'static ::robbench_schemas::TableDef> {
                ::robbench_pipeline::Stage::tables(&$plan)
            }
            fn plan(
                &self,
                config: &::robbench_pipeline::Config,
                upstream: &::robbench_pipeline::Upstream<'_>,
            ) -> ::anyhow::Result<Vec<::robbench_pipeline::UnitSpec>> {
                ::robbench_pipeline::Stage::plan(&$plan, config, upstream)
            }
        }
    };
}
