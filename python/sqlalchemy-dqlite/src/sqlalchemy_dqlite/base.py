"""The synchronous dqlite dialect, ``dqlite://``, on :mod:`dqlitedbapi`.

dqlite runs SQLite on every node of a Raft cluster, so the dialect is SQLAlchemy's SQLite
dialect (compilation, types, PRAGMA reflection) with what differs on dqlite:

* connection URLs name cluster nodes instead of a file;
* transactions: the driver runs every statement in autocommit mode unless a transaction was
  opened with BEGIN, so the dialect sends BEGIN when SQLAlchemy begins a transaction
  (:meth:`DqliteDialect.do_begin`); SQLAlchemy transactions are real dqlite transactions,
  SAVEPOINT included. Isolation levels: SERIALIZABLE (the only one dqlite has) and AUTOCOMMIT
  (no BEGIN is sent);
* RETURNING is replicated correctly only by dqlite 1.18.2 and later: the dialect asks the
  driver on first connect and refuses to compile RETURNING (``CompileError``) otherwise;
* no user-defined functions: REGEXP is refused at compile time;
* errors that mean the connection is unusable (lost leadership, transport failures, a
  closed connection) are reported as disconnects, so the pool discards the connection;
* ``stream_results`` / ``yield_per`` use the driver's streamed results.
"""

from __future__ import annotations

import contextlib
import datetime
import inspect
import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import quote

import dqlitedbapi
from sqlalchemy import exc, null, pool, util
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.sqlite.base import (
    DATE,
    DATETIME,
    TIME,
    SQLiteCompiler,
    SQLiteExecutionContext,
    SQLiteTypeCompiler,
)
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, characteristics
from sqlalchemy.engine import url as sa_url
from sqlalchemy.sql import functions as sql_functions

if TYPE_CHECKING:
    from sqlalchemy.engine.base import Connection
    from sqlalchemy.engine.interfaces import (
        ConnectArgsType,
        DBAPIConnection,
        DBAPICursor,
        IsolationLevel,
    )
    from sqlalchemy.pool import PoolProxiedConnection

__all__ = [
    "DEFAULT_PORT",
    "DqliteCompiler",
    "DqliteDialect",
    "DqliteExecutionContext",
    "DqliteTypeCompiler",
    "ServerSideCursor",
    "make_url",
    "parse_addresses",
]

DEFAULT_PORT: Final = 9001
"""Port assumed for a URL host without one (go-dqlite's and the old dialect's default)."""

DEFAULT_DATABASE: Final = "default"
"""Database opened when the URL names none (dqlitedbapi's default)."""

_RETURNING_PROBE: Final = "DELETE FROM sqlalchemy_dqlite_returning_probe WHERE 0 RETURNING 1"

_OLD_PARAMETER_LIMIT: Final = 255
"""Parameters a statement takes on servers before dqlite 1.12 (Debian 12's 1.11.1)."""

_PARAMETER_PROBE: Final = "SELECT " + ", ".join(["?"] * (_OLD_PARAMETER_LIMIT + 1))

_INT64: Final = range(-(2**63), 2**63)

# Key in a pooled connection's ``info``: the server rolled back the SQLAlchemy
# transaction's BEGIN after an error (see DqliteDialect._run).
_ROLLED_BACK_BY_SERVER: Final = "dqlite_rolled_back_by_server"


def _int_or_none(text: str) -> int | None:
    return None if text.strip().lower() == "none" else int(text)


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a boolean, got {text!r}")


# The URL query parameters (those of the pure-Python sqlalchemy-dqlite 0.8), converted
# from text; the driver checks their values.
_URL_QUERY: Final[dict[str, Callable[[str], Any]]] = {
    "timeout": float,
    "dial_timeout": float,
    "attempt_timeout": float,
    "close_timeout": float,
    "busy_timeout": float,
    "max_total_rows": _int_or_none,
    "max_continuation_frames": _int_or_none,
    "max_message_size": _int_or_none,
    "trust_server_heartbeat": _flag,
    "check_same_thread": _flag,
    "session_mode": str.lower,
}


