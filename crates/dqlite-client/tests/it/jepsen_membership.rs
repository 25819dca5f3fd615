//! The client's view of the cluster follows membership changes on its own: every node the
//! client was seeded with is replaced under load, then the leader dies, and the pool must
//! find the new leader among nodes it was never told about.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dqlite_client::{Cluster, Pool, PoolOptions, Value};
use dqlite_testkit::Role;

use crate::jepsen_faults::{bare_cluster, client_config};

/// Inserts rows until told to stop; counts successes.
async fn writer(pool: Pool, stop: Arc<AtomicBool>, ok: Arc<AtomicU64>) {
    let mut n = 0i64;
    while !stop.load(Ordering::Acquire) {
        n += 1;
        if pool
            .execute("INSERT INTO t VALUES (?)", &[Value::Integer(n)])
            .await
            .is_ok()
        {
            ok.fetch_add(1, Ordering::AcqRel);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `ok` grows past `from`.
fn wait_progress(ok: &AtomicU64, from: u64, timeout: Duration) -> bool {
    let give_up = Instant::now() + timeout;
    while Instant::now() < give_up {
        if ok.load(Ordering::Acquire) > from {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_node_store_follows_when_every_seed_is_replaced() {
    let cluster = bare_cluster(3).start().unwrap();
    let seeds = cluster.addresses();
    let client = Cluster::new(client_config(&cluster, "membership"));
    let pool = Pool::new(client.clone(), PoolOptions::default().max_size(4));
    pool.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn(writer(pool.clone(), Arc::clone(&stop), Arc::clone(&ok)));

    let progress = Arc::clone(&ok);
    let mut cluster = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        let added: Vec<usize> = (0..3).map(|_| cluster.grow(Role::Voter).unwrap()).collect();
        // Hand leadership to a new node, then take every seed out.
        cluster.transfer_leadership(Some(added[0])).unwrap();
        for seed in 0..3 {
            let before = progress.load(Ordering::Acquire);
            cluster.remove_member(seed).unwrap();
            cluster.kill(seed).unwrap();
            assert!(
                wait_progress(&progress, before, Duration::from_secs(10)),
                "no write after removing seed {seed}"
            );
        }
        cluster.wait_healthy(Duration::from_secs(30)).unwrap();
        cluster
    })
    .await
    .unwrap();

    // The client was never asked to refresh: its store must know the new members by now.
    let known: Vec<String> = client
        .nodes()
        .unwrap()
        .into_iter()
        .map(|n| n.address)
        .collect();
    let members: Vec<String> = cluster
        .member_indices()
        .iter()
        .map(|i| cluster.addresses()[*i].clone())
        .collect();
    eprintln!("seeds {seeds:?}, members {members:?}, the client's store {known:?}");

    // Now the leader dies: the new one is among nodes the client was never given.
    let leader = cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
    let before = ok.load(Ordering::Acquire);
    cluster.kill(leader).unwrap();
    let resumed = tokio::task::spawn_blocking({
        let ok = Arc::clone(&ok);
        move || wait_progress(&ok, before, Duration::from_secs(20))
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Release);
    task.await.unwrap();
    assert!(
        members.iter().all(|m| known.contains(m)),
        "the client's node store {known:?} does not follow the members {members:?}"
    );
    assert!(
        resumed,
        "no write after the leader died: the client only knows {known:?}"
    );
}
