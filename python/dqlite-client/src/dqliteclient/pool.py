"""A pool of connections to the leader, for asyncio.

It runs on the Rust client's pool (``dqlite_client::Pool``). See
``dqliteclient.blocking`` for the blocking form.
"""

import asyncio
import contextlib
import logging
import os
import warnings
import weakref
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, NoReturn, Self

from dqliteclient._dial import DialFunc
from dqliteclient._failures import ClientFailure
from dqliteclient._session import Settings, is_no_transaction_error
from dqliteclient._validate import (
    DEFAULT_CLOSE_TIMEOUT_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    check_same_process,
    get_current_pid,
    validate_close_timeout,
    validate_max_attempts,
    validate_timeout,
)
from dqliteclient.cluster import ClusterClient, RedirectPolicy, check_max_elapsed
from dqliteclient.connection import DqliteConnection
from dqliteclient.exceptions import (
    ClusterError,
    ClusterPolicyError,
    DqliteConnectionError,
    DqliteError,
    InterfaceError,
)
from dqliteclient.node_store import MemoryNodeStore, NodeStore
from dqliteclient.retry import retry_with_backoff
from dqlitedbapi import _native
from dqlitewire import DEFAULT_MAX_CONTINUATION_FRAMES, DEFAULT_MAX_TOTAL_ROWS

__all__ = ["ConnectionPool", "check_pool_sizes"]

logger = logging.getLogger(__name__)


def _warn_if_unclosed(closed: list[bool], pid: int) -> None:
    if closed[0] or os.getpid() != pid:
        return
    warnings.warn(
        "ConnectionPool was garbage-collected without await close(); "
        "call close() to release its connections promptly.",
        ResourceWarning,
        stacklevel=2,
    )


def check_pool_source(addresses: object, node_store: object, cluster: object) -> None:
    """At most one of ``addresses``, ``node_store`` and ``cluster`` is given."""
    if sum(x is not None for x in (cluster, node_store, addresses)) > 1:
        raise ValueError("pass at most one of addresses, node_store, or cluster")


