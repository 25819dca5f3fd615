//! The statement worker: one thread that owns the shell's database connection and runs
//! statements on it, so that the main thread stays free to notice Ctrl-C.
//!
//! The blocking client runs each request on the calling thread and cannot be cancelled
//! from outside, so the main thread hands each statement to this worker and waits for its
//! rows in short slices, polling [`crate::interrupt`]. On Ctrl-C it stops listening, and
//! the statement is abandoned:
//!
//! * While rows stream, the worker finds nobody listening when it passes on the next batch.
//!   A dqlite server never stops a result early (INTERRUPT is only read once the result
//!   has been sent), so the worker reads and discards the rest for up to half a second. A
//!   result that ends in that time leaves the connection as it was, open transaction
//!   included; a longer one (or an endless one) is cut off by closing the connection,
//!   which is the only way to stop the server.
//! * When the worker does not come back within a second (a statement still computing its
//!   first row, or a write waiting to replicate), the shell stops waiting for it: the
//!   worker is left to finish that one request (bounded by `--timeout`) and close its
//!   connection, and a new worker with a new connection takes the next statement.
//!
//! When the connection is closed this way the server rolls back whatever transaction it had
//! open, and the shell says so. The connection persists across statements otherwise
//! (BEGIN on one line, COMMIT on another), is opened on first use, and is replaced after an
//! error that broke it (a leader change). Outside a transaction, a statement that finds its
//! connection's node no longer the leader (or gone) runs once more on a new connection to
//! the current leader, when nothing of it ran or it only reads: the first statement after a
//! leader change would fail otherwise.
//!
//! The worker follows the transaction on its connection from the statements that open and
//! end it ([`Transaction`]). When a connection is lost with a transaction open (a leader
//! change, a node gone, Ctrl-C), the server has rolled it back: the statement that found
//! out says so, and later statements are refused until a ROLLBACK (or COMMIT, which
//! fails) ends the lost transaction. They would otherwise run one by one in autocommit on
//! a new connection, committing the end of a transaction whose beginning was lost.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use dqlite_client::blocking::{Cluster, Connection};
use dqlite_client::sql::{self, StatementKind, TransactionControl};
use dqlite_client::{Error, ErrorKind, ExecResult, Row, Value};

use crate::error::{LostTransaction, ShellError};
use crate::interrupt;

/// Rows passed to the main thread at a time.
const BATCH: usize = 256;
/// How often the main thread looks at the Ctrl-C flag while it waits.
const POLL: Duration = Duration::from_millis(50);
/// How long an abandoned statement may keep the worker before the worker is replaced.
const GRACE: Duration = Duration::from_secs(1);
/// How long the worker reads an abandoned result before closing the connection instead.
const DRAIN: Duration = Duration::from_millis(500);

/// What a running statement hands to the caller.
#[derive(Debug)]
pub enum Event {
    /// The result's column names, before any row.
    Columns(Vec<String>),
    /// Some rows, in order.
    Rows(Vec<Row>),
}

/// How a statement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It returned this many rows.
    Rows(u64),
    /// It returned no rows and changed what the result says.
    Exec(ExecResult),
    /// Ctrl-C stopped it; `reset` when the connection had to be given up (any open
    /// transaction is gone with it).
    Interrupted {
        /// True when the worker and its connection were replaced.
        reset: bool,
        /// False when the statement was stopped before it was sent (the worker was still
        /// looking for the leader): it will never run.
        sent: bool,
    },
}

enum Msg {
    Columns(Vec<String>),
    Rows(Vec<Row>),
    Exec(ExecResult),
    End,
    Failed(Error),
}

enum Request {
    Run {
        sql: String,
        params: Vec<Value>,
        reply: SyncSender<Msg>,
        /// No transaction is open: a statement that found the connection's node no longer
        /// the leader (or gone) may run again on a new connection, when nothing of it ran.
        retry: bool,
        /// The busy timeout set by `.timeout`, if any.
        busy: Option<Duration>,
    },
    Disconnect,
}

