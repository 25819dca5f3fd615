#!/usr/bin/env python3
"""Runs the reference driver's integration suite against the installed ``dqlitedbapi``.

The suite is ``tests/integration`` of the ``dqlite-dbapi`` 0.8.0 sdist (the pure-Python
driver ours replaces), downloaded from the package index at run time and checked against a
pinned sha256. It runs, unmodified, against whatever ``dqlitedbapi`` the interpreter running
this script imports (ours from our wheel, or the reference itself when measuring it), on a
fresh 3-node cluster of the test kit. Only the harness is ours:

* the cluster: ``DQLITE_TEST_CLUSTER`` (read by the suite's conftest) names node 0,
  ``DQLITE_TEST_CLUSTER_NODES`` every node, and ``localhost:9001`` (hard-coded by two
  tests) is forwarded to node 0. As root the run happens in a private network namespace
  (``unshare -n``), so port 9001 is always ours and nothing else on the machine is
  reachable or disturbed;
* every test module starts on a healthy cluster: before a module's first test, nodes that
  died (the reference crashed a 1.18.1 leader once) are restarted and the cluster must be
  healthy again;
* the root ``tests/conftest.py`` is replaced: its only fixture snapshots and restores
  ``dqlitedbapi.types._ADAPTERS``, the reference's private adapter registry; the copy does
  the same on whichever private registry the installed driver has;
* ``--expected FILE`` marks the tests listed there (``nodeid | reason``, or a module path
  for a module that cannot be imported; ``[1.11] nodeid | reason`` for a line that
  applies on those server versions only) as expected failures. Any other failure or error
  fails the run; a listed test that passes is reported (``XPASS``) so that the list
  shrinks; an entry that names no test fails the run;
* ``--results FILE`` writes every test's outcome as JSON, and ``compare OURS REF`` lists
  the tests the reference passes that ours does not.

Usage (the interpreter must have pytest, pytest-asyncio and pytest-timeout)::

    python scripts/refsuite/run.py [--server latest] [--expected FILE] [--results FILE]
    python scripts/refsuite/run.py compare OURS.json REFERENCE.json [--expected FILE]
        [--server VERSION]

``scripts/refsuite.sh`` sets up the Python 3.13 environments and calls this.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

SDIST = "dqlite_dbapi-0.8.0.tar.gz"
SDIST_SHA256 = "e17d1124cf98b3caa086e7fba83093b28567624566109613eb8eab9a1b846f63"
INDEX_PAGE = "https://pypi.org/simple/dqlite-dbapi/"
REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "refsuite"
HARDCODED_PORT = 9001
IN_NETNS_ENV = "DQLITE_REFSUITE_IN_NETNS"
SERVERS = {"1.11", "1.18", "latest"}

ROOT_CONFTEST = '''\
"""Root conftest of dqlite-dbapi 0.8.0's tests, as scripts/refsuite/run.py runs them.

