//! `robbench bench throughput` (networks per hour) and `robbench bench
//! contention` (a unit's time with and without a competing busy process).

use std::num::NonZeroUsize;
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;

use anyhow::{Context, Result};
use clap::ValueEnum;
use robbench_pipeline::Config;
use robbench_pipeline::parallelism::{self, CpuBudget, DeviceKind, Jobs};
use robbench_space::{ModelShape, Space};
use robbench_stages::config::{DatasetConfig, ModelConfig, TrainConfig};
use robbench_stages::train::{TimedTraining, time_training};

use super::bench_results::BenchResults;

/// NAS-RobBench-201: every isomorphism class of the space, three seeds.
const NB201_ARCHITECTURES: usize = 6_466;
const NB201_SEEDS: usize = 3;
/// The paper's compute for those trainings: about 107,000 T4 GPU-hours.
const NB201_T4_GPU_HOURS: f64 = 107_000.0;
/// Images in the CIFAR-10 training split.
const CIFAR10_TRAIN_IMAGES: usize = 50_000;

/// The training recipes `bench throughput` can time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RecipeName {
    /// configs/default.toml (the embedded default experiment).
    Default,
    /// NAS-RobBench-201 on CIFAR-10: C=16, N=5, 50 epochs, PGD-7, batch 256.
    Nasrobbench201,
}

struct Recipe {
    model: ModelConfig,
    train: TrainConfig,
    image_size: i64,
    train_images: usize,
}

impl Recipe {
    fn load(name: RecipeName) -> Result<Recipe> {
        Ok(match name {
            RecipeName::Default => {
                let config = Config::from_toml_str(robbench_stages::DEFAULT_CONFIG, "configs/default.toml (embedded)")?;
                let dataset: DatasetConfig = config.typed("dataset")?;
                Recipe {
                    model: config.typed("model")?,
                    train: config.typed("train")?,
                    image_size: dataset.image_size as i64,
                    train_images: dataset.train_size,
                }
            }
            // The config types default to the paper's recipe.
            RecipeName::Nasrobbench201 => Recipe {
                model: ModelConfig::default(),
                train: TrainConfig::default(),
                image_size: 32,
                train_images: CIFAR10_TRAIN_IMAGES,
            },
        })
    }
}

/// The isomorphism-class representative whose FLOPs are closest to the
/// mean over all of them: if a training step costs a + b·FLOPs, its time is
/// the space's mean time.
fn mean_cost_architecture() -> (usize, f64, f64) {
    let space = Space::nb201();
    let shape = ModelShape::nb201(10, 32);
    let flops: Vec<(usize, f64)> = space
        .representatives()
        .into_iter()
        .map(|i| (i, robbench_space::cost(&space.archs()[i], &shape).flops))
        .collect();
    let mean = flops.iter().map(|f| f.1).sum::<f64>() / flops.len() as f64;
    let (index, closest) = flops
        .into_iter()
        .min_by(|a, b| (a.1 - mean).abs().total_cmp(&(b.1 - mean).abs()))
        .expect("the space is not empty");
    (index, closest, mean)
}

pub struct ThroughputArgs {
    pub recipes: Vec<RecipeName>,
    pub jobs: Vec<Jobs>,
    pub threads: Option<NonZeroUsize>,
    pub batch: Option<usize>,
    pub batches: usize,
    pub device: String,
}

/// The architecture every recipe is timed on, as a network of `recipe`'s shape.
fn timed_network(recipe: &Recipe) -> Result<robbench_nn::NetworkSpec> {
    Ok(robbench_nn::NetworkSpec {
        arch: Space::nb201().arch(mean_cost_architecture().0)?,
        channels: recipe.model.channels,
        cells_per_stage: recipe.model.cells,
        classes: 10,
        mean: vec![0.49, 0.48, 0.45],
        std: vec![0.25, 0.24, 0.26],
    })
}

fn timed_training(recipe: &Recipe, args: &ThroughputArgs) -> TimedTraining {
    TimedTraining {
        batch: args.batch.unwrap_or(recipe.train.batch_size),
        batches: args.batches,
        attack_steps: recipe.train.attack.steps,
        image_size: recipe.image_size,
    }
}

