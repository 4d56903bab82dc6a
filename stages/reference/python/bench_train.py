"""The NAS-RobBench-201 training step in PyTorch, timed: PGD-k generated in
eval mode (eps 8/255, step 2/255, random start), then an SGD step on the
adversarial batch in train mode. Used by `robbench bench train` for the
Rust/PyTorch throughput ratio.

usage: bench_train.py ARCH C N CLASSES BATCH BATCHES STEPS DEVICE -> JSON {"images_per_second": ...}
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
    C, N, classes, batch, batches, steps = map(int, (C, N, classes, batch, batches, steps))
    device = "cuda" if device.startswith("cuda") and torch.cuda.is_available() else "cpu"
    torch.set_num_threads(torch.get_num_threads())
    net = TinyNetwork(arch, C, N, classes).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    eps, alpha = 8 / 255, 2 / 255
    x_all = torch.rand(batch * (batches + 1), 3, 32, 32, device=device)
    y_all = torch.randint(classes, (batch * (batches + 1),), device=device)

    def step(x, y):
        net.eval()
        adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(steps):
            adv.requires_grad_(True)
            g, = torch.autograd.grad(F.cross_entropy(net(adv), y), adv)
            adv = (x + (adv.detach() + alpha * g.sign() - x).clamp(-eps, eps)).clamp(0, 1)
        net.train()
        loss = F.cross_entropy(net(adv.detach()), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(x_all[:batch], y_all[:batch])
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for b in range(1, batches + 1):
        step(x_all[b * batch:(b + 1) * batch], y_all[b * batch:(b + 1) * batch])
    if device == "cuda":
        torch.cuda.synchronize()
    json.dump({"images_per_second": batch * batches / (time.perf_counter() - start), "device": device}, sys.stdout)


if __name__ == "__main__":
    main()
