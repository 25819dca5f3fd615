//! The column names, type codes and PEP 249 description of a result, as Python tuples,
//! cached per connection: a statement run again reuses them instead of building new
//! strings and tuples.

use std::sync::Mutex;

use dqlite_wire::RowsFrame;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::convert;

/// The description of the last result with rows of a connection.
#[derive(Default)]
pub struct DescriptionCache(Mutex<Cache>);

#[derive(Default)]
struct Cache {
    last: Option<Described>,
    /// The type codes of the result being described (kept: no allocation per result).
    codes: Vec<Option<u8>>,
}

struct Described {
    columns: Vec<String>,
    codes: Vec<Option<u8>>,
    names: Py<PyTuple>,
    type_codes: Py<PyTuple>,
    description: Py<PyTuple>,
}

/// Column names, wire type codes, and the PEP 249 description (name, type code, five None).
pub type Description = (Py<PyTuple>, Py<PyTuple>, Py<PyTuple>);

impl DescriptionCache {
    /// The description of a result with these columns, whose first frame is `first`.
    pub fn describe(
        &self,
        py: Python<'_>,
        columns: Vec<String>,
        first: Option<&RowsFrame>,
    ) -> PyResult<Description> {
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cache = &mut *guard;
        convert::type_codes_into(first, columns.len(), &mut cache.codes);
        if let Some(d) = cache.last.as_ref()
            && d.columns == columns
            && d.codes == cache.codes
        {
            return Ok((
                d.names.clone_ref(py),
                d.type_codes.clone_ref(py),
                d.description.clone_ref(py),
            ));
        }
        let codes = cache.codes.clone();
        let names = convert::names(py, &columns)?;
        let type_codes = PyTuple::new(py, &codes)?;
        let none = py.None();
        let mut entries = Vec::with_capacity(columns.len());
        for (name, code) in names.iter().zip(&codes) {
            let code = match code {
                Some(code) => code.into_pyobject(py)?.into_any().unbind(),
                None => unknown_type(py)?.clone().unbind(),
            };
            entries.push(PyTuple::new(
                py,
                [
                    name.unbind(),
                    code,
                    none.clone_ref(py),
                    none.clone_ref(py),
                    none.clone_ref(py),
                    none.clone_ref(py),
                    none.clone_ref(py),
                ],
            )?);
        }
        let description = PyTuple::new(py, entries)?;
        let out = (
            names.clone().unbind(),
            type_codes.clone().unbind(),
            description.clone().unbind(),
        );
        cache.last = Some(Described {
            columns,
            codes,
            names: names.unbind(),
            type_codes: type_codes.unbind(),
            description: description.unbind(),
        });
        Ok(out)
    }
}

/// `dqlitedbapi.types.UNKNOWN`, the type code of a column whose type the first frame does
/// not tell (imported once).
fn unknown_type(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static UNKNOWN: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    UNKNOWN
        .get_or_try_init(py, || {
            py.import("dqlitedbapi.types")?
                .getattr("UNKNOWN")
                .map(Bound::unbind)
        })
        .map(|u| u.bind(py))
}
