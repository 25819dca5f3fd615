# Generated from src/dqlitedbapi/aio/connection.py by tools/async_to_sync.py: do not edit.
"""The connection, :class:`Connection`, and :func:`connect`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Self

from dqlitedbapi import exceptions as exc
from dqlitedbapi._common import ConnectionBase
from dqlitedbapi._native import NativeConnection
from dqlitedbapi._options import (
    DEFAULT_CLOSE_TIMEOUT_SECONDS,
    DEFAULT_MAX_CONTINUATION_FRAMES,
    DEFAULT_MAX_TOTAL_ROWS,
    DialFunc,
    Options,
    validate_session_mode,
)
from dqlitedbapi._target import Target, TLSArgument
from dqlitedbapi.cursor import Cursor, Parameters

__all__ = ["Connection", "connect"]


class Connection(ConnectionBase):
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

    def _open(self) -> NativeConnection:
        """The connection to the cluster, opened now when it was not yet."""
        self._check_open()
        native = self._native
        if native is not None:
            return native
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
                self._set_query_only(native, True)
            except BaseException:
                native.close()
                raise
        return self._opened(native)

    def _set_query_only(self, native: NativeConnection, on: bool) -> None:
        """``PRAGMA query_only``: the ``read_only`` session mode on the server."""
        sql = f"PRAGMA query_only = {int(on)}"
        native.execute(sql)

    def connect(self) -> None:
        """Opens the connection now, instead of on first use."""
        self._open()

    def cursor(self, factory: type[Cursor] | None = None) -> Cursor:
        """A new cursor."""
        self._check_open()
        return (factory or Cursor)(self)

    def execute(self, sql: str, parameters: Parameters = (), /) -> Cursor:
        """Runs a statement on a new cursor and returns it."""
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Parameters], /) -> Cursor:
        """Runs ``executemany`` on a new cursor and returns it."""
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str, /) -> Cursor:
        """Runs a script on a new cursor and returns it."""
        return self.cursor().executescript(sql_script)

    def commit(self) -> None:
        """Commits the open transaction; does nothing without one."""
        self._check_open()
        self._check_no_context_transaction("commit")
        native = self._native
        if native is not None:
            native.end_transaction(True)

    def rollback(self) -> None:
        """Rolls the open transaction back; does nothing without one."""
        self._check_open()
        self._check_no_context_transaction("rollback")
        native = self._native
        if native is not None:
            native.end_transaction(False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN on entry; COMMIT when the block ends, ROLLBACK when it raises.

        Inside, ``commit()``, ``rollback()`` and a nested ``transaction()`` raise
        InterfaceError (use SAVEPOINT to nest). A COMMIT that fails (a deferred constraint,
        a busy database) is rolled back before its error is raised: the transaction does
        not outlive the block.
        """
        self._check_open()
        if self._in_ctx_transaction:
            raise exc.InterfaceError("Nested transaction() blocks are not supported; use SAVEPOINT")
        self.cursor().execute("BEGIN")
        self._in_ctx_transaction = True
        try:
            yield
        except BaseException:
            self._in_ctx_transaction = False
            self._roll_back_or_close()
            raise
        self._in_ctx_transaction = False
        try:
            self.commit()
        except Exception:
            # Refused, the COMMIT leaves the transaction open on the server, where the
            # statements after the block would run.
            self._roll_back_or_close()
            raise

    def _roll_back_or_close(self) -> None:
        """Rolls back a failed ``transaction()`` block, or closes the connection.

        A ROLLBACK that fails too leaves the connection closed, which ends the transaction
        on the server.
        """
        if not self.closed:
            try:
                self.rollback()
            except Exception:
                self.force_close_transport()

    def set_session_mode(self, mode: str) -> None:
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
                self._set_query_only(native, mode == "read_only")
        self._session_mode = mode

    def close(self) -> None:
        """Closes the connection (the server rolls back an open transaction). Idempotent.

        A call running on the connection meanwhile, on another thread, is interrupted: its
        socket is shut down (over TLS too), the call raises InterfaceError
        (OutcomeUnknownError for a write already sent, whose outcome is unknown), and
        ``close()`` waits at most ``close_timeout`` seconds for it to end; the connection
        is closed for good.
        """
        self._closed = True
        self._lost = False
        native, self._native = self._native, None
        if native is None:
            return
        # A call running on another thread fails at once; close_timeout bounds the
        # wait for it to end.
        native.close(self._options.close_timeout)

    def __enter__(self) -> Self:
        """The connection itself."""
        return self

    def __exit__(
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
            self.rollback()
            return
        try:
            self.commit()
        except Exception:
            if not self.closed:
                self.rollback()
            raise


def refuse_sqlite3_keywords(keywords: dict[str, object]) -> None:
    """NotSupportedError for ``sqlite3.connect`` keywords this driver does not take."""
    if keywords:
        raise exc.NotSupportedError(
            f"connect() does not support the sqlite3 keyword(s) {sorted(keywords)}"
        )


def connect(
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
) -> Connection:
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
    connection = Connection(
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
    return connection
