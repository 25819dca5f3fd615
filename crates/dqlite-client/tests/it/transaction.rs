//! `Connection::transaction`: commit, rollback, and rollback of a transaction dropped
//! unfinished (before the connection's next request, also when the connection went back to
//! a pool), for the async and the blocking API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dqlite_client::{Cluster, Config, Pool, PoolOptions, Value, blocking};
use dqlite_testkit::fake::FakeNode;
use dqlite_wire::Response;

use crate::common;
use crate::fake::{frame, lead};

async fn count(conn: &mut dqlite_client::Connection) -> i64 {
    let rows = conn.query_all("SELECT count(*) FROM t", &[]).await.unwrap();
    match rows.rows[0].values() {
        [Value::Integer(n)] => *n,
        other => panic!("unexpected count {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_roll_back_and_roll_back_when_dropped() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "tx");
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();

    let mut tx = conn.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&mut conn).await, 1);

    let mut tx = conn.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&mut conn).await, 1);

    // Dropped unfinished, as by `?` or an early return: rolled back before the next
    // request, which then runs in autocommit.
    {
        let mut tx = conn.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (3)", &[]).await.unwrap();
        assert_eq!(count(&mut tx).await, 2);
    }
    conn.execute("INSERT INTO t VALUES (4)", &[]).await.unwrap();
    assert_eq!(count(&mut conn).await, 2);
    // Nothing is left open: a new transaction can start.
    conn.transaction().await.unwrap().commit().await.unwrap();

    // A transaction whose future is cut off mid-way is dropped too.
    let cut = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut tx = conn.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (5)", &[]).await.unwrap();
        std::future::pending::<()>().await;
    })
    .await;
    assert!(cut.is_err());
    assert_eq!(count(&mut conn).await, 2);

    // Another connection sees only what was committed.
    let mut other = client.connect().await.unwrap();
    let rows = other
        .query_all("SELECT n FROM t ORDER BY n", &[])
        .await
        .unwrap();
    let seen: Vec<_> = rows.rows.iter().map(|r| r.values().to_vec()).collect();
    assert_eq!(seen, [[Value::Integer(1)], [Value::Integer(4)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_on_a_pooled_connection_is_rolled_back_for_the_next_user() {
    let cluster = common::start(1);
    let pool = Pool::new(
        common::client(&cluster, "tx-pool"),
        PoolOptions::default().max_size(1),
    );
    let mut conn = pool.get().await.unwrap();
    conn.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    {
        let mut tx = conn.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    }
    drop(conn);
    // The same connection (the pool holds one): BEGIN works, the insert is gone.
    let mut conn = pool.get().await.unwrap();
    let mut tx = conn.transaction().await.unwrap();
    assert_eq!(count(&mut tx).await, 0);
    tx.commit().await.unwrap();
}

#[test]
fn blocking_transactions_roll_back_when_dropped() {
    let cluster = common::start(1);
    let client = blocking::Cluster::new(common::config(&cluster, "tx-blocking")).unwrap();
    let mut conn = client.connect().unwrap();
    conn.execute("CREATE TABLE t (n INTEGER)", &[]).unwrap();
    let mut tx = conn.transaction().unwrap();
    tx.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
    tx.commit().unwrap();
    {
        let mut tx = conn.transaction().unwrap();
        tx.execute("INSERT INTO t VALUES (2)", &[]).unwrap();
    }
    let rows = conn.query_all("SELECT n FROM t", &[]).unwrap();
    assert_eq!(rows.rows.len(), 1);
    assert_eq!(rows.rows[0].values(), [Value::Integer(1)]);
    let tx = conn.transaction().unwrap();
    tx.rollback().unwrap();
}

/// A fake leader that records the SQL of each EXEC_SQL and answers RESULT, except the first
/// ROLLBACK, which it refuses as a real node does during a checkpoint.
fn refusing_the_first_rollback(sent: Arc<Mutex<Vec<String>>>) -> FakeNode {
    FakeNode::start(move |conn, address| {
        lead(conn, address)?;
        let mut refused = false;
        loop {
            conn.read_request()?;
            let body = conn
                .requests
                .last()
                .map(|r| r.2.clone())
                .unwrap_or_default();
            // db_id (one word), then the NUL-terminated SQL text.
            let text = body.get(8..).unwrap_or_default();
            let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
            let sql = String::from_utf8_lossy(&text[..end]).into_owned();
            let rollback = sql == "ROLLBACK";
            sent.lock().unwrap().push(sql);
            if rollback && !refused {
                refused = true;
                conn.write(&frame(&Response::Failure {
                    code: 5,
                    message: "checkpoint in progress".into(),
                }))?;
            } else {
                conn.write(&frame(&Response::Result {
                    last_insert_id: 0,
                    rows_affected: 0,
                }))?;
            }
        }
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_rollback_of_a_dropped_transaction_is_sent_again() {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let node = refusing_the_first_rollback(sent.clone());
    let config = Config::new([node.address()])
        .unwrap()
        .request_timeout(Duration::from_secs(2));
    let mut conn = Cluster::new(config).connect().await.unwrap();
    {
        let mut tx = conn.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    }
    // The ROLLBACK goes out first, and is refused: this call fails.
    let err = conn
        .execute("INSERT INTO t VALUES (2)", &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("checkpoint"), "{err}");
    // The transaction is still open on the node: the next statement must not run in it.
    conn.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
    assert_eq!(
        *sent.lock().unwrap(),
        [
            "BEGIN",
            "INSERT INTO t VALUES (1)",
            "ROLLBACK",
            "ROLLBACK",
            "INSERT INTO t VALUES (2)"
        ]
    );
}
