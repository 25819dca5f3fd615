//! The socket of an asyncio connection, read and written from the event loop's thread.
//!
//! Reads and writes are non-blocking system calls; a call that would block parks the
//! task's waker here and registers interest with the loop (`add_reader`/`add_writer`,
//! through the reactor), whose callback wakes the task.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use pyo3::prelude::*;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Reactor, lock};

/// Reads at most this much per system call.
const SCRATCH: usize = 256 * 1024;

/// Bytes read per turn of the event loop. A result arriving faster than it is decoded never
/// makes a read wait; past this budget the read yields to the loop anyway (through
/// `call_soon`), so timers, cancellation and other tasks run during a long fetch.
const READ_BUDGET: usize = 256 * 1024;

/// The socket and its registrations with the loop.
#[derive(Default)]
pub struct IoState {
    pub socket: Option<socket2::Socket>,
    pub read_waker: Option<Waker>,
    pub write_waker: Option<Waker>,
    /// `add_reader` / `add_writer` are in force for the socket.
    pub reading: bool,
    pub writing: bool,
    /// Why reads and writes fail from now on.
    pub closed: Option<String>,
    /// Scratch buffer for reads (filled by the kernel, copied into the caller's).
    scratch: Vec<u8>,
    /// The executor's turn `read_this_turn` counts for (see [`READ_BUDGET`]).
    turn: u64,
    read_this_turn: usize,
}

impl IoState {
    /// Closes the socket and forgets its registrations (for a loop that forgot them too).
    pub fn close(&mut self, reason: &str) -> Option<socket2::Socket> {
        self.closed.get_or_insert_with(|| reason.to_owned());
        self.reading = false;
        self.writing = false;
        self.socket.take()
    }

    /// The wakers of the tasks waiting on the socket.
    pub fn take_wakers(&mut self) -> [Option<Waker>; 2] {
        [self.read_waker.take(), self.write_waker.take()]
    }

    fn error(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotConnected,
            self.closed
                .clone()
                .unwrap_or_else(|| "the connection is closed".to_owned()),
        )
    }
}

/// The connection's socket, read and written from the loop's thread.
pub struct AsyncioStream {
    reactor: Arc<Reactor>,
}

impl std::fmt::Debug for AsyncioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsyncioStream")
    }
}

impl AsyncioStream {
    /// Takes over `fd` (a connected, non-blocking socket).
    pub fn new(reactor: Arc<Reactor>, fd: OwnedFd) -> io::Result<AsyncioStream> {
        let socket = socket2::Socket::from(fd);
        socket.set_nonblocking(true)?;
        {
            let mut io = lock(&reactor.io);
            io.socket = Some(socket);
            io.closed = None;
        }
        Ok(AsyncioStream { reactor })
    }
}

impl AsyncRead for AsyncioStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let reactor = &self.reactor;
        let mut io = lock(&reactor.io);
        if io.closed.is_some() {
            return Poll::Ready(Err(io.error()));
        }
        let want = buf.remaining().min(SCRATCH);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        let turn = reactor.executor.turn();
        if io.turn != turn {
            io.turn = turn;
            io.read_this_turn = 0;
        }
        if io.read_this_turn >= READ_BUDGET {
            drop(io);
            reactor.executor.request_yield();
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let state = &mut *io;
        let Some(socket) = state.socket.as_ref() else {
            return Poll::Ready(Err(state.error()));
        };
        if state.scratch.len() < want {
            state.scratch.resize(want, 0);
        }
        let scratch = state.scratch.get_mut(..want).unwrap_or_default();
        loop {
            match (&*socket).read(scratch) {
                Ok(n) => {
                    buf.put_slice(scratch.get(..n).unwrap_or_default());
                    state.read_this_turn += n;
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    state.read_waker = Some(cx.waker().clone());
                    let registered = state.reading;
                    drop(io);
                    if !registered {
                        Python::attach(|py| reactor.register(py, false));
                    }
                    return Poll::Pending;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for AsyncioStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let reactor = &self.reactor;
        let mut io = lock(&reactor.io);
        if io.closed.is_some() {
            return Poll::Ready(Err(io.error()));
        }
        let state = &mut *io;
        let Some(socket) = state.socket.as_ref() else {
            return Poll::Ready(Err(state.error()));
        };
        loop {
            match (&*socket).write(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    state.write_waker = Some(cx.waker().clone());
                    drop(io);
                    Python::attach(|py| reactor.register(py, true));
                    return Poll::Pending;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for AsyncioStream {
    fn drop(&mut self) {
        self.reactor.release_anywhere();
    }
}