# URL query parameters of the driver's connection strings that connect() has no keyword
# for (libpq's names for the TLS files too): the dialect hands them to the driver inside a
# ``dqlite://`` connection string, read by the same parser as the driver's own strings and
# the shell's (TLS files are read at each new connection).
_CONNECTION_STRING_QUERY: Final = frozenset(
    {
        "connect_timeout",
        "tls_cert",
        "tls_key",
        "tls_ca",
        "tls_server_name",
        "sslcert",
        "sslkey",
        "sslrootcert",
    }
)


def _connection_string(addresses: list[str], database: str, query: dict[str, str]) -> str:
    """``dqlite://`` + the nodes, the database and ``query``, each part percent-encoded."""
    hosts = ",".join(quote(a, safe="[]:") for a in addresses)
    text = f"dqlite://{hosts}/{quote(database, safe='')}"
    if query:
        text += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    return text


def parse_addresses(host: str | None, port: int | None) -> list[str]:
    """Seed addresses ("host:port") from a URL's host and port.

    ``host`` may list several nodes separated by commas, each with or without its own port;
    nodes without one get ``port`` (default 9001). IPv6 literals come bracketed or bare.
    """
    default_port = port if port is not None else DEFAULT_PORT
    if not host:
        return [f"localhost:{default_port}"]
    seeds = []
    for raw in host.split(","):
        item = raw.strip()
        if not item:
            raise exc.ArgumentError(f"empty node address in dqlite URL host {host!r}")
        seeds.append(_one_address(item, default_port))
    return seeds


def _one_address(item: str, default_port: int) -> str:
    try:
        ip = ipaddress.ip_address(item)
    except ValueError:
        pass
    else:
        return f"[{ip}]:{default_port}" if ip.version == 6 else f"{ip}:{default_port}"
    if item.startswith("["):
        end = item.find("]")
        rest = item[end + 1 :] if end > 0 else None
        if rest == "":
            return f"{item}:{default_port}"
        if rest is not None and rest.startswith(":") and _is_port(rest[1:]):
            return item
        raise exc.ArgumentError(f"invalid node address {item!r} in dqlite URL")
    name, sep, port = item.rpartition(":")
    if not sep:
        return f"{item}:{default_port}"
    if not name or ":" in name or not _is_port(port):
        raise exc.ArgumentError(f"invalid node address {item!r} in dqlite URL")
    return item


def _is_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


_NETLOC = re.compile(r"^(?P<scheme>[\w+]+://)(?P<netloc>[^/?#]*)(?P<rest>.*)$", re.DOTALL)


def make_url(name_or_url: str | URL) -> URL:
    """:func:`sqlalchemy.engine.make_url` that also takes several ``host:port`` nodes.

    ``dqlite://h1:9001,h2:9002/db`` cannot be parsed by SQLAlchemy itself (it reads
    ``9001,h2:9002`` as the port). This helper rewrites it to the form SQLAlchemy parses and
    renders, ``dqlite://[h1:9001,h2:9002]/db``, which ``create_engine`` accepts directly too.
    """
    if isinstance(name_or_url, str):
        match = _NETLOC.match(name_or_url)
        if match is not None:
            netloc = match.group("netloc")
            if "," in netloc and not (netloc.startswith("[") and netloc.endswith("]")):
                name_or_url = f"{match.group('scheme')}[{netloc}]{match.group('rest')}"
    return sa_url.make_url(name_or_url)


def _raw_connection(connection: Any) -> Any:
    """The driver's connection (or the asyncio adapter) behind a pool proxy, if any."""
    inner = getattr(connection, "dbapi_connection", None)
    return connection if inner is None else inner


def _offset_text(value: datetime.datetime | datetime.time) -> str:
    """The UTC offset of an aware value as sqlalchemy-dqlite 0.8 stores it.

    ``+HH:MM`` (``+HH:MM:SS`` when it has seconds); ``""`` for a naive value.
    """
    offset = value.utcoffset()
    if offset is None:
        return ""
    if offset.microseconds:
        raise dqlitedbapi.DataError(f"the UTC offset of {value!r} has a fraction of a second")
    seconds = int(offset.total_seconds())
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{secs:02d}" if secs else text


