"""A fake dqlite node, for what a real one cannot do on demand.

It speaks just enough of the protocol (``docs/protocol.md``, sections 2 and 3) to put a
client where a real node puts it only rarely or not at will: a huge single frame, a
COMMIT answered with a failure that leaves it in doubt. It leads (LEADER names itself),
welcomes any client, opens any database and answers INTERRUPT; every other request goes
to the test's ``answer(type, body)``. Tests with it sit beside real-cluster tests, never
instead of them.

Usage::

    from dqlite_testkit.fake import EXEC_SQL, RESULT, FakeNode, frame

    def answer(kind: int, body: bytes) -> bytes:
        return frame(RESULT, struct.pack("<QQ", 0, 0))

    with FakeNode(answer) as node:
        ...  # connect to node.address
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

# Request type codes.
LEADER, CLIENT, OPEN, EXEC_SQL, QUERY_SQL, INTERRUPT = 0, 1, 3, 8, 9, 10
# Response type codes.
FAILURE, SERVER, WELCOME, DB, RESULT, ROWS, EMPTY = 0, 1, 2, 4, 6, 7, 8
# The end of a result's rows, and the INTEGER column type.
DONE = b"\xff" * 8
INTEGER = 1

Answer = Callable[[int, bytes], bytes]
"""``answer(type, body)``: the frame a request of that type and body gets."""


def text(value: str) -> bytes:
    """A protocol string: UTF-8, a NUL, zero padding to a word."""
    raw = value.encode() + b"\0"
    return raw + b"\0" * (-len(raw) % 8)


def frame(kind: int, body: bytes) -> bytes:
    """A response frame of type ``kind`` (``body``'s length is a whole number of words)."""
    return struct.pack("<IBBH", len(body) // 8, kind, 0, 0) + body


def failure(code: int, message: str) -> bytes:
    """A FAILURE frame with the server's ``code`` and ``message``."""
    return frame(FAILURE, struct.pack("<Q", code) + text(message))


def unsupported(kind: int, body: bytes) -> bytes:
    """The answer to a request a fake node does not play."""
    return failure(1, "not supported by the fake node")


def commit_answered(commit_answer: bytes) -> Answer:
    """The answers of a leader that runs every EXEC_SQL (no row changed) but COMMIT, which
    gets ``commit_answer`` (a :func:`failure`, say)."""

    def answer(kind: int, body: bytes) -> bytes:
        if kind == EXEC_SQL and b"COMMIT" in body:
            return commit_answer
        if kind == EXEC_SQL:
            return frame(RESULT, struct.pack("<QQ", 0, 0))
        return unsupported(kind, body)

    return answer


class FakeNode:
    """A node on 127.0.0.1 that leads, opens any database, and answers other requests
    with ``answer(type, body)``; a thread per connection. ``close()`` (or leaving a
    ``with`` block) closes its sockets and joins its threads."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _reply(self, kind: int, body: bytes) -> bytes:
        if kind == LEADER:
            return frame(SERVER, struct.pack("<Q", 1) + text(self.address))
        if kind == CLIENT:
            return frame(WELCOME, struct.pack("<Q", 15_000))
        if kind == OPEN:
            return frame(DB, struct.pack("<II", 0, 0))
        if kind == INTERRUPT:
            return frame(EMPTY, struct.pack("<Q", 0))
        return self._answer(kind, body)

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as stream:
            # The handshake: the protocol version, one word.
            if len(stream.read(8)) < 8:
                return
            while len(head := stream.read(8)) == 8:
                words, kind = struct.unpack("<IB", head[:5])
                body = stream.read(words * 8)
                try:
                    conn.sendall(self._reply(kind, body))
                except OSError:
                    return

    def close(self) -> None:
        """Closes the node's sockets and waits for its threads."""
        # shutdown() wakes a thread blocked on the socket; close() alone would not.
        for sock in [self._listener, *self._conns]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._accepting.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
