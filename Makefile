# robbench — see README.md. `make pipeline` and `make test` do all set-up.
SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
ROBBENCH := $(TARGET_DIR)/debug/robbench
STORE ?= artifacts
CONFIG ?= configs/default.toml
# scripts/setup.sh's venv (torch, and the Python package's test and bench tools).
VENV := $(or $(ROBBENCH_TORCH_VENV),$(HOME)/.cache/robbench/torch-2.11.0)

.PHONY: setup build pipeline lint test python-test test-gpu bench bench-render clean

setup:
	@scripts/setup.sh

# Both binaries: robbench (SQL and store commands, no libtorch) and robbench-torch.
build: setup
	$(CARGO) build --workspace --bins

pipeline: build
	$(ROBBENCH) --store $(STORE) run --config $(CONFIG)
	$(ROBBENCH) --store $(STORE) import nasrobbench201-html
	$(ROBBENCH) --store $(STORE) import zero-cost --dataset cifar10
	$(ROBBENCH) --store $(STORE) search --set search.trials=5 --set search.queries=100
	$(ROBBENCH) --store $(STORE) report --config $(CONFIG) --out $(STORE)/report.html
	@scripts/example-queries.sh $(ROBBENCH) $(STORE)

# Formatting and lints are part of the test: the code stays clean from here on.
lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# cargo runs one test per CPU at once: each gets one libtorch thread that
# sleeps when idle, or their spinning OpenMP threads fight over the CPUs
# (stages/attacks/tests/autoattack.rs, whose PyTorch cross-check runs beside
# our attacks: 403 s this way, 673 s with libtorch's defaults, on 2 cores).
test: lint pipeline python-test docs
	OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE $(CARGO) test --workspace

# The book (docs/, mdBook): built outside the clone, every relative link and
# anchor checked, and the links of README.md, ARCHITECTURE.md, CONTRIBUTING.md.
.PHONY: docs
docs:
	@scripts/setup-mdbook.sh
	@scripts/check-docs.sh

# The Python package (python/, docs/src/guide/python.md): an abi3 wheel built by
# maturin in the dev profile, installed into setup's venv, then its pytest
# suite (doctests included).
# Its run-store tests read the default pipeline's store, so the pipeline runs first.
python-test: pipeline
	CARGO="$(CARGO)" ROBBENCH_PIPELINE_STORE="$(abspath $(STORE))" python/build.sh

# Timings (never asserted by tests): engine overhead, training and NTK kernels vs PyTorch, AutoAttack cost.
# Each bench writes its figures to docs/bench/<bench>.json; bench-render turns
# them into docs/src/benchmarks.md.
bench: build
	$(ROBBENCH) bench plan --units 20000
	$(ROBBENCH) bench sql --units 1000 --samples 1000
	$(ROBBENCH) bench serve --requests 50 --clients 4 --units 2000
	$(ROBBENCH) bench corruptions --images 10000 --reference-images 20
	$(ROBBENCH) bench train --batch 64 --batches 2
	$(ROBBENCH) bench ntk
	$(ROBBENCH) bench ntk --unit
	$(ROBBENCH) bench autoattack --images 4
	$(ROBBENCH) bench throughput --batch 32 --batches 1
	$(ROBBENCH) bench contention --batch 16 --batches 1
	CARGO="$(CARGO)" python/build.sh --no-test
	$(VENV)/bin/python python/bench.py
	$(MAKE) --no-print-directory bench-render

bench-render: build
	$(ROBBENCH) bench render --results docs/bench --out docs/src/benchmarks.md

# The device-dependent tests on CUDA (needs a GPU; see docs/src/guide/gpus-and-threads.md).
# --workspace, as everywhere: `-p` would resolve features differently and rebuild dependencies.
TEST_DEVICE ?= cuda
test-gpu: build
	ROBBENCH_TEST_DEVICE=$(TEST_DEVICE) $(CARGO) test --workspace --lib train
	ROBBENCH_TEST_DEVICE=$(TEST_DEVICE) $(CARGO) test --workspace --test pipeline

clean:
	$(CARGO) clean
