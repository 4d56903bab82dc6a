"""PyTorch TinyNetwork (NAS-Bench-201) for cross-checking robbench-nn.

The network is the Python package's (python/robbench/nb201.py, written from
the NAS-Bench-201 model definition with the official state_dict() names),
loaded by path so the check needs no installed robbench; the Rust checkpoint
must load into it with strict=True.

usage: nb201_model.py CHECKPOINT INPUT  -> JSON on stdout:
  eval_logits, train_logits (after loading a fresh copy), and every BN buffer
  (running_mean, running_var, num_batches_tracked) after that one
  train-mode forward, by state_dict() name; calibrated_eval_logits: eval mode
  after BN running statistics were reset and set, by a cumulative average
  (momentum None), to those of one train-mode pass over INPUT.
"""
import importlib.util
import json
import pathlib
import sys

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file

_NB201 = pathlib.Path(__file__).resolve().parents[3] / "python" / "robbench" / "nb201.py"
_spec = importlib.util.spec_from_file_location("robbench_nb201", _NB201)
nb201 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nb201)
TinyNetwork = nb201.TinyNetwork



def load(path):
    meta = safe_open(path, "pt").metadata()
    net = TinyNetwork(meta["arch"], int(meta["C"]), int(meta["N"]), int(meta["classes"]))
    net.load_state_dict(load_file(path), strict=True)
    mean = torch.tensor(json.loads(meta["mean"]), dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(json.loads(meta["std"]), dtype=torch.float32).view(1, 3, 1, 1)
    return net, mean, std


def main():
    checkpoint, inputs = sys.argv[1], sys.argv[2]
    x = load_file(inputs)["x"]
    net, mean, std = load(checkpoint)
    net.eval()
    with torch.no_grad():
        eval_logits = net((x - mean) / std)
    net, mean, std = load(checkpoint)
    net.train()
    with torch.no_grad():
        train_logits = net((x - mean) / std)
    stats = {k: v.tolist() for k, v in net.named_buffers()}
    calibrated, mean, std = load(checkpoint)
    for m in calibrated.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    calibrated.train()
    with torch.no_grad():
        calibrated((x - mean) / std)
        calibrated.eval()
        calibrated_eval_logits = calibrated((x - mean) / std)
    out = {
        "eval_logits": eval_logits.tolist(),
        "train_logits": train_logits.tolist(),
        "calibrated_eval_logits": calibrated_eval_logits.tolist(),
        "stats": stats,
        "param_count": sum(p.numel() for p in net.parameters()),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
