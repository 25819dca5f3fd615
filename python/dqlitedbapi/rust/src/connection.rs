//! `NativeConnection`: a connection as Python sees it, and how its operations are run:
//! blocking on the connection's own runtime, or as tasks on its asyncio event loop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use dqlite_client::{AbortHandle, RequestInFlight, Value};
use pyo3::BoundObject;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use tokio::sync::Mutex as TokioMutex;

use crate::asyncio::{AsyncioStream, Reactor};
use crate::closing::{Interrupt, close_within};
use crate::describe::DescriptionCache;
use crate::dial::PyDialer;
use crate::errors::DbError;
use crate::fork::Process;
use crate::limits::ResultLimits;
use crate::result::NativeResult;
use crate::runtime::BlockingRuntime;
use crate::session::{ConnectOptions, Session, Status};
use crate::statement::{LastStatement, SqlInfo};
use crate::tls::PyTlsConfig;

/// How a connection's operations are driven.
#[derive(Clone)]
enum Driver {
    /// On the connection's own runtime, which holds a Ctrl-C back while the connection has
    /// a request in flight.
    Blocking(Arc<BlockingRuntime>, RequestInFlight),
    Async(Arc<Reactor>),
}

/// A connection as its Python objects share it (behind one `Arc`: a result holds it too):
/// the session (behind one lock), how its operations are run, and the process it was
/// opened in.
pub struct Conn {
    pub session: Arc<TokioMutex<Session>>,
    /// The session's status, readable while a call holds the session.
    status: Arc<Status>,
    driver: Driver,
    /// Shuts the connection's socket down from another thread, for the socket that no
    /// reactor of the driver's own polls: a blocking one, or TLS (blocking, or on the
    /// background runtime of an asyncio connection).
    abort: Option<AbortHandle>,
    /// The process the connection was opened in.
    process: Process,
    /// The only thread that may use a blocking connection (`check_same_thread`).
    pub owner: Option<std::thread::ThreadId>,
    /// The description of the last result with rows.
    pub described: DescriptionCache,
    /// The statement run last.
    last_statement: LastStatement,
    /// Caps on each query's result.
    pub limits: ResultLimits,
}

