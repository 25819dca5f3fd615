"""The blocking PEP 249 connection and cursor."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
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
from dqlitedbapi._native import NativeConnection
from dqlitedbapi.exceptions import Error

__all__ = ["Connection", "Cursor", "connect"]

Parameters = Sequence[Any] | Mapping[str, Any]
"""Positional parameters for ``?``, or a mapping for ``:name``, ``@name`` and ``$name``."""


class Cursor(CursorBase):
    """A PEP 249 cursor: runs statements and reads their rows.

    Rows are read from the server as they are fetched, a frame at a time. A cursor must
    not be used by several threads at once (the connection may be).
    """

    def __init__(self, connection: Connection) -> None:
        """A cursor on ``connection``."""
        self._init(connection)

    @property
    def connection(self) -> Connection:
        """The connection this cursor belongs to."""
        assert isinstance(self._connection, Connection)
        return self._connection

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
        connection = self._connection
        if connection._isolation_level is not None:
            begin = connection._implicit_begin(sql)
            if begin is not None:
                native.execute(begin)
        self._set_result(native.execute(sql, parameters))
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Parameters], /) -> Self:
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
            native.execute(begin)
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
        native = self._check()
        sql_script = check_sql(sql_script)
        self._reset()
        if self._connection._script_needs_commit():
            native.end_transaction(True)
        native.executescript(sql_script)
        return self

    def fetchone(self) -> Any:
        """The next row, or None at the end."""
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
        return self._post(result.fetch(n))

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        result = self._result
        if result is None or self._closed or self._connection._native is None:
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


class Connection(ConnectionBase):
    """A PEP 249 connection to the leader of a dqlite cluster, with one database open.

    May be shared by threads (``threadsafety = 2``): calls run one at a time, and the GIL
    is released while waiting for the network.
    """

    def __init__(
        self,
        address: str | Sequence[str],
        *,
        database: str = "default",
        timeout: float = 10.0,
        isolation_level: str | None = None,
        autocommit: bool | int = LEGACY_TRANSACTION_CONTROL,
        detect_types: int = 0,
    ) -> None:
        """Connects: see :func:`dqlitedbapi.connect`."""
        seeds = _common.parse_address(address)
        native = NativeConnection.connect(seeds, database, _common.check_timeout(timeout))
        self._setup(
            native,
            isolation_level=isolation_level,
            autocommit=autocommit,
            detect_types=detect_types,
            address=seeds,
            database=database,
        )
        if self._autocommit is False:
            native.execute("BEGIN")

    @property
    def autocommit(self) -> bool | int:
        """True, False or LEGACY_TRANSACTION_CONTROL (default), as in ``sqlite3``."""
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool | int) -> None:
        value = check_autocommit(value)
        native = self._conn()
        if value is True and native.in_transaction:
            native.end_transaction(True)
        elif value is False and not native.in_transaction:
            native.execute("BEGIN")
        self._autocommit = value

    def cursor(self, factory: type[Cursor] | None = None) -> Cursor:
        """A new cursor."""
        self._conn()
        return (factory or Cursor)(self)

    def execute(self, sql: str, parameters: Parameters = (), /) -> Cursor:
        """Runs a statement on a new cursor and returns it."""
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Parameters], /) -> Cursor:
        """Runs ``executemany`` on a new cursor and returns it."""
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str, /) -> Cursor:
        """Runs a script on a new cursor and returns it."""
        return self.cursor().executescript(sql_script)

    def commit(self) -> None:
        """Commits the open transaction; does nothing without one (or in autocommit=True)."""
        native = self._conn()
        if self._autocommit is True:
            return
        native.end_transaction(True)
        if self._autocommit is False:
            native.execute("BEGIN")

    def rollback(self) -> None:
        """Rolls the open transaction back; does nothing without one."""
        native = self._conn()
        if self._autocommit is True:
            return
        native.end_transaction(False)
        if self._autocommit is False:
            native.execute("BEGIN")

    def close(self) -> None:
        """Closes the connection (rolling back with ``autocommit=False``). Idempotent."""
        native = self._native
        if native is None:
            return
        try:
            if self._autocommit is False and not native.closed and native.in_transaction:
                native.end_transaction(False)
        finally:
            self._native = None
            native.close()

    def __enter__(self) -> Self:
        """The connection itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Commits, or rolls back on an exception; does not close (``sqlite3`` semantics)."""
        if self.closed:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()


def connect(
    address: str | Sequence[str],
    *,
    database: str = "default",
    timeout: float = 10.0,
    isolation_level: str | None = None,
    autocommit: bool | int = LEGACY_TRANSACTION_CONTROL,
    detect_types: int = 0,
) -> Connection:
    """Connects to a dqlite cluster and opens ``database`` (created on first use).

    ``address`` is ``"host:port"``, several of them comma-separated, or a list: the
    leader is found among them. ``timeout`` (seconds) bounds finding the leader and each
    network wait afterwards. Statements run in autocommit mode unless a transaction is
    opened with BEGIN (``isolation_level=None``, the default); ``isolation_level`` and
    ``autocommit`` otherwise behave as in ``sqlite3``. ``detect_types=PARSE_COLNAMES``
    enables converters registered with :func:`register_converter`.
    """
    return Connection(
        address,
        database=database,
        timeout=timeout,
        isolation_level=isolation_level,
        autocommit=autocommit,
        detect_types=detect_types,
    )
