"""Old module path of the synchronous dialect; see :mod:`sqlalchemy_dqlite.base`."""

from __future__ import annotations

from sqlalchemy_dqlite.base import DqliteCompiler, DqliteDialect, dialect

__all__ = ["DqliteCompiler", "DqliteDialect", "dialect"]
