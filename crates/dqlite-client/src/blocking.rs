//! The same client without async.
//!
//! Each [`Connection`] owns a single-threaded tokio runtime and runs the async core on the
//! caller's thread: there is one implementation of the protocol, and no thread hop per
//! call. Once connected, a plain TCP or Unix connection reads and writes its socket with
//! blocking system calls (see [`crate::Connection::use_blocking_io`]), so a round trip is
//! one `send` and one `recv`, as a hand-written blocking client would do; TLS stays on the
//! runtime's reactor. Calling into this module from inside a tokio runtime is refused with an error
//! (blocking there would stall the runtime).
//!
//! ```no_run
//! use dqlite_client::{blocking::Cluster, Config, Value};
//!
//! let cluster = Cluster::new("127.0.0.1:9001".parse::<Config>()?)?;
//! let mut conn = cluster.connect()?;
//! conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)", &[])?;
//! conn.execute("INSERT INTO t VALUES (?)", &[Value::Integer(7)])?;
//! for row in conn.query("SELECT n FROM t", &[])? {
//!     println!("{:?}", row?);
//! }
//! # Ok::<(), dqlite_client::Error>(())
//! ```

use std::pin::{Pin, pin};
use std::sync::Arc;

use tokio::runtime::Runtime;

use crate::admin::{DumpFile, NodeMetadata};
use crate::cluster::{NodeInfo, Role};
use crate::conn::{ExecResult, Statement};
use crate::error::{Error, Result};
use crate::rows::{QueryResult, Row};
use crate::{Config, Value};

fn runtime() -> Result<Runtime> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::InvalidInput(
            "the blocking client was called inside an async runtime; use the async API there"
                .into(),
        ));
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("cannot start the I/O runtime: {e}")))
}

/// Runs `future` on `rt`, refusing when called from inside an async runtime.
///
/// The future is first polled once directly, inside the runtime's context: with blocking
/// socket calls, a request usually completes in that one poll, and the cost of
/// `block_on` (entering the scheduler, parking) is paid only by calls that must wait.
/// Pinned by the caller: a future passed by value would be copied into this frame, and a
/// request's future is large enough for the copy to show.
fn block_on<F: std::future::Future>(rt: &Runtime, mut future: Pin<&mut F>) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::InvalidInput(
            "the blocking client was called inside an async runtime; use the async API there"
                .into(),
        ));
    }
    {
        let _context = rt.enter();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Ok(out);
        }
    }
    // Polled again under block_on's own waker, which replaces the no-op one.
    Ok(rt.block_on(future))
}

/// A cluster, for blocking use: see [`crate::Cluster`].
#[derive(Debug, Clone)]
pub struct Cluster {
    inner: crate::Cluster,
}

impl Cluster {
    /// A cluster reached through `config`'s seed addresses.
    pub fn new(config: Config) -> Result<Self> {
        Ok(Cluster {
            inner: crate::Cluster::new(config),
        })
    }

    /// Wraps an async cluster (sharing its node store and last known leader).
    pub fn from_async(inner: crate::Cluster) -> Self {
        Cluster { inner }
    }

    /// Opens a connection to the leader with the configured database open.
    pub fn connect(&self) -> Result<Connection> {
        let rt = runtime()?;
        let inner = rt.block_on(self.inner.connect())?;
        Connection::new(inner, rt)
    }

    /// Opens a connection to the leader without opening a database (for admin requests).
    pub fn connect_leader(&self) -> Result<Connection> {
        let rt = runtime()?;
        let inner = rt.block_on(self.inner.connect_leader())?;
        Connection::new(inner, rt)
    }

    /// The async cluster underneath.
    pub fn as_async(&self) -> &crate::Cluster {
        &self.inner
    }
}

/// A connection, for blocking use: see [`crate::Connection`] for each method.
#[derive(Debug)]
pub struct Connection {
    inner: crate::Connection,
    rt: Arc<Runtime>,
}

