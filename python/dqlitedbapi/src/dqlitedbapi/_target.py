"""Where a connection goes: its address, the ``DQLITE_*`` variables, the keywords.

The keyword arguments of ``connect()`` win over the address string, which wins over the
environment. The address is read by the Rust client's own parser (the shell and the Rust
API read the same strings): ``"host:port,host:port"``, ``"dqlite://host:port,.../database?name=value"``
or ``"file://NODE-STORE"``, or a list of ``"host:port"``. What the string leaves unset
comes from the ``DQLITE_*`` environment variables (``DQLITE_SERVERS`` included, when the
string names no node), then from the defaults.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from dqlitedbapi import exceptions as exc
from dqlitedbapi._native import TLSConfig, connection_settings
from dqlitedbapi._options import DEFAULT_BUSY_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS

__all__ = ["DEFAULT_DATABASE", "TLSArgument", "Target"]

DEFAULT_DATABASE: Final = "default"
"""The database opened when neither a keyword nor the connection string names one."""

TLSArgument = TLSConfig | Literal[False] | None
"""``connect(tls=...)``: a :class:`TLSConfig`, False (no TLS, whatever the connection
string or the environment say), or None (as they say)."""


def _first(*values: Any) -> Any:
    """The first value that is not None."""
    return next((v for v in values if v is not None), None)


def _settings(address: object) -> dict[str, Any]:
    if isinstance(address, str):
        text = address
    elif isinstance(address, Sequence) and not isinstance(address, bytes | bytearray):
        for a in address:
            if not isinstance(a, str):
                raise exc.ProgrammingError(f"addresses must be str, got {type(a).__name__}")
            if "://" in a:
                raise exc.ProgrammingError(
                    f"a list holds host:port addresses; pass the connection string {a!r} on its own"
                )
        text = ",".join(address)
    else:
        raise exc.ProgrammingError(
            "address must be a 'host:port' string (several comma-separated, or a connection "
            f"string), or a list of them, got {type(address).__name__}"
        )
    try:
        return connection_settings(text)
    except exc.ProgrammingError as e:
        raise exc.ProgrammingError(f"Invalid address: {e}") from None


def _tls(tls: object, settings: dict[str, Any]) -> TLSConfig | None:
    if isinstance(tls, TLSConfig):
        return tls
    if tls is False:
        return None
    if isinstance(tls, ssl.SSLContext):
        raise exc.NotSupportedError(
            "tls=ssl.SSLContext is not supported: the driver speaks TLS with rustls, which "
            "cannot use an OpenSSL context; give dqlitedbapi.TLSConfig(cert=..., key=..., "
            "ca=...) instead"
        )
    if tls is not None:
        raise exc.ProgrammingError(
            f"tls must be a dqlitedbapi.TLSConfig, False or None, got {type(tls).__name__}"
        )
    files = {k: settings.get(f"tls_{k}") for k in ("cert", "key", "ca", "server_name")}
    if not any(files.values()):
        return None
    try:
        return TLSConfig(**files)
    except exc.ProgrammingError as e:
        raise exc.ProgrammingError(
            f"the TLS settings (tls_cert, tls_key, tls_ca, tls_server_name) of the connection "
            f"string or DQLITE_TLS_* variables: {e}"
        ) from None


@dataclass(frozen=True, slots=True)
class Target:
    """The nodes, database and settings of a connection.

    Each comes from the first place that gives it: keyword argument, connection string,
    ``DQLITE_*`` variable, default. The timeouts are as given (``Options`` checks them);
    the string's are checked already.
    """

    seeds: list[str]
    database: object
    timeout: object
    busy_timeout: object
    dial_timeout: object
    connect_timeout: float | None
    tls: TLSConfig | None

    @classmethod
    def of(
        cls,
        address: object,
        *,
        database: object,
        timeout: object,
        busy_timeout: object,
        dial_timeout: object,
        tls: object,
    ) -> Target:
        """``address`` read, merged with the keyword arguments (None: not given)."""
        settings = _settings(address)
        seeds: list[str] = settings["servers"]
        if not seeds:
            raise exc.ProgrammingError(
                "Invalid address: no dqlite node address given: write host:port,..., "
                "dqlite://host:port,.../db or file://NODE-STORE, or set DQLITE_SERVERS"
            )
        return cls(
            seeds=seeds,
            database=_first(database, settings.get("database"), DEFAULT_DATABASE),
            timeout=_first(timeout, settings.get("timeout"), DEFAULT_TIMEOUT_SECONDS),
            busy_timeout=_first(
                busy_timeout, settings.get("busy_timeout"), DEFAULT_BUSY_TIMEOUT_SECONDS
            ),
            dial_timeout=_first(dial_timeout, settings.get("dial_timeout")),
            connect_timeout=settings.get("connect_timeout"),
            tls=_tls(tls, settings),
        )
