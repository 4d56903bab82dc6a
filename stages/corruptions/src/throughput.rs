//! Timing every corruption and severity over a set of images, and a set of
//! synthetic images to time (or test) with when no dataset is at hand.

use std::time::Instant;

use robbench_rng::Rng;

use crate::{Corruption, CorruptionError, Image, Severity, corrupt};

/// What [`throughput`] measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Throughput {
    pub images: usize,
    /// Corrupted images made: images × 19 × 5.
    pub outputs: usize,
    pub seconds: f64,
    /// Seconds per corruption, all severities and images, in [`Corruption::ALL`]'s order.
    pub per_corruption: Vec<(Corruption, f64)>,
}

impl Throughput {
    pub fn outputs_per_second(&self) -> f64 {
        self.outputs as f64 / self.seconds
    }
}

/// Corrupts every image with every corruption at every severity, on this
/// thread, corruption by corruption (as the reference's script does), and
/// times it. Image `i` uses seed `seed + i`.
pub fn throughput(images: &[Image], seed: u64) -> Result<Throughput, CorruptionError> {
    let start = Instant::now();
    let mut per_corruption = Vec::with_capacity(Corruption::ALL.len());
    for corruption in Corruption::ALL {
        let t0 = Instant::now();
        for severity in Severity::ALL {
            for (i, image) in images.iter().enumerate() {
                std::hint::black_box(corrupt(image, corruption, severity, seed.wrapping_add(i as u64))?);
            }
        }
        per_corruption.push((corruption, t0.elapsed().as_secs_f64()));
    }
    Ok(Throughput {
        images: images.len(),
        outputs: images.len() * Corruption::ALL.len() * Severity::ALL.len(),
        seconds: start.elapsed().as_secs_f64(),
        per_corruption,
    })
}

/// `n` deterministic side×side images that look a little like photographs:
/// a smooth two-colour gradient, a few flat shapes with hard edges (a disc,
/// a rectangle, a stripe) and, in two images of three, mild pixel noise. Image `i` depends only on
/// (`seed`, `i`, `side`).
pub fn synthetic_images(n: usize, side: usize, seed: u64) -> Vec<Image> {
    (0..n)
        .map(|i| {
            let mut rng = Rng::derive(seed, "corruptions-synthetic", i as u64);
            let mut colour = || [0; 3].map(|_| rng.next_f64() * 255.0);
            let (a, b, disc, rect) = (colour(), colour(), colour(), colour());
            let s = side as f64;
            let (cx, cy, r) = (rng.next_f64() * s, rng.next_f64() * s, (0.15 + 0.2 * rng.next_f64()) * s);
            let (rx0, ry0) = (rng.next_f64() * s * 0.6, rng.next_f64() * s * 0.6);
            let (rx1, ry1) = (rx0 + s * (0.2 + 0.2 * rng.next_f64()), ry0 + s * (0.2 + 0.2 * rng.next_f64()));
            let angle = rng.next_f64() * std::f64::consts::PI;
            let stripe = rng.next_f64() * s;
            // Every third image is noiseless, so it has truly flat regions.
            let noise = if i % 3 == 0 { 0.0 } else { 6.0 };
            let mut pixels = Vec::with_capacity(side * side * 3);
            for y in 0..side {
                for x in 0..side {
                    let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
                    let t = (fx * angle.cos() + fy * angle.sin()) / (s * 1.5) + 0.25;
                    let mut p: [f64; 3] = [0, 1, 2].map(|c| a[c] * (1.0 - t) + b[c] * t);
                    if ((fx * angle.sin() - fy * angle.cos()) - stripe).abs() < s * 0.04 {
                        p = [0, 1, 2].map(|c| 0.5 * p[c]);
                    }
                    if (fx - cx).powi(2) + (fy - cy).powi(2) < r * r {
                        p = disc;
                    }
                    if (rx0..rx1).contains(&fx) && (ry0..ry1).contains(&fy) {
                        p = rect;
                    }
                    for v in p {
                        pixels.push((v + noise * rng.normal()).round().clamp(0.0, 255.0) as u8);
                    }
                }
            }
            Image::new(side, side, pixels).expect("side × side × 3 bytes")
        })
        .collect()
}
