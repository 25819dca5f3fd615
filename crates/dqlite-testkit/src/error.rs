//! The test kit's error type.

use std::path::PathBuf;

/// Everything that can go wrong while installing servers or running a test cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation failed; `context` says which one.
    #[error("{context}: {source}")]
    Io {
        /// What the test kit was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An external command (apt-get, dpkg, gcc, openssl, ...) failed.
    #[error("command `{command}` failed ({status}): {output}")]
    Command {
        /// The command line, for the message.
        command: String,
        /// Its exit status, as text.
        status: String,
        /// The tail of its standard error and output.
        output: String,
    },
    /// Installing packages needs root and this process is not root.
    #[error("{0}; run `dqlite-testkit install --server 1.11` (or scripts/setup.sh) as root")]
    NotRoot(String),
    /// The requested server version string is not one the test kit knows.
    #[error("unknown dqlite server version {0:?} (expected 1.11, 1.18 or latest)")]
    UnknownVersion(String),
    /// A server installation is missing or incomplete.
    #[error("dqlite server {version} is not installed: {detail}")]
    NotInstalled {
        /// "1.11", "1.18", "latest" or "python3.13".
        version: &'static str,
        /// What is missing.
        detail: String,
    },
    /// The dqlite wire protocol probe got something it did not expect.
    #[error("protocol error talking to {address}: {detail}")]
    Protocol {
        /// The node's address.
        address: String,
        /// What was wrong.
        detail: String,
    },
    /// A node answered a request with a FAILURE frame.
    #[error("node {address} answered FAILURE {code}: {message}")]
    Failure {
        /// The node's address.
        address: String,
        /// The dqlite/SQLite error code.
        code: u64,
        /// The server's message.
        message: String,
    },
    /// A TLS configuration or handshake problem.
    #[error("TLS: {0}")]
    Tls(String),
    /// Waiting for a cluster condition ran out of time.
    #[error("timed out after {seconds:.1} s waiting for {what}")]
    Timeout {
        /// What was being waited for (includes the last observed state).
        what: String,
        /// How long the test kit waited.
        seconds: f64,
    },
    /// A node process exited while it was expected to run.
    #[error("node {index} ({address}) exited early ({status}); log {log}:\n{log_tail}")]
    NodeExited {
        /// Node index in the cluster.
        index: usize,
        /// Its database address.
        address: String,
        /// Exit status as text.
        status: String,
        /// Path of its log file.
        log: PathBuf,
        /// The end of its log.
        log_tail: String,
    },
    /// A node index outside the cluster.
    #[error("no node with index {0}")]
    NoSuchNode(usize),
    /// The request does not make sense in the node's current state or configuration.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Wraps an I/O error with what the test kit was doing.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias used throughout the test kit.
pub type Result<T, E = Error> = std::result::Result<T, E>;
