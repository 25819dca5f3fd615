"""retry_with_backoff on a real node behind the test kit's fault proxy."""

from __future__ import annotations

import pytest
from dqlite_testkit import Cluster, make_fixture

from dqliteclient import (
    ClusterPolicyError,
    ConnectionPool,
    DqliteConnectionError,
    OutcomeUnknownError,
    retry_with_backoff,
)

one_node = make_fixture(nodes=1, scope="module", verbose=False)


async def test_a_write_cut_after_it_was_sent_is_not_retried(one_node: Cluster) -> None:
    """The INSERT's answer is cut after its header: the node applied it, the client cannot
    know. Retrying it would insert it twice (0.8.0 does); the default does not."""
    proxy = one_node.proxy(0)
    async with ConnectionPool([proxy.address], database="retry_cut", max_size=1) as pool:
        await pool.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
        await pool.execute("DELETE FROM t")
        attempts = 0

        async def insert() -> tuple[int, int]:
            nonlocal attempts
            attempts += 1
            try:
                return await pool.execute("INSERT INTO t VALUES (1)")
            finally:
                proxy.fault("none")  # only the first attempt is cut

        proxy.fault("reset-server 8")
        with pytest.raises(OutcomeUnknownError) as info:
            await retry_with_backoff(insert, max_attempts=3, base_delay=0.01)
        assert isinstance(info.value, DqliteConnectionError)
        assert attempts == 1
        assert await pool.fetchval("SELECT count(*) FROM t") == 1

        # Asked for (work that is safe to run twice), it is retried.
        attempts = 0
        proxy.fault("reset-server 8")
        await retry_with_backoff(
            insert, max_attempts=3, base_delay=0.01, excluded_exceptions=(ClusterPolicyError,)
        )
        assert attempts == 2
        assert await pool.fetchval("SELECT count(*) FROM t") == 3
