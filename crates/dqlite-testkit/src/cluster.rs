//! [`TestCluster`]: N dqlite node processes, started, faulted and torn down by the test.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::install::{Installation, ServerVersion};
use crate::network::Network;
use crate::node::{Launcher, Node, NodeProcess, NodeProgram};
use crate::probe::Role;
use crate::tls::TlsFiles;
use crate::unjoined::UnjoinedNode;
use crate::util::{file_tail, free_port_on, send_signal};

/// go-dqlite's `app` package gives the node that bootstraps a cluster this fixed id.
pub const BOOTSTRAP_ID: u64 = 0x2dc1_7185_8c31_55be;

/// How long a single LEADER/CLUSTER probe may take (connect, TLS handshake, reply).
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a node process may take to accept connections on its database port.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(20);
/// How many times a node is re-spawned on fresh ports after losing a port race.
const PORT_ATTEMPTS: usize = 5;
/// How much of each node log is printed when a test panics.
const PANIC_LOG_BYTES: u64 = 64 * 1024;

/// The roles go-dqlite's `app` package (which dqlite-demo uses) settles on for a cluster
/// of `nodes` healthy nodes, as (voters, standbys); the rest are spares. Below 3 nodes it
/// keeps one voter; from 3 on it wants 3 voters and up to 3 standbys.
pub fn expected_roles(nodes: usize) -> (usize, usize) {
    if nodes < 3 {
        (nodes.min(1), 0)
    } else {
        (3, (nodes - 3).min(3))
    }
}

mod builder;

pub use builder::TestClusterBuilder;

/// A running dqlite cluster of node processes (dqlite-demo or the bare C node), in a
/// temporary directory. Dropping it SIGKILLs and reaps every process it started (and,
/// when the thread is panicking, prints every node's log to stderr first), then removes
/// the users and iptables rules of a partitionable cluster. Node processes also die with
/// the test process (`PR_SET_PDEATHSIG`).
///
/// Nodes are numbered from 0; node 0 bootstrapped the cluster.
///
/// ```no_run
/// use dqlite_testkit::{ServerVersion, TestCluster};
/// # fn main() -> Result<(), dqlite_testkit::Error> {
/// let mut cluster = TestCluster::builder()
///     .nodes(3)
///     .version(ServerVersion::from_env())
///     .start()?;
/// let leader = cluster.wait_for_leader(std::time::Duration::from_secs(30))?;
/// cluster.kill(leader)?;
/// let new_leader = cluster.wait_for_leader(std::time::Duration::from_secs(30))?;
/// assert_ne!(leader, new_leader);
/// # Ok(())
/// # }
/// ```
pub struct TestCluster {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) launcher: Launcher,
    pub(crate) tls_config: Option<Arc<rustls::ClientConfig>>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) network: Option<Network>,
    /// Held while a TLS cluster lives; declared last so that it is released after `drop`
    /// has killed the nodes.
    pub(crate) _tls_lock: Option<crate::tls::BootstrapSocketLock>,
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("dir", &self.dir.path())
            .field("version", &self.launcher.installation.version)
            .field("program", &self.launcher.program)
            .field("tls", &self.launcher.tls)
            .field("nodes", &self.nodes())
            .finish()
    }
}

impl TestCluster {
    /// A builder: 3 dqlite-demo nodes, version from `DQLITE_SERVER_VERSION`, no TLS.
    pub fn builder() -> TestClusterBuilder {
        TestClusterBuilder::default()
    }

    /// Starts a cluster of `nodes` nodes of the version named by `DQLITE_SERVER_VERSION`.
    pub fn start(nodes: usize) -> Result<Self> {
        Self::builder().nodes(nodes).start()
    }

    /// The server version the nodes run.
    pub fn version(&self) -> ServerVersion {
        self.launcher.installation.version
    }

    /// The program the nodes run.
    pub fn program(&self) -> NodeProgram {
        self.launcher.program
    }

    /// The installation the nodes run from.
    pub fn installation(&self) -> &Installation {
        &self.launcher.installation
    }

    /// The temporary directory holding data directories, logs and TLS files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Number of nodes (including nodes removed from the configuration).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no nodes (never true for a started cluster).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Database addresses ("HOST:PORT") of every node, by index.
    pub fn addresses(&self) -> Vec<String> {
        self.nodes.iter().map(Node::address).collect()
    }

