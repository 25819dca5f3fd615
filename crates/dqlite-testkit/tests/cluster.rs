//! Integration tests: real dqlite clusters of the version named by DQLITE_SERVER_VERSION.

// Test helpers outside #[test] functions fail the test by panicking, like the tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use dqlite_testkit::{NodeProgram, NodeState, Role, ServerVersion, TestCluster};

const WAIT: Duration = Duration::from_secs(40);

fn cluster(nodes: usize) -> TestCluster {
    let started = Instant::now();
    let cluster = TestCluster::builder()
        .nodes(nodes)
        .version(ServerVersion::from_env())
        .start()
        .unwrap();
    eprintln!(
        "{}-node {} cluster up in {:.1} s at {:?}",
        nodes,
        cluster.version(),
        started.elapsed().as_secs_f64(),
        cluster.addresses()
    );
    cluster
}

#[test]
fn three_nodes_start_and_all_are_voters() {
    let cluster = cluster(3);
    let members = cluster.members().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().all(|m| m.role == Role::Voter), "{members:?}");
    let mut addresses: Vec<String> = members.iter().map(|m| m.address.clone()).collect();
    addresses.sort();
    let mut expected = cluster.addresses();
    expected.sort();
    assert_eq!(addresses, expected);
    for info in cluster.nodes() {
        assert_eq!(info.state, NodeState::Running);
        assert!(info.id.is_some(), "{info:?}");
        assert!(info.pid.is_some());
    }
    assert_eq!(
        cluster.node(0).unwrap().id,
        Some(dqlite_testkit::BOOTSTRAP_ID)
    );
    assert!(cluster.leader().is_some());
}

#[test]
fn killing_the_leader_elects_another() {
    let mut cluster = cluster(3);
    let leader = cluster.wait_for_leader(WAIT).unwrap();
    let pid = cluster.node(leader).unwrap().pid.unwrap();
    cluster.kill(leader).unwrap();
    assert_eq!(cluster.node(leader).unwrap().state, NodeState::Down);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    let killed = Instant::now();
    let new_leader = cluster.wait_for_leader(WAIT).unwrap();
    eprintln!(
        "new leader {new_leader} after {:.1} s",
        killed.elapsed().as_secs_f64()
    );
    assert_ne!(new_leader, leader);
}

#[test]
fn pausing_the_leader_elects_another_and_resume_rejoins() {
    let mut cluster = cluster(3);
    let leader = cluster.wait_for_leader(WAIT).unwrap();
    cluster.pause(leader).unwrap();
    assert_eq!(cluster.node(leader).unwrap().state, NodeState::Paused);
    // A paused node accepts TCP connections (the kernel does) but never answers.
    assert!(cluster.ask_leader(leader).is_err());
    let new_leader = cluster.wait_for_leader(WAIT).unwrap();
    assert_ne!(new_leader, leader);
    cluster.resume(leader).unwrap();
    cluster.wait_healthy(WAIT).unwrap();
    assert!(cluster.ask_leader(leader).unwrap().is_some());
}

#[test]
fn restarted_node_rejoins_with_the_same_address() {
    let mut cluster = cluster(3);
    let leader = cluster.wait_for_leader(WAIT).unwrap();
    let follower = (0..3).find(|i| *i != leader).unwrap();
    let before = cluster.node(follower).unwrap();
    cluster.kill(follower).unwrap();
    cluster.restart(follower).unwrap();
    let after = cluster.node(follower).unwrap();
    assert_eq!(after.address, before.address);
    assert_ne!(after.pid, before.pid);
    cluster.wait_healthy(WAIT).unwrap();
    // The same node (same Raft id), not a new member.
    let members = cluster.members().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().any(|m| Some(m.id) == before.id));
    // Restart the leader too: the cluster survives and it comes back.
    cluster.restart(leader).unwrap();
    cluster.wait_healthy(WAIT).unwrap();
    assert!(
        cluster
            .logs(leader)
            .unwrap()
            .matches("=== dqlite-testkit: starting node")
            .count()
            == 2
    );
}

