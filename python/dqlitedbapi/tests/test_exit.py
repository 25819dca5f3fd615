"""The interpreter exits cleanly after asyncio use (no thread touches Python at exit), and
with daemon threads inside blocking calls."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

SCRIPT = """
import asyncio, sys
from dqlitedbapi.aio import aconnect

async def main(address, database, close):
    conn = await aconnect(address, database=database)
    cur = conn.cursor()
    for _ in range(300):
        await cur.execute("SELECT 1")
        await cur.fetchall()
    # A statement left running when the loop ends.
    task = asyncio.ensure_future(conn.execute("SELECT 2"))
    await asyncio.sleep(0)
    if close:
        await task
        await conn.close()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] == "close"))
"""


def test_asyncio_process_exits_cleanly(cluster: Any, dbname: str) -> None:
    failures = []
    for i in range(20):
        mode = "close" if i % 2 == 0 else "leave"
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT, cluster.address, dbname, mode],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if proc.returncode != 0:
            failures.append((i, mode, proc.returncode, proc.stderr[-2000:]))
    assert failures == []


SYNC_SCRIPT = """
import sys, threading, time
import dqlitedbapi

address, database, mode = sys.argv[1], sys.argv[2], sys.argv[3]
SERIES = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000) "
    "SELECT n, printf('%0100d', n) FROM c"
)
conn = dqlitedbapi.connect(address, database=database, check_same_thread=False)
conn.execute("SELECT 1")
started = threading.Barrier(3)

def work(i):
    started.wait()
    while True:
        if mode == "stream":
            # Rows read frame by frame: a network wait at every frame.
            for _ in conn.execute(SERIES):
                pass
        elif mode == "connect":
            dqlitedbapi.connect(address, database=database).execute("SELECT 1")
        else:
            conn.execute("SELECT ?", (i,)).fetchall()

for i in range(2):
    threading.Thread(target=work, args=(i,), daemon=True).start()
started.wait()
time.sleep(0.2)
# The interpreter exits with the daemon threads inside the driver's calls.
"""


def test_process_exits_cleanly_with_daemon_threads_in_calls(cluster: Any, dbname: str) -> None:
    # Before Python 3.14, a daemon thread that asks for the GIL back during finalization
    # is ended with pthread_exit, whose unwinding through the driver crashed the process.
    failures = []
    for i in range(12):
        mode = ("stream", "connect", "quick")[i % 3]
        proc = subprocess.run(
            [sys.executable, "-c", SYNC_SCRIPT, cluster.address, dbname, mode],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if proc.returncode != 0:
            failures.append((i, mode, proc.returncode, proc.stderr[-2000:]))
    assert failures == []