The original snapshots and restores ``dqlitedbapi.types._ADAPTERS`` (the reference's
private adapter registry) around each test, and puts a sibling checkout's ``testlib`` on
``sys.path`` when there is one (there is none here). This copy snapshots whichever private
registry the installed driver has.
"""

from collections.abc import Iterator

import pytest


def _registry() -> dict | None:
    from dqlitedbapi import types

    registry = getattr(types, "_ADAPTERS", None)
    if registry is None:
        try:
            from dqlitedbapi import _adapt
        except ImportError:
            return None
        registry = getattr(_adapt, "ADAPTERS", None)
    return registry


@pytest.fixture(autouse=True)
def _restore_adapters() -> Iterator[None]:
    registry = _registry()
    snapshot = dict(registry) if registry is not None else {}
    try:
        yield
    finally:
        if registry is not None:
            registry.clear()
            registry.update(snapshot)
'''


# ---------------------------------------------------------------------------------------
# The sdist


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_sdist() -> Path:
    """The pinned sdist in the cache, downloaded from the index if needed."""
    target = CACHE / SDIST
    if target.exists() and sha256_of(target) == SDIST_SHA256:
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(
        INDEX_PAGE, headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        page = json.load(response)
    files = [f for f in page.get("files", []) if f.get("filename") == SDIST]
    if not files:
        sys.exit(f"refsuite: {SDIST} is not listed on {INDEX_PAGE}")
    partial = target.with_suffix(".partial")
    with urllib.request.urlopen(files[0]["url"], timeout=120) as response:
        partial.write_bytes(response.read())
    got = sha256_of(partial)
    if got != SDIST_SHA256:
        partial.unlink()
        sys.exit(f"refsuite: {SDIST} has sha256 {got}, expected {SDIST_SHA256}")
    partial.replace(target)
    print(f"refsuite: downloaded {SDIST} (sha256 {got})")
    return target


def unpack(sdist: Path, dest: Path) -> Path:
    """``tests/`` and ``pyproject.toml`` (pytest's settings) of the sdist in ``dest``.

    ``src/`` is left out on purpose: the suite's ``pythonpath = ["src"]`` would otherwise
    put the reference's own package ahead of the installed one.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        prefix = tar.getnames()[0].split("/")[0] + "/"
        members = []
        for member in tar.getmembers():
            name = member.name.removeprefix(prefix)
            if name == "pyproject.toml" or name.startswith("tests/"):
                member.name = name
                members.append(member)
        tar.extractall(dest, members=members, filter="data")
    (dest / "tests" / "conftest.py").write_text(ROOT_CONFTEST)
    return dest


# ---------------------------------------------------------------------------------------
# The expected-failure list


def read_expected(path: Path, server: str) -> dict[str, str]:
    """``nodeid | reason`` lines (``#`` comments, blank lines ignored) that apply on
    ``server``: a line that starts with ``[V1,V2]`` applies on those versions only."""
    expected: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        versions = None
        if line.startswith("["):
            qualifier, sep, line = line[1:].partition("]")
            versions = {v.strip() for v in qualifier.split(",")}
            if not sep or not versions <= SERVERS:
                sys.exit(f"{path}:{number}: expected `[VERSION,...] nodeid | reason`")
        nodeid, sep, reason = line.strip().partition(" | ")
        if not sep or not reason.strip():
            sys.exit(f"{path}:{number}: expected `nodeid | reason`")
        if versions is not None and server not in versions:
            continue
        if nodeid.strip() in expected:
            sys.exit(f"{path}:{number}: {nodeid.strip()} is listed twice")
        expected[nodeid.strip()] = reason.strip()
    return expected


# ---------------------------------------------------------------------------------------
# The cluster


class Forwarder:
    """Forwards TCP connections from ``localhost:PORT`` (IPv4 and IPv6) to ``target``."""

    def __init__(self, port: int, target: str) -> None:
        self.target = target
        self.sockets: list[socket.socket] = []
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                sock.close()
                continue
            sock.listen(16)
            self.sockets.append(sock)
            threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            host, _, port = self.target.rpartition(":")
            try:
                upstream = socket.create_connection((host, int(port)), timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(src, dst), daemon=True
                ).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


# ---------------------------------------------------------------------------------------
# The pytest plugin


def outcome_of(reports: dict[str, Any]) -> str:
    """One word per test from its setup/call/teardown reports."""
    setup, call, teardown = (reports.get(w) for w in ("setup", "call", "teardown"))
    for report in (setup, call):
        if report is not None and hasattr(report, "wasxfail"):
            return "xpassed" if report.passed else "xfailed"
    if setup is not None and setup.failed:
        return "error"
    if setup is not None and setup.skipped:
        return "skipped"
    if call is not None and call.failed:
        return "failed"
    if teardown is not None and teardown.failed:
        return "error"
    if call is not None and call.skipped:
        return "skipped"
    return "passed"


def message_of(reports: dict[str, Any]) -> str:
    """The first line of what went wrong, for failures and errors ("" otherwise)."""
    for when in ("setup", "call", "teardown"):
        report = reports.get(when)
        if report is not None and (report.failed or hasattr(report, "wasxfail")):
            crash = getattr(report.longrepr, "reprcrash", None)
            text = crash.message if crash is not None else str(report.longrepr or "")
            return text.strip().splitlines()[0] if text.strip() else ""
    return ""


class Gate:
    """Expected failures, a healthy cluster per module, and the outcome of every test."""

    def __init__(
        self, cluster: Any, cluster_error: type[Exception], expected: dict[str, str]
    ) -> None:
        self.cluster = cluster
        self.cluster_error = cluster_error
        self.expected = expected
        self.used: set[str] = set()
        self.module: str | None = None
        self.restarts: list[str] = []
        self.crash_logs: list[str] = []
        self.reports: dict[str, dict[str, Any]] = {}
        self.collection_errors: dict[str, str] = {}

    # Expected failures.
    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        import pytest

        for item in items:
            module = item.nodeid.split("::")[0]
            for key in (item.nodeid, module):
                if key in self.expected:
                    self.used.add(key)
                    item.add_marker(
                        pytest.mark.xfail(reason=self.expected[key], strict=False)
                    )
                    break

    # A healthy cluster for every module.
    def pytest_runtest_setup(self, item: Any) -> None:
        module = item.nodeid.split("::")[0]
        if module != self.module:
            self.module = module
            self.ensure_healthy(module)

    def ensure_healthy(self, module: str) -> None:
        import pytest

        try:
            self.cluster.wait_healthy(15)
            return
        except self.cluster_error as e:
            problem = str(e).splitlines()[0]
        for node in self.cluster.nodes():
            if node["state"] == "paused":
                self.cluster.resume(node["index"])
            elif node["state"] != "running":
                tail = self.cluster.logs(node["index"])[-2000:]
                self.crash_logs.append(f"node {node['index']} before {module}:\n{tail}")
                self.cluster.restart(node["index"])
        try:
            self.cluster.wait_healthy(60)
        except self.cluster_error as e:
            pytest.exit(
                f"refsuite: the cluster is broken before {module}: {e}", returncode=3
            )
        self.restarts.append(f"before {module}: {problem}")

    # Outcomes.
    def pytest_runtest_logreport(self, report: Any) -> None:
        self.reports.setdefault(report.nodeid, {})[report.when] = report

    def outcomes(self) -> dict[str, str]:
        result = {nodeid: outcome_of(r) for nodeid, r in self.reports.items()}
        result.update(self.collection_errors)
        return result

    def messages(self) -> dict[str, str]:
        result = {nodeid: message_of(r) for nodeid, r in self.reports.items()}
        return {nodeid: message for nodeid, message in result.items() if message}

    def stale_entries(self) -> list[str]:
        return sorted(set(self.expected) - self.used)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write = terminalreporter.write_line
        outcomes = self.outcomes()
        counts: dict[str, int] = {}
        for outcome in outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        write("")
        write("refsuite: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())))
        for line in self.restarts:
            write(f"refsuite: restarted dead nodes {line}")
        for log in self.crash_logs:
            write(f"refsuite: the end of the log of {log}")
        xpassed = sorted(k for k, o in outcomes.items() if o == "xpassed")
        if xpassed:
            write(
                f"refsuite: {len(xpassed)} listed test(s) now PASS; remove them from the list:"
            )
            for nodeid in xpassed:
                write(f"  {nodeid}")
        for entry in self.stale_entries():
            write(f"refsuite: list entry matches no test: {entry}")

    def pytest_sessionfinish(self, session: Any) -> None:
        if self.stale_entries() and session.exitstatus == 0:
            session.exitstatus = 1


def collect_report_wrapper(gate: Gate) -> Any:
    """A hook wrapper that turns a listed module's import error into an expected one."""
    import pytest

    class CollectGate:
        @pytest.hookimpl(wrapper=True)
        def pytest_make_collect_report(self, collector: Any) -> Any:
            report = yield
            nodeid = collector.nodeid
            if report.failed and isinstance(collector, pytest.Module):
                if nodeid in gate.expected:
                    gate.used.add(nodeid)
                    gate.collection_errors[nodeid] = "xfailed (module not importable)"
                    report.outcome = "skipped"
                    report.longrepr = (
                        str(collector.path),
                        0,
                        f"expected failure: {gate.expected[nodeid]}",
                    )
                else:
                    gate.collection_errors[nodeid] = "error (module not importable)"
            return report

    return CollectGate()


# ---------------------------------------------------------------------------------------
# Commands


def testkit_helper() -> tuple[Any, type[Exception]]:
    """The test kit's Python helper: its ``Cluster`` class and its error."""
    sys.path.insert(0, str(REPO / "crates" / "dqlite-testkit" / "python" / "src"))
    from dqlite_testkit import Cluster, ClusterError

    return Cluster, ClusterError


def enter_netns(argv: list[str]) -> None:
    """Re-runs this script in a private network namespace (root only), loopback up."""
    if os.environ.get(IN_NETNS_ENV) or os.geteuid() != 0 or not shutil.which("unshare"):
        return
    env = dict(os.environ, **{IN_NETNS_ENV: "1"})
    command = [sys.executable, str(Path(__file__).resolve()), *argv]
    script = 'ip link set lo up && exec "$@"'
    probe = subprocess.run(["unshare", "-n", "true"], check=False, capture_output=True)
    if probe.returncode != 0:
        print("refsuite: cannot create a network namespace; running in the host's")
        return
    os.execvpe("unshare", ["unshare", "-n", "sh", "-c", script, "sh", *command], env)


def run(args: argparse.Namespace, argv: list[str]) -> int:
    sdist = fetch_sdist()
    enter_netns(argv)
    import dqlitedbapi
    import pytest

    root = unpack(sdist, CACHE / "suite")
    expected = read_expected(args.expected, args.server) if args.expected else {}
    cluster_class, cluster_error = testkit_helper()
    print(
        f"refsuite: {SDIST} tests/integration against {dqlitedbapi.__file__}"
        f" (Python {sys.version.split()[0]}), dqlite {args.server}"
        + (" in a private network namespace" if os.environ.get(IN_NETNS_ENV) else "")
    )
    with cluster_class(nodes=3, version=args.server, verbose=False) as cluster:
        os.environ["DQLITE_TEST_CLUSTER"] = cluster.addresses[0]
        os.environ["DQLITE_TEST_CLUSTER_NODES"] = ",".join(cluster.addresses)
        forwarder = Forwarder(HARDCODED_PORT, cluster.addresses[0])
        if not forwarder.sockets:
            print(
                f"refsuite: localhost:{HARDCODED_PORT} is taken: the tests that hard-code it"
                " will not reach this cluster"
            )
        gate = Gate(cluster, cluster_error, expected)
        pytest_args = [
            str(root / "tests" / "integration"),
            "-c",
            str(root / "pyproject.toml"),
            "--rootdir",
            str(root),
            "-p",
            "no:cacheprovider",
            # Only the plugins the suite needs, whatever else the venv has (our test kit's
            # plugin, hypothesis): autoloading is off (PYTEST_DISABLE_PLUGIN_AUTOLOAD).
            "-p",
            "pytest_asyncio.plugin",
            "-p",
            "pytest_timeout",
            "-q",
            "-rfEX",
            f"--timeout={args.timeout}",
            "--continue-on-collection-errors",
            *args.pytest_args,
        ]
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        cwd = os.getcwd()
        os.chdir(root)
        try:
            status = pytest.main(
                pytest_args, plugins=[gate, collect_report_wrapper(gate)]
            )
        finally:
            os.chdir(cwd)
            forwarder.close()
    if args.results:
        results = {"outcomes": gate.outcomes(), "messages": gate.messages()}
        args.results.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return int(status)


def compare(args: argparse.Namespace) -> int:
    """Tests the reference passes that ours does not, with their list entries."""
    ours_results = json.loads(args.ours.read_text())
    ours, messages = ours_results["outcomes"], ours_results["messages"]
    reference = json.loads(args.reference.read_text())["outcomes"]
    expected = read_expected(args.expected, args.server) if args.expected else {}
    ref_passed = {k for k, o in reference.items() if o in ("passed", "xpassed")}
    our_passed = {k for k, o in ours.items() if o in ("passed", "xpassed")}
    print(f"reference passes {len(ref_passed)}, ours passes {len(our_passed)}")
    print(f"both: {len(ref_passed & our_passed)}")
    missing = sorted(ref_passed - our_passed)
    unlisted = [
        k for k in missing if k not in expected and k.split("::")[0] not in expected
    ]
    print(
        f"the reference passes, ours does not: {len(missing)} ({len(unlisted)} not listed)"
    )
    for nodeid in missing:
        reason = expected.get(nodeid) or expected.get(nodeid.split("::")[0])
        print(f"  {nodeid} [{ours.get(nodeid, 'not run')}] | {reason or 'NOT LISTED'}")
        if not reason and nodeid in messages:
            print(f"      {messages[nodeid]}")
    extra = sorted(our_passed - ref_passed)
    print(f"ours passes, the reference does not: {len(extra)}")
    for nodeid in extra:
        print(f"  {nodeid} [reference: {reference.get(nodeid, 'not run')}]")
    return 1 if unlisted else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["compare"]:
        parser = argparse.ArgumentParser(prog="run.py compare")
        parser.add_argument("ours", type=Path)
        parser.add_argument("reference", type=Path)
        parser.add_argument("--expected", type=Path)
        parser.add_argument(
            "--server", default="latest", help="the runs' server version"
        )
        return compare(parser.parse_args(argv[1:]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="latest", help="1.11, 1.18 or latest")
    parser.add_argument("--expected", type=Path, help="expected-failure list")
    parser.add_argument("--results", type=Path, help="write every outcome here (JSON)")
    parser.add_argument("--timeout", type=int, default=120, help="per-test timeout (s)")
    parser.add_argument(
        "pytest_args", nargs="*", help="more pytest arguments (after --)"
    )
    args = parser.parse_args(argv)
    for attr in ("expected", "results"):
        path = getattr(args, attr)
        if path is not None:
            setattr(args, attr, path.resolve())
    return run(args, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
