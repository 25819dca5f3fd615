"""Property tests against a real cluster: values of every type round-trip, and bad parameters
of every kind raise the right PEP 249 exception (and leave the connection usable).

Needs ``hypothesis``; the module is skipped without it. Hypothesis is reached through
``Any`` (``importorskip``, and ``given(...)`` applied by call, not as a decorator) so that
``mypy --strict`` passes whether or not it is installed.
"""

from __future__ import annotations

import datetime
import decimal
import math
from collections.abc import Iterator
from typing import Any

import pytest

import dqlitedbapi
from dqlitedbapi import Connection

hypothesis: Any = pytest.importorskip("hypothesis")
st: Any = pytest.importorskip("hypothesis.strategies")

SETTINGS = hypothesis.settings(
    max_examples=150,
    deadline=None,  # every example is a network round trip to a 3-node cluster
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
    database=None,  # no .hypothesis/ directory in the tree
)

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# SQLite turns NaN into NULL; NaN has its own test.
FLOATS = st.floats(allow_nan=False)
# Text the wire can carry: no NUL (the protocol's text is NUL-terminated), no lone
# surrogates (not UTF-8).
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
BLOBS = st.binary()
SCALARS = st.one_of(st.none(), INT64, FLOATS, TEXT, BLOBS)


@pytest.fixture(scope="module")
def hconn(cluster: Any) -> Iterator[Connection]:
    """One connection for the whole module (hypothesis runs many examples per test)."""
    c = dqlitedbapi.connect(cluster.address, database="hypothesis_values")
    c.execute("CREATE TABLE IF NOT EXISTS v (x)")
    c.execute("CREATE TABLE IF NOT EXISTS d (ts DATETIME)")
    c.commit()
    try:
        yield c
    finally:
        c.close()


def same(a: Any, b: Any) -> bool:
    """Equal values of the same type (so 1 and 1.0, or 0 and False, differ)."""
    return type(a) is type(b) and a == b


def round_trip(conn: Connection, value: Any) -> None:
    """Through a parameter straight back, and through a stored row."""
    assert same(conn.execute("SELECT ?", (value,)).fetchone()[0], value), value
    conn.execute("DELETE FROM v")
    conn.execute("INSERT INTO v VALUES (?)", (value,))
    assert same(conn.execute("SELECT x FROM v").fetchone()[0], value), value
    conn.commit()


def _scalars(hconn: Connection, value: Any) -> None:
    round_trip(hconn, value)


test_every_scalar_type_round_trips = SETTINGS(hypothesis.given(value=SCALARS)(_scalars))


def _rows(hconn: Connection, row: tuple[Any, ...]) -> None:
    placeholders = ", ".join("?" * len(row))
    got = hconn.execute(f"SELECT {placeholders}", row).fetchone()
    assert len(got) == len(row)
    assert all(same(a, b) for a, b in zip(got, row, strict=True)), (got, row)


test_mixed_rows_round_trip = SETTINGS(
    hypothesis.given(row=st.lists(SCALARS, min_size=1, max_size=40).map(tuple))(_rows)
)


def _large(hconn: Connection, value: Any) -> None:
    round_trip(hconn, value)


# Hypothesis draws at most a few kilobytes; repeat a drawn piece to get large values.
LARGE = st.one_of(
    st.tuples(st.binary(min_size=1, max_size=64), st.integers(min_value=200, max_value=5_000)),
    st.tuples(TEXT.filter(bool), st.integers(min_value=200, max_value=2_000)),
).map(lambda piece_times: piece_times[0] * piece_times[1])

test_large_text_and_blobs_round_trip = hypothesis.settings(SETTINGS, max_examples=20)(
    hypothesis.given(value=LARGE)(_large)
)


def _edge_numbers(hconn: Connection, value: Any) -> None:
    round_trip(hconn, value)


test_integer_and_float_edges_round_trip = SETTINGS(
    hypothesis.given(
        value=st.sampled_from(
            [
                0,
                1,
                -1,
                2**63 - 1,
                -(2**63),
                2**31,
                -(2**31) - 1,
                0.0,
                -0.0,
                5e-324,
                1.7976931348623157e308,
            ]
        )
        | st.floats(allow_nan=False, allow_infinity=True, width=64).filter(math.isinf)
    )(_edge_numbers)
)


def test_nan_becomes_null(hconn: Connection) -> None:
    assert hconn.execute("SELECT ?", (math.nan,)).fetchone() == (None,)


def _bools(hconn: Connection, value: bool) -> None:
    # Bound as integers, as stdlib sqlite3 does.
    assert same(hconn.execute("SELECT ?", (value,)).fetchone()[0], int(value))


test_bools_bind_as_integers = SETTINGS(hypothesis.given(value=st.booleans())(_bools))


def _bytes_like(hconn: Connection, data: bytes, kind: str) -> None:
    value: Any = {"bytearray": bytearray(data), "memoryview": memoryview(data)}[kind]
    assert same(hconn.execute("SELECT ?", (value,)).fetchone()[0], data)


test_bytes_like_values_come_back_as_bytes = SETTINGS(
    hypothesis.given(data=BLOBS, kind=st.sampled_from(["bytearray", "memoryview"]))(_bytes_like)
)

OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)


def _datetimes(hconn: Connection, value: datetime.datetime) -> None:
    hconn.execute("DELETE FROM d")
    hconn.execute("INSERT INTO d VALUES (?)", (value,))
    got = hconn.execute("SELECT ts FROM d").fetchone()[0]
    assert same(got, value), (got, value)
    assert got.utcoffset() == value.utcoffset()
    hconn.commit()


test_datetimes_round_trip_through_a_datetime_column = SETTINGS(
    hypothesis.given(value=st.datetimes() | st.datetimes(timezones=OFFSETS))(_datetimes)
)


def _dates(hconn: Connection, value: datetime.date) -> None:
    hconn.execute("DELETE FROM d")
    hconn.execute("INSERT INTO d VALUES (?)", (value,))
    got = hconn.execute("SELECT ts FROM d").fetchone()[0]
    assert got == datetime.datetime(value.year, value.month, value.day)
    hconn.commit()


test_dates_come_back_as_midnight = SETTINGS(hypothesis.given(value=st.dates())(_dates))


# ------------------------------------------------------------------------------------------
# Bad parameters
# ------------------------------------------------------------------------------------------


def expect(conn: Connection, exc: type[Exception], sql: str, params: Any) -> None:
    """`params` raises `exc` (and nothing else), and the connection still works."""
    with pytest.raises(exc):
        conn.execute(sql, params)
    assert conn.execute("SELECT 1").fetchone() == (1,)


def _too_big(hconn: Connection, value: int) -> None:
    expect(hconn, dqlitedbapi.DataError, "SELECT ?", (value,))


test_integers_past_64_bits_are_data_errors = SETTINGS(
    hypothesis.given(value=st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1))(
        _too_big
    )
)


def _nul_text(hconn: Connection, before: str, after: str) -> None:
    expect(hconn, dqlitedbapi.DataError, "SELECT ?", (before + "\x00" + after,))


test_text_with_nul_is_a_data_error = SETTINGS(hypothesis.given(before=TEXT, after=TEXT)(_nul_text))


def _surrogates(hconn: Connection, before: str, code: int) -> None:
    expect(hconn, dqlitedbapi.DataError, "SELECT ?", (before + chr(code),))


test_lone_surrogates_are_data_errors = SETTINGS(
    hypothesis.given(before=TEXT, code=st.integers(min_value=0xD800, max_value=0xDFFF))(_surrogates)
)

UNSUPPORTED = st.one_of(
    st.complex_numbers(),
    st.decimals(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sets(st.integers(), max_size=3),
    st.builds(object),
    st.timedeltas(),
    st.fractions(),
)


def _unsupported(hconn: Connection, value: Any, position: int) -> None:
    params = [1] * position + [value]
    placeholders = ", ".join("?" * len(params))
    expect(hconn, dqlitedbapi.ProgrammingError, f"SELECT {placeholders}", params)


test_unsupported_types_are_programming_errors = SETTINGS(
    hypothesis.given(value=UNSUPPORTED, position=st.integers(min_value=0, max_value=5))(
        _unsupported
    )
)


def _wrong_count(hconn: Connection, wanted: int, given: int) -> None:
    hypothesis.assume(wanted != given)
    placeholders = ", ".join("?" * wanted) if wanted else "1"
    expect(hconn, dqlitedbapi.ProgrammingError, f"SELECT {placeholders}", [7] * given)


test_wrong_parameter_counts_are_programming_errors = SETTINGS(
    hypothesis.given(
        wanted=st.integers(min_value=0, max_value=20), given=st.integers(min_value=0, max_value=20)
    )(_wrong_count)
)

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


def _missing_name(hconn: Connection, names: list[str], supplied: dict[str, int]) -> None:
    hypothesis.assume(not set(names) <= set(supplied))
    sql = "SELECT " + ", ".join(f":{n}" for n in names)
    expect(hconn, dqlitedbapi.ProgrammingError, sql, supplied)


test_missing_named_parameters_are_programming_errors = SETTINGS(
    hypothesis.given(
        names=st.lists(NAMES, min_size=1, max_size=5, unique=True),
        supplied=st.dictionaries(NAMES, st.integers(), max_size=5),
    )(_missing_name)
)


def _not_a_sequence(hconn: Connection, params: Any) -> None:
    expect(hconn, dqlitedbapi.ProgrammingError, "SELECT ?", params)


test_parameters_that_are_not_a_sequence_are_programming_errors = SETTINGS(
    hypothesis.given(
        params=st.one_of(
            st.text(min_size=1),
            st.binary(min_size=1),
            st.integers(),
            st.floats(),
            st.builds(object),
        )
    )(_not_a_sequence)
)


def test_a_mapping_for_positional_placeholders_is_a_programming_error(hconn: Connection) -> None:
    expect(hconn, dqlitedbapi.ProgrammingError, "SELECT ?", {"a": 1})


def test_decimal_without_an_adapter_is_a_programming_error(hconn: Connection) -> None:
    expect(hconn, dqlitedbapi.ProgrammingError, "SELECT ?", (decimal.Decimal("1.5"),))
