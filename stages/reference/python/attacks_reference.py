"""Independent PyTorch FGSM and PGD for cross-checking robbench-attacks.

usage: attacks_reference.py CHECKPOINT INPUTS EPS STEP STEPS
INPUTS holds `x` (pixels in [0,1]) and `y` (int64 labels). PGD starts at x
(no random start), so both implementations are deterministic. Prints JSON
with the adversarial images (saved next to INPUTS) and robust accuracies.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(__file__))
from nb201_model import load  # noqa: E402


def main():
    checkpoint, inputs, eps, step, steps = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    net, mean, std = load(checkpoint)
    net.eval()
    model = lambda x: net((x - mean) / std)  # noqa: E731
    data = load_file(inputs)
    x, y = data["x"], data["y"]

    def grad(adv):
        adv = adv.clone().requires_grad_(True)
        loss = F.cross_entropy(model(adv), y)
        return torch.autograd.grad(loss, adv)[0]

    fgsm = (x + eps * grad(x).sign()).clamp(0, 1)
    adv = x.clone()
    for _ in range(steps):
        adv = adv + step * grad(adv).sign()
        adv = (x + (adv - x).clamp(-eps, eps)).clamp(0, 1)
    pgd = adv.detach()

    with torch.no_grad():
        acc = lambda z: (model(z).argmax(1) == y).float().mean().item()  # noqa: E731
        out = {"clean": acc(x), "fgsm": acc(fgsm), "pgd": acc(pgd)}
    save_file({"fgsm": fgsm.contiguous(), "pgd": pgd.contiguous()}, inputs + ".adv")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
