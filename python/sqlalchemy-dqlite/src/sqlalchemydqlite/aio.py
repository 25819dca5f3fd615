"""Old module path of the asyncio dialect; see :mod:`sqlalchemy_dqlite.aio`."""

from __future__ import annotations

from sqlalchemy_dqlite.aio import DqliteDialect_aio, dialect

__all__ = ["DqliteDialect_aio", "dialect"]
