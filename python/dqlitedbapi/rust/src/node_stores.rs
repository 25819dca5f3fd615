//! The member list shared by every connection of the process that was given the same seed
//! addresses.
//!
//! Each `connect()` builds its own [`Cluster`](dqlite_client::Cluster), which starts from
//! its seeds. Were the members a connection learned thrown away with it, a program whose
//! seeds were all removed from the cluster (nodes replaced one by one, a common maintenance)
//! could no longer connect. So the connections of one seed list share a
//! [`SharedNodeStore`]: it keeps the members a leader reported beside the seeds, and says
//! when a new connection reads them again (the client's rule, owned there). Keyed by the
//! seed list, the stores live as long as the process: one small list per distinct set of
//! seeds.
//!
//! After `os.fork()` a child starts new stores (the key holds the fork generation): a lock
//! another thread of the parent held at the fork stays held in the child forever, so the
//! child neither touches the parent's stores nor waits long for the map's lock.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, TryLockError};
use std::time::{Duration, Instant};

use dqlite_client::{Address, SharedNodeStore};

use crate::fork::Process;

type ByKey = Mutex<HashMap<(Process, Vec<String>), SharedNodeStore>>;

/// How long a connect waits for the map's lock before it learns on its own (the lock is
/// held for a hash-map lookup; only a fork at the wrong moment leaves it held).
const MAP_LOCK_PATIENCE: Duration = Duration::from_millis(20);

static STORES: OnceLock<ByKey> = OnceLock::new();

/// The node store of the connections seeded with `seeds` in this process (order and
/// repeats do not matter).
pub(crate) fn for_seeds(seeds: &[Address]) -> SharedNodeStore {
    let mut key: Vec<String> = seeds.iter().map(ToString::to_string).collect();
    key.sort_unstable();
    key.dedup();
    let map = STORES.get_or_init(ByKey::default);
    let started = Instant::now();
    loop {
        match map.try_lock() {
            Ok(mut all) => {
                return all
                    .entry((Process::current(), key))
                    .or_insert_with(|| SharedNodeStore::new(seeds))
                    .clone();
            }
            Err(TryLockError::WouldBlock) if started.elapsed() < MAP_LOCK_PATIENCE => {
                std::thread::yield_now();
            }
            // Held too long, or poisoned by a panic: this connection learns on its own.
            Err(_) => return SharedNodeStore::new(seeds),
        }
    }
}
