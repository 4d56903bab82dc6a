"""Runs the published CIFAR-10-C corruptions for robbench's cross-check.

The reference is `make_cifar_c.py` of hendrycks/robustness, shipped unmodified
in `data/cifar10-c-frost/` (see the README there). This driver implements no
corruption: it executes that file's definitions (everything up to its last
function; the dataset loop after it needs torchvision and the authors' CIFAR
paths) and calls its functions the way its loop does,
`np.uint8(corruption(pil_image, severity))`.

Shims, each only call compatibility with libraries newer than the reference:
- `np.float_` (removed in NumPy 2.0) is set to `np.float64`; `plasma_fractal`
  allocates with it.
- `np.fromstring(blob, np.uint8)` (binary mode deprecated since NumPy 1.14,
  an error in NumPy 2.4) reads the bytes with `np.frombuffer`, which is what
  the binary mode did.
- skimage's `gaussian(..., multichannel=True)` (deprecated in scikit-image
  0.19, since removed) becomes `channel_axis=-1`, its replacement.
- `import torch` / `torchvision` are skipped: only the dataset loop uses them.
(`from scipy.ndimage.interpolation import map_coordinates` still works in
SciPy 1.17, with a deprecation warning.)

Usage:
  reference_driver.py replay <make_cifar_c.py> <cases.json> <out.json>
      Every case gives an image, a corruption, a severity and the random draws
      robbench made; np.random (and skimage's default_rng) replay exactly those
      draws, so the outputs are comparable value by value. Fails if a function
      asks for a draw of another kind or size than robbench made, or leaves
      some unused.
  reference_driver.py bench <make_cifar_c.py> <images.bin> <n> <out.json>
      Times every corruption x severity on the n 32x32 images of images.bin
      (raw HWC bytes) with NumPy's own random numbers.

Run it with the working directory holding frost1.png ... (the reference
opens them by relative path).
"""

import ast
import json
import sys
import time
import types

import numpy as np

NAMES = [
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
    "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
    "elastic_transform", "pixelate", "jpeg_compression",
    "speckle_noise", "gaussian_blur", "spatter", "saturate",
]


def load_reference(path):
    """The reference's imports and definitions as a module (see the shims above)."""
    if not hasattr(np, "float_"):
        np.float_ = np.float64
    try:
        np.fromstring(b"\x00", np.uint8)
    except ValueError:
        np.fromstring = lambda data, dtype=float: np.frombuffer(data, dtype)
    source = open(path, encoding="utf-8").read()
    tree = ast.parse(source, filename=path)
    last_def = max(i for i, node in enumerate(tree.body) if isinstance(node, ast.FunctionDef))

    def needs_torch(node):
        if isinstance(node, ast.Import):
            return any(a.name.split(".")[0] in ("torch", "torchvision") for a in node.names)
        if isinstance(node, ast.ImportFrom):
            return (node.module or "").split(".")[0] in ("torch", "torchvision")
        return False

    tree.body = [node for node in tree.body[: last_def + 1] if not needs_torch(node)]
    module = types.ModuleType("make_cifar_c")
    module.__file__ = path
    exec(compile(tree, path, "exec"), module.__dict__)

    gaussian = module.gaussian

    def gaussian_compat(image, *args, multichannel=None, **kwargs):
        if multichannel:
            kwargs["channel_axis"] = -1
        return gaussian(image, *args, **kwargs)

    module.gaussian = gaussian_compat
    return module


