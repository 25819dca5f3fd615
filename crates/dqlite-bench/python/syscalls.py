"""System calls per ``SELECT 1`` of the asyncio driver at full speed, counted by perf.

Usage: python syscalls.py [--tasks N] PYTHON...

Each PYTHON is an interpreter whose environment has a ``dqlitedbapi`` installed (say, the
wheels of two commits in two venvs). Run with a Python that has ``dqlite_testkit``
(``DQLITE_TESTKIT_BIN`` set, as for the tests): it starts a 1-node 1.11 cluster and runs
``N`` asyncio tasks (a connection each; 8 is W5's shape, 1 is W1's) doing ``SELECT 1`` and
``fetchall`` for 2,000 and for 18,000 queries in all, under ``perf stat`` with the kernel's
system-call tracepoints, and prints the per-query difference of each count: start-up and
connecting cancel out. Unlike callgrind (whose slowdown lets the server answer before
every read), this counts the driver at its own speed, with no hardware counter needed;
a system call costs the client kernel time that user-space instruction counts leave out.
The counts depend a little on timing (how often an answer is already there).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys

SMALL, LARGE = 2_000, 18_000
EVENTS = {
    "all": "raw_syscalls:sys_enter",
    "recvfrom": "syscalls:sys_enter_recvfrom",
    "sendto": "syscalls:sys_enter_sendto",
    "epoll_wait": "syscalls:sys_enter_epoll_wait",
    "getpid": "syscalls:sys_enter_getpid",
}


async def worker(address: str, tasks: int, queries: int) -> None:
    """``tasks`` tasks, a connection each, ``queries`` ``SELECT 1`` in all."""
    from dqlitedbapi import aio

    conns = [await aio.aconnect(address, database="bench") for _ in range(tasks)]

    async def reader(conn: aio.AsyncConnection) -> None:
        cur = conn.cursor()
        for _ in range(queries // tasks):
            await cur.execute("SELECT 1")
            await cur.fetchall()

    await asyncio.gather(*(reader(conn) for conn in conns))
    for conn in conns:
        await conn.close()


def counts(python: str, address: str, tasks: int, queries: int) -> dict[str, int]:
    """The system calls of one worker run, by name."""
    run = subprocess.run(
        [
            *("perf", "stat", "-x,", "-e", ",".join(EVENTS.values())),
            *(python, __file__, "--worker", address, str(tasks), str(queries)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    by_event = {}
    for line in run.stderr.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[0].isdigit():
            by_event[fields[2]] = int(fields[0])
    missing = [event for event in EVENTS.values() if event not in by_event]
    if missing:
        raise SystemExit(f"perf counted no {missing} in:\n{run.stderr}")
    return {name: by_event[event] for name, event in EVENTS.items()}


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        address, tasks, queries = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        asyncio.run(worker(address, tasks, queries))
        return
    from dqlite_testkit import Cluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("pythons", nargs="+")
    args = parser.parse_args()
    with Cluster(1, version="1.11", verbose=False) as cluster:
        address = cluster.addresses[0]
        for python in args.pythons:
            small = counts(python, address, args.tasks, SMALL)
            large = counts(python, address, args.tasks, LARGE)
            per = "  ".join(
                f"{name} {(large[name] - small[name]) / (LARGE - SMALL):.2f}"
                for name in EVENTS
            )
            print(f"{python} {args.tasks} task(s): per SELECT 1: {per}", flush=True)


if __name__ == "__main__":
    main()
