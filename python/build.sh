#!/usr/bin/env bash
# Builds the robbench Python package (python/) into an abi3 wheel with maturin
# (the workspace's dev profile: its dependencies are already optimised, and a
# release build would compile DataFusion again), installs it into the
# project's venv and runs its tests.
#
#   python/build.sh            build, install, test
#   python/build.sh --no-test  build and install only
#
# The venv is scripts/setup.sh's (ROBBENCH_TORCH_VENV, default
# ~/.cache/robbench/torch-2.11.0); setup installs maturin, pytest and pandas
# into it. The store test drives the `robbench` binary, built here as
# `make build` builds it (same features, so nothing is compiled twice).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${ROBBENCH_TORCH_VENV:-$HOME/.cache/robbench/torch-2.11.0}
target=${CARGO_TARGET_DIR:-$repo/target}
export CARGO_TARGET_DIR=$target
cargo=${CARGO:-cargo}

[[ -x "$venv/bin/python" ]] || { echo "python/build.sh: no venv at $venv: run \`make setup\` first" >&2; exit 1; }
if [[ ! -x "$venv/bin/maturin" || ! -x "$venv/bin/pytest" ]]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.8,<2" pytest pandas polars
fi

"$cargo" build --workspace --bins
wheels="$target/wheels"
rm -f "$wheels"/robbench-*.whl
"$venv/bin/maturin" build --quiet -m "$repo/python/Cargo.toml" -i "$venv/bin/python" --out "$wheels"
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheels"/robbench-*.whl

[[ "${1:-}" == "--no-test" ]] && exit 0
# From the tests' directory, so that `import robbench` is the installed
# package, not the source folder (which has no compiled module); the doctests
# run on the installed package too (--pyargs).
cd "$repo/python/tests"
ROBBENCH_BIN="$target/debug/robbench" ROBBENCH_REPO="$repo" \
    "$venv/bin/pytest" -q -p no:cacheprovider --doctest-modules . --pyargs robbench
