"""Alembic support: the migration implementation for the ``dqlite`` dialect name.

Alembic looks implementations up by ``dialect.name``; dqlite is SQLite, so SQLite's
implementation applies (batch mode recreates tables for ALTERs SQLite lacks). Unlike
pysqlite, the dqlite dialect runs DDL inside real transactions, so migrations are
transactional.
"""

from __future__ import annotations

from alembic.ddl.sqlite import SQLiteImpl

__all__ = ["DqliteImpl"]


class DqliteImpl(SQLiteImpl):
    """Alembic's SQLite implementation, registered for the ``dqlite`` dialect."""

    __dialect__ = "dqlite"
    transactional_ddl = True
