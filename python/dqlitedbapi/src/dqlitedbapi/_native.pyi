"""Type stubs for the native core of dqlitedbapi."""

import os
from asyncio import Future
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, final

__all__ = [
    "PROTOCOL_VERSION",
    "ClientFailure",
    "NativeCluster",
    "NativeConnection",
    "NativePool",
    "NativeResult",
    "NativeSession",
    "TLSConfig",
    "__version__",
    "_after_fork_in_child",
    "_before_exit",
    "_logging_refresh",
    "complete_statement",
    "connection_settings",
    "get_slow_statement_threshold",
    "is_dml",
    "set_slow_statement_threshold",
    "transaction_effects",
    "yaml_store_read",
    "yaml_store_write",
]

__version__: str
PROTOCOL_VERSION: int

@final
class NativeResult:
    """The result of one statement."""

    @property
    def columns(self) -> tuple[str, ...] | None: ...
    @property
    def type_codes(self) -> tuple[int | None, ...] | None: ...
    @property
    def description(
        self,
    ) -> tuple[tuple[str, Any, None, None, None, None, None], ...] | None: ...
    @property
    def rowcount(self) -> int: ...
    @property
    def lastrowid(self) -> int | None: ...
    @property
    def rownumber(self) -> int | None: ...
    def fetch(self, n: int = ...) -> list[tuple[Any, ...]]: ...
    def afetch(self, n: int = ...) -> list[tuple[Any, ...]] | Awaitable[list[tuple[Any, ...]]]: ...
    def raw_columns(self, mask: list[bool]) -> None: ...
    def close(self) -> None: ...

@final
class TLSConfig:
    """TLS settings for connections: what to trust, and the client's identity.

    ``ca`` holds the certificates to trust; ``cert`` and ``key`` the client's certificate
    and key, for nodes that ask for one. Each is a file name (``str`` or
    ``os.PathLike``) or PEM text as ``bytes``. ``ca`` defaults to ``cert``: dqlite
    clusters usually share one self-signed certificate (go-dqlite's ``--cert``/``--key``),
    which is then both the CA and the client's identity. ``server_name`` is the name the
    nodes' certificates must carry (default: the host of each node's address; an IP
    address must be an IP SAN of the certificate). Everything is read and checked here:
    ProgrammingError names what is wrong. Files are read once; make a new TLSConfig to
    pick up renewed certificates.
    """

    def __new__(
        cls,
        *,
        cert: str | os.PathLike[str] | bytes | None = None,
        key: str | os.PathLike[str] | bytes | None = None,
        ca: str | os.PathLike[str] | bytes | None = None,
        server_name: str | None = None,
    ) -> TLSConfig: ...
    @property
    def server_name(self) -> str | None: ...

def connection_settings(text: str) -> dict[str, Any]: ...
def set_slow_statement_threshold(seconds: float | None, /) -> None:
    """Log statements slower than ``seconds`` on ``dqlitedbapi.slow`` (None: off)."""

def get_slow_statement_threshold() -> float | None:
    """The slow-statement threshold in seconds, or None when off."""

def _logging_refresh() -> None:
    """Re-read the ``dqlitedbapi`` loggers' levels and hand waiting records to ``logging``."""

