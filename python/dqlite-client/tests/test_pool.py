"""ConnectionPool on real clusters, across a leader kill; asyncio and blocking."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from dqlite_testkit import Cluster

from dqliteclient import (
    ConnectionPool,
    DqliteConnectionError,
    InterfaceError,
    OperationalError,
    create_pool,
)
from dqliteclient import blocking as sync
from helpers import client_for, move_leadership


async def test_warm_up_checkout_and_convenience_calls(cluster: Cluster, dbname: str) -> None:
    pool = await create_pool(cluster.addresses, database=dbname, min_size=2, max_size=3)
    try:
        assert "idle=2 size=2" in repr(pool)
        await pool.execute("CREATE TABLE p (n)")
        await pool.execute("INSERT INTO p VALUES (?)", [1])
        assert await pool.fetchval("SELECT count(*) FROM p") == 1
        assert await pool.fetch("SELECT n FROM p") == [{"n": 1}]
        assert await pool.fetchall("SELECT n FROM p") == [[1]]
        assert await pool.fetchone("SELECT n FROM p") == {"n": 1}

        async def worker(n: int) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO p VALUES (?)", [n])

        await asyncio.gather(*(worker(n) for n in range(2, 10)))
        assert await pool.fetchval("SELECT count(*) FROM p") == 9
        assert "size=3" in repr(pool) or "size=2" in repr(pool)
    finally:
        await pool.close()
    assert pool.closed
    with pytest.raises(DqliteConnectionError, match="closed"):
        await pool.fetchval("SELECT 1")


async def test_a_transaction_left_open_is_rolled_back(cluster: Cluster, dbname: str) -> None:
    async with ConnectionPool(cluster.addresses, database=dbname, max_size=1) as pool:
        await pool.execute("CREATE TABLE r (n)")
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO r VALUES (1)")
        async with pool.acquire() as conn:
            assert not conn.in_transaction
            assert await conn.fetchval("SELECT count(*) FROM r") == 0
            await conn.execute("INSERT INTO r VALUES (2)")
        # The connection given back is closed to its borrower.
        with pytest.raises(InterfaceError, match="closed"):
            await conn.fetchval("SELECT 1")
        assert await pool.fetchval("SELECT count(*) FROM r") == 1


async def test_a_script_stopped_inside_its_transaction_is_rolled_back(
    cluster: Cluster, dbname: str
) -> None:
    # The script's BEGIN ran, its third statement failed: the transaction is open on the
    # node though the script as a whole failed. The next borrower must not run inside it
    # (its "autocommit" write would never be committed).
    async with ConnectionPool(cluster.addresses, database=dbname, max_size=1) as pool:
        await pool.execute("CREATE TABLE s (n)")
        with pytest.raises(OperationalError, match="no such table"):
            await pool.execute("BEGIN; INSERT INTO s VALUES (1); INSERT INTO nowhere VALUES (1)")
        await pool.execute("INSERT INTO s VALUES (2)")
        async with ConnectionPool(cluster.addresses, database=dbname, max_size=1) as fresh:
            assert await fresh.fetchall("SELECT n FROM s") == [[2]]


def test_a_script_stopped_inside_its_transaction_is_rolled_back_blocking(
    cluster: Cluster, dbname: str
) -> None:
    with sync.ConnectionPool(cluster.addresses, database=dbname, max_size=1) as pool:
        pool.execute("CREATE TABLE s (n)")
        with pytest.raises(OperationalError, match="no such table"):
            pool.execute("BEGIN; INSERT INTO s VALUES (1); INSERT INTO nowhere VALUES (1)")
        pool.execute("INSERT INTO s VALUES (2)")
        with sync.ConnectionPool(cluster.addresses, database=dbname, max_size=1) as fresh:
            assert fresh.fetchall("SELECT n FROM s") == [[2]]


async def test_the_pool_moves_to_the_new_leader_when_the_leader_dies(
    own_cluster: Cluster,
) -> None:
    pool = ConnectionPool(own_cluster.addresses, min_size=3, max_size=3, timeout=10.0)
    try:
        await pool.initialize()
        await pool.execute("CREATE TABLE k (n)")
        old = own_cluster.wait_for_leader()
        own_cluster.kill(old)
        # Every checkout after the kill reaches the new leader: the idle connections to
        # the dead node are not handed out, and one that broke in use is not pooled.
        for n in range(6):
            async with pool.acquire() as conn:
                assert conn.address != own_cluster.addresses[old]
                await conn.execute("INSERT INTO k VALUES (?)", [n])
        assert await pool.fetchval("SELECT count(*) FROM k") == 6
    finally:
        await pool.close()


async def test_a_leader_change_seen_once_retires_every_idle_connection(
    own_cluster: Cluster,
) -> None:
    # Leadership moves away from a node that stays up: its sockets stay open, so the idle
    # connections to it look healthy. The first one used answers "not leader"; the pool
    # must then retire the others, not hand each out to fail in turn.
    pool = ConnectionPool(own_cluster.addresses, min_size=3, max_size=3, timeout=10.0)
    client = client_for(own_cluster)
    try:
        await pool.initialize()
        await pool.execute("CREATE TABLE moved (n)")
        assert "idle=3 size=3" in repr(pool)
        old = own_cluster.addresses[own_cluster.wait_for_leader()]
        others = [m["id"] for m in own_cluster.members() if m["address"] != old]
        await move_leadership(client, int(others[0]))
        with pytest.raises(OperationalError, match="not leader"):
            await pool.execute("INSERT INTO moved VALUES (0)")
        for n in range(1, 4):
            async with pool.acquire() as conn:
                assert conn.address != old
                await conn.execute("INSERT INTO moved VALUES (?)", [n])
        assert await pool.fetchval("SELECT count(*) FROM moved") == 3
    finally:
        await pool.close()


@pytest.fixture
def fast_cluster() -> Iterator[Cluster]:
    """Bare nodes with sub-second elections (30 ms latency), of this test's own."""
    cluster = Cluster(3, args=["--program", "bare", "--latency-ms", "30"], verbose=False)
    yield cluster
    cluster.close()


