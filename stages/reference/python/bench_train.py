"""The NAS-RobBench-201 training step in PyTorch, timed: PGD-k generated in
eval mode (eps 8/255, step 2/255, random start), then an SGD step on the
adversarial batch in train mode. Used by `robbench bench train` for the
Rust/PyTorch throughput ratio.

With RECIPE `full` the step also does what a robbench training unit does
besides: random crop (zero padding 4) and horizontal flip per image, input
normalisation inside every forward pass, the clean-accuracy forward pass and
the loss/accuracy read-outs. `lean` (the default) is the bare step.

LAYOUT is what an engineer tuning PyTorch would try: `default` (NCHW),
`channels_last` (the network and its inputs in NHWC, the one-line change
that speeds up convolutions on CPU), or `compile` (torch.compile of the
network, default mode; its compilation happens in the untimed warm-up step).

usage: bench_train.py ARCH C N CLASSES BATCH BATCHES STEPS DEVICE [lean|full] [default|channels_last|compile]
       -> JSON {"images_per_second": ..., "device": ..., "layout": ...}
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from nb201_model import TinyNetwork  # noqa: E402


def main():
    arch, C, N, classes, batch, batches, steps, device = sys.argv[1:9]
    full = len(sys.argv) > 9 and sys.argv[9] == "full"
    layout = sys.argv[10] if len(sys.argv) > 10 else "default"
    if layout not in ("default", "channels_last", "compile"):
        sys.exit(f"unknown layout {layout!r}: expected default, channels_last or compile")
    C, N, classes, batch, batches, steps = map(int, (C, N, classes, batch, batches, steps))
    device = "cuda" if device.startswith("cuda") and torch.cuda.is_available() else "cpu"
    torch.set_num_threads(torch.get_num_threads())
    net = TinyNetwork(arch, C, N, classes).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    eps, alpha = 8 / 255, 2 / 255
    x_all = torch.rand(batch * (batches + 1), 3, 32, 32, device=device)
    forward = net
    if layout == "channels_last":
        net = net.to(memory_format=torch.channels_last)
        forward = net
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    elif layout == "compile":
        forward = torch.compile(net)
    y_all = torch.randint(classes, (batch * (batches + 1),), device=device)

    mean = torch.tensor([0.49, 0.48, 0.45], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.25, 0.24, 0.26], device=device).view(1, 3, 1, 1)
    model = (lambda v: forward((v - mean) / std)) if full else forward

    def augment(x):
        n, c, h, w = x.shape
        pad = 2 if h <= 16 else 4
        padded = F.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(2 * pad + 1, (n, 1), device=device)
        dx = torch.randint(2 * pad + 1, (n, 1), device=device)
        flip = torch.randint(2, (n, 1), device=device).bool()
        rows = dy + torch.arange(h, device=device)
        cols = torch.arange(w, device=device).expand(n, w)
        cols = dx + torch.where(flip, w - 1 - cols, cols)
        picked = padded.gather(2, rows.view(n, 1, h, 1).expand(n, c, h, w + 2 * pad))
        return picked.gather(3, cols.view(n, 1, 1, w).expand(n, c, h, w))

    def step(x, y):
        if full:
            x = augment(x)
        net.eval()
        adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(steps):
            adv.requires_grad_(True)
            g, = torch.autograd.grad(F.cross_entropy(model(adv), y), adv)
            adv = (x + (adv.detach() + alpha * g.sign() - x).clamp(-eps, eps)).clamp(0, 1)
        if full:
            with torch.no_grad():
                (model(x).argmax(1) == y).sum().item()
        net.train()
        logits = model(adv.detach())
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if full:
            loss.item()
            (logits.argmax(1) == y).sum().item()

    step(x_all[:batch], y_all[:batch])
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for b in range(1, batches + 1):
        step(x_all[b * batch:(b + 1) * batch], y_all[b * batch:(b + 1) * batch])
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    json.dump({"images_per_second": batch * batches / seconds, "device": device, "layout": layout}, sys.stdout)


if __name__ == "__main__":
    main()
