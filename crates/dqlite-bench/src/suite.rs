//! The suite: set-up, a 3-node cluster, the tables, then every selected workload for
//! every client that runs it, in interleaved repetitions, each (client, workload) pair in
//! its own worker process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dqlite_testkit::{ServerVersion, TestCluster};
use serde_json::{Value as Json, json};

use crate::plan::{self, SPECS, Seed, Spec};
use crate::{prepare, report};

/// What the command line asked for.
pub struct Options {
    pub quick: bool,
    pub reps: usize,
    pub only: Vec<String>,
    pub out: PathBuf,
    pub python: PathBuf,
    pub setup: bool,
}

/// The set-up script: Go and go-dqlite's sources, the Go worker, our driver's wheel in
/// .venv, the reference's virtualenv (see the script).
pub const SETUP: &str = "crates/dqlite-bench/setup.sh";
/// The Go worker, built by the set-up script.
const GO_WORKER: &str = "target/dqlite-bench/go-dqlite-bench";
/// The reference's virtualenv made by the set-up script.
const PEER_VENV_PYTHON: &str = ".cache/venv-peer/bin/python";
const SCRIPT: &str = "crates/dqlite-bench/python/workloads.py";

/// A client the suite measures: its name and how to start a worker for it.
pub struct Client {
    pub name: &'static str,
    program: PathBuf,
    prefix: Vec<String>,
}

/// Runs the set-up script (idempotent; quick when everything is in place).
pub fn setup() -> Result<(), String> {
    let status = Command::new("bash")
        .arg(SETUP)
        .status()
        .map_err(|e| format!("{SETUP}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{SETUP} failed ({status})"))
    }
}

fn imports(python: &Path, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The clients this machine can run, with a note for each one it cannot.
fn clients(python: &Path) -> Vec<Client> {
    let me = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("dqlite-bench"));
    let mut list = Vec::new();
    for name in [plan::FLOOR, "rust-blocking", "rust-async"] {
        list.push(Client {
            name,
            program: me.clone(),
            prefix: vec!["worker".into(), name.into()],
        });
    }
    if Path::new(GO_WORKER).is_file() {
        list.push(Client {
            name: plan::GO,
            program: PathBuf::from(GO_WORKER),
            prefix: vec![],
        });
    } else {
        eprintln!("note: no {GO_WORKER} (bash {SETUP} builds it); go-dqlite skipped");
    }
    let python_client = |name: &'static str, program: &Path| Client {
        name,
        program: program.to_path_buf(),
        prefix: vec![SCRIPT.into(), name.into()],
    };
    if imports(python, "dqlitedbapi, sqlalchemy_dqlite") {
        for name in ["python-sync", "python-aio", "asyncio-floor"] {
            list.push(python_client(name, python));
        }
    } else {
        eprintln!(
            "note: {} cannot import dqlitedbapi and sqlalchemy_dqlite (bash {SETUP} installs \
             them); Python clients skipped",
            python.display()
        );
    }
    match peer_python() {
        Some(peer) => {
            for name in ["peer-python", "peer-python-aio"] {
                list.push(python_client(name, &peer));
            }
        }
        None => eprintln!(
            "note: the reference (dqlite-dbapi and sqlalchemy-dqlite 0.8.0) needs Python >= \
             3.13 with them installed: {PEER_VENV_PYTHON} (bash {SETUP} makes it) or \
             DQLITE_BENCH_PEER_PYTHON; reference skipped"
        ),
    }
    list
}

