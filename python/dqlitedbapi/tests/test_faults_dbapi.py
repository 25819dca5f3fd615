"""Jepsen-style faults through the blocking driver and its asyncio API.

The same workloads, faults and checkers as the Rust suite (``dqlite_testkit.jepsen``): four
workloads run at once on a partitionable cluster of bare nodes while the nemesis partitions,
delays, drops, kills and changes membership, then ``dqlite-testkit check`` judges every
history: 0 lost, 0 duplicated, 0 applied writes reported as plain failures, no isolation
anomaly.

The test command runs the ``mixed`` scenario (one fault of each family) per front;
``DQLITE_RELIABILITY_FULL=1`` runs every fault kind separately.
"""

from __future__ import annotations

import pytest
from dqlite_testkit.jepsen import SCENARIOS, full_run, run_scenario

from .jepsen_fronts import AsyncFront, SyncFront

pytestmark = pytest.mark.failover

KINDS = [s for s in SCENARIOS if s != "mixed"] if full_run() else ["mixed"]


@pytest.mark.parametrize("kind", KINDS)
async def test_faults_blocking_driver(kind: str) -> None:
    result = await run_scenario(lambda cluster: SyncFront(cluster.address), kind)
    result.assert_valid()


@pytest.mark.parametrize("kind", KINDS)
async def test_faults_asyncio_driver(kind: str) -> None:
    result = await run_scenario(lambda cluster: AsyncFront(cluster.address), kind)
    result.assert_valid()
