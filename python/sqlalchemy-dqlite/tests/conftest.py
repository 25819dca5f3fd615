"""Fixtures: a real dqlite cluster per test session, from the project's test kit.

The cluster (3 nodes, server version ``$DQLITE_SERVER_VERSION``, 1.11 by default) is
started with ``crates/dqlite-testkit/python/dqlite_testkit.py``, which drives the
``dqlite-testkit`` CLI (built here when missing). Each test gets a database of its own.
Tests marked ``failover`` start their own cluster, since they kill nodes.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "crates" / "dqlite-testkit" / "python"))

from dqlite_testkit import Cluster, default_binary  # noqa: E402


def _build_testkit() -> None:
    if not default_binary().exists():
        subprocess.run(
            ["cargo", "build", "-q", "-p", "dqlite-testkit", "--bin", "dqlite-testkit"],
            cwd=REPO,
            check=True,
        )


def nodes_url(cluster: Cluster, database: str, scheme: str = "dqlite") -> str:
    """A URL naming every node of ``cluster``."""
    return f"{scheme}://[{','.join(cluster.addresses)}]/{database}"


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The session's cluster."""
    _build_testkit()
    with Cluster(3, verbose=False) as c:
        yield c


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A cluster of this test's own (for tests that kill nodes)."""
    _build_testkit()
    with Cluster(3, verbose=False) as c:
        yield c


_counter = itertools.count()


@pytest.fixture
def dbname(request: pytest.FixtureRequest) -> str:
    """A database name of this test's own."""
    name = request.node.name.replace("[", "_").replace("]", "").replace("-", "_")
    return f"t{next(_counter)}_{name}"[:60]


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
