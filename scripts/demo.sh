#!/usr/bin/env bash
# The main job: installs what is missing, starts a local 3-node dqlite cluster with the
# project's test kit, and runs the quickstarts against it: the codec on its own, the Rust
# client (async and blocking), the Python driver (built here if needed) and the shell.
# The cluster is stopped on exit.
# Usage (as root on Debian): bash scripts/demo.sh   (DQLITE_SERVER_VERSION=1.18|latest for those)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export CARGO_TERM_COLOR=never
cargo build -q -p dqlite-testkit --bin dqlite-testkit
cargo build -q -p dqlite-wire --example roundtrip
cargo build -q -p dqlite-client --examples
cargo build -q -p dqlite-shell
if ! .venv/bin/python -c 'import dqlitedbapi' 2>/dev/null; then
  echo "== demo: building the Python driver's wheel (scripts/wheel.sh)"
  bash scripts/wheel.sh target/wheels > /dev/null
  .venv/bin/pip install -q --force-reinstall --no-deps target/wheels/*.whl
fi

version=${DQLITE_SERVER_VERSION:-1.11}
echo
echo "== demo: starting a 3-node dqlite $version cluster on 127.0.0.1"
coproc TESTKIT { target/debug/dqlite-testkit cluster --nodes 3 --version "$version"; }
# Stop the cluster whatever happens below.
trap 'echo stop >&"${TESTKIT[1]}" 2>/dev/null || true; wait "$TESTKIT_PID" 2>/dev/null || true' EXIT
read -r started <&"${TESTKIT[0]}"
addresses=$(python3 -c 'import json, sys; print(",".join(json.loads(sys.argv[1])["addresses"]))' "$started")
echo "cluster: $addresses"

echo
echo "== demo: the codec on its own (dqlite-wire, no network)"
cargo run -q -p dqlite-wire --example roundtrip

echo
echo "== demo: Rust client quickstart (leader discovery, transaction, streamed query)"
cargo run -q -p dqlite-client --example quickstart -- "$addresses"

echo
echo "== demo: Rust blocking client"
cargo run -q -p dqlite-client --example blocking -- "$addresses"

echo
echo "== demo: Python driver quickstart (sync and asyncio)"
.venv/bin/python python/dqlitedbapi/examples/quickstart.py "$addresses"

echo
echo "== demo: the shell (batch mode): cluster members and the data"
target/debug/dqlite-shell -s "$addresses" quickstart -c ".cluster" -c "SELECT * FROM notes"

echo
echo "== demo: done"
