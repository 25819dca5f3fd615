//! Responses: what a server sends.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::failure::decode_failure;
use crate::header::{Header, response_type as t};
use crate::primitive::{Reader, check_text, pad8, put_text};
use crate::role::{NodeInfo, Role};
use crate::rows::RowsFrame;

/// One file of a DUMP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// File name: the database name, or the name with "-wal".
    pub name: String,
    /// Raw content, sharing the frame's buffer.
    pub data: Bytes,
}

/// A response frame, decoded.
///
/// SERVER_LEGACY (the LEADER reply under the pre-1.0 handshake) is not decoded: clients
/// of this crate always send protocol version 1.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// An error: a SQLite or dqlite code and a message.
    Failure {
        /// Full (extended) code.
        code: u64,
        /// Server message.
        message: String,
    },
    /// Reply to LEADER. Id 0 or an empty address means no leader is known.
    Server {
        /// Leader node id.
        id: u64,
        /// Leader address.
        address: String,
    },
    /// Reply to CLIENT.
    Welcome {
        /// Heartbeat timeout in milliseconds (unused by servers and clients).
        heartbeat_timeout: u64,
    },
    /// Reply to CLUSTER.
    Servers(Vec<NodeInfo>),
    /// Reply to OPEN.
    Db {
        /// Always 0.
        db_id: u32,
    },
    /// Reply to PREPARE.
    Stmt {
        /// Always 0.
        db_id: u32,
        /// Statement id.
        stmt_id: u32,
        /// Number of parameters the statement takes.
        param_count: u64,
        /// Byte offset where the unprepared rest of the SQL starts (PREPARE schema 1 on
        /// servers from 1.15 only).
        tail_offset: Option<u64>,
    },
    /// Reply to EXEC and EXEC_SQL.
    Result {
        /// SQLite's connection-wide last insert rowid, as sent (two's complement).
        last_insert_id: u64,
        /// Rows changed by the last statement.
        rows_affected: u64,
    },
    /// One frame of a query result.
    Rows(RowsFrame),
    /// A bare acknowledgement.
    Empty,
    /// Reply to DUMP: the database file and its WAL.
    Files(Vec<File>),
    /// Reply to DESCRIBE.
    Metadata {
        /// Failure domain.
        failure_domain: u64,
        /// Weight.
        weight: u64,
    },
}

impl Response {
    /// The type code.
    pub fn kind(&self) -> u8 {
        match self {
            Response::Failure { .. } => t::FAILURE,
            Response::Server { .. } => t::SERVER,
            Response::Welcome { .. } => t::WELCOME,
            Response::Servers(_) => t::SERVERS,
            Response::Db { .. } => t::DB,
            Response::Stmt { .. } => t::STMT,
            Response::Result { .. } => t::RESULT,
            Response::Rows(_) => t::ROWS,
            Response::Empty => t::EMPTY,
            Response::Files(_) => t::FILES,
            Response::Metadata { .. } => t::METADATA,
        }
    }

