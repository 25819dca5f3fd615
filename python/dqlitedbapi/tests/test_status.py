"""``in_transaction`` and ``closed`` tell the truth while another call holds the connection.

A statement running in another thread (or task) holds the connection; the getters do not
wait for it and must not guess: they report the state as of the last statement that
finished.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import dqlitedbapi
from dqlitedbapi.aio import aconnect

# About a second of work for the server.
SLOW = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000000) "
    "SELECT count(*) FROM c"
)


def test_getters_while_another_thread_runs_a_statement(cluster: Any, dbname: str) -> None:
    conn = dqlitedbapi.connect(cluster.address, database=dbname, check_same_thread=False)
    conn.execute("CREATE TABLE t (v)")
    for begin in (False, True):
        if begin:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t VALUES (1)")
        worker = threading.Thread(target=lambda: conn.execute(SLOW).fetchall())
        worker.start()
        time.sleep(0.2)
        assert worker.is_alive(), "the slow statement should still be running"
        assert conn.in_transaction is begin
        assert not conn.closed
        worker.join()
    conn.rollback()
    assert not conn.in_transaction
    conn.close()
    assert conn.closed


async def test_getters_while_a_task_runs_a_statement(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname)
    running = asyncio.ensure_future(conn.execute(SLOW))
    await asyncio.sleep(0.2)
    assert not running.done()
    assert not conn.in_transaction
    assert not conn.closed
    await running
    await conn.execute("BEGIN")
    running = asyncio.ensure_future(conn.execute(SLOW))
    await asyncio.sleep(0.2)
    assert conn.in_transaction
    await running
    await conn.rollback()
    await conn.close()
    assert conn.closed
    assert isinstance(conn, dqlitedbapi.aio.AsyncConnection)
