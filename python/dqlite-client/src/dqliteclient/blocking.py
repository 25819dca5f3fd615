"""The client without asyncio: the same classes and calls, blocking the calling thread.

``ClusterClient``, ``DqliteConnection`` and ``ConnectionPool`` here take the arguments of
their asyncio namesakes and return the same values; the native code waits with the GIL
released (Ctrl-C still interrupts it). A connection is used by one thread at a time; a
pool may be shared by threads. For scripts::

    from dqliteclient.blocking import ClusterClient
    from dqliteclient import MemoryNodeStore
    from dqlitewire import NodeRole

    cluster = ClusterClient(MemoryNodeStore(["10.0.0.1:9001", "10.0.0.2:9001"]))
    cluster.add_node(4, "10.0.0.4:9001", role=NodeRole.VOTER)
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Final, Self

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
    get_current_pid,
    validate_max_attempts,
    validate_node_id,
    validate_target_address,
    validate_timeout,
)
from dqliteclient.cluster import (
    ClusterBase,
    LeaderInfo,
    NodeMetadata,
    NodeTuple,
    RedirectPolicy,
    check_database,
    check_max_elapsed,
    check_weight,
)
from dqliteclient.exceptions import (
    ClusterError,
    ClusterPolicyError,
    DqliteConnectionError,
    DqliteError,
    InterfaceError,
    OperationalError,
)
from dqliteclient.node_store import MemoryNodeStore, NodeStore
from dqliteclient.pool import check_pool_sizes, check_pool_source
from dqliteclient.retry import retry_blocking
from dqlitedbapi import _native
from dqlitewire import DEFAULT_MAX_CONTINUATION_FRAMES, DEFAULT_MAX_TOTAL_ROWS, NodeRole
from dqlitewire import NodeInfo as WireNodeInfo

__all__ = ["ClusterClient", "ConnectionPool", "DqliteConnection"]

logger = logging.getLogger(__name__)

_RETRYABLE: Final = (DqliteConnectionError, ClusterError, OSError)


class DqliteConnection(SessionHolder):
    """:class:`dqliteclient.DqliteConnection` without asyncio (one thread at a time)."""

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
        max_message_size: int | None = None,
        dial_func: DialFunc | None = None,
    ) -> None:
        """Checks the settings (those of the asyncio class); nothing is dialed yet.

        ``dial_func`` runs on an event loop of its own in the thread that dials.
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
            max_message_size=max_message_size,
            dial_func=dial_func,
        )
        self._session: _native.NativeSession | None = None
        self._tracker = Tracker()
        self._lock = threading.Lock()
        self._closed = False
        self._pid = get_current_pid()

    @classmethod
    def _adopt(cls, session: _native.NativeSession, settings: Settings) -> "DqliteConnection":
        conn = cls.__new__(cls)
        conn._settings = settings
        conn._session = session
        conn._tracker = Tracker()
        conn._lock = threading.Lock()
        conn._closed = False
        conn._pid = get_current_pid()
        return conn

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def __repr__(self) -> str:
        status = "closed" if self._closed else "connected" if self._session else "disconnected"
        return f"<blocking DqliteConnection address={self.address!r} {status} at 0x{id(self):x}>"

    @contextlib.contextmanager
    def _operation(self) -> Iterator[None]:
        check_same_process(self._pid, "Connection")
        if self._closed:
            raise InterfaceError(f"Connection is closed (id={id(self)})")
        if not self._lock.acquire(blocking=False):
            raise InterfaceError(
                "Cannot perform operation: another operation is in progress on this "
                "connection; use one connection per thread or a ConnectionPool."
            )
        try:
            yield
        finally:
            self._lock.release()

    def connect(self) -> None:
        """Dials the node, handshakes and opens the database. Does nothing if connected."""
        with self._operation():
            if self._session is not None:
                return
            try:
                self._session = self._settings.open(asynchronous=False)
            except ClientFailure as failure:
                raise self._settings.connect_error(failure) from None

    def close(self) -> None:
        """Closes the connection. Idempotent; any thread may call it.

        A request running meanwhile on another thread is cut off: it raises
        ``DqliteConnectionError`` ("Connection closed while an operation was in flight", or,
        for a write already sent, that its outcome is unknown), and ``close()`` waits at
        most ``close_timeout`` seconds for it to end.
        """
        self._closed = True
        running = self._invalidate()
        if running is not None and get_current_pid() == self._pid:
            running.wait_closed(self._settings.close_timeout)

    def _detach(self) -> _native.NativeSession | None:
        session, self._session = self._session, None
        self._closed = True
        return session

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, call: Callable[[_native.NativeSession], Any], sql: str | None = None) -> Any:
        with self._request(sql) as session:
            return call(session)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> tuple[int, int]:
        """Runs a statement (or several); returns ``(last_insert_id, rows_affected)``."""
        validate_params(params)
        result: tuple[int, int] = self._run(lambda s: s.execute(sql, params), sql)
        self._tracker.after_success(sql)
        return result

    def query_raw_typed(self, sql: str, params: Sequence[Any] | None = None) -> TypedResult:
        """Runs a query; returns ``(column_names, column_types, row_types, rows)``."""
        validate_params(params)
        caps = self._settings.query_caps()
        return typed_result(self._run(lambda s: s.query(sql, params, **caps)))

    def query_raw(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> tuple[list[str], list[Row]]:
        """Runs a query; returns ``(column_names, rows)``."""
        columns, _, _, rows = self.query_raw_typed(sql, params)
        return columns, rows

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Runs a query; returns its rows as dicts."""
        columns, rows = self.query_raw(sql, params)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[Row]:
        """Runs a query; returns its rows as lists."""
        return self.query_raw(sql, params)[1]

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> dict[str, Any] | None:
        """The first row as a dict, or None."""
        rows = self.fetch(sql, params)
        return rows[0] if rows else None

    def fetchval(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        rows = self.query_raw(sql, params)[1]
        return rows[0][0] if rows and rows[0] else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN; COMMIT when the block ends, ROLLBACK when it raises.

        A COMMIT left in doubt (leadership lost, a failed disk write, a node shutting
        down) raises ``AmbiguousCommitError``; a COMMIT the server refuses is rolled back
        before its error is raised.
        """
        if self._tracker.in_transaction:
            raise InterfaceError("Nested transactions are not supported; use SAVEPOINT directly")
        self.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._rollback_after()
            raise
        try:
            self.execute("COMMIT")
        except OperationalError as exc:
            ambiguous = commit_error(exc)
            if ambiguous is not exc:
                raise ambiguous from exc
            # Refused (a deferred constraint, a busy database): SQLite keeps the
            # transaction open, and the block must not leave it so.
            if self.is_connected:
                self._rollback_after()
            raise

    def _rollback_after(self) -> None:
        try:
            self.execute("ROLLBACK")
        except OperationalError as exc:
            if not is_no_transaction_error(exc):
                self._invalidate()
        except Exception:
            self._invalidate()


def _snapshot(store: NodeStore) -> Sequence[Any]:
    """The members of ``store``, read without an event loop of the caller's."""
    snapshot = getattr(store, "snapshot", None)
    if callable(snapshot):
        nodes: Sequence[Any] = snapshot()
        return nodes
    return asyncio.run(_read(store))


async def _read(store: NodeStore) -> Sequence[Any]:
    return await store.get_nodes()


class ClusterClient(ClusterBase):
    """:class:`dqliteclient.ClusterClient` without asyncio. Safe to share by threads."""

    _asynchronous = False

    @classmethod
    def from_addresses(
        cls, addresses: Sequence[str], timeout: float = DEFAULT_TIMEOUT_SECONDS, **kwargs: Any
    ) -> "ClusterClient":
        """A client over a :class:`MemoryNodeStore` of ``addresses``."""
        return cls(MemoryNodeStore(addresses), timeout=timeout, **kwargs)

    def _nodes(self) -> list[NodeTuple]:
        self._check_pid()
        return self._tuples(_snapshot(self._node_store))

    def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        nodes = self._nodes()
        try:
            return method(nodes, *args)
        except ClientFailure as failure:
            raise self._failure(failure) from None

    def find_leader(
        self, *, trust_server_heartbeat: bool = False, policy: RedirectPolicy | None = None
    ) -> str:
        """The leader's address (see the asyncio method)."""
        leader: str = self._call(self._native.find_leader, policy)
        return leader

    def connect(
        self,
        database: str = "default",
        *,
        max_total_rows: int | None = DEFAULT_MAX_TOTAL_ROWS,
        max_continuation_frames: int | None = DEFAULT_MAX_CONTINUATION_FRAMES,
        trust_server_heartbeat: bool = False,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS,
        max_attempts: int | None = None,
        max_elapsed_seconds: float | None = None,
        policy: RedirectPolicy | None = None,
        max_message_size: int | None = None,
    ) -> DqliteConnection:
        """Finds the leader and opens a blocking :class:`DqliteConnection` to it."""
        validate_max_attempts(max_attempts)
        check_max_elapsed(max_elapsed_seconds)
        options = self._connection_options(
            max_total_rows=max_total_rows,
            max_continuation_frames=max_continuation_frames,
            trust_server_heartbeat=trust_server_heartbeat,
            close_timeout=close_timeout,
            max_message_size=max_message_size,
        )

        def attempt() -> DqliteConnection:
            leader = self._leader_address(self.find_leader(policy=policy))
            conn = DqliteConnection(leader, database=database, **options)
            try:
                conn.connect()
            except _RETRYABLE:
                self._native.forget_leader()
                conn.close()
                raise
            return conn

        return retry_blocking(
            attempt,
            max_attempts=max_attempts or 3,
            max_delay=1.0,
            max_elapsed_seconds=max_elapsed_seconds,
            retryable_exceptions=_RETRYABLE,
            excluded_exceptions=(ClusterPolicyError,),
        )

    def cluster_info(self, *, policy: RedirectPolicy | None = None) -> list[WireNodeInfo]:
        """The members as the leader reports them, less those the policy refuses."""
        return self._members(self._call(self._native.cluster_info, policy), policy)

    def leader_info(self, *, policy: RedirectPolicy | None = None) -> LeaderInfo | None:
        """The leader's node id and address, or None."""
        return self._leader_info(self._call(self._native.leader_info, policy), policy)

    def transfer_leadership(self, target_node_id: int) -> None:
        """Asks the leader to hand leadership to voter ``target_node_id``."""
        validate_node_id(target_node_id, "target_node_id")
        self._call(self._native.transfer_leadership, target_node_id)

    def add_node(self, node_id: int, address: str, *, role: NodeRole = NodeRole.SPARE) -> None:
        """Adds node ``node_id`` at ``address`` as a spare, then gives it ``role``."""
        validate_node_id(node_id)
        if not isinstance(role, NodeRole):
            raise TypeError(f"role must be a NodeRole, got {type(role).__name__}")
        validate_target_address(address, "add_node")
        self._call(self._native.add_node, node_id, address, int(role))

    def assign_role(self, node_id: int, role: NodeRole, *, force: bool = False) -> None:
        """Gives node ``node_id`` a role.

        Refuses to demote the last voter unless ``force`` (see
        :meth:`dqliteclient.ClusterClient.assign_role`).
        """
        validate_node_id(node_id)
        if not isinstance(role, NodeRole):
            raise TypeError(f"role must be a NodeRole, got {type(role).__name__}")
        self._call(self._native.assign_role, node_id, int(role), bool(force))

    def remove_node(self, node_id: int, *, force: bool = False) -> None:
        """Removes node ``node_id``.

        Refuses to remove the last voter unless ``force`` (see
        :meth:`dqliteclient.ClusterClient.remove_node`).
        """
        validate_node_id(node_id)
        self._call(self._native.remove_node, node_id, bool(force))

    def describe(self, *, address: str | None = None) -> NodeMetadata:
        """The failure domain and weight of the node at ``address``, or of the leader."""
        if address is not None:
            validate_target_address(address, "describe")
        failure_domain, weight = self._call(self._native.describe, address)
        return NodeMetadata(failure_domain=failure_domain, weight=weight)

    def set_weight(self, weight: int, *, address: str | None = None) -> None:
        """Sets the weight of the node at ``address``, or of the leader."""
        check_weight(weight)
        if address is not None:
            validate_target_address(address, "set_weight")
        self._call(self._native.set_weight, weight, address)

    def dump(self, database: str) -> dict[str, bytes]:
        """``{file name: bytes}`` of ``database``, from the leader."""
        check_database(database)
        files: dict[str, bytes] = self._call(self._native.dump, database)
        return files


class ConnectionPool:
    """:class:`dqliteclient.ConnectionPool` without asyncio; threads may share it."""

    def __init__(
        self,
        addresses: Sequence[str] | None = None,
        *,
        database: str = "default",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        cluster: ClusterClient | None = None,
        node_store: NodeStore | None = None,
        redirect_policy: RedirectPolicy | None = None,
        max_total_rows: int | None = DEFAULT_MAX_TOTAL_ROWS,
        max_continuation_frames: int | None = DEFAULT_MAX_CONTINUATION_FRAMES,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS,
        max_message_size: int | None = None,
    ) -> None:
        """Checks the settings (those of the asyncio pool); nothing is dialed yet."""
        check_pool_sizes(min_size, max_size)
        validate_timeout(timeout)
        check_pool_source(addresses, node_store, cluster)
        if cluster is None:
            cluster = ClusterClient(
                node_store if node_store is not None else MemoryNodeStore(addresses),
                timeout=timeout,
                redirect_policy=redirect_policy,
                max_message_size=max_message_size,
            )
        self._cluster = cluster
        self._options = cluster._connection_options(
            max_total_rows=max_total_rows,
            max_continuation_frames=max_continuation_frames,
            trust_server_heartbeat=False,
            close_timeout=close_timeout,
            max_message_size=max_message_size,
        )
        self._database = database
        self._min_size = min_size
        self._native = _native.NativePool(
            cluster._native,
            cluster._nodes(),
            database=database,
            max_size=max_size,
            acquire_timeout=timeout,
            asynchronous=False,
        )
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def _checkout(self) -> DqliteConnection:
        if self._closed:
            raise DqliteConnectionError(f"Pool is closed (id={id(self)})")

        def once() -> _native.NativeSession:
            try:
                session: _native.NativeSession = self._native.acquire(self._cluster._nodes())
            except ClientFailure as failure:
                raise self._cluster._failure(failure) from None
            return session

        session = retry_blocking(
            once,
            max_attempts=3,
            max_delay=1.0,
            max_elapsed_seconds=None,
            retryable_exceptions=(ClusterError,),
            excluded_exceptions=(ClusterPolicyError,),
        )
        settings = Settings.check(session.address, database=self._database, **self._options)
        return DqliteConnection._adopt(session, settings)

    def initialize(self) -> None:
        """Opens ``min_size`` connections now."""
        opened = [self._checkout() for _ in range(self._min_size)]
        for conn in opened:
            self._release(conn)

    @contextlib.contextmanager
    def acquire(self) -> Iterator[DqliteConnection]:
        """A connection to the leader for the block, given back (rolled back) after."""
        conn = self._checkout()
        try:
            yield conn
        finally:
            self._release(conn)

    def _release(self, conn: DqliteConnection) -> None:
        keep = conn.is_connected
        if keep and conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except DqliteError as exc:
                keep = is_no_transaction_error(exc)
            keep = keep and conn.is_connected
        session = conn._detach()
        if session is None:
            return
        if keep and not self._closed and session.release():
            return
        session.close()

    def close(self) -> None:
        """Closes idle connections now, the others when given back."""
        self._closed = True
        self._native.close()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> tuple[int, int]:
        """:meth:`DqliteConnection.execute` on a pooled connection."""
        with self.acquire() as conn:
            return conn.execute(sql, params)

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """:meth:`DqliteConnection.fetch` on a pooled connection."""
        with self.acquire() as conn:
            return conn.fetch(sql, params)

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[Row]:
        """:meth:`DqliteConnection.fetchall` on a pooled connection."""
        with self.acquire() as conn:
            return conn.fetchall(sql, params)

    def fetchval(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """:meth:`DqliteConnection.fetchval` on a pooled connection."""
        with self.acquire() as conn:
            return conn.fetchval(sql, params)

    def __enter__(self) -> Self:
        self.initialize()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()
