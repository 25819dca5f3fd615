"""The driver's view of the cluster when every node it was given is replaced.

The Rust client's ``Cluster`` refreshes its node store from the leader on its own
(``jepsen_node_store_follows_when_every_seed_is_replaced``), but ``dqlitedbapi.connect()``
builds a new ``Cluster`` from the address string every time (as the pure-Python reference
does with its ``MemoryNodeStore``): once no seed is a member any more, a new connection
cannot find the leader, although earlier connections of the same process saw the new
members. This test is expected to fail until the driver keeps a node store per address
string for the process (``docs/reliability.md``, "Client notes"); strict, so that the fix
shows up as an unexpected pass.
"""

from __future__ import annotations

import pytest
from dqlite_testkit.jepsen import start_fault_cluster

import dqlitedbapi

pytestmark = pytest.mark.failover


def test_connect_after_every_seed_was_replaced() -> None:
    with start_fault_cluster(3) as cluster:
        seeds = cluster.address
        conn = dqlitedbapi.connect(seeds, database="membership", timeout=2.0)
        conn.execute("CREATE TABLE t (n INTEGER)")
        added = [int(cluster.call("grow voter")["index"]) for _ in range(3)]
        cluster.call(f"transfer {added[0]}")
        # The process keeps using the cluster while its membership changes.
        conn.close()
        conn = dqlitedbapi.connect(seeds, database="membership", timeout=2.0)
        conn.execute("INSERT INTO t VALUES (1)")
        conn.close()
        for seed in range(3):
            cluster.call(f"remove {seed}")
            cluster.call(f"kill {seed}")
        cluster.wait_healthy(30)
        conn = dqlitedbapi.connect(seeds, database="membership", timeout=2.0)
        try:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
        finally:
            conn.close()
