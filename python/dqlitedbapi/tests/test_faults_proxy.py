"""The test kit's fault proxy between the Python driver (blocking and asyncio) and a node.

The proxy (``dqlite-testkit`` command ``proxy I``) forwards bytes to node I, rewrites the
node's address into its own in LEADER answers (so leader discovery stays behind it), and
injects faults at run time. The driver must report what the Rust client reports
(``docs/reliability.md``, "Network faults through the fault proxy"): a write cut after it
was sent whole is in doubt; a write that could not leave is a plain failure; nothing is
handed out half-read; every call ends by its deadline.
"""

from __future__ import annotations

import time

import pytest
from dqlite_testkit import Cluster, make_fixture

import dqlitedbapi

from .jepsen_fronts import AsyncFront, DbapiFront, SyncFront

pytestmark = pytest.mark.failover

one_node = make_fixture(nodes=1, scope="module", verbose=False)

FRONTS = {"sync": SyncFront, "aio": AsyncFront}


class Proxied:
    """A proxy in front of the node, and a front through it."""

    def __init__(self, cluster: Cluster, mode: str, database: str, timeout: float) -> None:
        self.proxy = cluster.proxy(0)
        self.id = self.proxy.id
        self.front: DbapiFront = FRONTS[mode](self.proxy.address, database, timeout)
        self.direct: DbapiFront = FRONTS[mode](cluster.address, database, timeout)

    def fault(self, fault: str) -> None:
        self.proxy.fault(fault)

    async def close(self) -> None:
        self.fault("none")
        await self.front.close()
        await self.direct.close()


@pytest.fixture(params=list(FRONTS))
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def proxied(cluster: Cluster, mode: str, name: str, timeout: float = 2.0) -> Proxied:
    p = Proxied(cluster, mode, f"proxy_{name}_{mode}", timeout)
    await p.front.write(0, "CREATE TABLE IF NOT EXISTS t (n INTEGER)", ())
    return p


async def count(p: Proxied) -> int:
    rows = await p.direct.read(0, "SELECT count(*) FROM t", ())
    return int(rows[0][0])


async def test_write_cut_after_it_was_sent_is_in_doubt(one_node: Cluster, mode: str) -> None:
    p = await proxied(one_node, mode, "doubt")
    try:
        p.fault("reset-server 8")  # the RESULT's header arrives, its body never does
        with pytest.raises(dqlitedbapi.OutcomeUnknownError) as info:
            await p.front.write(0, "INSERT INTO t VALUES (1)", ())
        assert info.value.connection_lost
        assert await count(p) == 1, "the node ran it: in doubt, and applied"
    finally:
        await p.close()


async def test_write_on_a_reset_connection_is_a_plain_failure(one_node: Cluster, mode: str) -> None:
    p = await proxied(one_node, mode, "reset")
    try:
        one_node.call(f"proxy-reset {p.id}")
        time.sleep(0.05)
        with pytest.raises(dqlitedbapi.OperationalError) as info:
            await p.front.write(0, "INSERT INTO t VALUES (1)", ())
        assert not isinstance(info.value, dqlitedbapi.OutcomeUnknownError), info.value
        assert info.value.connection_lost
        assert await count(p) == 0, "reported as not applied, and it was not"
        await p.front.write(0, "INSERT INTO t VALUES (2)", ())  # a new connection works
        assert await count(p) == 1
    finally:
        await p.close()


async def test_request_cut_midway_is_in_doubt_and_not_applied(one_node: Cluster, mode: str) -> None:
    p = await proxied(one_node, mode, "midway")
    try:
        p.fault("reset-client 3")  # the node gets 3 bytes of the request, then a reset
        with pytest.raises(dqlitedbapi.OutcomeUnknownError):
            await p.front.write(0, "INSERT INTO t VALUES (1)", ())
        assert await count(p) == 0
    finally:
        await p.close()


async def test_latency_below_the_deadline_is_only_slow(one_node: Cluster, mode: str) -> None:
    p = await proxied(one_node, mode, "latency")
    try:
        p.fault("latency 150")
        started = time.monotonic()
        await p.front.write(0, "INSERT INTO t VALUES (1)", ())
        assert time.monotonic() - started >= 0.3
        assert await count(p) == 1
    finally:
        await p.close()


async def test_blackhole_ends_the_call_by_its_deadline(one_node: Cluster, mode: str) -> None:
    p = await proxied(one_node, mode, "blackhole", timeout=1.0)
    try:
        p.fault("blackhole")
        started = time.monotonic()
        with pytest.raises(dqlitedbapi.OperationalError) as info:
            await p.front.read(0, "SELECT count(*) FROM t", ())
        took = time.monotonic() - started
        assert 0.9 <= took <= 1.8, took
        assert info.value.connection_lost
    finally:
        await p.close()


async def test_result_cut_mid_stream_fails_the_read(one_node: Cluster, mode: str) -> None:
    p = await proxied(one_node, mode, "stream")
    try:
        p.fault("close-server 70001")
        with pytest.raises(dqlitedbapi.OperationalError) as info:
            await p.front.read(
                0,
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                "WHERE x < 100000) SELECT x, printf('%040d', x) FROM c",
                (),
            )
        assert info.value.connection_lost
    finally:
        await p.close()


def test_executemany_whose_finalize_is_cut_off_reports_its_rows(one_node: Cluster) -> None:
    # Rows of more than 255 parameters run as one prepared statement, finalized after.
    if one_node.version == "1.11":
        pytest.skip("servers before 1.12 take at most 255 parameters")
    proxy = one_node.proxy(0)
    database = "proxy_finalize_many"
    conn = dqlitedbapi.connect(proxy.address, database=database, timeout=2.0)
    direct = dqlitedbapi.connect(one_node.address, database=database, timeout=2.0)
    try:
        conn.autocommit = True
        conn.execute("CREATE TABLE t (n INTEGER)")
        sql = "INSERT INTO t SELECT ? FROM (SELECT " + ", ".join("?" * 299) + ")"
        rows = [(n, *[0] * 299) for n in range(1, 4)]
        conn.execute(sql, (0, *[0] * 299))  # learns that the server takes them
        # The STMT answer and the three RESULTs (24 bytes each) get through; the link
        # closes before the answer to the FINALIZE.
        proxy.fault(f"close-server {4 * 24}")
        conn.executemany(sql, rows)
        assert direct.execute("SELECT count(*) FROM t").fetchone() == (4,)
    finally:
        proxy.fault("none")
        conn.close()
        direct.close()
