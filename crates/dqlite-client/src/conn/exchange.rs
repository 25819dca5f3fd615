//! The request/response exchange: framing, deadlines, the connection's state around each
//! network operation, and how failures are reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use dqlite_wire::{FrameDecoder, Header, Request, Response};

use super::deadline::{Deadline, within};
use super::{CUT_OFF, Connection, State};
use crate::error::{Error, ErrorKind, Result, ServerError};

/// `SQLITE_BUSY` exactly ("database is locked", "checkpoint in progress"); its extended
/// codes (`SQLITE_BUSY_SNAPSHOT`...) are not retried.
const SQLITE_BUSY: u64 = 5;

/// Pauses between retries of a busy statement, in milliseconds (SQLite's own schedule).
const BUSY_PAUSES: [u64; 12] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

/// The least room made in the receive buffer before each read, and its size when new.
pub(super) const READ_CHUNK: usize = 16 * 1024;
/// The send buffer's size when new.
pub(super) const WRITE_CHUNK: usize = 4 * 1024;

/// What the connection's state is while I/O runs (see [`Connection::guarded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InFlight {
    /// A request and its answer: cut off mid-way, the connection is broken (the answer
    /// would desynchronise the stream). Shown by [`RequestInFlight`].
    Request,
    /// The next answer of a pipelined batch with more requests in flight behind it: cut
    /// off, broken as well; not shown by [`RequestInFlight`], since waiting for this one
    /// answer would not bring the connection back in step.
    Pipelined,
    /// A frame of a result being read: cancel-safe, the rest is drained later.
    ResultFrame,
}

/// Whether a call on a [`Connection`] is in the middle of a request: sent, or being sent,
/// and its answer not read yet. Readable without the connection, while a call holds it
/// (from [`Connection::request_in_flight`]).
///
/// A call dropped while this is true (a caller's Ctrl-C, a timeout around it) leaves the
/// connection broken: the answer would arrive for nobody. A caller about to drop a call can
/// instead keep polling it a little, until this turns false: the call is then between
/// requests (or done), and dropping it leaves the connection in step with the node.
///
/// Not counted: reading the frames of a result (cancel-safe: the rest is drained before the
/// next request), and the answers of a pipelined batch
/// ([`execute_many`](Connection::execute_many)) while several are due. After a call was
/// dropped mid-request it stays true (the connection is then broken).
///
/// Exact when read on the thread that polls the connection's calls, between two polls;
/// elsewhere a hint.
#[derive(Debug, Clone, Default)]
pub struct RequestInFlight(Arc<AtomicBool>);

impl RequestInFlight {
    /// True while a request is in flight (see the type's documentation).
    #[inline]
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    // Inlined into the callers' instances of `guarded` in other crates: a call there, on
    // every request, would cost far more than the store.
    #[inline]
    fn set(&self, in_flight: bool) {
        self.0.store(in_flight, Ordering::Relaxed);
    }
}

impl Connection {
    /// A deadline one request timeout from now.
    pub(crate) fn deadline(&self) -> Deadline {
        Deadline::after(self.request_timeout)
    }