def _has_own_format(type_: Any) -> bool:
    """Whether a SQLite date type reads its values with a ``regexp`` of its own.

    Without one, SQLAlchemy reads ISO 8601 only, as the driver does.
    """
    return type_._reg is not None


def _as_stored(type_: Any, colexpr: Any) -> Any:
    """``colexpr`` as a SELECT or RETURNING column that reads back the stored text.

    dqlite sends the text of a column declared DATETIME, DATE or TIMESTAMP as its ISO8601
    type, which the driver parses as ISO 8601: a value stored in a format of the type's
    own (``storage_format`` and ``regexp``) would fail every read with DataError. An
    expression has no declared type, so ``coalesce(col, NULL)`` comes back as the stored
    value, which the type's result processor parses with its own regexp.
    """
    if not _has_own_format(type_):
        return colexpr
    return sql_functions.coalesce(colexpr, null(), type_=colexpr.type)


class _DqliteDateTime(DATETIME):
    """SQLite's DATETIME, also taking the ``datetime`` the driver returns for DATETIME columns.

    dqlite sends values of columns declared DATETIME, DATE or TIMESTAMP as its ISO 8601 type,
    which the driver turns into ``datetime``; values of other expressions come back as text.

    Time zones as the pure-Python sqlalchemy-dqlite 0.8 has them, so that a database written
    by either dialect reads the same with the other: an aware value is stored with its UTC
    offset (with the default storage format); a ``timezone=True`` column reads a naive value
    as UTC, a ``timezone=False`` one reads an aware value as naive UTC.
    """

    @property
    def _has_column_expression(self) -> bool:
        return _has_own_format(self)

    def column_expression(self, colexpr: Any) -> Any:
        return _as_stored(self, colexpr)

    def bind_processor(self, dialect: Any) -> Any:
        base = super().bind_processor(dialect)
        if base is None:
            return None
        with_offset = self._reg is None

        def process(value: Any) -> Any:
            if isinstance(value, datetime.time):
                raise dqlitedbapi.DataError(f"a DateTime column cannot take the time {value!r}")
            text = base(value)
            if with_offset and isinstance(value, datetime.datetime) and value.tzinfo is not None:
                text += _offset_text(value)
            return text

        return process

    def result_processor(self, dialect: Any, coltype: object) -> Any:
        parse = super().result_processor(dialect, coltype)
        want_timezone = self.timezone

        def process(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, datetime.datetime):
                pass
            elif isinstance(value, datetime.date):
                value = datetime.datetime(value.year, value.month, value.day)
            elif isinstance(value, datetime.time):
                raise dqlitedbapi.DataError(f"a DateTime column holds the time {value!r}")
            elif parse is not None:
                value = parse(value)
            if not isinstance(value, datetime.datetime):
                return value
            if want_timezone:
                return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)
            if value.tzinfo is not None:
                return value.astimezone(datetime.UTC).replace(tzinfo=None)
            return value

        return process


class _DqliteTime(TIME):
    """SQLite's TIME, with time zones as the pure-Python sqlalchemy-dqlite 0.8 has them.

    An aware value is stored with its UTC offset (with the default storage format); a
    ``timezone=True`` column reads a naive value as UTC, a ``timezone=False`` one drops the
    offset of an aware value.
    """

    def bind_processor(self, dialect: Any) -> Any:
        # SQLAlchemy 2.0 leaves TIME's processors unannotated.
        unannotated: Any = super().bind_processor
        base = unannotated(dialect)
        if base is None:
            return None
        with_offset = self._reg is None

        def process(value: Any) -> Any:
            if isinstance(value, datetime.date):
                raise dqlitedbapi.DataError(
                    f"a Time column cannot take {value!r}; give its .time() or .timetz()"
                )
            text = base(value)
            if with_offset and isinstance(value, datetime.time) and value.tzinfo is not None:
                text += _offset_text(value)
            return text

        return process

    def result_processor(self, dialect: Any, coltype: object) -> Any:
        unannotated: Any = super().result_processor
        parse = unannotated(dialect, coltype)
        want_timezone = self.timezone

        def process(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, datetime.datetime):
                value = value.timetz()
            elif not isinstance(value, datetime.time) and parse is not None:
                value = parse(value)
            if not isinstance(value, datetime.time):
                return value
            if want_timezone:
                return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)
            return value.replace(tzinfo=None) if value.tzinfo is not None else value

        return process


