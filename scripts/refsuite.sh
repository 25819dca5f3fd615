#!/usr/bin/env bash
# The reference-suite gate (issue 12): tests/integration of the reference driver's sdist
# (dqlite-dbapi 0.8.0, downloaded and checked by sha256 at run time), unmodified, against
# OUR driver as installed from our wheel into .cache/venv-py313 (Debian 13's Python 3.13;
# the suite needs >= 3.12). See scripts/refsuite/run.py for what the harness does.
#
#   bash scripts/refsuite.sh gate [VERSION]     our driver on VERSION (default latest) with
#                                               scripts/refsuite/expected-failures.txt:
#                                               fails on any failure not listed there
#   bash scripts/refsuite.sh measure VERSION    ours (no list) and the reference itself
#                                               (.cache/venv-ref313) on VERSION, then the
#                                               tests the reference passes and ours does not;
#                                               fails when one is not listed for VERSION (the
#                                               gate for 1.11 and 1.18)
#
# Needs scripts/setup.sh and our wheel in .cache/venv-py313 (scripts/test.sh installs it).
# Results: target/refsuite/{ours,reference}-VERSION.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-gate}
version=${2:-latest}
export DQLITE_TESTKIT_BIN=${DQLITE_TESTKIT_BIN:-$(pwd)/target/debug/dqlite-testkit}
mkdir -p target/refsuite
ours=.cache/venv-py313/bin/python
if ! "$ours" -c 'import dqlitedbapi' 2>/dev/null; then
  echo "refsuite: our driver is not installed in .cache/venv-py313 (see scripts/test.sh)" >&2
  exit 1
fi

case $mode in
  gate)
    exec "$ours" scripts/refsuite/run.py --server "$version" \
      --expected scripts/refsuite/expected-failures.txt \
      --results "target/refsuite/ours-$version.json"
    ;;
  measure)
    ref=.cache/venv-ref313
    if [ ! -x "$ref/bin/python" ]; then
      "$(target/debug/dqlite-testkit install --python | tail -n 1)" -m venv "$ref"
    fi
    "$ref/bin/python" -m pip install -q -r scripts/requirements-ref313.txt
    # Either may fail: the comparison is what matters.
    "$ours" scripts/refsuite/run.py --server "$version" \
      --results "target/refsuite/ours-$version.json" > "target/refsuite/ours-$version.log" 2>&1 || true
    "$ref/bin/python" scripts/refsuite/run.py --server "$version" \
      --results "target/refsuite/reference-$version.json" > "target/refsuite/reference-$version.log" 2>&1 || true
    grep -h '^refsuite:' "target/refsuite/ours-$version.log" "target/refsuite/reference-$version.log"
    "$ours" scripts/refsuite/run.py compare "target/refsuite/ours-$version.json" \
      "target/refsuite/reference-$version.json" --server "$version" \
      --expected scripts/refsuite/expected-failures.txt
    ;;
  *)
    echo "usage: bash scripts/refsuite.sh gate [VERSION] | measure VERSION" >&2
    exit 2
    ;;
esac
