"""Old module name of the dqlite dialect, kept so that existing imports work.

The pure-Python ``sqlalchemy-dqlite`` package (0.8 and earlier) was imported as
``sqlalchemydqlite``; everything here comes from :mod:`sqlalchemy_dqlite`.
"""

from __future__ import annotations

from sqlalchemy_dqlite import *  # noqa: F403
from sqlalchemy_dqlite import __all__, __version__, dialect, dialect_aio  # noqa: F401
