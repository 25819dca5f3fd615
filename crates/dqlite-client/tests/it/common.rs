//! Shared set-up: a cluster per test and client configurations for it.

use std::time::Duration;

use dqlite_client::{Cluster, Config};
pub use dqlite_testkit::{ServerVersion, TestCluster};

/// Starts a cluster of `nodes` voters of the version under test.
pub fn start(nodes: usize) -> TestCluster {
    TestCluster::builder()
        .nodes(nodes)
        .start()
        .expect("start a dqlite cluster")
}

/// A client configuration for `cluster`, database `db`, with short deadlines so failing
/// tests fail fast.
pub fn config(cluster: &TestCluster, db: &str) -> Config {
    Config::new(cluster.addresses())
        .expect("addresses parse")
        .database(db)
        .request_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(20))
}

pub fn client(cluster: &TestCluster, db: &str) -> Cluster {
    Cluster::new(config(cluster, db))
}

/// True when the cluster runs dqlite 1.18 or newer (Debian 13's 1.18.1, or latest).
pub fn is_118(cluster: &TestCluster) -> bool {
    cluster.version() >= ServerVersion::V1_18
}

/// A TLS cluster (go-dqlite 2.0's `--cert/--key`), or `None` when the version under test
/// has no TLS.
pub fn start_tls(nodes: usize) -> Option<TestCluster> {
    if !ServerVersion::from_env().supports_tls() {
        return None;
    }
    Some(
        TestCluster::builder()
            .nodes(nodes)
            .tls(true)
            .start()
            .expect("start a TLS dqlite cluster"),
    )
}
