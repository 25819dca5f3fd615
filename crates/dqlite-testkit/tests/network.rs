//! Integration tests of partitionable clusters of bare nodes: partitions move leadership,
//! packet delay is really applied, membership changes, and nothing outlives the cluster.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dqlite_testkit::{Delay, NetFaults, NodeProgram, NodeState, Role, TestCluster};

const WAIT: Duration = Duration::from_secs(30);

fn bare(nodes: usize) -> TestCluster {
    let started = Instant::now();
    let cluster = TestCluster::builder()
        .nodes(nodes)
        .program(NodeProgram::Bare)
        .network_latency(Duration::from_millis(30))
        .partitionable(true)
        .start()
        .unwrap();
    eprintln!(
        "{nodes}-node bare {} cluster up in {:.1} s at {:?}",
        cluster.version(),
        started.elapsed().as_secs_f64(),
        cluster.addresses()
    );
    cluster
}

fn iptables_listing() -> String {
    let out = std::process::Command::new("iptables")
        .args(["-w", "-S"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn passwd_has(user: &str) -> bool {
    std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .any(|l| l.split(':').next() == Some(user))
}

/// A LEADER round trip over a fresh connection: how long the network takes.
fn round_trip(address: &str) -> Duration {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(&1u64.to_le_bytes()).unwrap();
    let started = Instant::now();
    // LEADER: 1 word body, type 0.
    let mut frame = vec![1, 0, 0, 0, 0, 0, 0, 0];
    frame.extend_from_slice(&0u64.to_le_bytes());
    stream.write_all(&frame).unwrap();
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).unwrap();
    let words = u32::from_le_bytes(header[..4].try_into().unwrap()) as usize;
    let mut body = vec![0u8; words * 8];
    stream.read_exact(&mut body).unwrap();
    started.elapsed()
}

#[test]
fn bare_nodes_have_own_addresses_users_and_ids() {
    let cluster = bare(3);
    let nodes = cluster.nodes();
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(
            node.address,
            format!(
                "127.0.0.{}:{}",
                i + 2,
                node.address.rsplit(':').next().unwrap()
            )
        );
        assert_eq!(node.id, Some(i as u64 + 1));
        assert_eq!(node.role, Some(Role::Voter));
        let user = node.user.clone().unwrap();
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", node.pid.unwrap())).unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        let uid = std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .lines()
            .find(|l| l.starts_with(&format!("{user}:")))
            .map(|l| l.split(':').nth(2).unwrap().to_owned())
            .unwrap();
        assert!(
            uid_line.split_whitespace().nth(1) == Some(uid.as_str()),
            "{uid_line} vs {uid}"
        );
    }
    let members = cluster.members().unwrap();
    assert_eq!(members.len(), 3);
    assert!(members.iter().all(|m| m.role == Role::Voter));
}

#[test]
fn isolated_leader_loses_leadership_and_clients_still_reach_it() {
    let mut cluster = bare(3);
    let leader = cluster.wait_for_leader(WAIT).unwrap();
    cluster.set_network(&NetFaults::isolate(leader, 3)).unwrap();
    let chain_rules = iptables_listing();
    assert!(chain_rules.contains("-j DROP"), "{chain_rules}");
    let cut_at = Instant::now();
    // The followers elect one of themselves; the old leader steps down (no quorum).
    let new_leader = loop {
        let l = cluster.leader();
        if let Some(l) = l.filter(|l| *l != leader) {
            break l;
        }
        assert!(
            cut_at.elapsed() < WAIT,
            "no new leader while the old one is isolated"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("new leader {new_leader} after {:?}", cut_at.elapsed());
    // The old leader still answers a client, and no longer calls itself leader.
    let stepped_down = loop {
        match cluster.ask_leader(leader) {
            Ok(Some((_, l))) if l == cluster.addresses()[leader] => {}
            Ok(_) => break true,
            Err(e) => panic!("the isolated node does not answer a client: {e}"),
        }
        if cut_at.elapsed() > WAIT {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(stepped_down, "the isolated leader kept claiming leadership");
    cluster.heal().unwrap();
    cluster.wait_healthy(WAIT).unwrap();
    assert!(cluster.network_faults().is_healthy());
}

#[test]
fn minority_side_has_no_leader_until_healed() {
    let mut cluster = bare(5);
    let leader = cluster.wait_for_leader(WAIT).unwrap();
    let others: Vec<usize> = (0..5).filter(|n| *n != leader).collect();
    // The leader and one follower on the minority side.
    let minority = [leader, others[0]];
    let majority = &others[1..];
    cluster
        .set_network(&NetFaults::partition(&[&minority, majority]))
        .unwrap();
    let new_leader = loop {
        if let Some(l) = cluster.leader().filter(|l| majority.contains(l)) {
            break l;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Give the minority time to notice; it must not keep a leader of its own.
    std::thread::sleep(Duration::from_millis(1_200));
    for n in minority {
        let answer = cluster.ask_leader(n).unwrap();
        let address = &cluster.addresses()[n];
        assert!(
            answer.as_ref().is_none_or(|(_, l)| l != address),
            "minority node {n} still leads: {answer:?}"
        );
    }
    eprintln!("majority leader {new_leader}");
    cluster.heal().unwrap();
    cluster.wait_healthy(WAIT).unwrap();
}

#[test]
fn node_delay_slows_replication_and_client_delay_slows_requests() {
    let mut cluster = bare(3);
    let address = cluster.addresses()[0].clone();
    let before = round_trip(&address);
    let mut faults = NetFaults::none();
    faults.client_delay = Some(Delay::new(Duration::from_millis(60), Duration::ZERO));
    faults.node_delay = Some(Delay::new(
        Duration::from_millis(20),
        Duration::from_millis(5),
    ));
    cluster.set_network(&faults).unwrap();
    // Request and answer each wait 60 ms.
    let slow = round_trip(&address);
    assert!(
        slow >= Duration::from_millis(110),
        "round trip {slow:?} (was {before:?})"
    );
    assert!(slow < Duration::from_secs(2), "round trip {slow:?}");
    let mut lossy = NetFaults::none();
    lossy.client_loss = 1.0;
    cluster.set_network(&lossy).unwrap();
    assert!(
        TcpStream::connect_timeout(&address.parse().unwrap(), Duration::from_millis(500)).is_err(),
        "a client got through 100% loss"
    );
    cluster.heal().unwrap();
    let after = round_trip(&address);
    assert!(
        after < Duration::from_millis(100),
        "round trip after heal {after:?}"
    );
    cluster.wait_healthy(WAIT).unwrap();
}

#[test]
fn membership_grows_shrinks_and_transfers() {
    let mut cluster = bare(3);
    let added = cluster.grow(Role::Voter).unwrap();
    assert_eq!(added, 3);
    cluster.wait_healthy(WAIT).unwrap();
    assert_eq!(cluster.members().unwrap().len(), 4);
    cluster.assign_role(1, Role::Spare).unwrap();
    cluster.remove_member(1).unwrap();
    cluster.kill(1).unwrap();
    cluster.wait_healthy(WAIT).unwrap();
    let members = cluster.members().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert_eq!(cluster.member_indices(), [0, 2, 3]);
    cluster.transfer_leadership(Some(added)).unwrap();
    let leader = cluster.wait_for_leader(WAIT).unwrap();
    assert_eq!(leader, added);
    // Whole-cluster crash and restart.
    cluster.stop();
    assert!(cluster.nodes().iter().all(|n| n.state == NodeState::Down));
    cluster.restart_members().unwrap();
    cluster.wait_healthy(WAIT).unwrap();
}

#[test]
fn nothing_outlives_the_cluster_even_on_panic() {
    let mut cluster = bare(3);
    let mut faults = NetFaults::isolate(0, 3);
    faults.node_delay = Some(Delay::new(Duration::from_millis(5), Duration::ZERO));
    cluster.set_network(&faults).unwrap();
    let users: Vec<String> = cluster
        .nodes()
        .into_iter()
        .map(|n| n.user.unwrap())
        .collect();
    assert!(users.iter().all(|u| passwd_has(u)));
    let chain = cluster.iptables_chain().unwrap();
    assert!(iptables_listing().contains(&format!("-N {chain}\n")));
    let panicked = std::thread::scope(|s| {
        s.spawn(move || {
            let _owned = cluster;
            panic!("a failing test");
        })
        .join()
        .is_err()
    });
    assert!(panicked);
    let listing = iptables_listing();
    assert!(!listing.contains(&chain), "{listing}");
    for user in &users {
        assert!(!passwd_has(user), "user {user} survived");
    }
}
