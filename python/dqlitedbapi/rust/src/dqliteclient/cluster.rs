//! `NativeCluster`: leader discovery and the admin requests of `dqliteclient.ClusterClient`,
//! on `dqlite_client::Cluster` and its `admin` module.
//!
//! The members come from the Python node store at each call (a Python program may keep
//! them anywhere) and are written into the in-memory store that this object's `Cluster`
//! reads, so the last known leader is remembered between calls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dqlite_client::{
    Address, Cluster, Config, Connection, Dialer, Error, ErrorKind, MemoryNodeStore, NodeInfo,
    NodeStore, RedirectPolicy, Role,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::run::{self, Mode};
use crate::dial::PyDialer;

/// What an operation on a connection returns.
pub(crate) type ConnFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Error>> + Send + 'a>>;

/// Gives an operation its higher-ranked type (closures do not infer it by themselves).
fn op<T, F>(f: F) -> F
where
    F: for<'a> FnOnce(&'a mut Connection) -> ConnFuture<'a, T>,
{
    f
}
use super::{ClientError, NodeTuple, node_to_tuple, nodes_from_tuples};

/// The node store every `Cluster` of one [`NativeCluster`] reads: the members Python gave
/// last.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedStore(Arc<MemoryNodeStore>);

impl NodeStore for SharedStore {
    fn get(&self) -> dqlite_client::Result<Vec<NodeInfo>> {
        self.0.get()
    }

    fn set(&self, nodes: Vec<NodeInfo>) -> dqlite_client::Result<()> {
        self.0.set(nodes)
    }
}

/// The settings a `Config` is built from.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) request_timeout: Duration,
    pub(crate) dial_timeout: Duration,
    pub(crate) attempt_timeout: Duration,
    pub(crate) max_frame_len: Option<usize>,
    pub(crate) policy: Option<RedirectPolicy>,
    /// Opens the connections to the nodes instead of the client (`dial_func`).
    pub(crate) dialer: Option<Arc<dyn Dialer>>,
}

impl Settings {
    /// A configuration for `seeds` and `database`. Discovery gets two attempt timeouts
    /// (a probe and the confirmation of its redirect), retrying rounds within them.
    pub(crate) fn config(&self, seeds: &[String], database: &str) -> Result<Config, ClientError> {
        let mut config = Config::new(seeds)?
            .database(database)
            .request_timeout(self.request_timeout)
            .dial_timeout(self.dial_timeout)
            .connect_timeout(self.attempt_timeout.saturating_mul(2));
        if let Some(len) = self.max_frame_len {
            config = config.max_frame_len(len);
        }
        if let Some(policy) = &self.policy {
            config = config.redirect_policy(policy.clone());
        }
        if let Some(dialer) = &self.dialer {
            config = config.dialer(dialer.clone());
        }
        Ok(config)
    }
}

/// Seconds as a duration (validated by the Python package; refused here too).
pub(crate) fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "{name} must be a positive finite number, got {value}"
            ))
        })
}

/// Where a policy's exception waits for the Python package to raise it.
pub(crate) type PolicyErrorSlot = Arc<Mutex<Option<PyErr>>>;

/// A Python callable `policy(address) -> bool` as a [`RedirectPolicy`]. A callable that
/// raises refuses the address; its exception is kept in `raised`.
pub(crate) fn python_policy(policy: Py<PyAny>, raised: PolicyErrorSlot) -> RedirectPolicy {
    RedirectPolicy::new(move |address| {
        crate::exiting::attach(|py| {
            match policy
                .call1(py, (address,))
                .and_then(|verdict| verdict.is_truthy(py))
            {
                Ok(allowed) => allowed,
                Err(e) => {
                    *raised
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
                    false
                }
            }
        })
    })
}

/// Leader discovery and cluster administration (see the module documentation).
#[pyclass(frozen, module = "dqlitedbapi._native")]
pub(crate) struct NativeCluster {
    mode: Mode,
    settings: Settings,
    store: SharedStore,
    /// Created at the first call, when members are known.
    cluster: Mutex<Option<Cluster>>,
    /// The exception a policy raised, for `take_policy_error`.
    policy_error: PolicyErrorSlot,
}

