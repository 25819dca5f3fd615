"""The connection, :class:`AsyncConnection`, and :func:`aconnect`.

asyncio: a connection's socket lives on the event loop it was opened on (use it from that
loop only): requests are written when a method is called and answers are read when the
loop sees the socket readable, with no thread in between. Calls from several tasks on one
connection are serialised. A call whose task is cancelled (``asyncio.timeout``,
``wait_for``, ``task.cancel()``) closes the connection, as its request may be half done:
open a new one (a pool does). A statement cancelled while it still waits for another
task's statement is only skipped: nothing of it was sent, and the connection goes on.

Source of :mod:`dqlitedbapi.connection`, which ``tools/async_to_sync.py`` generates from
this file: edit this one, then run the tool.
"""

from __future__ import annotations

import contextlib
from asyncio import CancelledError, Future, get_running_loop
from collections.abc import AsyncIterator, Iterable, Sequence
from types import TracebackType
from typing import Self, TypeVar

from dqlitedbapi import exceptions as exc
from dqlitedbapi._common import ConnectionBase
from dqlitedbapi._native import NativeConnection, NativeResult
from dqlitedbapi._options import (
    DEFAULT_CLOSE_TIMEOUT_SECONDS,
    DEFAULT_MAX_CONTINUATION_FRAMES,
    DEFAULT_MAX_TOTAL_ROWS,
    DialFunc,
    Options,
    validate_session_mode,
)
from dqlitedbapi._target import Target, TLSArgument
from dqlitedbapi.aio.cursor import AsyncCursor, Parameters

__all__ = ["AsyncConnection", "aconnect"]

_T = TypeVar("_T")  # ASYNC


