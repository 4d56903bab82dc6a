//! PyTorch's default initialisation of the same modules, drawn from a seeded
//! `robbench_rng::Rng` instead of libtorch's global generator.

use robbench_rng::Rng;
use tch::Tensor;

use crate::state::State;

/// Conv2d and Linear weights: `kaiming_uniform_(a = √5)`, whose bound
/// gain·√(3/fan_in) with gain = √(2/(1+5)) is 1/√fan_in; Linear bias:
/// U(−1/√fan_in, 1/√fan_in) with the weight's fan_in. BN weight 1, bias 0
/// and the running statistics are left as built.
pub fn initialise(state: &State, seed: u64) {
    let mut rng = Rng::derive(seed, "init", 0);
    let mut fill = |t: &Tensor, fan_in: i64| {
        let bound = 1.0 / (fan_in as f32).sqrt();
        let values = Tensor::from_slice(&rng.uniform_vec(t.numel(), -bound, bound))
            .view(t.size().as_slice())
            .to_device(t.device());
        tch::no_grad(|| t.shallow_clone().copy_(&values));
    };
    let mut last_fan_in = None;
    for (name, t) in state {
        if name.ends_with(".weight") && t.dim() > 1 {
            let fan_in = t.size()[1..].iter().product();
            fill(t, fan_in);
            last_fan_in = Some(fan_in);
        } else if name == "classifier.bias" {
            // `classifier.weight` comes just before it in state order.
            fill(t, last_fan_in.expect("classifier.weight precedes classifier.bias"));
        }
    }
}
