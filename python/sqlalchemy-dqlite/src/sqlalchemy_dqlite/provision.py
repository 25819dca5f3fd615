"""Hooks for SQLAlchemy's test framework (``sqlalchemy.testing``) on dqlite.

Loaded by the framework itself (``Dialect.load_provisioning`` imports the ``provision``
module next to the dialect) when SQLAlchemy's compliance suite runs; never imported in
normal use. The cluster and its database are created by whoever starts the suite
(``run_suite.py``): a dqlite database exists as soon as a connection opens it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy.testing.provision import (
    create_db,
    drop_db,
    temp_table_keyword_args,
    upsert,
)

_F = TypeVar("_F", bound=Callable[..., Any])


def _for_dqlite(hook: Any) -> Callable[[_F], _F]:
    """``hook.for_db("dqlite")``, typed (the test framework's decorators are not)."""
    return cast(Callable[[_F], _F], hook.for_db("dqlite"))


@_for_dqlite(create_db)
def _dqlite_create_db(cfg: Any, eng: Any, ident: str) -> None:
    """Nothing to do: dqlite creates a database when a connection first opens it."""


@_for_dqlite(drop_db)
def _dqlite_drop_db(cfg: Any, eng: Any, ident: str) -> None:
    """Nothing to do: dqlite cannot delete a database; the suite drops its tables."""


@_for_dqlite(temp_table_keyword_args)
def _dqlite_temp_table_keyword_args(cfg: Any, eng: Any) -> dict[str, Any]:
    # SQLite's TEMPORARY tables work on dqlite, in the leader's connection only.
    return {"prefixes": ["TEMPORARY"]}


@_for_dqlite(upsert)
def _dqlite_upsert(
    cfg: Any,
    table: Any,
    returning: Any,
    *,
    set_lambda: Any = None,
    sort_by_parameter_order: bool = False,
    index_elements: Any = None,
) -> Any:
    from sqlalchemy.dialects.sqlite import insert

    stmt = insert(table)
    if set_lambda is not None:
        stmt = stmt.on_conflict_do_update(set_=set_lambda(stmt.excluded))
    else:
        stmt = stmt.on_conflict_do_nothing()
    return stmt.returning(*returning, sort_by_parameter_order=sort_by_parameter_order)
