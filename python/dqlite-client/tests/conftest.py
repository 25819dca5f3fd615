"""Fixtures on the test kit's pytest plugin (``crates/dqlite-testkit/python``).

Real dqlite clusters of the version in ``DQLITE_SERVER_VERSION`` (1.11 by default).
"""

from __future__ import annotations

import pytest
from dqlite_testkit import Cluster


@pytest.fixture(scope="session")
def cluster(dqlite_cluster: Cluster) -> Cluster:
    """The session's 3-node cluster (tests must leave its membership as they found it)."""
    return dqlite_cluster


@pytest.fixture
def own_cluster(dqlite_own_cluster: Cluster) -> Cluster:
    """A 3-node cluster of this test's own (for membership changes and kills)."""
    return dqlite_own_cluster


@pytest.fixture
def dbname(dqlite_database: str) -> str:
    """A database name of this test's own."""
    return dqlite_database
