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

/// A read tried right after a write (the answer may be there already: the thread first
/// yields its CPU if the loop has nothing else ready, so that a server on the same CPU runs
/// in between) is worth its system calls only if it often finds the answer: when it did not for this many such reads in a
/// row, they are skipped (the loop reports the answer when it comes, at once if it is
/// already there), until one in [`PROBE_EVERY`] finds it again.
const MISSES_TO_SKIP: u8 = 16;

/// While reads after writes are skipped, one in this many is tried anyway.
const PROBE_EVERY: u8 = 16;

/// Whether to try reading right after a write: the record of such reads.
#[derive(Debug, Default)]
struct ReadAhead {
    /// Misses in a row, up to [`MISSES_TO_SKIP`].
    misses: u8,
    /// Reads skipped since the last one tried.
    skipped: u8,
}

impl ReadAhead {
    /// True if the read after this write is to be tried.
    fn worth_trying(&mut self) -> bool {
        if self.misses < MISSES_TO_SKIP || self.skipped + 1 >= PROBE_EVERY {
            self.skipped = 0;
            true
        } else {
            self.skipped += 1;
            false
        }
    }

    /// The read tried found data (`hit`) or none.
    fn record(&mut self, hit: bool) {
        self.misses = if hit {
            0
        } else {
            self.misses.saturating_add(1).min(MISSES_TO_SKIP)
        };
    }
}

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
    /// Bytes were written since the last read.
    wrote: bool,
    read_ahead: ReadAhead,
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
        // Asked before the lock is taken (Python is called).
        let idle = reactor.loop_idle();
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
        let after_write = std::mem::take(&mut state.wrote);
        if after_write && !state.read_ahead.worth_trying() {
            return park_reader(reactor, io, cx);
        }
        if after_write && idle {
            // With nothing else to do here, a server on this CPU (a node on the same
            // machine, often scheduled beside its client) answers now, not only once this
            // thread waits in the loop: the read then finds the answer, which costs far
            // less than the loop's round. (With callbacks ready, the CPU is better spent on
            // them meanwhile.)
            std::thread::yield_now();
        }
        if state.scratch.len() < want {
            state.scratch.resize(want, 0);
        }
        let scratch = state.scratch.get_mut(..want).unwrap_or_default();
        loop {
            match (&*socket).read(scratch) {
                Ok(n) => {
                    buf.put_slice(scratch.get(..n).unwrap_or_default());
                    state.read_this_turn += n;
                    if after_write {
                        state.read_ahead.record(true);
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if after_write {
                        state.read_ahead.record(false);
                    }
                    return park_reader(reactor, io, cx);
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// Parks the task's waker until the socket is readable (registering with the loop if not
/// yet done).
fn park_reader(
    reactor: &Reactor,
    mut io: std::sync::MutexGuard<'_, IoState>,
    cx: &Context<'_>,
) -> Poll<io::Result<()>> {
    match &mut io.read_waker {
        Some(w) if w.will_wake(cx.waker()) => {}
        slot => *slot = Some(cx.waker().clone()),
    }
    let registered = io.reading;
    drop(io);
    if !registered {
        Python::attach(|py| reactor.register(py, false));
    }
    Poll::Pending
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
                Ok(n) => {
                    state.wrote = true;
                    return Poll::Ready(Ok(n));
                }
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

#[cfg(test)]
mod tests {
    use super::{MISSES_TO_SKIP, PROBE_EVERY, ReadAhead};

    /// How many of `n` reads after writes are tried, each missing.
    fn tried_of(read_ahead: &mut ReadAhead, n: usize) -> usize {
        (0..n)
            .filter(|_| {
                let tried = read_ahead.worth_trying();
                if tried {
                    read_ahead.record(false);
                }
                tried
            })
            .count()
    }

    #[test]
    fn reads_after_writes_are_tried_until_they_keep_missing() {
        let mut read_ahead = ReadAhead::default();
        assert_eq!(
            tried_of(&mut read_ahead, usize::from(MISSES_TO_SKIP)),
            usize::from(MISSES_TO_SKIP)
        );
        // Then one in PROBE_EVERY.
        let n = usize::from(PROBE_EVERY) * 10;
        assert_eq!(tried_of(&mut read_ahead, n), 10);
    }

    #[test]
    fn a_probe_that_finds_data_makes_reads_tried_again() {
        let mut read_ahead = ReadAhead::default();
        tried_of(&mut read_ahead, usize::from(MISSES_TO_SKIP));
        let mut skipped = 0;
        while !read_ahead.worth_trying() {
            skipped += 1;
        }
        assert_eq!(skipped, usize::from(PROBE_EVERY) - 1);
        read_ahead.record(true);
        assert!((0..usize::from(MISSES_TO_SKIP)).all(|_| {
            let tried = read_ahead.worth_trying();
            read_ahead.record(false);
            tried
        }));
    }
}
