"""Fronts: how the workloads reach the cluster (a driver, its asyncio API, a pool)."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

Outcome = Literal["ok", "fail", "unknown"]
"""How an operation ended: applied, definitely not applied, or maybe applied."""

T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    """One statement of a transaction; ``rows`` when its rows are wanted."""

    sql: str
    params: Sequence[object] = ()
    rows: bool = False


class NotCommitted(Exception):
    """A transaction failed before its COMMIT was sent: nothing of it was applied."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"before COMMIT: {cause!r}")
        self.cause = cause


class Front(abc.ABC):
    """How the workloads reach the cluster. Each worker has a number of its own.

    ``errors`` are the exception classes the front's calls raise for database and network
    failures; :meth:`classify` says which of them may have been applied. Anything else is
    a bug of the front or the driver and fails the test."""

    name: str
    errors: tuple[type[BaseException], ...]

    @abc.abstractmethod
    async def write(self, worker: int, sql: str, params: Sequence[object]) -> None:
        """One statement in autocommit mode."""

    @abc.abstractmethod
    async def read(
        self, worker: int, sql: str, params: Sequence[object]
    ) -> list[tuple[Any, ...]]:
        """One query in autocommit mode: every row."""

    @abc.abstractmethod
    async def transaction(
        self, worker: int, steps: Sequence[Step]
    ) -> list[list[tuple[Any, ...]]]:
        """BEGIN, the steps, COMMIT; the rows of each step. Raises :class:`NotCommitted` for
        an error before COMMIT, and COMMIT's own error as it is."""

    @abc.abstractmethod
    def classify(self, error: BaseException) -> Outcome:
        """``unknown`` or ``fail`` for one of ``errors``."""

    async def close(self) -> None:
        """Releases the front's connections."""

    def kind(self, error: BaseException) -> str:
        """The error's class name (and SQLite code, when it has one), for the counts."""
        code = getattr(error, "sqlite_errorname", None)
        return type(error).__name__ + (f":{code}" if code else "")


class BlockingFront(Front):
    """A front over a blocking API: every worker runs in a thread of its own."""

    def __init__(self) -> None:
        self._threads: dict[int, ThreadPoolExecutor] = {}

    async def in_thread(self, worker: int, call: Callable[[], T]) -> T:
        """Runs ``call`` in ``worker``'s own thread."""
        executor = self._threads.get(worker)
        if executor is None:
            executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"worker{worker}"
            )
            self._threads[worker] = executor
        return await asyncio.get_running_loop().run_in_executor(executor, call)

    async def close(self) -> None:
        for executor in self._threads.values():
            executor.shutdown(wait=True)
        self._threads.clear()
