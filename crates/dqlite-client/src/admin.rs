//! Cluster administration: membership, roles, leadership transfer, node metadata, dumps.
//!
//! These are methods of [`Connection`]. Membership changes (`add`, `assign`, `remove`,
//! `transfer`) must be sent to the leader: use a connection from
//! [`Cluster::connect_leader`](crate::Cluster::connect_leader). `describe`, `set_weight`
//! and `dump` act on the node the connection talks to.
//!
//! A change whose answer is lost once it was sent (the connection failed, the request
//! deadline passed, the leader lost leadership) is reported as
//! [`Error::OutcomeUnknown`], as a write is: the leader may have applied it, and may still
//! (a promotion to voter completes when the node has caught up). Read the membership
//! ([`Connection::cluster`]) before asking again. Nothing is retried.

use bytes::Bytes;
use dqlite_wire::Request;

use crate::cluster::Role;
use crate::conn::Connection;
use crate::error::{Error, Result};

/// A node's metadata, as DESCRIBE reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeMetadata {
    /// The node's failure domain.
    pub failure_domain: u64,
    /// The node's weight (lower is preferred when roles are rebalanced).
    pub weight: u64,
}

/// One file of a database dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpFile {
    /// The file's name: the database name, or the database name plus `-wal`.
    pub name: String,
    /// The file's bytes.
    pub data: Bytes,
}

pub use crate::limits::MAX_DUMP_LEN;

/// A role as the shell and the error messages name it.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Voter => "voter",
        Role::Standby => "standby",
        Role::Spare => "spare",
    }
}

/// Refuses node id 0 for ADD, ASSIGN and REMOVE: Raft has no node 0 (it means "none"),
/// and dqlite 1.18 aborts on it (`configurationGet: Assertion 'id > 0' failed`), while
/// 1.11 adds it to the configuration.
fn member_id(id: u64, what: &str) -> Result<()> {
    if id == 0 {
        return Err(Error::InvalidInput(format!(
            "cannot {what} node 0: node ids start at 1"
        )));
    }
    Ok(())
}

impl Connection {
    /// Adds node `id` at `address` to the cluster as a spare (leader only). Follow with
    /// [`assign_role`](Self::assign_role) to make it a standby or voter.
    pub async fn add_node(&mut self, id: u64, address: &str) -> Result<()> {
        member_id(id, "add")?;
        self.expect_changed(&Request::Add { id, address }, "add")
            .await
    }

    /// Gives node `id` a role (leader only). Making a node a voter waits until it has
    /// caught up with the log.
    ///
    /// Refuses ([`Error::InvalidInput`], nothing changed) to make the cluster's last voter
    /// a standby or a spare: a cluster without a voter never elects a leader again, and
    /// nothing brings it back short of rewriting its configuration on disk. The membership
    /// is read first (one more round trip). [`assign_role_unchecked`](Self::assign_role_unchecked)
    /// does it anyway.
    pub async fn assign_role(&mut self, id: u64, role: Role) -> Result<()> {
        member_id(id, "assign a role to")?;
        if role != Role::Voter {
            self.keeps_a_voter(
                id,
                &format!("make node {id} a {}", role_name(role)),
                "assign_role_unchecked",
            )
            .await?;
        }
        self.assign_role_unchecked(id, role).await
    }

    /// [`assign_role`](Self::assign_role) without the check that a voter is left: the
    /// cluster's last voter made a standby or spare leaves the cluster without a leader
    /// for good.
    pub async fn assign_role_unchecked(&mut self, id: u64, role: Role) -> Result<()> {
        member_id(id, "assign a role to")?;
        self.expect_changed(
            &Request::Assign {
                id,
                role: Some(role),
            },
            "assign",
        )
        .await
    }

    /// Removes node `id` from the cluster (leader only; transfer leadership away before
    /// removing the leader itself).
    ///
    /// Refuses ([`Error::InvalidInput`], nothing changed) to remove the cluster's last
    /// voter, which would leave it without a leader for good (see
    /// [`assign_role`](Self::assign_role)). [`remove_node_unchecked`](Self::remove_node_unchecked)
    /// does it anyway.
    pub async fn remove_node(&mut self, id: u64) -> Result<()> {
        member_id(id, "remove")?;
        self.keeps_a_voter(id, &format!("remove node {id}"), "remove_node_unchecked")
            .await?;
        self.remove_node_unchecked(id).await
    }

