"""SQLAlchemy's dialect compliance suite, run against a real dqlite cluster.

Which tests apply is decided by sqlalchemy_dqlite.requirements (every exclusion has its
reason). Run with run_suite.py, which starts the cluster and passes --dburi.
"""

from sqlalchemy.testing.suite import *  # noqa: F403
