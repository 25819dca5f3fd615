//! Rows of a frame to Python tuples, straight from the frame's buffer.
//!
//! INTEGER -> int, FLOAT -> float, TEXT -> str, BLOB -> bytes, NULL -> None,
//! BOOLEAN -> bool, ISO8601 -> `datetime.datetime` (or `datetime.time`; `""` -> None),
//! UNIXTIME -> UTC-aware `datetime.datetime`, as the pure-Python `dqlite-dbapi` does
//! (except in columns read raw, for converters: ISO8601 -> str, UNIXTIME -> int).

use dqlite_client::ValueRef;
use dqlite_wire::RowsFrame;
use pyo3::exceptions::PyUnicodeDecodeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::errors::DbError;

fn parse_iso8601(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static CELL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    CELL.import(py, "dqlitedbapi._adapt", "parse_iso8601")
}

fn from_unixtime(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static CELL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    CELL.import(py, "dqlitedbapi._adapt", "from_unixtime")
}

fn text<'py>(
    py: Python<'py>,
    bytes: &[u8],
    column: usize,
    names: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    // Validated once, by Python's decoder, not first by Rust's as well.
    match PyString::from_bytes(py, bytes) {
        Ok(s) => Ok(s.into_any()),
        Err(e) if !e.is_instance_of::<PyUnicodeDecodeError>(py) => Err(e),
        Err(_) => {
            let name = names
                .get_item(column)
                .and_then(|n| n.str().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(DbError::operational(format!(
                "Could not decode to UTF-8 column '{name}': the text is not valid UTF-8; read \
                 it as a blob (CAST(x AS BLOB))"
            ))
            .into())
        }
    }
}

fn value<'py>(
    py: Python<'py>,
    v: ValueRef<'_>,
    column: usize,
    names: &Bound<'py, PyTuple>,
    raw: &[bool],
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        ValueRef::Integer(i) => PyInt::new(py, i).into_any(),
        ValueRef::Float(f) => PyFloat::new(py, f).into_any(),
        ValueRef::Text(b) => text(py, b, column, names)?,
        ValueRef::Blob(b) => PyBytes::new(py, b).into_any(),
        ValueRef::Null => py.None().into_bound(py),
        ValueRef::Boolean(b) => PyBool::new(py, b).to_owned().into_any(),
        ValueRef::Iso8601(b) => {
            if b.is_empty() {
                py.None().into_bound(py)
            } else if raw.get(column).copied().unwrap_or(false) {
                text(py, b, column, names)?
            } else {
                let s = text(py, b, column, names)?;
                parse_iso8601(py)?.call1((s,))?
            }
        }
        ValueRef::UnixTime(t) if raw.get(column).copied().unwrap_or(false) => {
            PyInt::new(py, t).into_any()
        }
        ValueRef::UnixTime(t) => from_unixtime(py)?.call1((t,))?,
    })
}

/// Appends up to `count` rows of `frame` from row `*pos` to `out`, as tuples; `*pos`
/// moves past each row appended (also when a later row fails to convert). The columns
/// marked in `raw` keep their date-time cells as sent (ISO8601 as str, UNIXTIME as int).
pub fn append_rows(
    py: Python<'_>,
    frame: &RowsFrame,
    pos: &mut usize,
    count: usize,
    names: &Bound<'_, PyTuple>,
    raw: &[bool],
    out: &Bound<'_, PyList>,
) -> PyResult<()> {
    // One buffer for every row: its values are moved into the row's tuple.
    let mut values = Vec::with_capacity(frame.column_count());
    for row in frame.rows_from(*pos).take(count) {
        for v in row.values() {
            values.push(value(py, v, values.len(), names, raw)?);
        }
        out.append(PyTuple::new(py, values.drain(..))?)?;
        *pos += 1;
    }
    Ok(())
}

/// The column names of a frame as a tuple of str.
pub fn names<'py>(py: Python<'py>, columns: &[String]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, columns.iter().map(|c| PyString::new(py, c)))
}

/// The wire type of each column into `codes` (emptied first): the type of its first
/// non-NULL value in `frame` (as the pure-Python dqlite-dbapi reports it), or `None` when
/// the frame has none (no rows, or NULLs only): the description then shows
/// `dqlitedbapi.types.UNKNOWN`. `codes` keeps its allocation from one result to the next.
pub fn type_codes_into(frame: Option<&RowsFrame>, columns: usize, codes: &mut Vec<Option<u8>>) {
    codes.clear();
    codes.extend(std::iter::repeat_n(None, columns));
    let Some(frame) = frame else {
        return;
    };
    let mut missing = columns;
    for row in frame.rows() {
        for (i, code) in codes.iter_mut().enumerate() {
            if code.is_none()
                && let Some(t) = row.value_type(i)
                && t != dqlite_wire::ValueType::Null
            {
                *code = Some(t.code());
                missing -= 1;
            }
        }
        if missing == 0 {
            break;
        }
    }
}
