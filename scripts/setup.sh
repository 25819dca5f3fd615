#!/usr/bin/env bash
# Installs everything the project needs on a Debian machine (run as root), idempotently:
# Debian packages (dqlite 1.11, C headers, TLS tools, patchelf), cargo-nextest, cargo-fuzz,
# Python virtualenvs with pinned tools, the unpacked server trees of dqlite 1.18 (Debian 13)
# and latest (Debian unstable), and Debian 13's Python 3.13, unpacked beside the system.
# Safe to run again: each step checks first and does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf '\n== setup: %s\n' "$*"; }

need_pkgs=()
# patchelf: the test kit relocates the unpacked Python 3.13 with it.
for pkg in go-dqlite libdqlite-dev stunnel4 openssl gcc pkg-config patchelf; do
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

# pip_sync VENV REQUIREMENTS: installs a requirements file (with the files it includes with
# -r) into VENV, unless exactly these were installed there last time.
pip_sync() {
  local venv=$1 req=$2 want
  want=$(cat "$req"; sed -n 's/^-r[[:space:]]*//p' "$req" | while read -r inc; do
    cat "$(dirname "$req")/$inc"; done)
  if [ "$want" != "$(cat "$venv/.requirements" 2>/dev/null)" ]; then
    log "pip install -r $req into $venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -r "$req"
    printf '%s' "$want" > "$venv/.requirements"
  fi
}

if [ ! -x .venv/bin/python ]; then
  log "python virtualenv in .venv"
  python3 -m venv .venv
fi
pip_sync .venv scripts/requirements-dev.txt
# SQLAlchemy 2.1 beside .venv's 2.0: the dialect is tested on both.
if [ ! -x .cache/venv-sqla21/bin/python ]; then
  log "python virtualenv in .cache/venv-sqla21 (SQLAlchemy 2.1)"
  python3 -m venv .cache/venv-sqla21
fi
pip_sync .cache/venv-sqla21 scripts/requirements-sqla21.txt

log "dqlite servers (1.11 from Debian 12; 1.18 from Debian 13 and latest from Debian unstable, unpacked in .cache)"
cargo build -q -p dqlite-testkit --bin dqlite-testkit
target/debug/dqlite-testkit install --server all

# Debian 13's Python 3.13, unpacked by the test kit (nothing installed system-wide), and a
# venv made with it: our wheel's tests on a second Python, and the reference-suite gate.
py313=$(target/debug/dqlite-testkit install --python | tail -n 1)
echo "python 3.13: $py313"
if ! .cache/venv-py313/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
  log "python virtualenv in .cache/venv-py313 (Debian 13's Python 3.13)"
  rm -rf .cache/venv-py313
  "$py313" -m venv .cache/venv-py313
fi
pip_sync .cache/venv-py313 scripts/requirements-py313.txt
echo "setup: done ($root)"
