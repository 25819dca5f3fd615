//! What a partitionable cluster creates outside its temporary directory, and how all of it
//! is removed: one system user per node, one iptables chain per cluster, two NFQUEUE
//! numbers (served by `nfqueue.rs`).
//!
//! Everything carries the creating process's id in its name, so that a later start of the
//! test kit can tell the leftovers of a killed run (its process is gone) from what a
//! concurrent run still uses, and remove them ([`sweep_leftovers`]):
//!
//! * users `dqtk<pid>c<cluster>n<node>` (primary group `nogroup`, no home, no shell);
//! * chains `DQTK-<pid>-<cluster>` in the filter table, jumped to from the top of `OUTPUT`;
//! * temporary directories `dqlite-testkit-<pid>-*` in the system's temporary directory.
//!
//! A cluster removes its own on drop, panicking or not; node processes die with the test
//! process (`PR_SET_PDEATHSIG`); what a SIGKILLed test process leaves is swept by the next
//! one.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};
use crate::util::{is_root, run_command};

/// Prefix of the node users' names.
const USER_PREFIX: &str = "dqtk";
/// Prefix of the clusters' iptables chains.
const CHAIN_PREFIX: &str = "DQTK-";
/// Prefix of the clusters' temporary directories (followed by the pid and a dash).
pub(crate) const DIR_PREFIX: &str = "dqlite-testkit-";

/// A system user a node process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeUser {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// The names one cluster gives to what it creates: `<pid>` and a per-process counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClusterTag {
    pid: u32,
    seq: u32,
}

impl ClusterTag {
    pub(crate) fn next() -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(1);
        ClusterTag {
            pid: std::process::id(),
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
        }
    }

    pub(crate) fn chain(&self) -> String {
        format!("{CHAIN_PREFIX}{}-{}", self.pid, self.seq)
    }

    pub(crate) fn user(&self, node: usize) -> String {
        format!("{USER_PREFIX}{}c{}n{node}", self.pid, self.seq)
    }

    /// A number in 1024..65535 derived from the tag, where the search for free NFQUEUE
    /// numbers starts.
    pub(crate) fn queue_hint(&self) -> u16 {
        let spread = (self
            .pid
            .wrapping_mul(31)
            .wrapping_add(self.seq.wrapping_mul(7)))
            % 30_000;
        u16::try_from(1024 + 2 * spread).unwrap_or(1024)
    }
}

/// Checks that this process can make partitionable clusters: root, and `iptables`
/// present (installed with apt-get when missing).
pub(crate) fn ensure_tools() -> Result<()> {
    if !is_root() {
        return Err(Error::NotRoot(
            "partitionable clusters create users and iptables rules".into(),
        ));
    }
    static IPTABLES: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    IPTABLES
        .get_or_init(|| {
            if iptables(&["-w", "-S", "OUTPUT"]).is_ok() {
                return Ok(());
            }
            eprintln!("dqlite-testkit: installing iptables with apt-get");
            let apt = |args: &[&str]| {
                run_command(
                    Command::new("apt-get")
                        .args(args)
                        .env("DEBIAN_FRONTEND", "noninteractive"),
                )
            };
            apt(&["install", "-y", "-q", "iptables"])
                .or_else(|_| {
                    apt(&["update", "-q"]).and_then(|_| apt(&["install", "-y", "-q", "iptables"]))
                })
                .and_then(|_| iptables(&["-w", "-S", "OUTPUT"]))
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| Error::NotInstalled {
            version: "(network faults)",
            detail: format!("iptables: {e}"),
        })
}

fn iptables(args: &[&str]) -> Result<String> {
    run_command(Command::new("iptables").args(args))
}

/// Creates (or finds) the user `name`, with primary group `nogroup` and no home.
pub(crate) fn ensure_user(name: &str) -> Result<NodeUser> {
    if let Some(user) = find_user(name) {
        return Ok(user);
    }
    let mut last = None;
    // useradd waits for the passwd lock itself; a concurrent run may still beat it.
    for _ in 0..3 {
        let added = run_command(Command::new("useradd").args([
            "--system",
            "--no-create-home",
            "--no-user-group",
            "--gid",
            "nogroup",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ]));
        if let Some(user) = find_user(name) {
            return Ok(user);
        }
        last = added.err();
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Err(last.unwrap_or_else(|| Error::Invalid(format!("useradd {name} created nobody"))))
}

/// Removes the user `name` (its processes must be gone).
pub(crate) fn remove_user(name: &str) -> Result<()> {
    if find_user(name).is_none() {
        return Ok(());
    }
    run_command(Command::new("userdel").arg(name)).map(drop)
}

fn find_user(name: &str) -> Option<NodeUser> {
    users().into_iter().find(|u| u.name == name)
}

fn users() -> Vec<NodeUser> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let _password = fields.next()?;
            let uid = fields.next()?.parse().ok()?;
            let gid = fields.next()?.parse().ok()?;
            Some(NodeUser {
                name: name.to_owned(),
                uid,
                gid,
            })
        })
        .collect()
}

