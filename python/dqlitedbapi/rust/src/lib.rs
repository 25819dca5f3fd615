//! The native core of the `dqlitedbapi` Python package (imported as `dqlitedbapi._native`).
//!
//! The PEP 249 surface lives in the package's Python files; this module holds the parts
//! that run in Rust: the connection (`NativeConnection`), results read frame by frame
//! (`NativeResult`), parameter binding and row conversion. Each operation exists in a
//! blocking form (the connection's own current-thread runtime, run on the caller's thread
//! with the GIL released) and an awaitable form (a task polled on the asyncio loop's own
//! thread, see `reactor`, run to completion even if the awaiting task is cancelled, so a
//! request is never cut in half).

mod convert;
mod core;
mod errors;
mod fork;
mod params;
mod reactor;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use dqlite_client::Value;
use dqlite_wire::RowsFrame;
use pyo3::BoundObject;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use tokio::runtime::Runtime;
use tokio::sync::Mutex as TokioMutex;

use crate::core::SqlInfo;
use crate::core::{ConnectOptions, Core, Outcome, ResultShared};
use crate::errors::DbError;
use crate::fork::Process;
use crate::reactor::{AsyncioStream, Reactor};

/// A failure inside a blocking call: a database error, or a Python exception (Ctrl-C).
enum Failure {
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
/// in a forked child (see [`fork`]).
struct BlockingRuntime {
    rt: Option<Runtime>,
    process: Process,
}

impl BlockingRuntime {
    fn new() -> Result<Self, DbError> {
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
    fn run<T>(&self, future: impl Future<Output = Result<T, DbError>>) -> Result<T, Failure> {
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
        let mut future = std::pin::pin!(future);
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

/// How a connection's operations are driven.
#[derive(Clone)]
enum Driver {
    Blocking(Arc<BlockingRuntime>),
    Async(Arc<Reactor>),
}

#[derive(Clone)]
struct Shared {
    core: Arc<TokioMutex<Core>>,
    driver: Driver,
    /// The process the connection was opened in.
    process: Process,
    /// The only thread that may use a blocking connection (`check_same_thread`).
    owner: Option<std::thread::ThreadId>,
    /// The column names and description of the last result with rows: a statement run
    /// again reuses them instead of building new strings and tuples.
    described: Arc<std::sync::Mutex<Option<Described>>>,
}

struct Described {
    columns: Vec<String>,
    codes: Vec<Option<u8>>,
    names: Py<PyTuple>,
    type_codes: Py<PyTuple>,
    description: Py<PyTuple>,
}

impl Shared {
    /// Names, type codes and PEP 249 description of a result's columns.
    fn describe(
        &self,
        py: Python<'_>,
        columns: Vec<String>,
        codes: Vec<Option<u8>>,
    ) -> PyResult<(Py<PyTuple>, Py<PyTuple>, Py<PyTuple>)> {
        let mut cache = self
            .described
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(d) = cache.as_ref()
            && d.columns == columns
            && d.codes == codes
        {
            return Ok((
                d.names.clone_ref(py),
                d.type_codes.clone_ref(py),
                d.description.clone_ref(py),
            ));
        }
        let names = convert::names(py, &columns)?;
        let type_codes = PyTuple::new(py, &codes)?;
        let none = py.None();
        let mut entries = Vec::with_capacity(columns.len());
        for (name, code) in names.iter().zip(&codes) {
            let code = match code {
                Some(code) => code.into_pyobject(py)?.into_any().unbind(),
                None => unknown_type(py)?.clone().unbind(),
            };
            entries.push(PyTuple::new(
                py,
                [
                    name.unbind(),
                    code,
                    none.clone_ref(py),
                    none.clone_ref(py),
                    none.clone_ref(py),
                    none.clone_ref(py),
                    none.clone_ref(py),
                ],
            )?);
        }
        let description = PyTuple::new(py, entries)?;
        let out = (
            names.clone().unbind(),
            type_codes.clone().unbind(),
            description.clone().unbind(),
        );
        *cache = Some(Described {
            columns,
            codes,
            names: names.unbind(),
            type_codes: type_codes.unbind(),
            description: description.unbind(),
        });
        Ok(out)
    }
}

impl Shared {
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

    fn check_thread(&self) -> PyResult<()> {
        match self.owner {
            Some(owner) if owner != std::thread::current().id() => Err(DbError::programming(
                "dqlitedbapi objects created in a thread can only be used in that same thread \
                 (connect with check_same_thread=False to share the connection)",
            )
            .into()),
            _ => Ok(()),
        }
    }

    fn blocking_rt(&self) -> PyResult<Arc<BlockingRuntime>> {
        self.check_process()?;
        self.check_thread()?;
        match &self.driver {
            Driver::Blocking(rt) => Ok(rt.clone()),
            Driver::Async(_) => Err(DbError::interface(
                "this connection is asynchronous; use the dqlitedbapi.aio API",
            )
            .into()),
        }
    }

    /// The connection's reactor, when called from its event loop's thread.
    fn reactor(&self) -> PyResult<&Arc<Reactor>> {
        self.check_process()?;
        match &self.driver {
            Driver::Async(reactor) => {
                reactor.check_thread()?;
                Ok(reactor)
            }
            Driver::Blocking(_) => Err(DbError::interface(
                "this connection is synchronous; use the blocking API",
            )
            .into()),
        }
    }

    /// Runs `op` on the core, blocking (GIL released).
    fn block<T, F>(&self, py: Python<'_>, op: F) -> PyResult<T>
    where
        T: Send,
        F: AsyncFnOnce(&mut Core) -> Result<T, DbError> + Send,
    {
        let rt = self.blocking_rt()?;
        let core = self.core.clone();
        let out = py.detach(move || {
            let mut guard = core.blocking_lock();
            rt.run(op(&mut guard))
        });
        out.map_err(PyErr::from)
    }

    /// Runs `op` on the core as a task on the connection's event loop and returns an
    /// `asyncio.Future`. The task runs to completion even when the awaiting Python task
    /// is cancelled.
    fn spawn<'py, T, F>(&self, py: Python<'py>, op: F) -> PyResult<Bound<'py, PyAny>>
    where
        T: for<'a> IntoPyObject<'a> + Send + 'static,
        F: for<'a> FnOnce(&'a mut Core) -> CoreFuture<'a, PyResult<T>> + Send + 'static,
    {
        let reactor = self.reactor()?;
        let core = self.core.clone();
        reactor.spawn(
            py,
            Box::pin(async move {
                let mut guard = core.lock_owned().await;
                let out = op(&mut guard).await;
                drop(guard);
                let value = out.map_err(DbError::into_pyerr)??;
                Python::attach(|py| {
                    value
                        .into_pyobject(py)
                        .map(|v| v.into_any().unbind().into_any())
                        .map_err(Into::into)
                })
            }),
        )
    }
}

type CoreFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T, DbError>> + Send + 'a>>;

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

fn connect_options(
    seeds: Vec<String>,
    database: String,
    timeout: f64,
    busy_timeout: f64,
    dial_timeout: Option<f64>,
    max_message_size: Option<usize>,
) -> PyResult<ConnectOptions> {
    Ok(ConnectOptions {
        seeds,
        database,
        timeout: seconds("timeout", timeout, false)?,
        busy_timeout: seconds("busy_timeout", busy_timeout, true)?,
        dial_timeout: dial_timeout
            .map(|d| seconds("dial_timeout", d, false))
            .transpose()?,
        max_frame_len: max_message_size,
    })
}

/// A connection to the leader of a dqlite cluster, with one database open.
#[pyclass(frozen, module = "dqlitedbapi._native")]
struct NativeConnection {
    shared: Shared,
}

impl NativeConnection {
    fn new(core: Core, driver: Driver, owner: Option<std::thread::ThreadId>) -> Self {
        NativeConnection {
            shared: Shared {
                core: Arc::new(TokioMutex::new(core)),
                driver,
                process: Process::current(),
                owner,
                described: Arc::default(),
            },
        }
    }
}

fn bind_many(info: &SqlInfo, seq: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<Value>>> {
    let mut sets = Vec::new();
    for params in seq.try_iter()? {
        sets.push(info.placeholders.bind(Some(&params?))?);
    }
    Ok(sets)
}

/// The state of a result on the Python side.
struct ReadState {
    frame: Option<RowsFrame>,
    /// Rows of `frame` already taken.
    pos: usize,
    /// Frames may remain (on the connection or parked).
    more: bool,
    /// Rows a fetch took but could not return (Ctrl-C, a cancelled awaitable, an error
    /// after them): the next fetch returns them first.
    carried: Option<Py<PyList>>,
    /// Rows received so far (in every frame read).
    received: usize,
    /// Rows taken from the frames so far (handed to Python, or carried).
    taken: usize,
}

/// `dqlitedbapi.types.UNKNOWN`, the type code of a column whose type the first frame does
/// not tell (imported once).
fn unknown_type(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static UNKNOWN: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    UNKNOWN
        .get_or_try_init(py, || {
            py.import("dqlitedbapi.types")?
                .getattr("UNKNOWN")
                .map(Bound::unbind)
        })
        .map(|u| u.bind(py))
}

impl ReadState {
    fn new(frame: Option<RowsFrame>, more: bool) -> Self {
        let received = frame.as_ref().map_or(0, RowsFrame::row_count);
        ReadState {
            frame,
            pos: 0,
            more,
            carried: None,
            received,
            taken: 0,
        }
    }

    fn receive(&mut self, frame: RowsFrame) {
        self.received += frame.row_count();
        self.frame = Some(frame);
    }

    /// Rows handed to Python so far.
    fn handed_out(&self, py: Python<'_>) -> usize {
        let carried = self.carried.as_ref().map_or(0, |c| c.bind(py).len());
        self.taken.saturating_sub(carried)
    }

    /// The list a fetch of `want` rows starts from: the carried rows (at most `want` of
    /// them; the others stay carried), or a new empty list.
    fn start<'py>(&mut self, py: Python<'py>, want: usize) -> Bound<'py, PyList> {
        let Some(carried) = self.carried.take() else {
            return PyList::empty(py);
        };
        let carried = carried.into_bound(py);
        if carried.len() <= want {
            return carried;
        }
        self.carried = Some(carried.get_slice(want, carried.len()).unbind());
        carried.get_slice(0, want)
    }

    /// Keeps the rows of a fetch that cannot return them for the next fetch.
    fn carry(&mut self, out: Bound<'_, PyList>) {
        if !out.is_empty() {
            self.carried = Some(out.unbind());
        }
    }

    /// Takes up to `want` rows from the current frame into `out`.
    fn take_rows(
        &mut self,
        py: Python<'_>,
        names: &Bound<'_, PyTuple>,
        want: usize,
        out: &Bound<'_, PyList>,
    ) -> PyResult<()> {
        let Some(frame) = &self.frame else {
            return Ok(());
        };
        let start = self.pos;
        let taken = convert::append_rows(py, frame, &mut self.pos, want, names, out);
        self.taken += self.pos.saturating_sub(start);
        if self.pos >= frame.row_count() {
            self.frame = None;
            self.pos = 0;
        }
        taken
    }
}

/// The result of one statement: its columns and rows (read on demand), or its change
/// count and last rowid.
#[pyclass(frozen, module = "dqlitedbapi._native")]
struct NativeResult {
    conn: Shared,
    shared: Arc<ResultShared>,
    names: Option<Py<PyTuple>>,
    type_codes: Option<Py<PyTuple>>,
    description: Option<Py<PyTuple>>,
    rowcount: i64,
    lastrowid: Option<i64>,
    /// A result with rows reports their number as `rowcount` once it is complete
    /// (not for PRAGMA, as the pure-Python dqlite-dbapi).
    count_rows: bool,
    state: Arc<TokioMutex<ReadState>>,
}

impl NativeResult {
    fn from_outcome(
        py: Python<'_>,
        conn: Shared,
        outcome: Outcome,
        count_rows: bool,
    ) -> PyResult<Self> {
        Ok(match outcome {
            Outcome::Rows {
                columns,
                first,
                more,
                shared,
            } => {
                let codes = convert::type_codes(first.as_ref(), columns.len());
                let (names, type_codes, description) = conn.describe(py, columns, codes)?;
                NativeResult {
                    conn,
                    shared,
                    names: Some(names),
                    type_codes: Some(type_codes),
                    description: Some(description),
                    rowcount: -1,
                    lastrowid: None,
                    count_rows,
                    state: Arc::new(TokioMutex::new(ReadState::new(first, more))),
                }
            }
            Outcome::Exec { result, dml } => NativeResult::exec(conn, result, dml),
        })
    }

