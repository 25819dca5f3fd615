//! One connection to one dqlite node.

use std::collections::HashSet;
use std::ops::DerefMut;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use dqlite_wire::{FrameDecoder, Header, Request, Response, Value};

use crate::cluster::NodeInfo;
use crate::config::{Address, Config};
use crate::error::{Error, ErrorKind, Result, ServerError};
use crate::rows::{QueryResult, Rows};
use crate::sql::{self, StatementKind};
use crate::transaction::{Transaction, TransactionTarget};
use crate::transport::{self, BlockingSocket, CustomStream, Stream};

/// What a statement without rows did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecResult {
    /// SQLite's last inserted rowid on this connection (connection-wide: it keeps its value
    /// across statements that insert nothing).
    pub last_insert_id: i64,
    /// Rows changed by the statement. 0 for statements that are not INSERT, UPDATE,
    /// DELETE or REPLACE (the server would report a stale count for them).
    pub rows_affected: u64,
}

impl ExecResult {
    /// Folds a later statement's outcome into a running total (scripts, batches): counts
    /// add up (saturating on hostile answers), the last insert id is the later one.
    fn then(&mut self, later: ExecResult) {
        self.rows_affected = self.rows_affected.saturating_add(later.rows_affected);
        self.last_insert_id = later.last_insert_id;
    }
}

/// A prepared statement, valid on the connection that prepared it until finalized or until
/// that connection breaks.
///
/// The connection keeps a registry of live ids and refuses a statement it does not hold:
/// sending a finalized or stale id can crash a dqlite node (docs/protocol.md §10.1).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Statement {
    id: u32,
    conn_serial: u64,
    param_count: u64,
    kind: StatementKind,
    dml: bool,
}

impl Statement {
    /// The number of parameters the statement takes.
    pub fn param_count(&self) -> u64 {
        self.param_count
    }

    /// How the statement is run (query or exec), decided from its text.
    pub fn kind(&self) -> StatementKind {
        self.kind
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    /// Idle and in sync with the server.
    Ready,
    /// A result stream is being read; the next frames belong to it.
    InQuery,
    /// A result stream was abandoned: INTERRUPT and drain before the next request.
    NeedsDrain,
    /// Unusable; the reason is kept for the error.
    Broken(std::borrow::Cow<'static, str>),
}

/// What the server version allows, probed on first need.
#[derive(Debug, Default, Clone, Copy)]
struct Capabilities {
    /// Parameter tuples with a 32-bit count (servers from 1.12).
    params_schema1: Option<bool>,
    /// Parameters spread across statements of one EXEC_SQL and RETURNING rows through
    /// QUERY (servers from 1.18.2).
    executor_1182: Option<bool>,
}

/// `SQLITE_BUSY` exactly ("database is locked", "checkpoint in progress"); its extended
/// codes (`SQLITE_BUSY_SNAPSHOT`...) are not retried.
const SQLITE_BUSY: u64 = 5;

/// Pauses between retries of a busy statement, in milliseconds (SQLite's own schedule).
const BUSY_PAUSES: [u64; 12] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

/// The least room made in the receive buffer before each read.
const READ_CHUNK: usize = 16 * 1024;

static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// The message of the state a cut-off request leaves behind.
const CUT_OFF: &str = "a request was cancelled or timed out before its response was read";

/// A connection to one node.
///
/// Every method takes `&mut self`, so there is at most one request in flight. Each network
/// wait is bounded by the request timeout. Get one from [`Cluster::connect`]
/// (leader, database open) or [`Pool::get`].
///
/// [`Cluster::connect`]: crate::Cluster::connect
/// [`Pool::get`]: crate::Pool::get
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    address: Address,
    read_buf: BytesMut,
    write_buf: BytesMut,
    pub(crate) max_frame_len: usize,
    request_timeout: Duration,
    busy_timeout: Duration,
    pub(crate) state: State,
    serial: u64,
    statements: HashSet<u32>,
    database: Option<String>,
    leadership_changed: bool,
    /// The node stopped answering or the link to it failed (a timeout or a transport
    /// error): it may be paused, partitioned or gone.
    node_lost: bool,
    /// Whether the last request reached the socket whole. A request that failed before
    /// (an error or a deadline while writing it) cannot have run: the server only runs
    /// complete frames.
    request_written: bool,
    /// A [`Transaction`] was dropped without COMMIT or ROLLBACK: ROLLBACK goes out before
    /// the next request.
    rollback_pending: bool,
    caps: Capabilities,
}

impl Connection {
    /// Dials `address` and sends the protocol handshake. No database is open yet.
    ///
    /// Cancel-safe: dropping the future closes the socket.
    pub async fn handshake(address: &Address, config: &Config) -> Result<Connection> {
        let stream = transport::dial(address, config).await?;
        let mut conn = Connection {
            stream,
            address: address.clone(),
            read_buf: BytesMut::with_capacity(16 * 1024),
            write_buf: BytesMut::with_capacity(4 * 1024),
            max_frame_len: config.max_frame_len,
            request_timeout: config.timeouts.request,
            busy_timeout: config.timeouts.busy,
            state: State::Ready,
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            statements: HashSet::new(),
            database: None,
            leadership_changed: false,
            node_lost: false,
            request_written: false,
            rollback_pending: false,
            caps: Capabilities::default(),
        };
        conn.write_buf
            .extend_from_slice(&dqlite_wire::PROTOCOL_VERSION.to_le_bytes());
        conn.state = State::Broken(CUT_OFF.into());
        let timeout = conn.request_timeout;
        let outcome = within(timeout, conn.write_out()).await;
        conn.finish(outcome, "handshake", timeout)?;
        Ok(conn)
    }

