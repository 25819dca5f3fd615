"""The logic the blocking and asyncio classes share: everything but waiting.

The connection and cursor classes of :mod:`dqlitedbapi` and :mod:`dqlitedbapi.aio` derive
from the bases here and add only their blocking or awaitable methods.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import threading
from collections.abc import Callable, Sequence, Sized
from typing import Any, Final

from dqlitedbapi import _options
from dqlitedbapi import exceptions as exc
from dqlitedbapi._adapt import CONVERTERS, PARSE_COLNAMES, converter_input
from dqlitedbapi._dial import native_dialer
from dqlitedbapi._native import NativeConnection, NativeResult
from dqlitedbapi._stubs import UnsupportedCursorApi, UnsupportedSqlite3Api
from dqlitedbapi._target import Target

LEGACY_TRANSACTION_CONTROL: Final = -1
"""``autocommit`` value for ``sqlite3``'s legacy behaviour, driven by ``isolation_level``."""

_ISOLATION_LEVELS: Final = frozenset({"", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
_COLNAME_TYPE: Final = re.compile(r"^(.*?)\s*\[([^\]]+)\]\s*$")
_QUICK_ANSWERS: Final = 32
"""How many asyncio calls answered at once may skip the loop's turn before one takes it."""

DescriptionTuple = tuple[str, Any, None, None, None, None, None]
"""One entry of ``Cursor.description``: name, type code, then five ``None``."""

RowFactory = Callable[[Any, tuple[Any, ...]], Any]
"""``row_factory(cursor, row)``, as in ``sqlite3``."""


def check_isolation_level(level: object) -> str | None:
    """An ``isolation_level`` value, upper-cased; accepted for ``sqlite3`` parity, no effect.

    dqlite has one isolation level (SERIALIZABLE) and statements autocommit unless a
    transaction is opened with BEGIN, as in the pure-Python ``dqlite-dbapi``.
    """
    if level is None:
        return None
    if not isinstance(level, str) or level.upper() not in _ISOLATION_LEVELS:
        raise exc.ProgrammingError(
            f"isolation_level must be None or one of {sorted(_ISOLATION_LEVELS)!r}; got "
            f"{level!r}. dqlite has a single isolation level (SERIALIZABLE)."
        )
    return level.upper()


def check_autocommit(value: object) -> bool | int:
    """An ``autocommit`` value: True, or ``LEGACY_TRANSACTION_CONTROL``; both mean the same."""
    if value is True:
        return True
    if value.__class__ is int and value == LEGACY_TRANSACTION_CONTROL:
        return LEGACY_TRANSACTION_CONTROL
    raise exc.NotSupportedError(
        "dqlite is autocommit-by-default; autocommit cannot be turned off. "
        "Use explicit BEGIN / COMMIT to group statements."
    )


class ListResult:
    """A result held in a list: ``PRAGMA busy_timeout``, or ``executemany`` RETURNING rows.

    The same reading interface as the native result.
    """

    def __init__(
        self, description: tuple[DescriptionTuple, ...], rows: list[tuple[Any, ...]], rowcount: int
    ) -> None:
        self.description: tuple[DescriptionTuple, ...] | None = description
        self.rows = rows
        self.rowcount = rowcount
        self.rownumber: int | None = 0
        self.lastrowid: int | None = None

    def fetch(self, n: int = -1) -> list[tuple[Any, ...]]:
        start = self.rownumber or 0
        end = len(self.rows) if n < 0 else min(start + n, len(self.rows))
        self.rownumber = end
        return self.rows[start:end]

    afetch = fetch

    def close(self) -> None:
        self.rows = []


class ConnectionBase(UnsupportedSqlite3Api):
    """State and rules shared by :class:`dqlitedbapi.Connection` and the asyncio one.

    The connection to the cluster opens on first use (or with ``connect()``); until then
    ``_native`` is None.
    """

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
    OutcomeUnknownError = exc.OutcomeUnknownError
    AmbiguousCommitError = exc.OutcomeUnknownError

    _native: NativeConnection | None
    _isolation_level: str | None
    _autocommit: bool | int

    def _setup(
        self,
        address: str | Sequence[str],
        target: Target,
        options: _options.Options,
        *,
        isolation_level: str | None,
        autocommit: bool | int,
        detect_types: int,
    ) -> None:
        self._seeds = target.seeds
        database = target.database
        if not isinstance(database, str) or not database or database != database.strip():
            raise exc.ProgrammingError(
                "database must be a non-empty string without surrounding whitespace"
            )
        self._options = options
        self._target = target
        self._timeout = options.timeout
        self._busy_timeout = options.busy_timeout
        self._session_mode = options.session_mode
        self._native = None
        self._closed = False
        self._lost = False
        self._in_ctx_transaction = False
        self._isolation_level = check_isolation_level(isolation_level)
        self._autocommit = check_autocommit(autocommit)
        self.detect_types = detect_types
        self.row_factory: RowFactory | None = None
        self._address = address
        self.database = database
        self.messages: list[tuple[type[Exception], Exception]] = []
        self._thread = threading.get_ident()
        self._loop: asyncio.AbstractEventLoop | None = None
        # The loop's queue of ready callbacks, where it has one (see ready_callbacks), and
        # the asyncio calls answered at once since the loop last had a turn for that (see
        # _turn_due).
        self._ready: Sized | None = None
        self._quick_answers = 0
        # asyncio: the statement calls awaited on this connection, in the order they were
        # made (see queued_behind).
        self._calls: list[asyncio.Future[Any]] = []

    def _bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """An asyncio connection is opened on ``loop``, and used from it only."""
        self._loop = loop
        self._ready = ready_callbacks(loop)

    def _turn_due(self) -> bool:
        """Whether an asyncio call answered at once gives the event loop a turn now.

        An answer already there when the call returns (a quick statement, rows that
        arrive faster than they are read) needs no wait. The loop gets the turn a wait
        would have given it when a callback is ready to run in it (say, another task's
        step: its call on the same cursor is then refused, as it is otherwise), when its
        queue is unknown (a loop other than asyncio's own), and after _QUICK_ANSWERS such
        answers (timers, cancellation and I/O run then). Else a turn would run nothing
        before the caller goes on, and is skipped.
        """
        ready = self._ready
        quick = self._quick_answers
        if ready is None or ready or quick >= _QUICK_ANSWERS:
            self._quick_answers = 0
            return True
        self._quick_answers = quick + 1
        return False

    def _check_loop(self) -> None:
        """An asyncio connection is used from the event loop it was opened on only."""
        # Only one loop runs in a thread at a time, and the native core checks the thread:
        # the connection's loop running means it is the running one. (Cheaper than
        # get_running_loop(), which makes a system call on Python 3.11.)
        loop = self._loop
        if loop is not None and not loop.is_running():
            if loop.is_closed():
                raise exc.connection_closed(
                    "Cannot operate on a closed connection: it is bound to a different event "
                    "loop, and its event loop was closed"
                )
            raise exc.InterfaceError(
                "the connection is bound to a different event loop: connections cannot be "
                "shared across event loops or asyncio.run() calls"
            )

    def _native_options(self, loop: asyncio.AbstractEventLoop | None) -> dict[str, Any]:
        """The native connection's keyword arguments; ``loop``: an asyncio connection's."""
        options = self._options
        dialer = None
        if options.dial_func is not None:
            dial_timeout = options.dial_timeout or min(self._timeout, 5.0)
            dialer = native_dialer(options.dial_func, loop, dial_timeout)
        return {
            "dialer": dialer,
            "busy_timeout": self._busy_timeout,
            "dial_timeout": options.dial_timeout,
            "connect_timeout": self._target.connect_timeout,
            "max_message_size": options.max_message_size,
            "tls": self._target.tls,
            "max_total_rows": options.max_total_rows,
            "max_continuation_frames": options.max_continuation_frames,
        }

    def _check_thread(self) -> None:
        """``check_same_thread``: only the creating thread may use a blocking connection."""
        if self._options.check_same_thread and threading.get_ident() != self._thread:
            raise exc.ProgrammingError(
                "dqlitedbapi objects created in a thread can only be used in that same thread. "
                f"The object was created in thread id {self._thread} and this is thread id "
                f"{threading.get_ident()}."
            )

    def _queued_behind(self, call: asyncio.Future[Any]) -> bool:
        """Whether the asyncio statement ``call`` still waits for an earlier call to end.

        The native core runs a connection's calls one at a time, in the order they were
        made, and skips a call that nobody awaits any more when its turn comes: a call
        cancelled while an earlier one has not ended was never started, and never will be.
        """
        for earlier in self._calls:
            if earlier is call:
                return False
            if not earlier.done():
                return True
        return False

    def _invalidate(self) -> None:
        """The connection may be out of step (a call was cancelled): it is closed."""
        self._closed = True
        self._lost = True
        native = self._native
        if native is not None:
            with contextlib.suppress(Exception):
                native.close()

    @property
    def session_mode(self) -> str:
        """The session mode: ``immediate``, ``deferred``, ``exclusive`` or ``read_only``."""
        return self._session_mode

    @property
    def default_session_mode(self) -> str:
        """The session mode given to ``connect()`` (what a pool resets to)."""
        return self._options.session_mode

    @property
    def busy_timeout(self) -> float:
        """Seconds "database is locked" answers are retried (0: not retried).

        A change (or ``PRAGMA busy_timeout = N``) applies from the next statement on.
        """
        return self._busy_timeout

    @busy_timeout.setter
    def busy_timeout(self, value: float) -> None:
        seconds = _options.check_busy_timeout(value)
        native = self._native
        if native is not None:
            native.set_busy_timeout(seconds)
        self._busy_timeout = seconds

    @property
    def max_total_rows(self) -> int | None:
        """The most rows one query may return (None: no limit)."""
        return self._options.max_total_rows

    def _check_no_context_transaction(self, verb: str) -> None:
        if self._in_ctx_transaction:
            raise exc.InterfaceError(
                f"{verb}() cannot be called inside transaction(); the context manager "
                "owns the transaction boundaries"
            )

    def force_close_transport(self) -> None:
        """Closes the connection at once, without waiting for a running call. Never raises."""
        self._closed = True
        native, self._native = self._native, None
        if native is not None:
            with contextlib.suppress(Exception):
                native.close()

    def _conn(self) -> NativeConnection:
        """The open connection; InterfaceError when closed (or not opened yet)."""
        native = self._native
        if native is None or native.closed:
            raise exc.connection_closed()
        return native

    def _check_open(self) -> None:
        if self._closed:
            raise exc.connection_closed()

    def _opened(self, native: NativeConnection) -> NativeConnection:
        """Keeps ``native`` as the connection, unless another call opened one meanwhile."""
        current = self._native
        if current is not None or self._closed:
            native.close()
            if current is None:
                raise exc.connection_closed()
            return current
        self._native = native
        return native

    @property
    def address(self) -> str | Sequence[str]:
        """The address given to ``connect()``."""
        return self._address

    @property
    def closed(self) -> bool:
        """True once the connection is closed (by ``close()`` or after a broken transport)."""
        native = self._native
        return self._closed or (native is not None and native.closed)

    @property
    def invalidated(self) -> bool:
        """True when the connection was lost (transport error, leader change), not closed."""
        native = self._native
        return self._lost or (not self._closed and native is not None and native.closed)

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open (tracked from statements and errors)."""
        native = self._native
        return native is not None and not native.closed and native.in_transaction

    @property
    def text_factory(self) -> type[str]:
        """Always ``str``: TEXT values come back as ``str``."""
        return str

    @text_factory.setter
    def text_factory(self, value: object) -> None:
        # sqlite3 hands TEXT to another factory as bytes; the driver decodes it natively, so
        # a factory would be ignored, silently: refused, as dqlite-dbapi 0.8 does.
        if value is not str:
            raise exc.NotSupportedError(
                "text_factory is not supported: TEXT is always returned as str (read text "
                "that is not UTF-8 as a blob, with CAST(x AS BLOB))"
            )

    @property
    def isolation_level(self) -> str | None:
        """Accepted for ``sqlite3`` parity (None or a BEGIN mode); has no effect."""
        return self._isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._isolation_level = check_isolation_level(value)

    @property
    def autocommit(self) -> bool | int:
        """Always on: True (default) or ``LEGACY_TRANSACTION_CONTROL``; False is refused."""
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool | int) -> None:
        self._autocommit = check_autocommit(value)


class CursorBase(UnsupportedCursorApi):
    """State and result handling shared by the blocking and asyncio cursors."""

    _result: NativeResult | ListResult | None
    _converters: list[Callable[[bytes], Any] | None] | None

    def _init(self, connection: ConnectionBase) -> None:
        self._connection = connection
        self._result = None
        self._spent: NativeResult | ListResult | None = None
        self._converters = None
        self._closed = False
        self._executing = False
        self.arraysize = 1
        self.description: tuple[DescriptionTuple, ...] | None = None
        self._rowcount = -1
        self.lastrowid: int | None = None
        self.completed_iterations = 0
        # The last text run that the driver does not handle itself (see execute()).
        self._plain: str | None = None
        self.row_factory: RowFactory | None = connection.row_factory
        self.messages: list[tuple[type[Exception], Exception]] = []

    @property
    def rowcount(self) -> int:
        """Rows changed by the last DML statement, or returned by the last query.

        A query's rows are counted once the whole result was received (at once for a
        result of one frame, else when the last row was read); -1 before that, for PRAGMA,
        and without a statement.
        """
        count = self._rowcount
        if count < 0 and self.description is not None:
            result = self._result if self._result is not None else self._spent
            if result is not None:
                count = result.rowcount
                self._rowcount = count
        return count

    @rowcount.setter
    def rowcount(self, value: int) -> None:
        self._rowcount = value

    @property
    def closed(self) -> bool:
        """True once the cursor (or its connection) is closed."""
        return self._closed or self._connection._closed

    @property
    def rownumber(self) -> int | None:
        """Rows fetched from the current result so far; None without a result set."""
        if self.description is None:
            return None
        result = self._result if self._result is not None else self._spent
        return None if result is None else result.rownumber

    def _reset(self) -> None:
        # The cursors' execute() inlines this (their hottest path): keep them in step.
        if self._result is not None:
            self._result.close()
            self._result = None
        self._spent = None
        self.description = None
        self._rowcount = -1
        self.completed_iterations = 0
        self._converters = None

    def _set_result(self, result: NativeResult | ListResult) -> None:
        description = result.description
        if description is None:
            self._result = None
            self.description = None
            rowcount = result.rowcount
            self._rowcount = rowcount
            if rowcount >= 0:
                lastrowid = result.lastrowid
                if lastrowid is not None:
                    self.lastrowid = lastrowid
            return
        self._result = result
        if self._connection.detect_types & PARSE_COLNAMES:
            description = self._colname_types(description)
            converters = self._converters
            if converters is not None and isinstance(result, NativeResult):
                # A converter gets the value as stored, not the datetime made of it.
                result.raw_columns([c is not None for c in converters])
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

    def _raw_columns(self, description: tuple[DescriptionTuple, ...]) -> list[bool] | None:
        """``PARSE_COLNAMES``: which columns a converter reads (None: none), to be read raw."""
        if not self._connection.detect_types & PARSE_COLNAMES:
            return None
        self._colname_types(description)
        converters = self._converters
        return None if converters is None else [c is not None for c in converters]

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

    def _readable(self) -> NativeResult | ListResult | None:
        """The result to fetch from; None when there is none (fetches then return nothing)."""
        if self._closed:
            raise exc.InterfaceError("Cannot operate on a closed cursor.")
        # close() makes a connection's cursors unusable, with a result or without (as
        # dqlite-dbapi 0.8 and sqlite3); after a lost connection (a cancelled call), one
        # without a result fetches nothing (as 0.8).
        result = self._result
        connection = self._connection
        if result is not None or not connection._lost:
            connection._check_open()
        return result

    def _fetch_size(self, size: int | None) -> int:
        n = self.arraysize if size is None else size
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise exc.ProgrammingError(f"fetchmany size must be a non-negative int, got {n!r}")
        return n

    def _finished(self, result: NativeResult | ListResult) -> None:
        """The result was read to its end: its row count is known now."""
        self._result = None
        self._spent = result

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


def ready_callbacks(loop: asyncio.AbstractEventLoop) -> Sized | None:
    """The queue of callbacks ``loop`` runs on its next turn, or None if unknown.

    asyncio's own loops (``BaseEventLoop``: the selector and proactor loops) keep it in
    ``_ready`` for their whole life; other loops (uvloop) are None here. With nothing
    in it, a turn of the loop would run nothing before the task that takes it goes on
    (but the loop's own poll): see ``ConnectionBase._turn_due``.
    """
    ready = getattr(loop, "_ready", None)
    return ready if isinstance(ready, collections.deque) else None


def check_sql(sql: object) -> str:
    """``sql`` as str, or ProgrammingError."""
    if not isinstance(sql, str):
        raise exc.ProgrammingError(f"SQL must be a str, not {type(sql).__name__}")
    return sql
