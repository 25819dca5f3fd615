"""The asyncio API against a real cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

import dqlitedbapi
from dqlitedbapi._native import NativeConnection
from dqlitedbapi.aio import AsyncConnection, aconnect

SLOW = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000000) "
    "SELECT count(*) FROM c"
)


async def test_basic_flow(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname)
    assert isinstance(conn, AsyncConnection)
    assert conn.Error is dqlitedbapi.Error
    cur = conn.cursor()
    await cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    await cur.executemany("INSERT INTO t (v) VALUES (?)", [("a",), ("b",), ("c",)])
    assert cur.rowcount == 3
    await cur.execute("INSERT INTO t (v) VALUES (:v)", {"v": "d"})
    assert cur.lastrowid == 4
    await cur.execute("SELECT id, v FROM t ORDER BY id")
    assert cur.description is not None
    assert cur.description[1][0] == "v"
    assert await cur.fetchone() == (1, "a")
    assert await cur.fetchmany(2) == [(2, "b"), (3, "c")]
    assert await cur.fetchall() == [(4, "d")]
    rows = [row async for row in await conn.execute("SELECT v FROM t ORDER BY id")]
    assert rows == [("a",), ("b",), ("c",), ("d",)]
    await conn.executescript("BEGIN; DELETE FROM t;")
    assert conn.in_transaction
    await conn.rollback()
    assert not conn.in_transaction
    async with conn:
        await conn.execute("BEGIN")
        await conn.execute("DELETE FROM t WHERE id = 1")
    assert not conn.in_transaction
    async with conn.cursor() as c2:
        await c2.execute("SELECT count(*) FROM t")
        assert await c2.fetchone() == (3,)
    with pytest.raises(dqlitedbapi.IntegrityError) as info:
        await conn.execute("INSERT INTO t VALUES (2, 'x')")
    assert info.value.sqlite_errorname == "SQLITE_CONSTRAINT_PRIMARYKEY"
    await conn.close()
    await conn.close()
    with pytest.raises(dqlitedbapi.InterfaceError):
        await conn.execute("SELECT 1")


async def test_streaming_async(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname)
    cur = await conn.execute(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 50000) "
        "SELECT n FROM c"
    )
    total = 0
    while rows := await cur.fetchmany(999):
        total += len(rows)
    assert total == 50000
    await conn.close()


async def _assert_invalidated(conn: AsyncConnection) -> None:
    assert conn.closed
    assert conn.invalidated
    with pytest.raises(dqlitedbapi.InterfaceError) as info:
        await conn.execute("SELECT 1")
    assert info.value.connection_lost


async def test_a_cancelled_execute_closes_the_connection(cluster: Any, dbname: str) -> None:
    # As in the pure-Python dqlite-dbapi: the request may be half done, so the connection
    # is given up (a pool replaces it); the server rolls back what it started.
    conn = await aconnect(cluster.address, database=dbname)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await conn.execute(SLOW)
    await _assert_invalidated(conn)
    conn = await aconnect(cluster.address, database=dbname)
    task = asyncio.create_task(conn.execute(SLOW))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _assert_invalidated(conn)
    await conn.close()
    assert not conn.invalidated
    again = await aconnect(cluster.address, database=dbname)
    assert await (await again.execute("SELECT 6")).fetchone() == (6,)
    await again.close()


async def test_a_cancelled_fetch_closes_the_connection(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname)
    cur = await conn.execute(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 300000) "
        "SELECT n, printf('%0200d', n) FROM c"
    )
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.001):
            await cur.fetchall()
    await _assert_invalidated(conn)


async def test_a_cancelled_executemany_closes_the_connection(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname)
    await conn.execute("CREATE TABLE m (n)")
    await conn.execute("BEGIN")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await conn.executemany("INSERT INTO m VALUES (?)", [(i,) for i in range(200_000)])
    await _assert_invalidated(conn)
    again = await aconnect(cluster.address, database=dbname)
    assert await (await again.execute("SELECT count(*) FROM m")).fetchone() == (0,)
    await again.close()


async def test_one_cursor_refuses_a_second_concurrent_execute(aconn: AsyncConnection) -> None:
    cur = aconn.cursor()
    first = asyncio.create_task(cur.execute(SLOW))
    await asyncio.sleep(0.01)
    with pytest.raises(dqlitedbapi.InterfaceError, match="already executing"):
        await cur.execute("SELECT 1")
    await first
    assert await cur.fetchone() is not None


async def test_a_quick_execute_still_refuses_a_concurrent_one(aconn: AsyncConnection) -> None:
    # The reference suite's test_concurrent_execute_on_one_cursor_raises: the first task's
    # execute must let the second task run (and be refused) even when its answer was
    # already there when the call returned, as happens under load.
    cur = aconn.cursor()
    for attempt in range(100):
        started = asyncio.Event()

        async def first(started: asyncio.Event, n: int) -> Any:
            started.set()
            await cur.execute("SELECT ?", (n,))
            return await cur.fetchone()

        async def second(started: asyncio.Event) -> Any:
            await started.wait()
            await cur.execute("SELECT 2")
            return await cur.fetchone()

        results: tuple[Any, Any] = await asyncio.gather(
            first(started, attempt), second(started), return_exceptions=True
        )
        one, two = results
        assert one == (attempt,)
        assert isinstance(two, dqlitedbapi.InterfaceError), (attempt, two)
        assert "already executing" in str(two)


class _AnsweredAtOnce:
    """A connection's native core whose every ``aexecute`` is answered at once, with one
    real result of a statement without rows: what a loaded machine does now and then (the
    answer is there when the request is written), here on demand."""

    def __init__(self, native: Any, result: Any) -> None:
        self._native = native
        self._result = result

    def aexecute(self, sql: str, params: object = None) -> Any:
        return self._result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._native, name)


async def _answered_at_once(conn: AsyncConnection) -> Any:
    """Makes ``conn``'s executes answered at once; returns its real native core."""
    await conn.execute("CREATE TABLE IF NOT EXISTS quick (n)")
    native = conn._native
    assert native is not None
    answered = _AnsweredAtOnce(
        native, await conn.cursor()._wait(native.aexecute("UPDATE quick SET n = 1"))
    )
    conn._native = cast(NativeConnection, answered)
    return native


