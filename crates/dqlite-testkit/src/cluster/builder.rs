//! [`TestClusterBuilder`]: the settings of a test cluster, and starting it.

use std::time::{Duration, Instant};

use super::TestCluster;
use crate::error::{Error, Result};
use crate::firewall::{ClusterTag, DIR_PREFIX};
use crate::install::{ServerVersion, install};
use crate::network::Network;
use crate::node::{Launcher, NodeProgram};
use crate::probe::Role;
use crate::tls::TlsFiles;
use crate::unjoined::node_binary;

/// Configures and starts a [`TestCluster`]. Made by [`TestCluster::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct TestClusterBuilder {
    nodes: usize,
    version: ServerVersion,
    tls: bool,
    verbose: bool,
    start_timeout: Duration,
    program: NodeProgram,
    latency: Option<Duration>,
    snapshots: Option<(u32, u32)>,
    partitionable: bool,
}

impl Default for TestClusterBuilder {
    fn default() -> Self {
        TestClusterBuilder {
            nodes: 3,
            version: ServerVersion::from_env(),
            tls: false,
            verbose: true,
            start_timeout: Duration::from_secs(60),
            program: NodeProgram::Demo,
            latency: None,
            snapshots: None,
            partitionable: false,
        }
    }
}

impl TestClusterBuilder {
    /// Number of nodes (default 3, at least 1).
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n;
        self
    }

    /// Server version (default: [`ServerVersion::from_env`], i.e. `DQLITE_SERVER_VERSION`).
    pub fn version(mut self, version: ServerVersion) -> Self {
        self.version = version;
        self
    }

    /// Serve TLS (1.18's dqlite-demo only): a self-signed certificate is generated and
    /// every node gets `--cert`/`--key`. See [`TestCluster::tls_files`].
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Pass `-v` to dqlite-demo so the logs show connections and elections (default on).
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// How long [`TestClusterBuilder::start`] waits for a leader and all voters
    /// (default 60 s).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// The program the nodes run (default [`NodeProgram::Demo`]).
    pub fn program(mut self, program: NodeProgram) -> Self {
        self.program = program;
        self
    }

    /// Bare nodes: the network latency dqlite assumes (`dqlite_node_set_network_latency_ms`).
    /// Elections then time out after 15x to 30x this value and the leader heartbeats every
    /// 1.5x, instead of 3-6 s and 500 ms. Jepsen's dqlite runs use 10 ms; 30 ms gives
    /// sub-second elections that survive a loaded 2-core machine.
    pub fn network_latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Bare nodes: take a Raft snapshot every `threshold` entries and keep `trailing`
    /// entries after it (dqlite's defaults are 1024 and 8192; Jepsen's runs use 128 and
    /// 1024, so that snapshots happen under faults).
    pub fn snapshots(mut self, threshold: u32, trailing: u32) -> Self {
        self.snapshots = Some((threshold, trailing));
        self
    }

    /// Give each node its own loopback address (127.0.0.2, 127.0.0.3, ...) and its own
    /// system user, so that [`TestCluster::set_network`] can cut and degrade the links
    /// between nodes, and between clients and nodes, with iptables. Needs root (users and
    /// rules are created and always removed, see the `firewall` module docs).
    pub fn partitionable(mut self, yes: bool) -> Self {
        self.partitionable = yes;
        self
    }

    /// Installs the server if needed, starts the nodes and waits until the cluster is
    /// healthy (see [`TestCluster::wait_healthy`]). dqlite-demo: node 0 bootstraps, the
    /// others `--join` it. Bare nodes: node 0 bootstraps, the others are added as voters.
    pub fn start(self) -> Result<TestCluster> {
        if self.nodes == 0 {
            return Err(Error::Invalid("a cluster needs at least one node".into()));
        }
        if self.tls && (!self.version.supports_tls() || self.program != NodeProgram::Demo) {
            return Err(Error::Invalid(format!(
                "TLS clusters need dqlite-demo of server 1.18 (asked: {} on {})",
                self.program.as_str(),
                self.version
            )));
        }
        if self.program == NodeProgram::Demo && (self.latency.is_some() || self.snapshots.is_some())
        {
            return Err(Error::Invalid(
                "dqlite-demo has no latency or snapshot settings; use NodeProgram::Bare".into(),
            ));
        }
        if self.tls && self.partitionable {
            return Err(Error::Invalid(
                "the TLS certificate names 127.0.0.1 only: partitionable clusters are plain TCP"
                    .into(),
            ));
        }
        crate::firewall::sweep_leftovers();
        let installation = install(self.version)?;
        let bare_binary = match self.program {
            NodeProgram::Bare => Some(node_binary()?),
            NodeProgram::Demo => None,
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| Error::io("create the cluster's temporary directory", e))?;
        let deadline = Instant::now() + self.start_timeout;
        let tls_lock = if self.tls {
            Some(crate::tls::BootstrapSocketLock::acquire(deadline)?)
        } else {
            None
        };
        let tls = if self.tls {
            Some(TlsFiles::generate(dir.path())?)
        } else {
            None
        };
        let tls_config = tls.as_ref().map(TlsFiles::client_config).transpose()?;
        let network = if self.partitionable {
            use std::os::unix::fs::PermissionsExt;
            // Node users must reach their own directories inside.
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))
                .map_err(|e| Error::io("open the cluster's directory to node users", e))?;
            Some(Network::new(ClusterTag::next())?)
        } else {
            None
        };
        let mut cluster = TestCluster {
            dir,
            launcher: Launcher {
                installation,
                program: self.program,
                tls,
                verbose: self.verbose,
                latency: self.latency,
                snapshots: self.snapshots,
                bare_binary,
            },
            tls_config,
            nodes: Vec::new(),
            network,
            _tls_lock: tls_lock,
        };
        match self.bring_up(&mut cluster, deadline) {
            Ok(()) => Ok(cluster),
            Err(e) => {
                // The cluster is dropped here, before any test can panic with it, so its
                // nodes' logs would never be shown: they say why the start failed.
                cluster.stop();
                eprintln!("dqlite-testkit: the cluster did not start: {e}");
                cluster.dump_logs();
                Err(e)
            }
        }
    }

    /// Starts the nodes of `cluster` (created empty) and waits until it is healthy.
    fn bring_up(&self, cluster: &mut TestCluster, deadline: Instant) -> Result<()> {
        for _ in 0..self.nodes {
            cluster.create_node()?;
        }
        cluster.start_fresh(0, deadline)?;
        if self.program == NodeProgram::Bare {
            cluster.wait_for_leader(deadline.saturating_duration_since(Instant::now()))?;
        }
        for index in 1..self.nodes {
            cluster.start_fresh(index, deadline)?;
            if self.program == NodeProgram::Bare {
                cluster.join_bare(index, Role::Voter, deadline)?;
            }
        }
        cluster.wait_healthy_until(deadline, self.start_timeout)
    }
}
