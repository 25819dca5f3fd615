"""``close()`` from another thread while a call runs on the connection (psycopg-like).

The running call is interrupted (its socket is shut down from outside), ``close()`` waits
at most ``close_timeout`` for it to end, the call raises (InterfaceError, or
OutcomeUnknownError for a write already sent), and the connection stays closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dqlite_testkit import Cluster, make_fixture

import dqlitedbapi

# A node of the tests' own behind the test kit's fault proxy, which holds the answers back
# on demand (the shared cluster's leader may move, and a proxy before a follower would be
# bypassed).
one_node = make_fixture(nodes=1, scope="module", verbose=False)

CLOSE_TIMEOUT = 0.5
# Each call's own deadline: far longer than an interrupted call may take.
CALL_TIMEOUT = 10.0


class Running:
    """`call` running on a thread of its own: what it raised, and when it ended."""

    def __init__(self, call: Callable[[], object]) -> None:
        self.error: BaseException | None = None
        self.ended = 0.0
        self.started = time.monotonic()

        def run() -> None:
            try:
                call()
            except BaseException as e:  # what the call raised is the result
                self.error = e
            self.ended = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> BaseException:
        self.thread.join(CALL_TIMEOUT + 5)
        assert not self.thread.is_alive(), "the call still runs"
        assert self.error is not None, "the call succeeded despite the close"
        return self.error


def close_timed(conn: dqlitedbapi.Connection) -> float:
    started = time.monotonic()
    conn.close()
    return time.monotonic() - started


def assert_closed_for_good(conn: dqlitedbapi.Connection) -> None:
    assert conn.closed
    with pytest.raises(dqlitedbapi.InterfaceError, match="closed"):
        conn.execute("SELECT 1")


def connect(address: str, database: str) -> dqlitedbapi.Connection:
    return dqlitedbapi.connect(
        address,
        database=database,
        timeout=CALL_TIMEOUT,
        close_timeout=CLOSE_TIMEOUT,
        check_same_thread=False,
    )


class Proxied:
    """A connection through a fault proxy in front of `cluster`'s node 0."""

    def __init__(self, cluster: Cluster, database: str) -> None:
        self.proxy = cluster.proxy(0)
        self.conn = connect(self.proxy.address, database)
        self.conn.execute("CREATE TABLE t (n INTEGER)")
        self.conn.commit()

    def fault(self, fault: str) -> None:
        self.proxy.fault(fault)


@pytest.fixture
def proxied(one_node: Cluster, dbname: str) -> Iterator[Proxied]:
    p = Proxied(one_node, dbname)
    try:
        yield p
    finally:
        p.fault("none")
        p.conn.close()


def test_close_interrupts_a_read_whose_answer_is_stalled(proxied: Proxied) -> None:
    conn = proxied.conn
    proxied.fault("blackhole")
    running = Running(lambda: conn.execute("SELECT count(*) FROM t").fetchall())
    time.sleep(0.3)
    took = close_timed(conn)
    assert took < CLOSE_TIMEOUT + 1.0, took
    error = running.join()
    assert type(error) is dqlitedbapi.InterfaceError, repr(error)
    assert "closed" in str(error), error
    assert error.connection_lost
    # Ended by the close, not by its own deadline.
    assert running.ended - running.started < 3.0 < CALL_TIMEOUT
    assert_closed_for_good(conn)


def test_close_interrupts_a_write_whose_answer_is_stalled(proxied: Proxied) -> None:
    conn = proxied.conn
    proxied.fault("blackhole")
    running = Running(lambda: conn.execute("INSERT INTO t VALUES (1)"))
    time.sleep(0.3)
    took = close_timed(conn)
    assert took < CLOSE_TIMEOUT + 1.0, took
    error = running.join()
    # Sent whole before the close: whether it ran is unknown.
    assert isinstance(error, dqlitedbapi.OutcomeUnknownError), repr(error)
    assert "closed" in str(error), error
    assert running.ended - running.started < 3.0
    assert_closed_for_good(conn)


def test_close_interrupts_a_long_executemany(cluster: Any, dbname: str) -> None:
    conn = connect(cluster.address, dbname)
    conn.autocommit = True
    conn.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, v TEXT)")
    rows = [("x",)] * 1_000_000
    running = Running(lambda: conn.executemany("INSERT INTO m (v) VALUES (?)", rows))
    watcher = dqlitedbapi.connect(cluster.address, database=dbname)
    try:

        def applied() -> int:
            (n,) = watcher.execute("SELECT count(*) FROM m").fetchone()
            watcher.rollback()
            return int(n)

        # Close once the batch is under way (each row its own replicated write).
        deadline = time.monotonic() + 30
        while applied() < 100:
            assert time.monotonic() < deadline, "the batch did not start"
            time.sleep(0.05)
        closing = time.monotonic()
        took = close_timed(conn)
        assert took < CLOSE_TIMEOUT + 1.0, took
        error = running.join()
        assert running.ended - closing < 3.0
        # InterfaceError, or the row in flight reported in doubt.
        assert isinstance(error, (dqlitedbapi.InterfaceError, dqlitedbapi.OutcomeUnknownError))
        assert "closed" in str(error), error
        # The session on the server ended: no row is added any more. The one write in
        # flight when the socket was shut (autocommit sends one row at a time) may still
        # be committing: the count may grow by that row, and then it stays.
        at_end = applied()
        settled = settle(applied)
        assert at_end <= settled <= at_end + 1, (at_end, settled)
        assert settled < 1_000_000
    finally:
        watcher.close()
    assert_closed_for_good(conn)


def settle(count: Callable[[], int]) -> int:
    """The value of ``count`` once two readings 0.3 s apart agree (within 10 s)."""
    deadline = time.monotonic() + 10
    last = count()
    while True:
        time.sleep(0.3)
        now = count()
        if now == last:
            return now
        assert time.monotonic() < deadline, f"still changing: {last} -> {now}"
        last = now


def test_close_with_no_call_running_is_immediate(proxied: Proxied) -> None:
    # Nothing is in flight: even a node that does not answer holds nothing up.
    proxied.fault("blackhole")
    assert close_timed(proxied.conn) < 0.1
    assert_closed_for_good(proxied.conn)