    /// Hands the connection's socket to another I/O loop: `wrap` receives the socket (TCP
    /// or Unix, not TLS; in non-blocking mode, no longer registered with tokio) and returns
    /// the stream the connection reads and writes from then on. Everything else (open
    /// database, prepared statements, bytes already received) stays as it was.
    ///
    /// Only between requests (not while a result is being read). A failure of `wrap`
    /// breaks the connection.
    pub fn replace_socket<S: CustomStream>(
        &mut self,
        wrap: impl FnOnce(std::os::fd::OwnedFd) -> std::io::Result<S>,
    ) -> Result<()> {
        self.replace_stream(|fd| wrap(fd).map(|s| Stream::Custom(Box::new(s))))
    }

    fn replace_stream(
        &mut self,
        wrap: impl FnOnce(std::os::fd::OwnedFd) -> std::io::Result<Stream>,
    ) -> Result<()> {
        if self.state != State::Ready {
            return Err(Error::InvalidInput(
                "the socket can be handed over only between requests".into(),
            ));
        }
        let io_error = |address: &Address, source| Error::Io {
            address: address.to_string(),
            source,
        };
        let fd = self
            .stream
            .take_socket()
            .map_err(|e| io_error(&self.address, e))?;
        match wrap(fd) {
            Ok(stream) => {
                self.stream = stream;
                Ok(())
            }
            Err(e) => {
                self.state = State::Broken(format!("the socket hand-over failed: {e}").into());
                Err(io_error(&self.address, e))
            }
        }
    }

    /// Reads and writes this connection's socket with blocking system calls on the thread
    /// that polls it, instead of through tokio's reactor: a round trip then costs one
    /// `send` and one `recv`, with no readiness wait in between.
    ///
    /// Each call blocks the polling thread for at most 50 ms before the future yields
    /// (and is polled again at once), so request deadlines and other branches of the
    /// caller's future still run, late by at most that much. Use it only for a connection
    /// driven alone on its own thread, as the [`blocking`](crate::blocking) API does: on a
    /// shared runtime it would stall every other task.
    ///
    /// Only between requests. Returns `false`, changing nothing, for a TLS or custom
    /// stream; a failure to switch breaks the connection.
    pub fn use_blocking_io(&mut self) -> Result<bool> {
        if !matches!(self.stream, Stream::Tcp(_) | Stream::Unix(_)) {
            return Ok(matches!(self.stream, Stream::Blocking(_)));
        }
        self.replace_stream(|fd| BlockingSocket::new(fd).map(Stream::Blocking))?;
        Ok(true)
    }

    /// The node this connection talks to.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The open database, if any.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// Sets the deadline of each later network wait.
    pub fn set_request_timeout(&mut self, timeout: Duration) {
        self.request_timeout = timeout;
    }

    /// True when the connection can take another request (possibly after draining an
    /// abandoned result).
    pub fn is_reusable(&self) -> bool {
        matches!(self.state, State::Ready | State::NeedsDrain)
    }

    /// True when the connection was broken by an error or a cut-off request.
    pub fn is_broken(&self) -> bool {
        matches!(self.state, State::Broken(_))
    }

    /// Checks, without waiting and without a round trip, whether the node closed or reset
    /// this idle connection (or sent bytes nobody asked for); if so, marks it broken.
    /// A connection in use, or one over TLS that merely has bytes to read, is left alone.
    pub(crate) fn peer_closed(&mut self) -> bool {
        if self.state != State::Ready {
            return self.is_broken();
        }
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        // The sockets are non-blocking: a peek returns at once.
        let (peeked, tls) = match &self.stream {
            Stream::Tcp(s) => (socket2::SockRef::from(s).peek(&mut probe), false),
            Stream::Unix(s) => (socket2::SockRef::from(s).peek(&mut probe), false),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => (socket2::SockRef::from(s.get_ref().0).peek(&mut probe), true),
            // Driven by the caller's loop, which sees the peer close on its own; a blocking
            // socket is never pooled (and a peek there would wait).
            Stream::Custom(_) | Stream::Blocking(_) => return false,
            Stream::Detached => (Err(std::io::ErrorKind::NotConnected.into()), false),
        };
        let closed = match peeked {
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            Ok(0) => true,
            // Bytes on an idle plain connection would desynchronise it; TLS may send
            // session tickets at any time.
            Ok(_) => !tls,
        };
        if closed {
            self.state = State::Broken("the node closed the idle connection".into());
        }
        closed
    }

