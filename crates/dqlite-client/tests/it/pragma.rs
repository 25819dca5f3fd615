//! PRAGMAs on a real cluster: the setting forms (`= value` and `(value)`) are sent as EXEC
//! and replicated, the reading forms come back with their rows (issue 13, defect 1: on
//! 1.11 `PRAGMA user_version(5)` went out as QUERY, failed with "not an error" and left
//! the value at 0).

use dqlite_client::{Value, blocking};

use crate::common;

fn single(rows: &dqlite_client::QueryResult) -> Value {
    assert_eq!(rows.rows.len(), 1, "{rows:?}");
    rows.rows[0].values()[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pragma_settings_apply_and_pragma_reads_return_rows() {
    let cluster = common::start(3);
    let client = common::client(&cluster, "pragma");
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)", &[])
        .await
        .unwrap();
    conn.execute("CREATE INDEX i ON t (b)", &[]).await.unwrap();

    // The function form through every entry point: execute, query, a script.
    conn.execute("PRAGMA user_version(5)", &[]).await.unwrap();
    let mut other = client.connect().await.unwrap();
    let read = other.query_all("PRAGMA user_version", &[]).await.unwrap();
    assert_eq!(read.columns, ["user_version"]);
    assert_eq!(single(&read), Value::Integer(5));

    let result = conn
        .query_all("PRAGMA main.user_version(6)", &[])
        .await
        .unwrap();
    assert!(result.rows.is_empty(), "{result:?}");
    let read = other
        .query_all("PRAGMA main.user_version", &[])
        .await
        .unwrap();
    assert_eq!(single(&read), Value::Integer(6));

    conn.execute_script("PRAGMA application_id(77); PRAGMA user_version = 7;")
        .await
        .unwrap();
    let read = other.query_all("PRAGMA application_id", &[]).await.unwrap();
    assert_eq!(single(&read), Value::Integer(77));
    let read = other.query_all("PRAGMA user_version", &[]).await.unwrap();
    assert_eq!(single(&read), Value::Integer(7));

    // Reads with an argument, as SQLAlchemy's reflection issues them.
    let info = other
        .query_all("PRAGMA main.table_info(\"t\")", &[])
        .await
        .unwrap();
    let names: Vec<Value> = info.rows.iter().map(|r| r.values()[1].clone()).collect();
    assert_eq!(names, [Value::from("a"), Value::from("b")]);
    let indexes = other.query_all("PRAGMA index_list(t)", &[]).await.unwrap();
    assert_eq!(indexes.rows.len(), 1, "{indexes:?}");
    let check = other.query_all("PRAGMA quick_check", &[]).await.unwrap();
    assert_eq!(single(&check), Value::from("ok"));

    // The same from the blocking API, on the values the async side wrote.
    drop((conn, other));
    let config = common::config(&cluster, "pragma");
    // On a thread of its own: the blocking API refuses to run inside a runtime.
    std::thread::spawn(move || {
        let mut conn = blocking::Cluster::new(config).unwrap().connect().unwrap();
        conn.execute("PRAGMA user_version(8)", &[]).unwrap();
        let read = conn.query_all("PRAGMA user_version", &[]).unwrap();
        assert_eq!(single(&read), Value::Integer(8));
    })
    .join()
    .unwrap();
}