async def test_executes_answered_at_once_refuse_a_concurrent_one(aconn: AsyncConnection) -> None:
    # Another task ready to run gets its turn during an execute answered at once, as when
    # the answer takes time: its execute on the same cursor is refused.
    native = await _answered_at_once(aconn)
    cur = aconn.cursor()
    for _ in range(10):
        started = asyncio.Event()

        async def first(started: asyncio.Event) -> None:
            started.set()
            await cur.execute("UPDATE quick SET n = 1")

        async def second(started: asyncio.Event) -> None:
            await started.wait()
            await cur.execute("UPDATE quick SET n = 2")

        one, two = await asyncio.gather(first(started), second(started), return_exceptions=True)
        assert one is None
        assert isinstance(two, dqlitedbapi.InterfaceError)
        assert "already executing" in str(two)
    aconn._native = native


async def test_executes_answered_at_once_let_a_timer_fire(aconn: AsyncConnection) -> None:
    # With nothing else ready, an execute answered at once may skip the loop's turn, but
    # not every time: a deadline still fires in a loop of them.
    native = await _answered_at_once(aconn)
    cur = aconn.cursor()
    await _a_deadline_fires_in_a_loop_of(lambda: cur.execute("UPDATE quick SET n = 1"))
    aconn._native = native


async def _a_deadline_fires_in_a_loop_of(call: Callable[[], Awaitable[object]]) -> None:
    """A 50 ms deadline fires in a loop of ``call()`` (bounded to a million of them)."""
    runs = 0
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            while runs < 1_000_000:
                runs += 1
                await call()
    assert runs < 1_000_000, "a deadline did not fire in a million calls"


def _fetched_at_once() -> asyncio.Future[list[tuple[int]]]:
    """What a fetch whose frame of rows was already received gets: a completed future."""
    answered: asyncio.Future[list[tuple[int]]] = asyncio.get_running_loop().create_future()
    answered.set_result([(1,)])
    return answered


