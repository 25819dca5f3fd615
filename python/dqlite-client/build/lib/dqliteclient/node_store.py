"""Node stores: where the cluster client finds the nodes to ask for the leader."""

import asyncio
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Protocol, final, runtime_checkable

from dqliteclient._validate import check_same_process, get_current_pid, parse_address
from dqliteclient.exceptions import ClusterError
from dqlitedbapi import _native
from dqlitewire import MAX_NODE_COUNT, NodeRole

__all__ = ["MemoryNodeStore", "NodeInfo", "NodeStore", "YamlNodeStore"]


@final
@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A cluster member: Raft node id (1 or more), ``host:port`` address, role."""

    node_id: int
    address: str
    role: NodeRole

    def __post_init__(self) -> None:
        if not isinstance(self.role, NodeRole):
            try:
                object.__setattr__(self, "role", NodeRole(self.role))
            except ValueError as e:
                raise ValueError(
                    f"NodeInfo: unknown role {self.role!r}; valid roles are 0 (VOTER), "
                    "1 (STANDBY), 2 (SPARE)"
                ) from e
        if isinstance(self.node_id, bool) or not isinstance(self.node_id, int):
            raise TypeError(f"NodeInfo.node_id must be int, got {type(self.node_id).__name__}")
        if self.node_id < 1:
            raise ValueError(f"NodeInfo.node_id must be >= 1, got {self.node_id}")


@runtime_checkable
class NodeStore(Protocol):
    """Where a :class:`~dqliteclient.ClusterClient` reads (and may record) the members."""

    async def get_nodes(self) -> Sequence[NodeInfo]:
        """The members known now (the caller must not change the sequence)."""
        ...

    async def set_nodes(self, nodes: Sequence[NodeInfo]) -> None:
        """Replaces the members."""
        ...


def normalise_nodes(nodes: Iterable[NodeInfo]) -> tuple[NodeInfo, ...]:
    """The members with addresses stripped and checked, duplicates dropped.

    Duplicates have the same canonical ``(host, port)``. Raises ``ValueError`` or
    ``TypeError`` for a bad address.
    """
    seen: set[tuple[str, int]] = set()
    kept: list[NodeInfo] = []
    for node in nodes:
        if not isinstance(node.address, str):
            raise TypeError(f"NodeInfo.address must be a str, got {type(node.address).__name__}")
        address = node.address.strip()
        if not address:
            raise ValueError("NodeInfo.address must be a non-empty 'host:port' string")
        try:
            canonical = parse_address(address)
        except ValueError as e:
            raise ValueError(f"NodeInfo.address {address!r} is not a valid 'host:port': {e}") from e
        if canonical in seen:
            continue
        seen.add(canonical)
        kept.append(node if address == node.address else NodeInfo(node.node_id, address, node.role))
        if len(kept) > MAX_NODE_COUNT:
            raise ValueError(f"too many nodes: more than {MAX_NODE_COUNT}")
    return tuple(kept)


class _KeptNodes:
    """Members kept in memory (as last set, or read), refused in a forked process."""

    _nodes: tuple[NodeInfo, ...] = ()

    def __init__(self) -> None:
        self._pid = get_current_pid()

    def _check_pid(self) -> None:
        check_same_process(self._pid, type(self).__name__)

    def snapshot(self) -> tuple[NodeInfo, ...]:
        """The members, without awaiting (for the blocking client)."""
        self._check_pid()
        return self._nodes

    async def get_nodes(self) -> Sequence[NodeInfo]:
        """The members."""
        return self.snapshot()


class MemoryNodeStore(_KeptNodes):
    """Members kept in memory, seeded from ``host:port`` strings (recorded as voters)."""

    def __init__(self, addresses: Sequence[str] | None = None) -> None:
        super().__init__()
        seeds: list[NodeInfo] = []
        for address in addresses or ():
            if not isinstance(address, str):
                raise TypeError(
                    f"addresses must be 'host:port' strings, got {type(address).__name__}"
                )
            seeds.append(NodeInfo(len(seeds) + 1, address, NodeRole.VOTER))
        self._nodes = normalise_nodes(seeds)

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"cannot pickle {type(self).__name__!r}; rebuild it from its seed instead")

    async def set_nodes(self, nodes: Sequence[NodeInfo]) -> None:
        """Replaces the members (checked and de-duplicated)."""
        self._check_pid()
        self._nodes = normalise_nodes(nodes)


def _from_tuple(path: Path, index: int, entry: tuple[int, str, int]) -> NodeInfo:
    node_id, address, role = entry
    try:
        return NodeInfo(node_id, address, NodeRole(role))
    except (TypeError, ValueError) as e:
        raise ClusterError(f"YamlNodeStore: {path}[{index}]: {e}") from e


class YamlNodeStore(_KeptNodes):
    """Members kept in go-dqlite's YAML node store (its ``cluster.yaml``).

    The file looks like this::

        - ID: 1
          Address: node1:9001
          Role: 0

    Read and written by the Rust client's store (``dqlite_client::YamlNodeStore``, shared
    with ``dqlite-shell``): keys in any case, roles as numbers or names (``voter``,
    ``standby``, ``spare``) on read; written as go-dqlite writes it, atomically (a
    temporary file renamed over the old), mode 0600. The file is read at construction;
    a missing file is an empty store. No PyYAML needed.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self._path = Path(path)
        self._lock = asyncio.Lock()
        self._nodes = self._load()

    def __reduce__(self) -> tuple[type["YamlNodeStore"], tuple[str]]:
        return (type(self), (str(self._path),))

    @classmethod
    async def create(cls, path: str | os.PathLike[str]) -> "YamlNodeStore":
        """A store for ``path``, its file read off the event loop."""
        return await asyncio.to_thread(cls, path)

    @property
    def path(self) -> Path:
        """The file."""
        return self._path

    async def set_nodes(self, nodes: Sequence[NodeInfo]) -> None:
        """Writes ``nodes`` to the file (off the event loop), then serves them."""
        self._check_pid()
        kept = normalise_nodes(nodes)
        async with self._lock:
            write = asyncio.ensure_future(asyncio.to_thread(self._write, kept))

            def publish(done: "asyncio.Future[None]") -> None:
                # The write runs on even if the awaiting task is cancelled: follow the file.
                if not done.cancelled() and done.exception() is None:
                    self._nodes = kept

            write.add_done_callback(publish)
            await asyncio.shield(write)

    def write(self, nodes: Sequence[NodeInfo]) -> None:
        """Writes ``nodes`` to the file now, blocking (for the blocking client)."""
        self._check_pid()
        kept = normalise_nodes(nodes)
        self._write(kept)
        self._nodes = kept

    def _load(self) -> tuple[NodeInfo, ...]:
        try:
            entries = _native.yaml_store_read(self._path)
        except _native.ClientFailure as e:
            raise ClusterError(f"YamlNodeStore: cannot read {self._path}: {e}") from e
        nodes = [_from_tuple(self._path, i, entry) for i, entry in enumerate(entries)]
        try:
            return normalise_nodes(nodes)
        except (TypeError, ValueError) as e:
            raise ClusterError(f"YamlNodeStore: {self._path}: {e}") from e

    def _write(self, nodes: tuple[NodeInfo, ...]) -> None:
        entries = [(n.node_id, n.address, int(n.role)) for n in nodes]
        try:
            _native.yaml_store_write(self._path, entries)
        except _native.ClientFailure as e:
            raise ClusterError(f"YamlNodeStore: cannot write {self._path}: {e}") from e