    fn exec(conn: Shared, result: dqlite_client::ExecResult, dml: bool) -> Self {
        NativeResult {
            conn,
            shared: Arc::new(ResultShared::default()),
            names: None,
            type_codes: None,
            description: None,
            rowcount: if dml {
                i64::try_from(result.rows_affected).unwrap_or(i64::MAX)
            } else {
                -1
            },
            lastrowid: Some(result.last_insert_id),
            count_rows: false,
            state: Arc::new(TokioMutex::new(ReadState::new(None, false))),
        }
    }
}

fn busy_cursor() -> PyErr {
    DbError::programming("Recursive use of cursors not allowed.").into()
}

#[pymethods]
impl NativeResult {
    /// Column names, or None for a statement without rows.
    #[getter]
    fn columns(&self, py: Python<'_>) -> Option<Py<PyTuple>> {
        self.names.as_ref().map(|n| n.clone_ref(py))
    }

    /// The PEP 249 description (name, type code, five None), or None without rows.
    #[getter]
    fn description(&self, py: Python<'_>) -> Option<Py<PyTuple>> {
        self.description.as_ref().map(|n| n.clone_ref(py))
    }

    /// Wire type code of each column in the first row (None without rows).
    #[getter]
    fn type_codes(&self, py: Python<'_>) -> Option<Py<PyTuple>> {
        self.type_codes.as_ref().map(|n| n.clone_ref(py))
    }

