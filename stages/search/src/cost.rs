//! What a simulated query costs.

use serde::{Deserialize, Serialize};

/// Simulated cost of evaluating one architecture: training it with the
/// recipe, from its FLOPs (forward + backward ≈ 3 forward passes, each PGD
/// step one more forward and backward) at an effective GPU throughput.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostModel {
    pub epochs: f64,
    /// PGD steps per training batch (0 for standard training).
    pub attack_steps: f64,
    pub train_images: f64,
    /// Sustained TFLOP/s of the simulated GPU.
    pub tflops: f64,
}

impl Default for CostModel {
    /// NAS-RobBench-201's recipe on CIFAR-10: 50 epochs of 7-step PGD training on 50,000 images.
    fn default() -> CostModel {
        CostModel { epochs: 50.0, attack_steps: 7.0, train_images: 50_000.0, tflops: 10.0 }
    }
}

impl CostModel {
    /// GPU-hours to train a network of `mflops` million multiply-accumulates per image.
    pub fn gpu_hours(&self, mflops: f64) -> f64 {
        let flops_per_pass = 2.0 * mflops * 1e6;
        let passes = 3.0 * (1.0 + self.attack_steps) * self.epochs * self.train_images;
        flops_per_pass * passes / (self.tflops * 1e12) / 3600.0
    }
}
