//! The native core of the `dqlitedbapi` Python package (imported as `dqlitedbapi._native`).
//!
//! The PEP 249 surface lives in the package's Python files; this module holds the parts
//! that run in Rust. It grows with the client crate.

use pyo3::prelude::*;

/// The `dqlitedbapi._native` module.
#[pymodule]
mod _native {
    /// Version of the native core (the Rust crate's version).
    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    /// The dqlite wire protocol version this driver speaks.
    #[pymodule_export]
    const PROTOCOL_VERSION: u64 = dqlite_wire::PROTOCOL_VERSION;
}
