//! Node stores written by go-dqlite itself: `tests/fixtures/go-dqlite-1.11.5/` holds the
//! YAML and SQLite stores that go-dqlite 1.11.5's `client.DefaultNodeStore(...).Set(...)`
//! wrote (`write_stores.go` there, built against Debian 12's go-dqlite sources), with
//! addresses that go's YAML encoder writes plain, single-quoted and double-quoted. The
//! stores are read as go-dqlite wrote them, and written back the same way.
//! (`cluster_go_compat.rs` does the same with stores from running go-dqlite programs.)

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use dqlite_client::{NodeInfo, NodeStore, Role, SqliteNodeStore, YamlNodeStore};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/go-dqlite-1.11.5")
        .join(name)
}

/// The nodes `write_stores.go` stores.
fn written_by_go() -> Vec<NodeInfo> {
    let node = |id, address: &str, role| NodeInfo {
        id,
        address: address.into(),
        role: Some(role),
    };
    vec![
        node(3297041220608546238, "127.0.0.1:9001", Role::Voter),
        node(17487065021036315201, "[::1]:9002", Role::Standby),
        node(5, "@dqlite-3", Role::Spare),
        node(6, "1:20", Role::Voter),
        node(7, "node-5.example:9005", Role::Spare),
    ]
}

/// The address scalars of a YAML store, as written.
fn address_scalars(yaml: &str) -> Vec<&str> {
    yaml.lines()
        .filter_map(|l| l.trim_start_matches(['-', ' ']).strip_prefix("Address: "))
        .collect()
}

#[test]
fn yaml_store_written_by_go_dqlite() {
    let go_text = std::fs::read_to_string(fixture("cluster.yaml")).unwrap();
    let nodes = YamlNodeStore::new(fixture("cluster.yaml")).get().unwrap();
    assert_eq!(nodes, written_by_go());
    // Written back, each address is quoted exactly as go-dqlite quoted it.
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("cluster.yaml");
    YamlNodeStore::new(&ours).set(nodes).unwrap();
    let our_text = std::fs::read_to_string(&ours).unwrap();
    assert_eq!(address_scalars(&our_text), address_scalars(&go_text));
    assert_eq!(
        address_scalars(&go_text),
        [
            "127.0.0.1:9001",
            "'[::1]:9002'",
            "'@dqlite-3'",
            "\"1:20\"",
            "node-5.example:9005"
        ]
    );
    assert_eq!(YamlNodeStore::new(&ours).get().unwrap(), written_by_go());
}

#[test]
fn sqlite_store_written_by_go_dqlite() {
    // Opened on a copy: opening runs go-dqlite's CREATE TABLE IF NOT EXISTS.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("servers.db");
    std::fs::copy(fixture("servers.db"), &copy).unwrap();
    let store = SqliteNodeStore::open(&copy).unwrap();
    let addresses: Vec<String> = store
        .get()
        .unwrap()
        .into_iter()
        .map(|n| n.address)
        .collect();
    let expected: Vec<String> = written_by_go().into_iter().map(|n| n.address).collect();
    assert_eq!(addresses, expected);

    // Written back, the table holds what go-dqlite's Set left in it.
    let ours = dir.path().join("ours.db");
    SqliteNodeStore::open(&ours)
        .unwrap()
        .set(written_by_go())
        .unwrap();
    let rows = |path: &Path| -> Vec<(i64, String)> {
        let db = rusqlite::Connection::open(path).unwrap();
        let mut statement = db
            .prepare("SELECT rowid, address FROM servers ORDER BY rowid")
            .unwrap();
        statement
            .query_map([], |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(rows(&ours), rows(&fixture("servers.db")));
    let schema = |path: &Path| -> String {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'servers'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(schema(&ours), schema(&fixture("servers.db")));
}