    /// Rows changed (DML); for a result with rows, their number once every frame was
    /// received (not for PRAGMA); else -1.
    #[getter]
    fn rowcount(&self) -> i64 {
        if self.count_rows
            && let Ok(state) = self.state.try_lock()
            && !state.more
        {
            return i64::try_from(state.received).unwrap_or(i64::MAX);
        }
        self.rowcount
    }

    /// Rows fetched so far (PEP 249's `rownumber`); None for a result without rows.
    #[getter]
    fn rownumber(&self, py: Python<'_>) -> Option<usize> {
        self.names.as_ref()?;
        self.state.try_lock().map(|s| s.handed_out(py)).ok()
    }

    /// The connection's last inserted rowid after this statement, or None.
    #[getter]
    fn lastrowid(&self) -> Option<i64> {
        self.lastrowid
    }

    /// Fetches up to `n` rows (all when `n` is negative), blocking.
    #[pyo3(signature = (n = -1))]
    fn fetch<'py>(&self, py: Python<'py>, n: i64) -> PyResult<Bound<'py, PyList>> {
        if self.conn.owner.is_some() {
            self.conn.check_thread()?;
        }
        let Some(names) = &self.names else {
            return Ok(PyList::empty(py));
        };
        let want = usize::try_from(n).unwrap_or(usize::MAX);
        let mut state = self.state.try_lock().map_err(|_| busy_cursor())?;
        let out = state.start(py, want);
        match self.fill(py, &mut state, names.bind(py), want, &out) {
            Ok(()) => Ok(out),
            Err(e) => {
                state.carry(out);
                Err(e)
            }
        }
    }