/// An interpreter with the pure-Python reference installed: DQLITE_BENCH_PEER_PYTHON, or
/// the set-up script's virtualenv.
fn peer_python() -> Option<PathBuf> {
    let path = std::env::var_os("DQLITE_BENCH_PEER_PYTHON")
        .map_or_else(|| PathBuf::from(PEER_VENV_PYTHON), PathBuf::from);
    Command::new(&path)
        .args([
            "-c",
            "import sys, dqlitedbapi, sqlalchemydqlite; assert sys.version_info >= (3, 13)",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| path)
}

/// Where the workers go: the leader (and its process, for pinning) and a follower.
#[derive(PartialEq, Eq)]
struct Placement {
    leader: String,
    follower: String,
    leader_pid: Option<u32>,
}

/// Asks the nodes who leads now (the leader can change during a run: a loaded machine, a
/// 16 MiB Raft entry).
fn placement(cluster: &TestCluster) -> Result<Placement, String> {
    let leader = cluster
        .wait_for_leader(Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    let addresses = cluster.addresses();
    Ok(Placement {
        leader: addresses.get(leader).cloned().ok_or("no leader address")?,
        follower: addresses
            .iter()
            .enumerate()
            .find(|&(i, _)| i != leader)
            .map(|(_, a)| a.clone())
            .ok_or("no follower")?,
        leader_pid: cluster.pids().get(leader).copied().flatten(),
    })
}

pub fn run(options: &Options) -> Result<(), String> {
    let started = Instant::now();
    if options.setup {
        setup()?;
    }
    let specs: Vec<&Spec> = SPECS.iter().filter(|s| s.selected(&options.only)).collect();
    if specs.is_empty() {
        return Err(format!(
            "--only {} selects no workload",
            options.only.join(",")
        ));
    }
    let version = ServerVersion::from_env();
    eprintln!("starting a 3-node dqlite {} cluster", version.as_str());
    let cluster = TestCluster::builder()
        .nodes(3)
        .version(version)
        .start()
        .map_err(|e| e.to_string())?;
    let mut at = placement(&cluster)?;
    let mut leader_changes = 0;
    let blob_sizes: Vec<u64> = specs
        .iter()
        .filter(|s| s.worker == "w8out")
        .map(|s| s.size(options.quick))
        .collect();
    prepare::tables(&at.leader, &blob_sizes)?;
    let clients = clients(&options.python);
    let mut results: Vec<Json> = Vec::new();
    for rep in 0..options.reps {
        for spec in &specs {
            let now = placement(&cluster)?;
            if now != at {
                leader_changes += 1;
                eprintln!("note: the leader is now {} (was {})", now.leader, at.leader);
                at = now;
            }
            // Interleave: rotate the client order every repetition.
            let order: Vec<&Client> = clients
                .iter()
                .cycle()
                .skip(rep % clients.len().max(1))
                .take(clients.len())
                .filter(|c| spec.clients.contains(&c.name))
                .collect();
            let address = match spec.seed {
                Seed::Leader => &at.leader,
                Seed::Follower => &at.follower,
            };
            for client in order {
                // A failed run is reported and kept out of the medians; the suite goes on.
                let t = Instant::now();
                let result = run_worker(client, spec, address, options.quick, at.leader_pid)
                    .unwrap_or_else(|e| json!({"error": e}));
                let wall = t.elapsed().as_secs_f64();
                eprintln!(
                    "rep {rep} {:10} {:15} {wall:5.1}s {result}",
                    spec.key, client.name
                );
                results.push(
                    json!({"rep": rep, "workload": spec.key, "client": client.name,
                                    "wall_s": wall, "result": result}),
                );
            }
        }
    }
    let run = report::Run {
        results: &results,
        specs: &specs,
        version: version.as_str(),
        quick: options.quick,
        reps: options.reps,
        only: &options.only,
        leader_changes,
        minutes: started.elapsed().as_secs_f64() / 60.0,
    };
    report::write(&options.out, &run, &options.python)
}

fn run_worker(
    client: &Client,
    spec: &Spec,
    address: &str,
    quick: bool,
    leader_pid: Option<u32>,
) -> Result<Json, String> {
    let mut command = if spec.pinned {
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
        .args([spec.worker, address, &spec.size(quick).to_string()]);
    let output = command
        .output()
        .map_err(|e| format!("{}: {e}", client.name));
    if spec.pinned
        && let Some(pid) = leader_pid
    {
        let cpus = format!(
            "0-{}",
            std::thread::available_parallelism().map_or(1, |n| n.get()) - 1
        );
        taskset(&["-a", "-p", "-c", &cpus, &pid.to_string()]);
    }
    let output = output?;
    if !output.status.success() {
        return Err(format!(
            "{} {} failed: {}",
            client.name,
            spec.key,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let line = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(line.trim())
        .map_err(|e| format!("{} {}: {e}: {line}", client.name, spec.key))
}

fn taskset(args: &[&str]) {
    let _ = Command::new("taskset").args(args).output();
}
