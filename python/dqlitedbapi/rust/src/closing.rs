//! Closing a connection while a call runs on it (from another thread, or another task):
//! the one core that the PEP 249 connection ([`crate::connection`]) and the `dqliteclient`
//! session ([`crate::dqliteclient::session`]) share.
//!
//! `close()` marks the close requested and ends the running call's I/O
//! ([`CloseRequest::request`], through the connection's [`Interrupt`]), then waits a
//! bounded time for the call to end ([`close_within`]). The call, as it ends, sees the
//! request, closes the connection (never to be reused, never given back to a pool) and
//! words its error ([`reword`]): a write in doubt stays in doubt, anything else without
//! the server's answer says the connection was closed under it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dqlite_client::AbortHandle;
use tokio::sync::{Mutex as TokioMutex, Notify};

use crate::asyncio::Reactor;

/// How the I/O of a call running on a connection is ended from outside.
pub enum Interrupt<'a> {
    /// A socket shut down through its handle: a blocking socket, or the TCP socket under a
    /// TLS stream, wherever that is polled (none: nothing to end, the call runs on).
    Socket(Option<&'a AbortHandle>),
    /// A socket on an asyncio event loop, whose reactor fails its reads and writes.
    Reactor(&'a Reactor),
    /// A tokio stream, polled wherever the call runs: the call's future is dropped where
    /// it is polled (see [`CloseRequest::watch`]).
    Future,
}

/// A close asked for while a call may be running: shared by `close()` and the calls.
#[derive(Debug, Default)]
pub struct CloseRequest {
    requested: AtomicBool,
    /// Wakes the calls [`watch`](Self::watch)ing the request.
    requested_now: Notify,
}

impl CloseRequest {
    /// True once `close()` asked for the connection to close.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Asks the connection to close, and ends the I/O of the call running on it (which
    /// then closes the connection as it ends). Idempotent.
    pub fn request(&self, interrupt: Interrupt<'_>) {
        self.requested.store(true, Ordering::Release);
        match interrupt {
            Interrupt::Socket(Some(handle)) => handle.abort(),
            Interrupt::Socket(None) | Interrupt::Future => {}
            Interrupt::Reactor(reactor) => reactor.abort("the connection was closed"),
        }
        self.requested_now.notify_waiters();
    }

    /// Runs `call` to its end, or until a close is requested: `None` then, the call's
    /// future dropped (a connection cut off in the middle of a request is broken by the
    /// client, and closed by its caller).
    pub async fn watch<F: Future>(&self, call: F) -> Option<F::Output> {
        let mut requested = std::pin::pin!(self.requested_now.notified());
        // Registered before the flag is read: a request made in between still wakes it.
        requested.as_mut().enable();
        if self.is_requested() {
            return None;
        }
        let mut call = std::pin::pin!(call);
        std::future::poll_fn(|cx| {
            if let std::task::Poll::Ready(out) = call.as_mut().poll(cx) {
                return std::task::Poll::Ready(Some(out));
            }
            requested.as_mut().poll(cx).map(|()| None)
        })
        .await
    }
}

/// Waits at most `wait` for the call holding `lock` to end, then closes what it guards
/// with `close` (if the call ends later, it closes it itself: see [`CloseRequest`]).
pub fn close_within<T>(lock: &TokioMutex<T>, wait: Duration, close: impl FnOnce(&mut T)) {
    let deadline = std::time::Instant::now() + wait;
    loop {
        if let Ok(mut guarded) = lock.try_lock() {
            close(&mut guarded);
            return;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(CLOSE_POLL));
    }
}

/// How often [`close_within`] looks whether the call it interrupted has ended.
const CLOSE_POLL: Duration = Duration::from_millis(2);

/// Rewords the message of an error of a call that a close cut off: a write in doubt
/// (`in_doubt`) says so; any other failure without the server's answer (`answered`: it
/// has a code) says the connection was closed under the call, as the pure-Python clients
/// fail the operations in flight on close. True in that last case, where the error
/// becomes the "closed under a call" one (its class or kind). The connection is lost in
/// every case.
pub fn reword(message: &mut String, in_doubt: bool, answered: bool) -> bool {
    if in_doubt {
        *message = format!(
            "the connection was closed while a write was in flight, its outcome is unknown: \
             {message}"
        );
        false
    } else if answered {
        false
    } else {
        *message = format!("Connection closed while an operation was in flight: {message}");
        true
    }
}
