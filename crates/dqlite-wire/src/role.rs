//! Node roles and cluster membership entries.

use crate::error::DecodeError;

/// A node's role in the Raft configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Votes and replicates; only voters can lead.
    Voter,
    /// Replicates the log but does not vote.
    Standby,
    /// Neither votes nor replicates.
    Spare,
}

impl Role {
    /// The wire code (0, 1 or 2).
    pub fn code(self) -> u64 {
        match self {
            Role::Voter => 0,
            Role::Standby => 1,
            Role::Spare => 2,
        }
    }

    /// The role for a wire code.
    pub fn from_code(code: u64) -> Result<Role, DecodeError> {
        match code {
            0 => Ok(Role::Voter),
            1 => Ok(Role::Standby),
            2 => Ok(Role::Spare),
            value => Err(DecodeError::InvalidField {
                what: "node role",
                value,
            }),
        }
    }

    /// Lower-case name: "voter", "standby" or "spare".
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Voter => "voter",
            Role::Standby => "standby",
            Role::Spare => "spare",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        match s.to_ascii_lowercase().as_str() {
            "voter" => Ok(Role::Voter),
            "standby" => Ok(Role::Standby),
            "spare" => Ok(Role::Spare),
            _ => Err(format!(
                "unknown role {s:?}: expected voter, standby or spare"
            )),
        }
    }
}

/// One member of the cluster, as CLUSTER reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    /// Raft node id.
    pub id: u64,
    /// The node's advertised address.
    pub address: String,
    /// Its role; `None` in format 0 replies, which carry no role.
    pub role: Option<Role>,
}
