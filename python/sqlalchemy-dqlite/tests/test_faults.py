"""Jepsen-style faults through SQLAlchemy's connection pool.

The workloads, faults and checkers of ``dqlite_testkit.jepsen`` (shared with the Rust suite
and the driver's own fault tests), run through one ``Engine``: autocommit statements on an
``AUTOCOMMIT`` view of it, transactions through ``Connection.begin()``/``commit()`` (the
dialect sends BEGIN). SQLAlchemy wraps the driver's errors; the driver's own error
(``.orig``) decides the outcome: ``OutcomeUnknownError`` is unknown, every other error a
definite failure, a pool timeout too.

The test command runs the ``mixed`` scenario; ``DQLITE_RELIABILITY_FULL=1`` runs every fault
kind separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dqlitedbapi
import pytest
from dqlite_testkit import Cluster
from dqlite_testkit.jepsen import (
    SCENARIOS,
    BlockingFront,
    NotCommitted,
    Outcome,
    Step,
    full_run,
    run_scenario,
)
from sqlalchemy import Engine, create_engine, exc

pytestmark = pytest.mark.failover

KINDS = [s for s in SCENARIOS if s != "mixed"] if full_run() else ["mixed"]


class SqlalchemyFront(BlockingFront):
    """One engine (``QueuePool``) shared by every worker thread."""

    name = "sqlalchemy"

    def __init__(self, cluster: Cluster) -> None:
        super().__init__()
        url = f"dqlite://[{','.join(cluster.addresses)}]/jepsen"
        self.engine: Engine = create_engine(
            url, pool_size=8, max_overflow=4, pool_timeout=3, connect_args={"timeout": 2.0}
        )
        self.autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    async def write(self, worker: int, sql: str, params: Sequence[object]) -> None:
        def run() -> None:
            with self.autocommit.connect() as conn:
                conn.exec_driver_sql(sql, tuple(params))

        await self.in_thread(worker, run)

    async def read(self, worker: int, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            with self.autocommit.connect() as conn:
                return [tuple(r) for r in conn.exec_driver_sql(sql, tuple(params))]

        return await self.in_thread(worker, run)

    async def transaction(self, worker: int, steps: Sequence[Step]) -> list[list[tuple[Any, ...]]]:
        def run() -> list[list[tuple[Any, ...]]]:
            with self.engine.connect() as conn:
                try:
                    conn.begin()
                    results = []
                    for step in steps:
                        result = conn.exec_driver_sql(step.sql, tuple(step.params))
                        results.append([tuple(r) for r in result] if step.rows else [])
                except self.errors as e:
                    raise NotCommitted(e) from e
                # Leaving the block without a commit rolls back (or discards a connection
                # the driver closed).
                conn.commit()
                return results

        return await self.in_thread(worker, run)

    # A pool timeout: no connection came out of the pool, nothing was sent.
    errors = (exc.DBAPIError, exc.TimeoutError)

    def classify(self, error: BaseException) -> Outcome:
        orig = error.orig if isinstance(error, exc.DBAPIError) else None
        return "unknown" if isinstance(orig, dqlitedbapi.OutcomeUnknownError) else "fail"

    def kind(self, error: BaseException) -> str:
        if isinstance(error, exc.DBAPIError) and error.orig is not None:
            return "sqlalchemy/" + super().kind(error.orig)
        return super().kind(error)

    async def close(self) -> None:
        await super().close()
        self.engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
async def test_faults_sqlalchemy_pool(kind: str) -> None:
    result = await run_scenario(SqlalchemyFront, kind)
    result.assert_valid()