/// Times every recipe at every `--jobs` setting, each setting in its own
/// process: libgomp takes its wait policy and thread count from the
/// environment when libtorch loads, so only a fresh process can be set up
/// as `robbench run --jobs N` sets itself up (a 2-thread unit in a process
/// set up for single-threaded ones runs at about half its speed).
pub fn throughput(args: &ThroughputArgs, out: &mut BenchResults) -> Result<()> {
    let device = robbench_nn::parse_device(&args.device)?;
    let kind = if device.is_cuda() { DeviceKind::Cuda } else { DeviceKind::Cpu };
    let budget = CpuBudget::detect()?;
    let (arch_index, flops, mean_flops) = mean_cost_architecture();
    let arch = Space::nb201().arch(arch_index)?;
    let device_name = if device.is_cuda() { robbench_nn::describe_device(device) } else { "cpu".to_string() };
    let setting = format!(
        "architecture {arch_index} {arch} ({flops:.1} MFLOPs at C=16 N=5 32x32, the space's mean is {mean_flops:.1}); each --jobs setting in its own process"
    );
    println!("{device_name} on {budget}; {setting}");
    out.note(format!("{budget}; {setting}"));
    let trainings = NB201_ARCHITECTURES * NB201_SEEDS;
    for &name in &args.recipes {
        let recipe = Recipe::load(name)?;
        let timed = timed_training(&recipe, args);
        let images_per_network = recipe.train.epochs * recipe.train_images;
        let described = format!(
            "recipe {name:?}: C={} N={} {}x{} PGD-{} {} epochs x {} images; timed: {} batch(es) of {} per unit",
            recipe.model.channels,
            recipe.model.cells,
            recipe.image_size,
            recipe.image_size,
            timed.attack_steps,
            recipe.train.epochs,
            recipe.train_images,
            timed.batches,
            timed.batch
        );
        println!("{described}");
        out.note(described);
        let mut done = Vec::new();
        for &jobs in &args.jobs {
            let p = parallelism::choose(&budget, jobs, args.threads, kind);
            if done.contains(&(p.jobs, p.threads)) {
                println!("  --jobs {jobs:<5} = {} x {} thread(s), timed above", p.jobs, p.threads);
                continue;
            }
            done.push((p.jobs, p.threads));
            let images_per_second = time_in_child(args, name, jobs)?;
            let networks_per_hour = images_per_second * 3600.0 / images_per_network as f64;
            let mut line = format!(
                "  --jobs {jobs:<5} = {} x {} thread(s): {images_per_second:8.1} images/s, {networks_per_hour:10.3} networks/h",
                p.jobs, p.threads
            );
            let what = format!("recipe {name:?}, --jobs {jobs} ({} x {} thread(s))", p.jobs, p.threads);
            out.figure(format!("{what}: training throughput"), images_per_second, "images/s");
            out.figure(format!("{what}: networks trained per hour"), networks_per_hour, "networks/h");
            if name == RecipeName::Nasrobbench201 {
                let hours = trainings as f64 / networks_per_hour;
                line += &format!(
                    "; {trainings} trainings: {hours:.0} machine-hours (paper: ~{NB201_T4_GPU_HOURS:.0} T4 GPU-hours)"
                );
                out.figure(format!("{what}: machine-hours for {trainings} trainings"), hours, "h").compared_with(
                    format!("the paper's ~{NB201_T4_GPU_HOURS:.0} T4 GPU-hours"),
                    hours / NB201_T4_GPU_HOURS,
                );
            }
            println!("{line}");
        }
    }
    println!("(training only, extrapolated from the timed batches; evaluation and NTK not included)");
    out.note("training only, extrapolated from the timed batches; evaluation and NTK not included");
    Ok(())
}

/// Runs `bench throughput --child` for one recipe and one `--jobs` setting
/// and returns the images per second of all its units together.
fn time_in_child(args: &ThroughputArgs, recipe: RecipeName, jobs: Jobs) -> Result<f64> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["bench", "throughput", "--child", "--device", &args.device, "--batches", &args.batches.to_string()])
        .args(["--recipe", recipe.to_possible_value().expect("no recipe is skipped").get_name()])
        .args(["--jobs", &jobs.to_string()]);
    if let Some(batch) = args.batch {
        command.args(["--batch", &batch.to_string()]);
    }
    if let Some(threads) = args.threads {
        command.args(["--threads", &threads.to_string()]);
    }
    let result = super::bench_process::child_json(command, &format!("timing {recipe:?} with --jobs {jobs}"))?;
    result["images_per_second"].as_f64().context("the child's JSON has no images_per_second")
}

