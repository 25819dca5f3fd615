"""The blocking PEP 249 surface against a real cluster."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest

import dqlitedbapi
from dqlitedbapi import Connection


def test_module_surface() -> None:
    for name in [
        "connect",
        "Connection",
        "Cursor",
        "Binary",
        "Date",
        "Time",
        "Timestamp",
        "DateFromTicks",
        "TimeFromTicks",
        "TimestampFromTicks",
        "STRING",
        "BINARY",
        "NUMBER",
        "DATETIME",
        "ROWID",
        "register_adapter",
        "register_converter",
        "complete_statement",
        "sqlite_version",
        "sqlite_version_info",
        "PARSE_COLNAMES",
        "PARSE_DECLTYPES",
    ]:
        assert hasattr(dqlitedbapi, name), name
    assert dqlitedbapi.sqlite_version_info[0] == 3
    assert dqlitedbapi.complete_statement("SELECT 1;")
    assert not dqlitedbapi.complete_statement("SELECT 'a;")
    assert dqlitedbapi.NUMBER == 1
    assert dqlitedbapi.STRING == "varchar"
    assert dqlitedbapi.DATETIME == 10
    assert dqlitedbapi.BINARY != 3


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
    assert cur.rowcount == -1
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
    assert [r for r in conn.execute("SELECT name FROM t WHERE id > ?", [2])] == [("c",), ("d",)]
    cur.execute("UPDATE t SET name = name || '!'")
    assert cur.rowcount == 4
    cur.execute("DELETE FROM t WHERE id > 2")
    assert cur.rowcount == 2
    cur.setinputsizes([None])
    cur.setoutputsize(10)


def test_named_parameters(conn: Connection) -> None:
    row = conn.execute("SELECT :a, @b, $c, :a", {"a": 1, "b": "two", "c": None}).fetchone()
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
    assert conn.execute("SELECT ?2, ?1", (1, 2)).fetchone() == (2, 1)


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
    assert conn.execute("SELECT x FROM v").fetchone() == (value,)
    assert conn.execute("SELECT ?", (value,)).fetchone() == (value,)


def test_bytes_like_and_bool(conn: Connection) -> None:
    row = conn.execute(
        "SELECT ?, ?, ?, ?, ?",
        (bytearray(b"ab"), memoryview(b"cd"), dqlitedbapi.Binary(b"ef"), True, False),
    ).fetchone()
    assert row == (b"ab", b"cd", b"ef", 1, 0)


def test_boolean_column(conn: Connection) -> None:
    conn.execute("CREATE TABLE b (flag BOOLEAN)")
    conn.executemany("INSERT INTO b VALUES (?)", [(True,), (False,)])
    assert conn.execute("SELECT flag FROM b ORDER BY rowid").fetchall() == [(True,), (False,)]


def test_datetimes(conn: Connection) -> None:
    conn.execute("CREATE TABLE d (ts DATETIME, day DATE, t TEXT)")
    naive = datetime.datetime(2024, 2, 29, 13, 14, 15, 123456)
    aware = datetime.datetime(
        2024, 2, 29, 13, 14, 15, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))
    )
    conn.execute("INSERT INTO d VALUES (?, ?, ?)", (naive, datetime.date(2024, 1, 2), "x"))
    conn.execute("INSERT INTO d VALUES (?, NULL, ?)", (aware, datetime.time(1, 2, 3)))
    rows = conn.execute("SELECT ts, day, t FROM d ORDER BY rowid").fetchall()
    assert rows[0] == (naive, datetime.datetime(2024, 1, 2), "x")
    assert rows[1][0] == aware
    assert rows[1][0].utcoffset() == datetime.timedelta(hours=-5)
    assert rows[1][1] is None
    assert rows[1][2] == "01:02:03"
    conn.execute("CREATE TABLE u (ts DATETIME)")
    conn.execute("INSERT INTO u VALUES (1700000000)")
    assert conn.execute("SELECT ts FROM u").fetchone() == (
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
    with pytest.raises(dqlitedbapi.ProgrammingError):
        conn.execute("SELECT ?", "a")
    # The connection is still fine.
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_adapters_and_converters(cluster: Any, dbname: str) -> None:
    dqlitedbapi.register_adapter(decimal.Decimal, str)
    dqlitedbapi.register_converter("dec", lambda b: decimal.Decimal(b.decode()))
    try:
        with dqlitedbapi.connect(
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

            assert c.execute("SELECT ?", (Point(),)).fetchone() == ("1;2",)
            c.close()
    finally:
        dqlitedbapi.unregister_adapter(decimal.Decimal)


def test_row_factory(conn: Connection) -> None:
    conn.row_factory = lambda cur, row: dict(zip([d[0] for d in cur.description], row, strict=True))
    assert conn.execute("SELECT 1 AS a, 2 AS b").fetchall() == [{"a": 1, "b": 2}]


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
    assert conn.execute("SELECT count(*) FROM e").fetchone() == (1,)


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
    assert conn.execute("SELECT count(*) FROM x").fetchone() == (0,)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO x VALUES (1)")
    conn.commit()
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM x").fetchone() == (1,)
    conn.execute("SAVEPOINT a")
    assert conn.in_transaction
    conn.execute("INSERT INTO x VALUES (2)")
    conn.execute("RELEASE a")
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM x").fetchone() == (2,)


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
    assert conn.execute("SELECT n FROM x").fetchall() == [(1,)]


def test_isolation_level_and_autocommit(cluster: Any, dbname: str) -> None:
    c = dqlitedbapi.connect(cluster.address, database=dbname, isolation_level="DEFERRED")
    c.execute("CREATE TABLE x (n)")
    assert not c.in_transaction
    c.execute("INSERT INTO x VALUES (1)")
    assert c.in_transaction
    c.rollback()
    assert c.execute("SELECT count(*) FROM x").fetchone() == (0,)
    c.isolation_level = None
    c.execute("INSERT INTO x VALUES (1)")
    assert not c.in_transaction
    c.close()
    c = dqlitedbapi.connect(cluster.address, database=dbname, autocommit=False)
    assert c.in_transaction
    c.execute("INSERT INTO x VALUES (2)")
    c.commit()
    assert c.in_transaction
    c.execute("INSERT INTO x VALUES (3)")
    c.close()  # rolls back
    c = dqlitedbapi.connect(cluster.address, database=dbname)
    assert c.execute("SELECT n FROM x ORDER BY n").fetchall() == [(1,), (2,)]
    c.autocommit = False
    assert c.in_transaction
    c.autocommit = True
    assert not c.in_transaction
    c.close()


def test_error_inside_transaction_keeps_tracking(conn: Connection) -> None:
    conn.execute("CREATE TABLE x (n PRIMARY KEY)")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO x VALUES (1)")
    with pytest.raises(dqlitedbapi.IntegrityError):
        conn.execute("INSERT INTO x VALUES (1)")
    assert conn.in_transaction
    conn.commit()
    assert conn.execute("SELECT count(*) FROM x").fetchone() == (1,)


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
    assert conn.execute("SELECT a FROM s ORDER BY a").fetchall() == [("x;y",), ("z",)]


def test_executemany_refuses_queries(conn: Connection) -> None:
    with pytest.raises(dqlitedbapi.ProgrammingError):
        conn.executemany("SELECT ?", [(1,), (2,)])
    with pytest.raises(dqlitedbapi.ProgrammingError):
        conn.executemany("INSERT INTO t VALUES (?)", "abc")


def test_executemany_generator_and_named(conn: Connection) -> None:
    conn.execute("CREATE TABLE g (a, b)")
    cur = conn.executemany("INSERT INTO g VALUES (:a, :b)", ({"a": i, "b": -i} for i in range(10)))
    assert cur.rowcount == 10
    assert conn.execute("SELECT sum(a), sum(b) FROM g").fetchone() == (45, -45)


def test_closed_objects(cluster: Any, dbname: str) -> None:
    c = dqlitedbapi.connect(cluster.address, database=dbname)
    cur = c.cursor()
    cur.close()
    cur.close()
    with pytest.raises(dqlitedbapi.InterfaceError):
        cur.execute("SELECT 1")
    cur2 = c.execute("SELECT 1")
    c.close()
    c.close()
    assert c.closed
    with pytest.raises(dqlitedbapi.InterfaceError):
        c.execute("SELECT 1")
    with pytest.raises(dqlitedbapi.InterfaceError):
        cur2.fetchall()
    with pytest.raises(dqlitedbapi.InterfaceError):
        c.cursor()


def test_cursor_context_manager(conn: Connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    with pytest.raises(dqlitedbapi.InterfaceError):
        cur.fetchone()


def test_earlier_cursor_stays_readable(conn: Connection) -> None:
    conn.execute("CREATE TABLE big (n INTEGER, pad TEXT)")
    conn.executemany("INSERT INTO big VALUES (?, ?)", [(i, "x" * 200) for i in range(3000)])
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
    assert conn.execute("SELECT count(*) FROM big").fetchone() == (3001,)


def test_connect_errors(cluster: Any) -> None:
    with pytest.raises(dqlitedbapi.OperationalError):
        dqlitedbapi.connect("127.0.0.1:1", timeout=1.0)
    with pytest.raises(dqlitedbapi.ProgrammingError):
        dqlitedbapi.connect(cluster.address, timeout=-1)
    with pytest.raises(dqlitedbapi.ProgrammingError):
        dqlitedbapi.connect([])
    c = dqlitedbapi.connect(list(cluster.addresses), database="listform")
    assert c.execute("SELECT 1").fetchone() == (1,)
    c.close()


def test_executemany_pipelined_in_transaction(conn: Connection) -> None:
    conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("BEGIN")
    cur = conn.executemany("INSERT INTO p VALUES (?, ?)", [(i, str(i)) for i in range(5000)])
    assert cur.rowcount == 5000
    assert cur.lastrowid == 4999
    conn.commit()
    assert conn.execute("SELECT count(*), sum(id) FROM p").fetchone() == (5000, sum(range(5000)))


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
    assert cur.rowcount == 700
    if in_transaction:
        assert conn.in_transaction
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM f").fetchone() == (1,)
    else:
        # One at a time in autocommit: exactly the rows before the failing one ran.
        assert conn.execute("SELECT count(*), max(id) FROM f").fetchone() == (701, 700)
    # The connection is in sync afterwards.
    assert conn.execute("SELECT 3").fetchone() == (3,)
