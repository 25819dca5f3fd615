//! A minimal reproduction of the server bug met under membership churn: requests during a
//! leadership transfer failing with Raft's code passed through as an SQLite one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dqlite_client::{Cluster, Pool, PoolOptions, Value};

use crate::jepsen_faults::{bare_cluster, client_config};

/// Minimal reproduction of a server bug (docs/reliability.md, "Server bugs found"):
/// requests that reach a leader while it hands leadership over (TRANSFER) can fail with
/// SQLite code 7 (`SQLITE_NOMEM`), which is Raft's `RAFT_NOTLEADER` passed through
/// untranslated. The client classifies that answer as "not leader" (`Pool::execute`
/// retries it), so the writers here use connections directly to see the server's
/// answers; the check is that such a write was indeed not applied, and every
/// acknowledged one was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_writes_during_leadership_transfers() {
    let cluster = bare_cluster(3).start().unwrap();
    let pool = Pool::new(
        Cluster::new(client_config(&cluster, "transfer")),
        PoolOptions::default().max_size(4),
    );
    pool.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3i64)
        .map(|w| {
            let (pool, stop) = (pool.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut n = w * 1_000_000;
                while !stop.load(Ordering::Acquire) {
                    n += 1;
                    // On a connection of its own, not `Pool::execute`, which retries a
                    // write refused as "not leader" (code 7 included) on the new leader.
                    let result = match pool.get().await {
                        Ok(mut conn) => {
                            conn.execute("INSERT INTO t VALUES (?)", &[Value::Integer(n)])
                                .await
                        }
                        Err(e) => Err(e),
                    };
                    outcomes.push((n, result.map(drop)));
                }
                outcomes
            })
        })
        .collect();
    let transfers = 10;
    let (cluster, moved) = tokio::task::spawn_blocking(move || {
        let mut moved = 0;
        for _ in 0..transfers {
            std::thread::sleep(Duration::from_millis(150));
            // Let the leader pick the voter to hand over to.
            let before = cluster.leader();
            if cluster.transfer_leadership(None).is_ok() && cluster.leader() != before {
                moved += 1;
            }
        }
        (cluster, moved)
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Release);
    let mut outcomes = Vec::new();
    for w in writers {
        outcomes.extend(w.await.unwrap());
    }
    let rows = pool.query_all("SELECT n FROM t", &[]).await.unwrap();
    let stored: std::collections::HashSet<i64> = rows
        .rows
        .iter()
        .map(|r| match r.values() {
            [Value::Integer(n)] => *n,
            other => panic!("unexpected row {other:?}"),
        })
        .collect();
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for (n, result) in &outcomes {
        match result {
            Ok(()) => assert!(stored.contains(n), "acknowledged {n} lost"),
            Err(e) => {
                let name = match e.server_error() {
                    Some(s) => format!("{} ({}): {}", s.code, s.code_name(), s.message),
                    None => crate::jepsen_workloads::kind_name(e),
                };
                *codes.entry(name).or_default() += 1;
                if e.server_error().is_some_and(|s| s.code == 7) {
                    assert!(
                        !stored.contains(n),
                        "{n} failed with code 7 but was applied"
                    );
                }
            }
        }
    }
    assert!(
        moved > transfers / 2,
        "leadership moved {moved} times of {transfers}"
    );
    crate::jepsen_faults::report(&format!(
        "reliability transfers [dqlite {}]: transfers={transfers} moved={moved} writes={} \
         errors={codes:?}",
        cluster.version(),
        outcomes.len()
    ));
}
