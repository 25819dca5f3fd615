"""Leader discovery, connecting to the leader, and cluster administration, for asyncio.

See ``dqliteclient.blocking`` for the blocking form.
"""

import asyncio
import functools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NoReturn, final

from dqliteclient._dial import DialFunc, LoopDialer
from dqliteclient._failures import ClientFailure, request_error
from dqliteclient._validate import (
    DEFAULT_CLOSE_TIMEOUT_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    check_same_process,
    get_current_pid,
    parse_address,
    validate_max_attempts,
    validate_node_id,
    validate_positive_int_or_none,
    validate_target_address,
    validate_timeout,
)
from dqliteclient.connection import DqliteConnection
from dqliteclient.exceptions import (
    ClusterError,
    ClusterPolicyError,
    DqliteConnectionError,
)
from dqliteclient.node_store import MemoryNodeStore, NodeStore
from dqliteclient.redirect import RedirectPolicy, allowlist_policy, default_safe_redirect_policy
from dqliteclient.retry import retry_with_backoff
from dqlitedbapi import _native
from dqlitewire import (
    DEFAULT_MAX_CONTINUATION_FRAMES,
    DEFAULT_MAX_TOTAL_ROWS,
    NodeRole,
    sanitize_for_log,
)
from dqlitewire import NodeInfo as WireNodeInfo

__all__ = [
    "ClusterClient",
    "LeaderInfo",
    "NodeMetadata",
    "RedirectPolicy",
    "allowlist_policy",
    "default_safe_redirect_policy",
]

logger = logging.getLogger(__name__)

_DEFAULT_CONCURRENT_PROBES: Final[int] = 10
_DEFAULT_CONNECT_ATTEMPTS: Final[int] = 3
_RETRYABLE: Final = (DqliteConnectionError, ClusterError, OSError)

NodeTuple = tuple[int, str, int]


@final
@dataclass(frozen=True, slots=True)
class LeaderInfo:
    """The leader: its Raft node id and address."""

    node_id: int
    address: str


@final
@dataclass(frozen=True, slots=True)
class NodeMetadata:
    """A node's failure domain and weight, as DESCRIBE reports them."""

    failure_domain: int
    weight: int


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_role(role: object) -> NodeRole:
    if not isinstance(role, NodeRole):
        raise TypeError(f"role must be a NodeRole, got {type(role).__name__}")
    return role


def check_weight(weight: object) -> int:
    """A node weight: an int of at least 0."""
    if not _is_int(weight):
        raise TypeError(f"weight must be int, got {type(weight).__name__}")
    if weight < 0:  # type: ignore[operator]
        raise ValueError(f"weight must be >= 0, got {weight}")
    return weight  # type: ignore[return-value]


def check_database(database: object) -> str:
    """A database name to dump: a non-empty str."""
    if not isinstance(database, str) or not database:
        raise TypeError("database must be a non-empty str")
    return database


def check_max_elapsed(value: float | None) -> float | None:
    """``None`` or a positive finite number of seconds."""
    if value is not None and (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"max_elapsed_seconds must be a positive number, got {value!r}")
    return value


