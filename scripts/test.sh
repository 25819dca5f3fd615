#!/usr/bin/env bash
# Runs the project's checks and tests. Exits non-zero on the first failing step.
# Usage (as root on Debian):
#   bash scripts/test.sh           everything; CI runs exactly this (.ci/run)
#   bash scripts/test.sh --quick   for everyday work: lint, unit tests, and the tests that
#                                  need a cluster on ONE server version
#                                  ($DQLITE_SERVER_VERSION, default 1.11)
#
# What runs where, and why. CI is a clean clone on 2 cores and the full run must stay well
# under 30 minutes, so each suite runs on the server versions (1.11 = Debian 12, 1.18 =
# Debian 13's 1.18.1, latest = Debian unstable's newest) and Python versions where it
# finds something the others do not; nothing here is skipped silently.
#
#   suite                                 1.11        1.18          latest        --quick
#   fmt, clippy, ruff, mypy, stubtest,    once (no server)                        yes (no doc)
#     generated sync modules, rustdoc
#   Rust unit/property/vector/replay      once (no server)                        yes
#   Rust cluster tests (nextest group     yes         yes           yes           one version
#     `cluster`: test kit, client `it`,
#     shell)
#   libFuzzer, 20 s per target            once (no server)                        no
#   doctests                              once                                    no
#   manylinux2014 abi3 wheel + auditwheel once: every Python test below runs from  yes
#                                         this installed wheel
#   test kit's Python helper              -           -             yes (TLS)     no
#     (its clusters: Rust tests above, every version)
#   dqlite-wire tests                     once (no server)                        yes
#   dqlitedbapi, dqliteclient tests       Py 3.11     Py 3.11       Py 3.13       Py 3.11
#     (Python version and server version are independent axes: each is covered once)
#   sqlalchemy-dqlite tests               SA 2.0      SA 2.1        SA 2.0        SA 2.0
#   SQLAlchemy compliance suite,          -           SA 2.0        SA 2.1        no
#     sync and asyncio (~1,600 tests, 40 s each run): once without RETURNING (1.18.1, as on
#     1.11) and once with it (latest). Each SQLAlchemy gets the dialect's tests and the
#     compliance suite, each server the dialect's tests.
#   reference suites: dqlite-dbapi 0.8.0  -           -             Py 3.13       no
#     (scripts/refsuite.sh, issue 12) and dqlite-client 0.8.0 (python/dqlite-client/
#     refsuite, issue 17), their tests/integration against ours; the counts on the other
#     versions are in scripts/refsuite/README.md and python/dqlite-client/README.md
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
case "${1:-}" in
  --quick) quick=true ;;
  "") ;;
  *) echo "usage: bash scripts/test.sh [--quick]" >&2; exit 2 ;;
