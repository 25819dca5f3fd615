//! The 8-byte message header shared by requests and responses.

use bytes::BufMut;

use crate::error::DecodeError;

/// Request type codes (docs/protocol.md §2).
pub mod request_type {
    /// Which node leads.
    pub const LEADER: u8 = 0;
    /// Register a client id.
    pub const CLIENT: u8 = 1;
    /// Heartbeat: not implemented by servers; never send.
    pub const HEARTBEAT: u8 = 2;
    /// Open a database.
    pub const OPEN: u8 = 3;
    /// Prepare a statement.
    pub const PREPARE: u8 = 4;
    /// Execute a prepared statement.
    pub const EXEC: u8 = 5;
    /// Query with a prepared statement.
    pub const QUERY: u8 = 6;
    /// Free a prepared statement.
    pub const FINALIZE: u8 = 7;
    /// Execute SQL text.
    pub const EXEC_SQL: u8 = 8;
    /// Query with SQL text.
    pub const QUERY_SQL: u8 = 9;
    /// Abandon a running query.
    pub const INTERRUPT: u8 = 10;
    /// Node-to-node Raft connection: never send from a client.
    pub const CONNECT: u8 = 11;
    /// Add a node to the cluster.
    pub const ADD: u8 = 12;
    /// Assign a role to a node.
    pub const ASSIGN: u8 = 13;
    /// Remove a node.
    pub const REMOVE: u8 = 14;
    /// Dump a database's files.
    pub const DUMP: u8 = 15;
    /// List the cluster's members.
    pub const CLUSTER: u8 = 16;
    /// Transfer leadership.
    pub const TRANSFER: u8 = 17;
    /// Describe this node (failure domain, weight).
    pub const DESCRIBE: u8 = 18;
    /// Set this node's weight.
    pub const WEIGHT: u8 = 19;
}

/// Response type codes (docs/protocol.md §3).
pub mod response_type {
    /// An error with a code and a message.
    pub const FAILURE: u8 = 0;
    /// The leader's id and address.
    pub const SERVER: u8 = 1;
    /// Reply to CLIENT.
    pub const WELCOME: u8 = 2;
    /// Cluster members.
    pub const SERVERS: u8 = 3;
    /// Reply to OPEN.
    pub const DB: u8 = 4;
    /// A prepared statement.
    pub const STMT: u8 = 5;
    /// Outcome of an execution.
    pub const RESULT: u8 = 6;
    /// A batch of rows.
    pub const ROWS: u8 = 7;
    /// A bare acknowledgement.
    pub const EMPTY: u8 = 8;
    /// Database files (DUMP).
    pub const FILES: u8 = 9;
    /// Node metadata (DESCRIBE).
    pub const METADATA: u8 = 10;
}

/// A message header: the body length in 8-byte words, the message type and the schema
/// (layout revision) of the body.
///
/// The two trailing bytes are unused by every server: they are written as zero and
/// ignored on receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Body length in words.
    pub words: u32,
    /// Message type code ([`request_type`] or [`response_type`]).
    pub kind: u8,
    /// Body layout revision.
    pub schema: u8,
}

impl Header {
    /// Encoded size in bytes.
    pub const SIZE: usize = 8;

    /// Decodes a header from the first 8 bytes of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Header, DecodeError> {
        match bytes.first_chunk::<8>() {
            Some([w0, w1, w2, w3, kind, schema, _, _]) => Ok(Header {
                words: u32::from_le_bytes([*w0, *w1, *w2, *w3]),
                kind: *kind,
                schema: *schema,
            }),
            None => Err(DecodeError::Truncated {
                what: "header",
                needed: Self::SIZE,
                available: bytes.len(),
            }),
        }
    }

    /// Appends the 8 encoded bytes to `out`.
    pub fn encode(&self, out: &mut impl BufMut) {
        out.put_u32_le(self.words);
        out.put_u8(self.kind);
        out.put_u8(self.schema);
        out.put_u16_le(0);
    }

    /// The message type code.
    pub fn kind(&self) -> u8 {
        self.kind
    }

    /// The body length in bytes.
    pub fn body_len(&self) -> usize {
        // A u32 word count times 8 fits in usize on every 64-bit target; saturate on
        // smaller ones so the frame cap rejects it.
        usize::try_from(u64::from(self.words) * 8).unwrap_or(usize::MAX)
    }
}
