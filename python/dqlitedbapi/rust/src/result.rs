//! `NativeResult`: the result of one statement as Python sees it, its rows fetched a
//! frame at a time (blocking, or awaitable on the event loop).

use std::sync::Arc;

use dqlite_wire::RowsFrame;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use tokio::sync::Mutex as TokioMutex;

use crate::connection::Conn;
use crate::convert;
use crate::errors::DbError;
use crate::limits::ResultLimits;
use crate::parked::{ResultShared, lost_rest};
use crate::session::{Outcome, Session};

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
    /// Frames received so far.
    frames: usize,
    limits: ResultLimits,
    /// The result went over a cap: every fetch raises this.
    failed: Option<DbError>,
    /// Rows taken from the frames so far (handed to Python, or carried).
    taken: usize,
    /// Columns whose date-time cells are kept as sent (for converters).
    raw: Vec<bool>,
}

impl ReadState {
    fn new(frame: Option<RowsFrame>, more: bool, limits: ResultLimits) -> Self {
        let received = frame.as_ref().map_or(0, RowsFrame::row_count);
        ReadState {
            frames: usize::from(frame.is_some()),
            frame,
            pos: 0,
            more,
            carried: None,
            received,
            taken: 0,
            limits,
            failed: None,
            raw: Vec::new(),
        }
    }

    /// Takes the next frame of the result; over a cap, the result ends with an error
    /// (every later fetch raises it) and the connection discards the rest.
    fn receive(&mut self, frame: RowsFrame, shared: &ResultShared) -> Result<(), DbError> {
        self.received += frame.row_count();
        self.frames += 1;
        if let Err(e) = self.limits.check(self.received, self.frames) {
            self.more = false;
            self.frame = None;
            self.failed = Some(e.clone());
            shared.abandon();
            return Err(e);
        }
        self.frame = Some(frame);
        Ok(())
    }

    /// The error of a result that went over a cap.
    fn check_failed(&self) -> PyResult<()> {
        match &self.failed {
            Some(e) => Err(e.clone().into_pyerr()),
            None => Ok(()),
        }
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
        let taken = convert::append_rows(py, frame, &mut self.pos, want, names, &self.raw, out);
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
pub struct NativeResult {
    conn: Arc<Conn>,
    /// What the result shares with the session while frames may remain (none for a
    /// result complete at once).
    shared: Option<Arc<ResultShared>>,
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
    pub fn from_outcome(
        py: Python<'_>,
        conn: Arc<Conn>,
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
                let limits = conn.limits;
                let rows = first.as_ref().map_or(0, RowsFrame::row_count);
                if let Err(e) = limits.check(rows, 1) {
                    if let Some(shared) = &shared {
                        shared.abandon();
                    }
                    return Err(e.into());
                }
                let (names, type_codes, description) =
                    conn.described.describe(py, columns, first.as_ref())?;
                NativeResult {
                    conn,
                    shared,
                    names: Some(names),
                    type_codes: Some(type_codes),
                    description: Some(description),
                    rowcount: -1,
                    lastrowid: None,
                    count_rows,
                    state: Arc::new(TokioMutex::new(ReadState::new(first, more, limits))),
                }
            }
            Outcome::Exec {
                result,
                dml,
                insert,
            } => NativeResult::exec(conn, result, dml, insert),
        })
    }

    /// The result of a statement without rows; the last insert rowid is kept for an
    /// INSERT or REPLACE only (other statements leave a cursor's `lastrowid` as it was).
    pub fn exec(
        conn: Arc<Conn>,
        result: dqlite_client::ExecResult,
        dml: bool,
        insert: bool,
    ) -> Self {
        NativeResult {
            conn,
            shared: None,
            names: None,
            type_codes: None,
            description: None,
            rowcount: if dml {
                i64::try_from(result.rows_affected).unwrap_or(i64::MAX)
            } else {
                -1
            },
            lastrowid: insert.then_some(result.last_insert_id),
            count_rows: false,
            state: Arc::new(TokioMutex::new(ReadState::new(
                None,
                false,
                ResultLimits::default(),
            ))),
        }
    }
}

/// Where the frames still to come of a result are read from; every result that has more
/// frames has it (see `Session::start_rows`), so its absence is an error, never an end.
fn rest_of(shared: Option<&Arc<ResultShared>>) -> PyResult<&Arc<ResultShared>> {
    shared.ok_or_else(|| lost_rest("its end never arrived").into())
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
            && state.failed.is_none()
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

    /// The rowid this INSERT or REPLACE inserted last (the connection's last insert
    /// rowid after it); None for other statements.
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
        state.check_failed()?;
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
                state.check_failed()?;
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
        let session = self.conn.session.clone();
        let shared = self.shared.clone();
        reactor.spawn_with(py, move |py_future| {
            let py_future = py_future.clone().unbind();
            async move {
                let (mut state, out) = match ready {
                    Some(ready) => ready,
                    None => {
                        let mut state = lock.lock_owned().await;
                        let out = crate::exiting::attach(|py| {
                            state
                                .check_failed()
                                .map(|()| state.start(py, want).unbind())
                        })?;
                        (state, out)
                    }
                };
                let filled =
                    fill_async(&session, shared.as_ref(), &mut state, &names, want, &out).await;
                crate::exiting::attach(|py| {
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
            }
        })
    }

    /// Keeps the date-time cells of the columns marked True as sent (ISO8601 as str,
    /// UNIXTIME as int) in the rows fetched from now on: a converter gets the stored value.
    fn raw_columns(&self, mask: Vec<bool>) -> PyResult<()> {
        let mut state = self.state.try_lock().map_err(|_| busy_cursor())?;
        state.raw = mask;
        Ok(())
    }

    /// Gives up the rest of the result; the connection discards it.
    fn close(&self) {
        if let Some(shared) = &self.shared {
            shared.abandon();
        }
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
            let shared = rest_of(self.shared.as_ref())?.clone();
            let for_call = shared.clone();
            let frame = self.conn.block(py, async move |session| {
                session.next_frame_for(&for_call).await
            })?;
            match frame {
                Some(frame) => state.receive(frame, &shared)?,
                None => state.more = false,
            }
        }
        Ok(())
    }
}

/// [`NativeResult::fill`] on the event loop: frames are read through the session's lock.
async fn fill_async(
    session: &TokioMutex<Session>,
    shared: Option<&Arc<ResultShared>>,
    state: &mut ReadState,
    names: &Py<PyTuple>,
    want: usize,
    out: &Py<PyList>,
) -> PyResult<()> {
    loop {
        let more = crate::exiting::attach(|py| -> PyResult<bool> {
            let out = out.bind(py);
            while out.len() < want && state.frame.is_some() {
                state.take_rows(py, names.bind(py), want - out.len(), out)?;
            }
            Ok(out.len() < want && state.more)
        })?;
        if !more {
            return Ok(());
        }
        let shared = rest_of(shared)?;
        let frame = {
            let mut session = session.lock().await;
            session.next_frame_for(shared).await
        }
        .map_err(DbError::into_pyerr)?;
        match frame {
            Some(frame) => state.receive(frame, shared).map_err(DbError::into_pyerr)?,
            None => state.more = false,
        }
    }
}
