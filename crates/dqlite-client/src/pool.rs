//! A bounded, leader-aware connection pool.
//!
//! Every pooled connection points at the leader. A connection that saw a transport,
//! protocol or leadership error is discarded, never handed out again; a leadership change
//! seen on any connection retires every idle connection of the old generation at once.
//! An idle connection that the node closed or reset is dropped at checkout (a
//! non-blocking peek, no round trip).
//! Idle connections are closed after [`PoolOptions::idle_timeout`], and every connection
//! after [`PoolOptions::max_lifetime`].

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::cluster::Cluster;
use crate::conn::{Connection, ExecResult};
use crate::error::{Error, ErrorKind, Result};
use crate::rows::QueryResult;
use dqlite_wire::Value;

/// Pool settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolOptions {
    /// Most connections open at once (in use plus idle). Default 10.
    pub max_size: usize,
    /// How long [`Pool::get`] waits for a free connection. Default 30 s.
    pub acquire_timeout: Duration,
    /// Idle connections older than this are closed. Default 10 minutes.
    pub idle_timeout: Option<Duration>,
    /// Connections older than this are closed when returned. Default 30 minutes.
    pub max_lifetime: Option<Duration>,
    /// Check an idle connection with a round trip before handing it out: the node must
    /// answer, and still name itself as the leader. Costs one round trip per checkout; off
    /// by default (broken connections are already discarded).
    pub test_on_checkout: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 10,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            test_on_checkout: false,
        }
    }
}

impl PoolOptions {
    /// Sets [`max_size`](Self::max_size).
    pub fn max_size(mut self, n: usize) -> Self {
        self.max_size = n.max(1);
        self
    }

    /// Sets [`acquire_timeout`](Self::acquire_timeout).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`max_lifetime`](Self::max_lifetime).
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// Sets [`test_on_checkout`](Self::test_on_checkout).
    pub fn test_on_checkout(mut self, yes: bool) -> Self {
        self.test_on_checkout = yes;
        self
    }
}

/// A pool of connections to the leader of one cluster. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    cluster: Cluster,
    options: PoolOptions,
    permits: Arc<Semaphore>,
    idle: Mutex<VecDeque<Idle>>,
    /// Bumped on every leadership change seen; connections of older generations are
    /// closed instead of reused.
    generation: AtomicU64,
    open: AtomicUsize,
}

#[derive(Debug)]
struct Idle {
    conn: Connection,
    meta: Meta,
    since: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    created: Instant,
    generation: u64,
}

/// Numbers that describe a pool right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections open (in use plus idle).
    pub open: usize,
    /// Idle connections.
    pub idle: usize,
    /// Connections that could still be handed out without waiting.
    pub available: usize,
}

impl Pool {
    /// A pool over `cluster`. Connections are opened on demand. When called inside a
    /// tokio runtime, a background task closes idle connections past their timeout.
    pub fn new(cluster: Cluster, options: PoolOptions) -> Self {
        let inner = Arc::new(PoolInner {
            permits: Arc::new(Semaphore::new(options.max_size.max(1))),
            idle: Mutex::new(VecDeque::new()),
            generation: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            cluster,
            options,
        });
        if let (Ok(handle), Some(period)) = (
            tokio::runtime::Handle::try_current(),
            inner.options.idle_timeout,
        ) {
            handle.spawn(reap_idle(Arc::downgrade(&inner), period));
        }
        Pool { inner }
    }

    /// The cluster this pool connects to.
    pub fn cluster(&self) -> &Cluster {
        &self.inner.cluster
    }

