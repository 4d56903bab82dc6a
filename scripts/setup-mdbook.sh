#!/usr/bin/env bash
# Installs mdbook, which builds the book in docs/ (`make docs`, part of
# `make test`, which checks every link; `make pipeline` does not need it).
set -euo pipefail

# Installed once from crates.io into a directory outside the
# clone (ROBBENCH_MDBOOK_ROOT); without the live-reload server, which the
# check does not need (~7.5 minutes, ~400 CPU-seconds on 2 cores). The
# marker says the install finished: an interrupted one is redone.
MDBOOK_VERSION=0.4.52
mdbook_root=${ROBBENCH_MDBOOK_ROOT:-$HOME/.cache/robbench/mdbook-$MDBOOK_VERSION}
if [[ ! -f "$mdbook_root/.robbench-complete" ]]; then
    echo "setup: installing mdbook $MDBOOK_VERSION into $mdbook_root (one time, several minutes)"
    # Its own build directory and none of this clone's cargo settings.
    (cd "$HOME" && env -u CARGO_TARGET_DIR cargo install --quiet mdbook --locked --version "$MDBOOK_VERSION" \
        --no-default-features --features search --root "$mdbook_root")
    "$mdbook_root/bin/mdbook" --version >/dev/null
    touch "$mdbook_root/.robbench-complete"
fi
