"""asyncio cancellation at every call of a connection, with a fault proxy slowing the node.

A call whose task is cancelled may be half done: the connection is closed, so that nothing
reports on it afterwards as if the call had not happened (a COMMIT cut off may still
commit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from dqlite_testkit import Cluster, make_fixture

import dqlitedbapi
from dqlitedbapi.aio import AsyncConnection, aconnect

pytestmark = pytest.mark.failover

one_node = make_fixture(nodes=1, scope="module", verbose=False)


async def _in_transaction(cluster: Cluster, dbname: str) -> tuple[AsyncConnection, Any]:
    proxy = cluster.proxy(0)
    conn = await aconnect(proxy.address, database=dbname)
    await conn.execute("CREATE TABLE t (n)")
    await conn.execute("BEGIN")
    await conn.execute("INSERT INTO t VALUES (1)")
    return conn, proxy


async def _count(cluster: Cluster, dbname: str) -> int:
    direct = await aconnect(cluster.address, database=dbname)
    try:
        (n,) = await (await direct.execute("SELECT count(*) FROM t")).fetchone()
        return int(n)
    finally:
        await direct.close()


@pytest.mark.parametrize("commit", [True, False])
async def test_a_cancelled_commit_or_rollback_closes_the_connection(
    one_node: Cluster, dbname: str, commit: bool
) -> None:
    conn, proxy = await _in_transaction(one_node, dbname)
    proxy.fault("latency 200")
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await (conn.commit() if commit else conn.rollback())
    finally:
        proxy.fault("none")
    # The COMMIT (or ROLLBACK) went out and may have run: the connection is given up, and
    # a later call says so rather than succeed as if nothing had been sent.
    assert conn.closed
    assert conn.invalidated
    with pytest.raises(dqlitedbapi.InterfaceError):
        await conn.rollback()
    with pytest.raises(dqlitedbapi.InterfaceError):
        await conn.commit()
    await conn.close()
    await asyncio.sleep(0.6)
    assert await _count(one_node, dbname) in (0, 1)


async def test_a_cancelled_switch_to_read_only_closes_the_connection(
    one_node: Cluster, dbname: str
) -> None:
    proxy = one_node.proxy(0)
    conn = await aconnect(proxy.address, database=dbname)
    await conn.execute("CREATE TABLE t (n)")
    proxy.fault("latency 200")
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await conn.set_session_mode("read_only")
    finally:
        proxy.fault("none")
    # PRAGMA query_only may have run while the session mode still says otherwise: the
    # connection is given up rather than refuse writes its mode allows.
    assert conn.invalidated
    with pytest.raises(dqlitedbapi.InterfaceError):
        await conn.execute("INSERT INTO t VALUES (1)")
    await conn.close()


SLOW = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5000000) "
    "SELECT count(*) FROM c"
)


async def test_a_statement_cancelled_while_queued_is_never_run(
    one_node: Cluster, dbname: str
) -> None:
    # Several tasks share the connection; one's statement waits behind another's slow
    # one, and its task is cancelled (its own timeout). Nothing of it was sent: it is
    # skipped, and neither the slow statement nor the connection is cut off.
    conn = await aconnect(one_node.address, database=dbname)
    await conn.execute("CREATE TABLE t (n)")
    slow = asyncio.create_task(conn.execute(SLOW))
    await asyncio.sleep(0.02)
    queued_calls: list[Callable[[], Coroutine[Any, Any, Any]]] = [
        lambda: conn.execute("INSERT INTO t VALUES (1)"),
        lambda: conn.executemany("INSERT INTO t VALUES (?)", [(2,), (3,)]),
        lambda: conn.executescript("INSERT INTO t VALUES (4);"),
        lambda: conn.execute("BEGIN"),
    ]
    for make in queued_calls:
        queued = asyncio.create_task(make())
        await asyncio.sleep(0.01)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
    assert not slow.done(), "the slow statement must outlast the cancellations"
    assert await (await slow).fetchone() == (5000000,)
    assert not conn.closed
    assert not conn.in_transaction
    assert await (await conn.execute("SELECT count(*) FROM t")).fetchone() == (0,)
    # A COMMIT queued behind a statement and cancelled never commits: the transaction
    # stays open for a rollback that undoes it.
    await conn.execute("BEGIN")
    await conn.execute("INSERT INTO t VALUES (5)")
    slow = asyncio.create_task(conn.execute(SLOW))
    await asyncio.sleep(0.02)
    commit = asyncio.create_task(conn.commit())
    await asyncio.sleep(0.01)
    commit.cancel()
    with pytest.raises(asyncio.CancelledError):
        await commit
    await slow
    assert conn.in_transaction
    await conn.rollback()
    assert await _count(one_node, dbname) == 0
    await conn.close()
