#!/usr/bin/env bash
# What dqlite-bench needs beyond scripts/setup.sh, idempotently (`cargo run --release -p
# dqlite-bench` runs this first unless given --no-setup; quick when everything is in place):
#   1. Go and go-dqlite's sources from Debian (golang-go, golang-github-canonical-go-dqlite-dev;
#      installed with apt-get when missing, which needs root) and the Go worker built from
#      crates/dqlite-bench/go with GO111MODULE=off against them: no network, no modules;
#   2. our driver (a release wheel of python/dqlitedbapi) and our dialect in .venv, rebuilt
#      from the working tree so that the figures are those of the code checked out;
#   3. the reference in .cache/venv-peer: Python 3.13 (Debian 13's, unpacked by the test kit;
#      or DQLITE_BENCH_PY313 naming another), dqlite-dbapi, dqlite-client, dqlite-wire and
#      sqlalchemy-dqlite 0.8.0, and the SQLAlchemy version of .venv (W6 compares the two
#      dialects on the same SQLAlchemy).
# Go or the reference missing is reported and skipped: the suite then leaves out the client
# it would have provided, and says so. Our driver failing to build or install is an error.
set -uo pipefail
cd "$(dirname "$0")/../.."
log() { printf '== bench setup: %s\n' "$*" >&2; }

# 1. go-dqlite.
gosrc=/usr/share/gocode/src/github.com/canonical/go-dqlite
missing=()
command -v go >/dev/null || missing+=(golang-go)
[ -d "$gosrc/driver" ] || missing+=(golang-github-canonical-go-dqlite-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; }
  else
    log "missing ${missing[*]} (run this script as root to install them); go-dqlite skipped"
  fi
fi
if command -v go >/dev/null && [ -d "$gosrc/driver" ]; then
  mkdir -p target/dqlite-bench
  if ! GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off \
      GOCACHE="$PWD/target/dqlite-bench/go-cache" \
      go build -o target/dqlite-bench/go-dqlite-bench ./crates/dqlite-bench/go; then
    log "the Go worker did not build; go-dqlite skipped"
    rm -f target/dqlite-bench/go-dqlite-bench
  fi
fi

# 2. Our driver and dialect in .venv. A failure here stops the suite: it would otherwise
# measure whatever older build .venv holds.
if [ -x .venv/bin/maturin ]; then
  log "our driver's release wheel into .venv"
  rm -rf target/dqlite-bench/wheels
  # The distribution was renamed (dqlitedbapi 0.1 -> dqlite-dbapi): no stale copy of either.
  # Its own target directory: builds of the workspace with other features (cargo run -p
  # dqlite-bench) would otherwise make every wheel build recompile the client.
  (cd python/dqlitedbapi && CARGO_TARGET_DIR=../../target/dqlite-bench/maturin \
      ../../.venv/bin/maturin build --release -q -o ../../target/dqlite-bench/wheels) >&2 &&
    { .venv/bin/pip uninstall -q -y dqlitedbapi dqlite-dbapi >/dev/null 2>&1; true; } &&
    .venv/bin/pip install -q --force-reinstall --no-deps target/dqlite-bench/wheels/*.whl >&2 &&
    .venv/bin/pip install -q --no-deps -e python/sqlalchemy-dqlite >&2 ||
    { log "building or installing our driver failed"; exit 1; }
else
  log "no .venv (bash scripts/setup.sh makes it); Python clients skipped"
fi

# 3. The reference in .cache/venv-peer.
peer=.cache/venv-peer
sqla=$(.venv/bin/python -c 'import sqlalchemy; print(sqlalchemy.__version__)' 2>/dev/null)
greenlet=$(.venv/bin/python -c 'import greenlet; print(greenlet.__version__)' 2>/dev/null)
want="dqlite-dbapi==0.8.0 dqlite-client==0.8.0 dqlite-wire==0.8.0 sqlalchemy-dqlite==0.8.0"
want="$want SQLAlchemy==${sqla:-2.0.58} greenlet==${greenlet:-3.5.6}"
if [ "$(cat "$peer/.bench-requirements" 2>/dev/null)" != "$want" ]; then
  py313=${DQLITE_BENCH_PY313:-}
  if [ -z "$py313" ]; then
    [ -x target/debug/dqlite-testkit ] || cargo build -q -p dqlite-testkit --bin dqlite-testkit
    py313=$(target/debug/dqlite-testkit install --python | tail -n 1)
  fi
  if [ -x "$py313" ] && "$py313" -c 'import sys; sys.exit(sys.version_info < (3, 13))'; then
    log "the reference in $peer ($want)"
    rm -rf "$peer"
    "$py313" -m venv "$peer" &&
      "$peer/bin/python" -m pip install -q $want >&2 &&
      printf '%s' "$want" > "$peer/.bench-requirements" ||
      log "the reference's virtualenv failed; reference skipped"
  else
    log "no Python >= 3.13 (set DQLITE_BENCH_PY313); reference skipped"
  fi
fi
exit 0