def check_pool_sizes(min_size: object, max_size: object) -> None:
    """``max_size`` an int of at least 1, ``min_size`` an int between 0 and it."""
    for name, value in (("min_size", min_size), ("max_size", max_size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be int, got {type(value).__name__}")
    if not (isinstance(min_size, int) and isinstance(max_size, int)):
        return
    if max_size < 1:
        raise ValueError(f"max_size must be >= 1, got {max_size}")
    if not 0 <= min_size <= max_size:
        raise ValueError(f"min_size must be between 0 and max_size, got {min_size}")


class ConnectionPool:
    """A pool of at most ``max_size`` connections to the leader, one event loop only.

    Connections come from the Rust client's pool: a connection that broke, or whose node
    lost the lead, is not handed out again, and a new one is opened on the current leader.
    A connection given back inside a transaction is rolled back first.
    """

    def __init__(
        self,
        addresses: Sequence[str] | None = None,
        *,
        database: str = "default",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        dial_timeout: float | None = None,
        attempt_timeout: float | None = None,
        cluster: ClusterClient | None = None,
        node_store: NodeStore | None = None,
        max_total_rows: int | None = DEFAULT_MAX_TOTAL_ROWS,
        max_continuation_frames: int | None = DEFAULT_MAX_CONTINUATION_FRAMES,
        trust_server_heartbeat: bool = False,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS,
        max_message_size: int | None = None,
        max_attempts: int | None = None,
        max_elapsed_seconds: float | None = None,
        dial_func: DialFunc | None = None,
        concurrent_leader_conns: int | None = None,
        redirect_policy: RedirectPolicy | None = None,
    ) -> None:
        """Checks the settings; nothing is dialed before :meth:`initialize` or a checkout.

        Give at most one of ``addresses``, ``node_store`` and ``cluster`` (whose settings
        the pool then uses). ``timeout`` also bounds the wait for a free connection;
        ``max_attempts`` and ``max_elapsed_seconds`` bound the retries when no leader is
        found.
        """
        check_pool_sizes(min_size, max_size)
        validate_timeout(timeout)
        validate_close_timeout(close_timeout)
        validate_max_attempts(max_attempts)
        check_max_elapsed(max_elapsed_seconds)
        check_pool_source(addresses, node_store, cluster)
        if cluster is not None:
            for name, value in (
                ("dial_func", dial_func),
                ("concurrent_leader_conns", concurrent_leader_conns),
                ("redirect_policy", redirect_policy),
            ):
                if value is not None:
                    raise ValueError(
                        f"{name} cannot be combined with cluster= (the cluster owns its settings)"
                    )
        else:
            cluster = ClusterClient(
                node_store if node_store is not None else MemoryNodeStore(addresses),
                timeout=timeout,
                dial_timeout=dial_timeout,
                attempt_timeout=attempt_timeout,
                concurrent_leader_conns=concurrent_leader_conns or 10,
                redirect_policy=redirect_policy,
                max_total_rows=max_total_rows,
                max_continuation_frames=max_continuation_frames,
                max_message_size=max_message_size,
                trust_server_heartbeat=trust_server_heartbeat,
                dial_func=dial_func,
            )
        self._cluster = cluster
        self._options = cluster._connection_options(
            max_total_rows=max_total_rows,
            max_continuation_frames=max_continuation_frames,
            trust_server_heartbeat=trust_server_heartbeat,
            close_timeout=close_timeout,
            max_message_size=max_message_size,
        )
        self._database = database
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_elapsed_seconds = max_elapsed_seconds
        self._native: _native.NativePool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._initialized = False
        self._closed = [False]
        self._pid = get_current_pid()
        self._finalizer = weakref.finalize(self, _warn_if_unclosed, self._closed, self._pid)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed[0]

    def __repr__(self) -> str:
        if self.closed:
            state = "closed"
        elif self._native is None:
            state = "idle=0 size=0"
        else:
            size, idle, _ = self._native.stats()
            state = f"idle={idle} size={size}"
        return f"<ConnectionPool max_size={self._max_size} {state} at 0x{id(self):x}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"cannot pickle {type(self).__name__!r}: it owns live sockets")

    def _check_usable(self) -> None:
        check_same_process(self._pid, "Pool")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise InterfaceError("ConnectionPool is bound to a different event loop")
        if self.closed:
            raise DqliteConnectionError(f"Pool is closed (id={id(self)})")

    async def _checkout(self) -> DqliteConnection:
        self._check_usable()
        nodes = await self._cluster._nodes()
        if self._native is None:
            self._native = _native.NativePool(
                self._cluster._native,
                nodes,
                database=self._database,
                max_size=self._max_size,
                acquire_timeout=self._timeout,
                asynchronous=True,
            )
        native = self._native

        async def once() -> _native.NativeSession:
            try:
                session: _native.NativeSession = await native.acquire(nodes)
            except ClientFailure as failure:
                raise self._cluster._failure(failure) from None
            return session

        session = await retry_with_backoff(
            once,
            max_attempts=self._max_attempts or 3,
            max_delay=1.0,
            max_elapsed_seconds=self._max_elapsed_seconds,
            retryable_exceptions=(ClusterError,),
            excluded_exceptions=(ClusterPolicyError,),
        )
        settings = Settings.check(session.address, database=self._database, **self._options)
        return DqliteConnection._adopt(session, settings)

    async def initialize(self) -> None:
        """Opens ``min_size`` connections now. Idempotent."""
        self._check_usable()
        if self._initialized:
            return
        self._initialized = True
        results = await asyncio.gather(
            *(self._checkout() for _ in range(self._min_size)), return_exceptions=True
        )
        opened = [r for r in results if isinstance(r, DqliteConnection)]
        for conn in opened:
            await self._release(conn)
        failures = [r for r in results if isinstance(r, BaseException)]
        if not failures:
            return
        self._initialized = False
        for failure in failures:
            if isinstance(failure, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise failure
        if len(failures) == 1:
            raise failures[0]
        raise BaseExceptionGroup(
            f"pool.initialize: {len(failures)} of {self._min_size} connects failed", failures
        )

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[DqliteConnection]:
        """A connection to the leader for the block, given back when it ends.

        A transaction left open is rolled back first.
        """
        conn = await self._checkout()
        try:
            yield conn
        finally:
            await self._release(conn)

    async def _release(self, conn: DqliteConnection) -> None:
        if get_current_pid() != self._pid:
            return
        keep = await self._reset(conn)
        session = conn._detach()
        if session is None:
            return
        if keep and not self.closed and session.release():
            return
        session.close()

    async def _reset(self, conn: DqliteConnection) -> bool:
        """Rolls back an open transaction; False when the connection must be dropped."""
        if not conn.is_connected:
            return False
        if conn.in_transaction:
            try:
                await conn.execute("ROLLBACK")
            except DqliteError as exc:
                if not is_no_transaction_error(exc):
                    logger.debug("pool: dropping a connection whose ROLLBACK failed: %s", exc)
                    return False
            except Exception:
                return False
        return conn.is_connected

    async def close(self) -> None:
        """Closes idle connections now, the others when given back. Idempotent."""
        if self.closed:
            return
        self._closed[0] = True
        self._finalizer.detach()
        if self._native is not None and get_current_pid() == self._pid:
            self._native.close()

    async def execute(self, sql: str, params: Sequence[Any] | None = None) -> tuple[int, int]:
        """:meth:`DqliteConnection.execute` on a pooled connection."""
        async with self.acquire() as conn:
            return await conn.execute(sql, params)

    async def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """:meth:`DqliteConnection.fetch` on a pooled connection."""
        async with self.acquire() as conn:
            return await conn.fetch(sql, params)

    async def fetchone(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> dict[str, Any] | None:
        """:meth:`DqliteConnection.fetchone` on a pooled connection."""
        async with self.acquire() as conn:
            return await conn.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[list[Any]]:
        """:meth:`DqliteConnection.fetchall` on a pooled connection."""
        async with self.acquire() as conn:
            return await conn.fetchall(sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """:meth:`DqliteConnection.fetchval` on a pooled connection."""
        async with self.acquire() as conn:
            return await conn.fetchval(sql, params)

    async def __aenter__(self) -> Self:
        await self.initialize()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.close()
