//! `robbench space`: the whole NAS-Bench-201 space as a table.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use robbench_schemas::ARCHITECTURES;
use robbench_space::{ModelShape, Space, cost};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SpaceFormat {
    Csv,
    Parquet,
}

#[derive(clap::Args)]
pub struct SpaceArgs {
    /// C: channels of the first stage.
    #[arg(long, default_value_t = 16)]
    channels: u64,
    /// N: cells per stage.
    #[arg(long, default_value_t = 5)]
    cells: u64,
    /// Classifier outputs (10 CIFAR-10, 100 CIFAR-100, 120 ImageNet16-120).
    #[arg(long, default_value_t = 10)]
    classes: u64,
    /// Input height = width (32 CIFAR, 16 ImageNet16-120).
    #[arg(long, default_value_t = 32)]
    input_size: u64,
    #[arg(long, value_enum, default_value_t = SpaceFormat::Csv)]
    format: SpaceFormat,
    /// Output file (required for parquet; stdout otherwise).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print only this cell (an index or a cell string).
    #[arg(long)]
    arch: Option<String>,
}

pub fn space(args: &SpaceArgs) -> Result<ExitCode> {
    let space = Space::nb201();
    let shape = ModelShape {
        channels: args.channels,
        cells_per_stage: args.cells,
        classes: args.classes,
        input_size: args.input_size,
        in_channels: 3,
    };
    let indices: Vec<usize> = match &args.arch {
        None => (0..space.archs().len()).collect(),
        Some(a) => match a.parse::<usize>() {
            Ok(i) => vec![space.arch(i).map(|_| i)?],
            Err(_) => vec![space.index_of(&a.parse()?)],
        },
    };
    let rows: Vec<(usize, String, usize, u64, f64)> = indices
        .iter()
        .map(|&i| {
            let arch = space.archs()[i];
            let c = cost(&arch, &shape);
            Ok((i, arch.to_string(), space.unique_index(i)?, c.params, c.flops))
        })
        .collect::<Result<_>>()?;
    match args.format {
        SpaceFormat::Csv => {
            let mut out: Box<dyn Write> = match &args.out {
                Some(p) => {
                    Box::new(std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?)
                }
                None => Box::new(std::io::stdout().lock()),
            };
            writeln!(out, "arch_index,arch,unique_index,params,flops")?;
            for (i, arch, unique, params, flops) in &rows {
                writeln!(out, "{i},{arch},{unique},{params},{flops:.5}")?;
            }
        }
        SpaceFormat::Parquet => {
            let path = args.out.as_ref().context("--format parquet needs --out FILE")?;
            let n = rows.len();
            let constant = |v: u64| -> ArrayRef { Arc::new(Int64Array::from(vec![v as i64; n])) };
            let batch = ARCHITECTURES.batch(vec![
                Arc::new(Int64Array::from(rows.iter().map(|r| r.0 as i64).collect::<Vec<_>>())),
                Arc::new(StringArray::from(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(rows.iter().map(|r| r.2 as i64).collect::<Vec<_>>())),
                constant(shape.channels),
                constant(shape.cells_per_stage),
                constant(shape.classes),
                constant(shape.input_size),
                Arc::new(Int64Array::from(rows.iter().map(|r| r.3 as i64).collect::<Vec<_>>())),
                Arc::new(Float64Array::from(rows.iter().map(|r| r.4).collect::<Vec<_>>())),
            ])?;
            robbench_pipeline::tables::write_parquet(path, &ARCHITECTURES, &[batch])?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
