"""Connection options: defaults, checks, session modes, statements handled here.

The driver handles two statements itself: a bare ``BEGIN`` (qualified by the session
mode) and ``PRAGMA busy_timeout`` (the server refuses it). The defaults and meanings
are those of the pure-Python ``dqlite-dbapi`` 0.8.0.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from dqlitedbapi import exceptions as exc

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_SECONDS",
    "DEFAULT_CLOSE_TIMEOUT_SECONDS",
    "DEFAULT_MAX_CONTINUATION_FRAMES",
    "DEFAULT_MAX_TOTAL_ROWS",
    "DEFAULT_TIMEOUT_SECONDS",
    "SESSION_MODES",
    "DialFunc",
    "Options",
    "default_session_mode",
    "validate_session_mode",
]

DEFAULT_TIMEOUT_SECONDS: Final = 10.0
"""``timeout``: seconds for finding the leader, and for each network wait afterwards."""

DEFAULT_CLOSE_TIMEOUT_SECONDS: Final = 0.5
"""``close_timeout``: seconds a blocking ``close()`` waits for a call it interrupted (one running
on another thread) to end."""

DEFAULT_BUSY_TIMEOUT_SECONDS: Final = 5.0
"""``busy_timeout``: seconds "database is locked" answers are retried."""

DEFAULT_MAX_TOTAL_ROWS: Final = 10_000_000
"""``max_total_rows``: the most rows one query may return (and ``executemany`` gather from
RETURNING); more raise OperationalError."""

DEFAULT_MAX_CONTINUATION_FRAMES: Final = 100_000
"""``max_continuation_frames``: the most frames one query's rows may come in; more raise
OperationalError."""

CLOSE_TIMEOUT_FLOOR: Final = 0.01
"""The smallest ``close_timeout`` accepted."""

SESSION_MODES: Final = frozenset({"immediate", "deferred", "exclusive", "read_only"})
"""What a bare ``BEGIN`` becomes: ``BEGIN IMMEDIATE`` (default), ``BEGIN``, ``BEGIN
EXCLUSIVE``; ``read_only`` runs the connection with ``PRAGMA query_only = 1``."""

DialFunc = Callable[
    [str],
    Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
    | Awaitable[socket.socket]
    | socket.socket,
]
"""``dial_func(address)``: opens a connection to one node (the reference client's hook):
an asyncio ``(StreamReader, StreamWriter)`` pair, as the reference's returns, or a connected
``socket.socket`` (TCP or Unix), either returned or awaited."""

_INT32_MAX: Final = 2**31 - 1


def validate_session_mode(value: object) -> str:
    """``value`` as a session mode (lower-cased); TypeError or ValueError otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"session_mode must be a str, got {type(value).__name__}")
    mode = value.lower()
    if mode not in SESSION_MODES:
        raise ValueError(
            f"Invalid session_mode {value!r}; valid values are {sorted(SESSION_MODES)}"
        )
    return mode


def default_session_mode() -> str:
    """``$DQLITE_SESSION_MODE``, else ``"immediate"``."""
    raw = os.environ.get("DQLITE_SESSION_MODE", "").strip()
    return validate_session_mode(raw) if raw else "immediate"


