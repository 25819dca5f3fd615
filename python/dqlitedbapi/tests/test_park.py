"""A result left open while another statement runs on the same connection.

Its remaining rows are read into memory first ("parked"), so that the earlier cursor stays
readable, as with ``sqlite3``. That buffering is bounded: past the limit, the earlier
cursor raises once it has returned the rows that were kept; it never ends early as if the
result were complete (Ctrl-C while parking: see test_interrupt).
"""

from __future__ import annotations

import pytest

import dqlitedbapi
from dqlitedbapi import Connection

# What the driver buffers at most for one parked result (documented in the README).
PARK_LIMIT = 64 * 1024 * 1024
BIG_ROW = 100_000
BIG_ROWS = 800


def test_a_parked_result_is_read_whole(conn: Connection) -> None:
    first = conn.execute(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 20000) "
        "SELECT n, zeroblob(100) FROM c"
    )
    assert first.fetchone() is not None
    assert conn.execute("SELECT 1").fetchone() == (1,)
    rest = first.fetchall()
    assert [r[0] for r in rest] == list(range(2, 20001))


def test_parking_is_bounded(conn: Connection) -> None:
    sql = (
        f"WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {BIG_ROWS}) "
        f"SELECT n, zeroblob({BIG_ROW}) FROM c"
    )
    assert BIG_ROWS * BIG_ROW > PARK_LIMIT
    first = conn.execute(sql)
    assert first.fetchone() is not None
    second = conn.execute("SELECT 2")
    assert second.fetchall() == [(2,)]
    count = 1
    with pytest.raises(dqlitedbapi.OperationalError, match="64 MiB"):
        while first.fetchone() is not None:
            count += 1
    # The rows kept before the limit are returned first.
    assert PARK_LIMIT // (2 * BIG_ROW) < count < BIG_ROWS
    assert conn.execute("SELECT 3").fetchone() == (3,)


def test_executemany_refuses_its_own_cursor_as_parameters(conn: Connection) -> None:
    # The cursor's result would be closed before it was read: nothing would be written,
    # silently. sqlite3 refuses it too.
    conn.execute("CREATE TABLE src (v)")
    conn.executemany("INSERT INTO src VALUES (?)", [(1,), (2,)])
    conn.execute("CREATE TABLE dst (v)")
    cur = conn.execute("SELECT v FROM src")
    with pytest.raises(dqlitedbapi.ProgrammingError, match="Recursive use of cursors"):
        cur.executemany("INSERT INTO dst VALUES (?)", cur)
    assert cur.fetchall() == [(1,), (2,)]
    assert conn.execute("SELECT count(*) FROM dst").fetchone() == (0,)
