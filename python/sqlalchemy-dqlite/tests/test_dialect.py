"""The dialect's own behaviour: URLs, entry points, compilation, transactions, types."""

from __future__ import annotations

import asyncio
import datetime
import importlib
from typing import Any

import dqlitedbapi
import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Time,
    create_engine,
    delete,
    exc,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import CreateTable

import sqlalchemy_dqlite
from sqlalchemy_dqlite import DqliteDialect, DqliteDialect_aio, parse_addresses

# -- URLs and registration (no cluster) ---------------------------------------------------


# A pool hands connections to any thread: the dialect turns check_same_thread off.
SHARED = {"check_same_thread": False}


@pytest.mark.parametrize(
    ("url", "seeds", "kwargs"),
    [
        ("dqlite://h1:9001/db", ["h1:9001"], {"database": "db"}),
        ("dqlite://h1/db", ["h1:9001"], {"database": "db"}),
        ("dqlite://", ["localhost:9001"], {"database": "default"}),
        (
            "dqlite://[h1:1,h2:2,h3:3]/db?timeout=2.5",
            ["h1:1,h2:2,h3:3"],
            {"database": "db", "timeout": 2.5},
        ),
        ("dqlite://h1,h2:7000/db", ["h1:7000,h2:7000"], {"database": "db"}),
        ("dqlite://[::1]:9002/db", ["[::1]:9002"], {"database": "db"}),
        ("dqlite+dqlitedbapi://h1:9001/x", ["h1:9001"], {"database": "x"}),
        ("dqlite+aio://h1:9001/x", ["h1:9001"], {"database": "x"}),
        # The driver's connection-string parameters travel inside a dqlite:// string.
        (
            "dqlite://[h1:1,[::1]:2]/my db?tls_cert=/etc/d q/c.pem&tls_key=/k.pem"
            "&tls_server_name=db.example&connect_timeout=1m&timeout=3",
            [
                "dqlite://h1:1,[::1]:2/my%20db?tls_cert=%2Fetc%2Fd%20q%2Fc.pem&tls_key=%2Fk.pem"
                "&tls_server_name=db.example&connect_timeout=1m"
            ],
            {"database": "my db", "timeout": 3.0},
        ),
        (
            "dqlite://h1/x?sslrootcert=/ca.pem",
            ["dqlite://h1:9001/x?sslrootcert=%2Fca.pem"],
            {"database": "x"},
        ),
        (
            "dqlite://h1/x?dial_timeout=1&attempt_timeout=2&close_timeout=0.5&busy_timeout=0"
            "&max_total_rows=None&max_continuation_frames=10&max_message_size=1048576"
            "&trust_server_heartbeat=yes&check_same_thread=on&session_mode=READ_ONLY",
            ["h1:9001"],
            {
                "database": "x",
                "dial_timeout": 1.0,
                "attempt_timeout": 2.0,
                "close_timeout": 0.5,
                "busy_timeout": 0.0,
                "max_total_rows": None,
                "max_continuation_frames": 10,
                "max_message_size": 1048576,
                "trust_server_heartbeat": True,
                "check_same_thread": True,
                "session_mode": "read_only",
            },
        ),
    ],
)
def test_connect_args(url: str, seeds: list[str], kwargs: dict[str, object]) -> None:
    u = make_url(url)
    dialect = u.get_dialect()()
    assert dialect.create_connect_args(u) == (seeds, {**SHARED, **kwargs})


def test_several_nodes_helper() -> None:
    u = sqlalchemy_dqlite.make_url("dqlite://h1:9001,h2:9002/db?timeout=3")
    assert u.host == "h1:9001,h2:9002"
    assert u.render_as_string() == "dqlite://[h1:9001,h2:9002]/db?timeout=3"
    assert make_url(u.render_as_string()) == u
    assert DqliteDialect().create_connect_args(u)[0] == ["h1:9001,h2:9002"]


@pytest.mark.parametrize(
    "url",
    [
        "dqlite://u:p@h1/db",
        "dqlite://h1/db?nope=1",
        "dqlite://h1/db?timeout=x",
        "dqlite://h1/db?check_same_thread=maybe",
        "dqlite://h1/db?max_total_rows=many",
    ],
)
def test_bad_urls(url: str) -> None:
    u = make_url(url)
    with pytest.raises(exc.ArgumentError):
        DqliteDialect().create_connect_args(u)


