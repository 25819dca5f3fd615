//! One node process of a [`TestCluster`](crate::TestCluster): which program it runs, where
//! it listens, as which user, and whether it is up.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::firewall::NodeUser;
use crate::install::Installation;
use crate::probe::Role;
use crate::tls::TlsFiles;
use crate::util::{file_tail, spawn_tied_to_process};

/// The program a cluster's nodes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeProgram {
    /// Debian's `dqlite-demo` (go-dqlite's `app` package): nodes join through node 0 by
    /// themselves, the leader manages roles, and SIGTERM hands leadership over. Elections
    /// take dqlite's default 3-6 s.
    #[default]
    Demo,
    /// The test kit's bare C node (`node/dqlite-node.c`) on the version's libdqlite: node
    /// 0 (Raft id 1) bootstraps, the test kit ADDs every other node and makes it a voter.
    /// No role management: roles change only when a test changes them. With
    /// [`TestClusterBuilder::network_latency`](crate::TestClusterBuilder::network_latency)
    /// elections take 15x to 30x that latency.
    Bare,
}

impl NodeProgram {
    /// "demo" or "bare".
    pub fn as_str(self) -> &'static str {
        match self {
            NodeProgram::Demo => "demo",
            NodeProgram::Bare => "bare",
        }
    }
}

impl std::str::FromStr for NodeProgram {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "demo" | "dqlite-demo" => Ok(NodeProgram::Demo),
            "bare" => Ok(NodeProgram::Bare),
            other => Err(Error::Invalid(format!(
                "unknown node program {other:?} (expected demo or bare)"
            ))),
        }
    }
}

/// Whether a node process is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// The process runs.
    Running,
    /// The process is stopped with SIGSTOP (see [`TestCluster::pause`](crate::TestCluster::pause)).
    Paused,
    /// No process: killed, terminated, or the whole cluster was stopped.
    Down,
}

/// A snapshot of one node process of a [`TestCluster`](crate::TestCluster). (The client's
/// `NodeInfo` is a cluster member as the cluster reports it; this is the process the test
/// kit runs.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeProcess {
    /// Position in the cluster (0-based; node 0 bootstrapped the cluster).
    pub index: usize,
    /// Raft node id, once known (dqlite-demo: node 0 is always
    /// [`BOOTSTRAP_ID`](crate::BOOTSTRAP_ID), the others pick random ids when they join;
    /// bare nodes: index + 1).
    pub id: Option<u64>,
    /// Database (Raft and client) address, "HOST:PORT".
    pub address: String,
    /// dqlite-demo's HTTP API address, "HOST:PORT" (unused by bare nodes).
    pub api_address: String,
    /// The node's data directory (dqlite-demo keeps its data in a subdirectory named
    /// after the database address).
    pub data_dir: PathBuf,
    /// The node's log file (stdout and stderr of every run of this node).
    pub log: PathBuf,
    /// The process id while the process exists.
    pub pid: Option<u32>,
    /// Whether the process runs, is paused, or is down.
    pub state: NodeState,
    /// The system user the process runs as (partitionable clusters only).
    pub user: Option<String>,
    /// Bare clusters: the role the test kit last gave the node, `None` once removed from
    /// the configuration. dqlite-demo clusters: `None` (their leader assigns roles).
    pub role: Option<Role>,
}

