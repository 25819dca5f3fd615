#!/usr/bin/env bash
# Builds the Python driver's wheel as we ship it: CPython >= 3.11 (abi3), x86_64,
# manylinux2014 (glibc 2.17), so it installs on RHEL 8, Ubuntu 20.04, Amazon Linux 2 and
# anything newer without a Rust toolchain. maturin links it with zig (the `ziglang` package
# from PyPI, pinned in scripts/requirements-dev.txt) against glibc 2.17's symbols; then
# `auditwheel show` must confirm the manylinux_2_17 tag.
# Usage: bash scripts/wheel.sh [OUT_DIR]   (default target/wheels; needs scripts/setup.sh once)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-target/wheels}")

if ! .venv/bin/python -c 'import ziglang' 2>/dev/null || [ ! -x .venv/bin/auditwheel ]; then
  echo "wheel: .venv lacks ziglang or auditwheel; run scripts/setup.sh" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out"
# maturin finds zig as `python3 -m ziglang`, with the python3 first on PATH.
(cd python/dqlitedbapi && PATH="$PWD/../../.venv/bin:$PATH" \
  maturin build --release --zig --compatibility manylinux2014 -q -o "$out")
wheels=("$out"/*.whl)
if [ ${#wheels[@]} -ne 1 ] || [[ ${wheels[0]} != *-abi3-manylinux2014_x86_64*.whl ]]; then
  echo "wheel: expected one abi3 manylinux2014 wheel in $out, got: ${wheels[*]}" >&2
  exit 1
fi
report=$(.venv/bin/auditwheel show "${wheels[0]}")
echo "$report"
if ! tr -s ' \n' ' ' <<<"$report" | grep -q 'is consistent with the following platform tag: "manylinux_2_17_x86_64"'; then
  echo "wheel: auditwheel does not confirm manylinux_2_17_x86_64" >&2
  exit 1
fi
echo "wheel: ${wheels[0]}"