@pytest.mark.parametrize("host", ["h1:notaport", "h1:0", "[::1]x", "a:b:c", "h1,,h2"])
def test_bad_addresses(host: str) -> None:
    with pytest.raises(exc.ArgumentError):
        parse_addresses(host, None)


def test_entry_points_and_old_module_name() -> None:
    assert make_url("dqlite://").get_dialect() is DqliteDialect
    assert make_url("dqlite+dqlitedbapi://").get_dialect() is DqliteDialect
    assert make_url("dqlite+aio://").get_dialect() is DqliteDialect_aio
    old = importlib.import_module("sqlalchemydqlite")
    assert old.DqliteDialect is DqliteDialect
    assert importlib.import_module("sqlalchemydqlite.aio").DqliteDialect_aio is DqliteDialect_aio
    assert importlib.import_module("sqlalchemydqlite.base").dialect is DqliteDialect


def test_dialect_flags() -> None:
    d = DqliteDialect()
    assert d.name == "dqlite"
    assert d.driver == "dqlitedbapi"
    assert d.default_paramstyle == "qmark"
    assert d.supports_statement_cache
    assert d.supports_server_side_cursors
    assert not d.insert_returning
    assert not d.update_returning
    assert not d.delete_returning
    assert DqliteDialect_aio.is_async


def _table() -> Table:
    return Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("x", String))


@pytest.mark.parametrize(
    "make",
    [
        lambda t: insert(t).values(x="a").returning(t.c.id),
        lambda t: update(t).values(x="b").returning(t.c.id),
        lambda t: delete(t).returning(t.c.id),
    ],
)
def test_returning_is_a_compile_error_without_server_support(make: object) -> None:
    stmt = make(_table())  # type: ignore[operator]
    with pytest.raises(exc.CompileError, match=r"RETURNING needs dqlite 1\.18\.2"):
        stmt.compile(dialect=DqliteDialect())


def test_regexp_is_a_compile_error() -> None:
    t = _table()
    with pytest.raises(exc.CompileError, match="no REGEXP"):
        select(t).where(t.c.x.regexp_match("a.*")).compile(dialect=DqliteDialect())


def test_boolean_is_declared_bool() -> None:
    t = Table("b", MetaData(), Column("flag", Boolean))
    assert "flag BOOL" in str(CreateTable(t).compile(dialect=DqliteDialect()))


# -- against the cluster --------------------------------------------------------------------


def test_connect_and_server_version(engine: Engine, server_has_returning: bool) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        version = conn.execute(text("SELECT sqlite_version()")).scalar()
    assert engine.dialect.server_version_info == tuple(int(p) for p in version.split("."))
    # The probe on first connect says whether the server runs RETURNING (1.18.2 and later).
    assert engine.dialect.insert_returning is server_has_returning
    assert engine.dialect.delete_returning is server_has_returning


