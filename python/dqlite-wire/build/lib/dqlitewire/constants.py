"""Protocol constants: message types, value types, node roles and error codes.

The values are the dqlite protocol's (the Rust codec ``dqlite-wire`` owns them; a test
checks the two agree). Names and values match the pure-Python ``dqlite-wire`` 0.8.0, so
programs written against it import them unchanged.
"""

from enum import IntEnum
from typing import Final

__all__ = [
    "BARE_DATABASE_ERROR_CODES",
    "DEFAULT_MAX_CONTINUATION_FRAMES",
    "DEFAULT_MAX_TOTAL_ROWS",
    "DQLITE_NOTFOUND",
    "DQLITE_PARSE",
    "DQLITE_PROTO",
    "HEADER_SIZE",
    "LEADER_ERROR_CODES",
    "LEADER_LOST_DB_LOOKUP_SUBSTRING",
    "NO_TRANSACTION_MESSAGE_SUBSTRINGS",
    "PROTOCOL_VERSION",
    "PROTOCOL_VERSION_LEGACY",
    "ROW_DONE_BYTE",
    "ROW_DONE_MARKER",
    "ROW_PART_BYTE",
    "ROW_PART_MARKER",
    "SQLITE_ABORT",
    "SQLITE_AUTH",
    "SQLITE_BUSY",
    "SQLITE_CONSTRAINT",
    "SQLITE_CONSTRAINT_CHECK",
    "SQLITE_CONSTRAINT_COMMITHOOK",
    "SQLITE_CONSTRAINT_FOREIGNKEY",
    "SQLITE_CONSTRAINT_FUNCTION",
    "SQLITE_CONSTRAINT_NOTNULL",
    "SQLITE_CONSTRAINT_PINNED",
    "SQLITE_CONSTRAINT_PRIMARYKEY",
    "SQLITE_CONSTRAINT_ROWID",
    "SQLITE_CONSTRAINT_TRIGGER",
    "SQLITE_CONSTRAINT_UNIQUE",
    "SQLITE_CONSTRAINT_VTAB",
    "SQLITE_CORRUPT",
    "SQLITE_ERROR",
    "SQLITE_FORMAT",
    "SQLITE_FULL",
    "SQLITE_INTERNAL",
    "SQLITE_INTERRUPT",
    "SQLITE_IOERR",
    "SQLITE_IOERR_LEADERSHIP_LOST",
    "SQLITE_IOERR_LEADERSHIP_LOST_LEGACY",
    "SQLITE_IOERR_NOT_LEADER",
    "SQLITE_IOERR_NOT_LEADER_LEGACY",
    "SQLITE_MISMATCH",
    "SQLITE_MISUSE",
    "SQLITE_NOLFS",
    "SQLITE_NOMEM",
    "SQLITE_NOTADB",
    "SQLITE_NOTFOUND",
    "SQLITE_NOTICE",
    "SQLITE_PRIMARY_CODE_MASK",
    "SQLITE_PROTOCOL",
    "SQLITE_RANGE",
    "SQLITE_TOOBIG",
    "SQLITE_WARNING",
    "TX_AUTO_ROLLBACK_PRIMARY_CODES",
    "WIRE_DECODE_FAILED_PREFIX",
    "WORD_SIZE",
    "NodeRole",
    "RequestType",
    "ResponseType",
    "ValueType",
    "is_dqlite_namespace_code",
    "primary_sqlite_code",
]

PROTOCOL_VERSION: Final[int] = 1
"""The protocol version a client sends first (dqlite 1.0 and later)."""
PROTOCOL_VERSION_LEGACY: Final[int] = 0x86104DD760433FE5
"""The version word of servers older than dqlite 1.0."""

WORD_SIZE: Final[int] = 8
"""Message bodies are padded to multiples of this many bytes."""
HEADER_SIZE: Final[int] = 8
"""Bytes in a message header (word count, type, schema, reserved)."""

