//! Python values to wire values and back, as the reference `dqlite-wire` codec maps them:
//! no adapters, no date parsing. `None`, `bool` (BOOLEAN), `int` (64-bit INTEGER),
//! `float`, `str` and bytes-like values go out; rows come back as `int`, `float`, `str`,
//! `bytes`, `None` and `bool` (BOOLEAN cells), with UNIXTIME cells as `int` and ISO8601
//! cells as `str`.

use dqlite_client::{Value, ValueRef};
use dqlite_wire::RowsFrame;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyList, PyMemoryView, PyString};

use super::ClientError;

fn encode_error(message: String) -> ClientError {
    ClientError::new("encode", message)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// One parameter (`index` counts from 0, as the reference's messages do).
pub(crate) fn to_value(obj: &Bound<'_, PyAny>, index: usize) -> Result<Value, ClientError> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Boolean(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return obj.extract::<i64>().map(Value::Integer).map_err(|_| {
            encode_error(format!(
                "parameter {index}: integer out of the 64-bit signed range"
            ))
        });
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_str().map_err(|_| {
            encode_error(format!(
                "parameter {index}: text is not encodable as UTF-8 (lone surrogates)"
            ))
        })?;
        if text.contains('\0') {
            return Err(encode_error(format!(
                "parameter {index}: text contains a NUL character; send it as bytes"
            )));
        }
        return Ok(Value::Text(text.to_owned()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Blob(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Value::Blob(b.to_vec()));
    }
    if obj.is_instance_of::<PyMemoryView>() {
        // Wider items would go in the host's byte order and item size: as dqlite-wire,
        // only views of single bytes are BLOBs (a released view fails in tobytes).
        if let Ok(format) = obj.getattr(pyo3::intern!(obj.py(), "format"))
            && let Ok(format) = format.extract::<String>()
            && !matches!(format.as_str(), "B" | "b" | "c")
        {
            return Err(encode_error(format!(
                "parameter {index}: a memoryview of format '{format}' would be sent in this \
                 host's byte order and item size; send bytes in a portable layout, or cast \
                 the view to 'B'"
            )));
        }
        let bytes = obj
            .call_method0("tobytes")
            .map_err(|e| encode_error(format!("parameter {index}: {e}")))?;
        if let Ok(b) = bytes.cast::<PyBytes>() {
            return Ok(Value::Blob(b.as_bytes().to_vec()));
        }
    }
    Err(encode_error(format!(
        "Cannot infer wire type for value of type '{}' (parameter {index}): the wire codec \
         only accepts bool, int, float, str, bytes-like, or None",
        type_name(obj)
    )))
}

/// Every parameter of a sequence (`None` for none).
pub(crate) fn to_values(params: Option<&Bound<'_, PyAny>>) -> Result<Vec<Value>, ClientError> {
    let Some(params) = params.filter(|p| !p.is_none()) else {
        return Ok(Vec::new());
    };
    let items = params.try_iter().map_err(|_| {
        encode_error(format!(
            "params must be a sequence, not {}",
            type_name(params)
        ))
    })?;
    items
        .enumerate()
        .map(|(i, item)| match item {
            Ok(item) => to_value(&item, i),
            Err(e) => Err(encode_error(format!("params: {e}"))),
        })
        .collect()
}

/// One cell as Python.
fn cell<'py>(py: Python<'py>, value: ValueRef<'_>) -> Result<Bound<'py, PyAny>, ClientError> {
    let text = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .map(|s| PyString::new(py, s).into_any())
            .map_err(|e| ClientError::new("protocol", format!("wire decode failed: {e}")))
    };
    Ok(match value {
        ValueRef::Integer(i) | ValueRef::UnixTime(i) => PyInt::new(py, i).into_any(),
        ValueRef::Float(f) => PyFloat::new(py, f).into_any(),
        ValueRef::Text(b) | ValueRef::Iso8601(b) => text(b)?,
        ValueRef::Blob(b) => PyBytes::new(py, b).into_any(),
        ValueRef::Null => py.None().into_bound(py),
        ValueRef::Boolean(b) => PyBool::new(py, b).to_owned().into_any(),
    })
}

/// The rows of a result: `(column_types, row_types, rows)`, where `column_types` are the
/// first row's type codes (empty without rows), `row_types` each row's, `rows` lists of
/// values.
pub(crate) type Converted = (Vec<u8>, Py<PyList>, Py<PyList>);

/// Converts every row of `frames`.
pub(crate) fn rows(py: Python<'_>, frames: &[RowsFrame]) -> PyResult<Converted> {
    let all_rows = PyList::empty(py);
    let all_types = PyList::empty(py);
    let mut first_types = None;
    for frame in frames {
        for row in frame.rows() {
            let mut values = Vec::with_capacity(row.len());
            let mut types = Vec::with_capacity(row.len());
            for (i, value) in row.values().enumerate() {
                values.push(cell(py, value).map_err(|e| e.into_pyerr(py))?);
                types.push(row.value_type(i).map_or(0, |t| t.code()));
            }
            if first_types.is_none() {
                first_types = Some(types.clone());
            }
            all_rows.append(PyList::new(py, values)?)?;
            all_types.append(PyList::new(py, types)?)?;
        }
    }
    Ok((
        first_types.unwrap_or_default(),
        all_types.unbind(),
        all_rows.unbind(),
    ))
}
