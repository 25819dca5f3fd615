"""The ``sqlite3`` methods dqlite cannot offer: each raises ``NotSupportedError``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NoReturn

from dqlitedbapi.exceptions import NotSupportedError

__all__ = ["UnsupportedSqlite3Api"]

_TWO_PHASE: Final = "dqlite has no two-phase commit"
_NO_CALLBACKS: Final = "the dqlite protocol carries no SQLite callbacks"
_NO_EXTENSIONS: Final = "dqlite servers load no extensions at run time"
_NO_FUNCTIONS: Final = "dqlite servers run no user-defined SQL functions"
_NO_HANDLE: Final = "the dqlite protocol does not expose the SQLite database handle"
_NO_DUMP: Final = "dqlite has no client-side dump or backup (use the server's)"


def _unsupported(name: str, reason: str) -> Callable[..., NoReturn]:
    def method(self: object, *args: object, **kwargs: object) -> NoReturn:
        raise NotSupportedError(f"{name} is not supported: {reason}")

    method.__name__ = name.rstrip("()")
    method.__doc__ = f"Raises NotSupportedError: {reason}."
    return method


class UnsupportedSqlite3Api:
    """The ``sqlite3.Connection`` methods that have no dqlite counterpart."""

    interrupt = _unsupported("interrupt()", "cancel the task or use the timeout instead")
    tpc_begin = _unsupported("tpc_begin()", _TWO_PHASE)
    tpc_prepare = _unsupported("tpc_prepare()", _TWO_PHASE)
    tpc_commit = _unsupported("tpc_commit()", _TWO_PHASE)
    tpc_rollback = _unsupported("tpc_rollback()", _TWO_PHASE)
    tpc_recover = _unsupported("tpc_recover()", _TWO_PHASE)
    xid = _unsupported("xid()", _TWO_PHASE)
    set_authorizer = _unsupported("set_authorizer()", _NO_CALLBACKS)
    set_progress_handler = _unsupported("set_progress_handler()", _NO_CALLBACKS)
    set_trace_callback = _unsupported("set_trace_callback()", _NO_CALLBACKS)
    total_changes = _unsupported("total_changes", _NO_HANDLE)
    getlimit = _unsupported("getlimit()", _NO_HANDLE)
    setlimit = _unsupported("setlimit()", _NO_HANDLE)
    getconfig = _unsupported("getconfig()", _NO_HANDLE)
    setconfig = _unsupported("setconfig()", _NO_HANDLE)
    serialize = _unsupported("serialize()", _NO_HANDLE)
    deserialize = _unsupported("deserialize()", _NO_HANDLE)
    blobopen = _unsupported("blobopen()", _NO_HANDLE)
    enable_load_extension = _unsupported("enable_load_extension()", _NO_EXTENSIONS)
    load_extension = _unsupported("load_extension()", _NO_EXTENSIONS)
    backup = _unsupported("backup()", _NO_DUMP)
    iterdump = _unsupported("iterdump()", _NO_DUMP)
    create_function = _unsupported("create_function()", _NO_FUNCTIONS)
    create_aggregate = _unsupported("create_aggregate()", _NO_FUNCTIONS)
    create_collation = _unsupported("create_collation()", _NO_FUNCTIONS)
    create_window_function = _unsupported("create_window_function()", _NO_FUNCTIONS)


class UnsupportedCursorApi:
    """The optional PEP 249 cursor methods dqlite cannot offer."""

    callproc = _unsupported("callproc()", "dqlite has no stored procedures")
    nextset = _unsupported("nextset()", "a statement gives one result set")
    scroll = _unsupported("scroll()", "results are read forward only")