    /// The upper-case protocol name of the response.
    pub fn name(&self) -> &'static str {
        match self {
            Response::Failure { .. } => "FAILURE",
            Response::Server { .. } => "SERVER",
            Response::Welcome { .. } => "WELCOME",
            Response::Servers(_) => "SERVERS",
            Response::Db { .. } => "DB",
            Response::Stmt { .. } => "STMT",
            Response::Result { .. } => "RESULT",
            Response::Rows(_) => "ROWS",
            Response::Empty => "EMPTY",
            Response::Files(_) => "FILES",
            Response::Metadata { .. } => "METADATA",
        }
    }

    /// Decodes a response body. SERVERS is read as format 1 (with roles), the only format
    /// clients should ask for; see [`decode_servers`] for format 0.
    ///
    /// Trailing bytes after the known fields are ignored (later revisions only append
    /// fields); padding is never checked.
    pub fn decode(header: &Header, body: Bytes) -> Result<Response, DecodeError> {
        if body.len() != header.body_len() {
            return Err(DecodeError::BodyLengthMismatch {
                declared: header.body_len(),
                actual: body.len(),
            });
        }
        if header.kind == t::ROWS {
            return RowsFrame::decode(body).map(Response::Rows);
        }
        let mut r = Reader::new(&body);
        let response = match header.kind {
            t::FAILURE => {
                let (code, message) = decode_failure(&body)?;
                Response::Failure { code, message }
            }
            t::SERVER => Response::Server {
                id: r.u64("node id")?,
                address: r.str("leader address")?.to_owned(),
            },
            t::WELCOME => Response::Welcome {
                heartbeat_timeout: r.u64("heartbeat timeout")?,
            },
            t::SERVERS => Response::Servers(read_servers(&mut r, 1)?),
            t::DB => Response::Db {
                db_id: r.u32_pair("db id")?.0,
            },
            t::STMT => {
                let (db_id, stmt_id) = r.u32_pair("statement ids")?;
                let param_count = r.u64("parameter count")?;
                let tail_offset = match header.schema {
                    0 => None,
                    1 => Some(r.u64("tail offset")?),
                    schema => {
                        return Err(DecodeError::UnknownSchema {
                            kind: t::STMT,
                            schema,
                        });
                    }
                };
                Response::Stmt {
                    db_id,
                    stmt_id,
                    param_count,
                    tail_offset,
                }
            }
            t::RESULT => Response::Result {
                last_insert_id: r.u64("last insert id")?,
                rows_affected: r.u64("rows affected")?,
            },
            t::EMPTY => {
                r.u64("empty")?;
                Response::Empty
            }
            t::FILES => Response::Files(read_files(&mut r, &body)?),
            t::METADATA => Response::Metadata {
                failure_domain: r.u64("failure domain")?,
                weight: r.u64("weight")?,
            },
            code => {
                return Err(DecodeError::UnknownMessageType {
                    direction: "response",
                    code,
                });
            }
        };
        Ok(response)
    }

    /// Appends the whole frame (header and body) to `out`. For fake servers and tests.
    ///
    /// SERVERS is written in format 1 when any node has a role, else in format 0.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let mut body = BytesMut::new();
        let mut schema = 0;
        match self {
            Response::Failure { code, message } => {
                check_text(message, || "failure message".into())?;
                body.put_u64_le(*code);
                put_text(&mut body, message.as_bytes());
            }
            Response::Server { id, address } => {
                check_text(address, || "address".into())?;
                body.put_u64_le(*id);
                put_text(&mut body, address.as_bytes());
            }
            Response::Welcome { heartbeat_timeout } => body.put_u64_le(*heartbeat_timeout),
            Response::Servers(nodes) => {
                let with_roles = nodes.iter().any(|n| n.role.is_some());
                body.put_u64_le(nodes.len() as u64);
                for node in nodes {
                    check_text(&node.address, || "address".into())?;
                    body.put_u64_le(node.id);
                    put_text(&mut body, node.address.as_bytes());
                    if with_roles {
                        body.put_u64_le(node.role.map_or(0, Role::code));
                    }
                }
            }
            Response::Db { db_id } => {
                body.put_u32_le(*db_id);
                body.put_u32_le(0);
            }
            Response::Stmt {
                db_id,
                stmt_id,
                param_count,
                tail_offset,
            } => {
                body.put_u32_le(*db_id);
                body.put_u32_le(*stmt_id);
                body.put_u64_le(*param_count);
                if let Some(offset) = tail_offset {
                    body.put_u64_le(*offset);
                    schema = 1;
                }
            }
            Response::Result {
                last_insert_id,
                rows_affected,
            } => {
                body.put_u64_le(*last_insert_id);
                body.put_u64_le(*rows_affected);
            }
            Response::Rows(frame) => body.put_slice(frame.body()),
            Response::Empty => body.put_u64_le(0),
            Response::Files(files) => {
                body.put_u64_le(files.len() as u64);
                for file in files {
                    check_text(&file.name, || "file name".into())?;
                    put_text(&mut body, file.name.as_bytes());
                    body.put_u64_le(file.data.len() as u64);
                    body.put_slice(&file.data);
                    body.put_bytes(0, pad8(file.data.len()));
                }
            }
            Response::Metadata {
                failure_domain,
                weight,
            } => {
                body.put_u64_le(*failure_domain);
                body.put_u64_le(*weight);
            }
        }
        let words =
            u32::try_from(body.len() / 8).map_err(|_| EncodeError::BodyTooLarge(body.len()))?;
        Header {
            words,
            kind: self.kind(),
            schema,
        }
        .encode(out);
        out.extend_from_slice(&body);
        Ok(())
    }
}

/// Decodes a SERVERS body in the given CLUSTER format (0: no roles; 1: roles).
pub fn decode_servers(body: &[u8], format: u64) -> Result<Vec<NodeInfo>, DecodeError> {
    read_servers(&mut Reader::new(body), format)
}

fn read_servers(r: &mut Reader<'_>, format: u64) -> Result<Vec<NodeInfo>, DecodeError> {
    let count = r.u64("node count")?;
    let min_entry = if format == 0 { 16 } else { 24 };
    let count = usize::try_from(count)
        .ok()
        .filter(|&c| c.saturating_mul(min_entry) <= r.remaining())
        .ok_or(DecodeError::ImpossibleCount {
            what: "node",
            count,
            available: r.remaining(),
        })?;
    let mut nodes = Vec::with_capacity(count);
    for _ in 0..count {
        let id = r.u64("node id")?;
        let address = r.str("node address")?.to_owned();
        let role = if format == 0 {
            None
        } else {
            Some(Role::from_code(r.u64("node role")?)?)
        };
        nodes.push(NodeInfo { id, address, role });
    }
    Ok(nodes)
}

fn read_files(r: &mut Reader<'_>, body: &Bytes) -> Result<Vec<File>, DecodeError> {
    let count = r.u64("file count")?;
    let count = usize::try_from(count)
        .ok()
        .filter(|&c| c.saturating_mul(16) <= r.remaining())
        .ok_or(DecodeError::ImpossibleCount {
            what: "file",
            count,
            available: r.remaining(),
        })?;
    let mut files = Vec::with_capacity(count);
    for _ in 0..count {
        let name = r.str("file name")?.to_owned();
        let size = r.u64("file size")?;
        let len = usize::try_from(size)
            .ok()
            .filter(|&l| l <= r.remaining())
            .ok_or(DecodeError::Truncated {
                what: "file content",
                needed: usize::try_from(size).unwrap_or(usize::MAX),
                available: r.remaining(),
            })?;
        let start = r.position();
        r.take(len, "file content")?;
        // Servers send whole pages; skip padding if an odd size ever carries some.
        let pad = pad8(len).min(r.remaining());
        r.take(pad, "file padding")?;
        files.push(File {
            name,
            data: body.slice(start..start + len),
        });
    }
    Ok(files)
}