class AsyncConnection(ConnectionBase):
    """A PEP 249 connection to the leader of a dqlite cluster, with one database open.

    The connection opens on first use, or with :meth:`connect`. Statements autocommit
    unless a transaction is opened with BEGIN (a bare BEGIN is qualified by the session
    mode: ``BEGIN IMMEDIATE`` by default). The GIL is released while waiting for the
    network.
    """

    def __init__(
        self,
        address: str | Sequence[str],
        *,
        database: str | None = None,
        timeout: float | None = None,
        max_total_rows: int | None = DEFAULT_MAX_TOTAL_ROWS,
        max_continuation_frames: int | None = DEFAULT_MAX_CONTINUATION_FRAMES,
        max_message_size: int | None = None,
        trust_server_heartbeat: bool = False,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS,
        dial_timeout: float | None = None,
        attempt_timeout: float | None = None,
        dial_func: DialFunc | None = None,
        busy_timeout: float | None = None,
        check_same_thread: bool = True,
        session_mode: str | None = None,
        tls: TLSArgument = None,
        isolation_level: str | None = None,
        autocommit: bool | int = True,
        detect_types: int = 0,
    ) -> None:
        """A connection to the cluster at ``address``; see :func:`dqlitedbapi.connect`."""
        target = Target.of(
            address,
            database=database,
            timeout=timeout,
            busy_timeout=busy_timeout,
            dial_timeout=dial_timeout,
            tls=tls,
        )
        options = Options.of(
            timeout=target.timeout,
            busy_timeout=target.busy_timeout,
            dial_timeout=target.dial_timeout,
            attempt_timeout=attempt_timeout,
            close_timeout=close_timeout,
            max_total_rows=max_total_rows,
            max_continuation_frames=max_continuation_frames,
            max_message_size=max_message_size,
            trust_server_heartbeat=trust_server_heartbeat,
            check_same_thread=check_same_thread,
            session_mode=session_mode,
            dial_func=dial_func,
        )
        self._setup(
            address,
            target,
            options,
            isolation_level=isolation_level,
            autocommit=autocommit,
            detect_types=detect_types,
        )

    async def _open(self) -> NativeConnection:
        """The connection to the cluster, opened now when it was not yet."""
        self._check_open()
        native = self._native
        if native is not None:
            return native
        if True:  # ASYNC
            native = await NativeConnection.connect_async(
                self._seeds,
                self.database,
                self._timeout,
                **self._native_options(get_running_loop()),
            )
            self._bind_loop(get_running_loop())
        else:
            self._check_thread()
            native = NativeConnection.connect(
                self._seeds,
                self.database,
                self._timeout,
                same_thread=self._options.check_same_thread,
                **self._native_options(None),
            )
        if self._session_mode == "read_only":
            try:
                await self._set_query_only(native, True)
            except BaseException:
                native.close()
                raise
        return self._opened(native)

    async def _set_query_only(self, native: NativeConnection, on: bool) -> None:
        """``PRAGMA query_only``: the ``read_only`` session mode on the server."""
        sql = f"PRAGMA query_only = {int(on)}"
        if True:  # ASYNC
            answer = native.aexecute(sql)
            if not isinstance(answer, NativeResult):
                if native is self._native:
                    await self._call(answer)
                else:
                    await answer  # still opening: _open closes it on failure
        else:
            native.execute(sql)

    async def _call(self, pending: Future[_T]) -> _T:  # ASYNC
        """Awaits a statement call of the native core; a cancelled call closes the connection.

        Once started, the call goes on without its awaiter (a COMMIT cut off may still
        commit): nothing on this connection could tell afterwards how it ended, so the
        connection is given up. A call cancelled while it still waited for another task's
        call is never started: the connection, and the other task's call, go on.
        """
        calls = self._calls
        calls.append(pending)
        try:
            return await pending
        except CancelledError:
            if not self._queued_behind(pending):
                self._invalidate()
            raise
        finally:
            calls.remove(pending)

    async def connect(self) -> None:
        """Opens the connection now, instead of on first use."""
        await self._open()

    def cursor(self, factory: type[AsyncCursor] | None = None) -> AsyncCursor:
        """A new cursor."""
        self._check_open()
        return (factory or AsyncCursor)(self)

    async def execute(self, sql: str, parameters: Parameters = (), /) -> AsyncCursor:
        """Runs a statement on a new cursor and returns it."""
        return await self.cursor().execute(sql, parameters)

    async def executemany(
        self, sql: str, seq_of_parameters: Iterable[Parameters], /
    ) -> AsyncCursor:
        """Runs ``executemany`` on a new cursor and returns it."""
        return await self.cursor().executemany(sql, seq_of_parameters)

    async def executescript(self, sql_script: str, /) -> AsyncCursor:
        """Runs a script on a new cursor and returns it."""
        return await self.cursor().executescript(sql_script)

    async def commit(self) -> None:
        """Commits the open transaction; does nothing without one."""
        self._check_open()
        self._check_no_context_transaction("commit")
        native = self._native
        if native is not None:
            if True:  # ASYNC
                await self._call(native.aend_transaction(True))
            else:
                native.end_transaction(True)

    async def rollback(self) -> None:
        """Rolls the open transaction back; does nothing without one."""
        self._check_open()
        self._check_no_context_transaction("rollback")
        native = self._native
        if native is not None:
            if True:  # ASYNC
                await self._call(native.aend_transaction(False))
            else:
                native.end_transaction(False)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """BEGIN on entry; COMMIT when the block ends, ROLLBACK when it raises.

        Inside, ``commit()``, ``rollback()`` and a nested ``transaction()`` raise
        InterfaceError (use SAVEPOINT to nest). A COMMIT that fails (a deferred constraint,
        a busy database) is rolled back before its error is raised: the transaction does
        not outlive the block.
        """
        self._check_open()
        if self._in_ctx_transaction:
            raise exc.InterfaceError("Nested transaction() blocks are not supported; use SAVEPOINT")
        await self.cursor().execute("BEGIN")
        self._in_ctx_transaction = True
        try:
            yield
        except BaseException:
            self._in_ctx_transaction = False
            await self._roll_back_or_close()
            raise
        self._in_ctx_transaction = False
        try:
            await self.commit()
        except Exception:
            # Refused, the COMMIT leaves the transaction open on the server, where the
            # statements after the block would run.
            await self._roll_back_or_close()
            raise

    async def _roll_back_or_close(self) -> None:
        """Rolls back a failed ``transaction()`` block, or closes the connection.

        A ROLLBACK that fails too leaves the connection closed, which ends the transaction
        on the server.
        """
        if not self.closed:
            try:
                await self.rollback()
            except Exception:
                self.force_close_transport()

    async def set_session_mode(self, mode: str) -> None:
        """Changes the session mode (not inside a transaction); see ``SESSION_MODES``."""
        try:
            mode = validate_session_mode(mode)
        except (TypeError, ValueError) as e:
            raise exc.ProgrammingError(str(e)) from e
        self._check_open()
        if mode == self._session_mode:
            return
        native = self._native
        if native is not None:
            if native.in_transaction:
                raise exc.InterfaceError("set_session_mode() cannot be called inside a transaction")
            if (self._session_mode == "read_only") != (mode == "read_only"):
                await self._set_query_only(native, mode == "read_only")
        self._session_mode = mode

    async def close(self) -> None:
        """Closes the connection (the server rolls back an open transaction). Idempotent.

        A call running on the connection meanwhile, on another thread, is interrupted: its
        socket is shut down (over TLS too), the call raises InterfaceError
        (OutcomeUnknownError for a write already sent, whose outcome is unknown), and
        ``close()`` waits at most ``close_timeout`` seconds for it to end; the connection
        is closed for good.

        asyncio: a call running on another event loop is interrupted the same way, without
        waiting for it.
        """
        self._closed = True
        self._lost = False
        native, self._native = self._native, None
        if native is None:
            return
        if True:  # ASYNC
            # Closed already, or from another event loop: nothing to wait for.
            if native.closed or self._loop is not get_running_loop():
                native.close()
            else:
                await native.aclose()
        else:
            # A call running on another thread fails at once; close_timeout bounds the
            # wait for it to end.
            native.close(self._options.close_timeout)

    async def aclose(self) -> None:  # ASYNC
        """Closes the connection (as ``close()``, for ``contextlib.aclosing``)."""
        await self.close()

    async def __aenter__(self) -> Self:
        """The connection itself."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Commits, or rolls back on an exception; does not close (``sqlite3`` semantics).

        As in ``sqlite3``, a commit that fails (a deferred constraint, a busy database) is
        rolled back before its error is raised: the transaction does not outlive the block.
        """
        if self.closed:
            return
        if exc_type is not None:
            await self.rollback()
            return
        try:
            await self.commit()
        except Exception:
            if not self.closed:
                await self.rollback()
            raise