async def test_a_paused_leader_costs_one_timeout_not_one_per_idle_connection(
    fast_cluster: Cluster,
) -> None:
    # A paused node keeps its sockets open: the first statement on an idle connection to
    # it times out, and the pool must then retire the others (each would cost its user a
    # full timeout too) and reach the leader elected meanwhile.
    pool = ConnectionPool(fast_cluster.addresses, min_size=3, max_size=3, timeout=2.0)
    paused = fast_cluster.wait_for_leader()
    old = fast_cluster.addresses[paused]
    try:
        await pool.initialize()
        await pool.execute("CREATE TABLE paused (n)")
        assert "idle=3 size=3" in repr(pool)
        fast_cluster.pause(paused)
        with pytest.raises(DqliteConnectionError):
            await pool.execute("INSERT INTO paused VALUES (0)")
        for n in range(1, 4):
            async with pool.acquire() as conn:
                assert conn.address != old
                await conn.execute("INSERT INTO paused VALUES (?)", [n])
    finally:
        fast_cluster.resume(paused)
        await pool.close()


async def test_a_transaction_cut_by_a_leader_change(own_cluster: Cluster) -> None:
    pool = ConnectionPool(own_cluster.addresses, max_size=2, timeout=10.0)
    try:
        await pool.execute("CREATE TABLE flip (n)")
        leader = own_cluster.wait_for_leader()
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO flip VALUES (1)")
            own_cluster.kill(leader)
            # The node is gone: a transport failure (nothing to say about the outcome).
            with pytest.raises(DqliteConnectionError):
                await conn.execute("COMMIT")
            assert not conn.is_connected
        async with pool.acquire() as fresh, fresh.transaction():
            await fresh.execute("INSERT INTO flip VALUES (2)")
        assert [2] in await pool.fetchall("SELECT n FROM flip")
    finally:
        await pool.close()


def test_blocking_pool_shared_by_threads(cluster: Cluster, dbname: str) -> None:
    with sync.ConnectionPool(cluster.addresses, database=dbname, max_size=2) as pool:
        pool.execute("CREATE TABLE th (n)")
        errors: list[BaseException] = []

        def worker(base: int) -> None:
            try:
                for i in range(10):
                    with pool.acquire() as conn, conn.transaction():
                        conn.execute("INSERT INTO th VALUES (?)", [base + i])
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(100 * t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert pool.fetchval("SELECT count(*) FROM th") == 40
