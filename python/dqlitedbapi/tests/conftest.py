"""Fixtures: one real dqlite cluster per test session, from the test kit's CLI.

The cluster runs ``target/debug/dqlite-testkit cluster --nodes 3`` (built if missing) for
the server version in ``DQLITE_SERVER_VERSION`` (1.11 or 1.18; default 1.11). Each test
uses its own database, so tests do not see each other's tables.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import dqlitedbapi
from dqlitedbapi.aio import AsyncConnection, aconnect

ROOT = Path(__file__).resolve().parents[3]
TESTKIT = ROOT / "target" / "debug" / "dqlite-testkit"


class Cluster:
    """A running test cluster, driven through the test kit's line protocol."""

    def __init__(self, nodes: int = 3, version: str | None = None) -> None:
        if not TESTKIT.exists():
            # scripts/setup.sh builds it; build here only when it is missing.
            subprocess.run(
                ["cargo", "build", "-q", "-p", "dqlite-testkit", "--bin", "dqlite-testkit"],
                cwd=ROOT,
                check=True,
            )
        version = version or os.environ.get("DQLITE_SERVER_VERSION", "1.11")
        self._proc = subprocess.Popen(
            [str(TESTKIT), "cluster", "--nodes", str(nodes), "--version", version, "--quiet"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self._lock = threading.Lock()
        info = self._read()
        self.addresses: list[str] = info["addresses"]
        self.version: str = info["version"]
        self.command("wait-leader 30")

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("dqlite-testkit exited")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"dqlite-testkit: {reply['error']}")
        return reply

    def command(self, line: str) -> dict[str, Any]:
        """Sends one command and returns its JSON reply."""
        with self._lock:
            assert self._proc.stdin is not None
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
            return self._read()

    def leader(self) -> int:
        """Index of the current leader (waits for one)."""
        return int(self.command("wait-leader 30")["leader"])

    @property
    def address(self) -> str:
        """All node addresses, comma-separated (leader discovery finds the leader)."""
        return ",".join(self.addresses)

    def stop(self) -> None:
        """Stops every node."""
        with contextlib.suppress(RuntimeError, BrokenPipeError, ValueError):
            self.command("stop")
        self._proc.wait(timeout=60)
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The session's cluster."""
    c = Cluster()
    try:
        yield c
    finally:
        c.stop()


_counter = itertools.count()


@pytest.fixture
def dbname(request: pytest.FixtureRequest) -> str:
    """A database name of this test's own."""
    name = request.node.name.replace("[", "_").replace("]", "").replace("-", "_")
    return f"t{next(_counter)}_{name}"[:60]


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
