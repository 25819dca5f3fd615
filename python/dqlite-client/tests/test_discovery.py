"""Leader discovery through followers and redirect policies, on real clusters."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from dqlite_testkit import Cluster

from dqliteclient import (
    ClusterClient,
    ClusterError,
    ClusterPolicyError,
    MemoryNodeStore,
    allowlist_policy,
    default_safe_redirect_policy,
)
from dqliteclient import blocking as sync
from helpers import client_for, leader_and_follower


async def test_a_follower_leads_the_way(cluster: Cluster) -> None:
    leader, follower = leader_and_follower(cluster)
    client = ClusterClient(MemoryNodeStore([follower]), timeout=5.0)
    assert await client.find_leader() == leader
    async with await client.connect() as conn:
        assert conn.address == leader
        assert await conn.fetchval("SELECT 1") == 1


async def test_an_unreachable_node_is_skipped(cluster: Cluster) -> None:
    leader, _ = leader_and_follower(cluster)
    client = ClusterClient(MemoryNodeStore(["127.0.0.1:1", leader]), timeout=5.0)
    assert await client.find_leader() == leader


async def test_no_reachable_node_is_a_cluster_error() -> None:
    client = ClusterClient(MemoryNodeStore(["127.0.0.1:1"]), timeout=0.5)
    with pytest.raises(ClusterError, match="Could not find leader"):
        await client.find_leader()
    with pytest.raises(ClusterError, match="No nodes configured"):
        await ClusterClient(MemoryNodeStore([])).find_leader()


async def test_a_refused_redirect_is_not_followed_nor_retried(cluster: Cluster) -> None:
    leader, follower = leader_and_follower(cluster)
    asked: list[str] = []

    def only_the_follower(address: str) -> bool:
        asked.append(address)
        return address == follower

    client = ClusterClient(
        MemoryNodeStore([follower]), timeout=5.0, redirect_policy=only_the_follower
    )
    with pytest.raises(ClusterPolicyError, match="rejected by the redirect policy"):
        await client.find_leader()
    assert asked == [leader]
    started = time.monotonic()
    with pytest.raises(ClusterPolicyError):
        await client.connect(max_attempts=3)
    # Not retried: well under one probe's timeout, let alone three attempts with backoff.
    assert time.monotonic() - started < 2.0
    assert asked == [leader, leader]


async def test_policies_of_the_reference(cluster: Cluster) -> None:
    leader, follower = leader_and_follower(cluster)
    # The test kit's nodes listen on loopback, which the default policy refuses.
    refused = client_for(cluster, redirect_policy=default_safe_redirect_policy())
    with pytest.raises(ClusterPolicyError):
        await refused.find_leader()
    allowed = client_for(
        cluster, redirect_policy=default_safe_redirect_policy(include_loopback=True)
    )
    assert await allowed.find_leader() == leader
    listed = client_for(cluster, redirect_policy=allowlist_policy(cluster.addresses))
    assert await listed.find_leader() == leader
    # A policy given to one call replaces the client's for that call.
    with pytest.raises(ClusterPolicyError):
        await listed.find_leader(policy=allowlist_policy([follower]))
    assert await listed.find_leader() == leader


async def test_cluster_info_drops_members_the_policy_refuses(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    leader, follower = leader_and_follower(cluster)
    third = next(a for a in cluster.addresses if a not in (leader, follower))
    client = client_for(cluster, redirect_policy=allowlist_policy([leader, follower]))
    with caplog.at_level(logging.WARNING, logger="dqliteclient.cluster"):
        members = await client.cluster_info()
    assert {m.address for m in members} == {leader, follower}
    assert third in caplog.text
    assert len(await client_for(cluster).cluster_info()) == 3


async def test_the_exception_of_a_policy_propagates(cluster: Cluster) -> None:
    def broken(address: str) -> bool:
        raise RuntimeError("policy bug")

    client = client_for(cluster, redirect_policy=broken)
    with pytest.raises(RuntimeError, match="policy bug"):
        await client.find_leader()
    # Raised once: the next refusal is the policy's own again.
    client = client_for(cluster, redirect_policy=lambda address: False)
    with pytest.raises(ClusterPolicyError):
        await client.find_leader()


async def test_the_policy_runs_on_the_io_thread_without_blocking_the_loop(
    cluster: Cluster,
) -> None:
    # The policy is called from the driver's background I/O thread, which takes the GIL
    # for it: the event loop's thread is not the one waiting, so a slow policy (one that
    # resolves names, say) stalls neither the loop nor its other tasks.
    leader, follower = leader_and_follower(cluster)
    loop_thread = threading.get_ident()
    callers: list[int] = []

    def slow(address: str) -> bool:
        callers.append(threading.get_ident())
        time.sleep(0.3)
        return address == leader

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        client = ClusterClient(MemoryNodeStore([follower]), timeout=5.0, redirect_policy=slow)
        started = time.monotonic()
        leaders = await asyncio.gather(client.find_leader(), client.find_leader())
        elapsed = time.monotonic() - started
        assert list(leaders) == [leader, leader]
        async with await client.connect() as conn:
            assert await conn.fetchval("SELECT 1") == 1
        # A refusal from the I/O thread is a ClusterPolicyError on the loop.
        refusing = ClusterClient(
            MemoryNodeStore([follower]), timeout=5.0, redirect_policy=lambda a: a == follower
        )
        with pytest.raises(ClusterPolicyError, match="rejected by the redirect policy"):
            await refusing.find_leader()
    finally:
        ticker.cancel()
    assert callers
    assert loop_thread not in callers
    # The loop went on ticking (every 10 ms) while the policy slept.
    assert elapsed >= 0.3
    assert ticks >= 10, (ticks, elapsed)


def test_blocking_discovery_and_policy(cluster: Cluster) -> None:
    leader, follower = leader_and_follower(cluster)
    client = sync.ClusterClient(MemoryNodeStore([follower]), timeout=5.0)
    assert client.find_leader() == leader
    refused = sync.ClusterClient(
        MemoryNodeStore([follower]), redirect_policy=allowlist_policy([follower])
    )
    with pytest.raises(ClusterPolicyError):
        refused.find_leader()
    with pytest.raises(ClusterPolicyError):
        refused.connect()
