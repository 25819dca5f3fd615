//! One connection to one dqlite node: its state, the handshake, recovery after an
//! abandoned result or a dropped transaction, and the node-level requests. The statement
//! API is in `statements`, pipelined batches in `batch`, what the server version allows in
//! `capabilities`, and the request/response exchange itself in `exchange`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;

use dqlite_wire::{Request, Response, Value};

use crate::cluster::NodeInfo;
use crate::config::{Address, Config};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::TransactionEffect;
use crate::transaction::{Transaction, TransactionTarget};
use crate::transport::{self, BlockingSocket, CustomStream, Stream};

mod batch;
mod capabilities;
mod deadline;
mod exchange;
mod statements;
mod trim;

use capabilities::Capabilities;
pub(crate) use deadline::Deadline;
pub use exchange::RequestInFlight;
use exchange::{InFlight, encode};

/// Which result of which connection a [`RowStream`](crate::RowStream) reads: the
/// connection's serial and the number of the result on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ResultId(u64, u64);
pub use statements::{ClassifiedSql, ExecResult, Statement};

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

static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// The message of the state a cut-off request leaves behind.
const CUT_OFF: &str = "a request was cancelled or timed out before its response was read";

/// A connection to one node.
///
/// Every method takes `&mut self`, so there is at most one request in flight. Get one from
/// [`Cluster::connect`] (leader, database open) or [`Pool::get`].
///
/// # Deadlines
///
/// Each call is bounded as a whole by one request timeout
/// ([`Timeouts::request`](crate::Timeouts::request), or
/// [`set_request_timeout`](Self::set_request_timeout)), taken when the call starts: the
/// drain of a result abandoned earlier, the ROLLBACK of a transaction dropped earlier, the
/// capability probe a statement may need, its own request and, for
/// [`query_all`](Self::query_all), every frame of the result, all share it. A streamed
/// result is read call by call: [`Rows::next`](crate::Rows::next) and
/// [`Rows::next_frame`](crate::Rows::next_frame) each get their own timeout (taken only
/// when a frame must be read from the network). Two exceptions: a pipelined batch
/// ([`execute_many`](Self::execute_many)) gets a fresh timeout for each answer, so it runs
/// as long as answers keep coming; a script
/// ([`execute_script`](Self::execute_script)) runs its statements as calls of their own.
/// A call that runs out of time breaks the connection; a write it had sent is reported
/// in doubt ([`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown)).
///
/// [`Cluster::connect`]: crate::Cluster::connect
/// [`Pool::get`]: crate::Pool::get
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    address: Address,
    read_buf: BytesMut,
    write_buf: BytesMut,
    /// When each buffer gives back what large frames made it grow to.
    read_trim: trim::Trim,
    write_trim: trim::Trim,
    pub(crate) max_frame_len: usize,
    request_timeout: Duration,
    busy_timeout: Duration,
    pub(crate) state: State,
    serial: u64,
    /// Results started on this connection (see [`ResultId`]).
    results: u64,
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
    /// Statements the client prepared for itself (a batch's) whose call was dropped before
    /// it freed them: FINALIZE goes out for each before the next request.
    unfinalized: Vec<u32>,
    /// A transaction may be open: a BEGIN or SAVEPOINT went out and no COMMIT, END or
    /// ROLLBACK has ended it since (as far as the statements' text tells). A pool rolls it
    /// back before handing the connection to someone else.
    tx_open: bool,
    caps: Capabilities,
    /// Shared with whoever asked (see [`request_in_flight`](Self::request_in_flight)).
    request_in_flight: RequestInFlight,
    /// The timer of this connection's network waits, kept between them (armed at the
    /// first wait).
    timer: Option<deadline::Timer>,
}

impl Connection {
    /// The result this connection is reading (or read last).
    pub(crate) fn result_id(&self) -> ResultId {
        ResultId(self.serial, self.results)
    }

