"""TLS to nodes that speak it themselves (go-dqlite 2.0's ``dqlite-demo --cert/--key``, on
1.18 and newer; skipped on 1.11): files, PEM bytes, connection strings and the
environment, sync and asyncio; refusals with the right class; failover across TLS nodes.

The test kit's TLS clusters share one self-signed certificate and demand it from clients
(mutual TLS), as go-dqlite clusters do.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dqlite_testkit import Cluster

import dqlitedbapi
from dqlitedbapi import TLSConfig
from dqlitedbapi.aio import aconnect

from .test_close_from_thread import (
    CALL_TIMEOUT,
    CLOSE_TIMEOUT,
    Running,
    assert_closed_for_good,
    close_timed,
)
from .test_logging import SECRET, assert_no_secret, fields, of


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key the cluster does not know (for 127.0.0.1)."""
    directory = tmp_path_factory.mktemp("stranger")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_cluster(dqlite_tls_cluster: Cluster) -> Cluster:
    """The session's TLS cluster."""
    return dqlite_tls_cluster


def files(cluster: Cluster) -> tuple[str, str]:
    assert cluster.ca is not None
    assert cluster.key is not None
    return cluster.ca, cluster.key


def test_a_query_over_tls_with_files_and_with_pem_bytes(tls_cluster: Cluster, dbname: str) -> None:
    cert, key = files(tls_cluster)
    conn = dqlitedbapi.connect(
        tls_cluster.address, database=dbname, tls=TLSConfig(cert=cert, key=key)
    )
    conn.execute("CREATE TABLE t (s TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", ("over tls",))
    conn.close()
    pem = TLSConfig(cert=Path(cert).read_bytes(), key=Path(key).read_bytes(), ca=Path(cert))
    conn = dqlitedbapi.connect(tls_cluster.address, database=dbname, tls=pem)
    assert conn.execute("SELECT s FROM t").fetchall() == [("over tls",)]
    conn.close()


def test_tls_from_a_connection_string_and_from_the_environment(
    tls_cluster: Cluster, dbname: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = files(tls_cluster)
    url = f"dqlite://{tls_cluster.address}/{dbname}?tls_cert={cert}&tls_key={key}&timeout=5"
    with dqlitedbapi.connect(url) as conn:
        assert conn.database == dbname
        assert conn.execute("SELECT 1").fetchone() == (1,)
    monkeypatch.setenv("DQLITE_TLS_CERT", cert)
    monkeypatch.setenv("DQLITE_TLS_KEY", key)
    conn = dqlitedbapi.connect(tls_cluster.address, database=dbname)
    assert conn.execute("SELECT 2").fetchone() == (2,)
    conn.close()
    # tls=False wins over the environment: a plain connection to a TLS node fails.
    with pytest.raises(dqlitedbapi.OperationalError, match="Failed to connect"):
        dqlitedbapi.connect(tls_cluster.address, database=dbname, tls=False, timeout=1).execute(
            "SELECT 1"
        )


async def test_asyncio_over_tls(tls_cluster: Cluster, dbname: str) -> None:
    cert, key = files(tls_cluster)
    conn = await aconnect(tls_cluster.address, database=dbname, tls=TLSConfig(cert=cert, key=key))
    await conn.execute("CREATE TABLE t (n INTEGER)")
    cur = await conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(500)])
    assert cur.rowcount == 500
    cur = await conn.execute("SELECT count(*), sum(n) FROM t")
    assert await cur.fetchone() == (500, 124750)
    await conn.close()


async def test_a_closed_asyncio_tls_connection_leaves_nothing_on_its_loop(
    tls_cluster: Cluster, dbname: str
) -> None:
    # A TLS socket stays with the client's own reactor: the loop only watches the
    # connection's wake-up pipe. Once the connection is gone that reader must go too; left
    # registered with its writing end closed, it is readable for good and the loop calls
    # it at every turn (a busy loop, which also swallows pytest-timeout's signal).
    loop = asyncio.get_running_loop()
    registered = loop._selector.get_map()  # type: ignore[attr-defined]
    before = set(registered)
    cert, key = files(tls_cluster)
    conn = await aconnect(tls_cluster.address, database=dbname, tls=TLSConfig(cert=cert, key=key))
    await conn.execute("SELECT 1")
    assert len(set(registered) - before) == 1
    await conn.close()
    del conn
    gc.collect()
    give_up = time.monotonic() + 5
    while set(registered) != before and time.monotonic() < give_up:
        await asyncio.sleep(0.01)
    assert set(registered) == before
    # And the loop is idle again: a second of sleep costs next to no CPU.
    started = time.process_time()
    await asyncio.sleep(1)
    assert time.process_time() - started < 0.1


