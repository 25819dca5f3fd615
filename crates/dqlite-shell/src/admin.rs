//! Cluster dot-commands: membership, roles, leadership, node metadata, backups.
//!
//! Each opens its own short-lived connection (to the leader, or to the node named), so
//! they work without a database and do not disturb the shell's SQL connection. Tables go
//! to the output in the current mode (`.mode json` then `.cluster` gives JSON);
//! confirmations go to stderr.

use std::path::Path;

use dqlite_client::blocking::Connection;
use dqlite_client::{Role, Value};

use crate::backup;
use crate::error::ShellError;
use crate::output::print_all;
use crate::shell::Shell;

fn role_name(role: Option<Role>) -> &'static str {
    match role {
        Some(Role::Voter) => "voter",
        Some(Role::Standby) => "standby",
        Some(Role::Spare) => "spare",
        None => "unknown",
    }
}

fn parse_role(text: &str) -> Result<Role, ShellError> {
    match text.to_ascii_lowercase().as_str() {
        "voter" => Ok(Role::Voter),
        "standby" => Ok(Role::Standby),
        "spare" => Ok(Role::Spare),
        _ => Err(ShellError::usage(format!(
            "unknown role {text:?}: choose voter, standby or spare"
        ))),
    }
}

/// A node id in decimal or `0x` hex.
fn parse_id(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn to_leader(shell: &Shell) -> Result<Connection, ShellError> {
    Ok(shell.cluster.connect_leader()?)
}

/// The id of `node`: an id (decimal, or hex with `0x`), or the address of a member, or
/// an id in hex without `0x` as go-dqlite prints them.
fn resolve(conn: &mut Connection, node: &str) -> Result<u64, ShellError> {
    if let Some(id) = parse_id(node) {
        return Ok(id);
    }
    let members = conn.cluster()?;
    if let Some(member) = members.iter().find(|m| m.address == node) {
        return Ok(member.id);
    }
    u64::from_str_radix(node, 16).map_err(|_| {
        ShellError::usage(format!(
            "{node:?} is neither a node id nor the address of a member"
        ))
    })
}

/// `.cluster`: the members with their roles. Refreshes the node-store file, if any.
pub fn cluster(shell: &mut Shell) -> Result<(), ShellError> {
    let nodes = to_leader(shell)?.cluster()?;
    let rows: Vec<Vec<Value>> = nodes
        .iter()
        .map(|n| {
            vec![
                Value::Text(n.id.to_string()),
                Value::Text(n.address.clone()),
                Value::Text(role_name(n.role).into()),
            ]
        })
        .collect();
    print_all(
        &shell.settings,
        &mut shell.out,
        &["id", "address", "role"],
        &rows,
    )?;
    if let Some(store) = &shell.store {
        store.open()?.set(nodes)?;
    }
    Ok(())
}

/// `.leader`: the leader's id and address.
pub fn leader(shell: &mut Shell) -> Result<(), ShellError> {
    let Some((id, address)) = to_leader(shell)?.leader()? else {
        return Err(ShellError::usage("the cluster has no leader right now"));
    };
    print_all(
        &shell.settings,
        &mut shell.out,
        &["id", "address"],
        &[vec![Value::Text(id.to_string()), Value::Text(address)]],
    )?;
    Ok(())
}

/// A connection to `address`, or to the leader when there is none.
fn node(shell: &Shell, address: Option<&str>) -> Result<(Connection, String), ShellError> {
    match address {
        Some(address) => Ok((
            Connection::to_node(address, &shell.config)?,
            address.to_owned(),
        )),
        None => {
            let conn = to_leader(shell)?;
            let address = conn.as_async().address().to_string();
            Ok((conn, address))
        }
    }
}

/// `.describe [ADDRESS]`: a node's failure domain and weight.
pub fn describe(shell: &mut Shell, address: Option<&str>) -> Result<(), ShellError> {
    let (mut conn, address) = node(shell, address)?;
    let meta = conn.describe()?;
    let as_value = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    print_all(
        &shell.settings,
        &mut shell.out,
        &["address", "failure_domain", "weight"],
        &[vec![
            Value::Text(address),
            as_value(meta.failure_domain),
            as_value(meta.weight),
        ]],
    )?;
    Ok(())
}

/// `.weight N [ADDRESS]`: sets a node's weight.
pub fn weight(shell: &mut Shell, weight: &str, address: Option<&str>) -> Result<(), ShellError> {
    let weight: u64 = weight
        .parse()
        .map_err(|_| ShellError::usage(format!("not a weight: {weight:?}")))?;
    let (mut conn, address) = node(shell, address)?;
    conn.set_weight(weight)?;
    eprintln!("weight of {address} set to {weight}");
    Ok(())
}

/// `.add ID ADDRESS`: adds a node, which joins as a spare.
pub fn add(shell: &mut Shell, id: &str, address: &str) -> Result<(), ShellError> {
    let id = parse_id(id).ok_or_else(|| ShellError::usage(format!("not a node id: {id:?}")))?;
    to_leader(shell)?.add_node(id, address)?;
    eprintln!(
        "node {id} added at {address} as a spare; make it replicate with \
         \".assign {id} standby\" or vote with \".assign {id} voter\""
    );
    Ok(())
}

/// The client's refusal to take the last voter's vote, worded for the shell (its message
/// names the Rust call that forces the change; here it is `--force`).
fn refused(error: dqlite_client::Error) -> ShellError {
    match error {
        dqlite_client::Error::InvalidInput(message) => {
            ShellError::usage(match message.rsplit_once(" (") {
                Some((text, _)) => format!("{text} (add --force)"),
                None => message,
            })
        }
        other => other.into(),
    }
}

/// `.assign NODE ROLE [--force]`: gives a node a role. Making the last voter a standby or
/// spare is refused without `--force`: the cluster would have no leader for good.
pub fn assign(shell: &mut Shell, node: &str, role: &str, force: bool) -> Result<(), ShellError> {
    let role = parse_role(role)?;
    let mut conn = to_leader(shell)?;
    let id = resolve(&mut conn, node)?;
    if force {
        conn.assign_role_unchecked(id, role)?;
    } else {
        conn.assign_role(id, role).map_err(refused)?;
    }
    eprintln!("node {id} is now a {}", role_name(Some(role)));
    Ok(())
}

/// `.remove NODE [--force]`: removes a node from the cluster. Removing the last voter is
/// refused without `--force`: the cluster would have no leader for good.
pub fn remove(shell: &mut Shell, node: &str, force: bool) -> Result<(), ShellError> {
    let mut conn = to_leader(shell)?;
    let id = resolve(&mut conn, node)?;
    if force {
        conn.remove_node_unchecked(id)?;
    } else {
        conn.remove_node(id).map_err(refused)?;
    }
    eprintln!("node {id} removed");
    Ok(())
}

/// `.transfer [NODE]`: hands leadership over, then reconnects the shell to the new
/// leader.
pub fn transfer(shell: &mut Shell, node: Option<&str>) -> Result<(), ShellError> {
    let mut conn = to_leader(shell)?;
    let id = match node {
        Some(node) => Some(resolve(&mut conn, node)?),
        None => None,
    };
    conn.transfer_leadership(id)?;
    drop(conn);
    if shell.worker.disconnect() {
        eprintln!(
            "warning: the shell's open transaction was rolled back with its connection; \
             statements are refused until ROLLBACK"
        );
    }
    shell.cluster.as_async().forget_leader();
    match to_leader(shell)?.leader()? {
        Some((id, address)) => eprintln!("leadership transferred to node {id} at {address}"),
        None => eprintln!("leadership transferred; no leader is known yet"),
    }
    Ok(())
}

/// `.backup FILE`: the database as one SQLite file, from the leader's DUMP.
pub fn backup(shell: &mut Shell, path: &Path) -> Result<(), ShellError> {
    let wal_path = path.with_file_name(format!(
        "{}-wal",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    if wal_path.exists() {
        return Err(ShellError::usage(format!(
            "{} exists and would be read as this file's WAL; remove it first",
            wal_path.display()
        )));
    }
    // Opening the database on the leader makes sure it is there to dump.
    shell.query("SELECT 1", Vec::new())?;
    let database = shell.database().to_owned();
    let files = to_leader(shell)?.dump(&database)?;
    let find = |name: &str| {
        files
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.data.as_ref())
    };
    let main = find(&database).unwrap_or_default();
    let wal = find(&format!("{database}-wal")).unwrap_or_default();
    let image = backup::database_image(main, wal)
        .map_err(|e| ShellError::usage(format!("cannot back up {database:?}: {e}")))?;
    // Mode as any file the shell writes (the umask decides), not the node store's 0600.
    dqlite_client::file::write_atomically(path, &image, None)
        .map_err(|e| ShellError::file(format!("cannot write {}", path.display()), e))?;
    eprintln!(
        "backed up database {database:?} to {} ({} bytes)",
        path.display(),
        image.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_roles() {
        assert_eq!(parse_id("42"), Some(42));
        assert_eq!(parse_id("0x2a"), Some(42));
        assert_eq!(parse_id("127.0.0.1:9001"), None);
        assert_eq!(parse_role("Standby").unwrap(), Role::Standby);
        assert!(parse_role("boss").is_err());
        assert_eq!(role_name(Some(Role::Spare)), "spare");
    }
}
