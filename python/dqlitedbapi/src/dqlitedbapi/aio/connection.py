"""The connection, :class:`AsyncConnection`, and :func:`aconnect`.

asyncio: a connection's socket lives on the event loop it was opened on (use it from that loop
only): requests are written when a method is called and answers are read when the loop
sees the socket readable, with no thread in between. Each operation always runs to its
end: when the awaiting task is cancelled (``asyncio.timeout``, ``wait_for``,
``task.cancel()``), the request still completes in the background and its answer is
discarded, so the connection stays in sync; the next call waits for it. Calls from several
tasks on one connection are serialised.

Source of :mod:`dqlitedbapi.connection`, which ``tools/async_to_sync.py`` generates from
this file: edit this one, then run the tool.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Self

from dqlitedbapi._common import ConnectionBase
from dqlitedbapi._native import NativeConnection
from dqlitedbapi.aio.cursor import AsyncCursor, Parameters

__all__ = ["AsyncConnection", "aconnect"]


class AsyncConnection(ConnectionBase):
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

    async def _open(self) -> NativeConnection:
        """The connection to the cluster, opened now when it was not yet."""
        self._check_open()
        native = self._native
        if native is not None:
            return native
        if True:  # ASYNC
            native = await NativeConnection.connect_async(self._seeds, self.database, self._timeout)
        else:
            native = NativeConnection.connect(self._seeds, self.database, self._timeout)
        return self._opened(native)

    async def connect(self) -> None:
        """Opens the connection now, instead of on first use."""
        await self._open()

    def cursor(self, factory: type[AsyncCursor] | None = None) -> AsyncCursor:
        """A new cursor."""
        self._check_open()
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
        """Commits the open transaction; does nothing without one."""
        self._check_open()
        native = self._native
        if native is not None:
            await native.aend_transaction(True)

    async def rollback(self) -> None:
        """Rolls the open transaction back; does nothing without one."""
        self._check_open()
        native = self._native
        if native is not None:
            await native.aend_transaction(False)

    async def close(self) -> None:
        """Closes the connection (the server rolls back an open transaction). Idempotent."""
        self._closed = True
        native, self._native = self._native, None
        if native is not None:
            await native.aclose()

    async def aclose(self) -> None:  # ASYNC
        """Closes the connection (as ``close()``, for ``contextlib.aclosing``)."""
        await self.close()

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
    autocommit: bool | int = True,
    detect_types: int = 0,
) -> AsyncConnection:
    """A connection to a dqlite cluster; ``database`` is created on first use.

    ``address`` is ``"host:port"``, several of them comma-separated, or a list: the
    leader is found among them. ``timeout`` (seconds) bounds finding the leader and each
    network wait afterwards. Statements autocommit unless a transaction is opened with
    BEGIN; ``isolation_level`` and ``autocommit`` are accepted for ``sqlite3`` parity.
    ``detect_types=PARSE_COLNAMES`` enables converters registered with
    :func:`dqlitedbapi.register_converter`.
    """
    connection = AsyncConnection(
        address,
        database=database,
        timeout=timeout,
        isolation_level=isolation_level,
        autocommit=autocommit,
        detect_types=detect_types,
    )
    await connection.connect()  # ASYNC
    return connection
