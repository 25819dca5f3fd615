//! Requests: what a client sends.

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::header::{Header, request_type as t};
use crate::primitive::{Reader, check_text, put_text, text_size};
use crate::role::Role;
use crate::tuple::{check_params, params_size, put_params, read_params};
use crate::value::Value;

/// A request, borrowing its text and parameters.
///
/// [`Request::encode`] refuses the requests that hang or crash servers (docs/protocol.md
/// §10): HEARTBEAT, CONNECT, DESCRIBE with a format other than 0, CLUSTER with a
/// format above 1, and UNIXTIME parameters. [`Request::encode_unchecked`] writes them
/// anyway, for fake servers and tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Request<'a> {
    /// Which node leads (answered by SERVER).
    Leader,
    /// Register a client id (answered by WELCOME). Optional.
    Client {
        /// Any id; servers store it and nothing else.
        id: u64,
    },
    /// Not implemented by servers: 1.11 stops reading the connection. Never sent.
    Heartbeat {
        /// Timestamp as go-dqlite defines it.
        timestamp: u64,
    },
    /// Open a database by name (answered by DB). One per connection.
    Open {
        /// Database name (not a path).
        name: &'a str,
        /// Unused by servers; send 0.
        flags: u64,
        /// Unused by servers.
        vfs: &'a str,
    },
    /// Compile the first statement of `sql` (schema 0; answered by STMT).
    Prepare {
        /// Always 0.
        db_id: u64,
        /// SQL text.
        sql: &'a str,
    },
    /// Compile the first statement and report where the rest starts (schema 1, servers
    /// from 1.15; answered by STMT with an offset).
    PrepareWithOffset {
        /// Always 0.
        db_id: u64,
        /// SQL text.
        sql: &'a str,
    },
    /// Execute a prepared statement (answered by RESULT).
    Exec {
        /// Always 0.
        db_id: u32,
        /// Statement id from STMT.
        stmt_id: u32,
        /// Parameters.
        params: Cow<'a, [Value]>,
        /// Tuple schema: 0 (at most 255 parameters) or 1 (servers from 1.12).
        schema: u8,
    },
    /// Run a prepared query (answered by ROWS frames).
    Query {
        /// Always 0.
        db_id: u32,
        /// Statement id from STMT.
        stmt_id: u32,
        /// Parameters.
        params: Cow<'a, [Value]>,
        /// Tuple schema.
        schema: u8,
    },
    /// Free a prepared statement (answered by EMPTY).
    Finalize {
        /// Always 0.
        db_id: u32,
        /// Statement id.
        stmt_id: u32,
    },
    /// Execute SQL text (answered by RESULT).
    ExecSql {
        /// Always 0.
        db_id: u64,
        /// SQL text.
        sql: &'a str,
        /// Parameters.
        params: Cow<'a, [Value]>,
        /// Tuple schema.
        schema: u8,
    },
    /// Query with SQL text (answered by ROWS frames).
    QuerySql {
        /// Always 0.
        db_id: u64,
        /// SQL text.
        sql: &'a str,
        /// Parameters.
        params: Cow<'a, [Value]>,
        /// Tuple schema.
        schema: u8,
    },
    /// Abandon the running query (answered by EMPTY after the rest of the result).
    Interrupt {
        /// Always 0.
        db_id: u64,
    },
    /// Node-to-node Raft traffic. Never sent by a client.
    Connect {
        /// Node id.
        id: u64,
        /// Node address.
        address: &'a str,
    },
    /// Add a node as a spare (leader only; answered by EMPTY).
    Add {
        /// New node id.
        id: u64,
        /// Its address.
        address: &'a str,
    },
    /// Give a node a role (leader only). `None` is the old PROMOTE: make voter.
    Assign {
        /// Node id.
        id: u64,
        /// New role.
        role: Option<Role>,
    },
    /// Remove a node (leader only).
    Remove {
        /// Node id.
        id: u64,
    },
    /// The files of a database (answered by FILES).
    Dump {
        /// Database name.
        name: &'a str,
    },
    /// Cluster members (answered by SERVERS); format 1 includes roles.
    Cluster {
        /// 0 or 1.
        format: u64,
    },
    /// Transfer leadership; 0 lets the server pick a voter.
    Transfer {
        /// Target node id.
        id: u64,
    },
    /// This node's failure domain and weight (answered by METADATA). Format must be 0.
    Describe {
        /// Must be 0: anything else breaks the server.
        format: u64,
    },
    /// Set this node's weight.
    Weight {
        /// New weight.
        weight: u64,
    },
}

