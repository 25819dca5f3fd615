//! go-dqlite's SQLite node store (see [`SqliteNodeStore`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::cluster::{NodeInfo, NodeStore};
use crate::error::Result;
use crate::store::store_error;

/// The statement go-dqlite runs on every open.
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS servers (address TEXT, UNIQUE(address))";

/// How long a read or write waits for another process's lock on the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A node store in go-dqlite's SQLite format: what go-dqlite's `client.DefaultNodeStore`
/// opens for a file name that does not end in `.yaml` (and so what `dqlite -s
/// file://NAME` reads).
///
/// The file is an SQLite database with one table, created by go-dqlite (and by
/// [`open`](Self::open)) as
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS servers (address TEXT, UNIQUE(address))
/// ```
///
/// It keeps addresses only: go-dqlite reads every node back with id 1 and the voter role;
/// this store reads them back with id 0 and no role (unknown), which leader discovery
/// treats alike. A write replaces every row in one transaction, as go-dqlite's does.
///
/// Each call opens the file, so the store may be shared with a go-dqlite program.
#[derive(Debug, Clone)]
pub struct SqliteNodeStore {
    path: PathBuf,
}

impl SqliteNodeStore {
    /// Opens (or creates) the store at `path`, creating its `servers` table when missing,
    /// as go-dqlite does.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let store = SqliteNodeStore {
            path: path.as_ref().to_path_buf(),
        };
        store.connect()?;
        Ok(store)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(|e| self.error(&e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| conn.execute(CREATE_TABLE, []))
            .map_err(|e| self.error(&e))?;
        Ok(conn)
    }

    fn error(&self, e: &rusqlite::Error) -> crate::Error {
        store_error(&self.path, &e.to_string())
    }
}

impl NodeStore for SqliteNodeStore {
    fn get(&self) -> Result<Vec<NodeInfo>> {
        let conn = self.connect()?;
        let mut statement = conn
            .prepare("SELECT address FROM main.servers")
            .map_err(|e| self.error(&e))?;
        let addresses = statement
            .query_map([], |row| row.get::<_, Option<String>>(0))
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(|e| self.error(&e))?;
        Ok(addresses
            .into_iter()
            .flatten()
            .filter(|a| !a.is_empty())
            .map(|address| NodeInfo {
                id: 0,
                address,
                role: None,
            })
            .collect())
    }

    fn set(&self, nodes: Vec<NodeInfo>) -> Result<()> {
        let mut conn = self.connect()?;
        let tx = conn.transaction().map_err(|e| self.error(&e))?;
        tx.execute("DELETE FROM main.servers", [])
            .map_err(|e| self.error(&e))?;
        {
            // The table holds each address once; a repeated one is stored once.
            let mut insert = tx
                .prepare("INSERT OR IGNORE INTO main.servers(address) VALUES (?)")
                .map_err(|e| self.error(&e))?;
            for node in &nodes {
                insert
                    .execute([&node.address])
                    .map_err(|e| self.error(&e))?;
            }
        }
        tx.commit().map_err(|e| self.error(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Role;

    #[test]
    fn round_trips_addresses_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("servers.db");
        let store = SqliteNodeStore::open(&path).unwrap();
        assert!(store.get().unwrap().is_empty());
        let nodes = vec![
            NodeInfo {
                id: 7,
                address: "127.0.0.1:9001".into(),
                role: Some(Role::Spare),
            },
            NodeInfo {
                id: 8,
                address: "@abstract".into(),
                role: None,
            },
            NodeInfo {
                id: 9,
                address: "127.0.0.1:9001".into(),
                role: None,
            },
        ];
        store.set(nodes).unwrap();
        let back: Vec<String> = store
            .get()
            .unwrap()
            .into_iter()
            .map(|n| n.address)
            .collect();
        assert_eq!(back, ["127.0.0.1:9001", "@abstract"]);
        let conn = Connection::open(&path).unwrap();
        let schema: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'servers'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            schema,
            "CREATE TABLE servers (address TEXT, UNIQUE(address))"
        );
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("servers.db");
        std::fs::write(&path, b"this is not an SQLite database, just some text....").unwrap();
        let err = SqliteNodeStore::open(&path).unwrap_err();
        assert!(
            matches!(&err, crate::Error::Config(m) if m.contains("servers.db")),
            "{err}"
        );
        // A table of another shape is refused, not misread.
        let path = dir.path().join("other.db");
        Connection::open(&path)
            .unwrap()
            .execute("CREATE TABLE servers (id INTEGER)", [])
            .unwrap();
        assert!(SqliteNodeStore::open(&path).unwrap().get().is_err());
    }
}
