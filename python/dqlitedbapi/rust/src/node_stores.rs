//! What connections learned about the cluster's members, shared by every connection of the
//! process that was given the same seed addresses.
//!
//! Each `connect()` builds its own [`Cluster`](dqlite_client::Cluster), which starts from
//! its seeds. Were the members a connection learned thrown away with it, a program whose
//! seeds were all removed from the cluster (nodes replaced one by one, a common maintenance)
//! could no longer connect. So a connection reads the leader's member list (CLUSTER) when the
//! shared list is missing, older than [`REFRESH_INTERVAL`] or read from another leader (the
//! client's own rule for its store), and later connections try those members. The seeds stay in the list too: members are stored under the addresses
//! the cluster knows them by, which a client behind a port forward or NAT may not reach,
//! while its seeds worked. Keyed by the seed list, the lists live as long as the process:
//! one small list per distinct set of seeds.
//!
//! After `os.fork()` a child starts new lists (the key holds the fork generation): a lock
//! another thread of the parent held at the fork stays held in the child forever, so the
//! child neither touches the parent's lists nor waits long for the map's lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::time::{Duration, Instant};

use dqlite_client::{Address, Connection, MemoryNodeStore, NodeInfo, NodeStore};

use crate::fork::Process;

/// How old the learned member list may get before a new connection reads it again.
const REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The members learned for one seed list, and when and from which leader they were read.
#[derive(Debug, Default)]
struct Learned {
    members: MemoryNodeStore,
    read: Mutex<Option<(Instant, Address)>>,
}

type ByKey = Mutex<HashMap<(Process, Vec<String>), Arc<Learned>>>;

/// How long a connect waits for the map's lock before it learns on its own (the lock is
/// held for a hash-map lookup; only a fork at the wrong moment leaves it held).
const MAP_LOCK_PATIENCE: Duration = Duration::from_millis(20);

static LEARNED: OnceLock<ByKey> = OnceLock::new();

/// The node store of the connections seeded with `seeds` (order and repeats do not matter).
#[derive(Debug, Clone)]
pub(crate) struct SharedMembers {
    seeds: Vec<String>,
    learned: Arc<Learned>,
}

impl SharedMembers {
    pub(crate) fn for_seeds(seeds: &[Address]) -> Self {
        let mut key: Vec<String> = seeds.iter().map(ToString::to_string).collect();
        key.sort_unstable();
        key.dedup();
        let map = LEARNED.get_or_init(ByKey::default);
        let started = Instant::now();
        let learned = loop {
            match map.try_lock() {
                Ok(mut all) => {
                    break Arc::clone(all.entry((Process::current(), key.clone())).or_default());
                }
                Err(TryLockError::WouldBlock) if started.elapsed() < MAP_LOCK_PATIENCE => {
                    std::thread::yield_now();
                }
                // Held too long, or poisoned by a panic: this connection learns on its own.
                Err(_) => break Arc::default(),
            }
        };
        SharedMembers {
            seeds: key,
            learned,
        }
    }

    /// Reads the members on `conn` (a fresh leader connection) when the list is due. A
    /// failure leaves the list as it was; a connection that broke doing so is the caller's
    /// to see (it is discarded like any broken one).
    pub(crate) async fn refresh_if_due(&self, conn: &mut Connection) {
        let leader = conn.address();
        let due = match self.learned.read.lock() {
            Ok(mut read) => {
                let due = read
                    .as_ref()
                    .is_none_or(|(at, from)| from != leader || at.elapsed() >= REFRESH_INTERVAL);
                if due {
                    // Claimed: connections opened meanwhile do not read it too.
                    *read = Some((Instant::now(), leader.clone()));
                }
                due
            }
            Err(_) => false,
        };
        if !due {
            return;
        }
        match conn.cluster().await {
            Ok(members) if !members.is_empty() => {
                let _ = self.learned.members.set(members);
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "could not read the cluster's membership"),
        }
    }
}

impl NodeStore for SharedMembers {
    /// The members learned so far, then every seed they do not already name.
    fn get(&self) -> dqlite_client::Result<Vec<NodeInfo>> {
        let mut nodes = self.learned.members.get()?;
        for seed in &self.seeds {
            if !nodes.iter().any(|n| &n.address == seed) {
                nodes.push(NodeInfo {
                    id: 0,
                    address: seed.clone(),
                    role: None,
                });
            }
        }
        Ok(nodes)
    }

    fn set(&self, nodes: Vec<NodeInfo>) -> dqlite_client::Result<()> {
        self.learned.members.set(nodes)
    }
}
