"""The interpreter exits cleanly after asyncio use (no thread touches Python at exit)."""

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
