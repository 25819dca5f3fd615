//! `NativeSession`: one connection to one node with a database open, as
//! `dqliteclient.DqliteConnection` uses it: statements run as they are given (no leader
//! discovery, no session modes), results read whole within row and frame caps.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;

use dqlite_client::sql::{self, StatementKind, TransactionEffect};
use dqlite_client::{Address, Config, Connection, PooledConnection};
use dqlite_wire::RowsFrame;
use pyo3::prelude::*;
use tokio::sync::Mutex as TokioMutex;

use super::cluster::seconds;
use super::run::{self, Mode};
use super::{ClientError, values};
use crate::closing::{CloseRequest, Interrupt, close_within};
use crate::dial::PyDialer;

/// The connection a session holds: its own, or one checked out of a pool.
pub(crate) enum Held {
    Direct(Connection),
    Pooled(PooledConnection),
}

impl Deref for Held {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Held::Direct(c) => c,
            Held::Pooled(c) => c,
        }
    }
}

impl DerefMut for Held {
    fn deref_mut(&mut self) -> &mut Connection {
        match self {
            Held::Direct(c) => c,
            Held::Pooled(c) => c,
        }
    }
}

impl Held {
    /// Closes the connection; a pooled one leaves its pool for good.
    fn discard(self) {
        if let Held::Pooled(c) = self {
            drop(c.detach());
        }
    }
}

/// Closes the connection `held` has, if any (a pooled one leaves its pool).
fn discard(held: &mut Option<Held>) {
    if let Some(conn) = held.take() {
        conn.discard();
    }
}

/// The state one session's calls share.
struct State {
    held: Arc<TokioMutex<Option<Held>>>,
    /// `close()` was called: the running call is cut off (its future dropped where it is
    /// polled, on whichever thread or event loop), and the connection closed as it ends.
    close: CloseRequest,
}

/// A session with one node (see the module documentation).
#[pyclass(frozen, module = "dqlitedbapi._native")]
pub(crate) struct NativeSession {
    mode: Mode,
    address: String,
    state: Arc<State>,
}

impl NativeSession {
    /// A session over `held`.
    pub(crate) fn new(mode: Mode, held: Held) -> Self {
        NativeSession {
            mode,
            address: held.address().to_string(),
            state: Arc::new(State {
                held: Arc::new(TokioMutex::new(Some(held))),
                close: CloseRequest::default(),
            }),
        }
    }