def test_a_wrong_ca_is_refused_with_an_operational_error(
    tls_cluster: Cluster, dbname: str, stranger: tuple[Path, Path]
) -> None:
    cert, key = files(tls_cluster)
    # The nodes' certificate is not the one trusted.
    wrong_ca = TLSConfig(cert=cert, key=key, ca=stranger[0])
    with pytest.raises(dqlitedbapi.OperationalError, match="invalid peer certificate") as info:
        dqlitedbapi.connect(tls_cluster.address, database=dbname, tls=wrong_ca, timeout=1).execute(
            "SELECT 1"
        )
    assert info.value.connection_lost
    # The nodes do not trust the client's certificate. (TLS 1.3 reports that after the
    # client's side of the handshake: the error is the node's alert, or the write it cut.)
    unknown_client = TLSConfig(cert=stranger[0], key=stranger[1], ca=cert)
    with pytest.raises(dqlitedbapi.OperationalError, match="Failed to connect"):
        dqlitedbapi.connect(
            tls_cluster.address, database=dbname, tls=unknown_client, timeout=1
        ).execute("SELECT 1")
    # The certificate names 127.0.0.1 and localhost only.
    other_name = TLSConfig(cert=cert, key=key, server_name="db.example")
    with pytest.raises(dqlitedbapi.OperationalError, match="not valid for name"):
        dqlitedbapi.connect(
            tls_cluster.address, database=dbname, tls=other_name, timeout=1
        ).execute("SELECT 1")


async def test_a_wrong_ca_is_refused_from_asyncio(
    tls_cluster: Cluster, dbname: str, stranger: tuple[Path, Path]
) -> None:
    cert, key = files(tls_cluster)
    with pytest.raises(dqlitedbapi.OperationalError, match="invalid peer certificate"):
        await aconnect(
            tls_cluster.address,
            database=dbname,
            tls=TLSConfig(cert=cert, key=key, ca=stranger[0]),
            timeout=1,
        )


@pytest.fixture
def leader_killed(tls_cluster: Cluster) -> Iterator[Callable[[], None]]:
    """Kills the TLS cluster's leader when called; restarts it after the test (only one
    TLS cluster can run at a time, so the session's is healed, not replaced)."""
    killed: list[int] = []

    def kill() -> None:
        leader = tls_cluster.wait_for_leader()
        tls_cluster.kill(leader)
        killed.append(leader)

    yield kill
    for index in killed:
        tls_cluster.restart(index)
    tls_cluster.wait_healthy(60)


@pytest.mark.failover
def test_failover_across_tls_nodes(
    tls_cluster: Cluster, dbname: str, leader_killed: Callable[[], None]
) -> None:
    tls = TLSConfig(cert=tls_cluster.ca, key=tls_cluster.key)
    conn = dqlitedbapi.connect(tls_cluster.address, database=dbname, tls=tls, timeout=5)
    conn.execute("CREATE TABLE t (n)")
    conn.execute("INSERT INTO t VALUES (1)")
    leader_killed()
    with pytest.raises(dqlitedbapi.OperationalError) as lost:
        conn.execute("SELECT count(*) FROM t")
    assert lost.value.connection_lost
    again = dqlitedbapi.connect(tls_cluster.address, database=dbname, tls=tls, timeout=10)
    again.execute("INSERT INTO t VALUES (2)")
    assert again.execute("SELECT count(*) FROM t").fetchone() == (2,)
    again.close()


@pytest.mark.failover
async def test_failover_across_tls_nodes_from_asyncio(
    tls_cluster: Cluster, dbname: str, leader_killed: Callable[[], None]
) -> None:
    tls = TLSConfig(cert=tls_cluster.ca, key=tls_cluster.key)
    conn = await aconnect(tls_cluster.address, database=dbname, tls=tls, timeout=5)
    await conn.execute("CREATE TABLE t (n)")
    leader_killed()
    with pytest.raises(dqlitedbapi.OperationalError) as lost:
        await conn.execute("INSERT INTO t VALUES (1)")
    assert lost.value.connection_lost
    again = await aconnect(tls_cluster.address, database=dbname, tls=tls, timeout=10)
    await again.execute("INSERT INTO t VALUES (2)")
    cur = await again.execute("SELECT n FROM t")
    # The first INSERT may or may not have been applied before the leader died.
    assert (2,) in await cur.fetchall()
    await again.close()


