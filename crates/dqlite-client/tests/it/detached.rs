//! A result detached from its connection (`Rows::detach`) is read with the connection
//! lent per call, and only with the connection and the request it came from.

use dqlite_client::{ErrorKind, Value, ValueRef};

use crate::common;

const COUNT: &str = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?) \
     SELECT n, printf('%0100d', n) FROM c";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_result_reads_with_its_connection_lent_per_call() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "detached");
    let mut conn = client.connect().await.unwrap();
    let mut other = client.connect().await.unwrap();
    let mut stream = conn
        .query(COUNT, &[Value::Integer(5_000)])
        .await
        .unwrap()
        .detach();
    assert_eq!(stream.columns().len(), 2);
    // The first frame was read with the query.
    let mut frames = vec![stream.next_frame(&mut other).await.unwrap().unwrap()];
    // Another connection cannot read the next one, and is left alone.
    let err = stream.next_frame(&mut other).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    other.query_all("SELECT 1", &[]).await.unwrap();
    while let Some(frame) = stream.next_frame(&mut conn).await.unwrap() {
        frames.push(frame);
    }
    let mut seen = 0;
    for frame in frames {
        for row in frame.rows() {
            seen += 1;
            assert_eq!(row.get(0), Some(ValueRef::Integer(seen)));
        }
    }
    assert_eq!(seen, 5_000);
    assert!(stream.is_done());
    conn.query_all("SELECT 1", &[]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_result_is_refused_once_its_connection_moved_on() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "moved_on")
        .connect()
        .await
        .unwrap();
    let mut first = conn
        .query(COUNT, &[Value::Integer(5_000)])
        .await
        .unwrap()
        .detach();
    // The first frame came with the query, the second from the connection.
    assert!(first.next_frame(&mut conn).await.unwrap().is_some());
    assert!(first.next_frame(&mut conn).await.unwrap().is_some());
    // Dropping or ignoring the stream leaves the rest to be drained by the next request.
    let second = conn.query_all("SELECT 42", &[]).await.unwrap();
    assert_eq!(second.rows[0].value(0), Some(&Value::Integer(42)));
    let err = first.next_frame(&mut conn).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    // The connection was not touched by the refused read.
    let third = conn.query_all("SELECT 7", &[]).await.unwrap();
    assert_eq!(third.rows[0].value(0), Some(&Value::Integer(7)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_column_names_are_given_up_only_by_a_result_read_to_its_end() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "take_columns")
        .connect()
        .await
        .unwrap();
    let mut long = conn
        .query(COUNT, &[Value::Integer(5_000)])
        .await
        .unwrap()
        .detach();
    // Frames follow: their reading needs the names, which stay.
    assert_eq!(long.take_columns(), None);
    assert_eq!(long.columns().len(), 2);
    while long.next_frame(&mut conn).await.unwrap().is_some() {}
    assert_eq!(
        long.take_columns(),
        Some(vec!["n".to_owned(), "printf('%0100d', n)".to_owned()])
    );
    assert!(long.columns().is_empty());

    let mut rows = conn.query("SELECT 1 AS one", &[]).await.unwrap();
    assert!(rows.next_frame().await.unwrap().is_some());
    let mut short = rows.detach();
    assert_eq!(short.take_columns(), Some(vec!["one".to_owned()]));
    // The connection is in step.
    let after = conn.query_all("SELECT 7", &[]).await.unwrap();
    assert_eq!(after.rows[0].value(0), Some(&Value::Integer(7)));
}
