"""NAS-Bench-201's TinyNetwork in PyTorch, with the official ``state_dict()``
names, so a robbench checkpoint loads into it with ``strict=True``.

Written from the NAS-Bench-201 model definition (xautodl's ``infer.tiny``):
stem, three stages of N cells with a residual reduction block between them,
BN + ReLU, global average pooling and a linear classifier. This file imports
nothing from robbench, so the cross-check tests of the Rust network
(stages/reference/python/nb201_model.py) load it by path.

Needs torch and safetensors; ``robbench.model`` imports it only when asked.
"""

from __future__ import annotations

import json

import torch
import torch.nn as nn

#: NAS-Bench-201's operations, in its order.
OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


class ReLUConvBN(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
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


def make_op(name: str, c: int) -> nn.Module:
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
    raise ValueError(f"unknown NAS-Bench-201 operation `{name}` (operations: {', '.join(OPS)})")


def parse(arch: str) -> list[tuple[int, int, str]]:
    """The edges ``(to, from, op)`` of a cell string ``|op~0|+|op~0|op~1|+|…|``."""
    edges = []
    for node, group in enumerate(arch.split("+"), start=1):
        for token in group.strip("|").split("|"):
            op, source = token.split("~")
            edges.append((node, int(source), op))
    return edges


class Cell(nn.Module):
    def __init__(self, arch: str, c: int):
        super().__init__()
        self.edges = parse(arch)
        self.layers = nn.ModuleList([make_op(op, c) for _, _, op in self.edges])

    def forward(self, x):
        nodes = [x]
        for node in (1, 2, 3):
            nodes.append(sum(self.layers[j](nodes[src]) for j, (to, src, _) in enumerate(self.edges) if to == node))
        return nodes[-1]


class Reduction(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


class TinyNetwork(nn.Module):
    """The NAS-Bench-201 network of cell ``arch``, ``C`` channels, ``N`` cells
    per stage and ``classes`` outputs; ``forward`` returns the logits.

    With ``mean`` and ``std`` (per channel) the network normalises its input
    itself, so it takes pixels in [0, 1]; they are buffers outside the
    ``state_dict()``, which keeps the official names."""

    def __init__(self, arch: str, C: int, N: int, classes: int, mean=None, std=None):
        super().__init__()
        self.arch = arch
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
        self.normalise = mean is not None
        if self.normalise:
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    def forward(self, x):
        if self.normalise:
            x = (x - self.mean) / self.std
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.lastact(x)
        return self.classifier(x.mean(dim=(2, 3)))


def load(path, normalise: bool = True) -> TinyNetwork:
    """The network of a robbench checkpoint (safetensors with metadata
    ``arch``, ``C``, ``N``, ``classes``, ``mean``, ``std``), weights loaded
    strictly (every name and shape must match), in eval mode. With
    ``normalise`` it takes pixels in [0, 1]; without, normalised inputs."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    missing = [k for k in ("arch", "C", "N", "classes", "mean", "std") if k not in (meta or {})]
    if missing:
        raise ValueError(f"{path} is not a robbench checkpoint: its metadata lacks {', '.join(missing)}")
    stats = (json.loads(meta["mean"]), json.loads(meta["std"])) if normalise else (None, None)
    net = TinyNetwork(meta["arch"], int(meta["C"]), int(meta["N"]), int(meta["classes"]), *stats)
    net.load_state_dict(load_file(str(path)), strict=True)
    return net.eval()
