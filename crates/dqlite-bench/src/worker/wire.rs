//! The floor: a minimal client that sends pre-encoded frames and only finds the end of
//! each response (the header's length, and the DONE marker of ROWS), decoding nothing.

use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;

use bytes::BytesMut;
use dqlite_wire::{DONE_MARKER, Request, Value, response_type};

/// Encodes one request frame.
pub fn frame(request: &Request<'_>) -> Vec<u8> {
    let mut out = BytesMut::new();
    // The benchmark's own requests are valid by construction.
    if request.encode(&mut out).is_err() {
        return Vec::new();
    }
    out.to_vec()
}

/// EXEC_SQL or QUERY_SQL frames for `sql` with `params`.
pub fn exec_sql(sql: &str, params: Vec<Value>) -> Vec<u8> {
    frame(&Request::ExecSql {
        db_id: 0,
        sql,
        params: params.into(),
        schema: 0,
    })
}

/// A QUERY_SQL frame.
pub fn query_sql(sql: &str, params: Vec<Value>) -> Vec<u8> {
    frame(&Request::QuerySql {
        db_id: 0,
        sql,
        params: params.into(),
        schema: 0,
    })
}

/// The OPEN frame for `db` (volatile VFS, as every client uses).
pub fn open_frame(db: &str) -> Vec<u8> {
    frame(&Request::Open {
        name: db,
        flags: 0,
        vfs: "volatile",
    })
}

/// A blocking raw connection.
pub struct Raw {
    stream: TcpStream,
    /// Reads go through a large buffer: a ROWS stream costs a few big reads, not two
    /// system calls per frame.
    reader: BufReader<TcpStream>,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects to `address` (the leader) and opens `db`.
    pub fn connect(address: &str, db: &str) -> io::Result<Raw> {
        let mut raw = Raw::handshake(address)?;
        raw.round_trip(&open_frame(db))?;
        Ok(raw)
    }

    /// Connects to `address` and sends the protocol version, nothing else.
    pub fn handshake(address: &str) -> io::Result<Raw> {
        let mut stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        stream.write_all(&dqlite_wire::PROTOCOL_VERSION.to_le_bytes())?;
        let reader = BufReader::with_capacity(1 << 18, stream.try_clone()?);
        Ok(Raw {
            stream,
            reader,
            buf: vec![0; 1 << 16],
        })
    }

    /// Asks the node for the leader's address (LEADER, then the SERVER answer's text).
    pub fn leader(&mut self) -> io::Result<String> {
        let kind = self.round_trip(&frame(&Request::Leader))?;
        let address = self
            .buf
            .get(8..)
            .and_then(|text| text.split(|&b| b == 0).next())
            .filter(|_| kind == response_type::SERVER)
            .ok_or_else(|| io::Error::other("expected SERVER"))?;
        String::from_utf8(address.to_vec()).map_err(io::Error::other)
    }

    /// Sends pre-encoded frames.
    pub fn send(&mut self, frames: &[u8]) -> io::Result<()> {
        self.stream.write_all(frames)
    }

    /// Reads one whole response: a single frame, or ROWS frames up to DONE. Returns the
    /// response type; FAILURE is an error.
    pub fn read_response(&mut self) -> io::Result<u8> {
        loop {
            let mut header = [0u8; 8];
            self.reader.read_exact(&mut header)?;
            let [w0, w1, w2, w3, kind, ..] = header;
            let len = usize::try_from(u32::from_le_bytes([w0, w1, w2, w3]))
                .map_err(io::Error::other)?
                * 8;
            if self.buf.len() < len {
                self.buf.resize(len, 0);
            }
            let body = self
                .buf
                .get_mut(..len)
                .ok_or_else(|| io::Error::other("frame"))?;
            self.reader.read_exact(body)?;
            if kind == response_type::FAILURE {
                // FAILURE: a u64 code, then the message text.
                let code = body.get(..8).map_or(0, |c| {
                    c.iter().rev().fold(0u64, |acc, &b| acc << 8 | u64::from(b))
                });
                let message = body.get(8..).and_then(|t| t.split(|&b| b == 0).next());
                return Err(io::Error::other(format!(
                    "the server answered FAILURE {code}: {}",
                    String::from_utf8_lossy(message.unwrap_or_default())
                )));
            }
            if kind != response_type::ROWS || body.ends_with(&DONE_MARKER) {
                return Ok(kind);
            }
        }
    }

    /// Reads a STMT response (untimed set-up) and returns the statement id.
    pub fn read_stmt_id(&mut self) -> io::Result<u32> {
        let kind = self.read_response()?;
        match (kind, self.buf.get(4..8)) {
            (response_type::STMT, Some(&[a, b, c, d])) => Ok(u32::from_le_bytes([a, b, c, d])),
            _ => Err(io::Error::other("expected STMT")),
        }
    }

    /// One request and its whole response.
    pub fn round_trip(&mut self, request: &[u8]) -> io::Result<u8> {
        self.send(request)?;
        self.read_response()
    }
}