/// The child's side: the one recipe and `--jobs` setting of `args`, with
/// this process set up for it, printed as JSON.
pub fn time_one_setting(args: &ThroughputArgs) -> Result<()> {
    let (&[name], &[jobs]) = (args.recipes.as_slice(), args.jobs.as_slice()) else {
        anyhow::bail!("--child times exactly one --recipe at one --jobs setting");
    };
    let p = super::parallel::configure(jobs, args.threads, super::parallel::device_kind(&args.device)?)?;
    let device = robbench_nn::parse_device(&args.device)?;
    let recipe = Recipe::load(name)?;
    let spec = timed_network(&recipe)?;
    let timed = timed_training(&recipe, args);
    let barrier = Barrier::new(p.jobs);
    let seconds: Vec<f64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..p.jobs)
            .map(|_| {
                scope.spawn(|| {
                    tch::set_num_threads(p.threads as i32);
                    time_training(&spec, &timed, device, || {
                        barrier.wait();
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a timing thread panicked")).collect::<Result<_>>()
    })?;
    let wall = seconds.iter().copied().fold(0.0, f64::max);
    let images_per_second = (p.jobs * timed.batches * timed.batch) as f64 / wall;
    println!("{}", serde_json::json!({ "images_per_second": images_per_second }));
    Ok(())
}

pub struct ContentionArgs {
    pub arch: String,
    pub channels: i64,
    pub cells: i64,
    pub batch: usize,
    pub batches: usize,
    pub busy: Option<usize>,
}

/// Busy-looping competitor processes, killed when dropped.
struct Competitors(Vec<Child>);

impl Competitors {
    fn start(count: usize) -> Result<Competitors> {
        let mut children = Competitors(Vec::new());
        for _ in 0..count {
            children.0.push(
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .stdout(Stdio::null())
                    .spawn()
                    .context("cannot start a busy `sh` process")?,
            );
        }
        Ok(children)
    }
}

impl Drop for Competitors {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `robbench bench train --child` (robbench alone, no PyTorch) in a
/// child process with `env` and returns its images per second.
fn child_throughput(args: &ContentionArgs, threads: usize, env: &[(&str, String)]) -> Result<f64> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["bench", "train", "--child", "--device", "cpu", "--arch", &args.arch])
        .args(["--channels", &args.channels.to_string(), "--cells", &args.cells.to_string()])
        .args(["--batch", &args.batch.to_string(), "--batches", &args.batches.to_string()])
        .args(["--threads", &threads.to_string()])
        .env_remove("GOMP_SPINCOUNT")
        .envs(env.iter().map(|(k, v)| (k, v)));
    let result = super::bench_process::child_json(command, &format!("bench train with {threads} thread(s)"))?;
    result["images_per_second"].as_f64().context("bench train's JSON has no images_per_second")
}

pub fn contention(args: &ContentionArgs, out: &mut BenchResults) -> Result<()> {
    let budget = CpuBudget::detect()?;
    let cpus = budget.cpus();
    let busy = args.busy.unwrap_or(cpus);
    let auto = parallelism::choose(&budget, Jobs::Auto, None, DeviceKind::Cpu);
    let passive =
        |threads: usize| vec![("OMP_WAIT_POLICY", "PASSIVE".to_string()), ("OMP_NUM_THREADS", threads.to_string())];
    // libgomp's behaviour when OMP_WAIT_POLICY is unset: spin 300,000 rounds
    // before sleeping (the default of every robbench before this policy).
    let spinning = |threads: usize| {
        vec![
            ("OMP_WAIT_POLICY", "ACTIVE".to_string()),
            ("GOMP_SPINCOUNT", "300000".to_string()),
            ("OMP_NUM_THREADS", threads.to_string()),
        ]
    };
    // Passive, but a team's idle threads spin briefly at each barrier first.
    let short_spin = |threads: usize| {
        let mut env = passive(threads);
        env.push(("GOMP_SPINCOUNT", super::parallel::SHORT_SPIN.to_string()));
        env
    };
    let scenarios = [
        (format!("--jobs auto unit: {} thread(s), passive", auto.threads), auto.threads, passive(auto.threads)),
        (format!("--jobs 1 unit: {cpus} thread(s), passive"), cpus, passive(cpus)),
        (format!("--jobs 1 unit: {cpus} thread(s), short spin"), cpus, short_spin(cpus)),
        (format!("before the policy: {cpus} thread(s), spinning"), cpus, spinning(cpus)),
    ];
    let setting = format!(
        "one training unit (arch {}, C={}, N={}, batch {}, PGD-7, {} batches) alone and with {busy} busy process(es), on {budget}",
        args.arch, args.channels, args.cells, args.batch, args.batches
    );
    println!("{setting}");
    out.note(setting);
    for (label, threads, env) in &scenarios {
        let alone = child_throughput(args, *threads, env)?;
        let contended = {
            let _competitors = Competitors::start(busy)?;
            child_throughput(args, *threads, env)?
        };
        println!(
            "  {label:<42} alone {alone:6.1} images/s, contended {contended:6.1} images/s: {:.2}x the time",
            alone / contended
        );
        out.figure(format!("{label}: alone"), alone, "images/s");
        out.figure(format!("{label}: next to {busy} busy process(es)"), contended, "images/s");
        out.figure(format!("{label}: time next to busy processes / time alone"), alone / contended, "x");
    }
    Ok(())
}
