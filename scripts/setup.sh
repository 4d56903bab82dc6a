#!/usr/bin/env bash
# Finds (or installs) libtorch 2.11.0 and points cargo at it.
#
# - A user's own LIBTORCH is used as is.
# - Otherwise libtorch comes from the PyPI wheel torch==2.11.0, installed once
#   into a venv outside the clone (ROBBENCH_TORCH_VENV, default
#   ~/.cache/robbench/torch-2.11.0) so fresh clones and CI reuse it.
# - Writes .cargo/config.toml (ignored by git): LIBTORCH for torch-sys, an
#   rpath to libtorch's lib/ so binaries run without LD_LIBRARY_PATH, and
#   ROBBENCH_PYTHON (the venv's python) for the PyTorch cross-check tests.
# Does nothing visible when everything is already in place.
set -euo pipefail

TORCH_VERSION=2.11.0
repo_root=$(cd "$(dirname "$0")/.." && pwd)
venv=${ROBBENCH_TORCH_VENV:-$HOME/.cache/robbench/torch-$TORCH_VERSION}
python_bin=""

if [[ -n "${LIBTORCH:-}" ]]; then
    libtorch=$LIBTORCH
    [[ -d "$libtorch/lib" ]] || { echo "setup: LIBTORCH=$libtorch has no lib/ directory" >&2; exit 1; }
    # A venv may still exist for the PyTorch cross-checks; they are skipped otherwise.
    [[ -f "$venv/.robbench-complete" ]] && python_bin="$venv/bin/python"
else
    if [[ ! -f "$venv/.robbench-complete" ]]; then
        echo "setup: installing torch==$TORCH_VERSION into $venv (one time, ~4.6 GB)"
        rm -rf "$venv"
        mkdir -p "$(dirname "$venv")"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "torch==$TORCH_VERSION" numpy safetensors
        "$venv/bin/python" -c "import torch; assert torch.__version__.split('+')[0] == '$TORCH_VERSION', torch.__version__"
        # Marks the venv usable: an interrupted install is redone, not trusted.
        touch "$venv/.robbench-complete"
    fi
    python_bin="$venv/bin/python"
    libtorch=$("$python_bin" -c "import torch, pathlib; print(pathlib.Path(torch.__file__).parent)")
fi

# The AutoAttack cross-check runs torchattacks; added on its own so venvs
# made before it existed gain it too. --no-deps keeps pip off torch.
if [[ -n "$python_bin" && ! -f "$venv/.robbench-torchattacks-3.5.1" ]]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        torchattacks==3.5.1 scipy
    "$python_bin" -c "import torchattacks"
    touch "$venv/.robbench-torchattacks-3.5.1"
fi

# DuckDB and pyarrow: the SQL cross-check test and `robbench bench sql` compare
# against DuckDB over the same files; pyarrow reads the compacted tables as pandas does.
if [[ -n "$python_bin" && ! -f "$venv/.robbench-duckdb-1.5.6" ]]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check duckdb==1.5.6 pyarrow
    "$python_bin" -c "import duckdb, pyarrow"
    touch "$venv/.robbench-duckdb-1.5.6"
fi

# The Python package (python/build.sh, `make python-test`): maturin builds its
# wheel, pytest runs its tests, pandas and polars check its conversions.
if [[ -n "$python_bin" && ! -f "$venv/.robbench-python-1" ]]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.8,<2" pytest pandas polars
    "$python_bin" -c "import pytest, pandas, polars" && "$venv/bin/maturin" --version >/dev/null
    touch "$venv/.robbench-python-1"
fi

# The CIFAR-10-C cross-check (stages/corruptions/tests/reference.rs) runs the
# published make_cifar_c.py, which imports scikit-image, OpenCV, Pillow and
# Wand; these versions run it on the venv's NumPy 2 (the driver shims the few
# APIs they dropped). Wand loads ImageMagick's libMagickWand, a system library
# (Debian: libmagickwand-6.q16-6, which .ci/run installs).
if [[ -n "$python_bin" && ! -f "$venv/.robbench-corruptions-1" ]]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        scikit-image==0.26.0 opencv-python-headless==4.14.0.94 pillow==12.1.0 wand==0.7.2
    "$python_bin" -c "import skimage, cv2, PIL, wand"
    touch "$venv/.robbench-corruptions-1"
fi

config="$repo_root/.cargo/config.toml"
mkdir -p "$repo_root/.cargo"
new_config=$(cat <<TOML
# Written by scripts/setup.sh; rerun it (make setup) instead of editing.
[env]
LIBTORCH = "$libtorch"
ROBBENCH_PYTHON = "$python_bin"

[build]
rustflags = ["-C", "link-arg=-Wl,-rpath,$libtorch/lib"]
TOML
)
if [[ ! -f "$config" ]] || [[ "$(cat "$config")" != "$new_config" ]]; then
    printf '%s\n' "$new_config" > "$config.tmp" && mv "$config.tmp" "$config"
    echo "setup: wrote $config (libtorch at $libtorch)"
fi