    /// True when [`recover`](Self::recover) has work to do before the next request: an
    /// abandoned result to drain, or a dropped transaction to roll back (which holds
    /// SQLite's write lock until then).
    pub(crate) fn needs_recovery(&self) -> bool {
        self.state == State::NeedsDrain || (self.rollback_pending && self.is_reusable())
    }

    /// True once the node reported that it is not (or no longer) the leader.
    pub fn saw_leadership_change(&self) -> bool {
        self.leadership_changed
    }

    /// True once a request on this connection timed out or its link failed: the node may
    /// be paused, partitioned or gone, and other connections to it are suspect too.
    pub fn lost_its_node(&self) -> bool {
        self.node_lost
    }

    /// Breaks the connection for `error`, noting a node that stopped answering.
    fn break_for(&mut self, error: &Error) {
        if matches!(error.kind(), ErrorKind::Transport | ErrorKind::Timeout) {
            self.node_lost = true;
        }
        self.state = State::Broken(error.to_string().into());
    }

    /// Brings the connection back in sync after an abandoned result (sends INTERRUPT and
    /// reads until its EMPTY reply) and rolls back a transaction dropped unfinished. Does
    /// nothing when there is nothing to do; every request calls it first.
    pub async fn recover(&mut self) -> Result<()> {
        self.drain_abandoned().await?;
        if self.rollback_pending {
            self.rollback_pending = false;
            let rollback = Request::ExecSql {
                db_id: 0,
                sql: "ROLLBACK",
                params: (&[] as &[Value]).into(),
                schema: 0,
            };
            match self.exchange(&rollback, "rollback").await {
                Ok(_) => {}
                // Already ended: SQLite rolls back by itself after some errors.
                Err(Error::Server(e)) if e.message.contains("no transaction is active") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn drain_abandoned(&mut self) -> Result<()> {
        match &self.state {
            State::Ready => Ok(()),
            State::Broken(reason) => Err(Error::Closed {
                reason: reason.to_string(),
            }),
            State::InQuery | State::NeedsDrain => {
                self.write_buf.clear();
                encode(&Request::Interrupt { db_id: 0 }, &mut self.write_buf)?;
                self.state = State::Broken(CUT_OFF.into());
                let timeout = self.request_timeout;
                let drained = within(timeout, async {
                    self.write_out().await?;
                    loop {
                        let (header, _) = self.read_frame(self.max_frame_len).await?;
                        if header.kind() == dqlite_wire::response_type::EMPTY {
                            return Ok(());
                        }
                        // ROWS, FAILURE and RESULT frames of the abandoned request: skip.
                    }
                })
                .await;
                self.finish(drained, "interrupt", timeout)
            }
        }
    }

    /// Starts a transaction (BEGIN). Statements run through the returned guard (it
    /// dereferences to the connection) until [`Transaction::commit`] or
    /// [`Transaction::rollback`]; a guard dropped without either (an early return, `?`, a
    /// cancelled future) rolls back: the ROLLBACK goes out before this connection's next
    /// request, since a drop cannot wait for the network.
    pub async fn transaction(&mut self) -> Result<Transaction<'_>> {
        self.execute("BEGIN", &[]).await?;
        Ok(Transaction::new(self))
    }

    /// Asks this node which node leads: `Some((id, address))`, or `None` when it knows no
    /// leader (elections, or a node that is not a voter).
    pub async fn leader(&mut self) -> Result<Option<(u64, String)>> {
        match self.request(&Request::Leader, "leader").await? {
            Response::Server { id, address } if id != 0 && !address.is_empty() => {
                Ok(Some((id, address.to_string())))
            }
            Response::Server { .. } => Ok(None),
            other => Err(self.unexpected("SERVER", &other)),
        }
    }

    /// Opens database `name` on this connection (created on first use). A connection can
    /// open one database.
    pub async fn open(&mut self, name: &str) -> Result<()> {
        if let Some(open) = &self.database {
            return Err(Error::InvalidInput(format!(
                "database {open:?} is already open on this connection"
            )));
        }
        let request = Request::Open {
            name,
            flags: 0,
            vfs: "volatile",
        };
        match self.request(&request, "open").await? {
            Response::Db { .. } => {
                self.database = Some(name.to_owned());
                Ok(())
            }
            other => Err(self.unexpected("DB", &other)),
        }
    }

    /// A cheap round trip that proves the node answers (LEADER).
    pub async fn ping(&mut self) -> Result<()> {
        self.leader().await.map(drop)
    }

    /// The cluster's members with their roles (CLUSTER format 1).
    pub async fn cluster(&mut self) -> Result<Vec<NodeInfo>> {
        match self
            .request(&Request::Cluster { format: 1 }, "cluster")
            .await?
        {
            Response::Servers(nodes) => Ok(nodes),
            other => Err(self.unexpected("SERVERS", &other)),
        }
    }

    /// Runs one statement that returns no rows (INSERT, UPDATE, DDL, BEGIN...).
    ///
    /// Parameters bind positionally to `?`, `?NNN`, `:name`, `@name` and `$name`
    /// placeholders in order of first appearance. Text with several statements is refused:
    /// use [`execute_script`](Self::execute_script). A failure after the request was sent
    /// is reported as [`Error::OutcomeUnknown`]: the statement may have been applied.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<ExecResult> {
        let text = single_statement(sql)?;
        tracing::debug!(node = %self.address, sql = text, params = params.len(), "execute");
        let schema = self.params_schema(params.len()).await?;
        let request = Request::ExecSql {
            db_id: 0,
            sql: text,
            params: params.into(),
            schema,
        };
        let response = self.request_write(&request).await?;
        self.exec_result(response, sql::is_dml(text))
    }

    /// Runs every statement of a script in order, each in its own autocommit unless the
    /// script opens a transaction. Statements that return rows run and their rows are
    /// discarded. Returns the sum of rows changed and the last insert id. A failure stops
    /// the script; statements before it stay applied.
    pub async fn execute_script(&mut self, script: &str) -> Result<ExecResult> {
        let mut total = ExecResult::default();
        for statement in sql::split_statements(script) {
            if sql::classify(statement) == StatementKind::Query {
                self.query_all(statement, &[]).await?;
                continue;
            }
            total.then(self.execute(statement, &[]).await?);
        }
        Ok(total)
    }

    /// Runs a statement and streams its rows frame by frame; memory is bounded by one
    /// frame. A statement that returns no rows is run as EXEC and yields an empty result
    /// (writes are never sent through QUERY, which corrupts 1.11 leaders).
    ///
    /// Dropping the returned [`Rows`] early is safe: the rest is drained before the next
    /// request.
    pub async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows<&mut Connection>> {
        Connection::query_owned(self, sql, params).await
    }

    /// Like [`query`](Self::query), with the connection held through `conn`: an owned
    /// guard (`tokio::sync::OwnedMutexGuard`), a box or a pooled connection, so that the
    /// returned [`Rows`] can be kept without borrowing a local (the Python driver keeps a
    /// result open between calls this way).
    pub async fn query_owned<C>(mut conn: C, sql: &str, params: &[Value]) -> Result<Rows<C>>
    where
        C: DerefMut<Target = Connection>,
    {
        let text = single_statement(sql)?;
        tracing::debug!(node = %conn.address, sql = text, params = params.len(), "query");
        let kind = sql::classify(text);
        match kind {
            StatementKind::Query => {}
            StatementKind::WriteReturning => conn.require_returning().await?,
            _ => {
                conn.execute(text, params).await?;
                return Ok(Rows::empty(conn));
            }
        }
        let schema = conn.params_schema(params.len()).await?;
        let request = Request::QuerySql {
            db_id: 0,
            sql: text,
            params: params.into(),
            schema,
        };
        conn.start_query(&request).await?;
        Rows::start(conn, kind == StatementKind::WriteReturning).await
    }

    /// Runs a query and collects every row.
    pub async fn query_all(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        self.query(sql, params).await?.collect_all().await
    }

    /// Compiles the first statement of `sql` on the server.
    pub async fn prepare(&mut self, sql: &str) -> Result<Statement> {
        let text = single_statement(sql)?;
        let request = Request::Prepare {
            db_id: 0,
            sql: text,
        };
        match self.request(&request, "prepare").await? {
            Response::Stmt {
                stmt_id,
                param_count,
                ..
            } => {
                self.statements.insert(stmt_id);
                Ok(Statement {
                    id: stmt_id,
                    conn_serial: self.serial,
                    param_count,
                    kind: sql::classify(text),
                    dml: sql::is_dml(text),
                })
            }
            other => Err(self.unexpected("STMT", &other)),
        }
    }

    /// Runs a prepared statement that returns no rows. Every parameter must be given:
    /// servers before 1.18.2 keep the previous execution's values for missing ones.
    pub async fn execute_prepared(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<ExecResult> {
        self.check_statement(statement, params)?;
        let schema = self.params_schema(params.len()).await?;
        let request = Request::Exec {
            db_id: 0,
            stmt_id: statement.id,
            params: params.into(),
            schema,
        };
        let response = self.request_write(&request).await?;
        self.exec_result(response, statement.dml)
    }

    /// Runs `sql` (one statement that returns no rows) once per parameter row, with up to
    /// `window` requests in flight on the connection: the answers are read in order while
    /// later rows are being sent, so a batch costs far fewer round trips than a loop of
    /// [`execute`](Self::execute). The statement is prepared once and finalized after.
    ///
    /// The first failure stops the batch and is returned as [`Error::Batch`] with the
    /// index of the row that failed. Rows sent after it were already in flight and may
    /// have run: use a batch inside a transaction (BEGIN ... COMMIT) and roll back on
    /// error, or pass `window` 1 for one-at-a-time semantics.
    ///
    /// Returns the total of rows changed and the last insert id.
    pub async fn execute_many<P: AsRef<[Value]>>(
        &mut self,
        sql: &str,
        rows: impl IntoIterator<Item = P>,
        window: usize,
    ) -> Result<ExecResult> {
        let statement = self.prepare(sql).await?;
        let outcome = self.execute_prepared_many(&statement, rows, window).await;
        if self.is_reusable() {
            self.finalize(statement).await?;
        }
        outcome
    }

    /// Like [`execute_many`](Self::execute_many) with a statement prepared beforehand.
    pub async fn execute_prepared_many<P: AsRef<[Value]>>(
        &mut self,
        statement: &Statement,
        rows: impl IntoIterator<Item = P>,
        window: usize,
    ) -> Result<ExecResult> {
        if statement.kind != StatementKind::Exec && statement.kind != StatementKind::Empty {
            return Err(Error::InvalidInput(
                "execute_many takes a statement that returns no rows".into(),
            ));
        }
        let window = window.max(1);
        let mut rows = rows.into_iter().peekable();
        let mut total = ExecResult::default();
        let (mut sent, mut answered) = (0usize, 0usize);
        let mut failure: Option<(usize, Error)> = None;
        self.recover().await?;
        let timeout = self.request_timeout;
        loop {
            // Fill the window with one write.
            self.write_buf.clear();
            while failure.is_none() && sent - answered < window {
                let Some(row) = rows.next() else { break };
                let params = row.as_ref();
                self.check_statement(statement, params)
                    .and_then(|()| {
                        if params.len() > 255 {
                            return Err(Error::Unsupported(
                                "execute_many takes at most 255 parameters per row".into(),
                            ));
                        }
                        encode(
                            &Request::Exec {
                                db_id: 0,
                                stmt_id: statement.id,
                                params: params.into(),
                                schema: 0,
                            },
                            &mut self.write_buf,
                        )
                    })
                    .map_err(|e| Error::Batch {
                        row: sent,
                        source: Box::new(e),
                    })?;
                sent += 1;
            }
            if sent == answered {
                break;
            }
            self.state = State::Broken(CUT_OFF.into());
            let outcome = within(timeout, async {
                if !self.write_buf.is_empty() {
                    self.write_out().await?;
                }
                self.read_frame(self.max_frame_len).await
            })
            .await;
            let frame = self.finish(outcome, "execute_many", timeout).map_err(|e| {
                // Everything from the first unanswered row on may or may not have run.
                Error::Batch {
                    row: answered,
                    source: Box::new(Error::OutcomeUnknown {
                        source: Box::new(e),
                    }),
                }
            })?;
            let (header, body) = frame;
            let row = answered;
            answered += 1;
            match self.decode(&header, body) {
                Ok(response) => total.then(self.exec_result(response, statement.dml)?),
                Err(e) => {
                    let e = self.write_failed(e, true);
                    if self.is_broken() {
                        return Err(Error::Batch {
                            row,
                            source: Box::new(e),
                        });
                    }
                    // Keep reading the answers of the rows already in flight.
                    failure.get_or_insert((row, e));
                }
            }
            if failure.is_none() && rows.peek().is_none() && sent == answered {
                break;
            }
        }
        match failure {
            Some((row, e)) => Err(Error::Batch {
                row,
                source: Box::new(e),
            }),
            None => Ok(total),
        }
    }

    /// Runs a prepared query and streams its rows.
    pub async fn query_prepared(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<Rows<&mut Connection>> {
        self.check_statement(statement, params)?;
        match statement.kind {
            StatementKind::Query => {}
            StatementKind::WriteReturning => self.require_returning().await?,
            _ => {
                self.execute_prepared(statement, params).await?;
                return Ok(Rows::empty(self));
            }
        }
        let schema = self.params_schema(params.len()).await?;
        let request = Request::Query {
            db_id: 0,
            stmt_id: statement.id,
            params: params.into(),
            schema,
        };
        self.start_query(&request).await?;
        Rows::start(self, statement.kind == StatementKind::WriteReturning).await
    }

    /// Frees a prepared statement on the server.
    pub async fn finalize(&mut self, statement: Statement) -> Result<()> {
        self.check_statement(&statement, &[])?;
        // Forget the id first: whatever happens next, it is never sent again.
        self.statements.remove(&statement.id);
        let request = Request::Finalize {
            db_id: 0,
            stmt_id: statement.id,
        };
        match self.request(&request, "finalize").await? {
            Response::Empty => Ok(()),
            other => Err(self.unexpected("EMPTY", &other)),
        }
    }

    fn check_statement(&self, statement: &Statement, params: &[Value]) -> Result<()> {
        if statement.conn_serial != self.serial || !self.statements.contains(&statement.id) {
            return Err(Error::InvalidInput(
                "this prepared statement belongs to another connection or was finalized".into(),
            ));
        }
        if !params.is_empty() && params.len() as u64 != statement.param_count {
            return Err(Error::InvalidInput(format!(
                "the statement takes {} parameters, {} were given",
                statement.param_count,
                params.len()
            )));
        }
        Ok(())
    }

    fn exec_result(&mut self, response: Response, dml: bool) -> Result<ExecResult> {
        match response {
            Response::Result {
                last_insert_id,
                rows_affected,
            } => Ok(ExecResult {
                last_insert_id: i64::from_ne_bytes(last_insert_id.to_ne_bytes()),
                rows_affected: if dml { rows_affected } else { 0 },
            }),
            other => Err(self.unexpected("RESULT", &other)),
        }
    }

    /// Picks the parameter tuple schema for `count` parameters, probing the server once if
    /// more than 255 need the 32-bit count.
    async fn params_schema(&mut self, count: usize) -> Result<u8> {
        if count <= 255 {
            return Ok(0);
        }
        if count > u32::MAX as usize {
            return Err(Error::InvalidInput(format!(
                "{count} parameters is too many"
            )));
        }
        if self.caps.params_schema1.is_none() {
            let probe = Request::QuerySql {
                db_id: 0,
                sql: "SELECT ?",
                params: vec![Value::Integer(1)].into(),
                schema: 1,
            };
            let supported = match self.request(&probe, "capability probe").await {
                Ok(Response::Rows(_)) => true,
                Err(Error::Server(_)) => false,
                Ok(other) => return Err(self.unexpected("ROWS", &other)),
                Err(e) => return Err(e),
            };
            self.caps.params_schema1 = Some(supported);
        }
        if self.caps.params_schema1 == Some(true) {
            Ok(1)
        } else {
            Err(Error::Unsupported(format!(
                "{count} parameters: servers before dqlite 1.12 take at most 255"
            )))
        }
    }

    /// Fails unless the server returns RETURNING rows through QUERY (1.18.2 and later).
    async fn require_returning(&mut self) -> Result<()> {
        if self.caps.executor_1182.is_none() {
            // From 1.18.2, EXEC_SQL spreads parameters over the statements; older servers
            // bind them all to the first and fail with SQLITE_RANGE. Neither statement
            // yields a row or changes anything.
            let probe = Request::ExecSql {
                db_id: 0,
                sql: "SELECT ? WHERE 0; SELECT ? WHERE 0",
                params: vec![Value::Integer(1), Value::Integer(2)].into(),
                schema: 0,
            };
            let supported = match self.request(&probe, "capability probe").await {
                Ok(Response::Result { .. }) => true,
                Err(Error::Server(_)) => false,
                Ok(other) => return Err(self.unexpected("RESULT", &other)),
                Err(e) => return Err(e),
            };
            self.caps.executor_1182 = Some(supported);
        }
        if self.caps.executor_1182 == Some(true) {
            Ok(())
        } else {
            Err(Error::Unsupported(
                "RETURNING needs dqlite 1.18.2 or later: older servers either drop the rows \
                 or do not replicate the write"
                    .into(),
            ))
        }
    }

    /// Sends a request whose response is a single frame and decodes it. A FAILURE becomes
    /// [`Error::Server`].
    pub(crate) async fn request(&mut self, request: &Request<'_>, what: &str) -> Result<Response> {
        self.recover().await?;
        self.exchange(request, what).await
    }

    /// [`request`](Self::request) without [`recover`](Self::recover) first: the connection
    /// must be in sync.
    async fn exchange(&mut self, request: &Request<'_>, what: &str) -> Result<Response> {
        self.exchange_with_cap(request, what, self.max_frame_len)
            .await
    }

    /// [`exchange`](Self::exchange) accepting a response frame of up to `max_frame_len`
    /// bytes (a DUMP reply carries a whole database).
    pub(crate) async fn exchange_with_cap(
        &mut self,
        request: &Request<'_>,
        what: &str,
        max_frame_len: usize,
    ) -> Result<Response> {
        self.request_written = false;
        self.write_buf.clear();
        encode(request, &mut self.write_buf)?;
        self.state = State::Broken(CUT_OFF.into());
        let timeout = self.request_timeout;
        let outcome = within(timeout, async {
            self.write_out().await?;
            self.request_written = true;
            self.read_frame(max_frame_len).await
        })
        .await;
        let (header, body) = self.finish(outcome, what, timeout)?;
        self.decode(&header, body)
    }

    /// Like [`request`](Self::request), for requests that may change data: a failure once
    /// the request may have reached the server becomes [`Error::OutcomeUnknown`].
    ///
    /// "database is locked" answers are retried until the busy timeout: the server checks
    /// the write lock before running anything, so nothing ran.
    async fn request_write(&mut self, request: &Request<'_>) -> Result<Response> {
        // What goes before the write (a drain, a pending ROLLBACK) fails as itself.
        self.recover().await?;
        let started = tokio::time::Instant::now();
        let mut attempt = 0usize;
        let outcome = loop {
            match self.exchange(request, "execute").await {
                Err(Error::Server(e)) if e.code == SQLITE_BUSY => {
                    let pause = BUSY_PAUSES
                        .get(attempt)
                        .or(BUSY_PAUSES.last())
                        .copied()
                        .map_or(Duration::ZERO, Duration::from_millis);
                    if started.elapsed() + pause > self.busy_timeout {
                        break Err(Error::Server(e));
                    }
                    attempt += 1;
                    tokio::time::sleep(pause).await;
                }
                other => break other,
            }
        };
        outcome.map_err(|e| self.write_failed(e, self.request_written))
    }

    /// The error a write reports (see [`Error::for_write`]). An answer that leaves the
    /// write in doubt also breaks the connection: what the node did with it, and with the
    /// transaction around it, is unknown.
    pub(crate) fn write_failed(&mut self, error: Error, sent: bool) -> Error {
        let error = error.for_write(sent);
        if error.kind() == ErrorKind::OutcomeUnknown && !self.is_broken() {
            tracing::warn!(node = %self.address, %error, "a write's outcome is unknown: connection closed");
            self.state = State::Broken(format!("{error}").into());
        }
        error
    }

    /// Sends a QUERY or QUERY_SQL; the response frames are read by [`Rows`].
    async fn start_query(&mut self, request: &Request<'_>) -> Result<()> {
        self.recover().await?;
        self.write_buf.clear();
        encode(request, &mut self.write_buf)?;
        self.state = State::Broken(CUT_OFF.into());
        let timeout = self.request_timeout;
        let outcome = within(timeout, self.write_out()).await;
        self.finish(outcome, "query", timeout)?;
        self.state = State::InQuery;
        Ok(())
    }

    /// Reads the next frame of a result stream (state [`State::InQuery`]) within the
    /// request timeout. The read is cancel-safe: a partial frame stays in the buffer.
    pub(crate) async fn next_query_frame(&mut self) -> Result<Response> {
        if self.state != State::InQuery {
            return Err(Error::Closed {
                reason: match &self.state {
                    State::Broken(r) => r.to_string(),
                    _ => "the result stream is no longer active".into(),
                },
            });
        }
        let timeout = self.request_timeout;
        let cap = self.max_frame_len;
        let frame = match within(timeout, self.read_frame(cap)).await {
            Ok(Ok(frame)) => frame,
            Ok(Err(e)) => {
                self.break_for(&e);
                return Err(e);
            }
            Err(_) => {
                let e = Error::Timeout {
                    operation: format!("reading a result from {}", self.address),
                    after: timeout,
                };
                self.break_for(&e);
                return Err(e);
            }
        };
        let (header, body) = frame;
        match self.decode(&header, body) {
            Ok(Response::Rows(frame)) => Ok(Response::Rows(frame)),
            Ok(other) => {
                self.state = State::Broken("unexpected frame in a result stream".into());
                Err(self.unexpected("ROWS", &other))
            }
            Err(e) => {
                if self.state == State::InQuery {
                    // A FAILURE ends the stream; the connection is in sync again.
                    self.state = State::Ready;
                }
                Err(e)
            }
        }
    }

    /// Marks the end of a result stream (DONE seen).
    pub(crate) fn end_query(&mut self) {
        if self.state == State::InQuery {
            self.state = State::Ready;
        }
    }

    /// Marks a result stream as abandoned before its end.
    pub(crate) fn abandon_query(&mut self) {
        if self.state == State::InQuery {
            self.state = State::NeedsDrain;
        }
    }

    /// Breaks the connection for a protocol violation seen by the row decoder.
    pub(crate) fn protocol_violation(&mut self, detail: String) -> Error {
        self.state = State::Broken(format!("protocol error: {detail}").into());
        Error::Protocol {
            address: self.address.to_string(),
            detail,
        }
    }

    /// Settles the state after a bounded network operation.
    fn finish<T>(
        &mut self,
        outcome: std::result::Result<Result<T>, tokio::time::error::Elapsed>,
        what: &str,
        timeout: Duration,
    ) -> Result<T> {
        match outcome {
            Ok(Ok(value)) => {
                self.state = State::Ready;
                Ok(value)
            }
            Ok(Err(e)) => {
                tracing::debug!(node = %self.address, error = %e, "{what} failed: connection closed");
                self.break_for(&e);
                Err(e)
            }
            Err(_) => {
                let e = Error::Timeout {
                    operation: format!("{what} on {}", self.address),
                    after: timeout,
                };
                tracing::warn!(node = %self.address, ?timeout, "{what} timed out: connection closed");
                self.break_for(&e);
                Err(e)
            }
        }
    }

    /// Decodes a frame; FAILURE becomes an error, and leadership errors break the
    /// connection (the node closed our database and statements).
    fn decode(&mut self, header: &Header, body: Bytes) -> Result<Response> {
        let response = Response::decode(header, body).map_err(|e| {
            let detail = e.to_string();
            self.protocol_violation(detail)
        })?;
        if let Response::Failure { code, message } = response {
            let error = ServerError {
                code,
                message: message.to_string(),
            };
            if error.is_not_leader() || error.is_leadership_lost() {
                tracing::info!(node = %self.address, %error, "leadership changed: connection closed");
                self.leadership_changed = true;
                self.statements.clear();
                self.state = State::Broken(format!("leadership changed: {error}").into());
            }
            return Err(Error::Server(error));
        }
        Ok(response)
    }

    fn unexpected(&mut self, expected: &str, got: &Response) -> Error {
        self.protocol_violation(format!("expected {expected}, got {}", got.name()))
    }

    /// Writes the request in `write_buf` and flushes it: a stream that buffers (TLS keeps
    /// the tail of a large write in its own buffer) must not hold back part of a request
    /// while its answer is awaited.
    async fn write_out(&mut self) -> Result<()> {
        let written = async {
            self.stream.write_all(&self.write_buf).await?;
            self.stream.flush().await
        };
        written.await.map_err(|source| Error::Io {
            address: self.address.to_string(),
            source,
        })
    }

    /// Reads one whole frame of at most `max_frame_len` bytes. Cancel-safe: bytes read so
    /// far stay in `read_buf`.
    ///
    /// The buffer grows with the bytes that arrive, at most doubling what it holds, never
    /// to the length a header declares: a hostile header can declare up to the cap and
    /// then send nothing.
    async fn read_frame(&mut self, max_frame_len: usize) -> Result<(Header, Bytes)> {
        let decoder = FrameDecoder::new(max_frame_len);
        loop {
            match decoder.decode(&mut self.read_buf) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(e) => return Err(self.protocol_violation(e.to_string())),
            }
            let needed = decoder
                .needed(&self.read_buf)
                .map_err(|e| self.protocol_violation(e.to_string()))?;
            let missing = needed.saturating_sub(self.read_buf.len());
            self.read_buf
                .reserve(missing.clamp(READ_CHUNK, self.read_buf.len().max(READ_CHUNK)));
            let n = self
                .stream
                .read_buf(&mut self.read_buf)
                .await
                .map_err(|source| Error::Io {
                    address: self.address.to_string(),
                    source,
                })?;
            if n == 0 {
                return Err(Error::Io {
                    address: self.address.to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the node closed the connection",
                    ),
                });
            }
        }
    }
}

impl TransactionTarget for Connection {
    fn roll_back_before_next_request(&mut self) {
        self.rollback_pending = true;
    }
}

/// `tokio::time::timeout` without its cost when `future` is done at the first poll (with
/// blocking socket calls, most requests are): the deadline is taken before that poll, and
/// the timer is only set up if the future has to wait.
async fn within<F: std::future::Future>(
    timeout: Duration,
    future: F,
) -> std::result::Result<F::Output, tokio::time::error::Elapsed> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut future = std::pin::pin!(future);
    let first = std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match future.as_mut().poll(cx) {
            std::task::Poll::Ready(out) => Some(out),
            std::task::Poll::Pending => None,
        })
    })
    .await;
    match first {
        Some(out) => Ok(out),
        None => tokio::time::timeout_at(deadline, future).await,
    }
}

