//! Who leads a [`TestCluster`], and whether it is healthy: probes over the wire protocol.

use std::time::{Duration, Instant};

use crate::cluster::{PROBE_TIMEOUT, TestCluster, expected_roles};
use crate::error::{Error, Result};
use crate::node::{NodeProgram, NodeState};
use crate::probe::{Member, Probe, Role};

/// (node index, its address, its answer to LEADER).
type LeaderAnswer = (usize, String, Result<Option<(u64, String)>>);

impl TestCluster {
    pub(crate) fn connect(&self, address: &str, timeout: Duration) -> Result<Probe> {
        Probe::connect(address, self.tls_config.as_ref(), timeout)
    }

    /// Asks node `index` who the leader is: `Some((id, address))`, or `None` when it knows
    /// none. Fails if the node does not answer within a second (e.g. it is paused or down).
    pub fn ask_leader(&self, index: usize) -> Result<Option<(u64, String)>> {
        let address = self.node_ref(index)?.address();
        self.connect(&address, PROBE_TIMEOUT)?.leader()
    }

    /// Asks node `index` for the cluster configuration (CLUSTER, format 1).
    pub fn ask_members(&self, index: usize) -> Result<Vec<Member>> {
        let address = self.node_ref(index)?.address();
        self.connect(&address, PROBE_TIMEOUT)?.cluster()
    }

    /// The index of the current leader: a running, unpaused node that names itself leader
    /// (when several do, during a term change, the one most other nodes name). `None`
    /// when no node claims leadership right now. Probes all nodes in parallel; takes at
    /// most about a second.
    pub fn leader(&self) -> Option<usize> {
        self.leader_view().0
    }