async def test_fetches_answered_at_once_refuse_a_concurrent_execute(
    aconn: AsyncConnection,
) -> None:
    # As an execute answered at once: another task ready to run gets its turn, and its
    # execute on the same cursor is refused, as during a fetch that waits.
    cur = aconn.cursor()
    for _ in range(10):
        started = asyncio.Event()

        async def first(started: asyncio.Event) -> Any:
            started.set()
            return await cur._wait(_fetched_at_once())

        async def second(started: asyncio.Event) -> None:
            await started.wait()
            await cur.execute("SELECT 2")

        results: tuple[Any, Any] = await asyncio.gather(
            first(started), second(started), return_exceptions=True
        )
        one, two = results
        assert one == [(1,)]
        assert isinstance(two, dqlitedbapi.InterfaceError)
        assert "already executing" in str(two)


async def test_fetches_answered_at_once_let_a_timer_fire(aconn: AsyncConnection) -> None:
    # With nothing else ready, a fetch answered at once may skip the loop's turn, but not
    # every time: a deadline still fires in a loop of them.
    cur = aconn.cursor()
    await _a_deadline_fires_in_a_loop_of(lambda: cur._wait(_fetched_at_once()))


async def test_a_long_fetch_lets_other_tasks_run(cluster: Any, dbname: str) -> None:
    # Rows that arrive faster than they are decoded never make a read wait; the event loop
    # must get its turns anyway (timers, cancellation and other tasks depend on it).
    conn = await aconnect(cluster.address, database=dbname)
    cur = await conn.execute(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 50000) "
        "SELECT n, printf('%0100d', n) FROM c"
    )
    # Meanwhile the node fills the socket buffers: the reads below find data waiting.
    await asyncio.sleep(0.3)
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    rows = await cur.fetchall()
    during = ticks - before
    running = False
    await task
    assert len(rows) == 50000
    assert rows[-1][0] == 50000
    assert during >= 2, f"the loop ran {during} other steps during a 5 MB fetch"
    await conn.close()


BIG = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5000000) "
    "SELECT n FROM c"
)


async def test_a_long_async_for_lets_the_loop_run(aconn: AsyncConnection) -> None:
    # Each row of an `async for` is a fetch; the rows of a frame already received, and the
    # next frame too when it arrived meanwhile, are there at once. The loop must get a
    # turn at least once per frame all the same.
    cur = await aconn.execute(BIG)
    await asyncio.sleep(0.3)  # the node fills the socket buffers meanwhile
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    read = 0
    async for _ in cur:
        read += 1
        if read == 200_000:
            break
    during = ticks - before
    running = False
    await task
    # 200,000 rows of one integer are several frames (a frame holds at most a few
    # thousand of them).
    assert during >= 10, f"the loop ran {during} other steps while 200,000 rows were read"


async def test_a_timeout_around_an_async_for_fires(cluster: Any, dbname: str) -> None:
    # The reference suite's test_cancel_during_async_for: the deadline lands inside the
    # iteration (reading 5 million rows takes seconds), which invalidates the connection.
    conn = await aconnect(cluster.address, database=dbname, timeout=2.0)
    cur = conn.cursor()
    read = 0
    started = asyncio.get_running_loop().time()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await cur.execute(BIG)
            async for _ in cur:
                read += 1
    elapsed = asyncio.get_running_loop().time() - started
    assert 0 < read < 5_000_000
    assert elapsed < 2.0, f"the 50 ms deadline fired after {elapsed:.2f} s"
    await _assert_invalidated(conn)


async def test_a_refused_concurrent_execute_sends_nothing(cluster: Any, dbname: str) -> None:
    setup = await aconnect(cluster.address, database=dbname)
    await setup.execute("CREATE TABLE r (n)")
    await setup.close()
    # Refused while the first execute opens the connection, and while it runs: the
    # refused statements never reach the server.
    conn = AsyncConnection(cluster.address, database=dbname)
    cur = conn.cursor()
    first = asyncio.create_task(cur.execute("INSERT INTO r VALUES (1)"))
    await asyncio.sleep(0)
    with pytest.raises(dqlitedbapi.InterfaceError, match="already executing"):
        await cur.execute("INSERT INTO r VALUES (2)")
    await first
    slow = asyncio.create_task(cur.execute(SLOW))
    await asyncio.sleep(0)
    for refused in (cur.execute("INSERT INTO r VALUES (3)"), cur.executescript("DELETE FROM r")):
        with pytest.raises(dqlitedbapi.InterfaceError, match="already executing"):
            await refused
    with pytest.raises(dqlitedbapi.InterfaceError, match="already executing"):
        await cur.executemany("INSERT INTO r VALUES (?)", [(4,)])
    await slow
    assert await cur.fetchone() == (3000000,)
    assert await (await conn.execute("SELECT n FROM r")).fetchall() == [(1,)]
    await conn.close()


