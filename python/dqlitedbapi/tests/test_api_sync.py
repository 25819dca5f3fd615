# Generated from tests/test_api_async.py by tools/async_to_sync.py: do not edit.
"""The PEP 249 surface against a real cluster, blocking API."""

from __future__ import annotations

import array
import datetime
import decimal
import time
from typing import Any

import pytest

import dqlitedbapi
from dqlitedbapi import Connection, connect

from .dialers import NodeDialer


def test_connection_exception_attributes(conn: Connection) -> None:
    for name in ["Error", "InterfaceError", "IntegrityError", "OperationalError", "Warning"]:
        assert getattr(conn, name) is getattr(dqlitedbapi, name)


def test_execute_and_fetch(conn: Connection) -> None:
    cur = conn.cursor()
    assert cur.arraysize == 1
    assert cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)") is cur
    assert cur.description is None
    assert cur.rowcount == -1
    cur.execute("INSERT INTO t (name) VALUES (?)", ("a",))
    assert cur.rowcount == 1
    assert cur.lastrowid == 1
    cur.executemany("INSERT INTO t (name) VALUES (?)", [("b",), ("c",), ("d",)])
    assert cur.rowcount == 3
    cur.execute("SELECT id, name FROM t ORDER BY id")
    assert cur.rowcount == 4  # the rows of a complete result, as dqlite-dbapi 0.8 reports
    assert cur.description is not None
    assert [d[0] for d in cur.description] == ["id", "name"]
    assert all(len(d) == 7 for d in cur.description)
    assert cur.description[0][1] == dqlitedbapi.NUMBER
    assert cur.description[1][1] == dqlitedbapi.STRING
    assert cur.fetchone() == (1, "a")
    assert cur.fetchmany(2) == [(2, "b"), (3, "c")]
    cur.arraysize = 5
    assert cur.fetchmany() == [(4, "d")]
    assert cur.fetchone() is None
    assert cur.fetchall() == []
    rows = [r for r in conn.execute("SELECT name FROM t WHERE id > ?", [2])]
    assert rows == [("c",), ("d",)]
    cur.execute("UPDATE t SET name = name || '!'")
    assert cur.rowcount == 4
    cur.execute("DELETE FROM t WHERE id > 2")
    assert cur.rowcount == 2
    cur.setinputsizes([None])
    cur.setoutputsize(10)


def test_placeholders_counted_as_sqlite_counts_them(conn: Connection) -> None:
    # A word glued to ? is a token of its own (?AND is ? then AND; ?2x is ?2 then x), and
    # #name is a parameter, as SQLite parses them: each gets its value, and a missing one
    # is an error, never a NULL bound silently.
    conn.execute("CREATE TABLE t (a, b)")
    conn.execute("INSERT INTO t VALUES (?, ?)", (1, 2))
    conn.execute("INSERT INTO t VALUES (?, ?)", (1, 3))
    assert every(conn, "SELECT b FROM t WHERE a = ?AND b = ?", (1, 3)) == [(3,)]
    with pytest.raises(dqlitedbapi.ProgrammingError, match="Incorrect number of bindings"):
        conn.execute("SELECT b FROM t WHERE a = ?AND b = 3")
    assert one(conn, "SELECT ?x, ?2y", (5, 6)) == (5, 6)
    assert one(conn, "SELECT #v, :w", {"v": 7, "w": 8}) == (7, 8)
    with pytest.raises(dqlitedbapi.ProgrammingError, match="did not supply a value"):
        conn.execute("INSERT INTO t VALUES (#v, 0)", {"w": 9})
    assert one(conn, "SELECT count(*) FROM t") == (2,)


def test_named_parameters(conn: Connection) -> None:
    row = one(conn, "SELECT :a, @b, $c, :a", {"a": 1, "b": "two", "c": None})
    assert row == (1, "two", None, 1)
    with pytest.raises(dqlitedbapi.ProgrammingError, match="did not supply a value"):
        conn.execute("SELECT :a, :missing", {"a": 1})
    # A missing name is reported whatever the supplied values (found by hypothesis: a value
    # too big for 64 bits, bound first, used to win with a DataError).
    with pytest.raises(dqlitedbapi.ProgrammingError, match="did not supply a value"):
        conn.execute("SELECT :a, :missing", {"a": 2**70})
    with pytest.raises(dqlitedbapi.ProgrammingError, match="has no name"):
        conn.execute("SELECT ?", {"a": 1})
    with pytest.raises(dqlitedbapi.ProgrammingError, match="Incorrect number of bindings"):
        conn.execute("SELECT ?, ?", (1,))
    with pytest.raises(dqlitedbapi.ProgrammingError, match="Incorrect number of bindings"):
        conn.execute("SELECT 1", (1,))
    assert one(conn, "SELECT ?2, ?1", (1, 2)) == (2, 1)
    # Tcl-style names are one parameter each, as SQLite (and stdlib sqlite3) reads them.
    row = one(conn, "SELECT :a::int, :int, @a(x)", {"a::int": 1, "int": 2, "a(x)": 3})
    assert row == (1, 2, 3)
    with pytest.raises(dqlitedbapi.ProgrammingError, match="did not supply a value"):
        conn.execute("SELECT :a::int, :int", {"a": 1, "int": 2})


def test_a_unicode_space_is_not_trimmed_away(conn: Connection) -> None:
    # To SQLite a Unicode space or a vertical tab starts a name or an unknown token: the
    # statement is SQLite's syntax error. Trimmed, it ran as an EXEC of a write with
    # RETURNING (the node dropped the connection, the insert was lost).
    conn.execute("CREATE TABLE ws (n INTEGER PRIMARY KEY, v TEXT)")
    for space in ("\u00a0", "\u3000", "\x0b"):
        with pytest.raises(dqlitedbapi.OperationalError, match=r"syntax error|unrecognized"):
            conn.execute(f"{space}INSERT INTO ws (v) VALUES ('x') RETURNING n")
        conn.execute("INSERT INTO ws (v) VALUES ('after')")
    assert every(conn, "SELECT v FROM ws") == [("after",)] * 3


def one(conn: Connection, sql: str, parameters: Any = ()) -> Any:
    """The first row of ``sql``."""
    cur = conn.execute(sql, parameters)
    return cur.fetchone()


def every(conn: Connection, sql: str, parameters: Any = ()) -> list[Any]:
    """Every row of ``sql``."""
    cur = conn.execute(sql, parameters)
    return cur.fetchall()


