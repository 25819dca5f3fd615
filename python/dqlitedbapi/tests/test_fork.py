"""Connections inherited through ``os.fork()``: the child drops them without harm.

A child process inherits copies of the parent's connections: their sockets, the tokio
runtime of a blocking connection (whose threads do not exist in the child) and the
registrations of an asyncio connection in the event loop's epoll set (which the child
shares with the parent). Dropping such a copy in the child must neither wait for threads
that are not there nor touch the parent's registrations; the parent keeps working.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

import dqlitedbapi
from dqlitedbapi.aio import aconnect

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork"),
    # Python 3.12+ warns about fork() in a process with threads; that is the point here.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

# A child that has not reported within this time is taken as hung.
CHILD_DEADLINE = 20.0


def by_hostname(cluster: Any) -> list[str]:
    """The cluster's addresses with ``localhost`` instead of 127.0.0.1: resolving a name
    runs on the blocking connection's runtime's own thread (tokio's blocking pool)."""
    return [a.replace("127.0.0.1", "localhost") for a in cluster.addresses]


def fork_child(body: Callable[[], None]) -> tuple[int, int]:
    """Forks; the child runs ``body`` and writes ``ok`` or the error it raised to a pipe,
    then exits at once (no interpreter teardown). Returns (pid, read end of the pipe)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            body()
            report = b"ok"
        except BaseException as e:
            report = repr(e).encode()
        os.write(write, report)
        os._exit(0)
    os.close(write)
    return pid, read


def child_report(pid: int, read: int) -> str:
    """What the child reported; fails the test if it does not exit in time."""
    deadline = time.monotonic() + CHILD_DEADLINE
    while os.waitpid(pid, os.WNOHANG)[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read)
            pytest.fail(f"the child did not exit within {CHILD_DEADLINE} s (hung)")
        time.sleep(0.02)
    with os.fdopen(read, "rb") as f:
        return f.read().decode()


def test_child_drops_an_inherited_connection(cluster: Any, dbname: str) -> None:
    conn = dqlitedbapi.connect(by_hostname(cluster), database=dbname)
    conn.execute("CREATE TABLE t (v)")
    assert conn.execute("SELECT 1").fetchone() == (1,)
    cursor = conn.execute("SELECT 2")

    def child() -> None:
        nonlocal conn, cursor
        with pytest.raises(dqlitedbapi.InterfaceError, match="another process") as info:
            conn.execute("SELECT 1")
        # A pool (SQLAlchemy's is_disconnect) discards such a connection.
        assert info.value.connection_lost
        del conn, cursor
        gc.collect()

    assert child_report(*fork_child(child)) == "ok"
    # The parent's connection and its open result are untouched.
    assert cursor.fetchall() == [(2,)]
    conn.execute("INSERT INTO t VALUES (1)")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    conn.close()


def test_child_closes_an_inherited_connection(cluster: Any, dbname: str) -> None:
    conn = dqlitedbapi.connect(by_hostname(cluster), database=dbname)
    assert conn.execute("SELECT 1").fetchone() == (1,)

    def child() -> None:
        # Nothing to close in the child: it neither fails nor touches the parent's session.
        conn.close()
        assert conn.closed

    assert child_report(*fork_child(child)) == "ok"
    assert not conn.closed
    assert conn.execute("SELECT 2").fetchone() == (2,)
    conn.close()


def test_sqlalchemy_dispose_without_close_in_a_child(cluster: Any, dbname: str) -> None:
    pytest.importorskip("sqlalchemy_dqlite")
    import sqlalchemy

    url = f"dqlite://[{','.join(by_hostname(cluster))}]/{dbname}"
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as c:
        assert c.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
    pool = engine.pool
    assert isinstance(pool, sqlalchemy.pool.QueuePool)
    assert pool.checkedin() == 1

    def child() -> None:
        # What SQLAlchemy's documentation prescribes for a child process: forget the
        # inherited connections without closing them, then open new ones.
        engine.dispose(close=False)
        gc.collect()
        with engine.connect() as c:
            assert c.execute(sqlalchemy.text("SELECT 3")).scalar() == 3

    assert child_report(*fork_child(child)) == "ok"
    # The parent still uses its pooled connection.
    with engine.connect() as c:
        assert c.execute(sqlalchemy.text("SELECT 2")).scalar() == 2
    assert pool.checkedin() == 1
    engine.dispose()


def epoll_registrations(loop: asyncio.AbstractEventLoop) -> set[int]:
    """The descriptors registered in the loop's epoll set, as the kernel sees them."""
    epoll_fd = cast(Any, loop)._selector._selector.fileno()
    info = Path(f"/proc/self/fdinfo/{epoll_fd}").read_text()
    return {int(line.split()[1]) for line in info.splitlines() if line.startswith("tfd:")}


async def test_asyncio_child_leaves_the_parents_loop_alone(cluster: Any, dbname: str) -> None:
    conn = await aconnect(cluster.address, database=dbname, timeout=5)
    await conn.execute("CREATE TABLE t (v)")
    cur = await conn.execute("SELECT 1")
    assert await cur.fetchone() == (1,)
    del cur
    # The handle that resumed this coroutine holds the last awaited result: resume from
    # a plain sleep instead, so that the connection below is the child's last reference.
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    registered = epoll_registrations(loop)
    assert registered

    def child() -> None:
        nonlocal conn
        del conn
        gc.collect()

    assert child_report(*fork_child(child)) == "ok"
    assert epoll_registrations(loop) == registered

    # A write that meets a locked database retries after timers that run on the driver's
    # I/O thread, whose wake-ups reach this loop through a registered descriptor.
    blocker = dqlitedbapi.connect(cluster.address, database=dbname, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute("INSERT INTO t VALUES (0)")
    release = threading.Timer(0.3, blocker.commit)
    release.start()
    try:
        async with asyncio.timeout(10):
            await conn.execute("INSERT INTO t VALUES (1)")
    finally:
        release.join()
        blocker.close()
    cur = await conn.execute("SELECT count(*) FROM t")
    assert await cur.fetchone() == (2,)
    await conn.close()


FORKING_SCRIPT = """
import os, sys, threading, time, warnings
import dqlitedbapi

warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads
conn = dqlitedbapi.connect(sys.argv[1], database=sys.argv[2], check_same_thread=False)
stop = threading.Event()

def worker():
    while not stop.is_set():
        conn.execute("SELECT 1").fetchall()

threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
slow = []
for i in range(20):
    sum(range(200_000))  # holds the GIL a while: the workers queue for it
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        sys.exit(0)  # a normal exit: atexit hooks and finalization run
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    took = time.monotonic() - started
    if took > 0.5:
        slow.append((i, round(took, 2)))
stop.set()
for t in threads:
    t.join()
print("slow", slow)
"""


def test_child_exits_at_once_while_parent_threads_run_calls(cluster: Any, dbname: str) -> None:
    # Parent threads on their way back to the GIL from a call when the child is forked
    # do not exist in the child: its exit must not wait for them.
    proc = subprocess.run(
        [sys.executable, "-c", FORKING_SCRIPT, cluster.address, dbname],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "slow []"
