"""The asyncio floor: what asyncio itself costs on W1 (see asyncio_floor)."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

from workloads import DB, W1, latency


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
