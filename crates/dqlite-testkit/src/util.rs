//! Process and file helpers shared by the installer and the cluster.

use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};

/// Runs a command to completion, capturing its output; a non-zero exit is an error that
/// carries the tail of the output.
pub(crate) fn run_command(cmd: &mut Command) -> Result<String> {
    let line = describe(cmd);
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("run `{line}`"), e))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(Error::Command {
        command: line,
        status: output.status.to_string(),
        output: tail(&format!("{stderr}{stdout}"), 2000),
    })
}

/// The command line, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// The last `max` bytes of `text` (on a character boundary).
pub(crate) fn tail(text: &str, max: usize) -> String {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..).unwrap_or_default().to_owned()
}

/// The last `max` bytes of a file, lossily decoded; empty if it cannot be read.
pub(crate) fn file_tail(path: &Path, max: u64) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if file.seek(SeekFrom::Start(len.saturating_sub(max))).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective uid).
pub(crate) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// 64-bit FNV-1a: a stable hash for cache keys (unlike `DefaultHasher`).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
/// A node may still lose it to another process; callers retry with a new port.
pub(crate) fn free_port() -> Result<u16> {
    free_port_on(Ipv4Addr::LOCALHOST)
}

/// A TCP port on `host` that was free a moment ago (see [`free_port`]).
pub(crate) fn free_port_on(host: Ipv4Addr) -> Result<u16> {
    let listener = TcpListener::bind((host, 0))
        .map_err(|e| Error::io(format!("bind {host}:0 to find a free port"), e))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::io("local address of a port-0 listener", e))?
        .port();
    Ok(port)
}

/// Whether a node's `log` says it could not bind `address` (host:port), which for a port
/// [`free_port`] picked means another process took it first: start again on a new port.
///
/// Older `dqlite-demo` builds say "address already in use" (the API port always does).
/// go-dqlite 2.0's over dqlite 1.18, and 1.11's for the database port, say only
/// `failed to set bind address "<address>": 1`; our bare node says
/// `dqlite_node_set_bind_address(<address>): 1` with an empty message. Those two must name
/// `address`, so an abstract-socket failure (the TLS bootstrap name, see
/// `tls::BootstrapSocketLock`) or an earlier attempt's port is not taken for this one.
pub(crate) fn lost_port_race(log: &str, address: &str) -> bool {
    log.contains("in use")
        || log.contains(&format!("failed to set bind address \"{address}\""))
        || log.contains(&format!("dqlite_node_set_bind_address({address})"))
}

/// Sends `signal` to process `pid`.
pub(crate) fn send_signal(pid: u32, signal: libc::c_int) -> Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| Error::Invalid(format!("pid {pid} out of range")))?;
    // SAFETY: kill(2) takes two integers and touches no memory of ours; the pid is one of
    // our own children that has not been waited for yet, so it cannot have been reused.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::io(
            format!("kill({pid}, {signal})"),
            std::io::Error::last_os_error(),
        ))
    }
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `cmd` so that the child is SIGKILLed when this process dies.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the
/// process. Test code may start a cluster on a short-lived thread (a tokio blocking task,
/// a scoped thread), so every node is forked from one spawner thread that lives as long as
/// the process.
pub(crate) fn spawn_tied_to_process(mut cmd: Command) -> Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let line = describe(&cmd);
    let parent = std::process::id();
    let hook = move || -> std::io::Result<()> {
        // Only async-signal-safe calls here: we are between fork and exec.
        // SAFETY: prctl(PR_SET_PDEATHSIG) and getppid() are plain system calls that do not
        // allocate, lock or touch memory shared with the parent.
        #[allow(unsafe_code)]
        let (rc, ppid) = unsafe {
            (
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0),
                libc::getppid(),
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // The parent may have died before prctl ran: then nobody would kill us later.
        if u32::try_from(ppid).ok() != Some(parent) {
            return Err(std::io::Error::other("parent exited before exec"));
        }
        Ok(())
    };
    // SAFETY: the hook only makes async-signal-safe system calls (see above).
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(hook);
    }
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        let spawned = std::thread::Builder::new()
            .name("dqlite-testkit-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            });
        if spawned.is_err() {
            // The receiver is dropped with the closure: send() below reports the failure.
        }
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    let sent = match sender.lock() {
        Ok(tx) => tx.send((cmd, reply_tx)).is_ok(),
        Err(_) => false,
    };
    if !sent {
        return Err(Error::Invalid(
            "the test kit's spawner thread is gone".into(),
        ));
    }
    reply_rx
        .recv()
        .map_err(|_| Error::Invalid("the test kit's spawner thread is gone".into()))?
        .map_err(|e| Error::io(format!("spawn `{line}`"), e))
}
