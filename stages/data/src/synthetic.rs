//! The generated default dataset.
//!
//! Each image is a cluttered background with one localised grating patch
//! whose **orientation and spatial frequency** encode the class (classes
//! cycle through 5 orientations × 2 frequencies, then further frequencies).
//! Position, phase, contrast and colour of the patch are random, so neither
//! a pixel's value nor the class-mean image tells the class: a model needs
//! local oriented-frequency detectors (what convolutions learn), and
//! architectures without them do worse. The patch contrast (amplitude
//! 0.2–0.4 of the pixel range) is several times an 8/255 L∞ perturbation, so
//! adversarial examples exist and robust accuracy sits well below clean.
//!
//! Background: a random grey level, three soft blobs of ±0.15, and pixel
//! noise of standard deviation 0.02. Image i of a split is generated from
//! `Rng::derive(seed, split, i)` alone, so a dataset is deterministic in its
//! seed and a larger one extends a smaller one.

use std::f64::consts::PI;

use robbench_rng::Rng;

use crate::{Dataset, Split};

#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticConfig {
    pub seed: u64,
    pub train: usize,
    pub test: usize,
    /// Height = width: 32 or 16.
    pub size: usize,
    pub classes: usize,
}

pub fn synthetic(cfg: &SyntheticConfig) -> Dataset {
    let split = |name: &str, n: usize| {
        let mut out = Split::default();
        for i in 0..n {
            let label = i % cfg.classes;
            out.images.extend(image(cfg, label, &mut Rng::derive(cfg.seed, name, i as u64)));
            out.labels.push(label as u16);
        }
        out
    };
    Dataset {
        name: "synthetic".into(),
        classes: cfg.classes,
        channels: 3,
        height: cfg.size,
        width: cfg.size,
        train: split("synthetic-train", cfg.train),
        test: split("synthetic-test", cfg.test),
    }
}

/// (orientation in radians, frequency in cycles per pixel) of a class.
fn class_pattern(label: usize, size: usize) -> (f64, f64) {
    let orientation = PI * (label % 5) as f64 / 5.0;
    let base = if size <= 16 { 0.16 } else { 0.12 };
    let frequency = base * (1.0 + 0.8 * (label / 5) as f64);
    (orientation, frequency)
}

fn image(cfg: &SyntheticConfig, label: usize, rng: &mut Rng) -> Vec<u8> {
    let s = cfg.size;
    let mut pixels = vec![0f64; 3 * s * s];
    // Background: grey level with a slight tint, soft blobs.
    let grey = 0.35 + 0.3 * rng.next_f64();
    let tint: Vec<f64> = (0..3).map(|_| grey + 0.08 * (rng.next_f64() - 0.5)).collect();
    let blobs: Vec<(f64, f64, f64, f64)> = (0..3)
        .map(|_| {
            (
                rng.next_f64() * s as f64,
                rng.next_f64() * s as f64,
                0.3 * (rng.next_f64() - 0.5),
                s as f64 * (0.12 + 0.15 * rng.next_f64()),
            )
        })
        .collect();
    // The class patch.
    let (theta, freq) = class_pattern(label, s);
    let theta = theta + 0.1 * (rng.next_f64() - 0.5);
    let radius = s as f64 * 0.3;
    let cx = radius + rng.next_f64() * (s as f64 - 2.0 * radius);
    let cy = radius + rng.next_f64() * (s as f64 - 2.0 * radius);
    let phase = 2.0 * PI * rng.next_f64();
    let amplitude = 0.2 + 0.2 * rng.next_f64();
    let colour: Vec<f64> = (0..3).map(|_| 0.5 + 0.5 * rng.next_f64()).collect();
    let (ct, st) = (theta.cos(), theta.sin());
    for y in 0..s {
        for x in 0..s {
            let (fx, fy) = (x as f64, y as f64);
            let blob: f64 = blobs
                .iter()
                .map(|(bx, by, a, r)| a * (-((fx - bx).powi(2) + (fy - by).powi(2)) / (2.0 * r * r)).exp())
                .sum();
            let d2 = (fx - cx).powi(2) + (fy - cy).powi(2);
            let envelope = (-d2 / (2.0 * (radius / 1.6).powi(2))).exp();
            let wave = (2.0 * PI * freq * (fx * ct + fy * st) + phase).cos();
            for c in 0..3 {
                let noise = 0.02 * rng.normal();
                pixels[(c * s + y) * s + x] = tint[c] + blob + amplitude * colour[c] * envelope * wave + noise;
            }
        }
    }
    pixels.iter().map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect()
}
