"""DqliteConnection on real clusters: values, errors, transactions, session loss."""

from __future__ import annotations

import array
import asyncio
import gc
from collections.abc import AsyncIterator

import pytest
from dqlite_testkit import Cluster

from dqliteclient import (
    DataError,
    DqliteConnection,
    DqliteConnectionError,
    InterfaceError,
    OperationalError,
    ProtocolError,
    connect,
)
from dqliteclient import blocking as sync
from dqliteclient.connection import is_no_transaction_error
from dqlitewire import SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_IOERR_NOT_LEADER, ValueType
from helpers import leader_and_follower


@pytest.fixture
async def conn(cluster: Cluster, dbname: str) -> AsyncIterator[DqliteConnection]:
    leader, _ = leader_and_follower(cluster)
    c = await connect(leader, database=dbname)
    yield c
    await c.close()


async def test_a_follower_refuses_with_a_leader_error(cluster: Cluster) -> None:
    _, follower = leader_and_follower(cluster)
    if cluster.version in ("1.11", "1.18"):
        # Before 1.18.2 a follower accepts OPEN, and refuses the first statement.
        conn = await connect(follower)
        with pytest.raises(OperationalError) as refused:
            await conn.execute("CREATE TABLE f (n)")
        assert refused.value.code == SQLITE_IOERR_NOT_LEADER
        assert not conn.is_connected
        await conn.close()
        return
    with pytest.raises(DqliteConnectionError, match="no longer leader") as info:
        await connect(follower)
    assert info.value.code == SQLITE_IOERR_NOT_LEADER


async def test_values_and_their_wire_types(conn: DqliteConnection) -> None:
    await conn.execute(
        "CREATE TABLE v (i INTEGER, f REAL, t TEXT, b BLOB, n, flag BOOLEAN, at DATETIME)"
    )
    row = [-(2**63), 1.5, "héllo 🎉", b"\x00\xff", None, True, "2024-01-02 03:04:05"]
    assert await conn.execute("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?)", row) == (1, 1)
    await conn.execute("INSERT INTO v VALUES (1, 0.0, '', x'', NULL, 0, 1700000000)")
    columns, column_types, row_types, rows = await conn.query_raw_typed(
        "SELECT i, f, t, b, n, flag, at FROM v ORDER BY rowid"
    )
    assert columns == ["i", "f", "t", "b", "n", "flag", "at"]
    assert rows[0] == row
    assert rows[1] == [1, 0.0, "", b"", None, False, 1700000000]
    # The codes the server sends are dqlitewire's.
    first = [
        ValueType.INTEGER,
        ValueType.FLOAT,
        ValueType.TEXT,
        ValueType.BLOB,
        ValueType.NULL,
        ValueType.BOOLEAN,
        ValueType.ISO8601,
    ]
    assert column_types == first
    assert row_types[0] == first
    assert row_types[1][6] == ValueType.UNIXTIME
    assert await conn.fetch("SELECT i FROM v LIMIT 1") == [{"i": -(2**63)}]
    assert await conn.fetchone("SELECT t FROM v WHERE 0") is None
    assert await conn.fetchval("SELECT count(*) FROM v") == 2


async def test_bad_parameters_leave_the_session_usable(conn: DqliteConnection) -> None:
    with pytest.raises(DataError):
        await conn.fetchall("SELECT ?", [object()])
    with pytest.raises(DataError):
        await conn.fetchall("SELECT ?", [2**64])
    with pytest.raises(DataError):
        await conn.fetchall("SELECT ?", "x")
    with pytest.raises(DataError):
        await conn.fetchall("SELECT ?", {"a": 1})  # type: ignore[arg-type]
    # As dqlite-wire 0.8: wider items would go in the host's byte order and item size.
    with pytest.raises(DataError, match="format 'i'"):
        await conn.fetchall("SELECT ?", [memoryview(array.array("i", [1, 2]))])
    assert await conn.fetchval("SELECT ?", [memoryview(b"abcd")[::2]]) == b"ac"
    assert conn.is_connected
    assert await conn.fetchval("SELECT ?", [7]) == 7


async def test_server_errors_keep_code_and_text(conn: DqliteConnection) -> None:
    await conn.execute("CREATE TABLE pk (id INTEGER PRIMARY KEY)")
    await conn.execute("INSERT INTO pk VALUES (1)")
    with pytest.raises(OperationalError) as info:
        await conn.execute("INSERT INTO pk VALUES (1)")
    assert info.value.code == SQLITE_CONSTRAINT_PRIMARYKEY
    assert info.value.raw_message is not None
    assert "UNIQUE constraint failed" in info.value.raw_message
    with pytest.raises(OperationalError, match="no such table"):
        await conn.fetchall("SELECT * FROM missing")
    assert conn.is_connected