    /// A connection to the leader: an idle one when there is a usable one, else a new one.
    /// Waits at most [`PoolOptions::acquire_timeout`] for a free slot. Cancel-safe: a
    /// dropped `get` loses no slot.
    pub async fn get(&self) -> Result<PooledConnection> {
        let timeout = self.inner.options.acquire_timeout;
        match tokio::time::timeout(timeout, self.get_inner()).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                operation: "waiting for a pooled connection".into(),
                after: timeout,
            }),
        }
    }

    async fn get_inner(&self) -> Result<PooledConnection> {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| Error::Closed {
                reason: "the pool is closed".into(),
            })?;
        while let Some((conn, meta)) = self.inner.pop_idle() {
            let mut checkout = Checkout {
                pool: &self.inner,
                conn: Some(conn),
                meta,
            };
            // A connection the node closed or reset while it sat idle (a restarted node, a
            // middlebox) is dropped here, at the cost of one non-blocking peek.
            let usable = match checkout.conn.as_mut() {
                Some(conn) => {
                    !conn.peer_closed()
                        && (!self.inner.options.test_on_checkout || still_leads(conn).await)
                }
                None => false,
            };
            if usable && let Some(conn) = checkout.conn.take() {
                return Ok(self.wrap(conn, meta, permit));
            }
        }
        let conn = self.inner.cluster.connect().await?;
        self.inner.open.fetch_add(1, Ordering::Relaxed);
        let meta = Meta {
            created: Instant::now(),
            generation: self.inner.generation.load(Ordering::Acquire),
        };
        Ok(self.wrap(conn, meta, permit))
    }

    fn wrap(&self, conn: Connection, meta: Meta, permit: OwnedSemaphorePermit) -> PooledConnection {
        PooledConnection {
            conn: Some(conn),
            meta,
            pool: Arc::clone(&self.inner),
            permit: Some(permit),
        }
    }

    /// Runs one statement that returns no rows on a pooled connection.
    ///
    /// If the node answers "not leader" (nothing ran), the statement is sent again on the
    /// new leader, within the connect deadline: at once the first time, then after the
    /// configured backoff. Any other failure is returned as is; a
    /// write whose outcome is unknown is returned as [`Error::OutcomeUnknown`].
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<ExecResult> {
        let deadline = self.inner.cluster.connect_deadline();
        let mut retry = 0u32;
        loop {
            let mut conn = self.get().await?;
            match conn.execute(sql, params).await {
                Err(e) if e.kind() == ErrorKind::NotLeader && Instant::now() < deadline => {
                    drop(conn);
                    self.inner.cluster.forget_leader();
                    self.pause_before_retry(retry, deadline).await;
                    retry = retry.saturating_add(1);
                }
                other => return other,
            }
        }
    }

    /// Runs a query on a pooled connection and collects every row. Retried on the new
    /// leader after "not leader", like [`execute`](Self::execute).
    pub async fn query_all(&self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        let deadline = self.inner.cluster.connect_deadline();
        let mut retry = 0u32;
        loop {
            let mut conn = self.get().await?;
            match conn.query_all(sql, params).await {
                Err(e) if e.kind() == ErrorKind::NotLeader && Instant::now() < deadline => {
                    drop(conn);
                    self.inner.cluster.forget_leader();
                    self.pause_before_retry(retry, deadline).await;
                    retry = retry.saturating_add(1);
                }
                other => return other,
            }
        }
    }

    /// The pause after the `retry`-th "not leader" answer (from 0) of one call: none the
    /// first time (leadership moved, and discovery waits for the new leader), then the
    /// configured backoff, so that a node that still says it leads but refuses statements
    /// (one handing leadership over) is not reconnected to in a loop. Never past
    /// `deadline`.
    async fn pause_before_retry(&self, retry: u32, deadline: Instant) {
        if retry == 0 {
            return;
        }
        let config = self.inner.cluster.config();
        let pause = crate::discovery::backoff(config.backoff_base, config.backoff_cap, retry - 1);
        let until = Instant::now()
            .checked_add(pause)
            .unwrap_or(deadline)
            .min(deadline);
        tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
    }

    /// Closes every idle connection now (for example after the application noticed a
    /// failover). Connections in use are closed when returned.
    pub fn retire_all(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        self.inner.close_idle();
    }

    /// Closes the pool: idle connections now, the others when returned; further `get`s
    /// fail.
    pub fn close(&self) {
        self.inner.permits.close();
        self.retire_all();
    }

    /// The pool's current numbers.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            open: self.inner.open.load(Ordering::Relaxed),
            idle: self.inner.idle.lock().map(|i| i.len()).unwrap_or(0),
            available: self.inner.permits.available_permits(),
        }
    }
}

