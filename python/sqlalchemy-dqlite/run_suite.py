#!/usr/bin/env python3
"""Runs SQLAlchemy's dialect compliance suite (suite/) against a fresh dqlite cluster.

Starts a 3-node cluster with the project's test kit (server version from
``DQLITE_SERVER_VERSION``, 1.11 by default), then runs pytest with SQLAlchemy's plugin and
``--dburi`` naming every node, and stops the cluster. Extra arguments go to pytest.

    python run_suite.py                 # sync dialect, dqlite://
    python run_suite.py --aio           # asyncio dialect, dqlite+aio://
    python run_suite.py -k Reflection   # a subset

The test kit CLI is ``target/debug/dqlite-testkit`` (built here when missing) or
``$DQLITE_TESTKIT_BIN``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dqlite_testkit import Cluster, ensure_binary

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scheme = "dqlite"
    if "--aio" in argv:
        argv = [a for a in argv if a != "--aio"]
        scheme = "dqlite+aio"
    ensure_binary()
    with Cluster(3, verbose=False) as cluster:
        nodes = ",".join(cluster.addresses)
        # The suite holds a transaction open on one connection while another begins one:
        # deferred BEGINs let them both read (BEGIN IMMEDIATE, the default, would wait).
        dburi = f"{scheme}://[{nodes}]/sqla_suite?session_mode=deferred"
        print(f"run_suite: dqlite {cluster.version} cluster at {nodes}; --dburi {dburi}")
        sys.stdout.flush()
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            "suite/pytest.ini",
            "--rootdir",
            ".",
            "suite",
            "--dburi",
            dburi,
            "-p",
            "no:cacheprovider",
            *argv,
        ]
        return subprocess.run(command, cwd=HERE, env=os.environ.copy(), check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
