#!/usr/bin/env bash
# Installs everything the project needs on a Debian machine (run as root), idempotently:
# Debian packages (dqlite servers, C headers, TLS tools), cargo-nextest, a Python virtualenv
# with pinned tools, and the Debian 13 (dqlite 1.18) server tree used by the tests.
# Safe to run again: each step checks first and does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf '\n== setup: %s\n' "$*"; }

need_pkgs=()
for pkg in go-dqlite libdqlite-dev stunnel4 openssl gcc pkg-config; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$pkg")
done
# Debian's own python3 needs python3-venv for `python3 -m venv` (a pyenv Python has it).
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  need_pkgs+=(python3-venv)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "apt-get install ${need_pkgs[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${need_pkgs[*]}); run this script as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${need_pkgs[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install a Rust toolchain >= 1.88 (rustup) first" >&2
  exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  log "cargo install cargo-nextest"
  cargo install cargo-nextest --locked
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  log "cargo install cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [ ! -x .venv/bin/python ]; then
  log "python virtualenv in .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import pytest, ruff' 2>/dev/null || \
   ! cmp -s scripts/requirements-dev.txt .venv/.requirements-dev.txt; then
  log "pip install -r scripts/requirements-dev.txt"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r scripts/requirements-dev.txt
  cp scripts/requirements-dev.txt .venv/.requirements-dev.txt
fi

log "dqlite servers (1.11 from Debian 12, 1.18 from Debian 13, unpacked in .cache)"
cargo build -q -p dqlite-testkit --bin dqlite-testkit
target/debug/dqlite-testkit install --server all
echo "setup: done ($root)"
