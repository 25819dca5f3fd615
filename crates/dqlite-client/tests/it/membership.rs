//! When a cluster's node store reads the membership (CLUSTER) on its own, and what clusters
//! sharing a [`SharedNodeStore`] see of each other's reads.

use std::collections::BTreeSet;
use std::time::Duration;

use dqlite_client::{Cluster, Config, SharedNodeStore};
use dqlite_testkit::{NodeProgram, Role, TestCluster};

fn addresses(cluster: &Cluster) -> BTreeSet<String> {
    cluster
        .nodes()
        .unwrap()
        .into_iter()
        .map(|n| n.address)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_store_reads_the_membership_when_due_and_shares_it() {
    let mut nodes = TestCluster::builder()
        .nodes(3)
        .program(NodeProgram::Bare)
        .start()
        .unwrap();
    let leader = nodes.wait_for_leader(Duration::from_secs(30)).unwrap();
    // Given the leader only: what the cluster's other members are must be read.
    let seed = nodes.addresses()[leader].clone();
    let config = Config::new([seed.as_str()])
        .unwrap()
        .database("membership")
        .connect_timeout(Duration::from_secs(20));
    let all: BTreeSet<String> = nodes.addresses().into_iter().collect();

    // A cluster's own store trusts its seeds on the first leader connection.
    let private = Cluster::new(config.clone());
    drop(private.connect().await.unwrap());
    assert_eq!(addresses(&private), BTreeSet::from([seed.clone()]));

    // A shared store was never read: its first leader connection reads it.
    let members = SharedNodeStore::new(config.seeds());
    let first = Cluster::with_shared_store(config.clone(), members.clone());
    drop(first.connect().await.unwrap());
    assert_eq!(addresses(&first), all);
    assert!(first.nodes().unwrap().iter().all(|n| n.id != 0));

    // Another cluster sharing it knows the members before it connects, and, the same
    // leader within 30 s, does not read them again: a node added meanwhile is not seen.
    let added = nodes.grow(Role::Spare).unwrap();
    let added_address = nodes.addresses()[added].clone();
    let second = Cluster::with_shared_store(config.clone(), members.clone());
    assert_eq!(addresses(&second), all);
    drop(second.connect().await.unwrap());
    assert_eq!(
        nodes.wait_for_leader(Duration::from_secs(30)).unwrap(),
        leader,
        "leadership moved on its own: the test cannot tell why the store was read"
    );
    assert_eq!(addresses(&second), all);

    // Leadership moves: the next connection, found through the shared members, reads them.
    let other = (0..3).find(|i| *i != leader).unwrap();
    nodes.transfer_leadership(Some(other)).unwrap();
    let third = Cluster::with_shared_store(config, members);
    let conn = third.connect().await.unwrap();
    assert_eq!(conn.address().to_string(), nodes.addresses()[other]);
    assert!(addresses(&third).contains(&added_address));
    assert!(addresses(&first).contains(&added_address));
}
