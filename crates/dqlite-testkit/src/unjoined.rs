//! [`UnjoinedNode`]: a bare dqlite node, in no cluster, waiting to be added.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::install::{Installation, cache_dir};
use crate::probe::Probe;
use crate::util::{file_tail, fnv1a, free_port, run_command, send_signal, spawn_tied_to_process};

/// The C source of the node program, compiled on first use.
const NODE_SOURCE: &str = include_str!("../node/dqlite-node.c");
const HEADER: &str = "/usr/include/dqlite.h";

/// Compiles `node/dqlite-node.c` (once per source version) into the cache directory with
/// `gcc ... -ldqlite` against Debian 12's libdqlite-dev, and returns the binary's path.
///
/// The same binary runs on the 1.18 server through Debian 13's unpacked loader and
/// `libdqlite.so.0` (same soname; the node API it uses is unchanged).
pub fn node_binary() -> Result<PathBuf> {
    let hash = fnv1a(NODE_SOURCE.as_bytes());
    let dir = cache_dir().join("node");
    let binary = dir.join(format!("dqlite-node-{hash:016x}"));
    if binary.exists() {
        return Ok(binary);
    }
    if !Path::new(HEADER).exists() {
        return Err(Error::NotInstalled {
            version: "1.11",
            detail: format!(
                "{HEADER} is missing (libdqlite-dev); run `dqlite-testkit install --server 1.11`"
            ),
        });
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    // Unique temporary names, then an atomic rename: concurrent test processes may race.
    let unique = format!("{}-{hash:016x}", std::process::id());
    let source = dir.join(format!("dqlite-node-{unique}.c"));
    let partial = dir.join(format!("dqlite-node-{unique}.partial"));
    std::fs::write(&source, NODE_SOURCE)
        .map_err(|e| Error::io(format!("write {}", source.display()), e))?;
    let built = run_command(
        Command::new("gcc")
            .args(["-O1", "-Wall", "-Wextra", "-o"])
            .arg(&partial)
            .arg(&source)
            .arg("-ldqlite"),
    );
    let _ = std::fs::remove_file(&source);
    if let Err(e) = built {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &binary)
        .map_err(|e| Error::io(format!("rename to {}", binary.display()), e))?;
    Ok(binary)
}

/// A bare dqlite node process (`node/dqlite-node.c`) that belongs to no cluster: its id is
/// not 1, so it never bootstraps one, and it waits for a leader to ADD it. Dropping it
/// SIGKILLs the process and removes its directory.
pub struct UnjoinedNode {
    id: u64,
    address: String,
    dir: tempfile::TempDir,
    log: PathBuf,
    child: Option<Child>,
}

impl std::fmt::Debug for UnjoinedNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnjoinedNode")
            .field("id", &self.id)
            .field("address", &self.address)
            .field("dir", &self.dir.path())
            .field("pid", &self.pid())
            .finish()
    }
}

impl UnjoinedNode {
    /// Starts a node with Raft id `id` (not 1) on a free 127.0.0.1 port, running against
    /// `installation`'s dqlite library, and waits until it answers on its address.
    pub fn start(installation: &Installation, id: u64) -> Result<Self> {
        if id == 0 || id == 1 || id == crate::cluster::BOOTSTRAP_ID {
            return Err(Error::Invalid(format!(
                "node id {id} would bootstrap a cluster of its own; pick another"
            )));
        }
        let binary = node_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("dqlite-testkit-node-")
            .tempdir()
            .map_err(|e| Error::io("create the node's temporary directory", e))?;
        let log = dir.path().join("node.log");
        let mut last_error = None;
        for _ in 0..5 {
            let address = format!("127.0.0.1:{}", free_port()?);
            let data = dir.path().join("data");
            let _ = std::fs::remove_dir_all(&data);
            let mut cmd = installation.command(&binary);
            cmd.arg("--id")
                .arg(id.to_string())
                .arg("--address")
                .arg(&address)
                .arg("--dir")
                .arg(&data);
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .map_err(|e| Error::io(format!("open {}", log.display()), e))?;
            let _ = writeln!(file, "=== dqlite-testkit: {}", crate::util::describe(&cmd));
            let stderr = file
                .try_clone()
                .map_err(|e| Error::io(format!("clone {}", log.display()), e))?;
            cmd.stdin(Stdio::null())
                .stdout(Stdio::from(file))
                .stderr(Stdio::from(stderr));
            let mut child = Some(spawn_tied_to_process(cmd)?);
            match wait_listening(&mut child, &address, &log, Duration::from_secs(10)) {
                Ok(()) => {
                    return Ok(UnjoinedNode {
                        id,
                        address,
                        dir,
                        log,
                        child,
                    });
                }
                Err(e) => {
                    if let Some(mut child) = child {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    // Another process may have taken the port: try a new one.
                    if !crate::util::lost_port_race(&file_tail(&log, 4000), &address) {
                        return Err(e);
                    }
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Invalid("could not start the node".into())))
    }

    /// The node's Raft id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Its address, "127.0.0.1:PORT".
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The process id, while the process exists.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Everything the node has logged.
    pub fn logs(&self) -> String {
        file_tail(&self.log, u64::MAX)
    }

    /// SIGKILLs and reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM (the node stops cleanly), waiting up to `grace` before SIGKILL.
    pub fn terminate(&mut self, grace: Duration) -> Result<()> {
        if let Some(child) = self.child.as_mut() {
            send_signal(child.id(), libc::SIGTERM)?;
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    self.child = None;
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
        Ok(())
    }
}

impl Drop for UnjoinedNode {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "===== dqlite-testkit: unjoined node {} ({}) log =====\n{}",
                self.id,
                self.address,
                file_tail(&self.log, 64 * 1024)
            );
        }
    }
}

/// Waits until the node at `address` answers LEADER; fails if the process exits first.
fn wait_listening(
    child: &mut Option<Child>,
    address: &str,
    log: &Path,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(process) = child.as_mut()
            && let Ok(Some(status)) = process.try_wait()
        {
            *child = None;
            return Err(Error::NodeExited {
                index: 0,
                address: address.to_owned(),
                status: status.to_string(),
                log: log.to_owned(),
                log_tail: file_tail(log, 4000),
            });
        }
        if Probe::connect(address, None, Duration::from_secs(1))
            .and_then(|mut p| p.leader())
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("the unjoined node to listen on {address}"),
                seconds: timeout.as_secs_f64(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
