//! Many tasks sharing a pool.

use std::sync::Arc;

use dqlite_client::{Pool, PoolOptions, Value};

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_interleave_on_a_small_pool() {
    const TASKS: i64 = 24;
    const OPS: i64 = 40;
    let cluster = common::start(3);
    let pool = Arc::new(Pool::new(
        common::client(&cluster, "pool"),
        PoolOptions::default().max_size(4),
    ));
    pool.execute("CREATE TABLE w (task INTEGER, n INTEGER)", &[])
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let pool = Arc::clone(&pool);
        tasks.spawn(async move {
            for n in 0..OPS {
                let mut conn = pool.get().await.unwrap();
                conn.execute(
                    "INSERT INTO w VALUES (?, ?)",
                    &[Value::Integer(task), Value::Integer(n)],
                )
                .await
                .unwrap();
                // Half-read a result now and then, leaving it to the pool to drain.
                let mut rows = conn
                    .query(
                        "SELECT n FROM w WHERE task = ? ORDER BY n",
                        &[Value::Integer(task)],
                    )
                    .await
                    .unwrap();
                let first = rows.next().await.unwrap().unwrap();
                assert_eq!(first.values(), [Value::Integer(0)]);
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap();
    }
    let stats = pool.stats();
    assert!(stats.open <= 4, "{stats:?}");
    let rows = pool
        .query_all("SELECT task, count(*), sum(n) FROM w GROUP BY task", &[])
        .await
        .unwrap();
    assert_eq!(rows.rows.len(), TASKS as usize);
    for row in rows.rows {
        assert_eq!(row.values()[1], Value::Integer(OPS));
        assert_eq!(row.values()[2], Value::Integer(OPS * (OPS - 1) / 2));
    }
}
