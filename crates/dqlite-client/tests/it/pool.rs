//! Many tasks sharing a pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Issue 13, defect 5: a transaction dropped unfinished on a pooled connection held
/// SQLite's write lock while the connection sat under others in the idle list (taken
/// last-in first-out), so every other writer got "database is locked" until that
/// connection's next use or its idle timeout (10 minutes). The pool now rolls it back
/// before the connection goes back to the idle list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_transaction_does_not_hold_the_write_lock_in_the_idle_list() {
    const WORKERS: i64 = 2;
    const WRITES: i64 = 10;
    let cluster = common::start(1);
    let config =
        common::config(&cluster, "pool-tx").busy_timeout(std::time::Duration::from_secs(2));
    let pool = Pool::new(
        dqlite_client::Cluster::new(config),
        PoolOptions::default().max_size(4),
    );
    pool.execute("CREATE TABLE w (worker INTEGER, n INTEGER)", &[])
        .await
        .unwrap();
    // Three connections out at once; a transaction dropped on the first, which then goes
    // back first: the other two sit above it in the idle list.
    let mut first = pool.get().await.unwrap();
    let second = pool.get().await.unwrap();
    let third = pool.get().await.unwrap();
    {
        let mut tx = first.transaction().await.unwrap();
        tx.execute("INSERT INTO w VALUES (-1, -1)", &[])
            .await
            .unwrap();
        // Dropped unfinished, as by `?`.
    }
    drop(first);
    drop(second);
    drop(third);
    // Fewer workers than idle connections: the one with the dropped transaction is not
    // handed out again while they run.
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let pool = pool.clone();
        tasks.spawn(async move {
            for n in 0..WRITES {
                let mut conn = pool.get().await.unwrap();
                conn.execute(
                    "INSERT INTO w VALUES (?, ?)",
                    &[Value::Integer(worker), Value::Integer(n)],
                )
                .await
                .unwrap_or_else(|e| panic!("worker {worker}, write {n}: {e}"));
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap();
    }
    let rows = pool
        .query_all("SELECT count(*), min(worker) FROM w", &[])
        .await
        .unwrap();
    assert_eq!(
        rows.rows[0].values(),
        [Value::Integer(WORKERS * WRITES), Value::Integer(0)],
        "the dropped transaction's row must be gone, every worker's write there"
    );
}

/// A transaction opened with a plain BEGIN (not through `transaction()`) and left open when
/// the pooled connection is dropped must not carry over to the connection's next user: that
/// user's "autocommit" write would land in the old transaction, never committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_left_in_a_raw_transaction_is_not_handed_out_in_it() {
    let cluster = common::start(1);
    let pool = Pool::new(
        common::client(&cluster, "pool-raw-tx"),
        PoolOptions::default().max_size(1),
    );
    pool.execute("CREATE TABLE r (n INTEGER)", &[])
        .await
        .unwrap();
    {
        let mut conn = pool.get().await.unwrap();
        conn.execute("BEGIN", &[]).await.unwrap();
        conn.execute("INSERT INTO r VALUES (1)", &[]).await.unwrap();
        // Dropped without COMMIT or ROLLBACK, as after an error in the caller.
    }
    pool.execute("INSERT INTO r VALUES (2)", &[]).await.unwrap();
    // Another client sees what is committed.
    let other = common::client(&cluster, "pool-raw-tx");
    let mut conn = other.connect().await.unwrap();
    let rows = conn
        .query_all("SELECT n FROM r ORDER BY n", &[])
        .await
        .unwrap();
    let seen: Vec<_> = rows.rows.iter().map(|r| r.values().to_vec()).collect();
    assert_eq!(
        seen,
        vec![vec![Value::Integer(2)]],
        "the second write is committed alone"
    );
}

/// A `get` dropped while it checks an idle connection (a `test_on_checkout` ping to a
/// paused node) closes that connection and counts it out of `stats().open`, which
/// otherwise stays one too high for the pool's life.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_dropped_during_its_checkout_ping_counts_the_connection_out() {
    let mut cluster = common::start(1);
    let pool = Pool::new(
        dqlite_client::Cluster::new(common::config(&cluster, "pool-ping")),
        PoolOptions::default().max_size(2).test_on_checkout(true),
    );
    drop(pool.get().await.unwrap());
    assert_eq!((pool.stats().open, pool.stats().idle), (1, 1));
    tokio::task::block_in_place(|| cluster.pause(0)).unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_millis(300), pool.get()).await;
    tokio::task::block_in_place(|| cluster.resume(0)).unwrap();
    assert!(got.is_err(), "a paused node cannot have answered the ping");
    let stats = pool.stats();
    assert_eq!((stats.open, stats.idle), (0, 0), "{stats:?}");
    // The pool opens a new connection, and counts it.
    pool.query_all("SELECT 1", &[]).await.unwrap();
    assert_eq!((pool.stats().open, pool.stats().idle), (1, 1));
}

