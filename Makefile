# robbench — see README.md. `make pipeline` and `make test` do all set-up.
SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
ROBBENCH := $(TARGET_DIR)/debug/robbench
STORE ?= artifacts
CONFIG ?= configs/default.toml

.PHONY: setup build pipeline test bench clean

setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --bin robbench

pipeline: build
	$(ROBBENCH) --store $(STORE) run --config $(CONFIG)
	@scripts/example-queries.sh $(ROBBENCH) $(STORE)

test: pipeline
	$(CARGO) test --workspace

bench: build
	$(CARGO) bench --workspace

clean:
	$(CARGO) clean
