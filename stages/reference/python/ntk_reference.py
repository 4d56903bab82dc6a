"""Independent empirical-NTK reference with torch.func (jacrev + vmap + functional_call).

Usage: ntk_reference.py TENSORS.safetensors

The file holds a small conv net and its inputs:
  block{i}.conv.weight / .conv.bias          3x3 conv, padding 1, stride 1 for block 0 and 2 after
  block{i}.bn.weight / .bn.bias / .bn.running_mean / .bn.running_var   BatchNorm2d (eps 1e-5), eval mode
  fc.weight / fc.bias                        linear classifier after global average pooling
  x (n, C, H, W) inputs, labels (n,) int64

The network is rebuilt from torch.nn modules, evaluated in float64, and the per-sample
Jacobian of the logits with respect to every trainable parameter (conv, BN affine, fc)
is taken with torch.func. Prints JSON with three kernels:
  sum_of_logits  K_ij = <d sum_k f_k(x_i)/dθ, d sum_k f_k(x_j)/dθ>
  logit          K_ij = <d f_{y_i}(x_i)/dθ, d f_{y_j}(x_j)/dθ>
  per_logit      (n*K, n*K) block kernel, row i*K + k = sample i, logit k
"""

import json
import sys

import torch
from safetensors.torch import load_file
from torch import nn
from torch.func import functional_call, jacrev, vmap


def build(tensors):
    blocks = []
    i = 0
    while f"block{i}.conv.weight" in tensors:
        w = tensors[f"block{i}.conv.weight"]
        conv = nn.Conv2d(w.shape[1], w.shape[0], 3, stride=1 if i == 0 else 2, padding=1)
        bn = nn.BatchNorm2d(w.shape[0], eps=1e-5)
        blocks += [conv, bn, nn.ReLU()]
        i += 1
    fc_w = tensors["fc.weight"]
    model = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(fc_w.shape[1], fc_w.shape[0]))
    # Sequential names: block i has conv at 3i, bn at 3i+1; the linear layer is last.
    state = {}
    for j in range(i):
        for name in ["weight", "bias"]:
            state[f"{3 * j}.{name}"] = tensors[f"block{j}.conv.{name}"]
        for name in ["weight", "bias", "running_mean", "running_var"]:
            state[f"{3 * j + 1}.{name}"] = tensors[f"block{j}.bn.{name}"]
        state[f"{3 * j + 1}.num_batches_tracked"] = torch.tensor(0)
    state[f"{len(model) - 1}.weight"] = fc_w
    state[f"{len(model) - 1}.bias"] = tensors["fc.bias"]
    model.load_state_dict(state)
    return model.double().eval()


def main():
    tensors = load_file(sys.argv[1])
    model = build(tensors)
    x = tensors["x"].double()
    labels = tensors["labels"].long()
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def logits(p, xi):
        return functional_call(model, (p, buffers), (xi.unsqueeze(0),))[0]

    jac = vmap(jacrev(logits), in_dims=(None, 0))(params, x)  # name -> (n, K, *shape)
    n, k = x.shape[0], tensors["fc.weight"].shape[0]
    j = torch.cat([g.reshape(n, k, -1) for g in jac.values()], dim=2)  # (n, K, P)

    j_sum = j.sum(dim=1)
    j_label = j[torch.arange(n), labels]
    j_all = j.reshape(n * k, -1)
    out = {
        "num_params": int(j.shape[2]),
        "sum_of_logits": (j_sum @ j_sum.T).tolist(),
        "logit": (j_label @ j_label.T).tolist(),
        "per_logit": (j_all @ j_all.T).tolist(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