async def test_private_names_of_the_reference_cursor(aconn: AsyncConnection) -> None:
    # dqlite-dbapi 0.8.0's AsyncCursor buffers every result in `_rows`; code reads it
    # (its own test suite does, after a failed executemany).
    cur = aconn.cursor()
    assert cur._rows == []
    assert cur._description is None
    await cur.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
    with pytest.raises(dqlitedbapi.IntegrityError):
        await cur.executemany("INSERT INTO p VALUES (?)", [(1,), (1,)])
    assert cur._rows == []
    assert cur._description is None
    await cur.execute("PRAGMA busy_timeout")
    assert cur._rows == [(5000,)]
    assert cur._description == cur.description
    await cur.execute("SELECT 1")
    with pytest.raises(AttributeError, match="streams"):
        _ = cur._rows


async def test_concurrent_tasks_are_serialised(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname)
    await conn.execute("CREATE TABLE c (n)")

    async def work(i: int) -> Any:
        await conn.execute("INSERT INTO c VALUES (?)", (i,))
        return await (await conn.execute("SELECT ?", (i,))).fetchone()

    results = await asyncio.gather(*(work(i) for i in range(20)))
    assert results == [(i,) for i in range(20)]
    assert await (await conn.execute("SELECT count(*) FROM c")).fetchone() == (20,)
    await conn.close()


def test_repeated_asyncio_run(cluster: Any, dbname: str) -> None:
    async def once() -> Any:
        conn = await aconnect(cluster.address, database=dbname)
        try:
            return await (await conn.execute("SELECT 1")).fetchone()
        finally:
            await conn.close()

    for _ in range(3):
        assert asyncio.run(once()) == (1,)


async def test_event_loop_keeps_running_during_query(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    t = asyncio.create_task(ticker())
    await (await conn.execute(SLOW)).fetchone()
    t.cancel()
    assert ticks > 20
    await conn.close()


async def test_sync_connection_refuses_async_use(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname)
    native = conn._native
    assert native is not None
    with pytest.raises(dqlitedbapi.InterfaceError):
        native.execute("SELECT 1")
    await conn.close()


async def test_executemany_pipelined_and_failing_row(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname)
    await conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
    await conn.execute("BEGIN")
    cur = await conn.executemany("INSERT INTO p VALUES (?)", [(i,) for i in range(3000)])
    assert cur.rowcount == 3000
    with pytest.raises(dqlitedbapi.IntegrityError, match="parameter set 5") as info:
        rows = [(i,) for i in range(3000, 3005)] + [(0,)] + [(i,) for i in range(3005, 3100)]
        await cur.executemany("INSERT INTO p VALUES (?)", rows)
    assert getattr(info.value, "executemany_row", None) == 5
    assert cur.completed_iterations == 5
    assert cur.rowcount == -1
    # Rows after the failing one were in flight and may have run: roll back.
    await conn.rollback()
    assert await (await conn.execute("SELECT count(*) FROM p")).fetchone() == (0,)
    await conn.close()


def test_a_connection_refuses_another_event_loop(cluster: Any, dbname: str) -> None:
    conn = asyncio.run(aconnect(cluster.address, database=dbname))

    async def reuse() -> None:
        with pytest.raises(dqlitedbapi.InterfaceError, match="different event loop"):
            await conn.execute("SELECT 1")
        await conn.close()

    asyncio.run(reuse())


async def test_fetch_without_result_after_a_cancel(aconn: AsyncConnection) -> None:
    cur = aconn.cursor()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await cur.execute(SLOW)
    assert cur.description is None
    assert await cur.fetchall() == []
    with pytest.raises(dqlitedbapi.InterfaceError):
        await cur.execute("SELECT 1")
