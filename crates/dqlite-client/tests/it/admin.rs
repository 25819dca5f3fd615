//! Cluster administration against real nodes: membership, roles, leadership, metadata,
//! dump.

use std::time::{Duration, Instant};

use dqlite_client::{Connection, Role, Value};

use crate::common;

/// Waits until `check` holds on the cluster's membership as the leader reports it.
async fn wait_for_members(
    client: &dqlite_client::Cluster,
    what: &str,
    check: impl Fn(&[dqlite_client::NodeInfo]) -> bool,
) -> Vec<dqlite_client::NodeInfo> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut conn) = client.connect_leader().await
            && let Ok(nodes) = conn.cluster().await
            && check(&nodes)
        {
            return nodes;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_assign_transfer_remove_a_node() {
    let cluster = common::start(3);
    let client = common::client(&cluster, "admin");
    let node = cluster.start_unjoined_node(42).unwrap();
    let address = node.address().to_owned();

    let mut leader = client.connect_leader().await.unwrap();
    let before = leader.cluster().await.unwrap();
    assert_eq!(before.len(), 3);
    assert!(
        before.iter().all(|n| n.role == Some(Role::Voter)),
        "{before:?}"
    );

    leader.add_node(42, &address).await.unwrap();
    let nodes = leader.cluster().await.unwrap();
    let added = nodes.iter().find(|n| n.id == 42).expect("node 42 listed");
    assert_eq!(added.address, address);
    assert_eq!(added.role, Some(Role::Spare));

    leader.assign_role(42, Role::Standby).await.unwrap();
    wait_for_members(&client, "node 42 standby", |n| {
        n.iter()
            .any(|n| n.id == 42 && n.role == Some(Role::Standby))
    })
    .await;
    let mut leader = client.connect_leader().await.unwrap();
    leader.assign_role(42, Role::Voter).await.unwrap();
    wait_for_members(&client, "node 42 voter", |n| {
        n.iter().any(|n| n.id == 42 && n.role == Some(Role::Voter))
    })
    .await;

    // Hand leadership to the new node and see it lead.
    let mut leader = client.connect_leader().await.unwrap();
    leader.transfer_leadership(Some(42)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        client.forget_leader();
        let conn = client.connect_leader().await.unwrap();
        if conn.address().to_string() == address {
            break;
        }
        assert!(Instant::now() < deadline, "node 42 never took the lead");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The data path works through the new leader.
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (n)", &[]).await.unwrap();

    // Move leadership away again (let the server pick), then remove node 42.
    let mut leader = client.connect_leader().await.unwrap();
    leader.transfer_leadership(None).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut leader = loop {
        client.forget_leader();
        let conn = client.connect_leader().await.unwrap();
        if conn.address().to_string() != address {
            break conn;
        }
        assert!(Instant::now() < deadline, "leadership never left node 42");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    leader.remove_node(42).await.unwrap();
    let nodes = leader.cluster().await.unwrap();
    assert!(nodes.iter().all(|n| n.id != 42), "{nodes:?}");
    assert_eq!(nodes.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_and_weight_of_a_node() {
    let cluster = common::start(1);
    let config = common::config(&cluster, "meta");
    let address = cluster.addresses()[0].parse().unwrap();
    let mut conn = Connection::handshake(&address, &config).await.unwrap();
    conn.set_weight(17).await.unwrap();
    let meta = conn.describe().await.unwrap();
    assert_eq!(meta.weight, 17);
    conn.set_weight(3).await.unwrap();
    assert_eq!(conn.describe().await.unwrap().weight, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_returns_a_database_sqlite_can_open() {
    let cluster = common::start(3);
    let client = common::client(&cluster, "dumped");
    let mut conn = client.connect().await.unwrap();
    conn.execute_script(
        "CREATE TABLE d (k TEXT PRIMARY KEY, v BLOB);
         INSERT INTO d VALUES ('a', x'00ff'), ('b', zeroblob(10000));",
    )
    .await
    .unwrap();
    let mut leader = client.connect_leader().await.unwrap();
    let files = leader.dump("dumped").await.unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[0].name, "dumped");
    assert!(files[0].data.starts_with(b"SQLite format 3\0"));

    let dir = tempfile::tempdir().unwrap();
    for file in &files {
        std::fs::write(dir.path().join(&file.name), &file.data).unwrap();
    }
    let db = rusqlite::Connection::open(dir.path().join("dumped")).unwrap();
    let (count, len): (i64, i64) = db
        .query_row("SELECT count(*), sum(length(v)) FROM d", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((count, len), (2, 10002));
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    // The same data is still served by the cluster.
    let rows = conn
        .query_all("SELECT k FROM d ORDER BY k", &[])
        .await
        .unwrap();
    assert_eq!(rows.rows[1].values(), [Value::from("b")]);
}

/// Raft has no node 0 (it means "none"): dqlite 1.18.7 aborts the leader on an ADD of
/// id 0. The client refuses the id before sending anything, and the leader stays up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_id_zero_is_refused_before_it_reaches_the_leader() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "zero");
    let mut leader = client.connect_leader().await.unwrap();
    let err = leader.add_node(0, "127.0.0.1:1").await.unwrap_err();
    assert_eq!(err.kind(), dqlite_client::ErrorKind::InvalidInput, "{err}");
    let err = leader.assign_role(0, Role::Standby).await.unwrap_err();
    assert_eq!(err.kind(), dqlite_client::ErrorKind::InvalidInput, "{err}");
    let err = leader.remove_node(0).await.unwrap_err();
    assert_eq!(err.kind(), dqlite_client::ErrorKind::InvalidInput, "{err}");
    // The same connection still works, and so does the node.
    assert_eq!(leader.cluster().await.unwrap().len(), 1);
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (n)", &[]).await.unwrap();
}

/// A real node whose answer to an ADD is cut by a reset after it applied the change: the
/// error says the outcome is unknown (not "I/O error", which reads as "not done"), and
/// the node is indeed a member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_add_whose_answer_is_cut_went_through_and_says_so() {
    use dqlite_testkit::proxy::{Fault, FaultProxy};

    let cluster = common::start(1);
    let client = common::client(&cluster, "cut");
    let proxy = FaultProxy::start(cluster.addresses()[0].clone()).unwrap();
    let config = common::config(&cluster, "cut");
    let mut conn = Connection::handshake(&proxy.address().parse().unwrap(), &config)
        .await
        .unwrap();
    proxy.set_fault(Fault::ResetAfterServerBytes(0));
    let err = conn.add_node(5, "127.0.0.1:1").await.unwrap_err();
    assert_eq!(
        err.kind(),
        dqlite_client::ErrorKind::OutcomeUnknown,
        "{err}"
    );
    let nodes = wait_for_members(&client, "node 5 added", |n| n.iter().any(|n| n.id == 5)).await;
    assert_eq!(nodes.len(), 2, "{nodes:?}");
}

/// A cluster whose last voter is demoted or removed never elects a leader again. The
/// client refuses both before sending anything; the `_unchecked` calls do it anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_voter_is_neither_demoted_nor_removed() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "last");
    let mut leader = client.connect_leader().await.unwrap();
    let (id, _) = leader.leader().await.unwrap().unwrap();
    for role in [Role::Standby, Role::Spare] {
        let err = leader.assign_role(id, role).await.unwrap_err();
        assert_eq!(err.kind(), dqlite_client::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("last voter"), "{err}");
    }
    let err = leader.remove_node(id).await.unwrap_err();
    assert_eq!(err.kind(), dqlite_client::ErrorKind::InvalidInput, "{err}");
    // Nothing was sent: the node still leads, a voter, and the connection works.
    let nodes = leader.cluster().await.unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].role, Some(Role::Voter));
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (n)", &[]).await.unwrap();

    // The check is of the last voter only: a spare added beside it goes and comes back.
    leader.add_node(7, "127.0.0.1:1").await.unwrap();
    leader.assign_role(7, Role::Standby).await.unwrap();
    leader.remove_node(7).await.unwrap();

    // Forced, the removal is sent (and the cluster is lost).
    let mut leader = client.connect_leader().await.unwrap();
    if let Err(err) = leader.remove_node_unchecked(id).await {
        assert_ne!(err.kind(), dqlite_client::ErrorKind::InvalidInput, "{err}");
    }
}
