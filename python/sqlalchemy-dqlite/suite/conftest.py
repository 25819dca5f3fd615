"""SQLAlchemy's pytest plugin, for the dialect compliance suite (run it with run_suite.py).

The plugin reads ``[sqla_testing]`` from setup.cfg (requirements class and profile file)
and takes the database URL from ``--dburi``, which run_suite.py sets to the cluster it
started.
"""

import fnmatch

import pytest
from sqlalchemy.dialects import registry

# Entry points register these too once the package is installed; registering here keeps
# the suite runnable from a source tree.
registry.register("dqlite", "sqlalchemy_dqlite.base", "DqliteDialect")
registry.register("dqlite.dqlitedbapi", "sqlalchemy_dqlite.base", "DqliteDialect")
registry.register("dqlite.aio", "sqlalchemy_dqlite.aio", "DqliteDialect_aio")

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin import pytestplugin as _sqla_plugin  # noqa: E402
from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402

NO_SCHEMAS = (
    "dqlite has no schemas: SQLite's are ATTACHed database files, which dqlite does not replicate"
)

# Tests that the suite runs for every backend but skips for SQLite by dialect name
# (testing.skip_if("sqlite")) or that assume a "test_schema" schema without asking for
# the `schemas` requirement. The dialect is named "dqlite", so they are listed here:
# (class name pattern, test name pattern, reason).
SKIPS = [
    (
        "ServerSideCursorsTest_*",
        "test_ss_cursor_status[[]for_update_string[]]",
        "SQLite has no SELECT ... FOR UPDATE (the suite skips this for 'sqlite' by name)",
    ),
    ("ComponentReflectionTest_*", "test_metadata[[]*-True[]]", NO_SCHEMAS),
]


def pytest_collection_modifyitems(session, config, items):
    _sqla_plugin.pytest_collection_modifyitems(session, config, items)
    for item in items:
        cls = item.cls.__name__ if item.cls is not None else ""
        for cls_pattern, name_pattern, reason in SKIPS:
            if fnmatch.fnmatchcase(cls, cls_pattern) and fnmatch.fnmatchcase(
                item.name, name_pattern
            ):
                item.add_marker(pytest.mark.skip(reason=reason))
