"""The logic the blocking and asyncio classes share: everything but waiting.

The connection and cursor classes of :mod:`dqlitedbapi` and :mod:`dqlitedbapi.aio` derive
from the bases here and add only their blocking or awaitable methods.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from dqlitedbapi import exceptions as exc
from dqlitedbapi._adapt import CONVERTERS, PARSE_COLNAMES, converter_input
from dqlitedbapi._native import NativeConnection, NativeResult, is_dml

LEGACY_TRANSACTION_CONTROL: Final = -1
"""``autocommit`` value for ``sqlite3``'s legacy behaviour, driven by ``isolation_level``."""

_ISOLATION_LEVELS: Final = frozenset({"", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
_COLNAME_TYPE: Final = re.compile(r"^(.*?)\s*\[([^\]]+)\]\s*$")

DescriptionTuple = tuple[str, int | None, None, None, None, None, None]
"""One entry of ``Cursor.description``: name, wire type code, then five ``None``."""

RowFactory = Callable[[Any, tuple[Any, ...]], Any]
"""``row_factory(cursor, row)``, as in ``sqlite3``."""


def parse_address(address: str | Sequence[str]) -> list[str]:
    """Seed addresses from ``"host:port"``, a comma-separated string, or a list."""
    if isinstance(address, str):
        seeds = [a.strip() for a in address.split(",")]
    elif isinstance(address, Sequence):
        seeds = []
        for a in address:
            if not isinstance(a, str):
                raise exc.ProgrammingError(f"addresses must be str, got {type(a).__name__}")
            seeds.extend(s.strip() for s in a.split(","))
    else:
        raise exc.ProgrammingError(
            f"address must be a str or a list of str, got {type(address).__name__}"
        )
    seeds = [s for s in seeds if s]
    if not seeds:
        raise exc.ProgrammingError("no dqlite node address given")
    return seeds


def check_timeout(timeout: float) -> float:
    """``timeout`` as a positive finite float."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise exc.ProgrammingError(f"timeout must be a number, got {type(timeout).__name__}")
    value = float(timeout)
    if not (value > 0 and value != float("inf")):
        raise exc.ProgrammingError(f"timeout must be a positive finite number, got {timeout}")
    return value


def check_isolation_level(level: str | None) -> str | None:
    """Validates an ``isolation_level`` value (``None`` or a BEGIN mode)."""
    if level is None:
        return None
    if not isinstance(level, str) or level.upper() not in _ISOLATION_LEVELS:
        raise ValueError("isolation_level must be None, '', 'DEFERRED', 'IMMEDIATE' or 'EXCLUSIVE'")
    return level


def check_autocommit(value: object) -> bool | int:
    """Validates an ``autocommit`` value (True, False or LEGACY_TRANSACTION_CONTROL)."""
    if value is True or value is False or value == LEGACY_TRANSACTION_CONTROL:
        return value
    raise ValueError("autocommit must be True, False, or dqlitedbapi.LEGACY_TRANSACTION_CONTROL")


class ConnectionBase:
    """State and rules shared by :class:`dqlitedbapi.Connection` and the asyncio one."""

    Warning = exc.Warning
    Error = exc.Error
    InterfaceError = exc.InterfaceError
    DatabaseError = exc.DatabaseError
    DataError = exc.DataError
    OperationalError = exc.OperationalError
    IntegrityError = exc.IntegrityError
    InternalError = exc.InternalError
    ProgrammingError = exc.ProgrammingError
    NotSupportedError = exc.NotSupportedError

    _native: NativeConnection | None
    _isolation_level: str | None
    _autocommit: bool | int

    def _setup(
        self,
        native: NativeConnection,
        *,
        isolation_level: str | None,
        autocommit: bool | int,
        detect_types: int,
        address: list[str],
        database: str,
    ) -> None:
        self._native = native
        self._isolation_level = check_isolation_level(isolation_level)
        self._autocommit = check_autocommit(autocommit)
        self.detect_types = detect_types
        self.row_factory: RowFactory | None = None
        self.address = address
        self.database = database

    def _conn(self) -> NativeConnection:
        native = self._native
        if native is None or native.closed:
            raise exc.InterfaceError("Cannot operate on a closed connection.")
        return native

    @property
    def closed(self) -> bool:
        """True once the connection is closed (by ``close()`` or after a broken transport)."""
        return self._native is None or self._native.closed

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open (tracked from statements and errors)."""
        native = self._native
        return native is not None and not native.closed and native.in_transaction

    @property
    def isolation_level(self) -> str | None:
        """The mode of the implicit BEGIN, or ``None`` (the default) for none.

        In legacy mode, a non-None level makes INSERT/UPDATE/DELETE/REPLACE outside a
        transaction start one first, as ``sqlite3`` does.
        """
        return self._isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._isolation_level = check_isolation_level(value)

    def _implicit_begin(self, sql: str) -> str | None:
        """The BEGIN to send before ``sql``, if the transaction mode wants one."""
        if (
            self._autocommit == LEGACY_TRANSACTION_CONTROL
            and self._isolation_level is not None
            and is_dml(sql)
            and not self.in_transaction
        ):
            return f"BEGIN {self._isolation_level}".rstrip()
        return None

    def _script_needs_commit(self) -> bool:
        """``executescript`` commits first in legacy mode with an isolation level set."""
        return (
            self._autocommit == LEGACY_TRANSACTION_CONTROL
            and self._isolation_level is not None
            and self.in_transaction
        )


class CursorBase:
    """State and result handling shared by the blocking and asyncio cursors."""

    _result: NativeResult | None
    _converters: list[Callable[[bytes], Any] | None] | None

    def _init(self, connection: ConnectionBase) -> None:
        self._connection = connection
        self._result = None
        self._converters = None
        self._closed = False
        self._has_rows = False
        self.arraysize = 1
        self.description: tuple[DescriptionTuple, ...] | None = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.row_factory: RowFactory | None = connection.row_factory

    def _check(self) -> NativeConnection:
        if self._closed:
            raise exc.InterfaceError("Cannot operate on a closed cursor.")
        return self._connection._conn()

    def _native_for_call(self) -> NativeConnection:
        """Like ``_check``; a connection closed after an error is refused by the call."""
        if self._closed:
            raise exc.InterfaceError("Cannot operate on a closed cursor.")
        native = self._connection._native
        if native is None:
            raise exc.InterfaceError("Cannot operate on a closed connection.")
        return native

    def _reset(self) -> None:
        if self._result is not None:
            self._result.close()
            self._result = None
        self.description = None
        self.rowcount = -1
        self._converters = None
        self._has_rows = False

    def _set_result(self, result: NativeResult) -> None:
        description = result.description
        if description is None:
            self._result = None
            self.description = None
            rowcount = result.rowcount
            self.rowcount = rowcount
            if rowcount >= 0:
                lastrowid = result.lastrowid
                if lastrowid is not None:
                    self.lastrowid = lastrowid
            return
        self._result = result
        self._has_rows = True
        self.rowcount = -1
        if self._connection.detect_types & PARSE_COLNAMES:
            description = self._colname_types(description)
        self.description = description

    def _colname_types(
        self, description: tuple[DescriptionTuple, ...]
    ) -> tuple[DescriptionTuple, ...]:
        """``PARSE_COLNAMES``: strips ``[type]`` from names and picks their converters."""
        converters: list[Callable[[bytes], Any] | None] = []
        entries = []
        for entry in description:
            name = entry[0]
            match = _COLNAME_TYPE.match(name)
            if match is None:
                converters.append(None)
            else:
                name = match.group(1)
                converters.append(CONVERTERS.get(match.group(2).strip().upper()))
            entries.append((name, entry[1], None, None, None, None, None))
        if any(c is not None for c in converters):
            self._converters = converters
        return tuple(entries)

    def _post(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        """Applies converters and the row factory to fetched rows."""
        converters = self._converters
        if converters is not None:
            rows = [
                tuple(
                    v if c is None or v is None else c(converter_input(v))
                    for v, c in zip(row, converters, strict=True)
                )
                for row in rows
            ]
        factory = self.row_factory
        if factory is not None:
            return [factory(self, row) for row in rows]
        return rows

    def _readable(self) -> NativeResult | None:
        """The result to fetch from; ProgrammingError when there is no result set."""
        self._native_for_call()
        if not self._has_rows:
            raise exc.ProgrammingError(
                "no result set to fetch from: no statement was run, or the last one returns no rows"
            )
        return self._result

    def _fetch_size(self, size: int | None) -> int:
        n = self.arraysize if size is None else size
        if not isinstance(n, int) or isinstance(n, bool):
            raise exc.ProgrammingError(f"size must be an int, got {type(n).__name__}")
        return max(n, 0)

    @property
    def connection(self) -> ConnectionBase:
        """The connection this cursor belongs to."""
        return self._connection

    def setinputsizes(self, sizes: object) -> None:
        """Does nothing (PEP 249 allows it)."""

    def setoutputsize(self, size: object, column: object = None) -> None:
        """Does nothing (PEP 249 allows it)."""


def check_executemany_seq(seq: object) -> None:
    """Rejects outer shapes ``executemany`` would iterate by mistake."""
    if isinstance(seq, str | bytes | bytearray | memoryview | dict):
        raise exc.ProgrammingError(
            f"executemany() takes an iterable of parameter sets, not {type(seq).__name__}"
        )


def check_sql(sql: object) -> str:
    """``sql`` as str, or ProgrammingError."""
    if not isinstance(sql, str):
        raise exc.ProgrammingError(f"SQL must be a str, not {type(sql).__name__}")
    return sql