#[derive(Debug)]
struct Handle {
    requests: Sender<Request>,
    state: Arc<State>,
}

/// What the worker tells the main thread outside the reply channel.
#[derive(Debug, Default)]
struct State {
    /// A statement is running.
    busy: AtomicBool,
    /// The connection was closed: broken by an error (a leader change, a lost node), or to
    /// stop an abandoned statement.
    dropped: AtomicBool,
    /// Where the statement stands: [`WAITING`] until the worker sends it ([`SENT`]), or
    /// [`ABANDONED`] by Ctrl-C before that. Whichever side moves it first decides.
    stage: AtomicU8,
}

/// The statement is not sent yet.
const WAITING: u8 = 0;
/// The worker sent it (or is about to): it may run.
const SENT: u8 = 1;
/// Ctrl-C came first: the worker must not send it.
const ABANDONED: u8 = 2;

impl State {
    /// Claims the statement for sending; false when Ctrl-C abandoned it first.
    fn claim(&self) -> bool {
        self.stage
            .compare_exchange(WAITING, SENT, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Abandons the statement; true when that came before the worker sent it (it will
    /// never run).
    fn abandon(&self) -> bool {
        self.stage
            .compare_exchange(WAITING, ABANDONED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }
}

/// The transaction open on the worker's connection, as the statements that ran tell it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// A transaction is open.
    open: bool,
    /// It was opened by a SAVEPOINT (releasing that savepoint commits it), not a BEGIN.
    by_savepoint: bool,
    /// The savepoints open in it, oldest first.
    savepoints: Vec<String>,
}

impl Transaction {
    /// Notes what a statement that succeeded did to the transaction.
    fn apply(&mut self, control: &TransactionControl<'_>) {
        let find = |savepoints: &[String], name: &str| {
            savepoints
                .iter()
                .rposition(|s| s.eq_ignore_ascii_case(name))
        };
        match control {
            TransactionControl::Begin => {
                *self = Transaction {
                    open: true,
                    ..Transaction::default()
                };
            }
            TransactionControl::Commit | TransactionControl::Rollback => {
                *self = Transaction::default();
            }
            TransactionControl::Savepoint(name) => {
                if !self.open {
                    self.open = true;
                    self.by_savepoint = true;
                }
                self.savepoints.push(name.to_string());
            }
            TransactionControl::Release(name) => {
                if let Some(at) = find(&self.savepoints, name) {
                    self.savepoints.truncate(at);
                    if self.by_savepoint && self.savepoints.is_empty() {
                        *self = Transaction::default();
                    }
                }
            }
            TransactionControl::RollbackTo(name) => {
                if let Some(at) = find(&self.savepoints, name) {
                    self.savepoints.truncate(at + 1);
                }
            }
            _ => {}
        }
    }

    /// True when `control`, run in this transaction, ends it (whether it worked or not).
    fn ended_by(&self, control: Option<&TransactionControl<'_>>) -> bool {
        match control {
            Some(TransactionControl::Commit | TransactionControl::Rollback) => true,
            Some(TransactionControl::Release(name)) => {
                self.by_savepoint
                    && self
                        .savepoints
                        .first()
                        .is_some_and(|s| s.eq_ignore_ascii_case(name))
            }
            _ => false,
        }
    }
}

/// The worker thread and its connection (both started on first use).
#[derive(Debug)]
pub struct Worker {
    cluster: Cluster,
    handle: Option<Handle>,
    /// The transaction open on the connection.
    transaction: Transaction,
    /// A transaction lost with its connection, not yet ended by the user.
    lost: Option<Transaction>,
    /// The busy timeout set by `.timeout` (the configuration's until then).
    busy: Option<Duration>,
}

impl Worker {
    /// A worker that will connect to `cluster`'s leader when the first statement comes.
    pub fn new(cluster: Cluster) -> Self {
        Worker {
            cluster,
            handle: None,
            transaction: Transaction::default(),
            lost: None,
            busy: None,
        }
    }

    /// Sets how long statements answered "database is locked" are retried, on this
    /// connection and those after it (sqlite3's `.timeout`).
    pub fn set_busy_timeout(&mut self, timeout: Duration) {
        self.busy = Some(timeout);
    }

    /// True while a transaction lost with its connection has not been ended by the user:
    /// statements are refused until a ROLLBACK.
    pub fn transaction_lost(&self) -> bool {
        self.lost.is_some()
    }

    /// Runs one statement, handing its columns and rows to `on_event` as they arrive.
    /// Ctrl-C makes it return [`Outcome::Interrupted`]; an error from `on_event` abandons
    /// the statement and is returned as [`ShellError::Output`].
    ///
    /// While a transaction lost with its connection is not ended, only what ends it is
    /// taken, and not sent (there is nothing left to end): ROLLBACK, and COMMIT (or the
    /// RELEASE that would commit it), which fails. Anything else is refused with
    /// [`ShellError::TransactionLost`].
    pub fn run(
        &mut self,
        sql: &str,
        params: Vec<Value>,
        on_event: &mut dyn FnMut(Event) -> io::Result<()>,
    ) -> Result<Outcome, ShellError> {
        let control = sql::transaction_control(sql);
        if let Some(lost) = &self.lost {
            if !lost.ended_by(control.as_ref()) {
                return Err(ShellError::TransactionLost(LostTransaction::Refused));
            }
            self.lost = None;
            return match control {
                Some(TransactionControl::Rollback) => Ok(Outcome::Exec(ExecResult::default())),
                _ => Err(ShellError::TransactionLost(LostTransaction::Commit)),
            };
        }
        let in_transaction = self.transaction.open;
        let ends = self.transaction.ended_by(control.as_ref());
        let outcome = self.run_on_connection(sql, params, on_event);
        let dropped = match &outcome {
            Ok(Outcome::Interrupted { reset, .. }) => *reset,
            _ => self
                .handle
                .as_ref()
                .is_none_or(|h| h.state.dropped.swap(false, Ordering::SeqCst)),
        };
        match (&outcome, &control) {
            (Ok(Outcome::Exec(_) | Outcome::Rows(_)), Some(control)) => {
                self.transaction.apply(control);
            }
            (Err(ShellError::Db(Error::Server(e))), Some(_))
                if ends && e.is_no_transaction_active() =>
            {
                self.transaction = Transaction::default();
            }
            _ => {}
        }
        if !dropped {
            return outcome;
        }
        // The connection is gone, and any transaction on it with it.
        let transaction = std::mem::take(&mut self.transaction);
        if !in_transaction {
            return outcome;
        }
        if ends {
            let refused =
                matches!(&outcome, Err(ShellError::Db(e)) if e.kind() == ErrorKind::NotLeader);
            return match control {
                // The server rolls back what a lost connection had open.
                Some(TransactionControl::Rollback) => Ok(Outcome::Exec(ExecResult::default())),
                // Refused before it ran: not committed.
                _ if refused => Err(ShellError::TransactionLost(LostTransaction::Commit)),
                // Cut off once sent: the error says its outcome is unknown.
                _ => outcome,
            };
        }
        self.lost = Some(transaction);
        match outcome {
            Err(ShellError::Db(e)) => Err(ShellError::TransactionLost(LostTransaction::Now(Some(
                cause(e),
            )))),
            Ok(Outcome::Interrupted { sent, .. }) => Ok(Outcome::Interrupted { reset: true, sent }),
            Err(ShellError::Interrupted) => Ok(Outcome::Interrupted {
                reset: true,
                sent: true,
            }),
            Err(other) => Err(other),
            Ok(_) => Err(ShellError::TransactionLost(LostTransaction::Now(None))),
        }
    }

    fn run_on_connection(
        &mut self,
        sql: &str,
        params: Vec<Value>,
        on_event: &mut dyn FnMut(Event) -> io::Result<()>,
    ) -> Result<Outcome, ShellError> {
        let (reply, results) = mpsc::sync_channel(4);
        let request = Request::Run {
            sql: sql.to_owned(),
            params,
            reply,
            retry: !self.transaction.open,
            busy: self.busy,
        };
        let handle = self.handle()?;
        handle.state.busy.store(true, Ordering::SeqCst);
        handle.state.stage.store(WAITING, Ordering::SeqCst);
        if handle.requests.send(request).is_err() {
            self.handle = None;
            return Err(stopped());
        }
        let mut count: u64 = 0;
        loop {
            if interrupt::take() {
                drop(results);
                let sent = self.handle.as_ref().is_none_or(|h| !h.state.abandon());
                return Ok(Outcome::Interrupted {
                    reset: self.settle(),
                    sent,
                });
            }
            let delivered = match results.recv_timeout(POLL) {
                Ok(Msg::Columns(columns)) => on_event(Event::Columns(columns)),
                Ok(Msg::Rows(rows)) => {
                    count += u64::try_from(rows.len()).unwrap_or(u64::MAX);
                    on_event(Event::Rows(rows))
                }
                Ok(Msg::Exec(result)) => return Ok(Outcome::Exec(result)),
                Ok(Msg::End) => return Ok(Outcome::Rows(count)),
                Ok(Msg::Failed(e)) => return Err(e.into()),
                Err(RecvTimeoutError::Timeout) => Ok(()),
                Err(RecvTimeoutError::Disconnected) => {
                    self.handle = None;
                    return Err(stopped());
                }
            };
            if let Err(e) = delivered {
                drop(results);
                self.settle();
                return Err(ShellError::Output(e));
            }
        }
    }

    /// Closes the connection; the next statement opens a new one on the current leader
    /// (after a leadership transfer, say).
    ///
    /// A transaction open on it is lost: true then, and later statements are refused until
    /// a ROLLBACK, as after any lost connection.
    pub fn disconnect(&mut self) -> bool {
        if let Some(handle) = &self.handle
            && handle.requests.send(Request::Disconnect).is_err()
        {
            self.handle = None;
        }
        let transaction = std::mem::take(&mut self.transaction);
        if !transaction.open {
            return false;
        }
        self.lost = Some(transaction);
        true
    }

    fn handle(&mut self) -> Result<&Handle, ShellError> {
        if self.handle.is_none() {
            let (requests, inbox) = mpsc::channel();
            let state = Arc::new(State::default());
            let cluster = self.cluster.clone();
            let worker_state = Arc::clone(&state);
            thread::Builder::new()
                .name("dqlite-shell-worker".into())
                .spawn(move || serve(&cluster, &inbox, &worker_state))
                .map_err(|e| ShellError::file("starting the statement worker", e))?;
            self.handle = Some(Handle { requests, state });
        }
        self.handle.as_ref().ok_or_else(stopped)
    }

    /// After abandoning a statement: waits a moment for the worker to be free, and gives
    /// it up (with its connection) when it is not. True when the connection was lost.
    fn settle(&mut self) -> bool {
        let Some(handle) = &self.handle else {
            return false;
        };
        let deadline = Instant::now() + GRACE;
        loop {
            if !handle.state.busy.load(Ordering::SeqCst) {
                return handle.state.dropped.swap(false, Ordering::SeqCst);
            }
            if Instant::now() >= deadline {
                // Dropping the sender ends the thread once its request returns.
                self.handle = None;
                return true;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// What failed, without the "may or may not have been applied" of an outcome unknown:
/// inside a transaction whose connection is lost, it was not (the server rolled it back).
fn cause(error: Error) -> Error {
    match error {
        Error::OutcomeUnknown { source } => *source,
        other => other,
    }
}

fn stopped() -> ShellError {
    ShellError::usage("the statement worker stopped unexpectedly; try again")
}

/// The worker thread's loop.
fn serve(cluster: &Cluster, inbox: &Receiver<Request>, state: &State) {
    let mut conn: Option<Connection> = None;
    for request in inbox {
        match request {
            Request::Disconnect => conn = None,
            Request::Run {
                sql,
                params,
                reply,
                retry,
                busy,
            } => {
                let mut cut_off = false;
                let mut answered = false;
                let reused = conn.is_some();
                let mut last = run(
                    cluster,
                    &mut conn,
                    (&sql, &params, busy),
                    (&reply, state),
                    &mut cut_off,
                    &mut answered,
                );
                if retry
                    && reused
                    && !answered
                    && let Msg::Failed(e) = &last
                    && nothing_ran(e, &sql)
                {
                    // The old connection is broken: a new one goes to the current leader.
                    // Nothing ran, so Ctrl-C may still stop the statement from being sent.
                    conn = None;
                    state.stage.store(WAITING, Ordering::SeqCst);
                    last = run(
                        cluster,
                        &mut conn,
                        (&sql, &params, busy),
                        (&reply, state),
                        &mut cut_off,
                        &mut answered,
                    );
                }
                if cut_off || conn.as_ref().is_some_and(|c| c.as_async().is_broken()) {
                    conn = None;
                    state.dropped.store(true, Ordering::SeqCst);
                }
                state.busy.store(false, Ordering::SeqCst);
                // Nobody listening means the statement was abandoned: nothing to do.
                let _ = reply.send(last);
            }
        }
    }
}

/// True when `error`, met by `sql` before any of its rows, means the statement can run
/// again elsewhere: nothing of it ran (the node is not the leader, or the request never
/// left whole), or it only reads.
fn nothing_ran(error: &Error, sql: &str) -> bool {
    match error.kind() {
        ErrorKind::NotLeader | ErrorKind::Transport | ErrorKind::Closed => true,
        ErrorKind::OutcomeUnknown => sql::classify(sql) == StatementKind::Query,
        _ => false,
    }
}

/// Runs one statement; returns the message that ends it. Sets `cut_off` when an
/// abandoned result did not end in time, so that the connection must be closed, and
/// `answered` once the columns of a result went to the caller.
fn run(
    cluster: &Cluster,
    conn: &mut Option<Connection>,
    (sql, params, busy): (&str, &[Value], Option<Duration>),
    (reply, state): (&SyncSender<Msg>, &State),
    cut_off: &mut bool,
    answered: &mut bool,
) -> Msg {
    let conn = match conn {
        Some(c) => c,
        None => match cluster.connect() {
            Ok(c) => conn.insert(c),
            Err(e) => return Msg::Failed(e),
        },
    };
    if let Some(busy) = busy {
        conn.set_busy_timeout(busy);
    }
    // Finding the leader may have taken long: a statement abandoned meanwhile is not sent.
    if !state.claim() {
        return Msg::End;
    }
    match sql::classify(sql) {
        StatementKind::Query | StatementKind::WriteReturning => {}
        _ => {
            return match conn.execute(sql, params) {
                Ok(result) => Msg::Exec(result),
                Err(e) => Msg::Failed(e),
            };
        }
    }
    let mut rows = match conn.query(sql, params) {
        Ok(rows) => rows,
        Err(e) => return Msg::Failed(e),
    };
    // From here the caller has the columns: a failure is no longer retried.
    *answered = true;
    if reply.send(Msg::Columns(rows.columns().to_vec())).is_err() {
        *cut_off = !drain(&mut rows);
        return Msg::End;
    }
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        match rows.next() {
            Some(Ok(row)) => {
                batch.push(row);
                if batch.len() >= BATCH
                    && reply
                        .send(Msg::Rows(std::mem::replace(
                            &mut batch,
                            Vec::with_capacity(BATCH),
                        )))
                        .is_err()
                {
                    *cut_off = !drain(&mut rows);
                    return Msg::End;
                }
            }
            Some(Err(e)) => {
                if !batch.is_empty() {
                    let _ = reply.send(Msg::Rows(batch));
                }
                return Msg::Failed(e);
            }
            None => {
                if !batch.is_empty() {
                    let _ = reply.send(Msg::Rows(batch));
                }
                return Msg::End;
            }
        }
    }
}

/// Reads and discards the rest of an abandoned result for at most [`DRAIN`]; true when it
/// ended in time (the connection is in step with the server again).
fn drain(rows: &mut dqlite_client::blocking::Rows<'_>) -> bool {
    let deadline = Instant::now() + DRAIN;
    while Instant::now() < deadline {
        match rows.next() {
            None => return true,
            // A server error ends the stream; anything else broke the connection, which
            // is then replaced anyway.
            Some(Err(_)) => return true,
            Some(Ok(_)) => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `statements` (each taken as having worked) and says whether a transaction is
    /// open after each.
    fn open_after(statements: &[&str]) -> Vec<bool> {
        let mut tx = Transaction::default();
        statements
            .iter()
            .map(|s| {
                if let Some(control) = sql::transaction_control(s) {
                    tx.apply(&control);
                }
                tx.open
            })
            .collect()
    }

    #[test]
    fn follows_begin_commit_and_rollback() {
        assert_eq!(
            open_after(&[
                "BEGIN IMMEDIATE",
                "INSERT INTO t VALUES (1)",
                "END TRANSACTION"
            ]),
            [true, true, false]
        );
        assert_eq!(
            open_after(&["begin", "rollback to x", "rollback"]),
            [true, true, false]
        );
        assert_eq!(open_after(&["SELECT 'BEGIN'"]), [false]);
    }

    #[test]
    fn follows_savepoints() {
        // Opened by a savepoint: releasing it (or one before it) commits.
        assert_eq!(
            open_after(&[
                "SAVEPOINT a",
                "SAVEPOINT b",
                "RELEASE b",
                "RELEASE SAVEPOINT A"
            ]),
            [true, true, true, false]
        );
        assert_eq!(
            open_after(&["SAVEPOINT a", "SAVEPOINT b", "ROLLBACK TO a", "RELEASE b"]),
            [true, true, true, true],
            "b is gone after ROLLBACK TO a: releasing it does nothing"
        );
        assert_eq!(
            open_after(&["SAVEPOINT a", "SAVEPOINT b", "RELEASE a"]),
            [true, true, false]
        );
        // Inside a BEGIN, releasing every savepoint keeps the transaction.
        assert_eq!(
            open_after(&["BEGIN", "SAVEPOINT a", "RELEASE a", "COMMIT"]),
            [true, true, true, false]
        );
        // The same name twice: RELEASE takes the latest.
        assert_eq!(
            open_after(&["SAVEPOINT s", "SAVEPOINT s", "RELEASE s", "RELEASE s"]),
            [true, true, true, false]
        );
    }

    #[test]
    fn what_ends_a_transaction() {
        let mut tx = Transaction::default();
        tx.apply(&TransactionControl::Savepoint("imp".into()));
        let ends = |tx: &Transaction, s: &str| tx.ended_by(sql::transaction_control(s).as_ref());
        assert!(ends(&tx, "RELEASE imp"));
        assert!(ends(&tx, "COMMIT"));
        assert!(!ends(&tx, "RELEASE other"));
        assert!(!ends(&tx, "ROLLBACK TO imp"));
        assert!(!ends(&tx, "INSERT INTO t VALUES (1)"));
        let mut tx = Transaction::default();
        tx.apply(&TransactionControl::Begin);
        tx.apply(&TransactionControl::Savepoint("a".into()));
        assert!(!ends(&tx, "RELEASE a"), "a BEGIN stays open");
    }
}
