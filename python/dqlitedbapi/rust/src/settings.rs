//! Connection strings: what `host:port,...`, `dqlite://...` or `file://STORE` and the
//! `DQLITE_*` environment variables say, read by the client's own parser (the same one as
//! the Rust client's and the shell's), for the Python package to merge with the keyword
//! arguments of `connect()`.

use std::time::Duration;

use dqlite_client::ConnectionSettings;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::DbError;

/// What `text` and the `DQLITE_*` variables say, as a dict: `servers` (a list, empty when
/// none is given) and, only when given, `database`, `timeout`, `connect_timeout`,
/// `dial_timeout`, `busy_timeout` (seconds), `tls_cert`, `tls_key`, `tls_ca` (file names)
/// and `tls_server_name`. ProgrammingError names what is wrong.
#[pyfunction]
pub fn connection_settings<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyDict>> {
    let settings = ConnectionSettings::parse(text)
        .and_then(ConnectionSettings::with_env)
        .map_err(|e| {
            DbError::programming(match e {
                dqlite_client::Error::Config(message) => message,
                other => other.to_string(),
            })
        })?;
    let out = PyDict::new(py);
    out.set_item("servers", settings.servers())?;
    let seconds = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    // The file names came from text, so they are valid UTF-8.
    let file = |p: Option<&std::path::Path>| p.map(|p| p.display().to_string());
    let given: [(&str, Option<Bound<'py, PyAny>>); 9] = [
        ("database", to_py(py, settings.database())?),
        ("timeout", to_py(py, seconds(settings.timeout()))?),
        (
            "connect_timeout",
            to_py(py, seconds(settings.connect_timeout()))?,
        ),
        ("dial_timeout", to_py(py, seconds(settings.dial_timeout()))?),
        ("busy_timeout", to_py(py, seconds(settings.busy_timeout()))?),
        ("tls_cert", to_py(py, file(settings.tls_cert()))?),
        ("tls_key", to_py(py, file(settings.tls_key()))?),
        ("tls_ca", to_py(py, file(settings.tls_ca()))?),
        ("tls_server_name", to_py(py, settings.tls_server_name())?),
    ];
    for (name, value) in given {
        if let Some(value) = value {
            out.set_item(name, value)?;
        }
    }
    Ok(out)
}

fn to_py<'py, T: IntoPyObject<'py>>(
    py: Python<'py>,
    value: Option<T>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    value.map(|v| v.into_bound_py_any(py)).transpose()
}
