"""PEP 249 (DB-API 2.0) driver for dqlite, Canonical's distributed SQLite.

A drop-in for the pure-Python ``dqlite-dbapi`` package, on a Rust core. The blocking API is
here; :mod:`dqlitedbapi.aio` has the asyncio one. The names follow PEP 249 and stdlib
:mod:`sqlite3`.

``sqlite_version`` is static: the SQLite that Debian 12's dqlite 1.11 links (3.40.1), the
oldest server this driver is tested against; servers may run a newer SQLite.
"""

from __future__ import annotations

import atexit as _atexit
import logging as _logging
from importlib import metadata as _metadata
from typing import NoReturn

from dqlitedbapi._adapt import (
    PARSE_COLNAMES,
    PARSE_DECLTYPES,
    PrepareProtocol,
    register_adapter,
    register_converter,
    unregister_adapter,
)
from dqlitedbapi._common import LEGACY_TRANSACTION_CONTROL
from dqlitedbapi._native import (
    PROTOCOL_VERSION,
    TLSConfig,
    get_slow_statement_threshold,
    set_slow_statement_threshold,
)
from dqlitedbapi._native import __version__ as _native_version
from dqlitedbapi._native import _logging_refresh as _logging_refresh
from dqlitedbapi._native import complete_statement as _complete_statement
from dqlitedbapi._options import (
    DEFAULT_CLOSE_TIMEOUT_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    SESSION_MODES,
    DialFunc,
    validate_session_mode,
)
from dqlitedbapi.connection import Connection, connect
from dqlitedbapi.cursor import Cursor
from dqlitedbapi.exceptions import (
    CLUSTER_POLICY_REJECTION_PREFIX,
    FAILED_TO_CONNECT_PREFIX,
    AdapterLookupError,
    AmbiguousCommitError,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    OutcomeUnknownError,
    ProgrammingError,
    Warning,
)
from dqlitedbapi.row import Row
from dqlitedbapi.types import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    UNKNOWN,
    Binary,
    Date,
    DateFromTicks,
    DescriptionTuple,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
)

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
    "Binary",
    "Connection",
    "Cursor",
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

try:
    __version__ = _metadata.version("dqlite-dbapi")
    """The version of the ``dqlite-dbapi`` distribution."""
except _metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
    __version__ = _native_version

apilevel = "2.0"
"""The DB-API level this module supports."""

threadsafety = 2
"""Threads may share the module and connections; cursors must not be shared."""

paramstyle = "qmark"
"""Parameters are written as ``?`` (named ``:name``, ``$name`` and ``@name`` also work)."""

sqlite_version = "3.40.1"
"""The SQLite version of the oldest supported server (Debian 12's dqlite 1.11)."""

sqlite_version_info = (3, 40, 1)
"""``sqlite_version`` as a tuple of ints."""

# A library's loggers get a NullHandler (the logging HOWTO's advice): unconfigured, its
# WARNING records go nowhere instead of to stderr through logging's last resort.
_logging.getLogger("dqlitedbapi").addHandler(_logging.NullHandler())
# Records still waiting at exit (the driver hands them over at the end of each call) go
# to logging before its own shutdown, which was registered earlier and so runs later.
_atexit.register(_logging_refresh)


def complete_statement(statement: str) -> bool:
    """True when ``statement`` ends with a complete SQL statement (as in ``sqlite3``)."""
    return _complete_statement(statement)


def enable_callback_tracebacks(*args: object, **kwargs: object) -> NoReturn:
    """Raises NotSupportedError: dqlite runs no callbacks of the client."""
    raise NotSupportedError("enable_callback_tracebacks is not supported: there are no callbacks")
