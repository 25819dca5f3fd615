//! Killing the leader while tasks write: the client finds the new leader, nothing
//! acknowledged is lost, nothing is written twice, and doubtful writes are reported.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dqlite_client::{ErrorKind, Pool, PoolOptions, Value};

use crate::common;

#[derive(Default, Debug)]
struct Outcomes {
    acknowledged: HashSet<i64>,
    in_doubt: HashSet<i64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_kill_loses_nothing_acknowledged() {
    const WRITERS: i64 = 4;
    const PER_WRITER: i64 = 150;
    let mut cluster = common::start(3);
    let config = common::config(&cluster, "failover")
        .request_timeout(Duration::from_secs(3))
        .connect_timeout(Duration::from_secs(30));
    let pool = Arc::new(Pool::new(
        dqlite_client::Cluster::new(config),
        PoolOptions::default().max_size(WRITERS as usize),
    ));
    // No unique constraint: a duplicate write would show up as two rows.
    pool.execute("CREATE TABLE a (id INTEGER)", &[])
        .await
        .unwrap();
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let pool = Arc::clone(&pool);
        let outcomes = Arc::clone(&outcomes);
        writers.spawn(async move {
            let give_up = Instant::now() + Duration::from_secs(90);
            for k in 0..PER_WRITER {
                let id = w * 1_000_000 + k;
                loop {
                    assert!(Instant::now() < give_up, "writer {w} made no progress");
                    let result = match pool.get().await {
                        Ok(mut conn) => {
                            conn.execute("INSERT INTO a VALUES (?)", &[Value::Integer(id)])
                                .await
                        }
                        Err(e) => Err(e),
                    };
                    match result {
                        Ok(r) => {
                            assert_eq!(r.rows_affected, 1);
                            outcomes.lock().unwrap().acknowledged.insert(id);
                            break;
                        }
                        Err(e) if e.kind() == ErrorKind::OutcomeUnknown => {
                            // May or may not have applied: reported, never resent.
                            outcomes.lock().unwrap().in_doubt.insert(id);
                            break;
                        }
                        Err(e) => {
                            // Nothing ran (not leader, no leader yet, dial failures):
                            // safe to try again.
                            assert!(
                                matches!(
                                    e.kind(),
                                    ErrorKind::NotLeader
                                        | ErrorKind::NoLeader
                                        | ErrorKind::Transport
                                        | ErrorKind::Timeout
                                        | ErrorKind::Closed
                                ),
                                "unexpected error: {e}"
                            );
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }
        });
    }
    // Let writes flow, then kill the leader.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let old_leader = cluster.leader().expect("a leader");
    let killed_at = Instant::now();
    cluster.kill(old_leader).unwrap();
    while let Some(joined) = writers.join_next().await {
        joined.unwrap();
    }
    let recovered_in = killed_at.elapsed();
    cluster.restart(old_leader).unwrap();

    let rows = pool
        .query_all("SELECT id, count(*) FROM a GROUP BY id", &[])
        .await
        .unwrap();
    let stored: HashMap<i64, i64> = rows
        .rows
        .iter()
        .map(|r| match r.values() {
            [Value::Integer(id), Value::Integer(n)] => (*id, *n),
            other => panic!("unexpected row {other:?}"),
        })
        .collect();
    let outcomes = outcomes.lock().unwrap();
    for id in &outcomes.acknowledged {
        assert_eq!(
            stored.get(id),
            Some(&1),
            "acknowledged id {id} lost or duplicated"
        );
    }
    for (id, n) in &stored {
        assert_eq!(*n, 1, "id {id} written {n} times");
        assert!(
            outcomes.acknowledged.contains(id) || outcomes.in_doubt.contains(id),
            "id {id} stored but never acknowledged nor reported in doubt"
        );
    }
    assert_eq!(
        outcomes.acknowledged.len() + outcomes.in_doubt.len(),
        (WRITERS * PER_WRITER) as usize
    );
    eprintln!(
        "failover: {} acknowledged, {} in doubt ({} of those applied), writers done {:?} \
         after the kill",
        outcomes.acknowledged.len(),
        outcomes.in_doubt.len(),
        outcomes
            .in_doubt
            .iter()
            .filter(|id| stored.contains_key(id))
            .count(),
        recovered_in
    );
}