#[test]
fn unjoined_node_is_added_as_a_voter() {
    let cluster = cluster(3);
    if cluster.tls_files().is_some() {
        return;
    }
    let node = cluster.start_unjoined_node(42).unwrap();
    // Alone, it knows no leader and no cluster beyond itself.
    let members = cluster.members().unwrap();
    assert!(!members.iter().any(|m| m.address == node.address()));
    cluster
        .add_node(node.id(), node.address(), Role::Voter)
        .unwrap();
    let members = cluster.members().unwrap();
    let added = members
        .iter()
        .find(|m| m.id == 42)
        .unwrap_or_else(|| panic!("node 42 missing from {members:?}"));
    assert_eq!(added.address, node.address());
    assert_eq!(added.role, Role::Voter, "{members:?}");
    assert_eq!(members.len(), 4);
}

#[test]
fn tls_cluster_on_1_18() {
    let version = ServerVersion::from_env();
    if !version.supports_tls() {
        eprintln!("skipped: TLS clusters need 1.18 or latest (this run: {version})");
        return;
    }
    let mut cluster = TestCluster::builder()
        .nodes(3)
        .version(version)
        .tls(true)
        .start()
        .unwrap();
    let ca = cluster.ca_cert_path().unwrap().to_owned();
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert!(cluster.tls_key_path().unwrap().exists());
    let members = cluster.members().unwrap();
    assert_eq!(members.len(), 3);
    assert!(members.iter().all(|m| m.role == Role::Voter));
    // The nodes really speak TLS: the same LEADER request in plain TCP gets no SERVER reply.
    {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(&cluster.addresses()[0]).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut request = 1u64.to_le_bytes().to_vec();
        request.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // 1 word, type LEADER
        request.extend_from_slice(&[0; 8]);
        let _ = tcp.write_all(&request);
        let mut reply = Vec::new();
        let _ = tcp.read_to_end(&mut reply);
        assert!(
            reply.get(4) != Some(&1) || reply.len() < 16,
            "plain TCP got a dqlite reply: {reply:?}"
        );
    }
    let leader = cluster.wait_for_leader(WAIT).unwrap();
    cluster.kill(leader).unwrap();
    assert_ne!(cluster.wait_for_leader(WAIT).unwrap(), leader);
    assert!(cluster.start_unjoined_node(7).is_err());
}

#[test]
fn dropping_during_a_panic_kills_every_node() {
    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::thread::spawn(move || {
        let cluster = cluster(1);
        tx.send(cluster.pids()).unwrap();
        panic!("deliberate panic: the cluster's logs are printed below");
    })
    .join();
    assert!(result.is_err());
    let pids = rx.recv().unwrap();
    assert_eq!(pids.len(), 1);
    for pid in pids.into_iter().flatten() {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "node process {pid} survived the drop"
        );
    }
}

/// TRANSFER right after a promotion, to a voter that had not yet written the promotion (it
/// was paused while the leader sent it): the new leader must still count the promoted node
/// as a voter. 1.11's Raft lost the promotion when its target campaigned before that write
/// completed; `transfer_leadership` waits until the target has the leader's configuration.
#[test]
fn transfer_right_after_a_promotion_keeps_the_promoted_voter() {
    let mut cluster = TestCluster::builder()
        .nodes(3)
        .program(NodeProgram::Bare)
        .network_latency(Duration::from_millis(30))
        .version(ServerVersion::from_env())
        .start()
        .unwrap();
    let target = cluster.grow(Role::Voter).unwrap();
    cluster.wait_healthy(WAIT).unwrap();
    cluster.pause(target).unwrap();
    let promoted = cluster.grow(Role::Voter).unwrap();
    let pid = cluster.nodes()[target].pid.unwrap().to_string();
    // Resumed while the transfer is under way: it reads the promotion and the leader's
    // TimeoutNow together.
    let resumer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        std::process::Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .unwrap()
    });
    cluster.transfer_leadership(Some(target)).unwrap();
    assert!(resumer.join().unwrap().success());
    cluster.resume(target).unwrap();
    assert_eq!(cluster.wait_for_leader(WAIT).unwrap(), target);
    let members = cluster.members().unwrap();
    let address = &cluster.addresses()[promoted];
    assert!(
        members
            .iter()
            .any(|m| &m.address == address && m.role == Role::Voter),
        "node {promoted} lost its promotion: {members:?}"
    );
    cluster.wait_healthy(WAIT).unwrap();
}
