"""Closing a connection while a call runs on it: from another task, or another thread.

The node's answers are held back by the test kit's fault proxy, so the call would wait
for its whole ``timeout``. The close interrupts it: the call raises
``DqliteConnectionError`` ("closed while an operation was in flight"; for a write already
sent, ``OutcomeUnknownError``, a subclass: "closed while a write was in flight, its
outcome is unknown"), ``close()`` waits at
most ``close_timeout``, and the connection is closed for good. A pooled connection so
closed never goes back to its pool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from dqlite_testkit import Cluster, FaultProxy, make_fixture

from dqliteclient import (
    ConnectionPool,
    DqliteConnection,
    DqliteConnectionError,
    InterfaceError,
    OutcomeUnknownError,
)
from dqliteclient import blocking as sync

# A node of this module's own behind the proxy (the shared cluster's leader may move, and a
# proxy before a follower would be bypassed by the pool's leader discovery).
one_node = make_fixture(nodes=1, scope="module", verbose=False)

CLOSE_TIMEOUT = 0.5
# Each call's own deadline: far longer than an interrupted call may take.
CALL_TIMEOUT = 10.0
# How soon an interrupted call must end (its own deadline is far later).
PROMPT = 3.0
# How long the call runs before it is closed under.
RUN_FIRST = 0.3


@pytest.fixture
def proxy(one_node: Cluster) -> Iterator[FaultProxy]:
    """The fault proxy in front of `one_node`'s node 0."""
    p = one_node.proxy(0)
    try:
        yield p
    finally:
        p.fault("none")


def assert_interrupted(error: BaseException | None, *, write: bool) -> None:
    # A write already sent may have been applied: its subclass says so (and keeps
    # retry_with_backoff from running it again).
    expected = OutcomeUnknownError if write else DqliteConnectionError
    assert type(error) is expected, repr(error)
    assert isinstance(error, DqliteConnectionError)
    text = str(error)
    if write:
        assert "closed while a write was in flight, its outcome is unknown" in text, text
    else:
        assert "closed while an operation was in flight" in text, text


# -- asyncio: close from another task ---------------------------------------------------


@pytest.fixture
async def aconn(proxy: FaultProxy, dbname: str) -> AsyncIterator[DqliteConnection]:
    conn = DqliteConnection(
        proxy.address, database=dbname, timeout=CALL_TIMEOUT, close_timeout=CLOSE_TIMEOUT
    )
    await conn.connect()
    await conn.execute("CREATE TABLE t (n INTEGER)")
    yield conn
    await conn.close()


async def interrupted_by(
    conn: DqliteConnection, call: Any, close: Callable[[], Any]
) -> tuple[BaseException | None, float, float]:
    """Runs `call` as a task, closes `conn` with `close` under it; the task's error, how
    long the close took, how long the call ran."""
    started = time.monotonic()
    task = asyncio.ensure_future(call)
    await asyncio.sleep(RUN_FIRST)
    assert not task.done()
    closing = time.monotonic()
    closed = close()
    if closed is not None:
        await closed
    took = time.monotonic() - closing
    error: BaseException | None = None
    try:
        await asyncio.wait_for(task, CALL_TIMEOUT + 5)
    except Exception as e:  # what the call raised is the result
        error = e
    return error, took, time.monotonic() - started


async def assert_closed_for_good(conn: DqliteConnection) -> None:
    assert conn.closed
    assert not conn.is_connected
    with pytest.raises(InterfaceError, match="closed"):
        await conn.execute("SELECT 1")


@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
async def test_close_from_another_task_interrupts_a_stalled_call(
    proxy: FaultProxy, aconn: DqliteConnection, write: bool
) -> None:
    proxy.fault("blackhole")
    call = aconn.execute("INSERT INTO t VALUES (1)") if write else aconn.fetchall("SELECT 1")
    error, took, ran = await interrupted_by(aconn, call, aconn.close)
    assert took < CLOSE_TIMEOUT + 0.5, took
    assert_interrupted(error, write=write)
    assert ran < PROMPT, ran
    await assert_closed_for_good(aconn)


async def test_terminate_interrupts_a_stalled_call(
    proxy: FaultProxy, aconn: DqliteConnection
) -> None:
    proxy.fault("blackhole")
    error, took, ran = await interrupted_by(aconn, aconn.fetchall("SELECT 1"), aconn.terminate)
    assert took < 0.1, took
    assert_interrupted(error, write=False)
    assert ran < PROMPT, ran
    await assert_closed_for_good(aconn)


async def test_close_with_no_call_running_does_not_wait(
    proxy: FaultProxy, aconn: DqliteConnection
) -> None:
    proxy.fault("blackhole")
    started = time.monotonic()
    await aconn.close()
    assert time.monotonic() - started < 0.1
    await assert_closed_for_good(aconn)