    /// [`remove_node`](Self::remove_node) without the check that a voter is left.
    pub async fn remove_node_unchecked(&mut self, id: u64) -> Result<()> {
        member_id(id, "remove")?;
        self.expect_changed(&Request::Remove { id }, "remove").await
    }

    /// Fails when node `id` is the only voter of the configuration the leader reports:
    /// taking its vote away (`what`) would leave the cluster without a leader for good.
    /// `unchecked` names the call that does it anyway.
    async fn keeps_a_voter(&mut self, id: u64, what: &str, unchecked: &str) -> Result<()> {
        let members = self.cluster().await?;
        let mut voters = members.iter().filter(|n| n.role == Some(Role::Voter));
        if let (Some(only), None) = (voters.next(), voters.next())
            && only.id == id
        {
            return Err(Error::InvalidInput(format!(
                "refusing to {what}: it is the cluster's last voter, and a cluster without \
                 a voter never elects a leader again; make another node a voter first, or \
                 force the change ({unchecked})"
            )));
        }
        Ok(())
    }

    /// Transfers leadership to voter `id`, or to a voter the server picks when `id` is
    /// `None` (leader only). This connection's node is no longer leader afterwards.
    pub async fn transfer_leadership(&mut self, id: Option<u64>) -> Result<()> {
        self.expect_changed(
            &Request::Transfer {
                id: id.unwrap_or(0),
            },
            "transfer",
        )
        .await
    }

    /// This node's failure domain and weight.
    pub async fn describe(&mut self) -> Result<NodeMetadata> {
        // Format 0 is the only one: any other crashes servers (docs/protocol.md §10.3).
        match self
            .request(&Request::Describe { format: 0 }, "describe")
            .await?
        {
            dqlite_wire::Response::Metadata {
                failure_domain,
                weight,
            } => Ok(NodeMetadata {
                failure_domain,
                weight,
            }),
            other => {
                Err(self.protocol_violation(format!("expected METADATA, got {}", other.name())))
            }
        }
    }

    /// Sets this node's weight.
    pub async fn set_weight(&mut self, weight: u64) -> Result<()> {
        self.expect_changed(&Request::Weight { weight }, "weight")
            .await
    }

    /// The files of database `name` as this node holds them (the main file and its WAL).
    /// Servers before 1.18.3 return two empty files for an unknown database.
    pub async fn dump(&mut self, name: &str) -> Result<Vec<DumpFile>> {
        // A dump carries the whole database in one frame: the cap is lifted for its reply
        // alone, not for the drain of an abandoned result or a pending ROLLBACK before it.
        let deadline = self.deadline();
        self.recover_by(deadline).await?;
        let cap = self.max_frame_len.max(MAX_DUMP_LEN);
        match self
            .exchange_with_cap(&Request::Dump { name }, "dump", cap, deadline)
            .await?
        {
            dqlite_wire::Response::Files(files) => Ok(files
                .into_iter()
                .map(|f| DumpFile {
                    name: f.name.to_string(),
                    data: f.data,
                })
                .collect()),
            other => Err(self.protocol_violation(format!("expected FILES, got {}", other.name()))),
        }
    }

    /// Sends a change of the cluster (membership, leadership, weight) and expects EMPTY. A
    /// change is a write: once its request left whole, a failure (a deadline, a broken
    /// link, leadership lost) leaves it in doubt, [`Error::OutcomeUnknown`], as for a
    /// statement.
    async fn expect_changed(&mut self, request: &Request<'_>, what: &str) -> Result<()> {
        match self.request_change(request, what).await? {
            dqlite_wire::Response::Empty => Ok(()),
            other => {
                let e = self.protocol_violation(format!("expected EMPTY, got {}", other.name()));
                Err(self.write_failed(e, true))
            }
        }
    }
}
