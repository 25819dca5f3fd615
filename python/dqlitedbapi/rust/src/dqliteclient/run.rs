//! How the bindings' operations are run: blocking, on a current-thread runtime of the
//! object's own (the driver's [`BlockingRuntime`]: GIL released, Ctrl-C checked), or as a
//! task on the asyncio event loop (the driver's [`Reactor`]), which returns an
//! `asyncio.Future`. The only place these bindings touch the driver's machinery.
//!
//! An asynchronous operation gets a reactor of its own for the call: an object is not
//! bound to one event loop here (the Python package checks that where the reference
//! client does), so successive `asyncio.run` calls can share a `ClusterClient`. Sockets
//! opened by asynchronous operations are driven by the reactor's background runtime,
//! which every call shares, so a session opened in one call is usable in the next.

use std::future::Future;
use std::sync::Arc;

use pyo3::BoundObject;
use pyo3::prelude::*;

use super::ClientError;
use crate::asyncio::Reactor;
use crate::runtime::{BlockingRuntime, Failure};

/// How an object's operations run.
#[derive(Clone)]
pub(crate) enum Mode {
    /// On this runtime, the caller waiting.
    Blocking(Arc<BlockingRuntime>),
    /// As tasks on the running event loop.
    Async,
}

impl Mode {
    /// A blocking mode with a runtime of its own, or the asynchronous mode.
    pub(crate) fn new(asynchronous: bool) -> PyResult<Mode> {
        if asynchronous {
            Ok(Mode::Async)
        } else {
            Ok(Mode::Blocking(Arc::new(BlockingRuntime::new()?)))
        }
    }

    /// True for the asynchronous mode.
    pub(crate) fn is_async(&self) -> bool {
        matches!(self, Mode::Async)
    }

    /// Runs `op`; `convert` turns its value into Python. Blocking: the converted value.
    /// Asynchronous: an `asyncio.Future` of it; the task runs to its end even when the
    /// future is cancelled.
    pub(crate) fn finish<T, F, C>(&self, py: Python<'_>, op: F, convert: C) -> PyResult<Py<PyAny>>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, ClientError>> + Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
    {
        match self {
            Mode::Blocking(rt) => {
                let rt = rt.clone();
                crate::logging::before_call(py);
                let out = crate::exiting::detach(py, move || {
                    rt.run(std::pin::pin!(async move { Ok(op.await) }))
                });
                crate::logging::after_call(py);
                match out {
                    Ok(Ok(value)) => convert(py, value),
                    Ok(Err(e)) => Err(e.into_pyerr(py)),
                    Err(Failure::Py(e)) => Err(e),
                    Err(Failure::Db(e)) => Err(e.into_pyerr()),
                }
            }
            Mode::Async => {
                let reactor = Reactor::new(py)?;
                let mine = reactor.clone();
                let future = reactor.spawn(
                    py,
                    Box::pin(async move {
                        let out = op.await;
                        crate::exiting::attach(|py| {
                            mine.release(py);
                            match out {
                                Ok(value) => convert(py, value),
                                Err(e) => Err(e.into_pyerr(py)),
                            }
                        })
                    }),
                )?;
                Ok(future.unbind())
            }
        }
    }
}

/// `convert` for operations without a value: `None`.
pub(crate) fn none(py: Python<'_>, (): ()) -> PyResult<Py<PyAny>> {
    Ok(py.None())
}

/// `convert` for values that convert themselves.
pub(crate) fn plain<T>(py: Python<'_>, value: T) -> PyResult<Py<PyAny>>
where
    T: for<'py> IntoPyObject<'py>,
{
    value
        .into_pyobject(py)
        .map(|v| v.into_any().unbind())
        .map_err(Into::into)
}
