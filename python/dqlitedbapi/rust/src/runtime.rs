//! The blocking driver: each blocking connection has its own current-thread tokio
//! runtime, run on the calling thread with the GIL released. Ctrl-C is checked while a
//! call waits; long loops inside a call give control back now and then so that it can be.
//! A Ctrl-C that comes while a request waits for its answer is held back a little, for the
//! answer, so that the connection need not be closed (see [`ANSWER_GRACE`]).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use dqlite_client::RequestInFlight;
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

/// How long a blocking call interrupted (Ctrl-C) in the middle of a request still waits for
/// its answer, so that the connection stays in step with the node (see
/// [`BlockingRuntime::run_watching`]).
///
/// A round trip takes a millisecond or two on a quiet network; a replicated write on a
/// loaded cluster, or a query that runs long on the node, can take hundreds. A second is
/// long enough for an answer that is merely slow, and short enough that a person pressing
/// Ctrl-C at a node that stopped answering is not left waiting (and can press again).
pub const ANSWER_GRACE: Duration = Duration::from_secs(1);

/// A current-thread runtime for one blocking connection. Dropped without waiting for its
/// blocking pool's threads; leaked in a forked child (see [`crate::fork`]).
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
    /// whose handler raises stops the wait and the exception is returned. For a future that
    /// uses no connection, or one that can be cut off anywhere (see
    /// [`run_watching`](Self::run_watching)).
    pub fn run<T, F>(&self, future: Pin<&mut F>) -> Result<T, Failure>
    where
        F: Future<Output = Result<T, DbError>>,
    {
        self.run_watching(future, None)
    }

    /// Runs `future`, a call on the connection `in_flight` watches, to completion, checking
    /// for signals (Ctrl-C) every 100 ms. A signal whose handler raises stops the call and
    /// the exception is returned; the connection then either is still in step (nothing was
    /// in flight, or a result read, which is cancel-safe, was cut off) or was marked broken
    /// by the client, and is closed on next use.
    ///
    /// When the exception comes while a request is in flight, the call goes on for at most
    /// [`ANSWER_GRACE`] (or until its own deadline, which ends it sooner), and stops at the
    /// first moment no request is in flight: the answer was read and the connection stays
    /// usable. Past the grace (or at a second exception) it stops there, breaking the
    /// connection, so that a node that never answers does not hold Ctrl-C back. The
    /// exception is returned whatever the call's own outcome meanwhile.
    ///
    /// The future is taken pinned where the caller built it: a statement's future is
    /// large, and moving it in here would copy it on every call.
    pub fn run_watching<T, F>(
        &self,
        mut future: Pin<&mut F>,
        in_flight: Option<&RequestInFlight>,
    ) -> Result<T, Failure>
    where
        F: Future<Output = Result<T, DbError>>,
    {
        use std::task::Poll;
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
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out.map_err(Failure::Db);
            }
        }
        let request_in_flight = || in_flight.is_some_and(RequestInFlight::get);
        // Signals are checked on a clock, not on a timer restarted at each wake-up: a call
        // that keeps receiving data (a long fetch) is woken far more often than a timer of
        // that length would ever fire.
        let mut next_check = tokio::time::Instant::now() + SIGNAL_CHECK;
        // The exception a signal handler raised while a request was in flight, and the end
        // of the wait for its answer.
        let mut interrupted: Option<(PyErr, tokio::time::Instant)> = None;
        rt.block_on(async {
            let mut tick = std::pin::pin!(tokio::time::sleep_until(next_check));
            std::future::poll_fn(|cx| {
                if let Poll::Ready(out) = future.as_mut().poll(cx) {
                    return Poll::Ready(match interrupted.take() {
                        Some((e, _)) => Err(Failure::Py(e)),
                        None => out.map_err(Failure::Db),
                    });
                }
                let now = tokio::time::Instant::now();
                if let Some((_, until)) = &interrupted
                    && (now >= *until || !request_in_flight())
                    && let Some((e, _)) = interrupted.take()
                {
                    return Poll::Ready(Err(Failure::Py(e)));
                }
                if now >= next_check || tick.as_mut().poll(cx).is_ready() {
                    if let Err(e) = crate::exiting::attach(|py| py.check_signals()) {
                        match interrupted.take() {
                            // A second Ctrl-C: no more waiting.
                            Some((first, _)) => return Poll::Ready(Err(Failure::Py(first))),
                            None if request_in_flight() => {
                                interrupted = Some((e, now + ANSWER_GRACE));
                            }
                            None => return Poll::Ready(Err(Failure::Py(e))),
                        }
                    }
                    next_check = now + SIGNAL_CHECK;
                    if let Some((_, until)) = &interrupted {
                        next_check = next_check.min(*until);
                    }
                    tick.as_mut().reset(next_check);
                    // Registers the wake-up for the new deadline.
                    let _ = tick.as_mut().poll(cx);
                }
                Poll::Pending
            })
            .await
        })
    }
}

impl Drop for BlockingRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            if self.process.is_current() {
                // Not `drop`, which waits for the blocking pool's threads without a bound,
                // here usually holding the GIL: work left there (a host name being looked
                // up for a node that lost the race for the leader) is wanted by nobody any
                // more and ends on its own. Waiting for nothing, this is also allowed
                // inside an async context.
                rt.shutdown_background();
            } else {
                // Its shutdown would wait for blocking-pool threads that were not forked.
                std::mem::forget(rt);
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
