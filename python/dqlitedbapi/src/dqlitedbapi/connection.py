# Generated from src/dqlitedbapi/aio/connection.py by tools/async_to_sync.py: do not edit.
"""The connection, :class:`Connection`, and :func:`connect`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Self

from dqlitedbapi._common import ConnectionBase
from dqlitedbapi._native import NativeConnection
from dqlitedbapi.cursor import Cursor, Parameters

__all__ = ["Connection", "connect"]


class Connection(ConnectionBase):
    """A PEP 249 connection to the leader of a dqlite cluster, with one database open.

    The connection opens on first use, or with :meth:`connect`. Statements autocommit
    unless a transaction is opened with BEGIN. Calls from several threads or tasks run
    one at a time; the GIL is released while waiting for the network.
    """

    def __init__(
        self,
        address: str | Sequence[str],
        *,
        database: str = "default",
        timeout: float = 10.0,
        isolation_level: str | None = None,
        autocommit: bool | int = True,
        detect_types: int = 0,
    ) -> None:
        """A connection to the cluster at ``address``; see :func:`dqlitedbapi.connect`."""
        self._setup(
            address,
            database=database,
            timeout=timeout,
            isolation_level=isolation_level,
            autocommit=autocommit,
            detect_types=detect_types,
        )

    def _open(self) -> NativeConnection:
        """The connection to the cluster, opened now when it was not yet."""
        self._check_open()
        native = self._native
        if native is not None:
            return native
        native = NativeConnection.connect(self._seeds, self.database, self._timeout)
        return self._opened(native)

    def connect(self) -> None:
        """Opens the connection now, instead of on first use."""
        self._open()

    def cursor(self, factory: type[Cursor] | None = None) -> Cursor:
        """A new cursor."""
        self._check_open()
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
        """Commits the open transaction; does nothing without one."""
        self._check_open()
        native = self._native
        if native is not None:
            native.end_transaction(True)

    def rollback(self) -> None:
        """Rolls the open transaction back; does nothing without one."""
        self._check_open()
        native = self._native
        if native is not None:
            native.end_transaction(False)

    def close(self) -> None:
        """Closes the connection (the server rolls back an open transaction). Idempotent."""
        self._closed = True
        native, self._native = self._native, None
        if native is not None:
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
    autocommit: bool | int = True,
    detect_types: int = 0,
) -> Connection:
    """A connection to a dqlite cluster; ``database`` is created on first use.

    ``address`` is ``"host:port"``, several of them comma-separated, or a list: the
    leader is found among them. ``timeout`` (seconds) bounds finding the leader and each
    network wait afterwards. Statements autocommit unless a transaction is opened with
    BEGIN; ``isolation_level`` and ``autocommit`` are accepted for ``sqlite3`` parity.
    ``detect_types=PARSE_COLNAMES`` enables converters registered with
    :func:`dqlitedbapi.register_converter`.
    """
    connection = Connection(
        address,
        database=database,
        timeout=timeout,
        isolation_level=isolation_level,
        autocommit=autocommit,
        detect_types=detect_types,
    )
    return connection