impl Connection {
    /// Connects to the node at `address` itself, leader or not, without opening a database:
    /// for requests that act on that node ([`describe`](Self::describe),
    /// [`set_weight`](Self::set_weight), [`leader`](Self::leader)). Uses `config`'s dial
    /// and request timeouts and its TLS settings; its seeds and database are ignored.
    pub fn to_node(address: &str, config: &Config) -> Result<Connection> {
        let address: crate::Address = address.parse()?;
        let rt = runtime()?;
        let inner = block_on(&rt, pin!(crate::Connection::handshake(&address, config)))??;
        Connection::new(inner, rt)
    }

    /// Wraps a freshly opened connection, switching it to blocking socket calls.
    fn new(mut inner: crate::Connection, rt: Runtime) -> Result<Connection> {
        inner.use_blocking_io()?;
        Ok(Connection {
            inner,
            rt: Arc::new(rt),
        })
    }

    /// Runs one statement that returns no rows.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<ExecResult> {
        block_on(&self.rt, pin!(self.inner.execute(sql, params)))?
    }

    /// Starts a transaction: see [`crate::Connection::transaction`]. Dropped without
    /// commit or rollback, it rolls back before this connection's next request.
    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        self.execute("BEGIN", &[])?;
        Ok(Transaction::new(self))
    }

    /// Runs every statement of a script.
    pub fn execute_script(&mut self, script: &str) -> Result<ExecResult> {
        block_on(&self.rt, pin!(self.inner.execute_script(script)))?
    }

    /// Runs a statement once per parameter row with up to `window` requests in flight;
    /// see [`crate::Connection::execute_many`].
    pub fn execute_many<P: AsRef<[Value]>>(
        &mut self,
        sql: &str,
        rows: impl IntoIterator<Item = P>,
        window: usize,
    ) -> Result<ExecResult> {
        block_on(&self.rt, pin!(self.inner.execute_many(sql, rows, window)))?
    }

    /// Runs a query; the rows are read frame by frame as the iterator advances.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows<'_>> {
        let rows = block_on(&self.rt, pin!(self.inner.query(sql, params)))??;
        Ok(Rows {
            rt: &self.rt,
            inner: rows,
        })
    }

    /// Runs a query and collects every row.
    pub fn query_all(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        block_on(&self.rt, pin!(self.inner.query_all(sql, params)))?
    }

    /// Compiles a statement on the server.
    pub fn prepare(&mut self, sql: &str) -> Result<Statement> {
        block_on(&self.rt, pin!(self.inner.prepare(sql)))?
    }

    /// Runs a prepared statement that returns no rows.
    pub fn execute_prepared(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<ExecResult> {
        block_on(
            &self.rt,
            pin!(self.inner.execute_prepared(statement, params)),
        )?
    }

    /// Runs a prepared query.
    pub fn query_prepared(&mut self, statement: &Statement, params: &[Value]) -> Result<Rows<'_>> {
        let rows = block_on(&self.rt, pin!(self.inner.query_prepared(statement, params)))??;
        Ok(Rows {
            rt: &self.rt,
            inner: rows,
        })
    }

    /// Frees a prepared statement.
    pub fn finalize(&mut self, statement: Statement) -> Result<()> {
        block_on(&self.rt, pin!(self.inner.finalize(statement)))?
    }

    /// Which node leads, as this node knows it.
    pub fn leader(&mut self) -> Result<Option<(u64, String)>> {
        block_on(&self.rt, pin!(self.inner.leader()))?
    }

    /// The cluster's members.
    pub fn cluster(&mut self) -> Result<Vec<NodeInfo>> {
        block_on(&self.rt, pin!(self.inner.cluster()))?
    }

    /// Adds a node as a spare (leader only).
    pub fn add_node(&mut self, id: u64, address: &str) -> Result<()> {
        block_on(&self.rt, pin!(self.inner.add_node(id, address)))?
    }

    /// Gives a node a role (leader only); refuses to demote the last voter (see
    /// [`crate::Connection::assign_role`]).
    pub fn assign_role(&mut self, id: u64, role: Role) -> Result<()> {
        block_on(&self.rt, pin!(self.inner.assign_role(id, role)))?
    }

    /// [`assign_role`](Self::assign_role) that demotes the last voter too.
    pub fn assign_role_unchecked(&mut self, id: u64, role: Role) -> Result<()> {
        block_on(&self.rt, pin!(self.inner.assign_role_unchecked(id, role)))?
    }

    /// Removes a node (leader only); refuses to remove the last voter (see
    /// [`crate::Connection::remove_node`]).
    pub fn remove_node(&mut self, id: u64) -> Result<()> {
        block_on(&self.rt, pin!(self.inner.remove_node(id)))?
    }

    /// [`remove_node`](Self::remove_node) that removes the last voter too.
    pub fn remove_node_unchecked(&mut self, id: u64) -> Result<()> {
        block_on(&self.rt, pin!(self.inner.remove_node_unchecked(id)))?
    }

    /// Transfers leadership (leader only).
    pub fn transfer_leadership(&mut self, id: Option<u64>) -> Result<()> {
        block_on(&self.rt, pin!(self.inner.transfer_leadership(id)))?
    }

    /// This node's failure domain and weight.
    pub fn describe(&mut self) -> Result<NodeMetadata> {
        block_on(&self.rt, pin!(self.inner.describe()))?
    }

    /// Sets this node's weight.
    pub fn set_weight(&mut self, weight: u64) -> Result<()> {
        block_on(&self.rt, pin!(self.inner.set_weight(weight)))?
    }

    /// The files of a database as this node holds them.
    pub fn dump(&mut self, name: &str) -> Result<Vec<DumpFile>> {
        block_on(&self.rt, pin!(self.inner.dump(name)))?
    }

    /// Sets how long later statements answered "database is locked" are retried: see
    /// [`crate::Connection::set_busy_timeout`].
    pub fn set_busy_timeout(&mut self, timeout: std::time::Duration) {
        self.inner.set_busy_timeout(timeout);
    }

    /// The async connection underneath (to be driven only through this wrapper's calls).
    pub fn as_async(&self) -> &crate::Connection {
        &self.inner
    }
}

