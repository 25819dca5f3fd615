"""Helpers of the tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from dqlite_testkit import Cluster

from dqliteclient import ClusterClient, MemoryNodeStore

T = TypeVar("T")


def client_for(cluster: Cluster, **kwargs: object) -> ClusterClient:
    """An asyncio cluster client over every node of ``cluster``."""
    return ClusterClient(MemoryNodeStore(cluster.addresses), timeout=5.0, **kwargs)  # type: ignore[arg-type]


def leader_and_follower(cluster: Cluster) -> tuple[str, str]:
    """The addresses of the leader and of one follower."""
    leader = cluster.addresses[cluster.wait_for_leader()]
    follower = next(a for a in cluster.addresses if a != leader)
    return leader, follower


async def wait_until(
    what: str, probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 30
) -> T:
    """Awaits ``probe()`` until ``check`` holds on its value (errors count as not yet)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = await probe()
            if check(value):
                return value
            last = value
        except Exception as e:
            last = e
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; last: {last!r}")
        await asyncio.sleep(0.2)


def poll(what: str, probe: Callable[[], T], check: Callable[[T], bool], timeout: float = 30) -> T:
    """Calls ``probe()`` until ``check`` holds on its value (errors count as not yet)."""

    async def probe_async() -> T:
        return probe()

    return asyncio.run(wait_until(what, probe_async, check, timeout))


async def move_leadership(client: ClusterClient, node_id: int, timeout: float = 30) -> str:
    """Hands leadership to ``node_id`` and waits until it leads; returns its address.

    Raft gives up a transfer whose target does not catch up within an election timeout
    ("leadership transfer failed", more likely on a loaded machine): it is asked again,
    as an operator would.
    """

    async def ask_and_look() -> tuple[int, str] | None:
        info = await client.leader_info()
        if info is not None and info.node_id == node_id:
            return info.node_id, info.address
        await client.transfer_leadership(node_id)
        await asyncio.sleep(0.5)
        info = await client.leader_info()
        return None if info is None else (info.node_id, info.address)

    led = await wait_until(
        f"node {node_id} leads", ask_and_look, lambda i: i is not None and i[0] == node_id, timeout
    )
    assert led is not None
    return led[1]