impl NativeCluster {
    /// The cluster for a call: members updated, with `policy` in place of the configured
    /// one if given (a cluster of the call's own then).
    fn cluster_for(
        &self,
        nodes: Vec<NodeTuple>,
        policy: Option<Py<PyAny>>,
    ) -> Result<Cluster, ClientError> {
        let nodes = nodes_from_tuples(nodes);
        let seeds: Vec<String> = nodes.iter().map(|n| n.address.clone()).collect();
        if seeds.is_empty() {
            return Err(ClientError::new("no_nodes", "No nodes configured"));
        }
        self.store.set(nodes)?;
        if let Some(policy) = policy {
            let settings = Settings {
                policy: Some(python_policy(policy, self.policy_error.clone())),
                ..self.settings.clone()
            };
            let config = settings.config(&seeds, "default")?;
            return Ok(Cluster::with_store(config, Box::new(self.store.clone())));
        }
        let mut slot = self
            .cluster
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(cluster) = slot.as_ref() {
            return Ok(cluster.clone());
        }
        let config = self.settings.config(&seeds, "default")?;
        let cluster = Cluster::with_store(config, Box::new(self.store.clone()));
        *slot = Some(cluster.clone());
        Ok(cluster)
    }

    /// Runs `op` on a connection to the leader. A "not leader" answer, and every change
    /// of membership or leadership (`forget`), makes the next call look for the leader
    /// again.
    fn on_leader<T, F, C>(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        policy: Option<Py<PyAny>>,
        forget: bool,
        op: F,
        convert: C,
    ) -> PyResult<Py<PyAny>>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Connection) -> ConnFuture<'a, T> + Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
    {
        let cluster = self
            .cluster_for(nodes, policy)
            .map_err(|e| e.into_pyerr(py))?;
        self.mode.finish(
            py,
            async move {
                let mut conn = cluster.connect_leader().await?;
                let out = op(&mut conn).await;
                if forget
                    || out
                        .as_ref()
                        .is_err_and(|e| e.kind() == ErrorKind::NotLeader)
                {
                    cluster.forget_leader();
                }
                Ok(out?)
            },
            convert,
        )
    }

    /// Runs `op` on a connection to `address`, or to the leader when `None`.
    fn on_node<T, F, C>(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        address: Option<String>,
        op: F,
        convert: C,
    ) -> PyResult<Py<PyAny>>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Connection) -> ConnFuture<'a, T> + Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
    {
        let Some(address) = address else {
            return self.on_leader(py, nodes, None, false, op, convert);
        };
        let config = self
            .settings
            .config(std::slice::from_ref(&address), "default")
            .map_err(|e| e.into_pyerr(py))?;
        self.mode.finish(
            py,
            async move {
                let target: Address = address.parse()?;
                let mut conn = Connection::handshake(&target, &config).await?;
                Ok(op(&mut conn).await?)
            },
            convert,
        )
    }
}

/// The outcome of a checked ASSIGN or REMOVE: the client's refusal to take the last
/// voter's vote (the only `InvalidInput` these calls give once the id was checked) is kept
/// apart, for [`raise_refusal`].
fn refusal(outcome: Result<(), Error>) -> Result<Option<String>, Error> {
    match outcome {
        Ok(()) => Ok(None),
        // The message names the Rust call that forces the change; here it is `force=True`.
        Err(Error::InvalidInput(message)) => Ok(Some(match message.rsplit_once(" (") {
            Some((text, _)) => format!("{text} (force=True)"),
            None => message,
        })),
        Err(e) => Err(e),
    }
}

/// `convert` of a checked ASSIGN or REMOVE: None, or the refusal as kind `"refused"`.
fn raise_refusal(py: Python<'_>, refused: Option<String>) -> PyResult<Py<PyAny>> {
    match refused {
        None => Ok(py.None()),
        Some(message) => Err(ClientError::new("refused", message).into_pyerr(py)),
    }
}

