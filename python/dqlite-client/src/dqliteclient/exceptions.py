"""The exceptions of the dqlite client, as the pure-Python ``dqlite-client`` 0.8.0 has them.

``DqliteError`` is the base. Every exception keeps ``raw_message``: the server's own
text (capped), or ``None`` when the client raised it by itself.
"""

from typing import Any, ClassVar

from dqlitewire import DEFAULT_MAX_RAW_MESSAGE, cap_raw_message, sanitize_server_text
from dqlitewire import ProtocolError as _WireProtocolError

__all__ = [
    "AmbiguousCommitError",
    "ClusterError",
    "ClusterPolicyError",
    "DataError",
    "DqliteConnectionError",
    "DqliteError",
    "InterfaceError",
    "OperationalError",
    "OutcomeUnknownError",
    "ProtocolError",
]


class DqliteError(Exception):
    """Base of the client's exceptions; ``raw_message`` is the server's text or None."""

    _MAX_RAW_MESSAGE: ClassVar[int] = DEFAULT_MAX_RAW_MESSAGE

    raw_message: str | None

    def __init__(self, *args: object, raw_message: str | None = None) -> None:
        super().__init__(*args)
        self.raw_message = cap_raw_message(raw_message, self._MAX_RAW_MESSAGE)

    def __getstate__(self) -> dict[str, object]:
        return self.__dict__.copy()

    def __setstate__(self, state: dict[str, Any] | None) -> None:
        if state:
            self.__dict__.update(state)

    def __reduce__(self) -> tuple[type["DqliteError"], tuple[object, ...], dict[str, object]]:
        # Pickled with its attributes (code, raw_message), which args alone would lose.
        return (type(self), self.args, self.__getstate__())


class DqliteConnectionError(DqliteError):
    """The connection could not be made or was lost; ``code`` is the server's, if any."""

    code: int | None

    def __init__(
        self, message: str = "", *, code: int | None = None, raw_message: str | None = None
    ) -> None:
        self.code = code
        super().__init__(message, raw_message=raw_message)

    def __repr__(self) -> str:
        text = self.args[0] if self.args else ""
        if self.code is None:
            return f"{type(self).__name__}({text!r})"
        return f"{type(self).__name__}({text!r}, code={self.code!r})"


class OutcomeUnknownError(DqliteConnectionError):
    """The connection was lost after a request that may change data was sent whole.

    The node may or may not have applied it: check before running it again, or make it
    idempotent. A ``DqliteConnectionError``, so code written for 0.8.0 catches it as
    before; :func:`~dqliteclient.retry_with_backoff` does not retry it unless told to
    (0.8.0 retries it, and so applies the write twice).
    """


class ProtocolError(DqliteError, _WireProtocolError):
    """The server broke the protocol (or a result went over its caps).

    Also a ``dqlitewire.ProtocolError``.
    """


class InterfaceError(DqliteError):
    """The client was misused: a closed connection, another event loop, a fork."""


class ClusterError(DqliteError):
    """The cluster could not be used: no leader found, no nodes configured."""


class ClusterPolicyError(ClusterError):
    """A policy refused the request; retrying cannot help.

    A node named an address the redirect policy refuses, or an admin call would take the
    vote of the cluster's last voter (``assign_role``/``remove_node`` without
    ``force=True``), which leaves the cluster without a leader for good.
    """


class DataError(DqliteError):
    """A parameter cannot be sent (a type the protocol has no value for, an int too big)."""


class OperationalError(DqliteError):
    """The server answered with an error: ``code`` is its (extended) code.

    ``message`` is made safe to show (control characters replaced, cut after 1024
    characters); ``raw_message`` keeps the server's text as it came.
    """

    _MAX_DISPLAY_MESSAGE: ClassVar[int] = 1024

    code: int
    message: str
    raw_message: str

    def __init__(self, message: str, code: int, *, raw_message: str | None = None) -> None:
        self.code = code
        shown = sanitize_server_text(message)
        if len(shown) > self._MAX_DISPLAY_MESSAGE:
            cut = len(shown) - self._MAX_DISPLAY_MESSAGE
            shown = f"{shown[: self._MAX_DISPLAY_MESSAGE]}... [truncated, {cut} chars]"
        self.message = shown
        super().__init__(shown, code, raw_message=message if raw_message is None else raw_message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class AmbiguousCommitError(OperationalError):
    """COMMIT failed in a way that leaves its outcome unknown.

    Leadership was lost, or the leader answered with another code of the SQLITE_IOERR
    family (a failed disk write) or with SQLITE_ABORT (shutting down).

    The transaction may or may not have been applied: check before retrying, or make the
    transaction idempotent.
    """