    /// Runs `op` on the connection (`writes`: a statement that may change data). A
    /// failure that leaves the connection unusable closes it; so does a close requested
    /// meanwhile, which cuts the call off (see [`crate::closing`]).
    fn call<T, F, C>(&self, py: Python<'_>, writes: bool, op: F, convert: C) -> PyResult<Py<PyAny>>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Connection) -> SessionFuture<'a, T> + Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
    {
        let state = self.state.clone();
        self.mode.finish(
            py,
            async move {
                let mut guard = state.held.clone().lock_owned().await;
                if state.close.is_requested() {
                    discard(&mut guard);
                }
                let Some(held) = guard.as_mut() else {
                    return Err(ClientError::new("closed", "Not connected"));
                };
                let mut out = match state.close.watch(op(held)).await {
                    Some(out) => out,
                    // Cut off: in the middle of a request, the client broke the connection.
                    None => Err(cut_off(writes && held.is_broken())),
                };
                let closing = state.close.is_requested();
                if closing && let Err(e) = &mut out {
                    e.cut_off_by_close();
                }
                if closing || out.as_ref().is_err_and(|e| e.connection_lost) {
                    discard(&mut guard);
                }
                out
            },
            convert,
        )
    }
}

/// The failure of a call that `close()` cut off (then worded by `cut_off_by_close`):
/// `in_doubt` when a write's request was in flight.
fn cut_off(in_doubt: bool) -> ClientError {
    let (kind, message) = if in_doubt {
        (
            "outcome_unknown",
            "the request was sent and its answer not read",
        )
    } else {
        ("closed", "its answer was not read")
    };
    ClientError {
        connection_lost: true,
        ..ClientError::new(kind, message)
    }
}

/// What an operation on the session's connection returns.
type SessionFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ClientError>> + Send + 'a>>;

/// Reads every frame of a query's result, within the caps (a result over a cap leaves
/// the session unusable, as in the reference client).
async fn read_result(
    conn: &mut Connection,
    sql: &str,
    params: &[dqlite_client::Value],
    max_rows: Option<u64>,
    max_frames: Option<u64>,
) -> Result<(Vec<String>, Vec<RowsFrame>), ClientError> {
    let mut rows = conn.query(sql, params).await?;
    let columns = rows.columns().to_vec();
    let mut frames = Vec::new();
    let mut total: u64 = 0;
    while let Some(frame) = rows.next_frame().await? {
        let count = u64::try_from(frames.len()).unwrap_or(u64::MAX);
        if max_frames.is_some_and(|cap| count >= cap) {
            let cap = max_frames.unwrap_or_default();
            return Err(over_cap(format!(
                "Query exceeded max_continuation_frames cap ({cap})"
            )));
        }
        total = total.saturating_add(u64::try_from(frame.row_count()).unwrap_or(u64::MAX));
        if let Some(cap) = max_rows.filter(|cap| total > *cap) {
            return Err(over_cap(format!(
                "Query exceeded max_total_rows cap ({cap}); reduce the result size or raise \
                 the cap"
            )));
        }
        frames.push(frame);
    }
    Ok((columns, frames))
}

/// Runs the statements of a script in turn, as `Connection::execute_script` does: the
/// summed rows-affected count and the last insert id of the last statement that changed
/// data. A failure names the statement that failed (those before it ran), so that the
/// Python package knows which of them moved the transaction.
async fn run_script(conn: &mut Connection, statements: &[&str]) -> Result<(i64, u64), ClientError> {
    let (mut last_insert_id, mut rows_affected) = (0i64, 0u64);
    for (index, statement) in statements.iter().enumerate() {
        let outcome = match sql::classify(statement) {
            StatementKind::Query | StatementKind::WriteReturning => {
                conn.query_all(statement, &[]).await.map(|_| None)
            }
            _ => conn.execute(statement, &[]).await.map(Some),
        };
        match outcome {
            Ok(Some(result)) => {
                rows_affected = rows_affected.saturating_add(result.rows_affected);
                last_insert_id = result.last_insert_id;
            }
            Ok(None) => {}
            Err(e) => {
                return Err(ClientError {
                    statement: Some(u32::try_from(index).unwrap_or(u32::MAX)),
                    ..ClientError::from(e)
                });
            }
        }
    }
    Ok((last_insert_id, rows_affected))
}

fn over_cap(message: String) -> ClientError {
    ClientError {
        connection_lost: true,
        ..ClientError::new("row_cap", message)
    }
}

#[pymethods]
impl NativeSession {
    /// Dials `address`, handshakes and opens `database`, within `attempt_timeout`
    /// seconds (the dial within `dial_timeout`, each request within `timeout`). A session,
    /// or with `asynchronous` an awaitable of one. `dialer(address, fd)` opens the
    /// connection instead of the client (see `dqlitedbapi._dial.native_dialer`).
    #[staticmethod]
    #[pyo3(signature = (address, database, *, timeout, dial_timeout, attempt_timeout, max_frame_len, asynchronous, dialer = None))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        py: Python<'_>,
        address: String,
        database: String,
        timeout: f64,
        dial_timeout: f64,
        attempt_timeout: f64,
        max_frame_len: Option<usize>,
        asynchronous: bool,
        dialer: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let mut config = Config::new([address.as_str()])
            .map_err(|e| ClientError::from(e).into_pyerr(py))?
            .request_timeout(seconds("timeout", timeout)?)
            .dial_timeout(seconds("dial_timeout", dial_timeout)?);
        if let Some(len) = max_frame_len {
            config = config.max_frame_len(len);
        }
        if let Some(dialer) = dialer {
            config = config.dialer(Arc::new(PyDialer::new(dialer)));
        }
        let attempt = seconds("attempt_timeout", attempt_timeout)?;
        let mode = Mode::new(asynchronous)?;
        let session_mode = mode.clone();
        mode.finish(
            py,
            async move {
                let target: Address = address.parse()?;
                let connecting = async {
                    let mut conn = Connection::handshake(&target, &config).await?;
                    conn.open(&database).await?;
                    Ok::<_, dqlite_client::Error>(conn)
                };
                match tokio::time::timeout(attempt, connecting).await {
                    Ok(conn) => Ok(conn?),
                    Err(_) => Err(ClientError {
                        connection_lost: true,
                        ..ClientError::new("attempt_timeout", "the handshake timed out")
                    }),
                }
            },
            move |py, conn| {
                Py::new(py, NativeSession::new(session_mode, Held::Direct(conn))).map(Py::into_any)
            },
        )
    }

