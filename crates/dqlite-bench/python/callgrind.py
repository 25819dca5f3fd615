"""Instructions per W1 round trip (``SELECT 1``) of the Python driver, counted by callgrind.

Usage: python callgrind.py [--client python-sync|python-aio] PYTHON...

Each PYTHON is an interpreter whose environment has a ``dqlitedbapi`` installed (say, the
wheels of two commits in two venvs). Run with a Python that has ``dqlite_testkit``
(``DQLITE_TESTKIT_BIN`` set, as for the tests): it starts a 1-node 1.11 cluster and runs
``workloads.py CLIENT w1`` under ``valgrind --tool=callgrind`` for 1,000 and for 3,000
queries, and prints (Ir(3000) - Ir(1000)) / 2000: the start-up and set-up cancel out.
Instruction counts do not depend on the machine's load, but the sync loop's waits do a
little (a few hundred instructions either way): compare several runs, or the inclusive
counts of the functions concerned (``callgrind_annotate --inclusive=yes`` on the kept
``cg.*.out`` files).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path

from dqlite_testkit import Cluster

WORKLOADS = Path(__file__).with_name("workloads.py")
SMALL, LARGE = 1_000, 3_000


def instructions(python: str, client: str, address: str, size: int, out: Path) -> int:
    """Every instruction callgrind counted in one worker run."""
    run = subprocess.run(
        [
            *("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"),
            *(python, str(WORKLOADS), client, "w1", address, str(size)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"no callgrind total in:\n{run.stderr}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--client", default="python-sync", choices=["python-sync", "python-aio"]
    )
    parser.add_argument("--keep", type=Path, help="directory for the cg.*.out files")
    parser.add_argument("pythons", nargs="+")
    args = parser.parse_args()
    keep = args.keep or Path(tempfile.mkdtemp(prefix="dqlite-callgrind-"))
    keep.mkdir(parents=True, exist_ok=True)
    with Cluster(1, version="1.11", verbose=False) as cluster:
        address = cluster.addresses[0]
        for i, python in enumerate(args.pythons):
            counts = {
                size: instructions(
                    python, args.client, address, size, keep / f"cg.{i}.{size}.out"
                )
                for size in (SMALL, LARGE)
            }
            per = (counts[LARGE] - counts[SMALL]) / (LARGE - SMALL)
            print(
                f"{python} {args.client}: {per:.0f} instructions per SELECT 1",
                flush=True,
            )
    print(f"callgrind files: {keep}")


if __name__ == "__main__":
    main()