async def test_a_pooled_connection_closed_under_its_call_leaves_the_pool(
    proxy: FaultProxy, dbname: str
) -> None:
    pool = ConnectionPool(
        [proxy.address],
        database=dbname,
        min_size=0,
        max_size=1,
        timeout=CALL_TIMEOUT,
        close_timeout=CLOSE_TIMEOUT,
    )
    try:
        await pool.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
        async with pool.acquire() as conn:
            proxy.fault("blackhole")
            error, _, ran = await interrupted_by(conn, conn.fetchall("SELECT 1"), conn.close)
            assert_interrupted(error, write=False)
            assert ran < PROMPT, ran
            proxy.fault("none")
        # Not given back: the pool's only slot gets a fresh, working connection.
        assert pool._native is not None
        open_, idle, _ = pool._native.stats()
        assert (open_, idle) == (0, 0), (open_, idle)
        assert await pool.fetchval("SELECT count(*) FROM t") == 0
    finally:
        await pool.close()


async def test_pool_close_does_not_wait_for_a_call_and_fails_waiters(
    proxy: FaultProxy, dbname: str
) -> None:
    pool = ConnectionPool(
        [proxy.address], database=dbname, min_size=0, max_size=1, timeout=CALL_TIMEOUT
    )
    await pool.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    async with pool.acquire() as conn:
        proxy.fault("blackhole")
        call = asyncio.ensure_future(conn.fetchall("SELECT 1"))

        async def wait_for_a_slot() -> None:
            async with pool.acquire():
                pass

        waiter = asyncio.ensure_future(wait_for_a_slot())
        await asyncio.sleep(RUN_FIRST)
        started = time.monotonic()
        await pool.close()
        assert time.monotonic() - started < 0.1
        # The checkout waiting for the only slot fails at once.
        with pytest.raises(DqliteConnectionError, match="closed"):
            await asyncio.wait_for(waiter, 1.0)
        # As in the reference, the running call is its user's: closing it ends it.
        assert not call.done()
        await conn.close()
        with pytest.raises(DqliteConnectionError, match="in flight"):
            await asyncio.wait_for(call, PROMPT)
        proxy.fault("none")
    assert pool._native is not None
    assert pool._native.stats()[:2] == (0, 0)


# -- blocking: close from another thread ------------------------------------------------


def run_timed(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    """What `call` raised, and when it ended."""
    try:
        call()
    except BaseException as e:  # what the call raised is the result
        return e, time.monotonic()
    return None, time.monotonic()


@pytest.fixture
def bconn(proxy: FaultProxy, dbname: str) -> Iterator[sync.DqliteConnection]:
    conn = sync.DqliteConnection(
        proxy.address, database=dbname, timeout=CALL_TIMEOUT, close_timeout=CLOSE_TIMEOUT
    )
    conn.connect()
    conn.execute("CREATE TABLE t (n INTEGER)")
    yield conn
    conn.close()


def close_under(
    conn: sync.DqliteConnection, call: Callable[[], object]
) -> tuple[BaseException | None, float, float]:
    """Runs `call` on another thread and closes `conn` under it: what the call raised, how
    long the close took, how long the call ran."""
    with ThreadPoolExecutor(1) as thread:
        started = time.monotonic()
        running = thread.submit(run_timed, call)
        time.sleep(RUN_FIRST)
        assert not running.done()
        closing = time.monotonic()
        conn.close()
        took = time.monotonic() - closing
        error, ended = running.result(CALL_TIMEOUT + 5)
    return error, took, ended - started


def assert_blocking_closed_for_good(conn: sync.DqliteConnection) -> None:
    assert conn.closed
    assert not conn.is_connected
    with pytest.raises(InterfaceError, match="closed"):
        conn.execute("SELECT 1")


@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
def test_close_from_another_thread_interrupts_a_stalled_call(
    proxy: FaultProxy, bconn: sync.DqliteConnection, write: bool
) -> None:
    proxy.fault("blackhole")
    run: Callable[[str], object] = bconn.execute if write else bconn.fetchall
    sql = "INSERT INTO t VALUES (1)" if write else "SELECT 1"
    error, took, ran = close_under(bconn, lambda: run(sql))
    # The call ends at once; close() waited for it (not for its whole deadline).
    assert took < CLOSE_TIMEOUT + 0.5, took
    assert_interrupted(error, write=write)
    assert ran < PROMPT, ran
    assert_blocking_closed_for_good(bconn)


def test_a_blocking_pooled_connection_closed_under_its_call_leaves_the_pool(
    proxy: FaultProxy, dbname: str
) -> None:
    with sync.ConnectionPool(
        [proxy.address], database=dbname, min_size=0, max_size=1, timeout=CALL_TIMEOUT
    ) as pool:
        pool.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
        with pool.acquire() as conn:
            proxy.fault("blackhole")
            error, took, ran = close_under(conn, lambda: conn.fetchall("SELECT 1"))
            assert took < CLOSE_TIMEOUT + 0.5, took
            assert_interrupted(error, write=False)
            assert ran < PROMPT, ran
            proxy.fault("none")
        assert pool._native is not None
        assert pool._native.stats()[:2] == (0, 0)
        assert pool.fetchval("SELECT count(*) FROM t") == 0
