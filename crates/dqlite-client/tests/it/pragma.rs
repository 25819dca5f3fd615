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

/// A connection setting that returns its new value (`PRAGMA max_page_count = N`) comes
/// back with that row, as from SQLite, where it used to fail with "another row available"
/// after the setting had been applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_that_returns_its_value_returns_the_row() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "pragma-set");
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (a INTEGER)", &[])
        .await
        .unwrap();
    let set = conn
        .query_all("PRAGMA max_page_count = 5000", &[])
        .await
        .unwrap();
    assert_eq!(set.columns, ["max_page_count"]);
    assert_eq!(single(&set), Value::Integer(5000));
    let read = conn.query_all("PRAGMA max_page_count", &[]).await.unwrap();
    assert_eq!(single(&read), Value::Integer(5000));
    let set = conn
        .query_all("PRAGMA main.mmap_size(0)", &[])
        .await
        .unwrap();
    // dqlite's file system has no memory map: the size it reports is not the one asked.
    assert_eq!(set.columns, ["mmap_size"]);
    assert!(matches!(single(&set), Value::Integer(_)), "{set:?}");
    let set = conn
        .query_all("PRAGMA journal_size_limit = 65536", &[])
        .await
        .unwrap();
    assert_eq!(single(&set), Value::Integer(65536));
    // The connection is in sync: the table is still there, and writes still replicate.
    conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    let rows = conn.query_all("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(single(&rows), Value::Integer(1));
}
