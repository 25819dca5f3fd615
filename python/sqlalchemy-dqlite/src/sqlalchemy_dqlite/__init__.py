"""SQLAlchemy 2.0/2.1 dialect for dqlite, Canonical's distributed SQLite.

``create_engine("dqlite://host:port/db")`` (on :mod:`dqlitedbapi`) and
``create_async_engine("dqlite+aio://host:port/db")`` (on :mod:`dqlitedbapi.aio`). Several
nodes: ``dqlite://[h1:9001,h2:9002]/db``, or :func:`make_url` with
``dqlite://h1:9001,h2:9002/db``. The dialects are registered as the entry points ``dqlite``,
``dqlite.dqlitedbapi`` and ``dqlite.aio`` (the names the pure-Python ``sqlalchemy-dqlite``
package used), and the old module name ``sqlalchemydqlite`` still imports.

The SQLite types and the SQLite ``insert()`` (with ``on_conflict_do_*``) are re-exported.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from sqlalchemy.dialects.sqlite import (
    BLOB,
    BOOLEAN,
    CHAR,
    DATE,
    DATETIME,
    DECIMAL,
    FLOAT,
    INTEGER,
    JSON,
    NUMERIC,
    REAL,
    SMALLINT,
    TEXT,
    TIME,
    TIMESTAMP,
    VARCHAR,
    Insert,
    insert,
)

from sqlalchemy_dqlite.aio import DqliteDialect_aio
from sqlalchemy_dqlite.base import (
    DqliteCompiler,
    DqliteDialect,
    DqliteExecutionContext,
    make_url,
    parse_addresses,
)

try:
    __version__ = _version("sqlalchemy-dqlite")
except PackageNotFoundError:  # pragma: no cover - run from a source tree
    __version__ = "0.0.0"

dialect = DqliteDialect
"""The synchronous dialect class (SQLAlchemy's ``<package>.dialect`` convention)."""

dialect_aio = DqliteDialect_aio
"""The asyncio dialect class."""

__all__ = [
    "BLOB",
    "BOOLEAN",
    "CHAR",
    "DATE",
    "DATETIME",
    "DECIMAL",
    "FLOAT",
    "INTEGER",
    "JSON",
    "NUMERIC",
    "REAL",
    "SMALLINT",
    "TEXT",
    "TIME",
    "TIMESTAMP",
    "VARCHAR",
    "DqliteCompiler",
    "DqliteDialect",
    "DqliteDialect_aio",
    "DqliteExecutionContext",
    "Insert",
    "__version__",
    "dialect",
    "dialect_aio",
    "insert",
    "make_url",
    "parse_addresses",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
