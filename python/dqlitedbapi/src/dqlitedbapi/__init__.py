"""PEP 249 (DB-API 2.0) driver for dqlite, Canonical's distributed SQLite.

The module-level names follow PEP 249 and stdlib :mod:`sqlite3`: ``apilevel``,
``threadsafety``, ``paramstyle`` and the exception hierarchy.
"""

from __future__ import annotations

from dqlitedbapi._native import PROTOCOL_VERSION, __version__
from dqlitedbapi.exceptions import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)

__all__ = [
    "PROTOCOL_VERSION",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Warning",
    "__version__",
    "apilevel",
    "paramstyle",
    "threadsafety",
]

apilevel = "2.0"
"""The DB-API level this module supports."""

threadsafety = 2
"""Threads may share the module and connections; cursors must not be shared."""

paramstyle = "qmark"
"""Parameters are written as ``?`` (named ``:name``, ``$name`` and ``@name`` also work)."""