/// How every node of a cluster is started.
#[derive(Debug)]
pub(crate) struct Launcher {
    pub(crate) installation: Installation,
    pub(crate) program: NodeProgram,
    pub(crate) tls: Option<TlsFiles>,
    pub(crate) verbose: bool,
    pub(crate) latency: Option<Duration>,
    pub(crate) snapshots: Option<(u32, u32)>,
    /// The compiled bare node, for [`NodeProgram::Bare`].
    pub(crate) bare_binary: Option<PathBuf>,
}

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) index: usize,
    pub(crate) host: Ipv4Addr,
    pub(crate) db_port: u16,
    pub(crate) api_port: u16,
    pub(crate) dir: PathBuf,
    pub(crate) log: PathBuf,
    /// dqlite-demo: whether the node is started with `--join <node 0>`.
    pub(crate) join: bool,
    pub(crate) child: Option<Child>,
    pub(crate) paused: bool,
    pub(crate) id: Option<u64>,
    /// Length of the log file when the current process was spawned.
    pub(crate) spawned_at: u64,
    pub(crate) user: Option<NodeUser>,
    /// Bare clusters: the role given by the test kit; `None` when not in the configuration.
    pub(crate) member: Option<Role>,
}

impl Node {
    pub(crate) fn new(index: usize, host: Ipv4Addr, cluster_dir: &Path) -> Self {
        Node {
            index,
            host,
            db_port: 0,
            api_port: 0,
            dir: cluster_dir.join(format!("node{index}")),
            log: cluster_dir.join(format!("node{index}.log")),
            join: index != 0,
            child: None,
            paused: false,
            id: None,
            spawned_at: 0,
            user: None,
            member: None,
        }
    }

    pub(crate) fn address(&self) -> String {
        format!("{}:{}", self.host, self.db_port)
    }

    pub(crate) fn api_address(&self) -> String {
        format!("{}:{}", self.host, self.api_port)
    }

    pub(crate) fn state(&self) -> NodeState {
        match (&self.child, self.paused) {
            (None, _) => NodeState::Down,
            (Some(_), true) => NodeState::Paused,
            (Some(_), false) => NodeState::Running,
        }
    }

    pub(crate) fn snapshot(&self, program: NodeProgram) -> NodeProcess {
        NodeProcess {
            index: self.index,
            id: self.id,
            address: self.address(),
            api_address: self.api_address(),
            data_dir: self.dir.clone(),
            log: self.log.clone(),
            pid: self.child.as_ref().map(Child::id),
            state: self.state(),
            user: self.user.as_ref().map(|u| u.name.clone()),
            role: match program {
                NodeProgram::Bare => self.member,
                NodeProgram::Demo => None,
            },
        }
    }

    /// The log written by the current (or last) process.
    pub(crate) fn recent_log(&self) -> String {
        let len = std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        file_tail(&self.log, len.saturating_sub(self.spawned_at))
    }

