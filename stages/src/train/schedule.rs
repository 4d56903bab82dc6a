//! PyTorch's `OneCycleLR` with its defaults (pct_start 0.3, cosine
//! annealing, div_factor 25, final_div_factor 1e4, and momentum cycled
//! between 0.95 and 0.85), the schedule NAS-RobBench-201 trains with.

use std::f64::consts::PI;

pub struct OneCycle {
    max_lr: f64,
    total_steps: usize,
}

const PCT_START: f64 = 0.3;
const DIV_FACTOR: f64 = 25.0;
const FINAL_DIV_FACTOR: f64 = 1e4;
const BASE_MOMENTUM: f64 = 0.85;
const MAX_MOMENTUM: f64 = 0.95;

fn cos_anneal(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0)
}

impl OneCycle {
    pub fn new(max_lr: f64, total_steps: usize) -> OneCycle {
        OneCycle { max_lr, total_steps }
    }

    /// (learning rate, momentum) used by optimizer step `step` (0-based).
    pub fn at(&self, step: usize) -> (f64, f64) {
        let initial = self.max_lr / DIV_FACTOR;
        let min = initial / FINAL_DIV_FACTOR;
        let warm_end = PCT_START * self.total_steps as f64 - 1.0;
        let last = self.total_steps as f64 - 1.0;
        let s = step as f64;
        if s <= warm_end {
            let pct = s / warm_end;
            (cos_anneal(initial, self.max_lr, pct), cos_anneal(MAX_MOMENTUM, BASE_MOMENTUM, pct))
        } else {
            let pct = (s - warm_end) / (last - warm_end);
            (cos_anneal(self.max_lr, min, pct), cos_anneal(BASE_MOMENTUM, MAX_MOMENTUM, pct))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_pytorch_one_cycle_values() {
        // torch.optim.lr_scheduler.OneCycleLR(SGD(momentum=0.9), 0.1, total_steps=100):
        // lr at steps 0, 29, 50, 99 and momentum at 0 and 29.
        let s = OneCycle::new(0.1, 100);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.max(1e-12) + 1e-15;
        assert!(close(s.at(0).0, 0.004));
        assert!(close(s.at(29).0, 0.1));
        assert!(close(s.at(99).0, 0.004 / 1e4));
        assert!(close(s.at(0).1, 0.95) && close(s.at(29).1, 0.85) && close(s.at(99).1, 0.95));
        assert!(close(s.at(50).0, 0.0793893450575732), "{}", s.at(50).0);
    }
}