async def test_row_cap_closes_the_session(cluster: Cluster, dbname: str) -> None:
    leader, _ = leader_and_follower(cluster)
    async with DqliteConnection(leader, database=dbname) as setup:
        await setup.execute("CREATE TABLE r (n)")
        for n in range(10):
            await setup.execute("INSERT INTO r VALUES (?)", [n])
    capped = await connect(leader, database=dbname, max_total_rows=5)
    with pytest.raises(ProtocolError, match="max_total_rows"):
        await capped.fetchall("SELECT n FROM r")
    assert not capped.is_connected
    await capped.close()
    async with DqliteConnection(leader, database=dbname, max_total_rows=10) as ok:
        assert len(await ok.fetchall("SELECT n FROM r")) == 10


async def test_large_results_cross_frames(conn: DqliteConnection) -> None:
    await conn.execute("CREATE TABLE big (n INTEGER, pad TEXT)")
    async with conn.transaction():
        # 200 parameters a statement: servers before 1.12 take at most 255.
        for start in range(0, 5000, 200):
            values = ",".join("(?, 'padding-padding-padding')" for _ in range(200))
            await conn.execute(f"INSERT INTO big VALUES {values}", list(range(start, start + 200)))
    rows = await conn.fetchall("SELECT n FROM big ORDER BY n")
    assert [r[0] for r in rows] == list(range(5000))


async def test_transactions_and_their_tracking(conn: DqliteConnection) -> None:
    await conn.execute("CREATE TABLE tx (n)")
    async with conn.transaction():
        assert conn.in_transaction
        await conn.execute("INSERT INTO tx VALUES (1)")
    assert not conn.in_transaction
    with pytest.raises(ValueError, match="boom"):
        async with conn.transaction():
            await conn.execute("INSERT INTO tx VALUES (2)")
            raise ValueError("boom")
    assert await conn.fetchall("SELECT n FROM tx") == [[1]]
    await conn.execute("BEGIN")
    await conn.execute("SAVEPOINT sp")
    await conn.execute("ROLLBACK TO sp")
    assert conn.in_transaction
    with pytest.raises(InterfaceError, match="Nested"):
        async with conn.transaction():
            pass
    await conn.execute("END")
    assert not conn.in_transaction
    await conn.execute("SAVEPOINT lone")
    await conn.execute("RELEASE lone")
    assert conn.in_transaction  # conservative, as in the reference
    with pytest.raises(OperationalError) as info:
        await conn.execute("ROLLBACK")
    assert is_no_transaction_error(info.value)
    assert not conn.in_transaction


async def test_a_failed_script_tracks_the_transaction_its_statements_left(
    conn: DqliteConnection,
) -> None:
    """The statements before the one that failed ran: a BEGIN among them left a
    transaction open on the server, a COMMIT after it closed it again."""
    await conn.execute("CREATE TABLE fs (n INTEGER PRIMARY KEY)")
    with pytest.raises(OperationalError):
        await conn.execute("BEGIN; INSERT INTO fs VALUES (1); INSERT INTO fs VALUES (1)")
    assert conn.in_transaction
    with pytest.raises(InterfaceError, match="Nested"):
        async with conn.transaction():
            pass
    await conn.execute("ROLLBACK")
    assert not conn.in_transaction
    assert await conn.fetchall("SELECT n FROM fs") == []

    with pytest.raises(OperationalError):
        await conn.execute("BEGIN; INSERT INTO fs VALUES (2); COMMIT; INSERT INTO fs VALUES (2)")
    assert not conn.in_transaction
    async with conn.transaction():
        await conn.execute("INSERT INTO fs VALUES (3)")
    assert await conn.fetchall("SELECT n FROM fs ORDER BY n") == [[2], [3]]


def test_a_failed_script_tracks_the_transaction_blocking(cluster: Cluster, dbname: str) -> None:
    leader, _ = leader_and_follower(cluster)
    with sync.DqliteConnection(leader, database=dbname) as conn:
        conn.execute("CREATE TABLE fsb (n INTEGER PRIMARY KEY)")
        with pytest.raises(OperationalError):
            conn.execute("BEGIN; INSERT INTO fsb VALUES (1); INSERT INTO fsb VALUES (1)")
        assert conn.in_transaction
        conn.execute("ROLLBACK")
        assert not conn.in_transaction


async def test_several_statements_in_one_execute(conn: DqliteConnection) -> None:
    await conn.execute("CREATE TABLE m (n); INSERT INTO m VALUES (1); INSERT INTO m VALUES (2)")
    assert await conn.fetchall("SELECT n FROM m ORDER BY n") == [[1], [2]]


