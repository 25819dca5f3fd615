//! Python parameters to wire values.
//!
//! Positional parameters (a sequence) and named ones (a mapping, for `:name`, `@name` and
//! `$name`) are both bound positionally on the wire: the statement's placeholders are
//! numbered from its text as SQLite numbers them ([`dqlite_client::sql::parameters`]), so
//! counts and names are checked before anything is sent.

use dqlite_client::Value;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyMemoryView,
    PySequence, PyString, PyTuple, PyType,
};

use crate::errors::DbError;

/// The placeholders of a statement, computed once per statement text.
pub struct Placeholders {
    /// Name of each parameter (prefix included), `None` for `?`.
    names: Vec<Option<String>>,
}

impl Placeholders {
    pub fn of(sql: &str) -> Self {
        Placeholders {
            names: dqlite_client::sql::parameters(sql)
                .into_iter()
                .map(|n| n.map(str::to_owned))
                .collect(),
        }
    }

    /// Binds `params` (None, a sequence or a mapping) to the placeholders.
    pub fn bind(&self, params: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Value>> {
        let Some(params) = params.filter(|p| !p.is_none()) else {
            return self.bind_sequence_len(0).map(|()| Vec::new());
        };
        if let Ok(tuple) = params.cast::<PyTuple>() {
            self.bind_sequence_len(tuple.len())?;
            return tuple
                .iter()
                .enumerate()
                .map(|(i, v)| to_value(&v, i + 1))
                .collect();
        }
        if let Ok(list) = params.cast::<PyList>() {
            self.bind_sequence_len(list.len())?;
            return list
                .iter()
                .enumerate()
                .map(|(i, v)| to_value(&v, i + 1))
                .collect();
        }
        if let Ok(dict) = params.cast::<PyDict>() {
            return self.bind_mapping(|key| dict.get_item(key));
        }
        if params.is_instance_of::<PyString>()
            || params.is_instance_of::<PyBytes>()
            || params.is_instance_of::<PyByteArray>()
        {
            return Err(DbError::programming(format!(
                "parameters must be a sequence of values (or a mapping), not {}; did you mean \
                 a one-element tuple like (value,)?",
                type_name(params)
            ))
            .into());
        }
        if let Ok(mapping) = params.cast::<PyMapping>() {
            return self.bind_mapping(|key| match mapping.get_item(key) {
                Ok(v) => Ok(Some(v)),
                Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyError>(params.py()) => Ok(None),
                Err(e) => Err(e),
            });
        }
        if let Ok(seq) = params.cast::<PySequence>() {
            let len = seq.len()?;
            self.bind_sequence_len(len)?;
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                out.push(to_value(&seq.get_item(i)?, i + 1)?);
            }
            return Ok(out);
        }
        Err(DbError::programming(format!(
            "parameters are of unsupported type {}: give a sequence (for ?) or a mapping \
             (for :name)",
            type_name(params)
        ))
        .into())
    }

    fn bind_sequence_len(&self, supplied: usize) -> PyResult<()> {
        if supplied == self.names.len() {
            Ok(())
        } else {
            Err(DbError::programming(format!(
                "Incorrect number of bindings supplied. The current statement uses {}, and \
                 there are {} supplied.",
                self.names.len(),
                supplied
            ))
            .into())
        }
    }

