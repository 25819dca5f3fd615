//! A minimal, blocking client for the few dqlite requests the test kit needs: LEADER,
//! CLUSTER (format 1), ADD, ASSIGN, REMOVE and TRANSFER. Frames are encoded here by hand
//! (docs/protocol.md §1-§3) so the test kit does not depend on the project's codec crate.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;

use crate::error::{Error, Result};

/// The protocol version word sent right after connecting.
const PROTOCOL_VERSION: u64 = 1;
/// Largest response body the probe accepts (CLUSTER replies are tiny).
const MAX_BODY: usize = 1 << 20;

const REQ_LEADER: u8 = 0;
const REQ_ADD: u8 = 12;
const REQ_ASSIGN: u8 = 13;
const REQ_REMOVE: u8 = 14;
const REQ_CLUSTER: u8 = 16;
const REQ_TRANSFER: u8 = 17;

const RESP_FAILURE: u8 = 0;
const RESP_SERVER: u8 = 1;
const RESP_SERVERS: u8 = 3;
const RESP_EMPTY: u8 = 8;

/// A node's role in the Raft configuration, as reported by CLUSTER format 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Votes in elections and replicates the log (wire value 0).
    Voter,
    /// Replicates the log but does not vote (wire value 1).
    Standby,
    /// Neither votes nor replicates (wire value 2).
    Spare,
    /// A value this test kit does not know.
    Unknown(u64),
}

impl Role {
    /// The role's value on the wire.
    pub fn code(self) -> u64 {
        match self {
            Role::Voter => 0,
            Role::Standby => 1,
            Role::Spare => 2,
            Role::Unknown(code) => code,
        }
    }

    /// The role for a wire value.
    pub fn from_code(code: u64) -> Self {
        match code {
            0 => Role::Voter,
            1 => Role::Standby,
            2 => Role::Spare,
            other => Role::Unknown(other),
        }
    }
}

/// One entry of a CLUSTER reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Raft node id.
    pub id: u64,
    /// Database address of the node.
    pub address: String,
    /// Its role.
    pub role: Role,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// One open connection to a node, past the protocol handshake.
pub(crate) struct Probe {
    address: String,
    stream: Stream,
}

