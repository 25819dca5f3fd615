//! `NativePool`: `dqliteclient.ConnectionPool` on `dqlite_client::Pool`. Each checkout is
//! a [`NativeSession`] holding the pooled connection; releasing the session gives the
//! connection back (the pool drops it when it broke or its node lost the lead).

use dqlite_client::{Cluster, NodeStore, Pool, PoolOptions};
use pyo3::prelude::*;

use super::cluster::{NativeCluster, SharedStore, seconds};
use super::run::Mode;
use super::session::{Held, NativeSession};
use super::{ClientError, NodeTuple, nodes_from_tuples};

/// A pool of sessions with the leader.
#[pyclass(frozen, module = "dqlitedbapi._native")]
pub(crate) struct NativePool {
    mode: Mode,
    pool: Pool,
    store: SharedStore,
}

#[pymethods]
impl NativePool {
    /// A pool of at most `max_size` connections to the leader of `cluster`'s members
    /// (`nodes`), with `database` open; a checkout waits at most `acquire_timeout`
    /// seconds. `asynchronous`: `acquire` returns an awaitable.
    #[new]
    #[pyo3(signature = (cluster, nodes, *, database, max_size, acquire_timeout, asynchronous))]
    fn new(
        cluster: &NativeCluster,
        nodes: Vec<NodeTuple>,
        database: String,
        max_size: usize,
        acquire_timeout: f64,
        asynchronous: bool,
    ) -> PyResult<Self> {
        let (settings, store) = cluster.parts();
        let nodes = nodes_from_tuples(nodes);
        let seeds: Vec<String> = nodes.iter().map(|n| n.address.clone()).collect();
        let failed = |e: ClientError| crate::exiting::attach(|py| e.into_pyerr(py));
        if seeds.is_empty() {
            return Err(failed(ClientError::new("no_nodes", "No nodes configured")));
        }
        store.set(nodes).map_err(|e| failed(e.into()))?;
        let config = settings.config(&seeds, &database).map_err(failed)?;
        let options = PoolOptions::default()
            .max_size(max_size)
            .acquire_timeout(seconds("acquire_timeout", acquire_timeout)?)
            .idle_timeout(None);
        Ok(NativePool {
            mode: Mode::new(asynchronous)?,
            pool: Pool::new(
                Cluster::with_store(config, Box::new(store.clone())),
                options,
            ),
            store,
        })
    }

    /// A session with the leader, checked out of the pool (an awaitable of it when
    /// asynchronous). `nodes` refreshes the members first (None: as they are).
    #[pyo3(signature = (nodes = None))]
    fn acquire(&self, py: Python<'_>, nodes: Option<Vec<NodeTuple>>) -> PyResult<Py<PyAny>> {
        if let Some(nodes) = nodes.filter(|n| !n.is_empty()) {
            self.store
                .set(nodes_from_tuples(nodes))
                .map_err(|e| ClientError::from(e).into_pyerr(py))?;
        }
        let pool = self.pool.clone();
        let mode = self.mode.clone();
        self.mode
            .finish(py, async move { Ok(pool.get().await?) }, move |py, conn| {
                Py::new(py, NativeSession::new(mode, Held::Pooled(conn))).map(Py::into_any)
            })
    }

    /// `(open, idle, available)`: connections open, idle among them, and checkouts that
    /// would not wait.
    fn stats(&self) -> (usize, usize, usize) {
        let s = self.pool.stats();
        (s.open, s.idle, s.available)
    }

    /// Closes idle connections now, the others when they come back; later checkouts fail.
    fn close(&self) {
        self.pool.close();
    }

    /// Closes the idle connections (after a leader change).
    fn retire_idle(&self) {
        self.pool.retire_all();
    }
}