impl<'a> Request<'a> {
    /// The type code.
    pub fn kind(&self) -> u8 {
        match self {
            Request::Leader => t::LEADER,
            Request::Client { .. } => t::CLIENT,
            Request::Heartbeat { .. } => t::HEARTBEAT,
            Request::Open { .. } => t::OPEN,
            Request::Prepare { .. } | Request::PrepareWithOffset { .. } => t::PREPARE,
            Request::Exec { .. } => t::EXEC,
            Request::Query { .. } => t::QUERY,
            Request::Finalize { .. } => t::FINALIZE,
            Request::ExecSql { .. } => t::EXEC_SQL,
            Request::QuerySql { .. } => t::QUERY_SQL,
            Request::Interrupt { .. } => t::INTERRUPT,
            Request::Connect { .. } => t::CONNECT,
            Request::Add { .. } => t::ADD,
            Request::Assign { .. } => t::ASSIGN,
            Request::Remove { .. } => t::REMOVE,
            Request::Dump { .. } => t::DUMP,
            Request::Cluster { .. } => t::CLUSTER,
            Request::Transfer { .. } => t::TRANSFER,
            Request::Describe { .. } => t::DESCRIBE,
            Request::Weight { .. } => t::WEIGHT,
        }
    }

    /// The schema byte of the header.
    pub fn schema(&self) -> u8 {
        match self {
            Request::PrepareWithOffset { .. } => 1,
            Request::Exec { schema, .. }
            | Request::Query { schema, .. }
            | Request::ExecSql { schema, .. }
            | Request::QuerySql { schema, .. } => *schema,
            _ => 0,
        }
    }

