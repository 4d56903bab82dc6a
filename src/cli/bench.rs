//! `robbench bench ...`: timings (never asserted by tests). Each bench prints
//! its figures and writes them to a results file (see `bench_results`);
//! `bench render` turns the results files into the benchmarks page.

use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use robbench_pipeline::parallelism::Jobs;

use super::bench_process::{child_json, peak_rss_bytes, process_cpu_seconds, python};
use super::bench_results::{BenchResults, RenderArgs, ResultsArg};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Time a no-op rerun of a plan with many units (planning + store check),
    /// and planning the default recipe at NAS-RobBench-201's size (~330,000 units).
    Plan {
        #[arg(long, default_value_t = 20_000)]
        units: u64,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// SQL over a generated store of the real layout (N evaluation units of S
    /// images each), next to DuckDB over the same per-unit files.
    Sql {
        #[arg(long, default_value_t = 2_000)]
        units: u64,
        #[arg(long, default_value_t = 1_000)]
        samples: u64,
        /// Build the store here and keep it (default: a temporary directory).
        #[arg(long)]
        keep: Option<std::path::PathBuf>,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// Generating every common corruption (19 × 5 severities) of N 32×32
    /// images, next to the reference generator (make_cifar_c.py) on the first M.
    Corruptions {
        #[arg(long, default_value_t = 10_000)]
        images: usize,
        /// Images the (much slower) reference corrupts; 0 skips it.
        #[arg(long, default_value_t = 20)]
        reference_images: usize,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// `robbench serve`'s page latency (first byte, median and p99) on the
    /// shipped release and on a generated store, requests/s with concurrent
    /// clients, and the server's memory.
    Serve {
        /// Timed requests per page.
        #[arg(long, default_value_t = 50)]
        requests: usize,
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Evaluation units of the generated store.
        #[arg(long, default_value_t = 2_000)]
        units: u64,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// Adversarial-training throughput (images/s incl. the PGD steps), and the
    /// same recipe in PyTorch (the venv's torch) for the ratio.
    Train {
        #[command(flatten)]
        net: NetworkArgs,
        #[arg(long, default_value_t = 256)]
        batch: usize,
        /// Timed batches (after one warm-up batch).
        #[arg(long, default_value_t = 3)]
        batches: usize,
        /// PGD steps per training batch (NAS-RobBench-201: 7).
        #[arg(long, default_value_t = 7)]
        attack_steps: usize,
        #[arg(long, default_value = "auto")]
        device: String,
        /// Skip the PyTorch comparison.
        #[arg(long)]
        no_pytorch: bool,
        /// Rounds of robbench against the strongest PyTorch setting after the
        /// first, which times every setting; the headline ratio is of the medians.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// Internal: print robbench's images/s alone, as JSON (the parent's child process).
        #[arg(long, hide = true)]
        child: bool,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// Networks trained per hour with --jobs 1, 2 and auto (the default recipe
    /// and NAS-RobBench-201's), extrapolated from timed batches of the
    /// architecture of mean cost, and the machine-hours for the whole benchmark.
    Throughput {
        /// Recipes to time (default: both).
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [super::throughput::RecipeName::Default, super::throughput::RecipeName::Nasrobbench201])]
        recipe: Vec<super::throughput::RecipeName>,
        /// Job counts to compare.
        #[arg(long, value_delimiter = ',', default_value = "1,2,auto")]
        jobs: Vec<Jobs>,
        /// Batch size to time (default: the recipe's).
        #[arg(long)]
        batch: Option<usize>,
        /// Timed batches per unit (after one warm-up batch).
        #[arg(long, default_value_t = 1)]
        batches: usize,
        #[arg(long, default_value = "auto")]
        device: String,
        /// Internal: time the one recipe and --jobs given in this process,
        /// set up as `run --jobs` sets itself up, and print JSON (the parent's child process).
        #[arg(long, hide = true)]
        child: bool,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// One training unit's time alone and next to busy processes, with the
    /// thread policy and with the spinning OpenMP default it replaces.
    Contention {
        #[command(flatten)]
        net: NetworkArgs,
        #[arg(long, default_value_t = 32)]
        batch: usize,
        #[arg(long, default_value_t = 2)]
        batches: usize,
        /// Competing busy processes (default: one per CPU).
        #[arg(long)]
        busy: Option<usize>,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// Standard AutoAttack (reference budgets) in seconds per 1,000 images.
    Autoattack {
        /// The network at initialisation, unless --checkpoint names a trained one.
        #[command(flatten)]
        net: NetworkArgs,
        /// A trained checkpoint from the store (SELECT checkpoint FROM models).
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 32)]
        images: usize,
        /// Image side in pixels.
        #[arg(long, default_value_t = 32)]
        size: i64,
        /// In units of 1/255. The default 0 times the worst case: no image
        /// breaks, so every component spends its whole budget on every image
        /// (what a robust network costs); 8 with a trained --checkpoint
        /// times a real evaluation.
        #[arg(long, default_value_t = 0.0)]
        eps: f64,
        #[arg(long, default_value = "auto")]
        device: String,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// One NTK unit's kernel work (three per-sample gradient sets, five
    /// kernel blocks, two spectra) with the structured path, the per-sample
    /// path and PyTorch's torch.func, each in its own process for its peak
    /// memory; with --unit, the unit's whole work.
    Ntk {
        #[command(flatten)]
        net: NetworkArgs,
        #[arg(long, default_value_t = 64)]
        samples: i64,
        #[arg(long, value_enum, default_value_t = KernelOutput::Sum)]
        output: KernelOutput,
        /// Methods to time (default: all three).
        #[arg(long, value_enum, value_delimiter = ',')]
        methods: Vec<NtkMethod>,
        #[arg(long, default_value = "auto")]
        device: String,
        /// Print where the structured path's time goes, phase by phase
        /// (sets ROBBENCH_NTK_PROFILE for its process).
        #[arg(long)]
        profile: bool,
        /// Rounds of every method, one after another (the figures are each
        /// method's median round: timings of one round swing with the machine).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// Time the whole unit, as the `ntk` stage runs it: BN calibration on
        /// 256 images and PGD-5 (8/255) for x_adv and x_adv2 before the
        /// kernel work, PyTorch's side in channels-last (its faster CPU
        /// layout); results in docs/bench/ntk-unit.json.
        #[arg(long)]
        unit: bool,
        /// Internal: time one method on the network and points in this
        /// directory and print JSON (the parent's child process).
        #[arg(long, hide = true)]
        child: Option<std::path::PathBuf>,
        #[command(flatten)]
        results: ResultsArg,
    },
    /// Write docs/src/benchmarks.md (or --out) from the results files the
    /// benches wrote (docs/bench/*.json, or --results DIR).
    Render(RenderArgs),
}

/// `ntk.output`: which scalar(s) of the logits the kernel differentiates.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KernelOutput {
    Sum,
    Label,
    PerLogit,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NtkMethod {
    Structured,
    PerSample,
    TorchFunc,
}

impl NtkMethod {
    fn name(self) -> &'static str {
        match self {
            NtkMethod::Structured => "structured",
            NtkMethod::PerSample => "per-sample",
            NtkMethod::TorchFunc => "torch-func",
        }
    }
}

/// The network a benchmark times: a CIFAR-shaped (10 classes) TinyNetwork.
#[derive(Args)]
pub struct NetworkArgs {
    /// NAS-Bench-201 index or cell string.
    #[arg(long, default_value = "2581")]
    arch: String,
    #[arg(long, default_value_t = 16)]
    channels: i64,
    #[arg(long, default_value_t = 5)]
    cells: i64,
}

impl NetworkArgs {
    fn spec(&self) -> Result<robbench_nn::NetworkSpec> {
        let arch = match self.arch.parse::<usize>() {
            Ok(i) => robbench_space::Space::nb201().arch(i)?,
            Err(_) => self.arch.parse()?,
        };
        Ok(robbench_nn::NetworkSpec {
            arch,
            channels: self.channels,
            cells_per_stage: self.cells,
            classes: 10,
            mean: vec![0.49, 0.48, 0.45],
            std: vec![0.25, 0.24, 0.26],
        })
    }
}

/// One unit at a time: all the CPUs for its intra-op threads unless `--threads` says.
fn configure_one_unit(threads: Option<NonZeroUsize>, device: &str) -> Result<()> {
    super::parallel::configure(Jobs::Count(NonZeroUsize::MIN), threads, super::parallel::device_kind(device)?)?;
    Ok(())
}

const NTK_CHECKPOINT: &str = "network.safetensors";
const NTK_POINTS: &str = "points.safetensors";

/// Which methods `bench ntk` times, how often, whether it profiles, and
/// whether a run is the whole unit or its kernel work.
struct NtkRuns<'a> {
    methods: &'a [NtkMethod],
    repeat: usize,
    profile: bool,
    unit: bool,
}

/// `bench ntk`: the parent times every method, each in a child process, and
/// returns the figures; a `--child` prints its one method's as JSON (`None`).
fn bench_ntk(
    net: &NetworkArgs,
    samples: i64,
    output: KernelOutput,
    NtkRuns { methods, repeat, profile, unit }: NtkRuns<'_>,
    device: &str,
    child: Option<&std::path::Path>,
) -> Result<Option<BenchResults>> {
    use tch::{Kind, Tensor};
    let output_name = match output {
        KernelOutput::Sum => "sum",
        KernelOutput::Label => "label",
        KernelOutput::PerLogit => "per-logit",
    };
    let device = robbench_nn::parse_device(device)?;
    if let Some(dir) = child {
        let method = match methods {
            [NtkMethod::Structured] => robbench_stages::KernelMethod::Structured,
            [NtkMethod::PerSample] => robbench_stages::KernelMethod::PerSample,
            _ => anyhow::bail!("--child times exactly one of structured, per-sample"),
        };
        let network = robbench_nn::TinyNetwork::load(&dir.join(NTK_CHECKPOINT), device)?;
        let points: std::collections::HashMap<String, Tensor> =
            Tensor::read_safetensors(dir.join(NTK_POINTS))?.into_iter().collect();
        let point = |name: &str| -> Result<Tensor> {
            Ok(points.get(name).ok_or_else(|| anyhow::anyhow!("{NTK_POINTS} has no `{name}`"))?.to_device(device))
        };
        let labels = point("labels")?;
        let kernel_output = match output {
            KernelOutput::Sum => robbench_ntk::NtkOutput::SumOfLogits,
            KernelOutput::Label => robbench_ntk::NtkOutput::Logit(&labels),
            KernelOutput::PerLogit => robbench_ntk::NtkOutput::PerLogit,
        };
        let (x, calibration) = (point("x")?, point("calibration")?);
        if !unit {
            // Untimed: the kernel work starts from a calibrated network, in the
            // layout the `ntk` stage gives it.
            network.calibrate_batch_norm(&calibration);
            network.use_fastest_layout();
        }
        let cpu_started = process_cpu_seconds();
        let (seconds, kernel_seconds, clean_trace) = if unit {
            robbench_stages::time_unit(&network, &calibration, &x, &labels, kernel_output, method)?
        } else {
            let (x_adv, x_adv2) = (point("x_adv")?, point("x_adv2")?);
            let (seconds, clean_trace) =
                robbench_stages::time_kernels(&network, [&x, &x_adv, &x_adv2], kernel_output, method)?;
            (seconds, seconds, clean_trace)
        };
        let cpu_seconds = process_cpu_seconds().zip(cpu_started).map(|(end, start)| end - start);
        let result = serde_json::json!({
            "seconds": seconds,
            "kernel_seconds": kernel_seconds,
            "cpu_seconds": cpu_seconds,
            "peak_rss_bytes": peak_rss_bytes(),
            "clean_trace": clean_trace,
        });
        println!("{result}");
        return Ok(None);
    }

    // The network at initialisation and 256 images for its BN calibration,
    // which each run does, as the stage does (timed with --unit); points x
    // and two perturbations of them (the kernel work does not depend on how
    // they were attacked; --unit attacks x instead).
    let spec = net.spec()?;
    let network = robbench_nn::TinyNetwork::new(&spec, tch::Device::Cpu, 0)?;
    tch::manual_seed(0);
    let calibration = Tensor::rand([256, 3, 32, 32], (Kind::Float, tch::Device::Cpu));
    let x = Tensor::rand([samples, 3, 32, 32], (Kind::Float, tch::Device::Cpu));
    let step = |t: &Tensor| (t + Tensor::rand_like(t).sign() * (8.0 / 255.0) - 4.0 / 255.0).clamp(0.0, 1.0);
    let x_adv = step(&x);
    let x_adv2 = step(&x_adv);
    let labels = Tensor::randint(spec.classes, [samples], (Kind::Int64, tch::Device::Cpu));
    let dir = tempfile::tempdir()?;
    network.save(&dir.path().join(NTK_CHECKPOINT))?;
    Tensor::write_safetensors(
        &[("x", &x), ("x_adv", &x_adv), ("x_adv2", &x_adv2), ("labels", &labels), ("calibration", &calibration)],
        dir.path().join(NTK_POINTS),
    )?;
    // What a run times, in the figures' names and the notes.
    let (work, steps) = if unit {
        ("one whole NTK unit", "BN calibration on 256 images, PGD-5 (8/255) for x_adv and x_adv2, ")
    } else {
        ("one NTK unit's kernel work", "")
    };
    println!(
        "{work} on {}: arch {}, C={}, N={}, {} parameters, {samples} samples, output {output_name} \
         ({steps}three gradient sets, five {samples}x{samples} blocks, two spectra); each method in its own process",
        robbench_nn::describe_device(device),
        spec.arch,
        net.channels,
        net.cells,
        network.parameter_count()
    );
    let methods = if methods.is_empty() {
        vec![NtkMethod::Structured, NtkMethod::PerSample, NtkMethod::TorchFunc]
    } else {
        methods.to_vec()
    };
    let device_name = device_name(device);
    let mut rounds: Vec<(NtkMethod, Vec<serde_json::Value>)> = methods.iter().map(|&m| (m, Vec::new())).collect();
    for method in (0..repeat).flat_map(|_| methods.iter().copied()) {
        let results = &mut rounds.iter_mut().find(|(m, _)| *m == method).expect("listed").1;
        let command = match method {
            NtkMethod::TorchFunc => {
                let mut c = std::process::Command::new(python());
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/stages/reference/python/ntk_tinynetwork.py");
                let mode = if unit { "unit" } else { "bench" };
                c.arg(script).arg(mode).arg(dir.path().join(NTK_CHECKPOINT)).arg(dir.path().join(NTK_POINTS));
                c.env("GLIBC_TUNABLES", robbench_nn::host_memory::GLIBC_TUNABLES);
                c.args([output_name, &device_name]);
                c
            }
            _ => {
                let mut c = std::process::Command::new(std::env::current_exe()?);
                c.args(["bench", "ntk", "--output", output_name, "--device", &device_name, "--methods", method.name()]);
                c.arg("--child").arg(dir.path());
                if unit {
                    c.arg("--unit");
                }
                if profile && method == NtkMethod::Structured {
                    c.env(robbench_ntk::PROFILE_ENV, "1");
                }
                c
            }
        };
        results.push(child_json(command, &format!("the {} run", method.name()))?);
    }
    let spread: Vec<String> = rounds
        .iter()
        .map(|(method, results)| {
            let walls: Vec<f64> = results.iter().filter_map(|r| r["seconds"].as_f64()).collect();
            let (low, high) = walls.iter().fold((f64::INFINITY, 0.0f64), |(l, h), &w| (l.min(w), h.max(w)));
            format!("{} {low:.2}-{high:.2} s", method.name())
        })
        .collect();
    // Each method's median round by wall time, whole (its CPU time and memory with it).
    let runs: Vec<(NtkMethod, serde_json::Value)> = rounds
        .into_iter()
        .map(|(method, mut results)| {
            results.sort_by(|a, b| {
                a["seconds"].as_f64().unwrap_or(f64::NAN).total_cmp(&b["seconds"].as_f64().unwrap_or(f64::NAN))
            });
            let median = results.swap_remove(results.len() / 2);
            (method, median)
        })
        .collect();
    // The work's multiply-adds at this machine's float32 GEMM rate: the
    // time no exact method can beat here, so the gap left is visible.
    let floor = (device == tch::Device::Cpu && !unit).then(|| {
        let rows_per_sample = if matches!(output, KernelOutput::PerLogit) { spec.classes } else { 1 };
        let one_sample = network.forward_traced(&x.narrow(0, 0, 1));
        let macs = robbench_ntk::structured_kernel_macs(&one_sample.layers, samples, 3, rows_per_sample, 5);
        (macs, gemm_macs_per_second())
    });
    let torch = runs.iter().find(|(m, _)| *m == NtkMethod::TorchFunc).map(|(_, r)| r);
    let reference_trace = runs.first().and_then(|(_, r)| r["clean_trace"].as_f64()).unwrap_or(f64::NAN);
    let mut out = BenchResults::new(if unit { "ntk-unit" } else { "ntk" }, &device_name);
    out.note(format!(
        "arch {}, C={}, N={}, {} parameters, {samples} samples, output {output_name}: {steps}three gradient sets, \
         five {samples}x{samples} kernel blocks, two spectra; each method in its own process",
        spec.arch,
        net.channels,
        net.cells,
        network.parameter_count()
    ));
    out.note(format!(
        "{repeat} round(s) of the methods one after another; each figure is its method's median round \
         (wall times: {})",
        spread.join(", ")
    ));
    // On-CPU time is what the work costs when other jobs share the machine; wall time is what a lone run takes.
    println!(
        "{:<11} {:>9} {:>9} {:>10} {:>12} {:>11} {:>18}",
        "method", "wall s", "CPU s", "peak RSS", "wall / t.f.", "CPU / t.f.", "tr K_clean rel."
    );
    let ratio = |r: &serde_json::Value, key: &str| {
        torch.and_then(|t| Some(r[key].as_f64()? / t[key].as_f64()?)).map_or("-".to_string(), |q| format!("{q:.3}"))
    };
    for (method, r) in &runs {
        let seconds = r["seconds"].as_f64().unwrap_or(f64::NAN);
        let cpu = r["cpu_seconds"].as_f64().map_or("?".to_string(), |s| format!("{s:.3}"));
        let rss = r["peak_rss_bytes"].as_f64().map_or("?".to_string(), |b| format!("{:.2} GB", b / 1e9));
        let trace = r["clean_trace"].as_f64().unwrap_or(f64::NAN);
        let agreement = (trace - reference_trace).abs() / reference_trace.abs();
        println!(
            "{:<11} {seconds:>9.3} {cpu:>9} {rss:>10} {:>12} {:>11} {agreement:>18.1e}",
            method.name(),
            ratio(r, "seconds"),
            ratio(r, "cpu_seconds")
        );
        let name = method.name();
        for (key, what) in [("seconds", "wall time"), ("cpu_seconds", "CPU time")] {
            let value = r[key].as_f64().unwrap_or(f64::NAN);
            let figure = out.figure(format!("{work}, {name}: {what}"), value, "s");
            if let Some(t) = torch.filter(|_| *method != NtkMethod::TorchFunc) {
                let reference = if unit { "PyTorch's unit (torch.func kernels)" } else { "torch.func" };
                figure.compared_with(
                    format!("{reference}: {what}"),
                    r[key].as_f64().unwrap_or(f64::NAN) / t[key].as_f64().unwrap_or(f64::NAN),
                );
                if *method == NtkMethod::Structured && key == "seconds" {
                    figure.headline();
                }
            }
        }
        let rss = r["peak_rss_bytes"].as_f64().unwrap_or(f64::NAN) / 1e9;
        out.figure(format!("{work}, {name}: peak RSS"), rss, "GB");
        if unit {
            let kernels = r["kernel_seconds"].as_f64().unwrap_or(f64::NAN);
            let figure = out.figure(format!("{work}, {name}: its kernel work's wall time"), kernels, "s");
            if let Some(t) = torch.filter(|_| *method != NtkMethod::TorchFunc) {
                figure.compared_with(
                    "PyTorch's unit: its torch.func kernel work",
                    kernels / t["kernel_seconds"].as_f64().unwrap_or(f64::NAN),
                );
            }
            // The ratio the unit would have if its kernel work cost nothing.
            let rest = seconds - kernels;
            let figure = out.figure(format!("{work}, {name}: its calibration and attacks' wall time"), rest, "s");
            if let Some(t) = torch.filter(|_| *method != NtkMethod::TorchFunc) {
                figure.compared_with(
                    "PyTorch's unit (torch.func kernels): wall time",
                    rest / t["seconds"].as_f64().unwrap_or(f64::NAN),
                );
            }
        }
        if let (NtkMethod::Structured, Some((macs, rate))) = (method, floor) {
            println!(
                "{:<11} {:>9.3} {:>9} {:>10} {:>12}   ({:.1} GMAC at {:.1} GMAC/s, this CPU's float32 GEMM rate)",
                "floor",
                macs / rate,
                "",
                "",
                ratio(&serde_json::json!({ "seconds": macs / rate }), "seconds"),
                macs / 1e9,
                rate / 1e9
            );
            let figure = out.figure(
                "one NTK unit's kernel work: multiply-add floor (its MACs at this CPU's GEMM rate)",
                macs / rate,
                "s",
            );
            if let Some(t) = torch {
                figure.compared_with("torch.func's wall time", macs / rate / t["seconds"].as_f64().unwrap_or(f64::NAN));
                figure.headline();
            }
            out.note(format!(
                "floor: {:.1} GMAC (forward, backward and weight gradients of three sets, five blocks) at {:.1} GMAC/s, \
                 the best of ten 2048x2048x2048 float32 products on the same threads",
                macs / 1e9,
                rate / 1e9
            ));
        }
        if let Some((first, _)) = runs.first().filter(|(m, _)| m != method) {
            out.note(format!(
                "{name}: trace of the clean kernel differs from {}'s by {agreement:.1e} (relative)",
                first.name()
            ));
        }
    }
    Ok(Some(out))
}

/// The median of `values` (the upper one of an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// This process's float32 matrix-product rate on the CPU, in multiply-adds
/// per second: the best of ten 2048×2048 by 2048×2048 products after one to
/// warm up (single products swing by a third on a shared machine).
fn gemm_macs_per_second() -> f64 {
    use tch::{Kind, Tensor};
    let a = Tensor::rand([2048, 2048], (Kind::Float, tch::Device::Cpu));
    let b = Tensor::rand([2048, 2048], (Kind::Float, tch::Device::Cpu));
    let _ = a.matmul(&b);
    (0..10)
        .map(|_| {
            let started = std::time::Instant::now();
            let _ = a.matmul(&b);
            2048f64.powi(3) / started.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

/// Plans the default recipe at NAS-RobBench-201's size (every one of the
/// 6,466 classes, three seeds: ~330,000 units) with the real stages, and
/// checks an empty store for them: what a no-op rerun of one dataset's
/// benchmark pays before doing anything.
fn benchmark_sized_plan(out: &mut BenchResults) -> Result<()> {
    let pipeline = robbench_stages::planner()?;
    let mut config = robbench_pipeline::Config::from_toml_str(robbench_stages::DEFAULT_CONFIG, "configs/default.toml")?;
    config.set("architectures.select=\"unique\"")?;
    config.set("train.seeds=[0,1,2]")?;
    let started = std::time::Instant::now();
    let plan = pipeline.plan(&config)?;
    let planned = started.elapsed().as_secs_f64();
    let dir = tempfile::tempdir()?;
    let store = robbench_pipeline::Store::open(dir.path())?;
    let started = std::time::Instant::now();
    let summary = plan.summary(&store, &plan.select(None))?;
    let checked = started.elapsed().as_secs_f64();
    let stored: usize = summary.iter().map(|s| s.2).sum();
    anyhow::ensure!(stored == 0, "an empty store holds {stored} units");
    let units = plan.units.len();
    println!(
        "benchmark-sized plan (default recipe, architectures.select=\"unique\", train.seeds=[0,1,2]): \
         {units} units planned in {planned:.3}s + store check {checked:.3}s"
    );
    let what = format!("benchmark-sized plan ({units} units, default recipe, all classes, 3 seeds)");
    out.figure(format!("{what}: planning"), planned, "s").headline();
    out.figure(format!("{what}: store check"), checked, "s");
    Ok(())
}

/// The device as results files name it: `cpu`, `cuda:0`, …
fn device_name(device: tch::Device) -> String {
    match device {
        tch::Device::Cpu => "cpu".to_string(),
        tch::Device::Cuda(n) => format!("cuda:{n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

pub fn bench(command: BenchCommand, threads: Option<NonZeroUsize>) -> Result<ExitCode> {
    match command {
        BenchCommand::Plan { units, results } => {
            let mut out = BenchResults::new("plan", "cpu");
            let dir = tempfile::tempdir()?;
            let r = robbench_pipeline::bench::noop_rerun(dir.path(), units)?;
            println!("first run: {} units executed in {:.2}s", r.units, r.first_run);
            println!(
                "no-op rerun of {} units: plan {:.3}s + store check {:.3}s; full `run` (all reused, run record written) {:.3}s",
                r.units, r.plan, r.store_check, r.execute
            );
            out.figure(format!("first run of {} no-op units", r.units), r.first_run, "s");
            out.figure(format!("no-op rerun of {} units: plan", r.units), r.plan, "s");
            out.figure(format!("no-op rerun of {} units: store check", r.units), r.store_check, "s");
            out.figure(
                format!("no-op rerun of {} units: full `run` (all reused, run record written)", r.units),
                r.execute,
                "s",
            );
            benchmark_sized_plan(&mut out)?;
            out.write(&results.path("plan"))?;
        }
        BenchCommand::Sql { units, samples, keep, results } => {
            let mut out = BenchResults::new("sql", "cpu");
            super::bench_sql::bench_sql(units, samples, keep, &mut out)?;
            out.write(&results.path("sql"))?;
        }
        BenchCommand::Corruptions { images, reference_images, results } => {
            let mut out = BenchResults::new("corruptions", "cpu");
            super::bench_corruptions::bench_corruptions(images, reference_images, &mut out)?;
            out.write(&results.path("corruptions"))?;
        }
        BenchCommand::Serve { requests, clients, units, results } => {
            let mut out = BenchResults::new("serve", "cpu");
            super::bench_serve::bench_serve(requests, clients, units, &mut out)?;
            out.write(&results.path("serve"))?;
        }
        BenchCommand::Train { net, batch, batches, attack_steps, device, no_pytorch, repeat, child, results } => {
            configure_one_unit(threads, &device)?;
            let device = robbench_nn::parse_device(&device)?;
            let spec = net.spec()?;
            let (arch, channels, cells) = (&spec.arch, net.channels, net.cells);
            let ours = robbench_stages::train::benchmark_throughput(&spec, batch, batches, attack_steps, device)?;
            if child {
                println!("{}", serde_json::json!({ "images_per_second": ours }));
                return Ok(ExitCode::SUCCESS);
            }
            let setting = format!("arch {arch}, C={channels}, N={cells}, batch {batch}, PGD-{attack_steps}");
            println!("robbench (tch) on {}: {ours:.1} images/s  [{setting}]", robbench_nn::describe_device(device));
            let mut out = BenchResults::new("train", &device_name(device));
            out.note(format!("{setting}, {batches} timed batch(es) after one warm-up"));
            if no_pytorch {
                out.figure("training throughput, robbench (tch)", ours, "images/s");
            } else {
                let python = python();
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/stages/reference/python/bench_train.py");
                let device_name = if device.is_cuda() { "cuda" } else { "cpu" };
                // `lean`: the bare PGD + SGD step; `full`: also the unit's augmentation,
                // input normalisation, clean-accuracy pass and read-outs, as robbench does.
                // Each in the layouts an engineer tuning PyTorch would try; the
                // headline compares with the fastest setting that does robbench's work.
                let pytorch = |recipe: &str, layout: &str| {
                    let mut command = std::process::Command::new(&python);
                    command.args([
                        script,
                        &arch.to_string(),
                        &channels.to_string(),
                        &cells.to_string(),
                        "10",
                        &batch.to_string(),
                        &batches.to_string(),
                        &attack_steps.to_string(),
                        device_name,
                        recipe,
                        layout,
                    ]);
                    command.env("GLIBC_TUNABLES", robbench_nn::host_memory::GLIBC_TUNABLES);
                    child_json(command, &format!("the PyTorch benchmark ({python}; set ROBBENCH_PYTHON)"))
                };
                let mut strongest: Option<(f64, String, &str)> = None;
                for (recipe, what) in [("lean", "bare PGD+SGD step"), ("full", "the same work as robbench's step")] {
                    for layout in ["default", "channels_last", "compile"] {
                        let setting = format!("{what}, {layout} layout");
                        let result = match pytorch(recipe, layout) {
                            Ok(result) => result,
                            // torch.compile needs a working C++ toolchain for its CPU kernels.
                            Err(e) if layout == "compile" => {
                                println!("PyTorch 2.11 ({setting}): did not run: {e:#}");
                                out.note(format!("PyTorch 2.11 ({setting}) did not run here: {e:#}"));
                                continue;
                            }
                            Err(e) => return Err(e),
                        };
                        let theirs = result["images_per_second"].as_f64().unwrap_or(f64::NAN);
                        println!(
                            "PyTorch 2.11 on {} ({setting}): {theirs:.1} images/s; robbench / PyTorch = {:.2}",
                            result["device"],
                            ours / theirs
                        );
                        out.figure(format!("training throughput, PyTorch 2.11 ({setting})"), theirs, "images/s");
                        out.figure("training throughput, robbench (tch)", ours, "images/s")
                            .compared_with(format!("PyTorch 2.11, {setting} ({theirs:.1} images/s)"), ours / theirs);
                        if recipe == "full" && strongest.as_ref().is_none_or(|(best, ..)| theirs > *best) {
                            strongest = Some((theirs, setting, layout));
                        }
                    }
                }
                if let Some((theirs, setting, layout)) = strongest {
                    // More rounds of the two that the headline compares, one after the other.
                    let (mut robbench_runs, mut pytorch_runs) = (vec![ours], vec![theirs]);
                    for _ in 1..repeat {
                        robbench_runs.push(robbench_stages::train::benchmark_throughput(
                            &spec,
                            batch,
                            batches,
                            attack_steps,
                            device,
                        )?);
                        pytorch_runs.push(pytorch("full", layout)?["images_per_second"].as_f64().unwrap_or(f64::NAN));
                    }
                    let spread = |runs: &[f64]| runs.iter().map(|r| format!("{r:.1}")).collect::<Vec<_>>().join(", ");
                    out.note(format!(
                        "robbench against the strongest setting in {} round(s), images/s: robbench {}; PyTorch {}",
                        robbench_runs.len(),
                        spread(&robbench_runs),
                        spread(&pytorch_runs)
                    ));
                    let (ours, theirs) = (median(&mut robbench_runs), median(&mut pytorch_runs));
                    println!(
                        "against the strongest PyTorch setting ({setting}), medians of {} round(s): {ours:.1} / {theirs:.1} = {:.2}",
                        robbench_runs.len(),
                        ours / theirs
                    );
                    out.figure("training throughput, robbench / the strongest PyTorch setting", ours / theirs, "x")
                        .compared_with(format!("PyTorch 2.11, {setting} ({theirs:.1} images/s)"), ours / theirs)
                        .headline();
                }
            }
            out.write(&results.path("train"))?;
        }
        BenchCommand::Throughput { recipe, jobs, batch, batches, device, child, results } => {
            let args = super::throughput::ThroughputArgs { recipes: recipe, jobs, threads, batch, batches, device };
            if child {
                super::throughput::time_one_setting(&args)?;
            } else {
                let mut out = BenchResults::new("throughput", &device_name(robbench_nn::parse_device(&args.device)?));
                super::throughput::throughput(&args, &mut out)?;
                out.write(&results.path("throughput"))?;
            }
        }
        BenchCommand::Contention { net, batch, batches, busy, results } => {
            let args = super::throughput::ContentionArgs {
                arch: net.arch,
                channels: net.channels,
                cells: net.cells,
                batch,
                batches,
                busy,
            };
            let mut out = BenchResults::new("contention", "cpu");
            super::throughput::contention(&args, &mut out)?;
            out.write(&results.path("contention"))?;
        }
        BenchCommand::Ntk { net, samples, output, methods, device, profile, repeat, unit, child, results } => {
            configure_one_unit(threads, &device)?;
            // The parent's figures; a child prints its own as JSON.
            let runs = NtkRuns { methods: &methods, repeat: repeat.max(1), profile, unit };
            if let Some(out) = bench_ntk(&net, samples, output, runs, &device, child.as_deref())? {
                let name = out.bench.clone();
                out.write(&results.path(&name))?;
            }
        }
        BenchCommand::Autoattack { net, checkpoint, images, size, eps, device, results } => {
            configure_one_unit(threads, &device)?;
            let device = robbench_nn::parse_device(&device)?;
            let spec = net.spec()?;
            let t = robbench_stages::benchmark_autoattack(&spec, checkpoint.as_deref(), images, size, eps, device)?;
            let network = match &checkpoint {
                Some(path) => format!("checkpoint {}", path.display()),
                None => format!("arch {} at initialisation, C={}, N={}", spec.arch, net.channels, net.cells),
            };
            let per_thousand = t.seconds / t.images as f64 * 1000.0;
            println!(
                "AutoAttack standard (eps {eps}/255) on {}: {per_thousand:.1} s per 1,000 images [{network}, {images} images {size}x{size}, {:.1} s]",
                robbench_nn::describe_device(device),
                t.seconds
            );
            let left: Vec<String> = t.stages.iter().map(|(name, acc)| format!("{name} {acc:.3}")).collect();
            println!("accuracy left after each component: {}", left.join(", "));
            let mut out = BenchResults::new("autoattack", &device_name(device));
            out.figure(format!("standard AutoAttack, eps {eps}/255, per 1,000 images"), per_thousand, "s");
            out.figure(
                format!("standard AutoAttack, eps {eps}/255, {} images of {size}x{size}", t.images),
                t.seconds,
                "s",
            );
            out.note(format!("{network}; accuracy left after each component: {}", left.join(", ")));
            out.write(&results.path("autoattack"))?;
        }
        BenchCommand::Render(args) => {
            let readme = Some(args.readme.as_path()).filter(|p| *p != std::path::Path::new("-"));
            super::bench_results::render(&args.results, &args.out, readme)?
        }
    }
    Ok(ExitCode::SUCCESS)
}