VALUES: list[Any] = [
    0,
    -(2**63),
    2**63 - 1,
    1.5,
    -0.0,
    float("inf"),
    "",
    "héllo wörld €𝄞",
    b"",
    b"\x00\x01\xff",
    None,
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_types_round_trip(conn: Connection, value: Any) -> None:
    conn.execute("CREATE TABLE v (x)")
    conn.execute("INSERT INTO v VALUES (?)", (value,))
    assert one(conn, "SELECT x FROM v") == (value,)
    assert one(conn, "SELECT ?", (value,)) == (value,)


def test_bytes_like_and_bool(conn: Connection) -> None:
    row = one(
        conn,
        "SELECT ?, ?, ?, ?, ?",
        (bytearray(b"ab"), memoryview(b"cd"), dqlitedbapi.Binary(b"ef"), True, False),
    )
    assert row == (b"ab", b"cd", b"ef", 1, 0)


def test_text_that_is_not_utf8_is_an_operational_error(conn: Connection) -> None:
    # SQLite hands back the bytes stored; 0xff and an encoded surrogate are not UTF-8.
    assert one(conn, "SELECT 'h\u00e9llo', CAST(X'41' AS TEXT)") == ("h\u00e9llo", "A")
    for raw in ["ff41", "eda080"]:
        cur = conn.execute(f"SELECT 1, CAST(X'{raw}' AS TEXT) AS t")
        with pytest.raises(dqlitedbapi.OperationalError, match="UTF-8 column 't'"):
            cur.fetchall()
    # The connection stays usable.
    assert one(conn, "SELECT 2") == (2,)


def test_boolean_column(conn: Connection) -> None:
    conn.execute("CREATE TABLE b (flag BOOLEAN)")
    conn.executemany("INSERT INTO b VALUES (?)", [(True,), (False,)])
    assert every(conn, "SELECT flag FROM b ORDER BY rowid") == [(True,), (False,)]


def test_datetimes(conn: Connection) -> None:
    conn.execute("CREATE TABLE d (ts DATETIME, day DATE, t TEXT)")
    naive = datetime.datetime(2024, 2, 29, 13, 14, 15, 123456)
    aware = datetime.datetime(
        2024, 2, 29, 13, 14, 15, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))
    )
    conn.execute("INSERT INTO d VALUES (?, ?, ?)", (naive, datetime.date(2024, 1, 2), "x"))
    conn.execute("INSERT INTO d VALUES (?, NULL, ?)", (aware, datetime.time(1, 2, 3)))
    rows = every(conn, "SELECT ts, day, t FROM d ORDER BY rowid")
    assert rows[0] == (naive, datetime.datetime(2024, 1, 2), "x")
    assert rows[1][0] == aware
    assert rows[1][0].utcoffset() == datetime.timedelta(hours=-5)
    assert rows[1][1] is None
    assert rows[1][2] == "01:02:03"
    conn.execute("CREATE TABLE u (ts DATETIME)")
    conn.execute("INSERT INTO u VALUES (1700000000)")
    assert one(conn, "SELECT ts FROM u") == (
        datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.UTC),
    )


def test_parameter_errors(conn: Connection) -> None:
    with pytest.raises(dqlitedbapi.DataError, match="64-bit"):
        conn.execute("SELECT ?", (2**63,))
    with pytest.raises(dqlitedbapi.DataError, match="NUL"):
        conn.execute("SELECT ?", ("a\x00b",))
    with pytest.raises(dqlitedbapi.ProgrammingError, match=r"parameter 2: type 'object'"):
        conn.execute("SELECT ?, ?", (1, object()))
    with pytest.raises(dqlitedbapi.ProgrammingError, match="Decimal"):
        conn.execute("SELECT ?", (decimal.Decimal("1.5"),))
    with pytest.raises(dqlitedbapi.ProgrammingError, match="sequence of values"):
        conn.execute("SELECT ?", "a")
    with pytest.raises(dqlitedbapi.ProgrammingError, match="one statement at a time"):
        conn.execute("SELECT 1; SELECT 2;")
    # Over 64 MiB a row could not be read back: refused before sending.
    with pytest.raises(dqlitedbapi.DataError, match="limit"):
        conn.execute("SELECT ?", (b"x" * (64 * 1024 * 1024 - 63),))
    # The connection is still fine.
    assert one(conn, "SELECT 1") == (1,)


def test_adapters_and_converters(cluster: Any, dbname: str) -> None:
    dqlitedbapi.register_adapter(decimal.Decimal, str)
    dqlitedbapi.register_converter("dec", lambda b: decimal.Decimal(b.decode()))
    try:
        with connect(
            cluster.address, database=dbname, detect_types=dqlitedbapi.PARSE_COLNAMES
        ) as c:
            cur = c.execute('SELECT ? AS "x [dec]", 2 AS y', (decimal.Decimal("1.25"),))
            assert cur.fetchone() == (decimal.Decimal("1.25"), 2)
            assert cur.description is not None
            assert cur.description[0][0] == "x"

            class Point:
                def __conform__(self, protocol: object) -> str:
                    assert protocol is dqlitedbapi.PrepareProtocol
                    return "1;2"

            assert one(c, "SELECT ?", (Point(),)) == ("1;2",)
            c.close()
    finally:
        dqlitedbapi.unregister_adapter(decimal.Decimal)


def test_converters_get_the_stored_value(cluster: Any, dbname: str) -> None:
    # As in sqlite3: a converter gets the value as stored, also from a column declared
    # DATETIME (which the server sends as a date-time type); the same column without a
    # converter still reads as a datetime.
    dqlitedbapi.register_converter("raw", bytes)
    try:
        with connect(
            cluster.address, database=dbname, detect_types=dqlitedbapi.PARSE_COLNAMES
        ) as c:
            c.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, d DATETIME)")
            c.execute("INSERT INTO t (d) VALUES ('2024-01-02T03:04:05Z'), (1700000000)")
            utc = datetime.UTC
            assert every(c, 'SELECT d AS "d [raw]", d FROM t ORDER BY k') == [
                (b"2024-01-02T03:04:05Z", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc)),
                (b"1700000000", datetime.datetime.fromtimestamp(1700000000, utc)),
            ]
            c.close()
    finally:
        dqlitedbapi._adapt.CONVERTERS.pop("RAW", None)


