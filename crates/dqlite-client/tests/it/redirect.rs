//! Redirect policies against a real cluster: the leader a node names is vetted before it
//! is dialed, and a refusal ends discovery at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dqlite_client::{Cluster, Error, ErrorKind, RedirectPolicy};

use crate::common;

/// The address of the node that leads now, as the nodes name it.
async fn leader_address(cluster: &common::TestCluster) -> String {
    let client = common::client(cluster, "redirect");
    client.connect_leader().await.unwrap().address().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_leader_is_never_dialed_and_not_retried() {
    let cluster = common::start(3);
    let leader = leader_address(&cluster).await;
    let follower = cluster
        .addresses()
        .into_iter()
        .find(|a| *a != leader)
        .unwrap();
    // Seeded with a follower only: the follower names the leader, which the policy refuses.
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&asked);
    let allowed = follower.clone();
    let policy = RedirectPolicy::new(move |address| {
        seen.lock().unwrap().push(address.to_owned());
        address == allowed
    });
    let config = dqlite_client::Config::new([follower.as_str()])
        .unwrap()
        .connect_timeout(Duration::from_secs(20))
        .redirect_policy(policy);
    let started = Instant::now();
    let err = Cluster::new(config).connect().await.unwrap_err();
    let Error::RedirectRejected { address, named_by } = &err else {
        panic!("expected a refused redirect, got {err}");
    };
    assert_eq!(address, &leader);
    assert_eq!(named_by, &follower);
    assert_eq!(err.kind(), ErrorKind::Config);
    // Well within the 20 s connect deadline: the refusal is not retried round after round.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(*asked.lock().unwrap(), vec![leader.clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowing_policy_changes_nothing_and_filters_stored_members() {
    let cluster = common::start(3);
    let leader = leader_address(&cluster).await;
    let addresses = cluster.addresses();
    let left_out = addresses.iter().find(|a| **a != leader).unwrap().clone();

    // Discovery through a follower, redirected to the allowed leader.
    let follower_first = common::config(&cluster, "redirect");
    let everyone = addresses.clone();
    let client = Cluster::new(
        follower_first.redirect_policy(RedirectPolicy::new(move |a| {
            everyone.iter().any(|e| e == a)
        })),
    );
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (n)", &[]).await.unwrap();
    assert_eq!(conn.address().to_string(), leader);

    // CLUSTER members the policy refuses are not stored (nor dialed later).
    let refused = left_out.clone();
    let filtered = Cluster::new(
        common::config(&cluster, "redirect")
            .redirect_policy(RedirectPolicy::new(move |a| a != refused)),
    );
    let stored = filtered.refresh_nodes().await.unwrap();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.iter().all(|n| n.address != left_out), "{stored:?}");
    assert_eq!(filtered.nodes().unwrap(), stored);
}
