//! Client errors as PEP 249 exceptions.
//!
//! The classes live in `dqlitedbapi.exceptions` (Python); they are looked up once and
//! instantiated as `cls(message, code, name)`.

use dqlite_client::{Error, ErrorKind, ServerError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// The PEP 249 class an error maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Interface,
    Database,
    Data,
    Operational,
    Integrity,
    Internal,
    Programming,
    NotSupported,
    /// `OutcomeUnknownError`, a subclass of `OperationalError`.
    OutcomeUnknown,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Interface => "InterfaceError",
            Class::Database => "DatabaseError",
            Class::Data => "DataError",
            Class::Operational => "OperationalError",
            Class::Integrity => "IntegrityError",
            Class::Internal => "InternalError",
            Class::Programming => "ProgrammingError",
            Class::NotSupported => "NotSupportedError",
            Class::OutcomeUnknown => "OutcomeUnknownError",
        }
    }
}

/// An error on its way to Python: class, message, and the server's code if any. Plain
/// data (no Python objects), so it can cross threads and be raised later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    pub class: Class,
    pub message: String,
    pub code: Option<u64>,
    /// For `executemany`: the parameter set that failed (from 0); the sets before it ran.
    pub batch_row: Option<usize>,
    /// The connection cannot be used any more (it was closed, or closed itself because of
    /// this error): `connection_lost` on the Python exception, which the dialect reads.
    pub connection_lost: bool,
    /// SQLite's "no transaction is active" answer to a COMMIT or ROLLBACK (see
    /// `ServerError::is_no_transaction_active`).
    pub no_transaction: bool,
}

impl DbError {
    /// The error of a call that `close()` cut off (see [`crate::closing::reword`]).
    pub fn cut_off_by_close(&mut self) {
        self.connection_lost = true;
        let in_doubt = self.class == Class::OutcomeUnknown;
        if crate::closing::reword(&mut self.message, in_doubt, self.code.is_some()) {
            self.class = Class::Interface;
        }
    }

    pub fn new(class: Class, message: impl Into<String>) -> Self {
        DbError {
            class,
            message: message.into(),
            code: None,
            batch_row: None,
            connection_lost: false,
            no_transaction: false,
        }
    }

    /// The same error, saying the connection cannot be used any more.
    pub fn connection_lost(mut self) -> Self {
        self.connection_lost = true;
        self
    }

    pub fn interface(message: impl Into<String>) -> Self {
        DbError::new(Class::Interface, message)
    }

    pub fn programming(message: impl Into<String>) -> Self {
        DbError::new(Class::Programming, message)
    }

    pub fn data(message: impl Into<String>) -> Self {
        DbError::new(Class::Data, message)
    }

    pub fn operational(message: impl Into<String>) -> Self {
        DbError::new(Class::Operational, message)
    }

    /// The Python exception.
    pub fn into_pyerr(self) -> PyErr {
        crate::exiting::attach(|py| match exception_class(py, self.class) {
            Ok(cls) => {
                let name = self.code.map(dqlite_client::code_name);
                match cls.call1((self.message.as_str(), self.code, name)) {
                    Ok(instance) => {
                        if let Some(row) = self.batch_row
                            && let Err(e) = instance.setattr("executemany_row", row)
                        {
                            return e;
                        }
                        if self.connection_lost
                            && let Err(e) = instance.setattr("connection_lost", true)
                        {
                            return e;
                        }
                        PyErr::from_value(instance)
                    }
                    Err(e) => e,
                }
            }
            Err(e) => e,
        })
    }
}

impl From<DbError> for PyErr {
    fn from(e: DbError) -> PyErr {
        e.into_pyerr()
    }
}

/// The error of parameter set `row` of an `executemany` that could not be bound: `error`
/// (a `DatabaseError`: `ProgrammingError`, `DataError`) names the set in its message and
/// as `executemany_row`, as a failure of a set that ran does; `executemany_unsent` says
/// that no set was sent (every set is bound before any is). Other errors (say, raised
/// by the caller's iterator) are left as they are.
pub fn unbound_set(py: Python<'_>, error: PyErr, row: usize) -> PyErr {
    let value = error.value(py);
    let ours = exception_class(py, Class::Database)
        .is_ok_and(|cls| value.is_instance(cls).unwrap_or(false));
    if !ours {
        return error;
    }
    let message = match value.getattr("args").and_then(|a| a.get_item(0)) {
        Ok(m) => m.to_string(),
        Err(_) => return error,
    };
    let message = format!("{message} (executemany: parameter set {row}, counting from 0)");
    let updated = (|| -> PyResult<()> {
        value.setattr("args", (message,))?;
        value.setattr("executemany_row", row)?;
        value.setattr("executemany_unsent", true)
    })();
    match updated {
        Ok(()) => error,
        Err(e) => e,
    }
}

