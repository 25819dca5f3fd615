"""An event loop closed while an operation runs: the connection's session ends.

An operation runs to its end even when its awaiting task is cancelled, so it holds the
connection while it waits for the server. If the loop closes before the answer comes, no
callback will ever run again: the driver must then close the socket itself, so that the
server ends the session (rolling back its transaction) instead of keeping it, and its
locks, until the process exits.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import pytest

import dqlitedbapi
from dqlitedbapi.aio import aconnect

# About a second of work for the server.
SLOW = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000000) "
    "SELECT count(*) FROM c"
)


def take_write_lock(conn: dqlitedbapi.Connection, within: float) -> float:
    """Opens a write transaction on ``conn``, retrying while the database is locked;
    returns how long it took."""
    started = time.monotonic()
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return time.monotonic() - started
        except dqlitedbapi.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() - started > within:
                raise
            time.sleep(0.1)


def test_a_loop_closed_mid_statement_ends_the_session(cluster: Any, dbname: str) -> None:
    async def leave_a_statement_running() -> None:
        conn = await aconnect(cluster.address, database=dbname)
        await conn.execute("CREATE TABLE t (v)")
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO t VALUES (1)")
        # Still waiting for its answer when asyncio.run cancels it and closes the loop (the
        # task is kept, and with it the connection).
        running.append(asyncio.ensure_future(conn.execute(SLOW)))
        await asyncio.sleep(0.05)

    running: list[Any] = []

    asyncio.run(leave_a_statement_running())
    gc.collect()
    other = dqlitedbapi.connect(cluster.address, database=dbname)
    # The server ends the session once the slow statement is done (about a second): the
    # transaction is rolled back and its write lock released.
    take_write_lock(other, within=20)
    assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)
    other.rollback()
    other.close()


def test_a_loop_closed_with_an_idle_connection_ends_the_session(cluster: Any, dbname: str) -> None:
    async def leave_a_transaction_open() -> None:
        conn = await aconnect(cluster.address, database=dbname)
        await conn.execute("CREATE TABLE t (v)")
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO t VALUES (1)")
        # Kept alive past the loop's end, as a module-level object would be.
        kept.append(conn)

    kept: list[Any] = []
    asyncio.run(leave_a_transaction_open())
    other = dqlitedbapi.connect(cluster.address, database=dbname)
    assert take_write_lock(other, within=20) < 5
    assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)
    other.rollback()
    other.close()
    # The connection outlived its loop: it says so, and using it is a clear error.
    conn = kept.pop()
    assert conn.closed
    with pytest.raises(dqlitedbapi.InterfaceError, match="event loop was closed"):
        asyncio.run(conn.execute("SELECT 1"))
