"""``Row``: a row factory like ``sqlite3.Row``, as the pure-Python ``dqlite-dbapi`` has it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, final

__all__ = ["Row"]


@final
class Row:
    """A row read by index, slice or column name (case-insensitive for ASCII names).

    Use it as ``connection.row_factory = Row``. Unlike ``sqlite3.Row``, a ``bool`` index
    is refused instead of read as 0 or 1.
    """

    __slots__ = ("_columns", "_values")

    def __init__(self, cursor: object, row: tuple[Any, ...]) -> None:
        """The row ``row`` read by ``cursor`` (whose description names the columns)."""
        description = getattr(cursor, "description", None)
        self._columns: tuple[str, ...] = tuple(d[0] for d in description) if description else ()
        self._values: tuple[Any, ...] = tuple(row)

    def __getitem__(self, key: object) -> Any:
        """The value at an index or slice, or of a column name."""
        if isinstance(key, slice):
            return self._values[key]
        if isinstance(key, int) and not isinstance(key, bool):
            return self._values[key]
        if isinstance(key, str):
            folded = key.lower() if key.isascii() else None
            for i, name in enumerate(self._columns):
                if name == key or (
                    folded is not None and name.isascii() and name.lower() == folded
                ):
                    return self._values[i]
            raise KeyError(key)
        raise TypeError(f"Row indices must be int, slice or str, not {type(key).__name__}")

    def __iter__(self) -> Iterator[Any]:
        """The values."""
        return iter(self._values)

    def __len__(self) -> int:
        """The number of columns."""
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        """Equal to a Row with the same column names and values."""
        if isinstance(other, Row):
            return self._columns == other._columns and self._values == other._values
        return NotImplemented

    def __hash__(self) -> int:
        """Hash of the column names and values."""
        return hash((self._columns, self._values))

    def keys(self) -> list[str]:
        """The column names."""
        return list(self._columns)

    def __repr__(self) -> str:
        """``Row(name=value, ...)``."""
        pairs = ", ".join(f"{k}={v!r}" for k, v in zip(self._columns, self._values, strict=False))
        return f"Row({pairs})"
