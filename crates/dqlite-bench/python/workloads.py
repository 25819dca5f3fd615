"""Benchmark worker for the Python clients: runs one workload, prints one JSON line.

Usage: python workloads.py CLIENT WORKLOAD ADDRESS SIZE
CLIENT is python-sync, python-aio (this project's dqlitedbapi) or peer-python (the
pure-Python dqlite-dbapi, same module name, run from its own interpreter).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

import dqlitedbapi

DB = "bench"
W3_ROWS = 50_000
W5_READERS = 8
W5_KEYS = 1_000
W1 = "SELECT 1"
W2 = "INSERT INTO w2 (v) VALUES (?)"
W3 = "INSERT INTO w3 VALUES (?, ?, ?, ?, ?)"
W4 = "SELECT i, f, t, b, n FROM w4"
W5 = "SELECT i, f, t FROM w4 WHERE id = ?"


def w3_rows() -> list[tuple[Any, ...]]:
    return [
        (i, i * 0.25, f"{i:020d}", b"\x5a" * 16, None if i % 2 == 0 else i)
        for i in range(W3_ROWS)
    ]


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def latency(samples: list[float]) -> dict[str, Any]:
    samples.sort()
    at = lambda per_mille: samples[(len(samples) - 1) * per_mille // 1000] * 1e6
    return {"median_us": at(500), "p99_us": at(990), "n": len(samples)}


def rate(count: int, seconds: float) -> dict[str, Any]:
    return {
        "per_s": count / seconds,
        "n": count,
        "seconds": seconds,
        "peak_rss_kib": peak_rss_kib(),
    }


def run_sync(workload: str, address: str, size: int) -> dict[str, Any]:
    if workload == "w5":
        return asyncio.run(peer_w5(address, size))
    conn = dqlitedbapi.connect(address, database=DB, timeout=60.0)
    try:
        return sync_workload(conn, workload, address, size)
    finally:
        conn.close()


def sync_workload(conn: Any, workload: str, address: str, size: int) -> dict[str, Any]:
    cur = conn.cursor()
    if workload == "w1":
        samples = []
        for _ in range(size):
            t = time.perf_counter()
            cur.execute(W1)
            cur.fetchall()
            samples.append(time.perf_counter() - t)
        return latency(samples)
    if workload == "w2":
        t = time.perf_counter()
        for _ in range(size):
            cur.execute(W2, (1,))
        return rate(size, time.perf_counter() - t)
    if workload == "w3":
        rows = w3_rows()
        t = time.perf_counter()
        cur.execute("BEGIN")
        cur.executemany(W3, rows)
        cur.execute("COMMIT")
        elapsed = time.perf_counter() - t
        cur.execute("DELETE FROM w3")
        return rate(W3_ROWS, elapsed)
    if workload == "w4":
        t = time.perf_counter()
        cur.execute(W4)
        n = len(cur.fetchall())
        return rate(n, time.perf_counter() - t)
    if workload == "w4stream":
        t = time.perf_counter()
        cur.execute(W4)
        n = 0
        while batch := cur.fetchmany(1000):
            n += len(batch)
        return rate(n, time.perf_counter() - t)
    raise SystemExit(f"unknown workload {workload}")


async def peer_w5(address: str, seconds: int) -> dict[str, Any]:
    """W5 for a sync-only driver: 8 threads."""
    import threading

    deadline = time.perf_counter() + seconds
    counts = [0] * W5_READERS

    def reader(index: int) -> None:
        conn = dqlitedbapi.connect(address, database=DB, timeout=60.0)
        cur = conn.cursor()
        key = index
        while time.perf_counter() < deadline:
            key = key % W5_KEYS + 1
            cur.execute(W5, (key,))
            cur.fetchall()
            counts[index] += 1

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(W5_READERS)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return rate(sum(counts), max(time.perf_counter() - start, seconds))


async def run_aio(workload: str, address: str, size: int) -> dict[str, Any]:
    from dqlitedbapi import aio

    if workload == "w5":
        deadline = time.perf_counter() + size

        async def reader(index: int) -> int:
            conn = await aio.aconnect(address, database=DB, timeout=60.0)
            cur = conn.cursor()
            key, count = index, 0
            while time.perf_counter() < deadline:
                key = key % W5_KEYS + 1
                await cur.execute(W5, (key,))
                await cur.fetchall()
                count += 1
            await conn.close()
            return count

        start = time.perf_counter()
        counts = await asyncio.gather(*(reader(i) for i in range(W5_READERS)))
        return rate(sum(counts), max(time.perf_counter() - start, size))
    conn = await aio.aconnect(address, database=DB, timeout=60.0)
    try:
        return await aio_workload(conn, workload, size)
    finally:
        await conn.close()


async def aio_workload(conn: Any, workload: str, size: int) -> dict[str, Any]:
    cur = conn.cursor()
    if workload == "w1":
        samples = []
        for _ in range(size):
            t = time.perf_counter()
            await cur.execute(W1)
            await cur.fetchall()
            samples.append(time.perf_counter() - t)
        return latency(samples)
    if workload == "w2":
        t = time.perf_counter()
        for _ in range(size):
            await cur.execute(W2, (1,))
        return rate(size, time.perf_counter() - t)
    if workload == "w3":
        rows = w3_rows()
        t = time.perf_counter()
        await cur.execute("BEGIN")
        await cur.executemany(W3, rows)
        await cur.execute("COMMIT")
        elapsed = time.perf_counter() - t
        await cur.execute("DELETE FROM w3")
        return rate(W3_ROWS, elapsed)
    if workload == "w4":
        t = time.perf_counter()
        await cur.execute(W4)
        n = len(await cur.fetchall())
        return rate(n, time.perf_counter() - t)
    if workload == "w4stream":
        t = time.perf_counter()
        await cur.execute(W4)
        n = 0
        while batch := await cur.fetchmany(1000):
            n += len(batch)
        return rate(n, time.perf_counter() - t)
    raise SystemExit(f"unknown workload {workload}")


def main() -> None:
    client, workload, address, size = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3],
        int(sys.argv[4]),
    )
    if client == "python-aio":
        result = asyncio.run(run_aio(workload, address, size))
    else:
        result = run_sync(workload, address, size)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
