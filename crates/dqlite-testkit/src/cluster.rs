//! [`TestCluster`]: N `dqlite-demo` processes on 127.0.0.1, started, faulted and torn down
//! by the test.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::install::{Installation, ServerVersion, install};
use crate::probe::{Member, Probe, Role};
use crate::tls::TlsFiles;
use crate::unjoined::UnjoinedNode;
use crate::util::{file_tail, free_port, send_signal, spawn_tied_to_process};

/// go-dqlite's `app` package gives the node that bootstraps a cluster this fixed id.
pub const BOOTSTRAP_ID: u64 = 0x2dc1_7185_8c31_55be;

/// How long a single LEADER/CLUSTER probe may take (connect, TLS handshake, reply).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long ADD/ASSIGN/REMOVE may take (ASSIGN to voter waits for the node to catch up).
const ADMIN_TIMEOUT: Duration = Duration::from_secs(20);
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

/// (node index, its address, its answer to LEADER).
type LeaderAnswer = (usize, String, Result<Option<(u64, String)>>);

/// Whether a node process is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// The process runs.
    Running,
    /// The process is stopped with SIGSTOP (see [`TestCluster::pause`]).
    Paused,
    /// No process: killed, terminated, or the whole cluster was stopped.
    Down,
}

/// A snapshot of one node of a [`TestCluster`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Position in the cluster (0-based; node 0 bootstrapped the cluster).
    pub index: usize,
    /// Raft node id, once the cluster has reported it (node 0 is always [`BOOTSTRAP_ID`];
    /// the others pick random ids when they join).
    pub id: Option<u64>,
    /// Database (Raft and client) address, "127.0.0.1:PORT".
    pub address: String,
    /// dqlite-demo's HTTP API address, "127.0.0.1:PORT".
    pub api_address: String,
    /// The `-D` directory given to dqlite-demo (it keeps its data in a subdirectory named
    /// after the database address).
    pub data_dir: PathBuf,
    /// The node's log file (stdout and stderr of every run of this node).
    pub log: PathBuf,
    /// The process id while the process exists.
    pub pid: Option<u32>,
    /// Whether the process runs, is paused, or is down.
    pub state: NodeState,
}

/// Configures and starts a [`TestCluster`]. Made by [`TestCluster::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct TestClusterBuilder {
    nodes: usize,
    version: ServerVersion,
    tls: bool,
    verbose: bool,
    start_timeout: Duration,
}

impl Default for TestClusterBuilder {
    fn default() -> Self {
        TestClusterBuilder {
            nodes: 3,
            version: ServerVersion::from_env(),
            tls: false,
            verbose: true,
            start_timeout: Duration::from_secs(60),
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

    /// Serve TLS (1.18 only): a self-signed certificate is generated and every node gets
    /// `--cert`/`--key`. See [`TestCluster::tls_files`].
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

    /// Installs the server if needed, starts the nodes (node 0 bootstraps, the others
    /// `--join` it) and waits until the cluster is healthy (see
    /// [`TestCluster::wait_healthy`]): with 3 nodes, a leader and three voters.
    pub fn start(self) -> Result<TestCluster> {
        if self.nodes == 0 {
            return Err(Error::Invalid("a cluster needs at least one node".into()));
        }
        if self.tls && !self.version.supports_tls() {
            return Err(Error::Invalid(format!(
                "dqlite-demo of server {} has no TLS flags; TLS clusters need 1.18",
                self.version
            )));
        }
        let installation = install(self.version)?;
        let dir = tempfile::Builder::new()
            .prefix("dqlite-testkit-")
            .tempdir()
            .map_err(|e| Error::io("create the cluster's temporary directory", e))?;
        let tls = if self.tls {
            Some(TlsFiles::generate(dir.path())?)
        } else {
            None
        };
        let tls_config = tls.as_ref().map(TlsFiles::client_config).transpose()?;
        let nodes = (0..self.nodes)
            .map(|index| Node {
                index,
                db_port: 0,
                api_port: 0,
                dir: dir.path().join(format!("node{index}")),
                log: dir.path().join(format!("node{index}.log")),
                join: index != 0,
                child: None,
                paused: false,
                id: (index == 0).then_some(BOOTSTRAP_ID),
                spawned_at: 0,
            })
            .collect();
        let mut cluster = TestCluster {
            dir,
            installation,
            tls,
            tls_config,
            nodes,
            verbose: self.verbose,
        };
        let deadline = Instant::now() + self.start_timeout;
        cluster.start_fresh(0, deadline)?;
        for index in 1..self.nodes {
            cluster.start_fresh(index, deadline)?;
        }
        cluster.wait_healthy_until(deadline, self.start_timeout)?;
        Ok(cluster)
    }
}

struct Node {
    index: usize,
    db_port: u16,
    api_port: u16,
    dir: PathBuf,
    log: PathBuf,
    /// Whether the node is started with `--join <node 0>`.
    join: bool,
    child: Option<Child>,
    paused: bool,
    id: Option<u64>,
    /// Length of the log file when the current process was spawned.
    spawned_at: u64,
}

impl Node {
    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.db_port)
    }

