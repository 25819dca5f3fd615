"""A COMMIT whose outcome the node cannot know, played by a fake node.

A leader that fails to persist or replicate the COMMIT's entry answers with a code of the
SQLITE_IOERR family (a full disk: 778) or with SQLITE_ABORT (shutting down), not only with
"leadership lost" (10506); the next leader may still commit the entry. ``transaction()``
must raise ``AmbiguousCommitError`` for each, never a plain error that reads as "refused,
rolled back".
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dqlite_testkit.fake import FakeNode, commit_answered, failure

from dqliteclient import AmbiguousCommitError, DqliteConnection, OperationalError
from dqliteclient import blocking as sync


class CommitFailingNode(FakeNode):
    """A leader on 127.0.0.1 that runs every EXEC_SQL but COMMIT, which it answers with
    FAILURE ``code``."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(commit_answered(failure(code, message)))


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
