"""What the asyncio and the blocking ``DqliteConnection`` share.

Their settings, the checks of arguments, transaction tracking and the handling of
failures: the two classes only differ in how they wait for the native session.
"""

import contextlib
from collections.abc import Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from dqliteclient._dial import DialFunc, dialer_for_call
from dqliteclient._failures import ClientFailure, connect_error, request_error
from dqliteclient._validate import (
    parse_address,
    validate_close_timeout,
    validate_positive_int_or_none,
    validate_timeout,
)
from dqliteclient.exceptions import (
    AmbiguousCommitError,
    DataError,
    DqliteConnectionError,
    DqliteError,
    OperationalError,
)
from dqlitedbapi import _native
from dqlitewire import (
    LEADER_ERROR_CODES,
    LEADER_LOST_DB_LOOKUP_SUBSTRING,
    NO_TRANSACTION_MESSAGE_SUBSTRINGS,
    SQLITE_ABORT,
    SQLITE_IOERR,
    SQLITE_IOERR_LEADERSHIP_LOST,
    SQLITE_IOERR_LEADERSHIP_LOST_LEGACY,
    SQLITE_IOERR_NOT_LEADER,
    SQLITE_IOERR_NOT_LEADER_LEGACY,
    SQLITE_NOTFOUND,
    TX_AUTO_ROLLBACK_PRIMARY_CODES,
    primary_sqlite_code,
)

__all__ = [
    "SessionHolder",
    "Settings",
    "Tracker",
    "commit_error",
    "is_no_transaction_error",
    "validate_params",
]

_LEADERSHIP_LOST: Final[frozenset[int]] = frozenset(
    {SQLITE_IOERR_LEADERSHIP_LOST, SQLITE_IOERR_LEADERSHIP_LOST_LEGACY}
)
_NOT_LEADER: Final[frozenset[int]] = frozenset(
    {SQLITE_IOERR_NOT_LEADER, SQLITE_IOERR_NOT_LEADER_LEGACY}
)

Row = list[Any]
TypedResult = tuple[list[str], list[int], list[list[int]], list[Row]]


def is_no_transaction_error(exc: BaseException) -> bool:
    """True for the server's "no transaction is active" answer to COMMIT or ROLLBACK."""
    if not isinstance(exc, OperationalError) or primary_sqlite_code(exc.code) != 1:
        return False
    text = (exc.raw_message or exc.message).lower()
    return any(s in text for s in NO_TRANSACTION_MESSAGE_SUBSTRINGS)


def is_leader_change(exc: OperationalError) -> bool:
    """True when ``exc`` says the node is not, or no longer, the leader."""
    if exc.code in LEADER_ERROR_CODES:
        return True
    text = (exc.raw_message or exc.message or "").lower()
    return exc.code == SQLITE_NOTFOUND and text.startswith(LEADER_LOST_DB_LOOKUP_SUBSTRING)


def validate_params(params: object) -> None:
    """Refuses text, mappings, sets and one-shot iterators as parameters."""
    if params is None:
        return
    if isinstance(params, str | bytes | bytearray | memoryview):
        raise DataError(
            f"params must be a sequence of values, not {type(params).__name__}; "
            "wrap a single value in a tuple"
        )
    if isinstance(params, Mapping):
        raise DataError("params must be a positional sequence, not a mapping")
    if isinstance(params, set | frozenset):
        raise DataError("params must be an ordered sequence, not a set")
    if not isinstance(params, Sized):
        raise DataError(
            f"params must be a sized sequence, not {type(params).__name__}; "
            "single-shot iterators are rejected because a retry could not replay them"
        )


@dataclass(frozen=True)
class Settings:
    """A connection's checked settings."""

    address: str
    database: str
    timeout: float
    dial_timeout: float
    attempt_timeout: float
    max_total_rows: int | None
    max_continuation_frames: int | None
    trust_server_heartbeat: bool
    close_timeout: float
    max_message_size: int | None
    dial_func: DialFunc | None = None

    @classmethod
    def check(
        cls,
        address: str,
        *,
        database: str,
        timeout: float,
        dial_timeout: float | None,
        attempt_timeout: float | None,
        max_total_rows: int | None,
        max_continuation_frames: int | None,
        trust_server_heartbeat: bool,
        close_timeout: float,
        max_message_size: int | None,
        dial_func: DialFunc | None = None,
    ) -> "Settings":
        """The settings, each argument checked as the reference client checks it."""
        validate_timeout(timeout)
        validate_close_timeout(close_timeout)
        if dial_timeout is not None:
            validate_timeout(dial_timeout, name="dial_timeout")
        if attempt_timeout is not None:
            validate_timeout(attempt_timeout, name="attempt_timeout")
        parse_address(address)
        return cls(
            address=address,
            database=database,
            timeout=timeout,
            dial_timeout=timeout if dial_timeout is None else dial_timeout,
            attempt_timeout=timeout if attempt_timeout is None else attempt_timeout,
            max_total_rows=validate_positive_int_or_none(max_total_rows, "max_total_rows"),
            max_continuation_frames=validate_positive_int_or_none(
                max_continuation_frames, "max_continuation_frames"
            ),
            trust_server_heartbeat=trust_server_heartbeat,
            close_timeout=close_timeout,
            max_message_size=validate_positive_int_or_none(max_message_size, "max_message_size"),
            dial_func=dial_func,
        )

    def open(self, *, asynchronous: bool) -> Any:
        """``NativeSession.open`` with these settings (a session, or an awaitable of one)."""
        return _native.NativeSession.open(
            self.address,
            self.database,
            timeout=self.timeout,
            dial_timeout=self.dial_timeout,
            attempt_timeout=self.attempt_timeout,
            max_frame_len=self.max_message_size,
            asynchronous=asynchronous,
            dialer=dialer_for_call(self.dial_func, self.dial_timeout, asynchronous=asynchronous),
        )

    def connect_error(self, failure: ClientFailure) -> DqliteError:
        """The exception for a failure to open the session."""
        return connect_error(failure, self.address, self.dial_timeout, self.attempt_timeout)

    def query_caps(self) -> dict[str, int | None]:
        """The caps ``NativeSession.query`` takes."""
        return {"max_rows": self.max_total_rows, "max_frames": self.max_continuation_frames}


