//! go-dqlite compatibility, against real clusters and go-dqlite's own programs: node
//! stores written by go-dqlite (the `cluster.yaml` of dqlite-demo's data directories, the
//! SQLite store its `dqlite` shell creates), go-dqlite's `dqlite` reading the stores this
//! shell writes, go-dqlite's command line and output, connection strings, `.import`.
//!
//! The file name contains "cluster": nextest runs these at most two at a time.

// Test helpers fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use assert_cmd::prelude::*;
use dqlite_client::{NodeStore, Role, YamlNodeStore};
use dqlite_testkit::{BOOTSTRAP_ID, ServerVersion, TestCluster};
use predicates::prelude::*;

use common::start;

/// This shell, with no server given.
fn our_shell() -> Command {
    common::shell_binary()
}

/// go-dqlite's `dqlite` shell of the cluster's server version (1.11.5 or 2.0.0 and later).
fn go_shell(cluster: &TestCluster) -> Command {
    let installation = cluster.installation();
    installation.command(&installation.demo.with_file_name("dqlite"))
}

/// The rows go-dqlite's shell printed for one query, as lists of values: 1.11.5 writes
/// them `|`-separated; 2.0 and later write a header line, then tab-aligned cells.
fn go_rows(cluster: &TestCluster, output: &Output) -> Vec<Vec<String>> {
    let text = stdout(output);
    if cluster.version() == ServerVersion::V1_11 {
        text.lines()
            .map(|l| l.split('|').map(str::to_owned).collect())
            .collect()
    } else {
        text.lines()
            .skip(1)
            .map(|l| {
                l.split('\t')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    }
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The `cluster.yaml` that dqlite-demo (go-dqlite's `app` package) keeps for node `index`.
fn demo_store(cluster: &TestCluster, index: usize) -> PathBuf {
    let data_dir = cluster.node(index).unwrap().data_dir;
    std::fs::read_dir(&data_dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("cluster.yaml"))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no cluster.yaml under {}", data_dir.display()))
}

#[test]
fn cluster_yaml_store_written_by_go_dqlite() {
    let cluster = start(3);
    let addresses = cluster.addresses();
    // The last node joined last: go-dqlite wrote every member into its store.
    let written = std::fs::read(demo_store(&cluster, 2)).unwrap();
    let store = cluster.dir().join("copy.yaml");
    std::fs::write(&store, &written).unwrap();
    let nodes = YamlNodeStore::new(&store).get().unwrap();
    let mut listed: Vec<&str> = nodes.iter().map(|n| n.address.as_str()).collect();
    listed.sort_unstable();
    let mut expected: Vec<&str> = addresses.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(listed, expected, "{}", String::from_utf8_lossy(&written));
    let first = nodes.iter().find(|n| n.address == addresses[0]).unwrap();
    assert_eq!((first.id, first.role), (BOOTSTRAP_ID, Some(Role::Voter)));

    // The shell finds the cluster through go-dqlite's file, and .cluster rewrites it.
    let out = our_shell()
        .arg("-s")
        .arg(format!("file://{}", store.display()))
        .args([
            "app",
            "-c",
            "CREATE TABLE t (n)",
            "-c",
            "INSERT INTO t VALUES (1)",
        ])
        .args(["-c", ".cluster"])
        .output()
        .unwrap();
    let members = stdout(&out);
    assert_eq!(members.lines().count(), 3, "{members}");
    let rewritten = std::fs::read_to_string(&store).unwrap();
    assert!(
        rewritten.starts_with(&format!(
            "- ID: {BOOTSTRAP_ID}\n  Address: {}\n  Role: 0\n",
            addresses[0]
        )),
        "{rewritten}"
    );
    assert_eq!(rewritten.matches("  Role: 0\n").count(), 3, "{rewritten}");

    // go-dqlite's own shell reads the file this shell wrote.
    let out = go_shell(&cluster)
        .arg("-s")
        .arg(format!("file://{}", store.display()))
        .args(["app", "SELECT count(*) FROM t"])
        .output()
        .unwrap();
    assert_eq!(go_rows(&cluster, &out), [["1"]]);

    // DQLITE_SERVERS may name the store too.
    let out = our_shell()
        .env("DQLITE_SERVERS", format!("file://{}", store.display()))
        .args(["app", "-c", "SELECT count(*) FROM t"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "1\n");

    // A missing store is an error, as in go-dqlite; so is mixing a store with addresses.
    our_shell()
        .args(["-s", "file:///no/such/cluster.yaml", "-c", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/no/such/cluster.yaml"));
    our_shell()
        .arg("-s")
        .arg(format!("file://{}", store.display()))
        .args(["-s", &addresses[0], "-c", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be mixed"));
    our_shell()
        .args([
            "-s",
            &addresses[0],
            "-s",
            &format!("dqlite://{}/app", addresses[1]),
        ])
        .args(["-c", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be mixed"));
}

/// go-dqlite's `dqlite` shell creates the SQLite store's schema when it opens a file that
/// does not end in `.yaml`; it then waits for a leader forever, so it is stopped once the
/// table is there.
fn sqlite_store_created_by_go_dqlite(cluster: &TestCluster, path: &Path) {
    std::fs::write(path, b"").unwrap();
    let mut child = go_shell(cluster)
        .arg("-s")
        .arg(format!("file://{}", path.display()))
        .args(["app", "SELECT 1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let schema = loop {
        let found = rusqlite::Connection::open(path).ok().and_then(|c| {
            c.query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'servers'",
                [],
                |r| r.get::<_, String>(0),
            )
            .ok()
        });
        if let Some(schema) = found {
            break schema;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "go-dqlite did not create the store"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        schema,
        "CREATE TABLE servers (address TEXT, UNIQUE(address))"
    );
}

#[test]
fn cluster_sqlite_store_of_go_dqlite() {
    let cluster = start(3);
    let addresses = cluster.addresses();
    let path = cluster.dir().join("servers.db");
    sqlite_store_created_by_go_dqlite(&cluster, &path);
    // Rows as go-dqlite's DatabaseNodeStore.Set writes them (its two statements, in one
    // transaction): go-dqlite's tools never fill the table themselves.
    let mut db = rusqlite::Connection::open(&path).unwrap();
    let tx = db.transaction().unwrap();
    tx.execute("DELETE FROM main.servers", []).unwrap();
    tx.execute(
        "INSERT INTO main.servers(address) VALUES (?)",
        [&addresses[1]],
    )
    .unwrap();
    tx.commit().unwrap();
    drop(db);

    let out = our_shell()
        .arg("-s")
        .arg(format!("file://{}", path.display()))
        .args([
            "app",
            "-c",
            "CREATE TABLE t (n)",
            "-c",
            "INSERT INTO t VALUES (7)",
        ])
        .args(["-c", ".cluster", "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).lines().count(), 3);
    let db = rusqlite::Connection::open(&path).unwrap();
    let mut stored: Vec<String> = db
        .prepare("SELECT address FROM servers")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    stored.sort_unstable();
    let mut expected = addresses.clone();
    expected.sort_unstable();
    assert_eq!(stored, expected, ".cluster refreshed the store");

    // go-dqlite's shell reads the rows this shell wrote.
    let out = go_shell(&cluster)
        .arg("-s")
        .arg(format!("file://{}", path.display()))
        .args(["app", "SELECT n FROM t"])
        .output()
        .unwrap();
    assert_eq!(go_rows(&cluster, &out), [["7"]]);

    // A file that is not a database is a clear error.
    let bogus = cluster.dir().join("bogus.db");
    std::fs::write(
        &bogus,
        "not a database, only text: long enough to have a header",
    )
    .unwrap();
    our_shell()
        .arg("-s")
        .arg(format!("file://{}", bogus.display()))
        .args(["-c", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bogus.db"));
}

/// go-dqlite's command line (`-f tabular`, the command after the database) gives the
/// values go-dqlite's shell prints; with 1.11.5's shell, the same bytes.
#[test]
fn cluster_go_dqlite_command_line_and_output() {
    let cluster = start(1);
    let address = cluster.addresses().remove(0);
    let sql = "CREATE TABLE g (a, b); INSERT INTO g VALUES (1, 'x'), (2.5, 'y z')";
    stdout(
        &our_shell()
            .args(["-s", &address, "g", sql])
            .output()
            .unwrap(),
    );
    let query = "SELECT a, b FROM g ORDER BY a";
    let go = go_shell(&cluster)
        .args(["-s", &address, "-f", "tabular", "g", query])
        .output()
        .unwrap();
    let ours = stdout(
        &our_shell()
            .args(["-s", &address, "-f", "tabular", "g", query])
            .output()
            .unwrap(),
    );
    assert_eq!(ours, "1|x\n2.5|y z\n");
    assert_eq!(go_rows(&cluster, &go), [["1", "x"], ["2.5", "y z"]]);
    if cluster.version() == ServerVersion::V1_11 {
        assert_eq!(stdout(&go), ours);
    }
    // The same through a connection string and the environment.
    let out = our_shell()
        .env("DQLITE_SERVERS", format!("dqlite://{address}/g?timeout=5s"))
        .args(["-c", "SELECT count(*) FROM g"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "2\n");
    let out = our_shell()
        .env("DQLITE_SERVERS", &address)
        .env("DQLITE_DATABASE", "g")
        .args(["-c", "SELECT count(*) FROM g"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "2\n");
    // The command line names the database over the connection string.
    let out = our_shell()
        .args(["-s", &format!("dqlite://{address}/elsewhere"), "g"])
        .args(["-c", "SELECT count(*) FROM g"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "2\n");
    our_shell()
        .args(["-s", &format!("dqlite://{address}/g?timeout=never")])
        .args(["-c", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("timeout"));
}

#[test]
fn cluster_import_csv() {
    let cluster = start(1);
    let address = cluster.addresses().remove(0);
    let csv = cluster.dir().join("people.csv");
    std::fs::write(
        &csv,
        "name,age,note\r\n\"Doe, Jane\",41,\"two\nlines\"\nbob,7,\n\"o\"\"neil\",x\n",
    )
    .unwrap();
    let import = format!(".import --csv {} people", csv.display());
    let out = our_shell()
        .args(["-s", &address, "imp", "-c", &import])
        .args(["-c", ".mode json", "-c", "SELECT * FROM people"])
        .args(["-c", "SELECT typeof(age) FROM people LIMIT 1"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "[{\"name\":\"Doe, Jane\",\"age\":\"41\",\"note\":\"two\\nlines\"},\n\
         {\"name\":\"bob\",\"age\":\"7\",\"note\":\"\"},\n\
         {\"name\":\"o\\\"neil\",\"age\":\"x\",\"note\":null}]\n\
         [{\"typeof(age)\":\"text\"}]\n"
    );
    let warnings = String::from_utf8(out.stderr).unwrap();
    assert!(
        warnings.contains("people.csv:5: expected 3 columns but found 2"),
        "{warnings}"
    );

    // Into an existing table, in csv mode, skipping the header: the columns' affinity
    // applies. A failing row leaves the table as it was.
    let out = our_shell()
        .args([
            "-s",
            &address,
            "imp",
            "-c",
            "CREATE TABLE n (v INTEGER NOT NULL)",
        ])
        .args(["-c", ".mode csv"])
        .output()
        .unwrap();
    stdout(&out);
    let numbers = cluster.dir().join("n.csv");
    std::fs::write(&numbers, "v\n1\n2\n").unwrap();
    let import = format!(".import --skip 1 {} n", numbers.display());
    let out = our_shell()
        .args(["-s", &address, "imp", "-c", ".mode csv", "-c", &import])
        .args(["-c", "SELECT sum(v), typeof(v) FROM n"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "3,integer\r\n");
    std::fs::write(&numbers, "5\n6\n7,8\n,\n").unwrap();
    let bad = our_shell()
        .args([
            "-s",
            &address,
            "imp",
            "-c",
            "CREATE TABLE m (v NOT NULL, w CHECK (w <> ''))",
        ])
        .args(["-c", &format!(".import --csv {} m", numbers.display())])
        .args(["-c", "SELECT count(*) FROM m"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(String::from_utf8(bad.stdout).unwrap(), "0\n");
    // Inside the user's transaction, the import is part of it.
    let out = our_shell()
        .args(["-s", &address, "imp", "-c", "BEGIN"])
        .args(["-c", &format!(".import --csv {} later", csv.display())])
        .args(["-c", "SELECT count(*) FROM later", "-c", "ROLLBACK"])
        .args([
            "-c",
            "SELECT count(*) FROM sqlite_master WHERE name = 'later'",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "3\n0\n");
    our_shell()
        .args(["-s", &address, "imp", "-c", ".import /no/such.csv t"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/no/such.csv"));
}
