"""Fixtures on the test kit's pytest plugin (``crates/dqlite-testkit/python``, installed).

The plugin gives a real 3-node cluster per session (server version from
``DQLITE_SERVER_VERSION``, 1.11 by default), a cluster of a test's own, and a database name
per test, so tests do not see each other's tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from dqlite_testkit import Cluster

import dqlitedbapi
from dqlitedbapi.aio import AsyncConnection, aconnect


@pytest.fixture(scope="session")
def cluster(dqlite_cluster: Cluster) -> Cluster:
    """The session's cluster."""
    return dqlite_cluster


@pytest.fixture
def dbname(dqlite_database: str) -> str:
    """A database name of this test's own."""
    return dqlite_database


@pytest.fixture
def conn(cluster: Cluster, dbname: str) -> Iterator[dqlitedbapi.Connection]:
    """A blocking connection to this test's database."""
    c = dqlitedbapi.connect(cluster.address, database=dbname)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
async def aconn(cluster: Cluster, dbname: str) -> AsyncIterator[AsyncConnection]:
    """An asyncio connection to this test's database."""
    c = await aconnect(cluster.address, database=dbname)
    try:
        yield c
    finally:
        await c.close()
