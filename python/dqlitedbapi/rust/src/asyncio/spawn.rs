//! Operations as tasks of the connection's executor, and how their outcomes reach Python.

use std::future::Future;
use std::sync::{Arc, Mutex};

use pyo3::intern;
use pyo3::prelude::*;

use super::{Outcome, Reactor, lock};

/// Whether the outcome of a task is still awaited (see [`Reactor::spawn_watched`]).
#[derive(Clone)]
pub struct Interest(Arc<Mutex<Delivery>>);

impl Interest {
    /// True once the task's `asyncio.Future` is done while the task still runs: the task
    /// awaiting it was cancelled, and nobody will receive the outcome.
    pub fn abandoned(&self) -> bool {
        let future = match &*lock(&self.0) {
            Delivery::Awaited(future) => Python::attach(|py| future.clone_ref(py)),
            _ => return false,
        };
        Python::attach(|py| {
            future
                .bind(py)
                .call_method0(intern!(py, "done"))
                .and_then(|d| d.is_truthy())
                .unwrap_or(false)
        })
    }
}

/// Where a task of [`Reactor::run_or_spawn`] delivers its outcome.
enum Delivery {
    /// Not ended, and no `asyncio.Future` made yet (or the outcome was taken).
    Unclaimed,
    /// Ended in its first poll: the call returns this.
    Ended(Outcome),
    /// Not ended in its first poll: this future gets the outcome.
    Awaited(Py<PyAny>),
}

impl Reactor {
    /// Runs `future` as a task and returns the `asyncio.Future` of its outcome. The task
    /// is polled at once, then whenever it is woken, to its end, even if the future is
    /// cancelled (its outcome is then dropped).
    pub fn spawn<'py>(
        self: &Arc<Self>,
        py: Python<'py>,
        future: impl Future<Output = Outcome> + Send + 'static,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.spawn_with(py, |_| future)
    }

    /// [`spawn`](Self::spawn) of the future `make` builds; it gets the `asyncio.Future`
    /// the task completes (to see whether its outcome is still awaited).
    pub fn spawn_with<'py, F>(
        self: &Arc<Self>,
        py: Python<'py>,
        make: impl FnOnce(&Bound<'py, PyAny>) -> F,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        self.check_usable()?;
        crate::logging::before_call(py);
        let py_future = self
            .event_loop
            .bind(py)
            .call_method0(intern!(py, "create_future"))?;
        let future = make(&py_future);
        let done = py_future.clone().unbind();
        self.executor.spawn(Box::pin(async move {
            let outcome = future.await;
            Python::attach(|py| complete(py, done.bind(py), outcome));
        }));
        // The task was polled once: records of that poll go to logging now.
        crate::logging::after_call(py);
        Ok(py_future)
    }

    /// [`spawn`](Self::spawn) of the future `make` builds; it gets the task's
    /// [`Interest`], to skip work whose outcome nobody awaits any more.
    pub fn spawn_watched<'py, F>(
        self: &Arc<Self>,
        py: Python<'py>,
        make: impl FnOnce(Interest) -> F,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        self.spawn_with(py, |py_future| {
            make(Interest(Arc::new(Mutex::new(Delivery::Awaited(
                py_future.clone().unbind(),
            )))))
        })
    }

    /// [`spawn`](Self::spawn), but the outcome itself (its value, or its error raised)
    /// when the task ended in the poll that started it: no `asyncio.Future` is made then.
    pub fn run_or_spawn<'py>(
        self: &Arc<Self>,
        py: Python<'py>,
        future: impl Future<Output = Outcome> + Send + 'static,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_or_spawn_watched(py, |_| future)
    }

    /// [`run_or_spawn`](Self::run_or_spawn) of the future `make` builds; it gets the task's
    /// [`Interest`] (see [`spawn_watched`](Self::spawn_watched)).
    pub fn run_or_spawn_watched<'py, F>(
        self: &Arc<Self>,
        py: Python<'py>,
        make: impl FnOnce(Interest) -> F,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        self.check_usable()?;
        crate::logging::before_call(py);
        let slot = Arc::new(Mutex::new(Delivery::Unclaimed));
        let future = make(Interest(slot.clone()));
        let delivery = slot.clone();
        self.executor.spawn(Box::pin(async move {
            let outcome = future.await;
            let mut claimed = lock(&delivery);
            match std::mem::replace(&mut *claimed, Delivery::Unclaimed) {
                Delivery::Awaited(done) => {
                    drop(claimed);
                    Python::attach(|py| complete(py, done.bind(py), outcome));
                }
                _ => *claimed = Delivery::Ended(outcome),
            }
        }));
        crate::logging::after_call(py);
        let first = std::mem::replace(&mut *lock(&slot), Delivery::Unclaimed);
        if let Delivery::Ended(outcome) = first {
            return outcome.map(|value| value.into_bound(py));
        }
        // Made with the slot unlocked (Python runs).
        let py_future = self
            .event_loop
            .bind(py)
            .call_method0(intern!(py, "create_future"))?;
        let awaited = Delivery::Awaited(py_future.clone().unbind());
        let meanwhile = std::mem::replace(&mut *lock(&slot), awaited);
        match meanwhile {
            Delivery::Ended(outcome) => {
                // Ended meanwhile: no one awaits the future.
                *lock(&slot) = Delivery::Unclaimed;
                outcome.map(|value| value.into_bound(py))
            }
            _ => Ok(py_future),
        }
    }
}

/// Completes the `asyncio.Future` of a task with its outcome, unless it was cancelled
/// (the operation still ran to its end).
fn complete(py: Python<'_>, future: &Bound<'_, PyAny>, outcome: Outcome) {
    if future
        .call_method0(intern!(py, "done"))
        .and_then(|d| d.is_truthy())
        .unwrap_or(true)
    {
        return;
    }
    let set = match outcome {
        Ok(value) => future.call_method1(intern!(py, "set_result"), (value,)),
        Err(e) => future.call_method1(intern!(py, "set_exception"), (e.into_value(py),)),
    };
    if let Err(e) = set {
        e.write_unraisable(py, None);
    }
}
