//! A session: one dqlite connection with its database open, the result stream currently
//! being read, transaction tracking, and the closed state. The sync and asyncio front
//! ends share it.
//!
//! Every method is `async` and takes `&mut self`; the sync front end runs them on the
//! connection's own current-thread runtime (on the caller's thread, GIL released), the
//! asyncio front end as tasks on the event loop's thread. The session sits behind one
//! lock, so one operation runs at a time, and owns its connection outright: an open result
//! is a [`RowStream`] read with the connection lent per call.
//!
//! A result is read frame by frame. When another statement starts while a result is still
//! open, the rest of that result is read into the result's own buffer first (so an earlier
//! cursor stays readable, as with `sqlite3`), unless nobody holds the result any more, in
//! which case the client interrupts and drains it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use dqlite_client::sql::{self, StatementKind};
use dqlite_client::{
    ClassifiedSql, Cluster, Config, Connection, Error, ExecResult, RowStream, Value,
};
use dqlite_wire::RowsFrame;

use crate::closing::CloseRequest;
use crate::errors::{Class, DbError, map_error};
use crate::parked::{CutOff, PARK_LIMIT, ResultShared, lost_rest};
use crate::runtime::{GIVE_BACK_EVERY, give_control_back};
use crate::statement::SqlInfo;
use crate::transaction::TxState;

/// The result being read on the connection, and the Python result it belongs to.
struct Active {
    rows: RowStream,
    owner: Weak<ResultShared>,
}

/// What a statement produced.
pub enum Outcome {
    /// A result with columns, whose first frame was read.
    Rows {
        columns: Vec<String>,
        first: Option<RowsFrame>,
        /// More frames may follow (read through [`Session::next_frame_for`]).
        more: bool,
        /// What the result shares with the session, when more frames may follow.
        shared: Option<Arc<ResultShared>>,
    },
    /// A statement without rows; `insert` for an INSERT or REPLACE (whose last insert
    /// rowid the cursor reports).
    Exec {
        result: ExecResult,
        dml: bool,
        insert: bool,
    },
}

/// Connection options from `connect()`.
pub struct ConnectOptions {
    pub seeds: Vec<String>,
    pub database: String,
    pub timeout: Duration,
    /// How long "database is locked" answers are retried.
    pub busy_timeout: Duration,
    /// Deadline for dialing one node (default: `timeout`, at most 5 s).
    pub dial_timeout: Option<Duration>,
    /// The largest response frame accepted (default: the client's).
    pub max_frame_len: Option<usize>,
    /// Deadline for finding the leader and opening the database (default: `timeout`).
    pub connect_timeout: Option<Duration>,
    /// TLS to the nodes, if any.
    pub tls: Option<dqlite_client::TlsConfig>,
    /// Opens the sockets to the nodes in place of the client (`dial_func`).
    pub dialer: Option<Arc<dyn dqlite_client::Dialer>>,
}

/// One connection and its state.
pub struct Session {
    /// `None` once closed.
    conn: Option<Connection>,
    active: Option<Active>,
    closed: Option<String>,
    tx: TxState,
    /// `tx` and `closed` as the getters read them, and the busy timeout asked for (see
    /// [`Status`]).
    status: Arc<Status>,
    /// The busy timeout the connection has (nanoseconds), to see when it changed.
    busy_timeout: u64,
}

/// Whether a session is in a transaction and whether it is closed, readable without the
/// session's lock: a call in progress holds it, and the getters must not guess meanwhile.
/// Updated whenever the session's state changes.
#[derive(Debug, Default)]
pub struct Status {
    in_transaction: AtomicBool,
    closed: AtomicBool,
    /// `close()` was called while a call held the session: that call closes it when it
    /// ends (see [`Session::after_call`]).
    close: CloseRequest,
    /// The busy timeout (nanoseconds) the next statement applies: set by Python at any
    /// time (`PRAGMA busy_timeout = N`, the property), read when a statement starts.
    busy_timeout: AtomicU64,
}

impl Status {
    /// Sets the busy timeout of the statements that start from now on.
    pub fn set_busy_timeout(&self, timeout: Duration) {
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.busy_timeout.store(nanos, Ordering::Relaxed);
    }

    /// True inside a transaction (as of the last statement that finished).
    pub fn in_transaction(&self) -> bool {
        self.in_transaction.load(Ordering::Acquire)
    }

