//! Helpers shared by the shell's integration tests.

// Test helpers fail loudly; not every test file uses every helper.
#![allow(clippy::expect_used, dead_code)]

use std::process::Command;

use dqlite_testkit::TestCluster;

/// Every `DQLITE_*` variable the shell reads for its connection.
pub const CONNECTION_VARS: [&str; 9] = [
    "DQLITE_SERVERS",
    "DQLITE_DATABASE",
    "DQLITE_TIMEOUT",
    "DQLITE_CONNECT_TIMEOUT",
    "DQLITE_DIAL_TIMEOUT",
    "DQLITE_BUSY_TIMEOUT",
    "DQLITE_TLS_CERT",
    "DQLITE_TLS_KEY",
    "DQLITE_TLS_CA",
];

/// A cluster of `nodes` nodes of the server version under test.
pub fn start(nodes: usize) -> TestCluster {
    TestCluster::builder()
        .nodes(nodes)
        .start()
        .expect("start a dqlite cluster")
}

/// The shell binary, with none of the `DQLITE_*` connection variables of the test's
/// environment.
pub fn shell_binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dqlite-shell"));
    for var in CONNECTION_VARS {
        cmd.env_remove(var);
    }
    cmd
}
