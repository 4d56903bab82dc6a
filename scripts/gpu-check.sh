#!/usr/bin/env bash
# The GPU checks of issue #14 in one call of the `device` tool
# (docs/src/guide/gpus-and-threads.md, "Checking on a lent GPU"). The lent
# machine has PyTorch 2.11.0+cu130 (the wheel libtorch comes from here too)
# but no Rust toolchain and no network,
# so the binaries are built here and carried there:
#
#   scripts/gpu-check.sh pack        here: build, strip and pack into .gpu/
#   scripts/gpu-check.sh run DIR     there: unpack, run the CUDA tests and
#                                    benchmarks, write logs and a summary to DIR
#
# `run` puts every binary back at the absolute path it was built at (the
# test binaries name the robbench binary and the repository by those paths)
# and loads that machine's libtorch, after checking it is the same build.
# Each step has its own time limit, so a slow or hung step still leaves the
# others' results. `run` also works on a CPU-only machine with
# GPU_CHECK_DEVICE=cpu, which is how the script itself is tried here.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
pack_dir="$repo_root/.gpu"

pack() {
    cd "$repo_root"
    make --no-print-directory setup
    local target_dir=${CARGO_TARGET_DIR:-$repo_root/target}
    target_dir=$(cd "$target_dir" 2>/dev/null && pwd || echo "$target_dir")
    # A target dir shared with another checkout (CI's clone, say) can hold
    # this workspace's crates as built there, with that checkout's paths
    # compiled in and its sources older: rebuild them from this one.
    local packages
    packages=$(cargo metadata --no-deps --format-version 1 |
        python3 -c 'import json, sys; print(" ".join("-p " + p["name"] for p in json.load(sys.stdin)["packages"]))')
    # shellcheck disable=SC2086 # one word per flag and package
    cargo clean $packages
    cargo build --workspace --bins
    # The test binaries `make test-gpu` runs: robbench-stages' unit tests
    # (training on the device) and the pipeline end to end (tests/pipeline.rs).
    local tests
    tests=$(cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable") or not m["profile"]["test"]:
        continue
    t = m["target"]
    if (t["name"] == "robbench_stages" and "lib" in t["kind"]) or (t["name"] == "pipeline" and "test" in t["kind"]):
        print(t["name"], m["executable"])
')
    [[ $(wc -l <<<"$tests") -eq 2 ]] || { echo "gpu-check: expected 2 test binaries, found: $tests" >&2; exit 1; }
    # The torch the binaries link: the runs there must load the same build.
    local python torch
    python=$(sed -n 's/^ROBBENCH_PYTHON = "\(.*\)"$/\1/p' .cargo/config.toml)
    torch=$("${python:-python3}" -c 'import torch; print(torch.__version__)') ||
        { echo "gpu-check: no python with torch in .cargo/config.toml (ROBBENCH_PYTHON)" >&2; exit 1; }

    rm -rf "$pack_dir" && mkdir -p "$pack_dir/stage"
    local manifest="$pack_dir/manifest"
    {
        echo "repo $repo_root"
        echo "torch $torch"
        echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo -dirty)"
        echo "bin robbench $target_dir/debug/robbench"
        echo "bin robbench-torch $target_dir/debug/robbench-torch"
        while read -r name path; do echo "test $name $path"; done <<<"$tests"
    } >"$manifest"
    # Stripped and compressed, the four binaries (~390 MB as built) take
    # 42 MiB of the 64 MiB a call carries; the checkout takes 19 MiB.
    local path
    for path in $(awk '$1 == "bin" || $1 == "test" { print $3 }' "$manifest"); do
        mkdir -p "$pack_dir/stage$(dirname "$path")"
        strip --strip-all -o "$pack_dir/stage$path" "$path"
    done
    tar -C "$pack_dir/stage" -cf - . | xz -T0 -9 >"$pack_dir/binaries.tar.xz"
    rm -rf "$pack_dir/stage"
    local tree packed limit=$((64 << 20))
    tree=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- | tail -n 1 | cut -f1)
    packed=$(du -cb "$pack_dir" | tail -n 1 | cut -f1)
    echo "gpu-check: packed $((packed >> 20)) MiB into $pack_dir; with the checkout's $((tree >> 20)) MiB that is $(((tree + packed) >> 20)) of the $((limit >> 20)) MiB a device call carries"
    ((tree + packed <= limit)) || { echo "gpu-check: too big to carry" >&2; exit 1; }
    echo "carry .gpu:"
    echo "  run(command='scripts/gpu-check.sh run \$OUT', carry=['.gpu'], timeout_s=560)"
}

