"""Checks of arguments shared by every entry point: addresses, timeouts, counts."""

import ipaddress
import math
import os
import re
from typing import Final
from urllib.parse import unquote

from dqliteclient.exceptions import InterfaceError
from dqlitewire import MAX_ADDRESS_SIZE

__all__ = [
    "CLOSE_TIMEOUT_FLOOR",
    "CLOSE_TIMEOUT_FLOOR_RATIONALE",
    "DEFAULT_CLOSE_TIMEOUT_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "check_same_process",
    "get_current_pid",
    "parse_address",
    "validate_close_timeout",
    "validate_max_attempts",
    "validate_positive_int_or_none",
    "validate_timeout",
]

DEFAULT_TIMEOUT_SECONDS: Final[float] = 10.0
"""Default bound, in seconds, on each phase of a request (and on dialing a node)."""
DEFAULT_CLOSE_TIMEOUT_SECONDS: Final[float] = 0.5
"""Default time, in seconds, ``close()`` waits for the socket to close."""
CLOSE_TIMEOUT_FLOOR: Final[float] = 0.01
"""Smallest ``close_timeout`` accepted."""
CLOSE_TIMEOUT_FLOOR_RATIONALE: Final[str] = (
    "Below this floor, the dispose-time writer-close may complete before "
    "FIN flushes, leaving connections lingering in TIME_WAIT."
)
"""Why ``close_timeout`` has a floor (appended to the error for a smaller one)."""

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME: Final[re.Pattern[str]] = re.compile(rf"^(?=.{{1,254}}$){_LABEL}(?:\.{_LABEL})*\.?$")


def get_current_pid() -> int:
    """The current process's id (fork guards compare it with the creator's)."""
    return os.getpid()


def check_same_process(created_in: int, what: str) -> None:
    """Raises ``InterfaceError`` when ``what``, made in ``created_in``, is used after a fork."""
    current = get_current_pid()
    if current != created_in:
        raise InterfaceError(
            f"{what} used after fork; reconstruct it in the child process "
            f"(created in pid {created_in}, current pid {current})"
        )


def _canonical_host(host: str, address: str) -> str:
    if not host:
        raise ValueError(f"Invalid address format: empty hostname in {address!r}")
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_unspecified:
            raise ValueError(
                f"Invalid host in address {address!r}: {host!r} is the unspecified IP "
                "literal and not a valid TCP destination"
            )
        if ip.is_multicast:
            raise ValueError(
                f"Invalid host in address {address!r}: {host!r} is a multicast IP and not "
                "a valid TCP destination"
            )
        # IPv6 loopback counts as "reserved" for ipaddress: only IPv4's class E is refused.
        if isinstance(ip, ipaddress.IPv4Address) and ip.is_reserved:
            raise ValueError(
                f"Invalid host in address {address!r}: {host!r} is a reserved IP and not a "
                "valid TCP destination"
            )
        return str(ip)
    if not host.isascii():
        raise ValueError(
            f"Invalid host in address {address!r}: non-ASCII hostnames are not supported"
        )
    if not _HOSTNAME.match(host):
        raise ValueError(
            f"Invalid host in address {address!r}: {host!r} is not a valid hostname or IP literal"
        )
    return host.rstrip(".").lower()


def _split_bracketed(address: str) -> tuple[str, str]:
    if "]:" not in address:
        raise ValueError(f"Invalid IPv6 address format: expected '[host]:port', got {address!r}")
    end = address.index("]")
    host, port = address[1:end], address[end + 2 :]
    zone_at = host.find("%")
    if zone_at != -1:
        host = host[:zone_at] + unquote(host[zone_at:])
        zone = host[zone_at + 1 :]
        if not zone:
            raise ValueError(
                f"Bracket syntax in {address!r} has an empty IPv6 zone identifier (after '%')"
            )
        if any(c.isspace() or c == "/" for c in zone):
            raise ValueError(
                f"Bracket syntax in {address!r} has an invalid IPv6 zone identifier {zone!r}"
            )
    try:
        literal = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError as e:
        raise ValueError(
            f"Bracket syntax in {address!r} is reserved for IPv6 literals; {host!r} is not an "
            "IPv6 address"
        ) from e
    if not isinstance(literal, ipaddress.IPv6Address):
        raise ValueError(
            f"Bracket syntax in {address!r} is reserved for IPv6 literals; got "
            f"{type(literal).__name__}"
        )
    return host, port


