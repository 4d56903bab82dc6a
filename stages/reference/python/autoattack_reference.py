"""AutoAttack's attacks from torchattacks 3.5.1, for cross-checking robbench-attacks.

usage: autoattack_reference.py CHECKPOINT INPUTS EPS
           [--apgd-steps 100] [--fab-steps 100] [--square-queries 5000] [--seeds 1]
CHECKPOINT is a TinyNetwork safetensors checkpoint (loaded with nb201_model);
INPUTS holds `x` (pixels in [0, 1], N×3×H×W) and `y` (int64 labels).
Prints JSON: clean accuracy, robust accuracy under each of apgd-ce, apgd-t,
fab-t and square run alone on all inputs (the randomized ones, APGD-CE,
APGD-T and Square, as the mean over seeds 0..seeds: a single run varies by
about a point from seed to seed), under the standard ensemble ("autoattack",
seed 0), and the seconds each took.

By default every attack is configured as in AutoAttack's standard version
(fra31/auto-attack, autoattack.py): APGD 100 steps and 1 restart, APGD-T and
FAB-T 100 steps on the n_classes − 1 = 9 runner-up classes, Square 5,000
queries with p_init = 0.8 and the unstretched p schedule. torchattacks'
own AutoAttack class is not used: it keeps the 10-step defaults of APGD,
APGD-T and FAB and stretches Square's schedule, so the ensemble is built
here with MultiAttack from the attacks configured above.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torchattacks
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(__file__))
from nb201_model import load  # noqa: E402


class Pixels(nn.Module):
    """The network on pixels in [0, 1]: normalisation inside, as in robbench."""

    def __init__(self, net, mean, std):
        super().__init__()
        self.net = net
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


def standard_attacks(model, args, n_classes, seed=0):
    return {
        "apgd-ce": torchattacks.APGD(model, norm="Linf", eps=args.eps, steps=args.apgd_steps, n_restarts=1, seed=seed, loss="ce", eot_iter=1, rho=0.75),
        "apgd-t": torchattacks.APGDT(model, norm="Linf", eps=args.eps, steps=args.apgd_steps, n_restarts=1, seed=seed, eot_iter=1, rho=0.75, n_classes=n_classes),
        "fab-t": torchattacks.FAB(model, norm="Linf", eps=args.eps, steps=args.fab_steps, n_restarts=1, multi_targeted=True, n_classes=n_classes, seed=seed),
        "square": torchattacks.Square(model, norm="Linf", eps=args.eps, n_queries=args.square_queries, n_restarts=1, p_init=0.8, loss="margin", resc_schedule=False, seed=seed),
    }


def main():
    if torchattacks.__version__ != "3.5.1":
        sys.exit(f"torchattacks 3.5.1 expected, found {torchattacks.__version__}")
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("inputs")
    parser.add_argument("eps", type=float)
    parser.add_argument("--apgd-steps", type=int, default=100)
    parser.add_argument("--fab-steps", type=int, default=100)
    parser.add_argument("--square-queries", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    net, mean, std = load(args.checkpoint)
    model = Pixels(net, mean, std).eval()
    data = load_file(args.inputs)
    x, y = data["x"], data["y"]
    with torch.no_grad():
        n_classes = model(x[:1]).shape[1]

    def accuracy(points):
        with torch.no_grad():
            return (model(points).argmax(1) == y).float().mean().item()

    def robust_accuracy(name, attack):
        adv = attack(x, y)
        distance = (adv - x).abs().max().item()
        if distance > args.eps + 1e-6:
            sys.exit(f"{name} left the eps-ball: {distance} > {args.eps}")
        return accuracy(adv)

    out = {"clean": accuracy(x), "seconds": {}}
    # FAB-T's first (and by default only) restart starts at x: no randomness.
    for name in ["apgd-ce", "apgd-t", "fab-t", "square"]:
        start = time.time()
        seeds = 1 if name == "fab-t" else args.seeds
        runs = [robust_accuracy(name, standard_attacks(model, args, n_classes, seed)[name]) for seed in range(seeds)]
        out[name] = sum(runs) / seeds
        out["seconds"][name] = round(time.time() - start, 2)
    start = time.time()
    ensemble = torchattacks.MultiAttack(list(standard_attacks(model, args, n_classes).values()))
    out["autoattack"] = robust_accuracy("autoattack", ensemble)
    out["seconds"]["autoattack"] = round(time.time() - start, 2)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
