#!/usr/bin/env bash
# Runs every check and test of the repository on a fresh machine:
# formatting, lints, docs, the Rust tests, the Python package and its tests, and the interop
# tests against pylance 14.0.2.
# It installs what it needs by itself (a Python virtual environment in .venv; pip's cache
# in .cache/pip) and builds the workspace once in debug mode.
set -euo pipefail
cd "$(dirname "$0")/.."

export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$PWD/.cache/pip}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n== %s\n' "$*"; }

step "python environment (.venv) with pylance and pyarrow"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet -r python/requirements-test.txt

step "cargo fmt"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "cargo test"
cargo test --workspace --locked

step "python package (maturin develop into .venv)"
(cd python && VIRTUAL_ENV="$PWD/../.venv" ../.venv/bin/maturin develop --locked --quiet)

step "python and interop tests against pylance (pytest)"
cargo build -p lancelet-cli --locked --quiet
LANCELET_BIN="$PWD/target/debug/lancelet" .venv/bin/python -m pytest python/tests -q

step "all tests passed"