# One step: its own time limit, its output in DIR/NAME.log, a line in the summary.
step() {
    local name=$1 limit=$2
    shift 2
    local started=$SECONDS status=0
    echo "== $name (limit ${limit}s): $*" | tee -a "$out/summary.txt"
    timeout --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1 || status=$?
    tail -n 25 "$out/$name.log"
    echo "   -> exit $status after $((SECONDS - started)) s" | tee -a "$out/summary.txt"
}

run() {
    out=$1
    mkdir -p "$out"
    local manifest="$pack_dir/manifest" device=${GPU_CHECK_DEVICE:-cuda}
    [[ -f "$manifest" && -f "$pack_dir/binaries.tar.xz" ]] || { echo "gpu-check: no pack in $pack_dir (run \`scripts/gpu-check.sh pack\` here and carry .gpu)" >&2; exit 1; }
    field() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$manifest"; }
    # A packed binary's path: `binary bin robbench`, `binary test pipeline`.
    binary() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n { print $3 }' "$manifest"; }
    local built_repo built_torch
    built_repo=$(field repo) built_torch=$(field torch)
    local python=${ROBBENCH_PYTHON:-python3}
    local torch torch_version torch_dir
    torch=$("$python" -c 'import torch, pathlib; print(torch.__version__, pathlib.Path(torch.__file__).parent)')
    read -r torch_version torch_dir <<<"$torch"
    [[ "$torch_version" == "$built_torch" ]] || { echo "gpu-check: this python has torch $torch_version, the binaries were built against $built_torch" >&2; exit 1; }

    # Where a binary is already there (a trial on the build machine), it is kept.
    tar -C / --skip-old-files -xJf "$pack_dir/binaries.tar.xz"
    # The test binaries find the repository (and its data) by the path it was built at.
    if [[ "$(cd "$built_repo" 2>/dev/null && pwd -P)" != "$(pwd -P)" ]]; then
        [[ ! -e "$built_repo" ]] || { echo "gpu-check: $built_repo exists here and is not this checkout" >&2; exit 1; }
        mkdir -p "$(dirname "$built_repo")" && ln -s "$(pwd -P)" "$built_repo"
    fi
    # libtorch is found through LD_LIBRARY_PATH where the build's rpath names nothing.
    export LD_LIBRARY_PATH="$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    local robbench test_stages test_pipeline
    robbench=$(binary bin robbench) test_stages=$(binary test robbench_stages) test_pipeline=$(binary test pipeline)
    export ROBBENCH_PYTHON=$(command -v "$python") ROBBENCH_TEST_DEVICE=$device
    cd "$built_repo"

    {
        echo "gpu-check of $(field commit) on $(hostname), $(nproc) CPUs, device $device"
        nvidia-smi -L 2>/dev/null || echo "(no nvidia-smi)"
        echo "torch $torch_version at $torch_dir"
    } | tee "$out/summary.txt"
    # The tests first: a stage that fails on the device makes the timings moot.
    step test-train 60 env -C stages "$test_stages" train --test-threads 4
    step test-pipeline 150 "$test_pipeline" --test-threads 4
    # Training vs PyTorch at the NAS-RobBench-201 recipe's batch (both run the bare and the unit's whole step).
    step bench-train 60 "$robbench" bench train --device "$device" --batch 256 --batches "${GPU_CHECK_BATCHES:-10}"
    # How many concurrent units saturate the device: networks per hour at --jobs 1..8.
    step bench-throughput 100 "$robbench" bench throughput --device "$device" --recipe nasrobbench201 \
        --jobs "${GPU_CHECK_JOBS:-1,2,4,8}" --batches "${GPU_CHECK_BATCHES:-10}"
    # AutoAttack's worst case (ε = 0: every component's whole budget) per 1,000 images at NB201 size.
    step bench-autoattack 90 "$robbench" bench autoattack --device "$device" --images "${GPU_CHECK_IMAGES:-100}"
    # One NTK unit's kernel work: the structured path, the per-sample path and torch.func.
    step bench-ntk 40 "$robbench" bench ntk --device "$device"
    echo "gpu-check: done; logs in $out" | tee -a "$out/summary.txt"
}

case "${1:-}" in
    pack) pack ;;
    run) [[ -n "${2:-}" ]] || { echo "usage: scripts/gpu-check.sh run OUTDIR" >&2; exit 2; }; run "$2" ;;
    *) echo "usage: scripts/gpu-check.sh pack | run OUTDIR" >&2; exit 2 ;;
esac