/// An idle connection being checked before it is handed out. Closed, and counted out of
/// the pool, unless taken: when the check fails, and when the `get` is dropped during it
/// (a ping cut short by the caller's timeout).
struct Checkout<'a> {
    pool: &'a PoolInner,
    conn: Option<Connection>,
    meta: Meta,
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A check that found the node no longer leading, or not answering, retires the
            // pool's other connections to it at once, rather than one check each.
            self.pool.learn_from(&conn, self.meta);
            self.pool.discard(conn);
        }
    }
}

/// The check of [`PoolOptions::test_on_checkout`]: a LEADER round trip, which the node must
/// answer by naming itself. A node that lost the lead still answers (naming the new leader,
/// or none), so a mere answer would pass a connection that only fails at its first
/// statement.
async fn still_leads(conn: &mut Connection) -> bool {
    match conn.leader().await {
        Ok(Some((_, leader))) if leader == conn.address().as_node_address() => true,
        Ok(named) => {
            conn.note_not_leading(named.as_ref().map(|(_, leader)| leader.as_str()));
            false
        }
        Err(_) => false,
    }
}

impl PoolInner {
    /// The most recently returned usable idle connection, closing stale ones on the way.
    fn pop_idle(&self) -> Option<(Connection, Meta)> {
        let generation = self.generation.load(Ordering::Acquire);
        loop {
            let idle = self.idle.lock().ok()?.pop_back()?;
            if idle.meta.generation == generation && !self.expired(&idle.meta, idle.since) {
                return Some((idle.conn, idle.meta));
            }
            self.discard(idle.conn);
        }
    }

    fn expired(&self, meta: &Meta, idle_since: Instant) -> bool {
        let now = Instant::now();
        self.options
            .max_lifetime
            .is_some_and(|max| now.duration_since(meta.created) >= max)
            || self
                .options
                .idle_timeout
                .is_some_and(|max| now.duration_since(idle_since) >= max)
    }

    /// Retires every connection of `meta`'s generation or older (all of them point at
    /// the same leader): idle ones now, the others when they come back. Connections opened
    /// since then are kept.
    fn retire(&self, meta: Meta) {
        if self
            .generation
            .compare_exchange(
                meta.generation,
                meta.generation + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            // Already retired by another connection of the same generation.
            return;
        }
        self.close_idle();
    }

    /// Closes every idle connection.
    fn close_idle(&self) {
        let idle: Vec<Idle> = match self.idle.lock() {
            Ok(mut idle) => idle.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for idle in idle {
            self.discard(idle.conn);
        }
    }

    fn discard(&self, conn: Connection) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        drop(conn);
    }

    /// Takes a connection back: kept when it is healthy and current, closed otherwise.
    fn give_back(&self, conn: Connection, meta: Meta) {
        self.learn_from(&conn, meta);
        let current = self.generation.load(Ordering::Acquire);
        if !conn.is_reusable()
            || meta.generation != current
            || self.permits.is_closed()
            || self.expired(&meta, Instant::now())
        {
            self.discard(conn);
            return;
        }
        match self.idle.lock() {
            Ok(mut idle) => idle.push_back(Idle {
                conn,
                meta,
                since: Instant::now(),
            }),
            Err(_) => self.discard(conn),
        }
    }

