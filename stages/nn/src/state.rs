//! A module's tensors under their PyTorch `state_dict()` names, the one
//! currency of batch norm, the cell operations, initialisation and
//! checkpoints.

use tch::Tensor;

/// (name, tensor) pairs of a `state_dict()`, in its order.
pub type State = Vec<(String, Tensor)>;