class _DqliteDate(DATE):
    """SQLite's DATE; the driver returns DATE columns as midnight ``datetime``."""

    @property
    def _has_column_expression(self) -> bool:
        return _has_own_format(self)

    def column_expression(self, colexpr: Any) -> Any:
        return _as_stored(self, colexpr)

    def bind_processor(self, dialect: Any) -> Any:
        base = super().bind_processor(dialect)
        if base is None:
            return None

        def process(value: Any) -> Any:
            if isinstance(value, datetime.time):
                raise dqlitedbapi.DataError(f"a Date column cannot take the time {value!r}")
            return base(value)

        return process

    def result_processor(self, dialect: Any, coltype: object) -> Any:
        parse = super().result_processor(dialect, coltype)

        def process(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, datetime.datetime):
                return value.date()
            if isinstance(value, datetime.date):
                return value
            return parse(value) if parse is not None else value

        return process


def _sql_literals(processor: Callable[[Any], Any] | None, values: Sequence[Any]) -> str | None:
    """``values`` as SQL integer and text literals, or None if one binds as anything else."""
    out = []
    for value in values:
        try:
            bound = value if processor is None else processor(value)
        except Exception:
            return None  # bound as usual, so that SQLAlchemy reports the error
        if type(bound) is int and bound in _INT64:
            out.append(str(bound))
        elif type(bound) is str and "\x00" not in bound:
            out.append("'" + bound.replace("'", "''") + "'")
        else:
            return None
    return ", ".join(out)


class DqliteCompiler(SQLiteCompiler):
    """SQLite's compiler, refusing what dqlite cannot run."""

    def returning_clause(
        self,
        stmt: Any,
        returning_cols: Sequence[Any],
        *,
        populate_result_map: bool,
        **kw: Any,
    ) -> str:
        dialect = self.dialect
        if self.isinsert:
            supported, verb = dialect.insert_returning, "INSERT"
        elif self.isupdate:
            supported, verb = dialect.update_returning, "UPDATE"
        else:
            supported, verb = dialect.delete_returning, "DELETE"
        if not supported:
            raise exc.CompileError(
                f"{verb}..RETURNING is not supported by this dqlite server: RETURNING needs "
                "dqlite 1.18.2 or later (older servers drop the rows or do not replicate the "
                "write)"
            )
        base: Any = super().returning_clause
        return str(base(stmt, returning_cols, populate_result_map=populate_result_map, **kw))

    def _literal_execute_expanding_parameter(
        self, name: Any, parameter: Any, values: Any, *args: Any, **kw: Any
    ) -> Any:
        """The elements of an ``IN`` list: bound, or written out on old servers.

        Servers before dqlite 1.12 take at most 255 parameters a statement, and the ORM's
        ``selectinload`` alone sends up to 500 keys in one ``IN``. On those servers a long
        list whose values bind as integers or text (after the type's bind processor: UUIDs,
        dates) is written into the SQL instead, as the same integers and text.
        """
        limit = cast(Any, self.dialect)._parameter_limit
        if limit is not None and len(values) > limit // 4:
            literals = _sql_literals(parameter.type._cached_bind_processor(self.dialect), values)
            if literals is not None:
                return (), literals
        base: Any = super()._literal_execute_expanding_parameter
        return base(name, parameter, values, *args, **kw)

    def visit_regexp_match_op_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
        raise exc.CompileError(
            "dqlite has no REGEXP function (SQLite's REGEXP needs a user-defined function, "
            "which a dqlite client cannot register)"
        )

    def visit_not_regexp_match_op_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
        return self.visit_regexp_match_op_binary(binary, operator, **kw)

    def visit_regexp_replace_op_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
        return self.visit_regexp_match_op_binary(binary, operator, **kw)