esac
start=$(date +%s)
step() { printf '\n== test: %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

bash scripts/setup.sh
export CARGO_TERM_COLOR=never
export DQLITE_TESTKIT_BIN="$(pwd)/target/debug/dqlite-testkit"
sqla21=.cache/venv-sqla21
py313=.cache/venv-py313

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (workspace, all targets, warnings are errors)"
cargo clippy -q --workspace --all-targets -- -D warnings

if ! $quick; then
  step "cargo doc (warnings are errors)"
  RUSTDOCFLAGS="-D warnings" cargo doc -q --workspace --no-deps
fi

# Unit, property, vector and fuzz-replay tests need no server and run once; the tests that
# start real clusters (the same filter as the `cluster` group in .config/nextest.toml) run
# once per server version.
cluster_tests='package(dqlite-testkit) | binary(it) | binary(/cluster/) | test(/cluster/)'
if $quick; then
  version=${DQLITE_SERVER_VERSION:-1.11}
  step "cargo nextest: every Rust test, clusters on dqlite $version"
  DQLITE_SERVER_VERSION=$version cargo nextest run --workspace --no-fail-fast
else
  step "cargo nextest: every Rust test, clusters on dqlite 1.11"
  DQLITE_SERVER_VERSION=1.11 cargo nextest run --workspace --no-fail-fast
  for version in 1.18 latest; do
    step "cargo nextest: cluster tests again on dqlite $version"
    DQLITE_SERVER_VERSION=$version cargo nextest run --workspace --no-fail-fast -E "$cluster_tests"
  done

  # Bounded libFuzzer runs of both fuzz targets (the long runs are in docs/reliability.md).
  # cargo-fuzz needs nightly features: RUSTC_BOOTSTRAP lets the stable toolchain build them.
  step "cargo fuzz: 20 s per target (frame decoder, client session)"
  for target in wire:frame client:client_session; do
    crate=${target%%:*} name=${target#*:} log="target/fuzz-$name.log"
    mkdir -p target "crates/dqlite-$crate/fuzz/corpus-run/$name"
    if ! (cd "crates/dqlite-$crate/fuzz" && RUSTC_BOOTSTRAP=1 cargo fuzz run "$name" \
          "corpus-run/$name" "corpus/$name" -- -max_total_time=20 -max_len=65536 \
          -print_final_stats=1) > "$log" 2>&1; then
      cat "$log"
      exit 1
    fi
    grep -E "number_of_executed_units|average_exec_per_sec" "$log" | sed "s/^/$name: /"
  done

  step "cargo test --doc"
  cargo test -q --workspace --doc
fi

# The wheel we ship (manylinux2014, abi3, zig-linked; checked by auditwheel) is the one
# every Python test uses: the driver's tests run from the installed wheel, never the tree.
step "python: build the manylinux2014 wheel (scripts/wheel.sh) and install it"
bash scripts/wheel.sh target/wheels
venvs=(.venv)
$quick || venvs+=("$sqla21" "$py313")
# The test kit's Python helper is a pytest plugin every Python suite of ours uses. Our
# dqlitewire and dqliteclient (pure Python over the driver's extension) go where their tests
# and the reference suite run.
for venv in "${venvs[@]}"; do
  # The distribution was called dqlitedbapi before 0.9.0: an old one would share its files.
  "$venv/bin/pip" uninstall -q -y dqlitedbapi 2>/dev/null || true
  "$venv/bin/pip" install -q --force-reinstall --no-deps target/wheels/*.whl
  "$venv/bin/pip" install -q --no-deps -e crates/dqlite-testkit/python
  if [ "$venv" != "$sqla21" ]; then
    "$venv/bin/pip" install -q --no-deps -e python/dqlite-wire -e python/dqlite-client
  fi
  if [ "$venv" != "$py313" ]; then
    "$venv/bin/pip" install -q --no-deps -e python/sqlalchemy-dqlite
  fi
done

step "python: ruff, generated sync modules current, mypy --strict, stubtest"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
(cd python/dqlitedbapi && ../../.venv/bin/python tools/async_to_sync.py --check)
(cd python/dqlitedbapi && ../../.venv/bin/mypy)
(cd python/dqlitedbapi && ../../.venv/bin/python -m mypy.stubtest dqlitedbapi)
for pkg in dqlite-wire dqlite-client; do (cd python/$pkg && ../../.venv/bin/mypy); done
(cd python/sqlalchemy-dqlite && ../../.venv/bin/mypy)
$quick || (cd python/sqlalchemy-dqlite && "../../$sqla21/bin/mypy")

step "python: dqlite-wire tests (no server)"
(cd python/dqlite-wire && ../../.venv/bin/python -m pytest -q -p no:cacheprovider)

# The tests mostly wait on clusters (a third of a run is CPU), so three pytest workers share
# the two cores; each test file stays on one worker, with its module's cluster.
pytest=(-m pytest -q -p no:cacheprovider -n 3 --dist loadfile)
# driver_tests VENV VERSION: the dqlitedbapi and dqliteclient tests with VENV's Python
# against VERSION.
driver_tests() {
  step "python: dqlitedbapi tests ($1, $("$1/bin/python" -V)) against dqlite $2"
  (cd python/dqlitedbapi && DQLITE_SERVER_VERSION=$2 "../../$1/bin/python" "${pytest[@]}")
  step "python: dqliteclient tests ($1) against dqlite $2"
  (cd python/dqlite-client && DQLITE_SERVER_VERSION=$2 "../../$1/bin/python" "${pytest[@]}")
}
# dialect_tests VENV VERSION: sqlalchemy-dqlite's own tests.
dialect_tests() {
  step "python: sqlalchemy-dqlite tests ($1) against dqlite $2"
  (cd python/sqlalchemy-dqlite && DQLITE_SERVER_VERSION=$2 \
    "../../$1/bin/python" "${pytest[@]}" tests)
}
# compliance VENV VERSION: SQLAlchemy's compliance suite, sync and asyncio.
compliance() {
  step "python: SQLAlchemy compliance suite, sync and asyncio ($1) against dqlite $2"
  (cd python/sqlalchemy-dqlite && export DQLITE_SERVER_VERSION=$2 &&
    "../../$1/bin/python" run_suite.py -q && "../../$1/bin/python" run_suite.py --aio -q)
}

if $quick; then
  driver_tests .venv "$version"
  dialect_tests .venv "$version"
  step "quick checks passed"
  exit 0
fi

driver_tests .venv 1.11
dialect_tests .venv 1.11

driver_tests .venv 1.18
dialect_tests "$sqla21" 1.18
compliance .venv 1.18

step "python: the test kit's Python helper against dqlite latest"
DQLITE_SERVER_VERSION=latest .venv/bin/python "${pytest[@]}" crates/dqlite-testkit/python
driver_tests "$py313" latest
dialect_tests .venv latest
compliance "$sqla21" latest

step "python: reference suite (dqlite-dbapi 0.8.0 tests/integration) vs ours, dqlite latest"
bash scripts/refsuite.sh gate latest

# The reference dqlite-client 0.8.0's own integration tests (its sdist, pinned by sha256)
# against our dqliteclient, in the same Python 3.13 venv (they need >= 3.13); the tests
# expected to fail are listed with their reasons in python/dqlite-client/refsuite.
step "python: dqlite-client 0.8.0's integration tests vs our dqliteclient, dqlite latest"
"$py313/bin/python" python/dqlite-client/refsuite/run.py --server latest

step "all tests passed"
