//! The client's one error type, [`Error`], and its classification, [`ErrorKind`].

use std::fmt;
use std::time::Duration;

pub mod codes;

use codes::{
    LEGACY_LEADERSHIP_LOST, LEGACY_NOT_LEADER, SQLITE_ABORT, SQLITE_BUSY, SQLITE_CONSTRAINT,
    SQLITE_ERROR, SQLITE_IOERR, SQLITE_IOERR_LEADERSHIP_LOST, SQLITE_IOERR_NOT_LEADER,
    SQLITE_LOCKED, SQLITE_MISUSE, SQLITE_NOMEM, SQLITE_NOTFOUND, code_name,
};

/// A failure reported by the server: SQLite's extended result code (or a dqlite code) and
/// its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// The full code as the server sent it (extended SQLite code, or a dqlite code such as
    /// 10250 "not leader").
    pub code: u64,
    /// The server's message.
    pub message: String,
}

impl ServerError {
    /// SQLite's primary result code (the low 8 bits of [`code`](Self::code)).
    pub fn primary_code(&self) -> u8 {
        u8::try_from(codes::primary(self.code)).unwrap_or(u8::MAX)
    }

    /// The symbolic name of the code, as stdlib `sqlite3` reports it in
    /// `sqlite_errorname` (for example `"SQLITE_CONSTRAINT_UNIQUE"`), or the primary code's
    /// name for extended codes we do not know.
    pub fn code_name(&self) -> &'static str {
        code_name(self.code)
    }

    /// True for "not leader": the statement did not run, so retrying it on the leader is
    /// safe.
    ///
    /// Besides the not-leader codes, two answers mean the same: code 12 "no database
    /// opened" (the node closed the connection's database when it lost leadership), and
    /// code 7 "no more rows available", Raft's own "not leader" (`RAFT_NOTLEADER`, 7)
    /// passed through untranslated when a request reaches a leader handing leadership
    /// over (seen on 1.11 and 1.18.1; the entry was refused before it was appended).
    pub fn is_not_leader(&self) -> bool {
        matches!(self.code, SQLITE_IOERR_NOT_LEADER | LEGACY_NOT_LEADER)
            || (self.code == SQLITE_NOTFOUND && self.message.starts_with("no database opened"))
            || (self.code == SQLITE_NOMEM && self.message == "no more rows available")
    }

    /// True for "leadership lost": a write may or may not have been committed.
    pub fn is_leadership_lost(&self) -> bool {
        matches!(
            self.code,
            SQLITE_IOERR_LEADERSHIP_LOST | LEGACY_LEADERSHIP_LOST
        )
    }

    /// True for SQLite's "cannot commit/rollback - no transaction is active": a COMMIT or
    /// ROLLBACK found no transaction to end (none was open, or SQLite rolled it back by
    /// itself after an error). Only the message tells it from other errors of its code.
    pub fn is_no_transaction_active(&self) -> bool {
        matches!(self.code, SQLITE_ERROR | SQLITE_MISUSE)
            && self.message.contains("no transaction is active")
    }

    /// True when this answer to a write (EXEC, COMMIT, a RETURNING statement) leaves its
    /// outcome unknown: leadership lost, any other code of the `SQLITE_IOERR` family (the
    /// leader failed to persist or replicate an entry it may already have sent, which the
    /// next leader may still commit), and the `SQLITE_ABORT` family (the node shut down
    /// under the write). "Not leader" is not among them: that check runs before anything.
    pub fn leaves_write_in_doubt(&self) -> bool {
        !self.is_not_leader()
            && (self.is_leadership_lost()
                || matches!(codes::primary(self.code), SQLITE_IOERR | SQLITE_ABORT))
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, code {})",
            self.message,
            self.code_name(),
            self.code
        )
    }
}