ROW_DONE_BYTE: Final[int] = 0xFF
"""The byte repeated in the word that ends the last frame of a result."""
ROW_PART_BYTE: Final[int] = 0xEE
"""The byte repeated in the word that ends a frame when more frames follow."""
ROW_DONE_MARKER: Final[int] = 0xFFFF_FFFF_FFFF_FFFF
"""The end-of-result word as an integer."""
ROW_PART_MARKER: Final[int] = 0xEEEE_EEEE_EEEE_EEEE
"""The more-frames-follow word as an integer."""


class RequestType(IntEnum):
    """Types of the messages a client sends."""

    LEADER = 0
    CLIENT = 1
    HEARTBEAT = 2
    OPEN = 3
    PREPARE = 4
    EXEC = 5
    QUERY = 6
    FINALIZE = 7
    EXEC_SQL = 8
    QUERY_SQL = 9
    INTERRUPT = 10
    CONNECT = 11
    ADD = 12
    ASSIGN = 13
    REMOVE = 14
    DUMP = 15
    CLUSTER = 16
    TRANSFER = 17
    DESCRIBE = 18
    WEIGHT = 19


class ResponseType(IntEnum):
    """Types of the messages a server answers with."""

    FAILURE = 0
    LEADER = 1
    WELCOME = 2
    SERVERS = 3
    DB = 4
    STMT = 5
    RESULT = 6
    ROWS = 7
    EMPTY = 8
    FILES = 9
    METADATA = 10


class ValueType(IntEnum):
    """Type codes of parameters and row cells."""

    INTEGER = 1
    FLOAT = 2
    TEXT = 3
    BLOB = 4
    NULL = 5
    UNIXTIME = 9
    """Seconds since the epoch (an INTEGER in a DATETIME column); never sent as a parameter."""
    ISO8601 = 10
    """Date-time text (a TEXT in a DATETIME column)."""
    BOOLEAN = 11
    """0 or 1 (an INTEGER in a BOOLEAN column)."""


class NodeRole(IntEnum):
    """Roles of cluster members, as go-dqlite and the C library number them."""

    VOTER = 0
    STANDBY = 1
    SPARE = 2


SQLITE_ERROR: Final[int] = 1
SQLITE_INTERNAL: Final[int] = 2
SQLITE_ABORT: Final[int] = 4
SQLITE_BUSY: Final[int] = 5
SQLITE_NOMEM: Final[int] = 7
SQLITE_INTERRUPT: Final[int] = 9
SQLITE_IOERR: Final[int] = 10
SQLITE_CORRUPT: Final[int] = 11
SQLITE_NOTFOUND: Final[int] = 12
SQLITE_FULL: Final[int] = 13
SQLITE_PROTOCOL: Final[int] = 15
SQLITE_TOOBIG: Final[int] = 18
SQLITE_CONSTRAINT: Final[int] = 19
SQLITE_MISMATCH: Final[int] = 20
SQLITE_MISUSE: Final[int] = 21
SQLITE_NOLFS: Final[int] = 22
SQLITE_AUTH: Final[int] = 23
SQLITE_FORMAT: Final[int] = 24
SQLITE_RANGE: Final[int] = 25
SQLITE_NOTADB: Final[int] = 26
SQLITE_NOTICE: Final[int] = 27
SQLITE_WARNING: Final[int] = 28

SQLITE_IOERR_NOT_LEADER: Final[int] = SQLITE_IOERR | (40 << 8)
"""The node is not the leader; nothing ran."""
SQLITE_IOERR_LEADERSHIP_LOST: Final[int] = SQLITE_IOERR | (41 << 8)
"""The node lost the lead while the request ran: a write may or may not have applied."""
SQLITE_IOERR_NOT_LEADER_LEGACY: Final[int] = SQLITE_IOERR | (32 << 8)
"""The "not leader" code of old servers."""
SQLITE_IOERR_LEADERSHIP_LOST_LEGACY: Final[int] = SQLITE_IOERR | (33 << 8)
"""The "leadership lost" code of old servers."""

