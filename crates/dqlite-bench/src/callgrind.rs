//! `dqlite-bench callgrind`: instructions per unit of work of the Rust workers, counted by
//! callgrind (the Rust analogue of `python/callgrind.py`).
//!
//! Starts a 1-node cluster (`DQLITE_SERVER_VERSION`, default 1.11), pins the node and the
//! workers to CPU 0, and runs each client's worker twice under `valgrind --tool=callgrind`,
//! small and large (W1: 1,000 and 3,000 `SELECT 1`); the difference of the instruction
//! counts over the difference of the work done is the cost of one unit: start-up and
//! set-up cancel out. Counts are of user-space instructions only (system calls and the
//! kernel are not counted) and do not depend on the machine's load.
//!
//! Pinned to one CPU, the node can only answer once the client waits: every round trip of
//! the async client takes its full path (readiness registration, timer, park and wake-up),
//! so the counts repeat from run to run.
//!
//! ```text
//! dqlite-bench callgrind [--workload w1|w2] [--sizes SMALL,LARGE] [--keep DIR] [CLIENT..]
//! ```
//!
//! Clients default to `rust-async rust-blocking raw`; the `cg.CLIENT.SIZE.out` files are
//! kept in `--keep` (default: a new directory under the system's temporary directory), for
//! `callgrind_annotate`.

use std::path::PathBuf;
use std::process::Command;

use dqlite_testkit::{ServerVersion, TestCluster};

/// What the command line asked for.
struct Options {
    workload: String,
    sizes: (u64, u64),
    keep: Option<PathBuf>,
    clients: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        workload: "w1".into(),
        sizes: (1_000, 3_000),
        keep: None,
        clients: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--workload" => options.workload = value()?.clone(),
            "--sizes" => {
                let sizes = value()?;
                let (small, large) = sizes
                    .split_once(',')
                    .and_then(|(s, l)| Some((s.parse().ok()?, l.parse().ok()?)))
                    .filter(|(s, l)| s < l)
                    .ok_or(format!("--sizes {sizes}: expected SMALL,LARGE"))?;
                options.sizes = (small, large);
            }
            "--keep" => options.keep = Some(PathBuf::from(value()?)),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}")),
            client => options.clients.push(client.to_owned()),
        }
    }
    if !matches!(options.workload.as_str(), "w1" | "w2") {
        return Err(format!(
            "workload {}: only w1 and w2 (one round trip per unit)",
            options.workload
        ));
    }
    if options.clients.is_empty() {
        options.clients = ["rust-async", "rust-blocking", "raw"]
            .map(String::from)
            .into();
    }
    Ok(options)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let keep = match &options.keep {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("dqlite-callgrind-{}", std::process::id())),
    };
    std::fs::create_dir_all(&keep).map_err(|e| format!("{}: {e}", keep.display()))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let version = ServerVersion::from_env();
    let cluster = TestCluster::builder()
        .nodes(1)
        .version(version)
        .start()
        .map_err(|e| e.to_string())?;
    let address = cluster.addresses().into_iter().next().ok_or("no node")?;
    if let Some(pid) = cluster.pids().first().copied().flatten() {
        pin(&["-a", "-p", "-c", "0", &pid.to_string()])?;
    }
    if options.workload == "w2" {
        let mut conn = dqlite_client::blocking::Cluster::new(crate::worker::config(&address)?)
            .and_then(|c| c.connect())
            .map_err(|e| e.to_string())?;
        conn.execute("CREATE TABLE IF NOT EXISTS w2 (v INTEGER)", &[])
            .map_err(|e| e.to_string())?;
    }
    let (small, large) = options.sizes;
    for client in &options.clients {
        let count = |size: u64| {
            let out = keep.join(format!("cg.{client}.{size}.out"));
            let run = Command::new("taskset")
                .args(["-c", "0", "valgrind", "--tool=callgrind"])
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(&exe)
                .args(["worker", client, &options.workload, &address])
                .arg(size.to_string())
                .output()
                .map_err(|e| format!("valgrind: {e}"))?;
            let stderr = String::from_utf8_lossy(&run.stderr);
            if !run.status.success() {
                return Err(format!(
                    "{client} {size} failed ({}):\n{stderr}",
                    run.status
                ));
            }
            stderr
                .lines()
                .find_map(|l| l.split_once("Collected : ").map(|(_, n)| n.trim().parse()))
                .and_then(Result::ok)
                .ok_or(format!("no callgrind total in:\n{stderr}"))
        };
        let (a, b): (u64, u64) = (count(small)?, count(large)?);
        let per = (b as f64 - a as f64) / (large - small) as f64;
        println!(
            "{client} {} ({version}): {per:.0} instructions per round trip ({small}: {a}, \
             {large}: {b})",
            options.workload,
            version = version.as_str()
        );
    }
    println!("callgrind files: {}", keep.display());
    Ok(())
}

fn pin(args: &[&str]) -> Result<(), String> {
    let status = Command::new("taskset")
        .args(args)
        .output()
        .map_err(|e| format!("taskset: {e}"))?
        .status;
    if status.success() {
        Ok(())
    } else {
        Err(format!("taskset {} failed ({status})", args.join(" ")))
    }
}
