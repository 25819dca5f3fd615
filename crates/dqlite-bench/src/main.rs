//! `dqlite-bench`: the end-to-end benchmark suite.
//!
//! Starts a 3-node cluster with the test kit, fills the tables, then runs five workloads
//! for every client in interleaved repetitions, each (client, workload) run in its own
//! worker process. Writes a Markdown report, the raw numbers as JSON and (with
//! matplotlib) a PNG chart. Ratios are computed against the raw-socket floor measured in
//! the same run.
//!
//! ```text
//! dqlite-bench [--quick] [--reps N] [--out DIR] [--python PATH]
//! dqlite-bench worker CLIENT WORKLOAD ADDRESS SIZE
//! ```

mod raw;
mod report;
mod workload;

use std::path::{Path, PathBuf};
use std::process::Command;

use dqlite_testkit::{ServerVersion, TestCluster};
use serde_json::{Value as Json, json};

/// Workloads: name, size in normal mode, size in quick mode (round trips, rows or seconds).
const WORKLOADS: [(&str, u64, u64); 7] = [
    ("w1", 3_000, 500),
    ("w1pin", 3_000, 500),
    ("w2", 500, 100),
    ("w3", workload::W3_ROWS as u64, workload::W3_ROWS as u64),
    ("w4", 200_000, 200_000),
    ("w4stream", 200_000, 200_000),
    ("w5", 10, 3),
];

fn usage() -> ! {
    eprintln!(
        "usage: dqlite-bench [--quick] [--reps N] [--out DIR] [--python PATH]\n       \
         dqlite-bench worker CLIENT WORKLOAD ADDRESS SIZE"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("worker") {
        let [_, client, workload, address, size] = args.as_slice() else {
            usage()
        };
        let size = size.parse().unwrap_or_else(|_| usage());
        match workload::run(client, workload, address, size) {
            Ok(result) => println!("{result}"),
            Err(e) => {
                eprintln!("worker {client} {workload}: {e}");
                std::process::exit(1)
            }
        }
        return;
    }
    let mut quick = false;
    let mut reps = None;
    let mut out = PathBuf::from("docs/benchmarks");
    let mut python = PathBuf::from(".venv/bin/python");
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--reps" => reps = it.next().and_then(|r| r.parse().ok()),
            "--out" => out = it.next().map(PathBuf::from).unwrap_or_else(|| usage()),
            "--python" => python = it.next().map(PathBuf::from).unwrap_or_else(|| usage()),
            _ => usage(),
        }
    }
    let reps: usize = reps.unwrap_or(if quick { 2 } else { 5 });
    if let Err(e) = suite(quick, reps, &out, &python) {
        eprintln!("dqlite-bench: {e}");
        std::process::exit(1);
    }
}

/// A client the suite measures: its name and how to start a worker for it.
struct Client {
    name: &'static str,
    program: PathBuf,
    prefix: Vec<String>,
    workloads: &'static [&'static str],
}

const ALL: &[&str] = &["w1", "w1pin", "w2", "w3", "w4", "w4stream", "w5"];

fn clients(python: &Path) -> Vec<Client> {
    let me = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("dqlite-bench"));
    let rust = |name: &'static str, workloads: &'static [&'static str]| Client {
        name,
        program: me.clone(),
        prefix: vec!["worker".into(), name.into()],
        workloads,
    };
    let mut list = vec![
        rust("raw", ALL),
        rust("rust-async", ALL),
        rust(
            "rust-blocking",
            &["w1", "w1pin", "w2", "w3", "w4", "w4stream"],
        ),
    ];
    let script = "crates/dqlite-bench/python/workloads.py".to_owned();
    let has_driver = Command::new(python)
        .args(["-c", "import dqlitedbapi"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_driver {
        // Not a driver: the cost of asyncio itself on W1 (see workloads.py).
        list.push(Client {
            name: "asyncio-floor",
            program: python.to_path_buf(),
            prefix: vec![script.clone(), "asyncio-floor".into()],
            workloads: &["w1", "w1pin"],
        });
        for name in ["python-sync", "python-aio"] {
            list.push(Client {
                name,
                program: python.to_path_buf(),
                prefix: vec![script.clone(), name.into()],
                workloads: if name == "python-sync" {
                    &["w1", "w1pin", "w2", "w3", "w4", "w4stream"]
                } else {
                    ALL
                },
            });
        }
    } else {
        eprintln!(
            "note: {} cannot import dqlitedbapi; Python clients skipped",
            python.display()
        );
    }
    match peer_python() {
        Some(peer) => list.push(Client {
            name: "peer-python",
            program: peer,
            prefix: vec![script, "peer-python".into()],
            workloads: &["w1", "w1pin", "w2", "w3", "w4", "w4stream", "w5"],
        }),
        None => eprintln!(
            "note: the pure-Python dqlite-dbapi 0.8.0 needs Python >= 3.13 with it installed \
             (set DQLITE_BENCH_PEER_PYTHON); peer skipped"
        ),
    }
    list
}

/// An interpreter with the pure-Python peer installed, named by DQLITE_BENCH_PEER_PYTHON.
fn peer_python() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("DQLITE_BENCH_PEER_PYTHON")?);
    Command::new(&path)
        .args([
            "-c",
            "import sys, dqlitedbapi; assert sys.version_info >= (3, 12)",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| path)
}