    /// True once the session was closed (or `close()` asked for it under a running call).
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.close.is_requested()
    }

    /// For `close()` while a call holds the session: the call closes it as it ends.
    pub fn close_request(&self) -> &CloseRequest {
        &self.close
    }
}

const CLOSED_BY_USER: &str = "the connection is closed";

/// EXECs in flight at once for `executemany` inside a transaction.
const PIPELINE_WINDOW: usize = 128;

impl Session {
    /// Finds the leader and opens the database.
    pub async fn connect(options: ConnectOptions) -> Result<Session, DbError> {
        let mut config = Config::new(&options.seeds)
            .map_err(|e| map_error(&e))?
            .database(options.database)
            .request_timeout(options.timeout)
            .connect_timeout(options.connect_timeout.unwrap_or(options.timeout))
            .busy_timeout(options.busy_timeout)
            .dial_timeout(
                options
                    .dial_timeout
                    .unwrap_or_else(|| options.timeout.min(Duration::from_secs(5))),
            );
        if let Some(bytes) = options.max_frame_len {
            config = config.max_frame_len(bytes);
        }
        if let Some(tls) = options.tls {
            config = config.tls(tls);
        }
        if let Some(dialer) = options.dialer {
            config = config.dialer(dialer);
        }
        let members = crate::node_stores::for_seeds(config.seeds());
        let conn = Cluster::with_shared_store(config, members)
            .connect()
            .await
            .map_err(|e| {
                // "Failed to connect: " is the pure-Python dqlite-dbapi's prefix
                // (FAILED_TO_CONNECT_PREFIX), which code matches on.
                let mut mapped = map_error(&e).connection_lost();
                mapped.message = format!("Failed to connect: {e}");
                if mapped.class == Class::Interface && !matches!(e, Error::Config(_)) {
                    mapped.class = Class::Operational;
                }
                mapped
            })?;
        let status = Arc::new(Status::default());
        status.set_busy_timeout(options.busy_timeout);
        Ok(Session {
            conn: Some(conn),
            active: None,
            closed: None,
            tx: TxState::default(),
            busy_timeout: status.busy_timeout.load(Ordering::Relaxed),
            status,
        })
    }

    /// Ends the connection's I/O from another thread while a call runs on it (see
    /// `dqlite_client::AbortHandle`): for a blocking socket, and for TLS.
    pub fn abort_handle(&self) -> Option<dqlite_client::AbortHandle> {
        self.conn.as_ref().and_then(Connection::abort_handle)
    }

    /// Whether a call on the connection is in the middle of a request (see
    /// `dqlite_client::RequestInFlight`).
    pub fn request_in_flight(&self) -> dqlite_client::RequestInFlight {
        self.conn
            .as_ref()
            .map(Connection::request_in_flight)
            .unwrap_or_default()
    }

    /// The session's status, as its getters read it.
    pub fn status(&self) -> Arc<Status> {
        self.status.clone()
    }

    /// Tracks a statement that succeeded (see [`TxState::track`]).
    fn track(&mut self, statement: &str) {
        self.tx.track(statement);
        self.status
            .in_transaction
            .store(self.tx.in_tx, Ordering::Release);
    }

    /// No transaction is open any more.
    fn reset_tx(&mut self) {
        self.tx.reset();
        self.status.in_transaction.store(false, Ordering::Release);
    }

    /// Reads and writes the socket with blocking calls on the polling thread (see
    /// `Connection::use_blocking_io`); for a connection driven by its own thread only.
    pub fn use_blocking_io(&mut self) -> Result<bool, DbError> {
        self.conn()?.use_blocking_io().map_err(|e| map_error(&e))
    }

    /// Hands the socket to another I/O loop (see `Connection::replace_socket`).
    pub fn replace_socket<S: dqlite_client::CustomStream>(
        &mut self,
        wrap: impl FnOnce(std::os::fd::OwnedFd) -> std::io::Result<S>,
    ) -> Result<(), DbError> {
        self.conn()?.replace_socket(wrap).map_err(|e| map_error(&e))
    }

    /// Before a statement: fails when the connection is closed, and gives the connection
    /// the busy timeout asked for since the last statement.
    fn start(&mut self) -> Result<(), DbError> {
        if self.status.close.is_requested() {
            self.close();
        }
        self.check_open()?;
        let wanted = self.status.busy_timeout.load(Ordering::Relaxed);
        if wanted != self.busy_timeout
            && let Some(conn) = self.conn.as_mut()
        {
            conn.set_busy_timeout(Duration::from_nanos(wanted));
            self.busy_timeout = wanted;
        }
        Ok(())
    }

