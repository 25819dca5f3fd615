"""The PEP 249 exception hierarchy.

Every exception a driver call raises is one of these classes. Errors that come from the
server carry SQLite's extended result code in ``sqlite_errorcode`` and its symbolic name in
``sqlite_errorname``, as stdlib :mod:`sqlite3` does; ``code`` is the same number, kept for
code written against the pure-Python ``dqlite-dbapi`` package, and ``raw_message`` is the
server's text. ``connection_lost`` is True on an error after which the connection cannot be
used again (it was closed, or the driver closed it because of this error: a transport
failure, a timeout, a leadership change, a write of unknown outcome); a pool discards such
a connection.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CLUSTER_POLICY_REJECTION_PREFIX",
    "FAILED_TO_CONNECT_PREFIX",
    "AdapterLookupError",
    "AmbiguousCommitError",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "OutcomeUnknownError",
    "ProgrammingError",
    "Warning",
]


FAILED_TO_CONNECT_PREFIX: Final = "Failed to connect: "
"""How the message of an error raised while opening a connection starts."""

CLUSTER_POLICY_REJECTION_PREFIX: Final = "Cluster policy rejection"
"""How the message of a refusal by the cluster's policy starts (kept for compatibility)."""


class Warning(Exception):
    """Important warnings, such as data truncation while inserting."""


class Error(Exception):
    """Base class of every error this driver raises (PEP 249)."""

    sqlite_errorcode: int | None
    """SQLite's extended result code, or ``None`` when the error did not come from SQL."""

    sqlite_errorname: str | None
    """Symbolic name of ``sqlite_errorcode`` (for example ``"SQLITE_CONSTRAINT_UNIQUE"``)."""

    raw_message: str
    """The server's message (or the driver's), as it was sent."""

    connection_lost: bool = False
    """True when the connection cannot be used again after this error."""

    def __init__(
        self,
        message: object = "",
        code: int | None = None,
        name: str | None = None,
        *,
        raw_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.sqlite_errorcode = code
        self.sqlite_errorname = name
        self.raw_message = str(message) if raw_message is None else raw_message

    @property
    def code(self) -> int | None:
        """The server's error code; an alias of ``sqlite_errorcode``."""
        return self.sqlite_errorcode

    def __repr__(self) -> str:
        message = self.args[0] if self.args else ""
        if self.sqlite_errorcode is None:
            return f"{type(self).__name__}({message!r})"
        return f"{type(self).__name__}({message!r}, code={self.sqlite_errorcode})"


class InterfaceError(Error):
    """Misuse of the driver itself: a closed connection or cursor, a bad argument."""


class DatabaseError(Error):
    """Errors related to the database."""


class DataError(DatabaseError):
    """A value cannot be stored or sent: out of range, or not representable."""


class OperationalError(DatabaseError):
    """The database's operation failed: lost leader, transport error, busy, timeout."""


class OutcomeUnknownError(OperationalError):
    """A write (often a COMMIT) may or may not have been applied.

    Raised when leadership was lost while the write replicated, or when the connection
    failed after the request was sent. The statement was not retried: check the data
    before running it again. The connection is closed.
    """


AmbiguousCommitError = OutcomeUnknownError
"""The pure-Python ``dqlite-dbapi``'s name for :class:`OutcomeUnknownError`."""


class IntegrityError(DatabaseError):
    """A constraint was violated (UNIQUE, NOT NULL, FOREIGN KEY, CHECK, PRIMARY KEY)."""


class InternalError(DatabaseError):
    """The database reports an internal error (SQLITE_INTERNAL and its family)."""


class ProgrammingError(DatabaseError):
    """The SQL is wrong: syntax error, unknown table, wrong number of parameters."""


class NotSupportedError(DatabaseError):
    """The operation is not supported by dqlite or by this driver."""


class AdapterLookupError(ProgrammingError, LookupError):
    """``unregister_adapter()`` found no adapter registered for the type."""


def connection_closed(message: str = "Cannot operate on a closed connection.") -> InterfaceError:
    """The error of a call on a closed connection."""
    error = InterfaceError(message)
    error.connection_lost = True
    return error
