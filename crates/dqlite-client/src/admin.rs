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
    pub async fn assign_role(&mut self, id: u64, role: Role) -> Result<()> {
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
    pub async fn remove_node(&mut self, id: u64) -> Result<()> {
        member_id(id, "remove")?;
        self.expect_changed(&Request::Remove { id }, "remove").await
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
