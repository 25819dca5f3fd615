//! Membership changes through the leader (ADD, ASSIGN, REMOVE, TRANSFER), and the
//! whole-cluster process faults.

use std::time::{Duration, Instant};

use crate::cluster::TestCluster;
use crate::error::{Error, Result};
use crate::node::{NodeProgram, NodeState};
use crate::probe::{Member, Probe, Role};

/// How long ADD/ASSIGN/REMOVE may take (ASSIGN to voter waits for the node to catch up).
const ADMIN_TIMEOUT: Duration = Duration::from_secs(20);
/// Answers worth asking again: "not leader" and "leadership lost" (the new leader may
/// take it), and SQLITE_BUSY, dqlite's translation of Raft's "a configuration change is
/// already in progress" (the previous change has not committed yet).
const RETRY_CODES: [u64; 3] = [10250, 10506, 5];

impl TestCluster {
    /// Runs `request` on a connection to the current leader, asking again (the new leader,
    /// after a pause) while there is no leader, the leader cannot be reached, or it answers
    /// one of [`RETRY_CODES`], until `deadline`.
    fn through_leader<T>(
        &self,
        what: &str,
        deadline: Instant,
        mut request: impl FnMut(&mut Probe) -> Result<T>,
    ) -> Result<T> {
        loop {
            let attempt = self
                .leader()
                .ok_or_else(|| Error::Invalid(format!("no leader to send {what} to")))
                .and_then(|leader| self.node_ref(leader).map(|n| n.address()))
                .and_then(|address| self.connect(&address, ADMIN_TIMEOUT))
                .and_then(|mut probe| request(&mut probe));
            let retry = match &attempt {
                Ok(_) => false,
                Err(Error::Failure { code, .. }) => RETRY_CODES.contains(code),
                Err(Error::Invalid(_) | Error::Io { .. } | Error::Protocol { .. }) => true,
                Err(_) => false,
            };
            if !retry || Instant::now() >= deadline {
                return attempt;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Adds a node to the cluster through the leader: ADD (which makes it a spare), then
    /// ASSIGN `role` unless that is [`Role::Spare`]. ASSIGN to voter returns once the node
    /// has caught up.
    pub fn add_node(&self, id: u64, address: &str, role: Role) -> Result<()> {
        let deadline = Instant::now() + ADMIN_TIMEOUT;
        self.through_leader("ADD", deadline, |p| p.add(id, address))?;
        if role != Role::Spare {
            self.through_leader("ASSIGN", deadline, |p| p.assign(id, role))?;
        }
        Ok(())
    }

    /// Changes the role of node `id` through the leader (ASSIGN).
    pub fn assign(&self, id: u64, role: Role) -> Result<()> {
        let deadline = Instant::now() + ADMIN_TIMEOUT;
        self.through_leader("ASSIGN", deadline, |p| p.assign(id, role))
    }

    /// Removes node `id` from the configuration through the leader (REMOVE).
    pub fn remove_node(&self, id: u64) -> Result<()> {
        let deadline = Instant::now() + ADMIN_TIMEOUT;
        self.through_leader("REMOVE", deadline, |p| p.remove(id))
    }

    fn bare_only(&self, what: &str) -> Result<()> {
        match self.launcher.program {
            NodeProgram::Bare => Ok(()),
            NodeProgram::Demo => Err(Error::Invalid(format!(
                "{what} needs bare nodes: dqlite-demo's leader reassigns roles by itself"
            ))),
        }
    }

    fn id_of(&self, index: usize) -> Result<u64> {
        self.node_ref(index)?
            .id
            .ok_or_else(|| Error::Invalid(format!("node {index} has no known id")))
    }

    /// Adds bare node `index` (started, listening) to the configuration with `role`.
    pub(crate) fn join_bare(&mut self, index: usize, role: Role, deadline: Instant) -> Result<()> {
        let id = self.id_of(index)?;
        let address = self.node_ref(index)?.address();
        self.through_leader("ADD", deadline, |p| match p.add(id, &address) {
            // A retried ADD whose first attempt went through.
            Err(Error::Failure { message, .. }) if message.contains("already in use") => Ok(()),
            other => other,
        })?;
        if role != Role::Spare {
            self.through_leader("ASSIGN", deadline, |p| p.assign(id, role))?;
        }
        self.node_mut(index)?.member = Some(role);
        Ok(())
    }

    /// Bare clusters: starts one more node (the next index, on a fresh address and port,
    /// under its own user when partitionable) and adds it to the configuration with
    /// `role` through the leader. Returns its index.
    pub fn grow(&mut self, role: Role) -> Result<usize> {
        self.bare_only("grow")?;
        let deadline = Instant::now() + ADMIN_TIMEOUT;
        let index = self.create_node()?;
        self.start_fresh(index, deadline)?;
        self.join_bare(index, role, deadline)?;
        self.refresh_network()?;
        Ok(index)
    }

    /// Bare clusters: gives node `index` `role` through the leader (ASSIGN). Promoting to
    /// voter returns once the node has caught up.
    pub fn assign_role(&mut self, index: usize, role: Role) -> Result<()> {
        self.bare_only("assign_role")?;
        let id = self.id_of(index)?;
        self.assign(id, role)?;
        self.node_mut(index)?.member = Some(role);
        Ok(())
    }

    /// Bare clusters: removes node `index` from the configuration through the leader
    /// (REMOVE). Its process keeps running until killed; [`TestCluster::wait_healthy`]
    /// then expects it out of the configuration.
    pub fn remove_member(&mut self, index: usize) -> Result<()> {
        self.bare_only("remove_member")?;
        let id = self.id_of(index)?;
        self.remove_node(id)?;
        self.node_mut(index)?.member = None;
        Ok(())
    }

    /// Hands leadership to voter node `to` (TRANSFER), or to a voter the test kit picks when
    /// `to` is `None`, once that node has the leader's configuration on its disk: 1.11's
    /// Raft otherwise loses a configuration change the target was still writing (a node
    /// added or promoted just before the transfer is missing or a spare under the new
    /// leader).
    pub fn transfer_leadership(&self, to: Option<usize>) -> Result<()> {
        let deadline = Instant::now() + ADMIN_TIMEOUT;
        loop {
            let id = self.transferee(to, deadline)?;
            match self.through_leader("TRANSFER", deadline, |p| p.transfer(id)) {
                // Raft gives a transfer up when its target does not catch up in time (a
                // voter just added, a loaded machine): "leadership transfer failed". It
                // is asked again until the deadline, unless the target leads by then.
                Err(Error::Failure { code: 1, .. }) if Instant::now() < deadline => {
                    if to.is_some() && self.leader() == to {
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                other => return other,
            }
        }
    }

    /// Waits until the node leadership will go to has the leader's configuration: `to`,
    /// or for `None` any running voter other than the leader. Returns its raft id (0, for
    /// the leader to pick, when there is no other voter: the leader then refuses).
    ///
    /// The 1.11 server's Raft (libraft 0.15) sends TimeoutNow once it has *sent* the
    /// target its last entries, and the target campaigns at once, even while those
    /// entries are still being written. A configuration entry among them is then never
    /// applied (its write completes after the node left the follower state), so the new
    /// leader runs on the configuration before it: a node added or promoted just before
    /// the transfer is missing or a spare again, and the leader's next change commits that
    /// everywhere.
    /// A node's CLUSTER answer includes a configuration entry once it is on its disk.
    fn transferee(&self, to: Option<usize>, deadline: Instant) -> Result<u64> {
        loop {
            let last = match self.transferee_now(to) {
                Ok(id) => return Ok(id),
                Err(state) => state,
            };
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("a transfer target with the leader's configuration: {last}"),
                    seconds: ADMIN_TIMEOUT.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One look for [`TestCluster::transferee`]: the id, or why there is none yet.
    fn transferee_now(&self, to: Option<usize>) -> std::result::Result<u64, String> {
        let sorted = |mut members: Vec<Member>| {
            members.sort_by_key(|m| m.id);
            members
        };
        let leader = self.leader().ok_or("no leader")?;
        let wanted = self
            .ask_members(leader)
            .map(sorted)
            .map_err(|e| format!("CLUSTER from leader {leader}: {e}"))?;
        // (index, raft id) of the nodes that may take leadership.
        let candidates: Vec<(usize, u64)> = match to {
            Some(index) => vec![(index, self.id_of(index).map_err(|e| e.to_string())?)],
            None => wanted
                .iter()
                .filter(|m| m.role == Role::Voter)
                .filter_map(|m| {
                    let node = self.nodes.iter().find(|n| n.address() == m.address)?;
                    (node.index != leader && node.state() == NodeState::Running)
                        .then_some((node.index, m.id))
                })
                .collect(),
        };
        if candidates.is_empty() {
            return Ok(0);
        }
        let mut seen = Vec::new();
        for (index, id) in candidates {
            match self.ask_members(index).map(sorted) {
                Ok(members) if members == wanted => return Ok(id),
                Ok(members) => seen.push(format!("node {index} has {members:?}")),
                Err(e) => seen.push(format!("node {index}: {e}")),
            }
        }
        Err(format!(
            "leader {leader} has {wanted:?}; {}",
            seen.join("; ")
        ))
    }

    /// Whether node `index` belongs to the configuration as far as the test kit knows
    /// (dqlite-demo: always).
    pub fn is_member(&self, index: usize) -> bool {
        match self.launcher.program {
            NodeProgram::Demo => index < self.nodes.len(),
            NodeProgram::Bare => self.nodes.get(index).is_some_and(|n| n.member.is_some()),
        }
    }

    /// Indices of the nodes in the configuration (see [`TestCluster::is_member`]).
    pub fn member_indices(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| self.is_member(*i))
            .collect()
    }

    /// Restarts every member node (same ports and data), e.g. after
    /// [`TestCluster::stop`] killed them all at once. Returns once each listens.
    pub fn restart_members(&mut self) -> Result<()> {
        for index in self.member_indices() {
            self.restart(index)?;
        }
        Ok(())
    }
}
