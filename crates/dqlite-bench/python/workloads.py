"""Benchmark worker for the Python clients: runs one workload, prints one JSON line.

Usage: python workloads.py CLIENT WORKLOAD ADDRESS SIZE
CLIENT is python-sync, python-aio (this project's dqlitedbapi), peer-python (the
pure-Python dqlite-dbapi, same module name, run from its own interpreter) or
asyncio-floor (W1 only: what asyncio itself costs, see asyncio_floor).
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import struct
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


def frame(kind: int, body: bytes) -> bytes:
    """A request frame: the header (body size in words, type, revision) and the body."""
    return struct.pack("<IBBH", len(body) // 8, kind, 0, 0) + body


def text(value: str) -> bytes:
    """A protocol string: UTF-8, NUL-terminated, padded to a word."""
    raw = value.encode() + b"\0"
    return raw + b"\0" * (-len(raw) % 8)


class FloorProtocol(asyncio.Protocol):
    """Counts whole response frames and completes one future per response."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 8:
            end = 8 + int.from_bytes(self.buffer[:4], "little") * 8
            if len(self.buffer) < end:
                return
            more = self.buffer[4] == 7 and self.buffer[end - 8 : end] != b"\xff" * 8
            del self.buffer[:end]
            if not more:
                waiter, self.waiter = self.waiter, None
                if waiter is not None:
                    waiter.set_result(None)


async def asyncio_floor(workload: str, address: str, size: int) -> dict[str, Any]:
    """W1 the way any asyncio client must do it, with nothing else: a stock transport and
    protocol, pre-encoded frames, one future per round trip, no decoding. Its latency over
    the raw-socket floor is what asyncio itself costs on this machine."""
    if workload != "w1":
        raise SystemExit(f"asyncio-floor runs w1 only, not {workload}")
    host, port = address.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(FloorProtocol, host, int(port))
    transport.get_extra_info("socket").setsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
    )
    protocol.waiter = loop.create_future()
    transport.write(
        struct.pack("<Q", 1)
        + frame(3, text(DB) + struct.pack("<Q", 0) + text("volatile"))
    )
    await protocol.waiter
    query = frame(9, struct.pack("<Q", 0) + text(W1))
    samples = []
    for _ in range(size):
        t = time.perf_counter()
        protocol.waiter = loop.create_future()
        transport.write(query)
        await protocol.waiter
        samples.append(time.perf_counter() - t)
    transport.close()
    return latency(samples)


def main() -> None:
    client, workload, address, size = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3],
        int(sys.argv[4]),
    )
    if client == "python-aio":
        result = asyncio.run(run_aio(workload, address, size))
    elif client == "asyncio-floor":
        result = asyncio.run(asyncio_floor(workload, address, size))
    else:
        result = run_sync(workload, address, size)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
