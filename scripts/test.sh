#!/usr/bin/env bash
# Runs every check and test of the project: lint, Rust tests (codec, harness, integration
# tests against real dqlite clusters of BOTH server versions) and Python tests.
# Exits non-zero on the first failure. Usage (as root on Debian): bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n== test: %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

bash scripts/setup.sh
export CARGO_TERM_COLOR=never

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (workspace, all targets, warnings are errors)"
cargo clippy -q --workspace --all-targets -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc -q --workspace --no-deps

# Unit, property and vector tests do not need a server; the integration tests read
# DQLITE_SERVER_VERSION and run once per server version.
for version in 1.11 1.18; do
  step "cargo nextest: all tests against dqlite $version"
  DQLITE_SERVER_VERSION=$version cargo nextest run --workspace --no-fail-fast
done

step "cargo test --doc"
cargo test -q --workspace --doc

step "python: ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

for version in 1.11 1.18; do
  step "python: pytest against dqlite $version"
  DQLITE_SERVER_VERSION=$version DQLITE_TESTKIT_BIN="$(pwd)/target/debug/dqlite-testkit" \
    .venv/bin/python -m pytest -q -p no:cacheprovider crates/dqlite-testkit/python
done

step "all tests passed"