fn exception_class(py: Python<'_>, class: Class) -> PyResult<&Bound<'_, PyType>> {
    static CELLS: [PyOnceLock<Py<PyType>>; 9] = [
        PyOnceLock::new(),
        PyOnceLock::new(),
        PyOnceLock::new(),
        PyOnceLock::new(),
        PyOnceLock::new(),
        PyOnceLock::new(),
        PyOnceLock::new(),
        PyOnceLock::new(),
        PyOnceLock::new(),
    ];
    let index = class as usize;
    match CELLS.get(index) {
        Some(cell) => cell.import(py, "dqlitedbapi.exceptions", class.name()),
        None => Err(pyo3::exceptions::PyRuntimeError::new_err(
            "unknown exception class",
        )),
    }
}

/// The class of a server failure, by SQLite primary code (stdlib `sqlite3`'s table, with
/// the differences of the pure-Python `dqlite-dbapi`: SQLITE_MISUSE and SQLITE_RANGE are
/// `InterfaceError`, SQLITE_NOMEM is `InternalError`), and dqlite's own codes.
fn server_class(e: &ServerError) -> Class {
    match e.code {
        // DQLITE_PROTO
        1001 => return Class::Interface,
        // DQLITE_NOTFOUND, DQLITE_PARSE
        1002 | 1005 => return Class::Programming,
        _ => {}
    }
    match e.primary_code() {
        19 | 20 => Class::Integrity,
        2 | 7 | 12 => Class::Internal,
        18 => Class::Data,
        21 | 25 => Class::Interface,
        11 | 22 | 23 | 24 | 26 | 27 | 28 => Class::Database,
        _ => Class::Operational,
    }
}

/// Maps a client error to its PEP 249 class, keeping the server's code.
pub fn map_error(error: &Error) -> DbError {
    let code = error.server_error().map(|e| e.code);
    let class = match error.kind() {
        ErrorKind::OutcomeUnknown => Class::OutcomeUnknown,
        ErrorKind::NotLeader
        | ErrorKind::Busy
        | ErrorKind::Timeout
        | ErrorKind::Transport
        | ErrorKind::Protocol
        | ErrorKind::NoLeader
        | ErrorKind::InvalidData => Class::Operational,
        ErrorKind::Constraint => Class::Integrity,
        ErrorKind::Closed | ErrorKind::Config => Class::Interface,
        ErrorKind::InvalidInput => Class::Programming,
        ErrorKind::Unsupported => Class::NotSupported,
        ErrorKind::Sql => match error.server_error() {
            Some(e) => server_class(e),
            None => Class::Operational,
        },
        _ => Class::Database,
    };
    let (error, batch_row) = match error {
        Error::Batch { row, source } => (source.as_ref(), Some(*row)),
        other => (other, None),
    };
    let mut message = match error {
        Error::Server(e) => e.message.clone(),
        Error::InvalidInput(m) => m.clone(),
        other => other.to_string(),
    };
    if let Some(row) = batch_row {
        message = format!("{message} (executemany: parameter set {row}, counting from 0)");
    }
    DbError {
        class,
        message,
        code,
        batch_row,
        connection_lost: error.is_fatal_to_connection(),
        no_transaction: error
            .server_error()
            .is_some_and(ServerError::is_no_transaction_active),
    }
}

impl From<Error> for DbError {
    fn from(e: Error) -> DbError {
        map_error(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u64) -> Error {
        Error::Server(ServerError {
            code,
            message: "m".into(),
        })
    }

    #[test]
    fn classes_follow_sqlite3() {
        assert_eq!(map_error(&server(2067)).class, Class::Integrity);
        assert_eq!(map_error(&server(1)).class, Class::Operational);
        assert_eq!(map_error(&server(5)).class, Class::Operational);
        assert_eq!(map_error(&server(18)).class, Class::Data);
        assert_eq!(map_error(&server(25)).class, Class::Interface);
        assert_eq!(map_error(&server(11)).class, Class::Database);
        assert_eq!(map_error(&server(10250)).class, Class::Operational);
        assert_eq!(map_error(&server(10506)).class, Class::OutcomeUnknown);
        assert_eq!(map_error(&server(2067)).code, Some(2067));
        let no_tx = Error::Server(ServerError {
            code: 1,
            message: "cannot commit - no transaction is active".into(),
        });
        assert!(map_error(&no_tx).no_transaction);
        assert!(!map_error(&server(1)).no_transaction);
        assert_eq!(
            map_error(&Error::InvalidInput("x".into())).class,
            Class::Programming
        );
    }

    /// The client reports a write answered with the IOERR family (other than "not
    /// leader") or SQLITE_ABORT as in doubt: Python sees `OutcomeUnknownError` with the
    /// server's code, and the connection is given up.
    #[test]
    fn writes_in_doubt_are_outcome_unknown() {
        for code in [10, 778, 1034, 4, 10506] {
            let in_doubt = Error::OutcomeUnknown {
                source: Box::new(server(code)),
            };
            let mapped = map_error(&in_doubt);
            assert_eq!(mapped.class, Class::OutcomeUnknown, "{code}");
            assert_eq!(mapped.code, Some(code));
            assert!(mapped.connection_lost);
            assert!(
                mapped.message.contains("outcome unknown"),
                "{}",
                mapped.message
            );
            let batch = map_error(&Error::Batch {
                row: 3,
                source: Box::new(in_doubt),
            });
            assert_eq!(batch.class, Class::OutcomeUnknown);
            assert_eq!(batch.batch_row, Some(3));
            assert_eq!(batch.code, Some(code));
        }
    }
}
