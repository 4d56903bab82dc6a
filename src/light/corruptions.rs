//! `robbench corruptions`: one test image under every common corruption and
//! severity, as a picture to look at (is fog fog?) or as raw arrays for numpy.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use robbench_corruptions::{Corruption, Image, Severity, corrupt, grid_png};
use robbench_experiment::config::{DatasetName, Experiment};

use super::ConfigArgs;

#[derive(clap::Args)]
pub struct CorruptionsArgs {
    /// The dataset to take the image from (`[dataset]`; default: the embedded config's).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Index of the image in the dataset's test split.
    #[arg(long, default_value_t = 0)]
    pub image: usize,
    /// Seed of the random corruptions (default: the config's `evaluation.corruptions.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How many times each cell of the picture is enlarged (nearest neighbour).
    #[arg(long, default_value_t = 4)]
    pub zoom: usize,
    #[arg(long, value_enum, default_value_t = Format::Png)]
    pub format: Format,
    /// The PNG to write, or (npy) the directory for `clean.npy` and `<corruption>-<severity>.npy`.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// One picture: a row per corruption, the clean image then severities 1 to 5.
    Png,
    /// Every version as an H×W×C uint8 array (`numpy.load`).
    Npy,
}

pub fn corruptions(args: &CorruptionsArgs) -> Result<ExitCode> {
    let experiment: Experiment = args.config.load()?.typed("")?;
    experiment.validate()?;
    let image = test_image(&experiment, args.image)?;
    let seed = args.seed.unwrap_or(experiment.evaluation.corruptions.seed);
    match args.format {
        Format::Png => {
            ensure!(args.zoom >= 1, "--zoom must be at least 1");
            let png = grid_png(&image, seed, args.zoom)?;
            robbench_pipeline::store::write_atomic(&args.out, &png)?;
            println!(
                "{}: test image {} of {}, {} corruptions × severities 1-5 (seed {seed})",
                args.out.display(),
                args.image,
                experiment.dataset.name.as_str(),
                Corruption::ALL.len()
            );
        }
        Format::Npy => {
            std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
            write_npy(&args.out.join("clean.npy"), &image)?;
            for corruption in Corruption::ALL {
                for severity in Severity::ALL {
                    let corrupted = corrupt(&image, corruption, severity, seed)?;
                    write_npy(&args.out.join(format!("{corruption}-{severity}.npy")), &corrupted)?;
                }
            }
            println!(
                "{}: clean.npy and {} corrupted versions, {}×{}×3 uint8",
                args.out.display(),
                Corruption::ALL.len() * Severity::ALL.len(),
                image.height(),
                image.width()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Image `index` of the configured dataset's test split, as H×W×3.
fn test_image(experiment: &Experiment, index: usize) -> Result<Image> {
    let d = &experiment.dataset;
    if d.name == DatasetName::Synthetic {
        ensure!(
            index < d.test_size,
            "--image {index}: the synthetic test split has dataset.test_size = {} images",
            d.test_size
        );
    }
    let dataset = if d.name == DatasetName::Synthetic {
        robbench_data::synthetic(&robbench_data::SyntheticConfig {
            seed: d.seed,
            train: 0,
            test: index + 1,
            size: d.image_size,
            classes: d.classes,
        })
    } else {
        robbench_data::load(d.name.as_str(), std::path::Path::new(&d.root))?
    };
    let n = dataset.test.len();
    ensure!(index < n, "--image {index}: the test split of {} has {n} images (0 to {})", d.name.as_str(), n - 1);
    ensure!(
        dataset.channels == 3,
        "common corruptions are defined for RGB images; {} has {} channel(s)",
        d.name.as_str(),
        dataset.channels
    );
    let (h, w) = (dataset.height, dataset.width);
    let chw = &dataset.test.images[index * 3 * h * w..(index + 1) * 3 * h * w];
    let hwc = (0..h * w).flat_map(|p| (0..3).map(move |c| chw[c * h * w + p])).collect();
    Ok(Image::new(h, w, hwc)?)
}

/// An `.npy` file (format 1.0) of an H×W×3 uint8 array.
fn write_npy(path: &std::path::Path, image: &Image) -> Result<()> {
    let mut header =
        format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({}, {}, 3), }}", image.height(), image.width());
    // Magic (6) + version (2) + length (2) + header, padded with spaces to a
    // multiple of 64 and ended by a newline, as numpy writes it.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(image.pixels());
    robbench_pipeline::store::write_atomic(path, &bytes)
}
