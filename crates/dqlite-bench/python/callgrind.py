"""Instructions per unit of work of the Python driver, counted by callgrind.

Usage: python callgrind.py [--client python-sync|python-aio] [--workload WORKLOAD] PYTHON...

Each PYTHON is an interpreter whose environment has a ``dqlitedbapi`` installed (say, the
wheels of two commits in two venvs). Run with a Python that has ``dqlite_testkit`` and
``dqlitedbapi`` (``DQLITE_TESTKIT_BIN`` set, as for the tests): it starts a 1-node 1.11
cluster and runs ``workloads.py CLIENT WORKLOAD`` under ``valgrind --tool=callgrind``
twice, small and large, and prints the difference of the instruction counts over the
difference of the work done: the start-up and set-up cancel out. The work is:

* ``w1``: 1,000 and 3,000 ``SELECT 1`` (instructions per query);
* ``w4``: a fetchall of the whole w4 table, filled with 20,000 then 60,000 rows of W4's
  shape before each run (instructions per row); ``w4stream``: the same rows read with
  ``fetchmany(1000)``;
* ``w5``: W5's point queries (8 tasks or threads) for 2 then 6 seconds, over 1,000 rows
  of w4 (instructions per query, the queries counted by the worker).

Instruction counts do not depend on the machine's load, but the asyncio client's path
does: an answer already there when asked costs far less than one the loop waits for, and
on a loaded machine how many are there varies from run to run (W1 between 3,000 and
70,000 instructions per query, unpinned). Pin the cluster and the client to one CPU
(``taskset -c 0 python callgrind.py ...``: the client yields its CPU before it reads, so
the node answers first) for W1 and W5, and compare several runs, or the inclusive counts
of the functions concerned (``callgrind_annotate --inclusive=yes`` on the kept
``cg.*.out`` files).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import dqlitedbapi
from dqlite_testkit import Cluster

WORKLOADS = Path(__file__).with_name("workloads.py")
# Per workload: the small and the large size passed to the worker (queries, rows or
# seconds), and what one unit of the printed figure is.
SIZES = {
    "w1": (1_000, 3_000),
    "w4": (20_000, 60_000),
    "w4stream": (20_000, 60_000),
    "w5": (2, 6),
}
UNITS = {
    "w1": "SELECT 1",
    "w4": "row fetched",
    "w4stream": "row fetched",
    "w5": "point query",
}
W5_ROWS = 1_000
DB = "bench"  # workloads.py's database


def fill_w4(address: str, rows: int) -> None:
    """The w4 table with ``rows`` rows of W4's shape (as the Rust suite's prepare.rs)."""
    conn = dqlitedbapi.connect(address, database=DB, timeout=60.0)
    try:
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS w4")
        cur.execute(
            "CREATE TABLE w4 (id INTEGER PRIMARY KEY, i INTEGER, f REAL, t TEXT, b BLOB, "
            "n INTEGER)"
        )
        cur.execute(
            "INSERT INTO w4 (i, f, t, b, n) "
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
            "SELECT x, x * 0.5, printf('%020d', x), randomblob(16), "
            "CASE WHEN x % 2 = 0 THEN NULL ELSE x END FROM c",
            (rows,),
        )
    finally:
        conn.close()


def instructions(
    python: str, client: str, workload: str, address: str, size: int, out: Path
) -> tuple[int, float]:
    """Every instruction callgrind counted in one worker run, and the work it did."""
    if workload in ("w4", "w4stream"):
        fill_w4(address, size)
    run = subprocess.run(
        [
            *("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"),
            *(python, str(WORKLOADS), client, workload, address, str(size)),
        ],
        capture_output=True,
        text=True,
        check=True,
        # The same string hashes in every run: dict and set layouts, and so the counts,
        # repeat exactly.
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"no callgrind total in:\n{run.stderr}")
    # W1 runs as many queries as asked; W4 and W5 say how many rows or queries they did.
    work = size if workload == "w1" else json.loads(run.stdout.splitlines()[-1])["n"]
    return int(found.group(1)), float(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--client", default="python-sync", choices=["python-sync", "python-aio"]
    )
    parser.add_argument("--workload", default="w1", choices=sorted(SIZES))
    parser.add_argument("--keep", type=Path, help="directory for the cg.*.out files")
    parser.add_argument("pythons", nargs="+")
    args = parser.parse_args()
    keep = args.keep or Path(tempfile.mkdtemp(prefix="dqlite-callgrind-"))
    keep.mkdir(parents=True, exist_ok=True)
    workload = args.workload
    with Cluster(1, version="1.11", verbose=False) as cluster:
        address = cluster.addresses[0]
        if workload == "w5":
            fill_w4(address, W5_ROWS)
        for i, python in enumerate(args.pythons):
            small, large = (
                instructions(
                    python,
                    args.client,
                    workload,
                    address,
                    size,
                    keep / f"cg.{i}.{size}.out",
                )
                for size in SIZES[workload]
            )
            per = (large[0] - small[0]) / (large[1] - small[1])
            print(
                f"{python} {args.client} {workload}: {per:.0f} instructions per "
                f"{UNITS[workload]} ({small[1]:.0f} and {large[1]:.0f} done)",
                flush=True,
            )
    print(f"callgrind files: {keep}")


if __name__ == "__main__":
    main()