    /// Fetches up to `n` rows (all when `n` is negative): the list itself when the rows
    /// are already here, else an awaitable of it. Fetches of one result run in turn.
    #[pyo3(signature = (n = -1))]
    fn afetch<'py>(&self, py: Python<'py>, n: i64) -> PyResult<Bound<'py, PyAny>> {
        let reactor = self.conn.reactor()?.clone();
        let Some(names) = &self.names else {
            return Ok(PyList::empty(py).into_any());
        };
        let want = usize::try_from(n).unwrap_or(usize::MAX);
        // Rows already received are converted now, without a task.
        let ready = match self.state.clone().try_lock_owned() {
            Ok(mut state) => {
                let out = state.start(py, want);
                let mut taken = Ok(());
                while taken.is_ok() && out.len() < want && state.frame.is_some() {
                    taken = state.take_rows(py, names.bind(py), want - out.len(), &out);
                }
                if let Err(e) = taken {
                    state.carry(out);
                    return Err(e);
                }
                if out.len() >= want || !state.more {
                    return Ok(out.into_any());
                }
                Some((state, out.unbind()))
            }
            // Another fetch of this result is running (one whose awaiting task was
            // cancelled runs on to its end): this one waits for it.
            Err(_) => None,
        };
        let names = names.clone_ref(py);
        let lock = self.state.clone();
        let core = self.conn.core.clone();
        let shared = self.shared.clone();
        reactor.spawn_with(py, move |py_future| {
            Box::pin(async move {
                let (mut state, out) = match ready {
                    Some(ready) => ready,
                    None => {
                        let mut state = lock.lock_owned().await;
                        let out = Python::attach(|py| state.start(py, want).unbind());
                        (state, out)
                    }
                };
                let filled = fill_async(&core, &shared, &mut state, &names, want, &out).await;
                Python::attach(|py| {
                    // Rows nobody will receive stay with the result.
                    let cancelled = py_future
                        .bind(py)
                        .call_method0(pyo3::intern!(py, "done"))
                        .and_then(|d| d.is_truthy())
                        .unwrap_or(true);
                    if filled.is_err() || cancelled {
                        state.carry(out.clone_ref(py).into_bound(py));
                    }
                });
                filled.map(|()| out.into_any())
            })
        })
    }

    /// Gives up the rest of the result; the connection discards it.
    fn close(&self) {
        self.shared.abandon();
        if let Ok(mut state) = self.state.try_lock() {
            state.frame = None;
            state.more = false;
            state.carried = None;
        }
    }
}

