//! NAS-Bench-201's TinyNetwork in tch, built so faithfully that its weights
//! load into the reference PyTorch model (`xautodl`'s `TinyNetwork`) and give
//! the same logits, in eval and in train mode.
//!
//! Checkpoints are safetensors files with the PyTorch `state_dict()` names
//! plus metadata (`arch`, `C`, `N`, `classes`, `mean`, `std`).

mod batchnorm;
mod checkpoint;
mod device;
mod network;

pub use device::{describe_device, parse_device};
pub use network::{NetworkSpec, TinyNetwork};

#[derive(Debug, thiserror::Error)]
pub enum NnError {
    #[error("bad device `{0}`: expected auto, cpu, cuda or cuda:N")]
    BadDevice(String),
    #[error("device `{0}` is not available (libtorch sees {1} CUDA device(s))")]
    DeviceUnavailable(String, usize),
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: String, reason: String },
    #[error("network spec: {0}")]
    Spec(String),
}
