//! Pipelined batches: many EXECs in flight, answers read in order, the first failure
//! reported with its row.

use dqlite_client::{Error, ErrorKind, Value};

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_batch_inserts_every_row() {
    let cluster = common::start(3);
    let mut conn = common::client(&cluster, "batch").connect().await.unwrap();
    conn.execute("CREATE TABLE b (n INTEGER PRIMARY KEY, s TEXT)", &[])
        .await
        .unwrap();
    let rows: Vec<[Value; 2]> = (1..=5000)
        .map(|n| [Value::Integer(n), Value::from(format!("row {n}"))])
        .collect();
    conn.execute("BEGIN", &[]).await.unwrap();
    let result = conn
        .execute_many("INSERT INTO b VALUES (?, ?)", &rows, 64)
        .await
        .unwrap();
    conn.execute("COMMIT", &[]).await.unwrap();
    assert_eq!(result.rows_affected, 5000);
    assert_eq!(result.last_insert_id, 5000);
    let check = conn
        .query_all("SELECT count(*), sum(n), min(s), max(n) FROM b", &[])
        .await
        .unwrap();
    assert_eq!(
        check.rows[0].values(),
        [
            Value::Integer(5000),
            Value::Integer(5000 * 5001 / 2),
            Value::from("row 1"),
            Value::Integer(5000)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_failing_row_stops_the_batch() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "batch-fail")
        .connect()
        .await
        .unwrap();
    conn.execute("CREATE TABLE b (n INTEGER PRIMARY KEY)", &[])
        .await
        .unwrap();
    conn.execute("INSERT INTO b VALUES (500)", &[])
        .await
        .unwrap();
    let rows: Vec<[Value; 1]> = (0..1000).map(|n| [Value::Integer(n)]).collect();

    // In a transaction, with many rows in flight: roll back and nothing stays.
    conn.execute("BEGIN", &[]).await.unwrap();
    let err = conn
        .execute_many("INSERT INTO b VALUES (?)", &rows, 32)
        .await
        .unwrap_err();
    match &err {
        Error::Batch { row, .. } => assert_eq!(*row, 500),
        other => panic!("expected a batch error, got {other}"),
    }
    assert_eq!(err.kind(), ErrorKind::Constraint);
    assert!(!conn.is_broken());
    conn.execute("ROLLBACK", &[]).await.unwrap();
    let count = conn.query_all("SELECT count(*) FROM b", &[]).await.unwrap();
    assert_eq!(count.rows[0].values(), [Value::Integer(1)]);

    // One at a time: exactly the rows before the failure ran.
    let err = conn
        .execute_many("INSERT INTO b VALUES (?)", &rows, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Batch { row: 500, .. }), "{err}");
    let count = conn
        .query_all("SELECT count(*), max(n) FROM b", &[])
        .await
        .unwrap();
    assert_eq!(
        count.rows[0].values(),
        [Value::Integer(501), Value::Integer(500)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_checks_its_statement_and_each_rows_parameters() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "batch-check");
    let mut owner = client.connect().await.unwrap();
    let mut other = client.connect().await.unwrap();
    owner
        .execute("CREATE TABLE b (n INTEGER, m INTEGER)", &[])
        .await
        .unwrap();
    let statement = owner.prepare("INSERT INTO b VALUES (?, ?)").await.unwrap();
    let rows: Vec<Vec<Value>> = (0..10)
        .map(|n| vec![Value::Integer(n), Value::Integer(n)])
        .collect();

    // Another connection's statement: the first row fails, nothing is sent.
    let err = other
        .execute_prepared_many(&statement, &rows, 8)
        .await
        .unwrap_err();
    assert_invalid_input_at(&err, 0);
    assert!(!other.is_broken());
    // No rows, nothing to refuse.
    let none: Vec<Vec<Value>> = Vec::new();
    assert_eq!(
        other
            .execute_prepared_many(&statement, &none, 8)
            .await
            .unwrap()
            .rows_affected,
        0
    );

    // On its own connection, a row with the wrong parameter count fails at that row.
    let mut uneven = rows.clone();
    uneven[3] = vec![Value::Integer(3)];
    let err = owner
        .execute_prepared_many(&statement, &uneven, 1)
        .await
        .unwrap_err();
    assert_invalid_input_at(&err, 3);
    let count = other
        .query_all("SELECT count(*) FROM b", &[])
        .await
        .unwrap();
    assert_eq!(count.rows[0].values(), [Value::Integer(3)]);
    let result = owner
        .execute_prepared_many(&statement, &rows, 8)
        .await
        .unwrap();
    assert_eq!(result.rows_affected, 10);
}

/// `err` is a batch error at `row` for input the client refused (nothing sent for it).
fn assert_invalid_input_at(err: &Error, row: usize) {
    match err {
        Error::Batch { row: at, source } if *at == row => {
            assert!(matches!(**source, Error::InvalidInput(_)), "{source}")
        }
        other => panic!("expected a batch error at row {row}, got {other}"),
    }
}

/// A row the client refuses while earlier rows are still in flight: the batch still reads
/// their answers before it returns, so the connection's next request gets its own answer
/// (not the answer of a row of the batch) and the rows before the refused one all ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_refused_mid_window_leaves_no_answer_behind() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "batch-refused")
        .connect()
        .await
        .unwrap();
    conn.execute("CREATE TABLE b (n INTEGER PRIMARY KEY)", &[])
        .await
        .unwrap();
    let statement = conn.prepare("INSERT INTO b VALUES (?)").await.unwrap();
    let mut rows: Vec<Vec<Value>> = (1..=1000).map(|n| vec![Value::Integer(n)]).collect();
    rows[700] = vec![Value::Integer(701), Value::Integer(0)];
    let err = conn
        .execute_prepared_many(&statement, &rows, 32)
        .await
        .unwrap_err();
    assert_invalid_input_at(&err, 700);
    assert!(!conn.is_broken());
    let next = conn
        .execute("INSERT INTO b VALUES (5000)", &[])
        .await
        .unwrap();
    assert_eq!(next.last_insert_id, 5000);
    let count = conn
        .query_all("SELECT count(*), max(n) FROM b WHERE n < 5000", &[])
        .await
        .unwrap();
    assert_eq!(
        count.rows[0].values(),
        [Value::Integer(700), Value::Integer(700)]
    );
}
