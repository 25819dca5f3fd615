"""Connection strings (the Rust client's and the shell's grammar) and ``DQLITE_*``
variables: keywords win over the string, the string over the environment.

``PRAGMA busy_timeout`` reads the connection's busy timeout (the driver answers it), which
shows where a setting came from.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dqlite_testkit import Cluster

import dqlitedbapi
from dqlitedbapi.aio import aconnect


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DQLITE_* setting of the machine leaks into these tests."""
    for name in ("SERVERS", "DATABASE", "TIMEOUT", "CONNECT_TIMEOUT", "DIAL_TIMEOUT"):
        monkeypatch.delenv(f"DQLITE_{name}", raising=False)
    for name in ("BUSY_TIMEOUT", "TLS_CERT", "TLS_KEY", "TLS_CA", "TLS_SERVER_NAME"):
        monkeypatch.delenv(f"DQLITE_{name}", raising=False)


def busy_ms(conn: dqlitedbapi.Connection) -> int:
    row = conn.execute("PRAGMA busy_timeout").fetchone()
    assert row is not None
    return int(row[0])


def test_url_form_names_the_database_and_settings(cluster: Cluster, dbname: str) -> None:
    url = f"dqlite://{cluster.address}/{dbname}?busy_timeout=250ms&timeout=5&dial_timeout=1"
    with dqlitedbapi.connect(url) as conn:
        assert conn.database == dbname
        assert conn.address == url
        assert busy_ms(conn) == 250
        conn.execute("CREATE TABLE t (n)")
    # The plain forms are unchanged.
    plain = dqlitedbapi.connect(cluster.address, database=dbname)
    assert plain.execute("SELECT count(*) FROM t").fetchone() == (0,)
    listed = dqlitedbapi.connect(list(cluster.addresses), database=dbname)
    assert busy_ms(listed) == 5000
    plain.close()
    listed.close()


def test_keywords_win_over_the_string(cluster: Cluster, dbname: str) -> None:
    url = f"dqlite://{cluster.address}/ignored_{dbname}?busy_timeout=250ms"
    conn = dqlitedbapi.connect(url, database=dbname, busy_timeout=1.5)
    assert conn.database == dbname
    assert busy_ms(conn) == 1500
    conn.execute("CREATE TABLE kw (n)")
    other = dqlitedbapi.connect(cluster.address, database=dbname)
    assert other.execute("SELECT count(*) FROM kw").fetchone() == (0,)
    other.close()
    conn.close()


def test_the_environment_fills_what_is_left(
    cluster: Cluster, dbname: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQLITE_SERVERS", f"dqlite://{cluster.address}/{dbname}?busy_timeout=2")
    monkeypatch.setenv("DQLITE_BUSY_TIMEOUT", "750ms")
    # No server in the string: DQLITE_SERVERS and its parameters.
    with dqlitedbapi.connect("") as conn:
        assert conn.database == dbname
        assert busy_ms(conn) == 2000
    with dqlitedbapi.connect(f"dqlite:///{dbname}?timeout=3") as conn:
        assert busy_ms(conn) == 2000
    # Servers given: DQLITE_SERVERS is not read, the other variables are.
    with dqlitedbapi.connect(cluster.address, database=dbname) as conn:
        assert busy_ms(conn) == 750
    monkeypatch.setenv("DQLITE_DATABASE", dbname)
    with dqlitedbapi.connect(cluster.address) as conn:
        assert conn.database == dbname
    # A bad variable is named when it is used.
    monkeypatch.setenv("DQLITE_DIAL_TIMEOUT", "soon")
    with pytest.raises(dqlitedbapi.ProgrammingError, match="DQLITE_DIAL_TIMEOUT"):
        dqlitedbapi.connect(cluster.address)
    # ... and only then.
    with dqlitedbapi.connect(f"dqlite://{cluster.address}/{dbname}?dial_timeout=1") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_go_dqlite_node_store(cluster: Cluster, dbname: str, tmp_path: Path) -> None:
    store = tmp_path / "cluster.yaml"
    store.write_text(
        "".join(
            f"- ID: {i + 1}\n  Address: {a}\n  Role: 0\n" for i, a in enumerate(cluster.addresses)
        )
    )
    with dqlitedbapi.connect(f"file://{store}", database=dbname) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


async def test_aconnect_takes_the_same_strings(cluster: Cluster, dbname: str) -> None:
    conn = await aconnect(f"dqlite://{cluster.address}/{dbname}?busy_timeout=0.1")
    assert conn.database == dbname
    cur = await conn.execute("PRAGMA busy_timeout")
    assert await cur.fetchone() == (100,)
    await conn.close()
    aio = dqlitedbapi.aio.connect(f"dqlite://{cluster.address}/{dbname}", database="kw")
    assert aio.database == "kw"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", "no dqlite node address"),
        ("no-port", "has no port"),
        ("host:abc", "not a number"),
        ("::1:9000", "brackets"),
        ("dqlite://h:1/db?nope=1", "unknown parameter"),
        ("dqlite://h:1/db?timeout=0", "more than zero"),
        ("dqlite://h:1/db?tls_key=/k.pem", "tls_cert.*: .*go together"),
        ("postgres://h:1/db", "unknown scheme"),
        ("file:///no/such/store.yaml", "node store"),
        (["h:1", "dqlite://h:2"], "on its own"),
        (["h:1", 2], "must be str"),
    ],
)
def test_bad_addresses_are_programming_errors(address: object, message: str) -> None:
    with pytest.raises(dqlitedbapi.ProgrammingError, match=message) as info:
        dqlitedbapi.connect(address)  # type: ignore[arg-type]
    if isinstance(address, str) and "tls" not in address:
        assert str(info.value).startswith("Invalid address")


def test_a_non_string_address_names_the_expected_form() -> None:
    with pytest.raises(dqlitedbapi.ProgrammingError, match="host:port"):
        dqlitedbapi.connect(None)  # type: ignore[arg-type]
