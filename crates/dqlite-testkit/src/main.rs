//! `dqlite-testkit`: installs the dqlite servers and runs test clusters for other
//! languages' test suites.
//!
//! ```text
//! dqlite-testkit install [--server 1.11|1.18|latest|all] [--python]
//! dqlite-testkit cluster [--nodes 3] [--version 1.11|1.18|latest] [--tls] [--quiet]
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
//! | `members` | `{"members":[{"id":..,"address":..,"role":"voter"}]}` |
//! | `nodes` | `{"nodes":[{"index":..,"id":..,"address":..,"pid":..,"state":..}]}` |
//! | `unjoined ID` | `{"id":ID,"address":"127.0.0.1:PORT","pid":..}` |
//! | `add ID ADDRESS [voter\|standby\|spare]` | `{"ok":true}` |
//! | `logs I` | `{"logs":"..."}` |
//! | `stop` (or end of input) | `{"ok":true}`, then everything is torn down and it exits |

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use dqlite_testkit::{
    Error, Member, NodeState, Role, ServerVersion, TestCluster, UnjoinedNode, install,
    install_python,
};
use serde_json::{Value, json};

const USAGE: &str = "usage:
  dqlite-testkit install [--server 1.11|1.18|latest|all] [--python]
    (--python: Debian 13's Python 3.13, unpacked; prints the path of python3.13)
  dqlite-testkit cluster [--nodes N] [--version 1.11|1.18|latest] [--tls] [--quiet]
    (then commands on stdin: leader, wait-leader [S], wait-healthy [S], kill I, pause I,
     resume I, restart I, terminate I, members, nodes, unjoined ID, add ID ADDRESS [ROLE],
     logs I, stop)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("install") => cmd_install(args.get(1..).unwrap_or_default()),
        Some("cluster") => cmd_cluster(args.get(1..).unwrap_or_default()),
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

fn cmd_cluster(args: &[String]) -> Result<(), String> {
    check_flags(args, &["--nodes", "--version"], &["--tls", "--quiet"])?;
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
    let mut cluster = match TestCluster::builder()
        .nodes(nodes)
        .version(version)
        .tls(tls)
        .verbose(verbose)
        .start()
    {
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
    let mut unjoined: Vec<UnjoinedNode> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        if words.first() == Some(&"stop") {
            break;
        }
        let answer = match handle(&mut cluster, &mut unjoined, &words) {
            Ok(value) => value,
            Err(e) => json!({ "error": e }),
        };
        reply(answer);
    }
    drop(unjoined);
    cluster.stop();
    reply(json!({ "ok": true }));
    Ok(())
}

fn index(words: &[&str]) -> Result<usize, String> {
    let word = words.get(1).ok_or("missing node index")?;
    word.parse().map_err(|_| format!("bad node index {word:?}"))
}

fn seconds(words: &[&str], default: u64) -> Result<Duration, String> {
    match words.get(1) {
        None => Ok(Duration::from_secs(default)),
        Some(word) => word
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("bad number of seconds {word:?}")),
    }
}

fn role_name(role: Role) -> String {
    match role {
        Role::Voter => "voter".into(),
        Role::Standby => "standby".into(),
        Role::Spare => "spare".into(),
        Role::Unknown(code) => format!("unknown({code})"),
    }
}

fn member_json(m: &Member) -> Value {
    json!({ "id": m.id, "address": m.address, "role": role_name(m.role) })
}

fn handle(
    cluster: &mut TestCluster,
    unjoined: &mut Vec<UnjoinedNode>,
    words: &[&str],
) -> Result<Value, String> {
    let ok = json!({ "ok": true });
    let err = |e: Error| e.to_string();
    match words.first().copied().unwrap_or_default() {
        "leader" => Ok(json!({ "leader": cluster.leader() })),
        "wait-leader" => {
            let timeout = seconds(words, 30)?;
            let leader = cluster.wait_for_leader(timeout).map_err(err)?;
            Ok(json!({ "leader": leader }))
        }
        "wait-healthy" => {
            let timeout = seconds(words, 30)?;
            cluster.wait_healthy(timeout).map_err(err)?;
            Ok(ok)
        }
        "kill" => cluster.kill(index(words)?).map(|()| ok).map_err(err),
        "pause" => cluster.pause(index(words)?).map(|()| ok).map_err(err),
        "resume" => cluster.resume(index(words)?).map(|()| ok).map_err(err),
        "restart" => cluster.restart(index(words)?).map(|()| ok).map_err(err),
        "terminate" => cluster
            .terminate(index(words)?, Duration::from_secs(10))
            .map(|()| ok)
            .map_err(err),
        "members" => {
            let members = cluster.members().map_err(err)?;
            Ok(json!({ "members": members.iter().map(member_json).collect::<Vec<_>>() }))
        }
        "nodes" => {
            let nodes: Vec<Value> = cluster
                .nodes()
                .into_iter()
                .map(|n| {
                    json!({
                        "index": n.index,
                        "id": n.id,
                        "address": n.address,
                        "api_address": n.api_address,
                        "pid": n.pid,
                        "state": match n.state {
                            NodeState::Running => "running",
                            NodeState::Paused => "paused",
                            NodeState::Down => "down",
                        },
                        "log": n.log.display().to_string(),
                    })
                })
                .collect();
            Ok(json!({ "nodes": nodes }))
        }
        "unjoined" => {
            let word = words.get(1).ok_or("missing node id")?;
            let id: u64 = word.parse().map_err(|_| format!("bad node id {word:?}"))?;
            let node = cluster.start_unjoined_node(id).map_err(err)?;
            let value = json!({ "id": id, "address": node.address(), "pid": node.pid() });
            unjoined.push(node);
            Ok(value)
        }
        "add" => {
            let id: u64 = words
                .get(1)
                .and_then(|w| w.parse().ok())
                .ok_or("usage: add ID ADDRESS [voter|standby|spare]")?;
            let address = words.get(2).ok_or("missing address")?;
            let role = match words.get(3).copied().unwrap_or("voter") {
                "voter" => Role::Voter,
                "standby" => Role::Standby,
                "spare" => Role::Spare,
                other => return Err(format!("bad role {other:?}")),
            };
            cluster
                .add_node(id, address, role)
                .map(|()| ok)
                .map_err(err)
        }
        "logs" => {
            let logs = cluster.logs(index(words)?).map_err(err)?;
            Ok(json!({ "logs": logs }))
        }
        other => Err(format!("unknown command {other:?}")),
    }
}
