"""PEP 249 type objects and constructors.

``Cursor.description[i][1]`` is the wire type code of the column's value in the first row
(``None`` when the result has no rows): 1 INTEGER, 2 FLOAT, 3 TEXT, 4 BLOB, 5 NULL,
9 UNIXTIME, 10 ISO8601, 11 BOOLEAN. The type objects compare equal to these codes and to
the SQL type names of their family, as the pure-Python ``dqlite-dbapi`` does.
"""

from __future__ import annotations

import datetime
import time
from typing import Any, Final, final

from dqlitedbapi import _adapt
from dqlitedbapi._adapt import PrepareProtocol, register_adapter, unregister_adapter

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "UNKNOWN",
    "Binary",
    "DBAPITypeObject",
    "Date",
    "DateFromTicks",
    "DescriptionTuple",
    "PrepareProtocol",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "register_adapter",
    "unregister_adapter",
]

# The adapter registry under the pure-Python dqlite-dbapi's name (its test suite resets it).

_ADAPTERS = _adapt.ADAPTERS
"""The adapter registry, under the pure-Python dqlite-dbapi's name."""

DescriptionTuple = tuple[str, Any, None, None, None, None, None]
"""One entry of ``Cursor.description``: name, type code (a wire type code, or
:data:`UNKNOWN`), then five ``None``."""

Date = datetime.date
"""Constructs a date: ``Date(year, month, day)``."""

Time = datetime.time
"""Constructs a time: ``Time(hour, minute, second)``."""

Timestamp = datetime.datetime
"""Constructs a timestamp: ``Timestamp(year, month, day, hour, minute, second)``."""

Binary = memoryview
"""Wraps bytes for a BLOB parameter (``memoryview``, as ``sqlite3``)."""


def DateFromTicks(ticks: float) -> datetime.date:  # noqa: N802 - PEP 249 name
    """The local date of a Unix time."""
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:  # noqa: N802 - PEP 249 name
    """The local time of day of a Unix time."""
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:  # noqa: N802 - PEP 249 name
    """The local date and time of a Unix time."""
    return Timestamp(*time.localtime(ticks)[:6])


@final
class DBAPITypeObject:
    """A PEP 249 type object: equal to the wire type codes and SQL type names it covers.

    Hashed by name, so ``code in {NUMBER}`` is False even when ``NUMBER == code``: compare
    with ``==``.
    """

    def __init__(self, name: str, codes: frozenset[int], names: frozenset[str]) -> None:
        """A type object called ``name`` for wire ``codes`` and SQL type ``names``."""
        self.name = name
        self.codes = codes
        self.names = names

    def __eq__(self, other: object) -> bool:
        """True for a covered wire code, SQL type name, or the same type object."""
        if isinstance(other, DBAPITypeObject):
            return self.codes == other.codes and self.names == other.names
        if isinstance(other, bool):
            return False
        if isinstance(other, int):
            return other in self.codes
        if isinstance(other, str):
            return other.upper() in self.names
        return NotImplemented

    def __hash__(self) -> int:
        """Hash of the name."""
        return hash(("DBAPITypeObject", self.name))

    def __repr__(self) -> str:
        """The PEP 249 name."""
        return self.name


STRING: Final = DBAPITypeObject(
    "STRING", frozenset({3}), frozenset({"TEXT", "VARCHAR", "CHAR", "CLOB"})
)
"""Text columns."""

BINARY: Final = DBAPITypeObject(
    "BINARY", frozenset({4}), frozenset({"BLOB", "BINARY", "VARBINARY"})
)
"""Blob columns."""

NUMBER: Final = DBAPITypeObject(
    "NUMBER",
    frozenset({1, 2, 11}),
    frozenset({"INTEGER", "INT", "SMALLINT", "BIGINT", "REAL", "FLOAT", "DOUBLE", "NUMERIC"}),
)
"""Integer, float and boolean columns."""

DATETIME: Final = DBAPITypeObject(
    "DATETIME", frozenset({9, 10}), frozenset({"DATE", "TIME", "TIMESTAMP", "DATETIME"})
)
"""Date and time columns (ISO8601 and UNIXTIME cells)."""

ROWID: Final = DBAPITypeObject("ROWID", frozenset({1}), frozenset({"ROWID", "INTEGER PRIMARY KEY"}))
"""Row ids (integers)."""

UNKNOWN: Final = DBAPITypeObject("UNKNOWN", frozenset(), frozenset())
"""Type code of a column whose type the result does not tell (no rows, or only NULLs)."""
