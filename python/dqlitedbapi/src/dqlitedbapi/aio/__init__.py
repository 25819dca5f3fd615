"""The asyncio API: :func:`aconnect`, :class:`AsyncConnection`, :class:`AsyncCursor`.

The same classes as the blocking API, with coroutine methods. :func:`connect` is
synchronous and returns a connection that opens on first use (SQLAlchemy needs a
synchronous factory); :func:`aconnect` opens it before returning. The module-level names
of :mod:`dqlitedbapi` (exceptions, type objects, constants) are re-exported, so that code
can import everything from one namespace.
"""

from __future__ import annotations

from collections.abc import Sequence

from dqlitedbapi import (
    BINARY,
    CLUSTER_POLICY_REJECTION_PREFIX,
    DATETIME,
    FAILED_TO_CONNECT_PREFIX,
    LEGACY_TRANSACTION_CONTROL,
    NUMBER,
    PARSE_COLNAMES,
    PARSE_DECLTYPES,
    PROTOCOL_VERSION,
    ROWID,
    STRING,
    AdapterLookupError,
    AmbiguousCommitError,
    Binary,
    DatabaseError,
    DataError,
    Date,
    DateFromTicks,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    OutcomeUnknownError,
    PrepareProtocol,
    ProgrammingError,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    Warning,
    __version__,
    apilevel,
    complete_statement,
    paramstyle,
    register_adapter,
    register_converter,
    sqlite_version,
    sqlite_version_info,
    threadsafety,
    unregister_adapter,
)
from dqlitedbapi.aio.connection import AsyncConnection, aconnect
from dqlitedbapi.aio.cursor import AsyncCursor

__all__ = [
    "BINARY",
    "CLUSTER_POLICY_REJECTION_PREFIX",
    "DATETIME",
    "FAILED_TO_CONNECT_PREFIX",
    "LEGACY_TRANSACTION_CONTROL",
    "NUMBER",
    "PARSE_COLNAMES",
    "PARSE_DECLTYPES",
    "PROTOCOL_VERSION",
    "ROWID",
    "STRING",
    "AdapterLookupError",
    "AmbiguousCommitError",
    "AsyncConnection",
    "AsyncCursor",
    "Binary",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "OutcomeUnknownError",
    "PrepareProtocol",
    "ProgrammingError",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Warning",
    "__version__",
    "aconnect",
    "apilevel",
    "complete_statement",
    "connect",
    "paramstyle",
    "register_adapter",
    "register_converter",
    "sqlite_version",
    "sqlite_version_info",
    "threadsafety",
    "unregister_adapter",
]


def connect(
    address: str | Sequence[str],
    *,
    database: str = "default",
    timeout: float = 10.0,
    isolation_level: str | None = None,
    autocommit: bool | int = True,
    detect_types: int = 0,
) -> AsyncConnection:
    """An :class:`AsyncConnection` that opens on first use; arguments as :func:`aconnect`."""
    return AsyncConnection(
        address,
        database=database,
        timeout=timeout,
        isolation_level=isolation_level,
        autocommit=autocommit,
        detect_types=detect_types,
    )
