"""Module-level PEP 249 attributes and the exception hierarchy."""

from __future__ import annotations

import pytest

import dqlitedbapi


def test_pep249_globals() -> None:
    assert dqlitedbapi.apilevel == "2.0"
    assert dqlitedbapi.threadsafety == 2
    assert dqlitedbapi.paramstyle == "qmark"


def test_native_core_is_loaded() -> None:
    assert dqlitedbapi.PROTOCOL_VERSION == 1
    assert dqlitedbapi.__version__ == "0.9.0"


@pytest.mark.parametrize(
    ("name", "parent"),
    [
        ("Warning", "Exception"),
        ("Error", "Exception"),
        ("InterfaceError", "Error"),
        ("DatabaseError", "Error"),
        ("DataError", "DatabaseError"),
        ("OperationalError", "DatabaseError"),
        ("IntegrityError", "DatabaseError"),
        ("InternalError", "DatabaseError"),
        ("ProgrammingError", "DatabaseError"),
        ("NotSupportedError", "DatabaseError"),
    ],
)
def test_exception_hierarchy(name: str, parent: str) -> None:
    cls = getattr(dqlitedbapi, name)
    base = Exception if parent == "Exception" else getattr(dqlitedbapi, parent)
    assert cls.__bases__ == (base,)
    assert cls.__module__ == "dqlitedbapi.exceptions"


def test_error_carries_sqlite_code() -> None:
    err = dqlitedbapi.IntegrityError(
        "UNIQUE constraint failed: t.a", 2067, "SQLITE_CONSTRAINT_UNIQUE"
    )
    assert err.sqlite_errorcode == 2067
    assert err.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE"
    assert err.code == 2067
    assert repr(err) == "IntegrityError('UNIQUE constraint failed: t.a', code=2067)"
    assert str(err) == "UNIQUE constraint failed: t.a"
    plain = dqlitedbapi.InterfaceError("cursor is closed")
    assert plain.sqlite_errorcode is None
    assert repr(plain) == "InterfaceError('cursor is closed')"


def test_module_surface() -> None:
    for name in [
        "connect",
        "Connection",
        "Cursor",
        "Binary",
        "Date",
        "Time",
        "Timestamp",
        "DateFromTicks",
        "TimeFromTicks",
        "TimestampFromTicks",
        "STRING",
        "BINARY",
        "NUMBER",
        "DATETIME",
        "ROWID",
        "register_adapter",
        "register_converter",
        "complete_statement",
        "sqlite_version",
        "sqlite_version_info",
        "PARSE_COLNAMES",
        "PARSE_DECLTYPES",
    ]:
        assert hasattr(dqlitedbapi, name), name
    assert dqlitedbapi.sqlite_version_info[0] == 3
    assert dqlitedbapi.complete_statement("SELECT 1;")
    assert not dqlitedbapi.complete_statement("SELECT 'a;")
    assert dqlitedbapi.NUMBER == 1
    assert dqlitedbapi.STRING == "varchar"
    assert dqlitedbapi.DATETIME == 10
    assert dqlitedbapi.BINARY != 3


def test_reference_names() -> None:
    import dqlitedbapi.aio
    import dqlitedbapi.aio.connection
    import dqlitedbapi.aio.cursor
    import dqlitedbapi.connection
    import dqlitedbapi.cursor
    import dqlitedbapi.exceptions
    import dqlitedbapi.row
    import dqlitedbapi.types

    assert dqlitedbapi.AmbiguousCommitError is dqlitedbapi.OutcomeUnknownError
    assert issubclass(dqlitedbapi.AdapterLookupError, LookupError)
    assert dqlitedbapi.FAILED_TO_CONNECT_PREFIX == "Failed to connect: "
    assert dqlitedbapi.DEFAULT_TIMEOUT_SECONDS == 10.0
    assert dqlitedbapi.UNKNOWN != 1
    assert dqlitedbapi.types._ADAPTERS is not None
    with pytest.raises(dqlitedbapi.NotSupportedError):
        dqlitedbapi.enable_callback_tracebacks(True)
    with pytest.raises(dqlitedbapi.AdapterLookupError):
        dqlitedbapi.unregister_adapter(complex)
    for name in dqlitedbapi.__all__:
        assert hasattr(dqlitedbapi, name), name
    for name in dqlitedbapi.aio.__all__:
        assert hasattr(dqlitedbapi.aio, name), name
    assert set(dqlitedbapi.__all__) - set(dqlitedbapi.aio.__all__) <= {"Connection", "Cursor"}