impl Probe {
    /// Connects to `address` ("host:port"), optionally over TLS, and sends the version word.
    /// `timeout` bounds the connect and every later read and write.
    pub(crate) fn connect(
        address: &str,
        tls: Option<&Arc<rustls::ClientConfig>>,
        timeout: Duration,
    ) -> Result<Self> {
        let io = |e| Error::io(format!("connect to {address}"), e);
        let addr = address
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| Error::Invalid(format!("address {address} resolves to nothing")))?;
        let tcp = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
        tcp.set_read_timeout(Some(timeout)).map_err(io)?;
        tcp.set_write_timeout(Some(timeout)).map_err(io)?;
        tcp.set_nodelay(true).map_err(io)?;
        let stream = match tls {
            None => Stream::Plain(tcp),
            Some(config) => {
                let name = ServerName::from(addr.ip());
                let conn = rustls::ClientConnection::new(Arc::clone(config), name)
                    .map_err(|e| Error::Tls(format!("{address}: {e}")))?;
                Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)))
            }
        };
        let mut probe = Probe {
            address: address.to_owned(),
            stream,
        };
        probe.write_all(&PROTOCOL_VERSION.to_le_bytes())?;
        Ok(probe)
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let address = &self.address;
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| Error::io(format!("write to {address}"), e))
    }

    fn protocol(&self, detail: impl Into<String>) -> Error {
        Error::Protocol {
            address: self.address.clone(),
            detail: detail.into(),
        }
    }

    /// Sends one request and reads one response; returns the response type and body.
    /// A FAILURE response is turned into [`Error::Failure`].
    fn request(&mut self, kind: u8, body: &[u8]) -> Result<(u8, Vec<u8>)> {
        let words = u32::try_from(body.len() / 8)
            .map_err(|_| Error::Invalid("request body too large".into()))?;
        let mut frame = Vec::with_capacity(8 + body.len());
        frame.extend_from_slice(&words.to_le_bytes());
        frame.extend_from_slice(&[kind, 0, 0, 0]);
        frame.extend_from_slice(body);
        self.write_all(&frame)?;

        let mut header = [0u8; 8];
        let address = self.address.clone();
        self.stream
            .read_exact(&mut header)
            .map_err(|e| Error::io(format!("read response header from {address}"), e))?;
        let [w0, w1, w2, w3, response_type, _schema, _, _] = header;
        let words = u32::from_le_bytes([w0, w1, w2, w3]);
        let len = usize::try_from(words)
            .ok()
            .and_then(|w| w.checked_mul(8))
            .filter(|len| *len <= MAX_BODY)
            .ok_or_else(|| self.protocol(format!("response body of {words} words is too big")))?;
        let mut body = vec![0u8; len];
        self.stream
            .read_exact(&mut body)
            .map_err(|e| Error::io(format!("read response body from {address}"), e))?;
        if response_type == RESP_FAILURE {
            let mut cursor = Cursor::new(&body);
            let code = cursor.u64().ok_or_else(|| self.protocol("short FAILURE"))?;
            let message = cursor.text().unwrap_or_default();
            return Err(Error::Failure {
                address,
                code,
                message,
            });
        }
        Ok((response_type, body))
    }

    fn expect_empty(&mut self, kind: u8, body: &[u8], what: &str) -> Result<()> {
        let (response_type, _) = self.request(kind, body)?;
        if response_type == RESP_EMPTY {
            Ok(())
        } else {
            Err(self.protocol(format!("{what}: expected EMPTY, got type {response_type}")))
        }
    }

    /// LEADER: who this node thinks the leader is. `None` when it knows no leader (id 0 or
    /// an empty address, as standbys, spares and nodes in an election answer).
    pub(crate) fn leader(&mut self) -> Result<Option<(u64, String)>> {
        let (response_type, body) = self.request(REQ_LEADER, &0u64.to_le_bytes())?;
        if response_type != RESP_SERVER {
            return Err(self.protocol(format!("LEADER: expected SERVER, got {response_type}")));
        }
        let mut cursor = Cursor::new(&body);
        let id = cursor.u64().ok_or_else(|| self.protocol("short SERVER"))?;
        let address = cursor
            .text()
            .ok_or_else(|| self.protocol("bad SERVER address"))?;
        Ok((id != 0 && !address.is_empty()).then_some((id, address)))
    }

    /// CLUSTER format 1: the configuration as this node knows it, with roles.
    pub(crate) fn cluster(&mut self) -> Result<Vec<Member>> {
        let (response_type, body) = self.request(REQ_CLUSTER, &1u64.to_le_bytes())?;
        if response_type != RESP_SERVERS {
            return Err(self.protocol(format!("CLUSTER: expected SERVERS, got {response_type}")));
        }
        let mut cursor = Cursor::new(&body);
        let n = cursor.u64().ok_or_else(|| self.protocol("short SERVERS"))?;
        let mut members = Vec::new();
        for _ in 0..n {
            let id = cursor.u64();
            let address = cursor.text();
            let role = cursor.u64();
            match (id, address, role) {
                (Some(id), Some(address), Some(role)) => members.push(Member {
                    id,
                    address,
                    role: Role::from_code(role),
                }),
                _ => return Err(self.protocol("truncated SERVERS entry")),
            }
        }
        Ok(members)
    }

    /// ADD: adds a node (as a spare) to the configuration. Leader only.
    pub(crate) fn add(&mut self, id: u64, address: &str) -> Result<()> {
        let mut body = id.to_le_bytes().to_vec();
        put_text(&mut body, address)?;
        self.expect_empty(REQ_ADD, &body, "ADD")
    }

    /// ASSIGN: gives a node a role; answers when the change is done. Leader only.
    pub(crate) fn assign(&mut self, id: u64, role: Role) -> Result<()> {
        let mut body = id.to_le_bytes().to_vec();
        body.extend_from_slice(&role.code().to_le_bytes());
        self.expect_empty(REQ_ASSIGN, &body, "ASSIGN")
    }

    /// REMOVE: removes a node from the configuration. Leader only.
    pub(crate) fn remove(&mut self, id: u64) -> Result<()> {
        self.expect_empty(REQ_REMOVE, &id.to_le_bytes(), "REMOVE")
    }

    /// TRANSFER: hands leadership to voter `id` (0: one the leader picks). Leader only.
    pub(crate) fn transfer(&mut self, id: u64) -> Result<()> {
        self.expect_empty(REQ_TRANSFER, &id.to_le_bytes(), "TRANSFER")
    }
}

/// Appends a dqlite text field: UTF-8, a NUL, zero padding to a word boundary.
fn put_text(out: &mut Vec<u8>, text: &str) -> Result<()> {
    if text.contains('\0') {
        return Err(Error::Invalid("text fields cannot contain NUL".into()));
    }
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    Ok(())
}

/// Reads word-aligned fields from a response body.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    fn u64(&mut self) -> Option<u64> {
        let bytes = self.buf.get(self.pos..self.pos.checked_add(8)?)?;
        self.pos += 8;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    fn text(&mut self) -> Option<String> {
        let rest = self.buf.get(self.pos..)?;
        let len = rest.iter().position(|b| *b == 0)?;
        let text = String::from_utf8_lossy(rest.get(..len)?).into_owned();
        self.pos = self.pos.checked_add((len / 8 + 1) * 8)?;
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_encoding_pads_to_words() {
        let mut out = Vec::new();
        put_text(&mut out, "").unwrap();
        assert_eq!(out, [0u8; 8]);
        out.clear();
        put_text(&mut out, "12345678").unwrap();
        assert_eq!(out.len(), 16);
        out.clear();
        put_text(&mut out, "127.0.0.1:9501").unwrap();
        assert_eq!(out, b"127.0.0.1:9501\0\0");
    }

    #[test]
    fn decodes_servers_body() {
        // V12 of docs/protocol.md §11, first entry only.
        let mut body = 1u64.to_le_bytes().to_vec();
        body.extend_from_slice(&0x2dc1_7185_8c31_55be_u64.to_le_bytes());
        body.extend_from_slice(b"127.0.0.1:9501\0\0");
        body.extend_from_slice(&0u64.to_le_bytes());
        let mut c = Cursor::new(&body);
        assert_eq!(c.u64(), Some(1));
        assert_eq!(c.u64(), Some(0x2dc1_7185_8c31_55be));
        assert_eq!(c.text().as_deref(), Some("127.0.0.1:9501"));
        assert_eq!(c.u64(), Some(0));
        assert_eq!(c.u64(), None);
    }
}
