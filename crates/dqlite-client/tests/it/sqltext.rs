//! How the client reads SQL text, checked against a real node: what SQLite's tokenizer
//! sees is what the client classifies and counts.

use dqlite_client::{ClassifiedSql, ErrorKind, Value};

use crate::common;

/// Whitespace SQLite does not skip (a leading vertical tab, Unicode spaces) is not trimmed
/// away before sending: trimmed, `\u{a0}INSERT ... RETURNING` was classified as the name
/// `\u{a0}INSERT` (a statement without rows) and sent as EXEC of a write with RETURNING,
/// which stops at its first row with the write half done: the 1.11 leader dropped the
/// connection at the next write and the insert was lost, newer ones keep the write lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_sqlite_rejects_is_not_trimmed_into_another_statement() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "sqltext-space");
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE r (n INTEGER PRIMARY KEY, v TEXT)", &[])
        .await
        .unwrap();
    for space in ["\u{a0}", "\u{3000}", "\u{2003}", "\u{85}", "\x0b"] {
        for text in [
            format!("{space}INSERT INTO r (v) VALUES ('x') RETURNING n"),
            format!("INSERT INTO r (v) VALUES ('x') RETURNING n{space}"),
        ] {
            let classified = ClassifiedSql::new(&text);
            let executed = conn.execute_classified(&classified, &[]).await;
            let queried = conn.query_classified(&classified, &[]).await.map(drop);
            let plain = conn.execute(&text, &[]).await;
            for outcome in [executed.map(drop), queried, plain.map(drop)] {
                // SQLite's own syntax error, or the client's refusal of a write with
                // RETURNING through execute; a 1.11 node also refuses RETURNING rows
                // through query (not supported there): never a row-producing EXEC.
                let err = outcome.expect_err(&format!("{text:?}"));
                assert!(
                    matches!(err.kind(), ErrorKind::InvalidInput | ErrorKind::Unsupported)
                        || err.to_string().contains("syntax error")
                        || err.to_string().contains("unrecognized token"),
                    "{text:?}: {err}"
                );
            }
            assert!(conn.is_reusable(), "{text:?}");
            conn.execute("INSERT INTO r (v) VALUES ('after')", &[])
                .await
                .unwrap_or_else(|e| panic!("{text:?}: the next write: {e}"));
        }
    }
    let rows = conn.query_all("SELECT v FROM r", &[]).await.unwrap();
    assert!(
        rows.rows
            .iter()
            .all(|row| row.values()[0] == Value::from("after")),
        "{rows:?}"
    );
    let logs = cluster.logs(0).unwrap();
    assert!(!logs.contains("Assertion"), "{logs}");
}
