"""Drive real dqlite test clusters from Python through the ``dqlite-testkit`` CLI.

The CLI (``crates/dqlite-testkit``, built by ``cargo build -p dqlite-testkit``) starts the
nodes, prints one JSON line describing the cluster, then answers one JSON line per command
read on its standard input. Node processes die with the CLI, and the CLI tears everything
down when its standard input closes, so a crashed test leaves nothing behind.

Usage::

    from dqlite_testkit import Cluster

    with Cluster(nodes=3) as cluster:
        leader = cluster.wait_for_leader()
        cluster.kill(leader)
        assert cluster.wait_for_leader() != leader

Installed (``pip install -e crates/dqlite-testkit/python``), the module is also a pytest
plugin (entry point ``pytest11``), whose fixtures any test can ask for:

* ``dqlite_cluster``: a 3-node cluster shared by the session;
* ``dqlite_own_cluster``: a 3-node cluster of the test's own (for tests that kill nodes);
* ``dqlite_tls_cluster``: a 3-node cluster of TLS nodes shared by the session (mutual TLS
  with one self-signed certificate, ``cluster.ca`` and ``cluster.key``); skipped on
  servers without TLS (1.11, see :func:`tls_supported`). go-dqlite 2.0's TLS nodes bind
  an abstract socket named after their node id, so only one TLS cluster can run on a
  machine at a time: tests that kill its nodes restart them afterwards;
* ``dqlite_database``: a database name of the test's own (derived from the test's name).

It also ends a test stuck for good (even holding the GIL), with every thread's stack,
30 s after pytest-timeout's timeout (see :mod:`dqlite_testkit.watchdog`).

The CLI is built with cargo first when it is missing and the module runs from the
repository. ``make_fixture`` makes other shapes::

    from dqlite_testkit import make_fixture

    five_nodes = make_fixture(nodes=5, scope="module")

Environment: ``DQLITE_TESTKIT_BIN`` (path of the CLI; default
``<repo>/target/debug/dqlite-testkit``) and ``DQLITE_SERVER_VERSION`` (``1.11``, the
default, or ``1.18``). Node indices are 0-based; node 0 bootstrapped the cluster.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import re
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import pytest

# Hooks of this plugin kept in modules of their own.
pytest_plugins = ["dqlite_testkit.watchdog"]

__all__ = [
    "Cluster",
    "ClusterError",
    "FaultProxy",
    "default_binary",
    "dqlite_cluster",
    "dqlite_database",
    "dqlite_own_cluster",
    "dqlite_tls_cluster",
    "ensure_binary",
    "make_fixture",
    "tls_supported",
]

REPO_ROOT = Path(__file__).resolve().parents[5]


class ClusterError(RuntimeError):
    """The test kit reported an error, or stopped answering."""


def default_binary() -> Path:
    """Path of the ``dqlite-testkit`` CLI: ``$DQLITE_TESTKIT_BIN`` or the debug build."""
    configured = os.environ.get("DQLITE_TESTKIT_BIN")
    if configured:
        return Path(configured)
    return REPO_ROOT / "target" / "debug" / "dqlite-testkit"


def ensure_binary() -> Path:
    """The CLI's path; built with ``cargo build`` first if it is missing (from the repo)."""
    path = default_binary()
    if not path.exists() and (REPO_ROOT / "Cargo.toml").exists():
        subprocess.run(
            ["cargo", "build", "-q", "-p", "dqlite-testkit", "--bin", "dqlite-testkit"],
            cwd=REPO_ROOT,
            check=True,
        )
    return path