def test_tls_config_checks_its_arguments(tmp_path: Path, stranger: tuple[Path, Path]) -> None:
    cert, key = stranger
    config = TLSConfig(cert=cert, key=key.read_bytes(), server_name="localhost")
    assert config.server_name == "localhost"
    # repr names files, never shows key bytes.
    assert str(cert) in repr(config)
    assert "<PEM bytes>" in repr(config)
    assert "PRIVATE" not in repr(config)
    assert TLSConfig(ca=str(cert)).server_name is None
    for kwargs, message in [
        ({}, "needs ca"),
        ({"cert": cert}, "go together"),
        ({"key": key}, "go together"),
        ({"ca": tmp_path / "missing.pem"}, "cannot read"),
        ({"ca": b"not pem"}, "no PEM certificate"),
        ({"ca": cert.read_text()}, "pass PEM text as bytes"),
        ({"ca": 42}, "file name"),
        ({"cert": cert, "key": cert}, "cert="),
        ({"ca": cert, "server_name": "not a name!"}, "server name"),
    ]:
        with pytest.raises(dqlitedbapi.ProgrammingError, match=message):
            TLSConfig(**kwargs)  # type: ignore[arg-type]


def test_an_ssl_context_is_refused_cleanly() -> None:
    with pytest.raises(dqlitedbapi.NotSupportedError, match="rustls"):
        dqlitedbapi.connect("127.0.0.1:9", tls=ssl.create_default_context())  # type: ignore[arg-type]
    with pytest.raises(dqlitedbapi.ProgrammingError, match="TLSConfig"):
        dqlitedbapi.connect("127.0.0.1:9", tls=True)  # type: ignore[arg-type]


# The tests below are here rather than in test_close_from_thread.py and test_logging.py:
# the TLS cluster is one per pytest worker and per machine at a time, and this file (one
# worker) already has it; another file's would wait for it.

# About five seconds of work for the server.
SLOW = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 15000000) "
    "SELECT count(*) FROM c"
)


def tls_of(cluster: Cluster) -> TLSConfig:
    cert, key = files(cluster)
    return TLSConfig(cert=cert, key=key)