def test_converters_get_the_stored_value_from_executemany_returning(
    cluster: Any, dbname: str
) -> None:
    # The rows executemany gathers from RETURNING reach converters as stored too, not as
    # the text of the datetime the driver made of them.
    if cluster.version in ("1.11", "1.18"):
        pytest.skip("RETURNING needs dqlite 1.18.2")
    dqlitedbapi.register_converter("raw", bytes)
    try:
        with connect(
            cluster.address, database=dbname, detect_types=dqlitedbapi.PARSE_COLNAMES
        ) as c:
            c.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, d DATETIME, e DATE)")
            c.execute("INSERT INTO t (d, e) VALUES ('2024-01-02T03:04:05.5Z', '2024-01-02')")
            cur = c.cursor()
            cur.executemany(
                'UPDATE t SET k = k WHERE k = ? RETURNING d AS "d [raw]", e AS "e [raw]", d',
                [(1,)],
            )
            assert cur.fetchall() == [
                (
                    b"2024-01-02T03:04:05.5Z",
                    b"2024-01-02",
                    datetime.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=datetime.UTC),
                )
            ]
            c.close()
    finally:
        dqlitedbapi._adapt.CONVERTERS.pop("RAW", None)


def test_conform_of_subclasses_and_dates(conn: Connection) -> None:
    # As in sqlite3 and dqlite-dbapi 0.8: __conform__ is asked for any value that is not
    # exactly a built-in type (subclasses of int, str, float, bytes and datetime too), and
    # what it returns is bound (a date or time as its ISO 8601 text).
    class Cents(int):
        def __conform__(self, protocol: object) -> str:
            return f"{self / 100:.2f}"

    class Tag(str):
        def __conform__(self, protocol: object) -> str:
            return self.upper()

    class Plain(int):
        def __conform__(self, protocol: object) -> None:
            return None

    class Stamp(datetime.datetime):
        def __conform__(self, protocol: object) -> int:
            return 7

    class Day:
        def __conform__(self, protocol: object) -> datetime.date:
            return datetime.date(2024, 2, 29)

    assert one(
        conn,
        "SELECT ?, ?, ?, ?, ?",
        (Cents(1234), Tag("ab"), Plain(5), Stamp(2024, 1, 2), Day()),
    ) == ("12.34", "AB", 5, 7, "2024-02-29")


def test_memoryview_of_items_wider_than_a_byte(conn: Connection) -> None:
    # As dqlite-dbapi 0.8: a memoryview of wider items would be sent in the host's byte
    # order and item size; only views of single bytes (contiguous or not) are BLOBs.
    with pytest.raises(dqlitedbapi.DataError, match="format 'i'"):
        conn.execute("SELECT ?", (memoryview(array.array("i", [1, 2])),))
    assert one(conn, "SELECT ?", (memoryview(array.array("i", [1])).cast("B"),)) == (
        array.array("i", [1]).tobytes(),
    )
    assert one(
        conn,
        "SELECT ?, ?, ?",
        (memoryview(b"abcdef")[::2], memoryview(b"ab").cast("c"), memoryview(b"ab").cast("b")),
    ) == (b"ace", b"ab", b"ab")


def test_adapter_failures_are_data_errors(conn: Connection) -> None:
    # As dqlite-dbapi 0.8: an adapter that raises, or that returns (as a __conform__ may)
    # what cannot be bound, is a DataError; the adapter's own error is its cause.
    class Boom:
        pass

    class Odd:
        pass

    class Conformed:
        def __conform__(self, protocol: object) -> object:
            return object()

    dqlitedbapi.register_adapter(Boom, lambda v: 1 / 0)
    dqlitedbapi.register_adapter(Odd, lambda v: object())
    try:
        with pytest.raises(dqlitedbapi.DataError, match="Boom") as info:
            conn.execute("SELECT ?", (Boom(),))
        assert isinstance(info.value.__cause__, ZeroDivisionError)
        with pytest.raises(dqlitedbapi.DataError, match="Odd"):
            conn.execute("SELECT ?", (Odd(),))
        with pytest.raises(dqlitedbapi.DataError, match="Conformed"):
            conn.execute("SELECT ?", (Conformed(),))
        with pytest.raises(dqlitedbapi.ProgrammingError, match="object"):
            conn.execute("SELECT ?", (object(),))
    finally:
        dqlitedbapi.unregister_adapter(Boom)
        dqlitedbapi.unregister_adapter(Odd)
    assert one(conn, "SELECT 1") == (1,)


def test_integers_in_datetime_columns(conn: Connection) -> None:
    # The server sends an integer of a DATETIME, DATE or TIMESTAMP column as UNIXTIME: a
    # UTC datetime, before 1970 too (dqlite-dbapi 0.8 raises DataError for those).
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, at DATETIME)")
    conn.execute("INSERT INTO t (at) VALUES (0), (-1), (253402300799), (253402300800)")
    utc = datetime.UTC
    assert every(conn, "SELECT at FROM t WHERE k < 4 ORDER BY k") == [
        (datetime.datetime(1970, 1, 1, tzinfo=utc),),
        (datetime.datetime(1969, 12, 31, 23, 59, 59, tzinfo=utc),),
        (datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=utc),),
    ]
    with pytest.raises(dqlitedbapi.DataError, match="out of range"):
        every(conn, "SELECT at FROM t WHERE k = 4")


def test_row_factory(conn: Connection) -> None:
    conn.row_factory = lambda cur, row: dict(zip([d[0] for d in cur.description], row, strict=True))
    assert every(conn, "SELECT 1 AS a, 2 AS b") == [{"a": 1, "b": 2}]


@pytest.mark.parametrize(
    ("sql", "cls", "name"),
    [
        ("SELEC 1", dqlitedbapi.OperationalError, "SQLITE_ERROR"),
        ("SELECT * FROM nowhere", dqlitedbapi.OperationalError, "SQLITE_ERROR"),
        (
            "INSERT INTO e VALUES (1, 'dup')",
            dqlitedbapi.IntegrityError,
            "SQLITE_CONSTRAINT_PRIMARYKEY",
        ),
        ("INSERT INTO e VALUES (2, NULL)", dqlitedbapi.IntegrityError, "SQLITE_CONSTRAINT_NOTNULL"),
        ("INSERT INTO e VALUES (3, 'a')", dqlitedbapi.IntegrityError, "SQLITE_CONSTRAINT_UNIQUE"),
        ("INSERT INTO e VALUES (4, 'b', 0)", dqlitedbapi.OperationalError, "SQLITE_ERROR"),
        ("SELECT 1; SELECT 2", dqlitedbapi.ProgrammingError, None),
        ("", dqlitedbapi.ProgrammingError, None),
    ],
)
def test_error_mapping(conn: Connection, sql: str, cls: type[Exception], name: str | None) -> None:
    conn.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
    conn.execute("INSERT INTO e VALUES (1, 'a')")
    with pytest.raises(cls) as info:
        conn.execute(sql)
    err = info.value
    assert isinstance(err, dqlitedbapi.Error)
    assert getattr(err, "sqlite_errorname", None) == name
    if name is not None:
        assert isinstance(err.sqlite_errorcode, int)
    assert one(conn, "SELECT count(*) FROM e") == (1,)