    fn check_open(&self) -> Result<(), DbError> {
        match &self.closed {
            None => Ok(()),
            Some(reason) if reason == CLOSED_BY_USER => {
                Err(DbError::interface("Cannot operate on a closed connection.").connection_lost())
            }
            Some(reason) => Err(DbError::interface(format!(
                "Cannot operate on a closed connection: it was closed after an error ({reason})"
            ))
            .connection_lost()),
        }
    }

    fn conn(&mut self) -> Result<&mut Connection, DbError> {
        self.conn.as_mut().ok_or_else(|| {
            DbError::interface("Cannot operate on a closed connection.").connection_lost()
        })
    }

    /// Closes the connection. Results still open end with an error.
    pub fn close(&mut self) {
        self.close_with(CLOSED_BY_USER.to_owned());
    }

    /// Ends a call: when `close()` was called meanwhile, closes the session, and the error
    /// the call failed with (its I/O was cut off by the close) says so (see
    /// [`crate::closing::reword`]): a write in doubt stays `OutcomeUnknownError`; any
    /// other failure without a server answer becomes `InterfaceError` (as in the
    /// pure-Python driver, whose close fails the operations in flight so).
    pub fn after_call(&mut self, error: Option<&mut DbError>) {
        if !self.status.close.is_requested() {
            return;
        }
        // Closed before the call started (see `start`): its error says so already.
        let closed_before = self.closed.as_deref() == Some(CLOSED_BY_USER);
        self.close();
        if let Some(error) = error.filter(|_| !closed_before) {
            error.cut_off_by_close();
        }
    }

    fn close_with(&mut self, reason: String) {
        if let Some(active) = self.active.take()
            && let Some(owner) = active.owner.upgrade()
        {
            owner.fail(
                DbError::interface(format!(
                    "the connection was closed before the result was read: {reason}"
                ))
                .connection_lost(),
            );
        }
        if let Some(conn) = self.conn.take()
            && reason != CLOSED_BY_USER
        {
            tracing::info!(
                target: "dqlitedbapi::connection",
                node = %conn.address(),
                %reason,
                "connection discarded"
            );
        }
        self.reset_tx();
        if self.closed.is_none() {
            self.closed = Some(reason);
            self.status.closed.store(true, Ordering::Release);
        }
    }

    /// Settles the state after a failed operation and maps the error.
    async fn fail(&mut self, error: Error, was_in_tx: bool) -> DbError {
        let mut mapped = map_error(&error);
        let broken = self.conn.as_ref().is_none_or(Connection::is_broken);
        if broken || error.is_fatal_to_connection() {
            self.close_with(error.to_string());
        } else if was_in_tx {
            // Boxed: an error path, kept out of the size of every statement's future.
            Box::pin(self.probe_transaction()).await;
        }
        mapped.connection_lost |= self.closed.is_some();
        mapped
    }

    /// Finds out whether a transaction is still open after an error (SQLite rolls back
    /// by itself on some): BEGIN fails inside a transaction, and is rolled back at once
    /// otherwise.
    async fn probe_transaction(&mut self) {
        let Ok(conn) = self.conn() else {
            return;
        };
        match conn.execute("BEGIN", &[]).await {
            Ok(_) => {
                let rolled_back = conn.execute("ROLLBACK", &[]).await;
                self.reset_tx();
                // Refused ("checkpoint in progress"...), the ROLLBACK leaves the probe's
                // own transaction open on the node, where every later statement would run:
                // the connection is given up unless it found no transaction.
                if let Err(e) = rolled_back
                    && !e
                        .server_error()
                        .is_some_and(|s| s.is_no_transaction_active())
                {
                    self.close_with(e.to_string());
                }
            }
            Err(e) => {
                if e.is_fatal_to_connection() {
                    self.close_with(e.to_string());
                }
                // Otherwise ("cannot start a transaction within a transaction") the
                // transaction is still open.
            }
        }
    }