def _number(name: str, value: object, *, minimum: float = 0.0, zero_ok: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise exc.ProgrammingError(f"{name} must be a number (seconds), got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < minimum or (number == 0 and not zero_ok):
        low = "non-negative" if zero_ok else "positive"
        raise exc.ProgrammingError(f"{name} must be a {low} finite number, got {value!r}")
    return number


def _count(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _INT32_MAX:
        raise exc.ProgrammingError(f"{name} must be None or a positive int, got {value!r}")
    return value


def check_busy_timeout(value: object) -> float:
    """A ``busy_timeout`` value in seconds (0 turns retries off)."""
    return _number("busy_timeout", value, zero_ok=True)


@dataclass(slots=True)
class Options:
    """The checked ``connect()`` options."""

    timeout: float
    busy_timeout: float
    dial_timeout: float | None
    close_timeout: float
    max_total_rows: int | None
    max_continuation_frames: int | None
    max_message_size: int | None
    trust_server_heartbeat: bool
    check_same_thread: bool
    session_mode: str
    dial_func: DialFunc | None

    @classmethod
    def of(
        cls,
        *,
        timeout: object,
        busy_timeout: object,
        dial_timeout: object,
        attempt_timeout: object,
        close_timeout: object,
        max_total_rows: object,
        max_continuation_frames: object,
        max_message_size: object,
        trust_server_heartbeat: object,
        check_same_thread: object,
        session_mode: object,
        dial_func: Any,
    ) -> Options:
        """Checks every option; ProgrammingError names the first bad one."""
        dial = None if dial_timeout is None else _number("dial_timeout", dial_timeout)
        attempt = None if attempt_timeout is None else _number("attempt_timeout", attempt_timeout)
        # Both bound one attempt to reach a node: the smaller one wins.
        bounds = [b for b in (dial, attempt) if b is not None]
        for name, flag in (
            ("trust_server_heartbeat", trust_server_heartbeat),
            ("check_same_thread", check_same_thread),
        ):
            if not isinstance(flag, bool):
                raise exc.ProgrammingError(f"{name} must be a bool, got {type(flag).__name__}")
        if dial_func is not None and not callable(dial_func):
            raise exc.ProgrammingError(
                f"dial_func must be callable, got {type(dial_func).__name__}"
            )
        try:
            mode = (
                default_session_mode()
                if session_mode is None
                else validate_session_mode(session_mode)
            )
        except (TypeError, ValueError) as e:
            raise exc.ProgrammingError(str(e)) from e
        return cls(
            timeout=_number("timeout", timeout),
            busy_timeout=check_busy_timeout(busy_timeout),
            dial_timeout=min(bounds) if bounds else None,
            close_timeout=_number("close_timeout", close_timeout, minimum=CLOSE_TIMEOUT_FLOOR),
            max_total_rows=_count("max_total_rows", max_total_rows),
            max_continuation_frames=_count("max_continuation_frames", max_continuation_frames),
            max_message_size=_count("max_message_size", max_message_size),
            trust_server_heartbeat=bool(trust_server_heartbeat),
            check_same_thread=bool(check_same_thread),
            session_mode=mode,
            dial_func=dial_func,
        )


# Statements the driver handles itself, by text (a bounded cache: one dict look-up per
# execute for texts seen before).
ORDINARY: Final = 0
BARE_BEGIN: Final = 1
BUSY_TIMEOUT_PRAGMA: Final = 2

# What SQLite skips between tokens: its whitespace (not Unicode spaces, which are letters of
# a name to it, nor a vertical tab, which it rejects) and comments. Atomic, and each comment
# ends at its first end, so that no text makes the patterns backtrack at length.
_GAP = r"(?>[ \t\n\r\f]|--[^\n]*+(?:\n|\Z)|/\*(?:[^*]|\*(?!/))*+(?:\*/|\Z))"
_BARE_BEGIN = re.compile(
    rf"{_GAP}*+BEGIN(?:{_GAP}++TRANSACTION)?{_GAP}*+(?:;{_GAP}*+)?", re.IGNORECASE
)
_BUSY_TIMEOUT = re.compile(
    rf"{_GAP}*+PRAGMA{_GAP}++busy_timeout{_GAP}*+"
    rf"(?:={_GAP}*+(?P<eq>-?[0-9]+)|\({_GAP}*+(?P<paren>-?[0-9]+){_GAP}*+\))?{_GAP}*+"
    rf"(?:;{_GAP}*+)?",
    re.IGNORECASE,
)
_KINDS: dict[str, int] = {}
_KINDS_SIZE: Final = 4096

kind_of = _KINDS.get
"""``kind_of(sql)``: the statement's kind if the text was seen before, else None."""


def classify(sql: str) -> int:
    """The statement's kind (``ORDINARY``, ``BARE_BEGIN``, ``BUSY_TIMEOUT_PRAGMA``)."""
    if _BARE_BEGIN.fullmatch(sql):
        kind = BARE_BEGIN
    elif _BUSY_TIMEOUT.fullmatch(sql):
        kind = BUSY_TIMEOUT_PRAGMA
    else:
        kind = ORDINARY
    if len(_KINDS) >= _KINDS_SIZE:
        _KINDS.clear()
    _KINDS[sql] = kind
    return kind


def begin_for(mode: str) -> str:
    """What a bare ``BEGIN`` becomes in session mode ``mode``."""
    if mode == "immediate":
        return "BEGIN IMMEDIATE"
    if mode == "exclusive":
        return "BEGIN EXCLUSIVE"
    return "BEGIN"


def busy_timeout_assignment(sql: str) -> int | None:
    """The milliseconds of ``PRAGMA busy_timeout = N``, or None for the read form.

    Values outside a 32-bit int, and negative ones, become 0, as SQLite does.
    """
    match = _BUSY_TIMEOUT.fullmatch(sql)
    raw = None if match is None else match.group("eq") or match.group("paren")
    if raw is None:
        return None
    value = int(raw)
    return value if 0 < value <= _INT32_MAX else 0
