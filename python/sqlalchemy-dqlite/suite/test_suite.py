"""SQLAlchemy's dialect compliance suite, run against a real dqlite cluster.

Which tests apply is decided by sqlalchemy_dqlite.requirements (every exclusion has its
reason). Run with run_suite.py, which starts the cluster and passes --dburi.

A few suite classes are subclassed below where the suite assumes something of every
backend that dqlite deliberately does differently; each override says what and why.
"""

import pytest
from sqlalchemy import exc, testing
from sqlalchemy.testing import config, eq_, expect_raises_message, fixtures
from sqlalchemy.testing.suite import *
from sqlalchemy.testing.suite import (
    ComponentReflectionTestExtra as _ComponentReflectionTestExtra,
)
from sqlalchemy.testing.suite import IsolationLevelTest as _IsolationLevelTest
from sqlalchemy.testing.suite import ReturningGuardsTest as _ReturningGuardsTest
from sqlalchemy.testing.suite import ServerSideCursorsTest as _ServerSideCursorsTest

NO_SCHEMAS = (
    "dqlite has no schemas: SQLite's are ATTACHed database files, which dqlite does not replicate"
)


class ReturningGuardsTest(_ReturningGuardsTest):
    """RETURNING on a server without it fails at compile time, not in the database.

    The suite expects the statement to reach the database and fail there. dqlite before
    1.18.2 would either lose the rows or not replicate the write, so the dialect refuses
    to compile RETURNING on such servers (CompileError naming the version needed); the
    same tests check that instead, and still check success where RETURNING is supported.
    """

    @testing.fixture
    def run_stmt(self, connection):
        t = self.tables.t

        def go(stmt, executemany, id_param_name, expect_success):
            stmt = stmt.returning(t.c.id)
            if executemany:
                params = [{id_param_name: i, "data": f"d{i}"} for i in (1, 2, 3)]
                expected = [(1,), (2,), (3,)]
            else:
                params = {id_param_name: 1, "data": "d1"}
                expected = [(1,)]
            if not expect_success:
                with expect_raises_message(exc.CompileError, r"RETURNING needs dqlite 1\.18\.2"):
                    connection.execute(stmt, params)
            else:
                eq_(connection.execute(stmt, params).all(), expected)

        return go


class ServerSideCursorsTest(_ServerSideCursorsTest):
    """The suite recognises server-side cursors by driver name; ours carry a flag."""

    def _is_server_side(self, cursor):
        return bool(getattr(cursor, "server_side", False))


class ComponentReflectionTestExtra(_ComponentReflectionTestExtra):
    """The check-constraint tests run once without and once with ``test_schema``."""

    @testing.fixture(params=[True, False])
    def use_schema_fixture(self, request):
        if request.param:
            pytest.skip(NO_SCHEMAS)
        return None


class IsolationLevelTest(_IsolationLevelTest):
    @testing.requires.independent_readonly_connections
    def test_dialect_user_setting_is_restored(self, testing_engine):
        # The suite needs a level other than the default and AUTOCOMMIT; dqlite has only
        # SERIALIZABLE (AUTOCOMMIT aside).
        pytest.skip("dqlite has a single isolation level (SERIALIZABLE) besides AUTOCOMMIT")


__all__ = ["config", "fixtures"]