/// Creates the chain (empty) and jumps to it from the top of `OUTPUT`.
pub(crate) fn create_chain(chain: &str) -> Result<()> {
    iptables(&["-w", "-N", chain])?;
    if let Err(e) = iptables(&["-w", "-I", "OUTPUT", "1", "-j", chain]) {
        let _ = iptables(&["-w", "-X", chain]);
        return Err(e);
    }
    Ok(())
}

/// Replaces the chain's rules with `rules` in one transaction (`iptables-restore
/// --noflush` of a file that declares the chain, which empties it first). Tried twice: a
/// busy netfilter can refuse a transaction once.
pub(crate) fn replace_rules(chain: &str, rules: &[String]) -> Result<()> {
    use std::io::Write;
    let mut input = format!("*filter\n:{chain} - [0:0]\n");
    for rule in rules {
        input.push_str(&format!("-A {chain} {rule}\n"));
    }
    input.push_str("COMMIT\n");
    let mut file = tempfile::Builder::new()
        .prefix(&format!("{DIR_PREFIX}{}-rules-", std::process::id()))
        .tempfile()
        .map_err(|e| Error::io("create a file for iptables-restore", e))?;
    file.write_all(input.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| Error::io("write the rules for iptables-restore", e))?;
    let restore = || {
        run_command(
            Command::new("iptables-restore")
                .args(["-w", "--noflush"])
                .arg(file.path()),
        )
    };
    restore()
        .or_else(|first| {
            std::thread::sleep(std::time::Duration::from_millis(200));
            restore().map_err(|_| first)
        })
        .map(drop)
        .map_err(|e| match e {
            Error::Command { status, output, .. } => Error::Command {
                command: format!("iptables-restore --noflush of {} rules", rules.len()),
                status,
                output,
            },
            other => other,
        })
}

/// Removes the jump from `OUTPUT` (every copy), the chain's rules and the chain.
pub(crate) fn remove_chain(chain: &str) -> Result<()> {
    while iptables(&["-w", "-D", "OUTPUT", "-j", chain]).is_ok() {}
    let flushed = iptables(&["-w", "-F", chain]);
    let deleted = iptables(&["-w", "-X", chain]);
    match (flushed, deleted) {
        (_, Ok(_)) => Ok(()),
        (Err(_), Err(_)) if !chain_exists(chain) => Ok(()),
        (_, Err(e)) => Err(e),
    }
}

fn chain_exists(chain: &str) -> bool {
    iptables(&["-w", "-S", chain]).is_ok()
}

/// Whether process `pid` exists.
fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The pid in a leftover's name: the digits right after `prefix`.
fn owner_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Removes what test kits that are no longer running left behind: iptables chains, node
/// users and temporary directories named with a dead process's id. Runs once per process
/// (at the first cluster start); returns what it removed.
pub fn sweep_leftovers() -> Vec<String> {
    static SWEPT: OnceLock<Vec<String>> = OnceLock::new();
    SWEPT.get_or_init(sweep_now).clone()
}

fn sweep_now() -> Vec<String> {
    let mut removed = Vec::new();
    let dead = |name: &str, prefix: &str| {
        owner_pid(name, prefix).is_some_and(|pid| pid != std::process::id() && !alive(pid))
    };
    if is_root() {
        if let Ok(listing) = iptables(&["-w", "-S"]) {
            let chains: Vec<&str> = listing
                .lines()
                .filter_map(|l| l.strip_prefix("-N "))
                .map(str::trim)
                .filter(|c| dead(c, CHAIN_PREFIX))
                .collect();
            for chain in chains {
                if remove_chain(chain).is_ok() {
                    removed.push(format!("iptables chain {chain}"));
                }
            }
        }
        for user in users() {
            if dead(&user.name, USER_PREFIX) && remove_user(&user.name).is_ok() {
                removed.push(format!("user {}", user.name));
            }
        }
    }
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Only "<prefix><pid>-...": older names without a pid are left alone.
            let tagged = name
                .strip_prefix(DIR_PREFIX)
                .and_then(|rest| rest.split_once('-'))
                .is_some_and(|(pid, _)| !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()));
            if tagged && dead(&name, DIR_PREFIX) && std::fs::remove_dir_all(entry.path()).is_ok() {
                removed.push(format!("directory {}", entry.path().display()));
            }
        }
    }
    if !removed.is_empty() {
        eprintln!(
            "dqlite-testkit: removed leftovers of earlier runs: {}",
            removed.join(", ")
        );
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_pid() {
        let tag = ClusterTag { pid: 4242, seq: 7 };
        assert_eq!(tag.chain(), "DQTK-4242-7");
        assert_eq!(tag.user(3), "dqtk4242c7n3");
        assert!(tag.chain().len() <= 28, "iptables chain names are short");
        assert_eq!(owner_pid(&tag.chain(), CHAIN_PREFIX), Some(4242));
        assert_eq!(owner_pid(&tag.user(3), USER_PREFIX), Some(4242));
        assert_eq!(owner_pid("dqlite-testkit-99-abc", DIR_PREFIX), Some(99));
        assert_eq!(owner_pid("dqlite-testkit-abc", DIR_PREFIX), None);
        assert!(tag.queue_hint() >= 1024);
        let longest = ClusterTag {
            pid: 4_194_304,
            seq: 99_999,
        };
        assert!(longest.user(999).len() <= 32);
    }
}
