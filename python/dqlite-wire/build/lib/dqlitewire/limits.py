"""Size limits applied to what the protocol carries (the format itself has none)."""

from typing import Final

__all__ = [
    "DEFAULT_MAX_ROWS",
    "MAX_ADDRESS_SIZE",
    "MAX_BLOB_SIZE",
    "MAX_COLUMN_COUNT",
    "MAX_COLUMN_NAME_SIZE",
    "MAX_DUMP_FILENAME_SIZE",
    "MAX_FAILURE_MESSAGE_SIZE",
    "MAX_FILENAME_SIZE",
    "MAX_FILE_CONTENT_SIZE",
    "MAX_FILE_COUNT",
    "MAX_NODE_COUNT",
    "MAX_PARAM_COUNT",
    "MAX_ROWS_AFFECTED",
    "MAX_TAIL_OFFSET",
    "MAX_TEXT_VALUE_SIZE",
]

_FRAME_BYTES: Final[int] = 64 * 1024 * 1024

MAX_BLOB_SIZE: Final[int] = _FRAME_BYTES - 64
"""Largest blob value: a 64 MiB frame less its framing."""
MAX_TEXT_VALUE_SIZE: Final[int] = _FRAME_BYTES - 64
"""Largest text value: a 64 MiB frame less its framing."""
MAX_FILE_CONTENT_SIZE: Final[int] = _FRAME_BYTES - 64
"""Largest file of a dump."""
MAX_TAIL_OFFSET: Final[int] = _FRAME_BYTES
"""Largest offset of an unparsed tail in prepared SQL."""
MAX_PARAM_COUNT: Final[int] = 32_766
"""SQLite's default limit on the parameters of one statement."""
MAX_COLUMN_COUNT: Final[int] = 2000
"""SQLite's default limit on the columns of a result."""
MAX_FILE_COUNT: Final[int] = 100
"""Most files a dump may hold."""
MAX_NODE_COUNT: Final[int] = 10_000
"""Most members a cluster description may list."""
MAX_ROWS_AFFECTED: Final[int] = (1 << 31) - 1
"""Largest changed-rows count (a C int on the server)."""
DEFAULT_MAX_ROWS: Final[int] = 1_000_000
"""Default cap on the rows of one frame."""
MAX_FAILURE_MESSAGE_SIZE: Final[int] = 64 * 1024
"""Longest error text accepted from a server."""
MAX_COLUMN_NAME_SIZE: Final[int] = 4096
"""Longest column name accepted."""
MAX_FILENAME_SIZE: Final[int] = 4096
"""Longest file name of a dump."""
MAX_DUMP_FILENAME_SIZE: Final[int] = 1019
"""Longest database name a dump can carry (the server appends ``-wal`` in 1024 bytes)."""
MAX_ADDRESS_SIZE: Final[int] = 256
"""Longest node address (a 253-byte host name, a colon, a port)."""
