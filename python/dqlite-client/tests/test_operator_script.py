"""The acceptance script: written for the reference's ClusterClient, run unchanged on ours."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from dqlite_testkit import Cluster

SCRIPT = Path(__file__).resolve().parents[1] / "refsuite" / "operator_script.py"


def test_the_reference_operator_script_runs_unchanged(own_cluster: Cluster, tmp_path: Path) -> None:
    address = own_cluster.unjoined(77)
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            ",".join(own_cluster.addresses),
            "77",
            address,
            "ops",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen == {
        "members_before": 3,
        "role_after_add": "SPARE",
        "role_after_assign": "VOTER",
        "leader_address": address,
        "members_after": 3,
        "dumped": ["ops", "ops-wal"],
    }
    restored = sqlite3.connect(tmp_path / "ops")
    try:
        assert restored.execute("SELECT n FROM ops ORDER BY n").fetchall() == [
            (n,) for n in range(10)
        ]
    finally:
        restored.close()
