//! The member list [`Cluster`](crate::Cluster)s find the leader with, and the rule that
//! says when a new leader connection reads it again (CLUSTER).
//!
//! A cluster's nodes change (nodes added, removed, replaced one by one), so the list a
//! client started from goes stale. A leader connection reads the membership when the list
//! was never read, was read from another leader (leadership moved: membership may have
//! too), or is older than [`REFRESH_INTERVAL`]. The read is claimed before it is made, so
//! connections opened meanwhile do not read it too; a failed read leaves the list as it was
//! until the next due read.
//!
//! Every `Cluster` holds a [`SharedNodeStore`]: its own (from
//! [`Cluster::new`](crate::Cluster::new) or [`Cluster::with_store`](crate::Cluster::with_store)),
//! or one it shares with other clusters (for example one per connection, all seeded alike),
//! which then also share when the list was last read.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cluster::{MemoryNodeStore, NodeInfo, NodeStore};
use crate::config::Address;
use crate::error::Result;

/// How old the member list may get before the next leader connection reads it again.
pub(crate) const REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// A node store that several [`Cluster`](crate::Cluster)s share, with when its members
/// were last read from a leader.
///
/// For a program that builds a `Cluster` per connection (as a DB-API driver does for each
/// `connect()`): the members one connection learned serve the next, and the membership is
/// read only when it is due (never read, read from another leader, or older than 30
/// seconds), not on every connection. The seeds it was made with stay in the list beside
/// the members learned: members are listed under the addresses the cluster knows them by,
/// which a client behind a port forward or NAT may not reach, while its seeds worked.
///
/// Cheap to clone; clones share the list. Use it with
/// [`Cluster::with_shared_store`](crate::Cluster::with_shared_store).
///
/// ```
/// use dqlite_client::{Cluster, Config, SharedNodeStore};
///
/// # fn demo() -> dqlite_client::Result<()> {
/// let config: Config = "127.0.0.1:9001,127.0.0.1:9002".parse()?;
/// let members = SharedNodeStore::new(config.seeds());
/// // Each connection may get its own cluster; they share what was learned.
/// let first = Cluster::with_shared_store(config.clone(), members.clone());
/// let second = Cluster::with_shared_store(config, members);
/// assert_eq!(first.nodes()?, second.nodes()?);
/// # Ok(())
/// # }
/// # demo().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SharedNodeStore {
    inner: Arc<Members>,
}

#[derive(Debug)]
struct Members {
    store: Box<dyn NodeStore>,
    /// Listed after the stored members, unless a member has the same address.
    seeds: Vec<String>,
    last_read: Mutex<LastRead>,
}

impl SharedNodeStore {
    /// An in-memory store that starts from `seeds` (order and repeats do not matter) and
    /// keeps them beside the members it learns. The first leader connection reads the
    /// membership.
    pub fn new(seeds: &[Address]) -> Self {
        let mut seeds: Vec<String> = seeds.iter().map(ToString::to_string).collect();
        seeds.sort_unstable();
        seeds.dedup();
        SharedNodeStore::build(Box::new(MemoryNodeStore::default()), seeds, LastRead::Never)
    }

    /// The store of one cluster over `store`, which the caller seeded. The first leader
    /// connection only sets the baseline (a client starts from the members it was given).
    pub(crate) fn private(store: Box<dyn NodeStore>) -> Self {
        SharedNodeStore::build(store, Vec::new(), LastRead::Baseline)
    }

    fn build(store: Box<dyn NodeStore>, seeds: Vec<String>, last_read: LastRead) -> Self {
        SharedNodeStore {
            inner: Arc::new(Members {
                store,
                seeds,
                last_read: Mutex::new(last_read),
            }),
        }
    }