fn encode(request: &Request<'_>, out: &mut BytesMut) -> Result<()> {
    request
        .encode(out)
        .map_err(|e| Error::InvalidInput(e.to_string()))
}

/// The one statement of `sql`, trimmed of trailing whitespace and comments (so 1.11
/// reports the right change count). Several statements are refused, as stdlib `sqlite3`
/// does; empty text too.
fn single_statement(sql: &str) -> Result<&str> {
    // Without a `;` there is at most one statement, and without `-` or `/` no comment:
    // trimming whitespace is all the tokenizer would do (the common case, kept cheap).
    if !sql.bytes().any(|b| matches!(b, b';' | b'-' | b'/')) {
        let text = sql.trim();
        if !text.is_empty() {
            return Ok(text);
        }
    }
    let parts = sql::split_statements(sql);
    match parts.as_slice() {
        [one] => Ok(sql::trim_tail(one)),
        [] => Err(Error::InvalidInput(
            "the SQL text holds no statement".into(),
        )),
        _ => Err(Error::InvalidInput(
            "the SQL text holds several statements: execute one statement at a time, or \
             use execute_script"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `single_statement` computes without its fast path.
    fn by_tokens(text: &str) -> Option<&str> {
        match sql::split_statements(text).as_slice() {
            [one] => Some(sql::trim_tail(one)),
            _ => None,
        }
    }

    #[test]
    fn the_fast_path_of_single_statement_agrees_with_the_tokenizer() {
        for text in [
            "SELECT 1",
            "  SELECT 1 \n\t",
            "select\u{a0}1\u{a0}",
            "SELECT 'a b'  ",
            "SELECT \"x\" FROM t WHERE a = ?",
            "INSERT INTO t VALUES (1, 'é')\r\n",
            "SELECT 1;",
            "SELECT 1; SELECT 2",
            "SELECT 1 -- note",
            "SELECT 1 /* note */ ",
            "SELECT 2 - 1",
            "SELECT 4 / 2",
            "SELECT ';'",
            "",
            "   ",
            ";",
            "-- only a comment",
        ] {
            assert_eq!(single_statement(text).ok(), by_tokens(text), "{text:?}");
        }
    }
}
