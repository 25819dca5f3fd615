"""The asyncio API: :func:`aconnect`, :class:`AsyncConnection`, :class:`AsyncCursor`.

The same methods as the blocking classes, as coroutines. A connection's socket lives on
the event loop it was opened on (use it from that loop only): requests are written when
a method is called and answers are read when the loop sees the socket readable, with no
thread in between. Each operation always runs to its end: when the awaiting task is
cancelled (``asyncio.timeout``, ``wait_for``, ``task.cancel()``), the request still
completes in the background and its answer is discarded, so the connection stays in
sync; the next call waits for it. Calls from several tasks on one connection are
serialised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from types import TracebackType
from typing import Any, Self

from dqlitedbapi import _common
from dqlitedbapi._common import (
    LEGACY_TRANSACTION_CONTROL,
    ConnectionBase,
    CursorBase,
    check_autocommit,
    check_executemany_seq,
    check_sql,
)
from dqlitedbapi._native import NativeConnection, NativeResult
from dqlitedbapi.connection import Parameters
from dqlitedbapi.exceptions import Error

__all__ = ["AsyncConnection", "AsyncCursor", "aconnect"]


async def _fetch(result: NativeResult, n: int) -> list[tuple[Any, ...]]:
    """Rows from ``result``: at once when they are here, else once they arrive."""
    rows = result.afetch(n)
    if isinstance(rows, list):
        return rows
    return await rows


class AsyncCursor(CursorBase):
    """An asyncio cursor: :class:`dqlitedbapi.Cursor` with awaitable methods."""

    def __init__(self, connection: AsyncConnection) -> None:
        """A cursor on ``connection``."""
        self._init(connection)

    @property
    def connection(self) -> AsyncConnection:
        """The connection this cursor belongs to."""
        assert isinstance(self._connection, AsyncConnection)
        return self._connection

    async def execute(self, sql: str, parameters: Parameters = (), /) -> Self:
        """Runs one statement; rows, if any, are read as they are fetched."""
        native = self._native_for_call()
        if sql.__class__ is not str:
            sql = check_sql(sql)
        if self._result is not None or self.description is not None or self.rowcount != -1:
            self._reset()
        connection = self._connection
        if connection._isolation_level is not None:
            begin = connection._implicit_begin(sql)
            if begin is not None:
                await native.aexecute(begin)
        self._set_result(await native.aexecute(sql, parameters))
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Parameters], /) -> Self:
        """Runs a DML statement once per parameter set; ``rowcount`` is the total.

        Inside a transaction the statements are pipelined (many in flight at once); in
        autocommit each runs alone. The first failing set raises, its index (from 0) in
        the message and as the exception's ``executemany_row``; ``rowcount`` is then the
        number of sets that ran before it.
        """
        native = self._check()
        sql = check_sql(sql)
        check_executemany_seq(seq_of_parameters)
        self._reset()
        begin = self._connection._implicit_begin(sql)
        if begin is not None:
            await native.aexecute(begin)
        try:
            result = await native.aexecutemany(sql, seq_of_parameters)
        except Error as e:
            # The parameter sets before the failing one ran.
            self.rowcount = getattr(e, "executemany_row", -1)
            raise
        self._set_result(result)
        return self

    async def executescript(self, sql_script: str, /) -> Self:
        """Runs every statement of a script (no parameters); rows are discarded."""
        native = self._check()
        sql_script = check_sql(sql_script)
        self._reset()
        if self._connection._script_needs_commit():
            await native.aend_transaction(True)
        await native.aexecutescript(sql_script)
        return self

    async def fetchone(self) -> Any:
        """The next row, or None at the end."""
        result = self._readable()
        if result is None:
            return None
        rows = await _fetch(result, 1)
        if not rows:
            return None
        return self._post(rows)[0]

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` (default ``arraysize``) more rows."""
        result = self._readable()
        n = self._fetch_size(size)
        if result is None or n == 0:
            return []
        return self._post(await _fetch(result, n))

    async def fetchall(self) -> list[Any]:
        """Every remaining row."""
        result = self._readable()
        if result is None:
            return []
        rows = await _fetch(result, -1)
        # Used up: dropped now, so the next execute has nothing to close.
        self._result = None
        if self._converters is None and self.row_factory is None:
            return rows
        return self._post(rows)

    def __aiter__(self) -> AsyncIterator[Any]:
        """Iterates over the remaining rows."""
        return self

    async def __anext__(self) -> Any:
        """The next row."""
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def close(self) -> None:
        """Closes the cursor; unread rows are discarded. Closing twice is allowed."""
        if not self._closed:
            self._reset()
            self._closed = True

    async def __aenter__(self) -> Self:
        """The cursor itself."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Closes the cursor."""
        await self.close()


