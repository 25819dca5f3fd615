"""Disconnect handling: is_disconnect classification, and the pool after a leader dies."""

from __future__ import annotations

import dqlitedbapi
import pytest
from dqlite_testkit import Cluster
from sqlalchemy import create_engine, exc, text

from sqlalchemy_dqlite import DqliteDialect


def nodes_url(cluster: Cluster, database: str) -> str:
    return f"dqlite://[{','.join(cluster.addresses)}]/{database}"


class _Conn:
    def __init__(self, closed: bool) -> None:
        self.closed = closed


def _lost(error: dqlitedbapi.Error) -> dqlitedbapi.Error:
    error.connection_lost = True
    return error


@pytest.mark.parametrize(
    ("error", "closed", "expected"),
    [
        # The driver's word decides, not the message or the code.
        (_lost(dqlitedbapi.OperationalError("not leader", 10250)), False, True),
        (_lost(dqlitedbapi.OutcomeUnknownError("outcome unknown")), False, True),
        (_lost(dqlitedbapi.InterfaceError("Cannot operate on a closed connection.")), False, True),
        (dqlitedbapi.OperationalError("not leader", 10250), False, False),
        (dqlitedbapi.OperationalError("the node closed the connection"), False, False),
        # A connection that reads closed is gone whatever the error.
        (dqlitedbapi.OperationalError("timed out"), True, True),
        (dqlitedbapi.OperationalError("database is locked", 5), False, False),
        (dqlitedbapi.IntegrityError("UNIQUE constraint failed: t.x", 2067), False, False),
        (dqlitedbapi.ProgrammingError('near "SELEC": syntax error', 1), False, False),
        (ValueError("not a driver error"), True, False),
    ],
)
def test_is_disconnect(error: Exception, closed: bool, expected: bool) -> None:
    dialect = DqliteDialect(dbapi=dqlitedbapi)
    assert dialect.is_disconnect(error, _Conn(closed), None) is expected  # type: ignore[arg-type]


def test_driver_errors_say_when_the_connection_is_lost(cluster: Cluster, dbname: str) -> None:
    conn = dqlitedbapi.connect(cluster.addresses, database=dbname)
    with pytest.raises(dqlitedbapi.IntegrityError) as kept:
        conn.execute("CREATE TABLE t (x PRIMARY KEY)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("INSERT INTO t VALUES (1)")
    assert not kept.value.connection_lost
    conn.close()
    with pytest.raises(dqlitedbapi.InterfaceError) as closed:
        conn.execute("SELECT 1")
    assert closed.value.connection_lost


def test_pool_pre_ping_after_leader_killed(own_cluster: Cluster) -> None:
    engine = create_engine(nodes_url(own_cluster, "failover"), pool_pre_ping=True)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert engine.pool.checkedin() == 1  # type: ignore[attr-defined]
        leader = own_cluster.wait_for_leader()
        own_cluster.kill(leader)
        assert own_cluster.wait_for_leader() != leader
        # The pooled connection went to the dead leader: the ping finds it broken, the
        # pool replaces it, and the statement runs on the new leader.
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.failover
def test_invalidated_without_pre_ping(own_cluster: Cluster) -> None:
    engine = create_engine(nodes_url(own_cluster, "failover"))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn = engine.connect()
        conn.execute(text("SELECT 1"))
        conn.commit()
        leader = own_cluster.wait_for_leader()
        own_cluster.kill(leader)
        own_cluster.wait_for_leader()
        with pytest.raises(exc.DBAPIError) as info:
            conn.execute(text("SELECT 1"))
        assert info.value.connection_invalidated
        conn.close()
        # The pool dropped the broken connection; a new one finds the new leader.
        with engine.connect() as fresh:
            assert fresh.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        engine.dispose()


@pytest.mark.failover
def test_commit_with_unknown_outcome_invalidates(own_cluster: Cluster) -> None:
    engine = create_engine(nodes_url(own_cluster, "failover"))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn = engine.connect()
        conn.execute(text("INSERT INTO t VALUES (1)"))
        own_cluster.kill(own_cluster.wait_for_leader())
        with pytest.raises(exc.DBAPIError) as info:
            conn.commit()
        assert info.value.connection_invalidated
        conn.close()
        own_cluster.wait_for_leader()
        with engine.connect() as fresh:
            assert fresh.execute(text("SELECT count(*) FROM t")).scalar() in (0, 1)
    finally:
        engine.dispose()
