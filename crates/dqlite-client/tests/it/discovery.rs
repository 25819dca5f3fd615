//! Leader discovery against fake nodes: answers a healthy cluster gives only in passing.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dqlite_client::{Cluster, Config, ErrorKind, Pool, PoolOptions};
use dqlite_testkit::fake::FakeNode;
use dqlite_wire::Response;

use crate::fake::frame;

/// A node that answers every LEADER by naming `names[other]`, counting the questions.
fn naming(other: usize, names: &Arc<Mutex<Vec<String>>>, asked: &Arc<AtomicUsize>) -> FakeNode {
    let (names, asked) = (Arc::clone(names), Arc::clone(asked));
    FakeNode::start(move |conn, _own| {
        conn.read_handshake()?;
        loop {
            match conn.read_request()? {
                0 => {
                    asked.fetch_add(1, Ordering::AcqRel);
                    let named = names.lock().unwrap()[other].clone();
                    conn.write(&frame(&Response::Server {
                        id: 1,
                        address: named,
                    }))?;
                }
                other => return Err(io::Error::other(format!("unexpected request {other}"))),
            }
        }
    })
    .unwrap()
}

/// Two nodes that name each other as leader (stale views during an election): discovery
/// keeps asking until its deadline, but at a bounded rate. Each named node used to be
/// woken at once, so the pair asked each other without pause: over 40,000 LEADER
/// requests in 2 s, a core spent and both nodes flooded.
#[test]
fn two_nodes_naming_each_other_are_not_asked_in_a_hot_loop() {
    let names: Arc<Mutex<Vec<String>>> = Arc::default();
    let asked = Arc::new(AtomicUsize::new(0));
    let a = naming(1, &names, &asked);
    let b = naming(0, &names, &asked);
    *names.lock().unwrap() = vec![a.address().to_string(), b.address().to_string()];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = rt.block_on(async {
        let config = Config::new([a.address(), b.address()])
            .unwrap()
            .connect_timeout(Duration::from_secs(2));
        Cluster::new(config).connect().await.map(|_| ())
    });
    let took = started.elapsed();
    let asked = asked.load(Ordering::Acquire);
    let e = outcome.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoLeader, "{e}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // At most one question per node every 50 ms: 80 in 2 s; far fewer than a hot loop.
    assert!(asked <= 200, "{asked} LEADER requests in {took:?}");
    assert!(asked >= 4, "{asked} LEADER requests in {took:?}");
}

/// A node that says it leads but refuses every statement with "not leader", as a leader
/// handing leadership over does until the transfer ends: `Pool::execute` retries within
/// the connect deadline, but backs off between tries. It used to reconnect and resend
/// without pause: 377 connections in 2 s from one call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_retries_of_not_leader_back_off() {
    let node = FakeNode::start(move |conn, own| {
        crate::fake::lead(conn, own)?;
        loop {
            conn.read_request()?;
            conn.write(&frame(&Response::Failure {
                code: 10250,
                message: "not leader".into(),
            }))?;
        }
    })
    .unwrap();
    let config = Config::new([node.address()])
        .unwrap()
        .connect_timeout(Duration::from_secs(2));
    let pool = Pool::new(Cluster::new(config), PoolOptions::default());
    let started = Instant::now();
    let e = pool
        .execute("INSERT INTO t VALUES (1)", &[])
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::NotLeader, "{e}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Tries at 0, 0, 0.1, 0.3, 0.7, 1.5 s (the default backoff, 100 ms doubling).
    let tries = node.accepted();
    assert!((2..=12).contains(&tries), "{tries} connections in {took:?}");
    let e = pool.query_all("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotLeader, "{e}");
    assert!(
        node.accepted() - tries <= 12,
        "{} connections",
        node.accepted() - tries
    );
}
