"""The asyncio API: :func:`aconnect`, :class:`AsyncConnection`, :class:`AsyncCursor`.

The same classes as the blocking API, with coroutine methods. :func:`connect` is
synchronous and returns a connection that opens on first use (SQLAlchemy needs a
synchronous factory); :func:`aconnect` opens it before returning. The module-level names
of :mod:`dqlitedbapi` (exceptions, type objects, constants) are re-exported, so that code
can import everything from one namespace.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Final

from dqlitedbapi import (
    BINARY,
    CLUSTER_POLICY_REJECTION_PREFIX,
    DATETIME,
    DEFAULT_CLOSE_TIMEOUT_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    FAILED_TO_CONNECT_PREFIX,
    LEGACY_TRANSACTION_CONTROL,
    NUMBER,
    PARSE_COLNAMES,
    PARSE_DECLTYPES,
    PROTOCOL_VERSION,
    ROWID,
    SESSION_MODES,
    STRING,
    UNKNOWN,
    AdapterLookupError,
    AmbiguousCommitError,
    Binary,
    DatabaseError,
    DataError,
    Date,
    DateFromTicks,
    DescriptionTuple,
    DialFunc,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    OutcomeUnknownError,
    PrepareProtocol,
    ProgrammingError,
    Row,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    TLSConfig,
    Warning,
    __version__,
    apilevel,
    complete_statement,
    enable_callback_tracebacks,
    get_slow_statement_threshold,
    paramstyle,
    register_adapter,
    register_converter,
    set_slow_statement_threshold,
    sqlite_version,
    sqlite_version_info,
    threadsafety,
    unregister_adapter,
    validate_session_mode,
)
from dqlitedbapi.aio.connection import AsyncConnection, aconnect, refuse_sqlite3_keywords
from dqlitedbapi.aio.cursor import AsyncCursor

__all__ = [
    "BINARY",
    "CLUSTER_POLICY_REJECTION_PREFIX",
    "DATETIME",
    "DEFAULT_CLOSE_TIMEOUT_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "FAILED_TO_CONNECT_PREFIX",
    "LEGACY_TRANSACTION_CONTROL",
    "NUMBER",
    "PARSE_COLNAMES",
    "PARSE_DECLTYPES",
    "PROTOCOL_VERSION",
    "ROWID",
    "SESSION_MODES",
    "STRING",
    "UNKNOWN",
    "AdapterLookupError",
    "AmbiguousCommitError",
    "AsyncConnection",
    "AsyncCursor",
    "Binary",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "DescriptionTuple",
    "DialFunc",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "OutcomeUnknownError",
    "PrepareProtocol",
    "ProgrammingError",
    "Row",
    "TLSConfig",
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
    "enable_callback_tracebacks",
    "get_slow_statement_threshold",
    "paramstyle",
    "register_adapter",
    "register_converter",
    "set_slow_statement_threshold",
    "sqlite_version",
    "sqlite_version_info",
    "threadsafety",
    "unregister_adapter",
    "validate_session_mode",
]


_KEYWORDS: Final = frozenset(inspect.signature(AsyncConnection).parameters) - {"address"}


def connect(address: str | Sequence[str], **kwargs: Any) -> AsyncConnection:
    """An :class:`AsyncConnection` that opens on first use; arguments as :func:`aconnect`."""
    refuse_sqlite3_keywords({k: v for k, v in kwargs.items() if k not in _KEYWORDS})
    return AsyncConnection(address, **kwargs)
