//! Writing and reading every value type through a real cluster.

use dqlite_client::{Value, blocking};

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_value_type_round_trips() {
    let cluster = common::start(3);
    let mut conn = common::client(&cluster, "crud").connect().await.unwrap();
    conn.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, f REAL, s TEXT, b BLOB, n)",
        &[],
    )
    .await
    .unwrap();
    let big_blob: Vec<u8> = (0..5 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let rows = vec![
        vec![
            Value::Integer(i64::MAX),
            Value::Float(-0.0),
            Value::from("ünïcödé ✓ 日本語 🦀"),
            Value::Blob(vec![0, 1, 2, 0xff]),
            Value::Null,
        ],
        vec![
            Value::Integer(i64::MIN),
            Value::Float(f64::MAX),
            Value::from(""),
            Value::Blob(Vec::new()),
            Value::Integer(7),
        ],
        vec![
            Value::Integer(0),
            Value::Float(1.5e-300),
            Value::from("x".repeat(100_000)),
            Value::Blob(big_blob.clone()),
            Value::from("text in an untyped column"),
        ],
    ];
    for (id, row) in rows.iter().enumerate() {
        let mut params = vec![Value::Integer(id as i64 + 1)];
        params.extend(row.iter().cloned());
        let result = conn
            .execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", &params)
            .await
            .unwrap();
        assert_eq!(result.rows_affected, 1);
        assert_eq!(result.last_insert_id, id as i64 + 1);
    }
    let back = conn
        .query_all("SELECT i, f, s, b, n FROM t ORDER BY id", &[])
        .await
        .unwrap();
    assert_eq!(back.columns, ["i", "f", "s", "b", "n"]);
    let values: Vec<Vec<Value>> = back.rows.into_iter().map(|r| r.into_values()).collect();
    assert_eq!(values, rows);
    // The 5 MiB blob came back byte for byte, through a frame far larger than a page.
    assert_eq!(values[2][3], Value::Blob(big_blob));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_delete_and_counts() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "counts").connect().await.unwrap();
    conn.execute_script(
        "CREATE TABLE t (n INTEGER);
         INSERT INTO t VALUES (1), (2), (3), (4);",
    )
    .await
    .unwrap();
    let updated = conn
        .execute(
            "UPDATE t SET n = n * 10 WHERE n > ?  ",
            &[Value::Integer(1)],
        )
        .await
        .unwrap();
    // The trailing blanks are stripped, so 1.11 reports the true count too.
    assert_eq!(updated.rows_affected, 3);
    let deleted = conn
        .execute("DELETE FROM t WHERE n = 20 -- trailing comment", &[])
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected, 1);
    // DDL reports no changes, not the previous statement's stale count.
    let ddl = conn
        .execute("CREATE INDEX t_n ON t (n)", &[])
        .await
        .unwrap();
    assert_eq!(ddl.rows_affected, 0);
    let rows = conn
        .query_all("SELECT n FROM t ORDER BY n", &[])
        .await
        .unwrap();
    let ns: Vec<Value> = rows
        .rows
        .into_iter()
        .map(|r| r.into_values().remove(0))
        .collect();
    assert_eq!(
        ns,
        [Value::Integer(1), Value::Integer(30), Value::Integer(40)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_and_boolean_columns_use_the_special_types() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "types").connect().await.unwrap();
    conn.execute(
        "CREATE TABLE e (flag BOOLEAN, ts DATETIME, d DATE, tsi TIMESTAMP)",
        &[],
    )
    .await
    .unwrap();
    conn.execute(
        "INSERT INTO e VALUES (?, ?, ?, ?)",
        &[
            Value::Boolean(true),
            Value::from("2024-01-02 03:04:05.123456789+00:00"),
            Value::Iso8601("2024-01-02".into()),
            Value::Integer(1_700_000_000),
        ],
    )
    .await
    .unwrap();
    conn.execute("INSERT INTO e VALUES (NULL, NULL, NULL, NULL)", &[])
        .await
        .unwrap();
    let rows = conn.query_all("SELECT * FROM e", &[]).await.unwrap();
    assert_eq!(
        rows.rows[0].values(),
        [
            Value::Boolean(true),
            Value::Iso8601("2024-01-02 03:04:05.123456789+00:00".into()),
            Value::Iso8601("2024-01-02".into()),
            Value::UnixTime(1_700_000_000),
        ]
    );
    // What the server sends for NULL in such columns (docs/protocol.md §4.1).
    assert_eq!(
        rows.rows[1].values(),
        [
            Value::Boolean(false),
            Value::Iso8601(String::new()),
            Value::Iso8601(String::new()),
            Value::Iso8601(String::new()),
        ]
    );
}