class DqliteTypeCompiler(SQLiteTypeCompiler):
    """SQLite's type names, except BOOLEAN, which is declared ``BOOL``.

    dqlite servers (1.11 and 1.18 alike) send every value of a column declared exactly
    ``BOOLEAN`` as their boolean type, NULL included, so a NULL reads back as False. With
    ``BOOL`` the column has the same (NUMERIC) affinity, SQLite reflects it as BOOLEAN, and
    the server sends 0, 1 and NULL as they are. Tables declared ``BOOLEAN`` elsewhere keep
    the server's behaviour.
    """

    def visit_BOOLEAN(self, type_: Any, **kw: Any) -> str:
        return "BOOL"


class ServerSideCursor(dqlitedbapi.Cursor):
    """The cursor of ``stream_results``: a dqlitedbapi cursor, marked as server-side.

    Every dqlitedbapi cursor streams (rows are read from the server as they are fetched,
    a frame at a time); the class only lets code tell which ones SQLAlchemy asked for.
    """

    server_side = True


class DqliteExecutionContext(SQLiteExecutionContext):
    """SQLite's execution context; server-side cursors are the driver's streamed results."""

    def create_server_side_cursor(self) -> DBAPICursor:
        return cast(Any, self._dbapi_connection).cursor(factory=ServerSideCursor)  # type: ignore[no-any-return]


def _pool_info(pooled: Any) -> dict[Any, Any] | None:
    """The pool's ``info`` of a pooled connection.

    None for a connection the pool does not hold (a bare driver connection, or the ad hoc
    proxy of the first connect).
    """
    try:
        return cast("dict[Any, Any] | None", getattr(pooled, "info", None))
    except NotImplementedError:
        return None


def _server_rolled_back(pooled: Any) -> bool:
    """Whether the server ended this connection's transaction after an error."""
    info = _pool_info(pooled)
    return info is not None and bool(info.get(_ROLLED_BACK_BY_SERVER))


def _forget_server_rollback(pooled: Any) -> None:
    info = _pool_info(pooled)
    if info is not None:
        info.pop(_ROLLED_BACK_BY_SERVER, None)


def _driver_connection(dbapi_connection: Any) -> Any:
    """The dqlitedbapi connection behind a pool proxy or the asyncio adapter."""
    raw = _raw_connection(dbapi_connection)
    return getattr(raw, "_connection", raw)


class DqliteSessionModeCharacteristic(characteristics.ConnectionCharacteristic):
    """The ``dqlite_session_mode`` execution option.

    It sets the driver connection's session mode (what a bare BEGIN becomes, or
    ``read_only``); the mode given to ``connect()`` is set back when the connection
    returns to the pool.
    """

    transactional = True

    def reset_characteristic(self, dialect: Any, dbapi_conn: Any) -> None:
        self.set_characteristic(
            dialect, dbapi_conn, _driver_connection(dbapi_conn).default_session_mode
        )

    def set_characteristic(self, dialect: Any, dbapi_conn: Any, value: Any) -> None:
        try:
            mode = dqlitedbapi.validate_session_mode(value)
        except (TypeError, ValueError) as e:
            raise exc.ArgumentError(f"dqlite_session_mode: {e}") from e
        result = _driver_connection(dbapi_conn).set_session_mode(mode)
        if inspect.isawaitable(result):
            from sqlalchemy_dqlite.aio import await_

            await_(result)

    def get_characteristic(self, dialect: Any, dbapi_conn: Any) -> Any:
        return _driver_connection(dbapi_conn).session_mode


