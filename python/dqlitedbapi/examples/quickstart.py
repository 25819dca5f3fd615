"""dqlitedbapi quickstart: the sync and asyncio APIs against a running cluster.

Usage: python quickstart.py 127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003
"""

from __future__ import annotations

import asyncio
import sys

import dqlitedbapi
from dqlitedbapi import aio


def sync_demo(servers: str) -> None:
    # Leader discovery from any seed; autocommit by default, as with sqlite3.
    conn = dqlitedbapi.connect(servers, database="quickstart")
    conn.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT, data BLOB)")
    conn.execute("DELETE FROM notes")
    # An explicit transaction: BEGIN ... COMMIT (the context manager commits or rolls back).
    with conn:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO notes (body, data) VALUES (?, ?)",
            [("first", b"\x00\x01"), ("second", None), ("ünïcode ✓", b"")],
        )
    cur = conn.execute("SELECT id, body, data FROM notes WHERE id > :min ORDER BY id", {"min": 0})
    print("columns:", [d[0] for d in cur.description])
    for row in cur:
        print("sync row:", row)
    try:
        conn.execute("INSERT INTO notes (id, body) VALUES (1, 'duplicate')")
    except dqlitedbapi.IntegrityError as e:
        print("IntegrityError:", e, e.sqlite_errorname)
    conn.close()


async def async_demo(servers: str) -> None:
    conn = await aio.aconnect(servers, database="quickstart")
    try:
        cur = conn.cursor()
        await cur.execute("SELECT count(*), group_concat(body, ', ') FROM notes")
        print("async:", await cur.fetchone())
    finally:
        await conn.close()


if __name__ == "__main__":
    servers = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9001"
    sync_demo(servers)
    asyncio.run(async_demo(servers))