    /// SIGKILL and reap the process, if any.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused = false;
    }

    /// If the process has exited, reaps it and returns a [`Error::NodeExited`].
    pub(crate) fn check_exited(&mut self) -> Result<()> {
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

    /// Whether the node exited because its TCP address was taken between the test kit
    /// picking the port and the node binding it (see [`crate::util::lost_port_race`]).
    pub(crate) fn lost_port_race(&self) -> bool {
        crate::util::lost_port_race(&self.recent_log(), &self.address())
    }

    /// The command that runs this node; `join` is node 0's address (dqlite-demo).
    fn command(&self, launcher: &Launcher, join: &str) -> Result<Command> {
        match launcher.program {
            NodeProgram::Demo => {
                let mut cmd = launcher.installation.demo_command();
                cmd.arg("--api")
                    .arg(self.api_address())
                    .arg("--db")
                    .arg(self.address())
                    .arg("-D")
                    .arg(&self.dir);
                if self.join {
                    cmd.arg("--join").arg(join);
                }
                if let Some(tls) = &launcher.tls {
                    cmd.arg("--cert").arg(&tls.cert).arg("--key").arg(&tls.key);
                }
                if launcher.verbose {
                    cmd.arg("-v");
                }
                Ok(cmd)
            }
            NodeProgram::Bare => {
                let binary = launcher
                    .bare_binary
                    .as_ref()
                    .ok_or_else(|| Error::Invalid("the bare node is not built".into()))?;
                let id = self
                    .id
                    .ok_or_else(|| Error::Invalid(format!("node {} has no id", self.index)))?;
                let mut cmd = launcher.installation.command(binary);
                cmd.arg("--id")
                    .arg(id.to_string())
                    .arg("--address")
                    .arg(self.address())
                    .arg("--dir")
                    .arg(self.dir.join("data"));
                if let Some(latency) = launcher.latency {
                    cmd.arg("--latency-ms")
                        .arg(latency.as_millis().max(1).to_string());
                }
                if let Some((threshold, trailing)) = launcher.snapshots {
                    cmd.arg("--snapshot-threshold")
                        .arg(threshold.to_string())
                        .arg("--snapshot-trailing")
                        .arg(trailing.to_string());
                }
                Ok(cmd)
            }
        }
    }

    /// Starts the node's process (as its user, if it has one), logging to its log file.
    pub(crate) fn spawn(&mut self, launcher: &Launcher, join: &str) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io(format!("create {}", self.dir.display()), e))?;
        let mut cmd = self.command(launcher, join)?;
        if let Some(user) = &self.user {
            std::os::unix::fs::chown(&self.dir, Some(user.uid), Some(user.gid))
                .map_err(|e| Error::io(format!("chown {}", self.dir.display()), e))?;
            use std::os::unix::process::CommandExt;
            cmd.uid(user.uid).gid(user.gid);
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| Error::io(format!("open {}", self.log.display()), e))?;
        let spawned_at = log.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = writeln!(
            log,
            "=== dqlite-testkit: starting node {}{}: {}",
            self.index,
            self.user
                .as_ref()
                .map(|u| format!(" as {}", u.name))
                .unwrap_or_default(),
            crate::util::describe(&cmd)
        );
        let stderr = log
            .try_clone()
            .map_err(|e| Error::io(format!("clone {}", self.log.display()), e))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr));
        self.child = Some(spawn_tied_to_process(cmd)?);
        self.paused = false;
        self.spawned_at = spawned_at;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::net::TcpListener;
    use std::time::Instant;

    use super::*;
    use crate::install::{ServerVersion, install};

    /// Runs `program` of the version under test with its database port held by another
    /// socket, and returns the node once it has exited.
    fn node_on_a_taken_port(program: NodeProgram, dir: &Path) -> Node {
        let launcher = Launcher {
            installation: install(ServerVersion::from_env()).unwrap(),
            program,
            tls: None,
            verbose: false,
            latency: None,
            snapshots: None,
            bare_binary: match program {
                NodeProgram::Bare => Some(crate::unjoined::node_binary().unwrap()),
                NodeProgram::Demo => None,
            },
        };
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let mut node = Node::new(0, Ipv4Addr::LOCALHOST, dir);
        node.db_port = taken.local_addr().unwrap().port();
        node.api_port = crate::util::free_port().unwrap();
        node.id = Some(1);
        node.spawn(&launcher, "").unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while node.check_exited().is_ok() {
            assert!(
                Instant::now() < deadline,
                "{program:?} still runs on a taken port: {}",
                node.recent_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        node
    }

    /// CI once failed on dqlite 1.18 because `dqlite-demo`'s message for a taken port
    /// (`failed to set bind address "127.0.0.1:35353": 1`) was not read as a lost race, so
    /// the cluster start gave up instead of picking new ports.
    #[test]
    fn a_node_on_a_taken_port_lost_a_port_race() {
        for program in [NodeProgram::Demo, NodeProgram::Bare] {
            let dir = tempfile::tempdir().unwrap();
            let mut node = node_on_a_taken_port(program, dir.path());
            assert!(
                node.lost_port_race(),
                "{program:?}: not read as a port race: {}",
                node.recent_log()
            );
            // The message must name this node's address: the same log read for a node
            // on another port is no race of its own.
            node.db_port = node.db_port.wrapping_add(1);
            let log = node.recent_log();
            assert!(
                log.contains("in use") || !node.lost_port_race(),
                "{program:?}: another address's failure read as a race: {log}"
            );
        }
    }
}
