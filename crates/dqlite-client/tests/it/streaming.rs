//! Large results are read frame by frame: memory stays flat, and an abandoned result
//! leaves the connection usable.

use dqlite_client::Value;

use crate::common;

/// Resident set size of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_rows_stream_with_flat_memory() {
    const ROWS: i64 = 1_000_000;
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "stream").connect().await.unwrap();
    conn.execute("CREATE TABLE big (n INTEGER, s TEXT)", &[])
        .await
        .unwrap();
    let inserted = conn
        .execute(
            "INSERT INTO big
             WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
             SELECT x, printf('row-%08d-padding-padding', x) FROM c",
            &[Value::Integer(ROWS)],
        )
        .await
        .unwrap();
    assert_eq!(inserted.rows_affected, ROWS as u64);

    let before = rss();
    let mut rows = conn
        .query("SELECT n, s FROM big ORDER BY n", &[])
        .await
        .unwrap();
    let mut expected = 1;
    let mut peak = before;
    while let Some(row) = rows.next().await.unwrap() {
        assert_eq!(row.get::<i64>(0).unwrap(), expected);
        if expected % 50_000 == 0 {
            peak = peak.max(rss());
        }
        expected += 1;
    }
    assert_eq!(expected - 1, ROWS);
    // The result is about 40 MB on the wire; reading it one frame at a time must not grow
    // the process by anything like that.
    let growth = peak.saturating_sub(before);
    assert!(
        growth < 16 * 1024 * 1024,
        "RSS grew by {growth} bytes while streaming"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_half_read_result_drains_it() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "drain").connect().await.unwrap();
    conn.execute(
        "CREATE TABLE m AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
         WHERE x < 5000) SELECT x AS id, 'value-' || x AS v FROM c",
        &[],
    )
    .await
    .unwrap();
    for _ in 0..3 {
        let mut rows = conn
            .query("SELECT id, v FROM m ORDER BY id", &[])
            .await
            .unwrap();
        // Take a few rows of the first frame, then abandon the rest.
        for _ in 0..3 {
            rows.next().await.unwrap().unwrap();
        }
        drop(rows);
        // The next request must see its own answer, not the tail of the old result.
        let count = conn.query_all("SELECT count(*) FROM m", &[]).await.unwrap();
        assert_eq!(count.rows[0].values(), [Value::Integer(5000)]);
    }
    assert!(!conn.is_broken());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_are_handed_out_whole() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "frames").connect().await.unwrap();
    let mut rows = conn
        .query(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300) \
             SELECT x, 'value-' || x FROM c",
            &[],
        )
        .await
        .unwrap();
    let mut frames = 0;
    let mut total = 0;
    while let Some(frame) = rows.next_frame().await.unwrap() {
        frames += 1;
        total += frame.row_count();
    }
    assert_eq!(total, 300);
    // 300 small rows take several page-sized frames (docs/protocol.md §11, V11).
    assert!(frames >= 2, "{frames} frames");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_whose_names_fill_a_page_is_refused() {
    // The server would send empty PART frames forever (docs/protocol.md §4.5).
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "wide").connect().await.unwrap();
    let columns: Vec<String> = (0..400).map(|i| format!("1 AS col_{i:05}")).collect();
    let sql = format!("SELECT {}", columns.join(", "));
    let err = match conn.query(&sql, &[]).await {
        Ok(mut rows) => loop {
            match rows.next().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the endless result ended"),
                Err(e) => break e,
            }
        },
        Err(e) => e,
    };
    assert_eq!(err.kind(), dqlite_client::ErrorKind::Protocol, "{err}");
    assert!(conn.is_broken());
}
