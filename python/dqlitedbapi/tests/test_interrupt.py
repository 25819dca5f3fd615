"""Ctrl-C and asyncio cancellation in the middle of reading a result never lose rows.

The rows an interrupted call had already taken are returned by the cursor's next fetch,
and a result whose rest could not be read raises once its rows run out: a cursor never
ends early as if its result were complete.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from dqlite_testkit import Cluster, make_fixture

import dqlitedbapi
from dqlitedbapi import Connection
from dqlitedbapi.aio import aconnect

SLOW_ROWS = 200
# Each row costs the server a few milliseconds (a correlated recursive count) and two rows
# fill a frame, so the rows after the first frame arrive over a second or more, never in
# one long step of the server's loop.
SLOW_RESULT = (
    f"WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {SLOW_ROWS}) "
    "SELECT n, zeroblob(3000), (WITH RECURSIVE d(m) AS (SELECT c.n UNION ALL "
    "SELECT m + 1 FROM d WHERE m < c.n + 20000) SELECT count(*) FROM d) FROM c"
)
ALL = list(range(1, SLOW_ROWS + 1))


# One long step of the server's loop (a count over 3,000,000 rows, well over 0.3 s here).
# A client that gives up on it closes its connection, but the server finishes the step
# anyway and answers no one else meanwhile, so a later connection's handshake waits.
ONE_LONG_STEP = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000000) "
    "SELECT count(*) FROM c"
)


@pytest.fixture
def server_left_busy(cluster: Any, dbname: str) -> None:
    """The leader still busy with a query whose client gave up on it (as an earlier
    test's cancelled call leaves it)."""

    async def abandon() -> None:
        conn = await aconnect(cluster.address, database=dbname)
        try:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await conn.execute(ONE_LONG_STEP)
        finally:
            await conn.close()

    asyncio.run(abandon())


@contextlib.contextmanager
def ctrl_c_after(*delays: float) -> Iterator[None]:
    """A simulated Ctrl-C `delays` seconds (each) into the block."""
    # A process started in the background by a non-interactive shell inherits SIGINT
    # ignored, and Python then installs no handler: install Python's own for the block.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timers = [threading.Timer(d, _thread.interrupt_main) for d in delays]
    for timer in timers:
        timer.start()
    try:
        yield
    finally:
        for timer in timers:
            timer.cancel()
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def ctrl_c_soon(conn: Connection) -> Iterator[None]:
    """A simulated Ctrl-C 0.3 s into the test, on `conn` already open.

    The connection is opened first: its handshake waits for whatever the server is still
    doing for an earlier test, which must not eat into the test's 0.3 s.
    """
    conn.connect()
    with ctrl_c_after(0.3):
        yield


def numbers(rows: list[Any]) -> list[int]:
    return [r[0] for r in rows]


def test_ctrl_c_while_parking_fails_the_cursor(conn: Connection, ctrl_c_soon: None) -> None:
    first = conn.execute(SLOW_RESULT)
    got = [first.fetchone()]
    with pytest.raises(KeyboardInterrupt):
        # Reads the rest of `first` into memory first (a second or more of work).
        conn.execute("SELECT 1")
    with pytest.raises(dqlitedbapi.OperationalError, match="interrupted"):
        while (row := first.fetchone()) is not None:
            got.append(row)
    # The rows that arrived before the interrupt came first, in order.
    assert 1 <= len(got) < SLOW_ROWS
    assert numbers(got) == list(range(1, len(got) + 1))
    # The connection itself is in sync.
    assert conn.execute("SELECT 2").fetchone() == (2,)


def test_ctrl_c_while_parking_after_the_server_was_left_busy(
    server_left_busy: None, conn: Connection, ctrl_c_soon: None
) -> None:
    # Ran after test_aio.py, the first test of this file used to get its Ctrl-C while
    # still connecting (the handshake waited for a query a cancelled test had left
    # running), outside its pytest.raises: the KeyboardInterrupt stopped the whole run.
    test_ctrl_c_while_parking_fails_the_cursor(conn, ctrl_c_soon)


def test_ctrl_c_during_fetchall_loses_no_rows(conn: Connection, ctrl_c_soon: None) -> None:
    cur = conn.execute(SLOW_RESULT)
    with pytest.raises(KeyboardInterrupt):
        cur.fetchall()
    assert numbers(cur.fetchall()) == ALL
    assert conn.execute("SELECT 2").fetchone() == (2,)


async def test_cancelled_fetchall_loses_no_rows_silently(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname)
    cur = await conn.execute(SLOW_RESULT)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await cur.fetchall()
    # A cancelled call closes the connection (as dqlite-dbapi 0.8 does): the rest of the
    # result is refused, never cut short.
    with pytest.raises(dqlitedbapi.InterfaceError) as info:
        await cur.fetchall()
    assert info.value.connection_lost
    assert conn.invalidated
    await conn.close()
    assert not conn.invalidated


def test_ctrl_c_during_a_long_autocommit_executemany(conn: Connection) -> None:
    # Each row is its own replicated write: 50,000 of them take far longer than the 0.3 s
    # after which the Ctrl-C comes.
    conn.autocommit = True
    conn.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)")
    started = time.monotonic()
    with ctrl_c_after(0.3), pytest.raises(KeyboardInterrupt):
        conn.executemany("INSERT INTO m (v) VALUES (?)", (("x",) for _ in range(50_000)))
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    # The connection is left consistent: usable, with the rows that were applied
    # committed (each one its own transaction), and not inside a transaction.
    assert not conn.in_transaction
    (applied,) = conn.execute("SELECT count(*) FROM m").fetchone()
    assert 0 < applied < 50_000
    conn.execute("INSERT INTO m (v) VALUES ('after')")
    assert conn.execute("SELECT count(*) FROM m").fetchone() == (applied + 1,)


