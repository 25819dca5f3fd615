"""Every admin call against real clusters, asyncio and blocking."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from dqlite_testkit import Cluster, make_fixture

from dqliteclient import (
    ClusterClient,
    ClusterError,
    ClusterPolicyError,
    DqliteError,
    LeaderInfo,
    NodeMetadata,
    OperationalError,
)
from dqliteclient import blocking as sync
from dqliteclient.node_store import MemoryNodeStore
from dqlitewire import NodeInfo, NodeRole
from helpers import client_for, leader_and_follower, move_leadership, poll, wait_until


def roles(nodes: list[NodeInfo]) -> dict[int, NodeRole]:
    return {n.node_id: n.role for n in nodes}


async def test_add_assign_transfer_remove_a_node(own_cluster: Cluster) -> None:
    client = client_for(own_cluster)
    address = own_cluster.unjoined(42)
    before = await client.cluster_info()
    assert len(before) == 3
    assert all(n.role == NodeRole.VOTER for n in before)

    await client.add_node(42, address)
    members = await client.cluster_info()
    assert roles(members)[42] == NodeRole.SPARE
    assert next(n.address for n in members if n.node_id == 42) == address

    await client.assign_role(42, NodeRole.STANDBY)
    await wait_until(
        "node 42 standby", client.cluster_info, lambda m: roles(m).get(42) == NodeRole.STANDBY
    )
    await client.assign_role(42, NodeRole.VOTER)
    await wait_until(
        "node 42 voter", client.cluster_info, lambda m: roles(m).get(42) == NodeRole.VOTER
    )

    # Leadership moves to the new node, and SQL runs there.
    assert await move_leadership(client, 42) == address
    info = await client.leader_info()
    assert info == LeaderInfo(node_id=42, address=address)
    async with await client.connect("admin") as conn:
        await conn.execute("CREATE TABLE t (n INTEGER)")
        await conn.execute("INSERT INTO t VALUES (1)")
        assert conn.address == address

    # And away again, before demoting and removing it.
    other = next(n.node_id for n in before)
    await move_leadership(client, other)
    assert await client.find_leader() != address
    await client.assign_role(42, NodeRole.SPARE)
    await wait_until(
        "node 42 spare", client.cluster_info, lambda m: roles(m).get(42) == NodeRole.SPARE
    )
    await client.remove_node(42)
    after = await wait_until("node 42 removed", client.cluster_info, lambda m: 42 not in roles(m))
    assert {n.node_id for n in after} == {n.node_id for n in before}
    async with await client.connect("admin") as conn:
        assert await conn.fetchall("SELECT n FROM t") == [[1]]


async def test_add_node_with_a_role_assigns_it(own_cluster: Cluster) -> None:
    client = client_for(own_cluster)
    address = own_cluster.unjoined(7)
    await client.add_node(7, address, role=NodeRole.STANDBY)
    await wait_until(
        "node 7 standby", client.cluster_info, lambda m: roles(m).get(7) == NodeRole.STANDBY
    )


def test_the_same_calls_blocking(own_cluster: Cluster) -> None:
    client = sync.ClusterClient(MemoryNodeStore(own_cluster.addresses), timeout=5.0)
    address = own_cluster.unjoined(9)
    client.add_node(9, address, role=NodeRole.VOTER)
    poll("node 9 voter", client.cluster_info, lambda m: roles(m).get(9) == NodeRole.VOTER)

    def leads() -> str:
        info = client.leader_info()
        if info is None or info.node_id != 9:
            client.transfer_leadership(9)  # asked again if Raft gave the transfer up
        return client.find_leader()

    poll("node 9 leads", leads, lambda a: a == address)
    leader_info = client.leader_info()
    assert leader_info is not None
    assert leader_info.node_id == 9
    assert client.describe(address=address) == NodeMetadata(failure_domain=0, weight=0)
    client.set_weight(3, address=address)
    assert client.describe(address=address).weight == 3
    with client.connect("blocking") as conn:
        conn.execute("CREATE TABLE t (n)")
    files = client.dump("blocking")
    assert set(files) == {"blocking", "blocking-wal"}


async def test_describe_and_set_weight(cluster: Cluster) -> None:
    client = client_for(cluster)
    meta = await client.describe()
    assert isinstance(meta, NodeMetadata)
    assert meta.failure_domain == 0
    for node in await client.cluster_info():
        original = (await client.describe(address=node.address)).weight
        try:
            await client.set_weight(original + 5, address=node.address)
            assert (await client.describe(address=node.address)).weight == original + 5
        finally:
            await client.set_weight(original, address=node.address)
        assert (await client.describe(address=node.address)).weight == original


async def test_dump_restores_with_sqlite(cluster: Cluster, dbname: str, tmp_path: Path) -> None:
    client = client_for(cluster)
    async with await client.connect(dbname) as conn:
        await conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB)")
        async with conn.transaction():
            for i in range(100):
                await conn.execute("INSERT INTO kv VALUES (?, ?)", [f"k{i}", bytes([i]) * i])
    files = await client.dump(dbname)
    assert set(files) == {dbname, f"{dbname}-wal"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    restored = sqlite3.connect(tmp_path / dbname)
    try:
        rows = restored.execute("SELECT k, v FROM kv ORDER BY rowid").fetchall()
    finally:
        restored.close()
    assert rows == [(f"k{i}", bytes([i]) * i) for i in range(100)]


async def test_dump_of_an_unknown_database(cluster: Cluster) -> None:
    client = client_for(cluster)
    if cluster.version == "1.11" or cluster.version == "1.18":
        # Servers before 1.18.3 answer with two empty files.
        files = await client.dump("no-such-database")
        assert files == {"no-such-database": b"", "no-such-database-wal": b""}
    else:
        with pytest.raises(OperationalError):
            await client.dump("no-such-database")


async def test_requests_the_leader_refuses(cluster: Cluster) -> None:
    client = client_for(cluster)
    with pytest.raises(OperationalError):
        await client.transfer_leadership(999)
    with pytest.raises(OperationalError):
        await client.remove_node(999)
    with pytest.raises(OperationalError):
        await client.assign_role(999, NodeRole.VOTER)
    assert len(await client.cluster_info()) == 3


async def test_arguments_are_checked_before_anything_is_sent(cluster: Cluster) -> None:
    client = ClusterClient(MemoryNodeStore(["127.0.0.1:1"]))
    with pytest.raises(ValueError, match="node_id"):
        await client.add_node(0, "127.0.0.1:9")
    with pytest.raises(TypeError, match="role"):
        await client.add_node(5, "127.0.0.1:9", role=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid address"):
        await client.add_node(5, "no-port")
    with pytest.raises(ValueError, match="weight"):
        await client.set_weight(-1)
    with pytest.raises(TypeError, match="database"):
        await client.dump("")
    leader, _ = leader_and_follower(cluster)
    assert leader in cluster.addresses


one_node = make_fixture(nodes=1)


async def test_the_last_voter_is_neither_demoted_nor_removed(one_node: Cluster) -> None:
    """A cluster without a voter never elects a leader again: the client refuses to take
    the last voter's vote, unless forced."""
    client = client_for(one_node)
    leader = await client.leader_info()
    assert leader is not None
    for role in (NodeRole.STANDBY, NodeRole.SPARE):
        with pytest.raises(ClusterPolicyError, match="last voter"):
            await client.assign_role(leader.node_id, role)
    with pytest.raises(ClusterPolicyError, match=r"force=True"):
        await client.remove_node(leader.node_id)
    blocking = sync.ClusterClient(MemoryNodeStore(one_node.addresses), timeout=5.0)
    with pytest.raises(ClusterPolicyError, match="last voter"):
        blocking.assign_role(leader.node_id, NodeRole.SPARE)
    with pytest.raises(ClusterPolicyError, match="last voter"):
        blocking.remove_node(leader.node_id)
    # Nothing was sent.
    assert roles(await client.cluster_info()) == {leader.node_id: NodeRole.VOTER}

    # Forced, the change is sent, and the cluster has no leader any more.
    with contextlib.suppress(DqliteError):  # "leadership lost", on some versions
        await client.remove_node(leader.node_id, force=True)
    gone = ClusterClient(MemoryNodeStore(one_node.addresses), timeout=2.0, attempt_timeout=0.5)
    with pytest.raises(ClusterError):
        await gone.find_leader()
