"""The asyncio dqlite dialect, ``dqlite+aio://``, on :mod:`dqlitedbapi.aio`.

Built on SQLAlchemy's generic asyncio adapter (``sqlalchemy.connectors.asyncio``): the
adapter gives SQLAlchemy a blocking-looking PEP 249 connection whose calls await the
driver's coroutines through greenlets. It works with SQLAlchemy 2.0 and 2.1, whose adapter
APIs differ (2.0 awaits through ``await_only`` and a per-connection ``await_`` attribute,
2.1 through the module function ``await_`` and a module-adapter constructor taking the
driver module).

Use it with ``create_async_engine("dqlite+aio://host:port/db")``; it needs greenlet
(``pip install 'sqlalchemy-dqlite[asyncio]'``).
"""

from __future__ import annotations

import collections
import importlib
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import dqlitedbapi
import dqlitedbapi.aio
from sqlalchemy import pool
from sqlalchemy.connectors.asyncio import (
    AsyncAdapt_dbapi_connection,
    AsyncAdapt_dbapi_cursor,
    AsyncAdapt_dbapi_module,
    AsyncAdapt_dbapi_ss_cursor,
    AsyncAdapt_terminate,
)

from sqlalchemy_dqlite.base import DqliteDialect, DqliteExecutionContext

if TYPE_CHECKING:
    from sqlalchemy.engine import URL
    from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor

__all__ = [
    "AsyncAdapt_dqlite_connection",
    "AsyncAdapt_dqlite_cursor",
    "AsyncAdapt_dqlite_dbapi",
    "AsyncAdapt_dqlite_ss_cursor",
    "DqliteDialect_aio",
]

_T = TypeVar("_T")

_concurrency = importlib.import_module("sqlalchemy.util.concurrency")
# SQLAlchemy 2.1 has await_(); 2.0 has await_only() (and the deprecated await_fallback()).
_await_impl: Any = getattr(_concurrency, "await_", None) or _concurrency.await_only


def await_(awaitable: Awaitable[_T]) -> _T:
    """Awaits ``awaitable`` from synchronous code running inside SQLAlchemy's greenlet."""
    return cast(_T, _await_impl(awaitable))


_EXPORTED = (
    "Warning",
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "OutcomeUnknownError",
    "Binary",
    "Date",
    "Time",
    "Timestamp",
    "STRING",
    "BINARY",
    "NUMBER",
    "DATETIME",
    "ROWID",
    "LEGACY_TRANSACTION_CONTROL",
    "PARSE_COLNAMES",
    "PARSE_DECLTYPES",
    "apilevel",
    "threadsafety",
    "paramstyle",
    "sqlite_version",
    "sqlite_version_info",
)


class AsyncAdapt_dqlite_cursor(AsyncAdapt_dbapi_cursor):
    """Buffered cursor: the rows of a statement are read when it runs."""

    __slots__ = ()
    _awaitable_cursor_close = False  # dqlitedbapi's AsyncCursor.close() is synchronous

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        # executemany ... RETURNING gathers rows: read them as execute() does.
        async with self._adapt_connection._execute_mutex:
            result = await self._cursor.executemany(operation, seq_of_parameters)
            if self._cursor.description:
                self._rows = collections.deque(await self._cursor.fetchall())
            return result

    def setinputsizes(self, *inputsizes: Any) -> None:
        """Does nothing (dqlitedbapi's is not a coroutine)."""


class AsyncAdapt_dqlite_ss_cursor(AsyncAdapt_dbapi_ss_cursor):
    """Server-side cursor: rows are read from the server as they are fetched."""

    __slots__ = ()
    _awaitable_cursor_close = False

    def setinputsizes(self, *inputsizes: Any) -> None:
        """Does nothing (dqlitedbapi's is not a coroutine)."""


