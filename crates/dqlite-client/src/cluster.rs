//! Leader discovery and the node store.
//!
//! A [`Cluster`] knows the cluster's nodes (seeded from the configuration, refreshed from
//! the leader's CLUSTER reply) and finds the leader within the connect deadline: the last
//! known leader first, then every node watched at once, the first that says it leads
//! winning (see the `discovery` module: a node that does not answer holds up nobody).
//! With a [`RedirectPolicy`](crate::RedirectPolicy) configured, a leader address a node
//! names is vetted before it is dialed, and CLUSTER members before they are stored.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::{Address, Config, bounded_wait};
use crate::conn::Connection;
use crate::discovery;
use crate::error::{Error, Result};
use crate::members::SharedNodeStore;

pub use dqlite_wire::{NodeInfo, Role};

/// Where the list of cluster members is kept between connections (and, for
/// [`FileNodeStore`], between processes).
pub trait NodeStore: Send + Sync + std::fmt::Debug {
    /// The members known now.
    fn get(&self) -> Result<Vec<NodeInfo>>;
    /// Replaces the members with a fresher list.
    fn set(&self, nodes: Vec<NodeInfo>) -> Result<()>;
}

/// A node store in memory.
#[derive(Debug, Default)]
pub struct MemoryNodeStore {
    nodes: Mutex<Vec<NodeInfo>>,
}

impl MemoryNodeStore {
    /// A store holding `nodes`.
    pub fn new(nodes: Vec<NodeInfo>) -> Self {
        MemoryNodeStore {
            nodes: Mutex::new(nodes),
        }
    }
}

impl NodeStore for MemoryNodeStore {
    fn get(&self) -> Result<Vec<NodeInfo>> {
        Ok(self.nodes.lock().map_err(|_| poisoned())?.clone())
    }

    fn set(&self, nodes: Vec<NodeInfo>) -> Result<()> {
        *self.nodes.lock().map_err(|_| poisoned())? = nodes;
        Ok(())
    }
}

fn poisoned() -> Error {
    Error::Closed {
        reason: "node store lock poisoned by a panic".into(),
    }
}

/// A node store persisted as a small text file: one node per line,
/// `ID ADDRESS ROLE` (role `voter`, `standby`, `spare` or `-`). Written atomically.
#[derive(Debug)]
pub struct FileNodeStore {
    path: PathBuf,
}

impl FileNodeStore {
    /// A store backed by `path`; the file is created on the first [`set`](NodeStore::set).
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileNodeStore {
            path: path.as_ref().to_path_buf(),
        }
    }
}

impl NodeStore for FileNodeStore {
    fn get(&self) -> Result<Vec<NodeInfo>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(store_error(&self.path, &e.to_string())),
        };
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|line| {
                let mut fields = line.split_whitespace();
                let (Some(id), Some(address), role) = (fields.next(), fields.next(), fields.next())
                else {
                    return Err(store_error(&self.path, &format!("bad line {line:?}")));
                };
                let id = id
                    .parse()
                    .map_err(|_| store_error(&self.path, &format!("bad node id in {line:?}")))?;
                let role = match role {
                    Some("voter") => Some(Role::Voter),
                    Some("standby") => Some(Role::Standby),
                    Some("spare") => Some(Role::Spare),
                    _ => None,
                };
                Ok(NodeInfo {
                    id,
                    address: address.to_owned(),
                    role,
                })
            })
            .collect()
    }

    fn set(&self, nodes: Vec<NodeInfo>) -> Result<()> {
        let mut text = String::from("# dqlite node store: ID ADDRESS ROLE\n");
        for n in &nodes {
            let role = match n.role {
                Some(Role::Voter) => "voter",
                Some(Role::Standby) => "standby",
                Some(Role::Spare) => "spare",
                _ => "-",
            };
            text.push_str(&format!("{} {} {}\n", n.id, n.address, role));
        }
        // A temporary file of its own for each write (a shared name let two writers
        // rename each other's half-written file), synced before the rename.
        crate::store::write_atomically(&self.path, text.as_bytes())
    }
}

fn store_error(path: &Path, what: &str) -> Error {
    Error::Config(format!("node store {}: {what}", path.display()))
}

/// A dqlite cluster: opens connections to its current leader.
///
/// Cheap to clone; clones share the node store and the last known leader. Separate
/// clusters can share a node store too: see [`SharedNodeStore`].
#[derive(Debug, Clone)]
pub struct Cluster {
    inner: Arc<ClusterInner>,
}

#[derive(Debug)]
struct ClusterInner {
    config: Config,
    store: SharedNodeStore,
    last_leader: Mutex<Option<Address>>,
}