    /// What a connection leaving use (given back or detached) tells about the others.
    fn learn_from(&self, conn: &Connection, meta: Meta) {
        if conn.saw_leadership_change() {
            // Every connection to the old leader is now useless.
            tracing::info!(node = %conn.address(), "leadership changed: retiring the pool's connections");
            self.retire(meta);
        } else if conn.lost_its_node() {
            // A timeout or a broken link: the node may be paused or gone, and a paused node
            // still accepts connections, so each idle connection to it would cost its user a
            // full deadline. Forget it as leader and retire its connections; discovery finds
            // whichever node leads now.
            tracing::info!(node = %conn.address(), "the node stopped answering: retiring the pool's connections");
            self.cluster.forget_leader_at(conn.address());
            self.retire(meta);
        }
    }
}

async fn reap_idle(pool: Weak<PoolInner>, idle_timeout: Duration) {
    let period = (idle_timeout / 2).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(period).await;
        let Some(pool) = pool.upgrade() else { return };
        let stale: Vec<Idle> = match pool.idle.lock() {
            Ok(mut idle) => {
                let (stale, keep): (Vec<Idle>, Vec<Idle>) =
                    idle.drain(..).partition(|i| pool.expired(&i.meta, i.since));
                idle.extend(keep);
                stale
            }
            Err(_) => return,
        };
        for idle in stale {
            pool.discard(idle.conn);
        }
    }
}

/// A connection checked out of a [`Pool`]; returns to it when dropped.
///
/// Dereferences to [`Connection`]. A connection dropped in the middle of a result stream,
/// or with a transaction left open (a dropped [`Transaction`](crate::Transaction), or a
/// BEGIN without its COMMIT), is drained and rolled back in the background
/// before it goes back to the idle list (or closed if that fails, or if there is no
/// runtime to do it on).
#[derive(Debug)]
pub struct PooledConnection {
    conn: Option<Connection>,
    meta: Meta,
    pool: Arc<PoolInner>,
    /// Held until the connection is back in the pool (or closed).
    permit: Option<OwnedSemaphorePermit>,
}

impl PooledConnection {
    /// Takes the connection out of the pool for good: the pool opens another in its place.
    /// What the connection saw still counts: a leadership change, or a node that stopped
    /// answering, retires the pool's other connections to that node, as when it is given
    /// back.
    pub fn detach(mut self) -> Option<Connection> {
        self.pool.open.fetch_sub(1, Ordering::Relaxed);
        let conn = self.conn.take()?;
        self.pool.learn_from(&conn, self.meta);
        Some(conn)
    }
}

impl Deref for PooledConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // `conn` is only `None` after `detach` or `drop`, which consume the value.
        match &self.conn {
            Some(conn) => conn,
            None => unreachable_connection(),
        }
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut Connection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable_connection(),
        }
    }
}

#[allow(clippy::panic)] // Unreachable: the field is only emptied by consuming methods.
fn unreachable_connection() -> ! {
    panic!("PooledConnection used after its connection was taken")
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let meta = self.meta;
        conn.roll_back_before_reuse();
        if conn.needs_recovery() {
            // An abandoned result or a dropped transaction: settle it off the caller's
            // path, then pool the connection. A dropped transaction holds SQLite's write
            // lock until its ROLLBACK, so it must not wait in the idle list for its next
            // user. The permit moves along, so the pool does not over-commit meanwhile.
            let Ok(handle) = tokio::runtime::Handle::try_current() else {
                // No runtime to run it on: closing the socket ends the session (and rolls
                // back its transaction) on the node.
                self.pool.discard(conn);
                return;
            };
            let pool = Arc::clone(&self.pool);
            let permit = self.permit.take();
            handle.spawn(async move {
                let _permit = permit;
                if conn.recover().await.is_ok() {
                    pool.give_back(conn, meta);
                } else {
                    // A ROLLBACK refused because leadership moved, or a node that stopped
                    // answering: the pool's other connections to it are stale too.
                    pool.learn_from(&conn, meta);
                    pool.discard(conn);
                }
            });
            return;
        }
        self.pool.give_back(conn, meta);
    }
}
