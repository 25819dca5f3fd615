//! A paused leader (SIGSTOP) with quorum intact (issue 13, defect 6): its sockets stay
//! open, so every idle pooled connection to it, and every leader probe that trusts it, costs
//! a full deadline. The pool must forget it at the first timeout and retire its other
//! connections to it, and leader discovery must not wait on it: writes resume within 1 s of
//! the new leader's election (go-dqlite 1.11.5 takes 15 s).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dqlite_client::{Address, Connection, Pool, PoolOptions, Value};

use crate::common;

/// Each write's deadline: shorter than an election (3 to 6 s with dqlite-demo), so that
/// writes stuck on the paused leader end before the new leader is up.
const REQUEST: Duration = Duration::from_secs(2);

/// When a node other than `paused` first names a leader other than `paused`: raw LEADER
/// probes of the other nodes every 20 ms, each on a fresh connection.
async fn wait_for_new_leader(addresses: Vec<String>, paused: String) -> Instant {
    let config = dqlite_client::Config::new(addresses.iter())
        .unwrap()
        .request_timeout(Duration::from_millis(300))
        .dial_timeout(Duration::from_millis(300));
    loop {
        for address in addresses.iter().filter(|a| **a != paused) {
            let address: Address = address.parse().unwrap();
            if let Ok(mut conn) = Connection::handshake(&address, &config).await
                && let Ok(Some((_, leader))) = conn.leader().await
                && leader != paused
            {
                return Instant::now();
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_resume_within_a_second_of_the_election_after_a_leader_pause() {
    const WORKERS: i64 = 2;
    const POOL: usize = 8;
    let mut cluster = common::start(3);
    let config = common::config(&cluster, "paused").request_timeout(REQUEST);
    let pool = Pool::new(
        dqlite_client::Cluster::new(config),
        PoolOptions::default().max_size(POOL),
    );
    pool.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)", &[])
        .await
        .unwrap();
    // A warm pool: more idle connections to the leader than workers, as after a burst.
    let mut warm = Vec::new();
    for _ in 0..POOL {
        warm.push(pool.get().await.unwrap());
    }
    drop(warm);
    // Successful writes, by the time they returned.
    let done: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let (pool, done, stop) = (pool.clone(), Arc::clone(&done), Arc::clone(&stop));
        tasks.spawn(async move {
            let mut id = worker;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let result = pool
                    .execute("INSERT INTO t (id) VALUES (?)", &[Value::Integer(id)])
                    .await;
                id += WORKERS;
                match result {
                    Ok(_) => done.lock().unwrap().push(Instant::now()),
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        });
    }
    // Every worker is writing, through pooled connections to the leader.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
    let addresses = cluster.addresses();
    let paused = addresses[leader].clone();
    tokio::task::block_in_place(|| cluster.pause(leader)).unwrap();
    let paused_at = Instant::now();
    let elected = wait_for_new_leader(addresses, paused).await;
    // Let the writers find the new leader, then stop them.
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}
    tokio::task::block_in_place(|| cluster.resume(leader)).unwrap();

    let first = done
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|t| *t > paused_at)
        .min()
        .expect("no write succeeded after the pause");
    let after_election = first.saturating_duration_since(elected);
    eprintln!(
        "new leader {:?} after the pause; first write {:?} after the election",
        elected - paused_at,
        after_election
    );
    assert!(
        after_election < Duration::from_secs(1),
        "writes resumed {after_election:?} after the election"
    );
}
