//! The native core of the `dqlitedbapi` Python package (imported as `dqlitedbapi._native`).
//!
//! The PEP 249 surface lives in the package's Python files; this crate holds the parts
//! that run in Rust:
//! * `connection`: `NativeConnection`, and how its operations are driven: blocking
//!   (`runtime`: the connection's own runtime, on the caller's thread with the GIL
//!   released) or awaitable (`asyncio`: tasks polled on the event loop's own thread, run
//!   to completion even if the awaiting task is cancelled, so a request is never cut in
//!   half);
//! * `session`: the dqlite connection itself, its open result and transaction state,
//!   shared by both (`statement`, `transaction`, `parked`);
//! * `result`: `NativeResult`, rows fetched frame by frame (`convert`, `describe`), within
//!   the caps of `limits`;
//! * `params` (binding), `errors` (PEP 249 classes), `fork` (inherited objects),
//!   `exiting` (threads still in a call when the interpreter exits);
//! * `dial` (`dial_func`), `tls` (`TLSConfig`), `settings` (connection strings, read by the client's parser);
//! * `logging`: the client's tracing events and spans, handed to Python's `logging`.

mod asyncio;
mod closing;
mod connection;
mod convert;
mod describe;
mod dial;
mod dqliteclient;
mod errors;
mod exiting;
mod fork;
mod limits;
mod logging;
mod node_stores;
mod params;
mod parked;
mod result;
mod runtime;
mod session;
mod settings;
mod statement;
mod tls;
mod transaction;

use pyo3::prelude::*;

/// The `dqlitedbapi._native` module.
#[pymodule]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::connection::NativeConnection;
    #[pymodule_export]
    use crate::exiting::_before_exit;
    #[pymodule_export]
    use crate::fork::_after_fork_in_child;
    #[pymodule_export]
    use crate::logging::{
        _logging_refresh, get_slow_statement_threshold, set_slow_statement_threshold,
    };
    #[pymodule_export]
    use crate::result::NativeResult;
    #[pymodule_export]
    use crate::settings::connection_settings;
    #[pymodule_export]
    use crate::statement::{complete_statement, is_dml};
    #[pymodule_export]
    use crate::tls::PyTlsConfig;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        crate::dqliteclient::register(m)?;
        crate::fork::register(m)?;
        crate::exiting::register(m)?;
        crate::logging::install(m)
    }

    /// Version of the native core (the Rust crate's version).
    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    /// The dqlite wire protocol version this driver speaks.
    #[pymodule_export]
    const PROTOCOL_VERSION: u64 = dqlite_wire::PROTOCOL_VERSION;
}