/// What went wrong, coarsely: the classification callers (and the Python driver's
/// exception mapping) branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A constraint failed (SQLITE_CONSTRAINT and its extended codes).
    Constraint,
    /// The database is locked by another connection (SQLITE_BUSY / SQLITE_LOCKED). Retry
    /// the whole transaction later.
    Busy,
    /// The node is not the leader; nothing ran. Safe to retry on the leader.
    NotLeader,
    /// The statement (or change of membership) may or may not have been applied:
    /// leadership was lost during a write, or the connection failed after the request was
    /// sent.
    OutcomeUnknown,
    /// Any other SQL or server error (syntax, missing table, type mismatch...).
    Sql,
    /// The connection is closed or broken and cannot be used.
    Closed,
    /// A deadline passed.
    Timeout,
    /// The network failed (connect, read or write). From a statement that changes data it
    /// means the request never left whole, so nothing ran; a failure after the request
    /// left is [`OutcomeUnknown`](ErrorKind::OutcomeUnknown).
    Transport,
    /// The server sent something that violates the protocol.
    Protocol,
    /// No node of the cluster could be reached as leader.
    NoLeader,
    /// The caller's input cannot be sent (NUL in text, too many parameters, a statement
    /// of another connection...). Nothing was sent.
    InvalidInput,
    /// The server is too old for what was asked.
    Unsupported,
    /// A bad configuration (address, TLS files).
    Config,
    /// A received value cannot be represented as asked (text that is not UTF-8).
    InvalidData,
}

/// Every error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a failure.
    #[error("server error: {0}")]
    Server(ServerError),
    /// The request (a write, or a change of membership or leadership) may have been
    /// applied, but its outcome is unknown: the connection failed (or leadership was lost)
    /// after the request was sent. It was not retried.
    #[error(
        "outcome unknown: the request may or may not have been applied ({source}); \
         check before retrying"
    )]
    OutcomeUnknown {
        /// What failed.
        source: Box<Error>,
    },
    /// Reading from or writing to a node failed.
    #[error("I/O error with {address}: {source}")]
    Io {
        /// The node's address.
        address: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An operation did not finish within its deadline.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// What timed out, e.g. "query" or "connect to 127.0.0.1:9001".
        operation: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The server sent bytes that break the protocol; the connection was closed.
    #[error("protocol error from {address}: {detail}")]
    Protocol {
        /// The node's address.
        address: String,
        /// What was wrong.
        detail: String,
    },
    /// No leader could be found.
    #[error("no dqlite leader found (tried {tried}){}", last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default())]
    NoLeader {
        /// The addresses probed, comma-separated.
        tried: String,
        /// The last error met while probing, if any.
        last_error: Option<Box<Error>>,
    },
    /// The connection cannot be used any more.
    #[error("connection closed: {reason}")]
    Closed {
        /// Why it was closed.
        reason: String,
    },
    /// The input cannot be encoded or does not belong here; nothing was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The server does not support what was asked.
    #[error("not supported by this server: {0}")]
    Unsupported(String),
    /// A configuration problem.
    #[error("configuration error: {0}")]
    Config(String),
    /// A row of a batch ([`Connection::execute_many`](crate::Connection::execute_many))
    /// failed; rows before it ran.
    #[error("row {row} of the batch: {source}")]
    Batch {
        /// Index of the row that failed (from 0).
        row: usize,
        /// Its error.
        source: Box<Error>,
    },
    /// A received value cannot be represented as asked; the connection stays usable.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// A node named an address the configured
    /// [`RedirectPolicy`](crate::RedirectPolicy) refuses; it was not dialed. Of kind
    /// [`ErrorKind::Config`]: asking again gets the same answer.
    #[error("redirect to {address:?} (named by {named_by}) rejected by the redirect policy")]
    RedirectRejected {
        /// The refused address, as the node sent it.
        address: String,
        /// The node that named it.
        named_by: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error's classification.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Server(e) => {
                if e.is_not_leader() {
                    ErrorKind::NotLeader
                } else if e.is_leadership_lost() {
                    ErrorKind::OutcomeUnknown
                } else {
                    match codes::primary(e.code) {
                        SQLITE_CONSTRAINT => ErrorKind::Constraint,
                        SQLITE_BUSY | SQLITE_LOCKED => ErrorKind::Busy,
                        _ => ErrorKind::Sql,
                    }
                }
            }
            Error::OutcomeUnknown { .. } => ErrorKind::OutcomeUnknown,
            Error::Io { .. } => ErrorKind::Transport,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Protocol { .. } => ErrorKind::Protocol,
            Error::NoLeader { .. } => ErrorKind::NoLeader,
            Error::Closed { .. } => ErrorKind::Closed,
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Config(_) | Error::RedirectRejected { .. } => ErrorKind::Config,
            Error::InvalidData(_) => ErrorKind::InvalidData,
            Error::Batch { source, .. } => source.kind(),
        }
    }

    /// The server's failure, if this error is (or wraps) one.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Error::Server(e) => Some(e),
            Error::OutcomeUnknown { source } | Error::Batch { source, .. } => source.server_error(),
            _ => None,
        }
    }

    /// This error as a write reports it: [`Error::OutcomeUnknown`] when it leaves the write
    /// in doubt, that is an answer that [leaves a write in doubt](ServerError::leaves_write_in_doubt),
    /// or, once the request was written whole (`sent`), a transport failure, a deadline or
    /// a malformed answer. Anything else (nothing was sent, or the server refused before
    /// running anything) is returned as it is.
    pub(crate) fn for_write(self, sent: bool) -> Error {
        let in_doubt = match &self {
            Error::OutcomeUnknown { .. } => return self,
            Error::Server(e) => e.leaves_write_in_doubt(),
            Error::Io { .. } | Error::Timeout { .. } | Error::Protocol { .. } => sent,
            _ => false,
        };
        if in_doubt {
            Error::OutcomeUnknown {
                source: Box::new(self),
            }
        } else {
            self
        }
    }

    /// True when the node reported a leadership change, directly or under
    /// [`OutcomeUnknown`](Error::OutcomeUnknown) or [`Batch`](Error::Batch): it is not the
    /// leader (any more). Its connections are useless; leader discovery finds the new one.
    pub fn is_leadership_change(&self) -> bool {
        self.server_error()
            .is_some_and(|e| e.is_not_leader() || e.is_leadership_lost())
    }

    /// True when the node stopped answering or the link to it failed (a transport error or
    /// a deadline, directly or under [`OutcomeUnknown`](Error::OutcomeUnknown) or
    /// [`Batch`](Error::Batch)): it may be paused, partitioned or gone, and other
    /// connections to it are suspect too (a pool should retire them, as [`Pool`] does).
    ///
    /// [`Pool`]: crate::Pool
    pub fn is_node_lost(&self) -> bool {
        match self {
            Error::OutcomeUnknown { source } | Error::Batch { source, .. } => source.is_node_lost(),
            other => matches!(other.kind(), ErrorKind::Transport | ErrorKind::Timeout),
        }
    }

    /// True when the connection that returned this error must not be used again (the
    /// disconnect classification a pool or an ORM reads): transport and protocol failures,
    /// timeouts, leadership changes, writes of unknown outcome, a connection already
    /// closed.
    pub fn is_fatal_to_connection(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Transport
                | ErrorKind::Protocol
                | ErrorKind::Timeout
                | ErrorKind::Closed
                | ErrorKind::NotLeader
                | ErrorKind::OutcomeUnknown
        )
    }
}

