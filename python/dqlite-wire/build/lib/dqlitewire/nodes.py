"""Cluster members as the protocol describes them."""

from dataclasses import dataclass
from typing import final

from dqlitewire.constants import NodeRole
from dqlitewire.exceptions import EncodeError

__all__ = ["NodeInfo"]

_UINT64_MAX = (1 << 64) - 1


@final
@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One member: Raft id (1 or more), address, role (a ``NodeRole`` or its number).

    Frozen and hashable. Raises :class:`~dqlitewire.EncodeError` for an id of 0 or out of
    64-bit range, an empty address or an unknown role.
    """

    node_id: int
    address: str
    role: NodeRole

    def __post_init__(self) -> None:
        if isinstance(self.node_id, bool) or not isinstance(self.node_id, int):
            raise EncodeError(f"NodeInfo: node_id must be int, got {type(self.node_id).__name__}")
        if not 1 <= self.node_id <= _UINT64_MAX:
            raise EncodeError(f"NodeInfo: node_id must be in 1..2**64-1, got {self.node_id}")
        if not self.address:
            raise EncodeError(f"NodeInfo: address must be non-empty for node_id={self.node_id}")
        if isinstance(self.role, NodeRole):
            return
        try:
            role = NodeRole(self.role)
        except ValueError as e:
            raise EncodeError(
                f"NodeInfo: unknown role {self.role!r}; valid roles are "
                "0 (VOTER), 1 (STANDBY), 2 (SPARE)"
            ) from e
        object.__setattr__(self, "role", role)
