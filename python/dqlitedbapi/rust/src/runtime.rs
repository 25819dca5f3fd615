//! The blocking driver: each blocking connection has its own current-thread tokio
//! runtime, run on the calling thread with the GIL released. Ctrl-C is checked while a
//! call waits; long loops inside a call give control back now and then so that it can be.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::errors::DbError;
use crate::fork::Process;

/// A failure inside a blocking call: a database error, or a Python exception (Ctrl-C).
pub enum Failure {
    Db(DbError),
    Py(PyErr),
}

impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        Failure::Db(e)
    }
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> PyErr {
        match f {
            Failure::Db(e) => e.into_pyerr(),
            Failure::Py(e) => e,
        }
    }
}

/// How often a blocking call checks for signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// A current-thread runtime for one blocking connection. Dropped on another thread when
/// the last reference goes away inside an async context (tokio refuses that there); leaked
/// in a forked child (see [`crate::fork`]).
pub struct BlockingRuntime {
    rt: Option<Runtime>,
    process: Process,
}

impl BlockingRuntime {
    pub fn new() -> Result<Self, DbError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| BlockingRuntime {
                rt: Some(rt),
                process: Process::current(),
            })
            .map_err(|e| DbError::operational(format!("cannot start the I/O runtime: {e}")))
    }

    /// Runs `future` to completion, checking for signals (Ctrl-C) every 100 ms; a signal
    /// whose handler raises stops the wait and the exception is returned. The connection
    /// then either is still in sync (a result read is cancel-safe) or was marked broken
    /// by the client, and is closed on next use.
    ///
    /// The future is taken pinned where the caller built it: a statement's future is
    /// large, and moving it in here would copy it on every call.
    pub fn run<T, F>(&self, mut future: Pin<&mut F>) -> Result<T, Failure>
    where
        F: Future<Output = Result<T, DbError>>,
    {
        let Some(rt) = &self.rt else {
            return Err(DbError::interface("the connection's runtime is gone").into());
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(DbError::interface(
                "a blocking dqlitedbapi connection was used inside a tokio runtime",
            )
            .into());
        }
        // Polled once directly in the runtime's context first: with blocking socket calls
        // a request usually completes there, without the cost of block_on.
        {
            let _context = rt.enter();
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out.map_err(Failure::Db);
            }
        }
        // Signals are checked on a clock, not on a timer restarted at each wake-up: a call
        // that keeps receiving data (a long fetch) is woken far more often than a timer of
        // that length would ever fire.
        let mut next_check = tokio::time::Instant::now() + SIGNAL_CHECK;
        rt.block_on(async {
            let mut tick = std::pin::pin!(tokio::time::sleep_until(next_check));
            std::future::poll_fn(|cx| {
                if let std::task::Poll::Ready(out) = future.as_mut().poll(cx) {
                    return std::task::Poll::Ready(out.map_err(Failure::Db));
                }
                let now = tokio::time::Instant::now();
                if now >= next_check || tick.as_mut().poll(cx).is_ready() {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        return std::task::Poll::Ready(Err(Failure::Py(e)));
                    }
                    next_check = now + SIGNAL_CHECK;
                    tick.as_mut().reset(next_check);
                    // Registers the wake-up for the new deadline.
                    let _ = tick.as_mut().poll(cx);
                }
                std::task::Poll::Pending
            })
            .await
        })
    }
}

impl Drop for BlockingRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            if !self.process.is_current() {
                // Its shutdown would wait for blocking-pool threads that were not forked.
                std::mem::forget(rt);
            } else if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(rt));
            } else {
                drop(rt);
            }
        }
    }
}

/// How long a loop of many network reads runs before it gives control back to the code
/// polling it (see [`give_control_back`]).
pub const GIVE_BACK_EVERY: Duration = Duration::from_millis(50);

/// Returns `Pending` once (waking its task at once), so that the poller gets control back:
/// the blocking driver then checks for Ctrl-C, which it can only do between polls.
pub async fn give_control_back() {
    let mut given = false;
    std::future::poll_fn(|cx| {
        if given {
            return std::task::Poll::Ready(());
        }
        given = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await;
}
