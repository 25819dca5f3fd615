"""``dial_func``: the connections to the nodes opened by the caller's callable.

As in the pure-Python ``dqlite-dbapi`` 0.8.0 (go-dqlite's ``WithDialFunc``),
``dial_func(address)`` is called for every node the driver connects to (seeds, and the
leader nodes name), with the address as given or named. It returns (or is a coroutine
function returning) an asyncio ``(StreamReader, StreamWriter)`` pair, as the reference's
does, or a connected ``socket.socket``. The driver reads and writes the socket itself:
it takes the socket (TCP or Unix; not one under asyncio TLS) and closes the pair.

The native client has :func:`native_dialer`'s callable called with a placeholder file
descriptor, which the dialed socket replaces (``os.dup2``), on a daemon thread of its own
(:func:`start_call`), whose end it learns through a callback and never waits for: a call
for a node that lost the race for the leader may outlive its connection. For an asyncio
connection ``dial_func`` runs on the connection's event loop; for a blocking one, on a
fresh event loop in that thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from dqlitedbapi import exceptions as exc

__all__ = ["native_dialer", "start_call"]

_FAMILIES = (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX)


class _Slot:
    """The placeholder file descriptor, until the dial is given up.

    After that it is never touched: its number may name another file by then.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._open = True

    def take(self, sock: Any) -> None:
        """Puts the connected stream socket ``sock`` in place of the placeholder."""
        if sock.type != socket.SOCK_STREAM or sock.family not in _FAMILIES:
            raise exc.NotSupportedError(
                "dial_func must give a TCP or Unix stream socket, "
                f"got family {sock.family!r}, type {sock.type!r}"
            )
        with self._lock:
            if self._open:
                os.dup2(sock.fileno(), self._fd, inheritable=False)

    def give_up(self) -> None:
        with self._lock:
            self._open = False


async def _dial_into(dial_func: Callable[[str], Any], address: str, slot: _Slot) -> None:
    """Calls ``dial_func(address)`` and puts the socket it gives in ``slot``."""
    dialed = dial_func(address)
    if inspect.isawaitable(dialed):
        dialed = await dialed
    if isinstance(dialed, socket.socket):
        with dialed:
            slot.take(dialed)
        return
    if not (
        isinstance(dialed, tuple)
        and len(dialed) == 2
        and isinstance(dialed[1], asyncio.StreamWriter)
    ):
        raise exc.InterfaceError(
            "dial_func must return a connected socket.socket or a (StreamReader, "
            f"StreamWriter) pair, got {type(dialed).__name__}"
        )
    writer: asyncio.StreamWriter = dialed[1]
    try:
        sock = writer.get_extra_info("socket")
        if writer.get_extra_info("sslcontext") is not None or sock is None:
            raise exc.NotSupportedError(
                "dial_func returned a stream that is not a plain socket (TLS or a pipe): "
                "give the driver's tls= instead, or return the socket"
            )
        slot.take(sock)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def native_dialer(
    dial_func: Callable[[str], Any],
    loop: asyncio.AbstractEventLoop | None,
    timeout: float,
) -> Callable[[str, int], None]:
    """The ``dialer`` the native connection calls: ``(address, fd) -> None``, blocking.

    ``loop``: the asyncio connection's event loop (``dial_func`` runs there), or ``None``
    for a blocking connection. ``timeout`` bounds each dial.
    """

    def dial(address: str, fd: int) -> None:
        slot = _Slot(fd)
        try:
            if loop is None:

                async def bounded() -> None:
                    async with asyncio.timeout(timeout):
                        await _dial_into(dial_func, address, slot)

                asyncio.run(bounded())
                return
            coro = _dial_into(dial_func, address, slot)
            try:
                future = asyncio.run_coroutine_threadsafe(coro, loop)
                future.result(timeout)
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise TimeoutError(f"dial_func({address!r}) took more than {timeout} s") from None
            finally:
                # A call that outlived its connection may find the loop closed, before or
                # after it was handed the coroutine: never run, it is closed here (else it
                # warns that it was never awaited).
                if loop.is_closed() and inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                    coro.close()
        finally:
            slot.give_up()

    return dial


def start_call(
    dialer: Callable[[str, int], None],
    address: str,
    fd: int,
    done: Callable[[str | None], None],
) -> None:
    """Calls ``dialer(address, fd)`` on a new daemon thread, then ``done(error)``.

    ``error`` is ``None`` when the call returned, else what it raised (for the driver's
    error). Called by the native client, which never waits for this thread (see the
    module's docstring).
    """

    def run() -> None:
        error: str | None = None
        try:
            dialer(address, fd)
        except BaseException as e:  # handed to the driver, which raises it
            error = f"{type(e).__name__}: {e}"
        done(error)

    threading.Thread(target=run, name=f"dqlitedbapi-dial {address}", daemon=True).start()