def refuse_sqlite3_keywords(keywords: dict[str, object]) -> None:
    """NotSupportedError for ``sqlite3.connect`` keywords this driver does not take."""
    if keywords:
        raise exc.NotSupportedError(
            f"connect() does not support the sqlite3 keyword(s) {sorted(keywords)}"
        )


async def aconnect(
    address: str | Sequence[str],
    *,
    database: str | None = None,
    timeout: float | None = None,
    max_total_rows: int | None = DEFAULT_MAX_TOTAL_ROWS,
    max_continuation_frames: int | None = DEFAULT_MAX_CONTINUATION_FRAMES,
    max_message_size: int | None = None,
    trust_server_heartbeat: bool = False,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS,
    dial_timeout: float | None = None,
    attempt_timeout: float | None = None,
    dial_func: DialFunc | None = None,
    busy_timeout: float | None = None,
    check_same_thread: bool = True,
    session_mode: str | None = None,
    tls: TLSArgument = None,
    isolation_level: str | None = None,
    autocommit: bool | int = True,
    detect_types: int = 0,
    **sqlite3_keywords: object,
) -> AsyncConnection:
    """A connection to a dqlite cluster; ``database`` is created on first use.

    ``address`` is ``"host:port"``, several of them comma-separated, a list of them, or a
    connection string: ``"dqlite://host:port,host:port/database?timeout=5&tls_cert=..."``
    or ``"file://NODE-STORE"`` (go-dqlite's node store); the leader is found among the
    nodes. What neither the keyword arguments nor the string give comes from the
    ``DQLITE_*`` environment variables (``DQLITE_SERVERS``, ``DQLITE_DATABASE``,
    ``DQLITE_TIMEOUT``, ``DQLITE_TLS_CERT``...), then from the defaults: keywords win over
    the string, the string over the environment. ``database`` defaults to ``"default"``.

    ``timeout`` (seconds, default 10) bounds finding the leader and each network wait
    afterwards; ``dial_timeout`` and ``attempt_timeout`` bound one attempt to reach a
    node. ``busy_timeout`` (default 5) is how long "database is locked" answers are
    retried. ``tls`` is a :class:`dqlitedbapi.TLSConfig` (certificates from files or
    bytes), False for no TLS whatever the string or environment say, or None (as they
    say); an ``ssl.SSLContext`` raises NotSupportedError. ``session_mode`` (default
    ``$DQLITE_SESSION_MODE``, else ``immediate``) says what a bare BEGIN becomes, or
    ``read_only``. ``check_same_thread`` (blocking connections) confines the connection to
    the thread that created it. ``max_message_size`` caps a response frame;
    ``max_total_rows`` (default 10,000,000) and ``max_continuation_frames`` (100,000) cap
    the rows one query may return and the frames they come in (the fetch that goes over
    raises OperationalError; None: no cap).
    ``isolation_level`` and ``autocommit`` are accepted for ``sqlite3`` parity; other
    ``sqlite3`` keywords raise NotSupportedError. ``detect_types=PARSE_COLNAMES`` enables
    converters registered with :func:`dqlitedbapi.register_converter`.
    """
    refuse_sqlite3_keywords(sqlite3_keywords)
    connection = AsyncConnection(
        address,
        database=database,
        timeout=timeout,
        max_total_rows=max_total_rows,
        max_continuation_frames=max_continuation_frames,
        max_message_size=max_message_size,
        trust_server_heartbeat=trust_server_heartbeat,
        close_timeout=close_timeout,
        dial_timeout=dial_timeout,
        attempt_timeout=attempt_timeout,
        dial_func=dial_func,
        busy_timeout=busy_timeout,
        check_same_thread=check_same_thread,
        session_mode=session_mode,
        tls=tls,
        isolation_level=isolation_level,
        autocommit=autocommit,
        detect_types=detect_types,
    )
    await connection.connect()  # ASYNC
    return connection