class Cluster:
    """A running dqlite cluster owned by one ``dqlite-testkit cluster`` process."""

    def __init__(
        self,
        nodes: int = 3,
        *,
        version: str | None = None,
        tls: bool = False,
        binary: str | os.PathLike[str] | None = None,
        start_timeout: float = 120.0,
        verbose: bool = True,
        args: Sequence[str] = (),
    ) -> None:
        """Start ``nodes`` nodes and wait until every one is a voter.

        ``version`` defaults to ``$DQLITE_SERVER_VERSION`` (else 1.11); ``tls`` needs 1.18.
        ``args`` go to ``dqlite-testkit cluster`` as they are (for example ``["--program",
        "bare", "--partitionable"]``, see ``dqlite-testkit --help``).
        """
        path = Path(binary) if binary is not None else default_binary()
        if not path.exists():
            raise ClusterError(
                f"{path} does not exist: build it with `cargo build -p dqlite-testkit`"
                " or set DQLITE_TESTKIT_BIN"
            )
        command = [str(path), "cluster", "--nodes", str(nodes)]
        if version is not None:
            command += ["--version", version]
        if tls:
            command.append("--tls")
        if not verbose:
            command.append("--quiet")
        command.extend(args)
        self._proc: subprocess.Popen[str] | None = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_lines, daemon=True)
        self._reader.start()
        self._lock = threading.Lock()
        try:
            info = self._receive(start_timeout)
        except BaseException:
            self.close()
            raise
        if "error" in info:
            self.close()
            raise ClusterError(f"cluster did not start: {info['error']}")
        self.addresses: list[str] = list(info["addresses"])
        """Database addresses ("127.0.0.1:PORT") by node index."""
        self.version: str = info["version"]
        """Server version: "1.11" or "1.18"."""
        self.ca: str | None = info.get("ca")
        """PEM certificate to trust (and present as client cert) for TLS clusters."""
        self.key: str | None = info.get("key")
        """PEM key of that certificate for TLS clusters."""
        self.pids: list[int | None] = list(info["pids"])
        """Process ids of the nodes at start."""
        self.dir: str = info["dir"]
        """Temporary directory with the nodes' data and logs."""

    @property
    def address(self) -> str:
        """Every node's address, comma-separated (a client finds the leader among them)."""
        return ",".join(self.addresses)

    def _read_lines(self) -> None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        for line in proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _receive(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise ClusterError(
                f"no answer from dqlite-testkit in {timeout} s"
            ) from None
        if line is None:
            raise ClusterError("dqlite-testkit exited")
        reply = json.loads(line)
        if not isinstance(reply, dict):
            raise ClusterError(f"unexpected reply {line!r}")
        return reply

    def call(self, command: str, timeout: float = 120.0) -> dict[str, Any]:
        """Send one raw command line; return its JSON reply, raising on ``error``."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None:
                raise ClusterError("the cluster is closed")
            try:
                proc.stdin.write(command + "\n")
                proc.stdin.flush()
            except OSError as e:
                raise ClusterError(f"dqlite-testkit is gone: {e}") from e
            reply = self._receive(timeout)
        if "error" in reply:
            raise ClusterError(f"{command}: {reply['error']}")
        return reply

    def proxy(self, index: int = 0) -> FaultProxy:
        """A new fault proxy in front of node ``index`` (see :class:`FaultProxy`)."""
        reply = self.call(f"proxy {index}")
        return FaultProxy(self, int(reply["proxy"]), str(reply["address"]))

    def leader(self) -> int | None:
        """Index of the node that claims leadership now, or None."""
        leader = self.call("leader")["leader"]
        return None if leader is None else int(leader)

    def wait_for_leader(self, timeout: float = 30.0) -> int:
        """Wait until some running node claims leadership; return its index."""
        return int(self.call(f"wait-leader {timeout}", timeout + 10)["leader"])

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until every node runs, is a voter and names the same leader."""
        self.call(f"wait-healthy {timeout}", timeout + 10)

    def kill(self, index: int) -> None:
        """SIGKILL node ``index``."""
        self.call(f"kill {index}")

    def terminate(self, index: int) -> None:
        """SIGTERM node ``index`` (graceful), SIGKILL after 10 s."""
        self.call(f"terminate {index}")

    def pause(self, index: int) -> None:
        """SIGSTOP node ``index``."""
        self.call(f"pause {index}")

    def resume(self, index: int) -> None:
        """SIGCONT node ``index``."""
        self.call(f"resume {index}")

    def restart(self, index: int) -> None:
        """Restart node ``index`` on the same ports and data (returns once it listens)."""
        self.call(f"restart {index}")

    def members(self) -> list[dict[str, Any]]:
        """The leader's configuration: ``[{"id", "address", "role"}]``."""
        return list(self.call("members")["members"])

    def nodes(self) -> list[dict[str, Any]]:
        """Per-node index, id, address, api_address, pid, state and log path."""
        return list(self.call("nodes")["nodes"])

    def unjoined(self, node_id: int) -> str:
        """Start a bare node with Raft id ``node_id`` in no cluster; return its address."""
        return str(self.call(f"unjoined {node_id}")["address"])

    def add(self, node_id: int, address: str, role: str = "voter") -> None:
        """ADD a node through the leader, then ASSIGN ``role`` (voter/standby/spare)."""
        self.call(f"add {node_id} {address} {role}")

    def logs(self, index: int) -> str:
        """Everything node ``index`` has logged."""
        return str(self.call(f"logs {index}")["logs"])

    def close(self, timeout: float = 30.0) -> None:
        """Stop every node and the test kit process. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.write("stop\n")
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FaultProxy:
    """A fault proxy the test kit runs in front of one node (:meth:`Cluster.proxy`).

    Clients connect to ``address``; :meth:`fault` changes what the proxy does to the
    traffic (``none``, ``blackhole``, ``latency MS``...: the test kit's ``proxy-fault``).
    """

    def __init__(self, cluster: Cluster, proxy_id: int, address: str) -> None:
        self.cluster = cluster
        self.id = proxy_id
        self.address = address

    def fault(self, fault: str) -> None:
        """Set the proxy's fault (``none`` to pass traffic through again)."""
        self.cluster.call(f"proxy-fault {self.id} {fault}")


def make_fixture(
    nodes: int = 3,
    scope: Literal["session", "package", "module", "class", "function"] = "function",
    **kwargs: Any,
) -> Callable[..., Iterator[Cluster]]:
    """A pytest fixture yielding a started :class:`Cluster` (closed afterwards).

    In ``conftest.py``: ``dqlite_cluster = make_fixture(nodes=3)``. Keyword arguments go
    to :class:`Cluster`.
    """

    @pytest.fixture(scope=scope)
    def cluster_fixture() -> Iterator[Cluster]:
        ensure_binary()
        with Cluster(nodes, **kwargs) as cluster:
            yield cluster

    return cluster_fixture


@pytest.fixture(scope="session")
def dqlite_cluster() -> Iterator[Cluster]:
    """A 3-node cluster (``$DQLITE_SERVER_VERSION``) shared by the test session."""
    ensure_binary()
    with Cluster(3, verbose=False) as cluster:
        yield cluster


@pytest.fixture
def dqlite_own_cluster() -> Iterator[Cluster]:
    """A 3-node cluster of this test's own, for tests that kill or pause nodes."""
    ensure_binary()
    with Cluster(3, verbose=False) as cluster:
        yield cluster


def tls_supported(version: str | None = None) -> bool:
    """True when ``version`` (default ``$DQLITE_SERVER_VERSION``, else 1.11) runs TLS
    nodes: go-dqlite 2.0's ``dqlite-demo --cert/--key``, in 1.18 and latest, not 1.11."""
    return (version or os.environ.get("DQLITE_SERVER_VERSION") or "1.11") != "1.11"


@pytest.fixture(scope="session")
def dqlite_tls_cluster() -> Iterator[Cluster]:
    """A 3-node TLS cluster shared by the session; skipped where TLS is not supported."""
    if not tls_supported():
        pytest.skip(
            "TLS nodes need go-dqlite >= 2.0 (DQLITE_SERVER_VERSION=1.18 or latest)"
        )
    ensure_binary()
    with Cluster(3, tls=True, verbose=False) as cluster:
        yield cluster


_databases = itertools.count()


@pytest.fixture
def dqlite_database(request: pytest.FixtureRequest) -> str:
    """A database name of this test's own (unique in the session)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)
    return f"t{next(_databases)}_{name}"[:60]
