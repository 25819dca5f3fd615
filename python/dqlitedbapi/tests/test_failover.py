"""Leader loss: errors, closed connections, reconnecting to the new leader."""

from __future__ import annotations

import asyncio

import pytest
from dqlite_testkit import Cluster, make_fixture

import dqlitedbapi
from dqlitedbapi.aio import aconnect

pytestmark = pytest.mark.failover

own_cluster = make_fixture(nodes=3, scope="module", verbose=False)
"""A cluster of this module's own: its nodes get killed."""


def kill_leader(cluster: Cluster) -> int:
    leader = cluster.wait_for_leader()
    cluster.kill(leader)
    return leader


def heal(cluster: Cluster, index: int) -> None:
    cluster.restart(index)
    cluster.wait_healthy(60)


def test_leader_killed_between_statements(own_cluster: Cluster) -> None:
    conn = dqlitedbapi.connect(own_cluster.address, database="between", timeout=5.0)
    conn.execute("CREATE TABLE IF NOT EXISTS t (n)")
    conn.execute("INSERT INTO t VALUES (1)")
    killed = kill_leader(own_cluster)
    try:
        with pytest.raises(dqlitedbapi.OperationalError) as lost:
            conn.execute("SELECT count(*) FROM t")
        assert lost.value.connection_lost
        assert conn.closed
        assert conn.invalidated
        with pytest.raises(dqlitedbapi.InterfaceError, match="closed") as closed:
            conn.execute("SELECT 1")
        assert closed.value.connection_lost
        again = dqlitedbapi.connect(own_cluster.address, database="between", timeout=10.0)
        assert again.execute("SELECT count(*) FROM t").fetchone() == (1,)
        again.close()
    finally:
        heal(own_cluster, killed)


def test_commit_with_unknown_outcome(own_cluster: Cluster) -> None:
    conn = dqlitedbapi.connect(own_cluster.address, database="commit", timeout=5.0)
    conn.execute("CREATE TABLE IF NOT EXISTS t (n)")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO t VALUES (1)")
    killed = kill_leader(own_cluster)
    try:
        with pytest.raises(dqlitedbapi.OutcomeUnknownError, match="may or may not") as info:
            conn.commit()
        assert info.value.connection_lost
        assert dqlitedbapi.AmbiguousCommitError is dqlitedbapi.OutcomeUnknownError
        assert isinstance(dqlitedbapi.OutcomeUnknownError("x"), dqlitedbapi.OperationalError)
        assert conn.closed
        assert not conn.in_transaction
    finally:
        heal(own_cluster, killed)


def test_leader_killed_during_stream(own_cluster: Cluster) -> None:
    conn = dqlitedbapi.connect(own_cluster.address, database="stream", timeout=5.0)
    cur = conn.execute(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2000000) "
        "SELECT n, printf('%0100d', n) FROM c"
    )
    cur.fetchmany(10)
    killed = kill_leader(own_cluster)
    try:
        with pytest.raises(dqlitedbapi.OperationalError) as info:
            while cur.fetchmany(10_000):
                pass
        assert info.value.connection_lost
        assert conn.closed
    finally:
        heal(own_cluster, killed)


def test_async_leader_killed(own_cluster: Cluster) -> None:
    async def scenario() -> None:
        conn = await aconnect(own_cluster.address, database="aio", timeout=5.0)
        await conn.execute("CREATE TABLE IF NOT EXISTS t (n)")
        killed = kill_leader(own_cluster)
        try:
            with pytest.raises(dqlitedbapi.OperationalError) as info:
                await conn.execute("INSERT INTO t VALUES (1)")
            assert info.value.connection_lost
            assert conn.closed
            again = await aconnect(own_cluster.address, database="aio", timeout=10.0)
            await again.execute("INSERT INTO t VALUES (2)")
            await again.close()
        finally:
            heal(own_cluster, killed)

    asyncio.run(scenario())
