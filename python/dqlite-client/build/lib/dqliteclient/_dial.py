"""The type of a custom dialer (go-dqlite's ``WithDialFunc``)."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeAlias

__all__ = ["DialFunc"]

DialFunc: TypeAlias = Callable[[str], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
"""``async def dial(address) -> (reader, writer)``: opens the stream to a node.

Accepted for compatibility with the pure-Python client; this client dials in Rust and
refuses a ``dial_func`` (see the package README).
"""


def refuse_dial_func(dial_func: DialFunc | None) -> None:
    """Raises ``NotImplementedError`` for a custom dialer, which this client cannot use."""
    if dial_func is not None:
        raise NotImplementedError(
            "dial_func is not supported: this dqliteclient dials nodes in Rust "
            "(dqlitedbapi._native) and cannot use Python streams"
        )