    fn api_address(&self) -> String {
        format!("127.0.0.1:{}", self.api_port)
    }

    fn state(&self) -> NodeState {
        match (&self.child, self.paused) {
            (None, _) => NodeState::Down,
            (Some(_), true) => NodeState::Paused,
            (Some(_), false) => NodeState::Running,
        }
    }

    /// The log written by the current (or last) process.
    fn recent_log(&self) -> String {
        let len = std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        file_tail(&self.log, len.saturating_sub(self.spawned_at))
    }

    /// SIGKILL and reap the process, if any.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused = false;
    }

    /// If the process has exited, reaps it and returns a [`Error::NodeExited`].
    fn check_exited(&mut self) -> Result<()> {
        let Some(child) = self.child.as_mut() else {
            return Err(Error::Invalid(format!("node {} is down", self.index)));
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                self.child = None;
                self.paused = false;
                Err(self.exited(status.to_string()))
            }
            Err(e) => Err(Error::io(format!("wait for node {}", self.index), e)),
        }
    }

    fn exited(&self, status: String) -> Error {
        Error::NodeExited {
            index: self.index,
            address: self.address(),
            status,
            log: self.log.clone(),
            log_tail: crate::util::tail(&self.recent_log(), 4000),
        }
    }

    fn lost_port_race(&self) -> bool {
        self.recent_log().contains("address already in use")
    }
}

/// A running dqlite cluster of `dqlite-demo` processes on 127.0.0.1, in a temporary
/// directory. Dropping it SIGKILLs and reaps every process it started (and, when the
/// thread is panicking, prints every node's log to stderr first). Node processes also die
/// with the test process (`PR_SET_PDEATHSIG`).
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
    dir: tempfile::TempDir,
    installation: Installation,
    tls: Option<TlsFiles>,
    tls_config: Option<Arc<rustls::ClientConfig>>,
    nodes: Vec<Node>,
    verbose: bool,
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("dir", &self.dir.path())
            .field("version", &self.installation.version)
            .field("tls", &self.tls)
            .field("nodes", &self.nodes())
            .finish()
    }
}

impl TestCluster {
    /// A builder: 3 nodes, version from `DQLITE_SERVER_VERSION`, no TLS.
    pub fn builder() -> TestClusterBuilder {
        TestClusterBuilder::default()
    }

    /// Starts a cluster of `nodes` nodes of the version named by `DQLITE_SERVER_VERSION`.
    pub fn start(nodes: usize) -> Result<Self> {
        Self::builder().nodes(nodes).start()
    }

    /// The server version the nodes run.
    pub fn version(&self) -> ServerVersion {
        self.installation.version
    }

    /// The installation the nodes run from.
    pub fn installation(&self) -> &Installation {
        &self.installation
    }

    /// The temporary directory holding data directories, logs and TLS files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no nodes (never true for a started cluster).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Database addresses ("127.0.0.1:PORT") of every node, by index.
    pub fn addresses(&self) -> Vec<String> {
        self.nodes.iter().map(Node::address).collect()
    }

