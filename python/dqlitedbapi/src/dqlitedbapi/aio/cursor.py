"""The cursor, :class:`AsyncCursor`.

Source of :mod:`dqlitedbapi.cursor`, which ``tools/async_to_sync.py`` generates from this
file (``await`` and ``async`` removed, names mapped, blocks marked ``# ASYNC`` dropped):
edit this one, then run the tool.
"""

from __future__ import annotations

import re
from asyncio import CancelledError, Future, sleep
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar, overload

from dqlitedbapi import exceptions as exc
from dqlitedbapi._common import (
    CursorBase,
    DescriptionTuple,
    ListResult,
    check_executemany_seq,
    check_sql,
)
from dqlitedbapi._native import NativeConnection, NativeResult
from dqlitedbapi._options import (
    BUSY_TIMEOUT_PRAGMA,
    begin_for,
    busy_timeout_assignment,
    classify,
    kind_of,
)
from dqlitedbapi.exceptions import Error

if TYPE_CHECKING:
    from dqlitedbapi.aio.connection import AsyncConnection

__all__ = ["AsyncCursor", "Parameters"]

Parameters = Sequence[Any] | Mapping[str, Any]
"""Positional parameters for ``?``, or a mapping for ``:name``, ``@name`` and ``$name``."""

# A statement that may return rows from executemany: run one parameter set at a time and
# gather the rows (a false match only loses the pipelining).
_RETURNING: Final = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_BUSY_TIMEOUT_COLUMN: Final = (("busy_timeout", 1, None, None, None, None, None),)
_T = TypeVar("_T")


def _already_executing() -> exc.InterfaceError:  # ASYNC
    return exc.InterfaceError(
        "the cursor is already executing in another task; use one cursor per task"
    )


