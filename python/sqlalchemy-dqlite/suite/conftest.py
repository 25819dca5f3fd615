"""SQLAlchemy's pytest plugin, for the dialect compliance suite (run it with run_suite.py).

The plugin reads ``[sqla_testing]`` from setup.cfg (requirements class and profile file)
and takes the database URL from ``--dburi``, which run_suite.py sets to the cluster it
started.
"""

import pytest
from sqlalchemy.dialects import registry

# Entry points register these too once the package is installed; registering here keeps
# the suite runnable from a source tree.
registry.register("dqlite", "sqlalchemy_dqlite.base", "DqliteDialect")
registry.register("dqlite.dqlitedbapi", "sqlalchemy_dqlite.base", "DqliteDialect")
registry.register("dqlite.aio", "sqlalchemy_dqlite.aio", "DqliteDialect_aio")

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402