    /// The certificate and key of a TLS cluster; `None` without TLS.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The CA certificate (PEM) clients must trust: the nodes' self-signed certificate.
    /// `None` without TLS. The nodes require client certificates: present this same
    /// certificate with [`TestCluster::tls_key_path`].
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.cert.as_path())
    }

    /// The private key (PEM) of the TLS certificate; `None` without TLS.
    pub fn tls_key_path(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.key.as_path())
    }

    /// A rustls client configuration that trusts the cluster's certificate and presents it
    /// as client certificate; `None` without TLS.
    pub fn tls_client_config(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.tls_config.clone()
    }

    fn node_ref(&self, index: usize) -> Result<&Node> {
        self.nodes.get(index).ok_or(Error::NoSuchNode(index))
    }

    fn node_mut(&mut self, index: usize) -> Result<&mut Node> {
        self.nodes.get_mut(index).ok_or(Error::NoSuchNode(index))
    }

    fn info(node: &Node) -> NodeInfo {
        NodeInfo {
            index: node.index,
            id: node.id,
            address: node.address(),
            api_address: node.api_address(),
            data_dir: node.dir.clone(),
            log: node.log.clone(),
            pid: node.child.as_ref().map(Child::id),
            state: node.state(),
        }
    }

    /// A snapshot of node `index`.
    pub fn node(&self, index: usize) -> Result<NodeInfo> {
        self.node_ref(index).map(Self::info)
    }

    /// Snapshots of every node.
    pub fn nodes(&self) -> Vec<NodeInfo> {
        self.nodes.iter().map(Self::info).collect()
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

    fn connect(&self, address: &str, timeout: Duration) -> Result<Probe> {
        Probe::connect(address, self.tls_config.as_ref(), timeout)
    }

    /// Asks node `index` who the leader is: `Some((id, address))`, or `None` when it knows
    /// none. Fails if the node does not answer within a second (e.g. it is paused or down).
    pub fn ask_leader(&self, index: usize) -> Result<Option<(u64, String)>> {
        let address = self.node_ref(index)?.address();
        self.connect(&address, PROBE_TIMEOUT)?.leader()
    }

    /// Asks node `index` for the cluster configuration (CLUSTER, format 1).
    pub fn ask_members(&self, index: usize) -> Result<Vec<Member>> {
        let address = self.node_ref(index)?.address();
        self.connect(&address, PROBE_TIMEOUT)?.cluster()
    }

    /// The index of the current leader: a running, unpaused node that names itself leader
    /// (when several do, during a term change, the one most other nodes name). `None`
    /// when no node claims leadership right now. Probes all nodes in parallel; takes at
    /// most about a second.
    pub fn leader(&self) -> Option<usize> {
        self.leader_view().0
    }

    /// Asks every running node who the leader is, in parallel; returns the index of the
    /// node that claims leadership (if any) and every answer.
    fn leader_view(&self) -> (Option<usize>, Vec<LeaderAnswer>) {
        let candidates: Vec<(usize, String)> = self
            .nodes
            .iter()
            .filter(|n| n.state() == NodeState::Running)
            .map(|n| (n.index, n.address()))
            .collect();
        let answers: Vec<LeaderAnswer> = std::thread::scope(|scope| {
            let handles: Vec<_> = candidates
                .iter()
                .map(|(index, address)| {
                    scope.spawn(move || {
                        let answer = self
                            .connect(address, PROBE_TIMEOUT)
                            .and_then(|mut p| p.leader());
                        (*index, address.clone(), answer)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let names = |address: &str| {
            answers
                .iter()
                .filter(|(_, _, a)| matches!(a, Ok(Some((_, l))) if l == address))
                .count()
        };
        // Self-claimed leaders; during a term change there may briefly be two.
        let leader = answers
            .iter()
            .filter(|(_, address, a)| matches!(a, Ok(Some((_, l))) if l == address))
            .max_by_key(|(_, address, _)| names(address))
            .map(|(index, _, _)| *index);
        (leader, answers)
    }

    fn describe_answers(answers: &[LeaderAnswer]) -> String {
        answers
            .iter()
            .map(|(index, _, answer)| match answer {
                Ok(Some((_, leader))) => format!("node {index} says leader is {leader}"),
                Ok(None) => format!("node {index} knows no leader"),
                Err(e) => format!("node {index}: {e}"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Waits until some node claims leadership (see [`TestCluster::leader`]).
    pub fn wait_for_leader(&self, timeout: Duration) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let (leader, answers) = self.leader_view();
            if let Some(index) = leader {
                return Ok(index);
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("a leader ({})", Self::describe_answers(&answers)),
                    seconds: timeout.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The cluster configuration as the leader reports it.
    pub fn members(&self) -> Result<Vec<Member>> {
        let leader = self
            .leader()
            .ok_or_else(|| Error::Invalid("no leader right now".into()))?;
        self.ask_members(leader)
    }

    /// Waits until the cluster is healthy: every node runs and is in the leader's
    /// configuration, the voters and standbys number what dqlite-demo's role management
    /// settles on ([`expected_roles`]: every node is a voter for 1 or 3 nodes), and every
    /// voter names the leader.
    pub fn wait_healthy(&mut self, timeout: Duration) -> Result<()> {
        self.wait_healthy_until(Instant::now() + timeout, timeout)
    }

    fn wait_healthy_until(&mut self, deadline: Instant, timeout: Duration) -> Result<()> {
        loop {
            self.check_processes(deadline)?;
            let last = match self.health() {
                Ok(members) => {
                    for node in &mut self.nodes {
                        let address = node.address();
                        if let Some(m) = members.iter().find(|m| m.address == address) {
                            node.id = Some(m.id);
                        }
                    }
                    return Ok(());
                }
                Err(state) => state,
            };
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("a healthy cluster: {last}"),
                    seconds: timeout.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Ok(members) when healthy, else a description of what is not.
    fn health(&self) -> std::result::Result<Vec<Member>, String> {
        if let Some(node) = self.nodes.iter().find(|n| n.state() != NodeState::Running) {
            return Err(format!("node {} is {:?}", node.index, node.state()));
        }
        let (leader, answers) = self.leader_view();
        let leader =
            leader.ok_or_else(|| format!("no leader: {}", Self::describe_answers(&answers)))?;
        let leader_address = self
            .nodes
            .get(leader)
            .map(Node::address)
            .unwrap_or_default();
        let members = self
            .ask_members(leader)
            .map_err(|e| format!("CLUSTER from leader {leader}: {e}"))?;
        let mut voters = 0;
        let mut standbys = 0;
        for node in &self.nodes {
            let address = node.address();
            let member = members
                .iter()
                .find(|m| m.address == address)
                .ok_or_else(|| format!("node {} is not in {members:?}", node.index))?;
            match member.role {
                Role::Voter => {
                    voters += 1;
                    let names_leader = answers.iter().any(|(index, _, answer)| {
                        *index == node.index
                            && matches!(answer, Ok(Some((_, l))) if *l == leader_address)
                    });
                    if !names_leader {
                        return Err(format!(
                            "voter {} does not name leader {leader_address}: {}",
                            node.index,
                            Self::describe_answers(&answers)
                        ));
                    }
                }
                Role::Standby => standbys += 1,
                Role::Spare | Role::Unknown(_) => {}
            }
        }
        let (want_voters, want_standbys) = expected_roles(self.nodes.len());
        if (voters, standbys) != (want_voters, want_standbys) {
            return Err(format!(
                "{voters} voters and {standbys} standbys, expecting {want_voters} and \
                 {want_standbys}: {members:?}"
            ));
        }
        Ok(members)
    }

    /// Fails if a node process died; re-spawns a node that lost a port race for its API
    /// port (which dqlite-demo binds only after joining).
    fn check_processes(&mut self, deadline: Instant) -> Result<()> {
        for index in 0..self.nodes.len() {
            let node = self.node_mut(index)?;
            if node.paused {
                continue;
            }
            if let Err(e) = node.check_exited() {
                if node.lost_port_race() && Instant::now() < deadline {
                    node.api_port = free_port()?;
                    self.spawn(index)?;
                    self.wait_listening(index, deadline)?;
                    continue;
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn spawn(&mut self, index: usize) -> Result<()> {
        let join = self.nodes.first().map(Node::address).unwrap_or_default();
        let node = self.node_ref(index)?;
        std::fs::create_dir_all(&node.dir)
            .map_err(|e| Error::io(format!("create {}", node.dir.display()), e))?;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .map_err(|e| Error::io(format!("open {}", node.log.display()), e))?;
        let spawned_at = log.metadata().map(|m| m.len()).unwrap_or(0);
        let mut cmd = self.installation.demo_command();
        cmd.arg("--api")
            .arg(node.api_address())
            .arg("--db")
            .arg(node.address())
            .arg("-D")
            .arg(&node.dir);
        if node.join {
            cmd.arg("--join").arg(&join);
        }
        if let Some(tls) = &self.tls {
            cmd.arg("--cert").arg(&tls.cert).arg("--key").arg(&tls.key);
        }
        if self.verbose {
            cmd.arg("-v");
        }
        let _ = writeln!(
            log,
            "=== dqlite-testkit: starting node {index}: {}",
            crate::util::describe(&cmd)
        );
        let stderr = log
            .try_clone()
            .map_err(|e| Error::io(format!("clone {}", node.log.display()), e))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr));
        let child = spawn_tied_to_process(cmd)?;
        let node = self.node_mut(index)?;
        node.child = Some(child);
        node.paused = false;
        node.spawned_at = spawned_at;
        Ok(())
    }

    /// Waits until node `index` answers LEADER on its database port.
    fn wait_listening(&mut self, index: usize, deadline: Instant) -> Result<()> {
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
    fn start_fresh(&mut self, index: usize, deadline: Instant) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let db_port = free_port()?;
            let mut api_port = free_port()?;
            while api_port == db_port {
                api_port = free_port()?;
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

    /// Sends SIGTERM to node `index` (dqlite-demo then closes its app gracefully) and waits
    /// up to `grace` for it to exit, SIGKILLing it after that.
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

    /// Freezes node `index` with SIGSTOP: its sockets stay open but it answers nothing.
    pub fn pause(&mut self, index: usize) -> Result<()> {
        let node = self.node_mut(index)?;
        let pid = node
            .child
            .as_ref()
            .map(Child::id)
            .ok_or_else(|| Error::Invalid(format!("node {index} is down")))?;
        send_signal(pid, libc::SIGSTOP)?;
        node.paused = true;
        wait_stopped(pid);
        Ok(())
    }

    /// Thaws node `index` with SIGCONT.
    pub fn resume(&mut self, index: usize) -> Result<()> {
        let node = self.node_mut(index)?;
        let pid = node
            .child
            .as_ref()
            .map(Child::id)
            .ok_or_else(|| Error::Invalid(format!("node {index} is down")))?;
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

    /// Adds a node to the cluster through the leader: ADD (which makes it a spare), then
    /// ASSIGN `role` unless that is [`Role::Spare`]. ASSIGN to voter returns once the node
    /// has caught up.
    pub fn add_node(&self, id: u64, address: &str, role: Role) -> Result<()> {
        let leader = self
            .leader()
            .ok_or_else(|| Error::Invalid("no leader to send ADD to".into()))?;
        let leader_address = self.node_ref(leader)?.address();
        let mut probe = self.connect(&leader_address, ADMIN_TIMEOUT)?;
        probe.add(id, address)?;
        if role != Role::Spare {
            probe.assign(id, role)?;
        }
        Ok(())
    }

    /// Changes the role of node `id` through the leader (ASSIGN).
    pub fn assign(&self, id: u64, role: Role) -> Result<()> {
        let leader = self
            .leader()
            .ok_or_else(|| Error::Invalid("no leader to send ASSIGN to".into()))?;
        let leader_address = self.node_ref(leader)?.address();
        self.connect(&leader_address, ADMIN_TIMEOUT)?
            .assign(id, role)
    }

    /// Removes node `id` from the configuration through the leader (REMOVE).
    pub fn remove_node(&self, id: u64) -> Result<()> {
        let leader = self
            .leader()
            .ok_or_else(|| Error::Invalid("no leader to send REMOVE to".into()))?;
        let leader_address = self.node_ref(leader)?.address();
        self.connect(&leader_address, ADMIN_TIMEOUT)?.remove(id)
    }

    /// Starts a bare dqlite node (the C program `node/dqlite-node.c`) with Raft id `id` on
    /// a fresh port, running against this cluster's server library. It is in no cluster
    /// until added, e.g. with [`TestCluster::add_node`]. Not available for TLS clusters
    /// (the C node speaks plain TCP).
    pub fn start_unjoined_node(&self, id: u64) -> Result<UnjoinedNode> {
        if self.tls.is_some() {
            return Err(Error::Invalid(
                "unjoined nodes speak plain TCP and cannot join a TLS cluster".into(),
            ));
        }
        UnjoinedNode::start(&self.installation, id)
    }

    fn dump_logs(&self) {
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
