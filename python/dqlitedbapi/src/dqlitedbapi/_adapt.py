"""Value adaptation both ways, as stdlib :mod:`sqlite3` does it.

Parameters: ``None``, ``int``, ``float``, ``str``, ``bytes``, ``bytearray``, ``memoryview``
and ``bool`` are bound by the native core directly. A type registered with
:func:`register_adapter` (exact type match) is adapted first; anything else (and a
subclass of those types with a ``__conform__`` method) reaches :func:`adapt_fallback`,
which handles the ``__conform__`` protocol and ``datetime``/``date``/``time`` (ISO 8601
text; time-zone-aware values keep their offset, naive ones stay naive).

Results: ISO8601 cells become ``datetime.datetime`` (or ``datetime.time``), UNIXTIME cells
UTC-aware ``datetime.datetime``, as the pure-Python ``dqlite-dbapi`` does. Converters
registered with :func:`register_converter` run for columns named ``"name [type]"`` when a
connection is opened with ``detect_types=PARSE_COLNAMES``. ``PARSE_DECLTYPES`` is accepted
but has no effect: the dqlite protocol does not report declared column types.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, Final

from dqlitedbapi.exceptions import AdapterLookupError, DataError, ProgrammingError

__all__ = [
    "ADAPTERS",
    "CONVERTERS",
    "PARSE_COLNAMES",
    "PARSE_DECLTYPES",
    "PrepareProtocol",
    "adapt_fallback",
    "from_unixtime",
    "parse_iso8601",
    "register_adapter",
    "register_converter",
    "unregister_adapter",
]

PARSE_DECLTYPES: Final = 1
"""Accepted for ``sqlite3`` compatibility; no effect (dqlite reports no declared types)."""

PARSE_COLNAMES: Final = 2
"""Convert columns named ``"name [type]"`` with the converter registered for ``type``."""

ADAPTERS: dict[type, Callable[[Any], Any]] = {}
"""``register_adapter`` registry, read by the native core: exact type -> adapter."""

CONVERTERS: dict[str, Callable[[bytes], Any]] = {}
"""``register_converter`` registry: upper-cased type name -> converter."""


class PrepareProtocol:
    """The protocol object passed to a value's ``__conform__`` method (as in ``sqlite3``)."""


def register_adapter(type_: type, adapter: Callable[[Any], Any], /) -> None:
    """Bind values of exactly ``type_`` as ``adapter(value)`` (process-wide, as ``sqlite3``)."""
    if not callable(adapter):
        raise ProgrammingError(f"adapter must be callable, got {type(adapter).__name__}")
    ADAPTERS[type_] = adapter


def unregister_adapter(type_: type, /) -> None:
    """Remove the adapter registered for ``type_``."""
    if type_ not in ADAPTERS:
        raise AdapterLookupError(f"no adapter registered for {type_.__name__}")
    del ADAPTERS[type_]


def register_converter(typename: str, converter: Callable[[bytes], Any], /) -> None:
    """Convert columns whose name ends with ``[typename]`` (case-insensitive).

    As in ``sqlite3``, the converter receives the value as stored, as ``bytes`` (text is
    UTF-8 encoded, numbers are formatted; a column declared DATETIME gives its text or
    integer, not a ``datetime``), and is not called for NULL. Applies to connections
    opened with ``detect_types=PARSE_COLNAMES``.
    """
    CONVERTERS[typename.upper()] = converter


def _offset_text(offset: datetime.timedelta) -> str:
    seconds = int(offset.total_seconds())
    if offset != datetime.timedelta(seconds=seconds):
        raise DataError(f"UTC offset {offset!r} has a fraction of a second")
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{secs:02d}" if secs else text


def _datetime_text(value: datetime.datetime) -> str:
    text = f"{value.year:04d}-{value.month:02d}-{value.day:02d} " + _time_text(
        value.hour, value.minute, value.second, value.microsecond
    )
    if value.tzinfo is None:
        return text
    offset = value.utcoffset()
    if offset is None:
        raise DataError(f"{value!r}: tzinfo gives no UTC offset")
    return text + _offset_text(offset)


def _time_text(hour: int, minute: int, second: int, microsecond: int) -> str:
    text = f"{hour:02d}:{minute:02d}:{second:02d}"
    return f"{text}.{microsecond:06d}" if microsecond else text


_WIRE_TYPES: Final = (int, float, str, bytes, bytearray, memoryview)


def adapt_fallback(value: object, index: int, adapted_from: type | None = None) -> object:
    """Adapt a parameter the native core does not bind directly (called by it).

    As ``sqlite3`` and the pure-Python dqlite-dbapi do: ``__conform__`` first (also for
    subclasses of the built-in types; a ``None`` answer keeps the value), then a
    ``datetime``/``date``/``time`` becomes its ISO 8601 text. ``index`` is the 1-based
    parameter number, for the error message; ``adapted_from`` is the type whose registered
    adapter returned ``value`` (``__conform__`` is then not asked). What an adapter or
    ``__conform__`` returns that cannot be bound is a ``DataError`` (as in dqlite-dbapi
    0.8); a value of a type nothing adapts is a ``ProgrammingError``.
    """
    conform = None if adapted_from is not None else getattr(value, "__conform__", None)
    if conform is not None:
        conformed = conform(PrepareProtocol)
        if conformed is not None:
            adapted_from = type(value)
            value = conformed
    if isinstance(value, datetime.datetime):
        return _datetime_text(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        text = _time_text(value.hour, value.minute, value.second, value.microsecond)
        if value.tzinfo is not None:
            offset = value.utcoffset()
            if offset is None:
                raise DataError(f"{value!r}: tzinfo gives no UTC offset")
            text += _offset_text(offset)
        return text
    if value is None or isinstance(value, _WIRE_TYPES):
        return value
    if adapted_from is not None:
        raise DataError(
            f"Error binding parameter {index}: the adapter for '{adapted_from.__name__}'"
            f" returned a '{type(value).__name__}', which cannot be bound"
        )
    raise ProgrammingError(
        f"Error binding parameter {index}: type '{type(value).__name__}' is not supported"
        " (register an adapter with dqlitedbapi.register_adapter)"
    )


def parse_iso8601(text: str) -> datetime.datetime | datetime.time:
    """An ISO8601 cell as ``datetime.datetime``, or ``datetime.time`` for a bare time."""
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.time.fromisoformat(text)
    except ValueError as e:
        shown = text if len(text) <= 100 else text[:100] + "..."
        raise DataError(f"cannot parse the ISO 8601 date-time {shown!r}") from e


def from_unixtime(seconds: int) -> datetime.datetime:
    """A UNIXTIME cell as a UTC-aware ``datetime.datetime``."""
    try:
        return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError) as e:
        raise DataError(f"UNIXTIME value {seconds} is out of range") from e


def converter_input(value: object) -> bytes:
    """A cell as the ``bytes`` a converter receives (``sqlite3``'s rule)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, datetime.datetime):
        return _datetime_text(value).encode()
    if isinstance(value, datetime.time | datetime.date):
        return value.isoformat().encode()
    if isinstance(value, bool):
        return b"1" if value else b"0"
    return str(value).encode()