class ClusterBase:
    """What the asyncio and the blocking ``ClusterClient`` share.

    Settings and their checks, the native cluster and the shaping of its answers.
    """

    _asynchronous: bool = True

    def __init__(
        self,
        node_store: NodeStore,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        dial_timeout: float | None = None,
        attempt_timeout: float | None = None,
        concurrent_leader_conns: int = _DEFAULT_CONCURRENT_PROBES,
        redirect_policy: RedirectPolicy | None = None,
        max_total_rows: int | None = DEFAULT_MAX_TOTAL_ROWS,
        max_continuation_frames: int | None = DEFAULT_MAX_CONTINUATION_FRAMES,
        max_message_size: int | None = None,
        trust_server_heartbeat: bool = False,
        dial_func: DialFunc | None = None,
    ) -> None:
        """Checks the settings; nothing is dialed yet.

        ``timeout`` bounds each request; ``dial_timeout`` and ``attempt_timeout``
        (default ``timeout``) each dial and each probe of a node. ``redirect_policy``
        vets every address a node names (see :mod:`dqliteclient.redirect`).
        ``concurrent_leader_conns`` is checked and kept for compatibility (the Rust
        discovery probes up to 10 nodes at once); ``trust_server_heartbeat`` has no
        effect. ``dial_func(address)`` opens the connections to the nodes
        (see :mod:`dqliteclient._dial`).
        """
        validate_timeout(timeout)
        if dial_timeout is not None:
            validate_timeout(dial_timeout, name="dial_timeout")
        if attempt_timeout is not None:
            validate_timeout(attempt_timeout, name="attempt_timeout")
        if not _is_int(concurrent_leader_conns):
            raise TypeError(
                f"concurrent_leader_conns must be int, got {type(concurrent_leader_conns).__name__}"
            )
        if concurrent_leader_conns < 1:
            raise ValueError(f"concurrent_leader_conns must be >= 1, got {concurrent_leader_conns}")
        if max_message_size is not None:
            if not _is_int(max_message_size):
                raise TypeError(
                    f"max_message_size must be int or None, got {type(max_message_size).__name__}"
                )
            if max_message_size < 1:
                raise ValueError(f"max_message_size must be >= 1, got {max_message_size}")
        self._node_store = node_store
        self._timeout = timeout
        self._dial_timeout = timeout if dial_timeout is None else dial_timeout
        self._attempt_timeout = timeout if attempt_timeout is None else attempt_timeout
        self._dial_func = dial_func
        # Built outside any event loop: the loop of each call is taken at the call.
        self._dialer = None if dial_func is None else LoopDialer(dial_func, self._dial_timeout)
        self._concurrent = concurrent_leader_conns
        self._redirect_policy = redirect_policy
        self._max_total_rows = validate_positive_int_or_none(max_total_rows, "max_total_rows")
        self._max_continuation_frames = validate_positive_int_or_none(
            max_continuation_frames, "max_continuation_frames"
        )
        self._max_message_size = max_message_size
        self._trust_server_heartbeat = trust_server_heartbeat
        self._pid = get_current_pid()
        self._native = _native.NativeCluster(
            timeout=timeout,
            dial_timeout=self._dial_timeout,
            attempt_timeout=self._attempt_timeout,
            max_frame_len=max_message_size,
            policy=redirect_policy,
            asynchronous=self._asynchronous,
            dialer=self._dialer,
        )

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"cannot pickle {type(self).__name__!r}: it owns live connections")

    def _check_pid(self) -> None:
        check_same_process(self._pid, "ClusterClient")

    def _effective_policy(self, policy: RedirectPolicy | None) -> RedirectPolicy | None:
        return policy if policy is not None else self._redirect_policy

    def _check_policy(self, address: str, policy: RedirectPolicy | None) -> None:
        effective = self._effective_policy(policy)
        if effective is not None and not effective(address):
            raise ClusterPolicyError(
                f"redirect to {sanitize_for_log(address)!r} rejected by the redirect policy"
            )

    def _failure(self, failure: ClientFailure) -> BaseException:
        if failure.kind == "policy":
            # A policy that raised refused the address: its exception is raised instead.
            raised = self._native.take_policy_error()
            if raised is not None:
                return raised
        else:
            self._native.forget_leader()
        return request_error(failure)

    @staticmethod
    def _tuples(nodes: Sequence[Any]) -> list[NodeTuple]:
        if not nodes:
            raise ClusterError("No nodes configured")
        return [(n.node_id, n.address, int(n.role)) for n in nodes]

    def _members(self, raw: list[NodeTuple], policy: RedirectPolicy | None) -> list[WireNodeInfo]:
        nodes = [WireNodeInfo(i, a, NodeRole(r)) for i, a, r in raw]
        effective = self._effective_policy(policy)
        if effective is None:
            return nodes
        kept = []
        for node in nodes:
            if effective(node.address):
                kept.append(node)
            else:
                logger.warning(
                    "cluster_info: dropping node %d at %s: rejected by policy",
                    node.node_id,
                    sanitize_for_log(node.address),
                )
        return kept

    def _leader_info(
        self, raw: tuple[int, str] | None, policy: RedirectPolicy | None
    ) -> LeaderInfo | None:
        if raw is None:
            return None
        node_id, address = raw
        self._check_policy(address, policy)
        return LeaderInfo(node_id=node_id, address=address)

    def _connection_options(
        self,
        *,
        max_total_rows: int | None,
        max_continuation_frames: int | None,
        trust_server_heartbeat: bool,
        close_timeout: float,
        max_message_size: int | None,
    ) -> dict[str, Any]:
        return {
            "timeout": self._timeout,
            "dial_timeout": self._dial_timeout,
            "attempt_timeout": self._attempt_timeout,
            "max_total_rows": max_total_rows,
            "max_continuation_frames": max_continuation_frames,
            "trust_server_heartbeat": trust_server_heartbeat,
            "close_timeout": close_timeout,
            "max_message_size": (
                max_message_size if max_message_size is not None else self._max_message_size
            ),
            "dial_func": self._dial_func,
        }

    @staticmethod
    def _leader_address(leader: str) -> str:
        try:
            parse_address(leader)
        except ValueError as exc:
            raise ClusterPolicyError(
                f"invalid leader address {sanitize_for_log(leader)!r}: {exc}"
            ) from exc
        return leader