class AsyncConnection(ConnectionBase):
    """An asyncio connection: :class:`dqlitedbapi.Connection` with awaitable methods.

    Create it with :func:`aconnect`.
    """

    def __init__(
        self,
        native: NativeConnection,
        *,
        address: list[str],
        database: str,
        isolation_level: str | None = None,
        autocommit: bool | int = LEGACY_TRANSACTION_CONTROL,
        detect_types: int = 0,
    ) -> None:
        """Wraps a connected native connection; use :func:`aconnect`."""
        self._setup(
            native,
            isolation_level=isolation_level,
            autocommit=autocommit,
            detect_types=detect_types,
            address=address,
            database=database,
        )

    @property
    def autocommit(self) -> bool | int:
        """True, False or LEGACY_TRANSACTION_CONTROL (default), as in ``sqlite3``."""
        return self._autocommit

    async def set_autocommit(self, value: bool | int) -> None:
        """Changes ``autocommit`` (a coroutine, since it may COMMIT or BEGIN)."""
        value = check_autocommit(value)
        native = self._conn()
        if value is True and native.in_transaction:
            await native.aend_transaction(True)
        elif value is False and not native.in_transaction:
            await native.aexecute("BEGIN")
        self._autocommit = value

    def cursor(self, factory: type[AsyncCursor] | None = None) -> AsyncCursor:
        """A new cursor."""
        self._conn()
        return (factory or AsyncCursor)(self)

    async def execute(self, sql: str, parameters: Parameters = (), /) -> AsyncCursor:
        """Runs a statement on a new cursor and returns it."""
        return await self.cursor().execute(sql, parameters)

    async def executemany(
        self, sql: str, seq_of_parameters: Iterable[Parameters], /
    ) -> AsyncCursor:
        """Runs ``executemany`` on a new cursor and returns it."""
        return await self.cursor().executemany(sql, seq_of_parameters)

    async def executescript(self, sql_script: str, /) -> AsyncCursor:
        """Runs a script on a new cursor and returns it."""
        return await self.cursor().executescript(sql_script)

    async def commit(self) -> None:
        """Commits the open transaction; does nothing without one (or in autocommit=True)."""
        native = self._conn()
        if self._autocommit is True:
            return
        await native.aend_transaction(True)
        if self._autocommit is False:
            await native.aexecute("BEGIN")

    async def rollback(self) -> None:
        """Rolls the open transaction back; does nothing without one."""
        native = self._conn()
        if self._autocommit is True:
            return
        await native.aend_transaction(False)
        if self._autocommit is False:
            await native.aexecute("BEGIN")

    async def close(self) -> None:
        """Closes the connection (rolling back with ``autocommit=False``). Idempotent."""
        native = self._native
        if native is None:
            return
        try:
            if self._autocommit is False and not native.closed and native.in_transaction:
                await native.aend_transaction(False)
        finally:
            self._native = None
            await native.aclose()

    async def __aenter__(self) -> Self:
        """The connection itself."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Commits, or rolls back on an exception; does not close (``sqlite3`` semantics)."""
        if self.closed:
            return
        if exc_type is None:
            await self.commit()
        else:
            await self.rollback()


async def aconnect(
    address: str | Sequence[str],
    *,
    database: str = "default",
    timeout: float = 10.0,
    isolation_level: str | None = None,
    autocommit: bool | int = LEGACY_TRANSACTION_CONTROL,
    detect_types: int = 0,
) -> AsyncConnection:
    """Connects to a dqlite cluster for asyncio use; arguments as :func:`dqlitedbapi.connect`."""
    seeds = _common.parse_address(address)
    native = await NativeConnection.connect_async(seeds, database, _common.check_timeout(timeout))
    conn = AsyncConnection(
        native,
        address=seeds,
        database=database,
        isolation_level=isolation_level,
        autocommit=autocommit,
        detect_types=detect_types,
    )
    if conn.autocommit is False:
        await native.aexecute("BEGIN")
    return conn
