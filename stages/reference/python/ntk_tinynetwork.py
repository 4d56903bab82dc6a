"""Empirical NTK blocks of a NAS-Bench-201 TinyNetwork with torch.func
(vmap over per-sample grad / jacrev + functional_call): the independent
reference for robbench's structured NTK, and its PyTorch benchmark.

usage:
  ntk_tinynetwork.py check CHECKPOINT INPUTS
      float64; JSON {output: {block: matrix}} for output in sum, label,
      per-logit and the five blocks clean k(x,x), robust k(x',x'),
      cross k(x,x'), cross2 k(x',x''), robust2 k(x'',x'').
  ntk_tinynetwork.py bench CHECKPOINT INPUTS OUTPUT DEVICE
      float32, as the stage computes them: times the three Jacobians, the
      five blocks and the eigenvalues of the clean and robust blocks; JSON
      {seconds, cpu_seconds (all threads), peak_rss_bytes, clean_trace, device}.
  ntk_tinynetwork.py unit CHECKPOINT INPUTS OUTPUT DEVICE
      the whole work of an `ntk` unit, timed: BN calibration on the
      `calibration` images (train mode, momentum 1), x_adv = PGD(x) and
      x_adv2 = PGD(x_adv) (eps 8/255, step 2/255, 5 steps, random start; in
      channels-last, PyTorch's faster CPU layout), then the kernel work as in
      `bench`; the same JSON, plus kernel_seconds.

CHECKPOINT is a robbench safetensors checkpoint (nb201_model.load), INPUTS a
safetensors file with x, x_adv, x_adv2 (n, 3, H, W) pixels in [0, 1],
labels (n,) and calibration images.
"""
import json
import os
import sys
import time

import torch
from safetensors.torch import load_file
from torch.func import functional_call, grad, jacrev, vmap

sys.path.insert(0, os.path.dirname(__file__))
from nb201_model import load  # noqa: E402

PAIRS = {"clean": (0, 0), "robust": (1, 1), "cross": (0, 1), "cross2": (1, 2), "robust2": (2, 2)}


def jacobian(net, mean, std, x, labels, output):
    """Per-sample Jacobian rows (n, P), or (n*K, P) sample-major for per-logit."""
    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = {k: v.detach() for k, v in net.named_buffers()}

    def logits(p, xi):
        return functional_call(net, (p, buffers), ((xi.unsqueeze(0) - mean) / std,))[0]

    n = x.shape[0]
    if output == "per-logit":
        jac = vmap(jacrev(logits), in_dims=(None, 0))(params, x)
        return torch.cat([g.reshape(n * g.shape[1], -1) for g in jac.values()], dim=1)
    if output == "sum":
        g = vmap(grad(lambda p, xi: logits(p, xi).sum()), in_dims=(None, 0))(params, x)
    else:
        g = vmap(grad(lambda p, xi, yi: logits(p, xi).gather(0, yi.unsqueeze(0)).sum()), in_dims=(None, 0, 0))(params, x, labels)
    return torch.cat([t.reshape(n, -1) for t in g.values()], dim=1)


def blocks(net, mean, std, inputs, output):
    sets = [inputs[k] for k in ("x", "x_adv", "x_adv2")]
    jacs = [jacobian(net, mean, std, x, inputs["labels"], output) for x in sets]
    return {name: jacs[a] @ jacs[b].T for name, (a, b) in PAIRS.items()}


def calibrate(net, mean, std, images):
    """Running BN statistics of one train-mode batch, as robbench calibrates."""
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 1.0
    net.train()
    with torch.no_grad():
        net((images - mean) / std)
    net.eval()


def pgd(net, mean, std, x, labels, generator, eps=8 / 255, step=2 / 255, steps=5):
    """L∞ PGD from a uniform random start, robbench's `pgd` with one restart."""
    adv = (x + torch.empty_like(x).uniform_(-eps, eps, generator=generator)).clamp(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(net((adv - mean) / std), labels)
        (g,) = torch.autograd.grad(loss, adv)
        adv = torch.min(torch.max(adv.detach() + step * g.sign(), x - eps), x + eps).clamp(0, 1)
    return adv.detach()


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def main():
    mode, checkpoint, inputs_path = sys.argv[1:4]
    net, mean, std = load(checkpoint)
    net.eval()
    inputs = load_file(inputs_path)
    inputs["labels"] = inputs["labels"].long()
    if mode == "check":
        net, mean, std = net.double(), mean.double(), std.double()
        for k in ("x", "x_adv", "x_adv2"):
            inputs[k] = inputs[k].double()
        out = {o: {k: v.tolist() for k, v in blocks(net, mean, std, inputs, o).items()} for o in ("sum", "label", "per-logit")}
        json.dump(out, sys.stdout)
        return
    output, device = sys.argv[4:6]
    device = "cuda" if device.startswith("cuda") and torch.cuda.is_available() else "cpu"
    net, mean, std = net.to(device), mean.to(device), std.to(device)
    inputs = {k: v.to(device) for k, v in inputs.items()}
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    if mode == "bench":
        calibrate(net, mean, std, inputs["calibration"])
    sync()
    start, cpu_start = time.perf_counter(), time.process_time()
    if mode == "unit":
        # Calibrated first: channels-last batch statistics are less accurate on CPU.
        calibrate(net, mean, std, inputs["calibration"])
        net = net.to(memory_format=torch.channels_last)
        generator = torch.Generator(device=device).manual_seed(0)
        inputs["x_adv"] = pgd(net, mean, std, inputs["x"], inputs["labels"], generator)
        inputs["x_adv2"] = pgd(net, mean, std, inputs["x_adv"], inputs["labels"], generator)
        net = net.to(memory_format=torch.contiguous_format)
    sync()
    kernel_start = time.perf_counter()
    k = blocks(net, mean, std, inputs, output)
    for name in ("clean", "robust"):
        torch.linalg.eigvalsh(k[name].double())
    sync()
    end = time.perf_counter()
    seconds, cpu_seconds = end - start, time.process_time() - cpu_start
    json.dump(
        {
            "seconds": seconds,
            "kernel_seconds": end - kernel_start,
            "cpu_seconds": cpu_seconds,
            "peak_rss_bytes": peak_rss_bytes(),
            "peak_device_bytes": torch.cuda.max_memory_allocated() if device == "cuda" else None,
            "clean_trace": float(k["clean"].double().trace()),
            "device": device,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