class Replay:
    """np.random's functions, answering with the draws robbench recorded."""

    def __init__(self):
        self.draws = []

    def load(self, draws):
        self.draws = [(d["kind"], list(d["values"])) for d in draws]

    def take(self, kind, size):
        n = int(np.prod(size)) if size is not None else 1
        if not self.draws:
            raise AssertionError(f"the reference asks for {n} {kind} draws; robbench made no more")
        have, values = self.draws[0]
        if have != kind or len(values) < n:
            raise AssertionError(f"the reference asks for {n} {kind} draws; robbench's next are {len(values)} {have}")
        taken, rest = values[:n], values[n:]
        if rest:
            self.draws[0] = (have, rest)
        else:
            self.draws.pop(0)
        return taken

    def shaped(self, values, size, dtype):
        if size is None:
            return dtype(values[0])
        return np.array(values, dtype=dtype).reshape(size)

    def check_used(self, what):
        if self.draws:
            left = ", ".join(f"{len(v)} {k}" for k, v in self.draws)
            raise AssertionError(f"{what}: robbench made draws the reference did not use: {left}")

    # The legacy functions, with NumPy's own arithmetic on the standard draw
    # (numpy/random/src/legacy: loc + scale * gauss, low + (high - low) * u).
    def normal(self, loc=0.0, scale=1.0, size=None):
        z = self.shaped(self.take("normal", size), size, np.float64)
        return loc + scale * z

    def uniform(self, low=0.0, high=1.0, size=None):
        u = self.shaped(self.take("uniform", size), size, np.float64)
        return low + (high - low) * u

    def poisson(self, lam=1.0, size=None):
        shape = np.shape(lam) if size is None else size
        k = np.array(self.take("poisson", shape), dtype=np.int64).reshape(shape)
        if not np.all(k >= 0):
            raise AssertionError("negative poisson draw")
        return k

    def randint(self, low, high=None, size=None):
        if high is None:
            low, high = 0, low
        values = self.take("randint", size)
        if not all(low <= v < high for v in values):
            raise AssertionError(f"randint({low}, {high}) replayed {values}")
        return self.shaped(values, size, np.int64)

    def default_rng(self, seed=None):
        replay = self

        class Generator:
            def random(self, size=None):
                return replay.shaped(replay.take("random", size), size, np.float64)

        return Generator()


def replay(reference_path, cases_path, out_path):
    from PIL import Image

    ref = load_reference(reference_path)
    fake = Replay()
    for name in ("normal", "uniform", "poisson", "randint", "default_rng"):
        setattr(np.random, name, getattr(fake, name))
    cases = json.load(open(cases_path))
    results = []
    for case in cases["cases"]:
        image = np.array(case["pixels"], dtype=np.uint8).reshape(case["height"], case["width"], 3)
        fake.load(case["draws"])
        what = f"{case['corruption']} severity {case['severity']}"
        out = np.uint8(getattr(ref, case["corruption"])(Image.fromarray(image), case["severity"]))
        fake.check_used(what)
        if out.shape != image.shape:
            raise AssertionError(f"{what}: the reference returned shape {out.shape}")
        results.append(out.reshape(-1).tolist())
    json.dump({"results": results, "versions": versions()}, open(out_path, "w"))


def bench(reference_path, images_path, n, out_path):
    from PIL import Image

    ref = load_reference(reference_path)
    raw = np.fromfile(images_path, dtype=np.uint8).reshape(-1, 32, 32, 3)[:n]
    images = [Image.fromarray(img) for img in raw]
    np.random.seed(0)
    seconds = {}
    start = time.perf_counter()
    for name in NAMES:
        function = getattr(ref, name)
        t0 = time.perf_counter()
        for severity in range(1, 6):
            for img in images:
                np.uint8(function(img, severity))
        seconds[name] = time.perf_counter() - t0
    total = time.perf_counter() - start
    json.dump({"images": len(images), "seconds": total, "per_corruption": seconds, "versions": versions()},
              open(out_path, "w"))


def versions():
    import cv2
    import PIL
    import scipy
    import skimage
    import wand.version

    return {
        "python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
        "scikit-image": skimage.__version__, "opencv": cv2.__version__, "pillow": PIL.__version__,
        "imagemagick": wand.version.MAGICK_VERSION,
    }


if __name__ == "__main__":
    if sys.argv[1] == "replay":
        replay(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "bench":
        bench(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(f"unknown command {sys.argv[1]!r}")