def test_transactions(conn: Connection) -> None:
    conn.execute("CREATE TABLE x (n)")
    assert not conn.in_transaction
    conn.commit()  # no-op outside a transaction
    conn.rollback()
    conn.execute("BEGIN")
    assert conn.in_transaction
    conn.execute("INSERT INTO x VALUES (1)")
    conn.rollback()
    assert not conn.in_transaction
    assert one(conn, "SELECT count(*) FROM x") == (0,)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO x VALUES (1)")
    conn.commit()
    assert not conn.in_transaction
    assert one(conn, "SELECT count(*) FROM x") == (1,)
    conn.execute("SAVEPOINT a")
    assert conn.in_transaction
    conn.execute("INSERT INTO x VALUES (2)")
    conn.execute("RELEASE a")
    assert not conn.in_transaction
    assert one(conn, "SELECT count(*) FROM x") == (2,)


def test_a_byte_order_mark_is_whitespace_to_the_transaction_tracking(
    conn: Connection,
) -> None:
    # SQLite skips a UTF-8 byte order mark like a space (SQL read from a file may start
    # with one): BEGIN behind it opens a transaction, which commit() must then commit.
    conn.execute("CREATE TABLE x (n)")
    conn.execute("\ufeffBEGIN")
    assert conn.in_transaction
    conn.execute("INSERT INTO x VALUES (1)")
    conn.commit()
    assert not conn.in_transaction
    conn.execute(" \ufeff/* c */\ufeff SAVEPOINT a")
    assert conn.in_transaction
    conn.execute("\ufeffINSERT INTO x VALUES (2)")
    conn.execute("\ufeffRELEASE a")
    assert not conn.in_transaction
    assert one(conn, "\ufeffSELECT count(*) FROM x") == (2,)
    conn.rollback()
    assert one(conn, "SELECT count(*) FROM x") == (2,)


def test_context_manager_commits_or_rolls_back(conn: Connection) -> None:
    conn.execute("CREATE TABLE x (n)")
    with conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO x VALUES (1)")
    assert not conn.in_transaction
    with pytest.raises(ZeroDivisionError), conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO x VALUES (2)")
        1 / 0  # noqa: B018
    assert not conn.closed
    assert every(conn, "SELECT n FROM x") == [(1,)]


