# Generated from src/dqlitedbapi/aio/cursor.py by tools/async_to_sync.py: do not edit.
"""The cursor, :class:`Cursor`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from dqlitedbapi import exceptions as exc
from dqlitedbapi._common import CursorBase, check_executemany_seq, check_sql
from dqlitedbapi._native import NativeConnection
from dqlitedbapi.exceptions import Error

if TYPE_CHECKING:
    from dqlitedbapi.connection import Connection

__all__ = ["Cursor", "Parameters"]

Parameters = Sequence[Any] | Mapping[str, Any]
"""Positional parameters for ``?``, or a mapping for ``:name``, ``@name`` and ``$name``."""


class Cursor(CursorBase):
    """A PEP 249 cursor: runs statements and reads their rows.

    Rows are read from the server as they are fetched, a frame at a time. A cursor must
    not be used by several tasks or threads at once (the connection may be).
    """

    _connection: Connection

    def __init__(self, connection: Connection) -> None:
        """A cursor on ``connection``."""
        self._init(connection)

    @property
    def connection(self) -> Connection:
        """The connection this cursor belongs to."""
        return self._connection

    def _native_for_call(self) -> NativeConnection:
        """The connection to run a statement on, opened now if it was not yet."""
        if self._closed:
            raise exc.InterfaceError("Cannot operate on a closed cursor.")
        native = self._connection._native
        if native is None:
            native = self._connection._open()
        return native

    def execute(self, sql: str, parameters: Parameters = (), /) -> Self:
        """Runs one statement; rows, if any, are read as they are fetched."""
        # The checks of _native_for_call, inlined: this is the hottest path of the driver.
        native = self._connection._native
        if self._closed or native is None:
            native = self._native_for_call()
        if sql.__class__ is not str:
            sql = check_sql(sql)
        if self._result is not None or self.description is not None or self.rowcount != -1:
            self._reset()
        self._set_result(native.execute(sql, parameters))
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Parameters], /) -> Self:
        """Runs a DML statement once per parameter set; ``rowcount`` is the total.

        Inside a transaction the statements are pipelined (many in flight at once); in
        autocommit each runs alone. The first failing set raises, its index (from 0) in
        the message and as the exception's ``executemany_row``; ``rowcount`` is then the
        number of sets that ran before it.
        """
        native = self._native_for_call()
        sql = check_sql(sql)
        check_executemany_seq(seq_of_parameters)
        self._reset()
        try:
            result = native.executemany(sql, seq_of_parameters)
        except Error as e:
            # The parameter sets before the failing one ran.
            self.rowcount = getattr(e, "executemany_row", -1)
            raise
        self._set_result(result)
        return self

    def executescript(self, sql_script: str, /) -> Self:
        """Runs every statement of a script (no parameters); rows are discarded."""
        native = self._native_for_call()
        sql_script = check_sql(sql_script)
        self._reset()
        native.executescript(sql_script)
        return self

    def fetchone(self) -> Any:
        """The next row, or None at the end (or without a result set)."""
        result = self._readable()
        if result is None:
            return None
        rows = result.fetch(1)
        if not rows:
            return None
        return self._post(rows)[0]

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` (default ``arraysize``) more rows."""
        result = self._readable()
        n = self._fetch_size(size)
        if result is None or n == 0:
            return []
        rows = result.fetch(n)
        return self._post(rows)

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        result = self._result
        if result is None or self._closed or self._connection._closed:
            result = self._readable()
            if result is None:
                return []
        rows = result.fetch(-1)
        # Used up: dropped now, so the next execute has nothing to close.
        self._result = None
        if self._converters is None and self.row_factory is None:
            return rows
        return self._post(rows)

    def __iter__(self) -> Iterator[Any]:
        """Iterates over the remaining rows."""
        return self

    def __next__(self) -> Any:
        """The next row."""
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def close(self) -> None:
        """Closes the cursor; unread rows are discarded. Closing twice is allowed."""
        if not self._closed:
            self._reset()
            self._closed = True

    def __enter__(self) -> Self:
        """The cursor itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Closes the cursor."""
        self.close()
