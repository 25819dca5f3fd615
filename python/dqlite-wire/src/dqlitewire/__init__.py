"""The dqlite protocol's constants for Python programs.

Value types, node roles, error codes, limits, the protocol exceptions and ``NodeInfo``.

This is the part of the pure-Python ``dqlite-wire`` 0.8.0 that programs import (its
names and values, unchanged). The codec itself (message classes, encoder, decoder) is
not here: the Rust-backed stack speaks the protocol in Rust (``dqlitedbapi._native``).
"""

from typing import Final as _Final

from dqlitewire import constants, limits
from dqlitewire.constants import *  # noqa: F403 (its __all__, extended below)
from dqlitewire.exceptions import (
    ContinuationError,
    DecodeError,
    EncodeError,
    HandshakeError,
    PoisonedError,
    ProtocolError,
    ServerFailure,
    StreamError,
)
from dqlitewire.limits import *  # noqa: F403 (its __all__, extended below)
from dqlitewire.nodes import NodeInfo
from dqlitewire.text import sanitize_for_log, sanitize_server_text
from dqlitewire.truncate import DEFAULT_MAX_RAW_MESSAGE, cap_raw_message

__version__: _Final[str] = "0.9.0"

__all__ = [
    "DEFAULT_MAX_RAW_MESSAGE",
    "ContinuationError",
    "DecodeError",
    "EncodeError",
    "HandshakeError",
    "NodeInfo",
    "PoisonedError",
    "ProtocolError",
    "ServerFailure",
    "StreamError",
    "__version__",
    "cap_raw_message",
    "sanitize_for_log",
    "sanitize_server_text",
]
__all__.extend(constants.__all__)
__all__.extend(limits.__all__)
