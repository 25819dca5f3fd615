"""The blocking driver and its asyncio API as fronts of ``dqlite_testkit.jepsen``.

Each worker has a connection of its own, opened on first use and again after an error
closed it. An ``OutcomeUnknownError`` is an unknown outcome, every other driver error a
definite failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dqlite_testkit.jepsen import BlockingFront, Front, NotCommitted, Outcome, Step

import dqlitedbapi
from dqlitedbapi.aio import AsyncConnection, aconnect

TIMEOUT = 2.0
"""Seconds for finding the leader and for each network wait."""


class DbapiFront(Front):
    """What the blocking and asyncio fronts share: transactions, retirement, classification.

    ``_run`` runs one statement on the worker's connection (opening one when it has none or
    the last one was closed by an error) and returns its rows."""

    async def _run(self, worker: int, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def _close(self, worker: int) -> None:
        raise NotImplementedError

    async def write(self, worker: int, sql: str, params: Sequence[object]) -> None:
        await self._run(worker, sql, params)

    async def read(self, worker: int, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        return await self._run(worker, sql, params)

    async def _abandon(self, worker: int) -> None:
        """Ends a transaction that will not commit; a connection in doubt is closed."""
        try:
            await self._run(worker, "ROLLBACK", ())
        except dqlitedbapi.Error:
            await self._close(worker)

    async def transaction(self, worker: int, steps: Sequence[Step]) -> list[list[tuple[Any, ...]]]:
        try:
            await self._run(worker, "BEGIN", ())
            results = [await self._run(worker, s.sql, s.params) for s in steps]
        except dqlitedbapi.Error as e:
            await self._abandon(worker)
            raise NotCommitted(e) from e
        try:
            await self._run(worker, "COMMIT", ())
        except dqlitedbapi.Error:
            await self._abandon(worker)
            raise
        return results

    errors = (dqlitedbapi.Error,)

    def classify(self, error: BaseException) -> Outcome:
        return "unknown" if isinstance(error, dqlitedbapi.OutcomeUnknownError) else "fail"


class SyncFront(DbapiFront, BlockingFront):
    """The blocking driver, one connection per worker thread."""

    name = "sync"

    def __init__(self, address: str, database: str = "jepsen", timeout: float = TIMEOUT) -> None:
        super().__init__()
        self.address, self.database, self.timeout = address, database, timeout
        self.conns: dict[int, dqlitedbapi.Connection] = {}

    def _conn(self, worker: int) -> dqlitedbapi.Connection:
        conn = self.conns.get(worker)
        if conn is None or conn.closed:
            conn = dqlitedbapi.connect(self.address, database=self.database, timeout=self.timeout)
            self.conns[worker] = conn
        return conn

    async def _run(self, worker: int, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            return self._conn(worker).execute(sql, tuple(params)).fetchall()

        return await self.in_thread(worker, run)

    async def _close(self, worker: int) -> None:
        conn = self.conns.pop(worker, None)
        if conn is not None:
            await self.in_thread(worker, conn.close)

    async def close(self) -> None:
        for worker in list(self.conns):
            await self._close(worker)
        await super().close()


class AsyncFront(DbapiFront):
    """``dqlitedbapi.aio``, one connection per worker task."""

    name = "aio"

    def __init__(self, address: str, database: str = "jepsen", timeout: float = TIMEOUT) -> None:
        self.address, self.database, self.timeout = address, database, timeout
        self.conns: dict[int, AsyncConnection] = {}

    async def _run(self, worker: int, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        conn = self.conns.get(worker)
        if conn is None or conn.closed:
            conn = await aconnect(self.address, database=self.database, timeout=self.timeout)
            self.conns[worker] = conn
        cursor = await conn.execute(sql, tuple(params))
        return await cursor.fetchall()

    async def _close(self, worker: int) -> None:
        conn = self.conns.pop(worker, None)
        if conn is not None:
            await conn.close()

    async def close(self) -> None:
        for worker in list(self.conns):
            await self._close(worker)
