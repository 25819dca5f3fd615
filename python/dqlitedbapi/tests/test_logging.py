"""The client's events reach Python's ``logging`` under ``dqlitedbapi``: a leader failover,
statements at DEBUG, slow statements; never a parameter value."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from dqlite_testkit import Cluster, make_fixture

import dqlitedbapi
from dqlitedbapi.aio import aconnect

SECRET = "hunter2-never-logged"

own_cluster = make_fixture(nodes=3, scope="module", verbose=False)
"""A cluster of this module's own: its leader gets killed."""


@pytest.fixture(autouse=True)
def slow_off() -> Iterator[None]:
    yield
    dqlitedbapi.set_slow_statement_threshold(None)


def of(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's ``dqlite`` attribute: the event's fields."""
    value = record.__dict__.get("dqlite", {})
    assert isinstance(value, dict)
    return value


def assert_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        if record.name.startswith("dqlitedbapi"):
            seen = f"{record.getMessage()} {record.args} {fields(record)}"
            assert SECRET not in seen, record


@pytest.fixture
def healed(own_cluster: Cluster) -> Iterator[Cluster]:
    """The module's cluster; a killed node is restarted after the test."""
    yield own_cluster
    for node in own_cluster.nodes():
        if node["state"] != "running":
            own_cluster.restart(int(node["index"]))
    own_cluster.wait_healthy(60)


def addresses_by_index(cluster: Cluster) -> dict[int, str]:
    return dict(enumerate(cluster.addresses))


@pytest.mark.failover
def test_a_leader_failover_is_logged(healed: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dqlitedbapi")
    conn = dqlitedbapi.connect(healed.address, database="failover_log", timeout=5)
    conn.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (SECRET,))
    old = addresses_by_index(healed)[healed.wait_for_leader()]
    found = [
        fields(r)["leader"] for r in of(caplog, "dqlitedbapi.discovery") if "leader" in fields(r)
    ]
    assert found[-1] == old
    caplog.clear()

    healed.kill(healed.wait_for_leader())
    with pytest.raises(dqlitedbapi.OperationalError):
        conn.execute("SELECT v FROM t WHERE v = ?", (SECRET,))
    # The failure, handed over before the exception reached the caller.
    discarded = [r for r in of(caplog, "dqlitedbapi.connection") if "discarded" in r.message]
    assert len(discarded) == 1
    assert discarded[0].levelno == logging.INFO
    assert fields(discarded[0])["node"] == old
    assert fields(discarded[0])["reason"]
    assert discarded[0].thread == threading.get_ident()

    again = dqlitedbapi.connect(healed.address, database="failover_log", timeout=10)
    again.execute("SELECT count(*) FROM t WHERE v = ?", (SECRET,)).fetchall()
    connected = [
        r for r in of(caplog, "dqlitedbapi.discovery") if r.message.startswith("connected")
    ]
    new = fields(connected[-1])["leader"]
    assert new != old
    assert new == addresses_by_index(healed)[healed.wait_for_leader()]
    done = [r for r in of(caplog, "dqlitedbapi.discovery") if "discovery done" in r.message]
    assert fields(done[-1])["duration"] > 0
    # Statement text at DEBUG, with the parameter count and never the values.
    sql = [r for r in of(caplog, "dqlitedbapi.sql") if "WHERE v = ?" in r.message]
    assert sql
    assert all(r.levelno == logging.DEBUG for r in sql)
    assert {fields(r)["params"] for r in sql} == {1}
    assert_no_secret(caplog)
    again.close()


@pytest.mark.failover
async def test_a_leader_failover_is_logged_from_asyncio(
    healed: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dqlitedbapi")
    conn = await aconnect(healed.address, database="afailover_log", timeout=5)
    await conn.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
    old = addresses_by_index(healed)[healed.wait_for_leader()]
    caplog.clear()
    healed.kill(healed.wait_for_leader())
    with pytest.raises(dqlitedbapi.OperationalError):
        await conn.execute("INSERT INTO t VALUES (?)", (SECRET,))
    discarded = [r for r in of(caplog, "dqlitedbapi.connection") if "discarded" in r.message]
    assert [fields(r)["node"] for r in discarded] == [old]
    again = await aconnect(healed.address, database="afailover_log", timeout=10)
    connected = [
        r for r in of(caplog, "dqlitedbapi.discovery") if r.message.startswith("connected")
    ]
    assert fields(connected[-1])["leader"] not in (None, old)
    assert_no_secret(caplog)
    await again.close()


def test_levels_follow_the_configuration_of_an_open_connection(
    cluster: Cluster, dbname: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dqlitedbapi")
    conn = dqlitedbapi.connect(cluster.address, database=dbname)
    conn.execute("SELECT 1")
    assert not of(caplog, "dqlitedbapi.sql")
    # setLevel on a logger is noticed by the next call, without reconnecting.
    caplog.set_level(logging.DEBUG, logger="dqlitedbapi.sql")
    conn.execute("SELECT 2")
    assert [fields(r)["sql"] for r in of(caplog, "dqlitedbapi.sql")] == ["SELECT 2"] * 2
    caplog.clear()
    logging.disable(logging.DEBUG)
    try:
        conn.execute("SELECT 3")
        assert not of(caplog, "dqlitedbapi.sql")
    finally:
        logging.disable(logging.NOTSET)
    conn.execute("SELECT 4")
    assert len(of(caplog, "dqlitedbapi.sql")) == 2
    conn.close()


def test_slow_statements_are_warnings(
    cluster: Cluster, dbname: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dqlitedbapi")
    assert dqlitedbapi.get_slow_statement_threshold() is None
    conn = dqlitedbapi.connect(cluster.address, database=dbname)
    conn.execute("SELECT ?", (SECRET,))
    assert not of(caplog, "dqlitedbapi.slow")
    dqlitedbapi.set_slow_statement_threshold(0.0)
    assert dqlitedbapi.get_slow_statement_threshold() == 0.0
    conn.execute("SELECT ?", (SECRET,))
    (slow,) = of(caplog, "dqlitedbapi.slow")
    assert slow.levelno == logging.WARNING
    assert fields(slow)["sql"] == "SELECT ?"
    assert fields(slow)["duration"] >= 0
    assert "slow statement in" in slow.message
    caplog.clear()
    dqlitedbapi.set_slow_statement_threshold(60)
    conn.execute("SELECT ?", (SECRET,))
    assert not of(caplog, "dqlitedbapi.slow")
    assert_no_secret(caplog)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(dqlitedbapi.ProgrammingError, match="threshold"):
            dqlitedbapi.set_slow_statement_threshold(bad)
    conn.close()


class CallsTheDriver(logging.Handler):
    """A handler that runs a statement on the connection for the first record it gets."""

    def __init__(self, conn: dqlitedbapi.Connection) -> None:
        super().__init__(logging.DEBUG)
        self.conn = conn
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(fields(record)["sql"])
        if len(self.seen) == 1:
            self.conn.execute("SELECT 'from the handler'").fetchall()


def test_a_handler_may_call_the_driver(cluster: Cluster, dbname: str) -> None:
    conn = dqlitedbapi.connect(cluster.address, database=dbname)
    handler = CallsTheDriver(conn)
    logger = logging.getLogger("dqlitedbapi.sql")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        # No deadlock (the connection's lock is free when records are handed over) and no
        # recursion (the records of the handler's own call wait for the next call).
        conn.execute("SELECT 1").fetchall()
        assert handler.seen == ["SELECT 1", "SELECT 1"]
        conn.execute("SELECT 2").fetchall()
        assert handler.seen[2:] == ["SELECT 'from the handler'"] * 2 + ["SELECT 2"] * 2
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    conn.close()