class DqliteDialect(SQLiteDialect_pysqlite):
    """``dqlite://host:port[,host:port...]/database?timeout=SECONDS`` on :mod:`dqlitedbapi`.

    Several nodes are written ``dqlite://[h1:9001,h2:9002]/db`` (or passed through
    :func:`make_url`); the driver finds the leader among them.
    """

    name = "dqlite"
    driver = "dqlitedbapi"
    supports_statement_cache = True
    default_paramstyle = "qmark"
    is_async = False

    supports_server_side_cursors = True

    # Parameters a statement takes, None for no limit of dqlite's: probed on first connect.
    _parameter_limit: int | None = None

    # RETURNING: probed on first connect (see initialize()); off until then.
    insert_returning = False
    update_returning = False
    update_returning_multifrom = False
    delete_returning = False

    statement_compiler = DqliteCompiler
    type_compiler_cls = DqliteTypeCompiler
    execution_ctx_cls = DqliteExecutionContext

    connection_characteristics = util.immutabledict(
        {
            **SQLiteDialect_pysqlite.connection_characteristics,
            "dqlite_session_mode": DqliteSessionModeCharacteristic(),
        }
    )

    colspecs = {  # noqa: RUF012 (SQLAlchemy declares it as a plain attribute)
        **SQLiteDialect_pysqlite.colspecs,
        sqltypes.DateTime: _DqliteDateTime,
        sqltypes.TIMESTAMP: _DqliteDateTime,
        sqltypes.Date: _DqliteDate,
        sqltypes.Time: _DqliteTime,
    }

    def __init__(self, **kwargs: Any) -> None:
        """Keyword arguments as :class:`sqlalchemy.dialects.sqlite.pysqlite`'s dialect."""
        if kwargs.get("native_datetime"):
            raise exc.ArgumentError(
                "native_datetime is not supported by the dqlite dialect: dates and times are "
                "stored as ISO 8601 text, as SQLAlchemy's SQLite dialect does"
            )
        super().__init__(**kwargs)
        # SQLiteDialect.__init__ enables RETURNING from the driver's SQLite version; dqlite
        # needs more than that (1.18.2), so the server is asked in initialize().
        self._set_returning(False)

    @classmethod
    def import_dbapi(cls) -> Any:
        return dqlitedbapi

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.QueuePool

    # -- connecting --------------------------------------------------------------------

    def create_connect_args(self, url: URL) -> ConnectArgsType:
        if url.username is not None or url.password is not None:
            raise exc.ArgumentError("dqlite URLs take no user name or password")
        addresses = parse_addresses(url.host, url.port)
        # A pool hands connections to whichever thread checks them out.
        database = url.database or DEFAULT_DATABASE
        kwargs: dict[str, Any] = {"database": database, "check_same_thread": False}
        in_string: dict[str, str] = {}
        for key, value in url.query.items():
            text = value[-1] if isinstance(value, tuple) else value
            if key in _CONNECTION_STRING_QUERY:
                in_string[key] = text
                continue
            convert = _URL_QUERY.get(key)
            if convert is None:
                known = ", ".join([*_URL_QUERY, *sorted(_CONNECTION_STRING_QUERY)])
                raise exc.ArgumentError(
                    f"unknown dqlite URL parameter {key!r} (known: {known}); "
                    "pass other driver arguments with create_engine(connect_args=...)"
                )
            try:
                kwargs[key] = convert(text)
            except ValueError as e:
                raise exc.ArgumentError(f"dqlite URL parameter {key}={text!r}: {e}") from e
        if in_string:
            return ([_connection_string(addresses, database, in_string)], kwargs)
        return ([",".join(addresses)], kwargs)

    _creator_keyword = "creator_fn"

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        """The driver's connection, or ``connect_args["creator_fn"](*args, **kwargs)``."""
        creator = cparams.pop(self._creator_keyword, None)
        if creator is not None:
            if not callable(creator):
                raise exc.ArgumentError(f"connect_args[{self._creator_keyword!r}] must be callable")
            return creator(*cargs, **cparams)
        return self.loaded_dbapi.connect(*cargs, **cparams)

    def on_connect(self) -> Callable[[Any], None]:
        # The pysqlite dialect registers REGEXP and floor() as Python functions; a dqlite
        # client cannot register functions on the server. What is left: a new connection
        # starts in SERIALIZABLE mode (see set_isolation_level).
        def serializable(dbapi_connection: Any) -> None:
            _raw_connection(dbapi_connection).autocommit = dqlitedbapi.LEGACY_TRANSACTION_CONTROL

        return serializable

    def _get_server_version_info(self, connection: Any) -> tuple[int, ...]:
        """The SQLite version the server runs (3.40.1 on dqlite 1.11, 3.46.1 on 1.18)."""
        cursor = connection.connection.cursor()
        try:
            cursor.execute("SELECT sqlite_version()")
            row = cursor.fetchone()
        finally:
            cursor.close()
        return tuple(int(part) for part in str(row[0]).split(".") if part.isdigit())

    def initialize(self, connection: Connection) -> None:
        super().initialize(connection)
        self._set_returning(self._server_has_returning(connection))
        self._parameter_limit = self._server_parameter_limit(connection)

    def _server_parameter_limit(self, connection: Connection) -> int | None:
        """255 on servers before dqlite 1.12, None on later ones.

        The driver knows the server's version and refuses a statement with more parameters
        than the server takes (NotSupportedError) before sending it.
        """
        dbapi = cast(Any, self.loaded_dbapi)
        cursor = cast(Any, connection.connection).cursor()
        try:
            cursor.execute(_PARAMETER_PROBE, (None,) * (_OLD_PARAMETER_LIMIT + 1))
        except dbapi.NotSupportedError:
            return _OLD_PARAMETER_LIMIT
        finally:
            cursor.close()
        return None

    def _server_has_returning(self, connection: Connection) -> bool:
        """Whether the server runs RETURNING correctly (dqlite 1.18.2 and later).

        The driver checks the server's version before it sends a RETURNING statement and
        raises NotSupportedError when it is too old. The probe names a table that does not
        exist, so a capable server refuses it ("no such table") and nothing is written.
        """
        dbapi = cast(Any, self.loaded_dbapi)
        cursor = cast(Any, connection.connection).cursor()
        try:
            cursor.execute(_RETURNING_PROBE)
        except dbapi.NotSupportedError:
            return False
        except dbapi.Error as e:
            return "no such table" in str(e)
        finally:
            cursor.close()
        return True

    def _set_returning(self, supported: bool) -> None:
        self.insert_returning = supported
        self.update_returning = supported
        self.update_returning_multifrom = supported
        self.delete_returning = supported
        # The driver gathers the RETURNING rows of executemany (bulk UPDATE/DELETE).
        self.update_executemany_returning = supported
        self.delete_executemany_returning = supported
        # memoized by DefaultDialect from insert_returning; keep them in step.
        self.insert_executemany_returning = supported and self.use_insertmanyvalues
        self.insert_executemany_returning_sort_by_parameter_order = (
            supported and self.use_insertmanyvalues
        )

    # -- transactions and isolation ----------------------------------------------------

    def get_isolation_level_values(self, dbapi_connection: DBAPIConnection) -> list[IsolationLevel]:
        return ["SERIALIZABLE", "AUTOCOMMIT"]

    def get_isolation_level(self, dbapi_connection: DBAPIConnection) -> IsolationLevel:
        return "AUTOCOMMIT" if self.detect_autocommit_setting(dbapi_connection) else "SERIALIZABLE"

    def get_default_isolation_level(self, dbapi_conn: DBAPIConnection) -> IsolationLevel:
        return "SERIALIZABLE"

    def set_isolation_level(self, dbapi_connection: DBAPIConnection, level: IsolationLevel) -> None:
        # The driver runs statements in autocommit mode until BEGIN, whatever its
        # ``autocommit`` (True or LEGACY_TRANSACTION_CONTROL, which mean the same to it);
        # the dialect records its mode there: True for AUTOCOMMIT (do_begin() sends
        # nothing), LEGACY_TRANSACTION_CONTROL for SERIALIZABLE (do_begin() sends BEGIN).
        raw = _raw_connection(dbapi_connection)
        if level == "AUTOCOMMIT":
            raw.autocommit = True
        elif level == "SERIALIZABLE":
            raw.autocommit = dqlitedbapi.LEGACY_TRANSACTION_CONTROL
        else:
            raise exc.ArgumentError(
                f"invalid isolation level {level!r} for dqlite: SERIALIZABLE or AUTOCOMMIT"
            )

    def detect_autocommit_setting(self, dbapi_conn: DBAPIConnection) -> bool:
        return _raw_connection(dbapi_conn).autocommit is True

    def do_begin(self, dbapi_connection: PoolProxiedConnection | DBAPIConnection) -> None:
        """Sends BEGIN, so that a SQLAlchemy transaction is a dqlite transaction.

        Nothing is sent in AUTOCOMMIT mode, nor when a transaction is already open (for
        example one begun with an explicit BEGIN statement).
        """
        _forget_server_rollback(dbapi_connection)
        raw = _raw_connection(dbapi_connection)
        if raw.autocommit is True or raw.in_transaction:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN")
        finally:
            cursor.close()

    def do_commit(self, dbapi_connection: DBAPIConnection) -> None:
        if _server_rolled_back(dbapi_connection):
            raise cast(Any, self.loaded_dbapi).OperationalError(
                "nothing was committed: the server rolled the transaction back after an "
                "earlier error; call rollback()"
            )
        # SQLAlchemy 2.0 leaves do_commit and do_rollback unannotated.
        base: Any = super().do_commit
        base(dbapi_connection)

    def do_rollback(self, dbapi_connection: PoolProxiedConnection | DBAPIConnection) -> None:
        _forget_server_rollback(dbapi_connection)
        base: Any = super().do_rollback
        base(dbapi_connection)

    # SQLite rolls a whole transaction back by itself after some errors (ON CONFLICT
    # ROLLBACK, RAISE(ROLLBACK) in a trigger, a full disk), while SQLAlchemy's transaction
    # stays open. The driver then runs later statements in autocommit mode: they would be
    # committed on their own, out of reach of rollback(), and commit() would report the
    # lost writes as committed. So when a statement fails and the transaction is gone,
    # the connection takes no statement and no commit until its transaction ends
    # (rollback(), or a new SQLAlchemy transaction), as PostgreSQL does with a failed
    # transaction.

    def do_execute(
        self, cursor: DBAPICursor, statement: str, parameters: Any, context: Any = None
    ) -> None:
        self._run(context, lambda: cursor.execute(statement, parameters))

    def do_execute_no_params(
        self, cursor: DBAPICursor, statement: str, context: Any = None
    ) -> None:
        self._run(context, lambda: cursor.execute(statement))

    def do_executemany(
        self, cursor: DBAPICursor, statement: str, parameters: Any, context: Any = None
    ) -> None:
        self._run(context, lambda: cursor.executemany(statement, parameters))

    def _run(self, context: Any, statement: Callable[[], object]) -> None:
        pooled = getattr(context, "_dbapi_connection", None)
        if pooled is None:
            statement()
            return
        if _server_rolled_back(pooled):
            raise cast(Any, self.loaded_dbapi).OperationalError(
                "the server rolled the transaction back after an earlier error; call "
                "rollback() before running more statements"
            )
        raw = _raw_connection(pooled)
        in_transaction = raw.autocommit is not True and raw.in_transaction
        try:
            statement()
        except Exception:
            if in_transaction and not raw.in_transaction and not raw.closed:
                info = _pool_info(pooled)
                if info is not None:
                    info[_ROLLED_BACK_BY_SERVER] = True
            raise

    # -- disconnects -------------------------------------------------------------------

    def is_disconnect(
        self,
        e: Exception,
        connection: PoolProxiedConnection | DBAPIConnection | None,
        cursor: DBAPICursor | None,
    ) -> bool:
        """True when the connection cannot be used again: the pool then discards it.

        The driver says so on the error (``connection_lost``: it closed the connection
        because of a transport failure, a timeout, a leadership change or a write of
        unknown outcome, or the connection was used after closing), or the connection
        itself reads closed.
        """
        dbapi = cast(Any, self.loaded_dbapi)
        if not isinstance(e, dbapi.Error):
            return False
        if e.connection_lost:
            return True
        if connection is not None:
            raw = _raw_connection(connection)
            if raw is None or getattr(raw, "closed", False):
                return True
        return False


dialect = DqliteDialect

# Alembic finds its migration implementation by dialect name; register ours if Alembic
# is installed.
with contextlib.suppress(ImportError):
    from sqlalchemy_dqlite import _alembic  # noqa: F401
