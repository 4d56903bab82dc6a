"""Independent PyTorch TinyNetwork (NAS-Bench-201) for cross-checking robbench-nn.

Written from the NAS-Bench-201 model definition: module names reproduce the
official state_dict() names, so the Rust checkpoint must load with strict=True.

usage: nb201_model.py CHECKPOINT INPUT  -> JSON on stdout:
  eval_logits, train_logits (after loading a fresh copy), and every BN buffer
  (running_mean, running_var, num_batches_tracked) after that one
  train-mode forward, by state_dict() name; calibrated_eval_logits: eval mode
  after BN running statistics were reset and set, by a cumulative average
  (momentum None), to those of one train-mode pass over INPUT.
"""
import json
import sys

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, kernel, stride):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(name, c):
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(name)


def parse(arch):
    edges = []
    for node, group in enumerate(arch.split("+"), start=1):
        for token in group.strip("|").split("|"):
            op, source = token.split("~")
            edges.append((node, int(source), op))
    return edges


class Cell(nn.Module):
    def __init__(self, arch, c):
        super().__init__()
        self.edges = parse(arch)
        self.layers = nn.ModuleList([make_op(op, c) for _, _, op in self.edges])

    def forward(self, x):
        nodes = [x]
        for node in (1, 2, 3):
            nodes.append(sum(self.layers[j](nodes[src]) for j, (to, src, _) in enumerate(self.edges) if to == node))
        return nodes[-1]


class Reduction(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


class TinyNetwork(nn.Module):
    def __init__(self, arch, C, N, classes):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells, c_prev = [], C
        for stage in range(3):
            c = C * 2**stage
            if stage > 0:
                cells.append(Reduction(c_prev, c))
            cells.extend(Cell(arch, c) for _ in range(N))
            c_prev = c
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(c_prev, classes)

    def forward(self, x):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.lastact(x)
        return self.classifier(x.mean(dim=(2, 3)))


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