impl Cluster {
    /// A cluster reached through `config`'s seed addresses, with an in-memory node store.
    pub fn new(config: Config) -> Self {
        Cluster::with_store(config, Box::new(MemoryNodeStore::new(Vec::new())))
    }

    /// A cluster whose members come from `store` (seeded with the configuration's
    /// addresses when the store is empty). The first leader connection trusts the store;
    /// later ones refresh it when it is due (see [`SharedNodeStore`] for the rule).
    pub fn with_store(config: Config, store: Box<dyn NodeStore>) -> Self {
        if store.get().map(|n| n.is_empty()).unwrap_or(false) {
            let seeds = config
                .seeds
                .iter()
                .map(|a| NodeInfo {
                    id: 0,
                    address: a.to_string(),
                    role: None,
                })
                .collect();
            // A store that cannot be written still works from the seeds below.
            let _ = store.set(seeds);
        }
        Cluster::with_shared_store(config, SharedNodeStore::private(store))
    }

    /// A cluster whose members come from `store`, shared with other clusters (typically
    /// made from the same seeds): what one learns, and when it last read the membership,
    /// the others see.
    pub fn with_shared_store(config: Config, store: SharedNodeStore) -> Self {
        Cluster {
            inner: Arc::new(ClusterInner {
                config,
                store,
                last_leader: Mutex::new(None),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The nodes the store knows now.
    pub fn nodes(&self) -> Result<Vec<NodeInfo>> {
        self.inner.store.get()
    }

    /// Opens a connection to the leader with the configured database open on it.
    ///
    /// Retries dial and handshake failures and "not leader" answers until the connect
    /// deadline; nothing else is retried. Cancel-safe: dropping the future closes any
    /// half-open connection.
    pub async fn connect(&self) -> Result<Connection> {
        let deadline = self.connect_deadline();
        let mut conn = self.connect_leader_until(deadline).await?;
        let timeout = self.inner.config.timeouts.request;
        // OPEN is part of connecting: it gets what is left of the connect deadline.
        conn.set_request_timeout(timeout.min(deadline.saturating_duration_since(Instant::now())));
        conn.open(&self.inner.config.database)
            .await
            .inspect_err(|e| {
                if e.kind() == crate::ErrorKind::NotLeader {
                    self.forget_leader();
                }
            })?;
        conn.set_request_timeout(timeout);
        Ok(conn)
    }

    /// Opens a connection to the leader without opening a database: for admin requests.
    pub async fn connect_leader(&self) -> Result<Connection> {
        self.connect_leader_until(self.connect_deadline()).await
    }

    /// One connect timeout from now: when finding the leader (and, for a pool, retrying
    /// a statement on the new one) must be over.
    pub(crate) fn connect_deadline(&self) -> Instant {
        Instant::now() + bounded_wait(self.inner.config.timeouts.connect)
    }

    /// [`connect_leader`](Self::connect_leader) within `deadline` (see
    /// [`discovery`](crate::discovery)).
    async fn connect_leader_until(&self, deadline: Instant) -> Result<Connection> {
        let last = self.inner.last_leader.lock().ok().and_then(|l| l.clone());
        let mut nodes = self.inner.store.get()?;
        shuffle(&mut nodes);
        // Voters first: only they can lead.
        nodes.sort_by_key(|n| match n.role {
            Some(Role::Voter) | None => 0,
            Some(Role::Standby) => 1,
            Some(_) => 2,
        });
        let addresses: Vec<Address> = nodes
            .iter()
            .filter_map(|n| n.address.parse().ok())
            .collect();
        // Its duration is the time taken to find the leader; `leader` is set when found.
        let span = tracing::debug_span!(
            "discovery",
            nodes = addresses.len(),
            leader = tracing::field::Empty
        );
        match discovery::find_leader(&self.inner.config, last, addresses, deadline).await {
            Ok(mut conn) => {
                span.record("leader", tracing::field::display(conn.address()));
                drop(span);
                tracing::debug!(leader = %conn.address(), "connected to the leader");
                self.remember_leader(conn.address().clone());
                // A read that broke the connection fails the connect as itself (a
                // timeout, a transport error, a leader change), as OPEN would have.
                if let Err(e) = self.refresh_if_due(&mut conn, deadline).await
                    && conn.is_broken()
                {
                    tracing::info!(error = %e, "the leader's connection broke while reading the membership");
                    self.forget_leader();
                    return Err(e);
                }
                Ok(conn)
            }
            Err(e) => {
                tracing::info!(error = %e, "no leader found");
                self.forget_leader();
                Err(e)
            }
        }
    }

    /// Forgets the remembered leader, e.g. after a "not leader" answer.
    pub fn forget_leader(&self) {
        if let Ok(mut l) = self.inner.last_leader.lock()
            && let Some(old) = l.take()
        {
            tracing::info!(leader = %old, "forgetting the last known leader");
        }
    }

    /// Forgets the remembered leader if it is `address` (a node that stopped answering).
    pub(crate) fn forget_leader_at(&self, address: &Address) {
        if let Ok(mut l) = self.inner.last_leader.lock()
            && l.as_ref() == Some(address)
        {
            tracing::info!(leader = %address, "the leader stopped answering: forgotten");
            *l = None;
        }
    }

    fn remember_leader(&self, address: Address) {
        if let Ok(mut l) = self.inner.last_leader.lock() {
            *l = Some(address);
        }
    }

    /// Re-reads the membership from the leader (CLUSTER) and stores it.
    pub async fn refresh_nodes(&self) -> Result<Vec<NodeInfo>> {
        let mut conn = self.connect_leader().await?;
        let nodes = conn.cluster().await?;
        self.store_members(nodes)
    }

    /// Reads the membership (CLUSTER) on a new leader connection, within `deadline`, and
    /// stores it when it is due (the rule is [`SharedNodeStore`]'s): the store follows
    /// nodes added and removed without the application asking. A failure leaves the store
    /// as it was, and is returned (the connection may be broken by it).
    async fn refresh_if_due(&self, conn: &mut Connection, deadline: Instant) -> Result<()> {
        if !self.inner.store.claim_read(conn.address()) {
            return Ok(());
        }
        let timeout = self.inner.config.timeouts.request;
        conn.set_request_timeout(timeout.min(deadline.saturating_duration_since(Instant::now())));
        let read = conn.cluster().await;
        conn.set_request_timeout(timeout);
        match read {
            Ok(nodes) if !nodes.is_empty() => match self.store_members(nodes) {
                Ok(nodes) => tracing::debug!(nodes = nodes.len(), "node store refreshed"),
                Err(e) => tracing::warn!(error = %e, "could not store the cluster's membership"),
            },
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "could not read the cluster's membership");
                return Err(e);
            }
        }
        Ok(())
    }

    /// Stores the members a leader reported, less those the redirect policy refuses.
    fn store_members(&self, mut nodes: Vec<NodeInfo>) -> Result<Vec<NodeInfo>> {
        if let Some(policy) = &self.inner.config.redirect_policy {
            nodes.retain(|n| {
                let allowed = policy.allows(&n.address);
                if !allowed {
                    tracing::warn!(id = n.id, address = %n.address, "member refused by the redirect policy; not stored");
                }
                allowed
            });
        }
        self.inner.store.set(nodes.clone())?;
        Ok(nodes)
    }
}

fn shuffle<T>(items: &mut [T]) {
    fastrand::shuffle(items);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileNodeStore::new(dir.path().join("nodes"));
        assert!(store.get().unwrap().is_empty());
        let nodes = vec![
            NodeInfo {
                id: 1,
                address: "127.0.0.1:9001".into(),
                role: Some(Role::Voter),
            },
            NodeInfo {
                id: 0x2dc1_7185_8c31_55be,
                address: "@abstract".into(),
                role: None,
            },
        ];
        store.set(nodes.clone()).unwrap();
        assert_eq!(store.get().unwrap(), nodes);
        std::fs::write(dir.path().join("nodes"), "x y\n").unwrap();
        assert!(matches!(store.get(), Err(Error::Config(_))));
    }

    /// Two processes (or two clusters) refreshing one store: every write succeeds and
    /// every read sees one whole list, never a mix or a truncated file.
    #[test]
    fn file_store_concurrent_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes");
        let list = |n: u64| -> Vec<NodeInfo> {
            (1..=n)
                .map(|id| NodeInfo {
                    id,
                    address: format!("127.0.0.1:{}", 9000 + id),
                    role: Some(Role::Voter),
                })
                .collect()
        };
        let (long, short) = (list(40), list(2));
        FileNodeStore::new(&path).set(short.clone()).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let writers: Vec<_> = [long.clone(), short.clone()]
                .into_iter()
                .map(|nodes| {
                    let store = FileNodeStore::new(&path);
                    scope.spawn(move || (0..300).try_for_each(|_| store.set(nodes.clone())))
                })
                .collect();
            let reader = scope.spawn(|| {
                let store = FileNodeStore::new(&path);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match store.get() {
                        Ok(read) if read == long || read == short => {}
                        other => return Err(format!("{other:?}")),
                    }
                }
                Ok(())
            });
            let written: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let read = reader.join().unwrap();
            for outcome in written {
                outcome.unwrap();
            }
            read.unwrap();
        });
    }
}