impl Conn {
    /// How `close()` from elsewhere ends the I/O of the call running on the connection;
    /// the call then closes the session as it ends (see `Session::after_call`).
    fn interrupt(&self) -> Interrupt<'_> {
        match (&self.abort, &self.driver) {
            (None, Driver::Async(reactor)) => Interrupt::Reactor(reactor),
            (abort, _) => Interrupt::Socket(abort.as_ref()),
        }
    }

    fn check_process(&self) -> PyResult<()> {
        if self.process.is_current() {
            Ok(())
        } else {
            Err(DbError::interface(
                "this connection was opened in another process (before a fork); open a new \
                 connection in this process",
            )
            .connection_lost()
            .into())
        }
    }

    /// Fails unless called on the thread allowed to use the connection.
    pub fn check_thread(&self) -> PyResult<()> {
        match self.owner {
            Some(owner) if owner != std::thread::current().id() => Err(DbError::programming(
                "dqlitedbapi objects created in a thread can only be used in that same thread \
                 (connect with check_same_thread=False to share the connection)",
            )
            .into()),
            _ => Ok(()),
        }
    }

    fn blocking_rt(&self) -> PyResult<(&BlockingRuntime, &RequestInFlight)> {
        self.check_process()?;
        self.check_thread()?;
        match &self.driver {
            Driver::Blocking(rt, in_flight) => Ok((rt, in_flight)),
            Driver::Async(_) => Err(DbError::interface(
                "this connection is asynchronous; use the dqlitedbapi.aio API",
            )
            .into()),
        }
    }

    /// The connection's reactor, when called from its event loop's thread.
    pub fn reactor(&self) -> PyResult<&Arc<Reactor>> {
        self.check_process()?;
        match &self.driver {
            Driver::Async(reactor) => {
                reactor.check_usable()?;
                Ok(reactor)
            }
            Driver::Blocking(..) => Err(DbError::interface(
                "this connection is synchronous; use the blocking API",
            )
            .into()),
        }
    }

    /// Runs `op` on the session, blocking (GIL released).
    pub fn block<T, F>(&self, py: Python<'_>, op: F) -> PyResult<T>
    where
        T: Send,
        F: AsyncFnOnce(&mut Session) -> Result<T, DbError> + Send,
    {
        let (rt, in_flight) = self.blocking_rt()?;
        let session = &self.session;
        crate::logging::before_call(py);
        let out = crate::exiting::detach(py, move || {
            // Uncontended (the usual case), the lock is taken without a blocking wait's
            // set-up; tokio's lock hands a released permit to its waiters first, so this
            // never jumps the queue.
            let mut guard = match session.try_lock() {
                Ok(guard) => guard,
                Err(_) => session.blocking_lock(),
            };
            let mut out = rt.run_watching(std::pin::pin!(op(&mut guard)), Some(in_flight));
            let error = match &mut out {
                Err(crate::runtime::Failure::Db(e)) => Some(e),
                _ => None,
            };
            guard.after_call(error);
            out
        });
        crate::logging::after_call(py);
        out.map_err(PyErr::from)
    }

    /// Runs `op` on the session as a task on the connection's event loop and returns an
    /// `asyncio.Future`. The task runs to completion even when the awaiting Python task
    /// is cancelled.
    pub fn spawn<'py, T, F>(&self, py: Python<'py>, op: F) -> PyResult<Bound<'py, PyAny>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: for<'a> FnOnce(&'a mut Session) -> SessionFuture<'a, PyResult<T>> + Send + 'static,
    {
        self.reactor()?.spawn(py, self.task(op, None))
    }

    /// [`spawn`](Self::spawn) of a call that is skipped when the Python task awaiting it
    /// is cancelled while it waits for the session (behind another task's call): it never
    /// starts, and the connection stays as it is. Once started, it runs to completion.
    pub fn spawn_call<'py, T, F>(&self, py: Python<'py>, op: F) -> PyResult<Bound<'py, PyAny>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: for<'a> FnOnce(&'a mut Session) -> SessionFuture<'a, PyResult<T>> + Send + 'static,
    {
        self.reactor()?
            .spawn_watched(py, |interest| self.task(op, Some(interest)))
    }

    /// [`spawn_call`](Self::spawn_call), but the value itself (or its error, raised) when
    /// the task ended as it started, the answer already there: no `asyncio.Future` then.
    pub fn run_or_spawn<'py, T, F>(&self, py: Python<'py>, op: F) -> PyResult<Bound<'py, PyAny>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: for<'a> FnOnce(&'a mut Session) -> SessionFuture<'a, PyResult<T>> + Send + 'static,
    {
        self.reactor()?
            .run_or_spawn_watched(py, |interest| self.task(op, Some(interest)))
    }

    /// The future of a task running `op` on the session; with `interest`, skipped when
    /// nobody awaits it any more by the time the session is free.
    fn task<T, F>(
        &self,
        op: F,
        interest: Option<crate::asyncio::Interest>,
    ) -> impl Future<Output = crate::asyncio::Outcome> + Send + 'static
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: for<'a> FnOnce(&'a mut Session) -> SessionFuture<'a, PyResult<T>> + Send + 'static,
    {
        let session = self.session.clone();
        async move {
            // As in `block`: uncontended, no wait is set up.
            let mut guard = match session.clone().try_lock_owned() {
                Ok(guard) => guard,
                Err(_) => {
                    let guard = session.lock_owned().await;
                    if interest.is_some_and(|i| i.abandoned()) {
                        // Cancelled while it waited: nothing was sent, nothing will be.
                        return Err(DbError::interface("the call was cancelled").into_pyerr());
                    }
                    guard
                }
            };
            let mut out = op(&mut guard).await;
            guard.after_call(out.as_mut().err());
            drop(guard);
            let value = out.map_err(DbError::into_pyerr)??;
            crate::exiting::attach(|py| {
                value
                    .into_pyobject(py)
                    .map(|v| v.into_any().unbind().into_any())
                    .map_err(Into::into)
            })
        }
    }
}

type SessionFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T, DbError>> + Send + 'a>>;