/// A role as `dqlitewire.NodeRole` names it.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Voter => "VOTER",
        Role::Standby => "STANDBY",
        Role::Spare => "SPARE",
    }
}

fn role(code: u64) -> PyResult<Role> {
    Role::from_code(code)
        .map_err(|_| pyo3::exceptions::PyValueError::new_err(format!("unknown role {code}")))
}

#[pymethods]
impl NativeCluster {
    /// A cluster client. Timeouts in seconds: `timeout` bounds each request, `dial_timeout`
    /// each dial, `attempt_timeout` each probe of discovery. `policy(address) -> bool`
    /// vets the addresses nodes name. `asynchronous`: methods return awaitables.
    /// `dialer(address, fd)` opens the connections to the nodes (see
    /// `dqlitedbapi._dial.native_dialer`).
    #[new]
    #[pyo3(signature = (*, timeout, dial_timeout, attempt_timeout, max_frame_len, policy, asynchronous, dialer = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        timeout: f64,
        dial_timeout: f64,
        attempt_timeout: f64,
        max_frame_len: Option<usize>,
        policy: Option<Py<PyAny>>,
        asynchronous: bool,
        dialer: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let policy_error = PolicyErrorSlot::default();
        Ok(NativeCluster {
            mode: Mode::new(asynchronous)?,
            settings: Settings {
                request_timeout: seconds("timeout", timeout)?,
                dial_timeout: seconds("dial_timeout", dial_timeout)?,
                attempt_timeout: seconds("attempt_timeout", attempt_timeout)?,
                max_frame_len,
                policy: policy.map(|p| python_policy(p, policy_error.clone())),
                dialer: dialer.map(|f| Arc::new(PyDialer::new(f)) as Arc<dyn Dialer>),
            },
            store: SharedStore::default(),
            cluster: Mutex::new(None),
            policy_error,
        })
    }

    /// True when methods return awaitables.
    #[getter]
    fn asynchronous(&self) -> bool {
        self.mode.is_async()
    }

    /// The leader's address, found among `nodes` (`(id, address, role)` tuples).
    #[pyo3(signature = (nodes, policy = None))]
    fn find_leader(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        policy: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let cluster = self
            .cluster_for(nodes, policy)
            .map_err(|e| e.into_pyerr(py))?;
        self.mode.finish(
            py,
            async move {
                let conn = cluster.connect_leader().await?;
                Ok(conn.address().to_string())
            },
            run::plain,
        )
    }

    /// The exception a redirect policy raised (it then refused the address), once.
    fn take_policy_error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.policy_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .map(|e| e.into_value(py).into_any())
    }

    /// Forgets the last known leader.
    fn forget_leader(&self) {
        if let Some(cluster) = self
            .cluster
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            cluster.forget_leader();
        }
    }

    /// The leader's `(node_id, address)` as the leader reports it, or None.
    #[pyo3(signature = (nodes, policy = None))]
    fn leader_info(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        policy: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.on_leader(
            py,
            nodes,
            policy,
            false,
            op(|c| Box::pin(c.leader())),
            run::plain,
        )
    }

    /// The members as the leader reports them: `(id, address, role)` tuples.
    #[pyo3(signature = (nodes, policy = None))]
    fn cluster_info(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        policy: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.on_leader(
            py,
            nodes,
            policy,
            false,
            op(|c| Box::pin(c.cluster())),
            |py, members: Vec<NodeInfo>| {
                run::plain(
                    py,
                    members.into_iter().map(node_to_tuple).collect::<Vec<_>>(),
                )
            },
        )
    }

    /// ADD node `node_id` at `address` (a spare), then ASSIGN `role` unless it is spare.
    /// When the ASSIGN fails after the ADD went through, its error says that the node was
    /// added (a spare now, or with the role if the ASSIGN's outcome is unknown): asking
    /// for the whole call again would fail on the ADD ("server ID already in use").
    fn add_node(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        node_id: u64,
        address: String,
        role_code: u64,
    ) -> PyResult<Py<PyAny>> {
        let role = role(role_code)?;
        self.on_leader(
            py,
            nodes,
            None,
            true,
            op(move |c| {
                Box::pin(async move {
                    c.add_node(node_id, &address).await?;
                    if role == Role::Spare {
                        return Ok(None);
                    }
                    Ok(c.assign_role(node_id, role).await.err())
                })
            }),
            move |py, assign_failed: Option<Error>| match assign_failed {
                None => Ok(py.None()),
                Some(e) => {
                    let mut failure = ClientError::from(e);
                    failure.message = format!(
                        "node {node_id} was added as a spare, but assigning it the role \
                         {} failed: {}",
                        role_name(role),
                        failure.message
                    );
                    Err(failure.into_pyerr(py))
                }
            },
        )
    }

    /// ASSIGN `role` to node `node_id`; unless `force`, refused when it would demote the
    /// cluster's last voter (raised as kind `"refused"`).
    #[pyo3(signature = (nodes, node_id, role_code, force = false))]
    fn assign_role(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        node_id: u64,
        role_code: u64,
        force: bool,
    ) -> PyResult<Py<PyAny>> {
        let role = role(role_code)?;
        self.on_leader(
            py,
            nodes,
            None,
            true,
            op(move |c| {
                Box::pin(async move {
                    if force {
                        return c.assign_role_unchecked(node_id, role).await.map(|()| None);
                    }
                    refusal(c.assign_role(node_id, role).await)
                })
            }),
            raise_refusal,
        )
    }

    /// REMOVE node `node_id`; unless `force`, refused when it is the cluster's last voter
    /// (raised as kind `"refused"`).
    #[pyo3(signature = (nodes, node_id, force = false))]
    fn remove_node(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        node_id: u64,
        force: bool,
    ) -> PyResult<Py<PyAny>> {
        self.on_leader(
            py,
            nodes,
            None,
            true,
            op(move |c| {
                Box::pin(async move {
                    if force {
                        return c.remove_node_unchecked(node_id).await.map(|()| None);
                    }
                    refusal(c.remove_node(node_id).await)
                })
            }),
            raise_refusal,
        )
    }

    /// TRANSFER leadership to node `node_id`.
    fn transfer_leadership(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        node_id: u64,
    ) -> PyResult<Py<PyAny>> {
        self.on_leader(
            py,
            nodes,
            None,
            true,
            op(move |c| Box::pin(c.transfer_leadership(Some(node_id)))),
            run::none,
        )
    }

    /// DESCRIBE `address` (the leader when None): `(failure_domain, weight)`.
    #[pyo3(signature = (nodes, address = None))]
    fn describe(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        address: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.on_node(
            py,
            nodes,
            address,
            op(|c| Box::pin(c.describe())),
            |py, m: dqlite_client::admin::NodeMetadata| {
                run::plain(py, (m.failure_domain, m.weight))
            },
        )
    }

    /// WEIGHT: sets the weight of `address` (the leader when None).
    #[pyo3(signature = (nodes, weight, address = None))]
    fn set_weight(
        &self,
        py: Python<'_>,
        nodes: Vec<NodeTuple>,
        weight: u64,
        address: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.on_node(
            py,
            nodes,
            address,
            op(move |c| Box::pin(c.set_weight(weight))),
            run::none,
        )
    }

    /// DUMP `database` from the leader: `{file name: bytes}`.
    fn dump(&self, py: Python<'_>, nodes: Vec<NodeTuple>, database: String) -> PyResult<Py<PyAny>> {
        self.on_leader(
            py,
            nodes,
            None,
            false,
            op(move |c| Box::pin(async move { c.dump(&database).await })),
            |py, files: Vec<dqlite_client::admin::DumpFile>| {
                let out = PyDict::new(py);
                for file in files {
                    out.set_item(file.name, pyo3::types::PyBytes::new(py, &file.data))?;
                }
                Ok(out.into_any().unbind())
            },
        )
    }
}

impl NativeCluster {
    /// The settings and store of this cluster, for a pool that shares them.
    pub(crate) fn parts(&self) -> (Settings, SharedStore) {
        (self.settings.clone(), self.store.clone())
    }
}