class TlsProxies:
    """The TLS cluster behind the test kit's fault proxies, one per node, which the
    connections reach through their ``dial_func`` (a client given a proxy's address would
    follow the node's leader answer, which a proxy cannot rewrite inside TLS, past it)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.proxies = [cluster.proxy(i) for i in range(len(cluster.addresses))]
        self.routes = {
            address: proxy.address
            for address, proxy in zip(cluster.addresses, self.proxies, strict=True)
        }
        self.tls = tls_of(cluster)

    def dial(self, address: str) -> socket.socket:
        host, port = self.routes.get(address, address).rsplit(":", 1)
        return socket.create_connection((host, int(port)), timeout=5)

    def fault(self, fault: str) -> None:
        for proxy in self.proxies:
            proxy.fault(fault)

    def options(self, dbname: str) -> dict[str, Any]:
        return {
            "database": dbname,
            "timeout": CALL_TIMEOUT,
            "close_timeout": CLOSE_TIMEOUT,
            "tls": self.tls,
            "dial_func": self.dial,
        }


@pytest.fixture(scope="module")
def tls_proxies(dqlite_tls_cluster: Cluster) -> TlsProxies:
    return TlsProxies(dqlite_tls_cluster)


@pytest.fixture
def stalling(tls_proxies: TlsProxies) -> Iterator[TlsProxies]:
    """The proxies, cleared of their fault after the test (the connections a blackhole
    held stay silent; the next test opens its own)."""
    try:
        yield tls_proxies
    finally:
        tls_proxies.fault("none")


def sync_through(proxies: TlsProxies, dbname: str) -> dqlitedbapi.Connection:
    conn = dqlitedbapi.connect(
        proxies.cluster.address, check_same_thread=False, **proxies.options(dbname)
    )
    conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    conn.commit()
    return conn


def test_close_over_tls_interrupts_a_slow_query(dqlite_tls_cluster: Cluster, dbname: str) -> None:
    # The TLS socket is shut down under the call, as a plain one: the server's five
    # seconds of work are not waited for.
    conn = dqlitedbapi.connect(
        dqlite_tls_cluster.address,
        database=dbname,
        timeout=60.0,
        close_timeout=CLOSE_TIMEOUT,
        check_same_thread=False,
        tls=tls_of(dqlite_tls_cluster),
    )
    running = Running(lambda: conn.execute(SLOW))
    time.sleep(0.3)
    took = close_timed(conn)
    assert took < CLOSE_TIMEOUT + 1.0, took
    error = running.join()
    assert type(error) is dqlitedbapi.InterfaceError, repr(error)
    assert "Connection closed while an operation was in flight" in str(error), error
    assert running.ended - running.started < 2.0, running.ended - running.started
    assert_closed_for_good(conn)


@pytest.mark.parametrize("statement", ["SELECT count(*) FROM t", "INSERT INTO t VALUES (1)"])
def test_close_over_tls_interrupts_a_call_whose_answer_is_stalled(
    stalling: TlsProxies, dbname: str, statement: str
) -> None:
    conn = sync_through(stalling, dbname)
    stalling.fault("blackhole")
    running = Running(lambda: conn.execute(statement).fetchall())
    time.sleep(0.3)
    took = close_timed(conn)
    assert took < CLOSE_TIMEOUT + 1.0, took
    error = running.join()
    assert_interrupted(statement, error)
    # Ended by the close, not by its own deadline.
    assert running.ended - running.started < 3.0 < CALL_TIMEOUT
    assert_closed_for_good(conn)


def assert_interrupted(statement: str, error: BaseException) -> None:
    """The error of a call cut off by close(), as over plain TCP."""
    if statement.startswith("INSERT"):
        # Sent whole before the close: whether it ran is unknown.
        assert isinstance(error, dqlitedbapi.OutcomeUnknownError), repr(error)
        assert "closed" in str(error), error
    else:
        assert type(error) is dqlitedbapi.InterfaceError, repr(error)
        assert "Connection closed while an operation was in flight" in str(error), error
        assert error.connection_lost


@pytest.mark.parametrize("statement", ["SELECT count(*) FROM t", "INSERT INTO t VALUES (1)"])
async def test_close_from_another_thread_interrupts_an_asyncio_call_over_tls(
    stalling: TlsProxies, dbname: str, statement: str
) -> None:
    # The TLS stream is on the driver's background runtime, not on the loop: the close
    # must reach its socket all the same.
    conn = await aconnect(stalling.cluster.address, **stalling.options(dbname))
    await conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    await conn.commit()
    stalling.fault("blackhole")
    closer = threading.Timer(0.3, lambda: asyncio.run(conn.close()))
    started = time.monotonic()
    closer.start()
    with pytest.raises(dqlitedbapi.Error) as raised:
        await (await conn.execute(statement)).fetchall()
    took = time.monotonic() - started
    closer.join()
    assert_interrupted(statement, raised.value)
    assert took < 3.0 < CALL_TIMEOUT, took
    assert conn.closed
    with pytest.raises(dqlitedbapi.InterfaceError, match="closed"):
        await conn.execute("SELECT 1")


async def test_records_of_the_background_thread_reach_logging_on_the_loop(
    dqlite_tls_cluster: Cluster, dbname: str, caplog: pytest.LogCaptureFixture
) -> None:
    """asyncio over TLS: the connection's requests run on the driver's background I/O
    thread, which must not enter Python; its records come out on the loop's thread."""
    caplog.set_level(logging.DEBUG, logger="dqlitedbapi")
    cluster = dqlite_tls_cluster
    assert cluster.ca is not None
    assert cluster.key is not None
    tls = TLSConfig(cert=cluster.ca, key=cluster.key)
    conn = await aconnect(cluster.address, database=dbname, tls=tls)
    await conn.execute("CREATE TABLE t (v TEXT)")
    await conn.execute("INSERT INTO t VALUES (?)", (SECRET,))
    cur = await conn.execute("SELECT v FROM t WHERE v = ?", (SECRET,))
    assert await cur.fetchall() == [(SECRET,)]
    # The query's event was queued before the request went out: it is handed over by the
    # time the answer reaches the awaiting task.
    (query,) = [
        r
        for r in of(caplog, "dqlitedbapi.sql")
        if r.message.startswith("query") and fields(r)["sql"] == "SELECT v FROM t WHERE v = ?"
    ]
    assert query.thread == threading.get_ident()
    assert fields(query)["params"] == 1
    await conn.close()
    assert_no_secret(caplog)
