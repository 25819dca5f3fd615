"""Time to the first write after the leader is killed or paused, through the driver.

A writer inserts numbered rows one by one, reconnecting after every error, while the leader
is SIGKILLed (then restarted) or SIGSTOPped (then resumed). Per round it reports the time
from the fault to the first acknowledged write started after it, the writes in doubt and how
many of them were applied; it asserts that no acknowledged row is missing and that no write
reported as a plain failure was applied. These are the figures of docs/reliability.md
("Recovery time"); the rounds take an election each (4-6 s), so they run in the long form
only: ``DQLITE_RELIABILITY_FULL=1 pytest -s tests/test_recovery_time.py``.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from dqlite_testkit import Cluster

import dqlitedbapi
from dqlitedbapi.aio import aconnect

pytestmark = [
    pytest.mark.failover,
    pytest.mark.skipif(
        os.environ.get("DQLITE_RELIABILITY_FULL") != "1",
        reason="long form only (DQLITE_RELIABILITY_FULL=1): an election per round",
    ),
]

ROUNDS = 3
WRITES_BEFORE_FAULT = 20
GIVE_UP_AFTER = 60.0


@dataclass
class Round:
    acknowledged: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    in_doubt: list[int] = field(default_factory=list)
    recovery: float = 0.0


class Writer:
    """Inserts rows through one API; ``insert`` reconnects when it has no connection."""

    def __init__(self, api: str, address: str, database: str) -> None:
        self.api = api
        self.address = address
        self.database = database
        self.conn: Any = None

    async def insert(self, n: int) -> None:
        if self.api == "sync":
            # Blocking on purpose: the loop has nothing else to run.
            self._insert_sync(n)
            return
        if self.conn is None:
            self.conn = await aconnect(self.address, database=self.database, timeout=2.0)
        await self.conn.execute("INSERT INTO t VALUES (?)", (n,))

    def _insert_sync(self, n: int) -> None:
        if self.conn is None:
            self.conn = dqlitedbapi.connect(self.address, database=self.database, timeout=2.0)
        self.conn.execute("INSERT INTO t VALUES (?)", (n,))

    async def drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            result = conn.close()
            if asyncio.iscoroutine(result):
                await result


async def one_round(writer: Writer, first: int, fault: Callable[[], None]) -> Round:
    done = Round()
    try:
        return await write_until_recovered(writer, first, fault, done)
    finally:
        await writer.drop()


async def write_until_recovered(
    writer: Writer, first: int, fault: Callable[[], None], done: Round
) -> Round:
    faulted_at: float | None = None
    n = first
    while True:
        n += 1
        if faulted_at is None and n == first + WRITES_BEFORE_FAULT:
            fault()
            faulted_at = time.monotonic()
        started = time.monotonic()
        try:
            await writer.insert(n)
        except dqlitedbapi.OutcomeUnknownError:
            done.in_doubt.append(n)
            await writer.drop()
        except dqlitedbapi.Error:
            done.failed.append(n)
            await writer.drop()
            await asyncio.sleep(0.01)
        else:
            done.acknowledged.append(n)
            if faulted_at is not None and started >= faulted_at:
                done.recovery = time.monotonic() - faulted_at
                return done
        assert faulted_at is None or time.monotonic() - faulted_at < GIVE_UP_AFTER, (
            f"no write acknowledged {GIVE_UP_AFTER} s after the fault"
        )


def present_rows(cluster: Cluster, database: str) -> set[int]:
    conn = dqlitedbapi.connect(cluster.address, database=database, timeout=10.0)
    try:
        return {row[0] for row in conn.execute("SELECT n FROM t").fetchall()}
    finally:
        conn.close()


@pytest.mark.parametrize("api", ["sync", "asyncio"])
@pytest.mark.parametrize("kind", ["kill", "pause"])
def test_recovery_time(kind: str, api: str) -> None:
    database = f"recovery_{kind}_{api}"
    with Cluster(3, verbose=False) as cluster:
        setup = dqlitedbapi.connect(cluster.address, database=database, timeout=10.0)
        setup.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
        setup.close()
        writer = Writer(api, cluster.address, database)
        rounds: list[Round] = []
        for r in range(ROUNDS):
            leader = cluster.wait_for_leader(60)
            inject = functools.partial(cluster.kill if kind == "kill" else cluster.pause, leader)
            done = asyncio.run(one_round(writer, r * 100_000, inject))
            if kind == "kill":
                cluster.restart(leader)
            else:
                cluster.resume(leader)
            cluster.wait_healthy(60)
            rounds.append(done)
        present = present_rows(cluster, database)
    lost = [n for d in rounds for n in d.acknowledged if n not in present]
    failed_applied = [n for d in rounds for n in d.failed if n in present]
    in_doubt = [n for d in rounds for n in d.in_doubt]
    applied = [n for n in in_doubt if n in present]
    print(
        f"\nrecovery [{os.environ.get('DQLITE_SERVER_VERSION', '1.11')}, {kind}, {api}]:"
        f" fault to first write ms={[round(d.recovery * 1000) for d in rounds]}"
        f" acknowledged={sum(len(d.acknowledged) for d in rounds)}"
        f" failed={sum(len(d.failed) for d in rounds)}"
        f" in_doubt={len(in_doubt)} (applied {len(applied)})"
        f" lost={len(lost)} failed_applied={len(failed_applied)}"
    )
    assert lost == []
    assert failed_applied == []
