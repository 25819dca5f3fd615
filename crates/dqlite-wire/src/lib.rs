//! The dqlite client wire protocol, as a codec with no I/O.
//!
//! dqlite is SQLite replicated with Raft. Clients speak a small binary protocol to its
//! nodes: after a one-word handshake ([`PROTOCOL_VERSION`]), every message is an 8-byte
//! [`Header`] followed by a body of whole 8-byte words. This crate encodes every
//! [`Request`] and decodes every [`Response`], including result sets streamed over several
//! [`RowsFrame`]s, and nothing else: sockets, timeouts and leader discovery live in
//! `dqlite-client`.
//!
//! Decoding is total and bounded: any byte sequence gives a value or a [`DecodeError`],
//! never a panic, and [`FrameDecoder`] refuses a header that declares more than its cap
//! before buffering anything. Rows are decoded without copying: values borrow from the
//! frame's reference-counted buffer.
//!
//! The encoder refuses text containing NUL and the requests a client must never send,
//! because they hang or crash servers or are not meant for clients (HEARTBEAT, CONNECT,
//! DESCRIBE with a format other than 0, CLUSTER with a format above 1, UNIXTIME
//! parameters); [`Request::encode_unchecked`] writes the latter for fake servers and tests.
//!
//! ```
//! use bytes::BytesMut;
//! use dqlite_wire::{FrameDecoder, Request, Response, Value};
//!
//! let mut out = BytesMut::new();
//! let params = [Value::Integer(42), Value::from("hi")];
//! Request::ExecSql { db_id: 0, sql: "INSERT INTO t VALUES (?, ?)", params: params[..].into(), schema: 0 }
//!     .encode(&mut out)?;
//! assert_eq!(&out[..8], &[8, 0, 0, 0, 8, 0, 0, 0]); // 8 words, EXEC_SQL, schema 0
//!
//! // A RESULT frame as a server sends it: last insert id 1, one row changed.
//! let mut received = BytesMut::from(&[2, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0][..]);
//! let (header, body) = FrameDecoder::default().decode(&mut received)?.expect("a whole frame");
//! assert_eq!(
//!     Response::decode(&header, body)?,
//!     Response::Result { last_insert_id: 1, rows_affected: 1 }
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod failure;
mod frame;
mod header;
mod offsets;
mod primitive;
mod request;
mod response;
mod role;
mod rows;
pub mod time;
mod tuple;
mod value;

pub use error::{DecodeError, EncodeError};
pub use frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder};
pub use header::{Header, request_type, response_type};
pub use request::Request;
pub use response::{File, Response, decode_servers};
pub use role::{NodeInfo, Role};
pub use rows::{
    DONE_MARKER, PART_MARKER, RowCursor, RowIter, RowRef, RowsEnd, RowsFrame, ValueIter,
};
pub use tuple::{MAX_PARAMS_SCHEMA0, MAX_PARAMS_SCHEMA1};
pub use value::{Value, ValueRef, ValueType};

/// The protocol version word a client sends first, as a little-endian u64.
pub const PROTOCOL_VERSION: u64 = 1;

/// The pre-1.0 protocol version word. Servers still accept it; under it, LEADER is
/// answered without the node id. Not used by this project.
pub const LEGACY_PROTOCOL_VERSION: u64 = 0x8610_4dd7_6043_3fe5;
