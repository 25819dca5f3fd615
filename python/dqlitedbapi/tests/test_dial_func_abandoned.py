"""A ``dial_func`` call still running when its connection is dropped.

Discovery dials every seed at once and keeps the first leader it finds: the calls for the
other nodes may still be running (each on a thread of its own, needing the GIL) when the
connection is already closed and dropped. Dropping it must not wait for them: the thread
that drops a connection holds the GIL, so waiting for a call that needs it would never
end (issue seen as a CI run stuck in ``test_dial_func_in_connect_args``).
"""

from __future__ import annotations

import asyncio
import gc
import socket
import subprocess
import sys
from typing import Any

import pytest
from dqlite_testkit import Cluster

from dqlitedbapi._dial import native_dialer

# Run in a process of its own: a deadlock there holds the GIL for good, which no timeout
# inside the test's own process could end.
SCRIPT = """
import gc, socket, sys, threading, time
import dqlitedbapi

addresses, slow, database = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
slow_done = threading.Event()

def dial(address):
    if address == slow:
        time.sleep(3)  # the GIL released; then Python again, which needs it
        slow_done.set()
    host, port = address.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=5)

conn = dqlitedbapi.connect(addresses, database=database, timeout=5, dial_func=dial)
assert conn.execute("SELECT 1").fetchall() == [(1,)]
assert not slow_done.is_set(), "the slow node was dialed to the end before connect() returned"
started = time.monotonic()
conn.close()
del conn
gc.collect()
print(f"{time.monotonic() - started:.3f}")
# The abandoned call ends on its own.
assert slow_done.wait(10)
"""


def test_dropping_a_connection_does_not_wait_for_an_abandoned_dial(
    cluster: Cluster, dbname: str
) -> None:
    leader = cluster.wait_for_leader()
    slow = cluster.addresses[(leader + 1) % len(cluster.addresses)]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(cluster.addresses), slow, dbname],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Closed and dropped at once, not when the slow call ended (about 3 s after it began).
    assert float(proc.stdout.strip()) < 1.5, proc.stdout


def test_a_call_that_finds_its_loop_closed_leaves_no_coroutine_behind() -> None:
    # An abandoned call for an asyncio connection can start after the connection's loop
    # is closed: it fails, and its coroutine, never run, is closed (a coroutine never
    # awaited warns when collected, an error under the test suite's warning filter).
    loop = asyncio.new_event_loop()
    loop.close()

    async def dial(address: str) -> Any:
        raise AssertionError(f"dial_func ran for {address} on a closed loop")

    with socket.socket(socket.AF_UNIX) as placeholder, pytest.raises(RuntimeError, match="closed"):
        native_dialer(dial, loop, 1.0)("node-0.invalid:9001", placeholder.fileno())
    gc.collect()
