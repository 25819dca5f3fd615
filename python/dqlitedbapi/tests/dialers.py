"""``dial_func`` callables for the tests: seeds named ``node-N-K.invalid:9001``, which only
the dialer can resolve (to the test cluster's node N); any other address (the leader a
node names) is dialed as given. ``K`` is new for each dialer: the driver remembers, per
seed list, the members earlier connections learned, and a test that checks what its
dialer dials first wants seeds no connection has used yet."""

from __future__ import annotations

import asyncio
import itertools
import socket
from typing import Any

_dialers = itertools.count()


class NodeDialer:
    """Dials the test cluster's nodes by made-up names, and records what it dialed."""

    def __init__(self, addresses: list[str]) -> None:
        k = next(_dialers)
        self.names = {f"node-{i}-{k}.invalid:9001": a for i, a in enumerate(addresses)}
        self.seeds = ",".join(self.names)
        self.dialed: list[str] = []
        self.loops: set[asyncio.AbstractEventLoop] = set()

    def _target(self, address: str) -> tuple[str, int]:
        self.dialed.append(address)
        host, port = self.names.get(address, address).rsplit(":", 1)
        return host, int(port)

    async def streams(self, address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """As the reference's dial_func: an asyncio stream pair."""
        self.loops.add(asyncio.get_running_loop())
        return await asyncio.open_connection(*self._target(address))

    def socket(self, address: str) -> socket.socket:
        """A plain function returning a connected socket."""
        return socket.create_connection(self._target(address), timeout=5)

    async def nonsense(self, address: str) -> Any:
        """Returns what no driver can use."""
        self._target(address)
        return "not a connection"