    /// The certificate and key of a TLS cluster; `None` without TLS.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.launcher.tls.as_ref()
    }

    /// The CA certificate (PEM) clients must trust: the nodes' self-signed certificate.
    /// `None` without TLS. The nodes require client certificates: present this same
    /// certificate with [`TestCluster::tls_key_path`].
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.launcher.tls.as_ref().map(|t| t.cert.as_path())
    }

    /// The private key (PEM) of the TLS certificate; `None` without TLS.
    pub fn tls_key_path(&self) -> Option<&Path> {
        self.launcher.tls.as_ref().map(|t| t.key.as_path())
    }

    /// A rustls client configuration that trusts the cluster's certificate and presents it
    /// as client certificate; `None` without TLS.
    pub fn tls_client_config(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.tls_config.clone()
    }

    pub(crate) fn node_ref(&self, index: usize) -> Result<&Node> {
        self.nodes.get(index).ok_or(Error::NoSuchNode(index))
    }

    pub(crate) fn node_mut(&mut self, index: usize) -> Result<&mut Node> {
        self.nodes.get_mut(index).ok_or(Error::NoSuchNode(index))
    }

    /// A snapshot of node `index`.
    pub fn node(&self, index: usize) -> Result<NodeProcess> {
        self.node_ref(index)
            .map(|n| n.snapshot(self.launcher.program))
    }

    /// Snapshots of every node.
    pub fn nodes(&self) -> Vec<NodeProcess> {
        self.nodes
            .iter()
            .map(|n| n.snapshot(self.launcher.program))
            .collect()
    }

    /// Process ids of the running (or paused) nodes, by index.
    pub fn pids(&self) -> Vec<Option<u32>> {
        self.nodes
            .iter()
            .map(|n| n.child.as_ref().map(Child::id))
            .collect()
    }

    /// Everything node `index` has logged so far, over all its runs.
    pub fn logs(&self, index: usize) -> Result<String> {
        let node = self.node_ref(index)?;
        std::fs::read(&node.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|e| Error::io(format!("read {}", node.log.display()), e))
    }

    /// Appends a node (not started) with the next index: its address, user and id.
    pub(crate) fn create_node(&mut self) -> Result<usize> {
        let index = self.nodes.len();
        let host = match &self.network {
            // 127.0.0.2, 127.0.0.3, ...: 127.0.0.1 stays the clients' own address.
            Some(_) => {
                let last = u8::try_from(index + 2)
                    .ok()
                    .filter(|b| *b < 255)
                    .ok_or_else(|| Error::Invalid("at most 253 partitionable nodes".into()))?;
                Ipv4Addr::new(127, 0, 0, last)
            }
            None => Ipv4Addr::LOCALHOST,
        };
        let mut node = Node::new(index, host, self.dir.path());
        if let Some(network) = &self.network {
            node.user = Some(network.create_user(index)?);
        }
        match self.launcher.program {
            NodeProgram::Demo => node.id = (index == 0).then_some(BOOTSTRAP_ID),
            NodeProgram::Bare => {
                node.id = Some(u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1));
                node.member = (index == 0).then_some(Role::Voter);
            }
        }
        self.nodes.push(node);
        Ok(index)
    }

    pub(crate) fn spawn(&mut self, index: usize) -> Result<()> {
        let join = self.nodes.first().map(Node::address).unwrap_or_default();
        let launcher = &self.launcher;
        let node = self.nodes.get_mut(index).ok_or(Error::NoSuchNode(index))?;
        node.spawn(launcher, &join)
    }

    /// Waits until node `index` answers LEADER on its database port.
    pub(crate) fn wait_listening(&mut self, index: usize, deadline: Instant) -> Result<()> {
        let deadline = deadline.min(Instant::now() + LISTEN_TIMEOUT);
        loop {
            self.node_mut(index)?.check_exited()?;
            let address = self.node_ref(index)?.address();
            if self
                .connect(&address, PROBE_TIMEOUT)
                .and_then(|mut p| p.leader())
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("node {index} to listen on {address}"),
                    seconds: LISTEN_TIMEOUT.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts node `index` for the first time, on fresh ports, retrying with new ports
    /// when another process grabbed one first.
    pub(crate) fn start_fresh(&mut self, index: usize, deadline: Instant) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let host = self.node_ref(index)?.host;
            let db_port = free_port_on(host)?;
            let mut api_port = 0;
            if self.launcher.program == NodeProgram::Demo {
                api_port = free_port_on(host)?;
                while api_port == db_port {
                    api_port = free_port_on(host)?;
                }
            }
            let node = self.node_mut(index)?;
            node.db_port = db_port;
            node.api_port = api_port;
            let _ = std::fs::remove_dir_all(&node.dir);
            self.spawn(index)?;
            match self.wait_listening(index, deadline) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let node = self.node_mut(index)?;
                    let retry = node.lost_port_race() && attempt < PORT_ATTEMPTS;
                    node.kill();
                    if !retry {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// SIGKILLs node `index` and reaps it. Killing a node that is down is a no-op.
    pub fn kill(&mut self, index: usize) -> Result<()> {
        self.node_mut(index)?.kill();
        Ok(())
    }

    /// Sends SIGTERM to node `index` (dqlite-demo then closes its app gracefully, the bare
    /// node calls `dqlite_node_stop`) and waits up to `grace` for it to exit, SIGKILLing it
    /// after that.
    pub fn terminate(&mut self, index: usize, grace: Duration) -> Result<()> {
        let node = self.node_mut(index)?;
        let Some(child) = node.child.as_mut() else {
            return Ok(());
        };
        if node.paused {
            send_signal(child.id(), libc::SIGCONT)?;
        }
        send_signal(child.id(), libc::SIGTERM)?;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                node.child = None;
                node.paused = false;
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        node.kill();
        Ok(())
    }

    /// Node `index` and its process id; an error when it is down.
    fn running_node(&mut self, index: usize) -> Result<(&mut Node, u32)> {
        let node = self.node_mut(index)?;
        let pid = node
            .child
            .as_ref()
            .map(Child::id)
            .ok_or_else(|| Error::Invalid(format!("node {index} is down")))?;
        Ok((node, pid))
    }

    /// Freezes node `index` with SIGSTOP: its sockets stay open but it answers nothing.
    pub fn pause(&mut self, index: usize) -> Result<()> {
        let (node, pid) = self.running_node(index)?;
        send_signal(pid, libc::SIGSTOP)?;
        node.paused = true;
        wait_stopped(pid);
        Ok(())
    }

    /// Thaws node `index` with SIGCONT.
    pub fn resume(&mut self, index: usize) -> Result<()> {
        let (node, pid) = self.running_node(index)?;
        send_signal(pid, libc::SIGCONT)?;
        node.paused = false;
        Ok(())
    }

    /// Restarts node `index` with the same data directory and ports (SIGKILLing it first
    /// if it runs). Returns once it listens; use [`TestCluster::wait_healthy`] to wait
    /// until it has rejoined as a voter.
    pub fn restart(&mut self, index: usize) -> Result<()> {
        self.node_mut(index)?.kill();
        let deadline = Instant::now() + LISTEN_TIMEOUT;
        loop {
            self.spawn(index)?;
            match self.wait_listening(index, deadline) {
                Ok(()) => return Ok(()),
                // The old process's port may linger for a moment; try again.
                Err(e) => {
                    let node = self.node_mut(index)?;
                    let retry = node.lost_port_race() && Instant::now() < deadline;
                    node.kill();
                    if !retry {
                        return Err(e);
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// SIGKILLs and reaps every node. The temporary directory stays until the cluster is
    /// dropped, so logs remain readable.
    pub fn stop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }

    /// Starts a bare dqlite node (the C program `node/dqlite-node.c`) with Raft id `id` on
    /// a fresh port, running against this cluster's server library. It is in no cluster
    /// until added, e.g. with [`TestCluster::add_node`]. Not available for TLS clusters
    /// (the C node speaks plain TCP).
    pub fn start_unjoined_node(&self, id: u64) -> Result<UnjoinedNode> {
        if self.launcher.tls.is_some() {
            return Err(Error::Invalid(
                "unjoined nodes speak plain TCP and cannot join a TLS cluster".into(),
            ));
        }
        UnjoinedNode::start(&self.launcher.installation, id)
    }

    /// Prints the tail of every node's log to stderr (a failed test's output).
    pub(crate) fn dump_logs(&self) {
        let mut err = std::io::stderr().lock();
        for node in &self.nodes {
            let _ = writeln!(
                err,
                "===== dqlite-testkit: node {} ({}) log {} (last {} KiB) =====",
                node.index,
                node.address(),
                node.log.display(),
                PANIC_LOG_BYTES / 1024
            );
            let _ = writeln!(err, "{}", file_tail(&node.log, PANIC_LOG_BYTES));
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            self.dump_logs();
        }
        if let Some(network) = self.network.take() {
            let users: Vec<String> = self
                .nodes
                .iter()
                .filter_map(|n| n.user.as_ref().map(|u| u.name.clone()))
                .collect();
            network.teardown(&users);
        }
    }
}

/// Waits (up to 2 s) until the kernel reports `pid` as stopped: signal delivery is
/// asynchronous, and a node that still answers right after `pause` makes tests flaky.
fn wait_stopped(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                // The state follows the command name, which is in parentheses.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_owned))
            });
        match state.as_deref() {
            Some("T" | "t") | None => return,
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}