#[test]
fn blocking_api_reads_and_writes() {
    let cluster = common::start(3);
    let client = blocking::Cluster::new(common::config(&cluster, "blocking")).unwrap();
    let mut conn = client.connect().unwrap();
    conn.execute("CREATE TABLE t (k TEXT, v INTEGER)", &[])
        .unwrap();
    conn.execute("BEGIN", &[]).unwrap();
    for i in 0..100 {
        conn.execute(
            "INSERT INTO t VALUES (?, ?)",
            &[Value::from(format!("k{i}")), Value::Integer(i)],
        )
        .unwrap();
    }
    conn.execute("COMMIT", &[]).unwrap();
    let mut sum = 0;
    let mut count = 0;
    for row in conn.query("SELECT v FROM t", &[]).unwrap() {
        sum += row.unwrap().get::<i64>(0).unwrap();
        count += 1;
    }
    assert_eq!((count, sum), (100, (0..100).sum::<i64>()));
    let statement = conn.prepare("SELECT k FROM t WHERE v = ?").unwrap();
    let rows: Vec<_> = conn
        .query_prepared(&statement, &[Value::Integer(42)])
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows[0].values(), [Value::from("k42")]);
    conn.finalize(statement).unwrap();
}

/// The blocking API's socket calls (one `recv` into a bounded scratch buffer) carry large
/// results and pipelined batches whole.
#[test]
fn blocking_api_streams_large_results_and_pipelines_batches() {
    let cluster = common::start(1);
    let client = blocking::Cluster::new(common::config(&cluster, "blocking-large")).unwrap();
    let mut conn = client.connect().unwrap();
    conn.execute("CREATE TABLE t (n INTEGER, s TEXT)", &[])
        .unwrap();
    conn.execute("BEGIN", &[]).unwrap();
    let rows = (0..20_000i64).map(|i| [Value::Integer(i), Value::from(format!("{i:0>200}"))]);
    let done = conn
        .execute_many("INSERT INTO t VALUES (?, ?)", rows, 256)
        .unwrap();
    assert_eq!(done.rows_affected, 20_000);
    conn.execute("COMMIT", &[]).unwrap();
    let (mut count, mut sum, mut text_bytes) = (0i64, 0i64, 0usize);
    for row in conn.query("SELECT n, s FROM t ORDER BY n", &[]).unwrap() {
        let row = row.unwrap();
        match row.values() {
            [Value::Integer(n), Value::Text(s)] => {
                assert_eq!(*s, format!("{n:0>200}"));
                assert_eq!(*n, count);
                sum += n;
                text_bytes += s.len();
            }
            other => panic!("unexpected row {other:?}"),
        }
        count += 1;
    }
    assert_eq!((count, sum), (20_000, (0..20_000).sum::<i64>()));
    assert_eq!(text_bytes, 20_000 * 200);
}

/// Frames far over the bounce buffer (read straight into the connection's buffer) come
/// back byte for byte through the blocking API, and the frames after them stay in step.
#[test]
fn blocking_api_reads_large_frames_whole() {
    let cluster = common::start(1);
    let client = blocking::Cluster::new(common::config(&cluster, "blocking-blobs")).unwrap();
    let mut conn = client.connect().unwrap();
    conn.execute("CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)", &[])
        .unwrap();
    // Sizes around the direct-read threshold (128 KiB) and its largest read (1 MiB).
    let sizes = [
        100_000usize,
        131_072,
        131_073,
        1_048_576 + 9,
        6 * 1024 * 1024 + 3,
    ];
    let blobs: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(k, &len)| (0..len).map(|i| ((i * 7 + k) % 253) as u8).collect())
        .collect();
    for (id, blob) in blobs.iter().enumerate() {
        conn.execute(
            "INSERT INTO b VALUES (?, ?)",
            &[Value::Integer(id as i64), Value::Blob(blob.clone())],
        )
        .unwrap();
    }
    for _ in 0..2 {
        for (id, blob) in blobs.iter().enumerate() {
            let back = conn
                .query_all("SELECT v FROM b WHERE id = ?", &[Value::Integer(id as i64)])
                .unwrap();
            assert_eq!(back.rows.len(), 1);
            assert!(
                back.rows[0].values() == [Value::Blob(blob.clone())],
                "blob {id} ({} bytes) differs",
                blob.len()
            );
            let small = conn.query_all("SELECT ?", &[Value::Integer(7)]).unwrap();
            assert_eq!(small.rows[0].values(), [Value::Integer(7)]);
        }
    }
    let all = conn.query_all("SELECT v FROM b ORDER BY id", &[]).unwrap();
    let values: Vec<Value> = all.rows.into_iter().flat_map(|r| r.into_values()).collect();
    assert!(values == blobs.into_iter().map(Value::Blob).collect::<Vec<_>>());
}
