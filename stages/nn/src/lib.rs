//! NAS-Bench-201 TinyNetwork in tch, with PyTorch-compatible safetensors checkpoints.