    /// The members known now, then every seed they do not already name.
    pub(crate) fn get(&self) -> Result<Vec<NodeInfo>> {
        let mut nodes = self.inner.store.get()?;
        for seed in &self.inner.seeds {
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

    /// Replaces the members with a list a leader reported.
    pub(crate) fn set(&self, nodes: Vec<NodeInfo>) -> Result<()> {
        self.inner.store.set(nodes)
    }

    /// True when a connection to `leader` should read the membership now; the read is
    /// then claimed (see [`LastRead::claim`]). False too when the lock was poisoned.
    pub(crate) fn claim_read(&self, leader: &Address) -> bool {
        match self.inner.last_read.lock() {
            Ok(mut last) => last.claim(leader, Instant::now()),
            Err(_) => false,
        }
    }
}

/// When the member list was last read from a leader: the rule of when it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LastRead {
    /// Never read; the first leader connection only stamps itself (the list given is
    /// trusted until the leader changes or the interval passes).
    Baseline,
    /// Never read; the first leader connection reads it.
    Never,
    /// Read (or claimed) at `at` from `leader`.
    At { at: Instant, leader: Address },
}

impl LastRead {
    /// True when a connection to `leader` made at `now` should read the membership: never
    /// read, read from another leader, or read [`REFRESH_INTERVAL`] or more before `now`.
    /// Every call stamps `now` and `leader` when it returns true (the read is claimed: the
    /// next connections do not read it too), and the baseline's first call stamps them
    /// without a read.
    fn claim(&mut self, leader: &Address, now: Instant) -> bool {
        let due = match self {
            LastRead::Baseline => false,
            LastRead::Never => true,
            LastRead::At { at, leader: from } => {
                from != leader || now.saturating_duration_since(*at) >= REFRESH_INTERVAL
            }
        };
        if due || *self == LastRead::Baseline {
            *self = LastRead::At {
                at: now,
                leader: leader.clone(),
            };
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> Address {
        text.parse().unwrap()
    }

    #[test]
    fn a_list_never_read_is_due_once() {
        let (a, t0) = (address("127.0.0.1:9001"), Instant::now());
        let mut last = LastRead::Never;
        assert!(last.claim(&a, t0));
        // Claimed: a connection a moment later does not read it again.
        assert!(!last.claim(&a, t0 + Duration::from_millis(1)));
    }

    #[test]
    fn the_baseline_is_not_due_until_the_leader_changes_or_time_passes() {
        let (a, b, t0) = (
            address("127.0.0.1:9001"),
            address("127.0.0.1:9002"),
            Instant::now(),
        );
        let mut last = LastRead::Baseline;
        assert!(!last.claim(&a, t0));
        assert!(!last.claim(&a, t0 + REFRESH_INTERVAL - Duration::from_millis(1)));
        assert!(last.claim(&b, t0 + Duration::from_secs(1)));

        let mut last = LastRead::Baseline;
        assert!(!last.claim(&a, t0));
        assert!(last.claim(&a, t0 + REFRESH_INTERVAL));
    }

    #[test]
    fn a_read_is_due_after_the_interval_or_from_another_leader() {
        let (a, b, t0) = (
            address("127.0.0.1:9001"),
            address("127.0.0.1:9002"),
            Instant::now(),
        );
        let mut last = LastRead::At {
            at: t0,
            leader: a.clone(),
        };
        assert!(!last.claim(&a, t0 + REFRESH_INTERVAL - Duration::from_millis(1)));
        assert!(last.claim(&a, t0 + REFRESH_INTERVAL));
        // Stamped at the claim: the interval starts again from there.
        assert!(!last.claim(&a, t0 + REFRESH_INTERVAL + Duration::from_secs(1)));
        // Leadership moved: due at once, then not again for the new leader.
        let t1 = t0 + REFRESH_INTERVAL + Duration::from_secs(2);
        assert!(last.claim(&b, t1));
        assert!(!last.claim(&b, t1));
        // Back to the first leader: due again.
        assert!(last.claim(&a, t1));
    }

    #[test]
    fn seeds_stay_beside_the_members_learned() {
        let store = SharedNodeStore::new(&[
            address("127.0.0.1:9002"),
            address("127.0.0.1:9001"),
            address("127.0.0.1:9001"),
        ]);
        let addresses = |store: &SharedNodeStore| -> Vec<String> {
            store
                .get()
                .unwrap()
                .into_iter()
                .map(|n| n.address)
                .collect()
        };
        assert_eq!(addresses(&store), ["127.0.0.1:9001", "127.0.0.1:9002"]);
        let member = |id, address: &str| NodeInfo {
            id,
            address: address.into(),
            role: Some(crate::Role::Voter),
        };
        store
            .clone()
            .set(vec![
                member(1, "127.0.0.1:9001"),
                member(4, "127.0.0.1:9004"),
            ])
            .unwrap();
        assert_eq!(
            store.get().unwrap(),
            [
                member(1, "127.0.0.1:9001"),
                member(4, "127.0.0.1:9004"),
                NodeInfo {
                    id: 0,
                    address: "127.0.0.1:9002".into(),
                    role: None
                },
            ]
        );
    }
}