def test_transactions_are_real(engine: Engine, url: str) -> None:
    """A SQLAlchemy transaction is a dqlite transaction: others do not see it before
    COMMIT, and a rollback undoes it."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)"))
    # A deferred BEGIN: the peek reads while the writer's transaction is open (in the
    # default session mode, BEGIN IMMEDIATE, it would wait for the write lock).
    other = create_engine(url + "?session_mode=deferred")
    try:
        with engine.connect() as conn:
            conn.execute(text("INSERT INTO t (x) VALUES ('a')"))
            assert conn.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
            with other.connect() as peek:
                assert peek.execute(text("SELECT count(*) FROM t")).scalar() == 0
            conn.rollback()
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
            conn.execute(text("INSERT INTO t (x) VALUES ('b')"))
            conn.commit()
        with other.connect() as peek:
            assert peek.execute(text("SELECT x FROM t")).scalars().all() == ["b"]
    finally:
        other.dispose()


def test_savepoints(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        nested = conn.begin_nested()
        conn.execute(text("INSERT INTO t VALUES (2)"))
        nested.rollback()
        with conn.begin_nested():
            conn.execute(text("INSERT INTO t VALUES (3)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 3]


def test_a_transaction_the_server_rolled_back_takes_no_more_statements(engine: Engine) -> None:
    # SQLite rolls the whole transaction back by itself on some errors (here ON CONFLICT
    # ROLLBACK; also RAISE(ROLLBACK) in a trigger, a full disk). SQLAlchemy still has its
    # transaction open: later statements must not run outside it (committed on their own,
    # out of reach of rollback()), nor may commit() say the lost writes were committed.
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
        with pytest.raises(exc.IntegrityError):
            conn.execute(text("INSERT OR ROLLBACK INTO t VALUES (1)"))
        with pytest.raises(exc.OperationalError, match="rolled the transaction back"):
            conn.execute(text("INSERT INTO t VALUES (3)"))
        with pytest.raises(exc.OperationalError, match="rolled the transaction back"):
            conn.commit()
        conn.rollback()
        # A new transaction works as usual.
        conn.execute(text("INSERT INTO t VALUES (4)"))
        conn.commit()
        assert not conn.invalidated
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 4]


def test_isolation_levels(engine: Engine, url: str) -> None:
    with engine.connect() as conn:
        assert conn.get_isolation_level() == "SERIALIZABLE"
        assert conn.default_isolation_level == "SERIALIZABLE"
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.commit()
    auto = engine.execution_options(isolation_level="AUTOCOMMIT")
    other = create_engine(url)
    try:
        with auto.connect() as conn:
            assert conn.get_isolation_level() == "AUTOCOMMIT"
            conn.execute(text("INSERT INTO t VALUES (1)"))
            # No BEGIN was sent: the row is already committed.
            assert not conn.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
            with other.connect() as peek:
                assert peek.execute(text("SELECT count(*) FROM t")).scalar() == 1
        # Back in the pool, the connection is SERIALIZABLE again.
        with engine.connect() as conn:
            assert conn.get_isolation_level() == "SERIALIZABLE"
    finally:
        other.dispose()
    bad = engine.execution_options(isolation_level="READ COMMITTED")
    with pytest.raises(exc.ArgumentError, match="READ COMMITTED"), bad.connect():
        pass


def test_types_round_trip(engine: Engine) -> None:
    t = Table(
        "types",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("flag", Boolean),
        Column("at", DateTime),
        Column("day", Date),
    )
    with engine.begin() as conn:
        t.create(conn)
        conn.execute(
            t.insert(),
            [
                {
                    "flag": True,
                    "at": datetime.datetime(2024, 2, 29, 23, 59, 58, 123456),
                    "day": datetime.date(1999, 12, 31),
                },
                {"flag": None, "at": None, "day": None},
                {
                    "flag": False,
                    "at": datetime.datetime(1, 1, 1),
                    "day": datetime.date(9999, 12, 31),
                },
            ],
        )
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.flag, t.c.at, t.c.day).order_by(t.c.id)).all()
        assert rows == [
            (True, datetime.datetime(2024, 2, 29, 23, 59, 58, 123456), datetime.date(1999, 12, 31)),
            (None, None, None),
            (False, datetime.datetime(1, 1, 1), datetime.date(9999, 12, 31)),
        ]
        assert conn.execute(select(func.count()).where(t.c.flag.is_(None))).scalar() == 1


def test_aware_datetimes_keep_their_offset(engine: Engine) -> None:
    # As the pure-Python sqlalchemy-dqlite 0.8 stores them, so that a database written by
    # either dialect reads the same with the other: an aware value is stored with its UTC
    # offset; a timezone=True column reads a naive value as UTC, a timezone=False one
    # reads an aware datetime as naive UTC (an aware time loses its offset).
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    t = Table(
        "tz",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", DateTime(timezone=True)),
        Column("naive", DateTime),
        Column("tm", Time(timezone=True)),
        Column("tmn", Time),
    )
    aware = datetime.datetime(2024, 1, 2, 10, 0, 0, 5, tzinfo=plus2)
    aware_time = datetime.time(10, 0, 0, 5, tzinfo=plus2)
    with engine.begin() as conn:
        t.create(conn)
        conn.execute(
            t.insert(),
            [
                {"id": 1, "at": aware, "naive": aware, "tm": aware_time, "tmn": aware_time},
                {
                    "id": 2,
                    "at": datetime.datetime(2024, 1, 2, 10, 0),
                    "naive": datetime.datetime(2024, 1, 2, 10, 0),
                    "tm": datetime.time(10, 0),
                    "tmn": datetime.time(10, 0),
                },
            ],
        )
    with engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT at, naive, tm, tmn FROM tz WHERE id = 1").one()
        stored = conn.exec_driver_sql(
            "SELECT CAST(at AS TEXT), CAST(naive AS TEXT), tm, tmn FROM tz WHERE id = 1"
        ).one()
        rows = conn.execute(select(t.c.at, t.c.naive, t.c.tm, t.c.tmn).order_by(t.c.id)).all()
    assert raw[0] == aware
    assert tuple(stored) == (
        "2024-01-02 10:00:00.000005+02:00",
        "2024-01-02 10:00:00.000005+02:00",
        "10:00:00.000005+02:00",
        "10:00:00.000005+02:00",
    )
    utc = datetime.UTC
    assert rows[0] == (
        aware,
        datetime.datetime(2024, 1, 2, 8, 0, 0, 5),
        aware_time,
        datetime.time(10, 0, 0, 5),
    )
    assert rows[0][0].utcoffset() == datetime.timedelta(hours=2)
    assert rows[0][2].utcoffset() == datetime.timedelta(hours=2)
    assert rows[1] == (
        datetime.datetime(2024, 1, 2, 10, 0, tzinfo=utc),
        datetime.datetime(2024, 1, 2, 10, 0),
        datetime.time(10, 0, tzinfo=utc),
        datetime.time(10, 0),
    )
    assert rows[1][2].tzinfo is utc


def test_dates_and_times_of_the_wrong_kind_are_data_errors(engine: Engine) -> None:
    # As the pure-Python sqlalchemy-dqlite 0.8: a time for a DateTime or Date column, a
    # date for a Time column, or a time-only value read from a DateTime column is a
    # DataError (SQLAlchemy's SQLite types raise TypeError, or fail to parse).
    t = Table(
        "kinds",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", DateTime),
        Column("day", Date),
        Column("tm", Time),
    )
    with engine.begin() as conn:
        t.create(conn)
    for row in (
        {"at": datetime.time(1, 2)},
        {"day": datetime.time(1, 2)},
        {"tm": datetime.datetime(2024, 1, 2, 1, 2)},
        {"tm": datetime.date(2024, 1, 2)},
    ):
        with pytest.raises(exc.DataError), engine.begin() as conn:
            conn.execute(t.insert(), [row])
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO kinds (id, at) VALUES (1, '10:00:00')")
    # Raised while SQLAlchemy processes the row: the driver's class, not wrapped.
    with pytest.raises(dqlitedbapi.DataError, match="time"), engine.connect() as conn:
        conn.execute(select(t.c.at)).all()


def test_dates_in_a_storage_format_of_their_own_read_back(engine: Engine) -> None:
    # SQLAlchemy's SQLite DATETIME and DATE take a storage_format and the regexp that
    # reads it. dqlite sends the text of a DATETIME or DATE column as ISO 8601, which the
    # driver parses: the rows written were unreadable (DataError on every read).
    at = sqlite.DATETIME(
        storage_format="%(year)04d/%(month)02d/%(day)02d %(hour)02d.%(minute)02d.%(second)02d",
        regexp=r"(\d+)/(\d+)/(\d+) (\d+)\.(\d+)\.(\d+)",
    )
    day = sqlite.DATE(
        storage_format="%(year)04d%(month)02d%(day)02d", regexp=r"(\d{4})(\d{2})(\d{2})"
    )
    t = Table(
        "formats",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", at),
        Column("day", day),
        Column("plain", DateTime),
    )
    when = datetime.datetime(2024, 1, 2, 3, 4, 5)
    with engine.begin() as conn:
        t.create(conn)
        conn.execute(t.insert(), [{"id": 1, "at": when, "day": when.date(), "plain": when}])
        conn.execute(t.insert(), [{"id": 2}])
        stored = conn.exec_driver_sql("SELECT at || '', day || '' FROM formats WHERE id = 1")
        assert stored.one() == ("2024/01/02 03.04.05", "20240102")
    with engine.connect() as conn:
        assert conn.execute(select(t).order_by(t.c.id)).all() == [
            (1, when, when.date(), when),
            (2, None, None, None),
        ]
        # Compared in SQL as stored.
        assert conn.execute(select(t.c.id).where(t.c.at == when)).scalar() == 1


def test_stream_results_uses_server_side_cursor(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": i} for i in range(5000)])
    with engine.connect() as conn:
        stmt = text("SELECT x FROM t ORDER BY x").execution_options(stream_results=True)
        result = conn.execute(stmt)
        assert getattr(result.cursor, "server_side", False)
        total = 0
        for part in result.partitions(1000):
            assert len(part) <= 1000
            total += len(part)
        assert total == 5000
        normal = conn.execute(text("SELECT x FROM t"))
        assert not getattr(normal.cursor, "server_side", False)
        normal.close()


def test_reflection(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        )
        conn.execute(
            text(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER,"
                " v REAL DEFAULT 1.5, CONSTRAINT fk_parent FOREIGN KEY (parent_id)"
                " REFERENCES parent (id) ON DELETE CASCADE)"
            )
        )
        conn.execute(text("CREATE INDEX ix_child_v ON child (v)"))
        conn.execute(text("CREATE VIEW v_child AS SELECT id, v FROM child"))
    insp = inspect(engine)
    assert insp.get_table_names() == ["child", "parent"]
    assert insp.get_view_names() == ["v_child"]
    assert [c["name"] for c in insp.get_columns("child")] == ["id", "parent_id", "v"]
    assert insp.get_pk_constraint("parent")["constrained_columns"] == ["id"]
    fks = insp.get_foreign_keys("child")
    assert fks[0]["name"] == "fk_parent"
    assert fks[0]["referred_table"] == "parent"
    assert fks[0]["options"] == {"ondelete": "CASCADE"}
    assert [i["name"] for i in insp.get_indexes("child")] == ["ix_child_v"]
    assert insp.get_unique_constraints("parent")[0]["column_names"] == ["name"]
    reflected = Table("child", MetaData(), autoload_with=engine)
    assert set(reflected.c.keys()) == {"id", "parent_id", "v"}


def test_driver_errors_are_wrapped(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(exc.IntegrityError) as info, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert isinstance(info.value.orig, dqlitedbapi.IntegrityError)
    with pytest.raises(exc.OperationalError), engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))


def test_session_mode_execution_option(engine: Engine) -> None:
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        assert driver.session_mode == "immediate"
        ro = conn.execution_options(dqlite_session_mode="read_only")
        with pytest.raises(exc.OperationalError, match="readonly"):
            ro.execute(text("CREATE TABLE nope (x)"))
        ro.rollback()
        with pytest.raises(exc.ArgumentError, match="session_mode"):
            conn.execution_options(dqlite_session_mode="sometimes")
    with engine.connect() as conn:
        assert conn.connection.driver_connection is not None
        assert conn.connection.driver_connection.session_mode == "immediate"


def test_creator_fn_in_connect_args(url: str) -> None:
    made: list[str] = []

    def creator(*args: object, **kwargs: object) -> object:
        made.append(str(kwargs["database"]))
        return dqlitedbapi.connect(*args, **kwargs)  # type: ignore[arg-type]

    eng = create_engine(url, connect_args={"creator_fn": creator})
    try:
        with eng.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        eng.dispose()
    assert len(made) == 1


def test_dial_func_in_connect_args(cluster: Any, dbname: str) -> None:
    # dial_func reaches the driver through connect_args (issue 12 item 6); the URL names
    # nodes only it can resolve.
    real = dict(enumerate(cluster.addresses))

    def recorded(dialed: list[str]) -> Any:
        """A dial_func recording what it dials in ``dialed``."""

        async def dial(address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            dialed.append(address)
            if address.endswith(".invalid:9001"):
                address = real[int(address.removeprefix("node-").split("-")[0])]
            host, port = address.rsplit(":", 1)
            return await asyncio.open_connection(host, int(port))

        return dial

    # Each engine its own names: the driver remembers, per seed list, the members earlier
    # connections learned, and the first address dialed is checked below. And its own
    # record: the calls for nodes that lost the race for the leader may still be running
    # (and recording) when the engine is disposed of.
    names = [",".join(f"node-{i}-{api}.invalid:9001" for i in real) for api in ("s", "a")]
    urls = [f"dqlite://[{names[0]}]/{dbname}", f"dqlite+aio://[{names[1]}]/{dbname}"]
    dialed: list[str] = []
    eng = create_engine(urls[0], connect_args={"dial_func": recorded(dialed)})
    try:
        with eng.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        eng.dispose()
    assert dialed
    assert dialed[0].endswith(".invalid:9001")

    adialed: list[str] = []

    async def on_asyncio() -> None:
        aeng = create_async_engine(urls[1], connect_args={"dial_func": recorded(adialed)})
        try:
            async with aeng.connect() as conn:
                assert (await conn.execute(text("SELECT 2"))).scalar() == 2
        finally:
            await aeng.dispose()

    asyncio.run(on_asyncio())
    assert adialed
    assert adialed[0].endswith(".invalid:9001")
