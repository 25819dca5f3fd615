//! A client for [dqlite](https://canonical.com/dqlite), Canonical's distributed SQLite:
//! SQLite replicated with Raft, spoken to over dqlite's binary protocol.
//!
//! ```no_run
//! use dqlite_client::{Cluster, Config, params};
//!
//! # async fn demo() -> dqlite_client::Result<()> {
//! let cluster = Cluster::new("127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003".parse::<Config>()?);
//! let mut conn = cluster.connect().await?;
//! conn.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB)", &[]).await?;
//! conn.execute("INSERT INTO kv VALUES (?, ?)", &params!["a", &b"1"[..]]).await?;
//! let rows = conn.query_all("SELECT k, v FROM kv", &[]).await?;
//! for row in &rows.rows {
//!     let key: String = row.get(0)?;
//!     let value: Vec<u8> = row.get(1)?;
//!     println!("{key}: {value:?}");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # What it does
//!
//! * [`Cluster`] finds the leader (last known leader first, then every node watched at
//!   once, so that a node that does not answer holds up nobody) and opens connections on
//!   it. [`Pool`] keeps a bounded set of them and replaces those that broke, sit on a
//!   deposed leader, or on a node that stopped answering.
//! * [`Connection`] runs one request at a time (`&mut self` enforces it), each call bounded
//!   as a whole by one deadline (see [its deadlines](Connection#deadlines)). A result is streamed frame by frame ([`Rows`]), so memory is
//!   bounded by one frame, not by the result.
//! * Retries happen only where they are safe: dialing, handshakes, and "not leader"
//!   answers given before anything ran. A write whose outcome is unknown (the connection
//!   failed after the request left, or the node answered with an error that
//!   [leaves a write in doubt](ServerError::leaves_write_in_doubt)) is reported as
//!   [`Error::OutcomeUnknown`], never sent again; so is a change of membership or
//!   leadership ([`admin`]) whose answer is lost.
//! * Writes are always sent as EXEC, never as QUERY, and the client adapts to the server
//!   version (1.11 to 1.18): see `docs/protocol.md` in the repository.
//!
//! # Cancellation
//!
//! Every future may be dropped at any await point. A connection whose request was cut off
//! before its response was read is marked broken and refuses further use; a result stream
//! dropped half-read is drained (INTERRUPT, then frames until EMPTY) before the next
//! request. A broken connection is never reused by the pool.
//!
//! # Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `tls` | yes | TLS to the nodes, with rustls (ring provider) |
//! | `blocking` | yes | [`blocking`], the same client without async |
//! | `sqlite-store` | no | `SqliteNodeStore`, go-dqlite's SQLite node store (links SQLite) |

#![warn(missing_docs)]

pub mod admin;
#[cfg(feature = "blocking")]
pub mod blocking;
mod cluster;
mod config;
mod conn;
mod discovery;
mod error;
pub mod file;
pub mod limits;
mod members;
mod pool;
mod redirect;
mod rows;
pub mod sql;
mod store;
#[cfg(feature = "tls")]
mod tls;
mod transaction;
mod transport;
mod types;

pub use cluster::{Cluster, FileNodeStore, MemoryNodeStore, NodeInfo, NodeStore, Role};
pub use config::{
    Address, Config, ConnectionSettings, DEFAULT_MAX_FRAME_LEN, Timeouts, parse_duration,
};
pub use conn::{ClassifiedSql, Connection, ExecResult, RequestInFlight, Statement};
pub use dqlite_wire::{RowCursor, RowRef, RowsFrame, Value, ValueRef, ValueType};
pub use error::codes::{self, code_name};
pub use error::{Error, ErrorKind, Result, ServerError};
pub use members::SharedNodeStore;
pub use pool::{Pool, PoolOptions, PoolStats, PooledConnection};
pub use redirect::RedirectPolicy;
pub use rows::{QueryResult, Row, RowStream, Rows};
/// The rustls version [`TlsConfig::from_rustls`] takes configurations of.
#[cfg(feature = "tls")]
pub use rustls;
#[cfg(feature = "sqlite-store")]
pub use store::SqliteNodeStore;
pub use store::{YamlNodeStore, open_go_store};
#[cfg(feature = "tls")]
pub use tls::TlsConfig;
pub use transaction::{Transaction, TransactionTarget};
pub use transport::{AbortHandle, CustomStream, DialFuture, Dialer};
pub use types::FromValue;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