    fn bind_mapping<'py, F>(&self, mut get: F) -> PyResult<Vec<Value>>
    where
        F: FnMut(&str) -> PyResult<Option<Bound<'py, PyAny>>>,
    {
        // Every name is looked up before any value is converted: a missing or unnamed
        // parameter is a ProgrammingError whatever the values supplied (a value that does
        // not fit would otherwise win, depending on the order of the placeholders).
        let mut found = Vec::with_capacity(self.names.len());
        for (i, name) in self.names.iter().enumerate() {
            let Some(name) = name else {
                return Err(DbError::programming(format!(
                    "Binding {} has no name, but you supplied a dictionary (which has only \
                     names).",
                    i + 1
                ))
                .into());
            };
            let key = name.get(1..).unwrap_or_default();
            match get(key)? {
                Some(value) => found.push(value),
                None => {
                    return Err(DbError::programming(format!(
                        "You did not supply a value for binding parameter {name}."
                    ))
                    .into());
                }
            }
        }
        found
            .iter()
            .enumerate()
            .map(|(i, value)| to_value(value, i + 1))
            .collect()
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// `dqlitedbapi._adapt.ADAPTERS` (the `register_adapter` registry) and
/// `dqlitedbapi._adapt.adapt_fallback`.
fn adapters(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    static CELL: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    CELL.import(py, "dqlitedbapi._adapt", "ADAPTERS")
}

fn fallback(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static CELL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    CELL.import(py, "dqlitedbapi._adapt", "adapt_fallback")
}

/// Where a value is in its adaptation.
#[derive(Clone, Copy)]
enum Stage<'a, 'py> {
    /// As the caller gave it.
    Given,
    /// As a registered adapter for this type returned it (dates and times still become
    /// text).
    Adapted(&'a Bound<'py, PyType>),
    /// As `adapt_fallback` returned it: bound as it is, or refused.
    Final,
}

/// Converts parameter number `index` (1-based). A registered adapter for the exact type
/// wins; then the built-in types; then `adapt_fallback` (dates and times, `__conform__`).
/// An adapter that fails, or returns what cannot be bound, is a DataError (as
/// dqlite-dbapi 0.8 has it).
pub fn to_value(obj: &Bound<'_, PyAny>, index: usize) -> PyResult<Value> {
    let py = obj.py();
    let registry = adapters(py)?;
    if !registry.is_empty()
        && let Some(adapter) = registry.get_item(obj.get_type())?
    {
        let adapted = adapter.call1((obj,)).map_err(|e| {
            let err: PyErr = DbError::data(format!(
                "parameter {index}: the adapter for {} failed: {e}",
                type_name(obj)
            ))
            .into();
            err.set_cause(py, Some(e));
            err
        })?;
        return primitive(&adapted, index, Stage::Adapted(&obj.get_type()));
    }
    primitive(obj, index, Stage::Given)
}

/// `adapt_fallback(obj, index, adapted_from)`, then `obj` as adapted.
fn adapt(obj: &Bound<'_, PyAny>, index: usize, stage: Stage<'_, '_>) -> PyResult<Value> {
    let adapted_from = match stage {
        Stage::Adapted(from) => Some(from),
        _ => None,
    };
    let adapted = fallback(obj.py())?.call1((obj, index, adapted_from))?;
    primitive(&adapted, index, Stage::Final)
}

/// Whether `obj` is exactly one of the types bound directly (not a subclass of one).
fn is_exact_builtin(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_exact_instance_of::<PyInt>()
        || obj.is_exact_instance_of::<PyString>()
        || obj.is_exact_instance_of::<PyFloat>()
        || obj.is_exact_instance_of::<PyBytes>()
        || obj.is_exact_instance_of::<PyBool>()
        || obj.is_exact_instance_of::<PyByteArray>()
        || obj.is_exact_instance_of::<PyMemoryView>()
}

fn primitive(obj: &Bound<'_, PyAny>, index: usize, stage: Stage<'_, '_>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // A subclass's `__conform__` wins over the built-in type it extends (as in sqlite3).
    if matches!(stage, Stage::Given)
        && !is_exact_builtin(obj)
        && obj.hasattr(pyo3::intern!(obj.py(), "__conform__"))?
    {
        return adapt(obj, index, stage);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Integer(i64::from(b.is_true())));
    }
    if obj.is_instance_of::<PyInt>() {
        return match obj.extract::<i64>() {
            Ok(v) => Ok(Value::Integer(v)),
            Err(_) => Err(DbError::data(format!(
                "parameter {index}: the int {} does not fit SQLite's 64-bit INTEGER",
                obj.str().map(|s| s.to_string()).unwrap_or_default()
            ))
            .into()),
        };
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_str().map_err(|_| {
            DbError::data(format!(
                "parameter {index}: the str holds characters that cannot be encoded as UTF-8 \
                 (lone surrogates)"
            ))
        })?;
        check_length(index, text.len())?;
        if text.contains('\0') {
            return Err(DbError::data(format!(
                "parameter {index}: the str contains a NUL character, which dqlite cannot \
                 send as text; bind it as bytes (a BLOB) instead"
            ))
            .into());
        }
        return Ok(Value::Text(text.to_owned()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        check_length(index, b.as_bytes().len())?;
        return Ok(Value::Blob(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        check_length(index, b.len())?;
        return Ok(Value::Blob(b.to_vec()));
    }
    if obj.is_instance_of::<PyMemoryView>() {
        // Wider items would go in the host's byte order and item size (as dqlite-dbapi
        // 0.8, only views of single bytes are BLOBs; a released view fails in tobytes).
        if let Ok(format) = obj.getattr(pyo3::intern!(obj.py(), "format"))
            && let Ok(format) = format.extract::<String>()
            && !matches!(format.as_str(), "B" | "b" | "c")
        {
            return Err(DbError::data(format!(
                "parameter {index}: a memoryview of format '{format}' would be sent in this \
                 host's byte order and item size; bind bytes in a portable layout (for \
                 example struct.pack with '<'), or cast the view to 'B'"
            ))
            .into());
        }
        let bytes = obj.call_method0("tobytes")?;
        let bytes = bytes.cast::<PyBytes>()?;
        check_length(index, bytes.as_bytes().len())?;
        return Ok(Value::Blob(bytes.as_bytes().to_vec()));
    }
    if !matches!(stage, Stage::Final) {
        return adapt(obj, index, stage);
    }
    Err(DbError::programming(format!(
        "Error binding parameter {index}: type '{}' is not supported",
        type_name(obj)
    ))
    .into())
}

/// The largest TEXT or BLOB parameter: a row holding a bigger value could not be read back
/// within the default frame cap (the pure-Python dqlite-dbapi's `MAX_BLOB_SIZE`).
const MAX_VALUE_LEN: usize = dqlite_wire::DEFAULT_MAX_FRAME_LEN - 64;

fn check_length(index: usize, len: usize) -> PyResult<()> {
    if len > MAX_VALUE_LEN {
        return Err(DbError::data(format!(
            "parameter {index}: a value of {len} bytes is over the {MAX_VALUE_LEN}-byte limit \
             (a row holding it could not be read back)"
        ))
        .into());
    }
    Ok(())
}
