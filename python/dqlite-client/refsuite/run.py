"""Runs the reference ``dqlite-client`` 0.8.0's integration tests against our dqliteclient.

The tests are ``tests/integration`` of the pure-Python ``dqlite-client`` 0.8.0 sdist,
downloaded from the package index at run time and checked against a pinned sha256. They
run unmodified against the ``dqliteclient`` the interpreter running this script imports,
on a fresh 3-node cluster of the test kit (``--server``, default ``latest``). The harness:

* the sdist's root ``tests/conftest.py`` (mocks for its unit tests, built on the reference
  codec's message classes) is replaced by an empty one; ``tests/integration/conftest.py``
  is kept. ``DQLITE_TEST_CLUSTER`` names the leader, ``DQLITE_TEST_CLUSTER_NODES`` every
  node, as that conftest reads them;
* before each test module the cluster is made healthy again and its first node leads
  (tests connect straight to ``DQLITE_TEST_CLUSTER``, which must be the leader; some move
  the lead and restore it only at best);
* tests that need the reference's private harness (``dqlitetestlib``: the
  ``cluster_control`` fixture) are left out, and listed;
* ``expected-failures.txt`` lists, per server version, the tests expected to fail, each
  with its reason. Any other failure fails the run; a listed test that passes is reported
  (``XPASS``).

Usage (Python >= 3.13 with pytest, pytest-asyncio, pytest-timeout, our dqlite-dbapi,
dqlite-wire, dqlite-client and the test kit's helper installed)::

    python refsuite/run.py [--server latest|1.18|1.11] [--sdist PATH] [--results FILE]

Run by the reference package's own interpreter environment instead (no list applies
then: its failures are only reported), it measures the reference on the same cluster.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

SDIST = "dqlite_client-0.8.0.tar.gz"
SDIST_SHA256 = "4ab0f9b15e9dc12bd87b12dfa43cfae5a679ce66677ae6c9bb78f73a118dd7d6"
INDEX_PAGE = "https://pypi.org/simple/dqlite-client/"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CACHE = REPO / ".cache" / "refsuite"
WORK = REPO / "target" / "refsuite-client"
PRIVATE_HARNESS = "cluster_control"


def sha256_of(path: Path) -> str:
    """The file's sha256, in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_sdist(given: Path | None) -> Path:
    """The pinned sdist: ``given``, the cached copy, or a fresh download; sha256 checked."""
    target = given or CACHE / SDIST
    if target.exists() and sha256_of(target) == SDIST_SHA256:
        return target
    if given is not None:
        sys.exit(f"refsuite: {given} is not {SDIST} (sha256 {SDIST_SHA256})")
    CACHE.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(
        INDEX_PAGE, headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files = [f for f in json.load(response)["files"] if f.get("filename") == SDIST]
    if not files:
        sys.exit(f"refsuite: {SDIST} is not listed on {INDEX_PAGE}")
    with urllib.request.urlopen(files[0]["url"], timeout=120) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != SDIST_SHA256:
        sys.exit(f"refsuite: the downloaded {SDIST} does not have sha256 {SDIST_SHA256}")
    target.write_bytes(data)
    return target


def unpack(sdist: Path) -> Path:
    """Unpacks ``tests/`` and ``pyproject.toml`` of the sdist.

    Not ``src/``: the sdist's pytest ``pythonpath`` would put the reference's own package
    first.
    """
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        members = []
        for member in tar.getmembers():
            member.name = member.name.split("/", 1)[-1]
            if member.name == "pyproject.toml" or member.name.startswith("tests/"):
                members.append(member)
        tar.extractall(WORK, members=members, filter="data")
    (WORK / "tests" / "conftest.py").write_text(
        '"""Replaced by refsuite/run.py: the original holds mocks for the unit tests."""\n'
    )
    return WORK


def read_expected(server: str) -> dict[str, str]:
    """The ``nodeid | reason`` lines of ``expected-failures.txt`` for ``server``.

    A line may start with ``[1.11,1.18]`` to apply to those versions only.
    """
    expected: dict[str, str] = {}
    for number, line in enumerate((HERE / "expected-failures.txt").read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            versions, _, line = line[1:].partition("]")
            if server not in versions.split(","):
                continue
        nodeid, sep, reason = line.strip().partition(" | ")
        if not sep or not reason.strip():
            sys.exit(f"expected-failures.txt:{number}: expected `nodeid | reason`")
        expected[nodeid.strip()] = reason.strip()
    return expected


class Harness:
    """The pytest plugin: the cluster's state per module, outcomes, the private harness."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.module: str | None = None
        self.outcomes: dict[str, str] = {}
        self.messages: dict[str, str] = {}
        self.left_out: list[str] = []

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        """Leaves out the tests that need the reference's private harness."""
        kept = []
        for item in items:
            if PRIVATE_HARNESS in getattr(item, "fixturenames", ()):
                self.left_out.append(item.nodeid)
            else:
                kept.append(item)
        items[:] = kept

    def pytest_runtest_setup(self, item: Any) -> None:
        """Before a module's first test: a healthy cluster, led by its first node."""
        module = item.nodeid.split("::", 1)[0]
        if module != self.module:
            self.module = module
            self.cluster.call("restart-members", 120)
            self.cluster.wait_healthy(60)
            if self.cluster.wait_for_leader() != 0:
                self.cluster.call("transfer 0", 60)
                self.cluster.wait_healthy(60)

    def pytest_runtest_logreport(self, report: Any) -> None:
        """Records each test's outcome (a failed setup or teardown fails the test)."""
        if report.failed:
            self.outcomes[report.nodeid] = "failed"
            self.messages[report.nodeid] = str(report.longrepr).splitlines()[-1][:300]
        elif report.when == "call" or report.skipped:
            self.outcomes.setdefault(report.nodeid, report.outcome)


def run(args: argparse.Namespace) -> int:
    """Runs the suite; 1 on a failure not listed (or a listed test not run), else 0."""
    import pytest
    from dqlite_testkit import Cluster

    work = unpack(fetch_sdist(args.sdist))
    expected = read_expected(args.server)
    with Cluster(3, version=args.server, verbose=False) as cluster:
        leader = cluster.wait_for_leader()
        if leader != 0:
            cluster.call("transfer 0", 60)
        environment = {
            "DQLITE_TEST_CLUSTER": cluster.addresses[0],
            "DQLITE_TEST_CLUSTER_NODES": ",".join(cluster.addresses),
        }
        os.environ.update(environment)
        harness = Harness(cluster)
        pytest.main(
            [
                "-q",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                str(work),
                str(work / "tests/integration"),
            ],
            plugins=[harness],
        )
    failed = {n for n, o in harness.outcomes.items() if o == "failed"}
    unexpected = sorted(failed - set(expected))
    xpass = sorted(n for n in expected if harness.outcomes.get(n) == "passed")
    stale = sorted(n for n in expected if n not in harness.outcomes)
    passed = sum(1 for o in harness.outcomes.values() if o == "passed")
    print(f"\nrefsuite: dqlite-client 0.8.0 integration tests on dqlite {args.server}:")
    print(f"  {passed} passed, {len(failed)} failed ({len(failed) - len(unexpected)} expected)")
    for nodeid in harness.left_out:
        print(f"  left out (needs the reference's private harness, dqlitetestlib): {nodeid}")
    for nodeid in sorted(failed - set(unexpected)):
        print(f"  expected failure: {nodeid}: {expected[nodeid]}")
    for nodeid in xpass:
        print(f"  XPASS (listed, but passed): {nodeid}")
    for nodeid in unexpected:
        print(f"  UNEXPECTED FAILURE: {nodeid}: {harness.messages.get(nodeid, '')}")
    for nodeid in stale:
        print(f"  listed but not run: {nodeid}")
    if args.results is not None:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(harness.outcomes, indent=1, sort_keys=True))
    return 1 if unexpected or stale else 0


def main() -> int:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="latest", choices=["latest", "1.18", "1.11"])
    parser.add_argument("--sdist", type=Path, help=f"a local {SDIST} (checked by sha256)")
    parser.add_argument("--results", type=Path, help="write each test's outcome there (JSON)")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