def test_ctrl_c_during_a_long_executemany_in_a_transaction(
    conn: Connection, cluster: Any, dbname: str
) -> None:
    # Inside a transaction the rows are pipelined, many requests in flight at once, and
    # 200,000 of them take seconds.
    conn.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)")
    conn.commit()
    conn.execute("BEGIN")
    started = time.monotonic()
    with ctrl_c_after(0.3), pytest.raises(KeyboardInterrupt):
        conn.executemany("INSERT INTO m (v) VALUES (?)", (("x",) for _ in range(200_000)))
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    # Cut off with answers in flight, the connection is discarded, never reused out of
    # sync; its transaction dies with it and nothing of the batch is committed.
    with pytest.raises(dqlitedbapi.InterfaceError, match="cancelled"):
        conn.execute("SELECT 1")
    conn.close()
    other = dqlitedbapi.connect(cluster.address, database=dbname)
    try:
        assert other.execute("SELECT count(*) FROM m").fetchone() == (0,)
        other.execute("INSERT INTO m (v) VALUES ('after')")
        other.commit()
    finally:
        other.close()


# A node of the tests' own behind the test kit's fault proxy, which holds the answers back
# on demand: the shared cluster's leader may move, and a proxy in front of a follower would
# be bypassed.
one_node = make_fixture(nodes=1, scope="module", verbose=False)

# How long a blocking call waits for the answer of a request in flight after Ctrl-C
# (`runtime.rs`, ANSWER_GRACE), and how late the driver sees a Ctrl-C (its check every
# 100 ms, and a 50 ms read slice).
ANSWER_GRACE = 1.0
SEEN_WITHIN = 0.15


class Proxied:
    """A blocking connection through a fault proxy in front of `cluster`'s node 0."""

    def __init__(self, cluster: Cluster, database: str, timeout: float) -> None:
        self.proxy = cluster.proxy(0)
        self.cluster = cluster
        self.database = database
        self.conn = dqlitedbapi.connect(self.proxy.address, database=database, timeout=timeout)
        self.conn.execute("CREATE TABLE t (n INTEGER)")

    def fault(self, fault: str) -> None:
        self.proxy.fault(fault)

    def count(self) -> int:
        """The rows of t, read past the proxy."""
        direct = dqlitedbapi.connect(self.cluster.address, database=self.database)
        try:
            (n,) = direct.execute("SELECT count(*) FROM t").fetchone()
            return int(n)
        finally:
            direct.close()


