//! A connection's buffers after a large frame (issue 14, found while measuring the soak's
//! heap): they go back to their usual size once ordinary frames follow (16 in a row; a
//! connection that keeps moving large frames keeps its buffers, see `conn/trim.rs`), so a
//! pool whose connections each once sent or read a big value does not keep that much
//! memory per connection for the rest of its life (up to the frame cap, 64 MiB, each).
//!
//! Measured with the test binary's counting allocator, which counts the whole process:
//! run these under nextest (a process per test, as the test command does).

use dqlite_client::Value;

use crate::{common, heap};

/// The big value: well above the buffers' usual sizes (16 KiB to read, 4 KiB to write).
const BIG: usize = 4 << 20;
/// What may stay allocated after the big value is gone (the usual buffers, a prepared
/// statement, tokio's and the test kit's own bookkeeping).
const SLACK: usize = 512 << 10;

#[tokio::test]
async fn buffers_shrink_after_a_large_frame() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "buffers").connect().await.unwrap();
    conn.execute("CREATE TABLE t (b BLOB)", &[]).await.unwrap();
    conn.execute("INSERT INTO t VALUES (x'00')", &[])
        .await
        .unwrap();
    conn.query_all("SELECT b FROM t", &[]).await.unwrap();
    let before = heap::live_bytes();

    // A big request, then a big response, on the same connection.
    conn.execute("UPDATE t SET b = ?", &[Value::Blob(vec![7; BIG])])
        .await
        .unwrap();
    let result = conn.query_all("SELECT b FROM t", &[]).await.unwrap();
    assert_eq!(result.rows.len(), 1);
    assert_eq!(result.rows[0].values(), [Value::Blob(vec![7; BIG])]);
    drop(result);

    // Ordinary requests and answers follow: the buffers are given back, the connection
    // stays usable, and small frames do not grow anything again.
    conn.execute("UPDATE t SET b = x'01'", &[]).await.unwrap();
    for _ in 0..20 {
        let small = conn.query_all("SELECT b FROM t", &[]).await.unwrap();
        assert_eq!(small.rows[0].values(), [Value::Blob(vec![1])]);
    }
    let after = heap::live_bytes();
    assert!(
        after <= before + SLACK,
        "the connection kept {} KiB after a {} KiB frame each way (allowed {} KiB)",
        after.saturating_sub(before) / 1024,
        BIG / 1024,
        SLACK / 1024
    );
    drop(conn);
}