/// An open transaction on a blocking [`Connection`]: see [`crate::Transaction`].
pub type Transaction<'c> = crate::Transaction<'c, Connection>;

impl crate::Transaction<'_, Connection> {
    /// COMMIT; on failure the transaction is rolled back before the next request.
    pub fn commit(mut self) -> Result<()> {
        self.conn.execute("COMMIT", &[])?;
        self.finished = true;
        Ok(())
    }

    /// ROLLBACK.
    pub fn rollback(mut self) -> Result<()> {
        self.conn.execute("ROLLBACK", &[])?;
        self.finished = true;
        Ok(())
    }
}

impl crate::transaction::TransactionTarget for Connection {
    fn roll_back_before_next_request(&mut self) {
        crate::transaction::TransactionTarget::roll_back_before_next_request(&mut self.inner);
    }
}

/// Rows of a blocking query; an iterator that reads a frame from the network whenever the
/// previous one is used up. Dropping it early drains the rest before the next request.
#[derive(Debug)]
pub struct Rows<'c> {
    rt: &'c Runtime,
    inner: crate::Rows<&'c mut crate::Connection>,
}

impl Rows<'_> {
    /// The result's column names.
    pub fn columns(&self) -> &[String] {
        self.inner.columns()
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        match block_on(self.rt, pin!(self.inner.next())) {
            Ok(Ok(Some(row))) => Some(Ok(row)),
            Ok(Ok(None)) => None,
            Ok(Err(e)) | Err(e) => Some(Err(e)),
        }
    }
}
