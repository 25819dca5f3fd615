//! Network faults of a partitionable [`TestCluster`]: the cluster's iptables chain and
//! delay queue, created on first use and always removed.

use crate::cluster::TestCluster;
use crate::error::{Error, Result};
use crate::firewall::{self, ClusterTag, NodeUser};
use crate::netfaults::{self, Endpoint, NetFaults};
use crate::nfqueue::DelayQueue;

/// What a partitionable cluster holds outside its directory.
#[derive(Debug)]
pub(crate) struct Network {
    tag: ClusterTag,
    /// Whether the chain exists (it is created at the first fault).
    chain_created: bool,
    faults: NetFaults,
    queue: Option<DelayQueue>,
}

impl Network {
    pub(crate) fn new(tag: ClusterTag) -> Result<Self> {
        firewall::ensure_tools()?;
        Ok(Network {
            tag,
            chain_created: false,
            faults: NetFaults::default(),
            queue: None,
        })
    }

    pub(crate) fn create_user(&self, index: usize) -> Result<NodeUser> {
        firewall::ensure_user(&self.tag.user(index))
    }

    /// Installs `faults` for `nodes`: the delay queue first (so that no packet is queued
    /// to nobody), then the rules in one transaction; a queue no longer needed is
    /// released after the rules that fed it are gone.
    fn apply(&mut self, faults: &NetFaults, nodes: &[Option<Endpoint>]) -> Result<()> {
        let delays = faults.node_delay.is_some() || faults.client_delay.is_some();
        if delays && self.queue.is_none() {
            self.queue = Some(DelayQueue::start(self.tag.queue_hint())?);
        }
        if let Some(queue) = &self.queue {
            queue.set_delays(faults.node_delay, faults.client_delay);
        }
        let chain = self.tag.chain();
        if !self.chain_created {
            if faults.is_healthy() {
                self.faults = faults.clone();
                return Ok(());
            }
            firewall::create_chain(&chain)?;
            self.chain_created = true;
        }
        let rules = netfaults::rules(faults, nodes, self.queue.as_ref().map(DelayQueue::queues));
        firewall::replace_rules(&chain, &rules)?;
        self.faults = faults.clone();
        if !delays {
            self.queue = None;
        }
        Ok(())
    }

    /// Removes the chain, releases the delay queue and deletes the users (whose processes
    /// must be gone). Errors are reported on stderr: this runs in `Drop`.
    pub(crate) fn teardown(mut self, users: &[String]) {
        let chain = self.tag.chain();
        if self.chain_created {
            // Empty first, so the queue below is fed nothing more.
            let _ = firewall::replace_rules(&chain, &[]);
            if let Err(e) = firewall::remove_chain(&chain) {
                eprintln!("dqlite-testkit: could not remove iptables chain {chain}: {e}");
            }
        }
        self.queue = None;
        for user in users {
            if let Err(e) = firewall::remove_user(user) {
                eprintln!("dqlite-testkit: could not remove user {user}: {e}");
            }
        }
    }
}

impl TestCluster {
    /// Whether the cluster was built [`partitionable`](crate::TestClusterBuilder::partitionable).
    pub fn is_partitionable(&self) -> bool {
        self.network.is_some()
    }

    /// The name of the cluster's iptables chain (`DQTK-<pid>-<n>`, in the filter table,
    /// jumped to from `OUTPUT`), for partitionable clusters. It exists from the first
    /// fault until the cluster is dropped.
    pub fn iptables_chain(&self) -> Option<String> {
        self.network.as_ref().map(|n| n.tag.chain())
    }

    /// The network faults in force.
    pub fn network_faults(&self) -> NetFaults {
        self.network
            .as_ref()
            .map(|n| n.faults.clone())
            .unwrap_or_default()
    }

    /// Puts the network under `faults` (replacing the faults in force) in one iptables
    /// transaction. Partitionable clusters only.
    pub fn set_network(&mut self, faults: &NetFaults) -> Result<()> {
        faults.validate(self.nodes.len())?;
        let endpoints = self.endpoints();
        let network = self
            .network
            .as_mut()
            .ok_or_else(|| Error::Invalid("network faults need a partitionable cluster".into()))?;
        network.apply(faults, &endpoints)
    }

    /// Removes every network fault.
    pub fn heal(&mut self) -> Result<()> {
        self.set_network(&NetFaults::default())
    }

    /// Re-renders the faults in force, e.g. after a node was added.
    pub(crate) fn refresh_network(&mut self) -> Result<()> {
        match &self.network {
            Some(network) if !network.faults.is_healthy() => {
                let faults = network.faults.clone();
                self.set_network(&faults)
            }
            _ => Ok(()),
        }
    }

    /// Where each member node listens and as whom (`None` for a node removed from the
    /// configuration: rules for it would only grow the chain).
    fn endpoints(&self) -> Vec<Option<Endpoint>> {
        self.nodes
            .iter()
            .map(|n| {
                n.user
                    .as_ref()
                    .filter(|_| n.db_port != 0 && self.is_member(n.index))
                    .map(|u| Endpoint {
                        host: n.host,
                        port: n.db_port,
                        uid: u.uid,
                    })
            })
            .collect()
    }
}
