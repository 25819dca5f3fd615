//! `dqlite-bench`: the end-to-end benchmark suite.
//!
//! Runs the set-up script (Go and go-dqlite's sources, the Go worker, our driver's wheel,
//! the reference's Python 3.13 virtualenv), starts a 3-node cluster with the test kit,
//! fills the tables, then runs the workloads for every client in interleaved repetitions,
//! each (client, workload) run in its own worker process: the raw-socket floor, the Rust
//! clients, go-dqlite's `database/sql` driver, our Python driver (sync and asyncio, and
//! under SQLAlchemy), and the pure-Python reference. Writes a Markdown report, the raw
//! numbers as JSON and (with matplotlib) a PNG chart. Ratios are computed against the
//! floor, the reference or go-dqlite measured in the same run.
//!
//! ```text
//! dqlite-bench [--quick] [--reps N] [--only W,..] [--out PATH] [--python PATH] [--no-setup]
//! dqlite-bench list
//! dqlite-bench prepare ADDRESS
//! dqlite-bench worker CLIENT WORKLOAD ADDRESS SIZE
//! dqlite-bench callgrind [--workload w1|w2] [--sizes SMALL,LARGE] [--keep DIR] [CLIENT..]
//! ```

mod callgrind;
mod plan;
mod prepare;
mod report;
mod suite;
mod worker;

use std::path::PathBuf;

fn usage() -> ! {
    eprintln!(
        "usage: dqlite-bench [--quick] [--reps N] [--only W,..] [--out PATH] [--python PATH] \
         [--no-setup]\n       dqlite-bench list\n       dqlite-bench prepare ADDRESS\n       \
         dqlite-bench worker CLIENT WORKLOAD ADDRESS SIZE\n       \
         dqlite-bench callgrind [--workload w1|w2] [--sizes SMALL,LARGE] [--keep DIR] \
         [CLIENT..]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("worker") => worker_main(&args),
        Some("list") => list(),
        Some("prepare") => prepare_main(&args),
        Some("callgrind") => {
            if let Err(e) = callgrind::run(args.get(1..).unwrap_or_default()) {
                eprintln!("dqlite-bench callgrind: {e}");
                std::process::exit(1)
            }
        }
        _ => suite_main(&args),
    }
}

fn worker_main(args: &[String]) {
    let [_, client, workload, address, size] = args else {
        usage()
    };
    let size = size.parse().unwrap_or_else(|_| usage());
    match worker::run(client, workload, address, size) {
        Ok(result) => println!("{result}"),
        Err(e) => {
            eprintln!("worker {client} {workload}: {e}");
            std::process::exit(1)
        }
    }
}

/// Creates and fills the tables on a running cluster, for running workers by hand.
fn prepare_main(args: &[String]) {
    let [_, address] = args else { usage() };
    let sizes: Vec<u64> = plan::SPECS
        .iter()
        .filter(|s| s.worker == "w8out")
        .map(|s| s.size)
        .collect();
    if let Err(e) = prepare::tables(address, &sizes) {
        eprintln!("dqlite-bench prepare: {e}");
        std::process::exit(1)
    }
}

/// Prints the workloads, their groups and clients (what `--only` accepts).
fn list() {
    for spec in plan::SPECS {
        println!(
            "{:11} group {:3} {}\n            clients: {}",
            spec.key,
            spec.group,
            spec.title_for(false),
            spec.clients.join(", ")
        );
    }
}

fn suite_main(args: &[String]) {
    let mut options = suite::Options {
        quick: false,
        reps: 0,
        only: Vec::new(),
        out: PathBuf::new(),
        python: PathBuf::from(".venv/bin/python"),
        setup: true,
    };
    let mut reps = None;
    let mut out = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--reps" => {
                reps = Some(
                    it.next()
                        .and_then(|r| r.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            "--only" => {
                let list = it.next().unwrap_or_else(|| usage());
                options.only = list.split(',').map(str::to_owned).collect();
            }
            "--out" => out = Some(it.next().map(PathBuf::from).unwrap_or_else(|| usage())),
            "--python" => {
                options.python = it.next().map(PathBuf::from).unwrap_or_else(|| usage());
            }
            "--no-setup" => options.setup = false,
            _ => usage(),
        }
    }
    options.reps = reps.unwrap_or(if options.quick { 2 } else { 5 });
    // A quick or partial run checks that things work; it never replaces the report.
    options.out = out.unwrap_or_else(|| {
        PathBuf::from(if options.quick || !options.only.is_empty() {
            "target/dqlite-bench/partial/benchmarks"
        } else {
            "docs/benchmarks"
        })
    });
    if let Err(e) = suite::run(&options) {
        eprintln!("dqlite-bench: {e}");
        std::process::exit(1);
    }
}