    /// Runs `op`, network I/O on this connection, by `deadline`: the one place where the
    /// connection is marked while I/O is in flight, the I/O bounded, and the state settled
    /// after it.
    ///
    /// While `op` runs the state says what is `in_flight` (see [`InFlight`]), and so does
    /// [`RequestInFlight`] for a request. On success
    /// the state is `Ready`; on a failure or at the deadline the connection breaks (noting
    /// a node that stopped answering), and the error names `what`.
    pub(super) async fn guarded<T>(
        &mut self,
        what: &str,
        deadline: Deadline,
        in_flight: InFlight,
        op: impl AsyncFnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        self.state = match in_flight {
            InFlight::Request => {
                self.request_in_flight.set(true);
                State::Broken(CUT_OFF.into())
            }
            InFlight::Pipelined => State::Broken(CUT_OFF.into()),
            InFlight::ResultFrame => State::InQuery,
        };
        // Taken out while `op` holds the connection; a call dropped here drops it (the
        // next wait arms a new one).
        let mut timer = self.timer.take();
        let outcome = within(deadline, &mut timer, op(self)).await;
        self.timer = timer;
        // A relaxed store (a plain move), cheaper than a branch on `in_flight`.
        self.request_in_flight.set(false);
        match outcome {
            Ok(Ok(value)) => {
                self.state = State::Ready;
                Ok(value)
            }
            Ok(Err(e)) => {
                tracing::debug!(node = %self.address, error = %e, "{what} failed: connection closed");
                self.break_for(&e);
                Err(e)
            }
            Err(_) => {
                let e = Error::Timeout {
                    operation: format!("{what} on {}", self.address),
                    after: self.request_timeout,
                };
                tracing::warn!(node = %self.address, timeout = ?self.request_timeout, "{what} timed out: connection closed");
                self.break_for(&e);
                Err(e)
            }
        }
    }

    /// Sends a request whose response is a single frame and decodes it, as a call of its
    /// own (one request timeout for the recovery before it and the request). A FAILURE
    /// becomes [`Error::Server`].
    pub(crate) async fn request(&mut self, request: &Request<'_>, what: &str) -> Result<Response> {
        let deadline = self.deadline();
        self.request_by(request, what, deadline).await
    }

    /// [`request`](Self::request) as a step of a call that ends by `deadline`.
    pub(super) async fn request_by(
        &mut self,
        request: &Request<'_>,
        what: &str,
        deadline: Deadline,
    ) -> Result<Response> {
        self.recover_by(deadline).await?;
        self.exchange(request, what, deadline).await
    }

    /// [`request_by`](Self::request_by) without the recovery first: the connection must
    /// be in sync.
    pub(super) async fn exchange(
        &mut self,
        request: &Request<'_>,
        what: &str,
        deadline: Deadline,
    ) -> Result<Response> {
        self.exchange_with_cap(request, what, self.max_frame_len, deadline)
            .await
    }

    /// [`exchange`](Self::exchange) accepting a response frame of up to `max_frame_len`
    /// bytes (a DUMP reply carries a whole database).
    pub(crate) async fn exchange_with_cap(
        &mut self,
        request: &Request<'_>,
        what: &str,
        max_frame_len: usize,
        deadline: Deadline,
    ) -> Result<Response> {
        self.request_written = false;
        self.write_buf.clear();
        encode(request, &mut self.write_buf)?;
        let (header, body) = self
            .guarded(what, deadline, InFlight::Request, async |conn| {
                conn.write_out().await?;
                conn.request_written = true;
                conn.read_frame(max_frame_len).await
            })
            .await?;
        self.decode(&header, body)
    }

    /// Like [`request`](Self::request), for requests that may change data: a failure once
    /// the request may have reached the server becomes [`Error::OutcomeUnknown`].
    ///
    /// "database is locked" answers are retried until the busy timeout (or the call's
    /// deadline, whichever comes first): the server checks the write lock before running
    /// anything, so nothing ran.
    pub(super) async fn request_write(
        &mut self,
        request: &Request<'_>,
        deadline: Deadline,
    ) -> Result<Response> {
        // What goes before the write (a drain, a pending ROLLBACK) fails as itself.
        self.recover_by(deadline).await?;
        let started = tokio::time::Instant::now();
        let mut attempt = 0usize;
        let outcome = loop {
            match self.exchange(request, "execute", deadline).await {
                Err(Error::Server(e)) if e.code == SQLITE_BUSY => {
                    let pause = BUSY_PAUSES
                        .get(attempt)
                        .or(BUSY_PAUSES.last())
                        .copied()
                        .map_or(Duration::ZERO, Duration::from_millis);
                    if started.elapsed() + pause > self.busy_timeout
                        || pause >= deadline.remaining()
                    {
                        break Err(Error::Server(e));
                    }
                    attempt += 1;
                    // Boxed: a timer in every write's future would enlarge it for a rare
                    // path.
                    Box::pin(tokio::time::sleep(pause)).await;
                }
                other => break other,
            }
        };
        outcome.map_err(|e| self.write_failed(e, self.request_written))
    }

