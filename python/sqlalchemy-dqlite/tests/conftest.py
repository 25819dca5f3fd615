"""Fixtures on the test kit's pytest plugin (``crates/dqlite-testkit/python``, installed).

The plugin starts real 3-node clusters (server version ``$DQLITE_SERVER_VERSION``, 1.11 by
default) through the ``dqlite-testkit`` CLI: one per session, and one of a test's own for
tests that kill nodes. Each test gets a database of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dqlite_testkit import Cluster
from sqlalchemy import Engine, create_engine


def nodes_url(cluster: Cluster, database: str, scheme: str = "dqlite") -> str:
    """A URL naming every node of ``cluster``."""
    return f"{scheme}://[{','.join(cluster.addresses)}]/{database}"


@pytest.fixture(scope="session")
def cluster(dqlite_cluster: Cluster) -> Cluster:
    """The session's cluster."""
    return dqlite_cluster


@pytest.fixture(scope="session")
def server_has_returning(cluster: Cluster) -> bool:
    """Whether the server runs RETURNING (dqlite 1.18.2 and later: not Debian's 1.11.1
    and 1.18.1, but Debian unstable's "latest")."""
    return cluster.version not in ("1.11", "1.18")


@pytest.fixture
def own_cluster(dqlite_own_cluster: Cluster) -> Cluster:
    """A cluster of this test's own (for tests that kill nodes)."""
    return dqlite_own_cluster


@pytest.fixture
def dbname(dqlite_database: str) -> str:
    """A database name of this test's own."""
    return dqlite_database


@pytest.fixture
def url(cluster: Cluster, dbname: str) -> str:
    """``dqlite://[node,node,node]/<this test's database>``."""
    return nodes_url(cluster, dbname)


@pytest.fixture
def aio_url(cluster: Cluster, dbname: str) -> str:
    """``dqlite+aio://[node,node,node]/<this test's database>``."""
    return nodes_url(cluster, dbname, "dqlite+aio")


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    """A synchronous engine on this test's database."""
    eng = create_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()