class AsyncCursor(CursorBase):
    """A PEP 249 cursor: runs statements and reads their rows.

    Rows are read from the server as they are fetched, a frame at a time. A cursor must
    not be used by several tasks or threads at once (the connection may be).
    """

    _connection: AsyncConnection

    def __init__(self, connection: AsyncConnection) -> None:
        """A cursor on ``connection``."""
        self._init(connection)

    @property
    def connection(self) -> AsyncConnection:
        """The connection this cursor belongs to."""
        return self._connection

    @property  # ASYNC
    def _rows(self) -> list[tuple[Any, ...]]:
        """The rows of the current result, where the cursor holds them.

        A private attribute of dqlite-dbapi 0.8.0's cursor, which buffers every result;
        some code reads it. Here: ``[]`` without a result set, the rows of a result held
        in the cursor (``executemany`` RETURNING, ``PRAGMA busy_timeout``), and
        AttributeError for a result streamed from the server (use ``fetchall()``).
        """
        if self.description is None:
            return []
        result = self._result if self._result is not None else self._spent
        if isinstance(result, ListResult):
            return result.rows
        raise AttributeError(
            "_rows: this cursor streams its rows from the server and does not hold them; "
            "use fetchall()"
        )

    @property  # ASYNC
    def _description(self) -> tuple[DescriptionTuple, ...] | None:
        """``description``, under dqlite-dbapi 0.8.0's private name."""
        return self.description

    async def _native_for_call(self) -> NativeConnection:
        """The connection to run a statement on, opened now if it was not yet."""
        if self._closed:
            raise exc.InterfaceError("Cannot operate on a closed cursor.")
        if self._executing:  # ASYNC
            raise _already_executing()
        native = self._connection._native
        if native is None:
            if True:  # ASYNC
                # Another task's execute on this cursor is refused while this one waits.
                self._executing = True
                try:
                    native = await self._connection._open()
                finally:
                    self._executing = False
            else:
                native = self._connection._open()
        return native

    @overload  # ASYNC
    async def _wait(
        self, pending: NativeResult | Awaitable[NativeResult], *, call: bool = False
    ) -> NativeResult: ...

    @overload  # ASYNC
    async def _wait(self, pending: Awaitable[_T], *, call: bool = False) -> _T: ...

    async def _wait(self, pending: Any, *, call: bool = False) -> Any:  # ASYNC
        """Awaits a call of the native core; a cancelled call closes the connection.

        A statement (``call``) cancelled while it still waits for another task's statement
        on the connection is skipped instead, and the connection goes on (see
        ``AsyncConnection._call``).

        A call whose answer was already there (rows that arrive faster than they are read,
        or a quick statement on a loaded machine) gives its value at once, or a future
        completed before it is awaited, whose await does not suspend: such a call gives
        the event loop a turn when the connection's ``_turn_due`` says so, as ``execute``
        does.
        """
        if self._executing:
            raise _already_executing()
        self._executing = True
        try:
            # Every awaitable of the native core is a Future; anything else is a value.
            if isinstance(pending, Future):
                if not pending.done():
                    if call:
                        return await self._connection._call(pending)
                    try:
                        return await pending
                    except CancelledError:
                        self._connection._invalidate()
                        raise
                pending = pending.result()
            if self._connection._turn_due():
                try:
                    await sleep(0)
                except CancelledError:
                    self._connection._invalidate()
                    raise
            return pending
        finally:
            self._executing = False

    async def execute(self, sql: str, parameters: Parameters = (), /) -> Self:
        """Runs one statement; rows, if any, are read as they are fetched."""
        # The checks of _native_for_call, inlined: this is the hottest path of the driver.
        native = self._connection._native
        if self._closed or native is None:
            native = await self._native_for_call()
        if self._executing:  # ASYNC
            raise _already_executing()
        if sql.__class__ is not str:
            sql = check_sql(sql)
        # _reset, inlined but for an unread result (a call less per statement): the last
        # statement's state is cleared before this one runs.
        if self._result is not None:
            self._reset()
        elif self.description is not None or self._rowcount != -1:
            self._spent = None
            self.description = None
            self._rowcount = -1
            self.completed_iterations = 0
            self._converters = None
        # The same text as last time needs no look-up (an identity test).
        if sql is not self._plain:
            kind = kind_of(sql)
            if kind is None:
                kind = classify(sql)
            if kind:
                return await self._execute_special(native, kind, sql, parameters)
            self._plain = sql
        if True:  # ASYNC
            # _check_loop and _wait, inlined (a coroutine less per call); _executing was
            # checked above, with no await since.
            connection = self._connection
            loop = connection._loop
            if loop is not None and not loop.is_running():
                connection._check_loop()
            self._executing = True
            try:
                result = native.aexecute(sql, parameters)
                if not isinstance(result, NativeResult):
                    result = await connection._call(result)
                elif connection._turn_due():
                    # Answered at once (the answer came while the request was written):
                    # the loop gets a turn if one is due, as in _wait.
                    try:
                        await sleep(0)
                    except CancelledError:
                        connection._invalidate()
                        raise
            finally:
                self._executing = False
            self._set_result(result)
        else:
            self._set_result(native.execute(sql, parameters))
        return self

    async def _execute_special(
        self, native: NativeConnection, kind: int, sql: str, parameters: Parameters
    ) -> Self:
        """A statement the driver handles itself: PRAGMA busy_timeout, or a bare BEGIN."""
        connection = self._connection
        if kind == BUSY_TIMEOUT_PRAGMA:
            milliseconds = busy_timeout_assignment(sql)
            if milliseconds is not None:
                connection.busy_timeout = milliseconds / 1000
            value = round(connection.busy_timeout * 1000)
            self._set_result(ListResult(_BUSY_TIMEOUT_COLUMN, [(value,)], -1))
            return self
        begin = begin_for(connection.session_mode)
        if True:  # ASYNC
            self._set_result(await self._wait(native.aexecute(begin, parameters), call=True))
        else:
            self._set_result(native.execute(begin, parameters))
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Parameters], /) -> Self:
        """Runs a DML statement once per parameter set; ``rowcount`` is the total.

        Inside a transaction the statements are pipelined (many in flight at once); in
        autocommit each runs alone. The first failing set raises, its index (from 0) in
        the message and as the exception's ``executemany_row``; ``completed_iterations`` is
        then the number of sets that ran before it, and ``rowcount`` -1 (as in dqlite-dbapi
        0.8).
        """
        native = await self._native_for_call()
        sql = check_sql(sql)
        check_executemany_seq(seq_of_parameters)
        source: object = seq_of_parameters
        if source is self:
            # Its rows would be discarded before they were read: nothing would run.
            raise exc.ProgrammingError("Recursive use of cursors not allowed.")
        self._reset()
        if _RETURNING.search(sql):
            await self._executemany_one_by_one(native, sql, seq_of_parameters)
            return self
        sets = (
            seq_of_parameters
            if isinstance(seq_of_parameters, list | tuple)
            else list(seq_of_parameters)
        )
        try:
            if True:  # ASYNC
                self._connection._check_loop()
                result = await self._wait(native.aexecutemany(sql, sets), call=True)
            else:
                result = native.executemany(sql, sets)
        except Error as e:
            # The parameter sets before the failing one ran; none did when a set could
            # not be bound (all are bound before any is sent).
            if not getattr(e, "executemany_unsent", False):
                self.completed_iterations = getattr(e, "executemany_row", 0)
            raise
        self.rowcount = result.rowcount
        self.completed_iterations = len(sets)
        return self

    async def _executemany_one_by_one(
        self, native: NativeConnection, sql: str, seq_of_parameters: Iterable[Parameters]
    ) -> None:
        """Runs a statement that may return rows once per set, gathering the rows."""
        cap = self._connection.max_total_rows
        description = None
        raw: list[bool] | None = None
        rows: list[tuple[Any, ...]] = []
        total = 0
        for parameters in seq_of_parameters:
            if True:  # ASYNC
                result = await self._wait(native.aexecute(sql, parameters), call=True)
            else:
                result = native.execute(sql, parameters)
            if result.description is not None:
                if description is None:
                    description = result.description
                    raw = self._raw_columns(description)
                if raw is not None:
                    # Converters get the values as stored, as from execute().
                    result.raw_columns(raw)
                got = result.afetch(-1)
                if not isinstance(got, list):  # ASYNC
                    got = await self._wait(got)
                rows.extend(got)
                total += len(got)
                if cap is not None and len(rows) > cap:
                    raise exc.DataError(
                        f"executemany accumulated {len(rows)} RETURNING rows; exceeds "
                        f"max_total_rows={cap}"
                    )
            elif result.rowcount > 0:
                total += result.rowcount
            self.completed_iterations += 1
        if description is None:
            self.rowcount = total
        else:
            self._set_result(ListResult(description, rows, total))

    async def executescript(self, sql_script: str, /) -> Self:
        """Runs every statement of a script (no parameters); rows are discarded."""
        native = await self._native_for_call()
        sql_script = check_sql(sql_script)
        self._reset()
        if True:  # ASYNC
            await self._wait(native.aexecutescript(sql_script), call=True)
        else:
            native.executescript(sql_script)
        return self

    async def fetchone(self) -> Any:
        """The next row, or None at the end (or without a result set)."""
        result = self._readable()
        if result is None:
            return None
        rows = result.afetch(1)
        if not isinstance(rows, list):  # ASYNC
            rows = await self._wait(rows)
        if not rows:
            self._finished(result)
            return None
        return self._post(rows)[0]

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` (default ``arraysize``) more rows."""
        result = self._readable()
        n = self._fetch_size(size)
        if result is None or n == 0:
            return []
        rows = result.afetch(n)
        if not isinstance(rows, list):  # ASYNC
            rows = await self._wait(rows)
        if len(rows) < n:
            self._finished(result)
        return self._post(rows)

    async def fetchall(self) -> list[Any]:
        """Every remaining row."""
        result = self._result
        if result is None or self._closed or self._connection._closed:
            result = self._readable()
            if result is None:
                return []
        rows = result.afetch(-1)
        if not isinstance(rows, list):  # ASYNC
            rows = await self._wait(rows)
        # Used up: dropped now, so the next execute has nothing to close.
        self._result = None
        self._spent = result
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

    def close(self) -> None:
        """Closes the cursor; unread rows are discarded. Closing twice is allowed.

        ``rowcount``, ``lastrowid`` and ``completed_iterations`` stay readable, as in
        dqlite-dbapi 0.8.
        """
        if not self._closed:
            rowcount, completed = self.rowcount, self.completed_iterations
            self._reset()
            self._rowcount, self.completed_iterations = rowcount, completed
            self._closed = True

    async def aclose(self) -> None:  # ASYNC
        """Closes the cursor (as ``close()``, for ``contextlib.aclosing``)."""
        self.close()

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
        self.close()