def test_context_manager_rolls_back_a_refused_commit(
    conn: Connection, cluster: Any, dbname: str
) -> None:
    # As sqlite3's: a COMMIT that fails on leaving the block (here a deferred foreign key)
    # is rolled back, not left open for the statements after the block, which autocommit.
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TABLE c (pid INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(dqlitedbapi.IntegrityError, match="FOREIGN KEY"), conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO c VALUES (1)")
    assert not conn.in_transaction
    conn.execute("INSERT INTO p VALUES (7)")
    other = connect(cluster.address, database=dbname)
    try:
        assert every(other, "SELECT id FROM p") == [(7,)]
        assert every(other, "SELECT pid FROM c") == []
    finally:
        other.close()


def test_transaction_block_rolls_back_a_refused_commit(
    conn: Connection, cluster: Any, dbname: str
) -> None:
    # As the context manager: a COMMIT refused as transaction() ends (a deferred foreign
    # key) is rolled back, not left open for the statements after the block.
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TABLE c (pid INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(dqlitedbapi.IntegrityError, match="FOREIGN KEY"), conn.transaction():
        conn.execute("INSERT INTO c VALUES (1)")
    assert not conn.in_transaction
    conn.execute("INSERT INTO p VALUES (7)")
    other = connect(cluster.address, database=dbname)
    try:
        assert every(other, "SELECT id FROM p") == [(7,)]
        assert every(other, "SELECT pid FROM c") == []
    finally:
        other.close()


def test_isolation_level_and_autocommit_are_accepted(cluster: Any, dbname: str) -> None:
    # As in the pure-Python dqlite-dbapi: statements autocommit until BEGIN whatever the
    # isolation level; autocommit is always on and cannot be turned off.
    c = connect(cluster.address, database=dbname, isolation_level="deferred")
    assert c.isolation_level == "DEFERRED"
    assert c.autocommit is True
    c.execute("CREATE TABLE x (n)")
    c.execute("INSERT INTO x VALUES (1)")
    assert not c.in_transaction
    c.isolation_level = None
    c.autocommit = dqlitedbapi.LEGACY_TRANSACTION_CONTROL
    assert c.autocommit == dqlitedbapi.LEGACY_TRANSACTION_CONTROL
    with pytest.raises(dqlitedbapi.NotSupportedError):
        c.autocommit = False
    with pytest.raises(dqlitedbapi.ProgrammingError):
        c.isolation_level = "SERIALIZABLE"
    c.close()
    with pytest.raises(dqlitedbapi.NotSupportedError):
        connect(cluster.address, database=dbname, autocommit=False)
    c = connect(cluster.address, database=dbname)
    assert every(c, "SELECT n FROM x ORDER BY n") == [(1,)]
    c.close()


def test_error_inside_transaction_keeps_tracking(conn: Connection) -> None:
    conn.execute("CREATE TABLE x (n PRIMARY KEY)")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO x VALUES (1)")
    with pytest.raises(dqlitedbapi.IntegrityError):
        conn.execute("INSERT INTO x VALUES (1)")
    assert conn.in_transaction
    conn.commit()
    assert one(conn, "SELECT count(*) FROM x") == (1,)


def test_executescript(conn: Connection) -> None:
    cur = conn.executescript(
        """
        CREATE TABLE s (a TEXT);
        INSERT INTO s VALUES ('x;y');
        -- a comment; with a semicolon
        SELECT * FROM s;
        BEGIN;
        INSERT INTO s VALUES ('z');
        """
    )
    assert conn.in_transaction
    conn.commit()
    assert cur.description is None
    assert every(conn, "SELECT a FROM s ORDER BY a") == [("x;y",), ("z",)]


def test_executemany_refuses_queries(conn: Connection) -> None:
    with pytest.raises(dqlitedbapi.ProgrammingError):
        conn.executemany("SELECT ?", [(1,), (2,)])
    with pytest.raises(dqlitedbapi.ProgrammingError):
        conn.executemany("INSERT INTO t VALUES (?)", "abc")


def test_executemany_generator_and_named(conn: Connection) -> None:
    conn.execute("CREATE TABLE g (a, b)")
    cur = conn.executemany("INSERT INTO g VALUES (:a, :b)", ({"a": i, "b": -i} for i in range(10)))
    assert cur.rowcount == 10
    assert one(conn, "SELECT sum(a), sum(b) FROM g") == (45, -45)


def test_closed_objects(cluster: Any, dbname: str) -> None:
    c = connect(cluster.address, database=dbname)
    cur = c.cursor()
    cur.close()
    cur.close()
    with pytest.raises(dqlitedbapi.InterfaceError):
        cur.execute("SELECT 1")
    cur2 = c.execute("SELECT 1")
    # Cursors without rows to read: after a statement without rows, and read to the end.
    cur3 = c.execute("CREATE TABLE t (x)")
    cur4 = c.execute("SELECT 1")
    cur4.fetchall()
    c.close()
    c.close()
    assert c.closed
    with pytest.raises(dqlitedbapi.InterfaceError):
        c.execute("SELECT 1")
    with pytest.raises(dqlitedbapi.InterfaceError):
        cur2.fetchall()
    # A closed connection's cursors are unusable too (as in dqlite-dbapi 0.8 and sqlite3),
    # rather than answering as if there were no rows.
    for cur in (cur3, cur4):
        assert cur.closed
        with pytest.raises(dqlitedbapi.InterfaceError):
            cur.fetchone()
        with pytest.raises(dqlitedbapi.InterfaceError):
            cur.fetchmany(2)
        with pytest.raises(dqlitedbapi.InterfaceError):
            cur.fetchall()
    with pytest.raises(dqlitedbapi.InterfaceError):
        c.cursor()


def test_rowcount_and_lastrowid_stay_readable_after_close(conn: Connection) -> None:
    # As in dqlite-dbapi 0.8 (and sqlite3 for DML): closing a cursor, or leaving its
    # with block, does not lose what the last statement reported.
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")
    with conn.cursor() as cur:
        cur.execute("INSERT INTO t (v) VALUES (1), (2)")
    assert (cur.rowcount, cur.lastrowid) == (2, 2)
    cur = conn.cursor()
    cur.executemany("UPDATE t SET v = ? WHERE id = ?", [(3, 1), (4, 2)])
    cur.close()
    assert cur.rowcount == 2
    cur = conn.execute("SELECT v FROM t")
    assert cur.fetchall() == [(3,), (4,)]
    cur.close()
    assert cur.rowcount == 2
    assert cur.description is None


def test_cursor_context_manager(conn: Connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    with pytest.raises(dqlitedbapi.InterfaceError):
        cur.fetchone()


def test_earlier_cursor_stays_readable(conn: Connection) -> None:
    conn.execute("CREATE TABLE big (n INTEGER, pad TEXT)")
    rows = [(i, "x" * 200) for i in range(3000)]
    conn.executemany("INSERT INTO big VALUES (?, ?)", rows)
    a = conn.execute("SELECT n FROM big ORDER BY n")
    assert a.fetchone() == (0,)
    b = conn.execute("SELECT count(*) FROM big")
    assert b.fetchone() == (3000,)
    conn.execute("INSERT INTO big VALUES (-1, '')")
    rest = a.fetchall()
    assert len(rest) == 2999
    assert rest[-1] == (2999,)
    # An abandoned result is discarded without harming the connection.
    c = conn.execute("SELECT n FROM big")
    c.fetchone()
    c.close()
    assert one(conn, "SELECT count(*) FROM big") == (3001,)


def test_connect_errors(cluster: Any) -> None:
    lazy = dqlitedbapi.connect("127.0.0.1:1", timeout=1.0)  # opens on first use
    with pytest.raises(dqlitedbapi.OperationalError):
        lazy.execute("SELECT 1")
    with pytest.raises(dqlitedbapi.ProgrammingError):
        dqlitedbapi.connect(cluster.address, timeout=-1)
    with pytest.raises(dqlitedbapi.ProgrammingError):
        dqlitedbapi.connect([])
    c = connect(list(cluster.addresses), database="listform")
    assert one(c, "SELECT 1") == (1,)
    c.close()


def test_executemany_pipelined_in_transaction(conn: Connection) -> None:
    conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("BEGIN")
    rows = [(i, str(i)) for i in range(5000)]
    cur = conn.executemany("INSERT INTO p VALUES (?, ?)", rows)
    assert cur.rowcount == 5000
    assert cur.lastrowid is None  # executemany leaves lastrowid alone (dqlite-dbapi 0.8)
    conn.commit()
    assert one(conn, "SELECT count(*), sum(id) FROM p") == (5000, sum(range(5000)))


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ((object(),), dqlitedbapi.ProgrammingError),  # a type that cannot be bound
        ((1, 2), dqlitedbapi.ProgrammingError),  # a wrong count
        (("a\x00b",), dqlitedbapi.DataError),  # text dqlite cannot send
    ],
)
def test_executemany_names_the_set_that_cannot_be_bound(
    conn: Connection, bad: tuple[object, ...], error: type[Exception]
) -> None:
    # Every set is bound before any is sent: none ran, and the error says which set to fix.
    conn.execute("CREATE TABLE g (v)")
    cur = conn.cursor()
    rows: list[tuple[object, ...]] = [(i,) for i in range(10)]
    rows[6] = bad
    with pytest.raises(error, match="parameter set 6") as info:
        cur.executemany("INSERT INTO g VALUES (?)", rows)
    assert getattr(info.value, "executemany_row", None) == 6
    assert cur.completed_iterations == 0
    assert one(conn, "SELECT count(*) FROM g") == (0,)


@pytest.mark.parametrize("in_transaction", [True, False])
def test_executemany_first_failing_row(conn: Connection, in_transaction: bool) -> None:
    conn.execute("CREATE TABLE f (id INTEGER PRIMARY KEY)")
    conn.execute("INSERT INTO f VALUES (700)")
    if in_transaction:
        conn.execute("BEGIN")
    cur = conn.cursor()
    rows = [(i,) for i in range(1000)]
    with pytest.raises(dqlitedbapi.IntegrityError, match="parameter set 700") as info:
        cur.executemany("INSERT INTO f VALUES (?)", rows)
    assert getattr(info.value, "executemany_row", None) == 700
    assert cur.completed_iterations == 700
    assert cur.rowcount == -1
    if in_transaction:
        assert conn.in_transaction
        conn.rollback()
        assert one(conn, "SELECT count(*) FROM f") == (1,)
    else:
        # One at a time in autocommit: exactly the rows before the failing one ran.
        assert one(conn, "SELECT count(*), max(id) FROM f") == (701, 700)
    # The connection is in sync afterwards.
    assert one(conn, "SELECT 3") == (3,)


def test_fetch_without_a_result_set(conn: Connection) -> None:
    cur = conn.cursor()
    assert cur.fetchone() is None
    assert cur.fetchmany(3) == []
    assert cur.fetchall() == []
    for sql in ["CREATE TABLE n (x)", "BEGIN", "INSERT INTO n VALUES (1)", "COMMIT"]:
        cur.execute(sql)
        assert cur.fetchone() is None
        assert cur.fetchall() == []


def test_opens_on_first_use(cluster: Any, dbname: str) -> None:
    c = dqlitedbapi.connect(cluster.address, database=dbname)
    assert c.address == cluster.address
    assert not c.closed
    assert not c.in_transaction
    c.commit()  # nothing to do, and nothing opened
    assert one(c, "SELECT 2") == (2,)
    c.connect()  # already open: nothing to do
    c.close()
    assert c.closed
    assert not c.invalidated
    with pytest.raises(dqlitedbapi.InterfaceError):
        c.connect()
    with pytest.raises(dqlitedbapi.InterfaceError):
        c.cursor()


def test_session_modes(cluster: Any, dbname: str) -> None:
    c = connect(cluster.address, database=dbname)
    assert c.session_mode == c.default_session_mode == "immediate"
    c.execute("CREATE TABLE s (x)")
    # A bare BEGIN takes the write lock at once: another connection's BEGIN waits for it.
    other = connect(cluster.address, database=dbname, busy_timeout=0.2)
    c.execute("BEGIN")
    with pytest.raises(dqlitedbapi.OperationalError, match="locked"):
        other.execute("BEGIN")
    c.rollback()
    # Comments around it leave BEGIN bare; a Unicode space makes it SQLite's syntax error.
    c.execute("/* open */ BEGIN -- the session's kind\n;")
    with pytest.raises(dqlitedbapi.OperationalError, match="locked"):
        other.execute("BEGIN")
    c.rollback()
    with pytest.raises(dqlitedbapi.OperationalError, match="syntax error"):
        c.execute("\u00a0BEGIN")
    assert not c.in_transaction
    other.set_session_mode("DEFERRED")
    assert other.session_mode == "deferred"
    c.execute("BEGIN")
    other.execute("begin transaction")  # deferred: takes no lock yet
    assert one(other, "SELECT count(*) FROM s") == (0,)
    other.rollback()
    c.rollback()
    other.close()
    # read_only: writes are refused by the server (PRAGMA query_only), reads work.
    ro = connect(cluster.address, database=dbname, session_mode="read_only")
    with pytest.raises(dqlitedbapi.OperationalError, match="readonly"):
        ro.execute("INSERT INTO s VALUES (1)")
    assert one(ro, "SELECT count(*) FROM s") == (0,)
    ro.set_session_mode("immediate")
    ro.execute("INSERT INTO s VALUES (1)")
    ro.execute("BEGIN")
    with pytest.raises(dqlitedbapi.InterfaceError, match="inside a transaction"):
        ro.set_session_mode("read_only")
    ro.rollback()
    with pytest.raises(dqlitedbapi.ProgrammingError, match="session_mode"):
        ro.set_session_mode("sometimes")
    ro.close()
    with pytest.raises(dqlitedbapi.ProgrammingError, match="session_mode"):
        connect(cluster.address, database=dbname, session_mode="never")
    assert sorted(dqlitedbapi.SESSION_MODES) == ["deferred", "exclusive", "immediate", "read_only"]
    assert dqlitedbapi.validate_session_mode("Exclusive") == "exclusive"
    c.close()


def test_session_mode_from_the_environment(
    cluster: Any, dbname: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQLITE_SESSION_MODE", "exclusive")
    c = dqlitedbapi.connect(cluster.address, database=dbname)
    assert c.session_mode == "exclusive"
    c.close()


def test_busy_timeout_and_its_pragma(conn: Connection) -> None:
    assert conn.busy_timeout == 5.0
    cur = conn.execute("PRAGMA busy_timeout")
    assert cur.description is not None
    assert cur.description[0][0] == "busy_timeout"
    assert cur.fetchall() == [(5000,)]
    assert cur.rowcount == -1
    conn.execute("pragma BUSY_TIMEOUT = 1500")
    assert conn.busy_timeout == 1.5
    assert one(conn, "PRAGMA busy_timeout(-3)") == (0,)
    assert conn.busy_timeout == 0
    conn.busy_timeout = 2
    assert one(conn, "PRAGMA busy_timeout;") == (2000,)
    with pytest.raises(dqlitedbapi.ProgrammingError):
        conn.busy_timeout = -1
    # Comments are whitespace to SQLite.
    conn.execute("/* set */ PRAGMA busy_timeout = 700 -- ms\n;")
    assert conn.busy_timeout == 0.7
    # Text that is not the PRAGMA is told apart quickly: three runs of spaces in a row made
    # the pattern try every split of them (some 15 s for this text, holding the GIL, and
    # growing with the cube of the length).
    started = time.monotonic()
    with pytest.raises(dqlitedbapi.OperationalError, match="syntax error"):
        conn.execute("PRAGMA busy_timeout" + " " * 2000 + "x")
    assert time.monotonic() - started < 5
    assert conn.busy_timeout == 0.7


def test_busy_timeout_applies_to_an_open_connection(cluster: Any, dbname: str) -> None:
    holder = connect(cluster.address, database=dbname)
    waiter = connect(cluster.address, database=dbname)  # busy_timeout 5 s
    holder.execute("CREATE TABLE b (x)")
    waiter.execute("SELECT 1")  # opened with 5 s
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO b VALUES (1)")
    try:
        for change in ["property", "pragma"]:
            waiter.busy_timeout = 5
            if change == "property":
                waiter.busy_timeout = 0.3
            else:
                waiter.execute("PRAGMA busy_timeout = 300")
            started = time.monotonic()
            with pytest.raises(dqlitedbapi.OperationalError, match="locked"):
                waiter.execute("INSERT INTO b VALUES (2)")
            took = time.monotonic() - started
            # Retried for about 0.3 s, not for the 5 s the connection was opened with.
            assert 0.15 < took < 3, (change, took)
        waiter.busy_timeout = 0
        started = time.monotonic()
        with pytest.raises(dqlitedbapi.OperationalError, match="locked"):
            waiter.execute("INSERT INTO b VALUES (3)")
        assert time.monotonic() - started < 1
    finally:
        holder.rollback()
        holder.close()
        waiter.close()


def counting(n: int, width: int = 0) -> str:
    """A query of ``n`` rows: n, and ``width`` characters more each when asked."""
    padded = f", printf('%0{width}d', n)" if width else ""
    return (
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < "
        f"{n}) SELECT n{padded} FROM c"
    )


def test_result_caps(cluster: Any, dbname: str) -> None:
    # max_total_rows and max_continuation_frames cap what one query returns (0.8.0's
    # defaults: 10,000,000 rows, 100,000 frames); the fetch that goes over raises, and so
    # does every later fetch of that result. The connection stays usable.
    conn = connect(cluster.address, database=dbname, max_total_rows=10)
    assert conn.max_total_rows == 10
    assert len(every(conn, counting(10))) == 10
    with pytest.raises(dqlitedbapi.OperationalError, match=r"max_total_rows cap \(10\)"):
        conn.execute(counting(11))  # one frame: execute raises
    assert one(conn, "SELECT 2") == (2,)
    conn.close()

    conn = connect(cluster.address, database=dbname, max_total_rows=30_000)
    cur = conn.execute(counting(100_000, 50))
    assert len(cur.fetchmany(100)) == 100
    with pytest.raises(dqlitedbapi.OperationalError, match=r"max_total_rows cap \(30000\)"):
        cur.fetchall()
    with pytest.raises(dqlitedbapi.OperationalError, match="max_total_rows"):
        cur.fetchone()
    assert cur.rowcount == -1
    assert one(conn, "SELECT 3") == (3,)
    conn.close()

    conn = connect(cluster.address, database=dbname, max_continuation_frames=2)
    cur = conn.execute(counting(100_000, 50))
    with pytest.raises(dqlitedbapi.OperationalError, match=r"max_continuation_frames cap \(2\)"):
        cur.fetchall()
    assert one(conn, "SELECT 4") == (4,)
    conn.close()

    conn = connect(
        cluster.address, database=dbname, max_total_rows=None, max_continuation_frames=None
    )
    assert len(every(conn, counting(100_000, 50))) == 100_000
    conn.close()


def test_transaction_context_manager(conn: Connection) -> None:
    conn.execute("CREATE TABLE tx (x)")
    with conn.transaction():
        assert conn.in_transaction
        conn.execute("INSERT INTO tx VALUES (1)")
        with pytest.raises(dqlitedbapi.InterfaceError, match="inside transaction"):
            conn.commit()
        with pytest.raises(dqlitedbapi.InterfaceError, match="inside transaction"):
            conn.rollback()
        with pytest.raises(dqlitedbapi.InterfaceError, match="Nested"), conn.transaction():
            pass
    assert not conn.in_transaction
    with pytest.raises(ZeroDivisionError), conn.transaction():
        conn.execute("INSERT INTO tx VALUES (2)")
        1 / 0  # noqa: B018
    assert not conn.in_transaction
    assert every(conn, "SELECT x FROM tx") == [(1,)]
    conn.commit()  # outside: allowed again


def test_connect_keywords(cluster: Any, dbname: str) -> None:
    c = connect(
        cluster.address,
        database=dbname,
        timeout=3,
        max_total_rows=None,
        max_continuation_frames=10,
        max_message_size=1 << 20,
        trust_server_heartbeat=True,
        close_timeout=1.0,
        dial_timeout=1.0,
        attempt_timeout=2.0,
        busy_timeout=0,
        check_same_thread=False,
        session_mode="deferred",
    )
    assert one(c, "SELECT 1") == (1,)
    assert c.max_total_rows is None
    c.close()
    bad_options: list[dict[str, Any]] = [
        {"busy_timeout": -1},
        {"close_timeout": 0.001},
        {"max_total_rows": 0},
        {"max_message_size": "big"},
        {"dial_timeout": float("nan")},
        {"check_same_thread": 1},
        {"trust_server_heartbeat": "yes"},
        {"dial_func": 3},
    ]
    for bad in bad_options:
        with pytest.raises(dqlitedbapi.ProgrammingError):
            dqlitedbapi.connect(cluster.address, **bad)
    with pytest.raises(dqlitedbapi.NotSupportedError, match="uri"):
        connect(cluster.address, uri=True)


def test_the_longest_timeouts_mean_no_limit(cluster: Any, dbname: str) -> None:
    # Each was added to the time now as it stood, which overflowed: a PanicException,
    # which no ``except Exception`` catches. Now one too long to add counts as a century.
    longest = 1.8e19
    c = connect(
        cluster.address,
        database=dbname,
        timeout=longest,
        dial_timeout=longest,
        attempt_timeout=longest,
        close_timeout=longest,
        busy_timeout=longest,
    )
    assert one(c, "SELECT 1") == (1,)
    c.close()


def test_dial_func_opens_the_connections(cluster: Any, dbname: str) -> None:
    # As in dqlite-dbapi 0.8.0: dial_func(address) opens every connection to a node, the
    # seeds' and the leader's a node names. Here the seeds are names only it can resolve.
    unknown = NodeDialer(cluster.addresses)
    with pytest.raises(dqlitedbapi.OperationalError, match="Failed to connect"):
        (connect(unknown.seeds, database=dbname, timeout=1)).execute("SELECT 1")
    for kind in ["streams", "socket"]:
        dialer = NodeDialer(cluster.addresses)
        conn = connect(dialer.seeds, database=dbname, timeout=5, dial_func=getattr(dialer, kind))
        conn.execute("CREATE TABLE IF NOT EXISTS dialed (k)")
        conn.execute("INSERT INTO dialed VALUES (?)", (kind,))
        assert one(conn, "SELECT count(*) FROM dialed WHERE k = ?", (kind,)) == (1,)
        conn.close()
        assert dialer.dialed, kind
        assert set(dialer.dialed) <= set(dialer.names) | set(cluster.addresses)
        assert dialer.dialed[0] in dialer.names
        # The reference's coroutine runs on the connection's own event loop.
    bad = NodeDialer(cluster.addresses)
    with pytest.raises(dqlitedbapi.OperationalError, match="dial_func"):
        lazy = connect(bad.seeds, database=dbname, timeout=1, dial_func=bad.nonsense)
        lazy.execute("SELECT 1")
    assert bad.dialed


def test_sqlite3_methods_dqlite_lacks(conn: Connection) -> None:
    for name in ["interrupt", "create_function", "backup", "iterdump", "set_authorizer"]:
        with pytest.raises(dqlitedbapi.NotSupportedError, match=name):
            getattr(conn, name)()
    cur = conn.cursor()
    for name in ["callproc", "nextset", "scroll"]:
        with pytest.raises(dqlitedbapi.NotSupportedError):
            getattr(cur, name)("x")


@pytest.mark.parametrize(
    "pragma",
    [
        "PRAGMA wal_checkpoint",
        "PRAGMA wal_checkpoint(FULL)",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA synchronous = FULL",
        "PRAGMA page_size = 1024",
    ],
)
def test_pragmas_that_break_a_node_are_refused_as_not_authorized(
    conn: Connection, pragma: str
) -> None:
    # The client refuses them before sending (each kills a 1.11 node); the newest servers
    # refuse them too, as "not authorized" (SQLITE_AUTH). Either way the caller sees a
    # DatabaseError saying so, as dqlite-dbapi 0.8.0's tests expect, and the connection
    # goes on.
    with pytest.raises(dqlitedbapi.DatabaseError, match="not authorized"):
        conn.execute(pragma)
    assert not conn.closed
    assert one(conn, "SELECT 1") == (1,)


def test_text_factory_other_than_str_is_refused(conn: Connection) -> None:
    # sqlite3's text_factory (bytes, or a callable given the bytes) is not supported: TEXT
    # is always str. Another factory is refused, as dqlite-dbapi 0.8 does, not ignored
    # (which returned str where the caller expects what its factory makes).
    assert conn.text_factory is str
    conn.text_factory = str
    for factory in (bytes, bytearray, lambda b: b.decode("latin-1")):
        with pytest.raises(dqlitedbapi.NotSupportedError, match="text_factory"):
            conn.text_factory = factory
    assert conn.text_factory is str
    assert one(conn, "SELECT 'x'") == ("x",)


def test_cursor_state(conn: Connection) -> None:
    cur = conn.cursor()
    assert cur.rownumber is None
    assert not cur.closed
    cur.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
    assert cur.rowcount == 3
    assert cur.rownumber == 0
    cur.fetchone()
    assert cur.rownumber == 1
    cur.fetchall()
    assert cur.rownumber == 3
    cur.execute("SELECT 1 WHERE 0")
    assert cur.rowcount == 0
    assert cur.description is not None
    assert cur.description[0][1] == dqlitedbapi.UNKNOWN
    cur.execute("SELECT NULL, 1")
    assert cur.description is not None
    assert cur.description[0][1] == dqlitedbapi.UNKNOWN
    assert cur.description[1][1] == dqlitedbapi.NUMBER
    with pytest.raises(dqlitedbapi.ProgrammingError):
        cur.fetchmany(-1)
    cur.close()
    assert cur.closed


def test_rowcount_of_a_streamed_result(conn: Connection) -> None:
    # Known once the last frame is read (a result of several frames streams).
    cur = conn.execute(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 20000) "
        "SELECT n, printf('%050d', n) FROM c"
    )
    assert cur.rowcount == -1
    assert len(cur.fetchmany(10)) == 10
    assert len(cur.fetchall()) == 19990
    assert cur.rowcount == 20000
    assert cur.rownumber == 20000


def test_executemany_completed_iterations_and_lastrowid(conn: Connection) -> None:
    conn.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, v)")
    cur = conn.execute("INSERT INTO e (v) VALUES ('first')")
    assert cur.lastrowid == 1
    cur.executemany("INSERT INTO e (v) VALUES (?)", ((str(i),) for i in range(5)))
    assert cur.completed_iterations == 5
    assert cur.rowcount == 5
    assert cur.lastrowid == 1
    cur.executemany("INSERT INTO e (v) VALUES (?)", [])
    assert cur.rowcount == 0
    assert cur.completed_iterations == 0