fn suite(quick: bool, reps: usize, out: &Path, python: &Path) -> Result<(), String> {
    let version = ServerVersion::from_env();
    eprintln!("starting a 3-node dqlite {} cluster", version.as_str());
    let cluster = TestCluster::builder()
        .nodes(3)
        .version(version)
        .start()
        .map_err(|e| e.to_string())?;
    let leader = cluster.leader().ok_or("no leader")?;
    let address = cluster
        .addresses()
        .get(leader)
        .cloned()
        .ok_or("no leader address")?;
    let leader_pid = cluster.pids().get(leader).copied().flatten();
    let w4_rows = WORKLOADS
        .iter()
        .find(|w| w.0 == "w4")
        .map_or(200_000, |w| w.1);
    workload::prepare(&address, i64::try_from(w4_rows).unwrap_or(i64::MAX))?;
    let clients = clients(python);
    let mut results: Vec<Json> = Vec::new();
    for rep in 0..reps {
        for &(name, size, quick_size) in &WORKLOADS {
            let size = if quick { quick_size } else { size };
            // Interleave: rotate the client order every repetition.
            let order: Vec<&Client> = clients
                .iter()
                .cycle()
                .skip(rep % clients.len().max(1))
                .take(clients.len())
                .filter(|c| c.workloads.contains(&name))
                .collect();
            for client in order {
                // A failed run is reported and kept out of the medians; the suite goes on.
                let result = run_worker(client, name, &address, size, leader_pid)
                    .unwrap_or_else(|e| json!({"error": e}));
                eprintln!("rep {rep} {name:9} {:14} {result}", client.name);
                results.push(json!({"rep": rep, "workload": name, "client": client.name,
                                    "result": result}));
            }
        }
    }
    report::write(out, &results, version.as_str(), quick, python)
}

fn run_worker(
    client: &Client,
    workload: &str,
    address: &str,
    size: u64,
    leader_pid: Option<u32>,
) -> Result<Json, String> {
    let pinned = workload == "w1pin";
    let real = if pinned { "w1" } else { workload };
    let mut command = if pinned {
        // Client and leader on the same CPU: on 2 cores, placement dominates latency.
        if let Some(pid) = leader_pid {
            taskset(&["-a", "-p", "-c", "0", &pid.to_string()]);
        }
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(&client.program);
        c
    } else {
        Command::new(&client.program)
    };
    command
        .args(&client.prefix)
        .args([real, address, &size.to_string()]);
    let output = command
        .output()
        .map_err(|e| format!("{}: {e}", client.name));
    if pinned && let Some(pid) = leader_pid {
        let cpus = format!(
            "0-{}",
            std::thread::available_parallelism().map_or(1, |n| n.get()) - 1
        );
        taskset(&["-a", "-p", "-c", &cpus, &pid.to_string()]);
    }
    let output = output?;
    if !output.status.success() {
        return Err(format!(
            "{} {workload} failed: {}",
            client.name,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let line = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(line.trim())
        .map_err(|e| format!("{} {workload}: {e}: {line}", client.name))
}

fn taskset(args: &[&str]) {
    let _ = Command::new("taskset").args(args).output();
}