SQLITE_CONSTRAINT_CHECK: Final[int] = SQLITE_CONSTRAINT | (1 << 8)
SQLITE_CONSTRAINT_COMMITHOOK: Final[int] = SQLITE_CONSTRAINT | (2 << 8)
SQLITE_CONSTRAINT_FOREIGNKEY: Final[int] = SQLITE_CONSTRAINT | (3 << 8)
SQLITE_CONSTRAINT_FUNCTION: Final[int] = SQLITE_CONSTRAINT | (4 << 8)
SQLITE_CONSTRAINT_NOTNULL: Final[int] = SQLITE_CONSTRAINT | (5 << 8)
SQLITE_CONSTRAINT_PRIMARYKEY: Final[int] = SQLITE_CONSTRAINT | (6 << 8)
SQLITE_CONSTRAINT_TRIGGER: Final[int] = SQLITE_CONSTRAINT | (7 << 8)
SQLITE_CONSTRAINT_UNIQUE: Final[int] = SQLITE_CONSTRAINT | (8 << 8)
SQLITE_CONSTRAINT_VTAB: Final[int] = SQLITE_CONSTRAINT | (9 << 8)
SQLITE_CONSTRAINT_ROWID: Final[int] = SQLITE_CONSTRAINT | (10 << 8)
SQLITE_CONSTRAINT_PINNED: Final[int] = SQLITE_CONSTRAINT | (11 << 8)

DQLITE_PROTO: Final[int] = 1001
"""dqlite's own code for a protocol failure."""
DQLITE_NOTFOUND: Final[int] = 1002
"""dqlite's own code for something not found (a database to dump)."""
DQLITE_PARSE: Final[int] = 1005
"""dqlite's own code for a request it cannot parse."""

SQLITE_PRIMARY_CODE_MASK: Final[int] = 0xFF
"""The low byte of an extended SQLite code is its primary code."""

LEADER_ERROR_CODES: Final[frozenset[int]] = frozenset(
    {
        SQLITE_IOERR_NOT_LEADER,
        SQLITE_IOERR_LEADERSHIP_LOST,
        SQLITE_IOERR_NOT_LEADER_LEGACY,
        SQLITE_IOERR_LEADERSHIP_LOST_LEGACY,
    }
)
"""Codes that mean the node is not, or no longer, the leader."""

BARE_DATABASE_ERROR_CODES: Final[frozenset[int]] = frozenset(
    {SQLITE_CORRUPT, SQLITE_FORMAT, SQLITE_NOTADB}
)
"""Primary codes that mean the database file itself is unusable."""

TX_AUTO_ROLLBACK_PRIMARY_CODES: Final[frozenset[int]] = frozenset(
    {SQLITE_ABORT, SQLITE_NOMEM, SQLITE_INTERRUPT, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL}
)
"""Primary codes after which SQLite may have rolled the transaction back by itself."""

NO_TRANSACTION_MESSAGE_SUBSTRINGS: Final[tuple[str, ...]] = ("no transaction is active",)
"""Text of the server's answer to COMMIT or ROLLBACK outside a transaction."""

WIRE_DECODE_FAILED_PREFIX: Final[str] = "wire decode failed"
"""How messages about undecodable server bytes begin."""

LEADER_LOST_DB_LOOKUP_SUBSTRING: Final[str] = "no database opened"
"""Text of the SQLITE_NOTFOUND answer a node gives once it lost the lead."""

DEFAULT_MAX_TOTAL_ROWS: Final[int] = 10_000_000
"""Default cap on the rows of one query result."""

DEFAULT_MAX_CONTINUATION_FRAMES: Final[int] = 100_000
"""Default cap on the frames of one query result."""

_DQLITE_CODES: Final[range] = range(1000, 1024)


def is_dqlite_namespace_code(code: int) -> bool:
    """True for dqlite's own error codes (1000 to 1023), which are not SQLite codes."""
    return code in _DQLITE_CODES


def primary_sqlite_code(code: int) -> int:
    """The primary SQLite code of an extended one (10250 -> 10); dqlite's own codes as is."""
    if is_dqlite_namespace_code(code):
        return code
    return code & SQLITE_PRIMARY_CODE_MASK
