"""Large results stream; threads share a connection; the GIL is released."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import dqlitedbapi
from dqlitedbapi import Connection

SERIES = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {count}) "
    "SELECT n, printf('%0100d', n) FROM c"
)


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.fixture
def conn(cluster: Any, dbname: str) -> Iterator[Connection]:
    """A connection that threads share (check_same_thread=False)."""
    c = dqlitedbapi.connect(cluster.address, database=dbname, check_same_thread=False)
    try:
        yield c
    finally:
        c.close()


def test_check_same_thread_confines_a_connection(cluster: Any, dbname: str) -> None:
    c = dqlitedbapi.connect(cluster.address, database=dbname)
    cur = c.execute("SELECT 1")
    errors: list[BaseException] = []

    def other() -> None:
        for call in (lambda: c.execute("SELECT 2"), c.commit, cur.fetchall):
            try:
                call()
            except dqlitedbapi.ProgrammingError as e:
                errors.append(e)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 3
    assert "same thread" in str(errors[0])
    assert cur.fetchall() == [(1,)]
    c.close()


def test_streaming_50k_rows_with_fetchmany(conn: Connection) -> None:
    cur = conn.execute(SERIES.format(count=50_000))
    total = 0
    expected = 1
    while rows := cur.fetchmany(1000):
        for n, text in rows:
            assert n == expected
            assert len(text) == 100
            expected += 1
        total += len(rows)
    assert total == 50_000
    assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.slow
def test_streaming_memory_stays_flat(conn: Connection) -> None:
    count = 1_000_000
    cur = conn.execute(SERIES.format(count=count))
    cur.fetchmany(10_000)
    before = rss_kib()
    seen = 10_000
    peak = before
    while rows := cur.fetchmany(10_000):
        seen += len(rows)
        peak = max(peak, rss_kib())
    assert seen == count
    # 1M rows of ~110 bytes would be >100 MiB if held; a frame is a few hundred KiB.
    assert peak - before < 30 * 1024, (before, peak)


def test_iteration_streams(conn: Connection) -> None:
    n = 0
    for row in conn.execute(SERIES.format(count=20_000)):
        n += 1
        assert row[0] == n
    assert n == 20_000


def test_threads_share_a_connection(conn: Connection) -> None:
    conn.execute("CREATE TABLE th (worker INTEGER, i INTEGER)")
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(50):
                conn.execute("INSERT INTO th VALUES (?, ?)", (worker, i))
                cur = conn.execute("SELECT count(*) FROM th WHERE worker = ?", (worker,))
                assert cur.fetchone() == (i + 1,)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert conn.execute("SELECT count(*) FROM th").fetchone() == (200,)


def test_gil_is_released_during_a_query(conn: Connection) -> None:
    stop = threading.Event()
    ticks = [0]

    def spin() -> None:
        while not stop.is_set():
            ticks[0] += 1

    slow = (
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000000) "
        "SELECT count(*) FROM c"
    )
    t = threading.Thread(target=spin)
    t.start()
    try:
        start = time.monotonic()
        before = ticks[0]
        assert conn.execute(slow).fetchone() == (3_000_000,)
        elapsed = time.monotonic() - start
        during = ticks[0] - before
    finally:
        stop.set()
        t.join()
    assert elapsed > 0.2, "the query should take a while for this test to mean something"
    # With the GIL held, the spinning thread would get (almost) nothing done.
    assert during > 100_000, (during, elapsed)


def test_other_cursor_in_thread_while_streaming(conn: Connection) -> None:
    a = conn.execute(SERIES.format(count=5000))
    first = a.fetchmany(10)
    result: list[Any] = []
    t = threading.Thread(target=lambda: result.append(conn.execute("SELECT 42").fetchone()))
    t.start()
    t.join()
    assert result == [(42,)]
    assert len(first) + len(a.fetchall()) == 5000


def test_closed_cursor_result_is_drained(conn: Connection) -> None:
    for _ in range(3):
        cur = conn.execute(SERIES.format(count=50_000))
        cur.fetchmany(5)
        cur.close()
        assert conn.execute("SELECT 7").fetchone() == (7,)
    with pytest.raises(dqlitedbapi.InterfaceError):
        cur.fetchone()
