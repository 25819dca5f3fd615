//! `TLSConfig`: how a connection talks TLS to the nodes, made from PEM files or PEM bytes.
//!
//! Everything is read and checked when the object is made, so a missing file or a key
//! that does not match its certificate is reported by the constructor, not by the first
//! connection. The connection itself goes through the client's `TlsConfig` (rustls).

use std::path::PathBuf;

use dqlite_client::TlsConfig;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::DbError;

/// Where one piece of PEM comes from.
enum Source {
    /// A file, and how Python shows the value that named it.
    File(PathBuf, String),
    Bytes(Vec<u8>),
}

impl Source {
    /// `value` as a source: bytes are PEM text, a `str` or `os.PathLike` names a file.
    fn of(what: &str, value: &Bound<'_, PyAny>) -> PyResult<Source> {
        if let Ok(bytes) = value.cast::<PyBytes>() {
            return Ok(Source::Bytes(bytes.as_bytes().to_vec()));
        }
        if let Ok(text) = value.extract::<String>()
            && text.trim_start().starts_with("-----BEGIN")
        {
            return Err(DbError::programming(format!(
                "TLSConfig {what}: this str holds PEM text; a str names a file, pass PEM \
                 text as bytes (text.encode())"
            ))
            .into());
        }
        match value.extract::<PathBuf>() {
            Ok(path) => Ok(Source::File(path, value.repr()?.to_string())),
            Err(_) => Err(DbError::programming(format!(
                "TLSConfig {what} must be a file name (str or os.PathLike) or PEM bytes, \
                 got {}",
                value.get_type().name()?
            ))
            .into()),
        }
    }

    fn read(&self, what: &str) -> Result<Vec<u8>, DbError> {
        match self {
            Source::Bytes(bytes) => Ok(bytes.clone()),
            Source::File(path, _) => std::fs::read(path).map_err(|e| {
                DbError::programming(format!(
                    "TLSConfig {what}: cannot read {}: {e}",
                    path.display()
                ))
            }),
        }
    }

    /// How `repr` shows it: the file name, never the bytes (a key is a secret).
    fn describe(&self) -> String {
        match self {
            Source::File(_, shown) => shown.clone(),
            Source::Bytes(_) => "<PEM bytes>".into(),
        }
    }
}

/// TLS settings for connections: the certificates to trust (`ca`), and the client's
/// certificate and key (`cert`, `key`) for nodes that ask for one. Each is a file name or
/// PEM bytes.
#[pyclass(frozen, module = "dqlitedbapi._native", name = "TLSConfig")]
pub struct PyTlsConfig {
    config: TlsConfig,
    server_name: Option<String>,
    repr: String,
}

impl PyTlsConfig {
    /// The client's TLS configuration.
    pub fn config(&self) -> TlsConfig {
        self.config.clone()
    }
}

#[pymethods]
impl PyTlsConfig {
    /// Reads and checks the certificates and key now.
    ///
    /// `ca` defaults to `cert`: dqlite clusters usually share one self-signed certificate
    /// (go-dqlite's `--cert`/`--key`), which is then the CA and the client's identity.
    #[new]
    #[pyo3(signature = (*, cert = None, key = None, ca = None, server_name = None))]
    fn new(
        cert: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        ca: Option<&Bound<'_, PyAny>>,
        server_name: Option<String>,
    ) -> PyResult<Self> {
        let source = |what: &str, value: Option<&Bound<'_, PyAny>>| {
            value
                .filter(|v| !v.is_none())
                .map(|v| Source::of(what, v))
                .transpose()
        };
        let (cert, key, ca) = (
            source("cert", cert)?,
            source("key", key)?,
            source("ca", ca)?,
        );
        let identity = match (&cert, &key) {
            (Some(cert), Some(key)) => Some((cert.read("cert")?, key.read("key")?)),
            (None, None) => None,
            _ => {
                return Err(DbError::programming(
                    "TLSConfig: cert and key go together: give both or neither",
                )
                .into());
            }
        };
        let trusted = match (&ca, &identity) {
            (Some(ca), _) => ca.read("ca")?,
            (None, Some((cert, _))) => cert.clone(),
            (None, None) => {
                return Err(DbError::programming(
                    "TLSConfig needs ca (the certificates to trust) or cert and key",
                )
                .into());
            }
        };
        let shown = |s: &Option<Source>| s.as_ref().map_or("None".into(), Source::describe);
        let sources = format!(
            "cert={}, key={}, ca={}",
            shown(&cert),
            shown(&key),
            if ca.is_none() && cert.is_some() {
                "<cert>".into()
            } else {
                shown(&ca)
            }
        );
        let refused = |e: dqlite_client::Error| {
            DbError::programming(format!("TLSConfig({sources}): {}", bare(&e)))
        };
        let mut config = TlsConfig::from_pem(
            &trusted,
            identity.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())),
        )
        .map_err(refused)?;
        if let Some(name) = &server_name {
            config = config.server_name(name).map_err(refused)?;
        }
        let name = server_name
            .as_ref()
            .map_or("None".into(), |n| format!("{n:?}"));
        Ok(PyTlsConfig {
            config,
            repr: format!("TLSConfig({sources}, server_name={name})"),
            server_name,
        })
    }

    /// The name the nodes' certificates must carry, or None for each address's host.
    #[getter]
    fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    fn __repr__(&self) -> &str {
        &self.repr
    }
}

/// The message of a client error, without its "configuration error:" prefix.
fn bare(error: &dqlite_client::Error) -> String {
    match error {
        dqlite_client::Error::Config(message) => message.clone(),
        other => other.to_string(),
    }
}