    /// Dials `address` and sends the protocol handshake. No database is open yet.
    ///
    /// Cancel-safe: dropping the future closes the socket.
    pub async fn handshake(address: &Address, config: &Config) -> Result<Connection> {
        let stream = transport::dial(address, config).await?;
        let mut conn = Connection {
            stream,
            address: address.clone(),
            read_buf: BytesMut::with_capacity(exchange::READ_CHUNK),
            write_buf: BytesMut::with_capacity(exchange::WRITE_CHUNK),
            read_trim: trim::Trim::default(),
            write_trim: trim::Trim::default(),
            max_frame_len: config.max_frame_len,
            request_timeout: crate::config::bounded_wait(config.timeouts.request),
            busy_timeout: config.timeouts.busy,
            state: State::Ready,
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            results: 0,
            statements: HashSet::new(),
            database: None,
            leadership_changed: false,
            node_lost: false,
            request_written: false,
            rollback_pending: false,
            unfinalized: Vec::new(),
            tx_open: false,
            caps: Capabilities::default(),
            request_in_flight: RequestInFlight::default(),
            timer: None,
        };
        conn.write_buf
            .extend_from_slice(&dqlite_wire::PROTOCOL_VERSION.to_le_bytes());
        let deadline = conn.deadline();
        conn.guarded("handshake", deadline, InFlight::Request, async |conn| {
            conn.write_out().await
        })
        .await?;
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

    /// A handle that ends this connection's I/O from another thread, even while a call
    /// runs on it (see [`AbortHandle`](crate::AbortHandle)): for a blocking connection (see
    /// [`use_blocking_io`](Self::use_blocking_io)), whose calls wait in system calls that
    /// only a shut-down socket ends early, and for a TLS one, wherever it is polled (a
    /// runtime of its own or a shared one). `None` for any other stream (a plain tokio one
    /// is ended by dropping the call's future instead). A handle taken before the socket
    /// is handed over ends nothing afterwards.
    pub fn abort_handle(&self) -> Option<crate::AbortHandle> {
        self.stream.abort_handle()
    }

    /// Whether a call on this connection is in the middle of a request, readable while the
    /// call holds the connection: for a caller deciding whether dropping the call now would
    /// break the connection (see [`RequestInFlight`]). Take it once; it follows the
    /// connection for its whole life.
    pub fn request_in_flight(&self) -> RequestInFlight {
        self.request_in_flight.clone()
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
        self.request_timeout = crate::config::bounded_wait(timeout);
    }

    /// Sets how long later writes answered "database is locked" are retried (see
    /// [`Timeouts::busy`](crate::config::Timeouts::busy)); zero disables the retries.
    pub fn set_busy_timeout(&mut self, timeout: Duration) {
        self.busy_timeout = timeout;
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
            Stream::Tls(s, _) => (socket2::SockRef::from(s.get_ref().0).peek(&mut probe), true),
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

    /// Before the connection goes back to a pool: a transaction its user left open (a
    /// plain BEGIN never committed, a script stopped half-way) is rolled back first, as
    /// [`needs_recovery`](Self::needs_recovery) then says. Its next user would otherwise
    /// run inside it, and its "autocommit" writes would never be committed.
    pub(crate) fn roll_back_before_reuse(&mut self) {
        if self.tx_open && self.is_reusable() {
            self.rollback_pending = true;
        }
    }

    /// Notes what a statement that went out does to the transaction: `effect` is the
    /// statement's. Conservative: a BEGIN counts even when it
    /// failed, and only a COMMIT or ROLLBACK that worked (or found no transaction) ends one.
    /// `failure` is the statement's error, `None` when it succeeded.
    pub(super) fn track_transaction(&mut self, effect: TransactionEffect, failure: Option<&Error>) {
        match effect {
            TransactionEffect::Begins => self.tx_open = true,
            TransactionEffect::Ends => {
                let ended = failure
                    .is_none_or(|e| matches!(e, Error::Server(e) if e.is_no_transaction_active()));
                if ended {
                    self.tx_open = false;
                }
            }
            _ => {}
        }
    }

    /// True once the node reported that it is not (or no longer) the leader.
    pub fn saw_leadership_change(&self) -> bool {
        self.leadership_changed
    }

    /// Notes that the node answered LEADER naming another node, or none: it no longer
    /// leads, so the connection is closed as after a "not leader" answer.
    pub(crate) fn note_not_leading(&mut self, named: Option<&str>) {
        self.leadership_changed = true;
        let reason = match named {
            Some(leader) => format!("the node no longer leads: it names {leader}"),
            None => "the node no longer leads: it knows no leader".to_owned(),
        };
        self.state = State::Broken(reason.into());
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
    /// reads until its EMPTY reply), rolls back a transaction dropped unfinished, and frees
    /// the statement of a batch dropped unfinished. Does nothing when there is nothing to
    /// do; every request calls it first.
    pub async fn recover(&mut self) -> Result<()> {
        let deadline = self.deadline();
        self.recover_by(deadline).await
    }

    /// [`recover`](Self::recover) as the first step of a call that ends by `deadline`.
    ///
    /// The usual case (nothing to do) costs a check; the work itself runs in a future of
    /// its own, allocated only then, so that it does not enlarge every request's future.
    pub(crate) async fn recover_by(&mut self, deadline: Deadline) -> Result<()> {
        match &self.state {
            State::Ready if !self.rollback_pending && self.unfinalized.is_empty() => Ok(()),
            State::Broken(reason) => Err(Error::Closed {
                reason: reason.to_string(),
            }),
            _ => Box::pin(self.settle_leftovers(deadline)).await,
        }
    }

    /// Drains an abandoned result, rolls back a dropped transaction and frees the
    /// statements of dropped batches.
    async fn settle_leftovers(&mut self, deadline: Deadline) -> Result<()> {
        self.drain_abandoned(deadline).await?;
        if self.rollback_pending {
            let rollback = Request::ExecSql {
                db_id: 0,
                sql: "ROLLBACK",
                params: (&[] as &[Value]).into(),
                schema: 0,
            };
            match self.exchange(&rollback, "rollback", deadline).await {
                Ok(_) => {}
                // Already ended: SQLite rolls back by itself after some errors.
                Err(Error::Server(e)) if e.is_no_transaction_active() => {}
                // Refused ("checkpoint in progress"...): the transaction is still open, and
                // the ROLLBACK stays due before the next request, which would run in it.
                Err(e) => return Err(e),
            }
            self.rollback_pending = false;
            self.tx_open = false;
        }
        while let Some(&stmt_id) = self.unfinalized.last() {
            let finalize = Request::Finalize { db_id: 0, stmt_id };
            if let Err(e) = self.exchange(&finalize, "finalize", deadline).await
                && self.is_broken()
            {
                return Err(e);
            }
            // Freed, or refused (the node no longer has it): never sent again either way.
            self.unfinalized.pop();
        }
        Ok(())
    }

    /// Frees `id`, a statement the client prepared for itself, before the next request:
    /// for a call dropped while it held the statement (see
    /// [`execute_many`](Self::execute_many)). A broken connection, or one whose node
    /// dropped its statements (a leadership change), has nothing to free.
    pub(super) fn finalize_later(&mut self, id: u32) {
        if self.statements.remove(&id) && self.is_reusable() {
            self.unfinalized.push(id);
        }
    }

    async fn drain_abandoned(&mut self, deadline: Deadline) -> Result<()> {
        match &self.state {
            State::Ready => Ok(()),
            State::Broken(reason) => Err(Error::Closed {
                reason: reason.to_string(),
            }),
            State::InQuery | State::NeedsDrain => {
                self.write_buf.clear();
                encode(&Request::Interrupt { db_id: 0 }, &mut self.write_buf)?;
                let cap = self.max_frame_len;
                self.guarded("interrupt", deadline, InFlight::Request, async |conn| {
                    conn.write_out().await?;
                    loop {
                        let (header, _) = conn.read_frame(cap).await?;
                        if header.kind() == dqlite_wire::response_type::EMPTY {
                            return Ok(());
                        }
                        // ROWS, FAILURE and RESULT frames of the abandoned request: skip.
                    }
                })
                .await
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
}

impl TransactionTarget for Connection {
    fn roll_back_before_next_request(&mut self) {
        self.rollback_pending = true;
    }
}