class AsyncAdapt_dqlite_connection(AsyncAdapt_terminate, AsyncAdapt_dbapi_connection):
    """An :class:`dqlitedbapi.aio.AsyncConnection` adapted to SQLAlchemy's sync core."""

    __slots__ = ()

    _cursor_cls = AsyncAdapt_dqlite_cursor
    _ss_cursor_cls = AsyncAdapt_dqlite_ss_cursor

    _connection: dqlitedbapi.aio.AsyncConnection  # type: ignore[assignment]

    @property
    def autocommit(self) -> bool | int:
        """The driver's ``autocommit`` (True, False or LEGACY_TRANSACTION_CONTROL)."""
        return self._connection.autocommit

    @autocommit.setter
    def autocommit(self, value: bool | int) -> None:
        self._connection.autocommit = value

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open."""
        return self._connection.in_transaction

    @property
    def closed(self) -> bool:
        """True once the connection is closed (also after a broken transport)."""
        return self._connection.closed

    def commit(self) -> None:
        """Commits; without a transaction there is nothing to do, and it returns at once."""
        if not self._idle():
            super().commit()

    def rollback(self) -> None:
        """Rolls back; without a transaction there is nothing to do, and it returns at once.

        The pool rolls back every connection it takes back; skipping the trip through the
        event loop (two greenlet switches) saves about a tenth of a checkout, as
        SQLAlchemy's asyncpg adapter does. The driver would do nothing either; a closed
        connection still goes to the driver, which raises.
        """
        if not self._idle():
            super().rollback()

    def _idle(self) -> bool:
        """Open, and no transaction to end (the driver's ``commit``/``rollback`` no-op)."""
        connection = self._connection
        return not connection.in_transaction and not connection.closed

    def close(self) -> None:
        await_(self._connection.close())

    async def _terminate_graceful_close(self) -> None:
        await self._connection.close()

    def _terminate_force_close(self) -> None:
        # Outside the event loop (garbage collection): the driver's native connection has a
        # synchronous close; AsyncConnection exposes only the coroutine.
        native = getattr(self._connection, "_native", None)
        if native is not None:
            native.close()


class AsyncAdapt_dqlite_dbapi(AsyncAdapt_dbapi_module):
    """The PEP 249 module SQLAlchemy sees for ``dqlite+aio``.

    dqlitedbapi's names, with a ``connect()`` that awaits :func:`dqlitedbapi.aio.aconnect`.
    """

    def __init__(self) -> None:
        """Copies dqlitedbapi's module attributes."""
        if "__init__" in AsyncAdapt_dbapi_module.__dict__:
            # SQLAlchemy 2.1: the adapter records the driver module and the module that
            # holds the exception classes.
            init: Any = super().__init__
            init(dqlitedbapi.aio, dbapi_module=dqlitedbapi)
        self.aio = dqlitedbapi.aio
        for name in _EXPORTED:
            setattr(self, name, getattr(dqlitedbapi, name))

    def connect(self, *args: Any, **kwargs: Any) -> AsyncAdapt_dqlite_connection:
        """Connects with :func:`dqlitedbapi.aio.aconnect` (or ``async_creator_fn``)."""
        kwargs.pop("async_fallback", None)
        creator = kwargs.pop("async_creator_fn", None)
        coroutine = (creator or dqlitedbapi.aio.aconnect)(*args, **kwargs)
        return AsyncAdapt_dqlite_connection(self, await_(coroutine))


class DqliteExecutionContext_aio(DqliteExecutionContext):
    """Server-side cursors come from the adapter's streaming cursor class."""

    def create_server_side_cursor(self) -> DBAPICursor:
        return cast(Any, self._dbapi_connection).cursor(server_side=True)  # type: ignore[no-any-return]


class DqliteDialect_aio(DqliteDialect):
    """``dqlite+aio://host:port[,host:port...]/database`` for ``create_async_engine``."""

    driver = "aio"
    is_async = True
    supports_statement_cache = True
    supports_server_side_cursors = True
    has_terminate = True

    execution_ctx_cls = DqliteExecutionContext_aio

    @classmethod
    def import_dbapi(cls) -> Any:
        return AsyncAdapt_dqlite_dbapi()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool

    def get_driver_connection(self, connection: DBAPIConnection) -> Any:
        return cast(Any, connection)._connection

    def do_terminate(self, dbapi_connection: DBAPIConnection) -> None:
        cast(Any, dbapi_connection).terminate()


dialect = DqliteDialect_aio
