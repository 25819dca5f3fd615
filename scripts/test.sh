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

# Unit, property, vector and fuzz-replay tests need no server and run once; the tests that
# start real clusters (the same filter as the `cluster` group in .config/nextest.toml) run
# once per server version.
cluster_tests='package(dqlite-testkit) | binary(it) | binary(/cluster/) | test(/cluster/)'
step "cargo nextest: every Rust test, clusters on dqlite 1.11"
DQLITE_SERVER_VERSION=1.11 cargo nextest run --workspace --no-fail-fast
step "cargo nextest: cluster tests again on dqlite 1.18"
DQLITE_SERVER_VERSION=1.18 cargo nextest run --workspace --no-fail-fast -E "$cluster_tests"

# Bounded libFuzzer runs of both fuzz targets (the long runs are in docs/reliability.md).
# cargo-fuzz needs nightly features: RUSTC_BOOTSTRAP lets the stable toolchain build them.
step "cargo fuzz: 45 s per target (frame decoder, client session)"
for target in wire:frame client:client_session; do
  crate=${target%%:*} name=${target#*:} log="target/fuzz-$name.log"
  mkdir -p target "crates/dqlite-$crate/fuzz/corpus-run/$name"
  if ! (cd "crates/dqlite-$crate/fuzz" && RUSTC_BOOTSTRAP=1 cargo fuzz run "$name" \
        "corpus-run/$name" "corpus/$name" -- -max_total_time=45 -max_len=65536 \
        -print_final_stats=1) > "$log" 2>&1; then
    cat "$log"
    exit 1
  fi
  grep -E "number_of_executed_units|average_exec_per_sec" "$log" | sed "s/^/$name: /"
done

step "cargo test --doc"
cargo test -q --workspace --doc

step "python: build the dqlitedbapi wheel (release) and install it into .venv"
rm -rf target/wheels
(cd python/dqlitedbapi && ../../.venv/bin/maturin build --release -q -o ../../target/wheels)
.venv/bin/pip install -q --force-reinstall --no-deps target/wheels/dqlite_dbapi-*.whl
.venv/bin/pip install -q --no-deps -e python/sqlalchemy-dqlite -e crates/dqlite-testkit/python \
  -e python/dqlite-wire -e python/dqlite-client

# A second virtualenv with SQLAlchemy 2.1 (the dialect is tested on 2.0 and 2.1).
sqla21=.cache/venv-sqla21
if [ ! -x "$sqla21/bin/python" ]; then
  python3 -m venv "$sqla21"
fi
"$sqla21/bin/pip" install -q SQLAlchemy==2.1.9 greenlet==3.5.6 alembic==1.20.1 pytest==9.2.0 \
  pytest-asyncio==1.5.0 pytest-timeout==2.4.0 mypy==2.4.1
"$sqla21/bin/pip" install -q --force-reinstall --no-deps target/wheels/dqlite_dbapi-*.whl
"$sqla21/bin/pip" install -q --no-deps -e python/sqlalchemy-dqlite -e crates/dqlite-testkit/python

step "python: ruff, generated sync modules current, mypy --strict, stubtest"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
(cd python/dqlitedbapi && ../../.venv/bin/python tools/async_to_sync.py --check)
(cd python/dqlitedbapi && ../../.venv/bin/mypy)
(cd python/dqlitedbapi && ../../.venv/bin/python -m mypy.stubtest dqlitedbapi)
for pkg in dqlite-wire dqlite-client; do (cd python/$pkg && ../../.venv/bin/mypy); done
(cd python/dqlite-wire && ../../.venv/bin/python -m pytest -q -p no:cacheprovider)
(cd python/sqlalchemy-dqlite && ../../.venv/bin/mypy && "../../$sqla21/bin/mypy")

export DQLITE_TESTKIT_BIN="$(pwd)/target/debug/dqlite-testkit"
for version in 1.11 1.18; do
  step "python: pytest (test kit, dqlitedbapi, dqliteclient) against dqlite $version"
  DQLITE_SERVER_VERSION=$version .venv/bin/python -m pytest -q -p no:cacheprovider \
    crates/dqlite-testkit/python
  (cd python/dqlitedbapi && DQLITE_SERVER_VERSION=$version ../../.venv/bin/python -m pytest -q -p no:cacheprovider)
  (cd python/dqlite-client && DQLITE_SERVER_VERSION=$version ../../.venv/bin/python -m pytest -q -p no:cacheprovider)
  for venv in .venv "$sqla21"; do
    step "python: sqlalchemy-dqlite tests and SQLAlchemy's compliance suite ($venv) against dqlite $version"
    (cd python/sqlalchemy-dqlite && export DQLITE_SERVER_VERSION=$version &&
      "../../$venv/bin/python" -m pytest -q -p no:cacheprovider tests &&
      "../../$venv/bin/python" run_suite.py -q && "../../$venv/bin/python" run_suite.py --aio -q)
  done
done

# The reference dqlite-client 0.8.0's own integration tests (its sdist, pinned by sha256)
# against our dqliteclient, on Debian 13's Python 3.13 (they need >= 3.13); the tests
# expected to fail are listed with their reasons in python/dqlite-client/refsuite.
step "python: dqlite-client 0.8.0's integration tests against ours (dqlite latest)"
refclient=.cache/venv-refclient313
[ -x "$refclient/bin/python" ] || "$(target/debug/dqlite-testkit install --python | tail -n 1)" -m venv "$refclient"
"$refclient/bin/pip" install -q pytest==9.2.0 pytest-asyncio==1.5.0 pytest-timeout==2.4.0
"$refclient/bin/pip" install -q --force-reinstall --no-deps target/wheels/dqlite_dbapi-*.whl \
  ./python/dqlite-wire ./python/dqlite-client ./crates/dqlite-testkit/python
"$refclient/bin/python" python/dqlite-client/refsuite/run.py --server latest

step "all tests passed"
