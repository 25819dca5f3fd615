"""A COMMIT whose outcome the node cannot know, played by a fake node.

A leader that fails to persist or replicate the COMMIT's entry answers with a code of the
SQLITE_IOERR family (a full disk: 778) or with SQLITE_ABORT (shutting down), not only with
"leadership lost" (10506); the next leader may still commit the entry. ``transaction()``
must raise ``AmbiguousCommitError`` for each, never a plain error that reads as "refused,
rolled back".
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from dqliteclient import AmbiguousCommitError, DqliteConnection, OperationalError
from dqliteclient import blocking as sync

# Request and response type codes (docs/protocol.md, sections 2 and 3).
LEADER, CLIENT, OPEN, EXEC_SQL = 0, 1, 3, 8
FAILURE, SERVER, WELCOME, DB, RESULT = 0, 1, 2, 4, 6


def text(value: str) -> bytes:
    raw = value.encode() + b"\0"
    return raw + b"\0" * (-len(raw) % 8)


def frame(kind: int, body: bytes) -> bytes:
    return struct.pack("<IBBH", len(body) // 8, kind, 0, 0) + body


class CommitFailingNode:
    """A leader on 127.0.0.1 that runs every EXEC_SQL but COMMIT, which it answers with
    FAILURE ``code``."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self._failure = frame(FAILURE, struct.pack("<Q", code) + text(message))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
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

    def _answer(self, kind: int, body: bytes) -> bytes:
        if kind == LEADER:
            return frame(SERVER, struct.pack("<Q", 1) + text(self.address))
        if kind == CLIENT:
            return frame(WELCOME, struct.pack("<Q", 15_000))
        if kind == OPEN:
            return frame(DB, struct.pack("<II", 0, 0))
        if kind == EXEC_SQL and b"COMMIT" in body:
            return self._failure
        if kind == EXEC_SQL:
            return frame(RESULT, struct.pack("<QQ", 0, 0))
        return frame(FAILURE, struct.pack("<Q", 1) + text("not supported by the fake node"))

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as stream:
            if len(stream.read(8)) < 8:
                return
            while len(head := stream.read(8)) == 8:
                words, kind = struct.unpack("<IB", head[:5])
                body = stream.read(words * 8)
                try:
                    conn.sendall(self._answer(kind, body))
                except OSError:
                    return

    def close(self) -> None:
        for sock in [self._listener, *self._conns]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._accepting.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)


IN_DOUBT = [
    (10506, "leadership lost"),  # SQLITE_IOERR_LEADERSHIP_LOST
    (778, "disk I/O error"),  # SQLITE_IOERR_WRITE: a full disk
    (10, "disk I/O error"),  # SQLITE_IOERR
    (4, "abort due to shutdown"),  # SQLITE_ABORT
]


@pytest.fixture(params=IN_DOUBT, ids=[str(code) for code, _ in IN_DOUBT])
def node(request: pytest.FixtureRequest) -> Iterator[CommitFailingNode]:
    code, message = request.param
    fake = CommitFailingNode(code, message)
    yield fake
    fake.close()


async def test_a_commit_in_doubt_is_ambiguous(node: CommitFailingNode) -> None:
    async with DqliteConnection(node.address, timeout=5) as conn:
        with pytest.raises(AmbiguousCommitError) as info:
            async with conn.transaction():
                await conn.execute("INSERT INTO t VALUES (1)")
        assert info.value.code == node.code
        assert not conn.in_transaction


def test_a_blocking_commit_in_doubt_is_ambiguous(node: CommitFailingNode) -> None:
    with sync.DqliteConnection(node.address, timeout=5) as conn:
        with pytest.raises(AmbiguousCommitError) as info, conn.transaction():
            conn.execute("INSERT INTO t VALUES (1)")
        assert info.value.code == node.code
        assert not conn.in_transaction


async def test_a_refused_commit_is_not_ambiguous() -> None:
    # SQLITE_BUSY: the node refused the COMMIT before running it; nothing is in doubt.
    fake = CommitFailingNode(5, "database is locked")
    try:
        async with DqliteConnection(fake.address, timeout=5) as conn:
            with pytest.raises(OperationalError) as info:
                async with conn.transaction():
                    await conn.execute("INSERT INTO t VALUES (1)")
            assert not isinstance(info.value, AmbiguousCommitError)
            assert info.value.code == 5
    finally:
        fake.close()