    /// Like [`request`](Self::request), for a request that changes the cluster rather than
    /// data (membership, leadership, weight): a failure once the request may have reached
    /// the server becomes [`Error::OutcomeUnknown`], as for a write. Not retried.
    pub(crate) async fn request_change(
        &mut self,
        request: &Request<'_>,
        what: &str,
    ) -> Result<Response> {
        let deadline = self.deadline();
        // What goes before the change (a drain, a pending ROLLBACK) fails as itself.
        self.recover_by(deadline).await?;
        let outcome = self.exchange(request, what, deadline).await;
        outcome.map_err(|e| self.write_failed(e, self.request_written))
    }

    /// The error a write reports (see [`Error::for_write`]). An answer that leaves the
    /// write in doubt also breaks the connection: what the node did with it, and with the
    /// transaction around it, is unknown.
    pub(crate) fn write_failed(&mut self, error: Error, sent: bool) -> Error {
        let error = error.for_write(sent);
        if error.kind() == ErrorKind::OutcomeUnknown && !self.is_broken() {
            tracing::warn!(node = %self.address, %error, "a write's outcome is unknown: connection closed");
            self.state = State::Broken(format!("{error}").into());
        }
        error
    }

    /// Sends a QUERY or QUERY_SQL; the response frames are read by [`Rows`](crate::Rows).
    pub(super) async fn start_query(
        &mut self,
        request: &Request<'_>,
        deadline: Deadline,
    ) -> Result<()> {
        self.recover_by(deadline).await?;
        self.write_buf.clear();
        encode(request, &mut self.write_buf)?;
        self.guarded("query", deadline, InFlight::Request, async |conn| {
            conn.write_out().await
        })
        .await?;
        self.state = State::InQuery;
        self.results += 1;
        Ok(())
    }

    /// Reads the next frame of a result stream (state [`State::InQuery`]) by `deadline`.
    /// The read is cancel-safe: a partial frame stays in the buffer.
    pub(crate) async fn next_query_frame(&mut self, deadline: Deadline) -> Result<Response> {
        if self.state != State::InQuery {
            return Err(Error::Closed {
                reason: match &self.state {
                    State::Broken(r) => r.to_string(),
                    _ => "the result stream is no longer active".into(),
                },
            });
        }
        let cap = self.max_frame_len;
        let (header, body) = self
            .guarded(
                "reading a result",
                deadline,
                InFlight::ResultFrame,
                async |conn| conn.read_frame(cap).await,
            )
            .await?;
        // Still in the result until its DONE frame (or a FAILURE) is seen.
        self.state = State::InQuery;
        match self.decode(&header, body) {
            Ok(Response::Rows(frame)) => Ok(Response::Rows(frame)),
            Ok(other) => Err(self.unexpected("ROWS", &other)),
            Err(e) => {
                if self.state == State::InQuery {
                    // A FAILURE ends the stream; the connection is in sync again.
                    self.state = State::Ready;
                }
                Err(e)
            }
        }
    }

    /// Marks the end of a result stream (DONE seen).
    pub(crate) fn end_query(&mut self) {
        if self.state == State::InQuery {
            self.state = State::Ready;
        }
    }

    /// Marks a result stream as abandoned before its end.
    pub(crate) fn abandon_query(&mut self) {
        if self.state == State::InQuery {
            self.state = State::NeedsDrain;
        }
    }

    /// Breaks the connection for a protocol violation seen by the row decoder.
    pub(crate) fn protocol_violation(&mut self, detail: String) -> Error {
        self.state = State::Broken(format!("protocol error: {detail}").into());
        Error::Protocol {
            address: self.address.to_string(),
            detail,
        }
    }