    /// The node's address.
    #[getter]
    fn address(&self) -> &str {
        &self.address
    }

    /// True while the session can take a request (also while one runs).
    #[getter]
    fn is_connected(&self) -> bool {
        match self.state.held.try_lock() {
            Ok(held) => held.as_ref().is_some_and(|c| !c.is_broken()),
            Err(_) => !self.state.close.is_requested(),
        }
    }

    /// Runs one statement (or several, in order): `(last_insert_id, rows_affected)`.
    #[pyo3(signature = (sql, params = None))]
    fn execute(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let values = values::to_values(params).map_err(|e| e.into_pyerr(py))?;
        self.call(
            py,
            true,
            move |conn| {
                Box::pin(async move {
                    let statements = sql::split_statements(&sql);
                    if values.is_empty() && statements.len() > 1 {
                        return run_script(conn, &statements).await;
                    }
                    let result = conn.execute(&sql, &values).await?;
                    Ok((result.last_insert_id, result.rows_affected))
                })
            },
            run::plain,
        )
    }

    /// Runs a query and reads its whole result: `(columns, column_types, row_types,
    /// rows)`. `max_rows` and `max_frames` cap it (None: no cap).
    #[pyo3(signature = (sql, params = None, *, max_rows = None, max_frames = None))]
    fn query(
        &self,
        py: Python<'_>,
        sql: String,
        params: Option<&Bound<'_, PyAny>>,
        max_rows: Option<u64>,
        max_frames: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        let values = values::to_values(params).map_err(|e| e.into_pyerr(py))?;
        self.call(
            py,
            false,
            move |conn| {
                Box::pin(
                    async move { read_result(conn, &sql, &values, max_rows, max_frames).await },
                )
            },
            |py, (columns, frames): (Vec<String>, Vec<RowsFrame>)| {
                let (column_types, row_types, rows) = values::rows(py, &frames)?;
                run::plain(py, (columns, column_types, row_types, rows))
            },
        )
    }

    /// Closes the connection: now, or, while a call runs on it (on another thread or
    /// task), by cutting that call off, which then fails and closes it as it ends. A
    /// pooled connection leaves its pool. True when the connection was closed now; False
    /// while the call it interrupted holds it (see `wait_closed`).
    fn close(&self) -> bool {
        self.state.close.request(Interrupt::Future);
        match self.state.held.try_lock() {
            Ok(mut held) => {
                discard(&mut held);
                true
            }
            Err(_) => false,
        }
    }

    /// After `close()`: waits at most `timeout` seconds for the call it interrupted to
    /// end, then closes the connection (the call closes it itself if it ends later). An
    /// awaitable when asynchronous.
    fn wait_closed(&self, py: Python<'_>, timeout: f64) -> PyResult<Py<PyAny>> {
        let wait = seconds("close_timeout", timeout)?;
        let held = self.state.held.clone();
        match &self.mode {
            Mode::Blocking(_) => {
                crate::exiting::detach(py, move || close_within(&held, wait, discard));
                crate::logging::after_call(py);
                Ok(py.None())
            }
            Mode::Async => self.mode.finish(
                py,
                async move {
                    if let Ok(mut held) = tokio::time::timeout(wait, held.lock()).await {
                        discard(&mut held);
                    }
                    Ok(())
                },
                run::none,
            ),
        }
    }

    /// Gives a pooled connection back to its pool (a connection of its own is closed; so
    /// is one that `close()` was called on). Returns False, changing nothing, while a
    /// call runs.
    fn release(&self) -> bool {
        match self.state.held.try_lock() {
            Ok(mut held) => {
                if self.state.close.is_requested() {
                    discard(&mut held);
                }
                drop(held.take());
                true
            }
            Err(_) => false,
        }
    }
}

/// How each statement of `sql` moves the transaction: 1 begins, -1 ends, 0 neither.
#[pyfunction]
pub(crate) fn transaction_effects(sql: &str) -> Vec<i8> {
    sql::split_statements(sql)
        .into_iter()
        .map(|statement| match sql::transaction_effect(statement) {
            TransactionEffect::Begins => 1,
            TransactionEffect::Ends => -1,
            _ => 0,
        })
        .collect()
}