class Tracker:
    """Whether a transaction is open, as far as the statements run and errors seen tell.

    A conservative view, kept as the reference client keeps it.
    """

    def __init__(self) -> None:
        self.in_transaction = False

    def after_success(self, sql: str) -> None:
        """BEGIN and SAVEPOINT open a transaction; COMMIT, END and ROLLBACK close it."""
        self._apply(_native.transaction_effects(sql))

    def _apply(self, effects: list[int]) -> None:
        for effect in effects:
            if effect > 0:
                self.in_transaction = True
            elif effect < 0:
                self.in_transaction = False

    def after_failure(
        self, failure: ClientFailure, address: str, sql: str | None = None
    ) -> tuple[DqliteError, bool]:
        """The exception for a failed request, and whether the session is lost.

        ``sql``: the statements of an execute. When one of several failed, those before it
        ran, and their BEGIN or COMMIT counts.
        """
        exc = request_error(failure, address)
        lost = bool(failure.connection_lost)
        ran = getattr(failure, "statement", None)
        if sql is not None and ran:
            self._apply(_native.transaction_effects(sql)[:ran])
        if isinstance(exc, OperationalError):
            if is_leader_change(exc):
                lost = True
            elif primary_sqlite_code(exc.code) in TX_AUTO_ROLLBACK_PRIMARY_CODES or (
                is_no_transaction_error(exc)
            ):
                self.in_transaction = False
        if lost:
            self.in_transaction = False
        return exc, lost


class SessionHolder:
    """The part of a ``DqliteConnection`` that does not wait: its session and its state.

    The asyncio and the blocking class add how one operation at a time is enforced
    (``_operation``) and how a request is awaited.
    """

    _settings: Settings
    _session: _native.NativeSession | None
    _tracker: Tracker

    def _operation(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    @property
    def address(self) -> str:
        """The node's address, as given."""
        return self._settings.address

    @property
    def is_connected(self) -> bool:
        """True while the session is open and usable."""
        return self._session is not None and self._session.is_connected

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open, as far as the statements run tell (conservative)."""
        return self._tracker.in_transaction

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"cannot pickle {type(self).__name__!r}: it owns a live socket")

    def _invalidate(self) -> _native.NativeSession | None:
        """Closes the session; a call running on it (another thread's or task's) is cut off.

        Returns the session when that call still holds it: ``wait_closed`` waits for it.
        """
        session, self._session = self._session, None
        self._tracker.in_transaction = False
        if session is None or session.close():
            return None
        return session

    @contextlib.contextmanager
    def _request(self, sql: str | None = None) -> Iterator[_native.NativeSession]:
        """The session for one request, inside ``_operation`` (``sql``: an execute's).

        A failure is raised as the client's exception; the session is dropped when the
        failure lost it, and on anything else (a cancelled or interrupted request may
        still be running).
        """
        with self._operation():
            session = self._session
            if session is None:
                raise DqliteConnectionError("Not connected")
            try:
                yield session
            except ClientFailure as failure:
                exc, lost = self._tracker.after_failure(failure, self.address, sql)
                if lost:
                    self._invalidate()
                raise exc from None
            except BaseException:
                self._invalidate()
                raise


def leaves_commit_in_doubt(code: int) -> bool:
    """True when a COMMIT answered with ``code`` may still have been applied.

    Leadership lost, any other code of the SQLITE_IOERR family (the leader failed to
    persist or replicate an entry it may already have sent, which the next leader may
    still commit; a full disk answers 778) and the SQLITE_ABORT family (the node shut
    down under the write). "Not leader" is not among them: that check runs first.
    """
    if code in _NOT_LEADER:
        return False
    return code in _LEADERSHIP_LOST or primary_sqlite_code(code) in (SQLITE_IOERR, SQLITE_ABORT)


def commit_error(exc: OperationalError) -> OperationalError:
    """``exc`` from COMMIT, as :class:`AmbiguousCommitError` when its outcome is unknown."""
    if leaves_commit_in_doubt(exc.code):
        what = "leadership lost" if exc.code in _LEADERSHIP_LOST else "the node failed"
        return AmbiguousCommitError(
            f"{what} during COMMIT; the transaction may or may not have been "
            f"applied: {exc.message}",
            exc.code,
            raw_message=exc.raw_message,
        )
    return exc


def typed_result(raw: tuple[Sequence[str], list[int], list[list[int]], list[Row]]) -> TypedResult:
    """``NativeSession.query``'s result with the column names as a list."""
    columns, column_types, row_types, rows = raw
    return list(columns), list(column_types), row_types, rows
