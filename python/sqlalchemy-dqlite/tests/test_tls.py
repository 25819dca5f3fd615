"""TLS from SQLAlchemy, sync and asyncio: URL parameters ``tls_cert``, ``tls_key``, ``tls_ca``
(go-dqlite 2.0's TLS nodes, on 1.18 and newer; skipped on 1.11)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import quote

import dqlitedbapi
import pytest
from dqlite_testkit import Cluster
from sqlalchemy import create_engine, exc, text
from sqlalchemy.ext.asyncio import create_async_engine


def tls_url(cluster: Cluster, database: str, scheme: str = "dqlite", **extra: str) -> str:
    assert cluster.ca is not None
    assert cluster.key is not None
    query = {"tls_cert": cluster.ca, "tls_key": cluster.key, **extra}
    params = "&".join(f"{k}={quote(v, safe='/')}" for k, v in query.items())
    return f"{scheme}://[{','.join(cluster.addresses)}]/{database}?{params}"


@pytest.fixture
def tls_cluster(dqlite_tls_cluster: Cluster) -> Cluster:
    return dqlite_tls_cluster


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate the cluster does not know."""
    directory = tmp_path_factory.mktemp("stranger")
    cert = directory / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=localhost", "-keyout", str(directory / "key.pem"), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert


def test_sync_engine_over_tls(tls_cluster: Cluster, dbname: str) -> None:
    engine = create_engine(tls_url(tls_cluster, dbname))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (s TEXT)"))
            conn.execute(text("INSERT INTO t VALUES (:s)"), [{"s": "a"}, {"s": "b"}])
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    finally:
        engine.dispose()


async def test_async_engine_over_tls(tls_cluster: Cluster, dbname: str) -> None:
    engine = create_async_engine(tls_url(tls_cluster, dbname, "dqlite+aio"))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (:n)"), [{"n": n} for n in range(10)])
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT sum(n) FROM t"))).scalar() == 45
    finally:
        await engine.dispose()


def test_a_wrong_ca_is_refused(tls_cluster: Cluster, dbname: str, stranger: Path) -> None:
    engine = create_engine(tls_url(tls_cluster, dbname, tls_ca=str(stranger), timeout="1"))
    try:
        with pytest.raises(exc.OperationalError, match="invalid peer certificate") as info:
            engine.connect()
        assert isinstance(info.value.orig, dqlitedbapi.OperationalError)
    finally:
        engine.dispose()


async def test_a_wrong_ca_is_refused_from_asyncio(
    tls_cluster: Cluster, dbname: str, stranger: Path
) -> None:
    url = tls_url(tls_cluster, dbname, "dqlite+aio", tls_ca=str(stranger), timeout="1")
    engine = create_async_engine(url)
    try:
        with pytest.raises(exc.OperationalError, match="invalid peer certificate"):
            await engine.connect()
    finally:
        await engine.dispose()


# The new connection after the kill waits for an election: 4 to 6 s on a loaded machine, so
# the timeout (which bounds finding the leader) is 10 s, as in the driver's failover tests.


def test_failover_across_tls_nodes(tls_cluster: Cluster, dbname: str) -> None:
    engine = create_engine(tls_url(tls_cluster, dbname, timeout="10"), pool_pre_ping=True)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (n INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        leader = tls_cluster.wait_for_leader()
        tls_cluster.kill(leader)
        try:
            # The pooled connection sat on the dead leader: the pre-ping replaces it.
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (2)"))
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
        finally:
            tls_cluster.restart(leader)
            tls_cluster.wait_healthy(60)
    finally:
        engine.dispose()


async def test_failover_across_tls_nodes_from_asyncio(tls_cluster: Cluster, dbname: str) -> None:
    url = tls_url(tls_cluster, dbname, "dqlite+aio", timeout="10")
    engine = create_async_engine(url, pool_pre_ping=True)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        leader = tls_cluster.wait_for_leader()
        tls_cluster.kill(leader)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (2)"))
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 2
        finally:
            tls_cluster.restart(leader)
            tls_cluster.wait_healthy(60)
    finally:
        await engine.dispose()
