"""Ctrl-C during a query, fork, and server-version-dependent features."""

from __future__ import annotations

import _thread
import os
import signal
import threading
import time

import pytest
from dqlite_testkit import Cluster

import dqlitedbapi
from dqlitedbapi import Connection

# About 1.2 s on an idle 2-core machine: well past the simulated Ctrl-C at 0.2 s, and short
# enough not to hold the leader's event loop (no heartbeats while SQLite computes) for an
# election timeout.
SLOW = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 4000000) "
    "SELECT count(*) FROM c"
)


def test_ctrl_c_interrupts_a_query(conn: Connection) -> None:
    # A process started in the background by a non-interactive shell (as CI may start the
    # test command) inherits SIGINT ignored, and Python then installs no handler, so a
    # simulated Ctrl-C would do nothing: install Python's own handler for this test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            conn.execute(SLOW)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 1.5
    # Clean or closed, never out of sync.
    if conn.closed:
        with pytest.raises(dqlitedbapi.InterfaceError):
            conn.execute("SELECT 1")
        return
    try:
        row = conn.execute("SELECT 1").fetchone()
    except dqlitedbapi.OperationalError as e:
        failure = str(e)
    else:
        assert row == (1,)
        return
    # Under heavy load the slow query can still hold the leader's loop long enough for
    # another node to be elected: the node then answers "not leader" (or "leadership
    # lost"), which closes the connection; also a clean outcome.
    assert "leader" in failure
    with pytest.raises(dqlitedbapi.InterfaceError):
        conn.execute("SELECT 1")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fork_child_gets_a_clear_error(conn: Connection) -> None:
    conn.execute("SELECT 1").fetchone()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            conn.execute("SELECT 1")
            code = b"no error"
        except dqlitedbapi.InterfaceError as e:
            code = b"ok" if "another process" in str(e) else str(e).encode()
        except BaseException as e:
            code = repr(e).encode()
        os.write(write, code)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        answer = f.read()
    os.waitpid(pid, 0)
    assert answer == b"ok"
    assert conn.execute("SELECT 2").fetchone() == (2,)


def test_returning(conn: Connection) -> None:
    conn.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT)")
    sql = "INSERT INTO r (v) VALUES (?) RETURNING id, v"
    try:
        cur = conn.execute(sql, ("a",))
    except dqlitedbapi.NotSupportedError:
        # Servers before 1.18.2 cannot run RETURNING safely; the error says so.
        with pytest.raises(dqlitedbapi.NotSupportedError, match=r"1\.18\.2"):
            conn.execute(sql, ("a",))
        return
    assert cur.fetchall() == [(1, "a")]


def test_returning_constraint_violation_is_an_integrity_error(
    cluster: Cluster, conn: Connection
) -> None:
    # The server sends the column header it had begun before the failure (1.18.7).
    conn.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
    conn.execute("INSERT INTO u VALUES (1, 'a')")
    sql = "INSERT INTO u (v) VALUES ('a') RETURNING id"
    if cluster.version in ("1.11", "1.18"):  # before 1.18.2
        with pytest.raises(dqlitedbapi.NotSupportedError):
            conn.execute(sql)
        return
    with pytest.raises(dqlitedbapi.IntegrityError) as info:
        conn.execute(sql)
    assert info.value.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE"
    assert "UNIQUE constraint failed: u.v" in str(info.value)
    assert conn.execute("SELECT count(*) FROM u").fetchone() == (1,)
