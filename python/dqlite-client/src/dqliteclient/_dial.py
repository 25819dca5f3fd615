"""``dial_func``: the connections to the nodes opened by the caller.

As go-dqlite's ``WithDialFunc``, ``dial_func(address)`` is awaited for every node the
client connects to (seeds, and the leaders nodes name) and gives an asyncio
``(StreamReader, StreamWriter)`` pair (or a connected ``socket.socket``). The Rust client
then reads and writes that pair's socket itself (``dqlitedbapi._dial`` puts it in place);
a TLS stream is refused.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from dqlitedbapi._dial import native_dialer

__all__ = ["DialFunc", "LoopDialer", "dialer_for_call"]

DialFunc: TypeAlias = Callable[[str], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
"""``async def dial(address) -> (reader, writer)``: opens the stream to a node."""


def dialer_for_call(
    dial_func: DialFunc | None, timeout: float, *, asynchronous: bool
) -> Callable[[str, int], None] | None:
    """The native ``dialer`` of one call (None without ``dial_func``).

    ``dial_func`` runs on the running event loop (``asynchronous``: called inside it), or
    else on a fresh one in the dialing thread.
    """
    if dial_func is None:
        return None
    loop = asyncio.get_running_loop() if asynchronous else None
    return native_dialer(dial_func, loop, timeout)


class LoopDialer:
    """The native ``dialer`` of an object built outside any event loop.

    ``dial_func`` runs on the loop of the latest call that :meth:`enter` saw; a blocking
    object never calls it, and ``dial_func`` then gets a fresh loop in the dialing thread.
    """

    def __init__(self, dial_func: DialFunc, timeout: float) -> None:
        self._dial_func = dial_func
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None

    def enter(self) -> None:
        """Called at the start of each asyncio call, inside its event loop."""
        self._loop = asyncio.get_running_loop()

    def __call__(self, address: str, fd: int) -> None:
        native_dialer(self._dial_func, self._loop, self._timeout)(address, fd)