def parse_address(address: str) -> tuple[str, int]:
    """``(host, port)`` of a ``host:port`` or ``[ipv6]:port`` address, in canonical form.

    IP literals are normalised (an IPv4-mapped IPv6 address becomes the IPv4 one) and
    host names lower-cased, so equal addresses compare equal. Raises ``ValueError`` for
    anything else: no port, a port outside 1-65535, an unbracketed IPv6 address, a host
    with ``@``, spaces, NUL or non-ASCII characters, an unspecified, multicast or reserved
    IP, an address longer than ``dqlitewire.MAX_ADDRESS_SIZE``.
    """
    if not isinstance(address, str):
        raise ValueError(f"Invalid address: expected str, got {type(address).__name__}")
    if len(address) > MAX_ADDRESS_SIZE:
        raise ValueError(
            f"Invalid address: length {len(address)} exceeds maximum {MAX_ADDRESS_SIZE}"
        )
    if "\x00" in address:
        raise ValueError(f"Invalid address: contains NUL byte at offset {address.index(chr(0))}")
    if address.startswith("["):
        host, port_text = _split_bracketed(address)
    else:
        if ":" not in address:
            raise ValueError(f"Invalid address format: expected 'host:port', got {address!r}")
        host, port_text = address.rsplit(":", 1)
        if ":" in host and "@" not in host:
            raise ValueError(
                f"IPv6 addresses must be bracketed: got {address!r}, expected '[host]:port'"
            )
    digits = port_text[1:] if port_text.startswith("-") else port_text
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"Invalid port in address {address!r}: {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"Invalid port in address {address!r}: {port} is not in range 1-65535")
    return _canonical_host(host, address), port


def validate_timeout(
    value: float,
    *,
    name: str = "timeout",
    min_value: float = 0.0,
    min_value_rationale: str | None = None,
) -> float:
    """``value`` as a float, if it is a positive finite number not below ``min_value``.

    Raises ``TypeError`` for a non-number and ``ValueError`` otherwise (``bool`` included:
    ``True`` is not a timeout).
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a positive finite number, got {value!r} (bool)")
    if not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    if value < min_value:
        message = f"{name} must be >= {min_value}; got {value}"
        if min_value_rationale:
            message += f". {min_value_rationale}"
        raise ValueError(message)
    return float(value)


def validate_close_timeout(value: float) -> float:
    """A ``close_timeout``: a timeout of at least ``CLOSE_TIMEOUT_FLOOR``."""
    return validate_timeout(
        value,
        name="close_timeout",
        min_value=CLOSE_TIMEOUT_FLOOR,
        min_value_rationale=CLOSE_TIMEOUT_FLOOR_RATIONALE,
    )


def validate_max_attempts(value: int | None) -> int | None:
    """``None`` (the default applies) or an int of at least 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_attempts must be int or None, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"max_attempts must be at least 1, got {value}")
    return value


def validate_positive_int_or_none(value: int | None, name: str) -> int | None:
    """``None`` (no cap) or an int of at least 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be int or None, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0 or None, got {value}")
    return value


def validate_node_id(node_id: object, name: str = "node_id") -> int:
    """A Raft node id: an int of at least 1."""
    if isinstance(node_id, bool) or not isinstance(node_id, int):
        raise TypeError(f"{name} must be int, got {type(node_id).__name__}")
    if node_id < 1:
        raise ValueError(f"{name} must be >= 1, got {node_id}")
    return node_id


def validate_target_address(address: object, context: str) -> str:
    """A node address given to an admin call: a non-empty, parseable ``host:port``."""
    if not isinstance(address, str) or not address:
        raise TypeError(f"{context}: address must be a non-empty str")
    try:
        parse_address(address)
    except ValueError as e:
        raise ValueError(f"{context}: invalid address {address!r}: {e}") from e
    return address
