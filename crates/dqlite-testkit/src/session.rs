//! The commands `dqlite-testkit cluster` answers on stdin, one JSON line each (part of the
//! binary, not of the library).

use std::time::Duration;

use dqlite_testkit::proxy::{Fault, FaultProxy};
use dqlite_testkit::{Delay, Error, Member, NetFaults, NodeState, Role, TestCluster, UnjoinedNode};
use serde_json::{Value, json};

/// A cluster and what the commands started around it.
pub(crate) struct Session {
    pub(crate) cluster: TestCluster,
    unjoined: Vec<UnjoinedNode>,
    proxies: Vec<FaultProxy>,
    /// The network faults in force (partitionable clusters).
    faults: NetFaults,
}

fn index(words: &[&str]) -> Result<usize, String> {
    let word = words.get(1).ok_or("missing node index")?;
    word.parse().map_err(|_| format!("bad node index {word:?}"))
}

fn number<T: std::str::FromStr>(words: &[&str], at: usize, what: &str) -> Result<T, String> {
    let word = words.get(at).ok_or_else(|| format!("missing {what}"))?;
    word.parse().map_err(|_| format!("bad {what} {word:?}"))
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

fn role(word: Option<&&str>) -> Result<Role, String> {
    match word.copied().unwrap_or("voter") {
        "voter" => Ok(Role::Voter),
        "standby" => Ok(Role::Standby),
        "spare" => Ok(Role::Spare),
        other => Err(format!("bad role {other:?}")),
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

/// Node groups written `0,1 2,3`.
fn groups(words: &[&str]) -> Result<Vec<Vec<usize>>, String> {
    words
        .iter()
        .map(|g| {
            g.split(',')
                .map(|n| {
                    n.parse()
                        .map_err(|_| format!("bad node index {n:?} in {g:?}"))
                })
                .collect()
        })
        .collect()
}

fn proxy_fault(words: &[&str]) -> Result<Fault, String> {
    let n = |what| number::<u64>(words, 3, what);
    match words.get(2).copied().unwrap_or_default() {
        "none" => Ok(Fault::None),
        "latency" => Ok(Fault::Latency(Duration::from_millis(n("milliseconds")?))),
        "reset-client" => Ok(Fault::ResetAfterClientBytes(n("byte count")?)),
        "reset-server" => Ok(Fault::ResetAfterServerBytes(n("byte count")?)),
        "close-server" => Ok(Fault::CloseAfterServerBytes(n("byte count")?)),
        "blackhole" => Ok(Fault::Blackhole),
        other => Err(format!(
            "bad proxy fault {other:?} (none, latency MS, reset-client N, reset-server N, \
             close-server N, blackhole)"
        )),
    }
}

impl Session {
    pub(crate) fn new(cluster: TestCluster) -> Self {
        Session {
            cluster,
            unjoined: Vec::new(),
            proxies: Vec::new(),
            faults: NetFaults::none(),
        }
    }

    /// Stops everything: proxies, unjoined nodes, then the cluster's nodes.
    pub(crate) fn stop(&mut self) {
        self.proxies.clear();
        self.unjoined.clear();
        self.cluster.stop();
    }

    fn set_network(&mut self, faults: NetFaults) -> Result<Value, String> {
        self.cluster
            .set_network(&faults)
            .map_err(|e| e.to_string())?;
        let description = faults.describe();
        self.faults = faults;
        Ok(json!({ "network": description }))
    }

    /// The current faults with the cuts replaced by `cuts`'.
    fn with_cuts(&self, cuts: &NetFaults) -> NetFaults {
        let mut faults = cuts.clone();
        faults.node_loss = self.faults.node_loss;
        faults.node_delay = self.faults.node_delay;
        faults.client_loss = self.faults.client_loss;
        faults.client_delay = self.faults.client_delay;
        faults
    }

    fn proxy(&self, words: &[&str]) -> Result<&FaultProxy, String> {
        let id: usize = number(words, 1, "proxy id")?;
        self.proxies.get(id).ok_or_else(|| format!("no proxy {id}"))
    }

    /// Answers one command line (already split into words).
    pub(crate) fn handle(&mut self, words: &[&str]) -> Result<Value, String> {
        let ok = json!({ "ok": true });
        let err = |e: Error| e.to_string();
        let cluster = &mut self.cluster;
        match words.first().copied().unwrap_or_default() {
            "leader" => Ok(json!({ "leader": cluster.leader() })),
            "wait-leader" => {
                let leader = cluster.wait_for_leader(seconds(words, 30)?).map_err(err)?;
                Ok(json!({ "leader": leader }))
            }
            "wait-healthy" => {
                cluster.wait_healthy(seconds(words, 30)?).map_err(err)?;
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
            "kill-all" => {
                cluster.stop();
                Ok(ok)
            }
            "restart-members" => cluster.restart_members().map(|()| ok).map_err(err),
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
                            "user": n.user,
                            "role": n.role.map(role_name),
                        })
                    })
                    .collect();
                Ok(json!({ "nodes": nodes }))
            }
            "unjoined" => {
                let id: u64 = number(words, 1, "node id")?;
                let node = cluster.start_unjoined_node(id).map_err(err)?;
                let value = json!({ "id": id, "address": node.address(), "pid": node.pid() });
                self.unjoined.push(node);
                Ok(value)
            }
            "add" => {
                let id: u64 = number(words, 1, "node id")?;
                let address = words.get(2).ok_or("missing address")?;
                cluster
                    .add_node(id, address, role(words.get(3))?)
                    .map(|()| ok)
                    .map_err(err)
            }
            "grow" => {
                let index = cluster.grow(role(words.get(1))?).map_err(err)?;
                let address = cluster.addresses().get(index).cloned();
                Ok(json!({ "index": index, "address": address }))
            }
            "assign" => cluster
                .assign_role(index(words)?, role(words.get(2))?)
                .map(|()| ok)
                .map_err(err),
            "remove" => cluster
                .remove_member(index(words)?)
                .map(|()| ok)
                .map_err(err),
            "transfer" => {
                let to = if words.len() > 1 {
                    Some(index(words)?)
                } else {
                    None
                };
                cluster.transfer_leadership(to).map(|()| ok).map_err(err)
            }
            "logs" => {
                let logs = cluster.logs(index(words)?).map_err(err)?;
                Ok(json!({ "logs": logs }))
            }
            "partition" => {
                let groups = groups(words.get(1..).unwrap_or_default())?;
                let refs: Vec<&[usize]> = groups.iter().map(Vec::as_slice).collect();
                let faults = self.with_cuts(&NetFaults::partition(&refs));
                self.set_network(faults)
            }
            "isolate" => {
                let node = index(words)?;
                let faults = self.with_cuts(&NetFaults::isolate(node, self.cluster.len()));
                self.set_network(faults)
            }
            "loss" | "delay" => {
                let mut faults = self.faults.clone();
                let (loss, delay) = match words.get(1).copied() {
                    Some("nodes") => (&mut faults.node_loss, &mut faults.node_delay),
                    Some("clients") => (&mut faults.client_loss, &mut faults.client_delay),
                    _ => return Err(format!("usage: {} nodes|clients ...", words.join(" "))),
                };
                if words.first() == Some(&"loss") {
                    *loss = number(words, 2, "probability")?;
                } else {
                    let mean: u64 = number(words, 2, "milliseconds")?;
                    let jitter: u64 = if words.len() > 3 {
                        number(words, 3, "jitter")?
                    } else {
                        0
                    };
                    *delay = (mean > 0).then(|| {
                        Delay::new(Duration::from_millis(mean), Duration::from_millis(jitter))
                    });
                }
                self.set_network(faults)
            }
            "heal" => self.set_network(NetFaults::none()),
            "network" => Ok(json!({ "network": self.faults.describe() })),
            "proxy" => {
                let target = cluster
                    .addresses()
                    .get(index(words)?)
                    .cloned()
                    .ok_or("no such node")?;
                let proxy = FaultProxy::start(target).map_err(|e| e.to_string())?;
                proxy.advertise_self(true);
                let value = json!({ "proxy": self.proxies.len(), "address": proxy.address() });
                self.proxies.push(proxy);
                Ok(value)
            }
            "proxy-fault" => {
                let fault = proxy_fault(words)?;
                self.proxy(words)?.set_fault(fault);
                Ok(ok)
            }
            "proxy-reset" => {
                self.proxy(words)?.reset_all();
                Ok(ok)
            }
            "proxy-stats" => {
                let s = self.proxy(words)?.stats();
                Ok(json!({
                    "accepted": s.accepted, "open": s.open, "resets": s.resets,
                    "closes": s.closes, "bytes_to_server": s.bytes_to_server,
                    "bytes_to_client": s.bytes_to_client,
                }))
            }
            other => Err(format!("unknown command {other:?}")),
        }
    }
}
