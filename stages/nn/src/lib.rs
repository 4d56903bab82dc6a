//! NAS-Bench-201's TinyNetwork in tch, built so faithfully that its weights
//! load into the reference PyTorch model (`xautodl`'s `TinyNetwork`) and give
//! the same logits, in eval and in train mode.
//!
//! Checkpoints are safetensors files with the PyTorch `state_dict()` names
//! plus metadata (`arch`, `C`, `N`, `classes`, `mean`, `std`).

mod batchnorm;
mod checkpoint;
mod device;
pub mod host_memory;
mod init;
mod network;
mod ops;
mod spec;
mod state;
mod trace;

pub use device::{describe_device, parse_device, test_device};
pub use network::TinyNetwork;
pub use spec::NetworkSpec;
pub use trace::{PER_SAMPLE_WEIGHT_MIN_POSITIONS, Trace, TracedLayer};

/// Everything that can go wrong building, loading or placing a network.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// A device name other than auto, cpu, cuda or cuda:N.
    #[error("bad device `{0}`: expected auto, cpu, cuda or cuda:N")]
    BadDevice(String),
    /// A CUDA device that libtorch does not see.
    #[error("device `{0}` is not available (libtorch sees {1} CUDA device(s))")]
    DeviceUnavailable(String, usize),
    /// An unreadable or inconsistent checkpoint; `reason` names the tensor or
    /// metadata key at fault.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: String, reason: String },
    /// A network spec that cannot be built.
    #[error("network spec: {0}")]
    Spec(String),
}