/// A duration in seconds from Python: finite and positive (or zero when `zero_ok`).
fn seconds(name: &str, value: f64, zero_ok: bool) -> PyResult<Duration> {
    if !(value.is_finite() && (value > 0.0 || (zero_ok && value == 0.0))) {
        let what = if zero_ok { "non-negative" } else { "positive" };
        return Err(DbError::programming(format!(
            "{name} must be a {what} finite number, got {value}"
        ))
        .into());
    }
    Duration::try_from_secs_f64(value).map_err(|e| PyValueError::new_err(format!("{name}: {e}")))
}

/// The keyword arguments of `connect` and `connect_async` besides the seeds, database
/// and timeout.
struct Keywords<'a, 'py> {
    busy_timeout: f64,
    dial_timeout: Option<f64>,
    connect_timeout: Option<f64>,
    max_message_size: Option<usize>,
    tls: Option<&'a Bound<'py, PyTlsConfig>>,
    dialer: Option<Py<PyAny>>,
}

fn connect_options(
    seeds: Vec<String>,
    database: String,
    timeout: f64,
    keywords: Keywords<'_, '_>,
) -> PyResult<ConnectOptions> {
    let optional =
        |name: &str, value: Option<f64>| value.map(|d| seconds(name, d, false)).transpose();
    Ok(ConnectOptions {
        seeds,
        database,
        timeout: seconds("timeout", timeout, false)?,
        busy_timeout: seconds("busy_timeout", keywords.busy_timeout, true)?,
        dial_timeout: optional("dial_timeout", keywords.dial_timeout)?,
        connect_timeout: optional("connect_timeout", keywords.connect_timeout)?,
        max_frame_len: keywords.max_message_size,
        tls: keywords.tls.map(|t| t.get().config()),
        dialer: keywords
            .dialer
            .map(|f| Arc::new(PyDialer::new(f)) as Arc<dyn dqlite_client::Dialer>),
    })
}

/// A connection to the leader of a dqlite cluster, with one database open.
#[pyclass(frozen, module = "dqlitedbapi._native")]
pub struct NativeConnection {
    conn: Arc<Conn>,
}

impl NativeConnection {
    fn new(
        session: Session,
        driver: Driver,
        owner: Option<std::thread::ThreadId>,
        limits: ResultLimits,
    ) -> Self {
        NativeConnection {
            conn: Arc::new(Conn {
                status: session.status(),
                abort: session.abort_handle(),
                session: Arc::new(TokioMutex::new(session)),
                driver,
                process: Process::current(),
                owner,
                described: DescriptionCache::default(),
                last_statement: LastStatement::default(),
                limits,
            }),
        }
    }
}

