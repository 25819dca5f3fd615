"""What a real server cannot do on demand, played by a fake node: a huge single frame,
answers that leave a write in doubt.

These tests sit beside the real-cluster ones: the fake node speaks just enough of the
protocol (handshake, LEADER, CLIENT, OPEN, then scripted answers) to put the driver in a
situation a real dqlite node produces only rarely, or not at will.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Iterator

import pytest
from dqlite_testkit.fake import (
    DONE,
    EXEC_SQL,
    INTEGER,
    QUERY_SQL,
    RESULT,
    ROWS,
    FakeNode,
    commit_answered,
    failure,
    frame,
    text,
    unsupported,
)

import dqlitedbapi
from dqlitedbapi.aio import aconnect


def integer_rows(count: int) -> bytes:
    """One ROWS frame (DONE) of ``count`` one-column INTEGER rows, 0 to count - 1."""
    header = struct.pack("<Q", 1) + text("n")
    row_type = struct.pack("<Q", INTEGER)
    rows = b"".join(row_type + struct.pack("<q", i) for i in range(count))
    return frame(ROWS, header + rows + DONE)


@pytest.fixture
def big_frame_node() -> Iterator[FakeNode]:
    """A node answering every query with one frame of 200,000 rows."""
    rows = integer_rows(200_000)

    def answer(kind: int, body: bytes) -> bytes:
        if kind == QUERY_SQL:
            return rows
        return unsupported(kind, body)

    node = FakeNode(answer)
    yield node
    node.close()


def read_rows(address: str, n: int) -> float:
    """Seconds to read the first ``n`` rows of the big frame one fetchone() at a time."""
    conn = dqlitedbapi.connect(address, timeout=5)
    cur = conn.execute("SELECT n FROM big")
    started = time.perf_counter()
    for i in range(n):
        assert cur.fetchone() == (i,)
    took = time.perf_counter() - started
    conn.close()
    return took


def test_rows_of_one_big_frame_are_read_in_linear_time(big_frame_node: FakeNode) -> None:
    # Reading row k must not cost k (skipping the rows before it): 4 times the rows must
    # take about 4 times as long (quadratic: 16), best of three against load spikes.
    short = min(read_rows(big_frame_node.address, 50_000) for _ in range(3))
    long = min(read_rows(big_frame_node.address, 200_000) for _ in range(3))
    assert long < 10 * short, (short, long)


# Answers a leader gives when it could not persist or replicate a write it may already
# have sent to the other nodes (the next leader may still commit it), or when it shuts
# down under the write (docs/protocol.md, section 6).
IN_DOUBT = [
    (778, "disk I/O error"),  # SQLITE_IOERR_WRITE: a full disk
    (10, "disk I/O error"),  # SQLITE_IOERR
    (4, "abort due to shutdown"),  # SQLITE_ABORT
]


@pytest.mark.parametrize(("code", "message"), IN_DOUBT)
def test_a_write_answered_in_doubt_is_outcome_unknown(code: int, message: str) -> None:
    node = FakeNode(lambda kind, body: failure(code, message))
    try:
        conn = dqlitedbapi.connect(node.address, timeout=5)
        for sql in ("INSERT INTO t VALUES (1)", "COMMIT"):
            with pytest.raises(dqlitedbapi.OutcomeUnknownError) as info:
                conn.execute(sql)
            assert info.value.sqlite_errorcode == code
            assert info.value.connection_lost
            # What the node did with the write is unknown: the connection is given up.
            assert conn.closed
            conn.close()
            conn = dqlitedbapi.connect(node.address, timeout=5)
        # A read that fails so is not in doubt.
        with pytest.raises(dqlitedbapi.OperationalError) as read:
            conn.execute("SELECT 1")
        assert not isinstance(read.value, dqlitedbapi.OutcomeUnknownError)
        conn.close()
    finally:
        node.close()


def committing_node(commit_failure: bytes) -> FakeNode:
    """A node that runs every EXEC but COMMIT, which fails with ``commit_failure``."""
    return FakeNode(commit_answered(commit_failure))


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "aio"])
def test_commit_of_a_transaction_sqlite_ended_is_a_no_op(asynchronous: bool) -> None:
    # SQLite may end a transaction by itself; a COMMIT (or ROLLBACK) then answers "no
    # transaction is active" (SQLITE_ERROR), which commit() takes as done, as 0.8.0 does.
    # Another error of the same code is raised.
    async def commit(address: str) -> bool:
        conn = await aconnect(address, timeout=5)
        await conn.execute("BEGIN")
        assert conn.in_transaction
        try:
            await conn.commit()
        finally:
            in_transaction = conn.in_transaction
            await conn.close()
        return in_transaction

    def commit_sync(address: str) -> bool:
        conn = dqlitedbapi.connect(address, timeout=5)
        conn.execute("BEGIN")
        assert conn.in_transaction
        try:
            conn.commit()
        finally:
            in_transaction = conn.in_transaction
            conn.close()
        return in_transaction

    def run(address: str) -> bool:
        return asyncio.run(commit(address)) if asynchronous else commit_sync(address)

    node = committing_node(failure(1, "cannot commit - no transaction is active"))
    try:
        assert run(node.address) is False
    finally:
        node.close()
    node = committing_node(failure(1, "cannot commit: something else"))
    try:
        with pytest.raises(dqlitedbapi.OperationalError, match="something else"):
            run(node.address)
    finally:
        node.close()


def test_a_refused_rollback_of_the_transaction_probe_is_not_ignored() -> None:
    # After an error inside a transaction the driver probes whether SQLite ended it: a
    # BEGIN that works says it did, and is rolled back at once. When the node refuses that
    # ROLLBACK, the probe's own transaction is open there: the connection must not go on
    # as if none were (the next "autocommit" statement would run in it, never committed).
    sent: list[bytes] = []

    def answer(kind: int, body: bytes) -> bytes:
        if kind != EXEC_SQL:
            return unsupported(kind, body)
        sql = body[8:].split(b"\0", 1)[0]
        sent.append(sql)
        if sql == b"INSERT INTO t VALUES (1)":
            return failure(13, "database or disk is full")
        if sql == b"ROLLBACK":
            return failure(5, "checkpoint in progress")
        return frame(RESULT, struct.pack("<QQ", 0, 0))

    node = FakeNode(answer)
    try:
        conn = dqlitedbapi.connect(node.address, timeout=5, busy_timeout=0, autocommit=True)
        conn.execute("BEGIN")
        with pytest.raises(dqlitedbapi.OperationalError, match="full"):
            conn.execute("INSERT INTO t VALUES (1)")
        assert sent[-2:] == [b"BEGIN", b"ROLLBACK"], sent
        assert conn.closed or conn.in_transaction, "a transaction is open on the node"
        conn.close()
    finally:
        node.close()
