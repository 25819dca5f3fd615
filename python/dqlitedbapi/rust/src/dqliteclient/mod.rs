//! The native part of the `dqliteclient` Python package (distribution `dqlite-client`),
//! registered in this same extension module: leader discovery and cluster administration
//! ([`cluster::NativeCluster`]), a session with one node ([`session::NativeSession`]), a
//! pool of leader sessions ([`pool::NativePool`]) and go-dqlite's YAML node store
//! ([`store`]), all on `dqlite-client`.
//!
//! Each object is created blocking or asynchronous ([`run::Mode`]): a blocking object's
//! methods return their value (GIL released while they wait); an asynchronous object's
//! methods return an `asyncio.Future`, completed from a task polled on the event loop's
//! thread (the driver's reactor).
//!
//! Failures are raised as `ClientFailure`, plain data (`kind`, `code`, `message`,
//! `raw_message`, `address`) that the Python package turns into its exception classes.

pub(crate) mod cluster;
pub(crate) mod pool;
pub(crate) mod run;
pub(crate) mod session;
pub(crate) mod store;
pub(crate) mod values;

use dqlite_client::{Error, ErrorKind, NodeInfo, Role};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

pyo3::create_exception!(
    dqlitedbapi._native,
    ClientFailure,
    PyException,
    "A failure of the dqliteclient bindings, as data: `kind` (str), `code` (int or None), \
     `message` (str), `raw_message` (the server's text, or None), `address` (the address \
     a redirect policy refused, or None), `connection_lost` (bool), `statement` (for an \
     execute of several statements, the index of the one that failed: those before it \
     ran; else None)."
);

/// A failure on its way to Python (plain data: it crosses threads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientError {
    /// What failed: an [`ErrorKind`] in snake case, or `"policy"` (a refused redirect),
    /// `"encode"` (a parameter that cannot be sent), `"row_cap"` (a result over its caps).
    pub(crate) kind: &'static str,
    /// The server's error code.
    pub(crate) code: Option<u64>,
    /// What to show.
    pub(crate) message: String,
    /// The server's own text, untouched.
    pub(crate) raw_message: Option<String>,
    /// For `"policy"`: the refused address.
    pub(crate) address: Option<String>,
    /// The session cannot be used any more.
    pub(crate) connection_lost: bool,
    /// For an execute of several statements: the index of the one that failed (the
    /// statements before it ran).
    pub(crate) statement: Option<u32>,
}

impl ClientError {
    /// A failure of `kind` with `message` and nothing else.
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> Self {
        ClientError {
            kind,
            code: None,
            message: message.into(),
            raw_message: None,
            address: None,
            connection_lost: false,
            statement: None,
        }
    }

    /// The failure of a call that `close()` cut off (see [`crate::closing::reword`]).
    pub(crate) fn cut_off_by_close(&mut self) {
        self.connection_lost = true;
        let in_doubt = self.kind == "outcome_unknown";
        if crate::closing::reword(&mut self.message, in_doubt, self.code.is_some()) {
            self.kind = "closed";
        }
    }

    /// The Python exception.
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        let err = ClientFailure::new_err(self.message.clone());
        let value = err.value(py);
        let set = || -> PyResult<()> {
            value.setattr("kind", self.kind)?;
            value.setattr("code", self.code)?;
            value.setattr("message", &self.message)?;
            value.setattr("raw_message", &self.raw_message)?;
            value.setattr("address", &self.address)?;
            value.setattr("connection_lost", self.connection_lost)?;
            value.setattr("statement", self.statement)?;
            Ok(())
        };
        match set() {
            Ok(()) => err,
            Err(e) => e,
        }
    }
}

fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Constraint => "constraint",
        ErrorKind::Busy => "busy",
        ErrorKind::NotLeader => "not_leader",
        ErrorKind::OutcomeUnknown => "outcome_unknown",
        ErrorKind::Sql => "sql",
        ErrorKind::Closed => "closed",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Transport => "transport",
        ErrorKind::Protocol => "protocol",
        ErrorKind::NoLeader => "no_leader",
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::Config => "config",
        ErrorKind::InvalidData => "invalid_data",
        _ => "other",
    }
}

impl From<Error> for ClientError {
    fn from(error: Error) -> ClientError {
        if let Error::RedirectRejected { address, .. } = &error {
            return ClientError {
                address: Some(address.clone()),
                ..ClientError::new("policy", error.to_string())
            };
        }
        let server = error.server_error();
        ClientError {
            kind: kind_name(error.kind()),
            code: server.map(|e| e.code),
            message: match &error {
                Error::Server(e) => e.message.clone(),
                other => other.to_string(),
            },
            raw_message: server.map(|e| e.message.clone()),
            address: None,
            connection_lost: error.is_fatal_to_connection(),
            statement: None,
        }
    }
}

/// A cluster member as Python passes it: `(node_id, address, role)`, role 0 voter,
/// 1 standby, 2 spare.
pub(crate) type NodeTuple = (u64, String, u64);

/// Members from their Python tuples (an unknown role code reads as unknown).
pub(crate) fn nodes_from_tuples(nodes: Vec<NodeTuple>) -> Vec<NodeInfo> {
    nodes
        .into_iter()
        .map(|(id, address, role)| NodeInfo {
            id,
            address,
            role: Role::from_code(role).ok(),
        })
        .collect()
}

/// A member as its Python tuple (an unknown role reads as voter, go-dqlite's zero value).
pub(crate) fn node_to_tuple(node: NodeInfo) -> NodeTuple {
    (node.id, node.address, node.role.map_or(0, Role::code))
}

/// Adds the classes and functions of this module to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ClientFailure", m.py().get_type::<ClientFailure>())?;
    m.add_class::<cluster::NativeCluster>()?;
    m.add_class::<session::NativeSession>()?;
    m.add_class::<pool::NativePool>()?;
    m.add_function(pyo3::wrap_pyfunction!(store::yaml_store_read, m)?)?;
    m.add_function(pyo3::wrap_pyfunction!(store::yaml_store_write, m)?)?;
    m.add_function(pyo3::wrap_pyfunction!(session::transaction_effects, m)?)?;
    Ok(())
}
