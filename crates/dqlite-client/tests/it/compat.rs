//! Behaviour that differs between server versions (docs/protocol.md §9) works the
//! same through the client.

use std::time::{Duration, Instant};

use dqlite_client::{Error, ErrorKind, Value};

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_255_parameters() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "params").connect().await.unwrap();
    let placeholders = vec!["?"; 300].join(" + ");
    let params: Vec<Value> = (1..=300).map(Value::Integer).collect();
    let result = conn
        .query_all(&format!("SELECT {placeholders}"), &params)
        .await;
    if common::is_118(&cluster) {
        // Schema 1 tuples (32-bit count), after a capability probe.
        let rows = result.unwrap();
        assert_eq!(rows.rows[0].values(), [Value::Integer(300 * 301 / 2)]);
    } else {
        // 1.11 would misread a schema 1 tuple: refused before sending.
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(!conn.is_broken());
    }
    // 255 always works, with schema 0.
    let params: Vec<Value> = (1..=255).map(Value::Integer).collect();
    let rows = conn
        .query_all(&format!("SELECT {}", vec!["?"; 255].join(" + ")), &params)
        .await
        .unwrap();
    assert_eq!(rows.rows[0].values(), [Value::Integer(255 * 256 / 2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_every_statement_with_true_counts() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "script").connect().await.unwrap();
    let result = conn
        .execute_script(
            "CREATE TABLE s (n INTEGER, t TEXT);
             -- a comment with a ; inside
             INSERT INTO s VALUES (1, 'a;b'), (2, 'it''s');
             CREATE TRIGGER s_ins AFTER INSERT ON s BEGIN
               UPDATE s SET t = t || '!' WHERE n = new.n;
             END;
             INSERT INTO s VALUES (3, 'c');
             SELECT * FROM s;
             UPDATE s SET n = n + 10;   ",
        )
        .await
        .unwrap();
    // 2 + 1 inserted, 3 updated (trigger changes are not counted by SQLite).
    assert_eq!(result.rows_affected, 6);
    let rows = conn
        .query_all("SELECT n, t FROM s ORDER BY n", &[])
        .await
        .unwrap();
    let got: Vec<Vec<Value>> = rows.rows.into_iter().map(|r| r.into_values()).collect();
    assert_eq!(
        got,
        [
            vec![Value::Integer(11), Value::from("a;b")],
            vec![Value::Integer(12), Value::from("it's")],
            vec![Value::Integer(13), Value::from("c!")],
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_query_are_sent_as_exec() {
    // On 1.11 a write through QUERY bypasses replication and aborts the leader later
    // (docs/protocol.md §10.4); the client must route it to EXEC.
    let cluster = common::start(3);
    let mut conn = common::client(&cluster, "route").connect().await.unwrap();
    conn.execute("CREATE TABLE r (n INTEGER)", &[])
        .await
        .unwrap();
    for i in 0..5 {
        let rows = conn
            .query("INSERT INTO r VALUES (?)", &[Value::Integer(i)])
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap();
        assert!(rows.columns.is_empty() && rows.rows.is_empty());
    }
    // Later writes still work and every write was replicated.
    conn.execute("INSERT INTO r VALUES (99)", &[])
        .await
        .unwrap();
    let count = conn.query_all("SELECT count(*) FROM r", &[]).await.unwrap();
    assert_eq!(count.rows[0].values(), [Value::Integer(6)]);
    assert!(cluster.leader().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returning_is_refused_on_servers_that_would_lose_it() {
    // RETURNING rows come back only from dqlite 1.18.2: refused before sending on Debian
    // 12's 1.11.1 and Debian 13's 1.18.1, served by the newest (latest).
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "returning")
        .connect()
        .await
        .unwrap();
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)", &[])
        .await
        .unwrap();
    let result = conn
        .query_all("INSERT INTO t (v) VALUES (1) RETURNING id", &[])
        .await;
    let inserted = if cluster.version().min_library() >= (1, 18, 2) {
        let rows = result.unwrap();
        assert_eq!(rows.rows[0].values(), [Value::Integer(1)]);
        1
    } else {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        0
    };
    let count = conn.query_all("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(count.rows[0].values(), [Value::Integer(inserted)]);
}

/// Whether the server returns RETURNING rows is learnt without waiting for anything:
/// not for the write lock another session holds in an open transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_returning_probe_does_not_wait_behind_another_sessions_transaction() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "probe");
    let mut writer = client.connect().await.unwrap();
    writer
        .execute("CREATE TABLE t (id INTEGER PRIMARY KEY)", &[])
        .await
        .unwrap();
    writer.execute("BEGIN", &[]).await.unwrap();
    writer
        .execute("INSERT INTO t VALUES (1)", &[])
        .await
        .unwrap();
    let mut other = client.connect().await.unwrap();
    other.set_request_timeout(Duration::from_secs(3));
    let started = Instant::now();
    // A table that does not exist: the statement itself fails as soon as it is compiled.
    let err = other
        .query_all("DELETE FROM missing RETURNING 1", &[])
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    if cluster.version().min_library() >= (1, 18, 2) {
        assert_eq!(err.kind(), ErrorKind::Sql, "{err}");
        assert!(err.to_string().contains("no such table"), "{err}");
    } else {
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}: {err}");
    writer.execute("COMMIT", &[]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_are_reused_and_finalized() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "prepared");
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE p (a INTEGER, b TEXT)", &[])
        .await
        .unwrap();
    let insert = conn.prepare("INSERT INTO p VALUES (?, ?)").await.unwrap();
    assert_eq!(insert.param_count(), 2);
    for i in 0..10 {
        let r = conn
            .execute_prepared(&insert, &[Value::Integer(i), Value::from(format!("b{i}"))])
            .await
            .unwrap();
        assert_eq!(r.rows_affected, 1);
    }
    // Missing parameters would keep stale bindings on servers before 1.18.2: refused.
    let err = conn
        .execute_prepared(&insert, &[Value::Integer(1)])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let select = conn
        .prepare("SELECT b FROM p WHERE a >= ? ORDER BY a")
        .await
        .unwrap();
    let rows = conn
        .query_prepared(&select, &[Value::Integer(8)])
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rows.rows.len(), 2);
    // A statement of another connection is refused, never sent (an unknown id can crash
    // a node).
    let mut other = client.connect().await.unwrap();
    let err = other
        .query_prepared(&select, &[Value::Integer(0)])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    conn.finalize(select).await.unwrap();
    conn.finalize(insert).await.unwrap();
    // Further statements get fresh ids and work.
    let again = conn.prepare("SELECT count(*) FROM p").await.unwrap();
    let rows = conn
        .query_prepared(&again, &[])
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rows.rows[0].values(), [Value::Integer(10)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_die_with_leadership_and_are_never_resent() {
    // docs/protocol.md §10.1: a statement id invalidated by a leadership change must never
    // reach the node again. The client learns of the change from the first failure, drops
    // every id of the connection, and refuses the statements from then on.
    let cluster = common::start(3);
    let client = common::client(&cluster, "stale-ids");
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE s (n INTEGER)", &[])
        .await
        .unwrap();
    let keep = conn.prepare("SELECT count(*) FROM s").await.unwrap();
    let insert = conn.prepare("INSERT INTO s VALUES (?)").await.unwrap();
    let extra = conn.prepare("SELECT 1").await.unwrap();
    conn.finalize(extra).await.unwrap();
    let old_leader = conn.address().to_string();

    // Move leadership away behind the connection's back.
    let mut admin = client.connect_leader().await.unwrap();
    admin.transfer_leadership(None).await.unwrap();
    drop(admin);

    // The first use fails with a leadership error (the node closed our statements)...
    let err = conn
        .execute_prepared(&insert, &[Value::Integer(1)])
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::NotLeader | ErrorKind::OutcomeUnknown),
        "{err}"
    );
    assert!(conn.is_broken());
    // ...and nothing is sent afterwards: the other statement is refused locally.
    let err = conn.query_prepared(&keep, &[]).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Closed | ErrorKind::InvalidInput),
        "{err}"
    );
    // The old leader survived the stale id and still answers.
    let address = old_leader.parse().unwrap();
    let mut probe = dqlite_client::Connection::handshake(&address, &common::config(&cluster, "x"))
        .await
        .unwrap();
    probe.leader().await.unwrap();
    // The data path works on the new leader.
    let mut conn = client.connect().await.unwrap();
    let n = conn.query_all("SELECT count(*) FROM s", &[]).await.unwrap();
    assert_eq!(n.rows[0].values(), [Value::Integer(0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_statement_run_without_its_parameters_is_refused() {
    // Servers before 1.18.2 keep the values of a statement's previous execution for the
    // parameters a request leaves out (docs/protocol.md §10.17): run with none, a statement
    // would silently use them.
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "unbound").connect().await.unwrap();
    conn.execute("CREATE TABLE u (n INTEGER)", &[])
        .await
        .unwrap();
    let select = conn.prepare("SELECT ?").await.unwrap();
    let earlier = conn
        .query_prepared(&select, &[Value::from("earlier")])
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(earlier.rows[0].values(), [Value::from("earlier")]);
    let err = conn.query_prepared(&select, &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    let insert = conn.prepare("INSERT INTO u VALUES (?)").await.unwrap();
    conn.execute_prepared(&insert, &[Value::Integer(7)])
        .await
        .unwrap();
    let err = conn.execute_prepared(&insert, &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = conn
        .execute_prepared_many(&insert, [vec![Value::Integer(8)], vec![]], 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Batch { row: 1, .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let rows = conn.query_all("SELECT n FROM u", &[]).await.unwrap();
    assert_eq!(rows.rows.len(), 2, "{rows:?}");

    // Statements that take parameters are still finalized.
    conn.finalize(select).await.unwrap();
    conn.finalize(insert).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_with_returning_is_never_sent_as_a_statement_without_rows() {
    // Sent as EXEC or EXEC_SQL, an INSERT ... RETURNING stops at its first row with its
    // write half done: a 1.11 or 1.18.1 leader then aborts at the next write
    // (vfsFileShmLock: Assertion `wal->n_tx == 0'), a newer one keeps the write lock.
    let cluster = common::start(1);
    let client = common::client(&cluster, "returning-exec");
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE r (n INTEGER PRIMARY KEY, v TEXT)", &[])
        .await
        .unwrap();
    let returning = "INSERT INTO r (v) VALUES ('a') RETURNING n";
    let err = conn.execute(returning, &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let statement = conn.prepare(returning).await.unwrap();
    let err = conn.execute_prepared(&statement, &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    conn.finalize(statement).await.unwrap();
    // A script runs it as a query, as query() does: on servers that return its rows.
    let script = format!("{returning}; INSERT INTO r (v) VALUES ('b')");
    if let Err(err) = conn.execute_script(&script).await {
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }
    // The node is alive, and writes from another connection go through.
    let mut other = client.connect().await.unwrap();
    for _ in 0..3 {
        other
            .execute("INSERT INTO r (v) VALUES ('z')", &[])
            .await
            .unwrap();
    }
    assert!(conn.is_reusable());
    let logs = cluster.logs(0).unwrap();
    assert!(!logs.contains("Assertion"), "{logs}");
}