impl From<ServerError> for Error {
    fn from(e: ServerError) -> Self {
        Error::Server(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u64, message: &str) -> Error {
        Error::Server(ServerError {
            code,
            message: message.into(),
        })
    }

    #[test]
    fn leadership_codes_are_classified_by_full_code() {
        assert_eq!(server(10250, "not leader").kind(), ErrorKind::NotLeader);
        assert_eq!(server(8202, "not leader").kind(), ErrorKind::NotLeader);
        assert_eq!(
            server(10506, "leadership lost").kind(),
            ErrorKind::OutcomeUnknown
        );
        assert_eq!(
            server(8458, "disk I/O error").kind(),
            ErrorKind::OutcomeUnknown
        );
        // Primary code 10 alone is not a leadership signal (docs/protocol.md §6).
        assert_eq!(server(10, "leader exec failed").kind(), ErrorKind::Sql);
        assert_eq!(
            server(12, "no database opened").kind(),
            ErrorKind::NotLeader
        );
        assert_eq!(
            server(12, "no statement with the given id").kind(),
            ErrorKind::Sql
        );
        // Raft's RAFT_NOTLEADER passed through as code 7 during a leadership transfer.
        assert_eq!(
            server(7, "no more rows available").kind(),
            ErrorKind::NotLeader
        );
        assert_eq!(server(7, "out of memory").kind(), ErrorKind::Sql);
    }

    #[test]
    fn constraint_and_busy() {
        assert_eq!(server(2067, "UNIQUE").kind(), ErrorKind::Constraint);
        assert_eq!(server(1555, "PK").kind(), ErrorKind::Constraint);
        assert_eq!(server(19, "c").kind(), ErrorKind::Constraint);
        assert_eq!(server(5, "database is locked").kind(), ErrorKind::Busy);
        assert_eq!(server(1, "syntax").kind(), ErrorKind::Sql);
    }

    #[test]
    fn names_and_display() {
        let e = ServerError {
            code: 2067,
            message: "UNIQUE constraint failed: t.a".into(),
        };
        assert_eq!(e.code_name(), "SQLITE_CONSTRAINT_UNIQUE");
        assert_eq!(
            Error::Server(e).to_string(),
            "server error: UNIQUE constraint failed: t.a (SQLITE_CONSTRAINT_UNIQUE, code 2067)"
        );
        assert_eq!(code_name(10250), "SQLITE_IOERR_NOT_LEADER");
        assert_eq!(code_name(1), "SQLITE_ERROR");
        // Unknown extended code falls back to its primary code's name.
        assert_eq!(code_name(19 | (99 << 8)), "SQLITE_CONSTRAINT");
    }

    #[test]
    fn answers_that_leave_a_write_in_doubt() {
        let in_doubt = |code| {
            ServerError {
                code,
                message: "m".into(),
            }
            .leaves_write_in_doubt()
        };
        for code in [10, 778, 1034, 3850, 10506, 8458, 4, 516] {
            assert!(in_doubt(code), "{code}");
        }
        for code in [10250, 8202, 12, 1, 5, 19, 2067, 0, 100] {
            assert!(!in_doubt(code), "{code}");
        }
        let io = || Error::Io {
            address: "a".into(),
            source: std::io::ErrorKind::BrokenPipe.into(),
        };
        assert_eq!(io().for_write(true).kind(), ErrorKind::OutcomeUnknown);
        assert_eq!(io().for_write(false).kind(), ErrorKind::Transport);
        assert_eq!(
            server(778, "disk I/O error").for_write(false).kind(),
            ErrorKind::OutcomeUnknown
        );
        assert_eq!(
            server(10250, "not leader").for_write(true).kind(),
            ErrorKind::NotLeader
        );
        assert_eq!(server(1, "syntax").for_write(true).kind(), ErrorKind::Sql);
    }

    #[test]
    fn structured_classification() {
        let lost = Error::OutcomeUnknown {
            source: Box::new(server(10506, "leadership lost")),
        };
        assert!(lost.is_leadership_change() && !lost.is_node_lost());
        assert!(server(12, "no database opened").is_leadership_change());
        assert!(!server(12, "no statement with the given id").is_leadership_change());
        let timeout = Error::Batch {
            row: 3,
            source: Box::new(Error::OutcomeUnknown {
                source: Box::new(Error::Timeout {
                    operation: "execute".into(),
                    after: Duration::from_secs(1),
                }),
            }),
        };
        assert!(timeout.is_node_lost() && !timeout.is_leadership_change());
        assert!(!server(1, "syntax").is_node_lost());
        let none = ServerError {
            code: 1,
            message: "cannot rollback - no transaction is active".into(),
        };
        assert!(none.is_no_transaction_active());
        assert!(
            !ServerError {
                code: 1,
                message: "no such table: t".into()
            }
            .is_no_transaction_active()
        );
    }

    #[test]
    fn fatal_errors() {
        assert!(server(10250, "not leader").is_fatal_to_connection());
        assert!(!server(0, "empty statement").is_fatal_to_connection());
        assert!(!server(2067, "unique").is_fatal_to_connection());
        let wrapped = Error::OutcomeUnknown {
            source: Box::new(server(10506, "leadership lost")),
        };
        assert_eq!(wrapped.server_error().map(|e| e.code), Some(10506));
        assert!(wrapped.is_fatal_to_connection());
    }
}