async def test_closed_connections_stay_closed(cluster: Cluster) -> None:
    leader, _ = leader_and_follower(cluster)
    conn = DqliteConnection(leader)
    await conn.connect()
    await conn.execute("BEGIN")
    await conn.close()
    assert conn.closed
    assert not conn.in_transaction
    with pytest.raises(InterfaceError, match="closed"):
        await conn.connect()
    with pytest.raises(InterfaceError, match="closed"):
        await conn.execute("SELECT 1")
    await conn.close()


SLOW = (
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 300000) "
    "SELECT sum(n) FROM r"
)


async def test_one_operation_at_a_time(conn: DqliteConnection) -> None:
    first = asyncio.ensure_future(conn.fetchval(SLOW))
    await asyncio.sleep(0)
    assert not first.done()
    with pytest.raises(InterfaceError, match="another operation"):
        await conn.fetchall("SELECT 1")
    assert await first == 300000 * 300001 // 2
    assert await conn.fetchval("SELECT 1") == 1


async def test_a_cancelled_request_closes_the_session(conn: DqliteConnection) -> None:
    slow = asyncio.ensure_future(conn.fetchall(SLOW))
    await asyncio.sleep(0)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert not conn.is_connected
    with pytest.raises(DqliteConnectionError, match="Not connected"):
        await conn.fetchval("SELECT 1")


async def test_other_event_loops_are_refused(cluster: Cluster) -> None:
    leader, _ = leader_and_follower(cluster)
    conn = await connect(leader)
    try:
        with pytest.raises(InterfaceError, match="different event loop"):
            await asyncio.to_thread(asyncio.run, conn.fetchval("SELECT 1"))
    finally:
        await conn.close()


async def test_an_unclosed_connection_warns(cluster: Cluster) -> None:
    leader, _ = leader_and_follower(cluster)
    conn = await connect(leader)
    with pytest.warns(ResourceWarning, match="garbage-collected"):  # noqa: PT031
        del conn
        gc.collect()


def test_blocking_connection(cluster: Cluster, dbname: str) -> None:
    leader, _ = leader_and_follower(cluster)
    with sync.DqliteConnection(leader, database=dbname) as conn:
        conn.execute("CREATE TABLE b (n)")
        with conn.transaction():
            conn.execute("INSERT INTO b VALUES (?)", [1])
        with pytest.raises(RuntimeError), conn.transaction():
            conn.execute("INSERT INTO b VALUES (2)")
            raise RuntimeError
        assert conn.fetchall("SELECT n FROM b") == [[1]]
        assert conn.fetch("SELECT n FROM b") == [{"n": 1}]
        assert conn.query_raw_typed("SELECT n FROM b")[1] == [ValueType.INTEGER]
    assert conn.closed


async def test_a_commit_refused_ends_the_transaction_block(conn: DqliteConnection) -> None:
    # A deferred foreign key makes COMMIT fail while the transaction stays open on the node.
    # Leaving the block by that error must not leave it open: the next statement, meant
    # to autocommit, would run inside it and never be committed.
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("CREATE TABLE fp (id INTEGER PRIMARY KEY)")
    await conn.execute(
        "CREATE TABLE fc (pid INTEGER REFERENCES fp (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(OperationalError, match="FOREIGN KEY"):
        async with conn.transaction():
            await conn.execute("INSERT INTO fc VALUES (1)")
    assert not conn.in_transaction
    await conn.execute("INSERT INTO fp VALUES (7)")
    other = await connect(conn.address, database=conn._settings.database)
    try:
        assert await other.fetchall("SELECT id FROM fp") == [[7]]
        assert await other.fetchall("SELECT pid FROM fc") == []
    finally:
        await other.close()


def test_a_commit_refused_ends_the_transaction_block_blocking(
    cluster: Cluster, dbname: str
) -> None:
    leader, _ = leader_and_follower(cluster)
    with sync.DqliteConnection(leader, database=dbname) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("CREATE TABLE fp (id INTEGER PRIMARY KEY)")
        conn.execute(
            "CREATE TABLE fc (pid INTEGER REFERENCES fp (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        with pytest.raises(OperationalError, match="FOREIGN KEY"), conn.transaction():
            conn.execute("INSERT INTO fc VALUES (1)")
        assert not conn.in_transaction
        conn.execute("INSERT INTO fp VALUES (7)")
        with sync.DqliteConnection(leader, database=dbname) as other:
            assert other.fetchall("SELECT id FROM fp") == [[7]]
            assert other.fetchall("SELECT pid FROM fc") == []