class ClusterClient(ClusterBase):
    """Finds the leader among a :class:`NodeStore`'s nodes and administers the cluster.

    Every method is a coroutine.

    Discovery and the admin requests run in the Rust client (``dqlite_client::Cluster``
    and its ``admin`` module). The members are read from the node store at each call.

    A change of membership or leadership whose answer is lost once it was sent raises
    :class:`OutcomeUnknownError`: the leader may have applied it. Read
    :meth:`cluster_info` before asking again.
    """

    @functools.cached_property
    def _sweeps(self) -> dict[tuple[bool, RedirectPolicy | None], asyncio.Task[str]]:
        """The leader searches in flight, by (trust_server_heartbeat, policy)."""
        return {}

    @classmethod
    def from_addresses(
        cls,
        addresses: Sequence[str],
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        *,
        dial_timeout: float | None = None,
        attempt_timeout: float | None = None,
        concurrent_leader_conns: int = _DEFAULT_CONCURRENT_PROBES,
        redirect_policy: RedirectPolicy | None = None,
        max_total_rows: int | None = DEFAULT_MAX_TOTAL_ROWS,
        max_continuation_frames: int | None = DEFAULT_MAX_CONTINUATION_FRAMES,
        max_message_size: int | None = None,
        trust_server_heartbeat: bool = False,
        dial_func: DialFunc | None = None,
    ) -> "ClusterClient":
        """A client over a :class:`MemoryNodeStore` of ``addresses``."""
        return cls(
            MemoryNodeStore(addresses),
            timeout=timeout,
            dial_timeout=dial_timeout,
            attempt_timeout=attempt_timeout,
            concurrent_leader_conns=concurrent_leader_conns,
            redirect_policy=redirect_policy,
            max_total_rows=max_total_rows,
            max_continuation_frames=max_continuation_frames,
            max_message_size=max_message_size,
            trust_server_heartbeat=trust_server_heartbeat,
            dial_func=dial_func,
        )

    async def _nodes(self) -> list[NodeTuple]:
        """The members, at the start of each call (which dials, if at all, on this loop)."""
        self._check_pid()
        if self._dialer is not None:
            self._dialer.enter()
        async with asyncio.timeout(self._dial_timeout):
            nodes = await self._node_store.get_nodes()
        return self._tuples(nodes)

    async def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        """``method(nodes, *args)`` of the native cluster, awaited, failures mapped."""
        nodes = await self._nodes()
        try:
            return await method(nodes, *args)
        except ClientFailure as failure:
            raise self._failure(failure) from None

    # -- leader discovery -------------------------------------------------------------

    async def find_leader(
        self, *, trust_server_heartbeat: bool = False, policy: RedirectPolicy | None = None
    ) -> str:
        """The leader's address. Concurrent callers share one search.

        Raises :class:`ClusterError` when no leader is found and
        :class:`ClusterPolicyError` when a node names an address the policy refuses.
        """
        self._check_pid()
        key = (trust_server_heartbeat, policy)
        sweep = self._sweeps.get(key)
        if sweep is None:
            sweep = asyncio.create_task(self._call(self._native.find_leader, policy))
            self._sweeps[key] = sweep
            sweep.add_done_callback(lambda _: self._sweeps.pop(key, None))
        try:
            leader: str = await asyncio.shield(sweep)
        except asyncio.CancelledError:
            if not sweep.done():
                sweep.add_done_callback(_observe)
            raise
        return leader

    # -- connecting -------------------------------------------------------------------

    async def connect(
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
        """Finds the leader and opens a :class:`DqliteConnection` to it.

        Transport and cluster failures are retried with backoff (``max_attempts``,
        default 3); a refused redirect is not.
        """
        validate_max_attempts(max_attempts)
        check_max_elapsed(max_elapsed_seconds)
        options = self._connection_options(
            max_total_rows=max_total_rows,
            max_continuation_frames=max_continuation_frames,
            trust_server_heartbeat=trust_server_heartbeat,
            close_timeout=close_timeout,
            max_message_size=max_message_size,
        )

        async def attempt() -> DqliteConnection:
            leader = await self.find_leader(
                trust_server_heartbeat=trust_server_heartbeat, policy=policy
            )
            conn = DqliteConnection(self._leader_address(leader), database=database, **options)
            try:
                await conn.connect()
            except _RETRYABLE:
                self._native.forget_leader()
                conn.terminate()
                raise
            return conn

        return await retry_with_backoff(
            attempt,
            max_attempts=max_attempts or _DEFAULT_CONNECT_ATTEMPTS,
            max_delay=1.0,
            max_elapsed_seconds=max_elapsed_seconds,
            retryable_exceptions=_RETRYABLE,
            excluded_exceptions=(ClusterPolicyError,),
        )

    # -- administration ---------------------------------------------------------------

    async def cluster_info(self, *, policy: RedirectPolicy | None = None) -> list[WireNodeInfo]:
        """The members as the leader reports them, less those the policy refuses."""
        raw = await self._call(self._native.cluster_info, policy)
        return self._members(raw, policy)

    async def leader_info(self, *, policy: RedirectPolicy | None = None) -> LeaderInfo | None:
        """The leader's node id and address as it reports them, or None (an election)."""
        raw = await self._call(self._native.leader_info, policy)
        return self._leader_info(raw, policy)

    async def transfer_leadership(self, target_node_id: int) -> None:
        """Asks the leader to hand leadership to voter ``target_node_id``."""
        validate_node_id(target_node_id, "target_node_id")
        await self._call(self._native.transfer_leadership, target_node_id)

    async def add_node(
        self, node_id: int, address: str, *, role: NodeRole = NodeRole.SPARE
    ) -> None:
        """Adds node ``node_id`` at ``address`` as a spare, then gives it ``role``."""
        validate_node_id(node_id)
        _check_role(role)
        validate_target_address(address, "add_node")
        await self._call(self._native.add_node, node_id, address, int(role))

    async def assign_role(self, node_id: int, role: NodeRole, *, force: bool = False) -> None:
        """Gives node ``node_id`` a role (a voter only once it caught up with the log).

        Making the cluster's last voter a standby or spare would leave the cluster without
        a leader for good: it raises :class:`ClusterPolicyError` and changes nothing,
        unless ``force`` is true.
        """
        validate_node_id(node_id)
        _check_role(role)
        await self._call(self._native.assign_role, node_id, int(role), bool(force))

    async def remove_node(self, node_id: int, *, force: bool = False) -> None:
        """Removes node ``node_id``; move leadership away first if it leads.

        Removing the cluster's last voter would leave the cluster without a leader for
        good: it raises :class:`ClusterPolicyError` and changes nothing, unless ``force``
        is true.
        """
        validate_node_id(node_id)
        await self._call(self._native.remove_node, node_id, bool(force))

    async def describe(self, *, address: str | None = None) -> NodeMetadata:
        """The failure domain and weight of the node at ``address``, or of the leader."""
        if address is not None:
            validate_target_address(address, "describe")
        failure_domain, weight = await self._call(self._native.describe, address)
        return NodeMetadata(failure_domain=failure_domain, weight=weight)

    async def set_weight(self, weight: int, *, address: str | None = None) -> None:
        """Sets the weight of the node at ``address``, or of the leader."""
        check_weight(weight)
        if address is not None:
            validate_target_address(address, "set_weight")
        await self._call(self._native.set_weight, weight, address)

    async def dump(self, database: str) -> dict[str, bytes]:
        """``{file name: bytes}``: the database file and its WAL, from the leader.

        Restore by writing both files into one directory and opening the database file
        with SQLite.
        """
        check_database(database)
        files: dict[str, bytes] = await self._call(self._native.dump, database)
        return files


def _observe(task: "asyncio.Task[str]") -> None:
    if not task.cancelled():
        task.exception()