@final
class NativeConnection:
    """A connection to the leader of a dqlite cluster."""

    @staticmethod
    def connect(
        seeds: list[str],
        database: str,
        timeout: float,
        *,
        busy_timeout: float = ...,
        dial_timeout: float | None = ...,
        connect_timeout: float | None = ...,
        max_message_size: int | None = ...,
        tls: TLSConfig | None = ...,
        max_total_rows: int | None = ...,
        max_continuation_frames: int | None = ...,
        dialer: Callable[[str, int], None] | None = ...,
        same_thread: bool = ...,
    ) -> NativeConnection: ...
    @staticmethod
    def connect_async(
        seeds: list[str],
        database: str,
        timeout: float,
        *,
        busy_timeout: float = ...,
        dial_timeout: float | None = ...,
        connect_timeout: float | None = ...,
        max_message_size: int | None = ...,
        tls: TLSConfig | None = ...,
        max_total_rows: int | None = ...,
        max_continuation_frames: int | None = ...,
        dialer: Callable[[str, int], None] | None = ...,
    ) -> Awaitable[NativeConnection]: ...
    def set_busy_timeout(self, busy_timeout: float) -> None: ...
    @property
    def in_transaction(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    @property
    def is_async(self) -> bool: ...
    def execute(self, sql: str, params: object = None) -> NativeResult: ...
    def aexecute(self, sql: str, params: object = None) -> NativeResult | Future[NativeResult]: ...
    def executemany(self, sql: str, seq_of_params: Iterable[object]) -> NativeResult: ...
    def aexecutemany(
        self, sql: str, seq_of_params: Iterable[object]
    ) -> Awaitable[NativeResult]: ...
    def executescript(self, script: str) -> None: ...
    def aexecutescript(self, script: str) -> Awaitable[None]: ...
    def end_transaction(self, commit: bool) -> None: ...
    def aend_transaction(self, commit: bool) -> Future[None]: ...
    def close(self, timeout: float | None = None) -> None: ...
    def aclose(self) -> Awaitable[None]: ...

def _after_fork_in_child() -> None: ...
def _before_exit() -> None: ...
def complete_statement(sql: str) -> bool: ...
def is_dml(sql: str) -> bool: ...

# -- dqliteclient bindings (rust/src/dqliteclient): used by the dqlite-client package. ----
# Each object is blocking or asynchronous; the methods marked `Any` return the value, or
# an awaitable of it for an asynchronous object.

class ClientFailure(Exception):
    """A failure of the dqliteclient bindings, as data."""

    kind: str
    code: int | None
    message: str
    raw_message: str | None
    address: str | None
    connection_lost: bool
    statement: int | None

@final
class NativeCluster:
    """Leader discovery and cluster administration."""

    def __new__(
        cls,
        *,
        timeout: float,
        dial_timeout: float,
        attempt_timeout: float,
        max_frame_len: int | None,
        policy: Callable[[str], bool] | None,
        asynchronous: bool,
        dialer: Callable[[str, int], None] | None = None,
    ) -> NativeCluster: ...
    @property
    def asynchronous(self) -> bool: ...
    def find_leader(
        self, nodes: list[tuple[int, str, int]], policy: Callable[[str], bool] | None = None
    ) -> Any: ...
    def forget_leader(self) -> None: ...
    def take_policy_error(self) -> BaseException | None: ...
    def leader_info(
        self, nodes: list[tuple[int, str, int]], policy: Callable[[str], bool] | None = None
    ) -> Any: ...
    def cluster_info(
        self, nodes: list[tuple[int, str, int]], policy: Callable[[str], bool] | None = None
    ) -> Any: ...
    def add_node(
        self, nodes: list[tuple[int, str, int]], node_id: int, address: str, role_code: int
    ) -> Any: ...
    def assign_role(
        self, nodes: list[tuple[int, str, int]], node_id: int, role_code: int, force: bool = False
    ) -> Any: ...
    def remove_node(
        self, nodes: list[tuple[int, str, int]], node_id: int, force: bool = False
    ) -> Any: ...
    def transfer_leadership(self, nodes: list[tuple[int, str, int]], node_id: int) -> Any: ...
    def describe(self, nodes: list[tuple[int, str, int]], address: str | None = None) -> Any: ...
    def set_weight(
        self, nodes: list[tuple[int, str, int]], weight: int, address: str | None = None
    ) -> Any: ...
    def dump(self, nodes: list[tuple[int, str, int]], database: str) -> Any: ...

@final
class NativeSession:
    """A session with one node, a database open on it."""

    @staticmethod
    def open(
        address: str,
        database: str,
        *,
        timeout: float,
        dial_timeout: float,
        attempt_timeout: float,
        max_frame_len: int | None,
        asynchronous: bool,
        dialer: Callable[[str, int], None] | None = None,
    ) -> Any: ...
    @property
    def address(self) -> str: ...
    @property
    def is_connected(self) -> bool: ...
    def execute(self, sql: str, params: object = None) -> Any: ...
    def query(
        self,
        sql: str,
        params: object = None,
        *,
        max_rows: int | None = None,
        max_frames: int | None = None,
    ) -> Any: ...
    def close(self) -> bool: ...
    def wait_closed(self, timeout: float) -> Any: ...
    def release(self) -> bool: ...

@final
class NativePool:
    """A pool of sessions with the leader."""

    def __new__(
        cls,
        cluster: NativeCluster,
        nodes: list[tuple[int, str, int]],
        *,
        database: str,
        max_size: int,
        acquire_timeout: float,
        asynchronous: bool,
    ) -> NativePool: ...
    def acquire(self, nodes: list[tuple[int, str, int]] | None = None) -> Any: ...
    def stats(self) -> tuple[int, int, int]: ...
    def close(self) -> None: ...
    def retire_idle(self) -> None: ...

def yaml_store_read(path: str | os.PathLike[str]) -> list[tuple[int, str, int]]: ...
def yaml_store_write(path: str | os.PathLike[str], nodes: list[tuple[int, str, int]]) -> None: ...
def transaction_effects(sql: str) -> list[int]: ...
