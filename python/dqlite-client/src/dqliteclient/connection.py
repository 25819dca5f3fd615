"""A session with one dqlite node, for asyncio.

See ``dqliteclient.blocking`` for the blocking form.
"""

import asyncio
import contextlib
import logging
import os
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from dqliteclient._dial import DialFunc
from dqliteclient._failures import ClientFailure
from dqliteclient._session import (
    Row,
    SessionHolder,
    Settings,
    Tracker,
    TypedResult,
    commit_error,
    is_no_transaction_error,
    typed_result,
    validate_params,
)
from dqliteclient._validate import (
    DEFAULT_CLOSE_TIMEOUT_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    check_same_process,
)
from dqliteclient.exceptions import InterfaceError, OperationalError
from dqlitedbapi import _native
from dqlitewire import DEFAULT_MAX_CONTINUATION_FRAMES, DEFAULT_MAX_TOTAL_ROWS, sanitize_for_log

__all__ = ["DqliteConnection", "is_no_transaction_error"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _State:
    """What the unclosed-connection warning reads once the connection is gone."""

    __slots__ = ("address", "closed", "connected", "pid")

    def __init__(self, address: str) -> None:
        self.address = address
        self.connected = False
        self.closed = False
        self.pid = os.getpid()


def _warn_if_unclosed(state: _State) -> None:
    if state.closed or not state.connected or os.getpid() != state.pid:
        return
    warnings.warn(
        f"DqliteConnection(address={sanitize_for_log(state.address)!r}) was garbage-collected "
        "without await close(); call close() to release the socket promptly.",
        ResourceWarning,
        stacklevel=2,
    )


class DqliteConnection(SessionHolder):
    """One session with a dqlite node, one database open on it. One operation at a time.

    Bound to the event loop it first runs on. Statements go to this node as they are
    (no leader discovery: use :meth:`ClusterClient.connect` for the leader). A session
    lost to a transport error, a leader change or a cancelled request is closed for good.
    The session is the Rust client's (``dqlitedbapi._native.NativeSession``).
    """

    def __init__(
        self,
        address: str,
        *,
        database: str = "default",
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        dial_timeout: float | None = None,
        attempt_timeout: float | None = None,
        max_total_rows: int | None = DEFAULT_MAX_TOTAL_ROWS,
        max_continuation_frames: int | None = DEFAULT_MAX_CONTINUATION_FRAMES,
        trust_server_heartbeat: bool = False,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS,
        dial_func: DialFunc | None = None,
        max_message_size: int | None = None,
    ) -> None:
        """Checks the settings; nothing is dialed before :meth:`connect`.

        ``timeout`` bounds each request, ``dial_timeout`` (default ``timeout``) the dial,
        ``attempt_timeout`` (default ``timeout``) dial, handshake and OPEN together.
        ``max_total_rows`` and ``max_continuation_frames`` cap a result (None: no cap);
        ``max_message_size`` caps one frame. ``trust_server_heartbeat`` is accepted and
        has no effect (requests have their own deadlines). ``dial_func(address)`` opens
        the connection (see :mod:`dqliteclient._dial`).
        """
        self._settings = Settings.check(
            address,
            database=database,
            timeout=timeout,
            dial_timeout=dial_timeout,
            attempt_timeout=attempt_timeout,
            max_total_rows=max_total_rows,
            max_continuation_frames=max_continuation_frames,
            trust_server_heartbeat=trust_server_heartbeat,
            close_timeout=close_timeout,
            dial_func=dial_func,
            max_message_size=max_message_size,
        )
        self._session: _native.NativeSession | None = None
        self._tracker = Tracker()
        self._busy = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._state = _State(address)
        self._finalizer = weakref.finalize(self, _warn_if_unclosed, self._state)

    @classmethod
    def _adopt(cls, session: _native.NativeSession, settings: Settings) -> "DqliteConnection":
        """A connection over an open session (a pool's checkout)."""
        conn = cls.__new__(cls)
        conn._settings = settings
        conn._session = session
        conn._tracker = Tracker()
        conn._busy = False
        conn._loop = None
        conn._state = _State(settings.address)
        conn._state.connected = True
        conn._finalizer = weakref.finalize(conn, _warn_if_unclosed, conn._state)
        return conn

    # The reference's name for the parameter check (its tests call it).
    _validate_params = staticmethod(validate_params)

    # -- state ----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` or :meth:`terminate` ran."""
        return self._state.closed

    @property
    def _in_transaction(self) -> bool:
        return self._tracker.in_transaction

    def __repr__(self) -> str:
        status = "closed" if self.closed else "connected" if self._session else "disconnected"
        return (
            f"<DqliteConnection address={sanitize_for_log(self.address)!r} "
            f"database={self._settings.database!r} {status} at 0x{id(self):x}>"
        )

    # -- guards ---------------------------------------------------------------------

    def _check_usable(self) -> None:
        check_same_process(self._state.pid, "Connection")
        if self._state.closed:
            raise InterfaceError(f"Connection is closed (id={id(self)})")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise InterfaceError(
                "DqliteConnection is bound to a different event loop; do not share "
                "connections across loops or threads"
            )

    @contextlib.contextmanager
    def _operation(self) -> Iterator[None]:
        self._check_usable()
        if self._busy:
            raise InterfaceError(
                "Cannot perform operation: another operation is in progress on this "
                "connection. DqliteConnection does not support concurrent access; "
                "use one connection per task or a ConnectionPool."
            )
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    # -- lifecycle ------------------------------------------------------------------

    async def connect(self) -> None:
        """Dials the node, handshakes and opens the database. Does nothing if connected."""
        with self._operation():
            if self._session is not None:
                return
            try:
                session = await self._settings.open(asynchronous=True)
            except ClientFailure as failure:
                raise self._settings.connect_error(failure) from None
            self._session = session
            self._state.connected = True
            logger.debug(
                "connected to %s (database=%r)",
                sanitize_for_log(self.address),
                self._settings.database,
            )

    def terminate(self) -> None:
        """Closes the session at once, cutting off a running request; never raises.

        The request (another task's) raises ``DqliteConnectionError``.
        """
        self._state.closed = True
        self._finalizer.detach()
        self._invalidate()

    async def close(self) -> None:
        """Closes the connection. Idempotent.

        A request running meanwhile (another task's) is cut off: it raises
        ``DqliteConnectionError`` ("Connection closed while an operation was in flight", or,
        for a write already sent, that its outcome is unknown), and ``close()`` waits at
        most ``close_timeout`` seconds for it to end.
        """
        self._state.closed = True
        self._finalizer.detach()
        running = self._invalidate()
        if running is not None and os.getpid() == self._state.pid:
            await running.wait_closed(self._settings.close_timeout)

    def _detach(self) -> "_native.NativeSession | None":
        """Takes the session out (a pool gives it back); this object is closed after."""
        session, self._session = self._session, None
        self._state.closed = True
        self._finalizer.detach()
        return session

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        try:
            await self.close()
        except Exception:
            if exc_val is None:
                raise
            logger.debug("close failed while %s was raised", type(exc_val).__name__, exc_info=True)

    # -- requests -------------------------------------------------------------------

    async def _run(
        self, call: Callable[[_native.NativeSession], Awaitable[T]], sql: str | None = None
    ) -> T:
        with self._request(sql) as session:
            return await call(session)

    async def execute(self, sql: str, params: Sequence[Any] | None = None) -> tuple[int, int]:
        """Runs a statement (or several); returns ``(last_insert_id, rows_affected)``."""
        validate_params(params)
        result: tuple[int, int] = await self._run(lambda s: s.execute(sql, params), sql)
        self._tracker.after_success(sql)
        return result

    async def query_raw(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> tuple[list[str], list[Row]]:
        """Runs a query; returns ``(column_names, rows)``, rows as lists."""
        columns, _, _, rows = await self.query_raw_typed(sql, params)
        return columns, rows

    async def query_raw_typed(self, sql: str, params: Sequence[Any] | None = None) -> TypedResult:
        """Runs a query; returns ``(column_names, column_types, row_types, rows)``.

        ``column_types`` are the wire type codes of the first row's cells, ``row_types``
        those of each row.
        """
        validate_params(params)
        caps = self._settings.query_caps()
        raw = await self._run(lambda s: s.query(sql, params, **caps))
        return typed_result(raw)

    async def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Runs a query; returns its rows as dicts keyed by column name."""
        columns, rows = await self.query_raw(sql, params)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    async def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[Row]:
        """Runs a query; returns its rows as lists."""
        _, rows = await self.query_raw(sql, params)
        return rows

    async def fetchone(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> dict[str, Any] | None:
        """The first row as a dict, or None (the whole result is still read: add LIMIT)."""
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        _, rows = await self.query_raw(sql, params)
        return rows[0][0] if rows and rows[0] else None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """BEGIN on entry; COMMIT when the block ends, ROLLBACK when it raises.

        A COMMIT answered with leadership lost (or another answer that leaves it in doubt:
        a failed disk write, a node shutting down) raises :class:`AmbiguousCommitError`:
        the transaction may or may not have been applied. A COMMIT the server refuses is
        rolled back before its error is raised: the transaction never outlives the block.
        """
        if self._tracker.in_transaction:
            raise InterfaceError("Nested transactions are not supported; use SAVEPOINT directly")
        await self.execute("BEGIN")
        try:
            yield
        except BaseException:
            await self._rollback_after()
            raise
        try:
            await self.execute("COMMIT")
        except OperationalError as exc:
            ambiguous = commit_error(exc)
            if ambiguous is not exc:
                raise ambiguous from exc
            # Refused (a deferred constraint, a busy database): SQLite keeps the
            # transaction open, and the block must not leave it so.
            if self.is_connected:
                await self._rollback_after()
            raise

    async def _rollback_after(self) -> None:
        try:
            await self.execute("ROLLBACK")
        except asyncio.CancelledError:
            self._invalidate()
            raise
        except OperationalError as exc:
            if not is_no_transaction_error(exc):
                logger.debug("transaction rollback failed", exc_info=True)
                self._invalidate()
        except Exception:
            logger.debug("transaction rollback failed", exc_info=True)
            self._invalidate()