    /// Decodes a frame; FAILURE becomes an error, and leadership errors break the
    /// connection (the node closed our database and statements).
    pub(super) fn decode(&mut self, header: &Header, body: Bytes) -> Result<Response> {
        let response = Response::decode(header, body).map_err(|e| {
            let detail = e.to_string();
            self.protocol_violation(detail)
        })?;
        if let Response::Failure { code, message } = response {
            let error = ServerError {
                code,
                message: message.to_string(),
            };
            if error.is_not_leader() || error.is_leadership_lost() {
                tracing::info!(node = %self.address, %error, "leadership changed: connection closed");
                self.leadership_changed = true;
                self.statements.clear();
                self.state = State::Broken(format!("leadership changed: {error}").into());
            }
            return Err(Error::Server(error));
        }
        Ok(response)
    }

    pub(super) fn unexpected(&mut self, expected: &str, got: &Response) -> Error {
        self.protocol_violation(format!("expected {expected}, got {}", got.name()))
    }

    /// Writes the request in `write_buf` and flushes it: a stream that buffers (TLS keeps
    /// the tail of a large write in its own buffer) must not hold back part of a request
    /// while its answer is awaited.
    pub(super) async fn write_out(&mut self) -> Result<()> {
        let written = async {
            self.stream.write_all(&self.write_buf).await?;
            self.stream.flush().await
        };
        let outcome = written.await;
        if self.write_trim.after_frame(self.write_buf.len()) {
            self.write_buf = BytesMut::with_capacity(WRITE_CHUNK);
        }
        self.write_buf.clear();
        outcome.map_err(|source| Error::Io {
            address: self.address.to_string(),
            source,
        })
    }

    /// Whether `read_buf` already holds a whole frame, so that the next
    /// [`read_frame`](Self::read_frame) needs no read from the socket. A header over the cap
    /// counts as not buffered: `read_frame` reports it.
    pub(super) fn frame_buffered(&self) -> bool {
        FrameDecoder::new(self.max_frame_len)
            .needed(&self.read_buf)
            .is_ok_and(|needed| needed <= self.read_buf.len())
    }

    /// Reads one whole frame of at most `max_frame_len` bytes. Cancel-safe: bytes read so
    /// far stay in `read_buf`.
    ///
    /// The buffer grows with the bytes that arrive, at most doubling what it holds, never
    /// to the length a header declares: a hostile header can declare up to the cap and
    /// then send nothing. When the buffer grew for large frames and small ones followed
    /// (see [`trim`](super::trim)), the bytes after the frame move to a new buffer of the
    /// usual size (the frame's body keeps the big one alive only until it is dropped).
    pub(super) async fn read_frame(&mut self, max_frame_len: usize) -> Result<(Header, Bytes)> {
        let decoder = FrameDecoder::new(max_frame_len);
        loop {
            match decoder.decode(&mut self.read_buf) {
                Ok(Some(frame)) => {
                    if self.read_trim.after_frame(frame.1.len()) {
                        let rest = std::mem::replace(
                            &mut self.read_buf,
                            BytesMut::with_capacity(READ_CHUNK),
                        );
                        self.read_buf.extend_from_slice(&rest);
                    }
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(e) => return Err(self.protocol_violation(e.to_string())),
            }
            let needed = decoder
                .needed(&self.read_buf)
                .map_err(|e| self.protocol_violation(e.to_string()))?;
            let missing = needed.saturating_sub(self.read_buf.len());
            self.read_buf
                .reserve(missing.clamp(READ_CHUNK, self.read_buf.len().max(READ_CHUNK)));
            self.stream.expect(missing);
            let n = self
                .stream
                .read_buf(&mut self.read_buf)
                .await
                .map_err(|source| Error::Io {
                    address: self.address.to_string(),
                    source,
                })?;
            if n == 0 {
                return Err(Error::Io {
                    address: self.address.to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the node closed the connection",
                    ),
                });
            }
        }
    }
}

pub(super) fn encode(request: &Request<'_>, out: &mut BytesMut) -> Result<()> {
    request
        .encode(out)
        .map_err(|e| Error::InvalidInput(e.to_string()))
}