fn bind_many(info: &SqlInfo, seq: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<Value>>> {
    let mut sets = Vec::new();
    for params in seq.try_iter()? {
        match info.placeholders.bind(Some(&params?)) {
            Ok(set) => sets.push(set),
            Err(e) => return Err(crate::errors::unbound_set(seq.py(), e, sets.len())),
        }
    }
    Ok(sets)
}

#[pymethods]
impl NativeConnection {
    /// Opens a blocking connection: finds the leader among `seeds`, opens `database`.
    /// With `same_thread`, only the calling thread may use it.
    #[staticmethod]
    #[pyo3(signature = (
        seeds, database, timeout, *, busy_timeout = 5.0, dial_timeout = None,
        connect_timeout = None, max_message_size = None, tls = None, max_total_rows = None,
        max_continuation_frames = None, dialer = None, same_thread = false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn connect(
        py: Python<'_>,
        seeds: Vec<String>,
        database: String,
        timeout: f64,
        busy_timeout: f64,
        dial_timeout: Option<f64>,
        connect_timeout: Option<f64>,
        max_message_size: Option<usize>,
        tls: Option<&Bound<'_, PyTlsConfig>>,
        max_total_rows: Option<usize>,
        max_continuation_frames: Option<usize>,
        dialer: Option<Py<PyAny>>,
        same_thread: bool,
    ) -> PyResult<NativeConnection> {
        let limits = ResultLimits {
            rows: max_total_rows,
            frames: max_continuation_frames,
        };
        let keywords = Keywords {
            busy_timeout,
            dial_timeout,
            connect_timeout,
            max_message_size,
            tls,
            dialer,
        };
        let options = connect_options(seeds, database, timeout, keywords)?;
        let owner = same_thread.then(|| std::thread::current().id());
        let rt = Arc::new(BlockingRuntime::new()?);
        let runner = rt.clone();
        crate::logging::before_call(py);
        let connected = crate::exiting::detach(py, move || {
            runner.run(std::pin::pin!(async {
                let mut session = Session::connect(options).await?;
                session.use_blocking_io()?;
                Ok(session)
            }))
        });
        crate::logging::after_call(py);
        let session = connected.map_err(PyErr::from)?;
        let in_flight = session.request_in_flight();
        Ok(NativeConnection::new(
            session,
            Driver::Blocking(rt, in_flight),
            owner,
            limits,
        ))
    }

    /// Opens an asyncio connection on the running event loop; an awaitable.
    #[staticmethod]
    #[pyo3(signature = (
        seeds, database, timeout, *, busy_timeout = 5.0, dial_timeout = None,
        connect_timeout = None, max_message_size = None, tls = None, max_total_rows = None,
        max_continuation_frames = None, dialer = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn connect_async<'py>(
        py: Python<'py>,
        seeds: Vec<String>,
        database: String,
        timeout: f64,
        busy_timeout: f64,
        dial_timeout: Option<f64>,
        connect_timeout: Option<f64>,
        max_message_size: Option<usize>,
        tls: Option<&Bound<'py, PyTlsConfig>>,
        max_total_rows: Option<usize>,
        max_continuation_frames: Option<usize>,
        dialer: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let limits = ResultLimits {
            rows: max_total_rows,
            frames: max_continuation_frames,
        };
        let keywords = Keywords {
            busy_timeout,
            dial_timeout,
            connect_timeout,
            max_message_size,
            tls,
            dialer,
        };
        let options = connect_options(seeds, database, timeout, keywords)?;
        // A TLS stream stays on the background runtime's reactor (TLS needs its own
        // buffering); a plain socket moves to the event loop.
        let on_loop = options.tls.is_none();
        let reactor = Reactor::new(py)?;
        let mine = reactor.clone();
        reactor.spawn(py, async move {
            let connected = async {
                let mut session = Session::connect(options).await?;
                if on_loop {
                    let stream_reactor = mine.clone();
                    session.replace_socket(move |fd| AsyncioStream::new(stream_reactor, fd))?;
                }
                Ok::<_, DbError>(session)
            }
            .await;
            crate::exiting::attach(|py| match connected {
                Ok(session) => Py::new(
                    py,
                    NativeConnection::new(session, Driver::Async(mine), None, limits),
                )
                .map(Py::into_any),
                Err(e) => {
                    mine.release(py);
                    Err(e.into_pyerr())
                }
            })
        })
    }

    /// Sets how long "database is locked" answers are retried (seconds; 0: not retried),
    /// from the next statement on, also while a call runs.
    fn set_busy_timeout(&self, busy_timeout: f64) -> PyResult<()> {
        let timeout = seconds("busy_timeout", busy_timeout, true)?;
        self.conn.status.set_busy_timeout(timeout);
        Ok(())
    }

    /// True inside a transaction (tracked from the statements run and their errors).
    #[getter]
    fn in_transaction(&self) -> bool {
        self.conn.status.in_transaction()
    }

    /// True once closed (by `close()`, after a transport error, or with its event loop).
    #[getter]
    fn closed(&self) -> bool {
        self.conn.status.closed()
            || matches!(&self.conn.driver, Driver::Async(reactor) if reactor.is_gone())
    }

    /// True for a connection opened with `connect_async`.
    #[getter]
    fn is_async(&self) -> bool {
        matches!(self.conn.driver, Driver::Async(_))
    }

    /// Runs one statement, blocking; the first frame of rows is read.
    #[pyo3(signature = (sql, params = None))]
    fn execute(
        &self,
        py: Python<'_>,
        sql: &Bound<'_, PyString>,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<NativeResult> {
        let info = self.conn.last_statement.info(sql)?;
        let values = info.placeholders.bind(params)?;
        let count_rows = !info.pragma;
        let outcome = self
            .conn
            .block(py, async move |session| session.run(&info, values).await)?;
        NativeResult::from_outcome(py, self.conn.clone(), outcome, count_rows)
    }

    /// Runs one statement: the result itself when the answer is already here (it came
    /// while the request was written), else an awaitable of it.
    #[pyo3(signature = (sql, params = None))]
    fn aexecute<'py>(
        &self,
        py: Python<'py>,
        sql: &Bound<'_, PyString>,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let info = self.conn.last_statement.info(sql)?;
        let values = info.placeholders.bind(params)?;
        let conn = self.conn.clone();
        let count_rows = !info.pragma;
        self.conn.run_or_spawn(py, move |session| {
            Box::pin(async move {
                let outcome = session.run(&info, values).await?;
                Ok(crate::exiting::attach(|py| {
                    NativeResult::from_outcome(py, conn, outcome, count_rows)
                }))
            })
        })
    }

    /// Runs a statement once per parameter set, blocking.
    fn executemany(
        &self,
        py: Python<'_>,
        sql: String,
        seq_of_params: &Bound<'_, PyAny>,
    ) -> PyResult<NativeResult> {
        let info = SqlInfo::of(&sql);
        let sets = bind_many(&info, seq_of_params)?;
        let dml = info.statement.is_dml();
        let result = self
            .conn
            .block(py, async move |session| session.run_many(&sql, sets).await)?;
        Ok(NativeResult::exec(self.conn.clone(), result, dml, false))
    }

    /// Runs a statement once per parameter set; an awaitable.
    fn aexecutemany<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        seq_of_params: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let info = SqlInfo::of(&sql);
        let sets = bind_many(&info, seq_of_params)?;
        let dml = info.statement.is_dml();
        let conn = self.conn.clone();
        self.conn.spawn_call(py, move |session| {
            Box::pin(async move {
                let result = session.run_many(&sql, sets).await?;
                Ok(Ok::<_, PyErr>(NativeResult::exec(conn, result, dml, false)))
            })
        })
    }

    /// Runs every statement of a script, blocking.
    fn executescript(&self, py: Python<'_>, script: String) -> PyResult<()> {
        self.conn
            .block(py, async move |session| session.run_script(&script).await)
    }

    /// Runs every statement of a script; an awaitable.
    fn aexecutescript<'py>(&self, py: Python<'py>, script: String) -> PyResult<Bound<'py, PyAny>> {
        self.conn.spawn_call(py, move |session| {
            Box::pin(async move {
                session.run_script(&script).await?;
                Ok(Ok::<_, PyErr>(()))
            })
        })
    }

    /// COMMIT (or ROLLBACK) if a transaction is open, blocking.
    fn end_transaction(&self, py: Python<'_>, commit: bool) -> PyResult<()> {
        self.conn.block(py, async move |session| {
            session.end_transaction(commit).await
        })
    }

    /// COMMIT (or ROLLBACK) if a transaction is open; an awaitable.
    fn aend_transaction<'py>(&self, py: Python<'py>, commit: bool) -> PyResult<Bound<'py, PyAny>> {
        self.conn.spawn_call(py, move |session| {
            Box::pin(async move {
                session.end_transaction(commit).await?;
                Ok(Ok::<_, PyErr>(()))
            })
        })
    }

    /// Closes the connection. A call running meanwhile (on another thread, or as a task
    /// on another event loop) is made to fail at once: its socket is shut down (over TLS
    /// too). With `timeout`, waits that long at most for a blocking call so interrupted to
    /// end; the call closes the connection itself when it ends later.
    #[pyo3(signature = (timeout = None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let wait = timeout
            .map(|t| seconds("close_timeout", t, true))
            .transpose()?;
        if !self.conn.process.is_current() {
            // Inherited through fork(): nothing to close in this process (dropping the
            // object closes this process's copy of the socket, see `fork`).
            return Ok(());
        }
        let session = self.conn.session.clone();
        if let Ok(mut c) = session.try_lock() {
            c.close();
            return Ok(());
        }
        // A call holds the session: it closes it as it ends, which its I/O failing now
        // makes soon.
        self.conn
            .status
            .close_request()
            .request(self.conn.interrupt());
        if let (Driver::Blocking(..), Some(wait)) = (&self.conn.driver, wait) {
            crate::exiting::detach(py, move || close_within(&session, wait, Session::close));
            crate::logging::after_call(py);
        }
        Ok(())
    }

    /// Closes the connection once a running operation ends; an awaitable.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.conn.spawn(py, move |session| {
            Box::pin(async move {
                session.close();
                Ok(Ok::<_, PyErr>(()))
            })
        })
    }
}