@pytest.fixture
def proxied(one_node: Cluster, dbname: str) -> Iterator[Proxied]:
    p = Proxied(one_node, dbname, timeout=5.0)
    try:
        yield p
    finally:
        p.fault("none")
        p.conn.close()


def test_ctrl_c_while_a_write_waits_for_its_answer_keeps_the_connection(
    proxied: Proxied,
) -> None:
    # 200 ms each way: the INSERT reaches the node 0.2 s into the call and its answer comes
    # back at 0.4 s, long after the Ctrl-C (0.1 s) and the driver's first look at it. The
    # answer is waited for, so the connection stays in step with the node.
    proxied.fault("latency 200")
    started = time.monotonic()
    with ctrl_c_after(0.1), pytest.raises(KeyboardInterrupt):
        proxied.conn.execute("INSERT INTO t VALUES (1)")
    elapsed = time.monotonic() - started
    proxied.fault("none")
    assert 0.35 <= elapsed < 0.1 + SEEN_WITHIN + ANSWER_GRACE, elapsed
    # Applied once, and the connection is usable, in sync and outside any transaction.
    assert proxied.count() == 1
    conn = proxied.conn
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    conn.execute("INSERT INTO t VALUES (2)")
    assert proxied.count() == 2


def test_ctrl_c_while_a_read_waits_for_its_answer_keeps_the_connection(
    proxied: Proxied,
) -> None:
    # A result's frames are read cancel-safely (the rest is drained before the next
    # request): the Ctrl-C goes through at once, without waiting for the answer (0.8 s).
    proxied.conn.execute("INSERT INTO t VALUES (1)")
    proxied.fault("latency 400")
    started = time.monotonic()
    with ctrl_c_after(0.1), pytest.raises(KeyboardInterrupt):
        proxied.conn.execute("SELECT n FROM t").fetchall()
    elapsed = time.monotonic() - started
    proxied.fault("none")
    assert elapsed < 0.6, elapsed
    assert proxied.conn.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_ctrl_c_gets_through_a_node_that_never_answers(proxied: Proxied) -> None:
    # The request's own deadline (5 s) is far off: the wait for the answer ends at the
    # grace's bound, and the connection, cut off mid-request, is closed.
    proxied.fault("blackhole")
    started = time.monotonic()
    with ctrl_c_after(0.2), pytest.raises(KeyboardInterrupt):
        proxied.conn.execute("INSERT INTO t VALUES (1)")
    elapsed = time.monotonic() - started
    assert 0.2 + ANSWER_GRACE - 0.05 <= elapsed < 0.2 + SEEN_WITHIN + ANSWER_GRACE + 0.5, elapsed
    with pytest.raises(dqlitedbapi.InterfaceError, match="cancelled") as info:
        proxied.conn.execute("SELECT 1")
    assert info.value.connection_lost


def test_ctrl_c_waits_no_longer_than_the_requests_deadline(one_node: Cluster, dbname: str) -> None:
    p = Proxied(one_node, dbname, timeout=0.6)
    try:
        p.fault("blackhole")
        started = time.monotonic()
        with ctrl_c_after(0.1), pytest.raises(KeyboardInterrupt):
            p.conn.execute("INSERT INTO t VALUES (1)")
        elapsed = time.monotonic() - started
        # Raised when the request timed out (0.6 s), not at the grace's end (1.1 s).
        assert 0.55 <= elapsed < 0.1 + ANSWER_GRACE, elapsed
        with pytest.raises(dqlitedbapi.InterfaceError, match="timed out") as info:
            p.conn.execute("SELECT 1")
        assert info.value.connection_lost
    finally:
        p.fault("none")
        p.conn.close()


def test_a_second_ctrl_c_ends_the_wait_for_the_answer(proxied: Proxied) -> None:
    proxied.fault("blackhole")
    started = time.monotonic()
    with ctrl_c_after(0.1, 0.4), pytest.raises(KeyboardInterrupt):
        proxied.conn.execute("INSERT INTO t VALUES (1)")
    elapsed = time.monotonic() - started
    assert 0.35 <= elapsed < 0.4 + SEEN_WITHIN + 0.3, elapsed
    with pytest.raises(dqlitedbapi.InterfaceError, match="cancelled"):
        proxied.conn.execute("SELECT 1")