    /// Asks every running node who the leader is, in parallel; returns the index of the
    /// node that claims leadership (if any) and every answer.
    fn leader_view(&self) -> (Option<usize>, Vec<LeaderAnswer>) {
        let candidates: Vec<(usize, String)> = self
            .nodes
            .iter()
            .filter(|n| n.state() == NodeState::Running)
            .map(|n| (n.index, n.address()))
            .collect();
        let answers: Vec<LeaderAnswer> = std::thread::scope(|scope| {
            let handles: Vec<_> = candidates
                .iter()
                .map(|(index, address)| {
                    scope.spawn(move || {
                        let answer = self
                            .connect(address, PROBE_TIMEOUT)
                            .and_then(|mut p| p.leader());
                        (*index, address.clone(), answer)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let names = |address: &str| {
            answers
                .iter()
                .filter(|(_, _, a)| matches!(a, Ok(Some((_, l))) if l == address))
                .count()
        };
        // Self-claimed leaders; during a term change there may briefly be two.
        let leader = answers
            .iter()
            .filter(|(_, address, a)| matches!(a, Ok(Some((_, l))) if l == address))
            .max_by_key(|(_, address, _)| names(address))
            .map(|(index, _, _)| *index);
        (leader, answers)
    }

    fn describe_answers(answers: &[LeaderAnswer]) -> String {
        answers
            .iter()
            .map(|(index, _, answer)| match answer {
                Ok(Some((_, leader))) => format!("node {index} says leader is {leader}"),
                Ok(None) => format!("node {index} knows no leader"),
                Err(e) => format!("node {index}: {e}"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Waits until some node claims leadership (see [`TestCluster::leader`]).
    pub fn wait_for_leader(&self, timeout: Duration) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let (leader, answers) = self.leader_view();
            if let Some(index) = leader {
                return Ok(index);
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("a leader ({})", Self::describe_answers(&answers)),
                    seconds: timeout.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The cluster configuration as the leader reports it.
    pub fn members(&self) -> Result<Vec<Member>> {
        let leader = self
            .leader()
            .ok_or_else(|| Error::Invalid("no leader right now".into()))?;
        self.ask_members(leader)
    }

    /// Waits until the cluster is healthy: every member node runs and is in the leader's
    /// configuration, and every voter names the leader. For dqlite-demo, the voters and
    /// standbys number what its role management settles on ([`expected_roles`]: every
    /// node is a voter for 1 or 3 nodes); for bare nodes, each has the role the test kit
    /// last gave it, and a node removed from the configuration is not in it.
    pub fn wait_healthy(&mut self, timeout: Duration) -> Result<()> {
        self.wait_healthy_until(Instant::now() + timeout, timeout)
    }

    pub(crate) fn wait_healthy_until(
        &mut self,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<()> {
        loop {
            self.check_processes(deadline)?;
            let last = match self.health() {
                Ok(members) => {
                    for node in &mut self.nodes {
                        let address = node.address();
                        if let Some(m) = members.iter().find(|m| m.address == address) {
                            node.id = Some(m.id);
                        }
                    }
                    return Ok(());
                }
                Err(state) => state,
            };
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("a healthy cluster: {last}"),
                    seconds: timeout.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether node `index` is expected in the configuration, and with which role
    /// (`None`: any role, as dqlite-demo's role management decides).
    fn expected_member(&self, index: usize) -> Option<Option<Role>> {
        let node = self.nodes.get(index)?;
        match self.launcher.program {
            NodeProgram::Demo => Some(None),
            NodeProgram::Bare => node.member.map(Some),
        }
    }

    /// Ok(members) when healthy, else a description of what is not.
    fn health(&self) -> std::result::Result<Vec<Member>, String> {
        if let Some(node) = self
            .nodes
            .iter()
            .find(|n| n.state() != NodeState::Running && self.expected_member(n.index).is_some())
        {
            return Err(format!("node {} is {:?}", node.index, node.state()));
        }
        let (leader, answers) = self.leader_view();
        let leader =
            leader.ok_or_else(|| format!("no leader: {}", Self::describe_answers(&answers)))?;
        let leader_address = self
            .nodes
            .get(leader)
            .map(|n| n.address())
            .unwrap_or_default();
        let members = self
            .ask_members(leader)
            .map_err(|e| format!("CLUSTER from leader {leader}: {e}"))?;
        let mut voters = 0;
        let mut standbys = 0;
        for node in &self.nodes {
            let address = node.address();
            let member = members.iter().find(|m| m.address == address);
            let Some(expected) = self.expected_member(node.index) else {
                if member.is_some() {
                    return Err(format!(
                        "node {} was removed but is in {members:?}",
                        node.index
                    ));
                }
                continue;
            };
            let member =
                member.ok_or_else(|| format!("node {} is not in {members:?}", node.index))?;
            if let Some(role) = expected
                && member.role != role
            {
                return Err(format!(
                    "node {} is a {:?}, expecting a {role:?}",
                    node.index, member.role
                ));
            }
            match member.role {
                Role::Voter => {
                    voters += 1;
                    let names_leader = answers.iter().any(|(index, _, answer)| {
                        *index == node.index
                            && matches!(answer, Ok(Some((_, l))) if *l == leader_address)
                    });
                    if !names_leader {
                        return Err(format!(
                            "voter {} does not name leader {leader_address}: {}",
                            node.index,
                            Self::describe_answers(&answers)
                        ));
                    }
                }
                Role::Standby => standbys += 1,
                Role::Spare | Role::Unknown(_) => {}
            }
        }
        if self.launcher.program == NodeProgram::Demo {
            let (want_voters, want_standbys) = expected_roles(self.nodes.len());
            if (voters, standbys) != (want_voters, want_standbys) {
                return Err(format!(
                    "{voters} voters and {standbys} standbys, expecting {want_voters} and \
                     {want_standbys}: {members:?}"
                ));
            }
        }
        Ok(members)
    }

    /// Fails if a member node's process died; re-spawns a node that lost a port race for
    /// its API port (which dqlite-demo binds only after joining).
    fn check_processes(&mut self, deadline: Instant) -> Result<()> {
        for index in 0..self.nodes.len() {
            if self.expected_member(index).is_none() {
                continue;
            }
            let node = self.node_mut(index)?;
            if node.paused {
                continue;
            }
            if let Err(e) = node.check_exited() {
                if node.lost_port_race() && Instant::now() < deadline {
                    let host = node.host;
                    node.api_port = crate::util::free_port_on(host)?;
                    self.spawn(index)?;
                    self.wait_listening(index, deadline)?;
                    continue;
                }
                return Err(e);
            }
        }
        Ok(())
    }
}