    /// Reads the rest of the open result into its owner's buffer, or lets the client
    /// drain it when nobody wants it.
    ///
    /// Frames go into the buffer as they arrive, at most [`PARK_LIMIT`] bytes of them. When
    /// the limit is reached, or this future is dropped before the end (Ctrl-C in a
    /// blocking call), the rest of the result is given up (the client drains it) and the
    /// owner gets an error after the frames it did receive.
    async fn park(&mut self) {
        if self.active.is_some() {
            // Boxed: rarely taken, and its loop would make every statement's future (moved
            // on each call) larger.
            Box::pin(self.park_active()).await;
        }
    }

    /// [`park`](Self::park) when a result is open.
    async fn park_active(&mut self) {
        let Some(active) = self.active.take() else {
            return;
        };
        let owner = active.owner.upgrade();
        let Some(owner) = owner.filter(|o| !o.is_abandoned()) else {
            // Left unread, the rest is drained (INTERRUPT) before the next request.
            return;
        };
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let mut rows = active.rows;
        let mut cut = CutOff::new(&owner);
        let mut parked = 0usize;
        let mut since = std::time::Instant::now();
        let failure = loop {
            if since.elapsed() >= GIVE_BACK_EVERY {
                // Frames that keep arriving never make this future wait: let the blocking
                // driver check for Ctrl-C.
                give_control_back().await;
                since = std::time::Instant::now();
            }
            match rows.next_frame(conn).await {
                Ok(Some(frame)) => {
                    parked = parked.saturating_add(frame.body().len());
                    if parked > PARK_LIMIT {
                        cut.settle(Some(DbError::operational(format!(
                            "the rest of this result was discarded: another statement ran on \
                             the connection while more than {} MiB of it were unread; fetch \
                             the rows before running another statement, or use another \
                             connection",
                            PARK_LIMIT >> 20
                        ))));
                        return;
                    }
                    owner.park(frame);
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        drop(rows);
        cut.settle(failure.as_ref().map(map_error));
        if let Some(e) = failure {
            let was_in_tx = self.tx.in_tx;
            self.fail(e, was_in_tx).await;
        }
    }

    /// Runs one statement.
    pub async fn run(&mut self, info: &SqlInfo, params: Vec<Value>) -> Result<Outcome, DbError> {
        self.start()?;
        self.park().await;
        self.check_open()?;
        let was_in_tx = self.tx.in_tx;
        let statement = &info.statement;
        let result = match statement.kind() {
            StatementKind::Query | StatementKind::WriteReturning => {
                self.start_rows(statement, &params).await
            }
            _ => self
                .conn()?
                .execute_classified(statement, &params)
                .await
                .map(|result| Outcome::Exec {
                    result,
                    dml: statement.is_dml(),
                    insert: info.insert,
                }),
        };
        match result {
            Ok(outcome) => {
                if info.tx_control {
                    self.track(statement.text());
                }
                Ok(outcome)
            }
            Err(e) => Err(self.fail(e, was_in_tx).await),
        }
    }

    async fn start_rows(
        &mut self,
        statement: &ClassifiedSql,
        params: &[Value],
    ) -> Result<Outcome, Error> {
        let Ok(conn) = self.conn() else {
            return Err(Error::Closed {
                reason: "the connection is closed".into(),
            });
        };
        let mut rows = conn.query_classified(statement, params).await?;
        let first = rows.next_frame().await?;
        let more = !rows.is_done();
        let mut rows = rows.detach();
        // A result of one frame gives its names up; one still being read keeps them.
        let columns = match rows.take_columns() {
            Some(columns) => columns,
            None => rows.columns().to_vec(),
        };
        // Only a result still being read needs what it shares with the session.
        let shared = more.then(|| {
            let shared = Arc::new(ResultShared::default());
            self.active = Some(Active {
                rows,
                owner: Arc::downgrade(&shared),
            });
            shared
        });
        Ok(Outcome::Rows {
            columns,
            first,
            more,
            shared,
        })
    }

    /// The next frame of `shared`'s result: from its buffer if the connection moved on,
    /// else from the connection. `None` at the end.
    pub async fn next_frame_for(
        &mut self,
        shared: &Arc<ResultShared>,
    ) -> Result<Option<RowsFrame>, DbError> {
        if let Some(answer) = shared.take_parked() {
            return answer;
        }
        let mine =
            matches!(&self.active, Some(a) if std::ptr::eq(a.owner.as_ptr(), Arc::as_ptr(shared)));
        let (Some(active), Some(conn)) = (self.active.as_mut().filter(|_| mine), &mut self.conn)
        else {
            // Every way a result stops being the active one settles it first; this one
            // was not, so its end never arrived: never report a short result as complete.
            shared.finish();
            self.check_open()?;
            return Err(lost_rest("its end never arrived"));
        };
        match active.rows.next_frame(conn).await {
            Ok(Some(frame)) => {
                if active.rows.is_done() {
                    self.active = None;
                    shared.finish();
                }
                Ok(Some(frame))
            }
            Ok(None) => {
                self.active = None;
                shared.finish();
                Ok(None)
            }
            Err(e) => {
                self.active = None;
                shared.finish();
                let was_in_tx = self.tx.in_tx;
                Err(self.fail(e, was_in_tx).await)
            }
        }
    }

    /// Runs a statement once per parameter set (prepared once); returns the summed change
    /// count and the last insert id.
    pub async fn run_many(
        &mut self,
        sql: &str,
        sets: Vec<Vec<Value>>,
    ) -> Result<ExecResult, DbError> {
        self.start()?;
        if matches!(
            sql::classify(sql),
            StatementKind::Query | StatementKind::WriteReturning
        ) {
            return Err(DbError::programming(
                "executemany() can only execute DML statements.",
            ));
        }
        self.park().await;
        self.check_open()?;
        let was_in_tx = self.tx.in_tx;
        let conn = self.conn()?;
        let dml = sql::is_dml(sql);
        // Inside a transaction, many EXECs are in flight at once (the answers are read in
        // order; the first failure stops the batch). In autocommit each row runs alone,
        // so a failure leaves exactly the rows before it applied.
        let window = if was_in_tx { PIPELINE_WINDOW } else { 1 };
        let outcome = async {
            let mut total = ExecResult::default();
            if sets.len() <= 1 {
                for params in &sets {
                    total = conn.execute(sql, params).await?;
                }
                return Ok(total);
            }
            if sets.iter().all(|p| p.len() <= 255) {
                return conn.execute_many(sql, &sets, window).await;
            }
            let statement = conn.prepare(sql).await?;
            for (row, params) in sets.iter().enumerate() {
                match conn.execute_prepared(&statement, params).await {
                    Ok(r) => {
                        total.rows_affected += r.rows_affected;
                        total.last_insert_id = r.last_insert_id;
                    }
                    Err(e) => {
                        if !e.is_fatal_to_connection() {
                            let _ = conn.finalize(statement).await;
                        }
                        return Err(Error::Batch {
                            row,
                            source: Box::new(e),
                        });
                    }
                }
            }
            // Every row ran: a FINALIZE that fails (it only frees the statement) breaks the
            // connection, which the next call reports, and leaves this outcome as it is.
            let _ = conn.finalize(statement).await;
            Ok(total)
        }
        .await;
        match outcome {
            Ok(mut total) => {
                if !dml {
                    total.rows_affected = 0;
                }
                if !sets.is_empty() {
                    self.track(sql);
                }
                Ok(total)
            }
            Err(e) => Err(self.fail(e, was_in_tx).await),
        }
    }

    /// Runs every statement of a script; rows are discarded.
    pub async fn run_script(&mut self, script: &str) -> Result<(), DbError> {
        self.start()?;
        self.park().await;
        self.check_open()?;
        for statement in sql::split_statements(script) {
            let was_in_tx = self.tx.in_tx;
            let conn = self.conn()?;
            let result = match sql::classify(statement) {
                StatementKind::Query | StatementKind::WriteReturning => {
                    conn.query_all(statement, &[]).await.map(drop)
                }
                _ => conn.execute(statement, &[]).await.map(drop),
            };
            match result {
                Ok(()) => self.track(statement),
                Err(e) => return Err(self.fail(e, was_in_tx).await),
            }
        }
        Ok(())
    }

    /// COMMIT or ROLLBACK when a transaction is open; nothing otherwise.
    pub async fn end_transaction(&mut self, commit: bool) -> Result<(), DbError> {
        self.check_open()?;
        if !self.tx.in_tx {
            return Ok(());
        }
        let statement = if commit { "COMMIT" } else { "ROLLBACK" };
        match self.run(&SqlInfo::of(statement), Vec::new()).await {
            Ok(_) => Ok(()),
            // SQLite ended the transaction by itself (after some errors): nothing to end.
            Err(e) if e.no_transaction => {
                self.reset_tx();
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
