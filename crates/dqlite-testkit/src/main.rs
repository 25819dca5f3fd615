//! `dqlite-testkit`: installs the dqlite servers, runs test clusters for other
//! languages' test suites, and checks workload histories.
//!
//! ```text
//! dqlite-testkit install [--server 1.11|1.18|latest|all] [--python]
//! dqlite-testkit cluster [--nodes 3] [--version 1.11|1.18|latest] [--tls] [--quiet]
//!                        [--program demo|bare] [--latency-ms MS] [--snapshots T,N]
//!                        [--partitionable]
//! dqlite-testkit check --workload set|bank|append|register HISTORY.jsonl
//! ```
//!
//! `cluster` starts a cluster, prints one JSON line
//! `{"addresses":[...],"version":"1.11","ca":null|"path","key":null|"path","pids":[...],"dir":"..."}`
//! and then reads one command per line on stdin, answering each with one JSON line
//! (`{"ok":true}`, a result object, or `{"error":"..."}`). Node indices are 0-based.
//!
//! | command | reply |
//! |---|---|
//! | `leader` | `{"leader":i}` or `{"leader":null}` |
//! | `wait-leader [SECONDS]` | `{"leader":i}` |
//! | `wait-healthy [SECONDS]` | `{"ok":true}` |
//! | `kill I`, `pause I`, `resume I`, `restart I`, `terminate I` | `{"ok":true}` |
//! | `kill-all` (SIGKILL every node), `restart-members` | `{"ok":true}` |
//! | `members` | `{"members":[{"id":..,"address":..,"role":"voter"}]}` |
//! | `nodes` | `{"nodes":[{"index":..,"id":..,"address":..,"pid":..,"state":..,"user":..,"role":..}]}` |
//! | `unjoined ID` | `{"id":ID,"address":"127.0.0.1:PORT","pid":..}` |
//! | `add ID ADDRESS [voter\|standby\|spare]` | `{"ok":true}` |
//! | bare nodes: `grow [ROLE]`, `assign I ROLE`, `remove I`, `transfer [I]` | `{"index":..,"address":..}`, `{"ok":true}` |
//! | partitionable: `partition 0,1 2,3`, `isolate I`, `loss nodes\|clients P`, `delay nodes\|clients MS [JITTER]`, `heal`, `network` | `{"network":"cut 0-2,... node-loss 0.20"}` |
//! | `proxy I` (a fault proxy in front of node I, advertising itself as leader) | `{"proxy":ID,"address":..}` |
//! | `proxy-fault ID none\|latency MS\|reset-client N\|reset-server N\|close-server N\|blackhole`, `proxy-reset ID`, `proxy-stats ID` | `{"ok":true}`, counters |
//! | `logs I` | `{"logs":"..."}` |
//! | `stop` (or end of input) | `{"ok":true}`, then everything is torn down and it exits |
//!
//! `check` reads a history (JSON lines, see `dqlite_testkit::check`) and prints the
//! verdict as one JSON object; it exits with status 0 whatever the verdict.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use dqlite_testkit::check::{Workload, check, read_history};
use dqlite_testkit::{Error, NodeProgram, ServerVersion, TestCluster, install, install_python};
use serde_json::{Value, json};

mod session;

const USAGE: &str = "usage:
  dqlite-testkit install [--server 1.11|1.18|latest|all] [--python]
    (--python: Debian 13's Python 3.13, unpacked; prints the path of python3.13)
  dqlite-testkit cluster [--nodes N] [--version 1.11|1.18|latest] [--tls] [--quiet]
                         [--program demo|bare] [--latency-ms MS] [--snapshots T,N]
                         [--partitionable]
    (then commands on stdin: leader, wait-leader [S], wait-healthy [S], kill I, pause I,
     resume I, restart I, terminate I, kill-all, restart-members, members, nodes,
     unjoined ID, add ID ADDRESS [ROLE], grow [ROLE], assign I ROLE, remove I,
     transfer [I], partition G G.., isolate I, loss nodes|clients P,
     delay nodes|clients MS [JITTER], heal, network, proxy I, proxy-fault ID FAULT [N],
     proxy-reset ID, proxy-stats ID, logs I, stop)
  dqlite-testkit check --workload set|bank|append|register HISTORY.jsonl";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("install") => cmd_install(args.get(1..).unwrap_or_default()),
        Some("cluster") => cmd_cluster(args.get(1..).unwrap_or_default()),
        Some("check") => cmd_check(args.get(1..).unwrap_or_default()),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown command\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dqlite-testkit: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The value following `flag`, e.g. `--nodes 3`.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Result<Option<&'a str>, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .map(|v| Some(v.as_str()))
            .ok_or_else(|| format!("{flag} needs a value")),
    }
}

