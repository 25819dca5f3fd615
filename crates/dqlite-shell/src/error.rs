//! The shell's errors and how they are shown.

use std::fmt;
use std::io;

/// Anything a command can fail with.
#[derive(Debug)]
pub enum ShellError {
    /// The client or the server failed; shown with the server's code and name when there
    /// is one: `near "SELEC": syntax error (SQLITE_ERROR, code 1)`.
    Db(dqlite_client::Error),
    /// A dot-command was misused, or its input is wrong.
    Usage(String),
    /// A file could not be read or written.
    File {
        /// What was being done, with the file name.
        what: String,
        /// Why it failed.
        source: io::Error,
    },
    /// Writing the output failed (a closed pipe, a full disk).
    Output(io::Error),
    /// Ctrl-C stopped the command.
    Interrupted,
    /// The connection was lost with a transaction open, which the server rolled back.
    TransactionLost(LostTransaction),
}

/// How a statement met a transaction lost with its connection.
#[derive(Debug)]
pub enum LostTransaction {
    /// It found the connection gone (this error, if the client gave one).
    Now(Option<dqlite_client::Error>),
    /// It came after, before the user ended the lost transaction: refused.
    Refused,
    /// It was the COMMIT of the lost transaction (or the RELEASE that would commit it).
    Commit,
}

impl ShellError {
    /// A usage error with this message.
    pub fn usage(message: impl Into<String>) -> Self {
        ShellError::Usage(message.into())
    }

    /// A file error: `what` names the operation and the file.
    pub fn file(what: impl Into<String>, source: io::Error) -> Self {
        ShellError::File {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for ShellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // A server error alone: its message, then its code's name and number.
            ShellError::Db(dqlite_client::Error::Server(e)) => write!(f, "{e}"),
            ShellError::Db(e) => write!(f, "{e}"),
            ShellError::Usage(m) => f.write_str(m),
            ShellError::File { what, source } => write!(f, "{what}: {source}"),
            ShellError::Output(e) => write!(f, "cannot write the output: {e}"),
            ShellError::Interrupted => f.write_str("interrupted"),
            ShellError::TransactionLost(LostTransaction::Now(cause)) => {
                f.write_str("the connection was lost")?;
                match cause {
                    Some(dqlite_client::Error::Server(e)) => write!(f, " ({e})")?,
                    Some(e) => write!(f, " ({e})")?,
                    None => {}
                }
                f.write_str(": the open transaction was rolled back, with every change made in it")
            }
            ShellError::TransactionLost(LostTransaction::Refused) => f.write_str(
                "the transaction was rolled back when its connection was lost: \
                 enter ROLLBACK to go on (statements are refused until then)",
            ),
            ShellError::TransactionLost(LostTransaction::Commit) => f.write_str(
                "cannot commit: the transaction was rolled back when its connection was lost",
            ),
        }
    }
}

impl std::error::Error for ShellError {}

impl From<dqlite_client::Error> for ShellError {
    fn from(e: dqlite_client::Error) -> Self {
        ShellError::Db(e)
    }
}

impl From<io::Error> for ShellError {
    fn from(e: io::Error) -> Self {
        ShellError::Output(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dqlite_client::{Error, ServerError};

    #[test]
    fn server_errors_show_code_and_name() {
        let e = ShellError::Db(Error::Server(ServerError {
            code: 1,
            message: "near \"SELEC\": syntax error".into(),
        }));
        assert_eq!(
            e.to_string(),
            "near \"SELEC\": syntax error (SQLITE_ERROR, code 1)"
        );
        let e = ShellError::Db(Error::Server(ServerError {
            code: 2067,
            message: "UNIQUE constraint failed: t.a".into(),
        }));
        assert_eq!(
            e.to_string(),
            "UNIQUE constraint failed: t.a (SQLITE_CONSTRAINT_UNIQUE, code 2067)"
        );
    }
}