    /// A short upper-case name, as docs/protocol.md spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Leader => "LEADER",
            Request::Client { .. } => "CLIENT",
            Request::Heartbeat { .. } => "HEARTBEAT",
            Request::Open { .. } => "OPEN",
            Request::Prepare { .. } | Request::PrepareWithOffset { .. } => "PREPARE",
            Request::Exec { .. } => "EXEC",
            Request::Query { .. } => "QUERY",
            Request::Finalize { .. } => "FINALIZE",
            Request::ExecSql { .. } => "EXEC_SQL",
            Request::QuerySql { .. } => "QUERY_SQL",
            Request::Interrupt { .. } => "INTERRUPT",
            Request::Connect { .. } => "CONNECT",
            Request::Add { .. } => "ADD",
            Request::Assign { .. } => "ASSIGN",
            Request::Remove { .. } => "REMOVE",
            Request::Dump { .. } => "DUMP",
            Request::Cluster { .. } => "CLUSTER",
            Request::Transfer { .. } => "TRANSFER",
            Request::Describe { .. } => "DESCRIBE",
            Request::Weight { .. } => "WEIGHT",
        }
    }

    /// Why this request must not be sent to a server, if it must not.
    pub fn never_send_reason(&self) -> Option<&'static str> {
        match self {
            Request::Heartbeat { .. } => {
                Some("HEARTBEAT (not implemented: 1.11 servers stop reading the connection)")
            }
            Request::Connect { .. } => {
                Some("CONNECT (node-to-node only: the socket is handed to Raft)")
            }
            Request::Describe { format } if *format != 0 => {
                Some("DESCRIBE with a format other than 0 (it aborts the node)")
            }
            Request::Cluster { format } if *format > 1 => {
                Some("CLUSTER with a format above 1 (1.11 misreads it as 1, newer servers fail)")
            }
            _ => None,
        }
    }

    /// Appends the whole frame (header and body) to `out`, refusing requests that must
    /// never reach a server and text that cannot travel.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        if let Some(reason) = self.never_send_reason() {
            return Err(EncodeError::NeverSend(reason));
        }
        self.encode_inner(out, true)
    }

    /// Like [`encode`](Self::encode) but writes dangerous requests too. For fake servers
    /// and tests only: sending the output to a real node can hang or crash it.
    pub fn encode_unchecked(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        self.encode_inner(out, false)
    }

    fn check(&self, checked: bool) -> Result<(), EncodeError> {
        let text = |s: &str, what: &'static str| check_text(s, || what.to_owned());
        // The tuple checker does not know the message type: name this request's.
        let params = |params: &[Value], schema: u8| {
            check_params(params, schema, checked).map_err(|e| match e {
                EncodeError::UnknownSchema { schema, .. } => EncodeError::UnknownSchema {
                    kind: self.kind(),
                    schema,
                },
                other => other,
            })
        };
        match self {
            Request::Open { name, vfs, .. } => {
                text(name, "database name")?;
                text(vfs, "vfs name")
            }
            Request::Prepare { sql, .. } | Request::PrepareWithOffset { sql, .. } => {
                text(sql, "sql")
            }
            Request::ExecSql {
                sql,
                params: values,
                schema,
                ..
            }
            | Request::QuerySql {
                sql,
                params: values,
                schema,
                ..
            } => {
                text(sql, "sql")?;
                params(values, *schema)
            }
            Request::Exec {
                params: values,
                schema,
                ..
            }
            | Request::Query {
                params: values,
                schema,
                ..
            } => params(values, *schema),
            Request::Connect { address, .. } | Request::Add { address, .. } => {
                text(address, "address")
            }
            Request::Dump { name } => text(name, "database name"),
            _ => Ok(()),
        }
    }

    fn body_size(&self) -> usize {
        match self {
            Request::Leader
            | Request::Client { .. }
            | Request::Heartbeat { .. }
            | Request::Finalize { .. }
            | Request::Interrupt { .. }
            | Request::Remove { .. }
            | Request::Cluster { .. }
            | Request::Transfer { .. }
            | Request::Describe { .. }
            | Request::Weight { .. } => 8,
            Request::Open { name, vfs, .. } => text_size(name.len()) + 8 + text_size(vfs.len()),
            Request::Prepare { sql, .. } | Request::PrepareWithOffset { sql, .. } => {
                8 + text_size(sql.len())
            }
            Request::Exec { params, schema, .. } | Request::Query { params, schema, .. } => {
                8 + params_size(params, *schema)
            }
            Request::ExecSql {
                sql,
                params,
                schema,
                ..
            }
            | Request::QuerySql {
                sql,
                params,
                schema,
                ..
            } => 8 + text_size(sql.len()) + params_size(params, *schema),
            Request::Connect { address, .. } | Request::Add { address, .. } => {
                8 + text_size(address.len())
            }
            Request::Assign { role, .. } => {
                if role.is_some() {
                    16
                } else {
                    8
                }
            }
            Request::Dump { name } => text_size(name.len()),
        }
    }

    fn encode_inner(&self, out: &mut BytesMut, checked: bool) -> Result<(), EncodeError> {
        self.check(checked)?;
        let size = self.body_size();
        let words = u32::try_from(size / 8).map_err(|_| EncodeError::BodyTooLarge(size))?;
        out.reserve(Header::SIZE + size);
        let start = out.len();
        Header {
            words,
            kind: self.kind(),
            schema: self.schema(),
        }
        .encode(out);
        match self {
            Request::Leader => out.put_u64_le(0),
            Request::Client { id } => out.put_u64_le(*id),
            Request::Heartbeat { timestamp } => out.put_u64_le(*timestamp),
            Request::Open { name, flags, vfs } => {
                put_text(out, name.as_bytes());
                out.put_u64_le(*flags);
                put_text(out, vfs.as_bytes());
            }
            Request::Prepare { db_id, sql } | Request::PrepareWithOffset { db_id, sql } => {
                out.put_u64_le(*db_id);
                put_text(out, sql.as_bytes());
            }
            Request::Exec {
                db_id,
                stmt_id,
                params,
                schema,
            }
            | Request::Query {
                db_id,
                stmt_id,
                params,
                schema,
            } => {
                out.put_u32_le(*db_id);
                out.put_u32_le(*stmt_id);
                put_params(out, params, *schema);
            }
            Request::Finalize { db_id, stmt_id } => {
                out.put_u32_le(*db_id);
                out.put_u32_le(*stmt_id);
            }
            Request::ExecSql {
                db_id,
                sql,
                params,
                schema,
            }
            | Request::QuerySql {
                db_id,
                sql,
                params,
                schema,
            } => {
                out.put_u64_le(*db_id);
                put_text(out, sql.as_bytes());
                put_params(out, params, *schema);
            }
            Request::Interrupt { db_id } => out.put_u64_le(*db_id),
            Request::Connect { id, address } | Request::Add { id, address } => {
                out.put_u64_le(*id);
                put_text(out, address.as_bytes());
            }
            Request::Assign { id, role } => {
                out.put_u64_le(*id);
                if let Some(role) = role {
                    out.put_u64_le(role.code());
                }
            }
            Request::Remove { id } | Request::Transfer { id } => out.put_u64_le(*id),
            Request::Dump { name } => put_text(out, name.as_bytes()),
            Request::Cluster { format } | Request::Describe { format } => {
                out.put_u64_le(*format);
            }
            Request::Weight { weight } => out.put_u64_le(*weight),
        }
        debug_assert_eq!(out.len() - start, Header::SIZE + size);
        Ok(())
    }

    /// Decodes a request body (what a server reads). Text fields borrow from `body`;
    /// parameters are decoded into owned values.
    pub fn decode(header: &Header, body: &'a [u8]) -> Result<Request<'a>, DecodeError> {
        if body.len() != header.body_len() {
            return Err(DecodeError::BodyLengthMismatch {
                declared: header.body_len(),
                actual: body.len(),
            });
        }
        let mut r = Reader::new(body);
        let schema = header.schema;
        let bad_schema = || DecodeError::UnknownSchema {
            kind: header.kind,
            schema,
        };
        let has_schema1 = matches!(
            header.kind,
            t::PREPARE | t::EXEC | t::QUERY | t::EXEC_SQL | t::QUERY_SQL
        );
        if schema > 1 || (schema == 1 && !has_schema1) {
            return Err(bad_schema());
        }
        let request = match header.kind {
            t::LEADER => {
                r.u64("leader unused")?;
                Request::Leader
            }
            t::CLIENT => Request::Client {
                id: r.u64("client id")?,
            },
            t::HEARTBEAT => Request::Heartbeat {
                timestamp: r.u64("heartbeat timestamp")?,
            },
            t::OPEN => Request::Open {
                name: r.str("database name")?,
                flags: r.u64("open flags")?,
                vfs: r.str("vfs name")?,
            },
            t::PREPARE => {
                let db_id = r.u64("db id")?;
                let sql = r.str("sql")?;
                if schema == 1 {
                    Request::PrepareWithOffset { db_id, sql }
                } else {
                    Request::Prepare { db_id, sql }
                }
            }
            t::EXEC | t::QUERY => {
                let (db_id, stmt_id) = r.u32_pair("statement ids")?;
                let params = Cow::Owned(read_params(&mut r, schema)?);
                if header.kind == t::EXEC {
                    Request::Exec {
                        db_id,
                        stmt_id,
                        params,
                        schema,
                    }
                } else {
                    Request::Query {
                        db_id,
                        stmt_id,
                        params,
                        schema,
                    }
                }
            }
            t::FINALIZE => {
                let (db_id, stmt_id) = r.u32_pair("statement ids")?;
                Request::Finalize { db_id, stmt_id }
            }
            t::EXEC_SQL | t::QUERY_SQL => {
                let db_id = r.u64("db id")?;
                let sql = r.str("sql")?;
                let params = Cow::Owned(read_params(&mut r, schema)?);
                if header.kind == t::EXEC_SQL {
                    Request::ExecSql {
                        db_id,
                        sql,
                        params,
                        schema,
                    }
                } else {
                    Request::QuerySql {
                        db_id,
                        sql,
                        params,
                        schema,
                    }
                }
            }
            t::INTERRUPT => Request::Interrupt {
                db_id: r.u64("db id")?,
            },
            t::CONNECT => Request::Connect {
                id: r.u64("node id")?,
                address: r.str("address")?,
            },
            t::ADD => Request::Add {
                id: r.u64("node id")?,
                address: r.str("address")?,
            },
            t::ASSIGN => {
                let id = r.u64("node id")?;
                // The server tells PROMOTE from ASSIGN by whether bytes remain.
                let role = if r.is_empty() {
                    None
                } else {
                    Some(Role::from_code(r.u64("role")?)?)
                };
                Request::Assign { id, role }
            }
            t::REMOVE => Request::Remove {
                id: r.u64("node id")?,
            },
            t::DUMP => Request::Dump {
                name: r.str("database name")?,
            },
            t::CLUSTER => Request::Cluster {
                format: r.u64("cluster format")?,
            },
            t::TRANSFER => Request::Transfer {
                id: r.u64("node id")?,
            },
            t::DESCRIBE => Request::Describe {
                format: r.u64("describe format")?,
            },
            t::WEIGHT => Request::Weight {
                weight: r.u64("weight")?,
            },
            code => {
                return Err(DecodeError::UnknownMessageType {
                    direction: "request",
                    code,
                });
            }
        };
        Ok(request)
    }
}