impl NativeResult {
    /// Takes rows into `out` until it holds `want` or the result ends, reading frames
    /// (blocking) as needed.
    fn fill(
        &self,
        py: Python<'_>,
        state: &mut ReadState,
        names: &Bound<'_, PyTuple>,
        want: usize,
        out: &Bound<'_, PyList>,
    ) -> PyResult<()> {
        let mut got = out.len();
        while got < want {
            if state.frame.is_some() {
                state.take_rows(py, names, want - got, out)?;
                got = out.len();
                continue;
            }
            if !state.more {
                break;
            }
            // Between frames: a long fetch stays interruptible (the rows taken are kept).
            py.check_signals()?;
            let shared = self.shared.clone();
            let frame = self
                .conn
                .block(py, async move |core| core.next_frame_for(&shared).await)?;
            match frame {
                Some(frame) => state.receive(frame),
                None => state.more = false,
            }
        }
        Ok(())
    }
}

/// [`NativeResult::fill`] on the event loop: frames are read through the core's lock.
async fn fill_async(
    core: &TokioMutex<Core>,
    shared: &Arc<ResultShared>,
    state: &mut ReadState,
    names: &Py<PyTuple>,
    want: usize,
    out: &Py<PyList>,
) -> PyResult<()> {
    loop {
        let more = Python::attach(|py| -> PyResult<bool> {
            let out = out.bind(py);
            while out.len() < want && state.frame.is_some() {
                state.take_rows(py, names.bind(py), want - out.len(), out)?;
            }
            Ok(out.len() < want && state.more)
        })?;
        if !more {
            return Ok(());
        }
        let frame = {
            let mut core = core.lock().await;
            core.next_frame_for(shared).await
        }
        .map_err(DbError::into_pyerr)?;
        match frame {
            Some(frame) => state.receive(frame),
            None => state.more = false,
        }
    }
}