def test_lastrowid_belongs_to_the_cursor(conn: Connection) -> None:
    # Set by a successful INSERT or REPLACE run with execute() on this cursor, and left
    # as it was by everything else (dqlite-dbapi 0.8.0 and sqlite3 alike).
    conn.execute("CREATE TABLE l (id INTEGER PRIMARY KEY, v)")
    a, b = conn.cursor(), conn.cursor()
    a.execute("INSERT INTO l (v) VALUES (1)")
    b.execute("INSERT INTO l (v) VALUES (2)")
    assert (a.lastrowid, b.lastrowid) == (1, 2)
    for statement in [
        "UPDATE l SET v = v + 1",
        "DELETE FROM l WHERE id = 2",
        "SELECT * FROM l",
        "CREATE TABLE l2 (x)",
    ]:
        (a.execute(statement)).fetchall()
        assert a.lastrowid == 1, statement
    a.execute("WITH s(x) AS (VALUES (7)) INSERT INTO l (v) SELECT x FROM s")
    assert a.lastrowid == 2
    a.execute("REPLACE INTO l (id, v) VALUES (10, 1)")
    assert a.lastrowid == 10
    with pytest.raises(dqlitedbapi.IntegrityError):
        a.execute("INSERT INTO l (id) VALUES (1)")
    assert a.lastrowid == 10
    c = conn.cursor()
    c.execute("UPDATE l SET v = 0")
    assert c.lastrowid is None
    assert b.lastrowid == 2


def test_row_factory_row(conn: Connection) -> None:
    conn.row_factory = dqlitedbapi.Row
    row = one(conn, "SELECT 1 AS a, 'x' AS Name")
    assert row["A"] == 1
    assert row["name"] == "x"
    assert row[1] == "x"
    assert row.keys() == ["a", "Name"]
    assert list(row) == [1, "x"]
    assert repr(row) == "Row(a=1, Name='x')"
    with pytest.raises(TypeError):
        row[True]
