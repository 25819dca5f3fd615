"""``dial_func``: the client reaches the nodes only through the caller's dialer.

The nodes are given by names only the dialer knows (``node-N.invalid:9001``, which no
resolver can answer); an address a node names itself (its leader) is dialed as given.
"""

from __future__ import annotations

import asyncio

import pytest
from dqlite_testkit import Cluster

import dqliteclient
from dqliteclient import (
    ClusterClient,
    ClusterError,
    DqliteConnectionError,
    MemoryNodeStore,
)
from dqliteclient import blocking as sync


class NamedNodes:
    """Maps made-up node names to the cluster's addresses; records what it dialed."""

    def __init__(self, cluster: Cluster) -> None:
        self.real = {f"node-{i}.invalid:9001": a for i, a in enumerate(cluster.addresses)}
        self.names = list(self.real)
        self.leader = self.names[cluster.wait_for_leader()]
        self.dialed: list[str] = []
        self.loops: set[asyncio.AbstractEventLoop] = set()

    async def dial(self, address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.dialed.append(address)
        self.loops.add(asyncio.get_running_loop())
        host, port = self.real.get(address, address).rsplit(":", 1)
        return await asyncio.open_connection(host, int(port))


async def refuse(address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    raise ConnectionRefusedError(f"no route to {address} (test dialer)")


async def test_cluster_client_admin_calls_dial_through_dial_func(cluster: Cluster) -> None:
    nodes = NamedNodes(cluster)
    client = ClusterClient(MemoryNodeStore(nodes.names), timeout=5.0, dial_func=nodes.dial)
    leader = await client.find_leader()
    assert leader in cluster.addresses
    members = await client.cluster_info()
    assert sorted(m.address for m in members) == sorted(cluster.addresses)
    info = await client.leader_info()
    assert info is not None
    assert info.address == leader
    await client.describe(address=nodes.names[0])
    # Every dial went through the dialer, on this test's event loop; the made-up names
    # were dialed, never resolved by the client.
    assert set(nodes.names) & set(nodes.dialed)
    assert nodes.loops == {asyncio.get_running_loop()}


async def test_connections_and_pools_dial_through_dial_func(cluster: Cluster, dbname: str) -> None:
    nodes = NamedNodes(cluster)
    conn = await dqliteclient.connect(nodes.leader, database=dbname, dial_func=nodes.dial)
    try:
        await conn.execute("CREATE TABLE t (x INTEGER)")
        await conn.execute("INSERT INTO t VALUES (1)")
        assert await conn.fetchall("SELECT x FROM t") == [[1]]
    finally:
        await conn.close()
    assert nodes.dialed == [nodes.leader]

    client = ClusterClient(MemoryNodeStore(nodes.names), timeout=5.0, dial_func=nodes.dial)
    conn = await client.connect(database=dbname)
    try:
        assert await conn.fetchval("SELECT count(*) FROM t") == 1
    finally:
        await conn.close()

    pool = await dqliteclient.create_pool(
        nodes.names, database=dbname, min_size=1, max_size=2, dial_func=nodes.dial
    )
    try:
        assert await pool.fetchval("SELECT count(*) FROM t") == 1
    finally:
        await pool.close()
    assert nodes.loops == {asyncio.get_running_loop()}


def test_blocking_classes_dial_through_dial_func(cluster: Cluster, dbname: str) -> None:
    nodes = NamedNodes(cluster)
    client = sync.ClusterClient(MemoryNodeStore(nodes.names), timeout=5.0, dial_func=nodes.dial)
    assert sorted(m.address for m in client.cluster_info()) == sorted(cluster.addresses)
    conn = client.connect(database=dbname)
    try:
        assert conn.fetchval("SELECT 7") == 7
    finally:
        conn.close()
    assert set(nodes.names) & set(nodes.dialed)


async def test_a_failing_dial_func_gives_the_references_errors(cluster: Cluster) -> None:
    with pytest.raises(DqliteConnectionError, match="test dialer"):
        await dqliteclient.connect(cluster.addresses[0], dial_func=refuse)
    client = ClusterClient(MemoryNodeStore(cluster.addresses), timeout=1.0, dial_func=refuse)
    with pytest.raises(ClusterError):
        await client.find_leader()
    with pytest.raises(ClusterError):
        await client.cluster_info()


async def test_a_dial_func_from_another_event_loop_run(cluster: Cluster) -> None:
    # The client is built outside any loop; each asyncio.run's calls dial on their own loop.
    nodes = NamedNodes(cluster)
    client = ClusterClient(MemoryNodeStore(nodes.names), timeout=5.0, dial_func=nodes.dial)
    assert await client.find_leader() in cluster.addresses
    client._native.forget_leader()
    assert await asyncio.to_thread(asyncio.run, client.find_leader()) in cluster.addresses
    assert len(nodes.loops) == 2