#[pymethods]
impl NativeConnection {
    /// Opens a blocking connection: finds the leader among `seeds`, opens `database`.
    /// With `same_thread`, only the calling thread may use it.
    #[staticmethod]
    #[pyo3(signature = (
        seeds, database, timeout, *, busy_timeout = 5.0, dial_timeout = None,
        max_message_size = None, same_thread = false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn connect(
        py: Python<'_>,
        seeds: Vec<String>,
        database: String,
        timeout: f64,
        busy_timeout: f64,
        dial_timeout: Option<f64>,
        max_message_size: Option<usize>,
        same_thread: bool,
    ) -> PyResult<NativeConnection> {
        let options = connect_options(
            seeds,
            database,
            timeout,
            busy_timeout,
            dial_timeout,
            max_message_size,
        )?;
        let owner = same_thread.then(|| std::thread::current().id());
        let rt = Arc::new(BlockingRuntime::new()?);
        let runner = rt.clone();
        let core = py
            .detach(move || {
                runner.run(async {
                    let mut core = Core::connect(options).await?;
                    core.use_blocking_io()?;
                    Ok(core)
                })
            })
            .map_err(PyErr::from)?;
        Ok(NativeConnection::new(core, Driver::Blocking(rt), owner))
    }

    /// Opens an asyncio connection on the running event loop; an awaitable.
    #[staticmethod]
    #[pyo3(signature = (
        seeds, database, timeout, *, busy_timeout = 5.0, dial_timeout = None,
        max_message_size = None
    ))]
    fn connect_async(
        py: Python<'_>,
        seeds: Vec<String>,
        database: String,
        timeout: f64,
        busy_timeout: f64,
        dial_timeout: Option<f64>,
        max_message_size: Option<usize>,
    ) -> PyResult<Bound<'_, PyAny>> {
        let options = connect_options(
            seeds,
            database,
            timeout,
            busy_timeout,
            dial_timeout,
            max_message_size,
        )?;
        let reactor = Reactor::new(py)?;
        let mine = reactor.clone();
        reactor.spawn(
            py,
            Box::pin(async move {
                let connected = async {
                    let mut core = Core::connect(options).await?;
                    let stream_reactor = mine.clone();
                    core.replace_socket(move |fd| AsyncioStream::new(stream_reactor, fd))?;
                    Ok::<_, DbError>(core)
                }
                .await;
                Python::attach(|py| match connected {
                    Ok(core) => Py::new(py, NativeConnection::new(core, Driver::Async(mine), None))
                        .map(Py::into_any),
                    Err(e) => {
                        mine.release(py);
                        Err(e.into_pyerr())
                    }
                })
            }),
        )
    }

    /// True inside a transaction (tracked from the statements run and their errors).
    #[getter]
    fn in_transaction(&self) -> bool {
        self.shared
            .core
            .try_lock()
            .map(|c| c.in_transaction())
            .unwrap_or(true)
    }

    /// True once closed (by `close()`, after a transport error, or with its event loop).
    #[getter]
    fn closed(&self) -> bool {
        if let Driver::Async(reactor) = &self.shared.driver
            && reactor.is_gone()
        {
            return true;
        }
        self.shared
            .core
            .try_lock()
            .map(|c| c.is_closed())
            .unwrap_or(false)
    }

    /// True for a connection opened with `connect_async`.
    #[getter]
    fn is_async(&self) -> bool {
        matches!(self.shared.driver, Driver::Async(_))
    }

    /// Runs one statement, blocking; the first frame of rows is read.
    #[pyo3(signature = (sql, params = None))]
    fn execute(
        &self,
        py: Python<'_>,
        sql: &str,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<NativeResult> {
        let info = SqlInfo::of(sql);
        let values = info.placeholders.bind(params)?;
        // `sql` borrows the caller's str (its UTF-8 form, immutable and kept alive by the
        // call's argument) while the GIL is released.
        let count_rows = !info.pragma;
        let outcome = self
            .shared
            .block(py, async move |core| core.run(sql, &info, values).await)?;
        NativeResult::from_outcome(py, self.shared.clone(), outcome, count_rows)
    }

    /// Runs one statement; an awaitable of a result.
    #[pyo3(signature = (sql, params = None))]
    fn aexecute<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let info = SqlInfo::of(&sql);
        let values = info.placeholders.bind(params)?;
        let conn = self.shared.clone();
        let count_rows = !info.pragma;
        self.shared.spawn(py, move |core| {
            Box::pin(async move {
                let outcome = core.run(&sql, &info, values).await?;
                Ok(Python::attach(|py| {
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
        let dml = info.dml;
        let result = self
            .shared
            .block(py, async move |core| core.run_many(&sql, sets).await)?;
        Ok(NativeResult::exec(self.shared.clone(), result, dml))
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
        let dml = info.dml;
        let conn = self.shared.clone();
        self.shared.spawn(py, move |core| {
            Box::pin(async move {
                let result = core.run_many(&sql, sets).await?;
                Ok(Ok::<_, PyErr>(NativeResult::exec(conn, result, dml)))
            })
        })
    }

    /// Runs every statement of a script, blocking.
    fn executescript(&self, py: Python<'_>, script: String) -> PyResult<()> {
        self.shared
            .block(py, async move |core| core.run_script(&script).await)
    }

    /// Runs every statement of a script; an awaitable.
    fn aexecutescript<'py>(&self, py: Python<'py>, script: String) -> PyResult<Bound<'py, PyAny>> {
        self.shared.spawn(py, move |core| {
            Box::pin(async move {
                core.run_script(&script).await?;
                Ok(Ok::<_, PyErr>(()))
            })
        })
    }

    /// COMMIT (or ROLLBACK) if a transaction is open, blocking.
    fn end_transaction(&self, py: Python<'_>, commit: bool) -> PyResult<()> {
        self.shared
            .block(py, async move |core| core.end_transaction(commit).await)
    }

    /// COMMIT (or ROLLBACK) if a transaction is open; an awaitable.
    fn aend_transaction<'py>(&self, py: Python<'py>, commit: bool) -> PyResult<Bound<'py, PyAny>> {
        self.shared.spawn(py, move |core| {
            Box::pin(async move {
                core.end_transaction(commit).await?;
                Ok(Ok::<_, PyErr>(()))
            })
        })
    }

    /// Closes the connection, blocking until a running operation ends.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if !self.shared.process.is_current() {
            // Inherited through fork(): nothing to close in this process (dropping the
            // object closes this process's copy of the socket, see `fork`).
            return Ok(());
        }
        let core = self.shared.core.clone();
        if let Ok(mut c) = core.try_lock() {
            c.close();
            return Ok(());
        }
        if let Driver::Async(reactor) = &self.shared.driver {
            // An operation is running on the event loop: make its I/O fail; the core
            // then closes the connection.
            reactor.abort("the connection was closed");
            return Ok(());
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(DbError::interface("close() called inside a tokio runtime").into());
        }
        py.detach(move || core.blocking_lock().close());
        Ok(())
    }

    /// Closes the connection once a running operation ends; an awaitable.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.shared.spawn(py, move |core| {
            Box::pin(async move {
                core.close();
                Ok(Ok::<_, PyErr>(()))
            })
        })
    }
}

/// True when `sql` ends with a complete statement (as `sqlite3.complete_statement`).
#[pyfunction]
fn complete_statement(sql: &str) -> bool {
    dqlite_client::sql::is_complete(sql)
}

/// True when the first statement is INSERT, UPDATE, DELETE or REPLACE.
#[pyfunction]
fn is_dml(sql: &str) -> bool {
    SqlInfo::of(sql).dml
}

/// The `dqlitedbapi._native` module.
#[pymodule]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::{NativeConnection, NativeResult, complete_statement, is_dml};

    #[pymodule_export]
    use crate::fork::_after_fork_in_child;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        crate::fork::register(m)
    }

    /// Version of the native core (the Rust crate's version).
    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    /// The dqlite wire protocol version this driver speaks.
    #[pymodule_export]
    const PROTOCOL_VERSION: u64 = dqlite_wire::PROTOCOL_VERSION;
}