fn check_flags(args: &[String], with_value: &[&str], switches: &[&str]) -> Result<(), String> {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if with_value.contains(&arg.as_str()) {
            i += 2;
        } else if switches.contains(&arg.as_str()) {
            i += 1;
        } else {
            return Err(format!("unexpected argument {arg:?}\n{USAGE}"));
        }
    }
    Ok(())
}

fn cmd_install(args: &[String]) -> Result<(), String> {
    check_flags(args, &["--server"], &["--python"])?;
    let python = args.iter().any(|a| a == "--python");
    let which = match flag_value(args, "--server")? {
        Some(which) => Some(which),
        None if python => None,
        None => Some("all"),
    };
    let versions: Vec<ServerVersion> = match which {
        None => Vec::new(),
        Some("all") => ServerVersion::ALL.to_vec(),
        Some(one) => vec![one.parse().map_err(|e: Error| e.to_string())?],
    };
    for version in versions {
        let installation = install(version).map_err(|e| e.to_string())?;
        let packages = installation.package_versions();
        match &installation.root {
            None => println!(
                "dqlite {version}: {} ({packages})",
                installation.demo.display()
            ),
            Some(root) => println!(
                "dqlite {version}: {} ({packages}; unpacked in {})",
                installation.demo.display(),
                root.display()
            ),
        }
    }
    if python {
        // The last line on stdout (the only one without --server): `$(dqlite-testkit install --python)`.
        let path = install_python().map_err(|e| e.to_string())?;
        println!("{}", path.display());
    }
    Ok(())
}

fn cmd_check(args: &[String]) -> Result<(), String> {
    let (path, flags) = args
        .split_last()
        .ok_or_else(|| format!("check needs a history file\n{USAGE}"))?;
    check_flags(flags, &["--workload"], &[])?;
    let workload: Workload = flag_value(flags, "--workload")?
        .ok_or("check needs --workload")?
        .parse()
        .map_err(|e: Error| e.to_string())?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("read {path}: {e}"))?;
    let history = read_history(&text).map_err(|e| e.to_string())?;
    let verdict = check(workload, &history);
    println!(
        "{}",
        serde_json::to_string(&verdict).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn cmd_cluster(args: &[String]) -> Result<(), String> {
    check_flags(
        args,
        &[
            "--nodes",
            "--version",
            "--program",
            "--latency-ms",
            "--snapshots",
        ],
        &["--tls", "--quiet", "--partitionable"],
    )?;
    let nodes = match flag_value(args, "--nodes")? {
        None => 3,
        Some(n) => n.parse().map_err(|_| format!("bad --nodes {n:?}"))?,
    };
    let version = match flag_value(args, "--version")? {
        None => ServerVersion::try_from_env().map_err(|e| e.to_string())?,
        Some(v) => v.parse().map_err(|e: Error| e.to_string())?,
    };
    let tls = args.iter().any(|a| a == "--tls");
    let verbose = !args.iter().any(|a| a == "--quiet");
    let stdout = std::io::stdout();
    let reply = |value: Value| {
        let mut out = stdout.lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    };
    let mut builder = TestCluster::builder()
        .nodes(nodes)
        .version(version)
        .tls(tls)
        .verbose(verbose)
        .partitionable(args.iter().any(|a| a == "--partitionable"));
    if let Some(program) = flag_value(args, "--program")? {
        builder = builder.program(program.parse::<NodeProgram>().map_err(|e| e.to_string())?);
    }
    if let Some(ms) = flag_value(args, "--latency-ms")? {
        let ms: u64 = ms.parse().map_err(|_| format!("bad --latency-ms {ms:?}"))?;
        builder = builder.network_latency(Duration::from_millis(ms));
    }
    if let Some(spec) = flag_value(args, "--snapshots")? {
        let parsed = spec
            .split_once(',')
            .and_then(|(t, n)| Some((t.parse().ok()?, n.parse().ok()?)));
        let (threshold, trailing) = parsed.ok_or_else(|| format!("bad --snapshots {spec:?}"))?;
        builder = builder.snapshots(threshold, trailing);
    }
    let cluster = match builder.start() {
        Ok(cluster) => cluster,
        Err(e) => {
            reply(json!({ "error": e.to_string() }));
            return Err(e.to_string());
        }
    };
    reply(json!({
        "addresses": cluster.addresses(),
        "version": version.as_str(),
        "ca": cluster.ca_cert_path().map(|p| p.display().to_string()),
        "key": cluster.tls_key_path().map(|p| p.display().to_string()),
        "pids": cluster.pids(),
        "dir": cluster.dir().display().to_string(),
    }));
    let mut session = session::Session::new(cluster);
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        if words.first() == Some(&"stop") {
            break;
        }
        let answer = match session.handle(&words) {
            Ok(value) => value,
            Err(e) => json!({ "error": e }),
        };
        reply(answer);
    }
    session.stop();
    reply(json!({ "ok": true }));
    // Dropping the session removes the users and rules of a partitionable cluster.
    drop(session);
    Ok(())
}