/// A connection that saw a leadership change and was then detached (as the Python pool
/// does with a connection it closes) still retires the pool's other connections to the
/// old leader: they stay open after a transfer and look healthy, and each used to be
/// handed out in turn, to fail with "not leader".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_connection_that_saw_a_leader_change_retires_the_others() {
    let cluster = common::start(3);
    let pool = Pool::new(
        common::client(&cluster, "detach-moved"),
        PoolOptions::default().max_size(3),
    );
    pool.execute("CREATE TABLE t (n)", &[]).await.unwrap();
    let warm = checked_out(&pool, 3).await;
    drop(warm);
    assert_eq!(pool.stats().idle, 3);
    let old = pool.get().await.unwrap().address().clone();
    tokio::task::block_in_place(|| cluster.transfer_leadership(None)).unwrap();
    let mut stale = pool.get().await.unwrap();
    assert_eq!(stale.address(), &old);
    let e = stale
        .execute("INSERT INTO t VALUES (1)", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), dqlite_client::ErrorKind::NotLeader, "{e}");
    drop(stale.detach());
    writes_reach_a_new_leader(&pool, &old, 3).await;
}

/// A transaction dropped open on a pooled connection is rolled back in the background;
/// when that ROLLBACK meets a leadership change, the pool still retires its other
/// connections to the old leader, as it does for a connection given back after one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_that_meets_a_leader_change_retires_the_others() {
    let cluster = common::start(3);
    let pool = Pool::new(
        common::client(&cluster, "rollback-moved"),
        PoolOptions::default().max_size(3),
    );
    pool.execute("CREATE TABLE t (n)", &[]).await.unwrap();
    let mut warm = checked_out(&pool, 3).await;
    let mut open = warm.pop().unwrap();
    drop(warm);
    let old = open.address().clone();
    open.execute("BEGIN", &[]).await.unwrap();
    tokio::task::block_in_place(|| cluster.transfer_leadership(None)).unwrap();
    // Rolled back in the background: refused, the node no longer leads.
    drop(open);
    let settled = Instant::now() + Duration::from_secs(10);
    while pool.stats().open > 2 {
        assert!(Instant::now() < settled, "{:?}", pool.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    writes_reach_a_new_leader(&pool, &old, 3).await;
}

/// `test_on_checkout` after a leadership transfer: the old leader still answers the check
/// (LEADER, naming the new leader), so a check that only wanted an answer passed every
/// stale connection, which then failed its first statement with "not leader".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkout_test_refuses_a_node_that_no_longer_leads() {
    let cluster = common::start(3);
    let pool = Pool::new(
        common::client(&cluster, "checkout-moved"),
        PoolOptions::default().max_size(3).test_on_checkout(true),
    );
    pool.execute("CREATE TABLE t (n)", &[]).await.unwrap();
    let warm = checked_out(&pool, 3).await;
    let old = warm[0].address().clone();
    drop(warm);
    tokio::task::block_in_place(|| cluster.transfer_leadership(None)).unwrap();
    writes_reach_a_new_leader(&pool, &old, 3).await;
}

/// `test_on_checkout` with a paused leader (its sockets stay open): the first check times
/// out, and the pool retires the other idle connections to it then, instead of checking
/// each in turn at the cost of one request timeout each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkout_test_pays_one_timeout_for_a_paused_leader() {
    const REQUEST: Duration = Duration::from_secs(1);
    let mut cluster = crate::jepsen_faults::bare_cluster(3).start().unwrap();
    let config = common::config(&cluster, "checkout-paused").request_timeout(REQUEST);
    let pool = Pool::new(
        dqlite_client::Cluster::new(config),
        PoolOptions::default().max_size(4).test_on_checkout(true),
    );
    pool.execute("CREATE TABLE t (n)", &[]).await.unwrap();
    let warm = checked_out(&pool, 4).await;
    let old = warm[0].address().clone();
    drop(warm);
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).unwrap();
    cluster.pause(leader).unwrap();
    let started = Instant::now();
    let got = pool.get().await;
    let took = started.elapsed();
    cluster.resume(leader).unwrap();
    let mut conn = got.unwrap();
    assert_ne!(conn.address(), &old);
    conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    // One check timed out; the election (bare nodes: well under a second) overlaps it.
    assert!(took < REQUEST * 3, "{took:?}");
}

/// `n` connections of `pool`, all checked out at once (so that it opens `n`).
async fn checked_out(pool: &Pool, n: usize) -> Vec<dqlite_client::PooledConnection> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(pool.get().await.unwrap());
    }
    conns
}

/// `n` connections checked out of `pool` one after another, none to `old`, each of which
/// writes a row to `t`.
async fn writes_reach_a_new_leader(pool: &Pool, old: &dqlite_client::Address, n: i64) {
    for k in 0..n {
        let mut conn = pool.get().await.unwrap();
        assert_ne!(conn.address(), old, "a stale connection was handed out");
        conn.execute("INSERT INTO t VALUES (?)", &[Value::Integer(k)])
            .await
            .unwrap();
    }
}
